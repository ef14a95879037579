//! Impact analysis against the stored graph, and change requests: opening
//! them with an impact snapshot, taking lifecycle steps with optimistic
//! version checks, applying an approved change to the dataset and its
//! column mappings, and telling the people concerned (notifications and
//! the webhook outbox), each step in one transaction with its audit record.

use std::collections::BTreeSet;

use domain::auth::Principal;
use domain::change_request::{
    required_approvers, ChangeRequest, CrState, NewChangeRequest, Refusal, Step,
};
use domain::impact::{analyze, apply_changes, ChangeOp, ImpactReport, Limits, SchemaChange};
use domain::lineage::{Direction, Filter};
use domain::query::Notification;
use domain::{Asset, AssetKind, Edge, ValidationError};
use serde_json::{json, Value};
use surrealdb::types::RecordId;

use crate::audit::Audit;
use crate::error::{first_real_error, CatalogError, Result};
use crate::write::{stored_doc, strip_nulls};
use crate::Catalog;

const EDGE_FIELDS: &str = "key AS id, kind, columns, record::id(in) AS from, record::id(out) AS to";

/// The most change requests one listing returns.
pub const LIST_LIMIT: usize = 500;
/// How long one listing may spend judging staleness by impact.
const LIST_STALENESS_BUDGET: std::time::Duration = std::time::Duration::from_secs(2);

/// Writes one step of a change request: the request itself (if nobody
/// changed it meanwhile), its audit record, a notification per person or
/// team concerned, and the webhook event.
/// Rows per hop (and services, refresh steps, assets per owner) that a
/// change request's impact snapshot lists.
pub const CR_SNAPSHOT_ROWS: usize = 1_000;

const SAVE_STEP: &str = r#"
BEGIN;
LET $rid = type::record('change_request', $id);
IF ($rid.version ?? 0) != $expected {
    THROW 'mlgraph-conflict: change request ' + <string> $id + ' was changed by someone else; reload it and try again';
};
UPSERT $rid CONTENT $row;
CREATE audit CONTENT $audit;
FOR $n IN $notes { CREATE notification CONTENT $n; };
IF $event != NONE { CREATE webhook_outbox SET event = $event; };
COMMIT;
"#;

/// Applying: the step's writes plus the dataset's new schema version and
/// the column mappings that follow from it.
const SAVE_APPLY: &str = r#"
BEGIN;
LET $rid = type::record('change_request', $id);
IF ($rid.version ?? 0) != $expected {
    THROW 'mlgraph-conflict: change request ' + <string> $id + ' was changed by someone else; reload it and try again';
};
LET $aid = type::record('asset', $asset_key);
IF ($aid.version ?? 0) != $asset_expected {
    THROW 'mlgraph-conflict: ' + $asset_key + ' changed after the impact was computed; recompute the impact';
};
UPSERT $aid CONTENT object::extend($asset, { created_at: $aid.created_at ?? time::now(), updated_at: time::now() });
CREATE type::record('asset_version', [$asset_key, $asset.version]) SET asset = $asset_key, version = $asset.version, by = $by, changes = $asset_changes, snapshot = $asset, at = time::now();
FOR $e IN $edges { UPDATE type::record('edge', $e.key) SET columns = $e.columns, last_seen = time::now(); };
UPSERT $rid CONTENT $row;
CREATE audit CONTENT $audit;
FOR $n IN $notes { CREATE notification CONTENT $n; };
IF $event != NONE { CREATE webhook_outbox SET event = $event; };
UPSERT meta:graph SET version = (version ?? 0) + 1;
SELECT VALUE version FROM ONLY meta:graph;
COMMIT;
"#;

/// The current time as RFC 3339 in UTC, for decisions and comments.
pub(crate) fn now_rfc3339() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    // Whole seconds, as decisions and comments have always been stamped.
    let secs = d.as_secs() as i64;
    let t = domain::time::from_millis(secs * 1000);
    format!("{}Z", t.trim_end_matches(".000Z"))
}

fn refusal(r: Refusal) -> CatalogError {
    match r {
        Refusal::Forbidden(m) => CatalogError::Forbidden(m),
        Refusal::Invalid(v) => CatalogError::Refused(v),
    }
}

/// What the title says when the proposer gives none.
fn default_title(dataset: &str, changes: &[SchemaChange]) -> String {
    let parts: Vec<String> = changes.iter().map(SchemaChange::summary).collect();
    let name = dataset.rsplit(':').next().unwrap_or(dataset);
    let mut t = format!("{name}: {}", parts.join(", "));
    if t.len() > 200 {
        let mut cut = 197;
        while !t.is_char_boundary(cut) {
            cut -= 1;
        }
        t.truncate(cut);
        t.push_str("...");
    }
    t
}

impl Catalog {
    /// The rows of `sql` with `$rids` bound to the asset records `keys`.
    async fn rows_of(&self, sql: &str, keys: &[String]) -> Result<Vec<Value>> {
        let rids: Vec<RecordId> = keys
            .iter()
            .map(|k| RecordId::new("asset", k.as_str()))
            .collect();
        let mut res = self.db.query(sql.to_string()).bind(("rids", rids)).await?;
        Ok(res.take(0)?)
    }

    /// The impact of `changes` on `dataset`. Only the dataset itself is
    /// read from the store; everything downstream (kinds, names, owners,
    /// production flags, column mappings) comes from the in-memory index,
    /// which holds them for this.
    pub async fn impact(&self, dataset: &str, changes: &[SchemaChange]) -> Result<ImpactReport> {
        self.impact_limited(dataset, changes, None).await
    }

    /// The impact a change request keeps: the first rows of each list
    /// (at most [`CR_SNAPSHOT_ROWS`] per hop) with every count, or the whole
    /// report when that is all of it. A snapshot of the hub of a
    /// million-asset estate would otherwise be hundreds of MB per request.
    async fn snapshot_impact(
        &self,
        dataset: &str,
        changes: &[SchemaChange],
    ) -> Result<ImpactReport> {
        let limits = Limits {
            per_hop: CR_SNAPSHOT_ROWS,
            rows: CR_SNAPSHOT_ROWS,
        };
        Ok(self
            .impact_limited(dataset, changes, Some(limits))
            .await?
            .whole_if_complete())
    }

    /// [`Catalog::impact`], listing only the first rows of each list when
    /// `limits` says so; the counts and list sizes stay whole. The analysis
    /// runs on the index's own numbers and names, under its read lock, and
    /// copies strings only for the rows it lists.
    pub async fn impact_limited(
        &self,
        dataset: &str,
        changes: &[SchemaChange],
        limits: Option<Limits>,
    ) -> Result<ImpactReport> {
        self.impact_at(dataset, changes, limits, None).await
    }

    /// [`Catalog::impact_limited`] now, or over the catalog as it was at
    /// `as_of`: the dataset's schema then, and what was downstream of it
    /// then. Owners, production flags and column mappings are today's
    /// (they are not kept in time); an edge that has ended keeps no
    /// mappings, so what it reached counts as possibly affected.
    pub async fn impact_at(
        &self,
        dataset: &str,
        changes: &[SchemaChange],
        limits: Option<Limits>,
        as_of: Option<domain::lineage::Millis>,
    ) -> Result<ImpactReport> {
        if let Some(t) = as_of {
            self.check_kept("as_of", t)?;
        }
        let root = self.impact_root(dataset, as_of).await?;
        // A whole answer for a hub of a million assets takes seconds: it
        // runs on a blocking thread, not on one of the server's workers.
        let catalog = self.clone();
        let (dataset, changes) = (dataset.to_string(), changes.to_vec());
        tokio::task::spawn_blocking(move || {
            let g = catalog.graph();
            let (n, at) = match as_of {
                None => (g.id_of(&dataset), domain::lineage::At::Now),
                Some(t) => (g.node_at(&dataset, t), domain::lineage::At::Moment(t)),
            };
            let Some(n) = n else {
                return Err(CatalogError::NotFound(format!("asset {dataset:?}")));
            };
            let sub = g.impact_subgraph_at(n, at);
            Ok(domain::impact::analyze_subgraph(
                &sub, &root, &changes, limits,
            )?)
        })
        .await
        .map_err(|e| CatalogError::Corrupt(format!("impact analysis stopped: {e}")))?
    }

    /// The dataset a diff is proposed on, read from the store.
    async fn impact_root(
        &self,
        dataset: &str,
        as_of: Option<domain::lineage::Millis>,
    ) -> Result<Asset> {
        let root = match as_of {
            None => self.get_asset(dataset).await,
            Some(t) => self.asset_as_of(dataset, t).await,
        };
        let root = root.map_err(|e| match e {
            CatalogError::NotFound(_) => {
                ValidationError::new("dataset", format!("no asset has the id {dataset:?}")).into()
            }
            other => other,
        })?;
        if root.kind != AssetKind::Dataset {
            return Err(ValidationError::new(
                "dataset",
                format!("{dataset} is a {}, not a dataset", root.kind),
            )
            .into());
        }
        Ok(root)
    }

    /// [`Catalog::impact`] computed from the rows stored now instead of the
    /// in-memory index: the reference the tests hold the index to.
    #[doc(hidden)]
    pub async fn impact_from_store(
        &self,
        dataset: &str,
        changes: &[SchemaChange],
    ) -> Result<ImpactReport> {
        let root = self.impact_root(dataset, None).await?;
        let keys: Vec<String> = {
            let g = self.graph();
            match g.id_of(dataset) {
                Some(n) => g
                    .closure(n, Direction::Downstream, &Filter::default())
                    .into_iter()
                    .map(|(m, _)| g.asset_id(m).to_string())
                    .filter(|k| k != dataset)
                    .collect(),
                None => vec![],
            }
        };
        let mut assets = vec![root];
        let mut edges: Vec<Edge> = Vec::new();
        // Rows are read by record id, a chunk at a time, so no query grows
        // with the catalog and none scans a table.
        for chunk in keys.chunks(5_000) {
            for r in self.rows_of("SELECT * FROM $rids", chunk).await? {
                assets.push(crate::write::row_to_asset(r)?);
            }
        }
        let mut sources: Vec<String> = keys;
        sources.push(dataset.to_string());
        let edges_of = format!("SELECT {EDGE_FIELDS} FROM edge WHERE in INSIDE $rids");
        for chunk in sources.chunks(5_000) {
            for r in self.rows_of(&edges_of, chunk).await? {
                edges.push(
                    serde_json::from_value(r)
                        .map_err(|e| CatalogError::Corrupt(format!("edge row: {e}")))?,
                );
            }
        }
        Ok(analyze(dataset, changes, &assets, &edges)?)
    }

    /// Opens a change request (or saves a draft) with its impact snapshot.
    pub async fn open_change_request(
        &self,
        new: NewChangeRequest,
        who: &Principal,
    ) -> Result<ChangeRequest> {
        new.validate()?;
        let graph_version = self.graph_version().await?;
        let impact = self.snapshot_impact(&new.dataset, &new.changes).await?;
        let dataset = self.get_asset(&new.dataset).await?;
        let mut res = self
            .db
            .query("UPSERT ONLY meta:change_request_seq SET version = (version ?? 0) + 1 RETURN VALUE version")
            .await?;
        let id: Option<Value> = res.take(0)?;
        let id = id
            .and_then(|v| v.as_u64())
            .ok_or_else(|| CatalogError::Corrupt("the change request counter".into()))?;
        let now = now_rfc3339();
        let title = if new.title.trim().is_empty() {
            default_title(&new.dataset, &new.changes)
        } else {
            new.title.trim().to_string()
        };
        let cr = ChangeRequest {
            id,
            dataset: new.dataset.clone(),
            title,
            description: new.description.trim().to_string(),
            changes: new.changes,
            state: if new.draft {
                CrState::Draft
            } else {
                CrState::Open
            },
            proposer: who.user.clone(),
            required_approvers: required_approvers(&impact),
            impact,
            graph_version,
            dataset_version: dataset.version,
            approvals: vec![],
            rejection: None,
            comments: vec![],
            version: 1,
            created_at: now.clone(),
            updated_at: now,
            applied_schema_version: None,
            source_url: new.source_url,
            check_report: new.check_report,
            stale: false,
        };
        let event = if new.draft { "drafted" } else { "opened" };
        self.save_step(&cr, 0, event, who, "").await?;
        Ok(cr)
    }

    async fn load_change_request(&self, id: u64) -> Result<ChangeRequest> {
        let mut res = self
            .db
            .query("SELECT VALUE doc FROM ONLY type::record('change_request', $id)")
            .bind(("id", id))
            .await?;
        let row: Option<Value> = res.take(0)?;
        let row = row
            .filter(|r| !r.is_null())
            .ok_or_else(|| CatalogError::NotFound(format!("change request {id}")))?;
        let mut cr: ChangeRequest = serde_json::from_value(row)
            .map_err(|e| CatalogError::Corrupt(format!("change request row: {e}")))?;
        let version = self.graph_version().await?;
        cr.stale = self.is_stale(&cr, version, true).await?;
        Ok(cr)
    }

    /// Whether a request's impact snapshot no longer holds. The graph
    /// moving is not enough: the impact is computed again, and the request
    /// is stale only if that differs from the snapshot or the dataset
    /// itself changed. So edits elsewhere in the estate (a new table in
    /// another namespace, ingestion of unrelated jobs) leave it fresh. The
    /// verdict is kept per graph version, so each request is checked once
    /// after each change to the graph. A write commits to the store before
    /// the in-memory graph (which the impact walks) follows, so a verdict
    /// also names the in-memory generation it saw, and one computed on a
    /// graph that had not caught up is not reused.
    ///
    /// Without `compute`, a request with no verdict for this graph yet is
    /// judged the old, coarse way (stale once the graph moved): listings use
    /// that past their time budget, so a list of many open requests never
    /// waits for many impact analyses.
    async fn is_stale(
        &self,
        cr: &ChangeRequest,
        graph_version: u64,
        compute: bool,
    ) -> Result<bool> {
        if cr.state.is_final() || cr.graph_version == graph_version {
            return Ok(false);
        }
        let key = (cr.id, cr.version);
        let generation = self.graph_generation();
        let cached = self
            .stale_cache
            .lock()
            .map_err(|_| CatalogError::Corrupt("the staleness cache".into()))?
            .get(&key)
            .copied();
        if let Some((v, g, stale)) = cached {
            if v == graph_version && g == generation {
                return Ok(stale);
            }
        }
        if !compute {
            return Ok(true);
        }
        let stale = match self.snapshot_impact(&cr.dataset, &cr.changes).await {
            Ok(now) => {
                now != cr.impact || self.get_asset(&cr.dataset).await?.version != cr.dataset_version
            }
            // The dataset or a column the change names is gone.
            Err(CatalogError::Invalid(_) | CatalogError::NotFound(_)) => true,
            Err(e) => return Err(e),
        };
        let mut cache = self
            .stale_cache
            .lock()
            .map_err(|_| CatalogError::Corrupt("the staleness cache".into()))?;
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(key, (graph_version, generation, stale));
        Ok(stale)
    }

    /// One change request, marked stale if the graph moved since its
    /// impact was computed.
    pub async fn get_change_request(&self, id: u64) -> Result<ChangeRequest> {
        self.load_change_request(id).await
    }

    /// Change requests, newest first, optionally in one state or on one
    /// dataset.
    pub async fn list_change_requests(
        &self,
        state: Option<CrState>,
        dataset: Option<&str>,
    ) -> Result<Vec<ChangeRequest>> {
        let mut res = self
            .db
            .query(
                "SELECT VALUE doc FROM change_request
                   WHERE ($state = NONE OR state = $state) AND ($dataset = NONE OR dataset = $dataset)
                   ORDER BY id DESC LIMIT $limit",
            )
            .bind(("state", state.map(|s| s.as_str().to_string())))
            .bind(("dataset", dataset.map(str::to_string)))
            .bind(("limit", LIST_LIMIT))
            .await?;
        let rows: Vec<Value> = res.take(0)?;
        let version = self.graph_version().await?;
        let budget = std::time::Instant::now() + LIST_STALENESS_BUDGET;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let mut cr: ChangeRequest = serde_json::from_value(r)
                .map_err(|e| CatalogError::Corrupt(format!("change request row: {e}")))?;
            // Each listing spends at most a few seconds on impact analyses;
            // verdicts made are kept, so later listings finish the rest.
            let compute = std::time::Instant::now() < budget;
            cr.stale = self.is_stale(&cr, version, compute).await?;
            // A listing carries the snapshot's summary; the affected assets
            // (tens of thousands in a large estate) come with one request.
            cr.impact.affected.clear();
            cr.impact.refresh_plan.clear();
            out.push(cr);
        }
        out.sort_by_key(|cr| std::cmp::Reverse(cr.id));
        Ok(out)
    }

    /// Open requests that `who` can decide on and has not yet.
    pub async fn inbox(&self, who: &Principal) -> Result<Vec<ChangeRequest>> {
        Ok(self
            .list_change_requests(Some(CrState::Open), None)
            .await?
            .into_iter()
            .filter(|cr| cr.may_decide(who) && !cr.approvals.iter().any(|d| d.user == who.user))
            .collect())
    }

    /// Takes one step on a change request. With `expected_version`, the
    /// step is refused if the request has moved on since the caller read it.
    pub async fn change_request_step(
        &self,
        id: u64,
        step: Step,
        who: &Principal,
        text: &str,
        expected_version: Option<u64>,
    ) -> Result<ChangeRequest> {
        let mut cr = self.load_change_request(id).await?;
        let before = cr.version;
        let now = now_rfc3339();
        // Whether the caller may take the step is answered first, so a
        // refusal does not depend on which version they saw.
        cr.take(step, who, &now, text).map_err(refusal)?;
        if let Some(v) = expected_version {
            if v != before {
                return Err(CatalogError::Conflict(format!(
                    "change request {id} is at version {before}, not {v}; reload it and try again"
                )));
            }
        }
        if step == Step::Recompute {
            cr.graph_version = self.graph_version().await?;
            cr.impact = self.snapshot_impact(&cr.dataset, &cr.changes).await?;
            cr.required_approvers = required_approvers(&cr.impact);
            cr.dataset_version = self.get_asset(&cr.dataset).await?.version;
            self.save_step(&cr, before, "recomputed", who, text).await?;
            return Ok(cr);
        }
        let event = match (step, cr.state) {
            (Step::Approve, CrState::Approved) => "approved",
            (Step::Approve, _) => "signed-off",
            (Step::Reject, _) => "rejected",
            (Step::Submit, _) => "opened",
            (Step::Withdraw, _) => "withdrawn",
            (Step::Comment, _) => "commented",
            (Step::Apply, _) => "applied",
            (Step::Recompute, _) => "recomputed",
        };
        if step == Step::Apply {
            self.apply_change(&mut cr, before, who).await?;
        } else {
            self.save_step(&cr, before, event, who, text).await?;
        }
        Ok(cr)
    }

    /// The rows that tell people about a step.
    fn step_rows(
        &self,
        cr: &ChangeRequest,
        event: &str,
        who: &Principal,
        text: &str,
    ) -> (Value, Vec<Value>, Value) {
        let mut row = serde_json::to_value(cr).unwrap_or_default();
        if let Some(o) = row.as_object_mut() {
            o.remove("stale");
        }
        strip_nulls(&mut row);
        let row = json!({
            "doc": row,
            "state": cr.state.as_str(),
            "dataset": cr.dataset,
            "version": cr.version,
        });
        let message = match event {
            "commented" => format!(
                "{} commented on change request {}: {}",
                who.user,
                cr.id,
                text.trim()
            ),
            _ => format!(
                "Change request {} ({}) was {event} by {}; it is {}.",
                cr.id, cr.title, who.user, cr.state
            ),
        };
        let notes = cr
            .audience(&who.user)
            .into_iter()
            .map(|r| {
                json!({
                    "recipient": r,
                    "change_request": cr.id,
                    "event": event,
                    "message": message,
                })
            })
            .collect();
        let event_row = if self.webhook_enabled() {
            json!({
                "type": format!("change_request.{event}"),
                "change_request": cr.id,
                "dataset": cr.dataset,
                "title": cr.title,
                "state": cr.state.as_str(),
                "actor": who.user,
                "version": cr.version,
                "severity": cr.impact.severity,
                "required_approvers": cr.required_approvers,
                "at": cr.updated_at,
            })
        } else {
            Value::Null
        };
        (row, notes, event_row)
    }

    pub(crate) async fn save_step(
        &self,
        cr: &ChangeRequest,
        expected: u64,
        event: &str,
        who: &Principal,
        text: &str,
    ) -> Result<()> {
        let (row, notes, event_row) = self.step_rows(cr, event, who, text);
        let audit = Audit::new(
            "change_request.step",
            &format!("change_request:{}", cr.id),
            json!({"event": event, "state": cr.state.as_str(), "dataset": cr.dataset}),
        );
        let res = self
            .db
            .query(SAVE_STEP)
            .bind(("id", cr.id))
            .bind(("expected", expected))
            .bind(("row", row))
            .bind(("audit", audit.row(&who.actor())))
            .bind(("notes", notes))
            .bind(("event", (!event_row.is_null()).then_some(event_row)))
            .await?;
        first_real_error(res)?;
        Ok(())
    }

    /// Writes the dataset's new schema and keeps the column mappings of its
    /// edges true: a renamed column keeps its lineage under its new name,
    /// and mappings of a dropped column go with it.
    async fn apply_change(
        &self,
        cr: &mut ChangeRequest,
        expected: u64,
        who: &Principal,
    ) -> Result<()> {
        let mut asset = self.get_asset(&cr.dataset).await?;
        if asset.version != cr.dataset_version {
            return Err(CatalogError::Refused(ValidationError::new(
                "impact",
                format!(
                    "{} is at version {}, but the impact was computed on version {}; recompute the impact",
                    cr.dataset, asset.version, cr.dataset_version
                ),
            )));
        }
        let old_version = asset.version;
        asset.schema = apply_changes(&asset.schema, &cr.changes)?;
        asset.version = old_version + 1;
        cr.applied_schema_version = Some(asset.version);
        let changes: Vec<String> = cr
            .changes
            .iter()
            .map(|c| format!("schema: {} (change request {})", c.summary(), cr.id))
            .collect();

        let renamed: Vec<(String, String)> = cr
            .changes
            .iter()
            .filter(|c| c.op == ChangeOp::Rename)
            .filter_map(|c| Some((c.column.clone(), c.new_name.clone()?)))
            .collect();
        let dropped: BTreeSet<String> = cr
            .changes
            .iter()
            .filter(|c| c.op == ChangeOp::Drop)
            .map(|c| c.column.clone())
            .collect();
        let mut res = self
            .db
            .query(format!(
                "LET $rid = type::record('asset', $key);
                 SELECT {EDGE_FIELDS} FROM edge WHERE in = $rid;
                 SELECT {EDGE_FIELDS} FROM edge WHERE out = $rid;"
            ))
            .bind(("key", cr.dataset.clone()))
            .await?;
        let mut touched: Vec<Value> = Vec::new();
        for (index, outgoing) in [(1usize, true), (2, false)] {
            let rows: Vec<Value> = res.take(index)?;
            for r in rows {
                let mut e: Edge = serde_json::from_value(r)
                    .map_err(|e| CatalogError::Corrupt(format!("edge row: {e}")))?;
                let before = e.columns.clone();
                e.columns.retain(|m| {
                    let col = if outgoing { &m.from } else { &m.to };
                    !dropped.contains(col)
                });
                for m in &mut e.columns {
                    let col = if outgoing { &mut m.from } else { &mut m.to };
                    if let Some((_, new)) = renamed.iter().find(|(old, _)| old == col) {
                        *col = new.clone();
                    }
                }
                if e.columns != before {
                    let mut cols = serde_json::to_value(&e.columns).unwrap_or_default();
                    strip_nulls(&mut cols);
                    touched.push(json!({"key": e.id, "columns": cols}));
                }
            }
        }

        let (row, notes, event_row) = self.step_rows(cr, "applied", who, "");
        let audit = Audit::new(
            "change_request.apply",
            &format!("change_request:{}", cr.id),
            json!({"dataset": cr.dataset, "schema_version": asset.version, "edges_updated": touched.len()}),
        );
        let res = self
            .db
            .query(SAVE_APPLY)
            .bind(("id", cr.id))
            .bind(("expected", expected))
            .bind(("asset_key", cr.dataset.clone()))
            .bind(("asset_expected", old_version))
            .bind(("asset", stored_doc(&asset)?))
            .bind(("asset_changes", changes))
            .bind(("by", who.actor()))
            .bind(("edges", touched))
            .bind(("row", row))
            .bind(("audit", audit.row(&who.actor())))
            .bind(("notes", notes))
            .bind(("event", (!event_row.is_null()).then_some(event_row)))
            .await?;
        let version = crate::follow::committed_version(first_real_error(res)?)?;
        // Mappings are not in the in-memory graph, but the version moved.
        self.index_changes(vec![crate::search::Change::Put(Box::new(asset))], version);
        self.apply_to_graph(vec![], 0, version);
        Ok(())
    }

    /// The notifications addressed to `who` or to one of their teams.
    pub async fn notifications(&self, who: &Principal, limit: usize) -> Result<Vec<Notification>> {
        if who.is_anonymous() {
            return Ok(vec![]);
        }
        let mut names = who.teams.clone();
        names.push(who.user.clone());
        let mut res = self
            .db
            .query(
                "SELECT record::id(id) AS id, recipient, <string> at AS at, change_request, event, message, read
                   FROM notification WHERE recipient INSIDE $names ORDER BY at DESC LIMIT $limit",
            )
            .bind(("names", names))
            .bind(("limit", limit))
            .await?;
        let rows: Vec<Value> = res.take(0)?;
        crate::outbox::rows_with_text_ids(rows, "notification")
    }

    /// Marks every notification of `who` (and their teams) as read.
    pub async fn mark_notifications_read(&self, who: &Principal) -> Result<()> {
        let mut names = who.teams.clone();
        names.push(who.user.clone());
        let res = self
            .db
            .query(
                "BEGIN;
                 UPDATE notification SET read = true WHERE recipient INSIDE $names AND read = false RETURN NONE;
                 CREATE audit CONTENT $audit;
                 COMMIT;",
            )
            .bind(("names", names))
            .bind((
                "audit",
                Audit::new("notification.read", &who.user, json!({})).row(&who.actor()),
            ))
            .await?;
        first_real_error(res)?;
        Ok(())
    }
}

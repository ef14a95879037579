//! Writes: assets, edges and whole imports. Every write is one SurrealDB
//! transaction that also records asset versions and bumps the graph
//! version, so a reader never sees half of a change.

use std::collections::{BTreeMap, HashMap};

use domain::record::ImportBatch;
use domain::{Asset, AssetKind, Edge, ValidationError};
use serde_json::{json, Value};

use crate::audit::Audit;
use crate::error::{first_real_error, CatalogError, Result};
use crate::follow::GraphOp;
use crate::rows;
use crate::Catalog;

/// What a write did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct WriteOutcome {
    pub assets_created: usize,
    pub assets_updated: usize,
    pub assets_unchanged: usize,
    pub edges_written: usize,
}

/// An edge to write, with the label that errors about it should carry (for
/// an import, its line).
pub(crate) struct LabelledEdge {
    pub label: String,
    pub edge: Edge,
    /// Check only the kinds at the ends, not that mapped columns exist:
    /// ingested column lineage may name columns no schema facet listed.
    pub lenient: bool,
}

/// Rows a write carries besides assets and edges, in the same transaction.
#[derive(Default)]
pub(crate) struct Extras {
    /// Run records (OpenLineage), upserted by run id.
    pub runs: Vec<Value>,
    /// Ingestion log rows.
    pub log: Vec<Value>,
    /// Edges to delete (by key): a re-imported source no longer has them.
    pub drop_edges: Vec<String>,
    /// The graph version of the bulk import this write is a batch of
    /// ([`Catalog::begin_import`]): the write leaves the store's graph
    /// version alone, so that batches can commit side by side, and its
    /// changes count as that version's. It writes no audit record either:
    /// the import writes one when it ends.
    pub import_at: Option<u64>,
    /// Assets the caller already read for this write, by id (`None`: not
    /// stored), so that they are not read twice. The transaction checks
    /// their versions all the same.
    pub read: HashMap<String, Option<Asset>>,
}

/// Writes the edges in `$edges` (rows from [`crate::rows::edge_row`]),
/// updating the mappings and `last_seen` of those that exist: a statement
/// that several transactions share.
macro_rules! upsert_edges {
    () => {
        r#"IF array::len($edges) > 0 {
    INSERT INTO edge $edges ON DUPLICATE KEY UPDATE columns = $input.columns, last_seen = $input.last_seen RETURN NONE;
};
"#
    };
}
pub(crate) use upsert_edges;

/// Deletes the edges whose record ids are in `$ended_edges`, keeping each
/// in `edge_history` with when it ended (`$ended_at`) and why
/// (`$end_reason`): the lineage index's history, rebuilt from the store,
/// has them (see `crate::graph::load`).
macro_rules! end_edges {
    () => {
        r#"IF array::len($ended_edges) > 0 {
    LET $gone = (DELETE $ended_edges RETURN BEFORE);
    INSERT INTO edge_history array::map($gone, |$e| { key: $e.key, kind: $e.kind, from: record::id($e.in), to: record::id($e.out), columns: $e.columns, first_seen: $e.first_seen, ended_at: $ended_at, reason: $end_reason }) RETURN NONE;
};
"#
    };
}
pub(crate) use end_edges;

/// Keeps the asset `$rid` (id `$key`), about to be deleted, in
/// `asset_history` with when it appeared and ended.
macro_rules! end_asset {
    () => {
        r#"CREATE asset_history CONTENT { asset: $key, kind: $rid.kind, name: $rid.name, born: $rid.created_at, ended_at: $ended_at } RETURN NONE;
"#
    };
}
pub(crate) use end_asset;

const APPLY: &str = concat!(
    r#"
BEGIN;
IF array::len($created) > 0 {
    INSERT INTO asset $created RETURN NONE;
    INSERT INTO asset_version $created_versions RETURN NONE;
};
FOR $a IN $assets {
    LET $rid = type::record('asset', $a.key);
    IF ($rid.version ?? 0) != $a.expected {
        THROW 'mlgraph-conflict: ' + $a.key + ' was changed by someone else; reload it and try again';
    };
    LET $at = time::now();
    IF $a.expected = 0 {
        CREATE $rid CONTENT object::extend($a.doc, { created_at: $at, updated_at: $at });
    } ELSE {
        UPSERT $rid CONTENT object::extend($a.doc, { created_at: $rid.created_at ?? $at, updated_at: $at });
    };
    CREATE type::record('asset_version', [$a.key, $a.doc.version]) SET asset = $a.key, version = $a.doc.version, by = $by, changes = $a.changes, snapshot = $a.doc, at = $at;
};
"#,
    upsert_edges!(),
    r#"FOR $r IN $runs { UPSERT type::record('run', $r.run_id) CONTENT $r; };
"#,
    end_edges!(),
    r#"FOR $l IN $log { CREATE ingest_event CONTENT $l; };
IF $audited { CREATE audit CONTENT $audit; };
IF $bump AND (array::len($created) > 0 OR array::len($assets) > 0 OR array::len($edges) > 0 OR array::len($ended_edges) > 0) {
    UPSERT meta:graph SET version = (version ?? 0) + 1;
};
SELECT VALUE version FROM ONLY meta:graph;
COMMIT;
"#
);

const DELETE_ASSET: &str = concat!(
    r#"
BEGIN;
LET $rid = type::record('asset', $key);
IF ($rid.version ?? 0) != $expected {
    THROW 'mlgraph-conflict: ' + $key + ' was changed by someone else; reload it and try again';
};
LET $ended_edges = (SELECT VALUE id FROM edge WHERE in = $rid OR out = $rid);
"#,
    end_edges!(),
    end_asset!(),
    r#"DELETE $rid;
CREATE type::record('asset_version', [$key, $expected + 1]) SET asset = $key, version = $expected + 1, by = $by, changes = ['deleted'], snapshot = $snapshot, at = $ended_at;
CREATE audit CONTENT $audit;
UPSERT meta:graph SET version = (version ?? 0) + 1;
SELECT VALUE version FROM ONLY meta:graph;
COMMIT;
"#
);

const DELETE_EDGE: &str = concat!(
    r#"
BEGIN;
LET $ended_edges = [type::record('edge', $key)];
"#,
    end_edges!(),
    r#"CREATE audit CONTENT $audit;
UPSERT meta:graph SET version = (version ?? 0) + 1;
SELECT VALUE version FROM ONLY meta:graph;
COMMIT;
"#
);

/// The stored form of an asset: the wire form with `key` for `id`, no
/// timestamps (the database sets them).
pub(crate) fn stored_doc(a: &Asset) -> Result<Value> {
    let mut v = serde_json::to_value(a).map_err(|e| CatalogError::Corrupt(e.to_string()))?;
    let obj = v.as_object_mut().expect("an asset serialises to an object");
    obj.remove("id");
    obj.remove("created_at");
    obj.remove("updated_at");
    obj.insert("key".into(), json!(a.id));
    strip_nulls(&mut v);
    Ok(v)
}

/// SurrealDB's `option<T>` accepts NONE but not NULL, and JSON can only say
/// NULL, so nulls inside free-form values are dropped before they are bound.
pub(crate) fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(o) => {
            o.retain(|_, x| !x.is_null());
            o.values_mut().for_each(strip_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// Reads a stored asset row back into the wire form.
pub(crate) fn row_to_asset(mut row: Value) -> Result<Asset> {
    let obj = row
        .as_object_mut()
        .ok_or_else(|| CatalogError::Corrupt("an asset row is not an object".into()))?;
    obj.remove("id");
    obj.remove("search_text");
    if let Some(key) = obj.remove("key") {
        obj.insert("id".into(), key);
    }
    serde_json::from_value(row).map_err(|e| CatalogError::Corrupt(format!("asset row: {e}")))
}

impl Catalog {
    /// The rows of `table` with these record ids that exist, as `fields`:
    /// one lookup each, not an index range per key.
    pub(crate) async fn rows_by_id(
        &self,
        table: &str,
        ids: &[String],
        fields: &str,
    ) -> Result<Vec<Value>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let rids: Vec<surrealdb::types::RecordId> = ids
            .iter()
            .map(|id| surrealdb::types::RecordId::new(table, id.as_str()))
            .collect();
        let mut res = self
            .db
            .query(format!("SELECT {fields} FROM $rids"))
            .bind(("rids", rids))
            .await?;
        Ok(res.take(0)?)
    }

    /// The stored column mappings of the edges among `ids` that exist.
    pub(crate) async fn edge_columns(
        &self,
        ids: Vec<String>,
    ) -> Result<HashMap<String, Vec<domain::ColumnMapping>>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = self.rows_by_id("edge", &ids, "key, columns").await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                let key = r.get("key")?.as_str()?.to_string();
                let cols = serde_json::from_value(r.get("columns")?.clone()).ok()?;
                Some((key, cols))
            })
            .collect())
    }

    /// The last versions of the assets among `assets` that are not stored
    /// but were once (the lineage index keeps deleted assets' nodes).
    async fn last_versions_of_deleted(
        &self,
        assets: &BTreeMap<String, Asset>,
        stored: &HashMap<String, Asset>,
    ) -> Result<HashMap<String, u64>> {
        let deleted: Vec<String> = {
            let g = self.graph.read().expect("the graph lock is never poisoned");
            assets
                .keys()
                .filter(|id| !stored.contains_key(*id) && g.was_deleted(id))
                .cloned()
                .collect()
        };
        let mut last = HashMap::new();
        for id in deleted {
            let mut res = self
                .db
                .query(
                    "SELECT VALUE version FROM asset_version:[$id, 0]..=[$id, 9223372036854775807]",
                )
                .bind(("id", id.clone()))
                .await?;
            let versions: Vec<u64> = res.take(0)?;
            if let Some(&v) = versions.iter().max() {
                last.insert(id, v);
            }
        }
        Ok(last)
    }

    /// Loads assets by id; missing ids are simply absent from the map.
    pub(crate) async fn load_assets(&self, ids: Vec<String>) -> Result<HashMap<String, Asset>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        // Read by record id: one lookup each, not an index range per key.
        let rids: Vec<surrealdb::types::RecordId> = ids
            .iter()
            .map(|id| surrealdb::types::RecordId::new("asset", id.as_str()))
            .collect();
        let mut res = self
            .db
            .query("SELECT * FROM $rids")
            .bind(("rids", rids))
            .await?;
        let rows: Vec<Value> = res.take(0)?;
        rows.into_iter()
            .map(|r| row_to_asset(r).map(|a| (a.id.clone(), a)))
            .collect()
    }

    pub async fn get_asset(&self, id: &str) -> Result<Asset> {
        self.load_assets(vec![id.to_string()])
            .await?
            .remove(id)
            .ok_or_else(|| CatalogError::NotFound(format!("asset {id:?}")))
    }

    /// Creates or replaces an asset. With `expected_version`, the write
    /// succeeds only if the stored version is still that one (0 for "must
    /// not exist yet").
    pub async fn put_asset(
        &self,
        asset: Asset,
        expected_version: Option<u64>,
        by: &str,
    ) -> Result<(Asset, WriteOutcome)> {
        let id = asset.id.clone();
        let batch = ImportBatch {
            assets: vec![asset],
            edges: vec![],
        };
        let expected = expected_version
            .map(|v| HashMap::from([(id.clone(), v)]))
            .unwrap_or_default();
        let audit = Audit::new("asset.put", &id, json!({}));
        let outcome = self
            .apply(
                batch.assets,
                vec![],
                &expected,
                by,
                audit,
                Extras::default(),
            )
            .await?;
        Ok((self.get_asset(&id).await?, outcome))
    }

    pub async fn put_edge(&self, edge: Edge, by: &str) -> Result<(Edge, WriteOutcome)> {
        let id = edge.id.clone();
        let audit = Audit::new(
            "edge.put",
            &id,
            json!({"from": edge.from, "to": edge.to, "kind": edge.kind.as_str()}),
        );
        let outcome = self
            .apply(
                vec![],
                vec![LabelledEdge {
                    label: String::new(),
                    edge,
                    lenient: false,
                }],
                &HashMap::new(),
                by,
                audit,
                Extras::default(),
            )
            .await?;
        let edge = self
            .get_edge(&id)
            .await?
            .ok_or_else(|| CatalogError::NotFound(format!("edge {id:?}")))?;
        Ok((edge, outcome))
    }

    /// Imports a whole batch atomically: every asset and edge is written,
    /// or none is.
    pub async fn import(
        &self,
        batch: ImportBatch,
        labels: Vec<String>,
        by: &str,
    ) -> Result<WriteOutcome> {
        let written = self.import_batch(batch, labels, by, None).await?;
        self.settle_after_import(by).await;
        Ok(written)
    }

    /// Marks applied the approved change requests an import carried out.
    /// The import is committed whatever happens here; a request that is
    /// not marked now is marked by the next import.
    pub(crate) async fn settle_after_import(&self, by: &str) -> Vec<u64> {
        match self.settle_change_requests(by).await {
            Ok(ids) => {
                if !ids.is_empty() {
                    tracing::info!(
                        ?ids,
                        "change requests carried out by an import marked applied"
                    );
                }
                ids
            }
            Err(e) => {
                tracing::warn!("marking change requests applied after an import: {e}");
                vec![]
            }
        }
    }

    /// One batch of a bulk import: written atomically like
    /// [`Catalog::import`], without an audit record of its own (the import
    /// writes one at its end with [`Catalog::record_import`]).
    pub async fn import_part(
        &self,
        batch: ImportBatch,
        labels: Vec<String>,
        by: &str,
        import_at: u64,
    ) -> Result<WriteOutcome> {
        self.import_batch(batch, labels, by, Some(import_at)).await
    }

    async fn import_batch(
        &self,
        batch: ImportBatch,
        labels: Vec<String>,
        by: &str,
        import_at: Option<u64>,
    ) -> Result<WriteOutcome> {
        let edges = batch
            .edges
            .into_iter()
            .enumerate()
            .map(|(i, edge)| LabelledEdge {
                label: labels.get(i).cloned().unwrap_or_default(),
                edge,
                lenient: false,
            })
            .collect::<Vec<_>>();
        let audit = Audit::new(
            "catalog.import",
            "catalog",
            json!({"assets": batch.assets.len(), "edges": edges.len()}),
        );
        let extras = Extras {
            import_at,
            ..Extras::default()
        };
        self.apply(batch.assets, edges, &HashMap::new(), by, audit, extras)
            .await
    }

    /// Starts a bulk import whose batches commit side by side
    /// ([`Catalog::import_part`]): bumps the graph version once for all of
    /// them and marks the store as being imported into, so that a lineage
    /// image or search index saved meanwhile is not trusted at the next
    /// start should the import never finish. Answers the version the
    /// batches count as.
    pub async fn begin_import(&self) -> Result<u64> {
        let res = self
            .db
            .query(
                "BEGIN;
                 UPSERT meta:graph SET version = (version ?? 0) + 1, importing = (importing ?? 0) + 1 RETURN NONE;
                 SELECT VALUE version FROM ONLY meta:graph;
                 COMMIT;",
            )
            .await?;
        let version = crate::follow::committed_version(first_real_error(res)?)?
            .ok_or_else(|| CatalogError::Corrupt("the graph version".into()))?;
        self.index_changes(vec![], Some(version));
        self.apply_to_graph(vec![], 0, Some(version));
        Ok(version)
    }

    /// Ends a bulk import, finished or not: writes its one audit record
    /// and bumps the graph version again, so that other servers on a
    /// shared store see its last batches.
    pub async fn finish_import(&self, by: &str, detail: Value) -> Result<()> {
        let row = Audit::new("catalog.import", "catalog", detail).row(by);
        let res = self
            .db
            .query(
                "BEGIN;
                 CREATE audit CONTENT $audit RETURN NONE;
                 UPSERT meta:graph SET version = (version ?? 0) + 1, importing = math::max([(importing ?? 1) - 1, 0]) RETURN NONE;
                 SELECT VALUE version FROM ONLY meta:graph;
                 COMMIT;",
            )
            .bind(("audit", row))
            .await?;
        let version = crate::follow::committed_version(first_real_error(res)?)?;
        self.index_changes(vec![], version);
        self.apply_to_graph(vec![], 0, version);
        self.settle_after_import(by).await;
        Ok(())
    }

    /// Which of `ids` no asset has (an alias counts as its target, which
    /// is an asset).
    pub async fn missing_assets(&self, ids: Vec<String>) -> Result<Vec<String>> {
        let found = self.load_assets(ids.clone()).await?;
        let missing: Vec<String> = ids
            .into_iter()
            .filter(|id| !found.contains_key(id))
            .collect();
        if missing.is_empty() || !self.has_aliases().await? {
            return Ok(missing);
        }
        let aliases = self.alias_targets(&missing).await?;
        Ok(missing
            .into_iter()
            .filter(|id| !aliases.contains_key(id))
            .collect())
    }

    pub(crate) async fn apply(
        &self,
        mut assets: Vec<Asset>,
        mut edges: Vec<LabelledEdge>,
        expected: &HashMap<String, u64>,
        by: &str,
        audit: Audit,
        mut extras: Extras,
    ) -> Result<WriteOutcome> {
        // What is written under an alias's id lands on its target.
        let rehomed;
        let expected = match self.rehome_labelled(&mut assets, &mut edges).await? {
            Some(targets) => {
                rehomed = expected
                    .iter()
                    .map(|(k, v)| (targets.get(k).cloned().unwrap_or_else(|| k.clone()), *v))
                    .collect::<HashMap<_, _>>();
                &rehomed
            }
            None => expected,
        };
        // A later record for the same id replaces an earlier one.
        let mut assets_by_id: BTreeMap<String, Asset> = BTreeMap::new();
        for a in assets {
            assets_by_id.insert(a.id.clone(), a);
        }
        let mut wanted: Vec<String> = assets_by_id.keys().cloned().collect();
        // An edge without column mappings needs only its ends' kinds, and
        // the lineage index has those of every asset it holds, so only the
        // other ends are read from the store (an edge batch of a bulk load
        // spent a tenth of its time reading them). The index holds what
        // committed writes made; one that is not there yet (another
        // server's, not followed yet) is read.
        let mut kinds: HashMap<&str, AssetKind> = HashMap::new();
        {
            let g = self.graph.read().expect("the graph lock is never poisoned");
            for e in &edges {
                let needs_schema = !e.lenient && !e.edge.columns.is_empty();
                for end in [&e.edge.from, &e.edge.to] {
                    if assets_by_id.contains_key(end) {
                        continue;
                    }
                    match g.id_of(end) {
                        Some(n) if !needs_schema => {
                            kinds.insert(end, g.kind(n));
                        }
                        _ => wanted.push(end.clone()),
                    }
                }
            }
        }
        wanted.sort();
        wanted.dedup();
        wanted.retain(|id| !extras.read.contains_key(id));
        let started = std::time::Instant::now();
        let mut stored = self.load_assets(wanted).await?;
        stored.extend(
            std::mem::take(&mut extras.read)
                .into_iter()
                .filter_map(|(id, a)| Some((id, a?))),
        );
        let read_assets = started.elapsed();

        for LabelledEdge {
            label,
            edge,
            lenient,
        } in &edges
        {
            let labelled = |e: ValidationError| {
                if label.is_empty() {
                    e
                } else {
                    e.within(label)
                }
            };
            let end =
                |id: &String, field: &str| match assets_by_id.get(id).or_else(|| stored.get(id)) {
                    Some(a) => Ok((a.kind, Some(a))),
                    None => kinds.get(id.as_str()).map(|&k| (k, None)).ok_or_else(|| {
                        labelled(ValidationError::new(
                            field,
                            format!("no asset has the id {id:?}"),
                        ))
                    }),
                };
            let (from_kind, from) = end(&edge.from, "from")?;
            let (to_kind, to) = end(&edge.to, "to")?;
            let checked = match (from, to) {
                (Some(from), Some(to)) if !*lenient => edge.check_ends(from, to),
                // Lenient edges keep their mappings unchecked; the others
                // here have none (see `kinds` above).
                _ => edge.check_kinds(from_kind, to_kind),
            };
            checked.map_err(labelled)?;
        }

        // An asset created again after a deletion goes on from its last
        // version, so that its history stays one list.
        let reborn = self
            .last_versions_of_deleted(&assets_by_id, &stored)
            .await?;
        let nodes: Vec<GraphOp> = assets_by_id.values().map(GraphOp::node).collect();
        let (at, now) = rows::now();
        let mut outcome = WriteOutcome::default();
        let mut asset_ops = Vec::new();
        let (mut created, mut created_versions) = (Vec::new(), Vec::new());
        let mut changed = Vec::new();
        for (id, mut asset) in assets_by_id {
            // Stored documents keep no nulls; compare what will be stored.
            asset.properties.retain(|_, v| !v.is_null());
            asset.properties.values_mut().for_each(strip_nulls);
            let old = stored.get(&id);
            let expected_version = old.map_or(0, |o| o.version);
            if let Some(&want) = expected.get(&id) {
                if want != expected_version {
                    return Err(CatalogError::Conflict(format!(
                        "{id} is at version {expected_version}, not {want}; reload it and try again"
                    )));
                }
            }
            let changes = match old {
                Some(o) => asset.changed_fields(o),
                None => vec!["created".to_string()],
            };
            if changes.is_empty() {
                outcome.assets_unchanged += 1;
                continue;
            }
            if old.is_some() {
                outcome.assets_updated += 1;
            } else {
                outcome.assets_created += 1;
            }
            asset.version = match old {
                Some(_) => expected_version,
                None => reborn.get(&id).copied().unwrap_or(0),
            } + 1;
            changed.push(crate::search::Change::Put(Box::new(asset.clone())));
            let doc = stored_doc(&asset)?;
            if old.is_none() {
                // New assets go in with one INSERT per table: a statement
                // per asset costs several times more in a large batch. An
                // id that someone else created meanwhile fails the INSERT,
                // and with it the transaction.
                let mut row = doc.clone();
                row["id"] = json!(id);
                created.push(rows::row(
                    row,
                    [
                        ("created_at", rows::time(&now)),
                        ("updated_at", rows::time(&now)),
                    ],
                ));
                created_versions.push(rows::row(
                    json!({
                        "asset": id,
                        "version": asset.version,
                        "by": by,
                        "changes": changes,
                        "snapshot": doc,
                    }),
                    [
                        ("id", rows::version_record(&id, asset.version)),
                        ("at", rows::time(&now)),
                    ],
                ));
                continue;
            }
            let op = json!({
                "key": id,
                "expected": expected_version,
                "doc": doc,
                "changes": changes,
            });
            asset_ops.push(op);
        }
        // Edges already stored with the same mappings are left alone, so
        // writing the same thing twice (an event posted again) changes
        // nothing and does not move the graph version. Only the mappings of
        // edges the lineage index holds are read: the others are new here
        // (or another server's, not followed yet, which the upsert takes
        // as well), and an event of thousands of new inputs spent a tenth
        // of its time looking for them.
        let prepared = started.elapsed();
        let known: Vec<String> = {
            let g = self.graph.read().expect("the graph lock is never poisoned");
            edges
                .iter()
                .filter(|e| g.has_edge(&e.edge.id))
                .map(|e| e.edge.id.clone())
                .collect()
        };
        let stored_edges = self.edge_columns(known).await?;
        let read_edges = started.elapsed();
        let edge_ops: Vec<rows::Value> = edges
            .iter()
            .filter(|LabelledEdge { edge, .. }| stored_edges.get(&edge.id) != Some(&edge.columns))
            .map(|LabelledEdge { edge, .. }| rows::edge_row(edge, &now))
            .collect();
        outcome.edges_written = edge_ops.len();
        if asset_ops.is_empty()
            && created.is_empty()
            && edge_ops.is_empty()
            && extras.runs.is_empty()
            && extras.log.is_empty()
            && extras.drop_edges.is_empty()
        {
            return Ok(outcome);
        }
        // As APPLY decides whether to bump the graph version.
        let bumped = extras.import_at.is_none()
            && (!asset_ops.is_empty()
                || !created.is_empty()
                || !edge_ops.is_empty()
                || !extras.drop_edges.is_empty());
        let res = self
            .db
            .query(APPLY)
            .bind(("created", rows::rows(created)))
            .bind(("created_versions", rows::rows(created_versions)))
            .bind(("assets", Value::Array(asset_ops)))
            .bind(("edges", rows::rows(edge_ops)))
            .bind(("by", by.to_string()))
            .bind(("audit", audit.row(by)))
            .bind(("audited", extras.import_at.is_none()))
            .bind(("bump", extras.import_at.is_none()))
            .bind(("runs", Value::Array(extras.runs)))
            .bind(("log", Value::Array(extras.log)))
            .bind((
                "ended_edges",
                extras
                    .drop_edges
                    .iter()
                    .map(|k| rows::record("edge", k))
                    .collect::<Vec<_>>(),
            ))
            .bind(("ended_at", now))
            .bind(("end_reason", "dropped by a re-import"))
            .await?;
        let version = crate::follow::committed_version(first_real_error(res)?)?;
        tracing::debug!(
            assets = nodes.len(),
            edges = edges.len(),
            read_assets_ms = read_assets.as_millis() as u64,
            prepared_ms = prepared.as_millis() as u64,
            read_edges_ms = read_edges.as_millis() as u64,
            committed_ms = started.elapsed().as_millis() as u64,
            "write applied"
        );
        // Committed: now the in-memory graph may follow.
        let ops = nodes
            .into_iter()
            .chain(edges.into_iter().map(|e| GraphOp::Edge(e.edge)))
            .chain(extras.drop_edges.into_iter().map(GraphOp::RemoveEdge))
            .collect();
        let version = match extras.import_at {
            Some(at) => Some(at),
            None => bumped.then_some(version).flatten(),
        };
        self.index_changes(changed, version);
        self.apply_to_graph(ops, at, version);
        Ok(outcome)
    }

    /// Deletes an asset and every edge that touches it, and records the
    /// deletion in its history.
    pub async fn delete_asset(&self, id: &str, by: &str) -> Result<()> {
        let old = self.get_asset(id).await?;
        let (at, now) = rows::now();
        let mut snapshot = stored_doc(&old)?;
        snapshot["version"] = json!(old.version + 1);
        let res = self
            .db
            .query(DELETE_ASSET)
            .bind(("key", id.to_string()))
            .bind(("expected", old.version))
            .bind(("by", by.to_string()))
            .bind(("snapshot", snapshot))
            .bind(("audit", Audit::new("asset.delete", id, json!({})).row(by)))
            .bind(("ended_at", now))
            .bind(("end_reason", "asset deleted"))
            .await?;
        let version = crate::follow::committed_version(first_real_error(res)?)?;
        self.index_changes(vec![crate::search::Change::Delete(id.to_string())], version);
        self.apply_to_graph(vec![GraphOp::RemoveNode(id.to_string())], at, version);
        Ok(())
    }

    pub async fn delete_edge(&self, id: &str, by: &str) -> Result<()> {
        let Some(edge) = self.get_edge(id).await? else {
            return Err(CatalogError::NotFound(format!("edge {id:?}")));
        };
        let detail = json!({"from": edge.from, "to": edge.to, "kind": edge.kind.as_str()});
        let (at, now) = rows::now();
        let res = self
            .db
            .query(DELETE_EDGE)
            .bind(("key", id.to_string()))
            .bind(("audit", Audit::new("edge.delete", id, detail).row(by)))
            .bind(("ended_at", now))
            .bind(("end_reason", "deleted"))
            .await?;
        let version = crate::follow::committed_version(first_real_error(res)?)?;
        self.index_changes(vec![], version);
        self.apply_to_graph(vec![GraphOp::RemoveEdge(id.to_string())], at, version);
        Ok(())
    }
}

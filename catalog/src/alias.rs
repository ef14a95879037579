//! Aliases in the store. Declaring `from` an alias of `to` merges them in
//! one transaction: the alias's edges are re-pointed at the target, its
//! runs become the target's, what only it knew joins the target (a new
//! version of the target), and the alias asset is deleted with a version
//! that says where it went. Aliases of the alias follow it to the target,
//! so there are no chains. Afterwards every write path maps ids through
//! the aliases first ([`Catalog::alias_targets`]), so a source that still
//! uses the old name lands on the target, and reads of the old id answer
//! the target ([`Catalog::canonical_id`]).

use std::collections::HashMap;

use domain::alias::{merge_into, move_edges, Alias, NewAlias};
use domain::{Asset, Edge};
use serde_json::{json, Value};

use crate::audit::Audit;
use crate::error::{first_real_error, CatalogError, Result};
use crate::follow::GraphOp;
use crate::write::{end_asset, end_edges, stored_doc, upsert_edges};
use crate::Catalog;

const ADD_ALIAS: &str = concat!(
    r#"
BEGIN;
IF (type::record('asset', $to).version ?? 0) != $to_expected {
    THROW 'mlgraph-conflict: ' + $to + ' was changed by someone else; try again';
};
IF (type::record('asset', $from).version ?? 0) != $from_expected {
    THROW 'mlgraph-conflict: ' + $from + ' was changed by someone else; try again';
};
"#,
    end_edges!(),
    upsert_edges!(),
    r#"IF $target_changed {
    LET $target = type::record('asset', $to);
    UPSERT $target CONTENT object::extend($target_doc, { created_at: $target.created_at ?? time::now(), updated_at: time::now() });
    CREATE type::record('asset_version', [$to, $target_doc.version]) SET asset = $to, version = $target_doc.version, by = $by, changes = $target_changes, snapshot = $target_doc, at = time::now();
};
IF $from_expected > 0 {
    LET $key = $from;
    LET $rid = type::record('asset', $from);
"#,
    end_asset!(),
    r#"    DELETE $rid;
    CREATE type::record('asset_version', [$from, $from_expected + 1]) SET asset = $from, version = $from_expected + 1, by = $by, changes = ['merged into ' + $to], snapshot = $from_doc, at = $ended_at;
};
UPDATE run SET job = $to WHERE job = $from;
UPDATE asset_alias SET target = $to WHERE target = $from;
UPSERT type::record('asset_alias', $from) CONTENT { alias: $from, target: $to, by: $by };
CREATE audit CONTENT $audit;
UPSERT meta:graph SET version = (version ?? 0) + 1;
SELECT VALUE version FROM ONLY meta:graph;
COMMIT;
"#
);

/// What declaring an alias did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AliasOutcome {
    pub from: String,
    pub to: String,
    /// Whether an asset stood under the alias's id and was merged.
    pub merged: bool,
    /// Its edges, now the target's.
    pub edges_moved: usize,
}

impl Catalog {
    /// Declares `from` an alias of `to` and merges them. `to` must be an
    /// asset; `from` may be one (it is merged) or a name no source has used
    /// yet (later writes under it land on `to`).
    pub async fn add_alias(&self, new: NewAlias, by: &str) -> Result<AliasOutcome> {
        new.validate()?;
        let NewAlias { from, to } = new;
        let targets = self.alias_targets(&[from.clone(), to.clone()]).await?;
        if let Some(t) = targets.get(&from) {
            return Err(CatalogError::Refused(domain::ValidationError::new(
                "from",
                format!("is already an alias of {t}"),
            )));
        }
        if let Some(t) = targets.get(&to) {
            return Err(CatalogError::Refused(domain::ValidationError::new(
                "to",
                format!("is an alias of {t}; name {t} instead"),
            )));
        }
        let mut stored = self.load_assets(vec![from.clone(), to.clone()]).await?;
        let target = stored
            .remove(&to)
            .ok_or_else(|| CatalogError::NotFound(format!("asset {to:?}")))?;
        let alias = stored.remove(&from);

        let (incoming, outgoing) = self.edges_touching(&from).await?;
        let old_edges: Vec<Edge> = incoming.into_iter().chain(outgoing).collect();
        let moved = move_edges(&old_edges, &from, &to);
        let (target_doc, target_changes) = match &alias {
            Some(a) => {
                let mut next = merge_into(&target, a);
                let changes = next.changed_fields(&target);
                next.version = target.version + 1;
                (
                    stored_doc(&next)?,
                    (!changes.is_empty()).then_some(changes).map(|c| (c, next)),
                )
            }
            None => (stored_doc(&target)?, None),
        };
        let from_doc = match &alias {
            Some(a) => {
                let mut doc = stored_doc(a)?;
                doc["version"] = json!(a.version + 1);
                doc
            }
            None => json!({}),
        };
        let (at, now) = crate::rows::now();
        let edge_rows = moved
            .iter()
            .map(|e| crate::rows::edge_row(e, &now))
            .collect();
        let audit = Audit::new(
            "alias.add",
            &from,
            json!({"to": to, "merged": alias.is_some(), "edges_moved": moved.len()}),
        );
        let res = self
            .db
            .query(ADD_ALIAS)
            .bind(("from", from.clone()))
            .bind(("to", to.clone()))
            .bind(("to_expected", target.version))
            .bind(("from_expected", alias.as_ref().map_or(0, |a| a.version)))
            .bind((
                "ended_edges",
                old_edges
                    .iter()
                    .map(|e| crate::rows::record("edge", &e.id))
                    .collect::<Vec<_>>(),
            ))
            .bind(("ended_at", now))
            .bind(("end_reason", format!("merged into {to}")))
            .bind(("edges", crate::rows::rows(edge_rows)))
            .bind(("target_changed", target_changes.is_some()))
            .bind((
                "target_changes",
                target_changes
                    .as_ref()
                    .map(|(c, _)| json!(c))
                    .unwrap_or(json!([])),
            ))
            .bind(("target_doc", target_doc))
            .bind(("from_doc", from_doc))
            .bind(("by", by.to_string()))
            .bind(("audit", audit.row(by)))
            .await?;
        let version = crate::follow::committed_version(first_real_error(res)?)?;

        let mut changes = Vec::new();
        let mut ops = Vec::new();
        if let Some((_, next)) = &target_changes {
            changes.push(crate::search::Change::Put(Box::new(next.clone())));
            ops.push(GraphOp::node(next));
        }
        if alias.is_some() {
            changes.push(crate::search::Change::Delete(from.clone()));
            ops.push(GraphOp::RemoveNode(from.clone()));
        }
        ops.extend(moved.iter().cloned().map(GraphOp::Edge));
        self.index_changes(changes, version);
        self.apply_to_graph(ops, at, version);
        Ok(AliasOutcome {
            from,
            to,
            merged: alias.is_some(),
            edges_moved: moved.len(),
        })
    }

    /// Every alias, by id.
    pub async fn aliases(&self) -> Result<Vec<Alias>> {
        let mut res = self
            .db
            .query("SELECT alias AS from, target AS to, by, <string> at AS at FROM asset_alias ORDER BY from LIMIT 10000")
            .await?;
        let rows: Vec<Value> = res.take(0)?;
        rows.into_iter()
            .map(|r| {
                serde_json::from_value(r)
                    .map_err(|e| CatalogError::Corrupt(format!("alias row: {e}")))
            })
            .collect()
    }

    /// The targets of those `ids` that are aliases (one record lookup each).
    pub async fn alias_targets(&self, ids: &[String]) -> Result<HashMap<String, String>> {
        let rows = self
            .rows_by_id("asset_alias", ids, "alias AS from, target AS to")
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                Some((
                    r["from"].as_str()?.to_string(),
                    r["to"].as_str()?.to_string(),
                ))
            })
            .collect())
    }

    /// Whether any alias is declared: one lookup that spares every write
    /// the id lookups while there is none.
    pub(crate) async fn has_aliases(&self) -> Result<bool> {
        let mut res = self
            .db
            .query("SELECT VALUE alias FROM asset_alias LIMIT 1")
            .await?;
        let rows: Vec<Value> = res.take(0)?;
        Ok(!rows.is_empty())
    }

    /// The id an asset is known by: its alias's target, or itself.
    pub async fn canonical_id(&self, id: &str) -> Result<String> {
        Ok(self
            .alias_targets(&[id.to_string()])
            .await?
            .remove(id)
            .unwrap_or_else(|| id.to_string()))
    }

    /// [`Catalog::rehome_writes`] for the write path's labelled edges; the
    /// targets found, when there were any.
    pub(crate) async fn rehome_labelled(
        &self,
        assets: &mut [Asset],
        edges: &mut Vec<crate::write::LabelledEdge>,
    ) -> Result<Option<HashMap<String, String>>> {
        if !self.has_aliases().await? {
            return Ok(None);
        }
        let mut ids: Vec<String> = assets.iter().map(|a| a.id.clone()).collect();
        ids.extend(
            edges
                .iter()
                .flat_map(|e| [e.edge.from.clone(), e.edge.to.clone()]),
        );
        ids.sort();
        ids.dedup();
        let targets = self.alias_targets(&ids).await?;
        if targets.is_empty() {
            return Ok(None);
        }
        for a in assets.iter_mut() {
            if let Some(t) = targets.get(&a.id) {
                domain::alias::rehome(a, t);
            }
        }
        let lookup = |id: &str| targets.get(id).cloned();
        // Two edges that meet on the target are one.
        let mut seen = std::collections::BTreeSet::new();
        edges.retain_mut(|l| match domain::alias::rehome_edge(&l.edge, &lookup) {
            Some(e) if seen.insert(e.id.clone()) => {
                l.edge = e;
                true
            }
            _ => false,
        });
        Ok(Some(targets))
    }

    /// Assets and edges about to be written, moved off aliases: an asset
    /// under an alias's id becomes the target's, an edge's ends follow.
    pub(crate) async fn rehome_writes(
        &self,
        assets: &mut [Asset],
        edges: &mut Vec<Edge>,
    ) -> Result<()> {
        let mut labelled: Vec<crate::write::LabelledEdge> = edges
            .drain(..)
            .map(|edge| crate::write::LabelledEdge {
                label: String::new(),
                edge,
                lenient: false,
            })
            .collect();
        self.rehome_labelled(assets, &mut labelled).await?;
        edges.extend(labelled.into_iter().map(|l| l.edge));
        Ok(())
    }
}

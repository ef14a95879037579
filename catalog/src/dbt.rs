//! Importing a dbt project: the assets and edges `domain::dbt` reads from a
//! manifest are merged into what is stored (properties other sources added
//! are kept), and edges among the project's assets that the new manifest
//! no longer has are removed, all in one transaction whose audit record
//! lists what went away. Importing the same manifest twice changes nothing.
//!
//! The project's assets are those a dbt import made (they carry
//! `dbt.unique_id`) in the import's two namespaces, and the manifest's
//! edges are their reads and writes. An edge that dbt-ol reported to a job
//! the manifest does not describe (a test run), or column lineage between
//! its tables, is not the manifest's to remove.

use std::collections::{BTreeSet, HashMap};

use domain::dbt::DbtImport;
use serde_json::{json, Value};
use surrealdb::types::RecordId;

use crate::audit::Audit;
use crate::error::Result;
use crate::write::{Extras, LabelledEdge, WriteOutcome};
use crate::Catalog;

/// What a dbt import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DbtOutcome {
    pub schema_version: u32,
    pub project: String,
    pub namespace: String,
    pub job_namespace: String,
    #[serde(flatten)]
    pub written: WriteOutcome,
    pub edges_removed: usize,
    pub warnings: Vec<String>,
    /// Approved change requests whose diff this import carried out, now
    /// marked applied.
    pub applied_change_requests: Vec<u64>,
}

impl Catalog {
    pub async fn import_dbt(&self, mut import: DbtImport, by: &str) -> Result<DbtOutcome> {
        // Tables and jobs another name was declared an alias of land there.
        self.rehome_writes(&mut import.assets, &mut import.edges)
            .await?;
        let ids: Vec<String> = import.assets.iter().map(|a| a.id.clone()).collect();
        let stored = self.load_assets(ids.clone()).await?;
        let assets: Vec<domain::Asset> = import
            .assets
            .iter()
            .map(|a| {
                let mut next = a.clone();
                if let Some(old) = stored.get(&a.id) {
                    // Keep what other sources said; dbt's own keys win.
                    let mut props = old.properties.clone();
                    props.extend(a.properties.clone());
                    next.properties = props;
                    if next.owners.is_empty() {
                        next.owners = old.owners.clone();
                    }
                    if next.description.is_empty() {
                        next.description = old.description.clone();
                    }
                    next.version = old.version;
                }
                next
            })
            .collect();
        // Edges among this project's assets that the manifest no longer has.
        let wanted: BTreeSet<&str> = import.edges.iter().map(|e| e.id.as_str()).collect();
        let mut res = self
            .db
            .query("SELECT key, kind, record::id(in) AS from, record::id(out) AS to FROM edge WHERE in INSIDE $rids OR out INSIDE $rids")
            .bind((
                "rids",
                ids.iter().map(|k| RecordId::new("asset", k.as_str())).collect::<Vec<_>>(),
            ))
            .await?;
        let rows: Vec<Value> = res.take(0)?;
        let imported: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
        let others: Vec<String> = rows
            .iter()
            .flat_map(|r| [r["from"].as_str(), r["to"].as_str()])
            .flatten()
            .filter(|id| !imported.contains(id))
            .map(str::to_string)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let made_by_dbt: BTreeSet<String> = self
            .load_assets(others)
            .await?
            .into_iter()
            .filter(|(_, a)| a.properties.contains_key("dbt.unique_id"))
            .map(|(id, _)| id)
            .collect();
        let namespaces = [import.namespace.as_str(), import.job_namespace.as_str()];
        let ours = |id: &str| {
            (imported.contains(id) || made_by_dbt.contains(id))
                && domain::asset::parse_asset_id(id)
                    .is_ok_and(|(_, ns, _)| namespaces.contains(&ns.as_str()))
        };
        let mut removed: Vec<(String, String, String)> = rows
            .iter()
            .filter_map(|r| {
                let key = r["key"].as_str()?;
                let (from, to) = (r["from"].as_str()?, r["to"].as_str()?);
                // The manifest gives only reads and writes; column lineage
                // (derives) that dbt-ol reported is not its to remove.
                let kind = r["kind"].as_str()?;
                (!wanted.contains(key)
                    && (kind == "reads" || kind == "writes")
                    && ours(from)
                    && ours(to))
                .then(|| (key.to_string(), from.to_string(), to.to_string()))
            })
            .collect();
        removed.sort();
        removed.dedup();
        let audit = Audit::new(
            "dbt.import",
            &import.namespace,
            json!({
                "project": import.project,
                "schema_version": import.schema_version,
                "assets": assets.len(),
                "edges": import.edges.len(),
                "removed_edges": removed.iter().map(|(k, f, t)| json!({"key": k, "from": f, "to": t})).collect::<Vec<_>>(),
            }),
        );
        let written = self
            .apply(
                assets,
                import
                    .edges
                    .iter()
                    .map(|e| LabelledEdge {
                        label: String::new(),
                        edge: e.clone(),
                        lenient: false,
                    })
                    .collect(),
                &HashMap::new(),
                by,
                audit,
                Extras {
                    drop_edges: removed.iter().map(|(k, _, _)| k.clone()).collect(),
                    ..Default::default()
                },
            )
            .await?;
        let applied_change_requests = self.settle_after_import(by).await;
        let summary = format!(
            "{} created, {} updated, {} unchanged, {} edges written, {} removed",
            written.assets_created,
            written.assets_updated,
            written.assets_unchanged,
            written.edges_written,
            removed.len()
        );
        if let Err(e) = self
            .log_ingest(
                &format!("dbt: {}", import.project),
                "manifest import",
                &summary,
                json!([]),
            )
            .await
        {
            tracing::warn!(error = %e, "logging a dbt import");
        }
        Ok(DbtOutcome {
            applied_change_requests,
            schema_version: import.schema_version,
            project: import.project,
            namespace: import.namespace,
            job_namespace: import.job_namespace,
            written,
            edges_removed: removed.len(),
            warnings: import.warnings,
        })
    }
}

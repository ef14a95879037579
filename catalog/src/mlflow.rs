//! Importing what an MLflow server knows (`domain::mlflow`): its assets
//! merged into what is stored (what OpenLineage, dbt or people said about
//! the same datasets is kept), its edges, and its runs in the workflows'
//! histories, in one transaction with one audit record. Deploy tags are
//! resolved here to the services they name. Re-importing the same answers
//! changes nothing.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use domain::mlflow::{merge, MlflowImport};
use domain::{AssetKind, Edge, EdgeKind};
use serde_json::{json, Value};

use crate::audit::Audit;
use crate::error::{first_real_error, Result};
use crate::write::{Extras, LabelledEdge, WriteOutcome};
use crate::Catalog;

/// The property of a model version listing the services its deploy tags
/// linked it to, so that the next import can take back an edge whose tag
/// is gone.
const DEPLOYED_TO: &str = "mlflow.deployed_to";

/// What an MLflow import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct MlflowOutcome {
    pub namespace: String,
    pub registered_models: usize,
    /// Versions that changed since the last import, read with their runs.
    pub versions: usize,
    /// Every version looked at (the others' aliases, stage and tags are
    /// brought up to date).
    pub versions_checked: usize,
    pub runs: usize,
    #[serde(flatten)]
    pub written: WriteOutcome,
    /// `deploys` edges made from deploy tags, as `MODEL -> SERVICE`.
    pub deployed: Vec<String>,
    pub warnings: Vec<String>,
}

impl Catalog {
    /// Writes an MLflow import atomically; `source` names the server on the
    /// ingestion page.
    pub async fn import_mlflow(
        &self,
        mut import: MlflowImport,
        source: &str,
        by: &str,
    ) -> Result<MlflowOutcome> {
        self.rehome_writes(&mut import.assets, &mut import.edges)
            .await?;
        let mut warnings = std::mem::take(&mut import.warnings);
        let mut deployed = Vec::new();
        // The services each version's deploy tags name now.
        let mut targets: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (model, service) in &import.deploys {
            match self.service_named(service).await? {
                Some(id) => {
                    deployed.push(format!("{model} -> {id}"));
                    import
                        .edges
                        .push(Edge::between(model, EdgeKind::Deploys, &id));
                    targets.entry(model.clone()).or_default().insert(id);
                }
                None => warnings.push(format!(
                    "{model}: its deploy tag names {service:?}, which is no service in the catalog (give a service's id or its exact name); no deploys edge was made"
                )),
            }
        }
        let ids: Vec<String> = import.assets.iter().map(|a| a.id.clone()).collect();
        let stored = self.load_assets(ids).await?;
        // A deploys edge an earlier import made from a tag that is gone now
        // goes (edges from Kubernetes manifests are not the import's).
        let mut drop_edges = Vec::new();
        for a in import
            .assets
            .iter_mut()
            .filter(|a| a.kind == AssetKind::Model)
        {
            let now: BTreeSet<String> = targets.remove(&a.id).unwrap_or_default();
            let before: Vec<String> = stored
                .get(&a.id)
                .and_then(|s| s.properties.get(DEPLOYED_TO))
                .and_then(|v| serde_json::from_value(v.clone()).ok())
                .unwrap_or_default();
            for gone in before.iter().filter(|s| !now.contains(*s)) {
                drop_edges.push(domain::edge::edge_id(&a.id, EdgeKind::Deploys, gone));
            }
            a.properties.insert(DEPLOYED_TO.into(), json!(now));
        }
        let assets: Vec<domain::Asset> = import
            .assets
            .into_iter()
            .map(|a| {
                let old = stored.get(&a.id);
                merge(old, a)
            })
            .collect();
        let runs: Vec<Value> = import
            .runs
            .iter()
            .map(|r| {
                let mut v = serde_json::to_value(r).unwrap_or_default();
                crate::write::strip_nulls(&mut v);
                v
            })
            .collect();
        let audit = Audit::new(
            "mlflow.import",
            &import.namespace,
            json!({
                "registered_models": import.models,
                "versions": import.versions,
                "assets": assets.len(),
                "edges": import.edges.len(),
                "runs": runs.len(),
            }),
        );
        let run_count = runs.len();
        let written = self
            .apply(
                assets,
                import
                    .edges
                    .into_iter()
                    .map(|edge| LabelledEdge {
                        label: String::new(),
                        edge,
                        lenient: false,
                    })
                    .collect(),
                &HashMap::new(),
                by,
                audit,
                Extras {
                    runs,
                    drop_edges,
                    ..Default::default()
                },
            )
            .await?;
        let summary = format!(
            "{} changed versions (of {}) of {} registered models, {} runs: {} assets created, {} updated, {} unchanged, {} edges written",
            import.versions,
            import.versions_checked,
            import.models,
            run_count,
            written.assets_created,
            written.assets_updated,
            written.assets_unchanged,
            written.edges_written,
        );
        let problems: Vec<Value> = warnings.iter().map(|w| json!({"message": w})).collect();
        if let Err(e) = self
            .log_ingest(source, "mlflow import", &summary, json!(problems))
            .await
        {
            tracing::warn!(error = %e, "logging an MLflow import");
        }
        Ok(MlflowOutcome {
            namespace: import.namespace,
            registered_models: import.models,
            versions: import.versions,
            versions_checked: import.versions_checked,
            runs: run_count,
            written,
            deployed,
            warnings,
        })
    }

    /// The service asset `name` names: its id, or the exact name of one
    /// service (an alias counts as its target).
    async fn service_named(&self, name: &str) -> Result<Option<String>> {
        if domain::asset::parse_asset_id(name).is_ok_and(|(k, _, _)| k == AssetKind::Service) {
            let id = self.canonical_id(name).await?;
            return Ok(self
                .load_assets(vec![id.clone()])
                .await?
                .contains_key(&id)
                .then_some(id));
        }
        // The lineage index holds every asset's kind and name.
        let mut keys: Vec<String> = {
            let g = self.graph.read().expect("the graph lock is never poisoned");
            g.nodes()
                .filter(|&n| g.kind(n) == AssetKind::Service && g.name(n) == name)
                .map(|n| g.asset_id(n).to_string())
                .take(2)
                .collect()
        };
        keys.sort();
        Ok(match keys.as_slice() {
            [one] => Some(one.clone()),
            _ => None,
        })
    }

    /// Where the last import from `source` left off, as epoch milliseconds
    /// of the source's own clock.
    pub async fn import_cursor(&self, source: &str) -> Result<Option<i64>> {
        let mut res = self
            .db
            .query("SELECT VALUE since_ms FROM ONLY type::record('import_cursor', $source)")
            .bind(("source", source.to_string()))
            .await?;
        let v: Option<i64> = res.take(0)?;
        Ok(v)
    }

    pub async fn set_import_cursor(&self, source: &str, since_ms: i64) -> Result<()> {
        let res = self
            .db
            .query("UPSERT type::record('import_cursor', $source) SET source = $source, since_ms = $ms, at = time::now() RETURN NONE")
            .bind(("source", source.to_string()))
            .bind(("ms", since_ms))
            .await?;
        first_real_error(res)?;
        Ok(())
    }
}

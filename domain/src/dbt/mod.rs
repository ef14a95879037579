//! Importing a dbt project from its `manifest.json`, and optionally the
//! `catalog.json` that `dbt docs generate` writes. dbt already knows the
//! lineage of an analytics warehouse: which tables each model reads, which
//! tests guard them and which dashboards sit on top. This module turns that
//! knowledge into assets and edges, without reading a file itself, so the
//! server, the command line and the browser can share it.
//!
//! Every table dbt builds or declares (models, seeds, snapshots, sources)
//! becomes a dataset named by its warehouse relation, and each build step a
//! workflow that reads the node's inputs and writes the node's table, both
//! named as openlineage-dbt names them ([`naming`]), so that a project that
//! runs under `dbt-ol` and is imported from its manifest is one graph;
//! exposures become applications that read the tables they use, and data
//! tests stay on the tables they test as quality checks. Ephemeral models,
//! metrics, semantic models and saved queries are no tables, so they are
//! not catalogued; lineage passes through them to the tables behind them.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::asset::Asset;
use crate::edge::{edge_id, Edge, EdgeKind};
use crate::error::ValidationError;

pub mod naming;
mod nodes;

pub use naming::{job_name, profile_namespace, DbtCommand, Naming, ProfileTarget};
use nodes::*;

/// The oldest and newest manifest schemas read. dbt 1.3 wrote v7; older
/// manifests lack fields this module relies on (such as `depends_on` on
/// every node), and dbt 1.8 and later still write v12.
const OLDEST: u32 = 7;
const NEWEST: u32 = 12;

const VERSION_FIELD: &str = "metadata.dbt_schema_version";

/// What a dbt manifest (and optionally its catalog.json) adds to the catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct DbtImport {
    /// The manifest schema version, the N of `.../manifest/vN.json`.
    pub schema_version: u32,
    /// `metadata.project_name` if present, else the package of the first
    /// model, else `dbt`.
    pub project: String,
    /// The namespace of the tables (datasets).
    pub namespace: String,
    /// The namespace of the build steps (workflows) and exposures.
    pub job_namespace: String,
    /// The dbt command whose job names the build steps take.
    pub command: DbtCommand,
    /// Sorted by id; version 0 and no timestamps, as the catalog sets those.
    pub assets: Vec<Asset>,
    /// Sorted by id; every edge fits the assets at its ends.
    pub edges: Vec<Edge>,
    /// What was left out and why, sorted.
    pub warnings: Vec<String>,
}

/// Reads manifest schema v7 through v12. Older, newer or missing versions
/// give a [`ValidationError`] on the field `metadata.dbt_schema_version`.
///
/// `catalog` is the project's `catalog.json`, whose warehouse column types
/// and order override what the manifest declares. `naming` gives the
/// namespaces of tables and jobs; without a table namespace it is `dbt://`
/// followed by `metadata.adapter_type`, or by the project name when the
/// manifest does not name its adapter.
pub fn parse_manifest(
    manifest: &Value,
    catalog: Option<&Value>,
    naming: &Naming,
) -> Result<DbtImport, ValidationError> {
    if !manifest.is_object() {
        return Err(ValidationError::new(
            "manifest",
            "must be a JSON object (the contents of target/manifest.json)",
        ));
    }
    let schema_version = schema_version(manifest)?;
    if let Some(c) = catalog {
        check_catalog(c)?;
    }
    let metadata = &manifest["metadata"];
    let nodes = sorted(&manifest["nodes"]);

    let project = text(&metadata["project_name"])
        .or_else(|| {
            nodes
                .values()
                .filter(|n| n["resource_type"] == "model")
                .find_map(|n| text(&n["package_name"]))
        })
        .unwrap_or_else(|| "dbt".to_string());
    let given = |ns: &Option<String>, field: &str| match ns {
        Some(ns) if ns.trim().is_empty() => Err(ValidationError::new(field, "must not be empty")),
        Some(ns) => Ok(Some(ns.trim().to_string())),
        None => Ok(None),
    };
    let namespace = match given(&naming.datasets, "namespace")? {
        Some(ns) => ns,
        None => match text(&metadata["adapter_type"]) {
            Some(adapter) => format!("dbt://{adapter}"),
            None => format!("dbt://{project}"),
        },
    };
    let job_namespace = given(&naming.jobs, "job_namespace")?
        .unwrap_or_else(|| naming::DEFAULT_JOB_NAMESPACE.to_string());

    let mut out = Builder::new();
    let mut lineage = Lineage::default();
    // Labels of what is not catalogued, with counts, for one summary warning.
    let mut skipped: BTreeMap<&str, usize> = BTreeMap::new();

    // Disabled nodes never reach `nodes`, but other nodes may still name
    // them; knowing them keeps those references from looking broken.
    match &manifest["disabled"] {
        Value::Object(m) => lineage.known.extend(m.keys().map(String::as_str)),
        Value::Array(list) => lineage
            .known
            .extend(list.iter().filter_map(|n| n["unique_id"].as_str())),
        _ => {}
    }

    let mut tables: Vec<(&str, &Value, &str)> = Vec::new();
    let mut tests: Vec<(&str, &Value)> = Vec::new();
    for (&uid, &node) in &nodes {
        lineage.known.insert(uid);
        if !enabled(node) {
            continue;
        }
        match node["resource_type"].as_str().unwrap_or("") {
            "model" if node["config"]["materialized"] == "ephemeral" => {
                lineage.through.insert(uid, node);
                *skipped.entry("ephemeral model").or_default() += 1;
            }
            rt @ ("model" | "seed" | "snapshot") => tables.push((uid, node, rt)),
            "test" => tests.push((uid, node)),
            "analysis" => *skipped.entry("analysis").or_default() += 1,
            _ => *skipped.entry("other node").or_default() += 1,
        }
    }
    let sources = sorted(&manifest["sources"]);
    for (&uid, &source) in &sources {
        lineage.known.insert(uid);
        if enabled(source) {
            tables.push((uid, source, "source"));
        }
    }
    for (section, label) in [
        ("metrics", "metric"),
        ("semantic_models", "semantic model"),
        ("saved_queries", "saved query"),
    ] {
        for (&uid, &node) in &sorted(&manifest[section]) {
            lineage.known.insert(uid);
            if enabled(node) {
                lineage.through.insert(uid, node);
                *skipped.entry(label).or_default() += 1;
            }
        }
    }
    let unit_tests = sorted(&manifest["unit_tests"]).len();
    if unit_tests > 0 {
        skipped.insert("unit test", unit_tests);
    }

    for &(uid, node, rt) in &tables {
        let columns = catalog.and_then(|c| catalog_entry(c, uid));
        let id = out.add_asset(dataset(&namespace, uid, node, rt, columns), uid);
        lineage.datasets.insert(uid, id);
    }

    for &(uid, node, rt) in &tables {
        if rt == "source" {
            continue;
        }
        let table = lineage.datasets[uid].clone();
        let run = out.add_asset(workflow(&job_namespace, uid, node, rt, naming.command), uid);
        out.add_edge(&run, EdgeKind::Writes, &table);
        for input in lineage.upstream(uid, node, &mut out.warnings) {
            out.add_edge(&input, EdgeKind::Reads, &run);
        }
    }

    for (&uid, &exposure) in &sorted(&manifest["exposures"]) {
        if !enabled(exposure) {
            continue;
        }
        let app = out.add_asset(application(&job_namespace, uid, exposure), uid);
        for input in lineage.upstream(uid, exposure, &mut out.warnings) {
            out.add_edge(&input, EdgeKind::Reads, &app);
        }
    }

    let mut checks: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (uid, test) in tests {
        // dbt 1.6 and later name the tested node in `attached_node`; a
        // relationships test also depends on the table it refers to, which
        // it does not test.
        let targets: Vec<&str> = match test["attached_node"].as_str() {
            Some(node) if !node.is_empty() => vec![node],
            _ => depends_on(test).collect(),
        };
        let mut attached = false;
        for target in targets {
            if let Some(id) = lineage.datasets.get(target) {
                checks.entry(id.clone()).or_default().push(check(test));
                attached = true;
            } else if !lineage.known.contains(target) {
                out.warnings.insert(format!(
                    "{uid} tests {target}, which is not in the manifest; the test is not kept there."
                ));
            }
        }
        if !attached {
            out.warnings.insert(format!(
                "{uid} tests no model, seed, snapshot or source of this manifest, so it is kept nowhere."
            ));
        }
    }
    for (id, mut list) in checks {
        // Sorting the whole entry after the name makes the order total, so
        // the result does not depend on the order of the manifest.
        list.sort_by_key(|c| (c["name"].as_str().unwrap_or("").to_string(), c.to_string()));
        list.dedup();
        if let Some((asset, _)) = out.assets.get_mut(&id) {
            asset
                .properties
                .insert("dbt.tests".to_string(), Value::Array(list));
        }
    }

    if !skipped.is_empty() {
        let counts: Vec<String> = skipped.iter().map(|(label, n)| plural(*n, label)).collect();
        out.warnings.insert(format!(
            "Not catalogued, as they are no tables: {}.",
            counts.join(", ")
        ));
    }

    let mut assets = Vec::with_capacity(out.assets.len());
    for (_, (asset, origin)) in out.assets {
        asset.validate().map_err(|e| e.within(origin))?;
        assets.push(asset);
    }
    // The lineage is as of when dbt wrote the manifest, where it says.
    let generated_at =
        text(&metadata["generated_at"]).filter(|t| crate::time::to_millis(t).is_some());
    let mut edges: Vec<Edge> = out.edges.into_values().collect();
    for e in &mut edges {
        e.first_seen.clone_from(&generated_at);
    }
    Ok(DbtImport {
        schema_version,
        project,
        namespace,
        job_namespace,
        command: naming.command,
        assets,
        edges,
        warnings: out.warnings.into_iter().collect(),
    })
}

/// The N of `metadata.dbt_schema_version`, `.../dbt/manifest/vN.json`,
/// when it is one this module reads.
fn schema_version(manifest: &Value) -> Result<u32, ValidationError> {
    let url = manifest["metadata"]["dbt_schema_version"]
        .as_str()
        .ok_or_else(|| {
            ValidationError::new(
                VERSION_FIELD,
                format!(
                    "is missing; a dbt manifest.json names its schema there, and mlgraph reads v{OLDEST} to v{NEWEST} (dbt 1.3 and later)"
                ),
            )
        })?;
    let version = url
        .rsplit_once("/manifest/v")
        .and_then(|(_, rest)| rest.strip_suffix(".json"))
        .and_then(|n| n.parse::<u32>().ok())
        .ok_or_else(|| {
            ValidationError::new(
                VERSION_FIELD,
                format!("{url:?} is no dbt manifest schema; expected https://schemas.getdbt.com/dbt/manifest/vN.json"),
            )
        })?;
    if !(OLDEST..=NEWEST).contains(&version) {
        return Err(ValidationError::new(
            VERSION_FIELD,
            format!(
                "dbt manifest schema v{version} is not supported; mlgraph reads v{OLDEST} to v{NEWEST} (dbt 1.3 and later)"
            ),
        ));
    }
    Ok(version)
}

/// A catalog.json is an object; a manifest passed in its place would
/// silently add nothing, so it is refused.
fn check_catalog(catalog: &Value) -> Result<(), ValidationError> {
    if !catalog.is_object() {
        return Err(ValidationError::new(
            "catalog",
            "must be a JSON object (the contents of target/catalog.json)",
        ));
    }
    if let Some(url) = catalog["metadata"]["dbt_schema_version"].as_str() {
        if !url.contains("/catalog/") {
            return Err(ValidationError::new(
                "catalog",
                format!("has schema {url:?}; expected a dbt catalog.json"),
            ));
        }
    }
    Ok(())
}

/// Collects the assets and edges; both are keyed by id, so adding the same
/// thing twice keeps one.
struct Builder<'a> {
    /// Each asset with the unique_id it came from, for messages.
    assets: BTreeMap<String, (Asset, &'a str)>,
    edges: BTreeMap<String, Edge>,
    warnings: BTreeSet<String>,
}

impl<'a> Builder<'a> {
    fn new() -> Self {
        Self {
            assets: BTreeMap::new(),
            edges: BTreeMap::new(),
            warnings: BTreeSet::new(),
        }
    }

    /// Adds the asset unless one with its id is there already, and returns
    /// the id. Two dbt nodes on the same relation are one table in the
    /// warehouse, so they stay one asset and keep the first node's metadata.
    fn add_asset(&mut self, asset: Asset, origin: &'a str) -> String {
        let id = asset.id.clone();
        if let Some((_, first)) = self.assets.get(&id) {
            self.warnings.insert(format!(
                "{origin} is the same {} as {first} ({:?} in {}); only the metadata of {first} is kept.",
                asset.kind, asset.name, asset.namespace
            ));
        } else {
            self.assets.insert(id.clone(), (asset, origin));
        }
        id
    }

    fn add_edge(&mut self, from: &str, kind: EdgeKind, to: &str) {
        let id = edge_id(from, kind, to);
        self.edges
            .entry(id)
            .or_insert_with(|| Edge::between(from, kind, to));
    }
}

/// What `depends_on` references resolve to.
#[derive(Default)]
struct Lineage<'a> {
    /// unique_id → dataset asset id, for every catalogued table.
    datasets: BTreeMap<&'a str, String>,
    /// Nodes that are no tables but stand for the tables they depend on:
    /// ephemeral models (inlined into their readers), metrics, semantic
    /// models and saved queries.
    through: BTreeMap<&'a str, &'a Value>,
    /// Every unique_id in the manifest, disabled ones included, so that
    /// references to them are not reported as missing.
    known: BTreeSet<&'a str>,
}

impl Lineage<'_> {
    /// The dataset ids a node reads, passing through nodes that are no
    /// tables. References to nothing in the manifest become warnings.
    fn upstream(&self, uid: &str, node: &Value, warnings: &mut BTreeSet<String>) -> Vec<String> {
        let mut found = BTreeSet::new();
        let mut seen = BTreeSet::new();
        self.walk(uid, node, &mut seen, &mut found, warnings);
        found.into_iter().collect()
    }

    fn walk(
        &self,
        uid: &str,
        node: &Value,
        seen: &mut BTreeSet<String>,
        found: &mut BTreeSet<String>,
        warnings: &mut BTreeSet<String>,
    ) {
        for dep in depends_on(node) {
            if let Some(id) = self.datasets.get(dep) {
                found.insert(id.clone());
            } else if let Some(inner) = self.through.get(dep) {
                // The seen set stops a cycle of metrics from looping.
                if seen.insert(dep.to_string()) {
                    self.walk(dep, inner, seen, found, warnings);
                }
            } else if !self.known.contains(dep) && !dep.starts_with("macro.") {
                warnings.insert(format!(
                    "{uid} depends on {dep}, which is not in the manifest; that input is left out."
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests;

//! Importing a dbt project from its `manifest.json`, and optionally the
//! `catalog.json` that `dbt docs generate` writes. dbt already knows the
//! lineage of an analytics warehouse: which tables each model reads, which
//! tests guard them and which dashboards sit on top. This module turns that
//! knowledge into assets and edges, without reading a file itself, so the
//! server, the command line and the browser can share it.
//!
//! Every table dbt builds or declares (models, seeds, snapshots, sources)
//! becomes a dataset named by its warehouse relation, so that it meets the
//! same table reported by other importers. Each build step becomes a
//! workflow that reads the node's inputs and writes the node's table,
//! exposures become applications that read the tables they use, and data
//! tests stay on the tables they test as quality checks. Ephemeral models,
//! metrics, semantic models and saved queries are no tables, so they are
//! not catalogued; lineage passes through them to the tables behind them.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::asset::{asset_id, Asset, AssetKind, Field};
use crate::edge::{edge_id, Edge, EdgeKind};
use crate::error::ValidationError;

/// The oldest and newest manifest schemas read. dbt 1.3 wrote v7; older
/// manifests lack fields this module relies on (such as `depends_on` on
/// every node), and dbt 1.8 and later still write v12.
const OLDEST: u32 = 7;
const NEWEST: u32 = 12;

const VERSION_FIELD: &str = "metadata.dbt_schema_version";

/// Asset validation refuses longer descriptions; one overlong docs block
/// should shorten its description, not fail the whole import.
const MAX_DESCRIPTION: usize = 64 * 1024;

/// What a dbt manifest (and optionally its catalog.json) adds to the catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct DbtImport {
    /// The manifest schema version, the N of `.../manifest/vN.json`.
    pub schema_version: u32,
    /// `metadata.project_name` if present, else the package of the first
    /// model, else `dbt`.
    pub project: String,
    /// The namespace of every asset id.
    pub namespace: String,
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
/// and order override what the manifest declares. `namespace` is used for
/// every asset id; without it the namespace is `dbt://` followed by
/// `metadata.adapter_type`, or by the project name when the manifest does
/// not name its adapter.
pub fn parse_manifest(
    manifest: &Value,
    catalog: Option<&Value>,
    namespace: Option<&str>,
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
    let namespace = match namespace {
        Some(ns) if ns.trim().is_empty() => {
            return Err(ValidationError::new("namespace", "must not be empty"))
        }
        Some(ns) => ns.trim().to_string(),
        None => match text(&metadata["adapter_type"]) {
            Some(adapter) => format!("dbt://{adapter}"),
            None => format!("dbt://{project}"),
        },
    };

    let mut out = Builder::new(namespace.clone());
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
        let run = out.add_asset(workflow(&namespace, uid, node, rt), uid);
        out.add_edge(&run, EdgeKind::Writes, &table);
        for input in lineage.upstream(uid, node, &mut out.warnings) {
            out.add_edge(&input, EdgeKind::Reads, &run);
        }
    }

    for (&uid, &exposure) in &sorted(&manifest["exposures"]) {
        if !enabled(exposure) {
            continue;
        }
        let app = out.add_asset(application(&namespace, uid, exposure), uid);
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
    Ok(DbtImport {
        schema_version,
        project,
        namespace,
        assets,
        edges: out.edges.into_values().collect(),
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
    namespace: String,
    /// Each asset with the unique_id it came from, for messages.
    assets: BTreeMap<String, (Asset, &'a str)>,
    edges: BTreeMap<String, Edge>,
    warnings: BTreeSet<String>,
}

impl<'a> Builder<'a> {
    fn new(namespace: String) -> Self {
        Self {
            namespace,
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
                asset.kind, asset.name, self.namespace
            ));
        } else {
            self.assets.insert(id.clone(), (asset, origin));
        }
        id
    }

    fn add_edge(&mut self, from: &str, kind: EdgeKind, to: &str) {
        let id = edge_id(from, kind, to);
        self.edges.entry(id.clone()).or_insert_with(|| Edge {
            id,
            from: from.to_string(),
            to: to.to_string(),
            kind,
            columns: vec![],
            first_seen: None,
            last_seen: None,
        });
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

/// A model, seed, snapshot or source as the table it is.
fn dataset(namespace: &str, uid: &str, node: &Value, rt: &str, catalog: Option<&Value>) -> Asset {
    let name = relation(
        node,
        if rt == "source" {
            "identifier"
        } else {
            "alias"
        },
    )
    .unwrap_or_else(|| uid.to_string());
    let mut description = describe(&node["description"]);
    let mut owners = owners(node);
    if rt == "source" {
        // A source table without its own text inherits its source's.
        if description.is_empty() {
            description = describe(&node["source_description"]);
        }
        if owners.is_empty() {
            owners = strings(&node["source_meta"]["owner"]);
        }
    }
    let mut properties = BTreeMap::from([
        ("dbt.unique_id".to_string(), json!(uid)),
        ("dbt.resource_type".to_string(), json!(rt)),
    ]);
    for (key, value) in [
        ("dbt.materialized", &node["config"]["materialized"]),
        ("dbt.package", &node["package_name"]),
        ("dbt.path", &node["original_file_path"]),
    ] {
        if let Some(v) = text(value) {
            properties.insert(key.to_string(), json!(v));
        }
    }
    Asset {
        id: asset_id(AssetKind::Dataset, namespace, &name),
        kind: AssetKind::Dataset,
        namespace: namespace.to_string(),
        name,
        description,
        owners,
        tags: tags(node, &format!("dbt-{rt}")),
        domain: None,
        schema: columns(&node["columns"], catalog),
        properties,
        version: 0,
        created_at: None,
        updated_at: None,
    }
}

/// The dbt step that builds a model, seed or snapshot. Its owners are the
/// node's, as whoever owns a table answers for the job that fills it.
fn workflow(namespace: &str, uid: &str, node: &Value, rt: &str) -> Asset {
    let name = format!("dbt run {uid}");
    let command = match rt {
        "seed" => "seed",
        "snapshot" => "snapshot",
        _ => "run",
    };
    let target = relation(node, "alias").unwrap_or_else(|| uid.to_string());
    Asset {
        id: asset_id(AssetKind::Workflow, namespace, &name),
        kind: AssetKind::Workflow,
        namespace: namespace.to_string(),
        name,
        description: format!("The `dbt {command}` step that builds the {rt} {target}."),
        owners: owners(node),
        tags: vec!["dbt".to_string()],
        domain: None,
        schema: vec![],
        properties: BTreeMap::from([
            ("dbt.command".to_string(), json!(command)),
            ("dbt.resource_type".to_string(), json!(rt)),
            ("dbt.unique_id".to_string(), json!(uid)),
        ]),
        version: 0,
        created_at: None,
        updated_at: None,
    }
}

/// An exposure: a dashboard, notebook or application on top of the tables.
fn application(namespace: &str, uid: &str, exposure: &Value) -> Asset {
    let name = text(&exposure["name"]).unwrap_or_else(|| uid.to_string());
    let owner = &exposure["owner"];
    let mut properties = BTreeMap::from([("dbt.unique_id".to_string(), json!(uid))]);
    for (key, value) in [
        ("dbt.exposure_type", &exposure["type"]),
        ("dbt.url", &exposure["url"]),
    ] {
        if let Some(v) = text(value) {
            properties.insert(key.to_string(), json!(v));
        }
    }
    Asset {
        id: asset_id(AssetKind::Application, namespace, &name),
        kind: AssetKind::Application,
        namespace: namespace.to_string(),
        name,
        description: describe(&exposure["description"]),
        owners: text(&owner["name"])
            .or_else(|| text(&owner["email"]))
            .into_iter()
            .collect(),
        tags: tags(exposure, "dbt-exposure"),
        domain: None,
        schema: vec![],
        properties,
        version: 0,
        created_at: None,
        updated_at: None,
    }
}

/// One entry of a dataset's `dbt.tests`.
fn check(test: &Value) -> Value {
    let column = text(&test["column_name"])
        .or_else(|| text(&test["test_metadata"]["kwargs"]["column_name"]));
    json!({
        "name": text(&test["name"]).unwrap_or_default(),
        "test": text(&test["test_metadata"]["name"]).unwrap_or_else(|| "singular".to_string()),
        "column": column,
        "severity": text(&test["config"]["severity"]),
    })
}

/// The table's schema: the manifest's documented columns merged with the
/// catalog's, which the warehouse reported and so know the real types and
/// order. A catalog column meets its documented one by exact name, or
/// failing that by name ignoring case, because warehouses such as Snowflake
/// report upper case names for columns documented in lower case.
fn columns(declared: &Value, catalog: Option<&Value>) -> Vec<Field> {
    struct Declared {
        name: String,
        data_type: Option<String>,
        description: String,
        used: bool,
    }
    let mut declared: Vec<Declared> = entries(declared)
        .filter_map(|(key, c)| {
            let name = text(&c["name"]).or_else(|| Some(line(key)).filter(|n| !n.is_empty()))?;
            Some(Declared {
                name,
                data_type: text(&c["data_type"]),
                description: describe(&c["description"]),
                used: false,
            })
        })
        .collect();
    let mut reported: Vec<(u64, String, Option<String>, String)> =
        entries(catalog.unwrap_or(&Value::Null))
            .filter_map(|(key, c)| {
                let name =
                    text(&c["name"]).or_else(|| Some(line(key)).filter(|n| !n.is_empty()))?;
                let index = c["index"].as_u64().unwrap_or(u64::MAX);
                Some((index, name, text(&c["type"]), describe(&c["comment"])))
            })
            .collect();
    reported.sort();

    let mut fields = Vec::with_capacity(declared.len().max(reported.len()));
    for (_, name, data_type, comment) in reported {
        let exact = declared.iter().position(|d| !d.used && d.name == name);
        let matched = exact.or_else(|| {
            let mut similar = declared
                .iter()
                .enumerate()
                .filter(|(_, d)| !d.used && d.name.eq_ignore_ascii_case(&name));
            // Two documented columns differing only in case cannot be told
            // apart, so neither is matched.
            match (similar.next(), similar.next()) {
                (Some((i, _)), None) => Some(i),
                _ => None,
            }
        });
        let (data_type, description) = match matched {
            Some(i) => {
                let d = &mut declared[i];
                d.used = true;
                let description = if d.description.is_empty() {
                    comment
                } else {
                    d.description.clone()
                };
                (data_type.or_else(|| d.data_type.clone()), description)
            }
            None => (data_type, comment),
        };
        fields.push(field(name, data_type, description));
    }
    for d in declared.into_iter().filter(|d| !d.used) {
        fields.push(field(d.name, d.data_type, d.description));
    }
    let mut names = BTreeSet::new();
    fields.retain(|f| names.insert(f.name.clone()));
    fields
}

fn field(name: String, data_type: Option<String>, description: String) -> Field {
    Field {
        name,
        data_type: data_type.unwrap_or_else(|| "unknown".to_string()),
        nullable: true,
        description,
    }
}

/// The catalog's columns for a node or source.
fn catalog_entry<'a>(catalog: &'a Value, uid: &str) -> Option<&'a Value> {
    ["nodes", "sources"]
        .into_iter()
        .map(|section| &catalog[section][uid]["columns"])
        .find(|c| c.is_object())
}

/// `database.schema.identifier`, leaving out the parts the node lacks.
fn relation(node: &Value, identifier: &str) -> Option<String> {
    let table = text(&node[identifier]).or_else(|| text(&node["name"]));
    let parts: Vec<String> = [text(&node["database"]), text(&node["schema"]), table]
        .into_iter()
        .flatten()
        .collect();
    (!parts.is_empty()).then(|| parts.join("."))
}

/// Owners from `meta.owner` and `config.meta.owner`; dbt projects set
/// either, as one name or a list.
fn owners(node: &Value) -> Vec<String> {
    let mut set = BTreeSet::new();
    set.extend(strings(&node["meta"]["owner"]));
    set.extend(strings(&node["config"]["meta"]["owner"]));
    set.into_iter().collect()
}

/// The node's tags and its config's tags (dbt keeps both), with `marker`.
fn tags(node: &Value, marker: &str) -> Vec<String> {
    let mut set = BTreeSet::from([marker.to_string()]);
    set.extend(strings(&node["tags"]));
    set.extend(strings(&node["config"]["tags"]));
    set.into_iter().collect()
}

fn enabled(node: &Value) -> bool {
    node["config"]["enabled"].as_bool() != Some(false)
}

fn depends_on(node: &Value) -> impl Iterator<Item = &str> {
    node["depends_on"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

fn entries(v: &Value) -> impl Iterator<Item = (&String, &Value)> {
    v.as_object().into_iter().flatten()
}

/// An object's entries by key. serde_json keeps input order when some crate
/// in the build turns on its `preserve_order` feature, so sorting here keeps
/// the output independent of how the manifest was written.
fn sorted(v: &Value) -> BTreeMap<&str, &Value> {
    entries(v).map(|(k, v)| (k.as_str(), v)).collect()
}

/// A non-empty one-line string.
fn text(v: &Value) -> Option<String> {
    v.as_str().map(line).filter(|s| !s.is_empty())
}

/// One string or a list of strings, each made one line; empty ones dropped.
fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Array(list) => list.iter().filter_map(text).collect(),
        other => text(other).into_iter().collect(),
    }
}

/// Text for a name, owner, tag or type: control characters, line breaks
/// included, become spaces, which asset validation would refuse otherwise.
fn line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

/// Text for a description: line breaks and tabs stay, carriage returns
/// (YAML written on Windows) go, other control characters become spaces,
/// and overlong text is cut at a character boundary.
fn describe(v: &Value) -> String {
    let Some(s) = v.as_str() else {
        return String::new();
    };
    let mut out: String = s
        .chars()
        .filter(|&c| c != '\r')
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                ' '
            } else {
                c
            }
        })
        .collect();
    if out.len() > MAX_DESCRIPTION {
        let mut cut = MAX_DESCRIPTION;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    out.trim().to_string()
}

fn plural(n: usize, label: &str) -> String {
    match (n, label) {
        (1, _) => format!("1 {label}"),
        (_, "analysis") => format!("{n} analyses"),
        (_, "saved query") => format!("{n} saved queries"),
        _ => format!("{n} {label}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/dbt/");

    fn load(name: &str) -> Value {
        let path = format!("{DATA}{name}.manifest.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap()
    }

    fn parse(name: &str) -> DbtImport {
        parse_manifest(&load(name), None, None).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn asset<'a>(import: &'a DbtImport, kind: AssetKind, name: &str) -> &'a Asset {
        let id = asset_id(kind, &import.namespace, name);
        import
            .assets
            .iter()
            .find(|a| a.id == id)
            .unwrap_or_else(|| panic!("no {id} among {:#?}", ids(import)))
    }

    fn ids(import: &DbtImport) -> Vec<&str> {
        import.assets.iter().map(|a| a.id.as_str()).collect()
    }

    fn count(import: &DbtImport, kind: AssetKind) -> usize {
        import.assets.iter().filter(|a| a.kind == kind).count()
    }

    fn has_edge(import: &DbtImport, from: &str, kind: EdgeKind, to: &str) -> bool {
        import
            .edges
            .iter()
            .any(|e| e.from == from && e.kind == kind && e.to == to)
    }

    /// Every asset is valid, every edge joins two assets of the import and
    /// fits them, and both lists are sorted without duplicates.
    fn assert_consistent(import: &DbtImport) {
        let by_id: BTreeMap<&str, &Asset> =
            import.assets.iter().map(|a| (a.id.as_str(), a)).collect();
        assert_eq!(by_id.len(), import.assets.len(), "duplicate asset ids");
        assert!(import.assets.windows(2).all(|w| w[0].id < w[1].id));
        assert!(import.edges.windows(2).all(|w| w[0].id < w[1].id));
        for a in &import.assets {
            a.validate().unwrap();
            assert_eq!(a.namespace, import.namespace);
            assert_eq!((a.version, a.created_at.as_deref()), (0, None));
        }
        for e in &import.edges {
            assert_eq!(e.id, edge_id(&e.from, e.kind, &e.to));
            let (from, to) = (by_id[e.from.as_str()], by_id[e.to.as_str()]);
            e.check_ends(from, to)
                .unwrap_or_else(|err| panic!("{} -{}-> {}: {err}", e.from, e.kind, e.to));
        }
    }

    /// (file, datasets, workflows, edges) counted by hand with python from
    /// the v7 to v12 files: models, seeds and snapshots plus sources; one
    /// run per built node; one write per run plus one read per dependency
    /// present in the manifest.
    const SUPPORTED: [(&str, usize, usize, usize); 5] = [
        ("compiled_code", 2, 2, 3),
        ("postgres", 8, 8, 16),
        ("singular_test", 0, 0, 0),
        ("no_test_metadata", 8, 8, 16),
        ("duckdb", 5, 5, 5),
    ];

    const REFUSED: [(&str, u32); 12] = [
        ("alias", 2),
        ("catalog", 2),
        ("env_vars", 2),
        ("fail", 2),
        ("large", 2),
        ("profiles", 2),
        ("small", 2),
        ("test", 2),
        ("build", 3),
        ("snapshot", 4),
        ("spark-odbc", 4),
        ("spark-thrift", 4),
    ];

    #[test]
    fn every_supported_manifest_parses_with_the_counted_assets_and_edges() {
        for (name, datasets, workflows, edges) in SUPPORTED {
            let import = parse(name);
            assert_consistent(&import);
            assert_eq!(count(&import, AssetKind::Dataset), datasets, "{name}");
            assert_eq!(count(&import, AssetKind::Workflow), workflows, "{name}");
            assert_eq!(import.assets.len(), datasets + workflows, "{name}");
            assert_eq!(import.edges.len(), edges, "{name}");
        }
        let versions: Vec<u32> = SUPPORTED
            .iter()
            .map(|(n, ..)| parse(n).schema_version)
            .collect();
        assert_eq!(versions, [7, 7, 11, 12, 12]);
    }

    #[test]
    fn the_data_folder_holds_only_files_these_tests_know() {
        let mut known: BTreeSet<String> = SUPPORTED.iter().map(|(n, ..)| n.to_string()).collect();
        known.extend(REFUSED.iter().map(|(n, _)| n.to_string()));
        let found: BTreeSet<String> = std::fs::read_dir(DATA)
            .unwrap()
            .filter_map(|e| {
                let name = e.unwrap().file_name().into_string().unwrap();
                name.strip_suffix(".manifest.json").map(str::to_string)
            })
            .collect();
        assert_eq!(found, known);
    }

    #[test]
    fn manifests_before_v7_are_refused_naming_their_version() {
        for (name, version) in REFUSED {
            let err = parse_manifest(&load(name), None, None).unwrap_err();
            assert_eq!(err.field, "metadata.dbt_schema_version", "{name}");
            assert_eq!(
                err.message,
                format!("dbt manifest schema v{version} is not supported; mlgraph reads v7 to v12 (dbt 1.3 and later)"),
                "{name}"
            );
        }
        let mut newer = load("duckdb");
        newer["metadata"]["dbt_schema_version"] =
            json!("https://schemas.getdbt.com/dbt/manifest/v13.json");
        let err = parse_manifest(&newer, None, None).unwrap_err();
        assert!(
            err.message
                .starts_with("dbt manifest schema v13 is not supported"),
            "{}",
            err.message
        );
    }

    #[test]
    fn a_manifest_without_a_schema_version_is_refused() {
        let mut unversioned = load("postgres");
        unversioned["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("dbt_schema_version");
        for manifest in [
            unversioned,
            json!({"nodes": {}}),
            json!({"metadata": {"dbt_schema_version": 7}}),
        ] {
            let err = parse_manifest(&manifest, None, None).unwrap_err();
            assert_eq!(err.field, "metadata.dbt_schema_version");
            assert!(err.message.starts_with("is missing"), "{}", err.message);
        }
        let run_results = json!({"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v5.json"}});
        let err = parse_manifest(&run_results, None, None).unwrap_err();
        assert_eq!(err.field, "metadata.dbt_schema_version");
        assert!(
            err.message.contains("no dbt manifest schema"),
            "{}",
            err.message
        );
        assert_eq!(
            parse_manifest(&json!([]), None, None).unwrap_err().field,
            "manifest"
        );
    }

    #[test]
    fn runs_read_their_inputs_and_write_their_table() {
        let import = parse("postgres");
        // v7 has no project_name, so the package of the first model names
        // the project; the adapter names the namespace.
        assert_eq!(import.project, "jaffle_shop");
        assert_eq!(import.namespace, "dbt://postgres");
        let customers = asset(&import, AssetKind::Dataset, "postgres.public.customers");
        assert_eq!(customers.tags, ["dbt-model"]);
        assert_eq!(
            customers.properties["dbt.unique_id"],
            "model.jaffle_shop.customers"
        );
        assert_eq!(customers.properties["dbt.resource_type"], "model");
        assert_eq!(customers.properties["dbt.materialized"], "table");
        assert_eq!(customers.properties["dbt.package"], "jaffle_shop");
        assert_eq!(customers.properties["dbt.path"], "models/customers.sql");
        assert_eq!(customers.schema.len(), 9);
        let id = customers.column("customer_id").unwrap();
        assert_eq!((id.data_type.as_str(), id.nullable), ("unknown", true));
        assert_eq!(id.description, "This is a unique identifier for a customer");
        let stg = asset(&import, AssetKind::Dataset, "postgres.public.stg_customers");
        assert_eq!(stg.tags, ["dbt-model", "postgres", "test"]);
        assert_eq!(stg.properties["dbt.materialized"], "view");
        let seed = asset(&import, AssetKind::Dataset, "postgres.public.raw_customers");
        assert_eq!(seed.tags, ["dbt-seed"]);

        let run = asset(
            &import,
            AssetKind::Workflow,
            "dbt run model.jaffle_shop.customers",
        );
        assert_eq!(run.tags, ["dbt"]);
        assert!(has_edge(&import, &run.id, EdgeKind::Writes, &customers.id));
        for input in ["stg_customers", "stg_orders", "stg_payments"] {
            let input = asset(
                &import,
                AssetKind::Dataset,
                &format!("postgres.public.{input}"),
            );
            assert!(
                has_edge(&import, &input.id, EdgeKind::Reads, &run.id),
                "{}",
                input.id
            );
        }
        let reads = import.edges.iter().filter(|e| e.to == run.id).count();
        assert_eq!(reads, 3);
        // Seeds are loaded by a run too, but read nothing.
        let load = asset(
            &import,
            AssetKind::Workflow,
            "dbt run seed.jaffle_shop.raw_customers",
        );
        assert_eq!(load.properties["dbt.command"], "seed");
        assert!(!import.edges.iter().any(|e| e.to == load.id));
        assert!(import.warnings.is_empty(), "{:?}", import.warnings);
    }

    #[test]
    fn tests_are_kept_on_the_dataset_they_test() {
        let import = parse("postgres");
        let orders = asset(&import, AssetKind::Dataset, "postgres.public.orders");
        let tests = orders.properties["dbt.tests"].as_array().unwrap();
        assert_eq!(tests.len(), 10);
        assert!(tests.contains(&json!({
            "name": "not_null_orders_amount",
            "test": "not_null",
            "column": "amount",
            "severity": "ERROR",
        })));
        let names: Vec<&str> = tests.iter().map(|t| t["name"].as_str().unwrap()).collect();
        let mut sorted_names = names.clone();
        sorted_names.sort();
        assert_eq!(names, sorted_names);
        // Without attached_node (before v10) a relationships test sits on
        // both tables it depends on.
        let customers = asset(&import, AssetKind::Dataset, "postgres.public.customers");
        let on_customers: Vec<&str> = customers.properties["dbt.tests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            on_customers,
            [
                "not_null_customers_customer_id",
                "relationships_orders_customer_id__customer_id__ref_customers_",
                "unique_customers_customer_id"
            ]
        );
        let seed = asset(&import, AssetKind::Dataset, "postgres.public.raw_orders");
        assert!(!seed.properties.contains_key("dbt.tests"));
        // Tests never become assets.
        assert!(!import.assets.iter().any(|a| a.name.contains("not_null")));

        // v12 names the tested node in attached_node.
        let duck = parse("duckdb");
        let customers = asset(&duck, AssetKind::Dataset, "jaffle_shop.main.customers");
        assert_eq!(
            customers.properties["dbt.tests"],
            json!([
                {"name": "not_null_customers_customer_id", "test": "not_null", "column": "customer_id", "severity": "ERROR"},
                {"name": "unique_customers_customer_id", "test": "unique", "column": "customer_id", "severity": "ERROR"},
            ])
        );
    }

    #[test]
    fn attached_node_wins_over_depends_on() {
        let mut manifest = load("duckdb");
        let test =
            &mut manifest["nodes"]["test.jaffle_shop.not_null_orders_customer_id.c5f02694af"];
        test["depends_on"]["nodes"] =
            json!(["model.jaffle_shop.orders", "model.jaffle_shop.customers"]);
        let import = parse_manifest(&manifest, None, None).unwrap();
        let on = |name: &str| {
            asset(&import, AssetKind::Dataset, name).properties["dbt.tests"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["name"] == "not_null_orders_customer_id")
        };
        assert!(on("jaffle_shop.main.orders"));
        assert!(!on("jaffle_shop.main.customers"));
    }

    #[test]
    fn singular_tests_on_nothing_are_reported() {
        let import = parse("singular_test");
        assert_eq!(import.schema_version, 11);
        assert_eq!(import.project, "dbt");
        assert_eq!(import.namespace, "dbt://postgres");
        assert!(import.assets.is_empty());
        assert_eq!(
            import.warnings,
            [
                "test.my_project.assert_positive_amounts tests no model, seed, snapshot or source of this manifest, so it is kept nowhere.",
                "test.my_project.assert_row_count_within_range tests no model, seed, snapshot or source of this manifest, so it is kept nowhere.",
            ]
        );
    }

    #[test]
    fn a_singular_test_on_a_model_is_kept_as_singular() {
        let mut manifest = load("duckdb");
        manifest["nodes"]["test.jaffle_shop.assert_orders_positive"] = json!({
            "name": "assert_orders_positive",
            "resource_type": "test",
            "depends_on": {"nodes": ["model.jaffle_shop.orders"]},
            "config": {"severity": "warn"},
        });
        let import = parse_manifest(&manifest, None, None).unwrap();
        let orders = asset(&import, AssetKind::Dataset, "jaffle_shop.main.orders");
        assert_eq!(
            orders.properties["dbt.tests"][0],
            json!({"name": "assert_orders_positive", "test": "singular", "column": null, "severity": "warn"})
        );
    }

    #[test]
    fn missing_inputs_warn_and_macros_do_not() {
        let import = parse("duckdb");
        assert_eq!(import.project, "jaffle_shop");
        assert_eq!(import.namespace, "dbt://duckdb");
        // customers reads three staging models and orders two, none of
        // which this manifest holds.
        assert_eq!(import.warnings.len(), 5, "{:#?}", import.warnings);
        assert!(import.warnings.contains(
            &"model.jaffle_shop.customers depends on model.jaffle_shop.stg_payments, which is not in the manifest; that input is left out.".to_string()
        ));
        assert!(!import.warnings.iter().any(|w| w.contains("macro.")));
    }

    #[test]
    fn owners_come_from_meta_or_config_meta() {
        let import = parse("duckdb");
        let customers = asset(&import, AssetKind::Dataset, "jaffle_shop.main.customers");
        assert_eq!(customers.owners, ["data-team"]);
        let run = asset(
            &import,
            AssetKind::Workflow,
            "dbt run model.jaffle_shop.customers",
        );
        assert_eq!(run.owners, ["data-team"]);

        let mut manifest = load("duckdb");
        let orders = &mut manifest["nodes"]["model.jaffle_shop.orders"];
        orders["config"]["meta"]["owner"] = json!(["sales-analytics", "ann@example.com", ""]);
        orders["meta"]["owner"] = json!("ann@example.com");
        let import = parse_manifest(&manifest, None, None).unwrap();
        let orders = asset(&import, AssetKind::Dataset, "jaffle_shop.main.orders");
        assert_eq!(orders.owners, ["ann@example.com", "sales-analytics"]);
    }

    /// The duckdb manifest with a source, a snapshot, an ephemeral model, a
    /// metric and two exposures added.
    fn extended() -> Value {
        let mut m = load("duckdb");
        m["sources"]["source.jaffle_shop.shop.raw_refunds"] = json!({
            "resource_type": "source",
            "name": "raw_refunds",
            "identifier": "refunds_2024",
            "database": "jaffle_shop",
            "schema": "raw",
            "source_description": "Raw exports of the shop.",
            "description": "",
            "meta": {},
            "source_meta": {"owner": "shop-team"},
            "tags": ["raw"],
            "package_name": "jaffle_shop",
            "original_file_path": "models/sources.yml",
            "config": {"enabled": true},
            "columns": {"refund_id": {"name": "refund_id", "description": "", "data_type": "integer"}},
        });
        m["nodes"]["model.jaffle_shop.refunds_clean"] = json!({
            "resource_type": "model",
            "name": "refunds_clean",
            "alias": "refunds_clean",
            "database": "jaffle_shop",
            "schema": "main",
            "config": {"materialized": "ephemeral"},
            "depends_on": {"nodes": ["source.jaffle_shop.shop.raw_refunds"]},
        });
        m["nodes"]["snapshot.jaffle_shop.orders_snapshot"] = json!({
            "resource_type": "snapshot",
            "name": "orders_snapshot",
            "alias": "orders_history",
            "database": "jaffle_shop",
            "schema": "snapshots",
            "config": {"materialized": "snapshot", "tags": ["history"]},
            "tags": ["history"],
            "depends_on": {"nodes": ["model.jaffle_shop.orders", "model.jaffle_shop.refunds_clean"]},
        });
        m["metrics"]["metric.jaffle_shop.revenue"] = json!({
            "name": "revenue",
            "depends_on": {"nodes": ["semantic_model.jaffle_shop.orders"]},
        });
        m["semantic_models"]["semantic_model.jaffle_shop.orders"] = json!({
            "name": "orders",
            "depends_on": {"nodes": ["model.jaffle_shop.orders"]},
        });
        m["exposures"]["exposure.jaffle_shop.weekly_kpis"] = json!({
            "name": "weekly_kpis",
            "type": "dashboard",
            "url": "https://bi.example.com/d/42",
            "description": "Weekly KPIs.\r\nFor the board.",
            "owner": {"name": null, "email": "bi@example.com"},
            "tags": ["board"],
            "depends_on": {"nodes": ["model.jaffle_shop.customers", "metric.jaffle_shop.revenue", "model.jaffle_shop.gone"], "macros": []},
        });
        m["exposures"]["exposure.jaffle_shop.churn_app"] = json!({
            "name": "churn_app",
            "type": "application",
            "owner": {"name": "Growth", "email": "growth@example.com"},
            "depends_on": {"nodes": ["model.jaffle_shop.customers"]},
        });
        m
    }

    #[test]
    fn exposures_become_applications_that_read_tables() {
        let import = parse_manifest(&extended(), None, None).unwrap();
        assert_consistent(&import);
        let kpis = asset(&import, AssetKind::Application, "weekly_kpis");
        assert_eq!(kpis.owners, ["bi@example.com"]);
        assert_eq!(kpis.tags, ["board", "dbt-exposure"]);
        assert_eq!(kpis.description, "Weekly KPIs.\nFor the board.");
        assert_eq!(
            kpis.properties["dbt.unique_id"],
            "exposure.jaffle_shop.weekly_kpis"
        );
        assert_eq!(kpis.properties["dbt.exposure_type"], "dashboard");
        assert_eq!(kpis.properties["dbt.url"], "https://bi.example.com/d/42");
        let customers = asset(&import, AssetKind::Dataset, "jaffle_shop.main.customers");
        let orders = asset(&import, AssetKind::Dataset, "jaffle_shop.main.orders");
        // The metric stands for the orders table behind its semantic model.
        let read: Vec<&str> = import
            .edges
            .iter()
            .filter(|e| e.to == kpis.id)
            .inspect(|e| assert_eq!(e.kind, EdgeKind::Reads))
            .map(|e| e.from.as_str())
            .collect();
        assert_eq!(read, {
            let mut v = vec![customers.id.as_str(), orders.id.as_str()];
            v.sort_by_key(|id| edge_id(id, EdgeKind::Reads, &kpis.id));
            v
        });
        assert!(import.warnings.contains(
            &"exposure.jaffle_shop.weekly_kpis depends on model.jaffle_shop.gone, which is not in the manifest; that input is left out.".to_string()
        ));
        let app = asset(&import, AssetKind::Application, "churn_app");
        assert_eq!(app.owners, ["Growth"]);
        assert!(!app.properties.contains_key("dbt.url"));
        assert!(has_edge(&import, &customers.id, EdgeKind::Reads, &app.id));
    }

    #[test]
    fn sources_snapshots_and_ephemeral_models() {
        let import = parse_manifest(&extended(), None, None).unwrap();
        let source = asset(&import, AssetKind::Dataset, "jaffle_shop.raw.refunds_2024");
        assert_eq!(source.description, "Raw exports of the shop.");
        assert_eq!(source.owners, ["shop-team"]);
        assert_eq!(source.tags, ["dbt-source", "raw"]);
        assert_eq!(source.properties["dbt.resource_type"], "source");
        assert!(!source.properties.contains_key("dbt.materialized"));
        assert_eq!(source.schema, [Field::new("refund_id", "integer", true)]);
        // Sources are loaded outside dbt, so no run writes them.
        assert!(!import.edges.iter().any(|e| e.to == source.id));

        let snapshot = asset(
            &import,
            AssetKind::Dataset,
            "jaffle_shop.snapshots.orders_history",
        );
        assert_eq!(snapshot.tags, ["dbt-snapshot", "history"]);
        let run = asset(
            &import,
            AssetKind::Workflow,
            "dbt run snapshot.jaffle_shop.orders_snapshot",
        );
        assert_eq!(run.properties["dbt.command"], "snapshot");
        assert!(has_edge(&import, &run.id, EdgeKind::Writes, &snapshot.id));
        // The ephemeral model is inlined, so the snapshot reads its source.
        assert!(has_edge(&import, &source.id, EdgeKind::Reads, &run.id));
        let orders = asset(&import, AssetKind::Dataset, "jaffle_shop.main.orders");
        assert!(has_edge(&import, &orders.id, EdgeKind::Reads, &run.id));
        assert!(!import
            .assets
            .iter()
            .any(|a| a.name.contains("refunds_clean")));
        assert!(import.warnings.contains(
            &"Not catalogued, as they are no tables: 1 ephemeral model, 1 metric, 1 semantic model.".to_string()
        ));
    }

    #[test]
    fn disabled_nodes_are_ignored() {
        let mut manifest = load("duckdb");
        manifest["disabled"] =
            json!({"model.jaffle_shop.stg_orders": [{"resource_type": "model"}]});
        manifest["nodes"]["model.jaffle_shop.orders"]["config"]["enabled"] = json!(false);
        let import = parse_manifest(&manifest, None, None).unwrap();
        assert!(!import.assets.iter().any(|a| a.name.ends_with(".orders")));
        assert_eq!(count(&import, AssetKind::Dataset), 4);
        // customers still misses stg_customers and stg_payments, but the
        // disabled stg_orders is no loss.
        let missing: Vec<&String> = import
            .warnings
            .iter()
            .filter(|w| w.contains("not in the manifest"))
            .collect();
        assert_eq!(missing.len(), 2, "{missing:?}");
        assert!(!missing.iter().any(|w| w.contains("stg_orders")));
        // The tests of the disabled model are attached nowhere and said so.
        assert!(import
            .warnings
            .iter()
            .any(|w| w.starts_with("test.jaffle_shop.unique_orders_order_id")));
    }

    #[test]
    fn a_catalog_overrides_types_and_order_and_adds_columns() {
        let catalog = json!({
            "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/catalog/v1.json"},
            "nodes": {
                "model.jaffle_shop.customers": {
                    "metadata": {"type": "BASE TABLE", "name": "customers"},
                    "columns": {
                        "NUMBER_OF_ORDERS": {"type": "BIGINT", "index": 2, "name": "NUMBER_OF_ORDERS", "comment": null},
                        "customer_id": {"type": "INTEGER", "index": 1, "name": "customer_id", "comment": null},
                        "loyalty_tier": {"type": "VARCHAR", "index": 3, "name": "loyalty_tier", "comment": "Tier from the loyalty system."},
                    },
                },
            },
            "sources": {},
        });
        let import = parse_manifest(&load("duckdb"), Some(&catalog), None).unwrap();
        let customers = asset(&import, AssetKind::Dataset, "jaffle_shop.main.customers");
        let names: Vec<&str> = customers.schema.iter().map(|f| f.name.as_str()).collect();
        // Catalog columns first in warehouse order, then the documented
        // columns the catalog lacks.
        assert_eq!(
            &names[..3],
            ["customer_id", "NUMBER_OF_ORDERS", "loyalty_tier"]
        );
        assert_eq!(customers.schema.len(), 3 + 5);
        assert!(!names.contains(&"number_of_orders"));
        let id = &customers.schema[0];
        assert_eq!(id.data_type, "INTEGER");
        assert_eq!(id.description, "This is a unique identifier for a customer");
        assert_eq!(customers.schema[1].data_type, "BIGINT");
        assert_eq!(
            customers.schema[1].description,
            "Count of the number of orders a customer has placed"
        );
        assert_eq!(
            customers.schema[2].description,
            "Tier from the loyalty system."
        );
        assert_eq!(customers.column("first_name").unwrap().data_type, "unknown");
        // Nodes the catalog does not cover keep the manifest's columns.
        let orders = asset(&import, AssetKind::Dataset, "jaffle_shop.main.orders");
        assert!(orders.schema.iter().all(|f| f.data_type == "unknown"));

        let manifest_as_catalog = load("duckdb");
        let err = parse_manifest(&load("duckdb"), Some(&manifest_as_catalog), None).unwrap_err();
        assert_eq!(err.field, "catalog");
    }

    #[test]
    fn a_catalog_type_wins_over_a_declared_data_type() {
        let mut manifest = load("duckdb");
        manifest["nodes"]["model.jaffle_shop.orders"]["columns"]["amount"]["data_type"] =
            json!("numeric");
        manifest["nodes"]["model.jaffle_shop.orders"]["columns"]["status"]["data_type"] =
            json!("text");
        let catalog = json!({"nodes": {"model.jaffle_shop.orders": {"columns": {
            "amount": {"type": "DECIMAL(18,3)", "index": 1, "name": "amount", "comment": null},
        }}}});
        let import = parse_manifest(&manifest, Some(&catalog), None).unwrap();
        let orders = asset(&import, AssetKind::Dataset, "jaffle_shop.main.orders");
        assert_eq!(orders.column("amount").unwrap().data_type, "DECIMAL(18,3)");
        assert_eq!(orders.column("status").unwrap().data_type, "text");
        assert_eq!(orders.schema[0].name, "amount");
    }

    #[test]
    fn every_edge_fits_its_end_assets() {
        for (name, ..) in SUPPORTED {
            assert_consistent(&parse(name));
        }
        assert_consistent(&parse_manifest(&extended(), None, None).unwrap());
    }

    #[test]
    fn parsing_again_gives_the_same_import() {
        let manifest = extended();
        let first = parse_manifest(&manifest, None, None).unwrap();
        assert_eq!(first, parse_manifest(&manifest, None, None).unwrap());
        // A round trip through text, which may reorder keys, changes nothing.
        let again: Value = serde_json::from_str(&manifest.to_string()).unwrap();
        assert_eq!(first, parse_manifest(&again, None, None).unwrap());
    }

    #[test]
    fn the_namespace_can_be_given_or_falls_back_to_the_project() {
        let import = parse_manifest(&load("duckdb"), None, Some("warehouse://prod")).unwrap();
        assert_eq!(import.namespace, "warehouse://prod");
        assert!(import
            .assets
            .iter()
            .all(|a| a.namespace == "warehouse://prod"));
        assert!(import.assets[0].id.contains("warehouse%3A//prod"));

        let mut manifest = load("duckdb");
        manifest["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("adapter_type");
        let import = parse_manifest(&manifest, None, None).unwrap();
        assert_eq!(import.namespace, "dbt://jaffle_shop");

        let err = parse_manifest(&load("duckdb"), None, Some("  ")).unwrap_err();
        assert_eq!(err.field, "namespace");
    }

    #[test]
    fn two_nodes_on_one_relation_are_one_dataset() {
        let mut manifest = load("duckdb");
        manifest["sources"]["source.jaffle_shop.main.orders"] = json!({
            "resource_type": "source",
            "name": "orders",
            "database": "jaffle_shop",
            "schema": "main",
            "description": "Declared again as a source.",
        });
        let import = parse_manifest(&manifest, None, None).unwrap();
        assert_consistent(&import);
        assert_eq!(count(&import, AssetKind::Dataset), 5);
        let orders = asset(&import, AssetKind::Dataset, "jaffle_shop.main.orders");
        assert_eq!(
            orders.properties["dbt.unique_id"],
            "model.jaffle_shop.orders"
        );
        assert!(import.warnings.iter().any(|w| w.starts_with(
            "source.jaffle_shop.main.orders is the same dataset as model.jaffle_shop.orders"
        )));
    }
}

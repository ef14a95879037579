//! How each kind of dbt node reads as an asset: its name, text, owners,
//! tags and columns, and the small readers of manifest values they share.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::naming::DbtCommand;
use crate::asset::{asset_id, Asset, AssetKind, Field};

/// Asset validation refuses longer descriptions; one overlong docs block
/// should shorten its description, not fail the whole import.
const MAX_DESCRIPTION: usize = 64 * 1024;

/// A model, seed, snapshot or source as the table it is.
///
/// A source is named by its `name` rather than its `identifier`, as
/// openlineage-dbt names it; where the two differ, the warehouse relation
/// is kept as the property `dbt.relation`.
pub(super) fn dataset(
    namespace: &str,
    uid: &str,
    node: &Value,
    rt: &str,
    catalog: Option<&Value>,
) -> Asset {
    let name = relation(node, if rt == "source" { "name" } else { "alias" })
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
    if rt == "source" {
        if let Some(real) = relation(node, "identifier").filter(|r| *r != name) {
            properties.insert("dbt.relation".to_string(), json!(real));
        }
    }
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

/// The dbt step that builds a model, seed or snapshot, named as dbt-ol
/// names its job. Its owners are the node's, as whoever owns a table
/// answers for the job that fills it.
pub(super) fn workflow(
    namespace: &str,
    uid: &str,
    node: &Value,
    rt: &str,
    command: DbtCommand,
) -> Asset {
    let name = super::naming::job_name(node, uid, rt, command);
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
pub(super) fn application(namespace: &str, uid: &str, exposure: &Value) -> Asset {
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
pub(super) fn check(test: &Value) -> Value {
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
pub(super) fn columns(declared: &Value, catalog: Option<&Value>) -> Vec<Field> {
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

pub(super) fn field(name: String, data_type: Option<String>, description: String) -> Field {
    Field {
        name,
        data_type: data_type.unwrap_or_else(|| "unknown".to_string()),
        nullable: true,
        description,
    }
}

/// The catalog's columns for a node or source.
pub(super) fn catalog_entry<'a>(catalog: &'a Value, uid: &str) -> Option<&'a Value> {
    ["nodes", "sources"]
        .into_iter()
        .map(|section| &catalog[section][uid]["columns"])
        .find(|c| c.is_object())
}

/// `database.schema.identifier`, leaving out the parts the node lacks.
pub(super) fn relation(node: &Value, identifier: &str) -> Option<String> {
    let table = text(&node[identifier]).or_else(|| text(&node["name"]));
    let parts: Vec<String> = [text(&node["database"]), text(&node["schema"]), table]
        .into_iter()
        .flatten()
        .collect();
    (!parts.is_empty()).then(|| parts.join("."))
}

/// Owners from `meta.owner` and `config.meta.owner`; dbt projects set
/// either, as one name or a list.
pub(super) fn owners(node: &Value) -> Vec<String> {
    let mut set = BTreeSet::new();
    set.extend(strings(&node["meta"]["owner"]));
    set.extend(strings(&node["config"]["meta"]["owner"]));
    set.into_iter().collect()
}

/// The node's tags and its config's tags (dbt keeps both), with `marker`.
pub(super) fn tags(node: &Value, marker: &str) -> Vec<String> {
    let mut set = BTreeSet::from([marker.to_string()]);
    set.extend(strings(&node["tags"]));
    set.extend(strings(&node["config"]["tags"]));
    set.into_iter().collect()
}

pub(super) fn enabled(node: &Value) -> bool {
    node["config"]["enabled"].as_bool() != Some(false)
}

pub(super) fn depends_on(node: &Value) -> impl Iterator<Item = &str> {
    node["depends_on"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

pub(super) fn entries(v: &Value) -> impl Iterator<Item = (&String, &Value)> {
    v.as_object().into_iter().flatten()
}

/// An object's entries by key. serde_json keeps input order when some crate
/// in the build turns on its `preserve_order` feature, so sorting here keeps
/// the output independent of how the manifest was written.
pub(super) fn sorted(v: &Value) -> BTreeMap<&str, &Value> {
    entries(v).map(|(k, v)| (k.as_str(), v)).collect()
}

/// A non-empty one-line string.
pub(super) fn text(v: &Value) -> Option<String> {
    v.as_str().map(line).filter(|s| !s.is_empty())
}

/// One string or a list of strings, each made one line; empty ones dropped.
pub(super) fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Array(list) => list.iter().filter_map(text).collect(),
        other => text(other).into_iter().collect(),
    }
}

/// Text for a name, owner, tag or type: control characters, line breaks
/// included, become spaces, which asset validation would refuse otherwise.
pub(super) fn line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

/// Text for a description: line breaks and tabs stay, carriage returns
/// (YAML written on Windows) go, other control characters become spaces,
/// and overlong text is cut at a character boundary.
pub(super) fn describe(v: &Value) -> String {
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

pub(super) fn plural(n: usize, label: &str) -> String {
    match (n, label) {
        (1, _) => format!("1 {label}"),
        (_, "analysis") => format!("{n} analyses"),
        (_, "saved query") => format!("{n} saved queries"),
        _ => format!("{n} {label}s"),
    }
}

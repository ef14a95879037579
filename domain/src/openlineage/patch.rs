//! What one event says about one asset, read from its facets.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::asset::{asset_id, Asset, AssetKind, Field};

use super::DatasetRef;

/// What one event says about one asset. Fields left `None` say nothing, so
/// that, for example, an event without a schema facet does not wipe a
/// schema an earlier event supplied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssetPatch {
    pub id: String,
    pub kind: AssetKind,
    pub namespace: String,
    pub name: String,
    /// From the documentation facet.
    pub description: Option<String>,
    /// From the ownership facet's `owners[].name`.
    pub owners: Option<Vec<String>>,
    /// From the schema facet; nested fields are flattened as
    /// `parent.child`.
    pub schema: Option<Vec<Field>>,
    /// From the datasetVersion facet (keyed `version`).
    pub dataset_version: Option<String>,
    /// Every facet verbatim: dataset or job facets under their own names,
    /// input and output facets under `input:` and `output:` prefixed names.
    pub facets: Map<String, Value>,
}

impl AssetPatch {
    pub(super) fn bare(kind: AssetKind, namespace: &str, name: &str) -> Self {
        Self {
            id: asset_id(kind, namespace, name),
            kind,
            namespace: namespace.to_string(),
            name: name.to_string(),
            description: None,
            owners: None,
            schema: None,
            dataset_version: None,
            facets: Map::new(),
        }
    }

    /// Folds a later statement about the same asset into this one: what the
    /// later one sets wins, facets are merged.
    pub(super) fn absorb(&mut self, later: AssetPatch) {
        if later.description.is_some() {
            self.description = later.description;
        }
        if later.owners.is_some() {
            self.owners = later.owners;
        }
        if later.schema.is_some() {
            self.schema = later.schema;
        }
        if later.dataset_version.is_some() {
            self.dataset_version = later.dataset_version;
        }
        self.facets.extend(later.facets);
    }

    /// The asset after this patch. Without `existing` it is a new asset
    /// (empty description, owners and schema where the patch says nothing);
    /// otherwise it is `existing` with only the fields the patch sets
    /// replaced, keeping the existing identity. Facets go under
    /// `properties["openlineage"]`, an object keyed by facet name and merged
    /// facet by facet; a facet flagged `"_deleted": true` removes the stored
    /// one instead. The dataset version goes under
    /// `properties["datasetVersion"]`. The catalog's version and timestamps
    /// are never touched.
    pub fn apply(&self, existing: Option<&Asset>) -> Asset {
        let mut a = match existing {
            Some(a) => a.clone(),
            None => Asset {
                id: self.id.clone(),
                kind: self.kind,
                namespace: self.namespace.clone(),
                name: self.name.clone(),
                description: String::new(),
                owners: Vec::new(),
                tags: Vec::new(),
                domain: None,
                schema: Vec::new(),
                properties: BTreeMap::new(),
                version: 0,
                created_at: None,
                updated_at: None,
            },
        };
        if let Some(d) = &self.description {
            a.description = d.clone();
        }
        if let Some(o) = &self.owners {
            a.owners = o.clone();
        }
        if let Some(s) = &self.schema {
            a.schema = s.clone();
        }
        if let Some(v) = &self.dataset_version {
            a.properties
                .insert("datasetVersion".to_string(), Value::String(v.clone()));
        }
        if !self.facets.is_empty() {
            let mut stored = match a.properties.remove("openlineage") {
                Some(Value::Object(m)) => m,
                _ => Map::new(),
            };
            for (name, facet) in &self.facets {
                if is_deleted(facet) {
                    stored.remove(name);
                } else {
                    stored.insert(name.clone(), facet.clone());
                }
            }
            if !stored.is_empty() {
                a.properties
                    .insert("openlineage".to_string(), Value::Object(stored));
            }
        }
        a
    }
}

fn is_deleted(facet: &Value) -> bool {
    facet.get("_deleted").and_then(Value::as_bool) == Some(true)
}

/// A facet the catalog may read: present, an object and not deleted.
pub(super) fn live_facet<'a>(
    facets: &'a Map<String, Value>,
    name: &str,
) -> Option<&'a Map<String, Value>> {
    facets
        .get(name)
        .filter(|f| !is_deleted(f))
        .and_then(Value::as_object)
}

pub(super) fn description_of(facets: &Map<String, Value>) -> Option<String> {
    live_facet(facets, "documentation")?
        .get("description")?
        .as_str()
        .map(str::to_string)
}

/// Owner names, without blanks and duplicates, which the catalog rejects.
/// An ownership facet whose owners all lack a name (the fluentd proxy's
/// `event_invalid_*_facet` fixtures) says nothing rather than "no owners".
pub(super) fn owners_of(facets: &Map<String, Value>) -> Option<Vec<String>> {
    let owners = live_facet(facets, "ownership")?.get("owners")?.as_array()?;
    let mut seen = BTreeSet::new();
    let names: Vec<String> = owners
        .iter()
        .filter_map(|o| o.get("name")?.as_str())
        .map(str::trim)
        .filter(|n| !n.is_empty() && seen.insert(*n))
        .map(str::to_string)
        .collect();
    if names.is_empty() && !owners.is_empty() {
        return None;
    }
    Some(names)
}

/// The schema facet's columns. An empty `fields` list says nothing, since
/// integrations send one when they could not read the schema, and wiping a
/// known schema would lose what an earlier event said.
fn schema_of(facets: &Map<String, Value>) -> Option<Vec<Field>> {
    let fields = live_facet(facets, "schema")?.get("fields")?.as_array()?;
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    flatten_fields(fields, "", &mut out, &mut seen);
    (!out.is_empty()).then_some(out)
}

fn flatten_fields(
    fields: &[Value],
    prefix: &str,
    out: &mut Vec<Field>,
    seen: &mut BTreeSet<String>,
) {
    for f in fields {
        let Some(name) = f.get("name").and_then(Value::as_str) else {
            continue;
        };
        if name.trim().is_empty() {
            continue;
        }
        let full = format!("{prefix}{name}");
        if seen.insert(full.clone()) {
            // The facet's type is optional (dbt sends bare names), but the
            // catalog requires one, so an unknown type is said plainly.
            let data_type = match f.get("type").and_then(Value::as_str) {
                Some(t) if !t.trim().is_empty() => t.to_string(),
                _ => "unknown".to_string(),
            };
            out.push(Field {
                name: full.clone(),
                data_type,
                nullable: true,
                description: f
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            });
        }
        if let Some(children) = f.get("fields").and_then(Value::as_array) {
            flatten_fields(children, &format!("{full}."), out, seen);
        }
    }
}

fn version_of(facets: &Map<String, Value>) -> Option<String> {
    match live_facet(facets, "version")?.get("datasetVersion")? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub(super) fn dataset_patch(d: &DatasetRef, io_prefix: &str) -> AssetPatch {
    let mut patch = AssetPatch::bare(AssetKind::Dataset, &d.namespace, &d.name);
    patch.description = description_of(&d.facets);
    patch.owners = owners_of(&d.facets);
    patch.schema = schema_of(&d.facets);
    patch.dataset_version = version_of(&d.facets);
    patch.facets = d.facets.clone();
    for (k, v) in &d.io_facets {
        patch.facets.insert(format!("{io_prefix}{k}"), v.clone());
    }
    patch
}

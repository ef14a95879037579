//! Assets: the nodes of the graph. An asset's id is derived from its kind,
//! namespace and name, so the same thing ingested twice is the same node.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Result, ValidationError};

/// The seven kinds of asset in an ML estate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AssetKind {
    Dataset,
    Feature,
    Model,
    Evaluation,
    Workflow,
    Service,
    Application,
}

impl AssetKind {
    pub const ALL: [AssetKind; 7] = [
        AssetKind::Dataset,
        AssetKind::Feature,
        AssetKind::Model,
        AssetKind::Evaluation,
        AssetKind::Workflow,
        AssetKind::Service,
        AssetKind::Application,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AssetKind::Dataset => "dataset",
            AssetKind::Feature => "feature",
            AssetKind::Model => "model",
            AssetKind::Evaluation => "evaluation",
            AssetKind::Workflow => "workflow",
            AssetKind::Service => "service",
            AssetKind::Application => "application",
        }
    }

    /// Whether assets of this kind carry a column schema.
    pub fn has_schema(self) -> bool {
        matches!(
            self,
            AssetKind::Dataset | AssetKind::Feature | AssetKind::Model
        )
    }
}

impl fmt::Display for AssetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AssetKind {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self> {
        AssetKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                ValidationError::new(
                    "kind",
                    format!(
                        "unknown asset kind {s:?}; expected one of dataset, feature, model, evaluation, workflow, service, application"
                    ),
                )
            })
    }
}

/// One column of a schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    pub name: String,
    #[serde(rename = "type")]
    pub data_type: String,
    #[serde(default = "default_true")]
    pub nullable: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

fn default_true() -> bool {
    true
}

impl Field {
    pub fn new(name: &str, data_type: &str, nullable: bool) -> Self {
        Self {
            name: name.to_string(),
            data_type: data_type.to_string(),
            nullable,
            description: String::new(),
        }
    }
}

/// A catalogued asset, as stored and as sent over the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Asset {
    pub id: String,
    pub kind: AssetKind,
    pub namespace: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub owners: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(default)]
    pub schema: Vec<Field>,
    #[serde(default)]
    pub properties: BTreeMap<String, serde_json::Value>,
    /// Set by the catalog: 1 on creation, plus one on every change.
    #[serde(default)]
    pub version: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

/// One entry of an asset's version history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetVersion {
    pub version: u64,
    pub at: String,
    pub by: String,
    pub changes: Vec<String>,
}

/// The id of an asset: `kind:namespace:name`. Colons and percent signs in
/// the namespace are percent-encoded so that namespaces such as
/// `postgres://host:5432` keep the id unambiguous; the name is the rest.
pub fn asset_id(kind: AssetKind, namespace: &str, name: &str) -> String {
    let mut ns = String::with_capacity(namespace.len());
    for c in namespace.chars() {
        match c {
            '%' => ns.push_str("%25"),
            ':' => ns.push_str("%3A"),
            c => ns.push(c),
        }
    }
    format!("{}:{ns}:{name}", kind.as_str())
}

/// Splits an asset id into kind, namespace and name; the inverse of
/// [`asset_id`].
pub fn parse_asset_id(id: &str) -> Result<(AssetKind, String, String)> {
    let bad = || {
        ValidationError::new(
            "id",
            format!("malformed asset id {id:?}; expected KIND:NAMESPACE:NAME"),
        )
    };
    let (kind, rest) = id.split_once(':').ok_or_else(bad)?;
    let kind = kind
        .parse::<AssetKind>()
        .map_err(|e| ValidationError::new("id", e.message))?;
    let (ns, name) = rest.split_once(':').ok_or_else(bad)?;
    if ns.is_empty() || name.is_empty() {
        return Err(bad());
    }
    Ok((
        kind,
        decode_namespace(ns).ok_or_else(bad)?,
        name.to_string(),
    ))
}

fn decode_namespace(ns: &str) -> Option<String> {
    let mut out = String::with_capacity(ns.len());
    let mut rest = ns;
    while let Some(pos) = rest.find('%') {
        out.push_str(&rest[..pos]);
        match rest.get(pos + 1..pos + 3)? {
            "25" => out.push('%'),
            "3A" | "3a" => out.push(':'),
            _ => return None,
        }
        rest = &rest[pos + 3..];
    }
    out.push_str(rest);
    Some(out)
}

/// What a client sends to create or replace an asset. Identity may come from
/// the id (in the body or the URL path) or from kind, namespace and name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetInput {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub owners: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default)]
    pub schema: Vec<Field>,
    #[serde(default)]
    pub properties: BTreeMap<String, serde_json::Value>,
    /// Read-only fields that an export carries; accepted and ignored so that
    /// an export can be imported again.
    #[serde(default, skip_serializing)]
    pub version: Option<serde_json::Value>,
    #[serde(default, skip_serializing)]
    pub created_at: Option<serde_json::Value>,
    #[serde(default, skip_serializing)]
    pub updated_at: Option<serde_json::Value>,
}

pub const DEFAULT_NAMESPACE: &str = "default";
const MAX_NAME: usize = 512;
const MAX_DESCRIPTION: usize = 64 * 1024;
const MAX_LIST: usize = 1000;

impl AssetInput {
    /// Validates the input and resolves its identity. `path_id` is the id
    /// from the URL, if the request had one; it must agree with the body.
    pub fn into_asset(self, path_id: Option<&str>) -> Result<Asset> {
        let from_id = match (path_id, self.id.as_deref()) {
            (Some(p), Some(b)) if p != b => {
                return Err(ValidationError::new(
                    "id",
                    format!("body id {b:?} does not match the id in the path {p:?}"),
                ))
            }
            (Some(id), _) | (None, Some(id)) => Some(parse_asset_id(id)?),
            (None, None) => None,
        };
        let kind = match (&self.kind, &from_id) {
            (Some(k), Some((idk, _, _))) => {
                let k: AssetKind = k.parse()?;
                if k != *idk {
                    return Err(ValidationError::new(
                        "kind",
                        format!("kind {k} does not match the id's kind {idk}"),
                    ));
                }
                k
            }
            (Some(k), None) => k.parse()?,
            (None, Some((k, _, _))) => *k,
            (None, None) => return Err(ValidationError::new("kind", "is required")),
        };
        let namespace = match (self.namespace, &from_id) {
            (Some(ns), Some((_, idns, _))) if &ns != idns => {
                return Err(ValidationError::new(
                    "namespace",
                    format!("namespace {ns:?} does not match the id's namespace {idns:?}"),
                ))
            }
            (Some(ns), _) => ns,
            (None, Some((_, ns, _))) => ns.clone(),
            (None, None) => DEFAULT_NAMESPACE.to_string(),
        };
        let name = match (self.name, &from_id) {
            (Some(n), Some((_, _, idn))) if &n != idn => {
                return Err(ValidationError::new(
                    "name",
                    format!("name {n:?} does not match the id's name {idn:?}"),
                ))
            }
            (Some(n), _) => n,
            (None, Some((_, _, n))) => n.clone(),
            (None, None) => return Err(ValidationError::new("name", "is required")),
        };
        let asset = Asset {
            id: asset_id(kind, &namespace, &name),
            kind,
            namespace,
            name,
            description: self.description.unwrap_or_default(),
            owners: self.owners,
            tags: self.tags,
            domain: self.domain,
            schema: self.schema,
            properties: self.properties,
            version: 0,
            created_at: None,
            updated_at: None,
        };
        asset.validate()?;
        Ok(asset)
    }
}

fn check_text(field: &str, value: &str, max: usize, required: bool) -> Result<()> {
    if required && value.trim().is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if value.len() > max {
        return Err(ValidationError::new(
            field,
            format!("is {} bytes long; the limit is {max}", value.len()),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(ValidationError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// Checks an asset name or namespace as every write path does: present,
/// at most 512 bytes, one line, no control characters.
pub fn check_name(field: &str, value: &str) -> Result<()> {
    check_text(field, value, MAX_NAME, true)?;
    if value.contains('\n') || value.contains('\t') {
        return Err(ValidationError::new(field, "must be a single line"));
    }
    Ok(())
}

fn check_list(field: &str, values: &[String]) -> Result<()> {
    if values.len() > MAX_LIST {
        return Err(ValidationError::new(
            field,
            format!("has more than {MAX_LIST} entries"),
        ));
    }
    let mut seen = BTreeSet::new();
    for (i, v) in values.iter().enumerate() {
        let f = format!("{field}[{i}]");
        check_text(&f, v, MAX_NAME, true)?;
        if v.contains('\n') || v.contains('\t') {
            return Err(ValidationError::new(f, "must be a single line"));
        }
        if !seen.insert(v.as_str()) {
            return Err(ValidationError::new(f, format!("duplicate entry {v:?}")));
        }
    }
    Ok(())
}

impl Asset {
    /// An asset with only its identity: no description, owners, tags,
    /// schema or properties, and version 0.
    pub fn bare(id: String, kind: AssetKind, namespace: String, name: String) -> Asset {
        Asset {
            id,
            kind,
            namespace,
            name,
            description: String::new(),
            owners: vec![],
            tags: vec![],
            domain: None,
            schema: vec![],
            properties: BTreeMap::new(),
            version: 0,
            created_at: None,
            updated_at: None,
        }
    }

    /// Checks every field; the first problem found is returned.
    pub fn validate(&self) -> Result<()> {
        check_text("name", &self.name, MAX_NAME, true)?;
        check_text("namespace", &self.namespace, MAX_NAME, true)?;
        if self.name.contains('\n') || self.namespace.contains('\n') {
            return Err(ValidationError::new("name", "must be a single line"));
        }
        check_text("description", &self.description, MAX_DESCRIPTION, false)?;
        check_list("owners", &self.owners)?;
        check_list("tags", &self.tags)?;
        if let Some(d) = &self.domain {
            check_text("domain", d, MAX_NAME, true)?;
        }
        if !self.schema.is_empty() && !self.kind.has_schema() {
            return Err(ValidationError::new(
                "schema",
                format!(
                    "a {} has no column schema; only datasets, features and models do",
                    self.kind
                ),
            ));
        }
        if self.schema.len() > 10_000 {
            return Err(ValidationError::new(
                "schema",
                "has more than 10000 columns",
            ));
        }
        let mut names = BTreeSet::new();
        for (i, f) in self.schema.iter().enumerate() {
            check_text(&format!("schema[{i}].name"), &f.name, MAX_NAME, true)?;
            check_text(&format!("schema[{i}].type"), &f.data_type, MAX_NAME, true)?;
            check_text(
                &format!("schema[{i}].description"),
                &f.description,
                MAX_DESCRIPTION,
                false,
            )?;
            if !names.insert(f.name.as_str()) {
                return Err(ValidationError::new(
                    format!("schema[{i}].name"),
                    format!("duplicate column {:?}", f.name),
                ));
            }
        }
        for key in self.properties.keys() {
            check_text(&format!("properties.{key}"), key, MAX_NAME, true)?;
        }
        Ok(())
    }

    pub fn column(&self, name: &str) -> Option<&Field> {
        self.schema.iter().find(|f| f.name == name)
    }

    /// The text the full-text index covers: the name (also split at
    /// punctuation, so `watch_time_7d` is found by `watch time`), the
    /// namespace, the description, the column names and the tags.
    pub fn search_text(&self) -> String {
        let mut parts: Vec<String> = vec![
            self.name.clone(),
            split_words(&self.name),
            self.namespace.clone(),
        ];
        parts.push(self.description.clone());
        for f in &self.schema {
            parts.push(f.name.clone());
            parts.push(split_words(&f.name));
        }
        for t in &self.tags {
            parts.push(t.clone());
        }
        if let Some(d) = &self.domain {
            parts.push(d.clone());
        }
        parts.join(" ")
    }

    /// The names of the fields that differ from `old`, for version history.
    /// Identity, version and timestamps are not compared.
    pub fn changed_fields(&self, old: &Asset) -> Vec<String> {
        let mut out = Vec::new();
        if self.description != old.description {
            out.push("description".to_string());
        }
        if self.owners != old.owners {
            out.push("owners".to_string());
        }
        if self.tags != old.tags {
            out.push("tags".to_string());
        }
        if self.domain != old.domain {
            out.push("domain".to_string());
        }
        if self.schema != old.schema {
            out.push("schema".to_string());
        }
        if self.properties != old.properties {
            out.push("properties".to_string());
        }
        out
    }
}

fn split_words(s: &str) -> String {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(kind: &str, name: &str) -> AssetInput {
        AssetInput {
            kind: Some(kind.into()),
            name: Some(name.into()),
            ..Default::default()
        }
    }

    #[test]
    fn id_round_trips_through_namespaces_with_colons() {
        let id = asset_id(
            AssetKind::Dataset,
            "postgres://db.example:5432",
            "public.orders:v2",
        );
        assert_eq!(
            id,
            "dataset:postgres%3A//db.example%3A5432:public.orders:v2"
        );
        let (k, ns, n) = parse_asset_id(&id).unwrap();
        assert_eq!(k, AssetKind::Dataset);
        assert_eq!(ns, "postgres://db.example:5432");
        assert_eq!(n, "public.orders:v2");
        let weird = asset_id(AssetKind::Model, "a%3Ab", "x");
        assert_eq!(parse_asset_id(&weird).unwrap().1, "a%3Ab");
    }

    #[test]
    fn malformed_ids_name_the_id_field() {
        for bad in [
            "",
            "dataset",
            "dataset:ns",
            "table:ns:x",
            "dataset::x",
            "dataset:a%zz:x",
        ] {
            let e = parse_asset_id(bad).unwrap_err();
            assert_eq!(e.field, "id", "{bad}");
        }
    }

    #[test]
    fn input_resolves_identity_from_fields_or_id() {
        let a = input("model", "ranker").into_asset(None).unwrap();
        assert_eq!(a.id, "model:default:ranker");
        let b = AssetInput::default()
            .into_asset(Some("model:ml:ranker"))
            .unwrap();
        assert_eq!(
            (b.kind, b.namespace.as_str(), b.name.as_str()),
            (AssetKind::Model, "ml", "ranker")
        );
    }

    #[test]
    fn input_rejects_disagreeing_identity() {
        let mut i = input("model", "ranker");
        i.namespace = Some("ml".into());
        assert_eq!(
            i.clone()
                .into_asset(Some("model:ml:other"))
                .unwrap_err()
                .field,
            "name"
        );
        assert_eq!(
            i.clone()
                .into_asset(Some("feature:ml:ranker"))
                .unwrap_err()
                .field,
            "kind"
        );
        i.id = Some("model:ml:ranker".into());
        assert_eq!(i.into_asset(Some("model:ml:x")).unwrap_err().field, "id");
    }

    #[test]
    fn validation_names_the_offending_field() {
        assert_eq!(
            input("robot", "x").into_asset(None).unwrap_err().field,
            "kind"
        );
        assert_eq!(
            input("model", " ").into_asset(None).unwrap_err().field,
            "name"
        );
        assert_eq!(
            AssetInput::default().into_asset(None).unwrap_err().field,
            "kind"
        );
        let mut i = input("dataset", "t");
        i.schema = vec![Field::new("a", "int", true), Field::new("a", "int", true)];
        assert_eq!(i.into_asset(None).unwrap_err().field, "schema[1].name");
        let mut i = input("workflow", "w");
        i.schema = vec![Field::new("a", "int", true)];
        assert_eq!(i.into_asset(None).unwrap_err().field, "schema");
        let mut i = input("dataset", "t");
        i.owners = vec!["ann".into(), "".into()];
        assert_eq!(i.into_asset(None).unwrap_err().field, "owners[1]");
        let mut i = input("dataset", "t");
        i.schema = vec![Field::new("a", "", true)];
        assert_eq!(i.into_asset(None).unwrap_err().field, "schema[0].type");
    }

    #[test]
    fn search_text_splits_names_and_covers_columns_and_tags() {
        let mut a = input("feature", "member_watch_time_7d")
            .into_asset(None)
            .unwrap();
        a.schema = vec![Field::new("watch_seconds", "double", false)];
        a.tags = vec!["pii".into()];
        let t = a.search_text();
        for w in [
            "member watch time 7d",
            "watch_seconds",
            "pii",
            "member_watch_time_7d",
        ] {
            assert!(t.contains(w), "{t} lacks {w}");
        }
    }

    #[test]
    fn changed_fields_lists_what_differs() {
        let a = input("dataset", "t").into_asset(None).unwrap();
        let mut b = a.clone();
        assert!(b.changed_fields(&a).is_empty());
        b.tags.push("gold".into());
        b.description = "d".into();
        assert_eq!(b.changed_fields(&a), vec!["description", "tags"]);
    }
}

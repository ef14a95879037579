//! Typed edges: the dependencies between assets. Edges point downstream, the
//! way data flows, and may carry column mappings.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::asset::{Asset, AssetKind};
use crate::error::{Result, ValidationError};

/// The kinds of dependency. Each allows only certain asset kinds at its
/// ends; see [`EdgeKind::allows`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EdgeKind {
    Reads,
    Writes,
    Derives,
    Trains,
    Evaluates,
    Deploys,
    Calls,
}

impl EdgeKind {
    pub const ALL: [EdgeKind; 7] = [
        EdgeKind::Reads,
        EdgeKind::Writes,
        EdgeKind::Derives,
        EdgeKind::Trains,
        EdgeKind::Evaluates,
        EdgeKind::Deploys,
        EdgeKind::Calls,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EdgeKind::Reads => "reads",
            EdgeKind::Writes => "writes",
            EdgeKind::Derives => "derives",
            EdgeKind::Trains => "trains",
            EdgeKind::Evaluates => "evaluates",
            EdgeKind::Deploys => "deploys",
            EdgeKind::Calls => "calls",
        }
    }

    /// The asset kinds allowed upstream and downstream of this edge kind.
    pub fn endpoints(self) -> (&'static [AssetKind], &'static [AssetKind]) {
        use AssetKind::*;
        match self {
            // Applications read tables directly too: dashboards and apps
            // on top of a warehouse (dbt exposures) have no job between.
            EdgeKind::Reads => (
                &[Dataset, Feature, Model, Evaluation],
                &[Workflow, Application],
            ),
            EdgeKind::Writes => (&[Workflow], &[Dataset, Feature, Model, Evaluation]),
            EdgeKind::Derives => (&[Dataset, Feature], &[Dataset, Feature]),
            EdgeKind::Trains => (&[Dataset, Feature], &[Model]),
            EdgeKind::Evaluates => (&[Model, Dataset, Feature], &[Evaluation]),
            EdgeKind::Deploys => (&[Model], &[Service]),
            EdgeKind::Calls => (&[Service], &[Application, Workflow, Service]),
        }
    }

    pub fn allows(self, from: AssetKind, to: AssetKind) -> bool {
        let (up, down) = self.endpoints();
        up.contains(&from) && down.contains(&to)
    }
}

impl fmt::Display for EdgeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EdgeKind {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self> {
        EdgeKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            ValidationError::new(
                "kind",
                format!("unknown edge kind {s:?}; expected one of reads, writes, derives, trains, evaluates, deploys, calls"),
            )
        })
    }
}

/// Upstream column `from` feeds downstream column `to`, optionally through a
/// named transformation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnMapping {
    pub from: String,
    pub to: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transform: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edge {
    pub id: String,
    pub from: String,
    pub to: String,
    pub kind: EdgeKind,
    #[serde(default)]
    pub columns: Vec<ColumnMapping>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
}

/// What a client sends to create an edge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EdgeInput {
    #[serde(default)]
    pub id: Option<String>,
    pub from: String,
    pub to: String,
    pub kind: String,
    #[serde(default)]
    pub columns: Vec<ColumnMapping>,
    #[serde(default, skip_serializing)]
    pub first_seen: Option<serde_json::Value>,
    #[serde(default, skip_serializing)]
    pub last_seen: Option<serde_json::Value>,
}

/// The id of an edge: a stable hash of its ends and kind, so that posting
/// the same edge twice names the same record.
pub fn edge_id(from: &str, kind: EdgeKind, to: &str) -> String {
    // FNV-1a over both ends and the kind, 64 bits twice with different
    // offsets: stable across platforms and releases, unlike std's hasher.
    let mut h1: u64 = 0xcbf2_9ce4_8422_2325;
    let mut h2: u64 = 0x8422_2325_cbf2_9ce4;
    for b in from
        .bytes()
        .chain([0])
        .chain(kind.as_str().bytes())
        .chain([0])
        .chain(to.bytes())
    {
        h1 = (h1 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        h2 = (h2 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3 ^ 0x10);
    }
    format!("{h1:016x}{h2:016x}")
}

impl EdgeInput {
    /// Checks the input on its own: ids present, kind known, mappings well
    /// formed. The ends are checked with [`Edge::check_ends`] once the
    /// catalog has loaded them.
    pub fn into_edge(self) -> Result<Edge> {
        if self.from.trim().is_empty() {
            return Err(ValidationError::new("from", "must not be empty"));
        }
        if self.to.trim().is_empty() {
            return Err(ValidationError::new("to", "must not be empty"));
        }
        crate::asset::parse_asset_id(&self.from)
            .map_err(|e| ValidationError::new("from", e.message))?;
        crate::asset::parse_asset_id(&self.to)
            .map_err(|e| ValidationError::new("to", e.message))?;
        if self.from == self.to {
            return Err(ValidationError::new(
                "to",
                "an edge must join two different assets",
            ));
        }
        let kind: EdgeKind = self.kind.parse()?;
        let id = edge_id(&self.from, kind, &self.to);
        if let Some(given) = &self.id {
            if *given != id {
                return Err(ValidationError::new(
                    "id",
                    format!("edge id {given:?} does not match its ends and kind (expected {id:?})"),
                ));
            }
        }
        for (i, m) in self.columns.iter().enumerate() {
            if m.from.trim().is_empty() {
                return Err(ValidationError::new(
                    format!("columns[{i}].from"),
                    "must not be empty",
                ));
            }
            if m.to.trim().is_empty() {
                return Err(ValidationError::new(
                    format!("columns[{i}].to"),
                    "must not be empty",
                ));
            }
        }
        Ok(Edge {
            id,
            from: self.from,
            to: self.to,
            kind,
            columns: self.columns,
            first_seen: None,
            last_seen: None,
        })
    }
}

impl Edge {
    /// The edge of `kind` from `from` to `to`, with its stable id and no
    /// column mappings.
    pub fn between(from: &str, kind: EdgeKind, to: &str) -> Edge {
        Edge {
            id: edge_id(from, kind, to),
            from: from.to_string(),
            to: to.to_string(),
            kind,
            columns: vec![],
            first_seen: None,
            last_seen: None,
        }
    }

    /// Checks the edge against the assets at its ends: the kinds must fit
    /// the edge kind, and mapped columns must exist where a schema is known.
    pub fn check_ends(&self, from: &Asset, to: &Asset) -> Result<()> {
        self.check_kinds(from.kind, to.kind)?;
        for (i, m) in self.columns.iter().enumerate() {
            if !from.schema.is_empty() && from.column(&m.from).is_none() {
                return Err(ValidationError::new(
                    format!("columns[{i}].from"),
                    format!("{} has no column {:?}", from.id, m.from),
                ));
            }
            if !to.schema.is_empty() && to.column(&m.to).is_none() {
                return Err(ValidationError::new(
                    format!("columns[{i}].to"),
                    format!("{} has no column {:?}", to.id, m.to),
                ));
            }
        }
        Ok(())
    }

    /// Checks that this edge's kind may join assets of these kinds: all
    /// that [`Edge::check_ends`] checks of an edge without column mappings.
    pub fn check_kinds(&self, from: AssetKind, to: AssetKind) -> Result<()> {
        if !self.kind.allows(from, to) {
            let (up, down) = self.kind.endpoints();
            let names = |ks: &[AssetKind]| {
                ks.iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(" or ")
            };
            return Err(ValidationError::new(
                "kind",
                format!(
                    "a {} edge cannot join a {} to a {}; it goes from a {} to a {}",
                    self.kind,
                    from,
                    to,
                    names(up),
                    names(down)
                ),
            ));
        }
        Ok(())
    }

    pub fn to_input(&self) -> EdgeInput {
        EdgeInput {
            id: Some(self.id.clone()),
            from: self.from.clone(),
            to: self.to.clone(),
            kind: self.kind.as_str().to_string(),
            columns: self.columns.clone(),
            first_seen: None,
            last_seen: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asset::AssetInput;

    fn asset(kind: &str, name: &str, cols: &[&str]) -> Asset {
        let mut i = AssetInput {
            kind: Some(kind.into()),
            name: Some(name.into()),
            ..Default::default()
        };
        i.schema = cols
            .iter()
            .map(|c| crate::Field::new(c, "string", true))
            .collect();
        i.into_asset(None).unwrap()
    }

    fn input(from: &str, to: &str, kind: &str) -> EdgeInput {
        EdgeInput {
            id: None,
            from: from.into(),
            to: to.into(),
            kind: kind.into(),
            columns: vec![],
            first_seen: None,
            last_seen: None,
        }
    }

    #[test]
    fn edge_ids_are_stable_and_distinct() {
        let a = edge_id("dataset:x:a", EdgeKind::Derives, "feature:x:b");
        assert_eq!(a, edge_id("dataset:x:a", EdgeKind::Derives, "feature:x:b"));
        assert_eq!(a.len(), 32);
        assert_ne!(a, edge_id("dataset:x:a", EdgeKind::Trains, "feature:x:b"));
        assert_ne!(a, edge_id("feature:x:b", EdgeKind::Derives, "dataset:x:a"));
    }

    #[test]
    fn input_errors_name_fields() {
        assert_eq!(
            input("", "feature:x:b", "derives")
                .into_edge()
                .unwrap_err()
                .field,
            "from"
        );
        assert_eq!(
            input("dataset:x:a", "nope", "derives")
                .into_edge()
                .unwrap_err()
                .field,
            "to"
        );
        assert_eq!(
            input("dataset:x:a", "feature:x:b", "feeds")
                .into_edge()
                .unwrap_err()
                .field,
            "kind"
        );
        assert_eq!(
            input("dataset:x:a", "dataset:x:a", "derives")
                .into_edge()
                .unwrap_err()
                .field,
            "to"
        );
        let mut i = input("dataset:x:a", "feature:x:b", "derives");
        i.id = Some("abc".into());
        assert_eq!(i.into_edge().unwrap_err().field, "id");
    }

    #[test]
    fn ends_must_fit_the_edge_kind_and_columns_must_exist() {
        let d = asset("dataset", "events", &["member_id", "seconds"]);
        let f = asset("feature", "watch", &["value"]);
        let m = asset("model", "ranker", &[]);
        let e = input(&d.id, &f.id, "derives").into_edge().unwrap();
        e.check_ends(&d, &f).unwrap();
        assert!(EdgeKind::Reads.allows(AssetKind::Dataset, AssetKind::Application));
        assert!(!EdgeKind::Reads.allows(AssetKind::Dataset, AssetKind::Service));
        let bad = input(&d.id, &m.id, "deploys").into_edge().unwrap();
        let err = bad.check_ends(&d, &m).unwrap_err();
        assert_eq!(err.field, "kind");
        assert!(
            err.message.contains("from a model to a service"),
            "{}",
            err.message
        );
        let mut mapped = input(&d.id, &f.id, "derives");
        mapped.columns = vec![ColumnMapping {
            from: "seconds".into(),
            to: "value".into(),
            transform: Some("sum".into()),
        }];
        mapped
            .clone()
            .into_edge()
            .unwrap()
            .check_ends(&d, &f)
            .unwrap();
        mapped.columns[0].from = "minutes".into();
        assert_eq!(
            mapped
                .into_edge()
                .unwrap()
                .check_ends(&d, &f)
                .unwrap_err()
                .field,
            "columns[0].from"
        );
    }
}

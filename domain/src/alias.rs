//! Aliases: two sources that name one thing differently are merged by
//! declaring one id an alias of the other. The alias (`from`) stops being
//! an asset: its edges, runs and metadata move to the target (`to`), and
//! whatever later names it lands on the target. Lineage, impact and search
//! then see one asset.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::asset::{parse_asset_id, Asset};
use crate::edge::{edge_id, Edge};
use crate::error::{Result, ValidationError};

/// A declared alias, as stored and listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alias {
    pub from: String,
    pub to: String,
    #[serde(default)]
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

/// The body of `POST /api/v1/aliases`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAlias {
    pub from: String,
    pub to: String,
}

impl NewAlias {
    /// Both are asset ids of one kind, and not the same id.
    pub fn validate(&self) -> Result<()> {
        let (from_kind, _, _) = parse_asset_id(&self.from).map_err(|e| e.within("from"))?;
        let (to_kind, _, _) = parse_asset_id(&self.to).map_err(|e| e.within("to"))?;
        if from_kind != to_kind {
            return Err(ValidationError::new(
                "to",
                format!("is a {to_kind}, and {} is a {from_kind}; only assets of one kind can be merged", self.from),
            ));
        }
        if self.from == self.to {
            return Err(ValidationError::new("to", "is the same id as from"));
        }
        Ok(())
    }
}

/// The target with what only the alias knew: owners and tags joined,
/// properties the target lacks, and the description, domain and schema
/// when the target has none. The target's id, name and version stay.
pub fn merge_into(target: &Asset, alias: &Asset) -> Asset {
    let mut out = target.clone();
    let owners: BTreeSet<String> = target.owners.iter().chain(&alias.owners).cloned().collect();
    out.owners = owners.into_iter().collect();
    let tags: BTreeSet<String> = target.tags.iter().chain(&alias.tags).cloned().collect();
    out.tags = tags.into_iter().collect();
    for (k, v) in &alias.properties {
        out.properties.entry(k.clone()).or_insert_with(|| v.clone());
    }
    if out.description.is_empty() {
        out.description = alias.description.clone();
    }
    if out.domain.is_none() {
        out.domain = alias.domain.clone();
    }
    if out.schema.is_empty() {
        out.schema = alias.schema.clone();
    }
    out
}

/// The edges of the alias, moved to the target: each end that was the
/// alias becomes the target, the id follows, and an edge that would join
/// the target to itself is dropped. Sorted by id, one per id.
pub fn move_edges(edges: &[Edge], from: &str, to: &str) -> Vec<Edge> {
    let mut out: BTreeMap<String, Edge> = BTreeMap::new();
    for e in edges {
        let end = |id: &str| {
            if id == from {
                to.to_string()
            } else {
                id.to_string()
            }
        };
        let (a, b) = (end(&e.from), end(&e.to));
        if a == b {
            continue;
        }
        let id = edge_id(&a, e.kind, &b);
        out.entry(id.clone()).or_insert_with(|| Edge {
            id,
            from: a,
            to: b,
            ..e.clone()
        });
    }
    out.into_values().collect()
}

/// An asset written under an alias's id, renamed to its target: the id,
/// namespace and name become the target's.
pub fn rehome(asset: &mut Asset, to: &str) {
    if let Ok((_, namespace, name)) = parse_asset_id(to) {
        asset.id = to.to_string();
        asset.namespace = namespace;
        asset.name = name;
    }
}

/// An edge whose ends are aliases, with its ends and id moved to the
/// targets. `None` when both ends become one asset.
pub fn rehome_edge(edge: &Edge, targets: &dyn Fn(&str) -> Option<String>) -> Option<Edge> {
    let from = targets(&edge.from).unwrap_or_else(|| edge.from.clone());
    let to = targets(&edge.to).unwrap_or_else(|| edge.to.clone());
    if from == to {
        return None;
    }
    Some(Edge {
        id: edge_id(&from, edge.kind, &to),
        from,
        to,
        ..edge.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asset::{asset_id, AssetKind, Field};
    use crate::edge::EdgeKind;

    fn asset(ns: &str, name: &str) -> Asset {
        Asset {
            id: asset_id(AssetKind::Dataset, ns, name),
            kind: AssetKind::Dataset,
            namespace: ns.into(),
            name: name.into(),
            description: String::new(),
            owners: vec![],
            tags: vec![],
            domain: None,
            schema: vec![],
            properties: BTreeMap::new(),
            version: 3,
            created_at: None,
            updated_at: None,
        }
    }

    fn edge(from: &str, kind: EdgeKind, to: &str) -> Edge {
        Edge {
            id: edge_id(from, kind, to),
            from: from.into(),
            to: to.into(),
            kind,
            columns: vec![],
            first_seen: None,
            last_seen: None,
        }
    }

    #[test]
    fn only_two_different_ids_of_one_kind_can_be_merged() {
        let a = asset_id(AssetKind::Dataset, "pg", "a");
        let b = asset_id(AssetKind::Dataset, "pg", "b");
        let m = asset_id(AssetKind::Model, "ml", "m");
        assert!(NewAlias {
            from: a.clone(),
            to: b.clone()
        }
        .validate()
        .is_ok());
        assert_eq!(
            NewAlias {
                from: a.clone(),
                to: a.clone()
            }
            .validate()
            .unwrap_err()
            .field,
            "to"
        );
        assert_eq!(
            NewAlias {
                from: a.clone(),
                to: m
            }
            .validate()
            .unwrap_err()
            .field,
            "to"
        );
        assert_eq!(
            NewAlias {
                from: "nope".into(),
                to: b
            }
            .validate()
            .unwrap_err()
            .field,
            "from.id"
        );
    }

    #[test]
    fn the_target_keeps_its_own_and_gains_what_only_the_alias_knew() {
        let mut target = asset("pg", "shop.orders");
        target.owners = vec!["ana".into()];
        target.properties.insert("k".into(), "target".into());
        let mut alias = asset("dbt://pg", "shop.orders");
        alias.owners = vec!["ben".into(), "ana".into()];
        alias.tags = vec!["dbt".into()];
        alias.description = "Orders.".into();
        alias.schema = vec![Field::new("id", "int", false)];
        alias.properties.insert("k".into(), "alias".into());
        alias
            .properties
            .insert("dbt.unique_id".into(), "model.shop.orders".into());
        let merged = merge_into(&target, &alias);
        assert_eq!(
            (merged.id.as_str(), merged.version),
            (target.id.as_str(), 3)
        );
        assert_eq!(merged.owners, ["ana", "ben"]);
        assert_eq!(merged.tags, ["dbt"]);
        assert_eq!(merged.description, "Orders.");
        assert_eq!(merged.schema.len(), 1);
        assert_eq!(merged.properties["k"], "target");
        assert_eq!(merged.properties["dbt.unique_id"], "model.shop.orders");
    }

    #[test]
    fn edges_move_to_the_target_and_loops_are_dropped() {
        let (a, t, x, y) = ("dataset:a:a", "dataset:t:t", "workflow:j:x", "workflow:j:y");
        let edges = [
            edge(x, EdgeKind::Writes, a),
            edge(a, EdgeKind::Reads, y),
            edge(a, EdgeKind::Derives, t),
            // Already on the target: the moved copy is the same edge.
            edge(x, EdgeKind::Writes, t),
        ];
        let moved = move_edges(&edges, a, t);
        let ids: Vec<&str> = moved.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                edge_id(t, EdgeKind::Reads, y),
                edge_id(x, EdgeKind::Writes, t)
            ]
        );
        assert!(moved
            .iter()
            .all(|e| e.id == edge_id(&e.from, e.kind, &e.to)));
    }

    #[test]
    fn what_is_written_under_an_alias_lands_on_the_target() {
        let mut a = asset("dbt://pg", "shop.orders");
        let to = asset_id(AssetKind::Dataset, "postgres://db:5432", "shop.orders");
        rehome(&mut a, &to);
        assert_eq!(
            (a.id.as_str(), a.namespace.as_str()),
            (to.as_str(), "postgres://db:5432")
        );
        let from = asset_id(AssetKind::Dataset, "dbt://pg", "shop.orders");
        let targets = |id: &str| (id == from).then(|| to.clone());
        let e = edge(&from, EdgeKind::Reads, "workflow:j:x");
        let moved = rehome_edge(&e, &targets).unwrap();
        assert_eq!(
            (moved.from.as_str(), moved.id.clone()),
            (to.as_str(), edge_id(&to, EdgeKind::Reads, "workflow:j:x"))
        );
        assert!(rehome_edge(&edge(&from, EdgeKind::Derives, &to), &targets).is_none());
    }
}

//! The static site's shared vocabulary: how an asset's files are named,
//! how the search index is tokenised and sharded, the records the offline
//! impact explorer reads, and the graph window each page draws. Both the
//! exporter (on the server) and the site's WebAssembly (in the browser)
//! use these, so the two always agree on names and shapes.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::asset::{Asset, AssetKind, Field};
use crate::edge::{ColumnMapping, Edge, EdgeKind};
use crate::lineage::{Direction, HopNodes, LineageGraph, NodeId};
use crate::query::{GraphNode, GraphView, LineageEdge};

/// The file name (without extension) of an asset's page and data: 16 hex
/// digits of a 64-bit FNV-1a hash of its id. Ids hold `:` and `/`, which
/// file names and URLs handle badly; the exporter refuses collisions.
pub fn page_name(id: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The impact shard an asset's record lives in: the first two hex digits
/// of its page name, so 256 shards at most.
pub fn graph_shard(page: &str) -> &str {
    &page[..2.min(page.len())]
}

/// The words of a name that search matches prefixes of: lower case,
/// split at anything that is not a letter or digit, without repeats.
pub fn search_tokens(name: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in name
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
    {
        if !out.iter().any(|o| o == t) {
            out.push(t.to_string());
        }
    }
    out
}

/// The search shard a token belongs to: its first two characters, with
/// anything outside `a-z0-9` as `_`, so shard keys are safe file names.
pub fn shard_key(token: &str) -> String {
    prefix_key(token, 2)
}

/// The shard a token belongs to once crowded shards have been split: start
/// from its two-letter key and, while that key is in `split`, take one more
/// character; a token that runs out of characters ends with `-`.
pub fn leaf_key(token: &str, split: &std::collections::BTreeSet<String>) -> String {
    let mut n = 2;
    let mut key = prefix_key(token, n);
    while split.contains(&key) {
        n += 1;
        let next = prefix_key(token, n);
        if next.chars().count() < n {
            return format!("{key}-");
        }
        key = next;
    }
    key
}

fn prefix_key(token: &str, n: usize) -> String {
    token
        .chars()
        .take(n)
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// One search result, as the index shards hold it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchEntry {
    /// Name.
    pub n: String,
    /// Kind.
    pub k: AssetKind,
    /// Page name.
    pub p: String,
    /// Namespace.
    pub s: String,
}

/// What the index page needs before any search: the shards that exist and
/// the catalog's size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteManifest {
    pub assets: usize,
    pub edges: usize,
    pub kinds: Vec<(AssetKind, usize)>,
    /// Search shard keys, sorted.
    pub shards: Vec<String>,
    /// Keys whose shard was split into longer ones (see `leaf_key`), sorted.
    #[serde(default)]
    pub split: Vec<String>,
    /// Shards written in pages (`KEY.json`, `KEY.2.json`, …), as (key,
    /// pages): a word too common to split further. Names in them go
    /// shortest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pages: Vec<(String, usize)>,
}

/// An edge as the impact explorer reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutEdge {
    pub to: String,
    pub kind: EdgeKind,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<ColumnMapping>,
}

/// Everything the offline impact explorer needs about one asset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphRecord {
    pub id: String,
    pub kind: AssetKind,
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owners: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub production: bool,
    /// Kept for datasets only: the explorer proposes changes to them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schema: Vec<Field>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub out: Vec<OutEdge>,
}

impl GraphRecord {
    pub fn new(asset: &Asset, out: Vec<OutEdge>) -> Self {
        GraphRecord {
            id: asset.id.clone(),
            kind: asset.kind,
            name: asset.name.clone(),
            owners: asset.owners.clone(),
            production: crate::impact::is_production(asset),
            schema: if asset.kind == AssetKind::Dataset {
                asset.schema.clone()
            } else {
                vec![]
            },
            out,
        }
    }

    /// The asset as impact analysis sees it.
    pub fn to_asset(&self) -> Asset {
        let (_, namespace, _) = crate::asset::parse_asset_id(&self.id).unwrap_or((
            self.kind,
            String::new(),
            String::new(),
        ));
        Asset {
            id: self.id.clone(),
            kind: self.kind,
            namespace,
            name: self.name.clone(),
            description: String::new(),
            owners: self.owners.clone(),
            tags: if self.production {
                vec!["production".into()]
            } else {
                vec![]
            },
            domain: None,
            schema: self.schema.clone(),
            properties: BTreeMap::new(),
            version: 0,
            created_at: None,
            updated_at: None,
        }
    }

    /// The record's edges as domain edges.
    pub fn edges(&self) -> Vec<Edge> {
        self.out
            .iter()
            .map(|o| Edge {
                id: crate::edge::edge_id(&self.id, o.kind, &o.to),
                from: self.id.clone(),
                to: o.to.clone(),
                kind: o.kind,
                columns: o.columns.clone(),
                first_seen: None,
                last_seen: None,
            })
            .collect()
    }
}

/// What a graph view draws around `start`: `up` hops upstream and `down`
/// downstream, at most `budget` nodes, with `hubs` marked. The catalog's
/// live view and the static pages both draw this.
pub fn graph_view(
    g: &LineageGraph,
    start: NodeId,
    up: u32,
    down: u32,
    budget: usize,
    hubs: &HashSet<NodeId>,
) -> GraphView {
    let w = g.window(start, up, down, budget.max(1));
    let more: HashMap<NodeId, usize> = w.more.iter().copied().collect();
    GraphView {
        center: g.asset_id(start).to_string(),
        up,
        down,
        capped: w.nodes.len() >= budget,
        nodes: w
            .nodes
            .iter()
            .map(|&(n, depth)| GraphNode {
                id: g.asset_id(n).to_string(),
                kind: g.kind(n),
                name: g.name(n).to_string(),
                depth,
                more: more.get(&n).copied().unwrap_or(0),
                hub: hubs.contains(&n),
            })
            .collect(),
        edges: w
            .edges
            .into_iter()
            .map(|(f, t, kind)| LineageEdge {
                from: g.asset_id(f).to_string(),
                to: g.asset_id(t).to_string(),
                kind,
            })
            .collect(),
        pending: false,
        depth_totals: vec![],
        appeared: vec![],
        ended: vec![],
    }
}

/// The outline of [`graph_view`] that a page is rendered with: the centre
/// and the first assets (by name) at each distance within `up` and `down`
/// hops, as `hops(direction, depth)` windows them, each distance's count,
/// and no edges. It is what a
/// browser without scripts lists; a browser with them fetches the whole
/// window to draw it.
pub fn graph_outline(
    g: &LineageGraph,
    start: NodeId,
    up: u32,
    down: u32,
    hubs: &HashSet<NodeId>,
    hops: impl Fn(Direction, u32) -> std::sync::Arc<Vec<HopNodes>>,
) -> GraphView {
    let node = |n: NodeId, depth: i64| GraphNode {
        id: g.asset_id(n).to_string(),
        kind: g.kind(n),
        name: g.name(n).to_string(),
        depth,
        more: 0,
        hub: hubs.contains(&n),
    };
    let mut nodes = vec![node(start, 0)];
    let mut depth_totals = vec![];
    for (dir, depth) in [(Direction::Upstream, up), (Direction::Downstream, down)] {
        if depth == 0 {
            continue;
        }
        for hop in hops(dir, depth).iter() {
            depth_totals.push((hop.depth, hop.nodes.total));
            nodes.extend(hop.nodes.items.iter().map(|&n| node(n, hop.depth)));
        }
    }
    GraphView {
        center: g.asset_id(start).to_string(),
        up,
        down,
        nodes,
        edges: vec![],
        capped: false,
        pending: true,
        depth_totals,
        appeared: vec![],
        ended: vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_names_are_stable_hex_and_differ() {
        let a = page_name("dataset:warehouse:orders");
        assert_eq!(a.len(), 16);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(a, page_name("dataset:warehouse:orders"));
        assert_ne!(a, page_name("dataset:warehouse:order"));
        // FNV-1a of the empty string is its offset basis.
        assert_eq!(page_name(""), "cbf29ce484222325");
        assert_eq!(graph_shard(&a), &a[..2]);
    }

    #[test]
    fn tokens_split_names_and_shard_keys_are_safe() {
        assert_eq!(
            search_tokens("Member_Daily-watch.v2 member"),
            vec!["member", "daily", "watch", "v2"]
        );
        assert!(search_tokens("__").is_empty());
        assert_eq!(shard_key("member"), "me");
        assert_eq!(shard_key("x"), "x");
        assert_eq!(shard_key("éclair"), "_c");
        assert_eq!(shard_key("../"), "__");
        let split: std::collections::BTreeSet<String> =
            ["me", "mem"].iter().map(|s| s.to_string()).collect();
        assert_eq!(leaf_key("member", &split), "memb");
        assert_eq!(leaf_key("mem", &split), "mem-");
        assert_eq!(leaf_key("me", &split), "me-");
        assert_eq!(leaf_key("metric", &split), "met");
        assert_eq!(leaf_key("watch", &split), "wa");
    }

    #[test]
    fn records_round_trip_into_assets_and_edges() {
        let e = crate::demo::demo();
        let d = e
            .assets
            .iter()
            .find(|a| a.kind == AssetKind::Dataset && !a.schema.is_empty())
            .unwrap();
        let out: Vec<OutEdge> = e
            .edges
            .iter()
            .filter(|x| x.from == d.id)
            .map(|x| OutEdge {
                to: x.to.clone(),
                kind: x.kind,
                columns: x.columns.clone(),
            })
            .collect();
        let r = GraphRecord::new(d, out);
        let back = r.to_asset();
        assert_eq!(back.id, d.id);
        assert_eq!(back.namespace, d.namespace);
        assert_eq!(back.schema, d.schema);
        let edges = r.edges();
        let mut want: Vec<&Edge> = e.edges.iter().filter(|x| x.from == d.id).collect();
        want.sort_by(|a, b| a.id.cmp(&b.id));
        let mut got: Vec<&Edge> = edges.iter().collect();
        got.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert_eq!((&g.id, &g.to, &g.columns), (&w.id, &w.to, &w.columns));
        }
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<GraphRecord>(&json).unwrap(), r);
    }
}

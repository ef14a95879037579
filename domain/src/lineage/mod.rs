//! `LineageGraph`: the in-memory index of the catalog's graph that every
//! traversal runs on. Nodes get dense `u32` ids; each node keeps its
//! outgoing (downstream) and incoming (upstream) edges, so both directions
//! cost the same, and single nodes and edges can be added or removed
//! without rebuilding the rest.
//!
//! Traversals visit each node at most once, so cycles are walked safely.

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::asset::AssetKind;
use crate::edge::{Edge, EdgeKind};

pub type NodeId = u32;

/// An edge between two nodes: (from, to, kind).
pub type EdgeTriple = (NodeId, NodeId, EdgeKind);

/// Which way to walk: downstream follows edges (impact), upstream walks them
/// backwards (lineage).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Upstream,
    Downstream,
}

impl Direction {
    pub fn reverse(self) -> Direction {
        match self {
            Direction::Upstream => Direction::Downstream,
            Direction::Downstream => Direction::Upstream,
        }
    }
}

mod adjacency;
mod encoding;
mod facts;
mod impact;
mod listing;
mod paths;
mod spans;
#[cfg(test)]
mod tests;
mod timeline;
#[cfg(test)]
mod timeline_tests;
mod view;
mod walks;

use adjacency::*;
pub use listing::{HopNodes, Reuse};
pub use paths::{SimplePaths, PATH_STEP_BUDGET};
pub use timeline::{Millis, TimedEdge, ALWAYS, OPEN};
pub use view::At;
pub use walks::{Expansion, Hub, Neighbourhood, RefreshPlan, Window};

fn edge_key(id: &str) -> u128 {
    let mut h: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for b in id.bytes() {
        h ^= u128::from(b);
        h = h.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013b);
    }
    h
}

/// What a traversal may cross and report. Empty lists allow everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only these asset kinds are reported; the walk still passes through
    /// other kinds, so a model's datasets are found through its features.
    pub kinds: Vec<AssetKind>,
    /// Only these edge kinds are followed.
    pub edge_kinds: Vec<EdgeKind>,
    /// How many hops at most; `None` walks the whole closure.
    pub max_depth: Option<u32>,
}

/// Marks nodes seen during one walk; `depth[n] == UNSEEN` until then.
const UNSEEN: u32 = u32::MAX;

#[derive(Debug, Default)]
pub struct LineageGraph {
    ids: Vec<Box<str>>,
    names: Vec<Box<str>>,
    kinds: Vec<AssetKind>,
    live: Vec<bool>,
    /// Per node: no neighbour is linked twice (over both directions and all
    /// kinds), so its hidden neighbours can be counted without
    /// deduplicating. Found at compaction; an added edge clears it.
    simple: Vec<bool>,
    index: HashMap<Box<str>, NodeId>,
    out: Adjacency,
    inn: Adjacency,
    edges: HashMap<u128, (NodeId, NodeId, EdgeKind)>,
    /// Owners, production flags and column mappings, for impact analysis.
    facts: facts::Facts,
    /// When each node and edge was valid, past edges included.
    timeline: timeline::Timeline,
    hub_cache: std::sync::Mutex<Option<(usize, Vec<Hub>)>>,
}

impl Clone for LineageGraph {
    fn clone(&self) -> Self {
        Self {
            ids: self.ids.clone(),
            names: self.names.clone(),
            kinds: self.kinds.clone(),
            live: self.live.clone(),
            simple: self.simple.clone(),
            index: self.index.clone(),
            out: self.out.clone(),
            inn: self.inn.clone(),
            edges: self.edges.clone(),
            facts: self.facts.clone(),
            timeline: self.timeline.clone(),
            hub_cache: Default::default(),
        }
    }
}

impl LineageGraph {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn node_count(&self) -> usize {
        self.index.len()
    }

    pub fn edge_count(&self) -> usize {
        self.edges.len()
    }

    /// Every asset's node, in node order.
    pub fn nodes(&self) -> impl Iterator<Item = NodeId> + '_ {
        (0..self.ids.len() as NodeId).filter(|&n| self.live[n as usize])
    }

    pub fn id_of(&self, asset: &str) -> Option<NodeId> {
        self.index.get(asset).copied()
    }

    pub fn asset_id(&self, n: NodeId) -> &str {
        &self.ids[n as usize]
    }

    pub fn kind(&self, n: NodeId) -> AssetKind {
        self.kinds[n as usize]
    }

    pub fn name(&self, n: NodeId) -> &str {
        &self.names[n as usize]
    }

    /// How many edges leave `n`.
    pub fn fanout(&self, n: NodeId) -> usize {
        self.out.degree(n)
    }

    /// How many edges enter `n`.
    pub fn fanin(&self, n: NodeId) -> usize {
        self.inn.degree(n)
    }

    /// Bytes the index holds on the heap (capacities, so an upper bound on
    /// what it uses; hash tables are counted at their bucket size).
    pub fn heap_bytes(&self) -> usize {
        let strings: usize = self.ids.iter().chain(&self.names).map(|s| s.len()).sum();
        let index_keys: usize = self.index.keys().map(|k| k.len()).sum();
        let bucket = |entry: usize| entry + 1;
        strings
            + index_keys
            + self.ids.capacity() * 16
            + self.names.capacity() * 16
            + self.kinds.capacity()
            + self.live.capacity()
            + self.index.capacity() * bucket(16 + 4)
            + self.edges.capacity() * bucket(16 + 12)
            + self.out.heap_bytes()
            + self.inn.heap_bytes()
            + self.facts.heap_bytes()
            + self.timeline.heap_bytes()
    }

    fn changed(&mut self) {
        *self.hub_cache.get_mut().expect("never poisoned") = None;
        if self.out.wants_compaction() || self.inn.wants_compaction() {
            self.compact();
        }
    }

    /// Rebuilds both adjacency blocks so that every edge sits in contiguous
    /// memory. Runs by itself as changes accumulate; a bulk load calls it
    /// once at the end.
    pub fn compact(&mut self) {
        self.out.compact();
        self.inn.compact();
        self.timeline.compact();
        let mut others = Vec::new();
        for n in 0..self.ids.len() as NodeId {
            others.clear();
            others.extend(self.out.iter(n).chain(self.inn.iter(n)).map(|l| l.other));
            others.sort_unstable();
            self.simple[n as usize] = others.windows(2).all(|w| w[0] != w[1]);
        }
    }

    /// Adds an asset, or updates its kind and name; returns its node.
    pub fn upsert_node(&mut self, asset: &str, kind: AssetKind, name: &str) -> NodeId {
        if let Some(&n) = self.index.get(asset) {
            self.kinds[n as usize] = kind;
            if &*self.names[n as usize] != name {
                self.names[n as usize] = name.into();
            }
            *self.hub_cache.get_mut().expect("never poisoned") = None;
            return n;
        }
        let n = self.push_node(asset, kind, name, true);
        self.index.insert(asset.into(), n);
        *self.hub_cache.get_mut().expect("never poisoned") = None;
        n
    }

    /// A new node, live or not (a deleted asset's, for walks of the past),
    /// valid since the beginning until told otherwise.
    fn push_node(&mut self, asset: &str, kind: AssetKind, name: &str, live: bool) -> NodeId {
        let n = NodeId::try_from(self.ids.len()).expect("fewer than 2^32 assets");
        self.ids.push(asset.into());
        self.names.push(name.into());
        self.kinds.push(kind);
        self.live.push(live);
        self.simple.push(false);
        self.out.grow(self.ids.len());
        self.inn.grow(self.ids.len());
        self.facts.grow(self.ids.len());
        self.timeline.grow(self.ids.len(), ALWAYS);
        n
    }

    /// Removes an asset and its edges from the graph and from its history
    /// (see [`LineageGraph::remove_node_at`] for an end in time).
    pub fn remove_node(&mut self, asset: &str) {
        self.remove_node_at(asset, ALWAYS);
    }

    /// Removes an asset and its edges from the current graph. Its dense id
    /// is not reused.
    fn remove_node_timeless(&mut self, asset: &str) {
        let Some(n) = self.index.remove(asset) else {
            return;
        };
        self.live[n as usize] = false;
        self.edges.retain(|_, (f, t, _)| *f != n && *t != n);
        self.facts.retain_mappings(|(f, t, _)| *f != n && *t != n);
        for l in self.out.take(n) {
            self.inn.remove(
                l.other,
                Link {
                    other: n,
                    kind: l.kind,
                },
            );
        }
        for l in self.inn.take(n) {
            self.out.remove(
                l.other,
                Link {
                    other: n,
                    kind: l.kind,
                },
            );
        }
        self.changed();
    }

    /// Adds an edge between two known assets, valid since the beginning
    /// (see [`LineageGraph::upsert_edge_at`]); false if an end is unknown.
    pub fn upsert_edge(&mut self, edge: &Edge) -> bool {
        self.upsert_edge_at(edge, ALWAYS)
    }

    fn upsert_edge_timeless(&mut self, edge: &Edge) -> bool {
        let (Some(f), Some(t)) = (self.id_of(&edge.from), self.id_of(&edge.to)) else {
            return false;
        };
        let key = edge_key(&edge.id);
        self.facts.set_mappings((f, t, edge.kind), &edge.columns);
        if self.edges.insert(key, (f, t, edge.kind)).is_none() {
            self.out.push(
                f,
                Link {
                    other: t,
                    kind: edge.kind,
                },
            );
            self.inn.push(
                t,
                Link {
                    other: f,
                    kind: edge.kind,
                },
            );
            self.simple[f as usize] = false;
            self.simple[t as usize] = false;
            self.changed();
        }
        true
    }

    /// Whether the edge with this id is in the graph.
    pub fn has_edge(&self, edge_id: &str) -> bool {
        self.edges.contains_key(&edge_key(edge_id))
    }

    /// Removes an edge from the graph and from its history (see
    /// [`LineageGraph::remove_edge_at`] for an end in time).
    pub fn remove_edge(&mut self, edge_id: &str) {
        self.remove_edge_at(edge_id, ALWAYS);
    }

    fn remove_edge_timeless(&mut self, edge_id: &str) {
        let key = edge_key(edge_id);
        let Some((f, t, kind)) = self.edges.remove(&key) else {
            return;
        };
        self.facts.forget_mappings((f, t, kind));
        self.out.remove(f, Link { other: t, kind });
        self.inn.remove(t, Link { other: f, kind });
        self.changed();
    }

    /// The nodes `n` points to, with the edge kinds.
    pub fn downstream_of(&self, n: NodeId) -> impl Iterator<Item = (NodeId, EdgeKind)> + '_ {
        self.out.iter(n).map(|l| (l.other, l.kind))
    }

    /// The nodes pointing to `n`, with the edge kinds.
    pub fn upstream_of(&self, n: NodeId) -> impl Iterator<Item = (NodeId, EdgeKind)> + '_ {
        self.inn.iter(n).map(|l| (l.other, l.kind))
    }

    fn adjacency(&self, dir: Direction) -> &Adjacency {
        match dir {
            Direction::Downstream => &self.out,
            Direction::Upstream => &self.inn,
        }
    }

    fn unseen(&self) -> Vec<u32> {
        vec![UNSEEN; self.ids.len()]
    }
}

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

/// One edge as seen from one of its ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Link {
    other: NodeId,
    kind: EdgeKind,
}

/// A slot of the compacted part; `None` marks an edge removed since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    other: NodeId,
    kind: Option<EdgeKind>,
}

/// One direction's adjacency: a compressed sparse row block built in one
/// pass (`off`, `slots`), plus a short list per node of edges added since.
/// Removals only blank a slot. Once the changes since the last compaction
/// pass an eighth of the block, it is rebuilt, so a write costs amortised
/// O(1) and traversals mostly scan contiguous memory.
#[derive(Debug, Clone, Default)]
struct Adjacency {
    off: Vec<u32>,
    slots: Vec<Slot>,
    added: Vec<Vec<Link>>,
    changes: usize,
}

impl Adjacency {
    fn grow(&mut self, nodes: usize) {
        self.added.resize_with(nodes, Vec::new);
    }

    fn compacted(&self, n: NodeId) -> &[Slot] {
        let n = n as usize;
        if n + 1 < self.off.len() {
            &self.slots[self.off[n] as usize..self.off[n + 1] as usize]
        } else {
            &[]
        }
    }

    fn iter(&self, n: NodeId) -> impl Iterator<Item = Link> + '_ {
        self.compacted(n)
            .iter()
            .filter_map(|s| {
                s.kind.map(|kind| Link {
                    other: s.other,
                    kind,
                })
            })
            .chain(
                // Nothing was added since the last compaction: skip the
                // lists without touching them (one cache miss per node).
                if self.changes == 0 {
                    &[][..]
                } else {
                    &self.added[n as usize][..]
                }
                .iter()
                .copied(),
            )
    }

    fn degree(&self, n: NodeId) -> usize {
        self.compacted(n)
            .iter()
            .filter(|s| s.kind.is_some())
            .count()
            + self.added[n as usize].len()
    }

    fn push(&mut self, n: NodeId, link: Link) {
        self.added[n as usize].push(link);
        self.changes += 1;
    }

    fn remove(&mut self, n: NodeId, link: Link) {
        let n_us = n as usize;
        if let Some(pos) = self.added[n_us].iter().position(|l| *l == link) {
            self.added[n_us].swap_remove(pos);
            return;
        }
        let range = if n_us + 1 < self.off.len() {
            self.off[n_us] as usize..self.off[n_us + 1] as usize
        } else {
            0..0
        };
        if let Some(s) = self.slots[range]
            .iter_mut()
            .find(|s| s.other == link.other && s.kind == Some(link.kind))
        {
            s.kind = None;
            self.changes += 1;
        }
    }

    /// Drops every link of `n`, returning them.
    fn take(&mut self, n: NodeId) -> Vec<Link> {
        let links: Vec<Link> = self.iter(n).collect();
        let n_us = n as usize;
        if n_us + 1 < self.off.len() {
            let range = self.off[n_us] as usize..self.off[n_us + 1] as usize;
            for s in &mut self.slots[range] {
                s.kind = None;
            }
        }
        self.added[n_us].clear();
        self.changes += links.len();
        links
    }

    fn wants_compaction(&self) -> bool {
        self.changes > 4096 && self.changes * 8 > self.slots.len()
    }

    fn compact(&mut self) {
        let nodes = self.added.len();
        let mut off = Vec::with_capacity(nodes + 1);
        let mut slots = Vec::with_capacity(self.slots.len() + self.changes);
        off.push(0u32);
        for n in 0..nodes as NodeId {
            slots.extend(self.iter(n).map(|l| Slot {
                other: l.other,
                kind: Some(l.kind),
            }));
            off.push(u32::try_from(slots.len()).expect("fewer than 2^32 edges"));
        }
        for a in &mut self.added {
            *a = Vec::new();
        }
        self.off = off;
        self.slots = slots;
        self.changes = 0;
    }

    fn heap_bytes(&self) -> usize {
        self.off.capacity() * 4
            + self.slots.capacity() * std::mem::size_of::<Slot>()
            + self.added.capacity() * std::mem::size_of::<Vec<Link>>()
            + self
                .added
                .iter()
                .map(|a| a.capacity() * std::mem::size_of::<Link>())
                .sum::<usize>()
    }
}

/// A 128-bit FNV-1a digest of an edge id: the edge table's key, so the
/// index does not keep millions of id strings.
/// Per-node scratch marks for walks, reused across queries: a mark is set
/// when its stamp equals the current generation, so starting a walk costs
/// one increment, not clearing an array the size of the graph.
#[derive(Default)]
struct Marks {
    generation: u32,
    /// Per node: the generation it was marked in, and its value.
    slots: Vec<[u32; 2]>,
}

impl Marks {
    fn reset(&mut self, nodes: usize) {
        if self.slots.len() < nodes {
            self.slots.resize(nodes, [0, 0]);
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.slots.iter_mut().for_each(|s| s[0] = 0);
            self.generation = 1;
        }
    }
    fn get(&self, n: NodeId) -> Option<u32> {
        let [g, v] = self.slots[n as usize];
        (g == self.generation).then_some(v)
    }
    fn has(&self, n: NodeId) -> bool {
        self.slots[n as usize][0] == self.generation
    }
    fn set(&mut self, n: NodeId, v: u32) {
        self.slots[n as usize] = [self.generation, v];
    }
}

/// A set of nodes as one bit each: a million nodes fit in 128 KB.
struct Bits(Vec<u64>);

impl Bits {
    fn of(nodes: usize, members: &[NodeId]) -> Bits {
        let mut bits = vec![0u64; nodes.div_ceil(64)];
        for &n in members {
            bits[n as usize / 64] |= 1 << (n % 64);
        }
        Bits(bits)
    }
    fn has(&self, n: NodeId) -> bool {
        self.0[n as usize / 64] & (1 << (n % 64)) != 0
    }
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Vec<Marks>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Marks lent from this thread's pool for one walk, returned when dropped.
struct Scratch(Marks);

impl Scratch {
    fn new(nodes: usize) -> Scratch {
        let mut m = SCRATCH.with(|p| p.borrow_mut().pop()).unwrap_or_default();
        m.reset(nodes);
        Scratch(m)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let m = std::mem::take(&mut self.0);
        let _ = SCRATCH.try_with(|p| p.borrow_mut().push(m));
    }
}

impl std::ops::Deref for Scratch {
    type Target = Marks;
    fn deref(&self) -> &Marks {
        &self.0
    }
}

impl std::ops::DerefMut for Scratch {
    fn deref_mut(&mut self) -> &mut Marks {
        &mut self.0
    }
}

/// The first bytes of an encoded graph, with the format's version.
const ENCODING_MAGIC: &[u8; 8] = b"MLGLIN01";

/// A cursor over an encoded graph.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or("the image is cut short")?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    fn text(&mut self) -> Result<&'a str, String> {
        let n = self.u32()? as usize;
        std::str::from_utf8(self.take(n)?).map_err(|_| "text that is not UTF-8".to_string())
    }
}

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
        let mut others = Vec::new();
        for n in 0..self.ids.len() as NodeId {
            others.clear();
            others.extend(self.out.iter(n).chain(self.inn.iter(n)).map(|l| l.other));
            others.sort_unstable();
            self.simple[n as usize] = others.windows(2).all(|w| w[0] != w[1]);
        }
    }

    /// A compact binary image of the graph: live nodes (renumbered densely)
    /// and edges. [`LineageGraph::decode`] turns it back into a graph that
    /// answers every query the same way; a catalog keeps one beside its
    /// store so that a restart need not read every edge again.
    pub fn encode(&self) -> Vec<u8> {
        let mut renumber = vec![UNSEEN; self.ids.len()];
        let mut out = Vec::with_capacity(self.ids.len() * 48 + self.edges.len() * 25 + 16);
        out.extend_from_slice(ENCODING_MAGIC);
        let live: Vec<usize> = (0..self.ids.len()).filter(|&n| self.live[n]).collect();
        out.extend_from_slice(&(live.len() as u32).to_le_bytes());
        for (new, &n) in live.iter().enumerate() {
            renumber[n] = new as NodeId;
            let kind = AssetKind::ALL
                .iter()
                .position(|k| *k == self.kinds[n])
                .expect("a known kind");
            out.push(kind as u8);
            for text in [&self.ids[n], &self.names[n]] {
                out.extend_from_slice(&(text.len() as u32).to_le_bytes());
                out.extend_from_slice(text.as_bytes());
            }
        }
        out.extend_from_slice(&(self.edges.len() as u64).to_le_bytes());
        for (key, &(f, t, kind)) in &self.edges {
            out.extend_from_slice(&key.to_le_bytes());
            out.extend_from_slice(&renumber[f as usize].to_le_bytes());
            out.extend_from_slice(&renumber[t as usize].to_le_bytes());
            let kind = EdgeKind::ALL
                .iter()
                .position(|k| *k == kind)
                .expect("a known kind");
            out.push(kind as u8);
        }
        out
    }

    /// Reads what [`LineageGraph::encode`] wrote; any damage is an error,
    /// never a wrong graph.
    pub fn decode(bytes: &[u8]) -> Result<LineageGraph, String> {
        let mut r = Reader { bytes, at: 0 };
        if r.take(ENCODING_MAGIC.len())? != ENCODING_MAGIC {
            return Err("not a lineage graph image".into());
        }
        let nodes = r.u32()? as usize;
        let mut g = LineageGraph::new();
        for _ in 0..nodes {
            let kind = *AssetKind::ALL
                .get(r.u8()? as usize)
                .ok_or("unknown asset kind")?;
            let id = r.text()?;
            let name = r.text()?;
            if g.index.contains_key(id) {
                return Err(format!("asset {id:?} appears twice"));
            }
            g.upsert_node(id, kind, name);
        }
        let edges = r.u64()? as usize;
        g.edges.reserve(edges.min(bytes.len() / 25));
        for _ in 0..edges {
            let key = u128::from_le_bytes(r.take(16)?.try_into().expect("16 bytes"));
            let (f, t) = (r.u32()?, r.u32()?);
            let kind = *EdgeKind::ALL
                .get(r.u8()? as usize)
                .ok_or("unknown edge kind")?;
            if f as usize >= nodes || t as usize >= nodes {
                return Err("an edge names a node that is not there".into());
            }
            if g.edges.insert(key, (f, t, kind)).is_some() {
                return Err("an edge appears twice".into());
            }
            g.out.push(f, Link { other: t, kind });
            g.inn.push(t, Link { other: f, kind });
        }
        if r.at != bytes.len() {
            return Err("trailing bytes after the graph".into());
        }
        g.compact();
        Ok(g)
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
        let n = NodeId::try_from(self.ids.len()).expect("fewer than 2^32 assets");
        self.ids.push(asset.into());
        self.names.push(name.into());
        self.kinds.push(kind);
        self.live.push(true);
        self.simple.push(false);
        self.out.grow(self.ids.len());
        self.inn.grow(self.ids.len());
        self.index.insert(asset.into(), n);
        *self.hub_cache.get_mut().expect("never poisoned") = None;
        n
    }

    /// Removes an asset and its edges. Its dense id is not reused.
    pub fn remove_node(&mut self, asset: &str) {
        let Some(n) = self.index.remove(asset) else {
            return;
        };
        self.live[n as usize] = false;
        self.edges.retain(|_, (f, t, _)| *f != n && *t != n);
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

    /// Adds an edge between two known assets; false if an end is unknown.
    pub fn upsert_edge(&mut self, edge: &Edge) -> bool {
        let (Some(f), Some(t)) = (self.id_of(&edge.from), self.id_of(&edge.to)) else {
            return false;
        };
        if self
            .edges
            .insert(edge_key(&edge.id), (f, t, edge.kind))
            .is_none()
        {
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

    pub fn remove_edge(&mut self, edge_id: &str) {
        let Some((f, t, kind)) = self.edges.remove(&edge_key(edge_id)) else {
            return;
        };
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

    /// Every node reachable from `start` in `dir`, with its hop distance,
    /// in breadth-first order; `start` itself is not included.
    pub fn closure(&self, start: NodeId, dir: Direction, filter: &Filter) -> Vec<(NodeId, u32)> {
        let adj = self.adjacency(dir);
        // A bit per node (a million nodes fit in 128 KB of cache), and the
        // visit order split into levels, so no per-node depth array.
        let words = self.ids.len().div_ceil(64);
        let mut seen = vec![0u64; words];
        seen[start as usize / 64] |= 1u64 << (start % 64);
        let mut order = vec![start];
        // Level d is order[levels[d]..levels[d + 1]].
        let mut levels = vec![0, 1];
        let any_edge = filter.edge_kinds.is_empty();
        loop {
            let d = levels.len() - 2;
            if filter.max_depth.is_some_and(|m| d as u32 >= m) {
                break;
            }
            let (lo, hi) = (levels[d], levels[d + 1]);
            if lo == hi {
                break;
            }
            // A big frontier is cheaper to grow backwards: each node not
            // reached yet looks for a parent in the frontier and stops at
            // the first (Beamer's direction-optimizing search).
            let frontier_links: usize = order[lo..hi].iter().map(|&n| adj.degree(n)).sum();
            if frontier_links * 14 > self.edges.len() {
                let rev = self.adjacency(dir.reverse());
                let mut in_frontier = vec![0u64; words];
                for &n in &order[lo..hi] {
                    in_frontier[n as usize / 64] |= 1u64 << (n % 64);
                }
                let before = order.len();
                for v in 0..self.ids.len() as NodeId {
                    if seen[v as usize / 64] & (1u64 << (v % 64)) != 0 || !self.live[v as usize] {
                        continue;
                    }
                    let reached = rev.iter(v).any(|l| {
                        in_frontier[l.other as usize / 64] & (1u64 << (l.other % 64)) != 0
                            && (any_edge || filter.edge_kinds.contains(&l.kind))
                    });
                    if reached {
                        order.push(v);
                    }
                }
                for &v in &order[before..] {
                    seen[v as usize / 64] |= 1u64 << (v % 64);
                }
            } else {
                for i in lo..hi {
                    let n = order[i];
                    for l in adj.iter(n) {
                        let (w, b) = (l.other as usize / 64, 1u64 << (l.other % 64));
                        if seen[w] & b == 0 && (any_edge || filter.edge_kinds.contains(&l.kind)) {
                            seen[w] |= b;
                            order.push(l.other);
                        }
                    }
                }
            }
            levels.push(order.len());
        }
        let mut out = Vec::with_capacity(order.len() - 1);
        for d in 1..levels.len() - 1 {
            out.extend(
                order[levels[d]..levels[d + 1]]
                    .iter()
                    .filter(|&&n| filter.kinds.is_empty() || filter.kinds.contains(&self.kind(n)))
                    .map(|&n| (n, d as u32)),
            );
        }
        out
    }

    /// How many nodes are reachable from `start` in `dir`.
    pub fn closure_size(&self, start: NodeId, dir: Direction) -> usize {
        let adj = self.adjacency(dir);
        let mut seen = vec![false; self.ids.len()];
        seen[start as usize] = true;
        let mut stack = vec![start];
        let mut count = 0;
        while let Some(n) = stack.pop() {
            for l in adj.iter(n) {
                if !seen[l.other as usize] {
                    seen[l.other as usize] = true;
                    count += 1;
                    stack.push(l.other);
                }
            }
        }
        count
    }

    /// A shortest downstream path from `from` to `to`, both included.
    pub fn shortest_path(&self, from: NodeId, to: NodeId) -> Option<Vec<NodeId>> {
        let mut parent = self.unseen();
        parent[from as usize] = from;
        let mut queue = vec![from];
        let mut head = 0;
        while head < queue.len() {
            let n = queue[head];
            head += 1;
            if n == to {
                let mut path = vec![to];
                let mut cur = to;
                while cur != from {
                    cur = parent[cur as usize];
                    path.push(cur);
                }
                path.reverse();
                return Some(path);
            }
            for l in self.out.iter(n) {
                if parent[l.other as usize] == UNSEEN {
                    parent[l.other as usize] = n;
                    queue.push(l.other);
                }
            }
        }
        None
    }

    fn live_nodes(&self) -> impl Iterator<Item = NodeId> + '_ {
        (0..self.ids.len() as NodeId).filter(|&n| self.live[n as usize])
    }

    /// Whether the graph has a directed cycle, and if so one cycle's nodes.
    pub fn find_cycle(&self) -> Option<Vec<NodeId>> {
        // Iterative three-colour depth-first search.
        let mut colour = vec![0u8; self.ids.len()];
        let mut parent = vec![NodeId::MAX; self.ids.len()];
        for root in self.live_nodes() {
            if colour[root as usize] != 0 {
                continue;
            }
            colour[root as usize] = 1;
            let mut stack = vec![(root, self.out.iter(root))];
            while !stack.is_empty() {
                let top = stack.len() - 1;
                let v = stack[top].0;
                let Some(l) = stack[top].1.next() else {
                    colour[v as usize] = 2;
                    stack.pop();
                    continue;
                };
                let w = l.other;
                match colour[w as usize] {
                    0 => {
                        colour[w as usize] = 1;
                        parent[w as usize] = v;
                        stack.push((w, self.out.iter(w)));
                    }
                    1 => {
                        let mut cycle = vec![w];
                        let mut cur = v;
                        while cur != w {
                            cycle.push(cur);
                            cur = parent[cur as usize];
                        }
                        cycle.reverse();
                        return Some(cycle);
                    }
                    _ => {}
                }
            }
        }
        None
    }

    /// For each kept node (`depth[n] != UNSEEN`), the edges among kept
    /// nodes and how many of its neighbours were left out.
    fn cut(&self, order: &[NodeId]) -> (Vec<EdgeTriple>, Vec<(NodeId, usize)>) {
        let kept = Bits::of(self.ids.len(), order);
        let mut edges = Vec::new();
        for &n in order {
            for l in self.out.iter(n) {
                if kept.has(l.other) {
                    edges.push((n, l.other, l.kind));
                }
            }
        }
        let mut stamp = Scratch::new(self.ids.len());
        let more = order
            .iter()
            .map(|&n| (n, self.hidden(n, &kept, &mut stamp)))
            .filter(|&(_, h)| h > 0)
            .collect();
        (edges, more)
    }

    /// How many distinct neighbours of `n` are not `kept`; `stamp` is
    /// scratch space (the last node each neighbour was counted for),
    /// reusable across calls.
    fn hidden(&self, n: NodeId, kept: &Bits, stamp: &mut Marks) -> usize {
        let links = self.out.iter(n).chain(self.inn.iter(n));
        if self.simple[n as usize] {
            return links.filter(|l| !kept.has(l.other)).count();
        }
        let mut count = 0;
        for l in links {
            if !kept.has(l.other) && stamp.get(l.other) != Some(n) {
                stamp.set(l.other, n);
                count += 1;
            }
        }
        count
    }

    /// The neighbourhood of `start` up to `hops` hops in both directions,
    /// holding at most `budget` nodes (`start` included), nearest first.
    /// For each kept node whose neighbours were not all kept, `more` says
    /// how many were left out, so a viewer can offer to expand it.
    pub fn neighbourhood(&self, start: NodeId, hops: u32, budget: usize) -> Neighbourhood {
        let mut depth = Scratch::new(self.ids.len());
        depth.set(start, 0);
        let mut order = vec![start];
        let mut head = 0;
        'walk: while head < order.len() {
            let n = order[head];
            head += 1;
            let d = depth.get(n).expect("queued nodes are marked");
            if d >= hops {
                continue;
            }
            for l in self.out.iter(n).chain(self.inn.iter(n)) {
                if depth.has(l.other) {
                    continue;
                }
                if order.len() >= budget {
                    break 'walk;
                }
                depth.set(l.other, d + 1);
                order.push(l.other);
            }
        }
        let (edges, more) = self.cut(&order);
        let nodes = order
            .iter()
            .map(|&n| (n, depth.get(n).expect("kept nodes are marked")))
            .collect();
        Neighbourhood { nodes, edges, more }
    }

    /// The lineage of `start` as a picture shows it: `up` hops walked
    /// upstream and `down` hops walked downstream, one level of each in
    /// turn, holding at most `budget` nodes (`start` included). Depths are
    /// negative upstream. `more` counts each kept node's neighbours, in
    /// either direction, that were left out.
    pub fn window(&self, start: NodeId, up: u32, down: u32, budget: usize) -> Window {
        let mut depth = self.unseen();
        depth[start as usize] = 0;
        let mut signed: Vec<(NodeId, i64)> = vec![(start, 0)];
        let mut order = vec![start];
        let mut fronts = [vec![start], vec![start]];
        // Each direction walks on its own, so a node met first upstream is
        // still followed downstream when a cycle makes it both.
        let mut walked = [vec![false; self.ids.len()], vec![false; self.ids.len()]];
        walked[0][start as usize] = true;
        walked[1][start as usize] = true;
        let mut level = 0u32;
        'walk: while level < up.max(down) {
            level += 1;
            for (side, dir) in [(0, Direction::Upstream), (1, Direction::Downstream)] {
                let reach = if side == 0 { up } else { down };
                if level > reach {
                    continue;
                }
                let mut next = Vec::new();
                for &n in &fronts[side] {
                    for l in self.adjacency(dir).iter(n) {
                        if walked[side][l.other as usize] {
                            continue;
                        }
                        if depth[l.other as usize] == UNSEEN {
                            if order.len() >= budget {
                                break 'walk;
                            }
                            depth[l.other as usize] = level;
                            order.push(l.other);
                            let d = i64::from(level);
                            signed.push((l.other, if side == 0 { -d } else { d }));
                        }
                        walked[side][l.other as usize] = true;
                        next.push(l.other);
                    }
                }
                fronts[side] = next;
            }
        }
        let (edges, more) = self.cut(&order);
        Window {
            nodes: signed,
            edges,
            more,
        }
    }

    /// Expanding `node` in a drawing that shows `shown`: up to `budget` of
    /// its neighbours not yet drawn, the edges between them and the
    /// drawing, and each drawn node's count of neighbours still hidden.
    pub fn expand(&self, shown: &[NodeId], node: NodeId, budget: usize) -> Expansion {
        let mut depth = self.unseen();
        for &n in shown.iter().chain([&node]) {
            depth[n as usize] = 0;
        }
        let mut added = Vec::new();
        for l in self.out.iter(node).chain(self.inn.iter(node)) {
            if added.len() >= budget {
                break;
            }
            if depth[l.other as usize] == UNSEEN {
                depth[l.other as usize] = 1;
                added.push(l.other);
            }
        }
        let mut edges = Vec::new();
        for &n in &added {
            for l in self.out.iter(n) {
                if depth[l.other as usize] != UNSEEN {
                    edges.push((n, l.other, l.kind));
                }
            }
            for l in self.inn.iter(n) {
                // Edges between two new nodes were taken on the way out.
                if depth[l.other as usize] == 0 {
                    edges.push((l.other, n, l.kind));
                }
            }
        }
        let mut all: Vec<NodeId> = shown.to_vec();
        if !shown.contains(&node) {
            all.push(node);
        }
        all.extend(&added);
        let mut stamp = Scratch::new(self.ids.len());
        let kept = Bits::of(self.ids.len(), &all);
        let more = all
            .iter()
            .map(|&n| (n, self.hidden(n, &kept, &mut stamp)))
            .collect();
        Expansion { added, edges, more }
    }

    /// Every simple downstream path from `from` to `to` with at most
    /// `max_hops` edges, stopping after `limit` paths.
    pub fn simple_paths(
        &self,
        from: NodeId,
        to: NodeId,
        max_hops: usize,
        limit: usize,
    ) -> Vec<Vec<NodeId>> {
        let mut found = Vec::new();
        let mut path = vec![from];
        let mut on_path = vec![false; self.ids.len()];
        on_path[from as usize] = true;
        self.extend_paths(to, max_hops, limit, &mut path, &mut on_path, &mut found);
        found
    }

    fn extend_paths(
        &self,
        to: NodeId,
        max_hops: usize,
        limit: usize,
        path: &mut Vec<NodeId>,
        on_path: &mut [bool],
        found: &mut Vec<Vec<NodeId>>,
    ) {
        let last = *path.last().expect("a path is never empty");
        if last == to {
            found.push(path.clone());
            return;
        }
        if path.len() > max_hops {
            return;
        }
        for l in self.out.iter(last) {
            if found.len() >= limit {
                return;
            }
            if on_path[l.other as usize] {
                continue;
            }
            on_path[l.other as usize] = true;
            path.push(l.other);
            self.extend_paths(to, max_hops, limit, path, on_path, found);
            path.pop();
            on_path[l.other as usize] = false;
        }
    }

    /// The workflows to re-run after `start` changes, upstream ones first.
    /// Workflows on a cycle cannot be ordered; they come last, and
    /// `cyclic` is set.
    pub fn refresh_plan(&self, start: NodeId) -> RefreshPlan {
        let reach: Vec<NodeId> = self
            .closure(start, Direction::Downstream, &Filter::default())
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        // Kahn's algorithm over the start and its descendants, counting only
        // edges among them; the start takes part so that a cycle through it
        // is noticed.
        let mut inside = vec![false; self.ids.len()];
        for &n in reach.iter().chain([&start]) {
            inside[n as usize] = true;
        }
        let mut indegree = vec![0usize; self.ids.len()];
        for &n in reach.iter().chain([&start]) {
            indegree[n as usize] = self
                .inn
                .iter(n)
                .filter(|l| inside[l.other as usize])
                .count();
        }
        // Seeded in walk order, so the plan is reproducible.
        let mut ready: VecDeque<NodeId> = std::iter::once(start)
            .chain(reach.iter().copied())
            .filter(|&n| indegree[n as usize] == 0)
            .collect();
        let mut ordered = Vec::new();
        while let Some(n) = ready.pop_front() {
            ordered.push(n);
            for l in self.out.iter(n) {
                if inside[l.other as usize] {
                    indegree[l.other as usize] -= 1;
                    if indegree[l.other as usize] == 0 {
                        ready.push_back(l.other);
                    }
                }
            }
        }
        let cyclic = ordered.len() < reach.len() + 1;
        ordered.retain(|&n| n != start);
        if cyclic {
            let mut done = vec![false; self.ids.len()];
            for &n in &ordered {
                done[n as usize] = true;
            }
            ordered.extend(reach.iter().copied().filter(|&n| !done[n as usize]));
        }
        let workflows = ordered
            .into_iter()
            .filter(|&n| self.kind(n) == AssetKind::Workflow)
            .collect();
        RefreshPlan { workflows, cyclic }
    }

    /// Strongly connected components by Tarjan's algorithm, iteratively.
    /// Returns each node's component (`UNSEEN` for removed nodes) and the
    /// number of components; a component's number is lower than that of
    /// every component that reaches it, so sinks come first.
    fn components(&self) -> (Vec<u32>, usize) {
        let n = self.ids.len();
        let mut index = vec![UNSEEN; n];
        let mut low = vec![0u32; n];
        let mut on_stack = vec![false; n];
        let mut comp = vec![UNSEEN; n];
        let mut stack: Vec<NodeId> = Vec::new();
        let mut next = 0u32;
        let mut count = 0u32;
        for root in self.live_nodes() {
            if index[root as usize] != UNSEEN {
                continue;
            }
            let mut call = vec![(root, self.out.iter(root))];
            index[root as usize] = next;
            low[root as usize] = next;
            next += 1;
            stack.push(root);
            on_stack[root as usize] = true;
            while !call.is_empty() {
                let top = call.len() - 1;
                let v = call[top].0 as usize;
                if let Some(l) = call[top].1.next() {
                    let w = l.other as usize;
                    if index[w] == UNSEEN {
                        index[w] = next;
                        low[w] = next;
                        next += 1;
                        stack.push(l.other);
                        on_stack[w] = true;
                        call.push((l.other, self.out.iter(l.other)));
                    } else if on_stack[w] {
                        low[v] = low[v].min(index[w]);
                    }
                    continue;
                }
                call.pop();
                if let Some(&(p, _)) = call.last() {
                    low[p as usize] = low[p as usize].min(low[v]);
                }
                if low[v] == index[v] {
                    loop {
                        let w = stack.pop().expect("v is on the stack") as usize;
                        on_stack[w] = false;
                        comp[w] = count;
                        if w == v {
                            break;
                        }
                    }
                    count += 1;
                }
            }
        }
        (comp, count as usize)
    }

    /// The `limit` assets with the most assets downstream of them
    /// (transitively), ties broken by fan-out, then by node. Exact, without
    /// a walk from every asset: an asset with `limit` or more ancestors
    /// outside its own cycle cannot make the list, since each ancestor
    /// reaches strictly more; the rest are walked in order of an upper
    /// bound, stopping once the bound cannot beat the list. The answer is
    /// kept until the graph changes.
    pub fn hubs(&self, limit: usize) -> Vec<Hub> {
        if let Some((k, cached)) = &*self.hub_cache.lock().expect("never poisoned") {
            if *k >= limit || cached.len() < *k {
                return cached.iter().take(limit).copied().collect();
            }
        }
        let hubs = self.compute_hubs(limit);
        *self.hub_cache.lock().expect("never poisoned") = Some((limit, hubs.clone()));
        hubs
    }

    fn compute_hubs(&self, limit: usize) -> Vec<Hub> {
        if limit == 0 {
            return vec![];
        }
        let total = self.node_count();
        let (comp, count) = self.components();
        let mut size = vec![0usize; count];
        let mut members: Vec<Vec<NodeId>> = vec![Vec::new(); count];
        for n in self.live_nodes() {
            size[comp[n as usize] as usize] += 1;
            members[comp[n as usize] as usize].push(n);
        }
        let mut children: Vec<Vec<u32>> = vec![Vec::new(); count];
        let mut parents: Vec<Vec<u32>> = vec![Vec::new(); count];
        for n in self.live_nodes() {
            let c = comp[n as usize];
            for l in self.out.iter(n) {
                let d = comp[l.other as usize];
                if d != c {
                    children[c as usize].push(d);
                    parents[d as usize].push(c);
                }
            }
        }
        for list in children.iter_mut().chain(parents.iter_mut()) {
            list.sort_unstable();
            list.dedup();
        }
        // Upper bound on the nodes reachable from a component outside it:
        // children first, since they have lower numbers.
        let mut bound = vec![0usize; count];
        for c in 0..count {
            let b: usize = children[c]
                .iter()
                .map(|&d| size[d as usize] + bound[d as usize])
                .sum();
            bound[c] = b.min(total);
        }
        // Components with fewer than `limit` ancestor nodes, sources first.
        let mut ancestors: Vec<Option<Vec<u32>>> = vec![None; count];
        let mut mark = vec![UNSEEN; count];
        'comp: for c in (0..count).rev() {
            let mut set: Vec<u32> = Vec::new();
            let mut nodes = 0;
            for &p in &parents[c] {
                let Some(up) = &ancestors[p as usize] else {
                    continue 'comp;
                };
                for &a in up.iter().chain([&p]) {
                    if mark[a as usize] != c as u32 {
                        mark[a as usize] = c as u32;
                        set.push(a);
                        nodes += size[a as usize];
                        if nodes >= limit {
                            continue 'comp;
                        }
                    }
                }
            }
            ancestors[c] = Some(set);
        }
        let mut candidates: Vec<usize> = (0..count).filter(|&c| ancestors[c].is_some()).collect();
        let upper = |c: usize| size[c] - 1 + bound[c];
        candidates.sort_by_key(|&c| std::cmp::Reverse(upper(c)));
        let order = |a: &Hub, b: &Hub| {
            b.downstream
                .cmp(&a.downstream)
                .then(b.fanout.cmp(&a.fanout))
                .then(a.node.cmp(&b.node))
        };
        let mut best: Vec<Hub> = Vec::new();
        for c in candidates {
            if best.len() >= limit && best[limit - 1].downstream > upper(c) {
                break;
            }
            let downstream = self.closure_size(members[c][0], Direction::Downstream);
            best.extend(members[c].iter().map(|&n| Hub {
                node: n,
                downstream,
                fanout: self.fanout(n),
            }));
            best.sort_by(order);
            best.truncate(limit);
        }
        best
    }
}

/// What expanding one node adds to a drawing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expansion {
    pub added: Vec<NodeId>,
    /// New edges: each touches an added node, and is listed once.
    pub edges: Vec<(NodeId, NodeId, EdgeKind)>,
    /// Every drawn node (old and new) with its count of hidden neighbours.
    pub more: Vec<(NodeId, usize)>,
}

/// The lineage window a graph view draws.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Kept nodes with their signed distance: negative upstream.
    pub nodes: Vec<(NodeId, i64)>,
    /// Edges among kept nodes: (from, to, kind).
    pub edges: Vec<(NodeId, NodeId, EdgeKind)>,
    /// Kept nodes with neighbours left out, and how many.
    pub more: Vec<(NodeId, usize)>,
}

/// A bounded piece of the graph around one asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbourhood {
    /// Kept nodes with their hop distance from the start, nearest first.
    pub nodes: Vec<(NodeId, u32)>,
    /// Edges among kept nodes: (from, to, kind).
    pub edges: Vec<(NodeId, NodeId, EdgeKind)>,
    /// Kept nodes with neighbours left out, and how many.
    pub more: Vec<(NodeId, usize)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshPlan {
    pub workflows: Vec<NodeId>,
    pub cyclic: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hub {
    pub node: NodeId,
    pub downstream: usize,
    pub fanout: usize,
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::*;
    use crate::edge::edge_id;

    fn graph(n: usize, edges: &[(usize, usize)]) -> LineageGraph {
        let mut g = LineageGraph::new();
        for i in 0..n {
            let kind = AssetKind::ALL[i % AssetKind::ALL.len()];
            g.upsert_node(&format!("a{i}"), kind, &format!("n{i}"));
        }
        // The first half lands in the compacted block, the rest in the
        // per-node lists, so traversals cross both.
        for (i, &(f, t)) in edges.iter().enumerate() {
            if i == edges.len() / 2 {
                g.compact();
            }
            let (from, to) = (format!("a{f}"), format!("a{t}"));
            let e = Edge {
                id: edge_id(&from, EdgeKind::Derives, &to),
                from,
                to,
                kind: EdgeKind::Derives,
                columns: vec![],
                first_seen: None,
                last_seen: None,
            };
            g.upsert_edge(&e);
        }
        g
    }

    /// The reference: repeated relaxation until nothing changes.
    fn naive_depths(
        n: usize,
        edges: &[(usize, usize)],
        start: usize,
        dir: Direction,
    ) -> HashMap<usize, u32> {
        let mut best: HashMap<usize, u32> = HashMap::from([(start, 0)]);
        for _ in 0..n {
            for &(f, t) in edges {
                let (a, b) = if dir == Direction::Downstream {
                    (f, t)
                } else {
                    (t, f)
                };
                if let Some(&d) = best.get(&a) {
                    let e = best.entry(b).or_insert(u32::MAX);
                    *e = (*e).min(d + 1);
                }
            }
        }
        best.remove(&start);
        best
    }

    /// The reference count of `v`'s neighbours, in either direction, that
    /// are not in `kept`.
    fn hidden_neighbours(edges: &[(usize, usize)], v: usize, kept: &HashSet<usize>) -> usize {
        edges
            .iter()
            .filter_map(|&(f, t)| {
                if f == v {
                    Some(t)
                } else if t == v {
                    Some(f)
                } else {
                    None
                }
            })
            .filter(|o| !kept.contains(o))
            .collect::<HashSet<_>>()
            .len()
    }

    fn edges_strategy() -> impl Strategy<Value = (usize, Vec<(usize, usize)>)> {
        (1usize..30).prop_flat_map(|n| (Just(n), prop::collection::vec((0..n, 0..n), 0..80)))
    }

    proptest! {
        #[test]
        fn closure_matches_the_reference((n, edges) in edges_strategy(), start in 0usize..30, down in any::<bool>()) {
            let start = start % n;
            let dir = if down { Direction::Downstream } else { Direction::Upstream };
            let g = graph(n, &edges);
            let got: HashMap<usize, u32> = g.closure(start as NodeId, dir, &Filter::default()).into_iter().map(|(v, d)| (v as usize, d)).collect();
            prop_assert_eq!(got, naive_depths(n, &edges, start, dir));
        }

        #[test]
        fn depth_and_kind_filters_restrict_the_closure((n, edges) in edges_strategy(), start in 0usize..30, depth in 0u32..4) {
            let start = start % n;
            let g = graph(n, &edges);
            let filter = Filter { kinds: vec![AssetKind::Model, AssetKind::Feature], max_depth: Some(depth), ..Default::default() };
            let got: HashMap<usize, u32> = g.closure(start as NodeId, Direction::Downstream, &filter).into_iter().map(|(v, d)| (v as usize, d)).collect();
            let want: HashMap<usize, u32> = naive_depths(n, &edges, start, Direction::Downstream)
                .into_iter()
                .filter(|(v, d)| *d <= depth && filter.kinds.contains(&AssetKind::ALL[v % 7]))
                .collect();
            prop_assert_eq!(got, want);
        }

        #[test]
        fn shortest_paths_are_real_and_shortest((n, edges) in edges_strategy(), a in 0usize..30, b in 0usize..30) {
            let (a, b) = (a % n, b % n);
            let g = graph(n, &edges);
            let depths = naive_depths(n, &edges, a, Direction::Downstream);
            match g.shortest_path(a as NodeId, b as NodeId) {
                Some(path) => {
                    let set: HashSet<(usize, usize)> = edges.iter().copied().collect();
                    for w in path.windows(2) {
                        prop_assert!(set.contains(&(w[0] as usize, w[1] as usize)));
                    }
                    let want = if a == b { 0 } else { depths[&b] };
                    prop_assert_eq!(path.len() as u32 - 1, want);
                }
                None => prop_assert!(a != b && !depths.contains_key(&b)),
            }
        }

        #[test]
        fn cycles_are_found_exactly_when_they_exist((n, edges) in edges_strategy()) {
            let g = graph(n, &edges);
            // A node on a cycle reaches itself.
            let has_cycle = (0..n).any(|v| edges.iter().any(|&(f, t)| f == v && (t == v || naive_depths(n, &edges, t, Direction::Downstream).contains_key(&v))));
            match g.find_cycle() {
                Some(c) => {
                    prop_assert!(has_cycle);
                    let set: HashSet<(usize, usize)> = edges.iter().copied().collect();
                    for i in 0..c.len() {
                        let (f, t) = (c[i] as usize, c[(i + 1) % c.len()] as usize);
                        prop_assert!(set.contains(&(f, t)), "{f}->{t} is not an edge");
                    }
                }
                None => prop_assert!(!has_cycle),
            }
        }

        #[test]
        fn neighbourhoods_respect_hops_and_budget_and_count_what_they_leave_out((n, edges) in edges_strategy(), start in 0usize..30, hops in 0u32..4, budget in 1usize..12) {
            let start = start % n;
            let g = graph(n, &edges);
            let hood = g.neighbourhood(start as NodeId, hops, budget);
            let both: Vec<(usize, usize)> = edges.iter().flat_map(|&(f, t)| [(f, t), (t, f)]).collect();
            let undirected = naive_depths(n, &both, start, Direction::Downstream);
            prop_assert!(hood.nodes.len() <= budget);
            prop_assert_eq!(hood.nodes[0], (start as NodeId, 0));
            let kept: HashSet<usize> = hood.nodes.iter().map(|&(v, _)| v as usize).collect();
            for &(v, d) in &hood.nodes[1..] {
                prop_assert_eq!(undirected[&(v as usize)], d, "depths are shortest undirected distances");
                prop_assert!(d <= hops);
            }
            if hood.nodes.len() < budget {
                let want: HashSet<usize> = undirected.iter().filter(|(_, d)| **d <= hops).map(|(v, _)| *v).chain([start]).collect();
                prop_assert_eq!(&kept, &want, "with budget to spare, every node within reach is kept");
            }
            for &(v, hidden) in &hood.more {
                prop_assert_eq!(hidden, hidden_neighbours(&edges, v as usize, &kept));
            }
            let kept_edges = edges.iter().filter(|(f, t)| kept.contains(f) && kept.contains(t)).collect::<HashSet<_>>().len();
            prop_assert_eq!(hood.edges.len(), kept_edges);
        }

        #[test]
        fn simple_paths_match_a_brute_force_enumeration((n, edges) in edges_strategy(), a in 0usize..30, b in 0usize..30) {
            let (n, edges): (usize, Vec<(usize, usize)>) = (n.min(8), edges.into_iter().filter(|&(f, t)| f < 8 && t < 8).collect());
            let (a, b) = (a % n, b % n);
            let g = graph(n, &edges);
            let set: HashSet<(usize, usize)> = edges.iter().copied().collect();
            // Brute force: every sequence of distinct nodes from a to b whose steps are edges.
            fn all(n: usize, set: &HashSet<(usize, usize)>, path: &mut Vec<usize>, b: usize, out: &mut HashSet<Vec<usize>>) {
                let last = *path.last().unwrap();
                if last == b { out.insert(path.clone()); return; }
                for next in 0..n {
                    if !path.contains(&next) && set.contains(&(last, next)) {
                        path.push(next);
                        all(n, set, path, b, out);
                        path.pop();
                    }
                }
            }
            let mut want = HashSet::new();
            all(n, &set, &mut vec![a], b, &mut want);
            let got: HashSet<Vec<usize>> = g.simple_paths(a as NodeId, b as NodeId, 8, usize::MAX).into_iter().map(|p| p.into_iter().map(|v| v as usize).collect()).collect();
            prop_assert_eq!(got, want);
        }

        #[test]
        fn refresh_plans_order_workflows_along_the_edges((n, edges) in edges_strategy(), start in 0usize..30) {
            let start = start % n;
            let g = graph(n, &edges);
            let plan = g.refresh_plan(start as NodeId);
            let reach = naive_depths(n, &edges, start, Direction::Downstream);
            let want: HashSet<usize> = reach.keys().copied().filter(|v| AssetKind::ALL[v % 7] == AssetKind::Workflow).collect();
            let got: Vec<usize> = plan.workflows.iter().map(|&v| v as usize).collect();
            prop_assert_eq!(got.iter().copied().collect::<HashSet<_>>(), want);
            prop_assert_eq!(got.len(), plan.workflows.len());
            if !plan.cyclic {
                // A workflow that reaches another comes before it.
                for (i, &x) in got.iter().enumerate() {
                    for &y in &got[..i] {
                        prop_assert!(!naive_depths(n, &edges, x, Direction::Downstream).contains_key(&y), "{x} reaches {y} but comes after it");
                    }
                }
            }
        }

        #[test]
        fn hubs_match_a_walk_from_every_node((n, edges) in edges_strategy(), limit in 0usize..8) {
            let g = graph(n, &edges);
            let distinct: HashSet<(usize, usize)> = edges.iter().copied().collect();
            let mut want: Vec<(usize, usize, usize)> = (0..n)
                .map(|v| (naive_depths(n, &edges, v, Direction::Downstream).len(), distinct.iter().filter(|e| e.0 == v).count(), v))
                .collect();
            want.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
            want.truncate(limit);
            let got: Vec<(usize, usize, usize)> = g.hubs(limit).into_iter().map(|h| (h.downstream, h.fanout, h.node as usize)).collect();
            prop_assert_eq!(&got, &want);
            // A smaller list comes from the cached answer and must agree.
            let fewer: Vec<(usize, usize, usize)> = g.hubs(limit / 2).into_iter().map(|h| (h.downstream, h.fanout, h.node as usize)).collect();
            prop_assert_eq!(&fewer[..], &want[..(limit / 2).min(want.len())]);
        }

        #[test]
        fn windows_walk_each_direction_to_its_own_depth((n, edges) in edges_strategy(), start in 0usize..30, up in 0u32..4, down in 0u32..4, budget in 1usize..40) {
            let start = start % n;
            let g = graph(n, &edges);
            let w = g.window(start as NodeId, up, down, budget);
            let ups = naive_depths(n, &edges, start, Direction::Upstream);
            let downs = naive_depths(n, &edges, start, Direction::Downstream);
            prop_assert!(w.nodes.len() <= budget);
            prop_assert_eq!(w.nodes[0], (start as NodeId, 0));
            for &(v, d) in &w.nodes[1..] {
                let v = v as usize;
                if d < 0 {
                    prop_assert_eq!(i64::from(ups[&v]), -d);
                    prop_assert!(-d <= i64::from(up));
                } else {
                    prop_assert_eq!(i64::from(downs[&v]), d);
                    prop_assert!(d <= i64::from(down));
                }
            }
            let kept: HashSet<usize> = w.nodes.iter().map(|&(v, _)| v as usize).collect();
            prop_assert_eq!(kept.len(), w.nodes.len(), "no node twice");
            if w.nodes.len() < budget {
                let want: HashSet<usize> = ups.iter().filter(|(_, d)| **d <= up).map(|(v, _)| *v)
                    .chain(downs.iter().filter(|(_, d)| **d <= down).map(|(v, _)| *v))
                    .chain([start])
                    .collect();
                prop_assert_eq!(&kept, &want);
            }
            let distinct: HashSet<(usize, usize)> = edges.iter().copied().collect();
            for &(v, hidden) in &w.more {
                prop_assert_eq!(hidden, hidden_neighbours(&edges, v as usize, &kept));
            }
            prop_assert_eq!(w.edges.len(), distinct.iter().filter(|(f, t)| kept.contains(f) && kept.contains(t)).count());
        }

        #[test]
        fn expanding_adds_hidden_neighbours_and_recounts((n, edges) in edges_strategy(), shown in prop::collection::vec(0usize..30, 1..8), node in 0usize..30, budget in 1usize..10) {
            let g = graph(n, &edges);
            let mut shown: Vec<NodeId> = shown.into_iter().map(|v| (v % n) as NodeId).collect();
            shown.sort_unstable();
            shown.dedup();
            let node = shown[node % shown.len()];
            let x = g.expand(&shown, node, budget);
            let distinct: HashSet<(usize, usize)> = edges.iter().copied().collect();
            let neighbours: HashSet<usize> = distinct.iter().filter_map(|&(f, t)| if f == node as usize { Some(t) } else if t == node as usize { Some(f) } else { None }).collect();
            let before: HashSet<usize> = shown.iter().map(|&v| v as usize).collect();
            let added: HashSet<usize> = x.added.iter().map(|&v| v as usize).collect();
            prop_assert_eq!(added.len(), x.added.len());
            prop_assert!(added.is_subset(&neighbours) && added.is_disjoint(&before));
            prop_assert_eq!(added.len(), budget.min(neighbours.difference(&before).count()));
            let after: HashSet<usize> = before.union(&added).copied().collect();
            let want_edges: HashSet<(usize, usize)> = distinct.iter().copied().filter(|(f, t)| after.contains(f) && after.contains(t) && (added.contains(f) || added.contains(t))).collect();
            let got_edges: Vec<(usize, usize)> = x.edges.iter().map(|&(f, t, _)| (f as usize, t as usize)).collect();
            prop_assert_eq!(got_edges.len(), want_edges.len(), "each new edge once");
            prop_assert_eq!(got_edges.into_iter().collect::<HashSet<_>>(), want_edges);
            prop_assert_eq!(x.more.len(), after.len());
            for &(v, hidden) in &x.more {
                prop_assert_eq!(hidden, hidden_neighbours(&edges, v as usize, &after));
            }
        }

        #[test]
        fn removals_and_compaction_give_the_graph_built_from_what_is_left((n, edges) in edges_strategy(), drop in prop::collection::vec(any::<bool>(), 80), compact in any::<bool>()) {
            let mut g = graph(n, &edges);
            let mut left = Vec::new();
            for (i, &(f, t)) in edges.iter().enumerate() {
                if drop[i] {
                    g.remove_edge(&edge_id(&format!("a{f}"), EdgeKind::Derives, &format!("a{t}")));
                }
            }
            for (i, &e) in edges.iter().enumerate() {
                if !drop[i] && !edges[..i].iter().enumerate().any(|(j, &o)| o == e && drop[j]) && !edges[i + 1..].iter().enumerate().any(|(j, &o)| o == e && drop[i + 1 + j]) {
                    left.push(e);
                }
            }
            if compact {
                g.compact();
            }
            let fresh = graph(n, &left);
            prop_assert_eq!(g.edge_count(), fresh.edge_count());
            for v in 0..n as NodeId {
                for dir in [Direction::Upstream, Direction::Downstream] {
                    let mut a = g.closure(v, dir, &Filter::default());
                    let mut b = fresh.closure(v, dir, &Filter::default());
                    a.sort_unstable();
                    b.sort_unstable();
                    prop_assert_eq!(a, b);
                }
                prop_assert_eq!(g.fanout(v), fresh.fanout(v));
                prop_assert_eq!(g.fanin(v), fresh.fanin(v));
            }
        }

        #[test]
        fn an_encoded_graph_decodes_to_one_that_answers_the_same((n, edges) in edges_strategy(), gone in prop::collection::vec(any::<bool>(), 30), cut in any::<prop::sample::Index>()) {
            let mut g = graph(n, &edges);
            for (v, _) in gone.iter().enumerate().take(n).filter(|(_, &d)| d) {
                g.remove_node(&format!("a{v}"));
            }
            let bytes = g.encode();
            let back = LineageGraph::decode(&bytes).unwrap();
            prop_assert_eq!(back.edge_count(), g.edge_count());
            let names = |h: &LineageGraph, v: &[(NodeId, u32)]| {
                let mut out: Vec<(String, u32)> = v.iter().map(|&(x, d)| (h.asset_id(x).to_string(), d)).collect();
                out.sort();
                out
            };
            for v in (0..n).filter(|&v| !gone[v]) {
                let id = format!("a{v}");
                let (a, b) = (g.id_of(&id).unwrap(), back.id_of(&id).unwrap());
                prop_assert_eq!(g.name(a), back.name(b));
                prop_assert_eq!(g.kind(a), back.kind(b));
                for dir in [Direction::Upstream, Direction::Downstream] {
                    prop_assert_eq!(names(&g, &g.closure(a, dir, &Filter::default())), names(&back, &back.closure(b, dir, &Filter::default())));
                }
            }
            for v in (0..n).filter(|&v| gone[v]) {
                let id = format!("a{v}");
                prop_assert!(back.id_of(&id).is_none());
            }
            // A damaged image is refused, never misread.
            if !bytes.is_empty() {
                let at = cut.index(bytes.len());
                prop_assert!(LineageGraph::decode(&bytes[..at]).is_err());
            }
        }
    }

    #[test]
    fn removing_edges_and_nodes_updates_both_directions() {
        let mut g = graph(4, &[(0, 1), (1, 2), (2, 3)]);
        assert_eq!(
            g.closure(0, Direction::Downstream, &Filter::default())
                .len(),
            3
        );
        g.remove_edge(&edge_id("a1", EdgeKind::Derives, "a2"));
        assert_eq!(
            g.closure(0, Direction::Downstream, &Filter::default()),
            vec![(1, 1)]
        );
        assert_eq!(
            g.closure(3, Direction::Upstream, &Filter::default()),
            vec![(2, 1)]
        );
        g.remove_node("a2");
        assert_eq!(
            g.closure(3, Direction::Upstream, &Filter::default()),
            vec![]
        );
        assert_eq!((g.node_count(), g.edge_count()), (3, 1));
    }
}

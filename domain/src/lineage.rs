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

/// Which way to walk: downstream follows edges (impact), upstream walks them
/// backwards (lineage).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Upstream,
    Downstream,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Node {
    id: String,
    kind: AssetKind,
    name: String,
    live: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Link {
    other: NodeId,
    kind: EdgeKind,
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

#[derive(Debug, Default, Clone)]
pub struct LineageGraph {
    nodes: Vec<Node>,
    index: HashMap<String, NodeId>,
    out: Vec<Vec<Link>>,
    inn: Vec<Vec<Link>>,
    edges: HashMap<String, (NodeId, NodeId, EdgeKind)>,
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
        &self.nodes[n as usize].id
    }

    pub fn kind(&self, n: NodeId) -> AssetKind {
        self.nodes[n as usize].kind
    }

    pub fn name(&self, n: NodeId) -> &str {
        &self.nodes[n as usize].name
    }

    /// Adds an asset, or updates its kind and name; returns its node.
    pub fn upsert_node(&mut self, asset: &str, kind: AssetKind, name: &str) -> NodeId {
        if let Some(&n) = self.index.get(asset) {
            let node = &mut self.nodes[n as usize];
            node.kind = kind;
            node.name = name.to_string();
            return n;
        }
        let n = self.nodes.len() as NodeId;
        self.nodes.push(Node {
            id: asset.to_string(),
            kind,
            name: name.to_string(),
            live: true,
        });
        self.out.push(Vec::new());
        self.inn.push(Vec::new());
        self.index.insert(asset.to_string(), n);
        n
    }

    /// Removes an asset and its edges. Its dense id is not reused.
    pub fn remove_node(&mut self, asset: &str) {
        let Some(n) = self.index.remove(asset) else {
            return;
        };
        self.nodes[n as usize].live = false;
        self.edges.retain(|_, (f, t, _)| *f != n && *t != n);
        for Link { other, .. } in std::mem::take(&mut self.out[n as usize]) {
            self.inn[other as usize].retain(|l| l.other != n);
        }
        for Link { other, .. } in std::mem::take(&mut self.inn[n as usize]) {
            self.out[other as usize].retain(|l| l.other != n);
        }
    }

    /// Adds an edge between two known assets; false if an end is unknown.
    pub fn upsert_edge(&mut self, edge: &Edge) -> bool {
        let (Some(f), Some(t)) = (self.id_of(&edge.from), self.id_of(&edge.to)) else {
            return false;
        };
        if self
            .edges
            .insert(edge.id.clone(), (f, t, edge.kind))
            .is_none()
        {
            self.out[f as usize].push(Link {
                other: t,
                kind: edge.kind,
            });
            self.inn[t as usize].push(Link {
                other: f,
                kind: edge.kind,
            });
        }
        true
    }

    pub fn remove_edge(&mut self, edge_id: &str) {
        let Some((f, t, kind)) = self.edges.remove(edge_id) else {
            return;
        };
        if let Some(pos) = self.out[f as usize]
            .iter()
            .position(|l| l.other == t && l.kind == kind)
        {
            self.out[f as usize].swap_remove(pos);
        }
        if let Some(pos) = self.inn[t as usize]
            .iter()
            .position(|l| l.other == f && l.kind == kind)
        {
            self.inn[t as usize].swap_remove(pos);
        }
    }

    /// The nodes `n` points to, with the edge kinds.
    pub fn downstream_of(&self, n: NodeId) -> impl Iterator<Item = (NodeId, EdgeKind)> + '_ {
        self.out[n as usize].iter().map(|l| (l.other, l.kind))
    }

    fn links(&self, n: NodeId, dir: Direction) -> &[Link] {
        match dir {
            Direction::Downstream => &self.out[n as usize],
            Direction::Upstream => &self.inn[n as usize],
        }
    }

    /// Every node reachable from `start` in `dir`, with its hop distance,
    /// in breadth-first order; `start` itself is not included.
    pub fn closure(&self, start: NodeId, dir: Direction, filter: &Filter) -> Vec<(NodeId, u32)> {
        let mut depth: HashMap<NodeId, u32> = HashMap::from([(start, 0)]);
        let mut queue = VecDeque::from([start]);
        let mut out = Vec::new();
        while let Some(n) = queue.pop_front() {
            let d = depth[&n];
            if filter.max_depth.is_some_and(|m| d >= m) {
                continue;
            }
            for l in self.links(n, dir) {
                if !filter.edge_kinds.is_empty() && !filter.edge_kinds.contains(&l.kind) {
                    continue;
                }
                if depth.contains_key(&l.other) {
                    continue;
                }
                depth.insert(l.other, d + 1);
                queue.push_back(l.other);
                if filter.kinds.is_empty() || filter.kinds.contains(&self.kind(l.other)) {
                    out.push((l.other, d + 1));
                }
            }
        }
        out
    }

    /// A shortest downstream path from `from` to `to`, both included.
    pub fn shortest_path(&self, from: NodeId, to: NodeId) -> Option<Vec<NodeId>> {
        let mut parent: HashMap<NodeId, NodeId> = HashMap::from([(from, from)]);
        let mut queue = VecDeque::from([from]);
        while let Some(n) = queue.pop_front() {
            if n == to {
                let mut path = vec![to];
                let mut cur = to;
                while cur != from {
                    cur = parent[&cur];
                    path.push(cur);
                }
                path.reverse();
                return Some(path);
            }
            for l in &self.out[n as usize] {
                parent.entry(l.other).or_insert_with(|| {
                    queue.push_back(l.other);
                    n
                });
            }
        }
        None
    }

    /// Whether the graph has a directed cycle, and if so one cycle's nodes.
    pub fn find_cycle(&self) -> Option<Vec<NodeId>> {
        // Iterative three-colour depth-first search.
        let n = self.nodes.len();
        let mut colour = vec![0u8; n];
        let mut parent = vec![NodeId::MAX; n];
        for root in 0..n {
            if colour[root] != 0 || !self.nodes[root].live {
                continue;
            }
            let mut stack: Vec<(NodeId, usize)> = vec![(root as NodeId, 0)];
            colour[root] = 1;
            while let Some((v, i)) = stack.pop() {
                let links = &self.out[v as usize];
                if i < links.len() {
                    stack.push((v, i + 1));
                    let w = links[i].other;
                    match colour[w as usize] {
                        0 => {
                            colour[w as usize] = 1;
                            parent[w as usize] = v;
                            stack.push((w, 0));
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
                } else {
                    colour[v as usize] = 2;
                }
            }
        }
        None
    }

    /// The neighbourhood of `start` up to `hops` hops in both directions,
    /// holding at most `budget` nodes (`start` included), nearest first.
    /// For each kept node whose neighbours were not all kept, `more` says
    /// how many were left out, so a viewer can offer to expand it.
    pub fn neighbourhood(&self, start: NodeId, hops: u32, budget: usize) -> Neighbourhood {
        let mut depth: HashMap<NodeId, u32> = HashMap::from([(start, 0)]);
        let mut order = vec![start];
        let mut queue = VecDeque::from([start]);
        'walk: while let Some(n) = queue.pop_front() {
            let d = depth[&n];
            if d >= hops {
                continue;
            }
            for l in self.out[n as usize].iter().chain(&self.inn[n as usize]) {
                if depth.contains_key(&l.other) {
                    continue;
                }
                if order.len() >= budget {
                    break 'walk;
                }
                depth.insert(l.other, d + 1);
                order.push(l.other);
                queue.push_back(l.other);
            }
        }
        let mut edges = Vec::new();
        let mut more = Vec::new();
        for &n in &order {
            let mut hidden = 0;
            for l in &self.out[n as usize] {
                if depth.contains_key(&l.other) {
                    edges.push((n, l.other, l.kind));
                } else {
                    hidden += 1;
                }
            }
            hidden += self.inn[n as usize]
                .iter()
                .filter(|l| !depth.contains_key(&l.other))
                .count();
            if hidden > 0 {
                more.push((n, hidden));
            }
        }
        let nodes = order.into_iter().map(|n| (n, depth[&n])).collect();
        Neighbourhood { nodes, edges, more }
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
        let mut on_path = vec![false; self.nodes.len()];
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
        for l in &self.out[last as usize] {
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
        let inside: std::collections::HashSet<NodeId> =
            reach.iter().copied().chain([start]).collect();
        let mut indegree: HashMap<NodeId, usize> = inside
            .iter()
            .map(|&n| {
                (
                    n,
                    self.inn[n as usize]
                        .iter()
                        .filter(|l| inside.contains(&l.other))
                        .count(),
                )
            })
            .collect();
        // Seeded in walk order, not hash order, so the plan is reproducible.
        let mut ready: VecDeque<NodeId> = std::iter::once(start)
            .chain(reach.iter().copied())
            .filter(|n| indegree[n] == 0)
            .collect();
        let mut ordered = Vec::new();
        while let Some(n) = ready.pop_front() {
            ordered.push(n);
            for l in &self.out[n as usize] {
                if let Some(d) = indegree.get_mut(&l.other) {
                    *d -= 1;
                    if *d == 0 {
                        ready.push_back(l.other);
                    }
                }
            }
        }
        let cyclic = ordered.len() < inside.len();
        ordered.retain(|&n| n != start);
        if cyclic {
            let done: std::collections::HashSet<NodeId> = ordered.iter().copied().collect();
            ordered.extend(reach.iter().copied().filter(|n| !done.contains(n)));
        }
        let workflows = ordered
            .into_iter()
            .filter(|&n| self.kind(n) == AssetKind::Workflow)
            .collect();
        RefreshPlan { workflows, cyclic }
    }

    /// Assets ranked by how many assets depend on them transitively, then by
    /// fan-out. Exact: one walk per asset, so its cost grows with the square
    /// of the graph; fine for tens of thousands of assets.
    pub fn hubs(&self, limit: usize) -> Vec<Hub> {
        let mut all: Vec<Hub> = self
            .index
            .values()
            .map(|&n| Hub {
                node: n,
                downstream: self
                    .closure(n, Direction::Downstream, &Filter::default())
                    .len(),
                fanout: self.out[n as usize].len(),
            })
            .collect();
        all.sort_by(|a, b| {
            b.downstream
                .cmp(&a.downstream)
                .then(b.fanout.cmp(&a.fanout))
                .then(a.node.cmp(&b.node))
        });
        all.truncate(limit);
        all
    }
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
        for &(f, t) in edges {
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
                let v = v as usize;
                let distinct: HashSet<&(usize, usize)> = edges.iter().collect();
                let left_out = distinct.into_iter().filter(|&&(f, t)| (f == v && !kept.contains(&t)) || (t == v && !kept.contains(&f))).count();
                prop_assert_eq!(hidden, left_out);
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
        fn hubs_rank_by_downstream_count_then_fanout((n, edges) in edges_strategy()) {
            let g = graph(n, &edges);
            let hubs = g.hubs(5);
            prop_assert_eq!(hubs.len(), n.min(5));
            for h in &hubs {
                prop_assert_eq!(h.downstream, naive_depths(n, &edges, h.node as usize, Direction::Downstream).len());
            }
            let best = (0..n).map(|v| naive_depths(n, &edges, v, Direction::Downstream).len()).max().unwrap();
            prop_assert_eq!(hubs[0].downstream, best);
            for w in hubs.windows(2) {
                prop_assert!((w[0].downstream, w[0].fanout) >= (w[1].downstream, w[1].fanout));
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

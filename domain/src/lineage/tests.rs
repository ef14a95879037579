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
    /// The windows of every hop, paged to the end, list each asset of the
    /// reference closure once, at its distance, and the counts shown are
    /// the reference's.
    #[test]
    fn hop_windows_page_through_the_whole_closure((n, edges) in edges_strategy(), start in 0usize..30, down in any::<bool>(), limit in 1usize..5) {
        let start = start % n;
        let dir = if down { Direction::Downstream } else { Direction::Upstream };
        let g = graph(n, &edges);
        let want = naive_depths(n, &edges, start, dir);
        let first = g.hops(start as NodeId, dir, None, limit, None);
        let mut got: HashMap<usize, u32> = HashMap::new();
        for hop in &first {
            let d = hop.depth.unsigned_abs() as u32;
            prop_assert_eq!(hop.depth.signum(), if down { 1 } else { -1 });
            prop_assert_eq!(hop.nodes.total, want.values().filter(|&&w| w == d).count());
            let mut offset = 0;
            let mut names = vec![];
            loop {
                let page = g.hops(start as NodeId, dir, None, limit, Some((d, offset)));
                let this = &page[d as usize - 1].nodes;
                prop_assert_eq!(this.total, hop.nodes.total);
                prop_assert_eq!(this.offset, offset);
                if this.items.is_empty() { break; }
                for &v in &this.items {
                    prop_assert!(got.insert(v as usize, d).is_none(), "listed twice");
                    names.push(g.name(v).to_string());
                }
                offset += limit;
            }
            prop_assert!(names.windows(2).all(|w| w[0] <= w[1]), "in name order");
        }
        prop_assert_eq!(got, want);
    }

    /// Paging through the direct neighbours gives every edge once.
    #[test]
    fn neighbour_windows_list_every_edge((n, edges) in edges_strategy(), at in 0usize..30, limit in 1usize..5) {
        let at = at % n;
        let g = graph(n, &edges);
        let mut want: Vec<usize> = edges.iter().filter(|&&(f, _)| f == at).map(|&(_, t)| t).collect::<HashSet<_>>().into_iter().collect();
        want.sort_unstable();
        let mut got = vec![];
        let mut offset = 0;
        loop {
            let w = g.neighbours(at as NodeId, Direction::Downstream, offset, limit);
            prop_assert_eq!(w.total, want.len());
            if w.items.is_empty() { break; }
            got.extend(w.items.iter().map(|&(v, _)| v as usize));
            offset += limit;
        }
        got.sort_unstable();
        prop_assert_eq!(got, want);
    }
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
        let got: HashSet<Vec<usize>> = g.simple_paths(a as NodeId, b as NodeId, 8, usize::MAX, usize::MAX).paths.into_iter().map(|p| p.into_iter().map(|v| v as usize).collect()).collect();
        prop_assert_eq!(got, want.clone());
        // With fewer hops allowed, exactly the paths that short.
        let short: HashSet<Vec<usize>> = want.into_iter().filter(|p| p.len() <= 4).collect();
        let got: HashSet<Vec<usize>> = g.simple_paths(a as NodeId, b as NodeId, 3, usize::MAX, usize::MAX).paths.into_iter().map(|p| p.into_iter().map(|v| v as usize).collect()).collect();
        prop_assert_eq!(got, short);
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

/// 12 layers of 10 nodes, each linked to every node of the next layer:
/// about 10¹¹ simple paths from the first layer to the last.
fn lattice() -> LineageGraph {
    let mut edges = Vec::new();
    for layer in 0..11 {
        for a in 0..10 {
            for b in 0..10 {
                edges.push((layer * 10 + a, (layer + 1) * 10 + b));
            }
        }
    }
    graph(120, &edges)
}

#[test]
fn path_search_on_a_lattice_stops_at_its_budget() {
    let g = lattice();
    let found = g.simple_paths(0, 115, 12, usize::MAX, 5_000);
    assert!(!found.complete);
    assert!(!found.paths.is_empty() && found.paths.len() <= 5_000);
    assert!(found
        .paths
        .iter()
        .all(|p| p.len() == 12 && p[0] == 0 && p[11] == 115));
    // One path is found at once: every step heads for the target.
    let one = g.simple_paths(0, 115, 12, 1, 100);
    assert!(one.complete);
    assert_eq!(one.paths.len(), 1);
}

#[test]
fn path_search_to_an_unreachable_target_takes_no_step() {
    let g = lattice();
    // Upstream of the start, and too far for the hops allowed.
    let back = g.simple_paths(115, 0, 12, usize::MAX, 0);
    assert!(back.complete && back.paths.is_empty());
    let far = g.simple_paths(0, 115, 10, usize::MAX, 0);
    assert!(far.complete && far.paths.is_empty());
}

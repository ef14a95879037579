//! The graph as of T against a replay of its history up to T.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::*;
use crate::edge::edge_id;

/// One step of a history; each happens at its own moment, except that a
/// re-import drops several edges at once.
#[derive(Debug, Clone)]
enum Step {
    AddNode(usize),
    AddEdge(usize, usize, usize),
    RemoveEdge(usize, usize, usize),
    RemoveNode(usize),
    /// A re-import that no longer has these edges.
    Drop(Vec<(usize, usize, usize)>),
}

const NODES: usize = 8;
const KINDS: [EdgeKind; 2] = [EdgeKind::Derives, EdgeKind::Reads];

fn step() -> impl Strategy<Value = Step> {
    let n = 0..NODES;
    let edge = (0..NODES, 0..NODES, 0..KINDS.len());
    prop_oneof![
        2 => n.clone().prop_map(Step::AddNode),
        5 => edge.clone().prop_map(|(f, t, k)| Step::AddEdge(f, t, k)),
        2 => edge.clone().prop_map(|(f, t, k)| Step::RemoveEdge(f, t, k)),
        1 => n.prop_map(Step::RemoveNode),
        1 => prop::collection::vec(edge, 1..4)
            .prop_map(Step::Drop),
    ]
}

fn asset(i: usize) -> String {
    format!("dataset:ns:a{i}")
}

fn edge(f: usize, t: usize, k: usize) -> Edge {
    let (from, to) = (asset(f), asset(t));
    Edge {
        id: edge_id(&from, KINDS[k], &to),
        from,
        to,
        kind: KINDS[k],
        columns: vec![],
        first_seen: None,
        last_seen: None,
    }
}

/// Applies a step: with times to `timed`, and to `plain` (the timeless
/// graph of a replay) when it is given.
fn apply(g: &mut LineageGraph, step: &Step, at: Option<Millis>) {
    match step {
        Step::AddNode(i) => match at {
            Some(at) => {
                g.upsert_node_at(&asset(*i), AssetKind::Dataset, "a", at);
            }
            None => {
                g.upsert_node(&asset(*i), AssetKind::Dataset, "a");
            }
        },
        Step::AddEdge(f, t, k) => {
            let e = edge(*f, *t, *k);
            match at {
                Some(at) => g.upsert_edge_at(&e, at),
                None => g.upsert_edge(&e),
            };
        }
        Step::RemoveEdge(f, t, k) => {
            let id = edge(*f, *t, *k).id;
            match at {
                Some(at) => g.remove_edge_at(&id, at),
                None => g.remove_edge(&id),
            }
        }
        Step::RemoveNode(i) => match at {
            Some(at) => g.remove_node_at(&asset(*i), at),
            None => g.remove_node(&asset(*i)),
        },
        Step::Drop(edges) => {
            for (f, t, k) in edges {
                let id = edge(*f, *t, *k).id;
                match at {
                    Some(at) => g.remove_edge_at(&id, at),
                    None => g.remove_edge(&id),
                }
            }
        }
    }
}

/// What a walk reaches, by asset id and distance.
fn reached(g: &LineageGraph, found: Vec<(NodeId, u32)>) -> BTreeSet<(String, u32)> {
    found
        .into_iter()
        .map(|(n, d)| (g.asset_id(n).to_string(), d))
        .collect()
}

fn edges_of(g: &LineageGraph, n: NodeId, dir: Direction, at: Option<Millis>) -> BTreeSet<String> {
    match at {
        Some(t) => g
            .edges_at(n, dir, t)
            .map(|e| edge_id(g.asset_id(e.from), e.kind, g.asset_id(e.to)))
            .collect(),
        None => {
            let list: Vec<(NodeId, EdgeKind)> = match dir {
                Direction::Downstream => g.downstream_of(n).collect(),
                Direction::Upstream => g.upstream_of(n).collect(),
            };
            list.into_iter()
                .map(|(m, kind)| {
                    let (f, t) = match dir {
                        Direction::Downstream => (n, m),
                        Direction::Upstream => (m, n),
                    };
                    edge_id(g.asset_id(f), kind, g.asset_id(t))
                })
                .collect()
        }
    }
}

/// Checks the graph as of `t` against `replay`, the history up to `t`
/// applied without times.
fn same_as_replay(g: &LineageGraph, replay: &LineageGraph, t: Millis) -> Result<(), TestCaseError> {
    for i in 0..NODES {
        let id = asset(i);
        let (then, now) = (g.node_at(&id, t), replay.id_of(&id));
        prop_assert_eq!(then.is_some(), now.is_some(), "{} exists as of {}", id, t);
        let (Some(then), Some(now)) = (then, now) else {
            continue;
        };
        for dir in [Direction::Upstream, Direction::Downstream] {
            for depth in [None, Some(1)] {
                let filter = Filter {
                    max_depth: depth,
                    ..Filter::default()
                };
                prop_assert_eq!(
                    reached(g, g.closure_at(then, dir, &filter, t)),
                    reached(replay, replay.closure(now, dir, &filter)),
                    "{} {:?} depth {:?} as of {}",
                    id,
                    dir,
                    depth,
                    t
                );
            }
            prop_assert_eq!(
                edges_of(g, then, dir, Some(t)),
                edges_of(replay, now, dir, None),
                "edges of {} {:?} as of {}",
                id,
                dir,
                t
            );
        }
        // Paths from here to every asset of then: the shortest one's
        // length, and every simple path.
        for j in 0..NODES {
            let (Some(to_then), Some(to_now)) = (g.node_at(&asset(j), t), replay.id_of(&asset(j)))
            else {
                continue;
            };
            let ids = |g: &LineageGraph, paths: Vec<Vec<NodeId>>| -> BTreeSet<Vec<String>> {
                paths
                    .into_iter()
                    .map(|p| p.into_iter().map(|n| g.asset_id(n).to_string()).collect())
                    .collect()
            };
            let at = At::Moment(t);
            prop_assert_eq!(
                g.shortest_path_at(then, to_then, at).map(|p| p.len()),
                replay.shortest_path(now, to_now).map(|p| p.len())
            );
            prop_assert_eq!(
                ids(
                    g,
                    g.simple_paths_at(then, to_then, (12, 1000, 100_000), at)
                        .paths
                ),
                ids(
                    replay,
                    replay.simple_paths(now, to_now, 12, 1000, 100_000).paths
                ),
                "paths {} to {} as of {}",
                id,
                asset(j),
                t
            );
        }
    }
    // The hubs then: every asset's count downstream and fan-out.
    let hubs = |g: &LineageGraph, hubs: Vec<Hub>| -> BTreeSet<(String, usize, usize)> {
        hubs.into_iter()
            .map(|h| (g.asset_id(h.node).to_string(), h.downstream, h.fanout))
            .collect()
    };
    prop_assert_eq!(
        hubs(g, g.hubs_at(NODES, t)),
        hubs(replay, replay.hubs(NODES)),
        "hubs as of {}",
        t
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// For random histories of writes, deletes and re-imports, the graph
    /// as of T equals a replay of the history up to T, for every T at
    /// which something changed (and the moments between), before and after
    /// an encode and decode, and the graph as of the last moment is the
    /// current one. The index is compacted once along the way, so spans
    /// end both in its block and among those added since.
    #[test]
    fn the_graph_as_of_t_is_the_history_replayed_up_to_t(
        steps in prop::collection::vec(step(), 1..40),
        compact_after in 0usize..40,
    ) {
        let mut g = LineageGraph::new();
        // Moments 10, 20, ...: the ones between are checked too.
        for (i, s) in steps.iter().enumerate() {
            apply(&mut g, s, Some(10 * (i as Millis + 1)));
            if i == compact_after {
                g.compact();
            }
        }
        let decoded = LineageGraph::decode(&g.encode()).map_err(TestCaseError::fail)?;
        let mut replay = LineageGraph::new();
        for (i, s) in steps.iter().enumerate() {
            let at = 10 * (i as Millis + 1);
            apply(&mut replay, s, None);
            for t in [at, at + 5] {
                same_as_replay(&g, &replay, t)?;
                same_as_replay(&decoded, &replay, t)?;
            }
        }
        // Before anything, nothing.
        for i in 0..NODES {
            prop_assert!(g.node_at(&asset(i), 0).is_none());
        }
        let changes = g.change_times();
        prop_assert!(changes.iter().all(|t| t % 10 == 0));
    }
}

#[test]
fn an_edge_that_ended_is_walked_before_its_end_and_not_after() {
    let mut g = LineageGraph::new();
    for i in 0..3 {
        g.upsert_node_at(&asset(i), AssetKind::Dataset, "a", 100);
    }
    g.upsert_edge_at(&edge(0, 1, 0), 200);
    g.upsert_edge_at(&edge(1, 2, 0), 300);
    // The first edge ends; the second stays.
    g.remove_edge_at(&edge(0, 1, 0).id, 400);
    let at = |t| {
        let a0 = g.node_at(&asset(0), t).unwrap();
        reached(
            &g,
            g.closure_at(a0, Direction::Downstream, &Filter::default(), t),
        )
    };
    assert!(at(150).is_empty(), "before any edge");
    assert_eq!(at(250).len(), 1);
    assert_eq!(at(350).len(), 2, "both edges were valid at 350");
    assert!(at(400).is_empty(), "the edge ended at 400");
    // A walk from the middle as of 450 still finds the second edge: one
    // edge's end hides nothing else.
    let a1 = g.node_at(&asset(1), 450).unwrap();
    assert_eq!(
        g.closure_at(a1, Direction::Downstream, &Filter::default(), 450)
            .len(),
        1
    );
    assert_eq!(g.change_times(), vec![100, 200, 300, 400]);
    let a2 = g.node_at(&asset(2), 450).unwrap();
    assert_eq!(g.moments_around(a2, 1, 100), vec![100, 300]);
    assert_eq!(g.moments_around(a2, 2, 100), vec![100, 200, 300, 400]);
}

#[test]
fn a_deleted_asset_keeps_its_past_and_one_created_again_starts_anew() {
    let mut g = LineageGraph::new();
    g.upsert_node_at(&asset(0), AssetKind::Dataset, "a", 10);
    g.upsert_node_at(&asset(1), AssetKind::Model, "m", 10);
    g.upsert_edge_at(&edge(0, 1, 0), 20);
    g.remove_node_at(&asset(0), 30);
    assert!(g.id_of(&asset(0)).is_none());
    let old = g.node_at(&asset(0), 25).expect("it existed at 25");
    assert_eq!(g.validity(old), (10, 30));
    let m = g.node_at(&asset(1), 25).unwrap();
    assert_eq!(
        g.closure_at(m, Direction::Upstream, &Filter::default(), 25),
        vec![(old, 1)]
    );
    assert!(g
        .closure_at(m, Direction::Upstream, &Filter::default(), 35)
        .is_empty());
    // Created again: a new node from 40, none between 30 and 40.
    let new = g.upsert_node_at(&asset(0), AssetKind::Dataset, "a", 40);
    assert_ne!(new, old);
    assert!(g.node_at(&asset(0), 35).is_none());
    assert_eq!(g.node_at(&asset(0), 45), Some(new));
    assert_eq!(g.node_at(&asset(0), 25), Some(old));
    let d = LineageGraph::decode(&g.encode()).unwrap();
    let old_d = d.node_at(&asset(0), 25).unwrap();
    assert_eq!(d.validity(old_d), (10, 30));
    let m_d = d.node_at(&asset(1), 25).unwrap();
    assert_eq!(
        d.closure_at(m_d, Direction::Upstream, &Filter::default(), 25)
            .len(),
        1
    );
}

#[test]
fn spans_keep_their_kind_and_times_exactly() {
    use super::spans::Span;
    let times = [
        ALWAYS,
        0,
        1,
        10,
        1_700_000_000_123,
        16_000_000_000_000,
        OPEN,
    ];
    for kind in EdgeKind::ALL {
        for &since in &times {
            for &until in times.iter().filter(|&&u| u > since) {
                let mut s = Span::new(7, kind, since, until);
                assert_eq!(
                    (s.other, s.kind(), s.since(), s.until()),
                    (7, kind, since, until)
                );
                s.set_until(OPEN);
                assert_eq!((s.kind(), s.since(), s.until()), (kind, since, OPEN));
            }
        }
    }
    // Before 1970 counts as 1970; past the year 2527 as then.
    assert_eq!(Span::new(0, EdgeKind::Reads, -5, OPEN).since(), 0);
    assert!(Span::new(0, EdgeKind::Reads, 0, 1_000_000_000_000_000).until() < OPEN);
}

#[test]
fn forgetting_before_a_moment_keeps_every_walk_since() {
    let mut g = LineageGraph::new();
    for i in 0..4 {
        g.upsert_node_at(&asset(i), AssetKind::Dataset, "a", 100);
    }
    g.upsert_edge_at(&edge(0, 1, 0), 200);
    g.upsert_edge_at(&edge(1, 2, 0), 200);
    g.upsert_edge_at(&edge(2, 3, 0), 200);
    g.remove_edge_at(&edge(0, 1, 0).id, 300);
    g.remove_node_at(&asset(3), 500);
    let down = |g: &LineageGraph, from: usize, t: Millis| {
        g.node_at(&asset(from), t).map(|n| {
            reached(
                g,
                g.closure_at(n, Direction::Downstream, &Filter::default(), t),
            )
        })
    };
    let before: Vec<_> = [250, 350, 450, 600].map(|t| down(&g, 1, t)).into();
    // Nothing had ended by 250: nothing goes.
    assert_eq!(g.forget_before(250), 0);
    // The edge that ended at 300 goes; what was valid since 400 stays.
    assert_eq!(g.forget_before(400), 1);
    assert_eq!(down(&g, 0, 250), Some(BTreeSet::new()));
    for (i, t) in [350, 450, 600].into_iter().enumerate() {
        assert_eq!(down(&g, 1, t), before[i + 1], "as of {t}");
    }
    // The asset deleted at 500 goes, with its edge.
    assert_eq!(g.forget_before(500), 2);
    assert!(g.node_at(&asset(3), 450).is_none());
    assert!(!g.was_deleted(&asset(3)));
    assert_eq!(down(&g, 1, 600), before[3]);
    let decoded = LineageGraph::decode(&g.encode()).unwrap();
    assert_eq!(decoded.change_times(), g.change_times());
}

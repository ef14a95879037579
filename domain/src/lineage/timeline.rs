//! The graph through time: when each asset and edge was valid, so that a
//! walk can answer "as of" any moment.
//!
//! The current adjacency (`out`, `inn`) stays exactly what it was, so a
//! walk at the present costs what it always did. Beside it, every node
//! keeps the spans of every edge that ever touched it, `[since, until)`,
//! in both directions; a walk as of `t` follows the spans valid at `t`
//! and nothing else. An edge that ends (deleted, dropped by a re-import,
//! gone with its asset) keeps its span with an end, and an asset that is
//! deleted keeps its node, no longer live, with the moment it ended; one
//! created again under the same id gets a new node. So a walk as of `t` is
//! exact: each edge is judged by its own span, never hidden because
//! another edge on the way was not valid.
//!
//! Times are milliseconds since the Unix epoch. What the graph is told
//! without a time (`upsert_edge`, `remove_node`, ...) counts as timeless:
//! valid since the beginning, or erased from history when removed.

use super::spans::{pack_time, Span, Spans};
use super::*;

/// A moment: milliseconds since the Unix epoch, UTC.
pub type Millis = i64;

/// The end of a span that has not ended.
pub const OPEN: Millis = Millis::MAX;

/// The beginning of time: what was added without a time is valid since.
pub const ALWAYS: Millis = Millis::MIN;

/// Validity of every node and edge, past and present.
#[derive(Debug, Clone, Default)]
pub(super) struct Timeline {
    pub(super) out: Spans,
    pub(super) inn: Spans,
    pub(super) born: Vec<Millis>,
    pub(super) died: Vec<Millis>,
    /// Nodes of assets that were deleted, by asset id, oldest first.
    pub(super) past: HashMap<Box<str>, Vec<NodeId>>,
}

impl Timeline {
    pub(super) fn grow(&mut self, nodes: usize, born: Millis) {
        self.born.resize(nodes, born);
        self.died.resize(nodes, OPEN);
    }

    pub(super) fn spans(&self, dir: Direction) -> &Spans {
        match dir {
            Direction::Downstream => &self.out,
            Direction::Upstream => &self.inn,
        }
    }

    fn add(&mut self, f: NodeId, t: NodeId, kind: EdgeKind, since: Millis, until: Millis) {
        self.out.push(f, Span::new(t, kind, since, until));
        self.inn.push(t, Span::new(f, kind, since, until));
        // An asset existed at least from when an edge of it was seen.
        for n in [f, t] {
            let b = &mut self.born[n as usize];
            *b = (*b).min(since);
        }
    }

    /// Ends the open span of the edge `f -kind-> t` at `at`. A span that
    /// ends when it began was never valid: an edge erased from history,
    /// not one that ended.
    pub(super) fn close(&mut self, f: NodeId, t: NodeId, kind: EdgeKind, at: Millis) {
        for (spans, n, other) in [(&mut self.out, f, t), (&mut self.inn, t, f)] {
            if let Some(s) = spans.open_mut(n, other, kind) {
                let until = at.max(s.since());
                s.set_until(until);
            }
        }
    }

    pub(super) fn compact(&mut self) {
        self.out.compact();
        self.inn.compact();
    }

    pub(super) fn heap_bytes(&self) -> usize {
        let past: usize = self
            .past
            .iter()
            .map(|(k, v)| k.len() + v.capacity() * 4 + 40)
            .sum();
        self.out.heap_bytes()
            + self.inn.heap_bytes()
            + (self.born.capacity() + self.died.capacity()) * 8
            + past
    }
}

/// One edge valid at a moment, by its ends' nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimedEdge {
    pub from: NodeId,
    pub to: NodeId,
    pub kind: EdgeKind,
    pub since: Millis,
    pub until: Millis,
}

impl LineageGraph {
    /// Adds an asset that appeared at `at`, or updates its kind and name
    /// (an asset that exists keeps when it appeared).
    pub fn upsert_node_at(
        &mut self,
        asset: &str,
        kind: AssetKind,
        name: &str,
        at: Millis,
    ) -> NodeId {
        let known = self.index.contains_key(asset);
        let n = self.upsert_node(asset, kind, name);
        if !known {
            self.timeline.born[n as usize] = at;
        }
        n
    }

    /// Adds an edge that appeared at `at` (the first time it is seen; an
    /// edge that exists keeps its start). False if an end is unknown.
    pub fn upsert_edge_at(&mut self, edge: &Edge, at: Millis) -> bool {
        let existed = self.has_edge(&edge.id);
        if !self.upsert_edge_timeless(edge) {
            return false;
        }
        if !existed {
            let (f, t) = (self.index[edge.from.as_str()], self.index[edge.to.as_str()]);
            self.timeline.add(f, t, edge.kind, at, OPEN);
        }
        true
    }

    /// Ends an edge at `at`: it leaves the current graph and keeps its span.
    pub fn remove_edge_at(&mut self, edge_id: &str, at: Millis) {
        let key = edge_key(edge_id);
        if let Some(&(f, t, kind)) = self.edges.get(&key) {
            self.timeline.close(f, t, kind, at);
        }
        self.remove_edge_timeless(edge_id);
    }

    /// Ends an asset and its edges at `at`; its node stays, not live, for
    /// walks of the past.
    pub fn remove_node_at(&mut self, asset: &str, at: Millis) {
        let Some(&n) = self.index.get(asset) else {
            return;
        };
        let outs: Vec<(NodeId, EdgeKind)> = self.downstream_of(n).collect();
        let ins: Vec<(NodeId, EdgeKind)> = self.upstream_of(n).collect();
        for (t, kind) in outs {
            self.timeline.close(n, t, kind, at);
        }
        for (f, kind) in ins {
            self.timeline.close(f, n, kind, at);
        }
        self.remove_node_timeless(asset);
        let tl = &mut self.timeline;
        if at <= tl.born[n as usize] {
            // Ended when it began: erased from history.
            tl.died[n as usize] = tl.born[n as usize];
            return;
        }
        tl.died[n as usize] = at;
        tl.past.entry(asset.into()).or_default().push(n);
    }

    /// Adds the node of an asset that existed over `[born, died)` and is
    /// gone now, as a catalog's history records it.
    pub fn add_past_node(
        &mut self,
        asset: &str,
        kind: AssetKind,
        name: &str,
        born: Millis,
        died: Millis,
    ) -> Option<NodeId> {
        if died <= born {
            return None;
        }
        let n = self.push_node(asset, kind, name, false);
        self.timeline.born[n as usize] = born;
        self.timeline.died[n as usize] = died;
        let list = self.timeline.past.entry(asset.into()).or_default();
        list.push(n);
        let born_of = &self.timeline.born;
        list.sort_by_key(|&m| born_of[m as usize]);
        Some(n)
    }

    /// Adds an edge that was valid over `[since, until)` and has ended, as
    /// a catalog's history records it. Its ends are the nodes of the two
    /// assets valid just before it ended (an edge may have been seen before
    /// its assets were recorded: they existed from then, as when it was
    /// added); false if there are none.
    pub fn add_past_edge(
        &mut self,
        from: &str,
        to: &str,
        kind: EdgeKind,
        since: Millis,
        until: Millis,
    ) -> bool {
        if until <= since {
            return false;
        }
        let last = until - 1;
        let (Some(f), Some(t)) = (self.node_at(from, last), self.node_at(to, last)) else {
            return false;
        };
        self.timeline.add(f, t, kind, since, until);
        true
    }

    /// Forgets what ended before `cutoff`: the spans of edges that ended by
    /// then and the nodes of assets deleted by then, so that the history
    /// kept is that since `cutoff` (see `MLGRAPH_HISTORY_DAYS`). Walks as
    /// of a moment since `cutoff` answer as before. Returns how many
    /// edges' and assets' histories went.
    pub fn forget_before(&mut self, cutoff: Millis) -> usize {
        let tl = &mut self.timeline;
        let mut forgotten = tl.out.erase_ended_by(cutoff);
        tl.inn.erase_ended_by(cutoff);
        let (born, died) = (&mut tl.born, &tl.died);
        tl.past.retain(|_, nodes| {
            nodes.retain(|&n| {
                let gone = died[n as usize] <= cutoff;
                if gone {
                    // Never valid from now on.
                    born[n as usize] = died[n as usize];
                    forgotten += 1;
                }
                !gone
            });
            !nodes.is_empty()
        });
        tl.compact();
        forgotten
    }

    /// The node of `asset` as of `t`: the live one if it had appeared by
    /// then, else the one of a deleted asset that was valid at `t`.
    pub fn node_at(&self, asset: &str, t: Millis) -> Option<NodeId> {
        let tl = &self.timeline;
        let valid = |n: NodeId| tl.born[n as usize] <= t && t < tl.died[n as usize];
        self.index
            .get(asset)
            .copied()
            .filter(|&n| valid(n))
            .or_else(|| tl.past.get(asset)?.iter().copied().find(|&n| valid(n)))
    }

    /// The live node of `asset`, or the last one it had if it was deleted.
    pub fn latest_node(&self, asset: &str) -> Option<NodeId> {
        self.index
            .get(asset)
            .copied()
            .or_else(|| self.timeline.past.get(asset)?.last().copied())
    }

    /// Bytes the history holds on the heap (part of
    /// [`LineageGraph::heap_bytes`]).
    pub fn timeline_heap_bytes(&self) -> usize {
        self.timeline.heap_bytes()
    }

    /// Whether an asset with this id was deleted at some moment.
    pub fn was_deleted(&self, asset: &str) -> bool {
        self.timeline.past.contains_key(asset)
    }

    /// When `n`'s asset appeared, and when it ended ([`OPEN`] if it has
    /// not).
    pub fn validity(&self, n: NodeId) -> (Millis, Millis) {
        (
            self.timeline.born[n as usize],
            self.timeline.died[n as usize],
        )
    }

    /// The edges of `n` in `dir` valid at `t`, with their spans.
    pub fn edges_at(
        &self,
        n: NodeId,
        dir: Direction,
        t: Millis,
    ) -> impl Iterator<Item = TimedEdge> + '_ {
        let at = pack_time(t);
        let spans = self.timeline.spans(dir);
        spans.of(n).filter(move |s| s.holds(at)).map(move |s| {
            let (from, to) = match dir {
                Direction::Downstream => (n, s.other),
                Direction::Upstream => (s.other, n),
            };
            TimedEdge {
                from,
                to,
                kind: s.kind(),
                since: s.since(),
                until: s.until(),
            }
        })
    }

    /// [`LineageGraph::closure`] over the graph as it was at `t`: every
    /// edge valid at `t`, and no other, is followed.
    pub fn closure_at(
        &self,
        start: NodeId,
        dir: Direction,
        filter: &Filter,
        t: Millis,
    ) -> Vec<(NodeId, u32)> {
        let tl = &self.timeline;
        let (fw, bw) = (tl.spans(dir), tl.spans(dir.reverse()));
        let at = pack_time(t);
        let valid = move |s: &&Span| s.holds(at);
        self.level_walk(
            start,
            filter,
            |n| fw.of(n).filter(valid).map(|s| (s.other, s.kind())),
            |v| bw.of(v).filter(valid).map(|s| (s.other, s.kind())),
            |v| tl.born[v as usize] <= t && t < tl.died[v as usize],
        )
    }

    /// The moments at which something began or ended around `start`: in
    /// the assets within `depth` hops of it over edges of any time (both
    /// directions), at most `budget` of them, the spans of their edges and
    /// their own. In order, timeless additions excluded: the stops of a
    /// time slider over `start`'s lineage.
    pub fn moments_around(&self, start: NodeId, depth: u32, budget: usize) -> Vec<Millis> {
        let tl = &self.timeline;
        let mut seen = vec![false; self.ids.len()];
        seen[start as usize] = true;
        let mut frontier = vec![start];
        let mut visited = vec![start];
        let mut times = Vec::new();
        for _ in 0..depth {
            let mut next = Vec::new();
            for &n in &frontier {
                for s in tl.out.of(n).chain(tl.inn.of(n)).filter(|s| !s.erased()) {
                    times.extend([s.since(), s.until()]);
                    if !seen[s.other as usize] && visited.len() < budget {
                        seen[s.other as usize] = true;
                        visited.push(s.other);
                        next.push(s.other);
                    }
                }
            }
            frontier = next;
        }
        times.extend(
            visited
                .iter()
                .flat_map(|&n| [tl.born[n as usize], tl.died[n as usize]]),
        );
        times.retain(|&t| t != ALWAYS && t != OPEN);
        times.sort_unstable();
        times.dedup();
        times
    }

    /// Every moment at which something in the graph began or ended, in
    /// order (timeless additions excluded).
    pub fn change_times(&self) -> Vec<Millis> {
        let tl = &self.timeline;
        let mut times: Vec<Millis> = tl
            .out
            .all()
            .flat_map(|(_, s)| [s.since(), s.until()])
            // Nodes that were never valid (erased, or forgotten) count not.
            .chain(
                tl.born
                    .iter()
                    .zip(&tl.died)
                    .filter(|(b, d)| b < d)
                    .flat_map(|(&b, &d)| [b, d]),
            )
            .filter(|&t| t != ALWAYS && t != OPEN)
            .collect();
        times.sort_unstable();
        times.dedup();
        times
    }
}

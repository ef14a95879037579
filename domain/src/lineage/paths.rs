//! Simple paths between two assets.
//!
//! Enumerating simple paths is exponential in the worst case: a lattice of
//! 12 layers of 10 datasets, which anyone who may import can build, holds
//! about 10¹¹ of them. So the search only enters nodes from which the
//! target is still reachable within the hops left (found first by a
//! backward breadth-first walk from the target), which makes an unreachable
//! target cost one walk and nothing more, and it stops after a budget of
//! steps, saying so.

use super::*;

/// The most steps one search for simple paths takes (a step extends a
/// partial path by one edge): a few milliseconds.
pub const PATH_STEP_BUDGET: usize = 200_000;

/// What a search for simple paths found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimplePaths {
    pub paths: Vec<Vec<NodeId>>,
    /// Whether the search ran to its end (or to `limit` paths); false when
    /// the step budget stopped it first.
    pub complete: bool,
}

impl LineageGraph {
    /// Simple downstream paths from `from` to `to` with at most `max_hops`
    /// edges, in walk order, stopping after `limit` paths or `budget` steps.
    pub fn simple_paths(
        &self,
        from: NodeId,
        to: NodeId,
        max_hops: usize,
        limit: usize,
        budget: usize,
    ) -> SimplePaths {
        self.simple_paths_at(from, to, (max_hops, limit, budget), At::Now)
    }

    /// [`LineageGraph::simple_paths`] over the graph as of `at`, with
    /// (`max_hops`, `limit`, `budget`).
    pub fn simple_paths_at(
        &self,
        from: NodeId,
        to: NodeId,
        (max_hops, limit, budget): (usize, usize, usize),
        at: At,
    ) -> SimplePaths {
        let mut out = SimplePaths {
            paths: Vec::new(),
            complete: true,
        };
        if limit == 0 {
            return out;
        }
        // Hops from each node to `to`, for the nodes within `max_hops`.
        let mut to_target = Scratch::new(self.ids.len());
        to_target.set(to, 0);
        let mut frontier = vec![to];
        for d in 1..=max_hops as u32 {
            let mut next = Vec::new();
            for &n in &frontier {
                for (other, _) in self.links(n, Direction::Upstream, at) {
                    if !to_target.has(other) {
                        to_target.set(other, d);
                        next.push(other);
                    }
                }
            }
            if next.is_empty() {
                break;
            }
            frontier = next;
        }
        if !to_target.has(from) {
            return out;
        }
        let mut on_path = Scratch::new(self.ids.len());
        on_path.set(from, 1);
        let mut walk = Walk {
            at,
            to,
            max_hops,
            limit,
            steps_left: budget,
            path: vec![from],
        };
        walk.extend(self, &to_target, &mut on_path, &mut out);
        out
    }
}

struct Walk {
    at: At,
    to: NodeId,
    max_hops: usize,
    limit: usize,
    steps_left: usize,
    path: Vec<NodeId>,
}

impl Walk {
    fn extend(
        &mut self,
        g: &LineageGraph,
        to_target: &Marks,
        on_path: &mut Marks,
        out: &mut SimplePaths,
    ) {
        let last = *self.path.last().expect("a path is never empty");
        if last == self.to {
            out.paths.push(self.path.clone());
            return;
        }
        let hops = self.path.len() - 1;
        for (other, _) in g.links(last, Direction::Downstream, self.at) {
            if out.paths.len() >= self.limit || !out.complete {
                return;
            }
            if on_path.get(other) == Some(1) {
                continue;
            }
            // Only nodes that still reach the target in the hops left.
            match to_target.get(other) {
                Some(d) if hops + 1 + d as usize <= self.max_hops => {}
                _ => continue,
            }
            if self.steps_left == 0 {
                out.complete = false;
                return;
            }
            self.steps_left -= 1;
            on_path.set(other, 1);
            self.path.push(other);
            self.extend(g, to_target, on_path, out);
            self.path.pop();
            on_path.set(other, 0);
        }
    }
}

//! The subgraph impact analysis reads, filled from the index: names and
//! column ids are borrowed from it, so nothing is copied per asset.

use super::*;
use crate::impact::{Local, Subgraph};

impl LineageGraph {
    /// `root` and everything downstream of it, with owners, production
    /// flags and column mappings, for [`crate::impact::analyze_subgraph`].
    pub fn impact_subgraph(&self, root: NodeId) -> Subgraph<'_> {
        self.impact_subgraph_at(root, At::Now)
    }

    /// [`LineageGraph::impact_subgraph`] over the graph as of `at`, with
    /// today's owners, production flags and column mappings (an edge that
    /// has ended has none).
    pub fn impact_subgraph_at(&self, root: NodeId, at: At) -> Subgraph<'_> {
        let mut sub = Subgraph::new(self.facts.names());
        let all = Filter::default();
        let closure = match at {
            At::Now => self.closure(root, Direction::Downstream, &all),
            At::Moment(t) => self.closure_at(root, Direction::Downstream, &all, t),
        };
        let mut local: Vec<Local> = vec![UNSEEN; self.ids.len()];
        let mut nodes = Vec::with_capacity(closure.len() + 1);
        for n in std::iter::once(root).chain(closure.into_iter().map(|(m, _)| m)) {
            if local[n as usize] == UNSEEN {
                let i = n as usize;
                local[i] = sub.add_node(
                    &self.ids[i],
                    self.kinds[i],
                    &self.names[i],
                    self.owners(n),
                    self.production(n),
                );
                nodes.push(n);
            }
        }
        for &n in &nodes {
            for (other, kind) in self.links(n, Direction::Downstream, at) {
                let to = local[other as usize];
                if to != UNSEEN {
                    let pairs = self.facts.pairs(&(n, other, kind));
                    sub.add_link(local[n as usize], to, kind, pairs.iter().copied());
                }
            }
        }
        sub.finish();
        sub
    }
}

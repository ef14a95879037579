//! Which graph a walk sees: the current one, or the one valid at a past
//! moment (the spans of `timeline`), through one iterator of links, so
//! that paths and hubs answer "as of" with the same code as now.

use super::spans::pack_time;
use super::*;

/// The graph a walk runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    /// The current graph (the adjacency).
    Now,
    /// The graph as it was at a moment: the edges and assets valid then.
    Moment(Millis),
}

/// The links of one node in the current graph, or at a moment.
pub(super) enum Links<A, B> {
    Now(A),
    Then(B),
}

impl<A, B> Iterator for Links<A, B>
where
    A: Iterator<Item = (NodeId, EdgeKind)>,
    B: Iterator<Item = (NodeId, EdgeKind)>,
{
    type Item = (NodeId, EdgeKind);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Links::Now(a) => a.next(),
            Links::Then(b) => b.next(),
        }
    }
}

impl LineageGraph {
    /// The nodes `n` links to in `dir`, with the edge kinds, as of `at`.
    pub fn links(
        &self,
        n: NodeId,
        dir: Direction,
        at: At,
    ) -> impl Iterator<Item = (NodeId, EdgeKind)> + '_ {
        match at {
            At::Now => Links::Now(self.adjacency(dir).iter(n).map(|l| (l.other, l.kind))),
            At::Moment(t) => {
                let packed = pack_time(t);
                Links::Then(
                    self.timeline
                        .spans(dir)
                        .of(n)
                        .filter(move |s| s.holds(packed))
                        .map(|s| (s.other, s.kind())),
                )
            }
        }
    }

    /// The assets' nodes as of `at` (those of deleted assets, for a past
    /// moment, included).
    pub fn nodes_at(&self, at: At) -> impl Iterator<Item = NodeId> + '_ {
        (0..self.ids.len() as NodeId).filter(move |&n| match at {
            At::Now => self.live[n as usize],
            At::Moment(t) => {
                let (born, died) = self.validity(n);
                born <= t && t < died
            }
        })
    }
}

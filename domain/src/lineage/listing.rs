//! Windows over an asset's neighbours and over its lineage by distance,
//! in name order, for pages that show a few dozen of possibly hundreds of
//! thousands. Only the items up to the window's end are sorted.

use std::cmp::Ordering;

use super::{Direction, Filter, LineageGraph, NodeId};
use crate::edge::EdgeKind;
use crate::page::{window_by, Listing};

/// The assets at one distance, windowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HopNodes {
    /// Negative upstream, positive downstream.
    pub depth: i64,
    pub nodes: Listing<NodeId>,
}

impl LineageGraph {
    /// Name order, then id, so that the order is total and pages tile.
    fn by_name(&self, a: NodeId, b: NodeId) -> Ordering {
        self.name(a)
            .cmp(self.name(b))
            .then_with(|| self.asset_id(a).cmp(self.asset_id(b)))
    }

    /// One window of `n`'s direct neighbours in `dir`, one item per edge,
    /// by name (then id, then edge kind).
    pub fn neighbours(
        &self,
        n: NodeId,
        dir: Direction,
        offset: usize,
        limit: usize,
    ) -> Listing<(NodeId, EdgeKind)> {
        let all: Vec<(NodeId, EdgeKind)> = match dir {
            Direction::Upstream => self.upstream_of(n).collect(),
            Direction::Downstream => self.downstream_of(n).collect(),
        };
        let total = all.len();
        let items = window_by(all, offset, limit, |a, b| {
            self.by_name(a.0, b.0)
                .then_with(|| a.1.as_str().cmp(b.1.as_str()))
        });
        Listing {
            total,
            offset,
            items,
        }
    }

    /// What `start` reaches in `dir` (within `max_depth` hops, if given),
    /// hop by hop, nearest first: for each distance how many assets there
    /// are and `limit` of them by name, from `offset` at the distance
    /// `paged` and from the first elsewhere.
    pub fn hops(
        &self,
        start: NodeId,
        dir: Direction,
        max_depth: Option<u32>,
        limit: usize,
        paged: Option<(u32, usize)>,
    ) -> Vec<HopNodes> {
        let sign = match dir {
            Direction::Upstream => -1,
            Direction::Downstream => 1,
        };
        let mut by_depth: Vec<Vec<NodeId>> = Vec::new();
        let filter = Filter {
            max_depth,
            ..Filter::default()
        };
        for (n, d) in self.closure(start, dir, &filter) {
            let d = d as usize;
            if by_depth.len() < d {
                by_depth.resize_with(d, Vec::new);
            }
            by_depth[d - 1].push(n);
        }
        by_depth
            .into_iter()
            .enumerate()
            .map(|(i, nodes)| {
                let depth = i as u32 + 1;
                let offset = match paged {
                    Some((d, o)) if d == depth => o,
                    _ => 0,
                };
                let total = nodes.len();
                let items = window_by(nodes, offset, limit, |&a, &b| self.by_name(a, b));
                HopNodes {
                    depth: sign * i64::from(depth),
                    nodes: Listing {
                        total,
                        offset,
                        items,
                    },
                }
            })
            .collect()
    }
}

/// Another asset of the same kind built from the same upstream assets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reuse {
    pub node: NodeId,
    /// The shared upstream assets, or `n` itself when it is the source.
    pub via: Vec<NodeId>,
}

impl LineageGraph {
    /// What to reuse before building something like `n`: the features and
    /// models of its kind that derive from or train on the same datasets
    /// and features, most shared first. For an asset that is not built
    /// from anything (a raw dataset), the features and models built
    /// directly on it, by name.
    pub fn reuse(&self, n: NodeId, limit: usize) -> Vec<Reuse> {
        use crate::asset::AssetKind;
        let built = |k: AssetKind| matches!(k, AssetKind::Feature | AssetKind::Model);
        let kind = self.kind(n);
        let mut sources: Vec<NodeId> = self
            .upstream_of(n)
            .map(|(s, _)| s)
            .filter(|&s| matches!(self.kind(s), AssetKind::Dataset | AssetKind::Feature))
            .collect();
        sources.sort_unstable();
        sources.dedup();
        if sources.is_empty() || !built(kind) {
            let mut direct: Vec<NodeId> = self
                .downstream_of(n)
                .map(|(m, _)| m)
                .filter(|&m| built(self.kind(m)))
                .collect();
            direct.sort_unstable();
            direct.dedup();
            return window_by(direct, 0, limit, |&a, &b| self.by_name(a, b))
                .into_iter()
                .map(|node| Reuse { node, via: vec![n] })
                .collect();
        }
        let mut found: std::collections::HashMap<NodeId, Vec<NodeId>> = Default::default();
        for &s in &sources {
            for (m, ek) in self.downstream_of(s) {
                if m != n
                    && self.kind(m) == kind
                    && matches!(ek, EdgeKind::Derives | EdgeKind::Trains)
                {
                    let via = found.entry(m).or_default();
                    if via.last() != Some(&s) {
                        via.push(s);
                    }
                }
            }
        }
        let all: Vec<Reuse> = found
            .into_iter()
            .map(|(node, via)| Reuse { node, via })
            .collect();
        window_by(all, 0, limit, |a, b| {
            b.via
                .len()
                .cmp(&a.via.len())
                .then_with(|| self.by_name(a.node, b.node))
        })
    }
}

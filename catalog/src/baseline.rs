//! The store's own answer to lineage questions, walked hop by hop over the
//! stored edges: the baseline that `mlgraph bench` measures the in-memory
//! index against. Nothing in the app uses these; they answer the same
//! questions as the index, the way a catalog without one would, with one
//! read of the `edge_in` or `edge_out` index per hop.
//!
//! Until 5 December 2026 edges were a SurrealDB relation table and these
//! used SurrealQL's recursive graph paths (`{1..256+collect}(->edge->asset)`);
//! edges became a plain table for load speed (see `schema.rs`), and graph
//! paths need a relation table's graph pointers.

use std::collections::HashSet;

use crate::error::Result;
use crate::rows;
use crate::Catalog;

/// SurrealDB's deepest recursion, kept as the walk's bound.
const MAX_HOPS: usize = 256;

impl Catalog {
    /// The assets one hop from `ids`: downstream (edges leaving them),
    /// upstream (edges entering them), or both.
    async fn hop(&self, ids: &[String], down: bool, up: bool) -> Result<Vec<String>> {
        let rids = rows::rows(ids.iter().map(|id| rows::record("asset", id)).collect());
        let mut next = Vec::new();
        for (wanted, sql) in [
            (
                down,
                "SELECT VALUE record::id(out) FROM edge WHERE in INSIDE $rids",
            ),
            (
                up,
                "SELECT VALUE record::id(in) FROM edge WHERE out INSIDE $rids",
            ),
        ] {
            if wanted {
                let mut res = self.db.query(sql).bind(("rids", rids.clone())).await?;
                let found: Vec<String> = res.take(0)?;
                next.extend(found);
            }
        }
        Ok(next)
    }

    /// Walks out from `id` breadth first for at most `hops` hops, calling
    /// `visit` with each newly reached asset and its distance; `visit`
    /// returns false to stop.
    async fn walk(
        &self,
        id: &str,
        hops: usize,
        down: bool,
        up: bool,
        mut visit: impl FnMut(&str, usize) -> bool,
    ) -> Result<()> {
        let mut seen: HashSet<String> = HashSet::from([id.to_string()]);
        let mut frontier = vec![id.to_string()];
        for depth in 1..=hops {
            if frontier.is_empty() {
                break;
            }
            let mut next = Vec::new();
            for found in self.hop(&frontier, down, up).await? {
                if seen.insert(found.clone()) {
                    if !visit(&found, depth) {
                        return Ok(());
                    }
                    next.push(found);
                }
            }
            frontier = next;
        }
        Ok(())
    }

    /// How many assets lie downstream of `id`.
    pub async fn surreal_closure_size(&self, id: &str) -> Result<usize> {
        let mut n = 0;
        self.walk(id, MAX_HOPS, true, false, |_, _| {
            n += 1;
            true
        })
        .await?;
        Ok(n)
    }

    /// The assets within `hops` hops of `id` in either direction, at most
    /// `limit` of them.
    pub async fn surreal_neighbourhood_size(
        &self,
        id: &str,
        hops: u32,
        limit: usize,
    ) -> Result<usize> {
        let mut n = 0;
        if limit > 0 {
            self.walk(id, hops as usize, true, true, |_, _| {
                n += 1;
                n < limit
            })
            .await?;
        }
        Ok(n)
    }

    /// The number of hops on a shortest downstream path.
    pub async fn surreal_shortest_path_len(&self, from: &str, to: &str) -> Result<Option<usize>> {
        let mut hops = None;
        self.walk(from, MAX_HOPS, true, false, |id, depth| {
            if id == to {
                hops = Some(depth);
            }
            hops.is_none()
        })
        .await?;
        Ok(hops)
    }

    /// Read access to the in-memory lineage index.
    pub fn graph(&self) -> std::sync::RwLockReadGuard<'_, domain::lineage::LineageGraph> {
        self.graph.read().expect("the graph lock is never poisoned")
    }
}

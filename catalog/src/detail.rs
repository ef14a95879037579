//! Reads about one asset (its page) and whole-catalog reads (export).

use std::collections::HashMap;
use std::sync::Arc;

use domain::lineage::{Direction, HopNodes, LineageGraph, NodeId, Reuse};
use domain::page::{DetailWindow, Listing, PageList, MAPPINGS_SHOWN, VERSION_WINDOW, WINDOW};
use domain::query::{AssetDetail, Hop, Neighbor, ReuseCandidate};
use domain::{AssetKind, AssetVersion, Edge, EdgeKind};
use serde_json::Value;

use crate::error::{CatalogError, Result};
use crate::newest::NewestQuery;
use crate::write::row_to_asset;
use crate::Catalog;

/// Reuse suggestions on an asset's page.
const REUSE_LIMIT: usize = 20;

const EDGE_FIELDS: &str = "key AS id, kind, columns, record::id(in) AS from, record::id(out) AS to, first_seen, last_seen";

fn rows_to<T: serde::de::DeserializeOwned>(rows: Vec<Value>, what: &str) -> Result<Vec<T>> {
    rows.into_iter()
        .map(|r| {
            serde_json::from_value(r).map_err(|e| CatalogError::Corrupt(format!("{what} row: {e}")))
        })
        .collect()
}

/// A window of direct neighbours: (node, edge kind).
type Links = Listing<(NodeId, EdgeKind)>;

/// An asset's versions, read newest first without a backward scan.
const VERSIONS: NewestQuery = NewestQuery {
    from: "asset_version:[$value, 0]..=[$value, 9223372036854775807]",
    order: "version",
    columns: "version, at, by, changes",
};

/// The first windows of lineages too large to walk on every page view,
/// for the graph generation they were computed on.
#[derive(Default)]
pub(crate) struct HopCache {
    generation: u64,
    entries: HashMap<(NodeId, Direction, Option<u32>), Arc<Vec<HopNodes>>>,
    /// First windows of neighbours and reuse suggestions of assets with
    /// thousands of direct neighbours.
    neighbours: HashMap<(NodeId, Direction), Arc<Links>>,
    reuse: HashMap<NodeId, Arc<Vec<Reuse>>>,
}

impl HopCache {
    /// Empties the cache when the graph changed since it was filled.
    fn at(&mut self, generation: u64) -> &mut Self {
        if self.generation != generation {
            *self = HopCache {
                generation,
                ..Default::default()
            };
        }
        self
    }

    fn full(&self) -> bool {
        self.entries.len() + self.neighbours.len() + self.reuse.len() >= HOP_CACHE_ENTRIES
    }
}

/// Lineages that reach fewer assets are walked on every view.
const HOP_CACHE_MIN: usize = 2_000;
/// The cache is emptied when it holds this many lineages.
const HOP_CACHE_ENTRIES: usize = 256;

/// A window `w` of `id`'s direct neighbours in `dir`, as listed, without
/// their column mappings yet.
fn neighbour_window(g: &LineageGraph, id: &str, dir: Direction, w: &Links) -> Listing<Neighbor> {
    Listing {
        total: w.total,
        offset: w.offset,
        items: w
            .items
            .iter()
            .map(|&(m, edge_kind)| {
                let other = g.asset_id(m);
                let (from, to) = match dir {
                    Direction::Upstream => (other, id),
                    Direction::Downstream => (id, other),
                };
                Neighbor {
                    edge_id: domain::edge::edge_id(from, edge_kind, to),
                    edge_kind,
                    id: other.to_string(),
                    kind: g.kind(m),
                    name: g.name(m).to_string(),
                    columns: vec![],
                    more_columns: 0,
                }
            })
            .collect(),
    }
}

impl Catalog {
    /// `n`'s lineage in `dir` by distance, a window per distance (see
    /// [`LineageGraph::hops`]); first windows of large lineages come from a
    /// cache that lasts until the graph changes. Call it with `g` held.
    pub(crate) fn hops_of(
        &self,
        g: &LineageGraph,
        n: NodeId,
        dir: Direction,
        max_depth: Option<u32>,
        paged: Option<(u32, usize)>,
    ) -> Arc<Vec<HopNodes>> {
        if paged.is_some() {
            return Arc::new(g.hops(n, dir, max_depth, WINDOW, paged));
        }
        // Read with the graph lock held, so it names the graph `g` is.
        let generation = self.graph_generation();
        let key = (n, dir, max_depth);
        if let Some(hit) = self.cache_at(generation).entries.get(&key) {
            return hit.clone();
        }
        let hops = Arc::new(g.hops(n, dir, max_depth, WINDOW, None));
        let reached: usize = hops.iter().map(|h| h.nodes.total).sum();
        if reached >= HOP_CACHE_MIN {
            let mut c = self.cache_at(generation);
            if c.full() {
                *c = HopCache::default();
            }
            c.generation = generation;
            c.entries.insert(key, hops.clone());
        }
        hops
    }

    fn cache_at(&self, generation: u64) -> std::sync::MutexGuard<'_, HopCache> {
        let mut c = self.hop_cache.lock().expect("never poisoned");
        c.at(generation);
        c
    }

    /// The first window of `n`'s direct neighbours in `dir` (others are
    /// computed), cached like [`Self::hops_of`] for assets with thousands.
    fn neighbours_of(
        &self,
        g: &LineageGraph,
        n: NodeId,
        dir: Direction,
        offset: usize,
    ) -> Arc<Links> {
        let degree = match dir {
            Direction::Upstream => g.fanin(n),
            Direction::Downstream => g.fanout(n),
        };
        if offset > 0 || degree < HOP_CACHE_MIN {
            return Arc::new(g.neighbours(n, dir, offset, WINDOW));
        }
        let generation = self.graph_generation();
        if let Some(hit) = self.cache_at(generation).neighbours.get(&(n, dir)) {
            return hit.clone();
        }
        let w = Arc::new(g.neighbours(n, dir, 0, WINDOW));
        let mut c = self.cache_at(generation);
        if c.full() {
            *c = HopCache::default();
            c.generation = generation;
        }
        c.neighbours.insert((n, dir), w.clone());
        w
    }

    /// What to reuse instead of building something like `n`, cached for
    /// assets with thousands of neighbours.
    fn reuse_of(&self, g: &LineageGraph, n: NodeId) -> Arc<Vec<Reuse>> {
        if g.fanout(n) + g.fanin(n) < HOP_CACHE_MIN {
            return Arc::new(g.reuse(n, REUSE_LIMIT));
        }
        let generation = self.graph_generation();
        if let Some(hit) = self.cache_at(generation).reuse.get(&n) {
            return hit.clone();
        }
        let r = Arc::new(g.reuse(n, REUSE_LIMIT));
        let mut c = self.cache_at(generation);
        if c.full() {
            *c = HopCache::default();
            c.generation = generation;
        }
        c.reuse.insert(n, r.clone());
        r
    }

    pub async fn get_edge(&self, id: &str) -> Result<Option<Edge>> {
        let mut res = self
            .db
            .query(format!(
                "SELECT {EDGE_FIELDS} FROM type::record('edge', $key)"
            ))
            .bind(("key", id.to_string()))
            .await?;
        let rows: Vec<Value> = res.take(0)?;
        Ok(rows_to::<Edge>(rows, "edge")?.into_iter().next())
    }

    /// An asset's page: the asset, one window of each of its lists (direct
    /// neighbours, lineage by distance, version history; `window` says
    /// which list is paged past its first window) and what to reuse. The
    /// lists come from the lineage index; the store is read for the asset,
    /// the listed edges' column mappings and the listed versions.
    pub async fn asset_detail(&self, id: &str, window: DetailWindow) -> Result<AssetDetail> {
        // An alias's page is its target's.
        let canonical = self.canonical_id(id).await?;
        let id = canonical.as_str();
        let asset = self.get_asset(id).await?;
        let (upstream, downstream, hops, reuse) = {
            let g = self.graph.read().expect("the graph lock is never poisoned");
            let n = Self::node_of(&g, id)?;
            let side = |dir: Direction, list: PageList| {
                let w = self.neighbours_of(&g, n, dir, window.offset_of(list));
                neighbour_window(&g, id, dir, &w)
            };
            let upstream = side(Direction::Upstream, PageList::Upstream);
            let downstream = side(Direction::Downstream, PageList::Downstream);
            let paged = |up: bool| match window.list {
                PageList::Hop(d) if (d < 0) == up => Some((d.unsigned_abs() as u32, window.offset)),
                _ => None,
            };
            let hop = |h: &HopNodes| Hop {
                depth: h.depth,
                assets: Listing {
                    total: h.nodes.total,
                    offset: h.nodes.offset,
                    items: h
                        .nodes
                        .items
                        .iter()
                        .map(|&m| Self::reference(&g, m))
                        .collect(),
                },
            };
            let mut hops: Vec<Hop> = self
                .hops_of(&g, n, Direction::Upstream, None, paged(true))
                .iter()
                .rev()
                .map(hop)
                .collect();
            hops.extend(
                self.hops_of(&g, n, Direction::Downstream, None, paged(false))
                    .iter()
                    .map(hop),
            );
            let reuse = self
                .reuse_of(&g, n)
                .iter()
                .map(|r| ReuseCandidate {
                    id: g.asset_id(r.node).to_string(),
                    kind: g.kind(r.node),
                    name: g.name(r.node).to_string(),
                    shared: r.via.len() as u64,
                    via: r.via.iter().map(|&v| g.asset_id(v).to_string()).collect(),
                })
                .collect();
            (upstream, downstream, hops, reuse)
        };
        let (mut upstream, mut downstream) = (upstream, downstream);
        self.fill_mappings(upstream.items.iter_mut().chain(downstream.items.iter_mut()))
            .await?;
        let versions = self
            .versions_window(id, window.offset_of(PageList::Versions), VERSION_WINDOW)
            .await?;
        Ok(AssetDetail {
            asset,
            versions,
            upstream,
            downstream,
            reuse,
            hops,
        })
    }

    /// One window of an asset's direct neighbours, by name, with their
    /// edges' column mappings (the first [`MAPPINGS_SHOWN`] of each).
    pub async fn neighbours(
        &self,
        id: &str,
        dir: Direction,
        offset: usize,
        limit: usize,
    ) -> Result<Listing<Neighbor>> {
        let mut list = {
            let g = self.graph.read().expect("the graph lock is never poisoned");
            let n = Self::node_of(&g, id)?;
            neighbour_window(&g, id, dir, &g.neighbours(n, dir, offset, limit))
        };
        self.fill_mappings(list.items.iter_mut()).await?;
        Ok(list)
    }

    /// Reads the column mappings of the listed edges, by their keys.
    async fn fill_mappings(&self, items: impl Iterator<Item = &mut Neighbor>) -> Result<()> {
        let mut items: Vec<&mut Neighbor> = items.collect();
        if items.is_empty() {
            return Ok(());
        }
        let keys: Vec<String> = items.iter().map(|n| n.edge_id.clone()).collect();
        let rows = self.rows_by_id("edge", &keys, "key, columns").await?;
        let mut by_key: std::collections::HashMap<String, Vec<domain::ColumnMapping>> =
            std::collections::HashMap::new();
        for r in rows {
            let key = r["key"].as_str().unwrap_or_default().to_string();
            let columns = serde_json::from_value(r["columns"].clone())
                .map_err(|e| CatalogError::Corrupt(format!("edge {key} columns: {e}")))?;
            by_key.insert(key, columns);
        }
        for n in items.iter_mut() {
            if let Some(mut columns) = by_key.remove(&n.edge_id) {
                n.more_columns = columns.len().saturating_sub(MAPPINGS_SHOWN);
                columns.truncate(MAPPINGS_SHOWN);
                n.columns = columns;
            }
        }
        Ok(())
    }

    /// One window of an asset's version history, newest first.
    async fn versions_window(
        &self,
        id: &str,
        offset: usize,
        limit: usize,
    ) -> Result<Listing<AssetVersion>> {
        let window = self.newest(&VERSIONS, id, offset, limit).await?;
        Ok(Listing {
            total: window.total,
            offset,
            items: rows_to(window.rows, "version")?,
        })
    }
    /// One page of all assets in id order, for export: those after
    /// `after` (keyset paging, so page n costs what page one does).
    pub async fn export_assets(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<domain::Asset>> {
        assets_after(&self.db, after, limit).await
    }

    /// One page of all edges in id order, for export: those after `after`.
    pub async fn export_edges(&self, after: Option<&str>, limit: usize) -> Result<Vec<Edge>> {
        // Record ids are the keys, and a scan reads them in order (see
        // `assets_after`).
        let q = match after {
            None => format!("SELECT {EDGE_FIELDS} FROM edge ORDER BY id LIMIT $limit"),
            Some(_) => {
                format!("SELECT {EDGE_FIELDS} FROM type::record('edge', $after>..) LIMIT $limit")
            }
        };
        let mut res = self
            .db
            .query(q)
            .bind(("limit", limit))
            .bind(("after", after.unwrap_or_default().to_string()))
            .await?;
        rows_to(res.take(0)?, "edge")
    }
}

impl Catalog {
    /// Assets by id, for readers outside the catalog; missing ids are absent.
    pub async fn assets_by_id(
        &self,
        ids: Vec<String>,
    ) -> Result<std::collections::HashMap<String, domain::Asset>> {
        self.load_assets(ids).await
    }

    /// Every edge into and out of one asset, with its column mappings.
    pub async fn edges_touching(&self, id: &str) -> Result<(Vec<Edge>, Vec<Edge>)> {
        let mut res = self
            .db
            .query(format!(
                "LET $rid = type::record('asset', $key);
                 SELECT {EDGE_FIELDS} FROM edge WHERE out = $rid;
                 SELECT {EDGE_FIELDS} FROM edge WHERE in = $rid;"
            ))
            .bind(("key", id.to_string()))
            .await?;
        Ok((
            rows_to(res.take(1)?, "edge")?,
            rows_to(res.take(2)?, "edge")?,
        ))
    }

    /// Namespaces of datasets and workflows, with how many of each.
    pub async fn namespaces(&self) -> Result<Vec<(String, u64)>> {
        let mut res = self
            .db
            .query("SELECT namespace, count() AS n FROM asset WHERE kind INSIDE ['dataset', 'workflow'] GROUP BY namespace ORDER BY namespace")
            .await?;
        let rows: Vec<Value> = res.take(0)?;
        Ok(rows
            .into_iter()
            .filter_map(|r| Some((r["namespace"].as_str()?.to_string(), r["n"].as_u64()?)))
            .collect())
    }

    /// One page of the assets of one kind in one namespace, by name, with
    /// the total.
    pub async fn assets_in_namespace(
        &self,
        namespace: &str,
        kind: AssetKind,
        limit: usize,
        offset: usize,
    ) -> Result<(Vec<domain::Asset>, u64)> {
        let mut res = self
            .db
            .query(
                "SELECT * FROM asset WHERE namespace = $ns AND kind = $kind ORDER BY name LIMIT $limit START $offset;
                 SELECT count() AS n FROM asset WHERE namespace = $ns AND kind = $kind GROUP ALL;",
            )
            .bind(("ns", namespace.to_string()))
            .bind(("kind", kind.as_str().to_string()))
            .bind(("limit", limit))
            .bind(("offset", offset))
            .await?;
        let rows: Vec<Value> = res.take(0)?;
        let total: Option<Value> = res.take(1)?;
        Ok((
            rows.into_iter().map(row_to_asset).collect::<Result<_>>()?,
            total.and_then(|t| t["n"].as_u64()).unwrap_or(0),
        ))
    }
}

/// One page of all assets in id order: those after `after`.
pub(crate) async fn assets_after(
    db: &crate::store::Store,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<domain::Asset>> {
    // Record ids are the keys, so a page is a range of ids read in order:
    // from the start, or from just after `after`. (An ORDER BY on a range
    // would sort all of it before the limit.)
    let q = match after {
        None => "SELECT * FROM asset ORDER BY id LIMIT $limit",
        Some(_) => "SELECT * FROM type::record('asset', $after>..) LIMIT $limit",
    };
    let mut res = db
        .query(q)
        .bind(("limit", limit))
        .bind(("after", after.unwrap_or_default().to_string()))
        .await?;
    let rows: Vec<Value> = res.take(0)?;
    rows.into_iter().map(row_to_asset).collect()
}

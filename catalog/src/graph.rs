//! The catalog's copy of the graph as a `domain::lineage::LineageGraph`,
//! for traversals that must answer at once. It is built from SurrealDB when
//! the catalog opens and changed only after a write has committed, so a
//! restart rebuilds the same graph.

use crate::store::Store;
use std::collections::HashSet;

use domain::lineage::{At, Direction, Filter, LineageGraph, NodeId};
use domain::query::{
    AssetRef, GraphDelta, GraphNode, GraphView, HubItem, LineageEdge, LineageNode, LineageView,
    PathsView, RefreshPlanView, Truncated,
};
use domain::{AssetKind, Edge, EdgeKind};
use serde_json::Value;

use crate::error::{CatalogError, Result};
use crate::Catalog;

/// How many of the top hubs the graph view marks.
const HUBS_MARKED: usize = 25;

#[derive(serde::Deserialize)]
struct NodeRow {
    key: String,
    kind: AssetKind,
    name: String,
    namespace: String,
    #[serde(default)]
    owners: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
    /// The properties that can say an asset serves production.
    #[serde(default)]
    environment: Option<serde_json::Value>,
    #[serde(default)]
    env: Option<serde_json::Value>,
    #[serde(default)]
    stage: Option<serde_json::Value>,
    /// When the asset appeared, as text.
    #[serde(default)]
    created_at: Option<String>,
}

impl NodeRow {
    /// Whether the asset serves production, by the same rule as a write.
    fn production(&self) -> bool {
        let properties = [
            ("environment", &self.environment),
            ("env", &self.env),
            ("stage", &self.stage),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k.to_string(), v.clone()?)))
        .collect();
        domain::impact::is_production(&domain::Asset {
            tags: self.tags.clone(),
            properties,
            ..domain::Asset::bare(
                self.key.clone(),
                self.kind,
                self.namespace.clone(),
                self.name.clone(),
            )
        })
    }
}

#[derive(serde::Deserialize)]
struct EdgeRow {
    id: String,
    from: String,
    to: String,
    kind: EdgeKind,
    #[serde(default)]
    columns: Vec<domain::ColumnMapping>,
    #[serde(default)]
    first_seen: Option<String>,
}

/// An asset that was deleted, from `asset_history`.
#[derive(serde::Deserialize)]
struct PastNodeRow {
    asset: String,
    kind: AssetKind,
    name: String,
    #[serde(default)]
    born: Option<String>,
    ended_at: String,
}

/// An edge that ended, from `edge_history`.
#[derive(serde::Deserialize)]
struct PastEdgeRow {
    from: String,
    to: String,
    kind: EdgeKind,
    #[serde(default)]
    first_seen: Option<String>,
    ended_at: String,
}

/// A stored time in milliseconds; none (rows from before times were
/// kept) is the beginning of time.
fn millis(t: Option<&str>) -> domain::lineage::Millis {
    t.and_then(domain::time::to_millis)
        .unwrap_or(domain::lineage::ALWAYS)
}

/// One table read in a single scan. Paging with `START` would rescan from
/// the beginning for every page, and `ORDER BY` would sort the table each
/// time; a scan returns rows in record-id order, so two loads of the same
/// store build the same graph.
async fn scan<T: serde::de::DeserializeOwned>(db: &Store, sql: &'static str) -> Result<Vec<T>> {
    let mut res = db.query(sql).await?;
    let rows: Vec<Value> = res.take(0)?;
    rows.into_iter()
        .map(|r| {
            serde_json::from_value(r).map_err(|e| CatalogError::Corrupt(format!("graph row: {e}")))
        })
        .collect()
}

/// The first bytes of a lineage image file, with its format's version.
const IMAGE_MAGIC: &[u8; 8] = b"MLGIMG01";

/// Where an on-disk store keeps the image of its lineage graph: a file
/// beside the SurrealKV directory. Other stores (in memory, or a server
/// that other processes also write to) always build from a scan.
pub(crate) fn image_path(url: &str) -> Option<std::path::PathBuf> {
    let dir = url.strip_prefix("surrealkv://")?.trim_end_matches('/');
    (!dir.is_empty()).then(|| std::path::PathBuf::from(format!("{dir}.lineage")))
}

/// What ties an image to one state of one store: the store's identity
/// (made once, when it is created) and its graph version, which every
/// write transaction that touches assets or edges increments.
pub(crate) async fn store_state(db: &Store) -> Result<(String, u64)> {
    let mut res = db
        .query("UPSERT meta:store SET uid = uid ?? <string> rand::uuid::v4() RETURN NONE; RETURN [meta:store.uid, meta:graph.version ?? 0];")
        .await?;
    // The SDK hands a returned list back as rows.
    let v: Vec<Value> = res.take(1)?;
    let bad = || CatalogError::Corrupt("the store's identity and graph version".into());
    let uid = v
        .first()
        .and_then(Value::as_str)
        .ok_or_else(bad)?
        .to_string();
    let version = v.get(1).and_then(Value::as_u64).ok_or_else(bad)?;
    Ok((uid, version))
}

/// Whether a bulk import is under way, or was cut short: then an image or
/// search index stamped with the current graph version may lack batches
/// that committed after it was taken, and is not trusted.
pub(crate) async fn import_under_way(db: &Store) -> Result<bool> {
    let mut res = db.query("RETURN (meta:graph.importing ?? 0) > 0;").await?;
    let v: Option<bool> = res.take(0)?;
    Ok(v.unwrap_or(false))
}

fn fnv64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for chunk in bytes.chunks(8) {
        let mut w = [0u8; 8];
        w[..chunk.len()].copy_from_slice(chunk);
        h ^= u64::from_le_bytes(w);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Writes the image of `g`, taken at `state`, atomically (a temporary file
/// renamed over the old one).
pub(crate) fn write_image(
    path: &std::path::Path,
    state: &(String, u64),
    g: &LineageGraph,
) -> std::io::Result<()> {
    let payload = g.encode();
    let uid = state.0.as_bytes();
    let mut out = Vec::with_capacity(payload.len() + uid.len() + 32);
    out.extend_from_slice(IMAGE_MAGIC);
    out.extend_from_slice(&(uid.len() as u32).to_le_bytes());
    out.extend_from_slice(uid);
    out.extend_from_slice(&state.1.to_le_bytes());
    out.extend_from_slice(&fnv64(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    let tmp = path.with_extension("lineage.tmp");
    std::fs::write(&tmp, &out)?;
    std::fs::rename(&tmp, path)
}

/// Reads the image at `path` if it was taken at exactly `state` and is
/// undamaged; otherwise `None`, and the caller scans the store.
pub(crate) fn read_image(path: &std::path::Path, state: &(String, u64)) -> Option<LineageGraph> {
    let bytes = std::fs::read(path).ok()?;
    let rest = bytes.strip_prefix(IMAGE_MAGIC)?;
    let (n, rest) = rest.split_first_chunk::<4>()?;
    let n = u32::from_le_bytes(*n) as usize;
    let (uid, rest) = (rest.get(..n)?, rest.get(n..)?);
    let (version, rest) = rest.split_first_chunk::<8>()?;
    let (sum, payload) = rest.split_first_chunk::<8>()?;
    if uid != state.0.as_bytes() || u64::from_le_bytes(*version) != state.1 {
        tracing::info!(path = %path.display(), "the lineage image is behind the store; scanning");
        return None;
    }
    if u64::from_le_bytes(*sum) != fnv64(payload) {
        tracing::warn!(path = %path.display(), "the lineage image is damaged; scanning");
        return None;
    }
    match LineageGraph::decode(payload) {
        Ok(g) => Some(g),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "the lineage image is unreadable; scanning");
            None
        }
    }
}

/// The graph of a store that is just opening (no write can be under way):
/// from its image when one matches the store exactly, else from a scan,
/// after which a fresh image is written for the next start.
pub(crate) async fn open(db: &Store, url: &str) -> Result<LineageGraph> {
    let Some(path) = image_path(url) else {
        return load(db).await;
    };
    let started = std::time::Instant::now();
    let state = store_state(db).await?;
    let trusted = if import_under_way(db).await? {
        tracing::info!("a bulk import did not finish; scanning the store");
        None
    } else {
        read_image(&path, &state)
    };
    if let Some(g) = trusted {
        tracing::info!(
            assets = g.node_count(),
            edges = g.edge_count(),
            "lineage graph read from {} in {:.2?}",
            path.display(),
            started.elapsed()
        );
        return Ok(g);
    }
    let g = load(db).await?;
    tracing::info!(
        assets = g.node_count(),
        edges = g.edge_count(),
        "lineage graph built by scanning the store in {:.2?}",
        started.elapsed()
    );
    if let Err(e) = write_image(&path, &state, &g) {
        tracing::warn!(path = %path.display(), error = %e, "could not write the lineage image");
    }
    Ok(g)
}

/// Reads every asset and edge into a new graph.
pub(crate) async fn load(db: &Store) -> Result<LineageGraph> {
    let mut g = LineageGraph::new();
    let nodes: Vec<NodeRow> = scan(
        db,
        "SELECT key, kind, name, namespace, owners, tags, properties.environment AS environment,
            properties.env AS env, properties.stage AS stage,
            IF created_at = NONE { NONE } ELSE { <string> created_at } AS created_at FROM asset",
    )
    .await?;
    for n in nodes {
        let id = g.upsert_node_at(&n.key, n.kind, &n.name, millis(n.created_at.as_deref()));
        g.set_facts(id, &n.owners, n.production());
    }
    let edges: Vec<EdgeRow> = scan(
        db,
        "SELECT key AS id, record::id(in) AS from, record::id(out) AS to, kind, columns,
            IF first_seen = NONE { NONE } ELSE { <string> first_seen } AS first_seen FROM edge",
    )
    .await?;
    for e in edges {
        let edge = Edge {
            id: e.id,
            from: e.from,
            to: e.to,
            kind: e.kind,
            columns: e.columns,
            first_seen: None,
            last_seen: None,
        };
        g.upsert_edge_at(&edge, millis(e.first_seen.as_deref()));
    }
    // What ended: deleted assets first, so that ended edges find their
    // ends' nodes (those valid just before the edge ended).
    let past: Vec<PastNodeRow> = scan(
        db,
        "SELECT asset, kind, name, IF born = NONE { NONE } ELSE { <string> born } AS born,
            <string> ended_at AS ended_at FROM asset_history",
    )
    .await?;
    for p in past {
        let ended = millis(Some(&p.ended_at));
        g.add_past_node(&p.asset, p.kind, &p.name, millis(p.born.as_deref()), ended);
    }
    let ended: Vec<PastEdgeRow> = scan(
        db,
        "SELECT from, to, kind, IF first_seen = NONE { NONE } ELSE { <string> first_seen } AS first_seen,
            <string> ended_at AS ended_at FROM edge_history",
    )
    .await?;
    for e in ended {
        let since = millis(e.first_seen.as_deref());
        g.add_past_edge(&e.from, &e.to, e.kind, since, millis(Some(&e.ended_at)));
    }
    g.compact();
    Ok(g)
}

/// The node of `id` as of `at`, or why there is none.
pub(crate) fn node_as_of(
    g: &LineageGraph,
    id: &str,
    at: domain::lineage::Millis,
) -> Result<NodeId> {
    g.node_at(id, at).ok_or_else(|| {
        CatalogError::NotFound(format!(
            "asset {id:?} as of {}: it did not exist then",
            domain::time::from_millis(at)
        ))
    })
}

/// Lineage around `id` in the graph as it is (`at` is `None`) or as it was
/// at a moment: see [`Catalog::lineage`].
pub(crate) fn lineage_view(
    g: &LineageGraph,
    id: &str,
    direction: Option<Direction>,
    filter: &Filter,
    limit: Option<usize>,
    at: Option<domain::lineage::Millis>,
) -> Result<LineageView> {
    let start = match at {
        None => Catalog::node_of(g, id)?,
        Some(t) => node_as_of(g, id, t)?,
    };
    let walk = |dir| match at {
        None => g.closure(start, dir, filter),
        Some(t) => g.closure_at(start, dir, filter, t),
    };
    let mut found: Vec<(NodeId, i64)> = Vec::new();
    if direction != Some(Direction::Downstream) {
        found.extend(
            walk(Direction::Upstream)
                .into_iter()
                .map(|(n, d)| (n, -i64::from(d))),
        );
    }
    if direction != Some(Direction::Upstream) {
        found.extend(
            walk(Direction::Downstream)
                .into_iter()
                .map(|(n, d)| (n, i64::from(d))),
        );
    }
    found.sort_by_key(|&(_, d)| d.abs());
    let total = found.len();
    if let Some(limit) = limit {
        found.truncate(limit);
    }
    found.insert(0, (start, 0));
    let kept: HashSet<NodeId> = found.iter().map(|&(n, _)| n).collect();
    let mut edges = Vec::new();
    for &(n, _) in &found {
        let out: Vec<(NodeId, EdgeKind)> = match at {
            None => g.downstream_of(n).collect(),
            Some(t) => g
                .edges_at(n, Direction::Downstream, t)
                .map(|e| (e.to, e.kind))
                .collect(),
        };
        for (to, kind) in out {
            if kept.contains(&to) {
                edges.push(LineageEdge {
                    from: g.asset_id(n).to_string(),
                    to: g.asset_id(to).to_string(),
                    kind,
                });
            }
        }
    }
    let nodes = found
        .into_iter()
        .map(|(n, depth)| LineageNode {
            id: g.asset_id(n).to_string(),
            kind: g.kind(n),
            name: g.name(n).to_string(),
            depth,
        })
        .collect::<Vec<_>>();
    let omitted = total + 1 - nodes.len();
    Ok(LineageView {
        nodes,
        edges,
        truncated: Truncated { total, omitted },
    })
}

impl Catalog {
    /// Lineage around one asset: upstream, downstream or both (`None`), up
    /// to `depth` hops, reporting only `kinds` (all if empty), at most
    /// `limit` nodes besides the asset itself, nearest first.
    pub fn lineage(
        &self,
        id: &str,
        direction: Option<Direction>,
        depth: Option<u32>,
        kinds: Vec<AssetKind>,
        limit: Option<usize>,
    ) -> Result<LineageView> {
        self.lineage_at(id, direction, depth, kinds, limit, None)
    }

    /// [`Catalog::lineage`] now (`at` is `None`) or as of a moment.
    pub(crate) fn lineage_at(
        &self,
        id: &str,
        direction: Option<Direction>,
        depth: Option<u32>,
        kinds: Vec<AssetKind>,
        limit: Option<usize>,
        at: Option<domain::lineage::Millis>,
    ) -> Result<LineageView> {
        if let Some(t) = at {
            self.check_kept("as_of", t)?;
        }
        let g = self.graph.read().expect("the graph lock is never poisoned");
        let filter = Filter {
            kinds,
            edge_kinds: vec![],
            max_depth: depth,
        };
        lineage_view(&g, id, direction, &filter, limit, at)
    }

    pub(crate) fn node_of(g: &LineageGraph, id: &str) -> Result<NodeId> {
        g.id_of(id)
            .ok_or_else(|| CatalogError::NotFound(format!("asset {id:?}")))
    }

    pub(crate) fn reference(g: &LineageGraph, n: NodeId) -> AssetRef {
        AssetRef {
            id: g.asset_id(n).to_string(),
            kind: g.kind(n),
            name: g.name(n).to_string(),
        }
    }

    /// A shortest downstream path from one asset to another, and up to
    /// `limit` simple paths of at most 12 hops.
    pub fn paths(&self, from: &str, to: &str, limit: usize) -> Result<PathsView> {
        self.paths_as_of(from, to, limit, None)
    }

    /// [`Catalog::paths`] now, or over the graph as it was at `as_of`.
    pub fn paths_as_of(
        &self,
        from: &str,
        to: &str,
        limit: usize,
        as_of: Option<domain::lineage::Millis>,
    ) -> Result<PathsView> {
        if let Some(t) = as_of {
            self.check_kept("as_of", t)?;
        }
        let g = self.graph.read().expect("the graph lock is never poisoned");
        let (f, t, at) = match as_of {
            None => (Self::node_of(&g, from)?, Self::node_of(&g, to)?, At::Now),
            Some(m) => (
                node_as_of(&g, from, m)?,
                node_as_of(&g, to, m)?,
                At::Moment(m),
            ),
        };
        let shortest = g.shortest_path_at(f, t, at).unwrap_or_default();
        // The search stops after `limit` paths in walk order, which need not
        // include a shortest one; make sure it is there.
        let found = g.simple_paths_at(f, t, (12, limit, domain::lineage::PATH_STEP_BUDGET), at);
        let complete = found.complete;
        let mut paths = found.paths;
        if !shortest.is_empty() && !paths.contains(&shortest) {
            paths.insert(0, shortest.clone());
            paths.truncate(limit.max(1));
        }
        paths.sort_by_key(Vec::len);
        let refs = |p: Vec<NodeId>| {
            p.into_iter()
                .map(|n| Self::reference(&g, n))
                .collect::<Vec<_>>()
        };
        let shortest = refs(shortest);
        let paths = paths.into_iter().map(refs).collect();
        Ok(PathsView {
            shortest,
            paths,
            complete,
        })
    }

    /// The assets most depended on.
    pub fn hubs(&self, limit: usize) -> Vec<HubItem> {
        let g = self.graph.read().expect("the graph lock is never poisoned");
        hub_items(&g, g.hubs(limit))
    }

    /// [`Catalog::hubs`] over the graph as it was at `t`: the assets most
    /// depended on then (ranked anew each time).
    pub fn hubs_as_of(&self, limit: usize, t: domain::lineage::Millis) -> Result<Vec<HubItem>> {
        self.check_kept("as_of", t)?;
        let g = self.graph.read().expect("the graph lock is never poisoned");
        Ok(hub_items(&g, g.hubs_at(limit, t)))
    }
}

/// Hubs with their assets' ids and names.
fn hub_items(g: &LineageGraph, hubs: Vec<domain::lineage::Hub>) -> Vec<HubItem> {
    hubs.into_iter()
        .map(|h| HubItem {
            id: g.asset_id(h.node).to_string(),
            kind: g.kind(h.node),
            name: g.name(h.node).to_string(),
            downstream: h.downstream,
            fanout: h.fanout,
        })
        .collect()
}

impl Catalog {
    /// The workflows to re-run after an asset changes, in order.
    pub fn refresh_plan(&self, id: &str) -> Result<RefreshPlanView> {
        let g = self.graph.read().expect("the graph lock is never poisoned");
        let plan = g.refresh_plan(Self::node_of(&g, id)?);
        Ok(RefreshPlanView {
            workflows: plan
                .workflows
                .into_iter()
                .map(|n| Self::reference(&g, n))
                .collect(),
            cyclic: plan.cyclic,
        })
    }

    /// The assets the graph view marks as hubs: the most depended on, and
    /// only those that feed a fair share of the catalog.
    fn hub_set(g: &LineageGraph) -> HashSet<NodeId> {
        g.hubs(HUBS_MARKED)
            .into_iter()
            .filter(|h| h.downstream >= 10)
            .map(|h| h.node)
            .collect()
    }

    fn graph_node(
        g: &LineageGraph,
        hubs: &HashSet<NodeId>,
        n: NodeId,
        depth: i64,
        more: usize,
    ) -> GraphNode {
        GraphNode {
            id: g.asset_id(n).to_string(),
            kind: g.kind(n),
            name: g.name(n).to_string(),
            depth,
            more,
            hub: hubs.contains(&n),
        }
    }

    fn lineage_edge(g: &LineageGraph, (f, t, kind): (NodeId, NodeId, EdgeKind)) -> LineageEdge {
        LineageEdge {
            from: g.asset_id(f).to_string(),
            to: g.asset_id(t).to_string(),
            kind,
        }
    }

    /// What the graph view draws around `id`: `up` hops upstream, `down`
    /// downstream, at most `budget` nodes.
    pub fn graph_window(&self, id: &str, up: u32, down: u32, budget: usize) -> Result<GraphView> {
        let g = self.graph.read().expect("the graph lock is never poisoned");
        let start = Self::node_of(&g, id)?;
        let hubs = Self::hub_set(&g);
        Ok(domain::site::graph_view(&g, start, up, down, budget, &hubs))
    }

    /// The outline of [`Self::graph_window`] a page is rendered with (see
    /// [`domain::site::graph_outline`]).
    pub fn graph_outline(&self, id: &str, up: u32, down: u32) -> Result<GraphView> {
        let g = self.graph.read().expect("the graph lock is never poisoned");
        let start = Self::node_of(&g, id)?;
        let hubs = Self::hub_set(&g);
        Ok(domain::site::graph_outline(
            &g,
            start,
            up,
            down,
            &hubs,
            |dir, depth| self.hops_of(&g, start, dir, Some(depth), None),
        ))
    }

    /// Expanding `id` in a drawing of `shown`: at most `budget` new
    /// neighbours. Unknown ids in `shown` (deleted since) are skipped.
    pub fn graph_expand(&self, id: &str, shown: &[String], budget: usize) -> Result<GraphDelta> {
        let g = self.graph.read().expect("the graph lock is never poisoned");
        let node = Self::node_of(&g, id)?;
        let shown: Vec<NodeId> = shown.iter().filter_map(|s| g.id_of(s)).collect();
        let x = g.expand(&shown, node, budget.max(1));
        let hubs = Self::hub_set(&g);
        let more: std::collections::HashMap<NodeId, usize> = x.more.iter().copied().collect();
        Ok(GraphDelta {
            nodes: x
                .added
                .iter()
                .map(|&n| Self::graph_node(&g, &hubs, n, 0, more[&n]))
                .collect(),
            edges: x
                .edges
                .into_iter()
                .map(|e| Self::lineage_edge(&g, e))
                .collect(),
            more: x
                .more
                .into_iter()
                .map(|(n, c)| (g.asset_id(n).to_string(), c))
                .collect(),
            path: vec![],
        })
    }

    /// A shortest path between two assets, whichever way it runs, for a
    /// drawing of `shown`: the path, the nodes and edges on it that are
    /// not drawn yet, and fresh "N more" counts.
    pub fn graph_path(&self, from: &str, to: &str, shown: &[String]) -> Result<GraphDelta> {
        let g = self.graph.read().expect("the graph lock is never poisoned");
        let (f, t) = (Self::node_of(&g, from)?, Self::node_of(&g, to)?);
        let Some(path) = g.shortest_path(f, t).or_else(|| g.shortest_path(t, f)) else {
            return Ok(GraphDelta::default());
        };
        let mut drawn: HashSet<NodeId> = shown.iter().filter_map(|s| g.id_of(s)).collect();
        let hubs = Self::hub_set(&g);
        let added: Vec<NodeId> = path.iter().copied().filter(|n| drawn.insert(*n)).collect();
        let edges = path
            .windows(2)
            .filter_map(|w| {
                g.downstream_of(w[0])
                    .find(|&(to, _)| to == w[1])
                    .map(|(_, kind)| Self::lineage_edge(&g, (w[0], w[1], kind)))
            })
            .collect();
        let hidden = |n: NodeId| {
            g.downstream_of(n)
                .chain(g.upstream_of(n))
                .filter(|(o, _)| !drawn.contains(o))
                .count()
        };
        Ok(GraphDelta {
            nodes: added
                .iter()
                .map(|&n| Self::graph_node(&g, &hubs, n, 0, hidden(n)))
                .collect(),
            edges,
            more: drawn
                .iter()
                .map(|&n| (g.asset_id(n).to_string(), hidden(n)))
                .collect(),
            path: path.iter().map(|&n| g.asset_id(n).to_string()).collect(),
        })
    }

    pub(crate) fn graph_write(&self) -> std::sync::RwLockWriteGuard<'_, LineageGraph> {
        let guard = self
            .graph
            .write()
            .expect("the graph lock is never poisoned");
        // Bumped while the lock is held, before the change: a reader that
        // saw the old generation may have read the old graph, and one that
        // sees the new generation reads only after the change is done.
        self.graph_generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        guard
    }

    /// Which in-memory graph a computation saw (see `graph_write`).
    pub(crate) fn graph_generation(&self) -> u64 {
        self.graph_generation
            .load(std::sync::atomic::Ordering::SeqCst)
    }
}

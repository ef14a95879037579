//! Keeping the in-memory lineage graph in step with writes made by other
//! processes. A store on a SurrealDB server (`ws://`) may be shared by
//! several mlgraph servers; each keeps its own `LineageGraph`, which its
//! own writes update after they commit. Every write that touches assets or
//! edges bumps the store's graph version in its transaction and reads the
//! version it wrote, so each process knows exactly which versions are its
//! own. A server polls the store's version; when a version since the last
//! one it reconciled is not its own, someone else wrote, and the graph is
//! rebuilt from a scan.
//!
//! A rebuild must not lose this process's own writes that land while the
//! scan runs: their changes to the graph are logged while a rebuild is
//! under way, and those newer than the version the rebuild started from
//! are applied again to the new graph when it replaces the old one. They
//! are upserts and removals, so applying one twice is harmless; should a
//! replayed change undo a later foreign one, that foreign version is still
//! unaccounted for, and the next poll rebuilds again.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use domain::lineage::{LineageGraph, Millis};
use domain::{AssetKind, Edge};

use crate::error::Result;
use crate::Catalog;

/// One change a committed write makes to the in-memory graph.
#[derive(Debug, Clone)]
pub(crate) enum GraphOp {
    Node {
        id: String,
        kind: AssetKind,
        name: String,
        owners: Vec<String>,
        production: bool,
    },
    Edge(Edge),
    RemoveEdge(String),
    RemoveNode(String),
}

impl GraphOp {
    /// The graph's copy of an asset as written.
    pub(crate) fn node(a: &domain::Asset) -> GraphOp {
        GraphOp::Node {
            id: a.id.clone(),
            kind: a.kind,
            name: a.name.clone(),
            owners: a.owners.clone(),
            production: domain::impact::is_production(a),
        }
    }

    /// Applies the change, made at `at`, to `g` (and its history).
    fn apply(&self, g: &mut LineageGraph, at: Millis) {
        match self {
            GraphOp::Node {
                id,
                kind,
                name,
                owners,
                production,
            } => {
                let n = g.upsert_node_at(id, *kind, name, at);
                g.set_facts(n, owners, *production);
            }
            GraphOp::Edge(e) => {
                g.upsert_edge_at(e, crate::rows::seen_at(e.first_seen.as_deref(), at));
            }
            GraphOp::RemoveEdge(id) => g.remove_edge_at(id, at),
            GraphOp::RemoveNode(id) => g.remove_node_at(id, at),
        }
    }
}

/// What this process knows about the store's graph version.
#[derive(Default)]
pub(crate) struct Follower {
    /// The store's graph version the in-memory graph was last reconciled
    /// with.
    seen: AtomicU64,
    /// Versions above `seen` that this process's own writes committed.
    own: Mutex<BTreeSet<u64>>,
    /// While a rebuild scans the store: the changes this process's own
    /// writes made meanwhile, with the versions they committed.
    replay: Mutex<Option<Vec<(u64, Millis, GraphOp)>>>,
    /// Set when no other process writes to the store (an embedded one):
    /// then nothing reconciles `own`, which must not grow with every write.
    alone: std::sync::atomic::AtomicBool,
}

impl Follower {
    pub(crate) fn new(seen: u64) -> Self {
        Follower {
            seen: AtomicU64::new(seen),
            ..Follower::default()
        }
    }
}

/// The graph version a write transaction committed: the value of its
/// `SELECT VALUE version FROM ONLY meta:graph`, the statement before
/// `COMMIT` (`BEGIN` and `COMMIT` count as statements).
pub(crate) fn committed_version(mut res: surrealdb::IndexedResults) -> Result<Option<u64>> {
    let n = res.num_statements();
    if n < 2 {
        return Ok(None);
    }
    let v: Option<serde_json::Value> = res.take(n - 2)?;
    Ok(v.and_then(|v| v.as_u64()))
}

impl Catalog {
    /// Applies a committed write's changes to the in-memory graph. `at` is
    /// the moment the write stored for them (new assets' `created_at`, new
    /// edges' `first_seen`, the `ended_at` of what ended), so that the
    /// graph's history and one rebuilt from the store agree. `version` is
    /// the graph version its transaction committed, or `None` when it left
    /// the graph alone (then the changes are already there).
    pub(crate) fn apply_to_graph(&self, ops: Vec<GraphOp>, at: Millis, version: Option<u64>) {
        let Some(version) = version else {
            return;
        };
        if !self.follow.alone.load(Ordering::Relaxed) {
            self.follow
                .own
                .lock()
                .expect("never poisoned")
                .insert(version);
        }
        if ops.is_empty() {
            return;
        }
        let mut g = self.graph_write();
        for op in &ops {
            op.apply(&mut g, at);
        }
        // Logged under the graph's lock, which a rebuild also holds while
        // it swaps graphs and applies the log to the new one: no change
        // made during a scan can miss the graph that replaces the old one.
        if let Some(log) = self.follow.replay.lock().expect("never poisoned").as_mut() {
            log.extend(ops.into_iter().map(|op| (version, at, op)));
        }
    }

    /// Says that no other process writes to this store, so this one's
    /// versions need no keeping (the server says so for an embedded
    /// store, which only one process can open).
    pub fn writes_alone(&self) {
        self.follow.alone.store(true, Ordering::Relaxed);
        self.follow.own.lock().expect("never poisoned").clear();
    }

    /// One step of following other writers; the server calls it every few
    /// seconds for a shared store. Answers whether the graph was rebuilt.
    pub async fn sync_graph(&self) -> Result<bool> {
        let version = self.graph_version().await?;
        let seen = self.follow.seen.load(Ordering::SeqCst);
        {
            let mut own = self.follow.own.lock().expect("never poisoned");
            // Every version since the last reconciled one is this
            // process's own: the graph already has those changes.
            if (seen + 1..=version).all(|v| own.contains(&v)) {
                own.retain(|&v| v > version);
                self.follow.seen.store(version.max(seen), Ordering::SeqCst);
                return Ok(false);
            }
        }
        self.rebuild_graph().await?;
        let n = self.rebuild_search().await?;
        tracing::info!(
            assets = n,
            "another process wrote to the store: search index rebuilt"
        );
        Ok(true)
    }

    /// Replaces the in-memory graph with one built by a scan of the store.
    async fn rebuild_graph(&self) -> Result<()> {
        let version = self.begin_rebuild().await?;
        let started = std::time::Instant::now();
        let fresh = crate::graph::load(&self.db).await;
        let replayed = self.finish_rebuild(version, fresh)?;
        tracing::info!(
            replayed,
            "another process wrote to the store: lineage graph rebuilt in {:.2?}",
            started.elapsed()
        );
        Ok(())
    }

    /// Starts logging this process's graph changes and answers the store
    /// version the coming scan will be at least as new as.
    async fn begin_rebuild(&self) -> Result<u64> {
        *self.follow.replay.lock().expect("never poisoned") = Some(Vec::new());
        let version = self.graph_version().await;
        if version.is_err() {
            *self.follow.replay.lock().expect("never poisoned") = None;
        }
        version
    }

    /// Swaps in the scanned graph with the logged changes applied again,
    /// and answers how many there were.
    fn finish_rebuild(&self, version: u64, fresh: Result<LineageGraph>) -> Result<usize> {
        let mut g = self.graph_write();
        let log = self
            .follow
            .replay
            .lock()
            .expect("never poisoned")
            .take()
            .unwrap_or_default();
        let mut fresh = fresh?;
        // Writes up to `version` committed before the scan began.
        let newer: Vec<(Millis, &GraphOp)> = log
            .iter()
            .filter(|(v, _, _)| *v > version)
            .map(|(_, at, op)| (*at, op))
            .collect();
        for (at, op) in &newer {
            op.apply(&mut fresh, *at);
        }
        *g = fresh;
        drop(g);
        self.follow.seen.store(version, Ordering::SeqCst);
        self.follow
            .own
            .lock()
            .expect("never poisoned")
            .retain(|&v| v > version);
        Ok(newer.len())
    }

    /// A second handle on the same store with its own in-memory graph, as
    /// another server process would have: for tests of following.
    #[doc(hidden)]
    pub async fn as_another_process(&self) -> Result<Catalog> {
        let version = self.graph_version().await?;
        let graph = crate::graph::load(&self.db).await?;
        let search = crate::search::open(&self.db, "mem://").await?;
        Ok(Catalog {
            db: self.db.clone(),
            graph: std::sync::Arc::new(std::sync::RwLock::new(graph)),
            image: None,
            webhook: Default::default(),
            stale_cache: Default::default(),
            graph_generation: Default::default(),
            follow: std::sync::Arc::new(Follower::new(version)),
            search,
            hop_cache: Default::default(),
            ingest_log_days: std::sync::Arc::new(std::sync::atomic::AtomicU32::new(
                crate::DEFAULT_INGEST_LOG_DAYS,
            )),
            token_days: std::sync::Arc::new(std::sync::atomic::AtomicU32::new(
                crate::users::DEFAULT_TOKEN_DAYS,
            )),
            history_days: self.history_days.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use domain::AssetInput;

    fn dataset(name: &str) -> domain::Asset {
        AssetInput {
            kind: Some("dataset".into()),
            namespace: Some("w".into()),
            name: Some(name.into()),
            ..Default::default()
        }
        .into_asset(None)
        .unwrap()
    }

    /// A write of this process that lands after a rebuild's scan read the
    /// store is not lost when the scanned graph replaces the old one.
    #[tokio::test]
    async fn own_writes_during_a_rebuild_are_kept() {
        let c = crate::Catalog::connect("mem://").await.unwrap();
        c.put_asset(dataset("before"), None, "t").await.unwrap();
        let version = c.begin_rebuild().await.unwrap();
        let scanned = crate::graph::load(&c.db).await;
        // The scan is done; this write is not in it.
        c.put_asset(dataset("during"), None, "t").await.unwrap();
        let replayed = c.finish_rebuild(version, scanned).unwrap();
        assert_eq!(replayed, 1);
        {
            let g = c.graph();
            assert!(g.id_of("dataset:w:during").is_some(), "the write was kept");
            assert!(g.id_of("dataset:w:before").is_some());
        }
        // Its version bump is this process's own: no further rebuild.
        assert!(!c.sync_graph().await.unwrap());
    }
}

//! The catalog service: mlgraph's store of assets, edges and their history
//! in SurrealDB.
//!
//! Architecture invariant: this is the only crate that speaks SurrealQL.
//! Every value that comes from a user reaches the database as a bound
//! parameter; query text is assembled only from fixed fragments.
//!
//! Errors: [`CatalogError`] is the one error type of this layer. Its
//! variants say how a caller should answer (bad input, not found,
//! conflict); database failures are kept whole for logging and never shown
//! to users by the layers above.

mod alias;
mod audit;
mod baseline;
mod change_request;
mod check;
mod dbt;
mod detail;
mod error;
mod follow;
mod graph;
mod history;
mod ingest;
mod mlflow;
mod newest;
mod outbox;
mod rows;
mod scaling;
mod schema;
mod search;
mod store;
mod users;
mod write;

pub use alias::AliasOutcome;
pub use check::CHECK_IMPACT_ROWS;
pub use dbt::DbtOutcome;
pub use error::{CatalogError, Result};
pub use ingest::IngestItem;
pub use mlflow::MlflowOutcome;
pub use outbox::{OutboxItem, MAX_ATTEMPTS};
pub use scaling::autoscaler_view;
pub use store::{
    StoreOptions, DEFAULT_STORE_CACHE_MB, DEFAULT_STORE_MEMTABLE_MB, MIN_STORE_CACHE_MB,
    MIN_STORE_MEMTABLE_MB,
};
pub use users::{random_password, NewUser, UserChange, DEFAULT_TOKEN_DAYS, SESSION_HOURS};
pub use write::WriteOutcome;

/// The namespace and database that mlgraph uses inside SurrealDB.
const NAMESPACE: &str = "mlgraph";
const DATABASE: &str = "catalog";

/// How many days of ingestion log are kept unless the server says otherwise.
pub const DEFAULT_INGEST_LOG_DAYS: u32 = 30;

/// A handle on the catalog. Cloning is cheap and shares the connection
/// and its one database session: cloning the SDK's handle itself would
/// open a session per clone, and a SurrealDB server caps the sessions of
/// one connection (256 by default), which a server's per-request clones
/// exhaust.
#[derive(Clone)]
pub struct Catalog {
    db: std::sync::Arc<store::Store>,
    graph: std::sync::Arc<std::sync::RwLock<domain::lineage::LineageGraph>>,
    /// Where the lineage image lives, for an on-disk store.
    image: Option<std::path::PathBuf>,
    /// Whether change-request steps write webhook events.
    webhook: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// How many days the ingestion log keeps (what the server prunes to).
    ingest_log_days: std::sync::Arc<std::sync::atomic::AtomicU32>,
    /// How many days a new API token lasts.
    token_days: std::sync::Arc<std::sync::atomic::AtomicU32>,
    /// How many days of history are kept; 0 keeps everything.
    history_days: std::sync::Arc<std::sync::atomic::AtomicU32>,
    /// Staleness verdicts of change requests.
    stale_cache: std::sync::Arc<std::sync::Mutex<StaleCache>>,
    /// Bumped whenever the in-memory graph is about to change.
    graph_generation: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// What the graph has caught up with of the store's writes.
    follow: std::sync::Arc<follow::Follower>,
    /// The search index, derived from the store like the graph.
    search: std::sync::Arc<search::SearchIndex>,
    /// First windows of large lineages, for asset pages.
    hop_cache: std::sync::Arc<std::sync::Mutex<detail::HopCache>>,
}

/// (request, its version) → (stored graph version, in-memory graph
/// generation, whether it was stale then).
type StaleCache = std::collections::HashMap<(u64, u64), (u64, u64, bool)>;

impl Catalog {
    /// Connects to `url` (`surrealkv://DIR`, `mem://` or `ws://HOST:PORT`)
    /// and brings the schema up to date.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, StoreOptions::default()).await
    }

    /// Connects as [`Catalog::connect`] does, opening an embedded store
    /// with `options`.
    pub async fn connect_with(url: &str, options: StoreOptions) -> Result<Self> {
        options.validate()?;
        let db = store::Store::open(url, options).await?;
        db.use_ns_db(NAMESPACE, DATABASE).await?;
        crate::schema::migrate(&db).await?;
        // Read before the graph is built: a write by another process during
        // the build then shows as a version the graph has not caught up with.
        let version = crate::graph::store_state(&db).await?.1;
        let graph = crate::graph::open(&db, url).await?;
        let search = crate::search::open(&db, url).await?;
        if crate::graph::image_path(url).is_some() && crate::graph::import_under_way(&db).await? {
            // This process holds the store alone (SurrealKV), so no import
            // is under way: one was cut short, and the graph and search
            // index were just rebuilt from a scan of what it wrote.
            db.query("UPDATE meta:graph SET importing = NONE RETURN NONE")
                .await?
                .check()?;
        }
        Ok(Catalog {
            db: std::sync::Arc::new(db),
            graph: std::sync::Arc::new(std::sync::RwLock::new(graph)),
            image: crate::graph::image_path(url),
            webhook: Default::default(),
            stale_cache: Default::default(),
            graph_generation: Default::default(),
            follow: std::sync::Arc::new(follow::Follower::new(version)),
            search,
            hop_cache: Default::default(),
            ingest_log_days: std::sync::Arc::new(std::sync::atomic::AtomicU32::new(
                DEFAULT_INGEST_LOG_DAYS,
            )),
            token_days: std::sync::Arc::new(std::sync::atomic::AtomicU32::new(
                users::DEFAULT_TOKEN_DAYS,
            )),
            history_days: Default::default(),
        })
    }

    /// Writes the image of the lineage graph beside an on-disk store, so
    /// the next start reads it instead of scanning every edge. Call it
    /// only when no write is under way (the server does so after it has
    /// stopped taking requests): the image is stamped with the store's
    /// graph version, and an image that is behind is ignored.
    pub async fn save_lineage_image(&self) -> Result<()> {
        let Some(path) = &self.image else {
            return Ok(());
        };
        let state = crate::graph::store_state(&self.db).await?;
        let g = self.graph.read().expect("the graph lock is never poisoned");
        crate::graph::write_image(path, &state, &g)
            .map_err(|e| CatalogError::Corrupt(format!("writing {}: {e}", path.display())))
    }

    /// Whether the catalog holds no asset yet.
    pub async fn is_empty(&self) -> Result<bool> {
        Ok(self.count_assets().await? == 0)
    }

    pub async fn count_assets(&self) -> Result<u64> {
        self.count("SELECT count() AS n FROM asset GROUP ALL").await
    }

    pub async fn count_edges(&self) -> Result<u64> {
        self.count("SELECT count() AS n FROM edge GROUP ALL").await
    }

    async fn count(&self, sql: &'static str) -> Result<u64> {
        let mut res = self.db.query(sql).await?;
        let n: Option<serde_json::Value> = res.take(0)?;
        Ok(n.and_then(|v| v.get("n").and_then(|n| n.as_u64()))
            .unwrap_or(0))
    }

    /// A number that grows with every committed change to assets or edges,
    /// so that derived views can tell whether they are stale.
    pub async fn graph_version(&self) -> Result<u64> {
        let mut res = self
            .db
            .query("SELECT VALUE version FROM ONLY meta:graph")
            .await?;
        let v: Option<serde_json::Value> = res.take(0)?;
        Ok(v.and_then(|v| v.as_u64()).unwrap_or(0))
    }
}

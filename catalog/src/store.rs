//! The connection to SurrealDB, embedded or remote.
//!
//! An embedded SurrealKV store is opened through SurrealDB's datastore
//! builder rather than the SDK's `connect`, because only the builder takes
//! SurrealKV's settings. The one mlgraph sets is the block cache: SurrealDB
//! sizes it at half the machine's memory minus 1 GiB (11.5 GB on a 24 GB
//! machine), and a catalog of a million assets fills it while loading or
//! exporting, so mlgraph's memory would be the machine's. Every other
//! setting but the memtable's size, and every other URL (`mem://`, `ws://`), is SurrealDB's own
//! default through the SDK.

use std::borrow::Cow;
use std::future::{Future, IntoFuture};
use std::pin::Pin;

use surrealdb::engine::any::{self, Any};
use surrealdb::engine::local::Db;
use surrealdb::method::{IntoVariables, Query};
use surrealdb::Surreal;

use crate::error::{CatalogError, Result};

/// The block cache of an embedded SurrealKV store unless told otherwise:
/// enough for the hot blocks of a million-asset catalog (the lineage graph
/// and search index hold what is read most), and small beside the memory
/// targets in docs/PERFORMANCE.md.
pub const DEFAULT_STORE_CACHE_MB: u64 = 1024;

/// The smallest block cache accepted; SurrealDB's own floor is 16 MiB.
pub const MIN_STORE_CACHE_MB: u64 = 16;

/// SurrealKV's memtable unless told otherwise. SurrealDB sizes it at 1 GiB
/// on a machine of 16 to 64 GB, and SurrealKV keeps up to two full ones
/// waiting for their flush beside the one being written, so a bulk load
/// held 3 GiB in memtables alone. One transaction must fit in it: the
/// largest mlgraph writes (a batch of 5,000 imported records, 256 combined
/// OpenLineage events, a dbt project) take tens of MB.
pub const DEFAULT_STORE_MEMTABLE_MB: u64 = 256;

/// The smallest memtable accepted.
pub const MIN_STORE_MEMTABLE_MB: u64 = 64;

/// How an embedded store is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreOptions {
    /// SurrealKV's block cache, in MiB.
    pub cache_mb: u64,
    /// SurrealKV's memtable, in MiB: the largest transaction it can take.
    pub memtable_mb: u64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            cache_mb: DEFAULT_STORE_CACHE_MB,
            memtable_mb: DEFAULT_STORE_MEMTABLE_MB,
        }
    }
}

impl StoreOptions {
    /// Refuses sizes below the floors, naming the setting.
    pub fn validate(&self) -> std::result::Result<(), domain::ValidationError> {
        let floors = [
            (
                "store_cache_mb",
                "block cache",
                self.cache_mb,
                MIN_STORE_CACHE_MB,
            ),
            (
                "store_memtable_mb",
                "memtable",
                self.memtable_mb,
                MIN_STORE_MEMTABLE_MB,
            ),
        ];
        for (field, what, value, floor) in floors {
            if value < floor {
                return Err(domain::ValidationError::new(
                    field,
                    format!("the store's {what} must be at least {floor} MiB, not {value}"),
                ));
            }
        }
        Ok(())
    }
}

/// A connection: an embedded SurrealKV store, or anything the SDK's `any`
/// engine reaches (`mem://`, `ws://`).
pub(crate) enum Store {
    Embedded(Surreal<Db>),
    Remote(Surreal<Any>),
}

impl Store {
    /// Opens `url`. The caller checks `options` (see `Catalog::connect_with`).
    pub(crate) async fn open(url: &str, options: StoreOptions) -> Result<Store> {
        let connect_error = |e: &dyn std::fmt::Display| CatalogError::Connect {
            url: url.to_string(),
            message: e.to_string(),
        };
        match url.strip_prefix("surrealkv://") {
            Some(_) => {
                let config = surrealdb_cnf::ConfigMap::empty()
                    .with_key_value(
                        "surrealkv_block_cache_capacity",
                        (options.cache_mb << 20).to_string(),
                    )
                    .with_key_value(
                        "surrealkv_max_memtable_size",
                        (options.memtable_mb << 20).to_string(),
                    );
                // The same steps as the SDK's own embedded `connect`: the
                // version is checked and the datastore bootstrapped before
                // its background tasks may write.
                let datastore = surrealdb_core::kvs::Datastore::builder()
                    .with_config(config)
                    .without_maintenance_tasks()
                    .build_with_path(url)
                    .await
                    .map_err(|e| connect_error(&e))?;
                datastore
                    .check_version()
                    .await
                    .map_err(|e| connect_error(&e))?;
                datastore.bootstrap().await.map_err(|e| connect_error(&e))?;
                datastore.start_maintenance_tasks();
                let db = Surreal::<Db>::unstable_from_datastore(datastore, None)
                    .await
                    .map_err(|e| connect_error(&e))?;
                Ok(Store::Embedded(db))
            }
            None => Ok(Store::Remote(
                any::connect(url).await.map_err(|e| connect_error(&e))?,
            )),
        }
    }

    /// Selects mlgraph's namespace and database.
    pub(crate) async fn use_ns_db(&self, ns: &str, db: &str) -> Result<()> {
        match self {
            Store::Embedded(s) => s.use_ns(ns).use_db(db).await?,
            Store::Remote(s) => s.use_ns(ns).use_db(db).await?,
        };
        Ok(())
    }

    /// Starts a query, as the SDK's `Surreal::query`.
    pub(crate) fn query<'a>(&'a self, sql: impl Into<Cow<'a, str>>) -> StoreQuery<'a> {
        match self {
            Store::Embedded(s) => StoreQuery::Embedded(s.query(sql)),
            Store::Remote(s) => StoreQuery::Remote(s.query(sql)),
        }
    }
}

/// A query being built on either kind of connection.
pub(crate) enum StoreQuery<'a> {
    Embedded(Query<'a, Db>),
    Remote(Query<'a, Any>),
}

impl<'a> StoreQuery<'a> {
    /// Appends a statement, as the SDK's `Query::query`.
    pub(crate) fn query(self, sql: impl Into<Cow<'a, str>>) -> Self {
        match self {
            StoreQuery::Embedded(q) => StoreQuery::Embedded(q.query(sql)),
            StoreQuery::Remote(q) => StoreQuery::Remote(q.query(sql)),
        }
    }

    /// Binds variables, as the SDK's `Query::bind`.
    pub(crate) fn bind(self, vars: impl IntoVariables) -> Self {
        match self {
            StoreQuery::Embedded(q) => StoreQuery::Embedded(q.bind(vars)),
            StoreQuery::Remote(q) => StoreQuery::Remote(q.bind(vars)),
        }
    }
}

impl<'a> IntoFuture for StoreQuery<'a> {
    type Output = surrealdb::Result<surrealdb::IndexedResults>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        match self {
            StoreQuery::Embedded(q) => q.into_future(),
            StoreQuery::Remote(q) => q.into_future(),
        }
    }
}

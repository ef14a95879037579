//! Catalog search: full text (prefixes of the words of names, descriptions,
//! column names and tags, BM25, an exact name first) narrowed by kind,
//! owner and tag, with exact counts per facet. The search index
//! ([`index`]) answers which assets and in what order; the store then
//! reads just the page's assets.

mod facets;
mod find;
mod index;

use crate::store::Store;
use std::sync::Arc;

use domain::query::{SearchQuery, SearchResult, MAX_LIMIT};
use domain::ValidationError;

pub(crate) use find::AllCounts;
pub(crate) use index::{Change, SearchIndex};

use crate::error::{CatalogError, Result};
use crate::Catalog;

/// How many assets a rebuild reads from the store at a time.
const SCAN_PAGE: usize = 5_000;

/// The search index of a store that is just opening: the one on disk when
/// its stamp matches the store, else one rebuilt from a scan.
pub(crate) async fn open(db: &Store, url: &str) -> Result<Arc<SearchIndex>> {
    let started = std::time::Instant::now();
    let state = crate::graph::store_state(db).await?;
    let dir = index::index_dir(url);
    let (index, current) = SearchIndex::open(dir.as_deref(), &state)?;
    let current = current && !crate::graph::import_under_way(db).await?;
    let index = Arc::new(index);
    if current {
        tracing::info!(
            "search index read from {} in {:.2?}",
            dir.as_deref()
                .map(|d| d.display().to_string())
                .unwrap_or_default(),
            started.elapsed()
        );
    } else {
        let n = rebuild(db, &index).await?;
        if index.on_disk() {
            tracing::info!(
                assets = n,
                "search index rebuilt from the store in {:.2?}",
                started.elapsed()
            );
        }
    }
    Ok(index)
}

/// Refills `index` from a scan of the store; answers how many assets it
/// read. This process's own writes during the scan are kept.
pub(crate) async fn rebuild(db: &Store, index: &SearchIndex) -> Result<usize> {
    index.begin_rebuild()?;
    let scanned = async {
        let state = crate::graph::store_state(db).await?;
        let mut after: Option<String> = None;
        let mut n = 0;
        loop {
            let page = crate::detail::assets_after(db, after.as_deref(), SCAN_PAGE).await?;
            index.add_scanned(&page)?;
            n += page.len();
            match page.last() {
                Some(last) if page.len() == SCAN_PAGE => after = Some(last.id.clone()),
                _ => break,
            }
        }
        Ok::<_, CatalogError>((state, n))
    }
    .await;
    match scanned {
        Ok((state, n)) => {
            index.finish_rebuild(&state)?;
            Ok(n)
        }
        Err(e) => {
            index.abandon_rebuild();
            Err(e)
        }
    }
}

impl Catalog {
    /// One page of a search, with its total and facet counts. A listing
    /// without text continues after `q.after` (the `next` of the previous
    /// page): keyset paging, so any depth costs what the first page does.
    pub async fn search(&self, q: &SearchQuery) -> Result<SearchResult> {
        if q.limit > MAX_LIMIT {
            return Err(
                ValidationError::new("limit", format!("must be at most {MAX_LIMIT}")).into(),
            );
        }
        if q.q.len() > 1000 {
            return Err(ValidationError::new("q", "must be at most 1000 bytes").into());
        }
        // The cursor holds the id of the last asset of the previous page.
        let after = match q.after.as_deref() {
            None => None,
            Some(c) => Some(domain::query::asset_after(c).ok_or_else(|| {
                ValidationError::new("after", "must be the `next` of a previous page")
            })?),
        };
        if after.is_some() && !find::query_words(&q.q).is_empty() {
            return Err(ValidationError::new(
                "after",
                "continues a listing in name order; a search with words pages by offset",
            )
            .into());
        }
        let index = self.search.clone();
        let (query, cursor) = (q.clone(), after);
        // The permit goes with the blocking task: a caller that gives up
        // does not free the core its search still runs on.
        let permit = self
            .search
            .searching
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| CatalogError::Corrupt(format!("search: {e}")))?;
        let found = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            index.find(&query, cursor.as_deref())
        })
        .await
        .map_err(|e| CatalogError::Corrupt(format!("search: {e}")))??;
        let mut assets = self.load_assets(found.ids.clone()).await?;
        // An asset deleted since the index answered is left out.
        let items = found
            .ids
            .iter()
            .filter_map(|id| assets.remove(id))
            .collect();
        Ok(SearchResult {
            total: found.total,
            items,
            facets: found.facets,
            next: found.next.as_deref().map(domain::query::cursor_after),
        })
    }

    /// Commits what the search index was handed since its last commit, so
    /// that its stamp on disk keeps up (the server calls it every few
    /// seconds and at shutdown).
    pub fn flush_search(&self) -> Result<()> {
        self.search.refresh()
    }

    /// Hands a committed write's changed and deleted assets to the search
    /// index.
    pub(crate) fn index_changes(&self, changes: Vec<Change>, version: Option<u64>) {
        let Some(version) = version else {
            return;
        };
        if let Err(e) = self.search.apply(changes, version) {
            tracing::error!(error = %e, "updating the search index; it is rebuilt at the next start");
        }
    }

    /// Rebuilds the search index from the store (after another process
    /// wrote to a shared one).
    pub(crate) async fn rebuild_search(&self) -> Result<usize> {
        rebuild(&self.db, &self.search).await
    }
}

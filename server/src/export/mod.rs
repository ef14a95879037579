//! `mlgraph export --out DIR`: the catalog (or the part of it around one
//! asset) as a static site that any static file host serves, with no
//! mlgraph server behind it.
//!
//! ```text
//! DIR/index.html            search (in the browser) over sharded indexes
//! DIR/search/manifest.json  the shard keys and the catalog's size
//! DIR/search/KEY.json       assets with a name word starting with KEY
//!                           (KEY.2.json… for a word too common to split)
//! DIR/a/PAGE.html           one prerendered page per asset
//! DIR/data/PAGE.json        the graph that page draws (GraphView)
//! DIR/g/XX.json             impact records, 256 shards, for the explorer
//! DIR/pkg, DIR/vendor       the app's WebAssembly and Cytoscape.js
//! ```
//!
//! `PAGE` is `domain::site::page_name(id)`. Every file depends only on the
//! catalog's content and is written in a fixed order from sorted data, so
//! the same catalog always gives byte-identical files; links are relative,
//! so the site also works under a sub-path.
//!
//! A whole-catalog export holds the lineage index and the edges' column
//! mappings ([`estate`]), and streams the asset records from the store a
//! page at a time ([`writer`]), so its memory grows with the graph, not
//! with the records.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use domain::{Asset, Edge};

/// The hops each page's graph shows each way, and its node budget, which
/// keeps every page's data small however large the catalog.
const GRAPH_HOPS: u32 = 2;
const GRAPH_BUDGET: usize = 60;
/// How many hubs the index lists and the graphs mark.
const HUBS: usize = 25;
/// The most names in one search shard before it is split by another
/// letter, and in one page of a shard that cannot be split further, unless
/// `--shard-size` says.
const SEARCH_SHARD_MAX: usize = 3_000;
/// Assets read from the store and written per step.
const ASSET_PAGE: usize = 5_000;

mod estate;
mod pages;
mod writer;

use estate::Estate;
use writer::SiteWriter;

#[derive(clap::Args, Clone)]
pub struct ExportArgs {
    #[command(flatten)]
    pub db: crate::config::DbArgs,
    /// The folder to write the site into (created if missing); with --ndjson, the file.
    #[arg(long)]
    pub out: PathBuf,
    /// Write the catalog as NDJSON (the import format) instead of a site.
    #[arg(long)]
    pub ndjson: bool,
    /// Export only the lineage around this asset.
    #[arg(long)]
    pub scope: Option<String>,
    /// With --scope: how many hops each way (default: all).
    #[arg(long)]
    pub depth: Option<u32>,
    /// Where the compiled site is (the app's WebAssembly, CSS and Cytoscape).
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,
    /// The most names in one search shard, or in one page of a shard whose
    /// word is too common to split (10 to 1,000,000): smaller shards mean
    /// smaller downloads per search, and more files.
    #[arg(long, default_value_t = SEARCH_SHARD_MAX as u32,
          value_parser = clap::value_parser!(u32).range(10..=1_000_000))]
    pub shard_size: u32,
}

/// What an export wrote.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct ExportStats {
    pub assets: usize,
    pub edges: usize,
    pub files: usize,
    pub bytes: u64,
    /// The largest asset page plus its data file, in bytes.
    pub largest_page: u64,
    /// What the index page loads before any search: the page and the manifest.
    pub first_load: u64,
    pub largest_search_shard: u64,
    pub interactive: bool,
}

/// Reads the catalog (or the scope) and writes the site.
pub async fn run(args: ExportArgs) -> anyhow::Result<ExportStats> {
    let catalog = crate::config::open(&export_db(&args.db)).await?;
    let shard = args.shard_size as usize;
    if args.scope.is_none() {
        return write_catalog(&catalog, &args.out, &args.site_root, ASSET_PAGE, shard).await;
    }
    let (assets, edges) = load(&catalog, args.scope.as_deref(), args.depth).await?;
    write_site_sized(&assets, &edges, &args.out, &args.site_root, shard)
}

/// The block cache an export opens the store with unless told otherwise:
/// it reads every record once, in key order, so a larger cache would only
/// hold blocks that are never read again.
pub const EXPORT_STORE_CACHE_MB: u64 = 128;

/// `db` with the export's block cache, unless one was asked for.
pub fn export_db(db: &crate::config::DbArgs) -> crate::config::DbArgs {
    let mut db = db.clone();
    db.store_cache_mb.get_or_insert(EXPORT_STORE_CACHE_MB);
    db
}

/// Every asset and edge of the catalog, or of the lineage around `scope`.
pub async fn load(
    catalog: &catalog::Catalog,
    scope: Option<&str>,
    depth: Option<u32>,
) -> anyhow::Result<(Vec<Asset>, Vec<Edge>)> {
    let e = |e: catalog::CatalogError| anyhow::anyhow!("{e}");
    let keep: Option<HashSet<String>> = match scope {
        None => None,
        Some(id) => {
            catalog.get_asset(id).await.map_err(e)?;
            let view = catalog.lineage(id, None, depth, vec![], None).map_err(e)?;
            Some(view.nodes.into_iter().map(|n| n.id).collect())
        }
    };
    let mut assets: Vec<domain::Asset> = Vec::new();
    let fetch = |after: Option<String>| async move {
        catalog.export_assets(after.as_deref(), ASSET_PAGE).await
    };
    in_pages(
        ASSET_PAGE,
        fetch,
        |a: &Asset| a.id.clone(),
        |got| {
            let kept = got.into_iter();
            assets.extend(kept.filter(|a| keep.as_ref().is_none_or(|k| k.contains(&a.id))));
            Ok(())
        },
    )
    .await?;
    let ids: HashSet<&str> = assets.iter().map(|a| a.id.as_str()).collect();
    let mut edges = Vec::new();
    let fetch = |after: Option<String>| async move {
        catalog.export_edges(after.as_deref(), ASSET_PAGE).await
    };
    in_pages(
        ASSET_PAGE,
        fetch,
        |x: &Edge| x.id.clone(),
        |got| {
            let kept = got.into_iter();
            edges.extend(
                kept.filter(|x| ids.contains(x.from.as_str()) && ids.contains(x.to.as_str())),
            );
            Ok(())
        },
    )
    .await?;
    Ok((assets, edges))
}

/// Reads a whole table in id order, `page` rows at a time (keyset paging,
/// so the last page costs what the first does), handing each page to
/// `each`.
pub(super) async fn in_pages<T, Fut>(
    page: usize,
    fetch: impl Fn(Option<String>) -> Fut,
    id: impl Fn(&T) -> String,
    mut each: impl FnMut(Vec<T>) -> anyhow::Result<()>,
) -> anyhow::Result<()>
where
    Fut: std::future::Future<Output = Result<Vec<T>, catalog::CatalogError>>,
{
    let mut after: Option<String> = None;
    loop {
        let got = fetch(after.take())
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let done = got.len() < page;
        after = got.last().map(&id);
        each(got)?;
        if done {
            return Ok(());
        }
    }
}

/// Writes the site for `assets` and `edges` into `out` (edges with an end
/// outside `assets` are left out).
#[cfg(test)]
pub fn write_site(
    assets: &[Asset],
    edges: &[Edge],
    out: &Path,
    site_root: &Path,
) -> anyhow::Result<ExportStats> {
    write_site_sized(assets, edges, out, site_root, SEARCH_SHARD_MAX)
}

/// [`write_site`] with at most `shard` names per search shard or page.
pub fn write_site_sized(
    assets: &[Asset],
    edges: &[Edge],
    out: &Path,
    site_root: &Path,
    shard: usize,
) -> anyhow::Result<ExportStats> {
    let estate = Estate::from_slices(assets, edges);
    let mut sorted: Vec<&Asset> = assets.iter().collect();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    sorted.dedup_by(|a, b| a.id == b.id);
    let mut w = SiteWriter::new(&estate, out, site_root, shard)?;
    for part in sorted.chunks(ASSET_PAGE) {
        w.batch(part)?;
    }
    w.finish()
}

/// Writes the whole catalog's site, reading its assets `page` at a time,
/// with at most `shard` names per search shard or page.
pub(crate) async fn write_catalog(
    catalog: &catalog::Catalog,
    out: &Path,
    site_root: &Path,
    page: usize,
    shard: usize,
) -> anyhow::Result<ExportStats> {
    let estate = Estate::from_catalog(catalog).await?;
    let mut w = SiteWriter::new(&estate, out, site_root, shard)?;
    let fetch =
        |after: Option<String>| async move { catalog.export_assets(after.as_deref(), page).await };
    in_pages(
        page,
        fetch,
        |a: &Asset| a.id.clone(),
        |got| w.batch(&got.iter().collect::<Vec<_>>()),
    )
    .await?;
    w.finish()
}

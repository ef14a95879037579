//! `mlgraph export --out DIR`: the catalog (or the part of it around one
//! asset) as a static site that any static file host serves, with no
//! mlgraph server behind it.
//!
//! ```text
//! DIR/index.html            search (in the browser) over sharded indexes
//! DIR/search/manifest.json  the shard keys and the catalog's size
//! DIR/search/KEY.json       assets with a name word starting with KEY
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

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use domain::lineage::{LineageGraph, NodeId};
use domain::query::GraphView;
use domain::site::{
    graph_shard, graph_view, leaf_key, page_name, search_tokens, shard_key, GraphRecord, OutEdge,
    SearchEntry, SiteManifest,
};
use domain::svg::escape;
use domain::{Asset, AssetKind, Edge};

/// The hops each page's graph shows each way, and its node budget, which
/// keeps every page's data small however large the catalog.
const GRAPH_HOPS: u32 = 2;
const GRAPH_BUDGET: usize = 60;
/// How many hubs the index lists and the graphs mark.
const HUBS: usize = 25;
/// The most names in one search shard before it is split by a third letter.
const SEARCH_SHARD_MAX: usize = 3_000;
/// Neighbours listed on a page, each way.
const NEIGHBOURS_SHOWN: usize = 200;

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
    let catalog = crate::config::open(&args.db).await?;
    let (assets, edges) = load(&catalog, args.scope.as_deref(), args.depth).await?;
    write_site(&assets, &edges, &args.out, &args.site_root)
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
    let page = 5_000;
    let mut assets: Vec<domain::Asset> = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let got = catalog
            .export_assets(after.as_deref(), page)
            .await
            .map_err(e)?;
        let done = got.len() < page;
        after = got.last().map(|a| a.id.clone());
        assets.extend(
            got.into_iter()
                .filter(|a| keep.as_ref().is_none_or(|k| k.contains(&a.id))),
        );
        if done {
            break;
        }
    }
    let ids: HashSet<&str> = assets.iter().map(|a| a.id.as_str()).collect();
    let mut edges = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let got = catalog
            .export_edges(after.as_deref(), page)
            .await
            .map_err(e)?;
        let done = got.len() < page;
        after = got.last().map(|x| x.id.clone());
        edges.extend(
            got.into_iter()
                .filter(|x| ids.contains(x.from.as_str()) && ids.contains(x.to.as_str())),
        );
        if done {
            break;
        }
    }
    Ok((assets, edges))
}

/// A file to write, relative to the site's root.
struct Out {
    path: String,
    bytes: Vec<u8>,
}

/// Writes the site for `assets` and `edges` into `out`.
pub fn write_site(
    assets: &[Asset],
    edges: &[Edge],
    out: &Path,
    site_root: &Path,
) -> anyhow::Result<ExportStats> {
    let mut assets: Vec<&Asset> = assets.iter().collect();
    assets.sort_by(|a, b| a.id.cmp(&b.id));
    let mut edges: Vec<&Edge> = edges.iter().collect();
    edges.sort_by(|a, b| a.id.cmp(&b.id));

    let mut pages: HashMap<&str, String> = HashMap::with_capacity(assets.len());
    let mut taken: HashMap<String, &str> = HashMap::with_capacity(assets.len());
    for a in &assets {
        let p = page_name(&a.id);
        if let Some(other) = taken.insert(p.clone(), &a.id) {
            anyhow::bail!("{} and {other} hash to the same page name {p}", a.id);
        }
        pages.insert(&a.id, p);
    }
    let mut g = LineageGraph::new();
    for a in &assets {
        g.upsert_node(&a.id, a.kind, &a.name);
    }
    for e in &edges {
        g.upsert_edge(e);
    }
    g.compact();
    let hub_list: Vec<_> = g
        .hubs(HUBS)
        .into_iter()
        .filter(|h| h.downstream >= 10)
        .collect();
    let hubs: HashSet<NodeId> = hub_list.iter().map(|h| h.node).collect();
    let mut ups: HashMap<&str, Vec<&Edge>> = HashMap::new();
    let mut downs: HashMap<&str, Vec<&Edge>> = HashMap::new();
    for e in &edges {
        downs.entry(e.from.as_str()).or_default().push(e);
        ups.entry(e.to.as_str()).or_default().push(e);
    }
    let by_id: HashMap<&str, &Asset> = assets.iter().map(|a| (a.id.as_str(), *a)).collect();
    let interactive = site_root.join("pkg/mlgraph.wasm").exists();

    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    for d in ["a", "data", "g", "search"] {
        let dir = out.join(d);
        if dir.exists() {
            // A re-export must not leave pages of assets that are gone.
            std::fs::remove_dir_all(&dir).with_context(|| format!("clearing {}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir)?;
    }

    // Asset pages and their graph data, on every core.
    // One downstream walk per hub says which assets depend on it, instead
    // of an upstream walk per asset.
    let mut hub_deps: HashMap<NodeId, Vec<NodeId>> = HashMap::new();
    for h in &hub_list {
        for (n, _) in g.closure(
            h.node,
            domain::lineage::Direction::Downstream,
            &Default::default(),
        ) {
            if n != h.node {
                hub_deps.entry(n).or_default().push(h.node);
            }
        }
    }
    let site = Site {
        g: &g,
        hubs: &hubs,
        hub_deps: &hub_deps,
        pages: &pages,
        by_id: &by_id,
        ups: &ups,
        downs: &downs,
        interactive,
    };
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = assets.len().div_ceil(workers).max(1);
    let mut stats = ExportStats {
        assets: assets.len(),
        edges: edges.len(),
        interactive,
        ..Default::default()
    };
    let results: Vec<anyhow::Result<(usize, u64, u64)>> = std::thread::scope(|s| {
        let handles: Vec<_> = assets
            .chunks(chunk)
            .map(|part| {
                let site = &site;
                s.spawn(move || -> anyhow::Result<(usize, u64, u64)> {
                    let (mut files, mut bytes, mut largest) = (0, 0u64, 0u64);
                    for a in part {
                        let page = &site.pages[a.id.as_str()];
                        let node = site.g.id_of(&a.id).expect("every asset is indexed");
                        let view = graph_view(
                            site.g,
                            node,
                            GRAPH_HOPS,
                            GRAPH_HOPS,
                            GRAPH_BUDGET,
                            site.hubs,
                        );
                        let data = serde_json::to_vec(&view)?;
                        let html = site.asset_page(a, page, &view);
                        std::fs::write(out.join(format!("data/{page}.json")), &data)?;
                        std::fs::write(out.join(format!("a/{page}.html")), html.as_bytes())?;
                        files += 2;
                        let size = (data.len() + html.len()) as u64;
                        bytes += size;
                        largest = largest.max(size);
                    }
                    Ok((files, bytes, largest))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("an export worker panicked"))
            .collect()
    });
    for r in results {
        let (files, bytes, largest) = r?;
        stats.files += files;
        stats.bytes += bytes;
        stats.largest_page = stats.largest_page.max(largest);
    }

    let mut rest: Vec<Out> = Vec::new();
    // Impact records, sharded by page name.
    let mut shards: BTreeMap<String, BTreeMap<String, GraphRecord>> = BTreeMap::new();
    for a in &assets {
        let page = &pages[a.id.as_str()];
        let out_edges = downs
            .get(a.id.as_str())
            .map(|es| {
                es.iter()
                    .map(|e| OutEdge {
                        to: e.to.clone(),
                        kind: e.kind,
                        columns: e.columns.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        shards
            .entry(graph_shard(page).to_string())
            .or_default()
            .insert(page.clone(), GraphRecord::new(a, out_edges));
    }
    for (key, records) in &shards {
        rest.push(Out {
            path: format!("g/{key}.json"),
            bytes: serde_json::to_vec(records)?,
        });
    }
    // Search shards: each asset once in the shard of each of its words; a
    // crowded two-letter shard is split by the third letter, so no query
    // downloads more than a few hundred kilobytes.
    let mut search: BTreeMap<String, Vec<(SearchEntry, Vec<String>)>> = BTreeMap::new();
    for a in &assets {
        let tokens = search_tokens(&a.name);
        let mut keys: Vec<String> = tokens
            .iter()
            .map(|t| shard_key(t))
            .filter(|k| k.chars().count() == 2)
            .collect();
        keys.sort();
        keys.dedup();
        for k in keys {
            search.entry(k).or_default().push((
                SearchEntry {
                    n: a.name.clone(),
                    k: a.kind,
                    p: pages[a.id.as_str()].clone(),
                    s: a.namespace.clone(),
                },
                tokens.clone(),
            ));
        }
    }
    // Split until every shard is small or its key is five characters long.
    let mut split: std::collections::BTreeSet<String> = Default::default();
    loop {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for entries in search.values() {
            for (_, tokens) in entries {
                let mut keys: Vec<String> = tokens.iter().map(|t| leaf_key(t, &split)).collect();
                keys.sort();
                keys.dedup();
                for k in keys {
                    *counts.entry(k).or_default() += 1;
                }
            }
        }
        let crowded: Vec<String> = counts
            .into_iter()
            .filter(|(k, n)| *n > SEARCH_SHARD_MAX && k.len() < 5 && !k.ends_with('-'))
            .map(|(k, _)| k)
            .collect();
        if crowded.is_empty() {
            break;
        }
        split.extend(crowded);
    }
    let mut leaves: BTreeMap<String, Vec<&SearchEntry>> = BTreeMap::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for entries in search.values() {
        for (e, tokens) in entries {
            // Each asset is listed once per leaf, however many shards it
            // was grouped under first.
            if !seen.insert(e.p.as_str()) {
                continue;
            }
            let mut keys: Vec<String> = tokens.iter().map(|t| leaf_key(t, &split)).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                leaves.entry(k).or_default().push(e);
            }
        }
    }
    for v in leaves.values_mut() {
        v.sort_by(|a, b| (&a.n, &a.p).cmp(&(&b.n, &b.p)));
    }
    let split: Vec<String> = split.into_iter().collect();
    let mut largest_shard = 0u64;
    for (key, entries) in &leaves {
        let bytes = serde_json::to_vec(entries)?;
        largest_shard = largest_shard.max(bytes.len() as u64);
        rest.push(Out {
            path: format!("search/{key}.json"),
            bytes,
        });
    }
    stats.largest_search_shard = largest_shard;
    let mut kinds: BTreeMap<AssetKind, usize> = BTreeMap::new();
    for a in &assets {
        *kinds.entry(a.kind).or_default() += 1;
    }
    let manifest = SiteManifest {
        assets: assets.len(),
        edges: edges.len(),
        kinds: kinds.into_iter().collect(),
        shards: leaves.keys().cloned().collect(),
        split,
    };
    let manifest_bytes = serde_json::to_vec(&manifest)?;
    let index = index_page(&manifest, &hub_list, &g, &pages);
    stats.first_load = (manifest_bytes.len() + index.len()) as u64;
    rest.push(Out {
        path: "search/manifest.json".into(),
        bytes: manifest_bytes,
    });
    rest.push(Out {
        path: "index.html".into(),
        bytes: index.into_bytes(),
    });
    // The app's stylesheet, WebAssembly and Cytoscape, when built.
    for (from, to) in [
        ("pkg/mlgraph.css", "style.css"),
        ("pkg/mlgraph.js", "pkg/mlgraph.js"),
        ("pkg/mlgraph.wasm", "pkg/mlgraph.wasm"),
        ("vendor/cytoscape.min.js", "vendor/cytoscape.min.js"),
        (
            "vendor/cytoscape-dagre.min.js",
            "vendor/cytoscape-dagre.min.js",
        ),
    ] {
        let src = site_root.join(from);
        if let Ok(bytes) = std::fs::read(&src) {
            rest.push(Out {
                path: to.into(),
                bytes,
            });
        }
    }
    for f in rest {
        let path = out.join(&f.path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, &f.bytes).with_context(|| format!("writing {}", path.display()))?;
        stats.files += 1;
        stats.bytes += f.bytes.len() as u64;
    }
    Ok(stats)
}

/// What every page writer reads.
struct Site<'a> {
    g: &'a LineageGraph,
    hubs: &'a HashSet<NodeId>,
    pages: &'a HashMap<&'a str, String>,
    by_id: &'a HashMap<&'a str, &'a Asset>,
    ups: &'a HashMap<&'a str, Vec<&'a Edge>>,
    downs: &'a HashMap<&'a str, Vec<&'a Edge>>,
    /// For each asset, the hubs upstream of it.
    hub_deps: &'a HashMap<NodeId, Vec<NodeId>>,
    interactive: bool,
}

fn badge(kind: AssetKind) -> String {
    format!(
        "<span class=\"badge kind-{k}\">{k}</span>",
        k = kind.as_str()
    )
}

/// The head of every page; `base` is the path to the site's root.
fn head(title: &str, base: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · mlgraph export</title><link rel=\"stylesheet\" href=\"{base}style.css\"></head><body>\
         <header class=\"topbar\"><a class=\"brand\" href=\"{base}index.html\"><span class=\"brand-mark\">◆</span> mlgraph</a>\
         <nav><a href=\"{base}index.html\">Search</a></nav><span class=\"muted small\">static export</span></header><main>",
        escape(title)
    )
}

impl Site<'_> {
    fn link(&self, id: &str) -> String {
        match (self.by_id.get(id), self.pages.get(id)) {
            (Some(a), Some(p)) => format!(
                "{} <a href=\"{p}.html\" title=\"{}\">{}</a>",
                badge(a.kind),
                escape(id),
                escape(&a.name)
            ),
            _ => escape(id),
        }
    }

    fn neighbours(
        &self,
        title: &str,
        testid: &str,
        edges: Option<&Vec<&Edge>>,
        upstream: bool,
    ) -> String {
        let mut s = format!("<section class=\"panel\" data-testid=\"{testid}\"><h2>{title}</h2>");
        let Some(edges) = edges.filter(|e| !e.is_empty()) else {
            s.push_str("<p class=\"empty\">None.</p></section>");
            return s;
        };
        let mut rows: Vec<(&str, &Edge)> = edges
            .iter()
            .map(|e| {
                (
                    if upstream {
                        e.from.as_str()
                    } else {
                        e.to.as_str()
                    },
                    *e,
                )
            })
            .collect();
        rows.sort_by(|a, b| {
            let name = |id: &str| self.by_id.get(id).map_or("", |a| a.name.as_str());
            (a.1.kind, name(a.0), a.0).cmp(&(b.1.kind, name(b.0), b.0))
        });
        s.push_str("<ul class=\"plain neighbours\">");
        for (other, e) in rows.iter().take(NEIGHBOURS_SHOWN) {
            let _ = write!(
                s,
                "<li><span class=\"edge-kind\">{}</span> {}",
                e.kind.as_str(),
                self.link(other)
            );
            if !e.columns.is_empty() {
                s.push_str("<ul class=\"mappings\">");
                for m in &e.columns {
                    let _ = write!(
                        s,
                        "<li class=\"mono small\">{} → {}{}</li>",
                        escape(&m.from),
                        escape(&m.to),
                        m.transform
                            .as_deref()
                            .map(|t| format!(" <span class=\"muted\">({})</span>", escape(t)))
                            .unwrap_or_default()
                    );
                }
                s.push_str("</ul>");
            }
            s.push_str("</li>");
        }
        s.push_str("</ul>");
        if rows.len() > NEIGHBOURS_SHOWN {
            let _ = write!(
                s,
                "<p class=\"muted\">… and {} more.</p>",
                rows.len() - NEIGHBOURS_SHOWN
            );
        }
        s.push_str("</section>");
        s
    }

    fn asset_page(&self, a: &Asset, page: &str, view: &GraphView) -> String {
        let mut s = head(&a.name, "../");
        let _ = write!(
            s,
            "<nav class=\"crumbs\"><a href=\"../index.html\">Catalog</a> / {k}</nav>\
             <header class=\"asset-head\"><div class=\"asset-title\">{b}<h1 data-testid=\"asset-name\">{n}</h1></div>\
             <p class=\"mono muted asset-id\">{id}</p><p class=\"asset-desc\">{d}</p></header>",
            k = a.kind.as_str(),
            b = badge(a.kind),
            n = escape(&a.name),
            id = escape(&a.id),
            d = if a.description.is_empty() {
                "No description.".to_string()
            } else {
                escape(&a.description)
            },
        );
        s.push_str("<div class=\"asset-layout\"><div class=\"asset-main\">");
        // The graph: drawn by the app's WebAssembly when the site has it;
        // until then (or without scripts) the same window as lists.
        let _ = write!(
            s,
            "<section class=\"panel\"><h2>Lineage graph</h2><div id=\"graph\" data-testid=\"static-graph\">"
        );
        let mut depths: Vec<i64> = view.nodes.iter().map(|n| n.depth).collect();
        depths.sort_unstable();
        depths.dedup();
        s.push_str("<div class=\"graph-columns\">");
        for d in depths {
            let title = match d {
                0 => "This asset".to_string(),
                d if d < 0 => format!("{} upstream", -d),
                d => format!("{d} downstream"),
            };
            let _ = write!(
                s,
                "<div class=\"graph-column\"><h3>{title}</h3><ul class=\"plain\">"
            );
            let mut col: Vec<_> = view.nodes.iter().filter(|n| n.depth == d).collect();
            col.sort_by(|x, y| (&x.name, &x.id).cmp(&(&y.name, &y.id)));
            for n in col {
                let _ = write!(s, "<li>{}</li>", self.link(&n.id));
            }
            s.push_str("</ul></div>");
        }
        s.push_str("</div></div></section>");
        if a.kind == AssetKind::Dataset && !a.schema.is_empty() {
            s.push_str(
                "<section class=\"panel\" data-testid=\"impact-explorer\"><h2>What if this dataset changed?</h2>\
                 <div id=\"impact-explorer\"><p class=\"muted\">The impact explorer needs JavaScript.</p></div></section>",
            );
        }
        if a.kind.has_schema() {
            let _ = write!(
                s,
                "<section class=\"panel\" data-testid=\"schema\"><h2>Schema · {} columns</h2>{}</section>",
                a.schema.len(),
                crate::report::schema_table(&a.schema, "data compact")
            );
        }
        s.push_str(&self.neighbours("Upstream", "upstream", self.ups.get(a.id.as_str()), true));
        s.push_str(&self.neighbours(
            "Downstream",
            "downstream",
            self.downs.get(a.id.as_str()),
            false,
        ));
        s.push_str("</div><aside class=\"asset-side\"><section class=\"panel\"><h2>About</h2><dl class=\"facts\">");
        let _ = write!(
            s,
            "<dt>Namespace</dt><dd class=\"mono\">{}</dd>",
            escape(&a.namespace)
        );
        let list = |xs: &[String], class: &str| {
            xs.iter()
                .map(|x| format!("<span class=\"{class}\">{}</span>", escape(x)))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let _ = write!(s, "<dt>Owners</dt><dd>{}</dd>", list(&a.owners, "owner"));
        let _ = write!(s, "<dt>Tags</dt><dd>{}</dd>", list(&a.tags, "tag"));
        if let Some(d) = &a.domain {
            let _ = write!(s, "<dt>Domain</dt><dd>{}</dd>", escape(d));
        }
        let _ = write!(s, "<dt>Version</dt><dd>{}</dd>", a.version);
        for (k, v) in &a.properties {
            let text = match v {
                serde_json::Value::String(t) => t.clone(),
                other => other.to_string(),
            };
            let _ = write!(
                s,
                "<dt>{}</dt><dd class=\"mono small\">{}</dd>",
                escape(k),
                escape(&text)
            );
        }
        s.push_str("</dl></section>");
        let node = self.g.id_of(&a.id).expect("indexed");
        let mut hubs_up: Vec<&str> = self
            .hub_deps
            .get(&node)
            .map(|hs| hs.iter().map(|h| self.g.asset_id(*h)).collect())
            .unwrap_or_default();
        hubs_up.sort_unstable();
        s.push_str("<section class=\"panel\"><h2>Hubs it depends on</h2>");
        if hubs_up.is_empty() {
            s.push_str("<p class=\"empty\">None.</p>");
        } else {
            s.push_str("<ul class=\"plain\">");
            for h in hubs_up {
                let _ = write!(s, "<li>★ {}</li>", self.link(h));
            }
            s.push_str("</ul>");
        }
        s.push_str("</section></aside></div>");
        if self.interactive {
            let explorer = if a.kind == AssetKind::Dataset && !a.schema.is_empty() {
                "mount_impact_explorer(document.getElementById(\"impact-explorer\"), \"../\", p);"
            } else {
                ""
            };
            let _ = write!(
                s,
                "<script defer src=\"../vendor/cytoscape.min.js\"></script>\
                 <script defer src=\"../vendor/cytoscape-dagre.min.js\"></script>\
                 <script type=\"module\">import init, {{ mount_static_graph, mount_impact_explorer }} from \"../pkg/mlgraph.js\";\
                 await init({{ module_or_path: \"../pkg/mlgraph.wasm\" }});\
                 const p = \"{page}\"; const g = document.getElementById(\"graph\"); g.replaceChildren();\
                 mount_static_graph(g, \"../\", p); {explorer}</script>"
            );
        }
        s.push_str("</main></body></html>\n");
        s
    }
}

/// The search script of the index page. It reads the manifest, fetches
/// the one shard a query's first word needs, and builds results with DOM
/// calls (never `innerHTML`), so names cannot inject markup.
const SEARCH_JS: &str = r#"
const input = document.getElementById("q");
const out = document.getElementById("results");
const count = document.getElementById("count");
const manifest = await (await fetch("search/manifest.json")).json();
const shards = new Map();
const words = (s) => s.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
const prefix = (t, n) => [...t].slice(0, n).map((c) => (/[a-z0-9]/.test(c) ? c : "_")).join("");
// The shard a query word needs, as domain::site::leaf_key picks it: two
// letters, one more while that shard was split, "-" when the word ends.
const key = (t) => {
  let n = 2;
  let k = prefix(t, n);
  while (manifest.split.includes(k)) {
    n += 1;
    const next = prefix(t, n);
    if ([...next].length < n) return k + "-";
    k = next;
  }
  return k;
};
let latest = 0;
async function search(text) {
  const started = performance.now();
  const asked = ++latest;
  const q = words(text);
  let hits = [];
  if (q.length && q[0].length >= 2 && manifest.shards.includes(key(q[0]))) {
    // The first word picks the shard; a short word on a split prefix finds
    // only words that short, and another letter finds the rest.
    const k = key(q[0]);
    if (!shards.has(k)) shards.set(k, fetch("search/" + k + ".json").then((r) => r.json()));
    const entries = await shards.get(k);
    if (asked !== latest) return;
    const whole = text.trim().toLowerCase();
    hits = entries.filter((e) => { const w = words(e.n); return q.every((t) => w.some((x) => x.startsWith(t))); });
    const rank = (e) => (e.n.toLowerCase() === whole ? 0 : e.n.toLowerCase().startsWith(whole) ? 1 : 2);
    hits.sort((a, b) => rank(a) - rank(b) || a.n.length - b.n.length || (a.n < b.n ? -1 : a.n > b.n ? 1 : 0));
  }
  out.replaceChildren(...hits.slice(0, 50).map((e) => {
    const li = document.createElement("li");
    const badge = document.createElement("span");
    badge.className = "badge kind-" + e.k;
    badge.textContent = e.k;
    const a = document.createElement("a");
    a.href = "a/" + e.p + ".html";
    a.textContent = e.n;
    const ns = document.createElement("span");
    ns.className = "muted small";
    ns.textContent = " · " + e.s;
    li.append(badge, " ", a, ns);
    return li;
  }));
  count.textContent = q.length ? hits.length + " found" : "";
  out.dataset.ms = String(Math.round(performance.now() - started));
  out.dataset.query = text;
}
input.addEventListener("input", () => search(input.value));
document.getElementById("search").addEventListener("submit", (ev) => { ev.preventDefault(); search(input.value); });
if (input.value) search(input.value);
"#;

fn index_page(
    manifest: &SiteManifest,
    hubs: &[domain::lineage::Hub],
    g: &LineageGraph,
    pages: &HashMap<&str, String>,
) -> String {
    let mut s = head("Catalog", "");
    let _ = write!(
        s,
        "<header class=\"asset-head\"><h1>Catalog</h1><p class=\"muted\">{} assets and {} edges, exported from mlgraph. \
         Search runs in your browser.</p><p>",
        manifest.assets, manifest.edges
    );
    for (k, n) in &manifest.kinds {
        let _ = write!(s, "{} {n} &nbsp; ", badge(*k));
    }
    s.push_str(
        "</p></header><form id=\"search\" class=\"searchbar\" role=\"search\"><input id=\"q\" type=\"search\" \
         placeholder=\"Search by name (two letters or more)\" aria-label=\"Search the catalog\" data-testid=\"static-search\" autofocus>\
         </form><p id=\"count\" class=\"muted\" aria-live=\"polite\"></p><ul id=\"results\" class=\"plain results\" data-testid=\"static-results\"></ul>",
    );
    s.push_str("<section class=\"panel\"><h2>Hubs</h2><p class=\"muted\">The assets most depended on.</p><ul class=\"plain\">");
    for h in hubs {
        let id = g.asset_id(h.node);
        let _ = write!(
            s,
            "<li>{} <a href=\"a/{}.html\">{}</a> <span class=\"muted small\">· {} downstream</span></li>",
            badge(g.kind(h.node)),
            pages[id],
            escape(g.name(h.node)),
            h.downstream
        );
    }
    s.push_str("</ul></section>");
    let _ = writeln!(
        s,
        "<script type=\"module\">{SEARCH_JS}</script></main></body></html>"
    );
    s
}

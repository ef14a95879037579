//! Writes the static site from an [`Estate`] and the full asset records,
//! which arrive in pages (in id order) and are written and dropped page by
//! page: memory holds the estate, one page of assets, and one small search
//! entry per asset. Impact records go to one spool file per shard and are
//! sorted into their shard at the end.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};

use anyhow::Context;
use domain::lineage::{Direction, Hub, NodeId};
use domain::site::{
    graph_shard, graph_view, leaf_key, page_name, search_tokens, shard_key, GraphRecord, OutEdge,
    SearchEntry, SiteManifest,
};
use domain::{Asset, AssetKind};

use super::estate::Estate;
use super::pages::{index_page, Site};
use super::{ExportStats, GRAPH_BUDGET, GRAPH_HOPS, HUBS};

pub(super) struct SiteWriter<'a> {
    estate: &'a Estate,
    out: PathBuf,
    site_root: PathBuf,
    hub_list: Vec<Hub>,
    hubs: HashSet<NodeId>,
    hub_mask: Vec<u32>,
    interactive: bool,
    /// The most names in one search shard or page.
    shard_max: usize,
    /// One spool per impact-record shard ("00" to "ff"), opened on use.
    spools: Vec<Option<BufWriter<File>>>,
    search: Vec<SearchEntry>,
    kinds: BTreeMap<AssetKind, usize>,
    stats: ExportStats,
}

fn spool_path(out: &Path, shard: usize) -> PathBuf {
    out.join(format!("g/{shard:02x}.spool"))
}

impl<'a> SiteWriter<'a> {
    /// Checks that page names are unique, finds the hubs, and clears the
    /// folders a previous export wrote.
    pub(super) fn new(
        estate: &'a Estate,
        out: &Path,
        site_root: &Path,
        shard_max: usize,
    ) -> anyhow::Result<Self> {
        let g = &estate.g;
        let mut names: Vec<(String, NodeId)> =
            g.nodes().map(|n| (page_name(g.asset_id(n)), n)).collect();
        names.sort_unstable();
        for w in names.windows(2) {
            if w[0].0 == w[1].0 {
                anyhow::bail!(
                    "{} and {} hash to the same page name {}",
                    g.asset_id(w[1].1),
                    g.asset_id(w[0].1),
                    w[0].0
                );
            }
        }
        drop(names);
        let hub_list: Vec<Hub> = g
            .hubs(HUBS)
            .into_iter()
            .filter(|h| h.downstream >= 10)
            .collect();
        // One downstream walk per hub says which assets depend on it,
        // instead of an upstream walk per asset.
        let mut hub_mask = vec![0u32; g.nodes().last().map_or(0, |n| n as usize + 1)];
        for (i, h) in hub_list.iter().enumerate() {
            for (n, _) in g.closure(h.node, Direction::Downstream, &Default::default()) {
                if n != h.node {
                    hub_mask[n as usize] |= 1 << i;
                }
            }
        }
        let hubs = hub_list.iter().map(|h| h.node).collect();
        std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
        for d in ["a", "data", "g", "search"] {
            let dir = out.join(d);
            if dir.exists() {
                // A re-export must not leave pages of assets that are gone.
                std::fs::remove_dir_all(&dir)
                    .with_context(|| format!("clearing {}", dir.display()))?;
            }
            std::fs::create_dir_all(&dir)?;
        }
        let interactive = site_root.join("pkg/mlgraph.wasm").exists();
        Ok(SiteWriter {
            estate,
            out: out.to_path_buf(),
            site_root: site_root.to_path_buf(),
            hub_list,
            hubs,
            hub_mask,
            interactive,
            shard_max: shard_max.max(1),
            spools: (0..256).map(|_| None).collect(),
            search: Vec::new(),
            kinds: BTreeMap::new(),
            stats: ExportStats {
                edges: estate.g.edge_count(),
                interactive,
                ..Default::default()
            },
        })
    }

    /// Writes the pages of `assets` (on every core) and spools their impact
    /// records; assets the estate does not hold are skipped.
    pub(super) fn batch(&mut self, assets: &[&Asset]) -> anyhow::Result<()> {
        let site = Site {
            estate: self.estate,
            hubs: &self.hubs,
            hub_list: &self.hub_list,
            hub_mask: &self.hub_mask,
            interactive: self.interactive,
        };
        let g = &self.estate.g;
        let known: Vec<(&Asset, NodeId)> = assets
            .iter()
            .filter_map(|a| Some((*a, g.id_of(&a.id)?)))
            .collect();
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        let chunk = known.len().div_ceil(workers).max(1);
        let out = &self.out;
        type Written = (usize, u64, u64, Vec<(usize, String)>);
        let results: Vec<anyhow::Result<Written>> = std::thread::scope(|s| {
            let handles: Vec<_> = known
                .chunks(chunk)
                .map(|part| {
                    let site = &site;
                    s.spawn(move || -> anyhow::Result<Written> {
                        let (mut files, mut bytes, mut largest) = (0, 0u64, 0u64);
                        let mut records = Vec::with_capacity(part.len());
                        for &(a, node) in part {
                            let page = page_name(&a.id);
                            let view = graph_view(
                                g,
                                node,
                                GRAPH_HOPS,
                                GRAPH_HOPS,
                                GRAPH_BUDGET,
                                site.hubs,
                            );
                            let data = serde_json::to_vec(&view)?;
                            let html = site.asset_page(a, node, &page, &view);
                            std::fs::write(out.join(format!("data/{page}.json")), &data)?;
                            std::fs::write(out.join(format!("a/{page}.html")), html.as_bytes())?;
                            files += 2;
                            let size = (data.len() + html.len()) as u64;
                            bytes += size;
                            largest = largest.max(size);
                            let record = GraphRecord::new(a, out_edges(site.estate, node));
                            let shard = usize::from_str_radix(graph_shard(&page), 16)?;
                            let line = format!("{page}\t{}\n", serde_json::to_string(&record)?);
                            records.push((shard, line));
                        }
                        Ok((files, bytes, largest, records))
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("an export worker panicked"))
                .collect()
        });
        for r in results {
            let (files, bytes, largest, records) = r?;
            self.stats.files += files;
            self.stats.bytes += bytes;
            self.stats.largest_page = self.stats.largest_page.max(largest);
            for (shard, line) in records {
                let spool = match &mut self.spools[shard] {
                    Some(s) => s,
                    slot => slot.insert(BufWriter::new(File::create(spool_path(out, shard))?)),
                };
                spool.write_all(line.as_bytes())?;
            }
        }
        for (a, _) in known {
            self.stats.assets += 1;
            *self.kinds.entry(a.kind).or_default() += 1;
            self.search.push(SearchEntry {
                n: a.name.clone(),
                k: a.kind,
                p: page_name(&a.id),
                s: a.namespace.clone(),
            });
        }
        Ok(())
    }

    /// Sorts the spooled impact records into their shards and writes the
    /// search shards, the manifest, the index page and the app's files.
    pub(super) fn finish(mut self) -> anyhow::Result<ExportStats> {
        for shard in 0..self.spools.len() {
            let Some(spool) = self.spools[shard].take() else {
                continue;
            };
            spool.into_inner().map_err(|e| e.into_error())?;
            let path = spool_path(&self.out, shard);
            let text = std::fs::read_to_string(&path)?;
            let mut lines: Vec<(&str, &str)> =
                text.lines().filter_map(|l| l.split_once('\t')).collect();
            lines.sort_unstable_by(|a, b| a.0.cmp(b.0));
            let mut bytes = Vec::with_capacity(text.len() + 2);
            bytes.push(b'{');
            for (i, (page, record)) in lines.iter().enumerate() {
                if i > 0 {
                    bytes.push(b',');
                }
                serde_json::to_writer(&mut bytes, page)?;
                bytes.push(b':');
                bytes.extend_from_slice(record.as_bytes());
            }
            bytes.push(b'}');
            std::fs::remove_file(&path)?;
            self.put(&format!("g/{shard:02x}.json"), &bytes)?;
        }
        let (leaves, split) = search_leaves(&self.search, self.shard_max);
        let mut largest_shard = 0u64;
        let mut pages = Vec::new();
        let shards: Vec<String> = leaves.keys().cloned().collect();
        for (key, mut entries) in leaves {
            let by_name = |i: &u32| {
                let e = &self.search[*i as usize];
                (e.n.as_str(), e.p.as_str())
            };
            if entries.len() <= self.shard_max {
                entries.sort_unstable_by_key(by_name);
                let list: Vec<&SearchEntry> =
                    entries.iter().map(|&i| &self.search[i as usize]).collect();
                let bytes = serde_json::to_vec(&list)?;
                largest_shard = largest_shard.max(bytes.len() as u64);
                self.put(&format!("search/{key}.json"), &bytes)?;
                continue;
            }
            // A word too common to split further: pages, shortest names
            // first, so the first page holds the names search ranks first.
            entries.sort_unstable_by_key(|i| (self.search[*i as usize].n.len(), by_name(i)));
            let chunks: Vec<&[u32]> = entries.chunks(self.shard_max).collect();
            for (p, part) in chunks.iter().enumerate() {
                let list: Vec<&SearchEntry> =
                    part.iter().map(|&i| &self.search[i as usize]).collect();
                let bytes = serde_json::to_vec(&list)?;
                largest_shard = largest_shard.max(bytes.len() as u64);
                let name = match p {
                    0 => format!("search/{key}.json"),
                    p => format!("search/{key}.{}.json", p + 1),
                };
                self.put(&name, &bytes)?;
            }
            pages.push((key, chunks.len()));
        }
        self.stats.largest_search_shard = largest_shard;
        let manifest = SiteManifest {
            assets: self.stats.assets,
            edges: self.stats.edges,
            kinds: std::mem::take(&mut self.kinds).into_iter().collect(),
            shards,
            split,
            pages,
        };
        let manifest_bytes = serde_json::to_vec(&manifest)?;
        let index = index_page(&manifest, &self.hub_list, &self.estate.g);
        self.stats.first_load = (manifest_bytes.len() + index.len()) as u64;
        self.put("search/manifest.json", &manifest_bytes)?;
        self.put("index.html", index.as_bytes())?;
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
            if let Ok(bytes) = std::fs::read(self.site_root.join(from)) {
                self.put(to, &bytes)?;
            }
        }
        Ok(self.stats)
    }

    fn put(&mut self, path: &str, bytes: &[u8]) -> anyhow::Result<()> {
        let path = self.out.join(path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        self.stats.files += 1;
        self.stats.bytes += bytes.len() as u64;
        Ok(())
    }
}

/// An asset's outgoing edges with their mappings, by (target id, kind).
fn out_edges(estate: &Estate, node: NodeId) -> Vec<OutEdge> {
    let g = &estate.g;
    let mut out: Vec<(NodeId, domain::EdgeKind)> = g.downstream_of(node).collect();
    out.sort_by(|a, b| (g.asset_id(a.0), a.1).cmp(&(g.asset_id(b.0), b.1)));
    out.into_iter()
        .map(|(to, kind)| OutEdge {
            to: g.asset_id(to).to_string(),
            kind,
            columns: estate.columns((node, to, kind)).collect(),
        })
        .collect()
}

/// Search leaves: each asset (by its index in `entries`) once in the leaf
/// of each of its words. A leaf with more than `shard_max` names is split
/// by one more letter, up to five; what is still crowded then is written
/// in pages. Returns the leaves and the split keys, sorted.
fn search_leaves(
    entries: &[SearchEntry],
    shard_max: usize,
) -> (BTreeMap<String, Vec<u32>>, Vec<String>) {
    // Only names with a word of two characters or more are searchable.
    let listed: Vec<u32> = (0..entries.len() as u32)
        .filter(|&i| {
            search_tokens(&entries[i as usize].n)
                .iter()
                .any(|t| shard_key(t).chars().count() == 2)
        })
        .collect();
    let keys_of = |i: u32, split: &BTreeSet<String>| {
        let mut keys: Vec<String> = search_tokens(&entries[i as usize].n)
            .iter()
            .map(|t| leaf_key(t, split))
            .collect();
        keys.sort();
        keys.dedup();
        keys
    };
    let mut split: BTreeSet<String> = BTreeSet::new();
    loop {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for &i in &listed {
            for k in keys_of(i, &split) {
                *counts.entry(k).or_default() += 1;
            }
        }
        let crowded: Vec<String> = counts
            .into_iter()
            .filter(|(k, n)| *n > shard_max && k.len() < 5 && !k.ends_with('-'))
            .map(|(k, _)| k)
            .collect();
        if crowded.is_empty() {
            break;
        }
        split.extend(crowded);
    }
    let mut leaves: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for &i in &listed {
        for k in keys_of(i, &split) {
            leaves.entry(k).or_default().push(i);
        }
    }
    (leaves, split.into_iter().collect())
}

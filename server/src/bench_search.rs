//! `mlgraph bench-search`: the catalog around the lineage index at scale.
//! For each size it generates a demo-shaped estate, writes it as NDJSON,
//! bulk-imports it into a fresh SurrealKV store (load time and peak RSS),
//! reopens the store (start-up time and RSS with the lineage image and the
//! search index read from disk), and times searches sampled from names and
//! column words, with facets, plain and with kind, owner and tag filters:
//! sequentially and from concurrent clients; then paging deep into a
//! listing. With `--postgres`, the same rows go into PostgreSQL with a
//! `tsvector` GIN index and the same queries run there, facet counts by
//! GROUP BY, side by side.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use catalog::Catalog;
use domain::demo::Rng;
use domain::query::SearchQuery;
use domain::Asset;
use serde::Serialize;

use crate::bench::{timing, Timing};

#[derive(clap::Args)]
pub struct SearchBenchArgs {
    /// Catalog sizes, in assets.
    #[arg(long, value_delimiter = ',', default_value = "100000")]
    sizes: Vec<usize>,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Where the files and stores go (removed and made again per size).
    #[arg(long, default_value = "/var/tmp/mlgraph-bench-search")]
    dir: String,
    /// A PostgreSQL connection string; without it PostgreSQL is skipped.
    #[arg(long)]
    postgres: Option<String>,
    /// Distinct queries sampled per variant.
    #[arg(long, default_value_t = 200)]
    queries: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Where to write the results as JSON.
    #[arg(long)]
    json: Option<String>,
    /// Edges per asset: the demo's shape has about 2.4; a larger number
    /// adds `derives` edges between random datasets and features (earlier
    /// to later, so the graph stays acyclic) until there are that many.
    #[arg(long)]
    edges_per_asset: Option<f64>,
}

/// Adds `derives` edges between random datasets and features of `estate`
/// until it has `per_asset` edges per asset.
fn densify(estate: &mut domain::demo::Estate, per_asset: f64, seed: u64) {
    use domain::{AssetKind, Edge, EdgeKind};
    let want = (per_asset * estate.assets.len() as f64) as usize;
    let ends: Vec<usize> = (0..estate.assets.len())
        .filter(|&i| {
            matches!(
                estate.assets[i].kind,
                AssetKind::Dataset | AssetKind::Feature
            )
        })
        .collect();
    if ends.len() < 2 {
        return;
    }
    let mut ids: std::collections::HashSet<String> =
        estate.edges.iter().map(|e| e.id.clone()).collect();
    let mut rng = Rng::new(seed ^ 0x5eed);
    while estate.edges.len() < want {
        let (a, b) = (rng.below(ends.len()), rng.below(ends.len()));
        if a == b {
            continue;
        }
        let (from, to) = (ends[a.min(b)], ends[a.max(b)]);
        let e = Edge::between(
            &estate.assets[from].id,
            EdgeKind::Derives,
            &estate.assets[to].id,
        );
        if ids.insert(e.id.clone()) {
            estate.edges.push(e);
        }
    }
}

#[derive(Serialize, Debug, Default)]
struct SizeReport {
    assets: usize,
    edges: usize,
    file_mb: f64,
    load_s: f64,
    load_peak_rss_mb: f64,
    startup_s: f64,
    serving_rss_mb: f64,
    search_dir_mb: f64,
    mlgraph: Vec<(String, Timing)>,
    postgres: Vec<(String, Timing)>,
    postgres_load_s: f64,
}

fn status_mb(key: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn dir_mb(path: &std::path::Path) -> f64 {
    fn walk(p: &std::path::Path) -> u64 {
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => std::fs::read_dir(p)
                .map(|rd| rd.flatten().map(|e| walk(&e.path())).sum())
                .unwrap_or(0),
            Ok(m) => m.len(),
            Err(_) => 0,
        }
    }
    walk(path) as f64 / 1048576.0
}

/// The searches of one variant: a word (or its prefix) of a sampled
/// asset's name or columns, with that asset's kind, owner or tag as a
/// filter when the variant says so.
fn sample(assets: &[Asset], n: usize, seed: u64, variant: &str) -> Vec<SearchQuery> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::new();
    while out.len() < n {
        let a = &assets[rng.below(assets.len())];
        let mut words: Vec<&str> = a
            .name
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.len() >= 3)
            .collect();
        for f in &a.schema {
            words.extend(f.name.split('_').filter(|w| w.len() >= 3));
        }
        if words.is_empty() {
            continue;
        }
        let w = words[rng.below(words.len())];
        let cut = 3 + rng.below(w.len() - 2);
        let mut q = SearchQuery {
            q: w[..cut.min(w.len())].to_string(),
            limit: 25,
            ..Default::default()
        };
        match variant {
            "kind" => q.kinds = vec![a.kind],
            "owner" => match a.owners.first() {
                Some(o) => q.owners = vec![o.clone()],
                None => continue,
            },
            "tag" => match a.tags.first() {
                Some(t) => q.tags = vec![t.clone()],
                None => continue,
            },
            _ => {}
        }
        out.push(q);
    }
    out
}

async fn sequential(c: &Catalog, qs: &[SearchQuery]) -> anyhow::Result<Timing> {
    let mut ms = Vec::new();
    let mut answer = 0;
    for q in qs {
        let t = Instant::now();
        let r = c.search(q).await.map_err(|e| anyhow!("{e}"))?;
        ms.push(t.elapsed().as_secs_f64() * 1e3);
        if ms.len() == 1 {
            answer = r.total as usize;
        }
    }
    Ok(timing(ms, answer, false))
}

async fn concurrent(c: &Catalog, qs: &[SearchQuery], clients: usize) -> anyhow::Result<Timing> {
    let qs = Arc::new(qs.to_vec());
    let mut tasks = Vec::new();
    for k in 0..clients {
        let (c, qs) = (c.clone(), qs.clone());
        tasks.push(tokio::spawn(async move {
            let mut ms = Vec::new();
            for i in 0..qs.len() {
                let q = &qs[(i + k * 7) % qs.len()];
                let t = Instant::now();
                c.search(q).await.map_err(|e| anyhow!("{e}"))?;
                ms.push(t.elapsed().as_secs_f64() * 1e3);
            }
            Ok::<_, anyhow::Error>(ms)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    Ok(timing(all, 0, false))
}

pub async fn run(args: SearchBenchArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.dir).with_context(|| format!("creating {}", args.dir))?;
    let mut reports = Vec::new();
    for &n in &args.sizes {
        println!("== {n} assets");
        let mut estate = domain::demo::generate(args.seed, n);
        let shape = match args.edges_per_asset {
            Some(per_asset) => {
                densify(&mut estate, per_asset, args.seed);
                format!("n{n}e{per_asset}")
            }
            None => format!("n{n}"),
        };
        println!("  {} edges", estate.edges.len());
        let mut report = SizeReport {
            assets: estate.assets.len(),
            edges: estate.edges.len(),
            ..Default::default()
        };
        let file = std::path::PathBuf::from(format!("{}/{shape}.ndjson", args.dir));
        {
            let mut w = std::io::BufWriter::new(std::fs::File::create(&file)?);
            crate::seed::write_ndjson(&estate, &mut w)?;
        }
        report.file_mb = dir_mb(&file);
        let variants = ["plain", "kind", "owner", "tag"];
        let queries: Vec<(&str, Vec<SearchQuery>)> = variants
            .iter()
            .enumerate()
            .map(|(i, v)| {
                (
                    *v,
                    sample(&estate.assets, args.queries, args.seed + i as u64, v),
                )
            })
            .collect();
        let pg_rows = args.postgres.is_some().then(|| estate.assets.clone());
        drop(estate);

        let store = format!("{}/{shape}", args.dir);
        let url = format!("surrealkv://{store}");
        // A store that a previous run loaded completely is reused.
        let loaded = std::path::Path::new(&store).exists() && {
            let c = crate::bench::reopen(&url).await?;
            c.count_assets().await.map_err(|e| anyhow!("{e}"))? as usize == report.assets
        };
        if loaded {
            println!("  reusing the store in {store}");
            report.load_s = f64::NAN;
        } else {
            tokio::time::sleep(Duration::from_secs(2)).await;
            for p in [
                store.clone(),
                format!("{store}.search"),
                format!("{store}.lineage"),
            ] {
                let _ = std::fs::remove_dir_all(&p);
                let _ = std::fs::remove_file(&p);
            }
        }
        if !loaded {
            let c = Catalog::connect(&url).await.map_err(|e| anyhow!("{e}"))?;
            let t = Instant::now();
            let out = crate::bulk::import_file(&c, &file, "bench").await?;
            c.flush_search().map_err(|e| anyhow!("{e}"))?;
            c.save_lineage_image().await.map_err(|e| anyhow!("{e}"))?;
            report.load_s = t.elapsed().as_secs_f64();
            report.load_peak_rss_mb = status_mb("VmHWM:");
            println!(
                "  imported {} lines in {:.1}s (peak RSS {:.0} MB)",
                out.lines, report.load_s, report.load_peak_rss_mb
            );
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        let t = Instant::now();
        let c = crate::bench::reopen(&url).await?;
        report.startup_s = t.elapsed().as_secs_f64();
        report.search_dir_mb = dir_mb(std::path::Path::new(&format!("{store}.search")));
        // The first search maps the index in.
        c.search(&SearchQuery {
            limit: 25,
            ..Default::default()
        })
        .await
        .map_err(|e| anyhow!("{e}"))?;
        println!(
            "  start-up {:.2}s; search index {:.0} MB on disk",
            report.startup_s, report.search_dir_mb
        );
        for (v, qs) in &queries {
            let s = sequential(&c, qs).await?;
            println!(
                "  search {v:<6} sequential  p50 {:>7.2} ms  p99 {:>7.2} ms",
                s.p50_ms, s.p99_ms
            );
            report.mlgraph.push((format!("{v} sequential"), s));
            let k = concurrent(&c, qs, args.clients).await?;
            println!(
                "  search {v:<6} {} clients  p50 {:>7.2} ms  p99 {:>7.2} ms",
                args.clients, k.p50_ms, k.p99_ms
            );
            report
                .mlgraph
                .push((format!("{v} {} clients", args.clients), k));
        }
        // Paging: 400 pages of 25 by cursor (10,000 deep), and offset 10,000.
        let mut q = SearchQuery {
            limit: 25,
            ..Default::default()
        };
        let mut ms = Vec::new();
        for _ in 0..400 {
            let t = Instant::now();
            let page = c.search(&q).await.map_err(|e| anyhow!("{e}"))?;
            ms.push(t.elapsed().as_secs_f64() * 1e3);
            match page.next {
                Some(next) => q.after = Some(next),
                None => break,
            }
        }
        let cursor = timing(ms, 0, false);
        println!(
            "  listing by cursor, 400 pages  p50 {:.2} ms  p99 {:.2} ms",
            cursor.p50_ms, cursor.p99_ms
        );
        report
            .mlgraph
            .push(("listing pages by cursor".into(), cursor));
        let mut ms = Vec::new();
        for _ in 0..20 {
            let t = Instant::now();
            c.search(&SearchQuery {
                limit: 25,
                offset: 10_000,
                ..Default::default()
            })
            .await
            .map_err(|e| anyhow!("{e}"))?;
            ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let deep = timing(ms, 0, false);
        println!(
            "  listing at offset 10,000  p50 {:.2} ms  p99 {:.2} ms",
            deep.p50_ms, deep.p99_ms
        );
        report
            .mlgraph
            .push(("listing at offset 10,000".into(), deep));
        report.serving_rss_mb = status_mb("VmRSS:");
        println!("  RSS while serving {:.0} MB", report.serving_rss_mb);
        drop(c);

        if let (Some(conn), Some(rows)) = (&args.postgres, pg_rows) {
            crate::bench_search_pg::compare(
                conn,
                rows,
                &queries,
                args.clients,
                &mut report.postgres,
                &mut report.postgres_load_s,
            )
            .await?;
        }
        reports.push(report);
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&reports)?)?;
    }
    Ok(())
}

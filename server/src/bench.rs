//! `mlgraph bench`: the lineage index against SurrealDB's graph recursion
//! and PostgreSQL's recursive CTEs (the approach Marquez takes), on
//! power-law graphs of several sizes, in one run and side by side.
//!
//! For each size it generates the graph, stores it in SurrealKV (kept
//! between runs under `--dir`, since loading a million assets takes
//! minutes), reopens the store to time the index build, loads the same
//! edges into PostgreSQL when `--postgres` is given, and times three
//! questions on each system: the full downstream closure of the largest
//! hub, 3-hop neighbourhoods capped at 2,000 nodes, and shortest paths.

use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use catalog::Catalog;
use domain::demo::{power_law, Estate, Rng};
use domain::lineage::{Direction, Filter, LineageGraph, NodeId};
use serde::Serialize;

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Catalog sizes, in assets.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000,1000000")]
    sizes: Vec<usize>,
    /// Edges per asset.
    #[arg(long, default_value_t = 5)]
    per_asset: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Where the SurrealKV stores are kept between runs.
    #[arg(long, default_value = "/var/tmp/mlgraph-bench")]
    dir: String,
    /// A PostgreSQL connection string; without it the CTE baseline is skipped.
    #[arg(long)]
    postgres: Option<String>,
    /// Seconds each baseline may spend on one question before it stops
    /// repeating it.
    #[arg(long, default_value_t = 60)]
    budget: u64,
    /// Sizes above this are measured without SurrealDB: loading a million
    /// assets through the catalog's write path needs more than this
    /// machine's 24 GB (see docs/PERFORMANCE.md), so the index is built from
    /// the generated records instead.
    #[arg(long, default_value_t = 100_000)]
    store_max: usize,
    /// Where to write the results as JSON.
    #[arg(long)]
    json: Option<String>,
}

/// Timings of one question on one system.
#[derive(Serialize, Clone, Debug)]
pub(crate) struct Timing {
    pub runs: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// The answer's size for the first input (nodes, or hops for paths),
    /// which every system gets first, to show that they agree.
    pub answer: usize,
    /// Set when a single run took longer than the budget.
    timed_out: bool,
}

#[derive(Serialize, Debug, Default)]
struct SizeReport {
    assets: usize,
    edges: usize,
    store_load_s: f64,
    /// Opening the store and building the index by scanning every asset
    /// and edge (no lineage image).
    index_build_s: f64,
    /// Opening the store again, with the lineage image the scan left.
    index_image_s: f64,
    /// The lineage image's size.
    image_mb: f64,
    index_heap_mb: f64,
    rss_mb: f64,
    hubs_s: f64,
    hub: String,
    systems: Vec<(String, Vec<(String, Timing)>)>,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

pub(crate) fn timing(mut ms: Vec<f64>, answer: usize, timed_out: bool) -> Timing {
    ms.sort_by(|a, b| a.total_cmp(b));
    Timing {
        runs: ms.len(),
        p50_ms: percentile(&ms, 0.5),
        p99_ms: percentile(&ms, 0.99),
        answer,
        timed_out,
    }
}

/// Runs `f` over `inputs` until they run out or `budget` has passed.
pub(crate) fn measure_sync<I, F: FnMut(&I) -> usize>(
    inputs: &[I],
    budget: Duration,
    mut f: F,
) -> Timing {
    let started = Instant::now();
    let mut ms = Vec::new();
    let mut answer = 0;
    for input in inputs {
        let t = Instant::now();
        let a = f(input);
        ms.push(t.elapsed().as_secs_f64() * 1e3);
        if ms.len() == 1 {
            answer = a;
        }
        if started.elapsed() > budget {
            break;
        }
    }
    timing(ms, answer, false)
}

pub(crate) async fn measure_async<I, F, Fut>(
    inputs: &[I],
    budget: Duration,
    mut f: F,
) -> anyhow::Result<Timing>
where
    F: FnMut(&I) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<usize>>,
{
    let started = Instant::now();
    let mut ms = Vec::new();
    let mut answer = 0;
    for input in inputs {
        let t = Instant::now();
        match tokio::time::timeout(budget, f(input)).await {
            Ok(r) => {
                let a = r?;
                if ms.is_empty() {
                    answer = a;
                }
            }
            Err(_) => return Ok(timing(vec![budget.as_secs_f64() * 1e3], 0, true)),
        }
        ms.push(t.elapsed().as_secs_f64() * 1e3);
        if started.elapsed() > budget {
            break;
        }
    }
    Ok(timing(ms, answer, false))
}

/// This process's resident memory, in MB.
pub(crate) fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Serves the whole app over `catalog` on a loopback port, in the
/// background, and answers its base URL (`http://127.0.0.1:PORT`).
pub(crate) async fn serve_loopback(
    catalog: &catalog::Catalog,
    admin_token: Option<&str>,
) -> anyhow::Result<String> {
    let options = leptos::config::LeptosOptions::builder()
        .output_name("mlgraph")
        .site_root("target/site")
        .build();
    let app = crate::router::build(
        catalog.clone(),
        options,
        crate::auth::AuthState::new(true, admin_token.map(str::to_string)),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(base)
}

async fn open_store(dir: &str, estate: &Estate) -> anyhow::Result<f64> {
    let url = format!("surrealkv://{dir}");
    if std::path::Path::new(dir).exists() {
        let c = Catalog::connect(&url).await.map_err(|e| anyhow!("{e}"))?;
        let (a, e) = (
            c.count_assets().await.map_err(|e| anyhow!("{e}"))?,
            c.count_edges().await.map_err(|e| anyhow!("{e}"))?,
        );
        if a as usize == estate.assets.len() && e as usize == estate.edges.len() {
            println!("  reusing the store in {dir}");
            return Ok(f64::NAN);
        }
        drop(c);
        tokio::time::sleep(Duration::from_secs(2)).await;
        std::fs::remove_dir_all(dir).with_context(|| format!("removing {dir}"))?;
    }
    let c = Catalog::connect(&url).await.map_err(|e| anyhow!("{e}"))?;
    let started = Instant::now();
    crate::seed::load_estate(&c, estate.clone()).await?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "  stored {} assets and {} edges in {secs:.1}s",
        estate.assets.len(),
        estate.edges.len()
    );
    Ok(secs)
}

/// Opens the store, retrying while the previous handle releases its lock.
pub(crate) async fn reopen(url: &str) -> anyhow::Result<Catalog> {
    // A large store closing in this process (its memtable flushed on
    // drop) holds the lock for a while.
    let mut last = None;
    for _ in 0..900 {
        match Catalog::connect(url).await {
            Ok(c) => return Ok(c),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(anyhow!("{}", last.expect("tried at least once")))
}

async fn postgres_load(
    client: &tokio_postgres::Client,
    estate: &Estate,
    index: &std::collections::HashMap<&str, i32>,
) -> anyhow::Result<f64> {
    let started = Instant::now();
    client
        .batch_execute(
            "DROP TABLE IF EXISTS edge; CREATE UNLOGGED TABLE edge (src int NOT NULL, dst int NOT NULL);",
        )
        .await?;
    for chunk in estate.edges.chunks(200_000) {
        let src: Vec<i32> = chunk.iter().map(|e| index[e.from.as_str()]).collect();
        let dst: Vec<i32> = chunk.iter().map(|e| index[e.to.as_str()]).collect();
        client
            .execute(
                "INSERT INTO edge (src, dst) SELECT * FROM unnest($1::int[], $2::int[])",
                &[&src, &dst],
            )
            .await?;
    }
    client
        .batch_execute("CREATE INDEX edge_src ON edge (src, dst); CREATE INDEX edge_dst ON edge (dst, src); ANALYZE edge;")
        .await?;
    Ok(started.elapsed().as_secs_f64())
}

const PG_CLOSURE: &str = "WITH RECURSIVE down(id) AS (SELECT $1::int UNION SELECT e.dst FROM edge e JOIN down d ON e.src = d.id) SELECT count(*) - 1 FROM down";
const PG_HOOD: &str = "WITH RECURSIVE hood(id, depth) AS (SELECT $1::int, 0 UNION SELECT n.id, h.depth + 1 FROM hood h CROSS JOIN LATERAL (SELECT dst AS id FROM edge WHERE src = h.id UNION ALL SELECT src FROM edge WHERE dst = h.id) n WHERE h.depth < 3) SELECT count(*) FROM (SELECT DISTINCT id FROM hood LIMIT 2000) s";
const PG_PATH: &str = "WITH RECURSIVE bfs(id, depth) AS (SELECT $1::int, 0 UNION SELECT e.dst, b.depth + 1 FROM bfs b JOIN edge e ON e.src = b.id WHERE b.depth < $3) SELECT min(depth) FROM bfs WHERE id = $2";

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.dir).with_context(|| format!("creating {}", args.dir))?;
    let budget = Duration::from_secs(args.budget);
    let pg = match &args.postgres {
        Some(conn) => Some(crate::bench_search_pg::connect(conn).await?),
        None => None,
    };
    let mut reports = Vec::new();
    for &n in &args.sizes {
        println!("== {n} assets");
        let estate = power_law(args.seed, n, args.per_asset);
        let mut report = SizeReport {
            assets: estate.assets.len(),
            edges: estate.edges.len(),
            ..Default::default()
        };
        let dir = format!("{}/n{n}-e{}-s{}", args.dir, args.per_asset, args.seed);
        let (catalog, owned) = if n <= args.store_max {
            report.store_load_s = open_store(&dir, &estate).await?;
            tokio::time::sleep(Duration::from_secs(2)).await;
            let url = format!("surrealkv://{dir}");
            let image = format!("{dir}.lineage");
            if std::path::Path::new(&image).exists() {
                std::fs::remove_file(&image).with_context(|| format!("removing {image}"))?;
            }
            let started = Instant::now();
            drop(reopen(&url).await?);
            report.index_build_s = started.elapsed().as_secs_f64();
            tokio::time::sleep(Duration::from_secs(2)).await;
            let rss_before = rss_mb();
            let started = Instant::now();
            let catalog = reopen(&url).await?;
            report.index_image_s = started.elapsed().as_secs_f64();
            report.rss_mb = rss_mb() - rss_before;
            println!(
                "  index from a scan of the store {:.2}s, from its lineage image {:.2}s",
                report.index_build_s, report.index_image_s
            );
            (Some(catalog), None)
        } else {
            println!("  above --store-max: SurrealDB is skipped; the index is built from the generated records");
            let rss_before = rss_mb();
            let started = Instant::now();
            let mut g = LineageGraph::new();
            for a in &estate.assets {
                g.upsert_node(&a.id, a.kind, &a.name);
            }
            for e in &estate.edges {
                g.upsert_edge(e);
            }
            g.compact();
            report.index_build_s = started.elapsed().as_secs_f64();
            report.rss_mb = rss_mb() - rss_before;
            let t = Instant::now();
            let bytes = g.encode();
            let encode = t.elapsed().as_secs_f64();
            drop(g);
            let t = Instant::now();
            let g = LineageGraph::decode(&bytes).map_err(|e| anyhow!(e))?;
            report.index_image_s = t.elapsed().as_secs_f64();
            report.image_mb = bytes.len() as f64 / 1048576.0;
            println!(
                "  index from the records {:.2}s; image {:.0} MB, written in {encode:.2}s, read in {:.2}s",
                report.index_build_s, report.image_mb, report.index_image_s
            );
            (None, Some(g))
        };

        // Inputs, the same for every system.
        let mut rng = Rng::new(args.seed ^ 0x5eed);
        let (hub_id, starts, pairs, ours) = {
            let guard = catalog.as_ref().map(Catalog::graph);
            let g: &LineageGraph = guard
                .as_deref()
                .or(owned.as_ref())
                .expect("a store or the records gave a graph");
            report.index_heap_mb = g.heap_bytes() as f64 / 1048576.0;
            let t = Instant::now();
            let hub = g.hubs(1)[0];
            report.hubs_s = t.elapsed().as_secs_f64();
            let hub_id = g.asset_id(hub.node).to_string();
            println!(
                "  index {:.0} MB; largest hub {hub_id} reaches {} assets (found in {:.2}s)",
                report.index_heap_mb, hub.downstream, report.hubs_s
            );
            let nodes = g.node_count();
            let starts: Vec<String> = (0..1000)
                .map(|_| g.asset_id(rng.below(nodes) as NodeId).to_string())
                .collect();
            // Pairs with a path: a random asset and one of its descendants.
            let mut pairs = Vec::new();
            while pairs.len() < 1000 {
                let from = rng.below(nodes) as NodeId;
                let down = g.closure(
                    from,
                    Direction::Downstream,
                    &Filter {
                        max_depth: Some(6),
                        ..Default::default()
                    },
                );
                if let Some(&(to, _)) = down.get(rng.below(down.len().max(1))) {
                    let hops = g.shortest_path(from, to).map_or(0, |p| p.len() - 1);
                    pairs.push((
                        g.asset_id(from).to_string(),
                        g.asset_id(to).to_string(),
                        hops,
                    ));
                }
            }

            // mlgraph's index.
            let mut ours = Vec::new();
            let hub = g.id_of(&hub_id).expect("the hub is in the graph");
            let runs = vec![(); 50];
            ours.push((
                "closure".to_string(),
                measure_sync(&runs, budget, |_| {
                    g.closure(hub, Direction::Downstream, &Filter::default())
                        .len()
                }),
            ));
            ours.push((
                "3-hop".to_string(),
                measure_sync(&starts, budget, |s| {
                    let n = g.id_of(s).expect("known");
                    g.neighbourhood(n, 3, 2000).nodes.len() - 1
                }),
            ));
            ours.push((
                "path".to_string(),
                measure_sync(&pairs, budget, |(f, t, _)| {
                    let (f, t) = (g.id_of(f).expect("known"), g.id_of(t).expect("known"));
                    g.shortest_path(f, t).map_or(0, |p| p.len() - 1)
                }),
            ));
            (hub_id, starts, pairs, ours)
        };
        report.hub = hub_id.clone();
        print_system("mlgraph index", &ours);
        report.systems.push(("mlgraph index".into(), ours));

        // SurrealDB's recursion on the same store.
        if let Some(c) = &catalog {
            let mut surreal = Vec::new();
            let runs = vec![hub_id.clone(); 20];
            surreal.push((
                "closure".to_string(),
                measure_async(&runs, budget, |h| {
                    let h = h.clone();
                    async move { c.surreal_closure_size(&h).await.map_err(|e| anyhow!("{e}")) }
                })
                .await?,
            ));
            surreal.push((
                "3-hop".to_string(),
                measure_async(&starts[..200], budget, |s| {
                    let s = s.clone();
                    async move {
                        c.surreal_neighbourhood_size(&s, 3, 1999)
                            .await
                            .map_err(|e| anyhow!("{e}"))
                    }
                })
                .await?,
            ));
            surreal.push((
                "path".to_string(),
                measure_async(&pairs[..200], budget, |(f, t, _)| {
                    let (f, t) = (f.clone(), t.clone());
                    async move {
                        Ok(c.surreal_shortest_path_len(&f, &t)
                            .await
                            .map_err(|e| anyhow!("{e}"))?
                            .unwrap_or(0))
                    }
                })
                .await?,
            ));
            print_system("SurrealDB, hop by hop", &surreal);
            report
                .systems
                .push(("SurrealDB, hop by hop".into(), surreal));
        }

        if let Some(client) = &pg {
            let index: std::collections::HashMap<&str, i32> = estate
                .assets
                .iter()
                .enumerate()
                .map(|(i, a)| (a.id.as_str(), i as i32))
                .collect();
            let load = postgres_load(client, &estate, &index).await?;
            println!("  PostgreSQL loaded in {load:.1}s");
            let closure = client.prepare(PG_CLOSURE).await?;
            let hood = client.prepare(PG_HOOD).await?;
            let path = client.prepare(PG_PATH).await?;
            let hub = index[hub_id.as_str()];
            let mut cte = Vec::new();
            let runs = vec![hub; 20];
            cte.push(
                (
                    "closure".to_string(),
                    measure_async(&runs, budget, |h| {
                        let (client, closure) = (client, &closure);
                        let h = *h;
                        async move {
                            Ok(client.query_one(closure, &[&h]).await?.get::<_, i64>(0) as usize)
                        }
                    })
                    .await?,
                ),
            );
            let pg_starts: Vec<i32> = starts[..200].iter().map(|s| index[s.as_str()]).collect();
            cte.push(
                (
                    "3-hop".to_string(),
                    measure_async(&pg_starts, budget, |s| {
                        let (client, hood) = (client, &hood);
                        let s = *s;
                        async move {
                            Ok(client.query_one(hood, &[&s]).await?.get::<_, i64>(0) as usize - 1)
                        }
                    })
                    .await?,
                ),
            );
            let pg_pairs: Vec<(i32, i32, i32)> = pairs[..200]
                .iter()
                .map(|(f, t, hops)| (index[f.as_str()], index[t.as_str()], *hops as i32))
                .collect();
            cte.push((
                "path".to_string(),
                measure_async(&pg_pairs, budget, |(f, t, hops)| {
                    let (client, path) = (client, &path);
                    let (f, t, hops) = (*f, *t, *hops);
                    async move {
                        Ok(client
                            .query_one(path, &[&f, &t, &hops])
                            .await?
                            .get::<_, Option<i32>>(0)
                            .unwrap_or(0) as usize)
                    }
                })
                .await?,
            ));
            print_system("PostgreSQL recursive CTE", &cte);
            report
                .systems
                .push(("PostgreSQL recursive CTE".into(), cte));
        }
        reports.push(report);
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&reports)?)?;
    }
    Ok(())
}

fn print_system(name: &str, rows: &[(String, Timing)]) {
    println!("  {name}:");
    for (q, t) in rows {
        println!(
            "    {q:<8} p50 {:>10.3} ms  p99 {:>10.3} ms  runs {:>4}  answer {}{}",
            t.p50_ms,
            t.p99_ms,
            t.runs,
            t.answer,
            if t.timed_out { "  (timed out)" } else { "" }
        );
    }
}

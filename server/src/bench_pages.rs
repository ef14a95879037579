//! `mlgraph bench-pages`: what users wait for on a large catalog, over real
//! HTTP. It opens an existing store, serves the whole app on a loopback
//! port and times, for the top hub, a median asset and a leaf, the asset
//! page and its lineage tab (server-side rendering, HTML size) one request
//! at a time and from 16 clients; then `GET /api/v1/export` (time to first
//! byte, total time, bytes).

use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use domain::lineage::Direction;
use domain::query::encode_component;
use serde::Serialize;

use crate::bench::{rss_mb, timing, Timing};

#[derive(Args, Clone)]
pub struct PagesBenchArgs {
    #[command(flatten)]
    db: crate::config::DbArgs,
    /// Requests per page and mode.
    #[arg(long, default_value_t = 200)]
    requests: usize,
    /// Concurrent clients of the concurrent mode.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Skips the whole-catalog export.
    #[arg(long)]
    no_export: bool,
    /// Writes the figures as JSON here too.
    #[arg(long)]
    json: Option<String>,
}

#[derive(Serialize)]
struct PageFigures {
    asset: String,
    role: &'static str,
    downstream: usize,
    page: &'static str,
    bytes: usize,
    sequential: Timing,
    concurrent: Timing,
}

#[derive(Serialize)]
struct ExportFigures {
    first_byte_ms: f64,
    total_s: f64,
    bytes: u64,
    rss_mb_after: f64,
}

/// The top hub, the asset of median downstream size among a sample, and
/// a leaf (nothing downstream, something upstream), with their downstream
/// counts.
async fn pick(c: &catalog::Catalog) -> anyhow::Result<Vec<(&'static str, String, usize)>> {
    let e = |e: catalog::CatalogError| anyhow::anyhow!("{e}");
    let hub = c
        .hubs(1)
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("the catalog is empty"))?;
    // A sample of every kind: ids start with the kind, and the export
    // pages by id.
    let mut ids = Vec::new();
    for kind in domain::AssetKind::ALL {
        let after = format!("{}:", kind.as_str());
        ids.extend(c.export_assets(Some(&after), 300).await.map_err(e)?);
    }
    let mut sample: Vec<(usize, usize, String)> = Vec::new();
    for a in ids {
        let down = c
            .lineage(&a.id, Some(Direction::Downstream), None, vec![], Some(0))
            .map_err(e)?
            .truncated
            .total;
        let up = c
            .lineage(&a.id, Some(Direction::Upstream), Some(1), vec![], Some(0))
            .map_err(e)?
            .truncated
            .total;
        sample.push((down, up, a.id));
    }
    let leaf = sample
        .iter()
        .find(|(d, u, _)| *d == 0 && *u > 0)
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no leaf in the sample"))?;
    let mut with_down: Vec<_> = sample.into_iter().filter(|(d, _, _)| *d > 0).collect();
    with_down.sort();
    let median = with_down
        .get(with_down.len() / 2)
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("nothing in the sample has a downstream"))?;
    Ok(vec![
        ("top hub", hub.id, hub.downstream),
        ("median", median.2, median.0),
        ("leaf", leaf.2, 0),
    ])
}

async fn fetch(client: &reqwest::Client, url: &str) -> anyhow::Result<(f64, usize)> {
    let t = Instant::now();
    let r = client.get(url).send().await?;
    if !r.status().is_success() {
        anyhow::bail!("{url}: {}", r.status());
    }
    let n = r.bytes().await?.len();
    Ok((t.elapsed().as_secs_f64() * 1e3, n))
}

async fn time_page(
    client: &reqwest::Client,
    url: &str,
    requests: usize,
    clients: usize,
) -> anyhow::Result<(usize, Timing, Timing)> {
    let (_, bytes) = fetch(client, url).await?; // warm
    let mut ms = Vec::with_capacity(requests);
    for _ in 0..requests {
        ms.push(fetch(client, url).await?.0);
    }
    let sequential = timing(ms, bytes, false);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (client, url, next) = (client.clone(), url.to_string(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut ms = Vec::new();
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < requests {
                ms.push(fetch(&client, &url).await?.0);
            }
            anyhow::Ok(ms)
        }));
    }
    let mut all = Vec::with_capacity(requests);
    for t in tasks {
        all.extend(t.await??);
    }
    Ok((bytes, sequential, timing(all, bytes, false)))
}

pub async fn run(args: PagesBenchArgs) -> anyhow::Result<()> {
    let catalog = crate::config::open(&args.db).await?;
    let base = crate::bench::serve_loopback(&catalog, None).await?;
    let client = reqwest::Client::new();

    let mut pages = Vec::new();
    for (role, id, downstream) in pick(&catalog).await? {
        let href = format!(
            "{base}/asset?id={}",
            encode_component(&encode_component(&id))
        );
        for (page, url) in [
            ("overview", href.clone()),
            ("lineage tab", format!("{href}&tab=lineage")),
        ] {
            let (bytes, sequential, concurrent) =
                time_page(&client, &url, args.requests, args.clients).await?;
            println!(
                "{role:8} {page:12} {bytes:>8} bytes  sequential p50/p99 {:.1}/{:.1} ms  {} clients {:.1}/{:.1} ms  ({downstream} downstream, {id})",
                sequential.p50_ms, sequential.p99_ms, args.clients, concurrent.p50_ms, concurrent.p99_ms
            );
            pages.push(PageFigures {
                asset: id.clone(),
                role,
                downstream,
                page,
                bytes,
                sequential,
                concurrent,
            });
        }
    }

    let export = if args.no_export {
        None
    } else {
        let t = Instant::now();
        let mut r = client.get(format!("{base}/api/v1/export")).send().await?;
        let mut first = None;
        let mut bytes = 0u64;
        while let Some(chunk) = r.chunk().await? {
            first.get_or_insert_with(|| t.elapsed().as_secs_f64() * 1e3);
            bytes += chunk.len() as u64;
        }
        let f = ExportFigures {
            first_byte_ms: first.unwrap_or(f64::NAN),
            total_s: t.elapsed().as_secs_f64(),
            bytes,
            rss_mb_after: rss_mb(),
        };
        println!(
            "GET /api/v1/export: first byte {:.0} ms, {bytes} bytes in {:.1} s; RSS after {:.0} MB",
            f.first_byte_ms, f.total_s, f.rss_mb_after
        );
        Some(f)
    };
    if let Some(path) = args.json {
        let out = serde_json::json!({ "pages": pages, "export": export, "rss_mb": rss_mb() });
        std::fs::write(&path, serde_json::to_vec_pretty(&out)?)?;
    }
    Ok(())
}

//! `mlgraph bench-ingest`: OpenLineage throughput over real HTTP. It starts
//! the whole app on a loopback port over a fresh on-disk store, posts
//! RunEvents (START and COMPLETE, with schema and column-lineage facets)
//! from several concurrent clients, and then checks that every
//! acknowledged event is in the catalog.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use serde_json::{json, Value};

#[derive(Args, Clone)]
pub struct IngestBenchArgs {
    /// Runs to report; each is a START and a COMPLETE event.
    #[arg(long, default_value_t = 10_000)]
    runs: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Distinct jobs the runs belong to.
    #[arg(long, default_value_t = 500)]
    jobs: usize,
    /// Where the store goes (a fresh directory is made inside).
    #[arg(long, default_value = "/var/tmp/mlgraph-ingest-bench")]
    dir: String,
}

fn event(run: usize, job: usize, kind: &str, minute: usize) -> Value {
    let ns = "postgres://warehouse:5432";
    json!({
        "eventType": kind,
        "eventTime": format!("2024-06-01T{:02}:{:02}:00Z", (minute / 60) % 24, minute % 60),
        "producer": "https://example.com/mlgraph-bench",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": format!("00000000-0000-4000-8000-{run:012x}"), "facets": {}},
        "job": {"namespace": "bench", "name": format!("job_{job}"), "facets": {}},
        "inputs": [
            {"namespace": ns, "name": format!("raw.table_{job}"), "facets": {}},
            {"namespace": ns, "name": format!("raw.table_{}", (job + 1) % 1000), "facets": {}}
        ],
        "outputs": [{
            "namespace": ns,
            "name": format!("clean.table_{job}"),
            "facets": {
                "schema": {"_producer": "p", "_schemaURL": "s", "fields": [{"name": "id", "type": "BIGINT"}, {"name": "value", "type": "DOUBLE"}]},
                "columnLineage": {"_producer": "p", "_schemaURL": "s", "fields": {
                    "id": {"inputFields": [{"namespace": ns, "name": format!("raw.table_{job}"), "field": "id"}]},
                    "value": {"inputFields": [{"namespace": ns, "name": format!("raw.table_{job}"), "field": "amount"}]}
                }}
            }
        }]
    })
}

pub async fn run(args: IngestBenchArgs) -> anyhow::Result<()> {
    let dir = format!("{}/store-{}", args.dir, std::process::id());
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&args.dir)?;
    let catalog = catalog::Catalog::connect(&format!("surrealkv://{dir}"))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let token = "bench-admin-token";
    let url = format!(
        "{}/api/v1/lineage",
        crate::bench::serve_loopback(&catalog, Some(token)).await?
    );

    // Prepared bodies, so the clients only post.
    let mut bodies: Vec<String> = Vec::with_capacity(args.runs * 2);
    for r in 0..args.runs {
        let job = r % args.jobs;
        bodies.push(event(r, job, "START", r).to_string());
        bodies.push(event(r, job, "COMPLETE", r + 1).to_string());
    }
    let bodies = Arc::new(bodies);
    let next = Arc::new(AtomicUsize::new(0));
    let acked = Arc::new(AtomicUsize::new(0));
    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.clients {
        let (bodies, next, acked, client, url) = (
            bodies.clone(),
            next.clone(),
            acked.clone(),
            client.clone(),
            url.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(i) else { break };
                let r = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("authorization", format!("Bearer {token}"))
                    .body(body.clone())
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status().as_u16() == 201 => {
                        acked.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(r) => eprintln!("event {i}: {}", r.status()),
                    Err(e) => eprintln!("event {i}: {e}"),
                }
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let secs = started.elapsed().as_secs_f64();
    let acked = acked.load(Ordering::Relaxed);
    println!(
        "{acked} of {} events acknowledged by {} clients in {secs:.2}s: {:.0} events/s",
        bodies.len(),
        args.clients,
        acked as f64 / secs
    );
    // Every acknowledged event is there: each run is complete, and every
    // job has its assets.
    let e = |e: catalog::CatalogError| anyhow::anyhow!("{e}");
    let mut runs = 0;
    let mut complete = 0;
    for j in 0..args.jobs {
        let list = catalog
            .runs_of(
                &domain::openlineage::job_asset_id("bench", &format!("job_{j}")),
                100_000,
            )
            .await
            .map_err(e)?;
        runs += list.len();
        complete += list.iter().filter(|r| r.state == "COMPLETE").count();
    }
    println!(
        "stored: {runs} runs ({complete} complete) of {} posted; {} assets, {} edges",
        args.runs,
        catalog.count_assets().await.map_err(e)?,
        catalog.count_edges().await.map_err(e)?
    );
    if acked == bodies.len() && (runs != args.runs || complete != args.runs) {
        anyhow::bail!("an acknowledged event is missing");
    }
    // What the ingestion page costs once the log holds every event.
    let t = std::time::Instant::now();
    let overview = catalog.ingest_overview(None).await.map_err(e)?;
    println!(
        "ingestion page data ({} events logged) in {} ms",
        overview.accepted + overview.rejected,
        t.elapsed().as_millis()
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

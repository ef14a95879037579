//! `mlgraph bench-impact`: how long impact analysis takes on generated
//! estates of growing size. It times the pure analysis (the domain code
//! that also runs in the browser) on the downstream subgraph, and, up to
//! `--store-max` assets, the whole `Catalog::impact` call on the embedded
//! SurrealDB, which also loads that subgraph.

use std::time::Duration;

use clap::Args;
use domain::demo::generate;
use domain::impact::{analyze, ChangeOp, SchemaChange};
use domain::lineage::{Direction, Filter, LineageGraph};
use domain::EdgeKind;

use crate::bench::{measure_async, measure_sync};

#[derive(Args, Clone)]
pub struct ImpactBenchArgs {
    /// Estate sizes, in assets.
    #[arg(long, value_delimiter = ',', default_value = "309,10000,100000")]
    sizes: Vec<usize>,
    /// How many source columns to analyse per size (the ones that reach most).
    #[arg(long, default_value_t = 20)]
    columns: usize,
    /// The largest estate that is also loaded into SurrealDB and timed
    /// through `Catalog::impact` (the in-memory index).
    #[arg(long, default_value_t = 100_000)]
    store_max: usize,
    /// The largest estate on which the old way, reading the downstream
    /// rows from the store, is timed too.
    #[arg(long, default_value_t = 10_000)]
    rows_max: usize,
    #[arg(long, default_value_t = domain::demo::DEMO_SEED)]
    seed: u64,
}

/// One case: a dataset, a change to it, and its downstream subgraph.
type Case = (String, SchemaChange, Vec<domain::Asset>, Vec<domain::Edge>);

/// Times `Catalog::impact` (from the in-memory index) over `cases`, or with
/// `rows` its reference that reads the downstream rows from the store.
async fn time_impact(
    catalog: &catalog::Catalog,
    cases: &[Case],
    rows: bool,
) -> anyhow::Result<crate::bench::Timing> {
    measure_async(cases, Duration::from_secs(120), |(d, c, _, _)| {
        let catalog = catalog.clone();
        let (d, c) = (d.clone(), c.clone());
        async move {
            let changes = [c];
            let r = if rows {
                catalog.impact_from_store(&d, &changes).await
            } else {
                catalog.impact(&d, &changes).await
            };
            Ok(r.map_err(|e| anyhow::anyhow!("{e}"))?.affected.len())
        }
    })
    .await
}

pub async fn run(args: ImpactBenchArgs) -> anyhow::Result<()> {
    println!(
        "impact analysis: drop one mapped source column; p50/p99 over the columns that reach most"
    );
    for &n in &args.sizes {
        let estate = generate(args.seed, n);
        let mut g = LineageGraph::new();
        for a in &estate.assets {
            g.upsert_node(&a.id, a.kind, &a.name);
        }
        for e in &estate.edges {
            g.upsert_edge(e);
        }
        // Candidate changes: each mapped column a dataset passes on, with
        // the size of the dataset's downstream closure.
        let mut inputs: Vec<(usize, String, String)> = Vec::new();
        for e in &estate.edges {
            if e.kind != EdgeKind::Derives || !e.from.starts_with("dataset:") {
                continue;
            }
            let Some(node) = g.id_of(&e.from) else {
                continue;
            };
            let reach = g.closure_size(node, Direction::Downstream);
            for m in &e.columns {
                inputs.push((reach, e.from.clone(), m.from.clone()));
            }
        }
        inputs.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        inputs.dedup_by(|a, b| a.1 == b.1 && a.2 == b.2);
        inputs.truncate(args.columns);
        let by_id: std::collections::HashMap<&str, &domain::Asset> =
            estate.assets.iter().map(|a| (a.id.as_str(), a)).collect();
        // The subgraph each analysis gets, as the catalog would load it.
        let cases: Vec<Case> = inputs
            .iter()
            .map(|(_, dataset, column)| {
                let root = g.id_of(dataset).expect("indexed");
                let mut keep: std::collections::HashSet<String> = g
                    .closure(root, Direction::Downstream, &Filter::default())
                    .into_iter()
                    .map(|(m, _)| g.asset_id(m).to_string())
                    .collect();
                keep.insert(dataset.clone());
                let assets = keep.iter().map(|id| by_id[id.as_str()].clone()).collect();
                let edges = estate
                    .edges
                    .iter()
                    .filter(|e| keep.contains(&e.from))
                    .cloned()
                    .collect();
                let change = SchemaChange {
                    op: ChangeOp::Drop,
                    column: column.clone(),
                    new_name: None,
                    data_type: None,
                    nullable: None,
                };
                (dataset.clone(), change, assets, edges)
            })
            .collect();
        let pure = measure_sync(&cases, Duration::from_secs(60), |(d, c, a, e)| {
            analyze(d, std::slice::from_ref(c), a, e)
                .map(|r| r.affected.len())
                .unwrap_or(0)
        });
        let reach = inputs.first().map_or(0, |i| i.0);
        let services = cases
            .first()
            .map(|(d, c, a, e)| {
                analyze(d, std::slice::from_ref(c), a, e)
                    .map(|r| r.services.len())
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        println!(
            "  {n:>8} assets · {} cases · largest closure {reach} · first case: {} affected, {services} services",
            cases.len(),
            pure.answer,
        );
        println!(
            "    analysis (domain)       p50 {:>9.3} ms  p99 {:>9.3} ms  runs {}",
            pure.p50_ms, pure.p99_ms, pure.runs
        );
        if n <= args.store_max {
            let catalog = catalog::Catalog::connect("mem://")
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            crate::seed::load_estate(&catalog, estate.clone()).await?;
            let store = time_impact(&catalog, &cases, false).await?;
            println!(
                "    Catalog::impact (mem://) p50 {:>9.3} ms  p99 {:>9.3} ms  runs {}  answer {}",
                store.p50_ms, store.p99_ms, store.runs, store.answer
            );
            if n <= args.rows_max {
                let rows = time_impact(&catalog, &cases, true).await?;
                println!(
                    "    from the store's rows    p50 {:>9.3} ms  p99 {:>9.3} ms  runs {}  answer {}",
                    rows.p50_ms, rows.p99_ms, rows.runs, rows.answer
                );
            }
            let heap = catalog.graph().heap_bytes();
            println!(
                "    in-memory index with impact facts: {:.1} MB",
                heap as f64 / 1048576.0
            );
        }
    }
    Ok(())
}

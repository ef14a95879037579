//! `mlgraph bench-history`: lineage walks as of now and as of a past
//! moment on power-law graphs with history (issue 17's benchmark). Each
//! asset and edge appears at its own moment; then a share of the edges
//! ends. Walks as of now run on the current adjacency, walks as of the
//! moment before any edge ended on the spans (every edge valid then), and
//! the index's memory is reported with its history and without it.

use std::time::{Duration, Instant};

use domain::demo::{power_law, Rng};
use domain::lineage::{Direction, Filter, LineageGraph, Millis, NodeId};

use crate::bench::{measure_sync, Timing};

#[derive(clap::Args)]
pub struct HistoryBenchArgs {
    /// Catalog sizes, in assets.
    #[arg(long, value_delimiter = ',', default_value = "100000,1000000")]
    sizes: Vec<usize>,
    /// Edges per asset.
    #[arg(long, default_value_t = 5)]
    per_asset: usize,
    /// The share of edges that end, in percent.
    #[arg(long, default_value_t = 10)]
    ended_percent: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Seconds each question may run for.
    #[arg(long, default_value_t = 60)]
    budget: u64,
}

fn row(name: &str, t: &Timing) {
    println!(
        "  {name:<34} runs {:>5}  p50 {:>9.3} ms  p99 {:>9.3} ms  answer {}",
        t.runs, t.p50_ms, t.p99_ms, t.answer
    );
}

pub async fn run(args: HistoryBenchArgs) -> anyhow::Result<()> {
    let budget = Duration::from_secs(args.budget);
    for &n in &args.sizes {
        println!(
            "== {n} assets, {} edges per asset, {}% of edges ended",
            args.per_asset, args.ended_percent
        );
        let estate = power_law(args.seed, n, args.per_asset);
        // Moments: assets from t0, one a millisecond; edges after them;
        // the ends after every edge appeared.
        let t0: Millis = 1_700_000_000_000;
        let started = Instant::now();
        let mut g = LineageGraph::new();
        for (i, a) in estate.assets.iter().enumerate() {
            g.upsert_node_at(&a.id, a.kind, &a.name, t0 + i as Millis);
        }
        let edges_from = t0 + estate.assets.len() as Millis;
        for (i, e) in estate.edges.iter().enumerate() {
            g.upsert_edge_at(e, edges_from + i as Millis);
        }
        let past = edges_from + estate.edges.len() as Millis;
        let mut rng = Rng::new(args.seed ^ 0x4157);
        let mut ended = 0usize;
        for (i, e) in estate.edges.iter().enumerate() {
            if rng.below(100) < args.ended_percent {
                g.remove_edge_at(&e.id, past + 1 + i as Millis);
                ended += 1;
            }
        }
        g.compact();
        let heap = g.heap_bytes() as f64 / 1048576.0;
        let history = g.timeline_heap_bytes() as f64 / 1048576.0;
        println!(
            "  built in {:.1}s: {} edges now, {ended} ended; index {heap:.0} MB, of which history {history:.0} MB ({:.2}x the index without it)",
            started.elapsed().as_secs_f64(),
            g.edge_count(),
            heap / (heap - history),
        );
        let hub = g.hubs(1)[0].node;
        let nodes = g.node_count();
        let starts: Vec<NodeId> = (0..1000).map(|_| rng.below(nodes) as NodeId).collect();
        let all = Filter::default();
        let three = Filter {
            max_depth: Some(3),
            ..Filter::default()
        };
        let runs = vec![(); 50];
        let down = Direction::Downstream;
        row(
            "closure of the largest hub, now",
            &measure_sync(&runs, budget, |_| g.closure(hub, down, &all).len()),
        );
        row(
            "closure, as of before the ends",
            &measure_sync(&runs, budget, |_| g.closure_at(hub, down, &all, past).len()),
        );
        row(
            "closure, as of now on the spans",
            &measure_sync(&runs, budget, |_| {
                g.closure_at(hub, down, &all, Millis::MAX - 1).len()
            }),
        );
        row(
            "3 hops down, now",
            &measure_sync(&starts, budget, |&s| g.closure(s, down, &three).len()),
        );
        row(
            "3 hops down, as of before the ends",
            &measure_sync(&starts, budget, |&s| {
                g.closure_at(s, down, &three, past).len()
            }),
        );
    }
    Ok(())
}

#!/usr/bin/env bash
# The soak benchmark (not a test): the release build serving a catalog on
# SurrealKV (the demo's 309 assets, or a synthetic one of ASSETS) takes a
# mixed load (search 40%, asset
# pages 15%, the lineage explorer 5%, lineage reads 15%, OpenLineage events
# 20%, simulations 5%) at 200 requests/s for 30 minutes, and prints a row
# per minute: throughput, p50/p99, errors and the server's resident memory.
# Targets: 0 errors, p99 < 100 ms, RSS growth < 10% after minute 5.
# Figures go in docs/PERFORMANCE.md.
# Usage: bash scripts/soak.sh [MINUTES] [RPS] [ASSETS] [DATASETS]
# DATASETS (5,000) is how many distinct datasets the events write, so how
# far the catalog grows during the run.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH" LEPTOS_OUTPUT_NAME=mlgraph
minutes="${1:-30}"
rps="${2:-200}"
assets="${3:-0}"
datasets="${4:-5000}"
work="${MLGRAPH_BENCH_DIR:-/var/tmp/mlgraph-soak}"
cargo build --release -p server
bin="${CARGO_TARGET_DIR:-target}/release/mlgraph"
port=3931
token="soak-$(date +%s)"
. scripts/bench-serve.sh
bench_serve "$assets"
if [ "$assets" = 0 ]; then
  catalog="the demo catalog (309 assets)"
else
  catalog="a $assets-asset catalog"
fi
echo "release build, $catalog on SurrealKV, $rps requests/s for $minutes minutes, events naming $datasets datasets"
python3 scripts/soak.py --url "http://127.0.0.1:$port" --token "$token" --pid "$server" \
  --minutes "$minutes" --rps "$rps" --datasets "$datasets"

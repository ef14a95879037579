#!/usr/bin/env bash
# Runs `mlgraph bench`: the lineage index against a hop-by-hop walk of SurrealDB's edges and
# PostgreSQL recursive CTEs on 10k, 100k and 1M-asset power-law graphs.
# Installs Debian's PostgreSQL if it is missing and runs a private cluster
# on port 55432 (data in /var/tmp/mlgraph-pg), stopped again at the end.
# Extra arguments go to `mlgraph bench`, e.g. --sizes 10000.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/pg.sh

export LEPTOS_OUTPUT_NAME=mlgraph
cargo build --release -p server
./target/release/mlgraph bench \
  --postgres "$PGCONN" \
  --json target/bench.json "$@"

#!/usr/bin/env bash
# The catalog at scale (issue 12): `mlgraph bench-search` with the release
# build. Per size: bulk import of a demo-shaped NDJSON file (load time,
# peak RSS), start-up with the search index and lineage image on disk,
# search with facets (plain and with kind, owner and tag filters;
# sequential and 16 clients) and deep paging, beside PostgreSQL's
# tsvector/GIN full-text search on the same rows and queries.
# Installs Debian's PostgreSQL if missing and runs a private cluster on
# port 55432 (data in /var/tmp/mlgraph-pg), stopped again at the end.
# Then, on each store it loaded, `mlgraph bench-pages` (issue 13): asset
# page and lineage tab of the top hub, a median asset and a leaf over real
# HTTP, sequential and from 16 clients, and `GET /api/v1/export` (first
# byte, total time, RSS); and `mlgraph bench-impact` (impact analysis and
# `Catalog::impact` over the 20 most-reached columns at 10k and 100k).
# Usage: bash scripts/bench-scale.sh [--sizes 100000,1000000] [--queries 200]
#   [--edges-per-asset 5] (the demo shape has about 2.4 edges per asset)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH" LEPTOS_OUTPUT_NAME=mlgraph

source scripts/pg.sh

cargo build --release -p server
bin="${CARGO_TARGET_DIR:-target}/release/mlgraph"
"$bin" bench-search \
  --postgres "$PGCONN" \
  --json "${CARGO_TARGET_DIR:-target}/bench-scale.json" "$@"

for store in /var/tmp/mlgraph-bench-search/n*; do
  [ -d "$store" ] || continue
  echo "== asset pages and export: $store"
  "$bin" bench-pages --db "surrealkv://$store" \
    --json "${CARGO_TARGET_DIR:-target}/bench-pages-$(basename "$store").json"
done
echo "== impact analysis"
"$bin" bench-impact --sizes 309,10000,100000

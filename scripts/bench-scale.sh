#!/usr/bin/env bash
# The catalog at scale (issue 12): `mlgraph bench-search` with the release
# build. Per size: bulk import of a demo-shaped NDJSON file (load time,
# peak RSS), start-up with the search index and lineage image on disk,
# search with facets (plain and with kind, owner and tag filters;
# sequential and 16 clients) and deep paging, beside PostgreSQL's
# tsvector/GIN full-text search on the same rows and queries.
# Installs Debian's PostgreSQL if missing and runs a private cluster on
# port 55432 (data in /var/tmp/mlgraph-pg), stopped again at the end.
# Usage: bash scripts/bench-scale.sh [--sizes 100000,1000000] [--queries 200]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH" LEPTOS_OUTPUT_NAME=mlgraph

source scripts/pg.sh

cargo build --release -p server
bin="${CARGO_TARGET_DIR:-target}/release/mlgraph"
"$bin" bench-search \
  --postgres "$PGCONN" \
  --json "${CARGO_TARGET_DIR:-target}/bench-scale.json" "$@"

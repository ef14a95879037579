#!/usr/bin/env bash
# The static export benchmark: a 100,000-asset demo catalog exported with
# the release build, its sizes, and browser timings in Chromium against
# dbt docs' approach (one JSON file with everything). Figures go in
# docs/PERFORMANCE.md. Usage: bash scripts/bench-export.sh [ASSETS]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH" LEPTOS_OUTPUT_NAME=mlgraph
assets="${1:-100000}"
work="${MLGRAPH_BENCH_DIR:-/var/tmp/mlgraph-export-bench}/n$assets"
mkdir -p "$work"
cargo build --release -p server
bin="${CARGO_TARGET_DIR:-target}/release/mlgraph"
[ -d target/site/pkg ] || cargo leptos build
if [ ! -d "$work/store" ]; then
  "$bin" seed-demo --db "surrealkv://$work/store" --assets "$assets" 2>/dev/null
fi
rm -rf "$work/site"
/usr/bin/time -v "$bin" export --db "surrealkv://$work/store" --out "$work/site" --site-root target/site \
  2> "$work/export.time" | tee "$work/export.out"
grep -E "Elapsed|Maximum resident" "$work/export.time"
echo "site: $(du -sh "$work/site" | cut -f1), $(find "$work/site" -type f | wc -l) files"
# dbt docs' way: the whole catalog as one JSON document.
"$bin" export --ndjson --db "surrealkv://$work/store" --out "$work/all.ndjson" 2>/dev/null
node -e '
const fs = require("fs");
const lines = fs.readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l));
fs.writeFileSync(process.argv[2], JSON.stringify({ assets: lines.filter((r) => r.type === "asset"), edges: lines.filter((r) => r.type === "edge") }));
' "$work/all.ndjson" "$work/all.json"
node end2end/bench/static.mjs "$work/site" "$work/all.json"

#!/usr/bin/env bash
# Sets everything up and runs every check and test: formatting, clippy for
# the native and the wasm builds, the architecture invariants, unit,
# integration and router tests, and the browser journeys in Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --tests
export PATH="$HOME/.cargo/bin:$PATH"
# The server's hydration script names the wasm file after this; setting it
# for every build lets tests and cargo-leptos share compiled crates.
export LEPTOS_OUTPUT_NAME=mlgraph
target="${CARGO_TARGET_DIR:-target}"
say() { printf '\033[1m== %s\033[0m\n' "$*"; }

say "format"
cargo fmt --all --check

say "clippy (native)"
cargo clippy --workspace --all-targets -- -D warnings

say "clippy (wasm: domain and the hydrate build of app)"
cargo clippy -p domain --target wasm32-unknown-unknown -- -D warnings
cargo clippy -p app --lib --target wasm32-unknown-unknown --no-default-features --features hydrate -- -D warnings

say "invariant: the browser build pulls in no server crate"
if cargo tree -p app --target wasm32-unknown-unknown --no-default-features -F hydrate -e normal --prefix none \
    | grep -E '^(surrealdb|tokio|axum|catalog) ' ; then
  echo "the wasm build of app depends on a server crate" >&2
  exit 1
fi

say "unit, integration and router tests"
cargo test --workspace

say "build the site"
cargo leptos build

say "static export (the demo plus hostile names) for the browser journeys"
exp=$(mktemp -d)
"$target/debug/mlgraph" seed-demo --db "surrealkv://$exp/db" >/dev/null 2>&1
cat > "$exp/hostile.ndjson" <<'NDJSON'
{"type":"asset","kind":"dataset","namespace":"evil","name":"pwned <script>window.__pwned=1;alert(1)</script>","description":"</script><script>window.__pwned=2</script>","owners":["<b>owner</b>"],"schema":[{"name":"a\"<b>","type":"string"}]}
{"type":"asset","kind":"feature","namespace":"evil","name":"pwned \"quote' & </script><img src=x onerror=\"window.__pwned=3\">","tags":["</script>"]}
{"type":"edge","from":"dataset:evil:pwned <script>window.__pwned=1;alert(1)</script>","to":"feature:evil:pwned \"quote' & </script><img src=x onerror=\"window.__pwned=3\">","kind":"derives"}
NDJSON
"$target/debug/mlgraph" import --db "surrealkv://$exp/db" "$exp/hostile.ndjson" >/dev/null 2>&1
"$target/debug/mlgraph" export --db "surrealkv://$exp/db" --out "$exp/site" --site-root target/site 2>/dev/null | grep '^wrote' 
export MLGRAPH_EXPORT_DIR="$exp/site"
# The same catalog with ten names per search shard, so common words are
# written in pages and the index's "More names" has something to load.
"$target/debug/mlgraph" export --db "surrealkv://$exp/db" --out "$exp/paged" --site-root target/site --shard-size 10 2>/dev/null | grep '^wrote'
export MLGRAPH_PAGED_EXPORT_DIR="$exp/paged"

say "browser journeys"
port=3917
log=$(mktemp)
# The demo users' password, so the journeys can sign in as them.
export MLGRAPH_DEMO_PASSWORD=demo-password-1
MLGRAPH_ADMIN_TOKEN=ci-admin-token MLGRAPH_DB=mem:// LEPTOS_SITE_ADDR=127.0.0.1:$port LEPTOS_SITE_ROOT=target/site RUST_LOG=warn \
  "$target/debug/mlgraph" serve >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$port/api/v1/assets?limit=1" >/dev/null 2>&1 && break
  kill -0 $server 2>/dev/null || { cat "$log"; exit 1; }
  sleep 1
done
# The server that answered must be ours (a leftover one would be tested).
kill -0 $server 2>/dev/null || { echo "mlgraph did not start:"; cat "$log"; exit 1; }
MLGRAPH_URL="http://127.0.0.1:$port" node --test end2end/ || { echo "the server's log:"; tail -n 60 "$log"; exit 1; }

say "OpenLineage: the official Python client (from PyPI, in a throwaway virtualenv)"
venv=$(mktemp -d)
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check openlineage-python
"$venv/bin/python" end2end/openlineage/pipeline.py "http://127.0.0.1:$port" ci-admin-token
rm -rf "$venv"

say "dbt: the schema-change gate and dbt-ol convergence on a real project (dbt-core, dbt-duckdb and openlineage-dbt from PyPI)"
DBT_VENV=$(mktemp -d)
export DBT_VENV
bash end2end/dbt/venv.sh >/dev/null
bash end2end/dbt/gate.sh "http://127.0.0.1:$port" ci-admin-token "$target/debug/mlgraph"
bash end2end/dbt/converge.sh "http://127.0.0.1:$port" ci-admin-token "$target/debug/mlgraph"
rm -rf "$DBT_VENV"

say "serving endpoints from Kubernetes: mlgraph import kube over HTTP"
bash end2end/kube/roundtrip.sh "http://127.0.0.1:$port" ci-admin-token "$target/debug/mlgraph"

say "MLflow: a real tracking server and registry (mlflow from PyPI, SQLite) read by mlgraph import mlflow"
MLFLOW_VENV=$(mktemp -d)
export MLFLOW_VENV
bash end2end/mlflow/journey.sh "http://127.0.0.1:$port" ci-admin-token "$target/debug/mlgraph"
rm -rf "$MLFLOW_VENV"

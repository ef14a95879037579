#!/usr/bin/env bash
# Scale-out on a real SurrealDB server: builds the server from the
# surrealdb-server crate (scripts/surreal-server, SurrealKV storage; not part
# of the workspace or of CI), starts it on a fresh SurrealKV store, loads the
# demo catalog through it, then runs scripts/cluster_check.py: two
# `mlgraph serve` processes on ws://, a write through one read back on the
# other (search, asset page, lineage, impact) within 2 s, and one server
# killed and restarted mid-ingestion with nothing acknowledged lost.
#
#   bash scripts/cluster.sh            release builds (the first build of the
#                                      SurrealDB server takes a while)
# Output goes to standard output; docs/PERFORMANCE.md records a run.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
DB_PORT="${DB_PORT:-8765}"
PORTS="${PORTS:-3101,3102}"

cargo build --release -p server
(cd scripts/surreal-server && cargo build --release)
SURREAL="$CARGO_TARGET_DIR/release/surreal"
MLGRAPH="$CARGO_TARGET_DIR/release/mlgraph"

WORK="$(mktemp -d)"
cleanup() {
  local status=$?
  if [[ -n "${SURREAL_PID:-}" ]]; then
    kill "$SURREAL_PID" 2>/dev/null || true
    wait "$SURREAL_PID" 2>/dev/null || true
  fi
  if [[ $status -ne 0 ]]; then
    for log in "$WORK"/*.log; do
      echo "--- last lines of $log"
      tail -n 20 "$log"
    done
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

"$SURREAL" start --unauthenticated --no-banner --log warn \
  --bind "127.0.0.1:$DB_PORT" "surrealkv://$WORK/store" >"$WORK/surreal.log" 2>&1 &
SURREAL_PID=$!
for _ in $(seq 1 100); do
  if (echo >"/dev/tcp/127.0.0.1/$DB_PORT") 2>/dev/null; then break; fi
  sleep 0.1
done
VERSION="$(grep -o 'version = "=[0-9.]*"' scripts/surreal-server/Cargo.toml | grep -o '[0-9.]*[0-9]')"
echo "SurrealDB server (surrealdb-server $VERSION) on ws://127.0.0.1:$DB_PORT, SurrealKV in $WORK/store"
"$MLGRAPH" seed-demo --db "ws://127.0.0.1:$DB_PORT" 2>&1 | grep -v "INFO" | tail -2
python3 scripts/cluster_check.py --mlgraph "$MLGRAPH" --db "ws://127.0.0.1:$DB_PORT" \
  --ports "$PORTS" --logs "$WORK"

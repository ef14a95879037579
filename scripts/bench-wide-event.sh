#!/usr/bin/env bash
# The wide-event benchmark (not a test): the release build serving the demo
# catalog on SurrealKV takes OpenLineage events of INPUTS new input datasets
# each (issue 14's target: 5,000 inputs in at most 1 s), then the last event
# again (nothing new to write). Prints each request's time and the median.
# Figures go in docs/PERFORMANCE.md.
# Usage: bash scripts/bench-wide-event.sh [EVENTS] [INPUTS]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH" LEPTOS_OUTPUT_NAME=mlgraph
events="${1:-8}"
inputs="${2:-5000}"
work="${MLGRAPH_BENCH_DIR:-/var/tmp/mlgraph-wide-event}"
cargo build --release -p server
bin="${CARGO_TARGET_DIR:-target}/release/mlgraph"
port=3933
token="wide-$(date +%s)"
. scripts/bench-serve.sh
bench_serve 0
echo "release build, the demo catalog on SurrealKV, $events events of $inputs new inputs each"
python3 - "http://127.0.0.1:$port" "$token" "$events" "$inputs" <<'EOF'
import json, statistics, sys, time, urllib.request

url, token, events, inputs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

def post(n):
    ev = {
        "eventType": "COMPLETE",
        "eventTime": "2026-12-04T12:00:00Z",
        "producer": "https://example.com/bench-wide-event",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": f"0190c9b2-6f6e-7cd1-a1f5-{n:012x}"},
        "job": {"namespace": "wide", "name": f"job_{n}"},
        "inputs": [{"namespace": "wide", "name": f"e{n}_in_{i}"} for i in range(inputs)],
        "outputs": [{"namespace": "wide", "name": f"e{n}_out"}],
    }
    req = urllib.request.Request(
        f"{url}/api/v1/lineage",
        data=json.dumps(ev).encode(),
        headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
    )
    start = time.monotonic()
    with urllib.request.urlopen(req) as res:
        res.read()
        assert res.status == 201, res.status
    return time.monotonic() - start

times = [post(n) for n in range(events)]
again = post(events - 1)
print("new inputs, s:", ", ".join(f"{t:.2f}" for t in times))
print(f"median {statistics.median(times):.2f} s, max {max(times):.2f} s; the last event again {again:.2f} s")
EOF

#!/usr/bin/env bash
# MLflow into the graph over real HTTP: a real `mlflow server` (PyPI,
# SQLite backend) gets two training runs with logged datasets and two
# registered versions with an alias and a deploy tag (train.py); then
# `mlgraph import mlflow --server` makes the running mlgraph read it.
# Checked: the versions, their training data (named as OpenLineage names
# the S3 object), the evaluation with its metrics, the run history, the
# deploys edge; a second import changes nothing; a moved alias moves; bad
# input is refused naming the field.
#
# Usage: end2end/mlflow/journey.sh BASE_URL ADMIN_TOKEN MLGRAPH_BINARY
set -euo pipefail
base=$1
admin=$2
mlgraph=$(realpath "$3")
here=$(cd "$(dirname "$0")" && pwd)
fail() { echo "mlflow import: $*" >&2; exit 1; }
venv=$(bash "$here/venv.sh")
work=$(mktemp -d)
port=${MLFLOW_PORT:-5057}
"$venv/bin/mlflow" server --backend-store-uri "sqlite:///$work/mlflow.db" \
  --artifacts-destination "$work/artifacts" --host 127.0.0.1 --port "$port" --workers 1 \
  >"$work/mlflow.log" 2>&1 &
mlflow_pid=$!
trap 'kill $mlflow_pid 2>/dev/null || true; rm -rf "$work"' EXIT
tracking="http://127.0.0.1:$port"
for _ in $(seq 1 120); do
  curl -fsS "$tracking/health" >/dev/null 2>&1 && break
  kill -0 $mlflow_pid 2>/dev/null || { cat "$work/mlflow.log"; fail "mlflow server did not start"; }
  sleep 1
done
curl -fsS "$tracking/health" >/dev/null || { cat "$work/mlflow.log"; fail "mlflow server did not answer"; }

# The service the deploy tag names, as an operator catalogued it.
curl -fsS -X PUT "$base/api/v1/assets/service%3Ae2e-serving%3Awine-api" \
  -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
  -d '{"kind":"service","namespace":"e2e-serving","name":"wine-api"}' >/dev/null

(cd "$work" && MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR=false "$venv/bin/python" "$here/train.py" "$tracking" train) \
  >"$work/train.log" 2>&1 || { cat "$work/train.log"; fail "train.py failed"; }

import() { "$mlgraph" import mlflow --url "$tracking" --server "$base" --token "$admin" "$@"; }
first=$(import)
second=$(import)
(cd "$work" && "$venv/bin/python" "$here/train.py" "$tracking" promote-1) >/dev/null 2>&1 || fail "promote-1 failed"
third=$(import)

FIRST=$first SECOND=$second THIRD=$third python3 - "$base" "$admin" "$port" <<'PY'
import json, os, sys, urllib.parse, urllib.request

base, token, port = sys.argv[1], sys.argv[2], sys.argv[3]
ns = f"mlflow://127.0.0.1:{port}"

def get(path):
    req = urllib.request.Request(base + path, headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req) as r:
        return json.load(r)

def aid(kind, namespace, name):
    return f"{kind}:{namespace.replace('%', '%25').replace(':', '%3A')}:{name}"

def q(s):
    return urllib.parse.quote(s, safe="")

first, second, third = (json.loads(os.environ[k]) for k in ("FIRST", "SECOND", "THIRD"))
assert first["versions"] == 2 and first["runs"] == 2, first
assert first["assets_created"] >= 7, first
assert first["deployed"] == [aid("model", ns, "wine-quality/2") + " -> service:e2e-serving:wine-api"], first
assert not first["warnings"], first
# Nothing changed in MLflow: nothing is written. (The runs ended minutes
# ago, inside the margin for clocks, so their versions are read again.)
assert second["assets_created"] == 0 and second["assets_updated"] == 0, second
assert second["edges_written"] == 0 and second["assets_unchanged"] == 7, second
# The alias moved (MLflow keeps no timestamp of that): both versions' tags
# are brought up to date, and nothing else changes.
assert third["versions_checked"] == 2, third
assert third["assets_updated"] == 2 and third["assets_created"] == 0, third

v1, v2 = (get("/api/v1/assets/" + q(aid("model", ns, f"wine-quality/{v}"))) for v in (1, 2))
assert v1["tags"] == ["champion"] and v2["tags"] == [], (v1["tags"], v2["tags"])
assert v2["properties"]["mlflow.tags"] == {"mlgraph.service": "wine-api"}, v2["properties"]
assert v1["properties"]["param.alpha"] == "0.5" and v2["properties"]["param.alpha"] == "0.1"
assert v2["properties"]["storage_uri"].startswith("mlflow-artifacts:"), v2["properties"]

# Upstream of version 2: its run's experiment, the training data under
# OpenLineage's name for the S3 object, with the columns MLflow logged.
up = get("/api/v1/lineage/" + q(v2["id"]) + "?direction=upstream&depth=3")
train_id = aid("dataset", "s3://lake", "wine/train.parquet")
names = {n["id"] for n in up["nodes"]}
assert train_id in names and aid("workflow", ns, "wine") in names, sorted(names)
trains = [e for e in up["edges"] if e["kind"] == "trains"]
assert [e["from"] for e in trains] == [train_id], trains
table = get("/api/v1/assets/" + q(train_id))
assert [c["name"] for c in table["schema"]] == ["acidity", "alcohol", "quality"], table["schema"]

# Downstream: the evaluation with its metric, and the service.
down = get("/api/v1/lineage/" + q(v2["id"]) + "?direction=downstream&depth=1")
kinds = sorted(n["kind"] for n in down["nodes"] if n["id"] != v2["id"])
assert kinds == ["evaluation", "service"], kinds
evaluation = next(n for n in down["nodes"] if n["kind"] == "evaluation")
assert abs(get("/api/v1/assets/" + q(evaluation["id"]))["properties"]["metric.rmse"] - 0.6) < 1e-9

# The experiment's workflow shows its latest run's parameters.
wf = get("/api/v1/assets/" + q(aid("workflow", ns, "wine")))
assert wf["properties"]["mlflow.latest_run_params"] == {"alpha": "0.1"}, wf["properties"]

# The experiment's run history, as Marquez clients read it.
runs = get("/api/v1/namespaces/" + q(ns) + "/jobs/wine/runs")
assert runs["totalCount"] == 2 and {r["state"] for r in runs["runs"]} == {"COMPLETED"}, runs
print(f"mlflow import: 2 versions, {len(names)} upstream assets, evaluation and deploy edge; re-import idle; alias moved")
PY

# Limited to one experiment, into another namespace: the same two
# versions; an unknown experiment is refused by name.
limited=$(import --experiment wine --namespace e2e-limited)
echo "$limited" | python3 -c 'import json,sys; v=json.load(sys.stdin); assert v["versions"] == 2 and v["assets_created"] == 6, v' \
  || fail "--experiment wine: $limited"
if out=$(import --experiment no-such-experiment 2>&1); then fail "an unknown experiment was accepted: $out"; fi
echo "$out" | grep -q "experiment" || fail "an unknown experiment: $out"

# Bad input: named fields, nothing written.
code=$(curl -s -o "$work/err.json" -w '%{http_code}' -X POST "$base/api/v1/import/mlflow" \
  -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' -d '{"url":"http://127.0.0.1:'"$port"'","sinse":"x"}')
[ "$code" = 400 ] && grep -q sinse "$work/err.json" || fail "an unknown field: $code $(cat "$work/err.json")"
code=$(curl -s -o "$work/err.json" -w '%{http_code}' -X POST "$base/api/v1/import/mlflow" \
  -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' -d '{"url":"http://127.0.0.1:1"}')
[ "$code" = 502 ] && grep -q '"url"' "$work/err.json" || fail "an unreachable server: $code $(cat "$work/err.json")"
code=$(curl -s -o "$work/err.json" -w '%{http_code}' -X POST "$base/api/v1/import/mlflow" \
  -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' -d '{"url":"http://me:secret@127.0.0.1:'"$port"'"}')
[ "$code" = 400 ] && grep -q '"url"' "$work/err.json" || fail "credentials in the URL: $code $(cat "$work/err.json")"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$base/api/v1/import/mlflow" \
  -H 'Content-Type: application/json' -d '{"url":"http://127.0.0.1:'"$port"'"}')
[ "$code" = 401 ] || fail "an anonymous import: $code"
echo "mlflow import: bad input refused"

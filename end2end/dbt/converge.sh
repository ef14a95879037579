#!/usr/bin/env bash
# One dbt project from two sources is one graph: the project runs under
# dbt-ol (openlineage-dbt from PyPI), whose OpenLineage events reach
# mlgraph over HTTP, and then its manifest is imported with `mlgraph import
# dbt`, which names the tables from the same profiles.yml and the jobs as
# dbt-ol does. Every table and every build step must then be one asset,
# with dbt-ol's runs and the manifest's metadata on it.
#
# Usage: end2end/dbt/converge.sh BASE_URL ADMIN_TOKEN MLGRAPH_BINARY
# (DBT_VENV: a virtualenv that has dbt and dbt-ol already, else one is made.)
set -euo pipefail
base=$1
admin=$2
mlgraph=$(realpath "$3")
here=$(cd "$(dirname "$0")" && pwd)
fail() { echo "dbt convergence: $*" >&2; exit 1; }
venv=$(bash "$here/venv.sh")
work=$(mktemp -d)
if [ "$venv" = "${DBT_VENV:-}" ]; then trap 'rm -rf "$work"' EXIT; else trap 'rm -rf "$work" "$venv"' EXIT; fi

cp -r "$here/project/." "$work/"
# Another warehouse than the gate's, through the profile's env_var(), which
# dbt, dbt-ol and mlgraph all render.
export SHOP_DUCKDB=converge_shop.duckdb
export DBT_PROFILES_DIR="$work"
export OPENLINEAGE_URL="$base" OPENLINEAGE_API_KEY="$admin" OPENLINEAGE_NAMESPACE=converge
export OPENLINEAGE_DISABLED=false OPENLINEAGE_DBT_LOGGING=WARNING
# dbt-ol runs the `dbt` it finds on PATH.
run() { (cd "$work" && PATH="$venv/bin:$PATH" "$@"); }

run dbt-ol seed --no-use-colors --quiet
run dbt-ol run --no-use-colors --quiet
run dbt --quiet --no-use-colors docs generate

# What dbt-ol reported, before the import.
before=$(curl -fsS "$base/api/v1/namespaces/converge/jobs?limit=100" -H "Authorization: Bearer $admin")
echo "$before" | python3 -c '
import json, sys
names = {j["name"] for j in json.load(sys.stdin)["jobs"]}
want = {"converge_shop.main.gate_shop.stg_customers", "converge_shop.main.gate_shop.customer_contacts"}
assert want <= names, f"dbt-ol reported the jobs {sorted(names)}, not {sorted(want)}"
' || fail "dbt-ol's events did not arrive as expected"

out=$("$mlgraph" import dbt "$work/target/manifest.json" --catalog "$work/target/catalog.json" \
  --server "$base" --token "$admin")

python3 - "$base" "$admin" "$out" <<'PY' || fail "the two sources did not converge"
import json, sys, urllib.parse, urllib.request
base, token, out = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])

def get(path):
    req = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
    return json.load(urllib.request.urlopen(req))

ns = "duckdb://converge_shop.duckdb"
assert out["namespace"] == ns, out
assert out["job_namespace"] == "converge", out
# The models' datasets and jobs were there from dbt-ol: updated, not made again.
assert out["assets_updated"] >= 4, out
# dbt-ol's column lineage between the tables is not the manifest's to remove.
assert out["edges_removed"] == 0, out

jobs = {j["name"] for j in get("/api/v1/namespaces/converge/jobs?limit=100")["jobs"]}
model_jobs = {"converge_shop.main.gate_shop.stg_customers",
              "converge_shop.main.gate_shop.customer_contacts"}
# dbt-ol adds the run's parent job; the import adds the seed's step, which
# dbt-ol does not report. No job is there twice under another name.
assert jobs == model_jobs | {"converge_shop.main.gate_shop.raw_customers.seed", "dbt-run-gate_shop"}, sorted(jobs)
tables = {d["name"] for d in get("/api/v1/namespaces/" + urllib.parse.quote(ns, safe="") + "/datasets?limit=100")["datasets"]}
assert tables == {"converge_shop.main.raw_customers", "converge_shop.main.stg_customers",
                  "converge_shop.main.customer_contacts"}, sorted(tables)

# One lineage: upstream of the last model, each table has one writer.
contacts = "dataset:" + ns.replace(":", "%3A") + ":converge_shop.main.customer_contacts"
up = get("/api/v1/lineage/" + urllib.parse.quote(contacts, safe="") + "?direction=upstream")
writers = sorted(n["name"] for n in up["nodes"] if n["kind"] == "workflow")
assert writers == sorted(model_jobs | {"converge_shop.main.gate_shop.raw_customers.seed"}), writers

# The job carries both: dbt-ol's runs and the manifest's metadata.
job = "workflow:converge:converge_shop.main.gate_shop.customer_contacts"
asset = get("/api/v1/assets/" + urllib.parse.quote(job, safe=""))
assert asset["properties"].get("dbt.unique_id") == "model.gate_shop.customer_contacts", asset["properties"]
runs = get("/api/v1/namespaces/converge/jobs/" + urllib.parse.quote(asset["name"], safe="") + "/runs")
assert runs["totalCount"] >= 1, runs
print(f"dbt convergence: {len(jobs)} jobs and {len(tables)} tables, one graph from dbt-ol and the manifest")
PY

# A loader outside dbt names the seed table without its database, as SQL
# parsers often do; an alias merges the two names through the CLI.
short="dataset:duckdb%3A//converge_shop.duckdb:main.raw_customers"
full="dataset:duckdb%3A//converge_shop.duckdb:converge_shop.main.raw_customers"
curl -fsS -X POST "$base/api/v1/lineage" -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
  --data-binary '{"eventType":"COMPLETE","eventTime":"2026-12-01T10:00:00Z","producer":"https://example.com/loader",
    "schemaURL":"https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    "run":{"runId":"0190e0a6-0000-7000-8000-0000000000f1"},"job":{"namespace":"loader","name":"load_customers"},
    "inputs":[],"outputs":[{"namespace":"duckdb://converge_shop.duckdb","name":"main.raw_customers"}]}' >/dev/null
"$mlgraph" alias add "$short" "$full" --server "$base" --token "$admin" >/dev/null
"$mlgraph" alias list --server "$base" --token "$admin" | grep -q "^$short" || fail "the alias is not listed"
enc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
up=$(curl -fsS "$base/api/v1/lineage/$(enc "$full")?direction=upstream" -H "Authorization: Bearer $admin")
echo "$up" | grep -q '"load_customers"' || fail "the loader is not upstream of the seed table after the alias: $up"
same=$(curl -fsS "$base/api/v1/assets/$(enc "$short")" -H "Authorization: Bearer $admin" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
[ "$same" = "$full" ] || fail "the alias answers $same, not $full"
echo "dbt convergence: the loader's name for the seed table is an alias of dbt's"

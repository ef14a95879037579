#!/usr/bin/env bash
# The schema-change gate on a real dbt project (dbt-core and dbt-duckdb
# from PyPI in a throwaway virtualenv), as docs/CI.md runs it in a pull
# request: import the project, drop a column in a model, rebuild the
# manifest and catalog, `mlgraph check` fails naming the downstream model,
# `--open` files a change request, its owner approves it through the API,
# the check passes, and importing the merged manifest marks it applied.
#
# Usage: end2end/dbt/gate.sh BASE_URL ADMIN_TOKEN MLGRAPH_BINARY
# (DBT_VENV: a virtualenv that has them already, else one is made.)
set -euo pipefail
base=$1
admin=$2
mlgraph=$(realpath "$3")
here=$(cd "$(dirname "$0")" && pwd)
fail() { echo "dbt gate: $*" >&2; exit 1; }
venv=$(bash "$here/venv.sh")
work=$(mktemp -d)
if [ "$venv" = "${DBT_VENV:-}" ]; then trap 'rm -rf "$work"' EXIT; else trap 'rm -rf "$work" "$venv"' EXIT; fi
cp -r "$here/project/." "$work/"
export DBT_PROFILES_DIR="$work"
dbt() { (cd "$work" && "$venv/bin/dbt" --quiet --no-use-colors "$@"); }
build() { dbt seed && dbt run && dbt docs generate; }
import_project() { # the project's tables and jobs, named from its profiles.yml
  "$mlgraph" import dbt "$work/target/manifest.json" --catalog "$work/target/catalog.json" \
    --server "$base" --token "$admin"
}
api() { # METHOD PATH TOKEN [BODY]
  curl -fsS -X "$1" "$base$2" -H "Authorization: Bearer $3" -H 'Content-Type: application/json' ${4:+--data-binary "$4"}
}
json() { python3 -c "import json,sys; v=json.load(sys.stdin); print($1)"; }
check() { # expected exit code, then extra arguments
  local want=$1; shift
  set +e
  out=$("$mlgraph" check dbt "$work/target/manifest.json" --catalog "$work/target/catalog.json" \
    --server "$base" --token "$admin" "$@")
  local got=$?
  set -e
  [ "$got" = "$want" ] || fail "mlgraph check $* exited $got, not $want:
$out"
}

# 1. The project as it is on the main branch, imported.
build
ns=$(import_project | json 'v["namespace"]')
[ "$ns" = duckdb://gate_shop.duckdb ] || fail "the tables were named in $ns, not in the profile's duckdb://gate_shop.duckdb"
check 0 --format text

# 2. The pull request drops stg_customers.email.
python3 - "$work" <<'PY'
import pathlib, sys
root = pathlib.Path(sys.argv[1])
sql = root / "models/stg_customers.sql"
sql.write_text(sql.read_text().replace("    last_name,\n    email\n", "    last_name\n"))
yml = root / "models/schema.yml"
yml.write_text(yml.read_text().replace("      - name: last_name\n      - name: email\n", "      - name: last_name\n", 1))
PY
grep -q email "$work/models/stg_customers.sql" && fail "the edit did not drop the column"
build
check 1 --format markdown
echo "$out" | grep -q 'needs approval' || fail "no 'needs approval' in: $out"
echo "$out" | grep -q 'drop email' || fail "the drop is not named: $out"
echo "$out" | grep -q 'customer\\_contacts' || fail "the downstream model is not named: $out"

# 3. --open files the change request, once.
check 1 --open --url https://git.example.com/gate_shop/pull/1
check 1 --open --url https://git.example.com/gate_shop/pull/1 --format json
id=$(echo "$out" | json 'next(d["change_requests"][0]["id"] for d in v["datasets"] if d["status"] == "needs-approval")')
count=$(echo "$out" | json 'sum(len(d.get("change_requests", [])) for d in v["datasets"])')
[ "$count" = 1 ] || fail "expected one change request, found $count"
page=$(curl -fsS "$base/change?id=$id")
echo "$page" | grep -q 'https://git.example.com/gate_shop/pull/1' || fail "the change request page does not link the pull request"
echo "$page" | grep -q 'The report of the check that opened it' || fail "the change request page lacks the check's report"

# 4. Its owner approves it through the API; the check passes.
ana=$(api POST /api/v1/tokens "$admin" '{"name":"dbt-gate","user":"ana.silva"}' | json 'v["token"]')
state=$(api POST "/api/v1/change-requests/$id/approve" "$ana" '{}' | json 'v["state"]')
[ "$state" = approved ] || fail "change request $id is $state after the owner's approval"
check 0 --format markdown
echo "$out" | grep -q 'approved' || fail "the report does not say approved: $out"

# 5. The pull request merges; importing its manifest applies the request.
applied=$(import_project | json 'v["applied_change_requests"]')
[ "$applied" = "[$id]" ] || fail "the import applied $applied, not [$id]"
state=$(api GET "/api/v1/change-requests/$id" "$admin" | json 'v["state"]')
[ "$state" = applied ] || fail "change request $id is $state after the import"
check 0 --format text
echo "dbt gate: change request $id went open → approved → applied; the check failed, then passed"

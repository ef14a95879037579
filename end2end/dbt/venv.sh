#!/usr/bin/env bash
# Prints a virtualenv with dbt-core, dbt-duckdb and openlineage-dbt from
# PyPI: $DBT_VENV when it has them, else a new one in a temporary folder
# (whoever made it removes it).
set -euo pipefail
if [ -n "${DBT_VENV:-}" ] && [ -x "$DBT_VENV/bin/dbt-ol" ]; then
  echo "$DBT_VENV"
  exit 0
fi
venv=${DBT_VENV:-$(mktemp -d)}
python3 -m venv "$venv" >&2
# dbt-core 1.12 and later fetch a parser binary from GitHub at install
# time, which machines that reach only PyPI cannot do.
"$venv/bin/pip" install --quiet --disable-pip-version-check \
  "dbt-core>=1.10,<1.12" "dbt-duckdb>=1.9,<1.12" openlineage-dbt >&2
echo "$venv"

#!/usr/bin/env bash
# Prints a virtualenv with MLflow 3 from PyPI: $MLFLOW_VENV when it has it,
# else a new one in a temporary folder (whoever made it removes it).
set -euo pipefail
if [ -n "${MLFLOW_VENV:-}" ] && [ -x "$MLFLOW_VENV/bin/mlflow" ]; then
  echo "$MLFLOW_VENV"
  exit 0
fi
venv=${MLFLOW_VENV:-$(mktemp -d)}
python3 -m venv "$venv" >&2
"$venv/bin/pip" install --quiet --disable-pip-version-check "mlflow>=3,<4" >&2
echo "$venv"

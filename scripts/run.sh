#!/usr/bin/env bash
# Sets everything up, builds mlgraph and runs it at http://127.0.0.1:3000
# with the embedded database in ./data and the demo catalog.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
exec cargo leptos serve

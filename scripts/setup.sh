#!/usr/bin/env bash
# Installs what mlgraph needs to build (and, with --tests, to test), and
# nothing that is already there: the wasm target, cargo-leptos,
# wasm-bindgen-cli at the version in Cargo.lock, the npm packages in
# package-lock.json, and (for tests) Debian's Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
say() { printf '\033[1m== %s\033[0m\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

rustup target list --installed | grep -qx wasm32-unknown-unknown || { say "adding the wasm32 target"; rustup target add wasm32-unknown-unknown; }
rustup component list --installed | grep -q '^clippy' || rustup component add clippy
rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt

if [ "$(cargo leptos --version 2>/dev/null)" != "cargo-leptos 0.3.10" ]; then
  say "installing cargo-leptos 0.3.10 (about 15 minutes, once)"
  cargo install --locked cargo-leptos --version 0.3.10 --features no_downloads
fi

bindgen=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $bindgen" ]; then
  say "installing wasm-bindgen-cli $bindgen"
  # Not --locked: its lock file names a crate the registry no longer has.
  cargo install wasm-bindgen-cli --version "$bindgen"
fi

if ! cmp -s package-lock.json node_modules/.package-lock.json.installed 2>/dev/null; then
  say "installing npm packages"
  npm ci --no-audit --no-fund
  cp package-lock.json node_modules/.package-lock.json.installed
fi

# Cytoscape.js and its layered layout, served from /vendor; never committed.
mkdir -p public/vendor
for f in cytoscape/dist/cytoscape.min.js cytoscape-dagre/dist/cytoscape-dagre.min.js; do
  cmp -s "node_modules/$f" "public/vendor/$(basename "$f")" || cp "node_modules/$f" public/vendor/
done

# The OpenLineage journey installs the official Python client into a
# throwaway virtualenv, which needs Debian's venv module.
if [ "${1:-}" = "--tests" ] && ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  say "installing python3-venv (for the OpenLineage client journey)"
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv
fi
if [ "${1:-}" = "--tests" ] && ! [ -x /usr/bin/chromium ]; then
  say "installing Chromium for the browser tests"
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver
fi

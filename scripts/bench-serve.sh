# Sourced by the benchmarks that load a server (soak.sh,
# bench-wide-event.sh): seeds the demo catalog, or one of ASSETS assets,
# into a fresh SurrealKV store in $work, starts the release build `$bin` on
# `$port` with the admin token `$token`, stops it on exit, and returns once
# it answers. Sets `server` (its pid).
# Usage: bench_serve ASSETS   (0: the demo catalog)
bench_serve() {
  local assets="$1"
  rm -rf "$work"
  mkdir -p "$work"
  if [ "$assets" = 0 ]; then
    "$bin" seed-demo --db "surrealkv://$work/store" >/dev/null 2>&1
  else
    "$bin" seed-demo --db "surrealkv://$work/store" --assets "$assets" >/dev/null 2>&1
  fi
  MLGRAPH_DB="surrealkv://$work/store" MLGRAPH_DEMO=0 MLGRAPH_ADMIN_TOKEN="$token" \
    LEPTOS_SITE_ADDR="127.0.0.1:$port" LEPTOS_SITE_ROOT=target/site RUST_LOG=warn \
    "$bin" serve >"$work/server.log" 2>&1 &
  server=$!
  trap 'kill $server 2>/dev/null || true' EXIT
  for _ in $(seq 1 120); do
    curl -fsS "http://127.0.0.1:$port/api/v1/assets?limit=1" >/dev/null 2>&1 && return 0
    kill -0 $server 2>/dev/null || { cat "$work/server.log"; exit 1; }
    sleep 1
  done
  echo "mlgraph did not answer on port $port"
  exit 1
}

# Sourced by the benchmarks that compare with PostgreSQL: installs Debian's
# PostgreSQL if it is missing and starts a private cluster on $PGPORT
# (55432; data in $PGDATA, /var/tmp/mlgraph-pg), stopped again when the
# sourcing script exits. Sets PGCONN for `--postgres`.
PGPORT=${PGPORT:-55432}
PGDATA=${PGDATA:-/var/tmp/mlgraph-pg}

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq postgresql
fi
PGBIN=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")

# PostgreSQL refuses to run as root; use its own account then.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if [ ! -f "$PGDATA/PG_VERSION" ]; then
  mkdir -p "$PGDATA"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$PGDATA"
  as_pg "$PGBIN/initdb" -D "$PGDATA" -U postgres --auth=trust >/dev/null
fi
as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" \
  -o "-p $PGPORT -k /tmp -c shared_buffers=2GB -c work_mem=256MB -c max_wal_size=8GB" -w start >/dev/null
trap 'as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast stop >/dev/null' EXIT
PGCONN="host=127.0.0.1 port=$PGPORT user=postgres dbname=postgres"

#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the tests: initdb into a temporary
# folder, started on a free loopback port as a non-root user, stopped and
# removed by `stop`. PostgreSQL 15 or later must be installed (Debian's
# postgresql package); nothing is installed here.
#
#   eval "$(scripts/pg-throwaway.sh start)"   # exports GOVDECK_TEST_PG, PG_THROWAWAY_DIR
#   scripts/pg-throwaway.sh stop "$PG_THROWAWAY_DIR"
set -euo pipefail

bin_dir() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
    if [ -z "$dir" ] && command -v pg_ctl >/dev/null; then
        dir=$(dirname "$(readlink -f "$(command -v pg_ctl)")")
    fi
    if [ -z "$dir" ] || [ ! -x "$dir/initdb" ]; then
        echo "pg-throwaway: no PostgreSQL server binaries found (install Debian's postgresql package)" >&2
        exit 1
    fi
    echo "$dir"
}

# Runs a command as the cluster's owner: PostgreSQL refuses to run as root.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u "${PG_THROWAWAY_USER:-postgres}" -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start() {
    local bin dir port
    bin=$(bin_dir)
    dir=$(mktemp -d /tmp/govdeck-pg.XXXXXX)
    chmod 755 "$dir"
    if [ "$(id -u)" = 0 ]; then
        chown "${PG_THROWAWAY_USER:-postgres}" "$dir"
    fi
    port=$(free_port)
    as_owner "$bin/initdb" -D "$dir/data" -U govdeck --auth=trust --encoding=UTF8 --no-locale >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; exit 1; }
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >/dev/null ||
        { cat "$dir/server.log" >&2; exit 1; }
    echo "export PG_THROWAWAY_DIR=$dir"
    echo "export GOVDECK_TEST_PG=postgres://govdeck@127.0.0.1:$port/postgres"
}

stop() {
    local dir=${1:?usage: pg-throwaway.sh stop DIR}
    [ -d "$dir/data" ] || return 0
    as_owner "$(bin_dir)/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}

case "${1:-}" in
    start) start ;;
    stop) stop "${2:-}" ;;
    *) echo "usage: pg-throwaway.sh start | stop DIR" >&2; exit 2 ;;
esac

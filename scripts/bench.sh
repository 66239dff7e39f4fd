#!/usr/bin/env bash
# Whole-process benchmarks at the scale of the performance issue ("Fast at
# 100,000 apps and 1,000,000 audit events"): seeds a catalog, serves it on a
# free loopback port, and measures seed, full and no-change sync, the
# sqlite3-shell floor, the console in a pseudo-terminal (first frame, first
# search, RSS, bytes per cursor move, idle output), `audit verify`,
# `govdeck apps --filter` against `fzf --filter`, the divan benches at full
# size (the Merkle tree's proofs and appends among them), and the server
# under govdeck-load. Prints a table of medians against
# the targets; BENCHMARKS.md holds a run of it.
#
#   scripts/bench.sh                      # 100k apps, 1M events (~15 min on 2 cores)
#   BENCH_APPS=2000 BENCH_EVENTS=20000 scripts/bench.sh   # a quick try
#
# Knobs (environment): BENCH_APPS, BENCH_EVENTS, BENCH_RUNS (repeats of the
# short commands, default 7), BENCH_SEED_RUNS and BENCH_SYNC_RUNS (default 3),
# BENCH_CONSOLE_RUNS (default 10), BENCH_DIVAN=0 to skip the cargo benches,
# BENCH_LOAD_SECS (default 60; 0 skips the load runs), BENCH_STATUS_RPS (the
# status API's rate in the second load run, default 500; 0 skips it), BENCH_DIR (default
# target/bench-run; emptied first). Installs fzf and sqlite3 from Debian and
# pyte from PyPI when missing. Everything listens on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

APPS=${BENCH_APPS:-100000}
EVENTS=${BENCH_EVENTS:-1000000}
RUNS=${BENCH_RUNS:-7}
SEED_RUNS=${BENCH_SEED_RUNS:-3}
SYNC_RUNS=${BENCH_SYNC_RUNS:-3}
CONSOLE_RUNS=${BENCH_CONSOLE_RUNS:-10}
DIVAN=${BENCH_DIVAN:-1}
LOAD_SECS=${BENCH_LOAD_SECS:-60}
STATUS_RPS=${BENCH_STATUS_RPS:-500}
WORK=${BENCH_DIR:-$ROOT/target/bench-run}
RESULTS=$WORK/results.json
QUERIES=(s budge "sales q")

say() { printf '\n== %s (%s UTC)\n' "$*" "$(date -u +%H:%M:%S)"; }
measure() { python3 "$ROOT/scripts/bench_measure.py" --results "$RESULTS" "$@"; }

say "tools"
missing=()
command -v fzf >/dev/null || missing+=(fzf)
command -v sqlite3 >/dev/null || missing+=(sqlite3)
if ((${#missing[@]})); then
    echo "installing ${missing[*]} from Debian"
    apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
fi
python3 -c 'import pyte' 2>/dev/null || python3 -m pip install --quiet pyte
echo "fzf $(fzf --version | cut -d' ' -f1), sqlite3 $(sqlite3 --version | cut -d' ' -f1), $(python3 --version)"

say "machine"
MACHINE="$(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(free -h | awk '/^Mem:/ {print $2}') memory"
echo "$MACHINE"

say "build (release)"
cargo build --release --locked --bins
BIN=$ROOT/target/release/govdeck
LOAD=$ROOT/target/release/govdeck-load

rm -rf "$WORK"
mkdir -p "$WORK/config"
measure put --name machine "$(python3 -c 'import json,sys; print(json.dumps({"text": sys.argv[1], "apps": int(sys.argv[2]), "events": int(sys.argv[3])}))' "$MACHINE" "$APPS" "$EVENTS")"

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
SERVER_PID=
cleanup() {
    if [[ -n $SERVER_PID ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
}
trap cleanup EXIT

say "seed: $APPS apps, $EVENTS events ($SEED_RUNS runs)"
measure time --name seed --runs "$SEED_RUNS" --before "rm -f '$WORK'/seed.db*" \
    --parse 'in ([0-9.]+) s' --label "govdeck seed --db seed.db --apps $APPS --events $EVENTS" \
    -- "$BIN" seed --db "$WORK/seed.db" --apps "$APPS" --events "$EVENTS"
for f in "$WORK"/seed.db*; do mv "$f" "${f/seed.db/server.db}"; done
DB=$WORK/server.db

TOKEN=$("$BIN" users add bench-reviewer --role reviewer --db "$DB")
say "serve on $URL"
"$BIN" serve --db "$DB" --listen "127.0.0.1:$PORT" >"$WORK/serve.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
    curl -sf "$URL/v1/health" >/dev/null && break
    sleep 0.2
done
curl -sf "$URL/v1/health" >/dev/null || { cat "$WORK/serve.log"; exit 1; }
# Let the lifecycle job's first pass finish before anything is timed.
sleep 2

CLIENT=(--env "GOVDECK_SERVER=$URL" --env "GOVDECK_TOKEN=$TOKEN" --env "GOVDECK_CONFIG_DIR=$WORK/config")

say "full initial sync ($SYNC_RUNS runs, each into an empty cache)"
measure time --name full_sync --runs "$SYNC_RUNS" --before "rm -rf '$WORK/cache'" \
    "${CLIENT[@]}" --env "GOVDECK_CACHE_DIR=$WORK/cache" --parse 'in ([0-9.]+) s' \
    --label "govdeck sync (empty cache)" -- "$BIN" sync
CACHE_DB=$(ls "$WORK"/cache/*.sqlite)

say "no-change sync ($((RUNS * 2)) runs)"
measure time --name nochange_sync --runs $((RUNS * 2)) --warmup 1 \
    "${CLIENT[@]}" --env "GOVDECK_CACHE_DIR=$WORK/cache" --parse 'in ([0-9.]+) s' \
    --label "govdeck sync (warm cache, nothing changed)" -- "$BIN" sync

say "floor: the sqlite3 shell loads the same rows"
sqlite3 "$CACHE_DB" .dump >"$WORK/cache-dump.sql"
ls -l "$WORK/cache-dump.sql"
measure time --name sqlite_floor --runs 3 --before "rm -f '$WORK'/floor.db*" --stdin "$WORK/cache-dump.sql" \
    --label "sqlite3 floor.db < cache-dump.sql (.dump of the synced cache: same schema, one transaction, indexes last)" \
    -- sqlite3 "$WORK/floor.db"
rm -f "$WORK"/floor.db* "$WORK/cache-dump.sql"

say "audit verify of the server database ($RUNS runs)"
measure time --name verify --runs "$RUNS" --parse 'in ([0-9.]+) s' \
    --label "govdeck audit verify --db server.db" -- "$BIN" audit verify --db "$DB"

say "govdeck apps --filter vs fzf --filter over the same lines ($RUNS runs each)"
env GOVDECK_SERVER="$URL" GOVDECK_TOKEN="$TOKEN" GOVDECK_CONFIG_DIR="$WORK/config" GOVDECK_CACHE_DIR="$WORK/cache" \
    "$BIN" apps >"$WORK/apps.txt"
wc -l "$WORK/apps.txt"
for q in "${QUERIES[@]}"; do
    measure time --name "apps_filter_$q" --runs "$RUNS" --warmup 1 --stdout /dev/null \
        "${CLIENT[@]}" --env "GOVDECK_CACHE_DIR=$WORK/cache" \
        --label "govdeck apps --filter '$q'" -- "$BIN" apps --filter "$q"
    measure time --name "fzf_filter_$q" --runs "$RUNS" --warmup 1 --stdin "$WORK/apps.txt" --stdout /dev/null \
        --label "fzf --filter '$q' < apps.txt" -- fzf --filter "$q"
done
measure put --name fzf_queries "$(python3 -c 'import json,sys; print(json.dumps({"queries": sys.argv[1:]}))' "${QUERIES[@]}")"

say "console in a pseudo-terminal, warm cache ($CONSOLE_RUNS runs)"
measure console --runs "$CONSOLE_RUNS" "${CLIENT[@]}" --env "GOVDECK_CACHE_DIR=$WORK/cache" --env TERM=xterm-256color \
    --label "govdeck (console) in a 120x40 pty, warm cache" -- "$BIN"

say "console in a pseudo-terminal, empty cache: memory during its full sync"
measure cold "${CLIENT[@]}" --env "GOVDECK_CACHE_DIR=$WORK/cache-cold" --env TERM=xterm-256color \
    --cache-glob "$WORK/cache-cold/*.sqlite" --label "govdeck (console) in a 120x40 pty, empty cache" -- "$BIN"
rm -rf "$WORK/cache-cold"

if [[ $DIVAN == 1 ]]; then
    say "cargo bench at $APPS apps / $EVENTS events"
    for bench in cache console filter keystrokes merkle; do
        GOVDECK_BENCH_APPS=$APPS GOVDECK_BENCH_EVENTS=$EVENTS cargo bench --locked --bench "$bench" 2>&1 |
            tee "$WORK/bench-$bench.log"
        if [[ $bench == keystrokes ]]; then
            measure put --name keystrokes "$(sed -n 's/^KEYSTROKES_JSON //p' "$WORK/bench-keystrokes.log")"
        else
            measure divan --bench "$bench" --log "$WORK/bench-$bench.log"
        fi
    done
fi

if [[ -x $LOAD && $LOAD_SECS != 0 ]]; then
    say "server: govdeck-load, 50 clients, ${LOAD_SECS} s"
    # Deciders (reviewers, leads) and owners of the seeded apps, one token each.
    TOKENS=$WORK/tokens.txt
    : >"$TOKENS"
    for i in $(seq 8); do echo "load-reviewer-$i $("$BIN" users add "load-reviewer-$i" --role reviewer --db "$DB")" >>"$TOKENS"; done
    for i in $(seq 2); do echo "load-lead-$i $("$BIN" users add "load-lead-$i" --role lead --db "$DB")" >>"$TOKENS"; done
    sqlite3 "$DB" "SELECT owner FROM apps GROUP BY owner ORDER BY COUNT(*) DESC, owner LIMIT 40" |
        while read -r owner; do echo "$owner $("$BIN" users add "$owner" --role owner --db "$DB")" >>"$TOKENS"; done
    if "$LOAD" --server "$URL" --tokens "$TOKENS" --clients 50 --duration-secs "$LOAD_SECS" --json \
        >"$WORK/load.json" 2>"$WORK/load.err"; then :; else echo "govdeck-load exited $? (see $WORK/load.err)"; fi
    cat "$WORK/load.err" | tail -5
    if [[ -s $WORK/load.json ]]; then
        measure put --name load "$(python3 -c '
import json, sys
summary = json.load(open(sys.argv[1]))
summary["command"] = "govdeck-load --clients 50 --duration-secs " + sys.argv[2] + " (8 reviewers, 2 leads, 40 owners)"
print(json.dumps(summary))' "$WORK/load.json" "$LOAD_SECS")"
    fi
    if [[ $STATUS_RPS != 0 ]]; then
        say "server: the status API at $STATUS_RPS/s beside the same 50 clients, ${LOAD_SECS} s"
        STATUS_TOKENS=$WORK/status-tokens.txt
        echo "load-gate $("$BIN" users add load-gate --role platform --db "$DB")" >"$STATUS_TOKENS"
        if "$LOAD" --server "$URL" --tokens "$TOKENS" --clients 50 --duration-secs "$LOAD_SECS" --json \
            --status-rps "$STATUS_RPS" --status-tokens "$STATUS_TOKENS" \
            >"$WORK/load-status.json" 2>"$WORK/load-status.err"; then :; else
            echo "govdeck-load exited $? (see $WORK/load-status.err)"
        fi
        tail -5 "$WORK/load-status.err"
        if [[ -s $WORK/load-status.json ]]; then
            measure put --name load_status "$(python3 -c '
import json, sys
summary = json.load(open(sys.argv[1]))
summary["command"] = "govdeck-load --clients 50 --status-rps " + sys.argv[3] + " --duration-secs " + sys.argv[2]
print(json.dumps(summary))' "$WORK/load-status.json" "$LOAD_SECS" "$STATUS_RPS")"
        fi
    fi
else
    measure put --name load_note '{"note": "src/bin/govdeck-load.rs not built or BENCH_LOAD_SECS=0: skipped"}'
fi

say "results ($APPS apps, $EVENTS events; $MACHINE)"
measure report | tee "$WORK/report.md"
echo "raw figures: $RESULTS"

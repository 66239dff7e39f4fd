#!/usr/bin/env bash
# Load test of the catalog server, on this machine only (127.0.0.1).
#
# Builds the release binaries, seeds a server database (APPS apps, EVENTS
# audit events), adds 10 reviewers and 40 owners with `govdeck users add`,
# serves it on 127.0.0.1:PORT, runs `govdeck-load` with CLIENTS clients for
# DURATION seconds, stops the server and runs `govdeck audit verify`.
# Exits non-zero when the generator saw any error or the chain does not verify.
# STATUS_RPS=N also asks the status API N times a second beside the clients,
# with the token of a `platform` user (and /v1/health at N/10 as the anchor).
# THINK_MS pauses each client between its sync loops (0: none, the worst case).
#
#   scripts/load.sh                      # 60 s, 50 clients, 10,000 apps, 100,000 events
#   DURATION=10 APPS=1000 EVENTS=10000 scripts/load.sh
#   STATUS_RPS=500 scripts/load.sh       # the status API at 500/s beside 50 syncing clients
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${PORT:-18470}"
DURATION="${DURATION:-60}"
CLIENTS="${CLIENTS:-50}"
APPS="${APPS:-10000}"
EVENTS="${EVENTS:-100000}"
REVIEWERS="${REVIEWERS:-10}"
OWNERS="${OWNERS:-40}"
STATUS_RPS="${STATUS_RPS:-0}"
THINK_MS="${THINK_MS:-0}"
KEEP="${KEEP:-}" # set to keep the work directory

work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [[ -z "$KEEP" ]]; then rm -rf "$work"; else echo "work directory kept: $work"; fi
}
trap cleanup EXIT

echo "== build (release)"
cargo build --release --locked --bin govdeck --bin govdeck-load
govdeck="${CARGO_TARGET_DIR:-target}/release/govdeck"
load="${CARGO_TARGET_DIR:-target}/release/govdeck-load"
db="$work/load.db"

echo "== seed $APPS apps, $EVENTS events"
"$govdeck" seed --db "$db" --apps "$APPS" --events "$EVENTS"

echo "== users: $REVIEWERS reviewers, $OWNERS owners"
tokens="$work/tokens.txt"
: >"$tokens"
chmod 600 "$tokens"
for n in $(seq -w 1 "$REVIEWERS"); do
    echo "load-reviewer$n $("$govdeck" users add "load-reviewer$n" --role reviewer --db "$db")" >>"$tokens"
done
for n in $(seq -w 1 "$OWNERS"); do
    echo "load-owner$n $("$govdeck" users add "load-owner$n" --role owner --db "$db")" >>"$tokens"
done

status_args=()
if [[ "$STATUS_RPS" -gt 0 ]]; then
    status_tokens="$work/status-tokens.txt"
    echo "load-gate $("$govdeck" users add load-gate --role platform --db "$db")" >"$status_tokens"
    chmod 600 "$status_tokens"
    status_args=(--status-rps "$STATUS_RPS" --status-tokens "$status_tokens")
fi

echo "== serve on 127.0.0.1:$PORT"
GOVDECK_LOG=warn "$govdeck" serve --db "$db" --listen "127.0.0.1:$PORT" >"$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$PORT/v1/health" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
        cat "$work/serve.log"
        echo "the server did not start" >&2
        exit 1
    fi
    sleep 0.1
done
curl -fsS "http://127.0.0.1:$PORT/v1/health" >/dev/null

echo "== govdeck-load: $CLIENTS clients for $DURATION s"
status=0
"$load" --server "http://127.0.0.1:$PORT" --tokens "$tokens" --clients "$CLIENTS" --duration-secs "$DURATION" \
    --think-ms "$THINK_MS" "${status_args[@]}" || status=$?

echo "== stop the server"
kill -TERM "$server_pid"
wait "$server_pid" || true
server_pid=""
if grep -qiE "error|panick" "$work/serve.log"; then
    echo "server log:"
    grep -iE "error|panick" "$work/serve.log" | head -20
fi

echo "== audit verify"
"$govdeck" audit verify --db "$db" || status=$?

if [[ "$status" -ne 0 ]]; then
    echo "load test FAILED (status $status)" >&2
else
    echo "load test passed: no errors, audit chain intact"
fi
exit "$status"

#!/usr/bin/env bash
# Property-based API testing of the catalog server against its own OpenAPI
# document, with schemathesis, on this machine only (127.0.0.1).
#
# Installs schemathesis from PyPI into a venv (VENV, reused when present),
# builds govdeck, seeds a small catalog, adds one user holding every role
# (but `platform`, which is held alone),
# serves it on 127.0.0.1:PORT and runs `schemathesis run` on
# /v1/openapi.json with that user's token. Checks: no 5xx
# (not_a_server_error), every answer matches its documented schema
# (response_schema_conformance), every status is documented
# (status_code_conformance) and every answer is JSON as documented
# (content_type_conformance). Bounded by MAX_EXAMPLES per operation and
# MAX_SECONDS in all. Exits non-zero on any failure.
#
#   scripts/schemathesis.sh                        # 50 examples per operation
#   MAX_EXAMPLES=20 PROFILE=debug scripts/schemathesis.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${PORT:-18471}"
VENV="${VENV:-target/schemathesis-venv}"
SCHEMATHESIS_VERSION="${SCHEMATHESIS_VERSION:-4.32.5}"
MAX_EXAMPLES="${MAX_EXAMPLES:-50}"
MAX_SECONDS="${MAX_SECONDS:-600}"
SEED="${SEED:-20260302}"
PROFILE="${PROFILE:-release}" # or debug, to reuse the test build
CHECKS="${CHECKS:-not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance}"

work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

echo "== schemathesis $SCHEMATHESIS_VERSION in $VENV"
if [[ ! -x "$VENV/bin/schemathesis" ]] || ! "$VENV/bin/schemathesis" --version | grep -q "$SCHEMATHESIS_VERSION"; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
"$VENV/bin/schemathesis" --version

echo "== build ($PROFILE)"
if [[ "$PROFILE" == "release" ]]; then
    cargo build --release --locked --bin govdeck
else
    cargo build --locked --bin govdeck
fi
govdeck="${CARGO_TARGET_DIR:-target}/$PROFILE/govdeck"
db="$work/schemathesis.db"

echo "== seed a small catalog and a user with every role"
"$govdeck" seed --db "$db" --apps 50 --events 500
token="$("$govdeck" users add schemathesis --role reviewer --role lead --role owner --role ingest --role admin --role auditor --db "$db")"

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

echo "== schemathesis run (checks: $CHECKS; $MAX_EXAMPLES examples per operation; at most $MAX_SECONDS s)"
status=0
timeout --signal=INT "$MAX_SECONDS" "$VENV/bin/schemathesis" run "http://127.0.0.1:$PORT/v1/openapi.json" \
    --header "Authorization: Bearer $token" \
    --checks "$CHECKS" \
    --max-examples "$MAX_EXAMPLES" \
    --seed "$SEED" \
    --workers 2 \
    --request-timeout 30 \
    --suppress-health-check too_slow,filter_too_much \
    --report junit --report-dir "$work/report" \
    --no-color || status=$?
if [[ "$status" -eq 124 ]]; then
    echo "schemathesis did not finish within $MAX_SECONDS s" >&2
fi
if grep -qiE "panick" "$work/serve.log"; then
    echo "the server panicked:" >&2
    grep -iE -A5 "panick" "$work/serve.log" | head -40 >&2
    status=1
fi
exit "$status"

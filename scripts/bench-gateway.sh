#!/usr/bin/env bash
# Load benchmark of the gateway on PostgreSQL with wrk (Debian package `wrk`).
#   ./scripts/bench-gateway.sh            # results on stdout; copy them into docs/BENCHMARKS.md
# Starts `pricealert gateway` (release build) on a fresh database, creates one user with 20 alerts,
# then measures GET /alerts, POST /alerts, 1,000 connections, and /health while logins hash.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-15s}
PORT=${PORT:-18000}
ADMIN_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
DB=pa_bench_$$
BASE=http://127.0.0.1:$PORT
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/pricealert-target}

cargo build --release -q -p pricealert
psql "$ADMIN_URL" -qc "create database $DB"
cleanup() {
    [ -n "${GATEWAY_PID:-}" ] && kill "$GATEWAY_PID" 2>/dev/null && wait "$GATEWAY_PID" 2>/dev/null || true
    psql "$ADMIN_URL" -qc "drop database if exists $DB" || true
}
trap cleanup EXIT

ulimit -n 65536 2>/dev/null || true
DATABASE_URL="${ADMIN_URL%/*}/$DB" JWT_SECRET=bench-secret-bench-secret-bench-secret-0000 \
GATEWAY_HOST=127.0.0.1 GATEWAY_PORT=$PORT LOG_LEVEL=error \
API_RATE_LIMIT_PER_SECOND=10000000 LOGIN_RATE_LIMIT_PER_MINUTE=10000000 MAX_ACTIVE_ALERTS_PER_USER=100000000 \
DATABASE_MAX_CONNECTIONS=${DATABASE_MAX_CONNECTIONS:-16} \
GATEWAY_MAX_CONNECTIONS_PER_ADDRESS=100000 GATEWAY_MAX_IN_FLIGHT_PER_ADDRESS=100000 \
    "$CARGO_TARGET_DIR/release/pricealert" gateway &
GATEWAY_PID=$!
for _ in $(seq 1 100); do curl -sf "$BASE/health" >/dev/null && break; sleep 0.2; done

export EMAIL=bench@example.com PASSWORD='bench password 123'
curl -sf -X POST "$BASE/auth/register" -H 'Content-Type: application/json' \
    -d "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" >/dev/null
export TOKEN=$(curl -sf -X POST "$BASE/auth/login" -d "username=$EMAIL&password=$PASSWORD" | jq -r .access_token)
for i in $(seq 1 20); do
    curl -sf -X POST "$BASE/alerts" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
        -d "{\"symbol\":\"ETH\",\"condition\":\"below\",\"target_price\":$i.5}" >/dev/null
done
[ "$(curl -sf "$BASE/alerts" -H "Authorization: Bearer $TOKEN" | jq length)" = 20 ]

run() { echo; echo "### $1"; shift; wrk --latency "$@" | grep -E 'Requests/sec|Latency|50%|99%|Non-2xx|Socket errors|requests in'; }

run "GET /alerts (20 alerts), 64 connections" -t2 -c64 -d"$DURATION" -H "Authorization: Bearer $TOKEN" "$BASE/alerts"
run "GET /alerts (20 alerts), 1000 connections" -t2 -c1000 -d"$DURATION" --timeout 5s -H "Authorization: Bearer $TOKEN" "$BASE/alerts"
run "POST /alerts, 64 connections" -t2 -c64 -d"$DURATION" -s scripts/bench/post_alert.lua "$BASE/alerts"

echo; echo "### GET /health while 8 connections log in continuously (every login hashes)"
wrk -t1 -c8 -d"$DURATION" -s scripts/bench/login.lua "$BASE/auth/login" > /tmp/pa-bench-login.txt &
LOGIN_PID=$!
sleep 1
wrk --latency -t1 -c16 -d"$DURATION" "$BASE/health" | grep -E 'Requests/sec|Latency|50%|99%|Non-2xx|Socket errors'
wait "$LOGIN_PID"
echo "logins during that time:"; grep -E 'Requests/sec|Non-2xx' /tmp/pa-bench-login.txt

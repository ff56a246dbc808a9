#!/usr/bin/env bash
# Issue 19's realistic API benchmark on PostgreSQL, side by side with pgbench in the same run.
#   ./scripts/bench-api.sh            # results on stdout; copy them into docs/BENCHMARKS.md
# Needs wrk, pgbench, psql, python3 (token minting). Seeds 10,000 users with 0–20 alerts each
# (user n has n mod 21; ~100,000 alerts) straight into a fresh database, mints each a token with
# the gateway's key (logins would hash 10,000 passwords), then measures with 64 connections:
#   1. the mix: 80 % GET /alerts, 15 % POST /alerts, 5 % PATCH/DELETE, a random user's token per
#      request, list cache on (the default);
#   2. GET /alerts alone with the list cache off, against pgbench running the gateway's query;
#   3. POST /alerts alone, against pgbench running the gateway's insert with its quota check;
#      each of 2 and 3 alternates with its pgbench run ROUNDS times (3 by default);
#   4. the mix again, list cache off.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-15}
CONNECTIONS=${CONNECTIONS:-64}
PORT=${PORT:-18000}
POOL=${DATABASE_MAX_CONNECTIONS:-16}
# The list cache of the first run, the mix (the product's default: 10,000 ms).
MIX_CACHE_MS=${MIX_CACHE_MS:-10000}
ADMIN_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
DB=pa_bench_api_$$
DB_URL="${ADMIN_URL%/*}/$DB"
BASE=http://127.0.0.1:$PORT
SECRET=bench-secret-bench-secret-bench-secret-0000
WORK=$(mktemp -d)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/pricealert-target}
# GATEWAY_LOG_LEVEL=warn: the gateway's log level (error by default), to read what it warns of
# under load. PRICEALERT_BIN=path: measure that binary (e.g. an older commit's, for a before/after run).
if [ -z "${PRICEALERT_BIN:-}" ]; then
    cargo build --release -q -p pricealert
    PRICEALERT_BIN=$CARGO_TARGET_DIR/release/pricealert
fi
# The list's ceiling on our stack (gateway/benches/list_ceiling.rs), run beside the gateway.
CEILING_BIN=$(cargo bench -q -p gateway --bench list_ceiling --no-run --message-format=json |
    python3 -c 'import json, sys; print([m["executable"] for m in map(json.loads, sys.stdin) if m.get("executable")][-1])')
psql "$ADMIN_URL" -qc "create database $DB"
cleanup() {
    stop_gateway
    psql "$ADMIN_URL" -qc "drop database if exists $DB" || true
    rm -rf "$WORK"
}
stop_gateway() {
    if [ -n "${CEILING_PID:-}" ]; then
        kill "$CEILING_PID" 2>/dev/null && wait "$CEILING_PID" 2>/dev/null || true
        CEILING_PID=
    fi
    if [ -n "${GATEWAY_PID:-}" ]; then
        kill "$GATEWAY_PID" 2>/dev/null && wait "$GATEWAY_PID" 2>/dev/null || true
        GATEWAY_PID=
    fi
}
trap cleanup EXIT
ulimit -n 65536 2>/dev/null || true

# start_gateway CACHE_MS: the release gateway alone on the bench database.
start_gateway() {
    DATABASE_URL=$DB_URL JWT_SECRET=$SECRET GATEWAY_HOST=127.0.0.1 GATEWAY_PORT=$PORT LOG_LEVEL=${GATEWAY_LOG_LEVEL:-error} \
    API_RATE_LIMIT_PER_SECOND=10000000 DATABASE_MAX_CONNECTIONS=$POOL ALERT_LIST_CACHE_MS=$1 \
    GATEWAY_MAX_CONNECTIONS_PER_ADDRESS=100000 GATEWAY_MAX_IN_FLIGHT_PER_ADDRESS=100000 \
        ${GATEWAY_WRAPPER:-} "$PRICEALERT_BIN" gateway &
    GATEWAY_PID=$!
    for _ in $(seq 1 300); do curl -sf "$BASE/health" >/dev/null && return; sleep 0.2; done
    echo "the gateway did not start" >&2
    exit 1
}

start_gateway "$MIX_CACHE_MS" # runs the migrations
psql -q "$DB_URL" <<'SQL'
insert into users (id, email, password_hash, is_active, created_at, updated_at)
select u, 'bench' || u || '@example.com', 'not-a-hash', true, now(), now()
from generate_series(1, 10000) u;
select setval('users_id_seq', 10000);
insert into alerts (user_id, symbol, condition, target_price, notification_types,
                    cooldown_minutes, active, created_at, updated_at)
select u, (array['BTC','ETH','SOL','ADA','XRP','DOGE','DOT','AVAX','LINK','LTC'])[1 + (u + k) % 10],
       'above', 1000 + k + 0.5, 'email', 60, true, now(), now()
from generate_series(1, 10000) u, generate_series(1, 20) k where k <= u % 21;
update users set active_alerts_bound =
    (select count(*) from alerts where alerts.user_id = users.id and alerts.active);
vacuum analyze;
SQL
# users_file: each user's token and current alerts, for the load client (DELETEs walk them).
users_file() {
    psql -At -F ' ' "$DB_URL" -c "select u.id, coalesce(string_agg(a.id::text, ',' order by a.id), '')
        from users u left join alerts a on a.user_id = u.id group by u.id order by u.id" > "$WORK/alerts.txt"
    python3 - "$SECRET" "$WORK/alerts.txt" "$WORK/users.txt" <<'PY'
import base64, hashlib, hmac, json, sys, time
secret, source, target = sys.argv[1].encode(), sys.argv[2], sys.argv[3]
b64 = lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=")
header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
now = int(time.time())
with open(source) as rows, open(target, "w") as out:
    for row in rows:
        user, _, alerts = row.rstrip("\n").partition(" ")
        claims = {"sub": user, "iat": now, "exp": now + 7200, "iss": "pricealert",
                  "aud": "pricealert-api", "gen": 0}
        signed = header + b"." + b64(json.dumps(claims).encode())
        token = signed + b"." + b64(hmac.new(secret, signed, hashlib.sha256).digest())
        out.write(f"{user} {token.decode()} {alerts}\n")
PY
}
users_file
echo "seeded: $(psql -At "$DB_URL" -c 'select count(*) from users') users, $(psql -At "$DB_URL" -c 'select count(*) from alerts') alerts"
export USERS_FILE=$WORK/users.txt WRK_THREADS=2
first_token=$(head -1 "$WORK/users.txt" | cut -d' ' -f2)
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $first_token" "$BASE/alerts")" = 200 ]

# WARMUP=seconds (3 by default) of the same load before each measured run, not counted: the
# gateway just started, and its user cache (the account behind each token, kept 60 s) would
# otherwise make the first 10,000 requests read their account too, a start-up cost the steady
# state pays once a minute per user. pgbench gets the same warm-up.
WARMUP=${WARMUP:-3}
wrk_run() { # TITLE MIX_GET MIX_POST
    echo; echo "### $1"
    if [ "$WARMUP" -gt 0 ]; then
        users_file
        MIX_GET=$2 MIX_POST=$3 wrk -t2 -c"$CONNECTIONS" -d"${WARMUP}s" -s scripts/bench/api_mix.lua "$BASE" >/dev/null
    fi
    users_file
    if [ -n "${PROFILE:-}" ]; then # PROFILE=dir: a perf profile of the gateway per run
        mkdir -p "$PROFILE"
        perf record -q -F 499 -g -p "$GATEWAY_PID" -o "$PROFILE/$2-$3.data" -- sleep "$DURATION" >/dev/null 2>&1 &
    fi
    MIX_GET=$2 MIX_POST=$3 wrk --latency -t2 -c"$CONNECTIONS" -d"${DURATION}s" -s scripts/bench/api_mix.lua "$BASE" |
        grep -E 'Requests/sec|Latency  |50%|90%|99%|Non-2xx|Socket errors|requests in'
}
# The gateway's own latency by route since it started (its histogram, interpolated within
# buckets): where the wrk figures' tail comes from.
server_latency() {
    echo "server side, by route (gateway_http_latency_seconds):"
    curl -s "$BASE/metrics" | python3 -c '
import re, sys
buckets = {}
for line in sys.stdin:
    m = re.match(r"gateway_http_latency_seconds_bucket\{(.*)\} (\S+)", line)
    if m:
        labels = dict(re.findall(r"(\w+)=\"([^\"]*)\"", m.group(1)))
        le = float("inf") if labels["le"] == "+Inf" else float(labels["le"])
        buckets.setdefault((labels["method"], labels["endpoint"]), []).append((le, float(m.group(2))))
def quantile(q, rows):
    total, lower, below = rows[-1][1], 0.0, 0.0
    for le, count in rows:
        if count >= q * total:
            return lower if le == float("inf") else lower + (le - lower) * (q * total - below) / max(count - below, 1)
        lower, below = le, count
for (method, endpoint), rows in sorted(buckets.items()):
    rows.sort()
    if rows[-1][1] >= 100:
        print(f"  {method} {endpoint}: {int(rows[-1][1])} requests, p50 {quantile(0.5, rows) * 1e3:.1f} ms, p99 {quantile(0.99, rows) * 1e3:.1f} ms")
'
}
# pgbench_run TITLE SCRIPT CLIENTS: its rate, and its latency percentiles from the per-transaction
# log (`-l`), to set beside wrk's: what PostgreSQL alone gives at the same concurrency.
pgbench_run() {
    echo; echo "### pgbench: $1, $3 clients"
    [ "$WARMUP" -le 0 ] || pgbench -n -M prepared -c "$3" -j 2 -T "$WARMUP" -f "$2" "$DB_URL" >/dev/null 2>&1
    rm -f "$WORK"/pgbench_log.*
    pgbench -n -M prepared -c "$3" -j 2 -T "$DURATION" -r -l --log-prefix="$WORK/pgbench_log" -f "$2" "$DB_URL" 2>&1 |
        grep -E 'tps = |latency average|latency stddev'
    cat "$WORK"/pgbench_log.* | python3 -c '
import sys
took = sorted(int(line.split()[2]) for line in sys.stdin)  # microseconds, the third field
at = lambda q: took[min(len(took) - 1, int(q * len(took)))] / 1000
print(f"latency p50 {at(0.5):.2f} ms, p99 {at(0.99):.2f} ms ({len(took)} transactions)")'
}
# pgbench's script for the gateway's create: the statement `create_alert` runs within the bound,
# with a real payload (caught on its way through the outbox, which the relay empties at once).
psql -q "$DB_URL" <<'SQL'
create table bench_payload (payload text);
create function bench_keep_payload() returns trigger language plpgsql as
    $$ begin insert into bench_payload values (new.payload); return new; end $$;
create trigger bench_keep_payload after insert on alert_change_outbox
    for each row execute function bench_keep_payload();
SQL
curl -sf -X POST "$BASE/alerts" -H "Authorization: Bearer $first_token" -H 'Content-Type: application/json' \
    -d '{"symbol":"ETH","condition":"above","target_price":1.5}' >/dev/null
payload=$(psql -At "$DB_URL" -c "select payload from bench_payload limit 1")
psql -q "$DB_URL" -c "drop trigger bench_keep_payload on alert_change_outbox; drop function bench_keep_payload(); drop table bench_payload"
[ -n "$payload" ]
columns="id, user_id, symbol, condition, target_price, target_price_high, notification_types, cooldown_minutes, active, options, triggered_count, last_triggered_at, rearm_wait, version, created_at"
cat > "$WORK/list.sql" <<SQL
\set uid random(1, 10000)
select $columns from alerts where user_id = :uid order by id desc limit 50 offset 0;
SQL
cat > "$WORK/create.sql" <<SQL
\set uid random(1, 10000)
\set price random(1, 100000)
with slot as (update users set active_alerts_bound = active_alerts_bound + 1 where id = :uid and active_alerts_bound < 100 returning id), created as (insert into alerts (user_id, symbol, condition, target_price, target_price_high, notification_types, cooldown_minutes, active, options, triggered_count, version, created_at, updated_at) select slot.id, 'ETH', 'above', :price + 0.5, null, 'email', 60, true, '{}'::jsonb, 0, 1, now(), now() from slot returning $columns), announced as (insert into alert_change_outbox (message_key, payload, created_at) select created.symbol, jsonb_set('$payload'::jsonb, '{alert,id}', to_jsonb(created.id))::text, now() from created) select $columns from created;
SQL

if [ -n "${HOLD:-}" ]; then # HOLD=1: keep the seeded database and a gateway (cache off) for manual runs
    stop_gateway; start_gateway 0
    echo "held: DB_URL=$DB_URL BASE=$BASE USERS_FILE=$USERS_FILE GATEWAY_PID=$GATEWAY_PID; kill $$ to end"
    wait "$GATEWAY_PID"
fi

# pgbench's creates queue a change each, as the gateway's do, and the gateway relays them in
# the background; a write waits for the relay in progress, so the next run waits until they
# are out (left in, they added up to a second to the last mix's p99).
drain_outbox() {
    local backlog start
    backlog=$(psql -At "$DB_URL" -c 'select count(*) from alert_change_outbox')
    start=$(date +%s%N)
    for _ in $(seq 1 1200); do
        [ "$(psql -At "$DB_URL" -c 'select count(*) from alert_change_outbox')" = 0 ] && break
        sleep 0.1
    done
    echo "pgbench left $backlog changes in the outbox; relayed in $(( ($(date +%s%N) - start) / 1000000 )) ms"
}

# CALLGRIND=n: instructions per request instead of the rest, counted by valgrind's callgrind,
# which repeats to within a fraction of a percent whatever else the machine does (the other
# runs here move by tens of percent). For PRICEALERT_BIN, then AGAINST_BIN if set: the gateway
# under callgrind, list cache off; every one of 200 users reads its list once (user cache
# filled), counters zeroed, then n GET /alerts of those users in a seeded order over one
# connection, counters dumped. Prints instructions per request, and per request in token
# verification, in the list read and in rendering its JSON. CALLGRIND_DIR=dir keeps the
# profiles, for callgrind_annotate.
if [ -n "${CALLGRIND:-}" ]; then
    CALLGRIND_DIR=${CALLGRIND_DIR:-$WORK}; mkdir -p "$CALLGRIND_DIR"
    echo; echo "## $(date -u '+%F %H:%M UTC'), instructions per GET /alerts (list cache off), $CALLGRIND requests"
    for bin in "$PRICEALERT_BIN" ${AGAINST_BIN:-}; do
        stop_gateway
        PRICEALERT_BIN=$bin GATEWAY_WRAPPER="valgrind -q --tool=callgrind --callgrind-out-file=$CALLGRIND_DIR/callgrind.%p" start_gateway 0
        python3 - "$USERS_FILE" "$PORT" 200 0 <<'PY'
import http.client, sys
users = [line.split()[1] for line in open(sys.argv[1])][: int(sys.argv[3])]
connection = http.client.HTTPConnection("127.0.0.1", int(sys.argv[2]))
for token in users:
    connection.request("GET", "/alerts", headers={"Authorization": "Bearer " + token})
    response = connection.getresponse()
    response.read()
    assert response.status == 200, response.status
PY
        callgrind_control -z "$GATEWAY_PID" >/dev/null 2>&1
        python3 - "$USERS_FILE" "$PORT" 200 "$CALLGRIND" <<'PY'
import http.client, random, sys
users = [line.split()[1] for line in open(sys.argv[1])][: int(sys.argv[3])]
order = random.Random(19)
connection = http.client.HTTPConnection("127.0.0.1", int(sys.argv[2]))
for _ in range(int(sys.argv[4])):
    connection.request("GET", "/alerts", headers={"Authorization": "Bearer " + order.choice(users)})
    response = connection.getresponse()
    response.read()
    assert response.status == 200, response.status
PY
        callgrind_control -d "$GATEWAY_PID" >/dev/null 2>&1
        stop_gateway
        dump=$(ls -t "$CALLGRIND_DIR"/callgrind.*.1 | head -1)
        callgrind_annotate --inclusive=yes --threshold=100 "$dump" 2>/dev/null | python3 -c '
import re, sys
requests, total, parts = int(sys.argv[1]), None, {"token verification": 0, "the list read": 0, "its JSON": 0}
for line in sys.stdin:
    m = re.match(r"\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(\S.*)", line)
    if not m:
        continue
    ir, symbol = int(m.group(1).replace(",", "")), m.group(2)
    if "PROGRAM TOTALS" in symbol:
        total = ir
    elif re.search(r"JwtKeys>?::verify", symbol):
        parts["token verification"] = max(parts["token verification"], ir)
    elif re.search(r"Store>?::list_alerts", symbol):
        parts["the list read"] = max(parts["the list read"], ir)
    elif re.search(r"routes::alerts::render\b", symbol):
        parts["its JSON"] = max(parts["its JSON"], ir)
print(f"{sys.argv[2]}: {total / requests:,.0f} instructions per request; " +
      ", ".join(f"{name} {ir / requests:,.0f} ({100 * ir / total:.1f} %)" for name, ir in parts.items()))
' "$CALLGRIND" "$bin"
    done
    exit 0
fi

# AGAINST_BIN=path: a before/after run of the writes instead of the rest. Each round runs the
# mix (list cache on) and POST /alerts alone on PRICEALERT_BIN and on AGAINST_BIN, in the order
# A B, then B A, so the machine's drift falls on both alike, then pgbench's create; ROUNDS rounds.
# AGAINST_RUNS="mix post" (the default) picks the runs from mix, get (GET /alerts alone, list
# cache on: the gateway's own work, little of PostgreSQL's) and post.
if [ -n "${AGAINST_BIN:-}" ]; then
    echo; echo "## $(date -u '+%F %H:%M UTC'), before/after: A = $PRICEALERT_BIN, B = $AGAINST_BIN, ${DURATION}s per run after ${WARMUP}s of warm-up, $CONNECTIONS connections, gateway pool $POOL"
    binaries=("$PRICEALERT_BIN" "$AGAINST_BIN")
    for round in $(seq 1 "${ROUNDS:-4}"); do
        order=(0 1); [ $((round % 2)) = 1 ] || order=(1 0)
        for which in "${order[@]}"; do
            label=$([ "$which" = 0 ] && echo A || echo B)
            PRICEALERT_BIN=${binaries[$which]}
            for run in ${AGAINST_RUNS:-mix post}; do
                case $run in
                mix)
                    stop_gateway; start_gateway "$MIX_CACHE_MS"
                    wrk_run "round $round, $label: mix 80/15/5, list cache on" 80 15 ;;
                get)
                    stop_gateway; start_gateway "$MIX_CACHE_MS"
                    wrk_run "round $round, $label: GET /alerts alone, list cache on" 100 0 ;;
                post)
                    stop_gateway; start_gateway 0
                    wrk_run "round $round, $label: POST /alerts alone" 0 100 ;;
                *) echo "AGAINST_RUNS: unknown run $run (mix, get, post)" >&2; exit 1 ;;
                esac
                server_latency
                [ "$run" = get ] || drain_outbox
            done
        done
        if [[ " ${AGAINST_RUNS:-mix post} " == *" post "* ]]; then
            pgbench_run "round $round: the same insert with its quota check and outbox row" "$WORK/create.sql" "$CONNECTIONS"
            drain_outbox
        fi
    done
    exit 0
fi

echo; echo "## $(date -u '+%F %H:%M UTC'), load before: $(cut -d' ' -f1-3 /proc/loadavg), ${DURATION}s per run after ${WARMUP}s of warm-up, $CONNECTIONS connections, gateway pool $POOL"
wrk_run "mix 80/15/5, list cache on (ALERT_LIST_CACHE_MS=$MIX_CACHE_MS)" 80 15
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
server_latency
[ -z "${ONLY_MIX:-}" ] || exit 0 # ONLY_MIX=1: the mix alone, for alternating two binaries

# ROUNDS=n (3 by default): each single-route run is followed by its pgbench baseline, n times.
# The bench machine's speed drifted by 10-25 % within minutes (pgbench alone: 14.5 k, then
# 12.9 k, 12.2 k, 11.4 k tps in four runs 20 s apart), so a ratio is taken only between a run
# and the baseline right after it; each round's ratio and the median are printed.
ROUNDS=${ROUNDS:-3}
# round_ratio GATEWAY_OUTPUT PGBENCH_OUTPUT: the gateway's rate as a percentage of pgbench's.
round_ratio() {
    local ours theirs
    ours=$(awk '/Requests\/sec/ {print $2}' <<<"$1")
    theirs=$(awk '/tps = / {print $3}' <<<"$2")
    python3 -c "print(round(100 * $ours / $theirs))"
}
# compare TITLE MIX_GET MIX_POST BASELINE_TITLE BASELINE_SCRIPT: ROUNDS alternations.
compare() {
    local round ours theirs ratio
    local -a ratios=()
    for round in $(seq 1 "$ROUNDS"); do
        ours=$(wrk_run "$1, round $round of $ROUNDS" "$2" "$3")
        echo "$ours"
        theirs=$(pgbench_run "$4, round $round of $ROUNDS" "$5" "$POOL")
        echo "$theirs"
        ratio=$(round_ratio "$ours" "$theirs")
        ratios+=("$ratio")
        echo "round $round: $ratio % of pgbench"
        [ "$3" = 0 ] || drain_outbox
    done
    echo; echo "$1 as a share of pgbench, by round: ${ratios[*]} %;" \
        "median $(printf '%s\n' "${ratios[@]}" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}') %"
}
stop_gateway
start_gateway 0
compare "GET /alerts alone, list cache off" 100 0 "the same list query" "$WORK/list.sql"
pgbench_run "the same list query" "$WORK/list.sql" "$CONNECTIONS"
"$CEILING_BIN" "127.0.0.1:$((PORT + 1))" "$DB_URL" "$SECRET" "$POOL" &
CEILING_PID=$!
for _ in $(seq 1 150); do curl -sf "http://127.0.0.1:$((PORT + 1))/health" >/dev/null && break; sleep 0.2; done
BASE=http://127.0.0.1:$((PORT + 1)) wrk_run "the list's ceiling (list_ceiling: token, query, JSON, nothing else)" 100 0
kill "$CEILING_PID"; wait "$CEILING_PID" 2>/dev/null || true; CEILING_PID=
compare "POST /alerts alone" 0 100 "the same insert with its quota check and outbox row" "$WORK/create.sql"
pgbench_run "the same insert with its quota check and outbox row" "$WORK/create.sql" "$CONNECTIONS"
drain_outbox
wrk_run "mix 80/15/5, list cache off" 80 15
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"

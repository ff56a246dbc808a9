#!/usr/bin/env bash
# Smoke test of the public API (shared/API.md) with curl and jq: every request's status code is
# asserted, and the bodies that matter. Works against the compose stack and the embedded default.
#
#   scripts/test-alerts.sh                            # http://localhost:8000
#   BASE_URL=http://gateway.example:8000 scripts/test-alerts.sh
#
# Prints each check, then `N passed, N failed`; exits non-zero if any check failed.
set -uo pipefail

BASE_URL=${BASE_URL:-http://localhost:8000}
BASE_URL=${BASE_URL%/}

for tool in curl jq; do
  command -v "$tool" >/dev/null 2>&1 || { echo "test-alerts: $tool is required" >&2; exit 2; }
done

passed=0
failed=0
status=""
body=""
headers=""
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# request METHOD PATH [curl arguments...]: sets $status, $body and $headers.
request() {
  local method=$1 path=$2
  shift 2
  status=$(curl -sS -o "$scratch/body" -D "$scratch/headers" -w '%{http_code}' \
    --max-time 15 -X "$method" "$@" "$BASE_URL$path" 2>"$scratch/error") || status="000"
  body=$(cat "$scratch/body" 2>/dev/null || true)
  headers=$(cat "$scratch/headers" 2>/dev/null || true)
}

# check NAME EXPECTED_STATUS [JQ_FILTER]: the status must match and the filter (if any) be true.
check() {
  local name=$1 expected=$2 filter=${3:-}
  local problem=""
  if [[ "$status" != "$expected" ]]; then
    problem="status $status, expected $expected"
  elif [[ -n "$filter" ]] && ! jq -e "$filter" >/dev/null 2>&1 <<<"$body"; then
    problem="body does not satisfy: $filter"
  fi
  if [[ -z "$problem" ]]; then
    passed=$((passed + 1))
    echo "PASS  $name"
  else
    failed=$((failed + 1))
    echo "FAIL  $name: $problem"
    [[ "$status" == "000" ]] && echo "      $(cat "$scratch/error")"
    [[ -n "$body" ]] && echo "      body: ${body:0:300}"
  fi
}

json=(-H 'Content-Type: application/json')
email="smoke-$(date +%s)-$RANDOM@example.com"
password="correct-horse-battery"

request GET /health
check "GET /health is healthy" 200 '.status == "healthy"'

# ---- auth ----
request POST /auth/register "${json[@]}" \
  -d "{\"email\":\"$email\",\"password\":\"$password\",\"phone\":\"+1 415 555 2671\"}"
check "register a new user (phone normalised to E.164)" 201 \
  "(.id | type == \"number\") and .email == \"$email\" and .phone == \"+14155552671\" and (.created_at | type == \"string\")"
request POST /auth/register "${json[@]}" \
  -d "{\"email\":\"nophone-$email\",\"password\":\"$password\",\"phone\":\"\"}"
check "register without a phone (empty phone stored as null)" 201 '.phone == null'

request POST /auth/register "${json[@]}" -d "{\"email\":\"$email\",\"password\":\"$password\"}"
check "register the same email again" 400 '.detail == "Email already registered"'

request POST /auth/register "${json[@]}" -d '{"email":"not-an-email","password":"correct-horse-battery"}'
check "register with an invalid email" 422 '.detail | type == "array" and length > 0'

request POST /auth/register "${json[@]}" -d "{\"email\":\"short-$email\",\"password\":\"short\"}"
check "register with a too short password" 422 '.detail | type == "array"'

request POST /auth/login --data-urlencode "username=$email" --data-urlencode "password=$password"
check "log in with the form" 200 '.token_type == "bearer" and (.access_token | length > 0) and .expires_in == 86400'
token=$(jq -r '.access_token // empty' <<<"$body" 2>/dev/null)
auth=(-H "Authorization: Bearer ${token:-none}")

request POST /auth/login --data-urlencode "username=$email" --data-urlencode "password=wrong-password"
check "log in with a wrong password" 401 '.detail == "Incorrect email or password"'

request GET /auth/me "${auth[@]}"
check "GET /auth/me with the token" 200 ".email == \"$email\""

request GET /alerts
check "GET /alerts without a token" 401 '.detail == "Not authenticated"'
if grep -qi '^www-authenticate: *bearer' <<<"$headers"; then
  passed=$((passed + 1)); echo "PASS  401 carries WWW-Authenticate: Bearer"
else
  failed=$((failed + 1)); echo "FAIL  401 carries WWW-Authenticate: Bearer"
fi

request GET /alerts -H "Authorization: Bearer not.a.jwt"
check "GET /alerts with a forged token" 401 '.detail == "Could not validate credentials"'

# ---- alerts ----
request POST /alerts "${auth[@]}" "${json[@]}" \
  -d '{"symbol":"btc","condition":"above","target_price":100000}'
check "create an alert with defaults" 201 \
  '.symbol == "BTC" and .condition == "above" and .target_price == 100000 and .target_price_high == null and .notification_types == "email" and .cooldown_minutes == 60 and .active == true and .triggered_count == 0 and .last_triggered_at == null'
alert_id=$(jq -r '.id // empty' <<<"$body" 2>/dev/null)
alert_id=${alert_id:-0}

request POST /alerts "${auth[@]}" "${json[@]}" \
  -d '{"symbol":"ETH","condition":"range","target_price":2000,"target_price_high":3000,"notification_types":"email, sms","cooldown_minutes":5}'
check "create a range alert" 201 \
  '.condition == "range" and .target_price_high == 3000 and .notification_types == "email,sms" and .cooldown_minutes == 5'

request POST /alerts "${auth[@]}" "${json[@]}" -d '{"symbol":"ETH","condition":"range","target_price":2000}'
check "a range alert without its upper bound" 400 '.detail == "target_price_high is required for range alerts"'

request POST /alerts "${auth[@]}" "${json[@]}" -d '{"symbol":"BTC","condition":"sideways","target_price":1}'
check "an unknown condition" 422 '.detail | type == "array"'

request POST /alerts "${auth[@]}" "${json[@]}" -d '{"symbol":"BTC","condition":"above","target_price":-5}'
check "a negative target price" 422 '.detail | type == "array"'

request POST /alerts "${auth[@]}" "${json[@]}" -d '{"symbol":"BTC",'
check "malformed JSON" 422 '.detail != null'

request GET /alerts "${auth[@]}"
check "list alerts, newest first" 200 \
  "type == \"array\" and length == 2 and .[1].id == $alert_id and .[0].id > .[1].id"

request GET /alerts/ "${auth[@]}"
check "list alerts with a trailing slash" 200 'type == "array" and length == 2'

request GET "/alerts?symbol=eth&active=true" "${auth[@]}"
check "filter alerts by symbol" 200 'length == 1 and .[0].symbol == "ETH"'

request GET "/alerts?limit=101" "${auth[@]}"
check "a limit above 100" 422 '.detail | type == "array"'

request GET "/alerts/$alert_id" "${auth[@]}"
check "GET one alert" 200 ".id == $alert_id and .symbol == \"BTC\""

request GET /alerts/999999999 "${auth[@]}"
check "GET an alert that does not exist" 404 '.detail == "Alert not found"'

request GET /alerts/not-a-number "${auth[@]}"
check "a non-integer alert id" 422 '.detail != null'

request PATCH "/alerts/$alert_id" "${auth[@]}" "${json[@]}" -d '{"target_price":95000.5,"cooldown_minutes":10}'
check "patch an alert" 200 '.target_price == 95000.5 and .cooldown_minutes == 10'

request POST "/alerts/$alert_id/toggle" "${auth[@]}"
check "toggle an alert off" 200 '.active == false'

request DELETE "/alerts/$alert_id" "${auth[@]}"
check "delete an alert" 204
request GET "/alerts/$alert_id" "${auth[@]}"
check "a deleted alert is gone" 404 '.detail == "Alert not found"'

# ---- prices ----
request GET /prices
check "all prices" 200 '(.prices | type == "object") and (.count | type == "number")'

request GET "/prices?symbols=btc,eth"
check "prices of some symbols" 200 '(.prices | keys - ["BTC","ETH"] | length == 0)'

request GET /prices/symbols
check "the 55 instruments" 200 '.count == 55 and (.symbols | length == 55) and .symbols == (.symbols | sort)'

request GET /prices/BTC
check "the price of BTC (or not yet available)" 200 '.symbol == "BTC"'

request GET /prices/NOPE
check "the price of an unknown symbol" 404 '.detail == "Unknown symbol: NOPE"'

request GET /no-such-route
check "an unknown route answers JSON" 404 '.detail != null'

# ---- clean up the smoke-test user (extension) ----
request DELETE /auth/me "${auth[@]}"
check "delete the smoke-test user" 204
request GET /auth/me "${auth[@]}"
check "a deleted user's token stops working" 401

echo
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]

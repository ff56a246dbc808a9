#!/usr/bin/env bash
# Brings the scaled stack (docker-compose.yml) up and waits until every service is healthy.
#
#   scripts/setup.sh                 # build, start, wait (SETUP_TIMEOUT_SECONDS, default 300)
#   COMPOSE="docker compose" scripts/setup.sh
#
# On first use it creates .env from .env.example with freshly generated secrets.
set -euo pipefail
cd "$(dirname "$0")/.."

timeout_seconds=${SETUP_TIMEOUT_SECONDS:-300}

if [[ -z "${COMPOSE:-}" ]]; then
  if docker compose version >/dev/null 2>&1; then
    COMPOSE="docker compose"
  elif command -v docker-compose >/dev/null 2>&1; then
    COMPOSE="docker-compose"
  else
    echo "setup: neither 'docker compose' nor 'docker-compose' is installed" >&2
    exit 1
  fi
fi
read -r -a compose <<<"$COMPOSE"

random_hex() {
  if command -v openssl >/dev/null 2>&1; then
    openssl rand -hex 32
  else
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'
  fi
}

if [[ ! -f .env ]]; then
  cp .env.example .env
  sed -i.bak \
    -e "s/^JWT_SECRET=$/JWT_SECRET=$(random_hex)/" \
    -e "s/^POSTGRES_PASSWORD=$/POSTGRES_PASSWORD=$(random_hex)/" \
    .env
  rm -f .env.bak
  chmod 600 .env
  echo "setup: created .env with generated JWT_SECRET and POSTGRES_PASSWORD"
fi

"${compose[@]}" config -q
"${compose[@]}" up -d --build

# Every service that declares a health check must report healthy; others must be running.
deadline=$((SECONDS + timeout_seconds))
while true; do
  pending=()
  for service in $("${compose[@]}" config --services); do
    ids=$("${compose[@]}" ps -q "$service")
    if [[ -z "$ids" ]]; then
      pending+=("$service(not created)")
      continue
    fi
    for id in $ids; do
      state=$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$id")
      if [[ "$state" != "healthy" && "$state" != "running" ]]; then
        pending+=("$service($state)")
      fi
    done
  done
  if [[ ${#pending[@]} -eq 0 ]]; then
    break
  fi
  if ((SECONDS >= deadline)); then
    echo "setup: not healthy after ${timeout_seconds}s: ${pending[*]}" >&2
    "${compose[@]}" ps >&2
    exit 1
  fi
  echo "setup: waiting for ${pending[*]}"
  sleep 3
done

cat <<'DONE'
setup: every service is healthy
  API        http://localhost:8000   smoke test: scripts/test-alerts.sh
  ops        http://localhost:8001..8003/metrics
  Grafana    http://localhost:3000   Prometheus http://localhost:9090
  kafka-ui   http://localhost:8080   Alertmanager http://localhost:9093
DONE

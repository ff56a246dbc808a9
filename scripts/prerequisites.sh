#!/usr/bin/env bash
# What the test suite needs besides the source: checked in a few seconds, installed or started
# where this script can, otherwise it stops at once naming the exact command to run.
#
#   scripts/prerequisites.sh              # check; as root on Debian, install and start what is missing
#   PRICEALERT_NO_INSTALL=1 scripts/prerequisites.sh   # only check, never install
#
# Both the README's test command (scripts/test.sh) and CI (.ci/run) run it first.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use, by the command that proves each is there.
declare -A PACKAGE_OF=(
    [cc]=build-essential
    [pkg-config]=pkg-config
    [curl]=curl
    [jq]=jq
    [python3]=python3
    [psql]=postgresql-client
    [pg_isready]=postgresql-client
    [promtool]=prometheus
    [prometheus]=prometheus
    [amtool]=prometheus-alertmanager
    [docker-compose]=docker-compose
    [chromium]=chromium
    [chromedriver]=chromium-driver
)
# Libraries the Rust build links (openssl for the SMTP test server, zlib for librdkafka), and
# fonts for the browser test's headless Chromium (a recommendation only, so not pulled in here).
LIBRARY_PACKAGES=(libssl-dev zlib1g-dev fonts-liberation)

TEST_DATABASE_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}

say() { printf 'prerequisites: %s\n' "$*" >&2; }
stop() {
    say "$1"
    shift
    printf '  %s\n' "$@" >&2
    exit 1
}

can_install() {
    [[ -z "${PRICEALERT_NO_INSTALL:-}" && $(id -u) -eq 0 ]] && command -v apt-get >/dev/null
}

missing_packages() {
    local command package
    local -A wanted=()
    for command in "${!PACKAGE_OF[@]}"; do
        command -v "$command" >/dev/null 2>&1 || wanted[${PACKAGE_OF[$command]}]=1
    done
    for package in "${LIBRARY_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" ||
            wanted[$package]=1
    done
    printf '%s\n' "${!wanted[@]}" | sort
}

install_packages() {
    local packages
    mapfile -t packages < <(missing_packages | sed '/^$/d')
    [[ ${#packages[@]} -eq 0 ]] && return 0
    if ! can_install; then
        stop "missing Debian packages: ${packages[*]}. Install them with:" \
            "sudo apt-get install -y --no-install-recommends ${packages[*]}"
    fi
    say "installing ${packages[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends ca-certificates "${packages[@]}" >/dev/null
    # The Debian packages start nothing here (no init system); the tests run their own Prometheus.
    mapfile -t packages < <(missing_packages | sed '/^$/d')
    [[ ${#packages[@]} -eq 0 ]] || stop "still missing after installing: ${packages[*]}"
}

check_rust() {
    if ! command -v cargo >/dev/null; then
        stop "no Rust toolchain on PATH. Install it with rustup, then open a new shell:" \
            "curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component rustfmt,clippy"
    fi
    if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
        if command -v rustup >/dev/null; then
            say "adding rustfmt and clippy"
            rustup component add rustfmt clippy
        else
            stop "cargo fmt and cargo clippy are needed" "rustup component add rustfmt clippy"
        fi
    fi
}

postgres_answers() {
    psql "$TEST_DATABASE_URL" -Atqc 'select 1' >/dev/null 2>&1
}

# Only the local default is ours to install or start; another TEST_DATABASE_URL must just work.
check_postgres() {
    postgres_answers && return 0
    local local_default=postgres://postgres@127.0.0.1:5432/postgres
    if [[ "$TEST_DATABASE_URL" != "$local_default" ]]; then
        stop "TEST_DATABASE_URL=$TEST_DATABASE_URL does not answer 'select 1'." \
            "Check the server and the URL (the tests create and drop databases named pa_test_*)."
    fi
    local installed_now=
    if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
        can_install || stop "no PostgreSQL server here. Install and start one with:" \
            "sudo apt-get install -y postgresql && sudo pg_ctlcluster \$(ls /etc/postgresql | head -1) main start" \
            "then allow the tests in as postgres from 127.0.0.1 (or set TEST_DATABASE_URL)."
        say "installing the PostgreSQL server"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
        installed_now=1
    fi
    local version
    version=$(ls /etc/postgresql | sort -V | tail -1)
    if [[ -n "$installed_now" ]]; then
        # A server installed just now, for the tests: let the postgres role in from loopback
        # without a password, as the documented test setup expects.
        sed -i '1i host all postgres 127.0.0.1/32 trust' "/etc/postgresql/$version/main/pg_hba.conf"
    fi
    if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
        if can_install; then
            say "starting PostgreSQL $version"
            pg_ctlcluster --skip-systemctl-redirect "$version" main start
            for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
        else
            stop "PostgreSQL is installed but not running. Start it with:" \
                "sudo pg_ctlcluster $version main start"
        fi
    elif [[ -n "$installed_now" ]]; then
        pg_ctlcluster --skip-systemctl-redirect "$version" main reload
    fi
    postgres_answers || stop "PostgreSQL runs but refuses $TEST_DATABASE_URL. Either let postgres in from 127.0.0.1, e.g.:" \
        "echo 'host all postgres 127.0.0.1/32 trust' | sudo tee -a /etc/postgresql/$version/main/pg_hba.conf && sudo pg_ctlcluster $version main reload" \
        "or point the tests at a server that accepts them: TEST_DATABASE_URL=postgres://USER:PASSWORD@HOST:PORT/postgres"
}

# Python tools from PyPI, in one venv outside the clone; the tests find it through
# PRICEALERT_VENV (same default): Schemathesis fuzzes the API; kubernetes-validate and checkov
# check deploy/kubernetes. Installed by one pip command, so its resolver picks dependency versions
# that satisfy all three (checkov pins many).
PYTHON_TOOLS=(schemathesis==4.32.5 kubernetes-validate==1.37.0 checkov==3.3.30)
PRICEALERT_VENV=${PRICEALERT_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/pricealert/venv}

# The installed versions as `name==version` lines, in the order of PYTHON_TOOLS; one Python start
# (starting checkov to ask its version takes seconds).
installed_python_tools() {
    "$PRICEALERT_VENV/bin/python" - "${PYTHON_TOOLS[@]%%==*}" 2>/dev/null <<'PY'
import importlib.metadata as metadata
import sys
for name in sys.argv[1:]:
    try:
        print(f"{name}=={metadata.version(name)}")
    except metadata.PackageNotFoundError:
        print(f"{name} missing")
PY
}

check_python_tools() {
    [[ "$(installed_python_tools)" == "$(printf '%s\n' "${PYTHON_TOOLS[@]}")" ]] && return 0
    local install="python3 -m venv '$PRICEALERT_VENV' && '$PRICEALERT_VENV/bin/pip' install ${PYTHON_TOOLS[*]}"
    if [[ -n "${PRICEALERT_NO_INSTALL:-}" ]]; then
        stop "${PYTHON_TOOLS[*]} are not all in $PRICEALERT_VENV. Install them with:" "$install"
    fi
    if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
        can_install || stop "python3 cannot make a venv. Install it with:" \
            "sudo apt-get install -y python3-venv" "then: $install"
        say "installing python3-venv"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    fi
    say "installing ${PYTHON_TOOLS[*]} into $PRICEALERT_VENV"
    python3 -m venv "$PRICEALERT_VENV" &&
        "$PRICEALERT_VENV/bin/pip" install -q --disable-pip-version-check "${PYTHON_TOOLS[@]}" ||
        stop "could not install ${PYTHON_TOOLS[*]}. Install them with:" "$install"
    [[ "$(installed_python_tools)" == "$(printf '%s\n' "${PYTHON_TOOLS[@]}")" ]] ||
        stop "$PRICEALERT_VENV still lacks one of ${PYTHON_TOOLS[*]}:" "$(installed_python_tools)"
}

install_packages
check_rust
check_postgres
check_python_tools
say "ready (PostgreSQL at $TEST_DATABASE_URL, schemathesis, kubernetes-validate and checkov in $PRICEALERT_VENV)"

#!/usr/bin/env bash
# Runs every check CI runs: formatting, lints, and the whole test suite (unit, integration,
# black-box against PostgreSQL and SQLite, config validation).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
export TEST_DATABASE_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}

echo "== prerequisites"
# Installs or starts what is missing where it can, else stops at once naming the command to run.
./scripts/prerequisites.sh

echo "== cargo fmt"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo test"
# Benches are built by clippy above and run by `cargo bench` (docs/BENCHMARKS.md), not here.
cargo test --workspace

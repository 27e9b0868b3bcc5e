#!/usr/bin/env bash
# The project's test command (README, .ci/run). Installs what the tests need,
# idempotently, then checks formatting and lints and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
# Debian packages and the container rootfs the fleet tests boot (idempotent).
scripts/test-prereqs.sh
if ! cargo nextest --version >/dev/null 2>&1; then
  cargo install --locked cargo-nextest
fi
cargo fmt --all -- --check
# The crate rules of ARCHITECTURE.md (which crate may link which).
scripts/check-crate-graph.py
cargo clippy --workspace --all-targets --locked -- -D warnings
# The end-to-end tests run the real binaries; build them first (dist_assets too:
# the fleet tests package the minion they install with it, tests/src/debs.rs).
cargo build --workspace --bins --locked
cargo nextest run --workspace --locked --no-fail-fast
# Every fuzz target for a bounded time, after replaying the committed crash
# reproducers (docs/fuzzing.md). Its own target dir under target/fuzz.
scripts/fuzz.sh "${BRINE_FUZZ_SECS:-20}"

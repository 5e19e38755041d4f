#!/usr/bin/env bash
# Runs every test: formatting, lints, unit and end-to-end tests, and the NLU quality gates.
# Installs what the tests need by itself: the MiniLM model files, and Prometheus
# and Alertmanager from Debian's packages (the tests start them on 127.0.0.1).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/pipilu-target}"
step() { printf '\n==> %s\n' "$*"; }

step "model files (scripts/fetch-model.sh)"
scripts/fetch-model.sh

step "real servers for the tests (scripts/install-servers.sh)"
scripts/install-servers.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --release -- -D warnings

step "cargo build (the binary the end-to-end tests run)"
cargo build --workspace --release

step "cargo test"
cargo test --workspace --release

step "NLU quality gates (scripts/nlu-gates.sh)"
scripts/nlu-gates.sh

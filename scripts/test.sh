#!/usr/bin/env bash
# The whole test suite: formatting, lints, then unit, golden, property and
# end-to-end tests of every crate. Needs only the Rust toolchain (rustup's
# rustfmt and clippy components); run it from anywhere in the repository.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "cargo test"
cargo test --workspace

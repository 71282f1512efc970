#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: checks formatting and lints, then every
# unit and integration test (real SQLite files, the real binary, the shared corpus).
# Installs what the tests need when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo not found: install Rust (https://rustup.rs) and run this again" >&2
    exit 1
fi
for component in rustfmt clippy; do
    if ! rustup component list --installed 2>/dev/null | grep -q "^${component}"; then
        rustup component add "$component"
    fi
done

cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked

#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what the tests need, then runs every
# test (unit, integration, conformance, compile-fail UI, doctests of the crates, README and book).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-deps.sh
cargo test --workspace --lib --bins --tests --no-fail-fast
cargo test --workspace --doc
# The engine without Kafka, HDFS and the command line (an embedder's build) compiles, and its
# unit tests pass.
cargo test -p stream-runtime --no-default-features --lib

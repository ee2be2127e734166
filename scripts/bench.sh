#!/usr/bin/env bash
# Benchmarks: prints figures as `name: value` lines. Release builds; takes several minutes.
# Sizes can be reduced with the AZCOPS_BENCH_* variables each benchmark documents.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> handler cold start and idle memory (target: <= 30 ms, <= 30 MiB)"
cargo bench --locked --bench startup

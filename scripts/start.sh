#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The README's first command: install what is missing, build a release
# binary, and start ringproxy on its embedded default (arguments, if any, are
# passed on to ringproxy instead).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh build
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DRP_TESTS=OFF \
	-DRP_BENCHMARKS=OFF >/dev/null
cmake --build build/release -j"$(nproc)" --target ringproxy >/dev/null
exec build/release/ringproxy "$@"

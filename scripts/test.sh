#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The README's second command, and all that .ci/run does: install what is
# missing, then build and run every test: the unit and integration suites
# (warnings as errors), the same suites under AddressSanitizer +
# UndefinedBehaviorSanitizer, each fuzz target for a bounded time, and the
# clang-format check. Stays well under 15 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
fuzz_seconds=${RP_FUZZ_SECONDS:-20}
bash scripts/deps.sh test

step() { printf '\n=== %s ===\n' "$*"; }

step "format check (.clang-format)"
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find engine include tests -name '*.[ch]')
clang-format --dry-run --Werror $files

step "build (warnings are errors)"
cmake -S . -B build/ci -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRP_WERROR=ON >/dev/null
cmake --build build/ci -j"$jobs"

passed=0 failed=0
count() { # adds up ctest's "N% tests passed, F tests failed out of T"
	local line
	line=$(grep -E 'tests passed, [0-9]+ tests? failed out of' "$1" | tail -1)
	[ -n "$line" ] || return 0
	local f t
	f=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
	t=$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$line")
	passed=$((passed + t - f))
	failed=$((failed + f))
}

step "unit + integration tests"
(cd build/ci && ctest --output-on-failure --timeout 600) | tee build/ci/ctest.log
count build/ci/ctest.log

step "micro benchmarks (smoke: each runs briefly, numbers not judged)"
for b in build/ci/benchmarks/bench_*; do
	[ -x "$b" ] && "$b" --benchmark_min_time=0.01 >/dev/null
done

step "AddressSanitizer + UndefinedBehaviorSanitizer build and tests"
cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DRP_SANITIZE=ON -DRP_WERROR=ON \
	-DRP_BENCHMARKS=OFF >/dev/null
cmake --build build/asan -j"$jobs"
(cd build/asan &&
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	RP_TEST_BULK_MB=${RP_TEST_BULK_MB:-64} RP_TEST_CONNS=${RP_TEST_CONNS:-500} \
	ctest --output-on-failure --timeout 600) | tee build/asan/ctest.log
count build/asan/ctest.log

step "fuzz targets (${fuzz_seconds}s each)"
CC=clang CXX=clang++ cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=Debug -DRP_FUZZ=ON \
	-DRP_TESTS=OFF -DRP_BENCHMARKS=OFF >/dev/null
cmake --build build/fuzz -j"$jobs"
for f in build/fuzz/tests/fuzz/fuzz_*; do
	name=$(basename "$f")
	corpus=tests/fuzz/corpus/${name#fuzz_}
	work=$(mktemp -d)
	cp -r "$corpus"/. "$work"/
	dict=tests/fuzz/$(cut -d_ -f1 <<<"${name#fuzz_}").dict
	dict_arg=()
	[ -f "$dict" ] && dict_arg=(-dict="$dict")
	"$f" -max_total_time="$fuzz_seconds" -print_final_stats=0 "${dict_arg[@]}" "$work" \
		>"build/fuzz/$name.log" 2>&1 ||
		{ tail -40 "build/fuzz/$name.log"; echo "fuzz: $name FAILED"; exit 1; }
	echo "fuzz: $name ok ($(ls "$work" | wc -l) corpus entries)"
	passed=$((passed + 1))
	rm -rf "$work"
done
echo
echo "$passed passed, $failed failed"

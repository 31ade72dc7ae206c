#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The README's second command, and all that .ci/run does: install what is
# missing, then build and run every test: the unit and integration suites
# (warnings as errors), the same suites under AddressSanitizer +
# UndefinedBehaviorSanitizer, each fuzz target for a bounded time, and the
# clang-format check. Stays well under 15 minutes on 2 cores, the first run
# on a fresh machine longer (packages, and the kTLS tests' first boots).
#
# Nothing is skipped here. deps.sh test installs every tool the tests run,
# RP_TEST_STRICT=1 makes a test that would skip itself (no IPv6 loopback,
# io_uring refused) fail instead, and a test that ctest still reports as
# skipped fails the run: a green run means that every test ran. Outside this
# command (ctest by hand) such tests skip and say why, exit 77.
#
# Every step runs even when one before it failed, so the last line is always
#   N passed, N failed
# (CI reads it), with ", N skipped" after it when ctest skipped any; the exit
# status is 0 only when nothing failed or was skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
fuzz_seconds=${RP_FUZZ_SECONDS:-20}
export RP_TEST_STRICT=1
bash scripts/deps.sh test

step() { printf '\n=== %s ===\n' "$*"; }

passed=0 failed=0 skipped=0
failures=()
fail() { # NAME: one failed check
	failed=$((failed + 1))
	failures+=("$1")
}

# ctest's "N% tests passed, F tests failed out of T" counts skipped tests as
# passed; each one also has its own "***Skipped" line.
count() { # LOG
	local line f t s
	line=$(grep -E 'tests passed, [0-9]+ tests? failed out of' "$1" | tail -1 || true)
	if [ -z "$line" ]; then
		fail "ctest ran no tests ($1)"
		return 0
	fi
	f=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
	t=$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$line")
	s=$(grep -cE '\*\*\*Skipped' "$1" || true)
	passed=$((passed + t - f - s))
	failed=$((failed + f))
	skipped=$((skipped + s))
	[ "$f" -eq 0 ] || failures+=("$f ctest test(s) in $1")
	if [ "$s" -gt 0 ]; then
		failures+=("$s ctest test(s) skipped in $1:$(sed -nE 's/.*Test +#[0-9]+: ([^ ]+) .*\*\*\*Skipped.*/ \1/p' "$1" | tr -d '\n')")
	fi
}

step "format check (.clang-format)"
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find engine include tests -name '*.[ch]')
if clang-format --dry-run --Werror $files; then
	passed=$((passed + 1))
else
	fail "clang-format"
fi

step "build (warnings are errors)"
if cmake -S . -B build/ci -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRP_WERROR=ON >/dev/null &&
	cmake --build build/ci -j"$jobs"; then
	step "unit + integration tests"
	(cd build/ci && ctest --output-on-failure --timeout 600) | tee build/ci/ctest.log || true
	count build/ci/ctest.log

	step "micro benchmarks (smoke: each runs briefly, numbers not judged)"
	nbench=0
	for b in build/ci/benchmarks/bench_*; do
		[ -x "$b" ] || continue
		nbench=$((nbench + 1))
		if "$b" --benchmark_min_time=0.01 >"$b.log" 2>&1; then
			passed=$((passed + 1))
		else
			tail -20 "$b.log"
			fail "$(basename "$b")"
		fi
	done
	[ "$nbench" -gt 0 ] || fail "no micro benchmark was built (build/ci/benchmarks)"
else
	fail "build/ci"
fi

step "AddressSanitizer + UndefinedBehaviorSanitizer build and tests"
if cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DRP_SANITIZE=ON -DRP_WERROR=ON \
	-DRP_BENCHMARKS=OFF >/dev/null &&
	cmake --build build/asan -j"$jobs"; then
	(cd build/asan &&
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		RP_TEST_BULK_MB=${RP_TEST_BULK_MB:-64} RP_TEST_CONNS=${RP_TEST_CONNS:-500} \
		ctest --output-on-failure --timeout 600) | tee build/asan/ctest.log || true
	count build/asan/ctest.log
else
	fail "build/asan"
fi

step "fuzz targets (${fuzz_seconds}s each)"
if CC=clang CXX=clang++ cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=Debug -DRP_FUZZ=ON \
	-DRP_TESTS=OFF -DRP_BENCHMARKS=OFF >/dev/null &&
	cmake --build build/fuzz -j"$jobs"; then
	nfuzz=0
	for f in build/fuzz/tests/fuzz/fuzz_*; do
		[ -x "$f" ] || continue
		nfuzz=$((nfuzz + 1))
		name=$(basename "$f")
		corpus=tests/fuzz/corpus/${name#fuzz_}
		work=$(mktemp -d)
		[ ! -d "$corpus" ] || cp -r "$corpus"/. "$work"/
		dict=tests/fuzz/$(cut -d_ -f1 <<<"${name#fuzz_}").dict
		dict_arg=()
		[ -f "$dict" ] && dict_arg=(-dict="$dict")
		if "$f" -max_total_time="$fuzz_seconds" -print_final_stats=0 "${dict_arg[@]}" \
			"$work" >"build/fuzz/$name.log" 2>&1; then
			echo "fuzz: $name ok ($(ls "$work" | wc -l) corpus entries)"
			passed=$((passed + 1))
		else
			tail -40 "build/fuzz/$name.log"
			echo "fuzz: $name FAILED (build/fuzz/$name.log)"
			fail "$name"
		fi
		rm -rf "$work"
	done
	[ "$nfuzz" -gt 0 ] || fail "no fuzz target was built (build/fuzz/tests/fuzz)"
else
	fail "build/fuzz"
fi

echo
for f in ${failures[@]+"${failures[@]}"}; do
	echo "FAILED: $f"
done
if [ "$skipped" -gt 0 ]; then
	echo "a skip fails the test command: it installs every tool and runs every test"
	echo "$passed passed, $failed failed, $skipped skipped"
	exit 1
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

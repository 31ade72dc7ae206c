#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Installs, from Debian 12 packages, everything ringproxy needs to build, test
# and benchmark. Safe to run again: it only installs what is missing.
#
#   build  what scripts/start.sh needs: compiler, CMake, libraries (no git:
#          neither the build nor start.sh runs it)
#   test   also everything scripts/test.sh runs, so that no test is skipped
#          or fails for a missing tool (cmake/TestDeps.cmake checks the
#          programs at configure time; tests/ktls/run.sh checks its packages)
#   all    also the benchmarks' peers
#
# scripts/fresh-root-test.sh checks, on a debootstrapped minimal root, that
# these lists are complete.
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config ca-certificates
	liburing-dev android-libboringssl-dev libjemalloc-dev libyaml-dev libc-ares-dev)
test_pkgs=(
	# unit tests, micro benchmarks, fuzz targets, the format check
	libcunit1-dev libbenchmark-dev clang libclang-rt-14-dev clang-format
	# Debian's interpreter for the Python tests (standard library only)
	python3
	# the peers and clients of the integration tests
	curl openssl nginx-light haproxy wrk siege apache2-utils aria2 microsocks
	tinyproxy gnutls-bin squid
	# tools the tests and scripts call (ss, ip, ps, setpriv, taskset, prlimit)
	procps iproute2 util-linux
	# the kTLS tests: Debian's stock kernel under qemu TCG (tests/ktls/run.sh)
	linux-image-amd64 qemu-system-x86 busybox-static cpio kmod
)
bench_pkgs=(haproxy nginx-light libnginx-mod-stream wrk iperf3 squid tinyproxy socat)

want=("${build_pkgs[@]}")
case "${1:-build}" in
build) ;;
test) want+=("${test_pkgs[@]}") ;;
all) want+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
*) echo "usage: $0 [build|test|all]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]}; run as root or install them" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Installing the peers used by tests and benchmarks must not leave system
# daemons bound to their ports (80, 3128, 8888...), nor start any in a chroot
# that shares the host's network: a policy-rc.d denies service starts for the
# duration, unless the machine already has one.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod +x /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

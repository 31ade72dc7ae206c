#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# End-to-end test of ringproxy's TLS termination with the kTLS handoff, in a
# qemu guest whose kernel has the tls ULP (tests/ktls/run.sh): builds
# tests/ktls/tls_e2e.c against BoringSSL, makes a throwaway P-256 certificate
# (valid 2 days) and boots the guest with RINGPROXY, the certificate and its
# key as extra files; tls_e2e then runs the echo backend, ringproxy with
# --tls-ktls on, TLS 1.3 and 1.2 transfers of MIB MiB each, TLS 1.3 KeyUpdates
# (the stream must stay intact, or end cleanly), then an HTTP/1.1 origin and
# ringproxy --mode http with 8 MiB bodies each way on keep-alive connections,
# and checks the stats each ringproxy prints at SIGTERM (see tls_e2e.c). PASS
# needs "TLS-E2E OK" on the guest console and exit status 0. About 45 s.
#
#   tests/ktls/ringproxy_e2e.sh RINGPROXY [--mib N] [--compare] [--smp N]
#                               [--timeout S] [--rp-arg ARG]...
#
# --compare adds a TLS 1.3 run through another
# ringproxy with --tls-ktls off and prints both rates. --rp-arg goes to every
# ringproxy tls_e2e starts (tcp and http mode). --timeout bounds the
# whole guest run (default 420 s; tls_e2e's own watchdog fires 30 s before).
#
# The guest CPU is "-cpu max": with qemu's default model BoringSSL sees no
# AES-NI and picks ChaCha20 for TLS 1.3, for which the guest has no kernel
# module, and its software AES is several times slower under TCG.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
android=/usr/lib/x86_64-linux-gnu/android
usage() {
	echo "usage: $0 RINGPROXY [--mib N] [--compare] [--smp N] [--timeout S]" \
		"[--rp-arg ARG]..." >&2
	exit 2
}
[ $# -ge 1 ] || usage
rp=$1
shift
mib=32
timeout_s=420
smp=1
e2e_args=()
while [ $# -gt 0 ]; do
	case "$1" in
	--mib) mib=$2; shift 2 ;;
	--compare) e2e_args+=(--compare); shift ;;
	--smp) smp=$2; shift 2 ;;
	--timeout) timeout_s=$2; shift 2 ;;
	--rp-arg) e2e_args+=(--rp-arg "$2"); shift 2 ;;
	*) usage ;;
	esac
done

die() {
	echo "ringproxy e2e: FAIL $*" >&2
	exit 1
}

work=$(mktemp -d /tmp/ringproxy-e2e.XXXXXX)
trap 'rm -rf "$work"' EXIT

cflags=(-O2 -Wall -I/usr/include/android -L"$android" -Wl,-rpath,"$android")
[ -r /usr/include/android/openssl/ssl.h ] && [ -e "$android/libssl.so" ] ||
	die "BoringSSL headers or libraries missing (android-libboringssl-dev)"
[ -f "$rp" ] && [ -x "$rp" ] || die "RINGPROXY $rp is not an executable file"
gcc "${cflags[@]}" -o "$work/tls_e2e" "$here/tls_e2e.c" -lssl -lcrypto ||
	die "cannot build tls_e2e.c"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
	-keyout "$work/key.pem" -out "$work/cert.pem" 2>"$work/openssl.err" ||
	die "openssl req: $(cat "$work/openssl.err")"

# AES-NI and CLMUL for the kernel's GCM too: kTLS then runs about twice as fast
# under TCG, and as a real host would run it.
KTLS_EXTRA_MODULES=${KTLS_EXTRA_MODULES-aesni_intel ghash-clmulni-intel chacha_generic poly1305_generic chacha20poly1305} \
	bash "$here/run.sh" --timeout "$timeout_s" --cpu max,-avx,-avx2 --smp "$smp" --mem 1024 \
	--expect 'TLS-E2E OK' \
	--file "$rp:/payload/ringproxy" \
	--file "$work/cert.pem:/payload/cert.pem" \
	--file "$work/key.pem:/payload/key.pem" \
	"$work/tls_e2e" --ringproxy /payload/ringproxy --cert /payload/cert.pem \
	--key /payload/key.pem --mib "$mib" --timeout $((timeout_s - 30)) \
	${e2e_args[@]+"${e2e_args[@]}"}

#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Runs a program inside a qemu guest booted from Debian's stock kernel, which
# has the kTLS ("tls" ULP) module that this machine's kernel lacks.
#
#   tests/ktls/run.sh [--timeout S] [--expect TEXT] [--mem MB] [--cpu MODEL]
#                     [--smp N] [--file SRC[:DEST]]... PROGRAM [ARGS...]
#
# PROGRAM is an executable, or a .c file that is built here with
# `gcc -static`. The guest is an initramfs: busybox-static, the tls module
# and the crypto modules it loads on demand (gcm, ctr, ghash-generic,
# gf128mul, plus whatever `modinfo -F depends` lists for them), qemu_exit.c
# (next to this script) and PROGRAM as /payload/prog. Its /init mounts
# proc/sys/dev, brings lo up, insmods the modules in dependency order, runs
# PROGRAM ARGS (cwd /) and prints
#   KTLS-HARNESS-EXIT rc=N
# on the serial console, then ends qemu through isa-debug-exit (qemu exits with
# status (N << 1) | 1). The verdict needs both to agree, N to be 0 and, with
# --expect, TEXT to appear in the console output. A timeout, a missing marker or
# a disagreement fails with its own message. Exit 0 only on PASS.
#
# Dynamically linked programs: for PROGRAM and for every --file that is a
# dynamically linked ELF file, the ELF interpreter and each library `ldd`
# resolves on this host (RUNPATH included, e.g. BoringSSL's
# /usr/lib/x86_64-linux-gnu/android) are copied into the guest at the same
# paths; the guest's ld.so finds them there (RUNPATH, or its built-in
# /lib/x86_64-linux-gnu and /usr/lib/x86_64-linux-gnu; there is no
# ld.so.cache). A library ldd cannot find fails the run. LD_LIBRARY_PATH is not
# passed to the guest.
#
#   --file SRC[:DEST]  copy SRC into the guest as DEST (absolute; default
#                      /payload/<basename of SRC>), mode kept; repeatable.
#                      SRC is split at its first ':'.
#   --cpu MODEL        qemu -cpu MODEL (default: qemu's, qemu64, which has no
#                      AES-NI: userspace BoringSSL then prefers ChaCha20 for
#                      TLS 1.3; "max" gives the guest every feature TCG
#                      emulates, AES-NI and PCLMULQDQ included)
#   --smp N            guest CPUs (default 1; N > 1 runs multi-threaded TCG)
#   --mem MB           guest memory (default 512)
#
# The guest also has a writable /tmp (the initramfs is a tmpfs), /etc/hosts
# (localhost) and /etc/resolv.conf (nameserver 127.0.0.1) stubs for resolvers
# such as c-ares that read them; there is no DNS and no getaddrinfo service
# beyond /etc/hosts, so use address literals. Only loopback is up.
#
# Packages linux-image-amd64, qemu-system-x86, busybox-static, cpio and kmod
# come from scripts/deps.sh test, which installs everything the tests need;
# when one is missing this script fails and names it. The kernel used is the
# one linux-image-amd64 depends on, not the running one (override with
# KTLS_KVER=<version> for another installed linux-image).
# TCG only: KVM is not used on purpose (on this workplace it hangs the guest).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
timeout_s=300
expect=
mem=512
cpu=
smp=1
files=()
usage() {
	echo "usage: $0 [--timeout S] [--expect TEXT] [--mem MB] [--cpu MODEL] [--smp N]" \
		"[--file SRC[:DEST]]... PROGRAM [ARGS...]" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case "$1" in
	--timeout) timeout_s=$2; shift 2 ;;
	--expect) expect=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--cpu) cpu=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--file) files+=("$2"); shift 2 ;;
	--) shift; break ;;
	-*) usage ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || usage
prog=$1
shift

die() {
	echo "ktls harness: FAIL $*" >&2
	exit 1
}

# --- packages ---------------------------------------------------------------
# Checked, not installed: one place, scripts/deps.sh test, installs what the
# tests need. busybox-static, not busybox: the guest has no shared libraries.
pkgs=(linux-image-amd64 qemu-system-x86 busybox-static cpio kmod)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] ||
	die "packages missing: ${missing[*]} (apt-get install ${missing[*]}, or scripts/deps.sh test)"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found after install"
busybox=/bin/busybox
[ -x "$busybox" ] || die "$busybox (busybox-static) not found"

# --- the kernel that linux-image-amd64 brings ---------------------------------
if [ -n "${KTLS_KVER:-}" ]; then
	kver=$KTLS_KVER
else
	dep=$(dpkg-query -W -f='${Depends}' linux-image-amd64)
	kver=$(printf '%s\n' "$dep" | tr ',|' '\n\n' | sed -n 's/^ *linux-image-\([^ ]*\).*/\1/p' | head -1)
	[ -n "$kver" ] || die "cannot tell the kernel version from linux-image-amd64 (Depends: $dep)"
fi
vmlinuz=/boot/vmlinuz-$kver
moddir=/lib/modules/$kver
[ -r "$vmlinuz" ] || die "$vmlinuz missing (dpkg -L linux-image-$kver)"
[ -d "$moddir" ] || die "$moddir missing (dpkg -L linux-image-$kver)"

# --- work dir ---------------------------------------------------------------
work=$(mktemp -d /tmp/ktls-harness.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,payload,lib/modules}

# PROGRAM: a static binary, or a .c file built static here.
case "$prog" in
*.c)
	gcc -O2 -Wall -static -o "$work/prog" "$prog" || die "gcc -static $prog failed"
	;;
*)
	[ -f "$prog" ] && [ -x "$prog" ] || die "PROGRAM $prog is not an executable file"
	cp "$prog" "$work/prog"
	;;
esac

# Puts SRC into the guest as DEST (mode kept, symlinks followed) and, when SRC
# is a dynamically linked ELF file, its interpreter and libraries too.
declare -A placed=()
put_file() {
	local src=$1 dest=$2
	[ -z "${placed[$dest]:-}" ] || return 0
	placed[$dest]=1
	mkdir -p "$root$(dirname "$dest")"
	cp -L --preserve=mode "$src" "$root$dest" || die "cannot copy $src into the guest"
	put_libs "$src"
}
put_libs() {
	local bin=$1 out line path
	[ "$(head -c 4 "$bin" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] || return 0
	readelf -d "$bin" 2>/dev/null | grep -q '(NEEDED)' ||
		readelf -l "$bin" 2>/dev/null | grep -q 'program interpreter' || return 0
	out=$(ldd "$bin" 2>&1 </dev/null) || die "ldd $bin failed: $out"
	while IFS= read -r line; do
		line=${line#"${line%%[![:space:]]*}"}
		case "$line" in
		*'=> not found'*) die "$bin needs ${line%% *}, which ldd cannot find" ;;
		*'=> /'*) path=${line#*=> } ;;
		/*) path=$line ;;
		*) continue ;; # linux-vdso.so.1, "statically linked"
		esac
		path=${path% (0x*}
		put_file "$path" "$path"
	done <<<"$out"
}
put_file "$work/prog" /payload/prog
for spec in "${files[@]}"; do
	src=${spec%%:*}
	dest=/payload/$(basename "$src")
	[ "$src" = "$spec" ] || dest=${spec#*:}
	[ -f "$src" ] || die "--file $spec: $src is not a file"
	case "$dest" in /*) ;; *) die "--file $spec: DEST must be an absolute path" ;; esac
	put_file "$src" "$dest"
done
: >"$root/payload/args"
for a in "$@"; do printf '%s\n' "$a" >>"$root/payload/args"; done
chmod 1777 "$root/tmp"
mkdir -p "$root/etc"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n' >"$root/etc/hosts"
printf 'nameserver 127.0.0.1\n' >"$root/etc/resolv.conf"

gcc -O2 -static -o "$root/bin/qemu_exit" "$here/qemu_exit.c" || die "cannot build qemu_exit.c"
cp "$busybox" "$root/bin/busybox"
for app in sh mount insmod ip poweroff cat echo tr sleep dmesg ls; do
	ln -s busybox "$root/bin/$app"
done

# Modules: tls and the crypto it requests on demand, dependencies first.
order=()
declare -A seen=()
add_mod() {
	local m=$1 path d
	[ -z "${seen[$m]:-}" ] || return 0
	seen[$m]=1
	path=$(modinfo -k "$kver" -n "$m" 2>/dev/null) || die "module $m not found for $kver"
	[ "$path" != "(builtin)" ] || return 0
	for d in $(modinfo -k "$kver" -F depends "$m" | tr ',' ' '); do
		add_mod "$d"
	done
	case "$path" in
	*.ko) cp "$path" "$root/lib/modules/$m.ko" ;;
	*.ko.xz) xz -dc "$path" >"$root/lib/modules/$m.ko" ;;
	*.ko.zst) zstd -qdc "$path" >"$root/lib/modules/$m.ko" ;;
	*.ko.gz) gzip -dc "$path" >"$root/lib/modules/$m.ko" ;;
	*) die "module $m: unknown file $path" ;;
	esac
	order+=("$m")
}
for m in gf128mul ghash-generic ctr gcm tls ${KTLS_EXTRA_MODULES:-}; do
	add_mod "$m"
done
printf '%s\n' "${order[@]}" >"$root/modules.order"

cat >"$root/init" <<'EOF'
#!/bin/sh
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
ip link set lo up
while read -r m; do
	if ! insmod "/lib/modules/$m.ko"; then
		echo "KTLS-HARNESS-EXIT rc=125 (insmod $m failed)"
		qemu_exit 125
		poweroff -f
	fi
done </modules.order
set --
while IFS= read -r a; do set -- "$@" "$a"; done </payload/args
read -r up _ </proc/uptime
echo "KTLS-HARNESS-START uptime=$up modules=$(cat /modules.order | tr '\n' ' ')"
/payload/prog "$@"
rc=$?
read -r up _ </proc/uptime
echo "KTLS-HARNESS-EXIT rc=$rc uptime=$up"
qemu_exit $rc
poweroff -f
EOF
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.gz" ||
	die "cannot build the initramfs (cpio, gzip)"

# --- boot -------------------------------------------------------------------
log=$work/console.log
echo "ktls harness: kernel $kver, modules: ${order[*]}, initrd $(stat -c %s "$work/initrd.gz") bytes, cpu ${cpu:-default} x $smp, timeout ${timeout_s}s" >&2
t0=$(date +%s.%N)
set +e
timeout --kill-after=5 "$timeout_s" qemu-system-x86_64 -accel tcg -m "$mem" \
	${cpu:+-cpu "$cpu"} -smp "$smp" \
	-nodefaults -no-user-config -display none -monitor none -serial stdio -no-reboot \
	-kernel "$vmlinuz" -initrd "$work/initrd.gz" \
	-append 'console=ttyS0 panic=-1 quiet' \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 </dev/null 2>&1 |
	tr -d '\r' | tee "$log"
status=${PIPESTATUS[0]}
set -e
t1=$(date +%s.%N)
wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')

if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
	die "timeout: no verdict after ${timeout_s}s (boot or PROGRAM hung); see the console output above"
fi
marker=$(grep -o 'KTLS-HARNESS-EXIT rc=[0-9]*' "$log" | tail -1 || true)
[ -n "$marker" ] ||
	die "no KTLS-HARNESS-EXIT marker on the console (qemu status $status, ${wall}s): the guest did not reach or finish /init"
rc=${marker##*rc=}
if [ "$rc" -ne 0 ]; then
	die "PROGRAM exited $rc in the guest (qemu status $status, ${wall}s)"
fi
if [ "$status" -ne $(((rc << 1) | 1)) ]; then
	die "marker says rc=$rc but qemu exited $status, not $(((rc << 1) | 1)) from isa-debug-exit"
fi
if [ -n "$expect" ] && ! grep -qF -- "$expect" "$log"; then
	die "PROGRAM exited 0 but '$expect' is not on the console"
fi
start=$(sed -n 's/.*KTLS-HARNESS-START uptime=\([0-9.]*\).*/\1/p' "$log" | tail -1)
end=$(sed -n 's/.*KTLS-HARNESS-EXIT rc=[0-9]* uptime=\([0-9.]*\).*/\1/p' "$log" | tail -1)
echo "ktls harness: PASS (kernel $kver; guest uptime at start ${start:-?}s, at exit ${end:-?}s; wall ${wall}s)"

#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Tries the README's two commands as a new user meets them, on a freshly
# bootstrapped minimal Debian 12 root (debootstrap --variant=minbase, plus git
# and ca-certificates, nothing else), so that scripts/deps.sh cannot lean on
# whatever a developer machine happens to have. Run by hand as root, not by
# CI; it takes about half an hour on 2 cores (debootstrap, the apt installs,
# then the whole test command).
#
#   scripts/fresh-root-test.sh [--dir DIR] [--mirror URL] [--keep-root]
#                              [--no-test] [SOURCE]
#
# SOURCE is a git checkout (default: the one this script is in); its HEAD
# commit is cloned into the root, so uncommitted changes are not tested (a
# warning says so). Steps, each timed, its output in DIR/logs:
#   1. debootstrap bookworm into DIR/root from the Debian mirror this host's
#      apt uses (/etc/apt/sources.list{,.d}; --mirror overrides), and give the
#      root the same bookworm, -updates and -security sources;
#   2. bind-mount /proc /sys /dev /dev/pts /dev/shm, copy /etc/resolv.conf,
#      clone SOURCE to /root/ringproxy;
#   3. `bash scripts/start.sh` in the background, as root through chroot: once
#      it listens on 127.0.0.1:3128, a forward-proxy request for a local
#      origin (curl -x http://127.0.0.1:3128 http://127.0.0.1:PORT/) must get
#      ringproxy's 403, the SSRF guard refusing a loopback destination as
#      documented, with nothing reaching the origin; then SIGTERM, and
#      ringproxy must drain, print its stats (the connection counted) and
#      exit 0;
#   4. `bash scripts/test.sh` (skipped with --no-test): its exit status and
#      its last line, "N passed, N failed".
# Everything mounted is unmounted on exit, failure or not (trap), and
# processes left inside the root are killed first. DIR/root is removed at
# the end unless --keep-root (or it cannot be: something still mounted in
# it); DIR/logs is kept.
#
# The root shares this host's kernel and network namespace: 127.0.0.1:3128
# must be free (checked), and the tests' ports are loopback ports the kernel
# hands out. scripts/deps.sh's policy-rc.d keeps the daemons that packages
# bring (nginx, squid...) from starting. No network is used but the Debian
# mirror; qemu (the kTLS tests) runs TCG, so no /dev/kvm is needed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=
mirror=
keep_root=
run_tests=1
usage() {
	echo "usage: $0 [--dir DIR] [--mirror URL] [--keep-root] [--no-test] [SOURCE]" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case "$1" in
	--dir) dir=$2; shift 2 ;;
	--mirror) mirror=$2; shift 2 ;;
	--keep-root) keep_root=1; shift ;;
	--no-test) run_tests=; shift ;;
	-h | --help) usage ;;
	-*) usage ;;
	*) break ;;
	esac
done
[ $# -le 1 ] || usage
src=$(cd "${1:-$here}" && pwd)

die() {
	echo "fresh-root: FAIL $*" >&2
	exit 1
}
say() { echo "fresh-root: $*" >&2; }

[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, mount, chroot)"
for t in debootstrap git chroot mount umount; do
	command -v "$t" >/dev/null || die "$t not found on this host"
done
commit=$(git -C "$src" rev-parse HEAD 2>/dev/null) || die "$src is not a git checkout"
if [ -n "$(git -C "$src" status --porcelain --untracked-files=no)" ]; then
	say "warning: $src has uncommitted changes; they are not tested (only $commit is)"
fi

# --- the host's Debian sources ----------------------------------------------
# One-line entries "URI SUITE COMPONENT..." for every enabled bookworm* suite
# of /etc/apt/sources.list, *.list and *.sources (deb822) files; options
# such as [signed-by=...] are dropped (the root has debian-archive-keyring).
host_sources() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		sed -E -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" |
			awk '$1 == "deb" && $3 ~ /^bookworm/ { $1 = ""; sub(/^ /, ""); print }'
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk '
		function flush() {
			if (types ~ /(^| )deb( |$)/ && enabled != "no")
				for (i = 1; i <= nu; i++)
					for (j = 1; j <= ns; j++)
						if (s[j] ~ /^bookworm/)
							print u[i], s[j], comps
			types = ""; enabled = ""; comps = ""; nu = 0; ns = 0
		}
		/^[ \t]*#/ { next }
		/^[ \t]*$/ { flush(); next }
		{
			key = tolower($1); sub(/:$/, "", key)
			$1 = ""; sub(/^ +/, "")
			if (key == "types") types = $0
			else if (key == "enabled") enabled = tolower($0)
			else if (key == "uris") nu = split($0, u, " ")
			else if (key == "suites") ns = split($0, s, " ")
			else if (key == "components") comps = $0
		}
		END { flush() }' "$f"
	done
}
sources=$(host_sources | sort -u)
[ -n "$mirror" ] || mirror=$(awk '$2 == "bookworm" { print $1; exit }' <<<"$sources")
[ -n "$mirror" ] ||
	die "no bookworm entry in this host's apt sources to take the mirror from; use --mirror URL"
[ -n "$sources" ] || sources="$mirror bookworm main"

# --- the work directory -----------------------------------------------------
if [ -z "$dir" ]; then
	dir=$(mktemp -d /var/tmp/ringproxy-fresh-root.XXXXXX)
else
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	[ ! -e "$dir/root" ] || die "$dir/root exists; give another --dir"
fi
root=$dir/root
logs=$dir/logs
mkdir -p "$root" "$logs"
summary=$logs/summary.txt
: >"$summary"
note() { echo "$*" | tee -a "$summary" >&2; }

# --- clean-up, whatever happens ---------------------------------------------
mounted=()
bg_pids=()
in_root_pids() { # processes whose root directory is the chroot
	local p r
	for p in /proc/[0-9]*; do
		r=$(readlink "$p/root" 2>/dev/null) || continue
		[ "$r" = "$root" ] && echo "${p#/proc/}"
	done
	return 0
}
cleanup() {
	local rc=$? pid i left
	set +e
	for pid in ${bg_pids[@]+"${bg_pids[@]}"}; do
		kill -TERM "$pid" 2>/dev/null
	done
	# Whatever still runs inside the root (a test's leftover nginx, say)
	# holds its mounts; these are all children of this script's chroots.
	for i in 1 2 3; do
		left=$(in_root_pids)
		[ -n "$left" ] || break
		# shellcheck disable=SC2086
		kill -KILL $left 2>/dev/null
		sleep 1
	done
	# Last the root itself, with whatever the tests mounted below it.
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
		umount -R "${mounted[$i]}" 2>/dev/null || umount -Rl "${mounted[$i]}" ||
			say "cannot unmount ${mounted[$i]}"
	done
	if grep -q " $root/" /proc/mounts; then
		say "still mounted under $root, left in place:"
		grep " $root/" /proc/mounts >&2
	elif [ -z "$keep_root" ] && [ -d "$root" ]; then
		rm -rf --one-file-system "$root"
	fi
	[ -z "$keep_root" ] || say "root kept in $root"
	say "logs in $logs"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t_start=$(date +%s)
elapsed() { echo $(($(date +%s) - $1)); }
note "fresh-root: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), source $src at $commit"
note "fresh-root: host $(uname -r), $(nproc) CPUs; mirror $mirror; logs in $logs"

# --- 1. debootstrap -----------------------------------------------------------
t=$(date +%s)
say "debootstrap --variant=minbase --include=git,ca-certificates bookworm $root $mirror"
debootstrap --variant=minbase --include=git,ca-certificates bookworm "$root" "$mirror" \
	>"$logs/debootstrap.log" 2>&1 ||
	{ tail -20 "$logs/debootstrap.log" >&2; die "debootstrap failed ($logs/debootstrap.log)"; }
rm -f "$root/etc/apt/sources.list"
while read -r uri suite comps; do
	echo "deb $uri $suite $comps"
done <<<"$sources" >"$root/etc/apt/sources.list"
# Same validity rules as the host's apt (a snapshot mirror may need them).
for opt in Acquire::Check-Valid-Until Acquire::Check-Date; do
	v=$(apt-config dump "$opt" 2>/dev/null | sed -n "s/^$opt \"\(.*\)\";$/\1/p")
	[ -z "$v" ] || echo "$opt \"$v\";" >>"$root/etc/apt/apt.conf.d/99fresh-root"
done
note "debootstrap: ok, $(elapsed "$t") s, $(du -sm "$root" | cut -f1) MB; sources:"
sed 's/^/  /' "$root/etc/apt/sources.list" | tee -a "$summary" >&2

# --- 2. mounts and the tree ---------------------------------------------------
bind() { # SRC DEST
	mkdir -p "$root$2"
	mount --bind "$1" "$root$2"
	mounted+=("$root$2")
}
# The root is a mount point of its own, as / is on a real machine: `ip
# netns` (test_faults.py's blackholed backend) makes / a slave in its mount
# namespace, which fails on a plain directory. Private, so that what the
# tests mount below it (/run/netns) stays out of the host's namespace.
mount --bind "$root" "$root"
mount --make-private "$root"
mounted+=("$root")
mount -t proc proc "$root/proc"
mounted+=("$root/proc")
bind /sys /sys
bind /dev /dev
bind /dev/pts /dev/pts
bind /dev/shm /dev/shm
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
grep -qw localhost "$root/etc/hosts" 2>/dev/null ||
	printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >>"$root/etc/hosts"
git clone -q --no-local "$src" "$root/root/ringproxy" >"$logs/clone.log" 2>&1 ||
	die "git clone $src failed ($logs/clone.log)"
git -C "$root/root/ringproxy" checkout -q --detach "$commit"

# As root in the chroot with a clean environment (no host PATH, no pyenv):
# "${in_root[@]}" 'SHELL COMMAND', run from the tree. A simple command, not a
# function, so that a background one's $! is the chroot's pid, which the
# exec chain (chroot, env, bash, start.sh) hands on to ringproxy.
in_root=(chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	/bin/bash -c)

# --- 3. README's first command: bash scripts/start.sh ---------------------------
port_busy() { # PORT: something listens on 127.0.0.1:PORT
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
port_busy 3128 && die "127.0.0.1:3128 is taken on this host (the root shares its network)"
t=$(date +%s)
say "bash scripts/start.sh (installs the build packages, builds, starts ringproxy)"
: >"$logs/start.log"
"${in_root[@]}" "cd /root/ringproxy && exec bash scripts/start.sh" >>"$logs/start.log" 2>&1 &
rp_pid=$!
bg_pids+=("$rp_pid")
deadline=$((t + 1800))
until grep -q "listening on 127.0.0.1:3128" "$logs/start.log"; do
	if ! kill -0 "$rp_pid" 2>/dev/null; then
		wait "$rp_pid" && rc=0 || rc=$?
		tail -30 "$logs/start.log" >&2
		die "start.sh exited ($rc) before listening on 127.0.0.1:3128 ($logs/start.log)"
	fi
	[ "$(date +%s)" -lt "$deadline" ] || die "start.sh not listening after 1800 s ($logs/start.log)"
	sleep 2
done
start_s=$(elapsed "$t")

# A local origin that records what reaches it; the host's own tools, as the
# root has no curl or python3 before test.sh installs them.
origin_port=
origin_log=$logs/origin.log
if [ -x /usr/bin/python3 ]; then
	origin_port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	/usr/bin/python3 -m http.server --bind 127.0.0.1 "$origin_port" >"$origin_log" 2>&1 &
	bg_pids+=("$!")
	for _ in $(seq 50); do port_busy "$origin_port" && break; sleep 0.1; done
	port_busy "$origin_port" || die "the local origin did not start ($origin_log)"
else
	origin_port=9 # discard: nothing listens; ringproxy must refuse before connecting
fi
url=http://127.0.0.1:$origin_port/
if command -v curl >/dev/null; then
	code=$(curl -sS -o "$logs/proxied-response.txt" -w '%{http_code}' --max-time 10 \
		-x http://127.0.0.1:3128 "$url" 2>"$logs/curl.err") || code="curl failed: $(cat "$logs/curl.err")"
else
	code=$( (exec 3<>/dev/tcp/127.0.0.1/3128 &&
		printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' \
			"$url" "$origin_port" >&3 &&
		timeout 10 cat <&3) | tee "$logs/proxied-response.txt" | head -1 | cut -d' ' -f2)
fi
reached=0
[ ! -s "$origin_log" ] || reached=$(grep -c '"GET ' "$origin_log" || true)
kill -TERM "$rp_pid"
wait "$rp_pid" && rp_rc=0 || rp_rc=$?
bg_pids=("${bg_pids[@]:1}")
accepted=$(sed -nE 's/.*stats reactor=[0-9]+ cpu=[0-9]+ accepted=([0-9]+).*/\1/p' "$logs/start.log" |
	awk '{ n += $1 } END { print n + 0 }')
phase1=ok
why=()
[ "$code" = 403 ] || why+=("the proxied request got '$code', not ringproxy's 403")
[ "$reached" -eq 0 ] || why+=("$reached request(s) reached the loopback origin")
[ "$rp_rc" -eq 0 ] || why+=("ringproxy exited $rp_rc on SIGTERM, not 0")
[ "$accepted" -ge 1 ] || why+=("the stats at exit count no accepted connection")
[ ${#why[@]} -eq 0 ] || phase1=FAIL
note "start.sh: $phase1, listening after $start_s s (apt installs and the release build);" \
	"curl -x http://127.0.0.1:3128 $url -> $code (SSRF guard), origin reached $reached time(s)," \
	"SIGTERM -> exit $rp_rc, $accepted connection(s) accepted in the stats"
for w in ${why[@]+"${why[@]}"}; do note "  FAIL: $w"; done

# --- 4. README's second command: bash scripts/test.sh ---------------------------
phase2=not-run
if [ -n "$run_tests" ]; then
	port_busy 3128 && die "127.0.0.1:3128 still taken after ringproxy stopped"
	t=$(date +%s)
	say "bash scripts/test.sh (installs the test packages, builds, runs every test; $logs/test.log)"
	"${in_root[@]}" "cd /root/ringproxy && bash scripts/test.sh" >"$logs/test.log" 2>&1 &&
		test_rc=0 || test_rc=$?
	test_s=$(elapsed "$t")
	last=$(tail -1 "$logs/test.log")
	phase2=ok
	[ "$test_rc" -eq 0 ] || phase2=FAIL
	note "test.sh: $phase2, exit $test_rc after $test_s s; last line: $last"
	grep -E '^FAILED: |\*\*\*(Failed|Timeout|Skipped|Not Run)|^fuzz: .* FAILED' \
		"$logs/test.log" | sed 's/^/  /' | tee -a "$summary" >&2 || true
	# the ctest logs are in the root, which may be removed: keep them
	for b in ci asan; do
		cp "$root/root/ringproxy/build/$b/ctest.log" "$logs/ctest-$b.log" 2>/dev/null || true
	done
fi

note "fresh-root: total $(elapsed "$t_start") s; start.sh $phase1, test.sh $phase2"
[ "$phase1" = ok ] && { [ -z "$run_tests" ] || [ "$phase2" = ok ]; }

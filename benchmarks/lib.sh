# shellcheck shell=bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Helpers shared by the end-to-end benchmarks (e2e_l4.sh, e2e_http.sh,
# e2e_forward.sh).
# Source it after setting BENCH_NAME (the prefix of log lines); it defines
# functions only, plus bench_init, which creates $TMP and installs the traps
# that stop every process in PIDS on exit.

log() { printf '%s: %s\n' "$BENCH_NAME" "$*" >&2; }
die() { printf '%s: error: %s\n' "$BENCH_NAME" "$*" >&2; exit 1; }

# ensure_python3 WHY: python3 is used to parse results and print the table.
ensure_python3() {
	command -v python3 >/dev/null 2>&1 && return 0
	if [ "$(id -u)" -eq 0 ]; then
		log "installing python3 ($1)"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-minimal >/dev/null ||
			{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-minimal >/dev/null; } ||
			die "could not install python3"
	else
		die "python3 is needed (apt-get install python3-minimal)"
	fi
}

# apt_no_daemons CMD...: runs CMD (an install) so that the packages it installs
# do not start their system services (squid, tinyproxy, nginx... would listen
# on their default ports): as root, with a /usr/sbin/policy-rc.d that denies
# every start, removed afterwards. An existing policy-rc.d is left as it is.
apt_no_daemons() {
	if [ "$(id -u)" -ne 0 ] || [ -e /usr/sbin/policy-rc.d ]; then
		"$@"
		return
	fi
	(
		trap 'rm -f /usr/sbin/policy-rc.d' EXIT
		trap 'exit 130' INT
		trap 'exit 143' TERM
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		"$@"
	)
}

# ---- process bookkeeping and cleanup -----------------------------------------
PIDS=()

descendants() { # pid -> all descendant pids, one a line
	local p=$1 c
	for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do
		echo "$c"
		descendants "$c"
	done
}

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# stop_pid PID: TERM the process (and, if it lingers, KILL it and its
# descendants); bounded to ~5 s. Sets STOP_RC to its exit status.
# shellcheck disable=SC2034 # STOP_RC is read by the callers
stop_pid() {
	local pid=$1 kids i
	STOP_RC=0
	alive "$pid" || { wait "$pid" 2>/dev/null || STOP_RC=$?; return 0; }
	kids=$(descendants "$pid")
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		alive "$pid" || break
		# a zombie child of ours is gone for our purpose
		[ "$(awk '{print $3}' /proc/"$pid"/stat 2>/dev/null)" = Z ] && break
		sleep 0.1
	done
	if alive "$pid" && [ "$(awk '{print $3}' /proc/"$pid"/stat 2>/dev/null)" != Z ]; then
		log "pid $pid did not exit on TERM within 5 s; killing it"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	for i in $kids; do
		if alive "$i"; then kill -KILL "$i" 2>/dev/null || true; fi
	done
	wait "$pid" 2>/dev/null || STOP_RC=$?
	return 0
}

untrack() {
	local p=$1 i
	for i in "${!PIDS[@]}"; do
		[ "${PIDS[$i]}" = "$p" ] && unset 'PIDS[i]'
	done
	return 0
}

bench_cleanup() {
	local rc=$? p
	trap - EXIT INT TERM
	for p in "${PIDS[@]}"; do
		stop_pid "$p"
	done
	# a script's own last words, if it defines any (files outside $TMP)
	if declare -F bench_on_exit >/dev/null; then bench_on_exit || true; fi
	if [ "${KEEP_TMP:-0}" = 1 ] || [ $rc -ne 0 ]; then
		log "logs and configs kept in $TMP"
	else
		rm -rf "$TMP"
	fi
	exit $rc
}

# bench_init: creates TMP (/tmp/$BENCH_NAME.XXXXXX) and the exit/INT/TERM
# traps; every pid added to PIDS is stopped on exit, then the function
# bench_on_exit runs if the script defines one.
bench_init() {
	TMP=$(mktemp -d "/tmp/$BENCH_NAME.XXXXXX")
	trap bench_cleanup EXIT
	trap 'log "interrupted"; exit 130' INT
	trap 'log "terminated"; exit 143' TERM
}

# ---- ports -------------------------------------------------------------------
listening() { # port -> 0 if something listens on 127.0.0.1:port (or any addr)
	local hex
	hex=$(printf '%04X' "$1")
	awk -v h="$hex" 'NR > 1 && $4 == "0A" { split($2, a, ":"); if (a[2] == h) f = 1 } END { exit !f }' \
		/proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# wait_port PORT PID: up to 10 s for PORT to listen while PID stays alive.
wait_port() {
	local port=$1 pid=$2 i
	for ((i = 0; i < 100; i++)); do
		listening "$port" && return 0
		alive "$pid" || return 1
		sleep 0.1
	done
	return 1
}

# ---- CPU accounting ----------------------------------------------------------
# cpu_ticks PID: utime+stime (fields 14+15 of /proc/PID/stat, all threads,
# io-wq workers included) of PID and all its descendants, in clock ticks.
cpu_ticks() {
	local p sum=0 t
	for p in "$1" $(descendants "$1"); do
		t=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' /proc/"$p"/stat 2>/dev/null) || t=0
		sum=$((sum + ${t:-0}))
	done
	echo "$sum"
}

# cpu_ticks_all PID: as cpu_ticks, plus cutime+cstime (fields 16+17): the CPU
# of children already exited and reaped, for servers that fork per connection
# (socat) or whose helpers come and go. A child is counted either live or
# reaped, never twice; take differences, as the totals include the past.
cpu_ticks_all() {
	local p sum=0 t
	for p in "$1" $(descendants "$1"); do
		t=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 + $14 + $15 }' /proc/"$p"/stat 2>/dev/null) || t=0
		sum=$((sum + ${t:-0}))
	done
	echo "$sum"
}

cpu_busy_pct() { # share of all CPUs busy over the next second
	local a b
	a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
	sleep 1
	b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
	awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); bu = y[1] - x[1]; id = y[2] - x[2]
		pct = (bu + id > 0) ? 100 * bu / (bu + id) : 0; printf "%.0f", pct }'
}

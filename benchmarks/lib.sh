# shellcheck shell=bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Helpers shared by the end-to-end benchmarks (e2e_l4.sh, e2e_http.sh,
# e2e_forward.sh, e2e_tls.sh).
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

# reaped_ticks PID: cutime+cstime (fields 16+17) of PID alone: the CPU of the
# children it has waited for, theirs included. A client run in a $(...) is
# charged to the shell that runs the substitution once it has ended.
reaped_ticks() {
	awk '{ sub(/^.*\) /, ""); print $14 + $15 }' /proc/"$1"/stat 2>/dev/null || echo 0
}

cpu_busy_pct() { # share of all CPUs busy over the next second
	local a b
	a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
	sleep 1
	b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
	awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); bu = y[1] - x[1]; id = y[2] - x[2]
		pct = (bu + id > 0) ? 100 * bu / (bu + id) : 0; printf "%.0f", pct }'
}

# wait_quiet MAX_S PCT: waits, up to MAX_S seconds more than the first 1-second
# reading, until all the CPUs together are at most PCT% busy (other sessions
# on a shared machine); prints "<last reading> <seconds waited>".
wait_quiet() {
	local max=$1 pct=$2 t0=$SECONDS b
	while :; do
		b=$(cpu_busy_pct)
		if [ "$b" -le "$pct" ] || [ $((SECONDS - t0)) -gt "$max" ]; then
			echo "$b $((SECONDS - t0 - 1))"
			return 0
		fi
	done
}

cpu01() { # "busy0 total0 busy1 total1" from /proc/stat
	awk '$1 == "cpu0" || $1 == "cpu1" { printf "%d %d ", $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }
		END { print "" }' /proc/stat
}
busy01() { # C0 C1 (two cpu01 readings) -> "busy0% busy1%"
	awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " ")
		for (i = 0; i < 2; i++) { t = y[2 * i + 2] - x[2 * i + 2]; printf "%.0f ", (t > 0 ? 100 * (y[2 * i + 1] - x[2 * i + 1]) / t : 0) }
		print "" }'
}

# ---- free ports ----------------------------------------------------------------
# ports_init BASE: next_free_port then hands out ports from BASE up, skipping
# every port that a socket on this machine used (listening or not) when
# ports_init ran.
ports_init() {
	local h
	declare -gA USED_PORTS=()
	for h in $(awk 'NR > 1 { split($2, a, ":"); print a[2] }' /proc/net/tcp /proc/net/tcp6 2>/dev/null | sort -u); do
		USED_PORTS[$((16#$h))]=1
	done
	PORTS_BASE=$1
	NEXT_PORT=$1
}
# shellcheck disable=SC2034 # FREE_PORT is read by the callers
next_free_port() { # sets FREE_PORT
	while [ -n "${USED_PORTS[$NEXT_PORT]:-}" ]; do
		NEXT_PORT=$((NEXT_PORT + 1))
	done
	[ "$NEXT_PORT" -le 65535 ] || die "no free port above BENCH_PORT_BASE=$PORTS_BASE"
	FREE_PORT=$NEXT_PORT
	USED_PORTS[$NEXT_PORT]=1
}

# ---- wrk -----------------------------------------------------------------------
# wrk_summary: wrk --latency output on stdin ->
#   "OK rps requests sockerr non2xx p50us p99us readerr" or "ERR why"
#   (sockerr = connect + read + write + timeout errors; readerr = the read
#   errors alone, also counted in sockerr)
wrk_summary() {
	awk '
		function us(v) {
			if (v ~ /us$/) return v + 0
			if (v ~ /ms$/) return (v + 0) * 1e3
			if (v ~ /m$/) return (v + 0) * 60e6
			if (v ~ /h$/) return (v + 0) * 3600e6
			if (v ~ /s$/) return (v + 0) * 1e6
			return v + 0
		}
		/Latency Distribution/ { dist = 1 }
		dist && $1 == "50%" { p50 = us($2) }
		dist && $1 == "99%" { p99 = us($2) }
		/requests in/ { req = $1 }
		/^Requests\/sec:/ { rps = $2 }
		/Socket errors:/ { gsub(/,/, ""); err = $4 + $6 + $8 + $10; rd = $6 }
		/Non-2xx or 3xx responses:/ { bad = $NF }
		END {
			if (rps == "") { print "ERR wrk printed no Requests/sec"; exit }
			printf "OK %s %d %d %d %.0f %.0f %d\n", rps, req, err, bad, p50, p99, rd
		}'
}

# ---- TLS -----------------------------------------------------------------------
# tls_make_cert DIR: a self-signed P-256 ECDSA certificate for 127.0.0.1 and
# localhost: DIR/cert.pem, DIR/key.pem, and DIR/both.pem (the two in one file,
# for HAProxy's "crt").
tls_make_cert() {
	local d=$1
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -days 7 \
		-keyout "$d/key.pem" -out "$d/cert.pem" -subj /CN=localhost \
		-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" >"$d/openssl.log" 2>&1 ||
		{ cat "$d/openssl.log" >&2; die "openssl could not make a certificate"; }
	cat "$d/cert.pem" "$d/key.pem" >"$d/both.pem"
}

# tls_client_conf FILE VERSION TLS12_CIPHERS TLS13_SUITES GROUPS: an OpenSSL
# configuration, for OPENSSL_CONF, that pins what OpenSSL clients (wrk,
# python3, openssl s_client) offer: TLS VERSION only (1.2 or 1.3), these
# cipher suites and these key exchange groups (OpenSSL refuses a TLS 1.2 server
# whose ECDSA certificate's curve is not among the groups). Give it to the
# clients, not to the servers.
tls_client_conf() {
	cat >"$1" <<EOF
# OpenSSL client settings of the benchmark (the clients' OPENSSL_CONF)
openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
MinProtocol = TLSv$2
MaxProtocol = TLSv$2
CipherString = $3
Ciphersuites = $4
Groups = $5
EOF
}

#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# End-to-end HTTP (L7) proxy comparison on loopback: direct (no proxy),
# ringproxy --mode http, HAProxy (mode http) and nginx (proxy_pass), each in
# front of an nginx origin serving static files. See benchmarks/README.md,
# "e2e_http.sh".
#
#   benchmarks/e2e_http.sh [--quick] [--help]
#
# Environment:
#   BENCH_ROUNDS       interleaved rounds, medians taken over them   (3)
#   BENCH_SECONDS      seconds per wrk run                           (5)
#   BENCH_OUT          table file    (benchmarks/results/e2e_http-<date>.txt)
#   BENCH_CONTENDERS   comma list, subset of: direct,ringproxy,haproxy,nginx
#   BENCH_SCENARIOS    comma list, subset of: ka-0,ka-1k,ka-64k,close-1k
#   BENCH_WORKERS      worker counts to run, space separated         ("1 2")
#   BENCH_CONNS        wrk concurrent connections                    (32)
#   BENCH_VERIFY       1 = check responses through each contender    (1)
#   BENCH_PORT_BASE    free loopback ports are searched from here    (25300)
#   RINGPROXY          ringproxy binary  (<repo>/build/release/ringproxy,
#                      or <repo>/build/ringproxy when that is missing)
#   RINGPROXY_ARGS     extra ringproxy arguments, word-split       (none)
#
# Everything binds to 127.0.0.1 only. Every process the script starts is
# tracked and stopped on exit, including on Ctrl-C and on failure.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
BENCH_NAME=e2e_http
# shellcheck source=benchmarks/lib.sh
. "$here/lib.sh"

usage() {
	sed -n '4,26p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

quick=0
for a in "$@"; do
	case "$a" in
	--quick) quick=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "e2e_http: unknown argument '$a'" >&2; usage >&2; exit 2 ;;
	esac
done

ROUNDS=${BENCH_ROUNDS:-3}
SECS=${BENCH_SECONDS:-5}
if [ "$quick" = 1 ]; then
	ROUNDS=1
	SECS=2
fi
CONNS=${BENCH_CONNS:-32}
VERIFY=${BENCH_VERIFY:-1}
WORKERS_LIST=${BENCH_WORKERS:-"1 2"}
PORT_BASE=${BENCH_PORT_BASE:-25300}
if [ -n "${RINGPROXY:-}" ]; then
	RP=$RINGPROXY
elif [ -x "$repo/build/release/ringproxy" ]; then
	RP=$repo/build/release/ringproxy
else
	RP=$repo/build/ringproxy
fi
read -r -a RP_USER_ARGS <<<"${RINGPROXY_ARGS:-}"
ALL_CONTENDERS="direct,ringproxy,haproxy,nginx"
ALL_SCENARIOS="ka-0,ka-1k,ka-64k,close-1k"
IFS=, read -r -a CONTENDERS <<<"${BENCH_CONTENDERS:-$ALL_CONTENDERS}"
IFS=, read -r -a SCENARIOS <<<"${BENCH_SCENARIOS:-$ALL_SCENARIOS}"
STAMP=$(date +%Y%m%d-%H%M%S)
START_UTC=$(date -u '+%Y-%m-%d %H:%M UTC')
OUT=${BENCH_OUT:-$repo/benchmarks/results/e2e_http-$STAMP.txt}
T_START=$(date +%s)

for v in ROUNDS:BENCH_ROUNDS SECS:BENCH_SECONDS CONNS:BENCH_CONNS PORT_BASE:BENCH_PORT_BASE; do
	val=${v%%:*}
	val=${!val}
	[[ $val =~ ^[1-9][0-9]*$ ]] || die "${v#*:} must be a positive integer (got '$val')"
done
if [ "$PORT_BASE" -lt 1024 ] || [ "$PORT_BASE" -gt 65000 ]; then die "BENCH_PORT_BASE must be within 1024..65000"; fi
for w in $WORKERS_LIST; do
	[[ $w == 1 || $w == 2 ]] || die "BENCH_WORKERS: only 1 and 2 are supported (got '$w')"
done
need_rp=0
for c in "${CONTENDERS[@]}"; do
	case ",$ALL_CONTENDERS," in
	*",$c,"*) ;;
	*) die "BENCH_CONTENDERS: unknown contender '$c' (known: $ALL_CONTENDERS)" ;;
	esac
	[ "$c" = ringproxy ] && need_rp=1
done
for s in "${SCENARIOS[@]}"; do
	case ",$ALL_SCENARIOS," in
	*",$s,"*) ;;
	*) die "BENCH_SCENARIOS: unknown scenario '$s' (known: $ALL_SCENARIOS)" ;;
	esac
done
[ "$(nproc)" -ge 2 ] || die "needs at least 2 CPUs (pins to CPU 0 and CPU 1)"

# ---- dependencies ------------------------------------------------------------
have_tools() {
	local t
	for t in haproxy nginx wrk taskset; do
		command -v "$t" >/dev/null 2>&1 || return 1
	done
}
export PATH=$PATH:/usr/sbin:/sbin
if ! have_tools; then
	log "installing benchmark packages: bash scripts/deps.sh all"
	bash "$repo/scripts/deps.sh" all || die "scripts/deps.sh all failed"
	have_tools || die "haproxy/nginx/wrk/taskset still missing after scripts/deps.sh all"
fi
ensure_python3 "used to check responses and print the table"
if [ "$need_rp" = 1 ] && [ ! -x "$RP" ]; then
	die "ringproxy binary not found at $RP.
  Build it first:
    cmake -S $repo -B $repo/build/release -DCMAKE_BUILD_TYPE=Release && cmake --build $repo/build/release -j2
  (or point RINGPROXY=/path/to/ringproxy, or leave ringproxy out of BENCH_CONTENDERS)"
fi

CLK_TCK=$(getconf CLK_TCK)

# process bookkeeping, cleanup and the traps: lib.sh
bench_init

RP_ARGS=()
if [ "$need_rp" = 1 ]; then
	# run a private copy so a rebuild during the benchmark cannot swap it
	RP_ORIG=$RP
	cp "$RP" "$TMP/ringproxy"
	RP=$TMP/ringproxy
	# options of the HTTP data path, used when this binary has them
	rp_help=$("$RP" reverse --help 2>&1 || true)
	if grep -q -- '--pool-max-idle' <<<"$rp_help"; then
		RP_ARGS+=(--pool-max-idle 256)
	fi
	RP_ARGS+=("${RP_USER_ARGS[@]}")
fi

# ---- origin content ----------------------------------------------------------
WWW=$TMP/www
mkdir -p "$WWW"
: >"$WWW/0b"
head -c 1024 /dev/urandom >"$WWW/1k"
head -c 65536 /dev/urandom >"$WWW/64k"

scenario_path() { # scenario -> URL path
	case "$1" in
	ka-0) echo /0b ;;
	ka-1k | close-1k) echo /1k ;;
	ka-64k) echo /64k ;;
	esac
}

# The response checker used by verify() below.
cat >"$TMP/verify.py" <<'PY'
# Response check through an HTTP proxy: every file over one keep-alive
# connection (3 times, body compared byte for byte), a HEAD, a 404, and one
# request with "Connection: close". Prints "OK <requests>" or "ERR <what>".
import http.client, os, sys
port, www = int(sys.argv[1]), sys.argv[2]
files = {"/" + n: open(os.path.join(www, n), "rb").read() for n in ("0b", "1k", "64k")}
errors, n = [], 0

def get(conn, method, path, headers={}):
    global n
    conn.request(method, path, headers=headers)
    r = conn.getresponse()
    d = r.read()
    n += 1
    return r, d

try:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    for rep in range(3):
        for path, body in files.items():
            r, d = get(c, "GET", path)
            if r.status != 200:
                errors.append("GET %s: status %d" % (path, r.status))
            elif d != body:
                errors.append("GET %s: %d body bytes, not the %d of the file" % (path, len(d), len(body))
                              if len(d) != len(body) else "GET %s: body differs from the file" % path)
            if r.will_close:
                errors.append("GET %s: keep-alive connection closed" % path)
    r, d = get(c, "HEAD", "/64k")
    if r.status != 200 or d or r.getheader("Content-Length") != "65536":
        errors.append("HEAD /64k: status %d, Content-Length %s, %d body bytes"
                      % (r.status, r.getheader("Content-Length"), len(d)))
    r, d = get(c, "GET", "/missing")
    if r.status != 404:
        errors.append("GET /missing: status %d, not 404" % r.status)
    r, d = get(c, "GET", "/1k")
    if r.status != 200 or d != files["/1k"]:
        errors.append("GET /1k after a 404: status %d, %d bytes" % (r.status, len(d)))
    c.close()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    r, d = get(c, "GET", "/1k", {"Connection": "close"})
    if r.status != 200 or d != files["/1k"]:
        errors.append("GET /1k with Connection: close: status %d, %d bytes" % (r.status, len(d)))
    elif not r.will_close:
        errors.append("GET /1k with Connection: close: the response does not close")
    c.close()
except Exception as e:
    errors.append("request %d: %s: %s" % (n + 1, type(e).__name__, e))
print("ERR " + "; ".join(errors[:4]) if errors else "OK %d" % n)
PY

# ---- ports -------------------------------------------------------------------
# Free ports from BENCH_PORT_BASE up (lib.sh).
ports_init "$PORT_BASE"
next_free_port
ORIGIN_PORT=$FREE_PORT
PROXY_PORTS=()
for i in "${!CONTENDERS[@]}"; do
	if [ "${CONTENDERS[$i]}" = direct ]; then
		PROXY_PORTS[i]=$ORIGIN_PORT
	else
		next_free_port
		PROXY_PORTS[i]=$FREE_PORT
	fi
done

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# ---- origin ------------------------------------------------------------------
# start_origin WORKERS CPUS: nginx serving $WWW, one worker per CPU pinned.
start_origin() {
	local w=$1 cc=$2 conf aff=01
	conf=$TMP/origin-w$w
	[ "$w" = 2 ] && aff="01 10"
	mkdir -p "$conf"
	cat >"$conf/nginx.conf" <<EOF
# Origin: static files of 0 B, 1 KiB and 64 KiB.
daemon off;
master_process on;
user root;
worker_processes $w;
worker_cpu_affinity $aff;
worker_rlimit_nofile 16384;
pid $conf/nginx.pid;
error_log $conf/error.log warn;
events { worker_connections 8192; }
http {
	access_log off;
	client_body_temp_path $conf/body;
	proxy_temp_path $conf/proxy;
	default_type application/octet-stream;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 10000000;
	keepalive_timeout 300s;
	open_file_cache max=16 inactive=600s;
	open_file_cache_valid 600s;
	server {
		listen 127.0.0.1:$ORIGIN_PORT backlog=4096 reuseport;
		root $WWW;
		location / { }
	}
}
EOF
	taskset -c "$cc" nginx -p "$conf" -c "$conf/nginx.conf" -e "$conf/error.log" >"$conf/nginx.out" 2>&1 &
	ORIGIN_PID=$!
	PIDS+=("$ORIGIN_PID")
	wait_port "$ORIGIN_PORT" "$ORIGIN_PID" || { cat "$conf/nginx.out" "$conf/error.log" >&2; die "nginx origin did not start"; }
}

stop_origin() {
	stop_pid "$ORIGIN_PID"
	untrack "$ORIGIN_PID"
}

# ---- contenders --------------------------------------------------------------
label() {
	case "$1" in
	direct) echo "direct" ;;
	ringproxy) echo "ringproxy http" ;;
	haproxy) echo "haproxy http" ;;
	nginx) echo "nginx proxy_pass" ;;
	esac
}

# start_proxy CONTENDER WORKERS PROXY_CPUS LISTEN_PORT TAG
# Sets PROXY_PID (empty for direct), PROXY_LOG and PROXY_CMD; returns 1 if it
# failed, with the first line of its error output in PROXY_ERR.
start_proxy() {
	local c=$1 w=$2 pc=$3 lp=$4 d=$TMP/$1-w$2-$5
	mkdir -p "$d"
	PROXY_PID=
	PROXY_LOG=$d/stderr.log
	PROXY_CMD=
	PROXY_ERR=
	case "$c" in
	direct) return 0 ;;
	ringproxy)
		PROXY_CMD="taskset -c $pc $RP reverse --mode http --listen 127.0.0.1:$lp --to 127.0.0.1:$ORIGIN_PORT --reactors $w --cpus $pc --drain-timeout 1s${RP_ARGS[*]:+ ${RP_ARGS[*]}}"
		taskset -c "$pc" "$RP" reverse --mode http --listen "127.0.0.1:$lp" --to "127.0.0.1:$ORIGIN_PORT" \
			--reactors "$w" --cpus "$pc" --drain-timeout 1s "${RP_ARGS[@]}" >"$PROXY_LOG" 2>&1 &
		;;
	haproxy)
		local cpumap="cpu-map 1/1 $pc"
		[ "$w" = 2 ] && cpumap=$'cpu-map 1/1 0\n\tcpu-map 1/2 1'
		cat >"$d/haproxy.cfg" <<EOF
global
	nbthread $w
	$cpumap
	maxconn 4000
	pidfile $d/haproxy.pid
defaults
	mode http
	option http-keep-alive
	timeout connect 2s
	timeout client 30s
	timeout server 30s
	timeout http-request 10s
	timeout http-keep-alive 300s
frontend fe
	bind 127.0.0.1:$lp
	default_backend be
backend be
	http-reuse always
	server s1 127.0.0.1:$ORIGIN_PORT
EOF
		PROXY_CMD="taskset -c $pc haproxy -db -f $d/haproxy.cfg"
		# shellcheck disable=SC2086
		$PROXY_CMD >"$PROXY_LOG" 2>&1 &
		;;
	nginx)
		local aff="10"
		[ "$w" = 2 ] && aff="01 10"
		# proxy_buffers hold a whole 64 KiB response, and no temp files:
		# with the defaults (8 x 4k) nginx would spill it to disk.
		cat >"$d/nginx.conf" <<EOF
daemon off;
master_process on;
user root;
worker_processes $w;
worker_cpu_affinity $aff;
worker_rlimit_nofile 16384;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 8192; }
http {
	access_log off;
	client_body_temp_path $d/body;
	proxy_temp_path $d/proxy;
	keepalive_requests 10000000;
	keepalive_timeout 300s;
	upstream origin {
		server 127.0.0.1:$ORIGIN_PORT;
		keepalive 256;
		keepalive_requests 10000000;
		keepalive_timeout 300s;
	}
	server {
		listen 127.0.0.1:$lp backlog=4096 reuseport;
		location / {
			proxy_pass http://origin;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_buffer_size 16k;
			proxy_buffers 8 16k;
			proxy_max_temp_file_size 0;
		}
	}
}
EOF
		PROXY_CMD="taskset -c $pc nginx -p $d -c $d/nginx.conf -e $d/error.log"
		# shellcheck disable=SC2086
		$PROXY_CMD >"$PROXY_LOG" 2>&1 &
		;;
	esac
	PROXY_PID=$!
	PIDS+=("$PROXY_PID")
	if ! wait_port "$lp" "$PROXY_PID"; then
		# the first line that looks like an error, else the first line
		PROXY_ERR=$(cat "$PROXY_LOG" "$d/error.log" 2>/dev/null |
			awk 'NF && !first { first = $0 } NF && /ALERT|emerg|[Ee]rror|fatal|not available|invalid|unknown/ { print; found = 1; exit }
				END { if (!found && first != "") print first }')
		alive "$PROXY_PID" && [ -z "$PROXY_ERR" ] && PROXY_ERR="did not listen on 127.0.0.1:$lp within 10 s"
		[ -n "$PROXY_ERR" ] || PROXY_ERR="exited without an error message"
		stop_pid "$PROXY_PID"; untrack "$PROXY_PID"
		PROXY_PID=
		return 1
	fi
	return 0
}

stop_proxy() {
	PROXY_STATS=
	[ -n "$PROXY_PID" ] || return 0
	local rc
	stop_pid "$PROXY_PID"
	rc=$STOP_RC
	untrack "$PROXY_PID"
	if [ "$CUR" = ringproxy ]; then
		[ "$rc" -ne 0 ] && [ "$rc" -ne 127 ] && log "$(label "$CUR") (w$CUR_W) exited with status $rc after TERM: $PROXY_CMD"
		# sum the key=value counters of every "stats" line (kept in the raw file)
		PROXY_STATS=$(awk '/ringproxy: stats /{ for (i = 1; i <= NF; i++) if (split($i, kv, "=") == 2 && kv[1] != "reactor" && kv[1] != "cpu") s[kv[1]] += kv[2] }
			END { n = 0; for (k in s) { printf "%s%s=%.0f", (n++ ? ";" : ""), k, s[k] } }' "$PROXY_LOG")
	fi
	PROXY_PID=
}

# ---- measurements ------------------------------------------------------------
RAW=$TMP/raw.tsv
: >"$RAW"
FAILS=()
declare -A NA_MSG=() # "W contender" -> why it is n/a at that worker count

# record W SCENARIO CONTENDER ROUND KIND VALUE REQUESTS CPU_S P50_US P99_US SOCKERR NON2XX BUSY0 BUSY1 STATS NOTE
record() {
	local IFS=$'\t'
	printf '%s\n' "$*" >>"$RAW"
}

# run_wrk PORT CLIENT_CPUS THREADS PATH CLOSE
#   -> "OK rps requests sockerr non2xx p50us p99us" or "ERR why"
run_wrk() {
	local port=$1 cc=$2 t=$3 path=$4 close=$5 out rc=0 hdr=()
	[ "$close" = 1 ] && hdr=(-H "Connection: close")
	out=$(timeout --foreground -k 5 $((SECS + 30)) taskset -c "$cc" \
		wrk -t"$t" -c"$CONNS" -d"${SECS}s" --timeout 5s --latency "${hdr[@]}" \
		"http://127.0.0.1:$port$path" 2>&1) || rc=$?
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		echo "ERR wrk timed out after $((SECS + 30)) s"
		return 0
	fi
	printf '%s\n' "$out" | awk '
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
		/Socket errors:/ { gsub(/,/, ""); err = $4 + $6 + $8 + $10 }
		/Non-2xx or 3xx responses:/ { bad = $NF }
		END {
			if (rps == "") { print "ERR wrk printed no Requests/sec"; exit }
			printf "OK %s %d %d %d %.0f %.0f\n", rps, req, err, bad, p50, p99
		}'
}

# measure CONTENDER_INDEX SCENARIO WORKERS ROUND
measure() {
	local idx=$1 s=$2 w=$3 r=$4 c=${CONTENDERS[$1]} pc cc wt lp res t0 t1 cpu c0 c1 busy0 busy1 close=0
	CUR=$c
	CUR_W=$w
	if [ "$w" = 1 ]; then pc=1; cc=0; wt=1; else pc=0-1; cc=0-1; wt=2; fi
	lp=${PROXY_PORTS[$idx]}
	[[ $s == close-* ]] && close=1
	if [ -n "${NA_MSG["$w $c"]:-}" ]; then
		record "$w" "$s" "$c" "$r" run NA 0 NA NA NA 0 0 NA NA "" "${NA_MSG["$w $c"]}"
		return 0
	fi
	if ! start_proxy "$c" "$w" "$pc" "$lp" "$s-r$r"; then
		not_started "$c" "$w" "$s round $r"
		record "$w" "$s" "$c" "$r" run NA 0 NA NA NA 0 0 NA NA "" "${NA_MSG["$w $c"]}"
		return 0
	fi
	c0=$(cpu01)
	t0=$([ -n "$PROXY_PID" ] && cpu_ticks "$PROXY_PID" || echo NA)
	res=$(run_wrk "$lp" "$cc" "$wt" "$(scenario_path "$s")" "$close")
	t1=$([ -n "$PROXY_PID" ] && cpu_ticks "$PROXY_PID" || echo NA)
	c1=$(cpu01)
	cpu=NA
	[ "$t0" != NA ] && cpu=$(awk -v a="$t0" -v b="$t1" -v h="$CLK_TCK" 'BEGIN { printf "%.3f", (b - a) / h }')
	read -r busy0 busy1 < <(awk -v a="$c0" -v b="$c1" 'BEGIN { split(a, x, " "); split(b, y, " ")
		for (i = 0; i < 2; i++) { t = y[2 * i + 2] - x[2 * i + 2]; printf "%.0f ", (t > 0 ? 100 * (y[2 * i + 1] - x[2 * i + 1]) / t : 0) }
		print "" }')
	if [ -n "$PROXY_PID" ] && ! alive "$PROXY_PID"; then
		res="ERR proxy process died during the run"
	fi
	stop_proxy
	# shellcheck disable=SC2086
	set -- $res
	if [ "$1" = OK ] && [ "${3:-0}" -gt 0 ]; then
		local note="" pct=""
		[ "$4" -gt 0 ] && note="socket errors $4"
		[ "$5" -gt 0 ] && note="${note:+$note, }non-2xx $5"
		[ "$cpu" != NA ] && pct=", proxy cpu ${cpu}s = $(awk -v c="$cpu" -v n="$3" 'BEGIN { printf "%.1f", c * 1e6 / n }') us/req"
		log "  w$w r$r $s $(label "$c"): $2 req/s, p50 $6 us, p99 $7 us$pct, CPU0/1 busy $busy0/$busy1%${note:+ ($note)}"
		record "$w" "$s" "$c" "$r" run "$2" "$3" "$cpu" "$6" "$7" "$4" "$5" "$busy0" "$busy1" "$PROXY_STATS" "$note"
		# more than 1% failed requests: count it as a failure
		if [ $(($4 + $5)) -gt $(($3 / 100)) ]; then
			FAILS+=("w$w $(label "$c") $s round $r: $note of $3 requests [${PROXY_CMD:-direct}]")
		fi
	else
		[ "$1" = OK ] && res="ERR no successful request"
		log "  w$w r$r $s $(label "$c"): FAILED: ${res#ERR }"
		record "$w" "$s" "$c" "$r" run FAIL 0 "$cpu" NA NA 0 0 "$busy0" "$busy1" "$PROXY_STATS" "${res#ERR }"
		FAILS+=("w$w $(label "$c") $s round $r: ${res#ERR } [${PROXY_CMD:-direct}]")
	fi
	return 0
}

# not_started CONTENDER WORKERS WHAT: the contender is n/a for the rest of
# this worker count. ringproxy refusing the mode ("not available yet") is
# expected while its HTTP data path is being written: reported, not a failure.
not_started() {
	local c=$1 w=$2 what=$3
	NA_MSG["$w $c"]=$PROXY_ERR
	log "  w$w $(label "$c") ($what): n/a: $PROXY_ERR"
	if [ "$c" != ringproxy ] || [[ $PROXY_ERR != *"not available"* ]]; then
		FAILS+=("w$w $(label "$c") $what: did not start: $PROXY_ERR [$PROXY_CMD]")
	fi
}

# verify CONTENDER_INDEX WORKERS: response bodies, HEAD, 404 and
# Connection: close through the contender (wrk does not look at bodies).
verify() {
	local idx=$1 w=$2 c=${CONTENDERS[$1]} pc cc lp res
	CUR=$c
	CUR_W=$w
	if [ "$w" = 1 ]; then pc=1; cc=0; else pc=0-1; cc=0-1; fi
	lp=${PROXY_PORTS[$idx]}
	if ! start_proxy "$c" "$w" "$pc" "$lp" verify; then
		not_started "$c" "$w" "response check"
		record "$w" - "$c" 0 verify NA 0 NA NA NA 0 0 NA NA "" "$PROXY_ERR"
		return 0
	fi
	res=$(timeout --foreground -k 5 60 taskset -c "$cc" python3 "$TMP/verify.py" "$lp" "$WWW" 2>&1) || true
	[ -n "$res" ] || res="ERR response check timed out"
	stop_proxy
	if [ "${res%% *}" = OK ]; then
		log "  w$w $(label "$c"): response check ok (${res#OK } requests)"
		record "$w" - "$c" 0 verify OK "${res#OK }" NA NA NA 0 0 NA NA "" ""
	else
		res=$(head -n 1 <<<"$res")
		log "  w$w $(label "$c"): response check FAILED: ${res#ERR }"
		record "$w" - "$c" 0 verify FAIL 0 NA NA NA 0 0 NA NA "" "${res#ERR }"
		FAILS+=("w$w $(label "$c") response check: ${res#ERR } [${PROXY_CMD:-direct}]")
	fi
	return 0
}

# ---- main --------------------------------------------------------------------
n=${#CONTENDERS[@]}
ns=${#SCENARIOS[@]}
nw=$(wc -w <<<"$WORKERS_LIST")
est=$((nw * ROUNDS * ns * n * (SECS + 1) + nw * n * 2 * VERIFY))
busy=$(cpu_busy_pct)
if [ "$busy" -gt 10 ]; then
	log "warning: the CPUs are already ${busy}% busy before the start; other work on this machine skews the numbers"
fi
log "contenders: ${CONTENDERS[*]}; scenarios: ${SCENARIOS[*]}; workers: $WORKERS_LIST; rounds $ROUNDS x ${SECS}s; about $((est / 60 + 1)) min"
log "ports: origin 127.0.0.1:$ORIGIN_PORT$(for i in "${!CONTENDERS[@]}"; do [ "${CONTENDERS[$i]}" = direct ] || printf ', %s %s' "${CONTENDERS[$i]}" "${PROXY_PORTS[$i]}"; done)"
[ "$need_rp" = 1 ] && log "ringproxy: $RP_ORIG (copied to $RP)${RP_ARGS[*]:+, extra arguments: ${RP_ARGS[*]}}"

for w in $WORKERS_LIST; do
	if [ "$w" = 1 ]; then
		log "== 1 worker: proxy on CPU 1, wrk and the origin on CPU 0"
		start_origin 1 0
	else
		log "== 2 workers: proxy workers on CPUs 0 and 1, wrk and the origin on CPUs 0-1 (everything shares both CPUs)"
		start_origin 2 0-1
	fi
	if [ "$VERIFY" = 1 ]; then
		for ((j = 0; j < n; j++)); do
			verify "$j" "$w"
		done
	fi
	for ((r = 1; r <= ROUNDS; r++)); do
		for s in "${SCENARIOS[@]}"; do
			for ((j = 0; j < n; j++)); do
				# rotate the start each round so no contender always runs first
				measure $(((j + r - 1) % n)) "$s" "$w" "$r"
			done
		done
	done
	stop_origin
done

# ---- report ------------------------------------------------------------------
ELAPSED=$(($(date +%s) - T_START))
mkdir -p "$(dirname "$OUT")"
{
	echo "e2e_http: end-to-end HTTP proxy comparison, loopback 127.0.0.1, started $START_UTC, took $((ELAPSED / 60)) min $((ELAPSED % 60)) s"
	echo "host: $(nproc) CPUs, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), kernel $(uname -r); CPUs ${busy}% busy (other work) just before the start"
	echo "versions: $(haproxy -v 2>/dev/null | head -n 1 | awk '{ print "haproxy " $3 }'), $(nginx -v 2>&1 | sed 's|.*/||; s|^|nginx |'), $(wrk -v 2>&1 | head -n 1 | awk '{ print "wrk " $2 }')"
	if [ "$need_rp" = 1 ]; then
		echo "ringproxy: $RP_ORIG (built $(stat -c '%y' "$RP_ORIG" 2>/dev/null | cut -d. -f1), sha256 $(sha256sum "$RP" | cut -c1-12) of the copy used)${RP_ARGS[*]:+, extra arguments: ${RP_ARGS[*]}}"
	fi
	echo "method: $ROUNDS interleaved round(s) per worker count, medians; wrk -tW -c$CONNS -d${SECS}s --latency against an nginx origin"
	echo "        serving static files (sendfile on); ka-N = keep-alive, N-byte body; close-1k = -H 'Connection: close', 1 KiB body"
	echo "        (a new client connection per request; the proxies keep their origin connections alive)."
	echo "        CPU = utime+stime of all proxy processes/threads over the run (/proc/PID/stat) / requests."
	echo "pinning: 1 worker = proxy on CPU 1, wrk and the origin on CPU 0;"
	echo "         2 workers = proxy workers pinned to CPU 0 and CPU 1, wrk and the origin on CPUs 0-1 (everything shares both CPUs)."
	echo
	python3 - "$RAW" "$(IFS=,; echo "${CONTENDERS[*]}")" "$(IFS=,; echo "${SCENARIOS[*]}")" "$SECS" <<'PY'
import sys, statistics as st
raw, contenders, scenarios, secs = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split(","), float(sys.argv[4])
F = ["w", "s", "c", "r", "kind", "val", "req", "cpu", "p50", "p99", "sockerr", "non2xx", "busy0", "busy1", "stats", "note"]
rows = [dict(zip(F, l.rstrip("\n").split("\t"))) for l in open(raw) if l.strip()]
labels = {"direct": "direct", "ringproxy": "ringproxy http", "haproxy": "haproxy http", "nginx": "nginx proxy_pass"}
workers = []
for x in rows:
    if x["w"] not in workers:
        workers.append(x["w"])

def med(xs):
    return st.median(xs) if xs else None

def summarize(w, s, c):
    runs = [x for x in rows if x["w"] == w and x["s"] == s and x["c"] == c and x["kind"] == "run"]
    ok = [x for x in runs if x["val"] not in ("FAIL", "NA")]
    d = {"runs": len(runs), "ok": len(ok)}
    d["na"] = next((x["note"] for x in runs if x["val"] == "NA"), None)
    d["fails"] = sum(1 for x in runs if x["val"] == "FAIL")
    d["rps"] = med([float(x["val"]) for x in ok])
    d["p50"] = med([float(x["p50"]) for x in ok])
    d["p99"] = med([float(x["p99"]) for x in ok])
    withcpu = [x for x in ok if x["cpu"] != "NA" and int(x["req"]) > 0]
    d["cpu_req"] = med([float(x["cpu"]) * 1e6 / int(x["req"]) for x in withcpu])
    d["cpu_pct"] = med([100 * float(x["cpu"]) / secs for x in withcpu])
    d["busy"] = (med([float(x["busy0"]) for x in ok if x["busy0"] not in ("", "NA")]),
                 med([float(x["busy1"]) for x in ok if x["busy1"] not in ("", "NA")]))
    d["errors"] = sum(int(x["sockerr"]) + int(x["non2xx"]) for x in ok)
    d["err_runs"] = sum(1 for x in ok if int(x["sockerr"]) + int(x["non2xx"]) > 0)
    v = [x["val"] for x in rows if x["w"] == w and x["c"] == c and x["kind"] == "verify"]
    d["check"] = "BAD" if "FAIL" in v else "ok" if "OK" in v else "n/a" if "NA" in v else "-"
    return d

def f(v, fmt):
    return "n/a" if v is None else format(v, fmt)

def ratio(a, b):
    return "-" if a is None or b is None or b == 0 else "%.2fx" % (a / b)

hdr = ["scenario", "contender", "W", "req/s", "vsHAP", "vsNGX", "p50 us", "p99 us",
       "CPUus/req", "vsHAP", "vsNGX", "proxyCPU%", "busy0/1%", "check", "errors", "note"]
table, flagged = [], []
for w in workers:
    for s in scenarios:
        hap = summarize(w, s, "haproxy") if "haproxy" in contenders else {}
        ngx = summarize(w, s, "nginx") if "nginx" in contenders else {}
        for c in contenders:
            d = summarize(w, s, c)
            if d["runs"] == 0:
                continue
            proxy = c != "direct"
            note = ""
            if d["na"] is not None and d["ok"] == 0:
                note = "n/a: " + d["na"]
            else:
                if d["fails"]:
                    note = "%d/%d runs FAILED" % (d["fails"], d["runs"])
                if d["err_runs"]:
                    note += ("; " if note else "") + "ERRORS in %d/%d runs" % (d["err_runs"], d["runs"])
                    flagged.append((w, s, c))
            b0, b1 = d["busy"]
            table.append([s, labels[c] + (" !" if d["err_runs"] or d["fails"] else ""), w,
                f(d["rps"], ".0f"),
                ratio(d["rps"], hap.get("rps")) if proxy else "-", ratio(d["rps"], ngx.get("rps")) if proxy else "-",
                f(d["p50"], ".0f"), f(d["p99"], ".0f"),
                f(d["cpu_req"], ".1f") if proxy else "-",
                ratio(d["cpu_req"], hap.get("cpu_req")) if proxy else "-",
                ratio(d["cpu_req"], ngx.get("cpu_req")) if proxy else "-",
                f(d["cpu_pct"], ".0f") if proxy else "-",
                "n/a" if b0 is None or b1 is None else "%.0f/%.0f" % (b0, b1),
                d["check"], d["errors"] if d["ok"] else "-", note])
        table.append(None)
    table.append(None)
while table and table[-1] is None:
    table.pop()
widths = [max(len(str(r[i])) for r in [hdr] + [t for t in table if t]) for i in range(len(hdr) - 1)]
def line(r):
    cells = [str(v).ljust(widths[i]) if i < 2 else str(v).rjust(widths[i]) for i, v in enumerate(r[:-1])]
    return ("  ".join(cells) + ("  " + r[-1] if r[-1] else "")).rstrip()
print(line(hdr))
print("-" * len(line(hdr[:-1] + [""])))
prev = None
for t in table:
    if t is None:
        if prev is not None:
            print()
        prev = None
        continue
    print(line(t))
    prev = t
print()
print("W = workers/threads/reactors. vsHAP/vsNGX = this / HAProxy or / nginx at the same W and scenario:")
print("for req/s higher is better, for CPUus/req lower is better. direct (wrk straight to the origin) is for reference.")
print("p50/p99 = wrk --latency percentiles (medians over the rounds). proxyCPU% = proxy CPU time / run time (100 = one")
print("CPU); busy0/1% = how busy CPU 0 and CPU 1 were during the run (all processes). With W=1 the proxy has CPU 1 to")
print("itself: proxyCPU% well below 100 while CPU 0 is ~100% busy means wrk+origin, not the proxy, set the pace.")
print("check = bodies, HEAD, 404 and Connection: close checked through the contender before the rounds.")
print("errors = wrk socket errors + non-2xx responses, summed over the rounds; '!' marks a row with errors or failed runs.")
if flagged:
    print()
    print("RUNS WITH ERRORS:")
    for w, s, c in flagged:
        for x in rows:
            if x["w"] == w and x["s"] == s and x["c"] == c and x["kind"] == "run" and x["val"] not in ("FAIL", "NA") \
               and int(x["sockerr"]) + int(x["non2xx"]) > 0:
                print("  W=%s %s %s round %s: %s of %s requests" % (w, s, labels[c], x["r"], x["note"], x["req"]))
PY
	if [ ${#FAILS[@]} -gt 0 ]; then
		echo
		echo "FAILURES:"
		printf '  %s\n' "${FAILS[@]}"
	fi
} >"$TMP/table.txt"
cp "$TMP/table.txt" "$OUT"
cp "$RAW" "${OUT%.txt}.raw.tsv"
echo
cat "$TMP/table.txt"
log "table written to $OUT (raw samples: ${OUT%.txt}.raw.tsv); took $((ELAPSED / 60)) min $((ELAPSED % 60)) s"
[ ${#FAILS[@]} -eq 0 ] || exit 1

#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# End-to-end L4 (TCP) proxy comparison on loopback: direct (no proxy),
# ringproxy with each --tunnel strategy, HAProxy (mode tcp + splice) and
# nginx (stream proxy_pass). See benchmarks/README.md, "e2e_l4.sh".
#
#   benchmarks/e2e_l4.sh [--quick] [--help]
#
# Environment:
#   BENCH_ROUNDS       interleaved rounds, medians taken over them   (3)
#   BENCH_SECONDS      seconds per iperf3 / wrk run                  (5)
#   BENCH_OUT          table file      (benchmarks/results/e2e_l4-<date>.txt)
#   BENCH_CONTENDERS   comma list, subset of: direct,rp-splice,rp-ring-splice,
#                      rp-copy,rp-auto,haproxy,nginx                 (all)
#   BENCH_WORKERS      worker counts to run, space separated         ("1 2")
#   BENCH_CONNS        wrk concurrent connections                    (32)
#   BENCH_REVERSE      1 = one extra iperf3 -R run per contender      (1)
#   BENCH_VERIFY       1 = check data integrity through each contender (1)
#   BENCH_PORT_BASE    first loopback port used (uses base..base+16) (25200)
#   RINGPROXY          ringproxy binary             (<repo>/build/ringproxy)
#
# Everything binds to 127.0.0.1 only. Every process the script starts is
# tracked and stopped on exit, including on Ctrl-C and on failure.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
BENCH_NAME=e2e_l4
# shellcheck source=benchmarks/lib.sh
. "$here/lib.sh"

usage() {
	sed -n '4,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

quick=0
for a in "$@"; do
	case "$a" in
	--quick) quick=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "e2e_l4: unknown argument '$a'" >&2; usage >&2; exit 2 ;;
	esac
done

ROUNDS=${BENCH_ROUNDS:-3}
SECS=${BENCH_SECONDS:-5}
if [ "$quick" = 1 ]; then
	ROUNDS=1
	SECS=2
fi
CONNS=${BENCH_CONNS:-32}
REVERSE=${BENCH_REVERSE:-1}
VERIFY=${BENCH_VERIFY:-1}
VSECS=2
[ "$quick" = 1 ] && VSECS=1
WORKERS_LIST=${BENCH_WORKERS:-"1 2"}
PORT_BASE=${BENCH_PORT_BASE:-25200}
RP=${RINGPROXY:-$repo/build/ringproxy}
ALL_CONTENDERS="direct,rp-splice,rp-ring-splice,rp-copy,rp-auto,haproxy,nginx"
IFS=, read -r -a CONTENDERS <<<"${BENCH_CONTENDERS:-$ALL_CONTENDERS}"
STAMP=$(date +%Y%m%d-%H%M%S)
START_UTC=$(date -u '+%Y-%m-%d %H:%M UTC')
OUT=${BENCH_OUT:-$repo/benchmarks/results/e2e_l4-$STAMP.txt}

IPERF_PORT=$PORT_BASE
HTTP_PORT=$((PORT_BASE + 1))
VERIFY_PORT=$((PORT_BASE + 2))
NGINX_STREAM_MODULE=/usr/lib/nginx/modules/ngx_stream_module.so

for v in ROUNDS:BENCH_ROUNDS SECS:BENCH_SECONDS CONNS:BENCH_CONNS PORT_BASE:BENCH_PORT_BASE; do
	val=${v%%:*}
	val=${!val}
	[[ $val =~ ^[1-9][0-9]*$ ]] || die "${v#*:} must be a positive integer (got '$val')"
done
[ "$PORT_BASE" -ge 1024 ] && [ "$PORT_BASE" -le 65500 ] || die "BENCH_PORT_BASE must be within 1024..65500"
for w in $WORKERS_LIST; do
	[[ $w == 1 || $w == 2 ]] || die "BENCH_WORKERS: only 1 and 2 are supported (got '$w')"
done
need_rp=0
for c in "${CONTENDERS[@]}"; do
	case ",$ALL_CONTENDERS," in
	*",$c,"*) ;;
	*) die "BENCH_CONTENDERS: unknown contender '$c' (known: $ALL_CONTENDERS)" ;;
	esac
	[[ $c == rp-* ]] && need_rp=1
done
[ "$(nproc)" -ge 2 ] || die "needs at least 2 CPUs (pins to CPU 0 and CPU 1)"

# ---- dependencies ------------------------------------------------------------
have_tools() {
	local t
	for t in haproxy nginx iperf3 wrk taskset; do
		command -v "$t" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin command -v "$t" >/dev/null 2>&1 || return 1
	done
	[ -f "$NGINX_STREAM_MODULE" ]
}
export PATH=$PATH:/usr/sbin:/sbin
if ! have_tools; then
	log "installing benchmark packages: bash scripts/deps.sh all"
	bash "$repo/scripts/deps.sh" all || die "scripts/deps.sh all failed"
	have_tools || die "haproxy/nginx (+ libnginx-mod-stream)/iperf3/wrk/taskset still missing after scripts/deps.sh all"
fi
ensure_python3 "used to parse iperf3 JSON and print the table"
if [ "$need_rp" = 1 ] && [ ! -x "$RP" ]; then
	die "ringproxy binary not found at $RP.
  Build it first:
    cmake -S $repo -B $repo/build -DCMAKE_BUILD_TYPE=Release && cmake --build $repo/build -j2
  (or point RINGPROXY=/path/to/ringproxy, or leave the rp-* contenders out of BENCH_CONTENDERS)"
fi

CLK_TCK=$(getconf CLK_TCK)

# ---- process bookkeeping and cleanup -----------------------------------------
# process bookkeeping, cleanup and the traps: lib.sh
bench_init

if [ "$need_rp" = 1 ]; then
	# run a private copy so a rebuild during the benchmark cannot swap it
	RP_ORIG=$RP
	cp "$RP" "$TMP/ringproxy"
	RP=$TMP/ringproxy
fi

# The data-integrity checker used by verify() below.
cat >"$TMP/verify.py" <<'PY'
# Data-integrity check through an L4 proxy: NCONN connections, each carrying a
# known byte pattern both ways at once (client->backend and backend->client)
# in chunks of random sizes; every received byte is compared. No side closes
# before all bytes arrived, so the check does not depend on half-close.
import random, select, socket, sys, threading, time
proxy_port, sink_port, secs, nconn = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
M = 251
PAT = bytes(i % M for i in range(M * 4096))
SIZES = [1, 7, 100, 1460, 4096, 16384, 65536, 262144]
errors, lock = [], threading.Lock()
counts = {}

def sender(sock, key, seed):
    r, off, end = random.Random(seed), 0, time.time() + secs
    try:
        while time.time() < end:
            n = r.choice(SIZES)
            sock.sendall(PAT[off % M:off % M + n])
            off += n
    except OSError as e:
        with lock:
            errors.append("%s: send failed after %d bytes: %s" % (key, off, e))
    counts[key + " sent"] = off

def receiver(sock, key):
    off, bad = 0, None
    deadline = time.time() + secs + 10
    try:
        while True:
            sent = counts.get(key + " sent")
            if sent is not None and off >= sent:
                break
            if time.time() > deadline:
                break
            if not select.select([sock], [], [], 0.2)[0]:
                continue
            d = sock.recv(1 << 19)
            if not d:
                with lock:
                    errors.append("%s: connection closed after %d bytes" % (key, off))
                break
            if bad is None and d != PAT[off % M:off % M + len(d)]:
                exp = PAT[off % M:off % M + len(d)]
                bad = off + next(i for i in range(len(d)) if d[i] != exp[i])
            off += len(d)
    except OSError as e:
        with lock:
            errors.append("%s: receive failed after %d bytes: %s" % (key, off, e))
    if bad is not None:
        with lock:
            errors.append("%s: byte %d differs from what was sent" % (key, bad))
    counts[key + " received"] = off

ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", sink_port))
ls.listen(nconn)
ls.settimeout(5)
threads, socks = [], []
try:
    for k in range(nconn):
        c = socket.create_connection(("127.0.0.1", proxy_port), timeout=5)
        s, _ = ls.accept()
        socks += [c, s]
        for x in (c, s):
            x.settimeout(secs + 10)
        threads += [threading.Thread(target=sender, args=(c, "conn%d up" % k, 2 * k)),
                    threading.Thread(target=receiver, args=(s, "conn%d up" % k)),
                    threading.Thread(target=sender, args=(s, "conn%d down" % k, 2 * k + 1)),
                    threading.Thread(target=receiver, args=(c, "conn%d down" % k))]
except OSError as e:
    print("ERR could not set up connection %d through the proxy: %s" % (len(threads) // 4, e))
    sys.exit(0)
for t in threads:
    t.start()
for t in threads:
    t.join(secs + 20)
for x in socks:
    x.close()
total = 0
for k in range(nconn):
    for d in ("up", "down"):
        key = "conn%d %s" % (k, d)
        snt, rcv = counts.get(key + " sent"), counts.get(key + " received")
        if snt is None or rcv is None:
            errors.append("%s: did not finish" % key)
        elif snt != rcv:
            errors.append("%s: sent %d bytes, received %d" % (key, snt, rcv))
        total += rcv or 0
if errors:
    print("ERR " + "; ".join(errors[:4]))
else:
    print("OK %d" % total)
PY

# ---- ports -------------------------------------------------------------------
proxy_port() { # contender index -> its listen port
	echo $((PORT_BASE + 10 + $1))
}

for p in $IPERF_PORT $HTTP_PORT $VERIFY_PORT $(for i in "${!CONTENDERS[@]}"; do proxy_port "$i"; done); do
	listening "$p" && die "port 127.0.0.1:$p is already in use; set BENCH_PORT_BASE to a free range"
done

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# ---- backends ----------------------------------------------------------------
# Sets BACK_PIDS; W = worker mode (1 or 2).
start_backends() {
	local w=$1 cc=$2 conf
	conf=$TMP/backend-w$1
	mkdir -p "$conf"
	taskset -c "$cc" iperf3 -s -B 127.0.0.1 -p "$IPERF_PORT" >"$conf/iperf3.log" 2>&1 &
	IPERF_PID=$!
	PIDS+=("$IPERF_PID")
	cat >"$conf/nginx.conf" <<EOF
# HTTP backend for the connection-rate test: a tiny fixed response.
daemon off;
master_process on;
user root;
worker_processes $w;
worker_rlimit_nofile 16384;
pid $conf/nginx.pid;
error_log $conf/error.log warn;
events { worker_connections 8192; }
http {
	access_log off;
	client_body_temp_path $conf/body;
	proxy_temp_path $conf/proxy;
	keepalive_timeout 0;
	server {
		listen 127.0.0.1:$HTTP_PORT backlog=4096 reuseport;
		default_type text/plain;
		location / { return 200 "ok\n"; }
	}
}
EOF
	taskset -c "$cc" nginx -p "$conf" -c "$conf/nginx.conf" -e "$conf/error.log" >"$conf/nginx.out" 2>&1 &
	HTTPB_PID=$!
	PIDS+=("$HTTPB_PID")
	wait_port "$IPERF_PORT" "$IPERF_PID" || { cat "$conf/iperf3.log" >&2; die "iperf3 server did not start"; }
	wait_port "$HTTP_PORT" "$HTTPB_PID" || { cat "$conf/nginx.out" "$conf/error.log" >&2; die "nginx HTTP backend did not start"; }
}

stop_backends() {
	stop_pid "$IPERF_PID"; untrack "$IPERF_PID"
	stop_pid "$HTTPB_PID"; untrack "$HTTPB_PID"
}

# ---- contenders --------------------------------------------------------------
label() {
	case "$1" in
	direct) echo "direct" ;;
	rp-*) echo "ringproxy ${1#rp-}" ;;
	haproxy) echo "haproxy tcp+splice" ;;
	nginx) echo "nginx stream" ;;
	esac
}

# start_proxy CONTENDER WORKERS PROXY_CPUS LISTEN_PORT BACKEND_PORT TAG
# Sets PROXY_PID (empty for direct) and PROXY_LOG; returns 1 if it failed.
start_proxy() {
	local c=$1 w=$2 pc=$3 lp=$4 bp=$5 d=$TMP/$1-w$2-$6
	mkdir -p "$d"
	PROXY_PID=
	PROXY_LOG=$d/stderr.log
	PROXY_CMD=
	case "$c" in
	direct) return 0 ;;
	rp-*)
		PROXY_CMD="taskset -c $pc $RP --listen 127.0.0.1:$lp --to 127.0.0.1:$bp --tunnel ${c#rp-} --reactors $w --cpus $pc --drain-timeout 1s"
		# shellcheck disable=SC2086
		$PROXY_CMD >"$PROXY_LOG" 2>&1 &
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
	mode tcp
	timeout connect 2s
	timeout client 300s
	timeout server 300s
	option splice-request
	option splice-response
frontend fe
	bind 127.0.0.1:$lp
	default_backend be
backend be
	server s1 127.0.0.1:$bp
EOF
		PROXY_CMD="taskset -c $pc haproxy -db -f $d/haproxy.cfg"
		# shellcheck disable=SC2086
		$PROXY_CMD >"$PROXY_LOG" 2>&1 &
		;;
	nginx)
		local aff="10"
		[ "$w" = 2 ] && aff="01 10"
		cat >"$d/nginx.conf" <<EOF
load_module $NGINX_STREAM_MODULE;
daemon off;
master_process on;
user root;
worker_processes $w;
worker_cpu_affinity $aff;
worker_rlimit_nofile 16384;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 8192; }
stream {
	server {
		listen 127.0.0.1:$lp backlog=4096 reuseport;
		proxy_pass 127.0.0.1:$bp;
		proxy_connect_timeout 2s;
		proxy_timeout 300s;
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
		log "$(label "$c") (w$w) did not start listening on 127.0.0.1:$lp: $PROXY_CMD"
		sed 's/^/    | /' "$PROXY_LOG" "$d/error.log" 2>/dev/null | tail -n 20 >&2 || true
		stop_pid "$PROXY_PID"; untrack "$PROXY_PID"
		PROXY_PID=
		return 1
	fi
	return 0
}

# stop_proxy: stops PROXY_PID, reports a non-zero exit, and for ringproxy
# appends its per-strategy byte counters to PROXY_STATS.
stop_proxy() {
	PROXY_STATS=
	[ -n "$PROXY_PID" ] || return 0
	local rc
	stop_pid "$PROXY_PID"
	rc=$STOP_RC
	untrack "$PROXY_PID"
	if [[ $CUR == rp-* ]]; then
		[ "$rc" -ne 0 ] && [ "$rc" -ne 127 ] && log "$(label "$CUR") (w$CUR_W) exited with status $rc after TERM: $PROXY_CMD"
		# sum the key=value counters of every "stats" line
		PROXY_STATS=$(awk '/ringproxy: stats /{ for (i = 1; i <= NF; i++) if (split($i, kv, "=") == 2 && kv[1] != "reactor" && kv[1] != "cpu") s[kv[1]] += kv[2] }
			END { n = 0; for (k in s) { printf "%s%s=%.0f", (n++ ? ";" : ""), k, s[k] } }' "$PROXY_LOG")
		[ -n "$PROXY_STATS" ] || log "$(label "$CUR") (w$CUR_W) printed no 'ringproxy: stats' line at exit ($PROXY_LOG)"
	fi
	PROXY_PID=
}

# ---- measurements ------------------------------------------------------------
RAW=$TMP/raw.tsv
: >"$RAW"
FAILS=()

record() { # workers contender round kind value amount cpu_s stats note
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RAW"
}

# run_bulk PORT CLIENT_CPUS [-R] -> "gbps bytes" or failure
run_bulk() {
	local port=$1 cc=$2 rev=${3:-} out rc=0
	out=$(timeout --foreground -k 5 $((SECS + 30)) taskset -c "$cc" \
		iperf3 -c 127.0.0.1 -p "$port" -t "$SECS" -J ${rev:+"$rev"} 2>&1) || rc=$?
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		echo "ERR iperf3 client timed out after $((SECS + 30)) s"
		return 0
	fi
	printf '%s' "$out" | python3 -c '
import json, sys
raw = sys.stdin.read()
try:
    j = json.loads(raw)
except Exception:
    print("ERR iperf3 output is not JSON: " + " ".join(raw.split())[:200]); sys.exit()
if j.get("error"):
    print("ERR iperf3: " + j["error"]); sys.exit()
r = j.get("end", {}).get("sum_received", {})
print("OK %.6f %d" % (r.get("bits_per_second", 0) / 1e9, r.get("bytes", 0)))'
}

# run_rate PORT CLIENT_CPUS THREADS -> "OK conn/s requests errors non2xx"
run_rate() {
	local port=$1 cc=$2 t=$3 out rc=0
	out=$(timeout --foreground -k 5 $((SECS + 30)) taskset -c "$cc" \
		wrk -t"$t" -c"$CONNS" -d"${SECS}s" --timeout 5s -H "Connection: close" \
		"http://127.0.0.1:$port/" 2>&1) || rc=$?
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		echo "ERR wrk timed out after $((SECS + 30)) s"
		return 0
	fi
	printf '%s\n' "$out" | awk '
		/requests in/ { req = $1 }
		/^Requests\/sec:/ { rps = $2 }
		/Socket errors:/ { gsub(/,/, ""); err = $4 + $6 + $8 + $10 }
		/Non-2xx or 3xx responses:/ { bad = $NF }
		END {
			if (rps == "") { print "ERR wrk printed no Requests/sec"; exit }
			printf "OK %s %d %d %d\n", rps, req, err, bad
		}'
}

# measure CONTENDER_INDEX WORKERS ROUND
measure() {
	local idx=$1 w=$2 r=$3 c=${CONTENDERS[$1]} pc cc wt lp res t0 t1 cpu
	CUR=$c
	CUR_W=$w
	if [ "$w" = 1 ]; then pc=1; cc=0; wt=1; else pc=0-1; cc=0-1; wt=2; fi
	lp=$(proxy_port "$idx")

	# a) bulk throughput (and, in round 1, one reverse run)
	local kinds="bulk"
	[ "$REVERSE" = 1 ] && [ "$r" = 1 ] && kinds="bulk rev"
	if [ "$c" = direct ]; then lp=$IPERF_PORT; fi
	if start_proxy "$c" "$w" "$pc" "$lp" "$IPERF_PORT" "bulk-r$r"; then
		local k
		for k in $kinds; do
			t0=$([ -n "$PROXY_PID" ] && cpu_ticks "$PROXY_PID" || echo NA)
			res=$(run_bulk "$lp" "$cc" "$([ "$k" = rev ] && echo -R)")
			t1=$([ -n "$PROXY_PID" ] && cpu_ticks "$PROXY_PID" || echo NA)
			cpu=NA
			[ "$t0" != NA ] && cpu=$(awk -v a="$t0" -v b="$t1" -v h="$CLK_TCK" 'BEGIN { printf "%.3f", (b - a) / h }')
			if [ -n "$PROXY_PID" ] && ! alive "$PROXY_PID"; then
				res="ERR proxy process died during the run"
			fi
			# shellcheck disable=SC2086
			# shellcheck disable=SC2086
		set -- $res
			if [ "$1" = OK ] && awk -v g="$2" 'BEGIN { exit !(g > 0) }'; then
				log "  w$w r$r $(label "$c"): $k $(printf "%.2f" "$2") Gbit/s, proxy cpu $([ "$cpu" = NA ] && echo n/a || echo "${cpu}s")"
				record "$w" "$c" "$r" "$k" "$2" "$3" "$cpu" "" ""
			else
				[ "$1" = OK ] && res="ERR zero throughput"
				log "  w$w r$r $(label "$c"): $k FAILED: ${res#ERR }"
				record "$w" "$c" "$r" "$k" FAIL 0 "$cpu" "" "${res#ERR }"
				FAILS+=("w$w $(label "$c") $k round $r: ${res#ERR } [${PROXY_CMD:-direct}]")
			fi
		done
		stop_proxy
		[ -n "$PROXY_STATS" ] && record "$w" "$c" "$r" stats-bulk 0 0 NA "$PROXY_STATS" ""
	else
		record "$w" "$c" "$r" bulk FAIL 0 NA "" "did not start"
		FAILS+=("w$w $(label "$c") bulk round $r: did not start [$PROXY_CMD]")
	fi

	# b) connection rate
	lp=$(proxy_port "$idx")
	if [ "$c" = direct ]; then lp=$HTTP_PORT; fi
	if start_proxy "$c" "$w" "$pc" "$lp" "$HTTP_PORT" "rate-r$r"; then
		t0=$([ -n "$PROXY_PID" ] && cpu_ticks "$PROXY_PID" || echo NA)
		res=$(run_rate "$lp" "$cc" "$wt")
		t1=$([ -n "$PROXY_PID" ] && cpu_ticks "$PROXY_PID" || echo NA)
		cpu=NA
		[ "$t0" != NA ] && cpu=$(awk -v a="$t0" -v b="$t1" -v h="$CLK_TCK" 'BEGIN { printf "%.3f", (b - a) / h }')
		if [ -n "$PROXY_PID" ] && ! alive "$PROXY_PID"; then
			res="ERR proxy process died during the run"
		fi
		# shellcheck disable=SC2086
		set -- $res
		if [ "$1" = OK ] && [ "${3:-0}" -gt 0 ] && awk -v g="$2" 'BEGIN { exit !(g > 0) }'; then
			local note=""
			[ "$4" -gt 0 ] && note="socket errors $4"
			[ "$5" -gt 0 ] && note="${note:+$note, }non-2xx $5"
			log "  w$w r$r $(label "$c"): rate $2 conn/s, proxy cpu $([ "$cpu" = NA ] && echo n/a || echo "${cpu}s")${note:+ ($note)}"
			record "$w" "$c" "$r" rate "$2" "$3" "$cpu" "" "$note"
			# more than 1% failed connections: count it as a failure
			if [ $(($4 + $5)) -gt $(($3 / 100)) ]; then
				FAILS+=("w$w $(label "$c") rate round $r: $note of $3 requests [${PROXY_CMD:-direct}]")
			fi
		else
			[ "$1" = OK ] && res="ERR no successful request"
			log "  w$w r$r $(label "$c"): rate FAILED: ${res#ERR }"
			record "$w" "$c" "$r" rate FAIL 0 "$cpu" "" "${res#ERR }"
			FAILS+=("w$w $(label "$c") rate round $r: ${res#ERR } [${PROXY_CMD:-direct}]")
		fi
		stop_proxy
		[ -n "$PROXY_STATS" ] && record "$w" "$c" "$r" stats-rate 0 0 NA "$PROXY_STATS" ""
	else
		record "$w" "$c" "$r" rate FAIL 0 NA "" "did not start"
		FAILS+=("w$w $(label "$c") rate round $r: did not start [$PROXY_CMD]")
	fi
	return 0
}

# verify CONTENDER_INDEX WORKERS: a few seconds of a known byte pattern both
# ways over 2 connections through the proxy, every byte compared (iperf3 does
# not look at its payload, so a proxy that corrupts data would still score).
verify() {
	local idx=$1 w=$2 c=${CONTENDERS[$1]} pc cc lp res
	CUR=$c
	CUR_W=$w
	if [ "$w" = 1 ]; then pc=1; cc=0; else pc=0-1; cc=0-1; fi
	lp=$(proxy_port "$idx")
	[ "$c" = direct ] && lp=$VERIFY_PORT
	if ! start_proxy "$c" "$w" "$pc" "$lp" "$VERIFY_PORT" verify; then
		record "$w" "$c" 0 verify FAIL 0 NA "" "did not start"
		FAILS+=("w$w $(label "$c") data check: did not start [$PROXY_CMD]")
		return 0
	fi
	res=$(timeout --foreground -k 5 $((VSECS + 40)) taskset -c "$cc" \
		python3 "$TMP/verify.py" "$lp" "$VERIFY_PORT" "$VSECS" 2 2>&1) || true
	[ -n "$res" ] || res="ERR data check timed out"
	if [ "${res%% *}" = OK ]; then
		log "  w$w $(label "$c"): data check ok ($(awk -v b="${res#OK }" 'BEGIN { printf "%.2f", b / 1e9 }') GB compared)"
		record "$w" "$c" 0 verify OK "${res#OK }" NA "" ""
	else
		log "  w$w $(label "$c"): data check FAILED: ${res#ERR }"
		record "$w" "$c" 0 verify FAIL 0 NA "" "${res#ERR }"
		FAILS+=("w$w $(label "$c") data check: ${res#ERR } [${PROXY_CMD:-direct}]")
	fi
	stop_proxy
	return 0
}

# ---- main --------------------------------------------------------------------
n=${#CONTENDERS[@]}
nw=$(wc -w <<<"$WORKERS_LIST")
est=$((nw * ROUNDS * n * (2 * SECS + 3) + nw * n * (SECS + 2) + nw * n * (VSECS + 1) * VERIFY))
busy=$(cpu_busy_pct)
if [ "$busy" -gt 10 ]; then
	log "warning: the CPUs are already ${busy}% busy before the start; other work on this machine skews the numbers"
fi
log "contenders: ${CONTENDERS[*]}; workers: $WORKERS_LIST; rounds $ROUNDS x ${SECS}s; about $((est / 60 + 1)) min"
[ "$need_rp" = 1 ] && log "ringproxy: $RP_ORIG (copied to $RP)"

for w in $WORKERS_LIST; do
	if [ "$w" = 1 ]; then
		log "== 1 worker: proxy on CPU 1, clients and backends on CPU 0"
		start_backends 1 0
	else
		log "== 2 workers: proxy workers on CPUs 0 and 1, clients and backends on CPUs 0-1 (all share both CPUs)"
		start_backends 2 0-1
	fi
	if [ "$VERIFY" = 1 ]; then
		for ((j = 0; j < n; j++)); do
			verify "$j" "$w"
		done
	fi
	for ((r = 1; r <= ROUNDS; r++)); do
		for ((j = 0; j < n; j++)); do
			# rotate the start each round so no contender always runs first
			measure $(((j + r - 1) % n)) "$w" "$r"
		done
	done
	stop_backends
done

# ---- report ------------------------------------------------------------------
mkdir -p "$(dirname "$OUT")"
{
	echo "e2e_l4: end-to-end L4 TCP proxy comparison, loopback 127.0.0.1, started $START_UTC"
	echo "host: $(nproc) CPUs, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), kernel $(uname -r); CPUs ${busy}% busy (other work) just before the start"
	echo "versions: $(haproxy -v 2>/dev/null | head -n 1 | awk '{ print "haproxy " $3 }'), $(nginx -v 2>&1 | sed 's|.*/||; s|^|nginx |'), $(iperf3 --version 2>/dev/null | head -n 1 | awk '{ print "iperf3 " $2 }'), $(wrk -v 2>&1 | head -n 1 | awk '{ print "wrk " $2 }')"
	if [ "$need_rp" = 1 ]; then
		echo "ringproxy: $RP_ORIG (built $(stat -c '%y' "$RP_ORIG" | cut -d. -f1), sha256 $(sha256sum "$RP" | cut -c1-12) of the copy used)"
	fi
	echo "method: $ROUNDS interleaved round(s) per worker count, medians; bulk = iperf3 -t $SECS (1 stream, via proxy),"
	echo "        rate = wrk -c$CONNS -d${SECS}s -H 'Connection: close' against nginx 'return 200' (1 request = 1 new connection);"
	echo "        CPU = utime+stime of all proxy processes/threads over the run (/proc/PID/stat)."
	echo "pinning: 1 worker = proxy on CPU 1, iperf3/wrk clients and iperf3/nginx backends on CPU 0;"
	echo "         2 workers = proxy workers pinned to CPU 0 and CPU 1, clients and backends on CPUs 0-1 (everything shares both CPUs)."
	echo
	python3 - "$RAW" <<'PY'
import sys, statistics as st
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
order = []
data = {}
for w, c, r, kind, val, amt, cpu, stats, note in rows:
    key = (w, c)
    if key not in data:
        data[key] = {}
        order.append(key)
    data[key].setdefault(kind, []).append((val, amt, cpu, stats, note))

labels = {"direct": "direct", "haproxy": "haproxy tcp+splice", "nginx": "nginx stream"}
def label(c):
    return labels.get(c, "ringproxy " + c[3:] if c.startswith("rp-") else c)

def med(xs):
    return st.median(xs) if xs else None

def summarize(key):
    d = data.get(key, {})
    s = {}
    ok = [x for x in d.get("bulk", []) if x[0] != "FAIL"]
    s["gbps"] = med([float(x[0]) for x in ok])
    s["cpu_gb"] = med([float(x[2]) * 1e3 / (int(x[1]) / 1e9) for x in ok if x[2] != "NA" and int(x[1]) > 0])
    okr = [x for x in d.get("rev", []) if x[0] != "FAIL"]
    s["rev"] = med([float(x[0]) for x in okr])
    ok = [x for x in d.get("rate", []) if x[0] != "FAIL"]
    s["cps"] = med([float(x[0]) for x in ok])
    s["cpu_conn"] = med([float(x[2]) * 1e6 / int(x[1]) for x in ok if x[2] != "NA" and int(x[1]) > 0])
    vs = [x[0] for x in d.get("verify", [])]
    s["data"] = "BAD" if "FAIL" in vs else ("ok" if vs else "-")
    s["fails"] = sum(1 for k in ("bulk", "rev", "rate") for x in d.get(k, []) if x[0] == "FAIL")
    s["runs"] = sum(len(d.get(k, [])) for k in ("bulk", "rev", "rate"))
    return s

def f(v, fmt):
    return "n/a" if v is None else format(v, fmt)

def ratio(a, b):
    return "-" if a is None or b is None or b == 0 else "%.2fx" % (a / b)

hdr = ["contender", "W", "Gbit/s", "vsHAP", "vsDirect", "CPUms/GB", "vsHAP",
       "conn/s", "vsHAP", "CPUus/conn", "vsHAP", "rev Gbit/s", "data"]
table = []
workers = []
for w, c in order:
    if w not in workers:
        workers.append(w)
for w in workers:
    hap = summarize((w, "haproxy")) if (w, "haproxy") in data else {}
    dire = summarize((w, "direct")) if (w, "direct") in data else {}
    for ww, c in order:
        if ww != w:
            continue
        s = summarize((w, c))
        name = label(c) + (" (%d/%d runs FAILED)" % (s["fails"], s["runs"]) if s["fails"] else "")
        table.append([name, w,
            f(s["gbps"], ".2f"), ratio(s["gbps"], hap.get("gbps")), ratio(s["gbps"], dire.get("gbps")),
            f(s["cpu_gb"], ".0f"), ratio(s["cpu_gb"], hap.get("cpu_gb")),
            f(s["cps"], ".0f"), ratio(s["cps"], hap.get("cps")),
            f(s["cpu_conn"], ".1f"), ratio(s["cpu_conn"], hap.get("cpu_conn")),
            f(s["rev"], ".2f"), s["data"]])
    table.append(None)
if table and table[-1] is None:
    table.pop()
widths = [max(len(str(r[i])) for r in [hdr] + [t for t in table if t]) for i in range(len(hdr))]
def line(r):
    return "  ".join(str(v).ljust(widths[i]) if i == 0 else str(v).rjust(widths[i]) for i, v in enumerate(r))
print(line(hdr))
print("-" * len(line(hdr)))
for t in table:
    print("" if t is None else line(t))
print()
print("W = workers/threads/reactors. vsHAP/vsDirect = this / HAProxy (same W) or / direct; for Gbit/s and conn/s")
print("higher is better, for CPU columns lower is better. CPU is n/a for direct (no proxy process).")
print("rev Gbit/s = one iperf3 -R run (backend to client) in round 1.")
print("data = byte-for-byte check of a pattern sent both ways through the proxy before the rounds (BAD = corrupted/lost).")

# ringproxy: where the bytes went, per strategy (summed over the bulk runs)
notes = []
for w, c in order:
    if not c.startswith("rp-"):
        continue
    tot = {}
    for kind in ("stats-bulk",):
        for x in data.get((w, c), {}).get(kind, []):
            for kv in x[3].split(";"):
                if "=" in kv:
                    k, v = kv.split("=", 1)
                    try:
                        tot[k] = tot.get(k, 0) + int(float(v))
                    except ValueError:
                        pass
    if not tot:
        continue
    by = {}
    for k, v in tot.items():
        if k.startswith("up_") or k.startswith("down_"):
            strat = k.split("_", 1)[1]
            by[strat] = by.get(strat, 0) + v
    allb = sum(by.values())
    parts = ("%.2f GB: " % (allb / 1e9) + ", ".join("%s %.2f%%" % (k, 100.0 * v / allb)
             for k, v in sorted(by.items(), key=lambda kv: -kv[1]) if v)) if allb else ""
    if allb and tot.get("accepted") is not None:
        parts += " (%d connections)" % tot["accepted"]
    extra = ", ".join("%s=%d" % (k, tot[k]) for k in ("splice_fallbacks", "connect_failures", "accept_errors") if tot.get(k))
    notes.append("  W=%s %-22s %s%s" % (w, label(c), parts or "no bytes counted", ("; " + extra) if extra else ""))
if notes:
    print()
    print("ringproxy exit stats of its bulk runs (bytes both ways, share moved by each tunnel strategy):")
    print("\n".join(notes))
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
log "table written to $OUT (raw samples: ${OUT%.txt}.raw.tsv)"
[ ${#FAILS[@]} -eq 0 ] || exit 1

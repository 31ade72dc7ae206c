#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# End-to-end forward-proxy comparison on loopback: direct (no proxy),
# ringproxy forward, Squid and tinyproxy. Two tests: iperf3 through an HTTP
# CONNECT tunnel, and wrk sending absolute-form GETs (keep-alive, 1 KiB) to
# an nginx origin through the proxy. See benchmarks/README.md, "e2e_forward.sh".
#
#   benchmarks/e2e_forward.sh [--quick] [--help]
#
# Environment:
#   BENCH_ROUNDS       interleaved rounds, medians taken over them   (3)
#   BENCH_SECONDS      seconds per iperf3 / wrk run                  (5)
#   BENCH_OUT          table file (benchmarks/results/e2e_forward-<date>.txt)
#   BENCH_CONTENDERS   comma list, subset of: direct,ringproxy,squid,tinyproxy
#   BENCH_TESTS        comma list, subset of: connect,get            (both)
#   BENCH_WORKERS      worker counts to run, space separated         ("1 2")
#   BENCH_CONNS        wrk concurrent connections                    (32)
#   BENCH_RELAY        CONNECT client-side relay: splice or socat    (splice)
#   BENCH_VERIFY       1 = check responses and a tunnel through each (1)
#   BENCH_PORT_BASE    free loopback ports are searched from here    (25400)
#   RINGPROXY          ringproxy binary  (<repo>/build/release/ringproxy,
#                      or <repo>/build/ringproxy when that is missing)
#   RINGPROXY_ARGS     extra ringproxy forward arguments, word-split (none)
#
# Everything binds to 127.0.0.1 only. Every process the script starts is
# tracked and stopped on exit, including on Ctrl-C and on failure.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
BENCH_NAME=e2e_forward
# shellcheck source=benchmarks/lib.sh
. "$here/lib.sh"

usage() {
	sed -n '4,27p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

quick=0
for a in "$@"; do
	case "$a" in
	--quick) quick=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "e2e_forward: unknown argument '$a'" >&2; usage >&2; exit 2 ;;
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
RELAY=${BENCH_RELAY:-splice}
WORKERS_LIST=${BENCH_WORKERS:-"1 2"}
PORT_BASE=${BENCH_PORT_BASE:-25400}
if [ -n "${RINGPROXY:-}" ]; then
	RP=$RINGPROXY
elif [ -x "$repo/build/release/ringproxy" ]; then
	RP=$repo/build/release/ringproxy
else
	RP=$repo/build/ringproxy
fi
read -r -a RP_USER_ARGS <<<"${RINGPROXY_ARGS:-}"
ALL_CONTENDERS="direct,ringproxy,squid,tinyproxy"
ALL_TESTS="connect,get"
IFS=, read -r -a CONTENDERS <<<"${BENCH_CONTENDERS:-$ALL_CONTENDERS}"
IFS=, read -r -a TESTS <<<"${BENCH_TESTS:-$ALL_TESTS}"
STAMP=$(date +%Y%m%d-%H%M%S)
START_UTC=$(date -u '+%Y-%m-%d %H:%M UTC')
OUT=${BENCH_OUT:-$repo/benchmarks/results/e2e_forward-$STAMP.txt}
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
[[ $RELAY == splice || $RELAY == socat ]] || die "BENCH_RELAY must be splice or socat (got '$RELAY')"
need_rp=0
for c in "${CONTENDERS[@]}"; do
	case ",$ALL_CONTENDERS," in
	*",$c,"*) ;;
	*) die "BENCH_CONTENDERS: unknown contender '$c' (known: $ALL_CONTENDERS)" ;;
	esac
	[ "$c" = ringproxy ] && need_rp=1
done
DO_CONNECT=0
DO_GET=0
for t in "${TESTS[@]}"; do
	case "$t" in
	connect) DO_CONNECT=1 ;;
	get) DO_GET=1 ;;
	*) die "BENCH_TESTS: unknown test '$t' (known: $ALL_TESTS)" ;;
	esac
done
[ "$(nproc)" -ge 2 ] || die "needs at least 2 CPUs (pins to CPU 0 and CPU 1)"

# ---- dependencies ------------------------------------------------------------
export PATH=$PATH:/usr/sbin:/sbin
needed_tools() {
	local c
	echo nginx wrk taskset
	[ "$DO_CONNECT" = 1 ] && echo iperf3
	[ "$DO_CONNECT" = 1 ] && [ "$RELAY" = socat ] && echo socat
	for c in "${CONTENDERS[@]}"; do
		case "$c" in squid | tinyproxy) echo "$c" ;; esac
	done
	return 0
}
have_tools() {
	local t
	for t in $(needed_tools); do
		command -v "$t" >/dev/null 2>&1 || return 1
	done
}
if ! have_tools; then
	log "installing benchmark packages: bash scripts/deps.sh all"
	# squid and tinyproxy start system daemons when installed: apt_no_daemons
	# (lib.sh) keeps them from starting
	apt_no_daemons bash "$repo/scripts/deps.sh" all || die "scripts/deps.sh all failed"
	have_tools || die "$(needed_tools | tr '\n' ' ')- one of them is still missing after scripts/deps.sh all"
fi
ensure_python3 "used for the CONNECT relay, the response check and the table"
python3 -c 'import os; os.splice' 2>/dev/null || [ "$RELAY" = socat ] ||
	die "the splice relay needs python >= 3.10 (os.splice); use BENCH_RELAY=socat"
if [ "$need_rp" = 1 ] && [ ! -x "$RP" ]; then
	die "ringproxy binary not found at $RP.
  Build it first:
    cmake -S $repo -B $repo/build/release -DCMAKE_BUILD_TYPE=Release && cmake --build $repo/build/release -j2
  (or point RINGPROXY=/path/to/ringproxy, or leave ringproxy out of BENCH_CONTENDERS)"
fi

CLK_TCK=$(getconf CLK_TCK)

# process bookkeeping, cleanup and the traps: lib.sh
bench_init

if [ "$need_rp" = 1 ]; then
	# run a private copy so a rebuild during the benchmark cannot swap it
	RP_ORIG=$RP
	cp "$RP" "$TMP/ringproxy"
	RP=$TMP/ringproxy
fi
# Squid drops root privileges (cache_effective_user): its directory must be
# reachable through $TMP, which mktemp made 0700.
SQUID_USER=
SQUID_NAME=rpbench$$ # squid -n: its own IPC socket and shared-memory names
# SMP Squid leaves its IPC sockets, named after -n, in its state directory
squid_ipc_cleanup() {
	rm -f /run/squid/"$SQUID_NAME"-*.ipc /var/run/squid/"$SQUID_NAME"-*.ipc 2>/dev/null || true
}
bench_on_exit() { squid_ipc_cleanup; }
if [ "$(id -u)" -eq 0 ] && [[ ",${CONTENDERS[*]}," == *squid* ]]; then
	for u in proxy nobody; do
		if id "$u" >/dev/null 2>&1; then SQUID_USER=$u; break; fi
	done
	[ -n "$SQUID_USER" ] || die "running as root, Squid needs an unprivileged user (proxy or nobody)"
	chmod 711 "$TMP"
fi

# ---- origin content ----------------------------------------------------------
WWW=$TMP/www
mkdir -p "$WWW"
head -c 1024 /dev/urandom >"$WWW/1k"
head -c 1048576 /dev/urandom >"$WWW/1m"

# The client-side CONNECT relay (iperf3 cannot speak CONNECT): see the README.
cat >"$TMP/relay.py" <<'PY'
# Relay for iperf3: listens on 127.0.0.1:LOCAL; for each connection it
# connects to 127.0.0.1:UPSTREAM and, given TARGET (HOST:PORT), first opens an
# HTTP CONNECT tunnel to TARGET through UPSTREAM (a forward proxy). It then
# moves the bytes both ways with splice(2) through a pipe (1 MiB at a time),
# so it costs little CPU and the same for every contender. A half-close is
# passed on (shutdown SHUT_WR).
import fcntl, os, socket, sys, threading
local, upstream = int(sys.argv[1]), int(sys.argv[2])
target = sys.argv[3] if len(sys.argv) > 3 else None
CHUNK = 1 << 20

def pump(src, dst):
    r, w = os.pipe()
    try:
        fcntl.fcntl(w, 1031, CHUNK)  # F_SETPIPE_SZ
    except OSError:
        pass
    try:
        while True:
            n = os.splice(src.fileno(), w, CHUNK)
            if n == 0:
                break
            while n:
                n -= os.splice(r, dst.fileno(), n)
    except OSError:
        pass
    finally:
        os.close(r)
        os.close(w)
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

def serve(c):
    try:
        u = socket.create_connection(("127.0.0.1", upstream), timeout=10)
        u.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if target:
            u.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target, target)).encode())
            head = b""
            while not head.endswith(b"\r\n\r\n"):
                d = u.recv(1)  # a byte at a time: nothing past the head is read
                if not d:
                    raise OSError("the proxy closed the connection during CONNECT")
                head += d
                if len(head) > 8192:
                    raise OSError("CONNECT response head too long")
            status = head.split(b"\r\n", 1)[0]
            if status.split(b" ", 2)[1:2] != [b"200"]:
                raise OSError("CONNECT refused: " + status.decode(errors="replace"))
        u.settimeout(None)
    except OSError as e:
        sys.stderr.write("relay: %s\n" % e)
        sys.stderr.flush()
        c.close()
        return
    t = threading.Thread(target=pump, args=(u, c), daemon=True)
    t.start()
    pump(c, u)
    t.join()
    c.close()
    u.close()

ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", local))
ls.listen(64)
while True:
    c, _ = ls.accept()
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY

# The response checker used by verify() below.
cat >"$TMP/verify.py" <<'PY'
# Check through a forward proxy (or, with "direct", the origin itself):
# absolute-form GET /1k three times on one keep-alive connection (a new one if
# the proxy closes it), a 404, then a CONNECT tunnel to the origin carrying
# GET /1m; bodies compared byte for byte. Prints "OK <requests>" or "ERR <what>".
import http.client, os, socket, sys
port, origin, www, direct = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4] == "direct"
files = {n: open(os.path.join(www, n), "rb").read() for n in ("1k", "1m")}
base = "" if direct else "http://127.0.0.1:%d" % origin
errors, n = [], 0

reconnects = 0

def get(conn, path, body):
    global n, reconnects
    try:
        conn.request("GET", base + path, headers={"Host": "127.0.0.1:%d" % origin})
        r = conn.getresponse()
    except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
        # closed after the previous response without saying so (tinyproxy
        # does that): not a data error; try once more on a new connection
        if n == 0:
            raise
        reconnects += 1
        conn.close()
        conn.request("GET", base + path, headers={"Host": "127.0.0.1:%d" % origin})
        r = conn.getresponse()
    d = r.read()
    n += 1
    if body is None:
        if r.status != 404:
            errors.append("GET %s: status %d, not 404" % (base + path, r.status))
    elif r.status != 200:
        errors.append("GET %s: status %d" % (base + path, r.status))
    elif d != body:
        errors.append("GET %s: %d body bytes, not the %d of the file" % (base + path, len(d), len(body))
                      if len(d) != len(body) else "GET %s: body differs from the file" % (base + path))
    return r

try:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    for rep in range(3):
        if get(c, "/1k", files["1k"]).will_close:
            c.close()
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    get(c, "/missing", None)
    c.close()
    if not direct:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.set_tunnel("127.0.0.1", origin)
        base = ""
        get(c, "/1m", files["1m"])
        c.close()
except Exception as e:
    errors.append("request %d: %s: %s" % (n + 1, type(e).__name__, e))
print("ERR " + "; ".join(errors[:4]) if errors else "OK %d" % n +
      (" (the proxy closed the keep-alive connection %d times)" % reconnects if reconnects else ""))
PY

# ---- ports -------------------------------------------------------------------
# Free ports from BENCH_PORT_BASE up (lib.sh).
ports_init "$PORT_BASE"
next_free_port
ORIGIN_PORT=$FREE_PORT
next_free_port
IPERF_PORT=$FREE_PORT
next_free_port
RELAY_PORT=$FREE_PORT
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

# wrk sends origin-form to the host it connects to; this makes it send the
# absolute form a forward proxy gets, with the origin as Host.
cat >"$TMP/absolute.lua" <<EOF
wrk.method = "GET"
wrk.path = "http://127.0.0.1:$ORIGIN_PORT/1k"
wrk.headers["Host"] = "127.0.0.1:$ORIGIN_PORT"
EOF

# ---- origin and iperf3 server ------------------------------------------------
# start_servers WORKERS CPUS: nginx serving $WWW (one worker per CPU, pinned)
# and the iperf3 server.
start_servers() {
	local w=$1 cc=$2 conf aff=01
	conf=$TMP/origin-w$w
	[ "$w" = 2 ] && aff="01 10"
	mkdir -p "$conf"
	cat >"$conf/nginx.conf" <<EOF
# Origin: static files of 1 KiB and 1 MiB.
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
	IPERF_PID=
	if [ "$DO_CONNECT" = 1 ]; then
		taskset -c "$cc" iperf3 -s -B 127.0.0.1 -p "$IPERF_PORT" >"$conf/iperf3.log" 2>&1 &
		IPERF_PID=$!
		PIDS+=("$IPERF_PID")
		wait_port "$IPERF_PORT" "$IPERF_PID" || { cat "$conf/iperf3.log" >&2; die "iperf3 server did not start"; }
	fi
}

stop_servers() {
	stop_pid "$ORIGIN_PID"
	untrack "$ORIGIN_PID"
	if [ -n "$IPERF_PID" ]; then
		stop_pid "$IPERF_PID"
		untrack "$IPERF_PID"
	fi
}

# ---- contenders --------------------------------------------------------------
label() {
	case "$1" in
	direct) echo "direct" ;;
	ringproxy) echo "ringproxy forward" ;;
	squid) echo "squid" ;;
	tinyproxy) echo "tinyproxy" ;;
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
		# the SSRF guard refuses loopback destinations unless allowed
		PROXY_CMD="taskset -c $pc $RP forward --listen 127.0.0.1:$lp --allow-dest 127.0.0.0/8 --reactors $w --cpus $pc --drain-timeout 1s${RP_USER_ARGS[*]:+ ${RP_USER_ARGS[*]}}"
		taskset -c "$pc" "$RP" forward --listen "127.0.0.1:$lp" --allow-dest 127.0.0.0/8 \
			--reactors "$w" --cpus "$pc" --drain-timeout 1s "${RP_USER_ARGS[@]}" >"$PROXY_LOG" 2>&1 &
		;;
	squid)
		# W=1: squid -N (one process, no SMP); W=2: SMP, 2 workers (kids)
		# pinned to CPU 0 and CPU 1 (cpu_affinity_map counts cores from 1),
		# plus Squid's coordinator process.
		local smp=""
		[ "$w" = 2 ] && smp=$'workers 2\ncpu_affinity_map process_numbers=1,2 cores=1,2'
		[ -n "$SQUID_USER" ] && chown "$SQUID_USER" "$d"
		cat >"$d/squid.conf" <<EOF
http_port 127.0.0.1:$lp
acl localhost_client src 127.0.0.1/32
http_access allow localhost_client
http_access deny all
cache deny all
cache_mem 8 MB
access_log none
cache_store_log none
cache_log $d/cache.log
pid_filename $d/squid.pid
coredump_dir $d
visible_hostname ringproxy-bench
pinger_enable off
shutdown_lifetime 1 seconds
forwarded_for transparent
max_filedescriptors 16384
${SQUID_USER:+cache_effective_user $SQUID_USER}
$smp
EOF
		if [ "$w" = 2 ]; then
			PROXY_CMD="taskset -c $pc squid --foreground -n $SQUID_NAME -f $d/squid.conf"
		else
			PROXY_CMD="taskset -c $pc squid -N -n $SQUID_NAME -f $d/squid.conf"
		fi
		# shellcheck disable=SC2086
		$PROXY_CMD >"$PROXY_LOG" 2>&1 &
		;;
	tinyproxy)
		# a thread per client connection: W does not apply (taskset only)
		cat >"$d/tinyproxy.conf" <<EOF
Port $lp
Listen 127.0.0.1
Timeout 600
MaxClients 1024
LogFile "$d/tinyproxy.log"
LogLevel Error
PidFile "$d/tinyproxy.pid"
ConnectPort $IPERF_PORT
ConnectPort $ORIGIN_PORT
EOF
		PROXY_CMD="taskset -c $pc tinyproxy -d -c $d/tinyproxy.conf"
		# shellcheck disable=SC2086
		$PROXY_CMD >"$PROXY_LOG" 2>&1 &
		;;
	esac
	PROXY_PID=$!
	PIDS+=("$PROXY_PID")
	if ! wait_port "$lp" "$PROXY_PID"; then
		# the first line that looks like an error, else the first line
		PROXY_ERR=$(cat "$PROXY_LOG" "$d/cache.log" "$d/tinyproxy.log" 2>/dev/null |
			awk 'NF && !first { first = $0 } NF && /FATAL|ERROR|[Ee]rror|fatal|not available|invalid|unknown/ { print; found = 1; exit }
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
	[ "$CUR" = squid ] && squid_ipc_cleanup
	if [ "$CUR" = ringproxy ]; then
		[ "$rc" -ne 0 ] && [ "$rc" -ne 127 ] && log "$(label "$CUR") (w$CUR_W) exited with status $rc after TERM: $PROXY_CMD"
		# sum the key=value counters of every "stats" line (kept in the raw file)
		PROXY_STATS=$(awk '/ringproxy: stats /{ for (i = 1; i <= NF; i++) if (split($i, kv, "=") == 2 && kv[1] != "reactor" && kv[1] != "cpu") s[kv[1]] += kv[2] }
			END { n = 0; for (k in s) { printf "%s%s=%.0f", (n++ ? ";" : ""), k, s[k] } }' "$PROXY_LOG")
	fi
	PROXY_PID=
}

# start_relay CONTENDER_PORT CLIENT_CPUS LOG: the relay iperf3 connects to;
# CONTENDER_PORT empty = direct (relay straight to the iperf3 server).
start_relay() {
	local pp=$1 cc=$2 lg=$3
	if [ "$RELAY" = socat ]; then
		local to="TCP:127.0.0.1:$IPERF_PORT"
		[ -n "$pp" ] && to="PROXY:127.0.0.1:127.0.0.1:$IPERF_PORT,proxyport=$pp"
		RELAY_CMD="taskset -c $cc socat -b 262144 TCP-LISTEN:$RELAY_PORT,bind=127.0.0.1,reuseaddr,fork $to"
	else
		RELAY_CMD="taskset -c $cc python3 $TMP/relay.py $RELAY_PORT ${pp:-$IPERF_PORT}${pp:+ 127.0.0.1:$IPERF_PORT}"
	fi
	# shellcheck disable=SC2086
	$RELAY_CMD >"$lg" 2>&1 &
	RELAY_PID=$!
	PIDS+=("$RELAY_PID")
	wait_port "$RELAY_PORT" "$RELAY_PID"
}

stop_relay() {
	[ -n "${RELAY_PID:-}" ] || return 0
	stop_pid "$RELAY_PID"
	untrack "$RELAY_PID"
	RELAY_PID=
}

# ---- measurements ------------------------------------------------------------
RAW=$TMP/raw.tsv
: >"$RAW"
FAILS=()
declare -A NA_MSG=() # "W contender" -> why it is n/a at that worker count

# record W TEST CONTENDER ROUND KIND VALUE AMOUNT CPU_S RELAY_CPU_S P50_US P99_US SOCKERR NON2XX BUSY0 BUSY1 STATS NOTE
#   TEST connect: VALUE Gbit/s, AMOUNT bytes; TEST get: VALUE req/s, AMOUNT requests
record() {
	local IFS=$'\t'
	printf '%s\n' "$*" >>"$RAW"
}

secs_of() { # T0 T1 (ticks) -> seconds, or NA
	if [ "$1" = NA ] || [ "$2" = NA ]; then echo NA; return; fi
	awk -v a="$1" -v b="$2" -v h="$CLK_TCK" 'BEGIN { printf "%.3f", (b - a) / h }'
}
ticks_of() { # PID or empty -> CPU ticks of its tree, reaped children included
	if [ -n "$1" ]; then cpu_ticks_all "$1"; else echo NA; fi
}

# run_bulk PORT CLIENT_CPUS -> "OK gbps bytes" or "ERR why"
run_bulk() {
	local port=$1 cc=$2 out rc=0
	out=$(timeout --foreground -k 5 $((SECS + 30)) taskset -c "$cc" \
		iperf3 -c 127.0.0.1 -p "$port" -t "$SECS" -J 2>&1) || rc=$?
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

# run_wrk PORT CLIENT_CPUS THREADS ABSOLUTE
#   -> "OK rps requests sockerr non2xx p50us p99us readerr" or "ERR why"
#   (sockerr = connect + write + timeout errors; readerr = read errors)
run_wrk() {
	local port=$1 cc=$2 t=$3 abs=$4 out rc=0 args=()
	[ "$abs" = 1 ] && args=(-s "$TMP/absolute.lua")
	out=$(timeout --foreground -k 5 $((SECS + 30)) taskset -c "$cc" \
		wrk -t"$t" -c"$CONNS" -d"${SECS}s" --timeout 5s --latency "${args[@]}" \
		"http://127.0.0.1:$port/1k" 2>&1) || rc=$?
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
		/Socket errors:/ { gsub(/,/, ""); err = $4 + $8 + $10; rd = $6 }
		/Non-2xx or 3xx responses:/ { bad = $NF }
		END {
			if (rps == "") { print "ERR wrk printed no Requests/sec"; exit }
			printf "OK %s %d %d %d %.0f %.0f %d\n", rps, req, err, bad, p50, p99, rd
		}'
}

# not_started CONTENDER WORKERS WHAT: the contender is n/a for the rest of
# this worker count. A ringproxy that refuses 'forward' ("not available") is
# reported, not counted as a failure.
not_started() {
	local c=$1 w=$2 what=$3
	NA_MSG["$w $c"]=$PROXY_ERR
	log "  w$w $(label "$c") ($what): n/a: $PROXY_ERR"
	if [ "$c" != ringproxy ] || [[ $PROXY_ERR != *"not available"* ]]; then
		FAILS+=("w$w $(label "$c") $what: did not start: $PROXY_ERR [$PROXY_CMD]")
	fi
}

pins() { # W -> sets PC (proxy CPUs), CC (clients/servers CPUs), WT (wrk threads)
	if [ "$1" = 1 ]; then PC=1; CC=0; WT=1; else PC=0-1; CC=0-1; WT=2; fi
}

# measure_connect CONTENDER_INDEX WORKERS ROUND
measure_connect() {
	local idx=$1 w=$2 r=$3 c=${CONTENDERS[$1]} lp pp res t0 t1 q0 q1 c0 c1 cpu rcpu busy0 busy1
	CUR=$c
	CUR_W=$w
	pins "$w"
	lp=${PROXY_PORTS[$idx]}
	pp=$lp
	[ "$c" = direct ] && pp=
	if [ -n "${NA_MSG["$w $c"]:-}" ]; then
		record "$w" connect "$c" "$r" run NA 0 NA NA NA NA 0 0 NA NA "" "${NA_MSG["$w $c"]}"
		return 0
	fi
	if ! start_proxy "$c" "$w" "$PC" "$lp" "connect-r$r"; then
		not_started "$c" "$w" "connect round $r"
		record "$w" connect "$c" "$r" run NA 0 NA NA NA NA 0 0 NA NA "" "${NA_MSG["$w $c"]}"
		return 0
	fi
	local rl=$TMP/relay-w$w-$c-r$r.log
	if ! start_relay "$pp" "$CC" "$rl"; then
		res="ERR the $RELAY relay did not start: $(head -c 300 "$rl" | tr '\n' ' ')"
		stop_relay
		stop_proxy
		log "  w$w r$r connect $(label "$c"): FAILED: ${res#ERR }"
		record "$w" connect "$c" "$r" run FAIL 0 NA NA NA NA 0 0 NA NA "$PROXY_STATS" "${res#ERR }"
		FAILS+=("w$w $(label "$c") connect round $r: ${res#ERR } [$RELAY_CMD]")
		return 0
	fi
	c0=$(cpu01)
	t0=$(ticks_of "$PROXY_PID")
	q0=$(ticks_of "$RELAY_PID")
	res=$(run_bulk "$RELAY_PORT" "$CC")
	t1=$(ticks_of "$PROXY_PID")
	q1=$(ticks_of "$RELAY_PID")
	c1=$(cpu01)
	cpu=$(secs_of "$t0" "$t1")
	rcpu=$(secs_of "$q0" "$q1")
	read -r busy0 busy1 < <(busy01 "$c0" "$c1")
	if [ -n "$PROXY_PID" ] && ! alive "$PROXY_PID"; then
		res="ERR proxy process died during the run"
	fi
	# a refused CONNECT shows in the relay's log, not in iperf3's error
	local why
	why=$(grep -m 1 '^relay: ' "$rl" 2>/dev/null || true)
	stop_relay
	stop_proxy
	# shellcheck disable=SC2086
	set -- $res
	if [ "$1" = OK ] && awk -v g="$2" 'BEGIN { exit !(g > 0) }'; then
		local pct=""
		[ "$cpu" != NA ] && pct=", proxy cpu ${cpu}s = $(awk -v c="$cpu" -v b="$3" 'BEGIN { printf "%.0f", c * 1e3 / (b / 1e9) }') ms/GB"
		log "  w$w r$r connect $(label "$c"): $(printf '%.2f' "$2") Gbit/s$pct, relay cpu ${rcpu}s, CPU0/1 busy $busy0/$busy1%"
		record "$w" connect "$c" "$r" run "$2" "$3" "$cpu" "$rcpu" NA NA 0 0 "$busy0" "$busy1" "$PROXY_STATS" ""
	else
		[ "$1" = OK ] && res="ERR zero throughput"
		[ -n "$why" ] && res="$res ($why)"
		log "  w$w r$r connect $(label "$c"): FAILED: ${res#ERR }"
		record "$w" connect "$c" "$r" run FAIL 0 "$cpu" "$rcpu" NA NA 0 0 "$busy0" "$busy1" "$PROXY_STATS" "${res#ERR }"
		FAILS+=("w$w $(label "$c") connect round $r: ${res#ERR } [${PROXY_CMD:-direct}]")
	fi
	return 0
}

# measure_get CONTENDER_INDEX WORKERS ROUND
measure_get() {
	local idx=$1 w=$2 r=$3 c=${CONTENDERS[$1]} lp res t0 t1 c0 c1 cpu busy0 busy1 abs=1
	CUR=$c
	CUR_W=$w
	pins "$w"
	lp=${PROXY_PORTS[$idx]}
	[ "$c" = direct ] && abs=0
	if [ -n "${NA_MSG["$w $c"]:-}" ]; then
		record "$w" get "$c" "$r" run NA 0 NA NA NA NA 0 0 NA NA "" "${NA_MSG["$w $c"]}"
		return 0
	fi
	if ! start_proxy "$c" "$w" "$PC" "$lp" "get-r$r"; then
		not_started "$c" "$w" "get round $r"
		record "$w" get "$c" "$r" run NA 0 NA NA NA NA 0 0 NA NA "" "${NA_MSG["$w $c"]}"
		return 0
	fi
	c0=$(cpu01)
	t0=$(ticks_of "$PROXY_PID")
	res=$(run_wrk "$lp" "$CC" "$WT" "$abs")
	t1=$(ticks_of "$PROXY_PID")
	c1=$(cpu01)
	cpu=$(secs_of "$t0" "$t1")
	read -r busy0 busy1 < <(busy01 "$c0" "$c1")
	if [ -n "$PROXY_PID" ] && ! alive "$PROXY_PID"; then
		res="ERR proxy process died during the run"
	fi
	stop_proxy
	# shellcheck disable=SC2086
	set -- $res
	if [ "$1" = OK ] && [ "${3:-0}" -gt 0 ]; then
		local note="" pct="" err=$4
		# tinyproxy closes the client connection after every response
		# without saying so (no Connection: close): wrk then counts a read
		# error for a request that did complete. Counted apart, not as errors.
		if [ "$c" = tinyproxy ]; then
			note="closed after each response: $8 wrk read errors"
		else
			err=$(($4 + $8))
		fi
		set -- "$1" "$2" "$3" "$err" "$5" "$6" "$7"
		[ "$4" -gt 0 ] && note="${note:+$note, }socket errors $4"
		[ "$5" -gt 0 ] && note="${note:+$note, }non-2xx $5"
		[ "$cpu" != NA ] && pct=", proxy cpu ${cpu}s = $(awk -v c="$cpu" -v n="$3" 'BEGIN { printf "%.1f", c * 1e6 / n }') us/req"
		log "  w$w r$r get $(label "$c"): $2 req/s, p50 $6 us, p99 $7 us$pct, CPU0/1 busy $busy0/$busy1%${note:+ ($note)}"
		record "$w" get "$c" "$r" run "$2" "$3" "$cpu" NA "$6" "$7" "$4" "$5" "$busy0" "$busy1" "$PROXY_STATS" "$note"
		# more than 1% failed requests: count it as a failure
		if [ $(($4 + $5)) -gt $(($3 / 100)) ]; then
			FAILS+=("w$w $(label "$c") get round $r: $note of $3 requests [${PROXY_CMD:-direct}]")
		fi
	else
		[ "$1" = OK ] && res="ERR no successful request"
		log "  w$w r$r get $(label "$c"): FAILED: ${res#ERR }"
		record "$w" get "$c" "$r" run FAIL 0 "$cpu" NA NA NA 0 0 "$busy0" "$busy1" "$PROXY_STATS" "${res#ERR }"
		FAILS+=("w$w $(label "$c") get round $r: ${res#ERR } [${PROXY_CMD:-direct}]")
	fi
	return 0
}

# verify CONTENDER_INDEX WORKERS: bodies through the contender, absolute-form
# and through a CONNECT tunnel (neither wrk nor iperf3 looks at the payload).
verify() {
	local idx=$1 w=$2 c=${CONTENDERS[$1]} lp res
	CUR=$c
	CUR_W=$w
	pins "$w"
	lp=${PROXY_PORTS[$idx]}
	if ! start_proxy "$c" "$w" "$PC" "$lp" verify; then
		not_started "$c" "$w" "response check"
		record "$w" - "$c" 0 verify NA 0 NA NA NA NA 0 0 NA NA "" "$PROXY_ERR"
		return 0
	fi
	res=$(timeout --foreground -k 5 60 taskset -c "$CC" python3 "$TMP/verify.py" "$lp" "$ORIGIN_PORT" "$WWW" "$c" 2>&1) || true
	[ -n "$res" ] || res="ERR response check timed out"
	stop_proxy
	if [ "${res%% *}" = OK ]; then
		res=${res#OK }
		log "  w$w $(label "$c"): response check ok (${res%% *} requests)$([ "${res#* }" = "$res" ] || echo " ${res#* }")"
		record "$w" - "$c" 0 verify OK "${res%% *}" NA NA NA NA 0 0 NA NA "" "$([ "${res#* }" = "$res" ] || echo "${res#* }")"
	else
		res=$(head -n 1 <<<"$res")
		log "  w$w $(label "$c"): response check FAILED: ${res#ERR }"
		record "$w" - "$c" 0 verify FAIL 0 NA NA NA NA 0 0 NA NA "" "${res#ERR }"
		FAILS+=("w$w $(label "$c") response check: ${res#ERR } [${PROXY_CMD:-direct}]")
	fi
	return 0
}

# ---- main --------------------------------------------------------------------
n=${#CONTENDERS[@]}
nw=$(wc -w <<<"$WORKERS_LIST")
# per run: SECS plus about 2 s to start and stop the proxy (Squid: 3)
est=$((nw * ROUNDS * (DO_CONNECT + DO_GET) * n * (SECS + 2) + nw * n * 2 * VERIFY))
busy=$(cpu_busy_pct)
if [ "$busy" -gt 10 ]; then
	log "warning: the CPUs are already ${busy}% busy before the start; other work on this machine skews the numbers"
fi
log "contenders: ${CONTENDERS[*]}; tests: ${TESTS[*]}; workers: $WORKERS_LIST; rounds $ROUNDS x ${SECS}s; relay $RELAY; about $((est / 60 + 1)) min"
log "ports: origin 127.0.0.1:$ORIGIN_PORT, iperf3 $IPERF_PORT, relay $RELAY_PORT$(for i in "${!CONTENDERS[@]}"; do [ "${CONTENDERS[$i]}" = direct ] || printf ', %s %s' "${CONTENDERS[$i]}" "${PROXY_PORTS[$i]}"; done)"
[ "$need_rp" = 1 ] && log "ringproxy: $RP_ORIG (copied to $RP)${RP_USER_ARGS[*]:+, extra arguments: ${RP_USER_ARGS[*]}}"

for w in $WORKERS_LIST; do
	if [ "$w" = 1 ]; then
		log "== 1 worker: proxy on CPU 1; wrk, iperf3 (client and server), the relay and the origin on CPU 0"
		start_servers 1 0
	else
		log "== 2 workers: proxy workers on CPUs 0 and 1; wrk, iperf3, the relay and the origin on CPUs 0-1 (everything shares both CPUs)"
		start_servers 2 0-1
	fi
	if [ "$VERIFY" = 1 ]; then
		for ((j = 0; j < n; j++)); do
			verify "$j" "$w"
		done
	fi
	for ((r = 1; r <= ROUNDS; r++)); do
		for t in "${TESTS[@]}"; do
			for ((j = 0; j < n; j++)); do
				# rotate the start each round so no contender always runs first
				"measure_$t" $(((j + r - 1) % n)) "$w" "$r"
			done
		done
	done
	stop_servers
done

# ---- report ------------------------------------------------------------------
ELAPSED=$(($(date +%s) - T_START))
mkdir -p "$(dirname "$OUT")"
ver() { # the first line a version command prints (some exit non-zero)
	{ "$@" 2>&1 || true; } | head -n 1
}
{
	echo "e2e_forward: end-to-end forward-proxy comparison, loopback 127.0.0.1, started $START_UTC, took $((ELAPSED / 60)) min $((ELAPSED % 60)) s"
	echo "issue targets: CONNECT tunnel throughput >= 0.9x direct; absolute-form GET req/s >= 2x Squid"
	echo "host: $(nproc) CPUs, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), kernel $(uname -r); CPUs ${busy}% busy (other work) just before the start"
	vers="$(ver nginx -v | sed 's|.*/||; s|^|nginx |'), $(ver wrk -v | awk '{ print "wrk " $2 }')"
	[ "$DO_CONNECT" = 1 ] && vers="$vers, $(ver iperf3 --version | awk '{ print "iperf3 " $2 }')"
	[[ ",${CONTENDERS[*]}," == *squid* ]] && vers="$vers, $(ver squid -v | awk '{ print "squid " $4 }')"
	[[ ",${CONTENDERS[*]}," == *tinyproxy* ]] && vers="$vers, $(ver tinyproxy -v)"
	[ "$DO_CONNECT" = 1 ] && [ "$RELAY" = socat ] && vers="$vers, $({ socat -V 2>/dev/null || true; } | awk '/socat version/ { print "socat " $3 }')"
	echo "versions: $vers"
	if [ "$need_rp" = 1 ]; then
		echo "ringproxy: $RP_ORIG (built $(stat -c '%y' "$RP_ORIG" 2>/dev/null | cut -d. -f1), sha256 $(sha256sum "$RP" | cut -c1-12) of the copy used)${RP_USER_ARGS[*]:+, extra arguments: ${RP_USER_ARGS[*]}}"
	fi
	echo "method: $ROUNDS interleaved round(s) per worker count, medians; a fresh proxy per run."
	if [ "$DO_CONNECT" = 1 ]; then
		if [ "$RELAY" = socat ]; then
			echo "        CONNECT = iperf3 -c -t $SECS (1 stream) to a local socat relay (-b 262144, a fork per connection) that opens"
			echo "        'CONNECT 127.0.0.1:IPERF' through the proxy for each iperf3 connection; direct = the same relay"
		else
			echo "        CONNECT = iperf3 -c -t $SECS (1 stream) to a local relay (python3, splice(2) through a pipe) that opens"
			echo "        'CONNECT 127.0.0.1:IPERF' through the proxy for each iperf3 connection; direct = the same relay"
		fi
		echo "        straight to the iperf3 server, so vsDirect isolates the proxy. The relay runs with the clients."
	fi
	[ "$DO_GET" = 1 ] && echo "        GET = wrk -tW -c$CONNS -d${SECS}s --latency, keep-alive, 'GET http://127.0.0.1:ORIGIN/1k' (absolute form) to the proxy;
        direct = wrk straight to the nginx origin (origin form). The origin serves a 1 KiB static file (sendfile on)."
	echo "        CPU = utime+stime of all proxy processes/threads over the run, reaped children included (/proc/PID/stat)."
	echo "contenders: ringproxy forward --allow-dest 127.0.0.0/8 --reactors W --cpus C; Squid: no cache (cache deny all, no"
	echo "        cache_dir), no logs, W=1 squid -N, W=2 SMP 'workers 2' pinned by cpu_affinity_map (plus its coordinator);"
	echo "        tinyproxy: a thread per connection, W does not apply (same run shown at each W, only the CPUs differ)."
	echo "pinning: 1 worker = proxy on CPU 1; wrk, iperf3 client and server, the relay and the origin on CPU 0;"
	echo "         2 workers = proxy workers pinned to CPU 0 and CPU 1, the rest on CPUs 0-1 (everything shares both CPUs)."
	echo
	python3 - "$RAW" "$(IFS=,; echo "${CONTENDERS[*]}")" "$SECS" "$DO_CONNECT" "$DO_GET" <<'PY'
import sys, statistics as st
raw, contenders, secs = sys.argv[1], sys.argv[2].split(","), float(sys.argv[3])
do_connect, do_get = sys.argv[4] == "1", sys.argv[5] == "1"
F = ["w", "t", "c", "r", "kind", "val", "amt", "cpu", "rcpu", "p50", "p99", "sockerr", "non2xx", "busy0", "busy1", "stats", "note"]
rows = [dict(zip(F, l.rstrip("\n").split("\t"))) for l in open(raw) if l.strip()]
labels = {"direct": "direct", "ringproxy": "ringproxy forward", "squid": "squid", "tinyproxy": "tinyproxy"}
workers = []
for x in rows:
    if x["w"] not in workers:
        workers.append(x["w"])

def med(xs):
    return st.median(xs) if xs else None

def summarize(w, t, c):
    runs = [x for x in rows if x["w"] == w and x["t"] == t and x["c"] == c and x["kind"] == "run"]
    ok = [x for x in runs if x["val"] not in ("FAIL", "NA")]
    d = {"runs": len(runs), "ok": len(ok)}
    d["na"] = next((x["note"] for x in runs if x["val"] == "NA"), None)
    d["fails"] = sum(1 for x in runs if x["val"] == "FAIL")
    d["val"] = med([float(x["val"]) for x in ok])
    withamt = [x for x in ok if int(x["amt"]) > 0]
    if t == "connect":
        d["cpu_unit"] = med([float(x["cpu"]) * 1e3 / (int(x["amt"]) / 1e9) for x in withamt if x["cpu"] != "NA"])
        d["relay_unit"] = med([float(x["rcpu"]) * 1e3 / (int(x["amt"]) / 1e9) for x in withamt if x["rcpu"] != "NA"])
    else:
        d["cpu_unit"] = med([float(x["cpu"]) * 1e6 / int(x["amt"]) for x in withamt if x["cpu"] != "NA"])
        d["p50"] = med([float(x["p50"]) for x in ok])
        d["p99"] = med([float(x["p99"]) for x in ok])
    d["cpu_pct"] = med([100 * float(x["cpu"]) / secs for x in ok if x["cpu"] != "NA"])
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

def note_of(d, w, t, c, flagged):
    if d["na"] is not None and d["ok"] == 0:
        return "n/a: " + d["na"]
    note = ""
    runs = [x for x in rows if x["w"] == w and x["t"] == t and x["c"] == c and x["kind"] == "run"]
    if any(x["note"].startswith("closed after each response") for x in runs):
        note = "no client keep-alive: closes after each response"
    if d["fails"]:
        note += ("; " if note else "") + "%d/%d runs FAILED" % (d["fails"], d["runs"])
    if d["err_runs"]:
        note += ("; " if note else "") + "ERRORS in %d/%d runs" % (d["err_runs"], d["runs"])
        flagged.append((w, t, c))
    return note

def busy(d):
    b0, b1 = d["busy"]
    return "n/a" if b0 is None or b1 is None else "%.0f/%.0f" % (b0, b1)

def print_table(hdr, table, nleft):
    while table and table[-1] is None:
        table.pop()
    widths = [max(len(str(r[i])) for r in [hdr] + [x for x in table if x]) for i in range(len(hdr) - 1)]
    def line(r):
        cells = [str(v).ljust(widths[i]) if i < nleft else str(v).rjust(widths[i]) for i, v in enumerate(r[:-1])]
        return ("  ".join(cells) + ("  " + r[-1] if r[-1] else "")).rstrip()
    print(line(hdr))
    print("-" * len(line(hdr[:-1] + [""])))
    for x in table:
        print("" if x is None else line(x))

flagged, targets = [], []
if do_connect:
    print("CONNECT tunnel: iperf3 through the relay and an HTTP CONNECT tunnel")
    hdr = ["contender", "W", "Gbit/s", "vsDirect", "vsSquid", "vsTiny", "CPUms/GB", "vsSquid", "vsTiny",
           "proxyCPU%", "relayms/GB", "busy0/1%", "check", "note"]
    table = []
    for w in workers:
        base = {k: summarize(w, "connect", k) for k in ("direct", "squid", "tinyproxy") if k in contenders}
        for c in contenders:
            d = summarize(w, "connect", c)
            if d["runs"] == 0:
                continue
            px = c != "direct"
            g = lambda k, key: base[k].get(key) if k in base else None
            note = note_of(d, w, "connect", c, flagged)
            table.append([labels[c] + (" !" if d["fails"] else ""), w, f(d["val"], ".2f"),
                ratio(d["val"], g("direct", "val")) if px else "-",
                ratio(d["val"], g("squid", "val")) if px and c != "squid" else "-",
                ratio(d["val"], g("tinyproxy", "val")) if px and c != "tinyproxy" else "-",
                f(d["cpu_unit"], ".0f") if px else "-",
                ratio(d["cpu_unit"], g("squid", "cpu_unit")) if px and c != "squid" else "-",
                ratio(d["cpu_unit"], g("tinyproxy", "cpu_unit")) if px and c != "tinyproxy" else "-",
                f(d["cpu_pct"], ".0f") if px else "-", f(d["relay_unit"], ".0f"), busy(d), d["check"], note])
            if c == "ringproxy" and d["val"] is not None and g("direct", "val"):
                r_ = d["val"] / g("direct", "val")
                targets.append("W=%s CONNECT: ringproxy %.2fx direct (target >= 0.90x: %s)" % (w, r_, "met" if r_ >= 0.9 else "NOT met"))
        table.append(None)
    print_table(hdr, table, 1)
    print()
    print("vsDirect/vsSquid/vsTiny = this / direct, Squid or tinyproxy at the same W: for Gbit/s higher is better, for")
    print("CPUms/GB (proxy CPU per GB received) lower is better. relayms/GB = CPU of the client-side relay per GB (the")
    print("same work for every contender; it runs on the clients' CPU). proxyCPU% = proxy CPU time / run time (100 = one CPU).")
    print()

if do_get:
    print("absolute-form GET: wrk, keep-alive, 1 KiB static file")
    hdr = ["contender", "W", "req/s", "vsDirect", "vsSquid", "vsTiny", "p50 us", "p99 us", "CPUus/req", "vsSquid", "vsTiny",
           "proxyCPU%", "busy0/1%", "check", "errors", "note"]
    table = []
    for w in workers:
        base = {k: summarize(w, "get", k) for k in ("direct", "squid", "tinyproxy") if k in contenders}
        for c in contenders:
            d = summarize(w, "get", c)
            if d["runs"] == 0:
                continue
            px = c != "direct"
            g = lambda k, key: base[k].get(key) if k in base else None
            note = note_of(d, w, "get", c, flagged)
            table.append([labels[c] + (" !" if d["err_runs"] or d["fails"] else ""), w, f(d["val"], ".0f"),
                ratio(d["val"], g("direct", "val")) if px else "-",
                ratio(d["val"], g("squid", "val")) if px and c != "squid" else "-",
                ratio(d["val"], g("tinyproxy", "val")) if px and c != "tinyproxy" else "-",
                f(d["p50"], ".0f"), f(d["p99"], ".0f"),
                f(d["cpu_unit"], ".1f") if px else "-",
                ratio(d["cpu_unit"], g("squid", "cpu_unit")) if px and c != "squid" else "-",
                ratio(d["cpu_unit"], g("tinyproxy", "cpu_unit")) if px and c != "tinyproxy" else "-",
                f(d["cpu_pct"], ".0f") if px else "-", busy(d), d["check"], d["errors"] if d["ok"] else "-", note])
            if c == "ringproxy" and d["val"] is not None and g("squid", "val"):
                r_ = d["val"] / g("squid", "val")
                targets.append("W=%s GET: ringproxy %.2fx Squid's req/s (target >= 2x: %s)" % (w, r_, "met" if r_ >= 2 else "NOT met"))
        table.append(None)
    print_table(hdr, table, 1)
    print()
    print("for req/s higher is better, for CPUus/req (proxy CPU per request) lower is better; p50/p99 = wrk --latency")
    print("percentiles (medians over the rounds). errors = wrk socket errors + non-2xx responses, summed over the rounds.")
    print()

print("W = workers/reactors/SMP kids (tinyproxy: none). busy0/1% = how busy CPU 0 and CPU 1 were during the run (all")
print("processes): at W=1 the proxy has CPU 1 to itself, so proxyCPU% well below 100 with CPU 0 ~100% busy means the")
print("clients/servers/relay, not the proxy, set the pace; then CPU per GB or per request compares the proxies best.")
print("check = response bodies (absolute form, a 404, 1 MiB through a CONNECT tunnel) checked before the rounds.")
print("'!' marks a row with errors or failed runs.")
if targets:
    print()
    print("issue targets (from the measured medians above):")
    for t in targets:
        print("  " + t)
if flagged:
    print()
    print("RUNS WITH ERRORS:")
    for w, t, c in flagged:
        for x in rows:
            if x["w"] == w and x["t"] == t and x["c"] == c and x["kind"] == "run" and x["val"] not in ("FAIL", "NA") \
               and int(x["sockerr"]) + int(x["non2xx"]) > 0:
                print("  W=%s %s %s round %s: %s of %s requests" % (w, t, labels[c], x["r"], x["note"], x["amt"]))
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

#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# End-to-end HTTPS comparison on loopback: ringproxy --mode http with TLS
# termination, HAProxy (bind ... ssl, mode http) and nginx (listen ... ssl,
# proxy_pass), each terminating TLS in front of the same plain-HTTP nginx
# origin, plus direct (the origin itself serving HTTPS). Same certificate
# (P-256 ECDSA), version and cipher for all. See benchmarks/README.md,
# "e2e_tls.sh".
#
#   benchmarks/e2e_tls.sh [--quick] [--help]
#
# Environment:
#   BENCH_ROUNDS       interleaved rounds, medians taken over them   (3)
#   BENCH_SECONDS      seconds per wrk run                           (5)
#   BENCH_OUT          table file     (benchmarks/results/e2e_tls-<date>.txt)
#   BENCH_CONTENDERS   comma list, subset of: direct,ringproxy,haproxy,nginx
#   BENCH_SCENARIOS    comma list, subset of: ka-1k,bulk,hs
#   BENCH_WORKERS      worker counts to run, space separated         ("1 2")
#   BENCH_CONNS        wrk connections for ka-1k and hs              (32)
#   BENCH_BULK_CONNS   wrk connections for bulk                      (8)
#   BENCH_BULK_KIB     size of the bulk file in KiB                  (1024)
#   BENCH_TLS          1.2 (ECDHE-ECDSA-AES128-GCM-SHA256) or
#                      1.3 (TLS_AES_128_GCM_SHA256)                  (1.2)
#   BENCH_VERIFY       1 = check responses and the negotiated cipher (1)
#   BENCH_QUIET_WAIT   before each run, wait up to this many seconds for
#                      the CPUs to be at most 15% busy (other work); 0 = no (10)
#   BENCH_OTHER_MAX    runs during which other work took more than this %
#                      of a CPU are left out of the medians (if one is left) (25)
#   BENCH_PORT_BASE    free loopback ports are searched from here    (25500)
#   RINGPROXY          ringproxy binary  (<repo>/build/release/ringproxy,
#                      or <repo>/build/ringproxy when that is missing)
#   RINGPROXY_ARGS     extra ringproxy arguments, word-split         (none)
#
# Everything binds to 127.0.0.1 only. Every process the script starts is
# tracked and stopped on exit, including on Ctrl-C and on failure.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
BENCH_NAME=e2e_tls
# shellcheck source=benchmarks/lib.sh
. "$here/lib.sh"

usage() {
	sed -n '4,36p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

quick=0
for a in "$@"; do
	case "$a" in
	--quick) quick=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "e2e_tls: unknown argument '$a'" >&2; usage >&2; exit 2 ;;
	esac
done

ROUNDS=${BENCH_ROUNDS:-3}
SECS=${BENCH_SECONDS:-5}
if [ "$quick" = 1 ]; then
	ROUNDS=1
	SECS=2
fi
CONNS=${BENCH_CONNS:-32}
BULK_CONNS=${BENCH_BULK_CONNS:-8}
BULK_KIB=${BENCH_BULK_KIB:-1024}
TLSV=${BENCH_TLS:-1.2}
VERIFY=${BENCH_VERIFY:-1}
QUIET_WAIT=${BENCH_QUIET_WAIT:-10}
OTHER_MAX=${BENCH_OTHER_MAX:-25}
WORKERS_LIST=${BENCH_WORKERS:-"1 2"}
PORT_BASE=${BENCH_PORT_BASE:-25500}
if [ -n "${RINGPROXY:-}" ]; then
	RP=$RINGPROXY
elif [ -x "$repo/build/release/ringproxy" ]; then
	RP=$repo/build/release/ringproxy
else
	RP=$repo/build/ringproxy
fi
read -r -a RP_USER_ARGS <<<"${RINGPROXY_ARGS:-}"
ALL_CONTENDERS="direct,ringproxy,haproxy,nginx"
ALL_SCENARIOS="ka-1k,bulk,hs"
IFS=, read -r -a CONTENDERS <<<"${BENCH_CONTENDERS:-$ALL_CONTENDERS}"
IFS=, read -r -a SCENARIOS <<<"${BENCH_SCENARIOS:-$ALL_SCENARIOS}"
STAMP=$(date +%Y%m%d-%H%M%S)
START_UTC=$(date -u '+%Y-%m-%d %H:%M UTC')
OUT=${BENCH_OUT:-$repo/benchmarks/results/e2e_tls-$STAMP.txt}
T_START=$(date +%s)

for v in ROUNDS:BENCH_ROUNDS SECS:BENCH_SECONDS CONNS:BENCH_CONNS BULK_CONNS:BENCH_BULK_CONNS \
	BULK_KIB:BENCH_BULK_KIB PORT_BASE:BENCH_PORT_BASE; do
	val=${v%%:*}
	val=${!val}
	[[ $val =~ ^[1-9][0-9]*$ ]] || die "${v#*:} must be a positive integer (got '$val')"
done
[[ $QUIET_WAIT =~ ^[0-9]+$ ]] || die "BENCH_QUIET_WAIT must be a number of seconds (got '$QUIET_WAIT')"
[[ $OTHER_MAX =~ ^[0-9]+$ ]] || die "BENCH_OTHER_MAX must be a whole percentage (got '$OTHER_MAX')"
if [ "$PORT_BASE" -lt 1024 ] || [ "$PORT_BASE" -gt 65000 ]; then die "BENCH_PORT_BASE must be within 1024..65000"; fi
for w in $WORKERS_LIST; do
	[[ $w == 1 || $w == 2 ]] || die "BENCH_WORKERS: only 1 and 2 are supported (got '$w')"
	if [ "$CONNS" -lt "$w" ] || [ "$BULK_CONNS" -lt "$w" ]; then
		die "BENCH_CONNS and BENCH_BULK_CONNS must be at least the worker count (wrk -tW)"
	fi
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

# ---- TLS parameters, the same for every contender ------------------------------
# wrk cannot choose ciphers, so the servers are restricted to the one suite,
# and the clients (wrk, the python3 check, openssl s_client) are pinned too,
# through an OPENSSL_CONF of their own: BoringSSL (ringproxy) takes the
# client's order for TLS 1.3 suites, and OpenSSL clients offer
# TLS_AES_256_GCM_SHA384 first.
TLS12_CIPHER=ECDHE-ECDSA-AES128-GCM-SHA256
TLS13_SUITE=TLS_AES_128_GCM_SHA256
TLS_GROUPS=X25519:P-256 # X25519 is picked; P-256 has to be there for the certificate
case "$TLSV" in
1.2) TLS_CIPHER=$TLS12_CIPHER ;;
1.3) TLS_CIPHER=$TLS13_SUITE ;;
*) die "BENCH_TLS must be 1.2 or 1.3 (got '$TLSV')" ;;
esac
BULK_BYTES=$((BULK_KIB * 1024))

# ---- dependencies ------------------------------------------------------------
have_tools() {
	local t
	for t in haproxy nginx wrk taskset openssl; do
		command -v "$t" >/dev/null 2>&1 || return 1
	done
}
export PATH=$PATH:/usr/sbin:/sbin
if ! have_tools; then
	log "installing benchmark packages: bash scripts/deps.sh all"
	bash "$repo/scripts/deps.sh" all || die "scripts/deps.sh all failed"
	have_tools || die "haproxy/nginx/wrk/taskset/openssl still missing after scripts/deps.sh all"
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
	rp_help=$("$RP" reverse --help 2>&1 || true)
	grep -q -- '--tls-cert' <<<"$rp_help" || die "$RP_ORIG has no --tls-cert (no TLS termination in this build)"
	if grep -q -- '--pool-max-idle' <<<"$rp_help"; then
		RP_ARGS+=(--pool-max-idle 256)
	fi
	RP_ARGS+=("${RP_USER_ARGS[@]}")
fi

# ---- certificate and client settings -----------------------------------------
CERT=$TMP/cert
tls_make_cert "$CERT"
CLIENT_CNF=$TMP/client-openssl.cnf
tls_client_conf "$CLIENT_CNF" "$TLSV" "$TLS12_CIPHER" "$TLS13_SUITE" "$TLS_GROUPS"

# the servers' TLS settings, one suite, no session resumption (no tickets, no
# session cache: every handshake in 'hs' is a full one)
if [ "$TLSV" = 1.2 ]; then
	RP_TLS=(--tls-min 1.2 --tls-max 1.2 --tls-ciphers "$TLS12_CIPHER" --no-tls-tickets)
	HAP_TLS="ssl-min-ver TLSv1.2 ssl-max-ver TLSv1.2 ciphers $TLS12_CIPHER no-tls-tickets"
	NGX_TLS="ssl_protocols TLSv1.2;
		ssl_ciphers $TLS12_CIPHER;"
else
	# ringproxy (BoringSSL) has no setting for TLS 1.3 suites: the pinned client decides
	RP_TLS=(--tls-min 1.3 --tls-max 1.3 --no-tls-tickets)
	HAP_TLS="ssl-min-ver TLSv1.3 ssl-max-ver TLSv1.3 ciphersuites $TLS13_SUITE no-tls-tickets"
	NGX_TLS="ssl_protocols TLSv1.3;
		ssl_conf_command Ciphersuites $TLS13_SUITE;"
fi
NGX_TLS="ssl_certificate $CERT/cert.pem;
		ssl_certificate_key $CERT/key.pem;
		$NGX_TLS
		ssl_session_tickets off;
		ssl_session_cache off;"

# ---- origin content ----------------------------------------------------------
WWW=$TMP/www
mkdir -p "$WWW"
head -c 1024 /dev/urandom >"$WWW/1k"
head -c "$BULK_BYTES" /dev/urandom >"$WWW/bulk"

scenario_path() { # scenario -> URL path
	case "$1" in
	ka-1k | hs) echo /1k ;;
	bulk) echo /bulk ;;
	esac
}

# The response check used by verify() below, over TLS with the pinned client
# settings: bodies, HEAD, 404, Connection: close, the version and cipher
# negotiated, the certificate (verified against the one made above), and that
# a second connection offering the first one's session does not resume it.
cat >"$TMP/verify.py" <<'PY'
# Prints "OK <requests> <version> <cipher>" or "ERR <what>".
import http.client, os, socket, ssl, sys
port, www, cafile, ver, want = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
files = {"/" + n: open(os.path.join(www, n), "rb").read() for n in ("1k", "bulk")}
want_ver = "TLSv" + ver
errors, n = [], 0
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(cafile)
ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2 if ver == "1.2" else ssl.TLSVersion.TLSv1_3
if ver == "1.2":
    ctx.set_ciphers(want)

def get(conn, method, path, headers={}):
    global n
    conn.request(method, path, headers=headers)
    r = conn.getresponse()
    d = r.read()
    n += 1
    return r, d

got = "?"
try:
    c = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=ctx)
    c.connect()
    got = "%s %s" % (c.sock.version(), c.sock.cipher()[0])
    if c.sock.version() != want_ver or c.sock.cipher()[0] != want:
        errors.append("negotiated %s, not %s %s" % (got, want_ver, want))
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
    r, d = get(c, "HEAD", "/bulk")
    if r.status != 200 or d or r.getheader("Content-Length") != str(len(files["/bulk"])):
        errors.append("HEAD /bulk: status %d, Content-Length %s, %d body bytes"
                      % (r.status, r.getheader("Content-Length"), len(d)))
    r, d = get(c, "GET", "/missing")
    if r.status != 404:
        errors.append("GET /missing: status %d, not 404" % r.status)
    r, d = get(c, "GET", "/1k")
    if r.status != 200 or d != files["/1k"]:
        errors.append("GET /1k after a 404: status %d, %d bytes" % (r.status, len(d)))
    sess = c.sock.session
    c.close()
    # a second connection, offering the first session; Connection: close
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                        server_hostname="127.0.0.1", session=sess if sess is not None and sess.id else None)
    s.sendall(b"GET /1k HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    resp = b""
    while True:
        try:
            b = s.recv(65536)
        except (ssl.SSLEOFError, ConnectionResetError):
            break
        if not b:
            break
        resp += b
    n += 1
    head, _, body = resp.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200") or body != files["/1k"]:
        errors.append("GET /1k with Connection: close: %r, %d body bytes" % (head.split(b"\r\n")[0], len(body)))
    elif b"\r\nconnection: close" not in head.lower():
        errors.append("GET /1k with Connection: close: the response does not say close")
    if s.session_reused:
        errors.append("the second connection resumed the first one's session (resumption should be off)")
    s.close()
except Exception as e:
    errors.append("request %d: %s: %s" % (n + 1, type(e).__name__, e))
print("ERR " + "; ".join(errors[:4]) if errors else "OK %d %s" % (n, got))
PY

# ---- ports -------------------------------------------------------------------
ports_init "$PORT_BASE"
next_free_port
ORIGIN_PORT=$FREE_PORT # plain HTTP, what the proxies connect to
next_free_port
DIRECT_PORT=$FREE_PORT # the origin's HTTPS server block: 'direct'
PROXY_PORTS=()
for i in "${!CONTENDERS[@]}"; do
	if [ "${CONTENDERS[$i]}" = direct ]; then
		PROXY_PORTS[i]=$DIRECT_PORT
	else
		next_free_port
		PROXY_PORTS[i]=$FREE_PORT
	fi
done

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# ---- origin ------------------------------------------------------------------
# start_origin WORKERS CPUS: nginx serving $WWW, one worker per CPU pinned;
# plain HTTP on ORIGIN_PORT, HTTPS (the 'direct' contender) on DIRECT_PORT.
start_origin() {
	local w=$1 cc=$2 conf aff=01
	conf=$TMP/origin-w$w
	[ "$w" = 2 ] && aff="01 10"
	mkdir -p "$conf"
	cat >"$conf/nginx.conf" <<EOF
# Origin: static files of 1 KiB and $BULK_KIB KiB, over HTTP and over HTTPS.
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
	server {
		listen 127.0.0.1:$DIRECT_PORT ssl backlog=4096 reuseport;
		$NGX_TLS
		root $WWW;
		location / { }
	}
}
EOF
	taskset -c "$cc" nginx -p "$conf" -c "$conf/nginx.conf" -e "$conf/error.log" >"$conf/nginx.out" 2>&1 &
	ORIGIN_PID=$!
	PIDS+=("$ORIGIN_PID")
	if ! wait_port "$ORIGIN_PORT" "$ORIGIN_PID" || ! wait_port "$DIRECT_PORT" "$ORIGIN_PID"; then
		cat "$conf/nginx.out" "$conf/error.log" >&2
		die "nginx origin did not start"
	fi
}

stop_origin() {
	stop_pid "$ORIGIN_PID"
	untrack "$ORIGIN_PID"
}

# ---- contenders --------------------------------------------------------------
label() {
	case "$1" in
	direct) echo "direct (origin https)" ;;
	ringproxy) echo "ringproxy http+tls" ;;
	haproxy) echo "haproxy ssl" ;;
	nginx) echo "nginx ssl proxy_pass" ;;
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
		PROXY_CMD="taskset -c $pc $RP reverse --mode http --listen 127.0.0.1:$lp --to 127.0.0.1:$ORIGIN_PORT --tls-cert $CERT/cert.pem --tls-key $CERT/key.pem ${RP_TLS[*]} --reactors $w --cpus $pc --drain-timeout 1s${RP_ARGS[*]:+ ${RP_ARGS[*]}}"
		taskset -c "$pc" "$RP" reverse --mode http --listen "127.0.0.1:$lp" --to "127.0.0.1:$ORIGIN_PORT" \
			--tls-cert "$CERT/cert.pem" --tls-key "$CERT/key.pem" "${RP_TLS[@]}" \
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
	tune.ssl.cachesize 0
defaults
	mode http
	option http-keep-alive
	timeout connect 2s
	timeout client 30s
	timeout server 30s
	timeout http-request 10s
	timeout http-keep-alive 300s
frontend fe
	bind 127.0.0.1:$lp ssl crt $CERT/both.pem $HAP_TLS
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
		# proxy_buffers as in e2e_http.sh, and no temp files: a response
		# larger than the buffers is streamed, not spilled to disk.
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
		listen 127.0.0.1:$lp ssl backlog=4096 reuseport;
		$NGX_TLS
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
	if [ "$c" = ringproxy ] && [ -z "${RP_KTLS_LINE:-}" ]; then
		RP_KTLS_LINE=$(grep -m1 'kTLS' "$PROXY_LOG" 2>/dev/null | sed 's/^ringproxy: //' || true)
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
		# sum the key=value counters of every "stats" line (kept in the raw
		# file; the tls line's failures= and timeouts= are the handshakes')
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

# record W SCENARIO CONTENDER ROUND KIND VALUE REQUESTS CPU_S P50_US P99_US SOCKERR NON2XX BUSY0 BUSY1 OTHER WRK_CPU_S STATS NOTE
record() {
	local IFS=$'\t'
	printf '%s\n' "$*" >>"$RAW"
}

# run_wrk PORT CLIENT_CPUS THREADS CONNS PATH CLOSE OUTFILE
#   -> "OK rps requests sockerr non2xx p50us p99us readerr" or "ERR why";
#   wrk's output is kept in OUTFILE
run_wrk() {
	local port=$1 cc=$2 t=$3 conns=$4 path=$5 close=$6 of=$7 rc=0 hdr=()
	[ "$close" = 1 ] && hdr=(-H "Connection: close")
	OPENSSL_CONF=$CLIENT_CNF timeout --foreground -k 5 $((SECS + 30)) taskset -c "$cc" \
		wrk -t"$t" -c"$conns" -d"${SECS}s" --timeout 5s --latency "${hdr[@]}" \
		"https://127.0.0.1:$port$path" >"$of" 2>&1 || rc=$?
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		echo "ERR wrk timed out after $((SECS + 30)) s"
		return 0
	fi
	wrk_summary <"$of"
}

# measure CONTENDER_INDEX SCENARIO WORKERS ROUND
measure() {
	local idx=$1 s=$2 w=$3 r=$4 c=${CONTENDERS[$1]} pc cc wt lp res t0 t1 o0 o1 k0 k1 cpu wcpu c0 c1 busy0 busy1 other
	local close=0 conns=$CONNS
	CUR=$c
	CUR_W=$w
	if [ "$w" = 1 ]; then pc=1; cc=0; wt=1; else pc=0-1; cc=0-1; wt=2; fi
	lp=${PROXY_PORTS[$idx]}
	[ "$s" = hs ] && close=1
	[ "$s" = bulk ] && conns=$BULK_CONNS
	if [ -n "${NA_MSG["$w $c"]:-}" ]; then
		record "$w" "$s" "$c" "$r" run NA 0 NA NA NA 0 0 NA NA NA NA "" "${NA_MSG["$w $c"]}"
		return 0
	fi
	if [ "$QUIET_WAIT" -gt 0 ]; then
		local q
		q=$(wait_quiet "$QUIET_WAIT" 15)
		if [ "${q#* }" -gt 0 ]; then
			log "  (waited ${q#* } s for other work on the CPUs to calm down; ${q% *}% busy before the run)"
		fi
	fi
	if ! start_proxy "$c" "$w" "$pc" "$lp" "$s-r$r"; then
		not_started "$c" "$w" "$s round $r"
		record "$w" "$s" "$c" "$r" run NA 0 NA NA NA 0 0 NA NA NA NA "" "${NA_MSG["$w $c"]}"
		return 0
	fi
	c0=$(cpu01)
	t0=$([ -n "$PROXY_PID" ] && cpu_ticks "$PROXY_PID" || echo NA)
	o0=$(cpu_ticks "$ORIGIN_PID")
	k0=$(reaped_ticks $$)
	res=$(run_wrk "$lp" "$cc" "$wt" "$conns" "$(scenario_path "$s")" "$close" "$TMP/wrk-w$w-$s-$c-r$r.out")
	k1=$(reaped_ticks $$)
	o1=$(cpu_ticks "$ORIGIN_PID")
	t1=$([ -n "$PROXY_PID" ] && cpu_ticks "$PROXY_PID" || echo NA)
	c1=$(cpu01)
	cpu=NA
	[ "$t0" != NA ] && cpu=$(awk -v a="$t0" -v b="$t1" -v h="$CLK_TCK" 'BEGIN { printf "%.3f", (b - a) / h }')
	read -r busy0 busy1 < <(busy01 "$c0" "$c1")
	wcpu=$(awk -v k=$((k1 - k0)) -v h="$CLK_TCK" 'BEGIN { printf "%.3f", k / h }')
	# other work on CPUs 0-1 during the run, in % of one CPU: what the two
	# CPUs were busy with (steal included) minus the proxy, the origin and
	# wrk (charged to this shell once its $(...) has ended)
	other=$(awk -v a="$c0" -v b="$c1" -v p=$((${t1/NA/0} - ${t0/NA/0})) -v o=$((o1 - o0)) -v k=$((k1 - k0)) 'BEGIN {
		split(a, x, " "); split(b, y, " "); t = y[2] - x[2]; f = (y[1] - x[1]) + (y[3] - x[3]) - p - o - k
		printf "%.0f", (t > 0 && f > 0) ? 100 * f / t : 0 }')
	if [ -n "$PROXY_PID" ] && ! alive "$PROXY_PID"; then
		res="ERR proxy process died during the run"
	fi
	stop_proxy
	# shellcheck disable=SC2086
	set -- $res
	if [ "$1" = OK ] && [ "${3:-0}" -gt 0 ]; then
		local note="" pct="" rate="$2 req/s"
		[ "$4" -gt 0 ] && note="socket errors $4"
		[ "$5" -gt 0 ] && note="${note:+$note, }non-2xx $5"
		[ "$s" = bulk ] && rate=$(awk -v r="$2" -v b="$BULK_BYTES" 'BEGIN { printf "%.0f MB/s (%s req/s)", r * b / 1e6, r }')
		[ "$s" = hs ] && rate="$2 handshakes/s"
		[ "$cpu" != NA ] && pct=", proxy cpu ${cpu}s = $(awk -v c="$cpu" -v n="$3" 'BEGIN { printf "%.1f", c * 1e6 / n }') us/req"
		log "  w$w r$r $s $(label "$c"): $rate, p50 $6 us, p99 $7 us$pct, CPU0/1 busy $busy0/$busy1%, other work $other%${note:+ ($note)}"
		record "$w" "$s" "$c" "$r" run "$2" "$3" "$cpu" "$6" "$7" "$4" "$5" "$busy0" "$busy1" "$other" "$wcpu" "$PROXY_STATS" "$note"
		# more than 1% failed requests: count it as a failure
		if [ $(($4 + $5)) -gt $(($3 / 100)) ]; then
			FAILS+=("w$w $(label "$c") $s round $r: $note of $3 requests [${PROXY_CMD:-direct}]")
		fi
	else
		if [ "$1" = OK ]; then
			res="ERR no successful request ($(grep -m1 -E 'Socket errors|rror|unable' "$TMP/wrk-w$w-$s-$c-r$r.out" | sed 's/^ *//' || echo 'no wrk error'))"
		fi
		log "  w$w r$r $s $(label "$c"): FAILED: ${res#ERR }"
		record "$w" "$s" "$c" "$r" run FAIL 0 "$cpu" NA NA 0 0 "$busy0" "$busy1" "$other" "$wcpu" "$PROXY_STATS" "${res#ERR }"
		FAILS+=("w$w $(label "$c") $s round $r: ${res#ERR } [${PROXY_CMD:-direct}]")
	fi
	return 0
}

# not_started CONTENDER WORKERS WHAT: the contender is n/a for the rest of
# this worker count, and that is a failure.
not_started() {
	local c=$1 w=$2 what=$3
	NA_MSG["$w $c"]=$PROXY_ERR
	log "  w$w $(label "$c") ($what): n/a: $PROXY_ERR"
	FAILS+=("w$w $(label "$c") $what: did not start: $PROXY_ERR [$PROXY_CMD]")
}

# s_client_brief PORT [pinned]: "version cipher group" that openssl s_client
# negotiates (with the clients' OPENSSL_CONF when pinned, else OpenSSL's
# defaults), or "ERR ...".
s_client_brief() {
	local out
	if [ "${2:-}" = pinned ]; then
		out=$(OPENSSL_CONF=$CLIENT_CNF timeout 10 openssl s_client -connect "127.0.0.1:$1" -servername 127.0.0.1 -brief </dev/null 2>&1) || true
	else
		out=$(timeout 10 openssl s_client -connect "127.0.0.1:$1" -servername 127.0.0.1 -brief </dev/null 2>&1) || true
	fi
	awk -F': ' '/^Protocol version:/ { v = $2 } /^Ciphersuite:/ { c = $2 } /Temp Key:/ { split($2, g, ","); k = g[1] }
		/:error:/ && !e { e = $0 }
		END { if (v != "" && c != "") print v, c, (k != "" ? k : "?"); else print "ERR " (e != "" ? e : "no handshake") }' <<<"$out"
}

# verify CONTENDER_INDEX WORKERS: the negotiated version, cipher and group
# (openssl s_client), then response bodies, HEAD, 404, Connection: close and
# no resumption through the contender (python3; wrk does not look at bodies).
verify() {
	local idx=$1 w=$2 c=${CONTENDERS[$1]} pc cc lp res neg free
	CUR=$c
	CUR_W=$w
	if [ "$w" = 1 ]; then pc=1; cc=0; else pc=0-1; cc=0-1; fi
	lp=${PROXY_PORTS[$idx]}
	if ! start_proxy "$c" "$w" "$pc" "$lp" verify; then
		not_started "$c" "$w" "response check"
		record "$w" - "$c" 0 verify NA 0 NA NA NA 0 0 NA NA NA NA "" "$PROXY_ERR"
		return 0
	fi
	neg=$(s_client_brief "$lp" pinned)
	free=$(s_client_brief "$lp")
	res=$(OPENSSL_CONF=$CLIENT_CNF timeout --foreground -k 5 60 taskset -c "$cc" \
		python3 "$TMP/verify.py" "$lp" "$WWW" "$CERT/cert.pem" "$TLSV" "$TLS_CIPHER" 2>&1) || true
	[ -n "$res" ] || res="ERR response check timed out"
	stop_proxy
	if [ "$neg" != "TLSv$TLSV $TLS_CIPHER X25519" ]; then
		res="ERR openssl s_client negotiated '$neg', not 'TLSv$TLSV $TLS_CIPHER X25519'"
	fi
	if [ "${res%% *}" = OK ]; then
		log "  w$w $(label "$c"): check ok ($(awk '{ print $2 " requests, " $3 " " $4 }' <<<"$res")); s_client: $neg; an unpinned OpenSSL client gets: $free"
		record "$w" - "$c" 0 verify OK "$(awk '{ print $2 }' <<<"$res")" NA NA NA 0 0 NA NA NA NA "" "$neg|$free"
	else
		res=$(head -n 1 <<<"$res")
		log "  w$w $(label "$c"): check FAILED: ${res#ERR }"
		record "$w" - "$c" 0 verify FAIL 0 NA NA NA 0 0 NA NA NA NA "" "${res#ERR }|$free"
		FAILS+=("w$w $(label "$c") check: ${res#ERR } [${PROXY_CMD:-direct}]")
	fi
	return 0
}

# ---- main --------------------------------------------------------------------
n=${#CONTENDERS[@]}
ns=${#SCENARIOS[@]}
nw=$(wc -w <<<"$WORKERS_LIST")
est=$((nw * ROUNDS * ns * n * (SECS + 3) + nw * n * 3 * VERIFY))
busy=$(cpu_busy_pct)
if [ "$busy" -gt 10 ]; then
	log "warning: the CPUs are already ${busy}% busy before the start; other work on this machine skews the numbers"
fi
log "TLS $TLSV, $TLS_CIPHER, P-256 ECDSA certificate, no resumption; contenders: ${CONTENDERS[*]}; scenarios: ${SCENARIOS[*]}; workers: $WORKERS_LIST; rounds $ROUNDS x ${SECS}s; about $((est / 60 + 1)) min"
log "ports: origin http 127.0.0.1:$ORIGIN_PORT, https (direct) $DIRECT_PORT$(for i in "${!CONTENDERS[@]}"; do [ "${CONTENDERS[$i]}" = direct ] || printf ', %s %s' "${CONTENDERS[$i]}" "${PROXY_PORTS[$i]}"; done)"
[ "$need_rp" = 1 ] && log "ringproxy: $RP_ORIG (copied to $RP); TLS arguments: ${RP_TLS[*]}${RP_ARGS[*]:+; other: ${RP_ARGS[*]}}"

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
	echo "e2e_tls: end-to-end HTTPS (TLS termination) comparison, loopback 127.0.0.1, started $START_UTC, took $((ELAPSED / 60)) min $((ELAPSED % 60)) s"
	echo "host: $(nproc) CPUs, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), AES-NI $(grep -qw aes /proc/cpuinfo && echo yes || echo no), kernel $(uname -r); CPUs ${busy}% busy (other work) just before the start"
	echo "versions: $(haproxy -v 2>/dev/null | head -n 1 | awk '{ print "haproxy " $3 }'), $(nginx -v 2>&1 | sed 's|.*/||; s|^|nginx |') (both $(openssl version | awk '{ print $1, $2 }')), $(wrk -v 2>&1 | head -n 1 | awk '{ print "wrk " $2 }')"
	if [ "$need_rp" = 1 ]; then
		echo "ringproxy: $RP_ORIG (built $(stat -c '%y' "$RP_ORIG" 2>/dev/null | cut -d. -f1), sha256 $(sha256sum "$RP" | cut -c1-12) of the copy used), BoringSSL"
		echo "           TLS arguments: ${RP_TLS[*]}${RP_ARGS[*]:+; other arguments: ${RP_ARGS[*]}}"
		echo "           ${RP_KTLS_LINE:-(no kTLS line in its log)}"
	fi
	if [ "$TLSV" = 1.2 ]; then
		echo "tls: TLS 1.2 only, $TLS12_CIPHER for every contender (servers: that one suite; clients: OPENSSL_CONF with"
	else
		echo "tls: TLS 1.3 only, $TLS13_SUITE for every contender (HAProxy/nginx: that one suite; ringproxy: BoringSSL's suites,"
		echo "     which follow the client's order; clients: OPENSSL_CONF with"
	fi
	echo "     MinProtocol=MaxProtocol=TLSv$TLSV, that suite, Groups=$TLS_GROUPS, so X25519 key exchange); self-signed P-256 ECDSA"
	echo "     certificate; session resumption off everywhere (no tickets, no session cache), so every new connection is a full handshake."
	echo "method: $ROUNDS interleaved round(s) per worker count, medians; a fresh proxy per run; wrk over https against"
	echo "        each contender, which proxies plain HTTP/1.1 with keep-alive to an nginx origin serving static files."
	echo "        ka-1k = wrk -tW -c$CONNS keep-alive, 1 KiB body: req/s, CPU us per request;"
	echo "        bulk  = wrk -tW -c$BULK_CONNS keep-alive, $BULK_KIB KiB body: MB/s of body (10^6 bytes), CPU us per MB;"
	echo "        hs    = wrk -tW -c$CONNS -H 'Connection: close', 1 KiB body: a new TCP connection and full TLS handshake"
	echo "                per request, handshakes/s (= req/s), CPU us per handshake+request."
	echo "        CPU = utime+stime of all proxy processes/threads over the run (/proc/PID/stat)."
	echo "        (wrk's own CPU is in the raw file only: with CPU 0 saturated it mostly mirrors 1/rate.)"
	if [ "$QUIET_WAIT" -gt 0 ]; then
		echo "        Before each run the script waited up to $QUIET_WAIT s for CPUs 0-1 to be at most 15% busy (other sessions)."
	fi
	echo "pinning: 1 worker = proxy on CPU 1, wrk and the origin on CPU 0;"
	echo "         2 workers = proxy workers pinned to CPU 0 and CPU 1, wrk and the origin on CPUs 0-1 (everything shares both CPUs)."
	echo "         direct = wrk against the origin's HTTPS server block (the origin terminates TLS itself), same pinning."
	echo
	python3 - "$RAW" "$(IFS=,; echo "${CONTENDERS[*]}")" "$(IFS=,; echo "${SCENARIOS[*]}")" "$SECS" "$BULK_BYTES" "$OTHER_MAX" <<'PY'
import sys, statistics as st
raw, contenders, scenarios, secs, bulk = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split(","), float(sys.argv[4]), int(sys.argv[5])
other_max = float(sys.argv[6])
F = ["w", "s", "c", "r", "kind", "val", "req", "cpu", "p50", "p99", "sockerr", "non2xx", "busy0", "busy1", "other", "wcpu", "stats", "note"]
rows = [dict(zip(F, l.rstrip("\n").split("\t"))) for l in open(raw) if l.strip()]
labels = {"direct": "direct (origin https)", "ringproxy": "ringproxy http+tls", "haproxy": "haproxy ssl",
          "nginx": "nginx ssl proxy_pass"}
# per scenario: (rate unit, CPU unit, rate per request, request units per CPU unit)
units = {"ka-1k": ("req/s", "CPUus/req", 1.0, 1.0),
         "bulk": ("MB/s", "CPUus/MB", bulk / 1e6, bulk / 1e6),
         "hs": ("hs/s", "CPUus/hs", 1.0, 1.0)}
workers = []
for x in rows:
    if x["w"] not in workers:
        workers.append(x["w"])

def med(xs):
    return st.median(xs) if xs else None

def summarize(w, s, c):
    runs = [x for x in rows if x["w"] == w and x["s"] == s and x["c"] == c and x["kind"] == "run"]
    good = [x for x in runs if x["val"] not in ("FAIL", "NA")]
    # the medians leave out runs during which other work took more than
    # other_max % of a CPU, as long as at least one run is left
    quiet = [x for x in good if x["other"] in ("", "NA") or float(x["other"]) <= other_max]
    ok = quiet or good
    per = units[s][2]
    d = {"runs": len(runs), "ok": len(ok), "good": len(good)}
    d["na"] = next((x["note"] for x in runs if x["val"] == "NA"), None)
    d["fails"] = sum(1 for x in runs if x["val"] == "FAIL")
    d["rate"] = med([float(x["val"]) * per for x in ok])
    d["p50"] = med([float(x["p50"]) for x in ok])
    d["p99"] = med([float(x["p99"]) for x in ok])
    withcpu = [x for x in ok if x["cpu"] != "NA" and int(x["req"]) > 0]
    d["cpu_unit"] = med([float(x["cpu"]) * 1e6 / (int(x["req"]) * per) for x in withcpu])
    d["cpu_pct"] = med([100 * float(x["cpu"]) / secs for x in withcpu])
    d["busy"] = (med([float(x["busy0"]) for x in ok if x["busy0"] not in ("", "NA")]),
                 med([float(x["busy1"]) for x in ok if x["busy1"] not in ("", "NA")]))
    d["other"] = med([float(x["other"]) for x in ok if x["other"] not in ("", "NA")])
    d["errors"] = sum(int(x["sockerr"]) + int(x["non2xx"]) for x in good)
    d["err_runs"] = sum(1 for x in good if int(x["sockerr"]) + int(x["non2xx"]) > 0)
    v = [x["val"] for x in rows if x["w"] == w and x["c"] == c and x["kind"] == "verify"]
    d["check"] = "BAD" if "FAIL" in v else "ok" if "OK" in v else "n/a" if "NA" in v else "-"
    return d

def f(v, fmt):
    return "n/a" if v is None else format(v, fmt)

def ratio(a, b):
    return "-" if a is None or b is None or b == 0 else "%.2fx" % (a / b)

table, flagged = [], []
for w in workers:
    for s in scenarios:
        ru, cu = units[s][0], units[s][1]
        table.append(["scenario", "contender", "W", ru, "vsHAP", "vsNGX", "p50 us", "p99 us",
                      cu, "vsHAP", "vsNGX", "proxyCPU%", "busy0/1%", "other%", "runs", "check", "errors", "note"])
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
                if d["other"] is not None and d["other"] > other_max:
                    note += ("; " if note else "") + "busy host"
            b0, b1 = d["busy"]
            table.append([s, labels[c] + (" !" if d["err_runs"] or d["fails"] else ""), w,
                f(d["rate"], ".0f"),
                ratio(d["rate"], hap.get("rate")) if proxy else "-", ratio(d["rate"], ngx.get("rate")) if proxy else "-",
                f(d["p50"], ".0f"), f(d["p99"], ".0f"),
                f(d["cpu_unit"], ".1f") if proxy else "-",
                ratio(d["cpu_unit"], hap.get("cpu_unit")) if proxy else "-",
                ratio(d["cpu_unit"], ngx.get("cpu_unit")) if proxy else "-",
                f(d["cpu_pct"], ".0f") if proxy else "-",
                "n/a" if b0 is None or b1 is None else "%.0f/%.0f" % (b0, b1),
                f(d["other"], ".0f"), "%d/%d" % (d["ok"], d["runs"]), d["check"], d["errors"] if d["ok"] else "-", note])
        table.append(None)
while table and table[-1] is None:
    table.pop()
cells = [t for t in table if t]
widths = [max(len(str(r[i])) for r in cells) for i in range(17)]
def line(r):
    cs = [str(v).ljust(widths[i]) if i < 2 else str(v).rjust(widths[i]) for i, v in enumerate(r[:-1])]
    return ("  ".join(cs) + ("  " + r[-1] if r[-1] else "")).rstrip()
for t in table:
    if t is None:
        print()
    elif t[0] == "scenario":
        print(line(t))
        print("-" * len(line(t[:-1] + [""])))
    else:
        print(line(t))
print()
print("W = workers/threads/reactors. vsHAP/vsNGX = this / HAProxy or / nginx at the same W and scenario: for req/s,")
print("MB/s and hs/s higher is better, for the CPU columns lower is better. direct (wrk straight to the origin's HTTPS")
print("server) is for reference. p50/p99 = wrk --latency percentiles (medians over the rounds). proxyCPU% = proxy CPU")
print("time / run time (100 = one CPU); busy0/1% = how busy CPU 0 and CPU 1 were during the run (all processes). With")
print("W=1 the proxy has CPU 1 to itself: proxyCPU% well below 100 while CPU 0 is ~100% busy means wrk + the origin,")
print("not the proxy, set the pace; the CPU per request/MB/handshake columns compare the proxies best.")
print("other% = CPU time on CPUs 0-1 that was neither the proxy, the origin nor wrk (other sessions, steal), in % of")
print("one CPU. runs = runs in the medians / runs made: a run with other%% above %.0f is left out of the medians of its" % other_max)
print("row while at least one run of the row stays; 'busy host' marks a row where none was quiet enough (its rates are")
print("low; its CPU columns are less affected).")
print("check = version, cipher and group (openssl s_client), bodies, HEAD, 404, Connection: close and no resumption")
print("checked through the contender before the rounds. errors = wrk socket errors + non-2xx responses, summed over")
print("the rounds; '!' marks a row with errors or failed runs.")
neg = {}
for x in rows:
    if x["kind"] == "verify" and x["note"]:
        neg.setdefault(x["c"], []).append((x["w"], x["val"], x["note"]))
if neg:
    print()
    print("negotiated (openssl s_client -brief, W=%s): pinned client (as wrk) | an unpinned OpenSSL 3 client" % "/".join(workers))
    for c in contenders:
        seen = []
        for w, v, note in neg.get(c, []):
            if note not in seen:
                seen.append(note)
        for note in seen:
            a, _, b = note.partition("|")
            print("  %-22s %s | %s" % (labels[c], a, b))
tls = {}
for x in rows:
    if x["c"] == "ringproxy" and x["kind"] == "run" and x["stats"]:
        kv = dict(p.split("=", 1) for p in x["stats"].split(";") if "=" in p)
        t = tls.setdefault((x["w"], x["s"]), {"req": 0})
        t["req"] += int(x["req"])
        for k in ("handshakes", "resumed", "failures", "userspace", "ktls_tx", "ktls_rx", "ktls_fallbacks", "requests", "pool_reuses", "backend_conns"):
            t[k] = t.get(k, 0) + int(float(kv.get(k, 0)))
if tls:
    print()
    print("ringproxy's own counters, summed over its runs (ringproxy: stats lines at exit; wrk = requests wrk completed):")
    for (w, s), t in tls.items():
        print("  W=%s %-6s handshakes=%d resumed=%d failures=%d userspace=%d ktls_tx=%d ktls_rx=%d http requests=%d"
              " (wrk %d) backend_conns=%d pool_reuses=%d"
              % (w, s, t["handshakes"], t["resumed"], t["failures"], t["userspace"], t["ktls_tx"], t["ktls_rx"],
                 t["requests"], t["req"], t["backend_conns"], t["pool_reuses"]))
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

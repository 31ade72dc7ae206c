#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""
idle_rss.py - what an idle HTTP keep-alive client costs each proxy in memory.

An nginx origin serves a small file. Then, for each proxy in turn (ringproxy
--mode http, HAProxy mode http with http-reuse, nginx proxy_pass with an
upstream keepalive pool), all with two threads or workers pinned to CPUs 0-1:

  1. start it, warm it up (256 short connections, then 64 requests on each
     of 64 keep-alive connections: what traffic makes resident once, pools
     and buffer rings, is paid before the baseline), wait for its RSS to
     settle and read it: "before";
  2. open N client connections, each bound to a source address among
     127.0.0.2-127.0.0.254 (so ephemeral ports never run out), send one
     request on each and read its response, in batches so that few backend
     connections are ever needed at once; leave them open and idle;
  3. wait for the RSS to settle again and read it: "after";
  4. check that every client connection is still open (a proxy that closed
     its idle clients would look cheap), and that a sample of them is still
     served;
  5. close everything and stop the proxy.

RSS is the sum of VmRSS over the proxy's processes (nginx: master and
workers). "Settled" means three readings a second apart within 1% of each
other (the allocators give freed memory back on their own schedule; jemalloc
decays over ~10 s), at most --settle seconds.

The table prints the per-connection cost, (after - before) / N, in KiB, and
each proxy's ratio to ringproxy. It is a benchmark, not a test: it exits
non-zero only when something could not run or a check failed.

  /usr/bin/python3 benchmarks/idle_rss.py [--clients N] [--settle S]
                                          [--proxies ringproxy,haproxy,nginx]
                                          [--ringproxy PATH] [--out FILE]

N defaults to 10000, or what the open-file limit (ulimit -n) allows for the
proxy and this script, whichever is less; the value used is printed.
Everything listens on and connects to loopback addresses only.
"""
import argparse
import errno
import os
import resource
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BATCH = 64  # requests in flight at once while the clients connect
HAPROXY_SPARE = 50  # HAProxy's maxconn above the clients
SOURCES = ["127.0.0.%d" % i for i in range(2, 255)]


def log(msg):
    print("idle_rss: " + msg, file=sys.stderr, flush=True)


def die(msg):
    log("error: " + msg)
    sys.exit(1)


def free_port(taken):
    """A loopback port nothing listens on (bound once to find it)."""
    while True:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        p = s.getsockname()[1]
        s.close()
        if p not in taken:
            taken.add(p)
            return p


def wait_listen(port, proc, secs=10.0):
    end = time.time() + secs
    while time.time() < end:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def pids_of(root):
    """@root and all its descendants."""
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for t in os.listdir("/proc/%d/task" % p):
                with open("/proc/%d/task/%s/children" % (p, t)) as f:
                    todo += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return out


def rss_kib(root):
    total = 0
    for p in pids_of(root):
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def settle(root, max_secs):
    """RSS once three readings a second apart agree within 1%."""
    hist = [rss_kib(root)]
    end = time.time() + max_secs
    while time.time() < end:
        time.sleep(1)
        hist.append(rss_kib(root))
        last = hist[-3:]
        if len(last) == 3 and max(last) - min(last) <= max(last) / 100:
            return last[-1], True
    return hist[-1], False


REQUEST = b"GET /small HTTP/1.1\r\nHost: idle.test\r\nUser-Agent: idle_rss\r\n\r\n"


def response_done(buf):
    """Whether @buf holds one whole response (Content-Length framed)."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return False
    length = 0
    for line in buf[:end].split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    return len(buf) >= end + 4 + length


def exchange(socks, timeout=20.0):
    """Sends one request on each socket of @socks (connected or connecting,
    non-blocking) and reads its response. Returns how many failed."""
    sel = selectors.DefaultSelector()
    state = {}
    for s in socks:
        state[s] = [REQUEST, b""]
        sel.register(s, selectors.EVENT_WRITE)
    end = time.time() + timeout
    failed = 0
    while state and time.time() < end:
        for key, ev in sel.select(timeout=0.5):
            s = key.fileobj
            st = state[s]
            try:
                if st[0]:
                    n = s.send(st[0])
                    st[0] = st[0][n:]
                    if not st[0]:
                        sel.modify(s, selectors.EVENT_READ)
                    continue
                d = s.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                d = b""
            if not d:
                failed += 1
                sel.unregister(s)
                del state[s]
                continue
            st[1] += d
            if response_done(st[1]):
                if not st[1].startswith(b"HTTP/1.1 200"):
                    failed += 1
                sel.unregister(s)
                del state[s]
    failed += len(state)
    sel.close()
    return failed


def open_clients(port, n):
    """@n idle keep-alive clients of 127.0.0.1:@port, each after one request."""
    socks, failed = [], 0
    for i in range(0, n, BATCH):
        batch = []
        for k in range(i, min(n, i + BATCH)):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((SOURCES[k % len(SOURCES)], 0))
            s.setblocking(False)
            err = s.connect_ex(("127.0.0.1", port))
            if err not in (0, errno.EINPROGRESS):
                s.close()
                raise OSError(err, "connect from %s: %s" % (SOURCES[k % len(SOURCES)],
                                                            os.strerror(err)))
            batch.append(s)
        failed += exchange(batch)
        socks += batch
    return socks, failed


def still_open(socks):
    """How many of @socks the proxy has not closed (no EOF, no error)."""
    n = 0
    for s in socks:
        try:
            s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            n += 1
        except OSError:
            pass
    return n


def warm_up(port, short=256, conns=64, rounds=64):
    """Traffic before the baseline, so that what any traffic makes resident
    once (ringproxy's provided-buffer rings, 2 x 16 MiB mapped, each buffer
    resident once a recv used it; allocator arenas; nginx's and HAProxy's
    pools) is not counted against the idle clients: @short connections of
    one request, then @rounds requests on each of @conns connections."""
    for i in range(0, short, BATCH):
        socks, failed = open_clients(port, min(BATCH, short - i))
        for s in socks:
            s.close()
        if failed:
            return failed
    socks, failed = open_clients(port, conns)
    for _ in range(rounds - 1):
        failed += exchange(socks)
    for s in socks:
        s.close()
    return failed


class Proxy:
    def __init__(self, name, argv, cwd, cpus):
        self.name, self.argv, self.cwd, self.cpus = name, argv, cwd, cpus
        self.proc = None

    def start(self, port):
        out = open(os.path.join(self.cwd, "stderr.log"), "wb")
        self.proc = subprocess.Popen(["taskset", "-c", self.cpus] + self.argv, cwd=self.cwd,
                                     stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        if not wait_listen(port, self.proc):
            self.stop()
            with open(os.path.join(self.cwd, "stderr.log"), "rb") as f:
                tail = f.read()[-600:].decode("utf-8", "replace")
            raise RuntimeError("%s did not listen on port %d:\n%s" % (self.name, port, tail))

    def stop(self):
        if not self.proc or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def nginx_conf(d, port, workers, conns, body):
    aff = "01 10" if workers == 2 else "01"
    return """# written by idle_rss.py
daemon off;
master_process on;
user root;
worker_processes %d;
worker_cpu_affinity %s;
worker_rlimit_nofile %d;
pid %s/nginx.pid;
error_log %s/error.log warn;
events { worker_connections %d; }
http {
	access_log off;
	client_body_temp_path %s/body;
	proxy_temp_path %s/proxy;
	keepalive_requests 1000000;
	keepalive_timeout 600s;
	%s
}
""" % (workers, aff, conns + 1000, d, d, conns, d, d, body)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=0)
    ap.add_argument("--settle", type=int, default=40)
    ap.add_argument("--proxies", default="ringproxy,haproxy,nginx")
    ap.add_argument("--ringproxy", default="")
    ap.add_argument("--out", default="")
    a = ap.parse_args()

    proxies = a.proxies.split(",")
    for p in proxies:
        if p not in ("ringproxy", "haproxy", "nginx"):
            die("--proxies: unknown proxy '%s'" % p)
    os.environ["PATH"] += ":/usr/sbin:/sbin"
    for tool in ["nginx", "taskset"] + (["haproxy"] if "haproxy" in proxies else []):
        if not shutil.which(tool):
            die("%s is missing (bash scripts/deps.sh all installs it)" % tool)
    rp = a.ringproxy
    if "ringproxy" in proxies and not rp:
        for c in ("build/release/ringproxy", "build/ci/ringproxy", "build/ringproxy"):
            if os.access(os.path.join(REPO, c), os.X_OK):
                rp = os.path.join(REPO, c)
                break
    if "ringproxy" in proxies and not (rp and os.access(rp, os.X_OK)):
        die("no ringproxy binary: build one or pass --ringproxy PATH")
    if os.cpu_count() < 2:
        die("needs 2 CPUs (the proxies run on CPUs 0-1)")

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    # A proxy holds its N clients, its backend connections (a pool: a few
    # dozen here, as requests go in batches) and its own descriptors. HAProxy
    # refuses to start unless the limit holds two descriptors for each of its
    # maxconn (and some), whatever it will really use.
    fit = hard - 1000
    if "haproxy" in proxies:
        fit = min(fit, (hard - 100) // 2 - HAPROXY_SPARE)
    n = a.clients or min(10000, fit)
    if n > fit:
        die("--clients %d: with the open-file limit %d at most %d fit%s" % (
            n, hard, fit, " (HAProxy wants 2 per connection)" if "haproxy" in proxies else ""))
    if a.clients == 0 and n < 10000:
        log("%d clients, not 10000: the open-file limit (ulimit -n) is %d%s" % (
            n, hard, ", and HAProxy wants 2 descriptors per connection"
            if "haproxy" in proxies else ""))

    tmp = tempfile.mkdtemp(prefix="idle_rss.")
    www = os.path.join(tmp, "www")
    os.makedirs(www)
    with open(os.path.join(www, "small"), "wb") as f:
        f.write(b"x" * 64)
    taken = set()
    oport = free_port(taken)
    results, problems = [], []
    origin = None
    try:
        od = os.path.join(tmp, "origin")
        os.makedirs(od)
        with open(os.path.join(od, "nginx.conf"), "w") as f:
            f.write(nginx_conf(od, oport, 1, 4096,
                               "server { listen 127.0.0.1:%d backlog=4096; root %s; "
                               "location / { } }" % (oport, www)))
        origin = Proxy("origin", ["nginx", "-p", od, "-c", od + "/nginx.conf", "-e",
                                  od + "/error.log"], od, "1")
        origin.start(oport)

        for name in proxies:
            d = os.path.join(tmp, name)
            os.makedirs(d)
            port = free_port(taken)
            if name == "ringproxy":
                argv = [rp, "reverse", "--mode", "http", "--listen", "127.0.0.1:%d" % port,
                        "--to", "127.0.0.1:%d" % oport, "--reactors", "2", "--cpus", "0-1",
                        "--keepalive-timeout", "600s", "--pool-max-idle", "64",
                        # per reactor: the kernel may not split them evenly
                        "--max-conns", str(n + 100),
                        "--drain-timeout", "1s"]
            elif name == "haproxy":
                with open(os.path.join(d, "haproxy.cfg"), "w") as f:
                    f.write("""# written by idle_rss.py
global
	nbthread 2
	cpu-map 1/1 0
	cpu-map 1/2 1
	maxconn %d
defaults
	mode http
	option http-keep-alive
	maxconn %d
	timeout connect 2s
	timeout client 600s
	timeout server 30s
	timeout http-request 10s
	timeout http-keep-alive 600s
frontend fe
	bind 127.0.0.1:%d
	default_backend be
backend be
	http-reuse always
	server s1 127.0.0.1:%d
""" % (n + HAPROXY_SPARE, n + HAPROXY_SPARE, port, oport))
                argv = ["haproxy", "-db", "-f", d + "/haproxy.cfg"]
            else:
                with open(os.path.join(d, "nginx.conf"), "w") as f:
                    f.write(nginx_conf(d, port, 2, n + 1000, """upstream origin {
		server 127.0.0.1:%d;
		keepalive 64;
		keepalive_timeout 600s;
	}
	server {
		listen 127.0.0.1:%d backlog=4096 reuseport;
		location / {
			proxy_pass http://origin;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
		}
	}""" % (oport, port)))
                argv = ["nginx", "-p", d, "-c", d + "/nginx.conf", "-e", d + "/error.log"]
            px = Proxy(name, argv, d, "0-1")
            socks = []
            try:
                px.start(port)
                bad = warm_up(port)
                if bad:
                    raise RuntimeError("%d warm-up requests failed" % bad)
                before, ok1 = settle(px.proc.pid, a.settle)
                t0 = time.time()
                socks, failed = open_clients(port, n)
                t_open = time.time() - t0
                if failed:
                    raise RuntimeError("%d of %d first requests failed" % (failed, n))
                after, ok2 = settle(px.proc.pid, a.settle)
                alive = still_open(socks)
                sample = socks[:: max(1, len(socks) // 100)]
                again = exchange(sample)
                per = (after - before) / n
                results.append((name, before, after, per, alive, again, len(sample),
                                ok1 and ok2, t_open))
                log("%s: before %d KiB, after %d KiB with %d idle clients: %.2f KiB each"
                    "%s" % (name, before, after, n, per, "" if ok1 and ok2 else
                            " (RSS still moving at --settle)"))
                if alive != n:
                    problems.append("%s closed %d of its %d idle clients" % (name, n - alive, n))
                if again:
                    problems.append("%s: %d of %d sampled idle clients were not served again"
                                    % (name, again, len(sample)))
            except (RuntimeError, OSError) as e:
                problems.append("%s: %s" % (name, e))
                log("%s: %s" % (name, e))
            finally:
                for s in socks:
                    s.close()
                px.stop()
    finally:
        if origin:
            origin.stop()

    date = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = ["idle keep-alive clients: %d, one request each, then idle; %s" % (n, date),
             "RSS summed over each proxy's processes; 2 threads/workers on CPUs 0-1",
             "",
             "%-10s %12s %12s %14s %10s %8s" % ("proxy", "before KiB", "after KiB",
                                               "KiB/idle conn", "vs ringproxy", "alive")]
    ref = next((r[3] for r in results if r[0] == "ringproxy"), None)
    for name, before, after, per, alive, again, ns, ok, t_open in results:
        ratio = "%.2fx" % (per / ref) if ref and ref > 0 else "-"
        lines.append("%-10s %12d %12d %14.2f %10s %8s%s" % (
            name, before, after, per, ratio, "%d/%d" % (alive, n),
            "" if ok else "  (not settled)"))
    lines.append("")
    lines.append("vs ringproxy: the proxy's KiB per idle connection over ringproxy's")
    lines.append("before: after a warm-up (256 short connections, 64 x 64 keep-alive requests);")
    lines.append("alive: clients the proxy had not closed when the RSS was read")
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    shutil.rmtree(tmp, ignore_errors=True)
    if problems:
        for p in problems:
            log("problem: " + p)
        sys.exit(1)


if __name__ == "__main__":
    main()

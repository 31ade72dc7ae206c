#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_http.py - the HTTP/1.1 reverse proxy (ringproxy --mode http) end to
end on loopback, against real processes: nginx serving files, curl and wrk as
clients, haproxy for PROXY protocol interoperability, and a recording Python
backend (httpsupport.Backend) that keeps the raw bytes of every request and
answers with scripted responses.

    python3 test_http.py --ringproxy PATH [unittest options]

Every test starts its own ringproxy (one reactor unless it says otherwise) on
ports picked at run time, and fails if ringproxy's stderr shows sanitizer
output. Every process is killed at the end of its test, or at exit.
"""
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from httpsupport import (ringproxy_arg,   # noqa: E402
    Backend, Client, HAProxy, Nginx, ProtocolError, RingProxy, TempDir,
    default_response, exchange_raw, free_port, have_ipv6, run_tests, sha256, status_of)

RINGPROXY = os.environ.get("RINGPROXY", "ringproxy")


def have(cmd):
    from shutil import which
    return which(cmd) is not None


class Base(unittest.TestCase):
    maxDiff = 4000

    def setUp(self):
        self.tmp = TempDir()
        self.addCleanup(self.tmp.cleanup)
        self.dir = self.tmp.path

    # ---- processes

    def backend(self, name="b", handler=None, **kw):
        b = Backend(name, handler, **kw)
        self.addCleanup(b.stop)
        return b

    def nginx(self, root, name="nginx"):
        if not have("nginx"):
            self.fail("nginx is not installed (scripts/deps.sh test installs it)")
        n = Nginx(self.dir, root, name)
        self.addCleanup(n.kill)
        return n

    def haproxy(self, cfg, ports, name="haproxy"):
        if not have("haproxy"):
            self.fail("haproxy is not installed (scripts/deps.sh test installs it)")
        h = HAProxy(self.dir, cfg, ports, name)
        self.addCleanup(h.kill)
        return h

    def rp_raw(self, args, nlisteners=1, name="ringproxy"):
        """Starts ringproxy with exactly @args; waits until it listens."""
        p = RingProxy(RINGPROXY, args, self.dir, nlisteners, name)
        self.addCleanup(self._rp_stop, p)
        try:
            p.wait_ready()
        except RuntimeError:
            raise
        return p

    def rp(self, *opts, tos=(), reactors=1, drain="2s", host="127.0.0.1", port=None):
        """ringproxy --mode http from the command line, listening on
        host:port (free port by default), forwarding to @tos."""
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        port = port or free_port(fam)
        listen = ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)
        args = ["reverse", "--mode", "http", "--listen", listen,
                "--reactors", str(reactors), "--drain-timeout", drain]
        for t in tos:
            args += ["--to", t]
        args += list(opts)
        p = self.rp_raw(args)
        p.port = port
        p.host = host
        return p

    def _rp_stop(self, p):
        p.stop(signal.SIGTERM, 8.0)
        rep = p.sanitizer_report()
        if rep:
            self.fail("sanitizer output in ringproxy's stderr:\n%s" % rep)

    def rp_stop(self, p, timeout=8.0):
        """Stops ringproxy now (TERM); its stats. Fails on sanitizer output."""
        ok = p.stop(signal.SIGTERM, timeout)
        rep = p.sanitizer_report()
        if rep:
            self.fail("sanitizer output in ringproxy's stderr:\n%s" % rep)
        self.assertTrue(ok, "ringproxy did not exit within %.0fs of SIGTERM" % timeout)
        return p.stats()

    def curl(self, *args, timeout=20):
        if not have("curl"):
            self.fail("curl is not installed (scripts/deps.sh test installs it)")
        r = subprocess.run(["curl", "-sS", "--max-time", "15"] + list(args),
                           capture_output=True, timeout=timeout)
        return r

    def client(self, p, **kw):
        c = Client(p.port, host=getattr(p, "host", "127.0.0.1"), **kw)
        self.addCleanup(c.close)
        return c

    def url(self, p, path="/"):
        h = p.host if ":" not in p.host else "[%s]" % p.host
        return "http://%s:%d%s" % (h, p.port, path)


def write_files(d, files):
    os.makedirs(d, exist_ok=True)
    for name, data in files.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    os.chmod(d, 0o755)


# ---- 1. basic GET, HEAD, 404 from nginx -------------------------------------


class T01Basic(Base):
    def test_get_head_404_nginx(self):
        files = {"empty": b"", "f1k": os.urandom(1024), "f64k": os.urandom(65536),
                 "f3m": os.urandom(3 * 1024 * 1024)}
        root = os.path.join(self.dir, "www")
        write_files(root, files)
        ng = self.nginx(root)
        p = self.rp(tos=["127.0.0.1:%d" % ng.port])
        for name, data in files.items():
            out = os.path.join(self.dir, "got-" + name)
            r = self.curl("-o", out, "-w", "%{http_code}", self.url(p, "/" + name))
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, b"200", name)
            with open(out, "rb") as f:
                self.assertEqual(sha256(f.read()), sha256(data), name)
        # the same files over one keep-alive connection, in a different order
        c = self.client(p)
        for name in ("f3m", "empty", "f64k", "f1k", "f3m"):
            resp = c.request("GET", "/" + name)
            self.assertEqual(resp.status, 200)
            self.assertEqual(sha256(resp.body), sha256(files[name]), name)
        # HEAD: the length of the file, no body, and the connection goes on
        resp = c.request("HEAD", "/f64k")
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.headers.get("content-length"), "65536")
        resp = c.request("GET", "/f1k")
        self.assertEqual(resp.body, files["f1k"])
        r = self.curl("-I", "-w", "%{http_code}", "-o", "/dev/null", self.url(p, "/f3m"))
        self.assertEqual(r.stdout, b"200", r.stderr)
        # 404 is nginx's, not ringproxy's own
        resp = c.request("GET", "/nope")
        self.assertEqual(resp.status, 404)
        self.assertIn(b"nginx", resp.body)
        resp = c.request("GET", "/empty")
        self.assertEqual((resp.status, resp.body), (200, b""))


# ---- 2. keep-alive towards the backends -------------------------------------


class T02KeepAlive(Base):
    def test_wrk_nginx_connection_reuse(self):
        if not have("wrk"):
            self.fail("wrk is not installed (scripts/deps.sh test installs it)")
        root = os.path.join(self.dir, "www")
        write_files(root, {"f1k": os.urandom(1024)})
        ng = self.nginx(root)
        p = self.rp(tos=["127.0.0.1:%d" % ng.port], reactors=2)
        r = subprocess.run(["wrk", "-t", "2", "-c", "8", "-d", "2s", "--timeout", "2s",
                            self.url(p, "/f1k")], capture_output=True, timeout=20)
        out = r.stdout.decode()
        self.assertEqual(r.returncode, 0, out + r.stderr.decode())
        self.assertNotIn("Socket errors", out)
        self.assertNotIn("Non-2xx", out)
        nreq = int(re.search(r"(\d+) requests in", out).group(1))
        time.sleep(0.2)
        lines = ng.log_lines()
        self.assertGreater(nreq, 200, out)
        # nginx logs every request wrk counted (and maybe a few it cut short)
        self.assertGreaterEqual(len(lines), nreq)
        conns = {l[0] for l in lines}
        self.assertLessEqual(len(conns), max(16, len(lines) // 50),
                             "%d backend connections for %d requests" % (
                                 len(conns), len(lines)))

    def test_sequential_keepalive_backend(self):
        b = self.backend()
        p = self.rp(tos=[b.addr])
        for i in range(4):
            with Client(p.port) as c:
                for k in range(50):
                    resp = c.request("GET", "/r%d-%d" % (i, k))
                    self.assertEqual(resp.status, 200)
                    self.assertIn(("target=/r%d-%d " % (i, k)).encode(), resp.body)
        self.assertEqual(len(b.requests), 200)
        self.assertLessEqual(b.nconns, 4)
        self.assertEqual(b.errors, [])
        st = self.rp_stop(p)
        self.assertEqual(st.get("requests"), 200, st)
        self.assertGreaterEqual(st.get("pool_reuses", 0), 196, st)

    def test_pool_limits(self):
        b = self.backend()
        p = self.rp("--pool-max-idle", "0", tos=[b.addr])
        with Client(p.port) as c:
            for k in range(10):
                self.assertEqual(c.request("GET", "/n%d" % k).status, 200)
        self.assertEqual(b.nconns, 10, "--pool-max-idle 0 still pooled")
        b2 = self.backend("b2")
        p2 = self.rp("--pool-max-requests", "5", tos=[b2.addr])
        with Client(p2.port) as c:
            for k in range(20):
                self.assertEqual(c.request("GET", "/m%d" % k).status, 200)
        per = {}
        for r in b2.requests:
            per[r.conn_id] = per.get(r.conn_id, 0) + 1
        self.assertLessEqual(max(per.values()), 5, per)
        self.assertGreaterEqual(len(per), 4)

    def test_client_connection_limits(self):
        b = self.backend()
        p = self.rp("--max-requests", "3", "--keepalive-timeout", "500ms", tos=[b.addr])
        c = self.client(p)
        for k in range(3):
            resp = c.request("GET", "/k%d" % k)
            self.assertEqual(resp.status, 200)
        self.assertEqual(resp.headers.tokens("connection"), ["close"])
        self.assertTrue(c.closed(2), "open after --max-requests")
        # idle past the keep-alive timeout: closed, quietly
        c = self.client(p)
        self.assertEqual(c.request("GET", "/idle").status, 200)
        t0 = time.monotonic()
        self.assertTrue(c.closed(3), "open past --keepalive-timeout")
        self.assertGreater(time.monotonic() - t0, 0.3)
        # Connection: close from the client is honoured
        c = self.client(p)
        resp = c.request("GET", "/bye", headers=(("Connection", "close"),))
        self.assertEqual(resp.status, 200)
        self.assertIn("close", resp.headers.tokens("connection"))
        self.assertTrue(c.closed(2))


# ---- 3. pipelining ----------------------------------------------------------


class T03Pipelining(Base):
    def test_three_in_one_send(self):
        b = self.backend()
        p = self.rp(tos=[b.addr])
        c = self.client(p)
        c.send(b"GET /p1 HTTP/1.1\r\nHost: a\r\n\r\n"
               b"POST /p2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
               b"GET /p3 HTTP/1.1\r\nHost: a\r\n\r\n")
        for t in ("/p1", "/p2", "/p3"):
            resp = c.response()
            self.assertEqual(resp.status, 200)
            self.assertIn(("target=%s " % t).encode(), resp.body)
        self.assertEqual([r.target for r in b.requests], ["/p1", "/p2", "/p3"])
        self.assertEqual(b.requests[1].body, b"abc")
        # still usable
        self.assertEqual(c.request("GET", "/p4").status, 200)


# ---- 3b. idle connections ---------------------------------------------------
# An idle client (before its first byte, or between requests) holds no
# buffer: it waits on a poll and takes what it needs when bytes come. What
# must survive the wait (the client's address, PROXY-protocol-given or not,
# its request count, the deadlines) is checked here.


class T03Idle(Base):
    def test_idle_keepalive_served_again(self):
        b = self.backend()
        p = self.rp("--keepalive-timeout", "10s", tos=[b.addr], reactors=2)
        clients = [self.client(p) for _ in range(20)]
        for i, c in enumerate(clients):
            self.assertEqual(c.request("GET", "/first%d" % i).status, 200)
        # a client that connects and says nothing for a while
        late = self.client(p)
        time.sleep(1.5)
        for i, c in enumerate(clients):
            resp = c.request("GET", "/again%d" % i)
            self.assertEqual(resp.status, 200)
            self.assertIn(("target=/again%d " % i).encode(), resp.body)
        resp = late.request("POST", "/late", body=b"hello")
        self.assertEqual(resp.status, 200)
        self.assertIn(("sha=%s" % sha256(b"hello")).encode(), resp.body)
        # the client's address is still known: X-Forwarded-For
        self.assertEqual(b.requests[-1].headers.tokens("x-forwarded-for"),
                         ["127.0.0.1"])
        st = self.rp_stop(p)
        self.assertEqual(st.get("requests"), 41, st)
        self.assertEqual(st.get("2xx"), 41, st)

    def test_idle_with_one_ring_buffer(self):
        # An idle plain client waits in a recv of the reactor's buffer ring;
        # with the ring empty (one buffer, many clients speaking at once)
        # the wait becomes a poll, and every client is still served.
        b = self.backend()
        p = self.rp("--buffers", "1", tos=[b.addr])
        clients = [self.client(p) for _ in range(30)]
        for rnd in range(4):
            for i, c in enumerate(clients):
                c.send(b"GET /r%d-%d HTTP/1.1\r\nHost: a\r\n\r\n" % (rnd, i))
            for i, c in enumerate(clients):
                resp = c.response()
                self.assertEqual(resp.status, 200)
                self.assertIn(b"target=/r%d-%d " % (rnd, i), resp.body)
            time.sleep(0.2)
        st = self.rp_stop(p)
        self.assertEqual(st.get("2xx"), 120, st)

    def test_pipelined_after_idle(self):
        b = self.backend()
        p = self.rp(tos=[b.addr])
        c = self.client(p)
        self.assertEqual(c.request("GET", "/one").status, 200)
        time.sleep(0.5)
        # three requests in one send after the idle spell
        c.send(b"GET /p1 HTTP/1.1\r\nHost: a\r\n\r\n"
               b"POST /p2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
               b"GET /p3 HTTP/1.1\r\nHost: a\r\n\r\n")
        for t in ("/p1", "/p2", "/p3"):
            resp = c.response()
            self.assertEqual(resp.status, 200)
            self.assertIn(("target=%s " % t).encode(), resp.body)
        time.sleep(0.5)
        # a head in pieces after an idle spell, the next request behind it
        c.send(b"GET /s1 HTTP/1.1\r\nHo")
        time.sleep(0.3)
        c.send(b"st: a\r\n\r\nGET /s2 HTTP/1.1\r\n")
        time.sleep(0.3)
        c.send(b"Host: a\r\n\r\n")
        for t in ("/s1", "/s2"):
            resp = c.response()
            self.assertEqual(resp.status, 200)
            self.assertIn(("target=%s " % t).encode(), resp.body)
        self.assertEqual([r.target for r in b.requests],
                         ["/one", "/p1", "/p2", "/p3", "/s1", "/s2"])
        self.assertEqual(b.requests[2].body, b"abc")

    def test_keepalive_timeout_closes_idle(self):
        b = self.backend()
        p = self.rp("--keepalive-timeout", "600ms", "--header-timeout", "800ms",
                    "--max-requests", "3", tos=[b.addr])
        # between requests: closed quietly at the keep-alive timeout
        c = self.client(p)
        self.assertEqual(c.request("GET", "/a").status, 200)
        t0 = time.monotonic()
        self.assertTrue(c.closed(4), "open past --keepalive-timeout")
        self.assertGreater(time.monotonic() - t0, 0.4)
        # before the first byte: the header timeout, quietly too
        c = self.client(p)
        t0 = time.monotonic()
        self.assertTrue(c.closed(4), "a silent new connection stayed open")
        self.assertGreater(time.monotonic() - t0, 0.6)
        # each idle spell shorter than the timeout: the connection lives on,
        # and its request count (--max-requests) survives them
        c = self.client(p)
        for k in range(3):
            time.sleep(0.4)
            resp = c.request("GET", "/k%d" % k)
            self.assertEqual(resp.status, 200)
        self.assertEqual(resp.headers.tokens("connection"), ["close"])
        self.assertTrue(c.closed(2), "open after --max-requests")
        st = self.rp_stop(p)
        self.assertEqual(st.get("requests"), 4, st)
        self.assertEqual(st.get("header_timeouts"), 0, st)

    def test_accept_proxy_address_survives_idle(self):
        b = self.backend()
        p = self.rp("--accept-proxy", tos=[b.addr])
        c = self.client(p)
        c.send(b"PROXY TCP4 192.0.2.7 127.0.0.1 5555 80\r\n")
        time.sleep(0.3)  # the PROXY header alone, then an idle spell
        self.assertEqual(c.request("GET", "/a").status, 200)
        time.sleep(0.5)
        self.assertEqual(c.request("GET", "/b").status, 200)
        self.assertEqual([r.headers.tokens("x-forwarded-for") for r in b.requests],
                         [["192.0.2.7"], ["192.0.2.7"]])
        # a client that connects and never sends the header: dropped at
        # --proxy-timeout, waiting without a buffer until then
        p2 = self.rp("--accept-proxy", "--proxy-timeout", "500ms", tos=[b.addr])
        t0 = time.monotonic()
        got, closed = exchange_raw(p2.port, b"", timeout=4)
        self.assertTrue(closed, "open past --proxy-timeout")
        self.assertGreater(time.monotonic() - t0, 0.4)
        self.assertEqual(len(b.requests), 2)


# ---- 4. HTTP/1.0 ------------------------------------------------------------


def chunk_up(data, seed, ext=False):
    """@data as a chunked body of irregular chunk sizes (1 byte to 40 KiB)."""
    import random
    rnd = random.Random(seed)
    out = []
    i = 0
    while i < len(data):
        n = min(len(data) - i, rnd.choice((1, 7, 100, 4095, 4096, 16383, 16385, 40000)))
        e = b";x=%d" % n if ext and n % 2 else b""
        out.append(b"%x%s\r\n%s\r\n" % (n, e, data[i:i + n]))
        i += n
    out.append(b"0\r\n\r\n")
    return b"".join(out)


BIG = os.urandom(600 * 1024 + 17)
BIG_CHUNKED = chunk_up(BIG, 1, ext=True)


def chunked_handler(backend, conn, req):
    if req.target.startswith("/bigchunked"):
        return (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + BIG_CHUNKED)
    if req.target.startswith("/chunked"):
        return (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n")
    return default_response(backend, conn, req)


class T04Http10(Base):
    def test_http10(self):
        b = self.backend(handler=chunked_handler)
        p = self.rp(tos=[b.addr])
        # without Host, not persistent
        c = self.client(p)
        c.send(b"GET /a HTTP/1.0\r\n\r\n")
        resp = c.response()
        self.assertEqual(resp.status, 200)
        self.assertTrue(c.closed(), "an HTTP/1.0 exchange without keep-alive stays open")
        req = b.requests[-1]
        self.assertEqual(req.version, "HTTP/1.1")
        self.assertTrue(req.headers.get("host"), "no Host made up for the backend")
        self.assertEqual(len(req.headers.get_all("host")), 1)
        # keep-alive asked for: kept, and said so
        c = self.client(p)
        c.send(b"GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        resp = c.response()
        self.assertEqual(resp.status, 200)
        self.assertIn("keep-alive", resp.headers.tokens("connection"))
        c.send(b"GET /c HTTP/1.0\r\nConnection: keep-alive\r\nHost: x\r\n\r\n")
        resp = c.response()
        self.assertEqual(resp.status, 200)
        self.assertIn(b"target=/c ", resp.body)
        self.assertEqual(b.requests[-1].headers.get("host"), "x")
        # a chunked response reaches an HTTP/1.0 client de-chunked, closed
        c.send(b"GET /chunked HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        resp = c.response()
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.framing, "close", resp.raw_head)
        self.assertFalse(resp.headers.has("transfer-encoding"))
        self.assertFalse(resp.headers.has("content-length"))
        self.assertEqual(resp.body, b"hello world")
        self.assertTrue(c.r.eof)
        # a big one, irregular chunks across buffer boundaries
        c = self.client(p)
        c.send(b"GET /bigchunked HTTP/1.0\r\n\r\n")
        resp = c.response()
        self.assertEqual((resp.status, resp.framing), (200, "close"))
        self.assertEqual(len(resp.body), len(BIG))
        self.assertEqual(sha256(resp.body), sha256(BIG))
        # and to an HTTP/1.1 client, chunked as received
        c = self.client(p)
        resp = c.request("GET", "/bigchunked")
        self.assertEqual((resp.status, resp.framing), (200, "chunked"))
        self.assertEqual(sha256(resp.body), sha256(BIG))
        self.assertEqual(c.request("GET", "/after").status, 200)


# ---- 5. request bodies ------------------------------------------------------


class T05RequestBodies(Base):
    def test_content_length_1mib(self):
        # spliced (above the default --splice-threshold) and copied
        self.content_length(())
        self.content_length(("--splice-threshold", "0"))

    def content_length(self, opts):
        b = self.backend()
        p = self.rp(*opts, tos=[b.addr])
        body = os.urandom(1 << 20)
        c = self.client(p)
        resp = c.request("POST", "/up", body=body)
        self.assertEqual(resp.status, 200)
        self.assertIn(("sha=%s len=%d" % (sha256(body), len(body))).encode(), resp.body)
        self.assertEqual(b.requests[-1].headers.get("content-length"), str(len(body)))
        # the connection goes on after a big body
        resp = c.request("PUT", "/up2", body=b"x" * 10)
        self.assertIn(("sha=%s" % sha256(b"x" * 10)).encode(), resp.body)

    def test_pipelined_after_big_body(self):
        # a body above the splice threshold, the next request in the same send
        b = self.backend()
        p = self.rp(tos=[b.addr])
        body = os.urandom(100000)
        c = self.client(p)
        c.send(b"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % len(body) +
               body + b"GET /next HTTP/1.1\r\nHost: a\r\n\r\n")
        resp = c.response()
        self.assertIn(("sha=%s len=%d" % (sha256(body), len(body))).encode(), resp.body)
        resp = c.response()
        self.assertIn(b"target=/next ", resp.body)
        # a body arriving slowly, in pieces
        c.send(b"POST /slow HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % len(body))
        for i in range(0, len(body), 25000):
            c.send(body[i:i + 25000])
            time.sleep(0.05)
        resp = c.response()
        self.assertIn(("sha=%s len=%d" % (sha256(body), len(body))).encode(), resp.body)
        # a client leaving mid-body: the backend never gets a complete request
        with Client(p.port) as c2:
            c2.send(b"POST /gone HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n"
                    % len(body) + body[:30000])
            time.sleep(0.2)
        time.sleep(0.3)
        self.assertEqual([(r.target, r.complete) for r in b.requests[-1:]],
                         [("/gone", False)])
        self.assertEqual(c.request("GET", "/still").status, 200)

    def test_chunked_curl(self):
        b = self.backend()
        p = self.rp(tos=[b.addr])
        body = os.urandom(700 * 1024 + 3)
        path = os.path.join(self.dir, "body")
        with open(path, "wb") as f:
            f.write(body)
        r = self.curl("-H", "Transfer-Encoding: chunked", "--data-binary", "@" + path,
                      self.url(p, "/chunked-up"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(("sha=%s len=%d" % (sha256(body), len(body))).encode(), r.stdout)
        req = b.requests[-1]
        self.assertEqual(req.headers.tokens("transfer-encoding"), ["chunked"])
        self.assertFalse(req.headers.has("content-length"))

    def test_chunked_irregular(self):
        b = self.backend()
        p = self.rp(tos=[b.addr])
        c = self.client(p)
        for seed in (2, 3):
            body = os.urandom(300 * 1024 + seed)
            resp = c.request("POST", "/irr", headers=(("Transfer-Encoding", "chunked"),),
                             body=chunk_up(body, seed, ext=True))
            self.assertEqual(resp.status, 200)
            self.assertIn(("sha=%s len=%d" % (sha256(body), len(body))).encode(), resp.body)
        # a chunked body with trailers, then a pipelined request
        c.send(b"POST /tr HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"3\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n")
        resp = c.response()
        self.assertIn(("sha=%s len=3" % sha256(b"abc")).encode(), resp.body)
        resp = c.response()
        self.assertIn(b"target=/next ", resp.body)
        self.assertEqual([r.target for r in b.requests][-2:], ["/tr", "/next"])

    def test_expect_100_continue_curl(self):
        b = self.backend()
        p = self.rp(tos=[b.addr])
        body = os.urandom(256 * 1024)
        path = os.path.join(self.dir, "body")
        with open(path, "wb") as f:
            f.write(body)
        t0 = time.monotonic()
        r = self.curl("-v", "-H", "Expect: 100-continue", "--expect100-timeout", "5",
                      "--data-binary", "@" + path, self.url(p, "/expect"))
        dt = time.monotonic() - t0
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"< HTTP/1.1 100 Continue", r.stderr)
        self.assertIn(("sha=%s" % sha256(body)).encode(), r.stdout)
        self.assertLess(dt, 4.0, "curl waited for its expect timeout")
        self.assertEqual(b.requests[-1].headers.get("expect"), "100-continue")


# ---- 6. response bodies -----------------------------------------------------


def framing_handler(backend, conn, req):
    t = req.target
    if t == "/cl":
        return b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n" + (
            b"" if req.method == "HEAD" else b"hello")
    if t == "/chunked":
        return (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n"
                b"5;ext=1\r\nhello\r\n6;a=\"b c\";d\r\n world\r\n"
                b"0\r\nX-T: done\r\n\r\n")
    if t == "/close":
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n" + b"z" * 100000)
        return "close"
    if t == "/pieces":
        # head and body in small pieces, slowly
        for piece in (b"HTTP/1.1 200 OK\r\nContent-", b"Length: 11\r\nX-A:", b" 1\r\n",
                      b"\r", b"\nhello", b" world"):
            conn.send(piece)
            time.sleep(0.05)
        return None
    if t == "/103":
        return (b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    if t == "/truncated":
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
        time.sleep(0.1)
        return "close"
    if t == "/truncated-chunked":
        conn.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n")
        time.sleep(0.1)
        return "close"
    if t in ("/trunc-big", "/stall-big"):
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + b"a" * 200000)
        time.sleep(0.2 if t == "/trunc-big" else 3)
        return "close"
    if t == "/204":
        return b"HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n"
    if t == "/304":
        return b"HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nContent-Length: 10\r\n\r\n"
    return default_response(backend, conn, req)


class T06ResponseBodies(Base):
    def test_framings(self):
        b = self.backend(handler=framing_handler)
        p = self.rp(tos=[b.addr])
        c = self.client(p)
        resp = c.request("GET", "/cl")
        self.assertEqual((resp.status, resp.framing, resp.body), (200, "length", b"hello"))
        resp = c.request("GET", "/chunked")
        self.assertEqual((resp.status, resp.body), (200, b"hello world"))
        self.assertEqual(resp.framing, "chunked")
        resp = c.request("GET", "/204")
        self.assertEqual(resp.status, 204)
        self.assertEqual(resp.headers.get("x-a"), "1")
        resp = c.request("GET", "/304")
        self.assertEqual(resp.status, 304)
        self.assertEqual(resp.headers.get("etag"), '"v1"')
        resp = c.request("HEAD", "/cl")
        self.assertEqual((resp.status, resp.headers.get("content-length")), (200, "5"))
        resp = c.request("GET", "/cl")
        self.assertEqual(resp.body, b"hello", "framing lost after 204/304/HEAD")
        resp = c.request("GET", "/close")
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.framing, "close")
        self.assertEqual(resp.body, b"z" * 100000)
        self.assertTrue(c.r.eof)
        self.assertEqual(b.errors, [])

    def test_slow_interim_truncated(self):
        b = self.backend(handler=framing_handler)
        p = self.rp(tos=[b.addr])
        c = self.client(p)
        resp = c.request("GET", "/pieces")
        self.assertEqual((resp.status, resp.body, resp.headers.get("x-a")),
                         (200, b"hello world", "1"))
        resp = c.request("GET", "/103", )
        self.assertEqual((resp.status, resp.body), (200, b"ok"))
        c.send(b"GET /103 HTTP/1.1\r\nHost: a\r\n\r\n")
        interim = c.response(allow_interim=True)
        self.assertEqual((interim.status, interim.headers.get("link")), (103, "</s.css>"))
        self.assertEqual(c.response().body, b"ok")
        # an HTTP/1.0 client gets no 1xx
        with Client(p.port) as c10:
            c10.send(b"GET /103 HTTP/1.0\r\n\r\n")
            self.assertEqual(c10.response(allow_interim=True).status, 200)
        # a body cut short by the backend must not look complete to the
        # client: a reset once the response has started, or a 502 while
        # ringproxy still held all of it (a small response is gathered
        # before it is sent)
        for t in ("/truncated", "/truncated-chunked"):
            with self.subTest(t):
                with Client(p.port) as c2:
                    try:
                        resp = c2.request("GET", t)
                    except (EOFError, ConnectionResetError):
                        continue
                    self.assertEqual(resp.status, 502, resp.body)
        self.assertEqual(c.request("GET", "/cl").body, b"hello")

    def test_big_body_cut_or_stalled(self):
        b = self.backend(handler=framing_handler)
        p = self.rp("--response-timeout", "1s", tos=[b.addr])
        for t in ("/trunc-big", "/stall-big"):
            with self.subTest(t):
                t0 = time.monotonic()
                with Client(p.port) as c:
                    with self.assertRaises((EOFError, ConnectionResetError)):
                        c.request("GET", t)
                self.assertLess(time.monotonic() - t0, 2.5)
        with Client(p.port) as c:
            self.assertEqual(c.request("GET", "/cl").body, b"hello")
        st = self.rp_stop(p)
        self.assertEqual(st.get("backend_timeouts"), 1, st)

    def test_client_aborts_mid_response(self):
        big = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (8 << 20)

        def handler(be, conn, req):
            if req.target == "/big":
                try:
                    conn.send(big)
                    for i in range(128):
                        conn.send(b"x" * 65536)
                except OSError:
                    pass
                return "close"
            return default_response(be, conn, req)
        b = self.backend(handler=handler)
        p = self.rp(tos=[b.addr])
        for i in range(5):
            with Client(p.port) as c:
                c.send(b"GET /big HTTP/1.1\r\nHost: a\r\n\r\n")
                c.sock.recv(1000)
        with Client(p.port) as c:
            self.assertEqual(c.request("GET", "/fine").status, 200)


# ---- 7. header rewriting ----------------------------------------------------


def rewrite_handler(backend, conn, req):
    body = b"ok"
    return (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nVia: 1.1 backend\r\n"
            b"Connection: keep-alive, x-bar\r\nX-Bar: 1\r\nKeep-Alive: timeout=5\r\n"
            b"X-Keep: yes\r\n\r\n" + body)


class T07Headers(Base):
    REQ = (b"GET /h HTTP/1.1\r\nHost: example.test:8080\r\n"
           b"X-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: https\r\n"
           b"Forwarded: for=192.0.2.1\r\nConnection: keep-alive, x-foo\r\n"
           b"X-Foo: 1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\n"
           b"Proxy-Connection: keep-alive\r\nUpgrade: h2c\r\nX-Custom: kept\r\n\r\n")

    def test_forwarding_and_hop_by_hop(self):
        b = self.backend(handler=rewrite_handler)
        p = self.rp("--forwarded", "--via", tos=[b.addr])
        c = self.client(p)
        c.send(self.REQ)
        resp = c.response()
        self.assertEqual(resp.status, 200)
        h = b.requests[-1].headers
        self.assertEqual(h.tokens("x-forwarded-for"), ["192.0.2.1", "127.0.0.1"])
        self.assertEqual(h.get_all("x-forwarded-proto"), ["http"])
        fwd = h.tokens("forwarded")
        self.assertEqual(fwd[0], "for=192.0.2.1")
        self.assertEqual(fwd[1:], ["for=127.0.0.1;proto=http"])
        self.assertIn("1.1 ringproxy", h.tokens("via"))
        for name in ("x-foo", "keep-alive", "te", "proxy-connection", "upgrade"):
            self.assertFalse(h.has(name), "%s reached the backend" % name)
        self.assertNotIn("x-foo", h.tokens("connection"))
        self.assertEqual(h.get_all("host"), ["example.test:8080"])
        self.assertEqual(h.get("x-custom"), "kept")
        # the response: hop-by-hop removed, Via appended
        rh = resp.headers
        self.assertFalse(rh.has("x-bar"), "X-Bar (in Connection) reached the client")
        self.assertFalse(rh.has("keep-alive"))
        self.assertEqual(rh.get("x-keep"), "yes")
        self.assertEqual(rh.tokens("via"), ["1.1 backend", "1.1 ringproxy"])
        self.assertEqual(resp.body, b"ok")
        # and the connection carries another exchange
        resp = c.request("GET", "/again")
        self.assertEqual(resp.status, 200)

    def test_ipv6_client(self):
        if not have_ipv6():
            self.skipTest("no IPv6 loopback (::1) here")
        b = self.backend()
        p = self.rp("--forwarded", tos=[b.addr], host="::1")
        c = self.client(p)
        self.assertEqual(c.request("GET", "/6").status, 200)
        h = b.requests[-1].headers
        self.assertEqual(h.tokens("x-forwarded-for"), ["::1"])
        self.assertEqual(h.tokens("forwarded"), ['for="[::1]";proto=http'])

    def test_no_xff_no_xfp_host_rewrite(self):
        b = self.backend()
        p = self.rp("--no-xff", "--no-xfp", "--host-rewrite", "internal.test",
                    tos=[b.addr])
        c = self.client(p)
        c.send(self.REQ)
        self.assertEqual(c.response().status, 200)
        h = b.requests[-1].headers
        self.assertEqual(h.tokens("x-forwarded-for"), ["192.0.2.1"])
        self.assertEqual(h.get_all("x-forwarded-proto"), ["https"])
        self.assertEqual(h.get_all("host"), ["internal.test"])
        self.assertFalse(h.has("via"))
        self.assertEqual(h.tokens("forwarded"), ["for=192.0.2.1"])


# ---- 8. routing -------------------------------------------------------------


class T08Routing(Base):
    def test_routes_yaml(self):
        names = ["exact", "wild", "static", "post", "hdr", "dflt", "own"]
        be = {n: self.backend(n) for n in names}
        p1, p2 = free_port(), free_port()
        cfg = """
reactors: 1
drain_timeout: 2s
routes:
  - match: {host: exact.test}
    cluster: exact
  - match: {host: "*.wild.test"}
    cluster: wild
  - match: {path: /static/}
    cluster: static
  - match: {path: /m/, method: POST}
    cluster: post
  - match:
      header: {name: X-Route, value: "e"}
    cluster: hdr
listeners:
  - bind: 127.0.0.1:%d
    mode: http
    cluster: dflt
    routes:
      - match: {host: exact.test, path: /own/}
        cluster: own
  - bind: 127.0.0.1:%d
    mode: http
clusters:
""" % (p1, p2)
        for n in names:
            cfg += "  %s:\n    backends:\n      - %s\n" % (n, be[n].addr)
        path = os.path.join(self.dir, "routes.yaml")
        with open(path, "w") as f:
            f.write(cfg)
        r = subprocess.run([RINGPROXY, "check", "-c", path], capture_output=True,
                           timeout=10)
        self.assertEqual(r.returncode, 0, r.stderr)
        p = self.rp_raw(["-c", path], nlisteners=2)

        def ask(port, method, target, host, headers=()):
            with Client(port) as c:
                body = b"" if method == "POST" else None
                resp = c.request(method, target, headers=headers, host=host, body=body)
                return resp.status, resp.headers.get("x-backend"), resp.body

        cases = [
            (p1, "GET", "/", "exact.test", (), "exact"),
            (p1, "GET", "/", "EXACT.test:80", (), "exact"),
            (p1, "GET", "/", "a.wild.test", (), "wild"),
            (p1, "GET", "/", "b.a.wild.test", (), "wild"),
            (p1, "GET", "/", "wild.test", (), "dflt"),
            (p1, "GET", "/", "xwild.test", (), "dflt"),
            (p1, "GET", "/static/x.css", "other.test", (), "static"),
            (p1, "GET", "/staticx", "other.test", (), "dflt"),
            (p1, "POST", "/m/1", "other.test", (), "post"),
            (p1, "GET", "/m/1", "other.test", (), "dflt"),
            (p1, "GET", "/", "other.test", (("X-Route", "e"),), "hdr"),
            (p1, "GET", "/", "other.test", (("X-Route", "f"),), "dflt"),
            # first match wins
            (p1, "GET", "/static/", "exact.test", (), "exact"),
            (p1, "POST", "/m/", "a.wild.test", (("X-Route", "e"),), "wild"),
            # a listener's own routes come first, and only on it
            (p1, "GET", "/own/x", "exact.test", (), "own"),
            (p2, "GET", "/own/x", "exact.test", (), "exact"),
            (p2, "GET", "/static/a", "none.test", (), "static"),
        ]
        for port, method, target, host, hdrs, want in cases:
            with self.subTest(port=port, method=method, target=target, host=host,
                              headers=hdrs):
                st, got, _ = ask(port, method, target, host, hdrs)
                self.assertEqual((st, got), (200, want))
        # no route, no default: ringproxy's own 404
        for target, host in (("/", "none.test"), ("/own/x", "other.test")):
            st, got, body = ask(p2, "GET", target, host)
            self.assertEqual((st, got, body), (404, None, b"404 Not Found\n"))
        self.assertEqual(sum(len(b.requests) for b in be.values()), len(cases))


# ---- 9. load balancing ------------------------------------------------------


def slow_handler(backend, conn, req):
    if req.target.startswith("/slow"):
        time.sleep(0.6)
    return default_response(backend, conn, req)


class T09Balance(Base):
    def three(self, handler=None):
        return [self.backend("b%d" % i, handler) for i in range(3)]

    def counts(self, p, n, fresh=True, headers=()):
        got = []
        c = None
        for i in range(n):
            if fresh or c is None:
                if c:
                    c.close()
                c = Client(p.port)
            resp = c.request("GET", "/%d" % i, headers=headers)
            self.assertEqual(resp.status, 200)
            got.append(resp.headers.get("x-backend"))
        c.close()
        return got

    def test_roundrobin(self):
        bs = self.three()
        p = self.rp("--balance", "roundrobin", tos=[b.addr for b in bs])
        got = self.counts(p, 30)
        for b in bs:
            self.assertEqual(got.count(b.name), 10, got)
        got = self.counts(p, 30, fresh=False)
        for b in bs:
            self.assertEqual(got.count(b.name), 10, got)

    def test_wrr_weights(self):
        bs = self.three()
        p = self.rp("--balance", "wrr",
                    tos=["%s,weight=%d" % (b.addr, i + 1) for i, b in enumerate(bs)])
        got = self.counts(p, 120, fresh=False)
        for i, b in enumerate(bs):
            self.assertAlmostEqual(got.count(b.name), 20 * (i + 1), delta=4,
                                   msg=str([got.count(x.name) for x in bs]))

    def concurrent_slow(self, p, n):
        got = [None] * n

        def one(i):
            with Client(p.port) as c:
                got[i] = c.request("GET", "/slow%d" % i).headers.get("x-backend")
        ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for t in ts:
            t.start()
            time.sleep(0.05)
        for t in ts:
            t.join(10)
        return got

    def test_leastconn(self):
        bs = self.three(slow_handler)
        p = self.rp("--balance", "leastconn", tos=[b.addr for b in bs])
        got = self.concurrent_slow(p, 3)
        self.assertEqual(sorted(got), ["b0", "b1", "b2"], got)
        got = self.counts(p, 12)
        self.assertEqual(len(got), 12)

    def test_p2c(self):
        bs = self.three()
        p = self.rp("--balance", "p2c", tos=[b.addr for b in bs])
        got = self.counts(p, 60, fresh=False)
        for b in bs:
            self.assertGreater(got.count(b.name), 0, got)

    def hashed(self, algo):
        bs = self.three()
        p = self.rp("--balance", algo, "--hash-key", "header:X-User",
                    tos=[b.addr for b in bs])
        seen = {}
        for u in range(24):
            for rep in range(2):
                with Client(p.port) as c:
                    resp = c.request("GET", "/", headers=(("X-User", "user%d" % u),))
                    self.assertEqual(resp.status, 200)
                    seen.setdefault(u, set()).add(resp.headers.get("x-backend"))
        for u, s in seen.items():
            self.assertEqual(len(s), 1, "user%d went to %s" % (u, s))
        used = set().union(*seen.values())
        self.assertGreaterEqual(len(used), 2, "24 keys all on %s" % used)
        # default key: the client address, the same for every connection here
        p2 = self.rp("--balance", algo, tos=[b.addr for b in bs])
        got = self.counts(p2, 10)
        self.assertEqual(len(set(got)), 1, got)

    def test_ringhash(self):
        self.hashed("ringhash")

    def test_maglev(self):
        self.hashed("maglev")


# ---- 10. failover -----------------------------------------------------------


class T10Failover(Base):
    def test_kill_one_nginx_mid_load(self):
        root = os.path.join(self.dir, "www")
        data = os.urandom(2048)
        write_files(root, {"f": data})
        n1 = self.nginx(root, "nginx1")
        n2 = self.nginx(root, "nginx2")
        p = self.rp(tos=["127.0.0.1:%d" % n1.port, "127.0.0.1:%d" % n2.port],
                    reactors=2)
        statuses = {}
        errors = []
        c = None
        for i in range(400):
            if i == 150:
                n1.killpg(signal.SIGKILL)
                n1.wait(5)
            try:
                if c is None:
                    c = Client(p.port, timeout=5)
                resp = c.request("GET", "/f")
                if resp is None:
                    raise EOFError("closed before a response")
                statuses[resp.status] = statuses.get(resp.status, 0) + 1
                if resp.status == 200 and resp.body != data:
                    errors.append("request %d: wrong body" % i)
                if resp.headers.tokens("connection") == ["close"]:
                    c.close()
                    c = None
            except (OSError, EOFError, ProtocolError) as e:
                errors.append("request %d: %r" % (i, e))
                if c:
                    c.close()
                c = None
            if i % 4 == 3 and c:  # several client connections, both reactors
                c.close()
                c = None
        if c:
            c.close()
        self.assertEqual(errors, [])
        self.assertEqual(statuses, {200: 400})
        served1 = len(n1.log_lines())
        self.assertGreater(served1, 0)
        self.assertGreater(len(n2.log_lines()), 150)


class T10bHealthCheck(Base):
    def test_http_check_takes_a_backend_out(self):
        def sick(be, conn, req):
            if req.target == "/health":
                return default_response(be, conn, req, status=503, body=b"sick")
            return default_response(be, conn, req)
        good = self.backend("good")
        bad = self.backend("bad", handler=sick)
        p = self.rp("--check", "http:/health", "--check-interval", "200ms",
                    "--check-timeout", "100ms", "--check-fall", "2", "--check-rise", "1",
                    tos=[good.addr, bad.addr])
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if sum(1 for r in bad.requests if r.target == "/health") >= 3:
                break
            time.sleep(0.05)
        got = []
        with Client(p.port) as c:
            for i in range(10):
                resp = c.request("GET", "/r%d" % i)
                self.assertEqual(resp.status, 200)
                got.append(resp.headers.get("x-backend"))
        self.assertEqual(got, ["good"] * 10)
        self.assertTrue(any(r.target == "/health" for r in good.requests))

    def test_recovery_and_once_per_cluster(self):
        state = {"sick": True}

        def flappy(be, conn, req):
            if req.target == "/health" and state["sick"]:
                return default_response(be, conn, req, status=503, body=b"sick")
            return default_response(be, conn, req)
        good = self.backend("good")
        flap = self.backend("flap", handler=flappy)
        # two reactors: the checks must still run once per interval, not
        # once per reactor, and the verdicts reach both reactors
        p = self.rp("--check", "http:/health", "--check-interval", "100ms",
                    "--check-timeout", "50ms", "--check-fall", "1", "--check-rise", "2",
                    tos=[good.addr, flap.addr], reactors=2)

        def health_count():
            with flap.lock:
                return sum(1 for r in flap.requests if r.target == "/health")

        def targets(n):
            seen = set()
            for i in range(n):
                with Client(p.port) as c:  # new connections: both reactors
                    resp = c.request("GET", "/x%d" % i)
                    self.assertEqual(resp.status, 200)
                    seen.add(resp.headers.get("x-backend"))
            return seen
        time.sleep(0.5)
        self.assertEqual(targets(12), {"good"})
        n0 = health_count()
        time.sleep(1.0)
        n1 = health_count()
        self.assertLessEqual(n1 - n0, 14, "checks run per reactor, not per cluster")
        self.assertGreaterEqual(n1 - n0, 5)
        state["sick"] = False
        deadline = time.monotonic() + 5
        seen = set()
        while time.monotonic() < deadline and "flap" not in seen:
            seen = targets(6)
        self.assertIn("flap", seen, "a backend whose checks pass again gets no traffic")
        self.rp_stop(p)
        self.assertIn("is up (2 checks passed)", p.stderr())


# ---- 11. errors -------------------------------------------------------------


class T11Errors(Base):
    def test_502_bad_response(self):
        bad = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"
        b = self.backend(handler=lambda be, c, r: bad)
        p = self.rp(tos=[b.addr])
        c = self.client(p)
        resp = c.request("GET", "/")
        self.assertEqual(resp.status, 502)
        self.assertTrue(c.closed())
        # an invalid status line too
        b2 = self.backend(handler=lambda be, c, r: b"HTTP/1.1 2000 OK\r\n\r\n")
        p2 = self.rp(tos=[b2.addr])
        with Client(p2.port) as c:
            self.assertEqual(c.request("GET", "/").status, 502)

    def test_502_bad_response_heads(self):
        bad = {
            "/clte": b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked"
                     b"\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            "/te-gzip": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc",
            "/unasked-101": b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                            b"Connection: upgrade\r\n\r\n",
            "/obs-fold": b"HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 0\r\n\r\n",
            "/huge-head": b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 40000 +
                          b"\r\nContent-Length: 0\r\n\r\n",
            "/bare-lf": b"HTTP/1.1 200 OK\nContent-Length: 0\n\n",
            "/not-http": b"SSH-2.0-OpenSSH_9.2\r\n\r\n",
        }
        b = self.backend(handler=lambda be, c, r: bad.get(r.target, b"") or
                         default_response(be, c, r))
        p = self.rp(tos=[b.addr])
        for t in bad:
            with self.subTest(t):
                got, closed = exchange_raw(p.port, b"GET %s HTTP/1.1\r\nHost: a\r\n\r\n" %
                                           t.encode())
                self.assertEqual(status_of(got), 502, got[:200])
                self.assertTrue(closed)
        with Client(p.port) as c:
            self.assertEqual(c.request("GET", "/fine").status, 200)
        st = self.rp_stop(p)
        self.assertEqual(st.get("bad_responses"), len(bad), st)

    def test_backend_answers_before_reading_body(self):
        def early(be, conn, req):
            if req.target == "/early":
                conn.send(b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 3\r\n"
                          b"Connection: close\r\n\r\nbig")
                time.sleep(0.3)
                return "close"
            return default_response(be, conn, req)
        b = self.backend(handler=early, read_body=False)
        # copied (splicing off) and spliced (over the 16k default threshold)
        for n, opts in ((200000, ("--splice-threshold", "0")), (1000000, ())):
            p = self.rp(*opts, tos=[b.addr])
            with self.subTest(content_length=n, opts=opts):
                with Client(p.port) as c:
                    c.send(b"POST /early HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n"
                           % n + b"x" * 100000)
                    resp = c.response()
                    self.assertEqual((resp.status, resp.body), (413, b"big"))
                time.sleep(0.3)
                self.assertTrue(p.alive(), "ringproxy died: %s" % p.stderr()[-1500:])
                with Client(p.port) as c:
                    self.assertEqual(c.request("GET", "/after").status, 200)

    def test_retry_on_stale_pooled_connection(self):
        def once(be, conn, req):
            # answers the first request of a connection, then drops the
            # connection on the next one without a word (a keep-alive
            # timeout racing with a request)
            with be.lock:
                n = sum(1 for r in be.requests if r.conn_id == conn.id)
            if n > 1:
                return "close"
            return default_response(be, conn, req)
        b = self.backend(handler=once)
        p = self.rp(tos=[b.addr])
        with Client(p.port) as c:
            for i in range(10):
                resp = c.request("GET", "/g%d" % i)
                self.assertEqual(resp.status, 200, "GET %d" % i)

    def test_502_post_backend_closes(self):
        b = self.backend(handler=lambda be, c, r: "close")
        p = self.rp(tos=[b.addr])
        c = self.client(p)
        resp = c.request("POST", "/x", body=b"data")
        self.assertEqual(resp.status, 502)
        # a POST is not replayed
        self.assertEqual(len(b.requests), 1)

    def test_503_no_backend(self):
        dead = free_port()
        p = self.rp(tos=["127.0.0.1:%d" % dead])
        t0 = time.monotonic()
        c = self.client(p)
        resp = c.request("GET", "/")
        self.assertEqual(resp.status, 503)
        self.assertLess(time.monotonic() - t0, 3)
        st = self.rp_stop(p)
        self.assertGreaterEqual(st.get("connect_failures", 0), 1, st)

    def test_504_response_timeout(self):
        def never(be, conn, req):
            time.sleep(4)
            return "close"
        b = self.backend(handler=never)
        p = self.rp("--response-timeout", "500ms", tos=[b.addr])
        c = self.client(p)
        t0 = time.monotonic()
        resp = c.request("GET", "/")
        dt = time.monotonic() - t0
        self.assertEqual(resp.status, 504)
        self.assertGreater(dt, 0.4)
        self.assertLess(dt, 2.5)

    def test_408_body_timeout(self):
        b = self.backend()
        p = self.rp("--body-timeout", "500ms", tos=[b.addr])
        c = self.client(p)
        t0 = time.monotonic()
        c.send(b"POST /slowbody HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n12345")
        got = c.r.until_eof()
        dt = time.monotonic() - t0
        self.assertEqual(status_of(got), 408, got)
        self.assertGreater(dt, 0.4)
        self.assertLess(dt, 3.0)
        time.sleep(0.1)
        self.assertEqual(b.complete_requests(), [])

    def test_408_slowloris(self):
        b = self.backend()
        p = self.rp("--header-timeout", "1s", tos=[b.addr])
        c = self.client(p)
        t0 = time.monotonic()
        c.send(b"GET / HTTP/1.1\r\nHost: a\r\n")
        got = None
        served = None
        for i in range(40):
            try:
                c.send(b"X")
            except OSError:
                break
            if i == 2:
                with Client(p.port) as c2:
                    served = c2.request("GET", "/other").status
            c.sock.settimeout(0.1)
            try:
                got = c.sock.recv(4096)
                break
            except socket.timeout:
                pass
        c.sock.settimeout(5)
        dt = time.monotonic() - t0
        self.assertEqual(served, 200, "a second client was not served meanwhile")
        self.assertIsNotNone(got, "no answer to a slow client after %.1fs" % dt)
        self.assertEqual(status_of(got), 408, got)
        self.assertGreater(dt, 0.8)
        self.assertLess(dt, 3.5)
        self.assertEqual([r.target for r in b.requests], ["/other"])


# ---- 12. bad input ----------------------------------------------------------

H = b"Host: a\r\n"

BAD_REQUESTS = [
    ("cl_and_te", b"POST / HTTP/1.1\r\n" + H +
     b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("te_and_cl", b"POST / HTTP/1.1\r\n" + H +
     b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400),
    ("two_cl", b"POST / HTTP/1.1\r\n" + H +
     b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400),
    ("cl_list", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 5, 6\r\n\r\nhello!", 400),
    ("cl_plus", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: +5\r\n\r\nhello", 400),
    ("cl_exp", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 1e3\r\n\r\nhello", 400),
    ("cl_neg", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: -1\r\n\r\n", 400),
    ("cl_overflow", b"POST / HTTP/1.1\r\n" + H +
     b"Content-Length: 99999999999999999999999\r\n\r\n", 400),
    ("te_gzip_chunked", b"POST / HTTP/1.1\r\n" + H +
     b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501),
    ("te_chunked_gzip", b"POST / HTTP/1.1\r\n" + H +
     b"Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400),
    ("te_gzip", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip\r\n\r\n", 400),
    ("te_twice", b"POST / HTTP/1.1\r\n" + H +
     b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("te_in_10", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("obs_fold", b"GET / HTTP/1.1\r\n" + H + b"X-A: 1\r\n  folded\r\n\r\n", 400),
    ("space_before_colon", b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),
    ("space_before_colon2", b"GET / HTTP/1.1\r\n" + H + b"X-A : 1\r\n\r\n", 400),
    ("bad_method_char", b"G(T / HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("bad_header_char", b"GET / HTTP/1.1\r\n" + H + b"X@Y: 1\r\n\r\n", 400),
    ("bare_cr_value", b"GET / HTTP/1.1\r\n" + H + b"X-A: a\rb\r\n\r\n", 400),
    ("bare_cr_line", b"GET / HTTP/1.1\r" + H + b"\r\n", 400),
    ("bare_lf", b"GET / HTTP/1.1\n" + H + b"\r\n", 400),
    ("nul_value", b"GET / HTTP/1.1\r\n" + H + b"X-A: a\x00b\r\n\r\n", 400),
    ("nul_target", b"GET /a\x00b HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("no_host_11", b"GET / HTTP/1.1\r\nX-A: 1\r\n\r\n", 400),
    ("two_hosts", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    ("two_same_hosts", b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400),
    ("http20", b"GET / HTTP/2.0\r\n" + H + b"\r\n", 505),
    ("http12", b"GET / HTTP/1.2\r\n" + H + b"\r\n", 505),
    ("head_too_big", b"GET / HTTP/1.1\r\n" + H + b"X-Big: " + b"a" * 17000 +
     b"\r\n\r\n", 431),
    ("too_many_headers", b"GET / HTTP/1.1\r\n" + H +
     b"".join(b"X-H%d: 1\r\n" % i for i in range(110)) + b"\r\n", 431),
    ("target_too_long", b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n" + H + b"\r\n", 414),
    ("body_over_max", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 2000\r\n\r\n" +
     b"x" * 2000, 413),
    ("connect", b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 405),
    ("absolute_host_mismatch", b"GET http://b/ HTTP/1.1\r\nHost: a\r\n\r\n", 400),
]


class T12BadInput(Base):
    def test_bad_requests(self):
        b = self.backend()
        p = self.rp("--max-body", "1k", tos=[b.addr])
        for name, raw, want in BAD_REQUESTS:
            with self.subTest(name):
                got, closed = exchange_raw(p.port, raw)
                self.assertEqual(status_of(got), want, got[:300])
                self.assertTrue(closed, "connection left open after %d" % want)
                self.assertIn(b"connection: close", got.lower().split(b"\r\n\r\n")[0])
                self.assertEqual(b.total_bytes, 0,
                                 "the backend received: %r" % b.raw_all()[:300])
        # a good request still goes through, and was the first thing the
        # backend saw
        with Client(p.port) as c:
            self.assertEqual(c.request("GET", "/ok").status, 200)
        self.assertEqual([r.target for r in b.requests], ["/ok"])
        st = self.rp_stop(p)
        self.assertEqual(st.get("bad_requests"), len(BAD_REQUESTS), st)
        self.assertEqual(st.get("4xx"), sum(1 for c in BAD_REQUESTS if c[2] < 500), st)
        self.assertEqual(st.get("5xx"), sum(1 for c in BAD_REQUESTS if c[2] >= 500), st)
        self.assertEqual(st.get("requests"), 1 + sum(1 for c in BAD_REQUESTS
                                                     if c[2] in (405, 413)), st)

    def chunk_case(self, body, want):
        b = self.backend()
        p = self.rp("--max-body", "1k", tos=[b.addr])
        head = b"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        # in one send, and with the body after a pause (head already sent on)
        for split in (False, True):
            with self.subTest(split=split):
                got, how = b"", "closed"
                with socket.create_connection(("127.0.0.1", p.port), timeout=5) as s:
                    try:
                        if split:
                            s.sendall(head)
                            time.sleep(0.3)
                            s.sendall(body)
                        else:
                            s.sendall(head + body)
                    except (BrokenPipeError, ConnectionResetError) as e:
                        how = "send: %r" % e
                    try:
                        while True:
                            d = s.recv(4096)
                            if not d:
                                break
                            got += d
                    except ConnectionResetError:
                        how = "reset"
                    except socket.timeout:
                        how = "still open after 5 s"
                self.assertEqual(how, "closed", got[:300])
                self.assertEqual(status_of(got), want, got[:300])
                time.sleep(0.2)
                self.assertEqual(b.complete_requests(), [],
                                 "the backend got a complete request: %r" % b.raw_all())

    def test_bad_chunk_size(self):
        self.chunk_case(b"5\r\nhello\r\nzz\r\nhello\r\n0\r\n\r\n", 400)

    def test_overflowing_chunk_size(self):
        self.chunk_case(b"5\r\nhello\r\n" + b"f" * 40 + b"\r\nhello\r\n0\r\n\r\n", 400)

    def test_chunk_without_crlf(self):
        self.chunk_case(b"5\r\nhelloXX0\r\n\r\n", 400)

    def test_chunked_body_over_max(self):
        self.chunk_case(b"400\r\n" + b"x" * 1024 + b"\r\n10\r\n" + b"y" * 16 +
                        b"\r\n0\r\n\r\n", 413)


# ---- 13. WebSocket ----------------------------------------------------------


def ws_handler(backend, conn, req):
    if req.headers.get("upgrade", "").lower() != "websocket" or \
            "upgrade" not in req.headers.tokens("connection"):
        return default_response(backend, conn, req, status=426)
    conn.send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
              b"Connection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n")
    # echo until EOF (bytes already read past the head first)
    if conn.r.buf:
        conn.send(conn.r.buf)
        conn.r.buf = b""
    while True:
        d = conn.sock.recv(65536)
        if not d:
            break
        conn.send(d)
    try:
        conn.sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    return "close"


class T13WebSocket(Base):
    def test_upgrade_and_echo_1mb(self):
        b = self.backend(handler=ws_handler)
        p = self.rp(tos=[b.addr])
        c = self.client(p)
        c.send(b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
               b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               b"Sec-WebSocket-Version: 13\r\n\r\n")
        resp = c.response()
        self.assertEqual(resp.status, 101, resp)
        self.assertEqual(resp.headers.get("upgrade", "").lower(), "websocket")
        self.assertIn("upgrade", resp.headers.tokens("connection"))
        data = os.urandom(1 << 20)
        err = []

        def sender():
            try:
                for i in range(0, len(data), 32768):
                    c.sock.sendall(data[i:i + 32768])
                c.sock.shutdown(socket.SHUT_WR)
            except OSError as e:
                err.append(e)
        t = threading.Thread(target=sender)
        t.start()
        got = c.r.buf
        c.r.buf = b""
        c.sock.settimeout(10)
        while len(got) < len(data):
            d = c.sock.recv(65536)
            if not d:
                break
            got += d
        t.join(10)
        self.assertEqual(err, [])
        self.assertEqual(len(got), len(data))
        self.assertEqual(sha256(got), sha256(data))
        self.assertTrue(c.closed(5), "the tunnel did not close after both halves")
        req = b.requests[-1]
        self.assertEqual(req.headers.get("upgrade"), "websocket")
        self.assertIn("upgrade", req.headers.tokens("connection"))
        st = self.rp_stop(p)
        self.assertEqual((st.get("upgrades"), st.get("1xx")), (1, 1), st)


def ws_greeting_handler(backend, conn, req):
    # the server speaks first: a frame in the same segment as the 101
    conn.send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
              b"Connection: Upgrade\r\n\r\n\x81\x05hello")
    d = conn.sock.recv(100)
    conn.send(d)
    return "close"


class T13bWebSocketServerFirst(Base):
    def test_server_sends_right_after_101(self):
        b = self.backend(handler=ws_greeting_handler)
        p = self.rp(tos=[b.addr])
        c = self.client(p)
        c.send(b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
               b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               b"Sec-WebSocket-Version: 13\r\n\r\n")
        resp = c.response()
        self.assertEqual(resp.status, 101)
        got = c.r.exact(7)
        self.assertEqual(got, b"\x81\x05hello")
        c.send(b"ping")
        self.assertEqual(c.r.exact(4), b"ping")


# ---- 14. PROXY protocol -----------------------------------------------------


def pp_v2(src, dst, sport, dport):
    sig = b"\r\n\r\n\x00\r\nQUIT\n"
    addrs = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!HH", sport, dport)
    return sig + bytes([0x21, 0x11]) + struct.pack("!H", len(addrs)) + addrs


class T14ProxyProtocol(Base):
    def test_accept_proxy_raw(self):
        b = self.backend()
        p = self.rp("--accept-proxy", tos=[b.addr])
        with Client(p.port) as c:
            c.send(b"PROXY TCP4 192.0.2.7 127.0.0.1 5555 80\r\n")
            resp = c.request("GET", "/v1")
            self.assertEqual(resp.status, 200)
        self.assertEqual(b.requests[-1].headers.tokens("x-forwarded-for"), ["192.0.2.7"])
        with Client(p.port) as c:
            c.send(pp_v2("198.51.100.9", "127.0.0.1", 4444, 80))
            resp = c.request("GET", "/v2")
            self.assertEqual(resp.status, 200)
            self.assertEqual(c.request("GET", "/v2b").status, 200)
        self.assertEqual(b.requests[-2].headers.tokens("x-forwarded-for"),
                         ["198.51.100.9"])
        self.assertEqual(b.requests[-1].headers.tokens("x-forwarded-for"),
                         ["198.51.100.9"])
        # without the header: dropped, and the backend never sees it
        got, closed = exchange_raw(p.port, b"GET /nopp HTTP/1.1\r\nHost: a\r\n\r\n")
        self.assertTrue(closed)
        self.assertNotEqual(status_of(got), 200)
        self.assertNotIn("/nopp", [r.target for r in b.requests])

    def test_haproxy_send_proxy_v2_to_ringproxy(self):
        b = self.backend()
        p = self.rp("--accept-proxy", tos=[b.addr])
        v6 = have_ipv6()
        hhost = "::1" if v6 else "127.0.0.1"
        hport = free_port(socket.AF_INET6 if v6 else socket.AF_INET)
        bind = "[::1]:%d" % hport if v6 else "127.0.0.1:%d" % hport
        cfg = """
defaults
    mode tcp
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe
    bind %s
    default_backend be
backend be
    server rp 127.0.0.1:%d send-proxy-v2
""" % (bind, p.port)
        self.haproxy(cfg, [(hhost, hport)])
        with Client(hport, host=hhost) as c:
            resp = c.request("GET", "/via-haproxy")
            self.assertEqual(resp.status, 200)
        self.assertEqual(b.requests[-1].headers.tokens("x-forwarded-for"), [hhost])

    def test_ringproxy_send_proxy_v2_to_haproxy(self):
        b = self.backend()
        hport = free_port()
        cfg = """
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:%d accept-proxy
    http-request set-header X-Src %%[src]
    default_backend be
backend be
    server b 127.0.0.1:%d
""" % (hport, b.port)
        self.haproxy(cfg, [("127.0.0.1", hport)])
        v6 = have_ipv6()
        host = "::1" if v6 else "127.0.0.1"
        p = self.rp("--send-proxy", "v2", tos=["127.0.0.1:%d" % hport], host=host)
        for i in range(3):
            with Client(p.port, host=host, timeout=5) as c:
                resp = c.request("GET", "/pp%d" % i)
                self.assertEqual(resp.status, 200, resp.body)
        self.assertEqual([r.headers.get("x-src") for r in b.requests], [host] * 3)


# ---- 15. access log ---------------------------------------------------------


def status_handler(backend, conn, req):
    if req.target.startswith("/missing"):
        return default_response(backend, conn, req, status=404, body=b"nope")
    return default_response(backend, conn, req)


COMBINED = re.compile(
    r'^(\S+) - - \[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000)\] "(\S+) (\S+) HTTP/1\.(\d)" '
    r'(\d{3}) (\d+) "([^"]*)" "([^"]*)"')


class T15AccessLog(Base):
    def run_requests(self, p):
        with Client(p.port) as c:
            self.assertEqual(c.request("GET", "/a?x=1", headers=(
                ("User-Agent", "test-ua/1"), ("Referer", "http://r.test/"))).status, 200)
            self.assertEqual(c.request("POST", "/b", body=b"12345").status, 200)
            self.assertEqual(c.request("GET", "/missing").status, 404)

    def lines(self, path):
        with open(path) as f:
            return [l.rstrip("\n") for l in f if l.strip()]

    def test_combined(self):
        b = self.backend(handler=status_handler)
        log = os.path.join(self.dir, "access.log")
        p = self.rp("--access-log", log, tos=[b.addr])
        self.run_requests(p)
        self.rp_stop(p)
        lines = self.lines(log)
        self.assertEqual(len(lines), 3, lines)
        want = [("GET", "/a?x=1", "200"), ("POST", "/b", "200"), ("GET", "/missing", "404")]
        for l, (m, t, s) in zip(lines, want):
            g = COMBINED.match(l)
            self.assertTrue(g, l)
            self.assertEqual((g.group(1), g.group(3), g.group(4), g.group(5), g.group(6)),
                             ("127.0.0.1", m, t, "1", s), l)
            self.assertGreater(int(g.group(7)), 0)
        g = COMBINED.match(lines[0])
        self.assertEqual((g.group(8), g.group(9)), ("http://r.test/", "test-ua/1"))

    def test_json(self):
        b = self.backend(handler=status_handler)
        log = os.path.join(self.dir, "access.json")
        p = self.rp("--access-log", log, "--log-format", "json", tos=[b.addr])
        self.run_requests(p)
        self.rp_stop(p)
        lines = self.lines(log)
        self.assertEqual(len(lines), 3, lines)
        recs = [json.loads(l) for l in lines]
        self.assertEqual([(r["method"], r["target"], r["status"]) for r in recs],
                         [("GET", "/a?x=1", 200), ("POST", "/b", 200),
                          ("GET", "/missing", 404)])
        self.assertEqual(recs[0]["user_agent"], "test-ua/1")
        self.assertEqual(recs[0]["referer"], "http://r.test/")
        self.assertEqual(recs[0]["host"], "localhost")
        self.assertEqual(recs[0]["client"].split(":")[0] if "client" in recs[0] else None,
                         "127.0.0.1")
        self.assertEqual(recs[0]["backend"], b.addr)
        self.assertEqual(recs[0]["protocol"], "HTTP/1.1")
        self.assertTrue(all(r["bytes"] > 0 for r in recs))

    def test_refused_request_logged(self):
        # A head that cannot be parsed still leaves a line: status, no request.
        b = self.backend(handler=status_handler)
        log = os.path.join(self.dir, "access.json")
        p = self.rp("--access-log", log, "--log-format", "json", tos=[b.addr])
        with Client(p.port) as c:
            c.send(b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
                   b"Transfer-Encoding: chunked\r\n\r\n")
            self.assertEqual(c.response().status, 400)
        self.rp_stop(p)
        recs = [json.loads(l) for l in self.lines(log)]
        self.assertEqual([(r["status"], r["method"]) for r in recs], [(400, None)])


# ---- 16. graceful drain -----------------------------------------------------


def drain_handler(backend, conn, req):
    if req.target == "/slow":
        time.sleep(1.5)
        return default_response(backend, conn, req, body=b"s" * 50000)
    if req.target == "/headfirst":
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
        time.sleep(1.0)
        conn.send(b"hello")
        return None
    return default_response(backend, conn, req)


class T16Drain(Base):
    def test_sigterm_idle_and_inflight(self):
        b = self.backend(handler=drain_handler)
        p = self.rp(tos=[b.addr], drain="20s")
        idle = self.client(p)
        self.assertEqual(idle.request("GET", "/first").status, 200)
        busy = self.client(p)
        busy.send(b"GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
        self.assertTrue(b.wait_requests(2))
        t0 = time.monotonic()
        p.send_signal(signal.SIGTERM)
        self.assertTrue(idle.closed(3.0), "the idle keep-alive client was not closed")
        resp = busy.response()
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.body, b"s" * 50000)
        self.assertIn("close", resp.headers.tokens("connection"))
        self.assertTrue(busy.closed(3.0))
        self.assertTrue(p.wait(5.0), "ringproxy still running 5 s after its last response")
        self.assertLess(time.monotonic() - t0, 6.0)
        # no new connections once draining
        with self.assertRaises(OSError):
            with socket.create_connection(("127.0.0.1", p.port), timeout=2) as s:
                s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
                if not s.recv(100):
                    raise ConnectionResetError("closed")
        rep = p.sanitizer_report()
        self.assertIsNone(rep, rep)


    def test_sigterm_after_response_head(self):
        # The response's head went out (keep-alive) before the drain began,
        # its body after: the client is closed once it has it, as idle
        # clients are, not kept until the drain timeout.
        b = self.backend(handler=drain_handler)
        p = self.rp(tos=[b.addr], drain="20s")
        c = self.client(p)
        c.send(b"GET /headfirst HTTP/1.1\r\nHost: a\r\n\r\n")
        self.assertTrue(b.wait_requests(1))
        time.sleep(0.3)
        t0 = time.monotonic()
        p.send_signal(signal.SIGTERM)
        resp = c.response()
        self.assertEqual((resp.status, resp.body), (200, b"hello"))
        self.assertTrue(c.closed(3.0), "kept open after its response while draining")
        self.assertTrue(p.wait(5.0), "ringproxy still running 5 s after the response")
        self.assertLess(time.monotonic() - t0, 6.0)


def http_available():
    """False when the binary refuses mode http (built without the HTTP data
    path): `ringproxy check` on a minimal file says so."""
    with TempDir() as d:
        path = os.path.join(d.path, "probe.yaml")
        with open(path, "w") as f:
            f.write("listeners:\n  - bind: 127.0.0.1:%d\n    mode: http\n"
                    "    cluster: c\nclusters:\n  c:\n    backends: [127.0.0.1:%d]\n"
                    % (free_port(), free_port()))
        r = subprocess.run([RINGPROXY, "check", "-c", path], capture_output=True,
                           timeout=10)
        return not (r.returncode != 0 and b"not available" in r.stderr)


def main():
    global RINGPROXY
    RINGPROXY, argv = ringproxy_arg(sys.argv, RINGPROXY)
    if not http_available():
        sys.exit("%s refuses mode http" % RINGPROXY)
    run_tests(argv)


if __name__ == "__main__":
    main()

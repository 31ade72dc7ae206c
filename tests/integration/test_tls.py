#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_tls.py - TLS termination end to end, with real clients (curl,
openssl s_client, Python's ssl module: all OpenSSL; gnutls-cli) against
ringproxy's BoringSSL: TLS 1.2 and 1.3, certificate selection by SNI (exact,
wildcard, default, strict), ALPN, resumption by tickets (TLS 1.3 ones also
to clients that send nothing before they have one: Python's ssl, gnutls-cli
--resume), HTTP over TLS to nginx and to a recording backend
(X-Forwarded-Proto), tcp mode to an echo backend with a SHA-256 check, bad
input on a TLS port (garbage, plaintext HTTP, a truncated ClientHello, a
client that says nothing), configuration errors (missing, mismatched and
expired certificates) and kTLS modes on a kernel without kTLS (auto falls
back, on is refused).

    python3 test_tls.py --ringproxy PATH [unittest args]
"""
import hashlib
import os
import re
import select
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import unittest

from httpsupport import (ringproxy_arg, Backend, EchoServer, Nginx, Reader, RingProxy,
                         TempDir, exit_status, free_port, read_response, sha256)

RINGPROXY = "ringproxy"
CERTS = None  # a TempDir with the test PKI


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, timeout=30, **kw)


def make_pki(d):
    """A CA and leaf certificates signed by it, all P-256."""
    def req(name, key, cn, san=None):
        run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", key, "-out", name + ".csr", "-subj", "/CN=" + cn],
            cwd=d, check=True)

    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
         "-subj", "/CN=ringproxy test CA", "-days", "2"], cwd=d, check=True)
    leaves = {
        "default": ("default.example", "DNS:default.example", 2),
        "a": ("a.example", "DNS:a.example,DNS:www.a.example", 2),
        "b": ("b wildcard", "DNS:*.b.example", 2),
        "expired": ("expired.example", "DNS:expired.example", -1),
        "backend": ("backend.example", "DNS:backend.example", 2),
    }
    for name, (cn, san, days) in leaves.items():
        req(name, name + ".key", cn)
        with open(os.path.join(d, name + ".ext"), "w") as f:
            f.write("subjectAltName=%s\n" % san)
        run(["openssl", "x509", "-req", "-in", name + ".csr", "-CA", "ca.pem",
             "-CAkey", "ca.key", "-CAcreateserial", "-days", str(days), "-out",
             name + ".pem", "-extfile", name + ".ext"], cwd=d, check=True)
    # the issuer goes with each leaf: a chain, leaf first
    for name in leaves:
        with open(os.path.join(d, name + ".pem"), "a") as f:
            f.write(open(os.path.join(d, "ca.pem")).read())


def pki(name):
    return os.path.join(CERTS.path, name)


def client_ctx(version=None, alpn=None):
    ctx = ssl.create_default_context(cafile=pki("ca.pem"))
    if version == "1.2":
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    elif version == "1.3":
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx


def tls_connect(port, name="a.example", version=None, alpn=None, session=None, ctx=None):
    ctx = ctx or client_ctx(version, alpn)
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    return ctx.wrap_socket(raw, server_hostname=name, session=session)


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()
        self.procs = []
        self.echo = None

    def tearDown(self):
        for p in self.procs:
            p.kill()
            rep = p.sanitizer_report() if hasattr(p, "sanitizer_report") else None
            if rep:
                self.fail("sanitizer report from %s:\n%s" % (p.name, rep))
        if self.echo:
            self.echo.stop()
        self.tmp.cleanup()

    def rp(self, listeners, clusters, extra=""):
        """ringproxy from a YAML text made of @listeners and @clusters."""
        conf = os.path.join(self.tmp.path, "rp.yaml")
        with open(conf, "w") as f:
            f.write("reactors: 2\n%s\nlisteners:\n%s\nclusters:\n%s\n" %
                    (extra, listeners, clusters))
        p = RingProxy(RINGPROXY, ["-c", conf], self.tmp.path,
                      nlisteners=listeners.count("- bind:"))
        self.procs.append(p)
        p.wait_ready()
        return p

    def stop(self, p):
        p.stop()
        rep = p.sanitizer_report()
        if rep:
            self.fail("sanitizer report:\n" + rep)
        st = p.stats()
        if not st:
            self.fail("ringproxy printed no stats: " + p.stderr()[-3000:])
        return st

    def tls_block(self, strict=False, extra=""):
        return """    tls:
      certificates:
        - {cert: %s, key: %s}
        - {cert: %s, key: %s}
        - {cert: %s, key: %s}
      strict_sni: %s
      handshake_timeout: 1s
%s""" % (pki("default.pem"), pki("default.key"), pki("a.pem"), pki("a.key"),
         pki("b.pem"), pki("b.key"), "true" if strict else "false", extra)

    def tcp_tls(self, strict=False, extra=""):
        self.echo = EchoServer()
        port = free_port()
        p = self.rp("  - bind: 127.0.0.1:%d\n    mode: tcp\n    cluster: echo\n%s" %
                    (port, self.tls_block(strict, extra)),
                    "  echo:\n    backends: [127.0.0.1:%d]\n" % self.echo.port)
        return p, port


def echo_roundtrip(s, nbytes):
    """Sends @nbytes while reading the echo, from one thread (an SSL object
    must not be read and written concurrently); returns (sent sha, got sha,
    bytes got)."""
    import selectors
    data = os.urandom(1 << 20)
    hs, hr = hashlib.sha256(), hashlib.sha256()
    sent = got = 0
    s.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
    deadline = time.monotonic() + 60
    while got < nbytes and time.monotonic() < deadline:
        sel.select(1.0)
        if sent < nbytes:
            off = sent % len(data)
            chunk = data[off:off + min(1 << 16, nbytes - sent, len(data) - off)]
            try:
                n = s.send(chunk)
                hs.update(chunk[:n])
                sent += n
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                pass
        else:
            sel.modify(s, selectors.EVENT_READ)
        while True:
            try:
                d = s.recv(1 << 16)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                break
            if not d:
                deadline = 0
                break
            hr.update(d)
            got += len(d)
    sel.close()
    s.setblocking(True)
    s.settimeout(10)
    return hs.hexdigest(), hr.hexdigest(), got


class T1Tcp(Base):
    def test_echo_both_versions(self):
        p, port = self.tcp_tls()
        for v in ("1.3", "1.2"):
            with self.subTest(version=v):
                s = tls_connect(port, version=v)
                self.assertEqual(s.version(), "TLSv" + v)
                a, b, n = echo_roundtrip(s, 8 << 20)
                self.assertEqual(n, 8 << 20, p.stderr()[-3000:])
                self.assertEqual(a, b)
                s.close()
        st = self.stop(p)
        self.assertEqual(st.get("handshakes"), 2, st)
        # this kernel has no kTLS: records in userspace, counted as such
        self.assertEqual(st.get("userspace"), 2, st)
        self.assertGreaterEqual(st.get("up_copy", 0), 16 << 20)
        self.assertGreaterEqual(st.get("down_copy", 0), 16 << 20)

    def test_half_close_and_close_notify(self):
        p, port = self.tcp_tls()
        s = tls_connect(port)
        s.sendall(b"hello")
        self.assertEqual(s.recv(5), b"hello")
        # our close_notify becomes the backend's EOF; its EOF our close_notify
        s = s.unwrap()
        self.assertEqual(s.recv(100), b"")
        s.close()
        self.stop(p)

    def test_ktls_modes_without_ktls(self):
        # on a kernel without the tls ULP, on is refused with the reason
        # (auto was shown above to fall back to userspace records); on one
        # that has it, on must start instead (tests/ktls covers the records)
        self.echo = EchoServer()
        port = free_port()
        conf = os.path.join(self.tmp.path, "on.yaml")
        with open(conf, "w") as f:
            f.write("listeners:\n  - bind: 127.0.0.1:%d\n    cluster: e\n    tls:\n"
                    "      cert: %s\n      key: %s\n      ktls: on\n"
                    "clusters:\n  e:\n    backends: [127.0.0.1:%d]\n" %
                    (port, pki("a.pem"), pki("a.key"), self.echo.port))
        ulp = "/proc/sys/net/ipv4/tcp_available_ulp"
        if os.path.exists(ulp):
            with open(ulp) as f:
                if "tls" in f.read():
                    p = RingProxy(RINGPROXY, ["-c", conf], self.tmp.path)
                    self.procs.append(p)
                    p.wait_ready()
                    self.stop(p)
                    return
        r = run([RINGPROXY, "-c", conf])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"no kTLS", r.stderr)


class T2Sni(Base):
    def subject(self, port, name, extra=()):
        args = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
                "-CAfile", pki("ca.pem"), "-verify_return_error"] + list(extra)
        if name:
            args += ["-servername", name]
        else:
            args += ["-noservername"]
        r = run(args, input=b"")
        out = r.stdout.decode(errors="replace")
        m = re.search(r"subject=.*?CN ?= ?([^\n,/]+)", out)
        return (m.group(1).strip() if m else None), out, r.returncode

    def test_selection(self):
        p, port = self.tcp_tls()
        cases = [("a.example", "a.example"), ("www.a.example", "a.example"),
                 ("A.EXAMPLE", "a.example"), ("x.b.example", "b wildcard"),
                 ("deep.x.b.example", "default.example"),
                 ("b.example", "default.example"), ("unknown.test", "default.example"),
                 (None, "default.example")]
        for name, cn in cases:
            with self.subTest(name=name):
                got, out, _ = self.subject(port, name)
                self.assertEqual(got, cn, out[-800:])
        self.stop(p)

    def test_strict(self):
        p, port = self.tcp_tls(strict=True)
        got, out, rc = self.subject(port, "a.example")
        self.assertEqual(got, "a.example", out[-800:])
        for name in ("unknown.test", None):
            with self.subTest(name=name):
                got, out, rc = self.subject(port, name)
                self.assertIsNone(got, out[-800:])
                self.assertNotEqual(rc, 0)
        # the refused handshakes did not disturb anything else
        s = tls_connect(port)
        s.sendall(b"x")
        self.assertEqual(s.recv(1), b"x")
        s.close()
        st = self.stop(p)
        self.assertEqual(st.get("failures"), 2, st)

    def test_alpn(self):
        p, port = self.tcp_tls(extra="      alpn: \"h2,http/1.1\"\n")
        s = tls_connect(port, alpn=["http/1.1"])
        self.assertEqual(s.selected_alpn_protocol(), "http/1.1")
        s.close()
        s = tls_connect(port, alpn=["h2", "http/1.1"])
        self.assertEqual(s.selected_alpn_protocol(), "h2")
        s.close()
        # no overlap: no protocol selected, the handshake still completes
        s = tls_connect(port, alpn=["spdy/3"])
        self.assertIsNone(s.selected_alpn_protocol())
        s.close()
        self.stop(p)


class T3Resumption(Base):
    def test_tickets(self):
        p, port = self.tcp_tls()
        for v in ("1.3", "1.2"):
            with self.subTest(version=v):
                ctx = client_ctx(v)
                s = tls_connect(port, version=v, ctx=ctx)
                s.sendall(b"ping")
                self.assertEqual(s.recv(4), b"ping")  # TLS 1.3 tickets arrive
                sess = s.session
                self.assertIsNotNone(sess)
                s.close()
                s = tls_connect(port, version=v, ctx=ctx, session=sess)
                s.sendall(b"pong")
                self.assertEqual(s.recv(4), b"pong")
                self.assertTrue(s.session_reused)
                s.close()
        st = self.stop(p)
        self.assertEqual(st.get("resumed"), 2, st)

    def test_tls13_ticket_before_any_data(self):
        # A client that handshakes and waits, writing nothing (here: reads
        # that process whatever records come, no application data either
        # way). TLS 1.3 tickets come after the handshake; the server must
        # send them then, as nginx does, not with its first response.
        p, port = self.tcp_tls()
        ctx = client_ctx("1.3")
        s = tls_connect(port, version="1.3", ctx=ctx)
        s.setblocking(False)
        deadline = time.monotonic() + 3
        while not s.session.has_ticket and time.monotonic() < deadline:
            select.select([s], [], [], 0.1)
            try:
                self.assertEqual(s.recv(1), b"", "application data unasked")
                break  # EOF
            except ssl.SSLWantReadError:
                pass
        sess = s.session
        self.assertTrue(sess.has_ticket, "no TLS 1.3 ticket without client data")
        s.close()
        s = tls_connect(port, version="1.3", ctx=ctx, session=sess)
        self.assertTrue(s.session_reused)
        s.sendall(b"ok")
        self.assertEqual(s.recv(2), b"ok")
        s.close()
        st = self.stop(p)
        self.assertEqual(st.get("resumed"), 1, st)

    def test_gnutls_resume(self):
        # gnutls-cli --resume handshakes, waits for the session data and
        # reconnects with it, sending nothing on the first connection.
        p, port = self.tcp_tls()
        for v in ("1.3", "1.2"):
            with self.subTest(version=v):
                r = run(["gnutls-cli", "--resume", "--x509cafile", pki("ca.pem"),
                         "--priority", "NORMAL:-VERS-ALL:+VERS-TLS" + v,
                         "--sni-hostname", "a.example",
                         "--verify-hostname", "a.example",
                         "-p", str(port), "127.0.0.1"], input=b"")
                out = r.stdout.decode(errors="replace")
                # both connections at version v, the second one resumed
                self.assertEqual(out.count("- Description: (TLS%s-" % v), 2, out[-2000:])
                self.assertIn("*** This is a resumed session", out,
                              out[-2000:] + r.stderr.decode(errors="replace")[-2000:])
        st = self.stop(p)
        self.assertEqual(st.get("resumed"), 2, st)

    def test_no_tickets(self):
        p, port = self.tcp_tls(extra="      tickets: false\n")
        ctx = client_ctx("1.2")
        s = tls_connect(port, ctx=ctx)
        s.sendall(b"a")
        s.recv(1)
        sess = s.session
        s.close()
        s = tls_connect(port, ctx=ctx, session=sess)
        s.sendall(b"b")
        s.recv(1)
        self.assertFalse(s.session_reused)
        s.close()
        self.stop(p)


class T4Http(Base):
    def http_tls(self, backend_addr, strict=False):
        port = free_port()
        p = self.rp("  - bind: 127.0.0.1:%d\n    mode: http\n    cluster: web\n%s" %
                    (port, self.tls_block(strict)),
                    "  web:\n    backends: [%s]\n" % backend_addr)
        return p, port

    def curl(self, port, path, *extra, name="a.example"):
        return run(["curl", "-sS", "--cacert", pki("ca.pem"), "--resolve",
                    "%s:%d:127.0.0.1" % (name, port), "-o", "-", "-w",
                    "\\n%{http_code} %{http_version}"] + list(extra) +
                   ["https://%s:%d%s" % (name, port, path)])

    def test_nginx_backend(self):
        root = os.path.join(self.tmp.path, "www")
        os.makedirs(root)
        big = os.urandom(3 << 20)
        with open(os.path.join(root, "big.bin"), "wb") as f:
            f.write(big)
        with open(os.path.join(root, "small.txt"), "wb") as f:
            f.write(b"small\n")
        ng = Nginx(self.tmp.path, root)
        self.procs.append(ng)
        p, port = self.http_tls("127.0.0.1:%d" % ng.port)
        for v in ("--tlsv1.3", "--tls-max"):
            args = [v] if v == "--tlsv1.3" else ["--tlsv1.2", "--tls-max", "1.2"]
            with self.subTest(tls=args):
                r = self.curl(port, "/big.bin", *args)
                self.assertEqual(r.returncode, 0, r.stderr)
                body, _, tail = r.stdout.rpartition(b"\n")
                self.assertEqual(tail.split()[0], b"200")
                self.assertEqual(sha256(body), sha256(big))
        # keep-alive: two requests on one TLS connection
        r = run(["curl", "-sS", "-v", "--cacert", pki("ca.pem"), "--resolve",
                 "a.example:%d:127.0.0.1" % port,
                 "https://a.example:%d/small.txt" % port,
                 "https://a.example:%d/small.txt" % port])
        self.assertEqual(r.stdout, b"small\nsmall\n")
        self.assertIn(b"Re-using existing connection", r.stderr)
        self.assertIn(b"ALPN: server accepted http/1.1", r.stderr)
        st = self.stop(p)
        self.assertEqual(st.get("handshakes"), 3, st)
        self.assertEqual(st.get("2xx"), 4, st)

    def test_forwarding_headers_and_upload(self):
        b = Backend("b")
        p, port = self.http_tls(b.addr)
        body = os.urandom(1 << 20)
        path = os.path.join(self.tmp.path, "up.bin")
        with open(path, "wb") as f:
            f.write(body)
        r = self.curl(port, "/up", "--data-binary", "@" + path, "-H",
                      "X-Forwarded-Proto: http")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(("sha=%s" % sha256(body)).encode(), r.stdout)
        req = b.requests[-1]
        self.assertEqual(req.headers.get("X-Forwarded-Proto"), "https")
        self.assertEqual(req.headers.get("X-Forwarded-For"), "127.0.0.1")
        b.stop()
        self.stop(p)

    def test_idle_keepalive_and_pipelined_records(self):
        # An idle TLS client waits on a poll of its socket; records that
        # came with the last read and wait inside the TLS layer are no
        # socket event, and must be served without one.
        b = Backend("b")
        p, port = self.http_tls(b.addr)
        for v in ("1.3", "1.2"):
            with self.subTest(version=v):
                t = BioTls(port, client_ctx(v))
                r = Reader(t)
                t.write(b"GET /first HTTP/1.1\r\nHost: a\r\n\r\n")
                t.flush()
                self.assertEqual(read_response(r).status, 200)
                time.sleep(0.5)
                # two records in one TCP send: one read takes both
                t.write(b"GET /r1 HTTP/1.1\r\nHost: a\r\n\r\n")
                t.write(b"GET /r2 HTTP/1.1\r\nHost: a\r\n\r\n")
                t.flush()
                for target in ("/r1", "/r2"):
                    resp = read_response(r)
                    self.assertEqual(resp.status, 200)
                    self.assertIn(("target=%s " % target).encode(), resp.body)
                time.sleep(0.5)
                t.write(b"GET /last HTTP/1.1\r\nHost: a\r\n\r\n")
                t.flush()
                self.assertIn(b"target=/last ", read_response(r).body)
                t.close()
        self.assertEqual([q.target for q in b.requests],
                         ["/first", "/r1", "/r2", "/last"] * 2)
        b.stop()
        st = self.stop(p)
        self.assertEqual(st.get("2xx"), 8, st)

    def test_wrong_sni_strict(self):
        b = Backend("b")
        p, port = self.http_tls(b.addr, strict=True)
        r = self.curl(port, "/", "-k", name="nope.test")
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(b.nconns, 0)
        r = self.curl(port, "/")
        self.assertEqual(r.returncode, 0, r.stderr)
        b.stop()
        st = self.stop(p)
        self.assertEqual(st.get("failures"), 1, st)


class BioTls:
    """A TLS client over memory BIOs: what write() encrypts (one record a
    call) goes out only at flush(), in one send; recv() is plaintext, for a
    Reader."""

    def __init__(self, port, ctx, name="a.example"):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.inc, self.out, server_hostname=name)
        while True:
            try:
                self.obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                self.flush()
                d = self.sock.recv(65536)
                if not d:
                    raise EOFError("EOF in the handshake")
                self.inc.write(d)
        self.flush()

    def write(self, data):
        self.obj.write(data)

    def flush(self):
        d = self.out.read()
        if d:
            self.sock.sendall(d)

    def recv(self, n):
        while True:
            try:
                return self.obj.read(n)
            except ssl.SSLWantReadError:
                self.flush()
                d = self.sock.recv(65536)
                if not d:
                    return b""
                self.inc.write(d)
            except ssl.SSLZeroReturnError:
                return b""

    def close(self):
        self.sock.close()


class T5BadInput(Base):
    def expect_closed(self, port, data, close_after=True):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        try:
            if data:
                s.sendall(data)
            if close_after:
                s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # refused before we were done: that is the point
        got = b""
        t0 = time.monotonic()
        try:
            while True:
                d = s.recv(4096)
                if not d:
                    break
                got += d
        except (ConnectionResetError, OSError):
            pass
        s.close()
        return got, time.monotonic() - t0

    def test_bad_clients(self):
        p, port = self.tcp_tls()
        # a good client, open across all the bad ones
        good = tls_connect(port)
        good.sendall(b"before")
        self.assertEqual(good.recv(6), b"before")
        cases = [
            ("garbage", os.urandom(300)),
            ("plaintext http", b"GET / HTTP/1.1\r\nHost: a.example\r\n\r\n"),
            ("truncated hello", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 20),
        ]
        for what, data in cases:
            with self.subTest(what=what):
                got, _ = self.expect_closed(port, data)
                # an alert at most, never application data
                self.assertTrue(got == b"" or got[0] == 0x15, got[:20])
        # a client that says nothing is cut at the handshake timeout (1s)
        got, took = self.expect_closed(port, b"", close_after=False)
        self.assertEqual(got, b"")
        self.assertGreater(took, 0.7)
        self.assertLess(took, 5)
        good.sendall(b"after")
        self.assertEqual(good.recv(5), b"after")
        good.close()
        st = self.stop(p)
        self.assertEqual(st.get("failures"), 3, st)
        self.assertEqual(st.get("timeouts"), 1, st)
        self.assertEqual(st.get("handshakes"), 1, st)


class TlsEchoServer(EchoServer):
    """Echoes every byte back over TLS (Python's ssl: OpenSSL), with the
    backend.example certificate."""

    def __init__(self):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(pki("backend.pem"), pki("backend.key"))
        self.handshakes = 0
        super().__init__()

    def _echo(self, s):
        try:
            s = self.ctx.wrap_socket(s, server_side=True)
            self.handshakes += 1
        except (OSError, ssl.SSLError):
            s.close()
            return
        super()._echo(s)


class NginxTls:
    """nginx serving @root over TLS with the backend.example certificate."""

    def __init__(self, test, root):
        d = os.path.join(test.tmp.path, "ngx-tls")
        os.makedirs(os.path.join(d, "logs"), exist_ok=True)
        os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
        self.port = free_port()
        conf = os.path.join(d, "nginx.conf")
        user = "user root;" if os.geteuid() == 0 else ""
        with open(conf, "w") as f:
            f.write("""%s
daemon off; master_process off; worker_processes 1;
pid %s/nginx.pid; error_log %s/logs/error.log warn;
events { worker_connections 256; }
http {
    access_log %s/logs/access.log;
    client_body_temp_path %s/tmp; proxy_temp_path %s/tmp;
    keepalive_requests 100000;
    server {
        listen 127.0.0.1:%d ssl;
        ssl_certificate %s; ssl_certificate_key %s;
        root %s;
        location / { }
    }
}
""" % (user, d, d, d, d, d, self.port, pki("backend.pem"), pki("backend.key"), root))
        from httpsupport import Proc, wait_listening
        self.proc = Proc(["nginx", "-p", d, "-e", os.path.join(d, "logs", "error.log"),
                          "-c", conf], test.tmp.path, "nginx-tls")
        test.procs.append(self.proc)
        wait_listening("127.0.0.1", self.port, proc=self.proc)


class T6Backend(Base):
    """TLS towards the backends: certificate verified against the CA, SNI."""

    def test_http_to_nginx_tls(self):
        root = os.path.join(self.tmp.path, "www")
        os.makedirs(root)
        big = os.urandom(2 << 20)
        with open(os.path.join(root, "big.bin"), "wb") as f:
            f.write(big)
        ng = NginxTls(self, root)
        port = free_port()
        p = self.rp("  - bind: 127.0.0.1:%d\n    mode: http\n    cluster: web\n%s" %
                    (port, self.tls_block()),
                    "  web:\n    backends: [127.0.0.1:%d]\n    tls:\n"
                    "      ca: %s\n      sni: backend.example\n" % (ng.port, pki("ca.pem")))
        for i in range(3):
            r = run(["curl", "-sS", "--cacert", pki("ca.pem"), "--resolve",
                     "a.example:%d:127.0.0.1" % port,
                     "https://a.example:%d/big.bin" % port])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(sha256(r.stdout), sha256(big))
        st = self.stop(p)
        # one TLS connection to nginx per reactor at most: the pool keeps it
        self.assertLessEqual(st.get("backend_handshakes"), 2, st)
        self.assertGreaterEqual(st.get("pool_reuses"), 1, st)
        self.assertEqual(st.get("backend_failures", 0), 0, st)

    def test_verification_fails(self):
        root = os.path.join(self.tmp.path, "www")
        os.makedirs(root)
        ng = NginxTls(self, root)
        port = free_port()
        p = self.rp("  - bind: 127.0.0.1:%d\n    mode: http\n    cluster: web\n" % port,
                    "  web:\n    backends: [127.0.0.1:%d]\n    tls:\n"
                    "      ca: %s\n      sni: wrong.example\n" % (ng.port, pki("ca.pem")))
        r = run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                 "http://127.0.0.1:%d/" % port])
        self.assertEqual(r.stdout, b"502")
        st = self.stop(p)
        self.assertGreaterEqual(st.get("backend_failures"), 1, st)

    def test_tcp_reencrypt(self):
        self.echo = TlsEchoServer()
        port = free_port()
        p = self.rp("  - bind: 127.0.0.1:%d\n    mode: tcp\n    cluster: e\n%s" %
                    (port, self.tls_block()),
                    "  e:\n    backends: [127.0.0.1:%d]\n    tls:\n"
                    "      ca: %s\n      sni: backend.example\n" %
                    (self.echo.port, pki("ca.pem")))
        s = tls_connect(port)
        a, b, n = echo_roundtrip(s, 4 << 20)
        self.assertEqual((a, n), (b, 4 << 20))
        s.close()
        # a plain client to a re-encrypting tcp listener too
        port2 = free_port()
        p2 = self.rp("  - bind: 127.0.0.1:%d\n    mode: tcp\n    cluster: e\n" % port2,
                     "  e:\n    backends: [127.0.0.1:%d]\n    tls:\n"
                     "      ca: %s\n      sni: backend.example\n" %
                     (self.echo.port, pki("ca.pem")))
        s = socket.create_connection(("127.0.0.1", port2), timeout=10)
        a, b, n = echo_roundtrip(s, 4 << 20)
        self.assertEqual((a, n), (b, 4 << 20))
        s.close()
        for q in (p, p2):
            st = self.stop(q)
            self.assertEqual(st.get("backend_handshakes"), 1, st)
        self.assertEqual(self.echo.handshakes, 2)


class T7Config(Base):
    def check(self, cert, key, port=None):
        conf = os.path.join(self.tmp.path, "c.yaml")
        with open(conf, "w") as f:
            f.write("listeners:\n  - bind: 127.0.0.1:%d\n    cluster: e\n    tls:\n"
                    "      cert: %s\n      key: %s\nclusters:\n  e:\n"
                    "    backends: [127.0.0.1:9]\n" % (port or free_port(), cert, key))
        return run([RINGPROXY, "-c", conf])

    def test_errors(self):
        cases = [
            (pki("missing.pem"), pki("a.key"), "missing.pem: No such file"),
            (pki("a.pem"), pki("b.key"), "does not match"),
            (pki("expired.pem"), pki("expired.key"), "expired on"),
            (pki("a.key"), pki("a.key"), "not a PEM certificate"),
            (pki("a.pem"), pki("ca.pem"), "not a PEM private key"),
        ]
        for cert, key, want in cases:
            with self.subTest(want=want):
                r = self.check(cert, key)
                self.assertNotEqual(r.returncode, 0)
                self.assertIn(want, r.stderr.decode(), r.stderr)


def main():
    global RINGPROXY, CERTS
    RINGPROXY, argv = ringproxy_arg(sys.argv, RINGPROXY)
    for tool in ("openssl", "curl", "nginx"):
        if not shutil.which(tool):
            sys.exit("test_tls.py: %s is missing (scripts/deps.sh test installs it)" % tool)
    CERTS = TempDir()
    try:
        make_pki(CERTS.path)
        res = unittest.main(argv=argv, exit=False)
    finally:
        CERTS.cleanup()
    sys.exit(exit_status(res.result))


if __name__ == "__main__":
    main()

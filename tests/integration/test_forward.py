#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_forward.py - the forward proxy's tunnels end to end: HTTP CONNECT,
SOCKS5 and SOCKS4/4a on one listener, with curl as the real client and
Python origins on loopback; authentication (Basic and RFC 1929), access
rules, block lists, the SSRF guard (an address and a name resolving to a
private address), resolution through the hosts file and a DNS server that
never answers, and malformed handshakes.

    python3 test_forward.py --ringproxy PATH [unittest args]
"""
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import unittest

from httpsupport import (ringproxy_arg, Backend, EchoServer, Nginx, Proc, RingProxy, TempDir,
                         free_port, have_ipv6, run_tests, sha256, wait_listening)

RINGPROXY = "ringproxy"


def have(cmd):
    from shutil import which
    return which(cmd) is not None


class SilentDNS:
    """A UDP socket that reads queries and never answers."""

    def __init__(self):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", 0))
        self.port = self.s.getsockname()[1]

    def stop(self):
        self.s.close()


class FakeDNS:
    """A DNS server on loopback, so that no test asks the machine's resolver
    (whose servers are not on loopback): NXDOMAIN for every name but those
    of @special, "name": "NODATA" (the name exists, without an address) or
    "SERVFAIL"."""

    def __init__(self, special=None):
        self.special = {k.lower(): v for k, v in (special or {}).items()}
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", 0))
        self.port = self.s.getsockname()[1]
        self.queries = []
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while True:
            try:
                q, peer = self.s.recvfrom(4096)
            except OSError:
                return
            if len(q) < 17:
                continue
            i, labels = 12, []
            while i < len(q) and q[i]:
                labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace"))
                i += 1 + q[i]
            question = q[12:i + 5]
            name = ".".join(labels).lower()
            self.queries.append(name)
            rcode = {"NODATA": 0, "SERVFAIL": 2}.get(self.special.get(name), 3)
            flags = 0x8400 | (q[2] & 1) << 8 | 0x80 | rcode  # QR AA RD RA
            resp = q[:2] + struct.pack("!HHHHH", flags, 1, 0, 0, 0) + question
            try:
                self.s.sendto(resp, peer)
            except OSError:
                return

    def stop(self):
        self.s.close()


def recv_exact(s, n):
    out = b""
    while len(out) < n:
        d = s.recv(n - len(out))
        if not d:
            raise EOFError("closed after %d of %d bytes" % (len(out), n))
        out += d
    return out


def closed_soon(s, timeout=3.0):
    """True when the peer closes (EOF or reset) within @timeout."""
    s.settimeout(timeout)
    try:
        while True:
            d = s.recv(4096)
            if not d:
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()
        self.addCleanup(self.tmp.cleanup)
        self.dir = self.tmp.path
        self.hosts = os.path.join(self.dir, "hosts")
        with open(self.hosts, "w") as f:
            f.write("127.0.0.1 origin.test\n127.0.0.2 other.test\n"
                    "127.0.0.1 rebind.test\n")
        self.dns = FakeDNS({"noaddr.test": "NODATA", "servfail.test": "SERVFAIL"})
        self.addCleanup(self.dns.stop)

    def rp(self, *opts, allow_loopback=True):
        port = free_port()
        args = ["forward", "--listen", "127.0.0.1:%d" % port, "--reactors", "1",
                "--drain-timeout", "2s", "--hosts-file", self.hosts]
        if allow_loopback:
            args += ["--allow-dest", "127.0.0.0/8"]
        if "--dns-servers" not in opts:
            args += ["--dns-servers", "127.0.0.1:%d" % self.dns.port]
        args += list(opts)
        p = RingProxy(RINGPROXY, args, self.dir, 1)
        self.addCleanup(self.stop, p)
        p.wait_ready()
        p.port = port
        return p

    def stop(self, p):
        p.stop(signal.SIGTERM, 8.0)
        err = p.stderr()
        for m in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            self.assertNotIn(m, err)

    def echo(self, host="127.0.0.1"):
        e = EchoServer(host)
        self.addCleanup(e.stop)
        return e

    def origin(self):
        b = Backend("origin")
        self.addCleanup(b.stop)
        return b

    def curl(self, *args):
        if not have("curl"):
            self.fail("curl is not installed (scripts/deps.sh test installs it)")
        r = subprocess.run(["curl", "-sS", "--max-time", "10"] + list(args),
                           capture_output=True, timeout=20)
        return r.returncode, r.stdout, r.stderr.decode("utf-8", "replace")

    def connect(self, p):
        s = socket.create_connection(("127.0.0.1", p.port), timeout=5)
        self.addCleanup(s.close)
        return s

    def socks5(self, p, target, port, auth=None):
        """A SOCKS5 handshake; the reply code and the socket."""
        s = self.connect(p)
        s.sendall(b"\x05\x01" + (b"\x02" if auth else b"\x00"))
        m = recv_exact(s, 2)
        if m[1] == 0xFF:
            return None, s
        if auth:
            u, pw = auth
            s.sendall(b"\x01" + bytes([len(u)]) + u + bytes([len(pw)]) + pw)
            if recv_exact(s, 2)[1] != 0:
                return "auth", s
        if isinstance(target, bytes):
            req = b"\x05\x01\x00\x03" + bytes([len(target)]) + target
        elif ":" in target:
            req = b"\x05\x01\x00\x04" + socket.inet_pton(socket.AF_INET6, target)
        else:
            req = b"\x05\x01\x00\x01" + socket.inet_aton(target)
        s.sendall(req + struct.pack("!H", port))
        rep = recv_exact(s, 4)
        alen = {1: 4, 4: 16}.get(rep[3], 0)
        if rep[3] == 3:
            alen = recv_exact(s, 1)[0]
        recv_exact(s, alen + 2)
        return rep[1], s


class T1Connect(Base):
    def test_curl_proxytunnel(self):
        b = self.origin()
        p = self.rp()
        code, out, err = self.curl("-p", "-x", "http://127.0.0.1:%d" % p.port,
                                   "http://origin.test:%d/x" % b.port)
        self.assertEqual(code, 0, err)
        self.assertIn(b"target=/x", out)

    def test_connect_with_early_data_and_1mb_echo(self):
        e = self.echo()
        p = self.rp()
        s = self.connect(p)
        data = os.urandom(1 << 20)
        # the CONNECT and the first bytes in one send
        s.sendall(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: x\r\n\r\n" % e.port + data[:1000])
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(1)
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
        t = threading.Thread(target=lambda: s.sendall(data[1000:]))
        t.start()
        got = recv_exact(s, len(data))
        t.join()
        self.assertEqual(sha256(got), sha256(data))

    def test_ipv6_literal_target(self):
        if not have_ipv6():
            self.skipTest("no IPv6 loopback (::1) here")
        e = self.echo("::1")
        p = self.rp("--allow-dest", "::1/128")
        s = self.connect(p)
        s.sendall(b"CONNECT [::1]:%d HTTP/1.1\r\nHost: x\r\n\r\nhi" % e.port)
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(1)
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
        self.assertEqual(recv_exact(s, 2), b"hi")


class T2Socks(Base):
    def test_curl_socks5_socks5h_socks4_socks4a(self):
        b = self.origin()
        p = self.rp()
        for flag, host in (("--socks5", "127.0.0.1"), ("--socks5-hostname", "origin.test"),
                           ("--socks4", "127.0.0.1"), ("--socks4a", "origin.test")):
            with self.subTest(flag):
                code, out, err = self.curl(flag, "127.0.0.1:%d" % p.port,
                                           "http://%s:%d/s" % (host, b.port))
                self.assertEqual(code, 0, err)
                self.assertIn(b"target=/s", out)

    def test_socks5_echo_ipv4_and_name(self):
        e = self.echo()
        p = self.rp()
        for target in ("127.0.0.1", b"origin.test"):
            rep, s = self.socks5(p, target, e.port)
            self.assertEqual(rep, 0)
            s.sendall(b"ping")
            self.assertEqual(recv_exact(s, 4), b"ping")

    def test_bind_and_udp_are_not_supported(self):
        p = self.rp()
        for cmd in (2, 3):
            s = self.connect(p)
            s.sendall(b"\x05\x01\x00")
            self.assertEqual(recv_exact(s, 2), b"\x05\x00")
            s.sendall(b"\x05" + bytes([cmd]) + b"\x00\x01\x7f\x00\x00\x01\x00\x50")
            self.assertEqual(recv_exact(s, 2), b"\x05\x07")
            self.assertTrue(closed_soon(s))

    def test_refused_and_unreachable(self):
        p = self.rp()
        dead = free_port()
        rep, s = self.socks5(p, "127.0.0.1", dead)
        self.assertEqual(rep, 5)  # connection refused
        rep, s = self.socks5(p, b"no-such-name.test", 80)
        self.assertEqual(rep, 4)  # host unreachable


class T3Auth(Base):
    def users(self, user, password):
        r = subprocess.run([RINGPROXY, "passwd", "--iterations", "10000"],
                           input=password + b"\n", capture_output=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        path = os.path.join(self.dir, "users")
        with open(path, "wb") as f:
            f.write(user + b":" + r.stdout.strip() + b"\n")
        return path

    def test_basic_and_socks5_auth(self):
        b = self.origin()
        p = self.rp("--users", self.users(b"alice", b"s3cret"))
        url = "http://origin.test:%d/a" % b.port
        proxy = "http://127.0.0.1:%d" % p.port
        code, out, err = self.curl("-p", "-x", proxy, "-U", "alice:s3cret", url)
        self.assertEqual(code, 0, err)
        self.assertIn(b"target=/a", out)
        code, out, err = self.curl("-p", "-x", proxy, "-U", "alice:wrong", "-v", url)
        self.assertNotEqual(code, 0)
        self.assertIn("407", err)
        self.assertIn("Proxy-Authenticate: Basic", err)
        code, out, err = self.curl("-p", "-x", proxy, url)
        self.assertIn("407", err + out.decode("latin1"))
        code, out, err = self.curl("--socks5-hostname", "127.0.0.1:%d" % p.port,
                                   "--proxy-user", "alice:s3cret", url)
        self.assertEqual(code, 0, err)
        rep, s = self.socks5(p, b"origin.test", b.port, auth=(b"alice", b"nope"))
        self.assertEqual(rep, "auth")
        self.assertTrue(closed_soon(s))
        # SOCKS4 has no password: refused when users are configured
        s = self.connect(p)
        s.sendall(b"\x04\x01" + struct.pack("!H", b.port) + socket.inet_aton("127.0.0.1") +
                  b"alice\x00")
        self.assertEqual(recv_exact(s, 2)[1], 0x5b)

    def test_plain_text_users_file_refused(self):
        path = os.path.join(self.dir, "plain")
        with open(path, "w") as f:
            f.write("bob:hunter2\n")
        port = free_port()
        r = subprocess.run([RINGPROXY, "forward", "--listen", "127.0.0.1:%d" % port,
                            "--users", path], capture_output=True, timeout=10)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"plain-text", r.stderr)


class T4Policy(Base):
    def test_ssrf_guard_refuses_private_destinations(self):
        e = self.echo()
        p = self.rp(allow_loopback=False)
        s = self.connect(p)
        s.sendall(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: x\r\n\r\n" % e.port)
        self.assertTrue(s.recv(100).startswith(b"HTTP/1.1 403"))
        # a name resolving to loopback (DNS rebinding) is refused too
        rep, s = self.socks5(p, b"rebind.test", e.port)
        self.assertEqual(rep, 2)  # not allowed by ruleset
        for target in ("169.254.169.254", "10.1.2.3", "::ffff:127.0.0.1"):
            rep, s = self.socks5(p, target, 80)
            self.assertEqual(rep, 2, target)
        self.assertEqual(e.conns, 0)
        # refusals by policy are counted as such, not as bad requests
        self.stop(p)
        st = p.stats()
        self.assertEqual(st.get("denied"), 5, st)
        self.assertEqual(st.get("bad_requests"), 0, st)

    def test_deny_rule_and_block_list(self):
        e = self.echo()
        bl = os.path.join(self.dir, "block")
        with open(bl, "w") as f:
            f.write("# blocked\nblocked.test\nother.test\n")
        p = self.rp("--blocklist", bl, "--deny-dest", "origin.test")
        for name in (b"origin.test", b"other.test", b"sub.other.test"):
            rep, s = self.socks5(p, name, e.port)
            self.assertEqual(rep, 2, name)
        rep, s = self.socks5(p, "127.0.0.1", e.port)
        self.assertEqual(rep, 0)


class T5DNS(Base):
    def test_resolution_timeout(self):
        dns = SilentDNS()
        self.addCleanup(dns.stop)
        p = self.rp("--dns-servers", "127.0.0.1:%d" % dns.port, "--dns-timeout", "500ms")
        t0 = time.monotonic()
        s = self.connect(p)
        s.sendall(b"CONNECT slow.example:443 HTTP/1.1\r\nHost: x\r\n\r\n")
        resp = s.recv(1000)
        self.assertTrue(resp.startswith(b"HTTP/1.1 504"), resp)
        self.assertIn(b"\r\n\r\n504 Gateway Timeout\ncannot resolve slow.example:443: "
                      b"no answer within 500 ms\n", resp)
        self.assertLess(time.monotonic() - t0, 4)
        rep, s = self.socks5(p, b"slow2.example", 443)
        self.assertEqual(rep, 4)


class T10Failures(Base):
    """What failed, told apart: the DNS (502, the resolver's answer), the
    connect (502, the errno text and the address tried), a timeout (504);
    in the body of the answer, for CONNECT and absolute-form alike, in the
    SOCKS reply codes, and in the access log's error field."""

    def answer(self, p, raw):
        """The whole answer to @raw, and whether the proxy closed after it."""
        s = self.connect(p)
        s.settimeout(8)
        s.sendall(raw)
        data = b""
        while True:
            try:
                d = s.recv(4096)
            except (ConnectionResetError, socket.timeout):
                return data, False
            if not d:
                return data, True
            data += d

    def check(self, data, closed, status, text):
        head, _, body = data.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 %d " % status), data)
        fields = dict(l.split(b": ", 1) for l in head.split(b"\r\n")[1:])
        self.assertEqual(fields.get(b"Content-Type"), b"text/plain", head)
        self.assertEqual(int(fields[b"Content-Length"]), len(body), data)
        self.assertEqual(fields.get(b"Connection"), b"close", head)
        self.assertTrue(closed, "left open after %r" % data)
        lines = body.decode().split("\n")
        self.assertEqual(lines[0].split(" ")[0], str(status), body)
        self.assertEqual(lines[1], text, body)
        self.assertEqual(lines[2:], [""], body)

    def backlog_full(self):
        """A port whose accept queue is full: SYNs to it are dropped, so a
        connect there waits until its timeout."""
        ls = socket.socket()
        ls.bind(("127.0.0.1", 0))
        ls.listen(0)
        self.addCleanup(ls.close)
        port = ls.getsockname()[1]
        fillers = []
        for _ in range(4):
            f = socket.socket()
            f.setblocking(False)
            f.connect_ex(("127.0.0.1", port))
            fillers.append(f)
            self.addCleanup(f.close)
        time.sleep(0.2)
        return port

    def test_dns_connect_and_timeout_failures_told_apart(self):
        import json
        log = os.path.join(self.dir, "access.json")
        p = self.rp("--access-log", log, "--log-format", "json",
                    "--connect-timeout", "700ms")
        dead = free_port()
        slow = self.backlog_full()
        cases = [
            ("nx.invalid", 443, 502, "cannot resolve nx.invalid:%d: no such name (NXDOMAIN)"),
            ("noaddr.test", 8080, 502, "cannot resolve noaddr.test:%d: the name has no "
             "address (no A or AAAA record)"),
            ("servfail.test", 80, 502, "cannot resolve servfail.test:%d: the DNS servers "
             "failed or refused to answer (SERVFAIL, REFUSED or unreachable)"),
            ("127.0.0.1", dead, 502, "cannot connect to 127.0.0.1:%d: Connection refused"),
            ("origin.test", dead, 502, "cannot connect to origin.test:%d (127.0.0.1:%d): "
             "Connection refused"),
            ("127.0.0.1", slow, 504, "cannot connect to 127.0.0.1:%d: no answer within "
             "700 ms"),
        ]
        want_log = []
        for host, port, status, text in cases:
            text = text % ((port,) * text.count("%d"))
            with self.subTest(host=host, port=port, form="CONNECT"):
                data, closed = self.answer(
                    p, b"CONNECT %s:%d HTTP/1.1\r\nHost: x\r\n\r\n" % (host.encode(), port))
                self.check(data, closed, status, text)
                want_log.append(("CONNECT", "%s:%d" % (host, port), status, text))
            with self.subTest(host=host, port=port, form="absolute"):
                url = "http://%s:%d/f" % (host, port)
                data, closed = self.answer(
                    p, b"GET %s HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (url.encode(),
                                                                      host.encode(), port))
                self.check(data, closed, status, text)
                want_log.append(("GET", url, status, text))
        # SOCKS keeps its codes: host unreachable, connection refused, TTL
        # expired (a timeout, as Dante and microsocks answer)
        for target, port, rep in ((b"nx.invalid", 443, 4), (b"servfail.test", 80, 4),
                                  ("127.0.0.1", dead, 5), (b"origin.test", dead, 5),
                                  ("127.0.0.1", slow, 6)):
            with self.subTest(socks5=target):
                self.assertEqual(self.socks5(p, target, port)[0], rep)
        s = self.connect(p)
        s.sendall(b"\x04\x01" + struct.pack("!H", dead) + b"\x00\x00\x00\x01\x00"
                  b"origin.test\x00")
        self.assertEqual(recv_exact(s, 8)[:2], b"\x00\x5b")
        self.stop(p)
        with open(log) as f:
            recs = [json.loads(l) for l in f if l.strip()]
        got = [(r["method"], r["target"], r["status"], r["error"]) for r in recs
               if r["method"] in ("CONNECT", "GET")]
        self.assertEqual(got, want_log)
        socks = [r for r in recs if r["method"] in ("SOCKS5", "SOCKS4")]
        self.assertEqual(len(socks), 6, recs)
        self.assertEqual([r["status"] for r in socks], [502, 502, 502, 502, 504, 502])
        self.assertIn("no such name (NXDOMAIN)", socks[0]["error"])
        # counted without the log too: every answer by its class
        st = p.stats()
        self.assertEqual(st.get("5xx"), len(want_log) + 6, st)
        self.assertIn("Connection refused", socks[2]["error"])
        # the connect failures name the address tried in the backend field
        self.assertEqual(socks[2]["backend"], "127.0.0.1:%d" % dead)

    def test_parent_that_refuses_the_connect(self):
        dead = free_port()
        for kind in ("http", "socks5"):
            with self.subTest(parent=kind):
                p = self.rp("--parent", "%s://127.0.0.1:%d" % (kind, dead))
                text = ("cannot connect to the parent proxy 127.0.0.1:%d for "
                        "far.example:443: Connection refused" % dead)
                data, closed = self.answer(
                    p, b"CONNECT far.example:443 HTTP/1.1\r\nHost: x\r\n\r\n")
                self.check(data, closed, 502, text)
                self.assertEqual(self.socks5(p, b"far.example", 443)[0], 5)
                if kind == "http":
                    data, closed = self.answer(
                        p, b"GET http://far.example:443/ HTTP/1.1\r\nHost: x\r\n\r\n")
                    self.check(data, closed, 502, text)

    def test_combined_log_has_the_reason(self):
        log = os.path.join(self.dir, "access.log")
        p = self.rp("--access-log", log)
        data, closed = self.answer(p, b"GET http://nx.invalid/ HTTP/1.1\r\nHost: nx.invalid\r\n\r\n")
        self.check(data, closed, 502, "cannot resolve nx.invalid:80: no such name (NXDOMAIN)")
        self.stop(p)
        with open(log) as f:
            lines = [l for l in f if l.strip()]
        self.assertEqual(len(lines), 1, lines)
        self.assertIn('"GET http://nx.invalid/ HTTP/1.1" 502 ', lines[0])
        self.assertTrue(lines[0].rstrip("\n").endswith(
            ' err="cannot resolve nx.invalid:80: no such name (NXDOMAIN)"'), lines[0])


class T7AbsoluteForm(Base):
    """Plain HTTP through the proxy: GET http://host/path."""

    def raw_requests(self, p, reqs):
        """Sends each request on one keep-alive client connection; the
        responses' status lines and bodies."""
        from httpsupport import Client
        out = []
        with Client(p.port) as c:
            for method, target, headers in reqs:
                c.send(("%s %s HTTP/1.1\r\n" % (method, target)).encode() +
                       b"".join(b"%s: %s\r\n" % (k.encode(), v.encode())
                                for k, v in headers) + b"\r\n")
                resp = c.response()
                out.append((resp.status, resp.body))
        return out

    def test_curl_and_keepalive_to_the_origin(self):
        b = self.origin()
        p = self.rp()
        code, out, err = self.curl("-x", "http://127.0.0.1:%d" % p.port,
                                   "http://origin.test:%d/plain?q=1" % b.port)
        self.assertEqual(code, 0, err)
        self.assertIn(b"target=/plain?q=1", out)
        host = "origin.test:%d" % b.port
        got = self.raw_requests(p, [("GET", "http://%s/k%d" % (host, i),
                                     [("Host", host)]) for i in range(5)])
        self.assertEqual([s for s, _ in got], [200] * 5)
        # the origin saw origin-form targets over reused connections
        self.assertEqual([r.target for r in b.requests[-5:]],
                         ["/k%d" % i for i in range(5)])
        self.assertLessEqual(b.nconns, 2)
        for r in b.requests:
            self.assertIsNone(r.headers.get("proxy-connection"))

    def test_keepalive_after_idle(self):
        # An idle absolute-form client (the HTTP half's, parked between
        # requests) is served again, its address still known.
        from httpsupport import Client
        b = self.origin()
        p = self.rp("--anonymity", "transparent")
        host = "origin.test:%d" % b.port
        with Client(p.port) as c:
            for i in range(3):
                c.send(b"GET http://%s/idle%d HTTP/1.1\r\nHost: %s\r\n\r\n"
                       % (host.encode(), i, host.encode()))
                self.assertEqual(c.response().status, 200)
                time.sleep(0.4)
        self.assertEqual([r.target for r in b.requests[-3:]],
                         ["/idle%d" % i for i in range(3)])
        self.assertEqual([r.headers.get("x-forwarded-for") for r in b.requests[-3:]],
                         ["127.0.0.1"] * 3)

    def headers_seen(self, level, sent=()):
        b = self.origin()
        p = self.rp("--anonymity", level)
        host = "origin.test:%d" % b.port
        got = self.raw_requests(p, [("GET", "http://%s/h" % host,
                                     [("Host", host), ("Proxy-Connection", "keep-alive")] +
                                     list(sent))])
        self.assertEqual(got[0][0], 200)
        return b.requests[-1].headers

    def test_anonymity_levels(self):
        h = self.headers_seen("transparent")
        self.assertEqual(h.get("x-forwarded-for"), "127.0.0.1")
        self.assertIn("ringproxy", h.get("via") or "")
        h = self.headers_seen("anonymous")
        self.assertIsNone(h.get("x-forwarded-for"))
        self.assertIn("ringproxy", h.get("via") or "")
        h = self.headers_seen("elite", sent=(("Via", "1.1 upstream"),
                                             ("X-Forwarded-For", "10.9.9.9"),
                                             ("Forwarded", "for=10.9.9.9"),
                                             ("Proxy-Authorization", "Basic eDp5")))
        for name in ("via", "x-forwarded-for", "forwarded", "proxy-connection",
                     "proxy-authorization"):
            self.assertIsNone(h.get(name), name)

    def test_auth_policy_and_errors(self):
        b = self.origin()
        users = T3Auth.users(self, b"bob", b"pw")
        p = self.rp("--users", users, "--deny-dest", "other.test")
        host = "origin.test:%d" % b.port
        cred = ("Proxy-Authorization", "Basic Ym9iOnB3")  # bob:pw
        self.assertEqual(self.raw_requests(p, [("GET", "http://%s/" % host,
                                                [("Host", host)])])[0][0], 407)
        self.assertEqual(self.raw_requests(p, [("GET", "http://%s/" % host,
                                                [("Host", host), cred])])[0][0], 200)
        self.assertEqual(self.raw_requests(p, [("GET", "http://other.test/",
                                                [("Host", "other.test"), cred])])[0][0], 403)
        dead = free_port()
        self.assertEqual(self.raw_requests(p, [("GET", "http://127.0.0.1:%d/" % dead,
                                                [("Host", "127.0.0.1:%d" % dead),
                                                 cred])])[0][0], 502)

    def test_body_limit_default_and_zero(self):
        """Absolute-form requests get the HTTP path's body limit: 1 GiB by
        default, a Content-Length over it refused before the origin hears
        of it; exactly the limit, or anything with --max-body 0, goes on."""
        b = self.origin()
        host = "origin.test:%d" % b.port
        p = self.rp()
        got = self.raw_requests(p, [("POST", "http://%s/up" % host,
                                     [("Host", host),
                                      ("Content-Length", str((1 << 30) + 1))])])
        self.assertEqual(got[0][0], 413)
        self.assertEqual(b.total_bytes, 0)
        for opts, length in (((), 1 << 30), (("--max-body", "0"), 1 << 40)):
            with self.subTest(opts=opts):
                p = self.rp(*opts)
                s = self.connect(p)
                s.sendall(b"POST http://%s/up HTTP/1.1\r\nHost: %s\r\n"
                          b"Content-Length: %d\r\n\r\nabc"
                          % (host.encode(), host.encode(), length))
                want = b"content-length: %d" % length
                deadline = time.monotonic() + 5
                while (want not in b.raw_all().lower() and
                       time.monotonic() < deadline):
                    time.sleep(0.02)
                self.assertIn(want, b.raw_all().lower())
                s.close()

    def test_ssrf_on_absolute_form(self):
        b = self.origin()
        p = self.rp(allow_loopback=False)
        host = "origin.test:%d" % b.port
        self.assertEqual(self.raw_requests(p, [("GET", "http://%s/" % host,
                                                [("Host", host)])])[0][0], 403)
        self.assertEqual(len(b.requests), 0)
        self.stop(p)
        st = p.stats()
        self.assertEqual(st.get("denied"), 1, st)
        self.assertEqual(st.get("bad_requests"), 0, st)


class T7DefaultPort(Base):
    """siege, ab and aria2c put the default port in an absolute-form target
    ("GET http://h:80/x") and leave it out of Host ("Host: h"): one
    authority (RFC 9110 section 4.2.3), and a proxy ignores Host anyway (RFC
    9112 section 3.2.2). The origin must listen on port 80 for that, so it
    takes a loopback address of its own."""

    BODY = bytes(range(256)) * 16  # 4096 bytes

    def origin80(self):
        """A recording origin on 127.80.X.Y:80 named port80.test in the hosts
        file, answering every request with BODY."""
        import random

        def handler(backend, conn, req):
            return (b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                    b"Content-Length: %d\r\n\r\n" % len(self.BODY) +
                    (b"" if req.method == "HEAD" else self.BODY))
        err = None
        for _ in range(20):
            addr = "127.80.%d.%d" % (random.randint(0, 255), random.randint(1, 254))
            try:
                b = Backend("origin80", handler=handler, host=addr, port=80)
            except OSError as e:  # taken, or not root
                err = e
                continue
            self.addCleanup(b.stop)
            with open(self.hosts, "a") as f:
                f.write("%s port80.test\n" % addr)
            return b
        self.fail("no loopback address with port 80 free to bind: %s" % err)

    def check_origin_saw(self, b, n, path):
        reqs = [r for r in b.requests if r.target == path]
        self.assertEqual(len(reqs), n, b.requests)
        for r in reqs:
            # origin-form, and Host from the target without the default port
            self.assertEqual(r.headers.get_all("host"), ["port80.test"])
        self.assertEqual(b.errors, [])

    def test_siege(self):
        if not have("siege"):
            self.fail("siege is not installed (scripts/deps.sh test installs it)")
        b = self.origin80()
        p = self.rp()
        home = os.path.join(self.dir, "siege")
        os.makedirs(home)
        rc = os.path.join(home, "siegerc")
        with open(rc, "w") as f:
            f.write("proxy-host = 127.0.0.1\nproxy-port = %d\nprotocol = HTTP/1.1\n"
                    "connection = keep-alive\nshow-logfile = false\nlogging = false\n"
                    % p.port)
        # siege writes the port into the target whether the URL has it or not
        r = subprocess.run(["siege", "-R", rc, "-c", "2", "-r", "5", "-v",
                            "http://port80.test/sg"], capture_output=True, timeout=60,
                           env=dict(os.environ, HOME=home))
        out = (r.stdout + r.stderr).decode("utf-8", "replace")
        import re
        lines = re.findall(r"HTTP/1\.1 (\d+) +[\d.]+ secs: +(\d+) bytes ==> GET +/sg", out)
        self.assertEqual(len(lines), 10, out)
        self.assertEqual(set(lines), {("200", str(len(self.BODY)))}, out)
        m = re.search(r"Successful transactions:\s+(\d+)", out)
        self.assertTrue(m and int(m.group(1)) == 10, out)
        m = re.search(r"Failed transactions:\s+(\d+)", out)
        self.assertTrue(m and int(m.group(1)) == 0, out)
        self.check_origin_saw(b, 10, "/sg")

    def test_ab(self):
        if not have("ab"):
            self.fail("ab is not installed (apache2-utils; scripts/deps.sh test)")
        b = self.origin80()
        p = self.rp()
        for keepalive in (False, True):
            with self.subTest(keepalive=keepalive):
                path = "/ab-k" if keepalive else "/ab"
                r = subprocess.run(["ab", "-n", "20", "-c", "2"] +
                                   (["-k"] if keepalive else []) +
                                   ["-X", "127.0.0.1:%d" % p.port,
                                    "http://port80.test:80" + path],
                                   capture_output=True, timeout=60)
                out = r.stdout.decode("utf-8", "replace")
                self.assertEqual(r.returncode, 0, out + r.stderr.decode())
                self.assertRegex(out, r"Complete requests:\s+20\n")
                self.assertRegex(out, r"Failed requests:\s+0\n")
                self.assertNotIn("Non-2xx responses", out)
                self.assertRegex(out, r"Document Length:\s+%d bytes" % len(self.BODY))
                self.assertRegex(out, r"HTML transferred:\s+%d bytes" %
                                 (20 * len(self.BODY)))
                self.check_origin_saw(b, 20, path)

    def test_aria2c(self):
        if not have("aria2c"):
            self.fail("aria2c is not installed (aria2; scripts/deps.sh test installs it)")
        b = self.origin80()
        p = self.rp()
        r = subprocess.run(["aria2c", "--all-proxy=http://127.0.0.1:%d" % p.port,
                            "--no-conf", "-d", self.dir, "-o", "got", "--max-tries=1",
                            "--console-log-level=warn", "--summary-interval=0",
                            "http://port80.test:80/aria"], capture_output=True, timeout=60)
        out = (r.stdout + r.stderr).decode("utf-8", "replace")
        self.assertEqual(r.returncode, 0, out)
        self.assertRegex(out, r"\|OK\s+\|")
        with open(os.path.join(self.dir, "got"), "rb") as f:
            self.assertEqual(sha256(f.read()), sha256(self.BODY))
        self.check_origin_saw(b, 1, "/aria")

    def test_host_naming_another_authority_is_ignored(self):
        b = self.origin80()
        p = self.rp()
        from httpsupport import Client
        with Client(p.port) as c:
            c.send(b"GET http://port80.test:80/other HTTP/1.1\r\nHost: elsewhere.test\r\n\r\n")
            resp = c.response()
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.body, self.BODY)
        self.check_origin_saw(b, 1, "/other")


class T0Default(Base):
    def test_no_arguments_is_a_forward_proxy_on_3128(self):
        with socket.socket() as probe:
            # (TIME_WAIT left by an earlier run does not stop a listener)
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", 3128))
            except OSError:
                self.fail("127.0.0.1:3128 is taken: the embedded default needs it")
        p = RingProxy(RINGPROXY, [], self.dir, 1)
        self.addCleanup(self.stop, p)
        p.wait_ready()
        err = p.stderr()
        self.assertIn("listening on 127.0.0.1:3128 (forward", err)
        self.assertIn("curl -x http://127.0.0.1:3128", err)
        p.port = 3128
        # the SSRF guard is on: loopback is refused
        rep, s = self.socks5(p, "127.0.0.1", 9)
        self.assertEqual(rep, 2)


class T8Parent(Base):
    """Chaining through a second ringproxy instance."""

    def test_http_parent_tunnels_and_absolute_form(self):
        b = self.origin()
        e = self.echo()
        parent = self.rp()
        child = self.rp("--parent", "http://127.0.0.1:%d" % parent.port)
        # CONNECT through the child, tunnelled by the parent
        code, out, err = self.curl("-p", "-x", "http://127.0.0.1:%d" % child.port,
                                   "http://origin.test:%d/t" % b.port)
        self.assertEqual(code, 0, err)
        self.assertIn(b"target=/t", out)
        # SOCKS5 to the child, CONNECT to the parent, with an address target
        rep, s = self.socks5(child, "127.0.0.1", e.port)
        self.assertEqual(rep, 0)
        s.sendall(b"through")
        self.assertEqual(recv_exact(s, 7), b"through")
        # plain HTTP: the child sends the absolute form to the parent
        code, out, err = self.curl("-x", "http://127.0.0.1:%d" % child.port,
                                   "http://origin.test:%d/abs" % b.port)
        self.assertEqual(code, 0, err)
        self.assertIn(b"target=/abs", out)
        heads = [r.raw_head for r in b.requests if r.target == "/abs"]
        self.assertEqual(len(heads), 1)
        self.assertEqual(heads[0].lower().count(b"via: 1.1 ringproxy"), 2, heads)  # both hops
        self.stop(parent)
        st = parent.stats()
        self.assertGreaterEqual(st.get("requests", 0), 3)

    def test_ssrf_guard_on_address_targets_through_a_parent(self):
        """The parent resolves names, but an address target is ours to
        judge: a dotted quad in CONNECT or in an absolute-form URL too."""
        e = self.echo()
        b = self.origin()
        parent = self.rp()  # would let loopback through
        for kind in ("http", "socks5"):
            with self.subTest(parent=kind):
                child = self.rp("--parent", "%s://127.0.0.1:%d" % (kind, parent.port),
                                allow_loopback=False)
                s = self.connect(child)
                s.sendall(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: x\r\n\r\n" % e.port)
                resp = s.recv(1000)
                self.assertTrue(resp.startswith(b"HTTP/1.1 403"), resp)
                self.assertIn(b"loopback", resp)
                rep, s = self.socks5(child, "127.0.0.1", e.port)
                self.assertEqual(rep, 2)
        child = self.rp("--parent", "http://127.0.0.1:%d" % parent.port,
                        allow_loopback=False)
        from httpsupport import Client
        with Client(child.port) as c:
            c.send(b"GET http://127.0.0.1:%d/x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % b.port)
            self.assertEqual(c.response().status, 403)
        self.assertEqual(e.conns, 0)
        self.assertEqual(len(b.requests), 0)

    def test_socks5_parent(self):
        e = self.echo()
        parent = self.rp()
        child = self.rp("--parent", "socks5://127.0.0.1:%d" % parent.port)
        s = self.connect(child)
        s.sendall(b"CONNECT origin.test:%d HTTP/1.1\r\nHost: x\r\n\r\nearly" % e.port)
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(1)
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
        self.assertEqual(recv_exact(s, 5), b"early")
        # the parent's refusal becomes ours, its code passed on
        rep, s = self.socks5(child, b"no-such-name.test", 80)
        self.assertEqual(rep, 4)


class MuteParent:
    """A parent proxy that accepts and never says a word (it reads what it
    is sent, so that nothing but silence stalls the handshake)."""

    def __init__(self):
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(16)
        self.port = self.ls.getsockname()[1]
        self.conns = []
        self.stopping = False
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while not self.stopping:
            try:
                s, _ = self.ls.accept()
            except OSError:
                return
            self.conns.append(s)
            threading.Thread(target=self._drain, args=(s,), daemon=True).start()

    def _drain(self, s):
        try:
            while s.recv(4096):
                pass
        except OSError:
            pass

    def stop(self):
        self.stopping = True
        self.ls.close()
        for s in self.conns:
            s.close()


class T8RealParents(Base):
    """microsocks and tinyproxy as parents, curl as the client through
    CONNECT, absolute-form and SOCKS5. Both resolve with the system's
    resolver, which knows nothing of the test's hosts file: targets are
    addresses."""

    def microsocks(self, user=None, password=None):
        if not have("microsocks"):
            self.fail("microsocks is not installed (scripts/deps.sh test installs it)")
        port = free_port()
        argv = ["microsocks", "-i", "127.0.0.1", "-p", str(port)]
        if user:
            argv += ["-u", user, "-P", password]
        m = Proc(argv, self.dir, "microsocks-%d" % port)
        self.addCleanup(m.kill)
        wait_listening("127.0.0.1", port, proc=m)
        return port

    def tinyproxy(self, auth=None):
        if not have("tinyproxy"):
            self.fail("tinyproxy is not installed (scripts/deps.sh test installs it)")
        port = free_port()
        d = os.path.join(self.dir, "tinyproxy-%d" % port)
        os.makedirs(d)
        conf = os.path.join(d, "tinyproxy.conf")
        with open(conf, "w") as f:
            # no ConnectPort line: CONNECT to any port (the origins' are
            # random); no Allow line: any client
            f.write("Port %d\nListen 127.0.0.1\nTimeout 30\nMaxClients 32\n"
                    "LogLevel Info\nLogFile \"%s/log\"\nPidFile \"%s/pid\"\n"
                    "DisableViaHeader No\n" % (port, d, d))
            if auth:
                f.write("BasicAuth %s %s\n" % auth)
        t = Proc(["tinyproxy", "-d", "-c", conf], self.dir, "tinyproxy-%d" % port)
        self.addCleanup(t.kill)
        wait_listening("127.0.0.1", port, proc=t)
        return port

    def through(self, child, origin):
        """curl through @child by CONNECT, absolute-form and SOCKS5: the
        exit code, status and body of each."""
        url = "http://127.0.0.1:%d/via" % origin.port
        px = "127.0.0.1:%d" % child.port
        out = {}
        for name, args in (("connect", ["-p", "-x", "http://" + px]),
                           ("absolute", ["-x", "http://" + px]),
                           ("socks5", ["--socks5", px])):
            code, body, err = self.curl(*(args + ["-w", "\n%{http_code}", url]))
            status = body.rsplit(b"\n", 1)[-1]
            out[name] = (code, int(status) if status.isdigit() else 0,
                         body.rsplit(b"\n", 1)[0], err)
        return out

    def test_microsocks(self):
        b = self.origin()
        for auth in (None, ("bob", "p@ss:w0rd")):
            with self.subTest(auth=auth):
                port = self.microsocks(*(auth or ()))
                cred = ""
                if auth:
                    import urllib.parse
                    cred = "%s:%s@" % (auth[0], urllib.parse.quote(auth[1], safe=""))
                child = self.rp("--parent", "socks5://%s127.0.0.1:%d" % (cred, port))
                got = self.through(child, b)
                for name in ("connect", "socks5"):
                    code, status, body, err = got[name]
                    self.assertEqual((code, status), (0, 200), (name, err))
                    self.assertIn(b"target=/via", body)
                # plain HTTP cannot go through a SOCKS5 parent: a clear 501
                self.assertEqual(got["absolute"][1], 501, got["absolute"])

    def test_microsocks_refusing_us(self):
        b = self.origin()
        port = self.microsocks("bob", "pw")
        for parent, why in (("socks5://127.0.0.1:%d" % port, b"no credentials"),
                            ("socks5://bob:nope@127.0.0.1:%d" % port,
                             b"refused our username/password")):
            with self.subTest(parent=parent):
                child = self.rp("--parent", parent)
                s = self.connect(child)
                s.sendall(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: x\r\n\r\n" % b.port)
                resp = s.recv(1000)
                self.assertTrue(resp.startswith(b"HTTP/1.1 502"), resp)
                self.assertIn(why, resp)
                rep, s = self.socks5(child, "127.0.0.1", b.port)
                self.assertEqual(rep, 1)

    def test_tinyproxy(self):
        b = self.origin()
        for auth in (None, ("alice", "s3cret")):
            with self.subTest(auth=auth):
                port = self.tinyproxy(auth)
                cred = "%s:%s@" % auth if auth else ""
                child = self.rp("--parent", "http://%s127.0.0.1:%d" % (cred, port))
                got = self.through(child, b)
                for name in ("connect", "absolute", "socks5"):
                    code, status, body, err = got[name]
                    self.assertEqual((code, status), (0, 200), (name, err))
                    self.assertIn(b"target=/via", body)
                # the absolute form went through tinyproxy: its Via and ours
                via = [r.headers.get("via") or "" for r in b.requests
                       if r.target == "/via"]
                self.assertTrue(any("tinyproxy" in v and "ringproxy" in v for v in via),
                                via)
                for r in b.requests:
                    self.assertIsNone(r.headers.get("proxy-authorization"))

    def test_tinyproxy_wants_credentials_we_lack(self):
        b = self.origin()
        port = self.tinyproxy(("alice", "s3cret"))
        child = self.rp("--parent", "http://127.0.0.1:%d" % port)
        s = self.connect(child)
        s.sendall(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: x\r\n\r\n" % b.port)
        resp = s.recv(1000)
        self.assertTrue(resp.startswith(b"HTTP/1.1 502"), resp)
        self.assertIn(b"407", resp)

    def test_parent_that_never_answers(self):
        """504 to HTTP clients, a SOCKS failure reply to SOCKS ones, at the
        parent timeout (and not the handshake's 25 s)."""
        mute = MuteParent()
        self.addCleanup(mute.stop)
        http = self.rp("--parent", "http://127.0.0.1:%d" % mute.port,
                       "--parent-timeout", "1s")
        socks = self.rp("--parent", "socks5://127.0.0.1:%d" % mute.port,
                        "--parent-timeout", "1s")

        def timed(fn):
            t0 = time.monotonic()
            out = fn()
            return out, time.monotonic() - t0

        def http_req(p, raw):
            s = self.connect(p)
            s.settimeout(10)
            s.sendall(raw)
            data = b""
            while True:
                try:
                    d = s.recv(4096)
                except (ConnectionResetError, socket.timeout):
                    break
                if not d:
                    break
                data += d
            return data

        for p in (http, socks):
            with self.subTest(parent=p is http and "http" or "socks5"):
                resp, dt = timed(lambda: http_req(
                    p, b"CONNECT far.example:443 HTTP/1.1\r\nHost: x\r\n\r\n"))
                self.assertTrue(resp.startswith(b"HTTP/1.1 504"), resp)
                self.assertIn(b"no answer within 1000 ms", resp)
                self.assertTrue(0.8 <= dt < 3, dt)
                (rep, s), dt = timed(lambda: self.socks5(p, b"far.example", 443))
                self.assertEqual(rep, 4)
                self.assertTrue(0.8 <= dt < 3, dt)
                # SOCKS4a: rejected, the one failure code it has
                s = self.connect(p)
                t0 = time.monotonic()
                s.sendall(b"\x04\x01\x01\xbb\x00\x00\x00\x01\x00far.example\x00")
                self.assertEqual(recv_exact(s, 8)[:2], b"\x00\x5b")
                self.assertTrue(0.8 <= time.monotonic() - t0 < 3)
        # plain HTTP through the mute HTTP parent: 504 as well
        resp, dt = timed(lambda: http_req(
            http, b"GET http://far.example/x HTTP/1.1\r\nHost: far.example\r\n\r\n"))
        self.assertTrue(resp.startswith(b"HTTP/1.1 504"), resp)
        self.assertIn(b"\nno response from the parent proxy 127.0.0.1:%d within 1000 ms\n"
                      % mute.port, resp)
        self.assertTrue(0.8 <= dt < 3, dt)


class T9Clients(Base):
    def test_nginx_origin_files_through_every_protocol(self):
        if not have("nginx"):
            self.fail("nginx is not installed (scripts/deps.sh test installs it)")
        root = os.path.join(self.dir, "www")
        os.makedirs(root)
        big = os.urandom(3 << 20)
        with open(os.path.join(root, "big"), "wb") as f:
            f.write(big)
        ng = Nginx(self.dir, root)
        self.addCleanup(ng.kill)
        p = self.rp()
        url = "http://origin.test:%d/big" % ng.port
        proxy = "127.0.0.1:%d" % p.port
        for args in (["-x", "http://" + proxy], ["-p", "-x", "http://" + proxy],
                     ["--socks5-hostname", proxy], ["--socks4a", proxy]):
            with self.subTest(args[0]):
                code, out, err = self.curl(*(args + [url]))
                self.assertEqual(code, 0, err)
                self.assertEqual(sha256(out), sha256(big))

    def test_python_urllib_proxy_handler(self):
        import urllib.request
        b = self.origin()
        p = self.rp()
        opener = urllib.request.build_opener(urllib.request.ProxyHandler(
            {"http": "http://127.0.0.1:%d" % p.port}))
        with opener.open("http://origin.test:%d/urllib" % b.port, timeout=10) as r:
            self.assertEqual(r.status, 200)
            self.assertIn(b"target=/urllib", r.read())

    def test_denials_are_answered_with_a_reason_and_logged(self):
        import json
        e = self.echo()
        log = os.path.join(self.dir, "access.json")
        p = self.rp("--access-log", log, "--log-format", "json", allow_loopback=False)
        s = self.connect(p)
        s.sendall(b"CONNECT 10.1.2.3:443 HTTP/1.1\r\nHost: x\r\n\r\n")
        resp = s.recv(1000)
        self.assertTrue(resp.startswith(b"HTTP/1.1 403"), resp)
        self.assertIn(b"private", resp)
        rep, s = self.socks5(p, "127.0.0.1", e.port)
        self.assertEqual(rep, 2)
        self.stop(p)
        with open(log) as f:
            recs = [json.loads(l) for l in f if l.strip()]
        self.assertEqual([(r["method"], r["target"], r["status"]) for r in recs],
                         [("CONNECT", "10.1.2.3:443", 403),
                          ("SOCKS5", "127.0.0.1:%d" % e.port, 403)])
        self.assertIn("loopback", recs[1]["error"])
        self.assertIn("private", recs[0]["error"])


class T6BadInput(Base):
    def expect_closed_with(self, p, data, prefix):
        s = self.connect(p)
        s.sendall(data)
        got = b""
        s.settimeout(3)
        try:
            while True:
                d = s.recv(4096)
                if not d:
                    break
                got += d
        except (ConnectionResetError, socket.timeout):
            pass
        self.assertTrue(got.startswith(prefix), (data[:40], got[:80]))

    def test_malformed(self):
        p = self.rp()
        cases = [
            (b"CONNECT nohostport HTTP/1.1\r\nHost: x\r\n\r\n", b"HTTP/1.1 400"),
            (b"CONNECT :80 HTTP/1.1\r\nHost: x\r\n\r\n", b"HTTP/1.1 400"),
            (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"HTTP/1.1 400"),
            (b"GET ftp://x/ HTTP/1.1\r\nHost: x\r\n\r\n", b"HTTP/1.1 501"),
            (b"GET https://x/ HTTP/1.1\r\nHost: x\r\n\r\n", b"HTTP/1.1 501"),
            (b"\x05\x00", b"\x05\xff"),                       # no methods
            (b"\x05\x01\x00\x05\x01\x00\x09", b"\x05\x00\x05\x08"),  # bad atyp
            (b"\x05\x01\x00\x04\x01\x00\x01", b"\x05\x00\x05\x01"),  # version mismatch
            (b"\x04\x01\x00\x50\x00\x00\x00\x01" + b"u" * 300, b"\x00\x5b"),  # userid
        ]
        for data, prefix in cases:
            with self.subTest(data=data[:20]):
                self.expect_closed_with(p, data, prefix)
        # a truncated handshake is closed at the deadline, not kept forever
        self.assertTrue(p.alive())


def main():
    global RINGPROXY
    RINGPROXY, argv = ringproxy_arg(sys.argv, RINGPROXY)
    run_tests(argv)


if __name__ == "__main__":
    main()

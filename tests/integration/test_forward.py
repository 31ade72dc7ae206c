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

from httpsupport import (Backend, EchoServer, Nginx, RingProxy, TempDir, free_port,
                         have_ipv6, run_tests, sha256)

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

    def rp(self, *opts, allow_loopback=True):
        port = free_port()
        args = ["forward", "--listen", "127.0.0.1:%d" % port, "--reactors", "1",
                "--drain-timeout", "2s", "--hosts-file", self.hosts]
        if allow_loopback:
            args += ["--allow-dest", "127.0.0.0/8"]
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
        self.assertTrue(s.recv(100).startswith(b"HTTP/1.1 504"))
        self.assertLess(time.monotonic() - t0, 4)
        rep, s = self.socks5(p, b"slow2.example", 443)
        self.assertEqual(rep, 4)


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

    def test_ssrf_on_absolute_form(self):
        b = self.origin()
        p = self.rp(allow_loopback=False)
        host = "origin.test:%d" % b.port
        self.assertEqual(self.raw_requests(p, [("GET", "http://%s/" % host,
                                                [("Host", host)])])[0][0], 403)
        self.assertEqual(len(b.requests), 0)


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
        # the parent's refusal becomes ours
        rep, s = self.socks5(child, b"no-such-name.test", 80)
        self.assertEqual(rep, 1)


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
        recs = [json.loads(l) for l in open(log) if l.strip()]
        self.assertEqual([(r["method"], r["target"], r["status"]) for r in recs],
                         [("CONNECT", "10.1.2.3:443", 403),
                          ("SOCKS5", "127.0.0.1:%d" % e.port, 403)])
        self.assertIn("loopback", recs[1]["backend"])


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
    argv = list(sys.argv)
    if "--ringproxy" in argv:
        i = argv.index("--ringproxy")
        RINGPROXY = os.path.abspath(argv[i + 1])
        del argv[i:i + 2]
    run_tests(argv)


if __name__ == "__main__":
    main()

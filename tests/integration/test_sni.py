#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_sni.py - SNI passthrough end to end on loopback: tcp listeners that
route TLS connections by the server name of their ClientHello without
terminating TLS. The backends are one nginx with a TLS server per cluster,
each with its own self-signed certificate (openssl req) and a body naming
it; clients are curl (--resolve, --cacert: the certificate must verify, so
the handshake went to the right backend) and Python's ssl module (the exact
certificate each name reaches, a ClientHello without SNI), plus raw sockets
for what must be refused: plaintext HTTP, a truncated ClientHello, a client
that sends nothing until the sni timeout. Counters come from ringproxy's
"stats reactor=N tls ... sni_routed=N sni_failures=N" lines at exit.

    python3 test_sni.py --ringproxy PATH [unittest args]

Every socket has a timeout and every wait is bounded.
"""
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from httpsupport import (ringproxy_arg,   # noqa: E402
    Proc, RingProxy, TempDir, free_port, nginx_conf_extras, run_tests, sha256,
    wait_listening)

RINGPROXY = os.environ.get("RINGPROXY", "ringproxy")
BULK = 8 << 20
SNI_TIMEOUT_MS = 300

# name: (certificate subject and SAN, body of GET /name)
BACKENDS = {
    "a": "a.example",
    "b": "*.b.example",
    "fallback": "fallback.example",
    "pp": "pp.example",  # PROXY protocol on its listen socket
}


def have(cmd):
    from shutil import which
    return which(cmd) is not None


class World:
    """The certificates and the nginx backends, shared by every test."""

    def __init__(self):
        self.tmp = TempDir()
        self.dir = self.tmp.path
        self.ports = {}
        self.pem = {}
        self.der = {}
        for name, cn in BACKENDS.items():
            self.ports[name] = free_port()
            key = os.path.join(self.dir, name + ".key")
            pem = os.path.join(self.dir, name + ".pem")
            r = subprocess.run(
                ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", pem,
                 "-subj", "/CN=" + cn, "-addext", "subjectAltName=DNS:" + cn,
                 "-days", "2"], capture_output=True, timeout=30)
            if r.returncode:
                raise RuntimeError("openssl req: %s" % r.stderr.decode())
            self.pem[name] = pem
            with open(pem) as f:
                self.der[name] = ssl.PEM_cert_to_DER_cert(f.read())
        root = os.path.join(self.dir, "www")
        os.makedirs(root)
        self.big = os.urandom(BULK)
        with open(os.path.join(root, "big"), "wb") as f:
            f.write(self.big)
        os.chmod(root, 0o755)
        os.chmod(self.dir, 0o755)
        ndir = os.path.join(self.dir, "nginx")
        for d in ("tmp", "logs"):
            os.makedirs(os.path.join(ndir, d))
        servers = ""
        for name in BACKENDS:
            pp = " proxy_protocol" if name == "pp" else ""
            body = ("%s $proxy_protocol_addr" % name) if name == "pp" else name
            servers += """
    server {
        listen 127.0.0.1:%d ssl%s;
        ssl_certificate %s;
        ssl_certificate_key %s;
        root %s;
        location = /name { return 200 "%s\\n"; }
    }""" % (self.ports[name], pp, self.pem[name], self.pem[name][:-4] + ".key",
             root, body)
        conf = """
%(user)s
daemon off;
master_process on;
worker_processes 1;
pid %(dir)s/nginx.pid;
error_log %(dir)s/logs/error.log warn;
events { worker_connections 512; }
http {
    access_log off;
    %(extras)s
    default_type application/octet-stream;
    %(servers)s
}
""" % {"user": "user root;" if os.geteuid() == 0 else "", "dir": ndir,
       "extras": nginx_conf_extras(), "servers": servers}
        path = os.path.join(ndir, "nginx.conf")
        with open(path, "w") as f:
            f.write(conf)
        self.nginx = Proc(["nginx", "-p", ndir, "-e", os.path.join(ndir, "logs",
                                                                    "error.log"),
                           "-c", path], self.dir, "nginx")
        for name in BACKENDS:
            wait_listening("127.0.0.1", self.ports[name], proc=self.nginx)

    def close(self):
        self.nginx.kill()
        self.tmp.cleanup()


WORLD = None


def setUpModule():
    global WORLD
    for cmd in ("openssl", "nginx", "curl"):
        if not have(cmd):
            raise RuntimeError("%s is not installed (scripts/deps.sh test installs it)"
                               % cmd)
    WORLD = World()


def tearDownModule():
    if WORLD:
        WORLD.close()


def tls_get(port, sni, path="/name", timeout=5.0, prefix=b""):
    """A TLS GET through ringproxy with Python's ssl, verifying nothing:
    (DER of the server's certificate, response body). @sni None sends no
    server name; @prefix goes out in clear first (a PROXY header)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        if prefix:
            s.sendall(prefix)
        with ctx.wrap_socket(s, server_hostname=sni) as t:
            der = t.getpeercert(binary_form=True)
            t.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" %
                       (path, sni or "x")).encode())
            data = b""
            while True:
                try:
                    d = t.recv(65536)
                except ssl.SSLZeroReturnError:
                    break
                if not d:
                    break
                data += d
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise AssertionError("bad response: %r" % head[:200])
    return der, body


def tls_refused(port, sni, timeout=5.0):
    """True when ringproxy closes a TLS client during its handshake."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            with ctx.wrap_socket(s, server_hostname=sni):
                return False
        except socket.timeout:
            raise AssertionError("neither refused nor served within %.0fs" % timeout)
        except (ssl.SSLError, OSError):
            return True


def client_hello(sni="a.example"):
    """The bytes of a real ClientHello (Python's OpenSSL), sent nowhere."""
    return client_hello_alpn(sni, None)


def client_hello_alpn(sni, alpn):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if alpn:
        ctx.set_alpn_protocols(alpn)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=sni)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def big_alpn(n):
    """@n protocols of 250 bytes, then http/1.1 (which nginx picks): a
    ClientHello of about n * 250 bytes."""
    return ["p%03d" % i + "x" * 246 for i in range(n)] + ["http/1.1"]


def tls_get_trickled(port, sni, alpn, chunk, pause=0.01, timeout=5.0):
    """A TLS GET /name whose first flight (the ClientHello) goes out in
    @chunk-byte pieces @pause seconds apart, through a memory BIO: (DER of
    the server's certificate, response body)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(alpn)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=sni)
    deadline = time.monotonic() + timeout
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        first = True
        while time.monotonic() < deadline:
            try:
                obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                pass
            data = out.read()
            if first:
                for i in range(0, len(data), chunk):
                    s.sendall(data[i:i + chunk])
                    time.sleep(pause)
                first = False
            elif data:
                s.sendall(data)
            d = s.recv(65536)
            if not d:
                raise EOFError("closed during the handshake")
            inc.write(d)
        der = obj.getpeercert(binary_form=True)
        obj.write(b"GET /name HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" %
                  sni.encode())
        s.sendall(out.read())
        data = b""
        while time.monotonic() < deadline:
            try:
                d = obj.read(65536)
                if not d:
                    break
                data += d
            except ssl.SSLWantReadError:
                pending = out.read()
                if pending:
                    s.sendall(pending)
                d = s.recv(65536)
                if not d:
                    break
                inc.write(d)
            except ssl.SSLZeroReturnError:
                break
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise AssertionError("bad response: %r" % head[:200])
    return der, body


def closed_without_data(s, timeout):
    """(closed, seconds): whether the peer closed (EOF or reset) within
    @timeout without sending a byte; fails if it sent any."""
    t0 = time.monotonic()
    s.settimeout(timeout)
    try:
        d = s.recv(4096)
    except socket.timeout:
        return False, time.monotonic() - t0
    except ConnectionResetError:
        return True, time.monotonic() - t0
    if d:
        raise AssertionError("unexpected bytes: %r" % d[:100])
    return True, time.monotonic() - t0


class Base(unittest.TestCase):
    maxDiff = 4000

    def rp(self, listeners, extra=""):
        """ringproxy from a YAML file with @listeners (YAML text of list
        items, %(name)s for the port of each backend): its process, with the
        ports of its listeners in .ports."""
        ports = [free_port() for _ in listeners]
        items = ""
        for port, text in zip(ports, listeners):
            items += "  - bind: 127.0.0.1:%d\n" % port + text
        cfg = "reactors: 1\ndrain_timeout: 2s\n%slisteners:\n%sclusters:\n" % (extra,
                                                                             items)
        for name in BACKENDS:
            cfg += "  %s:\n    backends: [127.0.0.1:%d]\n" % (name, WORLD.ports[name])
            if name == "pp":
                cfg += "    send_proxy: v1\n"
        tmp = TempDir()
        self.addCleanup(tmp.cleanup)
        path = os.path.join(tmp.path, "sni.yaml")
        with open(path, "w") as f:
            f.write(cfg)
        r = subprocess.run([RINGPROXY, "check", "-c", path], capture_output=True,
                           timeout=10)
        self.assertEqual(r.returncode, 0, r.stderr.decode() + cfg)
        p = RingProxy(RINGPROXY, ["-c", path], tmp.path, len(listeners))
        self.addCleanup(self._kill, p)
        p.wait_ready()
        p.ports = ports
        return p

    def _kill(self, p):
        if p.alive():
            p.stop(signal.SIGTERM, 8.0)

    def rp_stop(self, p):
        """Stops ringproxy (TERM): its summed stats. Fails on sanitizer
        output or an exit that is not clean."""
        ok = p.stop(signal.SIGTERM, 8.0)
        rep = p.sanitizer_report()
        if rep:
            self.fail("sanitizer output in ringproxy's stderr:\n%s" % rep)
        self.assertTrue(ok, "ringproxy did not exit within 8s of SIGTERM")
        self.assertEqual(p.returncode, 0, p.stderr()[-3000:])
        return p.stats()

    def curl(self, port, name, cacert, path="/name", out=None):
        """curl https://@name:@port@path through ringproxy, @name resolved to
        127.0.0.1 and the certificate verified against @cacert."""
        args = ["curl", "-sS", "--max-time", "20", "--resolve",
                "%s:%d:127.0.0.1" % (name, port), "--cacert", cacert]
        if out:
            args += ["-o", out]
        r = subprocess.run(args + ["https://%s:%d%s" % (name, port, path)],
                           capture_output=True, timeout=30)
        return r


SNI = """    mode: tcp
    cluster: fallback
    sni:
      routes:
        - {name: a.example, cluster: a}
        - {name: "*.b.example", cluster: b}
      timeout: %dms
""" % SNI_TIMEOUT_MS

STRICT = """    mode: tcp
    sni:
      routes:
        - {name: a.example, cluster: a}
        - {name: "*.b.example", cluster: b}
      strict: true
      timeout: %dms
""" % SNI_TIMEOUT_MS


class T1Routing(Base):
    def test_names_reach_their_backends(self):
        p = self.rp([SNI])
        port = p.ports[0]
        # curl verifies each backend's certificate for the name it asked
        for name, cl in (("a.example", "a"), ("x.b.example", "b"),
                         ("fallback.example", "fallback")):
            r = self.curl(port, name, WORLD.pem[cl])
            self.assertEqual(r.returncode, 0, (name, r.stderr))
            self.assertEqual(r.stdout, cl.encode() + b"\n", name)
        # the exact certificate each name gets, and the body behind it
        cases = [("a.example", "a"), ("A.Example", "a"), ("x.b.example", "b"),
                 ("X-1.B.EXAMPLE", "b"),
                 ("b.example", "fallback"),      # the wildcard wants one label more
                 ("y.x.b.example", "fallback"),  # ...exactly one
                 ("aa.example", "fallback"), ("other.test", "fallback"),
                 (None, "fallback")]             # no SNI at all
        for sni, cl in cases:
            der, body = tls_get(port, sni)
            self.assertEqual(der, WORLD.der[cl], sni)
            self.assertEqual(body, cl.encode() + b"\n", sni)
        st = self.rp_stop(p)
        self.assertEqual(st.get("sni_routed"), 3 + len(cases))
        self.assertEqual(st.get("sni_failures", 0), 0)

    def test_strict_refuses_unknown_names_and_no_sni(self):
        p = self.rp([STRICT])
        port = p.ports[0]
        r = self.curl(port, "a.example", WORLD.pem["a"])
        self.assertEqual((r.returncode, r.stdout), (0, b"a\n"), r.stderr)
        der, body = tls_get(port, "z.b.example")
        self.assertEqual((der, body), (WORLD.der["b"], b"b\n"))
        self.assertTrue(tls_refused(port, "fallback.example"))
        self.assertTrue(tls_refused(port, "b.example"))
        self.assertTrue(tls_refused(port, None))
        r = self.curl(port, "other.example", WORLD.pem["fallback"])
        self.assertNotEqual(r.returncode, 0)
        st = self.rp_stop(p)
        self.assertEqual(st.get("sni_routed"), 2)
        self.assertEqual(st.get("sni_failures"), 4)

    def test_proxy_header_in_and_out(self):
        """accept_proxy: the client's PROXY header, then its ClientHello;
        send_proxy on the cluster: ours reaches nginx before the
        ClientHello (nginx answers with the address it read from it)."""
        p = self.rp([SNI.replace("cluster: fallback\n", "cluster: fallback\n"
                                 "    accept_proxy: true\n").replace(
            "- {name: a.example, cluster: a}",
            "- {name: pp.example, cluster: pp}\n        - {name: a.example, cluster: a}")])
        port = p.ports[0]
        hdr = b"PROXY TCP4 192.0.2.7 192.0.2.8 40000 443\r\n"
        der, body = tls_get(port, "pp.example", prefix=hdr)
        self.assertEqual((der, body), (WORLD.der["pp"], b"pp 192.0.2.7\n"))
        der, body = tls_get(port, "a.example", prefix=hdr)
        self.assertEqual((der, body), (WORLD.der["a"], b"a\n"))
        # the header and the ClientHello in one segment
        ctx_hello = client_hello("a.example")
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(hdr + ctx_hello)
            s.settimeout(5)
            d = s.recv(5)
            self.assertEqual(d[:1], b"\x16", "a TLS handshake record back")
        st = self.rp_stop(p)
        self.assertEqual(st.get("sni_routed"), 3)
        self.assertEqual(st.get("sni_failures", 0), 0)
        self.assertEqual(st.get("proxy_errors", 0), 0)


class T2Refused(Base):
    def test_plaintext_truncated_silent(self):
        p = self.rp([SNI])
        port = p.ports[0]
        # plaintext HTTP: refused on its first byte, nothing back
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: a.example\r\n\r\n")
            closed, t = closed_without_data(s, 5)
            self.assertTrue(closed)
            self.assertLess(t, 0.25 + SNI_TIMEOUT_MS / 1000)
        # garbage that looks like a record header but is not a handshake
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"\x17\x03\x03\x00\x10" + b"\0" * 16)
            self.assertTrue(closed_without_data(s, 5)[0])
        # a truncated ClientHello, then the client closes its side
        hello = client_hello("a.example")
        self.assertGreater(len(hello), 100)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(hello[:100])
            s.shutdown(socket.SHUT_WR)
            self.assertTrue(closed_without_data(s, 5)[0])
        # a truncated ClientHello left hanging: closed at the sni timeout
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(hello[:-1])
            closed, t = closed_without_data(s, 5)
            self.assertTrue(closed)
            self.assertGreater(t, SNI_TIMEOUT_MS / 1000 - 0.1)
        # a client that sends nothing: closed at the sni timeout
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            closed, t = closed_without_data(s, 5)
            self.assertTrue(closed)
            self.assertGreater(t, SNI_TIMEOUT_MS / 1000 - 0.1)
            self.assertLess(t, SNI_TIMEOUT_MS / 1000 + 2.0)
        # a ClientHello trickled in bytes, each within the timeout but the
        # whole past it: the timeout is for the whole ClientHello
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            t0 = time.monotonic()
            refused = False
            for i in range(len(hello) - 1):
                try:
                    s.sendall(hello[i:i + 1])
                except (BrokenPipeError, ConnectionResetError):
                    refused = True
                    break
                time.sleep(0.02)
                if time.monotonic() - t0 > SNI_TIMEOUT_MS / 1000 + 0.3:
                    break
            if not refused:
                refused = closed_without_data(s, 5)[0]
            self.assertTrue(refused)
        # the whole ClientHello still goes through after all that
        der, body = tls_get(port, "a.example")
        self.assertEqual((der, body), (WORLD.der["a"], b"a\n"))
        st = self.rp_stop(p)
        self.assertEqual(st.get("sni_failures"), 6)
        self.assertEqual(st.get("sni_routed"), 1)
        # nothing refused reached a backend, so nothing failed to connect
        self.assertEqual(st.get("connect_failures", 0), 0)


    def test_large_client_hello(self):
        """A 10 KiB ClientHello in pieces (many reads) is routed; one of
        20 KiB, two records, is more than ringproxy buffers: refused."""
        p = self.rp([SNI.replace("timeout: %dms" % SNI_TIMEOUT_MS, "timeout: 5s")])
        port = p.ports[0]
        der, body = tls_get_trickled(port, "x.b.example", big_alpn(40), 1500)
        self.assertEqual((der, body), (WORLD.der["b"], b"b\n"))
        der, body = tls_get_trickled(port, "a.example", big_alpn(60), 16389, 0)
        self.assertEqual((der, body), (WORLD.der["a"], b"a\n"))
        hello = client_hello_alpn("a.example", big_alpn(80))
        self.assertGreater(len(hello), 16384 + 5)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            try:
                s.sendall(hello)
            except (BrokenPipeError, ConnectionResetError):
                pass
            closed, t = closed_without_data(s, 5)
            self.assertTrue(closed)
            self.assertLess(t, 2.0, "refused at once, not at the timeout")
        st = self.rp_stop(p)
        self.assertEqual(st.get("sni_routed"), 2)
        self.assertEqual(st.get("sni_failures"), 1)


class T3Bulk(Base):
    def test_8mib_each_tunnel_mode(self):
        modes = ("auto", "splice", "copy")
        p = self.rp([SNI + "    tunnel: %s\n" % m for m in modes])
        tmp = TempDir()
        self.addCleanup(tmp.cleanup)
        want = sha256(WORLD.big)
        for port, mode in zip(p.ports, modes):
            out = os.path.join(tmp.path, "big-" + mode)
            r = self.curl(port, "a.example", WORLD.pem["a"], "/big", out)
            self.assertEqual(r.returncode, 0, (mode, r.stderr))
            with open(out, "rb") as f:
                self.assertEqual(sha256(f.read()), want, mode)
        # the same through Python, the whole file in memory
        der, body = tls_get(p.ports[0], "x.b.example", "/big", timeout=20)
        self.assertEqual(der, WORLD.der["b"])
        self.assertEqual(sha256(body), want)
        st = self.rp_stop(p)
        self.assertEqual(st.get("sni_routed"), len(modes) + 1)
        self.assertEqual(st.get("sni_failures", 0), 0)


def main():
    global RINGPROXY
    RINGPROXY, argv = ringproxy_arg(sys.argv, RINGPROXY)
    run_tests(argv)


if __name__ == "__main__":
    main()

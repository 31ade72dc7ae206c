#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_stats.py - the connection counters of the exit summary against the
connections a client really made: one ringproxy with a listener of every
kind (tcp, http, forward, TLS in front of tcp and of http, and tcp and http
in front of a backend that is down) takes a mixed load that goes through
every hand-off between the engine's halves (TLS front to L4 and to L7, the
forward listener to L7 for absolute-form requests) and through the refusal
paths (a backend down, bad TLS, bad requests), with some connections still
open when SIGTERM comes. The summary must show each client connection
accepted once and closed once, whichever half ended it, and none active.
Then --max-conns against clients held through those hand-offs: at the limit
the next client waits in the listen queue, and one close lets in one.

    python3 test_stats.py --ringproxy PATH [unittest args]
"""
import os
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import time
import unittest

from httpsupport import (ringproxy_arg, Backend, EchoServer, Reader, RingProxy, TempDir, exit_status,
                         read_response)

RINGPROXY = "ringproxy"


def recv_exact(s, n):
    out = b""
    while len(out) < n:
        d = s.recv(n - len(out))
        if not d:
            raise EOFError("closed after %d of %d bytes" % (len(out), n))
        out += d
    return out


def free_ports(n):
    """@n different ports free on 127.0.0.1 right now (held together while
    chosen, so that none comes twice)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def closed_soon(s, timeout=5.0):
    """True when the peer closes (EOF or reset) within @timeout; bytes before
    the close are read and dropped."""
    s.settimeout(timeout)
    try:
        while True:
            d = s.recv(4096)
            if not d:
                return True
    except (ConnectionResetError, ssl.SSLError):
        return True
    except socket.timeout:
        return False


class Stats(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()
        self.addCleanup(self.tmp.cleanup)
        d = self.tmp.path
        self.cert = os.path.join(d, "cert.pem")
        self.key = os.path.join(d, "key.pem")
        r = subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-nodes", "-keyout", self.key, "-out",
             self.cert, "-subj", "/CN=stats.test", "-addext",
             "subjectAltName=DNS:stats.test", "-days", "2"],
            capture_output=True, timeout=30)
        if r.returncode:
            self.fail("openssl req: %s" % r.stderr.decode())
        self.hosts = os.path.join(d, "hosts")
        with open(self.hosts, "w") as f:
            f.write("127.0.0.1 origin.test\n")
        self.echo = EchoServer()
        self.addCleanup(self.echo.stop)
        self.web = Backend("web")
        self.addCleanup(self.web.stop)
        self.dead = None  # a port nothing listens on, chosen in start()
        self.made = 0  # client connections made to ringproxy
        self.socks = []
        self.readers = {}

    # -- ringproxy with one listener of each kind
    def start(self, reactors=2, max_conns=100000, backlog=4096):
        names = ("tcp", "http", "fwd", "tls_tcp", "tls_http", "tcp_dead",
                 "http_dead", "dead", "dns")
        self.port = dict(zip(names, free_ports(len(names))))
        self.dead = self.port["dead"]
        tls = ("    backlog: %d\n    tls:\n      certificates: [{cert: %s, key: %s}]\n"
               "      handshake_timeout: 30s\n" % (backlog, self.cert, self.key))
        conf = """reactors: %(reactors)d
max_conns: %(max_conns)d
drain_timeout: 1s
listeners:
  - {bind: "127.0.0.1:%(tcp)d", mode: tcp, cluster: echo, backlog: %(backlog)d}
  - {bind: "127.0.0.1:%(http)d", mode: http, cluster: web, backlog: %(backlog)d}
  - bind: "127.0.0.1:%(fwd)d"
    mode: forward
    backlog: %(backlog)d
    forward:
      connect_timeout: 2s
      dns: {hosts_file: "%(hosts)s", servers: "127.0.0.1:%(dns)d", timeout: 1s}
      acl:
        - {action: allow, dest: 127.0.0.0/8}
  - bind: "127.0.0.1:%(tls_tcp)d"
    mode: tcp
    cluster: echo
%(tls)s  - bind: "127.0.0.1:%(tls_http)d"
    mode: http
    cluster: web
%(tls)s  - {bind: "127.0.0.1:%(tcp_dead)d", mode: tcp, cluster: dead, backlog: %(backlog)d}
  - {bind: "127.0.0.1:%(http_dead)d", mode: http, cluster: dead, backlog: %(backlog)d}
clusters:
  echo: {backends: ["127.0.0.1:%(echo)d"]}
  web: {backends: ["%(web)s"]}
  dead: {backends: ["127.0.0.1:%(dead)d"], connect_timeout: 2s, retries: 0}
""" % dict(self.port, hosts=self.hosts, tls=tls,
           echo=self.echo.port, web=self.web.addr,
           reactors=reactors, max_conns=max_conns, backlog=backlog)
        path = os.path.join(self.tmp.path, "rp.yaml")
        with open(path, "w") as f:
            f.write(conf)
        self.rp = RingProxy(RINGPROXY, ["-c", path], self.tmp.path, nlisteners=7)
        self.addCleanup(self.rp.kill)
        self.rp.wait_ready()

    # -- clients; every connection made is counted
    def conn(self, kind):
        s = socket.create_connection(("127.0.0.1", self.port[kind]), timeout=10)
        self.made += 1
        self.socks.append(s)
        return s

    def tls_conn(self, kind):
        ctx = ssl.create_default_context(cafile=self.cert)
        s = ctx.wrap_socket(self.conn(kind), server_hostname="stats.test")
        self.socks.append(s)
        return s

    def echo_once(self, s, data=b"ping"):
        s.sendall(data)
        self.assertEqual(recv_exact(s, len(data)), data)

    def get(self, s, target="/", close=False):
        host = target.split("/")[2] if target.startswith("http://") else "localhost"
        h = "GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n" % (
            target, host, "Connection: close\r\n" if close else "")
        s.sendall(h.encode())
        return read_response(self.reader(s))

    def reader(self, s):
        """The one Reader of socket @s (what it buffered stays there)."""
        return self.readers.setdefault(s, Reader(s))

    def connect_tunnel(self, port):
        """A CONNECT tunnel to 127.0.0.1:@port, its 200 read."""
        s = self.conn("fwd")
        s.sendall(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: x\r\n\r\n" % port)
        head = self.reader(s).head()
        self.assertRegex(head or b"", rb"^HTTP/1\.[01] 200 ")
        self.assertEqual(self.reader(s).buf, b"")
        return s

    def socks5(self, port):
        """A SOCKS5 CONNECT to 127.0.0.1:@port: the socket and the reply
        code."""
        s = self.conn("fwd")
        s.sendall(b"\x05\x01\x00")
        self.assertEqual(recv_exact(s, 2), b"\x05\x00")
        s.sendall(b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") +
                  struct.pack("!H", port))
        rep = recv_exact(s, 10)
        return s, rep[1]

    # -- the load
    def closed_connections(self):
        """Connections that end before SIGTERM, on every path."""
        # L4: an echo, then the client's close
        s = self.conn("tcp")
        self.echo_once(s)
        s.shutdown(socket.SHUT_WR)
        self.assertTrue(closed_soon(s))
        # L4: a client that leaves at once
        self.conn("tcp").close()
        # L4: the backend is down
        self.assertTrue(closed_soon(self.conn("tcp_dead")))

        # L7: keep-alive, then the client closes
        s = self.conn("http")
        for i in range(3):
            self.assertEqual(self.get(s, "/k%d" % i).status, 200)
        s.close()
        # L7: Connection: close, the proxy closes
        s = self.conn("http")
        self.assertEqual(self.get(s, close=True).status, 200)
        self.assertTrue(closed_soon(s))
        # L7: a bad request
        s = self.conn("http")
        s.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        self.assertTrue(closed_soon(s))
        # L7: the backend is down (503)
        s = self.conn("http_dead")
        self.assertIn(self.get(s).status, (502, 503))
        s.close()
        # L7: the client leaves in the middle of a head
        s = self.conn("http")
        s.sendall(b"GET / HTTP/1.1\r\nHo")
        s.close()

        # forward: CONNECT to the echo
        s = self.connect_tunnel(self.echo.port)
        self.echo_once(s)
        s.shutdown(socket.SHUT_WR)
        self.assertTrue(closed_soon(s))
        # forward: CONNECT to nothing
        s = self.conn("fwd")
        s.sendall(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: x\r\n\r\n" % self.dead)
        self.assertTrue(closed_soon(s))
        # forward -> L7: absolute form, keep-alive, the client closes
        origin = "http://origin.test:%d" % self.web.port
        s = self.conn("fwd")
        for i in range(2):
            self.assertEqual(self.get(s, origin + "/a%d" % i).status, 200)
        s.close()
        # forward -> L7: absolute form, Connection: close
        s = self.conn("fwd")
        self.assertEqual(self.get(s, origin + "/c", close=True).status, 200)
        self.assertTrue(closed_soon(s))
        # forward -> L7: absolute form to an origin that is down (502 or 503)
        s = self.conn("fwd")
        self.assertIn(self.get(s, "http://127.0.0.1:%d/" % self.dead).status,
                      (502, 503))
        s.close()
        # forward -> L7: one good request, then a bad one
        s = self.conn("fwd")
        self.assertEqual(self.get(s, origin + "/b").status, 200)
        s.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        self.assertTrue(closed_soon(s))
        # forward: SOCKS5 and SOCKS4 tunnels to the echo, SOCKS5 to nothing
        s, rep = self.socks5(self.echo.port)
        self.assertEqual(rep, 0)
        self.echo_once(s)
        s.close()
        s = self.conn("fwd")
        s.sendall(b"\x04\x01" + struct.pack("!H", self.echo.port) +
                  socket.inet_aton("127.0.0.1") + b"u\x00")
        self.assertEqual(recv_exact(s, 8)[1], 0x5A)
        self.echo_once(s)
        s.shutdown(socket.SHUT_WR)
        self.assertTrue(closed_soon(s))
        s, rep = self.socks5(self.dead)
        self.assertNotEqual(rep, 0)
        self.assertTrue(closed_soon(s))
        # forward: garbage, and an origin-form request (not a proxy request)
        s = self.conn("fwd")
        s.sendall(b"\x00\x01garbage")
        self.assertTrue(closed_soon(s))
        s = self.conn("fwd")
        self.assertEqual(self.get(s, "/origin-form").status, 400)
        self.assertTrue(closed_soon(s))

        # TLS front -> L4
        s = self.tls_conn("tls_tcp")
        self.echo_once(s)
        s.close()
        # TLS front -> L7: keep-alive, Connection: close, a bad request
        s = self.tls_conn("tls_http")
        for i in range(2):
            self.assertEqual(self.get(s, "/t%d" % i).status, 200)
        s.close()
        s = self.tls_conn("tls_http")
        self.assertEqual(self.get(s, close=True).status, 200)
        self.assertTrue(closed_soon(s))
        s = self.tls_conn("tls_http")
        s.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        self.assertTrue(closed_soon(s))
        # bad TLS: plaintext on a TLS port, a client that leaves at once
        s = self.conn("tls_http")
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertTrue(closed_soon(s))
        self.conn("tls_tcp").close()

    def open_connections(self):
        """Connections still open when SIGTERM comes, at every stage."""
        s = self.conn("http")  # idle keep-alive
        self.assertEqual(self.get(s).status, 200)
        s = self.conn("tcp")  # an idle tunnel
        self.echo_once(s)
        self.conn("tls_tcp")  # a handshake not begun
        self.conn("fwd")  # a forward handshake not begun
        self.connect_tunnel(self.echo.port)  # an idle CONNECT tunnel
        s = self.conn("fwd")  # handed to L7, idle keep-alive
        self.assertEqual(
            self.get(s, "http://origin.test:%d/idle" % self.web.port).status, 200)
        s = self.tls_conn("tls_http")  # TLS front -> L7, idle keep-alive
        self.assertEqual(self.get(s).status, 200)
        s = self.tls_conn("tls_tcp")  # TLS front -> L4, idle
        self.echo_once(s)

    def stop(self):
        """SIGTERM, then the exit summary, checked against the connections
        made: each accepted once, closed once, none left."""
        self.assertTrue(self.rp.stop(signal.SIGTERM, 15.0),
                        "ringproxy did not exit on SIGTERM")
        for s in self.socks:
            s.close()
        rep = self.rp.sanitizer_report()
        if rep:
            self.fail("sanitizer report:\n" + rep)
        err = self.rp.stderr()
        st = self.rp.stats()
        for k in ("accepted", "active", "closed"):
            self.assertIn(k, st, "no %s in the exit summary: %s" % (k, err[-3000:]))
        self.assertEqual(st["accepted"], self.made, err[-3000:])
        self.assertEqual(st["closed"], self.made, err[-3000:])
        self.assertEqual(st["active"], 0, err[-3000:])
        self.assertEqual(st.get("oom"), 0, err[-3000:])
        return st, err

    def waits(self, s, timeout=1.0):
        """True when nothing comes back on @s for @timeout."""
        s.settimeout(timeout)
        try:
            d = s.recv(1)
        except socket.timeout:
            return True
        finally:
            s.settimeout(10)
        self.fail("answered (%r) above --max-conns" % d)

    def test_each_connection_counted_once(self):
        self.start()
        self.closed_connections()
        self.open_connections()
        # The connections that said nothing reach their reactor's accept on
        # its next loop turn; give a loaded machine time for it before the
        # listeners close.
        time.sleep(0.5)
        st, err = self.stop()
        # per-connection counters that a hand-off must not count twice
        # (the forward half counts the answers it makes itself: the 200s
        # of the CONNECT, SOCKS5 and SOCKS4 tunnels and of the idle CONNECT
        # tunnel, once each; a request handed to L7 is counted there.)
        self.assertEqual(st.get("handshakes"), 4 + 2, err[-3000:])
        # plaintext, and a client gone at once; the handshake cut by the
        # stop is not a failure
        self.assertEqual(st.get("failures"), 2, err[-3000:])
        tunnels = 4
        self.assertEqual(st.get("2xx"),
                         (3 + 1) + (2 + 1 + 1) + (2 + 1) + 3 + tunnels,
                         err[-3000:])

    def test_max_conns_counts_handed_off_clients_once(self):
        """--max-conns against clients that went through hand-offs: each
        holds one slot from its accept to its close, so at the limit the
        next client waits in the listen queue, and one close lets exactly
        one in. The small queues make multishot accepts too big to fit
        near the limit (accepting then goes one at a time)."""
        limit = 24
        self.start(reactors=1, max_conns=limit, backlog=2)
        origin = "http://origin.test:%d" % self.web.port
        fwd = self.conn("fwd")  # forward -> L7
        self.assertEqual(self.get(fwd, origin + "/held").status, 200)
        tls_http = self.tls_conn("tls_http")  # TLS front -> L7
        self.assertEqual(self.get(tls_http).status, 200)
        self.echo_once(self.tls_conn("tls_tcp"))  # TLS front -> L4
        self.echo_once(self.connect_tunnel(self.echo.port))
        s, rep = self.socks5(self.echo.port)
        self.assertEqual(rep, 0)
        self.echo_once(s)
        s = self.conn("http")
        self.assertEqual(self.get(s).status, 200)
        while self.made < limit:
            self.echo_once(self.conn("tcp"))
        # at the limit: the next client is not served...
        w = self.conn("tcp")
        w.sendall(b"w")
        self.assertTrue(self.waits(w))
        # ...until a client handed off to L7 leaves, and then only it
        fwd.close()
        w.settimeout(5)
        self.assertEqual(recv_exact(w, 1), b"w")
        w2 = self.conn("fwd")
        w2.sendall(b"GET %s/w2 HTTP/1.1\r\nHost: %s\r\n\r\n" %
                   (origin.encode(), origin[7:].encode()))
        self.assertTrue(self.waits(w2))
        tls_http.close()
        w2.settimeout(5)
        self.assertEqual(read_response(self.reader(w2)).status, 200)
        st, err = self.stop()
        self.assertGreaterEqual(st.get("accept_pauses", 0), 2, err[-3000:])


def main():
    global RINGPROXY
    RINGPROXY, argv = ringproxy_arg(sys.argv, RINGPROXY)
    if not shutil.which("openssl"):
        sys.exit("test_stats.py: openssl is missing (scripts/deps.sh test installs it)")
    res = unittest.main(argv=argv, exit=False)
    sys.exit(exit_status(res.result))


if __name__ == "__main__":
    main()

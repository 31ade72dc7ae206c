#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_limits.py - per-client limits of a listener (limits: client_conns,
client_rps, client_burst) with real processes on loopback, one reactor so
that the whole limit is that reactor's:

- a burst above client_burst on mode http gets 429 with Retry-After for the
  excess, each counted (client_rate_limited) and only the first logged;
- the connection cap: with N connections of a client open, the next one is
  reset at accept (client_conns_refused), and one more is taken again once
  one of the N closes (mode tcp);
- a forward listener: a CONNECT over the rate gets 429 with Retry-After, a
  SOCKS5 request the reply 0x02, an absolute-form GET 429;
- a route's limits (its rate only), apart from the other routes';
- YAML limits and `ringproxy check` reporting bad ones with FILE:LINE:COL,
  and the CLI refusing --client-burst without --client-rps.

The rate measured under load with two reactors is benchmarks/ratelimit.sh's.

    python3 test_limits.py --ringproxy PATH [unittest args]
"""
import os
import re
import socket
import struct
import subprocess
import sys
import time

from httpsupport import (Backend, Client, EchoServer, Reader, RingProxy, ProcTestCase,
                         free_port, ringproxy_arg, run_tests)

RINGPROXY = "ringproxy"

REFUSAL_LOG = re.compile(r"listener 0: client 127\.0\.0\.1 over its (request rate|"
                         r"connection cap)")


def one_request(port):
    """A GET on a new connection: (status, Retry-After or None)."""
    with Client(port) as c:
        r = c.request("GET", "/", headers=[("Connection", "close")])
        return r.status, r.headers.get("Retry-After")


class Limits(ProcTestCase):

    def proxy(self, *args):
        port = free_port()
        argv = list(args)
        i = 1 if argv and argv[0] == "forward" else 0
        argv[i:i] = ["--listen", "127.0.0.1:%d" % port]
        p = RingProxy(RINGPROXY, argv, self.tmp.path)
        self.procs.append(p)
        p.wait_ready()
        return p, port

    def stop(self, p):
        self.assertTrue(p.stop(), "ringproxy did not exit on SIGTERM: " + p.stderr()[-2000:])
        self.assertEqual(p.returncode, 0, p.stderr()[-3000:])
        return p.stderr()

    # ---- request rate -----------------------------------------------------

    def test_burst_over_the_bucket_gets_429(self):
        b = Backend("b")
        self.stoppable.append(b)
        # 1 request/s refills too slowly to matter within the burst.
        p, port = self.proxy("--mode", "http", "--to", b.addr, "--reactors", "1",
                             "--client-rps", "1", "--client-burst", "20")
        got = [one_request(port) for _ in range(30)]
        ok = [g for g in got if g[0] == 200]
        limited = [g for g in got if g[0] == 429]
        self.assertEqual(len(ok) + len(limited), 30, got)
        # 20 from the bucket, at most a couple refilled meanwhile.
        self.assertTrue(20 <= len(ok) <= 22, got)
        self.assertEqual(got[:20], [(200, None)] * 20, got)
        for s, ra in limited:
            self.assertIsNotNone(ra, got)
            self.assertTrue(1 <= int(ra) <= 2, got)
        self.assertEqual(len(b.requests), len(ok))
        err = self.stop(p)
        st = p.stats()
        self.assertEqual(st.get("client_rate_limited"), len(limited), st)
        self.assertEqual(st.get("client_conns_refused"), 0, st)
        # Logged once per client and interval, counted every time.
        self.assertEqual(len(REFUSAL_LOG.findall(err)), 1, err)

    def test_bucket_refills_at_the_rate(self):
        b = Backend("b")
        self.stoppable.append(b)
        p, port = self.proxy("--mode", "http", "--to", b.addr, "--reactors", "1",
                             "--client-rps", "4", "--client-burst", "1")
        self.assertEqual(one_request(port)[0], 200)
        s, ra = one_request(port)
        self.assertEqual((s, ra), (429, "1"))
        time.sleep(0.4)  # 4/s: a token is back after 250 ms
        self.assertEqual(one_request(port)[0], 200)
        self.stop(p)

    # ---- connection cap ---------------------------------------------------

    def test_connection_cap_resets_the_next_one(self):
        echo = EchoServer()
        self.stoppable.append(echo)
        p, port = self.proxy("--to", "127.0.0.1:%d" % echo.port, "--reactors", "1",
                             "--client-conns", "3")

        def open_one():
            """(socket, echoed): a refused one may be reset at any step."""
            s = socket.socket()
            s.settimeout(5)
            data = b""
            try:
                s.connect(("127.0.0.1", port))
                s.sendall(b"ping")
                while len(data) < 4:
                    d = s.recv(4 - len(data))
                    if not d:
                        break
                    data += d
            except (ConnectionResetError, BrokenPipeError, socket.timeout):
                pass
            return s, data == b"ping"

        held = []
        for _ in range(3):
            s, ok = open_one()
            self.assertTrue(ok)
            held.append(s)
        s, ok = open_one()
        self.assertFalse(ok, "the 4th connection was served")
        s.close()
        held.pop().close()
        # The proxy sees the close and lets the slot go.
        deadline = time.monotonic() + 5
        while True:
            s, ok = open_one()
            if ok or time.monotonic() > deadline:
                break
            s.close()
            time.sleep(0.05)
        self.assertTrue(ok, "no connection taken after one of the 3 closed")
        held.append(s)
        for s in held:
            s.close()
        err = self.stop(p)
        st = p.stats()
        self.assertGreaterEqual(st.get("client_conns_refused", 0), 1, st)
        self.assertIn("over its connection cap", err)

    # ---- forward ----------------------------------------------------------

    def test_forward_connect_socks_and_absolute_form(self):
        echo = EchoServer()
        self.stoppable.append(echo)
        b = Backend("origin")
        self.stoppable.append(b)
        p, port = self.proxy("forward", "--reactors", "1", "--allow-dest", "127.0.0.0/8",
                             "--client-rps", "1", "--client-burst", "2")

        def connect_status():
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            try:
                s.sendall(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n"
                          % (echo.port, echo.port))
                raw = Reader(s).head()  # a 200 has no body, an error one
                self.assertIsNotNone(raw)
                m = re.search(rb"\r\nRetry-After: *(\d+)", raw, re.I)
                return int(raw.split(b" ", 2)[1]), m and int(m.group(1))
            finally:
                s.close()

        self.assertEqual(connect_status()[0], 200)
        self.assertEqual(connect_status()[0], 200)
        s, ra = connect_status()
        self.assertEqual(s, 429)
        self.assertIsNotNone(ra)
        # SOCKS5: no authentication, then CONNECT 127.0.0.1:echo.
        s5 = socket.create_connection(("127.0.0.1", port), timeout=5)
        try:
            s5.sendall(b"\x05\x01\x00")
            self.assertEqual(s5.recv(2), b"\x05\x00")
            s5.sendall(b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") +
                       struct.pack("!H", echo.port))
            rep = s5.recv(10)
            self.assertEqual(rep[:2], b"\x05\x02", rep)
        finally:
            s5.close()
        with Client(port) as c:
            r = c.request("GET", "http://127.0.0.1:%d/" % b.port,
                          headers=[("Connection", "close")])
            self.assertEqual(r.status, 429)
            self.assertIsNotNone(r.headers.get("Retry-After"))
        self.stop(p)
        st = p.stats()
        self.assertEqual(st.get("client_rate_limited"), 3, st)

    # ---- configuration ----------------------------------------------------

    def test_yaml_limits(self):
        b = Backend("b")
        self.stoppable.append(b)
        port = free_port()
        path = os.path.join(self.tmp.path, "rp.yaml")
        with open(path, "w") as f:
            f.write("reactors: 1\n"
                    "client_table: 64\n"
                    "listeners:\n"
                    "  - bind: 127.0.0.1:%d\n"
                    "    mode: http\n"
                    "    cluster: c\n"
                    "    limits: {client_rps: 1, client_burst: 3, client_conns: 10}\n"
                    "clusters:\n"
                    "  c: {backends: [%s]}\n" % (port, b.addr))
        p = RingProxy(RINGPROXY, ["-c", path], self.tmp.path)
        self.procs.append(p)
        p.wait_ready()
        got = [one_request(port)[0] for _ in range(5)]
        self.assertEqual(got[:3], [200] * 3, got)
        self.assertEqual(got[4], 429, got)
        self.stop(p)

    def test_route_limits(self):
        b = Backend("b")
        self.stoppable.append(b)
        port = free_port()
        path = os.path.join(self.tmp.path, "routes.yaml")
        with open(path, "w") as f:
            f.write("reactors: 1\n"
                    "listeners:\n"
                    "  - bind: 127.0.0.1:%d\n"
                    "    mode: http\n"
                    "    routes:\n"
                    "      - {match: {path: /api/}, cluster: c,\n"
                    "         limits: {client_rps: 1, client_burst: 2}}\n"
                    "      - {match: {path: /}, cluster: c}\n"
                    "clusters:\n"
                    "  c: {backends: [%s]}\n" % (port, b.addr))
        p = RingProxy(RINGPROXY, ["-c", path], self.tmp.path)
        self.procs.append(p)
        p.wait_ready()

        def get(target):
            with Client(port) as c:
                r = c.request("GET", target, headers=[("Connection", "close")])
                return r.status, r.headers.get("Retry-After")

        self.assertEqual([get("/api/x")[0] for _ in range(2)], [200, 200])
        self.assertEqual(get("/api/x"), (429, "1"))
        # The other route has no limit.
        self.assertEqual([get("/static")[0] for _ in range(5)], [200] * 5)
        err = self.stop(p)
        self.assertEqual(p.stats().get("client_rate_limited"), 1)
        self.assertIn("route 0: client 127.0.0.1 over its request rate", err)

    def test_check_reports_bad_limits(self):
        path = os.path.join(self.tmp.path, "bad.yaml")
        with open(path, "w") as f:
            f.write("client_table: 3\n"
                    "listeners:\n"
                    "  - bind: 127.0.0.1:1\n"
                    "    cluster: c\n"
                    "    limits: {client_burst: 5}\n"
                    "  - bind: 127.0.0.1:2\n"
                    "    cluster: c\n"
                    "    limits: {client_rps: -1, burst: 2}\n"
                    "clusters:\n"
                    "  c: {backends: [127.0.0.1:3]}\n")
        r = subprocess.run([RINGPROXY, "check", "-c", path], capture_output=True,
                           timeout=20)
        err = r.stderr.decode()
        self.assertEqual(r.returncode, 1, err)
        self.assertIn(path + ":1:15: client_table:", err)
        self.assertIn(path + ":5:28: client_burst: needs client_rps", err)
        self.assertIn(path + ":8:26: client_rps:", err)
        self.assertIn(path + ":8:30: unknown key 'burst' in limits", err)
        with open(path, "w") as f:
            f.write("listeners:\n"
                    "  - bind: 127.0.0.1:1\n"
                    "    mode: http\n"
                    "    cluster: c\n"
                    "routes:\n"
                    "  - {match: {path: /}, cluster: c, limits: {client_conns: 5}}\n"
                    "clusters:\n"
                    "  c: {backends: [127.0.0.1:3]}\n")
        r = subprocess.run([RINGPROXY, "check", "-c", path], capture_output=True,
                           timeout=20)
        err = r.stderr.decode()
        self.assertEqual(r.returncode, 1, err)
        self.assertIn(path + ":6:45: unknown key 'client_conns' in limits (expected "
                      "client_rps, client_burst)", err)
        r = subprocess.run([RINGPROXY, "--listen", "127.0.0.1:1", "--to", "127.0.0.1:2",
                            "--client-burst", "5"], capture_output=True, timeout=20)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("client_burst needs client_rps", r.stderr.decode())


def main():
    global RINGPROXY
    RINGPROXY, argv = ringproxy_arg(sys.argv, RINGPROXY)
    run_tests(argv + ["-v"])


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_auth.py - password checks of the forward proxy off the reactor, end
to end: a legitimate client's latency while eight others send wrong
passwords in a loop (one reactor, the default PBKDF2 cost), wrong passwords
answered from the failure cache, the per-address throttle (429 with
Retry-After for CONNECT and absolute-form, SOCKS5 status 0x01, logged once
per block), clients that leave while their check runs, and the bounded
queue of checks (503 with Retry-After when it is full).

    python3 test_auth.py --ringproxy PATH [unittest args]

The attackers of the latency test run in a child process (this file with
--attack), so that they never hold this process's GIL while it measures.
"""
import base64
import json
import os
import signal
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
import unittest

from httpsupport import (ringproxy_arg, Backend, Client, Proc, Reader, RingProxy, TempDir,
                         free_port, read_response, run_tests)

RINGPROXY = "ringproxy"
MAX_ITERATIONS = 200000  # RP_USERS_MAX_ITERATIONS: the slowest check there is


def basic(user, password):
    return "Basic " + base64.b64encode(user + b":" + password).decode()


def recv_exact(s, n):
    out = b""
    while len(out) < n:
        d = s.recv(n - len(out))
        if not d:
            raise EOFError("closed after %d of %d bytes" % (len(out), n))
        out += d
    return out


def connect(port, source=None, timeout=10.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    if source:
        s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def connect_request(target_port, auth):
    h = "CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % (
        target_port, target_port)
    if auth:
        h += "Proxy-Authorization: %s\r\n" % auth
    return (h + "\r\n").encode()


def get_request(target_port, auth, close=True):
    h = "GET http://127.0.0.1:%d/x HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % (
        target_port, target_port)
    if auth:
        h += "Proxy-Authorization: %s\r\n" % auth
    if close:
        h += "Connection: close\r\n"
    return (h + "\r\n").encode()


def socks5_auth_request(user, password):
    return (b"\x05\x01\x02", b"\x01" + bytes([len(user)]) + user +
            bytes([len(password)]) + password)


def http_answer(port, data, source=None):
    """Sends @data on a new connection; the response head and body
    (a CONNECT's 200 has no body: its head only)."""
    s = connect(port, source)
    try:
        s.sendall(data)
        r = Reader(s)
        if data.startswith(b"CONNECT"):
            raw = r.head()
            if raw is None:
                return None
            status = int(raw.split(b" ", 2)[1])
            if status == 200:
                return status, raw, b""
            # an error: parse it again from its head, with its body
            r2 = Reader(s)
            r2.buf = raw + r.buf
            resp = read_response(r2)
        else:
            resp = read_response(r)
        return resp.status, resp.raw_head, resp.body
    finally:
        s.close()


def socks5_auth(port, user, password, source=None):
    """RFC 1929 status byte (0: success), or None when closed first."""
    s = connect(port, source)
    try:
        greet, auth = socks5_auth_request(user, password)
        s.sendall(greet)
        if recv_exact(s, 2) != b"\x05\x02":
            return None
        s.sendall(auth)
        return recv_exact(s, 2)[1]
    except (EOFError, ConnectionResetError):
        return None
    finally:
        s.close()


def retry_after(raw_head):
    for line in raw_head.split(b"\r\n"):
        if line.lower().startswith(b"retry-after:"):
            return int(line.split(b":", 1)[1].strip())
    return None


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p / 100.0))]


# ---- the attack (child process) ----------------------------------------------


def attack_main(argv):
    """--attack PROXY_PORT ORIGIN_PORT SRC...: one thread per source address,
    each sending wrong passwords (a new one each time) until SIGTERM, in
    turn as a CONNECT, an absolute-form GET and a SOCKS5 login; prints the
    answers counted, as JSON, at the end."""
    port, oport = int(argv[0]), int(argv[1])
    sources = argv[2:]
    stop = threading.Event()
    counts = {}
    lock = threading.Lock()

    def one(i, src):
        n = 0
        while not stop.is_set():
            n += 1
            pw = ("wrong-%d-%d" % (i, n)).encode()
            kind = (i + n) % 3
            try:
                if kind == 0:
                    got = http_answer(port, connect_request(oport, basic(b"alice", pw)),
                                      src)[0]
                elif kind == 1:
                    got = http_answer(port, get_request(oport, basic(b"alice", pw)),
                                      src)[0]
                else:
                    got = "socks5-%s" % socks5_auth(port, b"alice", pw, src)
            except (OSError, EOFError, TypeError) as e:
                got = type(e).__name__
            with lock:
                counts[str(got)] = counts.get(str(got), 0) + 1

    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    threads = [threading.Thread(target=one, args=(i, s), daemon=True)
               for i, s in enumerate(sources)]
    for t in threads:
        t.start()
    print("attacking", flush=True)
    while not stop.wait(0.1):
        pass
    for t in threads:
        t.join(15)
    print(json.dumps(counts), flush=True)
    return 0


# ---- the tests ------------------------------------------------------------------


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()
        self.addCleanup(self.tmp.cleanup)
        self.dir = self.tmp.path
        self.origin = Backend("origin")
        self.addCleanup(self.origin.stop)

    def users(self, user, password, iterations=None):
        """A users file with one real hash (ringproxy passwd; its default
        iteration count unless given)."""
        argv = [RINGPROXY, "passwd"]
        if iterations:
            argv += ["--iterations", str(iterations)]
        r = subprocess.run(argv, input=password + b"\n", capture_output=True,
                           timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        path = os.path.join(self.dir, "users-%d" % len(os.listdir(self.dir)))
        with open(path, "wb") as f:
            f.write(user + b":" + r.stdout.strip() + b"\n")
        return path

    def rp(self, users, *opts):
        port = free_port()
        args = ["forward", "--listen", "127.0.0.1:%d" % port, "--reactors", "1",
                "--drain-timeout", "2s", "--allow-dest", "127.0.0.0/8",
                "--users", users] + list(opts)
        p = RingProxy(RINGPROXY, args, self.dir, 1)
        self.addCleanup(p.kill)
        p.wait_ready()
        p.port = port
        return p

    def finish(self, p):
        """Stops @p; its summed exit counters. Fails on a sanitizer report
        or a connection still counted open."""
        self.assertTrue(p.alive(), p.stderr()[-3000:])
        self.assertTrue(p.stop(signal.SIGTERM, 10.0), "no exit after SIGTERM")
        self.assertIsNone(p.sanitizer_report(), p.sanitizer_report())
        self.assertEqual(p.returncode, 0, p.stderr()[-3000:])
        st = p.stats()
        self.assertEqual(st.get("active"), 0, st)
        self.assertEqual(st.get("accepted"), st.get("closed"), st)
        return st


class T1Latency(Base):
    def test_wrong_passwords_do_not_slow_a_legitimate_client(self):
        """8 clients send wrong passwords in a loop, each from its own
        address (and the throttle off, so that none is merely blocked):
        a legitimate client on the same reactor keeps its latency."""
        users = self.users(b"alice", b"right")  # the default iteration count
        p = self.rp(users, "--auth-fail-limit", "0")
        auth = basic(b"alice", b"right")
        c = Client(p.port)
        self.addCleanup(c.close)

        def measure(n, seconds=0.0):
            out = []
            until = time.monotonic() + seconds
            while len(out) < n or time.monotonic() < until:
                t = time.perf_counter()
                resp = c.request("GET", "http://127.0.0.1:%d/x" % self.origin.port,
                                 [("Proxy-Authorization", auth)],
                                 host="127.0.0.1:%d" % self.origin.port)
                out.append((time.perf_counter() - t) * 1e3)
                self.assertEqual(resp.status, 200, resp.body)
            return out

        measure(20)  # authenticated once, then answered from the cache
        base = measure(300)
        attackers = Proc([sys.executable, os.path.abspath(__file__), "--attack",
                          str(p.port), str(self.origin.port)] +
                         ["127.0.0.%d" % (10 + i) for i in range(8)], self.dir,
                         "attackers")
        self.addCleanup(attackers.kill)
        deadline = time.monotonic() + 10
        while "attacking" not in attackers.stdout() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # until the helpers are saturated
        attacked = measure(300, 2.0)  # 2 s at least: hundreds of checks
        attackers.stop(signal.SIGTERM, 20.0)
        lines = attackers.stdout().strip().splitlines()
        counts = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}
        c.close()
        st = self.finish(p)
        print("\n  legitimate client, ms: alone p50 %.3f p99 %.3f; under attack "
              "p50 %.3f p99 %.3f" % (statistics.median(base), pct(base, 99),
                                     statistics.median(attacked), pct(attacked, 99)))
        print("  attackers' answers: %s; ringproxy: auth_checks=%d "
              "auth_failures=%d auth_queue_full=%d" % (
                  counts, st.get("auth_checks", 0), st.get("auth_failures", 0),
                  st.get("auth_queue_full", 0)))
        # the attack was real: wrong passwords refused by the hundred, each
        # one checked by PBKDF2 (distinct passwords: no cache hits)
        refused = counts.get("407", 0) + counts.get("socks5-1", 0)
        self.assertGreater(refused, 100, counts)
        self.assertGreater(st.get("auth_checks", 0), 100, st)
        self.assertEqual(st.get("auth_cache_hits", 0), 20 + len(base) + len(attacked) - 1,
                         st)
        self.assertLessEqual(statistics.median(attacked), 3 * statistics.median(base),
                             "median latency under attack more than 3x")


class T2Cache(Base):
    def test_second_identical_wrong_password_runs_no_pbkdf2(self):
        p = self.rp(self.users(b"alice", b"right"))
        o = self.origin.port
        wrong = basic(b"alice", b"wrong")
        for _ in range(2):
            self.assertEqual(http_answer(p.port, connect_request(o, wrong))[0], 407)
        for _ in range(2):
            self.assertEqual(http_answer(p.port, get_request(o, wrong))[0], 407)
        for _ in range(2):
            self.assertEqual(socks5_auth(p.port, b"alice", b"nope"), 1)
        # the right one is checked once, then cached too
        for _ in range(2):
            self.assertEqual(http_answer(p.port, get_request(
                o, basic(b"alice", b"right")))[0], 200)
        st = self.finish(p)
        # "alice:wrong" once (CONNECT and absolute-form share the cache),
        # "alice:nope" once, "alice:right" once
        self.assertEqual(st.get("auth_checks"), 3, st)
        self.assertEqual(st.get("auth_cache_hits"), 5, st)
        self.assertEqual(st.get("auth_failures"), 6, st)


class T3Throttle(Base):
    def test_429_after_failures_then_block_ends(self):
        p = self.rp(self.users(b"alice", b"right", 10000), "--auth-fail-limit", "3",
                    "--auth-fail-window", "60s", "--auth-block", "3s")
        o = self.origin.port
        right = basic(b"alice", b"right")
        # three failures (distinct passwords, one answered from the cache)
        self.assertEqual(http_answer(p.port, connect_request(o, basic(b"alice", b"a")))[0],
                         407)
        self.assertEqual(http_answer(p.port, get_request(o, basic(b"alice", b"b")))[0],
                         407)
        self.assertEqual(socks5_auth(p.port, b"alice", b"a"), 1)
        # blocked now: even the right password, in every protocol
        t0 = time.monotonic()
        for req in (connect_request(o, right), get_request(o, right),
                    get_request(o, None)):
            status, head, body = http_answer(p.port, req)
            self.assertEqual(status, 429, head)
            ra = retry_after(head)
            self.assertIsNotNone(ra, head)
            self.assertTrue(1 <= ra <= 3, head)
            self.assertIn(b"failed logins", body)
        self.assertEqual(socks5_auth(p.port, b"alice", b"right"), 1)
        # another address is not blocked
        self.assertEqual(http_answer(p.port, get_request(o, right), "127.0.0.2")[0], 200)
        self.assertEqual(socks5_auth(p.port, b"alice", b"right", "127.0.0.2"), 0)
        # the block ends on time
        time.sleep(max(0, 3.3 - (time.monotonic() - t0)))
        self.assertEqual(http_answer(p.port, get_request(o, right))[0], 200)
        self.assertEqual(socks5_auth(p.port, b"alice", b"right"), 0)
        err = p.stderr()
        st = self.finish(p)
        self.assertEqual(st.get("auth_blocks"), 1, st)
        self.assertEqual(st.get("auth_throttled"), 4, st)
        self.assertEqual(st.get("auth_failures"), 3, st)
        self.assertEqual(err.count("blocked for"), 1, err)
        self.assertIn("127.0.0.1 blocked for 3000 ms after 3 failed logins", err)


class T4Leaving(Base):
    def test_clients_leaving_mid_check(self):
        """Clients that go while their check is queued or running: nothing
        crashes or leaks, and the proxy goes on serving. One that resets
        has its check skipped if no helper started it; one that only sends
        a FIN may be half-closing, and still gets its verdict."""
        p = self.rp(self.users(b"alice", b"right", MAX_ITERATIONS),
                    "--auth-threads", "1", "--auth-fail-limit", "0")
        o = self.origin.port
        socks = []
        for i in range(12):
            pw = ("gone-%d" % i).encode()
            s = connect(p.port)
            if i % 3 == 0:
                s.sendall(connect_request(o, basic(b"alice", pw)))
            elif i % 3 == 1:
                s.sendall(get_request(o, basic(b"alice", pw)))
            else:
                greet, auth = socks5_auth_request(b"alice", pw)
                s.sendall(greet)
                self.assertEqual(recv_exact(s, 2), b"\x05\x02")
                s.sendall(auth)
            socks.append(s)
        time.sleep(0.01)
        for i, s in enumerate(socks):
            if i % 2:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             struct.pack("ii", 1, 0))  # RST
            s.close()
        time.sleep(1.0)
        self.assertTrue(p.alive())
        self.assertEqual(http_answer(p.port, get_request(o, basic(b"alice", b"right")))[0],
                         200)
        st = self.finish(p)
        # every check queued either ran or was skipped, none is lost
        self.assertEqual(st.get("auth_checks", 0) + st.get("auth_cancelled", 0), 13, st)
        self.assertGreater(st.get("auth_cancelled", 0), 0, st)


class T5Queue(Base):
    def test_full_queue_is_refused_with_503(self):
        """One check at a time (--auth-queue 1) at the highest cost: the
        requests that come while it runs are refused, not queued."""
        p = self.rp(self.users(b"alice", b"right", MAX_ITERATIONS),
                    "--auth-queue", "1", "--auth-threads", "1",
                    "--auth-fail-limit", "0")
        o = self.origin.port
        reqs = [connect_request(o, basic(b"alice", b"w1")),
                get_request(o, basic(b"alice", b"w2")),
                connect_request(o, basic(b"alice", b"w3")),
                get_request(o, basic(b"alice", b"w4"))]
        socks = [connect(p.port) for _ in reqs]
        for s, r in zip(socks, reqs):
            s.sendall(r)
        statuses = []
        for s in socks:
            r = Reader(s)
            raw = r.head()
            statuses.append(int(raw.split(b" ", 2)[1]))
            if statuses[-1] == 503:
                self.assertEqual(retry_after(raw), 1, raw)
            s.close()
        self.assertEqual(sorted(statuses), [407, 503, 503, 503], statuses)
        # SOCKS5 while one runs: status 0x01
        s = connect(p.port)
        s.sendall(get_request(o, basic(b"alice", b"w5")))
        self.assertEqual(socks5_auth(p.port, b"alice", b"w6"), 1)
        self.assertEqual(int(Reader(s).head().split(b" ", 2)[1]), 407)
        s.close()
        st = self.finish(p)
        self.assertEqual(st.get("auth_queue_full"), 4, st)
        self.assertEqual(st.get("auth_checks"), 2, st)


def main():
    global RINGPROXY
    if len(sys.argv) > 1 and sys.argv[1] == "--attack":
        sys.exit(attack_main(sys.argv[2:]))
    RINGPROXY, argv = ringproxy_arg(sys.argv, RINGPROXY)
    run_tests(argv)


if __name__ == "__main__":
    main()

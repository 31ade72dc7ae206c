#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_outlier.py - outlier detection (passive health) and slow start with
real processes on loopback: ringproxy in front of recording Python backends
(httpsupport.Backend) or an echo server, and dead ports that refuse
connections.

- consecutive 5xx is off by default (a backend's 500 is its answer), and
  when on, traffic leaves a backend that answers 500 for everything;
- with every backend failing, max_ejection_percent and the last-backend rule
  leave backends in: clients get the backends' 500, never our 503;
- a backend that refuses connections is ejected for the base time, tried
  again, and ejected for twice as long the second time (the log lines);
- with two reactors, the owner sums what both saw: connect failures spread
  over both eject a tcp-mode backend that neither reactor alone failed
  often enough;
- the success-rate detector, across two reactors, from a YAML file;
- slow start: a backend back from an ejection gets a small share first and
  its full share once the ramp is over (wrr);
- `ringproxy check` reports bad outlier settings with FILE:LINE:COL.

    python3 test_outlier.py --ringproxy PATH [unittest args]
"""
import os
import re
import socket
import subprocess
import sys
import threading
import time

from httpsupport import (Backend, Client, EchoServer, ProcTestCase, ProtocolError,
                         RingProxy, default_response, free_port, ringproxy_arg,
                         run_tests)

RINGPROXY = "ringproxy"

EJECTED = re.compile(r"cluster (\S+): backend 127\.0\.0\.1:(\d+) ejected by ([a-z0-9 ]+): "
                     r"(.*); ejection (\d+), for (\d+) ms")
BACK = re.compile(r"cluster (\S+): backend 127\.0\.0\.1:(\d+) back after (\d+) ms ejected "
                  r"by ([a-z0-9 ]+) \(ejection (\d+), ([a-z ]+)\)")
KEPT = re.compile(r"cluster (\S+): backend 127\.0\.0\.1:(\d+) not ejected \(([a-z0-9 ]+)\): "
                  r"(.*)")


def status_handler(status):
    def h(backend, conn, req):
        return default_response(backend, conn, req, status=status)
    return h


def per_reactor_stats(text):
    """{reactor: {key: value}} from the 'stats reactor=N ...' lines."""
    out = {}
    for m in re.finditer(r"stats reactor=(\d+) (.*)", text):
        d = out.setdefault(int(m.group(1)), {})
        for k, v in re.findall(r"(?:^|\s)([\w-]+)=(-?\d+)", m.group(2)):
            d[k] = d.get(k, 0) + int(v)
    return out


class Outlier(ProcTestCase):

    def backend(self, name, status=200, handler=None):
        b = Backend(name, handler or status_handler(status))
        self.stoppable.append(b)
        return b

    def proxy(self, *args, name="ringproxy"):
        port = free_port()
        p = RingProxy(RINGPROXY, ["--listen", "127.0.0.1:%d" % port] + list(args),
                      self.tmp.path, name=name)
        self.procs.append(p)
        p.wait_ready()
        return p, port

    def proxy_file(self, yaml_text, name="ringproxy"):
        path = os.path.join(self.tmp.path, name + ".yaml")
        with open(path, "w") as f:
            f.write(yaml_text)
        p = RingProxy(RINGPROXY, ["-c", path], self.tmp.path, name=name)
        self.procs.append(p)
        p.wait_ready()
        return p

    def stop(self, p):
        self.assertTrue(p.stop(), "ringproxy did not exit on SIGTERM: " + p.stderr()[-2000:])
        self.assertEqual(p.returncode, 0, p.stderr()[-3000:])
        return p.stderr()

    @staticmethod
    def get(port, n=1, close=False):
        """@n GETs on one keep-alive connection (a new one per request when
        @close): [(status, X-Backend or None)]."""
        out = []
        c = None
        try:
            for _ in range(n):
                if c is None:
                    c = Client(port)
                hdrs = [("Connection", "close")] if close else []
                r = c.request("GET", "/", headers=hdrs)
                out.append((r.status, r.headers.get("X-Backend")))
                if close or r.headers.get("Connection", "").lower() == "close":
                    c.close()
                    c = None
        finally:
            if c is not None:
                c.close()
        return out

    # ---- consecutive 5xx --------------------------------------------------

    def test_5xx_off_by_default(self):
        a, b = self.backend("a", 500), self.backend("b", 200)
        p, port = self.proxy("--mode", "http", "--to", a.addr, "--to", b.addr,
                             "--reactors", "1")
        got = self.get(port, 40)
        # Round robin all along: the 500s were the application's answers.
        self.assertEqual(sum(1 for s, n in got if n == "a" and s == 500), 20, got)
        self.assertEqual(sum(1 for s, n in got if n == "b" and s == 200), 20, got)
        err = self.stop(p)
        self.assertIsNone(EJECTED.search(err), err)

    def test_5xx_moves_traffic_to_the_healthy_backend(self):
        a, b = self.backend("a", 500), self.backend("b", 200)
        p, port = self.proxy("--mode", "http", "--to", a.addr, "--to", b.addr,
                             "--consecutive-5xx", "3", "--reactors", "1")
        got = self.get(port, 40)
        # a answers 3 times (every other request), then is out.
        self.assertEqual([n for s, n in got[:6]], ["a", "b"] * 3, got)
        self.assertEqual(got[6:], [(200, "b")] * 34, got)
        self.assertEqual(len(a.requests), 3)
        err = self.stop(p)
        m = EJECTED.findall(err)
        self.assertEqual(len(m), 1, err)
        self.assertEqual(m[0][1:], (str(a.port), "consecutive 5xx", "3 in a row", "1",
                                    "10000"), err)
        st = p.stats()
        self.assertEqual(st.get("outlier_ejections"), 1, st)
        self.assertEqual(st.get("outlier_ejections_5xx"), 1, st)
        self.assertEqual(st.get("outlier_ejections_gateway"), 0, st)

    def test_all_failing_stay_in_and_clients_get_their_500(self):
        for pct, why in (("50", "max_ejection_percent 50 reached"),
                         ("100", "it would leave no backend in")):
            a, b = self.backend("a", 500), self.backend("b", 500)
            p, port = self.proxy("--mode", "http", "--to", a.addr, "--to", b.addr,
                                 "--consecutive-5xx", "3", "--max-ejection-percent",
                                 pct, "--reactors", "1", name="rp" + pct)
            got = self.get(port, 30)
            # Every answer is a backend's own 500, never our 503.
            self.assertEqual([s for s, n in got], [500] * 30, got)
            self.assertTrue(all(n in ("a", "b") for s, n in got), got)
            err = self.stop(p)
            ej = EJECTED.findall(err)
            self.assertEqual(len(ej), 1, err)
            kept = KEPT.findall(err)
            self.assertTrue(kept, err)
            self.assertEqual(kept[0][2], "consecutive 5xx", err)
            self.assertIn(why, kept[0][3], err)
            # Logged once, however many times it was tried.
            self.assertEqual(len(kept), 1, err)
            st = p.stats()
            self.assertEqual(st.get("no_backend"), 0, st)
            self.assertEqual(st.get("5xx"), 30, st)
            self.assertEqual(st.get("outlier_ejections"), 1, st)
            self.assertGreaterEqual(st.get("outlier_ejections_skipped", 0), 2, st)

    # ---- gateway failures, ejection times ---------------------------------

    def test_refused_backend_ejection_doubles(self):
        dead = free_port()
        b = self.backend("b", 200)
        # --fall and --cooldown: the old names of consecutive_gateway_failure
        # and base_ejection_time.
        p, port = self.proxy("--mode", "http", "--to", "127.0.0.1:%d" % dead, "--to",
                             b.addr, "--fall", "3", "--cooldown", "1s", "--reactors",
                             "1")
        seen = {}  # log line -> when it first showed
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            got = self.get(port, 5)
            # The dead one is retried on b: clients never see it.
            self.assertEqual([s for s, n in got], [200] * 5, got)
            err = p.stderr()
            for line in err.splitlines():
                if (EJECTED.search(line) or BACK.search(line)) and line not in seen:
                    seen[line] = time.monotonic()
            if len(EJECTED.findall(err)) >= 2 and len(BACK.findall(err)) >= 2:
                break
            time.sleep(0.01)
        err = self.stop(p)
        ej, back = EJECTED.findall(err), BACK.findall(err)
        self.assertGreaterEqual(len(ej), 2, err)
        self.assertGreaterEqual(len(back), 2, err)
        for e in ej:
            self.assertEqual(e[1], str(dead))
            self.assertEqual(e[2], "consecutive gateway failures")
            self.assertEqual(e[3], "3 in a row")
        # Base time, then twice it.
        self.assertEqual([(e[4], e[5]) for e in ej[:2]], [("1", "1000"), ("2", "2000")], err)
        self.assertEqual([k[3:6] for k in back[:2]],
                         [("consecutive gateway failures", "1", "time up"),
                          ("consecutive gateway failures", "2", "time up")], err)
        for k, want in zip(back[:2], (1000, 2000)):
            self.assertTrue(want <= int(k[2]) < want + 400, err)
        # And the wall clock agrees: out for about 1 s, then about 2 s.
        lines = sorted(seen, key=seen.get)
        t = [seen[l] for l in lines]
        kinds = ["e" if EJECTED.search(l) else "b" for l in lines]
        self.assertEqual(kinds[:4], ["e", "b", "e", "b"], lines)
        self.assertTrue(0.8 < t[1] - t[0] < 1.8, (t, lines))
        self.assertTrue(1.8 < t[3] - t[2] < 2.8, (t, lines))
        st = p.stats()
        self.assertGreaterEqual(st.get("outlier_ejections_gateway", 0), 2, st)
        self.assertGreaterEqual(st.get("outlier_unejections", 0), 2, st)

    def test_two_reactors_sum_their_failures_tcp(self):
        """tcp mode, two reactors, short connections spread over both:
        the ejection comes from the sum, with neither reactor at the
        threshold alone, and stops the connect failures."""
        fall = 20
        echo = EchoServer()
        self.addCleanup(echo.stop)
        dead = free_port()
        for attempt in range(3):
            p, port = self.proxy("--to", "127.0.0.1:%d" % dead, "--to",
                                 "127.0.0.1:%d" % echo.port, "--fall", str(fall),
                                 "--cooldown", "60s", "--reactors", "2",
                                 name="rp%d" % attempt)
            n = 0
            while n < 600 and not EJECTED.search(p.stderr()):
                self.echo_once(port)
                n += 1
                # Paced, so that the other reactor's batches (every 100 ms
                # at most) keep up with the owner's own counts.
                time.sleep(0.02)
            self.assertTrue(EJECTED.search(p.stderr()), p.stderr()[-3000:])
            for _ in range(40):
                self.echo_once(port)
            err = self.stop(p)
            per = per_reactor_stats(err)
            fails = [per.get(i, {}).get("connect_failures", 0) for i in (0, 1)]
            print("\n  attempt %d: %d connections, connect_failures per reactor %s"
                  % (attempt, n, fails))
            ej = EJECTED.findall(err)
            self.assertEqual(len(ej), 1, err)
            self.assertEqual(ej[0][1:4], (str(dead), "consecutive gateway failures",
                                          "%d in a row" % fall), err)
            # Out: the later connections failed on nothing.
            self.assertLess(sum(fails), fall + 8, fails)
            self.assertGreaterEqual(sum(fails), fall, fails)
            # Counted by the owner (cluster 0: reactor 0) only.
            self.assertEqual(per[0].get("outlier_ejections_gateway"), 1, per)
            self.assertEqual(per[1].get("outlier_ejections"), 0, per)
            if all(0 < f < fall for f in fails):
                return
            # The kernel's reuseport hash put (nearly) all on one reactor:
            # this run proves nothing about the sum; try again.
        self.fail("connections never spread over both reactors")

    @staticmethod
    def echo_once(port):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"ping")
            got = b""
            while len(got) < 4:
                d = s.recv(4 - len(got))
                if not d:
                    raise ProtocolError("closed after %r" % got)
                got += d
            assert got == b"ping", got

    # ---- success rate ------------------------------------------------------

    def test_success_rate_across_two_reactors(self):
        lock = threading.Lock()
        count = [0]

        def half_bad(backend, conn, req):
            with lock:
                count[0] += 1
                bad = count[0] % 2
            return default_response(backend, conn, req, status=500 if bad else 200)

        a = self.backend("a", handler=half_bad)
        b = self.backend("b", 200)
        port = free_port()
        p = self.proxy_file("""
reactors: 2
listeners:
  - {bind: 127.0.0.1:%d, mode: http, cluster: web}
clusters:
  web:
    backends: [%s, %s]
    outlier_detection:
      consecutive_gateway_failure: 0
      interval: 1s
      success_rate_threshold: 80
      success_rate_minimum_hosts: 2
      success_rate_request_volume: 10
""" % (port, a.addr, b.addr))
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and not EJECTED.search(p.stderr()):
            # New connections: both reactors take a share.
            self.get(port, 4, close=True)
        err = self.stop(p)
        ej = EJECTED.findall(err)
        self.assertEqual(len(ej), 1, err)
        self.assertEqual(ej[0][1:3], (str(a.port), "success rate"), err)
        m = re.fullmatch(r"(\d+\.\d)% below 80\.0%", ej[0][3])
        self.assertTrue(m, ej[0])
        self.assertTrue(40 <= float(m.group(1)) <= 60, ej[0])
        per = per_reactor_stats(err)
        self.assertTrue(per[0].get("accepted", 0) and per[1].get("accepted", 0), per)
        self.assertEqual(per[0].get("outlier_ejections_success_rate"), 1, per)

    # ---- slow start --------------------------------------------------------

    def test_slow_start_ramps_a_returning_backend(self):
        broken = [True]

        def flaky(backend, conn, req):
            return default_response(backend, conn, req, status=500 if broken[0] else 200)

        a = self.backend("a", handler=flaky)
        b = self.backend("b", 200)
        p, port = self.proxy("--mode", "http", "--balance", "wrr", "--to", a.addr,
                             "--to", b.addr, "--consecutive-5xx", "3",
                             "--base-ejection-time", "1s", "--slow-start", "4s",
                             "--reactors", "1")
        self.get(port, 10)
        self.assertTrue(EJECTED.search(p.stderr()), p.stderr())
        broken[0] = False
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not BACK.search(p.stderr()):
            time.sleep(0.005)
        t_back = time.monotonic()
        self.assertTrue(BACK.search(p.stderr()), p.stderr())
        self.assertIn("; slow start", p.stderr())
        early = self.get(port, 100)
        t_early = time.monotonic() - t_back
        share_early = sum(1 for s, n in early if n == "a") / len(early)
        time.sleep(max(0, 4.3 - (time.monotonic() - t_back)))
        late = self.get(port, 100)
        share_late = sum(1 for s, n in late if n == "a") / len(late)
        print("\n  a's share: %.2f in the first %.2f s of its ramp, %.2f after it"
              % (share_early, t_early, share_late))
        self.assertTrue(all(s == 200 for s, n in early + late))
        # 10% of its weight at first, growing: far below its half.
        self.assertLess(share_early, 0.3)
        self.assertGreater(share_early, 0)
        self.assertTrue(0.45 <= share_late <= 0.55, share_late)
        self.stop(p)

    # ---- ringproxy check -----------------------------------------------------

    def test_check_reports_bad_settings_with_places(self):
        path = os.path.join(self.tmp.path, "bad.yaml")
        with open(path, "w") as f:
            f.write("listeners: [{bind: 127.0.0.1:1, cluster: c}]\n"
                    "clusters:\n"
                    "  c:\n"
                    "    backends: [127.0.0.1:2]\n"
                    "    balance: ringhash\n"
                    "    slow_start: 5s\n"
                    "    outlier_detection:\n"
                    "      max_ejection_percent: 101\n"
                    "      success_rate_minimum_hosts: 3\n")
        r = subprocess.run([RINGPROXY, "check", "-c", path], capture_output=True,
                           timeout=20)
        err = r.stderr.decode()
        self.assertEqual(r.returncode, 1, err)
        self.assertIn(path + ":8:29: max_ejection_percent: expected a whole number "
                      "from 0 to 100, got '101'", err)
        self.assertIn(path + ":9:35: success_rate_minimum_hosts: no success-rate "
                      "detector is on", err)
        self.assertIn(path + ":6:17: slow_start: balance ringhash has no slow start", err)
        self.assertIn("3 problems", err)
        with open(path, "w") as f:
            f.write("listeners: [{bind: 127.0.0.1:1, cluster: c}]\n"
                    "clusters:\n"
                    "  c:\n"
                    "    backends: [127.0.0.1:2, 127.0.0.1:3]\n"
                    "    slow_start: 5s\n"
                    "    outlier_detection: {consecutive_5xx: 5, interval: 5s,\n"
                    "      base_ejection_time: 30s, max_ejection_time: 5m,\n"
                    "      max_ejection_percent: 30, success_rate_stdev_factor: 1900}\n")
        r = subprocess.run([RINGPROXY, "check", "-c", path], capture_output=True,
                           timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertIn("ok", r.stdout.decode())


def main():
    global RINGPROXY
    RINGPROXY, argv = ringproxy_arg(sys.argv, RINGPROXY)
    run_tests(argv + ["-v"])


if __name__ == "__main__":
    main()

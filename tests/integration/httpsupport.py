# SPDX-License-Identifier: BSD-2-Clause
"""httpsupport.py - helpers of test_http.py (Python 3 standard library only).

Processes (ringproxy, nginx, haproxy) started with their output in files of a
temporary directory and killed at exit whatever happens; a threaded recording
HTTP/1.1 backend that keeps the raw bytes of every request and can answer
with scripted raw responses; a small raw HTTP/1.1 client that parses
responses strictly enough to notice framing errors.

Only loopback addresses are used and every socket has a timeout.
"""
import atexit
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

# Markers that make a test fail when they show up in ringproxy's stderr.
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                     "runtime error:")

SOCK_TIMEOUT = 10.0

_procs = []
_procs_lock = threading.Lock()


def _kill_all():
    with _procs_lock:
        procs = list(_procs)
    for p in procs:
        p.kill()


atexit.register(_kill_all)


# Children get SIGKILL when the test runner dies, even by SIGKILL (a ctest
# timeout), through util-linux's setpriv when it is there (no preexec_fn: the
# runner has threads).
_SETPRIV = shutil.which("setpriv")


def _with_pdeathsig(argv):
    if _SETPRIV:
        return [_SETPRIV, "--pdeathsig", "KILL", "--"] + list(argv)
    return list(argv)


def strict():
    """RP_TEST_STRICT=1 (scripts/test.sh): every test must run, a skip fails."""
    return os.environ.get("RP_TEST_STRICT") == "1"


def exit_status(result):
    """The exit status of a run, as the CUnit binaries have it
    (tests/unit/unit.h): 1 when something failed, 77 (ctest's
    SKIP_RETURN_CODE) when something was skipped and nothing failed, else 0.
    Every skip is listed with its reason; under RP_TEST_STRICT=1 a skip is a
    failure. Skips are for what no package provides (no ::1 here); a missing
    program fails its test instead, as scripts/deps.sh test installs them."""
    for test, why in result.skipped:
        print("skipped: %s: %s" % (test.id(), why), file=sys.stderr)
    if result.skipped and strict():
        print("%d test(s) skipped, and RP_TEST_STRICT=1 forbids skips"
              % len(result.skipped), file=sys.stderr)
        return 1
    if not result.wasSuccessful():
        return 1
    return 77 if result.skipped else 0


class ProcTestCase(unittest.TestCase):
    """A test case that starts ringproxy processes and peers: a temporary
    directory (self.tmp), the ringproxy processes to kill at the end
    (self.procs; a sanitizer report in their output fails the test), and
    the peers to stop (self.stoppable: anything with a stop())."""

    def setUp(self):
        self.tmp = TempDir()
        self.addCleanup(self.tmp.cleanup)
        self.procs = []
        self.stoppable = []

    def tearDown(self):
        for p in self.procs:
            p.kill()
            rep = p.sanitizer_report()
            if rep:
                self.fail("sanitizer report:\n" + rep)
        for b in self.stoppable:
            b.stop()


def ringproxy_arg(argv, default):
    """Takes "--ringproxy PATH" out of a copy of @argv, as every test file's
    command line has it (tests/integration/CMakeLists.txt): returns the
    binary's absolute path (@default without it) and the rest of the
    arguments for unittest. Exits saying why when the binary cannot run,
    which fails the test rather than skipping it."""
    argv = list(argv)
    path = default
    if "--ringproxy" in argv:
        i = argv.index("--ringproxy")
        path = os.path.abspath(argv[i + 1])
        del argv[i:i + 2]
    if "/" in path and not os.access(path, os.X_OK):
        sys.exit("%s: no ringproxy binary at %s (give --ringproxy PATH)"
                 % (os.path.basename(argv[0]), path))
    return path, argv


def run_tests(argv):
    """unittest.main(argv) that exits with exit_status()."""
    prog = unittest.main(argv=argv, exit=False)
    sys.exit(exit_status(prog.result))


def free_port(family=socket.AF_INET):
    """A port free on loopback right now (the usual small race)."""
    host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def have_ipv6():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def sha256(b):
    return hashlib.sha256(b).hexdigest()


# ---- processes --------------------------------------------------------------


class Proc:
    """A child process in its own process group, output in files of @tmpdir."""

    def __init__(self, argv, tmpdir, name, cwd=None):
        self.argv = argv
        self.name = name
        self.out_path = os.path.join(tmpdir, name + ".out")
        self.err_path = os.path.join(tmpdir, name + ".err")
        out = open(self.out_path, "wb")
        err = open(self.err_path, "wb")
        try:
            self.p = subprocess.Popen(_with_pdeathsig(argv), stdin=subprocess.DEVNULL,
                                      stdout=out, stderr=err, cwd=cwd,
                                      start_new_session=True)
        finally:
            out.close()
            err.close()
        with _procs_lock:
            _procs.append(self)
        self.returncode = None

    @property
    def pid(self):
        return self.p.pid

    def alive(self):
        return self.p.poll() is None

    def send_signal(self, sig):
        if self.alive():
            try:
                self.p.send_signal(sig)
            except ProcessLookupError:
                pass

    def killpg(self, sig=signal.SIGKILL):
        """Signals the whole group (nginx's workers too)."""
        try:
            os.killpg(self.p.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def wait(self, timeout):
        try:
            self.returncode = self.p.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def stop(self, sig=signal.SIGTERM, timeout=5.0):
        """Signal, wait up to @timeout, then SIGKILL the group. True when it
        exited on its own."""
        if not self.alive():
            self.killpg()
            self.returncode = self.p.returncode
            return True
        self.send_signal(sig)
        ok = self.wait(timeout)
        self.killpg()
        if not ok:
            self.wait(5)
        return ok

    def kill(self):
        if self.alive():
            self.killpg()
            try:
                self.p.kill()
            except ProcessLookupError:
                pass
            self.wait(5)
        else:
            self.killpg()

    def stderr(self):
        try:
            with open(self.err_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stdout(self):
        try:
            with open(self.out_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""


def wait_listening(host, port, timeout=10.0, proc=None):
    """Polls until something accepts on host:port (a connect, closed at once)."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive():
            raise RuntimeError("%s exited (%s) before listening: %s" %
                               (proc.name, proc.p.returncode, proc.stderr()[-2000:]))
        try:
            with socket.socket(fam, socket.SOCK_STREAM) as s:
                s.settimeout(1.0)
                s.connect((host, port))
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("nothing listening on %s:%d after %.1fs" % (host, port, timeout))


class RingProxy(Proc):
    """ringproxy; started() waits for every 'listening on' line."""

    def __init__(self, binary, args, tmpdir, nlisteners=1, name="ringproxy"):
        super().__init__([binary] + list(args), tmpdir, name)
        self.nlisteners = nlisteners

    def wait_ready(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            err = self.stderr()
            if err.count("listening on") >= self.nlisteners:
                return
            if not self.alive():
                raise RuntimeError("ringproxy exited (%s): %s" %
                                   (self.p.returncode, err[-3000:]))
            time.sleep(0.01)
        raise RuntimeError("ringproxy not listening after %.1fs: %s" %
                           (timeout, self.stderr()[-3000:]))

    def sanitizer_report(self):
        err = self.stderr()
        for m in SANITIZER_MARKERS:
            i = err.find(m)
            if i >= 0:
                return err[max(0, i - 200):i + 4000]
        return None

    def stats(self):
        """Sum over reactors of the 'stats reactor=N k=v ...' lines."""
        tot = {}
        for m in re.finditer(r"stats reactor=\d+ (.*)", self.stderr()):
            for k, v in re.findall(r"(?:^|\s)([\w-]+)=(-?\d+)", m.group(1)):
                tot[k] = tot.get(k, 0) + int(v)
        return tot


def nginx_conf_extras():
    """Temp path directives for the modules this nginx has."""
    try:
        v = subprocess.run(["nginx", "-V"], capture_output=True, timeout=10).stderr.decode()
    except (OSError, subprocess.TimeoutExpired):
        v = ""
    lines = ["client_body_temp_path tmp/body;", "proxy_temp_path tmp/proxy;"]
    for mod in ("fastcgi", "uwsgi", "scgi"):
        if "--without-http_%s_module" % mod not in v:
            lines.append("%s_temp_path tmp/%s;" % (mod, mod))
    return "\n    ".join(lines)


class Nginx(Proc):
    """A non-daemon nginx serving @root on 127.0.0.1:@port, its access log
    recording the connection serial of each request."""

    def __init__(self, tmpdir, root, name="nginx", port=None):
        self.dir = os.path.join(tmpdir, name)
        os.makedirs(os.path.join(self.dir, "tmp"), exist_ok=True)
        os.makedirs(os.path.join(self.dir, "logs"), exist_ok=True)
        self.port = port or free_port()
        self.access_log = os.path.join(self.dir, "logs", "access.log")
        # As root, the workers would switch to nobody and could not read a
        # private temporary directory; as non-root "user" would be ignored
        # with a warning, so leave it out.
        user = "user root;" if os.geteuid() == 0 else ""
        conf = """
%(user)s
daemon off;
master_process on;
worker_processes 1;
pid %(dir)s/nginx.pid;
error_log %(dir)s/logs/error.log warn;
events { worker_connections 512; }
http {
    log_format conn '$connection $connection_requests "$request" $status';
    access_log %(dir)s/logs/access.log conn;
    %(extras)s
    default_type application/octet-stream;
    keepalive_requests 100000;
    keepalive_timeout 60s;
    server {
        listen 127.0.0.1:%(port)d;
        server_name localhost;
        root %(root)s;
        location / { }
    }
}
""" % {"user": user, "dir": self.dir, "port": self.port, "root": root,
       "extras": nginx_conf_extras()}
        self.conf = os.path.join(self.dir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        super().__init__(["nginx", "-p", self.dir, "-e", os.path.join(
            self.dir, "logs", "error.log"), "-c", self.conf], tmpdir, name)
        wait_listening("127.0.0.1", self.port, proc=self)

    def log_lines(self):
        try:
            with open(self.access_log) as f:
                return [l.split() for l in f if l.strip()]
        except OSError:
            return []


class HAProxy(Proc):
    def __init__(self, tmpdir, cfg_text, ports, name="haproxy"):
        self.cfg = os.path.join(tmpdir, name + ".cfg")
        with open(self.cfg, "w") as f:
            f.write(cfg_text)
        super().__init__(["haproxy", "-f", self.cfg, "-db"], tmpdir, name)
        for host, port in ports:
            wait_listening(host, port, proc=self)


class EchoServer:
    """Echoes every byte back, on 127.0.0.1 (or ::1); the client's EOF is
    passed on as ours once everything is echoed."""

    def __init__(self, host="127.0.0.1"):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.ls = socket.socket(fam, socket.SOCK_STREAM)
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind((host, 0))
        self.ls.listen(64)
        self.ls.settimeout(0.2)
        self.port = self.ls.getsockname()[1]
        self.stopping = False
        self.conns = 0
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while not self.stopping:
            try:
                s, _ = self.ls.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.conns += 1
            threading.Thread(target=self._echo, args=(s,), daemon=True).start()

    def _echo(self, s):
        s.settimeout(20)
        try:
            while True:
                d = s.recv(65536)
                if not d:
                    break
                s.sendall(d)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        s.close()

    def stop(self):
        self.stopping = True
        self.ls.close()


class TempDir:
    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="rp-http-")

    def cleanup(self):
        shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.cleanup()


# ---- parsing HTTP/1.1 on a socket -------------------------------------------


class ProtocolError(Exception):
    pass


class Reader:
    """A buffered reader over a socket with a timeout."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.eof = False

    def _fill(self):
        if self.eof:
            return False
        d = self.sock.recv(65536)
        if not d:
            self.eof = True
            return False
        self.buf += d
        return True

    def line(self, limit=65536):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                l, self.buf = self.buf[:i], self.buf[i + 2:]
                return l
            if len(self.buf) > limit:
                raise ProtocolError("line too long")
            if not self._fill():
                raise EOFError("EOF in a line (have %r)" % self.buf[:200])

    def exact(self, n):
        while len(self.buf) < n:
            if not self._fill():
                raise EOFError("EOF after %d of %d bytes" % (len(self.buf), n))
        d, self.buf = self.buf[:n], self.buf[n:]
        return d

    def until_eof(self, limit=1 << 30):
        while self._fill():
            if len(self.buf) > limit:
                raise ProtocolError("too much")
        d, self.buf = self.buf, b""
        return d

    def head(self, limit=1 << 20):
        while True:
            i = self.buf.find(b"\r\n\r\n")
            if i >= 0:
                h, self.buf = self.buf[:i + 4], self.buf[i + 4:]
                return h
            if len(self.buf) > limit:
                raise ProtocolError("head too long")
            if not self._fill():
                if self.buf:
                    raise EOFError("EOF in a head: %r" % self.buf[:300])
                return None


def parse_headers(lines):
    hdrs = []
    for l in lines:
        if b":" not in l:
            raise ProtocolError("bad header line %r" % l)
        n, v = l.split(b":", 1)
        hdrs.append((n.decode("latin-1"), v.strip(b" \t").decode("latin-1")))
    return hdrs


class Headers(list):
    def get(self, name, default=None):
        for n, v in self:
            if n.lower() == name.lower():
                return v
        return default

    def get_all(self, name):
        return [v for n, v in self if n.lower() == name.lower()]

    def has(self, name):
        return any(n.lower() == name.lower() for n, v in self)

    def tokens(self, name):
        """Comma-separated list values of every line of @name, lowercased."""
        out = []
        for v in self.get_all(name):
            out += [t.strip().lower() for t in v.split(",") if t.strip()]
        return out


class Response:
    def __init__(self, version, status, reason, headers, body, raw_head, framing,
                 trailers=None, raw_body=b""):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.raw_head = raw_head
        self.framing = framing  # "length", "chunked", "close", "none"
        self.trailers = trailers or Headers()
        self.raw_body = raw_body

    def __repr__(self):
        return "<Response %d %s, %d body bytes, %s>" % (
            self.status, self.headers, len(self.body), self.framing)


def read_chunked(r):
    """Decodes a chunked body strictly; (payload, trailers, raw)."""
    body = []
    raw = []
    while True:
        line = r.line()
        raw.append(line + b"\r\n")
        size_s = line.split(b";", 1)[0].strip()
        if not re.fullmatch(rb"[0-9A-Fa-f]{1,16}", size_s):
            raise ProtocolError("bad chunk size line %r" % line)
        size = int(size_s, 16)
        if size == 0:
            break
        d = r.exact(size)
        body.append(d)
        raw.append(d)
        crlf = r.exact(2)
        raw.append(crlf)
        if crlf != b"\r\n":
            raise ProtocolError("no CRLF after chunk data")
    trailers = []
    while True:
        line = r.line()
        raw.append(line + b"\r\n")
        if not line:
            break
        trailers.append(line)
    return b"".join(body), Headers(parse_headers(trailers)), b"".join(raw)


def read_response(r, method="GET", allow_interim=False):
    """Reads one response from Reader @r (skipping 1xx unless
    @allow_interim). None on a clean EOF before any byte."""
    while True:
        raw = r.head()
        if raw is None:
            return None
        lines = raw[:-4].split(b"\r\n")
        m = re.fullmatch(rb"HTTP/(\d\.\d) (\d{3}) ?(.*)", lines[0])
        if not m:
            raise ProtocolError("bad status line %r" % lines[0])
        status = int(m.group(2))
        hdrs = Headers(parse_headers(lines[1:]))
        if 100 <= status < 200 and status != 101 and not allow_interim:
            continue
        break
    version = m.group(1).decode()
    reason = m.group(3).decode("latin-1")
    te = hdrs.tokens("transfer-encoding")
    cls = hdrs.get_all("content-length")
    if len(set(cls)) > 1:
        raise ProtocolError("several Content-Length: %r" % cls)
    if te and cls:
        raise ProtocolError("Content-Length with Transfer-Encoding")
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        if status in (204,) and (te or cls):
            raise ProtocolError("framing header in a 204")
        return Response(version, status, reason, hdrs, b"", raw, "none")
    if te:
        if te != ["chunked"]:
            raise ProtocolError("unexpected Transfer-Encoding %r" % te)
        body, trailers, rawb = read_chunked(r)
        return Response(version, status, reason, hdrs, body, raw, "chunked",
                        trailers, rawb)
    if cls:
        body = r.exact(int(cls[0]))
        return Response(version, status, reason, hdrs, body, raw, "length")
    body = r.until_eof()
    return Response(version, status, reason, hdrs, body, raw, "close")


class Client:
    """A raw HTTP/1.1 client connection."""

    def __init__(self, port, host="127.0.0.1", timeout=SOCK_TIMEOUT, source=None):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        if source:
            self.sock.bind((source, 0))
        self.sock.connect((host, port))
        self.r = Reader(self.sock)

    def send(self, data):
        self.sock.sendall(data)

    def request(self, method="GET", target="/", headers=(), body=None,
                host="localhost", version="1.1"):
        h = "%s %s HTTP/%s\r\n" % (method, target, version)
        if host is not None:
            h += "Host: %s\r\n" % host
        for n, v in headers:
            h += "%s: %s\r\n" % (n, v)
        if body is not None and not any(n.lower() in ("content-length",
                                                     "transfer-encoding")
                                        for n, v in headers):
            h += "Content-Length: %d\r\n" % len(body)
        data = h.encode("latin-1") + b"\r\n" + (body or b"")
        self.send(data)
        return self.response(method)

    def response(self, method="GET", allow_interim=False):
        return read_response(self.r, method, allow_interim)

    def closed(self, timeout=3.0):
        """True when the peer closes (EOF or reset) within @timeout with no
        more data; False on a timeout; raises if data arrives."""
        if self.r.buf:
            raise ProtocolError("unread data: %r" % self.r.buf[:200])
        old = self.sock.gettimeout()
        self.sock.settimeout(timeout)
        try:
            d = self.sock.recv(65536)
            if d:
                raise ProtocolError("unexpected data: %r" % d[:200])
            return True
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
        finally:
            self.sock.settimeout(old)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def exchange_raw(port, data, timeout=5.0, host="127.0.0.1"):
    """Sends @data, reads until the peer closes: (bytes, closed). closed is
    False when the read timed out with the connection still open."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect((host, port))
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        got = b""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return got, False
            s.settimeout(left)
            try:
                d = s.recv(65536)
            except socket.timeout:
                return got, False
            except ConnectionResetError:
                return got, True
            if not d:
                return got, True
            got += d


def status_of(raw):
    m = re.match(rb"HTTP/1\.[01] (\d{3}) ", raw)
    return int(m.group(1)) if m else None


# ---- the recording backend --------------------------------------------------


class Request:
    """One request as the backend received it."""

    def __init__(self, conn_id, raw_head, method, target, version, headers):
        self.conn_id = conn_id
        self.raw_head = raw_head
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = b""
        self.raw_body = b""
        self.complete = False  # the whole body arrived, framed correctly

    def __repr__(self):
        return "<Request %s %s conn=%d complete=%s>" % (self.method, self.target,
                                                        self.conn_id, self.complete)


def _read_request_body(r, req):
    te = req.headers.tokens("transfer-encoding")
    cl = req.headers.get("content-length")
    if te:
        if te != ["chunked"]:
            raise ProtocolError("backend: request TE %r" % te)
        body, _, raw = read_chunked(r)
        req.body, req.raw_body = body, raw
    elif cl is not None:
        req.body = req.raw_body = r.exact(int(cl))
    req.complete = True


class BackendConn:
    def __init__(self, backend, sock, conn_id):
        self.backend = backend
        self.sock = sock
        self.id = conn_id
        self.r = Reader(sock)
        self.raw = b""  # everything received on it

    def send(self, data):
        self.sock.sendall(data)


def default_response(backend, conn, req, status=200, extra_headers=(), body=None):
    if body is None:
        body = ("name=%s conn=%d target=%s sha=%s len=%d\n" % (
            backend.name, conn.id, req.target, sha256(req.body), len(req.body))).encode()
    h = "HTTP/1.1 %d %s\r\nContent-Length: %d\r\nX-Backend: %s\r\n" % (
        status, "OK" if status == 200 else "X", len(body), backend.name)
    for n, v in extra_headers:
        h += "%s: %s\r\n" % (n, v)
    return h.encode() + b"\r\n" + (b"" if req.method == "HEAD" else body)


class Backend:
    """A threaded HTTP/1.1 backend on 127.0.0.1 (or ::1) recording every
    request. @handler(backend, conn, req) answers: it returns bytes to send
    (the connection then stays open for the next request), None after it
    answered by itself, or the string "close" to close the connection
    without a word. The default answers 200 with a body naming the backend,
    the connection and the sha256 of the request body."""

    def __init__(self, name="b", handler=None, host="127.0.0.1", read_body=True,
                 expect_continue=True, port=0):
        self.name = name
        self.handler = handler
        self.read_body = read_body
        self.expect_continue = expect_continue
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.lsock = socket.socket(fam, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((host, port))
        self.lsock.listen(256)
        self.lsock.settimeout(0.2)
        self.port = self.lsock.getsockname()[1]
        self.addr = ("[%s]:%d" if ":" in host else "%s:%d") % (host, self.port)
        self.lock = threading.Lock()
        self.conns = []
        self.requests = []
        self.errors = []
        self.stopping = False
        self.threads = []
        t = threading.Thread(target=self._accept_loop, daemon=True)
        t.start()
        self.accept_thread = t

    # -- what it saw
    @property
    def nconns(self):
        with self.lock:
            return len(self.conns)

    @property
    def total_bytes(self):
        with self.lock:
            return sum(len(c.raw) for c in self.conns)

    def raw_all(self):
        with self.lock:
            return b"".join(c.raw for c in self.conns)

    def complete_requests(self):
        with self.lock:
            return [r for r in self.requests if r.complete]

    def wait_requests(self, n, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= n:
                    return True
            time.sleep(0.01)
        return False

    # -- machinery
    def _accept_loop(self):
        while not self.stopping:
            try:
                s, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            s.settimeout(SOCK_TIMEOUT)
            with self.lock:
                c = BackendConn(self, s, len(self.conns))
                self.conns.append(c)
            t = threading.Thread(target=self._serve, args=(c,), daemon=True)
            t.start()
            self.threads.append(t)

    def _recording_fill(self, c):
        orig = c.r._fill

        def fill():
            n = len(c.r.buf)
            ok = orig()
            if ok:
                with self.lock:
                    c.raw += c.r.buf[n:]
            return ok
        c.r._fill = fill

    def _serve(self, c):
        self._recording_fill(c)
        try:
            while not self.stopping:
                raw = c.r.head()
                if raw is None:
                    break
                lines = raw[:-4].split(b"\r\n")
                parts = lines[0].decode("latin-1").split(" ")
                if len(parts) != 3:
                    raise ProtocolError("backend: bad request line %r" % lines[0])
                req = Request(c.id, raw, parts[0], parts[1], parts[2],
                              Headers(parse_headers(lines[1:])))
                with self.lock:
                    self.requests.append(req)
                if (self.expect_continue and
                        req.headers.get("expect", "").lower() == "100-continue"):
                    c.send(b"HTTP/1.1 100 Continue\r\n\r\n")
                if (req.headers.has("content-length") or
                        req.headers.has("transfer-encoding")):
                    if self.read_body:
                        _read_request_body(c.r, req)
                else:
                    req.complete = True
                h = self.handler or default_response
                out = h(self, c, req)
                if out == "close":
                    break
                if out:
                    c.send(out)
                if req.headers.get("connection", "").lower() == "close":
                    break
        except (EOFError, OSError, ProtocolError) as e:
            if not self.stopping:
                with self.lock:
                    self.errors.append(repr(e))
        finally:
            try:
                c.sock.close()
            except OSError:
                pass

    def stop(self):
        self.stopping = True
        try:
            self.lsock.close()
        except OSError:
            pass
        with self.lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                c.sock.close()
            except OSError:
                pass
        self.accept_thread.join(2)

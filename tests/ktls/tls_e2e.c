// SPDX-License-Identifier: BSD-2-Clause
/*
 * tls_e2e: end-to-end test of ringproxy's TLS termination and its kTLS
 * handoff, meant to run as the payload of tests/ktls/run.sh inside a qemu
 * guest whose kernel has the tls ULP (tests/ktls/ringproxy_e2e.sh sets it up).
 *
 * 1. tcp mode. It forks a plain TCP echo backend on 127.0.0.1:9000, starts
 *   ringproxy reverse --listen 127.0.0.1:8443 --to 127.0.0.1:9000
 *     --tls-cert CERT --tls-key KEY --tls-ktls on --reactors 1 --tunnel splice
 * with its stdout and stderr in /tmp/ringproxy-ktls.log, waits until the port
 * listens (read from /proc/net/tcp, so no probe connection reaches the
 * proxy), then for TLS 1.3 and TLS 1.2 (AES-128-GCM) sends MIB MiB of
 * deterministic pseudo-random data through it while reading the echo in the
 * same poll loop (non-blocking BoringSSL), checks every byte and the SHA-256
 * of both streams, and prints the throughput; then 8 MiB more over TLS 1.2
 * with ChaCha20-Poly1305 (the guest loads its modules too).
 *   Then KeyUpdate, three TLS 1.3 connections: 1 MiB echoed (the third does
 * not wait for the echo), SSL_key_update (update_not_requested,
 * update_requested, update_not_requested), 1 MiB more. The kernel either
 * rekeys and the echo goes on, or (6.1, which cannot) ringproxy ends the
 * connection: close_notify, EOF or a reset are all accepted, a TLS error
 * (a corrupt record) or a byte that is not the stream's, in order, fails.
 * Which it was is printed. A fresh 256 KiB echo after each shows ringproxy
 * still serving.
 *   Then a TLS half-close, TLS 1.3 and 1.2: 1 MiB sent and at once our
 * close_notify, the read side kept open; the backend echoes this stream
 * slowly, so most of it is still to come. ringproxy must pass the
 * close_notify on as EOF and forward the whole echo before its own
 * close_notify (or a plain EOF; not a reset): an early close_notify would
 * cut the echo short, as the client ignores whatever follows it.
 *   Then resumption, TLS 1.3 and 1.2: the client handshakes and writes
 * nothing until a session ticket came (TLS 1.3 ones follow the handshake:
 * ringproxy writes them before the kTLS handoff, and the kernel's sequence
 * numbers start past them, which an echo then checks), and a second
 * connection offers it: resumed (stats: resumed == 2), with kTLS.
 *   It stops ringproxy with SIGTERM and sums its per-reactor
 * "stats reactor=N ..." lines: every connection accepted, handshaken and
 * with kTLS on both sides (accepted == handshakes == ktls_tx == ktls_rx ==
 * the connections made, userspace == 0) and at least 2 * MIB MiB spliced in
 * each direction (up, less up to 32 KiB a connection: what came with its
 * handshake goes by copy; nothing else may).
 *
 * 2. http mode. It forks an HTTP/1.1 origin on 127.0.0.1:9001 (keep-alive;
 * GET /bytes/N: 200 with N bytes of a fixed stream; POST /sha: the SHA-256
 * of the body in hex) and starts
 *   ringproxy reverse --mode http --listen 127.0.0.1:8444
 *     --to 127.0.0.1:9001 --tls-cert CERT --tls-key KEY --tls-ktls on
 *     --reactors 1
 * (log /tmp/ringproxy-http.log). On one keep-alive connection each, TLS 1.3
 * and TLS 1.2 (ALPN http/1.1) send GET /bytes/100, GET /bytes/8388608 (body
 * checked byte by byte and by SHA-256), POST /sha with 8 MiB (the origin's
 * hash checked) and GET /bytes/1000; TLS 1.3 then sends a KeyUpdate and
 * GET /bytes/2000, which is answered (a kernel that rekeys) or the
 * connection ends as above, before any byte of a response. Stats: both
 * connections with kTLS, 2xx == requests == those answered (8 or 9), no
 * bad request or response, and splice carried the big bodies:
 * >= 2 * (8 MiB - 64 KiB) each way (what comes with a head goes through the
 * copy path first).
 *
 * --compare then repeats the TLS 1.3 echo through a third ringproxy with
 * --tls-ktls off (port 8445) and prints both rates; no assertion on them.
 * --ktls off runs everything with --tls-ktls off instead, and skips the
 * checks that need kTLS (for a host without the tls module: the KeyUpdate
 * runs then show BoringSSL rekeying in userspace).
 *
 * Prints "TLS-E2E OK tls13=<MiB/s> tls12=<MiB/s> ... keyupdate=<how each of
 * the three ended> http=<requests> ... keyupdate=<how>" and exits 0, or the
 * relevant part of ringproxy's log and "TLS-E2E FAIL <reason>" and exits 1.
 * Every wait is bounded, and alarm(--timeout) is the global watchdog.
 *
 *   tls_e2e [--ringproxy PATH] [--cert F] [--key F] [--mib N] [--compare]
 *           [--timeout S] [--sni NAME] [--rp-arg ARG]... [--ktls on|off]
 *   tls_e2e --connect ADDR:PORT [--mib N] [--sni NAME] [--timeout S]
 *
 * --connect runs only the client's two bulk echoes against an existing TLS
 * echo server (IPv4 literal or [IPv6]:PORT; no name lookup), e.g. socat on
 * the host. --rp-arg appends one argument to the command line of every
 * ringproxy started. Builds against BoringSSL only (-I/usr/include/android,
 * see ringproxy_e2e.sh).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>

#define PROXY_PORT   8443
#define HTTP_PORT    8444
#define COMPARE_PORT 8445
#define BACKEND_PORT 9000
#define ORIGIN_PORT  9001
#define CHUNK	     (16u << 10)
#define MIB	     (1ull << 20)
#define MAX_RP_ARGS  16
#define MAX_STATS    64

/* The KeyUpdate runs: bytes echoed before the KeyUpdate, then after it. */
#define KU_PRE	(1ull << 20)
#define KU_POST (1ull << 20)
/* The half-close runs: bytes sent before our close_notify, in stream
 * HC_SEED, which the echo backend recognises by its first 8 bytes and
 * echoes slowly (HC_DELAY_US before each write): most of the echo is then
 * still on its way when the close_notify reaches ringproxy. */
#define HC_BYTES    (1ull << 20)
#define HC_SEED	    0x68616c66636c6full
#define HC_DELAY_US (20 * 1000)
/* A fresh connection's echo that shows ringproxy healthy after each. */
#define HEALTH_BYTES (256ull << 10)
/* The TLS 1.2 ChaCha20-Poly1305 run. */
#define CHACHA_BYTES (8ull << 20)
/* The big bodies of the HTTP run, and what of each may go through the copy
 * path before splice takes over (the bytes read with the head: at most a
 * buffer, 20 KiB, plus a record). */
#define HTTP_BIG     (8ull << 20)
#define SPLICE_SLACK (64ull << 10)
/* Plaintext that may come with a client's handshake (its first records,
 * decrypted with it: at most two): ringproxy forwards it by copy. */
#define EARLY_MAX (32ull << 10)
/* The origin's GET /bytes/N is the first N bytes of this stream. */
#define GET_SEED 0x4745545f62797465ull

/* Bounds of the individual waits, in seconds; TCG is slow, so generous. */
#define CONNECT_S   10
#define HANDSHAKE_S 30
#define STALL_S	    60
#define LISTEN_S    60
#define EXIT_S	    40

static struct {
	const char *ringproxy, *cert, *key, *connect, *sni;
	const char *rp_args[MAX_RP_ARGS];
	unsigned n_rp_args, mib, timeout_s;
	bool compare, ktls_on;
} opt = {
	.ringproxy = "/payload/ringproxy",
	.cert = "/payload/cert.pem",
	.key = "/payload/key.pem",
	.mib = 32,
	.timeout_s = 240,
	.ktls_on = true,
};

/* What runs now: the watchdog and fail() kill these and show this log. */
static pid_t backend_pid, origin_pid, proxy_pid;
static const char *proxy_log;
static int client_fd = -1;
static const char *volatile stage = "starting";

struct stat_sum {
	char key[48];
	unsigned long long val;
};

struct result {
	double secs, mibps;
	char cipher[64];
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void say(const char *s)
{
	size_t n = strlen(s);

	while (n) {
		ssize_t w = write(STDOUT_FILENO, s, n);

		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

/*
 * Echoes the end of ringproxy's log (at most 80 lines), each line prefixed.
 * Only open/read/write, so the watchdog may call it from its handler.
 */
static void dump_log(void)
{
	static char buf[64 << 10];
	size_t len = 0, start, lines = 0;
	ssize_t n;
	int fd;

	if (!proxy_log)
		return;
	fd = open(proxy_log, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	/* keep the last sizeof(buf) bytes of the file */
	for (;;) {
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == sizeof(buf)) {
			memmove(buf, buf + sizeof(buf) / 2, sizeof(buf) / 2);
			len = sizeof(buf) / 2;
		}
	}
	close(fd);
	/* from the start of the 80th line before the end */
	start = len && buf[len - 1] == '\n' ? len - 1 : len;
	while (start > 0 && !(buf[start - 1] == '\n' && ++lines == 80))
		start--;
	say("--- ringproxy log ");
	say(proxy_log);
	say(len ? " (end) ---\n" : " (empty) ---\n");
	while (start < len) {
		char *nl = memchr(buf + start, '\n', len - start);
		size_t e = nl ? (size_t)(nl - buf) : len;

		say("ringproxy| ");
		if (write(STDOUT_FILENO, buf + start, e - start) < 0)
			return;
		say("\n");
		start = e + 1;
	}
	say("--- end of ringproxy log ---\n");
}

static void on_alarm(int sig)
{
	(void)sig;
	if (proxy_pid > 0)
		kill(proxy_pid, SIGKILL);
	if (backend_pid > 0)
		kill(backend_pid, SIGKILL);
	if (origin_pid > 0)
		kill(origin_pid, SIGKILL);
	dump_log();
	say("TLS-E2E FAIL watchdog: no verdict within the --timeout, while ");
	say(stage);
	say("\n");
	_exit(1);
}

/* Waits up to @secs for @pid; returns its wait status, or -1 if it is alive. */
static int wait_bounded(pid_t pid, double secs)
{
	double end = now() + secs;
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return st;
		if (r < 0)
			return 0; /* not our child any more: already reaped */
		if (now() >= end)
			return -1;
		usleep(20 * 1000);
	}
}

static void stop_children(void)
{
	if (client_fd >= 0) {
		close(client_fd);
		client_fd = -1;
	}
	if (proxy_pid > 0) {
		/* TERM first: its log then ends with the stats lines */
		kill(proxy_pid, SIGTERM);
		if (wait_bounded(proxy_pid, 10) < 0) {
			kill(proxy_pid, SIGKILL);
			wait_bounded(proxy_pid, 5);
		}
		proxy_pid = 0;
	}
	if (backend_pid > 0) {
		kill(backend_pid, SIGKILL);
		wait_bounded(backend_pid, 5);
		backend_pid = 0;
	}
	if (origin_pid > 0) {
		kill(origin_pid, SIGKILL);
		wait_bounded(origin_pid, 5);
		origin_pid = 0;
	}
}

static void __attribute__((noreturn, format(printf, 1, 2))) fail(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fflush(stdout);
	stop_children();
	dump_log();
	printf("TLS-E2E FAIL %s\n", msg);
	fflush(stdout);
	exit(1);
}

/* The first queued BoringSSL error, as text, or @dflt. */
static const char *ssl_err(const char *dflt)
{
	static char buf[256];
	uint32_t e = ERR_get_error();

	if (!e)
		return dflt;
	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return buf;
}

/* --- the test stream -------------------------------------------------------- */

/* splitmix64: the 8 bytes at offset 8*i of stream @seed are mix(seed, i). */
static inline uint64_t mix(uint64_t seed, uint64_t i)
{
	uint64_t x = seed * 0xd1342543de82ef95ull + i * 0x9e3779b97f4a7c15ull;

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Fills @buf with @len bytes of stream @seed from offset @off. */
static void gen(uint64_t seed, uint64_t off, uint8_t *buf, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint64_t w = mix(seed, (off + i) / 8);
		unsigned b = (unsigned)((off + i) % 8);

		for (; b < 8 && i < len; b++, i++)
			buf[i] = (uint8_t)(w >> (8 * b));
	}
}

/* --- sockets --------------------------------------------------------------- */

static int parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[128];
	const char *colon = strrchr(s, ':');
	long port;
	char *end;

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -EINVAL;
	port = strtol(colon + 1, &end, 10);
	if (*end || port <= 0 || port > 65535)
		return -EINVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = 0;
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		host[strlen(host) - 1] = 0;
		if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1)
			return -EINVAL;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return -EINVAL;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		*len = sizeof(*a);
	}
	return 0;
}

static void loopback(struct sockaddr_storage *ss, socklen_t *len, int port)
{
	struct sockaddr_in *a = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*len = sizeof(*a);
}

/* Polls one fd for @events, at most @secs; fails the test on timeout. */
static void poll_one(int fd, short events, double secs, const char *what)
{
	struct pollfd p = {.fd = fd, .events = events};
	int r;

	do
		r = poll(&p, 1, (int)(secs * 1000));
	while (r < 0 && errno == EINTR);
	if (r < 0)
		fail("poll while %s: %s", what, strerror(errno));
	if (r == 0)
		fail("no progress in %.0f s while %s", secs, what);
}

static int connect_bounded(const struct sockaddr_storage *ss, socklen_t len)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int err = 0, one = 1;
	socklen_t elen = sizeof(err);

	if (fd < 0)
		fail("socket: %s", strerror(errno));
	client_fd = fd;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)ss, len) < 0) {
		if (errno != EINPROGRESS)
			fail("connect: %s", strerror(errno));
		poll_one(fd, POLLOUT, CONNECT_S, "connecting");
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err)
			fail("connect: %s", strerror(err ? err : errno));
	}
	return fd;
}

/* --- the client ------------------------------------------------------------ */

static const char *version_name(int v)
{
	return v == TLS1_3_VERSION ? "TLS 1.3" : "TLS 1.2";
}

/* One client TLS connection. */
struct tconn {
	SSL_CTX *ctx;
	SSL *ssl;
	int fd, version;
	char cipher[64];
};

/*
 * Connects to @ss and handshakes at exactly @version (AES-128-GCM, checked),
 * offering @alpn (NULL: none; else it must be what the server picks). Fails
 * the test on any error.
 */
/* The TLS 1.2 suites offered, and the cipher the handshake must end on:
 * AES-128-GCM, but for the ChaCha20-Poly1305 run. */
static const char *tls12_suites =
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256";
static int want_nid = NID_aes_128_gcm;

/* Resumption (resume()): while catch_tickets is set, tls_open() keeps the
 * first session a connection's ticket makes in ticket; it offers offer,
 * when set. */
static bool catch_tickets;
static SSL_SESSION *ticket, *offer;

static int new_session(SSL *ssl, SSL_SESSION *sess)
{
	(void)ssl;
	if (ticket)
		return 0;
	ticket = sess;
	return 1; /* the reference is ours */
}

static void tls_open(struct tconn *c, const struct sockaddr_storage *ss, socklen_t sslen,
		     int version, const char *alpn)
{
	const SSL_CIPHER *ci;

	stage = version == TLS1_3_VERSION ? "TLS 1.3 handshake" : "TLS 1.2 handshake";
	memset(c, 0, sizeof(*c));
	c->version = version;
	c->ctx = SSL_CTX_new(TLS_method());
	if (!c->ctx || !SSL_CTX_set_min_proto_version(c->ctx, (uint16_t)version) ||
	    !SSL_CTX_set_max_proto_version(c->ctx, (uint16_t)version))
		fail("SSL_CTX for %s: %s", version_name(version), ssl_err("?"));
	/* TLS 1.3 suites are not configurable in BoringSSL; checked below */
	if (version == TLS1_2_VERSION &&
	    !SSL_CTX_set_strict_cipher_list(c->ctx, tls12_suites))
		fail("cipher list: %s", ssl_err("?"));
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_mode(c->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE);
	if (catch_tickets) {
		SSL_CTX_set_session_cache_mode(
			c->ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
		SSL_CTX_sess_set_new_cb(c->ctx, new_session);
	}

	c->fd = connect_bounded(ss, sslen);
	c->ssl = SSL_new(c->ctx);
	if (!c->ssl || !SSL_set_fd(c->ssl, c->fd))
		fail("SSL_new: %s", ssl_err("?"));
	SSL_set_connect_state(c->ssl);
	if (offer && !SSL_set_session(c->ssl, offer))
		fail("SSL_set_session: %s", ssl_err("?"));
	if (opt.sni && !SSL_set_tlsext_host_name(c->ssl, opt.sni))
		fail("SNI %s: %s", opt.sni, ssl_err("?"));
	if (alpn) {
		uint8_t wire[64];
		size_t n = strlen(alpn);

		wire[0] = (uint8_t)n;
		memcpy(wire + 1, alpn, n);
		if (SSL_set_alpn_protos(c->ssl, wire, (unsigned)n + 1))
			fail("ALPN %s: %s", alpn, ssl_err("?"));
	}
	for (;;) {
		int r = SSL_do_handshake(c->ssl), e;

		if (r == 1)
			break;
		e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_READ)
			poll_one(c->fd, POLLIN, HANDSHAKE_S, stage);
		else if (e == SSL_ERROR_WANT_WRITE)
			poll_one(c->fd, POLLOUT, HANDSHAKE_S, stage);
		else
			fail("%s handshake: %s (SSL error %d, errno %s)",
			     version_name(version), ssl_err("connection closed"), e,
			     strerror(errno));
	}
	ci = SSL_get_current_cipher(c->ssl);
	snprintf(c->cipher, sizeof(c->cipher), "%s", SSL_CIPHER_standard_name(ci));
	if (SSL_version(c->ssl) != version)
		fail("asked for %s, got %s", version_name(version),
		     SSL_get_version(c->ssl));
	/* the guest loads only the gcm modules; a BoringSSL server without
	 * AES-NI picks ChaCha20 for TLS 1.3 (run the guest with -cpu max) */
	if (SSL_CIPHER_get_cipher_nid(ci) != want_nid)
		fail("%s negotiated %s, not %s", version_name(version), c->cipher,
		     want_nid == NID_aes_128_gcm ? "AES-128-GCM" : "ChaCha20-Poly1305");
	if (alpn) {
		const uint8_t *sel;
		unsigned len;

		SSL_get0_alpn_selected(c->ssl, &sel, &len);
		if (len != strlen(alpn) || memcmp(sel, alpn, len))
			fail("%s: offered ALPN %s, the server picked '%.*s'",
			     version_name(version), alpn, (int)len, (const char *)sel);
	}
}

/* Ends @c: our close_notify when @notify (the peer's is not awaited). */
static void tls_close(struct tconn *c, bool notify)
{
	stage = "closing the client connection";
	if (notify && SSL_shutdown(c->ssl) < 0)
		ERR_clear_error();
	ERR_clear_error();
	SSL_free(c->ssl);
	SSL_CTX_free(c->ctx);
	close(c->fd);
	client_fd = -1;
}

/* Waits (at most 1 s) for @c's socket, after a round that made no progress;
 * fails the test once nothing moved for STALL_S seconds since @last. */
static void idle_wait(const struct tconn *c, bool want_out, double last, const char *what)
{
	struct pollfd p = {.fd = c->fd,
			   .events = (short)(POLLIN | (want_out ? POLLOUT : 0))};

	if (now() - last > STALL_S)
		fail("%s: %s: stalled for %d s", version_name(c->version), what, STALL_S);
	if (poll(&p, 1, 1000) < 0 && errno != EINTR)
		fail("poll: %s", strerror(errno));
}

/* How an echo stream ended, when the test allows it to end. */
enum stream_end { END_NONE, END_CLOSE_NOTIFY, END_EOF, END_RESET };

static const char *end_name(enum stream_end e)
{
	switch (e) {
	case END_CLOSE_NOTIFY:
		return "close_notify";
	case END_EOF:
		return "EOF without close_notify";
	case END_RESET:
		return "connection reset";
	default:
		return "none";
	}
}

/* Stream @seed through the echo on @c: bytes sent and echoed so far. */
struct echo_stream {
	struct tconn *c;
	uint64_t seed, sent, rcvd, chunk_at, bad_at;
	SHA256_CTX hs, hr;
	bool wclosed;	/* a write failed (the peer went away); @werr */
	int werr;	/* its errno */
	uint64_t wend;	/* bytes sent by then */
	uint64_t rcvd0; /* bytes echoed when a phase ended (for messages) */
	uint8_t wbuf[CHUNK];
};

static void stream_init(struct echo_stream *s, struct tconn *c, uint64_t seed)
{
	memset(s, 0, sizeof(*s));
	s->c = c;
	s->seed = seed;
	s->chunk_at = s->bad_at = UINT64_MAX;
	SHA256_Init(&s->hs);
	SHA256_Init(&s->hr);
}

/*
 * Sends the stream up to @send_to bytes while reading its echo, until all
 * that is sent and @recv_to bytes came back, checking each byte (the first
 * wrong one is s->bad_at) and that no more come back than went (@recv_to
 * UINT64_MAX: until the end). Without @may_end any end
 * of the connection fails the test. With it, an end (close_notify, EOF, a
 * reset; a refused write stops the writes and the reads go on to see it) is
 * returned instead. A TLS error (a record that does not decrypt or is not
 * expected) fails the test either way: that is a corrupt stream.
 */
static enum stream_end echo_pump(struct echo_stream *s, uint64_t send_to,
				 uint64_t recv_to, bool may_end)
{
	static uint8_t rbuf[64 << 10], ebuf[64 << 10];
	struct tconn *c = s->c;
	const char *v = version_name(c->version);
	double last = now();

	while (s->rcvd < recv_to || (!s->wclosed && s->sent < send_to)) {
		bool progress = false, want_out = false;

		while (!s->wclosed && s->sent < send_to) {
			uint64_t at = s->sent - s->sent % CHUNK;
			size_t off = (size_t)(s->sent - at);
			size_t len =
				(size_t)(send_to - at < CHUNK ? send_to - at : CHUNK);
			int n, e;

			if (at != s->chunk_at) {
				gen(s->seed, at, s->wbuf, CHUNK);
				s->chunk_at = at;
			}
			n = SSL_write(c->ssl, s->wbuf + off, (int)(len - off));
			if (n > 0) {
				SHA256_Update(&s->hs, s->wbuf + off, (size_t)n);
				s->sent += (uint64_t)n;
				progress = true;
				continue;
			}
			e = SSL_get_error(c->ssl, n);
			if (e == SSL_ERROR_WANT_WRITE) {
				want_out = true;
			} else if (may_end && (e == SSL_ERROR_SYSCALL ||
					       e == SSL_ERROR_ZERO_RETURN)) {
				s->wclosed = true;
				s->werr = errno;
				s->wend = s->sent;
				ERR_clear_error();
			} else if (e != SSL_ERROR_WANT_READ) {
				fail("%s: SSL_write after %llu bytes: %s (SSL error %d, "
				     "errno %s)",
				     v, (unsigned long long)s->sent,
				     ssl_err("connection closed"), e, strerror(errno));
			}
			break;
		}
		for (;;) {
			int n = SSL_read(c->ssl, rbuf, sizeof(rbuf)), e, en;

			if (n > 0) {
				if (s->rcvd + (uint64_t)n > s->sent)
					fail("%s: received %llu bytes, more than the "
					     "%llu sent",
					     v,
					     (unsigned long long)(s->rcvd + (uint64_t)n),
					     (unsigned long long)s->sent);
				SHA256_Update(&s->hr, rbuf, (size_t)n);
				gen(s->seed, s->rcvd, ebuf, (size_t)n);
				if (s->bad_at == UINT64_MAX &&
				    memcmp(ebuf, rbuf, (size_t)n)) {
					size_t i = 0;

					while (ebuf[i] == rbuf[i])
						i++;
					s->bad_at = s->rcvd + i;
				}
				s->rcvd += (uint64_t)n;
				progress = true;
				continue;
			}
			en = errno;
			e = SSL_get_error(c->ssl, n);
			if (e == SSL_ERROR_WANT_WRITE) {
				want_out = true;
			} else if (e == SSL_ERROR_ZERO_RETURN) {
				if (may_end)
					return END_CLOSE_NOTIFY;
				fail("%s: the proxy sent close_notify after %llu of %llu "
				     "echoed bytes (%llu sent)",
				     v, (unsigned long long)s->rcvd,
				     (unsigned long long)recv_to,
				     (unsigned long long)s->sent);
			} else if (e == SSL_ERROR_SYSCALL && may_end &&
				   (en == ECONNRESET || en == EPIPE)) {
				ERR_clear_error();
				return END_RESET;
			} else if (e == SSL_ERROR_SYSCALL && may_end && n == 0) {
				/* a write may have taken the reset's error */
				ERR_clear_error();
				return s->wclosed && s->werr == ECONNRESET ? END_RESET
									   : END_EOF;
			} else if (e != SSL_ERROR_WANT_READ) {
				fail("%s: SSL_read after %llu of %llu echoed bytes (%llu "
				     "sent): %s (SSL error %d, errno %s)",
				     v, (unsigned long long)s->rcvd,
				     (unsigned long long)recv_to,
				     (unsigned long long)s->sent,
				     ssl_err("connection closed without close_notify"), e,
				     strerror(en));
			}
			break;
		}
		if (s->rcvd >= recv_to && (s->wclosed || s->sent >= send_to))
			break;
		if (progress) {
			last = now();
			continue;
		}
		if (now() - last > STALL_S)
			fail("%s: stalled for %d s: %llu of %llu bytes sent, %llu of "
			     "%llu "
			     "echoed",
			     v, STALL_S, (unsigned long long)s->sent,
			     (unsigned long long)send_to, (unsigned long long)s->rcvd,
			     (unsigned long long)recv_to);
		idle_wait(c, want_out, last, stage);
	}
	return END_NONE;
}

/*
 * One connection: handshake at @version, then @total bytes of stream @seed
 * through the echo and back, checked byte by byte and by SHA-256. Fails the
 * test on any error; fills @res.
 */
static void transfer(const struct sockaddr_storage *ss, socklen_t sslen, int version,
		     uint64_t total, uint64_t seed, struct result *res)
{
	uint8_t dsent[SHA256_DIGEST_LENGTH], drcvd[SHA256_DIGEST_LENGTH];
	static struct echo_stream s;
	struct tconn c;
	double t0;

	tls_open(&c, ss, sslen, version, NULL);
	snprintf(res->cipher, sizeof(res->cipher), "%s", c.cipher);
	stage = version == TLS1_3_VERSION ? "TLS 1.3 transfer" : "TLS 1.2 transfer";
	stream_init(&s, &c, seed);
	t0 = now();
	echo_pump(&s, total, total, false);
	res->secs = now() - t0;
	res->mibps = (double)total / (double)MIB / (res->secs > 0 ? res->secs : 1e-9);
	SHA256_Final(dsent, &s.hs);
	SHA256_Final(drcvd, &s.hr);
	printf("tls_e2e: %s %s: %llu bytes each way in %.2f s (%.1f MiB/s), sha256 "
	       "sent=%02x%02x%02x%02x.. echoed=%02x%02x%02x%02x.. %s\n",
	       version_name(version), res->cipher, (unsigned long long)total, res->secs,
	       res->mibps, dsent[0], dsent[1], dsent[2], dsent[3], drcvd[0], drcvd[1],
	       drcvd[2], drcvd[3],
	       memcmp(dsent, drcvd, sizeof(dsent)) ? "DIFFER" : "match");
	if (memcmp(dsent, drcvd, sizeof(dsent)) || s.bad_at != UINT64_MAX)
		fail("%s: the echo differs from what was sent, first at byte %llu",
		     version_name(version), (unsigned long long)s.bad_at);
	/* close_notify, as a well-behaved client ends */
	tls_close(&c, true);
}

/*
 * Resumption by ticket at @version, the client writing nothing until it has
 * one (as gnutls-cli --resume does). TLS 1.3 tickets follow the handshake:
 * ringproxy must write them itself, with BoringSSL, before it hands the keys
 * to the kernel, and the kernel's TX sequence must then start past them
 * (else the records it encrypts do not decrypt: the echo after the ticket
 * shows it). A second connection offers the ticket: resumed, kTLS again.
 */
static void resume(const struct sockaddr_storage *ss, socklen_t sslen, int version)
{
	static struct echo_stream s;
	struct tconn c;
	uint8_t b;

	catch_tickets = true;
	ticket = NULL;
	tls_open(&c, ss, sslen, version, NULL);
	stage = "waiting for a session ticket, nothing written";
	while (!ticket) {
		int r = SSL_read(c.ssl, &b, 1), e;

		if (r > 0)
			fail("%s: a byte of application data before the client sent "
			     "any",
			     version_name(version));
		e = SSL_get_error(c.ssl, r);
		if (e != SSL_ERROR_WANT_READ)
			fail("%s: the connection ended before a session ticket came: %s "
			     "(SSL error %d)",
			     version_name(version), ssl_err("closed"), e);
		/* fails when nothing comes: the tickets held for a write */
		if (!ticket)
			poll_one(c.fd, POLLIN, 5, stage);
	}
	stage = "the echo after the session ticket";
	stream_init(&s, &c, 0x7469636b6574ull + (uint64_t)version);
	echo_pump(&s, HEALTH_BYTES, HEALTH_BYTES, false);
	if (s.bad_at != UINT64_MAX)
		fail("%s: the echo after the ticket differs, first at byte %llu",
		     version_name(version), (unsigned long long)s.bad_at);
	tls_close(&c, true);

	catch_tickets = false;
	offer = ticket;
	tls_open(&c, ss, sslen, version, NULL);
	offer = NULL;
	if (!SSL_session_reused(c.ssl))
		fail("%s: the session ticket was offered and not resumed",
		     version_name(version));
	stage = "the echo on the resumed connection";
	stream_init(&s, &c, 0x726573756d65ull + (uint64_t)version);
	echo_pump(&s, HEALTH_BYTES, HEALTH_BYTES, false);
	if (s.bad_at != UINT64_MAX)
		fail("%s: the echo on the resumed connection differs, first at byte "
		     "%llu",
		     version_name(version), (unsigned long long)s.bad_at);
	tls_close(&c, true);
	SSL_SESSION_free(ticket);
	ticket = NULL;
	printf("tls_e2e: %s: a session ticket with nothing written, resumed\n",
	       version_name(version));
}

/*
 * TLS 1.3 KeyUpdate through the kTLS tunnel: KU_PRE bytes sent, their echo
 * awaited (or, with @inflight, not: the KeyUpdate then overtakes echo bytes
 * still in ringproxy's pipes and sockets), then SSL_key_update(@type) and
 * KU_POST more bytes. A kernel that rekeys goes on echoing; one that cannot
 * (6.1) must have ringproxy end the connection (close_notify, EOF or at
 * worst a reset) rather than pass on anything wrong. Either way every byte
 * that came back must be the stream's, in order. Returns the outcome in a
 * word, for the OK line.
 */
static const char *keyupdate(const struct sockaddr_storage *ss, socklen_t sslen, int type,
			     bool inflight)
{
	static char words[4][32];
	static unsigned runs;
	static struct echo_stream s;
	char name[64];
	const uint64_t total = KU_PRE + KU_POST;
	char *out = words[runs++ % 4];
	enum stream_end end;
	struct tconn c;
	double t0;

	snprintf(name, sizeof(name), "%s%s",
		 type == SSL_KEY_UPDATE_REQUESTED ? "update_requested"
						  : "update_not_requested",
		 inflight ? ", echo in flight" : "");
	tls_open(&c, ss, sslen, TLS1_3_VERSION, NULL);
	stage = "KeyUpdate: the bytes before it";
	stream_init(&s, &c, 0x4b55ull + (uint64_t)type + 2 * inflight);
	t0 = now();
	echo_pump(&s, KU_PRE, inflight ? 0 : KU_PRE, false);
	if (s.bad_at != UINT64_MAX)
		fail("KeyUpdate(%s): the echo before the KeyUpdate differs from what "
		     "was sent, first at byte %llu",
		     name, (unsigned long long)s.bad_at);
	if (!SSL_key_update(c.ssl, type))
		fail("SSL_key_update(%s): %s", name, ssl_err("?"));
	stage = "KeyUpdate: writing after it";
	end = echo_pump(&s, total, total, true);
	if (s.bad_at != UINT64_MAX)
		fail("KeyUpdate(%s): echoed byte %llu differs from what was sent "
		     "(%llu bytes echoed, %llu sent, the KeyUpdate after byte %llu; "
		     "end: %s)",
		     name, (unsigned long long)s.bad_at, (unsigned long long)s.rcvd,
		     (unsigned long long)s.sent, (unsigned long long)KU_PRE,
		     end_name(end));
	if (end == END_NONE) {
		printf("tls_e2e: KeyUpdate(%s): the echo went on across it: %llu bytes "
		       "each way, all as sent (%.2f s)\n",
		       name, (unsigned long long)total, now() - t0);
		snprintf(out, sizeof(words[0]), "rekeyed");
	} else {
		char wr[192] = "";

		if (s.wclosed)
			snprintf(wr, sizeof(wr), "; writes refused after %llu bytes (%s)",
				 (unsigned long long)s.wend, strerror(s.werr));
		if (s.rcvd < KU_PRE)
			snprintf(wr + strlen(wr), sizeof(wr) - strlen(wr),
				 "; NOTE the echo of %llu bytes sent before the "
				 "KeyUpdate never came",
				 (unsigned long long)(KU_PRE - s.rcvd));
		printf("tls_e2e: KeyUpdate(%s): ringproxy ended the connection with %s "
		       "after %llu echoed bytes (the KeyUpdate followed byte %llu), all "
		       "as sent; %llu bytes sent%s (%.2f s)\n",
		       name, end_name(end), (unsigned long long)s.rcvd,
		       (unsigned long long)KU_PRE, (unsigned long long)s.sent, wr,
		       now() - t0);
		snprintf(out, sizeof(words[0]), "%s",
			 end == END_CLOSE_NOTIFY ? "close_notify"
			 : end == END_EOF	 ? "eof"
						 : "reset");
	}
	tls_close(&c, end == END_NONE);
	return out;
}

/*
 * TLS half-close at @version: HC_BYTES sent, then our close_notify at once,
 * with most of the echo still to come; our read side stays open. ringproxy
 * must take the close_notify as the client's EOF (the backend gets a FIN),
 * go on forwarding the echo, and only then send its own close_notify (or a
 * plain EOF when its socket is full: best effort): every byte must come
 * back before the end. A close_notify first would cut the echo short (the
 * client ignores whatever follows it). Returns the end in a word.
 */
static const char *half_close(const struct sockaddr_storage *ss, socklen_t sslen,
			      int version)
{
	static struct echo_stream s;
	const char *v = version_name(version);
	enum stream_end end;
	struct tconn c;
	double t0;
	int r;

	tls_open(&c, ss, sslen, version, NULL);
	stage = "half-close: sending, then close_notify";
	stream_init(&s, &c, HC_SEED);
	t0 = now();
	echo_pump(&s, HC_BYTES, 0, false);
	while ((r = SSL_shutdown(c.ssl)) < 0) {
		int e = SSL_get_error(c.ssl, r);

		if (e == SSL_ERROR_WANT_WRITE)
			poll_one(c.fd, POLLOUT, STALL_S, stage);
		else
			fail("%s half-close: SSL_shutdown: %s (SSL error %d, errno %s)",
			     v, ssl_err("?"), e, strerror(errno));
	}
	s.rcvd0 = s.rcvd;
	stage = "half-close: reading the rest of the echo";
	end = echo_pump(&s, HC_BYTES, UINT64_MAX, true);
	if (s.bad_at != UINT64_MAX)
		fail("%s half-close: echoed byte %llu differs from what was sent "
		     "(%llu of %llu echoed)",
		     v, (unsigned long long)s.bad_at, (unsigned long long)s.rcvd,
		     (unsigned long long)HC_BYTES);
	printf("tls_e2e: %s half-close: %llu of %llu bytes echoed (%llu of them "
	       "after our close_notify), then %s (%.2f s)\n",
	       v, (unsigned long long)s.rcvd, (unsigned long long)HC_BYTES,
	       (unsigned long long)(s.rcvd - s.rcvd0), end_name(end), now() - t0);
	if (s.rcvd != HC_BYTES)
		fail("%s half-close: ringproxy ended the connection with %s after "
		     "%llu of the %llu echoed bytes: it cut the backend's data short "
		     "after the client's close_notify (a half-close)",
		     v, end_name(end), (unsigned long long)s.rcvd,
		     (unsigned long long)HC_BYTES);
	if (end == END_RESET)
		fail("%s half-close: ringproxy reset the connection after the whole "
		     "echo; both directions ended cleanly",
		     v);
	tls_close(&c, false);
	return end == END_CLOSE_NOTIFY ? "close_notify" : "eof";
}

/* --- HTTP over the kTLS front ------------------------------------------------ */

/* The value of header @name in the NUL-terminated head @h (after its first
 * line), spaces trimmed, or false. */
static bool header_value(const char *h, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	const char *p = strstr(h, "\r\n");

	while (p && p[2] && !(p[2] == '\r' && p[3] == '\n')) {
		const char *line = p + 2, *end = strstr(line, "\r\n");

		if (!end)
			return false;
		if (!strncasecmp(line, name, nl) && line[nl] == ':') {
			const char *v = line + nl + 1;
			size_t n;

			while (*v == ' ' || *v == '\t')
				v++;
			n = (size_t)(end - v);
			while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
				n--;
			if (n >= cap)
				n = cap - 1;
			memcpy(out, v, n);
			out[n] = 0;
			return true;
		}
		p = end;
	}
	return false;
}

/* @head on one line, CRLFs shown as " | ", at most 300 bytes of it. */
static const char *one_line(const char *head)
{
	static char buf[512];
	size_t n = 0;

	for (; *head && n < 300; head++) {
		if (head[0] == '\r' && head[1] == '\n') {
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, " | ");
			head++;
		} else {
			buf[n++] = *head;
		}
	}
	buf[n] = 0;
	return buf;
}

/* One request and its response on a keep-alive connection. */
struct http_xchg {
	char method[8], path[64];
	uint64_t body_len, body_seed; /* the request body: stream @body_seed */
	uint64_t want_len;	      /* the response body: GET_SEED's first bytes */
	bool want_sha;		      /* or the SHA-256 of the request body, in hex */
};

static void hex(const uint8_t *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/*
 * Sends @x's request on @c (its body generated as it goes) while reading the
 * response: a 200 with a Content-Length body that is GET_SEED's stream (each
 * byte and the SHA-256 checked) or the SHA-256 of the request body. Any
 * other answer, an end of the connection, or more bytes than the response
 * fails the test; but with @may_end, an end (close_notify, EOF, a reset)
 * before any byte of the response is returned. A TLS error always fails.
 */
static enum stream_end http_exchange(struct tconn *c, const struct http_xchg *x,
				     bool may_end)
{
	static uint8_t wbuf[CHUNK], rbuf[64 << 10], ebuf[64 << 10];
	const char *v = version_name(c->version);
	char head[1024], rhead[4096], val[96], what[96];
	uint8_t dsent[SHA256_DIGEST_LENGTH], dbody[SHA256_DIGEST_LENGTH],
		dwant[SHA256_DIGEST_LENGTH];
	char text[160] = "", want[2 * SHA256_DIGEST_LENGTH + 1];
	uint64_t hlen, total, sent = 0, chunk_at = UINT64_MAX, got = 0, clen = 0;
	uint64_t bad_at = UINT64_MAX;
	size_t rhlen = 0, ntext = 0;
	bool head_done = false, wdead = false;
	SHA256_CTX hs, hb, hw;
	int status = 0;
	double t0 = now(), last = t0;

	snprintf(what, sizeof(what), "HTTP %s %s", x->method, x->path);
	stage = what;
	if (x->body_len)
		hlen = (uint64_t)snprintf(head, sizeof(head),
					  "%s %s HTTP/1.1\r\nHost: localhost\r\n"
					  "Content-Length: %llu\r\n\r\n",
					  x->method, x->path,
					  (unsigned long long)x->body_len);
	else
		hlen = (uint64_t)snprintf(head, sizeof(head),
					  "%s %s HTTP/1.1\r\nHost: localhost\r\n\r\n",
					  x->method, x->path);
	total = hlen + x->body_len;
	SHA256_Init(&hs);
	SHA256_Init(&hb);
	SHA256_Init(&hw);

	while (!head_done || got < clen) {
		bool progress = false, want_out = false;

		while (!wdead && sent < total) {
			const uint8_t *p;
			size_t len;
			int n, e;

			if (sent < hlen) {
				p = (const uint8_t *)head + sent;
				len = (size_t)(hlen - sent);
			} else {
				uint64_t b = sent - hlen, at = b - b % CHUNK;
				uint64_t clen_ = x->body_len - at < CHUNK
							 ? x->body_len - at
							 : CHUNK;

				if (at != chunk_at) {
					gen(x->body_seed, at, wbuf, (size_t)clen_);
					chunk_at = at;
				}
				p = wbuf + (b - at);
				len = (size_t)(clen_ - (b - at));
			}
			n = SSL_write(c->ssl, p, (int)len);
			if (n > 0) {
				if (sent >= hlen)
					SHA256_Update(&hs, p, (size_t)n);
				sent += (uint64_t)n;
				progress = true;
				continue;
			}
			e = SSL_get_error(c->ssl, n);
			if (e == SSL_ERROR_WANT_WRITE)
				want_out = true;
			else if (may_end &&
				 (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN))
				wdead = true; /* the reads see how it ended */
			else if (e != SSL_ERROR_WANT_READ)
				fail("%s: %s: SSL_write after %llu of %llu request "
				     "bytes: %s "
				     "(SSL error %d, errno %s)",
				     v, what, (unsigned long long)sent,
				     (unsigned long long)total,
				     ssl_err("connection closed"), e, strerror(errno));
			break;
		}
		for (;;) {
			int n = SSL_read(c->ssl, rbuf, sizeof(rbuf)), e, en;
			size_t off = 0, m;

			if (n <= 0) {
				en = errno;
				e = SSL_get_error(c->ssl, n);
				if (may_end && !rhlen && e == SSL_ERROR_ZERO_RETURN)
					return END_CLOSE_NOTIFY;
				if (may_end && !rhlen && e == SSL_ERROR_SYSCALL) {
					ERR_clear_error();
					if (en == ECONNRESET || en == EPIPE)
						return END_RESET;
					if (n == 0)
						return END_EOF;
				}
				if (e == SSL_ERROR_WANT_WRITE)
					want_out = true;
				else if (e != SSL_ERROR_WANT_READ)
					fail("%s: %s: the connection ended (%s; SSL "
					     "error %d, "
					     "errno %s) after %llu of %llu request bytes "
					     "sent, response: %s, %llu of %llu body "
					     "bytes",
					     v, what,
					     e == SSL_ERROR_ZERO_RETURN
						     ? "close_notify"
						     : ssl_err("no close_notify"),
					     e, strerror(en), (unsigned long long)sent,
					     (unsigned long long)total,
					     head_done ? "head read" : "no head yet",
					     (unsigned long long)got,
					     (unsigned long long)clen);
				break;
			}
			progress = true;
			if (head_done && got == clen)
				fail("%s: %s: %d bytes after the whole response", v, what,
				     n);
			if (!head_done) {
				char *eoh;

				m = (size_t)n < sizeof(rhead) - 1 - rhlen
					    ? (size_t)n
					    : sizeof(rhead) - 1 - rhlen;
				memcpy(rhead + rhlen, rbuf, m);
				rhlen += m;
				rhead[rhlen] = 0;
				eoh = strstr(rhead, "\r\n\r\n");
				if (!eoh) {
					if (rhlen == sizeof(rhead) - 1)
						fail("%s: %s: no end of the response "
						     "head in "
						     "%zu bytes",
						     v, what, rhlen);
					continue;
				}
				/* the bytes of rbuf past the head are body */
				off = m - (rhlen - (size_t)(eoh + 4 - rhead));
				eoh[2] = 0;
				rhlen = (size_t)(eoh + 2 - rhead);
				head_done = true;
				if (sscanf(rhead, "HTTP/1.1 %d", &status) != 1 ||
				    status != 200)
					fail("%s: %s: the response is not a 200 but "
					     "'%.*s' (%llu of %llu request bytes sent)",
					     v, what, (int)strcspn(rhead, "\r\n"), rhead,
					     (unsigned long long)sent,
					     (unsigned long long)total);
				if (!header_value(rhead, "Content-Length", val,
						  sizeof(val)))
					fail("%s: %s: no Content-Length in the response: "
					     "%s",
					     v, what, one_line(rhead));
				clen = strtoull(val, NULL, 10);
				if (clen != (x->want_sha ? 2 * SHA256_DIGEST_LENGTH
							 : x->want_len))
					fail("%s: %s: Content-Length %llu, expected %llu",
					     v, what, (unsigned long long)clen,
					     (unsigned long long)(x->want_sha
									  ? 2 * SHA256_DIGEST_LENGTH
									  : x->want_len));
				if (sent < total)
					fail("%s: %s: the response came with %llu of "
					     "%llu "
					     "request bytes sent",
					     v, what, (unsigned long long)sent,
					     (unsigned long long)total);
			}
			m = (size_t)n - off;
			if (got + m > clen)
				fail("%s: %s: %llu bytes after the whole response", v,
				     what, (unsigned long long)(got + m - clen));
			if (x->want_sha) {
				memcpy(text + ntext, rbuf + off, m);
				ntext += m;
			} else {
				gen(GET_SEED, got, ebuf, m);
				SHA256_Update(&hb, rbuf + off, m);
				SHA256_Update(&hw, ebuf, m);
				if (bad_at == UINT64_MAX && memcmp(ebuf, rbuf + off, m)) {
					size_t i = 0;

					while (ebuf[i] == rbuf[off + i])
						i++;
					bad_at = got + i;
				}
			}
			got += m;
		}
		if (head_done && got == clen)
			break;
		if (progress) {
			last = now();
			continue;
		}
		if (now() - last > STALL_S)
			fail("%s: %s: stalled for %d s: %llu of %llu request bytes sent, "
			     "response: %s, %llu of %llu body bytes",
			     v, what, STALL_S, (unsigned long long)sent,
			     (unsigned long long)total,
			     head_done ? "head read" : "no head yet",
			     (unsigned long long)got, (unsigned long long)clen);
		idle_wait(c, want_out, last, what);
	}

	if (x->want_sha) {
		SHA256_Final(dsent, &hs);
		hex(dsent, sizeof(dsent), want);
		text[ntext] = 0;
		printf("tls_e2e: %s %s %s: %llu body bytes up in %.2f s, the origin's "
		       "sha256 %.16s.. %s\n",
		       v, x->method, x->path, (unsigned long long)x->body_len, now() - t0,
		       text, strcmp(text, want) ? "DIFFERS" : "matches");
		if (strcmp(text, want))
			fail("%s: %s: the origin hashed the body to %s, the client sent "
			     "%s",
			     v, what, text, want);
	} else {
		char gh[2 * SHA256_DIGEST_LENGTH + 1];

		SHA256_Final(dbody, &hb);
		SHA256_Final(dwant, &hw);
		hex(dbody, sizeof(dbody), gh);
		hex(dwant, sizeof(dwant), want);
		printf("tls_e2e: %s %s %s: %llu body bytes down in %.2f s, sha256 "
		       "%.16s.. %s\n",
		       v, x->method, x->path, (unsigned long long)clen, now() - t0, gh,
		       strcmp(gh, want) ? "DIFFERS" : "matches");
		if (strcmp(gh, want) || bad_at != UINT64_MAX)
			fail("%s: %s: the body differs from the origin's, first at byte "
			     "%llu (sha256 %s, expected %s)",
			     v, what, (unsigned long long)bad_at, gh, want);
	}
	return END_NONE;
}

/*
 * One keep-alive connection through the HTTP listener at @version: a small
 * GET, a GET of HTTP_BIG, a POST of HTTP_BIG, a small GET. With TLS 1.3 then
 * a KeyUpdate and one more small GET: a kernel that rekeys answers it, one
 * that cannot must end the connection cleanly (the outcome in a word goes to
 * @ku). Returns the number of requests answered.
 */
static unsigned http_session(const struct sockaddr_storage *ss, socklen_t sslen,
			     int version, const char **ku)
{
	struct http_xchg x[5] = {
		{.method = "GET", .want_len = 100},
		{.method = "GET", .want_len = HTTP_BIG},
		{.method = "POST",
		 .body_len = HTTP_BIG,
		 .body_seed = 0x504f5354ull + (uint64_t)version,
		 .want_sha = true},
		{.method = "GET", .want_len = 1000},
		{.method = "GET", .want_len = 2000},
	};
	enum stream_end end = END_NONE;
	unsigned n = 4;
	struct tconn c;

	for (unsigned i = 0; i < 5; i++)
		if (x[i].want_sha)
			snprintf(x[i].path, sizeof(x[i].path), "/sha");
		else
			snprintf(x[i].path, sizeof(x[i].path), "/bytes/%llu",
				 (unsigned long long)x[i].want_len);
	tls_open(&c, ss, sslen, version, "http/1.1");
	for (unsigned i = 0; i < 4; i++)
		http_exchange(&c, &x[i], false);
	if (version == TLS1_3_VERSION) {
		if (!SSL_key_update(c.ssl, SSL_KEY_UPDATE_NOT_REQUESTED))
			fail("SSL_key_update: %s", ssl_err("?"));
		end = http_exchange(&c, &x[4], true);
		if (end == END_NONE) {
			n++;
			printf("tls_e2e: %s http: after a KeyUpdate the next request "
			       "was answered\n",
			       version_name(version));
		} else {
			printf("tls_e2e: %s http: after a KeyUpdate ringproxy ended the "
			       "connection with %s before the next response\n",
			       version_name(version), end_name(end));
		}
		*ku = end == END_NONE		? "rekeyed"
		      : end == END_CLOSE_NOTIFY ? "close_notify"
		      : end == END_EOF		? "eof"
						: "reset";
	}
	tls_close(&c, end == END_NONE);
	return n;
}

/* --- the echo backend and ringproxy ----------------------------------------- */

/* Echoes @fd until EOF; the half-close stream (HC_SEED) slowly. */
static void echo(int fd)
{
	static char buf[64 << 10];
	bool first = true, slow = false;
	uint8_t mark[8];
	ssize_t n;

	gen(HC_SEED, 0, mark, sizeof(mark));
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (first)
			slow = n >= 8 && !memcmp(buf, mark, sizeof(mark));
		first = false;
		if (slow)
			usleep(HC_DELAY_US);
		for (ssize_t off = 0, w; off < n; off += w) {
			w = write(fd, buf + off, (size_t)(n - off));
			if (w < 0) {
				if (errno == EINTR) {
					w = 0;
					continue;
				}
				_exit(0);
			}
		}
	}
	shutdown(fd, SHUT_WR);
	_exit(0);
}

/* Writes all of @buf to @fd, or ends the process (the peer went away). */
static void write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(0);
		p += w;
		len -= (size_t)w;
	}
}

/*
 * One connection of the HTTP/1.1 origin, keep-alive: each request head is
 * parsed and its Content-Length body read; GET /bytes/N answers 200 with
 * the first N bytes of stream GET_SEED, POST /sha the SHA-256 of the body in
 * hex, anything else 404. Ends at EOF, or after a request with
 * "Connection: close".
 */
static void origin_conn(int fd)
{
	static char buf[64 << 10], out[64 << 10];
	size_t len = 0;
	int one = 1;

	/* a head and a short body are two writes: no Nagle wait between */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (;;) {
		char head[16 << 10], method[16], path[256], val[64], resp[256];
		uint8_t digest[SHA256_DIGEST_LENGTH];
		unsigned long long clen = 0, left, n;
		bool close_after = false, sha;
		size_t hlen, rl;
		SHA256_CTX h;
		char *eoh;

		while (!(eoh = memmem(buf, len, "\r\n\r\n", 4))) {
			ssize_t r;

			if (len == sizeof(buf))
				_exit(1);
			r = read(fd, buf + len, sizeof(buf) - len);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				_exit(0);
			len += (size_t)r;
		}
		hlen = (size_t)(eoh + 4 - buf);
		if (hlen - 2 > sizeof(head) - 1)
			_exit(1);
		memcpy(head, buf, hlen - 2); /* up to the last header's CRLF */
		head[hlen - 2] = 0;
		if (sscanf(head, "%15s %255s", method, path) != 2)
			_exit(1);
		if (header_value(head, "Content-Length", val, sizeof(val)))
			clen = strtoull(val, NULL, 10);
		if (header_value(head, "Connection", val, sizeof(val)) &&
		    strcasestr(val, "close"))
			close_after = true;
		sha = !strcmp(method, "POST") && !strcmp(path, "/sha");

		/* the body: what came with the head, then the rest */
		SHA256_Init(&h);
		left = clen;
		n = len - hlen < left ? len - hlen : left;
		SHA256_Update(&h, buf + hlen, (size_t)n);
		left -= n;
		memmove(buf, buf + hlen + n, len - hlen - (size_t)n);
		len -= hlen + (size_t)n;
		while (left) {
			ssize_t r =
				read(fd, out, left < sizeof(out) ? left : sizeof(out));

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				_exit(0);
			SHA256_Update(&h, out, (size_t)r);
			left -= (unsigned long long)r;
		}

		if (sha) {
			char hx[2 * SHA256_DIGEST_LENGTH + 1];

			SHA256_Final(digest, &h);
			hex(digest, sizeof(digest), hx);
			rl = (size_t)snprintf(
				resp, sizeof(resp),
				"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
				"Content-Length: %zu\r\n\r\n%s",
				strlen(hx), hx);
			write_all(fd, resp, rl);
		} else if (!strcmp(method, "GET") && !strncmp(path, "/bytes/", 7)) {
			unsigned long long total = strtoull(path + 7, NULL, 10), off;

			rl = (size_t)snprintf(resp, sizeof(resp),
					      "HTTP/1.1 200 OK\r\nContent-Type: "
					      "application/octet-stream\r\n"
					      "Content-Length: %llu\r\n\r\n",
					      total);
			write_all(fd, resp, rl);
			for (off = 0; off < total; off += n) {
				n = total - off < sizeof(out) ? total - off : sizeof(out);
				gen(GET_SEED, off, (uint8_t *)out, (size_t)n);
				write_all(fd, out, (size_t)n);
			}
		} else {
			rl = (size_t)snprintf(resp, sizeof(resp),
					      "HTTP/1.1 404 Not Found\r\n"
					      "Content-Length: 10\r\n\r\nnot found\n");
			write_all(fd, resp, rl);
		}
		if (close_after) {
			shutdown(fd, SHUT_WR);
			_exit(0);
		}
	}
}

/* A TCP server on 127.0.0.1:@port, a process per connection running @serve;
 * its pid goes to @pid. */
static void start_server(int port, void (*serve)(int), pid_t *pid, const char *what)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int ls, one = 1;

	stage = what;
	loopback(&ss, &len, port);
	ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(ls, (struct sockaddr *)&ss, len) < 0 || listen(ls, 64) < 0)
		fail("%s on 127.0.0.1:%d: %s", what, port, strerror(errno));
	fflush(stdout);
	*pid = fork();
	if (*pid < 0)
		fail("fork: %s", strerror(errno));
	if (*pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		signal(SIGCHLD, SIG_IGN); /* connection processes reap themselves */
		signal(SIGALRM, SIG_DFL);
		for (;;) {
			int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
			pid_t p;

			if (c < 0) {
				if (errno == EINTR || errno == ECONNABORTED)
					continue;
				_exit(1);
			}
			p = fork();
			if (p == 0) {
				prctl(PR_SET_PDEATHSIG, SIGKILL);
				close(ls);
				serve(c);
				_exit(0);
			}
			close(c);
		}
	}
	close(ls);
}

/* Whether something listens on 127.0.0.1:@port or 0.0.0.0:@port. */
static bool listening(int port)
{
	char line[512], want1[32], want2[32];
	bool found = false;
	FILE *f = fopen("/proc/net/tcp", "re");

	if (!f)
		fail("/proc/net/tcp: %s", strerror(errno));
	snprintf(want1, sizeof(want1), "0100007F:%04X", port);
	snprintf(want2, sizeof(want2), "00000000:%04X", port);
	while (!found && fgets(line, sizeof(line), f)) {
		char local[64], remote[64], st[8];

		if (sscanf(line, " %*[0-9]: %63s %63s %7s", local, remote, st) == 3 &&
		    (!strcmp(local, want1) || !strcmp(local, want2)) && !strcmp(st, "0A"))
			found = true;
	}
	fclose(f);
	return found;
}

static void describe_status(int st, char *out, size_t len)
{
	if (WIFEXITED(st))
		snprintf(out, len, "exit status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(out, len, "killed by signal %d (%s)", WTERMSIG(st),
			 strsignal(WTERMSIG(st)));
	else
		snprintf(out, len, "wait status 0x%x", st);
}

/*
 * Starts ringproxy on @port with --tls-ktls @ktls, in tcp mode (--tunnel
 * splice) to the echo backend, or with @http in http mode to the origin; its
 * output goes to @log.
 */
static void start_proxy(int port, bool http, const char *ktls, const char *log)
{
	char listen_at[32], to[32], how[96];
	const char *argv[32 + MAX_RP_ARGS];
	unsigned n = 0;
	double end;

	snprintf(listen_at, sizeof(listen_at), "127.0.0.1:%d", port);
	snprintf(to, sizeof(to), "127.0.0.1:%d", http ? ORIGIN_PORT : BACKEND_PORT);
	argv[n++] = opt.ringproxy;
	argv[n++] = "reverse";
	if (http) {
		argv[n++] = "--mode";
		argv[n++] = "http";
	}
	argv[n++] = "--listen";
	argv[n++] = listen_at;
	argv[n++] = "--to";
	argv[n++] = to;
	argv[n++] = "--tls-cert";
	argv[n++] = opt.cert;
	argv[n++] = "--tls-key";
	argv[n++] = opt.key;
	argv[n++] = "--tls-ktls";
	argv[n++] = ktls;
	argv[n++] = "--reactors";
	argv[n++] = "1";
	if (!http) {
		argv[n++] = "--tunnel";
		argv[n++] = "splice";
	}
	for (unsigned i = 0; i < opt.n_rp_args; i++)
		argv[n++] = opt.rp_args[i];
	argv[n] = NULL;

	printf("tls_e2e: starting");
	for (unsigned i = 0; i < n; i++)
		printf(" %s", argv[i]);
	printf(" (log %s)\n", log);
	fflush(stdout);
	stage = "starting ringproxy";
	proxy_log = log;
	proxy_pid = fork();
	if (proxy_pid < 0)
		fail("fork: %s", strerror(errno));
	if (proxy_pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		sigset_t none;

		if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
			_exit(126);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* as a shell would start it: default dispositions, nothing blocked */
		signal(SIGPIPE, SIG_DFL);
		signal(SIGALRM, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv(opt.ringproxy, (char *const *)argv);
		dprintf(STDERR_FILENO, "tls_e2e: exec %s: %s\n", opt.ringproxy,
			strerror(errno));
		_exit(127);
	}

	stage = "waiting for ringproxy to listen";
	end = now() + LISTEN_S;
	while (!listening(port)) {
		int st;

		if (waitpid(proxy_pid, &st, WNOHANG) == proxy_pid) {
			proxy_pid = 0;
			describe_status(st, how, sizeof(how));
			fail("ringproxy ended before listening on %s (%s)", listen_at,
			     how);
		}
		if (now() >= end)
			fail("ringproxy does not listen on %s after %d s", listen_at,
			     LISTEN_S);
		usleep(50 * 1000);
	}
}

/* SIGTERM, then a bounded wait; fails unless ringproxy exits 0. */
static void stop_proxy(void)
{
	char how[96];
	double t0 = now();
	int st;

	stage = "waiting for ringproxy to drain and exit after SIGTERM";
	kill(proxy_pid, SIGTERM);
	st = wait_bounded(proxy_pid, EXIT_S);
	if (st < 0) {
		kill(proxy_pid, SIGKILL);
		wait_bounded(proxy_pid, 5);
		proxy_pid = 0;
		fail("ringproxy did not exit within %d s of SIGTERM", EXIT_S);
	}
	proxy_pid = 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		describe_status(st, how, sizeof(how));
		fail("ringproxy ended with %s after SIGTERM", how);
	}
	printf("tls_e2e: ringproxy exited 0 %.2f s after SIGTERM\n", now() - t0);
}

/*
 * Sums the key=value pairs of every "stats reactor=N ..." line of @log over
 * the reactors; keys of the "stats reactor=N tls ..." line get a "tls."
 * prefix, of the http line "http.". Returns the number of reactor lines.
 */
static unsigned parse_stats(const char *log, struct stat_sum *sums, unsigned *nsums)
{
	char line[2048];
	unsigned reactors = 0;
	FILE *f = fopen(log, "re");

	*nsums = 0;
	if (!f)
		fail("cannot read ringproxy's log %s: %s", log, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "stats reactor="), *save = NULL, *tok;
		const char *prefix = "";
		bool first = true;

		if (!p)
			continue;
		for (tok = strtok_r(p + 6, " \t\r\n", &save); tok;
		     tok = strtok_r(NULL, " \t\r\n", &save)) {
			char *eq = strchr(tok, '='), key[48];
			unsigned i;

			if (first) { /* reactor=N */
				first = false;
				continue;
			}
			if (!eq) {
				if (!strcmp(tok, "tls"))
					prefix = "tls.";
				else if (!strcmp(tok, "http"))
					prefix = "http.";
				continue;
			}
			*eq = 0;
			snprintf(key, sizeof(key), "%s%s", prefix, tok);
			for (i = 0; i < *nsums && strcmp(sums[i].key, key); i++)
				;
			if (i == *nsums) {
				if (*nsums == MAX_STATS)
					continue;
				snprintf(sums[i].key, sizeof(sums[i].key), "%s", key);
				sums[i].val = 0;
				(*nsums)++;
			}
			sums[i].val += strtoull(eq + 1, NULL, 10);
		}
		if (!*prefix)
			reactors++;
	}
	fclose(f);
	return reactors;
}

static unsigned long long stat_get(const struct stat_sum *sums, unsigned n,
				   const char *key)
{
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(sums[i].key, key))
			return sums[i].val;
	return 0;
}

/* --- main ------------------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr,
		"usage: tls_e2e [--ringproxy PATH] [--cert F] [--key F] [--mib N] "
		"[--compare]\n"
		"               [--timeout S] [--sni NAME] [--rp-arg ARG]... [--ktls "
		"on|off]\n"
		"       tls_e2e --connect ADDR:PORT [--mib N] [--sni NAME] [--timeout "
		"S]\n");
	exit(2);
}

static void parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--compare")) {
			opt.compare = true;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--ringproxy"))
			opt.ringproxy = v;
		else if (!strcmp(a, "--cert"))
			opt.cert = v;
		else if (!strcmp(a, "--key"))
			opt.key = v;
		else if (!strcmp(a, "--connect"))
			opt.connect = v;
		else if (!strcmp(a, "--sni"))
			opt.sni = v;
		else if (!strcmp(a, "--mib") && atoi(v) > 0 && atoi(v) <= 4096)
			opt.mib = (unsigned)atoi(v);
		else if (!strcmp(a, "--timeout") && atoi(v) > 0)
			opt.timeout_s = (unsigned)atoi(v);
		else if (!strcmp(a, "--rp-arg") && opt.n_rp_args < MAX_RP_ARGS)
			opt.rp_args[opt.n_rp_args++] = v;
		else if (!strcmp(a, "--ktls") && (!strcmp(v, "on") || !strcmp(v, "off")))
			opt.ktls_on = !strcmp(v, "on");
		else
			usage();
	}
}

/* Sums the stats of ringproxy's log and prints the @keys of them. */
static void load_stats(const char *label, const char *const *keys, unsigned nkeys,
		       struct stat_sum *sums, unsigned *nsums)
{
	char shown[1024];
	unsigned reactors;
	size_t sl = 0;

	stage = "checking ringproxy's stats";
	reactors = parse_stats(proxy_log, sums, nsums);
	for (unsigned i = 0; i < nkeys; i++)
		sl += (size_t)snprintf(shown + sl, sizeof(shown) - sl, " %s=%llu",
				       keys[i], stat_get(sums, *nsums, keys[i]));
	printf("tls_e2e: %s ringproxy stats over %u reactor(s):%s\n", label, reactors,
	       shown);
	if (!reactors)
		fail("%s: no \"stats reactor=N\" line in ringproxy's log", label);
}

/*
 * The TLS counters of @conns client connections, each handed to the kernel
 * (with --ktls on) or kept in userspace (off).
 */
static void check_tls_stats(const char *label, const struct stat_sum *sums, unsigned n,
			    unsigned long long conns)
{
	unsigned long long hs = stat_get(sums, n, "tls.handshakes");
	unsigned long long tx = stat_get(sums, n, "tls.ktls_tx");
	unsigned long long rx = stat_get(sums, n, "tls.ktls_rx");
	unsigned long long us = stat_get(sums, n, "tls.userspace");

	if (stat_get(sums, n, "accepted") != conns)
		fail("%s: ringproxy accepted %llu connections, the test made %llu", label,
		     stat_get(sums, n, "accepted"), conns);
	if (hs != conns)
		fail("%s: ringproxy counted %llu TLS handshakes, the test made %llu (is "
		     "there a \"stats reactor=N tls\" line?)",
		     label, hs, conns);
	if (stat_get(sums, n, "tls.failures"))
		fail("%s: ringproxy counted %llu failed TLS handshakes", label,
		     stat_get(sums, n, "tls.failures"));
	if (!opt.ktls_on) {
		if (us != conns)
			fail("%s: %llu of %llu connections in userspace TLS with "
			     "--tls-ktls off",
			     label, us, conns);
		return;
	}
	if (tx != conns || rx != conns)
		fail("%s: kTLS not on every connection: ktls_tx=%llu ktls_rx=%llu, "
		     "expected %llu each (ktls_fallbacks=%llu)",
		     label, tx, rx, conns, stat_get(sums, n, "tls.ktls_fallbacks"));
	if (us)
		fail("%s: %llu connection(s) stayed in userspace TLS with --tls-ktls on",
		     label, us);
}

int main(int argc, char **argv)
{
	static const char *const want[] = {
		"tls.handshakes",     "tls.resumed", "tls.failures",
		"tls.ktls_tx",	      "tls.ktls_rx", "tls.userspace",
		"tls.ktls_fallbacks", "accepted",    "up_splice",
		"down_splice",	      "up_copy",     "down_copy"};
	static const char *const want_http[] = {
		"tls.handshakes",    "tls.ktls_tx",	   "tls.ktls_rx",
		"tls.userspace",     "accepted",	   "http.requests",
		"http.2xx",	     "http.4xx",	   "http.5xx",
		"http.bad_requests", "http.bad_responses", "up_splice",
		"down_splice",	     "http.pool_reuses"};
	const char *ktls;
	struct stat_sum sums[MAX_STATS];
	struct result r13 = {0}, r12 = {0}, rcc = {0}, roff = {0}, rh = {0};
	const char *ku[4], *hc[2];
	struct sockaddr_storage ss;
	unsigned nsums;
	unsigned long long need, conns = 0, reqs = 0;
	double t0;
	socklen_t sslen;

	setvbuf(stdout, NULL, _IOLBF, 0);
	parse_args(argc, argv);
	ktls = opt.ktls_on ? "on" : "off";
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	alarm(opt.timeout_s);

	if (opt.connect) {
		if (parse_addr(opt.connect, &ss, &sslen))
			fail("--connect %s: not ADDR:PORT with an address literal",
			     opt.connect);
		transfer(&ss, sslen, TLS1_3_VERSION, (uint64_t)opt.mib * MIB,
			 TLS1_3_VERSION, &r13);
		transfer(&ss, sslen, TLS1_2_VERSION, (uint64_t)opt.mib * MIB,
			 TLS1_2_VERSION, &r12);
		printf("TLS-E2E OK tls13=%.1f tls12=%.1f (MiB/s each way, %u MiB, client "
		       "only against %s)\n",
		       r13.mibps, r12.mibps, opt.mib, opt.connect);
		return 0;
	}
	if (access(opt.ringproxy, X_OK) || access(opt.cert, R_OK) ||
	    access(opt.key, R_OK))
		fail("need an executable --ringproxy (%s) and readable --cert (%s) and "
		     "--key (%s)",
		     opt.ringproxy, opt.cert, opt.key);

	/* 1. tcp mode: the bulk echo, then KeyUpdate */
	start_server(BACKEND_PORT, echo, &backend_pid, "starting the echo backend");
	start_proxy(PROXY_PORT, false, ktls, "/tmp/ringproxy-ktls.log");
	loopback(&ss, &sslen, PROXY_PORT);
	transfer(&ss, sslen, TLS1_3_VERSION, (uint64_t)opt.mib * MIB, TLS1_3_VERSION,
		 &r13);
	transfer(&ss, sslen, TLS1_2_VERSION, (uint64_t)opt.mib * MIB, TLS1_2_VERSION,
		 &r12);
	/* ChaCha20-Poly1305 goes to the kernel too (the guest loads its
	 * modules): a smaller run, TLS 1.2, where the client can pick it. */
	tls12_suites = "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
	want_nid = NID_chacha20_poly1305;
	transfer(&ss, sslen, TLS1_2_VERSION, CHACHA_BYTES, 0x636861636861ull, &rcc);
	tls12_suites = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256";
	want_nid = NID_aes_128_gcm;
	conns = 3;
	for (int run = 0; run < 3; run++) {
		struct result rr;

		ku[run] = keyupdate(&ss, sslen,
				    run == 1 ? SSL_KEY_UPDATE_REQUESTED
					     : SSL_KEY_UPDATE_NOT_REQUESTED,
				    run == 2);
		/* ringproxy must still serve a fresh connection */
		stage = "the echo after a KeyUpdate run";
		transfer(&ss, sslen, TLS1_3_VERSION, HEALTH_BYTES,
			 0x6865616c74ull + (uint64_t)run, &rr);
		conns += 2;
	}
	for (int run = 0; run < 2; run++) {
		hc[run] = half_close(&ss, sslen, run ? TLS1_2_VERSION : TLS1_3_VERSION);
		conns++;
	}
	resume(&ss, sslen, TLS1_3_VERSION);
	resume(&ss, sslen, TLS1_2_VERSION);
	conns += 4;
	stop_proxy();

	load_stats("tcp:", want, sizeof(want) / sizeof(want[0]), sums, &nsums);
	check_tls_stats("tcp", sums, nsums, conns);
	if (stat_get(sums, nsums, "tls.resumed") != 2)
		fail("tcp: ringproxy counted %llu resumed handshakes, the test made 2",
		     stat_get(sums, nsums, "tls.resumed"));
	/* all the bulk data; up, less what each connection's handshake may
	 * have brought along (up_copy), made up for by the other runs */
	need = 2ull * opt.mib * MIB;
	if (opt.ktls_on &&
	    (stat_get(sums, nsums, "up_splice") < need - conns * EARLY_MAX ||
	     stat_get(sums, nsums, "down_splice") < need))
		fail("spliced up=%llu down=%llu bytes, expected >= %llu up and >= %llu "
		     "down (copy: up=%llu down=%llu)",
		     stat_get(sums, nsums, "up_splice"),
		     stat_get(sums, nsums, "down_splice"), need - conns * EARLY_MAX, need,
		     stat_get(sums, nsums, "up_copy"),
		     stat_get(sums, nsums, "down_copy"));
	if (opt.ktls_on && (stat_get(sums, nsums, "down_copy") ||
			    stat_get(sums, nsums, "up_copy") > conns * EARLY_MAX))
		fail("copied up=%llu down=%llu bytes with --tunnel splice: more than "
		     "the handshakes' early data (<= %llu up)",
		     stat_get(sums, nsums, "up_copy"), stat_get(sums, nsums, "down_copy"),
		     conns * EARLY_MAX);

	/* 2. http mode: keep-alive requests with big bodies, a KeyUpdate */
	start_server(ORIGIN_PORT, origin_conn, &origin_pid, "starting the HTTP origin");
	start_proxy(HTTP_PORT, true, ktls, "/tmp/ringproxy-http.log");
	loopback(&ss, &sslen, HTTP_PORT);
	t0 = now();
	reqs = http_session(&ss, sslen, TLS1_3_VERSION, &ku[3]);
	reqs += http_session(&ss, sslen, TLS1_2_VERSION, &ku[3]);
	rh.secs = now() - t0;
	stop_proxy();

	load_stats("http:", want_http, sizeof(want_http) / sizeof(want_http[0]), sums,
		   &nsums);
	check_tls_stats("http", sums, nsums, 2);
	if (stat_get(sums, nsums, "http.requests") != reqs ||
	    stat_get(sums, nsums, "http.2xx") != reqs)
		fail("http: ringproxy counted %llu requests and %llu 2xx, the test made "
		     "%llu requests, all answered 200",
		     stat_get(sums, nsums, "http.requests"),
		     stat_get(sums, nsums, "http.2xx"), reqs);
	if (stat_get(sums, nsums, "http.bad_requests") ||
	    stat_get(sums, nsums, "http.bad_responses"))
		fail("http: ringproxy counted %llu bad requests, %llu bad responses",
		     stat_get(sums, nsums, "http.bad_requests"),
		     stat_get(sums, nsums, "http.bad_responses"));
	/* one big body each way per connection */
	need = 2 * (HTTP_BIG - SPLICE_SLACK);
	if (opt.ktls_on && (stat_get(sums, nsums, "up_splice") < need ||
			    stat_get(sums, nsums, "down_splice") < need))
		fail("http: spliced up=%llu down=%llu bytes, expected >= %llu each way "
		     "(two %llu-byte bodies each way, less what came with the heads)",
		     stat_get(sums, nsums, "up_splice"),
		     stat_get(sums, nsums, "down_splice"), need,
		     (unsigned long long)HTTP_BIG);

	if (opt.compare) {
		start_proxy(COMPARE_PORT, false, "off", "/tmp/ringproxy-userspace.log");
		loopback(&ss, &sslen, COMPARE_PORT);
		transfer(&ss, sslen, TLS1_3_VERSION, (uint64_t)opt.mib * MIB,
			 TLS1_3_VERSION, &roff);
		stop_proxy();
		parse_stats(proxy_log, sums, &nsums);
		printf("tls_e2e: --tls-ktls off: userspace=%llu ktls_tx=%llu "
		       "up_splice=%llu "
		       "up_copy=%llu\n",
		       stat_get(sums, nsums, "tls.userspace"),
		       stat_get(sums, nsums, "tls.ktls_tx"),
		       stat_get(sums, nsums, "up_splice"),
		       stat_get(sums, nsums, "up_copy"));
		printf("tls_e2e: TLS 1.3 through ringproxy: kTLS %.1f MiB/s, userspace "
		       "%.1f MiB/s (x%.2f)\n",
		       r13.mibps, roff.mibps,
		       roff.mibps > 0 ? r13.mibps / roff.mibps : 0);
	}
	proxy_log = NULL;
	stop_children();
	printf("TLS-E2E OK tls13=%.1f tls12=%.1f tls12-chacha20=%.1f", r13.mibps,
	       r12.mibps, rcc.mibps);
	if (opt.compare)
		printf(" tls13_userspace=%.1f", roff.mibps);
	printf(" (MiB/s each way, %u MiB) keyupdate=%s/%s/%s http=%llu requests in %.1f "
	       "s, keyupdate=%s; half-close=%s/%s%s\n",
	       opt.mib, ku[0], ku[1], ku[2], reqs, rh.secs, ku[3], hc[0], hc[1],
	       opt.ktls_on ? "" : " (--ktls off)");
	return 0;
}

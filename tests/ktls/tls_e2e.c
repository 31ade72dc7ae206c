// SPDX-License-Identifier: BSD-2-Clause
/*
 * tls_e2e: end-to-end test of ringproxy's TLS termination and its kTLS
 * handoff, meant to run as the payload of tests/ktls/run.sh inside a qemu
 * guest whose kernel has the tls ULP (tests/ktls/ringproxy_e2e.sh sets it up).
 *
 * It forks a plain TCP echo backend on 127.0.0.1:9000, starts
 *   ringproxy reverse --listen 127.0.0.1:8443 --to 127.0.0.1:9000
 *     --tls-cert CERT --tls-key KEY --tls-ktls on --reactors 1 --tunnel splice
 * with its stdout and stderr in /tmp/ringproxy-ktls.log, waits until the port
 * listens (read from /proc/net/tcp, so no probe connection reaches the
 * proxy), then for TLS 1.3 and TLS 1.2 (AES-128-GCM) sends MIB MiB of
 * deterministic pseudo-random data through it while reading the echo in the
 * same poll loop (non-blocking BoringSSL), checks every byte and the SHA-256
 * of both streams, and prints the throughput. It then stops ringproxy with
 * SIGTERM and sums its per-reactor "stats reactor=N ..." lines: kTLS on both
 * sides of both connections (ktls_tx >= 2, ktls_rx >= 2, handshakes >= 2,
 * userspace == 0) and at least 2 * MIB MiB spliced in each direction.
 * --compare repeats the TLS 1.3 transfer through a second ringproxy with
 * --tls-ktls off (port 8444) and prints both rates; no assertion on them.
 *
 * Prints "TLS-E2E OK tls13=<MiB/s> tls12=<MiB/s> ..." and exits 0, or the
 * relevant part of ringproxy's log and "TLS-E2E FAIL <reason>" and exits 1.
 * Every wait is bounded, and alarm(--timeout) is the global watchdog.
 *
 *   tls_e2e [--ringproxy PATH] [--cert F] [--key F] [--mib N] [--compare]
 *           [--timeout S] [--sni NAME] [--rp-arg ARG]...
 *   tls_e2e --connect ADDR:PORT [--mib N] [--sni NAME] [--timeout S]
 *
 * --connect runs only the client against an existing TLS echo server (IPv4
 * literal or [IPv6]:PORT; no name lookup), e.g. socat on the host. --rp-arg
 * appends one argument to ringproxy's command line. Builds against BoringSSL
 * only (-I/usr/include/android, see ringproxy_e2e.sh).
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
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>

#define PROXY_PORT   8443
#define COMPARE_PORT 8444
#define BACKEND_PORT 9000
#define CHUNK	     (16u << 10)
#define MIB	     (1ull << 20)
#define MAX_RP_ARGS  16
#define MAX_STATS    64

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
	bool compare;
} opt = {
	.ringproxy = "/payload/ringproxy",
	.cert = "/payload/cert.pem",
	.key = "/payload/key.pem",
	.mib = 32,
	.timeout_s = 240,
};

/* What runs now: the watchdog and fail() kill these and show this log. */
static pid_t backend_pid, proxy_pid;
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

/*
 * One connection: handshake at @version, then the whole stream through the
 * echo and back, checked byte by byte and by SHA-256. Fails the test on any
 * error; fills @res.
 */
static void transfer(const struct sockaddr_storage *ss, socklen_t sslen, int version,
		     struct result *res)
{
	static uint8_t wbuf[CHUNK], rbuf[64 << 10], ebuf[64 << 10];
	const uint64_t total = (uint64_t)opt.mib * MIB;
	const uint64_t seed = (uint64_t)version;
	uint8_t dsent[SHA256_DIGEST_LENGTH], drcvd[SHA256_DIGEST_LENGTH];
	uint64_t sent = 0, rcvd = 0, chunk_at = UINT64_MAX;
	uint64_t bad_at = UINT64_MAX;
	const SSL_CIPHER *ci;
	SHA256_CTX hs, hr;
	double t0, last;
	SSL_CTX *ctx;
	SSL *ssl;
	int fd;

	stage = version == TLS1_3_VERSION ? "TLS 1.3 handshake" : "TLS 1.2 handshake";
	ctx = SSL_CTX_new(TLS_method());
	if (!ctx || !SSL_CTX_set_min_proto_version(ctx, (uint16_t)version) ||
	    !SSL_CTX_set_max_proto_version(ctx, (uint16_t)version))
		fail("SSL_CTX for %s: %s", version_name(version), ssl_err("?"));
	/* TLS 1.3 suites are not configurable in BoringSSL; checked below */
	if (version == TLS1_2_VERSION &&
	    !SSL_CTX_set_strict_cipher_list(ctx, "ECDHE-ECDSA-AES128-GCM-SHA256:"
						 "ECDHE-RSA-AES128-GCM-SHA256"))
		fail("cipher list: %s", ssl_err("?"));
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE);

	fd = connect_bounded(ss, sslen);
	ssl = SSL_new(ctx);
	if (!ssl || !SSL_set_fd(ssl, fd))
		fail("SSL_new: %s", ssl_err("?"));
	SSL_set_connect_state(ssl);
	if (opt.sni && !SSL_set_tlsext_host_name(ssl, opt.sni))
		fail("SNI %s: %s", opt.sni, ssl_err("?"));
	for (;;) {
		int r = SSL_do_handshake(ssl), e;

		if (r == 1)
			break;
		e = SSL_get_error(ssl, r);
		if (e == SSL_ERROR_WANT_READ)
			poll_one(fd, POLLIN, HANDSHAKE_S, stage);
		else if (e == SSL_ERROR_WANT_WRITE)
			poll_one(fd, POLLOUT, HANDSHAKE_S, stage);
		else
			fail("%s handshake: %s (SSL error %d, errno %s)",
			     version_name(version), ssl_err("connection closed"), e,
			     strerror(errno));
	}
	ci = SSL_get_current_cipher(ssl);
	snprintf(res->cipher, sizeof(res->cipher), "%s", SSL_CIPHER_standard_name(ci));
	if (SSL_version(ssl) != version)
		fail("asked for %s, got %s", version_name(version), SSL_get_version(ssl));
	/* the guest loads only the gcm modules; a BoringSSL server without
	 * AES-NI picks ChaCha20 for TLS 1.3 (run the guest with -cpu max) */
	if (SSL_CIPHER_get_cipher_nid(ci) != NID_aes_128_gcm)
		fail("%s negotiated %s, not AES-128-GCM", version_name(version),
		     res->cipher);

	stage = version == TLS1_3_VERSION ? "TLS 1.3 transfer" : "TLS 1.2 transfer";
	SHA256_Init(&hs);
	SHA256_Init(&hr);
	t0 = last = now();
	while (rcvd < total) {
		bool progress = false, want_out = false;
		struct pollfd p = {.fd = fd};
		int r;

		while (sent < total) {
			uint64_t at = sent - sent % CHUNK;
			size_t off = (size_t)(sent - at);
			size_t len = (size_t)(total - at < CHUNK ? total - at : CHUNK);
			int n, e;

			if (at != chunk_at) {
				gen(seed, at, wbuf, len);
				chunk_at = at;
			}
			n = SSL_write(ssl, wbuf + off, (int)(len - off));
			if (n > 0) {
				SHA256_Update(&hs, wbuf + off, (size_t)n);
				sent += (uint64_t)n;
				progress = true;
				continue;
			}
			e = SSL_get_error(ssl, n);
			if (e == SSL_ERROR_WANT_WRITE)
				want_out = true;
			else if (e != SSL_ERROR_WANT_READ)
				fail("%s: SSL_write after %llu bytes: %s (SSL error %d, "
				     "errno %s)",
				     version_name(version), (unsigned long long)sent,
				     ssl_err("connection closed"), e, strerror(errno));
			break;
		}
		for (;;) {
			int n = SSL_read(ssl, rbuf, sizeof(rbuf)), e;

			if (n > 0) {
				if (rcvd + (uint64_t)n > sent)
					fail("%s: received %llu bytes, more than the "
					     "%llu "
					     "sent",
					     version_name(version),
					     (unsigned long long)(rcvd + (uint64_t)n),
					     (unsigned long long)sent);
				SHA256_Update(&hr, rbuf, (size_t)n);
				gen(seed, rcvd, ebuf, (size_t)n);
				if (bad_at == UINT64_MAX &&
				    memcmp(ebuf, rbuf, (size_t)n)) {
					size_t i = 0;

					while (ebuf[i] == rbuf[i])
						i++;
					bad_at = rcvd + i;
				}
				rcvd += (uint64_t)n;
				progress = true;
				continue;
			}
			e = SSL_get_error(ssl, n);
			if (e == SSL_ERROR_WANT_WRITE)
				want_out = true;
			else if (e == SSL_ERROR_ZERO_RETURN)
				fail("%s: the proxy sent close_notify after %llu of %llu "
				     "echoed bytes (%llu sent)",
				     version_name(version), (unsigned long long)rcvd,
				     (unsigned long long)total, (unsigned long long)sent);
			else if (e != SSL_ERROR_WANT_READ)
				fail("%s: SSL_read after %llu of %llu echoed bytes (%llu "
				     "sent): %s (SSL error %d, errno %s)",
				     version_name(version), (unsigned long long)rcvd,
				     (unsigned long long)total, (unsigned long long)sent,
				     ssl_err("connection closed without close_notify"), e,
				     strerror(errno));
			break;
		}
		if (rcvd >= total)
			break;
		if (progress) {
			last = now();
			continue;
		}
		if (now() - last > STALL_S)
			fail("%s: stalled for %d s: %llu of %llu bytes sent, %llu echoed",
			     version_name(version), STALL_S, (unsigned long long)sent,
			     (unsigned long long)total, (unsigned long long)rcvd);
		p.events = (short)(POLLIN | (want_out ? POLLOUT : 0));
		r = poll(&p, 1, 1000);
		if (r < 0 && errno != EINTR)
			fail("poll: %s", strerror(errno));
	}
	res->secs = now() - t0;
	res->mibps = (double)total / (double)MIB / (res->secs > 0 ? res->secs : 1e-9);
	SHA256_Final(dsent, &hs);
	SHA256_Final(drcvd, &hr);
	printf("tls_e2e: %s %s: %llu bytes each way in %.2f s (%.1f MiB/s), sha256 "
	       "sent=%02x%02x%02x%02x.. echoed=%02x%02x%02x%02x.. %s\n",
	       version_name(version), res->cipher, (unsigned long long)total, res->secs,
	       res->mibps, dsent[0], dsent[1], dsent[2], dsent[3], drcvd[0], drcvd[1],
	       drcvd[2], drcvd[3],
	       memcmp(dsent, drcvd, sizeof(dsent)) ? "DIFFER" : "match");
	if (memcmp(dsent, drcvd, sizeof(dsent)) || bad_at != UINT64_MAX)
		fail("%s: the echo differs from what was sent, first at byte %llu",
		     version_name(version), (unsigned long long)bad_at);

	/* close_notify, as a well-behaved client ends; the peer's is not awaited */
	stage = "closing the client connection";
	if (SSL_shutdown(ssl) < 0)
		ERR_clear_error();
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	client_fd = -1;
}

/* --- the echo backend and ringproxy ----------------------------------------- */

static void echo(int fd)
{
	static char buf[64 << 10];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
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

/* A TCP echo server on 127.0.0.1:BACKEND_PORT, a process per connection. */
static void start_backend(void)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int ls, one = 1;

	stage = "starting the echo backend";
	loopback(&ss, &len, BACKEND_PORT);
	ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(ls, (struct sockaddr *)&ss, len) < 0 || listen(ls, 64) < 0)
		fail("echo backend on 127.0.0.1:%d: %s", BACKEND_PORT, strerror(errno));
	fflush(stdout);
	backend_pid = fork();
	if (backend_pid < 0)
		fail("fork: %s", strerror(errno));
	if (backend_pid == 0) {
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
				echo(c);
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

/* Starts ringproxy on @port with --tls-ktls @ktls; its output goes to @log. */
static void start_proxy(int port, const char *ktls, const char *log)
{
	char listen_at[32], to[32], how[96];
	const char *argv[32 + MAX_RP_ARGS];
	unsigned n = 0;
	double end;

	snprintf(listen_at, sizeof(listen_at), "127.0.0.1:%d", port);
	snprintf(to, sizeof(to), "127.0.0.1:%d", BACKEND_PORT);
	argv[n++] = opt.ringproxy;
	argv[n++] = "reverse";
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
	argv[n++] = "--tunnel";
	argv[n++] = "splice";
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
		"               [--timeout S] [--sni NAME] [--rp-arg ARG]...\n"
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
		else
			usage();
	}
}

int main(int argc, char **argv)
{
	static const char *const want[] = {
		"tls.handshakes",     "tls.resumed", "tls.failures",
		"tls.ktls_tx",	      "tls.ktls_rx", "tls.userspace",
		"tls.ktls_fallbacks", "accepted",    "up_splice",
		"down_splice",	      "up_copy",     "down_copy"};
	struct stat_sum sums[MAX_STATS];
	struct result r13 = {0}, r12 = {0}, roff = {0};
	struct sockaddr_storage ss;
	unsigned nsums, reactors;
	unsigned long long need;
	char shown[1024];
	size_t sl = 0;
	socklen_t sslen;

	setvbuf(stdout, NULL, _IOLBF, 0);
	parse_args(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	alarm(opt.timeout_s);

	if (opt.connect) {
		if (parse_addr(opt.connect, &ss, &sslen))
			fail("--connect %s: not ADDR:PORT with an address literal",
			     opt.connect);
		transfer(&ss, sslen, TLS1_3_VERSION, &r13);
		transfer(&ss, sslen, TLS1_2_VERSION, &r12);
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

	start_backend();
	start_proxy(PROXY_PORT, "on", "/tmp/ringproxy-ktls.log");
	loopback(&ss, &sslen, PROXY_PORT);
	transfer(&ss, sslen, TLS1_3_VERSION, &r13);
	transfer(&ss, sslen, TLS1_2_VERSION, &r12);
	stop_proxy();

	stage = "checking ringproxy's stats";
	reactors = parse_stats(proxy_log, sums, &nsums);
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		sl += (size_t)snprintf(shown + sl, sizeof(shown) - sl, " %s=%llu",
				       want[i], stat_get(sums, nsums, want[i]));
	printf("tls_e2e: ringproxy stats over %u reactor(s):%s\n", reactors, shown);
	if (!reactors)
		fail("no \"stats reactor=N\" line in ringproxy's log");
	need = 2ull * opt.mib * MIB;
	if (stat_get(sums, nsums, "tls.handshakes") < 2)
		fail("ringproxy counted %llu TLS handshakes, expected >= 2 (is there a "
		     "\"stats reactor=N tls\" line?)",
		     stat_get(sums, nsums, "tls.handshakes"));
	if (stat_get(sums, nsums, "tls.ktls_tx") < 2 ||
	    stat_get(sums, nsums, "tls.ktls_rx") < 2)
		fail("kTLS not on both connections: ktls_tx=%llu ktls_rx=%llu, expected "
		     ">= 2 each (ktls_fallbacks=%llu)",
		     stat_get(sums, nsums, "tls.ktls_tx"),
		     stat_get(sums, nsums, "tls.ktls_rx"),
		     stat_get(sums, nsums, "tls.ktls_fallbacks"));
	if (stat_get(sums, nsums, "tls.userspace"))
		fail("%llu connection(s) stayed in userspace TLS with --tls-ktls on",
		     stat_get(sums, nsums, "tls.userspace"));
	if (stat_get(sums, nsums, "up_splice") < need ||
	    stat_get(sums, nsums, "down_splice") < need)
		fail("spliced up=%llu down=%llu bytes, expected >= %llu each way "
		     "(copy: up=%llu down=%llu)",
		     stat_get(sums, nsums, "up_splice"),
		     stat_get(sums, nsums, "down_splice"), need,
		     stat_get(sums, nsums, "up_copy"),
		     stat_get(sums, nsums, "down_copy"));

	if (opt.compare) {
		start_proxy(COMPARE_PORT, "off", "/tmp/ringproxy-userspace.log");
		loopback(&ss, &sslen, COMPARE_PORT);
		transfer(&ss, sslen, TLS1_3_VERSION, &roff);
		stop_proxy();
		reactors = parse_stats(proxy_log, sums, &nsums);
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
	if (opt.compare)
		printf("TLS-E2E OK tls13=%.1f tls12=%.1f tls13_userspace=%.1f (MiB/s "
		       "each "
		       "way, %u MiB)\n",
		       r13.mibps, r12.mibps, roff.mibps, opt.mib);
	else
		printf("TLS-E2E OK tls13=%.1f tls12=%.1f (MiB/s each way, %u MiB)\n",
		       r13.mibps, r12.mibps, opt.mib);
	return 0;
}

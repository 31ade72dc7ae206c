// SPDX-License-Identifier: BSD-2-Clause
/*
 * ktls_probe: checks, on the running kernel, the kernel TLS (kTLS) path that
 * ringproxy relies on, with no TLS library: fixed TLS 1.3 AES-128-GCM keys are
 * installed by hand on a loopback TCP pair.
 *
 *   tx      a connection whose sender has TLS_TX and whose peer reads raw
 *           bytes: what crosses the wire must be TLS records (0x17 0x03 0x03,
 *           length = plaintext + content type + 16-byte tag), not plaintext.
 *   rx      a connection with TLS_TX on the sender and the same key as TLS_RX
 *           on the receiver: MIB MiB of a deterministic pattern are sent with
 *           send(2) and checked byte by byte after the kernel decrypts them.
 *   splice  on that same connection, 1 MiB more is moved from a pipe into the
 *           kTLS TX socket with splice(2) and checked by the receiver too.
 *
 * Prints "KTLS-PROBE OK tx rx splice" and exits 0, or prints
 * "KTLS-PROBE FAIL <reason>" and exits 1. It is built static (gcc -static) to
 * run as the payload of tests/ktls/run.sh inside a qemu guest whose kernel has
 * the tls ULP; it uses no getaddrinfo. Usage: ktls_probe [MIB] (default 32).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/tls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SOL_TLS
#define SOL_TLS 282
#endif
#ifndef TCP_ULP
#define TCP_ULP 31
#endif

#define SPLICE_BYTES (1u << 20)
#define CHUNK	     (256u << 10)

static void fail(const char *fmt, ...)
{
	va_list ap;
	char msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("KTLS-PROBE FAIL %s\n", msg);
	fflush(stdout);
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The byte at offset off of the test stream: position dependent, so a lost,
 * repeated or reordered record is caught as well as a corrupted one. */
static inline uint8_t pattern(uint64_t off)
{
	uint64_t x = off * 0x9e3779b97f4a7c15ull;

	return (uint8_t)((x >> 56) ^ (off >> 12) ^ off);
}

static void fill(uint8_t *buf, uint64_t off, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pattern(off + i);
}

/* A connected loopback TCP pair: *cli from connect(2), *srv from accept(2). */
static void tcp_pair(int *cli, int *srv)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof(a);
	int one = 1, l;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0)
		fail("socket: %s", strerror(errno));
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) < 0)
		fail("bind 127.0.0.1: %s (is lo up?)", strerror(errno));
	if (listen(l, 1) < 0 || getsockname(l, (struct sockaddr *)&a, &alen) < 0)
		fail("listen: %s", strerror(errno));
	*cli = socket(AF_INET, SOCK_STREAM, 0);
	if (*cli < 0 || connect(*cli, (struct sockaddr *)&a, sizeof(a)) < 0)
		fail("connect 127.0.0.1:%u: %s", ntohs(a.sin_port), strerror(errno));
	*srv = accept(l, NULL, NULL);
	if (*srv < 0)
		fail("accept: %s", strerror(errno));
	close(l);
}

static void crypto_info(struct tls12_crypto_info_aes_gcm_128 *ci)
{
	static const uint8_t key[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
					0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
	static const uint8_t iv[8] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7};
	static const uint8_t salt[4] = {0x5a, 0x17, 0x5a, 0x17};

	memset(ci, 0, sizeof(*ci));
	ci->info.version = TLS_1_3_VERSION;
	ci->info.cipher_type = TLS_CIPHER_AES_GCM_128;
	memcpy(ci->key, key, sizeof(ci->key));
	memcpy(ci->iv, iv, sizeof(ci->iv));
	memcpy(ci->salt, salt, sizeof(ci->salt));
	memset(ci->rec_seq, 0, sizeof(ci->rec_seq));
}

static void ktls_on(int fd, int dir, const char *who)
{
	struct tls12_crypto_info_aes_gcm_128 ci;

	if (setsockopt(fd, SOL_TCP, TCP_ULP, "tls", 4) < 0)
		fail("setsockopt(TCP_ULP, \"tls\") on %s: %s (no tls module?)", who,
		     strerror(errno));
	crypto_info(&ci);
	if (setsockopt(fd, SOL_TLS, dir, &ci, sizeof(ci)) < 0)
		fail("setsockopt(SOL_TLS, %s) on %s: %s%s",
		     dir == TLS_TX ? "TLS_TX" : "TLS_RX", who, strerror(errno),
		     errno == ENOENT ? " (gcm/ctr/ghash-generic/gf128mul not loaded?)"
				     : "");
}

static void write_all(int fd, const uint8_t *buf, size_t len, const char *what)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail("%s: send: %s", what,
			     n < 0 ? strerror(errno) : "returned 0");
		buf += n;
		len -= (size_t)n;
	}
}

/* tx: the sender encrypts, the peer sees the raw wire bytes. */
static void check_wire(void)
{
	enum { PLAIN = 1000, TAG = 16, HDR = 5 };
	uint8_t plain[PLAIN], wire[HDR + PLAIN + 1 + TAG + 64];
	size_t want = HDR + PLAIN + 1 + TAG, got = 0;
	unsigned rlen;
	int c, s;

	tcp_pair(&c, &s);
	ktls_on(c, TLS_TX, "tx-only sender");
	fill(plain, 0, PLAIN);
	write_all(c, plain, PLAIN, "tx");
	while (got < want) {
		ssize_t n = recv(s, wire + got, sizeof(wire) - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail("tx: raw recv after %zu of %zu bytes: %s", got, want,
			     n < 0 ? strerror(errno) : "EOF");
		got += (size_t)n;
	}
	if (got != want)
		fail("tx: %zu wire bytes for one %d-byte record, want %zu", got, PLAIN,
		     want);
	rlen = (unsigned)wire[3] << 8 | wire[4];
	if (wire[0] != 0x17 || wire[1] != 0x03 || wire[2] != 0x03 || rlen != want - HDR)
		fail("tx: wire header %02x %02x %02x len %u, want 17 03 03 len %zu",
		     wire[0], wire[1], wire[2], rlen, want - HDR);
	if (memcmp(wire + HDR, plain, PLAIN) == 0)
		fail("tx: record body is the plaintext");
	if (memmem(wire, got, plain, 32) != NULL)
		fail("tx: plaintext visible on the wire");
	close(c);
	close(s);
}

/* The sender of rx/splice, in a child process: MIB MiB with send(2), then
 * SPLICE_BYTES through a pipe with splice(2). Exit status 0 or 1. */
static void sender(int c, uint64_t bulk)
{
	uint8_t *buf = malloc(CHUNK);
	uint64_t off = 0;
	int p[2];

	if (!buf)
		fail("rx: malloc");
	while (off < bulk) {
		size_t n = bulk - off < CHUNK ? (size_t)(bulk - off) : CHUNK;

		fill(buf, off, n);
		write_all(c, buf, n, "rx sender");
		off += n;
	}
	if (pipe(p) < 0)
		fail("splice: pipe: %s", strerror(errno));
	while (off < bulk + SPLICE_BYTES) {
		size_t n = 65536, inpipe = 0;

		if (bulk + SPLICE_BYTES - off < n)
			n = (size_t)(bulk + SPLICE_BYTES - off);
		fill(buf, off, n);
		while (inpipe < n) {
			ssize_t w = write(p[1], buf + inpipe, n - inpipe);

			if (w <= 0)
				fail("splice: write to pipe: %s", strerror(errno));
			inpipe += (size_t)w;
		}
		while (inpipe > 0) {
			ssize_t m = splice(p[0], NULL, c, NULL, inpipe, SPLICE_F_MOVE);

			if (m < 0 && errno == EINTR)
				continue;
			if (m <= 0)
				fail("splice: pipe -> kTLS socket: %s",
				     m < 0 ? strerror(errno) : "returned 0");
			inpipe -= (size_t)m;
		}
		off += n;
	}
	shutdown(c, SHUT_WR);
	free(buf);
	exit(0);
}

/* rx + splice: decrypts in the kernel and checks every byte. */
static void check_stream(uint64_t bulk)
{
	uint64_t total = bulk + SPLICE_BYTES, off = 0;
	uint8_t *buf = malloc(CHUNK);
	double t0 = now(), dt;
	int c, s, st;
	pid_t pid;

	if (!buf)
		fail("rx: malloc");
	tcp_pair(&c, &s);
	ktls_on(c, TLS_TX, "sender");
	ktls_on(s, TLS_RX, "receiver");
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		fail("fork: %s", strerror(errno));
	if (pid == 0) {
		close(s);
		sender(c, bulk);
	}
	close(c);
	for (;;) {
		ssize_t n = recv(s, buf, CHUNK, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail("%s: recv at offset %llu: %s", off < bulk ? "rx" : "splice",
			     (unsigned long long)off, strerror(errno));
		if (n == 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != pattern(off + (uint64_t)i))
				fail("%s: byte %llu is %02x, want %02x",
				     off + i < bulk ? "rx" : "splice",
				     (unsigned long long)(off + (uint64_t)i), buf[i],
				     pattern(off + (uint64_t)i));
		off += (uint64_t)n;
		if (off > total)
			fail("rx: %llu bytes received, more than the %llu sent",
			     (unsigned long long)off, (unsigned long long)total);
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		exit(1); /* the sender printed its FAIL line */
	if (off < bulk)
		fail("rx: EOF after %llu of %llu bytes", (unsigned long long)off,
		     (unsigned long long)bulk);
	if (off != total)
		fail("splice: EOF after %llu of %u spliced bytes",
		     (unsigned long long)(off - bulk), SPLICE_BYTES);
	dt = now() - t0;
	printf("ktls_probe: %llu bytes sent, decrypted and checked in %.2f s (%.1f "
	       "MiB/s)\n",
	       (unsigned long long)total, dt,
	       (double)total / (1 << 20) / (dt > 0 ? dt : 1));
	close(s);
	free(buf);
}

int main(int argc, char **argv)
{
	unsigned long mib = 32;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1) {
		char *end;

		mib = strtoul(argv[1], &end, 10);
		if (*end || mib == 0 || mib > 4096) {
			fprintf(stderr, "usage: %s [MIB]  (1..4096, default 32)\n",
				argv[0]);
			return 2;
		}
	}
	check_wire();
	check_stream((uint64_t)mib << 20);
	printf("KTLS-PROBE OK tx rx splice\n");
	return 0;
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_alog.c - the access log: the SPSC queue on its own (wrap-around, a
 * full queue refuses, over-long lines), the logger thread against real
 * files (creation mode, appending, flush on close, ordering under a
 * two-thread and a five-thread stress, reopen after a logrotate rename), and
 * both line formats with hostile input, checked byte for byte and, when
 * python3 is there, by a real JSON parser. Includes alog.c to reach the
 * queue's statics.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../../../engine/core/alog.c"
#include "unit.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ------------------------------------------------------------- */

static char dir_[64];

/* Each test removes its files; what a failed one left stays for a look. */
static void remove_dir(void)
{
	rmdir(dir_);
}

static const char *tmp_path(char *buf, size_t len, const char *name)
{
	if (!dir_[0]) {
		strcpy(dir_, "/tmp/rp-alog-XXXXXX");
		CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir_));
		atexit(remove_dir);
	}
	snprintf(buf, len, "%s/%s", dir_, name);
	unlink(buf);
	return buf;
}

/* The whole file, NUL-terminated; *@len its size. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p;
	long n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	p = malloc((size_t)n + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL_FATAL(fread(p, 1, (size_t)n, f), (size_t)n);
	p[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return p;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/* Waits up to 5 s for @path to have @want bytes. */
static bool wait_size(const char *path, off_t want)
{
	for (uint64_t end = now_ms() + 5000; now_ms() < end; sleep_ms(1)) {
		struct stat st;

		if (!stat(path, &st) && st.st_size == want)
			return true;
	}
	return false;
}

/* ---- the queue ----------------------------------------------------------- */

/* Reads everything queued into @dst through queue_peek(), consumes it. */
static size_t pop_all(struct rp_alog_queue *q, char *dst, int *pieces)
{
	struct iovec iov[2];
	size_t n;
	int cnt = queue_peek(q, SIZE_MAX, iov, &n);

	for (int i = 0, off = 0; i < cnt; off += (int)iov[i].iov_len, i++)
		memcpy(dst + off, iov[i].iov_base, iov[i].iov_len);
	CU_ASSERT_EQUAL(cnt ? iov[0].iov_len + (cnt > 1 ? iov[1].iov_len : 0) : 0, n);
	queue_consume(q, n);
	if (pieces)
		*pieces = cnt;
	return n;
}

static void test_alog_queue_wraps_around(void)
{
	struct rp_alog_queue q;
	char line[64], got[64];
	bool wrapped = false;
	unsigned seed = 1;

	CU_ASSERT_EQUAL_FATAL(queue_init(&q, 64), 0);
	for (unsigned i = 0; i < 5000; i++) {
		size_t len = 1 + (seed = seed * 1103515245 + 12345) % 63;
		int pieces;

		for (size_t k = 0; k < len; k++)
			line[k] = (char)(i + k);
		CU_ASSERT_FATAL(queue_push(&q, line, len));
		CU_ASSERT_EQUAL_FATAL(pop_all(&q, got, &pieces), len);
		CU_ASSERT_EQUAL_FATAL(memcmp(got, line, len), 0);
		wrapped |= pieces == 2;
	}
	CU_ASSERT(wrapped);
	/* Partial consumption across the end of the buffer: what a short
	 * write(2) leaves. */
	for (unsigned i = 0; i < 200; i++) {
		struct iovec iov[2];
		size_t n;

		memset(line, 'a' + i % 26, 40);
		CU_ASSERT_FATAL(queue_push(&q, line, 40));
		CU_ASSERT_EQUAL(queue_peek(&q, 7, iov, &n) > 0 && n == 7, true);
		queue_consume(&q, 7);
		CU_ASSERT_EQUAL(pop_all(&q, got, NULL), 33);
		CU_ASSERT_EQUAL(memcmp(got, line, 33), 0);
	}
	free(q.buf);
}

static void test_alog_queue_full_returns_false(void)
{
	struct rp_alog_queue q;
	char line[65], got[64];

	memset(line, 'x', sizeof(line));
	CU_ASSERT_EQUAL_FATAL(queue_init(&q, 64), 0);
	/* Longer than the queue: never fits. */
	CU_ASSERT_FALSE(queue_push(&q, line, 65));
	for (int i = 0; i < 4; i++)
		CU_ASSERT(queue_push(&q, line, 16));
	CU_ASSERT_FALSE(queue_push(&q, line, 16));
	CU_ASSERT_FALSE(queue_push(&q, line, 1));
	/* The consumer frees 16 bytes: the producer sees them (its cached
	 * head is stale and must be refreshed). */
	queue_consume(&q, 16);
	CU_ASSERT_FALSE(queue_push(&q, line, 17));
	CU_ASSERT(queue_push(&q, line, 16));
	CU_ASSERT_FALSE(queue_push(&q, line, 1));
	CU_ASSERT_EQUAL(pop_all(&q, got, NULL), 64);
	/* Exactly the queue's size fits an empty queue. */
	CU_ASSERT(queue_push(&q, line, 64));
	CU_ASSERT_EQUAL(pop_all(&q, got, NULL), 64);
	free(q.buf);
}

struct drain_arg {
	struct rp_alog *a;
	struct rp_alog_queue *q;
};

static void *drain_thread(void *arg)
{
	struct drain_arg *d = arg;

	drain_queue(d->a, d->q);
	return NULL;
}

/*
 * drain_queue() into a non-blocking pipe of one page, read slowly: writev(2)
 * comes back short and with EAGAIN, wrapping pieces are split at odd
 * places, and every byte must still arrive once and in order.
 */
static void test_alog_drain_partial_writes_and_eagain(void)
{
	static char in[60000], got[60000];
	struct rp_alog a = {0};
	struct rp_alog_queue q;
	struct drain_arg d = {&a, &q};
	size_t n = 0, line = 0;
	pthread_t t;
	int fds[2];

	CU_ASSERT_EQUAL_FATAL(pipe2(fds, O_NONBLOCK), 0);
	fcntl(fds[1], F_SETPIPE_SZ, 4096);
	CU_ASSERT_EQUAL_FATAL(queue_init(&q, 1u << 16), 0);
	/* Start near the end of the buffer so the contents wrap. */
	atomic_store(&q.head, (1u << 16) - 1000);
	atomic_store(&q.tail, (1u << 16) - 1000);
	q.head_cache = (1u << 16) - 1000;
	for (size_t i = 0; i < sizeof(in); i += line) {
		line = 1 + i % 97 < sizeof(in) - i ? 1 + i % 97 : sizeof(in) - i;
		for (size_t k = 0; k < line; k++)
			in[i + k] = (char)(i * 7 + k);
		CU_ASSERT_FATAL(queue_push(&q, in + i, line));
	}
	a.fd = fds[1];
	a.path = "pipe";
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, drain_thread, &d), 0);
	for (uint64_t end = now_ms() + 5000; n < sizeof(got) && now_ms() < end;) {
		ssize_t r = read(fds[0], got + n, 1000);

		if (r > 0)
			n += (size_t)r;
		else
			sleep_ms(1);
	}
	/* Unblocks a drain that lost count (it polls at most 1 s more). */
	close(fds[0]);
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL_FATAL(n, sizeof(got));
	CU_ASSERT_EQUAL(memcmp(got, in, sizeof(in)), 0);
	CU_ASSERT_EQUAL(a.lost, 0);
	CU_ASSERT_EQUAL(atomic_load(&q.head), atomic_load(&q.tail));
	close(fds[1]);
	free(q.buf);
}

/* ---- the logger thread ---------------------------------------------------- */

static void test_alog_open_validates(void)
{
	struct rp_alog *a = NULL;
	char err[256], path[128];

	CU_ASSERT_EQUAL(rp__alog_open(&a, "/dev/null", 0, 4096, err, sizeof(err)),
			-EINVAL);
	CU_ASSERT_EQUAL(rp__alog_open(&a, "/dev/null", 1, 100, err, sizeof(err)),
			-EINVAL);
	CU_ASSERT_EQUAL(rp__alog_open(&a, "/dev/null", 1, 32, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "power of two"));
	tmp_path(path, sizeof(path), "no/such/dir");
	CU_ASSERT_EQUAL(rp__alog_open(&a, path, 1, 4096, err, sizeof(err)), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, path));
	CU_ASSERT_PTR_NULL(a);
}

static void test_alog_creates_0640_and_appends(void)
{
	struct rp_alog *a;
	char err[256], path[128];
	struct stat st;
	mode_t old = umask(022);
	char *s;

	tmp_path(path, sizeof(path), "mode.log");
	CU_ASSERT_EQUAL_FATAL(rp__alog_open(&a, path, 1, 4096, err, sizeof(err)), 0);
	umask(old);
	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0640);
	/* What logrotate and fork+exec rely on. */
	CU_ASSERT(fcntl(a->fd, F_GETFL) & O_APPEND);
	CU_ASSERT(fcntl(a->fd, F_GETFD) & FD_CLOEXEC);
	CU_ASSERT(rp__alog_write(a, 0, "one\n", 4));
	rp__alog_close(a);

	/* An existing file is appended to, never truncated. */
	CU_ASSERT_EQUAL_FATAL(rp__alog_open(&a, path, 1, 4096, err, sizeof(err)), 0);
	CU_ASSERT(rp__alog_write(a, 0, "two\n", 4));
	rp__alog_close(a);
	s = slurp(path, NULL);
	CU_ASSERT_STRING_EQUAL(s, "one\ntwo\n");
	free(s);
	unlink(path);
}

static void test_alog_line_longer_than_queue_is_dropped(void)
{
	struct rp_alog *a;
	char err[256], path[128], line[65];
	char *s;

	memset(line, 'y', sizeof(line));
	line[63] = line[64] = '\n';
	tmp_path(path, sizeof(path), "long.log");
	CU_ASSERT_EQUAL_FATAL(rp__alog_open(&a, path, 1, 64, err, sizeof(err)), 0);
	CU_ASSERT_FALSE(rp__alog_write(a, 0, line, 65));
	CU_ASSERT(rp__alog_write(a, 0, line, 64));
	rp__alog_close(a);
	s = slurp(path, NULL);
	CU_ASSERT_EQUAL(strlen(s), 64);
	free(s);
	unlink(path);
}

static void test_alog_close_writes_everything_queued(void)
{
	struct rp_alog *a;
	char err[256], path[128], line[32], *s, *p;

	tmp_path(path, sizeof(path), "close.log");
	CU_ASSERT_EQUAL_FATAL(rp__alog_open(&a, path, 8, 4096, err, sizeof(err)), 0);
	for (unsigned i = 0; i < 80; i++) {
		int n = snprintf(line, sizeof(line), "q%u n%02u\n", i % 8, i / 8);

		CU_ASSERT(rp__alog_write(a, i % 8, line, (size_t)n));
	}
	rp__alog_close(a);
	s = slurp(path, NULL);
	/* Every line, and each queue's lines in order. */
	for (unsigned q = 0; q < 8; q++) {
		p = s;
		for (unsigned k = 0; k < 10; k++) {
			snprintf(line, sizeof(line), "q%u n%02u\n", q, k);
			p = strstr(p, line);
			CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		}
	}
	CU_ASSERT_EQUAL(strlen(s), 80 * 7);
	free(s);
	unlink(path);
}

struct producer {
	struct rp_alog *a;
	unsigned queue;
	unsigned lines;
	uint64_t deadline_ms;
	unsigned long full; /* writes refused (retried here, to check order) */
	bool timed_out;
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	char line[64];

	for (unsigned i = 0; i < p->lines; i++) {
		int n = snprintf(line, sizeof(line), "p%u %07u %.*s\n", p->queue, i,
				 (int)(i % 29), "abcdefghijklmnopqrstuvwxyzABC");

		while (!rp__alog_write(p->a, p->queue, line, (size_t)n)) {
			p->full++;
			if (now_ms() > p->deadline_ms) {
				p->timed_out = true;
				return NULL;
			}
			sleep_ms(1); /* a reactor would count a drop instead */
		}
	}
	return NULL;
}

/* @np producers on their own queues, @lines each; checks every line of
 * every producer arrives once, whole and in order. */
static void stress(unsigned np, unsigned lines, unsigned queue_bytes)
{
	struct producer p[8];
	pthread_t t[8];
	struct rp_alog *a;
	char err[256], path[128];
	unsigned next[8] = {0};
	unsigned long full = 0;
	char *s, *line, *save;

	tmp_path(path, sizeof(path), "stress.log");
	CU_ASSERT_EQUAL_FATAL(rp__alog_open(&a, path, np, queue_bytes, err, sizeof(err)),
			      0);
	for (unsigned i = 0; i < np; i++) {
		p[i] = (struct producer){a, i, lines, now_ms() + 30000, 0, false};
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, produce, &p[i]), 0);
	}
	for (unsigned i = 0; i < np; i++) {
		pthread_join(t[i], NULL);
		CU_ASSERT_FALSE(p[i].timed_out);
		full += p[i].full;
	}
	rp__alog_close(a);
	printf("(%u x %u lines, %lu full-queue retries) ", np, lines, full);

	s = slurp(path, NULL);
	for (line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned q, n;
		int len;
		char tail[32];

		CU_ASSERT_EQUAL_FATAL(sscanf(line, "p%u %u%n", &q, &n, &len), 2);
		CU_ASSERT_FATAL(q < np);
		CU_ASSERT_EQUAL_FATAL(n, next[q]);
		snprintf(tail, sizeof(tail), " %.*s", (int)(n % 29),
			 "abcdefghijklmnopqrstuvwxyzABC");
		CU_ASSERT_STRING_EQUAL_FATAL(line + len, tail);
		next[q]++;
	}
	for (unsigned i = 0; i < np; i++)
		CU_ASSERT_EQUAL(next[i], lines);
	free(s);
	unlink(path);
}

static void test_alog_stress_one_producer_in_order(void)
{
	/* 2.4 MB through a 64 KiB queue: it wraps ~40 times and fills up
	 * (the producer outruns a drain every RP_ALOG_INTERVAL_MS). */
	stress(1, 100000, 1u << 16);
}

static void test_alog_stress_four_producers_in_order(void)
{
	stress(4, 50000, 1u << 14);
}

static void test_alog_reopen_after_rename(void)
{
	struct rp_alog *a;
	char err[256], path[128], rotated[128], *s;

	tmp_path(path, sizeof(path), "access.log");
	tmp_path(rotated, sizeof(rotated), "access.log.1");
	CU_ASSERT_EQUAL_FATAL(rp__alog_open(&a, path, 2, 4096, err, sizeof(err)), 0);
	CU_ASSERT(rp__alog_write(a, 0, "before\n", 7));
	CU_ASSERT_FATAL(wait_size(path, 7));
	/* logrotate: rename, then SIGUSR1. The thread still writes the
	 * renamed file until it reopens. */
	CU_ASSERT_EQUAL_FATAL(rename(path, rotated), 0);
	CU_ASSERT(rp__alog_write(a, 1, "late\n", 5));
	CU_ASSERT_FATAL(wait_size(rotated, 12));
	rp__alog_reopen(a);
	CU_ASSERT_FATAL(wait_size(path, 0));
	CU_ASSERT(rp__alog_write(a, 0, "after\n", 6));
	rp__alog_close(a);
	s = slurp(rotated, NULL);
	CU_ASSERT_STRING_EQUAL(s, "before\nlate\n");
	free(s);
	s = slurp(path, NULL);
	CU_ASSERT_STRING_EQUAL(s, "after\n");
	free(s);
	unlink(path);
	unlink(rotated);
}

static void test_alog_reopen_failure_keeps_old_file(void)
{
	struct rp_alog *a;
	char err[256], sub[96], moved[96], path[128], *s;

	tmp_path(sub, sizeof(sub), "sub");
	tmp_path(moved, sizeof(moved), "sub.old");
	CU_ASSERT_EQUAL_FATAL(mkdir(sub, 0700), 0);
	snprintf(path, sizeof(path), "%s/x.log", sub);
	CU_ASSERT_EQUAL_FATAL(rp__alog_open(&a, path, 1, 4096, err, sizeof(err)), 0);
	CU_ASSERT(rp__alog_write(a, 0, "a\n", 2));
	CU_ASSERT_FATAL(wait_size(path, 2));
	/* The directory moved away: reopening fails, the old file stays. */
	CU_ASSERT_EQUAL_FATAL(rename(sub, moved), 0);
	rp__alog_reopen(a);
	sleep_ms(3 * RP_ALOG_INTERVAL_MS);
	CU_ASSERT_FALSE(atomic_load(&a->reopen));
	CU_ASSERT(rp__alog_write(a, 0, "b\n", 2));
	rp__alog_close(a);
	snprintf(path, sizeof(path), "%s/x.log", moved);
	s = slurp(path, NULL);
	CU_ASSERT_STRING_EQUAL(s, "a\nb\n");
	free(s);
	unlink(path);
	rmdir(moved);
}

static void test_alog_stdout(void)
{
	struct rp_alog *a;
	char err[256];

	CU_ASSERT_EQUAL_FATAL(rp__alog_open(&a, "-", 1, 4096, err, sizeof(err)), 0);
	CU_ASSERT(a->is_stdout && a->fd == STDOUT_FILENO);
	rp__alog_reopen(a); /* a no-op for stdout */
	CU_ASSERT(rp__alog_write(a, 0, "(a line to stdout) ", 19));
	rp__alog_close(a);
	fflush(stdout);
	CU_ASSERT(fcntl(STDOUT_FILENO, F_GETFD) >= 0); /* not closed */
}

/* ---- formatting ------------------------------------------------------------ */

static struct sockaddr_in sin_;
static struct sockaddr_in6 sin6_;

/* 2000-10-10T13:55:36.123Z */
#define T_2000_10_10 971186136123ull

static struct rp_alog_entry entry(void)
{
	struct rp_alog_entry e = {0};

	sin_.sin_family = AF_INET;
	sin_.sin_port = htons(40000);
	inet_pton(AF_INET, "192.0.2.7", &sin_.sin_addr);
	e.client = (const struct sockaddr *)&sin_;
	e.client_len = sizeof(sin_);
	e.start_ms_epoch = T_2000_10_10;
	e.method = "GET";
	e.method_len = 3;
	e.target = "/index.html?q=1";
	e.target_len = 15;
	e.minor = 1;
	e.status = 200;
	e.bytes_sent = 2326;
	e.referer = "http://example.com/start";
	e.referer_len = 24;
	e.user_agent = "curl/8.0";
	e.user_agent_len = 8;
	e.host = "example.com";
	e.host_len = 11;
	e.duration_us = 1234567;
	e.backend = "10.0.0.2:8080";
	e.cluster = "web";
	return e;
}

/* Formats @e and checks it is @want, and that every smaller capacity gives
 * 0 without writing past it. */
static void check_format(enum rp_log_format fmt, const struct rp_alog_entry *e,
			 const char *want)
{
	size_t wlen = strlen(want), n;
	char *out = malloc(wlen);

	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	n = rp__alog_format(fmt, e, out, wlen);
	CU_ASSERT_EQUAL(n, wlen);
	if (n != wlen || memcmp(out, want, wlen)) {
		CU_FAIL("line differs");
		fprintf(stderr, "\nwant: %s got:  %.*s\n", want, (int)n, out);
	}
	for (size_t cap = 0; cap < wlen; cap++) {
		char *small = malloc(cap ? cap : 1);

		CU_ASSERT_PTR_NOT_NULL_FATAL(small);
		CU_ASSERT_EQUAL(rp__alog_format(fmt, e, small, cap), 0);
		free(small);
	}
	free(out);
}

static void test_alog_time_matches_gmtime(void)
{
	static const uint64_t fixed[] = {
		0,
		951782399999ull,  /* 2000-02-28T23:59:59.999 */
		951782400000ull,  /* 2000-02-29 */
		951868800000ull,  /* 2000-03-01 */
		4107542400000ull, /* 2100-03-01 */
		4102444799000ull, /* 2099-12-31T23:59:59 */
		253402300799999ull /* 9999-12-31T23:59:59.999 */};
	unsigned seed = 7;

	for (unsigned i = 0; i < ARRAY_SIZE(fixed) + 100000; i++) {
		uint64_t ms;
		struct civil c;
		struct tm tm;
		time_t t;

		if (i < ARRAY_SIZE(fixed)) {
			ms = fixed[i];
		} else {
			seed = seed * 1103515245 + 12345;
			ms = ((uint64_t)seed << 20 ^ (uint64_t)(seed >> 3) * 977) %
			     253402300800000ull;
		}
		civil_from_ms(ms, &c);
		t = (time_t)(ms / 1000);
		CU_ASSERT_PTR_NOT_NULL_FATAL(gmtime_r(&t, &tm));
		if (c.year != (unsigned)tm.tm_year + 1900 ||
		    c.mon != (unsigned)tm.tm_mon + 1 || c.mday != (unsigned)tm.tm_mday ||
		    c.hour != (unsigned)tm.tm_hour || c.min != (unsigned)tm.tm_min ||
		    c.sec != (unsigned)tm.tm_sec || c.ms != ms % 1000) {
			CU_FAIL("civil_from_ms differs from gmtime_r");
			fprintf(stderr, "\nms %llu\n", (unsigned long long)ms);
			return;
		}
	}
}

static void test_alog_format_combined_exact(void)
{
	struct rp_alog_entry e = entry();

	check_format(RP_LOG_COMBINED, &e,
		     "192.0.2.7 - - [10/Oct/2000:13:55:36 +0000] \"GET /index.html?q=1 "
		     "HTTP/1.1\" 200 2326 \"http://example.com/start\" \"curl/8.0\" "
		     "rt=1.234 ua=\"10.0.0.2:8080\"\n");
	e.referer = e.user_agent = NULL;
	e.backend = NULL;
	e.minor = 0;
	e.duration_us = 999;
	check_format(RP_LOG_COMBINED, &e,
		     "192.0.2.7 - - [10/Oct/2000:13:55:36 +0000] \"GET /index.html?q=1 "
		     "HTTP/1.0\" 200 2326 \"-\" \"-\" rt=0.000 ua=\"-\"\n");
	/* A TLS client's mode ends the line; JSON has it as "tls". */
	e.tls = "ktls";
	check_format(RP_LOG_COMBINED, &e,
		     "192.0.2.7 - - [10/Oct/2000:13:55:36 +0000] \"GET /index.html?q=1 "
		     "HTTP/1.0\" 200 2326 \"-\" \"-\" rt=0.000 ua=\"-\" tls=ktls\n");
	/* The reason of the proxy's own answer comes last, escaped. */
	e.tls = NULL;
	e.status = 502;
	e.error = "cannot connect to \"a.test\":81: Connection refused";
	check_format(
		RP_LOG_COMBINED, &e,
		"192.0.2.7 - - [10/Oct/2000:13:55:36 +0000] \"GET /index.html?q=1 "
		"HTTP/1.0\" 502 2326 \"-\" \"-\" rt=0.000 ua=\"-\" "
		"err=\"cannot connect to \\x22a.test\\x22:81: Connection refused\"\n");
}

static void test_alog_format_combined_escapes_like_nginx(void)
{
	static const char target[] = "/a\"b\\c\x01\x1f\x7f\x80\xff d";
	static const char ua[] = "Mozilla \"x\"\r\n";
	struct rp_alog_entry e = entry();

	sin6_.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::1", &sin6_.sin6_addr);
	e.client = (const struct sockaddr *)&sin6_;
	e.client_len = sizeof(sin6_);
	e.method = "G\"T";
	e.target = target;
	e.target_len = sizeof(target) - 1;
	e.user_agent = ua;
	e.user_agent_len = sizeof(ua) - 1;
	e.referer = "";
	e.referer_len = 0;
	e.start_ms_epoch = 0;
	e.status = 502;
	check_format(RP_LOG_COMBINED, &e,
		     "2001:db8::1 - - [01/Jan/1970:00:00:00 +0000] \"G\\x22T "
		     "/a\\x22b\\x5Cc\\x01\\x1F\\x7F\\x80\\xFF d HTTP/1.1\" 502 2326 \"\" "
		     "\"Mozilla \\x22x\\x22\\x0D\\x0A\" rt=1.234 ua=\"10.0.0.2:8080\"\n");
}

static void test_alog_format_no_request_line_or_client(void)
{
	struct rp_alog_entry e = {0};
	struct sockaddr_un sun = {.sun_family = AF_UNIX};

	e.status = 400;
	e.start_ms_epoch = T_2000_10_10;
	check_format(
		RP_LOG_COMBINED, &e,
		"- - - [10/Oct/2000:13:55:36 +0000] \"-\" 400 0 \"-\" \"-\" rt=0.000 "
		"ua=\"-\"\n");
	check_format(
		RP_LOG_JSON, &e,
		"{\"time\":\"2000-10-10T13:55:36.123Z\",\"client\":null,\"method\":null,"
		"\"target\":null,\"protocol\":null,\"status\":400,\"bytes\":0,"
		"\"referer\":null,\"user_agent\":null,\"host\":null,"
		"\"duration_us\":0,\"backend\":null,\"cluster\":null,\"tls\":null,"
		"\"error\":null}\n");
	e.client = (const struct sockaddr *)&sun;
	e.client_len = sizeof(sa_family_t);
	check_format(RP_LOG_COMBINED, &e,
		     "unix: - - [10/Oct/2000:13:55:36 +0000] \"-\" 400 0 \"-\" \"-\" "
		     "rt=0.000 ua=\"-\"\n");
	/* A truncated address is not read past its length. */
	sin_.sin_family = AF_INET;
	e.client = (const struct sockaddr *)&sin_;
	e.client_len = sizeof(sa_family_t);
	check_format(
		RP_LOG_COMBINED, &e,
		"- - - [10/Oct/2000:13:55:36 +0000] \"-\" 400 0 \"-\" \"-\" rt=0.000 "
		"ua=\"-\"\n");
}

static void test_alog_format_json_exact(void)
{
	struct rp_alog_entry e = entry();

	check_format(
		RP_LOG_JSON, &e,
		"{\"time\":\"2000-10-10T13:55:36.123Z\",\"client\":\"192.0.2.7\","
		"\"method\":\"GET\",\"target\":\"/index.html?q=1\","
		"\"protocol\":\"HTTP/1.1\",\"status\":200,\"bytes\":2326,"
		"\"referer\":\"http://example.com/start\",\"user_agent\":\"curl/8.0\","
		"\"host\":\"example.com\",\"duration_us\":1234567,"
		"\"backend\":\"10.0.0.2:8080\",\"cluster\":\"web\",\"tls\":null,"
		"\"error\":null}\n");
	e.error = "cannot resolve nx.invalid:80: no such name (NXDOMAIN)";
	check_format(
		RP_LOG_JSON, &e,
		"{\"time\":\"2000-10-10T13:55:36.123Z\",\"client\":\"192.0.2.7\","
		"\"method\":\"GET\",\"target\":\"/index.html?q=1\","
		"\"protocol\":\"HTTP/1.1\",\"status\":200,\"bytes\":2326,"
		"\"referer\":\"http://example.com/start\",\"user_agent\":\"curl/8.0\","
		"\"host\":\"example.com\",\"duration_us\":1234567,"
		"\"backend\":\"10.0.0.2:8080\",\"cluster\":\"web\",\"tls\":null,"
		"\"error\":\"cannot resolve nx.invalid:80: no such name (NXDOMAIN)\"}\n");
}

static void test_alog_format_json_escapes(void)
{
	static const char target[] = "/a\"b\\c\x01\x1f\x7f\x80\xff d";
	struct rp_alog_entry e = entry();

	sin6_.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::ffff:192.0.2.1", &sin6_.sin6_addr);
	e.client = (const struct sockaddr *)&sin6_;
	e.client_len = sizeof(sin6_);
	e.target = target;
	e.target_len = sizeof(target) - 1;
	e.user_agent = "tab\there\n";
	e.user_agent_len = 9;
	e.referer = NULL;
	e.host = "";
	e.host_len = 0;
	e.backend = NULL;
	e.cluster = NULL;
	check_format(
		RP_LOG_JSON, &e,
		"{\"time\":\"2000-10-10T13:55:36.123Z\",\"client\":\"::ffff:192.0.2.1\","
		"\"method\":\"GET\","
		"\"target\":\"/a\\\"b\\\\c\\u0001\\u001F\\u007F\\u0080\\u00FF d\","
		"\"protocol\":\"HTTP/1.1\",\"status\":200,\"bytes\":2326,"
		"\"referer\":null,\"user_agent\":\"tab\\u0009here\\u000A\","
		"\"host\":\"\",\"duration_us\":1234567,"
		"\"backend\":null,\"cluster\":null,\"tls\":null,\"error\":null}\n");
}

/*
 * Every byte value in every string field, parsed by Python's json module
 * (RP_PYTHON3, Debian's /usr/bin/python3 as CMake found it):
 * each line is valid JSON and pure ASCII, and the strings decode back to the
 * bytes sent (as code points of the same value).
 */
static void test_alog_format_json_parses_with_every_byte(void)
{
	static const char check[] = RP_PYTHON3
		" -c 'import json,sys\n"
		"want = \"\".join(map(chr, range(256)))\n"
		"n = 0\n"
		"for l in sys.stdin.buffer:\n"
		"    l.decode(\"ascii\")\n"
		"    o = json.loads(l)\n"
		"    for k in (\"method\", \"target\", \"referer\", \"user_agent\", "
		"\"host\"):\n"
		"        assert o[k] == want, k\n"
		"    assert o[\"backend\"] == o[\"cluster\"] == o[\"error\"] == "
		"want[1:]\n"
		"    assert o[\"client\"] == \"2001:db8::1\"\n"
		"    n += 1\n"
		"assert n == 2, n\n'";
	char all[257], out[16384];
	struct rp_alog_entry e = entry();
	FILE *py;
	size_t n;

	/* a missing tool is a failure: scripts/deps.sh test installs python3 */
	if (access(RP_PYTHON3, X_OK) < 0) {
		CU_FAIL("no " RP_PYTHON3
			": apt-get install python3, or scripts/deps.sh test");
		return;
	}
	for (int i = 0; i < 256; i++)
		all[i] = (char)i;
	all[256] = '\0';
	sin6_.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::1", &sin6_.sin6_addr);
	e.client = (const struct sockaddr *)&sin6_;
	e.client_len = sizeof(sin6_);
	e.method = e.target = e.referer = e.user_agent = e.host = all;
	e.method_len = e.target_len = e.referer_len = e.user_agent_len = e.host_len = 256;
	/* backend and cluster are NUL-terminated: they get bytes 1..255. */
	e.backend = e.cluster = e.error = all + 1;
	n = rp__alog_format(RP_LOG_JSON, &e, out, sizeof(out));
	CU_ASSERT_FATAL(n > 0);
	py = popen(check, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(py);
	CU_ASSERT_EQUAL(fwrite(out, 1, n, py), n);
	CU_ASSERT_EQUAL(fwrite(out, 1, n, py), n);
	CU_ASSERT_EQUAL(pclose(py), 0);
}

static const struct rp_unit_test tests[] = {
	RP_TEST(test_alog_queue_wraps_around),
	RP_TEST(test_alog_queue_full_returns_false),
	RP_TEST(test_alog_drain_partial_writes_and_eagain),
	RP_TEST(test_alog_open_validates),
	RP_TEST(test_alog_creates_0640_and_appends),
	RP_TEST(test_alog_line_longer_than_queue_is_dropped),
	RP_TEST(test_alog_close_writes_everything_queued),
	RP_TEST(test_alog_stress_one_producer_in_order),
	RP_TEST(test_alog_stress_four_producers_in_order),
	RP_TEST(test_alog_reopen_after_rename),
	RP_TEST(test_alog_reopen_failure_keeps_old_file),
	RP_TEST(test_alog_stdout),
	RP_TEST(test_alog_time_matches_gmtime),
	RP_TEST(test_alog_format_combined_exact),
	RP_TEST(test_alog_format_combined_escapes_like_nginx),
	RP_TEST(test_alog_format_no_request_line_or_client),
	RP_TEST(test_alog_format_json_exact),
	RP_TEST(test_alog_format_json_escapes),
	RP_TEST(test_alog_format_json_parses_with_every_byte),
};

RP_UNIT_MAIN("alog", tests)

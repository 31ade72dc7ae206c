// SPDX-License-Identifier: BSD-2-Clause
/*
 * alog.c - the access log: per-reactor single-producer single-consumer byte
 * queues drained by one logger thread, and the two line formats. A reactor
 * formats a line on its stack and copies it into its queue, with no lock and
 * no syscall; the logger thread wakes every RP_ALOG_INTERVAL_MS (at once
 * again when it found a queue over half full) and writes each queue's
 * contents with one writev(2). Lines from one reactor stay in order; lines
 * from different reactors interleave only at line boundaries.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/alog.h"
#include "core/core.h"

/* ---- the queue ---------------------------------------------------------------
 * head and tail count bytes since the start and are only ever masked, so
 * tail - head is the fill level even after they wrap. The producer publishes
 * a line by storing tail with release after copying it, and the consumer
 * loads tail with acquire before reading: the line's bytes are visible
 * before the tail that covers them. Symmetrically the consumer stores head
 * with release once write(2) has read the bytes, and the producer loads head
 * with acquire before reusing the space: its copy cannot overwrite bytes
 * the consumer is still writing out. Each side's index sits on its own cache
 * line so that a store by one side does not slow the other's loads of its
 * own state; buf and mask, never written after open, have a third.
 */
struct rp_alog_queue {
	alignas(RP_CACHELINE) _Atomic size_t tail; /* written by the producer */
	size_t head_cache; /* producer's last view of head: head is read only when
			    * this one says the line may not fit */

	alignas(RP_CACHELINE) _Atomic size_t head; /* written by the consumer */

	alignas(RP_CACHELINE) char *buf;
	size_t mask; /* size - 1 */
};

static int queue_init(struct rp_alog_queue *q, size_t size)
{
	memset(q, 0, sizeof(*q));
	q->buf = malloc(size);
	if (!q->buf)
		return -ENOMEM;
	q->mask = size - 1;
	return 0;
}

/* Producer side. */
static bool queue_push(struct rp_alog_queue *q, const char *p, size_t len)
{
	size_t size = q->mask + 1;
	size_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
	size_t off, first;

	if (len > size)
		return false;
	if (size - (tail - q->head_cache) < len) {
		q->head_cache = atomic_load_explicit(&q->head, memory_order_acquire);
		if (size - (tail - q->head_cache) < len)
			return false;
	}
	off = tail & q->mask;
	first = size - off < len ? size - off : len;
	memcpy(q->buf + off, p, first);
	memcpy(q->buf, p + first, len - first);
	atomic_store_explicit(&q->tail, tail + len, memory_order_release);
	return true;
}

/*
 * Consumer side: up to @max of the queued bytes, as at most two pieces (the
 * second when they wrap past the end of buf) in @iov. Returns the number of
 * pieces, 0 when empty, and the byte count in *@n.
 */
static int queue_peek(struct rp_alog_queue *q, size_t max, struct iovec iov[2], size_t *n)
{
	size_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
	size_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);
	size_t size = q->mask + 1, off = head & q->mask;
	size_t first;

	*n = tail - head < max ? tail - head : max;
	if (!*n)
		return 0;
	first = size - off < *n ? size - off : *n;
	iov[0] = (struct iovec){q->buf + off, first};
	iov[1] = (struct iovec){q->buf, *n - first};
	return iov[1].iov_len ? 2 : 1;
}

/* Consumer side: @n bytes from the front are written out; their room is free. */
static void queue_consume(struct rp_alog_queue *q, size_t n)
{
	size_t head = atomic_load_explicit(&q->head, memory_order_relaxed);

	atomic_store_explicit(&q->head, head + n, memory_order_release);
}

/* ---- the logger thread -------------------------------------------------------- */

struct rp_alog {
	struct rp_alog_queue *q; /* nq, each on its own cache lines */
	unsigned nq;
	int fd;
	bool is_stdout;
	bool failing; /* the last write failed: warned already */
	char *path;
	pthread_t thread;
	atomic_bool stop;
	atomic_bool reopen; /* set from a signal handler: must stay lock-free */
	uint64_t lost;	    /* bytes dropped on write errors (logger thread) */
};

static void write_failed(struct rp_alog *a, int err, size_t n)
{
	a->lost += n;
	if (!a->failing)
		rp_warn("access log %s: %s; dropping lines until it works again", a->path,
			strerror(err));
	a->failing = true;
}

/*
 * Writes out what @q holds now (not what arrives meanwhile, so that one busy
 * reactor cannot starve the others' queues), handling partial writes and
 * EINTR. A file that fails (ENOSPC, EIO...) loses the batch: keeping it would
 * only fill the queue and make the reactors drop newer lines instead.
 * Standard output may be a non-blocking pipe: wait for it a while, then give
 * up the same way. Returns whether the queue was over half full.
 */
static bool drain_queue(struct rp_alog *a, struct rp_alog_queue *q)
{
	struct iovec iov[2];
	size_t left;
	int cnt = queue_peek(q, SIZE_MAX, iov, &left);
	bool busy = left > (q->mask + 1) / 2;

	while (cnt) {
		ssize_t w = writev(a->fd, iov, cnt);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd pfd = {.fd = a->fd, .events = POLLOUT};

			if (poll(&pfd, 1, 1000) > 0)
				continue;
			errno = EAGAIN;
		}
		if (w <= 0) {
			write_failed(a, w < 0 ? errno : EIO, left);
			queue_consume(q, left);
			break;
		}
		a->failing = false;
		queue_consume(q, (size_t)w);
		left -= (size_t)w;
		cnt = queue_peek(q, left, iov, &left);
	}
	return busy;
}

static int open_log(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);

	return fd < 0 ? -errno : fd;
}

static void reopen_log(struct rp_alog *a)
{
	int fd;

	if (a->is_stdout)
		return;
	fd = open_log(a->path);
	if (fd < 0) {
		rp_warn("access log %s: reopen: %s; still writing the old file", a->path,
			strerror(-fd));
		return;
	}
	close(a->fd);
	a->fd = fd;
}

static void *logger_main(void *arg)
{
	struct rp_alog *a = arg;
	const struct timespec interval = {0, RP_ALOG_INTERVAL_MS * 1000000L};

	for (;;) {
		/* Acquire: whatever the writers queued before rp__alog_close()
		 * is visible to the drain that follows. */
		bool stop = atomic_load_explicit(&a->stop, memory_order_acquire);
		bool busy = false;

		if (atomic_exchange_explicit(&a->reopen, false, memory_order_relaxed))
			reopen_log(a);
		for (unsigned i = 0; i < a->nq; i++)
			busy |= drain_queue(a, &a->q[i]);
		if (stop)
			break;
		if (!busy)
			nanosleep(&interval, NULL);
	}
	return NULL;
}

static int nomem(char *err, size_t errlen)
{
	snprintf(err, errlen, "access log: out of memory");
	return -ENOMEM;
}

int rp__alog_open(struct rp_alog **out, const char *path, unsigned nqueues,
		  unsigned queue_bytes, char *err, size_t errlen)
{
	struct rp_alog *a;
	sigset_t all, old;
	int ret;

	if (!nqueues || queue_bytes < 64 || (queue_bytes & (queue_bytes - 1))) {
		snprintf(err, errlen,
			 "access log: %u queues of %u bytes: need at least one, of a "
			 "power of two >= 64",
			 nqueues, queue_bytes);
		return -EINVAL;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return nomem(err, errlen);
	a->path = strdup(path);
	if (!a->path) {
		ret = nomem(err, errlen);
		goto fail_free_alog;
	}
	/* sizeof(*a->q) is a multiple of the alignment, as aligned_alloc()
	 * wants, and every queue starts on a cache line. */
	a->q = aligned_alloc(RP_CACHELINE, nqueues * sizeof(*a->q));
	if (!a->q) {
		ret = nomem(err, errlen);
		goto fail_free_path;
	}
	for (; a->nq < nqueues; a->nq++) {
		if (queue_init(&a->q[a->nq], queue_bytes) < 0) {
			ret = nomem(err, errlen);
			goto fail_free_queues;
		}
	}

	if (!strcmp(path, "-")) {
		a->fd = STDOUT_FILENO;
		a->is_stdout = true;
	} else {
		a->fd = open_log(path);
		if (a->fd < 0) {
			ret = a->fd;
			snprintf(err, errlen, "access log %s: %s", path, strerror(-ret));
			goto fail_free_queues;
		}
	}

	/* Signals are for the main thread; and a SIGPIPE from a closed stdout
	 * pipe stays pending, leaving EPIPE here. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	ret = -pthread_create(&a->thread, NULL, logger_main, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret < 0) {
		snprintf(err, errlen, "access log: logger thread: %s", strerror(-ret));
		goto fail_close_fd;
	}
	pthread_setname_np(a->thread, "rp-alog");
	*out = a;
	return 0;

fail_close_fd:
	if (!a->is_stdout)
		close(a->fd);
fail_free_queues:
	for (unsigned i = 0; i < a->nq; i++)
		free(a->q[i].buf);
	free(a->q);
fail_free_path:
	free(a->path);
fail_free_alog:
	free(a);
	return ret;
}

bool rp__alog_write(struct rp_alog *a, unsigned queue, const char *line, size_t len)
{
	RP_BUG_ON(queue >= a->nq);
	return queue_push(&a->q[queue], line, len);
}

void rp__alog_reopen(struct rp_alog *a)
{
	atomic_store_explicit(&a->reopen, true, memory_order_relaxed);
}

void rp__alog_close(struct rp_alog *a)
{
	if (!a)
		return;
	atomic_store_explicit(&a->stop, true, memory_order_release);
	pthread_join(a->thread, NULL);
	if (a->lost)
		rp_warn("access log %s: %llu bytes lost to write errors", a->path,
			(unsigned long long)a->lost);
	if (!a->is_stdout)
		close(a->fd);
	for (unsigned i = 0; i < a->nq; i++)
		free(a->q[i].buf);
	free(a->q);
	free(a->path);
	free(a);
}

/* ---- formatting --------------------------------------------------------------- */

struct out {
	char *p, *end;
	bool full;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->full || (size_t)(o->end - o->p) < n) {
		o->full = true;
		return;
	}
	memcpy(o->p, s, n);
	o->p += n;
}

#define put_lit(o, s) put(o, s, sizeof(s) - 1)

static void put_str(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void put_u64(struct out *o, uint64_t v)
{
	char d[20];
	size_t n = sizeof(d);

	do {
		d[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(o, d + n, sizeof(d) - n);
}

/* @v in @width digits, zero-padded (v < 10^width). */
static void put_u_pad(struct out *o, unsigned v, unsigned width)
{
	char d[10];

	for (unsigned i = width; i--; v /= 10)
		d[i] = (char)('0' + v % 10);
	put(o, d, width);
}

static const char hex[] = "0123456789ABCDEF";

/* nginx's access log escaping (ngx_http_log_escape): '"', '\' and bytes
 * outside printable ASCII as \xHH. */
static void put_esc_nginx(struct out *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
			char e[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};

			put(o, e, 4);
		} else {
			put(o, (const char *)&c, 1);
		}
	}
}

/*
 * A JSON string (RFC 8259 section 7). A byte >= 0x80 becomes \u00XX, the
 * code point of the same value: the line stays ASCII and valid JSON even
 * when the client's bytes are not UTF-8, and the bytes can be recovered.
 */
static void put_json_str(struct out *o, const char *s, size_t n)
{
	put_lit(o, "\"");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};

			put(o, e, 2);
		} else if (c < 0x20 || c >= 0x7f) {
			char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};

			put(o, e, 6);
		} else {
			put(o, (const char *)&c, 1);
		}
	}
	put_lit(o, "\"");
}

static void put_json_opt(struct out *o, const char *s, size_t n)
{
	if (s)
		put_json_str(o, s, n);
	else
		put_lit(o, "null");
}

/* The client's address as text, or "" when unknown. */
static void client_text(const struct rp_alog_entry *e, char buf[INET6_ADDRSTRLEN])
{
	const struct sockaddr *sa = e->client;

	buf[0] = '\0';
	if (!sa)
		return;
	if (sa->sa_family == AF_INET && e->client_len >= sizeof(struct sockaddr_in))
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf,
			  INET6_ADDRSTRLEN);
	else if (sa->sa_family == AF_INET6 &&
		 e->client_len >= sizeof(struct sockaddr_in6))
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf,
			  INET6_ADDRSTRLEN);
	else if (sa->sa_family == AF_UNIX)
		strcpy(buf, "unix:"); /* as nginx logs a UNIX-socket client */
}

/*
 * Civil date in UTC of @ms since the epoch, by arithmetic alone
 * (H. Hinnant's days_from_civil inverse, proleptic Gregorian). Not
 * gmtime_r(): glibc's takes a process-wide lock and reads /etc/localtime on
 * its first call, neither of which a reactor may do.
 */
struct civil {
	unsigned year, mon, mday, hour, min, sec, ms;
};

static void civil_from_ms(uint64_t ms, struct civil *c)
{
	uint64_t secs = ms / 1000, days = secs / 86400;
	unsigned sod = (unsigned)(secs % 86400);
	uint64_t z = days + 719468, era = z / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;

	c->mday = doy - (153 * mp + 2) / 5 + 1;
	c->mon = mp < 10 ? mp + 3 : mp - 9;
	c->year = (unsigned)(era * 400 + yoe) + (c->mon <= 2);
	c->hour = sod / 3600;
	c->min = sod / 60 % 60;
	c->sec = sod % 60;
	c->ms = (unsigned)(ms % 1000);
}

static void format_combined(struct out *o, const struct rp_alog_entry *e)
{
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	char addr[INET6_ADDRSTRLEN];
	struct civil c;

	client_text(e, addr);
	civil_from_ms(e->start_ms_epoch, &c);
	put_str(o, addr[0] ? addr : "-");
	put_lit(o, " - - [");
	put_u_pad(o, c.mday, 2);
	put_lit(o, "/");
	put(o, months[c.mon - 1], 3);
	put_lit(o, "/");
	put_u_pad(o, c.year % 10000, 4);
	put_lit(o, ":");
	put_u_pad(o, c.hour, 2);
	put_lit(o, ":");
	put_u_pad(o, c.min, 2);
	put_lit(o, ":");
	put_u_pad(o, c.sec, 2);
	put_lit(o, " +0000] \"");
	if (e->method) {
		put_esc_nginx(o, e->method, e->method_len);
		put_lit(o, " ");
		put_esc_nginx(o, e->target, e->target_len);
		put_lit(o, " HTTP/1.");
		put_u64(o, e->minor);
	} else {
		put_lit(o, "-");
	}
	put_lit(o, "\" ");
	put_u64(o, e->status);
	put_lit(o, " ");
	put_u64(o, e->bytes_sent);
	put_lit(o, " \"");
	if (e->referer)
		put_esc_nginx(o, e->referer, e->referer_len);
	else
		put_lit(o, "-");
	put_lit(o, "\" \"");
	if (e->user_agent)
		put_esc_nginx(o, e->user_agent, e->user_agent_len);
	else
		put_lit(o, "-");
	/* nginx's $request_time: seconds with millisecond resolution. */
	put_lit(o, "\" rt=");
	put_u64(o, e->duration_us / 1000000);
	put_lit(o, ".");
	put_u_pad(o, (unsigned)(e->duration_us / 1000 % 1000), 3);
	put_lit(o, " ua=\"");
	if (e->backend)
		put_esc_nginx(o, e->backend, strlen(e->backend));
	else
		put_lit(o, "-");
	put_lit(o, "\"");
	if (e->tls) {
		put_lit(o, " tls=");
		put_esc_nginx(o, e->tls, strlen(e->tls));
	}
	if (e->error) {
		put_lit(o, " err=\"");
		put_esc_nginx(o, e->error, strlen(e->error));
		put_lit(o, "\"");
	}
	put_lit(o, "\n");
}

static void format_json(struct out *o, const struct rp_alog_entry *e)
{
	char addr[INET6_ADDRSTRLEN];
	struct civil c;

	client_text(e, addr);
	civil_from_ms(e->start_ms_epoch, &c);
	put_lit(o, "{\"time\":\"");
	put_u_pad(o, c.year % 10000, 4);
	put_lit(o, "-");
	put_u_pad(o, c.mon, 2);
	put_lit(o, "-");
	put_u_pad(o, c.mday, 2);
	put_lit(o, "T");
	put_u_pad(o, c.hour, 2);
	put_lit(o, ":");
	put_u_pad(o, c.min, 2);
	put_lit(o, ":");
	put_u_pad(o, c.sec, 2);
	put_lit(o, ".");
	put_u_pad(o, c.ms, 3);
	put_lit(o, "Z\",\"client\":");
	put_json_opt(o, addr[0] ? addr : NULL, strlen(addr));
	put_lit(o, ",\"method\":");
	put_json_opt(o, e->method, e->method_len);
	put_lit(o, ",\"target\":");
	put_json_opt(o, e->method ? e->target : NULL, e->target_len);
	put_lit(o, ",\"protocol\":");
	if (e->method) {
		put_lit(o, "\"HTTP/1.");
		put_u64(o, e->minor);
		put_lit(o, "\"");
	} else {
		put_lit(o, "null");
	}
	put_lit(o, ",\"status\":");
	put_u64(o, e->status);
	put_lit(o, ",\"bytes\":");
	put_u64(o, e->bytes_sent);
	put_lit(o, ",\"referer\":");
	put_json_opt(o, e->referer, e->referer_len);
	put_lit(o, ",\"user_agent\":");
	put_json_opt(o, e->user_agent, e->user_agent_len);
	put_lit(o, ",\"host\":");
	put_json_opt(o, e->host, e->host_len);
	put_lit(o, ",\"duration_us\":");
	put_u64(o, e->duration_us);
	put_lit(o, ",\"backend\":");
	put_json_opt(o, e->backend, e->backend ? strlen(e->backend) : 0);
	put_lit(o, ",\"cluster\":");
	put_json_opt(o, e->cluster, e->cluster ? strlen(e->cluster) : 0);
	put_lit(o, ",\"tls\":");
	put_json_opt(o, e->tls, e->tls ? strlen(e->tls) : 0);
	put_lit(o, ",\"error\":");
	put_json_opt(o, e->error, e->error ? strlen(e->error) : 0);
	put_lit(o, "}\n");
}

size_t rp__alog_format(enum rp_log_format fmt, const struct rp_alog_entry *e, char *out,
		       size_t cap)
{
	struct out o = {out, out + cap, false};

	if (fmt == RP_LOG_JSON)
		format_json(&o, e);
	else
		format_combined(&o, e);
	return o.full ? 0 : (size_t)(o.p - out);
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * alog.h - the access log: one line per HTTP request, formatted by the
 * reactor that served it and written by a logger thread, so that a reactor
 * never blocks on the disk. Each reactor has its own single-producer
 * single-consumer byte queue; the logger thread drains them all with
 * write(2) every few milliseconds. A reactor that finds its queue full drops
 * the line and counts it: losing log lines under overload is better than
 * stalling every connection of a core behind a slow disk.
 */
#ifndef RP_ALOG_H
#define RP_ALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ringproxy/ringproxy.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How often the logger thread drains the queues when none is filling up. */
#define RP_ALOG_INTERVAL_MS 10

/* One per engine: a logger thread and one queue per reactor. */
struct rp_alog;

/*
 * Opens the log file @path for appending (created 0640, less the umask; "-"
 * is standard output) and starts the logger thread with every signal
 * blocked. @nqueues queues of @queue_bytes each, a power of two of at least
 * 64. Returns 0 with *@out set, or -errno with a message in @err (@errlen
 * bytes): -EINVAL for bad sizes, the open(2) or pthread_create() error.
 */
int rp__alog_open(struct rp_alog **out, const char *path, unsigned nqueues,
		  unsigned queue_bytes, char *err, size_t errlen);

/*
 * Appends one line (@len bytes, the caller's '\n' included) to queue @queue.
 * Only one thread may write to a given queue. Lock-free and syscall-free: a
 * copy and two atomic operations. Returns false, having written nothing,
 * when the queue lacks room or the line is longer than the queue; the
 * caller counts a drop.
 */
bool rp__alog_write(struct rp_alog *a, unsigned queue, const char *line, size_t len);

/*
 * Asks the logger thread to reopen the file by its path at its next wake-up
 * (after logrotate has renamed it). Only sets a flag: safe in a signal
 * handler. No-op for standard output. If reopening fails the old file stays
 * in use and a warning is logged.
 */
void rp__alog_reopen(struct rp_alog *a);

/*
 * Writes out everything queued, stops and joins the thread, closes the file
 * and frees @a (NULL is a no-op). Every writer must be done with @a: their
 * last rp__alog_write() must happen before this call (a thread join is
 * enough).
 */
void rp__alog_close(struct rp_alog *a);

/* What one access log line says. Strings are not NUL-terminated. */
struct rp_alog_entry {
	const struct sockaddr *client; /* NULL: unknown */
	socklen_t client_len;
	uint64_t start_ms_epoch; /* wall-clock time the request started */
	const char *method;	 /* NULL: no request line was read */
	size_t method_len;
	const char *target;
	size_t target_len;
	unsigned minor; /* HTTP/1.<minor> */
	unsigned status;
	uint64_t bytes_sent; /* response bytes sent to the client, head included */
	const char *referer; /* may be NULL */
	size_t referer_len;
	const char *user_agent; /* may be NULL */
	size_t user_agent_len;
	const char *host; /* may be NULL */
	size_t host_len;
	uint64_t duration_us;
	const char *backend; /* "IP:port" or NULL; NUL-terminated */
	const char *cluster; /* or NULL; NUL-terminated */
	const char *tls;     /* the client's TLS: "ktls", "userspace"; NULL: none */
	const char *error;   /* why the proxy answered itself (a refusal, a DNS or
			      * connect failure, a timeout), or NULL;
			      * NUL-terminated */
};

/*
 * Formats one line of @e in @fmt into @out (@cap bytes), '\n' included and
 * no NUL. RP_LOG_COMBINED is nginx's "combined" format with the time in UTC
 * ("+0000") and bytes_sent as the byte count, followed by
 * ` rt=<seconds.ms> ua="<backend or ->"`, for a TLS client
 * ` tls=<ktls or userspace>`, and when the proxy answered itself
 * ` err="<why>"`; '"', '\' and bytes outside
 * 0x20..0x7e are written as "\xHH" as nginx does. RP_LOG_JSON is one object
 * with keys time (ISO 8601 UTC with ms), client, method, target, protocol,
 * status, bytes, referer, user_agent, host, duration_us, backend, cluster,
 * tls, error;
 * absent strings are null, and bytes outside 0x20..0x7e are escaped as
 * "\u00XX", so a line is always valid JSON and pure ASCII whatever the
 * client sent. No syscall, no lock, no allocation: safe on a reactor.
 * Escaping can grow a field fourfold (combined) or sixfold (JSON).
 * Returns the line's length, or 0 when it does not fit in @cap.
 */
size_t rp__alog_format(enum rp_log_format fmt, const struct rp_alog_entry *e, char *out,
		       size_t cap);

#ifdef __cplusplus
}
#endif

#endif

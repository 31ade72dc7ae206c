/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Helpers for ringproxy's integration tests: they run the real ringproxy
 * binary as a child process and talk to it over loopback sockets only
 * (127.0.0.1 and ::1). Here are the pieces every test needs: child process
 * control with stderr captured to a file (so the stats lines printed at exit
 * can be parsed), free ports, a deterministic pseudo-random byte stream,
 * an epoll backend server running in a thread, and client drivers (a
 * two-way "pump" for one socket and an epoll echo driver for many).
 *
 * Functions return 0 or -errno unless they say otherwise. Everything a
 * helper starts is also kept in a registry so that rpt_cleanup_all() can
 * kill and free whatever a failed test left behind.
 */
#ifndef RPT_SUPPORT_H
#define RPT_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <openssl/base.h>
#include <openssl/sha.h>
#ifndef OPENSSL_IS_BORINGSSL
#error "the integration tests must use BoringSSL's headers (/usr/include/android)"
#endif

#define RPT_SHA_LEN SHA256_DIGEST_LENGTH

/* ---- time ---------------------------------------------------------------- */

/* CLOCK_MONOTONIC in milliseconds. */
int64_t rpt_now_ms(void);
void rpt_sleep_ms(int ms);

/* ---- environment ------------------------------------------------------- */

/* Integer from environment variable @name, or @def when unset or invalid. */
long rpt_env_long(const char *name, long def);

/*
 * Raises this process's RLIMIT_NOFILE soft limit to min(@want, hard).
 * Returns the new soft limit. Children inherit it unless
 * rpt_proc_spawn() is given a limit of their own.
 */
long rpt_raise_nofile(long want);

/* Online CPUs this process may run on (its affinity mask). */
int rpt_cpu_count(void);

/* ---- addresses and sockets ---------------------------------------------- */

/* true when ::1 can be bound (IPv6 loopback present). */
bool rpt_have_ipv6(void);

/* "127.0.0.1:PORT" or "[::1]:PORT" into @buf; returns @buf. */
char *rpt_addr_str(char *buf, size_t len, int family, uint16_t port);

/*
 * A port on the loopback address of @family that nothing listens on right
 * now: bound to port 0, read back, closed. Returns the port or -errno.
 * Another process could take it before it is used; on loopback in a test
 * sandbox that risk is accepted.
 */
int rpt_free_port(int family);

/*
 * TCP socket connected (or connecting, when @nonblock) to loopback @port.
 * Returns the fd (SOCK_CLOEXEC) or -errno; a non-blocking connect that is
 * in progress is not an error.
 */
int rpt_connect(int family, uint16_t port, bool nonblock);

/* Polls connect() to @port every 10 ms until it succeeds; 0 or -ETIMEDOUT. */
int rpt_wait_port(int family, uint16_t port, int timeout_ms);

/* A listening socket (backlog 16) on a free loopback port of @family, for
 * a test that accepts by hand; the fd, and the port in *@port. */
int rpt_listen(int family, uint16_t *port);

/*
 * Accepts one connection on @lfd and reads it until EOF or @cap bytes, all
 * within @timeout_ms. Returns the bytes read or -errno; the accepted fd is
 * left open in *@cfd (-1 if none) so that a reply can be written.
 */
ssize_t rpt_accept_read_all(int lfd, int timeout_ms, void *buf, size_t cap, int *cfd);

/* Sets O_NONBLOCK. */
int rpt_set_nonblock(int fd);

/*
 * Waits until the peer closes @fd: a read returns 0 or fails with
 * ECONNRESET/EPIPE. Any data received first is discarded and counted in
 * *@data when @data is not NULL. Returns 0 when closed, -ETIMEDOUT, or
 * another -errno.
 */
int rpt_wait_closed(int fd, int timeout_ms, size_t *data);

/* ---- deterministic pseudo-random stream --------------------------------- */

/*
 * Byte @off of stream @seed is a pure function of (seed, off), so a receiver
 * can check data at any offset without keeping the sender's state. Bytes come
 * from splitmix64 of a per-word counter, little-endian.
 */
void rpt_stream_fill(uint64_t seed, uint64_t off, void *buf, size_t len);

/*
 * Index in @buf of the first byte that differs from stream @seed at @off,
 * or UINT64_MAX. @scratch holds at least @len bytes.
 */
uint64_t rpt_stream_mismatch(uint64_t seed, uint64_t off, const void *buf, size_t len,
			     void *scratch);

/* SHA-256 of bytes [0, len) of stream @seed (main thread only: static buffer). */
void rpt_stream_sha(uint64_t seed, uint64_t len, uint8_t out[RPT_SHA_LEN]);

/* splitmix64 step, for choosing lengths and seeds. */
uint64_t rpt_rand64(uint64_t *state);

/* Hex of a digest into @buf (at least 2 * RPT_SHA_LEN + 1 bytes). */
char *rpt_sha_hex(const uint8_t sha[RPT_SHA_LEN], char *buf);

/* ---- child processes ---------------------------------------------------- */

struct rpt_proc {
	pid_t pid;
	bool reaped;
	int status;	       /* wait status once reaped */
	char err_path[128];    /* stderr and stdout of the child */
	struct rpt_proc *next; /* registry */
};

/*
 * Starts @argv[0] with @argv (NULL-terminated) as a child whose stdout and
 * stderr go to a fresh file in the test directory. @nofile > 0 sets the
 * child's RLIMIT_NOFILE (soft and hard) before exec. The child gets SIGKILL
 * if the test process dies, starts with default SIGPIPE and an empty signal
 * mask, and inherits no fds but 0-2. Returns the handle (caller frees it
 * with rpt_proc_free()) or NULL with errno set.
 */
struct rpt_proc *rpt_proc_spawn(const char *const argv[], long nofile);

/*
 * Waits until the child's stderr contains @needle. Returns 0, -ECHILD if
 * the child exited first, or -ETIMEDOUT.
 */
int rpt_proc_wait_output(struct rpt_proc *p, const char *needle, int timeout_ms);

/* Child still running (reaps it if it has exited). */
bool rpt_proc_alive(struct rpt_proc *p);

int rpt_proc_signal(struct rpt_proc *p, int sig);

/*
 * Waits up to @timeout_ms for the child to exit. Returns 0 with p->status
 * set, or -ETIMEDOUT after killing it with SIGKILL and reaping it (so a
 * timed-out child is never left running).
 */
int rpt_proc_wait(struct rpt_proc *p, int timeout_ms);

/* rpt_proc_signal() then rpt_proc_wait(). */
int rpt_proc_stop(struct rpt_proc *p, int sig, int timeout_ms);

/* true when the child exited normally with status @code. */
bool rpt_proc_exited_with(const struct rpt_proc *p, int code);

/* Child's captured output, NUL-terminated, malloc()ed; NULL on error. */
char *rpt_proc_output(const struct rpt_proc *p);

/* Prints the last @max bytes of the child's output to stdout. */
void rpt_proc_dump(const struct rpt_proc *p, size_t max);

/*
 * Kills the child with SIGKILL if it still runs, reaps it, optionally dumps
 * its output, removes its output file and frees @p. NULL is a no-op.
 */
void rpt_proc_free(struct rpt_proc *p, bool dump);

/* ---- ringproxy stats lines --------------------------------------------- */

#define RPT_STATS_MAX_KEYS 64

struct rpt_stats {
	int nkeys;
	char key[RPT_STATS_MAX_KEYS][32];
	long long val[RPT_STATS_MAX_KEYS];
};

/*
 * Parses every "ringproxy: stats key=value ..." line of @text into
 * @out[0..max). Returns the number of lines parsed.
 */
int rpt_stats_parse(const char *text, struct rpt_stats *out, int max);

/* Value of @key in one line; -ENOENT when absent. */
int rpt_stats_get(const struct rpt_stats *s, const char *key, long long *val);

/* Sum of @key over @n lines; -1 if any line lacks it. */
long long rpt_stats_sum(const struct rpt_stats *s, int n, const char *key);

/* Sum over keys that start with @prefix (e.g. "up_"); -1 if none. */
long long rpt_stats_sum_prefix(const struct rpt_stats *s, int n, const char *prefix);

/* ---- backend server ---------------------------------------------------- */

enum rpt_backend_mode {
	/* Echo every byte; after the peer's EOF and the last echo, close. */
	RPT_BACKEND_ECHO,
	/*
	 * Send source_bytes of stream @seed at once, then shutdown(SHUT_WR);
	 * meanwhile read to EOF, hashing what arrives.
	 */
	RPT_BACKEND_SOURCE,
	/*
	 * Read to EOF hashing what arrives, then send reply_bytes of stream
	 * @seed and close.
	 */
	RPT_BACKEND_SINK,
};

struct rpt_backend_cfg {
	enum rpt_backend_mode mode;
	int family;	       /* AF_INET or AF_INET6, on loopback */
	uint64_t source_bytes; /* RPT_BACKEND_SOURCE */
	uint64_t reply_bytes;  /* RPT_BACKEND_SINK */
	uint64_t seed;	       /* data sent by SOURCE and SINK */
	bool check_rx;	       /* SOURCE, SINK: compare what arrives with... */
	uint64_t rx_seed;      /* ...this stream, byte by byte */
};

/* What the backend saw on one connection, recorded when it closed. */
struct rpt_conn_result {
	unsigned id; /* accept order, from 0 */
	uint64_t rx_bytes;
	uint64_t tx_bytes;
	uint8_t rx_sha[RPT_SHA_LEN];
	uint8_t tx_sha[RPT_SHA_LEN];
	bool rx_eof; /* read returned 0 */
	int error;   /* -errno of a failed read/write, else 0 */
	/* with check_rx: first offset that differs from the stream, else UINT64_MAX */
	uint64_t rx_bad_off;
};

struct rpt_backend;

/*
 * Listens on loopback port 0 (backlog 4096) and serves from a thread with
 * one epoll loop and non-blocking sockets. Returns NULL with errno set.
 */
struct rpt_backend *rpt_backend_start(const struct rpt_backend_cfg *cfg);
uint16_t rpt_backend_port(const struct rpt_backend *b);

/* Connections accepted so far. */
unsigned rpt_backend_accepted(const struct rpt_backend *b);

/* Waits until @n connections have closed; returns how many have. */
unsigned rpt_backend_wait_results(struct rpt_backend *b, unsigned n, int timeout_ms);

/* Result of the connection accepted as number @id; -ENOENT if not closed. */
int rpt_backend_result(struct rpt_backend *b, unsigned id, struct rpt_conn_result *out);

/* Stops the thread, closes every socket, frees @b. NULL is a no-op. */
void rpt_backend_stop(struct rpt_backend *b);

/*
 * A listener whose accept queue is full: listen(fd, 0) plus one connection
 * that is never accepted, so further SYNs are dropped and connects hang.
 */
struct rpt_full_listener {
	int lfd;
	int filler;
	uint16_t port;
};
int rpt_full_listener_open(struct rpt_full_listener *fl, int family);
void rpt_full_listener_close(struct rpt_full_listener *fl);

/* ---- clients ------------------------------------------------------------ */

/*
 * Drives one non-blocking socket both ways at once: sends tx_total bytes of
 * stream tx_seed (then shutdown(SHUT_WR) if shut_wr) while reading to EOF,
 * hashing both directions.
 */
struct rpt_pump {
	uint64_t tx_seed;
	uint64_t tx_total;
	bool shut_wr;
	uint64_t tx_done;
	bool tx_shut;
	uint64_t rx_done;
	bool rx_eof;
	int error;
	SHA256_CTX tx_ctx;
	SHA256_CTX rx_ctx;
	uint8_t *buf;
	size_t buf_len;
	size_t buf_off;
	uint8_t *rxbuf;
	bool rx_check;
	uint64_t rx_seed;
	uint64_t rx_bad_off; /* first received offset that differs, or UINT64_MAX */
	uint8_t *expbuf;
};

void rpt_pump_init(struct rpt_pump *pm, uint64_t tx_seed, uint64_t tx_total,
		   bool shut_wr);

/*
 * Also compares every received byte with stream @seed; pm->rx_bad_off
 * keeps the first offset that differs. Call after rpt_pump_init().
 */
void rpt_pump_expect(struct rpt_pump *pm, uint64_t seed);

/*
 * Runs the pump on @fd (made non-blocking) until both directions are done
 * (returns 0), rx_done reaches @rx_stop (returns -EAGAIN; UINT64_MAX for no
 * stop, or a small step to read slowly), @deadline_ms passes (-ETIMEDOUT),
 * or a socket error (-errno, also kept in pm->error).
 */
int rpt_pump_run(struct rpt_pump *pm, int fd, uint64_t rx_stop, int64_t deadline_ms);

/* Final digests; frees the pump's buffers. */
void rpt_pump_finish(struct rpt_pump *pm, uint8_t tx_sha[RPT_SHA_LEN],
		     uint8_t rx_sha[RPT_SHA_LEN]);

struct rpt_echo_opts {
	int family;
	uint16_t port;
	unsigned nconns; /* all opened at once */
	size_t min_len;	 /* payload length, uniform in [min, max] */
	size_t max_len;
	uint64_t seed;	 /* connection i sends stream rpt_rand64 of it */
	int timeout_ms;	 /* for the whole run */
	bool half_close; /* SHUT_WR after sending and expect EOF after the echo */
};

struct rpt_echo_report {
	unsigned ok; /* every byte came back, in order */
	unsigned connect_failed;
	unsigned reset;	    /* ECONNRESET/EPIPE or other socket error */
	unsigned short_eof; /* EOF before the whole payload came back */
	unsigned mismatch;  /* a wrong or extra byte */
	unsigned timed_out;
	uint64_t bytes; /* payload bytes sent by all connections */
	int64_t elapsed_ms;
};

/*
 * Opens o->nconns connections to loopback o->port at once and drives them
 * from one epoll loop: each sends a distinct payload and checks that exactly
 * that payload comes back. Returns 0 when the loop ran (see @r for the
 * outcome) or -errno if it could not start.
 */
int rpt_echo_many(const struct rpt_echo_opts *o, struct rpt_echo_report *r);

/* ---- registry ----------------------------------------------------------- */

/*
 * Kills and frees every child and backend not yet freed; @dump prints the
 * children's output first. For test teardown.
 */
void rpt_cleanup_all(bool dump);

/* Directory for output files (created on first use), removed by rpt_fini(). */
const char *rpt_tmpdir(void);
void rpt_fini(void);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Helpers for ringproxy's integration tests (see support.h): child process
 * control, loopback sockets, a deterministic byte stream, an epoll backend
 * server thread and client drivers. Loopback only, by construction: every
 * address built here is 127.0.0.1 or ::1.
 */
#define _GNU_SOURCE
#include "support.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RPT_IO_CHUNK (256 * 1024)

/* ---- time and environment ---------------------------------------------- */

int64_t rpt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void rpt_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

long rpt_env_long(const char *name, long def)
{
	const char *s = getenv(name);
	char *end;
	long v;

	if (!s || !*s)
		return def;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v <= 0)
		return def;
	return v;
}

long rpt_raise_nofile(long want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (rl.rlim_cur != RLIM_INFINITY && (long)rl.rlim_cur >= want)
		return (long)rl.rlim_cur;
	rl.rlim_cur = (rl.rlim_max == RLIM_INFINITY || (long)rl.rlim_max > want)
			      ? (rlim_t)want
			      : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	return (long)rl.rlim_cur;
}

int rpt_cpu_count(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return (int)sysconf(_SC_NPROCESSORS_ONLN);
	return CPU_COUNT(&set);
}

/* ---- addresses and sockets ---------------------------------------------- */

static socklen_t loopback_addr(struct sockaddr_storage *ss, int family, uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
		s6->sin6_port = htons(port);
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	s4->sin_family = AF_INET;
	s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s4->sin_port = htons(port);
	return sizeof(*s4);
}

static int bound_socket(int family, uint16_t port, int type, uint16_t *got)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback_addr(&ss, family, port);
	int fd, ret;

	fd = socket(family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (family == AF_INET6) {
		int one = 1;

		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		goto fail_close;
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		goto fail_close;
	*got = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					: ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
fail_close:
	ret = -errno;
	close(fd);
	return ret;
}

bool rpt_have_ipv6(void)
{
	uint16_t port;
	int fd = bound_socket(AF_INET6, 0, SOCK_STREAM, &port);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

char *rpt_addr_str(char *buf, size_t len, int family, uint16_t port)
{
	if (family == AF_INET6)
		snprintf(buf, len, "[::1]:%u", port);
	else
		snprintf(buf, len, "127.0.0.1:%u", port);
	return buf;
}

int rpt_free_port(int family)
{
	uint16_t port = 0;
	int fd = bound_socket(family, 0, SOCK_STREAM, &port);

	if (fd < 0)
		return fd;
	close(fd);
	return port;
}

int rpt_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

int rpt_connect(int family, uint16_t port, bool nonblock)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback_addr(&ss, family, port);
	int fd, ret;

	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0),
		    0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&ss, len) < 0 &&
	    !(nonblock && errno == EINPROGRESS)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

int rpt_wait_port(int family, uint16_t port, int timeout_ms)
{
	int64_t deadline = rpt_now_ms() + timeout_ms;

	do {
		int fd = rpt_connect(family, port, false);

		if (fd >= 0) {
			close(fd);
			return 0;
		}
		rpt_sleep_ms(10);
	} while (rpt_now_ms() < deadline);
	return -ETIMEDOUT;
}

int rpt_wait_closed(int fd, int timeout_ms, size_t *data)
{
	int64_t deadline = rpt_now_ms() + timeout_ms;
	char buf[4096];

	if (data)
		*data = 0;
	for (;;) {
		int64_t left = deadline - rpt_now_ms();
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			return -errno;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0)
			return 0;
		if (n > 0) {
			if (data)
				*data += (size_t)n;
			continue;
		}
		if (errno == ECONNRESET || errno == EPIPE)
			return 0;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
	}
}

int rpt_listen(int family, uint16_t *port)
{
	int fd = bound_socket(family, 0, SOCK_STREAM, port);

	if (fd < 0)
		return fd;
	if (listen(fd, 16) < 0) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

ssize_t rpt_accept_read_all(int lfd, int timeout_ms, void *buf, size_t cap, int *cfd)
{
	int64_t deadline = rpt_now_ms() + timeout_ms;
	struct pollfd pfd = {.fd = lfd, .events = POLLIN};
	size_t got = 0;
	int fd;

	*cfd = -1;
	if (poll(&pfd, 1, timeout_ms) <= 0)
		return -ETIMEDOUT;
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return -errno;
	*cfd = fd;
	while (got < cap) {
		int64_t left = deadline - rpt_now_ms();
		ssize_t n;

		pfd.fd = fd;
		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			return -errno;
		n = recv(fd, (char *)buf + got, cap - got, MSG_DONTWAIT);
		if (n == 0)
			break;
		if (n > 0)
			got += (size_t)n;
		else if (errno != EAGAIN && errno != EINTR)
			return -errno;
	}
	return (ssize_t)got;
}

/* ---- deterministic stream ---------------------------------------------- */

static inline uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static inline uint64_t stream_word(uint64_t seed, uint64_t idx)
{
	return splitmix64(seed ^ (idx * 0xd6e8feb86659fd93ULL));
}

void rpt_stream_fill(uint64_t seed, uint64_t off, void *buf, size_t len)
{
	uint8_t *p = buf;
	uint64_t idx = off / 8;
	unsigned skip = off % 8;

	while (len) {
		uint64_t w = stream_word(seed, idx++);
		uint8_t bytes[8];

		if (!skip && len >= 8) {
			/* little-endian on x86; spell it out for others */
			for (int i = 0; i < 8; i++)
				p[i] = (uint8_t)(w >> (8 * i));
			p += 8;
			len -= 8;
			continue;
		}
		for (int i = 0; i < 8; i++)
			bytes[i] = (uint8_t)(w >> (8 * i));
		for (unsigned i = skip; i < 8 && len; i++, len--)
			*p++ = bytes[i];
		skip = 0;
	}
}

uint64_t rpt_stream_mismatch(uint64_t seed, uint64_t off, const void *buf, size_t len,
			     void *scratch)
{
	const uint8_t *a = buf, *b = scratch;

	rpt_stream_fill(seed, off, scratch, len);
	if (!memcmp(a, b, len))
		return UINT64_MAX;
	for (size_t i = 0; i < len; i++)
		if (a[i] != b[i])
			return i;
	return UINT64_MAX;
}

void rpt_stream_sha(uint64_t seed, uint64_t len, uint8_t out[RPT_SHA_LEN])
{
	static uint8_t buf[RPT_IO_CHUNK];
	SHA256_CTX ctx;
	uint64_t off = 0;

	SHA256_Init(&ctx);
	while (off < len) {
		size_t n = len - off < sizeof(buf) ? (size_t)(len - off) : sizeof(buf);

		rpt_stream_fill(seed, off, buf, n);
		SHA256_Update(&ctx, buf, n);
		off += n;
	}
	SHA256_Final(out, &ctx);
}

uint64_t rpt_rand64(uint64_t *state)
{
	*state += 0x9e3779b97f4a7c15ULL;
	return splitmix64(*state);
}

char *rpt_sha_hex(const uint8_t sha[RPT_SHA_LEN], char *buf)
{
	for (int i = 0; i < RPT_SHA_LEN; i++)
		sprintf(buf + 2 * i, "%02x", sha[i]);
	return buf;
}

/* ---- temp dir and registry ---------------------------------------------- */

static char tmpdir[128];
static struct rpt_proc *procs;
static struct rpt_backend *backends;

const char *rpt_tmpdir(void)
{
	if (!tmpdir[0]) {
		const char *base = getenv("TMPDIR");

		snprintf(tmpdir, sizeof(tmpdir), "%s/rpt-l4.XXXXXX",
			 base && *base ? base : "/tmp");
		if (!mkdtemp(tmpdir))
			snprintf(tmpdir, sizeof(tmpdir), "/tmp");
	}
	return tmpdir;
}

void rpt_fini(void)
{
	DIR *d;
	struct dirent *de;

	rpt_cleanup_all(false);
	if (!tmpdir[0] || !strcmp(tmpdir, "/tmp"))
		return;
	d = opendir(tmpdir);
	if (d) {
		while ((de = readdir(d))) {
			char path[512];

			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", tmpdir, de->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(tmpdir);
	tmpdir[0] = 0;
}

/* ---- child processes ---------------------------------------------------- */

struct rpt_proc *rpt_proc_spawn(const char *const argv[], long nofile)
{
	static unsigned seq;
	struct rlimit rl = {(rlim_t)nofile, (rlim_t)nofile};
	pid_t parent = getpid();
	struct rpt_proc *p;
	int out, in, err;

	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	if (snprintf(p->err_path, sizeof(p->err_path), "%s/proc-%u.log", rpt_tmpdir(),
		     seq++) >= (int)sizeof(p->err_path)) {
		errno = ENAMETOOLONG;
		goto fail_free;
	}
	out = open(p->err_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC,
		   0644);
	if (out < 0)
		goto fail_free;
	in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (in < 0)
		goto fail_close_out;

	p->pid = fork();
	if (p->pid == 0) {
		/* Only async-signal-safe calls from here: other threads run. */
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
			_exit(127);
#ifdef SYS_close_range
		syscall(SYS_close_range, 3U, ~0U, 0U);
#endif
		if (nofile > 0 && setrlimit(RLIMIT_NOFILE, &rl) < 0)
			_exit(126);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	err = errno;
	close(in);
	close(out);
	if (p->pid < 0) {
		errno = err;
		goto fail_unlink;
	}
	p->next = procs;
	procs = p;
	return p;
fail_close_out:
	err = errno;
	close(out);
	errno = err;
fail_unlink:
	unlink(p->err_path);
fail_free:
	err = errno;
	free(p);
	errno = err;
	return NULL;
}

bool rpt_proc_alive(struct rpt_proc *p)
{
	int st;

	if (p->reaped)
		return false;
	if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
		p->reaped = true;
		p->status = st;
		return false;
	}
	return true;
}

char *rpt_proc_output(const struct rpt_proc *p)
{
	FILE *f = fopen(p->err_path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		return NULL;
	do {
		if (cap - len < 4096) {
			char *nb = realloc(buf, cap + 65536);

			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
			cap += 65536;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	fclose(f);
	buf[len] = 0;
	return buf;
}

void rpt_proc_dump(const struct rpt_proc *p, size_t max)
{
	char *out = rpt_proc_output(p);
	size_t len;

	if (!out)
		return;
	len = strlen(out);
	printf("\n----- ringproxy pid %d output%s -----\n%s\n-----\n", (int)p->pid,
	       len > max ? " (tail)" : "", len > max ? out + len - max : out);
	fflush(stdout);
	free(out);
}

int rpt_proc_wait_output(struct rpt_proc *p, const char *needle, int timeout_ms)
{
	int64_t deadline = rpt_now_ms() + timeout_ms;

	for (;;) {
		bool alive = rpt_proc_alive(p);
		char *out = rpt_proc_output(p);
		bool found = out && strstr(out, needle);

		free(out);
		if (found)
			return 0;
		if (!alive)
			return -ECHILD;
		if (rpt_now_ms() >= deadline)
			return -ETIMEDOUT;
		rpt_sleep_ms(10);
	}
}

int rpt_proc_signal(struct rpt_proc *p, int sig)
{
	if (p->reaped)
		return -ESRCH;
	return kill(p->pid, sig) < 0 ? -errno : 0;
}

int rpt_proc_wait(struct rpt_proc *p, int timeout_ms)
{
	int64_t deadline = rpt_now_ms() + timeout_ms;

	while (rpt_proc_alive(p)) {
		if (rpt_now_ms() >= deadline) {
			kill(p->pid, SIGKILL);
			if (waitpid(p->pid, &p->status, 0) == p->pid)
				p->reaped = true;
			return -ETIMEDOUT;
		}
		rpt_sleep_ms(5);
	}
	return 0;
}

int rpt_proc_stop(struct rpt_proc *p, int sig, int timeout_ms)
{
	int ret = rpt_proc_signal(p, sig);

	if (ret < 0 && ret != -ESRCH)
		return ret;
	return rpt_proc_wait(p, timeout_ms);
}

bool rpt_proc_exited_with(const struct rpt_proc *p, int code)
{
	return p->reaped && WIFEXITED(p->status) && WEXITSTATUS(p->status) == code;
}

void rpt_proc_free(struct rpt_proc *p, bool dump)
{
	struct rpt_proc **pp;

	if (!p)
		return;
	if (!p->reaped) {
		kill(p->pid, SIGKILL);
		if (waitpid(p->pid, &p->status, 0) == p->pid)
			p->reaped = true;
	}
	if (dump)
		rpt_proc_dump(p, 8192);
	unlink(p->err_path);
	for (pp = &procs; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	free(p);
}

/* ---- stats lines ------------------------------------------------------- */

int rpt_stats_parse(const char *text, struct rpt_stats *out, int max)
{
	static const char tag[] = "ringproxy: stats ";
	const char *line = text;
	int n = 0;

	while (line && *line && n < max) {
		const char *eol = strchr(line, '\n');
		const char *p = line;

		if (!eol)
			eol = line + strlen(line);
		if (!strncmp(p, tag, sizeof(tag) - 1)) {
			struct rpt_stats *s = &out[n++];

			memset(s, 0, sizeof(*s));
			p += sizeof(tag) - 1;
			while (p < eol && s->nkeys < RPT_STATS_MAX_KEYS) {
				const char *eq, *end;
				size_t klen;

				while (p < eol && *p == ' ')
					p++;
				end = p;
				while (end < eol && *end != ' ')
					end++;
				eq = memchr(p, '=', (size_t)(end - p));
				if (eq) {
					klen = (size_t)(eq - p);
					if (klen >= sizeof(s->key[0]))
						klen = sizeof(s->key[0]) - 1;
					memcpy(s->key[s->nkeys], p, klen);
					s->key[s->nkeys][klen] = 0;
					s->val[s->nkeys] = strtoll(eq + 1, NULL, 10);
					s->nkeys++;
				}
				p = end;
			}
		}
		line = *eol ? eol + 1 : NULL;
	}
	return n;
}

int rpt_stats_get(const struct rpt_stats *s, const char *key, long long *val)
{
	for (int i = 0; i < s->nkeys; i++) {
		if (!strcmp(s->key[i], key)) {
			*val = s->val[i];
			return 0;
		}
	}
	return -ENOENT;
}

long long rpt_stats_sum(const struct rpt_stats *s, int n, const char *key)
{
	long long sum = 0, v;

	if (n <= 0)
		return -1;
	for (int i = 0; i < n; i++) {
		if (rpt_stats_get(&s[i], key, &v) < 0)
			return -1;
		sum += v;
	}
	return sum;
}

long long rpt_stats_sum_prefix(const struct rpt_stats *s, int n, const char *prefix)
{
	long long sum = 0;
	bool any = false;
	size_t plen = strlen(prefix);

	for (int i = 0; i < n; i++) {
		for (int k = 0; k < s[i].nkeys; k++) {
			if (!strncmp(s[i].key[k], prefix, plen)) {
				sum += s[i].val[k];
				any = true;
			}
		}
	}
	return any ? sum : -1;
}

/* ---- backend server ---------------------------------------------------- */

struct rpt_bconn {
	int fd;
	unsigned id;
	uint32_t events; /* current epoll interest */
	bool rx_eof;
	bool tx_shut;
	uint64_t rx_bytes;
	uint64_t tx_bytes;
	uint64_t rx_bad_off;
	SHA256_CTX rx_ctx;
	SHA256_CTX tx_ctx;
	uint8_t *buf; /* echo data or generated stream chunk */
	size_t cap;
	size_t head;
	size_t tail;
	struct rpt_bconn *prev, *next;
};

struct rpt_backend {
	struct rpt_backend_cfg cfg;
	int lfd;
	int efd;
	int epfd;
	uint16_t port;
	pthread_t thread;
	atomic_uint accepted;
	atomic_bool stop;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct rpt_conn_result *results;
	unsigned nresults;
	unsigned cap;
	struct rpt_bconn *conns;
	uint8_t *scratch;
	uint8_t *expect;
	struct rpt_backend *next;
};

static void bconn_free(struct rpt_backend *b, struct rpt_bconn *c)
{
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		b->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c->buf);
	free(c);
}

static void bconn_finish(struct rpt_backend *b, struct rpt_bconn *c, int error)
{
	struct rpt_conn_result r = {
		.id = c->id,
		.rx_bytes = c->rx_bytes,
		.tx_bytes = c->tx_bytes,
		.rx_eof = c->rx_eof,
		.error = error,
		.rx_bad_off = c->rx_bad_off,
	};

	SHA256_Final(r.rx_sha, &c->rx_ctx);
	SHA256_Final(r.tx_sha, &c->tx_ctx);
	bconn_free(b, c);

	pthread_mutex_lock(&b->mu);
	if (b->nresults == b->cap) {
		unsigned ncap = b->cap ? b->cap * 2 : 64;
		struct rpt_conn_result *nr = realloc(b->results, ncap * sizeof(*nr));

		if (nr) {
			b->results = nr;
			b->cap = ncap;
		}
	}
	if (b->nresults < b->cap)
		b->results[b->nresults++] = r;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

/* Bytes of stream this connection must send by now. */
static uint64_t bconn_tx_limit(const struct rpt_backend *b, const struct rpt_bconn *c)
{
	if (b->cfg.mode == RPT_BACKEND_SOURCE)
		return b->cfg.source_bytes;
	return c->rx_eof ? b->cfg.reply_bytes : 0;
}

static bool bconn_want_in(const struct rpt_backend *b, const struct rpt_bconn *c)
{
	if (c->rx_eof)
		return false;
	return b->cfg.mode != RPT_BACKEND_ECHO || c->tail < c->cap || c->head > 0;
}

static bool bconn_want_out(const struct rpt_backend *b, const struct rpt_bconn *c)
{
	if (b->cfg.mode == RPT_BACKEND_ECHO)
		return c->head < c->tail;
	return c->head < c->tail || c->tx_bytes < bconn_tx_limit(b, c);
}

static bool bconn_done(const struct rpt_backend *b, const struct rpt_bconn *c)
{
	if (b->cfg.mode == RPT_BACKEND_ECHO)
		return c->rx_eof && c->head == c->tail;
	return c->rx_eof && c->tx_shut;
}

/* Returns 0, or -errno of a socket error (the caller finishes the conn). */
static int bconn_read(struct rpt_backend *b, struct rpt_bconn *c)
{
	for (int i = 0; i < 16 && !c->rx_eof; i++) {
		uint8_t *dst;
		size_t room;
		ssize_t n;

		if (b->cfg.mode == RPT_BACKEND_ECHO) {
			if (c->tail == c->cap && c->head > 0) {
				memmove(c->buf, c->buf + c->head, c->tail - c->head);
				c->tail -= c->head;
				c->head = 0;
			}
			if (c->tail == c->cap)
				break;
			dst = c->buf + c->tail;
			room = c->cap - c->tail;
		} else {
			dst = b->scratch;
			room = RPT_IO_CHUNK;
		}
		n = recv(c->fd, dst, room, 0);
		if (n > 0) {
			if (b->cfg.check_rx && b->cfg.mode != RPT_BACKEND_ECHO &&
			    c->rx_bad_off == UINT64_MAX) {
				uint64_t bad =
					rpt_stream_mismatch(b->cfg.rx_seed, c->rx_bytes,
							    dst, (size_t)n, b->expect);

				if (bad != UINT64_MAX)
					c->rx_bad_off = c->rx_bytes + bad;
			}
			SHA256_Update(&c->rx_ctx, dst, (size_t)n);
			c->rx_bytes += (uint64_t)n;
			if (b->cfg.mode == RPT_BACKEND_ECHO)
				c->tail += (size_t)n;
		} else if (n == 0) {
			c->rx_eof = true;
		} else if (errno == EAGAIN || errno == EINTR) {
			break;
		} else {
			return -errno;
		}
	}
	return 0;
}

static int bconn_write(struct rpt_backend *b, struct rpt_bconn *c)
{
	for (int i = 0; i < 16; i++) {
		ssize_t n;

		if (c->head == c->tail) {
			uint64_t left;

			if (b->cfg.mode == RPT_BACKEND_ECHO)
				break;
			left = bconn_tx_limit(b, c) - c->tx_bytes;
			if (!left)
				break;
			c->head = 0;
			c->tail = left < c->cap ? (size_t)left : c->cap;
			rpt_stream_fill(b->cfg.seed, c->tx_bytes, c->buf, c->tail);
		}
		n = send(c->fd, c->buf + c->head, c->tail - c->head, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			return -errno;
		}
		SHA256_Update(&c->tx_ctx, c->buf + c->head, (size_t)n);
		c->head += (size_t)n;
		c->tx_bytes += (uint64_t)n;
		if (c->head == c->tail)
			c->head = c->tail = 0;
	}
	if (b->cfg.mode != RPT_BACKEND_ECHO && !c->tx_shut && c->head == c->tail &&
	    c->tx_bytes == bconn_tx_limit(b, c) &&
	    (b->cfg.mode == RPT_BACKEND_SOURCE || c->rx_eof)) {
		if (shutdown(c->fd, SHUT_WR) < 0)
			return -errno;
		c->tx_shut = true;
	}
	return 0;
}

static void bconn_update(struct rpt_backend *b, struct rpt_bconn *c)
{
	uint32_t want = (bconn_want_in(b, c) ? EPOLLIN : 0) |
			(bconn_want_out(b, c) ? EPOLLOUT : 0);
	struct epoll_event ev = {.events = want, .data.ptr = c};

	if (want != c->events) {
		epoll_ctl(b->epfd, EPOLL_CTL_MOD, c->fd, &ev);
		c->events = want;
	}
}

static void bconn_io(struct rpt_backend *b, struct rpt_bconn *c, uint32_t ev)
{
	int ret = 0;

	if ((ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) && bconn_want_in(b, c))
		ret = bconn_read(b, c);
	/*
	 * Echo what just arrived without waiting for EPOLLOUT; a stream may
	 * owe data (the SINK reply after EOF) or its SHUT_WR.
	 */
	if (!ret && (b->cfg.mode != RPT_BACKEND_ECHO || bconn_want_out(b, c)))
		ret = bconn_write(b, c);
	if (ret < 0) {
		bconn_finish(b, c, ret);
		return;
	}
	if (bconn_done(b, c)) {
		bconn_finish(b, c, 0);
		return;
	}
	bconn_update(b, c);
}

static void backend_accept(struct rpt_backend *b)
{
	for (;;) {
		struct epoll_event ev;
		struct rpt_bconn *c;
		int fd = accept4(b->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN)
				fprintf(stderr, "rpt backend: accept: %s\n",
					strerror(errno));
			return;
		}
		c = calloc(1, sizeof(*c));
		if (c) {
			c->cap = b->cfg.mode == RPT_BACKEND_ECHO ? 16384 : 65536;
			c->buf = malloc(c->cap);
		}
		if (!c || !c->buf) {
			free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->rx_bad_off = UINT64_MAX;
		c->id = atomic_fetch_add(&b->accepted, 1);
		SHA256_Init(&c->rx_ctx);
		SHA256_Init(&c->tx_ctx);
		c->next = b->conns;
		if (b->conns)
			b->conns->prev = c;
		b->conns = c;
		c->events = (bconn_want_in(b, c) ? EPOLLIN : 0) |
			    (bconn_want_out(b, c) ? EPOLLOUT : 0);
		ev.events = c->events;
		ev.data.ptr = c;
		if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			bconn_finish(b, c, -errno);
			continue;
		}
		/* SOURCE may have nothing to read for a long while: start sending */
		bconn_io(b, c, 0);
	}
}

static void *backend_main(void *arg)
{
	struct rpt_backend *b = arg;
	struct epoll_event evs[256];

	while (!atomic_load(&b->stop)) {
		int n = epoll_wait(b->epfd, evs, 256, 200);

		for (int i = 0; i < n; i++) {
			void *ptr = evs[i].data.ptr;

			if (ptr == &b->lfd)
				backend_accept(b);
			else if (ptr != &b->efd)
				bconn_io(b, ptr, evs[i].events);
		}
	}
	return NULL;
}

struct rpt_backend *rpt_backend_start(const struct rpt_backend_cfg *cfg)
{
	struct epoll_event ev = {.events = EPOLLIN};
	pthread_condattr_t ca;
	struct rpt_backend *b;
	int one = 1, err;

	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->cfg = *cfg;
	b->lfd = b->efd = b->epfd = -1;
	b->scratch = malloc(RPT_IO_CHUNK);
	b->expect = malloc(RPT_IO_CHUNK);
	if (!b->scratch || !b->expect)
		goto fail;
	pthread_mutex_init(&b->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&b->cv, &ca);
	pthread_condattr_destroy(&ca);

	b->lfd = bound_socket(cfg->family, 0, SOCK_STREAM | SOCK_NONBLOCK, &b->port);
	if (b->lfd < 0) {
		errno = -b->lfd;
		goto fail;
	}
	setsockopt(b->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (listen(b->lfd, 4096) < 0)
		goto fail;
	b->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	b->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (b->efd < 0 || b->epfd < 0)
		goto fail;
	ev.data.ptr = &b->lfd;
	if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, b->lfd, &ev) < 0)
		goto fail;
	ev.data.ptr = &b->efd;
	if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, b->efd, &ev) < 0)
		goto fail;
	err = pthread_create(&b->thread, NULL, backend_main, b);
	if (err) {
		errno = err;
		goto fail;
	}
	b->next = backends;
	backends = b;
	return b;
fail:
	err = errno;
	if (b->lfd >= 0)
		close(b->lfd);
	if (b->efd >= 0)
		close(b->efd);
	if (b->epfd >= 0)
		close(b->epfd);
	free(b->scratch);
	free(b->expect);
	free(b);
	errno = err;
	return NULL;
}

uint16_t rpt_backend_port(const struct rpt_backend *b)
{
	return b->port;
}

unsigned rpt_backend_accepted(const struct rpt_backend *b)
{
	return atomic_load(&((struct rpt_backend *)b)->accepted);
}

unsigned rpt_backend_wait_results(struct rpt_backend *b, unsigned n, int timeout_ms)
{
	struct timespec ts;
	unsigned got;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&b->mu);
	while (b->nresults < n) {
		if (pthread_cond_timedwait(&b->cv, &b->mu, &ts) == ETIMEDOUT)
			break;
	}
	got = b->nresults;
	pthread_mutex_unlock(&b->mu);
	return got;
}

int rpt_backend_result(struct rpt_backend *b, unsigned id, struct rpt_conn_result *out)
{
	int ret = -ENOENT;

	pthread_mutex_lock(&b->mu);
	for (unsigned i = 0; i < b->nresults; i++) {
		if (b->results[i].id == id) {
			*out = b->results[i];
			ret = 0;
			break;
		}
	}
	pthread_mutex_unlock(&b->mu);
	return ret;
}

void rpt_backend_stop(struct rpt_backend *b)
{
	struct rpt_backend **pp;
	uint64_t one = 1;

	if (!b)
		return;
	atomic_store(&b->stop, true);
	if (write(b->efd, &one, sizeof(one)) < 0) {
		/* the loop also wakes every 200 ms */
	}
	pthread_join(b->thread, NULL);
	while (b->conns)
		bconn_free(b, b->conns);
	close(b->lfd);
	close(b->efd);
	close(b->epfd);
	for (pp = &backends; *pp; pp = &(*pp)->next) {
		if (*pp == b) {
			*pp = b->next;
			break;
		}
	}
	pthread_cond_destroy(&b->cv);
	pthread_mutex_destroy(&b->mu);
	free(b->results);
	free(b->scratch);
	free(b->expect);
	free(b);
}

int rpt_full_listener_open(struct rpt_full_listener *fl, int family)
{
	struct pollfd pfd;
	int ret, probe;

	fl->filler = -1;
	fl->lfd = bound_socket(family, 0, SOCK_STREAM, &fl->port);
	if (fl->lfd < 0)
		return fl->lfd;
	/*
	 * Backlog 0: the accept queue takes one connection (the queue counts as
	 * full only when its length exceeds the backlog); after that the
	 * kernel drops SYNs, so a connect hangs in SYN_SENT.
	 */
	if (listen(fl->lfd, 0) < 0)
		goto fail;
	fl->filler = rpt_connect(family, fl->port, true);
	if (fl->filler < 0) {
		errno = -fl->filler;
		goto fail;
	}
	pfd = (struct pollfd){.fd = fl->filler, .events = POLLOUT};
	if (poll(&pfd, 1, 1000) != 1) {
		errno = ETIMEDOUT;
		goto fail;
	}
	/* the precondition of the tests that use it: a further connect hangs */
	probe = rpt_connect(family, fl->port, true);
	if (probe < 0) {
		errno = -probe;
		goto fail;
	}
	pfd = (struct pollfd){.fd = probe, .events = POLLOUT};
	ret = poll(&pfd, 1, 200);
	close(probe);
	if (ret != 0) {
		errno = EADDRINUSE;
		goto fail;
	}
	return 0;
fail:
	ret = -errno;
	rpt_full_listener_close(fl);
	return ret;
}

void rpt_full_listener_close(struct rpt_full_listener *fl)
{
	if (fl->filler >= 0)
		close(fl->filler);
	if (fl->lfd >= 0)
		close(fl->lfd);
	fl->filler = fl->lfd = -1;
}

/* ---- clients ------------------------------------------------------------ */

void rpt_pump_init(struct rpt_pump *pm, uint64_t tx_seed, uint64_t tx_total, bool shut_wr)
{
	memset(pm, 0, sizeof(*pm));
	pm->tx_seed = tx_seed;
	pm->tx_total = tx_total;
	pm->shut_wr = shut_wr;
	SHA256_Init(&pm->tx_ctx);
	SHA256_Init(&pm->rx_ctx);
	pm->rx_bad_off = UINT64_MAX;
	pm->buf = malloc(RPT_IO_CHUNK);
	pm->rxbuf = malloc(RPT_IO_CHUNK);
	if (!pm->buf || !pm->rxbuf)
		pm->error = -ENOMEM;
}

void rpt_pump_expect(struct rpt_pump *pm, uint64_t seed)
{
	pm->rx_check = true;
	pm->rx_seed = seed;
	if (!pm->expbuf)
		pm->expbuf = malloc(RPT_IO_CHUNK);
	if (!pm->expbuf)
		pm->error = -ENOMEM;
}

int rpt_pump_run(struct rpt_pump *pm, int fd, uint64_t rx_stop, int64_t deadline_ms)
{
	if (pm->error)
		return pm->error;
	rpt_set_nonblock(fd);
	for (;;) {
		struct pollfd pfd = {.fd = fd};
		int64_t left;
		bool tx_want;

		if (pm->tx_done == pm->tx_total && pm->shut_wr && !pm->tx_shut) {
			if (shutdown(fd, SHUT_WR) < 0)
				return pm->error = -errno;
			pm->tx_shut = true;
		}
		tx_want = pm->tx_done < pm->tx_total;
		if (!tx_want && pm->rx_eof)
			return 0;
		if (pm->rx_done >= rx_stop)
			return -EAGAIN;
		left = deadline_ms - rpt_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		pfd.events = (tx_want ? POLLOUT : 0) | (pm->rx_eof ? 0 : POLLIN);
		if (poll(&pfd, 1, left < 100 ? (int)left : 100) < 0) {
			if (errno == EINTR)
				continue;
			return pm->error = -errno;
		}
		if (!pm->rx_eof && (pfd.revents & (POLLIN | POLLHUP | POLLERR))) {
			for (int i = 0; i < 8 && !pm->rx_eof && pm->rx_done < rx_stop;
			     i++) {
				uint64_t want = rx_stop - pm->rx_done;
				ssize_t n = recv(fd, pm->rxbuf,
						 want < RPT_IO_CHUNK ? (size_t)want
								     : RPT_IO_CHUNK,
						 0);

				if (n > 0) {
					if (pm->rx_check &&
					    pm->rx_bad_off == UINT64_MAX) {
						uint64_t bad = rpt_stream_mismatch(
							pm->rx_seed, pm->rx_done,
							pm->rxbuf, (size_t)n, pm->expbuf);

						if (bad != UINT64_MAX)
							pm->rx_bad_off =
								pm->rx_done + bad;
					}
					SHA256_Update(&pm->rx_ctx, pm->rxbuf, (size_t)n);
					pm->rx_done += (uint64_t)n;
				} else if (n == 0) {
					pm->rx_eof = true;
				} else if (errno == EAGAIN || errno == EINTR) {
					break;
				} else {
					return pm->error = -errno;
				}
			}
		}
		if (tx_want && (pfd.revents & (POLLOUT | POLLHUP | POLLERR))) {
			for (int i = 0; i < 8 && pm->tx_done < pm->tx_total; i++) {
				ssize_t n;

				if (pm->buf_off == pm->buf_len) {
					uint64_t left_tx = pm->tx_total - pm->tx_done;

					pm->buf_off = 0;
					pm->buf_len = left_tx < RPT_IO_CHUNK
							      ? (size_t)left_tx
							      : RPT_IO_CHUNK;
					rpt_stream_fill(pm->tx_seed, pm->tx_done, pm->buf,
							pm->buf_len);
				}
				n = send(fd, pm->buf + pm->buf_off,
					 pm->buf_len - pm->buf_off, MSG_NOSIGNAL);
				if (n < 0) {
					if (errno == EAGAIN || errno == EINTR)
						break;
					return pm->error = -errno;
				}
				SHA256_Update(&pm->tx_ctx, pm->buf + pm->buf_off,
					      (size_t)n);
				pm->buf_off += (size_t)n;
				pm->tx_done += (uint64_t)n;
			}
		}
	}
}

void rpt_pump_finish(struct rpt_pump *pm, uint8_t tx_sha[RPT_SHA_LEN],
		     uint8_t rx_sha[RPT_SHA_LEN])
{
	SHA256_Final(tx_sha, &pm->tx_ctx);
	SHA256_Final(rx_sha, &pm->rx_ctx);
	free(pm->buf);
	free(pm->rxbuf);
	free(pm->expbuf);
	pm->buf = pm->rxbuf = pm->expbuf = NULL;
}

struct echo_conn {
	int fd;
	bool connected;
	bool done;
	uint8_t *payload;
	size_t len;
	size_t tx_off;
	size_t rx_off;
};

static void echo_conn_end(struct echo_conn *c, unsigned *counter, unsigned *remaining)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->done = true;
	(*counter)++;
	(*remaining)--;
}

int rpt_echo_many(const struct rpt_echo_opts *o, struct rpt_echo_report *r)
{
	int64_t start = rpt_now_ms(), deadline = start + o->timeout_ms;
	struct echo_conn *conns;
	struct epoll_event evs[512];
	unsigned remaining;
	uint64_t rng = o->seed;
	uint8_t *rxbuf;
	int epfd;

	memset(r, 0, sizeof(*r));
	conns = calloc(o->nconns, sizeof(*conns));
	rxbuf = malloc(65536);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!conns || !rxbuf || epfd < 0) {
		free(conns);
		free(rxbuf);
		if (epfd >= 0)
			close(epfd);
		return -ENOMEM;
	}
	remaining = o->nconns;
	for (unsigned i = 0; i < o->nconns; i++) {
		struct echo_conn *c = &conns[i];
		struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = i};
		uint64_t seed = rpt_rand64(&rng);

		c->len = o->min_len +
			 (size_t)(rpt_rand64(&rng) % (o->max_len - o->min_len + 1));
		c->payload = malloc(c->len);
		c->fd = -1;
		r->bytes += c->len;
		if (!c->payload) {
			echo_conn_end(c, &r->connect_failed, &remaining);
			continue;
		}
		rpt_stream_fill(seed, 0, c->payload, c->len);
		c->fd = rpt_connect(o->family, o->port, true);
		if (c->fd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0)
			echo_conn_end(c, &r->connect_failed, &remaining);
	}

	while (remaining && rpt_now_ms() < deadline) {
		int n = epoll_wait(epfd, evs, 512, 50);

		for (int k = 0; k < n; k++) {
			struct echo_conn *c = &conns[evs[k].data.u32];
			uint32_t ev = evs[k].events;

			if (c->done)
				continue;
			if (!c->connected) {
				int err = 0;
				socklen_t elen = sizeof(err);

				if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
					continue;
				getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen);
				if (err) {
					echo_conn_end(c, &r->connect_failed, &remaining);
					continue;
				}
				c->connected = true;
			}
			if (c->tx_off < c->len &&
			    (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
				while (c->tx_off < c->len) {
					ssize_t w =
						send(c->fd, c->payload + c->tx_off,
						     c->len - c->tx_off, MSG_NOSIGNAL);

					if (w < 0)
						break;
					c->tx_off += (size_t)w;
				}
				if (c->tx_off < c->len && errno != EAGAIN &&
				    errno != EINTR) {
					echo_conn_end(c, &r->reset, &remaining);
					continue;
				}
				if (c->tx_off == c->len) {
					struct epoll_event mod = {
						.events = EPOLLIN,
						.data.u32 = evs[k].data.u32};

					if (o->half_close)
						shutdown(c->fd, SHUT_WR);
					epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &mod);
				}
			}
			if (!(ev & (EPOLLIN | EPOLLERR | EPOLLHUP)))
				continue;
			for (;;) {
				ssize_t got = recv(c->fd, rxbuf, 65536, 0);

				if (got > 0) {
					if (c->rx_off + (size_t)got > c->len ||
					    memcmp(c->payload + c->rx_off, rxbuf,
						   (size_t)got)) {
						echo_conn_end(c, &r->mismatch,
							      &remaining);
						break;
					}
					c->rx_off += (size_t)got;
					if (c->rx_off == c->len && !o->half_close) {
						echo_conn_end(c, &r->ok, &remaining);
						break;
					}
				} else if (got == 0) {
					echo_conn_end(c,
						      c->rx_off == c->len ? &r->ok
									  : &r->short_eof,
						      &remaining);
					break;
				} else {
					if (errno != EAGAIN && errno != EINTR)
						echo_conn_end(c, &r->reset, &remaining);
					break;
				}
			}
		}
	}
	for (unsigned i = 0; i < o->nconns; i++) {
		if (!conns[i].done)
			echo_conn_end(&conns[i], &r->timed_out, &remaining);
		free(conns[i].payload);
	}
	close(epfd);
	free(conns);
	free(rxbuf);
	r->elapsed_ms = rpt_now_ms() - start;
	return 0;
}

/* ---- registry ----------------------------------------------------------- */

void rpt_cleanup_all(bool dump)
{
	while (procs)
		rpt_proc_free(procs, dump);
	while (backends)
		rpt_backend_stop(backends);
}

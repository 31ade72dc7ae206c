// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_dns.c - the resolver against a fake DNS server on loopback, driven by
 * a minimal reactor (a ring, a wheel and the dispatch loop of reactor.c):
 * A, AAAA and their order, NXDOMAIN, timeouts, refusals, the cache and TTL
 * clamping (the reactor's clock is skewed instead of sleeping), coalescing,
 * cancel, the hosts file, IP literals, invalid names, 200 lookups at once,
 * sockets closed while their poll is armed, and tear-down with lookups
 * pending.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/core.h"
#include "net/dns.h"
#include "unit.h"

/* ---- a fake DNS server -----------------------------------------------------
 * Answers A and AAAA from a table; "hN.many.test" answers A 10.0.x.y;
 * "slow.test" answers after 150 ms; "blackhole.test" never; "refused.test"
 * with REFUSED; "tc.test" truncated over UDP and in full over TCP (same
 * port); any other name with NXDOMAIN. Counts the queries per name.
 */
#define T_A	1
#define T_AAAA	28
#define SLOW_MS 150

struct fake_rr {
	const char *name;
	int type;
	const char *addr;
	uint32_t ttl;
};

static const struct fake_rr fake_table[] = {
	{"v4.test", T_A, "192.0.2.1", 300},
	{"v4.test", T_A, "192.0.2.2", 300},
	{"v6.test", T_AAAA, "2001:db8::1", 300},
	{"both.test", T_A, "192.0.2.10", 100},
	{"both.test", T_AAAA, "2001:db8::10", 50},
	{"both.test", T_A, "192.0.2.11", 100},
	{"both.test", T_AAAA, "2001:db8::11", 60},
	{"zero.test", T_A, "192.0.2.20", 0},
	{"long.test", T_A, "192.0.2.21", 86400},
	{"mid.test", T_A, "192.0.2.22", 30},
	{"co.test", T_A, "192.0.2.30", 300},
	{"slow.test", T_A, "192.0.2.40", 300},
	{"empty.test", 0, NULL, 0}, /* exists, no address */
};

#define MAX_COUNTED 512
struct fake_server {
	int fd;	 /* UDP */
	int lfd; /* TCP listener, same port */
	int cfd; /* the TCP connection being served */
	uint16_t port;
	pthread_t thread;
	atomic_bool stop;
	bool silent; /* a server that reads nothing and answers nothing */
	pthread_mutex_t lock;
	unsigned ncounted;
	struct {
		char name[256];
		unsigned count;
	} counted[MAX_COUNTED];
};

static struct fake_server srv, mute;

static void count_query(struct fake_server *s, const char *name)
{
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < s->ncounted; i++) {
		if (!strcmp(s->counted[i].name, name)) {
			s->counted[i].count++;
			pthread_mutex_unlock(&s->lock);
			return;
		}
	}
	if (s->ncounted < MAX_COUNTED) {
		snprintf(s->counted[s->ncounted].name, 256, "%s", name);
		s->counted[s->ncounted++].count = 1;
	}
	pthread_mutex_unlock(&s->lock);
}

/* Packets (A and AAAA each count) the server saw for @name. */
static unsigned queries_for(const char *name)
{
	unsigned n = 0;

	pthread_mutex_lock(&srv.lock);
	for (unsigned i = 0; i < srv.ncounted; i++)
		if (!strcmp(srv.counted[i].name, name))
			n = srv.counted[i].count;
	pthread_mutex_unlock(&srv.lock);
	return n;
}

static uint8_t *put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	p = put16(p, v >> 16);
	return put16(p, v & 0xffff);
}

static uint8_t *put_rr(uint8_t *p, int type, uint32_t ttl, const void *addr)
{
	unsigned len = type == T_A ? 4 : 16;

	p = put16(p, 0xc00c); /* the question's name */
	p = put16(p, (unsigned)type);
	p = put16(p, 1);
	p = put32(p, ttl);
	p = put16(p, len);
	memcpy(p, addr, len);
	return p + len;
}

/* Builds the answer to @q (@qlen bytes) in @out; its length, or 0 for none. */
static size_t fake_answer(struct fake_server *s, const uint8_t *q, size_t qlen,
			  uint8_t *out, bool tcp)
{
	bool tc = false;
	char name[256];
	size_t off = 12, n = 0, qend;
	unsigned qtype, ancount = 0, rcode = 3;
	uint8_t *p;

	if (qlen < 12)
		return 0;
	while (off < qlen && q[off]) {
		unsigned l = q[off++];

		if (l > 63 || off + l > qlen || n + l + 2 > sizeof(name))
			return 0;
		if (n)
			name[n++] = '.';
		for (unsigned i = 0; i < l; i++) {
			char c = (char)q[off + i];

			name[n++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
		}
		off += l;
	}
	name[n] = '\0';
	if (off + 5 > qlen)
		return 0;
	qtype = (unsigned)q[off + 1] << 8 | q[off + 2];
	qend = off + 5;
	count_query(s, name);
	if (!strcmp(name, "blackhole.test"))
		return 0;
	if (!strcmp(name, "slow.test"))
		usleep(SLOW_MS * 1000);

	memcpy(out, q, qend);
	p = out + qend;
	if (!strcmp(name, "refused.test")) {
		rcode = 5;
	} else if (!strcmp(name, "tc.test")) {
		static const uint8_t a4[4] = {192, 0, 2, 60};

		rcode = 0;
		tc = !tcp;
		if (tcp && qtype == T_A) {
			p = put_rr(p, T_A, 300, a4);
			ancount++;
		}
	} else if (!strncmp(name, "h", 1) && strstr(name, ".many.test")) {
		unsigned i = (unsigned)atoi(name + 1);
		uint8_t a4[4] = {10, 0, (uint8_t)(i >> 8), (uint8_t)i};

		rcode = 0;
		if (qtype == T_A) {
			p = put_rr(p, T_A, 60, a4);
			ancount++;
		}
	} else {
		for (unsigned i = 0; i < RP_ARRAY_SIZE(fake_table); i++) {
			const struct fake_rr *rr = &fake_table[i];
			uint8_t addr[16];

			if (strcmp(rr->name, name))
				continue;
			rcode = 0; /* the name exists: NOERROR, maybe no data */
			if (!rr->addr || (unsigned)rr->type != qtype)
				continue;
			inet_pton(rr->type == T_A ? AF_INET : AF_INET6, rr->addr, addr);
			p = put_rr(p, rr->type, rr->ttl, addr);
			ancount++;
		}
	}
	out[2] = (uint8_t)(0x80 | (tc ? 0x02 : 0) | (q[2] & 0x01)); /* QR, TC, RD */
	out[3] = (uint8_t)(0x80 | rcode);			    /* RA */
	put16(out + 4, 1);
	put16(out + 6, ancount);
	put16(out + 8, 0);
	put16(out + 10, 0);
	return (size_t)(p - out);
}

static void fake_serve_udp(struct fake_server *s)
{
	uint8_t q[1500], a[1500];
	struct sockaddr_storage from;
	socklen_t fromlen = sizeof(from);
	ssize_t n;
	size_t alen;

	n = recvfrom(s->fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fromlen);
	if (n <= 0)
		return;
	alen = fake_answer(s, q, (size_t)n, a, false);
	if (alen)
		sendto(s->fd, a, alen, 0, (struct sockaddr *)&from, fromlen);
}

/* One length-prefixed query (RFC 1035 4.2.2); false when the peer is gone. */
static bool fake_serve_tcp(struct fake_server *s)
{
	uint8_t len[2], q[1500], a[1502];
	size_t qlen, alen;

	if (recv(s->cfd, len, 2, MSG_WAITALL) != 2)
		return false;
	qlen = (size_t)len[0] << 8 | len[1];
	if (qlen > sizeof(q) || recv(s->cfd, q, qlen, MSG_WAITALL) != (ssize_t)qlen)
		return false;
	alen = fake_answer(s, q, qlen, a + 2, true);
	if (!alen)
		return true;
	put16(a, (unsigned)alen);
	return send(s->cfd, a, alen + 2, MSG_NOSIGNAL) == (ssize_t)(alen + 2);
}

static void *fake_main(void *arg)
{
	struct fake_server *s = arg;

	while (!atomic_load(&s->stop)) {
		struct pollfd pfd[3] = {
			{.fd = s->fd, .events = POLLIN},
			{.fd = s->lfd, .events = POLLIN},
			{.fd = s->cfd, .events = POLLIN},
		};

		if (poll(pfd, 3, 20) <= 0 || s->silent)
			continue;
		if (pfd[0].revents)
			fake_serve_udp(s);
		if (pfd[1].revents) {
			int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);

			if (fd >= 0) {
				if (s->cfd >= 0)
					close(s->cfd);
				s->cfd = fd;
			}
		}
		if (s->cfd >= 0 && pfd[2].revents && !fake_serve_tcp(s)) {
			close(s->cfd);
			s->cfd = -1;
		}
	}
	if (s->cfd >= 0)
		close(s->cfd);
	return NULL;
}

static int udp_bound(uint16_t *port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0)
		return -1;
	*port = ntohs(sin.sin_port);
	return fd;
}

static int tcp_listen_on(uint16_t port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 8) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int fake_start(struct fake_server *s, bool silent)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->silent = silent;
	s->cfd = -1;
	/* A port free for both UDP and TCP. */
	for (int tries = 0; tries < 20; tries++) {
		s->fd = udp_bound(&s->port);
		if (s->fd < 0)
			return -1;
		s->lfd = tcp_listen_on(s->port);
		if (s->lfd >= 0)
			break;
		close(s->fd);
		s->fd = -1;
	}
	if (s->fd < 0)
		return -1;
	return pthread_create(&s->thread, NULL, fake_main, s) ? -1 : 0;
}

static void fake_stop(struct fake_server *s)
{
	atomic_store(&s->stop, true);
	pthread_join(s->thread, NULL);
	close(s->lfd);
	close(s->fd);
	pthread_mutex_destroy(&s->lock);
}

/* ---- a minimal reactor -------------------------------------------------------
 * What rp__reactor_sqe() needs (the ring) and what dns.c uses (the wheel and
 * now_ms), with the dispatch of reactor.c. now_ms runs @skew ms ahead of the
 * clock, so TTLs expire without sleeping.
 */
static struct rp_reactor *R;
static uint64_t skew;

static void reactor_turn(unsigned max_wait_ms)
{
	struct __kernel_timespec ts;
	struct io_uring_cqe *cqe;
	int64_t next = rp__wheel_next(&R->wheel, R->now_ms);

	if (next < 0 || next > max_wait_ms)
		next = max_wait_ms;
	ts.tv_sec = next / 1000;
	ts.tv_nsec = (next % 1000) * 1000000;
	io_uring_submit_and_wait_timeout(&R->ring, &cqe, 1, &ts, NULL);
	R->now_ms = rp__now_ms() + skew;
	for (;;) {
		struct rp_op *op;
		int res;
		uint32_t flags;

		if (io_uring_peek_cqe(&R->ring, &cqe) != 0)
			break;
		op = io_uring_cqe_get_data(cqe);
		res = cqe->res;
		flags = cqe->flags;
		io_uring_cqe_seen(&R->ring, cqe);
		if (op && (uintptr_t)op != LIBURING_UDATA_TIMEOUT)
			op->fn(op, res, flags);
	}
	rp__wheel_run(&R->wheel, R->now_ms);
}

static int reactor_open(void)
{
	R = aligned_alloc(RP_CACHELINE, sizeof(*R));
	if (!R)
		return -1;
	memset(R, 0, sizeof(*R));
	skew = 0;
	if (io_uring_queue_init(256, &R->ring, 0) < 0)
		return -1;
	rp__wheel_init(&R->wheel, rp__now_ms());
	R->now_ms = R->wheel.cur;
	return 0;
}

static void reactor_close(void)
{
	io_uring_queue_exit(&R->ring);
	free(R);
	R = NULL;
}

/* Moves the reactor's clock @ms ahead (timers due meanwhile fire). */
static void reactor_skew(uint64_t ms)
{
	skew += ms;
	R->now_ms = rp__now_ms() + skew;
	rp__wheel_run(&R->wheel, R->now_ms);
}

/* ---- callers ---------------------------------------------------------------- */

struct result {
	int calls;
	int status;
	unsigned n;
	struct sockaddr_storage addrs[RP_DNS_MAX_ADDRS];
	uint64_t at_ms;
};

static void on_result(void *arg, int status, const struct sockaddr_storage *addrs,
		      unsigned n)
{
	struct result *res = arg;

	res->calls++;
	res->status = status;
	res->n = n;
	res->at_ms = rp__now_ms();
	if (n)
		memcpy(res->addrs, addrs, sizeof(*addrs) * n);
}

static void on_never(void *arg, int status, const struct sockaddr_storage *addrs,
		     unsigned n)
{
	CU_FAIL("a cancelled or torn-down lookup called back");
}

static bool run_until_called(struct result *res, unsigned n, unsigned max_ms)
{
	uint64_t end = rp__now_ms() + max_ms;

	for (;;) {
		bool all = true;

		for (unsigned i = 0; i < n; i++)
			all = all && res[i].calls > 0;
		if (all)
			return true;
		if (rp__now_ms() >= end)
			return false;
		reactor_turn(10);
	}
}

static void run_for(unsigned ms)
{
	uint64_t end = rp__now_ms() + ms;

	while (rp__now_ms() < end)
		reactor_turn(5);
}

static char servers[64];

static struct rp_dns *dns_open(const struct rp_dns_config *over)
{
	struct rp_dns_config cfg = {
		.timeout_ms = 2000,
		.min_ttl_s = 5,
		.max_ttl_s = 3600,
		.servers = servers,
		.hosts_file = "/dev/null",
		.cache_entries = 64,
	};
	struct rp_dns *d = NULL;
	char err[256] = "";

	if (over)
		cfg = *over;
	if (reactor_open() < 0) {
		CU_FAIL("reactor");
		return NULL;
	}
	if (rp__dns_init(&d, R, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "dns init: %s\n", err);
		CU_FAIL("rp__dns_init");
		return NULL;
	}
	return d;
}

static void dns_close(struct rp_dns *d)
{
	if (d)
		rp__dns_fini(d);
	reactor_close();
}

/* Resolves @name and waits for the answer. True when it came synchronously. */
static bool resolve_wait(struct rp_dns *d, const char *name, struct result *res)
{
	struct rp_dns_query *q;

	memset(res, 0, sizeof(*res));
	q = rp__dns_resolve(d, name, on_result, res);
	if (!q) {
		CU_ASSERT_EQUAL(res->calls, 1);
		return true;
	}
	CU_ASSERT_EQUAL(res->calls, 0);
	CU_ASSERT_TRUE(run_until_called(res, 1, 5000));
	return false;
}

static bool is_addr(const struct sockaddr_storage *ss, const char *want)
{
	char buf[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, buf,
			  sizeof(buf));
	else if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, buf,
			  sizeof(buf));
	else
		return false;
	if (strcmp(buf, want))
		fprintf(stderr, "address %s, want %s\n", buf, want);
	return !strcmp(buf, want);
}

/* ---- tests -------------------------------------------------------------------- */

static void test_dns_resolves_a(void)
{
	struct rp_dns *d = dns_open(NULL);
	struct result res;

	CU_ASSERT_FATAL(d != NULL);
	CU_ASSERT_FALSE(resolve_wait(d, "v4.test", &res));
	CU_ASSERT_EQUAL(res.status, 0);
	CU_ASSERT_EQUAL_FATAL(res.n, 2);
	CU_ASSERT_TRUE(is_addr(&res.addrs[0], "192.0.2.1"));
	CU_ASSERT_TRUE(is_addr(&res.addrs[1], "192.0.2.2"));
	CU_ASSERT_EQUAL(((struct sockaddr_in *)&res.addrs[0])->sin_port, 0);
	dns_close(d);
}

static void test_dns_resolves_aaaa(void)
{
	struct rp_dns *d = dns_open(NULL);
	struct result res;

	CU_ASSERT_FATAL(d != NULL);
	CU_ASSERT_FALSE(resolve_wait(d, "V6.Test", &res));
	CU_ASSERT_EQUAL(res.status, 0);
	CU_ASSERT_EQUAL_FATAL(res.n, 1);
	CU_ASSERT_TRUE(is_addr(&res.addrs[0], "2001:db8::1"));
	dns_close(d);
}

static void test_dns_orders_ipv6_first(void)
{
	struct rp_dns *d = dns_open(NULL);
	struct result res;

	CU_ASSERT_FATAL(d != NULL);
	CU_ASSERT_FALSE(resolve_wait(d, "both.test", &res));
	CU_ASSERT_EQUAL(res.status, 0);
	CU_ASSERT_EQUAL_FATAL(res.n, 4);
	CU_ASSERT_TRUE(is_addr(&res.addrs[0], "2001:db8::10"));
	CU_ASSERT_TRUE(is_addr(&res.addrs[1], "2001:db8::11"));
	CU_ASSERT_TRUE(is_addr(&res.addrs[2], "192.0.2.10"));
	CU_ASSERT_TRUE(is_addr(&res.addrs[3], "192.0.2.11"));
	dns_close(d);
}

static void test_dns_nxdomain_is_enoent_and_cached(void)
{
	struct rp_dns *d = dns_open(NULL);
	struct result res;
	unsigned before;

	CU_ASSERT_FATAL(d != NULL);
	CU_ASSERT_FALSE(resolve_wait(d, "nx.test", &res));
	CU_ASSERT_EQUAL(res.status, -ENOENT);
	CU_ASSERT_EQUAL(res.n, 0);
	before = queries_for("nx.test");
	CU_ASSERT_TRUE(before >= 2);
	/* Negative answers are cached for min_ttl_s (5 s). */
	CU_ASSERT_TRUE(resolve_wait(d, "nx.test", &res));
	CU_ASSERT_EQUAL(res.status, -ENOENT);
	reactor_skew(4000);
	CU_ASSERT_TRUE(resolve_wait(d, "nx.test", &res));
	reactor_skew(2000);
	CU_ASSERT_FALSE(resolve_wait(d, "nx.test", &res));
	CU_ASSERT_EQUAL(res.status, -ENOENT);
	CU_ASSERT_TRUE(queries_for("nx.test") > before);
	/* A name that exists but has no address of either family. */
	CU_ASSERT_FALSE(resolve_wait(d, "empty.test.", &res));
	CU_ASSERT_EQUAL(res.status, -ENODATA);
	/* and that answer is cached too, as itself */
	CU_ASSERT_TRUE(resolve_wait(d, "empty.test.", &res));
	CU_ASSERT_EQUAL(res.status, -ENODATA);
	CU_ASSERT_EQUAL(queries_for("empty.test"), 2);
	dns_close(d);
}

static void test_dns_times_out_within_budget(void)
{
	struct rp_dns_config cfg = {.timeout_ms = 300,
				    .min_ttl_s = 5,
				    .servers = servers,
				    .hosts_file = "/dev/null"};
	struct rp_dns *d = dns_open(&cfg);
	struct result res;
	uint64_t t0;

	CU_ASSERT_FATAL(d != NULL);
	t0 = rp__now_ms();
	CU_ASSERT_FALSE(resolve_wait(d, "blackhole.test", &res));
	CU_ASSERT_EQUAL(res.status, -ETIMEDOUT);
	CU_ASSERT_TRUE(res.at_ms - t0 >= 250);
	CU_ASSERT_TRUE(res.at_ms - t0 <= 1000);
	/* Timeouts are not cached. */
	t0 = rp__now_ms();
	CU_ASSERT_FALSE(resolve_wait(d, "blackhole.test", &res));
	CU_ASSERT_EQUAL(res.status, -ETIMEDOUT);
	CU_ASSERT_TRUE(res.at_ms - t0 <= 1000);
	dns_close(d);
}

static void test_dns_refused_is_econnrefused(void)
{
	struct rp_dns_config cfg = {
		.timeout_ms = 2000, .servers = servers, .hosts_file = "/dev/null"};
	struct rp_dns *d = dns_open(&cfg);
	struct result res;
	char closed[64];
	uint16_t port;
	int fd;

	CU_ASSERT_FATAL(d != NULL);
	CU_ASSERT_FALSE(resolve_wait(d, "refused.test", &res));
	CU_ASSERT_EQUAL(res.status, -ECONNREFUSED);
	dns_close(d);

	/* Nobody listens: ICMP port unreachable. */
	fd = udp_bound(&port);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	snprintf(closed, sizeof(closed), "127.0.0.1:%u", port);
	cfg.servers = closed;
	d = dns_open(&cfg);
	CU_ASSERT_FATAL(d != NULL);
	CU_ASSERT_FALSE(resolve_wait(d, "v4.test", &res));
	CU_ASSERT_EQUAL(res.status, -ECONNREFUSED);
	dns_close(d);
}

static void test_dns_cache_hit_asks_no_server(void)
{
	struct rp_dns *d = dns_open(NULL);
	struct rp_dns_stats st;
	struct result res;
	unsigned before;

	CU_ASSERT_FATAL(d != NULL);
	CU_ASSERT_FALSE(resolve_wait(d, "v4.test", &res));
	before = queries_for("v4.test");
	CU_ASSERT_TRUE(resolve_wait(d, "v4.test", &res));
	CU_ASSERT_EQUAL(res.status, 0);
	CU_ASSERT_EQUAL(res.n, 2);
	CU_ASSERT_TRUE(resolve_wait(d, "V4.TEST", &res));
	CU_ASSERT_EQUAL(res.n, 2);
	run_for(20);
	CU_ASSERT_EQUAL(queries_for("v4.test"), before);
	rp__dns_get_stats(d, &st);
	CU_ASSERT_EQUAL(st.hits, 2);
	CU_ASSERT_EQUAL(st.lookups, 1);
	CU_ASSERT_EQUAL(st.cached, 1);
	dns_close(d);
}

static void test_dns_ttl_clamped_and_expires(void)
{
	struct rp_dns_config cfg = {.timeout_ms = 2000,
				    .min_ttl_s = 5,
				    .max_ttl_s = 60,
				    .servers = servers,
				    .hosts_file = "/dev/null"};
	struct rp_dns *d = dns_open(&cfg);
	struct result res;
	unsigned z, l, m;

	CU_ASSERT_FATAL(d != NULL);
	CU_ASSERT_FALSE(resolve_wait(d, "zero.test", &res)); /* TTL 0 -> 5 s */
	CU_ASSERT_FALSE(resolve_wait(d, "long.test", &res)); /* 1 day -> 60 s */
	CU_ASSERT_FALSE(resolve_wait(d, "mid.test", &res));  /* 30 s */
	z = queries_for("zero.test");
	l = queries_for("long.test");
	m = queries_for("mid.test");

	reactor_skew(4000);
	CU_ASSERT_TRUE(resolve_wait(d, "zero.test", &res));
	reactor_skew(2000); /* 6 s */
	CU_ASSERT_FALSE(resolve_wait(d, "zero.test", &res));
	CU_ASSERT_TRUE(is_addr(&res.addrs[0], "192.0.2.20"));
	CU_ASSERT_TRUE(queries_for("zero.test") > z);
	CU_ASSERT_TRUE(resolve_wait(d, "mid.test", &res));
	CU_ASSERT_TRUE(resolve_wait(d, "long.test", &res));

	reactor_skew(23000); /* 29 s */
	CU_ASSERT_TRUE(resolve_wait(d, "mid.test", &res));
	reactor_skew(2000); /* 31 s */
	CU_ASSERT_FALSE(resolve_wait(d, "mid.test", &res));
	CU_ASSERT_TRUE(queries_for("mid.test") > m);
	CU_ASSERT_TRUE(resolve_wait(d, "long.test", &res));

	reactor_skew(28000); /* 59 s */
	CU_ASSERT_TRUE(resolve_wait(d, "long.test", &res));
	CU_ASSERT_EQUAL(queries_for("long.test"), l);
	reactor_skew(2000); /* 61 s */
	CU_ASSERT_FALSE(resolve_wait(d, "long.test", &res));
	CU_ASSERT_EQUAL(res.status, 0);
	CU_ASSERT_TRUE(queries_for("long.test") > l);
	dns_close(d);
}

static void test_dns_coalesces_concurrent_lookups(void)
{
	struct rp_dns *d = dns_open(NULL);
	struct result res[3];
	struct rp_dns_stats st;

	CU_ASSERT_FATAL(d != NULL);
	memset(res, 0, sizeof(res));
	for (unsigned i = 0; i < 3; i++)
		CU_ASSERT_PTR_NOT_NULL(rp__dns_resolve(d, "co.test", on_result, &res[i]));
	CU_ASSERT_TRUE(run_until_called(res, 3, 5000));
	run_for(20);
	for (unsigned i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(res[i].calls, 1);
		CU_ASSERT_EQUAL(res[i].status, 0);
		CU_ASSERT_EQUAL(res[i].n, 1);
	}
	/* One lookup: one A and one AAAA query. */
	CU_ASSERT_EQUAL(queries_for("co.test"), 2);
	rp__dns_get_stats(d, &st);
	CU_ASSERT_EQUAL(st.lookups, 1);
	CU_ASSERT_EQUAL(st.coalesced, 2);
	dns_close(d);
}

static struct rp_dns_query *victim;

static void on_result_cancel_victim(void *arg, int status,
				    const struct sockaddr_storage *addrs, unsigned n)
{
	on_result(arg, status, addrs, n);
	rp__dns_cancel(victim);
}

static void test_dns_cancel_suppresses_callback(void)
{
	struct rp_dns *d = dns_open(NULL);
	struct rp_dns_query *q;
	struct result res[2];
	unsigned before = queries_for("slow.test");

	CU_ASSERT_FATAL(d != NULL);
	memset(res, 0, sizeof(res));
	q = rp__dns_resolve(d, "slow.test", on_never, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(q);
	rp__dns_cancel(q);
	/* A second caller of the same name is not affected. */
	CU_ASSERT_PTR_NOT_NULL(rp__dns_resolve(d, "slow.test", on_result, &res[0]));
	CU_ASSERT_TRUE(run_until_called(res, 1, 3000));
	CU_ASSERT_EQUAL(res[0].status, 0);
	/* The cancelled lookup still filled the cache. */
	CU_ASSERT_TRUE(resolve_wait(d, "slow.test", &res[1]));
	CU_ASSERT_EQUAL(res[1].status, 0);
	CU_ASSERT_EQUAL(queries_for("slow.test") - before, 2);

	/* Cancel alone, then let the answer arrive. */
	q = rp__dns_resolve(d, "mid.test", on_never, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(q);
	rp__dns_cancel(q);
	run_for(200);
	CU_ASSERT_TRUE(resolve_wait(d, "mid.test", &res[1]));

	/* A callback cancelling a later waiter of the same lookup (waiters
	 * are answered in arrival order). */
	memset(res, 0, sizeof(res));
	CU_ASSERT_PTR_NOT_NULL(
		rp__dns_resolve(d, "co.test", on_result_cancel_victim, &res[0]));
	victim = rp__dns_resolve(d, "co.test", on_never, NULL);
	CU_ASSERT_PTR_NOT_NULL(victim);
	CU_ASSERT_TRUE(run_until_called(res, 1, 3000));
	CU_ASSERT_EQUAL(res[0].status, 0);
	run_for(50);
	dns_close(d);
}

static void test_dns_truncated_answer_retries_over_tcp(void)
{
	/* c-ares opens a TCP socket and asks to write (POLLOUT) once it has a
	 * query queued: the armed POLLIN poll is cancelled and re-armed. */
	struct rp_dns *d = dns_open(NULL);
	struct rp_dns_stats st;
	struct result res;

	CU_ASSERT_FATAL(d != NULL);
	CU_ASSERT_FALSE(resolve_wait(d, "tc.test", &res));
	CU_ASSERT_EQUAL(res.status, 0);
	CU_ASSERT_EQUAL_FATAL(res.n, 1);
	CU_ASSERT_TRUE(is_addr(&res.addrs[0], "192.0.2.60"));
	/* Two over UDP, two again over TCP. */
	CU_ASSERT_EQUAL(queries_for("tc.test"), 4);
	run_for(50);
	rp__dns_get_stats(d, &st);
	CU_ASSERT_EQUAL(st.sockets, 0);
	CU_ASSERT_EQUAL(st.polls, 0);
	dns_close(d);
}

static void test_dns_init_rejects_bad_config(void)
{
	struct rp_dns_config cfg = {.servers = "not-an-address",
				    .hosts_file = "/dev/null"};
	struct rp_dns *d = NULL;
	char err[256] = "";

	CU_ASSERT_EQUAL_FATAL(reactor_open(), 0);
	CU_ASSERT_EQUAL(rp__dns_init(&d, R, &cfg, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not-an-address"));
	cfg.servers = servers;
	cfg.min_ttl_s = 100;
	cfg.max_ttl_s = 10;
	CU_ASSERT_EQUAL(rp__dns_init(&d, R, &cfg, err, sizeof(err)), -EINVAL);
	cfg.min_ttl_s = 0;
	cfg.hosts_file = "/nonexistent/hosts";
	CU_ASSERT_EQUAL(rp__dns_init(&d, R, &cfg, err, sizeof(err)), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/hosts"));
	CU_ASSERT_PTR_NULL(d);
	/* All defaults (resolv.conf, /etc/hosts) set up without asking. */
	CU_ASSERT_EQUAL(rp__dns_init(&d, R, NULL, err, sizeof(err)), 0);
	rp__dns_fini(d);
	reactor_close();
}

static void test_dns_hosts_file_first(void)
{
	char path[] = "/tmp/rp_test_hosts_XXXXXX";
	struct rp_dns_config cfg = {
		.timeout_ms = 2000, .servers = servers, .hosts_file = path};
	struct rp_dns *d;
	struct result res;
	FILE *f;
	int fd;

	fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	f = fdopen(fd, "w");
	fputs("# a comment line\n"
	      "10.1.1.1\tMyHost.Example myalias # trailing comment\n"
	      "::1 myhost.example\n"
	      "\n"
	      "10.1.1.2 myhost.example v4.test\n"
	      "fe80::1%lo scoped.example\n"
	      "not-an-address foo.example\n",
	      f);
	fclose(f);
	d = dns_open(&cfg);
	CU_ASSERT_FATAL(d != NULL);

	CU_ASSERT_TRUE(resolve_wait(d, "MYHOST.example", &res));
	CU_ASSERT_EQUAL(res.status, 0);
	CU_ASSERT_EQUAL_FATAL(res.n, 3);
	CU_ASSERT_TRUE(is_addr(&res.addrs[0], "::1"));
	CU_ASSERT_TRUE(is_addr(&res.addrs[1], "10.1.1.1"));
	CU_ASSERT_TRUE(is_addr(&res.addrs[2], "10.1.1.2"));
	CU_ASSERT_TRUE(resolve_wait(d, "myalias.", &res));
	CU_ASSERT_EQUAL_FATAL(res.n, 1);
	CU_ASSERT_TRUE(is_addr(&res.addrs[0], "10.1.1.1"));
	/* The hosts file wins over DNS. */
	CU_ASSERT_TRUE(resolve_wait(d, "v4.test", &res));
	CU_ASSERT_TRUE(is_addr(&res.addrs[0], "10.1.1.2"));
	/* localhost is loopback even when the file does not say so. */
	CU_ASSERT_TRUE(resolve_wait(d, "localhost", &res));
	CU_ASSERT_EQUAL_FATAL(res.n, 2);
	CU_ASSERT_TRUE(is_addr(&res.addrs[0], "::1"));
	CU_ASSERT_TRUE(is_addr(&res.addrs[1], "127.0.0.1"));
	CU_ASSERT_TRUE(resolve_wait(d, "app.LOCALHOST", &res));
	CU_ASSERT_EQUAL(res.n, 2);
	/* Unparsable lines are skipped. */
	CU_ASSERT_FALSE(resolve_wait(d, "foo.example", &res));
	CU_ASSERT_EQUAL(res.status, -ENOENT);
	dns_close(d);
	unlink(path);
}

static void test_dns_ip_literals_need_no_dns(void)
{
	static const struct {
		const char *in, *want;
	} lit[] = {
		{"192.0.2.5", "192.0.2.5"},
		{"2001:db8::5", "2001:db8::5"},
		{"[2001:db8::6]", "2001:db8::6"},
		{"::ffff:1.2.3.4", "::ffff:1.2.3.4"},
		{"::1", "::1"},
	};
	struct rp_dns *d = dns_open(NULL);
	struct result res;

	CU_ASSERT_FATAL(d != NULL);
	for (unsigned i = 0; i < RP_ARRAY_SIZE(lit); i++) {
		CU_ASSERT_TRUE(resolve_wait(d, lit[i].in, &res));
		CU_ASSERT_EQUAL(res.status, 0);
		CU_ASSERT_EQUAL_FATAL(res.n, 1);
		CU_ASSERT_TRUE(is_addr(&res.addrs[0], lit[i].want));
	}
	dns_close(d);
}

static void test_dns_rejects_invalid_names(void)
{
	char long_label[80], long_name[300], max_name[300], *p;
	const char *bad[] = {
		"",
		".",
		"a..b",
		".a.b",
		"a b",
		"exa$mple.com",
		"ex\xc3\xa4mple.com",
		"1.2.3.256",
		"1.2.3",
		"999",
		"[::1",
		"[1.2.3.4]",
		"[]",
		"fe80::1%eth0",
		"::g",
		long_label,
		long_name,
	};
	struct rp_dns *d = dns_open(NULL);
	struct result res;
	struct rp_dns_query *q;

	CU_ASSERT_FATAL(d != NULL);
	memset(long_label, 'a', 64);
	strcpy(long_label + 64, ".test");
	/* Three labels of 63 and one of 62: 254 characters. */
	p = long_name;
	for (unsigned i = 0; i < 3; i++, p += 64) {
		memset(p, 'b', 63);
		p[63] = '.';
	}
	memset(p, 'c', 62);
	p[62] = '\0';
	CU_ASSERT_EQUAL_FATAL(strlen(long_name), 254);
	for (unsigned i = 0; i < RP_ARRAY_SIZE(bad); i++) {
		memset(&res, 0, sizeof(res));
		q = rp__dns_resolve(d, bad[i], on_result, &res);
		if (q || res.calls != 1 || res.status != -EINVAL) {
			fprintf(stderr, "accepted \"%s\"\n", bad[i]);
			CU_FAIL("invalid name accepted");
		}
	}
	memset(&res, 0, sizeof(res));
	CU_ASSERT_PTR_NULL(rp__dns_resolve(d, NULL, on_result, &res));
	CU_ASSERT_EQUAL(res.status, -EINVAL);

	/* 253 characters (and a final dot) is still a name. */
	memcpy(max_name, long_name, 253);
	max_name[253] = '\0';
	CU_ASSERT_EQUAL(strlen(max_name), 253);
	CU_ASSERT_FALSE(resolve_wait(d, max_name, &res));
	CU_ASSERT_EQUAL(res.status, -ENOENT);
	strcat(max_name, ".");
	CU_ASSERT_FALSE(resolve_wait(d, max_name, &res));
	CU_ASSERT_EQUAL(res.status, -ENOENT);
	CU_ASSERT_FALSE(resolve_wait(d, "_srv-x.under_score.test", &res));
	CU_ASSERT_EQUAL(res.status, -ENOENT);
	dns_close(d);
}

#define MANY 200
static void test_dns_many_concurrent_lookups(void)
{
	static struct result res[MANY];
	struct rp_dns_config cfg = {.timeout_ms = 5000,
				    .min_ttl_s = 5,
				    .servers = servers,
				    .hosts_file = "/dev/null",
				    .cache_entries = 128};
	struct rp_dns *d = dns_open(&cfg);
	struct rp_dns_stats st;
	char name[64];
	unsigned ok = 0;

	CU_ASSERT_FATAL(d != NULL);
	memset(res, 0, sizeof(res));
	for (unsigned i = 0; i < MANY; i++) {
		snprintf(name, sizeof(name), "h%u.many.test", i);
		CU_ASSERT_PTR_NOT_NULL(rp__dns_resolve(d, name, on_result, &res[i]));
	}
	CU_ASSERT_TRUE(run_until_called(res, MANY, 8000));
	for (unsigned i = 0; i < MANY; i++) {
		char want[32];

		snprintf(want, sizeof(want), "10.0.%u.%u", i >> 8, i & 0xff);
		if (res[i].calls == 1 && res[i].status == 0 && res[i].n == 1 &&
		    is_addr(&res[i].addrs[0], want))
			ok++;
	}
	CU_ASSERT_EQUAL(ok, MANY);
	/* A cache of 128 holds the 128 most recent; the oldest were evicted. */
	rp__dns_get_stats(d, &st);
	CU_ASSERT_EQUAL(st.cached, 128);
	CU_ASSERT_EQUAL(st.evictions, MANY - 128);
	CU_ASSERT_TRUE(resolve_wait(d, "h199.many.test", &res[0]));
	dns_close(d);
}

static void test_dns_releases_sockets_closed_while_polled(void)
{
	/* The first server never answers: c-ares moves on to the second after
	 * one try's timeout, and once the answer is in it closes both sockets,
	 * the first with its poll still armed. */
	char two[128];
	struct rp_dns_config cfg = {
		.timeout_ms = 1500, .servers = two, .hosts_file = "/dev/null"};
	struct rp_dns *d;
	struct rp_dns_stats st;
	struct result res;

	snprintf(two, sizeof(two), "127.0.0.1:%u,127.0.0.1:%u", mute.port, srv.port);
	d = dns_open(&cfg);
	CU_ASSERT_FATAL(d != NULL);
	CU_ASSERT_FALSE(resolve_wait(d, "v4.test", &res));
	CU_ASSERT_EQUAL(res.status, 0);
	CU_ASSERT_EQUAL(res.n, 2);
	run_for(50);
	rp__dns_get_stats(d, &st);
	CU_ASSERT_EQUAL(st.sockets, 0);
	CU_ASSERT_EQUAL(st.polls, 0);
	CU_ASSERT_EQUAL(st.pending, 0);
	/* And the resolver still works after that. */
	CU_ASSERT_FALSE(resolve_wait(d, "v6.test", &res));
	CU_ASSERT_EQUAL(res.status, 0);
	dns_close(d);
}

static void test_dns_fini_with_lookups_pending(void)
{
	struct rp_dns *d = dns_open(NULL);
	struct rp_dns_stats st;

	CU_ASSERT_FATAL(d != NULL);
	CU_ASSERT_PTR_NOT_NULL(rp__dns_resolve(d, "blackhole.test", on_never, NULL));
	CU_ASSERT_PTR_NOT_NULL(rp__dns_resolve(d, "blackhole.test", on_never, NULL));
	CU_ASSERT_PTR_NOT_NULL(rp__dns_resolve(d, "slow.test", on_never, NULL));
	reactor_turn(5);
	rp__dns_get_stats(d, &st);
	CU_ASSERT_EQUAL(st.pending, 2);
	CU_ASSERT_TRUE(st.sockets >= 1);
	/* No callback may run: on_never fails the test if one does. */
	dns_close(d);
}

static const struct rp_unit_test tests[] = {
	RP_TEST(test_dns_resolves_a),
	RP_TEST(test_dns_resolves_aaaa),
	RP_TEST(test_dns_orders_ipv6_first),
	RP_TEST(test_dns_nxdomain_is_enoent_and_cached),
	RP_TEST(test_dns_times_out_within_budget),
	RP_TEST(test_dns_refused_is_econnrefused),
	RP_TEST(test_dns_cache_hit_asks_no_server),
	RP_TEST(test_dns_ttl_clamped_and_expires),
	RP_TEST(test_dns_coalesces_concurrent_lookups),
	RP_TEST(test_dns_cancel_suppresses_callback),
	RP_TEST(test_dns_truncated_answer_retries_over_tcp),
	RP_TEST(test_dns_init_rejects_bad_config),
	RP_TEST(test_dns_hosts_file_first),
	RP_TEST(test_dns_ip_literals_need_no_dns),
	RP_TEST(test_dns_rejects_invalid_names),
	RP_TEST(test_dns_many_concurrent_lookups),
	RP_TEST(test_dns_releases_sockets_closed_while_polled),
	RP_TEST(test_dns_fini_with_lookups_pending),
};

int main(void)
{
	struct io_uring probe;
	int ret;

	/* No io_uring (old kernel, seccomp): skip. */
	ret = io_uring_queue_init(4, &probe, 0);
	if (ret < 0) {
		char why[128];

		snprintf(why, sizeof(why), "no io_uring here: io_uring_queue_init: %s",
			 strerror(-ret));
		return rp_unit_skip_all("dns", why);
	}
	io_uring_queue_exit(&probe);
	if (fake_start(&srv, false) < 0 || fake_start(&mute, true) < 0) {
		perror("fake dns server");
		return 1;
	}
	snprintf(servers, sizeof(servers), "127.0.0.1:%u", srv.port);
	ret = rp_unit_run("dns", tests, RP_ARRAY_SIZE(tests));
	fake_stop(&mute);
	fake_stop(&srv);
	return ret;
}

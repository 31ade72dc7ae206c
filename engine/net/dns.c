// SPDX-License-Identifier: BSD-2-Clause
/*
 * dns.c - name resolution that never blocks a reactor. Each reactor drives a
 * c-ares channel of its own through its ring: every socket c-ares opens is
 * watched by a one-shot IORING_OP_POLL_ADD whose completion calls
 * ares_process_fd(), and c-ares's next deadline (ares_timeout()) is one timer
 * on the reactor's wheel. In front of c-ares sit the hosts file (read once at
 * init), a bounded LRU cache that honours TTLs clamped to [min, max], and a
 * table of lookups in flight so that concurrent callers of one name share one
 * query. c-ares never reads the hosts file itself (lookups "b") and never
 * blocks (ares_process() is never called).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ares.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/dns.h"

#define DEFAULT_TIMEOUT_MS 5000
#define DEFAULT_MAX_TTL_S  3600
#define DEFAULT_CACHE	   4096
#define DEFAULT_HOSTS	   "/etc/hosts"
#define HOSTS_MAX_BYTES	   (16u << 20)
#define NAME_MAX_LEN	   253 /* RFC 1035 2.3.4, without the final dot */
#define LABEL_MAX_LEN	   63
#define MAX_QUERIES	   65536 /* callers waiting, per reactor */
#define MAX_LOOKUPS	   16384 /* distinct names in flight, per reactor */
#define ARES_TRIES	   2

/* Addresses as the cache keeps them: 17 bytes each instead of a 128-byte
 * sockaddr_storage; expanded only when a callback runs. */
struct dns_addrs {
	uint8_t n;
	uint8_t family[RP_DNS_MAX_ADDRS];
	uint8_t ip[RP_DNS_MAX_ADDRS][16];
};

/* Names are stored lowercased, a final dot kept (it turns search domains
 * off, so "a.example." and "a.example" are different questions). */
#define NAME_BUF (NAME_MAX_LEN + 2)

struct dns_entry {
	struct dns_entry *hnext;
	struct dns_entry *lru_prev, *lru_next; /* most recent first */
	uint64_t hash;
	uint64_t expires_ms;
	int status; /* 0, -ENOENT or -ENODATA */
	struct dns_addrs a;
	uint8_t len;
	char name[NAME_BUF];
};

/* One ares_getaddrinfo() in flight; c-ares holds a pointer to it until its
 * callback, which is the only place it is freed. */
struct dns_lookup {
	struct dns_lookup *hnext;
	struct rp_dns *d;
	struct rp_dns_query *waiters, **tail; /* in arrival order */
	uint64_t hash;
	uint8_t len;
	char name[NAME_BUF];
};

struct rp_dns_query {
	struct rp_timer timer; /* cfg->timeout_ms */
	struct rp_dns *d;
	struct dns_lookup *lookup;
	struct rp_dns_query *next, **pprev; /* on its lookup's waiters */
	rp_dns_cb cb;
	void *arg;
};

struct dns_host {
	struct dns_host *hnext;
	uint64_t hash;
	unsigned n6, n4;
	struct in6_addr v6[RP_DNS_MAX_ADDRS];
	struct in_addr v4[RP_DNS_MAX_ADDRS];
	uint8_t len;
	char name[];
};

/*
 * A socket c-ares opened. Its poll names &op, so the object lives until that
 * poll's CQE has come back even when c-ares closed the fd meanwhile (a closed
 * fd number may already be reused by c-ares or anyone else): a closed socket
 * leaves the live list at once and is never looked up by fd again.
 */
struct dns_sock {
	struct rp_op op;
	struct rp_dns *d;
	struct dns_sock *next, **pprev; /* d->socks while live, else d->dead */
	int fd;
	short want;	  /* POLLIN / POLLOUT, as c-ares asked */
	short armed_mask; /* of the poll in flight */
	bool live;	  /* c-ares has not closed it */
	bool armed;	  /* a poll is in flight */
	bool cancelling;  /* and a POLL_REMOVE for it too */
	bool busy;	  /* inside its own CQE handler */
};

struct rp_dns {
	struct rp_reactor *r;
	ares_channel ch;
	struct rp_timer ares_timer;
	unsigned timeout_ms, min_ttl_s, max_ttl_s;
	uint64_t key[2]; /* of name_hash() */
	bool closing;

	/* The cache and the lookups in flight share one bucket count. */
	unsigned mask;
	struct dns_entry **cache;
	struct dns_entry lru; /* sentinel: lru.lru_next is the most recent */
	struct rp_pool entries;
	struct dns_lookup **pending;
	struct rp_pool lookups;
	struct rp_pool queries;

	struct dns_host **hosts;
	unsigned hosts_mask;

	struct dns_sock *socks;
	struct dns_sock *dead;

	/* Set while ares_getaddrinfo() runs, to tell whether it called back
	 * before returning. */
	struct rp_dns_query *inline_q;
	bool inline_done;

	struct rp_dns_stats st;
};

/* ---- names and addresses -------------------------------------------------- */

static inline uint64_t rotl64(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static inline void sip_round(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = rotl64(v[1], 13) ^ v[0];
	v[0] = rotl64(v[0], 32);
	v[2] += v[3];
	v[3] = rotl64(v[3], 16) ^ v[2];
	v[0] += v[3];
	v[3] = rotl64(v[3], 21) ^ v[0];
	v[2] += v[1];
	v[1] = rotl64(v[1], 17) ^ v[2];
	v[2] = rotl64(v[2], 32);
}

/* SipHash-2-4 under a per-resolver random key: names come from clients, and
 * chains an attacker could aim would cost the reactor a walk per lookup.
 * (Words are read in host order; only the distribution matters here.) */
static uint64_t name_hash(const struct rp_dns *d, const char *s, size_t len)
{
	uint64_t v[4] = {
		0x736f6d6570736575ull ^ d->key[0],
		0x646f72616e646f6dull ^ d->key[1],
		0x6c7967656e657261ull ^ d->key[0],
		0x7465646279746573ull ^ d->key[1],
	};
	const uint8_t *p = (const uint8_t *)s;
	uint64_t m, b = (uint64_t)len << 56;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&m, p + i, 8);
		v[3] ^= m;
		sip_round(v);
		sip_round(v);
		v[0] ^= m;
	}
	for (unsigned k = 0; i + k < len; k++)
		b |= (uint64_t)p[i + k] << (8 * k);
	v[3] ^= b;
	sip_round(v);
	sip_round(v);
	v[0] ^= b;
	v[2] ^= 0xff;
	for (unsigned k = 0; k < 4; k++)
		sip_round(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

static bool name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/*
 * Copies @host lowercased to @out (NAME_BUF bytes) and checks it: at most 253
 * characters besides one final dot, labels of 1..63 [a-z0-9_-], the last
 * label not all digits. 0 and the length in *@len, or -EINVAL.
 */
static int name_normalize(const char *host, char *out, size_t *len)
{
	size_t n = 0, label = 0;
	bool digits = true;

	for (const char *p = host; *p; p++) {
		char c = *p;

		if (n >= NAME_MAX_LEN + 1)
			return -EINVAL;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c == '.') {
			if (label == 0)
				return -EINVAL; /* empty label, or a leading dot */
			out[n++] = c;
			if (p[1] == '\0')
				break; /* the final dot */
			label = 0;
			digits = true;
			continue;
		}
		if (!name_char_ok(c) || ++label > LABEL_MAX_LEN)
			return -EINVAL;
		if (c < '0' || c > '9')
			digits = false;
		out[n++] = c;
	}
	if (n == 0 || label == 0 || digits)
		return -EINVAL;
	if (out[n - 1] != '.' && n > NAME_MAX_LEN)
		return -EINVAL;
	out[n] = '\0';
	*len = n;
	return 0;
}

/*
 * Fills @a from up to RP_DNS_MAX_ADDRS addresses of each family: IPv6 first,
 * but IPv4, when present, keeps at least half of the places.
 */
static void addrs_build(struct dns_addrs *a, const struct in6_addr *v6, unsigned n6,
			const struct in_addr *v4, unsigned n4)
{
	unsigned keep4 = n4 < RP_DNS_MAX_ADDRS / 2 ? n4 : RP_DNS_MAX_ADDRS / 2;
	unsigned take6 = n6 < RP_DNS_MAX_ADDRS - keep4 ? n6 : RP_DNS_MAX_ADDRS - keep4;
	unsigned take4 = n4 < RP_DNS_MAX_ADDRS - take6 ? n4 : RP_DNS_MAX_ADDRS - take6;

	a->n = 0;
	for (unsigned i = 0; i < take6; i++, a->n++) {
		a->family[a->n] = AF_INET6;
		memcpy(a->ip[a->n], &v6[i], 16);
	}
	for (unsigned i = 0; i < take4; i++, a->n++) {
		a->family[a->n] = AF_INET;
		memcpy(a->ip[a->n], &v4[i], 4);
	}
}

static unsigned addrs_expand(const struct dns_addrs *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss) * a->n);
	for (unsigned i = 0; i < a->n; i++) {
		if (a->family[i] == AF_INET6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss[i];

			s6->sin6_family = AF_INET6;
			memcpy(&s6->sin6_addr, a->ip[i], 16);
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss[i];

			s4->sin_family = AF_INET;
			memcpy(&s4->sin_addr, a->ip[i], 4);
		}
	}
	return a->n;
}

static void answer(rp_dns_cb cb, void *arg, int status, const struct dns_addrs *a)
{
	struct sockaddr_storage ss[RP_DNS_MAX_ADDRS];

	if (status == 0 && a && a->n)
		cb(arg, 0, ss, addrs_expand(a, ss));
	else
		cb(arg, status ? status : -ENOENT, NULL, 0);
}

/* 1 and @a filled when @host is an IP literal, 0 when it is not, -EINVAL
 * when it is bracketed or has a colon but is no IPv6 address. */
static int parse_literal(const char *host, struct dns_addrs *a)
{
	struct in6_addr v6;
	struct in_addr v4;
	char buf[INET6_ADDRSTRLEN + 2];
	size_t len = strlen(host);

	if (host[0] == '[') {
		if (len < 3 || host[len - 1] != ']' || len - 2 >= sizeof(buf))
			return -EINVAL;
		memcpy(buf, host + 1, len - 2);
		buf[len - 2] = '\0';
		if (inet_pton(AF_INET6, buf, &v6) != 1)
			return -EINVAL;
		addrs_build(a, &v6, 1, NULL, 0);
		return 1;
	}
	if (strchr(host, ':')) {
		if (inet_pton(AF_INET6, host, &v6) != 1)
			return -EINVAL;
		addrs_build(a, &v6, 1, NULL, 0);
		return 1;
	}
	if (inet_pton(AF_INET, host, &v4) == 1) {
		addrs_build(a, NULL, 0, &v4, 1);
		return 1;
	}
	return 0;
}

/* ---- hosts file ----------------------------------------------------------- */

static struct dns_host *hosts_find(const struct rp_dns *d, const char *name, size_t len,
				   uint64_t hash)
{
	for (struct dns_host *h = d->hosts[hash & d->hosts_mask]; h; h = h->hnext)
		if (h->hash == hash && h->len == len && !memcmp(h->name, name, len))
			return h;
	return NULL;
}

static int hosts_add(struct rp_dns *d, const char *name, const struct in6_addr *v6,
		     const struct in_addr *v4)
{
	char norm[NAME_BUF];
	struct dns_host *h;
	uint64_t hash;
	size_t len;

	if (name_normalize(name, norm, &len) < 0)
		return 0; /* not a name we could be asked for */
	if (norm[len - 1] == '.')
		norm[--len] = '\0';
	hash = name_hash(d, norm, len);
	h = hosts_find(d, norm, len, hash);
	if (!h) {
		h = calloc(1, sizeof(*h) + len + 1);
		if (!h)
			return -ENOMEM;
		memcpy(h->name, norm, len + 1);
		h->len = (uint8_t)len;
		h->hash = hash;
		h->hnext = d->hosts[hash & d->hosts_mask];
		d->hosts[hash & d->hosts_mask] = h;
	}
	/* Every line naming the host adds its address, like c-ares and
	 * glibc's "multi on". */
	if (v6 && h->n6 < RP_DNS_MAX_ADDRS)
		h->v6[h->n6++] = *v6;
	if (v4 && h->n4 < RP_DNS_MAX_ADDRS)
		h->v4[h->n4++] = *v4;
	return 0;
}

static int hosts_parse_line(struct rp_dns *d, char *line)
{
	static const char sep[] = " \t\r\n";
	struct in6_addr v6;
	struct in_addr v4;
	char *save, *tok, *hash_mark;
	bool is6;

	hash_mark = strchr(line, '#');
	if (hash_mark)
		*hash_mark = '\0';
	tok = strtok_r(line, sep, &save);
	if (!tok)
		return 0;
	if (inet_pton(AF_INET, tok, &v4) == 1)
		is6 = false;
	else if (inet_pton(AF_INET6, tok, &v6) == 1)
		is6 = true;
	else
		return 0; /* e.g. a scoped "fe80::1%eth0": not for a proxy */
	while ((tok = strtok_r(NULL, sep, &save)) != NULL) {
		int ret = hosts_add(d, tok, is6 ? &v6 : NULL, is6 ? NULL : &v4);

		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Reads the hosts file whole, once: this runs at start-up only. A missing
 * default file is no error; a missing file the configuration names is. */
static int hosts_load(struct rp_dns *d, const char *path, char *err, size_t errlen)
{
	bool dflt = !path || !*path;
	unsigned lines = 1, buckets = 16;
	struct stat stb;
	char *buf, *line, *nl;
	size_t got;
	FILE *f;
	int ret = 0;

	if (dflt)
		path = DEFAULT_HOSTS;
	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		if (dflt && ret == -ENOENT)
			return 0;
		snprintf(err, errlen, "dns: cannot open hosts file %s: %s", path,
			 strerror(-ret));
		return ret;
	}
	if (fstat(fileno(f), &stb) < 0)
		ret = -errno;
	else if (stb.st_size > HOSTS_MAX_BYTES)
		ret = -EFBIG;
	if (ret < 0) {
		snprintf(err, errlen, "dns: hosts file %s: %s", path, strerror(-ret));
		goto out_close;
	}
	buf = malloc((size_t)stb.st_size + 1);
	if (!buf) {
		ret = -ENOMEM;
		snprintf(err, errlen, "dns: hosts file %s: out of memory", path);
		goto out_close;
	}
	got = fread(buf, 1, (size_t)stb.st_size, f);
	buf[got] = '\0';
	for (size_t i = 0; i < got; i++)
		lines += buf[i] == '\n';
	while (buckets < lines * 2 && buckets < (1u << 20))
		buckets <<= 1;
	d->hosts = calloc(buckets, sizeof(*d->hosts));
	if (!d->hosts) {
		ret = -ENOMEM;
		snprintf(err, errlen, "dns: hosts file %s: out of memory", path);
		goto out_free;
	}
	d->hosts_mask = buckets - 1;
	for (line = buf; line && *line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		ret = hosts_parse_line(d, line);
		if (ret < 0) {
			snprintf(err, errlen, "dns: hosts file %s: out of memory", path);
			break;
		}
	}
out_free:
	free(buf);
out_close:
	fclose(f);
	return ret;
}

static void hosts_free(struct rp_dns *d)
{
	if (!d->hosts)
		return;
	for (unsigned i = 0; i <= d->hosts_mask; i++) {
		struct dns_host *h = d->hosts[i], *next;

		for (; h; h = next) {
			next = h->hnext;
			free(h);
		}
	}
	free(d->hosts);
	d->hosts = NULL;
}

/* ---- cache ---------------------------------------------------------------- */

static void lru_unlink(struct dns_entry *e)
{
	e->lru_prev->lru_next = e->lru_next;
	e->lru_next->lru_prev = e->lru_prev;
}

static void lru_push_front(struct rp_dns *d, struct dns_entry *e)
{
	e->lru_prev = &d->lru;
	e->lru_next = d->lru.lru_next;
	d->lru.lru_next->lru_prev = e;
	d->lru.lru_next = e;
}

static void cache_remove(struct rp_dns *d, struct dns_entry *e)
{
	struct dns_entry **pp = &d->cache[e->hash & d->mask];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(e);
	rp__pool_put(&d->entries, e);
}

static struct dns_entry *cache_find(struct rp_dns *d, const char *name, size_t len,
				    uint64_t hash)
{
	struct dns_entry *e = d->cache[hash & d->mask];

	for (; e; e = e->hnext)
		if (e->hash == hash && e->len == len && !memcmp(e->name, name, len))
			break;
	if (!e)
		return NULL;
	if (e->expires_ms <= d->r->now_ms) {
		cache_remove(d, e);
		return NULL;
	}
	lru_unlink(e);
	lru_push_front(d, e);
	return e;
}

static void cache_put(struct rp_dns *d, const struct dns_lookup *l, int status,
		      const struct dns_addrs *a, unsigned ttl_s)
{
	struct dns_entry *e = d->cache[l->hash & d->mask];

	if (ttl_s == 0)
		return;
	for (; e; e = e->hnext)
		if (e->hash == l->hash && e->len == l->len &&
		    !memcmp(e->name, l->name, l->len))
			break;
	if (e) {
		lru_unlink(e);
	} else {
		e = rp__pool_get(&d->entries);
		if (!e && d->lru.lru_prev != &d->lru) {
			struct dns_entry *old = d->lru.lru_prev;

			if (old->expires_ms > d->r->now_ms)
				d->st.evictions++;
			cache_remove(d, old);
			e = rp__pool_get(&d->entries);
		}
		if (!e)
			return;
		e->hash = l->hash;
		e->len = l->len;
		memcpy(e->name, l->name, l->len + 1);
		e->hnext = d->cache[l->hash & d->mask];
		d->cache[l->hash & d->mask] = e;
	}
	e->status = status;
	if (a)
		e->a = *a;
	else
		e->a.n = 0;
	e->expires_ms = d->r->now_ms + (uint64_t)ttl_s * 1000;
	lru_push_front(d, e);
}

/* ---- c-ares sockets on the ring ------------------------------------------- */

static void sock_cqe(struct rp_op *op, int res, uint32_t flags);

static void sock_link(struct dns_sock **head, struct dns_sock *s)
{
	s->next = *head;
	if (s->next)
		s->next->pprev = &s->next;
	s->pprev = head;
	*head = s;
}

static void sock_unlink(struct dns_sock *s)
{
	if (!s->pprev)
		return;
	*s->pprev = s->next;
	if (s->next)
		s->next->pprev = s->pprev;
	s->next = NULL;
	s->pprev = NULL;
}

static void sock_poll_remove(struct rp_dns *d, struct dns_sock *s)
{
	struct io_uring_sqe *sqe;

	if (s->cancelling)
		return;
	sqe = rp__reactor_sqe(d->r);
	io_uring_prep_poll_remove(sqe, (uint64_t)(uintptr_t)&s->op);
	io_uring_sqe_set_data64(sqe, 0);
	s->cancelling = true;
}

/* Makes the poll in flight match what c-ares wants: arms one, or cancels one
 * with a stale mask (sock_cqe() re-arms it when the cancel lands). */
static void sock_arm(struct rp_dns *d, struct dns_sock *s)
{
	struct io_uring_sqe *sqe;

	if (d->closing || !s->live || s->busy)
		return;
	if (s->armed) {
		if (s->armed_mask != s->want)
			sock_poll_remove(d, s);
		return;
	}
	sqe = rp__reactor_sqe(d->r);
	io_uring_prep_poll_add(sqe, s->fd, (unsigned)s->want);
	io_uring_sqe_set_data(sqe, &s->op);
	s->armed = true;
	s->armed_mask = s->want;
	d->st.polls++;
}

static struct dns_sock *sock_find(struct rp_dns *d, int fd)
{
	for (struct dns_sock *s = d->socks; s; s = s->next)
		if (s->fd == fd)
			return s;
	return NULL;
}

static void sock_closed(struct rp_dns *d, struct dns_sock *s)
{
	sock_unlink(s);
	s->live = false;
	d->st.sockets--;
	if (s->armed && !d->closing) {
		/* c-ares closes the fd right after this returns; the poll holds
		 * the file until it is removed, and its CQE still names s. */
		sock_poll_remove(d, s);
		sock_link(&d->dead, s);
		return;
	}
	if (s->armed) {
		/* Shutting down: the loop is over, the CQE will not be seen. */
		sock_poll_remove(d, s);
		d->st.polls--;
	}
	if (!s->busy)
		free(s); /* else sock_cqe() frees it on the way out */
}

/* ARES_OPT_SOCK_STATE_CB: c-ares opened a socket, changed what it waits for,
 * or is about to close it (0, 0). Called from inside c-ares only. */
static void sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct rp_dns *d = data;
	struct dns_sock *s = sock_find(d, fd);

	if (!readable && !writable) {
		if (s)
			sock_closed(d, s);
		return;
	}
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s) {
			/* Unwatched, its queries run into their timeouts. */
			rp_warn("dns: out of memory watching a resolver socket");
			return;
		}
		s->op.fn = sock_cqe;
		s->d = d;
		s->fd = fd;
		s->live = true;
		sock_link(&d->socks, s);
		d->st.sockets++;
	}
	s->want = (short)((readable ? POLLIN : 0) | (writable ? POLLOUT : 0));
	sock_arm(d, s);
}

static void timer_update(struct rp_dns *d)
{
	struct timeval tvbuf, *tv;
	uint64_t ms;

	if (d->closing)
		return;
	tv = ares_timeout(d->ch, NULL, &tvbuf);
	if (!tv) {
		rp__timer_cancel(&d->r->wheel, &d->ares_timer);
		return;
	}
	/* Rounded up: firing early costs a wasted ares_process_fd() and a
	 * re-arm; now_ms lags the clock by up to one loop turn anyway. */
	ms = (uint64_t)tv->tv_sec * 1000 + ((uint64_t)tv->tv_usec + 999) / 1000;
	rp__timer_arm(&d->r->wheel, &d->ares_timer, d->r->now_ms + ms);
}

static void ares_timer_fired(struct rp_timer *t, uint64_t now_ms)
{
	struct rp_dns *d = rp_container_of(t, struct rp_dns, ares_timer);

	ares_process_fd(d->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	timer_update(d);
}

static void sock_cqe(struct rp_op *op, int res, uint32_t flags)
{
	struct dns_sock *s = rp_container_of(op, struct dns_sock, op);
	struct rp_dns *d = s->d;

	s->armed = false;
	s->cancelling = false;
	d->st.polls--;
	if (!s->live) {
		/* Closed by c-ares while the poll was in flight; whatever the
		 * result, it is about a file that is gone. */
		sock_unlink(s);
		free(s);
		return;
	}
	if (res > 0) {
		int rfd = (res & (POLLIN | POLLERR | POLLHUP)) ? s->fd : ARES_SOCKET_BAD;
		int wfd = (res & (POLLOUT | POLLERR | POLLHUP)) && (s->want & POLLOUT)
				  ? s->fd
				  : ARES_SOCKET_BAD;

		/* c-ares may close this socket (and open another with the same
		 * number) from in here: busy keeps s alive until we are done. */
		s->busy = true;
		ares_process_fd(d->ch, rfd, wfd);
		s->busy = false;
		if (!s->live) {
			free(s);
			timer_update(d);
			return;
		}
	} else if (res < 0 && res != -ECANCELED) {
		/* The poll could not be armed. Not re-armed, so a persistent
		 * error cannot spin the loop: the queries on this socket time
		 * out, c-ares closes it and opens a fresh one. */
		rp_dbg("dns: poll on resolver socket %d: %s", s->fd, strerror(-res));
		return;
	}
	sock_arm(d, s);
	timer_update(d);
}

/* ---- lookups -------------------------------------------------------------- */

static void query_unlink(struct rp_dns_query *q)
{
	if (!q->pprev)
		return;
	*q->pprev = q->next;
	if (q->next)
		q->next->pprev = q->pprev;
	else
		q->lookup->tail = q->pprev;
	q->next = NULL;
	q->pprev = NULL;
	q->lookup = NULL;
}

static void query_link(struct dns_lookup *l, struct rp_dns_query *q)
{
	q->lookup = l;
	q->next = NULL;
	q->pprev = l->tail;
	*l->tail = q;
	l->tail = &q->next;
}

static void query_free(struct rp_dns *d, struct rp_dns_query *q)
{
	query_unlink(q);
	rp__timer_cancel(&d->r->wheel, &q->timer);
	if (q == d->inline_q)
		d->inline_done = true;
	rp__pool_put(&d->queries, q);
}

static void query_timeout(struct rp_timer *t, uint64_t now_ms)
{
	struct rp_dns_query *q = rp_container_of(t, struct rp_dns_query, timer);
	struct rp_dns *d = q->d;
	rp_dns_cb cb = q->cb;
	void *arg = q->arg;

	/* The lookup goes on; its answer will still fill the cache. */
	query_free(d, q);
	d->st.timeouts++;
	cb(arg, -ETIMEDOUT, NULL, 0);
}

static void pending_remove(struct rp_dns *d, struct dns_lookup *l)
{
	struct dns_lookup **pp = &d->pending[l->hash & d->mask];

	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == l) {
			*pp = l->hnext;
			d->st.pending--;
			return;
		}
	}
}

static struct dns_lookup *pending_find(struct rp_dns *d, const char *name, size_t len,
				       uint64_t hash)
{
	for (struct dns_lookup *l = d->pending[hash & d->mask]; l; l = l->hnext)
		if (l->hash == hash && l->len == len && !memcmp(l->name, name, len))
			return l;
	return NULL;
}

static int ares_errno(int status)
{
	switch (status) {
	case ARES_SUCCESS:
		return 0;
	case ARES_ENODATA: /* the name exists, without an address */
		return -ENODATA;
	case ARES_ENOTFOUND: /* NXDOMAIN */
	case ARES_ENONAME:
		return -ENOENT;
	case ARES_ETIMEOUT:
		return -ETIMEDOUT;
	case ARES_ECONNREFUSED:
	case ARES_EREFUSED:
	case ARES_ESERVFAIL:
	case ARES_ENOTIMP:
	case ARES_EFORMERR:
	case ARES_EBADRESP:
		return -ECONNREFUSED;
	case ARES_EBADNAME:
		return -EINVAL;
	case ARES_ENOMEM:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

/* The addresses of @ai (see addrs_build()) and the smallest TTL of its
 * records, CNAMEs included, in *@ttl. */
static void addrs_from_ares(const struct ares_addrinfo *ai, struct dns_addrs *a,
			    unsigned *ttl)
{
	struct in6_addr v6[RP_DNS_MAX_ADDRS];
	struct in_addr v4[RP_DNS_MAX_ADDRS];
	unsigned n6 = 0, n4 = 0;
	int min = -1;

	for (const struct ares_addrinfo_node *n = ai->nodes; n; n = n->ai_next) {
		if (n->ai_family == AF_INET6 && n6 < RP_DNS_MAX_ADDRS)
			v6[n6++] = ((const struct sockaddr_in6 *)n->ai_addr)->sin6_addr;
		else if (n->ai_family == AF_INET && n4 < RP_DNS_MAX_ADDRS)
			v4[n4++] = ((const struct sockaddr_in *)n->ai_addr)->sin_addr;
		else
			continue;
		if (min < 0 || n->ai_ttl < min)
			min = n->ai_ttl;
	}
	for (const struct ares_addrinfo_cname *c = ai->cnames; c; c = c->next)
		if (min < 0 || c->ttl < min)
			min = c->ttl;
	/* A TTL with the top bit set arrives negative: RFC 2181 8 says 0. */
	*ttl = min < 0 ? 0 : (unsigned)min;
	addrs_build(a, v6, n6, v4, n4);
}

/* The ares_getaddrinfo() callback: fills the cache, answers the waiters. */
static void lookup_done(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
	struct dns_lookup *l = arg;
	struct rp_dns *d = l->d;
	struct dns_addrs a = {.n = 0};
	struct rp_dns_query *q;
	unsigned ttl = 0;
	int ret;

	if (d->closing || status == ARES_EDESTRUCTION) {
		/* rp__dns_fini(): its waiters are gone already. */
		if (ai)
			ares_freeaddrinfo(ai);
		rp__pool_put(&d->lookups, l);
		return;
	}
	ret = ares_errno(status);
	if (ret == 0 && ai)
		addrs_from_ares(ai, &a, &ttl);
	if (ai)
		ares_freeaddrinfo(ai);
	if (ret == 0 && a.n == 0)
		ret = -ENODATA;
	pending_remove(d, l);
	if (ret == 0) {
		if (ttl < d->min_ttl_s)
			ttl = d->min_ttl_s;
		if (ttl > d->max_ttl_s)
			ttl = d->max_ttl_s;
		cache_put(d, l, 0, &a, ttl);
	} else if (ret == -ENOENT || ret == -ENODATA) {
		/* The SOA minimum is not exposed by ares_getaddrinfo(). */
		cache_put(d, l, ret, NULL, d->min_ttl_s);
	} else {
		d->st.errors++;
	}
	/* In arrival order. A callback may cancel another waiter or start a
	 * lookup of the same name (which now misses the pending table and hits
	 * the cache): take one waiter at a time from the head. */
	while ((q = l->waiters) != NULL) {
		rp_dns_cb cb = q->cb;
		void *qarg = q->arg;

		query_free(d, q);
		answer(cb, qarg, ret, &a);
	}
	rp__pool_put(&d->lookups, l);
}

/* The hosts file, then "localhost" and names under ".localhost" (RFC 6761
 * 6.3), which no DNS server is asked about. Neither knows a final dot. */
static bool local_find(const struct rp_dns *d, const char *name, size_t len,
		       struct dns_addrs *a)
{
	const struct in_addr lo4 = {.s_addr = htonl(INADDR_LOOPBACK)};
	const struct dns_host *h;

	if (name[len - 1] == '.')
		len--;
	h = d->hosts ? hosts_find(d, name, len, name_hash(d, name, len)) : NULL;
	if (h) {
		addrs_build(a, h->v6, h->n6, h->v4, h->n4);
		return true;
	}
	if ((len == 9 && !memcmp(name, "localhost", 9)) ||
	    (len > 10 && !memcmp(name + len - 10, ".localhost", 10))) {
		addrs_build(a, &in6addr_loopback, 1, &lo4, 1);
		return true;
	}
	return false;
}

struct rp_dns_query *rp__dns_resolve(struct rp_dns *d, const char *host, rp_dns_cb cb,
				     void *arg)
{
	static const struct ares_addrinfo_hints hints = {
		/* We order the answer ourselves; c-ares's RFC 6724 sort
		 * would connect() a UDP socket per address to learn the
		 * source address: syscalls on the reactor for nothing. */
		.ai_flags = ARES_AI_NOSORT,
		.ai_family = AF_UNSPEC,
	};
	struct rp_dns_query *q, *saved_q;
	struct dns_lookup *l;
	struct dns_entry *e;
	struct dns_addrs a;
	char name[NAME_BUF];
	bool saved_done, done;
	uint64_t hash;
	size_t len;
	int ret;

	if (!host) {
		answer(cb, arg, -EINVAL, NULL);
		return NULL;
	}
	ret = parse_literal(host, &a);
	if (ret != 0) {
		answer(cb, arg, ret > 0 ? 0 : ret, &a);
		return NULL;
	}
	if (name_normalize(host, name, &len) < 0) {
		answer(cb, arg, -EINVAL, NULL);
		return NULL;
	}

	if (local_find(d, name, len, &a)) {
		answer(cb, arg, 0, &a);
		return NULL;
	}
	hash = name_hash(d, name, len);
	e = cache_find(d, name, len, hash);
	if (e) {
		d->st.hits++;
		answer(cb, arg, e->status, &e->a);
		return NULL;
	}
	d->st.misses++;
	q = rp__pool_get(&d->queries);
	if (!q) {
		answer(cb, arg, -ENOMEM, NULL);
		return NULL;
	}
	q->d = d;
	q->cb = cb;
	q->arg = arg;
	q->timer.fn = query_timeout;
	l = pending_find(d, name, len, hash);
	if (l) {
		d->st.coalesced++;
		query_link(l, q);
		rp__timer_arm(&d->r->wheel, &q->timer, d->r->now_ms + d->timeout_ms);
		return q;
	}
	l = rp__pool_get(&d->lookups);
	if (!l) {
		rp__pool_put(&d->queries, q);
		answer(cb, arg, -ENOMEM, NULL);
		return NULL;
	}
	l->d = d;
	l->tail = &l->waiters;
	l->hash = hash;
	l->len = (uint8_t)len;
	memcpy(l->name, name, len + 1);
	l->hnext = d->pending[hash & d->mask];
	d->pending[hash & d->mask] = l;
	d->st.pending++;
	d->st.lookups++;
	query_link(l, q);
	rp__timer_arm(&d->r->wheel, &q->timer, d->r->now_ms + d->timeout_ms);

	/* c-ares may answer from inside this call (out of memory, ".onion"):
	 * then q is gone and NULL is the handle. Saved and restored because a
	 * callback may resolve again from in here. */
	saved_q = d->inline_q;
	saved_done = d->inline_done;
	d->inline_q = q;
	d->inline_done = false;
	ares_getaddrinfo(d->ch, l->name, NULL, &hints, lookup_done, l);
	done = d->inline_done;
	d->inline_q = saved_q;
	d->inline_done = saved_done;
	timer_update(d);
	return done ? NULL : q;
}

void rp__dns_cancel(struct rp_dns_query *q)
{
	if (q)
		query_free(q->d, q);
}

void rp__dns_get_stats(const struct rp_dns *d, struct rp_dns_stats *st)
{
	*st = d->st;
	st->cached = d->entries.used;
}

/* ---- set-up and tear-down ------------------------------------------------- */

static pthread_once_t ares_once = PTHREAD_ONCE_INIT;
static int ares_lib_status;

static void ares_lib_init(void)
{
	/* Not thread-safe in c-ares 1.18, and reactors start in parallel. */
	ares_lib_status = ares_library_init(ARES_LIB_INIT_ALL);
}

static int channel_open(struct rp_dns *d, const char *servers, char *err, size_t errlen)
{
	struct ares_options opts;
	char lookups[] = "b"; /* DNS only: the hosts file is ours */
	int optmask, ret;

	memset(&opts, 0, sizeof(opts));
	opts.sock_state_cb = sock_state;
	opts.sock_state_cb_data = d;
	/* c-ares doubles the per-try timeout on every round over the servers:
	 * with one server, two tries take three times the first. Our own
	 * timer enforces the whole budget either way. */
	opts.timeout = (int)(d->timeout_ms / 3 ? d->timeout_ms / 3 : 1);
	opts.tries = ARES_TRIES;
	opts.lookups = lookups;
	/* HOSTALIASES would make ares_getaddrinfo() read a file per lookup of
	 * a single-label name, on the reactor. */
	opts.flags = ARES_FLAG_NOALIASES;
	optmask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
		  ARES_OPT_LOOKUPS | ARES_OPT_FLAGS;
	ret = ares_init_options(&d->ch, &opts, optmask);
	if (ret != ARES_SUCCESS) {
		snprintf(err, errlen, "dns: resolver set-up: %s", ares_strerror(ret));
		d->ch = NULL;
		return ret == ARES_ENOMEM ? -ENOMEM : -EINVAL;
	}
	if (servers && *servers) {
		ret = ares_set_servers_ports_csv(d->ch, servers);
		if (ret != ARES_SUCCESS) {
			snprintf(err, errlen, "dns: bad server list \"%s\": %s", servers,
				 ares_strerror(ret));
			return ret == ARES_ENOMEM ? -ENOMEM : -EINVAL;
		}
	}
	return 0;
}

int rp__dns_init(struct rp_dns **out, struct rp_reactor *r,
		 const struct rp_dns_config *cfg, char *err, size_t errlen)
{
	static const struct rp_dns_config defaults;
	unsigned entries, buckets = 64;
	struct rp_dns *d;
	int ret;

	if (!cfg)
		cfg = &defaults;
	pthread_once(&ares_once, ares_lib_init);
	if (ares_lib_status != ARES_SUCCESS) {
		snprintf(err, errlen, "dns: c-ares: %s", ares_strerror(ares_lib_status));
		return -ENOMEM;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(err, errlen, "dns: out of memory");
		return -ENOMEM;
	}
	d->r = r;
	d->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS;
	d->min_ttl_s = cfg->min_ttl_s;
	d->max_ttl_s = cfg->max_ttl_s ? cfg->max_ttl_s : DEFAULT_MAX_TTL_S;
	d->ares_timer.fn = ares_timer_fired;
	d->lru.lru_next = d->lru.lru_prev = &d->lru;
	if (d->min_ttl_s > d->max_ttl_s) {
		snprintf(err, errlen, "dns: minimum TTL %us is above the maximum %us",
			 d->min_ttl_s, d->max_ttl_s);
		ret = -EINVAL;
		goto fail_free;
	}
	if (getrandom(d->key, sizeof(d->key), GRND_NONBLOCK) != sizeof(d->key)) {
		/* Early boot, entropy pool not ready: a weaker key. */
		d->key[0] = (uint64_t)(uintptr_t)d ^ rp__now_ms();
		d->key[1] = (uint64_t)(uintptr_t)&d ^ ((uint64_t)getpid() << 32);
	}

	entries = cfg->cache_entries ? cfg->cache_entries : DEFAULT_CACHE;
	while (buckets < entries && buckets < (1u << 24))
		buckets <<= 1;
	d->mask = buckets - 1;
	d->cache = calloc(buckets, sizeof(*d->cache));
	d->pending = calloc(buckets, sizeof(*d->pending));
	if (!d->cache || !d->pending ||
	    rp__pool_init(&d->entries, sizeof(struct dns_entry), entries) < 0 ||
	    rp__pool_init(&d->lookups, sizeof(struct dns_lookup), MAX_LOOKUPS) < 0 ||
	    rp__pool_init(&d->queries, sizeof(struct rp_dns_query), MAX_QUERIES) < 0) {
		snprintf(err, errlen, "dns: out of memory");
		ret = -ENOMEM;
		goto fail_free_tables;
	}
	ret = hosts_load(d, cfg->hosts_file, err, errlen);
	if (ret < 0)
		goto fail_free_tables;
	ret = channel_open(d, cfg->servers, err, errlen);
	if (ret < 0)
		goto fail_destroy_channel;
	*out = d;
	return 0;

fail_destroy_channel:
	if (d->ch) {
		/* No query was asked and no socket opened: nothing to call. */
		d->closing = true;
		ares_destroy(d->ch);
	}
fail_free_tables:
	hosts_free(d);
	rp__pool_destroy(&d->queries);
	rp__pool_destroy(&d->lookups);
	rp__pool_destroy(&d->entries);
	free(d->pending);
	free(d->cache);
fail_free:
	free(d);
	return ret;
}

void rp__dns_fini(struct rp_dns *d)
{
	struct dns_sock *s;
	bool submit;

	if (!d)
		return;
	/* Callers first: no callback may run from here on. */
	for (unsigned i = 0; i <= d->mask; i++)
		for (struct dns_lookup *l = d->pending[i]; l; l = l->hnext)
			while (l->waiters)
				query_free(d, l->waiters);
	rp__timer_cancel(&d->r->wheel, &d->ares_timer);
	/* c-ares calls lookup_done() with ARES_EDESTRUCTION for each lookup
	 * (which frees it) and closes its sockets through sock_state(). */
	d->closing = true;
	submit = d->socks != NULL;
	ares_destroy(d->ch);
	d->ch = NULL;
	RP_BUG_ON(d->socks);
	/* Polls cancelled while the loop still ran: their CQEs won't come. */
	while ((s = d->dead) != NULL) {
		sock_unlink(s);
		free(s);
	}
	/* Flush the POLL_REMOVEs so the kernel lets go of the sockets now
	 * rather than when the ring goes. */
	if (submit)
		io_uring_submit(&d->r->ring);
	hosts_free(d);
	rp__pool_destroy(&d->queries);
	rp__pool_destroy(&d->lookups);
	rp__pool_destroy(&d->entries);
	free(d->pending);
	free(d->cache);
	free(d);
}

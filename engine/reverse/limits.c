// SPDX-License-Identifier: BSD-2-Clause
/*
 * limits.c - per-client connection caps and request rates (limits.h). The
 * table is set-associative (LIMITS_WAYS entries a set) and hashed under a
 * random seed, so that no client can pick addresses that collide; a new
 * client takes the least recently seen entry of its set that holds no open
 * connection (its bucket, full again by then or soon, is forgotten). When
 * every entry of the set holds connections the client goes untracked: it is
 * admitted and counted (limit_untracked), since refusing would let a few
 * clients lock others out. Open connections find their entry through a
 * table indexed by descriptor, which an entry with connections never
 * leaves.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <openssl/rand.h>

#include "core/core.h"
#include "net/net.h"
#include "reverse/limits.h"

#define LIMITS_WAYS   4
#define LIMITS_FD_MAX (1u << 20)	  /* descriptors tracked beyond: untracked */
#define KEY_LEN	      (RP_CLIENT_KEY + 1) /* the address, then the scope */
#define ROUTE_SCOPE   RP_MAX_LISTENERS	  /* scopes: listeners, then routes */
_Static_assert(RP_MAX_LISTENERS + RP_MAX_ROUTES <= 256, "a scope is one byte");

/* ---- the token bucket ---------------------------------------------------- */

void rp__rate_init(struct rp_rate *q, unsigned rps, unsigned burst, unsigned nreactors)
{
	unsigned n = nreactors ? nreactors : 1;
	uint64_t b = burst ? burst : rps;

	q->cost = 1000ull * n;
	q->rate = rps;
	/* ceil(burst / n) requests, and at least one. */
	b = (b + n - 1) / n;
	q->cap = (b ? b : 1) * q->cost;
}

void rp__bucket_fill(const struct rp_rate *q, struct rp_bucket *b, uint64_t now_ms)
{
	b->units = q->cap;
	b->last_ms = now_ms;
}

bool rp__bucket_take(const struct rp_rate *q, struct rp_bucket *b, uint64_t now_ms,
		     unsigned *retry_s)
{
	if (now_ms > b->last_ms) {
		uint64_t dt = now_ms - b->last_ms;

		/* dt * rate overflows only after centuries at 10^7 rps. */
		b->units = q->cap - b->units <= dt * q->rate ? q->cap
							     : b->units + dt * q->rate;
		b->last_ms = now_ms;
	}
	if (b->units >= q->cost) {
		b->units -= q->cost;
		return true;
	}
	if (retry_s) {
		uint64_t ms = q->rate ? (q->cost - b->units + q->rate - 1) / q->rate
				      : UINT32_MAX;
		uint64_t s = (ms + 999) / 1000;

		*retry_s = s < 1 ? 1 : s > 3600 ? 3600 : (unsigned)s;
	}
	return false;
}

/* ---- the table --------------------------------------------------------------- */

struct lim_entry {
	uint8_t key[KEY_LEN];
	bool used;
	uint32_t conns;
	uint64_t seen_ms;   /* last admission or refusal: the LRU order */
	uint64_t logged_ms; /* the last refusal logged; 0: none */
	struct rp_bucket bucket;
};

struct lim_listener {
	bool on;
	unsigned conns; /* this reactor's share; 0: no cap */
	bool rate_on;
	struct rp_rate rate;
};

struct rp_limits {
	struct rp_stats *stats;
	size_t set_mask;
	uint64_t seed[2];
	struct lim_listener lis[RP_MAX_LISTENERS];
	struct lim_listener rt[RP_MAX_ROUTES]; /* the rate only */
	uint32_t *fd_entry; /* descriptor -> entry index + 1; 0: not counted */
	unsigned nfd;
	struct lim_entry e[];
};

int rp__limits_new(const struct rp_config *cfg, unsigned nreactors,
		   struct rp_stats *stats, struct rp_limits **out)
{
	unsigned n = nreactors ? nreactors : 1;
	bool any = false, conns = false;
	struct rp_limits *l;
	size_t sz = LIMITS_WAYS;

	*out = NULL;
	for (unsigned i = 0; i < cfg->nlisteners; i++) {
		const struct rp_limits_config *lc = &cfg->listeners[i].limits;

		any |= lc->client_conns || lc->client_rps;
		conns |= lc->client_conns != 0;
	}
	for (unsigned i = 0; i < cfg->nroutes; i++)
		any |= cfg->routes[i].limits.client_rps != 0;
	if (!any)
		return 0;
	while (sz < cfg->client_table && sz < (1u << 20))
		sz *= 2;
	l = calloc(1, sizeof(*l) + sz * sizeof(l->e[0]));
	if (!l)
		return -ENOMEM;
	l->stats = stats;
	l->set_mask = sz / LIMITS_WAYS - 1;
	RAND_bytes((uint8_t *)l->seed, sizeof(l->seed));
	for (unsigned i = 0; i < cfg->nlisteners; i++) {
		const struct rp_limits_config *lc = &cfg->listeners[i].limits;
		struct lim_listener *ll = &l->lis[i];

		ll->conns = (lc->client_conns + n - 1) / n;
		ll->rate_on = lc->client_rps != 0;
		if (ll->rate_on)
			rp__rate_init(&ll->rate, lc->client_rps, lc->client_burst, n);
		ll->on = ll->conns || ll->rate_on;
	}
	for (unsigned i = 0; i < cfg->nroutes; i++) {
		const struct rp_limits_config *lc = &cfg->routes[i].limits;

		l->rt[i].rate_on = l->rt[i].on = lc->client_rps != 0;
		if (lc->client_rps)
			rp__rate_init(&l->rt[i].rate, lc->client_rps, lc->client_burst,
				      n);
	}
	if (conns) {
		struct rlimit rl;

		l->nfd = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < LIMITS_FD_MAX
				 ? (unsigned)rl.rlim_cur
				 : LIMITS_FD_MAX;
		l->fd_entry = calloc(l->nfd, sizeof(l->fd_entry[0]));
		if (!l->fd_entry) {
			free(l);
			return -ENOMEM;
		}
	}
	*out = l;
	return 0;
}

void rp__limits_free(struct rp_limits *l)
{
	if (!l)
		return;
	free(l->fd_entry);
	free(l);
}

static uint64_t lim_hash(const struct rp_limits *l, const uint8_t *key)
{
	uint64_t a = 0, b = 0, h;

	memcpy(&a, key, 8);
	memcpy(&b, key + 8, KEY_LEN - 8);
	h = (a ^ l->seed[0]) * 0x9e3779b97f4a7c15ull;
	h ^= h >> 29;
	h = (h ^ b ^ l->seed[1]) * 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 32);
}

/* The entry of @client under @scope (a listener, or ROUTE_SCOPE + a route)
 * whose limits are @ll, made when @client is new: NULL when its address is
 * of another family or its set is all held open. */
static struct lim_entry *lim_get(struct rp_limits *l, unsigned scope,
				 const struct lim_listener *ll,
				 const struct sockaddr *client, uint64_t now_ms)
{
	uint8_t key[KEY_LEN];
	struct lim_entry *set, *victim = NULL;

	if (!client || !rp__addr_client_key(client, key)) {
		l->stats->limit_untracked++;
		return NULL;
	}
	key[RP_CLIENT_KEY] = (uint8_t)scope;
	set = &l->e[(lim_hash(l, key) & l->set_mask) * LIMITS_WAYS];
	for (unsigned w = 0; w < LIMITS_WAYS; w++) {
		struct lim_entry *e = &set[w];

		if (e->used && !memcmp(e->key, key, KEY_LEN))
			return e;
		if (!e->used) {
			if (!victim || victim->used)
				victim = e;
		} else if (!e->conns &&
			   (!victim || (victim->used && e->seen_ms < victim->seen_ms))) {
			victim = e;
		}
	}
	if (!victim) {
		l->stats->limit_untracked++;
		return NULL;
	}
	if (victim->used)
		l->stats->limit_evictions++;
	memset(victim, 0, sizeof(*victim));
	memcpy(victim->key, key, KEY_LEN);
	victim->used = true;
	if (ll->rate_on)
		rp__bucket_fill(&ll->rate, &victim->bucket, now_ms);
	return victim;
}

/* Logs the first refusal of @e in each interval; @scope and @n name the
 * listener or route. */
static void lim_log(struct lim_entry *e, const struct sockaddr *client, const char *scope,
		    unsigned n, uint64_t now_ms, const char *what)
{
	char ip[RP_ADDRSTRLEN];
	struct sockaddr_in6 net;

	if (e->logged_ms && now_ms - e->logged_ms < RP_LIMITS_LOG_MS)
		return;
	e->logged_ms = now_ms ? now_ms : 1;
	if (e->key[0] == 6) { /* the /64 it is counted under */
		memset(&net, 0, sizeof(net));
		net.sin6_family = AF_INET6;
		memcpy(&net.sin6_addr, e->key + 1, 8);
		client = (const struct sockaddr *)&net;
	}
	rp_warn("%s %u: client %s%s over its %s (further refusals within "
		"%u s are only counted)",
		scope, n, rp__addr_ip_format(client, ip, sizeof(ip)) ? ip : "?",
		e->key[0] == 6 ? "/64" : "", what, RP_LIMITS_LOG_MS / 1000);
}

bool rp__limits_conns_on(const struct rp_limits *l, unsigned listener)
{
	return l && listener < RP_MAX_LISTENERS && l->lis[listener].conns;
}

bool rp__limits_conn_open(struct rp_limits *l, unsigned listener, int fd,
			  const struct sockaddr *client, uint64_t now_ms)
{
	struct lim_entry *e;

	if (!rp__limits_conns_on(l, listener))
		return true;
	if (fd < 0 || (unsigned)fd >= l->nfd) {
		l->stats->limit_untracked++;
		return true;
	}
	/* Still counted: its last holder went by a plain close(). */
	rp__limits_conn_closed(l, fd);
	e = lim_get(l, listener, &l->lis[listener], client, now_ms);
	if (!e)
		return true;
	e->seen_ms = now_ms;
	if (e->conns >= l->lis[listener].conns) {
		l->stats->client_conns_refused++;
		lim_log(e, client, "listener", listener, now_ms, "connection cap");
		return false;
	}
	e->conns++;
	l->fd_entry[fd] = (uint32_t)(e - l->e) + 1;
	return true;
}

void rp__limits_conn_closed(struct rp_limits *l, int fd)
{
	uint32_t k;

	if (!l || !l->fd_entry || fd < 0 || (unsigned)fd >= l->nfd)
		return;
	k = l->fd_entry[fd];
	if (!k)
		return;
	l->fd_entry[fd] = 0;
	RP_BUG_ON(!l->e[k - 1].conns);
	l->e[k - 1].conns--;
}

/* A request under @scope whose limits are @ll; @what and @n name it in the
 * log line. */
static bool lim_request(struct rp_limits *l, unsigned scope,
			const struct lim_listener *ll, const struct sockaddr *client,
			uint64_t now_ms, unsigned *retry_s, const char *what, unsigned n)
{
	struct lim_entry *e = lim_get(l, scope, ll, client, now_ms);

	if (!e)
		return true;
	e->seen_ms = now_ms;
	if (rp__bucket_take(&ll->rate, &e->bucket, now_ms, retry_s))
		return true;
	l->stats->client_rate_limited++;
	lim_log(e, client, what, n, now_ms, "request rate");
	return false;
}

bool rp__limits_request(struct rp_limits *l, unsigned listener,
			const struct sockaddr *client, uint64_t now_ms, unsigned *retry_s)
{
	if (!l || listener >= RP_MAX_LISTENERS || !l->lis[listener].rate_on)
		return true;
	return lim_request(l, listener, &l->lis[listener], client, now_ms, retry_s,
			   "listener", listener);
}

bool rp__limits_route_request(struct rp_limits *l, unsigned route,
			      const struct sockaddr *client, uint64_t now_ms,
			      unsigned *retry_s)
{
	if (!l || route >= RP_MAX_ROUTES || !l->rt[route].rate_on)
		return true;
	return lim_request(l, ROUTE_SCOPE + route, &l->rt[route], client, now_ms, retry_s,
			   "route", route);
}

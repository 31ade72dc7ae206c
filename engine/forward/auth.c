// SPDX-License-Identifier: BSD-2-Clause
/*
 * auth.c - how a reactor decides on the credentials of forward clients
 * without ever hashing a password itself: the throttle table of addresses
 * that fail too often, the verdict cache, and checks handed to the helper
 * threads. A check's job lives in the reactor's bounded pool of jobs (its
 * size is auth_queue, so a full pool is the 503 that spares the queue), not
 * in the connection: a client that leaves while its check runs is detached
 * from its job and freed at once, and the verdict that comes back later to
 * the job finds no waiter, as a DNS answer finds no query.
 *
 * Everything here is per reactor, shared-nothing as the rest of the data
 * path: a pair that verified on one reactor is checked again the first time
 * it shows up on another (once per reactor per cache lifetime), and an
 * address is throttled by each reactor on its own, so a client whose
 * connections spread over N reactors gets up to N times auth_fail_limit
 * tries per window, still orders of magnitude fewer than the helpers could
 * check.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/mem.h>
#include <openssl/rand.h>

#include "core/core.h"
#include "forward/auth.h"
#include "forward/policy.h"
#include "net/net.h"

/* A password that failed once fails until the users table changes (the
 * table is in the key): the lifetime only bounds how stale the table may
 * grow, and the size how much a flood of wrong passwords occupies. */
#define AUTH_OK_ENTRIES	 1024
#define AUTH_OK_TTL_MS	 60000
#define AUTH_FAIL_TTL_MS 600000
#define THROTTLE_ENTRIES 4096
#define THROTTLE_WAYS	 4
#define AUTH_FIELD_MAX	 255 /* RFC 1929's bound, and the Basic buffers' */

/* ---- the throttle ------------------------------------------------------------ */

struct thr_entry {
	uint8_t key[RP_THROTTLE_KEY];
	bool used;
	uint32_t count;		/* failures in the current window */
	uint64_t window_start;	/* ms */
	uint64_t blocked_until; /* ms; <= now: not blocked */
};

struct rp_auth_throttle {
	size_t set_mask;
	unsigned limit, window_ms, block_ms;
	uint64_t seed[2];
	struct thr_entry e[];
};

struct rp_auth_throttle *rp__throttle_new(unsigned entries, unsigned limit,
					  unsigned window_ms, unsigned block_ms)
{
	struct rp_auth_throttle *t;
	size_t n = THROTTLE_WAYS;

	while (n < entries && n < (1u << 20))
		n *= 2;
	t = calloc(1, sizeof(*t) + n * sizeof(t->e[0]));
	if (!t)
		return NULL;
	t->set_mask = n / THROTTLE_WAYS - 1;
	t->limit = limit;
	t->window_ms = window_ms;
	t->block_ms = block_ms;
	RAND_bytes((uint8_t *)t->seed, sizeof(t->seed));
	return t;
}

void rp__throttle_free(struct rp_auth_throttle *t)
{
	free(t);
}

bool rp__throttle_key(const struct sockaddr *sa, uint8_t key[RP_THROTTLE_KEY])
{
	return rp__addr_client_key(sa, key);
}

static uint64_t thr_hash(const struct rp_auth_throttle *t, const uint8_t *key)
{
	uint64_t a = 0, b = 0, h;

	memcpy(&a, key, 8);
	memcpy(&b, key + 8, RP_THROTTLE_KEY - 8);
	h = (a ^ t->seed[0]) * 0x9e3779b97f4a7c15ull;
	h ^= h >> 29;
	h = (h ^ b ^ t->seed[1]) * 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 32);
}

static struct thr_entry *thr_set(const struct rp_auth_throttle *t, const uint8_t *key)
{
	return (struct thr_entry *)&t
		->e[(thr_hash(t, key) & t->set_mask) * THROTTLE_WAYS];
}

static bool thr_stale(const struct rp_auth_throttle *t, const struct thr_entry *e,
		      uint64_t now)
{
	return !e->used ||
	       (e->blocked_until <= now && now - e->window_start >= t->window_ms);
}

static struct thr_entry *thr_find(const struct rp_auth_throttle *t, const uint8_t *key)
{
	struct thr_entry *set = thr_set(t, key);

	for (int w = 0; w < THROTTLE_WAYS; w++)
		if (set[w].used && !memcmp(set[w].key, key, RP_THROTTLE_KEY))
			return &set[w];
	return NULL;
}

/* A way for a new key: a stale one, else the oldest window not blocked,
 * else the block that ends first. */
static struct thr_entry *thr_victim(struct rp_auth_throttle *t, const uint8_t *key,
				    uint64_t now)
{
	struct thr_entry *set = thr_set(t, key), *old = NULL, *blocked = &set[0];

	for (int w = 0; w < THROTTLE_WAYS; w++) {
		struct thr_entry *e = &set[w];

		if (thr_stale(t, e, now))
			return e;
		if (e->blocked_until > now) {
			if (e->blocked_until < blocked->blocked_until)
				blocked = e;
		} else if (!old || e->window_start < old->window_start) {
			old = e;
		}
	}
	return old ? old : blocked;
}

uint64_t rp__throttle_blocked(const struct rp_auth_throttle *t, const struct sockaddr *sa,
			      uint64_t now_ms)
{
	uint8_t key[RP_THROTTLE_KEY];
	const struct thr_entry *e;

	if (!t || !t->limit || !rp__throttle_key(sa, key))
		return 0;
	e = thr_find(t, key);
	return e && e->blocked_until > now_ms ? e->blocked_until - now_ms : 0;
}

bool rp__throttle_fail(struct rp_auth_throttle *t, const struct sockaddr *sa,
		       uint64_t now_ms)
{
	uint8_t key[RP_THROTTLE_KEY];
	struct thr_entry *e;

	if (!t || !t->limit || !rp__throttle_key(sa, key))
		return false;
	e = thr_find(t, key);
	if (!e) {
		e = thr_victim(t, key, now_ms);
		memset(e, 0, sizeof(*e));
		memcpy(e->key, key, RP_THROTTLE_KEY);
		e->used = true;
		e->window_start = now_ms;
	}
	if (e->blocked_until > now_ms)
		return false; /* a check that was running when the block began */
	if (now_ms - e->window_start >= t->window_ms) {
		e->window_start = now_ms;
		e->count = 0;
	}
	if (++e->count < t->limit)
		return false;
	e->blocked_until = now_ms + t->block_ms;
	e->window_start = now_ms;
	e->count = 0;
	return true;
}

/* ---- the authenticator ------------------------------------------------------ */

struct rp_auth_job {
	struct rp_helper_job hj;
	struct rp_op done; /* the helper's MSG_RING lands here */
	struct rp_fwd_auth *a;
	struct rp_auth_wait *w; /* NULL once the waiter went */
	const struct rp_users *u;
	struct sockaddr_storage client;
	bool have_client;
	uint8_t tag[RP_AUTH_TAG_LEN];
	uint16_t ulen, plen;
	char user[AUTH_FIELD_MAX + 1];
	char pass[AUTH_FIELD_MAX + 1];
};

struct rp_fwd_auth {
	struct rp_reactor *r;
	struct rp_auth_cache *cache;
	struct rp_auth_throttle *thr; /* NULL: auth_fail_limit 0 */
	struct rp_pool jobs;	      /* at most auth_queue */
	bool jobs_ok;
};

int rp__fwd_auth_new(struct rp_reactor *r, struct rp_fwd_auth **out)
{
	const struct rp_config *cfg = r->cfg;
	struct rp_fwd_auth *a = calloc(1, sizeof(*a));

	*out = NULL;
	if (!a)
		return -ENOMEM;
	a->r = r;
	a->cache = rp__auth_cache_new(AUTH_OK_ENTRIES, AUTH_OK_TTL_MS,
				      cfg->auth_fail_cache, AUTH_FAIL_TTL_MS);
	if (cfg->auth_fail_limit)
		a->thr = rp__throttle_new(THROTTLE_ENTRIES, cfg->auth_fail_limit,
					  cfg->auth_fail_window_ms, cfg->auth_block_ms);
	a->jobs_ok =
		rp__pool_init(&a->jobs, sizeof(struct rp_auth_job), cfg->auth_queue) == 0;
	if (!a->cache || (cfg->auth_fail_limit && !a->thr) || !a->jobs_ok) {
		rp__fwd_auth_free(a);
		return -ENOMEM;
	}
	*out = a;
	return 0;
}

void rp__fwd_auth_free(struct rp_fwd_auth *a)
{
	if (!a)
		return;
	rp__auth_cache_free(a->cache);
	rp__throttle_free(a->thr);
	if (a->jobs_ok)
		rp__pool_destroy(&a->jobs);
	free(a);
}

/* "192.0.2.7" or "2001:db8:1:2::/64", as the throttle counts it. */
static void thr_name(const struct sockaddr *sa, char *out, size_t cap)
{
	uint8_t key[RP_THROTTLE_KEY], a6[16] = {0};
	char ip[INET6_ADDRSTRLEN];

	snprintf(out, cap, "?");
	if (!rp__throttle_key(sa, key))
		return;
	if (key[0] == 4) {
		if (inet_ntop(AF_INET, key + 1, ip, sizeof(ip)))
			snprintf(out, cap, "%s", ip);
		return;
	}
	memcpy(a6, key + 1, 8);
	if (inet_ntop(AF_INET6, a6, ip, sizeof(ip)))
		snprintf(out, cap, "%s/64", ip);
}

/* A wrong pair from @client: counted, and towards its block. */
static void auth_failed(struct rp_fwd_auth *a, const struct sockaddr *client)
{
	struct rp_reactor *r = a->r;
	char name[INET6_ADDRSTRLEN + 4];

	r->stats.auth_failures++;
	if (!client || !rp__throttle_fail(a->thr, client, r->now_ms))
		return;
	r->stats.auth_blocks++;
	thr_name(client, name, sizeof(name));
	rp_warn("reactor %u: forward: %s blocked for %u ms after %u failed logins "
		"within %u ms",
		r->id, name, r->cfg->auth_block_ms, r->cfg->auth_fail_limit,
		r->cfg->auth_fail_window_ms);
}

bool rp__fwd_auth_blocked(struct rp_fwd_auth *a, struct rp_auth_wait *w,
			  const struct sockaddr *client)
{
	uint64_t ms = client ? rp__throttle_blocked(a->thr, client, a->r->now_ms) : 0;

	if (!ms)
		return false;
	a->r->stats.auth_throttled++;
	w->verdict = RP_AUTH_THROTTLED;
	w->retry_after_s = (unsigned)((ms + 999) / 1000);
	return true;
}

/* On a helper thread: 1 valid, 0 not. */
static int job_run(struct rp_helper_job *hj)
{
	struct rp_auth_job *j = rp_container_of(hj, struct rp_auth_job, hj);
	bool ok = rp__users_verify(j->u, j->user, j->ulen, j->pass, j->plen);

	OPENSSL_cleanse(j->pass, sizeof(j->pass));
	return ok;
}

/* The helper's verdict (or -ECANCELED), back on the reactor. */
static void job_done(struct rp_op *op, int res, uint32_t flags)
{
	struct rp_auth_job *j = rp_container_of(op, struct rp_auth_job, done);
	struct rp_fwd_auth *a = j->a;
	struct rp_reactor *r = a->r;
	struct rp_auth_wait *w = j->w;
	enum rp_auth_verdict v = res == 1   ? RP_AUTH_OK
				 : res == 0 ? RP_AUTH_DENIED
					    : RP_AUTH_BUSY;

	if (res >= 0) {
		r->stats.auth_checks++;
		rp__auth_cache_store(a->cache, j->tag, res == 1, r->now_ms);
		if (res == 0)
			auth_failed(a, j->have_client ? (struct sockaddr *)&j->client
						      : NULL);
	} else if (res == -ECANCELED) {
		r->stats.auth_cancelled++;
	}
	OPENSSL_cleanse(j, sizeof(*j));
	rp__pool_put(&a->jobs, j);
	if (!w)
		return;
	w->job = NULL;
	w->verdict = v;
	w->retry_after_s = v == RP_AUTH_BUSY ? 1 : 0;
	w->done(w);
}

enum rp_auth_verdict rp__fwd_auth_check(struct rp_fwd_auth *a, struct rp_auth_wait *w,
					const struct rp_users *u,
					const struct sockaddr *client, const char *user,
					size_t ulen, const char *pass, size_t plen)
{
	struct rp_reactor *r = a->r;
	uint8_t tag[RP_AUTH_TAG_LEN];
	struct rp_auth_job *j;

	w->job = NULL;
	w->retry_after_s = 0;
	if (rp__fwd_auth_blocked(a, w, client))
		return w->verdict;
	if (ulen > AUTH_FIELD_MAX || plen > AUTH_FIELD_MAX) {
		auth_failed(a, client); /* no user has such a name or password */
		return w->verdict = RP_AUTH_DENIED;
	}
	rp__auth_cache_tag(a->cache, u, user, ulen, pass, plen, tag);
	switch (rp__auth_cache_lookup(a->cache, tag, r->now_ms)) {
	case 1:
		r->stats.auth_cache_hits++;
		return w->verdict = RP_AUTH_OK;
	case 0:
		r->stats.auth_cache_hits++;
		auth_failed(a, client);
		return w->verdict = RP_AUTH_DENIED;
	}
	j = rp__pool_get(&a->jobs);
	if (!j)
		goto busy;
	j->hj.run = job_run;
	j->hj.done = &j->done;
	j->done.fn = job_done;
	j->a = a;
	j->u = u;
	if (client) {
		memcpy(&j->client, client,
		       client->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						     : sizeof(struct sockaddr_in));
		j->have_client = true;
	}
	memcpy(j->tag, tag, sizeof(tag));
	j->ulen = (uint16_t)ulen;
	j->plen = (uint16_t)plen;
	memcpy(j->user, user, ulen);
	memcpy(j->pass, pass, plen);
	if (rp__helper_submit(r, &j->hj) < 0) {
		OPENSSL_cleanse(j, sizeof(*j));
		rp__pool_put(&a->jobs, j);
		goto busy;
	}
	j->w = w;
	w->job = j;
	w->verdict = RP_AUTH_NONE;
	return RP_AUTH_PENDING;
busy:
	r->stats.auth_queue_full++;
	w->retry_after_s = 1;
	return w->verdict = RP_AUTH_BUSY;
}

void rp__fwd_auth_cancel(struct rp_auth_wait *w)
{
	struct rp_auth_job *j = w->job;

	if (!j)
		return;
	j->w = NULL;
	rp__helper_cancel(&j->hj);
	w->job = NULL;
}

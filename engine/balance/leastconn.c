// SPDX-License-Identifier: BSD-2-Clause
/*
 * leastconn.c - the load-aware algorithms, both weighing a backend's active
 * connections against its weight (load = active / weight, compared by cross
 * multiplication). "leastconn" takes the least loaded up backend, from a
 * binary heap so a pick costs O(log n) however many backends; among equally
 * loaded ones it takes the one picked longest ago, so an idle cluster is
 * served in turn. "p2c" (power of two choices) samples two distinct up
 * backends with probability proportional to weight (O(1), Walker's alias
 * method) and takes the less loaded, the first on a tie: no global order to
 * maintain, and under equal load it spreads in proportion to weight. Both count
 * connections per reactor: each reactor balances its own share. Slow start
 * weighs in through the weight (weight * ramp), in the load and in p2c's
 * sampling, so a ramping backend looks loaded and is drawn less.
 */
#include <errno.h>
#include <stdlib.h>

#include "balance/balance_int.h"

#define NOT_IN_HEAP UINT32_MAX

/* Whether @x carries less load per unit of weight than @y. */
static inline bool load_less(const struct rp_balancer *b, unsigned x, unsigned y)
{
	/* active < 2^32, weight * ramp < 2^26: no overflow. */
	return (uint64_t)b->be[x].active * rp__balance_weight(b, y) <
	       (uint64_t)b->be[y].active * rp__balance_weight(b, x);
}

/* The least loaded eligible backend by a plain scan (ties: the lowest @seq
 * when given, else the first up): the path of picks with an avoid set, which
 * the heap or the sampling cannot honour cheaply. -1 when none. */
static int scan_least(const struct rp_balancer *b, const struct rp_pick_key *key,
		      const uint64_t *seq)
{
	int best = -1;

	for (unsigned k = 0; k < b->nup; k++) {
		unsigned i = b->up_list[k];

		if (rp__balance_avoided(key, i))
			continue;
		if (best < 0 || load_less(b, i, (unsigned)best) ||
		    (seq && !load_less(b, (unsigned)best, i) && seq[i] < seq[best]))
			best = (int)i;
	}
	return best;
}

/* ---- leastconn ------------------------------------------------------------ */

static bool lc_less(const struct rp_balancer *b, uint32_t x, uint32_t y)
{
	const uint64_t *seq = b->u.lc.seq;

	if (load_less(b, x, y))
		return true;
	if (load_less(b, y, x))
		return false;
	return seq[x] < seq[y] || (seq[x] == seq[y] && x < y);
}

static void heap_set(struct rp_balancer *b, unsigned k, uint32_t i)
{
	b->u.lc.heap[k] = i;
	b->u.lc.pos[i] = k;
}

static void sift_up(struct rp_balancer *b, unsigned k)
{
	uint32_t *heap = b->u.lc.heap;
	uint32_t i = heap[k];

	while (k > 0) {
		unsigned parent = (k - 1) / 2;

		if (!lc_less(b, i, heap[parent]))
			break;
		heap_set(b, k, heap[parent]);
		k = parent;
	}
	heap_set(b, k, i);
}

static void sift_down(struct rp_balancer *b, unsigned k)
{
	uint32_t *heap = b->u.lc.heap;
	uint32_t i = heap[k];
	unsigned size = b->nup;

	for (;;) {
		unsigned c = 2 * k + 1;

		if (c >= size)
			break;
		if (c + 1 < size && lc_less(b, heap[c + 1], heap[c]))
			c++;
		if (!lc_less(b, heap[c], i))
			break;
		heap_set(b, k, heap[c]);
		k = c;
	}
	heap_set(b, k, i);
}

static int lc_init(struct rp_balancer *b, const struct rp_balance_config *cfg)
{
	b->u.lc.heap = calloc(b->n, sizeof(*b->u.lc.heap));
	b->u.lc.pos = calloc(b->n, sizeof(*b->u.lc.pos));
	b->u.lc.seq = calloc(b->n, sizeof(*b->u.lc.seq));
	b->u.lc.clock = 0;
	if (!b->u.lc.heap || !b->u.lc.pos || !b->u.lc.seq) {
		free(b->u.lc.heap);
		free(b->u.lc.pos);
		free(b->u.lc.seq);
		return -ENOMEM;
	}
	return 0;
}

static void lc_rebuild(struct rp_balancer *b)
{
	for (unsigned i = 0; i < b->n; i++)
		b->u.lc.pos[i] = NOT_IN_HEAP;
	for (unsigned k = 0; k < b->nup; k++)
		heap_set(b, k, b->up_list[k]);
	for (unsigned k = b->nup / 2; k-- > 0;)
		sift_down(b, k);
}

static int lc_pick(struct rp_balancer *b, const struct rp_pick_key *key)
{
	int i;

	if (key && key->avoid)
		i = scan_least(b, key, b->u.lc.seq);
	else
		i = (int)b->u.lc.heap[0];
	if (i < 0)
		return -1;
	/* Its load grows and it becomes the most recent pick: it can only
	 * sink. */
	b->u.lc.seq[i] = ++b->u.lc.clock;
	rp__balance_take(b, (unsigned)i);
	sift_down(b, b->u.lc.pos[i]);
	return i;
}

static void lc_release(struct rp_balancer *b, int backend, bool failed)
{
	rp__balance_release_count(b, backend, failed);
	/* A backend marked down stays in the heap until the next rebuild;
	 * keeping its place right keeps the heap valid meanwhile. */
	if (b->u.lc.pos[backend] != NOT_IN_HEAP)
		sift_up(b, b->u.lc.pos[backend]);
}

static void lc_fini(struct rp_balancer *b)
{
	free(b->u.lc.heap);
	free(b->u.lc.pos);
	free(b->u.lc.seq);
}

const struct rp_balancer_ops rp__balance_leastconn = {
	.name = "leastconn",
	.init = lc_init,
	.rebuild = lc_rebuild,
	.pick = lc_pick,
	.release = lc_release,
	.fini = lc_fini,
	.ramp_rebuilds = true, /* the heap is ordered by load per weight */
};

/* ---- p2c ------------------------------------------------------------------ */

static void p2c_fini(struct rp_balancer *b)
{
	free(b->u.p2c.keep);
	free(b->u.p2c.alias);
	free(b->u.p2c.scaled);
	free(b->u.p2c.work);
}

static int p2c_init(struct rp_balancer *b, const struct rp_balance_config *cfg)
{
	b->u.p2c.keep = calloc(b->n, sizeof(*b->u.p2c.keep));
	b->u.p2c.alias = calloc(b->n, sizeof(*b->u.p2c.alias));
	b->u.p2c.scaled = calloc(b->n, sizeof(*b->u.p2c.scaled));
	b->u.p2c.work = calloc(b->n, sizeof(*b->u.p2c.work));
	if (!b->u.p2c.keep || !b->u.p2c.alias || !b->u.p2c.scaled || !b->u.p2c.work) {
		p2c_fini(b);
		return -ENOMEM;
	}
	return 0;
}

/*
 * Vose's construction of the alias table, in integers: slot k has capacity W
 * (the total up weight, weights times ramps) and starts with weight_k * nup.
 * A slot short of W is topped up from one with a surplus, which becomes its
 * alias. W < 2^42 and every value stays below W * nup < 2^58, so nothing
 * overflows or rounds but keep[], by under 2^-32.
 */
static void p2c_rebuild(struct rp_balancer *b)
{
	uint32_t *keep = b->u.p2c.keep, *alias = b->u.p2c.alias, *work = b->u.p2c.work;
	uint64_t *scaled = b->u.p2c.scaled;
	const unsigned n = b->nup;
	unsigned nsmall = 0, large = n; /* work[0, nsmall) small, work[large, n) large */
	uint64_t total = 0;

	for (unsigned k = 0; k < n; k++)
		total += rp__balance_weight(b, b->up_list[k]);
	for (unsigned k = 0; k < n; k++) {
		scaled[k] = rp__balance_weight(b, b->up_list[k]) * n;
		if (scaled[k] < total)
			work[nsmall++] = k;
		else
			work[--large] = k;
	}
	while (nsmall && large < n) {
		uint32_t s = work[--nsmall], l = work[large];

		keep[s] = (uint32_t)(((unsigned __int128)scaled[s] << 32) / total);
		alias[s] = l;
		scaled[l] -= total - scaled[s];
		if (scaled[l] < total) {
			large++;
			work[nsmall++] = l;
		}
	}
	/* What is left holds exactly W (the sum of the unfinished slots is W
	 * times their count throughout), so it keeps itself. */
	while (nsmall) {
		uint32_t k = work[--nsmall];

		keep[k] = UINT32_MAX;
		alias[k] = k;
	}
	for (; large < n; large++) {
		keep[work[large]] = UINT32_MAX;
		alias[work[large]] = work[large];
	}
}

/* An up backend drawn with probability weight / total up weight, from one
 * random number: its high bits choose the slot, its low 32 the coin. */
static unsigned p2c_sample(struct rp_balancer *b)
{
	uint64_t r = rp__balance_rand(b);
	unsigned k = (unsigned)rp__balance_scale(r, b->nup);

	if ((uint32_t)r >= b->u.p2c.keep[k])
		k = b->u.p2c.alias[k];
	return b->up_list[k];
}

static int p2c_pick(struct rp_balancer *b, const struct rp_pick_key *key)
{
	unsigned x, y;
	int i;

	if (key && key->avoid) {
		i = scan_least(b, key, NULL);
		return i < 0 ? -1 : rp__balance_take(b, (unsigned)i);
	}
	x = p2c_sample(b);
	if (b->nup == 1)
		return rp__balance_take(b, x);
	/* Distinct by rejection; a backend holding nearly all the weight may
	 * come up again and again, and then it is the sensible pick anyway. */
	y = x;
	for (int tries = 0; tries < 8 && y == x; tries++)
		y = p2c_sample(b);
	return rp__balance_take(b, load_less(b, y, x) ? y : x);
}

const struct rp_balancer_ops rp__balance_p2c = {
	.name = "p2c",
	.init = p2c_init,
	.rebuild = p2c_rebuild,
	.pick = p2c_pick,
	.release = rp__balance_release_count,
	.fini = p2c_fini,
	.ramp_rebuilds = true, /* the alias table holds the weights */
};

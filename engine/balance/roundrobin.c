// SPDX-License-Identifier: BSD-2-Clause
/*
 * roundrobin.c - "roundrobin": each up backend in turn, weights ignored, exact
 * (over nup picks every up backend gets one); and "wrr": nginx's smooth
 * weighted round robin, which over sum(weights) picks gives each backend
 * exactly its weight and interleaves them (5,1,1 gives a a b a c a a, never
 * a run of five). wrr costs one pass over the up backends per pick.
 * Slow start: wrr shares by weight * ramp, read at each pick; roundrobin
 * skips a ramping backend with probability 1 - ramp (taking it anyway when
 * nothing else is eligible), so a backend at 10% of its ramp gets a tenth of
 * its turns.
 */
#include <errno.h>
#include <stdlib.h>

#include "balance/balance_int.h"

static int rr_init(struct rp_balancer *b, const struct rp_balance_config *cfg)
{
	b->u.rr.next = 0;
	return 0;
}

static void rr_rebuild(struct rp_balancer *b)
{
	/* The cursor indexes up_list; keep it in range as the list shrinks. */
	if (b->nup)
		b->u.rr.next %= b->nup;
}

/* Whether a ramping backend sits this turn out. */
static bool rr_ramp_skips(struct rp_balancer *b, unsigned i)
{
	unsigned ramp = b->be[i].ramp;

	return ramp < RP_BALANCE_RAMP_ONE &&
	       rp__balance_scale(rp__balance_rand(b), RP_BALANCE_RAMP_ONE) >= ramp;
}

static int rr_pick(struct rp_balancer *b, const struct rp_pick_key *key)
{
	unsigned k = b->u.rr.next, skipped_next = 0;
	int skipped = -1;

	for (unsigned tries = 0; tries < b->nup; tries++) {
		unsigned i = b->up_list[k];

		if (++k == b->nup)
			k = 0;
		if (rp__balance_avoided(key, i))
			continue;
		if (rr_ramp_skips(b, i)) {
			if (skipped < 0) {
				skipped = (int)i;
				skipped_next = k;
			}
			continue;
		}
		b->u.rr.next = k;
		return rp__balance_take(b, i);
	}
	if (skipped < 0)
		return -1;
	b->u.rr.next = skipped_next;
	return rp__balance_take(b, (unsigned)skipped);
}

static void rr_fini(struct rp_balancer *b)
{
}

const struct rp_balancer_ops rp__balance_roundrobin = {
	.name = "roundrobin",
	.init = rr_init,
	.rebuild = rr_rebuild,
	.pick = rr_pick,
	.release = rp__balance_release_count,
	.fini = rr_fini,
};

static int wrr_init(struct rp_balancer *b, const struct rp_balance_config *cfg)
{
	b->u.wrr.current = calloc(b->n, sizeof(*b->u.wrr.current));
	return b->u.wrr.current ? 0 : -ENOMEM;
}

static void wrr_rebuild(struct rp_balancer *b)
{
	/* Start the interleaving afresh over the new set: a backend back from
	 * down must not bring a stale credit that makes it win a burst. */
	for (unsigned i = 0; i < b->n; i++)
		b->u.wrr.current[i] = 0;
}

/*
 * Every eligible backend gains its weight; the one with the most credit wins
 * and pays back the total. Credits always sum to zero, so no backend gets far
 * ahead of its share: that is what makes the sequence smooth. Ties go to the
 * lower index, as in nginx. Avoided backends sit the round out (nginx's
 * "tried" peers).
 */
static int wrr_pick(struct rp_balancer *b, const struct rp_pick_key *key)
{
	int64_t *cur = b->u.wrr.current;
	int64_t total = 0;
	int best = -1;

	for (unsigned k = 0; k < b->nup; k++) {
		unsigned i = b->up_list[k];

		if (rp__balance_avoided(key, i))
			continue;
		cur[i] += (int64_t)rp__balance_weight(b, i);
		total += (int64_t)rp__balance_weight(b, i);
		if (best < 0 || cur[i] > cur[best])
			best = (int)i;
	}
	if (best < 0)
		return -1;
	cur[best] -= total;
	return rp__balance_take(b, (unsigned)best);
}

static void wrr_fini(struct rp_balancer *b)
{
	free(b->u.wrr.current);
}

const struct rp_balancer_ops rp__balance_wrr = {
	.name = "wrr",
	.init = wrr_init,
	.rebuild = wrr_rebuild,
	.pick = wrr_pick,
	.release = rp__balance_release_count,
	.fini = wrr_fini,
};

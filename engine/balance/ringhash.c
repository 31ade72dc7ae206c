// SPDX-License-Identifier: BSD-2-Clause
/*
 * ringhash.c - "ringhash": consistent hashing on a ring (Karger et al.,
 * ketama). Backend i owns weight_i * vnodes points, point r at
 * rp__hash_u64_pair(id_i, r); a key goes to the owner of the first point at
 * or after its hash, wrapping round. The ring holds every backend, up or not,
 * and never changes after init; live[] says, for each point, which point
 * serves it given the current up set (itself, or the next up one clockwise).
 * So a backend going down moves exactly its own keys, each to the next
 * backend on the ring, and coming back up moves them back; the keys of the
 * others never move. Because points hang off backend ids and replica
 * numbers, raising a weight in the config only adds points.
 */
#include <errno.h>
#include <stdlib.h>

#include "balance/balance_int.h"

struct point {
	uint64_t hash;
	uint32_t owner;
};

static int cmp_point(const void *a, const void *b)
{
	const struct point *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->owner < y->owner ? -1 : x->owner > y->owner;
}

/* Points per backend: weight * vnodes, scaled down (at least one each) when
 * the ring would exceed RP_BALANCE_RING_MAX_POINTS. */
static uint64_t points_of(const struct rp_balance_config *cfg, unsigned i, uint64_t total)
{
	uint64_t want = (uint64_t)cfg->backends[i].weight * cfg->ring_vnodes;
	uint64_t k;

	if (total <= RP_BALANCE_RING_MAX_POINTS)
		return want;
	k = want * RP_BALANCE_RING_MAX_POINTS / total;
	return k ? k : 1;
}

static int ring_init(struct rp_balancer *b, const struct rp_balance_config *in)
{
	struct rp_balance_config cfg = *in;
	uint64_t total = 0, npoints = 0;
	struct point *pts;
	unsigned p = 0;
	int ret;

	if (!cfg.ring_vnodes)
		cfg.ring_vnodes = RP_BALANCE_RING_VNODES;
	if (cfg.ring_vnodes > RP_BALANCE_RING_MAX_POINTS)
		return -EINVAL;
	ret = rp__balance_ids_distinct(&cfg);
	if (ret < 0)
		return ret;
	/* At most 2^16 backends * 2^16 weight * 2^20 vnodes: no overflow. */
	for (unsigned i = 0; i < cfg.nbackends; i++)
		total += (uint64_t)cfg.backends[i].weight * cfg.ring_vnodes;
	for (unsigned i = 0; i < cfg.nbackends; i++)
		npoints += points_of(&cfg, i, total);

	pts = malloc(npoints * sizeof(*pts));
	b->u.ring.hash = malloc(npoints * sizeof(*b->u.ring.hash));
	b->u.ring.owner = malloc(npoints * sizeof(*b->u.ring.owner));
	b->u.ring.live = malloc(npoints * sizeof(*b->u.ring.live));
	if (!pts || !b->u.ring.hash || !b->u.ring.owner || !b->u.ring.live) {
		ret = -ENOMEM;
		goto fail_free;
	}
	for (unsigned i = 0; i < cfg.nbackends; i++) {
		uint64_t k = points_of(&cfg, i, total);

		for (uint64_t r = 0; r < k; r++, p++) {
			pts[p].hash = rp__hash_u64_pair(cfg.backends[i].id, r);
			pts[p].owner = i;
		}
	}
	/* Equal hashes (2^-64 per pair) are ordered by owner, so every
	 * reactor builds the same ring. */
	qsort(pts, npoints, sizeof(*pts), cmp_point);
	for (p = 0; p < npoints; p++) {
		b->u.ring.hash[p] = pts[p].hash;
		b->u.ring.owner[p] = (uint16_t)pts[p].owner;
	}
	b->u.ring.npoints = (unsigned)npoints;
	free(pts);
	return 0;

fail_free:
	free(pts);
	free(b->u.ring.hash);
	free(b->u.ring.owner);
	free(b->u.ring.live);
	return ret;
}

static void ring_rebuild(struct rp_balancer *b)
{
	const unsigned np = b->u.ring.npoints;
	uint32_t next = UINT32_MAX;

	if (b->nup == 0)
		return;
	/* Walk the ring backwards twice, so that the points after the last up
	 * one wrap round to the first up one. */
	for (unsigned k = 2 * np; k-- > 0;) {
		unsigned p = k < np ? k : k - np;

		if (b->be[b->u.ring.owner[p]].up)
			next = p;
		if (k < np)
			b->u.ring.live[p] = next;
	}
}

static int ring_pick(struct rp_balancer *b, const struct rp_pick_key *key)
{
	const uint64_t *hash = b->u.ring.hash, *base = hash;
	const unsigned np = b->u.ring.npoints;
	uint64_t h = key ? key->hash : 0;
	unsigned len = np, lo, p;

	/* The first point at or after h, by a binary search without branches
	 * on the data (a conditional move per step): random keys would
	 * mispredict half of the branches of the textbook loop. */
	while (len > 1) {
		unsigned half = len / 2;

		base += (size_t)(base[half - 1] < h) * half;
		len -= half;
	}
	lo = (unsigned)(base - hash) + (*base < h);
	p = b->u.ring.live[lo == np ? 0 : lo];
	if (!rp__balance_avoided(key, b->u.ring.owner[p]))
		return rp__balance_take(b, b->u.ring.owner[p]);

	/* Retrying elsewhere: on along the up points to the next backend
	 * that is not avoided. */
	if (!rp__balance_any_eligible(b, key))
		return -1;
	for (;;) {
		p = b->u.ring.live[p + 1 == np ? 0 : p + 1];
		if (!rp__balance_avoided(key, b->u.ring.owner[p]))
			return rp__balance_take(b, b->u.ring.owner[p]);
	}
}

static void ring_fini(struct rp_balancer *b)
{
	free(b->u.ring.hash);
	free(b->u.ring.owner);
	free(b->u.ring.live);
}

const struct rp_balancer_ops rp__balance_ringhash = {
	.name = "ringhash",
	.init = ring_init,
	.rebuild = ring_rebuild,
	.pick = ring_pick,
	.release = rp__balance_release_count,
	.fini = ring_fini,
};

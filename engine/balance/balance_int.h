/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * balance_int.h - what the algorithms of engine/balance/ share and nobody
 * else needs: eligibility under a pick key, active counting, the PRNG, and
 * the ops tables themselves (others find them by name).
 */
#ifndef RP_BALANCE_INT_H
#define RP_BALANCE_INT_H

#include "balance/balance.h"

extern const struct rp_balancer_ops rp__balance_roundrobin;
extern const struct rp_balancer_ops rp__balance_wrr;
extern const struct rp_balancer_ops rp__balance_leastconn;
extern const struct rp_balancer_ops rp__balance_p2c;
extern const struct rp_balancer_ops rp__balance_ringhash;
extern const struct rp_balancer_ops rp__balance_maglev;

static inline bool rp__balance_avoided(const struct rp_pick_key *key, unsigned i)
{
	return key && key->avoid && ((key->avoid[i / 64] >> (i % 64)) & 1);
}

/* Up and not avoided by @key. */
static inline bool rp__balance_eligible(const struct rp_balancer *b, unsigned i,
					const struct rp_pick_key *key)
{
	return b->be[i].up && !rp__balance_avoided(key, i);
}

/* Whether any up backend is not avoided by @key: lets a hash algorithm's
 * walk round its table stop early instead of going all the way round. */
static inline bool rp__balance_any_eligible(const struct rp_balancer *b,
					    const struct rp_pick_key *key)
{
	for (unsigned k = 0; k < b->nup; k++)
		if (!rp__balance_avoided(key, b->up_list[k]))
			return true;
	return false;
}

/* @i's weight times its ramp (slow start): what the weighted algorithms
 * share by. At most 2^16 * 2^10. */
static inline uint64_t rp__balance_weight(const struct rp_balancer *b, unsigned i)
{
	return (uint64_t)b->be[i].weight * b->be[i].ramp;
}

/* Counts one pick of @i and returns it: the last step of every ops->pick. */
static inline int rp__balance_take(struct rp_balancer *b, unsigned i)
{
	b->be[i].active++;
	return (int)i;
}

/* The release of every algorithm that keeps no per-connection state. */
void rp__balance_release_count(struct rp_balancer *b, int backend, bool failed);

/* The next value of the balancer's splitmix64 generator. */
static inline uint64_t rp__balance_rand(struct rp_balancer *b)
{
	uint64_t z = (b->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Maps a uniform 64-bit @x onto [0, @range) by a multiply-high (no division;
 * Lemire's "fastrange"). */
static inline uint64_t rp__balance_scale(uint64_t x, uint64_t range)
{
	return (uint64_t)(((unsigned __int128)x * range) >> 64);
}

/* 0 when the ids of @cfg's backends are pairwise distinct, -EINVAL when not,
 * -ENOMEM. */
int rp__balance_ids_distinct(const struct rp_balance_config *cfg);

#endif

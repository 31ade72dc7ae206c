// SPDX-License-Identifier: BSD-2-Clause
/*
 * maglev.c - "maglev": Google's Maglev consistent hashing (Eisenbud et al.,
 * NSDI 2016, section 3.4). A lookup table of prime size M maps a key's hash
 * to a backend in one memory access. Each backend has a permutation of the
 * slots, offset + j * skip (mod M), both from its id; the up backends take
 * turns claiming their next free slot until the table is full. Weights
 * change how often a backend gets a turn: each round it earns its weight in
 * credit and claims a slot per max-weight of credit, so slots come out
 * proportional to weight (and exactly M/N each, +-1, for equal weights).
 * Turns go in the order of backend ids, not config positions, so reordering
 * the config changes nothing. On an up/down change the table is filled again
 * over the new up set, in place: permutations do not depend on who else is
 * up, so most slots keep their owner (about 1/N of keys move when one of N
 * backends goes).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "balance/balance_int.h"

#define EMPTY 0xffffu /* backend indexes stop at RP_BALANCE_MAX_BACKENDS - 1 */

static bool is_prime(unsigned m)
{
	if (m < 2)
		return false;
	for (unsigned d = 2; (uint64_t)d * d <= m; d++)
		if (m % d == 0)
			return false;
	return true;
}

static void maglev_free(struct rp_balancer *b)
{
	free(b->u.maglev.table);
	free(b->u.maglev.offset);
	free(b->u.maglev.skip);
	free(b->u.maglev.cursor);
	free(b->u.maglev.credit);
	free(b->u.maglev.order);
	free(b->u.maglev.turns);
}

struct by_id {
	uint64_t id;
	uint32_t backend;
};

static int cmp_by_id(const void *a, const void *b)
{
	const struct by_id *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* Fills order[] with the backends sorted by id; -EINVAL on a duplicate id,
 * which would make two backends fight over one permutation. */
static int sort_by_id(struct rp_balancer *b, const struct rp_balance_config *cfg)
{
	struct by_id *v = malloc(b->n * sizeof(*v));
	int ret = 0;

	if (!v)
		return -ENOMEM;
	for (unsigned i = 0; i < b->n; i++) {
		v[i].id = cfg->backends[i].id;
		v[i].backend = i;
	}
	qsort(v, b->n, sizeof(*v), cmp_by_id);
	for (unsigned k = 0; k < b->n; k++) {
		if (k && v[k].id == v[k - 1].id)
			ret = -EINVAL;
		b->u.maglev.order[k] = v[k].backend;
	}
	free(v);
	return ret;
}

static int maglev_init(struct rp_balancer *b, const struct rp_balance_config *cfg)
{
	unsigned m = cfg->maglev_size ? cfg->maglev_size : RP_BALANCE_MAGLEV_SIZE;
	int ret;

	if (m <= cfg->nbackends || m > RP_BALANCE_MAGLEV_MAX_SIZE || !is_prime(m))
		return -EINVAL;
	b->u.maglev.size = m;
	b->u.maglev.table = malloc(m * sizeof(*b->u.maglev.table));
	b->u.maglev.offset = malloc(b->n * sizeof(*b->u.maglev.offset));
	b->u.maglev.skip = malloc(b->n * sizeof(*b->u.maglev.skip));
	b->u.maglev.cursor = malloc(b->n * sizeof(*b->u.maglev.cursor));
	b->u.maglev.credit = malloc(b->n * sizeof(*b->u.maglev.credit));
	b->u.maglev.order = malloc(b->n * sizeof(*b->u.maglev.order));
	b->u.maglev.turns = malloc(b->n * sizeof(*b->u.maglev.turns));
	if (!b->u.maglev.table || !b->u.maglev.offset || !b->u.maglev.skip ||
	    !b->u.maglev.cursor || !b->u.maglev.credit || !b->u.maglev.order ||
	    !b->u.maglev.turns) {
		ret = -ENOMEM;
		goto fail_free;
	}
	ret = sort_by_id(b, cfg);
	if (ret < 0)
		goto fail_free;
	/* M prime and 1 <= skip < M: every permutation visits every slot. */
	for (unsigned i = 0; i < b->n; i++) {
		uint64_t id = cfg->backends[i].id;

		b->u.maglev.offset[i] = (uint32_t)(rp__hash_u64_pair(id, 0) % m);
		b->u.maglev.skip[i] = (uint32_t)(rp__hash_u64_pair(id, 1) % (m - 1) + 1);
	}
	return 0;

fail_free:
	maglev_free(b);
	return ret;
}

static void maglev_rebuild(struct rp_balancer *b)
{
	uint16_t *table = b->u.maglev.table;
	uint32_t *cursor = b->u.maglev.cursor, *credit = b->u.maglev.credit;
	uint32_t *turns = b->u.maglev.turns;
	const uint32_t *skip = b->u.maglev.skip;
	const unsigned m = b->u.maglev.size;
	unsigned maxw = 0, filled = 0, nturns = 0;

	memset(table, 0xff, m * sizeof(*table));
	if (b->nup == 0)
		return;
	for (unsigned k = 0; k < b->n; k++) {
		unsigned i = b->u.maglev.order[k];

		if (!b->be[i].up)
			continue;
		turns[nturns++] = i;
		cursor[i] = b->u.maglev.offset[i];
		credit[i] = 0;
		if (b->be[i].weight > maxw)
			maxw = b->be[i].weight;
	}
	/* Terminates: the heaviest backend claims a slot every round, and a
	 * permutation reaches every free slot. */
	for (;;) {
		for (unsigned k = 0; k < nturns; k++) {
			unsigned i = turns[k];
			uint32_t c;

			credit[i] += b->be[i].weight;
			if (credit[i] < maxw)
				continue;
			credit[i] -= maxw;
			for (c = cursor[i]; table[c] != EMPTY;)
				c = c + skip[i] >= m ? c + skip[i] - m : c + skip[i];
			table[c] = (uint16_t)i;
			cursor[i] = c + skip[i] >= m ? c + skip[i] - m : c + skip[i];
			if (++filled == m)
				return;
		}
	}
}

static int maglev_pick(struct rp_balancer *b, const struct rp_pick_key *key)
{
	const uint16_t *table = b->u.maglev.table;
	const unsigned m = b->u.maglev.size;
	unsigned s = (unsigned)rp__balance_scale(key ? key->hash : 0, m);

	if (!rp__balance_avoided(key, table[s]))
		return rp__balance_take(b, table[s]);

	/* Retrying elsewhere: the next slots, as Maglev's fallback. A backend
	 * with a tiny weight may own no slot at all, hence the last resort. */
	if (!rp__balance_any_eligible(b, key))
		return -1;
	for (unsigned step = 1; step < m; step++) {
		unsigned i = table[s + step < m ? s + step : s + step - m];

		if (!rp__balance_avoided(key, i))
			return rp__balance_take(b, i);
	}
	for (unsigned k = 0; k < b->nup; k++)
		if (!rp__balance_avoided(key, b->up_list[k]))
			return rp__balance_take(b, b->up_list[k]);
	return -1;
}

static void maglev_fini(struct rp_balancer *b)
{
	maglev_free(b);
}

const struct rp_balancer_ops rp__balance_maglev = {
	.name = "maglev",
	.init = maglev_init,
	.rebuild = maglev_rebuild,
	.pick = maglev_pick,
	.release = rp__balance_release_count,
	.fini = maglev_fini,
};

// SPDX-License-Identifier: BSD-2-Clause
/*
 * balance.c - what every load-balancing algorithm shares: looking one up by
 * name, validating the config, the per-backend state (weight, up, active
 * count), the list of up backends, and the lazy rebuild that runs the
 * algorithm's tables again once after any number of up/down changes. The
 * algorithms live in one file each beside this one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "balance/balance_int.h"
#include "core/core.h"

static const struct rp_balancer_ops *const algorithms[] = {
	&rp__balance_roundrobin, &rp__balance_wrr,	&rp__balance_leastconn,
	&rp__balance_p2c,	 &rp__balance_ringhash, &rp__balance_maglev,
};

const struct rp_balancer_ops *rp__balance_ops_find(const char *name)
{
	for (size_t i = 0; i < RP_ARRAY_SIZE(algorithms); i++)
		if (!strcmp(algorithms[i]->name, name))
			return algorithms[i];
	return NULL;
}

static int config_check(const struct rp_balance_config *cfg)
{
	if (!cfg->ops || !cfg->backends || cfg->nbackends == 0 ||
	    cfg->nbackends > RP_BALANCE_MAX_BACKENDS)
		return -EINVAL;
	for (unsigned i = 0; i < cfg->nbackends; i++)
		if (cfg->backends[i].weight == 0 ||
		    cfg->backends[i].weight > RP_BALANCE_MAX_WEIGHT)
			return -EINVAL;
	return 0;
}

int rp__balance_init(struct rp_balancer *b, const struct rp_balance_config *cfg,
		     uint64_t seed)
{
	int ret;

	memset(b, 0, sizeof(*b));
	ret = config_check(cfg);
	if (ret < 0)
		return ret;
	b->ops = cfg->ops;
	b->n = cfg->nbackends;
	b->rng = seed;
	b->be = calloc(b->n, sizeof(*b->be));
	b->up_list = calloc(b->n, sizeof(*b->up_list));
	if (!b->be || !b->up_list) {
		ret = -ENOMEM;
		goto fail_free_common;
	}
	for (unsigned i = 0; i < b->n; i++) {
		b->be[i].weight = cfg->backends[i].weight;
		b->be[i].ramp = RP_BALANCE_RAMP_ONE;
		b->be[i].up = true;
	}
	ret = b->ops->init(b, cfg);
	if (ret < 0)
		goto fail_free_common;
	/* Build now: reactors initialise before they accept, so the first
	 * client does not pay for it. */
	b->dirty = true;
	rp__balance_refresh(b);
	return 0;

fail_free_common:
	free(b->up_list);
	free(b->be);
	memset(b, 0, sizeof(*b));
	return ret;
}

void rp__balance_fini(struct rp_balancer *b)
{
	if (!b->ops)
		return;
	b->ops->fini(b);
	free(b->up_list);
	free(b->be);
	memset(b, 0, sizeof(*b));
}

void rp__balance_refresh(struct rp_balancer *b)
{
	unsigned nup = 0;

	if (!b->dirty)
		return;
	for (unsigned i = 0; i < b->n; i++)
		if (b->be[i].up)
			b->up_list[nup++] = i;
	b->nup = nup;
	b->dirty = false;
	b->ops->rebuild(b);
}

int rp__balance_pick(struct rp_balancer *b, const struct rp_pick_key *key)
{
	if (rp_unlikely(b->dirty))
		rp__balance_refresh(b);
	if (rp_unlikely(b->nup == 0))
		return -1;
	return b->ops->pick(b, key);
}

void rp__balance_release(struct rp_balancer *b, int backend, bool failed)
{
	RP_BUG_ON(backend < 0 || (unsigned)backend >= b->n);
	b->ops->release(b, backend, failed);
}

void rp__balance_release_count(struct rp_balancer *b, int backend, bool failed)
{
	/* An unbalanced release is the caller's bug; wrapping to UINT_MAX
	 * would starve the backend under leastconn and p2c for good. */
	if (b->be[backend].active)
		b->be[backend].active--;
}

void rp__balance_set_up(struct rp_balancer *b, int backend, bool up)
{
	RP_BUG_ON(backend < 0 || (unsigned)backend >= b->n);
	if (b->be[backend].up == up)
		return;
	b->be[backend].up = up;
	b->dirty = true;
}

void rp__balance_set_ramp(struct rp_balancer *b, int backend, unsigned ramp)
{
	RP_BUG_ON(backend < 0 || (unsigned)backend >= b->n);
	if (ramp < 1)
		ramp = 1;
	if (ramp > RP_BALANCE_RAMP_ONE)
		ramp = RP_BALANCE_RAMP_ONE;
	if (b->be[backend].ramp == ramp)
		return;
	b->be[backend].ramp = ramp;
	if (b->ops->ramp_rebuilds)
		b->dirty = true;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int rp__balance_ids_distinct(const struct rp_balance_config *cfg)
{
	uint64_t *ids = malloc(cfg->nbackends * sizeof(*ids));
	int ret = 0;

	if (!ids)
		return -ENOMEM;
	for (unsigned i = 0; i < cfg->nbackends; i++)
		ids[i] = cfg->backends[i].id;
	qsort(ids, cfg->nbackends, sizeof(*ids), cmp_u64);
	for (unsigned i = 1; i < cfg->nbackends; i++)
		if (ids[i] == ids[i - 1])
			ret = -EINVAL;
	free(ids);
	return ret;
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * cluster.c - per-reactor cluster state: balancer and backend health. A
 * backend is offered to the balancer when neither the passive view (a
 * failure streak of cfg->fall, then a cool-down) nor the active checks hold
 * it down.
 */
#include <errno.h>
#include <string.h>

#include "reverse/cluster.h"

static void backend_update(struct rp_backend *be)
{
	rp__balance_set_up(&be->cl->lb, (int)be->index, !be->down && !be->check_down);
}

static void backend_cooled(struct rp_timer *t, uint64_t now)
{
	struct rp_backend *be = rp_container_of(t, struct rp_backend, cooldown);

	/* Eligible again; the next failure streak is counted afresh. */
	be->down = false;
	be->failures = 0;
	backend_update(be);
}

void rp__backend_failed(struct rp_cluster *cl, int b, const char *what)
{
	const struct rp_cluster_config *cfg = cl->cfg;
	struct rp_reactor *r = cl->r;
	struct rp_backend *be;

	if (b < 0)
		return; /* not a cluster backend (a forward proxy's origin) */
	be = &cl->be[b];
	if (++be->failures >= cfg->fall && !be->down) {
		be->down = true;
		backend_update(be);
		rp__timer_arm(&r->wheel, &be->cooldown, r->now_ms + cfg->cooldown_ms);
		rp_warn("reactor %u: cluster %s: backend %s down for %u ms after %u "
			"%s in a row",
			r->id, cfg->name, be->addr, cfg->cooldown_ms, be->failures, what);
	}
}

void rp__backend_ok(struct rp_cluster *cl, int b)
{
	if (b >= 0)
		cl->be[b].failures = 0;
}

void rp__backend_set_checked(struct rp_cluster *cl, int b, bool up)
{
	struct rp_backend *be = &cl->be[b];

	if (be->check_down == !up)
		return;
	be->check_down = !up;
	if (up) {
		/* The checks vouch for it: forget the passive streak too. */
		be->failures = 0;
		be->down = false;
		rp__timer_cancel(&cl->r->wheel, &be->cooldown);
	}
	backend_update(be);
}

bool rp__cluster_has_up(const struct rp_cluster *cl)
{
	for (unsigned i = 0; i < cl->cfg->nbackends; i++)
		if (!cl->be[i].down && !cl->be[i].check_down)
			return true;
	return false;
}

int rp__cluster_init(struct rp_cluster *cl, struct rp_reactor *r,
		     const struct rp_cluster_config *cfg)
{
	struct rp_balance_backend bb[RP_MAX_BACKENDS];
	struct rp_balance_config bc = {
		.ops = rp__balance_ops_find(cfg->balance),
		.nbackends = cfg->nbackends,
		.backends = bb,
	};
	int ret;

	if (!bc.ops)
		return -EINVAL;
	cl->r = r;
	cl->cfg = cfg;
	for (unsigned i = 0; i < cfg->nbackends; i++) {
		struct rp_backend *be = &cl->be[i];

		/* Identity by address: reordering the backends keeps clients
		 * put. */
		rp__addr_format(&cfg->backends[i], be->addr, sizeof(be->addr));
		bb[i].id = rp__hash_bytes(be->addr, strlen(be->addr));
		bb[i].weight = cfg->weights[i] ? cfg->weights[i] : 1;
		be->cl = cl;
		be->index = i;
		be->cooldown.fn = backend_cooled;
	}
	cl->hash_source =
		!strcmp(cfg->balance, "ringhash") || !strcmp(cfg->balance, "maglev");
	/* The reactor id seeds p2c's sampling; nothing hash-based depends
	 * on it. */
	ret = rp__balance_init(&cl->lb, &bc, r->id);
	if (ret < 0)
		return ret;
	cl->lb_ok = true;
	return 0;
}

void rp__cluster_fini(struct rp_cluster *cl)
{
	if (!cl->lb_ok)
		return;
	for (unsigned i = 0; i < cl->cfg->nbackends; i++)
		rp__timer_cancel(&cl->r->wheel, &cl->be[i].cooldown);
	rp__balance_fini(&cl->lb);
	cl->lb_ok = false;
}

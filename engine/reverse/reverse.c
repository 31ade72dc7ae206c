// SPDX-License-Identifier: BSD-2-Clause
/*
 * reverse.c - the reverse-proxy service: the clusters of one reactor and the
 * dispatch of accepted connections to the L4 or L7 half by listener mode.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "forward/forward.h"
#include "reverse/health.h"
#include "reverse/reverse.h"

static const struct rp_reverse_half *half_of(enum rp_listener_mode mode)
{
	return mode == RP_MODE_HTTP	 ? &rp__l7_half
	       : mode == RP_MODE_FORWARD ? &rp__forward_half
					 : &rp__l4_half;
}

static void **state_of(struct rp_reverse *rv, enum rp_listener_mode mode)
{
	return mode == RP_MODE_HTTP	 ? &rv->l7
	       : mode == RP_MODE_FORWARD ? &rv->fwd
					 : &rv->l4;
}

static void reverse_fini(struct rp_reactor *r, void *state)
{
	struct rp_reverse *rv = state;

	rp__tls_front_fini(rv->tls);
	if (rv->fwd)
		rp__forward_half.fini(rv->fwd);
	if (rv->l7)
		rp__l7_half.fini(rv->l7);
	if (rv->l4)
		rp__l4_half.fini(rv->l4);
	for (unsigned k = 0; k < rv->ncl; k++) {
		if (rv->checks[k])
			rp__health_free(rv->checks[k]);
		rp__cluster_fini(&rv->cl[k]);
	}
	free(rv);
}

static int reverse_init(struct rp_reactor *r, void **state)
{
	const struct rp_config *cfg = r->cfg;
	struct rp_reverse *rv;
	int ret;

	rv = calloc(1, sizeof(*rv) + cfg->nclusters * sizeof(rv->cl[0]));
	if (!rv)
		return -ENOMEM;
	rv->r = r;
	rv->ncl = cfg->nclusters;
	for (unsigned k = 0; k < cfg->nclusters; k++) {
		ret = rp__cluster_init(&rv->cl[k], r, &cfg->clusters[k]);
		if (ret < 0)
			goto fail;
	}
	for (unsigned i = 0; i < cfg->nlisteners; i++) {
		enum rp_listener_mode mode = cfg->listeners[i].mode;
		void **st = state_of(rv, mode);

		if (*st)
			continue;
		ret = half_of(mode)->init(rv, st);
		if (ret < 0)
			goto fail;
	}
	for (unsigned i = 0; i < cfg->nlisteners && !rv->tls; i++) {
		if (!cfg->listeners[i].tls.enabled)
			continue;
		ret = rp__tls_front_init(rv, &rv->tls);
		if (ret < 0)
			goto fail;
	}
	/* Absolute-form requests on forward listeners are served by the HTTP
	 * half. */
	if (rv->fwd && !rv->l7) {
		ret = rp__l7_half.init(rv, &rv->l7);
		if (ret < 0)
			goto fail;
	}
	/* Each cluster's checks run on one reactor only. */
	for (unsigned k = 0; k < cfg->nclusters; k++) {
		if (cfg->clusters[k].health.type == RP_CHECK_NONE ||
		    k % rp__engine_nreactors(r->eng) != r->id)
			continue;
		ret = rp__health_start(rv, k, &rv->checks[k]);
		if (ret < 0)
			goto fail;
	}
	*state = rv;
	return 0;
fail:
	reverse_fini(r, rv);
	return ret;
}

static void checks_stop(struct rp_reverse *rv)
{
	for (unsigned k = 0; k < rv->ncl; k++)
		if (rv->checks[k])
			rp__health_stop(rv->checks[k]);
}

static void reverse_accept(struct rp_reactor *r, void *state, unsigned listener, int fd)
{
	struct rp_reverse *rv = state;
	enum rp_listener_mode mode = r->cfg->listeners[listener].mode;

	if (r->cfg->listeners[listener].tls.enabled)
		rp__tls_front_accept(rv->tls, listener, fd);
	else
		half_of(mode)->accept(*state_of(rv, mode), listener, fd);
}

static void reverse_stop(struct rp_reactor *r, void *state)
{
	struct rp_reverse *rv = state;

	checks_stop(rv);
	if (rv->tls)
		rp__tls_front_stop(rv->tls);
	if (rv->l4)
		rp__l4_half.stop(rv->l4);
	if (rv->l7)
		rp__l7_half.stop(rv->l7);
	if (rv->fwd)
		rp__forward_half.stop(rv->fwd);
}

/* Every service message is a cluster message: checks' verdicts, outlier
 * reports to a cluster's owner and its verdicts. */
static void reverse_message(struct rp_reactor *r, void *state, unsigned msg)
{
	struct rp_reverse *rv = state;

	rp__cluster_message(rv->cl, rv->ncl, msg);
}

static void reverse_drain(struct rp_reactor *r, void *state)
{
	struct rp_reverse *rv = state;

	checks_stop(rv);
	if (rv->l7)
		rp__l7_half.drain(rv->l7);
}

const struct rp_service_ops rp__reverse_service = {
	.name = "reverse",
	.init = reverse_init,
	.accept = reverse_accept,
	.drain = reverse_drain,
	.message = reverse_message,
	.stop = reverse_stop,
	.fini = reverse_fini,
};

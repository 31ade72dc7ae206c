// SPDX-License-Identifier: BSD-2-Clause
/*
 * reverse.c - the reverse-proxy service: the clusters of one reactor and the
 * dispatch of accepted connections to the L4 or L7 half by listener mode.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "forward/forward.h"
#include "reverse/health.h"
#include "reverse/limits.h"
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

/* Every descriptor of this reactor closes through rp__reactor_close(): the
 * client connections counted at accept are let go there. One closed by a
 * plain close() (out of memory at accept) is let go when its number comes
 * back from accept (rp__limits_conn_open()). */
static void limits_fd_closing(void *arg, int fd)
{
	rp__limits_conn_closed(arg, fd);
}

/* The connection cap per client address: over it, the connection is reset
 * at once, before any byte of it is read (counted and, once per client and
 * interval, logged in limits.c). The address is the TCP peer's: a PROXY
 * header comes later, and the request rate (l7.c) uses what it says. */
static bool client_admitted(struct rp_reverse *rv, unsigned listener, int fd)
{
	struct rp_reactor *r = rv->r;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return true; /* the half sees the error first */
	if (rp__limits_conn_open(rv->limits, listener, fd, (struct sockaddr *)&ss,
				 r->now_ms))
		return true;
	rp__reactor_close(r, fd, true);
	rp__reactor_conn_closed(r);
	return false;
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
	if (rv->limits) {
		r->fd_closing = NULL;
		rp__limits_free(rv->limits);
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
	ret = rp__limits_new(cfg, rp__engine_nreactors(r->eng), &r->stats, &rv->limits);
	if (ret < 0)
		goto fail;
	if (rv->limits) {
		r->fd_closing = limits_fd_closing;
		r->fd_closing_arg = rv->limits;
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

	if (rp__limits_conns_on(rv->limits, listener) &&
	    !client_admitted(rv, listener, fd))
		return;

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

// SPDX-License-Identifier: BSD-2-Clause
/*
 * tls_front.c - the TLS stage in front of the L4 and L7 halves: a client of
 * a listener with a tls block first completes its handshake here (hs.h,
 * bounded by the listener's handshake timeout), then is handed to the half
 * its mode names, with the kernel holding its records (kTLS) or with the
 * TLS state for userspace records. A failed handshake is counted and closed
 * with nothing reaching any backend.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reverse/reverse.h"
#include "tls/hs.h"
#include "tls/tls.h"

struct front_conn {
	struct rp_tls_hs hs; /* first: zeroed with the conn */
	struct rp_tls_front *f;
	unsigned listener;
	struct front_conn *next, **pprev;
};

struct rp_tls_front {
	struct rp_reverse *rv;
	struct rp_pool conns;
	struct front_conn *list;
};

static void unlink_conn(struct front_conn *fc)
{
	*fc->pprev = fc->next;
	if (fc->next)
		fc->next->pprev = fc->pprev;
}

static void hs_done(struct rp_tls_hs *hs, int res)
{
	struct front_conn *fc = rp_container_of(hs, struct front_conn, hs);
	struct rp_tls_front *f = fc->f;
	struct rp_reverse *rv = f->rv;
	struct rp_reactor *r = rv->r;
	unsigned li = fc->listener;
	struct rp_tls *tls = hs->tls;
	int fd = hs->fd;
	uint8_t *early = hs->early;
	unsigned nearly = hs->nearly;

	unlink_conn(fc);
	if (res < 0) {
		if (res == -ETIMEDOUT)
			r->stats.tls_timeouts++;
		else if (res != -ECANCELED)
			r->stats.tls_failures++;
		rp_dbg("tls handshake on listener %u: %s%s%s", li, strerror(-res),
		       tls->errbuf[0] ? ": " : "", tls->errbuf);
		rp__tls_free(tls);
		free(early);
		rp__pool_put(&f->conns, fc);
		rp__reactor_close(r, fd, true);
		rp__reactor_conn_closed(r);
		return;
	}
	r->stats.tls_handshakes++;
	if (rp__tls_resumed(tls))
		r->stats.tls_resumed++;
	if (hs->ktls_on) {
		r->stats.ktls_tx++;
		r->stats.ktls_rx++;
		rp__tls_free(tls);
		tls = NULL;
	} else {
		r->stats.tls_userspace++;
		if (hs->fell_back)
			r->stats.ktls_fallbacks++;
	}
	rp__pool_put(&f->conns, fc);
	/* The half holds the connection from here, and counts its close. */
	if (r->cfg->listeners[li].mode == RP_MODE_HTTP)
		rp__l7_half.accept_tls(rv->l7, li, fd, tls, early, nearly);
	else
		rp__l4_half.accept_tls(rv->l4, li, fd, tls, early, nearly);
}

void rp__tls_front_accept(struct rp_tls_front *f, unsigned listener, int fd)
{
	struct rp_reactor *r = f->rv->r;
	const struct rp_listener_config *l = &r->cfg->listeners[listener];
	struct front_conn *fc = rp__pool_get(&f->conns);
	struct rp_tls *tls;
	bool ktls = l->tls.ktls != RP_KTLS_OFF && rp__ktls_probe()->ulp;

	tls = fc ? rp__tls_new_server(r->snap->tls_srv[listener], ktls) : NULL;
	if (!tls) {
		if (fc)
			rp__pool_put(&f->conns, fc);
		r->stats.oom++;
		close(fd);
		rp__reactor_conn_closed(r);
		return;
	}
	fc->f = f;
	fc->listener = listener;
	fc->next = f->list;
	if (fc->next)
		fc->next->pprev = &fc->next;
	fc->pprev = &f->list;
	f->list = fc;
	rp__tls_hs_start(&fc->hs, r, fd, tls, l->tls.ktls, l->tls.handshake_timeout_ms,
			 hs_done);
}

int rp__tls_front_init(struct rp_reverse *rv, struct rp_tls_front **out)
{
	struct rp_tls_front *f = calloc(1, sizeof(*f));
	int ret;

	if (!f)
		return -ENOMEM;
	f->rv = rv;
	ret = rp__pool_init(&f->conns, sizeof(struct front_conn), rv->r->cfg->max_conns);
	if (ret < 0) {
		free(f);
		return ret;
	}
	*out = f;
	return 0;
}

void rp__tls_front_stop(struct rp_tls_front *f)
{
	struct front_conn *fc, *next;

	for (fc = f->list; fc; fc = next) {
		next = fc->next;
		rp__tls_hs_abort(&fc->hs); /* may free fc */
	}
}

void rp__tls_front_fini(struct rp_tls_front *f)
{
	if (!f)
		return;
	rp__pool_destroy(&f->conns);
	free(f);
}

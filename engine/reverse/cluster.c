// SPDX-License-Identifier: BSD-2-Clause
/*
 * cluster.c - per-reactor cluster state: balancer, backend health and slow
 * starts. A backend is offered to the balancer when neither outlier
 * detection has it ejected nor the active checks hold it down.
 *
 * Outlier detection (outlier.h) is split across reactors as the health
 * checks are: cluster k's verdicts are decided by reactor k % reactors, its
 * owner. Every reactor counts the outcomes of its own traffic and reports
 * them to the owner by MSG_RING in batches (a streak count when it reaches
 * the threshold on this reactor alone, else at most once per FLUSH_MS; a
 * broken streak once per report; success-rate counts once per interval),
 * never per request; the owner's own reports are plain calls, made at once. The owner sums them, decides, logs and counts each
 * ejection and return, and broadcasts the verdict, which every reactor
 * (itself included) applies to its own balancer. A backend that comes back
 * in, from an ejection or from its checks, ramps its share up linearly over
 * slow_start on each reactor.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reverse/cluster.h"

/* How long a streak count below the threshold may wait on a reactor before
 * it goes to the owner: a batch, and a bound on how late the sum is. */
#define FLUSH_MS 100
/* A slow start begins at this share of the weight (Envoy's default
 * min_weight_percent), so that traffic tells soon whether it is healthy. */
#define RAMP_FLOOR (RP_BALANCE_RAMP_ONE / 10)

static uint64_t now_of(const struct rp_cluster *cl)
{
	/* 0 means "never" in the timestamps kept. */
	return cl->r->now_ms ? cl->r->now_ms : 1;
}

/* ---- slow start ----------------------------------------------------------- */

static unsigned ramp_step_ms(const struct rp_cluster *cl)
{
	unsigned s = cl->cfg->slow_start_ms / 20;

	return s < 50 ? 50 : s > 1000 ? 1000 : s;
}

static void ramp_tick(struct rp_timer *t, uint64_t now)
{
	struct rp_cluster *cl = rp_container_of(t, struct rp_cluster, ramp);
	uint64_t span = cl->cfg->slow_start_ms;
	bool more = false;

	for (unsigned i = 0; i < cl->cfg->nbackends; i++) {
		struct rp_backend *be = &cl->be[i];
		uint64_t ramp;

		if (!be->ramp_start)
			continue;
		ramp = now > be->ramp_start
			       ? (now - be->ramp_start) * RP_BALANCE_RAMP_ONE / span
			       : 0;
		if (ramp >= RP_BALANCE_RAMP_ONE) {
			ramp = RP_BALANCE_RAMP_ONE;
			be->ramp_start = 0;
		} else {
			more = true;
		}
		rp__balance_set_ramp(&cl->lb, (int)i,
				     ramp < RAMP_FLOOR ? RAMP_FLOOR : (unsigned)ramp);
	}
	if (more)
		rp__timer_arm(&cl->r->wheel, &cl->ramp, now + ramp_step_ms(cl));
}

static void ramp_begin(struct rp_backend *be)
{
	struct rp_cluster *cl = be->cl;

	/* ringhash and maglev ignore ramps: nothing to step. */
	if (!cl->cfg->slow_start_ms || cl->hash_source)
		return;
	be->ramp_start = now_of(cl);
	rp__balance_set_ramp(&cl->lb, (int)be->index, RAMP_FLOOR);
	if (!rp__timer_armed(&cl->ramp))
		rp__timer_arm(&cl->r->wheel, &cl->ramp, cl->r->now_ms + ramp_step_ms(cl));
}

static void backend_update(struct rp_backend *be)
{
	bool in = !be->ejected && !be->check_down;

	if (in == be->in)
		return;
	be->in = in;
	rp__balance_set_up(&be->cl->lb, (int)be->index, in);
	if (in)
		ramp_begin(be);
	else
		be->ramp_start = 0;
}

/* ---- the owner: decisions ------------------------------------------------- */

static void broadcast(struct rp_cluster *cl, enum rp_cmsg_kind kind, unsigned b)
{
	struct rp_reactor *r = cl->r;

	for (unsigned i = 0, n = rp__engine_nreactors(r->eng); i < n; i++)
		rp__reactor_send(r, i, rp__cmsg_encode(kind, cl->index, b, 0));
}

static void log_ejected(struct rp_cluster *cl, const struct rp_outlier_event *ev)
{
	const char *name = cl->cfg->name, *addr = cl->be[ev->backend].addr;
	const char *det = rp__outlier_detector_name(ev->detector);
	unsigned long long ms = (unsigned long long)ev->duration_ms;

	if (ev->detector == RP_DETECT_SUCCESS_RATE)
		rp_warn("cluster %s: backend %s ejected by %s: %u.%u%% below %u.%u%%; "
			"ejection %u, for %llu ms",
			name, addr, det, ev->rate / 10, ev->rate % 10, ev->bar / 10,
			ev->bar % 10, ev->ejections, ms);
	else
		rp_warn("cluster %s: backend %s ejected by %s: %u in a row; ejection "
			"%u, for %llu ms",
			name, addr, det, ev->streak, ev->ejections, ms);
}

static void od_event(void *ctx, const struct rp_outlier_event *ev)
{
	struct rp_cluster *cl = ctx;
	struct rp_reactor *r = cl->r;
	struct rp_backend *be = &cl->be[ev->backend];

	switch (ev->what) {
	case RP_OUTLIER_EJECTED:
		r->stats.outlier_ejections++;
		if (ev->detector == RP_DETECT_GATEWAY)
			r->stats.outlier_ejections_gateway++;
		else if (ev->detector == RP_DETECT_5XX)
			r->stats.outlier_ejections_5xx++;
		else
			r->stats.outlier_ejections_success_rate++;
		log_ejected(cl, ev);
		rp__timer_arm(&r->wheel, &be->uneject, r->now_ms + ev->duration_ms);
		broadcast(cl, RP_CMSG_EJECT, ev->backend);
		return;
	case RP_OUTLIER_BACK:
		r->stats.outlier_unejections++;
		rp__timer_cancel(&r->wheel, &be->uneject);
		rp_warn("cluster %s: backend %s back after %llu ms ejected by %s "
			"(ejection %u, %s)%s",
			cl->cfg->name, be->addr, (unsigned long long)ev->duration_ms,
			rp__outlier_detector_name(ev->detector), ev->ejections,
			ev->back == RP_BACK_CHECK ? "health checks passed" : "time up",
			cl->cfg->slow_start_ms && !cl->hash_source ? "; slow start" : "");
		broadcast(cl, RP_CMSG_UNEJECT, ev->backend);
		return;
	case RP_OUTLIER_KEPT:
		r->stats.outlier_ejections_skipped++;
		if (ev->quiet)
			return;
		if (ev->kept == RP_KEPT_LAST)
			rp_warn("cluster %s: backend %s not ejected (%s): it would leave "
				"no backend in (%u of %u out)",
				cl->cfg->name, be->addr,
				rp__outlier_detector_name(ev->detector), ev->nout, ev->n);
		else
			rp_warn("cluster %s: backend %s not ejected (%s): "
				"max_ejection_percent %u reached (%u of %u out)",
				cl->cfg->name, be->addr,
				rp__outlier_detector_name(ev->detector),
				cl->cfg->outlier.max_ejection_percent, ev->nout, ev->n);
		return;
	}
}

static void uneject_fired(struct rp_timer *t, uint64_t now)
{
	struct rp_backend *be = rp_container_of(t, struct rp_backend, uneject);

	if (be->cl->od)
		rp__outlier_expire(be->cl->od, be->index, now ? now : 1);
}

static void sweep_fired(struct rp_timer *t, uint64_t now)
{
	struct rp_cluster *cl = rp_container_of(t, struct rp_cluster, od_sweep);

	rp__outlier_sweep(cl->od, now);
	rp__timer_arm(&cl->r->wheel, t, now + cl->cfg->outlier.interval_ms);
}

/* ---- every reactor: reports ----------------------------------------------- */

struct report {
	struct rp_cluster *cl;
	unsigned b;
};

static void report_send(void *ctx, enum rp_cmsg_kind kind, unsigned arg)
{
	struct report *rep = ctx;
	struct rp_reactor *r = rep->cl->r;

	/* A hard stop: verdicts no longer matter and the owner may be gone. */
	if (r->stopping)
		return;
	rp__reactor_send(r, rep->cl->owner,
			 rp__cmsg_encode(kind, rep->cl->index, rep->b, arg));
}

static void flush_backend(struct rp_cluster *cl, unsigned b)
{
	struct report rep = {cl, b};

	cl->od_pending &= ~(1ull << b);
	rp__outlier_flush_streaks(&cl->be[b].od, report_send, &rep);
}

static void flush_fired(struct rp_timer *t, uint64_t now)
{
	struct rp_cluster *cl = rp_container_of(t, struct rp_cluster, od_flush);

	while (cl->od_pending)
		flush_backend(cl, (unsigned)__builtin_ctzll(cl->od_pending));
}

static void rates_fired(struct rp_timer *t, uint64_t now)
{
	struct rp_cluster *cl = rp_container_of(t, struct rp_cluster, od_rates);

	for (unsigned i = 0; i < cl->cfg->nbackends; i++) {
		struct report rep = {cl, i};

		if (cl->be[i].od.sr_total)
			rp__outlier_flush_rates(&cl->be[i].od, report_send, &rep);
	}
	rp__timer_arm(&cl->r->wheel, t, now + cl->cfg->outlier.interval_ms);
}

static void outcome(struct rp_cluster *cl, int b, enum rp_outcome o, const char *what)
{
	struct rp_backend *be;
	struct report rep = {cl, (unsigned)b};
	unsigned flags;

	if (b < 0)
		return; /* not a cluster backend (a forward proxy's origin) */
	be = &cl->be[b];
	if (be->ejected)
		return; /* a straggler: the verdict is in */
	flags = rp__outlier_record(&be->od, &cl->odp, o, report_send, &rep);
	/* The owner's own reports are function calls: no batch needed. */
	if (flags && cl->od) {
		flush_backend(cl, (unsigned)b);
	} else if (flags & RP_OUTLIER_FLUSH_NOW) {
		rp_dbg("reactor %u: cluster %s: backend %s: %s reached a threshold "
		       "here",
		       cl->r->id, cl->cfg->name, be->addr, what);
		flush_backend(cl, (unsigned)b);
	} else if (flags & RP_OUTLIER_FLUSH_SOON) {
		cl->od_pending |= 1ull << b;
		if (!rp__timer_armed(&cl->od_flush))
			rp__timer_arm(&cl->r->wheel, &cl->od_flush,
				      cl->r->now_ms + FLUSH_MS);
	}
}

void rp__backend_failed(struct rp_cluster *cl, int b, const char *what)
{
	outcome(cl, b, RP_OUTCOME_GATEWAY, what);
}

void rp__backend_5xx(struct rp_cluster *cl, int b)
{
	outcome(cl, b, RP_OUTCOME_5XX, "5xx responses");
}

void rp__backend_ok(struct rp_cluster *cl, int b)
{
	outcome(cl, b, RP_OUTCOME_OK, NULL);
}

/* ---- every reactor: verdicts ---------------------------------------------- */

static void apply_ejected(struct rp_cluster *cl, unsigned b, bool ejected)
{
	struct rp_backend *be = &cl->be[b];

	be->ejected = ejected;
	rp__outlier_local_reset(&be->od);
	cl->od_pending &= ~(1ull << b);
	backend_update(be);
}

static void apply_checked(struct rp_cluster *cl, unsigned b, bool up)
{
	struct rp_backend *be = &cl->be[b];

	if (be->check_down == !up)
		return;
	be->check_down = !up;
	rp__outlier_local_reset(&be->od);
	cl->od_pending &= ~(1ull << b);
	backend_update(be);
	/* May un-eject it: the broadcast comes back here too. */
	if (cl->od)
		rp__outlier_checked(cl->od, b, up, now_of(cl));
}

void rp__cluster_message(struct rp_cluster *cls, unsigned ncl, unsigned msg)
{
	struct rp_cluster *cl;
	struct rp_cmsg m;

	if (rp__cmsg_decode(msg, &m) < 0 || m.cluster >= ncl ||
	    m.backend >= cls[m.cluster].cfg->nbackends) {
		rp_warn("unknown cluster message %#x", msg);
		return;
	}
	cl = &cls[m.cluster];
	switch (m.kind) {
	case RP_CMSG_CHECK:
		apply_checked(cl, m.backend, m.arg & 1);
		return;
	case RP_CMSG_EJECT:
	case RP_CMSG_UNEJECT:
		apply_ejected(cl, m.backend, m.kind == RP_CMSG_EJECT);
		return;
	default:
		break;
	}
	/* Reports: only the owner has a detector to give them to. */
	if (!cl->od)
		return;
	switch (m.kind) {
	case RP_CMSG_GATEWAY:
		rp__outlier_streak(cl->od, m.backend, RP_DETECT_GATEWAY, m.arg,
				   now_of(cl));
		break;
	case RP_CMSG_5XX:
		rp__outlier_streak(cl->od, m.backend, RP_DETECT_5XX, m.arg, now_of(cl));
		break;
	case RP_CMSG_SUCCESS:
		rp__outlier_success(cl->od, m.backend, m.arg);
		break;
	case RP_CMSG_SR_TOTAL:
		rp__outlier_rates(cl->od, m.backend, rp__cmsg_count_decode(m.arg), 0);
		break;
	case RP_CMSG_SR_FAIL:
		rp__outlier_rates(cl->od, m.backend, 0, rp__cmsg_count_decode(m.arg));
		break;
	default:
		break;
	}
}

bool rp__cluster_has_up(const struct rp_cluster *cl)
{
	for (unsigned i = 0; i < cl->cfg->nbackends; i++)
		if (cl->be[i].in)
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
	uint64_t iv = cfg->outlier.interval_ms;
	int ret;

	if (!bc.ops)
		return -EINVAL;
	cl->r = r;
	cl->cfg = cfg;
	cl->index = (unsigned)(cfg - r->cfg->clusters);
	cl->owner = cl->index % rp__engine_nreactors(r->eng);
	rp__outlier_params(cfg, &cl->odp);
	cl->od_flush.fn = flush_fired;
	cl->od_rates.fn = rates_fired;
	cl->od_sweep.fn = sweep_fired;
	cl->ramp.fn = ramp_tick;
	for (unsigned i = 0; i < cfg->nbackends; i++) {
		struct rp_backend *be = &cl->be[i];

		/* Identity by address: reordering the backends keeps clients
		 * put. */
		rp__addr_format(&cfg->backends[i], be->addr, sizeof(be->addr));
		bb[i].id = rp__hash_bytes(be->addr, strlen(be->addr));
		bb[i].weight = cfg->weights[i] ? cfg->weights[i] : 1;
		be->cl = cl;
		be->index = i;
		be->in = true;
		be->uneject.fn = uneject_fired;
	}
	cl->hash_source =
		!strcmp(cfg->balance, "ringhash") || !strcmp(cfg->balance, "maglev");
	if (cl->owner == r->id) {
		cl->od = malloc(sizeof(*cl->od));
		if (!cl->od)
			return -ENOMEM;
		rp__outlier_init(cl->od, cfg, od_event, cl);
	}
	/* The reactor id seeds p2c's sampling; nothing hash-based depends
	 * on it. */
	ret = rp__balance_init(&cl->lb, &bc, r->id);
	if (ret < 0) {
		free(cl->od);
		cl->od = NULL;
		return ret;
	}
	cl->lb_ok = true;
	if (cl->odp.rates) {
		/* Every reactor reports at the turn of its interval; the owner
		 * judges half an interval later, when all have. */
		rp__timer_arm(&r->wheel, &cl->od_rates, r->now_ms + iv);
		if (cl->od)
			rp__timer_arm(&r->wheel, &cl->od_sweep, r->now_ms + iv + iv / 2);
	}
	return 0;
}

void rp__cluster_fini(struct rp_cluster *cl)
{
	struct rp_wheel *w;

	if (!cl->lb_ok)
		return;
	w = &cl->r->wheel;
	for (unsigned i = 0; i < cl->cfg->nbackends; i++)
		rp__timer_cancel(w, &cl->be[i].uneject);
	rp__timer_cancel(w, &cl->od_flush);
	rp__timer_cancel(w, &cl->od_rates);
	rp__timer_cancel(w, &cl->od_sweep);
	rp__timer_cancel(w, &cl->ramp);
	free(cl->od);
	cl->od = NULL;
	rp__balance_fini(&cl->lb);
	cl->lb_ok = false;
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * outlier.c - the decisions of outlier detection (see outlier.h): the local
 * counting of outcomes and when to report them, and the owner's sums,
 * ejections with growing times, returns to service and the limits on how
 * many backends may be out. Pure functions of their inputs and the time
 * given; cluster.c wires them to the ring, the timers and the logs.
 */
#define _GNU_SOURCE /* qsort_r */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reverse/outlier.h"

/* ---- cluster messages ----------------------------------------------------- */

#define KIND_SHIFT    20
#define CLUSTER_SHIFT 16
#define BACKEND_SHIFT 10

unsigned rp__cmsg_encode(enum rp_cmsg_kind kind, unsigned cluster, unsigned backend,
			 unsigned arg)
{
	return (unsigned)kind << KIND_SHIFT | (cluster & 0xf) << CLUSTER_SHIFT |
	       (backend & 0x3f) << BACKEND_SHIFT | (arg & RP_CMSG_ARG_MAX);
}

int rp__cmsg_decode(unsigned msg, struct rp_cmsg *out)
{
	unsigned kind = msg >> KIND_SHIFT;

	if (kind >= RP_CMSG_NKINDS)
		return -EBADMSG;
	out->kind = (enum rp_cmsg_kind)kind;
	out->cluster = (msg >> CLUSTER_SHIFT) & 0xf;
	out->backend = (msg >> BACKEND_SHIFT) & 0x3f;
	out->arg = msg & RP_CMSG_ARG_MAX;
	return 0;
}

unsigned rp__cmsg_count_encode(uint64_t n, uint64_t *value)
{
	unsigned e = 0;

	while (e < 15 && n >> e > 63)
		e++;
	n >>= e;
	if (n > 63)
		n = 63;
	*value = n << e;
	return e << 6 | (unsigned)n;
}

uint64_t rp__cmsg_count_decode(unsigned arg)
{
	return (uint64_t)(arg & 63) << ((arg >> 6) & 15);
}

/* ---- shared --------------------------------------------------------------- */

const char *rp__outlier_detector_name(enum rp_detector d)
{
	switch (d) {
	case RP_DETECT_GATEWAY:
		return "consecutive gateway failures";
	case RP_DETECT_5XX:
		return "consecutive 5xx";
	case RP_DETECT_SUCCESS_RATE:
		return "success rate";
	}
	return "?";
}

void rp__outlier_params(const struct rp_cluster_config *cfg, struct rp_outlier_params *p)
{
	p->streak_max[RP_DETECT_GATEWAY] = cfg->fall;
	p->streak_max[RP_DETECT_5XX] = cfg->outlier.consecutive_5xx;
	p->rates = cfg->outlier.sr_stdev_factor || cfg->outlier.sr_threshold;
}

/* ---- the local half ------------------------------------------------------- */

unsigned rp__outlier_record(struct rp_outlier_local *l, const struct rp_outlier_params *p,
			    enum rp_outcome o, rp_outlier_send_fn send, void *ctx)
{
	/* Which streaks this outcome extends: a gateway failure is a 5xx
	 * too (we answer 502 or 504 for it), a 5xx answer breaks a gateway
	 * streak (the backend did answer). */
	bool fails[RP_OUTLIER_NSTREAKS] = {
		[RP_DETECT_GATEWAY] = o == RP_OUTCOME_GATEWAY,
		[RP_DETECT_5XX] = o != RP_OUTCOME_OK,
	};
	unsigned broken = 0, flags = 0;

	if (p->rates) {
		l->sr_total++;
		l->sr_fail += o != RP_OUTCOME_OK;
	}
	for (unsigned d = 0; d < RP_OUTLIER_NSTREAKS; d++) {
		if (!p->streak_max[d])
			continue;
		if (!fails[d]) {
			/* What was not reported yet dies here: only the
			 * owner's sum needs telling. */
			if (l->sent[d])
				broken |= 1u << d;
			l->pending[d] = 0;
			l->sent[d] = 0;
			continue;
		}
		if (l->pending[d] < UINT32_MAX)
			l->pending[d]++;
		flags |= (uint64_t)l->pending[d] + l->sent[d] >= p->streak_max[d]
				 ? RP_OUTLIER_FLUSH_NOW
				 : RP_OUTLIER_FLUSH_SOON;
	}
	if (broken)
		send(ctx, RP_CMSG_SUCCESS, broken);
	return flags;
}

void rp__outlier_flush_streaks(struct rp_outlier_local *l, rp_outlier_send_fn send,
			       void *ctx)
{
	static const enum rp_cmsg_kind kind[RP_OUTLIER_NSTREAKS] = {
		[RP_DETECT_GATEWAY] = RP_CMSG_GATEWAY,
		[RP_DETECT_5XX] = RP_CMSG_5XX,
	};
	unsigned n[RP_OUTLIER_NSTREAKS];

	for (unsigned d = 0; d < RP_OUTLIER_NSTREAKS; d++) {
		n[d] = l->pending[d];
		l->pending[d] = 0;
		l->sent[d] =
			n[d] > UINT32_MAX - l->sent[d] ? UINT32_MAX : l->sent[d] + n[d];
	}
	for (unsigned d = 0; d < RP_OUTLIER_NSTREAKS; d++) {
		/* Thresholds are at most 1000: one message nearly always. */
		while (n[d]) {
			unsigned k = n[d] > RP_CMSG_ARG_MAX ? RP_CMSG_ARG_MAX : n[d];

			send(ctx, kind[d], k);
			n[d] -= k;
		}
	}
}

/* Up to three messages for @*n (exact below 2^15 or so), the rest kept. */
static void flush_count(uint64_t *n, enum rp_cmsg_kind kind, rp_outlier_send_fn send,
			void *ctx)
{
	for (int i = 0; i < 3 && *n; i++) {
		uint64_t v;
		unsigned arg = rp__cmsg_count_encode(*n, &v);

		*n -= v;
		send(ctx, kind, arg);
	}
}

void rp__outlier_flush_rates(struct rp_outlier_local *l, rp_outlier_send_fn send,
			     void *ctx)
{
	uint64_t total = l->sr_total, fail = l->sr_fail;

	l->sr_total = l->sr_fail = 0;
	flush_count(&total, RP_CMSG_SR_TOTAL, send, ctx);
	flush_count(&fail, RP_CMSG_SR_FAIL, send, ctx);
	/* Carried to the next interval (unless a send reset us meanwhile). */
	l->sr_total += total;
	l->sr_fail += fail;
}

void rp__outlier_local_reset(struct rp_outlier_local *l)
{
	memset(l, 0, sizeof(*l));
}

/* ---- the owner half ------------------------------------------------------- */

void rp__outlier_init(struct rp_outlier *o, const struct rp_cluster_config *cfg,
		      rp_outlier_event_fn event, void *ctx)
{
	memset(o, 0, sizeof(*o));
	o->cfg = cfg;
	o->n = cfg->nbackends;
	o->event = event;
	o->ctx = ctx;
	rp__outlier_params(cfg, &o->p);
}

/* The longest ejection: max_ejection_time, but never below the base. */
static uint64_t ejection_cap(const struct rp_outlier *o)
{
	uint64_t base = o->cfg->cooldown_ms, max = o->cfg->outlier.max_ejection_ms;

	return max > base ? max : base;
}

/* Each whole interval spent in service since it came back forgives one
 * ejection: a backend that stays healthy gets back to the base time. */
static void decay(const struct rp_outlier *o, struct rp_outlier_host *h, uint64_t now)
{
	uint64_t iv = o->cfg->outlier.interval_ms, k;

	if (h->ejected || !h->back_at || !h->ejections || now <= h->back_at)
		return;
	k = (now - h->back_at) / iv;
	if (!k)
		return;
	h->ejections = k >= h->ejections ? 0 : h->ejections - (unsigned)k;
	h->back_at += k * iv;
}

static unsigned count_out(const struct rp_outlier *o)
{
	unsigned out = 0;

	for (unsigned i = 0; i < o->n; i++)
		out += o->h[i].ejected || o->h[i].check_down;
	return out;
}

/* Ejects @b, described by @ev (detector and what it saw), unless a limit
 * keeps it in. */
static void eject(struct rp_outlier *o, unsigned b, struct rp_outlier_event *ev,
		  uint64_t now)
{
	struct rp_outlier_host *h = &o->h[b];
	const struct rp_outlier_config *oc = &o->cfg->outlier;
	uint64_t base = o->cfg->cooldown_ms, cap = ejection_cap(o);
	unsigned out = count_out(o);
	bool over = (o->nejected + 1) * 100 > oc->max_ejection_percent * o->n;

	ev->backend = b;
	/* Envoy's rule, stricter by one: never past the share (Envoy lets a
	 * first ejection through whatever it is), and never the last
	 * backend in, so that clients get the backends' own answers, not
	 * our 503. */
	if (over || out + 1 >= o->n) {
		ev->what = RP_OUTLIER_KEPT;
		ev->kept = over ? RP_KEPT_PERCENT : RP_KEPT_LAST;
		ev->nout = out;
		ev->n = o->n;
		ev->quiet = h->kept_at && now - h->kept_at < oc->interval_ms;
		if (!ev->quiet)
			h->kept_at = now ? now : 1;
		o->event(o->ctx, ev);
		return;
	}
	decay(o, h, now);
	/* Grow the multiplier only while it still lengthens the time, so that
	 * decay brings a capped backend down promptly. */
	if ((uint64_t)base * h->ejections < cap && h->ejections < 100000)
		h->ejections++;
	ev->what = RP_OUTLIER_EJECTED;
	ev->ejections = h->ejections;
	ev->duration_ms = (uint64_t)base * h->ejections;
	if (ev->duration_ms > cap)
		ev->duration_ms = cap;
	h->ejected = true;
	h->why = ev->detector;
	h->ejected_at = now;
	h->until = now + ev->duration_ms;
	h->kept_at = 0;
	memset(h->streak, 0, sizeof(h->streak));
	h->sr_total = h->sr_fail = 0;
	o->nejected++;
	o->event(o->ctx, ev);
}

static void back(struct rp_outlier *o, unsigned b, enum rp_outlier_back why, uint64_t now)
{
	struct rp_outlier_host *h = &o->h[b];
	struct rp_outlier_event ev = {
		.what = RP_OUTLIER_BACK,
		.backend = b,
		.detector = h->why,
		.ejections = h->ejections,
		.duration_ms = now - h->ejected_at,
		.back = why,
	};

	h->ejected = false;
	h->back_at = now ? now : 1;
	memset(h->streak, 0, sizeof(h->streak));
	h->sr_total = h->sr_fail = 0;
	o->nejected--;
	o->event(o->ctx, &ev);
}

void rp__outlier_streak(struct rp_outlier *o, unsigned backend, enum rp_detector d,
			unsigned count, uint64_t now)
{
	struct rp_outlier_host *h;
	struct rp_outlier_event ev = {.detector = d};
	unsigned max;

	if (backend >= o->n || (unsigned)d >= RP_OUTLIER_NSTREAKS)
		return;
	max = o->p.streak_max[d];
	h = &o->h[backend];
	/* Late reports about a backend already out say nothing new. */
	if (!max || h->ejected || h->check_down)
		return;
	h->streak[d] = count > max - h->streak[d] ? max : h->streak[d] + count;
	if (h->streak[d] < max)
		return;
	ev.streak = h->streak[d];
	/* Start afresh either way: kept in, it is tried again after another
	 * full streak (when a limit may have lifted). */
	h->streak[d] = 0;
	eject(o, backend, &ev, now);
}

void rp__outlier_success(struct rp_outlier *o, unsigned backend, unsigned mask)
{
	if (backend >= o->n)
		return;
	for (unsigned d = 0; d < RP_OUTLIER_NSTREAKS; d++)
		if (mask & 1u << d)
			o->h[backend].streak[d] = 0;
}

void rp__outlier_rates(struct rp_outlier *o, unsigned backend, uint64_t total,
		       uint64_t fail)
{
	if (backend >= o->n || o->h[backend].ejected)
		return;
	o->h[backend].sr_total += total;
	o->h[backend].sr_fail += fail;
}

/* Newton's square root of @x in [0, 1] (a variance of rates), to 1e-12:
 * not worth a libm for. */
static double sqrt01(double x)
{
	double y = 1;

	if (x <= 0)
		return 0;
	for (int i = 0; i < 60; i++)
		y = (y + x / y) / 2;
	return y;
}

/* Per mille, rounded; 0 below 0. */
static unsigned permille(double x)
{
	return x > 0 ? (unsigned)(x * 1000 + 0.5) : 0;
}

static int cmp_rate(const void *a, const void *b, void *ctx)
{
	const double *rate = ctx;
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return rate[x] < rate[y] ? -1 : rate[x] > rate[y] ? 1 : (x > y) - (x < y);
}

void rp__outlier_sweep(struct rp_outlier *o, uint64_t now)
{
	const struct rp_outlier_config *oc = &o->cfg->outlier;
	double rate[RP_MAX_BACKENDS], sum = 0, var = 0, mean, bar = -1;
	unsigned who[RP_MAX_BACKENDS], nq = 0, nbad = 0;

	if (!o->p.rates)
		return;
	for (unsigned i = 0; i < o->n; i++) {
		struct rp_outlier_host *h = &o->h[i];

		if (!h->ejected && !h->check_down &&
		    h->sr_total >= oc->sr_request_volume) {
			uint64_t fail =
				h->sr_fail < h->sr_total ? h->sr_fail : h->sr_total;

			rate[i] = (double)(h->sr_total - fail) / (double)h->sr_total;
			who[nq++] = i;
			sum += rate[i];
		}
		h->sr_total = h->sr_fail = 0;
	}
	if (!nq || nq < oc->sr_minimum_hosts)
		return;
	mean = sum / nq;
	for (unsigned k = 0; k < nq; k++)
		var += (rate[who[k]] - mean) * (rate[who[k]] - mean);
	if (oc->sr_stdev_factor)
		bar = mean - oc->sr_stdev_factor / 1000.0 * sqrt01(var / nq);
	if (oc->sr_threshold && oc->sr_threshold / 100.0 > bar)
		bar = oc->sr_threshold / 100.0;
	for (unsigned k = 0; k < nq; k++)
		if (rate[who[k]] < bar)
			who[nbad++] = who[k];
	/* Worst first, so that the limits leave the better ones in. */
	qsort_r(who, nbad, sizeof(who[0]), cmp_rate, rate);
	for (unsigned k = 0; k < nbad; k++) {
		struct rp_outlier_event ev = {
			.detector = RP_DETECT_SUCCESS_RATE,
			.rate = permille(rate[who[k]]),
			.bar = permille(bar),
		};

		eject(o, who[k], &ev, now);
	}
}

void rp__outlier_expire(struct rp_outlier *o, unsigned backend, uint64_t now)
{
	if (backend < o->n && o->h[backend].ejected)
		back(o, backend, RP_BACK_TIME, now);
}

void rp__outlier_checked(struct rp_outlier *o, unsigned backend, bool up, uint64_t now)
{
	struct rp_outlier_host *h;

	if (backend >= o->n)
		return;
	h = &o->h[backend];
	h->check_down = !up;
	memset(h->streak, 0, sizeof(h->streak));
	/* A check that passes vouches for it (Envoy's default too). */
	if (up && h->ejected)
		back(o, backend, RP_BACK_CHECK, now);
}

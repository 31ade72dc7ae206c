/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * outlier.h - outlier detection (passive health) of a cluster's backends in
 * the manner of Envoy's, as pure logic: no ring, no clock, no log (callers
 * pass the time and act on the events that come back), so that every
 * decision can be tested alone. Two halves:
 *
 * - the local half (struct rp_outlier_local), one per backend on every
 *   reactor: it counts the outcomes of that reactor's traffic and says when
 *   to report them to the cluster's owner reactor, in batches (a streak
 *   count once it reaches the threshold or after a short delay, success
 *   rates once per interval, a streak broken only if some of it had been
 *   reported): nothing crosses reactors per request;
 * - the owner half (struct rp_outlier), on one reactor per cluster: it sums
 *   the reports of all reactors, decides ejections and returns to service
 *   (which the caller broadcasts), and applies max_ejection_percent and the
 *   rule that one backend always stays in.
 *
 * Reports, verdicts and the active checks' verdicts travel as cluster
 * messages (rp__cmsg_*), the 24-bit service messages of the reactors'
 * MSG_RING channel.
 */
#ifndef RP_OUTLIER_H
#define RP_OUTLIER_H

#include <stdbool.h>
#include <stdint.h>

#include "ringproxy/ringproxy.h"

/* ---- cluster messages ------------------------------------------------------
 * kind << 20 | cluster << 16 | backend << 10 | arg, below RP_MSG_LIMIT. */
enum rp_cmsg_kind {
	RP_CMSG_CHECK,	  /* active checks' verdict: arg 1 up, 0 down */
	RP_CMSG_GATEWAY,  /* to the owner: arg more gateway failures in a row */
	RP_CMSG_5XX,	  /* to the owner: arg more 5xx in a row */
	RP_CMSG_SUCCESS,  /* to the owner: the streaks of mask arg are broken */
	RP_CMSG_SR_TOTAL, /* to the owner: requests, arg count-coded */
	RP_CMSG_SR_FAIL,  /* to the owner: of which failed, count-coded */
	RP_CMSG_EJECT,	  /* from the owner: take the backend out */
	RP_CMSG_UNEJECT,  /* from the owner: put it back */
	RP_CMSG_NKINDS,
};

#define RP_CMSG_ARG_MAX 1023u
_Static_assert(RP_MAX_CLUSTERS <= 16 && RP_MAX_BACKENDS <= 64,
	       "cluster messages hold 4 bits of cluster and 6 of backend");

struct rp_cmsg {
	enum rp_cmsg_kind kind;
	unsigned cluster, backend, arg;
};

/* The message for @kind about @backend of @cluster (each within its bits;
 * @arg at most RP_CMSG_ARG_MAX). */
unsigned rp__cmsg_encode(enum rp_cmsg_kind kind, unsigned cluster, unsigned backend,
			 unsigned arg);
/* 0 and the fields of @msg in *@out, or -EBADMSG for an unknown kind. */
int rp__cmsg_decode(unsigned msg, struct rp_cmsg *out);

/* Counts in 10 bits: a 6-bit mantissa and a 4-bit exponent. The arg that
 * stands for at most @n (exactly when @n < 64, within 1/32 below it up to
 * 63 << 15), and in *@value what it stands for: the sender keeps
 * @n - *@value for its next report, so nothing is lost over time. */
unsigned rp__cmsg_count_encode(uint64_t n, uint64_t *value);
uint64_t rp__cmsg_count_decode(unsigned arg);

/* ---- what the detectors look at ------------------------------------------ */

/* The outcome of one request (L7) or connection attempt (L4) on a backend. */
enum rp_outcome {
	RP_OUTCOME_OK,	    /* an answer below 500, or an L4 connect */
	RP_OUTCOME_5XX,	    /* the backend's own 5xx answer */
	RP_OUTCOME_GATEWAY, /* no usable answer: connect refused, reset or timed
			     * out, a response timeout, a bad response, a
			     * failed TLS handshake (what we answer 502 or 504
			     * for); also a 5xx for the 5xx detector */
};

enum rp_detector {
	RP_DETECT_GATEWAY, /* consecutive gateway failures (the cluster's fall) */
	RP_DETECT_5XX,	   /* consecutive 5xx */
	RP_DETECT_SUCCESS_RATE,
};
#define RP_OUTLIER_NSTREAKS 2 /* the consecutive detectors, indexed as above */

/* "consecutive gateway failures", "consecutive 5xx", "success rate". */
const char *rp__outlier_detector_name(enum rp_detector d);

/* What both halves need of a cluster's configuration. */
struct rp_outlier_params {
	unsigned streak_max[RP_OUTLIER_NSTREAKS]; /* thresholds; 0: off */
	bool rates;				  /* the success rate detector is on */
};
void rp__outlier_params(const struct rp_cluster_config *cfg, struct rp_outlier_params *p);

/* ---- the local half ------------------------------------------------------- */

struct rp_outlier_local {
	unsigned pending[RP_OUTLIER_NSTREAKS]; /* failures in a row, unreported */
	unsigned sent[RP_OUTLIER_NSTREAKS];    /* ...and reported, this streak */
	uint64_t sr_total, sr_fail;	       /* outcomes not reported yet */
};

/* What rp__outlier_record() asks of its caller. */
#define RP_OUTLIER_FLUSH_SOON 1u /* a streak count waits: flush within a while */
#define RP_OUTLIER_FLUSH_NOW                                                             \
	2u /* a streak reached its threshold here alone
				  * (what was sent of it included) */

/* A report: rp__cmsg_encode(@kind, cluster, backend, @arg) to the owner. */
typedef void (*rp_outlier_send_fn)(void *ctx, enum rp_cmsg_kind kind, unsigned arg);

/*
 * Counts outcome @o of @l's backend. A streak broken after some of it was
 * reported is sent at once (RP_CMSG_SUCCESS, through @send: at most one per
 * report, so never per request); returns RP_OUTLIER_FLUSH_* flags, or 0.
 */
unsigned rp__outlier_record(struct rp_outlier_local *l, const struct rp_outlier_params *p,
			    enum rp_outcome o, rp_outlier_send_fn send, void *ctx);
/* Reports the streak counts @l holds and clears them (before sending, so
 * that a send handled at once, the owner being this reactor, sees them
 * gone). */
void rp__outlier_flush_streaks(struct rp_outlier_local *l, rp_outlier_send_fn send,
			       void *ctx);
/* Reports this interval's requests and failures, what the count coding
 * cannot carry left for the next. */
void rp__outlier_flush_rates(struct rp_outlier_local *l, rp_outlier_send_fn send,
			     void *ctx);
/* The owner's verdict changed: whatever was counted is moot. */
void rp__outlier_local_reset(struct rp_outlier_local *l);

/* ---- the owner half ------------------------------------------------------- */

enum rp_outlier_what {
	RP_OUTLIER_EJECTED, /* take it out for duration_ms */
	RP_OUTLIER_BACK,    /* put it back (after duration_ms out) */
	RP_OUTLIER_KEPT,    /* an outlier left in (see kept) */
};

enum rp_outlier_kept {
	RP_KEPT_PERCENT, /* max_ejection_percent would be exceeded */
	RP_KEPT_LAST,	 /* it is the last backend in */
};

enum rp_outlier_back {
	RP_BACK_TIME,  /* its ejection time is up */
	RP_BACK_CHECK, /* the active checks found it up */
};

struct rp_outlier_event {
	enum rp_outlier_what what;
	unsigned backend;
	enum rp_detector detector; /* EJECTED, KEPT; BACK: what had ejected it */
	unsigned ejections;	   /* EJECTED, BACK: its ejection count */
	uint64_t duration_ms;	   /* EJECTED: how long; BACK: how long it was */
	unsigned streak;	   /* consecutive detectors: the count */
	unsigned rate, bar;	   /* success rate: its own and the bar, per mille */
	enum rp_outlier_kept kept;
	enum rp_outlier_back back;
	unsigned nout, n; /* KEPT: backends out (ejected or checked down), all */
	bool quiet;	  /* KEPT: one was reported less than an interval ago */
};

typedef void (*rp_outlier_event_fn)(void *ctx, const struct rp_outlier_event *ev);

struct rp_outlier_host {
	unsigned streak[RP_OUTLIER_NSTREAKS]; /* summed over the reactors */
	uint64_t sr_total, sr_fail;	      /* this interval */
	unsigned ejections;		      /* the ejection time's multiplier */
	uint64_t ejected_at, until;	      /* ms */
	uint64_t back_at;		      /* ms; 0: never ejected */
	uint64_t kept_at;		      /* ms of the last loud KEPT; 0: none */
	enum rp_detector why;		      /* of the ejection */
	bool ejected, check_down;
};

struct rp_outlier {
	const struct rp_cluster_config *cfg;
	struct rp_outlier_params p;
	unsigned n, nejected;
	rp_outlier_event_fn event;
	void *ctx;
	struct rp_outlier_host h[RP_MAX_BACKENDS];
};

/* Every backend in, none ejected; @event gets each decision, synchronously,
 * from inside the calls below. @cfg must outlive @o. */
void rp__outlier_init(struct rp_outlier *o, const struct rp_cluster_config *cfg,
		      rp_outlier_event_fn event, void *ctx);
/* @count more failures in a row of consecutive detector @d on @backend; the
 * threshold reached ejects it (or reports it KEPT, and the count starts
 * afresh so that it is tried again). */
void rp__outlier_streak(struct rp_outlier *o, unsigned backend, enum rp_detector d,
			unsigned count, uint64_t now);
/* The streaks of @mask (bit d: detector d) of @backend are broken. */
void rp__outlier_success(struct rp_outlier *o, unsigned backend, unsigned mask);
/* Adds @total requests, @fail of them failed, to @backend's interval. */
void rp__outlier_rates(struct rp_outlier *o, unsigned backend, uint64_t total,
		       uint64_t fail);
/* The end of an interval: success rates judged (worst first) and reset. */
void rp__outlier_sweep(struct rp_outlier *o, uint64_t now);
/* @backend's ejection time is up (the caller's timer, set from EJECTED). */
void rp__outlier_expire(struct rp_outlier *o, unsigned backend, uint64_t now);
/* The active checks' verdict on @backend. */
void rp__outlier_checked(struct rp_outlier *o, unsigned backend, bool up, uint64_t now);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cluster.h - a cluster as one reactor sees it, shared by the L4 and L7
 * services of that reactor: its balancer, the health of each backend
 * (passive: outlier detection, whose verdicts come from the cluster's owner
 * reactor; active: what the health checker last said), slow starts and, for
 * L7, each backend's pool of idle keep-alive connections.
 */
#ifndef RP_CLUSTER_H
#define RP_CLUSTER_H

#include "balance/balance.h"
#include "core/core.h"
#include "net/net.h"
#include "reverse/outlier.h"

struct rp_cluster;
struct l7_bconn;

struct rp_backend {
	struct rp_cluster *cl;
	unsigned index;
	bool ejected;		    /* passive: the owner's outlier verdict */
	bool check_down;	    /* active: the last verdict of the checks */
	bool in;		    /* offered to the balancer: neither of the above */
	uint64_t ramp_start;	    /* slow start: when it came back in; 0: not ramping */
	struct rp_outlier_local od; /* this reactor's outcomes, not yet reported */
	struct rp_timer uneject;    /* the owner's: the end of its ejection */
	char addr[RP_ADDRSTRLEN];
	struct l7_bconn *idle; /* L7: idle keep-alive connections, newest first */
	unsigned nidle;
};

struct rp_cluster {
	struct rp_reactor *r;
	const struct rp_cluster_config *cfg;
	struct rp_balancer lb;
	bool lb_ok;
	bool hash_source; /* ringhash/maglev keyed on the client address */
	unsigned index;	  /* in the configuration's clusters */
	unsigned owner;	  /* the reactor deciding outlier verdicts: index % n */
	struct rp_outlier_params odp;
	uint64_t od_pending;	  /* bit b: backend b has streak counts to report */
	struct rp_timer od_flush; /* reports them */
	struct rp_timer od_rates; /* reports the interval's outcomes (success rate) */
	struct rp_timer ramp;	  /* steps the slow starts */
	struct rp_outlier *od;	  /* the owner's detector; NULL on the others */
	struct rp_timer od_sweep; /* the owner's: judges success rates */
	struct rp_backend be[RP_MAX_BACKENDS];
};

int rp__cluster_init(struct rp_cluster *cl, struct rp_reactor *r,
		     const struct rp_cluster_config *cfg);
void rp__cluster_fini(struct rp_cluster *cl);

/*
 * The outcome of traffic to backend @b, for outlier detection: a gateway
 * failure (@what says which, for debug logs: failed connects, timeouts,
 * bad responses...), a 5xx the backend answered, or an answer below 500
 * (for L4, a connect). @b < 0 (a forward proxy's origin) is ignored. Counted
 * on this reactor; reported to the owner in batches.
 */
void rp__backend_failed(struct rp_cluster *cl, int b, const char *what);
void rp__backend_5xx(struct rp_cluster *cl, int b);
void rp__backend_ok(struct rp_cluster *cl, int b);

/* A cluster message (outlier.h: reports, verdicts, the checks' verdicts)
 * for one of the @ncl clusters at @cls, from any reactor. */
void rp__cluster_message(struct rp_cluster *cls, unsigned ncl, unsigned msg);

/* Any backend the balancer may pick. */
bool rp__cluster_has_up(const struct rp_cluster *cl);

#endif

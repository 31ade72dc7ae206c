/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cluster.h - a cluster as one reactor sees it, shared by the L4 and L7
 * services of that reactor: its balancer, the health of each backend
 * (passive: consecutive failures put one down for a cool-down; active: what
 * the health checker last said) and, for L7, each backend's pool of idle
 * keep-alive connections.
 */
#ifndef RP_CLUSTER_H
#define RP_CLUSTER_H

#include "balance/balance.h"
#include "core/core.h"
#include "net/net.h"

struct rp_cluster;
struct l7_bconn;

struct rp_backend {
	struct rp_cluster *cl;
	unsigned index;
	unsigned failures;	  /* consecutive, seen by this reactor's traffic */
	bool down;		  /* passive: cooling down */
	bool check_down;	  /* active: the last verdict of the checks */
	struct rp_timer cooldown; /* brings a passively down backend back */
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
	struct rp_backend be[RP_MAX_BACKENDS];
};

int rp__cluster_init(struct rp_cluster *cl, struct rp_reactor *r,
		     const struct rp_cluster_config *cfg);
void rp__cluster_fini(struct rp_cluster *cl);

/* Traffic to backend @b failed (@what says how, for the log line) or worked. */
void rp__backend_failed(struct rp_cluster *cl, int b, const char *what);
void rp__backend_ok(struct rp_cluster *cl, int b);
/* The active checker's verdict on @b. */
void rp__backend_set_checked(struct rp_cluster *cl, int b, bool up);

/* Any backend the balancer may pick. */
bool rp__cluster_has_up(const struct rp_cluster *cl);

#endif

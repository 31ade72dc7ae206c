/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * reverse.h - the reverse-proxy service of a reactor. One instance per
 * reactor holds the clusters (cluster.h) that its L4 (l4.c) and L7 (l7.c)
 * halves share, and hands each accepted connection to the half its
 * listener's mode names.
 */
#ifndef RP_REVERSE_H
#define RP_REVERSE_H

#include "core/core.h"
#include "reverse/cluster.h"

struct hc_cluster;

struct rp_reverse {
	struct rp_reactor *r;
	void *l4; /* NULL when no listener is in that mode */
	void *l7;
	void *fwd; /* the forward proxy (engine/forward/) */
	struct hc_cluster *checks[RP_MAX_CLUSTERS]; /* run here, or NULL */
	unsigned ncl;
	struct rp_cluster cl[]; /* one per configured cluster */
};

/* One half of the service; @state is its per-reactor instance. */
struct rp_reverse_half {
	int (*init)(struct rp_reverse *rv, void **state);
	void (*accept)(void *state, unsigned listener, int fd);
	void (*drain)(void *state); /* may be NULL */
	void (*stop)(void *state);
	void (*fini)(void *state);
};

extern const struct rp_reverse_half rp__l4_half;
extern const struct rp_reverse_half rp__l7_half;
extern const struct rp_service_ops rp__reverse_service;

#endif

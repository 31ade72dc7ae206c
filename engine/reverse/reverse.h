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

#include <stdint.h>

struct hc_cluster;
struct rp_tls;
struct rp_tls_front;

struct rp_reverse {
	struct rp_reactor *r;
	void *l4; /* NULL when no listener is in that mode */
	void *l7;
	void *fwd;		  /* the forward proxy (engine/forward/) */
	struct rp_tls_front *tls; /* handshakes of TLS listeners, or NULL */
	struct rp_limits *limits; /* per-client limits (limits.h), or NULL */
	struct hc_cluster *checks[RP_MAX_CLUSTERS]; /* run here, or NULL */
	unsigned ncl;
	struct rp_cluster cl[]; /* one per configured cluster */
};

/* One half of the service; @state is its per-reactor instance. */
struct rp_reverse_half {
	int (*init)(struct rp_reverse *rv, void **state);
	void (*accept)(void *state, unsigned listener, int fd);
	/* A client of a TLS listener, its handshake done: @tls carries the
	 * records in userspace, or is NULL when kTLS has them; @early is the
	 * plaintext that came with the handshake (malloc'd, may be NULL).
	 * The half takes all three. */
	void (*accept_tls)(void *state, unsigned listener, int fd, struct rp_tls *tls,
			   uint8_t *early, unsigned nearly);
	void (*drain)(void *state); /* may be NULL */
	void (*stop)(void *state);
	void (*fini)(void *state);
};

/* The TLS handshake stage of TLS listeners (tls_front.c). */
int rp__tls_front_init(struct rp_reverse *rv, struct rp_tls_front **out);
void rp__tls_front_accept(struct rp_tls_front *f, unsigned listener, int fd);
void rp__tls_front_stop(struct rp_tls_front *f);
void rp__tls_front_fini(struct rp_tls_front *f);

extern const struct rp_reverse_half rp__l4_half;
extern const struct rp_reverse_half rp__l7_half;
extern const struct rp_service_ops rp__reverse_service;

#endif

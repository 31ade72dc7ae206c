/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * limits.h - per-client limits of a listener (its limits mapping): how many
 * connections one client address may hold open and how many requests it may
 * start per second (a token bucket with a burst). Each reactor enforces its
 * share on its own, shared-nothing: the rate of a reactor is client_rps /
 * reactors and its burst and connection cap are client_burst / reactors and
 * client_conns / reactors rounded up. The kernel's SO_REUSEPORT hash spreads
 * one client's connections over the reactors, so the sum is the configured
 * rate when they spread evenly and a client of a single connection gets one
 * reactor's share (docs/config.md says so).
 *
 * Clients are kept in a bounded, set-associative table per reactor, keyed
 * per listener and address (IPv6 by /64, net.h's rp__addr_client_key()),
 * allocated once: nothing is allocated per connection or request.
 */
#ifndef RP_LIMITS_H
#define RP_LIMITS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ringproxy/ringproxy.h"

/* ---- the token bucket ---------------------------------------------------- */

/* One reactor's rate, in units where a request costs @cost: @rate units
 * come in per ms and at most @cap are kept. With rps r over R reactors,
 * cost = 1000 R and rate = r, so r / R requests per second are exact. */
struct rp_rate {
	uint64_t cost, rate, cap;
};

struct rp_bucket {
	uint64_t units;
	uint64_t last_ms;
};

/* The share of one of @nreactors reactors of @rps with a burst of @burst
 * requests (0: one second's worth). */
void rp__rate_init(struct rp_rate *q, unsigned rps, unsigned burst, unsigned nreactors);
/* A full bucket at @now_ms. */
void rp__bucket_fill(const struct rp_rate *q, struct rp_bucket *b, uint64_t now_ms);
/* Takes one request's worth: true, or false and in @retry_s (when not NULL)
 * the seconds until one is there, at least 1 (for Retry-After). */
bool rp__bucket_take(const struct rp_rate *q, struct rp_bucket *b, uint64_t now_ms,
		     unsigned *retry_s);

/* ---- the clients of a reactor ---------------------------------------------- */

struct rp_limits;

/* For @cfg's listeners that have limits, as one of @nreactors reactors,
 * counting refusals in @stats: 0 and in @out the table, or NULL when no
 * listener has limits; -ENOMEM. The first refusal of a client in each
 * RP_LIMITS_LOG_MS is logged, the others only counted. */
#define RP_LIMITS_LOG_MS 10000
int rp__limits_new(const struct rp_config *cfg, unsigned nreactors,
		   struct rp_stats *stats, struct rp_limits **out);
void rp__limits_free(struct rp_limits *l);

/* Whether @listener caps connections per client. */
bool rp__limits_conns_on(const struct rp_limits *l, unsigned listener);
/* A connection @fd of @client on @listener: true when it may stay (it is
 * then counted until rp__limits_conn_closed(@fd)); false when the client
 * holds its share already. */
bool rp__limits_conn_open(struct rp_limits *l, unsigned listener, int fd,
			  const struct sockaddr *client, uint64_t now_ms);
/* @fd closes; nothing when it was not counted. */
void rp__limits_conn_closed(struct rp_limits *l, int fd);

/* A request (or tunnel) of @client on @listener: true when within the rate,
 * or false with the seconds for Retry-After in @retry_s. */
bool rp__limits_request(struct rp_limits *l, unsigned listener,
			const struct sockaddr *client, uint64_t now_ms,
			unsigned *retry_s);
/* The same for the rate of route @route (cfg->routes), which counts the
 * requests of a client it takes from every listener it applies to. */
bool rp__limits_route_request(struct rp_limits *l, unsigned route,
			      const struct sockaddr *client, uint64_t now_ms,
			      unsigned *retry_s);

#endif

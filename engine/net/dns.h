/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dns.h - asynchronous name resolution for a reactor: c-ares, its sockets
 * polled with ring poll ops and its timeouts on the reactor's timer wheel, so
 * a lookup never blocks the reactor; a per-reactor cache honouring TTLs
 * clamped to [min, max]; the hosts file first.
 *
 * One struct rp_dns per reactor, used only from that reactor's thread. The
 * order of answers: IP literals, then the hosts file (read once, at init),
 * then "localhost" and names under ".localhost" (RFC 6761 6.3: loopback), then
 * the cache, then DNS (A and AAAA asked together). Concurrent lookups of one
 * name share one DNS query.
 */
#ifndef RP_DNS_H
#define RP_DNS_H

#include <stdint.h>
#include <sys/socket.h>

#include "core/core.h"

#define RP_DNS_MAX_ADDRS 8

/* Zero in a field selects its default. */
struct rp_dns_config {
	unsigned timeout_ms;	       /* whole lookup; default 5000 */
	unsigned min_ttl_s, max_ttl_s; /* max default 3600; min <= max */
	const char *servers;	       /* "IP[:PORT],..."; NULL or "": resolv.conf */
	const char *hosts_file;	       /* NULL or "": /etc/hosts (may be absent) */
	unsigned cache_entries;	       /* per reactor; default 4096 */
};

struct rp_dns;
struct rp_dns_query;

/*
 * @status: 0 with @n >= 1 addresses (port 0; IPv6 first, then IPv4, each in
 * the order the resolver gave them; when both families are present IPv4 keeps
 * at least RP_DNS_MAX_ADDRS / 2 of the places, so a host without IPv6 still
 * has something to try), or -ENOENT (no such name: NXDOMAIN), -ENODATA (the
 * name exists but has no address of either family), -ETIMEDOUT,
 * -ECONNREFUSED (no server gave a usable answer: refused, SERVFAIL,
 * unreachable), -EINVAL (not a valid name), -ENOMEM (too many lookups in
 * flight, or out of memory), -EIO (any other resolver failure). @addrs is
 * only valid during the call.
 */
typedef void (*rp_dns_cb)(void *arg, int status, const struct sockaddr_storage *addrs,
			  unsigned n);

/*
 * Creates the resolver of reactor @r (its ring, wheel and now_ms are used
 * from the first rp__dns_resolve() on, never here, so the control thread may
 * call this before the reactor starts) and reads resolv.conf and the hosts
 * file, the only file reads. @cfg may be NULL (all defaults); its strings are
 * not kept. 0, or -errno with the reason in @err.
 */
int rp__dns_init(struct rp_dns **out, struct rp_reactor *r,
		 const struct rp_dns_config *cfg, char *err, size_t errlen);
/*
 * Resolves @host: a name, or an IP literal ("192.0.2.1", "2001:db8::1",
 * "[2001:db8::1]"). A name is 1..253 characters (a final dot aside) of
 * labels of 1..63 letters, digits, '-' and '_', matched case-insensitively;
 * a name whose last label is all digits is refused (-EINVAL), as it could
 * only be a malformed address. An IP literal, a hosts-file name, a cached
 * answer or an invalid name calls @cb before this returns, and NULL is
 * returned; otherwise the lookup runs on the ring and a handle comes back,
 * which rp__dns_cancel() can use until @cb runs. @cb runs at most
 * cfg->timeout_ms after the call (with -ETIMEDOUT if nothing came). @cb may
 * call rp__dns_resolve() and rp__dns_cancel(), never rp__dns_fini().
 */
struct rp_dns_query *rp__dns_resolve(struct rp_dns *d, const char *host, rp_dns_cb cb,
				     void *arg);
/* @cb will not run. The DNS query behind @q goes on and its answer still
 * fills the cache. @q may be NULL. */
void rp__dns_cancel(struct rp_dns_query *q);
/* Stops everything (callbacks of pending lookups do not run) and frees @d.
 * Called on the reactor's thread (a SINGLE_ISSUER ring takes its SQEs from
 * no other) once its loop has ended: a poll CQE still in flight is never
 * dispatched. @d may be NULL. */
void rp__dns_fini(struct rp_dns *d);

struct rp_dns_stats {
	uint64_t hits;	    /* answered from the cache */
	uint64_t misses;    /* went to DNS (or joined a lookup in flight) */
	uint64_t coalesced; /* joined a lookup in flight */
	uint64_t lookups;   /* DNS lookups started */
	uint64_t timeouts;  /* callers answered -ETIMEDOUT by our own timer */
	uint64_t errors;    /* lookups that ended in an error (not -ENOENT) */
	uint64_t evictions; /* live cache entries dropped for room */
	unsigned cached;    /* cache entries in use */
	unsigned pending;   /* DNS lookups in flight */
	unsigned sockets;   /* sockets c-ares has open */
	unsigned polls;	    /* poll ops on the ring (their CQE not yet seen) */
};
void rp__dns_get_stats(const struct rp_dns *d, struct rp_dns_stats *st);

#endif

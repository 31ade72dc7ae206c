/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * auth.h - a reactor's authenticator for forward listeners with users: the
 * verdict cache (policy.h), the throttle of addresses that fail too often,
 * and password checks sent to the helper threads (core.h) so that PBKDF2
 * never runs on a reactor. A connection that needs a check embeds a struct
 * rp_auth_wait and is told the verdict later, as it is told a DNS answer.
 */
#ifndef RP_AUTH_H
#define RP_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct rp_reactor;
struct rp_users;

enum rp_auth_verdict {
	RP_AUTH_NONE,	   /* not decided yet */
	RP_AUTH_OK,	   /* valid credentials, or none needed */
	RP_AUTH_DENIED,	   /* missing or wrong: 407, SOCKS5 status 0x01 */
	RP_AUTH_THROTTLED, /* the address is blocked: 429 + Retry-After */
	RP_AUTH_BUSY,	   /* too many checks queued: 503 + Retry-After */
	RP_AUTH_PENDING,   /* queued: done() will be called */
};

struct rp_auth_job;

/* What a connection waiting for a verdict embeds (zeroed with it). */
struct rp_auth_wait {
	/* Called on the reactor with the verdict in @verdict (never
	 * RP_AUTH_PENDING), unless rp__fwd_auth_cancel() came first. */
	void (*done)(struct rp_auth_wait *w);
	enum rp_auth_verdict verdict;
	unsigned retry_after_s;	 /* THROTTLED, BUSY: for Retry-After */
	struct rp_auth_job *job; /* while pending */
};

/* ---- the throttle ------------------------------------------------------------
 * Failed logins are counted per client address in a bounded table: after
 * @limit failures within @window_ms (a fixed window that the first failure
 * opens) the address is blocked for @block_ms. IPv4 addresses count one by
 * one (IPv4-mapped IPv6 as IPv4); IPv6 ones by their /64, which one host or
 * site holds whole. The table is set-associative, hashed under a random
 * seed: an address that finds its set full evicts an entry that is not
 * blocked (the oldest window), or when all are, the block nearest its end.
 */
#define RP_THROTTLE_KEY 9 /* RP_CLIENT_KEY (net.h): family, then 4 or 8 bytes */
struct rp_auth_throttle;
/* @entries rounded up to a power of two (at least 4, at most 2^20); @limit
 * 0 blocks nothing. NULL on allocation failure. */
struct rp_auth_throttle *rp__throttle_new(unsigned entries, unsigned limit,
					  unsigned window_ms, unsigned block_ms);
void rp__throttle_free(struct rp_auth_throttle *t);
/* The key @sa is counted under; false for a family other than AF_INET(6). */
bool rp__throttle_key(const struct sockaddr *sa, uint8_t key[RP_THROTTLE_KEY]);
/* How many ms @sa stays blocked from @now_ms; 0 when it is not. */
uint64_t rp__throttle_blocked(const struct rp_auth_throttle *t, const struct sockaddr *sa,
			      uint64_t now_ms);
/* Counts a failure of @sa: true when it begins a block. */
bool rp__throttle_fail(struct rp_auth_throttle *t, const struct sockaddr *sa,
		       uint64_t now_ms);

/* ---- the authenticator ---------------------------------------------------- */
struct rp_fwd_auth;
/* For reactor @r, sized by its configuration (auth_queue, auth_fail_cache,
 * auth_fail_limit, auth_fail_window_ms, auth_block_ms): 0 or -ENOMEM. */
int rp__fwd_auth_new(struct rp_reactor *r, struct rp_fwd_auth **out);
/* The helpers must be done with its jobs (rp__helpers_quiesce()). */
void rp__fwd_auth_free(struct rp_fwd_auth *a);
/* Whether @client (NULL: unknown, never blocked) is blocked: then @w holds
 * RP_AUTH_THROTTLED and its retry_after_s, and the refusal is counted. */
bool rp__fwd_auth_blocked(struct rp_fwd_auth *a, struct rp_auth_wait *w,
			  const struct sockaddr *client);
/*
 * The verdict on @user/@pass in @u for @client: at once (in w->verdict and
 * returned) when the address is blocked, the cache knows the pair or no
 * check can be queued; RP_AUTH_PENDING when a helper thread checks it, and
 * w->done() is called with the verdict. The caller keeps @w (and @u) valid
 * until then or until rp__fwd_auth_cancel(). The password is copied for the
 * helper and wiped once checked. Failures, cached or not, count towards the
 * throttle; the block they begin is logged once.
 */
enum rp_auth_verdict rp__fwd_auth_check(struct rp_fwd_auth *a, struct rp_auth_wait *w,
					const struct rp_users *u,
					const struct sockaddr *client, const char *user,
					size_t ulen, const char *pass, size_t plen);
/* The waiting connection goes: its check is skipped if it has not started,
 * and its verdict (still counted and cached) reaches nobody. */
void rp__fwd_auth_cancel(struct rp_auth_wait *w);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * forward.h - the forward proxy (mode forward listeners), one half of the
 * proxy service of each reactor (reverse/reverse.h).
 */
#ifndef RP_FORWARD_H
#define RP_FORWARD_H

#include "forward/auth.h"
#include "reverse/reverse.h"

extern const struct rp_reverse_half rp__forward_half;

struct rp_http_request;
struct rp_dns;

/* For absolute-form HTTP requests, which the HTTP half (l7.c) serves on a
 * forward listener's connections: the forward half's resolver and policy.
 * @fwd is the forward half's state (rp_reverse.fwd), @li the listener. */
struct rp_dns *rp__forward_dns(void *fwd);
/*
 * Whether @req, from @client (NULL: unknown), carries the credentials of a
 * user: RP_AUTH_OK at once when the listener has no users, otherwise as
 * rp__fwd_auth_check() (auth.h) decides, @w told later when a helper thread
 * must check the password. Without credentials: RP_AUTH_DENIED (or
 * THROTTLED for a blocked address), not counted as a failure, since a
 * client's first request without them is how Basic authentication starts.
 */
enum rp_auth_verdict rp__forward_http_auth(void *fwd, unsigned li,
					   const struct sockaddr *client, const char *buf,
					   const struct rp_http_request *req,
					   struct rp_auth_wait *w);
/* Block list and rules on a name: 0, or -EACCES. *@named is set when an
 * allow rule names the destination (the SSRF guard then lets it through). */
int rp__forward_name_check(void *fwd, unsigned li, const struct sockaddr *client,
			   const char *host, uint16_t port, bool *named);
/* Rules and the SSRF guard on a resolved address (port set). */
bool rp__forward_addr_check(void *fwd, unsigned li, const struct sockaddr *client,
			    const char *host, const struct sockaddr *dest, bool named);

/* The listener's parent proxy: 0 none, 1 http (its address in *@out),
 * 2 socks5. */
int rp__forward_parent(void *fwd, unsigned li, struct rp_addr *out);
/* The Proxy-Authorization value for an HTTP parent with credentials
 * ("Basic ..."), or NULL. */
const char *rp__forward_parent_auth(void *fwd, unsigned li);

/* Why an origin was not reached, for the client's error body and the log. */
enum rp_fwd_fail {
	RP_FWD_FAIL_NONE,
	RP_FWD_FAIL_DNS,      /* @err: the resolver's status (dns.h) */
	RP_FWD_FAIL_CONNECT,  /* @err: the connect's -errno, -ETIMEDOUT */
	RP_FWD_FAIL_RESPONSE, /* the head of the response did not come in time */
};
/* The status that answers it: 504 for a timeout, 400 for a name that could
 * not be one, else 502 (the DNS failed or the destination refused). */
unsigned rp__forward_fail_status(enum rp_fwd_fail kind, int err);
/*
 * One line into @out (@cap bytes, NUL-terminated, truncated to fit) naming
 * @host:@port as the client asked (@host may be a bare IPv6 literal, or ""
 * when @addr is all there is), @addr the address tried (NULL: none) and
 * why: the resolver's answer ("no such name (NXDOMAIN)"), the errno text
 * ("Connection refused") or the @timeout_ms that passed. @parent: @addr is
 * the parent proxy's.
 */
void rp__forward_fail_text(char *out, size_t cap, enum rp_fwd_fail kind, int err,
			   const char *host, uint16_t port, const struct sockaddr *addr,
			   bool parent, unsigned timeout_ms);

/* The HTTP half takes over an accepted forward connection whose first
 * @len bytes (an absolute-form request head, maybe more) were read. */
void rp__l7_adopt(void *l7, unsigned listener, int fd, const void *bytes, unsigned len);

#endif

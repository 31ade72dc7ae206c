/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * policy.h - what the forward proxy allows: CIDRs, access rules (client,
 * destination host or CIDR, port), the SSRF guard's address classes, domain
 * block lists looked up in O(1), and the users table with hashed passwords.
 * Everything is built once from the configuration and read only afterwards,
 * so reactors and helper threads may share it; the auth cache is the one
 * mutable part and is per reactor.
 */
#ifndef RP_POLICY_H
#define RP_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ringproxy/ringproxy.h"

struct rp_cidr {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t prefix;
	uint8_t addr[16]; /* masked; IPv4 in the first 4 bytes */
};

/*
 * "10.0.0.0/8", "192.0.2.1" (/32), "::1/128", "fd00::/8". Strict: IPv4 is
 * exactly four decimal octets without leading zeros ("010.0.0.1" could be
 * read as octal and is refused), the prefix is decimal without leading zeros
 * and at most 32 or 128, no spaces, no zone ("%eth0"). Host bits beyond the
 * prefix are accepted and cleared ("192.0.2.7/24" is 192.0.2.0/24). An IPv6
 * CIDR inside ::ffff:0:0/96 is stored as the IPv4 CIDR it denotes
 * ("::ffff:10.0.0.0/104" is 10.0.0.0/8). 0 or -EINVAL.
 */
int rp__cidr_parse(const char *s, struct rp_cidr *out);
/*
 * Whether @sa (AF_INET or AF_INET6; anything else never matches) is inside
 * @c. An IPv4-mapped IPv6 address (::ffff:a.b.c.d) matches IPv4 CIDRs, and an
 * IPv4 address matches an IPv6 CIDR that covers its mapped form (so "::/0"
 * matches every client).
 */
bool rp__cidr_match(const struct rp_cidr *c, const struct sockaddr *sa);

/*
 * The SSRF guard: the class of a destination address that must not be
 * reached by default, or NULL for a public address. IPv4: "this-network"
 * (0.0.0.0/8; "unspecified" for 0.0.0.0 itself, which Linux connects to
 * the local host), "private" (RFC 1918), "loopback", "link-local"
 * (169.254/16, cloud metadata included), "CGNAT" (100.64/10), "multicast",
 * "broadcast" (255.255.255.255), "reserved" (192.0.0/24, the documentation
 * and benchmarking ranges, 240/4). IPv6: "unspecified" (::), "loopback"
 * (::1), "link-local" (fe80::/10), "unique-local" (fc00::/7), "multicast",
 * "site-local" (fec0::/10, deprecated but still routed inside some sites),
 * "discard" (100::/64), "reserved" (2001:db8::/32, and the local-use NAT64
 * prefix 64:ff9b:1::/48 whose embedded address cannot be located).
 * IPv4-mapped (::ffff:0:0/96), IPv4-translated (::ffff:0:0:0/96) and
 * IPv4-compatible (::/96) forms, NAT64 (64:ff9b::/96) and 6to4 (2002::/16)
 * are judged by the IPv4 address they embed. Another address family gives
 * "unknown-family". The strings are static.
 */
const char *rp__ssrf_class(const struct sockaddr *sa);

/*
 * Whether forward listener @l serves whoever can reach it: bound to an
 * address that is not loopback (127.0.0.0/8, ::1; 0.0.0.0 and :: are every
 * address), with no users file and access rules that let an arbitrary
 * client in: no rule that applies to every client denies them before one
 * allows them (a request that no rule matches is allowed). Such a listener
 * is refused by every configuration check (command line, file, engine): an
 * open proxy on a reachable address gets found and abused, and the SSRF
 * guard protects only what is behind it. An allow rule for client 0.0.0.0/0
 * (or ::/0) is how an operator opens it to everyone on purpose. False for
 * other modes.
 */
bool rp__forward_open_proxy(const struct rp_listener_config *l);

/* Compiled access rules of one listener. */
struct rp_acl;
/*
 * Compiles @n rules (the configuration's order) into *@out, to be released
 * with rp__acl_free(); @n may be 0. A rule's client is a CIDR; its dest is
 * a CIDR (or a bare address), an exact host name, or "*.suffix" (any name
 * strictly below suffix); names are compared case-insensitively, trailing
 * dots ignored. Ports: both 0 is any port, port_max 0 alone means port_min
 * only, otherwise port_min..port_max inclusive. 0, -ENOMEM, or -EINVAL with
 * a message naming the rule (index from 0) in @err.
 */
int rp__acl_build(const struct rp_acl_rule *rules, unsigned n, struct rp_acl **out,
		  char *err, size_t errlen);
void rp__acl_free(struct rp_acl *a);

enum rp_acl_verdict {
	RP_ACL_NONE,  /* no rule matched */
	RP_ACL_ALLOW, /* an allow rule matched */
	RP_ACL_DENY,  /* a deny rule matched */
};
/*
 * The first rule matching @client connecting to @host (a name, or NULL when
 * the client gave an address) / @dest (the resolved or given address, or NULL
 * when not known yet) : @port. A rule with a CIDR destination cannot match
 * before @dest is known; a rule with a name destination cannot match without
 * @host. A NULL @client matches only rules without a client condition. The
 * rule that decided (a static description such as "acl rule 2 (deny
 * *.example.com)", for logs) goes to *@why, NULL when none matched; @why may
 * be NULL.
 *
 * Because CIDR rules are skipped while @dest is NULL, a verdict taken before
 * resolution is provisional: the final check must be made with the address.
 */
enum rp_acl_verdict rp__acl_check(const struct rp_acl *a, const struct sockaddr *client,
				  const char *host, const struct sockaddr *dest,
				  uint16_t port, const char **why);

/* A domain block list: one domain per line ('#' comments, blank lines and
 * surrounding spaces ignored; case-insensitive; a trailing dot is ignored);
 * a name is blocked when it or any parent domain is listed. Hash set:
 * O(labels) per lookup. A line that is not a domain name (letters, digits,
 * '-', '_', labels of 1..63 bytes, 253 bytes in all) is an error naming the
 * file and line; "*.x" is refused (listing x blocks its subdomains already).
 * 0, -ENOMEM, -EINVAL, or the -errno of opening/reading the file. */
struct rp_blocklist;
int rp__blocklist_load(const char *path, struct rp_blocklist **out, char *err,
		       size_t errlen);
/* @host: a name, any case, with or without trailing dots; NULL: false. */
bool rp__blocklist_match(const struct rp_blocklist *b, const char *host);
/* Distinct domains listed. */
size_t rp__blocklist_size(const struct rp_blocklist *b);
void rp__blocklist_free(struct rp_blocklist *b);

/*
 * PBKDF2-HMAC-SHA256 work factor. The default costs about 6.5 ms of one core
 * here (a 2020s Xeon; 100000 iterations measured 16 ms), paid on a helper
 * thread by an unknown pair once per cache lifetime. The limits are enforced
 * when a users file is loaded: below the minimum a leaked file is too cheap
 * to crack; above the maximum one check would hold a helper (and every
 * check queued behind it) for too long.
 */
#define RP_USERS_DEFAULT_ITERATIONS 40000
#define RP_USERS_MIN_ITERATIONS	    10000
#define RP_USERS_MAX_ITERATIONS	    200000
#define RP_USERS_HASH_MAX	    128 /* rp__users_hash() output, NUL included */
#define RP_USERS_NAME_MAX	    255 /* bytes of a user name */

/*
 * Users: one "name:HASH" per line ('#' comments, blank lines and surrounding
 * spaces ignored), HASH as rp__users_hash() writes it:
 * "$pbkdf2-sha256$ITERATIONS$SALT$KEY", SALT (8..64 bytes) and KEY (16..64
 * bytes) in base64 with the standard alphabet (RFC 4648 section 4: '+' and
 * '/', not passlib's '.'), '=' padding optional. Names are 1..255 bytes
 * without ':', spaces or control characters, each listed once. Plain-text
 * passwords, other schemes and iteration counts outside the limits are
 * refused with an error naming the file and line. 0, -ENOMEM, -EINVAL, or
 * the -errno of opening/reading the file.
 */
struct rp_users;
int rp__users_load(const char *path, struct rp_users **out, char *err, size_t errlen);
void rp__users_free(struct rp_users *u);
/* Users listed. */
size_t rp__users_size(const struct rp_users *u);
/*
 * Writes a new hash of @pass (16 random bytes of salt, 32 bytes of key, both
 * base64 without padding) and a NUL into @out: its length, -EINVAL for
 * @iterations outside the limits (0 takes the default), -ENOSPC when @cap is
 * short (RP_USERS_HASH_MAX is enough), -ENOMEM.
 */
int rp__users_hash(const char *pass, size_t plen, unsigned iterations, char *out,
		   size_t cap);

/*
 * Verification against @u by PBKDF2, with no cache: the name/password pair
 * is valid. Reads @u only, so helper threads may call it while reactors use
 * the same table. An unknown name is checked against a dummy hash with the
 * table's largest iteration count, so the time taken does not tell which
 * names exist.
 */
bool rp__users_verify(const struct rp_users *u, const char *user, size_t ulen,
		      const char *pass, size_t plen);

/*
 * A reactor's cache of verdicts: a name/password pair that verified is
 * remembered for @ttl_ms (a client opening many connections pays the PBKDF2
 * cost once), one that failed for @fail_ttl_ms (a client repeating a wrong
 * password costs nothing more), in two tables so that a flood of failures
 * never evicts a success. Entries are keyed by HMAC-SHA256, under a random
 * key of this cache, of the pair and of the users table it was checked
 * against, never by the password itself: a reloaded table misses every
 * entry of the old one. Each table's @entries is rounded up to a power of
 * two (at least 4, at most 2^20); a ttl of 0 stores nothing. NULL on
 * allocation failure. Not thread-safe: one per reactor.
 */
#define RP_AUTH_TAG_LEN 16
struct rp_auth_cache;
struct rp_auth_cache *rp__auth_cache_new(unsigned entries, unsigned ttl_ms,
					 unsigned fail_entries, unsigned fail_ttl_ms);
void rp__auth_cache_free(struct rp_auth_cache *c);
/* Lookups answered from the cache (either verdict), and those that were not. */
void rp__auth_cache_stats(const struct rp_auth_cache *c, uint64_t *hits,
			  uint64_t *misses);
/* The key of @user/@pass checked against @u in @c (the HMAC above). */
void rp__auth_cache_tag(const struct rp_auth_cache *c, const struct rp_users *u,
			const char *user, size_t ulen, const char *pass, size_t plen,
			uint8_t tag[RP_AUTH_TAG_LEN]);
/* 1: a remembered success, 0: a remembered failure, -ENOENT: neither (or
 * expired). @now_ms is the caller's monotonic clock. */
int rp__auth_cache_lookup(struct rp_auth_cache *c, const uint8_t *tag, uint64_t now_ms);
/* Remembers a verdict: into a free way of the tag's set, or over the entry
 * of that set closest to expiring. */
void rp__auth_cache_store(struct rp_auth_cache *c, const uint8_t *tag, bool ok,
			  uint64_t now_ms);
/*
 * Whether @user/@pass are valid in @u, synchronously: the cache (@c may be
 * NULL), then rp__users_verify() on a miss, whose verdict is stored. For
 * tests and tools: a reactor verifies through the helper threads instead
 * (forward/auth.h).
 */
bool rp__users_check(const struct rp_users *u, struct rp_auth_cache *c, uint64_t now_ms,
		     const char *user, size_t ulen, const char *pass, size_t plen);

/*
 * Basic credentials (RFC 7617) from a Proxy-Authorization value: the scheme
 * "Basic" (any case), one or more spaces, then base64 with the standard
 * alphabet and its '=' padding (canonical: unused bits zero), spaces and tabs
 * around ignored. The decoded "user:pass" splits at its first ':' and may not
 * hold control characters. 0 and the name and password (NUL-terminated, in
 * the caller's buffers of @ucap and @pcap bytes), or -EINVAL (malformed, or
 * a part that does not fit).
 */
int rp__basic_auth_decode(const char *value, size_t len, char *user, size_t ucap,
			  char *pass, size_t pcap);
/*
 * The other way, for a parent proxy: "Basic " and the padded base64 of
 * "user:pass" into @out (@cap bytes, NUL included; RP_BASIC_AUTH_MAX is
 * enough for a 255-byte name and password). Its length, -EINVAL for a part
 * too long, or -ENOSPC.
 */
#define RP_BASIC_AUTH_MAX (6 + (255 + 1 + 255 + 2) / 3 * 4 + 1)
int rp__basic_auth_encode(const char *user, const char *pass, char *out, size_t cap);

#endif

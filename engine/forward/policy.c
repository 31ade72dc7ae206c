// SPDX-License-Identifier: BSD-2-Clause
/*
 * policy.c - the forward proxy's policy objects: strict CIDR parsing and
 * matching, the SSRF guard's classification of special-purpose addresses
 * (RFC 6890 and its IPv6 registry), which also tells a listener that would
 * be an open proxy, access rules compiled from the configuration, domain
 * block lists in an open-addressing hash set, and the users table
 * (PBKDF2-HMAC-SHA256 hashes, BoringSSL) with its per-reactor cache of
 * recent successes and failures. Everything but the cache is built once and
 * read only afterwards (helper threads verify against it).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/base.h>
#ifndef OPENSSL_IS_BORINGSSL
#error "policy.c is built against BoringSSL's headers (/usr/include/android)"
#endif
#include <openssl/digest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/mem.h>
#include <openssl/rand.h>

#include "forward/policy.h"

#define NAME_MAX_LEN  253 /* a domain name in text form, trailing dot excluded */
#define LABEL_MAX_LEN 63

static inline unsigned char ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static bool caseeq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ascii_lower((unsigned char)a[i]) != ascii_lower((unsigned char)b[i]))
			return false;
	return true;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Trims spaces in place at both ends of a NUL-terminated line. */
static char *trim(char *s)
{
	size_t n;

	while (is_space(*s))
		s++;
	n = strlen(s);
	while (n && is_space(s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* The length of @host without its trailing dots. */
static size_t host_len(const char *host)
{
	size_t n = strlen(host);

	while (n && host[n - 1] == '.')
		n--;
	return n;
}

/*
 * Validates a domain name of @len bytes (one trailing dot allowed) and writes
 * it lowercased, without the dot, to @out (at least NAME_MAX_LEN + 1 bytes).
 * Letters, digits, '-' and '_' (service names such as _dmarc appear in real
 * lists), labels of 1..63 bytes, and a last label that is not all digits
 * (RFC 1123 section 2.1: "010.0.0.1" or "1.2.3" is a mistyped address, not a
 * name). Its length or -EINVAL.
 */
static int name_normalize(const char *s, size_t len, char *out)
{
	bool digits = true;
	size_t label = 0;

	if (len && s[len - 1] == '.')
		len--;
	if (!len || len > NAME_MAX_LEN)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = ascii_lower((unsigned char)s[i]);

		if (c == '.') {
			if (!label)
				return -EINVAL;
			label = 0;
			digits = true;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
			   c == '_') {
			if (++label > LABEL_MAX_LEN)
				return -EINVAL;
			digits = digits && c >= '0' && c <= '9';
		} else {
			return -EINVAL;
		}
		out[i] = (char)c;
	}
	if (!label || digits)
		return -EINVAL;
	out[len] = '\0';
	return (int)len;
}

/* ---- CIDRs ---------------------------------------------------------------- */

/* A decimal number without leading zeros, at most @max; advances *@s. */
static int parse_dec(const char **s, unsigned max, unsigned *out)
{
	const char *p = *s;
	unsigned v = 0;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	if (p[0] == '0' && p[1] >= '0' && p[1] <= '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned)(*p - '0');
		if (v > max)
			return -EINVAL;
	}
	*s = p;
	*out = v;
	return 0;
}

/* Exactly "a.b.c.d", decimal, no leading zeros, nothing after. */
static int parse_v4(const char *s, uint8_t out[4])
{
	for (int i = 0; i < 4; i++) {
		unsigned v;

		if (i && *s++ != '.')
			return -EINVAL;
		if (parse_dec(&s, 255, &v) < 0)
			return -EINVAL;
		out[i] = (uint8_t)v;
	}
	return *s ? -EINVAL : 0;
}

static int parse_v6(const char *s, uint8_t out[16])
{
	const char *dot = strchr(s, '.');
	uint8_t v4[4];

	for (const char *p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
		      (*p >= 'A' && *p <= 'F') || *p == ':' || *p == '.'))
			return -EINVAL;
	/* An embedded dotted quad obeys the IPv4 rules whatever libc allows. */
	if (dot) {
		const char *colon = strrchr(s, ':');

		if (!colon || colon > dot || parse_v4(colon + 1, v4) < 0)
			return -EINVAL;
	}
	return inet_pton(AF_INET6, s, out) == 1 ? 0 : -EINVAL;
}

static void mask_prefix(uint8_t *a, unsigned prefix, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++) {
		if (prefix >= 8 * (i + 1))
			continue;
		if (prefix <= 8 * i)
			a[i] = 0;
		else
			a[i] &= (uint8_t)(0xff << (8 - (prefix - 8 * i)));
	}
}

static bool prefix_eq(const uint8_t *net, const uint8_t *a, unsigned prefix)
{
	unsigned full = prefix / 8, rest = prefix % 8;

	if (memcmp(net, a, full))
		return false;
	return !rest || !((net[full] ^ a[full]) & (uint8_t)(0xff << (8 - rest)));
}

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int rp__cidr_parse(const char *s, struct rp_cidr *out)
{
	char buf[INET6_ADDRSTRLEN];
	struct rp_cidr c = {0};
	const char *slash;
	unsigned prefix, max;
	size_t alen;

	memset(out, 0, sizeof(*out));
	if (!s)
		return -EINVAL;
	slash = strchr(s, '/');
	alen = slash ? (size_t)(slash - s) : strlen(s);
	if (!alen || alen >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (strchr(buf, ':')) {
		if (parse_v6(buf, c.addr) < 0)
			return -EINVAL;
		c.family = AF_INET6;
		max = 128;
	} else {
		if (parse_v4(buf, c.addr) < 0)
			return -EINVAL;
		c.family = AF_INET;
		max = 32;
	}
	prefix = max;
	if (slash) {
		const char *p = slash + 1;

		if (parse_dec(&p, max, &prefix) < 0 || *p)
			return -EINVAL;
	}
	if (c.family == AF_INET6 && prefix >= 96 &&
	    !memcmp(c.addr, v4mapped_prefix, sizeof(v4mapped_prefix))) {
		memmove(c.addr, c.addr + 12, 4);
		memset(c.addr + 4, 0, 12);
		c.family = AF_INET;
		prefix -= 96;
	}
	c.prefix = (uint8_t)prefix;
	mask_prefix(c.addr, prefix, sizeof(c.addr));
	*out = c;
	return 0;
}

/* The address of @sa in @a: AF_INET (4 bytes, mapped IPv6 included),
 * AF_INET6 (16 bytes) or 0 for another family. */
static int sockaddr_ip(const struct sockaddr *sa, uint8_t a[16])
{
	if (!sa)
		return 0;
	if (sa->sa_family == AF_INET) {
		memcpy(a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return AF_INET;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(a, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		if (!memcmp(a, v4mapped_prefix, sizeof(v4mapped_prefix))) {
			memmove(a, a + 12, 4);
			return AF_INET;
		}
		return AF_INET6;
	}
	return 0;
}

bool rp__cidr_match(const struct rp_cidr *c, const struct sockaddr *sa)
{
	uint8_t a[16];
	int family = sockaddr_ip(sa, a);

	if (!family)
		return false;
	if (c->family == AF_INET)
		return family == AF_INET && prefix_eq(c->addr, a, c->prefix);
	if (family == AF_INET) {
		memmove(a + 12, a, 4);
		memcpy(a, v4mapped_prefix, sizeof(v4mapped_prefix));
	}
	return prefix_eq(c->addr, a, c->prefix);
}

/* ---- the SSRF guard --------------------------------------------------------- */

/* RFC 6890's IPv4 special-purpose registry, the parts a proxy must not reach
 * on a client's behalf; first match wins. */
static const struct {
	uint32_t net;
	uint8_t len;
	const char *cls;
} ssrf_v4_table[] = {
	{0x00000000, 32, "unspecified"}, /* Linux connects 0.0.0.0 to itself */
	{0x00000000, 8, "this-network"},
	{0x0a000000, 8, "private"},
	{0x64400000, 10, "CGNAT"},
	{0x7f000000, 8, "loopback"},
	{0xa9fe0000, 16, "link-local"}, /* 169.254.169.254: cloud metadata */
	{0xac100000, 12, "private"},
	{0xc0000000, 24, "reserved"}, /* IETF protocol assignments */
	{0xc0000200, 24, "reserved"}, /* TEST-NET-1 */
	{0xc0a80000, 16, "private"},
	{0xc6120000, 15, "reserved"}, /* benchmarking */
	{0xc6336400, 24, "reserved"}, /* TEST-NET-2 */
	{0xcb007100, 24, "reserved"}, /* TEST-NET-3 */
	{0xe0000000, 4, "multicast"},
	{0xffffffff, 32, "broadcast"},
	{0xf0000000, 4, "reserved"},
};

static const char *ssrf_v4(const uint8_t *a)
{
	uint32_t x =
		(uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];

	for (size_t i = 0; i < sizeof(ssrf_v4_table) / sizeof(ssrf_v4_table[0]); i++) {
		uint32_t mask = ~0u << (32 - ssrf_v4_table[i].len);

		if ((x & mask) == ssrf_v4_table[i].net)
			return ssrf_v4_table[i].cls;
	}
	return NULL;
}

static const char *ssrf_v6(const uint8_t *a)
{
	static const uint8_t zero[16];

	if (!memcmp(a, zero, 16))
		return "unspecified";
	if (!memcmp(a, zero, 15) && a[15] == 1)
		return "loopback";
	/* Forms that carry an IPv4 address, which is what gets reached. */
	if (!memcmp(a, v4mapped_prefix, 12)) /* ::ffff:0:0/96 */
		return ssrf_v4(a + 12);
	if (!memcmp(a, zero, 12)) /* ::/96, IPv4-compatible (deprecated) */
		return ssrf_v4(a + 12);
	if (!memcmp(a, zero, 8) && a[8] == 0xff && a[9] == 0xff && !a[10] && !a[11])
		return ssrf_v4(a + 12); /* ::ffff:0:0:0/96, IPv4-translated */
	if (a[0] == 0 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b) {
		if (!memcmp(a + 4, zero, 8)) /* 64:ff9b::/96, NAT64 */
			return ssrf_v4(a + 12);
		if (!a[4] && a[5] == 1) /* 64:ff9b:1::/48, local-use NAT64 */
			return "reserved";
	}
	if (a[0] == 0x20 && a[1] == 0x02) /* 2002::/16, 6to4: 2002:AABB:CCDD:: */
		return ssrf_v4(a + 2);
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return "link-local";
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0)
		return "site-local";
	if ((a[0] & 0xfe) == 0xfc)
		return "unique-local";
	if (a[0] == 0xff)
		return "multicast";
	if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8)
		return "reserved";
	if (a[0] == 0x01 && !a[1] && !memcmp(a + 2, zero, 6))
		return "discard";
	return NULL;
}

const char *rp__ssrf_class(const struct sockaddr *sa)
{
	uint8_t a[16];

	if (!sa)
		return "unknown-family";
	if (sa->sa_family == AF_INET) {
		memcpy(a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return ssrf_v4(a);
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(a, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return ssrf_v6(a);
	}
	return "unknown-family";
}

/* Whether rule @r applies to every client of @family: no client condition,
 * or a /0 of that family. */
static bool acl_every_client(const struct rp_acl_rule *r, int family)
{
	struct rp_cidr c;

	if (!r->client[0])
		return true;
	return rp__cidr_parse(r->client, &c) == 0 && c.family == family && !c.prefix;
}

bool rp__forward_open_proxy(const struct rp_listener_config *l)
{
	const struct rp_forward_config *f = &l->fwd;
	int family = l->addr.ss.ss_family;
	const char *cls;

	if (l->mode != RP_MODE_FORWARD || f->users_file[0])
		return false;
	/* The SSRF guard's classifier: 127.0.0.0/8, ::1, and the IPv4-mapped
	 * forms of the former. 0.0.0.0 and :: are every address. */
	cls = rp__ssrf_class((const struct sockaddr *)&l->addr.ss);
	if (cls && !strcmp(cls, "loopback"))
		return false;
	/* The rules as an arbitrary client of the listener's family meets
	 * them: rules that name other clients pass it by; the first one that
	 * applies to every client decides. An allow for client 0.0.0.0/0
	 * (::/0) says "everyone" on purpose; one with no client condition
	 * lets everyone in without saying so; a deny with no destination or
	 * port condition keeps everyone the earlier rules did not name out.
	 * Past the last rule, a request is allowed: open. */
	for (unsigned i = 0; i < f->nacl && i < RP_MAX_ACL_RULES; i++) {
		const struct rp_acl_rule *r = &f->acl[i];

		if (!acl_every_client(r, family))
			continue;
		if (!r->deny)
			return !r->client[0];
		if (!r->dest[0] && r->port_min <= 1 &&
		    (!r->port_max || r->port_max == 65535))
			return false;
	}
	return true;
}

/* ---- access rules --------------------------------------------------------- */

enum acl_dest {
	ACL_DEST_ANY,
	ACL_DEST_HOST,	 /* exact name */
	ACL_DEST_SUFFIX, /* any name strictly below */
	ACL_DEST_CIDR,
};

struct acl_rule {
	bool deny;
	bool has_client;
	enum acl_dest dest;
	uint16_t port_min, port_max;
	struct rp_cidr client;
	struct rp_cidr dcidr;
	size_t hlen;
	char host[NAME_MAX_LEN + 1]; /* lowercase, no trailing dot; SUFFIX: no "*." */
	char why[64 + RP_ROUTE_STR + 64];
};

struct rp_acl {
	unsigned n;
	struct acl_rule rules[];
};

static int acl_compile(const struct rp_acl_rule *in, unsigned i, struct acl_rule *r,
		       char *err, size_t errlen)
{
	unsigned pmin = in->port_min, pmax = in->port_max;
	int len;

	r->deny = in->deny;
	if (!memchr(in->client, '\0', sizeof(in->client)) ||
	    !memchr(in->dest, '\0', sizeof(in->dest))) {
		snprintf(err, errlen, "acl rule %u: client or dest is not terminated", i);
		return -EINVAL;
	}
	if (in->client[0]) {
		if (rp__cidr_parse(in->client, &r->client) < 0) {
			snprintf(err, errlen,
				 "acl rule %u: client '%s' is not a CIDR (such as "
				 "10.0.0.0/8 "
				 "or ::1/128)",
				 i, in->client);
			return -EINVAL;
		}
		r->has_client = true;
	}
	if (!in->dest[0]) {
		r->dest = ACL_DEST_ANY;
	} else if (rp__cidr_parse(in->dest, &r->dcidr) == 0) {
		r->dest = ACL_DEST_CIDR;
	} else if (!strcmp(in->dest, "*")) {
		snprintf(err, errlen,
			 "acl rule %u: dest '*': leave dest empty to match any "
			 "destination",
			 i);
		return -EINVAL;
	} else if (!strncmp(in->dest, "*.", 2)) {
		len = name_normalize(in->dest + 2, strlen(in->dest + 2), r->host);
		if (len < 0)
			goto bad_dest;
		r->dest = ACL_DEST_SUFFIX;
		r->hlen = (size_t)len;
	} else {
		len = name_normalize(in->dest, strlen(in->dest), r->host);
		if (len < 0)
			goto bad_dest;
		r->dest = ACL_DEST_HOST;
		r->hlen = (size_t)len;
	}
	if (!pmax)
		pmax = pmin ? pmin : 65535;
	if (pmin > pmax) {
		snprintf(err, errlen, "acl rule %u: port_min %u is above port_max %u", i,
			 pmin, pmax);
		return -EINVAL;
	}
	r->port_min = (uint16_t)pmin;
	r->port_max = (uint16_t)pmax;
	snprintf(r->why, sizeof(r->why), "acl rule %u (%s%s%s%s%s ports %u-%u)", i,
		 r->deny ? "deny" : "allow", r->has_client ? " client " : "", in->client,
		 in->dest[0] ? " dest " : "", in->dest, pmin, pmax);
	return 0;
bad_dest:
	snprintf(err, errlen,
		 "acl rule %u: dest '%s' is neither a CIDR, a host name nor *.domain", i,
		 in->dest);
	return -EINVAL;
}

int rp__acl_build(const struct rp_acl_rule *rules, unsigned n, struct rp_acl **out,
		  char *err, size_t errlen)
{
	struct rp_acl *a;
	int ret;

	*out = NULL;
	if (n && !rules) {
		snprintf(err, errlen, "acl: %u rules but none given", n);
		return -EINVAL;
	}
	a = calloc(1, sizeof(*a) + (size_t)n * sizeof(a->rules[0]));
	if (!a) {
		snprintf(err, errlen, "acl: out of memory");
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		ret = acl_compile(&rules[i], i, &a->rules[i], err, errlen);
		if (ret < 0)
			goto fail_free;
	}
	a->n = n;
	*out = a;
	return 0;
fail_free:
	free(a);
	return ret;
}

void rp__acl_free(struct rp_acl *a)
{
	free(a);
}

static bool acl_dest_match(const struct acl_rule *r, const char *host,
			   const struct sockaddr *dest)
{
	size_t hl;

	switch (r->dest) {
	case ACL_DEST_ANY:
		return true;
	case ACL_DEST_CIDR:
		return dest && rp__cidr_match(&r->dcidr, dest);
	case ACL_DEST_HOST:
		if (!host)
			return false;
		hl = host_len(host);
		return hl == r->hlen && caseeq(host, r->host, hl);
	case ACL_DEST_SUFFIX:
		if (!host)
			return false;
		hl = host_len(host);
		return hl > r->hlen + 1 && host[hl - r->hlen - 1] == '.' &&
		       caseeq(host + hl - r->hlen, r->host, r->hlen);
	}
	return false;
}

enum rp_acl_verdict rp__acl_check(const struct rp_acl *a, const struct sockaddr *client,
				  const char *host, const struct sockaddr *dest,
				  uint16_t port, const char **why)
{
	if (why)
		*why = NULL;
	if (!a)
		return RP_ACL_NONE;
	for (unsigned i = 0; i < a->n; i++) {
		const struct acl_rule *r = &a->rules[i];

		if (port < r->port_min || port > r->port_max)
			continue;
		if (r->has_client && !(client && rp__cidr_match(&r->client, client)))
			continue;
		if (!acl_dest_match(r, host, dest))
			continue;
		if (why)
			*why = r->why;
		return r->deny ? RP_ACL_DENY : RP_ACL_ALLOW;
	}
	return RP_ACL_NONE;
}

/* ---- domain block lists --------------------------------------------------- */

/*
 * Names are hashed right to left (FNV-1a over the bytes from the last to the
 * first, then a final mix), so one backwards pass over a host yields the hash
 * of every parent domain at each label boundary: a lookup hashes the name
 * once and probes once per label. The seed is random per list: the set is
 * never rebuilt from client input, but nothing gains from it being
 * predictable.
 */
#define FNV_PRIME 0x100000001b3ull

struct bl_slot {
	uint64_t hash;
	uint32_t off;
	uint32_t len; /* 0: empty */
};

struct rp_blocklist {
	uint64_t seed;
	size_t mask; /* slots - 1 */
	size_t count;
	struct bl_slot *slots;
	char *names;
	size_t names_len, names_cap;
};

static inline uint64_t fmix64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ull;
	k ^= k >> 33;
	return k;
}

static uint64_t bl_hash(uint64_t seed, const char *s, size_t len)
{
	uint64_t h = seed;

	while (len--)
		h = (h ^ ascii_lower((unsigned char)s[len])) * FNV_PRIME;
	return fmix64(h);
}

static bool bl_find(const struct rp_blocklist *b, uint64_t hash, const char *s,
		    size_t len)
{
	for (size_t i = hash & b->mask;; i = (i + 1) & b->mask) {
		const struct bl_slot *sl = &b->slots[i];

		if (!sl->len)
			return false;
		if (sl->hash == hash && sl->len == len &&
		    caseeq(b->names + sl->off, s, len))
			return true;
	}
}

static int bl_grow(struct rp_blocklist *b)
{
	size_t n = (b->mask + 1) * 2;
	struct bl_slot *slots = calloc(n, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i <= b->mask; i++) {
		const struct bl_slot *sl = &b->slots[i];
		size_t j;

		if (!sl->len)
			continue;
		for (j = sl->hash & (n - 1); slots[j].len; j = (j + 1) & (n - 1))
			;
		slots[j] = *sl;
	}
	free(b->slots);
	b->slots = slots;
	b->mask = n - 1;
	return 0;
}

/* Adds a normalized name unless present. */
static int bl_insert(struct rp_blocklist *b, const char *name, size_t len)
{
	uint64_t hash = bl_hash(b->seed, name, len);
	size_t i;

	if (bl_find(b, hash, name, len))
		return 0;
	if ((b->count + 1) * 2 > b->mask + 1 && bl_grow(b) < 0)
		return -ENOMEM;
	if (b->names_len + len > UINT32_MAX)
		return -ENOMEM;
	if (b->names_len + len > b->names_cap) {
		size_t cap = b->names_cap ? b->names_cap * 2 : 4096;
		char *p;

		while (cap < b->names_len + len)
			cap *= 2;
		p = realloc(b->names, cap);
		if (!p)
			return -ENOMEM;
		b->names = p;
		b->names_cap = cap;
	}
	memcpy(b->names + b->names_len, name, len);
	for (i = hash & b->mask; b->slots[i].len; i = (i + 1) & b->mask)
		;
	b->slots[i].hash = hash;
	b->slots[i].off = (uint32_t)b->names_len;
	b->slots[i].len = (uint32_t)len;
	b->names_len += len;
	b->count++;
	return 0;
}

static struct rp_blocklist *bl_new(void)
{
	struct rp_blocklist *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->mask = 1023;
	b->slots = calloc(b->mask + 1, sizeof(*b->slots));
	if (!b->slots) {
		free(b);
		return NULL;
	}
	RAND_bytes((uint8_t *)&b->seed, sizeof(b->seed));
	return b;
}

int rp__blocklist_load(const char *path, struct rp_blocklist **out, char *err,
		       size_t errlen)
{
	char name[NAME_MAX_LEN + 1];
	struct rp_blocklist *b;
	unsigned lineno = 0;
	size_t cap = 0;
	char *line = NULL;
	FILE *f;
	int ret;

	*out = NULL;
	b = bl_new();
	if (!b) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail_free;
	}
	while (getline(&line, &cap, f) >= 0) {
		char *s, *hash;
		int len;

		lineno++;
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		s = trim(line);
		if (!*s)
			continue;
		if (s[0] == '*') {
			snprintf(err, errlen,
				 "%s:%u: '%.64s': list the domain itself, it blocks its "
				 "subdomains already",
				 path, lineno, s);
			ret = -EINVAL;
			goto fail_close;
		}
		len = name_normalize(s, strlen(s), name);
		if (len < 0) {
			snprintf(err, errlen, "%s:%u: '%.64s' is not a domain name", path,
				 lineno, s);
			ret = -EINVAL;
			goto fail_close;
		}
		if (bl_insert(b, name, (size_t)len) < 0) {
			snprintf(err, errlen, "%s:%u: out of memory", path, lineno);
			ret = -ENOMEM;
			goto fail_close;
		}
	}
	if (ferror(f)) {
		ret = -EIO;
		snprintf(err, errlen, "%s: read error", path);
		goto fail_close;
	}
	free(line);
	fclose(f);
	*out = b;
	return 0;
fail_close:
	free(line);
	fclose(f);
fail_free:
	rp__blocklist_free(b);
	return ret;
}

bool rp__blocklist_match(const struct rp_blocklist *b, const char *host)
{
	uint64_t h;
	size_t len;

	if (!b || !host || !b->count)
		return false;
	len = host_len(host);
	h = b->seed;
	for (size_t i = len; i--;) {
		h = (h ^ ascii_lower((unsigned char)host[i])) * FNV_PRIME;
		if ((!i || host[i - 1] == '.') &&
		    bl_find(b, fmix64(h), host + i, len - i))
			return true;
	}
	return false;
}

size_t rp__blocklist_size(const struct rp_blocklist *b)
{
	return b ? b->count : 0;
}

void rp__blocklist_free(struct rp_blocklist *b)
{
	if (!b)
		return;
	free(b->slots);
	free(b->names);
	free(b);
}

/* ---- base64 (RFC 4648 section 4, standard alphabet) ------------------------ */

static const char b64_chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Unpadded. Returns the length written (NUL excluded) or -ENOSPC. */
static int b64_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
	size_t n = 0;

	if (len / 3 * 4 + 4 >= cap)
		return -ENOSPC;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		size_t left = len - i;

		if (left > 1)
			v |= (uint32_t)in[i + 1] << 8;
		if (left > 2)
			v |= in[i + 2];
		out[n++] = b64_chars[v >> 18 & 63];
		out[n++] = b64_chars[v >> 12 & 63];
		if (left > 1)
			out[n++] = b64_chars[v >> 6 & 63];
		if (left > 2)
			out[n++] = b64_chars[v & 63];
	}
	out[n] = '\0';
	return (int)n;
}

/*
 * Strict decoding of @len characters: the alphabet only, '=' padding at the
 * end (required when @need_pad, else optional but then complete), no
 * impossible length, unused bits zero (one encoding per value). Each byte
 * goes to @emit; its failure stops decoding. The bytes decoded or -EINVAL.
 */
static int b64_decode(const char *s, size_t len, bool need_pad,
		      int (*emit)(void *arg, uint8_t byte), void *arg)
{
	size_t pad = 0, n, i;
	int out = 0;

	while (pad < 2 && len > pad && s[len - 1 - pad] == '=')
		pad++;
	n = len - pad;
	if (n % 4 == 1 || (pad && len % 4) || (need_pad && len % 4))
		return -EINVAL;
	if (len > (size_t)INT32_MAX)
		return -EINVAL;
	for (i = 0; i < n; i += 4) {
		size_t k = n - i < 4 ? n - i : 4;
		uint32_t v = 0;

		for (size_t j = 0; j < 4; j++) {
			int d = j < k ? b64_value((unsigned char)s[i + j]) : 0;

			if (d < 0)
				return -EINVAL;
			v = v << 6 | (uint32_t)d;
		}
		/* k == 2: one byte, 4 unused bits; k == 3: two bytes, 2 unused. */
		if ((k == 2 && (v & 0xffff)) || (k == 3 && (v & 0xff)))
			return -EINVAL;
		for (size_t j = 0; j < k - 1; j++) {
			if (emit(arg, (uint8_t)(v >> (16 - 8 * j))) < 0)
				return -EINVAL;
			out++;
		}
	}
	return out;
}

struct byte_buf {
	uint8_t *p;
	size_t len, cap;
};

static int emit_buf(void *arg, uint8_t byte)
{
	struct byte_buf *b = arg;

	if (b->len == b->cap)
		return -ENOSPC;
	b->p[b->len++] = byte;
	return 0;
}

/* ---- users ------------------------------------------------------------------ */

#define PBKDF2_PREFIX "$pbkdf2-sha256$"
#define SALT_MIN      8
#define SALT_MAX      64
#define KEY_MIN	      16
#define KEY_MAX	      64
#define SALT_NEW      16
#define KEY_NEW	      32

struct user {
	char *name;
	size_t nlen;
	unsigned line;
	unsigned iterations;
	uint8_t salt_len, key_len;
	uint8_t salt[SALT_MAX];
	uint8_t key[KEY_MAX];
};

struct rp_users {
	size_t n;
	struct user *v; /* sorted by name */
	struct user dummy;
	uint8_t epoch[16]; /* binds cache entries to this table */
};

static int user_cmp(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);

	if (c)
		return c;
	return al < bl ? -1 : al > bl;
}

static int user_sort_cmp(const void *pa, const void *pb)
{
	const struct user *a = pa, *b = pb;

	return user_cmp(a->name, a->nlen, b->name, b->nlen);
}

static const struct user *users_find(const struct rp_users *u, const char *name,
				     size_t len)
{
	size_t lo = 0, hi = u->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = user_cmp(name, len, u->v[mid].name, u->v[mid].nlen);

		if (!c)
			return &u->v[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* "$pbkdf2-sha256$ITER$SALT$KEY" into @usr; what is wrong in @why otherwise. */
static int parse_hash(const char *h, struct user *usr, char *why, size_t whylen)
{
	const char *p, *salt, *key;
	struct byte_buf bb;
	unsigned iter;
	int n;

	if (h[0] != '$') {
		snprintf(why, whylen,
			 "plain-text passwords are not accepted; hash them with "
			 "`ringproxy passwd`");
		return -EINVAL;
	}
	if (strncmp(h, PBKDF2_PREFIX, strlen(PBKDF2_PREFIX))) {
		snprintf(why, whylen,
			 "unsupported hash scheme: only $pbkdf2-sha256$ (as `ringproxy "
			 "passwd` writes it) is accepted");
		return -EINVAL;
	}
	p = h + strlen(PBKDF2_PREFIX);
	snprintf(why, whylen, "malformed $pbkdf2-sha256$ITERATIONS$SALT$KEY");
	if (parse_dec(&p, RP_USERS_MAX_ITERATIONS, &iter) < 0) {
		if (*p >= '1' && *p <= '9')
			snprintf(why, whylen,
				 "too many iterations (at most %u): each check would "
				 "take too long",
				 RP_USERS_MAX_ITERATIONS);
		return -EINVAL;
	}
	if (*p++ != '$')
		return -EINVAL;
	if (iter < RP_USERS_MIN_ITERATIONS) {
		snprintf(why, whylen, "too few iterations (at least %u)",
			 RP_USERS_MIN_ITERATIONS);
		return -EINVAL;
	}
	salt = p;
	key = strchr(salt, '$');
	if (!key || strchr(key + 1, '$'))
		return -EINVAL;
	key++;
	bb = (struct byte_buf){usr->salt, 0, SALT_MAX};
	n = b64_decode(salt, (size_t)(key - 1 - salt), false, emit_buf, &bb);
	if (n < SALT_MIN) {
		snprintf(why, whylen, "the salt is not base64 of 8 to 64 bytes");
		return -EINVAL;
	}
	usr->salt_len = (uint8_t)n;
	bb = (struct byte_buf){usr->key, 0, KEY_MAX};
	n = b64_decode(key, strlen(key), false, emit_buf, &bb);
	if (n < KEY_MIN) {
		snprintf(why, whylen, "the key is not base64 of 16 to 64 bytes");
		return -EINVAL;
	}
	usr->key_len = (uint8_t)n;
	usr->iterations = iter;
	return 0;
}

static bool name_valid(const char *s, size_t len)
{
	if (!len || len > RP_USERS_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c == 0x7f)
			return false;
	}
	return true;
}

/* Appends the user of one "name:HASH" line. */
static int users_add(struct rp_users *u, size_t *cap, char *s, unsigned lineno,
		     const char *path, char *err, size_t errlen)
{
	char *colon = strchr(s, ':');
	struct user usr = {0};
	char why[160];

	if (!colon) {
		snprintf(err, errlen, "%s:%u: expected name:HASH", path, lineno);
		return -EINVAL;
	}
	*colon = '\0';
	if (!name_valid(s, (size_t)(colon - s))) {
		snprintf(err, errlen,
			 "%s:%u: a user name is 1 to %u bytes without spaces or control "
			 "characters",
			 path, lineno, RP_USERS_NAME_MAX);
		return -EINVAL;
	}
	if (parse_hash(colon + 1, &usr, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s:%u: user '%s': %s", path, lineno, s, why);
		return -EINVAL;
	}
	if (u->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct user *v = realloc(u->v, ncap * sizeof(*v));

		if (!v)
			goto fail_nomem;
		u->v = v;
		*cap = ncap;
	}
	usr.nlen = (size_t)(colon - s);
	usr.line = lineno;
	usr.name = strdup(s);
	if (!usr.name)
		goto fail_nomem;
	u->v[u->n++] = usr;
	return 0;
fail_nomem:
	OPENSSL_cleanse(&usr, sizeof(usr));
	snprintf(err, errlen, "%s:%u: out of memory", path, lineno);
	return -ENOMEM;
}

/* The hash an unknown name is checked against: as costly as the dearest
 * real one, and never matching (a random key). */
static void users_make_dummy(struct rp_users *u)
{
	struct user *d = &u->dummy;

	d->iterations = u->n ? 0 : RP_USERS_DEFAULT_ITERATIONS;
	d->key_len = u->n ? 0 : KEY_NEW;
	for (size_t i = 0; i < u->n; i++) {
		if (u->v[i].iterations > d->iterations)
			d->iterations = u->v[i].iterations;
		if (u->v[i].key_len > d->key_len)
			d->key_len = u->v[i].key_len;
	}
	d->salt_len = SALT_NEW;
	RAND_bytes(d->salt, d->salt_len);
	RAND_bytes(d->key, d->key_len);
}

int rp__users_load(const char *path, struct rp_users **out, char *err, size_t errlen)
{
	struct rp_users *u;
	unsigned lineno = 0;
	size_t cap = 0, lcap = 0;
	char *line = NULL;
	FILE *f;
	int ret;

	*out = NULL;
	u = calloc(1, sizeof(*u));
	if (!u) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail_free;
	}
	while (getline(&line, &lcap, f) >= 0) {
		char *s;

		lineno++;
		s = trim(line);
		if (!*s || *s == '#')
			continue;
		ret = users_add(u, &cap, s, lineno, path, err, errlen);
		if (ret < 0)
			goto fail_close;
	}
	if (ferror(f)) {
		ret = -EIO;
		snprintf(err, errlen, "%s: read error", path);
		goto fail_close;
	}
	if (u->n)
		qsort(u->v, u->n, sizeof(*u->v), user_sort_cmp);
	for (size_t i = 1; i < u->n; i++) {
		const struct user *a = &u->v[i - 1], *b = &u->v[i];

		if (!user_sort_cmp(a, b)) {
			snprintf(err, errlen,
				 "%s:%u: user '%s' already listed on line %u", path,
				 a->line > b->line ? a->line : b->line, a->name,
				 a->line < b->line ? a->line : b->line);
			ret = -EINVAL;
			goto fail_close;
		}
	}
	users_make_dummy(u);
	RAND_bytes(u->epoch, sizeof(u->epoch));
	free(line);
	fclose(f);
	*out = u;
	return 0;
fail_close:
	free(line);
	fclose(f);
fail_free:
	rp__users_free(u);
	return ret;
}

void rp__users_free(struct rp_users *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->n; i++)
		free(u->v[i].name);
	if (u->v)
		OPENSSL_cleanse(u->v, u->n * sizeof(*u->v));
	free(u->v);
	OPENSSL_cleanse(u, sizeof(*u));
	free(u);
}

size_t rp__users_size(const struct rp_users *u)
{
	return u ? u->n : 0;
}

int rp__users_hash(const char *pass, size_t plen, unsigned iterations, char *out,
		   size_t cap)
{
	uint8_t salt[SALT_NEW], key[KEY_NEW];
	char salt64[32], key64[64];
	int n;

	if (!iterations)
		iterations = RP_USERS_DEFAULT_ITERATIONS;
	if (iterations < RP_USERS_MIN_ITERATIONS || iterations > RP_USERS_MAX_ITERATIONS)
		return -EINVAL;
	RAND_bytes(salt, sizeof(salt));
	if (!PKCS5_PBKDF2_HMAC(pass, plen, salt, sizeof(salt), iterations, EVP_sha256(),
			       sizeof(key), key))
		return -ENOMEM;
	b64_encode(salt, sizeof(salt), salt64, sizeof(salt64));
	b64_encode(key, sizeof(key), key64, sizeof(key64));
	OPENSSL_cleanse(key, sizeof(key));
	n = snprintf(out, cap, PBKDF2_PREFIX "%u$%s$%s", iterations, salt64, key64);
	if (n < 0 || (size_t)n >= cap) {
		if (cap)
			out[0] = '\0';
		return -ENOSPC;
	}
	return n;
}

/* ---- the per-reactor auth cache ------------------------------------------- */

#define AUTH_WAYS 4 /* entries per set: a hot pair survives a few collisions */

struct auth_entry {
	uint8_t tag[RP_AUTH_TAG_LEN]; /* HMAC-SHA256, truncated to 128 bits */
	uint64_t expires;	      /* ms; 0 or past: free */
};

/* One table: successes, or failures. */
struct auth_table {
	size_t set_mask;
	unsigned ttl_ms;
	struct auth_entry *e;
};

struct rp_auth_cache {
	struct auth_table ok, fail;
	uint64_t hits, misses;
	uint8_t key[32];
};

static int auth_table_init(struct auth_table *t, unsigned entries, unsigned ttl_ms)
{
	size_t n = AUTH_WAYS;

	while (n < entries && n < (1u << 20))
		n *= 2;
	t->e = calloc(n, sizeof(t->e[0]));
	if (!t->e)
		return -ENOMEM;
	t->set_mask = n / AUTH_WAYS - 1;
	t->ttl_ms = ttl_ms;
	return 0;
}

struct rp_auth_cache *rp__auth_cache_new(unsigned entries, unsigned ttl_ms,
					 unsigned fail_entries, unsigned fail_ttl_ms)
{
	struct rp_auth_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (auth_table_init(&c->ok, entries, ttl_ms) < 0 ||
	    auth_table_init(&c->fail, fail_entries, fail_ttl_ms) < 0) {
		rp__auth_cache_free(c);
		return NULL;
	}
	RAND_bytes(c->key, sizeof(c->key));
	return c;
}

void rp__auth_cache_free(struct rp_auth_cache *c)
{
	if (!c)
		return;
	OPENSSL_cleanse(c->key, sizeof(c->key));
	free(c->ok.e);
	free(c->fail.e);
	free(c);
}

void rp__auth_cache_stats(const struct rp_auth_cache *c, uint64_t *hits, uint64_t *misses)
{
	*hits = c ? c->hits : 0;
	*misses = c ? c->misses : 0;
}

/* HMAC(cache key, table epoch || len(user) || user || pass): the length
 * keeps "ab"+"c" apart from "a"+"bc". */
void rp__auth_cache_tag(const struct rp_auth_cache *c, const struct rp_users *u,
			const char *user, size_t ulen, const char *pass, size_t plen,
			uint8_t tag[RP_AUTH_TAG_LEN])
{
	uint8_t mac[EVP_MAX_MD_SIZE], len8[8];
	unsigned maclen = 0;
	HMAC_CTX ctx;

	for (int i = 0; i < 8; i++)
		len8[i] = (uint8_t)((uint64_t)ulen >> (8 * i));
	HMAC_CTX_init(&ctx);
	if (!HMAC_Init_ex(&ctx, c->key, sizeof(c->key), EVP_sha256(), NULL) ||
	    !HMAC_Update(&ctx, u->epoch, sizeof(u->epoch)) ||
	    !HMAC_Update(&ctx, len8, sizeof(len8)) ||
	    !HMAC_Update(&ctx, (const uint8_t *)user, ulen) ||
	    !HMAC_Update(&ctx, (const uint8_t *)pass, plen) ||
	    !HMAC_Final(&ctx, mac, &maclen) || maclen < RP_AUTH_TAG_LEN)
		/* Cannot happen for SHA-256 (no allocation); a random tag
		 * then simply never hits. */
		RAND_bytes(mac, RP_AUTH_TAG_LEN);
	HMAC_CTX_cleanup(&ctx);
	memcpy(tag, mac, RP_AUTH_TAG_LEN);
	OPENSSL_cleanse(mac, sizeof(mac));
}

static struct auth_entry *auth_set(const struct auth_table *t, const uint8_t *tag)
{
	uint64_t h;

	memcpy(&h, tag, sizeof(h));
	return &t->e[(h & t->set_mask) * AUTH_WAYS];
}

static bool auth_lookup(const struct auth_table *t, const uint8_t *tag, uint64_t now)
{
	struct auth_entry *set = auth_set(t, tag);

	for (int w = 0; w < AUTH_WAYS; w++)
		if (set[w].expires > now &&
		    !CRYPTO_memcmp(set[w].tag, tag, RP_AUTH_TAG_LEN))
			return true;
	return false;
}

/* Into a free way of its set, or over the one closest to expiring. */
static void auth_store(struct auth_table *t, const uint8_t *tag, uint64_t now)
{
	struct auth_entry *set = auth_set(t, tag), *victim = &set[0];

	if (!t->ttl_ms)
		return;
	for (int w = 0; w < AUTH_WAYS; w++) {
		if (set[w].expires <= now) {
			victim = &set[w];
			break;
		}
		if (set[w].expires < victim->expires)
			victim = &set[w];
	}
	memcpy(victim->tag, tag, RP_AUTH_TAG_LEN);
	victim->expires = now + t->ttl_ms;
}

int rp__auth_cache_lookup(struct rp_auth_cache *c, const uint8_t *tag, uint64_t now_ms)
{
	if (auth_lookup(&c->ok, tag, now_ms)) {
		c->hits++;
		return 1;
	}
	if (auth_lookup(&c->fail, tag, now_ms)) {
		c->hits++;
		return 0;
	}
	c->misses++;
	return -ENOENT;
}

void rp__auth_cache_store(struct rp_auth_cache *c, const uint8_t *tag, bool ok,
			  uint64_t now_ms)
{
	auth_store(ok ? &c->ok : &c->fail, tag, now_ms);
}

bool rp__users_verify(const struct rp_users *u, const char *user, size_t ulen,
		      const char *pass, size_t plen)
{
	uint8_t key[KEY_MAX];
	const struct user *usr;
	bool known, ok;

	if (!u || (!user && ulen) || (!pass && plen))
		return false;
	if (!user)
		user = "";
	if (!pass)
		pass = "";
	usr = users_find(u, user, ulen);
	known = usr != NULL;
	if (!usr)
		usr = &u->dummy;
	ok = PKCS5_PBKDF2_HMAC(pass, plen, usr->salt, usr->salt_len, usr->iterations,
			       EVP_sha256(), usr->key_len, key) &&
	     !CRYPTO_memcmp(key, usr->key, usr->key_len) && known;
	OPENSSL_cleanse(key, sizeof(key));
	return ok;
}

bool rp__users_check(const struct rp_users *u, struct rp_auth_cache *c, uint64_t now_ms,
		     const char *user, size_t ulen, const char *pass, size_t plen)
{
	uint8_t tag[RP_AUTH_TAG_LEN];
	bool ok;

	if (!u || (!user && ulen) || (!pass && plen))
		return false;
	if (c) {
		rp__auth_cache_tag(c, u, user ? user : "", ulen, pass ? pass : "", plen,
				   tag);
		switch (rp__auth_cache_lookup(c, tag, now_ms)) {
		case 1:
			return true;
		case 0:
			return false;
		}
	}
	ok = rp__users_verify(u, user, ulen, pass, plen);
	if (c)
		rp__auth_cache_store(c, tag, ok, now_ms);
	return ok;
}

/* ---- Basic credentials ------------------------------------------------------ */

/* Routes decoded bytes: the name up to the first ':', then the password. */
struct basic_split {
	char *user, *pass;
	size_t ucap, pcap, ulen, plen;
	bool in_pass;
};

static int emit_basic(void *arg, uint8_t byte)
{
	struct basic_split *b = arg;

	if (byte < 0x20 || byte == 0x7f) /* RFC 7617 section 2: no CTLs */
		return -EINVAL;
	if (!b->in_pass) {
		if (byte == ':') {
			b->in_pass = true;
			return 0;
		}
		if (b->ulen + 1 >= b->ucap)
			return -ENOSPC;
		b->user[b->ulen++] = (char)byte;
		return 0;
	}
	if (b->plen + 1 >= b->pcap)
		return -ENOSPC;
	b->pass[b->plen++] = (char)byte;
	return 0;
}

int rp__basic_auth_encode(const char *user, const char *pass, char *out, size_t cap)
{
	uint8_t pair[RP_USERS_NAME_MAX + 1 + 256];
	size_t ul = strlen(user), pl = strlen(pass), n = ul + 1 + pl;
	int k;

	if (ul > RP_USERS_NAME_MAX || pl > 255 || cap < 6)
		return -EINVAL;
	memcpy(pair, user, ul);
	pair[ul] = ':';
	memcpy(pair + ul + 1, pass, pl);
	memcpy(out, "Basic ", 6);
	k = b64_encode(pair, n, out + 6, cap - 6);
	OPENSSL_cleanse(pair, n);
	if (k < 0)
		return k;
	/* RFC 7617 takes base64 with its padding. */
	while (k % 4) {
		if ((size_t)k + 6 + 1 >= cap)
			return -ENOSPC;
		out[6 + k++] = '=';
	}
	out[6 + k] = '\0';
	return 6 + k;
}

int rp__basic_auth_decode(const char *value, size_t len, char *user, size_t ucap,
			  char *pass, size_t pcap)
{
	struct basic_split b = {user, pass, ucap, pcap, 0, 0, false};
	size_t i = 0, end = len;

	if (!value || !user || !pass || !ucap || !pcap)
		return -EINVAL;
	user[0] = pass[0] = '\0';
	while (i < end && (value[i] == ' ' || value[i] == '\t'))
		i++;
	while (end > i && (value[end - 1] == ' ' || value[end - 1] == '\t'))
		end--;
	if (end - i < 6 || !caseeq(value + i, "basic", 5) || value[i + 5] != ' ')
		return -EINVAL;
	i += 5;
	while (i < end && value[i] == ' ')
		i++;
	/* A bound before decoding: what cannot fit is not decoded at all. */
	if (i == end || (end - i) / 4 * 3 > ucap + pcap + 3)
		goto fail;
	if (b64_decode(value + i, end - i, true, emit_basic, &b) < 0 || !b.in_pass)
		goto fail;
	user[b.ulen] = '\0';
	pass[b.plen] = '\0';
	return 0;
fail:
	OPENSSL_cleanse(pass, b.plen);
	user[0] = pass[0] = '\0';
	return -EINVAL;
}

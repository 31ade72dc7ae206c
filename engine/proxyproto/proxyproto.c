// SPDX-License-Identifier: BSD-2-Clause
/*
 * proxyproto.c - PROXY protocol v1 and v2 parser and builder (see
 * proxyproto.h and HAProxy's proxy-protocol.txt). The parser is strict where
 * the spec is: one space between v1 fields, no leading zeros in ports,
 * inet_pton's canonical dotted quads, CRLF within 107 bytes; and it rejects
 * as early as the bytes allow, so a peer that is not speaking the protocol
 * is refused on its first segment rather than after a timeout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "proxyproto/proxyproto.h"

static const uint8_t v2_sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
				   0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
static const char v1_sig[] = "PROXY ";

#define V2_VERSION   0x20
#define V2_CMD_LOCAL 0x0
#define V2_CMD_PROXY 0x1
/* Family (high nibble) and transport (low nibble), spec 2.2. */
#define V2_UNSPEC      0x00
#define V2_TCP4	       0x11
#define V2_UDP4	       0x12
#define V2_TCP6	       0x21
#define V2_UDP6	       0x22
#define V2_UNIX_STREAM 0x31
#define V2_UNIX_DGRAM  0x32
#define V2_ADDR_LEN4   12  /* two IPv4 addresses, two ports */
#define V2_ADDR_LEN6   36  /* two IPv6 addresses, two ports */
#define V2_ADDR_LENU   216 /* two 108-byte paths */

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* A v1 port: 1-5 digits, no leading zero but "0" itself, at most 65535. */
static int v1_port(const char *s, size_t n, uint16_t *out)
{
	unsigned v = 0;

	if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
		return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EBADMSG;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > 65535)
		return -EBADMSG;
	*out = (uint16_t)v;
	return 0;
}

/* A v1 address of @family, @n bytes at @s (not NUL-terminated), into @ss. */
static int v1_addr(int family, const char *s, size_t n, struct sockaddr_storage *ss)
{
	char tmp[INET6_ADDRSTRLEN];

	if (n == 0 || n >= sizeof(tmp))
		return -EBADMSG;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	memset(ss, 0, sizeof(*ss));
	ss->ss_family = (sa_family_t)family;
	if (family == AF_INET)
		return inet_pton(AF_INET, tmp, &((struct sockaddr_in *)ss)->sin_addr) == 1
			       ? 0
			       : -EBADMSG;
	return inet_pton(AF_INET6, tmp, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1
		       ? 0
		       : -EBADMSG;
}

static void set_port(struct sockaddr_storage *ss, uint16_t port_host)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port_host);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port_host);
}

/* "PROXY TCP4 1.2.3.4 5.6.7.8 1000 2000\r\n" (spec 2.1). */
static int parse_v1(const char *p, size_t len, struct rp_pp_result *out)
{
	size_t n = min_size(len, RP_PP_V1_MAX), eol = 0, pos, tok[4], toklen[4];
	struct rp_pp_result res = {.version = 1};
	int family;
	bool found = false;

	if (memcmp(p, v1_sig, min_size(len, sizeof(v1_sig) - 1)) != 0)
		return -EBADMSG;
	/* CR only right before LF, LF only right after CR, printable ASCII
	 * otherwise: a line that breaks these is refused as soon as it shows. */
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n') {
			if (i == 0 || p[i - 1] != '\r')
				return -EBADMSG;
			eol = i - 1;
			found = true;
			break;
		}
		if (p[i] == '\r' && i + 1 < len && p[i + 1] != '\n')
			return -EBADMSG;
		/* Text only: a NUL would end an address early in inet_pton. */
		if (p[i] != '\r' && ((unsigned char)p[i] < 0x20 || p[i] == 0x7f))
			return -EBADMSG;
	}
	if (!found)
		return len >= RP_PP_V1_MAX ? -EBADMSG : -EAGAIN;
	pos = sizeof(v1_sig) - 1;
	if (eol - pos >= 7 && memcmp(p + pos, "UNKNOWN", 7) == 0 &&
	    (eol == pos + 7 || p[pos + 7] == ' ')) {
		/* The receiver ignores whatever follows UNKNOWN. */
		res.local = true;
		*out = res;
		return (int)eol + 2;
	}
	if (eol - pos < 5 || memcmp(p + pos, "TCP", 3) != 0 || p[pos + 4] != ' ')
		return -EBADMSG;
	if (p[pos + 3] == '4')
		family = AF_INET;
	else if (p[pos + 3] == '6')
		family = AF_INET6;
	else
		return -EBADMSG;
	pos += 5;
	/* Four fields, one space apart, none empty, nothing after the last. */
	for (int f = 0; f < 4; f++) {
		size_t s = pos;

		while (pos < eol && p[pos] != ' ')
			pos++;
		tok[f] = s;
		toklen[f] = pos - s;
		if (toklen[f] == 0)
			return -EBADMSG;
		if (f < 3) {
			if (pos == eol)
				return -EBADMSG;
			pos++; /* the space */
		}
	}
	if (pos != eol)
		return -EBADMSG;
	{
		uint16_t sport, dport;

		if (v1_addr(family, p + tok[0], toklen[0], &res.src) < 0 ||
		    v1_addr(family, p + tok[1], toklen[1], &res.dst) < 0 ||
		    v1_port(p + tok[2], toklen[2], &sport) < 0 ||
		    v1_port(p + tok[3], toklen[3], &dport) < 0)
			return -EBADMSG;
		set_port(&res.src, sport);
		set_port(&res.dst, dport);
	}
	res.addr_len = family == AF_INET ? sizeof(struct sockaddr_in)
					 : sizeof(struct sockaddr_in6);
	*out = res;
	return (int)eol + 2;
}

static bool v2_family_known(uint8_t fam)
{
	switch (fam) {
	case V2_UNSPEC:
	case V2_TCP4:
	case V2_UDP4:
	case V2_TCP6:
	case V2_UDP6:
	case V2_UNIX_STREAM:
	case V2_UNIX_DGRAM:
		return true;
	}
	return false;
}

/* The 16-byte header, the address block, then TLVs (spec 2.2). */
static int parse_v2(const uint8_t *p, size_t len, struct rp_pp_result *out)
{
	struct rp_pp_result res = {.version = 2};
	uint8_t cmd = 0, fam = 0;
	size_t alen, need = 0;

	if (memcmp(p, v2_sig, min_size(len, sizeof(v2_sig))) != 0)
		return -EBADMSG;
	if (len > 12) {
		if ((p[12] & 0xF0) != V2_VERSION)
			return -EBADMSG;
		cmd = p[12] & 0x0F;
		if (cmd != V2_CMD_LOCAL && cmd != V2_CMD_PROXY)
			return -EBADMSG;
	}
	if (len > 13) {
		fam = p[13];
		if (!v2_family_known(fam))
			return -EBADMSG;
		/* A TCP proxy cannot stand in for a datagram flow. */
		if (cmd == V2_CMD_PROXY &&
		    (fam == V2_UDP4 || fam == V2_UDP6 || fam == V2_UNIX_DGRAM))
			return -EBADMSG;
	}
	if (len < RP_PP_V2_FIXED)
		return -EAGAIN;
	alen = (size_t)p[14] << 8 | p[15];
	if (cmd == V2_CMD_PROXY) {
		if (fam == V2_TCP4)
			need = V2_ADDR_LEN4;
		else if (fam == V2_TCP6)
			need = V2_ADDR_LEN6;
		else if (fam == V2_UNIX_STREAM)
			need = V2_ADDR_LENU;
	}
	if (alen < need)
		return -EBADMSG;
	if (len < RP_PP_V2_FIXED + alen)
		return -EAGAIN;
	p += RP_PP_V2_FIXED;
	if (cmd == V2_CMD_LOCAL || fam == V2_UNSPEC || fam == V2_UNIX_STREAM) {
		/* LOCAL: a proxy's own connection (a health check); UNSPEC and
		 * UNIX: nothing an IP service can use. Keep the real ends. */
		res.local = true;
	} else if (fam == V2_TCP4) {
		struct sockaddr_in *s = (struct sockaddr_in *)&res.src;
		struct sockaddr_in *d = (struct sockaddr_in *)&res.dst;

		s->sin_family = d->sin_family = AF_INET;
		memcpy(&s->sin_addr, p, 4);
		memcpy(&d->sin_addr, p + 4, 4);
		memcpy(&s->sin_port, p + 8, 2);
		memcpy(&d->sin_port, p + 10, 2);
		res.addr_len = sizeof(struct sockaddr_in);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&res.src;
		struct sockaddr_in6 *d = (struct sockaddr_in6 *)&res.dst;

		s->sin6_family = d->sin6_family = AF_INET6;
		memcpy(&s->sin6_addr, p, 16);
		memcpy(&d->sin6_addr, p + 16, 16);
		memcpy(&s->sin6_port, p + 32, 2);
		memcpy(&d->sin6_port, p + 34, 2);
		res.addr_len = sizeof(struct sockaddr_in6);
	}
	/* TLVs (alen - need bytes) are skipped unread. */
	*out = res;
	return (int)(RP_PP_V2_FIXED + alen);
}

int rp__pp_parse(const void *buf, size_t len, struct rp_pp_result *out)
{
	const uint8_t *p = buf;

	if (len == 0)
		return -EAGAIN;
	if (p[0] == v2_sig[0])
		return parse_v2(p, len, out);
	if (p[0] == (uint8_t)v1_sig[0])
		return parse_v1(buf, len, out);
	return -EBADMSG;
}

static int build_v1(const struct sockaddr *src, const struct sockaddr *dst, char *buf,
		    size_t cap)
{
	char sa[INET6_ADDRSTRLEN], da[INET6_ADDRSTRLEN];
	unsigned sp, dp;
	int n;

	if (!src) {
		n = snprintf(buf, cap, "PROXY UNKNOWN\r\n");
	} else if (src->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)src, *d = (const void *)dst;

		inet_ntop(AF_INET, &s->sin_addr, sa, sizeof(sa));
		inet_ntop(AF_INET, &d->sin_addr, da, sizeof(da));
		sp = ntohs(s->sin_port);
		dp = ntohs(d->sin_port);
		n = snprintf(buf, cap, "PROXY TCP4 %s %s %u %u\r\n", sa, da, sp, dp);
	} else {
		const struct sockaddr_in6 *s = (const void *)src, *d = (const void *)dst;

		inet_ntop(AF_INET6, &s->sin6_addr, sa, sizeof(sa));
		inet_ntop(AF_INET6, &d->sin6_addr, da, sizeof(da));
		sp = ntohs(s->sin6_port);
		dp = ntohs(d->sin6_port);
		n = snprintf(buf, cap, "PROXY TCP6 %s %s %u %u\r\n", sa, da, sp, dp);
	}
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return n;
}

static int build_v2(const struct sockaddr *src, const struct sockaddr *dst, uint8_t *buf,
		    size_t cap)
{
	size_t alen = !src ? 0 : src->sa_family == AF_INET ? V2_ADDR_LEN4 : V2_ADDR_LEN6;
	uint8_t *a = buf + RP_PP_V2_FIXED;

	if (cap < RP_PP_V2_FIXED + alen)
		return -ENOSPC;
	memcpy(buf, v2_sig, sizeof(v2_sig));
	buf[14] = (uint8_t)(alen >> 8);
	buf[15] = (uint8_t)alen;
	if (!src) {
		buf[12] = V2_VERSION | V2_CMD_LOCAL;
		buf[13] = V2_UNSPEC;
	} else if (src->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)src, *d = (const void *)dst;

		buf[12] = V2_VERSION | V2_CMD_PROXY;
		buf[13] = V2_TCP4;
		memcpy(a, &s->sin_addr, 4);
		memcpy(a + 4, &d->sin_addr, 4);
		memcpy(a + 8, &s->sin_port, 2);
		memcpy(a + 10, &d->sin_port, 2);
	} else {
		const struct sockaddr_in6 *s = (const void *)src, *d = (const void *)dst;

		buf[12] = V2_VERSION | V2_CMD_PROXY;
		buf[13] = V2_TCP6;
		memcpy(a, &s->sin6_addr, 16);
		memcpy(a + 16, &d->sin6_addr, 16);
		memcpy(a + 32, &s->sin6_port, 2);
		memcpy(a + 34, &d->sin6_port, 2);
	}
	return (int)(RP_PP_V2_FIXED + alen);
}

int rp__pp_build(int version, const struct sockaddr *src, const struct sockaddr *dst,
		 void *buf, size_t cap)
{
	if (version != 1 && version != 2)
		return -EINVAL;
	if (src && (!dst || src->sa_family != dst->sa_family ||
		    (src->sa_family != AF_INET && src->sa_family != AF_INET6)))
		return -EAFNOSUPPORT;
	return version == 1 ? build_v1(src, dst, buf, cap) : build_v2(src, dst, buf, cap);
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * socks.c - the forward proxy's protocol detector and the SOCKS5 (RFC 1928),
 * username/password (RFC 1929) and SOCKS4/4a message parsers and reply
 * builders declared in socks.h. Each parser walks the bytes that have
 * arrived in wire order and refuses at the first one that cannot belong to
 * a valid message, so a client that is not speaking SOCKS, or sends a name
 * longer than the protocol allows, is refused on its first segment instead
 * of being buffered until a timeout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "forward/socks.h"

#define SOCKS5_VERSION	 0x05
#define SOCKS4_VERSION	 0x04
#define USERPASS_VERSION 0x01 /* RFC 1929 sub-negotiation */
#define SOCKS4_REPLY_VN	 0x00
#define HOST_MAX	 255
#define LABEL_MAX	 63 /* RFC 1035 section 2.3.4 */
/* SOCKS4 user id and 4a name: at most 255 bytes, then the NUL. */
#define SOCKS4_STR_MAX 255

enum rp_fwd_proto rp__fwd_detect(uint8_t first)
{
	switch (first) {
	case SOCKS5_VERSION:
		return RP_FWD_SOCKS5;
	case SOCKS4_VERSION:
		return RP_FWD_SOCKS4;
	}
	return RP_FWD_HTTP;
}

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

static int refuse(struct rp_socks_error *err, uint8_t rep, const char *why)
{
	if (err) {
		err->rep = rep;
		err->why = why;
	}
	return -EBADMSG;
}

static int host_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

/*
 * Checks the first @n bytes of a host name (all of it, or the part that has
 * arrived: every rule is decided by the bytes before it, so a prefix that
 * passes can still become a valid name). NULL when they pass, else why not.
 */
static const char *host_check(const uint8_t *s, size_t n)
{
	size_t label = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (label == 0)
				return "empty label in host name";
			label = 0;
			continue;
		}
		if (s[i] == '\0')
			return "NUL in host name";
		if (!host_char(s[i]))
			return "invalid character in host name";
		if (++label > LABEL_MAX)
			return "host name label longer than 63 bytes";
	}
	return NULL;
}

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void target_ipv4(struct rp_socks_target *t, const uint8_t ip[4], uint16_t port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&t->addr;

	memset(t, 0, sizeof(*t));
	t->atyp = RP_SOCKS_ATYP_IPV4;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	memcpy(&sin->sin_addr, ip, 4);
	t->addr_len = sizeof(*sin);
	t->port = port;
}

static void target_ipv6(struct rp_socks_target *t, const uint8_t ip[16], uint16_t port)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&t->addr;

	memset(t, 0, sizeof(*t));
	t->atyp = RP_SOCKS_ATYP_IPV6;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	memcpy(&sin6->sin6_addr, ip, 16);
	t->addr_len = sizeof(*sin6);
	t->port = port;
}

/* @name has passed host_check() and is 1-255 bytes. */
static void target_name(struct rp_socks_target *t, const uint8_t *name, size_t n,
			uint16_t port)
{
	memset(t, 0, sizeof(*t));
	t->atyp = RP_SOCKS_ATYP_DOMAIN;
	memcpy(t->host, name, n);
	t->port = port;
}

int rp__socks5_parse_greeting(const uint8_t *buf, size_t len,
			      struct rp_socks5_greeting *g, struct rp_socks_error *err)
{
	size_t need;

	if (len < 1)
		return -EAGAIN;
	if (buf[0] != SOCKS5_VERSION)
		return refuse(err, RP_SOCKS5_NO_ACCEPTABLE,
			      "greeting is not SOCKS version 5");
	if (len < 2)
		return -EAGAIN;
	if (buf[1] == 0)
		return refuse(err, RP_SOCKS5_NO_ACCEPTABLE, "greeting offers no method");
	need = 2 + (size_t)buf[1];
	if (len < need)
		return -EAGAIN;
	memset(g, 0, sizeof(*g));
	g->nmethods = buf[1];
	memcpy(g->methods, buf + 2, g->nmethods);
	return (int)need;
}

uint8_t rp__socks5_choose_method(const struct rp_socks5_greeting *g, int need_auth)
{
	uint8_t want = need_auth ? RP_SOCKS5_USERPASS : RP_SOCKS5_NO_AUTH;

	for (unsigned i = 0; i < g->nmethods; i++)
		if (g->methods[i] == want)
			return want;
	return RP_SOCKS5_NO_ACCEPTABLE;
}

int rp__socks5_parse_auth(const uint8_t *buf, size_t len, struct rp_socks5_auth *a,
			  struct rp_socks_error *err)
{
	size_t ulen, plen, avail;

	if (len < 1)
		return -EAGAIN;
	if (buf[0] != USERPASS_VERSION)
		return refuse(err, RP_SOCKS5_AUTH_FAILURE,
			      "auth is not username/password version 1");
	if (len < 2)
		return -EAGAIN;
	ulen = buf[1];
	if (ulen == 0)
		return refuse(err, RP_SOCKS5_AUTH_FAILURE, "empty user name");
	avail = min_size(len - 2, ulen);
	if (memchr(buf + 2, '\0', avail))
		return refuse(err, RP_SOCKS5_AUTH_FAILURE, "NUL in user name");
	if (len < 3 + ulen)
		return -EAGAIN;
	plen = buf[2 + ulen];
	avail = min_size(len - 3 - ulen, plen);
	if (memchr(buf + 3 + ulen, '\0', avail))
		return refuse(err, RP_SOCKS5_AUTH_FAILURE, "NUL in password");
	if (len < 3 + ulen + plen)
		return -EAGAIN;
	memset(a, 0, sizeof(*a));
	a->ulen = (uint8_t)ulen;
	a->plen = (uint8_t)plen;
	memcpy(a->user, buf + 2, ulen);
	memcpy(a->pass, buf + 3 + ulen, plen);
	return (int)(3 + ulen + plen);
}

int rp__socks5_parse_request(const uint8_t *buf, size_t len, struct rp_socks5_request *r,
			     struct rp_socks_error *err)
{
	size_t alen, need;
	const char *why;
	uint16_t port;
	uint8_t cmd;

	if (len < 1)
		return -EAGAIN;
	if (buf[0] != SOCKS5_VERSION)
		return refuse(err, RP_SOCKS5_GENERAL_FAILURE,
			      "request is not SOCKS version 5");
	if (len < 2)
		return -EAGAIN;
	cmd = buf[1];
	if (cmd != RP_SOCKS_CONNECT && cmd != RP_SOCKS_BIND &&
	    cmd != RP_SOCKS_UDP_ASSOCIATE)
		return refuse(err, RP_SOCKS5_CMD_UNSUPPORTED, "unknown command");
	if (len < 3)
		return -EAGAIN;
	if (buf[2] != 0)
		return refuse(err, RP_SOCKS5_GENERAL_FAILURE,
			      "reserved byte is not zero");
	if (len < 4)
		return -EAGAIN;
	switch (buf[3]) {
	case RP_SOCKS_ATYP_IPV4:
		alen = 4;
		break;
	case RP_SOCKS_ATYP_IPV6:
		alen = 16;
		break;
	case RP_SOCKS_ATYP_DOMAIN:
		if (len < 5)
			return -EAGAIN;
		if (buf[4] == 0)
			return refuse(err, RP_SOCKS5_HOST_UNREACHABLE, "empty host name");
		why = host_check(buf + 5, min_size(len - 5, buf[4]));
		if (why)
			return refuse(err, RP_SOCKS5_HOST_UNREACHABLE, why);
		alen = 1 + (size_t)buf[4];
		break;
	default:
		return refuse(err, RP_SOCKS5_ATYP_UNSUPPORTED, "unknown address type");
	}
	need = 4 + alen + 2;
	if (len < need)
		return -EAGAIN;
	port = get_be16(buf + need - 2);
	if (port == 0 && cmd == RP_SOCKS_CONNECT)
		return refuse(err, RP_SOCKS5_NOT_ALLOWED, "CONNECT to port 0");
	r->cmd = cmd;
	if (buf[3] == RP_SOCKS_ATYP_IPV4)
		target_ipv4(&r->dst, buf + 4, port);
	else if (buf[3] == RP_SOCKS_ATYP_IPV6)
		target_ipv6(&r->dst, buf + 4, port);
	else
		target_name(&r->dst, buf + 5, buf[4], port);
	return (int)need;
}

/*
 * A NUL-terminated string of at most SOCKS4_STR_MAX bytes at @s, @avail
 * bytes of it arrived: its length, -EAGAIN, or -EBADMSG once 256 bytes
 * have come without a NUL.
 */
static int socks4_str(const uint8_t *s, size_t avail)
{
	const uint8_t *nul = memchr(s, '\0', min_size(avail, SOCKS4_STR_MAX + 1));

	if (nul)
		return (int)(nul - s);
	return avail > SOCKS4_STR_MAX ? -EBADMSG : -EAGAIN;
}

int rp__socks4_parse_request(const uint8_t *buf, size_t len, struct rp_socks4_request *r,
			     struct rp_socks_error *err)
{
	size_t end, avail;
	const char *why;
	int ulen, hlen;
	uint16_t port;
	int is_4a;

	if (len < 1)
		return -EAGAIN;
	if (buf[0] != SOCKS4_VERSION)
		return refuse(err, RP_SOCKS4_REJECTED, "request is not SOCKS version 4");
	if (len < 2)
		return -EAGAIN;
	if (buf[1] != RP_SOCKS_CONNECT && buf[1] != RP_SOCKS_BIND)
		return refuse(err, RP_SOCKS4_REJECTED, "unknown command");
	if (len < 4)
		return -EAGAIN;
	port = get_be16(buf + 2);
	if (port == 0 && buf[1] == RP_SOCKS_CONNECT)
		return refuse(err, RP_SOCKS4_REJECTED, "CONNECT to port 0");
	if (len < 8)
		return -EAGAIN;
	/* SOCKS4a: 0.0.0.x, x != 0, is not an address but "a name follows". */
	is_4a = buf[4] == 0 && buf[5] == 0 && buf[6] == 0 && buf[7] != 0;
	ulen = socks4_str(buf + 8, len - 8);
	if (ulen == -EBADMSG)
		return refuse(err, RP_SOCKS4_REJECTED, "user id longer than 255 bytes");
	if (ulen < 0)
		return ulen;
	end = 8 + (size_t)ulen + 1;
	if (is_4a) {
		avail = len - end;
		hlen = socks4_str(buf + end, avail);
		if (hlen == 0)
			return refuse(err, RP_SOCKS4_REJECTED, "empty host name");
		/* The name's characters first: they are refused as they come. */
		why = host_check(buf + end, hlen > 0 ? (size_t)hlen
						     : min_size(avail, SOCKS4_STR_MAX));
		if (why)
			return refuse(err, RP_SOCKS4_REJECTED, why);
		if (hlen == -EBADMSG)
			return refuse(err, RP_SOCKS4_REJECTED,
				      "host name longer than 255 bytes");
		if (hlen < 0)
			return hlen;
		memset(r, 0, sizeof(*r));
		target_name(&r->dst, buf + end, (size_t)hlen, port);
		end += (size_t)hlen + 1;
	} else {
		memset(r, 0, sizeof(*r));
		target_ipv4(&r->dst, buf + 4, port);
	}
	r->cmd = buf[1];
	memcpy(r->userid, buf + 8, (size_t)ulen);
	return (int)end;
}

int rp__socks5_build_method(uint8_t method, uint8_t *out, size_t cap)
{
	if (cap < 2)
		return -ENOSPC;
	out[0] = SOCKS5_VERSION;
	out[1] = method;
	return 2;
}

int rp__socks5_build_auth_reply(int ok, uint8_t *out, size_t cap)
{
	if (cap < 2)
		return -ENOSPC;
	out[0] = USERPASS_VERSION;
	out[1] = ok ? 0 : RP_SOCKS5_AUTH_FAILURE;
	return 2;
}

int rp__socks5_build_reply(uint8_t rep, const struct sockaddr *bnd, uint8_t *out,
			   size_t cap)
{
	static const uint8_t any4[4];
	const uint8_t *ip = any4;
	uint16_t port = 0; /* network order */
	uint8_t atyp = RP_SOCKS_ATYP_IPV4;
	size_t alen = 4;

	if (bnd && bnd->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)bnd;

		ip = (const uint8_t *)&sin->sin_addr;
		port = sin->sin_port;
	} else if (bnd && bnd->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)bnd;

		ip = (const uint8_t *)&sin6->sin6_addr;
		port = sin6->sin6_port;
		atyp = RP_SOCKS_ATYP_IPV6;
		alen = 16;
	} else if (bnd) {
		return -EAFNOSUPPORT;
	}
	if (cap < 4 + alen + 2)
		return -ENOSPC;
	out[0] = SOCKS5_VERSION;
	out[1] = rep;
	out[2] = 0;
	out[3] = atyp;
	memcpy(out + 4, ip, alen);
	memcpy(out + 4 + alen, &port, 2);
	return (int)(4 + alen + 2);
}

int rp__socks4_build_reply(uint8_t code, const struct sockaddr *bnd, uint8_t *out,
			   size_t cap)
{
	if (cap < 8)
		return -ENOSPC;
	out[0] = SOCKS4_REPLY_VN;
	out[1] = code;
	if (bnd && bnd->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)bnd;

		memcpy(out + 2, &sin->sin_port, 2);
		memcpy(out + 4, &sin->sin_addr, 4);
	} else {
		memset(out + 2, 0, 6);
	}
	return 8;
}

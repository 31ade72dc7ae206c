// SPDX-License-Identifier: BSD-2-Clause
/*
 * addr.c - socket address parsing and formatting for the CLI and logs, and
 * the listen-socket recipe every reactor uses for its SO_REUSEPORT shard.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net.h"

static int parse_port(const char *s, bool allow_port0)
{
	unsigned long v = 0;

	if (!*s || strlen(s) > 5)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(*p - '0');
	}
	if (v > 65535 || (!v && !allow_port0))
		return -EINVAL;
	return (int)v;
}

int rp__addr_parse(const char *s, struct rp_addr *out, bool allow_port0)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon;
	size_t hl;
	int port;

	memset(out, 0, sizeof(*out));
	if (!s)
		return -EINVAL;
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;

		if (!end || end[1] != ':')
			return -EINVAL;
		hl = (size_t)(end - s - 1);
		if (!hl || hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, hl);
		host[hl] = '\0';
		port = parse_port(end + 2, allow_port0);
		if (port < 0 || inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return -EINVAL;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		out->len = sizeof(*sin6);
		return 0;
	}
	colon = strrchr(s, ':');
	if (!colon)
		return -EINVAL;
	hl = (size_t)(colon - s);
	if (!hl || hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	port = parse_port(colon + 1, allow_port0);
	{
		struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;

		/* inet_pton() takes only dotted quads: no "1", no "0x7f.1". */
		if (port < 0 || inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return -EINVAL;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		out->len = sizeof(*sin);
	}
	return 0;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* RFC 3986 userinfo without ':': unreserved and sub-delims. */
static bool userinfo_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || strchr("-._~!$&'()*+,;=", c);
}

/* Decodes @n characters of @s into @out (@cap bytes, NUL added), ':' taken
 * as itself when @colon: the length, or -EINVAL. */
static int userinfo_decode(const char *s, size_t n, bool colon, char *out, size_t cap)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return -EINVAL;
			hi = hex_value(s[i + 1]);
			lo = hex_value(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -EINVAL;
			c = hi << 4 | lo;
			i += 2;
		} else if (!c || !(userinfo_char((char)c) || (colon && c == ':'))) {
			return -EINVAL;
		}
		if (c < 0x20 || c == 0x7f || k + 1 >= cap)
			return -EINVAL;
		out[k++] = (char)c;
	}
	out[k] = '\0';
	return (int)k;
}

int rp__proxy_url_parse(const char *s, struct rp_proxy_url *out)
{
	const char *at, *colon;
	int n;

	memset(out, 0, sizeof(*out));
	if (!s)
		return -EINVAL;
	if (strncmp(s, "http://", 7) == 0) {
		out->scheme = RP_PROXY_HTTP;
		s += 7;
	} else if (strncmp(s, "socks5://", 9) == 0) {
		out->scheme = RP_PROXY_SOCKS5;
		s += 9;
	} else {
		goto fail;
	}
	at = strrchr(s, '@');
	if (at) {
		colon = memchr(s, ':', (size_t)(at - s));
		if (!colon)
			goto fail; /* a user without a password: say "user:@" */
		n = userinfo_decode(s, (size_t)(colon - s), false, out->user,
				    sizeof(out->user));
		if (n <= 0 || strchr(out->user, ':'))
			goto fail;
		if (userinfo_decode(colon + 1, (size_t)(at - colon - 1), true, out->pass,
				    sizeof(out->pass)) < 0)
			goto fail;
		out->auth = true;
		s = at + 1;
	}
	if (rp__addr_parse(s, &out->addr, false) < 0)
		goto fail;
	return 0;
fail:
	memset(out, 0, sizeof(*out));
	return -EINVAL;
}

char *rp__addr_format(const struct rp_addr *a, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)&a->ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(sin6->sin6_port));
	} else if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)&a->ss;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(sin->sin_port));
	} else {
		snprintf(buf, len, "?");
	}
	return buf;
}

const char *rp__addr_ip_format(const struct sockaddr *sa, char *buf, size_t len)
{
	if (sa->sa_family == AF_INET6)
		return inet_ntop(
			AF_INET6,
			&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, buf,
			(socklen_t)len);
	if (sa->sa_family == AF_INET)
		return inet_ntop(
			AF_INET,
			&((const struct sockaddr_in *)(const void *)sa)->sin_addr, buf,
			(socklen_t)len);
	return NULL;
}

int rp__listen_socket(const struct rp_addr *a, int backlog, bool reuseport)
{
	int one = 1;
	int fd, ret;

	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (reuseport &&
	     setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) ||
	    (a->ss.ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0))
		goto fail_errno;
	/* Accepted sockets inherit TCP_NODELAY from the listener: one
	 * setsockopt here instead of one per connection. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		goto fail_errno;
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0)
		goto fail_errno;
	if (listen(fd, backlog) < 0)
		goto fail_errno;
	return fd;

fail_errno:
	ret = -errno;
	close(fd);
	return ret;
}

bool rp__addr_client_key(const struct sockaddr *sa, uint8_t key[RP_CLIENT_KEY])
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	memset(key, 0, RP_CLIENT_KEY);
	if (sa->sa_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		       4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const uint8_t *a = ((const struct sockaddr_in6 *)(const void *)sa)
					   ->sin6_addr.s6_addr;

		if (!memcmp(a, mapped, sizeof(mapped))) {
			key[0] = 4;
			memcpy(key + 1, a + 12, 4);
		} else {
			key[0] = 6;
			memcpy(key + 1, a, 8); /* the /64 */
		}
		return true;
	}
	return false;
}

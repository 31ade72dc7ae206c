/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * socks_fuzz.h - the invariants the SOCKS fuzz targets (fuzz_socks*.c) share:
 * a parser's verdicts over the growing prefixes of an input, and what a
 * parsed target may look like. Each check aborts, which libFuzzer reports
 * as a crash with the input that caused it.
 */
#ifndef RP_FUZZ_SOCKS_H
#define RP_FUZZ_SOCKS_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "forward/socks.h"

#define CHECK(c)                                                                         \
	do {                                                                             \
		if (!(c))                                                                \
			abort();                                                         \
	} while (0)

/* One of the parsers, @out its own struct. */
typedef int (*socks_parse_fn)(const uint8_t *buf, size_t len, void *out,
			      struct rp_socks_error *err);

/*
 * Parses every prefix of @data (up to one past @max, then the whole) and
 * checks the verdicts: -EAGAIN up to some length k, never at @max bytes or
 * more; from k on one verdict, either k itself (the message's length: later
 * bytes are not looked at) or -EBADMSG with the same reply code and static
 * reason. @err is written on -EBADMSG only. Returns the verdict on all of
 * @data, with @out holding its parse.
 */
static inline int socks_verdict(socks_parse_fn parse, const uint8_t *data, size_t size,
				void *out, size_t max)
{
	struct rp_socks_error first = {0, NULL};
	size_t lim = size < max + 1 ? size : max + 1;
	int verdict = -EAGAIN, ret = -EAGAIN;

	for (size_t k = 0; k <= size; k = k < lim ? k + 1 : (k < size ? size : k + 1)) {
		struct rp_socks_error err = {0, NULL};

		ret = parse(data, k, out, &err);
		if (ret == -EAGAIN) {
			CHECK(verdict == -EAGAIN && k < max);
			CHECK(err.why == NULL);
			continue;
		}
		CHECK(ret == -EBADMSG ||
		      (ret > 0 && (size_t)ret <= k && (size_t)ret <= max));
		CHECK((ret == -EBADMSG) == (err.why != NULL));
		if (verdict == -EAGAIN) {
			CHECK(ret < 0 || (size_t)ret == k);
			verdict = ret;
			first = err;
			continue;
		}
		CHECK(ret == verdict);
		CHECK(err.rep == first.rep && err.why == first.why);
	}
	return ret;
}

/* An independent reading of socks.h's host name rule. */
static inline void socks_check_host(const char *h)
{
	size_t n = strnlen(h, 256), label = 0;

	CHECK(n >= 1 && n <= 255);
	for (size_t i = 0; i < n; i++) {
		char c = h[i];

		if (c == '.') {
			CHECK(label >= 1);
			label = 0;
		} else {
			CHECK((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '-' || c == '_');
			CHECK(++label <= 63);
		}
	}
}

/* A parsed target: one of three forms, every unused byte zero, the port in
 * both places, and no CONNECT to port 0. */
static inline void socks_check_target(const struct rp_socks_target *t, uint8_t cmd)
{
	static const struct sockaddr_storage zero;
	const uint8_t *tail = (const uint8_t *)&t->addr + t->addr_len;

	switch (t->atyp) {
	case RP_SOCKS_ATYP_IPV4: {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&t->addr;

		CHECK(t->addr_len == sizeof(*sin) && sin->sin_family == AF_INET);
		CHECK(ntohs(sin->sin_port) == t->port && t->host[0] == '\0');
		break;
	}
	case RP_SOCKS_ATYP_IPV6: {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&t->addr;

		CHECK(t->addr_len == sizeof(*sin6) && sin6->sin6_family == AF_INET6);
		CHECK(ntohs(sin6->sin6_port) == t->port && t->host[0] == '\0');
		CHECK(sin6->sin6_flowinfo == 0 && sin6->sin6_scope_id == 0);
		break;
	}
	case RP_SOCKS_ATYP_DOMAIN:
		CHECK(t->addr_len == 0);
		socks_check_host(t->host);
		break;
	default:
		abort();
	}
	CHECK(memcmp(tail, &zero, sizeof(zero) - t->addr_len) == 0);
	if (cmd == RP_SOCKS_CONNECT)
		CHECK(t->port != 0);
}

/* The address bytes of an IP target, as they were on the wire. */
static inline const uint8_t *socks_target_ip(const struct rp_socks_target *t)
{
	if (t->atyp == RP_SOCKS_ATYP_IPV4)
		return (const uint8_t *)&((const struct sockaddr_in *)&t->addr)->sin_addr;
	return (const uint8_t *)&((const struct sockaddr_in6 *)&t->addr)->sin6_addr;
}

static inline int socks5_greeting(const uint8_t *b, size_t n, void *o,
				  struct rp_socks_error *e)
{
	return rp__socks5_parse_greeting(b, n, o, e);
}

static inline int socks5_auth(const uint8_t *b, size_t n, void *o,
			      struct rp_socks_error *e)
{
	return rp__socks5_parse_auth(b, n, o, e);
}

static inline int socks5_request(const uint8_t *b, size_t n, void *o,
				 struct rp_socks_error *e)
{
	return rp__socks5_parse_request(b, n, o, e);
}

static inline int socks4_request(const uint8_t *b, size_t n, void *o,
				 struct rp_socks_error *e)
{
	return rp__socks4_parse_request(b, n, o, e);
}

#endif

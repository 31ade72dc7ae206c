// SPDX-License-Identifier: BSD-2-Clause
/*
 * fuzz_socks5.c - libFuzzer target for the SOCKS5 greeting, RFC 1929 auth
 * and request parsers, each run on the input: every prefix gives a
 * consistent verdict (socks_fuzz.h); what is accepted encodes back to
 * exactly the bytes consumed, with consistent fields; the method choice
 * agrees with the methods offered; and the reply built for a parsed IP
 * target carries the request's own address bytes.
 */
#include "socks_fuzz.h"

static void greeting(const uint8_t *data, size_t size)
{
	struct rp_socks5_greeting g;
	uint8_t out[2];
	int n = socks_verdict(socks5_greeting, data, size, &g, RP_SOCKS5_GREETING_MAX);

	if (n < 0)
		return;
	CHECK(g.nmethods >= 1 && (size_t)n == 2u + g.nmethods);
	CHECK(data[0] == 5 && data[1] == g.nmethods);
	CHECK(memcmp(g.methods, data + 2, g.nmethods) == 0);
	for (int need_auth = 0; need_auth <= 1; need_auth++) {
		uint8_t want = need_auth ? RP_SOCKS5_USERPASS : RP_SOCKS5_NO_AUTH;
		uint8_t m = rp__socks5_choose_method(&g, need_auth);

		CHECK(m == (memchr(g.methods, want, g.nmethods)
				    ? want
				    : RP_SOCKS5_NO_ACCEPTABLE));
		CHECK(rp__socks5_build_method(m, out, sizeof(out)) == 2);
		CHECK(out[0] == 5 && out[1] == m);
	}
}

static void auth(const uint8_t *data, size_t size)
{
	struct rp_socks5_auth a;
	uint8_t enc[RP_SOCKS5_AUTH_MAX];
	size_t e = 0;
	int n = socks_verdict(socks5_auth, data, size, &a, RP_SOCKS5_AUTH_MAX);

	if (n < 0)
		return;
	CHECK(a.ulen >= 1 && strlen(a.user) == a.ulen && strlen(a.pass) == a.plen);
	enc[e++] = 1;
	enc[e++] = a.ulen;
	memcpy(enc + e, a.user, a.ulen);
	e += a.ulen;
	enc[e++] = a.plen;
	memcpy(enc + e, a.pass, a.plen);
	e += a.plen;
	CHECK((size_t)n == e && memcmp(enc, data, e) == 0);
}

static void request(const uint8_t *data, size_t size)
{
	struct rp_socks5_request r;
	uint8_t enc[RP_SOCKS5_REQUEST_MAX], rep[RP_SOCKS_REPLY_MAX];
	size_t e = 0, alen;
	int n = socks_verdict(socks5_request, data, size, &r, RP_SOCKS5_REQUEST_MAX);

	if (n < 0)
		return;
	CHECK(r.cmd >= RP_SOCKS_CONNECT && r.cmd <= RP_SOCKS_UDP_ASSOCIATE);
	socks_check_target(&r.dst, r.cmd);
	enc[e++] = 5;
	enc[e++] = r.cmd;
	enc[e++] = 0;
	enc[e++] = r.dst.atyp;
	if (r.dst.atyp == RP_SOCKS_ATYP_DOMAIN) {
		alen = strlen(r.dst.host);
		enc[e++] = (uint8_t)alen;
		memcpy(enc + e, r.dst.host, alen);
	} else {
		alen = r.dst.atyp == RP_SOCKS_ATYP_IPV4 ? 4 : 16;
		memcpy(enc + e, socks_target_ip(&r.dst), alen);
	}
	e += alen;
	enc[e++] = (uint8_t)(r.dst.port >> 8);
	enc[e++] = (uint8_t)r.dst.port;
	CHECK((size_t)n == e && memcmp(enc, data, e) == 0);
	if (r.dst.atyp == RP_SOCKS_ATYP_DOMAIN)
		return;
	/* A reply naming the same address: VER REP RSV, then the request's
	 * ATYP, address and port, byte for byte. */
	CHECK(rp__socks5_build_reply(RP_SOCKS5_OK, (const struct sockaddr *)&r.dst.addr,
				     rep, sizeof(rep)) == n);
	CHECK(rep[0] == 5 && rep[1] == RP_SOCKS5_OK && rep[2] == 0);
	CHECK(memcmp(rep + 3, data + 3, (size_t)n - 3) == 0);
	CHECK(rp__socks5_build_reply(RP_SOCKS5_OK, (const struct sockaddr *)&r.dst.addr,
				     rep, (size_t)n - 1) == -ENOSPC);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	greeting(data, size);
	auth(data, size);
	request(data, size);
	return 0;
}

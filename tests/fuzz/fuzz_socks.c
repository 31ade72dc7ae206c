// SPDX-License-Identifier: BSD-2-Clause
/*
 * fuzz_socks.c - libFuzzer target for a forward-proxy connection's first
 * bytes read the way the engine reads them: the detector picks the protocol
 * from the first byte; then the SOCKS4 request, or the SOCKS5 greeting, the
 * RFC 1929 auth when the chosen method calls for it (with and without auth
 * required) and the request, each parsed where the last one ended, with the
 * checks of socks_fuzz.h. The first byte alone decides which parser can
 * accept: each refuses any other at once, so nothing HTTP reaches a SOCKS
 * parser's buffer.
 */
#include "socks_fuzz.h"

static void socks5_handshake(const uint8_t *data, size_t size, int need_auth)
{
	struct rp_socks5_greeting g;
	struct rp_socks5_auth a;
	struct rp_socks5_request r;
	size_t off;
	uint8_t method;
	int n;

	n = socks_verdict(socks5_greeting, data, size, &g, RP_SOCKS5_GREETING_MAX);
	if (n < 0)
		return;
	off = (size_t)n;
	method = rp__socks5_choose_method(&g, need_auth);
	if (method == RP_SOCKS5_NO_ACCEPTABLE)
		return;
	CHECK(method == (need_auth ? RP_SOCKS5_USERPASS : RP_SOCKS5_NO_AUTH));
	if (method == RP_SOCKS5_USERPASS) {
		n = socks_verdict(socks5_auth, data + off, size - off, &a,
				  RP_SOCKS5_AUTH_MAX);
		if (n < 0)
			return;
		off += (size_t)n;
	}
	n = socks_verdict(socks5_request, data + off, size - off, &r,
			  RP_SOCKS5_REQUEST_MAX);
	if (n < 0)
		return;
	socks_check_target(&r.dst, r.cmd);
	CHECK(off + (size_t)n <= size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	union {
		struct rp_socks5_greeting g;
		struct rp_socks5_auth a;
		struct rp_socks5_request r5;
		struct rp_socks4_request r4;
	} m;
	enum rp_fwd_proto proto;
	int n;

	if (size == 0)
		return 0;
	proto = rp__fwd_detect(data[0]);
	CHECK(proto == (data[0] == 5   ? RP_FWD_SOCKS5
			: data[0] == 4 ? RP_FWD_SOCKS4
				       : RP_FWD_HTTP));
	CHECK((rp__socks5_parse_greeting(data, 1, &m.g, NULL) == -EAGAIN) ==
	      (proto == RP_FWD_SOCKS5));
	CHECK((rp__socks5_parse_request(data, 1, &m.r5, NULL) == -EAGAIN) ==
	      (proto == RP_FWD_SOCKS5));
	CHECK((rp__socks4_parse_request(data, 1, &m.r4, NULL) == -EAGAIN) ==
	      (proto == RP_FWD_SOCKS4));
	CHECK((rp__socks5_parse_auth(data, 1, &m.a, NULL) == -EAGAIN) == (data[0] == 1));
	switch (proto) {
	case RP_FWD_SOCKS4:
		n = socks_verdict(socks4_request, data, size, &m.r4,
				  RP_SOCKS4_REQUEST_MAX);
		if (n > 0)
			socks_check_target(&m.r4.dst, m.r4.cmd);
		break;
	case RP_FWD_SOCKS5:
		socks5_handshake(data, size, 0);
		socks5_handshake(data, size, 1);
		break;
	case RP_FWD_HTTP:
		break;
	}
	return 0;
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * fuzz_socks4.c - libFuzzer target for the SOCKS4/4a request parser: every
 * prefix gives a consistent verdict (socks_fuzz.h), never -EAGAIN past the
 * longest request; an accepted request encodes back to exactly the bytes
 * consumed, a name only when DSTIP was 0.0.0.x with x != 0; and the reply
 * built for a parsed address carries the request's own port and address.
 */
#include "socks_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rp_socks4_request r;
	uint8_t enc[RP_SOCKS4_REQUEST_MAX], rep[8];
	size_t e = 0, ulen;
	int n = socks_verdict(socks4_request, data, size, &r, RP_SOCKS4_REQUEST_MAX);
	int is_4a;

	if (n < 0)
		return 0;
	CHECK(r.cmd == RP_SOCKS_CONNECT || r.cmd == RP_SOCKS_BIND);
	CHECK(r.dst.atyp == RP_SOCKS_ATYP_IPV4 || r.dst.atyp == RP_SOCKS_ATYP_DOMAIN);
	socks_check_target(&r.dst, r.cmd);
	ulen = strnlen(r.userid, sizeof(r.userid));
	CHECK(ulen <= 255);
	is_4a = data[4] == 0 && data[5] == 0 && data[6] == 0 && data[7] != 0;
	CHECK(is_4a == (r.dst.atyp == RP_SOCKS_ATYP_DOMAIN));
	enc[e++] = 4;
	enc[e++] = r.cmd;
	enc[e++] = (uint8_t)(r.dst.port >> 8);
	enc[e++] = (uint8_t)r.dst.port;
	if (is_4a)
		memcpy(enc + e, data + 4, 4);
	else
		memcpy(enc + e, socks_target_ip(&r.dst), 4);
	e += 4;
	memcpy(enc + e, r.userid, ulen + 1);
	e += ulen + 1;
	if (is_4a) {
		size_t hlen = strlen(r.dst.host);

		memcpy(enc + e, r.dst.host, hlen + 1);
		e += hlen + 1;
	}
	CHECK((size_t)n == e && memcmp(enc, data, e) == 0);
	CHECK(rp__socks4_build_reply(RP_SOCKS4_GRANTED,
				     (const struct sockaddr *)&r.dst.addr, rep,
				     sizeof(rep)) == 8);
	CHECK(rep[0] == 0 && rep[1] == RP_SOCKS4_GRANTED);
	if (is_4a) /* the address is all zero: nothing to tell */
		CHECK(memcmp(rep + 2, "\0\0\0\0\0\0", 6) == 0);
	else
		CHECK(memcmp(rep + 2, data + 2, 6) == 0);
	return 0;
}

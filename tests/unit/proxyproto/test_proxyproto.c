// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_proxyproto.c - the PROXY protocol parser and builder: valid v1 and v2
 * headers of every kind, every proper prefix of them asking for more bytes,
 * a table of malformed headers refused, and builder output that parses back
 * to the addresses it was given.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "proxyproto/proxyproto.h"
#include "unit.h"

#define V2SIG "\r\n\r\n\0\r\nQUIT\n"

static struct sockaddr_in sin4(const char *ip, uint16_t port)
{
	struct sockaddr_in s = {.sin_family = AF_INET, .sin_port = htons(port)};

	inet_pton(AF_INET, ip, &s.sin_addr);
	return s;
}

static struct sockaddr_in6 sin6(const char *ip, uint16_t port)
{
	struct sockaddr_in6 s = {.sin6_family = AF_INET6, .sin6_port = htons(port)};

	inet_pton(AF_INET6, ip, &s.sin6_addr);
	return s;
}

/* Every proper prefix of a valid header asks for more. */
static void check_prefixes(const void *hdr, size_t len)
{
	struct rp_pp_result r;

	for (size_t i = 0; i < len; i++) {
		int ret = rp__pp_parse(hdr, i, &r);

		if (ret != -EAGAIN)
			printf("\n  prefix %zu of %zu: %d\n", i, len, ret);
		CU_ASSERT_EQUAL(ret, -EAGAIN);
	}
}

/* Parses @hdr followed by trailing client bytes: only the header counts. */
static int parse_with_tail(const void *hdr, size_t len, struct rp_pp_result *r)
{
	uint8_t buf[1024];

	memcpy(buf, hdr, len);
	memcpy(buf + len, "GET / HTTP/1.1\r\n", 16);
	return rp__pp_parse(buf, len + 16, r);
}

static void test_proxyproto_v1_tcp4(void)
{
	static const char h[] = "PROXY TCP4 192.168.0.1 10.0.0.2 56324 443\r\n";
	struct sockaddr_in s = sin4("192.168.0.1", 56324), d = sin4("10.0.0.2", 443);
	struct rp_pp_result r;

	CU_ASSERT_EQUAL(parse_with_tail(h, strlen(h), &r), (int)strlen(h));
	CU_ASSERT_EQUAL(r.version, 1);
	CU_ASSERT_FALSE(r.local);
	CU_ASSERT_EQUAL(r.addr_len, sizeof(struct sockaddr_in));
	CU_ASSERT(memcmp(&r.src, &s, sizeof(s)) == 0);
	CU_ASSERT(memcmp(&r.dst, &d, sizeof(d)) == 0);
	check_prefixes(h, strlen(h));
}

static void test_proxyproto_v1_tcp6(void)
{
	static const char h[] = "PROXY TCP6 2001:db8::1 ::1 0 65535\r\n";
	struct sockaddr_in6 s = sin6("2001:db8::1", 0), d = sin6("::1", 65535);
	struct rp_pp_result r;

	CU_ASSERT_EQUAL(parse_with_tail(h, strlen(h), &r), (int)strlen(h));
	CU_ASSERT_FALSE(r.local);
	CU_ASSERT_EQUAL(r.addr_len, sizeof(struct sockaddr_in6));
	CU_ASSERT(memcmp(&r.src, &s, sizeof(s)) == 0);
	CU_ASSERT(memcmp(&r.dst, &d, sizeof(d)) == 0);
	check_prefixes(h, strlen(h));
}

static void test_proxyproto_v1_max_length(void)
{
	/* The longest line the spec allows (107 bytes), and the longest
	 * TCP6 one (104). */
	static const char h[] = "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
				"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	static const char h6[] =
		"PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	struct rp_pp_result r;

	CU_ASSERT_EQUAL(strlen(h), RP_PP_V1_MAX);
	CU_ASSERT_EQUAL(parse_with_tail(h, strlen(h), &r), RP_PP_V1_MAX);
	CU_ASSERT_TRUE(r.local);
	check_prefixes(h, strlen(h));
	CU_ASSERT_EQUAL(parse_with_tail(h6, strlen(h6), &r), (int)strlen(h6));
	CU_ASSERT_FALSE(r.local);
	check_prefixes(h6, strlen(h6));
}

static void test_proxyproto_v1_unknown(void)
{
	static const char h1[] = "PROXY UNKNOWN\r\n";
	static const char h2[] = "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n";
	struct rp_pp_result r;

	CU_ASSERT_EQUAL(parse_with_tail(h1, strlen(h1), &r), (int)strlen(h1));
	CU_ASSERT_TRUE(r.local);
	CU_ASSERT_EQUAL(r.version, 1);
	check_prefixes(h1, strlen(h1));
	CU_ASSERT_EQUAL(parse_with_tail(h2, strlen(h2), &r), (int)strlen(h2));
	CU_ASSERT_TRUE(r.local);
	check_prefixes(h2, strlen(h2));
}

static const uint8_t v2_tcp4[] = V2SIG "\x21\x11\x00\x0c"
				       "\x7f\x00\x00\x01\x0a\x00\x00\x02"
				       "\x30\x39\x01\xbb";

static void test_proxyproto_v2_proxy_tcp4(void)
{
	struct sockaddr_in s = sin4("127.0.0.1", 12345), d = sin4("10.0.0.2", 443);
	struct rp_pp_result r;
	size_t len = sizeof(v2_tcp4) - 1;

	CU_ASSERT_EQUAL(len, 28);
	CU_ASSERT_EQUAL(parse_with_tail(v2_tcp4, len, &r), 28);
	CU_ASSERT_EQUAL(r.version, 2);
	CU_ASSERT_FALSE(r.local);
	CU_ASSERT(memcmp(&r.src, &s, sizeof(s)) == 0);
	CU_ASSERT(memcmp(&r.dst, &d, sizeof(d)) == 0);
	check_prefixes(v2_tcp4, len);
}

static void test_proxyproto_v2_proxy_tcp6_tlvs(void)
{
	/* 36 address bytes then two TLVs: ALPN "h2" and a NOOP of 3 bytes. */
	static const uint8_t h[] = V2SIG "\x21\x21\x00\x2f"
					 "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01"
					 "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01"
					 "\x04\xd2\x00\x50"
					 "\x01\x00\x02h2"
					 "\x04\x00\x03\0\0\0";
	struct sockaddr_in6 s = sin6("2001:db8::1", 1234), d = sin6("::1", 80);
	struct rp_pp_result r;
	size_t len = sizeof(h) - 1;

	CU_ASSERT_EQUAL(len, 16 + 0x2f);
	CU_ASSERT_EQUAL(parse_with_tail(h, len, &r), (int)len);
	CU_ASSERT_FALSE(r.local);
	CU_ASSERT_EQUAL(r.addr_len, sizeof(struct sockaddr_in6));
	CU_ASSERT(memcmp(&r.src, &s, sizeof(s)) == 0);
	CU_ASSERT(memcmp(&r.dst, &d, sizeof(d)) == 0);
	check_prefixes(h, len);
}

static void test_proxyproto_v2_local(void)
{
	static const uint8_t plain[] = V2SIG "\x20\x00\x00\x00";
	/* LOCAL with an address block and a TLV: all skipped. */
	static const uint8_t tlv[] =
		V2SIG "\x20\x11\x00\x11"
		      "\x7f\x00\x00\x01\x7f\x00\x00\x01\x00\x01\x00\x02"
		      "\x04\x00\x02\0\0";
	struct rp_pp_result r;

	CU_ASSERT_EQUAL(parse_with_tail(plain, 16, &r), 16);
	CU_ASSERT_TRUE(r.local);
	CU_ASSERT_EQUAL(r.version, 2);
	check_prefixes(plain, 16);
	CU_ASSERT_EQUAL(parse_with_tail(tlv, sizeof(tlv) - 1, &r), 16 + 0x11);
	CU_ASSERT_TRUE(r.local);
	check_prefixes(tlv, sizeof(tlv) - 1);
}

static void test_proxyproto_v2_unspec_and_unix_are_local(void)
{
	static const uint8_t unspec[] = V2SIG "\x21\x00\x00\x00";
	uint8_t unix_hdr[16 + 216] = V2SIG "\x21\x31\x00\xd8";
	struct rp_pp_result r;

	CU_ASSERT_EQUAL(rp__pp_parse(unspec, 16, &r), 16);
	CU_ASSERT_TRUE(r.local);
	CU_ASSERT_EQUAL(rp__pp_parse(unix_hdr, sizeof(unix_hdr), &r), 16 + 216);
	CU_ASSERT_TRUE(r.local);
}

static void test_proxyproto_malformed(void)
{
	static const struct {
		const char *what;
		const char *in;
		size_t len; /* 0: strlen(in) */
	} bad[] = {
		{"not a header", "GET / HTTP/1.1\r\n", 0},
		{"empty first byte", "\0", 1},
		{"lower case", "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", 0},
		{"no space after PROXY", "PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n", 0},
		{"unknown proto", "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", 0},
		{"UDP4", "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", 0},
		{"UNKNOWNX", "PROXY UNKNOWNX\r\n", 0},
		{"LF without CR", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", 0},
		{"CR without LF", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX", 0},
		{"double space", "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n", 0},
		{"trailing space", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", 0},
		{"missing port", "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", 0},
		{"extra field", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", 0},
		{"bad v4", "PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n", 0},
		{"v6 in TCP4", "PROXY TCP4 ::1 ::1 1 2\r\n", 0},
		{"v4 in TCP6", "PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n", 0},
		{"port too big", "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", 0},
		{"port leading zero", "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", 0},
		{"port sign", "PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n", 0},
		{"port 6 digits", "PROXY TCP4 1.2.3.4 5.6.7.8 000001 2\r\n", 0},
		{"NUL in line", "PROXY TCP4 1.2.3.4\0 5.6.7.8 1 2\r\n", 33},
		{"tab in line", "PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n", 0},
		{"DEL after UNKNOWN", "PROXY UNKNOWN \x7f\r\n", 0},
		{"no CRLF in 107 bytes",
		 "PROXY UNKNOWN "
		 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n",
		 0},
		{"v2 bad signature", "\r\n\r\n\0\r\nQUIX\n\x21\x11\x00\x0c", 16},
		{"v2 version 1", V2SIG "\x11\x11\x00\x00", 16},
		{"v2 version 3", V2SIG "\x31\x11\x00\x00", 16},
		{"v2 command 2", V2SIG "\x22\x11\x00\x0c", 16},
		{"v2 family 4", V2SIG "\x21\x41\x00\x0c", 16},
		{"v2 transport 3", V2SIG "\x21\x13\x00\x0c", 16},
		{"v2 UDP4", V2SIG "\x21\x12\x00\x0c", 16},
		{"v2 UDP6", V2SIG "\x21\x22\x00\x24", 16},
		{"v2 TCP4 too short", V2SIG "\x21\x11\x00\x0b", 16},
		{"v2 TCP6 too short", V2SIG "\x21\x21\x00\x0c", 16},
		{"v2 UNIX too short", V2SIG "\x21\x31\x00\x24", 16},
	};
	struct rp_pp_result r;

	CU_ASSERT_EQUAL(strlen(bad[23].in), 108); /* the CRLF sits at 106-107 */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = bad[i].len ? bad[i].len : strlen(bad[i].in);
		int ret = rp__pp_parse(bad[i].in, len, &r);

		if (ret != -EBADMSG)
			printf("\n  %s: %d\n", bad[i].what, ret);
		CU_ASSERT_EQUAL(ret, -EBADMSG);
	}
}

static void test_proxyproto_rejects_early(void)
{
	struct rp_pp_result r;

	/* The first byte that cannot be a header decides. */
	CU_ASSERT_EQUAL(rp__pp_parse("PRO", 3, &r), -EAGAIN);
	CU_ASSERT_EQUAL(rp__pp_parse("PRX", 3, &r), -EBADMSG);
	CU_ASSERT_EQUAL(rp__pp_parse("\r\n\r\n\0\r\nQ", 8, &r), -EAGAIN);
	CU_ASSERT_EQUAL(rp__pp_parse("\r\n\r\n\r", 5, &r), -EBADMSG);
	CU_ASSERT_EQUAL(rp__pp_parse(V2SIG "\x21\x11\x00\x0c", 16, &r), -EAGAIN);
	CU_ASSERT_EQUAL(rp__pp_parse(V2SIG "\x22", 13, &r), -EBADMSG);
}

static void roundtrip(int version, const struct sockaddr *s, const struct sockaddr *d,
		      socklen_t slen)
{
	uint8_t buf[RP_PP_BUILD_MAX];
	struct rp_pp_result r;
	int n = rp__pp_build(version, s, d, buf, sizeof(buf));

	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL(rp__pp_parse(buf, (size_t)n, &r), n);
	CU_ASSERT_EQUAL(r.version, version);
	if (!s) {
		CU_ASSERT_TRUE(r.local);
		return;
	}
	CU_ASSERT_FALSE(r.local);
	CU_ASSERT_EQUAL(r.addr_len, slen);
	CU_ASSERT(memcmp(&r.src, s, slen) == 0);
	CU_ASSERT(memcmp(&r.dst, d, slen) == 0);
	/* No shorter buffer will do. */
	CU_ASSERT_EQUAL(rp__pp_build(version, s, d, buf, (size_t)n - 1), -ENOSPC);
}

static void test_proxyproto_build_roundtrip(void)
{
	struct sockaddr_in s4 = sin4("203.0.113.7", 40000), d4 = sin4("127.0.0.1", 80);
	struct sockaddr_in6 s6 = sin6("2001:db8::7", 1), d6 = sin6("::ffff:1.2.3.4", 0);
	uint8_t buf[RP_PP_BUILD_MAX];

	for (int v = 1; v <= 2; v++) {
		roundtrip(v, (struct sockaddr *)&s4, (struct sockaddr *)&d4, sizeof(s4));
		roundtrip(v, (struct sockaddr *)&s6, (struct sockaddr *)&d6, sizeof(s6));
		roundtrip(v, NULL, NULL, 0);
		CU_ASSERT_EQUAL(rp__pp_build(v, (struct sockaddr *)&s4,
					     (struct sockaddr *)&d6, buf, sizeof(buf)),
				-EAFNOSUPPORT);
	}
	CU_ASSERT_EQUAL(rp__pp_build(3, NULL, NULL, buf, sizeof(buf)), -EINVAL);
	CU_ASSERT_EQUAL(rp__pp_build(1, (struct sockaddr *)&s4, (struct sockaddr *)&d4,
				     buf, sizeof(buf)),
			(int)strlen("PROXY TCP4 203.0.113.7 127.0.0.1 40000 80\r\n"));
	CU_ASSERT(memcmp(buf, "PROXY TCP4 203.0.113.7 127.0.0.1 40000 80\r\n", 43) == 0);
}

static const struct rp_unit_test tests[] = {
	RP_TEST(test_proxyproto_v1_tcp4),
	RP_TEST(test_proxyproto_v1_tcp6),
	RP_TEST(test_proxyproto_v1_max_length),
	RP_TEST(test_proxyproto_v1_unknown),
	RP_TEST(test_proxyproto_v2_proxy_tcp4),
	RP_TEST(test_proxyproto_v2_proxy_tcp6_tlvs),
	RP_TEST(test_proxyproto_v2_local),
	RP_TEST(test_proxyproto_v2_unspec_and_unix_are_local),
	RP_TEST(test_proxyproto_malformed),
	RP_TEST(test_proxyproto_rejects_early),
	RP_TEST(test_proxyproto_build_roundtrip),
};

RP_UNIT_MAIN("proxyproto", tests)

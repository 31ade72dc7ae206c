// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_socks.c - the forward proxy's protocol detector and SOCKS parsers and
 * builders: every valid SOCKS5 greeting, RFC 1929 auth and request form and
 * every SOCKS4/4a form, with every proper prefix asking for more and the
 * bytes after the message left alone; a table of malformed messages, each
 * refused at the exact byte that makes it so (prefixes before it ask for
 * more) with the reply code the client must get; oversized names and user
 * ids refused before their end; a whole handshake fed a byte at a time; and
 * the replies byte for byte.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "forward/socks.h"
#include "unit.h"

/* A byte-string literal (NULs allowed) as pointer and length. */
#define MSG(s) (const uint8_t *)(s), sizeof(s) - 1

enum kind { GREETING, AUTH, REQ5, REQ4 };

union msg {
	struct rp_socks5_greeting g;
	struct rp_socks5_auth a;
	struct rp_socks5_request r5;
	struct rp_socks4_request r4;
};

static int parse(enum kind k, const uint8_t *buf, size_t len, union msg *m,
		 struct rp_socks_error *err)
{
	switch (k) {
	case GREETING:
		return rp__socks5_parse_greeting(buf, len, &m->g, err);
	case AUTH:
		return rp__socks5_parse_auth(buf, len, &m->a, err);
	case REQ5:
		return rp__socks5_parse_request(buf, len, &m->r5, err);
	case REQ4:
		return rp__socks4_parse_request(buf, len, &m->r4, err);
	}
	return -EINVAL;
}

/*
 * Parses a valid message: every proper prefix asks for more, and the whole
 * message, alone or followed by bytes that would be refused as a message of
 * its own, parses to exactly its length. @m is filled with garbage first so
 * that fields the parser leaves unwritten show.
 */
static int parse_valid(enum kind k, const uint8_t *msg, size_t len, union msg *m)
{
	static const uint8_t tail[] = "\xff\0GET / HTTP/1.1\r\n";
	uint8_t buf[RP_SOCKS_MSG_MAX + sizeof(tail)];
	struct rp_socks_error err = {0xee, NULL};
	int ret;

	CU_ASSERT_FATAL(len <= RP_SOCKS_MSG_MAX);
	for (size_t i = 0; i < len; i++) {
		ret = parse(k, msg, i, m, &err);
		if (ret != -EAGAIN)
			printf("\n  kind %d prefix %zu of %zu: %d (%s)\n", k, i, len, ret,
			       err.why ? err.why : "");
		CU_ASSERT_EQUAL(ret, -EAGAIN);
	}
	memcpy(buf, msg, len);
	memcpy(buf + len, tail, sizeof(tail));
	CU_ASSERT_EQUAL(parse(k, buf, len, m, &err), (int)len);
	memset(m, 0xa5, sizeof(*m));
	ret = parse(k, buf, len + sizeof(tail), m, &err);
	if (ret != (int)len)
		printf("\n  kind %d: %d for %zu (%s)\n", k, ret, len,
		       err.why ? err.why : "");
	CU_ASSERT_EQUAL(ret, (int)len);
	/* Success leaves the error alone. */
	CU_ASSERT_EQUAL(err.rep, 0xee);
	CU_ASSERT_PTR_NULL(err.why);
	return ret;
}

/*
 * A malformed message: every prefix shorter than @bad_at asks for more; from
 * @bad_at bytes on, including the whole, it is refused with @rep and a
 * reason. @bad_at is one past the first byte that makes it invalid.
 */
static void check_refused(const char *what, enum kind k, const uint8_t *msg, size_t len,
			  size_t bad_at, uint8_t rep)
{
	struct rp_socks_error err;
	union msg m;

	CU_ASSERT_FATAL(bad_at >= 1 && bad_at <= len);
	for (size_t i = 0; i <= len; i++) {
		int want = i < bad_at ? -EAGAIN : -EBADMSG;
		int ret;

		memset(&err, 0, sizeof(err));
		ret = parse(k, msg, i, &m, &err);
		if (ret != want || (ret == -EBADMSG && err.rep != rep))
			printf("\n  %s: prefix %zu of %zu: %d rep %#x (%s), want %d rep "
			       "%#x\n",
			       what, i, len, ret, err.rep, err.why ? err.why : "", want,
			       rep);
		CU_ASSERT_EQUAL(ret, want);
		if (ret == -EBADMSG) {
			CU_ASSERT_EQUAL(err.rep, rep);
			CU_ASSERT_PTR_NOT_NULL(err.why);
		}
	}
}

static struct sockaddr_storage ss4(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof(ss));
	s->sin_family = AF_INET;
	s->sin_port = htons(port);
	CU_ASSERT_EQUAL(inet_pton(AF_INET, ip, &s->sin_addr), 1);
	return ss;
}

static struct sockaddr_storage ss6(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	s->sin6_family = AF_INET6;
	s->sin6_port = htons(port);
	CU_ASSERT_EQUAL(inet_pton(AF_INET6, ip, &s->sin6_addr), 1);
	return ss;
}

/* @t is an IP target (@ip contains ':' for IPv6) or, with @host, a name. */
static void check_target(const char *what, const struct rp_socks_target *t, uint8_t atyp,
			 const char *host, const char *ip, uint16_t port)
{
	struct sockaddr_storage zero, want;
	socklen_t want_len = 0;

	memset(&zero, 0, sizeof(zero));
	want = zero;
	if (atyp == RP_SOCKS_ATYP_IPV4) {
		want = ss4(ip, port);
		want_len = sizeof(struct sockaddr_in);
	} else if (atyp == RP_SOCKS_ATYP_IPV6) {
		want = ss6(ip, port);
		want_len = sizeof(struct sockaddr_in6);
	}
	if (t->atyp != atyp || t->port != port || strcmp(t->host, host ? host : "") != 0)
		printf("\n  %s: atyp %u port %u host \"%.40s\"\n", what, t->atyp, t->port,
		       t->host);
	CU_ASSERT_EQUAL(t->atyp, atyp);
	CU_ASSERT_EQUAL(t->port, port);
	CU_ASSERT_STRING_EQUAL(t->host, host ? host : "");
	CU_ASSERT_EQUAL(t->addr_len, want_len);
	/* The whole storage: an IP target's tail and a name's address are 0. */
	CU_ASSERT(memcmp(&t->addr, &want, sizeof(want)) == 0);
}

static void test_socks_detect(void)
{
	for (unsigned b = 0; b < 256; b++) {
		enum rp_fwd_proto want = b == 5	  ? RP_FWD_SOCKS5
					 : b == 4 ? RP_FWD_SOCKS4
						  : RP_FWD_HTTP;

		CU_ASSERT_EQUAL(rp__fwd_detect((uint8_t)b), want);
	}
	CU_ASSERT_EQUAL(rp__fwd_detect('C'), RP_FWD_HTTP); /* CONNECT */
	CU_ASSERT_EQUAL(rp__fwd_detect('G'), RP_FWD_HTTP); /* GET http://... */
}

static void test_socks5_greeting_valid(void)
{
	static const struct {
		const char *what;
		const uint8_t *in;
		size_t len;
	} ok[] = {
		{"no auth", MSG("\x05\x01\x00")},
		{"userpass", MSG("\x05\x01\x02")},
		{"both", MSG("\x05\x02\x00\x02")},
		{"gssapi and unknown ones", MSG("\x05\x04\x01\x80\xfe\xff")},
		{"duplicates", MSG("\x05\x03\x00\x00\x00")},
	};
	uint8_t all[2 + 255];
	union msg m;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		CU_ASSERT_EQUAL(parse_valid(GREETING, ok[i].in, ok[i].len, &m),
				(int)ok[i].len);
		CU_ASSERT_EQUAL(m.g.nmethods, ok[i].len - 2);
		CU_ASSERT(memcmp(m.g.methods, ok[i].in + 2, ok[i].len - 2) == 0);
	}
	/* 255 methods, every value once but 0xff. */
	all[0] = 5;
	all[1] = 255;
	for (int i = 0; i < 255; i++)
		all[2 + i] = (uint8_t)i;
	CU_ASSERT_EQUAL(parse_valid(GREETING, all, sizeof(all), &m),
			RP_SOCKS5_GREETING_MAX);
	CU_ASSERT_EQUAL(m.g.nmethods, 255);
	CU_ASSERT(memcmp(m.g.methods, all + 2, 255) == 0);
}

static void test_socks5_choose_method(void)
{
	static const struct {
		const char *methods;
		size_t n;
		int need_auth;
		uint8_t want;
	} t[] = {
		{"\x00", 1, 0, RP_SOCKS5_NO_AUTH},
		{"\x00", 1, 1, RP_SOCKS5_NO_ACCEPTABLE},
		{"\x02", 1, 0, RP_SOCKS5_NO_ACCEPTABLE},
		{"\x02", 1, 1, RP_SOCKS5_USERPASS},
		{"\x01\x00\x02", 3, 0, RP_SOCKS5_NO_AUTH},
		{"\x01\x00\x02", 3, 1, RP_SOCKS5_USERPASS},
		{"\x02\x00", 2, 0, RP_SOCKS5_NO_AUTH},
		{"\x01\x03\xff", 3, 0, RP_SOCKS5_NO_ACCEPTABLE},
		{"\x01\x03\xff", 3, 1, RP_SOCKS5_NO_ACCEPTABLE},
		/* Only the first nmethods count. */
		{"\x01\x00", 1, 0, RP_SOCKS5_NO_ACCEPTABLE},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct rp_socks5_greeting g;

		memset(&g, 0xee, sizeof(g));
		g.nmethods = (uint8_t)t[i].n;
		/* With the literal's NUL: a NO_AUTH just past nmethods. */
		memcpy(g.methods, t[i].methods, t[i].n + 1);
		CU_ASSERT_EQUAL(rp__socks5_choose_method(&g, t[i].need_auth), t[i].want);
	}
}

static void test_socks5_auth_valid(void)
{
	static const struct {
		const char *what;
		const uint8_t *in;
		size_t len;
		const char *user, *pass;
	} ok[] = {
		{"plain", MSG("\x01\x04user\x08password"), "user", "password"},
		{"empty password", MSG("\x01\x01u\x00"), "u", ""},
		{"one byte each", MSG("\x01\x01u\x01p"), "u", "p"},
		{"any non-NUL bytes", MSG("\x01\x03\xc3\xa9:\x04\x01 \xff\x7f"),
		 "\xc3\xa9:", "\x01 \xff\x7f"},
	};
	uint8_t big[RP_SOCKS5_AUTH_MAX];
	union msg m;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		CU_ASSERT_EQUAL(parse_valid(AUTH, ok[i].in, ok[i].len, &m),
				(int)ok[i].len);
		CU_ASSERT_STRING_EQUAL(m.a.user, ok[i].user);
		CU_ASSERT_STRING_EQUAL(m.a.pass, ok[i].pass);
		CU_ASSERT_EQUAL(m.a.ulen, strlen(ok[i].user));
		CU_ASSERT_EQUAL(m.a.plen, strlen(ok[i].pass));
	}
	/* The longest: 255 and 255. */
	big[0] = 1;
	big[1] = 255;
	memset(big + 2, 'u', 255);
	big[257] = 255;
	memset(big + 258, 'p', 255);
	CU_ASSERT_EQUAL(parse_valid(AUTH, big, sizeof(big), &m), RP_SOCKS5_AUTH_MAX);
	CU_ASSERT_EQUAL(m.a.ulen, 255);
	CU_ASSERT_EQUAL(m.a.plen, 255);
	CU_ASSERT_EQUAL(strlen(m.a.user), 255);
	CU_ASSERT_EQUAL(strlen(m.a.pass), 255);
}

static void test_socks5_request_valid(void)
{
	static const struct {
		const char *what;
		const uint8_t *in;
		size_t len;
		uint8_t cmd, atyp;
		const char *host, *ip;
		uint16_t port;
	} ok[] = {
		{"connect ipv4", MSG("\x05\x01\x00\x01\x7f\x00\x00\x01\x00\x50"), 1, 1,
		 NULL, "127.0.0.1", 80},
		{"connect ipv4 port 65535",
		 MSG("\x05\x01\x00\x01\xc0\x00\x02\x07\xff\xff"), 1, 1, NULL, "192.0.2.7",
		 65535},
		{"connect ipv6",
		 MSG("\x05\x01\x00\x04\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01\x01"
		     "\xbb"),
		 1, 4, NULL, "2001:db8::1", 443},
		{"connect ipv4-mapped ipv6",
		 MSG("\x05\x01\x00\x04\0\0\0\0\0\0\0\0\0\0\xff\xff\x0a\0\0\x01\x00\x16"),
		 1, 4, NULL, "::ffff:10.0.0.1", 22},
		{"connect name",
		 MSG("\x05\x01\x00\x03\x0b"
		     "example.com\x01\xbb"),
		 1, 3, "example.com", NULL, 443},
		{"name with trailing dot",
		 MSG("\x05\x01\x00\x03\x0c"
		     "example.com.\x00\x50"),
		 1, 3, "example.com.", NULL, 80},
		{"name with - _ digits caps",
		 MSG("\x05\x01\x00\x03\x13"
		     "_Srv-1.my_host.EXA9\x00\x50"),
		 1, 3, "_Srv-1.my_host.EXA9", NULL, 80},
		{"one-letter name", MSG("\x05\x01\x00\x03\x01x\x00\x50"), 1, 3, "x", NULL,
		 80},
		{"ipv4 literal as a name",
		 MSG("\x05\x01\x00\x03\x09"
		     "192.0.2.1\x00\x50"),
		 1, 3, "192.0.2.1", NULL, 80},
		{"bind to 0.0.0.0:0", MSG("\x05\x02\x00\x01\0\0\0\0\0\0"), 2, 1, NULL,
		 "0.0.0.0", 0},
		{"udp associate 0.0.0.0:0", MSG("\x05\x03\x00\x01\0\0\0\0\0\0"), 3, 1,
		 NULL, "0.0.0.0", 0},
		{"udp associate [::]:0",
		 MSG("\x05\x03\x00\x04\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"), 3, 4, NULL,
		 "::", 0},
		{"udp associate name port 0", MSG("\x05\x03\x00\x03\x01h\x00\x00"), 3, 3,
		 "h", NULL, 0},
		{"connect 0.0.0.0 (policy's to refuse)",
		 MSG("\x05\x01\x00\x01\0\0\0\0\x00\x50"), 1, 1, NULL, "0.0.0.0", 80},
	};
	union msg m;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		CU_ASSERT_EQUAL(parse_valid(REQ5, ok[i].in, ok[i].len, &m),
				(int)ok[i].len);
		CU_ASSERT_EQUAL(m.r5.cmd, ok[i].cmd);
		check_target(ok[i].what, &m.r5.dst, ok[i].atyp, ok[i].host, ok[i].ip,
			     ok[i].port);
	}
}

/* A name of @n bytes in labels of 63: "aaa...a.bbb...b.ccc". */
static void fill_name(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = i % 64 == 63 ? '.' : (uint8_t)('a' + (i / 64) % 26);
}

static void test_socks5_request_longest_name(void)
{
	uint8_t req[RP_SOCKS5_REQUEST_MAX];
	char want[256];
	union msg m;

	memcpy(req, "\x05\x01\x00\x03\xff", 5);
	fill_name(req + 5, 255);
	req[260] = 0x1f;
	req[261] = 0x90;
	memcpy(want, req + 5, 255);
	want[255] = '\0';
	CU_ASSERT_EQUAL(parse_valid(REQ5, req, sizeof(req), &m), RP_SOCKS5_REQUEST_MAX);
	check_target("255-byte name", &m.r5.dst, 3, want, NULL, 8080);
	/* A 63-byte label is fine, a 64-byte one is not (at its 64th byte). */
	memset(req + 5, 'a', 64);
	req[5 + 63] = '.';
	CU_ASSERT_EQUAL(rp__socks5_parse_request(req, sizeof(req), &m.r5, NULL),
			RP_SOCKS5_REQUEST_MAX);
	req[5 + 63] = 'a';
	check_refused("64-byte label", REQ5, req, sizeof(req), 5 + 64,
		      RP_SOCKS5_HOST_UNREACHABLE);
}

static void test_socks4_request_valid(void)
{
	static const struct {
		const char *what;
		const uint8_t *in;
		size_t len;
		uint8_t cmd, atyp;
		const char *host, *ip;
		uint16_t port;
		const char *userid;
	} ok[] = {
		{"connect, no user id", MSG("\x04\x01\x00\x50\x7f\x00\x00\x01\x00"), 1, 1,
		 NULL, "127.0.0.1", 80, ""},
		{"connect with user id",
		 MSG("\x04\x01\x1f\x90\xc0\x00\x02\x07"
		     "fred\x00"),
		 1, 1, NULL, "192.0.2.7", 8080, "fred"},
		{"user id of any bytes",
		 MSG("\x04\x01\x00\x50\x0a\x00\x00\x01\xff\x01 \x00"), 1, 1, NULL,
		 "10.0.0.1", 80, "\xff\x01 "},
		{"4a",
		 MSG("\x04\x01\x01\xbb\x00\x00\x00\x01\x00"
		     "example.com\x00"),
		 1, 3, "example.com", NULL, 443, ""},
		{"4a with user id",
		 MSG("\x04\x01\x01\xbb\x00\x00\x00\xff"
		     "fred\x00"
		     "example.com.\x00"),
		 1, 3, "example.com.", NULL, 443, "fred"},
		{"0.0.0.0 is an address", MSG("\x04\x01\x00\x50\x00\x00\x00\x00\x00"), 1,
		 1, NULL, "0.0.0.0", 80, ""},
		{"0.0.1.1 is an address", MSG("\x04\x01\x00\x50\x00\x00\x01\x01\x00"), 1,
		 1, NULL, "0.0.1.1", 80, ""},
		{"bind with port 0", MSG("\x04\x02\x00\x00\xc0\x00\x02\x07\x00"), 2, 1,
		 NULL, "192.0.2.7", 0, ""},
		{"4a bind", MSG("\x04\x02\x00\x15\x00\x00\x00\x01u\x00h\x00"), 2, 3, "h",
		 NULL, 21, "u"},
	};
	union msg m;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		CU_ASSERT_EQUAL(parse_valid(REQ4, ok[i].in, ok[i].len, &m),
				(int)ok[i].len);
		CU_ASSERT_EQUAL(m.r4.cmd, ok[i].cmd);
		CU_ASSERT_STRING_EQUAL(m.r4.userid, ok[i].userid);
		check_target(ok[i].what, &m.r4.dst, ok[i].atyp, ok[i].host, ok[i].ip,
			     ok[i].port);
	}
}

static void test_socks4_request_longest(void)
{
	uint8_t req[RP_SOCKS4_REQUEST_MAX];
	char want[256];
	union msg m;

	memcpy(req, "\x04\x01\x00\x50\x00\x00\x00\x07", 8);
	memset(req + 8, 'u', 255);
	req[263] = 0;
	fill_name(req + 264, 255);
	req[519] = 0;
	memcpy(want, req + 264, 256);
	CU_ASSERT_EQUAL(parse_valid(REQ4, req, sizeof(req), &m), RP_SOCKS4_REQUEST_MAX);
	CU_ASSERT_EQUAL(strlen(m.r4.userid), 255);
	check_target("4a, 255 and 255", &m.r4.dst, 3, want, NULL, 80);
	/* The same user id without 4a. */
	req[7] = 0;
	CU_ASSERT_EQUAL(parse_valid(REQ4, req, 264, &m), 264);
	CU_ASSERT_EQUAL(strlen(m.r4.userid), 255);
	check_target("4, 255-byte user id", &m.r4.dst, 1, NULL, "0.0.0.0", 80);
}

static void test_socks_oversized_refused_early(void)
{
	uint8_t req[RP_SOCKS_MSG_MAX + 64];

	/* A user id with no NUL in 256 bytes: refused at the 256th, whatever
	 * would follow. */
	memcpy(req, "\x04\x01\x00\x50\x7f\x00\x00\x01", 8);
	memset(req + 8, 'u', sizeof(req) - 8);
	check_refused("user id of 256", REQ4, req, sizeof(req), 8 + 256,
		      RP_SOCKS4_REJECTED);
	memcpy(req + 4, "\0\0\0\x01", 4); /* 4a: the same */
	check_refused("4a user id of 256", REQ4, req, sizeof(req), 8 + 256,
		      RP_SOCKS4_REJECTED);
	/* A 4a name with no NUL in 256 bytes. */
	req[8] = 0;
	fill_name(req + 9, sizeof(req) - 9);
	check_refused("4a name of 256", REQ4, req, sizeof(req), 9 + 256,
		      RP_SOCKS4_REJECTED);
	/* ... and one whose labels go wrong first, at the 64th byte. */
	memset(req + 9, 'a', sizeof(req) - 9);
	check_refused("4a label of 64", REQ4, req, sizeof(req), 9 + 64,
		      RP_SOCKS4_REJECTED);
}

static void test_socks_malformed(void)
{
	static const struct {
		const char *what;
		enum kind k;
		const uint8_t *in;
		size_t len;
		size_t bad_at; /* one past the offending byte */
		uint8_t rep;
	} bad[] = {
		/* greeting */
		{"greeting version 4", GREETING, MSG("\x04\x01\x00"), 1,
		 RP_SOCKS5_NO_ACCEPTABLE},
		{"greeting version 0", GREETING, MSG("\x00\x01\x00"), 1,
		 RP_SOCKS5_NO_ACCEPTABLE},
		{"greeting is HTTP", GREETING, MSG("CONNECT a:1 HTTP/1.1\r\n"), 1,
		 RP_SOCKS5_NO_ACCEPTABLE},
		{"greeting nmethods 0", GREETING, MSG("\x05\x00\x00"), 2,
		 RP_SOCKS5_NO_ACCEPTABLE},
		/* RFC 1929 auth */
		{"auth version 5", AUTH, MSG("\x05\x01u\x01p"), 1,
		 RP_SOCKS5_AUTH_FAILURE},
		{"auth version 0", AUTH, MSG("\x00\x01u\x01p"), 1,
		 RP_SOCKS5_AUTH_FAILURE},
		{"auth ulen 0", AUTH, MSG("\x01\x00\x01p"), 2, RP_SOCKS5_AUTH_FAILURE},
		{"auth NUL first in user", AUTH, MSG("\x01\x02\x00u\x01p"), 3,
		 RP_SOCKS5_AUTH_FAILURE},
		{"auth NUL in user", AUTH, MSG("\x01\x04us\x00r\x01p"), 5,
		 RP_SOCKS5_AUTH_FAILURE},
		{"auth NUL last in user", AUTH, MSG("\x01\x02u\x00\x01p"), 4,
		 RP_SOCKS5_AUTH_FAILURE},
		{"auth NUL in password", AUTH, MSG("\x01\x01u\x03p\x00s"), 6,
		 RP_SOCKS5_AUTH_FAILURE},
		{"auth NUL last in password", AUTH, MSG("\x01\x01u\x02p\x00"), 6,
		 RP_SOCKS5_AUTH_FAILURE},
		/* SOCKS5 request */
		{"request version 4", REQ5, MSG("\x04\x01\x00\x01\x7f\0\0\x01\x00\x50"),
		 1, RP_SOCKS5_GENERAL_FAILURE},
		{"request version 1", REQ5, MSG("\x01\x01\x00\x01\x7f\0\0\x01\x00\x50"),
		 1, RP_SOCKS5_GENERAL_FAILURE},
		{"cmd 0", REQ5, MSG("\x05\x00\x00\x01\x7f\0\0\x01\x00\x50"), 2,
		 RP_SOCKS5_CMD_UNSUPPORTED},
		{"cmd 4", REQ5, MSG("\x05\x04\x00\x01\x7f\0\0\x01\x00\x50"), 2,
		 RP_SOCKS5_CMD_UNSUPPORTED},
		{"cmd 0xff", REQ5, MSG("\x05\xff\x00\x01\x7f\0\0\x01\x00\x50"), 2,
		 RP_SOCKS5_CMD_UNSUPPORTED},
		{"rsv 1", REQ5, MSG("\x05\x01\x01\x01\x7f\0\0\x01\x00\x50"), 3,
		 RP_SOCKS5_GENERAL_FAILURE},
		{"rsv 0x80", REQ5, MSG("\x05\x01\x80\x01\x7f\0\0\x01\x00\x50"), 3,
		 RP_SOCKS5_GENERAL_FAILURE},
		{"atyp 0", REQ5, MSG("\x05\x01\x00\x00\x7f\0\0\x01\x00\x50"), 4,
		 RP_SOCKS5_ATYP_UNSUPPORTED},
		{"atyp 2", REQ5, MSG("\x05\x01\x00\x02\x7f\0\0\x01\x00\x50"), 4,
		 RP_SOCKS5_ATYP_UNSUPPORTED},
		{"atyp 5", REQ5, MSG("\x05\x01\x00\x05\x7f\0\0\x01\x00\x50"), 4,
		 RP_SOCKS5_ATYP_UNSUPPORTED},
		{"atyp 0xff", REQ5, MSG("\x05\x01\x00\xff\x7f\0\0\x01\x00\x50"), 4,
		 RP_SOCKS5_ATYP_UNSUPPORTED},
		{"empty name", REQ5, MSG("\x05\x01\x00\x03\x00\x00\x50"), 5,
		 RP_SOCKS5_HOST_UNREACHABLE},
		{"NUL in name", REQ5,
		 MSG("\x05\x01\x00\x03\x05"
		     "ex\x00mp\x00\x50"),
		 8, RP_SOCKS5_HOST_UNREACHABLE},
		{"NUL ends name", REQ5,
		 MSG("\x05\x01\x00\x03\x03"
		     "ex\x00\x00\x50"),
		 8, RP_SOCKS5_HOST_UNREACHABLE},
		{"ipv6 literal as a name", REQ5, MSG("\x05\x01\x00\x03\x03::1\x00\x50"),
		 6, RP_SOCKS5_HOST_UNREACHABLE},
		{"bracketed ipv6 as a name", REQ5,
		 MSG("\x05\x01\x00\x03\x05[::1]\x00\x50"), 6, RP_SOCKS5_HOST_UNREACHABLE},
		{"space in name", REQ5,
		 MSG("\x05\x01\x00\x03\x03"
		     "a b\x00\x50"),
		 7, RP_SOCKS5_HOST_UNREACHABLE},
		{"percent in name", REQ5,
		 MSG("\x05\x01\x00\x03\x03"
		     "a%b\x00\x50"),
		 7, RP_SOCKS5_HOST_UNREACHABLE},
		{"slash in name", REQ5,
		 MSG("\x05\x01\x00\x03\x03"
		     "a/b\x00\x50"),
		 7, RP_SOCKS5_HOST_UNREACHABLE},
		{"at in name", REQ5,
		 MSG("\x05\x01\x00\x03\x03"
		     "a@b\x00\x50"),
		 7, RP_SOCKS5_HOST_UNREACHABLE},
		{"CRLF in name", REQ5,
		 MSG("\x05\x01\x00\x03\x03"
		     "a\r\n\x00\x50"),
		 7, RP_SOCKS5_HOST_UNREACHABLE},
		{"UTF-8 in name", REQ5,
		 MSG("\x05\x01\x00\x03\x03\xc3\xa9"
		     "e\x00\x50"),
		 6, RP_SOCKS5_HOST_UNREACHABLE},
		{"name is a dot", REQ5, MSG("\x05\x01\x00\x03\x01.\x00\x50"), 6,
		 RP_SOCKS5_HOST_UNREACHABLE},
		{"leading dot", REQ5, MSG("\x05\x01\x00\x03\x02.a\x00\x50"), 6,
		 RP_SOCKS5_HOST_UNREACHABLE},
		{"empty label", REQ5,
		 MSG("\x05\x01\x00\x03\x04"
		     "a..b\x00\x50"),
		 8, RP_SOCKS5_HOST_UNREACHABLE},
		{"two trailing dots", REQ5,
		 MSG("\x05\x01\x00\x03\x03"
		     "a..\x00\x50"),
		 8, RP_SOCKS5_HOST_UNREACHABLE},
		{"connect ipv4 port 0", REQ5,
		 MSG("\x05\x01\x00\x01\x01\x02\x03\x04\x00\x00"), 10,
		 RP_SOCKS5_NOT_ALLOWED},
		{"connect ipv6 port 0", REQ5,
		 MSG("\x05\x01\x00\x04\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01\x00\x00"), 22,
		 RP_SOCKS5_NOT_ALLOWED},
		{"connect name port 0", REQ5, MSG("\x05\x01\x00\x03\x01h\x00\x00"), 8,
		 RP_SOCKS5_NOT_ALLOWED},
		/* SOCKS4 */
		{"socks4 version 5", REQ4, MSG("\x05\x01\x00\x50\x7f\0\0\x01\x00"), 1,
		 RP_SOCKS4_REJECTED},
		{"socks4 reply version 0", REQ4, MSG("\x00\x5a\x00\x50\x7f\0\0\x01"), 1,
		 RP_SOCKS4_REJECTED},
		{"socks4 cd 0", REQ4, MSG("\x04\x00\x00\x50\x7f\0\0\x01\x00"), 2,
		 RP_SOCKS4_REJECTED},
		{"socks4 cd 3 (no udp)", REQ4, MSG("\x04\x03\x00\x50\x7f\0\0\x01\x00"), 2,
		 RP_SOCKS4_REJECTED},
		{"socks4 connect port 0", REQ4, MSG("\x04\x01\x00\x00\x7f\0\0\x01\x00"),
		 4, RP_SOCKS4_REJECTED},
		{"socks4a connect port 0", REQ4,
		 MSG("\x04\x01\x00\x00\0\0\0\x01\x00h\x00"), 4, RP_SOCKS4_REJECTED},
		{"socks4a empty name", REQ4, MSG("\x04\x01\x00\x50\0\0\0\x01\x00\x00"),
		 10, RP_SOCKS4_REJECTED},
		{"socks4a empty name after user id", REQ4,
		 MSG("\x04\x01\x00\x50\0\0\0\x01u\x00\x00"), 11, RP_SOCKS4_REJECTED},
		{"socks4a ipv6 literal", REQ4,
		 MSG("\x04\x01\x00\x50\0\0\0\x01\x00::1\x00"), 10, RP_SOCKS4_REJECTED},
		{"socks4a bad char", REQ4,
		 MSG("\x04\x01\x00\x50\0\0\0\x01\x00"
		     "ex ample\x00"),
		 12, RP_SOCKS4_REJECTED},
		{"socks4a leading dot", REQ4, MSG("\x04\x01\x00\x50\0\0\0\x01\x00.a\x00"),
		 10, RP_SOCKS4_REJECTED},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_refused(bad[i].what, bad[i].k, bad[i].in, bad[i].len, bad[i].bad_at,
			      bad[i].rep);
}

static void test_socks_err_may_be_null(void)
{
	union msg m;

	CU_ASSERT_EQUAL(rp__socks5_parse_greeting(MSG("\x04"), &m.g, NULL), -EBADMSG);
	CU_ASSERT_EQUAL(rp__socks5_parse_auth(MSG("\x01\x00"), &m.a, NULL), -EBADMSG);
	CU_ASSERT_EQUAL(rp__socks5_parse_request(MSG("\x05\x09"), &m.r5, NULL), -EBADMSG);
	CU_ASSERT_EQUAL(rp__socks4_parse_request(MSG("\x04\x09"), &m.r4, NULL), -EBADMSG);
}

/*
 * A connection as the forward proxy reads it: the bytes arrive in chunks of
 * @step (cycling through a few sizes when 0), each message is parsed from
 * where the last ended, and what is left after the last one is the tunnel's.
 */
static void feed(const enum kind *seq, size_t nseq, const uint8_t *in, size_t len,
		 size_t step, size_t tunnel_at)
{
	static const size_t steps[] = {1, 3, 2, 7, 1, 64};
	size_t have = 0, off = 0, done = 0, s = 0;
	union msg m;

	while (done < nseq && have < len) {
		size_t chunk = step ? step : steps[s++ % 6];

		have = have + chunk > len ? len : have + chunk;
		while (done < nseq) {
			int ret = parse(seq[done], in + off, have - off, &m, NULL);

			if (ret == -EAGAIN)
				break;
			CU_ASSERT_FATAL(ret > 0);
			off += (size_t)ret;
			done++;
		}
	}
	CU_ASSERT_EQUAL(done, nseq);
	CU_ASSERT_EQUAL(off, tunnel_at);
}

static void test_socks_incremental_handshake(void)
{
	/* SOCKS5 with username/password, then the tunnel's first bytes. */
	static const uint8_t s5[] = "\x05\x02\x00\x02"
				    "\x01\x05"
				    "alice\x06"
				    "secret"
				    "\x05\x01\x00\x03\x0b"
				    "example.com\x01\xbb"
				    "\x16\x03\x01\x02\x00";
	static const enum kind s5seq[] = {GREETING, AUTH, REQ5};
	/* SOCKS4a, then the tunnel. */
	static const uint8_t s4[] = "\x04\x01\x00\x50\0\0\0\x01"
				    "bob\x00"
				    "example.org\x00"
				    "GET / HTTP/1.1\r\n\r\n";
	static const enum kind s4seq[] = {REQ4};
	size_t s5end = 4 + 2 + 5 + 1 + 6 + 5 + 11 + 2, s4end = 8 + 4 + 12;

	for (size_t step = 0; step <= 4; step++) {
		feed(s5seq, 3, s5, sizeof(s5) - 1, step, s5end);
		feed(s4seq, 1, s4, sizeof(s4) - 1, step, s4end);
	}
	feed(s5seq, 3, s5, sizeof(s5) - 1, sizeof(s5), s5end);
}

static void test_socks5_build(void)
{
	struct sockaddr_storage a4 = ss4("192.0.2.7", 1080), a6 = ss6("2001:db8::1", 443);
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	uint8_t out[RP_SOCKS_REPLY_MAX + 8];

	CU_ASSERT_EQUAL(rp__socks5_build_method(RP_SOCKS5_USERPASS, out, 2), 2);
	CU_ASSERT(memcmp(out, "\x05\x02", 2) == 0);
	CU_ASSERT_EQUAL(
		rp__socks5_build_method(RP_SOCKS5_NO_ACCEPTABLE, out, sizeof(out)), 2);
	CU_ASSERT(memcmp(out, "\x05\xff", 2) == 0);
	CU_ASSERT_EQUAL(rp__socks5_build_auth_reply(1, out, 2), 2);
	CU_ASSERT(memcmp(out, "\x01\x00", 2) == 0);
	CU_ASSERT_EQUAL(rp__socks5_build_auth_reply(7, out, 2), 2);
	CU_ASSERT(memcmp(out, "\x01\x00", 2) == 0);
	CU_ASSERT_EQUAL(rp__socks5_build_auth_reply(0, out, 2), 2);
	CU_ASSERT(memcmp(out, "\x01\x01", 2) == 0);

	CU_ASSERT_EQUAL(rp__socks5_build_reply(RP_SOCKS5_OK, NULL, out, 10), 10);
	CU_ASSERT(memcmp(out, "\x05\x00\x00\x01\0\0\0\0\0\0", 10) == 0);
	CU_ASSERT_EQUAL(
		rp__socks5_build_reply(RP_SOCKS5_OK, (struct sockaddr *)&a4, out, 10),
		10);
	CU_ASSERT(memcmp(out, "\x05\x00\x00\x01\xc0\x00\x02\x07\x04\x38", 10) == 0);
	CU_ASSERT_EQUAL(rp__socks5_build_reply(RP_SOCKS5_CONN_REFUSED,
					       (struct sockaddr *)&a6, out, 22),
			22);
	CU_ASSERT(memcmp(out,
			 "\x05\x05\x00\x04\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01\x01"
			 "\xbb",
			 22) == 0);
	CU_ASSERT_EQUAL(rp__socks5_build_reply(RP_SOCKS5_OK, (struct sockaddr *)&un, out,
					       sizeof(out)),
			-EAFNOSUPPORT);

	/* One byte short: -ENOSPC and nothing written. */
	memset(out, 0xaa, sizeof(out));
	CU_ASSERT_EQUAL(rp__socks5_build_method(0, out, 1), -ENOSPC);
	CU_ASSERT_EQUAL(rp__socks5_build_auth_reply(1, out, 1), -ENOSPC);
	CU_ASSERT_EQUAL(rp__socks5_build_reply(0, NULL, out, 9), -ENOSPC);
	CU_ASSERT_EQUAL(rp__socks5_build_reply(0, (struct sockaddr *)&a4, out, 9),
			-ENOSPC);
	CU_ASSERT_EQUAL(rp__socks5_build_reply(0, (struct sockaddr *)&a6, out, 21),
			-ENOSPC);
	for (size_t i = 0; i < sizeof(out); i++)
		CU_ASSERT_EQUAL(out[i], 0xaa);
}

/* What the builder writes for a parsed request's address is the request's
 * own ATYP, address and port bytes. */
static void test_socks5_build_mirrors_request(void)
{
	static const uint8_t req4[] = "\x05\x01\x00\x01\xc6\x33\x64\x01\x30\x39";
	static const uint8_t req6[] = "\x05\x01\x00\x04\xfe\x80\0\0\0\0\0\0\x02\x11\x22"
				      "\xff\xfe\x33\x44\x55\xff\xfe";
	uint8_t out[RP_SOCKS_REPLY_MAX];
	struct rp_socks5_request r;

	CU_ASSERT_EQUAL(rp__socks5_parse_request(req4, 10, &r, NULL), 10);
	CU_ASSERT_EQUAL(
		rp__socks5_build_reply(0, (struct sockaddr *)&r.dst.addr, out, 10), 10);
	CU_ASSERT(memcmp(out + 3, req4 + 3, 7) == 0);
	CU_ASSERT_EQUAL(rp__socks5_parse_request(req6, 22, &r, NULL), 22);
	CU_ASSERT_EQUAL(
		rp__socks5_build_reply(0, (struct sockaddr *)&r.dst.addr, out, 22), 22);
	CU_ASSERT(memcmp(out + 3, req6 + 3, 19) == 0);
}

static void test_socks4_build(void)
{
	struct sockaddr_storage a4 = ss4("192.0.2.7", 1080), a6 = ss6("2001:db8::1", 443);
	uint8_t out[16];

	CU_ASSERT_EQUAL(
		rp__socks4_build_reply(RP_SOCKS4_GRANTED, (struct sockaddr *)&a4, out, 8),
		8);
	CU_ASSERT(memcmp(out, "\x00\x5a\x04\x38\xc0\x00\x02\x07", 8) == 0);
	CU_ASSERT_EQUAL(rp__socks4_build_reply(RP_SOCKS4_REJECTED, NULL, out, 8), 8);
	CU_ASSERT(memcmp(out, "\x00\x5b\0\0\0\0\0\0", 8) == 0);
	memset(out, 0xaa, sizeof(out));
	CU_ASSERT_EQUAL(rp__socks4_build_reply(RP_SOCKS4_GRANTED, (struct sockaddr *)&a6,
					       out, sizeof(out)),
			8);
	CU_ASSERT(memcmp(out, "\x00\x5a\0\0\0\0\0\0\xaa", 9) == 0);
	memset(out, 0xaa, sizeof(out));
	CU_ASSERT_EQUAL(rp__socks4_build_reply(RP_SOCKS4_GRANTED, NULL, out, 7), -ENOSPC);
	CU_ASSERT_EQUAL(out[0], 0xaa);
}

static const struct rp_unit_test tests[] = {
	RP_TEST(test_socks_detect),
	RP_TEST(test_socks5_greeting_valid),
	RP_TEST(test_socks5_choose_method),
	RP_TEST(test_socks5_auth_valid),
	RP_TEST(test_socks5_request_valid),
	RP_TEST(test_socks5_request_longest_name),
	RP_TEST(test_socks4_request_valid),
	RP_TEST(test_socks4_request_longest),
	RP_TEST(test_socks_oversized_refused_early),
	RP_TEST(test_socks_malformed),
	RP_TEST(test_socks_err_may_be_null),
	RP_TEST(test_socks_incremental_handshake),
	RP_TEST(test_socks5_build),
	RP_TEST(test_socks5_build_mirrors_request),
	RP_TEST(test_socks4_build),
};

RP_UNIT_MAIN("socks", tests)

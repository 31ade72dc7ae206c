// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_addr.c - address parsing/formatting, CPU lists and the listen-socket
 * recipe (SO_REUSEPORT shards really share a port).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net.h"
#include "unit.h"

static void roundtrip(const char *in, const char *want)
{
	struct rp_addr a;
	char buf[RP_ADDRSTRLEN];

	CU_ASSERT_EQUAL_FATAL(rp__addr_parse(in, &a, false), 0);
	CU_ASSERT_STRING_EQUAL(rp__addr_format(&a, buf, sizeof(buf)), want);
}

static void test_addr_parses_v4_and_v6(void)
{
	struct rp_addr a;

	roundtrip("127.0.0.1:8080", "127.0.0.1:8080");
	roundtrip("[::1]:443", "[::1]:443");
	roundtrip("[fe80::1:2]:65535", "[fe80::1:2]:65535");
	roundtrip("0.0.0.0:1", "0.0.0.0:1");
	CU_ASSERT_EQUAL(rp__addr_parse("127.0.0.1:80", &a, false), 0);
	CU_ASSERT_EQUAL(a.ss.ss_family, AF_INET);
	CU_ASSERT_EQUAL(a.len, sizeof(struct sockaddr_in));
	CU_ASSERT_EQUAL(rp__addr_parse("[::1]:80", &a, false), 0);
	CU_ASSERT_EQUAL(a.ss.ss_family, AF_INET6);
	CU_ASSERT_EQUAL(a.len, sizeof(struct sockaddr_in6));
}

static void test_addr_rejects_malformed(void)
{
	static const char *const bad[] = {
		"",
		"127.0.0.1",
		"127.0.0.1:",
		":80",
		"127.0.0.1:0",
		"127.0.0.1:65536",
		"127.0.0.1:80x",
		"127.0.0.1:-1",
		"localhost:80",
		"1:80",
		"::1:80",
		"[::1]80",
		"[::1]:",
		"[]:80",
		"[::1:80",
		"127.0.0.1:123456",
		"256.0.0.1:80",
		"127.0.0.1: 80",
		"0x7f.0.0.1:80",
	};
	struct rp_addr a;

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (rp__addr_parse(bad[i], &a, false) != -EINVAL)
			CU_FAIL(bad[i]);
	}
	CU_ASSERT_EQUAL(rp__addr_parse(NULL, &a, false), -EINVAL);
	CU_ASSERT_EQUAL(rp__addr_parse("127.0.0.1:0", &a, true), 0);
}

static void test_proxy_url_parses_scheme_address_and_credentials(void)
{
	struct rp_proxy_url u;
	static const char *const bad[] = {
		"",
		"http://",
		"ftp://127.0.0.1:21",
		"socks4://127.0.0.1:1080",
		"HTTP://127.0.0.1:8080",
		"http://proxy.example:3128",
		"http://127.0.0.1",
		"http://127.0.0.1:0",
		"http://127.0.0.1:8080/",
		"http://user@127.0.0.1:8080",	  /* no password part */
		"http://:pw@127.0.0.1:8080",	  /* no user */
		"http://a%3Ab:pw@127.0.0.1:8080", /* ':' in a Basic user */
		"http://a%0d:pw@127.0.0.1:8080",  /* a control byte */
		"http://a:p%0a@127.0.0.1:8080",
		"http://a%00:pw@127.0.0.1:8080",
		"http://a%4:pw@127.0.0.1:8080", /* half an escape */
		"http://a%:pw@127.0.0.1:8080",
		"http://a b:pw@127.0.0.1:8080", /* not a userinfo character */
		"http://a/b:pw@127.0.0.1:8080",
		"socks5://u:p@",
	};
	char big[400];

	CU_ASSERT_EQUAL(rp__proxy_url_parse("http://127.0.0.1:3128", &u), 0);
	CU_ASSERT_EQUAL(u.scheme, RP_PROXY_HTTP);
	CU_ASSERT_FALSE(u.auth);
	CU_ASSERT_EQUAL(u.addr.ss.ss_family, AF_INET);
	CU_ASSERT_EQUAL(ntohs(((struct sockaddr_in *)&u.addr.ss)->sin_port), 3128);

	CU_ASSERT_EQUAL(rp__proxy_url_parse("socks5://[::1]:1080", &u), 0);
	CU_ASSERT_EQUAL(u.scheme, RP_PROXY_SOCKS5);
	CU_ASSERT_EQUAL(u.addr.ss.ss_family, AF_INET6);

	/* percent-encoded bytes decoded; '@' and ':' inside the password */
	CU_ASSERT_EQUAL(
		rp__proxy_url_parse("socks5://bob:p%40ss%3Aw0rd@127.0.0.1:1080", &u), 0);
	CU_ASSERT_TRUE(u.auth);
	CU_ASSERT_STRING_EQUAL(u.user, "bob");
	CU_ASSERT_STRING_EQUAL(u.pass, "p@ss:w0rd");
	/* a literal ':' in the password, sub-delims, and an empty password */
	CU_ASSERT_EQUAL(
		rp__proxy_url_parse("http://a.b-c_d~:x:y!$&'()*+,;=@[::1]:8080", &u), 0);
	CU_ASSERT_STRING_EQUAL(u.user, "a.b-c_d~");
	CU_ASSERT_STRING_EQUAL(u.pass, "x:y!$&'()*+,;=");
	CU_ASSERT_EQUAL(rp__proxy_url_parse("http://alice:@127.0.0.1:8080", &u), 0);
	CU_ASSERT_TRUE(u.auth);
	CU_ASSERT_STRING_EQUAL(u.pass, "");

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (rp__proxy_url_parse(bad[i], &u) != -EINVAL) {
			fprintf(stderr, "accepted \"%s\"\n", bad[i]);
			CU_FAIL("bad proxy URL accepted");
		}
		CU_ASSERT_FALSE(u.auth);
		CU_ASSERT_EQUAL(u.user[0], 0);
	}
	CU_ASSERT_EQUAL(rp__proxy_url_parse(NULL, &u), -EINVAL);
	/* 255 bytes of user name pass, 256 do not */
	memcpy(big, "http://", 7);
	memset(big + 7, 'u', 255);
	snprintf(big + 7 + 255, sizeof(big) - 7 - 255, ":p@127.0.0.1:1");
	CU_ASSERT_EQUAL(rp__proxy_url_parse(big, &u), 0);
	CU_ASSERT_EQUAL(strlen(u.user), 255);
	memset(big + 7, 'u', 256);
	snprintf(big + 7 + 256, sizeof(big) - 7 - 256, ":p@127.0.0.1:1");
	CU_ASSERT_EQUAL(rp__proxy_url_parse(big, &u), -EINVAL);
}

static void test_cpulist_parses_ranges(void)
{
	int cpus[16];
	unsigned n;

	CU_ASSERT_EQUAL_FATAL(rp__cpulist_parse("0-3,6", cpus, 16, &n), 0);
	CU_ASSERT_EQUAL_FATAL(n, 5);
	CU_ASSERT_EQUAL(cpus[0], 0);
	CU_ASSERT_EQUAL(cpus[3], 3);
	CU_ASSERT_EQUAL(cpus[4], 6);
	/* Duplicates and order are normalised. */
	CU_ASSERT_EQUAL_FATAL(rp__cpulist_parse("5,1,1-2,5", cpus, 16, &n), 0);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT_EQUAL(cpus[0], 1);
	CU_ASSERT_EQUAL(cpus[1], 2);
	CU_ASSERT_EQUAL(cpus[2], 5);
}

static void test_cpulist_rejects_malformed(void)
{
	static const char *const bad[] = {"",	",",  "1,",   ",1",  "3-1",  "a",
					  "1-", "-1", "1--2", "1 2", "4096", "0-99999"};
	int cpus[8];
	unsigned n;

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (rp__cpulist_parse(bad[i], cpus, 8, &n) != -EINVAL)
			CU_FAIL(bad[i]);
	/* More CPUs than room. */
	CU_ASSERT_EQUAL(rp__cpulist_parse("0-8", cpus, 8, &n), -EINVAL);
}

static void test_cpus_affinity_and_allowed(void)
{
	int cpus[256], bad = -1;
	unsigned n;

	CU_ASSERT_EQUAL_FATAL(rp__cpus_from_affinity(cpus, 256, &n), 0);
	CU_ASSERT(n >= 1);
	CU_ASSERT_EQUAL(rp__cpus_check_allowed(cpus, n, &bad), 0);
	cpus[0] = 4000;
	CU_ASSERT_EQUAL(rp__cpus_check_allowed(cpus, 1, &bad), -EINVAL);
	CU_ASSERT_EQUAL(bad, 4000);
}

static void test_listen_socket_reuseport_shards(void)
{
	struct rp_addr a;
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	char buf[RP_ADDRSTRLEN];
	int fd1, fd2, fd3;

	CU_ASSERT_EQUAL_FATAL(rp__addr_parse("127.0.0.1:0", &a, true), 0);
	fd1 = rp__listen_socket(&a, 16, true);
	CU_ASSERT_FATAL(fd1 >= 0);
	getsockname(fd1, (struct sockaddr *)&sin, &len);
	snprintf(buf, sizeof(buf), "127.0.0.1:%u", ntohs(sin.sin_port));
	CU_ASSERT_EQUAL_FATAL(rp__addr_parse(buf, &a, false), 0);
	/* A second shard on the same port: allowed with SO_REUSEPORT. */
	fd2 = rp__listen_socket(&a, 16, true);
	CU_ASSERT(fd2 >= 0);
	/* Without it: refused, and the error says so. */
	fd3 = rp__listen_socket(&a, 16, false);
	CU_ASSERT_EQUAL(fd3, -EADDRINUSE);
	close(fd1);
	if (fd2 >= 0)
		close(fd2);
}

static void test_listen_socket_v6only(void)
{
	struct rp_addr a;
	int fd, v = 0;
	socklen_t len = sizeof(v);

	CU_ASSERT_EQUAL_FATAL(rp__addr_parse("[::1]:0", &a, true), 0);
	fd = rp__listen_socket(&a, 16, true);
	if (fd == -EADDRNOTAVAIL || fd == -EAFNOSUPPORT)
		RP_SKIP("no IPv6 loopback (::1) here");
	CU_ASSERT_FATAL(fd >= 0);
	getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v, &len);
	CU_ASSERT_EQUAL(v, 1);
	close(fd);
}

static const struct rp_unit_test tests[] = {
	RP_TEST(test_addr_parses_v4_and_v6),
	RP_TEST(test_addr_rejects_malformed),
	RP_TEST(test_proxy_url_parses_scheme_address_and_credentials),
	RP_TEST(test_cpulist_parses_ranges),
	RP_TEST(test_cpulist_rejects_malformed),
	RP_TEST(test_cpus_affinity_and_allowed),
	RP_TEST(test_listen_socket_reuseport_shards),
	RP_TEST(test_listen_socket_v6only),
};
RP_UNIT_MAIN("addr", tests)

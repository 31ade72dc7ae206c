// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_policy.c - the forward proxy's policy: CIDR parsing and matching, every
 * SSRF class (embedded IPv4 forms included), access rule order and
 * conditions, block lists (parents, case, 100k entries), the users table
 * (hash, load, check, the cache of successes and failures and its timing
 * guarantees) and Basic credentials.
 */
#define _GNU_SOURCE /* memmem */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "forward/policy.h"
#include "unit.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char tmp_path[256];

/* Writes @text to a fresh temporary file; returns its path (static). */
static const char *write_tmp(const char *text)
{
	const char *dir = getenv("TMPDIR");
	size_t len = strlen(text);
	int fd;

	snprintf(tmp_path, sizeof(tmp_path), "%s/rp_policy_XXXXXX", dir ? dir : "/tmp");
	fd = mkstemp(tmp_path);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(write(fd, text, len) == (ssize_t)len);
	close(fd);
	return tmp_path;
}

/* ---- CIDRs ---- */

static void test_cidr_parses_valid(void)
{
	static const struct {
		const char *in;
		int family;
		unsigned prefix;
		const char *addr;
	} ok[] = {
		{"10.0.0.0/8", AF_INET, 8, "10.0.0.0"},
		{"192.0.2.1", AF_INET, 32, "192.0.2.1"},
		{"0.0.0.0/0", AF_INET, 0, "0.0.0.0"},
		{"255.255.255.255/32", AF_INET, 32, "255.255.255.255"},
		{"100.64.0.0/10", AF_INET, 10, "100.64.0.0"},
		{"::1/128", AF_INET6, 128, "::1"},
		{"::1", AF_INET6, 128, "::1"},
		{"fd00::/8", AF_INET6, 8, "fd00::"},
		{"::/0", AF_INET6, 0, "::"},
		{"2001:DB8::/32", AF_INET6, 32, "2001:db8::"},
		{"64:ff9b::192.0.2.1/128", AF_INET6, 128, "64:ff9b::c000:201"},
		/* host bits are accepted and cleared */
		{"192.0.2.7/24", AF_INET, 24, "192.0.2.0"},
		{"10.255.255.255/9", AF_INET, 9, "10.128.0.0"},
		{"2001:db8:ffff::1/33", AF_INET6, 33, "2001:db8:8000::"},
		/* mapped IPv6 CIDRs become the IPv4 CIDR they denote */
		{"::ffff:10.0.0.0/104", AF_INET, 8, "10.0.0.0"},
		{"::ffff:192.0.2.1", AF_INET, 32, "192.0.2.1"},
		{"::ffff:0:0/96", AF_INET, 0, "0.0.0.0"},
	};

	for (unsigned i = 0; i < N(ok); i++) {
		struct rp_cidr c;
		uint8_t want[16] = {0};

		if (rp__cidr_parse(ok[i].in, &c) != 0) {
			CU_FAIL(ok[i].in);
			continue;
		}
		CU_ASSERT_EQUAL(inet_pton(ok[i].family, ok[i].addr, want), 1);
		if (c.family != ok[i].family || c.prefix != ok[i].prefix ||
		    memcmp(c.addr, want, 16))
			CU_FAIL(ok[i].in);
	}
}

static void test_cidr_rejects_malformed(void)
{
	static const char *const bad[] = {
		"",
		"/8",
		"010.0.0.1", /* octal or decimal? refused */
		"10.0.0.01",
		"00.0.0.0/8",
		"1.2.3",
		"1.2.3.4.5",
		"256.0.0.0",
		"1.2.3.-4",
		"0x7f.0.0.1",
		"1.2.3.4/33",
		"1.2.3.4/",
		"1.2.3.4/08",
		"1.2.3.4/-1",
		"1.2.3.4/8/8",
		"1.2.3.4/ 8",
		" 1.2.3.4",
		"1.2.3.4 ",
		"a.b.c.d",
		"example.com",
		"::1/129",
		"::1/1280",
		"fe80::1%eth0",
		"[::1]",
		"::g",
		":::",
		"1::2::3",
		"::ffff:01.2.3.4",
		"::ffff:1.2.3",
		"1.2.3.4::",
		"10.0.0.0/4294967304",
	};
	struct rp_cidr c;

	for (unsigned i = 0; i < N(bad); i++)
		if (rp__cidr_parse(bad[i], &c) != -EINVAL)
			CU_FAIL(bad[i]);
	CU_ASSERT_EQUAL(rp__cidr_parse(NULL, &c), -EINVAL);
}

static void test_cidr_match_table(void)
{
	static const struct {
		const char *cidr, *ip;
		bool match;
	} t[] = {
		{"10.0.0.0/8", "10.1.2.3", true},
		{"10.0.0.0/8", "11.0.0.0", false},
		{"10.0.0.0/8", "9.255.255.255", false},
		{"172.16.0.0/12", "172.31.255.255", true},
		{"172.16.0.0/12", "172.32.0.0", false},
		{"192.0.2.1", "192.0.2.1", true},
		{"192.0.2.1", "192.0.2.2", false},
		{"0.0.0.0/0", "203.0.113.9", true},
		{"0.0.0.0/0", "2001:db8::1", false},
		/* IPv4-mapped IPv6 clients match IPv4 CIDRs */
		{"10.0.0.0/8", "::ffff:10.9.9.9", true},
		{"10.0.0.0/8", "::ffff:11.9.9.9", false},
		{"0.0.0.0/0", "::ffff:1.2.3.4", true},
		/* ...but not the IPv4-compatible form */
		{"10.0.0.0/8", "::10.9.9.9", false},
		/* IPv6 CIDRs; an IPv4 address counts as its mapped form */
		{"::1/128", "::1", true},
		{"::1/128", "::2", false},
		{"fe80::/10", "febf::1", true},
		{"fe80::/10", "fec0::1", false},
		{"2001:db8::/127", "2001:db8::1", true},
		{"2001:db8::/127", "2001:db8::2", false},
		{"::/0", "2606:4700::1", true},
		{"::/0", "1.2.3.4", true},
		{"2001:db8::/32", "1.2.3.4", false},
		{"::ffff:10.0.0.0/104", "10.0.0.1", true},
		{"::ffff:10.0.0.0/104", "::ffff:10.0.0.1", true},
	};
	struct sockaddr_storage ss;
	struct rp_cidr c;

	for (unsigned i = 0; i < N(t); i++) {
		char msg[128];

		CU_ASSERT_EQUAL_FATAL(rp__cidr_parse(t[i].cidr, &c), 0);
		snprintf(msg, sizeof(msg), "%s in %s", t[i].ip, t[i].cidr);
		if (rp__cidr_match(&c, rp_unit_sockaddr(t[i].ip, &ss)) != t[i].match)
			CU_FAIL(msg);
	}
	/* another family never matches */
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	CU_ASSERT_EQUAL_FATAL(rp__cidr_parse("0.0.0.0/0", &c), 0);
	CU_ASSERT_FALSE(rp__cidr_match(&c, (struct sockaddr *)&ss));
	CU_ASSERT_FALSE(rp__cidr_match(&c, NULL));
}

/* ---- the SSRF guard ---- */

static void check_ssrf(const char *ip, const char *want)
{
	struct sockaddr_storage ss;
	const char *got = rp__ssrf_class(rp_unit_sockaddr(ip, &ss));
	char msg[160];

	snprintf(msg, sizeof(msg), "%s: got %s, want %s", ip, got ? got : "NULL",
		 want ? want : "NULL");
	if (!want ? got != NULL : !got || strcmp(got, want))
		CU_FAIL(msg);
}

static void test_ssrf_v4_classes(void)
{
	check_ssrf("0.0.0.0", "unspecified");
	check_ssrf("0.1.2.3", "this-network");
	check_ssrf("0.255.255.255", "this-network");
	check_ssrf("10.0.0.1", "private");
	check_ssrf("10.255.255.255", "private");
	check_ssrf("172.16.0.1", "private");
	check_ssrf("172.31.255.254", "private");
	check_ssrf("192.168.1.1", "private");
	check_ssrf("127.0.0.1", "loopback");
	check_ssrf("127.255.255.254", "loopback");
	check_ssrf("169.254.169.254", "link-local");
	check_ssrf("169.254.0.1", "link-local");
	check_ssrf("100.64.0.1", "CGNAT");
	check_ssrf("100.127.255.255", "CGNAT");
	check_ssrf("192.0.0.8", "reserved");
	check_ssrf("192.0.2.1", "reserved");
	check_ssrf("198.18.0.1", "reserved");
	check_ssrf("198.19.255.255", "reserved");
	check_ssrf("198.51.100.7", "reserved");
	check_ssrf("203.0.113.200", "reserved");
	check_ssrf("240.0.0.1", "reserved");
	check_ssrf("255.255.255.254", "reserved");
	check_ssrf("255.255.255.255", "broadcast");
	check_ssrf("224.0.0.1", "multicast");
	check_ssrf("239.255.255.250", "multicast");
}

static void test_ssrf_v4_public_is_null(void)
{
	static const char *const pub[] = {
		"8.8.8.8",	   "1.1.1.1",	    "9.255.255.255",   "11.0.0.0",
		"100.63.255.255",  "100.128.0.0",   "126.255.255.255", "128.0.0.1",
		"169.253.0.1",	   "169.255.0.1",   "172.15.255.255",  "172.32.0.0",
		"192.0.1.1",	   "192.0.3.1",	    "192.167.0.1",     "192.169.0.1",
		"198.17.255.255",  "198.20.0.0",    "198.51.99.1",     "203.0.112.1",
		"223.255.255.255", "93.184.216.34",
	};

	for (unsigned i = 0; i < N(pub); i++)
		check_ssrf(pub[i], NULL);
}

static void test_ssrf_v6_classes(void)
{
	check_ssrf("::", "unspecified");
	check_ssrf("::1", "loopback");
	check_ssrf("fe80::1", "link-local");
	check_ssrf("febf:ffff::1", "link-local");
	check_ssrf("fec0::1", "site-local");
	check_ssrf("fc00::1", "unique-local");
	check_ssrf("fd12:3456::1", "unique-local");
	check_ssrf("ff02::1", "multicast");
	check_ssrf("ff05::1:3", "multicast");
	check_ssrf("2001:db8::1", "reserved");
	check_ssrf("2001:db8:ffff::1", "reserved");
	check_ssrf("100::1", "discard");
	check_ssrf("100::ffff:ffff:ffff:ffff", "discard");
	check_ssrf("64:ff9b:1::1", "reserved");
}

static void test_ssrf_v6_embedded_v4(void)
{
	/* mapped */
	check_ssrf("::ffff:127.0.0.1", "loopback");
	check_ssrf("::ffff:169.254.169.254", "link-local");
	check_ssrf("::ffff:10.0.0.1", "private");
	check_ssrf("::ffff:0.0.0.0", "unspecified");
	check_ssrf("::ffff:8.8.8.8", NULL);
	/* compatible */
	check_ssrf("::127.0.0.1", "loopback");
	check_ssrf("::192.168.0.1", "private");
	check_ssrf("::0.0.0.2", "this-network");
	check_ssrf("::8.8.8.8", NULL);
	/* translated (SIIT) */
	check_ssrf("::ffff:0:10.1.1.1", "private");
	check_ssrf("::ffff:0:8.8.4.4", NULL);
	/* NAT64 */
	check_ssrf("64:ff9b::127.0.0.1", "loopback");
	check_ssrf("64:ff9b::a9fe:a9fe", "link-local");
	check_ssrf("64:ff9b::100.64.0.1", "CGNAT");
	check_ssrf("64:ff9b::8.8.8.8", NULL);
	/* 6to4: 2002:AABB:CCDD:: embeds AA.BB.CC.DD */
	check_ssrf("2002:7f00:1::", "loopback");
	check_ssrf("2002:c0a8:101::1", "private");
	check_ssrf("2002:a9fe:a9fe:1::1", "link-local");
	check_ssrf("2002:e000:1::", "multicast");
	check_ssrf("2002:808:808::1", NULL);
}

static void test_ssrf_v6_public_is_null(void)
{
	check_ssrf("2606:4700::1", NULL);
	check_ssrf("2001:4860:4860::8888", NULL);
	check_ssrf("2a00:1450:4001::200e", NULL);
	check_ssrf("2001:db9::1", NULL);
	check_ssrf("100:0:0:1::1", NULL);
	check_ssrf("64:ff9b:0:1::1", NULL); /* not the /96 nor the local /48 */
}

static void test_ssrf_other_family(void)
{
	struct sockaddr_storage ss = {0};

	ss.ss_family = AF_UNIX;
	CU_ASSERT_PTR_NOT_NULL(rp__ssrf_class((struct sockaddr *)&ss));
	CU_ASSERT_PTR_NOT_NULL(rp__ssrf_class(NULL));
}

/* ---- access rules ---- */

static struct rp_acl *acl(const struct rp_acl_rule *r, unsigned n)
{
	struct rp_acl *a = NULL;
	char err[256] = "";

	if (rp__acl_build(r, n, &a, err, sizeof(err)) != 0)
		CU_FAIL_FATAL(err);
	return a;
}

static enum rp_acl_verdict chk(const struct rp_acl *a, const char *client,
			       const char *host, const char *dest, uint16_t port)
{
	struct sockaddr_storage cs, ds;

	return rp__acl_check(a, client ? rp_unit_sockaddr(client, &cs) : NULL, host,
			     dest ? rp_unit_sockaddr(dest, &ds) : NULL, port, NULL);
}

static void test_acl_first_match_decides(void)
{
	struct rp_acl_rule r[3] = {
		{.deny = true, .dest = "bad.example.com"},
		{.deny = false, .dest = "*.example.com"},
		{.deny = true},
	};
	struct rp_acl *a = acl(r, 3);

	CU_ASSERT_EQUAL(chk(a, "10.0.0.1", "bad.example.com", NULL, 443), RP_ACL_DENY);
	CU_ASSERT_EQUAL(chk(a, "10.0.0.1", "good.example.com", NULL, 443), RP_ACL_ALLOW);
	CU_ASSERT_EQUAL(chk(a, "10.0.0.1", "other.org", NULL, 443), RP_ACL_DENY);
	rp__acl_free(a);

	/* the same rules in the other order: the catch-all decides everything */
	r[0] = (struct rp_acl_rule){.deny = true};
	a = acl(r, 1);
	CU_ASSERT_EQUAL(chk(a, "10.0.0.1", "good.example.com", NULL, 443), RP_ACL_DENY);
	rp__acl_free(a);

	a = acl(NULL, 0);
	CU_ASSERT_EQUAL(chk(a, "10.0.0.1", "x.example", NULL, 80), RP_ACL_NONE);
	rp__acl_free(a);
}

static void test_acl_client_condition(void)
{
	struct rp_acl_rule r[2] = {
		{.deny = false, .client = "10.0.0.0/8"},
		{.deny = true, .client = "::/0"},
	};
	struct rp_acl *a = acl(r, 2);

	CU_ASSERT_EQUAL(chk(a, "10.1.1.1", "x.example", NULL, 80), RP_ACL_ALLOW);
	CU_ASSERT_EQUAL(chk(a, "::ffff:10.1.1.1", "x.example", NULL, 80), RP_ACL_ALLOW);
	CU_ASSERT_EQUAL(chk(a, "192.0.2.1", "x.example", NULL, 80), RP_ACL_DENY);
	CU_ASSERT_EQUAL(chk(a, "2001:db8::1", "x.example", NULL, 80), RP_ACL_DENY);
	/* no client address: client rules cannot match */
	CU_ASSERT_EQUAL(chk(a, NULL, "x.example", NULL, 80), RP_ACL_NONE);
	rp__acl_free(a);
}

static void test_acl_host_exact_and_suffix(void)
{
	struct rp_acl_rule r[2] = {
		{.deny = true, .dest = "Exact.Example.COM."},
		{.deny = true, .dest = "*.example.com"},
	};
	struct rp_acl *a = acl(r, 1);

	CU_ASSERT_EQUAL(chk(a, NULL, "exact.example.com", NULL, 80), RP_ACL_DENY);
	CU_ASSERT_EQUAL(chk(a, NULL, "EXACT.example.com.", NULL, 80), RP_ACL_DENY);
	CU_ASSERT_EQUAL(chk(a, NULL, "a.exact.example.com", NULL, 80), RP_ACL_NONE);
	CU_ASSERT_EQUAL(chk(a, NULL, "xexact.example.com", NULL, 80), RP_ACL_NONE);
	CU_ASSERT_EQUAL(chk(a, NULL, "exact.example.co", NULL, 80), RP_ACL_NONE);
	/* a name rule cannot match without a name */
	CU_ASSERT_EQUAL(chk(a, NULL, NULL, "192.0.2.1", 80), RP_ACL_NONE);
	rp__acl_free(a);

	a = acl(r + 1, 1);
	CU_ASSERT_EQUAL(chk(a, NULL, "a.example.com", NULL, 80), RP_ACL_DENY);
	CU_ASSERT_EQUAL(chk(a, NULL, "a.b.example.com", NULL, 80), RP_ACL_DENY);
	CU_ASSERT_EQUAL(chk(a, NULL, "A.B.EXAMPLE.COM.", NULL, 80), RP_ACL_DENY);
	CU_ASSERT_EQUAL(chk(a, NULL, "example.com", NULL, 80), RP_ACL_NONE);
	CU_ASSERT_EQUAL(chk(a, NULL, "example.com.", NULL, 80), RP_ACL_NONE);
	CU_ASSERT_EQUAL(chk(a, NULL, ".example.com", NULL, 80), RP_ACL_NONE);
	CU_ASSERT_EQUAL(chk(a, NULL, "badexample.com", NULL, 80), RP_ACL_NONE);
	CU_ASSERT_EQUAL(chk(a, NULL, "a.example.com.evil", NULL, 80), RP_ACL_NONE);
	rp__acl_free(a);
}

static void test_acl_cidr_dest_needs_address(void)
{
	struct rp_acl_rule r[2] = {
		{.deny = true, .dest = "169.254.0.0/16"},
		{.deny = false, .dest = "2001:db8::/32"},
	};
	struct rp_acl *a = acl(r, 2);

	CU_ASSERT_EQUAL(chk(a, NULL, "metadata.internal", NULL, 80), RP_ACL_NONE);
	CU_ASSERT_EQUAL(chk(a, NULL, "metadata.internal", "169.254.169.254", 80),
			RP_ACL_DENY);
	CU_ASSERT_EQUAL(chk(a, NULL, NULL, "::ffff:169.254.169.254", 80), RP_ACL_DENY);
	CU_ASSERT_EQUAL(chk(a, NULL, NULL, "2001:db8::5", 80), RP_ACL_ALLOW);
	CU_ASSERT_EQUAL(chk(a, NULL, NULL, "192.0.2.1", 80), RP_ACL_NONE);
	rp__acl_free(a);
}

static void test_acl_ports(void)
{
	struct rp_acl_rule r[3] = {
		{.deny = false, .port_min = 443},
		{.deny = false, .port_min = 8000, .port_max = 8080},
		{.deny = true},
	};
	struct rp_acl *a = acl(r, 3);

	CU_ASSERT_EQUAL(chk(a, NULL, "x.example", NULL, 443), RP_ACL_ALLOW);
	CU_ASSERT_EQUAL(chk(a, NULL, "x.example", NULL, 444), RP_ACL_DENY);
	CU_ASSERT_EQUAL(chk(a, NULL, "x.example", NULL, 442), RP_ACL_DENY);
	CU_ASSERT_EQUAL(chk(a, NULL, "x.example", NULL, 8000), RP_ACL_ALLOW);
	CU_ASSERT_EQUAL(chk(a, NULL, "x.example", NULL, 8080), RP_ACL_ALLOW);
	CU_ASSERT_EQUAL(chk(a, NULL, "x.example", NULL, 8081), RP_ACL_DENY);
	CU_ASSERT_EQUAL(chk(a, NULL, "x.example", NULL, 25), RP_ACL_DENY);
	CU_ASSERT_EQUAL(chk(a, NULL, "x.example", NULL, 65535), RP_ACL_DENY);
	rp__acl_free(a);
}

static void test_acl_all_conditions_must_hold(void)
{
	struct rp_acl_rule r = {.deny = true,
				.client = "10.0.0.0/8",
				.dest = "*.example.com",
				.port_min = 25};
	struct rp_acl *a = acl(&r, 1);
	const char *why = NULL;
	struct sockaddr_storage cs;

	CU_ASSERT_EQUAL(chk(a, "10.0.0.1", "mx.example.com", NULL, 25), RP_ACL_DENY);
	CU_ASSERT_EQUAL(chk(a, "11.0.0.1", "mx.example.com", NULL, 25), RP_ACL_NONE);
	CU_ASSERT_EQUAL(chk(a, "10.0.0.1", "mx.example.org", NULL, 25), RP_ACL_NONE);
	CU_ASSERT_EQUAL(chk(a, "10.0.0.1", "mx.example.com", NULL, 587), RP_ACL_NONE);
	CU_ASSERT_EQUAL(rp__acl_check(a, rp_unit_sockaddr("10.0.0.1", &cs),
				      "mx.example.com", NULL, 25, &why),
			RP_ACL_DENY);
	CU_ASSERT_PTR_NOT_NULL_FATAL(why);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "rule 0"));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "*.example.com"));
	CU_ASSERT_EQUAL(rp__acl_check(a, rp_unit_sockaddr("10.0.0.1", &cs), "a.org", NULL,
				      25, &why),
			RP_ACL_NONE);
	CU_ASSERT_PTR_NULL(why);
	rp__acl_free(a);
}

static void test_acl_build_errors_name_rule(void)
{
	static const struct {
		struct rp_acl_rule r;
		const char *want;
	} bad[] = {
		{{.client = "10.0.0.0/33"}, "rule 1: client"},
		{{.client = "example.com"}, "rule 1: client"},
		{{.dest = "*"}, "rule 1: dest"},
		{{.dest = "*.*.example.com"}, "rule 1: dest"},
		{{.dest = "bad host"}, "rule 1: dest"},
		{{.dest = "a..b"}, "rule 1: dest"},
		{{.dest = "http://a.example"}, "rule 1: dest"},
		{{.dest = "010.0.0.1/8"}, "rule 1: dest"},
		{{.dest = "010.0.0.1"}, "rule 1: dest"}, /* not a name either */
		{{.dest = "1.2.3"}, "rule 1: dest"},
		{{.port_min = 90, .port_max = 80}, "rule 1: port_min"},
	};

	for (unsigned i = 0; i < N(bad); i++) {
		struct rp_acl_rule r[2] = {{.deny = false}, bad[i].r};
		struct rp_acl *a = (struct rp_acl *)1;
		char err[256] = "";

		CU_ASSERT_EQUAL(rp__acl_build(r, 2, &a, err, sizeof(err)), -EINVAL);
		CU_ASSERT_PTR_NULL(a);
		if (!strstr(err, bad[i].want))
			CU_FAIL(err);
	}
}

/* ---- block lists ---- */

static struct rp_blocklist *bl_from(const char *text)
{
	struct rp_blocklist *b = NULL;
	char err[256] = "";
	const char *path = write_tmp(text);

	if (rp__blocklist_load(path, &b, err, sizeof(err)) != 0)
		CU_FAIL(err);
	unlink(path);
	return b;
}

static void test_blocklist_parents(void)
{
	struct rp_blocklist *b = bl_from("# ads\n"
					 "\n"
					 "  tracker.example.com  \n"
					 "evil.org # inline comment\n"
					 "Shouting.NET.\n"
					 "evil.org\n");

	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(rp__blocklist_size(b), 3);
	CU_ASSERT_TRUE(rp__blocklist_match(b, "tracker.example.com"));
	CU_ASSERT_TRUE(rp__blocklist_match(b, "a.tracker.example.com"));
	CU_ASSERT_TRUE(rp__blocklist_match(b, "a.b.c.tracker.example.com"));
	CU_ASSERT_FALSE(rp__blocklist_match(b, "example.com"));
	CU_ASSERT_FALSE(rp__blocklist_match(b, "xtracker.example.com"));
	CU_ASSERT_FALSE(rp__blocklist_match(b, "tracker.example.com.au"));
	CU_ASSERT_TRUE(rp__blocklist_match(b, "evil.org"));
	CU_ASSERT_TRUE(rp__blocklist_match(b, "www.evil.org"));
	CU_ASSERT_FALSE(rp__blocklist_match(b, "notevil.org"));
	CU_ASSERT_FALSE(rp__blocklist_match(b, "org"));
	CU_ASSERT_FALSE(rp__blocklist_match(b, ""));
	CU_ASSERT_FALSE(rp__blocklist_match(b, NULL));
	rp__blocklist_free(b);

	/* a listed top-level domain blocks everything below it */
	b = bl_from("com\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_TRUE(rp__blocklist_match(b, "a.b.example.com"));
	CU_ASSERT_FALSE(rp__blocklist_match(b, "example.org"));
	rp__blocklist_free(b);
}

static void test_blocklist_case_and_trailing_dot(void)
{
	struct rp_blocklist *b = bl_from("shouting.net.\nlower.example\n");

	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_TRUE(rp__blocklist_match(b, "SHOUTING.NET"));
	CU_ASSERT_TRUE(rp__blocklist_match(b, "Www.Shouting.Net."));
	CU_ASSERT_TRUE(rp__blocklist_match(b, "LOWER.EXAMPLE"));
	CU_ASSERT_TRUE(rp__blocklist_match(b, "lower.example.."));
	CU_ASSERT_FALSE(rp__blocklist_match(b, "net"));
	rp__blocklist_free(b);
}

static void test_blocklist_errors_name_line(void)
{
	static const char *const bad[] = {
		"ok.example\n# fine\nbad domain.example\n",
		"ok.example\n\n*.wild.example\n",
		"ok.example\nfine.example\na..b\n",
		"ok.example\nx\nhttp://a.example/\n",
		"ok.example\nfine.example\n0.0.0.0 hosts.example\n",
		"ok.example\nfine.example\n192.0.2.1\n",
	};
	struct rp_blocklist *b;
	char err[256];

	for (unsigned i = 0; i < N(bad); i++) {
		const char *path = write_tmp(bad[i]);

		b = (struct rp_blocklist *)1;
		err[0] = '\0';
		CU_ASSERT_EQUAL(rp__blocklist_load(path, &b, err, sizeof(err)), -EINVAL);
		CU_ASSERT_PTR_NULL(b);
		if (!strstr(err, ":3:") || !strstr(err, path))
			CU_FAIL(err);
		unlink(path);
	}
	CU_ASSERT_EQUAL(
		rp__blocklist_load("/nonexistent/rp-blocklist", &b, err, sizeof(err)),
		-ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/rp-blocklist"));
}

static void test_blocklist_100k_entries_fast(void)
{
	enum { ENTRIES = 100000, LOOKUPS = 400000 };
	size_t cap = (size_t)ENTRIES * 40, len = 0;
	char *text = malloc(cap), host[128], err[256] = "";
	struct rp_blocklist *b = NULL;
	unsigned found = 0;
	const char *path;
	double t;

	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	for (unsigned i = 0; i < ENTRIES; i++)
		len += (size_t)snprintf(text + len, cap - len,
					"ads%u.Tracker%u.example\n", i, i % 97);
	path = write_tmp(text);
	free(text);
	t = now_s();
	CU_ASSERT_EQUAL_FATAL(rp__blocklist_load(path, &b, err, sizeof(err)), 0);
	t = now_s() - t;
	unlink(path);
	printf("\n  100k entries loaded in %.1f ms ", t * 1e3);
	CU_ASSERT_EQUAL(rp__blocklist_size(b), ENTRIES);
	CU_ASSERT(t < 5.0);

	t = now_s();
	for (unsigned i = 0; i < LOOKUPS; i++) {
		unsigned k = i * 2654435761u % (2 * ENTRIES);

		/* half listed (as subdomains of listed names), half not */
		snprintf(host, sizeof(host), "www.cdn.ads%u.tracker%u.example", k,
			 k % 97);
		found += rp__blocklist_match(b, host);
	}
	t = now_s() - t;
	printf("%u lookups of 5 labels in %.1f ms (%.0f ns each) ", LOOKUPS, t * 1e3,
	       t * 1e9 / LOOKUPS);
	/* exactly the k < ENTRIES half: every multiplier residue class is hit
	 * as often, so count it the direct way */
	{
		unsigned want = 0;

		for (unsigned i = 0; i < LOOKUPS; i++)
			want += i * 2654435761u % (2 * ENTRIES) < ENTRIES;
		CU_ASSERT_EQUAL(found, want);
	}
	/* O(labels): generous even under sanitizers (about 0.2 us each -O0) */
	CU_ASSERT(t / LOOKUPS < 20e-6);
	snprintf(host, sizeof(host), "ADS%u.TRACKER%u.example", ENTRIES - 1,
		 (ENTRIES - 1) % 97);
	CU_ASSERT_TRUE(rp__blocklist_match(b, host));
	CU_ASSERT_FALSE(rp__blocklist_match(b, "ads100000.tracker100000.example"));
	rp__blocklist_free(b);
}

/* ---- users ---- */

#define TEST_ITER RP_USERS_MIN_ITERATIONS /* cheap: the tests hash a lot */

static struct rp_users *users_from(const char *text, char *err, size_t errlen)
{
	struct rp_users *u = NULL;
	const char *path = write_tmp(text);

	err[0] = '\0';
	rp__users_load(path, &u, err, errlen);
	unlink(path);
	return u;
}

static void test_users_hash_format(void)
{
	char h[RP_USERS_HASH_MAX], h2[RP_USERS_HASH_MAX];
	int n = rp__users_hash("secret", 6, TEST_ITER, h, sizeof(h));

	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL((size_t)n, strlen(h));
	CU_ASSERT_EQUAL(strncmp(h, "$pbkdf2-sha256$10000$", 21), 0);
	/* 16 bytes of salt and 32 of key, unpadded: 22 and 43 characters */
	CU_ASSERT_EQUAL(strlen(h), 21 + 22 + 1 + 43);
	CU_ASSERT_PTR_NULL(strchr(h, '='));
	/* a random salt each time */
	CU_ASSERT_FATAL(rp__users_hash("secret", 6, TEST_ITER, h2, sizeof(h2)) > 0);
	CU_ASSERT_NOT_EQUAL(strcmp(h, h2), 0);
	/* default and limits */
	CU_ASSERT_FATAL(rp__users_hash("x", 1, 0, h, sizeof(h)) > 0);
	snprintf(h2, sizeof(h2), "$pbkdf2-sha256$%u$", RP_USERS_DEFAULT_ITERATIONS);
	CU_ASSERT_EQUAL(strncmp(h, h2, strlen(h2)), 0);
	CU_ASSERT_EQUAL(rp__users_hash("x", 1, RP_USERS_MIN_ITERATIONS - 1, h, sizeof(h)),
			-EINVAL);
	CU_ASSERT_EQUAL(rp__users_hash("x", 1, RP_USERS_MAX_ITERATIONS + 1, h, sizeof(h)),
			-EINVAL);
	CU_ASSERT_EQUAL(rp__users_hash("x", 1, TEST_ITER, h, 40), -ENOSPC);
}

static void test_users_check(void)
{
	char h[RP_USERS_HASH_MAX], text[1024], err[256];
	struct rp_users *u;

	CU_ASSERT_FATAL(rp__users_hash("open sesame", 11, TEST_ITER, h, sizeof(h)) > 0);
	snprintf(text, sizeof(text),
		 "# users\n"
		 "\n"
		 "alice:%s\n"
		 "  bob:$pbkdf2-sha256$10000$MDEyMzQ1Njc4OWFiY2RlZg$"
		 "TI2grtvV1HW5nz2rBY4tctlrmOj5bZs0dw9j8NHpRRc  \n"
		 "carol:$pbkdf2-sha256$10000$MDEyMzQ1Njc4OWFiY2RlZg==$"
		 "TI2grtvV1HW5nz2rBY4tctlrmOj5bZs0dw9j8NHpRRc=\n",
		 h);
	u = users_from(text, err, sizeof(err));
	if (!u)
		CU_FAIL_FATAL(err);
	CU_ASSERT_EQUAL(rp__users_size(u), 3);
	CU_ASSERT_TRUE(rp__users_check(u, NULL, 0, "alice", 5, "open sesame", 11));
	CU_ASSERT_FALSE(rp__users_check(u, NULL, 0, "alice", 5, "open sesamE", 11));
	CU_ASSERT_FALSE(rp__users_check(u, NULL, 0, "alice", 5, "open sesame", 10));
	CU_ASSERT_FALSE(rp__users_check(u, NULL, 0, "alic", 4, "open sesame", 11));
	CU_ASSERT_FALSE(rp__users_check(u, NULL, 0, "mallory", 7, "open sesame", 11));
	CU_ASSERT_FALSE(rp__users_check(u, NULL, 0, "", 0, "", 0));
	/* bob's hash comes from Python's hashlib.pbkdf2_hmac (interoperability);
	 * carol's is the same with '=' padding */
	CU_ASSERT_TRUE(rp__users_check(u, NULL, 0, "bob", 3, "correct horse", 13));
	CU_ASSERT_FALSE(rp__users_check(u, NULL, 0, "bob", 3, "open sesame", 11));
	CU_ASSERT_TRUE(rp__users_check(u, NULL, 0, "carol", 5, "correct horse", 13));
	rp__users_free(u);
}

static void test_users_plain_text_refused(void)
{
	char err[256];
	struct rp_users *u;

	u = users_from("# header\nalice:hunter2\n", err, sizeof(err));
	CU_ASSERT_PTR_NULL(u);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, ":2:"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "plain-text passwords are not accepted"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "ringproxy passwd"));
	rp__users_free(u);
}

static void test_users_load_errors_name_line(void)
{
	static const struct {
		const char *line, *want;
	} bad[] = {
		{"alice", "expected name:HASH"},
		{":$pbkdf2-sha256$10000$MDEyMzQ1Njc4OWFiY2RlZg$"
		 "TI2grtvV1HW5nz2rBY4tctlrmOj5bZs0dw9j8NHpRRc",
		 "user name"},
		{"al ice:$pbkdf2-sha256$10000$MDEyMzQ1Njc4OWFiY2RlZg$"
		 "TI2grtvV1HW5nz2rBY4tctlrmOj5bZs0dw9j8NHpRRc",
		 "user name"},
		{"alice:$2y$10$abcdefghijklmnopqrstuv", "unsupported hash scheme"},
		{"alice:$pbkdf2-sha256$1000$MDEyMzQ1Njc4OWFiY2RlZg$"
		 "TI2grtvV1HW5nz2rBY4tctlrmOj5bZs0dw9j8NHpRRc",
		 "too few iterations"},
		{"alice:$pbkdf2-sha256$200001$MDEyMzQ1Njc4OWFiY2RlZg$"
		 "TI2grtvV1HW5nz2rBY4tctlrmOj5bZs0dw9j8NHpRRc",
		 "too many iterations"},
		{"alice:$pbkdf2-sha256$010000$MDEyMzQ1Njc4OWFiY2RlZg$"
		 "TI2grtvV1HW5nz2rBY4tctlrmOj5bZs0dw9j8NHpRRc",
		 "malformed"},
		{"alice:$pbkdf2-sha256$10000$MDEyMzQ1Njc4OWFiY2RlZg", "malformed"},
		{"alice:$pbkdf2-sha256$10000$MDEyMzQ1Njc4OWFiY2RlZg$"
		 "TI2grtvV1HW5nz2rBY4tctlrmOj5bZs0dw9j8NHpRRc$x",
		 "malformed"},
		/* passlib's adapted base64 ('.' for '+') is not accepted */
		{"alice:$pbkdf2-sha256$10000$MDEyMzQ1Njc4OWFiY2Rl.g$"
		 "TI2grtvV1HW5nz2rBY4tctlrmOj5bZs0dw9j8NHpRRc",
		 "salt"},
		{"alice:$pbkdf2-sha256$10000$MDEy$"
		 "TI2grtvV1HW5nz2rBY4tctlrmOj5bZs0dw9j8NHpRRc",
		 "salt"},
		{"alice:$pbkdf2-sha256$10000$MDEyMzQ1Njc4OWFiY2RlZg$TI2grtvV", "key"},
		/* unused bits set: not the canonical encoding */
		{"alice:$pbkdf2-sha256$10000$MDEyMzQ1Njc4OWFiY2RlZh$"
		 "TI2grtvV1HW5nz2rBY4tctlrmOj5bZs0dw9j8NHpRRc",
		 "salt"},
		{"alice:$pbkdf2-sha256$10000$MDEyMzQ1Njc4OWFiY2RlZg=$"
		 "TI2grtvV1HW5nz2rBY4tctlrmOj5bZs0dw9j8NHpRRc",
		 "salt"},
		{"bob:$pbkdf2-sha256$10000$MDEyMzQ1Njc4OWFiY2RlZg$"
		 "TI2grtvV1HW5nz2rBY4tctlrmOj5bZs0dw9j8NHpRRc",
		 "already listed on line 2"},
	};
	static const char bob[] = "bob:$pbkdf2-sha256$10000$MDEyMzQ1Njc4OWFiY2RlZg$"
				  "TI2grtvV1HW5nz2rBY4tctlrmOj5bZs0dw9j8NHpRRc";
	char text[1024], err[256];

	for (unsigned i = 0; i < N(bad); i++) {
		struct rp_users *u;

		snprintf(text, sizeof(text), "# users\n%s\n%s\n", bob, bad[i].line);
		u = users_from(text, err, sizeof(err));
		CU_ASSERT_PTR_NULL(u);
		rp__users_free(u);
		if (!strstr(err, ":3:") || !strstr(err, bad[i].want))
			CU_FAIL(err);
	}
}

/* Best of @n runs of one check, in seconds. */
static double time_check(const struct rp_users *u, struct rp_auth_cache *c, uint64_t now,
			 const char *user, const char *pass, int n, bool *result)
{
	double best = 1e9;

	for (int i = 0; i < n; i++) {
		double t = now_s();

		*result = rp__users_check(u, c, now, user, strlen(user), pass,
					  strlen(pass));
		t = now_s() - t;
		if (t < best)
			best = t;
	}
	return best;
}

static struct rp_users *one_user(const char *name, const char *pass, unsigned iter)
{
	char h[RP_USERS_HASH_MAX], text[512], err[256];
	struct rp_users *u;

	CU_ASSERT_FATAL(rp__users_hash(pass, strlen(pass), iter, h, sizeof(h)) > 0);
	snprintf(text, sizeof(text), "%s:%s\n", name, h);
	u = users_from(text, err, sizeof(err));
	if (!u)
		CU_FAIL_FATAL(err);
	return u;
}

static void test_users_cache_hit_skips_pbkdf2(void)
{
	struct rp_users *u = one_user("alice", "pw", TEST_ITER);
	struct rp_auth_cache *c = rp__auth_cache_new(64, 1000, 64, 1000);
	uint64_t hits, misses;
	double cold, warm, wrong_cold, wrong_warm;
	bool ok;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	cold = time_check(u, c, 100, "alice", "pw", 1, &ok);
	CU_ASSERT_TRUE(ok);
	rp__auth_cache_stats(c, &hits, &misses);
	CU_ASSERT_EQUAL(hits, 0);
	CU_ASSERT_EQUAL(misses, 1);
	warm = time_check(u, c, 200, "alice", "pw", 5, &ok);
	CU_ASSERT_TRUE(ok);
	rp__auth_cache_stats(c, &hits, &misses);
	CU_ASSERT_EQUAL(hits, 5);
	CU_ASSERT_EQUAL(misses, 1);
	printf("\n  PBKDF2 at %u iterations: %.2f ms; cached: %.1f us ", TEST_ITER,
	       cold * 1e3, warm * 1e6);
	CU_ASSERT(warm * 10 < cold);

	/* a wrong password is remembered too: the second costs no PBKDF2 */
	wrong_cold = time_check(u, c, 300, "alice", "pW", 1, &ok);
	CU_ASSERT_FALSE(ok);
	wrong_warm = time_check(u, c, 301, "alice", "pW", 3, &ok);
	CU_ASSERT_FALSE(ok);
	rp__auth_cache_stats(c, &hits, &misses);
	CU_ASSERT_EQUAL(hits, 8);
	CU_ASSERT_EQUAL(misses, 2);
	CU_ASSERT(wrong_warm * 10 < wrong_cold);

	/* the name and password are both in the key: no "alic"+"epw" confusion */
	CU_ASSERT_FALSE(rp__users_check(u, c, 302, "alic", 4, "epw", 3));
	rp__auth_cache_stats(c, &hits, &misses);
	CU_ASSERT_EQUAL(misses, 3);

	/* expiry: stored at 100 with a ttl of 1000 */
	CU_ASSERT_TRUE(rp__users_check(u, c, 1099, "alice", 5, "pw", 2));
	rp__auth_cache_stats(c, &hits, &misses);
	CU_ASSERT_EQUAL(hits, 9);
	CU_ASSERT_TRUE(rp__users_check(u, c, 1100, "alice", 5, "pw", 2));
	rp__auth_cache_stats(c, &hits, &misses);
	CU_ASSERT_EQUAL(hits, 9);
	CU_ASSERT_EQUAL(misses, 4);
	rp__auth_cache_free(c);
	rp__users_free(u);
}

static void test_users_cache_bound_to_table(void)
{
	struct rp_users *u1 = one_user("alice", "pw", TEST_ITER);
	struct rp_users *u2 = one_user("alice", "other", TEST_ITER);
	struct rp_auth_cache *c = rp__auth_cache_new(8, 60000, 8, 60000);
	uint64_t hits, misses;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_TRUE(rp__users_check(u1, c, 1, "alice", 5, "pw", 2));
	CU_ASSERT_TRUE(rp__users_check(u1, c, 2, "alice", 5, "pw", 2));
	/* the reloaded table changed alice's password: the old entry is dead */
	CU_ASSERT_FALSE(rp__users_check(u2, c, 3, "alice", 5, "pw", 2));
	CU_ASSERT_TRUE(rp__users_check(u2, c, 4, "alice", 5, "other", 5));
	rp__auth_cache_stats(c, &hits, &misses);
	CU_ASSERT_EQUAL(hits, 1);
	CU_ASSERT_EQUAL(misses, 3);
	rp__auth_cache_free(c);

	/* a cache with no lifetime never answers */
	c = rp__auth_cache_new(8, 0, 8, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_TRUE(rp__users_check(u1, c, 1, "alice", 5, "pw", 2));
	CU_ASSERT_TRUE(rp__users_check(u1, c, 1, "alice", 5, "pw", 2));
	rp__auth_cache_stats(c, &hits, &misses);
	CU_ASSERT_EQUAL(hits, 0);
	CU_ASSERT_EQUAL(misses, 2);
	rp__auth_cache_free(c);
	rp__users_free(u1);
	rp__users_free(u2);
}

static void test_users_cache_evicts_oldest(void)
{
	static const char *const names[] = {"u0", "u1", "u2", "u3", "u4"};
	char h[RP_USERS_HASH_MAX], text[1024], err[256];
	struct rp_auth_cache *c = rp__auth_cache_new(4, 60000, 4, 60000);
	uint64_t hits, misses;
	struct rp_users *u;
	size_t len = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	for (unsigned i = 0; i < N(names); i++) {
		CU_ASSERT_FATAL(rp__users_hash(names[i], 2, TEST_ITER, h, sizeof(h)) > 0);
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%s:%s\n",
					names[i], h);
	}
	u = users_from(text, err, sizeof(err));
	if (!u)
		CU_FAIL_FATAL(err);
	/* a 4-entry cache is one set: the fifth pair evicts the oldest, u0 */
	for (unsigned i = 0; i < N(names); i++)
		CU_ASSERT_TRUE(rp__users_check(u, c, 10 + i, names[i], 2, names[i], 2));
	for (unsigned i = 1; i < N(names); i++)
		CU_ASSERT_TRUE(rp__users_check(u, c, 20 + i, names[i], 2, names[i], 2));
	rp__auth_cache_stats(c, &hits, &misses);
	CU_ASSERT_EQUAL(hits, 4);
	CU_ASSERT_EQUAL(misses, 5);
	CU_ASSERT_TRUE(rp__users_check(u, c, 30, "u0", 2, "u0", 2));
	rp__auth_cache_stats(c, &hits, &misses);
	CU_ASSERT_EQUAL(hits, 4);
	CU_ASSERT_EQUAL(misses, 6);
	rp__auth_cache_free(c);
	rp__users_free(u);
}

static void test_users_unknown_name_takes_pbkdf2_time(void)
{
	struct rp_users *u = one_user("alice", "pw", 4 * TEST_ITER);
	/* failures not remembered, so that each try runs PBKDF2 */
	struct rp_auth_cache *c = rp__auth_cache_new(64, 60000, 64, 0);
	uint64_t hits, misses;
	double known, unknown;
	bool ok;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	known = time_check(u, c, 1, "alice", "wrong", 3, &ok);
	CU_ASSERT_FALSE(ok);
	unknown = time_check(u, c, 1, "mallory", "pw", 3, &ok);
	CU_ASSERT_FALSE(ok);
	printf("\n  wrong password %.2f ms, unknown user %.2f ms ", known * 1e3,
	       unknown * 1e3);
	rp__auth_cache_stats(c, &hits, &misses);
	CU_ASSERT_EQUAL(hits, 0);
	CU_ASSERT_EQUAL(misses, 6);
	/* the dummy hash has the table's iteration count: within noise */
	CU_ASSERT(unknown > known * 0.5);
	CU_ASSERT(unknown < known * 2.0);
	rp__auth_cache_free(c);
	rp__users_free(u);
}

/* The key of a pair: the same for the same pair, table and cache; another
 * for any other name/password split, table or cache (its random key), so it
 * tells nothing of the password. */
static void test_auth_cache_tag(void)
{
	struct rp_users *u1 = one_user("alice", "pw", TEST_ITER);
	struct rp_users *u2 = one_user("alice", "pw", TEST_ITER);
	struct rp_auth_cache *c = rp__auth_cache_new(8, 1000, 8, 1000);
	struct rp_auth_cache *d = rp__auth_cache_new(8, 1000, 8, 1000);
	uint8_t t[RP_AUTH_TAG_LEN], t2[RP_AUTH_TAG_LEN];

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	rp__auth_cache_tag(c, u1, "alice", 5, "pw", 2, t);
	rp__auth_cache_tag(c, u1, "alice", 5, "pw", 2, t2);
	CU_ASSERT_EQUAL(memcmp(t, t2, sizeof(t)), 0);
	rp__auth_cache_tag(c, u1, "alic", 4, "epw", 3, t2);
	CU_ASSERT_NOT_EQUAL(memcmp(t, t2, sizeof(t)), 0);
	rp__auth_cache_tag(c, u1, "alice", 5, "pW", 2, t2);
	CU_ASSERT_NOT_EQUAL(memcmp(t, t2, sizeof(t)), 0);
	rp__auth_cache_tag(c, u2, "alice", 5, "pw", 2, t2); /* a reloaded table */
	CU_ASSERT_NOT_EQUAL(memcmp(t, t2, sizeof(t)), 0);
	rp__auth_cache_tag(d, u1, "alice", 5, "pw", 2, t2); /* another reactor */
	CU_ASSERT_NOT_EQUAL(memcmp(t, t2, sizeof(t)), 0);
	CU_ASSERT_PTR_NULL(memmem(t, sizeof(t), "pw", 2));
	rp__auth_cache_free(c);
	rp__auth_cache_free(d);
	rp__users_free(u1);
	rp__users_free(u2);
}

static void tag_of(unsigned i, uint8_t tag[RP_AUTH_TAG_LEN])
{
	memset(tag, 0, RP_AUTH_TAG_LEN);
	memcpy(tag, &i, sizeof(i));
	tag[RP_AUTH_TAG_LEN - 1] = 0x5a;
}

/* Successes and failures each in a bounded table of their own: a flood of
 * distinct failures evicts older failures, never a success. */
static void test_auth_cache_failures_bounded_apart(void)
{
	struct rp_auth_cache *c = rp__auth_cache_new(4, 10000, 4, 500);
	uint8_t ok[RP_AUTH_TAG_LEN], t[RP_AUTH_TAG_LEN];
	uint64_t hits, misses;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	tag_of(1000000, ok);
	CU_ASSERT_EQUAL(rp__auth_cache_lookup(c, ok, 1), -ENOENT);
	rp__auth_cache_store(c, ok, true, 1);
	CU_ASSERT_EQUAL(rp__auth_cache_lookup(c, ok, 2), 1);
	tag_of(7, t);
	rp__auth_cache_store(c, t, false, 2);
	CU_ASSERT_EQUAL(rp__auth_cache_lookup(c, t, 3), 0);
	/* failures expire with their own lifetime */
	CU_ASSERT_EQUAL(rp__auth_cache_lookup(c, t, 501), 0);
	CU_ASSERT_EQUAL(rp__auth_cache_lookup(c, t, 502), -ENOENT);
	/* 1000 distinct failures: the success stays, only 4 failures do */
	for (unsigned i = 0; i < 1000; i++) {
		tag_of(i, t);
		rp__auth_cache_store(c, t, false, 600 + i);
	}
	CU_ASSERT_EQUAL(rp__auth_cache_lookup(c, ok, 1600), 1);
	tag_of(999, t);
	CU_ASSERT_EQUAL(rp__auth_cache_lookup(c, t, 1600), 0);
	tag_of(0, t);
	CU_ASSERT_EQUAL(rp__auth_cache_lookup(c, t, 1000), -ENOENT);
	rp__auth_cache_stats(c, &hits, &misses);
	CU_ASSERT_EQUAL(hits, 5);
	CU_ASSERT_EQUAL(misses, 3);
	rp__auth_cache_free(c);
}

/* What helper threads call: the verdict without any cache. */
static void test_users_verify(void)
{
	struct rp_users *u = one_user("alice", "pw", TEST_ITER);

	CU_ASSERT_TRUE(rp__users_verify(u, "alice", 5, "pw", 2));
	CU_ASSERT_FALSE(rp__users_verify(u, "alice", 5, "pW", 2));
	CU_ASSERT_FALSE(rp__users_verify(u, "bob", 3, "pw", 2));
	CU_ASSERT_FALSE(rp__users_verify(u, NULL, 1, "pw", 2));
	CU_ASSERT_FALSE(rp__users_verify(NULL, "alice", 5, "pw", 2));
	rp__users_free(u);
}

static void test_users_empty_file(void)
{
	char err[256];
	struct rp_users *u = users_from("# nobody yet\n", err, sizeof(err));

	CU_ASSERT_PTR_NOT_NULL_FATAL(u);
	CU_ASSERT_EQUAL(rp__users_size(u), 0);
	CU_ASSERT_FALSE(rp__users_check(u, NULL, 0, "alice", 5, "pw", 2));
	rp__users_free(u);
	CU_ASSERT_FALSE(rp__users_check(NULL, NULL, 0, "alice", 5, "pw", 2));
}

/* ---- Basic credentials ---- */

static int basic(const char *v, char *user, size_t ucap, char *pass, size_t pcap)
{
	return rp__basic_auth_decode(v, strlen(v), user, ucap, pass, pcap);
}

/* What we send a parent decodes to what we meant, padding and all. */
static void test_basic_auth_encodes_for_a_parent(void)
{
	static const char *const pairs[][2] = {
		{"u", ""},
		{"us", "p"},
		{"use", "pa"},
		{"alice", "s3cret"},
		{"bob", "p@ss:w0rd"},
		{"\xc3\xa9t\xc3\xa9", "\xff\x80"},
	};
	char out[RP_BASIC_AUTH_MAX], user[256], pass[256], big[256];
	int n;

	for (unsigned i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		n = rp__basic_auth_encode(pairs[i][0], pairs[i][1], out, sizeof(out));
		CU_ASSERT_FATAL(n > 6);
		CU_ASSERT_EQUAL((size_t)n, strlen(out));
		CU_ASSERT_EQUAL((n - 6) % 4, 0);
		CU_ASSERT_EQUAL(rp__basic_auth_decode(out, (size_t)n, user, sizeof(user),
						      pass, sizeof(pass)),
				0);
		CU_ASSERT_STRING_EQUAL(user, pairs[i][0]);
		CU_ASSERT_STRING_EQUAL(pass, pairs[i][1]);
	}
	CU_ASSERT_EQUAL(rp__basic_auth_encode("alice", "s3cret", out, sizeof(out)), 22);
	CU_ASSERT_STRING_EQUAL(out, "Basic YWxpY2U6czNjcmV0");
	/* the longest pair fits RP_BASIC_AUTH_MAX exactly */
	memset(big, 'x', 255);
	big[255] = '\0';
	n = rp__basic_auth_encode(big, big, out, sizeof(out));
	CU_ASSERT_EQUAL(n, RP_BASIC_AUTH_MAX - 1);
	CU_ASSERT_EQUAL(rp__basic_auth_encode(big, big, out, sizeof(out) - 1), -ENOSPC);
	CU_ASSERT_EQUAL(rp__basic_auth_encode("a", "b", out, 8), -ENOSPC);
}

static void test_basic_auth_decodes(void)
{
	static const struct {
		const char *value, *user, *pass;
	} ok[] = {
		{"Basic dXNlcjpwYXNz", "user", "pass"},
		{"basic dXNlcjpwYXNz", "user", "pass"},
		{"BASIC dXNlcjpwYXNz", "user", "pass"},
		{"Basic    dXNlcjpwYXNz", "user", "pass"},
		{" \tBasic dXNlcjpwYXNz \t", "user", "pass"},
		{"Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", "Aladdin", "open sesame"},
		{"Basic dTpwMQ==", "u", "p1"},
		{"Basic dXNlcjpwYTpzcw==", "user", "pa:ss"}, /* first ':' splits */
		{"Basic dXNlcjo=", "user", ""},
		{"Basic OnBhc3M=", "", "pass"},
		{"Basic w6l0w6k6cA==", "\xc3\xa9t\xc3\xa9", "p"}, /* UTF-8 */
	};
	char user[64], pass[64];

	for (unsigned i = 0; i < N(ok); i++) {
		if (basic(ok[i].value, user, sizeof(user), pass, sizeof(pass)) != 0) {
			CU_FAIL(ok[i].value);
			continue;
		}
		CU_ASSERT_STRING_EQUAL(user, ok[i].user);
		CU_ASSERT_STRING_EQUAL(pass, ok[i].pass);
	}
	/* @len bounds the value: no NUL needed */
	CU_ASSERT_EQUAL(rp__basic_auth_decode("Basic dXNlcjpwYXNzXXXX", 18, user,
					      sizeof(user), pass, sizeof(pass)),
			0);
	CU_ASSERT_STRING_EQUAL(pass, "pass");
}

static void test_basic_auth_rejects(void)
{
	static const char *const bad[] = {
		"",
		"Basic",
		"Basic ",
		"Basic    ",
		"BasicdXNlcjpwYXNz",
		"Bearer dXNlcjpwYXNz",
		"Basi dXNlcjpwYXNz",
		"Basic\tdXNlcjpwYXNz",
		"Basic bm9jb2xvbg==", /* "nocolon" */
		"Basic dTpwMQ",	      /* padding missing */
		"Basic dTpwMQ=",
		"Basic dTpwMQ===",
		"Basic dTpwMR==", /* unused bits set */
		"Basic dTpw MQ==",
		"Basic dTpw\nMQ==",
		"Basic dTp-MQ==", /* URL-safe alphabet */
		"Basic dTp_MQ==",
		"Basic =dTpwMQ=",
		"Basic dT=wMQ==",
		"Basic dQE6cA==", /* "u\x01:p": control character */
		"Basic dTpwAHg=", /* "u:p\0x" */
		"Basic dXNlcjpwYXNz dXNlcjpwYXNz",
	};
	char user[64], pass[64];

	for (unsigned i = 0; i < N(bad); i++) {
		if (basic(bad[i], user, sizeof(user), pass, sizeof(pass)) != -EINVAL ||
		    user[0] || pass[0])
			CU_FAIL(bad[i]);
	}
	CU_ASSERT_EQUAL(rp__basic_auth_decode(NULL, 0, user, 8, pass, 8), -EINVAL);
}

static void test_basic_auth_respects_caps(void)
{
	char user[8], pass[8];
	/* "abc:defgh": the name needs 4 bytes with its NUL, the password 6 */
	const char *v = "Basic YWJjOmRlZmdo";

	CU_ASSERT_EQUAL(basic(v, user, 4, pass, 6), 0);
	CU_ASSERT_STRING_EQUAL(user, "abc");
	CU_ASSERT_STRING_EQUAL(pass, "defgh");
	CU_ASSERT_EQUAL(basic(v, user, 3, pass, 6), -EINVAL);
	CU_ASSERT_EQUAL(basic(v, user, 4, pass, 5), -EINVAL);
	CU_ASSERT_EQUAL(basic(v, user, 0, pass, 6), -EINVAL);

	/* a huge value is refused before it is decoded */
	{
		size_t n = 1 << 20;
		char *big = malloc(n + 7);

		CU_ASSERT_PTR_NOT_NULL_FATAL(big);
		memcpy(big, "Basic ", 6);
		memset(big + 6, 'A', n);
		big[n + 6] = '\0';
		CU_ASSERT_EQUAL(basic(big, user, sizeof(user), pass, sizeof(pass)),
				-EINVAL);
		free(big);
	}
}

static const struct rp_unit_test tests[] = {
	RP_TEST(test_cidr_parses_valid),
	RP_TEST(test_cidr_rejects_malformed),
	RP_TEST(test_cidr_match_table),
	RP_TEST(test_ssrf_v4_classes),
	RP_TEST(test_ssrf_v4_public_is_null),
	RP_TEST(test_ssrf_v6_classes),
	RP_TEST(test_ssrf_v6_embedded_v4),
	RP_TEST(test_ssrf_v6_public_is_null),
	RP_TEST(test_ssrf_other_family),
	RP_TEST(test_acl_first_match_decides),
	RP_TEST(test_acl_client_condition),
	RP_TEST(test_acl_host_exact_and_suffix),
	RP_TEST(test_acl_cidr_dest_needs_address),
	RP_TEST(test_acl_ports),
	RP_TEST(test_acl_all_conditions_must_hold),
	RP_TEST(test_acl_build_errors_name_rule),
	RP_TEST(test_blocklist_parents),
	RP_TEST(test_blocklist_case_and_trailing_dot),
	RP_TEST(test_blocklist_errors_name_line),
	RP_TEST(test_blocklist_100k_entries_fast),
	RP_TEST(test_users_hash_format),
	RP_TEST(test_users_check),
	RP_TEST(test_users_plain_text_refused),
	RP_TEST(test_users_load_errors_name_line),
	RP_TEST(test_users_cache_hit_skips_pbkdf2),
	RP_TEST(test_users_cache_bound_to_table),
	RP_TEST(test_users_cache_evicts_oldest),
	RP_TEST(test_users_unknown_name_takes_pbkdf2_time),
	RP_TEST(test_auth_cache_tag),
	RP_TEST(test_auth_cache_failures_bounded_apart),
	RP_TEST(test_users_verify),
	RP_TEST(test_users_empty_file),
	RP_TEST(test_basic_auth_encodes_for_a_parent),
	RP_TEST(test_basic_auth_decodes),
	RP_TEST(test_basic_auth_rejects),
	RP_TEST(test_basic_auth_respects_caps),
};

RP_UNIT_MAIN("policy", tests)

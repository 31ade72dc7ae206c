// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_auth.c - the throttle of forward/auth.c, its pure part: failures
 * counted per address in a fixed window, the block they begin and its end,
 * IPv6 counted by /64 and IPv4-mapped as IPv4, and a bounded table that
 * keeps blocks over mere counts when it must evict.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "forward/auth.h"
#include "unit.h"

static void test_throttle_blocks_after_limit_in_window(void)
{
	struct rp_auth_throttle *t = rp__throttle_new(64, 3, 1000, 5000);
	struct sockaddr_storage a, b;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	rp_unit_sockaddr("192.0.2.1", &a);
	rp_unit_sockaddr("192.0.2.2", &b);
	CU_ASSERT_EQUAL(rp__throttle_blocked(t, (struct sockaddr *)&a, 0), 0);
	CU_ASSERT_FALSE(rp__throttle_fail(t, (struct sockaddr *)&a, 0));
	CU_ASSERT_FALSE(rp__throttle_fail(t, (struct sockaddr *)&a, 1));
	CU_ASSERT_EQUAL(rp__throttle_blocked(t, (struct sockaddr *)&a, 1), 0);
	/* the third failure within the window begins the block, once */
	CU_ASSERT_TRUE(rp__throttle_fail(t, (struct sockaddr *)&a, 2));
	CU_ASSERT_EQUAL(rp__throttle_blocked(t, (struct sockaddr *)&a, 2), 5000);
	CU_ASSERT_EQUAL(rp__throttle_blocked(t, (struct sockaddr *)&a, 3), 4999);
	CU_ASSERT_FALSE(rp__throttle_fail(t, (struct sockaddr *)&a, 4));
	CU_ASSERT_EQUAL(rp__throttle_blocked(t, (struct sockaddr *)&a, 4), 4998);
	/* another address is not touched */
	CU_ASSERT_EQUAL(rp__throttle_blocked(t, (struct sockaddr *)&b, 3), 0);
	/* the block ends on time, and counting starts afresh */
	CU_ASSERT_EQUAL(rp__throttle_blocked(t, (struct sockaddr *)&a, 5001), 1);
	CU_ASSERT_EQUAL(rp__throttle_blocked(t, (struct sockaddr *)&a, 5002), 0);
	CU_ASSERT_FALSE(rp__throttle_fail(t, (struct sockaddr *)&a, 5003));
	CU_ASSERT_FALSE(rp__throttle_fail(t, (struct sockaddr *)&a, 5004));
	CU_ASSERT_TRUE(rp__throttle_fail(t, (struct sockaddr *)&a, 5005));
	rp__throttle_free(t);
}

/* A fixed window from its first failure: failures older than the window do
 * not count. */
static void test_throttle_window_restarts(void)
{
	struct rp_auth_throttle *t = rp__throttle_new(64, 3, 1000, 5000);
	struct sockaddr_storage a;
	const struct sockaddr *p = rp_unit_sockaddr("198.51.100.7", &a);

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_FALSE(rp__throttle_fail(t, p, 0));
	CU_ASSERT_FALSE(rp__throttle_fail(t, p, 600));
	CU_ASSERT_FALSE(rp__throttle_fail(t, p, 1000)); /* a new window: 1 */
	CU_ASSERT_FALSE(rp__throttle_fail(t, p, 1500)); /* 2 */
	CU_ASSERT_EQUAL(rp__throttle_blocked(t, p, 1600), 0);
	CU_ASSERT_TRUE(rp__throttle_fail(t, p, 1999)); /* 3 within [1000, 2000) */
	CU_ASSERT_EQUAL(rp__throttle_blocked(t, p, 2000), 4999);
	rp__throttle_free(t);
}

static void test_throttle_keys(void)
{
	struct rp_auth_throttle *t = rp__throttle_new(64, 2, 1000, 5000);
	struct sockaddr_storage a, b, c, d, m;
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	uint8_t k1[RP_THROTTLE_KEY], k2[RP_THROTTLE_KEY];

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	/* one /64 is one client; the next /64 is another */
	rp_unit_sockaddr("2001:db8:1:2::1", &a);
	rp_unit_sockaddr("2001:db8:1:2:ffff:1:2:9", &b);
	rp_unit_sockaddr("2001:db8:1:3::1", &c);
	CU_ASSERT_TRUE(rp__throttle_key((struct sockaddr *)&a, k1));
	CU_ASSERT_TRUE(rp__throttle_key((struct sockaddr *)&b, k2));
	CU_ASSERT_EQUAL(memcmp(k1, k2, sizeof(k1)), 0);
	CU_ASSERT_FALSE(rp__throttle_fail(t, (struct sockaddr *)&a, 10));
	CU_ASSERT_TRUE(rp__throttle_fail(t, (struct sockaddr *)&b, 11));
	CU_ASSERT(rp__throttle_blocked(t, (struct sockaddr *)&a, 12) > 0);
	CU_ASSERT_EQUAL(rp__throttle_blocked(t, (struct sockaddr *)&c, 12), 0);
	/* IPv4-mapped IPv6 is the IPv4 address */
	rp_unit_sockaddr("192.0.2.9", &d);
	rp_unit_sockaddr("::ffff:192.0.2.9", &m);
	CU_ASSERT_TRUE(rp__throttle_key((struct sockaddr *)&d, k1));
	CU_ASSERT_TRUE(rp__throttle_key((struct sockaddr *)&m, k2));
	CU_ASSERT_EQUAL(memcmp(k1, k2, sizeof(k1)), 0);
	CU_ASSERT_FALSE(rp__throttle_fail(t, (struct sockaddr *)&d, 20));
	CU_ASSERT_TRUE(rp__throttle_fail(t, (struct sockaddr *)&m, 21));
	CU_ASSERT(rp__throttle_blocked(t, (struct sockaddr *)&d, 22) > 0);
	/* IPv4 192.0.2.9 and an IPv6 /64 holding the same bytes differ */
	rp_unit_sockaddr("c000:209::", &c);
	CU_ASSERT_TRUE(rp__throttle_key((struct sockaddr *)&c, k2));
	CU_ASSERT_NOT_EQUAL(memcmp(k1, k2, sizeof(k1)), 0);
	/* other families are never counted */
	CU_ASSERT_FALSE(rp__throttle_key((struct sockaddr *)&un, k1));
	CU_ASSERT_FALSE(rp__throttle_fail(t, (struct sockaddr *)&un, 30));
	CU_ASSERT_FALSE(rp__throttle_fail(t, (struct sockaddr *)&un, 31));
	CU_ASSERT_EQUAL(rp__throttle_blocked(t, (struct sockaddr *)&un, 32), 0);
	rp__throttle_free(t);
}

/* A 4-entry table is one set: counts are evicted before blocks, and when
 * every entry is a block, the one nearest its end goes. */
static void test_throttle_bounded_keeps_blocks(void)
{
	struct rp_auth_throttle *t = rp__throttle_new(4, 2, 100000, 60000);
	struct sockaddr_storage s;
	char ip[32];

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_FALSE(rp__throttle_fail(t, rp_unit_sockaddr("10.0.0.1", &s), 0));
	CU_ASSERT_TRUE(rp__throttle_fail(t, rp_unit_sockaddr("10.0.0.1", &s), 1));
	for (unsigned i = 0; i < 50; i++) {
		snprintf(ip, sizeof(ip), "10.1.0.%u", i);
		CU_ASSERT_FALSE(rp__throttle_fail(t, rp_unit_sockaddr(ip, &s), 10 + i));
	}
	CU_ASSERT(rp__throttle_blocked(t, rp_unit_sockaddr("10.0.0.1", &s), 100) > 0);
	/* four blocks fill the set; a fifth evicts the oldest, 10.0.0.1 */
	for (unsigned i = 2; i <= 5; i++) {
		snprintf(ip, sizeof(ip), "10.0.0.%u", i);
		CU_ASSERT_FALSE(rp__throttle_fail(t, rp_unit_sockaddr(ip, &s), 100 * i));
		CU_ASSERT_TRUE(
			rp__throttle_fail(t, rp_unit_sockaddr(ip, &s), 100 * i + 1));
	}
	CU_ASSERT_EQUAL(rp__throttle_blocked(t, rp_unit_sockaddr("10.0.0.1", &s), 1000),
			0);
	for (unsigned i = 2; i <= 5; i++) {
		snprintf(ip, sizeof(ip), "10.0.0.%u", i);
		CU_ASSERT(rp__throttle_blocked(t, rp_unit_sockaddr(ip, &s), 1000) > 0);
	}
	rp__throttle_free(t);
}

static void test_throttle_off(void)
{
	struct rp_auth_throttle *t = rp__throttle_new(64, 0, 1000, 5000);
	struct sockaddr_storage s;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	for (unsigned i = 0; i < 100; i++)
		CU_ASSERT_FALSE(
			rp__throttle_fail(t, rp_unit_sockaddr("10.0.0.1", &s), i));
	CU_ASSERT_EQUAL(rp__throttle_blocked(t, rp_unit_sockaddr("10.0.0.1", &s), 100),
			0);
	rp__throttle_free(t);
	CU_ASSERT_FALSE(rp__throttle_fail(NULL, rp_unit_sockaddr("10.0.0.1", &s), 1));
	CU_ASSERT_EQUAL(rp__throttle_blocked(NULL, rp_unit_sockaddr("10.0.0.1", &s), 1),
			0);
}

static const struct rp_unit_test tests[] = {
	RP_TEST(test_throttle_blocks_after_limit_in_window),
	RP_TEST(test_throttle_window_restarts),
	RP_TEST(test_throttle_keys),
	RP_TEST(test_throttle_bounded_keeps_blocks),
	RP_TEST(test_throttle_off),
};

RP_UNIT_MAIN("forward/auth", tests)

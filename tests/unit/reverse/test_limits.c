// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_limits.c - per-client limits without a reactor: the token bucket's
 * burst, refill, cap and Retry-After, the split of a rate over reactors;
 * the client table: per listener and per address (IPv6 by /64, mapped IPv4
 * as IPv4), connection caps counted by descriptor and let go on close (and
 * on a descriptor that comes back from accept still counted), eviction of
 * the least recently seen client without connections, and untracked
 * clients when a set is all held open; a route's rate counted apart from
 * its listener's.
 */
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "reverse/limits.h"
#include "unit.h"

/* A client address from text, in its own storage. */
static struct sockaddr_storage addr(const char *ip)
{
	struct sockaddr_storage ss;

	rp_unit_sockaddr(ip, &ss);
	return ss;
}

#define SA(ss) ((struct sockaddr *)&(ss))

/* ---- the token bucket ---------------------------------------------------- */

static void test_bucket_burst_then_refusal(void)
{
	struct rp_rate q;
	struct rp_bucket b;
	unsigned retry = 0;

	rp__rate_init(&q, 10, 5, 1);
	rp__bucket_fill(&q, &b, 1000);
	for (int i = 0; i < 5; i++)
		CU_ASSERT(rp__bucket_take(&q, &b, 1000, NULL));
	CU_ASSERT_FALSE(rp__bucket_take(&q, &b, 1000, &retry));
	CU_ASSERT_EQUAL(retry, 1);
	/* 10/s: one is back after 100 ms, not before. */
	CU_ASSERT_FALSE(rp__bucket_take(&q, &b, 1099, NULL));
	CU_ASSERT(rp__bucket_take(&q, &b, 1100, NULL));
	CU_ASSERT_FALSE(rp__bucket_take(&q, &b, 1100, NULL));
}

static void test_bucket_rate_over_time_and_cap(void)
{
	struct rp_rate q;
	struct rp_bucket b;
	unsigned ok = 0;

	rp__rate_init(&q, 100, 10, 1);
	rp__bucket_fill(&q, &b, 0);
	/* A long idle time fills the bucket only up to the burst. */
	for (int i = 0; i < 20; i++)
		ok += rp__bucket_take(&q, &b, 100000, NULL);
	CU_ASSERT_EQUAL(ok, 10);
	/* Ten seconds of asking every ms: 100/s exactly. */
	ok = 0;
	for (uint64_t t = 100001; t <= 110000; t++)
		ok += rp__bucket_take(&q, &b, t, NULL);
	CU_ASSERT_EQUAL(ok, 1000);
}

static void test_rate_split_over_reactors(void)
{
	struct rp_rate q;
	struct rp_bucket b;
	unsigned ok = 0, retry = 0;

	/* 300/s over 4 reactors: 75/s each, burst ceil(10/4) = 3. */
	rp__rate_init(&q, 300, 10, 4);
	rp__bucket_fill(&q, &b, 0);
	for (int i = 0; i < 10; i++)
		ok += rp__bucket_take(&q, &b, 0, NULL);
	CU_ASSERT_EQUAL(ok, 3);
	ok = 0;
	for (uint64_t t = 1; t <= 4000; t++)
		ok += rp__bucket_take(&q, &b, t, NULL);
	CU_ASSERT_EQUAL(ok, 300);
	/* 1/s over 2 reactors: a request every 2 s, Retry-After 2. */
	rp__rate_init(&q, 1, 0, 2);
	rp__bucket_fill(&q, &b, 0);
	CU_ASSERT(rp__bucket_take(&q, &b, 0, NULL));
	CU_ASSERT_FALSE(rp__bucket_take(&q, &b, 0, &retry));
	CU_ASSERT_EQUAL(retry, 2);
	CU_ASSERT_FALSE(rp__bucket_take(&q, &b, 1999, NULL));
	CU_ASSERT(rp__bucket_take(&q, &b, 2000, NULL));
}

/* ---- the table --------------------------------------------------------------- */

static struct rp_config *cfg_with(unsigned conns, unsigned rps, unsigned burst)
{
	static struct rp_config cfg;

	rp_config_init(&cfg);
	cfg.nlisteners = 2;
	rp_listener_config_init(&cfg.listeners[0]);
	rp_listener_config_init(&cfg.listeners[1]);
	cfg.listeners[0].limits.client_conns = conns;
	cfg.listeners[0].limits.client_rps = rps;
	cfg.listeners[0].limits.client_burst = burst;
	return &cfg;
}

static void test_no_limits_no_table(void)
{
	struct rp_stats st = {0};
	struct rp_limits *l = (struct rp_limits *)1;

	CU_ASSERT_EQUAL(rp__limits_new(cfg_with(0, 0, 0), 1, &st, &l), 0);
	CU_ASSERT_PTR_NULL(l);
	CU_ASSERT_FALSE(rp__limits_conns_on(NULL, 0));
}

static void test_requests_per_client_and_listener(void)
{
	struct rp_stats st = {0};
	struct rp_limits *l;
	struct sockaddr_storage a = addr("192.0.2.1"), b = addr("192.0.2.2");
	struct sockaddr_storage m = addr("::ffff:192.0.2.1");
	struct sockaddr_storage x = addr("2001:db8:1:2::1"),
				y = addr("2001:db8:1:2:ffff::9");
	struct sockaddr_storage z = addr("2001:db8:1:3::1");
	unsigned retry;

	CU_ASSERT_EQUAL_FATAL(rp__limits_new(cfg_with(0, 1, 2), 1, &st, &l), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	CU_ASSERT(rp__limits_request(l, 0, SA(a), 5, &retry));
	/* IPv4-mapped is the same client. */
	CU_ASSERT(rp__limits_request(l, 0, SA(m), 5, &retry));
	CU_ASSERT_FALSE(rp__limits_request(l, 0, SA(a), 5, &retry));
	CU_ASSERT_EQUAL(retry, 1);
	/* Another address, and listener 1 (no limits), are not touched. */
	CU_ASSERT(rp__limits_request(l, 0, SA(b), 5, &retry));
	for (int i = 0; i < 5; i++)
		CU_ASSERT(rp__limits_request(l, 1, SA(a), 5, &retry));
	/* One /64 is one client; the next /64 another. */
	CU_ASSERT(rp__limits_request(l, 0, SA(x), 5, &retry));
	CU_ASSERT(rp__limits_request(l, 0, SA(y), 5, &retry));
	CU_ASSERT_FALSE(rp__limits_request(l, 0, SA(x), 5, &retry));
	CU_ASSERT(rp__limits_request(l, 0, SA(z), 5, &retry));
	/* Unknown clients are let through, counted. */
	CU_ASSERT(rp__limits_request(l, 0, NULL, 5, &retry));
	CU_ASSERT_EQUAL(st.client_rate_limited, 2);
	CU_ASSERT_EQUAL(st.limit_untracked, 1);
	rp__limits_free(l);
}

static void test_conns_capped_and_released(void)
{
	struct rp_stats st = {0};
	struct rp_limits *l;
	struct sockaddr_storage a = addr("198.51.100.7"), b = addr("198.51.100.8");

	/* 5 over 2 reactors: 3 on this one. */
	CU_ASSERT_EQUAL_FATAL(rp__limits_new(cfg_with(5, 0, 0), 2, &st, &l), 0);
	CU_ASSERT(rp__limits_conns_on(l, 0));
	CU_ASSERT_FALSE(rp__limits_conns_on(l, 1));
	CU_ASSERT(rp__limits_conn_open(l, 0, 10, SA(a), 1));
	CU_ASSERT(rp__limits_conn_open(l, 0, 11, SA(a), 1));
	CU_ASSERT(rp__limits_conn_open(l, 0, 12, SA(a), 1));
	CU_ASSERT_FALSE(rp__limits_conn_open(l, 0, 13, SA(a), 1));
	CU_ASSERT(rp__limits_conn_open(l, 0, 13, SA(b), 1));
	CU_ASSERT_EQUAL(st.client_conns_refused, 1);
	rp__limits_conn_closed(l, 11);
	rp__limits_conn_closed(l, 11); /* twice: nothing more */
	rp__limits_conn_closed(l, 99); /* never counted */
	CU_ASSERT(rp__limits_conn_open(l, 0, 14, SA(a), 2));
	CU_ASSERT_FALSE(rp__limits_conn_open(l, 0, 15, SA(a), 2));
	/* fd 10 went by a plain close() and comes back from accept: its old
	 * count is let go first. */
	CU_ASSERT(rp__limits_conn_open(l, 0, 10, SA(a), 3));
	CU_ASSERT_FALSE(rp__limits_conn_open(l, 0, 16, SA(a), 3));
	rp__limits_free(l);
}

static void test_eviction_spares_clients_with_conns(void)
{
	struct rp_config *cfg = cfg_with(1, 1, 1);
	struct rp_stats st = {0};
	struct rp_limits *l;
	char ip[32];
	unsigned retry, untracked_before;

	cfg->client_table = 16; /* 4 sets of 4 */
	CU_ASSERT_EQUAL_FATAL(rp__limits_new(cfg, 1, &st, &l), 0);
	/* 16 clients each holding a connection fill every set. */
	for (int i = 0; i < 64 && st.limit_untracked == 0; i++) {
		struct sockaddr_storage a;

		snprintf(ip, sizeof(ip), "203.0.113.%d", i);
		a = addr(ip);
		CU_ASSERT(rp__limits_conn_open(l, 0, 100 + i, SA(a), (uint64_t)i + 1));
	}
	/* Some client found its set all held open: admitted, untracked, and
	 * no one with a connection was forgotten. */
	CU_ASSERT(st.limit_untracked >= 1);
	CU_ASSERT_EQUAL(st.limit_evictions, 0);
	/* A client whose set has an idle entry takes the oldest idle one. */
	for (int i = 0; i < 64; i++)
		rp__limits_conn_closed(l, 100 + i);
	untracked_before = (unsigned)st.limit_untracked;
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage a;

		snprintf(ip, sizeof(ip), "192.0.2.%d", i);
		a = addr(ip);
		CU_ASSERT(rp__limits_request(l, 0, SA(a), 1000, &retry));
	}
	CU_ASSERT_EQUAL(st.limit_untracked, untracked_before);
	CU_ASSERT(st.limit_evictions >= 48);
	rp__limits_free(l);
}

static void test_route_rate_apart_from_the_listener(void)
{
	struct rp_config *cfg = cfg_with(0, 1, 1);
	struct rp_stats st = {0};
	struct rp_limits *l;
	struct sockaddr_storage a = addr("192.0.2.9");
	unsigned retry;

	cfg->nroutes = 2;
	memset(cfg->routes, 0, 2 * sizeof(cfg->routes[0]));
	cfg->routes[1].limits.client_rps = 1;
	cfg->routes[1].limits.client_burst = 2;
	CU_ASSERT_EQUAL_FATAL(rp__limits_new(cfg, 1, &st, &l), 0);
	/* The listener's bucket (1) and route 1's (2) are counted apart. */
	CU_ASSERT(rp__limits_request(l, 0, SA(a), 1, &retry));
	CU_ASSERT_FALSE(rp__limits_request(l, 0, SA(a), 1, &retry));
	CU_ASSERT(rp__limits_route_request(l, 1, SA(a), 1, &retry));
	CU_ASSERT(rp__limits_route_request(l, 1, SA(a), 1, &retry));
	CU_ASSERT_FALSE(rp__limits_route_request(l, 1, SA(a), 1, &retry));
	/* Route 0 has no limit. */
	for (int i = 0; i < 5; i++)
		CU_ASSERT(rp__limits_route_request(l, 0, SA(a), 1, &retry));
	CU_ASSERT_EQUAL(st.client_rate_limited, 2);
	rp__limits_free(l);
	cfg->nroutes = 0;
}

static const struct rp_unit_test tests[] = {
	RP_TEST(test_bucket_burst_then_refusal),
	RP_TEST(test_bucket_rate_over_time_and_cap),
	RP_TEST(test_rate_split_over_reactors),
	RP_TEST(test_no_limits_no_table),
	RP_TEST(test_requests_per_client_and_listener),
	RP_TEST(test_conns_capped_and_released),
	RP_TEST(test_eviction_spares_clients_with_conns),
	RP_TEST(test_route_rate_apart_from_the_listener),
};
RP_UNIT_MAIN("limits", tests)

// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_rr.c - round-robin backend picking with passive health: even spread,
 * down backends skipped until their cool-down ends, tried ones never re-picked.
 */
#include "reverse/reverse.h"
#include "unit.h"

static void test_rr_spreads_evenly(void)
{
	uint64_t down[4] = {0};
	unsigned next = 0, hits[4] = {0};

	for (int i = 0; i < 400; i++) {
		int b = rp__rr_pick(down, 4, &next, 0, 1000);

		CU_ASSERT_FATAL(b >= 0 && b < 4);
		hits[b]++;
	}
	for (int b = 0; b < 4; b++)
		CU_ASSERT_EQUAL(hits[b], 100);
}

static void test_rr_skips_down_until_cooldown_ends(void)
{
	uint64_t down[3] = {0, 5000, 0};
	unsigned next = 0;

	for (int i = 0; i < 30; i++)
		CU_ASSERT_NOT_EQUAL(rp__rr_pick(down, 3, &next, 0, 4999), 1);
	next = 1;
	CU_ASSERT_EQUAL(rp__rr_pick(down, 3, &next, 0, 5000), 1);
}

static void test_rr_never_repeats_tried(void)
{
	uint64_t down[3] = {0};
	unsigned next = 0;
	uint64_t tried = 0;

	for (int i = 0; i < 3; i++) {
		int b = rp__rr_pick(down, 3, &next, tried, 0);

		CU_ASSERT_FATAL(b >= 0);
		CU_ASSERT_FALSE((tried >> b) & 1);
		tried |= 1ull << b;
	}
	CU_ASSERT_EQUAL(rp__rr_pick(down, 3, &next, tried, 0), -1);
}

static void test_rr_all_down_gives_none(void)
{
	uint64_t down[2] = {10, 10};
	unsigned next = 0;

	CU_ASSERT_EQUAL(rp__rr_pick(down, 2, &next, 0, 5), -1);
	CU_ASSERT_EQUAL(rp__rr_pick(down, 2, &next, 0, 10), 0);
}

static const struct rp_unit_test tests[] = {
	RP_TEST(test_rr_spreads_evenly),
	RP_TEST(test_rr_skips_down_until_cooldown_ends),
	RP_TEST(test_rr_never_repeats_tried),
	RP_TEST(test_rr_all_down_gives_none),
};
RP_UNIT_MAIN("rr", tests)

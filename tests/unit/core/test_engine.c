// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_engine.c - the limits the engine derives when it is created: the
 * connections per reactor that an open-file limit holds (max_conns 0), and
 * that rp_engine_create() fills them in from this process's own limit.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "core/engine_int.h"
#include "net/net.h"
#include "unit.h"

static void test_engine_conns_for_fds_divides_what_is_left(void)
{
	/* (limit - reserve) / (2 x reactors): a client and a backend each. */
	CU_ASSERT_EQUAL(rp__conns_for_fds(1024, 24, 1), 500);
	CU_ASSERT_EQUAL(rp__conns_for_fds(1024, 24, 2), 250);
	CU_ASSERT_EQUAL(rp__conns_for_fds(20000, 466, 2), 4883); /* rounded down */
	CU_ASSERT_EQUAL(rp__conns_for_fds(1u << 20, 0, 4), 131072);
	/* What the connections of every reactor take fits with the reserve. */
	for (unsigned r = 1; r <= 64; r++) {
		uint64_t n = rp__conns_for_fds(65536, 1000, r);

		CU_ASSERT(n * 2 * r + 1000 <= 65536);
		CU_ASSERT((n + 1) * 2 * r + 1000 > 65536);
	}
	/* 0 reactors is one. */
	CU_ASSERT_EQUAL(rp__conns_for_fds(1024, 24, 0), 500);
}

static void test_engine_conns_for_fds_bounds(void)
{
	/* A limit the reserve eats, or nearly: the floor, not 0. */
	CU_ASSERT_EQUAL(rp__conns_for_fds(64, 457, 1), RP_AUTO_CONNS_MIN);
	CU_ASSERT_EQUAL(rp__conns_for_fds(457, 457, 1), RP_AUTO_CONNS_MIN);
	CU_ASSERT_EQUAL(rp__conns_for_fds(0, 0, 1), RP_AUTO_CONNS_MIN);
	CU_ASSERT_EQUAL(rp__conns_for_fds(457 + 2 * RP_AUTO_CONNS_MIN + 2, 457, 1),
			RP_AUTO_CONNS_MIN + 1);
	/* No limit: the largest --max-conns. */
	CU_ASSERT_EQUAL(rp__conns_for_fds(UINT64_MAX, 100, 1), RP_AUTO_CONNS_MAX);
	CU_ASSERT_EQUAL(rp__conns_for_fds((uint64_t)1 << 40, 0, 256), RP_AUTO_CONNS_MAX);
}

/* max_conns 0 is filled in from this process's limit; a value set stays. */
static void test_engine_create_derives_max_conns(void)
{
	struct rp_config *cfg = malloc(sizeof(*cfg));
	struct rp_engine *e = NULL;
	struct rlimit rl;
	char err[512] = "";
	int ret;

	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_EQUAL_FATAL(getrlimit(RLIMIT_NOFILE, &rl), 0);
	rp_config_init(cfg);
	CU_ASSERT_EQUAL(cfg->max_conns, 0);
	cfg->reactors = 2;
	cfg->max_pipes = 10;
	cfg->nlisteners = 1;
	rp_listener_config_init(&cfg->listeners[0]);
	cfg->listeners[0].mode = RP_MODE_FORWARD;
	CU_ASSERT_EQUAL_FATAL(
		rp__addr_parse("127.0.0.1:1", &cfg->listeners[0].addr, false), 0);
	ret = rp_engine_create(cfg, &e, err, sizeof(err));
	if (ret < 0)
		fprintf(stderr, "\n  engine said: %s\n", err);
	CU_ASSERT_EQUAL_FATAL(ret, 0);
	/* 64 for the process, per reactor 8 + 1 listener + 2 x 10 pipes. */
	CU_ASSERT_EQUAL(e->snap->cfg.max_conns,
			rp__conns_for_fds(rl.rlim_cur, 64 + 2 * (8 + 1 + 20), 2));
	CU_ASSERT_EQUAL(cfg->max_conns, 0); /* the caller's copy is untouched */
	rp_engine_destroy(e);

	cfg->max_conns = 7;
	CU_ASSERT_EQUAL_FATAL(rp_engine_create(cfg, &e, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(e->snap->cfg.max_conns, 7);
	rp_engine_destroy(e);
	free(cfg);
}

static const struct rp_unit_test tests[] = {
	RP_TEST(test_engine_conns_for_fds_divides_what_is_left),
	RP_TEST(test_engine_conns_for_fds_bounds),
	RP_TEST(test_engine_create_derives_max_conns),
};
RP_UNIT_MAIN("engine", tests)

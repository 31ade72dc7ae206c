// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_pool.c - object pools (bound, reuse, zeroing or not, alignment, chunks
 * given back above the kept free objects) and the pipe pool (budget,
 * recycling only empty pipes, the fs.pipe-user-pages-soft share).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "unit.h"

static void test_pool_respects_max(void)
{
	struct rp_pool p;
	void *objs[10];

	CU_ASSERT_EQUAL(rp__pool_init(&p, 100, 10), 0);
	for (int i = 0; i < 10; i++) {
		objs[i] = rp__pool_get(&p);
		CU_ASSERT_PTR_NOT_NULL(objs[i]);
	}
	CU_ASSERT_PTR_NULL(rp__pool_get(&p));
	rp__pool_put(&p, objs[3]);
	CU_ASSERT_PTR_EQUAL(rp__pool_get(&p), objs[3]);
	rp__pool_destroy(&p);
}

static void test_pool_objects_zeroed_aligned_distinct(void)
{
	struct rp_pool p;
	uint8_t *a, *b;

	CU_ASSERT_EQUAL(rp__pool_init(&p, 200, 1000), 0);
	a = rp__pool_get(&p);
	b = rp__pool_get(&p);
	CU_ASSERT_EQUAL((uintptr_t)a % RP_CACHELINE, 0);
	CU_ASSERT_EQUAL((uintptr_t)b % RP_CACHELINE, 0);
	CU_ASSERT(a + 200 <= b || b + 200 <= a);
	memset(a, 0xab, 200);
	rp__pool_put(&p, a);
	a = rp__pool_get(&p);
	for (int i = 0; i < 200; i++)
		CU_ASSERT_EQUAL_FATAL(a[i], 0);
	CU_ASSERT_EQUAL(p.used, 2);
	rp__pool_destroy(&p);
}

static void test_pool_grows_across_chunks(void)
{
	struct rp_pool p;
	enum { N = 5000 };
	static void *objs[N];

	CU_ASSERT_EQUAL(rp__pool_init(&p, 512, N), 0);
	for (int i = 0; i < N; i++) {
		objs[i] = rp__pool_get(&p);
		CU_ASSERT_PTR_NOT_NULL_FATAL(objs[i]);
		memset(objs[i], i & 0xff, 512);
	}
	CU_ASSERT(p.allocated >= N && p.allocated < N + p.per_chunk);
	for (int i = 0; i < N; i++)
		CU_ASSERT_EQUAL_FATAL(((uint8_t *)objs[i])[511], i & 0xff);
	for (int i = 0; i < N; i++)
		rp__pool_put(&p, objs[i]);
	CU_ASSERT_EQUAL(p.used, 0);
	rp__pool_destroy(&p);
}

static void test_pool_raw_keeps_contents(void)
{
	struct rp_pool p;
	struct rp_pool_opts o = {.keep = 16, .raw = true};
	uint8_t *a;

	CU_ASSERT_EQUAL(rp__pool_init_opts(&p, 20480, 100, &o), 0);
	a = rp__pool_get(&p);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL((uintptr_t)a % RP_CACHELINE, 0);
	memset(a, 0xcd, 20480);
	rp__pool_put(&p, a);
	CU_ASSERT_PTR_EQUAL(rp__pool_get(&p), a);
	/* Only the free-list link was written over. */
	for (int i = (int)sizeof(void *); i < 20480; i++)
		CU_ASSERT_EQUAL_FATAL(a[i], 0xcd);
	/* Even a large object's chunk holds several. */
	CU_ASSERT(p.per_chunk >= 4);
	CU_ASSERT_EQUAL(p.chunk_bytes & (p.chunk_bytes - 1), 0);
	rp__pool_put(&p, a);
	rp__pool_destroy(&p);
}

static void test_pool_gives_back_above_keep(void)
{
	struct rp_pool p;
	struct rp_pool_opts o = {.keep = 10};
	enum { N = 2000 };
	static void *objs[N];
	unsigned chunks;

	CU_ASSERT_EQUAL(rp__pool_init_opts(&p, 1000, N, &o), 0);
	for (int i = 0; i < N; i++) {
		objs[i] = rp__pool_get(&p);
		CU_ASSERT_PTR_NOT_NULL_FATAL(objs[i]);
	}
	chunks = p.allocated / p.per_chunk;
	CU_ASSERT(chunks > 10);
	CU_ASSERT_EQUAL(p.released, 0);
	for (int i = 0; i < N; i++)
		rp__pool_put(&p, objs[i]);
	/* What stays is the kept free objects, rounded up to chunks. */
	CU_ASSERT_EQUAL(p.used, 0);
	CU_ASSERT(p.nfree >= o.keep);
	CU_ASSERT(p.nfree < o.keep + p.per_chunk);
	CU_ASSERT_EQUAL(p.nfree, p.allocated);
	CU_ASSERT_EQUAL(p.released, chunks - p.allocated / p.per_chunk);
	/* And the pool grows again as before. */
	for (int i = 0; i < N; i++) {
		objs[i] = rp__pool_get(&p);
		CU_ASSERT_PTR_NOT_NULL_FATAL(objs[i]);
	}
	CU_ASSERT_PTR_NULL(rp__pool_get(&p));
	rp__pool_destroy(&p);
}

static void test_pool_keeps_chunks_in_use(void)
{
	struct rp_pool p;
	struct rp_pool_opts o = {.keep = 0};
	void *a, *b;

	CU_ASSERT_EQUAL(rp__pool_init_opts(&p, 64, 100, &o), 0);
	a = rp__pool_get(&p);
	b = rp__pool_get(&p);
	/* One object out keeps its chunk, even with nothing to keep. */
	rp__pool_put(&p, a);
	CU_ASSERT_EQUAL(p.released, 0);
	memset(b, 0x11, 64);
	rp__pool_put(&p, b);
	CU_ASSERT_EQUAL(p.released, 1);
	CU_ASSERT_EQUAL(p.allocated, 0);
	CU_ASSERT_EQUAL(p.nfree, 0);
	/* A fresh chunk again, zeroed objects as ever. */
	a = rp__pool_get(&p);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL(((uint8_t *)a)[63], 0);
	rp__pool_put(&p, a);
	rp__pool_destroy(&p);
}

static void test_pool_destroy_frees_objects_out(void)
{
	struct rp_pool p;

	/* Under ASan, a chunk left behind is a reported leak. */
	CU_ASSERT_EQUAL(rp__pool_init(&p, 300, 1000), 0);
	for (int i = 0; i < 700; i++)
		CU_ASSERT_PTR_NOT_NULL_FATAL(rp__pool_get(&p));
	rp__pool_destroy(&p);
	CU_ASSERT_EQUAL(p.used, 0);
}

static void test_pool_rejects_bad_init(void)
{
	struct rp_pool p;

	CU_ASSERT_EQUAL(rp__pool_init(&p, 0, 10), -EINVAL);
	CU_ASSERT_EQUAL(rp__pool_init(&p, 10, 0), -EINVAL);
}

static void test_pipe_pool_budget_and_recycle(void)
{
	struct rp_pipe_pool pp;
	struct rp_pipe a, b, c;

	CU_ASSERT_EQUAL(rp__pipe_pool_init(&pp, 65536, 2), 0);
	CU_ASSERT_EQUAL(rp__pipe_get(&pp, &a), 0);
	CU_ASSERT_EQUAL(rp__pipe_get(&pp, &b), 0);
	CU_ASSERT_EQUAL(rp__pipe_get(&pp, &c), -EAGAIN);
	CU_ASSERT(fcntl(a.wfd, F_GETPIPE_SZ) >= 65536);
	CU_ASSERT(fcntl(a.rfd, F_GETFL) & O_NONBLOCK);

	/* An empty pipe is cached and handed out again. */
	int rfd = a.rfd;
	rp__pipe_put(&pp, &a, true);
	CU_ASSERT_EQUAL(a.rfd, -1);
	CU_ASSERT_EQUAL(rp__pipe_get(&pp, &c), 0);
	CU_ASSERT_EQUAL(c.rfd, rfd);

	/* A dirty one is closed and frees budget. */
	CU_ASSERT_EQUAL(write(b.wfd, "x", 1), 1);
	int dirty = b.rfd;
	rp__pipe_put(&pp, &b, false);
	CU_ASSERT_EQUAL(fcntl(dirty, F_GETFD), -1);
	CU_ASSERT_EQUAL(pp.live, 1);
	CU_ASSERT_EQUAL(rp__pipe_get(&pp, &b), 0);
	rp__pipe_put(&pp, &b, true);
	rp__pipe_put(&pp, &c, true);
	rp__pipe_pool_destroy(&pp);
}

static void test_pipe_budget_shares_soft_limit(void)
{
	unsigned one = rp__pipe_budget(65536, 1);
	unsigned four = rp__pipe_budget(65536, 4);
	unsigned big = rp__pipe_budget(1 << 20, 1);

	CU_ASSERT(one > 0);
	CU_ASSERT(four <= one / 4 + 1);
	CU_ASSERT(big <= one / 16 + 1);
}

static const struct rp_unit_test tests[] = {
	RP_TEST(test_pool_respects_max),
	RP_TEST(test_pool_objects_zeroed_aligned_distinct),
	RP_TEST(test_pool_grows_across_chunks),
	RP_TEST(test_pool_raw_keeps_contents),
	RP_TEST(test_pool_gives_back_above_keep),
	RP_TEST(test_pool_keeps_chunks_in_use),
	RP_TEST(test_pool_destroy_frees_objects_out),
	RP_TEST(test_pool_rejects_bad_init),
	RP_TEST(test_pipe_pool_budget_and_recycle),
	RP_TEST(test_pipe_budget_shares_soft_limit),
};
RP_UNIT_MAIN("pool", tests)

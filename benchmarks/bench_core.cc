// SPDX-License-Identifier: BSD-2-Clause
/*
 * bench_core.cc - micro benchmarks of the reactor core's hot helpers through
 * their C API: timer arm/cancel (every connection re-arms one), timer firing,
 * object pool get/put (every accept), and provided-buffer recycling (every
 * copy-path read).
 */
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <vector>

#include "core/core.h"

static void noop_timer(struct rp_timer *, uint64_t)
{
}

static void BM_core_timer_arm_cancel(benchmark::State &state)
{
	auto *w = static_cast<rp_wheel *>(std::malloc(sizeof(rp_wheel)));
	std::vector<rp_timer> timers(static_cast<size_t>(state.range(0)));
	uint64_t now = 1000, i = 0;

	rp__wheel_init(w, now);
	for (auto &t : timers) {
		t = rp_timer{};
		t.fn = noop_timer;
		rp__timer_arm(w, &t, now + 1 + (i++ * 7919) % 300000);
	}
	for (auto _ : state) {
		rp_timer &t = timers[i++ % timers.size()];
		rp__timer_arm(w, &t, now + 1 + (i * 7919) % 300000);
	}
	for (auto &t : timers)
		rp__timer_cancel(w, &t);
	state.SetItemsProcessed(state.iterations());
	std::free(w);
}
BENCHMARK(BM_core_timer_arm_cancel)->Arg(1000)->Arg(100000);

static void BM_core_wheel_run_fire(benchmark::State &state)
{
	auto *w = static_cast<rp_wheel *>(std::malloc(sizeof(rp_wheel)));
	const size_t n = static_cast<size_t>(state.range(0));
	std::vector<rp_timer> timers(n);
	uint64_t now = 0;

	rp__wheel_init(w, now);
	for (auto _ : state) {
		state.PauseTiming();
		for (size_t k = 0; k < n; k++) {
			timers[k] = rp_timer{};
			timers[k].fn = noop_timer;
			rp__timer_arm(w, &timers[k], now + 1 + k % 64);
		}
		state.ResumeTiming();
		now += 64;
		benchmark::DoNotOptimize(rp__wheel_run(w, now));
	}
	state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n));
	std::free(w);
}
BENCHMARK(BM_core_wheel_run_fire)->Arg(1024);

// Steady state: 64 objects out and back, the free lists only. Arg 1 = 1:
// a raw pool (buffers: not zeroed on get).
static void BM_core_pool_get_put(benchmark::State &state)
{
	rp_pool p;
	rp_pool_opts o = {RP_POOL_KEEP_DEFAULT, state.range(1) != 0};
	std::vector<void *> held(64);

	rp__pool_init_opts(&p, static_cast<size_t>(state.range(0)), 100000, &o);
	for (auto _ : state) {
		for (auto &o : held)
			o = rp__pool_get(&p);
		for (auto *o : held)
			rp__pool_put(&p, o);
	}
	state.SetItemsProcessed(state.iterations() * 64);
	rp__pool_destroy(&p);
}
BENCHMARK(BM_core_pool_get_put)
	->Args({256, 0})
	->Args({1024, 0})
	->Args({4096, 0})
	->Args({20480, 1});

// A burst of 4096 objects out and back with 64 kept: every round maps
// chunks, faults their pages in and unmaps them again (the cost of following
// the load rather than keeping the peak).
static void BM_core_pool_burst(benchmark::State &state)
{
	rp_pool p;
	rp_pool_opts o = {64, true};
	std::vector<void *> held(4096);

	rp__pool_init_opts(&p, static_cast<size_t>(state.range(0)), 100000, &o);
	for (auto _ : state) {
		for (auto &o : held)
			o = rp__pool_get(&p);
		for (auto *o : held)
			rp__pool_put(&p, o);
	}
	state.SetItemsProcessed(state.iterations() * 4096);
	rp__pool_destroy(&p);
}
BENCHMARK(BM_core_pool_burst)->Arg(1024)->Arg(20480);

static void BM_core_bufring_recycle(benchmark::State &state)
{
	io_uring ring;
	rp_bufring b;
	const unsigned batch = static_cast<unsigned>(state.range(0));

	if (io_uring_queue_init(8, &ring, 0) < 0 ||
	    rp__bufring_init(&b, &ring, 0, 1024, 16384) < 0) {
		state.SkipWithError("no io_uring buffer rings here");
		return;
	}
	unsigned bid = 0;
	for (auto _ : state) {
		for (unsigned k = 0; k < batch; k++)
			rp__bufring_recycle(&b, bid++ & 1023);
		rp__bufring_publish(&b);
	}
	state.SetItemsProcessed(state.iterations() * batch);
	rp__bufring_destroy(&b, &ring);
	io_uring_queue_exit(&ring);
}
BENCHMARK(BM_core_bufring_recycle)->Arg(1)->Arg(32);

BENCHMARK_MAIN();

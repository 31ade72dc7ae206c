// SPDX-License-Identifier: BSD-2-Clause
/*
 * bench_balance.cc - micro benchmarks of the load-balancing algorithms
 * through their C API: one pick and its release (every new connection pays
 * both) per algorithm for 8 and 64 backends with weights 1..4 and varying key
 * hashes, the hash of a client address, and a Maglev table rebuild (what a
 * backend going up or down costs a reactor).
 */
#include <benchmark/benchmark.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdio>
#include <vector>

#include "balance/balance.h"

static std::vector<rp_balance_backend> make_backends(unsigned n)
{
	std::vector<rp_balance_backend> be(n);

	for (unsigned i = 0; i < n; i++) {
		char name[32];
		int len = std::snprintf(name, sizeof(name), "10.0.%u.%u:80", i / 250,
					i % 250);

		be[i].id = rp__hash_bytes(name, static_cast<size_t>(len));
		be[i].weight = 1 + i % 4;
	}
	return be;
}

static void BM_balance_pick(benchmark::State &state, const char *algo)
{
	const unsigned n = static_cast<unsigned>(state.range(0));
	std::vector<rp_balance_backend> be = make_backends(n);
	std::vector<uint64_t> keys(4096);
	rp_balance_config cfg{};
	rp_balancer b;
	size_t k = 0;

	cfg.ops = rp__balance_ops_find(algo);
	cfg.nbackends = n;
	cfg.backends = be.data();
	if (rp__balance_init(&b, &cfg, 1) < 0) {
		state.SkipWithError("rp__balance_init failed");
		return;
	}
	for (size_t i = 0; i < keys.size(); i++)
		keys[i] = rp__hash_u64_pair(0x636c69656e74ull, i);
	for (auto _ : state) {
		rp_pick_key key{keys[k++ & 4095], nullptr};
		int i = rp__balance_pick(&b, &key);

		benchmark::DoNotOptimize(i);
		rp__balance_release(&b, i, false);
	}
	state.SetItemsProcessed(state.iterations());
	rp__balance_fini(&b);
}
BENCHMARK_CAPTURE(BM_balance_pick, roundrobin, "roundrobin")->Arg(8)->Arg(64);
BENCHMARK_CAPTURE(BM_balance_pick, wrr, "wrr")->Arg(8)->Arg(64);
BENCHMARK_CAPTURE(BM_balance_pick, leastconn, "leastconn")->Arg(8)->Arg(64);
BENCHMARK_CAPTURE(BM_balance_pick, p2c, "p2c")->Arg(8)->Arg(64);
BENCHMARK_CAPTURE(BM_balance_pick, ringhash, "ringhash")->Arg(8)->Arg(64);
BENCHMARK_CAPTURE(BM_balance_pick, maglev, "maglev")->Arg(8)->Arg(64);

static void BM_balance_hash_sockaddr(benchmark::State &state)
{
	sockaddr_in6 a{};
	uint64_t h = 0;
	uint32_t i = 0;

	a.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::1", &a.sin6_addr);
	for (auto _ : state) {
		a.sin6_addr.s6_addr32[3] = i++;
		rp__hash_sockaddr_ip(reinterpret_cast<sockaddr *>(&a), sizeof(a), &h);
		benchmark::DoNotOptimize(h);
	}
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_balance_hash_sockaddr);

/* One rebuild per iteration, backend 0 going down and up in turn. */
static void BM_balance_maglev_build(benchmark::State &state)
{
	const unsigned n = static_cast<unsigned>(state.range(0));
	std::vector<rp_balance_backend> be = make_backends(n);
	rp_balance_config cfg{};
	rp_balancer b;

	cfg.ops = rp__balance_ops_find("maglev");
	cfg.nbackends = n;
	cfg.backends = be.data();
	if (rp__balance_init(&b, &cfg, 1) < 0) {
		state.SkipWithError("rp__balance_init failed");
		return;
	}
	bool up = true;

	for (auto _ : state) {
		up = !up;
		rp__balance_set_up(&b, 0, up);
		rp__balance_refresh(&b);
		benchmark::ClobberMemory();
	}
	state.SetItemsProcessed(state.iterations());
	rp__balance_fini(&b);
}
BENCHMARK(BM_balance_maglev_build)
	->Arg(8)
	->Arg(64)
	->Arg(1000)
	->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();

// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_balance.c - the load-balancing algorithms and their hash: weights
 * honoured (exactly for the round robins, within stated tolerances for the
 * sampled and hashed ones), smooth WRR interleaving, load awareness of
 * leastconn and p2c, Maglev balance, minimal disruption when a backend goes
 * down for Maglev and the ring, hash picks identical across instances
 * (reactors), restarts and config reordering, pinned hash outputs, the
 * up/down/avoid rules every algorithm keeps, and slow-start ramps (a share
 * scaled by the ramp in wrr, p2c, leastconn and roundrobin, none in the hash
 * algorithms).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "balance/balance.h"
#include "unit.h"

#define MAXB   64
#define NKEYS  100000u
#define NALGOS (sizeof(algos) / sizeof(algos[0]))

static const char *const algos[] = {"roundrobin", "wrr",      "leastconn",
				    "p2c",	  "ringhash", "maglev"};

struct cluster {
	struct rp_balance_backend be[MAXB];
	struct rp_balance_config cfg;
};

/* Backends named "10.0.0.<i+1>:80", as a caller would identify them. */
static void cluster_make(struct cluster *c, const char *algo, unsigned n,
			 const unsigned *weights)
{
	memset(c, 0, sizeof(*c));
	for (unsigned i = 0; i < n; i++) {
		char name[32];
		int len = snprintf(name, sizeof(name), "10.0.0.%u:80", i + 1);

		c->be[i].id = rp__hash_bytes(name, (size_t)len);
		c->be[i].weight = weights ? weights[i] : 1;
	}
	c->cfg.ops = rp__balance_ops_find(algo);
	c->cfg.nbackends = n;
	c->cfg.backends = c->be;
}

static void init_ok(struct rp_balancer *b, const struct cluster *c, uint64_t seed)
{
	CU_ASSERT_EQUAL_FATAL(rp__balance_init(b, &c->cfg, seed), 0);
}

/* The hash of the k-th test client. */
static uint64_t key_hash(unsigned k)
{
	return rp__hash_u64_pair(0x636c69656e74ull, k);
}

/* One pick for key k, released at once (the load stays as it was). */
static int pick_key(struct rp_balancer *b, unsigned k)
{
	struct rp_pick_key key = {.hash = key_hash(k)};
	int i = rp__balance_pick(b, &key);

	if (i >= 0)
		rp__balance_release(b, i, false);
	return i;
}

/* ---- hash ----------------------------------------------------------------- */

static void test_hash_pinned_values(void)
{
	static const char long_input[] = "ringproxy: per-core io_uring proxy engine, "
					 "shared-nothing reactors"; /* > 32 bytes */

	/* XXH64 with seed 0: every value here is the one libxxhash 0.8.1's
	 * XXH64(data, len, 0) returns. */
	CU_ASSERT_EQUAL(rp__hash_bytes("", 0), 0xef46db3751d8e999ull);
	CU_ASSERT_EQUAL(rp__hash_bytes("a", 1), 0xd24ec4f1a98c6e5bull);
	CU_ASSERT_EQUAL(rp__hash_bytes("abc", 3), 0x44bc2cf5ad770999ull);
	CU_ASSERT_EQUAL(rp__hash_bytes("10.0.0.1:80", 11), 0x011facba8043b217ull);
	CU_ASSERT_EQUAL(rp__hash_bytes(long_input, sizeof(long_input) - 1),
			0xc22e75ff20c9a587ull);
	CU_ASSERT_EQUAL(rp__hash_u64_pair(1, 2), 0x4b180fec3ef3d4acull);
}

static void test_hash_sockaddr_uses_ip_only(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(1234)};
	struct sockaddr_in a2 = {.sin_family = AF_INET, .sin_port = htons(4321)};
	struct sockaddr_in6 m = {.sin6_family = AF_INET6, .sin6_port = htons(1)};
	struct sockaddr_in6 v6 = {.sin6_family = AF_INET6, .sin6_port = htons(2)};
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	const uint8_t v4bytes[4] = {192, 0, 2, 1};
	uint64_t h, h2;

	inet_pton(AF_INET, "192.0.2.1", &a.sin_addr);
	inet_pton(AF_INET, "192.0.2.1", &a2.sin_addr);
	inet_pton(AF_INET6, "::ffff:192.0.2.1", &m.sin6_addr);
	inet_pton(AF_INET6, "2001:db8::1", &v6.sin6_addr);

	CU_ASSERT_EQUAL_FATAL(rp__hash_sockaddr_ip((struct sockaddr *)&a, sizeof(a), &h),
			      0);
	CU_ASSERT_EQUAL(h, rp__hash_bytes(v4bytes, 4));
	CU_ASSERT_EQUAL(h, 0x9c3163f48c1ed6ffull);
	/* The port does not matter, and a v4-mapped address is the v4 one. */
	CU_ASSERT_EQUAL(rp__hash_sockaddr_ip((struct sockaddr *)&a2, sizeof(a2), &h2), 0);
	CU_ASSERT_EQUAL(h2, h);
	CU_ASSERT_EQUAL(rp__hash_sockaddr_ip((struct sockaddr *)&m, sizeof(m), &h2), 0);
	CU_ASSERT_EQUAL(h2, h);
	CU_ASSERT_EQUAL(rp__hash_sockaddr_ip((struct sockaddr *)&v6, sizeof(v6), &h2), 0);
	CU_ASSERT_EQUAL(h2, rp__hash_bytes(&v6.sin6_addr, 16));
	CU_ASSERT_EQUAL(h2, 0x97f11e0685f67ae8ull);

	CU_ASSERT_EQUAL(rp__hash_sockaddr_ip((struct sockaddr *)&un, sizeof(un), &h2),
			-EAFNOSUPPORT);
	CU_ASSERT_EQUAL(rp__hash_sockaddr_ip((struct sockaddr *)&a, sizeof(a) - 1, &h2),
			-EINVAL);
	CU_ASSERT_EQUAL(rp__hash_sockaddr_ip((struct sockaddr *)&v6, sizeof(a), &h2),
			-EINVAL);
}

/* ---- set-up --------------------------------------------------------------- */

static void test_balance_ops_find_by_name(void)
{
	for (size_t a = 0; a < NALGOS; a++) {
		const struct rp_balancer_ops *ops = rp__balance_ops_find(algos[a]);

		CU_ASSERT_PTR_NOT_NULL_FATAL(ops);
		CU_ASSERT_STRING_EQUAL(ops->name, algos[a]);
	}
	CU_ASSERT_PTR_NULL(rp__balance_ops_find("random"));
	CU_ASSERT_PTR_NULL(rp__balance_ops_find(""));
}

static void test_balance_init_rejects_bad_config(void)
{
	struct rp_balancer b;
	struct cluster c;

	cluster_make(&c, "wrr", 4, NULL);
	c.be[2].weight = 0;
	CU_ASSERT_EQUAL(rp__balance_init(&b, &c.cfg, 0), -EINVAL);
	c.be[2].weight = RP_BALANCE_MAX_WEIGHT + 1;
	CU_ASSERT_EQUAL(rp__balance_init(&b, &c.cfg, 0), -EINVAL);
	cluster_make(&c, "wrr", 4, NULL);
	c.cfg.nbackends = 0;
	CU_ASSERT_EQUAL(rp__balance_init(&b, &c.cfg, 0), -EINVAL);
	c.cfg.nbackends = 4;
	c.cfg.ops = NULL;
	CU_ASSERT_EQUAL(rp__balance_init(&b, &c.cfg, 0), -EINVAL);

	cluster_make(&c, "maglev", 4, NULL);
	c.cfg.maglev_size = 65536; /* not prime */
	CU_ASSERT_EQUAL(rp__balance_init(&b, &c.cfg, 0), -EINVAL);
	c.cfg.maglev_size = 3; /* prime, but not above the backend count */
	CU_ASSERT_EQUAL(rp__balance_init(&b, &c.cfg, 0), -EINVAL);
	c.cfg.maglev_size = 5;
	CU_ASSERT_EQUAL_FATAL(rp__balance_init(&b, &c.cfg, 0), 0);
	rp__balance_fini(&b);

	/* Two backends with one identity would share ring points and
	 * permutations: refused by the hash algorithms. */
	for (int h = 0; h < 2; h++) {
		cluster_make(&c, h ? "maglev" : "ringhash", 4, NULL);
		c.be[3].id = c.be[1].id;
		CU_ASSERT_EQUAL(rp__balance_init(&b, &c.cfg, 0), -EINVAL);
	}
}

/* ---- weights -------------------------------------------------------------- */

static void test_roundrobin_is_exact(void)
{
	const unsigned w[5] = {1, 9, 1, 9, 1}; /* ignored by roundrobin */
	unsigned hits[5] = {0};
	struct rp_balancer b;
	struct cluster c;

	cluster_make(&c, "roundrobin", 5, w);
	init_ok(&b, &c, 0);
	for (unsigned k = 0; k < 5000; k++) {
		int i = pick_key(&b, k);

		CU_ASSERT_EQUAL_FATAL(i, (int)(k % 5));
		hits[i]++;
	}
	for (int i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(hits[i], 1000);
	rp__balance_fini(&b);
}

static void test_wrr_sequence_is_smooth(void)
{
	/* nginx's documented sequence for weights 5, 1, 1. */
	static const int want[7] = {0, 0, 1, 0, 2, 0, 0};
	const unsigned w[3] = {5, 1, 1};
	unsigned hits[3] = {0};
	double worst = 0;
	struct rp_balancer b;
	struct cluster c;

	cluster_make(&c, "wrr", 3, w);
	init_ok(&b, &c, 0);
	for (unsigned k = 0; k < 700; k++) {
		int i = pick_key(&b, k);

		CU_ASSERT_EQUAL(i, want[k % 7]);
		hits[i]++;
		/* Smooth: after every pick, each backend is less than one pick
		 * away from its exact share (t * w / 7). A plain weighted round
		 * robin, a a a a a b c, is 1.43 picks ahead after five. */
		for (int j = 0; j < 3; j++) {
			double dev = hits[j] - (k + 1) * w[j] / 7.0;

			if (dev < 0)
				dev = -dev;
			if (dev > worst)
				worst = dev;
		}
	}
	CU_ASSERT(worst < 1);
	rp__balance_fini(&b);
}

static void test_wrr_respects_weights_exactly(void)
{
	const unsigned w[4] = {1, 2, 3, 4};
	unsigned hits[4] = {0};
	struct rp_balancer b;
	struct cluster c;

	cluster_make(&c, "wrr", 4, w);
	init_ok(&b, &c, 0);
	/* Every period of sum(weights) = 10 picks gives each its weight. */
	for (unsigned k = 0; k < 10000; k++) {
		hits[pick_key(&b, k)]++;
		if (k % 10 == 9)
			for (int i = 0; i < 4; i++)
				CU_ASSERT_EQUAL(hits[i], (k + 1) / 10 * w[i]);
	}
	rp__balance_fini(&b);
}

/* Share of NKEYS * @scale picks (or keys) per backend, relative error against
 * weight / sum(weights); returns the worst relative error. */
static double weight_error(const char *algo, const struct rp_balance_config *over,
			   unsigned scale)
{
	const unsigned w[4] = {1, 2, 3, 4};
	unsigned hits[4] = {0};
	struct rp_balancer b;
	struct cluster c;
	double worst = 0;

	cluster_make(&c, algo, 4, w);
	if (over) {
		c.cfg.ring_vnodes = over->ring_vnodes;
		c.cfg.maglev_size = over->maglev_size;
	}
	init_ok(&b, &c, 7);
	for (unsigned k = 0; k < NKEYS * scale; k++)
		hits[pick_key(&b, k)]++;
	for (int i = 0; i < 4; i++) {
		double want = (double)NKEYS * scale * w[i] / 10;
		double err = (hits[i] - want) / want;

		if (err < 0)
			err = -err;
		if (err > worst)
			worst = err;
	}
	rp__balance_fini(&b);
	return worst;
}

/* Statistical tolerances. p2c draws with a PRNG: 200k picks put one sigma at
 * under 0.7% of the lightest backend's share. ringhash: a backend of k
 * points owns a share with relative deviation about 1/sqrt(k); 160 points per
 * unit of weight gives 8% for weight 1, 1000 gives 3.2%. maglev: slots are
 * exactly proportional (to rounding), only key sampling is left. */
static void test_p2c_respects_weights_under_equal_load(void)
{
	double err = weight_error("p2c", NULL, 2);

	printf("\n    p2c weights 1,2,3,4: worst share error %.2f%% (tolerance 3%%) ",
	       100 * err);
	CU_ASSERT(err < 0.03);
}

static void test_p2c_alias_table_is_exact(void)
{
	unsigned w[MAXB];
	struct rp_balancer b;
	struct cluster c;

	/* Weights 1..64 spanning 1..65535, three backends down: the
	 * probability the table gives each up backend must be its weight over
	 * the total, to the table's 2^-32 resolution. */
	for (unsigned i = 0; i < MAXB; i++)
		w[i] = i == 63 ? RP_BALANCE_MAX_WEIGHT : 1 + (i * 37) % 64;
	cluster_make(&c, "p2c", MAXB, w);
	init_ok(&b, &c, 0);
	rp__balance_set_up(&b, 5, false);
	rp__balance_set_up(&b, 40, false);
	rp__balance_set_up(&b, 63, false);
	rp__balance_refresh(&b);
	for (int round = 0; round < 2; round++) {
		double prob[MAXB] = {0}, total = 0;

		for (unsigned k = 0; k < b.nup; k++) {
			double keep = b.u.p2c.keep[k] / 4294967296.0;

			prob[b.up_list[k]] += keep / b.nup;
			prob[b.up_list[b.u.p2c.alias[k]]] += (1 - keep) / b.nup;
			total += b.be[b.up_list[k]].weight;
		}
		for (unsigned i = 0; i < MAXB; i++) {
			double want = b.be[i].up ? b.be[i].weight / total : 0;

			CU_ASSERT_DOUBLE_EQUAL(prob[i], want, 1e-8);
		}
		/* Again with the heaviest up: one weight dwarfing the rest. */
		rp__balance_set_up(&b, 63, true);
		rp__balance_refresh(&b);
	}
	rp__balance_fini(&b);
}

static void test_ringhash_respects_weights(void)
{
	struct rp_balance_config dense = {.ring_vnodes = 1000};
	double err = weight_error("ringhash", NULL, 2);
	double err_dense = weight_error("ringhash", &dense, 2);

	printf("\n    ringhash weights 1,2,3,4: worst share error %.2f%% at 160 "
	       "vnodes (tolerance 20%%), %.2f%% at 1000 (tolerance 8%%) ",
	       100 * err, 100 * err_dense);
	CU_ASSERT(err < 0.20);
	CU_ASSERT(err_dense < 0.08);
}

static void test_maglev_respects_weights(void)
{
	const unsigned w[4] = {1, 2, 3, 4};
	unsigned slots[4] = {0};
	struct rp_balancer b;
	struct cluster c;
	double err = weight_error("maglev", NULL, 2);

	printf("\n    maglev weights 1,2,3,4: worst key share error %.2f%% "
	       "(tolerance 3%%) ",
	       100 * err);
	CU_ASSERT(err < 0.03);

	cluster_make(&c, "maglev", 4, w);
	init_ok(&b, &c, 0);
	for (unsigned s = 0; s < b.u.maglev.size; s++)
		slots[b.u.maglev.table[s]]++;
	/* Slots: within one per round of the exact proportion. */
	for (int i = 0; i < 4; i++) {
		double want = (double)b.u.maglev.size * w[i] / 10;

		CU_ASSERT(slots[i] > want - 4 && slots[i] < want + 4);
	}
	rp__balance_fini(&b);
}

/* ---- load awareness ------------------------------------------------------- */

static void test_leastconn_picks_least_loaded(void)
{
	const unsigned w[6] = {1, 1, 2, 1, 3, 1};
	int held[4096];
	unsigned nheld = 0, rnd = 12345;
	struct rp_balancer b;
	struct cluster c;

	cluster_make(&c, "leastconn", 6, w);
	init_ok(&b, &c, 0);
	/* Random holds and releases; every pick must have been, just before,
	 * a backend of least active/weight. */
	for (unsigned step = 0; step < 20000; step++) {
		rnd = rnd * 1103515245u + 12345u;
		if (nheld && ((rnd >> 16) % 3 == 0 || nheld == 4096)) {
			unsigned k = (rnd >> 8) % nheld;

			rp__balance_release(&b, held[k], false);
			held[k] = held[--nheld];
		} else {
			double min = 1e18, load;
			int i;

			for (unsigned j = 0; j < 6; j++) {
				load = (double)b.be[j].active / b.be[j].weight;
				if (load < min)
					min = load;
			}
			i = rp__balance_pick(&b, NULL);
			CU_ASSERT_FATAL(i >= 0);
			load = (double)(b.be[i].active - 1) / b.be[i].weight;
			CU_ASSERT_FATAL(load <= min + 1e-12);
			held[nheld++] = i;
		}
	}
	while (nheld)
		rp__balance_release(&b, held[--nheld], false);
	for (unsigned j = 0; j < 6; j++)
		CU_ASSERT_EQUAL(b.be[j].active, 0);
	rp__balance_fini(&b);
}

static void test_leastconn_serves_idle_backends_in_turn(void)
{
	unsigned hits[3] = {0};
	struct rp_balancer b;
	struct cluster c;

	cluster_make(&c, "leastconn", 3, NULL);
	init_ok(&b, &c, 0);
	for (unsigned k = 0; k < 300; k++)
		hits[pick_key(&b, k)]++;
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(hits[i], 100);
	rp__balance_fini(&b);
}

static void test_p2c_prefers_less_loaded(void)
{
	/* Loads 5, 0, 9, 3: of the 6 equally likely pairs, backend 1 wins the
	 * 3 it is in, backend 3 two, backend 0 one, backend 2 none. */
	const unsigned load[4] = {5, 0, 9, 3};
	const double want[4] = {1.0 / 6, 3.0 / 6, 0, 2.0 / 6};
	const unsigned picks = 60000;
	unsigned hits[4] = {0};
	struct rp_balancer b;
	struct cluster c;

	cluster_make(&c, "p2c", 4, NULL);
	init_ok(&b, &c, 3);
	for (int i = 0; i < 4; i++)
		b.be[i].active = load[i];
	for (unsigned k = 0; k < picks; k++)
		hits[pick_key(&b, k)]++;
	CU_ASSERT_EQUAL(hits[2], 0);
	for (int i = 0; i < 4; i++)
		CU_ASSERT_DOUBLE_EQUAL((double)hits[i] / picks, want[i], 0.01);
	rp__balance_fini(&b);
}

/* ---- Maglev and ring: balance, disruption, stability ---------------------- */

static void test_maglev_table_is_balanced(void)
{
	const unsigned ns[3] = {10, 64, 63};
	struct rp_balancer b;
	struct cluster c;

	for (int t = 0; t < 3; t++) {
		unsigned slots[MAXB] = {0}, keys[MAXB] = {0}, n = ns[t];
		unsigned smin = ~0u, smax = 0, kmin = ~0u, kmax = 0;

		cluster_make(&c, "maglev", t == 2 ? 64 : n, NULL);
		init_ok(&b, &c, 0);
		if (t == 2) /* 63 of 64: the table rebuilt without one */
			rp__balance_set_up(&b, 17, false);
		for (unsigned k = 0; k < 10 * NKEYS; k++)
			keys[pick_key(&b, k)]++;
		for (unsigned s = 0; s < b.u.maglev.size; s++)
			slots[b.u.maglev.table[s]]++;
		for (unsigned i = 0; i < c.cfg.nbackends; i++) {
			if (!b.be[i].up)
				continue;
			smin = slots[i] < smin ? slots[i] : smin;
			smax = slots[i] > smax ? slots[i] : smax;
			kmin = keys[i] < kmin ? keys[i] : kmin;
			kmax = keys[i] > kmax ? keys[i] : kmax;
		}
		printf("\n    maglev %u backends: slots %u..%u (spread %.3f%%), "
		       "1M keys %u..%u (spread %.2f%%) ",
		       n, smin, smax, 100.0 * (smax - smin) * n / b.u.maglev.size, kmin,
		       kmax, 100.0 * (kmax - kmin) * n / (10 * NKEYS));
		/* Equal weights: every backend gets M/N slots, give or take one. */
		CU_ASSERT(smax - smin <= 1);
		/* Keys: sampling noise only; 3% of the mean covers 4.5 sigma at
		 * 64 backends (mean 15.6k keys, sigma 0.8%). */
		CU_ASSERT((double)(kmax - kmin) * n / (10 * NKEYS) < 0.06);
		rp__balance_fini(&b);
	}
}

struct disruption {
	double moved;	   /* keys that changed backend */
	double moved_kept; /* of the keys whose backend stayed up */
	bool restored;	   /* all back where they were once it is up again */
};

static struct disruption remove_one(const char *algo, unsigned n, int victim)
{
	struct disruption d = {0};
	static int before[NKEYS];
	unsigned moved = 0, moved_kept = 0, kept = 0;
	struct rp_balancer b;
	struct cluster c;

	cluster_make(&c, algo, n, NULL);
	init_ok(&b, &c, 0);
	for (unsigned k = 0; k < NKEYS; k++)
		before[k] = pick_key(&b, k);
	rp__balance_set_up(&b, victim, false);
	for (unsigned k = 0; k < NKEYS; k++) {
		int i = pick_key(&b, k);

		CU_ASSERT_NOT_EQUAL_FATAL(i, victim);
		moved += i != before[k];
		if (before[k] != victim) {
			kept++;
			moved_kept += i != before[k];
		}
	}
	rp__balance_set_up(&b, victim, true);
	d.restored = true;
	for (unsigned k = 0; k < NKEYS; k++)
		if (pick_key(&b, k) != before[k])
			d.restored = false;
	d.moved = (double)moved / NKEYS;
	d.moved_kept = (double)moved_kept / kept;
	rp__balance_fini(&b);
	return d;
}

static void test_maglev_minimal_disruption(void)
{
	const unsigned ns[2] = {10, 64};

	for (int t = 0; t < 2; t++) {
		unsigned n = ns[t];
		struct disruption d = remove_one("maglev", n, 3);

		printf("\n    maglev remove 1 of %u: moved %.2f%% of keys (1/N = "
		       "%.2f%%), %.2f%% of the others' keys ",
		       n, 100 * d.moved, 100.0 / n, 100 * d.moved_kept);
		/* The victim's 1/N must move; Maglev moves a little more. */
		CU_ASSERT(d.moved > 1.0 / n - 0.01 && d.moved < 1.0 / n + 0.02);
		CU_ASSERT(d.moved_kept < 0.02);
		CU_ASSERT(d.restored);
	}
}

static void test_ringhash_minimal_disruption(void)
{
	const unsigned ns[2] = {10, 64};

	for (int t = 0; t < 2; t++) {
		unsigned n = ns[t];
		struct disruption d = remove_one("ringhash", n, 3);

		printf("\n    ringhash remove 1 of %u: moved %.2f%% of keys (1/N = "
		       "%.2f%%), %.2f%% of the others' keys ",
		       n, 100 * d.moved, 100.0 / n, 100 * d.moved_kept);
		/* Only the victim's keys move: its share, 1/N within the ring's
		 * 1/sqrt(160) relative deviation (3 sigma). */
		CU_ASSERT(d.moved > (1.0 / n) * 0.76 && d.moved < (1.0 / n) * 1.24);
		CU_ASSERT_EQUAL(d.moved_kept, 0);
		CU_ASSERT(d.restored);
	}
}

static void test_ringhash_wraps_round(void)
{
	struct rp_balancer b;
	struct cluster c;
	unsigned np, last, want;
	struct rp_pick_key key;

	cluster_make(&c, "ringhash", 4, NULL);
	init_ok(&b, &c, 0);
	np = b.u.ring.npoints;
	last = b.u.ring.owner[np - 1];
	/* Past the last point: the first point's owner. */
	key.hash = UINT64_MAX;
	key.avoid = NULL;
	if (b.u.ring.hash[np - 1] != UINT64_MAX) {
		CU_ASSERT_EQUAL(rp__balance_pick(&b, &key), b.u.ring.owner[0]);
		rp__balance_release(&b, b.u.ring.owner[0], false);
	}
	/* The last point's owner down: its key goes clockwise, round to the
	 * first point of another backend. */
	key.hash = b.u.ring.hash[np - 1];
	rp__balance_set_up(&b, (int)last, false);
	for (want = 0; b.u.ring.owner[want] == last; want++)
		;
	want = b.u.ring.owner[want];
	CU_ASSERT_EQUAL(rp__balance_pick(&b, &key), (int)want);
	rp__balance_release(&b, (int)want, false);
	rp__balance_fini(&b);
}

static void test_hash_picks_stable_across_instances_and_restart(void)
{
	static int first[NKEYS];
	const unsigned w[12] = {1, 2, 3, 4, 1, 1, 2, 5, 1, 1, 1, 3};

	for (int h = 0; h < 2; h++) {
		const char *algo = h ? "maglev" : "ringhash";
		struct rp_balancer r0, r1;
		struct cluster c, rev;
		bool same = true;

		/* Two reactors: other PRNG seeds, same immutable config. */
		cluster_make(&c, algo, 12, w);
		init_ok(&r0, &c, 0);
		init_ok(&r1, &c, 0xdeadbeef);
		rp__balance_set_up(&r0, 5, false);
		rp__balance_set_up(&r1, 5, false);
		for (unsigned k = 0; k < NKEYS; k++) {
			first[k] = pick_key(&r0, k);
			if (pick_key(&r1, k) != first[k])
				same = false;
		}
		CU_ASSERT(same);

		/* A restart: built again from scratch. */
		rp__balance_fini(&r1);
		init_ok(&r1, &c, 1);
		rp__balance_set_up(&r1, 5, false);
		same = true;
		for (unsigned k = 0; k < NKEYS; k++)
			if (pick_key(&r1, k) != first[k])
				same = false;
		CU_ASSERT(same);
		rp__balance_fini(&r1);

		/* The config written in the reverse order: same backend ids. */
		cluster_make(&rev, algo, 12, NULL);
		for (unsigned i = 0; i < 12; i++)
			rev.be[i] = c.be[11 - i];
		init_ok(&r1, &rev, 0);
		rp__balance_set_up(&r1, 11 - 5, false);
		same = true;
		for (unsigned k = 0; k < NKEYS; k++)
			if (c.be[first[k]].id != rev.be[pick_key(&r1, k)].id)
				same = false;
		CU_ASSERT(same);
		rp__balance_fini(&r1);
		rp__balance_fini(&r0);
	}
}

static void test_hash_picks_pinned(void)
{
	/* Backends "10.0.0.1:80".."10.0.0.8:80", clients "client-0".."client-7"
	 * by rp__hash_bytes(). A change here moves clients across a restart. */
	static const int want_ring[8] = {2, 7, 6, 0, 0, 6, 6, 2};
	static const int want_maglev[8] = {7, 4, 4, 3, 1, 7, 7, 7};

	for (int h = 0; h < 2; h++) {
		struct rp_balancer b;
		struct cluster c;

		cluster_make(&c, h ? "maglev" : "ringhash", 8, NULL);
		init_ok(&b, &c, 0);
		for (unsigned k = 0; k < 8; k++) {
			char name[16];
			int len = snprintf(name, sizeof(name), "client-%u", k);
			struct rp_pick_key key = {
				.hash = rp__hash_bytes(name, (size_t)len)};
			int i = rp__balance_pick(&b, &key);

			CU_ASSERT_EQUAL(i, h ? want_maglev[k] : want_ring[k]);
			rp__balance_release(&b, i, false);
		}
		rp__balance_fini(&b);
	}
}

/* ---- rules every algorithm keeps ------------------------------------------ */

static void test_balance_all_down_gives_none(void)
{
	for (size_t a = 0; a < NALGOS; a++) {
		struct rp_balancer b;
		struct cluster c;

		cluster_make(&c, algos[a], 4, NULL);
		init_ok(&b, &c, 0);
		for (int i = 0; i < 4; i++)
			rp__balance_set_up(&b, i, false);
		for (unsigned k = 0; k < 100; k++)
			CU_ASSERT_EQUAL(pick_key(&b, k), -1);
		CU_ASSERT_EQUAL(rp__balance_pick(&b, NULL), -1);
		rp__balance_set_up(&b, 2, true);
		for (unsigned k = 0; k < 100; k++)
			CU_ASSERT_EQUAL(pick_key(&b, k), 2);
		rp__balance_fini(&b);
	}
}

static void test_balance_down_never_picked_up_again_eligible(void)
{
	const unsigned w[8] = {1, 2, 3, 4, 4, 3, 2, 1};

	for (size_t a = 0; a < NALGOS; a++) {
		unsigned hits[8] = {0};
		struct rp_balancer b;
		struct cluster c;

		cluster_make(&c, algos[a], 8, w);
		init_ok(&b, &c, 0);
		rp__balance_set_up(&b, 2, false);
		rp__balance_set_up(&b, 5, false);
		rp__balance_set_up(&b, 5, false); /* twice: no harm */
		for (unsigned k = 0; k < 20000; k++)
			hits[pick_key(&b, k)]++;
		CU_ASSERT_EQUAL(hits[2], 0);
		CU_ASSERT_EQUAL(hits[5], 0);
		for (int i = 0; i < 8; i++)
			if (i != 2 && i != 5)
				CU_ASSERT(hits[i] > 0);

		rp__balance_set_up(&b, 2, true);
		rp__balance_set_up(&b, 5, true);
		rp__balance_refresh(&b);
		memset(hits, 0, sizeof(hits));
		for (unsigned k = 0; k < 20000; k++)
			hits[pick_key(&b, k)]++;
		/* Weights 3: at least a quarter of their fair 15%. */
		CU_ASSERT(hits[2] > 20000 / 30);
		CU_ASSERT(hits[5] > 20000 / 30);
		rp__balance_fini(&b);
	}
}

static void test_balance_avoid_skips_tried(void)
{
	for (size_t a = 0; a < NALGOS; a++) {
		struct rp_balancer b;
		struct cluster c;

		cluster_make(&c, algos[a], 8, NULL);
		init_ok(&b, &c, 0);
		rp__balance_set_up(&b, 6, false);
		for (unsigned k = 0; k < 200; k++) {
			/* A retry loop: each attempt on a backend not yet tried,
			 * until the 7 up ones are exhausted. */
			uint64_t tried = 0;
			struct rp_pick_key key = {.hash = key_hash(k), .avoid = &tried};
			int i;

			for (int attempt = 0; attempt < 7; attempt++) {
				i = rp__balance_pick(&b, &key);
				CU_ASSERT_FATAL(i >= 0 && i != 6);
				CU_ASSERT_FATAL(!((tried >> i) & 1));
				tried |= 1ull << i;
				rp__balance_release(&b, i, true);
			}
			CU_ASSERT_EQUAL(rp__balance_pick(&b, &key), -1);
		}
		for (int i = 0; i < 8; i++)
			CU_ASSERT_EQUAL(b.be[i].active, 0);
		rp__balance_fini(&b);
	}
}

static void test_balance_release_balances_pick(void)
{
	for (size_t a = 0; a < NALGOS; a++) {
		struct rp_balancer b;
		struct cluster c;
		int held[40];

		cluster_make(&c, algos[a], 4, NULL);
		init_ok(&b, &c, 0);
		for (unsigned k = 0; k < 40; k++) {
			struct rp_pick_key key = {.hash = key_hash(k)};

			held[k] = rp__balance_pick(&b, &key);
			CU_ASSERT_FATAL(held[k] >= 0);
		}
		CU_ASSERT_EQUAL(b.be[0].active + b.be[1].active + b.be[2].active +
					b.be[3].active,
				40);
		for (unsigned k = 0; k < 40; k++)
			rp__balance_release(&b, held[k], false);
		/* An extra release does not wrap the count round. */
		rp__balance_release(&b, 0, false);
		for (int i = 0; i < 4; i++)
			CU_ASSERT_EQUAL(b.be[i].active, 0);
		rp__balance_fini(&b);
		rp__balance_fini(&b); /* a second fini is harmless */
	}
}

/* ---- slow start ----------------------------------------------------------- */

static void test_wrr_ramp_scales_share_exactly(void)
{
	unsigned hits[2] = {0};
	struct rp_balancer b;
	struct cluster c;

	cluster_make(&c, "wrr", 2, NULL);
	init_ok(&b, &c, 0);
	rp__balance_set_ramp(&b, 1, RP_BALANCE_RAMP_ONE / 4);
	/* Weights 1024 : 256 in effect: every 1280 picks, exactly that. */
	for (unsigned k = 0; k < 1280 * 10; k++) {
		hits[pick_key(&b, k)]++;
		if (k % 1280 == 1279) {
			CU_ASSERT_EQUAL(hits[0], (k + 1) / 1280 * 1024);
			CU_ASSERT_EQUAL(hits[1], (k + 1) / 1280 * 256);
		}
	}
	/* Back to the full share: equal again. */
	rp__balance_set_ramp(&b, 1, RP_BALANCE_RAMP_ONE);
	memset(hits, 0, sizeof(hits));
	for (unsigned k = 0; k < 1000; k++)
		hits[pick_key(&b, k)]++;
	CU_ASSERT(hits[0] >= 499 && hits[0] <= 501);
	rp__balance_fini(&b);
}

static void test_p2c_ramp_scales_alias_table(void)
{
	const unsigned w[3] = {1, 3, 2};
	const unsigned ramp[3] = {RP_BALANCE_RAMP_ONE, 103, 512};
	double prob[3] = {0}, total = 0;
	struct rp_balancer b;
	struct cluster c;

	cluster_make(&c, "p2c", 3, w);
	init_ok(&b, &c, 0);
	for (int i = 0; i < 3; i++)
		rp__balance_set_ramp(&b, i, ramp[i]);
	CU_ASSERT(b.dirty); /* the table holds the weights: rebuilt */
	rp__balance_refresh(&b);
	for (unsigned k = 0; k < b.nup; k++) {
		double keep = b.u.p2c.keep[k] / 4294967296.0;

		prob[b.up_list[k]] += keep / b.nup;
		prob[b.up_list[b.u.p2c.alias[k]]] += (1 - keep) / b.nup;
	}
	for (int i = 0; i < 3; i++)
		total += (double)w[i] * ramp[i];
	for (int i = 0; i < 3; i++)
		CU_ASSERT_DOUBLE_EQUAL(prob[i], w[i] * ramp[i] / total, 1e-8);
	rp__balance_fini(&b);
}

static void test_leastconn_ramp_counts_as_load(void)
{
	struct rp_balancer b;
	struct cluster c;

	cluster_make(&c, "leastconn", 2, NULL);
	init_ok(&b, &c, 0);
	rp__balance_set_ramp(&b, 1, RP_BALANCE_RAMP_ONE / 2);
	/* Held picks: backend 1 at half its weight carries half the load. */
	for (unsigned k = 0; k < 300; k++)
		CU_ASSERT_FATAL(rp__balance_pick(&b, NULL) >= 0);
	CU_ASSERT(b.be[0].active >= 199 && b.be[0].active <= 201);
	CU_ASSERT(b.be[1].active >= 99 && b.be[1].active <= 101);
	rp__balance_fini(&b);
}

static void test_roundrobin_ramp_skips_turns(void)
{
	const unsigned picks = 200000;
	unsigned hits[2] = {0};
	struct rp_balancer b;
	struct cluster c;

	cluster_make(&c, "roundrobin", 2, NULL);
	init_ok(&b, &c, 5);
	rp__balance_set_ramp(&b, 1, RP_BALANCE_RAMP_ONE / 4);
	CU_ASSERT(!b.dirty); /* read at each pick: nothing to rebuild */
	for (unsigned k = 0; k < picks; k++)
		hits[pick_key(&b, k)]++;
	/* A quarter of backend 0's picks: 1 : 0.25 of the total. */
	CU_ASSERT_DOUBLE_EQUAL((double)hits[1] / picks, 0.2, 0.01);
	/* Alone, a ramping backend takes every pick. */
	rp__balance_set_up(&b, 0, false);
	for (unsigned k = 0; k < 100; k++)
		CU_ASSERT_EQUAL(pick_key(&b, k), 1);
	rp__balance_fini(&b);
}

static void test_hash_balancers_ignore_ramp(void)
{
	static const char *const hashed[] = {"ringhash", "maglev"};

	for (int a = 0; a < 2; a++) {
		static int before[2000];
		struct rp_balancer b;
		struct cluster c;

		cluster_make(&c, hashed[a], 8, NULL);
		init_ok(&b, &c, 0);
		for (unsigned k = 0; k < 2000; k++)
			before[k] = pick_key(&b, k);
		rp__balance_set_ramp(&b, 3, 1);
		CU_ASSERT(!b.dirty);
		for (unsigned k = 0; k < 2000; k++)
			CU_ASSERT_EQUAL(pick_key(&b, k), before[k]);
		rp__balance_fini(&b);
	}
}

static void test_balance_ramp_clamped(void)
{
	struct rp_balancer b;
	struct cluster c;

	cluster_make(&c, "wrr", 2, NULL);
	init_ok(&b, &c, 0);
	CU_ASSERT_EQUAL(b.be[0].ramp, RP_BALANCE_RAMP_ONE);
	rp__balance_set_ramp(&b, 0, 0);
	CU_ASSERT_EQUAL(b.be[0].ramp, 1);
	rp__balance_set_ramp(&b, 0, 5 * RP_BALANCE_RAMP_ONE);
	CU_ASSERT_EQUAL(b.be[0].ramp, RP_BALANCE_RAMP_ONE);
	rp__balance_fini(&b);
}

static const struct rp_unit_test tests[] = {
	RP_TEST(test_hash_pinned_values),
	RP_TEST(test_hash_sockaddr_uses_ip_only),
	RP_TEST(test_balance_ops_find_by_name),
	RP_TEST(test_balance_init_rejects_bad_config),
	RP_TEST(test_roundrobin_is_exact),
	RP_TEST(test_wrr_sequence_is_smooth),
	RP_TEST(test_wrr_respects_weights_exactly),
	RP_TEST(test_p2c_respects_weights_under_equal_load),
	RP_TEST(test_p2c_alias_table_is_exact),
	RP_TEST(test_ringhash_respects_weights),
	RP_TEST(test_maglev_respects_weights),
	RP_TEST(test_leastconn_picks_least_loaded),
	RP_TEST(test_leastconn_serves_idle_backends_in_turn),
	RP_TEST(test_p2c_prefers_less_loaded),
	RP_TEST(test_maglev_table_is_balanced),
	RP_TEST(test_maglev_minimal_disruption),
	RP_TEST(test_ringhash_minimal_disruption),
	RP_TEST(test_ringhash_wraps_round),
	RP_TEST(test_hash_picks_stable_across_instances_and_restart),
	RP_TEST(test_hash_picks_pinned),
	RP_TEST(test_balance_all_down_gives_none),
	RP_TEST(test_balance_down_never_picked_up_again_eligible),
	RP_TEST(test_balance_avoid_skips_tried),
	RP_TEST(test_balance_release_balances_pick),
	RP_TEST(test_wrr_ramp_scales_share_exactly),
	RP_TEST(test_p2c_ramp_scales_alias_table),
	RP_TEST(test_leastconn_ramp_counts_as_load),
	RP_TEST(test_roundrobin_ramp_skips_turns),
	RP_TEST(test_hash_balancers_ignore_ramp),
	RP_TEST(test_balance_ramp_clamped),
};
RP_UNIT_MAIN("balance", tests)

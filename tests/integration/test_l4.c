/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Layer-4 integration tests: the real ringproxy binary (path in argv[1])
 * between a client driven here and a backend server thread (support.c), on
 * loopback only. Each test starts its own ringproxy and backend and frees
 * them on every path; the suite teardown kills whatever a failed test left.
 * Sizes scale with RP_TEST_BULK_MB and RP_TEST_CONNS so the sanitizer pass
 * can run smaller loads; every loop is bounded in count and in time.
 */
#define _GNU_SOURCE
#include "support.h"
#include "unit.h"

#include "proxyproto/proxyproto.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef RP_TEST_BULK_MB_DEFAULT
#define RP_TEST_BULK_MB_DEFAULT 256
#endif

#define MIB		 (1024ULL * 1024)
#define START_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS	 10000
#define MAX_REACTORS	 64

static const char *g_bin;
static unsigned g_fail_at_setup;

/*
 * CU_ASSERT that also leaves the test (to its cleanup label "out") when the
 * condition fails, for preconditions whose failure makes the rest moot.
 * CU_ASSERT_FATAL would longjmp past the cleanup.
 */
#define REQUIRE(cond)                                                                    \
	do {                                                                             \
		int ok_ = !!(cond);                                                      \
		CU_assertImplementation(ok_ ? CU_TRUE : CU_FALSE, __LINE__,              \
					"REQUIRE(" #cond ")", __FILE__, "", CU_FALSE);   \
		if (!ok_)                                                                \
			goto out;                                                        \
	} while (0)

static bool test_failed(void)
{
	return CU_get_number_of_failures() > g_fail_at_setup;
}

static void setup(void)
{
	g_fail_at_setup = CU_get_number_of_failures();
}

static void teardown(void)
{
	rpt_cleanup_all(test_failed());
}

static int af_v6_or_v4(void)
{
	static int fam;

	if (!fam) {
		fam = rpt_have_ipv6() ? AF_INET6 : AF_INET;
		if (fam == AF_INET)
			printf("\n  note: no ::1 here, IPv6 cases run on 127.0.0.1\n");
	}
	return fam;
}

/*
 * Starts ringproxy with the NULL-terminated arguments after @nofile (its
 * RLIMIT_NOFILE, 0 to inherit) and waits for its "listening on" line.
 */
static struct rpt_proc *proxy_start(long nofile, ...)
{
	const char *argv[64];
	struct rpt_proc *p;
	const char *a;
	va_list ap;
	int n = 0, ret;

	argv[n++] = g_bin;
	va_start(ap, nofile);
	while (n < 63 && (a = va_arg(ap, const char *)))
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;

	p = rpt_proc_spawn(argv, nofile);
	if (!p) {
		printf("\n  spawn %s: %s\n", g_bin, strerror(errno));
		return NULL;
	}
	ret = rpt_proc_wait_output(p, "listening on", START_TIMEOUT_MS);
	if (ret < 0) {
		printf("\n  ringproxy did not start: %s\n",
		       ret == -ECHILD ? "it exited" : "no \"listening on\" line");
		rpt_proc_free(p, true);
		return NULL;
	}
	return p;
}

/*
 * SIGTERM, wait for the exit (SIGKILL after @timeout_ms), parse the stats
 * lines. Returns how many lines were parsed, or -ETIMEDOUT.
 */
static int proxy_stop(struct rpt_proc *p, int timeout_ms, struct rpt_stats *st)
{
	int ret = rpt_proc_stop(p, SIGTERM, timeout_ms);
	char *out;
	int n;

	if (ret < 0)
		printf("\n  ringproxy did not exit within %d ms after SIGTERM\n",
		       timeout_ms);
	out = rpt_proc_output(p);
	n = out ? rpt_stats_parse(out, st, MAX_REACTORS) : 0;
	free(out);
	return ret < 0 ? ret : n;
}

static long long stat_sum(const struct rpt_stats *st, int n, const char *key)
{
	long long v = rpt_stats_sum(st, n, key);

	if (v < 0)
		printf("\n  stats lack key %s\n", key);
	return v;
}

/*
 * Runs the pump to the end, in slices, so a stalled tunnel fails after
 * @stall_ms without progress rather than at the overall @deadline.
 */
static int pump_to_end(struct rpt_pump *pm, int fd, int64_t deadline, int stall_ms)
{
	uint64_t last = pm->rx_done + pm->tx_done;
	int64_t last_t = rpt_now_ms();

	for (;;) {
		int64_t now = rpt_now_ms();
		int64_t slice = now + 500 < deadline ? now + 500 : deadline;
		int ret = rpt_pump_run(pm, fd, UINT64_MAX, slice);

		if (ret != -ETIMEDOUT)
			return ret;
		now = rpt_now_ms();
		if (pm->rx_done + pm->tx_done != last) {
			last = pm->rx_done + pm->tx_done;
			last_t = now;
		} else if (now - last_t >= stall_ms || now >= deadline) {
			printf("\n  transfer stalled: sent %llu of %llu, received %llu, "
			       "eof %d\n",
			       (unsigned long long)pm->tx_done,
			       (unsigned long long)pm->tx_total,
			       (unsigned long long)pm->rx_done, pm->rx_eof);
			return -ETIMEDOUT;
		}
		if (now >= deadline)
			return -ETIMEDOUT;
	}
}

static void report_corruption(const char *dir, uint64_t bad_off)
{
	if (bad_off != UINT64_MAX)
		printf("\n  %s: first corrupted byte at offset %llu (0x%llx)\n", dir,
		       (unsigned long long)bad_off, (unsigned long long)bad_off);
}

static void print_echo_report(const char *what, const struct rpt_echo_report *r)
{
	printf("\n  %s: ok %u, connect failed %u, reset %u, short eof %u, mismatch %u, "
	       "timed out %u, %llu bytes, %lld ms\n",
	       what, r->ok, r->connect_failed, r->reset, r->short_eof, r->mismatch,
	       r->timed_out, (unsigned long long)r->bytes, (long long)r->elapsed_ms);
}

/* ---- 1. bulk, both directions at once, per tunnel strategy -------------- */

/* @max_pipes: NULL, or a --max-pipes value; *@fallbacks_out (if given)
 * gets the splice_fallbacks counter. */
static void bulk_one(const char *tunnel, const char *max_pipes, long long *fallbacks_out)
{
	uint64_t size =
		(uint64_t)rpt_env_long("RP_TEST_BULK_MB", RP_TEST_BULK_MB_DEFAULT) * MIB;
	uint64_t up_seed = 0x75701234, down_seed = 0xd0a41234 ^ (uint64_t)strlen(tunnel);
	struct rpt_backend_cfg cfg = {
		.mode = RPT_BACKEND_SOURCE,
		.family = AF_INET,
		.source_bytes = size,
		.seed = down_seed,
		.check_rx = true,
		.rx_seed = up_seed,
	};
	struct rpt_stats st[MAX_REACTORS];
	struct rpt_backend *be = NULL;
	struct rpt_proc *p = NULL;
	struct rpt_conn_result res;
	struct rpt_pump pm;
	bool pumping = false;
	uint8_t tx_sha[RPT_SHA_LEN], rx_sha[RPT_SHA_LEN];
	char la[64], ba[64], key_up[32], key_down[32];
	long long up, down, s_up = 0, s_down = 0, fallbacks = 0;
	int fd = -1, port, ret, nst;
	int64_t t0, ms;

	be = rpt_backend_start(&cfg);
	REQUIRE(be);
	port = rpt_free_port(AF_INET);
	REQUIRE(port > 0);
	p = proxy_start(0, "--listen", rpt_addr_str(la, sizeof(la), AF_INET, port),
			"--to",
			rpt_addr_str(ba, sizeof(ba), AF_INET, rpt_backend_port(be)),
			"--tunnel", tunnel, "--reactors", "1",
			max_pipes ? "--max-pipes" : NULL, max_pipes, NULL);
	REQUIRE(p);

	fd = rpt_connect(AF_INET, port, false);
	REQUIRE(fd >= 0);
	rpt_pump_init(&pm, up_seed, size, true);
	rpt_pump_expect(&pm, down_seed);
	pumping = true;
	t0 = rpt_now_ms();
	ret = pump_to_end(&pm, fd, t0 + 120000, 10000);
	ms = rpt_now_ms() - t0;
	rpt_pump_finish(&pm, tx_sha, rx_sha);
	pumping = false;
	printf("\n  tunnel %s: %llu MiB each way in %lld ms (%.0f MiB/s each way)\n",
	       tunnel, (unsigned long long)(size / MIB), (long long)ms,
	       ms ? (double)size / MIB * 1000.0 / (double)ms : 0.0);
	if (ret)
		printf("  transfer ended early: %s\n", strerror(-ret));
	CU_ASSERT_EQUAL(ret, 0);
	CU_ASSERT_EQUAL(pm.tx_done, size);
	CU_ASSERT_EQUAL(pm.rx_done, size);
	CU_ASSERT(pm.rx_eof);
	report_corruption("backend -> client", pm.rx_bad_off);
	CU_ASSERT_EQUAL(pm.rx_bad_off, UINT64_MAX);

	REQUIRE(rpt_backend_wait_results(be, 1, 10000) >= 1);
	REQUIRE(rpt_backend_result(be, 0, &res) == 0);
	report_corruption("client -> backend", res.rx_bad_off);
	CU_ASSERT_EQUAL(res.rx_bad_off, UINT64_MAX);
	CU_ASSERT_EQUAL(res.error, 0);
	CU_ASSERT(res.rx_eof);
	CU_ASSERT_EQUAL(res.rx_bytes, size);
	CU_ASSERT_EQUAL(res.tx_bytes, size);
	/* client -> backend and backend -> client, end to end */
	CU_ASSERT(memcmp(res.rx_sha, tx_sha, RPT_SHA_LEN) == 0);
	CU_ASSERT(memcmp(res.tx_sha, rx_sha, RPT_SHA_LEN) == 0);
	close(fd);
	fd = -1;

	nst = proxy_stop(p, STOP_TIMEOUT_MS, st);
	CU_ASSERT(rpt_proc_exited_with(p, 0));
	REQUIRE(nst == 1);
	up = rpt_stats_sum_prefix(st, nst, "up_");
	down = rpt_stats_sum_prefix(st, nst, "down_");
	CU_ASSERT_EQUAL(up, (long long)size);
	CU_ASSERT_EQUAL(down, (long long)size);
	rpt_stats_get(&st[0], "splice_fallbacks", &fallbacks);
	if (fallbacks_out)
		*fallbacks_out = fallbacks;
	if (strcmp(tunnel, "auto")) {
		/* a forced strategy carries the bytes itself unless it fell back */
		snprintf(key_up, sizeof(key_up), "up_%s", tunnel);
		snprintf(key_down, sizeof(key_down), "down_%s", tunnel);
		CU_ASSERT(rpt_stats_get(&st[0], key_up, &s_up) == 0);
		CU_ASSERT(rpt_stats_get(&st[0], key_down, &s_down) == 0);
		if (!fallbacks) {
			CU_ASSERT_EQUAL(s_up, (long long)size);
			CU_ASSERT_EQUAL(s_down, (long long)size);
		}
		printf("  stats: %s=%lld %s=%lld splice_fallbacks=%lld\n", key_up, s_up,
		       key_down, s_down, fallbacks);
	} else {
		/* auto starts on copy and moves bulk streams to splice */
		rpt_stats_get(&st[0], "up_splice", &s_up);
		rpt_stats_get(&st[0], "down_splice", &s_down);
		printf("  stats: up_splice=%lld down_splice=%lld splice_fallbacks=%lld\n",
		       s_up, s_down, fallbacks);
		if (size >= 16 * MIB && !fallbacks)
			CU_ASSERT(s_up > 0 && s_down > 0);
	}
out:
	if (pumping)
		rpt_pump_finish(&pm, tx_sha, rx_sha);
	if (fd >= 0)
		close(fd);
	rpt_proc_free(p, test_failed());
	rpt_backend_stop(be);
}

static void test_l4_bulk_splice(void)
{
	bulk_one("splice", NULL, NULL);
}

static void test_l4_bulk_ring_splice(void)
{
	bulk_one("ring-splice", NULL, NULL);
}

static void test_l4_bulk_copy(void)
{
	bulk_one("copy", NULL, NULL);
}

static void test_l4_bulk_auto(void)
{
	bulk_one("auto", NULL, NULL);
}

/* ---- 2. many concurrent connections ------------------------------------- */

static void test_l4_concurrent_echo(void)
{
	unsigned n = (unsigned)rpt_env_long("RP_TEST_CONNS", 1000);
	struct rpt_backend_cfg cfg = {.mode = RPT_BACKEND_ECHO, .family = AF_INET};
	struct rpt_stats st[MAX_REACTORS];
	struct rpt_backend *be = NULL;
	struct rpt_proc *p = NULL;
	struct rpt_echo_report r;
	struct rpt_echo_opts o;
	char la[64], ba[64];
	long need = 2L * n + 256, lim;
	int port, nst;

	/* the client and the backend both live in this process */
	lim = rpt_raise_nofile(need);
	if (lim < need)
		printf("\n  RLIMIT_NOFILE %ld < %ld needed for %u connections\n", lim,
		       need, n);
	REQUIRE(lim >= need);
	be = rpt_backend_start(&cfg);
	REQUIRE(be);
	port = rpt_free_port(AF_INET);
	REQUIRE(port > 0);
	p = proxy_start(
		0, "--listen", rpt_addr_str(la, sizeof(la), AF_INET, port), "--to",
		rpt_addr_str(ba, sizeof(ba), AF_INET, rpt_backend_port(be)), NULL);
	REQUIRE(p);

	o = (struct rpt_echo_opts){
		.family = AF_INET,
		.port = port,
		.nconns = n,
		.min_len = 4096,
		.max_len = 32768,
		.seed = 0xc0cc0,
		.timeout_ms = 60000,
	};
	REQUIRE(rpt_echo_many(&o, &r) == 0);
	print_echo_report("echo", &r);
	CU_ASSERT_EQUAL(r.ok, n);
	CU_ASSERT_EQUAL(r.connect_failed, 0);
	CU_ASSERT_EQUAL(r.reset, 0);
	CU_ASSERT_EQUAL(r.short_eof, 0);
	CU_ASSERT_EQUAL(r.mismatch, 0);
	CU_ASSERT_EQUAL(r.timed_out, 0);
	CU_ASSERT_EQUAL(rpt_backend_accepted(be), n);
	/* every backend connection must be closed once the clients are gone */
	CU_ASSERT_EQUAL(rpt_backend_wait_results(be, n, 10000), n);

	nst = proxy_stop(p, STOP_TIMEOUT_MS, st);
	CU_ASSERT(rpt_proc_exited_with(p, 0));
	REQUIRE(nst > 0);
	CU_ASSERT_EQUAL(stat_sum(st, nst, "accepted"), n);
	CU_ASSERT_EQUAL(stat_sum(st, nst, "closed"), n);
	CU_ASSERT_EQUAL(stat_sum(st, nst, "active"), 0);
	CU_ASSERT_EQUAL(rpt_stats_sum_prefix(st, nst, "up_"), (long long)r.bytes);
	CU_ASSERT_EQUAL(rpt_stats_sum_prefix(st, nst, "down_"), (long long)r.bytes);
out:
	rpt_proc_free(p, test_failed());
	rpt_backend_stop(be);
}

/* ---- 3. half-close ------------------------------------------------------ */

/*
 * The client sends, then shutdown(SHUT_WR); the backend answers only after
 * that EOF reached it, so the answer must still flow to the client, and
 * then the client must see EOF. Over IPv6.
 */
static void test_l4_half_close_client_first(void)
{
	const uint64_t tx = 200 * 1024 + 7, reply = MIB + 123, seed = 0x4a1f;
	int fam = af_v6_or_v4();
	struct rpt_backend_cfg cfg = {
		.mode = RPT_BACKEND_SINK,
		.family = fam,
		.reply_bytes = reply,
		.seed = seed,
		.check_rx = true,
		.rx_seed = 0x5e4d,
	};
	struct rpt_stats st[MAX_REACTORS];
	uint8_t tx_sha[RPT_SHA_LEN], rx_sha[RPT_SHA_LEN], want[RPT_SHA_LEN];
	struct rpt_backend *be = NULL;
	struct rpt_proc *p = NULL;
	struct rpt_conn_result res;
	struct rpt_pump pm;
	char la[64], ba[64];
	int fd = -1, port, ret;

	be = rpt_backend_start(&cfg);
	REQUIRE(be);
	port = rpt_free_port(fam);
	REQUIRE(port > 0);
	p = proxy_start(0, "--listen", rpt_addr_str(la, sizeof(la), fam, port), "--to",
			rpt_addr_str(ba, sizeof(ba), fam, rpt_backend_port(be)),
			"--reactors", "1", NULL);
	REQUIRE(p);
	fd = rpt_connect(fam, port, false);
	REQUIRE(fd >= 0);

	rpt_pump_init(&pm, 0x5e4d, tx, true);
	rpt_pump_expect(&pm, seed);
	ret = pump_to_end(&pm, fd, rpt_now_ms() + 20000, 5000);
	rpt_pump_finish(&pm, tx_sha, rx_sha);
	CU_ASSERT_EQUAL(ret, 0);
	CU_ASSERT(pm.tx_shut);
	CU_ASSERT(pm.rx_eof);
	CU_ASSERT_EQUAL(pm.rx_done, reply);
	CU_ASSERT_EQUAL(pm.rx_bad_off, UINT64_MAX);
	rpt_stream_sha(seed, reply, want);
	CU_ASSERT(memcmp(rx_sha, want, RPT_SHA_LEN) == 0);

	REQUIRE(rpt_backend_wait_results(be, 1, 5000) >= 1);
	REQUIRE(rpt_backend_result(be, 0, &res) == 0);
	CU_ASSERT_EQUAL(res.error, 0);
	CU_ASSERT(res.rx_eof);
	CU_ASSERT_EQUAL(res.rx_bytes, tx);
	CU_ASSERT_EQUAL(res.rx_bad_off, UINT64_MAX);
	CU_ASSERT(memcmp(res.rx_sha, tx_sha, RPT_SHA_LEN) == 0);
	CU_ASSERT_EQUAL(res.tx_bytes, reply);

	close(fd);
	fd = -1;
	proxy_stop(p, STOP_TIMEOUT_MS, st);
	CU_ASSERT(rpt_proc_exited_with(p, 0));
out:
	if (fd >= 0)
		close(fd);
	rpt_proc_free(p, test_failed());
	rpt_backend_stop(be);
}

/*
 * The other direction: the backend sends and shuts its write side first;
 * the client reads to EOF and only then sends, which must still reach the
 * backend in full.
 */
static void test_l4_half_close_backend_first(void)
{
	const uint64_t down = 100 * 1024 + 3, up = MIB + 5, seed = 0xbac4;
	struct rpt_backend_cfg cfg = {
		.mode = RPT_BACKEND_SOURCE,
		.family = AF_INET,
		.source_bytes = down,
		.seed = seed,
		.check_rx = true,
		.rx_seed = 0x9a2b,
	};
	struct rpt_stats st[MAX_REACTORS];
	uint8_t tx_sha[RPT_SHA_LEN], rx_sha[RPT_SHA_LEN], want[RPT_SHA_LEN];
	struct rpt_backend *be = NULL;
	struct rpt_proc *p = NULL;
	struct rpt_conn_result res;
	struct rpt_pump pm;
	char la[64], ba[64];
	int fd = -1, port, ret;

	be = rpt_backend_start(&cfg);
	REQUIRE(be);
	port = rpt_free_port(AF_INET);
	REQUIRE(port > 0);
	p = proxy_start(0, "--listen", rpt_addr_str(la, sizeof(la), AF_INET, port),
			"--to",
			rpt_addr_str(ba, sizeof(ba), AF_INET, rpt_backend_port(be)),
			"--reactors", "1", NULL);
	REQUIRE(p);
	fd = rpt_connect(AF_INET, port, false);
	REQUIRE(fd >= 0);

	/* phase 1: read the backend's data and its EOF, send nothing */
	rpt_pump_init(&pm, 0, 0, false);
	rpt_pump_expect(&pm, seed);
	ret = pump_to_end(&pm, fd, rpt_now_ms() + 20000, 5000);
	rpt_pump_finish(&pm, tx_sha, rx_sha);
	CU_ASSERT_EQUAL(ret, 0);
	CU_ASSERT(pm.rx_eof);
	CU_ASSERT_EQUAL(pm.rx_done, down);
	CU_ASSERT_EQUAL(pm.rx_bad_off, UINT64_MAX);
	rpt_stream_sha(seed, down, want);
	CU_ASSERT(memcmp(rx_sha, want, RPT_SHA_LEN) == 0);
	REQUIRE(ret == 0);

	/* phase 2: now send; the backend is still reading */
	rpt_pump_init(&pm, 0x9a2b, up, true);
	ret = pump_to_end(&pm, fd, rpt_now_ms() + 20000, 5000);
	rpt_pump_finish(&pm, tx_sha, rx_sha);
	CU_ASSERT_EQUAL(ret, 0);
	CU_ASSERT_EQUAL(pm.tx_done, up);
	CU_ASSERT_EQUAL(pm.rx_done, 0);

	REQUIRE(rpt_backend_wait_results(be, 1, 5000) >= 1);
	REQUIRE(rpt_backend_result(be, 0, &res) == 0);
	CU_ASSERT_EQUAL(res.error, 0);
	CU_ASSERT(res.rx_eof);
	CU_ASSERT_EQUAL(res.tx_bytes, down);
	CU_ASSERT_EQUAL(res.rx_bytes, up);
	CU_ASSERT_EQUAL(res.rx_bad_off, UINT64_MAX);
	CU_ASSERT(memcmp(res.rx_sha, tx_sha, RPT_SHA_LEN) == 0);

	close(fd);
	fd = -1;
	proxy_stop(p, STOP_TIMEOUT_MS, st);
	CU_ASSERT(rpt_proc_exited_with(p, 0));
out:
	if (fd >= 0)
		close(fd);
	rpt_proc_free(p, test_failed());
	rpt_backend_stop(be);
}

/* ---- 4. dead backends and connect timeouts ------------------------------ */

/* Listener on ::1, a dead IPv4 backend and a live IPv6 one. */
static void test_l4_one_backend_dead(void)
{
	const unsigned n = 64;
	int fam = af_v6_or_v4();
	struct rpt_backend_cfg cfg = {.mode = RPT_BACKEND_ECHO, .family = fam};
	struct rpt_stats st[MAX_REACTORS];
	struct rpt_backend *be = NULL;
	struct rpt_proc *p = NULL;
	struct rpt_echo_report r;
	struct rpt_echo_opts o;
	char la[64], da[64], ba[64];
	int port, dead, nst;

	be = rpt_backend_start(&cfg);
	REQUIRE(be);
	port = rpt_free_port(fam);
	dead = rpt_free_port(AF_INET);
	REQUIRE(port > 0 && dead > 0);
	p = proxy_start(0, "--listen", rpt_addr_str(la, sizeof(la), fam, port), "--to",
			rpt_addr_str(da, sizeof(da), AF_INET, dead), "--to",
			rpt_addr_str(ba, sizeof(ba), fam, rpt_backend_port(be)),
			"--reactors", "1", NULL);
	REQUIRE(p);

	o = (struct rpt_echo_opts){
		.family = fam,
		.port = port,
		.nconns = n,
		.min_len = 1024,
		.max_len = 8192,
		.seed = 0xdead1,
		.timeout_ms = 20000,
	};
	REQUIRE(rpt_echo_many(&o, &r) == 0);
	print_echo_report("one dead", &r);
	CU_ASSERT_EQUAL(r.ok, n);
	CU_ASSERT_EQUAL(rpt_backend_accepted(be), n);

	nst = proxy_stop(p, STOP_TIMEOUT_MS, st);
	CU_ASSERT(rpt_proc_exited_with(p, 0));
	REQUIRE(nst > 0);
	CU_ASSERT_EQUAL(stat_sum(st, nst, "accepted"), n);
	/* the dead backend was in the rotation, and its failures were retried */
	CU_ASSERT(stat_sum(st, nst, "connect_failures") > 0);
out:
	rpt_proc_free(p, test_failed());
	rpt_backend_stop(be);
}

static void test_l4_all_backends_dead(void)
{
	enum { NCLIENTS = 8, BOUND_MS = 3000 };
	struct rpt_stats st[MAX_REACTORS];
	struct rpt_proc *p = NULL;
	int fds[NCLIENTS];
	char la[64], d1[64], d2[64];
	int port, dead1, dead2, nst, closed = 0;
	long long nb, cf;
	int64_t t0, worst = 0;

	for (int i = 0; i < NCLIENTS; i++)
		fds[i] = -1;
	port = rpt_free_port(AF_INET);
	dead1 = rpt_free_port(AF_INET);
	dead2 = rpt_free_port(AF_INET);
	REQUIRE(port > 0 && dead1 > 0 && dead2 > 0 && dead1 != dead2);
	p = proxy_start(0, "--listen", rpt_addr_str(la, sizeof(la), AF_INET, port),
			"--to", rpt_addr_str(d1, sizeof(d1), AF_INET, dead1), "--to",
			rpt_addr_str(d2, sizeof(d2), AF_INET, dead2), "--reactors", "1",
			NULL);
	REQUIRE(p);

	t0 = rpt_now_ms();
	for (int i = 0; i < NCLIENTS; i++) {
		fds[i] = rpt_connect(AF_INET, port, false);
		CU_ASSERT(fds[i] >= 0);
	}
	for (int i = 0; i < NCLIENTS; i++) {
		int64_t left = t0 + BOUND_MS - rpt_now_ms();

		if (fds[i] < 0)
			continue;
		if (rpt_wait_closed(fds[i], left > 0 ? (int)left : 1, NULL) == 0) {
			closed++;
			if (rpt_now_ms() - t0 > worst)
				worst = rpt_now_ms() - t0;
		}
		close(fds[i]);
		fds[i] = -1;
	}
	printf("\n  all dead: %d of %d clients closed, last after %lld ms\n", closed,
	       NCLIENTS, (long long)worst);
	CU_ASSERT_EQUAL(closed, NCLIENTS);

	nst = proxy_stop(p, STOP_TIMEOUT_MS, st);
	CU_ASSERT(rpt_proc_exited_with(p, 0));
	REQUIRE(nst > 0);
	nb = stat_sum(st, nst, "no_backend");
	cf = stat_sum(st, nst, "connect_failures");
	printf("  stats: no_backend=%lld connect_failures=%lld\n", nb, cf);
	CU_ASSERT(nb > 0 || cf > 0);
	CU_ASSERT_EQUAL(stat_sum(st, nst, "accepted"), NCLIENTS);
out:
	for (int i = 0; i < NCLIENTS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	rpt_proc_free(p, test_failed());
}

/*
 * A backend whose accept queue is full drops SYNs, so the proxy's connect
 * hangs until --connect-timeout; with --retries 0 the client is closed then.
 */
static void test_l4_connect_timeout(void)
{
	enum { NCLIENTS = 2, TIMEOUT_MS = 300 };
	long slack = rpt_env_long("RP_TEST_SLACK_MS", 700);
	struct rpt_full_listener fl = {.lfd = -1, .filler = -1};
	struct rpt_stats st[MAX_REACTORS];
	struct rpt_proc *p = NULL;
	int fds[NCLIENTS];
	int64_t t0[NCLIENTS];
	char la[64], ba[64];
	int port, nst, ret;

	for (int i = 0; i < NCLIENTS; i++)
		fds[i] = -1;
	ret = rpt_full_listener_open(&fl, AF_INET);
	if (ret < 0)
		printf("\n  cannot make a listener with a full queue: %s\n",
		       strerror(-ret));
	REQUIRE(ret == 0);
	port = rpt_free_port(AF_INET);
	REQUIRE(port > 0);
	p = proxy_start(0, "--listen", rpt_addr_str(la, sizeof(la), AF_INET, port),
			"--to", rpt_addr_str(ba, sizeof(ba), AF_INET, fl.port),
			"--connect-timeout", "300ms", "--retries", "0", "--reactors", "1",
			NULL);
	REQUIRE(p);

	for (int i = 0; i < NCLIENTS; i++) {
		t0[i] = rpt_now_ms();
		fds[i] = rpt_connect(AF_INET, port, false);
		CU_ASSERT(fds[i] >= 0);
	}
	for (int i = 0; i < NCLIENTS; i++) {
		int64_t ms;

		if (fds[i] < 0)
			continue;
		ret = rpt_wait_closed(fds[i], 5000, NULL);
		ms = rpt_now_ms() - t0[i];
		printf("\n  client %d closed after %lld ms (timeout %d ms)", i,
		       (long long)ms, TIMEOUT_MS);
		CU_ASSERT_EQUAL(ret, 0);
		CU_ASSERT(ms >= TIMEOUT_MS - 50);
		CU_ASSERT(ms <= TIMEOUT_MS + slack);
		close(fds[i]);
		fds[i] = -1;
	}
	printf("\n");

	nst = proxy_stop(p, STOP_TIMEOUT_MS, st);
	CU_ASSERT(rpt_proc_exited_with(p, 0));
	REQUIRE(nst > 0);
	CU_ASSERT(stat_sum(st, nst, "connect_timeouts") > 0);
out:
	for (int i = 0; i < NCLIENTS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	rpt_proc_free(p, test_failed());
	rpt_full_listener_close(&fl);
}

/* ---- 5. graceful drain on SIGTERM -------------------------------------- */

static void test_l4_graceful_term(void)
{
	const uint64_t size = 64 * MIB, seed = 0x7e57;
	struct rpt_backend_cfg cfg = {
		.mode = RPT_BACKEND_SOURCE,
		.family = AF_INET,
		.source_bytes = size,
		.seed = seed,
	};
	uint8_t tx_sha[RPT_SHA_LEN], rx_sha[RPT_SHA_LEN], want[RPT_SHA_LEN];
	struct rpt_backend *be = NULL;
	struct rpt_proc *p = NULL;
	struct rpt_conn_result res;
	struct rpt_pump pm;
	bool pumping = false, refused = false;
	char la[64], ba[64];
	int fd = -1, port, ret = 0;
	int64_t deadline, t_close;

	be = rpt_backend_start(&cfg);
	REQUIRE(be);
	port = rpt_free_port(AF_INET);
	REQUIRE(port > 0);
	p = proxy_start(0, "--listen", rpt_addr_str(la, sizeof(la), AF_INET, port),
			"--to",
			rpt_addr_str(ba, sizeof(ba), AF_INET, rpt_backend_port(be)),
			"--reactors", "1", "--drain-timeout", "20s", NULL);
	REQUIRE(p);
	fd = rpt_connect(AF_INET, port, false);
	REQUIRE(fd >= 0);

	/* read the first MiB slowly, 16 KiB at a time */
	rpt_pump_init(&pm, 0, 0, false);
	rpt_pump_expect(&pm, seed);
	pumping = true;
	deadline = rpt_now_ms() + 10000;
	for (int i = 0; i < 64; i++) {
		ret = rpt_pump_run(&pm, fd, pm.rx_done + 16384, deadline);
		if (ret != -EAGAIN)
			break;
		rpt_sleep_ms(2);
	}
	CU_ASSERT_EQUAL(ret, -EAGAIN);
	REQUIRE(pm.rx_done == MIB);

	REQUIRE(rpt_proc_signal(p, SIGTERM) == 0);
	/* listeners close at once: a new connect is refused */
	deadline = rpt_now_ms() + 3000;
	while (!refused && rpt_now_ms() < deadline) {
		int probe = rpt_connect(AF_INET, port, false);

		if (probe == -ECONNREFUSED)
			refused = true;
		else if (probe >= 0)
			close(probe);
		if (!refused)
			rpt_sleep_ms(10);
	}
	CU_ASSERT(refused);
	/* and the open tunnel keeps the process draining */
	CU_ASSERT(rpt_proc_alive(p));

	ret = pump_to_end(&pm, fd, rpt_now_ms() + 30000, 10000);
	rpt_pump_finish(&pm, tx_sha, rx_sha);
	pumping = false;
	CU_ASSERT_EQUAL(ret, 0);
	CU_ASSERT(pm.rx_eof);
	CU_ASSERT_EQUAL(pm.rx_done, size);
	report_corruption("backend -> client", pm.rx_bad_off);
	CU_ASSERT_EQUAL(pm.rx_bad_off, UINT64_MAX);
	rpt_stream_sha(seed, size, want);
	CU_ASSERT(memcmp(rx_sha, want, RPT_SHA_LEN) == 0);
	close(fd);
	fd = -1;
	t_close = rpt_now_ms();

	/* the last tunnel is gone: the drain ends and the process exits 0 */
	ret = rpt_proc_wait(p, STOP_TIMEOUT_MS);
	printf("\n  exited %lld ms after the last client closed\n",
	       (long long)(rpt_now_ms() - t_close));
	CU_ASSERT_EQUAL(ret, 0);
	CU_ASSERT(rpt_proc_exited_with(p, 0));

	REQUIRE(rpt_backend_wait_results(be, 1, 5000) >= 1);
	REQUIRE(rpt_backend_result(be, 0, &res) == 0);
	CU_ASSERT_EQUAL(res.tx_bytes, size);
	CU_ASSERT(memcmp(res.tx_sha, want, RPT_SHA_LEN) == 0);
out:
	if (pumping)
		rpt_pump_finish(&pm, tx_sha, rx_sha);
	if (fd >= 0)
		close(fd);
	rpt_proc_free(p, test_failed());
	rpt_backend_stop(be);
}

/* ---- 6. accepts spread over reactors ----------------------------------- */

static void test_l4_reactors_share_accepts(void)
{
	const unsigned n = 400;
	struct rpt_backend_cfg cfg = {.mode = RPT_BACKEND_ECHO, .family = AF_INET};
	struct rpt_stats st[MAX_REACTORS];
	struct rpt_backend *be = NULL;
	struct rpt_proc *p = NULL;
	struct rpt_echo_report r;
	struct rpt_echo_opts o;
	char la[64], ba[64];
	long long acc[2] = {-1, -1};
	int port, nst;

	/*
	 * No CPU count to check: with one CPU both reactors run on it (reactor i
	 * takes CPU i modulo the mask), and SO_REUSEPORT spreads connections over
	 * the two listen sockets by a hash of the 4-tuple, not by CPU, so the
	 * test means the same on one CPU as on many.
	 */
	be = rpt_backend_start(&cfg);
	REQUIRE(be);
	port = rpt_free_port(AF_INET);
	REQUIRE(port > 0);
	p = proxy_start(0, "--listen", rpt_addr_str(la, sizeof(la), AF_INET, port),
			"--to",
			rpt_addr_str(ba, sizeof(ba), AF_INET, rpt_backend_port(be)),
			"--reactors", "2", NULL);
	REQUIRE(p);

	o = (struct rpt_echo_opts){
		.family = AF_INET,
		.port = port,
		.nconns = n,
		.min_len = 1024,
		.max_len = 4096,
		.seed = 0x2ea,
		.timeout_ms = 30000,
	};
	REQUIRE(rpt_echo_many(&o, &r) == 0);
	print_echo_report("two reactors", &r);
	CU_ASSERT_EQUAL(r.ok, n);

	nst = proxy_stop(p, STOP_TIMEOUT_MS, st);
	CU_ASSERT(rpt_proc_exited_with(p, 0));
	CU_ASSERT_EQUAL(nst, 2);
	REQUIRE(nst == 2);
	CU_ASSERT(rpt_stats_get(&st[0], "accepted", &acc[0]) == 0);
	CU_ASSERT(rpt_stats_get(&st[1], "accepted", &acc[1]) == 0);
	printf("  accepted: reactor 0 %lld, reactor 1 %lld\n", acc[0], acc[1]);
	CU_ASSERT(acc[0] > 0);
	CU_ASSERT(acc[1] > 0);
	CU_ASSERT_EQUAL(acc[0] + acc[1], n);
out:
	rpt_proc_free(p, test_failed());
	rpt_backend_stop(be);
}

/* ---- 7. fd exhaustion -------------------------------------------------- */

/* EMFILE itself: --max-conns far above what 64 descriptors hold, or the
 * limit derived from them would pause accepting first. */

static void test_l4_fd_exhaustion(void)
{
	enum { BURST = 200, NOFILE = 64 };
	struct rpt_backend_cfg cfg = {.mode = RPT_BACKEND_ECHO, .family = AF_INET};
	struct rpt_stats st[MAX_REACTORS];
	struct rpt_backend *be = NULL;
	struct rpt_proc *p = NULL;
	struct rpt_echo_report r = {0};
	struct rpt_echo_opts o;
	int fds[BURST];
	char la[64], ba[64];
	int port, nst, connected = 0, tries = 0;
	long long pauses = -1;
	int64_t deadline;

	for (int i = 0; i < BURST; i++)
		fds[i] = -1;
	be = rpt_backend_start(&cfg);
	REQUIRE(be);
	port = rpt_free_port(AF_INET);
	REQUIRE(port > 0);
	p = proxy_start(NOFILE, "--listen", rpt_addr_str(la, sizeof(la), AF_INET, port),
			"--to",
			rpt_addr_str(ba, sizeof(ba), AF_INET, rpt_backend_port(be)),
			"--reactors", "1", "--max-conns", "100000", NULL);
	REQUIRE(p);

	/* the kernel completes these handshakes whether or not ringproxy accepts */
	for (int i = 0; i < BURST; i++)
		fds[i] = rpt_connect(AF_INET, port, true);
	deadline = rpt_now_ms() + 5000;
	for (int i = 0; i < BURST; i++) {
		struct pollfd pfd = {.fd = fds[i], .events = POLLOUT};
		int64_t left = deadline - rpt_now_ms();
		int err = 0;
		socklen_t elen = sizeof(err);

		if (fds[i] < 0)
			continue;
		if (poll(&pfd, 1, left > 0 ? (int)left : 0) == 1 &&
		    !getsockopt(fds[i], SOL_SOCKET, SO_ERROR, &err, &elen) && !err) {
			connected++;
			/* something for the tunnels that do get through */
			if (send(fds[i], "ping", 4, MSG_NOSIGNAL) < 0) {
				/* a reset connection is fine here */
			}
		}
	}
	printf("\n  burst: %d of %d connected\n", connected, BURST);
	CU_ASSERT(connected > NOFILE);
	rpt_sleep_ms(500);
	CU_ASSERT(rpt_proc_alive(p));
	for (int i = 0; i < BURST; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}

	/* after the burst a fresh connection works again, within a bound */
	o = (struct rpt_echo_opts){
		.family = AF_INET,
		.port = port,
		.nconns = 1,
		.min_len = 4096,
		.max_len = 4096,
		.seed = 0xfd,
		.timeout_ms = 2000,
	};
	deadline = rpt_now_ms() + 15000;
	do {
		if (tries++)
			rpt_sleep_ms(200);
		REQUIRE(rpt_echo_many(&o, &r) == 0);
	} while (r.ok != 1 && rpt_now_ms() < deadline && rpt_proc_alive(p));
	printf("  fresh connection: %s after %d attempt(s)\n", r.ok ? "ok" : "FAILED",
	       tries);
	CU_ASSERT_EQUAL(r.ok, 1);
	CU_ASSERT(rpt_proc_alive(p));

	nst = proxy_stop(p, STOP_TIMEOUT_MS, st);
	CU_ASSERT(rpt_proc_exited_with(p, 0));
	REQUIRE(nst > 0);
	pauses = stat_sum(st, nst, "accept_pauses");
	printf("  stats: accept_pauses=%lld accepted=%lld accept_errors=%lld\n", pauses,
	       rpt_stats_sum(st, nst, "accepted"),
	       rpt_stats_sum(st, nst, "accept_errors"));
	CU_ASSERT(pauses > 0);
out:
	for (int i = 0; i < BURST; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	rpt_proc_free(p, test_failed());
	rpt_backend_stop(be);
}

/* ---- main ------------------------------------------------------------- */

/* ---- pipe budget, idle timeout, reset ----------------------------------- */

/* A splice tunnel needs a pipe per direction; with one pipe allowed, the
 * second direction must fall back to copying, counted, with no byte lost. */
static void test_l4_pipe_budget_falls_back_to_copy(void)
{
	long long fallbacks = -1;

	bulk_one("splice", "1", &fallbacks);
	CU_ASSERT(fallbacks >= 1);
}

static void test_l4_idle_timeout_closes(void)
{
	struct rpt_backend_cfg cfg = {.mode = RPT_BACKEND_ECHO, .family = AF_INET};
	struct rpt_stats st[MAX_REACTORS];
	struct rpt_backend *be = NULL;
	struct rpt_proc *p = NULL;
	char la[64], ba[64], buf[8];
	long long idle = -1;
	int fd = -1, port, nst;
	int64_t t0, waited;

	be = rpt_backend_start(&cfg);
	REQUIRE(be);
	port = rpt_free_port(AF_INET);
	REQUIRE(port > 0);
	p = proxy_start(0, "--listen", rpt_addr_str(la, sizeof(la), AF_INET, port),
			"--to",
			rpt_addr_str(ba, sizeof(ba), AF_INET, rpt_backend_port(be)),
			"--reactors", "1", "--idle-timeout", "1s", NULL);
	REQUIRE(p);
	fd = rpt_connect(AF_INET, port, false);
	REQUIRE(fd >= 0);
	/* Activity keeps it open past the timeout (with room for a loaded
	 * machine between the pings)... */
	for (int i = 0; i < 4; i++) {
		if (i)
			rpt_sleep_ms(400);
		REQUIRE(send(fd, "ping", 4, MSG_NOSIGNAL) == 4);
		REQUIRE(recv(fd, buf, 4, MSG_WAITALL) == 4);
	}
	/* ...then silence closes it within the timeout plus slack. */
	t0 = rpt_now_ms();
	CU_ASSERT_EQUAL(rpt_wait_closed(fd, 3000, NULL), 0);
	waited = rpt_now_ms() - t0;
	printf("\n  idle close after %lld ms (timeout 1000 ms)\n", (long long)waited);
	CU_ASSERT(waited >= 950);
	CU_ASSERT(waited <= 1000 + rpt_env_long("RP_TEST_SLACK_MS", 700));
	nst = proxy_stop(p, STOP_TIMEOUT_MS, st);
	REQUIRE(nst == 1);
	CU_ASSERT(rpt_stats_get(&st[0], "idle_timeouts", &idle) == 0);
	CU_ASSERT_EQUAL(idle, 1);
out:
	if (fd >= 0)
		close(fd);
	rpt_proc_free(p, test_failed());
	rpt_backend_stop(be);
}

/* A client that resets its connection makes the proxy reset the backend's
 * promptly (RST, not FIN: the backend must not see a clean end). */
static void test_l4_reset_propagates(void)
{
	struct rpt_backend_cfg cfg = {.mode = RPT_BACKEND_ECHO, .family = AF_INET};
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	struct rpt_stats st[MAX_REACTORS];
	struct rpt_backend *be = NULL;
	struct rpt_proc *p = NULL;
	struct rpt_conn_result res;
	char la[64], ba[64], buf[4];
	int fd = -1, port;
	int64_t t0;

	be = rpt_backend_start(&cfg);
	REQUIRE(be);
	port = rpt_free_port(AF_INET);
	REQUIRE(port > 0);
	p = proxy_start(0, "--listen", rpt_addr_str(la, sizeof(la), AF_INET, port),
			"--to",
			rpt_addr_str(ba, sizeof(ba), AF_INET, rpt_backend_port(be)),
			"--reactors", "1", NULL);
	REQUIRE(p);
	fd = rpt_connect(AF_INET, port, false);
	REQUIRE(fd >= 0);
	REQUIRE(send(fd, "ping", 4, MSG_NOSIGNAL) == 4);
	REQUIRE(recv(fd, buf, 4, MSG_WAITALL) == 4);
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	t0 = rpt_now_ms();
	close(fd);
	fd = -1;
	CU_ASSERT_EQUAL(rpt_backend_wait_results(be, 1, 2000), 1);
	printf("\n  backend connection ended %lld ms after the client's reset\n",
	       (long long)(rpt_now_ms() - t0));
	REQUIRE(rpt_backend_result(be, 0, &res) == 0);
	CU_ASSERT(res.error == -ECONNRESET || res.error == -EPIPE);
	CU_ASSERT_FALSE(res.rx_eof);
	proxy_stop(p, STOP_TIMEOUT_MS, st);
	CU_ASSERT(rpt_proc_exited_with(p, 0));
out:
	if (fd >= 0)
		close(fd);
	rpt_proc_free(p, test_failed());
	rpt_backend_stop(be);
}

/* ---- load balancing ------------------------------------------------------ */

/* @n one-at-a-time echo connections to loopback @port; 0 when all came back. */
static int echo_n(uint16_t port, unsigned n, uint64_t seed)
{
	for (unsigned k = 0; k < n; k++) {
		struct rpt_echo_opts o = {
			.family = AF_INET,
			.port = port,
			.nconns = 1,
			.min_len = 100,
			.max_len = 100,
			.seed = seed + k,
			.timeout_ms = 2000,
		};
		struct rpt_echo_report r = {0};

		if (rpt_echo_many(&o, &r) < 0 || r.ok != 1)
			return -1;
	}
	return 0;
}

struct balance_backends {
	struct rpt_backend *be[3];
	char addr[3][80];
};

static int balance_backends_start(struct balance_backends *bb,
				  const char *const weights[3])
{
	struct rpt_backend_cfg cfg = {.mode = RPT_BACKEND_ECHO, .family = AF_INET};

	memset(bb, 0, sizeof(*bb));
	for (int i = 0; i < 3; i++) {
		bb->be[i] = rpt_backend_start(&cfg);
		if (!bb->be[i])
			return -1;
		rpt_addr_str(bb->addr[i], sizeof(bb->addr[i]), AF_INET,
			     rpt_backend_port(bb->be[i]));
		if (weights)
			snprintf(bb->addr[i] + strlen(bb->addr[i]),
				 sizeof(bb->addr[i]) - strlen(bb->addr[i]), ",weight=%s",
				 weights[i]);
	}
	return 0;
}

static void balance_backends_stop(struct balance_backends *bb)
{
	for (int i = 0; i < 3; i++)
		rpt_backend_stop(bb->be[i]);
}

/* Runs @n one-at-a-time echo connections through a fresh proxy using @algo
 * over @bb and counts what each backend accepted during the run. */
static int balance_run(struct balance_backends *bb, const char *algo, unsigned n,
		       unsigned counts[3])
{
	struct rpt_stats st[MAX_REACTORS];
	struct rpt_proc *p = NULL;
	unsigned before[3];
	char la[64];
	int port, ret = -1;

	for (int i = 0; i < 3; i++)
		before[i] = rpt_backend_accepted(bb->be[i]);
	port = rpt_free_port(AF_INET);
	if (port <= 0)
		goto out;
	p = proxy_start(0, "--listen", rpt_addr_str(la, sizeof(la), AF_INET, port),
			"--to", bb->addr[0], "--to", bb->addr[1], "--to", bb->addr[2],
			"--balance", algo, "--reactors", "1", NULL);
	if (!p)
		goto out;
	/* One at a time, and the next only once every backend has seen the
	 * last one's close: ringproxy releases a pick when it closes the
	 * backend side, and a release still on its way would make the next
	 * pick see a busy backend (leastconn's premise is all of them idle). */
	for (unsigned k = 0; k < n; k++) {
		if (echo_n((uint16_t)port, 1, k) < 0)
			goto out;
		for (int i = 0; i < 3; i++)
			rpt_backend_wait_results(bb->be[i],
						 rpt_backend_accepted(bb->be[i]), 2000);
	}
	for (int i = 0; i < 3; i++)
		counts[i] = rpt_backend_accepted(bb->be[i]) - before[i];
	printf("\n  %s: %u %u %u", algo, counts[0], counts[1], counts[2]);
	proxy_stop(p, STOP_TIMEOUT_MS, st);
	ret = rpt_proc_exited_with(p, 0) ? 0 : -1;
out:
	rpt_proc_free(p, ret != 0);
	return ret;
}

static void test_l4_balance_distribution(void)
{
	static const char *const w123[3] = {"1", "2", "3"};
	struct balance_backends plain = {0}, weighted = {0};
	unsigned c[3];

	REQUIRE(balance_backends_start(&plain, NULL) == 0);
	REQUIRE(balance_backends_start(&weighted, w123) == 0);
	REQUIRE(balance_run(&plain, "roundrobin", 60, c) == 0);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(c[i], 20);
	/* Smooth WRR is exact over whole periods. */
	REQUIRE(balance_run(&weighted, "wrr", 60, c) == 0);
	CU_ASSERT_EQUAL(c[0], 10);
	CU_ASSERT_EQUAL(c[1], 20);
	CU_ASSERT_EQUAL(c[2], 30);
	/* One connection at a time: every backend idle, served in turn. */
	REQUIRE(balance_run(&plain, "leastconn", 60, c) == 0);
	for (int i = 0; i < 3; i++)
		CU_ASSERT(c[i] >= 15 && c[i] <= 25);
	/* Sampled by weight: the heaviest gets most, every one gets some. */
	REQUIRE(balance_run(&weighted, "p2c", 120, c) == 0);
	CU_ASSERT(c[0] > 0 && c[1] > 0 && c[2] > c[0]);
	/* One client address: a hash balancer sends it to one backend, and
	 * to the same one after a restart. */
	for (int run = 0; run < 2; run++) {
		const char *algo = run ? "maglev" : "ringhash";
		unsigned again[3];

		REQUIRE(balance_run(&plain, algo, 30, c) == 0);
		CU_ASSERT_EQUAL((c[0] == 30) + (c[1] == 30) + (c[2] == 30), 1);
		REQUIRE(balance_run(&plain, algo, 30, again) == 0);
		CU_ASSERT(memcmp(c, again, sizeof(c)) == 0);
	}
out:
	balance_backends_stop(&plain);
	balance_backends_stop(&weighted);
}

static void test_l4_balance_rejects_unknown(void)
{
	char la[64];
	const char *argv[] = {g_bin,	     "--listen",  la,	    "--to",
			      "127.0.0.1:9", "--balance", "random", NULL};
	struct rpt_proc *p;
	char *out;

	rpt_addr_str(la, sizeof(la), AF_INET, (uint16_t)rpt_free_port(AF_INET));
	p = rpt_proc_spawn(argv, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(rpt_proc_wait(p, 5000), 0);
	CU_ASSERT_TRUE(rpt_proc_exited_with(p, 1));
	out = rpt_proc_output(p);
	CU_ASSERT_PTR_NOT_NULL(out && strstr(out, "unknown balance algorithm 'random'"));
	free(out);
	rpt_proc_free(p, false);
}

/* ---- PROXY protocol -------------------------------------------------------- */

static bool same_sockaddr(const struct sockaddr_storage *a,
			  const struct sockaddr_storage *b, socklen_t len)
{
	return a->ss_family == b->ss_family && memcmp(a, b, len) == 0;
}

/*
 * Sends @pre (a PROXY header or nothing) in @pieces writes, 30 ms apart, the
 * last one carrying the first bytes of the payload too, then the rest of
 * @payload_len bytes of stream @seed, then SHUT_WR, through a ringproxy on
 * @port whose backend is @lfd. Checks that the backend receives exactly one
 * PROXY header of version @version followed by the payload, and fills @hdr
 * with the header. Returns 0 when all of that held.
 */
static int pp_through(int family, uint16_t port, int lfd, const char *pre, size_t pre_len,
		      int pieces, size_t payload_len, uint64_t seed, int version,
		      struct rp_pp_result *hdr, struct sockaddr_storage *client)
{
	size_t cap = payload_len + 1024, sent = 0;
	uint8_t *payload = malloc(payload_len), *rx = malloc(cap), *scratch = malloc(cap);
	socklen_t clen = sizeof(*client);
	int fd = -1, bfd = -1, ret = -1, hlen;
	ssize_t n;

	if (!payload || !rx || !scratch)
		goto out;
	rpt_stream_fill(seed, 0, payload, payload_len);
	fd = rpt_connect(family, port, false);
	if (fd < 0)
		goto out;
	getsockname(fd, (struct sockaddr *)client, &clen);
	for (int i = 0; i < pieces; i++) {
		size_t a = pre_len * (size_t)i / (size_t)pieces;
		size_t b = pre_len * (size_t)(i + 1) / (size_t)pieces;
		uint8_t buf[256];

		if (b > a) /* @pre may be NULL */
			memcpy(buf, pre + a, b - a);
		if (i == pieces - 1) {
			/* Client data right behind the header, in one segment. */
			sent = payload_len < 100 ? payload_len : 100;
			memcpy(buf + (b - a), payload, sent);
		}
		if (send(fd, buf, b - a + (i == pieces - 1 ? sent : 0), MSG_NOSIGNAL) < 0)
			goto out;
		if (i < pieces - 1)
			rpt_sleep_ms(30);
	}
	if (send(fd, payload + sent, payload_len - sent, MSG_NOSIGNAL) !=
	    (ssize_t)(payload_len - sent))
		goto out;
	shutdown(fd, SHUT_WR);
	n = rpt_accept_read_all(lfd, 5000, rx, cap, &bfd);
	if (n < 0) {
		printf("\n  backend read: %s\n", strerror((int)-n));
		goto out;
	}
	hlen = rp__pp_parse(rx, (size_t)n, hdr);
	if (hlen <= 0 || hdr->version != version) {
		printf("\n  backend got no PROXY v%d header (%d)\n", version, hlen);
		goto out;
	}
	if ((size_t)n - (size_t)hlen != payload_len ||
	    rpt_stream_mismatch(seed, 0, rx + hlen, payload_len, scratch) != UINT64_MAX) {
		printf("\n  backend got %zd bytes after the header, want %zu intact\n",
		       n - hlen, payload_len);
		goto out;
	}
	/* The tunnel still works the other way. */
	if (send(bfd, "pong", 4, MSG_NOSIGNAL) != 4)
		goto out;
	close(bfd);
	bfd = -1;
	if (recv(fd, rx, 4, MSG_WAITALL) != 4 || memcmp(rx, "pong", 4) != 0)
		goto out;
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (bfd >= 0)
		close(bfd);
	free(payload);
	free(rx);
	free(scratch);
	return ret;
}

/* --send-proxy v2 and v1 alone: the backend learns the client's real address
 * and the address it connected to, on IPv4 and IPv6. */
static void test_l4_send_proxy_carries_client(void)
{
	int fams[2] = {AF_INET, af_v6_or_v4()};
	struct rpt_proc *p = NULL;
	int lfd = -1;

	for (int f = 0; f < 2; f++) {
		for (int v = 1; v <= 2; v++) {
			int fam = fams[f], port = rpt_free_port(fam);
			struct sockaddr_storage client, listen;
			struct rp_pp_result h;
			char la[64], ba[64];
			uint16_t bport;

			lfd = rpt_listen(fam, &bport);
			REQUIRE(lfd >= 0 && port > 0);
			p = proxy_start(0, "--listen",
					rpt_addr_str(la, sizeof(la), fam, port), "--to",
					rpt_addr_str(ba, sizeof(ba), fam, bport),
					"--reactors", "1", "--send-proxy",
					v == 1 ? "v1" : "v2", NULL);
			REQUIRE(p);
			REQUIRE(pp_through(fam, (uint16_t)port, lfd, NULL, 0, 1,
					   64 * 1024, 0x5e9d + (uint64_t)v, v, &h,
					   &client) == 0);
			CU_ASSERT_FALSE(h.local);
			CU_ASSERT(same_sockaddr(&h.src, &client, h.addr_len));
			/* The destination is the proxy's listener. */
			memset(&listen, 0, sizeof(listen));
			if (fam == AF_INET) {
				struct sockaddr_in *s = (struct sockaddr_in *)&listen;

				s->sin_family = AF_INET;
				s->sin_port = htons((uint16_t)port);
				s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			} else {
				struct sockaddr_in6 *s = (struct sockaddr_in6 *)&listen;

				s->sin6_family = AF_INET6;
				s->sin6_port = htons((uint16_t)port);
				s->sin6_addr = in6addr_loopback;
			}
			CU_ASSERT(same_sockaddr(&h.dst, &listen, h.addr_len));
			CU_ASSERT(rpt_proc_stop(p, SIGTERM, STOP_TIMEOUT_MS) == 0);
			CU_ASSERT(rpt_proc_exited_with(p, 0));
			rpt_proc_free(p, test_failed());
			p = NULL;
			close(lfd);
			lfd = -1;
		}
	}
out:
	rpt_proc_free(p, test_failed());
	if (lfd >= 0)
		close(lfd);
}

/* --accept-proxy --send-proxy: the address of the client's header (v1 in
 * three slow pieces, v2 at once, LOCAL) is what reaches the backend, and
 * client bytes that arrive with the header are not lost. */
static void test_l4_accept_proxy_relays_header(void)
{
	static const char v1[] = "PROXY TCP4 192.0.2.1 198.51.100.2 4000 80\r\n";
	static const char v2[] = "\r\n\r\n\0\r\nQUIT\n\x21\x21\x00\x29"
				 "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x07"
				 "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x08"
				 "\x9c\x40\x01\xbb"
				 "\x04\x00\x02\0\0"; /* a NOOP TLV, skipped */
	static const char local[] = "\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00";
	struct rpt_stats st[MAX_REACTORS];
	struct sockaddr_storage client;
	struct rp_pp_result h, want;
	struct rpt_proc *p = NULL;
	char la[64], ba[64];
	int port, lfd = -1, nst;
	uint16_t bport;

	lfd = rpt_listen(AF_INET, &bport);
	port = rpt_free_port(AF_INET);
	REQUIRE(lfd >= 0 && port > 0);
	p = proxy_start(0, "--listen", rpt_addr_str(la, sizeof(la), AF_INET, port),
			"--to", rpt_addr_str(ba, sizeof(ba), AF_INET, bport),
			"--reactors", "1", "--accept-proxy", "--send-proxy", "v2",
			"--balance", "maglev", NULL);
	REQUIRE(p);
	REQUIRE(rp__pp_parse(v1, strlen(v1), &want) == (int)strlen(v1));
	REQUIRE(pp_through(AF_INET, (uint16_t)port, lfd, v1, strlen(v1), 3, 4096, 1, 2,
			   &h, &client) == 0);
	CU_ASSERT_FALSE(h.local);
	CU_ASSERT(same_sockaddr(&h.src, &want.src, want.addr_len));
	CU_ASSERT(same_sockaddr(&h.dst, &want.dst, want.addr_len));
	REQUIRE(rp__pp_parse(v2, sizeof(v2) - 1, &want) == (int)sizeof(v2) - 1);
	REQUIRE(pp_through(AF_INET, (uint16_t)port, lfd, v2, sizeof(v2) - 1, 1, 4096, 2,
			   2, &h, &client) == 0);
	CU_ASSERT_EQUAL(h.addr_len, sizeof(struct sockaddr_in6));
	CU_ASSERT(same_sockaddr(&h.src, &want.src, want.addr_len));
	CU_ASSERT(same_sockaddr(&h.dst, &want.dst, want.addr_len));
	/* LOCAL: the connection's own client address stands. */
	REQUIRE(pp_through(AF_INET, (uint16_t)port, lfd, local, sizeof(local) - 1, 1,
			   4096, 3, 2, &h, &client) == 0);
	CU_ASSERT_FALSE(h.local);
	CU_ASSERT(same_sockaddr(&h.src, &client, h.addr_len));
	nst = proxy_stop(p, STOP_TIMEOUT_MS, st);
	REQUIRE(nst == 1);
	CU_ASSERT_EQUAL(stat_sum(st, nst, "proxy_errors"), 0);
out:
	rpt_proc_free(p, test_failed());
	if (lfd >= 0)
		close(lfd);
}

/* A client whose first bytes are not a PROXY header is closed at once, one
 * that sends nothing after --proxy-timeout; neither reaches a backend, both
 * are counted. */
static void test_l4_accept_proxy_refuses_bad_and_silent(void)
{
	struct rpt_backend_cfg cfg = {.mode = RPT_BACKEND_ECHO, .family = AF_INET};
	struct rpt_stats st[MAX_REACTORS];
	struct rpt_backend *be = NULL;
	struct rpt_proc *p = NULL;
	char la[64], ba[64];
	int fd = -1, port, nst;
	int64_t t0, waited;

	be = rpt_backend_start(&cfg);
	REQUIRE(be);
	port = rpt_free_port(AF_INET);
	REQUIRE(port > 0);
	p = proxy_start(
		0, "--listen", rpt_addr_str(la, sizeof(la), AF_INET, port), "--to",
		rpt_addr_str(ba, sizeof(ba), AF_INET, rpt_backend_port(be)), "--reactors",
		"1", "--accept-proxy", "--proxy-timeout", "300ms", NULL);
	REQUIRE(p);
	/* Malformed: plain HTTP where the header should be. */
	fd = rpt_connect(AF_INET, port, false);
	REQUIRE(fd >= 0);
	REQUIRE(send(fd, "GET / HTTP/1.1\r\n\r\n", 18, MSG_NOSIGNAL) == 18);
	t0 = rpt_now_ms();
	CU_ASSERT_EQUAL(rpt_wait_closed(fd, 2000, NULL), 0);
	CU_ASSERT(rpt_now_ms() - t0 < 250);
	close(fd);
	/* A v1 line with a bad port, split across two segments. */
	fd = rpt_connect(AF_INET, port, false);
	REQUIRE(fd >= 0);
	REQUIRE(send(fd, "PROXY TCP4 1.2.3.4 ", 19, MSG_NOSIGNAL) == 19);
	rpt_sleep_ms(30);
	REQUIRE(send(fd, "5.6.7.8 70000 80\r\nhi", 21, MSG_NOSIGNAL) == 21);
	CU_ASSERT_EQUAL(rpt_wait_closed(fd, 2000, NULL), 0);
	close(fd);
	/* Silent: closed after the timeout, not before. */
	fd = rpt_connect(AF_INET, port, false);
	REQUIRE(fd >= 0);
	t0 = rpt_now_ms();
	CU_ASSERT_EQUAL(rpt_wait_closed(fd, 3000, NULL), 0);
	waited = rpt_now_ms() - t0;
	printf("\n  silent client closed after %lld ms (timeout 300 ms)\n",
	       (long long)waited);
	CU_ASSERT(waited >= 250);
	CU_ASSERT(waited <= 300 + rpt_env_long("RP_TEST_SLACK_MS", 700));
	close(fd);
	/* Half a header, then silence: the deadline covers the whole header. */
	fd = rpt_connect(AF_INET, port, false);
	REQUIRE(fd >= 0);
	REQUIRE(send(fd, "PROXY TCP4", 10, MSG_NOSIGNAL) == 10);
	CU_ASSERT_EQUAL(rpt_wait_closed(fd, 3000, NULL), 0);
	close(fd);
	fd = -1;
	CU_ASSERT_EQUAL(rpt_backend_accepted(be), 0);
	nst = proxy_stop(p, STOP_TIMEOUT_MS, st);
	REQUIRE(nst == 1);
	CU_ASSERT_EQUAL(stat_sum(st, nst, "proxy_errors"), 4);
	CU_ASSERT_EQUAL(stat_sum(st, nst, "active"), 0);
	CU_ASSERT(rpt_proc_exited_with(p, 0));
out:
	if (fd >= 0)
		close(fd);
	rpt_proc_free(p, test_failed());
	rpt_backend_stop(be);
}

static const char *haproxy_path(void)
{
	static const char *const paths[] = {"/usr/sbin/haproxy", "/usr/bin/haproxy",
					    "/usr/local/sbin/haproxy"};

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	return NULL;
}

/*
 * Real HAProxy on both sides: client -> haproxy (send-proxy-v2 or v1) ->
 * ringproxy --accept-proxy --send-proxy v1 or v2 -> haproxy (accept-proxy)
 * -> echo server. The echo proves HAProxy took ringproxy's header (it closes
 * a connection whose header it refuses), and the second HAProxy's log line
 * shows the client's own address and port after two hops.
 */
static void test_l4_proxy_haproxy_chain(void)
{
	struct rpt_backend_cfg cfg = {.mode = RPT_BACKEND_ECHO, .family = AF_INET};
	const char *haproxy = haproxy_path();
	struct rpt_backend *be = NULL;
	struct rpt_proc *p = NULL, *hp = NULL;
	char la[64], ba[64], cfgpath[256], needle[64];
	int fd = -1;

	/* a missing peer is a failure: scripts/deps.sh test installs it */
	if (!haproxy) {
		CU_FAIL("haproxy is not installed: apt-get install haproxy, or "
			"scripts/deps.sh test");
		return;
	}
	be = rpt_backend_start(&cfg);
	REQUIRE(be);
	for (int round = 0; round < 2; round++) {
		const char *hop1 = round ? "send-proxy" : "send-proxy-v2";
		const char *hop2 = round ? "v2" : "v1";
		int p1 = rpt_free_port(AF_INET), prp = rpt_free_port(AF_INET);
		int p2 = rpt_free_port(AF_INET);
		const char *argv[] = {haproxy, "-db", "-f", cfgpath, NULL};
		struct sockaddr_in client;
		socklen_t clen = sizeof(client);
		struct rpt_echo_report r = {0};
		FILE *f;

		REQUIRE(p1 > 0 && prp > 0 && p2 > 0 && p1 != p2 && p1 != prp &&
			p2 != prp);
		snprintf(cfgpath, sizeof(cfgpath), "%s/haproxy-%d.cfg", rpt_tmpdir(),
			 round);
		f = fopen(cfgpath, "w");
		REQUIRE(f);
		fprintf(f,
			"global\n"
			"  log stdout format raw local0 info\n"
			"defaults\n"
			"  mode tcp\n"
			"  log global\n"
			"  timeout connect 2s\n"
			"  timeout client 10s\n"
			"  timeout server 10s\n"
			"frontend fe_in\n"
			"  bind 127.0.0.1:%d\n"
			"  log-format \"IN %%ci:%%cp\"\n"
			"  default_backend be_rp\n"
			"backend be_rp\n"
			"  server rp 127.0.0.1:%d %s\n"
			"frontend fe_out\n"
			"  bind 127.0.0.1:%d accept-proxy\n"
			"  log-format \"OUT %%ci:%%cp\"\n"
			"  default_backend be_echo\n"
			"backend be_echo\n"
			"  server echo 127.0.0.1:%u\n",
			p1, prp, hop1, p2, rpt_backend_port(be));
		fclose(f);
		hp = rpt_proc_spawn(argv, 0);
		REQUIRE(hp);
		p = proxy_start(0, "--listen", rpt_addr_str(la, sizeof(la), AF_INET, prp),
				"--to", rpt_addr_str(ba, sizeof(ba), AF_INET, p2),
				"--reactors", "1", "--accept-proxy", "--send-proxy", hop2,
				NULL);
		REQUIRE(p);
		REQUIRE(rpt_wait_port(AF_INET, (uint16_t)p1, 5000) == 0);
		REQUIRE(rpt_wait_port(AF_INET, (uint16_t)p2, 5000) == 0);
		/* One client with an address we know, then many at once. */
		fd = rpt_connect(AF_INET, (uint16_t)p1, false);
		REQUIRE(fd >= 0);
		getsockname(fd, (struct sockaddr *)&client, &clen);
		{
			char buf[5];

			REQUIRE(send(fd, "hello", 5, MSG_NOSIGNAL) == 5);
			CU_ASSERT(recv(fd, buf, 5, MSG_WAITALL) == 5 &&
				  memcmp(buf, "hello", 5) == 0);
		}
		close(fd);
		fd = -1;
		snprintf(needle, sizeof(needle), "OUT 127.0.0.1:%u",
			 ntohs(client.sin_port));
		CU_ASSERT_EQUAL(rpt_proc_wait_output(hp, needle, 5000), 0);
		if (!test_failed())
			printf("\n  %s -> ringproxy --send-proxy %s: haproxy logged "
			       "\"%s\"\n",
			       hop1, hop2, needle);
		{
			struct rpt_echo_opts o = {
				.family = AF_INET,
				.port = (uint16_t)p1,
				.nconns = 50,
				.min_len = 1,
				.max_len = 256 * 1024,
				.seed = 0x9a9a + (uint64_t)round,
				.timeout_ms = 20000,
				.half_close = true,
			};

			REQUIRE(rpt_echo_many(&o, &r) == 0);
			if (r.ok != o.nconns)
				print_echo_report("haproxy chain", &r);
			CU_ASSERT_EQUAL(r.ok, o.nconns);
		}
		{
			struct rpt_stats st[MAX_REACTORS];
			int nst = proxy_stop(p, STOP_TIMEOUT_MS, st);

			REQUIRE(nst == 1);
			CU_ASSERT_EQUAL(stat_sum(st, nst, "proxy_errors"), 0);
		}
		rpt_proc_free(p, test_failed());
		p = NULL;
		rpt_proc_stop(hp, SIGTERM, STOP_TIMEOUT_MS);
		rpt_proc_free(hp, test_failed());
		hp = NULL;
	}
out:
	if (fd >= 0)
		close(fd);
	rpt_proc_free(p, test_failed());
	rpt_proc_free(hp, test_failed());
	rpt_backend_stop(be);
}

/* ---- configuration file: listeners on their own clusters ---------------- */

/* Writes @yaml to a fresh file in the test directory; its path in @path. */
static int write_config(char *path, size_t len, const char *name, const char *yaml)
{
	FILE *f;

	snprintf(path, len, "%s/%s", rpt_tmpdir(), name);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fputs(yaml, f);
	return fclose(f) ? -errno : 0;
}

static void test_l4_config_file_listeners_reach_only_their_cluster(void)
{
	struct rpt_backend_cfg bc = {.mode = RPT_BACKEND_ECHO, .family = AF_INET};
	struct rpt_backend *be[4] = {0};
	struct rpt_stats st[MAX_REACTORS];
	struct rpt_proc *p = NULL;
	char yaml[1024], path[256];
	int la, lb;

	for (int i = 0; i < 4; i++) {
		be[i] = rpt_backend_start(&bc);
		REQUIRE(be[i]);
	}
	la = rpt_free_port(AF_INET);
	lb = rpt_free_port(AF_INET);
	REQUIRE(la > 0 && lb > 0 && la != lb);
	/* be[0], be[1]: cluster alpha; be[2], be[3]: cluster beta. */
	snprintf(yaml, sizeof(yaml),
		 "reactors: 1\n"
		 "listeners:\n"
		 "  - {bind: 127.0.0.1:%d, cluster: alpha}\n"
		 "  - {bind: 127.0.0.1:%d, cluster: beta, tunnel: copy}\n"
		 "clusters:\n"
		 "  beta:\n"
		 "    backends: [127.0.0.1:%u, 127.0.0.1:%u]\n"
		 "  alpha:\n"
		 "    balance: roundrobin\n"
		 "    backends:\n"
		 "      - 127.0.0.1:%u\n"
		 "      - {address: 127.0.0.1:%u, weight: 1}\n",
		 la, lb, rpt_backend_port(be[2]), rpt_backend_port(be[3]),
		 rpt_backend_port(be[0]), rpt_backend_port(be[1]));
	REQUIRE(write_config(path, sizeof(path), "two-clusters.yaml", yaml) == 0);
	p = proxy_start(0, "-c", path, NULL);
	REQUIRE(p);
	REQUIRE(rpt_proc_wait_output(p, "cluster beta", 2000) == 0);

	REQUIRE(echo_n((uint16_t)la, 20, 100) == 0);
	CU_ASSERT_EQUAL(rpt_backend_accepted(be[0]), 10);
	CU_ASSERT_EQUAL(rpt_backend_accepted(be[1]), 10);
	CU_ASSERT_EQUAL(rpt_backend_accepted(be[2]), 0);
	CU_ASSERT_EQUAL(rpt_backend_accepted(be[3]), 0);
	REQUIRE(echo_n((uint16_t)lb, 20, 200) == 0);
	CU_ASSERT_EQUAL(rpt_backend_accepted(be[0]), 10);
	CU_ASSERT_EQUAL(rpt_backend_accepted(be[1]), 10);
	CU_ASSERT_EQUAL(rpt_backend_accepted(be[2]), 10);
	CU_ASSERT_EQUAL(rpt_backend_accepted(be[3]), 10);

	CU_ASSERT_EQUAL(proxy_stop(p, STOP_TIMEOUT_MS, st), 1);
	CU_ASSERT_TRUE(rpt_proc_exited_with(p, 0));
	CU_ASSERT_EQUAL(stat_sum(st, 1, "accepted"), 40);
	CU_ASSERT_EQUAL(stat_sum(st, 1, "no_backend"), 0);
	/* beta's listener copies: its 20 x 100 bytes each way went that way. */
	CU_ASSERT(stat_sum(st, 1, "up_copy") >= 2000);
out:
	rpt_proc_free(p, test_failed());
	for (int i = 0; i < 4; i++)
		rpt_backend_stop(be[i]);
}

static void test_l4_config_file_listeners_share_a_cluster(void)
{
	struct rpt_backend_cfg bc = {.mode = RPT_BACKEND_ECHO, .family = AF_INET};
	struct rpt_backend *be[3] = {0};
	struct rpt_stats st[MAX_REACTORS];
	struct rpt_proc *p = NULL;
	char yaml[1024], path[256];
	int l1, l2;

	for (int i = 0; i < 3; i++) {
		be[i] = rpt_backend_start(&bc);
		REQUIRE(be[i]);
	}
	l1 = rpt_free_port(AF_INET);
	l2 = rpt_free_port(AF_INET);
	REQUIRE(l1 > 0 && l2 > 0 && l1 != l2);
	snprintf(yaml, sizeof(yaml),
		 "reactors: 1\n"
		 "clusters:\n"
		 "  unused: {backends: [127.0.0.1:%u]}\n"
		 "  shared: {backends: [127.0.0.1:%u, 127.0.0.1:%u]}\n"
		 "listeners:\n"
		 "  - {bind: 127.0.0.1:%d, cluster: shared}\n"
		 "  - {bind: 127.0.0.1:%d, cluster: shared}\n",
		 rpt_backend_port(be[2]), rpt_backend_port(be[0]),
		 rpt_backend_port(be[1]), l1, l2);
	REQUIRE(write_config(path, sizeof(path), "shared-cluster.yaml", yaml) == 0);
	p = proxy_start(0, "-c", path, NULL);
	REQUIRE(p);
	/* One round-robin per cluster, whichever listener a client used:
	 * three through the first (0, 1, 0), then one through the second
	 * continues the same rotation (1). Per-listener rotations would
	 * have given 3 and 1. */
	REQUIRE(echo_n((uint16_t)l1, 3, 300) == 0);
	REQUIRE(echo_n((uint16_t)l2, 1, 400) == 0);
	CU_ASSERT_EQUAL(rpt_backend_accepted(be[0]), 2);
	CU_ASSERT_EQUAL(rpt_backend_accepted(be[1]), 2);
	CU_ASSERT_EQUAL(rpt_backend_accepted(be[2]), 0);
	CU_ASSERT_EQUAL(proxy_stop(p, STOP_TIMEOUT_MS, st), 1);
	CU_ASSERT_TRUE(rpt_proc_exited_with(p, 0));
	CU_ASSERT_EQUAL(stat_sum(st, 1, "accepted"), 4);
out:
	rpt_proc_free(p, test_failed());
	for (int i = 0; i < 3; i++)
		rpt_backend_stop(be[i]);
}

static const struct rp_unit_test tests[] = {
	{"test_l4_bulk_splice", test_l4_bulk_splice},
	{"test_l4_bulk_ring_splice", test_l4_bulk_ring_splice},
	{"test_l4_bulk_copy", test_l4_bulk_copy},
	{"test_l4_bulk_auto", test_l4_bulk_auto},
	{"test_l4_concurrent_echo", test_l4_concurrent_echo},
	{"test_l4_half_close_client_first", test_l4_half_close_client_first},
	{"test_l4_half_close_backend_first", test_l4_half_close_backend_first},
	{"test_l4_one_backend_dead", test_l4_one_backend_dead},
	{"test_l4_all_backends_dead", test_l4_all_backends_dead},
	{"test_l4_connect_timeout", test_l4_connect_timeout},
	{"test_l4_graceful_term", test_l4_graceful_term},
	{"test_l4_reactors_share_accepts", test_l4_reactors_share_accepts},
	{"test_l4_fd_exhaustion", test_l4_fd_exhaustion},
	{"test_l4_pipe_budget_falls_back_to_copy",
	 test_l4_pipe_budget_falls_back_to_copy},
	{"test_l4_idle_timeout_closes", test_l4_idle_timeout_closes},
	{"test_l4_reset_propagates", test_l4_reset_propagates},
	{"test_l4_balance_distribution", test_l4_balance_distribution},
	{"test_l4_balance_rejects_unknown", test_l4_balance_rejects_unknown},
	{"test_l4_send_proxy_carries_client", test_l4_send_proxy_carries_client},
	{"test_l4_accept_proxy_relays_header", test_l4_accept_proxy_relays_header},
	{"test_l4_accept_proxy_refuses_bad_and_silent",
	 test_l4_accept_proxy_refuses_bad_and_silent},
	{"test_l4_proxy_haproxy_chain", test_l4_proxy_haproxy_chain},
	{"test_l4_config_file_listeners_reach_only_their_cluster",
	 test_l4_config_file_listeners_reach_only_their_cluster},
	{"test_l4_config_file_listeners_share_a_cluster",
	 test_l4_config_file_listeners_share_a_cluster},
};

/*
 * test_l4 RINGPROXY [TEST_NAME ...]: runs every test, or only the named ones.
 * Exit status: 0 when every assertion held, 1 otherwise, 2 on usage errors.
 */
int main(int argc, char **argv)
{
	const struct rp_unit_suite suite = {
		.name = "l4",
		.tests = tests,
		.ntests = sizeof(tests) / sizeof(tests[0]),
		.setup = setup,
		.teardown = teardown,
	};
	int64_t t0 = rpt_now_ms();
	int ret;

	if (argc < 2 || access(argv[1], X_OK) < 0) {
		fprintf(stderr, "usage: %s /path/to/ringproxy [test_l4_NAME ...]\n",
			argv[0]);
		return 2;
	}
	g_bin = argv[1];
	signal(SIGPIPE, SIG_IGN);
	rpt_raise_nofile(65536);

	ret = rp_unit_run_suite(&suite, argv + 2, argc - 2);
	printf("test_l4: %.1f s\n", (double)(rpt_now_ms() - t0) / 1000.0);
	rpt_fini();
	return ret;
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_outlier.c - the decisions of outlier detection, without a reactor:
 * the cluster messages and their count coding; the local half's batching
 * (a streak reported at its threshold or on a flush, a broken streak told
 * only when some of it was reported, success-rate counts carried, not
 * lost); the owner's sums over reactors, ejection times growing with each
 * ejection up to the cap and decaying with time in service, the
 * max_ejection_percent and last-backend limits (with checked-down backends
 * counted out), returns by time and by health checks, and the success-rate
 * sweep (threshold and Envoy's stdev rule, worst first).
 */
#include <errno.h>
#include <string.h>

#include "core/core.h"
#include "reverse/outlier.h"
#include "unit.h"

/* ---- messages -------------------------------------------------------------- */

static void test_cmsg_roundtrip(void)
{
	struct rp_cmsg m;

	for (unsigned k = 0; k < RP_CMSG_NKINDS; k++) {
		unsigned msg = rp__cmsg_encode((enum rp_cmsg_kind)k, 15, 63, 1023);

		CU_ASSERT(msg < RP_MSG_LIMIT);
		CU_ASSERT_EQUAL_FATAL(rp__cmsg_decode(msg, &m), 0);
		CU_ASSERT_EQUAL(m.kind, k);
		CU_ASSERT_EQUAL(m.cluster, 15);
		CU_ASSERT_EQUAL(m.backend, 63);
		CU_ASSERT_EQUAL(m.arg, 1023);
	}
	CU_ASSERT_EQUAL(rp__cmsg_decode(rp__cmsg_encode(RP_CMSG_CHECK, 3, 7, 1), &m), 0);
	CU_ASSERT(m.kind == RP_CMSG_CHECK && m.cluster == 3 && m.backend == 7 &&
		  m.arg == 1);
	CU_ASSERT_EQUAL(rp__cmsg_decode((unsigned)RP_CMSG_NKINDS << 20, &m), -EBADMSG);
}

static void test_cmsg_count_coding(void)
{
	uint64_t v;

	for (uint64_t n = 0; n < 64; n++) {
		unsigned arg = rp__cmsg_count_encode(n, &v);

		CU_ASSERT_EQUAL(v, n);
		CU_ASSERT_EQUAL(rp__cmsg_count_decode(arg), n);
	}
	for (uint64_t n = 64; n < (63u << 15); n = n * 5 / 4 + 7) {
		unsigned arg = rp__cmsg_count_encode(n, &v);

		CU_ASSERT(arg <= RP_CMSG_ARG_MAX);
		CU_ASSERT_EQUAL(rp__cmsg_count_decode(arg), v);
		CU_ASSERT(v <= n && v >= n - n / 32);
	}
	rp__cmsg_count_encode(UINT64_MAX, &v);
	CU_ASSERT_EQUAL(v, 63u << 15);
}

/* ---- the local half -------------------------------------------------------- */

struct sent {
	unsigned n;
	enum rp_cmsg_kind kind[32];
	unsigned arg[32];
};

static void record_send(void *ctx, enum rp_cmsg_kind kind, unsigned arg)
{
	struct sent *s = ctx;

	CU_ASSERT_FATAL(s->n < 32);
	s->kind[s->n] = kind;
	s->arg[s->n++] = arg;
}

static const struct rp_outlier_params gw3 = {.streak_max = {3, 0}};

static void test_local_flush_now_at_threshold(void)
{
	struct rp_outlier_local l = {0};
	struct sent s = {0};

	CU_ASSERT_EQUAL(rp__outlier_record(&l, &gw3, RP_OUTCOME_GATEWAY, record_send, &s),
			RP_OUTLIER_FLUSH_SOON);
	CU_ASSERT_EQUAL(rp__outlier_record(&l, &gw3, RP_OUTCOME_GATEWAY, record_send, &s),
			RP_OUTLIER_FLUSH_SOON);
	CU_ASSERT_EQUAL(rp__outlier_record(&l, &gw3, RP_OUTCOME_GATEWAY, record_send, &s),
			RP_OUTLIER_FLUSH_NOW);
	CU_ASSERT_EQUAL(s.n, 0); /* nothing goes by itself */
	rp__outlier_flush_streaks(&l, record_send, &s);
	CU_ASSERT_EQUAL_FATAL(s.n, 1);
	CU_ASSERT(s.kind[0] == RP_CMSG_GATEWAY && s.arg[0] == 3);
	/* Flushed: nothing left to send. */
	rp__outlier_flush_streaks(&l, record_send, &s);
	CU_ASSERT_EQUAL(s.n, 1);
}

static void test_local_sent_counts_toward_threshold(void)
{
	struct rp_outlier_local l = {0};
	struct sent s = {0};

	rp__outlier_record(&l, &gw3, RP_OUTCOME_GATEWAY, record_send, &s);
	rp__outlier_record(&l, &gw3, RP_OUTCOME_GATEWAY, record_send, &s);
	rp__outlier_flush_streaks(&l, record_send, &s); /* a timer's flush */
	CU_ASSERT(s.n == 1 && s.arg[0] == 2);
	/* The third of the streak on this reactor: the threshold, now. */
	CU_ASSERT_EQUAL(rp__outlier_record(&l, &gw3, RP_OUTCOME_GATEWAY, record_send, &s),
			RP_OUTLIER_FLUSH_NOW);
}

static void test_local_success_told_only_after_a_report(void)
{
	struct rp_outlier_local l = {0};
	struct sent s = {0};

	/* Unreported failures die quietly. */
	rp__outlier_record(&l, &gw3, RP_OUTCOME_GATEWAY, record_send, &s);
	CU_ASSERT_EQUAL(rp__outlier_record(&l, &gw3, RP_OUTCOME_OK, record_send, &s), 0);
	CU_ASSERT_EQUAL(s.n, 0);
	CU_ASSERT_EQUAL(l.pending[RP_DETECT_GATEWAY], 0);
	/* Reported ones are taken back, once. */
	rp__outlier_record(&l, &gw3, RP_OUTCOME_GATEWAY, record_send, &s);
	rp__outlier_flush_streaks(&l, record_send, &s);
	rp__outlier_record(&l, &gw3, RP_OUTCOME_OK, record_send, &s);
	rp__outlier_record(&l, &gw3, RP_OUTCOME_OK, record_send, &s);
	CU_ASSERT_EQUAL_FATAL(s.n, 2);
	CU_ASSERT(s.kind[1] == RP_CMSG_SUCCESS && s.arg[1] == 1u << RP_DETECT_GATEWAY);
}

static void test_local_5xx_breaks_only_the_gateway_streak(void)
{
	const struct rp_outlier_params p = {.streak_max = {3, 5}};
	struct rp_outlier_local l = {0};
	struct sent s = {0};

	/* A gateway failure counts for both detectors... */
	rp__outlier_record(&l, &p, RP_OUTCOME_GATEWAY, record_send, &s);
	CU_ASSERT(l.pending[RP_DETECT_GATEWAY] == 1 && l.pending[RP_DETECT_5XX] == 1);
	rp__outlier_flush_streaks(&l, record_send, &s);
	CU_ASSERT_EQUAL(s.n, 2);
	/* ...a 5xx answer only for the 5xx one, and it ends the gateway
	 * streak (the backend did answer). */
	rp__outlier_record(&l, &p, RP_OUTCOME_5XX, record_send, &s);
	CU_ASSERT_EQUAL_FATAL(s.n, 3);
	CU_ASSERT(s.kind[2] == RP_CMSG_SUCCESS && s.arg[2] == 1u << RP_DETECT_GATEWAY);
	CU_ASSERT(l.pending[RP_DETECT_GATEWAY] == 0 && l.pending[RP_DETECT_5XX] == 1);
	CU_ASSERT_EQUAL(l.sent[RP_DETECT_5XX], 1);
}

static void test_local_detectors_off_are_silent(void)
{
	const struct rp_outlier_params off = {0};
	struct rp_outlier_local l = {0};
	struct sent s = {0};

	for (int i = 0; i < 100; i++)
		CU_ASSERT_EQUAL(rp__outlier_record(&l, &off, (enum rp_outcome)(i % 3),
						   record_send, &s),
				0);
	rp__outlier_flush_streaks(&l, record_send, &s);
	rp__outlier_flush_rates(&l, record_send, &s);
	CU_ASSERT_EQUAL(s.n, 0);
}

static void test_local_rates_carry_what_the_coding_cannot(void)
{
	const struct rp_outlier_params p = {.rates = true};
	struct rp_outlier_local l = {0};
	uint64_t total = 0, fail = 0;
	struct sent s = {0};

	for (int i = 0; i < 100003; i++)
		rp__outlier_record(&l, &p, i % 10 ? RP_OUTCOME_OK : RP_OUTCOME_5XX,
				   record_send, &s);
	CU_ASSERT(l.sr_total == 100003 && l.sr_fail == 10001);
	rp__outlier_flush_rates(&l, record_send, &s);
	CU_ASSERT(s.n >= 2 && s.n <= 6);
	for (unsigned k = 0; k < s.n; k++) {
		if (s.kind[k] == RP_CMSG_SR_TOTAL)
			total += rp__cmsg_count_decode(s.arg[k]);
		else if (s.kind[k] == RP_CMSG_SR_FAIL)
			fail += rp__cmsg_count_decode(s.arg[k]);
		else
			CU_FAIL("not a rate message");
	}
	/* Sent plus carried is what was counted: nothing lost. */
	CU_ASSERT_EQUAL(total + l.sr_total, 100003);
	CU_ASSERT_EQUAL(fail + l.sr_fail, 10001);
	CU_ASSERT(l.sr_total < 8 && l.sr_fail < 8);
}

/* ---- the owner ------------------------------------------------------------- */

static struct rp_cluster_config cfg;
static struct rp_outlier od;
static struct rp_outlier_event evs[64];
static unsigned nev;

static void on_event(void *ctx, const struct rp_outlier_event *ev)
{
	CU_ASSERT_PTR_EQUAL(ctx, &od);
	CU_ASSERT_FATAL(nev < 64);
	evs[nev++] = *ev;
}

/* @n backends, gateway threshold 3, base 1 s, the rest as configured by
 * default unless the caller changes cfg and calls owner_reinit(). */
static void owner(unsigned n)
{
	rp_cluster_config_init(&cfg, "c");
	cfg.nbackends = n;
	cfg.fall = 3;
	cfg.cooldown_ms = 1000;
	rp__outlier_init(&od, &cfg, on_event, &od);
	nev = 0;
}

static void owner_reinit(void)
{
	rp__outlier_init(&od, &cfg, on_event, &od);
	nev = 0;
}

static void test_owner_sums_reports_of_all_reactors(void)
{
	owner(4);
	/* Two on one reactor, one on another: three in a row in all. */
	rp__outlier_streak(&od, 1, RP_DETECT_GATEWAY, 2, 100);
	CU_ASSERT_EQUAL(nev, 0);
	rp__outlier_streak(&od, 1, RP_DETECT_GATEWAY, 1, 150);
	CU_ASSERT_EQUAL_FATAL(nev, 1);
	CU_ASSERT_EQUAL(evs[0].what, RP_OUTLIER_EJECTED);
	CU_ASSERT_EQUAL(evs[0].backend, 1);
	CU_ASSERT_EQUAL(evs[0].detector, RP_DETECT_GATEWAY);
	CU_ASSERT_EQUAL(evs[0].streak, 3);
	CU_ASSERT_EQUAL(evs[0].ejections, 1);
	CU_ASSERT_EQUAL(evs[0].duration_ms, 1000);
	CU_ASSERT(od.h[1].ejected && od.nejected == 1);
}

static void test_owner_success_breaks_the_sum(void)
{
	owner(4);
	rp__outlier_streak(&od, 0, RP_DETECT_GATEWAY, 2, 10);
	rp__outlier_success(&od, 0, 1u << RP_DETECT_GATEWAY);
	rp__outlier_streak(&od, 0, RP_DETECT_GATEWAY, 2, 20);
	CU_ASSERT_EQUAL(nev, 0);
	/* Another detector's success leaves it be. */
	rp__outlier_success(&od, 0, 1u << RP_DETECT_5XX);
	rp__outlier_streak(&od, 0, RP_DETECT_GATEWAY, 1, 30);
	CU_ASSERT_EQUAL(nev, 1);
}

static void test_owner_detector_off_never_ejects(void)
{
	owner(4);
	rp__outlier_streak(&od, 0, RP_DETECT_5XX, 1000, 10); /* 5xx off by default */
	CU_ASSERT_EQUAL(nev, 0);
	cfg.outlier.consecutive_5xx = 5;
	owner_reinit();
	rp__outlier_streak(&od, 0, RP_DETECT_5XX, 4, 10);
	CU_ASSERT_EQUAL(nev, 0);
	rp__outlier_streak(&od, 0, RP_DETECT_5XX, 1, 10);
	CU_ASSERT(nev == 1 && evs[0].detector == RP_DETECT_5XX && evs[0].streak == 5);
}

/* Ejects @b by three gateway failures at @now; the event. */
static struct rp_outlier_event *eject_at(unsigned b, uint64_t now)
{
	unsigned before = nev;

	rp__outlier_streak(&od, b, RP_DETECT_GATEWAY, 3, now);
	CU_ASSERT_EQUAL_FATAL(nev, before + 1);
	return &evs[nev - 1];
}

static void test_owner_ejection_time_grows_then_caps(void)
{
	const uint64_t want[] = {1000, 2000, 2500, 2500};
	uint64_t now = 1000;

	owner(4);
	cfg.outlier.max_ejection_ms = 2500;
	owner_reinit();
	for (unsigned i = 0; i < 4; i++) {
		struct rp_outlier_event *ev = eject_at(2, now);

		CU_ASSERT_EQUAL(ev->what, RP_OUTLIER_EJECTED);
		CU_ASSERT_EQUAL(ev->duration_ms, want[i]);
		/* The multiplier stops where it no longer lengthens. */
		CU_ASSERT_EQUAL(ev->ejections, i < 3 ? i + 1 : 3);
		now += ev->duration_ms;
		rp__outlier_expire(&od, 2, now);
		CU_ASSERT_EQUAL_FATAL(evs[nev - 1].what, RP_OUTLIER_BACK);
		CU_ASSERT_EQUAL(evs[nev - 1].back, RP_BACK_TIME);
		CU_ASSERT_EQUAL(evs[nev - 1].duration_ms, want[i]);
		CU_ASSERT(!od.h[2].ejected && od.nejected == 0);
		now += 10; /* failing again at once */
	}
}

static void test_owner_cap_never_below_base(void)
{
	owner(4);
	cfg.cooldown_ms = 5000;
	cfg.outlier.max_ejection_ms = 1000;
	owner_reinit();
	CU_ASSERT_EQUAL(eject_at(0, 10)->duration_ms, 5000);
}

static void test_owner_time_in_service_forgives_ejections(void)
{
	uint64_t now = 10;
	struct rp_outlier_event *ev;

	owner(4);
	for (int i = 0; i < 3; i++) {
		ev = eject_at(0, now);
		now += ev->duration_ms;
		rp__outlier_expire(&od, 0, now);
	}
	CU_ASSERT_EQUAL(od.h[0].ejections, 3);
	/* Two whole intervals (10 s each) in service: two forgiven. */
	now += 2 * cfg.outlier.interval_ms + 5;
	ev = eject_at(0, now);
	CU_ASSERT_EQUAL(ev->ejections, 2);
	CU_ASSERT_EQUAL(ev->duration_ms, 2000);
	now += ev->duration_ms;
	rp__outlier_expire(&od, 0, now);
	/* A long time: back to the base. */
	now += 100 * cfg.outlier.interval_ms;
	CU_ASSERT_EQUAL(eject_at(0, now)->ejections, 1);
}

static void test_owner_max_ejection_percent(void)
{
	struct rp_outlier_event *ev;

	owner(4); /* 50%: two of four */
	CU_ASSERT_EQUAL(eject_at(0, 10)->what, RP_OUTLIER_EJECTED);
	CU_ASSERT_EQUAL(eject_at(1, 20)->what, RP_OUTLIER_EJECTED);
	ev = eject_at(2, 30);
	CU_ASSERT_EQUAL(ev->what, RP_OUTLIER_KEPT);
	CU_ASSERT_EQUAL(ev->kept, RP_KEPT_PERCENT);
	CU_ASSERT(ev->nout == 2 && ev->n == 4);
	CU_ASSERT(!ev->quiet);
	CU_ASSERT(!od.h[2].ejected && od.nejected == 2);
	/* Tried again after another streak: quiet within the interval. */
	ev = eject_at(2, 40);
	CU_ASSERT(ev->what == RP_OUTLIER_KEPT && ev->quiet);
	ev = eject_at(2, 40 + cfg.outlier.interval_ms);
	CU_ASSERT(ev->what == RP_OUTLIER_KEPT && !ev->quiet);
	/* One back, and the next streak ejects it. */
	rp__outlier_expire(&od, 0, 1010);
	CU_ASSERT_EQUAL(eject_at(2, 1020)->what, RP_OUTLIER_EJECTED);

	owner(2);
	cfg.outlier.max_ejection_percent = 0;
	owner_reinit();
	CU_ASSERT_EQUAL(eject_at(0, 10)->what, RP_OUTLIER_KEPT);
}

static void test_owner_last_backend_stays_in(void)
{
	struct rp_outlier_event *ev;

	owner(2);
	cfg.outlier.max_ejection_percent = 100;
	owner_reinit();
	CU_ASSERT_EQUAL(eject_at(0, 10)->what, RP_OUTLIER_EJECTED);
	ev = eject_at(1, 20);
	CU_ASSERT(ev->what == RP_OUTLIER_KEPT && ev->kept == RP_KEPT_LAST);
	CU_ASSERT(!od.h[1].ejected);

	owner(1);
	cfg.outlier.max_ejection_percent = 100;
	owner_reinit();
	ev = eject_at(0, 10);
	CU_ASSERT(ev->what == RP_OUTLIER_KEPT && ev->kept == RP_KEPT_LAST);
}

static void test_owner_checked_down_counts_out(void)
{
	struct rp_outlier_event *ev;

	owner(3);
	cfg.outlier.max_ejection_percent = 100;
	owner_reinit();
	rp__outlier_checked(&od, 1, false, 5);
	/* Reports about it are moot. */
	rp__outlier_streak(&od, 1, RP_DETECT_GATEWAY, 10, 6);
	CU_ASSERT_EQUAL(nev, 0);
	CU_ASSERT_EQUAL(eject_at(0, 10)->what, RP_OUTLIER_EJECTED);
	ev = eject_at(2, 20);
	CU_ASSERT(ev->what == RP_OUTLIER_KEPT && ev->kept == RP_KEPT_LAST);
	CU_ASSERT_EQUAL(ev->nout, 2);
}

static void test_owner_checks_passing_bring_it_back(void)
{
	owner(4);
	eject_at(3, 10);
	rp__outlier_checked(&od, 3, false, 20);
	CU_ASSERT_EQUAL(nev, 1);
	CU_ASSERT(od.h[3].ejected);
	rp__outlier_checked(&od, 3, true, 500);
	CU_ASSERT_EQUAL_FATAL(nev, 2);
	CU_ASSERT_EQUAL(evs[1].what, RP_OUTLIER_BACK);
	CU_ASSERT_EQUAL(evs[1].back, RP_BACK_CHECK);
	CU_ASSERT_EQUAL(evs[1].detector, RP_DETECT_GATEWAY);
	CU_ASSERT_EQUAL(evs[1].duration_ms, 490);
	CU_ASSERT(!od.h[3].ejected && od.nejected == 0);
	/* Its timer, when it comes, finds nothing to do. */
	rp__outlier_expire(&od, 3, 1010);
	CU_ASSERT_EQUAL(nev, 2);
}

static void test_owner_reports_while_ejected_ignored(void)
{
	owner(4);
	eject_at(0, 10);
	rp__outlier_streak(&od, 0, RP_DETECT_GATEWAY, 100, 20);
	rp__outlier_rates(&od, 0, 100, 100);
	CU_ASSERT_EQUAL(nev, 1);
	rp__outlier_expire(&od, 0, 1010);
	/* Counted afresh once back. */
	rp__outlier_streak(&od, 0, RP_DETECT_GATEWAY, 2, 1020);
	CU_ASSERT_EQUAL(nev, 2);
	CU_ASSERT_EQUAL(od.h[0].sr_total, 0);
	/* Out-of-range backends are dropped, not stored. */
	rp__outlier_streak(&od, 40, RP_DETECT_GATEWAY, 100, 30);
	rp__outlier_rates(&od, 40, 1, 1);
	rp__outlier_expire(&od, 40, 30);
	CU_ASSERT_EQUAL(nev, 2);
}

/* ---- success rate ---------------------------------------------------------- */

static void sr_owner(unsigned n, unsigned threshold, unsigned stdev)
{
	owner(n);
	cfg.fall = 0;
	cfg.outlier.sr_threshold = threshold;
	cfg.outlier.sr_stdev_factor = stdev;
	cfg.outlier.sr_minimum_hosts = 2;
	cfg.outlier.sr_request_volume = 10;
	cfg.outlier.max_ejection_percent = 100;
	owner_reinit();
}

static void test_sweep_threshold(void)
{
	sr_owner(3, 80, 0);
	rp__outlier_rates(&od, 0, 60, 0); /* reported in parts, by reactors */
	rp__outlier_rates(&od, 0, 40, 50);
	rp__outlier_rates(&od, 1, 100, 1);
	rp__outlier_rates(&od, 2, 5, 5); /* below the volume: not judged */
	rp__outlier_sweep(&od, 1000);
	CU_ASSERT_EQUAL_FATAL(nev, 1);
	CU_ASSERT_EQUAL(evs[0].what, RP_OUTLIER_EJECTED);
	CU_ASSERT_EQUAL(evs[0].backend, 0);
	CU_ASSERT_EQUAL(evs[0].detector, RP_DETECT_SUCCESS_RATE);
	CU_ASSERT_EQUAL(evs[0].rate, 500);
	CU_ASSERT_EQUAL(evs[0].bar, 800);
	/* The window starts again: nothing is judged twice. */
	rp__outlier_sweep(&od, 2000);
	CU_ASSERT_EQUAL(nev, 1);
	CU_ASSERT_EQUAL(od.h[1].sr_total, 0);
}

static void test_sweep_stdev_factor(void)
{
	/* Rates 1, 1, 1, 1, 0.5: mean 0.9, stdev 0.2. Envoy's 1.9 puts the
	 * bar at 0.52; 3.0 at 0.3. */
	for (int round = 0; round < 2; round++) {
		sr_owner(5, 0, round ? 3000 : 1900);
		for (unsigned i = 0; i < 5; i++)
			rp__outlier_rates(&od, i, 100, i == 4 ? 50 : 0);
		rp__outlier_sweep(&od, 1000);
		if (round) {
			CU_ASSERT_EQUAL(nev, 0);
			continue;
		}
		CU_ASSERT_EQUAL_FATAL(nev, 1);
		CU_ASSERT_EQUAL(evs[0].backend, 4);
		CU_ASSERT_EQUAL(evs[0].bar, 520);
	}
	/* All alike: no outlier, whatever the factor. */
	sr_owner(5, 0, 1);
	for (unsigned i = 0; i < 5; i++)
		rp__outlier_rates(&od, i, 100, 30);
	rp__outlier_sweep(&od, 1000);
	CU_ASSERT_EQUAL(nev, 0);
}

static void test_sweep_needs_minimum_hosts(void)
{
	sr_owner(3, 80, 0);
	cfg.outlier.sr_minimum_hosts = 3;
	owner_reinit();
	rp__outlier_rates(&od, 0, 100, 100);
	rp__outlier_rates(&od, 1, 100, 0);
	rp__outlier_rates(&od, 2, 9, 0); /* one short of the volume */
	rp__outlier_sweep(&od, 1000);
	CU_ASSERT_EQUAL(nev, 0);
}

static void test_sweep_worst_first_within_limits(void)
{
	static const unsigned fail[4] = {50, 80, 40, 0};

	sr_owner(4, 90, 0);
	cfg.outlier.max_ejection_percent = 50;
	owner_reinit();
	for (unsigned i = 0; i < 4; i++)
		rp__outlier_rates(&od, i, 100, fail[i]);
	rp__outlier_sweep(&od, 1000);
	CU_ASSERT_EQUAL_FATAL(nev, 3);
	CU_ASSERT(evs[0].what == RP_OUTLIER_EJECTED && evs[0].backend == 1);
	CU_ASSERT(evs[1].what == RP_OUTLIER_EJECTED && evs[1].backend == 0);
	CU_ASSERT(evs[2].what == RP_OUTLIER_KEPT && evs[2].backend == 2);
}

static void test_sweep_off_without_a_rule(void)
{
	sr_owner(3, 0, 0);
	rp__outlier_rates(&od, 0, 100, 100);
	rp__outlier_rates(&od, 1, 100, 0);
	rp__outlier_sweep(&od, 1000);
	CU_ASSERT_EQUAL(nev, 0);
}

static const struct rp_unit_test tests[] = {
	RP_TEST(test_cmsg_roundtrip),
	RP_TEST(test_cmsg_count_coding),
	RP_TEST(test_local_flush_now_at_threshold),
	RP_TEST(test_local_sent_counts_toward_threshold),
	RP_TEST(test_local_success_told_only_after_a_report),
	RP_TEST(test_local_5xx_breaks_only_the_gateway_streak),
	RP_TEST(test_local_detectors_off_are_silent),
	RP_TEST(test_local_rates_carry_what_the_coding_cannot),
	RP_TEST(test_owner_sums_reports_of_all_reactors),
	RP_TEST(test_owner_success_breaks_the_sum),
	RP_TEST(test_owner_detector_off_never_ejects),
	RP_TEST(test_owner_ejection_time_grows_then_caps),
	RP_TEST(test_owner_cap_never_below_base),
	RP_TEST(test_owner_time_in_service_forgives_ejections),
	RP_TEST(test_owner_max_ejection_percent),
	RP_TEST(test_owner_last_backend_stays_in),
	RP_TEST(test_owner_checked_down_counts_out),
	RP_TEST(test_owner_checks_passing_bring_it_back),
	RP_TEST(test_owner_reports_while_ejected_ignored),
	RP_TEST(test_sweep_threshold),
	RP_TEST(test_sweep_stdev_factor),
	RP_TEST(test_sweep_needs_minimum_hosts),
	RP_TEST(test_sweep_worst_first_within_limits),
	RP_TEST(test_sweep_off_without_a_rule),
};
RP_UNIT_MAIN("outlier", tests)

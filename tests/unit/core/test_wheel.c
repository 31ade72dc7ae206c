// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_wheel.c - the timer wheel: firing order and time, cancel, re-arm,
 * timers beyond one revolution, already-due timers, and next-expiry hints.
 */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "unit.h"

struct probe_timer {
	struct rp_timer t;
	int fired;
	uint64_t fired_at;
};

static void on_fire(struct rp_timer *t, uint64_t now)
{
	struct probe_timer *p = rp_container_of(t, struct probe_timer, t);

	p->fired++;
	p->fired_at = now;
}

static struct rp_wheel *new_wheel(uint64_t now)
{
	struct rp_wheel *w = malloc(sizeof(*w));

	rp__wheel_init(w, now);
	return w;
}

static void test_wheel_fires_at_expiry(void)
{
	struct rp_wheel *w = new_wheel(1000);
	struct probe_timer a = {.t.fn = on_fire};

	rp__timer_arm(w, &a.t, 1050);
	CU_ASSERT_EQUAL(rp__wheel_run(w, 1049), 0);
	CU_ASSERT_EQUAL(a.fired, 0);
	CU_ASSERT_EQUAL(rp__wheel_run(w, 1050), 1);
	CU_ASSERT_EQUAL(a.fired, 1);
	CU_ASSERT_EQUAL(a.fired_at, 1050);
	CU_ASSERT_FALSE(rp__timer_armed(&a.t));
	CU_ASSERT_EQUAL(rp__wheel_run(w, 5000), 0);
	CU_ASSERT_EQUAL(a.fired, 1);
	free(w);
}

static void test_wheel_cancel_prevents_firing(void)
{
	struct rp_wheel *w = new_wheel(0);
	struct probe_timer a = {.t.fn = on_fire}, b = {.t.fn = on_fire};

	rp__timer_arm(w, &a.t, 10);
	rp__timer_arm(w, &b.t, 10);
	rp__timer_cancel(w, &a.t);
	rp__timer_cancel(w, &a.t); /* twice is harmless */
	CU_ASSERT_EQUAL(w->count, 1);
	CU_ASSERT_EQUAL(rp__wheel_run(w, 20), 1);
	CU_ASSERT_EQUAL(a.fired, 0);
	CU_ASSERT_EQUAL(b.fired, 1);
	CU_ASSERT_EQUAL(w->count, 0);
	free(w);
}

static void test_wheel_rearm_moves_timer(void)
{
	struct rp_wheel *w = new_wheel(0);
	struct probe_timer a = {.t.fn = on_fire};

	rp__timer_arm(w, &a.t, 10);
	rp__timer_arm(w, &a.t, 100);
	CU_ASSERT_EQUAL(w->count, 1);
	CU_ASSERT_EQUAL(rp__wheel_run(w, 50), 0);
	CU_ASSERT_EQUAL(rp__wheel_run(w, 100), 1);
	free(w);
}

static void test_wheel_beyond_one_revolution(void)
{
	struct rp_wheel *w = new_wheel(0);
	struct probe_timer a = {.t.fn = on_fire};
	uint64_t far = 3 * RP_WHEEL_SLOTS + 17;

	rp__timer_arm(w, &a.t, far);
	/* Step through time in uneven strides past its slot twice. */
	for (uint64_t now = 7; now < far; now += 333)
		rp__wheel_run(w, now);
	CU_ASSERT_EQUAL(a.fired, 0);
	rp__wheel_run(w, far);
	CU_ASSERT_EQUAL(a.fired, 1);
	CU_ASSERT_EQUAL(a.fired_at, far);
	free(w);
}

static void test_wheel_past_expiry_fires_next_run(void)
{
	struct rp_wheel *w = new_wheel(500);
	struct probe_timer a = {.t.fn = on_fire};

	rp__timer_arm(w, &a.t, 100); /* already in the past */
	CU_ASSERT_EQUAL(rp__wheel_next(w, 500), 1);
	CU_ASSERT_EQUAL(rp__wheel_run(w, 501), 1);
	free(w);
}

static void test_wheel_big_jump_fires_everything(void)
{
	struct rp_wheel *w = new_wheel(0);
	struct probe_timer t[64];

	for (int i = 0; i < 64; i++) {
		memset(&t[i], 0, sizeof(t[i]));
		t[i].t.fn = on_fire;
		rp__timer_arm(w, &t[i].t, (uint64_t)(i * 97 + 1));
	}
	/* A reactor that slept through several revolutions. */
	CU_ASSERT_EQUAL(rp__wheel_run(w, 10 * RP_WHEEL_SLOTS), 64);
	for (int i = 0; i < 64; i++)
		CU_ASSERT_EQUAL(t[i].fired, 1);
	free(w);
}

struct rearmer {
	struct rp_timer t;
	struct rp_wheel *w;
	int fired;
};

static void rearm_self(struct rp_timer *t, uint64_t now)
{
	struct rearmer *r = rp_container_of(t, struct rearmer, t);

	r->fired++;
	rp__timer_arm(r->w, t, now); /* due again at once */
}

static void test_wheel_rearm_from_callback_runs_once_per_run(void)
{
	struct rp_wheel *w = new_wheel(0);
	struct rearmer r = {.t.fn = rearm_self, .w = w};

	rp__timer_arm(w, &r.t, 5);
	CU_ASSERT_EQUAL(rp__wheel_run(w, 5), 1);
	CU_ASSERT_EQUAL(r.fired, 1);
	CU_ASSERT_EQUAL(rp__wheel_run(w, 6), 1);
	CU_ASSERT_EQUAL(r.fired, 2);
	rp__timer_cancel(w, &r.t);
	free(w);
}

static void test_wheel_next_reports_nearest(void)
{
	struct rp_wheel *w = new_wheel(1000);
	struct probe_timer a = {.t.fn = on_fire}, b = {.t.fn = on_fire};

	CU_ASSERT_EQUAL(rp__wheel_next(w, 1000), -1);
	rp__timer_arm(w, &a.t, 1300);
	rp__timer_arm(w, &b.t, 1040);
	CU_ASSERT_EQUAL(rp__wheel_next(w, 1000), 40);
	rp__timer_cancel(w, &b.t);
	rp__wheel_run(w, 1040); /* clears the stale slot bit */
	CU_ASSERT_EQUAL(rp__wheel_next(w, 1040), 260);
	free(w);
}

static const struct rp_unit_test tests[] = {
	RP_TEST(test_wheel_fires_at_expiry),
	RP_TEST(test_wheel_cancel_prevents_firing),
	RP_TEST(test_wheel_rearm_moves_timer),
	RP_TEST(test_wheel_beyond_one_revolution),
	RP_TEST(test_wheel_past_expiry_fires_next_run),
	RP_TEST(test_wheel_big_jump_fires_everything),
	RP_TEST(test_wheel_rearm_from_callback_runs_once_per_run),
	RP_TEST(test_wheel_next_reports_nearest),
};
RP_UNIT_MAIN("wheel", tests)

// SPDX-License-Identifier: BSD-2-Clause
/*
 * wheel.c - the per-reactor timer wheel (connect, idle and drain timeouts,
 * accept retries). Arm and cancel are O(1); a run visits only the slots the
 * bitmap marks as non-empty between the last run and now.
 */
#include <string.h>

#include "core/core.h"

#define SLOT_MASK (RP_WHEEL_SLOTS - 1)

static void slot_mark(struct rp_wheel *w, unsigned s)
{
	w->used[s / 64] |= 1ull << (s % 64);
}

static void slot_clear_if_empty(struct rp_wheel *w, unsigned s)
{
	if (!w->slot[s])
		w->used[s / 64] &= ~(1ull << (s % 64));
}

void rp__wheel_init(struct rp_wheel *w, uint64_t now_ms)
{
	memset(w, 0, sizeof(*w));
	w->cur = now_ms;
}

static void link_timer(struct rp_wheel *w, struct rp_timer *t)
{
	/* A timer already due goes to the next tick's slot, never behind cur,
	 * where it would wait a whole revolution. */
	uint64_t tick = t->expires > w->cur ? t->expires : w->cur + 1;
	unsigned s = tick & SLOT_MASK;

	t->next = w->slot[s];
	if (t->next)
		t->next->pprev = &t->next;
	t->pprev = &w->slot[s];
	w->slot[s] = t;
	slot_mark(w, s);
}

static void unlink_timer(struct rp_timer *t)
{
	*t->pprev = t->next;
	if (t->next)
		t->next->pprev = t->pprev;
	t->next = NULL;
	t->pprev = NULL;
}

void rp__timer_arm(struct rp_wheel *w, struct rp_timer *t, uint64_t expires)
{
	if (t->pprev)
		unlink_timer(t);
	else
		w->count++;
	t->expires = expires;
	link_timer(w, t);
}

void rp__timer_cancel(struct rp_wheel *w, struct rp_timer *t)
{
	if (!t->pprev)
		return;
	unlink_timer(t);
	w->count--;
	/* The slot's bit may stay set; a run clears it lazily. */
}

static unsigned run_slot(struct rp_wheel *w, unsigned s, uint64_t now_ms)
{
	struct rp_timer *list = w->slot[s], *t;
	unsigned fired = 0;

	/* Detach the slot first: a callback may re-arm its timer (even into
	 * this slot) and must not be fired twice in one run. */
	w->slot[s] = NULL;
	if (list)
		list->pprev = &list;
	while ((t = list) != NULL) {
		unlink_timer(t);
		if (t->expires <= now_ms) {
			w->count--;
			fired++;
			t->fn(t, now_ms);
		} else {
			link_timer(w, t);
		}
	}
	slot_clear_if_empty(w, s);
	return fired;
}

unsigned rp__wheel_run(struct rp_wheel *w, uint64_t now_ms)
{
	unsigned fired = 0;
	uint64_t from, to;

	if (now_ms <= w->cur)
		return 0;
	from = w->cur + 1;
	to = now_ms;
	if (to - from >= RP_WHEEL_SLOTS)
		from = to - RP_WHEEL_SLOTS + 1;
	/* Timers linked while running land at cur + 1 or later: advance cur
	 * first so a re-armed, already-due timer waits for the next run. */
	w->cur = now_ms;
	for (uint64_t tick = from; tick <= to; tick++) {
		unsigned s = tick & SLOT_MASK;
		uint64_t word = w->used[s / 64] >> (s % 64);

		if (!word) {
			/* Skip the rest of this bitmap word. */
			tick += 63 - (s % 64);
			continue;
		}
		if (word & 1)
			fired += run_slot(w, s, now_ms);
	}
	return fired;
}

int64_t rp__wheel_next(const struct rp_wheel *w, uint64_t now_ms)
{
	uint64_t base = now_ms > w->cur ? w->cur : now_ms;

	if (!w->count)
		return -1;
	if (now_ms > w->cur)
		return 0; /* due slots not yet run */
	for (unsigned i = 1; i <= RP_WHEEL_SLOTS; i++) {
		unsigned s = (base + i) & SLOT_MASK;
		uint64_t word = w->used[s / 64] >> (s % 64);

		if (!word) {
			i += 63 - (s % 64);
			continue;
		}
		if (word & 1)
			return (int64_t)(base + i - now_ms);
	}
	return RP_WHEEL_SLOTS;
}

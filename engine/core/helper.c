// SPDX-License-Identifier: BSD-2-Clause
/*
 * helper.c - the helper threads: a small fixed pool that runs what must not
 * run on a reactor (DESIGN rule 8; password hashing today) and hands each
 * result back to the reactor that asked, by IORING_OP_MSG_RING.
 *
 * Each reactor has a bounded queue of its own, a ring of job pointers with
 * one producer (the reactor) and several consumers (the helpers), so a
 * reactor queues with a few atomic operations and never waits: a full queue
 * is the caller's refusal to make. Helpers take one job of each queue in
 * turn, so that one busy reactor cannot starve the others, and sleep on a
 * futex word that every submission bumps. A result travels as the res of a
 * CQE posted to the submitter's ring, from a small ring each helper owns,
 * with the job's done op as its user_data: the reactor dispatches it like
 * any other completion.
 *
 * Helpers run at a lower priority (nice) than the reactors they share CPUs
 * with: the work they take is what may be slow, and a reactor turn is what
 * must not be.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "core/engine_int.h"

#define HELPER_NICE	  10
#define HELPER_POST_TRIES 100 /* 1 ms apart: a reactor briefly out of CQ room */
#define HELPER_MAX_QUEUE  (1u << 16)

struct helper_queue {
	uint64_t tail __attribute__((aligned(RP_CACHELINE))); /* the reactor's */
	uint64_t head __attribute__((aligned(RP_CACHELINE))); /* claimed by CAS */
	/* Helpers between seeing the queue open and being done with a job;
	 * closed: the reactor is going (rp__helpers_quiesce()). */
	unsigned running;
	unsigned closed;
	unsigned mask;
	struct rp_helper_job **slot;
};

struct helper {
	struct rp_helpers *pool;
	pthread_t thread;
	struct io_uring ring; /* for MSG_RING only */
	bool ring_ok, started;
	unsigned id;
	unsigned next_q; /* where the next round of queues starts */
};

struct rp_helpers {
	/* The futex word: bumped for every job queued and at stop, so that a
	 * helper that found nothing sleeps only while nothing came since. */
	uint32_t seq;
	unsigned sleepers;
	unsigned stop;
	unsigned nq;
	struct helper_queue *q; /* one per reactor */
	unsigned nthreads;
	struct helper *h;
	unsigned lost; /* results that could not be delivered */
};

static void futex_wake(uint32_t *word, int n)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

static void futex_wait(uint32_t *word, uint32_t val)
{
	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * Takes the oldest job of @q, or NULL. The slot is read before the CAS that
 * claims it: the reactor rewrites a slot only once head has passed it, and
 * then this CAS fails, so a job read here is the one claimed.
 */
static struct rp_helper_job *queue_claim(struct helper_queue *q)
{
	uint64_t h = __atomic_load_n(&q->head, __ATOMIC_ACQUIRE);

	for (;;) {
		uint64_t t = __atomic_load_n(&q->tail, __ATOMIC_ACQUIRE);
		struct rp_helper_job *j;

		if (h == t)
			return NULL;
		j = __atomic_load_n(&q->slot[h & q->mask], __ATOMIC_RELAXED);
		if (__atomic_compare_exchange_n(&q->head, &h, h + 1, false,
						__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			return j;
		/* h is the head now: another helper took that job */
	}
}

int rp__helper_submit(struct rp_reactor *r, struct rp_helper_job *j)
{
	struct rp_helpers *hp = r->eng->helpers;
	struct helper_queue *q;
	uint64_t t;

	if (!hp || !hp->nthreads)
		return -ENOSYS;
	q = &hp->q[r->id];
	t = __atomic_load_n(&q->tail, __ATOMIC_RELAXED);
	if (t - __atomic_load_n(&q->head, __ATOMIC_ACQUIRE) > q->mask)
		return -EAGAIN;
	j->ring_fd = r->ring.ring_fd;
	__atomic_store_n(&j->cancelled, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&q->slot[t & q->mask], j, __ATOMIC_RELAXED);
	/* Publishes the job and its slot to the helper that acquires tail. */
	__atomic_store_n(&q->tail, t + 1, __ATOMIC_RELEASE);
	/* Dekker with helper_main(): either a helper about to sleep sees the
	 * new seq, or we see it among the sleepers and wake one. */
	__atomic_fetch_add(&hp->seq, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&hp->sleepers, __ATOMIC_SEQ_CST))
		futex_wake(&hp->seq, 1);
	return 0;
}

void rp__helper_cancel(struct rp_helper_job *j)
{
	__atomic_store_n(&j->cancelled, 1, __ATOMIC_RELAXED);
}

/* Posts @res to @done on the ring @fd; retried while the kernel says the
 * target is busy. A result that cannot be delivered is logged: its owner
 * then waits for its own deadline. */
static void helper_post(struct helper *h, int fd, struct rp_op *done, int res)
{
	int ret = -EIO;

	for (int tries = 0; tries < HELPER_POST_TRIES; tries++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&h->ring);
		struct io_uring_cqe *cqe;

		if (!sqe)
			break; /* cannot happen: one SQE at a time */
		/* The target's CQE: user_data = @done, res = @res. */
		io_uring_prep_msg_ring(sqe, fd, (unsigned)res, (uint64_t)(uintptr_t)done,
				       0);
		io_uring_sqe_set_data64(sqe, 1);
		ret = io_uring_submit_and_wait(&h->ring, 1);
		if (ret >= 0)
			ret = io_uring_peek_cqe(&h->ring, &cqe);
		if (ret == 0) {
			ret = cqe->res;
			io_uring_cqe_seen(&h->ring, cqe);
		}
		if (ret >= 0)
			return;
		if (ret != -EAGAIN && ret != -EINTR && ret != -EBUSY)
			break;
		sleep_ms(1);
	}
	/* The reactor went away (EBADFD, EOWNERDEAD) or the kernel refuses. */
	if (__atomic_fetch_add(&h->pool->lost, 1, __ATOMIC_RELAXED) == 0)
		rp_warn("helper %u: cannot deliver a result to its reactor: %s "
			"(logged once)",
			h->id, strerror(-ret));
}

/* Runs one job of @q if it has one: true when it did. */
static bool helper_take(struct helper *h, struct helper_queue *q)
{
	struct rp_helper_job *j = NULL;

	__atomic_fetch_add(&q->running, 1, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&q->closed, __ATOMIC_SEQ_CST))
		j = queue_claim(q);
	if (j) {
		/* Nothing of the job is read after the post: the reactor
		 * may reuse it from then on. */
		struct rp_op *done = j->done;
		int fd = j->ring_fd;
		int res = __atomic_load_n(&j->cancelled, __ATOMIC_RELAXED) ? -ECANCELED
									   : j->run(j);

		helper_post(h, fd, done, res);
	}
	__atomic_fetch_sub(&q->running, 1, __ATOMIC_SEQ_CST);
	return j != NULL;
}

static void *helper_main(void *arg)
{
	struct helper *h = arg;
	struct rp_helpers *hp = h->pool;

	/* Yield to the reactors on a shared CPU (a lower priority needs no
	 * privilege; failure leaves the default). */
	(void)setpriority(PRIO_PROCESS, (id_t)gettid(), HELPER_NICE);
	for (;;) {
		uint32_t seen = __atomic_load_n(&hp->seq, __ATOMIC_SEQ_CST);
		bool any = false;

		if (__atomic_load_n(&hp->stop, __ATOMIC_SEQ_CST))
			break;
		for (unsigned k = 0; k < hp->nq; k++)
			any |= helper_take(h, &hp->q[(h->next_q + k) % hp->nq]);
		h->next_q = (h->next_q + 1) % hp->nq;
		if (any)
			continue;
		__atomic_fetch_add(&hp->sleepers, 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&hp->seq, __ATOMIC_SEQ_CST) == seen)
			futex_wait(&hp->seq, seen); /* returns at once if it moved */
		__atomic_fetch_sub(&hp->sleepers, 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

static void helpers_free(struct rp_helpers *hp)
{
	for (unsigned i = 0; i < hp->nthreads; i++)
		if (hp->h[i].ring_ok)
			io_uring_queue_exit(&hp->h[i].ring);
	if (hp->q)
		for (unsigned i = 0; i < hp->nq; i++)
			free(hp->q[i].slot);
	free(hp->q);
	free(hp->h);
	free(hp);
}

int rp__helpers_start(struct rp_engine *e, unsigned threads, unsigned queue, char *err,
		      size_t errlen)
{
	struct rp_helpers *hp;
	unsigned cap = 1;
	int ret;

	e->helpers = NULL;
	if (!threads)
		return 0;
	if (queue > HELPER_MAX_QUEUE)
		queue = HELPER_MAX_QUEUE;
	while (cap < queue)
		cap *= 2;
	hp = calloc(1, sizeof(*hp));
	if (!hp)
		goto fail_nomem;
	hp->nq = e->nreactors;
	hp->q = aligned_alloc(RP_CACHELINE, hp->nq * sizeof(*hp->q));
	hp->h = calloc(threads, sizeof(*hp->h));
	if (!hp->q || !hp->h)
		goto fail_free;
	memset(hp->q, 0, hp->nq * sizeof(*hp->q));
	for (unsigned i = 0; i < hp->nq; i++) {
		hp->q[i].mask = cap - 1;
		hp->q[i].slot = calloc(cap, sizeof(*hp->q[i].slot));
		if (!hp->q[i].slot)
			goto fail_free;
	}
	hp->nthreads = threads;
	for (unsigned i = 0; i < threads; i++) {
		struct helper *h = &hp->h[i];

		h->pool = hp;
		h->id = i;
		h->next_q = i % hp->nq;
		ret = io_uring_queue_init(4, &h->ring, 0);
		if (ret < 0) {
			snprintf(err, errlen, "helper thread %u: io_uring setup: %s", i,
				 strerror(-ret));
			helpers_free(hp);
			return ret;
		}
		h->ring_ok = true;
	}
	/* Threads last, so that a failure above has none to stop. */
	for (unsigned i = 0; i < threads; i++) {
		struct helper *h = &hp->h[i];
		char name[16];

		ret = -pthread_create(&h->thread, NULL, helper_main, h);
		if (ret < 0) {
			snprintf(err, errlen, "cannot start helper thread %u: %s", i,
				 strerror(-ret));
			e->helpers = hp;
			rp__helpers_stop(e);
			return ret;
		}
		h->started = true;
		snprintf(name, sizeof(name), "rp-helper-%u", i % 64);
		pthread_setname_np(h->thread, name);
	}
	e->helpers = hp;
	return 0;
fail_free:
	helpers_free(hp);
fail_nomem:
	snprintf(err, errlen, "helper threads: out of memory");
	return -ENOMEM;
}

void rp__helpers_stop(struct rp_engine *e)
{
	struct rp_helpers *hp = e->helpers;

	if (!hp)
		return;
	__atomic_store_n(&hp->stop, 1, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&hp->seq, 1, __ATOMIC_SEQ_CST);
	futex_wake(&hp->seq, INT_MAX);
	for (unsigned i = 0; i < hp->nthreads; i++)
		if (hp->h[i].started)
			pthread_join(hp->h[i].thread, NULL);
	helpers_free(hp);
	e->helpers = NULL;
}

void rp__helpers_quiesce(struct rp_reactor *r)
{
	struct rp_helpers *hp = r->eng->helpers;
	struct helper_queue *q;

	if (!hp)
		return;
	q = &hp->q[r->id];
	/* Dekker with helper_take(): a helper either sees closed and takes
	 * nothing, or is counted in running and is waited for. */
	__atomic_store_n(&q->closed, 1, __ATOMIC_SEQ_CST);
	while (queue_claim(q))
		; /* dropped: their owner is going */
	while (__atomic_load_n(&q->running, __ATOMIC_SEQ_CST))
		sleep_ms(1);
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * reactor.c - one reactor: a thread pinned to its CPU with its own io_uring,
 * its own SO_REUSEPORT listen sockets, buffer ring, pipe pool and timer
 * wheel. The loop is one io_uring_submit_and_wait_timeout() per turn followed
 * by dispatch of every completion to the rp_op it names. Nothing here takes a
 * lock; the only cross-thread traffic is MSG_RING control messages.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/core.h"
#include "core/engine_int.h"
#include "core/uring_compat.h"
#include "net/net.h"

#define RING_ENTRIES	1024
#define CQE_BATCH	256
#define ACCEPT_RETRY_MS 50
#define STOP_GRACE_MS	1000

struct io_uring_sqe *rp__reactor_sqe(struct rp_reactor *r)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);

	while (rp_unlikely(!sqe)) {
		/* SQ full: hand what we have to the kernel now. */
		io_uring_submit(&r->ring);
		sqe = io_uring_get_sqe(&r->ring);
	}
	return sqe;
}

/* ---- listeners ------------------------------------------------------------ */

static void accept_cqe(struct rp_op *op, int res, uint32_t flags);

/*
 * A multishot accept takes every connection queued on its listener at once
 * (the kernel accepts until the queue is empty before we see a CQE), so it
 * is used only while that cannot cross --max-conns: while more slots are
 * free than all our listeners' queues can hold. Closer to the limit each
 * accept is asked for singly and the limit is checked after each.
 */
static bool accept_multishot_fits(const struct rp_reactor *r)
{
	return r->feat->multishot_accept &&
	       r->stats.active + r->accept_burst < r->cfg->max_conns;
}

static void lsock_arm(struct rp_lsock *ls)
{
	struct rp_reactor *r = ls->r;
	struct io_uring_sqe *sqe = rp__reactor_sqe(r);

	ls->multishot = accept_multishot_fits(r);
	if (ls->multishot)
		io_uring_prep_multishot_accept(sqe, ls->fd, NULL, NULL,
					       SOCK_NONBLOCK | SOCK_CLOEXEC);
	else
		io_uring_prep_accept(sqe, ls->fd, NULL, NULL,
				     SOCK_NONBLOCK | SOCK_CLOEXEC);
	io_uring_sqe_set_data(sqe, &ls->accept_op);
	ls->armed = true;
	ls->cancelling = false;
}

/* Its accept ends with -ECANCELED (or with the connection it was taking),
 * which clears armed. */
static void lsock_cancel(struct rp_lsock *ls)
{
	struct io_uring_sqe *sqe;

	if (!ls->armed || ls->cancelling)
		return;
	sqe = rp__reactor_sqe(ls->r);
	io_uring_prep_cancel(sqe, &ls->accept_op, 0);
	io_uring_sqe_set_data64(sqe, 0);
	ls->cancelling = true;
}

static void accept_resume(struct rp_reactor *r)
{
	if (!r->accept_paused || r->draining || r->stopping)
		return;
	if (r->stats.active >= r->cfg->max_conns)
		return;
	r->accept_paused = false;
	rp__timer_cancel(&r->wheel, &r->accept_retry);
	for (unsigned i = 0; i < r->nlsock; i++)
		if (!r->lsock[i].armed && r->lsock[i].fd >= 0)
			lsock_arm(&r->lsock[i]);
}

static void accept_retry_fired(struct rp_timer *t, uint64_t now)
{
	struct rp_reactor *r = rp_container_of(t, struct rp_reactor, accept_retry);

	accept_resume(r);
}

static void accept_pause(struct rp_reactor *r, int err)
{
	if (!r->pause_logged) {
		r->stats.accept_pauses++;
		r->pause_logged = true;
		if (err)
			rp_warn("reactor %u: accept paused: %s (counted once per burst; "
				"resumes when descriptors free up)",
				r->id, strerror(err));
		else
			rp_warn("reactor %u: accept paused: %u connections open "
				"(--max-conns)",
				r->id, (unsigned)r->stats.active);
	}
	/* No accept stays armed while paused: accept_resume() arms them
	 * again once the cancelled ones are in. */
	for (unsigned i = 0; i < r->nlsock; i++)
		if (!r->lsock[i].closing)
			lsock_cancel(&r->lsock[i]);
	r->accept_paused = true;
	/* fds may be freed by other processes or reactors too: retry on a
	 * timer as well as when one of ours closes. */
	rp__timer_arm(&r->wheel, &r->accept_retry, r->now_ms + ACCEPT_RETRY_MS);
}

static void lsock_close(struct rp_lsock *ls)
{
	if (ls->fd >= 0) {
		close(ls->fd);
		ls->fd = -1;
	}
}

static void accept_cqe(struct rp_op *op, int res, uint32_t flags)
{
	struct rp_lsock *ls = rp_container_of(op, struct rp_lsock, accept_op);
	struct rp_reactor *r = ls->r;

	if (!(flags & IORING_CQE_F_MORE))
		ls->armed = false;
	if (res >= 0) {
		r->pause_logged = false;
		/* Counted here, and closed once when the service reports the
		 * descriptor gone (rp__reactor_conn_closed()): active is
		 * accepted - closed at every moment, whichever halves the
		 * client went through (TLS front, forward, L4, L7), so
		 * --max-conns sees each client once. */
		r->stats.accepted++;
		r->stats.active++;
		if (r->draining || r->stopping) {
			close(res);
			rp__reactor_conn_closed(r);
		} else {
			r->svc->accept(r, r->svc_state, ls->index, res);
		}
	} else if (res == -ECANCELED) {
		/* Draining: the listener goes away once its accept is gone.
		 * Paused, or near --max-conns: armed again below or by
		 * accept_resume(). */
	} else if (res == -EMFILE || res == -ENFILE || res == -ENOBUFS ||
		   res == -ENOMEM) {
		accept_pause(r, -res);
	} else if (res != -EAGAIN && res != -EINTR && res != -ECONNABORTED) {
		r->stats.accept_errors++;
		rp_dbg("reactor %u: accept: %s", r->id, strerror(-res));
	}
	if (ls->closing) {
		if (!ls->armed)
			lsock_close(ls);
		return;
	}
	if (r->accept_paused || r->draining || r->stopping)
		return;
	if (r->stats.active >= r->cfg->max_conns)
		accept_pause(r, 0);
	else if (!ls->armed)
		lsock_arm(ls);
	else if (!accept_multishot_fits(r))
		/* Every listener's burst counts against the same slots. */
		for (unsigned i = 0; i < r->nlsock; i++)
			if (r->lsock[i].multishot && !r->lsock[i].closing)
				lsock_cancel(&r->lsock[i]); /* armed singly at its end */
}

static int listeners_open(struct rp_reactor *r, char *err, size_t errlen)
{
	for (unsigned i = 0; i < r->cfg->nlisteners; i++) {
		const struct rp_listener_config *l = &r->cfg->listeners[i];
		struct rp_lsock *ls = &r->lsock[i];
		int fd = rp__listen_socket(&l->addr, l->backlog, true);

		if (fd < 0) {
			char a[RP_ADDRSTRLEN];

			rp__addr_format(&l->addr, a, sizeof(a));
			snprintf(err, errlen, "cannot listen on %s: %s", a,
				 strerror(-fd));
			return fd;
		}
		ls->fd = fd;
		ls->r = r;
		ls->index = i;
		ls->accept_op.fn = accept_cqe;
		r->nlsock++;
		r->accept_burst += (uint64_t)l->backlog + 1;
	}
	return 0;
}

static void listeners_stop(struct rp_reactor *r)
{
	for (unsigned i = 0; i < r->nlsock; i++) {
		struct rp_lsock *ls = &r->lsock[i];

		if (ls->closing)
			continue;
		ls->closing = true;
		if (ls->armed)
			lsock_cancel(ls); /* closed when its accept is gone */
		else
			lsock_close(ls);
	}
	rp__timer_cancel(&r->wheel, &r->accept_retry);
}

/* ---- connection accounting and buffer waiters ----------------------------- */

void rp__reactor_conn_closed(struct rp_reactor *r)
{
	RP_BUG_ON(!r->stats.active);
	r->stats.active--;
	r->stats.closed++;
	if (r->accept_paused)
		accept_resume(r);
}

void rp__reactor_wait_buffer(struct rp_reactor *r, struct rp_buf_waiter *w)
{
	if (w->queued)
		return;
	w->next = NULL;
	w->queued = true;
	*r->buf_waiters_tail = w;
	r->buf_waiters_tail = &w->next;
}

void rp__reactor_cancel_wait(struct rp_reactor *r, struct rp_buf_waiter *w)
{
	struct rp_buf_waiter **pp;

	if (!w->queued)
		return;
	for (pp = &r->buf_waiters; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			if (r->buf_waiters_tail == &w->next)
				r->buf_waiters_tail = pp;
			break;
		}
	}
	w->queued = false;
}

void rp__reactor_buffers_returned(struct rp_reactor *r, unsigned n)
{
	/* Wake as many waiters as buffers came back; each retries its recv. */
	while (n-- && r->buf_waiters) {
		struct rp_buf_waiter *w = r->buf_waiters;

		r->buf_waiters = w->next;
		if (!r->buf_waiters)
			r->buf_waiters_tail = &r->buf_waiters;
		w->queued = false;
		w->wake(w);
	}
}

/* ---- control messages (MSG_RING) ------------------------------------------ */

static void reactor_begin_stop(struct rp_reactor *r)
{
	if (r->stopping)
		return;
	r->stopping = true;
	r->draining = true;
	r->stop_deadline = r->now_ms + STOP_GRACE_MS;
	listeners_stop(r);
	r->svc->stop(r, r->svc_state);
}

static void ctl_cqe(struct rp_op *op, int res, uint32_t flags)
{
	struct rp_reactor *r = rp_container_of(op, struct rp_reactor, ctl_op);

	switch (res) {
	case RP_CTL_DRAIN:
		if (!r->draining) {
			r->draining = true;
			listeners_stop(r);
			if (r->svc->drain)
				r->svc->drain(r, r->svc_state);
		}
		break;
	case RP_CTL_STOP:
		reactor_begin_stop(r);
		break;
	default:
		if (res >= RP_CTL_SERVICE && r->svc->message) {
			r->svc->message(r, r->svc_state, (unsigned)res - RP_CTL_SERVICE);
			break;
		}
		rp_warn("reactor %u: unknown control message %d", r->id, res);
	}
}

void rp__reactor_fd_closing(struct rp_reactor *r, int fd)
{
	if (r->fd_closing)
		r->fd_closing(r->fd_closing_arg, fd);
}

void rp__reactor_close(struct rp_reactor *r, int fd, bool reset)
{
	struct io_uring_sqe *sqe;

	rp__reactor_fd_closing(r, fd);
	if (reset) {
		struct linger lg = {.l_onoff = 1, .l_linger = 0};

		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	sqe = rp__reactor_sqe(r);
	io_uring_prep_close(sqe, fd);
	io_uring_sqe_set_data64(sqe, 0);
}

void rp__reactor_send(struct rp_reactor *r, unsigned to, unsigned msg)
{
	struct rp_reactor *t = &r->eng->reactors[to];
	struct io_uring_sqe *sqe;

	RP_BUG_ON(msg >= RP_MSG_LIMIT);
	if (t == r) {
		r->svc->message(r, r->svc_state, msg);
		return;
	}
	/* The target sees a CQE with user_data = its ctl_op and res = the
	 * code; ours needs no completion. */
	sqe = rp__reactor_sqe(r);
	io_uring_prep_msg_ring(sqe, t->ring.ring_fd, RP_CTL_SERVICE + msg,
			       (uint64_t)(uintptr_t)&t->ctl_op, 0);
	io_uring_sqe_set_data64(sqe, 0);
}

/* ---- set-up and the loop -------------------------------------------------- */

static int reactor_setup(struct rp_reactor *r, char *err, size_t errlen)
{
	const struct rp_config *cfg = r->cfg;
	char flags[96];
	char feats[256];
	cpu_set_t set;
	int ret;

	CPU_ZERO(&set);
	CPU_SET(r->cpu, &set);
	ret = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (ret) {
		snprintf(err, errlen, "reactor %u: cannot pin to cpu %d: %s", r->id,
			 r->cpu, strerror(ret));
		return -ret;
	}
	ret = rp__ring_setup(&r->ring, RING_ENTRIES, r->feat->ring_flags, &r->ring_flags);
	if (ret < 0) {
		snprintf(err, errlen, "reactor %u: io_uring setup: %s", r->id,
			 strerror(-ret));
		return ret;
	}
	/* Saves an fdget/fdput per io_uring_enter. */
	(void)io_uring_register_ring_fd(&r->ring);
	/* ring-splice runs in io-wq: keep its workers few and on our CPU. */
	{
		unsigned workers[2] = {cfg->iowq_workers, cfg->iowq_workers};

		(void)io_uring_register_iowq_aff(&r->ring, sizeof(set), &set);
		(void)io_uring_register_iowq_max_workers(&r->ring, workers);
	}
	rp__wheel_init(&r->wheel, rp__now_ms());
	r->now_ms = r->wheel.cur;
	r->accept_retry.fn = accept_retry_fired;
	r->buf_waiters_tail = &r->buf_waiters;
	r->ctl_op.fn = ctl_cqe;

	if (r->feat->buf_ring) {
		ret = rp__bufring_init(&r->bufs, &r->ring, 0, cfg->buf_count,
				       cfg->buf_size);
		if (ret < 0) {
			snprintf(err, errlen, "reactor %u: buffer ring: %s", r->id,
				 strerror(-ret));
			return ret;
		}
		r->have_bufs = true;
		r->bundle = r->feat->bundle;
	}
	ret = rp__pipe_pool_init(
		&r->pipes, cfg->pipe_size,
		cfg->max_pipes ? cfg->max_pipes
			       : rp__pipe_budget(cfg->pipe_size, r->eng->nreactors));
	if (ret < 0) {
		snprintf(err, errlen, "reactor %u: pipe pool: %s", r->id, strerror(-ret));
		return ret;
	}
	ret = r->svc->init(r, &r->svc_state);
	if (ret < 0) {
		snprintf(err, errlen, "reactor %u: %s: %s", r->id, r->svc->name,
			 strerror(-ret));
		return ret;
	}
	ret = listeners_open(r, err, errlen);
	if (ret < 0)
		return ret;

	rp__ring_flags_describe(r->ring_flags, flags, sizeof(flags));
	rp__features_describe(r->feat, feats, sizeof(feats));
	rp_info("reactor %u: cpu %d, ring %s, features: %s, pipes %u x %u bytes, "
		"buffers %u x %u bytes",
		r->id, r->cpu, flags, feats, r->pipes.max_live, cfg->pipe_size,
		r->have_bufs ? cfg->buf_count : 0, cfg->buf_size);
	return 0;
}

static void reactor_teardown(struct rp_reactor *r)
{
	for (unsigned i = 0; i < r->nlsock; i++)
		lsock_close(&r->lsock[i]);
	rp__helpers_quiesce(r); /* the service's jobs go with it */
	if (r->svc_state)
		r->svc->fini(r, r->svc_state);
	r->svc_state = NULL;
	rp__pipe_pool_destroy(&r->pipes);
	/* The ring and the buffer ring stay until rp_engine_destroy(): a control
	 * message may still be on its way to this ring. */
}

static void reactor_dispatch(struct rp_reactor *r)
{
	struct io_uring_cqe *cqes[CQE_BATCH];
	unsigned n;

	do {
		n = io_uring_peek_batch_cqe(&r->ring, cqes, CQE_BATCH);
		for (unsigned i = 0; i < n; i++) {
			struct io_uring_cqe *cqe = cqes[i];
			struct rp_op *op = io_uring_cqe_get_data(cqe);

			/* Read the CQE before handing its slot back. */
			int res = cqe->res;
			uint32_t flags = cqe->flags;

			io_uring_cq_advance(&r->ring, 1);
			if (op && (uintptr_t)op != LIBURING_UDATA_TIMEOUT)
				op->fn(op, res, flags);
		}
	} while (n == CQE_BATCH);
}

static bool reactor_done(struct rp_reactor *r)
{
	if (!r->draining)
		return false;
	if (r->stats.active == 0)
		return true;
	return r->stopping && r->now_ms >= r->stop_deadline;
}

static void reactor_loop(struct rp_reactor *r)
{
	for (unsigned i = 0; i < r->nlsock; i++)
		lsock_arm(&r->lsock[i]);

	while (!reactor_done(r)) {
		struct __kernel_timespec ts, *tsp = NULL;
		struct io_uring_cqe *cqe;
		int64_t next = rp__wheel_next(&r->wheel, r->now_ms);

		if (r->stopping && (next < 0 || next > STOP_GRACE_MS))
			next = 100;
		if (next >= 0) {
			ts.tv_sec = next / 1000;
			ts.tv_nsec = (next % 1000) * 1000000;
			tsp = &ts;
		}
		if (r->have_bufs)
			rp__bufring_publish(&r->bufs);
		io_uring_submit_and_wait_timeout(&r->ring, &cqe, 1, tsp, NULL);
		r->now_ms = rp__now_ms();
		reactor_dispatch(r);
		rp__wheel_run(&r->wheel, r->now_ms);
	}
	/* Flush cancels and the like before the thread goes. */
	io_uring_submit(&r->ring);
}

void *rp__reactor_main(void *arg)
{
	struct rp_reactor *r = arg;
	char err[256] = "";
	int ret;

	ret = reactor_setup(r, err, sizeof(err));
	rp__engine_reactor_ready(r->eng, r, ret, err);
	if (ret == 0 && rp__engine_wait_go(r->eng))
		reactor_loop(r);
	reactor_teardown(r);
	rp__engine_reactor_exited(r->eng);
	return NULL;
}

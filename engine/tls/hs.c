// SPDX-License-Identifier: BSD-2-Clause
/*
 * hs.c - a TLS handshake on the ring (hs.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "tls/hs.h"

/* Plaintext the handoff may read past the handshake: the whole records in
 * the in buffer, and the one record whose rest is then received. */
#define EARLY_CAP (2 * RP_TLS_WIRE_RECORD_MAX)

static void recv_cqe(struct rp_op *op, int res, uint32_t flags);
static void send_cqe(struct rp_op *op, int res, uint32_t flags);

static void finish(struct rp_tls_hs *hs)
{
	rp__timer_cancel(&hs->r->wheel, &hs->timer);
	hs->done(hs, hs->res);
}

/* Stops on @res once nothing is in flight. */
static void stop(struct rp_tls_hs *hs, int res)
{
	struct io_uring_sqe *sqe;

	if (!hs->res)
		hs->res = res;
	if (!hs->pending) {
		finish(hs);
		return;
	}
	sqe = rp__reactor_sqe(hs->r);
	io_uring_prep_cancel_fd(sqe, hs->fd, IORING_ASYNC_CANCEL_ALL);
	io_uring_sqe_set_data64(sqe, 0);
}

static void do_recv(struct rp_tls_hs *hs, unsigned want)
{
	struct io_uring_sqe *sqe = rp__reactor_sqe(hs->r);
	unsigned room;
	uint8_t *p = rp__tls_in_room(hs->tls, &room);

	if (want && want < room)
		room = want;
	io_uring_prep_recv(sqe, hs->fd, p, room, 0);
	io_uring_sqe_set_data(sqe, &hs->recv_op);
	hs->pending++;
}

static void do_send(struct rp_tls_hs *hs, const uint8_t *p, unsigned len)
{
	struct io_uring_sqe *sqe = rp__reactor_sqe(hs->r);

	io_uring_prep_send(sqe, hs->fd, p, len, MSG_NOSIGNAL);
	io_uring_sqe_set_data(sqe, &hs->send_op);
	hs->pending++;
}

/*
 * After the handshake, with kTLS to install: decrypt the whole records the
 * peer sent after its Finished, receive exactly the rest of a partial one,
 * and install the keys at that record boundary. true: the step is waiting
 * on the ring.
 */
static bool handoff(struct rp_tls_hs *hs)
{
	struct rp_tls *t = hs->tls;
	const uint8_t *o;
	unsigned need, olen;
	bool clean;
	int n;

	if (hs->no_early && rp__tls_in_pending(t)) {
		hs->fell_back = true;
		return false;
	}
	while (rp__tls_in_pending(t)) {
		if (!hs->early) {
			hs->early = malloc(EARLY_CAP);
			if (!hs->early) {
				stop(hs, -ENOMEM);
				return true;
			}
		}
		n = rp__tls_read(t, hs->early + hs->nearly, EARLY_CAP - hs->nearly);
		if (n > 0) {
			hs->nearly += (unsigned)n;
			continue;
		}
		if (n != RP_TLS_WANT) {
			stop(hs, n == RP_TLS_CLOSED ? -ECONNRESET : -EPROTO);
			return true;
		}
		break;
	}
	o = rp__tls_out(t, &olen);
	if (olen) {
		do_send(hs, o, olen);
		return true;
	}
	need = rp__tls_in_need(t);
	if (need) {
		do_recv(hs, need);
		return true;
	}
	n = rp__tls_ktls(t, hs->fd, &clean);
	if (!n) {
		hs->ktls_on = true;
		return false;
	}
	if (!clean || hs->ktls == RP_KTLS_ON) {
		stop(hs, -EOPNOTSUPP);
		return true;
	}
	hs->fell_back = true;
	return false;
}

static void step(struct rp_tls_hs *hs)
{
	struct rp_tls *t = hs->tls;
	const uint8_t *o;
	unsigned olen;

	if (hs->pending)
		return;
	if (hs->res) {
		finish(hs);
		return;
	}
	if (!hs->handshaken) {
		enum rp_tls_want w = rp__tls_handshake(t);

		if (w == RP_TLS_DONE)
			hs->handshaken = true;
		else if (w != RP_TLS_WANT)
			hs->res = w == RP_TLS_NOMEM ? -ENOMEM : -EPROTO;
	}
	/* A flight, session tickets, or the alert of a failure. */
	o = rp__tls_out(t, &olen);
	if (olen) {
		do_send(hs, o, olen);
		return;
	}
	if (hs->res) {
		finish(hs);
		return;
	}
	if (!hs->handshaken) {
		do_recv(hs, 0);
		return;
	}
	if (hs->ktls != RP_KTLS_OFF && t->want_ktls && !hs->fell_back) {
		if (!rp__tls_ktls_cipher(t, rp__ktls_probe())) {
			if (hs->ktls == RP_KTLS_ON) {
				stop(hs, -EOPNOTSUPP);
				return;
			}
			hs->fell_back = true;
		} else if (handoff(hs)) {
			return;
		}
	}
	finish(hs);
}

static void recv_cqe(struct rp_op *op, int res, uint32_t flags)
{
	struct rp_tls_hs *hs = rp_container_of(op, struct rp_tls_hs, recv_op);

	(void)flags;
	hs->pending--;
	if (res > 0)
		rp__tls_in_commit(hs->tls, (unsigned)res);
	else if (!hs->res)
		hs->res = -ECONNRESET; /* EOF or an error mid-handshake */
	step(hs);
}

static void send_cqe(struct rp_op *op, int res, uint32_t flags)
{
	struct rp_tls_hs *hs = rp_container_of(op, struct rp_tls_hs, send_op);

	(void)flags;
	hs->pending--;
	if (res > 0)
		rp__tls_out_consumed(hs->tls, (unsigned)res);
	else if (!hs->res)
		hs->res = -ECONNRESET;
	step(hs);
}

static void timer_fired(struct rp_timer *tm, uint64_t now)
{
	struct rp_tls_hs *hs = rp_container_of(tm, struct rp_tls_hs, timer);

	(void)now;
	stop(hs, -ETIMEDOUT);
}

void rp__tls_hs_start(struct rp_tls_hs *hs, struct rp_reactor *r, int fd,
		      struct rp_tls *tls, enum rp_ktls_mode ktls, unsigned timeout_ms,
		      rp_tls_hs_done_fn done)
{
	hs->r = r;
	hs->fd = fd;
	hs->tls = tls;
	hs->ktls = ktls;
	hs->done = done;
	hs->recv_op.fn = recv_cqe;
	hs->send_op.fn = send_cqe;
	hs->timer.fn = timer_fired;
	rp__timer_arm(&r->wheel, &hs->timer, r->now_ms + timeout_ms);
	step(hs);
}

void rp__tls_hs_abort(struct rp_tls_hs *hs)
{
	stop(hs, -ECANCELED);
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * tls_tunnel.c - the tunnel with userspace TLS sides (tls_tunnel.h).
 *
 * Direction d moves plaintext from side d to side !d: side d's buf holds
 * what was read (recv into it when plain, SSL_read from its in buffer when
 * TLS), then it is sent as is (plain) or encrypted into the other side's out
 * buffer and sent from there (TLS). Bytes are counted as copy bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tunnel/tls_tunnel.h"

static void dir_run(struct rp_tls_tunnel *tt, int d);
static void side_send(struct rp_tls_tunnel *tt, struct rp_tt_side *s);

static void tt_finish(struct rp_tls_tunnel *tt)
{
	for (int i = 0; i < 2; i++) {
		struct rp_tt_side *s = &tt->s[i];

		rp__reactor_close(tt->r, s->fd, tt->how != RP_TUNNEL_CLOSED);
		rp__tls_free(s->tls);
		free(s->buf);
	}
	tt->done(tt, tt->how);
}

static void tt_leave(struct rp_tls_tunnel *tt)
{
	RP_BUG_ON(!tt->inflight);
	if (--tt->inflight == 0 && tt->closing)
		tt_finish(tt);
}

static void tt_close(struct rp_tls_tunnel *tt, enum rp_tunnel_end how)
{
	if (tt->closing)
		return;
	tt->closing = true;
	tt->how = how;
	rp__timer_cancel(&tt->r->wheel, &tt->idle);
	for (int i = 0; i < 2; i++) {
		struct io_uring_sqe *sqe;

		if (!tt->s[i].rx_busy && !tt->s[i].tx_busy)
			continue;
		sqe = rp__reactor_sqe(tt->r);
		io_uring_prep_cancel_fd(sqe, tt->s[i].fd, IORING_ASYNC_CANCEL_ALL);
		io_uring_sqe_set_data64(sqe, 0);
	}
}

static void side_recv(struct rp_tls_tunnel *tt, struct rp_tt_side *s)
{
	struct io_uring_sqe *sqe = rp__reactor_sqe(tt->r);
	unsigned room;
	uint8_t *p;

	if (s->tls) {
		p = rp__tls_in_room(s->tls, &room);
	} else {
		p = s->buf;
		room = RP_TT_BUF;
	}
	io_uring_prep_recv(sqe, s->fd, p, room, 0);
	io_uring_sqe_set_data(sqe, &s->rx_op);
	s->rx_busy = true;
	tt->inflight++;
}

/* Sends what is due on side @s: its TLS out buffer, or the other side's
 * plaintext. */
static void side_send(struct rp_tls_tunnel *tt, struct rp_tt_side *s)
{
	struct rp_tt_side *o = &tt->s[s == &tt->s[0]];
	struct io_uring_sqe *sqe;
	const uint8_t *p;
	unsigned len;

	if (s->tx_busy || s->shut)
		return;
	if (s->tls) {
		p = rp__tls_out(s->tls, &len);
	} else {
		p = o->buf + o->off;
		len = o->len - o->off;
	}
	if (!len) {
		if (s->shut_after) {
			shutdown(s->fd, SHUT_WR);
			s->shut = true;
		}
		return;
	}
	sqe = rp__reactor_sqe(tt->r);
	io_uring_prep_send(sqe, s->fd, p, len, MSG_NOSIGNAL);
	io_uring_sqe_set_data(sqe, &s->tx_op);
	s->tx_busy = true;
	tt->inflight++;
}

static void check_done(struct rp_tls_tunnel *tt)
{
	if (tt->s[0].shut && tt->s[1].shut && !tt->closing)
		tt_close(tt, RP_TUNNEL_CLOSED);
}

/* Everything from side @d went over: end that direction on the other, with
 * a close_notify first when it speaks TLS. */
static void dir_end(struct rp_tls_tunnel *tt, int d)
{
	struct rp_tt_side *dst = &tt->s[!d];

	tt->s[d].fwd_done = true;
	if (dst->tls)
		rp__tls_close_notify(dst->tls);
	dst->shut_after = true;
	side_send(tt, dst);
	check_done(tt);
}

static void dir_run(struct rp_tls_tunnel *tt, int d)
{
	struct rp_tt_side *src = &tt->s[d], *dst = &tt->s[!d];
	unsigned pending;
	int n;

	if (tt->closing || src->fwd_done)
		return;
	for (;;) {
		if (src->len > src->off) {
			if (!dst->tls) {
				side_send(tt, dst);
				return;
			}
			n = rp__tls_write(dst->tls, src->buf + src->off,
					  src->len - src->off);
			if (n < 0) {
				tt_close(tt, RP_TUNNEL_ERROR);
				return;
			}
			tt->r->stats.bytes[RP_TUNNEL_COPY][d] += src->len - src->off;
			src->len = src->off = 0;
		}
		/* Backpressure: read again once the other side took it all. */
		if (dst->tls) {
			rp__tls_out(dst->tls, &pending);
			if (pending) {
				side_send(tt, dst);
				return;
			}
		}
		if (src->eof) {
			dir_end(tt, d);
			return;
		}
		if (!src->tls)
			break;
		n = rp__tls_read(src->tls, src->buf, RP_TT_BUF);
		/* Reading may have queued a reply (a KeyUpdate's, an alert). */
		side_send(tt, src);
		if (n > 0) {
			src->len = (unsigned)n;
			src->off = 0;
			continue;
		}
		if (n == RP_TLS_CLOSED) {
			src->eof = true;
			continue;
		}
		if (n != RP_TLS_WANT) {
			rp_dbg("tls tunnel: %s", src->tls->errbuf);
			tt_close(tt, RP_TUNNEL_ERROR);
			return;
		}
		break;
	}
	if (!src->rx_busy)
		side_recv(tt, src);
}

static void side_rx_done(struct rp_tls_tunnel *tt, int d, int res)
{
	struct rp_tt_side *s = &tt->s[d];

	s->rx_busy = false;
	if (!tt->closing) {
		tt->last_active = tt->r->now_ms;
		if (res > 0) {
			if (s->tls) {
				rp__tls_in_commit(s->tls, (unsigned)res);
			} else {
				s->len = (unsigned)res;
				s->off = 0;
			}
			dir_run(tt, d);
		} else if (res == 0) {
			/* EOF; on a TLS side without close_notify it is a
			 * truncation, ended like HAProxy and nginx do. */
			s->eof = true;
			dir_run(tt, d);
		} else {
			tt_close(tt, RP_TUNNEL_ERROR);
		}
	}
	tt_leave(tt);
}

static void side_tx_done(struct rp_tls_tunnel *tt, int d, int res)
{
	struct rp_tt_side *s = &tt->s[d], *o = &tt->s[!d];

	s->tx_busy = false;
	if (!tt->closing) {
		tt->last_active = tt->r->now_ms;
		if (res <= 0) {
			tt_close(tt, RP_TUNNEL_ERROR);
		} else {
			if (s->tls) {
				rp__tls_out_consumed(s->tls, (unsigned)res);
			} else {
				o->off += (unsigned)res;
				tt->r->stats.bytes[RP_TUNNEL_COPY][!d] += (unsigned)res;
				if (o->off == o->len)
					o->len = o->off = 0;
			}
			side_send(tt, s);
			dir_run(tt, !d); /* what writes to s */
			dir_run(tt, d);	 /* s's own reads may wait on its out */
			check_done(tt);
		}
	}
	tt_leave(tt);
}

static void rx0_cqe(struct rp_op *op, int res, uint32_t flags)
{
	(void)flags;
	side_rx_done(rp_container_of(op, struct rp_tls_tunnel, s[0].rx_op), 0, res);
}

static void rx1_cqe(struct rp_op *op, int res, uint32_t flags)
{
	(void)flags;
	side_rx_done(rp_container_of(op, struct rp_tls_tunnel, s[1].rx_op), 1, res);
}

static void tx0_cqe(struct rp_op *op, int res, uint32_t flags)
{
	(void)flags;
	side_tx_done(rp_container_of(op, struct rp_tls_tunnel, s[0].tx_op), 0, res);
}

static void tx1_cqe(struct rp_op *op, int res, uint32_t flags)
{
	(void)flags;
	side_tx_done(rp_container_of(op, struct rp_tls_tunnel, s[1].tx_op), 1, res);
}

static void idle_fired(struct rp_timer *tm, uint64_t now)
{
	struct rp_tls_tunnel *tt = rp_container_of(tm, struct rp_tls_tunnel, idle);

	if (now - tt->last_active >= tt->idle_ms) {
		tt->r->stats.idle_timeouts++;
		tt->inflight++;
		tt_close(tt, RP_TUNNEL_IDLE);
		tt_leave(tt);
		return;
	}
	rp__timer_arm(&tt->r->wheel, &tt->idle, tt->last_active + tt->idle_ms);
}

void rp__tls_tunnel_abort(struct rp_tls_tunnel *tt)
{
	tt->inflight++;
	tt_close(tt, RP_TUNNEL_ABORTED);
	tt_leave(tt);
}

int rp__tls_tunnel_start(struct rp_tls_tunnel *tt, struct rp_reactor *r, int cfd,
			 struct rp_tls *ctls, int bfd, struct rp_tls *btls,
			 unsigned idle_ms, rp_tls_tunnel_done_fn done)
{
	tt->s[0].buf = malloc(RP_TT_BUF);
	tt->s[1].buf = malloc(RP_TT_BUF);
	if (!tt->s[0].buf || !tt->s[1].buf) {
		free(tt->s[0].buf);
		free(tt->s[1].buf);
		return -ENOMEM;
	}
	tt->r = r;
	tt->done = done;
	tt->idle_ms = idle_ms;
	tt->last_active = r->now_ms;
	tt->idle.fn = idle_fired;
	tt->s[0].fd = cfd;
	tt->s[0].tls = ctls;
	tt->s[1].fd = bfd;
	tt->s[1].tls = btls;
	tt->s[0].rx_op.fn = rx0_cqe;
	tt->s[1].rx_op.fn = rx1_cqe;
	tt->s[0].tx_op.fn = tx0_cqe;
	tt->s[1].tx_op.fn = tx1_cqe;
	rp__timer_arm(&r->wheel, &tt->idle, r->now_ms + idle_ms);
	tt->inflight++;
	dir_run(tt, 0);
	dir_run(tt, 1);
	tt_leave(tt);
	return 0;
}

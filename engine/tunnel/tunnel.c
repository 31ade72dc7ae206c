// SPDX-License-Identifier: BSD-2-Clause
/*
 * tunnel.c - the pumps behind struct rp_tunnel (see tunnel.h for the three
 * strategies). Lifetime rule: t->inflight counts every SQE whose CQE is still
 * due plus every caller currently inside the tunnel (tunnel_enter/leave), and
 * the tunnel is torn down only when it drops to zero while closing, so no
 * callback ever runs on freed memory.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/uring_compat.h"
#include "tls/tls.h"
#include "tunnel/tunnel.h"

/* Bytes a splice pump moves before yielding the reactor to others. */
#define SPLICE_BUDGET (1u << 20)

static void pump_run(struct rp_pump *p);
static void copy_put_buffers(struct rp_pump *p);
static void tunnel_abort_how(struct rp_tunnel *t, enum rp_tunnel_end how);

static void tunnel_enter(struct rp_tunnel *t)
{
	t->inflight++;
}

static void tunnel_finish(struct rp_tunnel *t)
{
	struct rp_reactor *r = t->r;

	for (int i = 0; i < 2; i++) {
		struct rp_pump *p = &t->pump[i];

		rp__reactor_cancel_wait(r, &p->bw);
		copy_put_buffers(p);
		free(p->big_bids);
		p->big_bids = NULL;
		if (p->pipe.rfd >= 0)
			rp__pipe_put(&r->pipes, &p->pipe, p->pipe_bytes == 0);
	}
	for (int i = 0; i < 2; i++) {
		/* Reset, not FIN, unless both directions ended cleanly: the
		 * peer must not take a cut-off stream for a complete one.
		 * Nothing of ours is in flight on the fd now. */
		rp__reactor_close(r, t->fd[i], t->how != RP_TUNNEL_CLOSED);
		t->fd[i] = -1;
	}
	t->done(t, t->how);
}

/* Drops one reference; tears down when closing and it was the last. After
 * this returns, @t may be gone. */
static void tunnel_leave(struct rp_tunnel *t)
{
	RP_BUG_ON(!t->inflight);
	if (--t->inflight == 0 && t->closing)
		tunnel_finish(t);
}

static void tunnel_close(struct rp_tunnel *t, enum rp_tunnel_end how)
{
	struct rp_reactor *r = t->r;

	if (t->closing)
		return;
	t->closing = true;
	t->how = how;
	rp__timer_cancel(&r->wheel, &t->idle);
	for (int i = 0; i < 2; i++)
		rp__reactor_cancel_wait(r, &t->pump[i].bw);
	if (t->inflight) {
		for (int i = 0; i < 2; i++) {
			struct io_uring_sqe *sqe = rp__reactor_sqe(r);

			io_uring_prep_cancel_fd(sqe, t->fd[i], IORING_ASYNC_CANCEL_ALL);
			io_uring_sqe_set_data64(sqe, 0);
		}
	}
}

static struct io_uring_sqe *pump_sqe(struct rp_pump *p, struct rp_op *op, rp_op_fn fn)
{
	struct io_uring_sqe *sqe = rp__reactor_sqe(p->t->r);

	op->fn = fn;
	io_uring_sqe_set_data(sqe, op);
	p->t->inflight++;
	return sqe;
}

static void pump_account(struct rp_pump *p, unsigned n)
{
	struct rp_reactor *r = p->t->r;

	r->stats.bytes[p->strategy][p->dir] += n;
	p->t->last_active = r->now_ms;
}

static void pump_finish(struct rp_pump *p)
{
	struct rp_tunnel *t = p->t;

	p->done = true;
	if (p->pipe.rfd >= 0)
		rp__pipe_put(&t->r->pipes, &p->pipe, true);
	if (t->ktls >> !p->dir & 1)
		rp__ktls_close_notify(p->dst);
	if (t->pump[0].done && t->pump[1].done) {
		/* Both sources said EOF, so both receive queues are empty and
		 * the close sends the FIN: no shutdown needed. */
		tunnel_close(t, RP_TUNNEL_CLOSED);
		return;
	}
	/* Half-close: the peer sees our EOF once everything before it. */
	shutdown(p->dst, SHUT_WR);
}

static void pump_error(struct rp_pump *p, int err)
{
	rp_dbg("tunnel %s: %s", p->dir ? "down" : "up", strerror(-err));
	tunnel_close(p->t, RP_TUNNEL_ERROR);
}

/*
 * A read from the source failed. On a kTLS socket EIO (recv) and EINVAL
 * (splice) mean a control record is next: read it; a close_notify is EOF,
 * a record to skip lets the pump go on. true: the pump may run again.
 */
static bool pump_read_error(struct rp_pump *p, int err)
{
	int ret;

	if (!(p->t->ktls >> p->dir & 1) || (err != -EIO && err != -EINVAL)) {
		pump_error(p, err);
		return false;
	}
	ret = rp__ktls_control(p->src);
	if (ret < 0) {
		pump_error(p, ret);
		return false;
	}
	if (ret == 0)
		p->eof = true;
	return true;
}

static bool pump_take_pipe(struct rp_pump *p)
{
	struct rp_reactor *r = p->t->r;

	if (rp__pipe_get(&r->pipes, &p->pipe) == 0)
		return true;
	p->pipe.rfd = p->pipe.wfd = -1;
	r->stats.splice_fallbacks++;
	return false;
}

/* A readiness poll armed by a pump that got EAGAIN (or yielded) completed:
 * run the pump again, whatever its strategy is now. */
static void pump_ready(struct rp_pump *p, int res)
{
	struct rp_tunnel *t = p->t;

	if (!t->closing) {
		if (res < 0)
			pump_error(p, res);
		else
			pump_run(p);
	}
	tunnel_leave(t);
}

static void pump_poll_in_cqe(struct rp_op *op, int res, uint32_t flags)
{
	pump_ready(rp_container_of(op, struct rp_pump, in_op), res);
}

static void pump_poll_out_cqe(struct rp_op *op, int res, uint32_t flags)
{
	pump_ready(rp_container_of(op, struct rp_pump, out_op), res);
}

/* ---- splice: readiness-driven splice(2) from the reactor thread ----------- */

static void splice_run(struct rp_pump *p)
{
	unsigned moved = 0;
	ssize_t n;

	for (;;) {
		if (p->pipe_bytes) {
			n = splice(p->pipe.rfd, NULL, p->dst, NULL, p->pipe_bytes,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0) {
				p->pipe_bytes -= (unsigned)n;
				moved += (unsigned)n;
				pump_account(p, (unsigned)n);
				continue;
			}
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EAGAIN) {
				io_uring_prep_poll_add(
					pump_sqe(p, &p->out_op, pump_poll_out_cqe),
					p->dst, POLLOUT);
				return;
			}
			pump_error(p, n < 0 ? -errno : -EPIPE);
			return;
		}
		if (p->eof) {
			pump_finish(p);
			return;
		}
		if (moved >= SPLICE_BUDGET)
			break; /* let others run; the poll fires at once */
		n = splice(p->src, NULL, p->pipe.wfd, NULL, p->t->r->cfg->pipe_size,
			   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0) {
			p->pipe_bytes = (unsigned)n;
		} else if (n == 0) {
			p->eof = true;
		} else if (errno == EAGAIN) {
			break;
		} else if (errno != EINTR && !pump_read_error(p, -errno)) {
			return;
		}
	}
	io_uring_prep_poll_add(pump_sqe(p, &p->in_op, pump_poll_in_cqe), p->src,
			       POLLIN | POLLRDHUP);
}

/* ---- ring-splice: IORING_OP_SPLICE, run by the kernel in io-wq ------------ */

static void ring_in_cqe(struct rp_op *op, int res, uint32_t flags);
static void ring_out_cqe(struct rp_op *op, int res, uint32_t flags);

static void ring_run(struct rp_pump *p)
{
	struct io_uring_sqe *sqe;

	if (p->pipe_bytes) {
		sqe = pump_sqe(p, &p->out_op, ring_out_cqe);
		io_uring_prep_splice(sqe, p->pipe.rfd, -1, p->dst, -1, p->pipe_bytes,
				     SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		return;
	}
	if (p->eof) {
		pump_finish(p);
		return;
	}
	sqe = pump_sqe(p, &p->in_op, ring_in_cqe);
	io_uring_prep_splice(sqe, p->src, -1, p->pipe.wfd, -1, p->t->r->cfg->pipe_size,
			     SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
}

/* -EAGAIN from a non-blocking splice: wait for readiness, then splice again.
 * The poll reuses the op slot whose splice just completed. */
static void ring_wait(struct rp_pump *p, bool in)
{
	struct io_uring_sqe *sqe;

	if (in) {
		sqe = pump_sqe(p, &p->in_op, pump_poll_in_cqe);
		io_uring_prep_poll_add(sqe, p->src, POLLIN | POLLRDHUP);
	} else {
		sqe = pump_sqe(p, &p->out_op, pump_poll_out_cqe);
		io_uring_prep_poll_add(sqe, p->dst, POLLOUT);
	}
}

static void ring_in_cqe(struct rp_op *op, int res, uint32_t flags)
{
	struct rp_pump *p = rp_container_of(op, struct rp_pump, in_op);
	struct rp_tunnel *t = p->t;

	if (t->closing) {
		/* Bytes already in the pipe are dropped with it. */
		if (res > 0)
			p->pipe_bytes += (unsigned)res;
	} else if (res > 0) {
		p->pipe_bytes = (unsigned)res;
		ring_run(p);
	} else if (res == 0) {
		p->eof = true;
		ring_run(p);
	} else if (res == -EAGAIN) {
		ring_wait(p, true);
	} else if (pump_read_error(p, res)) {
		ring_run(p);
	}
	tunnel_leave(t);
}

static void ring_out_cqe(struct rp_op *op, int res, uint32_t flags)
{
	struct rp_pump *p = rp_container_of(op, struct rp_pump, out_op);
	struct rp_tunnel *t = p->t;

	if (res > 0) {
		p->pipe_bytes -= (unsigned)res;
		pump_account(p, (unsigned)res);
	}
	if (t->closing) {
		/* nothing more */
	} else if (res > 0) {
		ring_run(p);
	} else if (res == -EAGAIN) {
		ring_wait(p, false);
	} else {
		pump_error(p, res ? res : -EPIPE);
	}
	tunnel_leave(t);
}

/* ---- copy: provided-buffer recv, then send -------------------------------- */

static void copy_recv_cqe(struct rp_op *op, int res, uint32_t flags);
static void copy_send_cqe(struct rp_op *op, int res, uint32_t flags);
static void copy_poll_out_cqe(struct rp_op *op, int res, uint32_t flags);

static void copy_run(struct rp_pump *p)
{
	struct rp_reactor *r = p->t->r;
	struct io_uring_sqe *sqe;

	if (p->eof) {
		pump_finish(p);
		return;
	}
	sqe = pump_sqe(p, &p->in_op, copy_recv_cqe);
	io_uring_prep_recv(sqe, p->src, NULL, r->bufs.size, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = (uint16_t)r->bufs.bgid;
	if (r->bundle) /* one CQE for all the buffers the data fills */
		sqe->ioprio |= IORING_RECVSEND_BUNDLE;
}

static void copy_send(struct rp_pump *p)
{
	const struct rp_bufring *b = &p->t->r->bufs;
	struct io_uring_sqe *sqe = pump_sqe(p, &p->out_op, copy_send_cqe);
	unsigned i = p->off / b->size, skip = p->off % b->size, n = 0;

	if (p->nbufs == 1) {
		io_uring_prep_send(sqe, p->dst, rp__bufring_addr(b, p->bids[0]) + p->off,
				   p->len - p->off, MSG_NOSIGNAL);
		return;
	}
	/* A bundle: every buffer is full but the last. */
	for (; i < p->nbufs && n < RP_BUNDLE_IOV; i++, n++) {
		unsigned blen = i + 1 < p->nbufs ? b->size : p->len - i * b->size;

		p->iov[n].iov_base = rp__bufring_addr(b, p->bids[i]) + skip;
		p->iov[n].iov_len = blen - skip;
		skip = 0;
	}
	memset(&p->msg, 0, sizeof(p->msg));
	p->msg.msg_iov = p->iov;
	p->msg.msg_iovlen = n;
	io_uring_prep_sendmsg(sqe, p->dst, &p->msg, MSG_NOSIGNAL);
}

static void copy_put_buffers(struct rp_pump *p)
{
	struct rp_reactor *r = p->t->r;
	unsigned n = p->nbufs;

	for (unsigned k = 0; k < n; k++)
		rp__bufring_recycle(&r->bufs, p->bids[k]);
	p->nbufs = 0;
	if (n)
		rp__reactor_buffers_returned(r, n);
}

/* Takes the buffers a recv CQE hands over: the first is named in @flags,
 * the rest of a bundle follow it in the ring. -ENOMEM if a big bundle's id
 * array cannot be had (the buffers are recycled at once). */
static int copy_take_buffers(struct rp_pump *p, int res, uint32_t flags)
{
	struct rp_bufring *b = &p->t->r->bufs;
	unsigned first = flags >> IORING_CQE_BUFFER_SHIFT;
	unsigned slot = b->slot_of[first];
	unsigned n = res > 0 ? ((unsigned)res + b->size - 1) / b->size : 1;

	RP_BUG_ON(p->nbufs || n > b->count);
	p->bids = p->bids_inline;
	if (n > RP_BUNDLE_INLINE) {
		if (!p->big_bids)
			p->big_bids = malloc(b->count * sizeof(*p->big_bids));
		if (!p->big_bids) {
			for (unsigned k = 0; k < n; k++)
				rp__bufring_recycle(b, rp__bufring_slot_bid(b, slot, k));
			rp__reactor_buffers_returned(p->t->r, n);
			return -ENOMEM;
		}
		p->bids = p->big_bids;
	}
	for (unsigned k = 0; k < n; k++)
		p->bids[k] = (uint16_t)(k ? rp__bufring_slot_bid(b, slot, k) : first);
	p->nbufs = n;
	p->len = res > 0 ? (unsigned)res : 0;
	p->off = 0;
	return 0;
}

static void copy_recv_cqe(struct rp_op *op, int res, uint32_t flags)
{
	struct rp_pump *p = rp_container_of(op, struct rp_pump, in_op);
	struct rp_tunnel *t = p->t;
	struct rp_reactor *r = t->r;

	if ((flags & IORING_CQE_F_BUFFER) && copy_take_buffers(p, res, flags) < 0) {
		r->stats.oom++;
		pump_error(p, -ENOMEM);
	} else if (t->closing) {
		copy_put_buffers(p);
	} else if (res > 0) {
		RP_BUG_ON(!p->nbufs);
		p->full_reads = (unsigned)res >= r->bufs.size ? p->full_reads + 1 : 0;
		copy_send(p);
	} else if (res == 0) {
		copy_put_buffers(p);
		p->eof = true;
		pump_finish(p);
	} else if (res == -ENOBUFS) {
		/* The reactor's buffers are all in use: wait for one. */
		copy_put_buffers(p);
		rp__reactor_wait_buffer(r, &p->bw);
	} else if (res == -EAGAIN) {
		copy_put_buffers(p);
		io_uring_prep_poll_add(pump_sqe(p, &p->in_op, pump_poll_in_cqe), p->src,
				       POLLIN | POLLRDHUP);
	} else {
		copy_put_buffers(p);
		if (pump_read_error(p, res)) {
			if (p->eof)
				pump_finish(p);
			else
				pump_run(p);
		}
	}
	tunnel_leave(t);
}

static void copy_send_cqe(struct rp_op *op, int res, uint32_t flags)
{
	struct rp_pump *p = rp_container_of(op, struct rp_pump, out_op);
	struct rp_tunnel *t = p->t;

	if (res > 0) {
		p->off += (unsigned)res;
		pump_account(p, (unsigned)res);
	}
	if (t->closing) {
		copy_put_buffers(p);
	} else if (res == -EAGAIN) {
		/* The kernel can hand a non-blocking socket's EAGAIN back
		 * (seen with sendmsg on 6.18): wait for room, then resend. */
		io_uring_prep_poll_add(pump_sqe(p, &p->out_op, copy_poll_out_cqe), p->dst,
				       POLLOUT);
	} else if (res <= 0) {
		copy_put_buffers(p);
		pump_error(p, res ? res : -EPIPE);
	} else if (p->off < p->len) {
		copy_send(p); /* short send: the rest */
	} else {
		copy_put_buffers(p);
		if (p->auto_mode && p->full_reads >= t->r->cfg->auto_bulk_reads) {
			/* Bulk: move this direction to splice, if a pipe can
			 * be had; retry after the next burst otherwise. */
			p->full_reads = 0;
			if (pump_take_pipe(p)) {
				p->strategy = RP_TUNNEL_SPLICE;
				p->auto_mode = false;
			}
		}
		pump_run(p);
	}
	tunnel_leave(t);
}

static void copy_poll_out_cqe(struct rp_op *op, int res, uint32_t flags)
{
	struct rp_pump *p = rp_container_of(op, struct rp_pump, out_op);
	struct rp_tunnel *t = p->t;

	if (t->closing) {
		copy_put_buffers(p);
	} else if (res < 0) {
		copy_put_buffers(p);
		pump_error(p, res);
	} else {
		copy_send(p);
	}
	tunnel_leave(t);
}

static void copy_buffer_wake(struct rp_buf_waiter *w)
{
	struct rp_pump *p = rp_container_of(w, struct rp_pump, bw);
	struct rp_tunnel *t = p->t;

	tunnel_enter(t);
	if (!t->closing)
		copy_run(p);
	tunnel_leave(t);
}

/* ---- the tunnel ----------------------------------------------------------- */

static void pump_run(struct rp_pump *p)
{
	switch (p->strategy) {
	case RP_TUNNEL_SPLICE:
		splice_run(p);
		break;
	case RP_TUNNEL_RING_SPLICE:
		ring_run(p);
		break;
	default:
		copy_run(p);
		break;
	}
}

static void idle_fired(struct rp_timer *tm, uint64_t now)
{
	struct rp_tunnel *t = rp_container_of(tm, struct rp_tunnel, idle);

	if (now - t->last_active >= t->idle_ms) {
		t->r->stats.idle_timeouts++;
		tunnel_abort_how(t, RP_TUNNEL_IDLE);
		return;
	}
	rp__timer_arm(&t->r->wheel, &t->idle, t->last_active + t->idle_ms);
}

static void tunnel_abort_how(struct rp_tunnel *t, enum rp_tunnel_end how)
{
	tunnel_enter(t);
	tunnel_close(t, how);
	tunnel_leave(t);
}

void rp__tunnel_abort(struct rp_tunnel *t)
{
	tunnel_abort_how(t, RP_TUNNEL_ABORTED);
}

void rp__tunnel_start(struct rp_tunnel *t, struct rp_reactor *r, int cfd, int bfd,
		      enum rp_tunnel_mode mode, unsigned idle_ms, rp_tunnel_done_fn done)
{
	t->r = r;
	t->fd[0] = cfd;
	t->fd[1] = bfd;
	t->done = done;
	t->idle_ms = idle_ms;
	t->last_active = r->now_ms;
	t->idle.fn = idle_fired;

	tunnel_enter(t);
	for (int i = 0; i < 2; i++) {
		struct rp_pump *p = &t->pump[i];

		p->t = t;
		p->dir = (uint8_t)i;
		p->src = t->fd[i];
		p->dst = t->fd[!i];
		p->pipe.rfd = p->pipe.wfd = -1;
		p->bw.wake = copy_buffer_wake;
		switch (mode) {
		case RP_TUNNEL_SPLICE:
		case RP_TUNNEL_RING_SPLICE:
			p->strategy = (uint8_t)mode;
			if (!pump_take_pipe(p))
				p->strategy = RP_TUNNEL_COPY;
			break;
		case RP_TUNNEL_AUTO:
			p->auto_mode = true;
			/* fall through */
		default:
			p->strategy = RP_TUNNEL_COPY;
			break;
		}
		if (p->strategy == RP_TUNNEL_COPY && !r->have_bufs) {
			/* No pipe and no buffer ring: nothing can carry it. */
			tunnel_close(t, RP_TUNNEL_ERROR);
		}
	}
	if (!t->closing)
		rp__timer_arm(&r->wheel, &t->idle, r->now_ms + idle_ms);
	for (int i = 0; i < 2 && !t->closing; i++)
		pump_run(&t->pump[i]);
	tunnel_leave(t);
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tunnel.h - a bidirectional byte tunnel between two connected sockets: two
 * pumps (up: client -> backend, down: backend -> client), each moving bytes
 * with one of three strategies, chosen per tunnel and, in AUTO mode, switched
 * per direction when a transfer turns out to be bulk:
 *
 *   splice       non-blocking splice(2) socket -> pipe -> socket called from
 *                the reactor thread, driven by one-shot ring polls: no thread
 *                hop, no copy;
 *   ring-splice  IORING_OP_SPLICE, which the kernel always runs in an io-wq
 *                worker (capped and pinned to the reactor's CPU);
 *   copy         recv into the reactor's provided-buffer ring, then send.
 *
 * One operation in flight per direction is the backpressure. EOF on a side
 * becomes shutdown(SHUT_WR) on the other once that direction is drained, so
 * half-close is preserved. An error on either side aborts both with RST.
 */
#ifndef RP_TUNNEL_H
#define RP_TUNNEL_H

#include <sys/socket.h>
#include <sys/uio.h>

#include "core/core.h"

/* Most buffers one sendmsg of a bundle carries. */
#define RP_BUNDLE_IOV 16
/* Buffer ids of a bundle kept in the pump itself; a bigger bundle (bulk in
 * copy mode) gets a heap array once, kept until the tunnel ends. */
#define RP_BUNDLE_INLINE 16

enum rp_tunnel_end {
	RP_TUNNEL_CLOSED = 0, /* both directions finished */
	RP_TUNNEL_ERROR,      /* an error or reset on either side */
	RP_TUNNEL_IDLE,	      /* idle timeout */
	RP_TUNNEL_ABORTED,    /* the owner aborted it (hard stop) */
};

struct rp_tunnel;
typedef void (*rp_tunnel_done_fn)(struct rp_tunnel *t, enum rp_tunnel_end how);

struct rp_pump {
	struct rp_tunnel *t;
	int src, dst;
	uint8_t dir;	  /* 0 up, 1 down: index into stats bytes */
	uint8_t strategy; /* RP_TUNNEL_SPLICE, _RING_SPLICE or _COPY */
	bool auto_mode;	  /* may switch from copy to splice */
	bool eof;	  /* src said EOF */
	bool done;	  /* everything forwarded, dst shut for writing */
	unsigned full_reads;
	struct rp_pipe pipe; /* rfd < 0: none */
	unsigned pipe_bytes;
	/* Provided buffers held by the copy path: one, or a bundle. Their ids
	 * are copied out of the ring when the CQE arrives: by the time they
	 * are sent, other pumps' recycling may have rewritten those slots. */
	uint16_t *bids; /* bids_inline or big_bids */
	uint16_t bids_inline[RP_BUNDLE_INLINE];
	uint16_t *big_bids;
	unsigned nbufs;
	unsigned len, off; /* bytes held, bytes sent */
	struct iovec iov[RP_BUNDLE_IOV];
	struct msghdr msg;
	struct rp_op in_op;  /* poll-in, splice-in or recv */
	struct rp_op out_op; /* poll-out, splice-out or send */
	struct rp_buf_waiter bw;
};

struct rp_tunnel {
	struct rp_reactor *r;
	int fd[2]; /* client, backend */
	struct rp_pump pump[2];
	unsigned inflight; /* SQEs whose CQE is due, plus callers inside */
	bool closing;
	enum rp_tunnel_end how;
	uint64_t last_active;
	unsigned idle_ms;
	struct rp_timer idle;
	rp_tunnel_done_fn done;
	/* Bit i: fd[i] is a kTLS socket (set before rp__tunnel_start). Its
	 * control records end reads with EIO/EINVAL: a close_notify is its
	 * EOF; its clean end sends our close_notify before the FIN. */
	unsigned ktls;
};

/*
 * Starts moving bytes between @cfd and @bfd, which the tunnel now owns. When
 * both are closed and no operation is in flight, @done is called; after it
 * the owner may free @t. @t must be zeroed memory.
 */
void rp__tunnel_start(struct rp_tunnel *t, struct rp_reactor *r, int cfd, int bfd,
		      enum rp_tunnel_mode mode, unsigned idle_ms, rp_tunnel_done_fn done);

/* Aborts the tunnel (RST both sides). @done may run before this returns. */
void rp__tunnel_abort(struct rp_tunnel *t);

#endif

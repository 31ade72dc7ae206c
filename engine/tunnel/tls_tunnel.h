/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tls_tunnel.h - a byte tunnel whose sides may speak TLS with the record
 * layer in userspace (BoringSSL): where kTLS is not available or not
 * allowed. Each side has one recv and one send in flight at most; a
 * direction reads plaintext from its source (decrypting when the source is
 * TLS), and writes it to its destination (encrypting when that is TLS),
 * reading again only once the destination took everything: that is the
 * backpressure. EOF or close_notify on a side becomes close_notify (TLS)
 * and shutdown(SHUT_WR) on the other once drained; errors reset both.
 */
#ifndef RP_TLS_TUNNEL_H
#define RP_TLS_TUNNEL_H

#include "core/core.h"
#include "tls/tls.h"
#include "tunnel/tunnel.h"

struct rp_tls_tunnel;
typedef void (*rp_tls_tunnel_done_fn)(struct rp_tls_tunnel *tt, enum rp_tunnel_end how);

#define RP_TT_BUF 16384

struct rp_tt_side {
	int fd;
	struct rp_tls *tls; /* NULL: plain */
	bool rx_busy, tx_busy;
	bool eof;	 /* its reads ended (EOF or close_notify) */
	bool fwd_done;	 /* everything it sent went to the other side */
	bool shut;	 /* its write side was shut */
	bool shut_after; /* shut once the out buffer is sent */
	uint8_t *buf;	 /* plaintext read from it, not yet taken */
	unsigned len, off;
	struct rp_op rx_op, tx_op;
};

struct rp_tls_tunnel {
	struct rp_reactor *r;
	struct rp_tt_side s[2]; /* client, backend */
	unsigned inflight;
	bool closing;
	enum rp_tunnel_end how;
	uint64_t last_active;
	unsigned idle_ms;
	struct rp_timer idle;
	rp_tls_tunnel_done_fn done;
	void *done_arg; /* the owner's, untouched */
};

/*
 * Starts the tunnel between @cfd (TLS @ctls, or plain when NULL) and @bfd
 * (TLS @btls, or plain). It owns the fds and the TLS states from now on and
 * frees them; @done runs when all is closed. @tt must be zeroed memory.
 * Returns -ENOMEM (nothing started, nothing taken) or 0.
 */
int rp__tls_tunnel_start(struct rp_tls_tunnel *tt, struct rp_reactor *r, int cfd,
			 struct rp_tls *ctls, int bfd, struct rp_tls *btls,
			 unsigned idle_ms, rp_tls_tunnel_done_fn done);

void rp__tls_tunnel_abort(struct rp_tls_tunnel *tt);

#endif

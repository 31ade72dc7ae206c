/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hs.h - a TLS handshake driven on the reactor's ring: recv ciphertext into
 * the connection's in buffer, let BoringSSL advance, send what it wrote, one
 * operation in flight at a time, under a timeout. When it ends, the owner's
 * callback runs with no operation in flight; the fd is still the owner's.
 *
 * With kTLS wanted and possible, the end of the handshake also reads what
 * the peer sent right after its Finished, up to a record boundary (whole
 * records are decrypted here into hs->early, the rest of a partial one is
 * received exactly), and installs the keys: the socket is then plain to the
 * owner, with hs->early the first plaintext.
 */
#ifndef RP_TLS_HS_H
#define RP_TLS_HS_H

#include "core/core.h"
#include "tls/tls.h"

struct rp_tls_hs;

/* @res: 0 (handshake done), -ETIMEDOUT, -ECANCELED (aborted), -EPROTO (the
 * peer's bytes were refused), -ECONNRESET (EOF or a socket error), -ENOMEM,
 * -EOPNOTSUPP (kTLS on, and the kernel refused it). */
typedef void (*rp_tls_hs_done_fn)(struct rp_tls_hs *hs, int res);

struct rp_tls_hs {
	struct rp_reactor *r;
	struct rp_tls *tls;
	int fd;
	enum rp_ktls_mode ktls;
	bool handshaken;
	bool ktls_on;	/* the kernel holds both directions: tls may be freed */
	bool fell_back; /* kTLS wanted (auto) but refused: userspace */
	bool no_early;	/* records past the handshake: userspace, not kTLS (a
			* client's peer may speak first; its bytes stay in tls) */
	int res;
	unsigned pending; /* CQEs due */
	uint8_t *early;	  /* plaintext read past the handshake (kTLS only) */
	unsigned nearly;
	struct rp_op recv_op, send_op;
	struct rp_timer timer;
	rp_tls_hs_done_fn done;
};

/*
 * Starts the handshake of @tls on @fd. @hs must be zeroed memory. @done runs
 * once, maybe before this returns.
 */
void rp__tls_hs_start(struct rp_tls_hs *hs, struct rp_reactor *r, int fd,
		      struct rp_tls *tls, enum rp_ktls_mode ktls, unsigned timeout_ms,
		      rp_tls_hs_done_fn done);

/* Cancels it (hard stop): @done follows with -ECANCELED. */
void rp__tls_hs_abort(struct rp_tls_hs *hs);

#endif

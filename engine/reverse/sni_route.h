/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sni_route.h - SNI passthrough routing for the L4 half (l4.c): which
 * cluster a TLS connection goes to, decided from the ClientHello it opens
 * with, which is only peeked at (engine/tls/sni.h), never terminated.
 * Private to engine/reverse/.
 */
#ifndef RP_REVERSE_SNI_ROUTE_H
#define RP_REVERSE_SNI_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "ringproxy/ringproxy.h"

/* Room a connection buffers for its ClientHello: one full record and its
 * header (RP_SNI_PEEK_MAX of tls/sni.h). */
#define RP_SNI_ROUTE_BUF (16384 + 5)
/* Bytes of the server name rp__sni_route() reports, NUL included. */
#define RP_SNI_ROUTE_HOST 256

/*
 * The cluster of listener @lis (nsni > 0) for server name @host ("" when the
 * client sent none): the first route whose name matches it, else the
 * listener's own cluster. -ENOENT when none matches and the listener is
 * sni_strict.
 */
int rp__sni_route_pick(const struct rp_listener_config *lis, const char *host);

/*
 * Routes a connection of listener @lis on the first @len bytes it sent, at
 * @buf (the caller buffers at most @max of them). Returns the cluster index
 * (>= 0) once the ClientHello is complete; -EAGAIN while it is a valid
 * prefix that needs more bytes (never when @len == @max); -ENOENT when no
 * route takes it and the listener is strict; -EBADMSG when it is not TLS
 * or the ClientHello is malformed, -E2BIG when it would not fit in @max.
 * *@why (@why not NULL) gets a static reason for every error but -EAGAIN;
 * the name routed on (lowercase, "" for none) goes to @host, of
 * RP_SNI_ROUTE_HOST bytes, once the hello parsed. Nothing is kept.
 */
int rp__sni_route(const struct rp_listener_config *lis, const uint8_t *buf, size_t len,
		  size_t max, char *host, const char **why);

#endif

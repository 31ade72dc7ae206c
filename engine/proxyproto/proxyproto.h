/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proxyproto.h - the PROXY protocol, versions 1 (text) and 2 (binary), as
 * HAProxy's proxy-protocol.txt specifies it: a header a proxy sends ahead of
 * the client's bytes to say who the client was. The parser reads the first
 * bytes of a connection (either version, auto-detected) and the builder
 * writes a header for a source/destination pair. Neither allocates nor keeps
 * state between calls, so a caller may feed the parser a growing buffer.
 */
#ifndef RP_PROXYPROTO_H
#define RP_PROXYPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* A v1 line is at most 107 bytes, "PROXY" to CRLF inclusive (spec 2.1). */
#define RP_PP_V1_MAX 107
/* The fixed part of a v2 header: signature, version/command, family, length. */
#define RP_PP_V2_FIXED 16
/* Largest header rp__pp_build() writes (a v1 TCP6 line). */
#define RP_PP_BUILD_MAX RP_PP_V1_MAX

/* What a header said. */
struct rp_pp_result {
	int version; /* 1 or 2 */
	/* No address: v1 UNKNOWN, v2 LOCAL, or a v2 PROXY header of family
	 * UNSPEC or UNIX. The connection's own endpoints stand. */
	bool local;
	/* With !local: the client (src) and the address it connected to (dst),
	 * both AF_INET or both AF_INET6, ports in network order. */
	struct sockaddr_storage src, dst;
	socklen_t addr_len; /* sizeof(struct sockaddr_in) or _in6; 0 if local */
};

/*
 * Parses a PROXY header at the start of @buf, the @len bytes received so far
 * on a connection. Returns the header's length in bytes (what to consume;
 * bytes after it are the client's data) and fills @out; -EAGAIN when @buf is
 * a valid prefix of a header and more bytes are needed (never for more than
 * RP_PP_V1_MAX bytes of v1 or 16 + the length field of v2); -EBADMSG when it
 * cannot be a header: neither signature, v1 line without CRLF within 107
 * bytes, bad token, address or port, v2 version other than 2, a command
 * other than LOCAL/PROXY, an unknown family or transport (UDP included: this
 * is a TCP proxy), or a length too short for the family's addresses. v2 TLVs
 * are skipped unread: only the length field bounds them. @out is written
 * only on success.
 */
int rp__pp_parse(const void *buf, size_t len, struct rp_pp_result *out);

/*
 * Writes a version @version (1 or 2) header saying that @src connected to
 * @dst into @buf (@cap bytes). @src and @dst are both AF_INET or both
 * AF_INET6; @src NULL writes "PROXY UNKNOWN" (v1) or the LOCAL command (v2).
 * v2 headers carry no TLV. Returns the header's length, -ENOSPC when @cap is
 * too small (RP_PP_BUILD_MAX always suffices), -EINVAL for a bad @version,
 * -EAFNOSUPPORT for another family or mixed families.
 */
int rp__pp_build(int version, const struct sockaddr *src, const struct sockaddr *dst,
		 void *buf, size_t cap);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sni.h - peeking at the TLS ClientHello that opens a connection, for SNI
 * passthrough: the proxy routes on the server_name (and may look at the ALPN
 * offer) while the bytes go to the backend untouched, TLS never terminated.
 * The parser reads the handshake record(s) in the buffer as received, walks
 * a ClientHello fragmented over several records without copying it, and
 * neither allocates nor keeps state between calls, so a caller feeds it the
 * same growing buffer until it stops answering -EAGAIN.
 */
#ifndef RP_TLS_SNI_H
#define RP_TLS_SNI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest TLSPlaintext fragment, 2^14 bytes (RFC 8446 5.1). */
#define RP_TLS_RECORD_MAX 16384
/* A sensible @max for rp__sni_peek(): one full record and its header. */
#define RP_SNI_PEEK_MAX (RP_TLS_RECORD_MAX + 5)
#define RP_SNI_ALPN_MAX 8  /* protocols kept from the offer */
#define RP_SNI_ALPN_LEN 32 /* bytes per kept protocol, NUL included */

/* Result of peeking at the start of a TLS connection. */
struct rp_sni_result {
	/* server_name of type host_name, lowercased, one trailing dot
	 * stripped, NUL-terminated; "" when the extension is absent. */
	char host[256];
	/* The first protocols offered, in the client's order, NUL-terminated.
	 * A name of RP_SNI_ALPN_LEN bytes or more, or one holding a NUL byte,
	 * is skipped rather than kept truncated: it could match nothing. */
	char alpn[RP_SNI_ALPN_MAX][RP_SNI_ALPN_LEN];
	unsigned nalpn;
	uint16_t legacy_version; /* ClientHello.legacy_version */
	bool tls13;		 /* supported_versions lists 0x0304 */
};

/*
 * Parses the TLS record(s) carrying a ClientHello at the start of @buf, the
 * @len bytes received so far; nothing is consumed or modified. Returns the
 * number of bytes the ClientHello's records take (> 0; bytes after them are
 * the client's next records) once it is complete and valid, and fills @out;
 * -EAGAIN when @buf is a valid prefix and more bytes are needed, which never
 * happens past @max (the most the caller will buffer, e.g. RP_SNI_PEEK_MAX);
 * -E2BIG as soon as a record header or the handshake length shows the
 * ClientHello would end past @max; -EBADMSG when it is not a TLS ClientHello
 * or is malformed, with a static reason in *@why (@why may be NULL).
 * Refused as early as the bytes allow: an SSLv2 hello, plaintext HTTP or any
 * non-handshake record on its first byte; record version other than
 * 0x0301..0x0303, empty or over-2^14 records, a non-handshake record inside
 * the ClientHello, a handshake other than ClientHello, any length that
 * overruns or does not exactly fill its container, session id over 32 bytes,
 * empty or odd cipher suites, no compression method, a repeated extension,
 * a server_name list that is empty, has a type other than host_name or two
 * host_names, a host_name that is not 1..255 bytes of a DNS name (letters,
 * digits, '-', '_', non-empty labels of at most 63 bytes), an empty ALPN
 * list or protocol, a malformed supported_versions list, and handshake bytes
 * after the ClientHello in its last record. @out is cleared on entry and is
 * meaningful only on success.
 */
int rp__sni_peek(const uint8_t *buf, size_t len, size_t max, struct rp_sni_result *out,
		 const char **why);

/*
 * Whether @name may be an SNI route's name: a DNS name such as "a.example"
 * (letters, digits, '-' and '_' in non-empty labels of at most 63 bytes,
 * at most 253 bytes in all, no trailing dot), or "*." followed by one, the
 * wildcard form. A '*' anywhere else, a space or a control character is
 * refused. Letters of either case are accepted; matching ignores case.
 */
bool rp__sni_name_ok(const char *name);

/*
 * Whether @host, a server name as rp__sni_peek() gives it, is one that the
 * route name @name (valid for rp__sni_name_ok()) takes: the same name,
 * ignoring ASCII case, or for "*.example" any name with exactly one more
 * label ("a.example", never "example" nor "b.a.example"), as a
 * certificate's wildcard matches (RFC 6125 6.4.3). An empty @host (no SNI)
 * matches nothing.
 */
bool rp__sni_name_match(const char *name, const char *host);

#endif

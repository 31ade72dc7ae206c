/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * http.h - the strict HTTP/1.1 message parser of the L7 reverse proxy and the
 * forward proxy (RFC 9112 syntax, RFC 9110 semantics): request and response
 * heads, the chunked body decoder, header lookup, the hop-by-hop test, the
 * request- and response-head serializers, and the proxy's own error
 * responses. Everything works in place on the caller's receive buffer and
 * nothing allocates: a parsed message is a set of spans (offset and
 * length) into the buffer that was parsed, valid for as long as the caller
 * keeps those bytes. This is the one header of engine/http/.
 *
 * Strictness is the point (request smuggling defence): anything that two
 * implementations could read two ways is refused, and what is forwarded is
 * re-framed by the serializer rather than copied. The decisions the RFCs
 * leave open, taken here:
 *  - line endings are CRLF only; a bare LF is refused like a bare CR (RFC 9112
 *    section 2.2 lets a recipient accept a bare LF; a proxy that did would
 *    read a message differently from a backend that does not);
 *  - up to RP_HTTP_MAX_EMPTY_LINES empty lines (CRLF) before a request line
 *    are skipped (section 2.2, a client's stray CRLF after a body), more are
 *    refused; a response may not start with one;
 *  - methods are case-sensitive tokens ("get" is an unknown method, not GET);
 *  - a request-target is visible ASCII without '#', with every '%' followed
 *    by two hex digits; '"', '<', '>', '\', '^', '`', '{', '|', '}' pass
 *    because browsers send some of them unencoded in queries;
 *  - Transfer-Encoding in a request must be exactly "chunked" (400 when
 *    chunked is missing, not last or repeated, 501 when another coding comes
 *    before it); in a response anything but "chunked" is refused too;
 *  - an absolute-form target's authority is the request's host and the Host
 *    field is ignored (RFC 9112 section 3.2.2); host_differs tells when Host
 *    named another authority (the scheme's default port is the same
 *    authority: "http://h:80/" with "Host: h" is no difference), and the
 *    serializer always writes Host from the target, so no later hop can
 *    read the request another way;
 *  - a Connection option never makes Host or Content-Length hop-by-hop (the
 *    header-stripping trick).
 */
#ifndef RP_HTTP_H
#define RP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Header field lines a parsed message can hold; limits above are clamped. */
#define RP_HTTP_MAX_HEADERS 128
/* Empty lines skipped before a request line. */
#define RP_HTTP_MAX_EMPTY_LINES 8
/* Connection options one message may list: each is matched against every
 * header name, so their number is bounded; more is a 400. */
#define RP_HTTP_MAX_CONN_OPTIONS 32
/* content_length when the message has no Content-Length. */
#define RP_HTTP_NO_LENGTH (-1)

/* Bytes [off, off + len) of the buffer that was parsed or decoded. */
struct rp_http_span {
	uint32_t off;
	uint32_t len;
};

/* Where span @s starts in @buf, the buffer it was parsed from. */
static inline const char *rp__http_ptr(const char *buf, struct rp_http_span s)
{
	return buf + s.off;
}

/*
 * Limits of what one message may take, each a config value. Every parser
 * takes a pointer to one; NULL means rp__http_limits_default.
 */
struct rp_http_limits {
	uint32_t max_head;	 /* request or response head, final CRLFCRLF included */
	uint32_t max_headers;	 /* header field lines (at most RP_HTTP_MAX_HEADERS) */
	uint32_t max_target;	 /* request-target bytes */
	uint32_t max_chunk_line; /* a chunk-size line with extensions, CRLF included */
	uint32_t max_trailer;	 /* trailer section, its final CRLF included */
};

/* 16 KiB head, 100 header lines, 8 KiB target, 4 KiB chunk line, 16 KiB trailer. */
extern const struct rp_http_limits rp__http_limits_default;

enum rp_http_method {
	RP_HTTP_OTHER, /* any other token: the proxy may forward it */
	RP_HTTP_GET,
	RP_HTTP_HEAD,
	RP_HTTP_POST,
	RP_HTTP_PUT,
	RP_HTTP_DELETE,
	RP_HTTP_CONNECT,
	RP_HTTP_OPTIONS,
	RP_HTTP_TRACE,
	RP_HTTP_PATCH,
};

/* RFC 9112 section 3.2. */
enum rp_http_target_form {
	RP_HTTP_ORIGIN_FORM,	/* "/path?query" */
	RP_HTTP_ABSOLUTE_FORM,	/* "http://host:port/path?query" (to a proxy) */
	RP_HTTP_AUTHORITY_FORM, /* "host:port", CONNECT only */
	RP_HTTP_ASTERISK_FORM,	/* "*", OPTIONS only */
};

enum rp_http_scheme {
	RP_HTTP_SCHEME_NONE, /* no scheme: not absolute-form */
	RP_HTTP_SCHEME_HTTP,
	RP_HTTP_SCHEME_HTTPS,
	RP_HTTP_SCHEME_OTHER, /* syntactically valid, e.g. "ftp": the caller decides */
};

/* How the body after a head is delimited (RFC 9112 section 6.3). */
enum rp_http_body {
	RP_HTTP_BODY_NONE,    /* no body: the next message follows the head */
	RP_HTTP_BODY_LENGTH,  /* content_length (> 0) bytes */
	RP_HTTP_BODY_CHUNKED, /* run it through rp__http_chunked_decode() */
	RP_HTTP_BODY_CLOSE,   /* response only: until the server closes */
	RP_HTTP_BODY_TUNNEL,  /* response only: 2xx to CONNECT, 101: raw bytes follow */
};

/* Header fields the parser acts on; everything else is RP_HTTP_HDR_OTHER. */
enum rp_http_hdr_id {
	RP_HTTP_HDR_OTHER,
	RP_HTTP_HDR_HOST,
	RP_HTTP_HDR_CONTENT_LENGTH,
	RP_HTTP_HDR_TRANSFER_ENCODING,
	RP_HTTP_HDR_CONNECTION,
	RP_HTTP_HDR_KEEP_ALIVE,
	RP_HTTP_HDR_PROXY_CONNECTION,
	RP_HTTP_HDR_TE,
	RP_HTTP_HDR_TRAILER,
	RP_HTTP_HDR_UPGRADE,
	RP_HTTP_HDR_PROXY_AUTHENTICATE,
	RP_HTTP_HDR_PROXY_AUTHORIZATION,
	RP_HTTP_HDR_EXPECT,
};

/* hdr flags */
#define RP_HTTP_HDR_HOP 0x01 /* hop-by-hop: not forwarded (see rp__http_is_hop_by_hop) */

/* One field line, in received order. The value has its OWS trimmed. */
struct rp_http_header {
	struct rp_http_span name;
	struct rp_http_span value;
	uint8_t id;    /* enum rp_http_hdr_id */
	uint8_t flags; /* RP_HTTP_HDR_* */
};

struct rp_http_request {
	/* request line */
	struct rp_http_span method;
	struct rp_http_span target;
	enum rp_http_method method_id;
	enum rp_http_target_form form;
	/* Absolute-form and authority-form targets, split (else empty). The host
	 * keeps an IP literal's brackets; port is 0 when the target has none. */
	enum rp_http_scheme scheme_id;
	struct rp_http_span scheme;
	struct rp_http_span authority;	 /* "host[:port]" */
	struct rp_http_span target_host; /* host of the authority */
	struct rp_http_span path;	 /* origin-form: the target; absolute-form: the
					  * path and query after the authority, maybe
					  * empty or starting with '?' */
	uint16_t port;
	uint8_t minor; /* HTTP/1.<minor>: 0 or 1 */

	/* What a proxy acts on, derived from the header section. */
	struct rp_http_span host; /* absolute-form: the target's authority; else the
				   * Host field value (may be empty) */
	bool has_host;		  /* a Host field line was received */
	bool host_differs;	  /* absolute-form: Host named another authority than
				   * the target (ignored; a reverse proxy refuses) */
	enum rp_http_body body;	  /* NONE, LENGTH or CHUNKED */
	int64_t content_length;	  /* or RP_HTTP_NO_LENGTH */
	bool chunked;		  /* Transfer-Encoding: chunked */
	bool conn_close;	  /* Connection lists "close" */
	bool conn_keep_alive;	  /* Connection lists "keep-alive" */
	bool conn_upgrade;	  /* Connection lists "upgrade" */
	bool upgrade;		  /* an Upgrade field is present (an upgrade is asked for
				   * only with conn_upgrade, in HTTP/1.1) */
	bool expect_continue;	  /* HTTP/1.1 with Expect: 100-continue */
	bool keep_alive;	  /* persistent after this exchange, by version and
				   * Connection (RFC 9112 section 9.3) */

	/* On -EBADMSG: the status to answer with (400, 414, 431, 501, 505) and why. */
	uint16_t err_status;
	const char *err;

	/* The header section, last so that the parser clears only what is above. */
	uint16_t nheaders;
	struct rp_http_header headers[RP_HTTP_MAX_HEADERS];
};

struct rp_http_response {
	uint16_t status; /* 100..599 */
	uint8_t minor;	 /* HTTP/1.<minor>: 0 or 1 */
	struct rp_http_span reason;

	enum rp_http_body body; /* 1xx (but 101), 204, 304 and HEAD: NONE */
	int64_t content_length; /* or RP_HTTP_NO_LENGTH; also set when it does not
				 * frame the body (HEAD, 304) */
	bool chunked;
	bool conn_close;
	bool conn_keep_alive;
	bool conn_upgrade;
	bool upgrade;
	bool keep_alive; /* the connection can carry another exchange */

	/* On -EBADMSG: why (the caller answers its client with 502). */
	const char *err;

	uint16_t nheaders;
	struct rp_http_header headers[RP_HTTP_MAX_HEADERS];
};

/*
 * Parses the request head at the start of @buf (@len bytes: what has arrived
 * so far). @lim may be NULL for the defaults. The parser keeps no state
 * between calls: call again with the grown buffer when more bytes arrive.
 *
 * Returns the bytes the head takes (leading empty lines and the final
 * CRLFCRLF included; a body or the next request follows), -EAGAIN when the
 * head is not complete yet and still within the limits, or -EBADMSG with
 * req->err_status and req->err (a static string) set. A head that cannot fit
 * the limits fails as soon as that is known: 414 for the request line, 431
 * for the header section. Every span in @req is relative to @buf and inside
 * the returned length. @req is written, never read; it holds no pointer into
 * @buf, so @buf may move between parsing and using the spans.
 */
int rp__http_parse_request(const char *buf, size_t len, const struct rp_http_limits *lim,
			   struct rp_http_request *req);

/*
 * Parses the response head at the start of @buf, received for a request with
 * method @req_method (HEAD and CONNECT change the framing). Same conventions
 * as rp__http_parse_request(); on -EBADMSG only resp->err is set, since the
 * answer to the client is a 502 whatever the fault. A 1xx other than 101 is
 * interim: the final response follows it.
 */
int rp__http_parse_response(const char *buf, size_t len, const struct rp_http_limits *lim,
			    enum rp_http_method req_method,
			    struct rp_http_response *resp);

/*
 * Incremental chunked body decoder (RFC 9112 section 7.1). The caller keeps
 * one per body, initialised with rp__http_chunked_init(), and feeds it the
 * bytes after the head in pieces of any size. Trailer fields are checked and
 * dropped (RFC 9110 section 6.5.1 lets a recipient discard them).
 */
struct rp_http_chunked {
	uint64_t remaining;   /* data bytes left in the current chunk */
	uint64_t size;	      /* chunk size being read */
	uint32_t line;	      /* bytes of the current size line so far */
	uint32_t trailer;     /* bytes of the trailer section so far */
	uint32_t max_line;    /* from the limits */
	uint32_t max_trailer; /* from the limits */
	uint8_t state;
	bool done;	 /* the whole body, trailers included, is consumed */
	const char *err; /* on -EBADMSG: why (static) */
};

/* Starts a body; @lim may be NULL for the defaults. */
void rp__http_chunked_init(struct rp_http_chunked *c, const struct rp_http_limits *lim);

/*
 * Consumes chunked framing from @buf (@len bytes, the next piece of the body)
 * up to and including at most one run of payload bytes, which it reports in
 * *@data (offsets into @buf; len 0 when there are none). The payload, when
 * there is one, is always the last thing consumed: data->off + data->len is
 * the return value. Returns the bytes consumed, >= 0; call again with the rest
 * of the piece when that is less than @len and c->done is not set. Once done,
 * it consumes nothing more: what follows belongs to the next message. On
 * malformed framing (bad or overflowing size, bad chunk-ext, bare CR or LF,
 * over-long size line or trailer) -EBADMSG with c->err set; the state is then
 * stuck in the error. Pieces are processed up to INT_MAX bytes at a time.
 */
int rp__http_chunked_decode(struct rp_http_chunked *c, const char *buf, size_t len,
			    struct rp_http_span *data);

/*
 * Index of the first header at or after @from whose name is @name (@name_len
 * bytes, compared case-insensitively), or -1. @buf is the parsed buffer.
 */
int rp__http_find_header(const char *buf, const struct rp_http_header *hdrs, unsigned n,
			 const char *name, size_t name_len, unsigned from);

/* Whether @name is one of the fixed hop-by-hop fields (RFC 9110 section 7.6.1
 * and the proxy ones): Connection, Keep-Alive, Proxy-Connection, TE, Trailer,
 * Transfer-Encoding, Upgrade, Proxy-Authenticate, Proxy-Authorization. */
bool rp__http_hop_by_hop_name(const char *name, size_t name_len);

/* Whether a parsed header must not be forwarded: a fixed hop-by-hop field or
 * one whose name the message's Connection field lists (the parser marks
 * both). */
static inline bool rp__http_is_hop_by_hop(const struct rp_http_header *h)
{
	return h->flags & RP_HTTP_HDR_HOP;
}

/* A header line the serializer appends, NUL-terminated name and value. */
struct rp_http_field {
	const char *name;
	const char *value;
};

/* serializer flags */
#define RP_HTTP_SER_ORIGIN_FORM 0x01 /* absolute-form target: write its path and query */

/*
 * Writes a request head for the next hop into @out (@cap bytes) from @req,
 * parsed from @buf: the request line as HTTP/1.1 (an intermediary sends its
 * own version, RFC 9110 section 6.2), then every header that is not
 * hop-by-hop, in received order and as received, except that framing is
 * re-generated: one "Content-Length: N" or "Transfer-Encoding: chunked" for
 * whatever the parser decided, so a backend never sees duplicates or codings
 * we did not read (and an HTTP/1.0 request's Expect is dropped, since the
 * parser ignored it). Then the @nextra lines of @extra (X-Forwarded-For, Via,
 * Connection...) and the final CRLF. An absolute-form request's Host is
 * written from its target's authority, whatever Host it came with (added
 * when it had none), right after the request line; a port that is the
 * scheme's default is left out ("http://h:80/x" gets "Host: h"). With
 * RP_HTTP_SER_ORIGIN_FORM an absolute-form target becomes origin-form. An
 * HTTP/1.0 request in origin-form without Host needs one in @extra to be
 * valid HTTP/1.1.
 *
 * Returns the bytes written (no NUL), -ENOSPC when @cap is too small, or
 * -EINVAL when an extra name is not a token or a value holds a control
 * character other than HTAB (header injection). @out must not overlap @buf.
 */
int rp__http_serialize_request(const char *buf, const struct rp_http_request *req,
			       const struct rp_http_field *extra, unsigned nextra,
			       unsigned flags, char *out, size_t cap);

/* serializer flags for responses: the body will be sent de-chunked and
 * close-delimited (to an HTTP/1.0 client), so write no framing header */
#define RP_HTTP_SER_DECHUNK 0x02

/*
 * Writes a response head for the client into @out (@cap bytes) from @resp,
 * parsed from @buf: "HTTP/1.1 <status> <reason as received>" (our own version,
 * RFC 9110 section 6.2), then every header that is not hop-by-hop, in
 * received order and as received, except that framing is re-generated: one
 * "Content-Length: N" whenever resp->content_length is known, also where it
 * frames no body (HEAD, 304: it keeps what the server said), one
 * "Transfer-Encoding: chunked" when resp->chunked unless
 * RP_HTTP_SER_DECHUNK, nothing for a close-delimited body. A 1xx, a 204 and a
 * tunnel (101, 2xx to CONNECT) get no framing field at all, whatever the
 * server sent (RFC 9110 sections 8.6 and 9.3.6). Then the @nextra lines of
 * @extra (Via, Connection: close, the Connection and Upgrade of a 101...),
 * which are the caller's to choose since Connection and Upgrade are
 * hop-by-hop, and the final CRLF.
 *
 * Returns the bytes written (no NUL), -ENOSPC when @cap is too small, or
 * -EINVAL when an extra is not a valid field line (as for
 * rp__http_serialize_request()). @out must not overlap @buf.
 */
int rp__http_serialize_response(const char *buf, const struct rp_http_response *resp,
				const struct rp_http_field *extra, unsigned nextra,
				unsigned flags, char *out, size_t cap);

/* The standard reason phrase of @status (RFC 9110 section 15, and RFC 6585's
 * 428, 429, 431), a static string, or NULL for a code it does not know. */
const char *rp__http_reason(unsigned status);

/*
 * Writes the complete response the proxy sends for one of its own errors
 * (@status 400..599 with a reason rp__http_reason() knows): the status line,
 * "Content-Type: text/plain", "Content-Length", "Connection: close" when
 * @close, and the body "<status> <reason>\n". For a HEAD request the caller
 * sends all but the body's last 4 + strlen(rp__http_reason(status)) + 1
 * bytes. Returns the bytes written (no NUL), -ENOSPC when @cap is too small
 * (RP_HTTP_ERROR_RESPONSE_MAX is always enough), -EINVAL for another status.
 */
#define RP_HTTP_ERROR_RESPONSE_MAX 192
int rp__http_error_response(unsigned status, bool close, char *out, size_t cap);
/* The same with a second line in the body: @why (NULL or "" for none; bytes
 * below 0x20 and 0x7f are written as '?'), so that a client learns what
 * failed, as Squid's error pages tell. RP_HTTP_ERROR_RESPONSE_MAX plus
 * strlen(@why) + 1 is always enough. */
int rp__http_error_response_why(unsigned status, bool close, const char *why, char *out,
				size_t cap);

/* Character classes shared by the folder's parsers (parser.c builds it). */
#define RP_HTTP_C_TCHAR	 0x01 /* token (RFC 9110 section 5.6.2) */
#define RP_HTTP_C_VALUE	 0x02 /* field-vchar, SP, HTAB: field value, reason */
#define RP_HTTP_C_TARGET 0x04 /* request-target byte other than '%' */
#define RP_HTTP_C_HEX	 0x08
#define RP_HTTP_C_HOST	 0x10 /* reg-name: unreserved and sub-delims */
#define RP_HTTP_C_QDTEXT 0x20 /* quoted-string text */
extern const uint8_t rp__http_ctype[256];

#ifdef __cplusplus
}
#endif

#endif

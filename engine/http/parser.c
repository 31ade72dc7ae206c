// SPDX-License-Identifier: BSD-2-Clause
/*
 * parser.c - the HTTP/1.1 request and response head parsers (RFC 9112
 * sections 2-6, RFC 9110 for what the fields mean), header lookup and the
 * hop-by-hop test. A head is parsed from its first byte on every call, with
 * no state kept between calls (picohttpparser's model): the cost of a call is
 * bounded by max_head, and the result for a given buffer never depends on how
 * it arrived. See http.h for the strictness decisions.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "http/http.h"

const struct rp_http_limits rp__http_limits_default = {
	.max_head = 16384,
	.max_headers = 100,
	.max_target = 8192,
	.max_chunk_line = 4096,
	.max_trailer = 16384,
};

/* ---- character classes ----------------------------------------------------
 * Built at compile time from the RFC's definitions, one row per byte value.
 */
#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')
#define IS_ALPHA(c) (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z'))
#define IS_TCHAR(c)                                                                      \
	(IS_DIGIT(c) || IS_ALPHA(c) || (c) == '!' || (c) == '#' || (c) == '$' ||         \
	 (c) == '%' || (c) == '&' || (c) == '\'' || (c) == '*' || (c) == '+' ||          \
	 (c) == '-' || (c) == '.' || (c) == '^' || (c) == '_' || (c) == '`' ||           \
	 (c) == '|' || (c) == '~')
#define IS_VCHAR(c)  ((c) >= 0x21 && (c) <= 0x7e)
#define IS_VALUE(c)  (IS_VCHAR(c) || (c) >= 0x80 || (c) == ' ' || (c) == '\t')
#define IS_TARGET(c) (IS_VCHAR(c) && (c) != '#' && (c) != '%')
#define IS_HEX(c)                                                                        \
	(IS_DIGIT(c) || ((c) >= 'a' && (c) <= 'f') || ((c) >= 'A' && (c) <= 'F'))
#define IS_HOST(c)                                                                       \
	(IS_ALPHA(c) || IS_DIGIT(c) || (c) == '-' || (c) == '.' || (c) == '_' ||         \
	 (c) == '~' || (c) == '!' || (c) == '$' || (c) == '&' || (c) == '\'' ||          \
	 (c) == '(' || (c) == ')' || (c) == '*' || (c) == '+' || (c) == ',' ||           \
	 (c) == ';' || (c) == '=')
#define IS_QDTEXT(c)                                                                     \
	((c) == '\t' || (c) == ' ' || (c) == 0x21 || ((c) >= 0x23 && (c) <= 0x5b) ||     \
	 ((c) >= 0x5d && (c) <= 0x7e) || (c) >= 0x80)

#define CT(c)                                                                            \
	((IS_TCHAR(c) ? RP_HTTP_C_TCHAR : 0) | (IS_VALUE(c) ? RP_HTTP_C_VALUE : 0) |     \
	 (IS_TARGET(c) ? RP_HTTP_C_TARGET : 0) | (IS_HEX(c) ? RP_HTTP_C_HEX : 0) |       \
	 (IS_HOST(c) ? RP_HTTP_C_HOST : 0) | (IS_QDTEXT(c) ? RP_HTTP_C_QDTEXT : 0))
#define CT4(c)	CT(c), CT((c) + 1), CT((c) + 2), CT((c) + 3)
#define CT16(c) CT4(c), CT4((c) + 4), CT4((c) + 8), CT4((c) + 12)
#define CT64(c) CT16(c), CT16((c) + 16), CT16((c) + 32), CT16((c) + 48)

const uint8_t rp__http_ctype[256] = {CT64(0), CT64(64), CT64(128), CT64(192)};

static inline bool is_c(unsigned char c, uint8_t class)
{
	return rp__http_ctype[c] & class;
}

static inline bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static inline unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* @s equals @lit, a lower-case literal, ignoring ASCII case; both @n bytes. */
static bool ieq_lit(const char *s, const char *lit, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)s[i]) != (unsigned char)lit[i])
			return false;
	return true;
}

static bool ieq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return false;
	return true;
}

/*
 * Whether eight bytes are all plain field-value bytes: 0x20..0x7e or obs-text.
 * Anything else (CTLs, HTAB, CR, LF, DEL) sends the scanner to its byte loop.
 * (x - 0x20..) & ~x & 0x80.. is non-zero exactly when some byte is < 0x20.
 */
static inline bool plain8(const char *p)
{
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
	uint64_t x, del;

	memcpy(&x, p, 8);
	del = x ^ (ones * 0x7f);
	return !(((x - ones * 0x20) & ~x & highs) | ((del - ones) & ~del & highs));
}

/* ---- the shared head scanner ---------------------------------------------- */

struct head {
	const char *buf;     /* spans are relative to it */
	const char *p, *end; /* cursor; end of the window (max_head at most) */
	bool truncated;	     /* the window stops at max_head, not at the data */
	bool request;	     /* Host means something */
	bool in_start_line;  /* where an incomplete head stopped */
	unsigned max_hdrs;
	unsigned nhdrs;
	struct rp_http_header *hdrs;

	int64_t content_length;
	struct rp_http_span host;
	unsigned nhost;
	unsigned nconn_options;
	bool te;	 /* a Transfer-Encoding field was seen */
	bool te_chunked; /* chunked seen (then it was the last coding so far) */
	bool te_other;	 /* a coding other than chunked came before it */
	bool conn_close, conn_keep_alive, conn_upgrade, upgrade, expect_continue;
	bool has_connection;

	uint16_t status; /* on -EBADMSG */
	const char *err;
};

static int fail(struct head *h, uint16_t status, const char *why)
{
	h->status = status;
	h->err = why;
	return -EBADMSG;
}

static void head_init(struct head *h, const char *buf, size_t len,
		      const struct rp_http_limits *lim, struct rp_http_header *hdrs,
		      bool request)
{
	size_t max_head = lim->max_head < INT_MAX ? lim->max_head : INT_MAX;

	memset(h, 0, sizeof(*h));
	h->buf = buf;
	h->p = buf;
	h->truncated = len >= max_head;
	h->end = buf + (h->truncated ? max_head : len);
	h->request = request;
	h->in_start_line = true;
	h->max_hdrs = lim->max_headers < RP_HTTP_MAX_HEADERS ? lim->max_headers
							     : RP_HTTP_MAX_HEADERS;
	h->hdrs = hdrs;
	h->content_length = RP_HTTP_NO_LENGTH;
}

static inline struct rp_http_span span(const struct head *h, const char *from,
				       const char *to)
{
	struct rp_http_span s = {(uint32_t)(from - h->buf), (uint32_t)(to - from)};

	return s;
}

/* Expects CRLF at h->p and steps over it; @what names the line for errors. */
static int crlf(struct head *h, const char *what)
{
	if (h->p == h->end)
		return -EAGAIN;
	if (*h->p != '\r')
		return fail(h, 400, *h->p == '\n' ? "bare LF" : what);
	if (h->end - h->p < 2)
		return -EAGAIN;
	if (h->p[1] != '\n')
		return fail(h, 400, "bare CR");
	h->p += 2;
	return 0;
}

/*
 * "HTTP/" DIGIT "." DIGIT at h->p (RFC 9112 section 2.3: case-sensitive, one
 * digit each). Sets *@minor to the minor digit and *@major to the major one.
 */
static int version(struct head *h, unsigned *major, unsigned *minor)
{
	static const char pat[] = "HTTP/0.0";
	const char *p = h->p;
	size_t avail = (size_t)(h->end - p);

	for (size_t i = 0; i < 8 && i < avail; i++) {
		bool ok = pat[i] == '0' ? IS_DIGIT(p[i]) : p[i] == pat[i];

		if (!ok)
			return fail(h, 400, "bad HTTP version");
	}
	if (avail < 8)
		return -EAGAIN;
	*major = (unsigned)(p[5] - '0');
	*minor = (unsigned)(p[7] - '0');
	h->p = p + 8;
	return 0;
}

/*
 * uri-host [":" port] (RFC 9110 section 4.2.3, 7.2): a reg-name, an IPv4
 * address (a reg-name too) or a bracketed IPv6 literal, and a port of 1 to
 * 65535 when there is one. Returns 0 or -1; *@hostlen and *@port on success.
 */
static int authority(const char *s, size_t n, bool need_port, size_t *hostlen,
		     uint16_t *port)
{
	size_t i = 0;
	unsigned v = 0;

	if (!n)
		return -1;
	if (s[0] == '[') {
		bool colon = false;

		for (i = 1; i < n && s[i] != ']'; i++) {
			if (s[i] == ':')
				colon = true;
			else if (!is_c((unsigned char)s[i], RP_HTTP_C_HEX) && s[i] != '.')
				return -1;
		}
		if (i == n || !colon)
			return -1;
		i++;
	} else {
		while (i < n && s[i] != ':') {
			if (is_c((unsigned char)s[i], RP_HTTP_C_HOST))
				i++;
			else if (s[i] == '%' && i + 2 < n &&
				 is_c((unsigned char)s[i + 1], RP_HTTP_C_HEX) &&
				 is_c((unsigned char)s[i + 2], RP_HTTP_C_HEX))
				i += 3;
			else
				return -1;
		}
		if (!i)
			return -1;
	}
	*hostlen = i;
	*port = 0;
	if (i == n)
		return need_port ? -1 : 0;
	if (s[i] != ':' || n - i < 2 || n - i > 6)
		return -1;
	for (i++; i < n; i++) {
		if (!IS_DIGIT(s[i]))
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (!v || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* ---- field lines ------------------------------------------------------------ */

static uint8_t header_id(const char *s, size_t n)
{
	switch (n) {
	case 2:
		if (ieq_lit(s, "te", 2))
			return RP_HTTP_HDR_TE;
		break;
	case 4:
		if (ieq_lit(s, "host", 4))
			return RP_HTTP_HDR_HOST;
		break;
	case 6:
		if (ieq_lit(s, "expect", 6))
			return RP_HTTP_HDR_EXPECT;
		break;
	case 7:
		if (ieq_lit(s, "upgrade", 7))
			return RP_HTTP_HDR_UPGRADE;
		if (ieq_lit(s, "trailer", 7))
			return RP_HTTP_HDR_TRAILER;
		break;
	case 10:
		if (ieq_lit(s, "connection", 10))
			return RP_HTTP_HDR_CONNECTION;
		if (ieq_lit(s, "keep-alive", 10))
			return RP_HTTP_HDR_KEEP_ALIVE;
		break;
	case 14:
		if (ieq_lit(s, "content-length", 14))
			return RP_HTTP_HDR_CONTENT_LENGTH;
		break;
	case 16:
		if (ieq_lit(s, "proxy-connection", 16))
			return RP_HTTP_HDR_PROXY_CONNECTION;
		break;
	case 17:
		if (ieq_lit(s, "transfer-encoding", 17))
			return RP_HTTP_HDR_TRANSFER_ENCODING;
		break;
	case 18:
		if (ieq_lit(s, "proxy-authenticate", 18))
			return RP_HTTP_HDR_PROXY_AUTHENTICATE;
		break;
	case 19:
		if (ieq_lit(s, "proxy-authorization", 19))
			return RP_HTTP_HDR_PROXY_AUTHORIZATION;
		break;
	}
	return RP_HTTP_HDR_OTHER;
}

static bool hop_by_hop_id(uint8_t id)
{
	switch (id) {
	case RP_HTTP_HDR_CONNECTION:
	case RP_HTTP_HDR_KEEP_ALIVE:
	case RP_HTTP_HDR_PROXY_CONNECTION:
	case RP_HTTP_HDR_TE:
	case RP_HTTP_HDR_TRAILER:
	case RP_HTTP_HDR_TRANSFER_ENCODING:
	case RP_HTTP_HDR_UPGRADE:
	case RP_HTTP_HDR_PROXY_AUTHENTICATE:
	case RP_HTTP_HDR_PROXY_AUTHORIZATION:
		return true;
	}
	return false;
}

/* field-name ":" at h->p: a token, the colon right after it (RFC 9112 section
 * 5.1: no whitespace before the colon, 400). */
static int field_name(struct head *h, struct rp_http_span *name)
{
	const char *p = h->p, *start = p;

	while (p < h->end && is_c((unsigned char)*p, RP_HTTP_C_TCHAR))
		p++;
	if (p == h->end)
		return -EAGAIN;
	if (*p != ':') {
		if (is_ows(*p))
			return fail(h, 400, "whitespace before colon");
		if (*p == '\r' || *p == '\n')
			return fail(h, 400, "field line without colon");
		return fail(h, 400, "bad character in field name");
	}
	if (p == start)
		return fail(h, 400, "empty field name");
	*name = span(h, start, p);
	h->p = p + 1;
	return 0;
}

/* OWS field-value OWS CRLF at h->p; *@value is the value without the OWS. */
static int field_value(struct head *h, struct rp_http_span *value)
{
	const char *p = h->p, *end = h->end, *start, *last;

	while (p < end && is_ows(*p))
		p++;
	start = p;
	for (;;) {
		unsigned char c;

		while (end - p >= 8 && plain8(p))
			p += 8;
		if (p == end)
			return -EAGAIN;
		c = (unsigned char)*p;
		if ((c >= 0x20 && c != 0x7f) || c == '\t') {
			p++;
			continue;
		}
		if (c == '\r')
			break;
		if (c == '\n')
			return fail(h, 400, "bare LF");
		if (!c)
			return fail(h, 400, "NUL in field value");
		return fail(h, 400, "control character in field value");
	}
	if (end - p < 2)
		return -EAGAIN;
	if (p[1] != '\n')
		return fail(h, 400, "bare CR");
	last = p;
	while (last > start && is_ows(last[-1]))
		last--;
	*value = span(h, start, last);
	h->p = p + 2;
	return 0;
}

/*
 * Walks the comma-separated list in [*@i, @n) of @v (RFC 9110 section 5.6.1:
 * OWS around commas, empty elements ignored) to its next element, which must
 * start with a token: the token is [*@tok, *@i). Returns 1 for an element, 0 at
 * the end, -1 when what is there is not a token.
 */
static int list_next(const char *v, size_t n, size_t *i, size_t *tok)
{
	while (*i < n && (is_ows(v[*i]) || v[*i] == ','))
		(*i)++;
	if (*i == n)
		return 0;
	*tok = *i;
	while (*i < n && is_c((unsigned char)v[*i], RP_HTTP_C_TCHAR))
		(*i)++;
	return *i > *tok ? 1 : -1;
}

/* After a list element's last part: OWS, then a comma or the end. */
static bool list_element_end(const char *v, size_t n, size_t *i)
{
	while (*i < n && is_ows(v[*i]))
		(*i)++;
	return *i == n || v[*i] == ',';
}

/* quoted-string at v[*i] (RFC 9110 section 5.6.4). */
static bool quoted_string(const char *v, size_t n, size_t *i)
{
	if (*i == n || v[*i] != '"')
		return false;
	for ((*i)++; *i < n; (*i)++) {
		unsigned char c = (unsigned char)v[*i];

		if (c == '"') {
			(*i)++;
			return true;
		}
		if (c == '\\') {
			if (++(*i) == n || !is_c((unsigned char)v[*i], RP_HTTP_C_VALUE))
				return false;
		} else if (!is_c(c, RP_HTTP_C_QDTEXT)) {
			return false;
		}
	}
	return false;
}

static int on_content_length(struct head *h, const char *v, size_t n)
{
	int64_t x = 0;

	/* 1*DIGIT only: no sign, no list ("5, 5"), no whitespace inside. */
	if (!n)
		return fail(h, 400, "bad Content-Length");
	for (size_t i = 0; i < n; i++) {
		if (!IS_DIGIT(v[i]))
			return fail(h, 400, "bad Content-Length");
		if (x > (INT64_MAX - (v[i] - '0')) / 10)
			return fail(h, 400, "Content-Length overflows");
		x = x * 10 + (v[i] - '0');
	}
	if (h->content_length != RP_HTTP_NO_LENGTH && h->content_length != x)
		return fail(h, 400, "conflicting Content-Length");
	h->content_length = x;
	return 0;
}

/*
 * transfer-coding list (RFC 9112 section 6.1, 7): chunked at most once and
 * last, without parameters. Lines combine, so the state spans all of them.
 */
static int on_transfer_encoding(struct head *h, const char *v, size_t n)
{
	size_t i = 0, tok;
	int r;

	h->te = true;
	while ((r = list_next(v, n, &i, &tok)) > 0) {
		bool chunked = i - tok == 7 && ieq_lit(v + tok, "chunked", 7);
		bool params = false;

		for (;;) {
			size_t name;

			while (i < n && is_ows(v[i]))
				i++;
			if (i == n || v[i] != ';')
				break;
			params = true;
			i++;
			while (i < n && is_ows(v[i]))
				i++;
			name = i;
			while (i < n && is_c((unsigned char)v[i], RP_HTTP_C_TCHAR))
				i++;
			if (i == name)
				return fail(h, 400, "bad Transfer-Encoding");
			while (i < n && is_ows(v[i]))
				i++;
			if (i == n || v[i] != '=')
				return fail(h, 400, "bad Transfer-Encoding");
			i++;
			while (i < n && is_ows(v[i]))
				i++;
			if (i < n && v[i] == '"') {
				if (!quoted_string(v, n, &i))
					return fail(h, 400, "bad Transfer-Encoding");
			} else {
				name = i;
				while (i < n &&
				       is_c((unsigned char)v[i], RP_HTTP_C_TCHAR))
					i++;
				if (i == name)
					return fail(h, 400, "bad Transfer-Encoding");
			}
		}
		if (!list_element_end(v, n, &i))
			return fail(h, 400, "bad Transfer-Encoding");
		if (h->te_chunked)
			return fail(h, 400,
				    chunked ? "chunked applied twice"
					    : "chunked is not the final coding");
		if (chunked && params)
			return fail(h, 400, "bad Transfer-Encoding");
		if (chunked)
			h->te_chunked = true;
		else
			h->te_other = true;
	}
	if (r < 0)
		return fail(h, 400, "bad Transfer-Encoding");
	return 0;
}

/* Connection = #connection-option (RFC 9110 section 7.6.1). */
static int on_connection(struct head *h, const char *v, size_t n)
{
	size_t i = 0, tok;
	int r;

	h->has_connection = true;
	while ((r = list_next(v, n, &i, &tok)) > 0) {
		size_t len = i - tok;

		if (!list_element_end(v, n, &i))
			return fail(h, 400, "bad Connection");
		if (++h->nconn_options > RP_HTTP_MAX_CONN_OPTIONS)
			return fail(h, 400, "too many Connection options");
		if (len == 5 && ieq_lit(v + tok, "close", 5))
			h->conn_close = true;
		else if (len == 10 && ieq_lit(v + tok, "keep-alive", 10))
			h->conn_keep_alive = true;
		else if (len == 7 && ieq_lit(v + tok, "upgrade", 7))
			h->conn_upgrade = true;
	}
	if (r < 0)
		return fail(h, 400, "bad Connection");
	return 0;
}

static int on_field(struct head *h, const struct rp_http_header *hd)
{
	const char *v = h->buf + hd->value.off;
	size_t n = hd->value.len, hostlen;
	uint16_t port;

	switch (hd->id) {
	case RP_HTTP_HDR_CONTENT_LENGTH:
		return on_content_length(h, v, n);
	case RP_HTTP_HDR_TRANSFER_ENCODING:
		return on_transfer_encoding(h, v, n);
	case RP_HTTP_HDR_CONNECTION:
		return on_connection(h, v, n);
	case RP_HTTP_HDR_UPGRADE:
		h->upgrade = true;
		return 0;
	case RP_HTTP_HDR_EXPECT:
		if (n == 12 && ieq_lit(v, "100-continue", 12))
			h->expect_continue = true;
		return 0;
	case RP_HTTP_HDR_HOST:
		if (!h->request)
			return 0;
		/* RFC 9112 section 3.2: one Host, with a valid value (empty is valid). */
		if (h->nhost++)
			return fail(h, 400, "more than one Host");
		if (n && authority(v, n, false, &hostlen, &port) < 0)
			return fail(h, 400, "bad Host");
		h->host = hd->value;
		return 0;
	}
	return 0;
}

/* The header section, from h->p through its final empty line. */
static int header_section(struct head *h)
{
	for (;;) {
		struct rp_http_header *hd;
		const char *p = h->p;
		int ret;

		if (p == h->end)
			return -EAGAIN;
		if (*p == '\r' || *p == '\n')
			return crlf(h, "bad header section");
		/* RFC 9112 section 5.2: obs-fold is rejected; so is whitespace
		 * before the first field (section 2.2). */
		if (is_ows(*p))
			return fail(h, 400, "obs-fold or whitespace before a field");
		if (h->nhdrs == h->max_hdrs)
			return fail(h, 431, "too many header fields");
		hd = &h->hdrs[h->nhdrs];
		ret = field_name(h, &hd->name);
		if (ret)
			return ret;
		ret = field_value(h, &hd->value);
		if (ret)
			return ret;
		hd->id = header_id(h->buf + hd->name.off, hd->name.len);
		hd->flags = hop_by_hop_id(hd->id) ? RP_HTTP_HDR_HOP : 0;
		h->nhdrs++;
		if (hd->id != RP_HTTP_HDR_OTHER) {
			ret = on_field(h, hd);
			if (ret)
				return ret;
		}
	}
}

/*
 * Marks as hop-by-hop every header that a Connection option names (RFC 9110
 * section 7.6.1), except Host and Content-Length: a client must not be able
 * to strip what routes and frames the request from what the backend sees.
 */
static void mark_connection_options(struct head *h)
{
	for (unsigned c = 0; c < h->nhdrs; c++) {
		const char *v = h->buf + h->hdrs[c].value.off;
		size_t n = h->hdrs[c].value.len, i = 0, tok;

		if (h->hdrs[c].id != RP_HTTP_HDR_CONNECTION)
			continue;
		while (list_next(v, n, &i, &tok) > 0) {
			size_t len = i - tok;

			list_element_end(v, n, &i);
			for (unsigned k = 0; k < h->nhdrs; k++) {
				struct rp_http_header *hd = &h->hdrs[k];

				if (hd->name.len != len || hd->id == RP_HTTP_HDR_HOST ||
				    hd->id == RP_HTTP_HDR_CONTENT_LENGTH)
					continue;
				if (ieq(h->buf + hd->name.off, v + tok, len))
					hd->flags |= RP_HTTP_HDR_HOP;
			}
		}
	}
}

/* ---- requests ----------------------------------------------------------------- */

static enum rp_http_method method_id(const char *m, size_t n)
{
	switch (n) {
	case 3:
		if (!memcmp(m, "GET", 3))
			return RP_HTTP_GET;
		if (!memcmp(m, "PUT", 3))
			return RP_HTTP_PUT;
		break;
	case 4:
		if (!memcmp(m, "HEAD", 4))
			return RP_HTTP_HEAD;
		if (!memcmp(m, "POST", 4))
			return RP_HTTP_POST;
		break;
	case 5:
		if (!memcmp(m, "PATCH", 5))
			return RP_HTTP_PATCH;
		if (!memcmp(m, "TRACE", 5))
			return RP_HTTP_TRACE;
		break;
	case 6:
		if (!memcmp(m, "DELETE", 6))
			return RP_HTTP_DELETE;
		break;
	case 7:
		if (!memcmp(m, "CONNECT", 7))
			return RP_HTTP_CONNECT;
		if (!memcmp(m, "OPTIONS", 7))
			return RP_HTTP_OPTIONS;
		break;
	}
	return RP_HTTP_OTHER;
}

/* absolute-URI with an authority: scheme "://" authority path-abempty [ "?" query ]. */
static int absolute_form(struct head *h, struct rp_http_request *req)
{
	const char *t = h->buf + req->target.off;
	size_t n = req->target.len, i = 1, a, j, hostlen;

	if (!IS_ALPHA(t[0]))
		return fail(h, 400, "bad request-target");
	while (i < n && (IS_ALPHA(t[i]) || IS_DIGIT(t[i]) || t[i] == '+' || t[i] == '-' ||
			 t[i] == '.'))
		i++;
	if (n - i < 3 || memcmp(t + i, "://", 3))
		return fail(h, 400, "bad request-target");
	req->scheme = (struct rp_http_span){req->target.off, (uint32_t)i};
	if (i == 4 && ieq_lit(t, "http", 4))
		req->scheme_id = RP_HTTP_SCHEME_HTTP;
	else if (i == 5 && ieq_lit(t, "https", 5))
		req->scheme_id = RP_HTTP_SCHEME_HTTPS;
	else
		req->scheme_id = RP_HTTP_SCHEME_OTHER;
	a = i + 3;
	for (j = a; j < n && t[j] != '/' && t[j] != '?'; j++)
		if (t[j] == '@') /* RFC 9110 section 4.2.4: userinfo is an error */
			return fail(h, 400, "userinfo in request-target");
	if (authority(t + a, j - a, false, &hostlen, &req->port) < 0)
		return fail(h, 400, "bad authority in request-target");
	req->authority =
		(struct rp_http_span){req->target.off + (uint32_t)a, (uint32_t)(j - a)};
	req->target_host = (struct rp_http_span){req->authority.off, (uint32_t)hostlen};
	req->path =
		(struct rp_http_span){req->target.off + (uint32_t)j, (uint32_t)(n - j)};
	req->form = RP_HTTP_ABSOLUTE_FORM;
	return 0;
}

/* Which of the four forms the target takes, by method (RFC 9112 section 3.2). */
static int target_form(struct head *h, struct rp_http_request *req)
{
	const char *t = h->buf + req->target.off;
	size_t n = req->target.len, hostlen;

	if (req->method_id == RP_HTTP_CONNECT) {
		if (authority(t, n, true, &hostlen, &req->port) < 0)
			return fail(h, 400, "CONNECT needs host:port");
		req->form = RP_HTTP_AUTHORITY_FORM;
		req->authority = req->target;
		req->target_host =
			(struct rp_http_span){req->target.off, (uint32_t)hostlen};
		return 0;
	}
	if (t[0] == '/') {
		req->form = RP_HTTP_ORIGIN_FORM;
		req->path = req->target;
		return 0;
	}
	if (n == 1 && t[0] == '*') {
		if (req->method_id != RP_HTTP_OPTIONS)
			return fail(h, 400, "asterisk-form is for OPTIONS only");
		req->form = RP_HTTP_ASTERISK_FORM;
		return 0;
	}
	return absolute_form(h, req);
}

/* method SP request-target SP HTTP-version CRLF, after up to
 * RP_HTTP_MAX_EMPTY_LINES empty lines. */
static int request_line(struct head *h, const struct rp_http_limits *lim,
			struct rp_http_request *req)
{
	const char *p = h->p, *end = h->end, *start;
	unsigned major, minor;
	int ret;

	for (unsigned n = 0;; n++) {
		if (p == end)
			return -EAGAIN;
		if (*p == '\n')
			return fail(h, 400, "bare LF");
		if (*p != '\r')
			break;
		if (end - p < 2)
			return -EAGAIN;
		if (p[1] != '\n')
			return fail(h, 400, "bare CR");
		if (n == RP_HTTP_MAX_EMPTY_LINES)
			return fail(h, 400, "too many empty lines before the request");
		p += 2;
	}

	start = p;
	while (p < end && is_c((unsigned char)*p, RP_HTTP_C_TCHAR))
		p++;
	if (p == end)
		return -EAGAIN;
	if (*p != ' ' || p == start)
		return fail(h, 400, "bad method");
	req->method = span(h, start, p);
	req->method_id = method_id(start, (size_t)(p - start));

	start = ++p;
	for (;;) {
		if ((size_t)(p - start) > lim->max_target)
			return fail(h, 414, "request-target too long");
		if (p == end)
			return -EAGAIN;
		if (is_c((unsigned char)*p, RP_HTTP_C_TARGET)) {
			p++;
			continue;
		}
		if (*p != '%')
			break;
		/* pct-encoded = "%" HEXDIG HEXDIG */
		for (int k = 1; k < 3; k++) {
			if (p + k == end)
				return -EAGAIN;
			if (!is_c((unsigned char)p[k], RP_HTTP_C_HEX))
				return fail(h, 400,
					    "bad percent-encoding in request-target");
		}
		p += 3;
	}
	if ((size_t)(p - start) > lim->max_target)
		return fail(h, 414, "request-target too long");
	if (*p != ' ') {
		if (*p == '\r' || *p == '\n')
			return fail(h, 400, "no HTTP version in request line");
		return fail(h, 400, "bad character in request-target");
	}
	if (p == start)
		return fail(h, 400, "empty request-target");
	req->target = span(h, start, p);

	h->p = p + 1;
	ret = version(h, &major, &minor);
	if (ret)
		return ret;
	if (h->p == end)
		return -EAGAIN;
	if (*h->p != '\r')
		return fail(h, 400, *h->p == '\n' ? "bare LF" : "bad request line");
	if (major != 1 || minor > 1)
		return fail(h, 505, "HTTP version not supported");
	ret = crlf(h, "bad request line");
	if (ret)
		return ret;
	req->minor = (uint8_t)minor;
	h->in_start_line = false;
	return target_form(h, req);
}

/* The port a URI of this scheme means when it names none (RFC 9110 sections
 * 4.2.1 and 4.2.2); 0 for a scheme we do not know. */
static uint16_t default_port(enum rp_http_scheme s)
{
	return s == RP_HTTP_SCHEME_HTTP ? 80 : s == RP_HTTP_SCHEME_HTTPS ? 443 : 0;
}

/*
 * Whether the Host field names the absolute-form target's authority: the
 * same host, case-insensitively, and the same port once an absent one is
 * read as the scheme's default (RFC 9110 section 4.2.3: "http://h:80/" and
 * "http://h/" are one resource; siege, ab and aria2c put ":80" in the
 * target and leave it out of Host).
 */
static bool same_authority(const struct head *h, const struct rp_http_request *req)
{
	const char *v = h->buf + h->host.off;
	uint16_t port, dflt = default_port(req->scheme_id);
	size_t hostlen;

	if (!h->host.len || authority(v, h->host.len, false, &hostlen, &port) < 0)
		return false;
	if (hostlen != req->target_host.len ||
	    !ieq(v, h->buf + req->target_host.off, hostlen))
		return false;
	return (port ? port : dflt) == (req->port ? req->port : dflt);
}

/* What RFC 9112 and 9110 require of a complete request head. */
static int request_semantics(struct head *h, struct rp_http_request *req)
{
	if (req->minor == 1 && !h->nhost)
		return fail(h, 400, "missing Host");
	if (h->te) {
		if (h->content_length != RP_HTTP_NO_LENGTH)
			return fail(h, 400, "Content-Length with Transfer-Encoding");
		if (req->minor == 0) /* RFC 9112 section 6.1: faulty framing */
			return fail(h, 400, "Transfer-Encoding in HTTP/1.0");
		if (!h->te_chunked)
			return fail(h, 400, "chunked is not the final coding");
		if (h->te_other)
			return fail(h, 501, "unsupported transfer coding");
	}
	/* RFC 9110 section 9.3.6: a CONNECT request has no content. */
	if (req->method_id == RP_HTTP_CONNECT && (h->te || h->content_length > 0))
		return fail(h, 400, "CONNECT with a body");
	if (req->form == RP_HTTP_ABSOLUTE_FORM) {
		/* The target's authority wins (RFC 9112 section 3.2.2): Host is
		 * ignored, and whether it named another authority is told. */
		req->host_differs = h->nhost && !same_authority(h, req);
		req->host = req->authority;
	} else {
		req->host = h->host;
	}
	req->has_host = h->nhost;
	req->content_length = h->content_length;
	req->chunked = h->te;
	if (h->te)
		req->body = RP_HTTP_BODY_CHUNKED;
	else if (h->content_length > 0)
		req->body = RP_HTTP_BODY_LENGTH;
	else
		req->body = RP_HTTP_BODY_NONE;
	req->conn_close = h->conn_close;
	req->conn_keep_alive = h->conn_keep_alive;
	req->conn_upgrade = h->conn_upgrade;
	req->upgrade = h->upgrade;
	/* RFC 9110 section 10.1.1: a 1.0 request's 100-continue is ignored. */
	req->expect_continue = h->expect_continue && req->minor == 1;
	req->keep_alive = !h->conn_close && (req->minor == 1 || h->conn_keep_alive);
	if (h->has_connection)
		mark_connection_options(h);
	return 0;
}

int rp__http_parse_request(const char *buf, size_t len, const struct rp_http_limits *lim,
			   struct rp_http_request *req)
{
	struct head h;
	int ret;

	if (!lim)
		lim = &rp__http_limits_default;
	memset(req, 0, offsetof(struct rp_http_request, nheaders));
	req->nheaders = 0;
	head_init(&h, buf, len, lim, req->headers, true);
	ret = request_line(&h, lim, req);
	if (!ret)
		ret = header_section(&h);
	if (ret == -EAGAIN && h.truncated)
		ret = h.in_start_line ? fail(&h, 414, "request line too long")
				      : fail(&h, 431, "request head too large");
	if (!ret)
		ret = request_semantics(&h, req);
	req->nheaders = (uint16_t)h.nhdrs;
	if (ret == -EBADMSG) {
		req->err_status = h.status;
		req->err = h.err;
	}
	return ret ? ret : (int)(h.p - buf);
}

/* ---- responses ---------------------------------------------------------------- */

/* HTTP-version SP status-code SP [ reason-phrase ] CRLF (RFC 9112 section 4). */
static int status_line(struct head *h, struct rp_http_response *resp)
{
	const char *p, *start;
	unsigned major, minor, status = 0;
	int ret;

	ret = version(h, &major, &minor);
	if (ret)
		return ret;
	p = h->p;
	if (p == h->end)
		return -EAGAIN;
	if (*p != ' ')
		return fail(h, 502, "bad status line");
	if (major != 1 || minor > 1)
		return fail(h, 502, "HTTP version not supported");
	for (int k = 1; k < 4; k++) {
		if (p + k == h->end)
			return -EAGAIN;
		if (!IS_DIGIT(p[k]))
			return fail(h, 502, "bad status code");
		status = status * 10 + (unsigned)(p[k] - '0');
	}
	if (status < 100 || status > 599)
		return fail(h, 502, "bad status code");
	p += 4;
	if (p == h->end)
		return -EAGAIN;
	/* The SP before an empty reason is often left out; nothing else can
	 * be read into its absence. */
	if (*p == ' ')
		p++;
	else if (*p != '\r' && *p != '\n')
		return fail(h, 502, "bad status line");
	start = p;
	while (p < h->end && is_c((unsigned char)*p, RP_HTTP_C_VALUE))
		p++;
	resp->reason = span(h, start, p);
	h->p = p;
	ret = crlf(h, "bad reason phrase");
	if (ret)
		return ret;
	resp->status = (uint16_t)status;
	resp->minor = (uint8_t)minor;
	h->in_start_line = false;
	return 0;
}

static int response_semantics(struct head *h, struct rp_http_response *resp,
			      enum rp_http_method req_method)
{
	unsigned s = resp->status;

	if (h->te) {
		if (h->content_length != RP_HTTP_NO_LENGTH)
			return fail(h, 502, "Content-Length with Transfer-Encoding");
		if (resp->minor == 0)
			return fail(h, 502, "Transfer-Encoding in HTTP/1.0");
		if (!h->te_chunked || h->te_other)
			return fail(h, 502, "unsupported transfer coding");
	}
	resp->content_length = h->content_length;
	resp->chunked = h->te;
	/* RFC 9112 section 6.3, in its order. */
	if (req_method == RP_HTTP_HEAD || (s < 200 && s != 101) || s == 204 || s == 304)
		resp->body = RP_HTTP_BODY_NONE;
	else if (s == 101 || (req_method == RP_HTTP_CONNECT && s < 300))
		resp->body = RP_HTTP_BODY_TUNNEL;
	else if (h->te)
		resp->body = RP_HTTP_BODY_CHUNKED;
	else if (h->content_length > 0)
		resp->body = RP_HTTP_BODY_LENGTH;
	else if (h->content_length == 0)
		resp->body = RP_HTTP_BODY_NONE;
	else
		resp->body = RP_HTTP_BODY_CLOSE;
	resp->conn_close = h->conn_close;
	resp->conn_keep_alive = h->conn_keep_alive;
	resp->conn_upgrade = h->conn_upgrade;
	resp->upgrade = h->upgrade;
	resp->keep_alive = !h->conn_close && (resp->minor == 1 || h->conn_keep_alive) &&
			   resp->body != RP_HTTP_BODY_CLOSE &&
			   resp->body != RP_HTTP_BODY_TUNNEL;
	if (h->has_connection)
		mark_connection_options(h);
	return 0;
}

int rp__http_parse_response(const char *buf, size_t len, const struct rp_http_limits *lim,
			    enum rp_http_method req_method, struct rp_http_response *resp)
{
	struct head h;
	int ret;

	if (!lim)
		lim = &rp__http_limits_default;
	memset(resp, 0, offsetof(struct rp_http_response, nheaders));
	resp->nheaders = 0;
	head_init(&h, buf, len, lim, resp->headers, false);
	ret = status_line(&h, resp);
	if (!ret)
		ret = header_section(&h);
	if (ret == -EAGAIN && h.truncated)
		ret = fail(&h, 502,
			   h.in_start_line ? "status line too long"
					   : "response head too large");
	if (!ret)
		ret = response_semantics(&h, resp, req_method);
	resp->nheaders = (uint16_t)h.nhdrs;
	if (ret == -EBADMSG)
		resp->err = h.err;
	return ret ? ret : (int)(h.p - buf);
}

/* ---- helpers ------------------------------------------------------------------ */

int rp__http_find_header(const char *buf, const struct rp_http_header *hdrs, unsigned n,
			 const char *name, size_t name_len, unsigned from)
{
	for (unsigned i = from; i < n; i++)
		if (hdrs[i].name.len == name_len &&
		    ieq(buf + hdrs[i].name.off, name, name_len))
			return (int)i;
	return -1;
}

bool rp__http_hop_by_hop_name(const char *name, size_t name_len)
{
	return hop_by_hop_id(header_id(name, name_len));
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * serialize.c - writes the heads that go to the next hop from parsed ones:
 * same request line or status, same end-to-end fields, but our own version,
 * no hop-by-hop fields, framing re-generated from what the parser decided,
 * and the proxy's own lines (X-Forwarded-For, Via...) appended. Re-parsing
 * the output gives the same message, which is what keeps the proxy, its
 * clients and its backends reading one message the same way. Also the
 * complete responses the proxy sends for its own errors.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "http/http.h"

struct out {
	char *p, *end;
	bool full;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->full || (size_t)(o->end - o->p) < n) {
		o->full = true;
		return;
	}
	memcpy(o->p, s, n);
	o->p += n;
}

/* A string literal, its length counted by the compiler. */
#define put_lit(o, s) put(o, s, sizeof(s) - 1)

static void put_span(struct out *o, const char *buf, struct rp_http_span s)
{
	put(o, buf + s.off, s.len);
}

static void put_field(struct out *o, const char *name, size_t nlen, const char *value,
		      size_t vlen)
{
	put(o, name, nlen);
	put(o, ": ", 2);
	put(o, value, vlen);
	put(o, "\r\n", 2);
}

static void put_u64(struct out *o, uint64_t v)
{
	char d[20];
	size_t n = sizeof(d);

	do {
		d[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(o, d + n, sizeof(d) - n);
}

/* A caller's line must be a field line and nothing more: a CR or LF in it
 * would let whatever it was built from inject lines of its own. */
static bool valid_extra(const struct rp_http_field *f)
{
	const unsigned char *s = (const unsigned char *)f->name;

	if (!s || !*s || !f->value)
		return false;
	for (; *s; s++)
		if (!(rp__http_ctype[*s] & RP_HTTP_C_TCHAR))
			return false;
	for (s = (const unsigned char *)f->value; *s; s++)
		if (!(rp__http_ctype[*s] & RP_HTTP_C_VALUE))
			return false;
	return true;
}

static bool valid_extras(const struct rp_http_field *extra, unsigned nextra)
{
	for (unsigned i = 0; i < nextra; i++)
		if (!valid_extra(&extra[i]))
			return false;
	return true;
}

/* A received field that is forwarded as received: not hop-by-hop (which
 * covers Transfer-Encoding) and not Content-Length, which finish() writes. */
static bool end_to_end(const struct rp_http_header *h)
{
	return !rp__http_is_hop_by_hop(h) && h->id != RP_HTTP_HDR_CONTENT_LENGTH;
}

static void put_header(struct out *o, const char *buf, const struct rp_http_header *h)
{
	put_field(o, buf + h->name.off, h->name.len, buf + h->value.off, h->value.len);
}

/*
 * The end of every head: the one framing field the parser's decision calls
 * for (chunked wins; @length may be RP_HTTP_NO_LENGTH for none), the caller's
 * lines, the empty line. Returns what the serializers return.
 */
static int finish(struct out *o, char *out, bool chunked, int64_t length,
		  const struct rp_http_field *extra, unsigned nextra)
{
	if (chunked) {
		put_lit(o, "Transfer-Encoding: chunked\r\n");
	} else if (length != RP_HTTP_NO_LENGTH) {
		put_lit(o, "Content-Length: ");
		put_u64(o, (uint64_t)length);
		put_lit(o, "\r\n");
	}
	for (unsigned i = 0; i < nextra; i++)
		put_field(o, extra[i].name, strlen(extra[i].name), extra[i].value,
			  strlen(extra[i].value));
	put_lit(o, "\r\n");
	if (o->full)
		return -ENOSPC;
	return (int)(o->p - out);
}

static struct out out_init(char *out, size_t cap)
{
	return (struct out){out, out + (cap < INT_MAX ? cap : INT_MAX), false};
}

/*
 * Host for an absolute-form request, from its target and never from the Host
 * the client sent (RFC 9112 section 3.2.2: a proxy generates it). A port
 * that is the scheme's default is left out, as browsers and Squid write it,
 * so that "http://h:80/" reaches the origin as "Host: h".
 */
static void put_host(struct out *o, const char *buf, const struct rp_http_request *req)
{
	bool dflt = (req->scheme_id == RP_HTTP_SCHEME_HTTP && req->port == 80) ||
		    (req->scheme_id == RP_HTTP_SCHEME_HTTPS && req->port == 443);
	struct rp_http_span a = dflt ? req->target_host : req->authority;

	put_field(o, "Host", 4, buf + a.off, a.len);
}

int rp__http_serialize_request(const char *buf, const struct rp_http_request *req,
			       const struct rp_http_field *extra, unsigned nextra,
			       unsigned flags, char *out, size_t cap)
{
	bool absolute = req->form == RP_HTTP_ABSOLUTE_FORM;
	bool origin = (flags & RP_HTTP_SER_ORIGIN_FORM) && absolute;
	struct out o = out_init(out, cap);

	if (!valid_extras(extra, nextra))
		return -EINVAL;

	put_span(&o, buf, req->method);
	put(&o, " ", 1);
	if (origin) {
		if (!req->path.len || buf[req->path.off] == '?')
			put(&o, "/", 1);
		put_span(&o, buf, req->path);
	} else {
		put_span(&o, buf, req->target);
	}
	put(&o, " HTTP/1.1\r\n", 11);
	if (absolute)
		put_host(&o, buf, req);

	for (unsigned i = 0; i < req->nheaders; i++) {
		const struct rp_http_header *h = &req->headers[i];

		/* A 1.0 client's Expect is ignored (RFC 9110 section 10.1.1): sent
		 * on as 1.1 it would draw a 1xx that a 1.0 client must not get. */
		if (!end_to_end(h) || (absolute && h->id == RP_HTTP_HDR_HOST) ||
		    (req->minor == 0 && h->id == RP_HTTP_HDR_EXPECT))
			continue;
		put_header(&o, buf, h);
	}
	return finish(&o, out, req->chunked, req->content_length, extra, nextra);
}

int rp__http_serialize_response(const char *buf, const struct rp_http_response *resp,
				const struct rp_http_field *extra, unsigned nextra,
				unsigned flags, char *out, size_t cap)
{
	struct out o = out_init(out, cap);
	bool chunked = resp->chunked && !(flags & RP_HTTP_SER_DECHUNK);
	int64_t length = resp->content_length;

	if (!valid_extras(extra, nextra))
		return -EINVAL;
	/* RFC 9110 sections 8.6 and 9.3.6, RFC 9112 section 6.1: no framing
	 * field in a 1xx or 204, nor in a 2xx to CONNECT (a tunnel). A server
	 * that sent one anyway framed nothing with it; forwarded, it could make
	 * a lax client read the next response as this one's body. */
	if (resp->status < 200 || resp->status == 204 ||
	    resp->body == RP_HTTP_BODY_TUNNEL) {
		chunked = false;
		length = RP_HTTP_NO_LENGTH;
	}

	put_lit(&o, "HTTP/1.1 ");
	put_u64(&o, resp->status); /* 100..599: the parser checked */
	put_lit(&o, " ");
	put_span(&o, buf, resp->reason);
	put_lit(&o, "\r\n");
	for (unsigned i = 0; i < resp->nheaders; i++)
		if (end_to_end(&resp->headers[i]))
			put_header(&o, buf, &resp->headers[i]);
	return finish(&o, out, chunked, length, extra, nextra);
}

/* ---- the proxy's own responses ------------------------------------------- */

/* RFC 9110 section 15, plus 428, 429 and 431 (RFC 6585). */
static const char *const reasons[600] = {
	[100] = "Continue",
	[101] = "Switching Protocols",
	[200] = "OK",
	[201] = "Created",
	[202] = "Accepted",
	[203] = "Non-Authoritative Information",
	[204] = "No Content",
	[205] = "Reset Content",
	[206] = "Partial Content",
	[300] = "Multiple Choices",
	[301] = "Moved Permanently",
	[302] = "Found",
	[303] = "See Other",
	[304] = "Not Modified",
	[305] = "Use Proxy",
	[307] = "Temporary Redirect",
	[308] = "Permanent Redirect",
	[400] = "Bad Request",
	[401] = "Unauthorized",
	[402] = "Payment Required",
	[403] = "Forbidden",
	[404] = "Not Found",
	[405] = "Method Not Allowed",
	[406] = "Not Acceptable",
	[407] = "Proxy Authentication Required",
	[408] = "Request Timeout",
	[409] = "Conflict",
	[410] = "Gone",
	[411] = "Length Required",
	[412] = "Precondition Failed",
	[413] = "Content Too Large",
	[414] = "URI Too Long",
	[415] = "Unsupported Media Type",
	[416] = "Range Not Satisfiable",
	[417] = "Expectation Failed",
	[421] = "Misdirected Request",
	[422] = "Unprocessable Content",
	[426] = "Upgrade Required",
	[428] = "Precondition Required",
	[429] = "Too Many Requests",
	[431] = "Request Header Fields Too Large",
	[500] = "Internal Server Error",
	[501] = "Not Implemented",
	[502] = "Bad Gateway",
	[503] = "Service Unavailable",
	[504] = "Gateway Timeout",
	[505] = "HTTP Version Not Supported",
};

const char *rp__http_reason(unsigned status)
{
	return status < sizeof(reasons) / sizeof(reasons[0]) ? reasons[status] : NULL;
}

int rp__http_error_response(unsigned status, bool close, char *out, size_t cap)
{
	return rp__http_error_response_why(status, close, NULL, out, cap);
}

int rp__http_error_response_why(unsigned status, bool close, const char *why, char *out,
				size_t cap)
{
	const char *reason = rp__http_reason(status);
	struct out o = out_init(out, cap);
	size_t rlen, wlen = why ? strlen(why) : 0;

	if (status < 400 || status > 599 || !reason)
		return -EINVAL;
	rlen = strlen(reason);
	put_lit(&o, "HTTP/1.1 ");
	put_u64(&o, status);
	put_lit(&o, " ");
	put(&o, reason, rlen);
	put_lit(&o, "\r\nContent-Type: text/plain\r\nContent-Length: ");
	/* the body: "NNN Reason\n", then "why\n" */
	put_u64(&o, 4 + rlen + 1 + (wlen ? wlen + 1 : 0));
	put_lit(&o, "\r\n");
	if (close)
		put_lit(&o, "Connection: close\r\n");
	put_lit(&o, "\r\n");
	put_u64(&o, status);
	put_lit(&o, " ");
	put(&o, reason, rlen);
	put_lit(&o, "\n");
	if (wlen) {
		char *p = o.p;

		put(&o, why, wlen);
		/* A name a client gave could only be text; make sure. */
		for (; !o.full && p < o.p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
		put_lit(&o, "\n");
	}
	if (o.full)
		return -ENOSPC;
	return (int)(o.p - out);
}

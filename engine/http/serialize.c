// SPDX-License-Identifier: BSD-2-Clause
/*
 * serialize.c - writes the request head that goes to the next hop from a
 * parsed one: same method, target and end-to-end fields, but our own version,
 * no hop-by-hop fields, framing re-generated from what the parser decided,
 * and the proxy's own lines (X-Forwarded-For, Via...) appended. Re-parsing
 * the output gives the same request, which is what keeps the proxy and its
 * backends reading one message the same way.
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

int rp__http_serialize_request(const char *buf, const struct rp_http_request *req,
			       const struct rp_http_field *extra, unsigned nextra,
			       unsigned flags, char *out, size_t cap)
{
	bool origin =
		(flags & RP_HTTP_SER_ORIGIN_FORM) && req->form == RP_HTTP_ABSOLUTE_FORM;
	struct out o = {out, out + (cap < INT_MAX ? cap : INT_MAX), false};

	for (unsigned i = 0; i < nextra; i++)
		if (!valid_extra(&extra[i]))
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
	if (origin)
		put_field(&o, "Host", 4, buf + req->authority.off, req->authority.len);

	for (unsigned i = 0; i < req->nheaders; i++) {
		const struct rp_http_header *h = &req->headers[i];

		/* A 1.0 client's Expect is ignored (RFC 9110 section 10.1.1): sent
		 * on as 1.1 it would draw a 1xx that a 1.0 client must not get. */
		if (rp__http_is_hop_by_hop(h) || h->id == RP_HTTP_HDR_CONTENT_LENGTH ||
		    (origin && h->id == RP_HTTP_HDR_HOST) ||
		    (req->minor == 0 && h->id == RP_HTTP_HDR_EXPECT))
			continue;
		put_field(&o, buf + h->name.off, h->name.len, buf + h->value.off,
			  h->value.len);
	}
	if (req->chunked) {
		put(&o, "Transfer-Encoding: chunked\r\n", 28);
	} else if (req->content_length != RP_HTTP_NO_LENGTH) {
		put(&o, "Content-Length: ", 16);
		put_u64(&o, (uint64_t)req->content_length);
		put(&o, "\r\n", 2);
	}
	for (unsigned i = 0; i < nextra; i++)
		put_field(&o, extra[i].name, strlen(extra[i].name), extra[i].value,
			  strlen(extra[i].value));
	put(&o, "\r\n", 2);
	if (o.full)
		return -ENOSPC;
	return (int)(o.p - out);
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * fuzz_http_request.c - libFuzzer target for the request head parser. Any
 * input is -EAGAIN (only while under the head limit), -EBADMSG with one of
 * the statuses the API promises, or a head whose spans lie inside it and
 * whose bytes hold no bare CR, bare LF or NUL. A prefix parsed from its own
 * allocation either waits for more or gives the full input's verdict; tight
 * limits only ever add refusals; and a parsed head serialized for the next
 * hop re-parses to the same request.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

static struct rp_http_request req, req2;
static char out[1 << 17];

static const struct rp_http_limits tight = {
	.max_head = 256,
	.max_headers = 8,
	.max_target = 64,
	.max_chunk_line = 64,
	.max_trailer = 64,
};

static const struct rp_http_limits roomy = {
	.max_head = sizeof(out),
	.max_headers = RP_HTTP_MAX_HEADERS,
	.max_target = sizeof(out),
	.max_chunk_line = 64,
	.max_trailer = 64,
};

static void span_inside(struct rp_http_span s, size_t len)
{
	if ((uint64_t)s.off + s.len > len)
		abort();
}

static bool span_eq(const char *a, struct rp_http_span sa, const char *b,
		    struct rp_http_span sb)
{
	return sa.len == sb.len && !memcmp(a + sa.off, b + sb.off, sa.len);
}

static void check(const char *buf, size_t size, int ret, const struct rp_http_request *r,
		  const struct rp_http_limits *lim)
{
	if (ret == -EAGAIN) {
		if (size >= lim->max_head)
			abort();
		return;
	}
	if (ret == -EBADMSG) {
		if (!r->err || (r->err_status != 400 && r->err_status != 414 &&
				r->err_status != 431 && r->err_status != 501 &&
				r->err_status != 505))
			abort();
		return;
	}
	if (ret <= 0 || (size_t)ret > size || (uint32_t)ret > lim->max_head || r->err ||
	    r->err_status)
		abort();
	size = (size_t)ret;
	if (size < 4 || memcmp(buf + size - 4, "\r\n\r\n", 4))
		abort();
	for (size_t i = 0; i < size; i++) {
		if (!buf[i] || (buf[i] == '\r' && buf[i + 1] != '\n') ||
		    (buf[i] == '\n' && (!i || buf[i - 1] != '\r')))
			abort();
	}
	span_inside(r->method, size);
	span_inside(r->target, size);
	span_inside(r->scheme, size);
	span_inside(r->authority, size);
	span_inside(r->target_host, size);
	span_inside(r->path, size);
	span_inside(r->host, size);
	if (!r->method.len || !r->target.len || r->target.len > lim->max_target ||
	    r->minor > 1 || r->nheaders > lim->max_headers)
		abort();
	if (r->minor == 1 && !r->has_host)
		abort();
	if (r->chunked &&
	    (r->content_length != RP_HTTP_NO_LENGTH || r->body != RP_HTTP_BODY_CHUNKED))
		abort();
	if (r->body == RP_HTTP_BODY_LENGTH && r->content_length <= 0)
		abort();
	if (r->form == RP_HTTP_AUTHORITY_FORM &&
	    (r->method_id != RP_HTTP_CONNECT || !r->port))
		abort();
	if (r->form == RP_HTTP_ASTERISK_FORM && r->method_id != RP_HTTP_OPTIONS)
		abort();
	for (unsigned i = 0; i < r->nheaders; i++) {
		const struct rp_http_header *h = &r->headers[i];
		const char *v = buf + h->value.off;

		span_inside(h->name, size);
		span_inside(h->value, size);
		if (!h->name.len || h->name.off + h->name.len >= size ||
		    buf[h->name.off + h->name.len] != ':')
			abort();
		if (h->value.len &&
		    (v[0] == ' ' || v[0] == '\t' || v[h->value.len - 1] == ' ' ||
		     v[h->value.len - 1] == '\t'))
			abort();
		for (uint32_t k = 0; k < h->value.len; k++)
			if (v[k] == '\r' || v[k] == '\n' || !v[k])
				abort();
	}
}

/* The serialized head re-parses to the same request, minus hop-by-hop. */
static void round_trip(const char *buf, const struct rp_http_request *r)
{
	bool origin = r->form == RP_HTTP_ABSOLUTE_FORM;
	unsigned flags = origin ? RP_HTTP_SER_ORIGIN_FORM : 0;
	static const struct rp_http_field extra[] = {{"Via", "1.1 ringproxy"}};
	unsigned k = 0;
	int n, ret;

	/* Host from an absolute-form target leaves out the scheme's default
	 * port ("http://h:80/" goes on as "Host: h"). */
	bool dflt = (r->scheme_id == RP_HTTP_SCHEME_HTTP && r->port == 80) ||
		    (r->scheme_id == RP_HTTP_SCHEME_HTTPS && r->port == 443);
	struct rp_http_span want_host = origin && dflt ? r->target_host : r->host;

	if (!r->has_host && !origin)
		return; /* HTTP/1.0 without Host: the caller must add one */
	n = rp__http_serialize_request(buf, r, extra, 1, flags, out, sizeof(out));
	if (n <= 0)
		abort();
	ret = rp__http_parse_request(out, (size_t)n, &roomy, &req2);
	if (ret != n)
		abort();
	if (!span_eq(buf, r->method, out, req2.method) || req2.minor != 1 ||
	    req2.content_length != r->content_length || req2.chunked != r->chunked ||
	    req2.body != r->body || !span_eq(buf, want_host, out, req2.host))
		abort();
	if (origin) {
		if (req2.form != RP_HTTP_ORIGIN_FORM || r->path.len > req2.target.len ||
		    memcmp(out + req2.target.off + req2.target.len - r->path.len,
			   buf + r->path.off, r->path.len))
			abort();
	} else if (!span_eq(buf, r->target, out, req2.target) || req2.form != r->form) {
		abort();
	}
	if (origin)
		k++; /* the Host line the serializer wrote first */
	for (unsigned i = 0; i < r->nheaders; i++) {
		const struct rp_http_header *h = &r->headers[i];

		if (rp__http_is_hop_by_hop(h) || h->id == RP_HTTP_HDR_CONTENT_LENGTH ||
		    (origin && h->id == RP_HTTP_HDR_HOST) ||
		    (r->minor == 0 && h->id == RP_HTTP_HDR_EXPECT))
			continue;
		if (k >= req2.nheaders ||
		    !span_eq(buf, h->name, out, req2.headers[k].name) ||
		    !span_eq(buf, h->value, out, req2.headers[k].value))
			abort();
		k++;
	}
	/* then the framing line, if any, and Via */
	if (k + 1 + (r->chunked || r->content_length != RP_HTTP_NO_LENGTH) !=
	    req2.nheaders)
		abort();
	/* Nothing hop-by-hop crossed, but the Transfer-Encoding we wrote. */
	for (unsigned i = 0; i < req2.nheaders; i++)
		if (rp__http_is_hop_by_hop(&req2.headers[i]) &&
		    (req2.headers[i].id != RP_HTTP_HDR_TRANSFER_ENCODING || !r->chunked))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	uint32_t hash = 2166136261u;
	int ret, ret2;
	size_t cut;
	char *prefix;

	ret = rp__http_parse_request(buf, size, NULL, &req);
	check(buf, size, ret, &req, &rp__http_limits_default);

	ret2 = rp__http_parse_request(buf, size, &tight, &req2);
	check(buf, size, ret2, &req2, &tight);
	if (ret2 >= 0 && ret2 != ret)
		abort();

	/* A prefix, in an allocation of its own so that ASan sees over-reads. */
	for (size_t i = 0; i < size; i++)
		hash = (hash ^ data[i]) * 16777619u;
	cut = size ? hash % (size + 1) : 0;
	prefix = malloc(cut ? cut : 1);
	if (!prefix)
		return 0;
	memcpy(prefix, data, cut);
	ret2 = rp__http_parse_request(prefix, cut, NULL, &req2);
	check(prefix, cut, ret2, &req2, &rp__http_limits_default);
	if (ret2 != -EAGAIN &&
	    (ret2 != ret || (ret == -EBADMSG && req2.err_status != req.err_status)))
		abort();
	if (ret2 >= 0 &&
	    (memcmp(&req, &req2, offsetof(struct rp_http_request, nheaders)) ||
	     req.nheaders != req2.nheaders ||
	     memcmp(req.headers, req2.headers, req.nheaders * sizeof(req.headers[0]))))
		abort();
	free(prefix);

	if (ret > 0)
		round_trip(buf, &req);
	return 0;
}

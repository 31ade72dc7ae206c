// SPDX-License-Identifier: BSD-2-Clause
/*
 * fuzz_http_response.c - libFuzzer target for the response head parser. The
 * first byte picks the request method (HEAD and CONNECT change the framing),
 * the rest is the response. Any input is -EAGAIN (only under the head
 * limit), -EBADMSG with a reason, or a head with its spans inside it, no bare
 * CR, LF or NUL, a status in 100..599 and framing that agrees with RFC 9112
 * section 6.3; a prefix in its own allocation waits or gives the same verdict.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

static struct rp_http_response resp, resp2;

static void span_inside(struct rp_http_span s, size_t len)
{
	if ((uint64_t)s.off + s.len > len)
		abort();
}

static void check(const char *buf, size_t size, int ret, const struct rp_http_response *r,
		  enum rp_http_method m)
{
	unsigned s = r->status;

	if (ret == -EAGAIN) {
		if (size >= rp__http_limits_default.max_head)
			abort();
		return;
	}
	if (ret == -EBADMSG) {
		if (!r->err)
			abort();
		return;
	}
	if (ret <= 0 || (size_t)ret > size || r->err)
		abort();
	size = (size_t)ret;
	if (size < 4 || memcmp(buf + size - 4, "\r\n\r\n", 4))
		abort();
	for (size_t i = 0; i < size; i++)
		if (!buf[i] || (buf[i] == '\r' && buf[i + 1] != '\n') ||
		    (buf[i] == '\n' && (!i || buf[i - 1] != '\r')))
			abort();
	span_inside(r->reason, size);
	if (s < 100 || s > 599 || r->minor > 1 ||
	    r->nheaders > rp__http_limits_default.max_headers)
		abort();
	for (unsigned i = 0; i < r->nheaders; i++) {
		span_inside(r->headers[i].name, size);
		span_inside(r->headers[i].value, size);
		if (!r->headers[i].name.len)
			abort();
	}
	if (r->chunked && r->content_length != RP_HTTP_NO_LENGTH)
		abort();
	if ((m == RP_HTTP_HEAD || s == 204 || s == 304 || (s < 200 && s != 101)) &&
	    r->body != RP_HTTP_BODY_NONE)
		abort();
	if (r->body == RP_HTTP_BODY_CHUNKED && !r->chunked)
		abort();
	if (r->body == RP_HTTP_BODY_LENGTH && r->content_length <= 0)
		abort();
	if (r->body == RP_HTTP_BODY_TUNNEL && s != 101 &&
	    !(m == RP_HTTP_CONNECT && s < 300))
		abort();
	if ((r->body == RP_HTTP_BODY_CLOSE || r->body == RP_HTTP_BODY_TUNNEL) &&
	    r->keep_alive)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum rp_http_method methods[] = {RP_HTTP_GET, RP_HTTP_HEAD,
						      RP_HTTP_CONNECT, RP_HTTP_POST};
	enum rp_http_method m;
	const char *buf;
	uint32_t hash = 2166136261u;
	size_t cut;
	char *prefix;
	int ret, ret2;

	if (!size)
		return 0;
	m = methods[data[0] & 3];
	buf = (const char *)data + 1;
	size--;
	ret = rp__http_parse_response(buf, size, NULL, m, &resp);
	check(buf, size, ret, &resp, m);

	for (size_t i = 0; i < size; i++)
		hash = (hash ^ (uint8_t)buf[i]) * 16777619u;
	cut = size ? hash % (size + 1) : 0;
	prefix = malloc(cut ? cut : 1);
	if (!prefix)
		return 0;
	memcpy(prefix, buf, cut);
	ret2 = rp__http_parse_response(prefix, cut, NULL, m, &resp2);
	check(prefix, cut, ret2, &resp2, m);
	if (ret2 != -EAGAIN && ret2 != ret)
		abort();
	if (ret2 >= 0 &&
	    (memcmp(&resp, &resp2, offsetof(struct rp_http_response, nheaders)) ||
	     resp.nheaders != resp2.nheaders ||
	     memcmp(resp.headers, resp2.headers,
		    resp.nheaders * sizeof(resp.headers[0]))))
		abort();
	free(prefix);
	return 0;
}

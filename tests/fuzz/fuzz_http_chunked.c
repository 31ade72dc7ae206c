// SPDX-License-Identifier: BSD-2-Clause
/*
 * fuzz_http_chunked.c - libFuzzer target for the chunked body decoder. The
 * first byte picks tight or default limits and how to cut the rest into
 * pieces; each piece is its own allocation, so ASan sees any read past it.
 * Every call consumes at most what it was given and reports payload only as
 * the tail of what it consumed; one piece, two pieces and many pieces give
 * the same payload, the same verdict and the same bytes consumed; and a body
 * that decodes re-encodes as one chunk that decodes to the same payload.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

struct result {
	char *payload;
	size_t len;
	size_t consumed;
	int err;
	bool done;
};

static const struct rp_http_limits tight = {
	.max_head = 256,
	.max_headers = 8,
	.max_target = 64,
	.max_chunk_line = 24,
	.max_trailer = 48,
};

/* Decodes @msg cut into pieces of @step bytes (0: one piece, then one cut at
 * @cut). @out->payload has room for @n bytes. */
static void decode(const char *msg, size_t n, size_t step, size_t cut,
		   const struct rp_http_limits *lim, struct result *out)
{
	struct rp_http_chunked c;
	size_t from = 0;

	out->len = out->consumed = 0;
	out->err = 0;
	rp__http_chunked_init(&c, lim);
	while (from <= n && !out->err && !c.done) {
		size_t to = step ? (n - from > step ? from + step : n)
				 : (from < cut ? cut : n);
		size_t len = to - from, at = 0;
		char *piece = malloc(len ? len : 1);

		if (!piece)
			abort();
		memcpy(piece, msg + from, len);
		while (at < len && !c.done) {
			struct rp_http_span d;
			int ret = rp__http_chunked_decode(&c, piece + at, len - at, &d);

			if (ret < 0) {
				if (ret != -EBADMSG || !c.err)
					abort();
				out->err = ret;
				break;
			}
			if ((size_t)ret > len - at || (!ret && !c.done))
				abort();
			if (d.len) {
				if (d.off + d.len != (uint32_t)ret ||
				    out->len + d.len > n)
					abort();
				memcpy(out->payload + out->len, piece + at + d.off,
				       d.len);
				out->len += d.len;
			}
			at += (size_t)ret;
			out->consumed += (size_t)ret;
		}
		free(piece);
		if (to == n)
			break;
		from = to;
	}
	out->done = c.done;
}

static void same(const struct result *a, const struct result *b)
{
	if (a->err != b->err || a->done != b->done)
		abort();
	if (a->err)
		return; /* where an error is noticed may differ by at most the piece */
	if (a->consumed != b->consumed || a->len != b->len ||
	    memcmp(a->payload, b->payload, a->len))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct rp_http_limits *lim;
	struct result one, two, many;
	const char *msg;
	size_t n, step;
	uint8_t ctl;

	if (!size)
		return 0;
	ctl = data[0];
	msg = (const char *)data + 1;
	n = size - 1;
	lim = ctl & 1 ? &tight : NULL;
	step = 1 + (ctl >> 5);
	one.payload = malloc(n + 1);
	two.payload = malloc(n + 1);
	many.payload = malloc(n + 1);
	if (!one.payload || !two.payload || !many.payload)
		abort();

	decode(msg, n, 0, n, lim, &one);
	decode(msg, n, 0, n ? ((size_t)ctl * 7919u) % (n + 1) : 0, lim, &two);
	decode(msg, n, step, 0, lim, &many);
	same(&one, &two);
	same(&one, &many);
	if (one.consumed > n || (one.done && one.err))
		abort();

	if (one.done) {
		/* Re-encode as one chunk (or just the last one) and decode again. */
		size_t cap = one.len + 64;
		char *enc = malloc(cap);
		int h;

		if (!enc)
			abort();
		h = snprintf(enc, cap, "%zx\r\n", one.len);
		memcpy(enc + h, one.payload, one.len);
		if (one.len) {
			memcpy(enc + h + one.len, "\r\n0\r\n\r\n", 7);
			cap = (size_t)h + one.len + 7;
		} else {
			memcpy(enc + h, "\r\n", 2);
			cap = (size_t)h + 2;
		}
		decode(enc, cap, 0, cap, NULL, &two);
		if (!two.done || two.err || two.consumed != cap || two.len != one.len ||
		    memcmp(two.payload, one.payload, one.len))
			abort();
		free(enc);
	}
	free(one.payload);
	free(two.payload);
	free(many.payload);
	return 0;
}

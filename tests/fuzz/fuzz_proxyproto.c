// SPDX-License-Identifier: BSD-2-Clause
/*
 * fuzz_proxyproto.c - libFuzzer target for the PROXY protocol parser: any
 * input is refused, asks for more, or parses a header no longer than the
 * input; a parsed header rebuilt by the builder (v2, and v1 too) parses back
 * to the same addresses; and every proper prefix of a parsed header asks for
 * more rather than being refused or accepted.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxyproto/proxyproto.h"

static void same_or_abort(const struct rp_pp_result *a, const struct rp_pp_result *b)
{
	if (a->local != b->local)
		abort();
	if (a->local)
		return;
	if (a->addr_len != b->addr_len || memcmp(&a->src, &b->src, a->addr_len) != 0 ||
	    memcmp(&a->dst, &b->dst, a->addr_len) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rp_pp_result r, again;
	uint8_t buf[RP_PP_BUILD_MAX];
	int n = rp__pp_parse(data, size, &r);

	if (n == -EAGAIN || n == -EBADMSG)
		return 0;
	if (n <= 0 || (size_t)n > size)
		abort();
	if (r.version == 1 && n > RP_PP_V1_MAX)
		abort();
	/* The parser decides on the header's own bytes alone. */
	if (rp__pp_parse(data, (size_t)n - 1, &again) != -EAGAIN)
		abort();
	for (int v = 2; v >= 1; v--) {
		const struct sockaddr *s =
			r.local ? NULL : (const struct sockaddr *)&r.src;
		const struct sockaddr *d =
			r.local ? NULL : (const struct sockaddr *)&r.dst;
		int m = rp__pp_build(v, s, d, buf, sizeof(buf));

		if (m <= 0 || rp__pp_parse(buf, (size_t)m, &again) != m ||
		    again.version != v)
			abort();
		same_or_abort(&r, &again);
	}
	return 0;
}

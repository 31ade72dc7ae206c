// SPDX-License-Identifier: BSD-2-Clause
/*
 * fuzz_sni.c - libFuzzer target for the ClientHello peek: over every prefix
 * of the input the answer is -EAGAIN up to some length and from there on
 * one stable answer (same error and reason, or the same byte count and
 * result, reached exactly at that count); a parsed hello takes no more than
 * the input and the peek buffer, holds a NUL-terminated lowercase DNS name
 * and NUL-terminated protocols, and is refused with -E2BIG by any smaller
 * peek buffer. A parsed name of at most 253 bytes is also a valid SNI route
 * name that matches itself, and the wildcard of its parent domain matches it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tls/sni.h"

static void check_result(const struct rp_sni_result *r)
{
	size_t n = strnlen(r->host, sizeof(r->host));

	if (n == sizeof(r->host) || n > 255)
		abort();
	for (size_t i = 0; i < n; i++) {
		char c = r->host[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '.' || c == '_'))
			abort();
	}
	if (n && (r->host[0] == '.' || r->host[n - 1] == '.' || strstr(r->host, "..")))
		abort();
	if (n && n <= 253) {
		const char *dot = strchr(r->host, '.');
		char wild[260];

		if (!rp__sni_name_ok(r->host) || !rp__sni_name_match(r->host, r->host))
			abort();
		if (dot) {
			wild[0] = '*';
			memcpy(wild + 1, dot, strlen(dot) + 1);
			if (!rp__sni_name_ok(wild) || !rp__sni_name_match(wild, r->host))
				abort();
		}
	}
	if (r->nalpn > RP_SNI_ALPN_MAX)
		abort();
	for (unsigned i = 0; i < r->nalpn; i++) {
		size_t k = strnlen(r->alpn[i], RP_SNI_ALPN_LEN);

		if (k == 0 || k == RP_SNI_ALPN_LEN)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rp_sni_result final, r;
	const char *why = NULL, *final_why = NULL;
	int ret = rp__sni_peek(data, size, RP_SNI_PEEK_MAX, &final, &final_why);
	bool settled = false;
	size_t at = 0;

	if (ret != -EAGAIN && ret != -EBADMSG && ret != -E2BIG &&
	    (ret <= 0 || (size_t)ret > size || ret > RP_SNI_PEEK_MAX))
		abort();
	if (ret == -EAGAIN) {
		/* Then every prefix asks for more too; sample two. */
		if (size &&
		    (rp__sni_peek(data, size - 1, RP_SNI_PEEK_MAX, &r, &why) != -EAGAIN ||
		     rp__sni_peek(data, size / 2, RP_SNI_PEEK_MAX, &r, &why) != -EAGAIN))
			abort();
		return 0;
	}
	if (ret == -EBADMSG && !final_why)
		abort();
	for (size_t i = 0; i <= size; i++) {
		int p = rp__sni_peek(data, i, RP_SNI_PEEK_MAX, &r, &why);

		if (!settled && p == -EAGAIN)
			continue;
		if (p != ret || (p < 0 && why != final_why))
			abort();
		/* A hello is complete exactly at its last byte, not earlier. */
		if (!settled && p > 0 && (size_t)p != i)
			abort();
		if (p > 0 && memcmp(&r, &final, sizeof(r)) != 0)
			abort();
		if (!settled)
			at = i;
		settled = true;
		/* Past the hello nothing changes; past an error, sample a few. */
		if (p > 0 || i > at + 16)
			break;
	}
	if (!settled)
		abort();
	if (ret > 0) {
		check_result(&final);
		if (rp__sni_peek(data, size, (size_t)ret - 1, &r, &why) != -E2BIG)
			abort();
	}
	return 0;
}

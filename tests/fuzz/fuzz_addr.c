// SPDX-License-Identifier: BSD-2-Clause
/*
 * fuzz_addr.c - libFuzzer target for the address parser: any input either
 * fails cleanly or parses to an address that formats and re-parses to itself.
 * The same input is read as a parent proxy URL, whose credentials must come
 * out as the parser promises (a user, no control bytes, no ':' in it).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[128], out[RP_ADDRSTRLEN];
	struct rp_addr a, b;

	if (size >= sizeof(in))
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	{
		struct rp_proxy_url u;

		if (rp__proxy_url_parse(in, &u) == 0) {
			if (u.auth && (!u.user[0] || strchr(u.user, ':')))
				abort();
			for (const char *p = u.user; *p; p++)
				if ((unsigned char)*p < 0x20 || *p == 0x7f)
					abort();
			for (const char *p = u.pass; *p; p++)
				if ((unsigned char)*p < 0x20 || *p == 0x7f)
					abort();
			if (!u.auth && (u.user[0] || u.pass[0]))
				abort();
		}
	}
	if (rp__addr_parse(in, &a, true) < 0)
		return 0;
	rp__addr_format(&a, out, sizeof(out));
	if (rp__addr_parse(out, &b, true) < 0 || a.len != b.len ||
	    memcmp(&a.ss, &b.ss, a.len) != 0)
		abort();
	return 0;
}

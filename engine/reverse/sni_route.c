// SPDX-License-Identifier: BSD-2-Clause
/*
 * sni_route.c - SNI passthrough's routing decision (see sni_route.h): the
 * ClientHello is parsed by the peek of engine/tls/sni.c, its server_name
 * compared with the listener's routes in the order they were configured,
 * and the first that matches names the cluster. The bytes themselves are
 * l4.c's to buffer and forward untouched.
 */
#include <errno.h>
#include <string.h>

#include "reverse/sni_route.h"
#include "tls/sni.h"

_Static_assert(RP_SNI_ROUTE_BUF == RP_SNI_PEEK_MAX, "one record and its header");
_Static_assert(RP_SNI_ROUTE_HOST == sizeof(((struct rp_sni_result *)0)->host),
	       "the peek's host name");

int rp__sni_route_pick(const struct rp_listener_config *lis, const char *host)
{
	for (unsigned i = 0; i < lis->nsni && i < RP_MAX_SNI; i++)
		if (rp__sni_name_match(lis->sni[i].name, host))
			return (int)lis->sni[i].cluster;
	return lis->sni_strict ? -ENOENT : (int)lis->cluster;
}

int rp__sni_route(const struct rp_listener_config *lis, const uint8_t *buf, size_t len,
		  size_t max, char *host, const char **why)
{
	struct rp_sni_result res;
	int ret;

	ret = rp__sni_peek(buf, len, max, &res, why);
	if (ret == -EAGAIN && len >= max) {
		/* The peek never asks for more than @max; be sure of it. */
		*why = "ClientHello larger than the peek buffer";
		return -E2BIG;
	}
	if (ret < 0)
		return ret;
	memcpy(host, res.host, sizeof(res.host));
	ret = rp__sni_route_pick(lis, res.host);
	if (ret < 0)
		*why = res.host[0] ? "no route for this server name (strict)"
				   : "no server name (strict)";
	return ret;
}

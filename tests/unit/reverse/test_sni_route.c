// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_sni_route.c - SNI passthrough's routing decision: the first route
 * whose name matches wins, in configured order; names no route takes (and
 * hellos without SNI) go to the listener's cluster, or are refused when it
 * is strict; a prefix of a ClientHello asks for more, until the buffer is
 * full; what is not a ClientHello is refused with the peek's reason.
 */
#include <errno.h>
#include <string.h>

#include "reverse/sni_route.h"
#include "unit.h"

static struct rp_listener_config lis;

/* Listener with cluster 9 and the routes given as name, cluster pairs. */
static void listener(bool strict, unsigned n, const char *const *names,
		     const unsigned *clusters)
{
	rp_listener_config_init(&lis);
	lis.cluster = 9;
	lis.sni_strict = strict;
	lis.nsni = n;
	for (unsigned i = 0; i < n; i++) {
		strcpy(lis.sni[i].name, names[i]);
		lis.sni[i].cluster = clusters[i];
	}
}

/* A TLS 1.2-style ClientHello in one record, with server_name @host unless
 * it is NULL; its length. */
static size_t hello(uint8_t *b, const char *host)
{
	size_t n = 0, hl = host ? strlen(host) : 0, ext = host ? 9 + hl : 0;
	size_t body = 2 + 32 + 1 + 4 + 2 + 2 + ext;

	b[n++] = 22; /* handshake record */
	b[n++] = 3;
	b[n++] = 1;
	b[n++] = (uint8_t)((4 + body) >> 8);
	b[n++] = (uint8_t)(4 + body);
	b[n++] = 1; /* client_hello */
	b[n++] = 0;
	b[n++] = (uint8_t)(body >> 8);
	b[n++] = (uint8_t)body;
	b[n++] = 3; /* legacy_version */
	b[n++] = 3;
	memset(b + n, 0xa5, 32); /* random */
	n += 32;
	b[n++] = 0; /* no session id */
	b[n++] = 0; /* cipher suites: 2 bytes */
	b[n++] = 2;
	b[n++] = 0x13;
	b[n++] = 0x01;
	b[n++] = 1; /* compression: null */
	b[n++] = 0;
	b[n++] = (uint8_t)(ext >> 8); /* extensions */
	b[n++] = (uint8_t)ext;
	if (host) {
		b[n++] = 0; /* server_name */
		b[n++] = 0;
		b[n++] = (uint8_t)((hl + 5) >> 8);
		b[n++] = (uint8_t)(hl + 5);
		b[n++] = (uint8_t)((hl + 3) >> 8);
		b[n++] = (uint8_t)(hl + 3);
		b[n++] = 0; /* host_name */
		b[n++] = (uint8_t)(hl >> 8);
		b[n++] = (uint8_t)hl;
		memcpy(b + n, host, hl);
		n += hl;
	}
	return n;
}

static int route(const char *host, char *seen)
{
	static uint8_t b[RP_SNI_ROUTE_BUF];
	const char *why = NULL;
	size_t n = hello(b, host);
	int ret = rp__sni_route(&lis, b, n, sizeof(b), seen, &why);

	CU_ASSERT(ret >= 0 || why != NULL);
	return ret;
}

static void test_sni_route_first_match_wins(void)
{
	static const char *const names[] = {"a.example", "*.b.example", "x.b.example",
					    "*.example"};
	static const unsigned clusters[] = {1, 2, 3, 4};
	char seen[RP_SNI_ROUTE_HOST];

	listener(false, 4, names, clusters);
	CU_ASSERT_EQUAL(route("a.example", seen), 1);
	CU_ASSERT_STRING_EQUAL(seen, "a.example");
	CU_ASSERT_EQUAL(route("A.Example.", seen), 1); /* as the peek gives it */
	CU_ASSERT_STRING_EQUAL(seen, "a.example");
	/* Listed after the wildcard that takes it: never reached. */
	CU_ASSERT_EQUAL(route("x.b.example", seen), 2);
	CU_ASSERT_EQUAL(route("b.example", seen), 4);
	CU_ASSERT_EQUAL(route("y.x.b.example", seen), 9);
	CU_ASSERT_EQUAL(route("example", seen), 9);
	CU_ASSERT_EQUAL(route(NULL, seen), 9);
	CU_ASSERT_STRING_EQUAL(seen, "");
	CU_ASSERT_EQUAL(rp__sni_route_pick(&lis, "c.example"), 4);
	CU_ASSERT_EQUAL(rp__sni_route_pick(&lis, ""), 9);
}

static void test_sni_route_strict_refuses(void)
{
	static const char *const names[] = {"a.example"};
	static const unsigned clusters[] = {0};
	char seen[RP_SNI_ROUTE_HOST];

	listener(true, 1, names, clusters);
	CU_ASSERT_EQUAL(route("a.example", seen), 0);
	CU_ASSERT_EQUAL(route("b.example", seen), -ENOENT);
	CU_ASSERT_STRING_EQUAL(seen, "b.example");
	CU_ASSERT_EQUAL(route(NULL, seen), -ENOENT);
	CU_ASSERT_EQUAL(rp__sni_route_pick(&lis, ""), -ENOENT);
}

static void test_sni_route_needs_the_whole_hello(void)
{
	static const char *const names[] = {"a.example"};
	static const unsigned clusters[] = {5};
	static uint8_t b[RP_SNI_ROUTE_BUF];
	char seen[RP_SNI_ROUTE_HOST];
	const char *why;
	size_t n;

	listener(false, 1, names, clusters);
	n = hello(b, "a.example");
	for (size_t i = 0; i < n; i++)
		CU_ASSERT_EQUAL(rp__sni_route(&lis, b, i, sizeof(b), seen, &why),
				-EAGAIN);
	CU_ASSERT_EQUAL(rp__sni_route(&lis, b, n, sizeof(b), seen, &why), 5);
	/* A prefix that fills the buffer can never complete. */
	why = NULL;
	CU_ASSERT_EQUAL(rp__sni_route(&lis, b, n - 1, n - 1, seen, &why), -E2BIG);
	CU_ASSERT_PTR_NOT_NULL(why);
}

static void test_sni_route_refuses_what_is_not_a_hello(void)
{
	static const char get[] = "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n";
	static const uint8_t alert[] = {21, 3, 3, 0, 2, 2, 40};
	char seen[RP_SNI_ROUTE_HOST];
	const char *why = NULL;

	listener(false, 0, NULL, NULL);
	CU_ASSERT_EQUAL(rp__sni_route(&lis, (const uint8_t *)get, 1, RP_SNI_ROUTE_BUF,
				      seen, &why),
			-EBADMSG);
	CU_ASSERT_PTR_NOT_NULL(why);
	why = NULL;
	CU_ASSERT_EQUAL(
		rp__sni_route(&lis, alert, sizeof(alert), RP_SNI_ROUTE_BUF, seen, &why),
		-EBADMSG);
	CU_ASSERT_PTR_NOT_NULL(why);
}

static const struct rp_unit_test tests[] = {
	RP_TEST(test_sni_route_first_match_wins),
	RP_TEST(test_sni_route_strict_refuses),
	RP_TEST(test_sni_route_needs_the_whole_hello),
	RP_TEST(test_sni_route_refuses_what_is_not_a_hello),
};

RP_UNIT_MAIN("sni_route", tests)

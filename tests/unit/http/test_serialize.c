// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_serialize.c - the response-head serializer and the proxy's own error
 * responses: exact output for each framing (length, chunked, de-chunked,
 * close-delimited, HEAD, 304, the bodiless statuses), hop-by-hop removal,
 * extras and the injection checks, -ENOSPC at every capacity below the
 * needed one, and a re-parse of every output. Inputs are parsed from, and
 * outputs written to, heap buffers of exactly the right size so that ASan
 * sees any access past them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"
#include "unit.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static struct rp_http_response resp_, resp2_;

static char *dup_bytes(const char *s, size_t n)
{
	char *p = malloc(n ? n : 1);

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	memcpy(p, s, n);
	return p;
}

/*
 * Parses the response head @msg (all of it) for a request with method @m,
 * serializes it with @extra and @flags, and checks the output is @want, that
 * every smaller capacity gives -ENOSPC without writing past it, and that the
 * output parses back to the same status.
 */
static void check_resp(enum rp_http_method m, const char *msg,
		       const struct rp_http_field *extra, unsigned nextra, unsigned flags,
		       const char *want)
{
	size_t len = strlen(msg), wlen = strlen(want);
	char *buf = dup_bytes(msg, len);
	char *out = malloc(wlen);
	int n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_EQUAL_FATAL(rp__http_parse_response(buf, len, NULL, m, &resp_),
			      (int)len);
	n = rp__http_serialize_response(buf, &resp_, extra, nextra, flags, out, wlen);
	CU_ASSERT_EQUAL(n, (int)wlen);
	if (n != (int)wlen || memcmp(out, want, wlen)) {
		CU_FAIL("output differs");
		fprintf(stderr, "\nwant: %s\ngot (%d): %.*s\n", want, n, n > 0 ? n : 0,
			out);
	}
	for (size_t cap = 0; cap < wlen; cap++) {
		char *small = malloc(cap ? cap : 1);

		CU_ASSERT_PTR_NOT_NULL_FATAL(small);
		CU_ASSERT_EQUAL(rp__http_serialize_response(buf, &resp_, extra, nextra,
							    flags, small, cap),
				-ENOSPC);
		free(small);
	}
	if (n == (int)wlen) {
		CU_ASSERT_EQUAL(rp__http_parse_response(out, wlen, NULL, m, &resp2_), n);
		CU_ASSERT_EQUAL(resp2_.status, resp_.status);
		CU_ASSERT_EQUAL(resp2_.minor, 1);
		/* Hop-by-hop: only the framing we wrote and the caller's lines. */
		for (unsigned i = 0; i < resp2_.nheaders; i++) {
			const struct rp_http_header *h = &resp2_.headers[i];
			bool ours = h->id == RP_HTTP_HDR_TRANSFER_ENCODING;

			for (unsigned k = 0; k < nextra; k++)
				ours |= rp__http_find_header(out, h, 1, extra[k].name,
							     strlen(extra[k].name),
							     0) == 0;
			CU_ASSERT(!rp__http_is_hop_by_hop(h) || ours);
		}
	}
	free(out);
	free(buf);
}

static void test_serialize_response_content_length(void)
{
	/* A repeated, equal Content-Length becomes one, after the other fields. */
	check_resp(RP_HTTP_GET,
		   "HTTP/1.1 200 OK\r\nServer: s\r\nContent-Length: 5\r\n"
		   "Content-Type: text/plain\r\ncontent-length: 5\r\n\r\n",
		   NULL, 0, 0,
		   "HTTP/1.1 200 OK\r\nServer: s\r\nContent-Type: text/plain\r\n"
		   "Content-Length: 5\r\n\r\n");
	CU_ASSERT_EQUAL(resp2_.content_length, 5);
	CU_ASSERT_EQUAL(resp2_.body, RP_HTTP_BODY_LENGTH);
	/* Our version, their reason as received, even odd or empty. */
	check_resp(RP_HTTP_GET,
		   "HTTP/1.0 404 Nope, \x80gone\r\nContent-Length: 0\r\n\r\n", NULL, 0, 0,
		   "HTTP/1.1 404 Nope, \x80gone\r\nContent-Length: 0\r\n\r\n");
	check_resp(RP_HTTP_GET, "HTTP/1.1 200\r\nContent-Length: 1\r\n\r\n", NULL, 0, 0,
		   "HTTP/1.1 200 \r\nContent-Length: 1\r\n\r\n");
}

static void test_serialize_response_chunked(void)
{
	check_resp(RP_HTTP_GET,
		   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX: 1\r\n\r\n", NULL,
		   0, 0, "HTTP/1.1 200 OK\r\nX: 1\r\nTransfer-Encoding: chunked\r\n\r\n");
	CU_ASSERT(resp2_.chunked);
	CU_ASSERT_EQUAL(resp2_.body, RP_HTTP_BODY_CHUNKED);
}

static void test_serialize_response_dechunk(void)
{
	check_resp(RP_HTTP_GET,
		   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX: 1\r\n\r\n", NULL,
		   0, RP_HTTP_SER_DECHUNK, "HTTP/1.1 200 OK\r\nX: 1\r\n\r\n");
	CU_ASSERT_EQUAL(resp2_.body, RP_HTTP_BODY_CLOSE);
	/* The flag changes nothing when the body has a length. */
	check_resp(RP_HTTP_GET, "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n", NULL, 0,
		   RP_HTTP_SER_DECHUNK, "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n");
}

static void test_serialize_response_close_delimited(void)
{
	check_resp(RP_HTTP_GET, "HTTP/1.0 200 OK\r\nServer: s\r\n\r\n", NULL, 0, 0,
		   "HTTP/1.1 200 OK\r\nServer: s\r\n\r\n");
	CU_ASSERT_EQUAL(resp2_.body, RP_HTTP_BODY_CLOSE);
}

static void test_serialize_response_head_and_304_keep_length(void)
{
	check_resp(RP_HTTP_HEAD, "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", NULL,
		   0, 0, "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n");
	CU_ASSERT_EQUAL(resp2_.body, RP_HTTP_BODY_NONE);
	CU_ASSERT_EQUAL(resp2_.content_length, 1234);
	check_resp(RP_HTTP_HEAD, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
		   NULL, 0, 0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
	CU_ASSERT_EQUAL(resp2_.body, RP_HTTP_BODY_NONE);
	check_resp(
		RP_HTTP_GET,
		"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 99\r\n\r\n",
		NULL, 0, 0,
		"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 99\r\n\r\n");
	CU_ASSERT_EQUAL(resp2_.body, RP_HTTP_BODY_NONE);
	check_resp(RP_HTTP_GET, "HTTP/1.1 304 Not Modified\r\n\r\n", NULL, 0, 0,
		   "HTTP/1.1 304 Not Modified\r\n\r\n");
}

static void test_serialize_response_bodiless_statuses_get_no_framing(void)
{
	check_resp(RP_HTTP_GET, "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
		   NULL, 0, 0, "HTTP/1.1 204 No Content\r\n\r\n");
	check_resp(RP_HTTP_DELETE,
		   "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n", NULL,
		   0, 0, "HTTP/1.1 204 No Content\r\n\r\n");
	check_resp(RP_HTTP_POST, "HTTP/1.1 100 Continue\r\nContent-Length: 3\r\n\r\n",
		   NULL, 0, 0, "HTTP/1.1 100 Continue\r\n\r\n");
	check_resp(RP_HTTP_CONNECT,
		   "HTTP/1.1 200 Connection established\r\n"
		   "Content-Length: 0\r\n\r\n",
		   NULL, 0, 0, "HTTP/1.1 200 Connection established\r\n\r\n");
	CU_ASSERT_EQUAL(resp2_.body, RP_HTTP_BODY_TUNNEL);
}

static void test_serialize_response_drops_hop_by_hop(void)
{
	static const char msg[] = "HTTP/1.1 200 OK\r\n"
				  "Connection: keep-alive, X-Hop, content-length\r\n"
				  "Keep-Alive: timeout=5\r\n"
				  "X-Hop: secret\r\n"
				  "Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n"
				  "Proxy-Authenticate: Basic\r\n"
				  "Trailer: X-Sum\r\n"
				  "Upgrade: h2c\r\n"
				  "Proxy-Connection: keep-alive\r\n"
				  "Content-Length: 2\r\n"
				  "TE: trailers\r\n"
				  "Set-Cookie: a=b\r\n"
				  "x-hop: again\r\n\r\n";
	static const char want[] = "HTTP/1.1 200 OK\r\n"
				   "Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n"
				   "Set-Cookie: a=b\r\n"
				   "Content-Length: 2\r\n\r\n";

	check_resp(RP_HTTP_GET, msg, NULL, 0, 0, want);
	/* A Connection option never strips the length that frames the body. */
	CU_ASSERT_EQUAL(resp2_.content_length, 2);
	CU_ASSERT_EQUAL(resp2_.nheaders, 3);
}

static void test_serialize_response_switching_protocols(void)
{
	static const struct rp_http_field up[] = {{"Connection", "upgrade"},
						  {"Upgrade", "websocket"}};

	check_resp(RP_HTTP_GET,
		   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		   "Connection: Upgrade\r\nSec-WebSocket-Accept: abc=\r\n\r\n",
		   up, 2, 0,
		   "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: abc=\r\n"
		   "Connection: upgrade\r\nUpgrade: websocket\r\n\r\n");
	CU_ASSERT_EQUAL(resp2_.body, RP_HTTP_BODY_TUNNEL);
	CU_ASSERT(resp2_.conn_upgrade && resp2_.upgrade);
}

static void test_serialize_response_extras_after_framing(void)
{
	static const struct rp_http_field extra[] = {
		{"Via", "1.1 ringproxy"}, {"Connection", "close"}, {"X-Tab", "a\tb"}};

	check_resp(RP_HTTP_GET,
		   "HTTP/1.1 201 Created\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n",
		   extra, 3, 0,
		   "HTTP/1.1 201 Created\r\nLocation: /x\r\nContent-Length: 0\r\n"
		   "Via: 1.1 ringproxy\r\nConnection: close\r\nX-Tab: a\tb\r\n\r\n");
	CU_ASSERT(resp2_.conn_close && !resp2_.keep_alive);
}

static void test_serialize_response_refuses_injection(void)
{
	static const char msg[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	static const struct rp_http_field bad[][2] = {
		{{"Via", "1.1 rp"}, {"X", "1\r\nSet-Cookie: evil=1"}},
		{{"Via", "1.1 rp"}, {"X", "1\nEvil: 1"}},
		{{"Via", "1.1 rp"}, {"X", "1\rEvil: 1"}},
		{{"Via", "1.1 rp"}, {"X", "\x01"}},
		{{"Via", "1.1 rp"}, {"X", "del\x7f"}},
		{{"Via", "1.1 rp"}, {"X Y", "1"}},
		{{"Via", "1.1 rp"}, {"X:", "1"}},
		{{"Via", "1.1 rp"}, {"", "1"}},
		{{"Via", "1.1 rp"}, {NULL, "1"}},
		{{"Via", "1.1 rp"}, {"X", NULL}},
	};
	char out[256];

	CU_ASSERT_EQUAL_FATAL(
		rp__http_parse_response(msg, sizeof(msg) - 1, NULL, RP_HTTP_GET, &resp_),
		(int)sizeof(msg) - 1);
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(out, 0, sizeof(out));
		CU_ASSERT_EQUAL(rp__http_serialize_response(msg, &resp_, bad[i], 2, 0,
							    out, sizeof(out)),
				-EINVAL);
		/* Refused before anything is written. */
		CU_ASSERT_EQUAL(out[0], 0);
	}
	/* A bad extra is refused even when the output would not fit anyway. */
	CU_ASSERT_EQUAL(rp__http_serialize_response(msg, &resp_, bad[0], 2, 0, out, 0),
			-EINVAL);
}

/* The request serializer shares the response's tail (framing, extras, final
 * CRLF): it must still come out the same. */
static void test_serialize_request_still_frames_the_same(void)
{
	static const char msg[] = "POST /u HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
				  "Connection: X\r\nX: 1\r\nA: b\r\n\r\n";
	static const char want[] = "POST /u HTTP/1.1\r\nHost: h\r\nA: b\r\n"
				   "Content-Length: 3\r\nVia: 1.1 rp\r\n\r\n";
	static const struct rp_http_field via[] = {{"Via", "1.1 rp"}};
	static const struct rp_http_field bad[] = {{"Via", "1\r\n"}};
	static struct rp_http_request req;
	char out[256];
	int n;

	CU_ASSERT_EQUAL_FATAL(rp__http_parse_request(msg, sizeof(msg) - 1, NULL, &req),
			      (int)sizeof(msg) - 1);
	n = rp__http_serialize_request(msg, &req, via, 1, 0, out, sizeof(out));
	CU_ASSERT_EQUAL_FATAL(n, (int)sizeof(want) - 1);
	CU_ASSERT_EQUAL(memcmp(out, want, (size_t)n), 0);
	CU_ASSERT_EQUAL(
		rp__http_serialize_request(msg, &req, bad, 1, 0, out, sizeof(out)),
		-EINVAL);
	CU_ASSERT_EQUAL(
		rp__http_serialize_request(msg, &req, via, 1, 0, out, (size_t)n - 1),
		-ENOSPC);
}

/* ---- the proxy's own responses -------------------------------------------- */

static const unsigned error_statuses[] = {400, 403, 404, 405, 408, 413, 414, 417,
					  431, 500, 501, 502, 503, 504, 505};

static void test_error_response_exact(void)
{
	static const char bad[] = "HTTP/1.1 400 Bad Request\r\n"
				  "Content-Type: text/plain\r\n"
				  "Content-Length: 16\r\n"
				  "Connection: close\r\n\r\n"
				  "400 Bad Request\n";
	static const char gw[] = "HTTP/1.1 503 Service Unavailable\r\n"
				 "Content-Type: text/plain\r\n"
				 "Content-Length: 24\r\n\r\n"
				 "503 Service Unavailable\n";
	char out[RP_HTTP_ERROR_RESPONSE_MAX];
	int n;

	n = rp__http_error_response(400, true, out, sizeof(out));
	CU_ASSERT_EQUAL_FATAL(n, (int)sizeof(bad) - 1);
	CU_ASSERT_EQUAL(memcmp(out, bad, (size_t)n), 0);
	n = rp__http_error_response(503, false, out, sizeof(out));
	CU_ASSERT_EQUAL_FATAL(n, (int)sizeof(gw) - 1);
	CU_ASSERT_EQUAL(memcmp(out, gw, (size_t)n), 0);
}

static void test_error_response_every_status_parses(void)
{
	for (unsigned i = 0; i < ARRAY_SIZE(error_statuses); i++) {
		for (int close = 0; close < 2; close++) {
			unsigned s = error_statuses[i];
			const char *reason = rp__http_reason(s);
			char out[RP_HTTP_ERROR_RESPONSE_MAX], body[64];
			int n = rp__http_error_response(s, close, out, sizeof(out));
			int head, blen;

			CU_ASSERT_PTR_NOT_NULL_FATAL(reason);
			CU_ASSERT_FATAL(n > 0);
			head = rp__http_parse_response(out, (size_t)n, NULL, RP_HTTP_GET,
						       &resp_);
			CU_ASSERT_FATAL(head > 0);
			CU_ASSERT_EQUAL(resp_.status, s);
			CU_ASSERT_EQUAL(resp_.reason.len, strlen(reason));
			CU_ASSERT_EQUAL(
				memcmp(out + resp_.reason.off, reason, resp_.reason.len),
				0);
			CU_ASSERT_EQUAL(resp_.body, RP_HTTP_BODY_LENGTH);
			CU_ASSERT_EQUAL(resp_.content_length, n - head);
			CU_ASSERT_EQUAL(resp_.conn_close, close);
			CU_ASSERT_EQUAL(resp_.keep_alive, !close);
			blen = snprintf(body, sizeof(body), "%u %s\n", s, reason);
			CU_ASSERT_EQUAL(blen, n - head);
			CU_ASSERT_EQUAL(memcmp(out + head, body, (size_t)blen), 0);
			/* What the header comment promises a HEAD caller. */
			CU_ASSERT_EQUAL((size_t)blen, 4 + strlen(reason) + 1);
			CU_ASSERT(rp__http_find_header(out, resp_.headers, resp_.nheaders,
						       "Content-Type", 12, 0) >= 0);
			for (size_t cap = 0; cap < (size_t)n; cap++) {
				char *small = malloc(cap ? cap : 1);

				CU_ASSERT_PTR_NOT_NULL_FATAL(small);
				CU_ASSERT_EQUAL(
					rp__http_error_response(s, close, small, cap),
					-ENOSPC);
				free(small);
			}
		}
	}
}

/* The reason line after the status line, counted in Content-Length; what a
 * client put in a name cannot break out of it. */
static void test_error_response_with_a_reason(void)
{
	static const char want[] =
		"HTTP/1.1 502 Bad Gateway\r\n"
		"Content-Type: text/plain\r\n"
		"Content-Length: 70\r\n"
		"Connection: close\r\n\r\n"
		"502 Bad Gateway\n"
		"cannot resolve nx.invalid:80: no such name (NXDOMAIN)\n";
	char out[RP_HTTP_ERROR_RESPONSE_MAX + 128];
	int n, head;

	n = rp__http_error_response_why(
		502, true, "cannot resolve nx.invalid:80: no such name (NXDOMAIN)", out,
		sizeof(out));
	CU_ASSERT_EQUAL_FATAL(n, (int)sizeof(want) - 1);
	CU_ASSERT_EQUAL(memcmp(out, want, (size_t)n), 0);
	head = rp__http_parse_response(out, (size_t)n, NULL, RP_HTTP_GET, &resp_);
	CU_ASSERT_FATAL(head > 0);
	CU_ASSERT_EQUAL(resp_.content_length, n - head);
	/* control bytes become '?' */
	n = rp__http_error_response_why(504, false, "a\r\nX-Evil: 1\x7f", out,
					sizeof(out));
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_PTR_NOT_NULL(
		strstr(out, "\r\n\r\n504 Gateway Timeout\na??X-Evil: 1?\n"));
	/* NULL and "" are no reason at all */
	CU_ASSERT_EQUAL(rp__http_error_response_why(502, true, NULL, out, sizeof(out)),
			rp__http_error_response(502, true, out, sizeof(out)));
	CU_ASSERT_EQUAL(rp__http_error_response_why(502, true, "", out, sizeof(out)),
			rp__http_error_response(502, true, out, sizeof(out)));
	for (size_t cap = 0; cap < sizeof(want) - 1; cap++)
		CU_ASSERT_EQUAL(
			rp__http_error_response_why(
				502, true,
				"cannot resolve nx.invalid:80: no such name (NXDOMAIN)",
				out, cap),
			-ENOSPC);
}

static void test_error_response_refuses_other_statuses(void)
{
	static const unsigned bad[] = {0,   99,	 200, 204, 304, 399,
				       418, 499, 599, 600, 1000};
	char out[RP_HTTP_ERROR_RESPONSE_MAX];

	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++)
		CU_ASSERT_EQUAL(rp__http_error_response(bad[i], true, out, sizeof(out)),
				-EINVAL);
}

static void test_reason_phrases(void)
{
	CU_ASSERT_STRING_EQUAL(rp__http_reason(200), "OK");
	CU_ASSERT_STRING_EQUAL(rp__http_reason(413), "Content Too Large");
	CU_ASSERT_STRING_EQUAL(rp__http_reason(414), "URI Too Long");
	CU_ASSERT_STRING_EQUAL(rp__http_reason(417), "Expectation Failed");
	CU_ASSERT_STRING_EQUAL(rp__http_reason(431), "Request Header Fields Too Large");
	CU_ASSERT_STRING_EQUAL(rp__http_reason(505), "HTTP Version Not Supported");
	CU_ASSERT_PTR_NULL(rp__http_reason(0));
	CU_ASSERT_PTR_NULL(rp__http_reason(418));
	CU_ASSERT_PTR_NULL(rp__http_reason(599));
	CU_ASSERT_PTR_NULL(rp__http_reason(600));
	CU_ASSERT_PTR_NULL(rp__http_reason(~0u));
}

static const struct rp_unit_test tests[] = {
	RP_TEST(test_serialize_response_content_length),
	RP_TEST(test_serialize_response_chunked),
	RP_TEST(test_serialize_response_dechunk),
	RP_TEST(test_serialize_response_close_delimited),
	RP_TEST(test_serialize_response_head_and_304_keep_length),
	RP_TEST(test_serialize_response_bodiless_statuses_get_no_framing),
	RP_TEST(test_serialize_response_drops_hop_by_hop),
	RP_TEST(test_serialize_response_switching_protocols),
	RP_TEST(test_serialize_response_extras_after_framing),
	RP_TEST(test_serialize_response_refuses_injection),
	RP_TEST(test_serialize_request_still_frames_the_same),
	RP_TEST(test_error_response_exact),
	RP_TEST(test_error_response_every_status_parses),
	RP_TEST(test_error_response_with_a_reason),
	RP_TEST(test_error_response_refuses_other_statuses),
	RP_TEST(test_reason_phrases),
};

RP_UNIT_MAIN("http_serialize", tests)

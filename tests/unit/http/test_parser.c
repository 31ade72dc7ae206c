// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_parser.c - the HTTP/1.1 parser: a table of valid and invalid request
 * heads (each refusal with its status), every prefix of every message (an
 * incomplete head is -EAGAIN or, once the fault is in view, the same error),
 * field and framing facts, response framing, the chunked decoder split at
 * every byte, the limits, and the serializer's round trip. Every parse reads
 * from a heap copy of exactly the bytes given, so that ASan sees any read
 * past them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"
#include "unit.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A message literal and its length (literals may hold a NUL). */
#define MSG(s) s, sizeof(s) - 1

static char *dup_bytes(const char *s, size_t n)
{
	char *p = malloc(n ? n : 1);

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	memcpy(p, s, n);
	return p;
}

static int parse_req(const char *s, size_t n, const struct rp_http_limits *lim,
		     struct rp_http_request *req)
{
	char *copy = dup_bytes(s, n);
	int ret = rp__http_parse_request(copy, n, lim, req);

	free(copy);
	return ret;
}

static int parse_resp(const char *s, size_t n, enum rp_http_method m,
		      struct rp_http_response *resp)
{
	char *copy = dup_bytes(s, n);
	int ret = rp__http_parse_response(copy, n, NULL, m, resp);

	free(copy);
	return ret;
}

static bool span_is(const char *buf, struct rp_http_span s, const char *want)
{
	return s.len == strlen(want) && !memcmp(buf + s.off, want, s.len);
}

static struct rp_http_request req_, req2_;
static struct rp_http_response resp_;

/* ---- the table ------------------------------------------------------------ */

struct req_case {
	const char *msg;
	size_t len;
	int status; /* 0: valid, the whole message is the head */
};

#define HOST "Host: a\r\n"

static const struct req_case req_cases[] = {
	/* valid */
	{MSG("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), 0},
	{MSG("GET / HTTP/1.0\r\n\r\n"), 0},
	{MSG("GET /p/a/t/h?q=1&r=%20x;y HTTP/1.1\r\nHost: example.com:8080\r\n\r\n"), 0},
	{MSG("\r\nGET / HTTP/1.1\r\n" HOST "\r\n"), 0},
	{MSG("\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n" HOST "\r\n"), 0},
	{MSG("OPTIONS * HTTP/1.1\r\n" HOST "\r\n"), 0},
	{MSG("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"), 0},
	{MSG("CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n"), 0},
	{MSG("CONNECT 10.0.0.1:8443 HTTP/1.0\r\n\r\n"), 0},
	{MSG("GET http://example.com/x HTTP/1.1\r\nHost: example.com\r\n\r\n"), 0},
	{MSG("GET http://Example.COM:8080?x HTTP/1.1\r\nHost: example.com:8080\r\n\r\n"),
	 0},
	{MSG("GET https://[::1]:8443/ HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n"), 0},
	{MSG("GET http://example.com/ HTTP/1.0\r\n\r\n"), 0},
	{MSG("POST /u HTTP/1.1\r\n" HOST "Content-Length: 5\r\n\r\n"), 0},
	{MSG("POST /u HTTP/1.1\r\n" HOST
	     "Content-Length: 5\r\ncontent-length: 5\r\n\r\n"),
	 0},
	{MSG("POST /u HTTP/1.1\r\n" HOST "Content-Length: 000\r\n\r\n"), 0},
	{MSG("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\n\r\n"), 0},
	{MSG("POST / HTTP/1.1\r\n" HOST "transfer-encoding: Chunked\r\n\r\n"), 0},
	{MSG("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: , chunked ,\r\n\r\n"), 0},
	{MSG("GET / HTTP/1.1\r\n" HOST "X-Bin: \x80\xff\xfe\r\n\r\n"), 0},
	{MSG("GET / HTTP/1.1\r\n" HOST "X-Tab: a\tb\r\n\r\n"), 0},
	{MSG("GET / HTTP/1.1\r\n" HOST "X-Empty:\r\n\r\n"), 0},
	{MSG("GET / HTTP/1.1\r\n" HOST "X-Ows: \t v w \t\r\n\r\n"), 0},
	{MSG("PURGE /x HTTP/1.1\r\n" HOST "\r\n"), 0},
	{MSG("get /x HTTP/1.1\r\n" HOST "\r\n"), 0},
	{MSG("M-!#$%&'*+.^_`|~ /x HTTP/1.1\r\n" HOST "\r\n"), 0},
	{MSG("GET / HTTP/1.1\r\n" HOST "X-!#$%&'*+-.^_`|~: v\r\n\r\n"), 0},
	{MSG("GET / HTTP/1.1\r\nHost:\r\n\r\n"), 0},
	{MSG("GET / HTTP/1.1\r\nHost: 192.168.0.1:80\r\n\r\n"), 0},
	{MSG("GET / HTTP/1.1\r\nHost: xn--bcher-kva.example\r\n\r\n"), 0},
	{MSG("GET /chat HTTP/1.1\r\n" HOST "Connection: keep-alive, Upgrade\r\n"
	     "Upgrade: websocket\r\n\r\n"),
	 0},
	{MSG("PUT /f HTTP/1.1\r\n" HOST
	     "Expect: 100-continue\r\nContent-Length: 1\r\n\r\n"),
	 0},
	{MSG("GET /a|b^c{d}\\e\"f<g>`h HTTP/1.1\r\n" HOST "\r\n"), 0},
	{MSG("GET / HTTP/1.1\r\n" HOST "Connection: ,,close,,\r\n\r\n"), 0},
	{MSG("GET / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\n\r\n"), 0},

	/* request line */
	{MSG("GET  / HTTP/1.1\r\n" HOST "\r\n"), 400},
	{MSG("GET / HTTP/1.1 \r\n" HOST "\r\n"), 400},
	{MSG("GET / HTTP/1.1\r\r\n" HOST "\r\n"), 400},
	{MSG("GET /\r\n\r\n"), 400},
	{MSG("G(T / HTTP/1.1\r\n" HOST "\r\n"), 400},
	{MSG(" GET / HTTP/1.1\r\n" HOST "\r\n"), 400},
	{MSG("GET\t/ HTTP/1.1\r\n" HOST "\r\n"), 400},
	{MSG("GET / HTTP/2.0\r\n" HOST "\r\n"), 505},
	{MSG("GET / HTTP/1.2\r\n" HOST "\r\n"), 505},
	{MSG("GET / HTTP/0.9\r\n\r\n"), 505},
	{MSG("GET / http/1.1\r\n" HOST "\r\n"), 400},
	{MSG("GET / HTTP/1.10\r\n" HOST "\r\n"), 400},
	{MSG("GET / HTTP/11\r\n" HOST "\r\n"), 400},
	{MSG("GET / HTTP/1.1x\r\n" HOST "\r\n"), 400},
	{MSG("GET /a b HTTP/1.1\r\n" HOST "\r\n"), 400},
	{MSG("GET /a\x01 HTTP/1.1\r\n" HOST "\r\n"), 400},
	{MSG("GET /a\x7f HTTP/1.1\r\n" HOST "\r\n"), 400},
	{MSG("GET /a\0 HTTP/1.1\r\n" HOST "\r\n"), 400},
	{MSG("GET /\x80 HTTP/1.1\r\n" HOST "\r\n"), 400},
	{MSG("GET /a#frag HTTP/1.1\r\n" HOST "\r\n"), 400},
	{MSG("GET /%zz HTTP/1.1\r\n" HOST "\r\n"), 400},
	{MSG("GET /%4 HTTP/1.1\r\n" HOST "\r\n"), 400},
	{MSG("GET * HTTP/1.1\r\n" HOST "\r\n"), 400},
	{MSG("OPTIONS *x HTTP/1.1\r\n" HOST "\r\n"), 400},
	{MSG("GET a/b HTTP/1.1\r\n" HOST "\r\n"), 400},
	{MSG("CONNECT /x HTTP/1.1\r\n" HOST "\r\n"), 400},
	{MSG("CONNECT example.com HTTP/1.1\r\n" HOST "\r\n"), 400},
	{MSG("CONNECT example.com:0 HTTP/1.1\r\n" HOST "\r\n"), 400},
	{MSG("CONNECT example.com:65536 HTTP/1.1\r\n" HOST "\r\n"), 400},
	{MSG("CONNECT http://a:1/ HTTP/1.1\r\n" HOST "\r\n"), 400},
	{MSG("GET example.com:80 HTTP/1.1\r\n" HOST "\r\n"), 400},
	{MSG("GET http://user@a/ HTTP/1.1\r\n" HOST "\r\n"), 400},
	{MSG("GET http:///x HTTP/1.1\r\n" HOST "\r\n"), 400},
	{MSG("GET http:/a/x HTTP/1.1\r\n" HOST "\r\n"), 400},
	{MSG("GET http://a:/ HTTP/1.1\r\n" HOST "\r\n"), 400},
	{MSG("\n"
	     "GET / HTTP/1.1\r\n" HOST "\r\n"),
	 400},
	{MSG("\r\r"
	     "GET / HTTP/1.1\r\n" HOST "\r\n"),
	 400},
	{MSG("\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n" HOST "\r\n"), 400},
	{MSG("GET / HTTP/1.1\nHost: a\n\n"), 400},
	{MSG("GET / HTTP/1.1\rHost: a\r\n\r\n"), 400},

	/* Host */
	{MSG("GET / HTTP/1.1\r\n\r\n"), 400},
	{MSG("GET / HTTP/1.1\r\nX: y\r\n\r\n"), 400},
	{MSG("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), 400},
	{MSG("GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n"), 400},
	{MSG("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), 400},
	{MSG("GET / HTTP/1.1\r\nHost: a:\r\n\r\n"), 400},
	{MSG("GET / HTTP/1.1\r\nHost: a:99999\r\n\r\n"), 400},
	{MSG("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"), 400},
	{MSG("GET / HTTP/1.1\r\nHost: [::1\r\n\r\n"), 400},
	{MSG("GET / HTTP/1.1\r\nHost: :80\r\n\r\n"), 400},
	{MSG("GET / HTTP/1.1\r\nHost: u@a\r\n\r\n"), 400},

	/* framing */
	{MSG("POST / HTTP/1.1\r\n" HOST
	     "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"
	     "\r\n"),
	 400},
	{MSG("POST / HTTP/1.1\r\n" HOST
	     "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"
	     "\r\n"),
	 400},
	{MSG("POST / HTTP/1.1\r\n" HOST "Content-Length: 5\r\nContent-Length: 6\r\n\r\n"),
	 400},
	{MSG("POST / HTTP/1.1\r\n" HOST "Content-Length: abc\r\n\r\n"), 400},
	{MSG("POST / HTTP/1.1\r\n" HOST "Content-Length: -1\r\n\r\n"), 400},
	{MSG("POST / HTTP/1.1\r\n" HOST "Content-Length: +5\r\n\r\n"), 400},
	{MSG("POST / HTTP/1.1\r\n" HOST "Content-Length: 5, 5\r\n\r\n"), 400},
	{MSG("POST / HTTP/1.1\r\n" HOST "Content-Length: 5 5\r\n\r\n"), 400},
	{MSG("POST / HTTP/1.1\r\n" HOST "Content-Length:\r\n\r\n"), 400},
	{MSG("POST / HTTP/1.1\r\n" HOST "Content-Length: 0x10\r\n\r\n"), 400},
	{MSG("POST / HTTP/1.1\r\n" HOST "Content-Length: 9223372036854775808\r\n\r\n"),
	 400},
	{MSG("POST / HTTP/1.1\r\n" HOST
	     "Content-Length: 99999999999999999999999\r\n\r\n"),
	 400},
	{MSG("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: gzip\r\n\r\n"), 400},
	{MSG("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked, gzip\r\n\r\n"), 400},
	{MSG("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked, chunked\r\n\r\n"),
	 400},
	{MSG("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\n"
	     "Transfer-Encoding: chunked\r\n\r\n"),
	 400},
	{MSG("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: gzip, chunked\r\n\r\n"), 501},
	{MSG("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: x;q=\"1\", chunked\r\n\r\n"),
	 501},
	{MSG("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked;q=1\r\n\r\n"), 400},
	{MSG("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked x\r\n\r\n"), 400},
	{MSG("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: \"chunked\"\r\n\r\n"), 400},
	{MSG("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding:\r\n\r\n"), 400},
	{MSG("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), 400},
	{MSG("CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\nContent-Length: 5\r\n\r\n"), 400},
	{MSG("CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\nTransfer-Encoding: chunked\r\n\r\n"),
	 400},

	/* field lines */
	{MSG("GET / HTTP/1.1\r\n" HOST "X: a\r\n b\r\n\r\n"), 400},
	{MSG("GET / HTTP/1.1\r\n" HOST "X: a\r\n\tb\r\n\r\n"), 400},
	{MSG("GET / HTTP/1.1\r\n Host: a\r\n\r\n"), 400},
	{MSG("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), 400},
	{MSG("GET / HTTP/1.1\r\n" HOST "Content-Length\t: 1\r\n\r\n"), 400},
	{MSG("GET / HTTP/1.1\r\n" HOST "X Y: a\r\n\r\n"), 400},
	{MSG("GET / HTTP/1.1\r\n" HOST "X(: a\r\n\r\n"), 400},
	{MSG("GET / HTTP/1.1\r\n" HOST "X\x7f: a\r\n\r\n"), 400},
	{MSG("GET / HTTP/1.1\r\n" HOST ": a\r\n\r\n"), 400},
	{MSG("GET / HTTP/1.1\r\n" HOST "NoColon\r\n\r\n"), 400},
	{MSG("GET / HTTP/1.1\r\n" HOST "X: a\rb\r\n\r\n"), 400},
	{MSG("GET / HTTP/1.1\r\n" HOST "X: a\nY: b\r\n\r\n"), 400},
	{MSG("GET / HTTP/1.1\r\n" HOST "X: a\r\n\n"), 400},
	{MSG("GET / HTTP/1.1\r\n" HOST "X: a\r\n\r"
	     "X"),
	 400},
	{MSG("GET / HTTP/1.1\r\n" HOST "X: a\0b\r\n\r\n"), 400},
	{MSG("GET / HTTP/1.1\r\n" HOST "X: a\x01"
	     "b\r\n\r\n"),
	 400},
	{MSG("GET / HTTP/1.1\r\n" HOST "X: a\x1b[0m\r\n\r\n"), 400},
	{MSG("GET / HTTP/1.1\r\n" HOST "X: a\x7f\r\n\r\n"), 400},
	{MSG("GET / HTTP/1.1\r\n" HOST "X\0: a\r\n\r\n"), 400},
	{MSG("GET / HTTP/1.1\r\n" HOST "Connection: close, (x)\r\n\r\n"), 400},
	{MSG("GET / HTTP/1.1\r\n" HOST "Connection: close x\r\n\r\n"), 400},
};

static void check_req_case(const struct req_case *c, unsigned idx)
{
	char what[64];
	int ret = parse_req(c->msg, c->len, NULL, &req_);

	snprintf(what, sizeof(what), "request case %u", idx);
	if (c->status == 0) {
		if (ret != (int)c->len) {
			fprintf(stderr, "\n%s: got %d (%u %s)\n", what, ret,
				req_.err_status, req_.err ? req_.err : "");
			CU_FAIL(what);
		}
	} else if (ret != -EBADMSG || req_.err_status != c->status || !req_.err) {
		fprintf(stderr, "\n%s: got %d status %u, want %d\n", what, ret,
			req_.err_status, c->status);
		CU_FAIL(what);
	}
}

static void test_request_table(void)
{
	unsigned valid = 0, invalid = 0;

	for (unsigned i = 0; i < ARRAY_SIZE(req_cases); i++) {
		check_req_case(&req_cases[i], i);
		if (req_cases[i].status)
			invalid++;
		else
			valid++;
	}
	CU_ASSERT(valid >= 30);
	CU_ASSERT(invalid >= 60);
}

/*
 * Every prefix of a message is -EAGAIN, or -EBADMSG with the full message's
 * status once the fault is inside it; a valid message's full parse is the
 * same whether or not shorter prefixes were tried first.
 */
static void test_request_every_prefix_is_eagain_or_same_error(void)
{
	for (unsigned i = 0; i < ARRAY_SIZE(req_cases); i++) {
		const struct req_case *c = &req_cases[i];

		for (size_t k = 0; k < c->len; k++) {
			int ret = parse_req(c->msg, k, NULL, &req_);

			if (c->status == 0 && ret != -EAGAIN) {
				fprintf(stderr, "\ncase %u prefix %zu: %d\n", i, k, ret);
				CU_FAIL("prefix of a valid head is not -EAGAIN");
			} else if (c->status && ret != -EAGAIN &&
				   (ret != -EBADMSG || req_.err_status != c->status)) {
				fprintf(stderr, "\ncase %u prefix %zu: %d %u\n", i, k,
					ret, req_.err_status);
				CU_FAIL("prefix of an invalid head fails differently");
			}
		}
		check_req_case(c, i);
	}
}

static void test_request_byte_at_a_time_parses_the_same(void)
{
	static const char msg[] = "POST http://example.com:8080/f?x=1 HTTP/1.1\r\n"
				  "Host: example.com:8080\r\nUser-Agent: t\r\n"
				  "Content-Length: 12\r\nConnection: keep-alive\r\n\r\n";
	size_t n = sizeof(msg) - 1;
	char *buf = malloc(n);
	int ret = -EAGAIN;

	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	CU_ASSERT_EQUAL_FATAL(rp__http_parse_request(msg, n, NULL, &req2_), (int)n);
	/* Grow one buffer byte by byte, as a socket would fill it. */
	for (size_t k = 0; k <= n; k++) {
		if (k)
			buf[k - 1] = msg[k - 1];
		ret = rp__http_parse_request(buf, k, NULL, &req_);
		if (k < n)
			CU_ASSERT_EQUAL(ret, -EAGAIN);
	}
	CU_ASSERT_EQUAL(ret, (int)n);
	CU_ASSERT_EQUAL(req_.nheaders, req2_.nheaders);
	CU_ASSERT_EQUAL(memcmp(req_.headers, req2_.headers,
			       req_.nheaders * sizeof(req_.headers[0])),
			0);
	CU_ASSERT_EQUAL(memcmp(&req_, &req2_, offsetof(struct rp_http_request, nheaders)),
			0);
	free(buf);
}

/* ---- what a parsed request says ------------------------------------------ */

static void test_request_fields_and_spans(void)
{
	static const char msg[] = "GET /index.html?a=b HTTP/1.1\r\n"
				  "Host: www.example.com\r\n"
				  "User-Agent:   Mozilla/5.0 (X11)  \r\n"
				  "Accept: */*\r\n"
				  "X-Empty: \r\n\r\n";
	const char *b = msg;

	CU_ASSERT_EQUAL_FATAL(rp__http_parse_request(msg, sizeof(msg) - 1, NULL, &req_),
			      (int)sizeof(msg) - 1);
	CU_ASSERT(span_is(b, req_.method, "GET"));
	CU_ASSERT_EQUAL(req_.method_id, RP_HTTP_GET);
	CU_ASSERT(span_is(b, req_.target, "/index.html?a=b"));
	CU_ASSERT(span_is(b, req_.path, "/index.html?a=b"));
	CU_ASSERT_EQUAL(req_.form, RP_HTTP_ORIGIN_FORM);
	CU_ASSERT_EQUAL(req_.scheme_id, RP_HTTP_SCHEME_NONE);
	CU_ASSERT_EQUAL(req_.minor, 1);
	CU_ASSERT_EQUAL_FATAL(req_.nheaders, 4);
	CU_ASSERT(span_is(b, req_.headers[1].name, "User-Agent"));
	CU_ASSERT(span_is(b, req_.headers[1].value, "Mozilla/5.0 (X11)"));
	CU_ASSERT(span_is(b, req_.headers[3].name, "X-Empty"));
	CU_ASSERT_EQUAL(req_.headers[3].value.len, 0);
	CU_ASSERT_EQUAL(req_.headers[0].id, RP_HTTP_HDR_HOST);
	CU_ASSERT(span_is(b, req_.host, "www.example.com"));
	CU_ASSERT(req_.has_host);
	CU_ASSERT_EQUAL(req_.body, RP_HTTP_BODY_NONE);
	CU_ASSERT_EQUAL(req_.content_length, RP_HTTP_NO_LENGTH);
	CU_ASSERT(req_.keep_alive);
	CU_ASSERT(!req_.chunked);
	CU_ASSERT(!req_.expect_continue);
	CU_ASSERT_PTR_NULL(req_.err);
	CU_ASSERT_EQUAL(req_.err_status, 0);
}

static void test_request_method_ids_are_case_sensitive(void)
{
	static const struct {
		const char *m;
		enum rp_http_method id;
	} cases[] = {
		{"GET", RP_HTTP_GET},	    {"HEAD", RP_HTTP_HEAD},
		{"POST", RP_HTTP_POST},	    {"PUT", RP_HTTP_PUT},
		{"DELETE", RP_HTTP_DELETE}, {"OPTIONS", RP_HTTP_OPTIONS},
		{"TRACE", RP_HTTP_TRACE},   {"PATCH", RP_HTTP_PATCH},
		{"get", RP_HTTP_OTHER},	    {"Get", RP_HTTP_OTHER},
		{"GETS", RP_HTTP_OTHER},    {"PROPFIND", RP_HTTP_OTHER},
		{"connect", RP_HTTP_OTHER},
	};
	char buf[128];

	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
		int n = snprintf(buf, sizeof(buf), "%s / HTTP/1.1\r\nHost: a\r\n\r\n",
				 cases[i].m);

		CU_ASSERT_EQUAL(rp__http_parse_request(buf, (size_t)n, NULL, &req_), n);
		CU_ASSERT_EQUAL(req_.method_id, cases[i].id);
		CU_ASSERT(span_is(buf, req_.method, cases[i].m));
	}
	CU_ASSERT_EQUAL(parse_req(MSG("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n"),
				  NULL, &req_),
			(int)sizeof("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n") - 1);
	CU_ASSERT_EQUAL(req_.method_id, RP_HTTP_CONNECT);
}

static void test_request_absolute_form_split(void)
{
	static const char msg[] = "GET HTTP://Example.com:8080/a/b?c=d HTTP/1.1\r\n"
				  "Host: example.COM:8080\r\n\r\n";
	static const char bare[] = "GET https://example.com?q HTTP/1.0\r\n\r\n";
	static const char v6[] = "GET http://[2001:db8::1]/ HTTP/1.1\r\n"
				 "Host: [2001:db8::1]\r\n\r\n";
	static const char ftp[] = "GET ftp://files.example/x HTTP/1.0\r\n\r\n";

	CU_ASSERT_EQUAL_FATAL(rp__http_parse_request(msg, sizeof(msg) - 1, NULL, &req_),
			      (int)sizeof(msg) - 1);
	CU_ASSERT_EQUAL(req_.form, RP_HTTP_ABSOLUTE_FORM);
	CU_ASSERT_EQUAL(req_.scheme_id, RP_HTTP_SCHEME_HTTP);
	CU_ASSERT(span_is(msg, req_.scheme, "HTTP"));
	CU_ASSERT(span_is(msg, req_.authority, "Example.com:8080"));
	CU_ASSERT(span_is(msg, req_.target_host, "Example.com"));
	CU_ASSERT_EQUAL(req_.port, 8080);
	CU_ASSERT(span_is(msg, req_.path, "/a/b?c=d"));
	/* The target's authority is the host, not the Host field. */
	CU_ASSERT(span_is(msg, req_.host, "Example.com:8080"));

	CU_ASSERT_EQUAL_FATAL(rp__http_parse_request(bare, sizeof(bare) - 1, NULL, &req_),
			      (int)sizeof(bare) - 1);
	CU_ASSERT_EQUAL(req_.scheme_id, RP_HTTP_SCHEME_HTTPS);
	CU_ASSERT(span_is(bare, req_.host, "example.com"));
	CU_ASSERT_EQUAL(req_.port, 0);
	CU_ASSERT(span_is(bare, req_.path, "?q"));
	CU_ASSERT(!req_.has_host);

	CU_ASSERT_EQUAL_FATAL(rp__http_parse_request(v6, sizeof(v6) - 1, NULL, &req_),
			      (int)sizeof(v6) - 1);
	CU_ASSERT(span_is(v6, req_.target_host, "[2001:db8::1]"));
	CU_ASSERT(span_is(v6, req_.path, "/"));

	CU_ASSERT_EQUAL_FATAL(rp__http_parse_request(ftp, sizeof(ftp) - 1, NULL, &req_),
			      (int)sizeof(ftp) - 1);
	CU_ASSERT_EQUAL(req_.scheme_id, RP_HTTP_SCHEME_OTHER);
}

/* RFC 9112 section 3.2.2: the target's authority is the host, Host is
 * ignored, and whether it named another authority is told; a default port is
 * the same authority (siege, ab and aria2c send "http://h:80/" with "h"). */
static void test_request_absolute_form_host_is_ignored(void)
{
	static const struct {
		const char *msg;
		bool differs;
	} cases[] = {
		{"GET http://example.test:80/x HTTP/1.1\r\nHost: example.test\r\n\r\n",
		 false},
		{"GET http://example.test/x HTTP/1.1\r\nHost: example.test:80\r\n\r\n",
		 false},
		{"GET http://Example.Test:80/ HTTP/1.1\r\nHost: example.TEST:80\r\n\r\n",
		 false},
		{"GET https://h/ HTTP/1.1\r\nHost: h:443\r\n\r\n", false},
		{"GET http://[::1]:80/ HTTP/1.1\r\nHost: [::1]\r\n\r\n", false},
		{"GET http://h:8080/ HTTP/1.1\r\nHost: h:8080\r\n\r\n", false},
		{"GET http://h/ HTTP/1.0\r\n\r\n", false},
		{"GET http://b/ HTTP/1.1\r\nHost: a\r\n\r\n", true},
		{"GET http://h:8080/ HTTP/1.1\r\nHost: h\r\n\r\n", true},
		{"GET http://h/ HTTP/1.1\r\nHost: h:8080\r\n\r\n", true},
		{"GET https://h:80/ HTTP/1.1\r\nHost: h\r\n\r\n", true},
		{"GET http://h:443/ HTTP/1.1\r\nHost: h:80\r\n\r\n", true},
		{"GET ftp://h:21/ HTTP/1.1\r\nHost: h\r\n\r\n", true},
		{"GET http://h/ HTTP/1.1\r\nHost:\r\n\r\n", true},
		{"GET http://h.example/ HTTP/1.1\r\nHost: h\r\n\r\n", true},
	};

	for (unsigned i = 0; i < (sizeof(cases) / sizeof(cases[0])); i++) {
		const char *m = cases[i].msg;
		int n = rp__http_parse_request(m, strlen(m), NULL, &req_);

		CU_ASSERT_EQUAL(n, (int)strlen(m));
		if (n != (int)strlen(m) || req_.host_differs != cases[i].differs)
			fprintf(stderr, "case %u: %s: %d, differs %d\n", i, m, n,
				req_.host_differs);
		CU_ASSERT_EQUAL(req_.host_differs, cases[i].differs);
		CU_ASSERT_EQUAL(req_.host.off, req_.authority.off);
		CU_ASSERT_EQUAL(req_.host.len, req_.authority.len);
	}
	/* Origin-form never differs: Host is the host. */
	CU_ASSERT_EQUAL(rp__http_parse_request("GET / HTTP/1.1\r\nHost: a\r\n\r\n", 27,
					       NULL, &req_),
			27);
	CU_ASSERT(!req_.host_differs);
}

static void test_request_connect_and_asterisk_forms(void)
{
	static const char con[] = "CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n";
	static const char opt[] = "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n";
	static const char opt_path[] = "OPTIONS /x HTTP/1.1\r\nHost: a\r\n\r\n";

	CU_ASSERT_EQUAL_FATAL(rp__http_parse_request(con, sizeof(con) - 1, NULL, &req_),
			      (int)sizeof(con) - 1);
	CU_ASSERT_EQUAL(req_.form, RP_HTTP_AUTHORITY_FORM);
	CU_ASSERT(span_is(con, req_.authority, "[::1]:443"));
	CU_ASSERT(span_is(con, req_.target_host, "[::1]"));
	CU_ASSERT_EQUAL(req_.port, 443);
	CU_ASSERT(span_is(con, req_.host, "[::1]:443"));
	CU_ASSERT_EQUAL(req_.body, RP_HTTP_BODY_NONE);

	CU_ASSERT_EQUAL_FATAL(rp__http_parse_request(opt, sizeof(opt) - 1, NULL, &req_),
			      (int)sizeof(opt) - 1);
	CU_ASSERT_EQUAL(req_.form, RP_HTTP_ASTERISK_FORM);
	CU_ASSERT_EQUAL(req_.path.len, 0);
	CU_ASSERT_EQUAL(
		rp__http_parse_request(opt_path, sizeof(opt_path) - 1, NULL, &req_),
		(int)sizeof(opt_path) - 1);
	CU_ASSERT_EQUAL(req_.form, RP_HTTP_ORIGIN_FORM);
}

static void test_request_framing_facts(void)
{
	static const char cl[] = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 42\r\n"
				 "content-length: 042\r\n\r\nbody...";
	static const char te[] = "POST / HTTP/1.1\r\nHost: a\r\n"
				 "Transfer-Encoding: chunked\r\n\r\n";
	static const char zero[] =
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n";
	static const char big[] = "PUT / HTTP/1.1\r\nHost: a\r\n"
				  "Content-Length: 9223372036854775807\r\n\r\n";

	CU_ASSERT_EQUAL_FATAL(rp__http_parse_request(cl, sizeof(cl) - 1, NULL, &req_),
			      (int)sizeof(cl) - 1 - 7);
	CU_ASSERT_EQUAL(req_.content_length, 42);
	CU_ASSERT_EQUAL(req_.body, RP_HTTP_BODY_LENGTH);
	CU_ASSERT(!req_.chunked);

	CU_ASSERT_EQUAL_FATAL(rp__http_parse_request(te, sizeof(te) - 1, NULL, &req_),
			      (int)sizeof(te) - 1);
	CU_ASSERT(req_.chunked);
	CU_ASSERT_EQUAL(req_.body, RP_HTTP_BODY_CHUNKED);
	CU_ASSERT_EQUAL(req_.content_length, RP_HTTP_NO_LENGTH);

	CU_ASSERT_EQUAL_FATAL(rp__http_parse_request(zero, sizeof(zero) - 1, NULL, &req_),
			      (int)sizeof(zero) - 1);
	CU_ASSERT_EQUAL(req_.content_length, 0);
	CU_ASSERT_EQUAL(req_.body, RP_HTTP_BODY_NONE);

	CU_ASSERT_EQUAL_FATAL(rp__http_parse_request(big, sizeof(big) - 1, NULL, &req_),
			      (int)sizeof(big) - 1);
	CU_ASSERT_EQUAL(req_.content_length, INT64_MAX);
}

static void test_request_connection_and_keep_alive(void)
{
	static const struct {
		const char *msg;
		bool keep_alive, close, ka, upgrade_opt, upgrade, expect;
	} cases[] = {
		{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 1, 0, 0, 0, 0, 0},
		{"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 0, 1, 0, 0, 0,
		 0},
		{"GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive\r\n"
		 "Connection: CLOSE\r\n\r\n",
		 0, 1, 1, 0, 0, 0},
		{"GET / HTTP/1.0\r\n\r\n", 0, 0, 0, 0, 0, 0},
		{"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 1, 0, 1, 0, 0, 0},
		{"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", 0, 1, 1, 0, 0,
		 0},
		{"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: "
		 "h2c\r\n\r\n",
		 1, 0, 0, 1, 1, 0},
		{"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n", 1, 0, 0, 0, 1,
		 0},
		{"PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n\r\n", 1, 0, 0, 0,
		 0, 1},
		{"PUT / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", 0, 0, 0, 0, 0, 0},
		{"PUT / HTTP/1.1\r\nHost: a\r\nExpect: something-else\r\n\r\n", 1, 0, 0,
		 0, 0, 0},
	};

	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t n = strlen(cases[i].msg);

		CU_ASSERT_EQUAL_FATAL(parse_req(cases[i].msg, n, NULL, &req_), (int)n);
		CU_ASSERT_EQUAL(req_.keep_alive, cases[i].keep_alive);
		CU_ASSERT_EQUAL(req_.conn_close, cases[i].close);
		CU_ASSERT_EQUAL(req_.conn_keep_alive, cases[i].ka);
		CU_ASSERT_EQUAL(req_.conn_upgrade, cases[i].upgrade_opt);
		CU_ASSERT_EQUAL(req_.upgrade, cases[i].upgrade);
		CU_ASSERT_EQUAL(req_.expect_continue, cases[i].expect);
	}
}

static void test_request_connection_marks_hop_by_hop(void)
{
	static const char msg[] = "GET / HTTP/1.1\r\nHost: a\r\n"
				  "Connection: x-secret, Content-Length, HOST\r\n"
				  "X-Secret: 1\r\nX-Public: 2\r\nKeep-Alive: 5\r\n"
				  "Content-Length: 0\r\nTE: trailers\r\n"
				  "Proxy-Authorization: Basic x\r\n\r\n";
	const struct rp_http_header *h = req_.headers;
	static const char *const hop[] = {"Connection", "X-Secret", "Keep-Alive", "TE",
					  "Proxy-Authorization"};
	static const char *const kept[] = {"Host", "X-Public", "Content-Length"};
	int i;

	CU_ASSERT_EQUAL_FATAL(rp__http_parse_request(msg, sizeof(msg) - 1, NULL, &req_),
			      (int)sizeof(msg) - 1);
	for (unsigned k = 0; k < ARRAY_SIZE(hop); k++) {
		i = rp__http_find_header(msg, h, req_.nheaders, hop[k], strlen(hop[k]),
					 0);
		CU_ASSERT_FATAL(i >= 0);
		CU_ASSERT(rp__http_is_hop_by_hop(&h[i]));
	}
	/* Host and Content-Length cannot be stripped through Connection. */
	for (unsigned k = 0; k < ARRAY_SIZE(kept); k++) {
		i = rp__http_find_header(msg, h, req_.nheaders, kept[k], strlen(kept[k]),
					 0);
		CU_ASSERT_FATAL(i >= 0);
		CU_ASSERT(!rp__http_is_hop_by_hop(&h[i]));
	}
}

static void test_request_too_many_connection_options(void)
{
	char buf[1024];
	int n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\nConnection: ");

	for (int i = 0; i < RP_HTTP_MAX_CONN_OPTIONS; i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "o%d,", i);
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, "\r\n\r\n");
	CU_ASSERT_EQUAL(parse_req(buf, (size_t)n, NULL, &req_), n);
	n -= 4;
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, "one-more\r\n\r\n");
	CU_ASSERT_EQUAL(parse_req(buf, (size_t)n, NULL, &req_), -EBADMSG);
	CU_ASSERT_EQUAL(req_.err_status, 400);
}

static void test_request_pipelined_stops_at_head_end(void)
{
	static const char msg[] = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
				  "GET /2 HTTP/1.1\r\nHost: a\r\n\r\n";
	int first = (int)(sizeof(msg) - 1) / 2;

	CU_ASSERT_EQUAL_FATAL(rp__http_parse_request(msg, sizeof(msg) - 1, NULL, &req_),
			      first);
	CU_ASSERT(span_is(msg, req_.target, "/1"));
	CU_ASSERT_EQUAL_FATAL(rp__http_parse_request(msg + first,
						     sizeof(msg) - 1 - (size_t)first,
						     NULL, &req_),
			      first);
	CU_ASSERT(span_is(msg + first, req_.target, "/2"));
}

/* ---- limits ---------------------------------------------------------------- */

/* A head of exactly @total bytes: a request line, Host, and one X-Pad line. */
static size_t padded_head(char *buf, size_t total)
{
	static const char start[] = "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: ";
	size_t fixed = sizeof(start) - 1 + 4;

	memcpy(buf, start, sizeof(start) - 1);
	memset(buf + sizeof(start) - 1, 'p', total - fixed);
	memcpy(buf + total - 4, "\r\n\r\n", 4);
	return total;
}

static void test_limits_head_bytes(void)
{
	struct rp_http_limits lim = rp__http_limits_default;
	char *buf = malloc(70000);

	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	CU_ASSERT_EQUAL(lim.max_head, 16384);
	CU_ASSERT_EQUAL(lim.max_headers, 100);
	CU_ASSERT_EQUAL(lim.max_target, 8192);
	/* Exactly at the limit: fine, also with more bytes after it. */
	padded_head(buf, 16384);
	CU_ASSERT_EQUAL(rp__http_parse_request(buf, 16384, NULL, &req_), 16384);
	CU_ASSERT_EQUAL(rp__http_parse_request(buf, 20000, NULL, &req_), 16384);
	/* One over: 431, complete or not. */
	padded_head(buf, 16385);
	CU_ASSERT_EQUAL(rp__http_parse_request(buf, 16385, NULL, &req_), -EBADMSG);
	CU_ASSERT_EQUAL(req_.err_status, 431);
	CU_ASSERT_EQUAL(rp__http_parse_request(buf, 16384, NULL, &req_), -EBADMSG);
	CU_ASSERT_EQUAL(req_.err_status, 431);
	CU_ASSERT_EQUAL(rp__http_parse_request(buf, 16383, NULL, &req_), -EAGAIN);
	/* A larger configured limit takes it. */
	lim.max_head = 65536;
	padded_head(buf, 65536);
	CU_ASSERT_EQUAL(rp__http_parse_request(buf, 65536, &lim, &req_), 65536);
	padded_head(buf, 65537);
	CU_ASSERT_EQUAL(rp__http_parse_request(buf, 65537, &lim, &req_), -EBADMSG);
	CU_ASSERT_EQUAL(req_.err_status, 431);
	free(buf);
}

static void test_limits_header_count(void)
{
	struct rp_http_limits lim = rp__http_limits_default;
	char buf[4096];
	int n;

	lim.max_headers = 3;
	n = snprintf(buf, sizeof(buf),
		     "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n");
	CU_ASSERT_EQUAL(parse_req(buf, (size_t)n, &lim, &req_), n);
	CU_ASSERT_EQUAL(req_.nheaders, 3);
	n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC");
	/* Still incomplete, but a fourth line has started: 431 now. */
	CU_ASSERT_EQUAL(parse_req(buf, (size_t)n, &lim, &req_), -EBADMSG);
	CU_ASSERT_EQUAL(req_.err_status, 431);
	/* The default: 100 lines pass, 101 do not. */
	n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\n");
	for (int i = 1; i < 100; i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "X%d: v\r\n", i);
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, "\r\n");
	CU_ASSERT_EQUAL(parse_req(buf, (size_t)n, NULL, &req_), n);
	CU_ASSERT_EQUAL(req_.nheaders, 100);
	n -= 2;
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, "X: v\r\n\r\n");
	CU_ASSERT_EQUAL(parse_req(buf, (size_t)n, NULL, &req_), -EBADMSG);
	CU_ASSERT_EQUAL(req_.err_status, 431);
	/* A limit above the array is clamped to it. */
	lim.max_headers = 100000;
	n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\n");
	for (int i = 1; i <= RP_HTTP_MAX_HEADERS; i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "X%d: v\r\n", i);
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, "\r\n");
	CU_ASSERT_EQUAL(parse_req(buf, (size_t)n, &lim, &req_), -EBADMSG);
	CU_ASSERT_EQUAL(req_.err_status, 431);
}

static void test_limits_target_length(void)
{
	struct rp_http_limits lim = rp__http_limits_default;
	char buf[20000];
	int n;

	lim.max_target = 16;
	n = snprintf(buf, sizeof(buf),
		     "GET /aaaaaaaaaaaaaaa HTTP/1.1\r\nHost: a\r\n\r\n");
	CU_ASSERT_EQUAL(parse_req(buf, (size_t)n, &lim, &req_), n);
	n = snprintf(buf, sizeof(buf),
		     "GET /aaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: a\r\n\r\n");
	CU_ASSERT_EQUAL(parse_req(buf, (size_t)n, &lim, &req_), -EBADMSG);
	CU_ASSERT_EQUAL(req_.err_status, 414);
	/* Known before the target ends. */
	n = snprintf(buf, sizeof(buf), "GET /aaaaaaaaaaaaaaaa");
	CU_ASSERT_EQUAL(parse_req(buf, (size_t)n, &lim, &req_), -EBADMSG);
	CU_ASSERT_EQUAL(req_.err_status, 414);
	/* A percent-escape that crosses the limit. */
	n = snprintf(buf, sizeof(buf),
		     "GET /aaaaaaaaaaaaa%%41 HTTP/1.1\r\nHost: a\r\n\r\n");
	CU_ASSERT_EQUAL(parse_req(buf, (size_t)n, &lim, &req_), -EBADMSG);
	CU_ASSERT_EQUAL(req_.err_status, 414);
	/* The default, 8 KiB. */
	memcpy(buf, "GET /", 5);
	memset(buf + 5, 'x', 8191);
	CU_ASSERT_EQUAL(parse_req(buf, 5 + 8191, NULL, &req_), -EAGAIN);
	buf[5 + 8191] = 'x';
	CU_ASSERT_EQUAL(parse_req(buf, 5 + 8192, NULL, &req_), -EBADMSG);
	CU_ASSERT_EQUAL(req_.err_status, 414);
	/* A request line longer than the whole head limit (a huge method). */
	memset(buf, 'M', 16384);
	CU_ASSERT_EQUAL(parse_req(buf, 16383, NULL, &req_), -EAGAIN);
	CU_ASSERT_EQUAL(parse_req(buf, 16384, NULL, &req_), -EBADMSG);
	CU_ASSERT_EQUAL(req_.err_status, 414);
}

/* ---- responses ------------------------------------------------------------- */

struct resp_case {
	const char *msg;
	size_t len;
	enum rp_http_method method;
	int ok; /* 1: parses; 0: -EBADMSG */
	enum rp_http_body body;
	int64_t length;
	bool keep_alive;
};

static const struct resp_case resp_cases[] = {
	{MSG("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"), RP_HTTP_GET, 1,
	 RP_HTTP_BODY_LENGTH, 5, 1},
	{MSG("HTTP/1.1 200 OK\r\n\r\n"), RP_HTTP_GET, 1, RP_HTTP_BODY_CLOSE, -1, 0},
	{MSG("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), RP_HTTP_GET, 1,
	 RP_HTTP_BODY_NONE, 0, 1},
	{MSG("HTTP/1.1 204 No Content\r\n\r\n"), RP_HTTP_GET, 1, RP_HTTP_BODY_NONE, -1,
	 1},
	{MSG("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"), RP_HTTP_DELETE, 1,
	 RP_HTTP_BODY_NONE, 0, 1},
	{MSG("HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n"), RP_HTTP_GET, 1,
	 RP_HTTP_BODY_NONE, 100, 1},
	{MSG("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"), RP_HTTP_HEAD, 1,
	 RP_HTTP_BODY_NONE, 100, 1},
	{MSG("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), RP_HTTP_HEAD, 1,
	 RP_HTTP_BODY_NONE, -1, 1},
	{MSG("HTTP/1.1 100 Continue\r\n\r\n"), RP_HTTP_PUT, 1, RP_HTTP_BODY_NONE, -1, 1},
	{MSG("HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"), RP_HTTP_GET, 1,
	 RP_HTTP_BODY_NONE, -1, 1},
	{MSG("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	     "Connection: Upgrade\r\n\r\n"),
	 RP_HTTP_GET, 1, RP_HTTP_BODY_TUNNEL, -1, 0},
	{MSG("HTTP/1.1 200 Connection established\r\n\r\n"), RP_HTTP_CONNECT, 1,
	 RP_HTTP_BODY_TUNNEL, -1, 0},
	{MSG("HTTP/1.1 407 Proxy Auth\r\nContent-Length: 3\r\n\r\n"), RP_HTTP_CONNECT, 1,
	 RP_HTTP_BODY_LENGTH, 3, 1},
	{MSG("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), RP_HTTP_GET, 1,
	 RP_HTTP_BODY_CHUNKED, -1, 1},
	{MSG("HTTP/1.1 200 OK\r\nTransfer-Encoding: CHUNKED\r\n\r\n"), RP_HTTP_POST, 1,
	 RP_HTTP_BODY_CHUNKED, -1, 1},
	{MSG("HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\n"), RP_HTTP_GET, 1,
	 RP_HTTP_BODY_LENGTH, 3, 0},
	{MSG("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\n"),
	 RP_HTTP_GET, 1, RP_HTTP_BODY_LENGTH, 3, 1},
	{MSG("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\n"),
	 RP_HTTP_GET, 1, RP_HTTP_BODY_LENGTH, 3, 0},
	{MSG("HTTP/1.1 200\r\nContent-Length: 1\r\n\r\n"), RP_HTTP_GET, 1,
	 RP_HTTP_BODY_LENGTH, 1, 1},
	{MSG("HTTP/1.1 200 \r\nContent-Length: 1\r\n\r\n"), RP_HTTP_GET, 1,
	 RP_HTTP_BODY_LENGTH, 1, 1},
	{MSG("HTTP/1.1 599 Whatever \x80\t!\r\n\r\n"), RP_HTTP_GET, 1, RP_HTTP_BODY_CLOSE,
	 -1, 0},
	{MSG("HTTP/1.1 200 OK\r\nContent-Length: 7\r\nContent-Length: 7\r\n\r\n"),
	 RP_HTTP_GET, 1, RP_HTTP_BODY_LENGTH, 7, 1},

	{MSG("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: "
	     "chunked\r\n\r\n"),
	 RP_HTTP_GET, 0, 0, 0, 0},
	{MSG("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
	 RP_HTTP_GET, 0, 0, 0, 0},
	{MSG("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n"), RP_HTTP_GET, 0, 0, 0, 0},
	{MSG("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"), RP_HTTP_GET, 0, 0, 0,
	 0},
	{MSG("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), RP_HTTP_GET,
	 0, 0, 0, 0},
	{MSG("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"),
	 RP_HTTP_GET, 0, 0, 0, 0},
	{MSG("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), RP_HTTP_GET, 0, 0,
	 0, 0},
	{MSG("HTTP/2 200 OK\r\n\r\n"), RP_HTTP_GET, 0, 0, 0, 0},
	{MSG("HTTP/2.0 200 OK\r\n\r\n"), RP_HTTP_GET, 0, 0, 0, 0},
	{MSG("HTTP/1.1 99 Low\r\n\r\n"), RP_HTTP_GET, 0, 0, 0, 0},
	{MSG("HTTP/1.1 600 High\r\n\r\n"), RP_HTTP_GET, 0, 0, 0, 0},
	{MSG("HTTP/1.1 2000 OK\r\n\r\n"), RP_HTTP_GET, 0, 0, 0, 0},
	{MSG("HTTP/1.1  200 OK\r\n\r\n"), RP_HTTP_GET, 0, 0, 0, 0},
	{MSG("HTTP/1.1 200 O\x01K\r\n\r\n"), RP_HTTP_GET, 0, 0, 0, 0},
	{MSG("HTTP/1.1 200 OK\nContent-Length: 1\r\n\r\n"), RP_HTTP_GET, 0, 0, 0, 0},
	{MSG("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n"), RP_HTTP_GET, 0, 0, 0, 0},
	{MSG("HTTP/1.1 200 OK\r\nX : a\r\n\r\n"), RP_HTTP_GET, 0, 0, 0, 0},
	{MSG("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n"), RP_HTTP_GET, 0, 0, 0, 0},
	{MSG("\r\nHTTP/1.1 200 OK\r\n\r\n"), RP_HTTP_GET, 0, 0, 0, 0},
	{MSG("http/1.1 200 OK\r\n\r\n"), RP_HTTP_GET, 0, 0, 0, 0},
};

static void test_response_framing_table(void)
{
	for (unsigned i = 0; i < ARRAY_SIZE(resp_cases); i++) {
		const struct resp_case *c = &resp_cases[i];
		int ret = parse_resp(c->msg, c->len, c->method, &resp_);
		bool good;

		if (c->ok)
			good = ret == (int)c->len && resp_.body == c->body &&
			       resp_.content_length == c->length &&
			       resp_.keep_alive == c->keep_alive && !resp_.err;
		else
			good = ret == -EBADMSG && resp_.err;
		if (!good) {
			fprintf(stderr,
				"\nresponse case %u: ret %d body %d len %lld ka %d %s\n",
				i, ret, resp_.body, (long long)resp_.content_length,
				resp_.keep_alive, resp_.err ? resp_.err : "");
			CU_FAIL("response case");
		}
		for (size_t k = 0; k < c->len; k++) {
			ret = parse_resp(c->msg, k, c->method, &resp_);
			if (ret != -EAGAIN && (c->ok || ret != -EBADMSG))
				CU_FAIL("response prefix");
		}
	}
}

static void test_response_status_line_fields(void)
{
	static const char msg[] = "HTTP/1.0 404 Not  Found\r\nServer: x\r\n\r\nbody";

	CU_ASSERT_EQUAL_FATAL(
		rp__http_parse_response(msg, sizeof(msg) - 1, NULL, RP_HTTP_GET, &resp_),
		(int)sizeof(msg) - 1 - 4);
	CU_ASSERT_EQUAL(resp_.status, 404);
	CU_ASSERT_EQUAL(resp_.minor, 0);
	CU_ASSERT(span_is(msg, resp_.reason, "Not  Found"));
	CU_ASSERT_EQUAL(resp_.nheaders, 1);
	CU_ASSERT(span_is(msg, resp_.headers[0].value, "x"));
}

static void test_response_head_limit(void)
{
	char *buf = malloc(20000);

	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	memcpy(buf, "HTTP/1.1 200 OK\r\nX: ", 20);
	memset(buf + 20, 'v', 19980);
	CU_ASSERT_EQUAL(rp__http_parse_response(buf, 16383, NULL, RP_HTTP_GET, &resp_),
			-EAGAIN);
	CU_ASSERT_EQUAL(rp__http_parse_response(buf, 20000, NULL, RP_HTTP_GET, &resp_),
			-EBADMSG);
	CU_ASSERT_PTR_NOT_NULL(resp_.err);
	free(buf);
}

/* ---- chunked bodies ----------------------------------------------------- */

struct decoded {
	char data[4096];
	size_t len;
	size_t consumed;
	int err; /* 0 or -EBADMSG */
	bool done;
};

/* Feeds @msg to a fresh decoder in pieces cut at @cuts (ascending), each from
 * its own heap copy, and collects what comes out. */
static void decode_pieces(const char *msg, size_t n, const size_t *cuts, unsigned ncuts,
			  const struct rp_http_limits *lim, struct decoded *out)
{
	struct rp_http_chunked c;
	size_t from = 0;

	memset(out, 0, sizeof(*out));
	rp__http_chunked_init(&c, lim);
	for (unsigned k = 0; k <= ncuts && !out->err && !c.done; k++) {
		size_t to = k < ncuts ? cuts[k] : n, at = 0, len = to - from;
		char *piece = dup_bytes(msg + from, len);

		while (at < len && !c.done) {
			struct rp_http_span d;
			int ret = rp__http_chunked_decode(&c, piece + at, len - at, &d);

			if (ret < 0) {
				out->err = ret;
				CU_ASSERT_PTR_NOT_NULL(c.err);
				break;
			}
			CU_ASSERT((size_t)ret <= len - at);
			if (d.len) {
				CU_ASSERT_EQUAL(d.off + d.len, (uint32_t)ret);
				CU_ASSERT_FATAL(out->len + d.len <= sizeof(out->data));
				memcpy(out->data + out->len, piece + at + d.off, d.len);
				out->len += d.len;
			}
			CU_ASSERT_FATAL(ret > 0 || c.done);
			at += (size_t)ret;
			out->consumed += (size_t)ret;
		}
		free(piece);
		from = to;
	}
	out->done = c.done;
}

static void test_chunked_decodes_split_at_every_byte(void)
{
	static const char msg[] =
		"5\r\nhello\r\n"
		"6;name=value;q=\"a \\\"quoted\\\" ;x\" ; flag\r\n world\r\n"
		"00A  ;  ext  =  tok\r\n0123456789\r\n"
		"1\r\n!\r\n"
		"000\r\nX-Trailer: yes\r\nChecksum: \tabc\r\n\r\n"
		"GET /next";
	static const char payload[] = "hello world0123456789!";
	size_t n = sizeof(msg) - 1, body = n - 9;
	struct decoded whole, split;
	size_t cuts[2];

	decode_pieces(msg, n, NULL, 0, NULL, &whole);
	CU_ASSERT_EQUAL_FATAL(whole.err, 0);
	CU_ASSERT(whole.done);
	CU_ASSERT_EQUAL(whole.consumed, body);
	CU_ASSERT_EQUAL(whole.len, sizeof(payload) - 1);
	CU_ASSERT_EQUAL(memcmp(whole.data, payload, sizeof(payload) - 1), 0);

	for (size_t k = 0; k <= n; k++) {
		cuts[0] = k;
		decode_pieces(msg, n, cuts, 1, NULL, &split);
		CU_ASSERT_EQUAL(split.err, 0);
		CU_ASSERT(split.done);
		CU_ASSERT_EQUAL(split.consumed, body);
		CU_ASSERT_EQUAL(split.len, whole.len);
		CU_ASSERT_EQUAL(memcmp(split.data, whole.data, whole.len), 0);
		/* and split in three */
		cuts[1] = k + (n - k) / 2;
		decode_pieces(msg, n, cuts, 2, NULL, &split);
		CU_ASSERT(split.done && split.consumed == body && split.len == whole.len);
	}
	/* One byte at a time, each its own allocation. */
	{
		size_t *all = malloc(n * sizeof(*all));

		CU_ASSERT_PTR_NOT_NULL_FATAL(all);
		for (size_t k = 0; k < n; k++)
			all[k] = k + 1;
		decode_pieces(msg, n, all, (unsigned)n - 1, NULL, &split);
		CU_ASSERT(split.done && split.consumed == body && split.len == whole.len);
		CU_ASSERT_EQUAL(memcmp(split.data, whole.data, whole.len), 0);
		free(all);
	}
}

static void test_chunked_rejects_invalid(void)
{
	static const struct {
		const char *msg;
		size_t len;
	} bad[] = {
		{MSG("x\r\n")},
		{MSG("\r\n")},
		{MSG(";a\r\n")},
		{MSG("-5\r\nhello\r\n")},
		{MSG("+5\r\nhello\r\n")},
		{MSG("0x5\r\nhello\r\n")},
		{MSG(" 5\r\nhello\r\n")},
		{MSG("5\nhello\r\n")},
		{MSG("5\r\rhello\r\n")},
		{MSG("5\r\nhello\n0\r\n\r\n")},
		{MSG("5\r\nhello\r\r")},
		{MSG("5\r\nhelloX\r\n")},
		{MSG("5\r\nhello0\r\n\r\n")},
		{MSG("5 \r\nhello\r\n")},
		{MSG("5\t\r\nhello\r\n")},
		{MSG("5 x\r\n")},
		{MSG("5;\r\nhello\r\n")},
		{MSG("5; \r\n")},
		{MSG("5;=x\r\n")},
		{MSG("5;a=\r\n")},
		{MSG("5;a =\r\n")},
		{MSG("5;a \r\n")},
		{MSG("5;a=b c\r\n")},
		{MSG("5;a=\"x\r\n")},
		{MSG("5;a=\"x\"y\r\n")},
		{MSG("5;a=\"x\x01\"\r\n")},
		{MSG("5;a=\"\\\x01\"\r\n")},
		{MSG("5;a(\r\n")},
		{MSG("5;a\n")},
		{MSG("5\0\r\n")},
		{MSG("10000000000000000\r\n")},
		{MSG("8000000000000000\r\n")},
		{MSG("ffffffffffffffffff\r\n")},
		{MSG("0\r\n\n")},
		{MSG("0\r\n\r\r")},
		{MSG("0\r\nX : y\r\n\r\n")},
		{MSG("0\r\nX: y\r\n z\r\n\r\n")},
		{MSG("0\r\n y\r\n\r\n")},
		{MSG("0\r\nX: \x01\r\n\r\n")},
		{MSG("0\r\nX: y\n\r\n")},
		{MSG("0\r\nX: y\r\r\n")},
		{MSG("0\r\nNoColon\r\n\r\n")},
		{MSG("0\r\n: v\r\n\r\n")},
		{MSG("0\r\nX\0: y\r\n\r\n")},
	};
	struct decoded d;

	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		decode_pieces(bad[i].msg, bad[i].len, NULL, 0, NULL, &d);
		if (d.err != -EBADMSG) {
			fprintf(stderr, "\nchunked case %u accepted\n", i);
			CU_FAIL("invalid chunked body accepted");
		}
		/* Split anywhere: the same verdict. */
		for (size_t k = 0; k <= bad[i].len; k++) {
			decode_pieces(bad[i].msg, bad[i].len, &k, 1, NULL, &d);
			if (d.err != -EBADMSG)
				CU_FAIL("invalid chunked body accepted when split");
		}
	}
}

static void test_chunked_accepts_rfc_extensions(void)
{
	static const struct {
		const char *msg;
		size_t len;
	} good[] = {
		{MSG("0\r\n\r\n")},
		{MSG("000\r\n\r\n")},
		{MSG("0;a\r\n\r\n")},
		{MSG("0 ; a = b\r\n\r\n")},
		{MSG("0\t;\ta\t=\t\"\"\r\n\r\n")},
		{MSG("0;a=b;c=\"d\\\\e\";f\r\n\r\n")},
		{MSG("0;a;b;c\r\n\r\n")},
		{MSG("0\r\nX:\r\n\r\n")},
		{MSG("0\r\nX: \x80\xff\r\n\r\n")},
		{MSG("1\r\na\r\n0\r\n\r\n")},
		{MSG("7fffffffffffffff\r\n")},
	};
	struct decoded d;

	for (unsigned i = 0; i < ARRAY_SIZE(good); i++) {
		decode_pieces(good[i].msg, good[i].len, NULL, 0, NULL, &d);
		CU_ASSERT_EQUAL(d.err, 0);
		CU_ASSERT_EQUAL(d.consumed, good[i].len);
		if (i + 1 < ARRAY_SIZE(good))
			CU_ASSERT(d.done);
	}
}

static void test_chunked_done_consumes_nothing_more_and_errors_stick(void)
{
	static const char msg[] = "0\r\n\r\nHTTP/1.1 200 OK";
	static const char bad[] = "zz";
	struct rp_http_chunked c;
	struct rp_http_span d;

	rp__http_chunked_init(&c, NULL);
	CU_ASSERT_EQUAL(rp__http_chunked_decode(&c, msg, sizeof(msg) - 1, &d), 5);
	CU_ASSERT(c.done);
	CU_ASSERT_EQUAL(d.len, 0);
	CU_ASSERT_EQUAL(rp__http_chunked_decode(&c, msg + 5, sizeof(msg) - 6, &d), 0);

	rp__http_chunked_init(&c, NULL);
	CU_ASSERT_EQUAL(rp__http_chunked_decode(&c, bad, 2, &d), -EBADMSG);
	CU_ASSERT_PTR_NOT_NULL(c.err);
	CU_ASSERT_EQUAL(rp__http_chunked_decode(&c, msg, sizeof(msg) - 1, &d), -EBADMSG);
	CU_ASSERT(!c.done);
}

static void test_chunked_limits(void)
{
	struct rp_http_limits lim = rp__http_limits_default;
	char buf[512];
	struct decoded d;
	size_t n;

	lim.max_chunk_line = 16;
	lim.max_trailer = 32;
	/* 14 zeros and a 1: 15 + CRLF = 17 > 16. */
	n = (size_t)snprintf(buf, sizeof(buf), "000000000000001\r\nx\r\n0\r\n\r\n");
	decode_pieces(buf, n, NULL, 0, &lim, &d);
	CU_ASSERT_EQUAL(d.err, -EBADMSG);
	n = (size_t)snprintf(buf, sizeof(buf), "00000000000001\r\nx\r\n0\r\n\r\n");
	decode_pieces(buf, n, NULL, 0, &lim, &d);
	CU_ASSERT(d.done && d.len == 1);
	/* An extension counts toward the line. */
	n = (size_t)snprintf(buf, sizeof(buf), "1;aaaaaaaaaaaaaaa\r\nx\r\n0\r\n\r\n");
	decode_pieces(buf, n, NULL, 0, &lim, &d);
	CU_ASSERT_EQUAL(d.err, -EBADMSG);
	/* Trailers: 30 bytes of field line + final CRLF = 32 passes, 33 does not. */
	n = (size_t)snprintf(buf, sizeof(buf), "0\r\nX: %s\r\n\r\n",
			     "aaaaaaaaaaaaaaaaaaaaaaaaa");
	decode_pieces(buf, n, NULL, 0, &lim, &d);
	CU_ASSERT(d.done && !d.err);
	n = (size_t)snprintf(buf, sizeof(buf), "0\r\nX: %s\r\n\r\n",
			     "aaaaaaaaaaaaaaaaaaaaaaaaaa");
	decode_pieces(buf, n, NULL, 0, &lim, &d);
	CU_ASSERT_EQUAL(d.err, -EBADMSG);
}

static void test_chunked_large_chunk_streams(void)
{
	struct rp_http_chunked c;
	struct rp_http_span d;
	char data[1000];
	uint64_t total = 0;

	memset(data, 'd', sizeof(data));
	rp__http_chunked_init(&c, NULL);
	CU_ASSERT_EQUAL(rp__http_chunked_decode(&c, "F4240\r\n", 7, &d), 7);
	for (int i = 0; i < 1000; i++) {
		CU_ASSERT_EQUAL_FATAL(rp__http_chunked_decode(&c, data, sizeof(data), &d),
				      (int)sizeof(data));
		CU_ASSERT_EQUAL(d.off, 0);
		total += d.len;
	}
	CU_ASSERT_EQUAL(total, 1000000);
	CU_ASSERT_EQUAL(rp__http_chunked_decode(&c, "\r\n0\r\n\r\n", 7, &d), 7);
	CU_ASSERT(c.done);
}

/* ---- helpers and the serializer ------------------------------------------ */

static void test_header_lookup_is_case_insensitive(void)
{
	static const char msg[] = "GET / HTTP/1.1\r\nHost: a\r\nAccept: x\r\n"
				  "X-Dup: 1\r\nx-dup: 2\r\n\r\n";
	int i;

	CU_ASSERT_EQUAL_FATAL(rp__http_parse_request(msg, sizeof(msg) - 1, NULL, &req_),
			      (int)sizeof(msg) - 1);
	CU_ASSERT_EQUAL(
		rp__http_find_header(msg, req_.headers, req_.nheaders, "HOST", 4, 0), 0);
	CU_ASSERT_EQUAL(
		rp__http_find_header(msg, req_.headers, req_.nheaders, "accept", 6, 0),
		1);
	i = rp__http_find_header(msg, req_.headers, req_.nheaders, "X-DUP", 5, 0);
	CU_ASSERT_EQUAL(i, 2);
	i = rp__http_find_header(msg, req_.headers, req_.nheaders, "X-DUP", 5,
				 (unsigned)i + 1);
	CU_ASSERT_EQUAL(i, 3);
	CU_ASSERT(span_is(msg, req_.headers[i].value, "2"));
	CU_ASSERT_EQUAL(rp__http_find_header(msg, req_.headers, req_.nheaders, "X-DUP", 5,
					     (unsigned)i + 1),
			-1);
	CU_ASSERT_EQUAL(
		rp__http_find_header(msg, req_.headers, req_.nheaders, "Acc", 3, 0), -1);
}

static void test_hop_by_hop_names(void)
{
	static const char *const hop[] = {"Connection",
					  "keep-alive",
					  "PROXY-CONNECTION",
					  "TE",
					  "Trailer",
					  "Transfer-Encoding",
					  "Upgrade",
					  "Proxy-Authenticate",
					  "Proxy-Authorization"};
	static const char *const e2e[] = {
		"Host",		 "Content-Length",  "Trailers", "Expect",
		"Authorization", "X-Forwarded-For", "Upgrade-", "T"};

	for (unsigned i = 0; i < ARRAY_SIZE(hop); i++)
		CU_ASSERT(rp__http_hop_by_hop_name(hop[i], strlen(hop[i])));
	for (unsigned i = 0; i < ARRAY_SIZE(e2e); i++)
		CU_ASSERT(!rp__http_hop_by_hop_name(e2e[i], strlen(e2e[i])));
}

static void test_serialize_round_trip(void)
{
	static const char msg[] = "POST /submit?x=1 HTTP/1.1\r\n"
				  "Host: api.example\r\n"
				  "Connection: keep-alive, X-Hop\r\n"
				  "Keep-Alive: timeout=5\r\n"
				  "X-Hop: secret\r\n"
				  "Content-Length: 11\r\n"
				  "User-Agent: test/1.0\r\n"
				  "content-length: 11\r\n"
				  "Proxy-Authorization: Basic Zm9v\r\n"
				  "Cookie: a=b; c=d\r\n"
				  "TE: trailers\r\n\r\n";
	static const char want[] = "POST /submit?x=1 HTTP/1.1\r\n"
				   "Host: api.example\r\n"
				   "User-Agent: test/1.0\r\n"
				   "Cookie: a=b; c=d\r\n"
				   "Content-Length: 11\r\n"
				   "X-Forwarded-For: 192.0.2.1\r\n"
				   "Via: 1.1 ringproxy\r\n\r\n";
	static const struct rp_http_field extra[] = {{"X-Forwarded-For", "192.0.2.1"},
						     {"Via", "1.1 ringproxy"}};
	char out[1024];
	int n;

	CU_ASSERT_EQUAL_FATAL(rp__http_parse_request(msg, sizeof(msg) - 1, NULL, &req_),
			      (int)sizeof(msg) - 1);
	n = rp__http_serialize_request(msg, &req_, extra, 2, 0, out, sizeof(out));
	CU_ASSERT_EQUAL_FATAL(n, (int)sizeof(want) - 1);
	CU_ASSERT_EQUAL(memcmp(out, want, (size_t)n), 0);
	/* Re-parsed: the same request, minus what was hop-by-hop. */
	CU_ASSERT_EQUAL_FATAL(rp__http_parse_request(out, (size_t)n, NULL, &req2_), n);
	CU_ASSERT_EQUAL(req2_.method_id, req_.method_id);
	CU_ASSERT(span_is(out, req2_.target, "/submit?x=1"));
	CU_ASSERT_EQUAL(req2_.content_length, 11);
	CU_ASSERT_EQUAL(req2_.body, RP_HTTP_BODY_LENGTH);
	CU_ASSERT(span_is(out, req2_.host, "api.example"));
	CU_ASSERT_EQUAL(req2_.nheaders, 6);
	for (unsigned i = 0; i < req2_.nheaders; i++)
		CU_ASSERT(!rp__http_is_hop_by_hop(&req2_.headers[i]));
}

static void test_serialize_chunked_and_versions(void)
{
	static const char te[] =
		"PUT /u HTTP/1.1\r\nHost: h\r\n"
		"Transfer-Encoding: , Chunked\r\nExpect: 100-continue\r\n\r\n";
	static const char te_want[] =
		"PUT /u HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
		"Transfer-Encoding: chunked\r\n\r\n";
	static const char v10[] = "POST /u HTTP/1.0\r\nHost: h\r\n"
				  "Expect: 100-continue\r\nContent-Length: 0\r\n\r\n";
	static const char v10_want[] = "POST /u HTTP/1.1\r\nHost: h\r\n"
				       "Content-Length: 0\r\n\r\n";
	char out[512];
	int n;

	CU_ASSERT_EQUAL_FATAL(rp__http_parse_request(te, sizeof(te) - 1, NULL, &req_),
			      (int)sizeof(te) - 1);
	n = rp__http_serialize_request(te, &req_, NULL, 0, 0, out, sizeof(out));
	CU_ASSERT_EQUAL_FATAL(n, (int)sizeof(te_want) - 1);
	CU_ASSERT_EQUAL(memcmp(out, te_want, (size_t)n), 0);
	CU_ASSERT_EQUAL(rp__http_parse_request(out, (size_t)n, NULL, &req2_), n);
	CU_ASSERT(req2_.chunked && req2_.expect_continue);

	CU_ASSERT_EQUAL_FATAL(rp__http_parse_request(v10, sizeof(v10) - 1, NULL, &req_),
			      (int)sizeof(v10) - 1);
	n = rp__http_serialize_request(v10, &req_, NULL, 0, 0, out, sizeof(out));
	CU_ASSERT_EQUAL_FATAL(n, (int)sizeof(v10_want) - 1);
	CU_ASSERT_EQUAL(memcmp(out, v10_want, (size_t)n), 0);
}

static void test_serialize_origin_form(void)
{
	static const char msg[] = "GET http://example.com:8080?q=1 HTTP/1.1\r\n"
				  "Accept: */*\r\nHost: EXAMPLE.com:8080\r\n"
				  "Proxy-Connection: keep-alive\r\n\r\n";
	static const char want[] = "GET /?q=1 HTTP/1.1\r\nHost: example.com:8080\r\n"
				   "Accept: */*\r\n\r\n";
	static const char v10[] = "GET http://a.example/p HTTP/1.0\r\n\r\n";
	static const char v10_want[] = "GET /p HTTP/1.1\r\nHost: a.example\r\n\r\n";
	char out[512];
	int n;

	CU_ASSERT_EQUAL_FATAL(rp__http_parse_request(msg, sizeof(msg) - 1, NULL, &req_),
			      (int)sizeof(msg) - 1);
	n = rp__http_serialize_request(msg, &req_, NULL, 0, RP_HTTP_SER_ORIGIN_FORM, out,
				       sizeof(out));
	CU_ASSERT_EQUAL_FATAL(n, (int)sizeof(want) - 1);
	CU_ASSERT_EQUAL(memcmp(out, want, (size_t)n), 0);
	/* Without the flag the target stays absolute. */
	n = rp__http_serialize_request(msg, &req_, NULL, 0, 0, out, sizeof(out));
	CU_ASSERT(n > 0 &&
		  !memcmp(out, "GET http://example.com:8080?q=1 HTTP/1.1\r\n", 42));

	CU_ASSERT_EQUAL_FATAL(rp__http_parse_request(v10, sizeof(v10) - 1, NULL, &req_),
			      (int)sizeof(v10) - 1);
	n = rp__http_serialize_request(v10, &req_, NULL, 0, RP_HTTP_SER_ORIGIN_FORM, out,
				       sizeof(out));
	CU_ASSERT_EQUAL_FATAL(n, (int)sizeof(v10_want) - 1);
	CU_ASSERT_EQUAL(memcmp(out, v10_want, (size_t)n), 0);
	CU_ASSERT_EQUAL(rp__http_parse_request(out, (size_t)n, NULL, &req2_), n);
}

/* Host comes from the absolute-form target, in either output form, without
 * the scheme's default port and never as the client sent it. */
static void test_serialize_host_from_the_target(void)
{
	static const char siege[] = "GET http://example.test:80/x HTTP/1.1\r\n"
				    "Host: example.test\r\nAccept: */*\r\n\r\n";
	static const char other[] = "GET http://b.example:8080/y HTTP/1.1\r\n"
				    "Accept: */*\r\nHost: a.example\r\n\r\n";
	static const char https[] = "GET https://s.example:443/ HTTP/1.1\r\n"
				    "Host: s.example\r\n\r\n";
	static const struct {
		const char *msg;
		unsigned flags;
		const char *want;
	} cases[] = {
		{siege, RP_HTTP_SER_ORIGIN_FORM,
		 "GET /x HTTP/1.1\r\nHost: example.test\r\nAccept: */*\r\n\r\n"},
		{siege, 0,
		 "GET http://example.test:80/x HTTP/1.1\r\nHost: example.test\r\n"
		 "Accept: */*\r\n\r\n"},
		{other, RP_HTTP_SER_ORIGIN_FORM,
		 "GET /y HTTP/1.1\r\nHost: b.example:8080\r\nAccept: */*\r\n\r\n"},
		{other, 0,
		 "GET http://b.example:8080/y HTTP/1.1\r\nHost: b.example:8080\r\n"
		 "Accept: */*\r\n\r\n"},
		{https, 0,
		 "GET https://s.example:443/ HTTP/1.1\r\nHost: s.example\r\n\r\n"},
	};
	char out[512];

	for (unsigned i = 0; i < (sizeof(cases) / sizeof(cases[0])); i++) {
		const char *m = cases[i].msg;
		int n;

		CU_ASSERT_EQUAL_FATAL(rp__http_parse_request(m, strlen(m), NULL, &req_),
				      (int)strlen(m));
		n = rp__http_serialize_request(m, &req_, NULL, 0, cases[i].flags, out,
					       sizeof(out));
		CU_ASSERT_EQUAL(n, (int)strlen(cases[i].want));
		if (n > 0 && ((size_t)n != strlen(cases[i].want) ||
			      memcmp(out, cases[i].want, (size_t)n)))
			fprintf(stderr, "case %u: got %.*s\n", i, n, out);
		CU_ASSERT(n > 0 && !memcmp(out, cases[i].want, (size_t)n));
		/* what goes out parses, and its Host agrees with its target */
		CU_ASSERT_EQUAL(rp__http_parse_request(out, (size_t)n, NULL, &req2_), n);
		CU_ASSERT(!req2_.host_differs);
	}
}

static void test_serialize_enospc_and_einval(void)
{
	static const char msg[] = "GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n\r\n";
	static const struct rp_http_field crlf[] = {{"X-Forwarded-For", "1\r\nEvil: 1"}};
	static const struct rp_http_field badname[] = {{"X Y", "1"}};
	static const struct rp_http_field empty[] = {{"", "1"}};
	static const struct rp_http_field ok[] = {{"Via", "1.1 rp"}};
	char out[256];
	int full;

	CU_ASSERT_EQUAL_FATAL(rp__http_parse_request(msg, sizeof(msg) - 1, NULL, &req_),
			      (int)sizeof(msg) - 1);
	full = rp__http_serialize_request(msg, &req_, ok, 1, 0, out, sizeof(out));
	CU_ASSERT_FATAL(full > 0);
	for (int cap = 0; cap < full; cap++) {
		char *small = malloc((size_t)cap + 1);

		CU_ASSERT_PTR_NOT_NULL_FATAL(small);
		CU_ASSERT_EQUAL(rp__http_serialize_request(msg, &req_, ok, 1, 0, small,
							   (size_t)cap),
				-ENOSPC);
		free(small);
	}
	CU_ASSERT_EQUAL(
		rp__http_serialize_request(msg, &req_, ok, 1, 0, out, (size_t)full),
		full);
	CU_ASSERT_EQUAL(
		rp__http_serialize_request(msg, &req_, crlf, 1, 0, out, sizeof(out)),
		-EINVAL);
	CU_ASSERT_EQUAL(
		rp__http_serialize_request(msg, &req_, badname, 1, 0, out, sizeof(out)),
		-EINVAL);
	CU_ASSERT_EQUAL(
		rp__http_serialize_request(msg, &req_, empty, 1, 0, out, sizeof(out)),
		-EINVAL);
}

static const struct rp_unit_test tests[] = {
	RP_TEST(test_request_table),
	RP_TEST(test_request_every_prefix_is_eagain_or_same_error),
	RP_TEST(test_request_byte_at_a_time_parses_the_same),
	RP_TEST(test_request_fields_and_spans),
	RP_TEST(test_request_method_ids_are_case_sensitive),
	RP_TEST(test_request_absolute_form_split),
	RP_TEST(test_request_absolute_form_host_is_ignored),
	RP_TEST(test_request_connect_and_asterisk_forms),
	RP_TEST(test_request_framing_facts),
	RP_TEST(test_request_connection_and_keep_alive),
	RP_TEST(test_request_connection_marks_hop_by_hop),
	RP_TEST(test_request_too_many_connection_options),
	RP_TEST(test_request_pipelined_stops_at_head_end),
	RP_TEST(test_limits_head_bytes),
	RP_TEST(test_limits_header_count),
	RP_TEST(test_limits_target_length),
	RP_TEST(test_response_framing_table),
	RP_TEST(test_response_status_line_fields),
	RP_TEST(test_response_head_limit),
	RP_TEST(test_chunked_decodes_split_at_every_byte),
	RP_TEST(test_chunked_rejects_invalid),
	RP_TEST(test_chunked_accepts_rfc_extensions),
	RP_TEST(test_chunked_done_consumes_nothing_more_and_errors_stick),
	RP_TEST(test_chunked_limits),
	RP_TEST(test_chunked_large_chunk_streams),
	RP_TEST(test_header_lookup_is_case_insensitive),
	RP_TEST(test_hop_by_hop_names),
	RP_TEST(test_serialize_round_trip),
	RP_TEST(test_serialize_chunked_and_versions),
	RP_TEST(test_serialize_origin_form),
	RP_TEST(test_serialize_host_from_the_target),
	RP_TEST(test_serialize_enospc_and_einval),
};

RP_UNIT_MAIN("http_parser", tests)

// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_tls.c - engine/tls/tls.c without sockets: a server and a client
 * connection talk through their buffers, the bytes moved in pieces from one
 * byte to whole flights. Checked: TLS 1.2 and 1.3 handshakes and data both
 * ways, certificate selection by SNI (exact, case, trailing dot, wildcard of
 * one label, the CN of a certificate without SANs, the default), strict SNI
 * refusing, the client verifying the server's name, a record delivered one
 * byte at a time (never readable before it is whole; the bytes it lacks
 * counted down), plaintext HTTP refused at once rather than waited on,
 * close_notify, session tickets in the server's output as soon as its
 * handshake ends (TLS 1.3 ones too, which come after it) and resuming, and
 * the load-time errors that name their file.
 *
 * The certificates are throwaway self-signed P-256 ones, valid until 2126.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "tls/tls.h"
#include "unit.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const char default_cert[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBjDCCATGgAwIBAgIUH8g78wB3Uto2ZkyKg/BupELlSuIwCgYIKoZIzj0EAwIw\n"
	"GjEYMBYGA1UEAwwPZGVmYXVsdC5leGFtcGxlMCAXDTI2MTEyOTIzNTgyOFoYDzIx\n"
	"MjYxMTA1MjM1ODI4WjAaMRgwFgYDVQQDDA9kZWZhdWx0LmV4YW1wbGUwWTATBgcq\n"
	"hkjOPQIBBggqhkjOPQMBBwNCAASKzyIUv73wmG2gsxzkiJxiJ7Slhq4iEz1RG+W2\n"
	"rJrjQcgbYcP7lgBp7xgscB0sRjfa5gtWGKI8XEjQaR+lvnAUo1MwUTAdBgNVHQ4E\n"
	"FgQUQx29RiVDDWfk6TiNlGxtj/7g5bswHwYDVR0jBBgwFoAUQx29RiVDDWfk6TiN\n"
	"lGxtj/7g5bswDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBGAiEA87n6\n"
	"ZkV98sxRxZoieFgFIj83t+QFAqRMPyb/ckAVa28CIQCQArrm2P9B0uvnKw1w6EoA\n"
	"lr3nJmxaYuHhSjJZVs9B0A==\n"
	"-----END CERTIFICATE-----\n";
static const char default_key[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgcdZ+2aXH5bCCHfOj\n"
	"Cuqx0OyiyOnWbu0D9CTnjx8x+sOhRANCAASKzyIUv73wmG2gsxzkiJxiJ7Slhq4i\n"
	"Ez1RG+W2rJrjQcgbYcP7lgBp7xgscB0sRjfa5gtWGKI8XEjQaR+lvnAU\n"
	"-----END PRIVATE KEY-----\n";
static const char a_cert[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBsDCCAVagAwIBAgIUMUJj+HlnCb6Th6BfmOaqnAMQWDMwCgYIKoZIzj0EAwIw\n"
	"GjEYMBYGA1UEAwwPaWdub3JlZC5leGFtcGxlMCAXDTI2MTEyOTIzNTgyOFoYDzIx\n"
	"MjYxMTA1MjM1ODI4WjAaMRgwFgYDVQQDDA9pZ25vcmVkLmV4YW1wbGUwWTATBgcq\n"
	"hkjOPQIBBggqhkjOPQMBBwNCAAS0Gq/7seCZgBW7+B0HFRAgGNOTogbacli+ylIL\n"
	"UZ7oV+QaLu08XOtOm4aHnRQLs5ZPN/VC6i2cXBWpuiUSc2vro3gwdjAdBgNVHQ4E\n"
	"FgQUDvxjvr5GBHrhQ2aFI0hbHCdPDGUwHwYDVR0jBBgwFoAUDvxjvr5GBHrhQ2aF\n"
	"I0hbHCdPDGUwDwYDVR0TAQH/BAUwAwEB/zAjBgNVHREEHDAagglhLmV4YW1wbGWC\n"
	"DVdXVy5BLmV4YW1wbGUwCgYIKoZIzj0EAwIDSAAwRQIhAM+lptA3CRIljQ0b4pDx\n"
	"9m/ZDydeP0fBnmFwJ0wyAU2MAiAEagWtorNCOkvxNeQ1K9NmaraEXuy7leY3enl9\n"
	"Im2WaA==\n"
	"-----END CERTIFICATE-----\n";
static const char a_key[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgMD9NwUV8V00H4zZn\n"
	"fsKVJfrsA3d2NhjpIxMfnnqMlcGhRANCAAS0Gq/7seCZgBW7+B0HFRAgGNOTogba\n"
	"cli+ylILUZ7oV+QaLu08XOtOm4aHnRQLs5ZPN/VC6i2cXBWpuiUSc2vr\n"
	"-----END PRIVATE KEY-----\n";
static const char b_cert[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBhjCCAS2gAwIBAgIUSFV1eDk3/bvppCS7sN/6VNMQmPcwCgYIKoZIzj0EAwIw\n"
	"DDEKMAgGA1UEAwwBYjAgFw0yNjExMjkyMzU4MjhaGA8yMTI2MTEwNTIzNTgyOFow\n"
	"DDEKMAgGA1UEAwwBYjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABFWM6DOHvQJP\n"
	"bBryz+P4n/jNNwrr3xPnvoc5Uhg11Ak9RQ4Y34+XkdQeo/W9aanBkE7tsADZw2Ix\n"
	"Jc8ge0SQ7IKjazBpMB0GA1UdDgQWBBRsvZpuKVhHidKkEJyYHdmpc4mlEjAfBgNV\n"
	"HSMEGDAWgBRsvZpuKVhHidKkEJyYHdmpc4mlEjAPBgNVHRMBAf8EBTADAQH/MBYG\n"
	"A1UdEQQPMA2CCyouYi5leGFtcGxlMAoGCCqGSM49BAMCA0cAMEQCIH02JxN9LsAG\n"
	"7yNoPQj1WIWiGhGOtbJaKReXAhX9+GuDAiAUd95U2LaQPA1+5+14gAmBWnQ2XyBk\n"
	"lubwaxCxkCBBBQ==\n"
	"-----END CERTIFICATE-----\n";
static const char b_key[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgl30vUq97pn+uq90e\n"
	"AdILg1IHFwjba1nxNZi7RoUy7N2hRANCAARVjOgzh70CT2wa8s/j+J/4zTcK698T\n"
	"576HOVIYNdQJPUUOGN+Pl5HUHqP1vWmpwZBO7bAA2cNiMSXPIHtEkOyC\n"
	"-----END PRIVATE KEY-----\n";

static char dir[64];

static void write_file(const char *name, const char *text, char *path, size_t cap)
{
	FILE *f;

	snprintf(path, cap, "%s/%s", dir, name);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	CU_ASSERT_EQUAL_FATAL(fclose(f), 0);
}

/* A listener with the default (CN only), a (SANs) and b (wildcard). */
static struct rp_tls_server *server_tickets(bool strict, unsigned min, unsigned max,
					    bool tickets)
{
	static const char *const pems[3][2] = {
		{default_cert, default_key}, {a_cert, a_key}, {b_cert, b_key}};
	static const char *const names[3] = {"default", "a", "b"};
	struct rp_listener_config l;
	struct rp_tls_server *s = NULL;
	char err[256], n[32];

	rp_listener_config_init(&l);
	l.tls.enabled = true;
	l.tls.strict_sni = strict;
	l.tls.min_version = min;
	l.tls.max_version = max;
	l.tls.tickets = tickets;
	l.tls.ncerts = 3;
	for (unsigned i = 0; i < 3; i++) {
		snprintf(n, sizeof(n), "%s.pem", names[i]);
		write_file(n, pems[i][0], l.tls.certs[i].cert,
			   sizeof(l.tls.certs[i].cert));
		snprintf(n, sizeof(n), "%s.key", names[i]);
		write_file(n, pems[i][1], l.tls.certs[i].key, sizeof(l.tls.certs[i].key));
	}
	if (rp__tls_server_new(&l, true, &s, err, sizeof(err)) < 0)
		fprintf(stderr, "\n%s\n", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	return s;
}

static struct rp_tls_server *server(bool strict, unsigned min, unsigned max)
{
	return server_tickets(strict, min, max, true);
}

/* A client trusting @ca_pem, sending (and verifying) @sni. */
static struct rp_tls_client *client(const char *ca_pem, const char *sni)
{
	struct rp_cluster_config c;
	struct rp_tls_client *cl = NULL;
	char err[256];

	rp_cluster_config_init(&c, "t");
	c.tls.enabled = true;
	c.tls.verify = ca_pem != NULL;
	if (ca_pem)
		write_file("ca.pem", ca_pem, c.tls.ca, sizeof(c.tls.ca));
	snprintf(c.tls.sni, sizeof(c.tls.sni), "%s", sni);
	if (rp__tls_client_new(&c, &cl, err, sizeof(err)) < 0)
		fprintf(stderr, "\n%s\n", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cl);
	return cl;
}

/* Moves what @from has to send into @to, @piece bytes at most per step,
 * letting @to consume between pieces when it is @hs-ing. */
static unsigned pump(struct rp_tls *from, struct rp_tls *to, unsigned piece)
{
	unsigned moved = 0, len, room;
	const uint8_t *p = rp__tls_out(from, &len);

	while (len) {
		uint8_t *dst = rp__tls_in_room(to, &room);
		unsigned n = len < piece ? len : piece;

		if (n > room)
			n = room;
		if (!n)
			break;
		memcpy(dst, p, n);
		rp__tls_in_commit(to, n);
		rp__tls_out_consumed(from, n);
		moved += n;
		p = rp__tls_out(from, &len);
	}
	return moved;
}

/* Runs both handshakes to the end: 0, or the failing side's result. */
static int handshake(struct rp_tls *c, struct rp_tls *s, unsigned piece)
{
	int rc = RP_TLS_WANT, rs = RP_TLS_WANT;

	for (int i = 0; i < 100000; i++) {
		if (rc != RP_TLS_DONE)
			rc = rp__tls_handshake(c);
		pump(c, s, piece);
		if (rs != RP_TLS_DONE)
			rs = rp__tls_handshake(s);
		pump(s, c, piece);
		if (rc < 0)
			return rc;
		if (rs < 0)
			return rs;
		if (rc == RP_TLS_DONE && rs == RP_TLS_DONE)
			return 0;
	}
	return -1000;
}

/* Sends @len bytes from @a to @b, received in pieces; true when they match. */
static bool transfer(struct rp_tls *a, struct rp_tls *b, unsigned len, unsigned piece)
{
	uint8_t *src = malloc(len), *dst = malloc(len);
	unsigned got = 0;
	bool ok;

	for (unsigned i = 0; i < len; i++)
		src[i] = (uint8_t)(i * 131 + (i >> 9));
	CU_ASSERT_EQUAL_FATAL(rp__tls_write(a, src, len), 0);
	while (got < len) {
		int n;

		if (!pump(a, b, piece) && !rp__tls_readable(b))
			break;
		while ((n = rp__tls_read(b, dst + got, len - got)) > 0)
			got += (unsigned)n;
		if (n != RP_TLS_WANT && n <= 0 && got < len)
			break;
	}
	ok = got == len && !memcmp(src, dst, len);
	free(src);
	free(dst);
	return ok;
}

static void test_tls_handshake_and_data(void)
{
	static const unsigned versions[] = {0x0303, 0x0304};
	static const unsigned pieces[] = {1, 7, 1000, 1u << 20};

	for (unsigned v = 0; v < 2; v++) {
		struct rp_tls_server *srv = server(false, versions[v], versions[v]);
		struct rp_tls_client *cli = client(a_cert, "a.example");

		for (unsigned p = 0; p < ARRAY_LEN(pieces); p++) {
			struct rp_tls *c = rp__tls_new_client(cli, false);
			struct rp_tls *s = rp__tls_new_server(srv, false);

			CU_ASSERT_EQUAL(handshake(c, s, pieces[p]), 0);
			CU_ASSERT_STRING_EQUAL(rp__tls_version(s),
					       v ? "TLSv1.3" : "TLSv1.2");
			CU_ASSERT_PTR_NOT_NULL(strstr(rp__tls_cipher(s), "GCM"));
			CU_ASSERT_STRING_EQUAL(rp__tls_sni(s), "a.example");
			CU_ASSERT_FALSE(rp__tls_resumed(s));
			/* Both ways, more than a record, in odd pieces. */
			CU_ASSERT(transfer(c, s, 100000, pieces[p] * 3 + 1));
			CU_ASSERT(transfer(s, c, 70000, pieces[p] + 5));
			rp__tls_free(c);
			rp__tls_free(s);
		}
		rp__tls_client_free(cli);
		rp__tls_server_free(srv);
	}
}

/* The sessions a client got, through BoringSSL's new-session callback. */
static SSL_SESSION *got_session;
static unsigned got_sessions;

static int new_session(SSL *ssl, SSL_SESSION *sess)
{
	(void)ssl;
	got_sessions++;
	if (got_session)
		return 0;
	got_session = sess;
	return 1; /* the reference is ours */
}

/*
 * A client that handshakes and then only waits (gnutls-cli --resume, Python
 * waiting for session.has_ticket) must get its tickets: a TLS 1.3 server's
 * come after the handshake, and must be in its output as soon as its
 * handshake is done, not held for its first application data. The ticket
 * then resumes. Without tickets, TLS 1.3 writes nothing after the handshake.
 */
static void test_tls_tickets_sent_without_client_data(void)
{
	static const unsigned versions[] = {0x0303, 0x0304};

	for (unsigned v = 0; v < 2; v++) {
		struct rp_tls_server *srv = server(false, versions[v], versions[v]);
		struct rp_tls_server *none =
			server_tickets(false, versions[v], versions[v], false);
		struct rp_tls_client *cli = client(a_cert, "a.example");
		struct rp_tls *c = rp__tls_new_client(cli, false);
		struct rp_tls *s = rp__tls_new_server(srv, false);
		SSL_CTX *cctx = SSL_get_SSL_CTX(c->ssl);
		unsigned len;
		uint8_t buf[16];

		got_session = NULL;
		got_sessions = 0;
		SSL_CTX_set_session_cache_mode(cctx, SSL_SESS_CACHE_CLIENT |
							     SSL_SESS_CACHE_NO_INTERNAL);
		SSL_CTX_sess_set_new_cb(cctx, new_session);
		CU_ASSERT_EQUAL_FATAL(handshake(c, s, 4096), 0);
		/* Everything the server had to say has been moved to the
		 * client; in TLS 1.3 that includes records past its Finished. */
		rp__tls_out(s, &len);
		CU_ASSERT_EQUAL(len, 0);
		if (v)
			CU_ASSERT(rp__tls_in_pending(c) > 0);
		CU_ASSERT_EQUAL(rp__tls_read(c, buf, sizeof(buf)), RP_TLS_WANT);
		CU_ASSERT_EQUAL(rp__tls_in_pending(c), 0);
		CU_ASSERT(got_sessions >= 1);
		CU_ASSERT_PTR_NOT_NULL_FATAL(got_session);
		CU_ASSERT(SSL_SESSION_is_resumable(got_session));
		rp__tls_free(c);
		rp__tls_free(s);

		/* The ticket resumes, on both sides. */
		c = rp__tls_new_client(cli, false);
		s = rp__tls_new_server(srv, false);
		CU_ASSERT_FATAL(SSL_set_session(c->ssl, got_session));
		CU_ASSERT_EQUAL_FATAL(handshake(c, s, 4096), 0);
		CU_ASSERT(rp__tls_resumed(s));
		CU_ASSERT(rp__tls_resumed(c));
		CU_ASSERT(transfer(s, c, 1000, 4096));
		rp__tls_free(c);
		rp__tls_free(s);
		SSL_SESSION_free(got_session);
		got_session = NULL;

		/* No tickets: nothing past a TLS 1.3 Finished. */
		c = rp__tls_new_client(cli, false);
		s = rp__tls_new_server(none, false);
		CU_ASSERT_EQUAL_FATAL(handshake(c, s, 4096), 0);
		if (v)
			CU_ASSERT_EQUAL(rp__tls_in_pending(c), 0);
		rp__tls_free(c);
		rp__tls_free(s);
		rp__tls_client_free(cli);
		rp__tls_server_free(srv);
		rp__tls_server_free(none);
	}
}

static void test_tls_pick_by_name(void)
{
	struct rp_tls_server *srv = server(false, 0x0303, 0x0304);

	CU_ASSERT_EQUAL(rp__tls_server_pick(srv, "default.example"), 0); /* its CN */
	CU_ASSERT_EQUAL(rp__tls_server_pick(srv, "a.example"), 1);
	CU_ASSERT_EQUAL(rp__tls_server_pick(srv, "A.Example"), 1);
	CU_ASSERT_EQUAL(rp__tls_server_pick(srv, "www.a.example."), 1);
	CU_ASSERT_EQUAL(rp__tls_server_pick(srv, "ignored.example"),
			-1); /* CN with SANs */
	CU_ASSERT_EQUAL(rp__tls_server_pick(srv, "x.b.example"), 2);
	CU_ASSERT_EQUAL(rp__tls_server_pick(srv, "X.B.EXAMPLE"), 2);
	CU_ASSERT_EQUAL(rp__tls_server_pick(srv, "y.x.b.example"), -1);
	CU_ASSERT_EQUAL(rp__tls_server_pick(srv, "b.example"), -1);
	CU_ASSERT_EQUAL(rp__tls_server_pick(srv, ".b.example"), -1);
	CU_ASSERT_EQUAL(rp__tls_server_pick(srv, ""), -1);
	rp__tls_server_free(srv);
}

/* Which certificate a client asking for @sni gets: the one its CA pins. */
static int served(struct rp_tls_server *srv, const char *ca_pem, const char *sni)
{
	struct rp_tls_client *cli = client(ca_pem, sni);
	struct rp_tls *c = rp__tls_new_client(cli, false);
	struct rp_tls *s = rp__tls_new_server(srv, false);
	int ret = handshake(c, s, 4096);

	rp__tls_free(c);
	rp__tls_free(s);
	rp__tls_client_free(cli);
	return ret;
}

static void test_tls_sni_selects_and_strict_refuses(void)
{
	struct rp_tls_server *srv = server(false, 0x0303, 0x0304);
	struct rp_tls_server *strict = server(true, 0x0303, 0x0304);

	/* Each client trusts one certificate only, and checks the name. */
	CU_ASSERT_EQUAL(served(srv, a_cert, "a.example"), 0);
	CU_ASSERT_EQUAL(served(srv, b_cert, "q.b.example"), 0);
	CU_ASSERT_EQUAL(served(srv, default_cert, "default.example"), 0);
	CU_ASSERT_NOT_EQUAL(served(srv, a_cert, "q.b.example"), 0);
	/* An unknown name gets the default; strict refuses it. */
	CU_ASSERT_EQUAL(served(srv, default_cert, ""), 0);
	CU_ASSERT_EQUAL(served(strict, a_cert, "a.example"), 0);
	CU_ASSERT_EQUAL(served(strict, NULL, "unknown.example"), RP_TLS_FAILED);
	CU_ASSERT_EQUAL(served(strict, NULL, ""), RP_TLS_FAILED);
	rp__tls_server_free(srv);
	rp__tls_server_free(strict);
}

static void test_tls_whole_records_only(void)
{
	struct rp_tls_server *srv = server(false, 0x0304, 0x0304);
	struct rp_tls_client *cli = client(a_cert, "a.example");
	struct rp_tls *c = rp__tls_new_client(cli, false);
	struct rp_tls *s = rp__tls_new_server(srv, false);
	uint8_t rec[64], *dst, buf[16];
	unsigned len, room, need;
	const uint8_t *p;

	CU_ASSERT_EQUAL_FATAL(handshake(c, s, 1u << 20), 0);
	CU_ASSERT_EQUAL(rp__tls_write(c, "hello", 5), 0);
	p = rp__tls_out(c, &len);
	CU_ASSERT_FATAL(len > 5 && len <= sizeof(rec));
	memcpy(rec, p, len);
	rp__tls_out_consumed(c, len);
	for (unsigned i = 0; i < len; i++) {
		need = rp__tls_in_need(s);
		CU_ASSERT_EQUAL(need, i == 0 ? 0 : i < 5 ? 5 - i : len - i);
		CU_ASSERT_FALSE(rp__tls_readable(s));
		CU_ASSERT_EQUAL(rp__tls_read(s, buf, sizeof(buf)), RP_TLS_WANT);
		dst = rp__tls_in_room(s, &room);
		CU_ASSERT_FATAL(room >= len - i);
		*dst = rec[i];
		rp__tls_in_commit(s, 1);
	}
	CU_ASSERT_EQUAL(rp__tls_in_need(s), 0);
	CU_ASSERT(rp__tls_readable(s));
	CU_ASSERT_EQUAL(rp__tls_read(s, buf, sizeof(buf)), 5);
	CU_ASSERT_EQUAL(memcmp(buf, "hello", 5), 0);
	/* close_notify ends the reading side. */
	rp__tls_close_notify(c);
	pump(c, s, 3);
	CU_ASSERT_EQUAL(rp__tls_read(s, buf, sizeof(buf)), RP_TLS_CLOSED);
	rp__tls_free(c);
	rp__tls_free(s);
	rp__tls_client_free(cli);
	rp__tls_server_free(srv);
}

static void test_tls_plaintext_refused_at_once(void)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n";
	struct rp_tls_server *srv = server(false, 0x0303, 0x0304);
	struct rp_tls *s = rp__tls_new_server(srv, false);
	unsigned room;
	uint8_t *p = rp__tls_in_room(s, &room);

	memcpy(p, req, sizeof(req) - 1);
	rp__tls_in_commit(s, sizeof(req) - 1);
	/* Not "want more": " /" would read as a length of 8239 bytes. */
	CU_ASSERT_EQUAL(rp__tls_handshake(s), RP_TLS_FAILED);
	CU_ASSERT(s->errbuf[0] != '\0');
	rp__tls_free(s);
	rp__tls_server_free(srv);
}

static void test_tls_load_errors_name_the_file(void)
{
	struct rp_listener_config l;
	struct rp_tls_server *s = NULL;
	char err[512];

	rp_listener_config_init(&l);
	l.tls.enabled = true;
	l.tls.ncerts = 1;
	snprintf(l.tls.certs[0].cert, sizeof(l.tls.certs[0].cert), "%s/none.pem", dir);
	write_file("a.key", a_key, l.tls.certs[0].key, sizeof(l.tls.certs[0].key));
	CU_ASSERT(rp__tls_server_new(&l, false, &s, err, sizeof(err)) < 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "none.pem: No such file"));
	write_file("b.pem", b_cert, l.tls.certs[0].cert, sizeof(l.tls.certs[0].cert));
	CU_ASSERT(rp__tls_server_new(&l, false, &s, err, sizeof(err)) < 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "does not match certificate"));
	write_file("junk.pem", "not a certificate\n", l.tls.certs[0].cert,
		   sizeof(l.tls.certs[0].cert));
	CU_ASSERT(rp__tls_server_new(&l, false, &s, err, sizeof(err)) < 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "junk.pem: not a PEM certificate"));
	CU_ASSERT_PTR_NULL(s);
}

/* Which ALPN lists name HTTP/2: whole names only. */
static void test_tls_alpn_h2_names(void)
{
	CU_ASSERT_STRING_EQUAL(rp__tls_alpn_h2("h2"), "h2");
	CU_ASSERT_STRING_EQUAL(rp__tls_alpn_h2("h2,http/1.1"), "h2");
	CU_ASSERT_STRING_EQUAL(rp__tls_alpn_h2("http/1.1,h2"), "h2");
	CU_ASSERT_STRING_EQUAL(rp__tls_alpn_h2("http/1.1,h2c"), "h2c");
	CU_ASSERT_PTR_NULL(rp__tls_alpn_h2(""));
	CU_ASSERT_PTR_NULL(rp__tls_alpn_h2("http/1.1"));
	CU_ASSERT_PTR_NULL(rp__tls_alpn_h2("h2x,xh2,h2c2,h3"));
}

static const struct rp_unit_test tests[] = {
	RP_TEST(test_tls_handshake_and_data),
	RP_TEST(test_tls_tickets_sent_without_client_data),
	RP_TEST(test_tls_pick_by_name),
	RP_TEST(test_tls_sni_selects_and_strict_refuses),
	RP_TEST(test_tls_whole_records_only),
	RP_TEST(test_tls_plaintext_refused_at_once),
	RP_TEST(test_tls_load_errors_name_the_file),
	RP_TEST(test_tls_alpn_h2_names),
};

int main(void)
{
	char cmd[128];
	int ret;

	snprintf(dir, sizeof(dir), "/tmp/rp-test-tls.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	ret = rp_unit_run("tls", tests, (unsigned)ARRAY_LEN(tests));
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)!system(cmd);
	return ret;
}

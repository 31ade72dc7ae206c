// SPDX-License-Identifier: BSD-2-Clause
/*
 * fuzz_tls_server.c - libFuzzer target for a server connection's input path:
 * the bytes a client sends to a TLS listener, delivered in pieces as ring
 * recvs would, go through our BIO (which hands BoringSSL whole records only)
 * into the handshake, then into reads. Whatever the bytes, the buffers stay
 * consistent (in_off <= whole_end <= in_len <= in_cap, room for the rest of
 * a record), the record still missing never exceeds one record, and the
 * out buffer holds no more than one flight.
 *
 * The first input byte picks the size of the pieces. The listener uses a
 * throwaway certificate (valid until 2126) written to a temporary directory
 * at start.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tls/tls.h"

static const char cert_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBnjCCAUSgAwIBAgIUKNG48kRsXG0NDcK09tKGl14T3bYwCgYIKoZIzj0EAwIw\n"
	"FzEVMBMGA1UEAwwMZnV6ei5leGFtcGxlMCAXDTI2MTEyOTIzMjYxOFoYDzIxMjYx\n"
	"MTA1MjMyNjE4WjAXMRUwEwYDVQQDDAxmdXp6LmV4YW1wbGUwWTATBgcqhkjOPQIB\n"
	"BggqhkjOPQMBBwNCAATbJCV5gDZN8XWxsqWKpruYrRnmANISj591czJsqpiMigrC\n"
	"8hDGTcOozOKeYkoQLvXsG7TP2Ycj7S7srTg9ex5Mo2wwajAdBgNVHQ4EFgQUoj0J\n"
	"4at8jHUAJoyM+0A4nZoV/E4wHwYDVR0jBBgwFoAUoj0J4at8jHUAJoyM+0A4nZoV\n"
	"/E4wDwYDVR0TAQH/BAUwAwEB/zAXBgNVHREEEDAOggxmdXp6LmV4YW1wbGUwCgYI\n"
	"KoZIzj0EAwIDSAAwRQIhAJG03ZFL0D+XoS79Ho4up4W4Qo4RniQYI4s6NBOKpNlW\n"
	"AiBCYq5FPwA0mpuMnYkCeMYpm8po12AuHnlOpVpbNzII6g==\n"
	"-----END CERTIFICATE-----\n";
static const char key_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgSennOhvTcw8rgOCY\n"
	"x1LyRmGiAzwmCKV73vCWF2UpTpqhRANCAATbJCV5gDZN8XWxsqWKpruYrRnmANIS\n"
	"j591czJsqpiMigrC8hDGTcOozOKeYkoQLvXsG7TP2Ycj7S7srTg9ex5M\n"
	"-----END PRIVATE KEY-----\n";

static struct rp_tls_server *srv;

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f))
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char dir[] = "/tmp/rp-fuzz-tls.XXXXXX", err[256];
	struct rp_listener_config l;

	(void)argc;
	(void)argv;
	if (!mkdtemp(dir))
		abort();
	rp_listener_config_init(&l);
	l.tls.enabled = true;
	l.tls.ncerts = 1;
	snprintf(l.tls.certs[0].cert, sizeof(l.tls.certs[0].cert), "%s/c.pem", dir);
	snprintf(l.tls.certs[0].key, sizeof(l.tls.certs[0].key), "%s/k.pem", dir);
	write_file(l.tls.certs[0].cert, cert_pem);
	write_file(l.tls.certs[0].key, key_pem);
	if (rp__tls_server_new(&l, true, &srv, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz_tls_server: %s\n", err);
		abort();
	}
	unlink(l.tls.certs[0].cert);
	unlink(l.tls.certs[0].key);
	rmdir(dir);
	return 0;
}

static void check(const struct rp_tls *t)
{
	if (t->in_off > t->in_len || t->in_len > t->in_cap ||
	    (t->whole_end > t->in_off && t->whole_end > t->in_len))
		abort();
	if (rp__tls_in_need(t) > RP_TLS_WIRE_RECORD_MAX)
		abort();
	if (t->out_off > t->out_len || t->out_len > t->out_cap || t->out_len > (1u << 20))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rp_tls *t;
	uint8_t plain[4096];
	unsigned piece, room, n;
	bool done = false;
	int ret = RP_TLS_WANT;

	if (!size)
		return 0;
	piece = 1u + data[0] * 97u;
	data++;
	size--;
	t = rp__tls_new_server(srv, false);
	if (!t)
		abort();
	while (size && ret == RP_TLS_WANT) {
		uint8_t *p = rp__tls_in_room(t, &room);

		if (!room)
			abort(); /* a partial record always leaves room */
		n = (unsigned)(size < piece ? size : piece);
		if (n > room)
			n = room;
		memcpy(p, data, n);
		rp__tls_in_commit(t, n);
		data += n;
		size -= n;
		if (!done) {
			ret = rp__tls_handshake(t);
			done = ret == RP_TLS_DONE;
			if (done)
				ret = RP_TLS_WANT;
		}
		while (done && ret == RP_TLS_WANT && rp__tls_readable(t)) {
			ret = rp__tls_read(t, plain, sizeof(plain));
			if (ret > 0)
				ret = RP_TLS_WANT;
		}
		check(t);
		rp__tls_out(t, &n);
		rp__tls_out_consumed(t, n); /* as if sent */
	}
	rp__tls_free(t);
	return 0;
}

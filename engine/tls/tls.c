// SPDX-License-Identifier: BSD-2-Clause
/*
 * tls.c - BoringSSL contexts and connections over memory (tls.h), and the
 * kTLS handoff. Only BoringSSL's headers are in this file's include path
 * (/usr/include/android); no OpenSSL header may be.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/tls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hkdf.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "net/net.h"
#include "tls/tls.h"

#ifndef SOL_TLS
#define SOL_TLS 282
#endif
#ifndef TCP_ULP
#define TCP_ULP 31
#endif

/* The out buffer grows to hold a handshake flight or one write's records;
 * past this, something is wrong. */
#define OUT_MAX (4u << 20)

#define DEFAULT_CIPHERS                                                                  \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                     \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                     \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

struct cert_name {
	char name[256]; /* lower case; "*.example" for a wildcard */
	unsigned cert;
};

struct rp_tls_server {
	unsigned ncerts;
	SSL_CTX *ctx[RP_MAX_CERTS];
	unsigned nnames;
	struct cert_name *names;
	bool strict;
	uint8_t alpn[64]; /* wire format */
	unsigned alpn_len;
	uint8_t ticket_master[32];
	unsigned rotate_s;
};

struct rp_tls_client {
	SSL_CTX *ctx;
	char sni[RP_ROUTE_STR];
	bool verify;
};

static int ctx_index = -1, conn_index = -1;
static pthread_once_t index_once = PTHREAD_ONCE_INIT;

static void index_init(void)
{
	ctx_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	conn_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

/* The newest error BoringSSL queued, as text, and the queue cleared. */
static void ssl_error(char *out, size_t cap)
{
	uint32_t e = ERR_peek_last_error();

	if (e) {
		const char *reason = ERR_reason_error_string(e);

		snprintf(out, cap, "%s", reason ? reason : "unknown error");
	} else {
		snprintf(out, cap, "unknown error");
	}
	ERR_clear_error();
}

/* ---- the memory BIO ------------------------------------------------------- */

/* A TLS record header: type 20-24, version 3.x, a length that fits. */
static bool record_header(const uint8_t *p, unsigned *len)
{
	*len = (unsigned)p[3] << 8 | p[4];
	return p[0] >= 20 && p[0] <= 24 && p[1] == 3 &&
	       *len <= RP_TLS_WIRE_RECORD_MAX - 5;
}

/*
 * Moves whole_end past every whole record in the in buffer. Bytes that are
 * not TLS at all count as whole, for BoringSSL to refuse at once (a
 * plaintext request on a TLS port must not wait for a "record" to fill).
 */
static void scan_records(struct rp_tls *t)
{
	unsigned len;

	if (t->whole_end < t->in_off)
		t->whole_end = t->in_off;
	while (t->in_len - t->whole_end >= 5) {
		if (!record_header(t->in + t->whole_end, &len)) {
			t->whole_end = t->in_len;
			return;
		}
		if (t->in_len - t->whole_end < 5 + len)
			return;
		t->whole_end += 5 + len;
	}
}

uint8_t *rp__tls_in_room(struct rp_tls *t, unsigned *room)
{
	if (t->in_off) {
		memmove(t->in, t->in + t->in_off, t->in_len - t->in_off);
		t->in_len -= t->in_off;
		t->whole_end = t->whole_end > t->in_off ? t->whole_end - t->in_off : 0;
		t->in_off = 0;
	}
	*room = t->in_cap - t->in_len;
	return t->in + t->in_len;
}

unsigned rp__tls_in_need(const struct rp_tls *t)
{
	unsigned have = t->in_len - t->in_off, len;

	if (!have)
		return 0;
	if (have < 5)
		return 5 - have;
	if (!record_header(t->in + t->in_off, &len) || have >= 5 + len)
		return 0;
	return 5 + len - have;
}

bool rp__tls_readable(struct rp_tls *t)
{
	if (SSL_pending(t->ssl))
		return true;
	scan_records(t);
	return t->whole_end > t->in_off;
}

static int bio_read(BIO *b, char *out, int len)
{
	struct rp_tls *t = BIO_get_data(b);
	unsigned avail;

	if (t->whole_end <= t->in_off || t->whole_end > t->in_len)
		scan_records(t);
	avail = t->whole_end > t->in_off ? t->whole_end - t->in_off : 0;

	BIO_clear_retry_flags(b);
	if (!avail) {
		BIO_set_retry_read(b);
		return -1;
	}
	if ((unsigned)len > avail)
		len = (int)avail;
	memcpy(out, t->in + t->in_off, (size_t)len);
	t->in_off += (unsigned)len;
	return len;
}

static bool out_reserve(struct rp_tls *t, unsigned more)
{
	unsigned need;
	uint8_t *p;

	if (t->out_cap - t->out_len >= more)
		return true;
	if (t->out_off) {
		memmove(t->out, t->out + t->out_off, t->out_len - t->out_off);
		t->out_len -= t->out_off;
		t->out_off = 0;
		if (t->out_cap - t->out_len >= more)
			return true;
	}
	need = t->out_len + more;
	if (need > OUT_MAX)
		return false;
	need = need < 2 * t->out_cap ? 2 * t->out_cap : need;
	p = realloc(t->out, need);
	if (!p)
		return false;
	t->out = p;
	t->out_cap = need;
	return true;
}

static int bio_write(BIO *b, const char *in, int len)
{
	struct rp_tls *t = BIO_get_data(b);

	BIO_clear_retry_flags(b);
	if (len <= 0)
		return 0;
	if (!out_reserve(t, (unsigned)len))
		return -1;
	memcpy(t->out + t->out_len, in, (size_t)len);
	t->out_len += (unsigned)len;
	return len;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static int bio_destroy(BIO *b)
{
	(void)b;
	return 1;
}

static const BIO_METHOD mem_method = {
	.type = BIO_TYPE_SOURCE_SINK,
	.name = "ringproxy",
	.bwrite = bio_write,
	.bread = bio_read,
	.ctrl = bio_ctrl,
	.create = bio_create,
	.destroy = bio_destroy,
};

/* ---- certificates and the server context ---------------------------------- */

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

static int add_name(struct rp_tls_server *s, const uint8_t *p, size_t len, unsigned cert)
{
	struct cert_name *n;

	if (!len || len >= sizeof(n->name) || memchr(p, 0, len))
		return 0;
	n = realloc(s->names, (s->nnames + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	s->names = n;
	n = &s->names[s->nnames++];
	memcpy(n->name, p, len);
	n->name[len] = '\0';
	lower(n->name);
	n->cert = cert;
	return 0;
}

/* The names certificate @x answers for: its DNS SANs, or its CN. */
static int cert_names(struct rp_tls_server *s, X509 *x, unsigned cert)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	unsigned before = s->nnames;
	int ret = 0;

	if (gens) {
		for (size_t i = 0; i < sk_GENERAL_NAME_num(gens) && !ret; i++) {
			const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

			if (g->type == GEN_DNS)
				ret = add_name(s, ASN1_STRING_get0_data(g->d.dNSName),
					       (size_t)ASN1_STRING_length(g->d.dNSName),
					       cert);
		}
		GENERAL_NAMES_free(gens);
	}
	if (!ret && s->nnames == before) {
		X509_NAME *subj = X509_get_subject_name(x);
		int i = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);

		if (i >= 0) {
			ASN1_STRING *cn =
				X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i));

			ret = add_name(s, ASN1_STRING_get0_data(cn),
				       (size_t)ASN1_STRING_length(cn), cert);
		}
	}
	return ret;
}

int rp__tls_server_pick(const struct rp_tls_server *s, const char *name)
{
	char want[256];
	const char *dot;
	size_t len = strlen(name);

	if (!len || len >= sizeof(want))
		return -1;
	memcpy(want, name, len + 1);
	lower(want);
	if (want[len - 1] == '.') /* a fully qualified name */
		want[len - 1] = '\0';
	for (unsigned i = 0; i < s->nnames; i++)
		if (!strcmp(s->names[i].name, want))
			return (int)s->names[i].cert;
	/* "*.example" takes exactly one more label. */
	dot = strchr(want, '.');
	if (!dot || dot == want)
		return -1;
	for (unsigned i = 0; i < s->nnames; i++) {
		const char *n = s->names[i].name;

		if (n[0] == '*' && n[1] == '.' && !strcmp(n + 1, dot))
			return (int)s->names[i].cert;
	}
	return -1;
}

/* Picks the certificate by SNI: always called, SNI or not. */
static int cert_cb(SSL *ssl, void *arg)
{
	struct rp_tls_server *s = arg;
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	int i = name ? rp__tls_server_pick(s, name) : -1;

	if (i < 0) {
		if (s->strict)
			return 0;
		i = 0;
	}
	if (SSL_get_SSL_CTX(ssl) != s->ctx[i])
		SSL_set_SSL_CTX(ssl, s->ctx[i]);
	return 1;
}

static int alpn_cb(SSL *ssl, const uint8_t **out, uint8_t *outlen, const uint8_t *in,
		   unsigned inlen, void *arg)
{
	struct rp_tls_server *s = arg;
	uint8_t *o;

	(void)ssl;
	if (SSL_select_next_proto(&o, outlen, s->alpn, s->alpn_len, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = o;
	return SSL_TLSEXT_ERR_OK;
}

/* Ticket keys of one epoch, derived from the listener's random master
 * secret: every reactor computes the same keys with no shared state, and a
 * key lives two epochs (issued in one, accepted in the next). */
struct ticket_keys {
	uint8_t name[16];
	uint8_t aes[16];
	uint8_t hmac[32];
};

static void ticket_derive(const struct rp_tls_server *s, uint64_t epoch,
			  struct ticket_keys *k)
{
	uint8_t msg[9], out[EVP_MAX_MD_SIZE];
	unsigned n;

	for (int i = 0; i < 8; i++)
		msg[i] = (uint8_t)(epoch >> (56 - 8 * i));
	msg[8] = 'n';
	HMAC(EVP_sha256(), s->ticket_master, sizeof(s->ticket_master), msg, 9, out, &n);
	memcpy(k->name, out, 16);
	memcpy(k->aes, out + 16, 16);
	msg[8] = 'h';
	HMAC(EVP_sha256(), s->ticket_master, sizeof(s->ticket_master), msg, 9, out, &n);
	memcpy(k->hmac, out, 32);
}

static int ticket_cb(SSL *ssl, uint8_t *name, uint8_t *iv, EVP_CIPHER_CTX *ectx,
		     HMAC_CTX *hctx, int enc)
{
	const struct rp_tls_server *s =
		SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctx_index);
	uint64_t epoch = (uint64_t)time(NULL) / s->rotate_s;
	struct ticket_keys k;

	if (enc) {
		ticket_derive(s, epoch, &k);
		RAND_bytes(iv, EVP_MAX_IV_LENGTH);
		memcpy(name, k.name, 16);
		if (!EVP_EncryptInit_ex(ectx, EVP_aes_128_cbc(), NULL, k.aes, iv) ||
		    !HMAC_Init_ex(hctx, k.hmac, sizeof(k.hmac), EVP_sha256(), NULL))
			return -1;
		return 1;
	}
	for (unsigned age = 0; age < 2 && age <= epoch; age++) {
		ticket_derive(s, epoch - age, &k);
		if (memcmp(name, k.name, 16))
			continue;
		if (!EVP_DecryptInit_ex(ectx, EVP_aes_128_cbc(), NULL, k.aes, iv) ||
		    !HMAC_Init_ex(hctx, k.hmac, sizeof(k.hmac), EVP_sha256(), NULL))
			return -1;
		return age ? 2 : 1; /* 2: accepted, and a fresh ticket is issued */
	}
	return 0; /* unknown or too old: a full handshake */
}

static void keylog_cb(const SSL *ssl, const char *line)
{
	struct rp_tls *t = SSL_get_ex_data(ssl, conn_index);
	uint8_t *dst;
	const char *hex;
	size_t n;

	if (!t || !t->want_ktls)
		return;
	if (!strncmp(line, "CLIENT_TRAFFIC_SECRET_0 ", 24))
		dst = t->client_secret;
	else if (!strncmp(line, "SERVER_TRAFFIC_SECRET_0 ", 24))
		dst = t->server_secret;
	else
		return;
	hex = strchr(line + 24, ' ');
	if (!hex)
		return;
	hex++;
	n = strlen(hex) / 2;
	if (n > sizeof(t->client_secret))
		return;
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return;
		dst[i] = (uint8_t)v;
	}
	t->secret_len = (uint8_t)n;
	if (dst == t->server_secret)
		t->have_secrets = true;
}

/* Opens @path to tell "missing" and "unreadable" apart from bad content. */
static int file_check(const char *what, const char *path, const char *a, char *err,
		      size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		int e = errno;

		snprintf(err, errlen, "listener %s: tls %s %s: %s", a, what, path,
			 strerror(e));
		return -e;
	}
	close(fd);
	return 0;
}

/* UTCTime "YYMMDDHHMMSSZ" or GeneralizedTime "YYYYMMDDHHMMSSZ" as text. */
static void asn1_time_text(const ASN1_TIME *t, char *out, size_t cap)
{
	const char *d = (const char *)ASN1_STRING_get0_data(t);
	int n = ASN1_STRING_length(t);
	int y;

	if (n == 13) {
		y = (d[0] - '0') * 10 + (d[1] - '0');
		y += y < 50 ? 2000 : 1900;
	} else if (n == 15) {
		y = atoi((char[5]){d[0], d[1], d[2], d[3], 0});
		d += 2;
	} else {
		snprintf(out, cap, "(unreadable date)");
		return;
	}
	snprintf(out, cap, "%04d-%.2s-%.2s %.2s:%.2s:%.2s UTC", y, d + 2, d + 4, d + 6,
		 d + 8, d + 10);
}

static int server_ctx(struct rp_tls_server *s, const struct rp_listener_config *l,
		      unsigned i, const char *a, char *err, size_t errlen)
{
	const struct rp_tls_listener_config *tc = &l->tls;
	const struct rp_tls_cert_config *cc = &tc->certs[i];
	char why[160], when[40];
	SSL_CTX *ctx;
	X509 *x;
	int ret;

	ret = file_check("certificate", cc->cert, a, err, errlen);
	if (!ret)
		ret = file_check("key", cc->key, a, err, errlen);
	if (ret < 0)
		return ret;
	ctx = SSL_CTX_new(TLS_method());
	if (!ctx)
		return -ENOMEM;
	s->ctx[i] = ctx;
	SSL_CTX_set_ex_data(ctx, ctx_index, s);
	if (!SSL_CTX_use_certificate_chain_file(ctx, cc->cert)) {
		ssl_error(why, sizeof(why));
		snprintf(err, errlen,
			 "listener %s: tls certificate %s: not a PEM certificate chain "
			 "(%s)",
			 a, cc->cert, why);
		return -EINVAL;
	}
	if (!SSL_CTX_use_PrivateKey_file(ctx, cc->key, SSL_FILETYPE_PEM)) {
		if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
			ERR_clear_error();
			snprintf(err, errlen,
				 "listener %s: tls key %s does not match certificate %s",
				 a, cc->key, cc->cert);
			return -EINVAL;
		}
		ssl_error(why, sizeof(why));
		snprintf(err, errlen,
			 "listener %s: tls key %s: not a PEM private key (%s)", a,
			 cc->key, why);
		return -EINVAL;
	}
	if (!SSL_CTX_check_private_key(ctx)) {
		ERR_clear_error();
		snprintf(err, errlen,
			 "listener %s: tls key %s does not match certificate %s", a,
			 cc->key, cc->cert);
		return -EINVAL;
	}
	x = SSL_CTX_get0_certificate(ctx);
	if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0) {
		asn1_time_text(X509_get0_notAfter(x), when, sizeof(when));
		snprintf(err, errlen, "listener %s: tls certificate %s expired on %s", a,
			 cc->cert, when);
		return -EINVAL;
	}
	if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0) {
		asn1_time_text(X509_get0_notBefore(x), when, sizeof(when));
		snprintf(err, errlen,
			 "listener %s: tls certificate %s is not valid before %s", a,
			 cc->cert, when);
		return -EINVAL;
	}
	ret = cert_names(s, x, i);
	if (ret < 0)
		return ret;
	if (!SSL_CTX_set_min_proto_version(ctx, (uint16_t)tc->min_version) ||
	    !SSL_CTX_set_max_proto_version(ctx, (uint16_t)tc->max_version)) {
		snprintf(err, errlen, "listener %s: tls versions 0x%04x-0x%04x refused",
			 a, tc->min_version, tc->max_version);
		return -EINVAL;
	}
	if (!SSL_CTX_set_strict_cipher_list(ctx, tc->ciphers[0] ? tc->ciphers
								: DEFAULT_CIPHERS)) {
		ERR_clear_error();
		snprintf(err, errlen,
			 "listener %s: tls ciphers '%s': not a cipher list BoringSSL "
			 "knows",
			 a, tc->ciphers);
		return -EINVAL;
	}
	SSL_CTX_set_cert_cb(ctx, cert_cb, s);
	if (s->alpn_len)
		SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, s);
	/* No server-side cache: reactors share nothing; tickets resume. With
	 * the cache mode on, TLS 1.2 would hand out session IDs that can
	 * never resume, which clients then keep offering. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (tc->tickets) {
		SSL_CTX_set_tlsext_ticket_key_cb(ctx, ticket_cb);
		SSL_CTX_set_timeout(ctx, 2 * tc->ticket_rotate_s);
		SSL_CTX_set_session_psk_dhe_timeout(ctx, 2 * tc->ticket_rotate_s);
	} else {
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	}
	if (tc->ktls != RP_KTLS_OFF)
		SSL_CTX_set_keylog_callback(ctx, keylog_cb);
	return 0;
}

/* "h2,http/1.1" -> wire format (length-prefixed). */
static int alpn_wire(const char *list, uint8_t *out, unsigned cap, unsigned *len)
{
	unsigned n = 0;

	while (*list) {
		const char *end = strchr(list, ',');
		size_t l = end ? (size_t)(end - list) : strlen(list);

		if (!l || l > 255 || n + 1 + l > cap)
			return -EINVAL;
		out[n++] = (uint8_t)l;
		memcpy(out + n, list, l);
		n += (unsigned)l;
		list += l + (end ? 1 : 0);
	}
	*len = n;
	return 0;
}

const char *rp__tls_alpn_h2(const char *list)
{
	while (*list) {
		const char *end = strchr(list, ',');
		size_t l = end ? (size_t)(end - list) : strlen(list);

		if (l == 2 && !memcmp(list, "h2", 2))
			return "h2";
		if (l == 3 && !memcmp(list, "h2c", 3))
			return "h2c";
		list += l + (end ? 1 : 0);
	}
	return NULL;
}

int rp__tls_server_new(const struct rp_listener_config *l, bool http,
		       struct rp_tls_server **out, char *err, size_t errlen)
{
	const struct rp_tls_listener_config *tc = &l->tls;
	struct rp_tls_server *s;
	char a[RP_ADDRSTRLEN];
	const char *alpn;
	int ret;

	pthread_once(&index_once, index_init);
	*out = NULL;
	rp__addr_format(&l->addr, a, sizeof(a));
	if (!tc->ncerts || tc->ncerts > RP_MAX_CERTS) {
		snprintf(err, errlen, "listener %s: tls needs 1 to %d certificates", a,
			 RP_MAX_CERTS);
		return -EINVAL;
	}
	if (!tc->ticket_rotate_s || !tc->handshake_timeout_ms) {
		snprintf(err, errlen,
			 "listener %s: tls ticket rotation and handshake timeout must be "
			 "positive",
			 a);
		return -EINVAL;
	}
	if ((tc->min_version != 0x0303 && tc->min_version != 0x0304) ||
	    (tc->max_version != 0x0303 && tc->max_version != 0x0304) ||
	    tc->min_version > tc->max_version) {
		snprintf(err, errlen,
			 "listener %s: tls versions must be 1.2 or 1.3, min <= max", a);
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->strict = tc->strict_sni;
	s->rotate_s = tc->ticket_rotate_s;
	RAND_bytes(s->ticket_master, sizeof(s->ticket_master));
	alpn = tc->alpn[0] ? tc->alpn : http ? "http/1.1" : "";
	if (alpn_wire(alpn, s->alpn, sizeof(s->alpn), &s->alpn_len) < 0) {
		snprintf(err, errlen,
			 "listener %s: tls alpn '%s': expected protocol names separated "
			 "by "
			 "commas",
			 a, alpn);
		ret = -EINVAL;
		goto fail;
	}
	for (unsigned i = 0; i < tc->ncerts; i++) {
		s->ncerts = i + 1;
		ret = server_ctx(s, l, i, a, err, errlen);
		if (ret < 0)
			goto fail;
	}
	*out = s;
	return 0;
fail:
	if (ret == -ENOMEM)
		snprintf(err, errlen, "listener %s: out of memory loading tls", a);
	rp__tls_server_free(s);
	return ret;
}

void rp__tls_server_free(struct rp_tls_server *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < s->ncerts; i++)
		SSL_CTX_free(s->ctx[i]);
	free(s->names);
	OPENSSL_cleanse(s->ticket_master, sizeof(s->ticket_master));
	free(s);
}

/* ---- the client context (re-encryption) ----------------------------------- */

int rp__tls_client_new(const struct rp_cluster_config *c, struct rp_tls_client **out,
		       char *err, size_t errlen)
{
	const struct rp_tls_backend_config *tc = &c->tls;
	struct rp_tls_client *cl;
	char why[160];

	pthread_once(&index_once, index_init);
	*out = NULL;
	if (tc->ca[0]) {
		int fd = open(tc->ca, O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			int e = errno;

			snprintf(err, errlen, "cluster %s: tls ca %s: %s", c->name,
				 tc->ca, strerror(e));
			return -e;
		}
		close(fd);
	}
	cl = calloc(1, sizeof(*cl));
	if (!cl)
		return -ENOMEM;
	cl->ctx = SSL_CTX_new(TLS_method());
	if (!cl->ctx) {
		free(cl);
		return -ENOMEM;
	}
	snprintf(cl->sni, sizeof(cl->sni), "%s", tc->sni);
	cl->verify = tc->verify;
	SSL_CTX_set_min_proto_version(cl->ctx, TLS1_2_VERSION);
	if (tc->verify) {
		int ok = tc->ca[0] ? SSL_CTX_load_verify_locations(cl->ctx, tc->ca, NULL)
				   : SSL_CTX_set_default_verify_paths(cl->ctx);

		if (!ok) {
			ssl_error(why, sizeof(why));
			snprintf(err, errlen,
				 "cluster %s: tls ca %s: no PEM certificate could be "
				 "loaded "
				 "(%s)",
				 c->name, tc->ca[0] ? tc->ca : "(system default)", why);
			rp__tls_client_free(cl);
			return -EINVAL;
		}
		SSL_CTX_set_verify(cl->ctx, SSL_VERIFY_PEER, NULL);
	}
	if (tc->ktls != RP_KTLS_OFF)
		SSL_CTX_set_keylog_callback(cl->ctx, keylog_cb);
	*out = cl;
	return 0;
}

void rp__tls_client_free(struct rp_tls_client *c)
{
	if (!c)
		return;
	SSL_CTX_free(c->ctx);
	free(c);
}

/* ---- connections ---------------------------------------------------------- */

static struct rp_tls *conn_new(SSL_CTX *ctx, bool server, bool ktls)
{
	struct rp_tls *t = calloc(1, sizeof(*t));
	BIO *bio;

	if (!t)
		return NULL;
	t->server = server;
	t->want_ktls = ktls;
	t->in_cap = RP_TLS_WIRE_RECORD_MAX;
	t->out_cap = 8192;
	t->in = malloc(t->in_cap);
	t->out = malloc(t->out_cap);
	t->ssl = SSL_new(ctx);
	bio = BIO_new(&mem_method);
	if (!t->in || !t->out || !t->ssl || !bio) {
		BIO_free(bio);
		rp__tls_free(t);
		return NULL;
	}
	BIO_set_data(bio, t);
	SSL_set_bio(t->ssl, bio, bio); /* one reference, taken for both */
	SSL_set_ex_data(t->ssl, conn_index, t);
	if (server)
		SSL_set_accept_state(t->ssl);
	else
		SSL_set_connect_state(t->ssl);
	return t;
}

struct rp_tls *rp__tls_new_server(struct rp_tls_server *s, bool ktls)
{
	return conn_new(s->ctx[0], true, ktls);
}

struct rp_tls *rp__tls_new_client(struct rp_tls_client *c, bool ktls)
{
	struct rp_tls *t = conn_new(c->ctx, false, ktls);

	if (!t)
		return NULL;
	if (c->sni[0]) {
		SSL_set_tlsext_host_name(t->ssl, c->sni);
		if (c->verify)
			SSL_set1_host(t->ssl, c->sni);
	}
	return t;
}

void rp__tls_free(struct rp_tls *t)
{
	if (!t)
		return;
	SSL_free(t->ssl);
	free(t->in);
	free(t->out);
	OPENSSL_cleanse(t->client_secret, sizeof(t->client_secret));
	OPENSSL_cleanse(t->server_secret, sizeof(t->server_secret));
	free(t);
}

static int fail(struct rp_tls *t, int ret)
{
	int e = SSL_get_error(t->ssl, ret);

	switch (e) {
	case SSL_ERROR_WANT_READ:
		return RP_TLS_WANT;
	case SSL_ERROR_ZERO_RETURN:
		return RP_TLS_CLOSED;
	case SSL_ERROR_SSL:
		ssl_error(t->errbuf, sizeof(t->errbuf));
		return RP_TLS_FAILED;
	default:
		snprintf(t->errbuf, sizeof(t->errbuf), "error %d", e);
		ERR_clear_error();
		return RP_TLS_FAILED;
	}
}

enum rp_tls_want rp__tls_handshake(struct rp_tls *t)
{
	int ret = SSL_do_handshake(t->ssl);

	if (ret == 1) {
		/* A TLS 1.3 server's NewSessionTickets are queued, not written,
		 * when the handshake ends: BoringSSL holds them for the next
		 * SSL_write, which may never come (a client that waits for its
		 * ticket before it speaks) or come after the kTLS handoff, when
		 * BoringSSL no longer writes. A zero-length write seals them now
		 * (and advances the write sequence the kernel will continue);
		 * it returns 0 on success, <0 when the out buffer refused them. */
		if (t->server && SSL_write(t->ssl, "", 0) < 0) {
			snprintf(t->errbuf, sizeof(t->errbuf),
				 "no memory for the session tickets");
			ERR_clear_error();
			return RP_TLS_NOMEM;
		}
		return RP_TLS_DONE;
	}
	ret = fail(t, ret);
	return ret == RP_TLS_CLOSED ? RP_TLS_FAILED : (enum rp_tls_want)ret;
}

int rp__tls_read(struct rp_tls *t, void *buf, unsigned cap)
{
	int ret = SSL_read(t->ssl, buf, (int)(cap > INT32_MAX ? INT32_MAX : cap));

	return ret > 0 ? ret : fail(t, ret);
}

int rp__tls_write(struct rp_tls *t, const void *buf, unsigned len)
{
	while (len) {
		int ret =
			SSL_write(t->ssl, buf, (int)(len > (1u << 30) ? 1u << 30 : len));

		if (ret <= 0) {
			ret = fail(t, ret);
			return ret == RP_TLS_WANT ? RP_TLS_NOMEM : RP_TLS_FAILED;
		}
		buf = (const uint8_t *)buf + ret;
		len -= (unsigned)ret;
	}
	return 0;
}

void rp__tls_close_notify(struct rp_tls *t)
{
	SSL_shutdown(t->ssl);
	ERR_clear_error();
}

const char *rp__tls_version(const struct rp_tls *t)
{
	return SSL_get_version(t->ssl);
}

const char *rp__tls_cipher(const struct rp_tls *t)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(t->ssl);

	return c ? SSL_CIPHER_get_name(c) : "-";
}

bool rp__tls_resumed(const struct rp_tls *t)
{
	return SSL_session_reused(t->ssl);
}

const char *rp__tls_sni(const struct rp_tls *t)
{
	return SSL_get_servername(t->ssl, TLSEXT_NAMETYPE_host_name);
}

/* ---- kTLS ------------------------------------------------------------------- */

static int tcp_pair(int *a, int *b)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	int l, c = -1, s = -1, e = 0;

	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0)
		return -errno;
	if (bind(l, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&sin, &len) < 0)
		goto fail;
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		goto fail;
	s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (s < 0)
		goto fail;
	close(l);
	*a = c;
	*b = s;
	return 0;
fail:
	e = errno;
	if (c >= 0)
		close(c);
	close(l);
	return -e;
}

/* Whether TLS_TX with @cipher takes on a fresh connection. */
static bool probe_cipher(uint16_t cipher)
{
	union {
		struct tls12_crypto_info_aes_gcm_128 g128;
		struct tls12_crypto_info_aes_gcm_256 g256;
		struct tls12_crypto_info_chacha20_poly1305 cc;
	} ci;
	socklen_t len = cipher == TLS_CIPHER_AES_GCM_128   ? sizeof(ci.g128)
			: cipher == TLS_CIPHER_AES_GCM_256 ? sizeof(ci.g256)
							   : sizeof(ci.cc);
	int a, b;
	bool ok;

	if (tcp_pair(&a, &b) < 0)
		return false;
	memset(&ci, 0, sizeof(ci));
	ci.g128.info.version = TLS_1_3_VERSION;
	ci.g128.info.cipher_type = cipher;
	ok = !setsockopt(a, SOL_TCP, TCP_ULP, "tls", 3) &&
	     !setsockopt(a, SOL_TLS, TLS_TX, &ci, len);
	close(a);
	close(b);
	return ok;
}

static struct rp_ktls_caps caps;
static pthread_once_t caps_once = PTHREAD_ONCE_INIT;

static void probe(void)
{
	int a, b, ret;

	ret = tcp_pair(&a, &b);
	if (ret < 0) {
		caps.ulp_errno = -ret;
		return;
	}
	if (setsockopt(a, SOL_TCP, TCP_ULP, "tls", 3) < 0)
		caps.ulp_errno = errno;
	else
		caps.ulp = true;
	close(a);
	close(b);
	if (!caps.ulp)
		return;
	caps.aes128 = probe_cipher(TLS_CIPHER_AES_GCM_128);
	caps.aes256 = probe_cipher(TLS_CIPHER_AES_GCM_256);
	caps.chacha = probe_cipher(TLS_CIPHER_CHACHA20_POLY1305);
}

const struct rp_ktls_caps *rp__ktls_probe(void)
{
	pthread_once(&caps_once, probe);
	return &caps;
}

void rp__ktls_describe(const struct rp_ktls_caps *c, char *out, size_t cap)
{
	if (!c->ulp)
		snprintf(out, cap,
			 "kTLS: not available (tls ULP: %s); TLS records are done in "
			 "userspace",
			 strerror(c->ulp_errno));
	else
		snprintf(out, cap, "kTLS: available (%s%s%s)",
			 c->aes128 ? "aes-128-gcm " : "", c->aes256 ? "aes-256-gcm " : "",
			 c->chacha ? "chacha20-poly1305" : "");
}

bool rp__tls_ktls_cipher(const struct rp_tls *t, const struct rp_ktls_caps *c)
{
	const SSL_CIPHER *ci = SSL_get_current_cipher(t->ssl);
	int nid;

	if (!c->ulp || !ci)
		return false;
	if (SSL_version(t->ssl) == TLS1_3_VERSION && !t->have_secrets)
		return false;
	nid = SSL_CIPHER_get_cipher_nid(ci);
	return (nid == NID_aes_128_gcm && c->aes128) ||
	       (nid == NID_aes_256_gcm && c->aes256) ||
	       (nid == NID_chacha20_poly1305 && c->chacha);
}

/* HKDF-Expand-Label(secret, label, "", len) of RFC 8446 7.1. */
static int expand_label(const EVP_MD *md, const uint8_t *secret, size_t slen,
			const char *label, uint8_t *out, size_t len)
{
	uint8_t info[2 + 1 + 6 + 16 + 1];
	size_t ll = strlen(label), n = 0;

	info[n++] = (uint8_t)(len >> 8);
	info[n++] = (uint8_t)len;
	info[n++] = (uint8_t)(6 + ll);
	memcpy(info + n, "tls13 ", 6);
	n += 6;
	memcpy(info + n, label, ll);
	n += ll;
	info[n++] = 0;
	return HKDF_expand(out, len, md, secret, slen, info, n) ? 0 : -EINVAL;
}

union ktls_info {
	struct tls_crypto_info info;
	struct tls12_crypto_info_aes_gcm_128 g128;
	struct tls12_crypto_info_aes_gcm_256 g256;
	struct tls12_crypto_info_chacha20_poly1305 cc;
};

static void be64(uint8_t out[8], uint64_t v)
{
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(v >> (56 - 8 * i));
}

/*
 * The crypto info of one direction. @key and @iv are the traffic key and
 * the full (TLS 1.3, ChaCha20) or fixed (TLS 1.2 GCM, 4 bytes) IV.
 */
static socklen_t fill_info(union ktls_info *ci, bool tls13, int nid, const uint8_t *key,
			   const uint8_t *iv, uint64_t seq)
{
	memset(ci, 0, sizeof(*ci));
	ci->info.version = tls13 ? TLS_1_3_VERSION : TLS_1_2_VERSION;
	if (nid == NID_chacha20_poly1305) {
		ci->info.cipher_type = TLS_CIPHER_CHACHA20_POLY1305;
		memcpy(ci->cc.key, key, 32);
		memcpy(ci->cc.iv, iv, 12);
		be64(ci->cc.rec_seq, seq);
		return sizeof(ci->cc);
	}
	if (nid == NID_aes_256_gcm) {
		ci->info.cipher_type = TLS_CIPHER_AES_GCM_256;
		memcpy(ci->g256.key, key, 32);
		memcpy(ci->g256.salt, iv, 4);
		if (tls13)
			memcpy(ci->g256.iv, iv + 4, 8);
		else
			be64(ci->g256.iv,
			     seq); /* the explicit nonce: BoringSSL's is seq */
		be64(ci->g256.rec_seq, seq);
		return sizeof(ci->g256);
	}
	ci->info.cipher_type = TLS_CIPHER_AES_GCM_128;
	memcpy(ci->g128.key, key, 16);
	memcpy(ci->g128.salt, iv, 4);
	if (tls13)
		memcpy(ci->g128.iv, iv + 4, 8);
	else
		be64(ci->g128.iv, seq);
	be64(ci->g128.rec_seq, seq);
	return sizeof(ci->g128);
}

int rp__tls_ktls(struct rp_tls *t, int fd, bool *clean)
{
	SSL *ssl = t->ssl;
	const SSL_CIPHER *ci = SSL_get_current_cipher(ssl);
	int nid = SSL_CIPHER_get_cipher_nid(ci);
	bool tls13 = SSL_version(ssl) == TLS1_3_VERSION;
	size_t klen = nid == NID_aes_128_gcm ? 16 : 32;
	uint8_t rkey[32], wkey[32], riv[12], wiv[12];
	union ktls_info rx, tx;
	socklen_t rlen, tlen;
	int ret = 0;

	*clean = true;
	if (rp__tls_in_pending(t) || t->out_len != t->out_off || SSL_pending(ssl))
		return -EAGAIN; /* BoringSSL still holds records: not at a boundary */
	if (tls13) {
		const EVP_MD *md = t->secret_len == 48 ? EVP_sha384() : EVP_sha256();
		const uint8_t *rs = t->server ? t->client_secret : t->server_secret;
		const uint8_t *ws = t->server ? t->server_secret : t->client_secret;

		if (expand_label(md, rs, t->secret_len, "key", rkey, klen) ||
		    expand_label(md, rs, t->secret_len, "iv", riv, 12) ||
		    expand_label(md, ws, t->secret_len, "key", wkey, klen) ||
		    expand_label(md, ws, t->secret_len, "iv", wiv, 12))
			return -EINVAL;
	} else {
		uint8_t kb[2 * (32 + 12)];
		size_t n = SSL_get_key_block_len(ssl), ivlen;
		const uint8_t *ck, *sk, *civ, *siv;

		if (n > sizeof(kb) || n / 2 < klen || !SSL_generate_key_block(ssl, kb, n))
			return -EINVAL;
		ivlen = n / 2 - klen; /* AEAD suites have no MAC key */
		if (ivlen != (nid == NID_chacha20_poly1305 ? 12u : 4u))
			return -EINVAL;
		ck = kb;
		sk = kb + klen;
		civ = kb + 2 * klen;
		siv = civ + ivlen;
		memcpy(rkey, t->server ? ck : sk, klen);
		memcpy(wkey, t->server ? sk : ck, klen);
		memcpy(riv, t->server ? civ : siv, ivlen);
		memcpy(wiv, t->server ? siv : civ, ivlen);
		OPENSSL_cleanse(kb, sizeof(kb));
	}
	rlen = fill_info(&rx, tls13, nid, rkey, riv, SSL_get_read_sequence(ssl));
	tlen = fill_info(&tx, tls13, nid, wkey, wiv, SSL_get_write_sequence(ssl));
	if (setsockopt(fd, SOL_TCP, TCP_ULP, "tls", 3) < 0 ||
	    setsockopt(fd, SOL_TLS, TLS_RX, &rx, rlen) < 0) {
		ret = -errno;
		goto out;
	}
	*clean = false;
	t->ktls_rx = true;
	if (setsockopt(fd, SOL_TLS, TLS_TX, &tx, tlen) < 0) {
		ret = -errno;
		goto out;
	}
	t->ktls_tx = true;
out:
	OPENSSL_cleanse(&rx, sizeof(rx));
	OPENSSL_cleanse(&tx, sizeof(tx));
	OPENSSL_cleanse(rkey, sizeof(rkey));
	OPENSSL_cleanse(wkey, sizeof(wkey));
	OPENSSL_cleanse(riv, sizeof(riv));
	OPENSSL_cleanse(wiv, sizeof(wiv));
	return ret;
}

void rp__ktls_close_notify(int fd)
{
	uint8_t alert[2] = {1, 0}; /* warning, close_notify */
	char cbuf[CMSG_SPACE(sizeof(uint8_t))] = {0};
	struct iovec iov = {alert, sizeof(alert)};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_TLS;
	cm->cmsg_type = TLS_SET_RECORD_TYPE;
	cm->cmsg_len = CMSG_LEN(sizeof(uint8_t));
	*CMSG_DATA(cm) = 21; /* alert */
	(void)sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
}

int rp__ktls_control(int fd)
{
	uint8_t buf[RP_TLS_WIRE_RECORD_MAX];
	char cbuf[CMSG_SPACE(sizeof(uint8_t))];
	struct iovec iov = {buf, sizeof(buf)};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm;
	uint8_t type = 0;
	ssize_t n;

	n = recvmsg(fd, &msg, MSG_DONTWAIT);
	if (n < 0)
		return -errno;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
		if (cm->cmsg_level == SOL_TLS && cm->cmsg_type == TLS_GET_RECORD_TYPE)
			type = *CMSG_DATA(cm);
	switch (type) {
	case 21: /* alert */
		/* close_notify ends the peer's direction only: ours may still
		 * carry data, and our close_notify goes when it ends (the
		 * caller's clean close), not now, before that data. */
		if (n >= 2 && buf[1] == 0)
			return 0;
		return -ECONNRESET;
	case 22:			   /* handshake */
		if (n >= 1 && buf[0] == 4) /* NewSessionTicket (we are a client) */
			return 1;
		/* KeyUpdate, or anything else: the kernels kTLS runs on here
		 * cannot rekey a socket, so the connection ends rather than
		 * corrupt the stream. No close_notify from here: the caller
		 * sends one where the stream is at a clean end (HTTP between
		 * requests), and resets it where data may be cut (a tunnel),
		 * so that a truncation never looks like a complete stream. */
		return -EPROTO;
	default:
		return -EPROTO;
	}
}

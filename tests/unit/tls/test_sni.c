// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_sni.c - the ClientHello peek: a real OpenSSL ClientHello, hellos
 * built here with and without SNI/ALPN, every proper prefix asking for more
 * bytes, hellos fragmented over several records (down to 1-byte records),
 * every length field made one too long and one too short, duplicate
 * extensions, two host_names, bad host characters, SSLv2 and plaintext HTTP
 * refused on their first byte, and ClientHellos larger than the peek buffer.
 * Also the names of SNI passthrough routes: which are valid, and which
 * server names each one matches.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "tls/sni.h"
#include "unit.h"

/*
 * Captured on 127.0.0.1 with a python socket listener that saved the first
 * bytes received, while running (OpenSSL 3.0):
 *   openssl s_client -connect 127.0.0.1:PORT -servername example.com \
 *           -alpn h2,http/1.1 </dev/null
 * One 335-byte record: TLS 1.3 ClientHello, record version 0x0301.
 */
static const uint8_t openssl_hello[] = {
	0x16, 0x03, 0x01, 0x01, 0x4a, 0x01, 0x00, 0x01, 0x46, 0x03, 0x03, 0xad, 0x46,
	0xd4, 0x74, 0x2d, 0x10, 0xe5, 0x31, 0x2f, 0xfa, 0xfd, 0x19, 0x2a, 0x43, 0x11,
	0x13, 0xea, 0x2c, 0xe0, 0xef, 0x40, 0x40, 0x67, 0x02, 0xfd, 0x15, 0xcb, 0xe4,
	0xad, 0x9a, 0xb5, 0xd0, 0x20, 0x2f, 0x5a, 0xf6, 0xff, 0x98, 0x44, 0xa4, 0x61,
	0x81, 0x4c, 0x9f, 0x91, 0xc2, 0x1a, 0xaf, 0xda, 0x20, 0x79, 0x72, 0x26, 0xf9,
	0xd8, 0xf2, 0x81, 0x7d, 0xae, 0x33, 0x55, 0x08, 0xf7, 0x51, 0x75, 0x00, 0x3e,
	0x13, 0x02, 0x13, 0x03, 0x13, 0x01, 0xc0, 0x2c, 0xc0, 0x30, 0x00, 0x9f, 0xcc,
	0xa9, 0xcc, 0xa8, 0xcc, 0xaa, 0xc0, 0x2b, 0xc0, 0x2f, 0x00, 0x9e, 0xc0, 0x24,
	0xc0, 0x28, 0x00, 0x6b, 0xc0, 0x23, 0xc0, 0x27, 0x00, 0x67, 0xc0, 0x0a, 0xc0,
	0x14, 0x00, 0x39, 0xc0, 0x09, 0xc0, 0x13, 0x00, 0x33, 0x00, 0x9d, 0x00, 0x9c,
	0x00, 0x3d, 0x00, 0x3c, 0x00, 0x35, 0x00, 0x2f, 0x00, 0xff, 0x01, 0x00, 0x00,
	0xbf, 0x00, 0x00, 0x00, 0x10, 0x00, 0x0e, 0x00, 0x00, 0x0b, 0x65, 0x78, 0x61,
	0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x63, 0x6f, 0x6d, 0x00, 0x0b, 0x00, 0x04, 0x03,
	0x00, 0x01, 0x02, 0x00, 0x0a, 0x00, 0x16, 0x00, 0x14, 0x00, 0x1d, 0x00, 0x17,
	0x00, 0x1e, 0x00, 0x19, 0x00, 0x18, 0x01, 0x00, 0x01, 0x01, 0x01, 0x02, 0x01,
	0x03, 0x01, 0x04, 0x00, 0x23, 0x00, 0x00, 0x00, 0x10, 0x00, 0x0e, 0x00, 0x0c,
	0x02, 0x68, 0x32, 0x08, 0x68, 0x74, 0x74, 0x70, 0x2f, 0x31, 0x2e, 0x31, 0x00,
	0x16, 0x00, 0x00, 0x00, 0x17, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x2a, 0x00, 0x28,
	0x04, 0x03, 0x05, 0x03, 0x06, 0x03, 0x08, 0x07, 0x08, 0x08, 0x08, 0x09, 0x08,
	0x0a, 0x08, 0x0b, 0x08, 0x04, 0x08, 0x05, 0x08, 0x06, 0x04, 0x01, 0x05, 0x01,
	0x06, 0x01, 0x03, 0x03, 0x03, 0x01, 0x03, 0x02, 0x04, 0x02, 0x05, 0x02, 0x06,
	0x02, 0x00, 0x2b, 0x00, 0x09, 0x08, 0x03, 0x04, 0x03, 0x03, 0x03, 0x02, 0x03,
	0x01, 0x00, 0x2d, 0x00, 0x02, 0x01, 0x01, 0x00, 0x33, 0x00, 0x26, 0x00, 0x24,
	0x00, 0x1d, 0x00, 0x20, 0xee, 0xcd, 0xcf, 0xeb, 0xc0, 0x55, 0x53, 0x16, 0xa8,
	0x60, 0xf4, 0x35, 0xc9, 0x38, 0xd0, 0x87, 0x02, 0x32, 0x48, 0xdf, 0xda, 0xba,
	0xec, 0x07, 0xcc, 0x75, 0xc2, 0x58, 0x00, 0x52, 0x8f, 0x4a};

/* --- A small ClientHello builder --------------------------------------- */

#define FIELDS_MAX 32

struct msg {
	uint8_t b[70000];
	size_t n;
	/* Where each length field the builder wrote is, to corrupt it. */
	struct {
		size_t at;
		unsigned width;
	} field[FIELDS_MAX];
	unsigned nfield;
};

static void put(struct msg *m, unsigned width, uint32_t v)
{
	for (unsigned i = width; i-- > 0;)
		m->b[m->n++] = (uint8_t)(v >> (8 * i));
}

static void put_bytes(struct msg *m, const void *p, size_t len)
{
	if (len) /* memcpy with a NULL source is undefined even for 0 bytes */
		memcpy(m->b + m->n, p, len);
	m->n += len;
}

/* Opens a vector with a @width-byte length; close() fills it in. */
static size_t open_len(struct msg *m, unsigned width)
{
	size_t at = m->n;

	put(m, width, 0);
	return at;
}

static void close_len(struct msg *m, size_t at, unsigned width)
{
	size_t len = m->n - at - width;

	for (unsigned i = 0; i < width; i++)
		m->b[at + i] = (uint8_t)(len >> (8 * (width - 1 - i)));
	m->field[m->nfield].at = at;
	m->field[m->nfield++].width = width;
}

struct hello {
	size_t body, exts;
};

static struct hello hello_begin(struct msg *m)
{
	static const uint16_t suites[] = {0x1301, 0x1302, 0xc02f, 0x009c};
	struct hello h;
	size_t sid;

	memset(m, 0, sizeof(*m));
	put(m, 1, 1); /* client_hello */
	h.body = open_len(m, 3);
	put(m, 2, 0x0303);
	for (int i = 0; i < 32; i++)
		put(m, 1, 0xa0 + i); /* random */
	sid = open_len(m, 1);
	for (int i = 0; i < 32; i++)
		put(m, 1, 0x40 + i);
	close_len(m, sid, 1);
	sid = open_len(m, 2);
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		put(m, 2, suites[i]);
	close_len(m, sid, 2);
	sid = open_len(m, 1);
	put(m, 1, 0); /* null compression */
	close_len(m, sid, 1);
	h.exts = open_len(m, 2);
	return h;
}

static void hello_end(struct msg *m, struct hello h)
{
	close_len(m, h.exts, 2);
	close_len(m, h.body, 3);
}

static void ext_raw(struct msg *m, uint16_t type, const void *data, size_t len)
{
	size_t at;

	put(m, 2, type);
	at = open_len(m, 2);
	put_bytes(m, data, len);
	close_len(m, at, 2);
}

/* server_name with one host_name entry per argument, NULL-terminated. */
static void ext_sni(struct msg *m, ...)
{
	size_t ext, list;
	const char *name;
	va_list ap;

	put(m, 2, 0);
	ext = open_len(m, 2);
	list = open_len(m, 2);
	va_start(ap, m);
	while ((name = va_arg(ap, const char *))) {
		size_t at;

		put(m, 1, 0);
		at = open_len(m, 2);
		put_bytes(m, name, strlen(name));
		close_len(m, at, 2);
	}
	va_end(ap);
	close_len(m, list, 2);
	close_len(m, ext, 2);
}

static void ext_alpn(struct msg *m, ...)
{
	size_t ext, list;
	const char *name;
	va_list ap;

	put(m, 2, 16);
	ext = open_len(m, 2);
	list = open_len(m, 2);
	va_start(ap, m);
	while ((name = va_arg(ap, const char *))) {
		size_t at = open_len(m, 1);

		put_bytes(m, name, strlen(name));
		close_len(m, at, 1);
	}
	va_end(ap);
	close_len(m, list, 2);
	close_len(m, ext, 2);
}

static void ext_versions(struct msg *m)
{
	size_t ext, list;

	put(m, 2, 43);
	ext = open_len(m, 2);
	list = open_len(m, 1);
	put(m, 2, 0x5a5a); /* GREASE */
	put(m, 2, 0x0304);
	put(m, 2, 0x0303);
	close_len(m, list, 1);
	close_len(m, ext, 2);
}

/* A typical hello: SNI, GREASE, ALPN, supported_versions, padding last. */
static void build_typical(struct msg *m, const char *host)
{
	static const uint8_t groups[] = {0, 4, 0, 0x1d, 0, 0x17};
	struct hello h = hello_begin(m);

	ext_raw(m, 0x0a0a, NULL, 0);
	ext_sni(m, host, NULL);
	ext_raw(m, 10, groups, sizeof(groups));
	ext_alpn(m, "h2", "http/1.1", NULL);
	ext_versions(m);
	ext_raw(m, 21, "\0\0\0", 3);
	hello_end(m, h);
}

/* Wraps @m into handshake records: fragments of @frag bytes (the last one
 * takes the rest; 0 means one record). Returns the total length. */
static size_t wrap(uint8_t *out, const struct msg *m, size_t frag)
{
	size_t n = 0;

	for (size_t off = 0; off < m->n;) {
		size_t k = m->n - off;

		if (frag && k > frag)
			k = frag;
		out[n++] = 22;
		out[n++] = 3;
		out[n++] = off ? 3 : 1;
		out[n++] = (uint8_t)(k >> 8);
		out[n++] = (uint8_t)k;
		memcpy(out + n, m->b + off, k);
		n += k;
		off += k;
	}
	return n;
}

/* --- Checks ------------------------------------------------------------ */

static uint8_t rec[400000];

static int peek(const uint8_t *buf, size_t len, struct rp_sni_result *r, const char **why)
{
	*why = NULL;
	return rp__sni_peek(buf, len, RP_SNI_PEEK_MAX * 4, r, why);
}

/* Every proper prefix asks for more; the whole parses to @len. */
static void check_prefixes(const uint8_t *buf, size_t len)
{
	struct rp_sni_result r;
	const char *why;

	for (size_t i = 0; i < len; i++) {
		int ret = peek(buf, i, &r, &why);

		if (ret != -EAGAIN)
			printf("\n  prefix %zu of %zu: %d (%s)\n", i, len, ret, why);
		CU_ASSERT_EQUAL(ret, -EAGAIN);
	}
	CU_ASSERT_EQUAL(peek(buf, len, &r, &why), (int)len);
}

static void expect_bad(const uint8_t *buf, size_t len, const char *reason)
{
	struct rp_sni_result r;
	const char *why;
	int ret = peek(buf, len, &r, &why);

	if (ret != -EBADMSG)
		printf("\n  expected -EBADMSG (%s), got %d\n", reason, ret);
	CU_ASSERT_EQUAL(ret, -EBADMSG);
	CU_ASSERT_PTR_NOT_NULL(why);
	if (reason && why && strcmp(why, reason) != 0) {
		printf("\n  reason \"%s\", expected \"%s\"\n", why, reason);
		CU_FAIL("wrong reason");
	}
}

static void expect_bad_msg(const struct msg *m, const char *reason)
{
	expect_bad(rec, wrap(rec, m, 0), reason);
}

static void test_sni_openssl_capture(void)
{
	struct rp_sni_result r;
	const char *why;
	struct msg m = {0};
	size_t n;

	CU_ASSERT_EQUAL(peek(openssl_hello, sizeof(openssl_hello), &r, &why),
			(int)sizeof(openssl_hello));
	CU_ASSERT_STRING_EQUAL(r.host, "example.com");
	CU_ASSERT_EQUAL(r.nalpn, 2);
	CU_ASSERT_STRING_EQUAL(r.alpn[0], "h2");
	CU_ASSERT_STRING_EQUAL(r.alpn[1], "http/1.1");
	CU_ASSERT_EQUAL(r.legacy_version, 0x0303);
	CU_ASSERT_TRUE(r.tls13);
	check_prefixes(openssl_hello, sizeof(openssl_hello));

	/* The same handshake refragmented into 100-byte records. */
	m.n = sizeof(openssl_hello) - 5;
	memcpy(m.b, openssl_hello + 5, m.n);
	n = wrap(rec, &m, 100);
	CU_ASSERT_EQUAL(n, m.n + 4 * 5);
	CU_ASSERT_EQUAL(peek(rec, n, &r, &why), (int)n);
	CU_ASSERT_STRING_EQUAL(r.host, "example.com");
	CU_ASSERT_EQUAL(r.nalpn, 2);
}

static void test_sni_built_found(void)
{
	static struct msg m;
	struct rp_sni_result r;
	const char *why;
	size_t n;

	build_typical(&m, "Www.Example.COM.");
	n = wrap(rec, &m, 0);
	/* Bytes after the hello's record (early data) are not consumed. */
	memcpy(rec + n, "\x17\x03\x03\x00\x05hello", 10);
	CU_ASSERT_EQUAL(peek(rec, n + 10, &r, &why), (int)n);
	CU_ASSERT_STRING_EQUAL(r.host, "www.example.com");
	CU_ASSERT_EQUAL(r.nalpn, 2);
	CU_ASSERT_STRING_EQUAL(r.alpn[0], "h2");
	CU_ASSERT_STRING_EQUAL(r.alpn[1], "http/1.1");
	CU_ASSERT_TRUE(r.tls13);
	check_prefixes(rec, n);
}

static void test_sni_absent(void)
{
	static struct msg m;
	struct rp_sni_result r;
	const char *why;
	struct hello h;
	size_t n;

	h = hello_begin(&m);
	ext_raw(&m, 23, NULL, 0);
	hello_end(&m, h);
	n = wrap(rec, &m, 0);
	CU_ASSERT_EQUAL(peek(rec, n, &r, &why), (int)n);
	CU_ASSERT_STRING_EQUAL(r.host, "");
	CU_ASSERT_EQUAL(r.nalpn, 0);
	CU_ASSERT_FALSE(r.tls13);

	/* A TLS 1.2-era hello may carry no extensions block at all. */
	h = hello_begin(&m);
	m.n -= 2;
	close_len(&m, h.body, 3);
	n = wrap(rec, &m, 0);
	CU_ASSERT_EQUAL(peek(rec, n, &r, &why), (int)n);
	CU_ASSERT_STRING_EQUAL(r.host, "");
	check_prefixes(rec, n);
}

static void test_sni_fragmented(void)
{
	static struct msg m;
	struct rp_sni_result r;
	const char *why;

	build_typical(&m, "example.com");
	/* One record, 2, 3, many small ones, 1-byte ones (which split every
	 * header and length field across records). */
	const size_t frags[][2] = {
		{0, 1},	  {(m.n + 1) / 2, 2}, {(m.n + 2) / 3, 3}, {7, (m.n + 6) / 7},
		{1, m.n},
	};
	for (size_t i = 0; i < sizeof(frags) / sizeof(frags[0]); i++) {
		size_t n = wrap(rec, &m, frags[i][0]);

		CU_ASSERT_EQUAL(n, m.n + 5 * frags[i][1]);
		CU_ASSERT_EQUAL(peek(rec, n, &r, &why), (int)n);
		CU_ASSERT_STRING_EQUAL(r.host, "example.com");
		CU_ASSERT_EQUAL(r.nalpn, 2);
		CU_ASSERT_TRUE(r.tls13);
		check_prefixes(rec, n);
	}
}

static void test_sni_non_handshake_record_inside(void)
{
	static struct msg m;
	size_t n;

	build_typical(&m, "example.com");
	n = wrap(rec, &m, 100);
	rec[105] = 21; /* an alert where the second fragment should be */
	expect_bad(rec, n, "non-handshake record inside the ClientHello");
	expect_bad(rec, 106, "non-handshake record inside the ClientHello");
}

/* Each length field one too long and one too short is refused, whatever
 * the level: handshake, session id, suites, compression, extensions, each
 * extension, the SNI list and name, the ALPN list and names, versions. */
static void test_sni_bad_lengths(void)
{
	static struct msg m, bad;

	build_typical(&m, "example.com");
	CU_ASSERT(m.nfield >= 15);
	for (unsigned f = 0; f < m.nfield; f++) {
		for (int delta = -1; delta <= 1; delta += 2) {
			size_t at = m.field[f].at;
			unsigned w = m.field[f].width;
			uint32_t v = 0;

			bad = m;
			for (unsigned i = 0; i < w; i++)
				v = v << 8 | bad.b[at + i];
			if (v == 0 && delta < 0)
				continue;
			v += (uint32_t)delta;
			for (unsigned i = 0; i < w; i++)
				bad.b[at + i] = (uint8_t)(v >> (8 * (w - 1 - i)));
			expect_bad_msg(&bad, NULL);
		}
	}
}

static void test_sni_bad_fields(void)
{
	static struct msg m;
	struct hello h;
	size_t n;

	/* Session id over 32 bytes, empty suites, no compression. */
	build_typical(&m, "example.com");
	m.b[4 + 2 + 32] = 33;
	expect_bad_msg(&m, "session id over 32 bytes");

	h = hello_begin(&m);
	ext_sni(&m, "example.com", NULL);
	hello_end(&m, h);
	n = wrap(rec, &m, 0);
	CU_ASSERT_EQUAL(peek(rec, n, &(struct rp_sni_result){0}, &(const char *){0}),
			(int)n);
	rec[5] = 2; /* server_hello */
	expect_bad(rec, 6, "handshake is not a ClientHello");

	/* A record longer than 2^14 bytes, an empty one, a bad version. */
	memcpy(rec, "\x16\x03\x01\x40\x01", 5);
	expect_bad(rec, 5, "record longer than 2^14 bytes");
	memcpy(rec, "\x16\x03\x01\x00\x00", 5);
	expect_bad(rec, 5, "empty handshake record");
	expect_bad((const uint8_t *)"\x16\x03\x04", 3, "bad record version");
	expect_bad((const uint8_t *)"\x16\x03\x00", 3, "bad record version");
	expect_bad((const uint8_t *)"\x16\x02", 2, "bad record version");

	/* Handshake bytes behind the ClientHello in its record. */
	h = hello_begin(&m);
	ext_sni(&m, "example.com", NULL);
	hello_end(&m, h);
	put(&m, 1, 0);
	expect_bad_msg(&m, "handshake data after the ClientHello");

	/* Empty ALPN protocol and empty server_name list. */
	h = hello_begin(&m);
	ext_alpn(&m, "h2", "", NULL);
	hello_end(&m, h);
	expect_bad_msg(&m, "empty ALPN protocol");
	h = hello_begin(&m);
	ext_raw(&m, 0, "\0\0", 2);
	hello_end(&m, h);
	expect_bad_msg(&m, "server_name list length mismatch");
	h = hello_begin(&m);
	ext_raw(&m, 0, "\0\x04\x01\0\x01x", 6);
	hello_end(&m, h);
	expect_bad_msg(&m, "server name type not host_name");
}

static void test_sni_duplicate_extension(void)
{
	static struct msg m;
	struct hello h = hello_begin(&m);

	ext_raw(&m, 23, NULL, 0);
	ext_sni(&m, "example.com", NULL);
	ext_raw(&m, 23, NULL, 0);
	hello_end(&m, h);
	expect_bad_msg(&m, "duplicate extension");

	h = hello_begin(&m);
	ext_sni(&m, "a.example", NULL);
	ext_sni(&m, "b.example", NULL);
	hello_end(&m, h);
	expect_bad_msg(&m, "duplicate extension");
}

static void test_sni_two_host_names(void)
{
	static struct msg m;
	struct hello h = hello_begin(&m);

	ext_sni(&m, "a.example", "b.example", NULL);
	hello_end(&m, h);
	expect_bad_msg(&m, "two host_names");
}

static void test_sni_host_chars(void)
{
	static const char *const bad[] = {
		"exa mple.com", "example.com/",	 "ex:443", ".example.com",
		"a..b",		"example.com..", ".",	   "caf\xc3\xa9.fr",
		"a\001b",
	};
	static const char *const good[][2] = {
		{"_acme.Example-1.COM", "_acme.example-1.com"},
		{"example.com.", "example.com"},
		{"10.0.0.1", "10.0.0.1"},
		{"x", "x"},
	};
	static struct msg m;
	struct rp_sni_result r;
	const char *why;
	char label[70], name[300];
	struct hello h;
	size_t n;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		h = hello_begin(&m);
		ext_sni(&m, bad[i], NULL);
		hello_end(&m, h);
		expect_bad_msg(&m, NULL);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		h = hello_begin(&m);
		ext_sni(&m, good[i][0], NULL);
		hello_end(&m, h);
		n = wrap(rec, &m, 0);
		CU_ASSERT_EQUAL(peek(rec, n, &r, &why), (int)n);
		CU_ASSERT_STRING_EQUAL(r.host, good[i][1]);
	}
	/* NUL inside the name. */
	h = hello_begin(&m);
	ext_raw(&m, 0,
		"\0\x06\0\0\x03"
		"a\0b",
		8);
	hello_end(&m, h);
	expect_bad_msg(&m, "bad character in host_name");

	/* Labels of 63 bytes pass, 64 do not; 255 bytes pass, 256 do not. */
	memset(label, 'a', 64);
	label[63] = '\0';
	memset(name, 'a', 255);
	name[63] = name[127] = name[191] = '.';
	name[255] = '\0';
	CU_ASSERT_EQUAL(strlen(name), 255);
	h = hello_begin(&m);
	ext_sni(&m, name, NULL);
	hello_end(&m, h);
	n = wrap(rec, &m, 0);
	CU_ASSERT_EQUAL(peek(rec, n, &r, &why), (int)n);
	CU_ASSERT_STRING_EQUAL(r.host, name);
	strcat(name, "a");
	h = hello_begin(&m);
	ext_sni(&m, name, NULL);
	hello_end(&m, h);
	expect_bad_msg(&m, "host_name length not 1..255");
	label[63] = 'a';
	label[64] = '\0';
	h = hello_begin(&m);
	ext_sni(&m, label, NULL);
	hello_end(&m, h);
	expect_bad_msg(&m, "host_name label over 63 bytes");
}

static void test_sni_alpn_truncated_list(void)
{
	static struct msg m;
	struct rp_sni_result r;
	const char *why;
	char longname[33];
	struct hello h = hello_begin(&m);
	size_t n;

	memset(longname, 'L', 32);
	longname[32] = '\0';
	ext_alpn(&m, "a", longname, "b", "c", "d", "e", "f", "g", "h", "i", NULL);
	hello_end(&m, h);
	n = wrap(rec, &m, 0);
	CU_ASSERT_EQUAL(peek(rec, n, &r, &why), (int)n);
	CU_ASSERT_EQUAL(r.nalpn, RP_SNI_ALPN_MAX);
	CU_ASSERT_STRING_EQUAL(r.alpn[0], "a");
	CU_ASSERT_STRING_EQUAL(r.alpn[1], "b");
	CU_ASSERT_STRING_EQUAL(r.alpn[7], "h");
}

static void test_sni_sslv2_and_http(void)
{
	static const uint8_t v2[] = {0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15};
	static const char get[] = "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";
	struct rp_sni_result r;
	const char *why;

	expect_bad(v2, 1, "SSLv2 hello");
	expect_bad(v2, sizeof(v2), "SSLv2 hello");
	expect_bad((const uint8_t *)get, 1, "not a TLS handshake record");
	expect_bad((const uint8_t *)get, strlen(get), "not a TLS handshake record");
	CU_ASSERT_EQUAL(peek(v2, 0, &r, &why), -EAGAIN);
}

static void test_sni_too_big(void)
{
	static struct msg m;
	struct rp_sni_result r;
	const char *why = NULL;
	uint8_t pad[600] = {0};
	struct hello h = hello_begin(&m);
	size_t n;

	ext_sni(&m, "example.com", NULL);
	ext_raw(&m, 21, pad, sizeof(pad));
	hello_end(&m, h);
	n = wrap(rec, &m, 0);
	CU_ASSERT_EQUAL(rp__sni_peek(rec, n, n, &r, &why), (int)n);
	/* The record header alone tells. */
	CU_ASSERT_EQUAL(rp__sni_peek(rec, 5, n - 1, &r, &why), -E2BIG);
	CU_ASSERT_PTR_NOT_NULL(why);
	/* Fragmented into small records, each header tells; and the handshake
	 * length alone once the first 9 bytes are in. */
	n = wrap(rec, &m, 4);
	CU_ASSERT_EQUAL(rp__sni_peek(rec, n, n, &r, &why), (int)n);
	CU_ASSERT_EQUAL(rp__sni_peek(rec, n, n - 1, &r, &why), -E2BIG);
	CU_ASSERT_EQUAL(rp__sni_peek(rec, 8, m.n + 4, &r, &why), -EAGAIN);
	CU_ASSERT_EQUAL(rp__sni_peek(rec, 9, m.n + 4, &r, &why), -E2BIG);
	/* A 3-record hello of 2^14-byte fragments, within a big enough max. */
	{
		static uint8_t big[40000];

		h = hello_begin(&m);
		ext_raw(&m, 21, big, sizeof(big));
		hello_end(&m, h);
		n = wrap(rec, &m, RP_TLS_RECORD_MAX);
		CU_ASSERT_EQUAL(n, m.n + 15);
		CU_ASSERT_EQUAL(rp__sni_peek(rec, n, n, &r, &why), (int)n);
		CU_ASSERT_EQUAL(rp__sni_peek(rec, 9, n, &r, &why), -EAGAIN);
		CU_ASSERT_EQUAL(rp__sni_peek(rec, 9, n - 1, &r, &why), -E2BIG);
		CU_ASSERT_EQUAL(rp__sni_peek(rec, 9, RP_SNI_PEEK_MAX, &r, &why), -E2BIG);
	}
}

static void test_sni_route_names_valid(void)
{
	static const char *const good[] = {
		"a",	     "a.example",     "A.Example",   "x-1.b_c.example",
		"*.example", "*.a.b.example", "123.example", "*.x",
	};
	static const char *const bad[] = {
		"",	      "*",	     "*.",	   "**.example",
		"*example",   "a.*.example", "a*.example", ".example",
		"a..example", "a.example.",  "*.example.", "a b.example",
		"a\tb",	      "a:443",	     "[::1]",	   "a/b",
		"é.example",  "*.*.example",
	};
	char longest[300];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!rp__sni_name_ok(good[i])) {
			fprintf(stderr, "\n  refused: '%s'\n", good[i]);
			CU_FAIL("a valid name was refused");
		}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (rp__sni_name_ok(bad[i])) {
			fprintf(stderr, "\n  accepted: '%s'\n", bad[i]);
			CU_FAIL("an invalid name was accepted");
		}
	/* Labels up to 63 bytes, names up to 253. */
	memset(longest, 'a', 63);
	strcpy(longest + 63, ".example");
	CU_ASSERT_TRUE(rp__sni_name_ok(longest));
	memset(longest, 'a', 64);
	strcpy(longest + 64, ".example");
	CU_ASSERT_FALSE(rp__sni_name_ok(longest));
	for (int i = 0; i < 4; i++) {
		memset(longest + 64 * i, 'a', 63);
		longest[64 * i + 63] = '.';
	}
	longest[64 * 3 + 63] = '\0'; /* 4 labels of 63: 255 bytes */
	CU_ASSERT_FALSE(rp__sni_name_ok(longest));
	longest[64 * 3 + 61] = '\0'; /* 253 */
	CU_ASSERT_TRUE(rp__sni_name_ok(longest));
	longest[64 * 3 + 61] = 'a';
	longest[64 * 3 + 62] = '\0'; /* 254 */
	CU_ASSERT_FALSE(rp__sni_name_ok(longest));
}

static void test_sni_route_names_match(void)
{
	static const struct {
		const char *name, *host;
		bool match;
	} cases[] = {
		{"a.example", "a.example", true},
		{"A.EXAMPLE", "a.example", true},
		{"a.example", "b.example", false},
		{"a.example", "a.example.com", false},
		{"a.example", "xa.example", false},
		{"a.example", "", false},
		{"*.example", "a.example", true},
		{"*.EXAMPLE", "a-b.example", true},
		{"*.example", "example", false},
		{"*.example", "b.a.example", false},
		{"*.example", "aexample", false},
		{"*.example", "a.example.com", false},
		{"*.example", "", false},
		{"*.b.example", "x.b.example", true},
		{"*.b.example", "b.example", false},
		{"*.b.example", "y.x.b.example", false},
		{"*.b.example", "x.bb.example", false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (rp__sni_name_match(cases[i].name, cases[i].host) != cases[i].match) {
			fprintf(stderr, "\n  '%s' vs '%s': wanted %s\n", cases[i].name,
				cases[i].host, cases[i].match ? "a match" : "none");
			CU_FAIL("wrong match");
		}
}

static const struct rp_unit_test tests[] = {
	RP_TEST(test_sni_openssl_capture),
	RP_TEST(test_sni_built_found),
	RP_TEST(test_sni_absent),
	RP_TEST(test_sni_fragmented),
	RP_TEST(test_sni_non_handshake_record_inside),
	RP_TEST(test_sni_bad_lengths),
	RP_TEST(test_sni_bad_fields),
	RP_TEST(test_sni_duplicate_extension),
	RP_TEST(test_sni_two_host_names),
	RP_TEST(test_sni_host_chars),
	RP_TEST(test_sni_alpn_truncated_list),
	RP_TEST(test_sni_sslv2_and_http),
	RP_TEST(test_sni_too_big),
	RP_TEST(test_sni_route_names_valid),
	RP_TEST(test_sni_route_names_match),
};

RP_UNIT_MAIN("sni", tests)

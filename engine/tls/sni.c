// SPDX-License-Identifier: BSD-2-Clause
/*
 * sni.c - the ClientHello peek behind SNI passthrough (see sni.h). A reader
 * walks the handshake message across its records in place: it steps over
 * each 5-byte record header as it reaches it, so the ClientHello is parsed
 * as one logical byte string however the client fragmented it (RFC 8446
 * 5.1 allows any split, even of the handshake header). Every length is
 * checked against its container before the bytes it covers are awaited,
 * which makes the answer for a prefix -EAGAIN exactly when some completion
 * of it could be valid, and lets garbage be refused on its first segment.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "tls/sni.h"

#define TLS_RECORD_HEADER	   5
#define TLS_CT_HANDSHAKE	   22
#define TLS_HS_CLIENT_HELLO	   1
#define TLS_HS_HEADER		   4 /* msg_type, uint24 length */
#define TLS_RANDOM_LEN		   32
#define TLS_SESSION_ID_MAX	   32
#define TLS_EXT_SERVER_NAME	   0  /* RFC 6066 3 */
#define TLS_EXT_ALPN		   16 /* RFC 7301 3.1 */
#define TLS_EXT_SUPPORTED_VERSIONS 43 /* RFC 8446 4.2.1 */
#define TLS_NAME_HOST		   0
#define TLS_VERSION_13		   0x0304
#define DNS_NAME_MAX		   255
#define DNS_LABEL_MAX		   63

/* The ClientHello as a byte string spread over records in @buf. */
struct hello_reader {
	const uint8_t *buf;
	size_t len, max;
	size_t pos;	/* next byte of @buf to read */
	size_t rec_end; /* end in @buf of the current record's fragment */
	size_t off;	/* bytes of the handshake message read so far */
	size_t msg_len; /* header + body once the header is read, else 0 */
	const char **why;
};

static int bad(struct hello_reader *r, const char *why)
{
	if (r->why)
		*r->why = why;
	return -EBADMSG;
}

static int too_big(struct hello_reader *r)
{
	if (r->why)
		*r->why = "ClientHello larger than the peek buffer";
	return -E2BIG;
}

/* Once the message length is known: could the rest of the message still fit
 * within @max, behind the fewest record headers it needs? */
static int check_fits(struct hello_reader *r)
{
	size_t through, rest, headers;

	if (!r->msg_len)
		return 0;
	through = r->off + (r->rec_end - r->pos);
	if (through >= r->msg_len)
		return 0;
	rest = r->msg_len - through;
	headers =
		TLS_RECORD_HEADER * ((rest + RP_TLS_RECORD_MAX - 1) / RP_TLS_RECORD_MAX);
	if (r->rec_end + rest + headers > r->max)
		return too_big(r);
	return 0;
}

/* Steps over the record header at r->rec_end, checking each byte as soon as
 * it is there so a non-TLS peer is refused on its first byte. */
static int next_record(struct hello_reader *r)
{
	const uint8_t *h = r->buf + r->rec_end;
	size_t avail = r->len - r->rec_end, frag;
	bool first = r->rec_end == 0;

	if (avail < 1)
		return -EAGAIN;
	/* SSLv2's 2-byte header has the top bit set; 0x16 never does. */
	if (first && (h[0] & 0x80))
		return bad(r, "SSLv2 hello");
	if (h[0] != TLS_CT_HANDSHAKE)
		return bad(r, first ? "not a TLS handshake record"
				    : "non-handshake record inside the ClientHello");
	if (avail >= 2 && h[1] != 3)
		return bad(r, "bad record version");
	/* legacy_record_version: 0x0303, or 0x0301 in an initial ClientHello
	 * (RFC 8446 5.1); TLS 1.0-1.2 clients send their own version. */
	if (avail >= 3 && (h[2] < 1 || h[2] > 3))
		return bad(r, "bad record version");
	if (avail < TLS_RECORD_HEADER)
		return -EAGAIN;
	frag = (size_t)h[3] << 8 | h[4];
	/* Zero-length handshake fragments are forbidden (RFC 8446 5.1). */
	if (frag == 0)
		return bad(r, "empty handshake record");
	if (frag > RP_TLS_RECORD_MAX)
		return bad(r, "record longer than 2^14 bytes");
	if (r->rec_end + TLS_RECORD_HEADER + frag > r->max)
		return too_big(r);
	r->pos = r->rec_end + TLS_RECORD_HEADER;
	r->rec_end = r->pos + frag;
	return check_fits(r);
}

/* Steps over @n message bytes that lie within the container ending at
 * message offset @end, else refuses with @why. */
static int skip(struct hello_reader *r, size_t n, size_t end, const char *why)
{
	if (n > end - r->off)
		return bad(r, why);
	while (n) {
		size_t k = n;
		int ret;

		if (r->pos == r->rec_end) {
			ret = next_record(r);
			if (ret < 0)
				return ret;
		}
		if (r->pos >= r->len)
			return -EAGAIN;
		if (k > r->rec_end - r->pos)
			k = r->rec_end - r->pos;
		if (k > r->len - r->pos)
			k = r->len - r->pos;
		r->pos += k;
		r->off += k;
		n -= k;
	}
	return 0;
}

/* Reads a big-endian integer of @n bytes (1..3) within @end into *@v. */
static int read_uint(struct hello_reader *r, unsigned n, size_t end, uint32_t *v,
		     const char *why)
{
	uint32_t x = 0;

	if (n > end - r->off)
		return bad(r, why);
	for (unsigned i = 0; i < n; i++) {
		int ret = skip(r, 1, end, why);

		if (ret < 0)
			return ret;
		/* Read after skip(), which may have stepped over a header. */
		x = x << 8 | r->buf[r->pos - 1];
	}
	*v = x;
	return 0;
}

static bool host_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

/* server_name (RFC 6066 3): a ServerNameList of exactly one host_name, as
 * OpenSSL and BoringSSL both insist despite the list syntax. */
static int parse_server_name(struct hello_reader *r, size_t end,
			     struct rp_sni_result *out)
{
	const char *trunc = "server_name truncated";
	uint32_t list, type, n;
	int ret;

	ret = read_uint(r, 2, end, &list, trunc);
	if (ret < 0)
		return ret;
	if (list == 0 || list != end - r->off)
		return bad(r, "server_name list length mismatch");
	while (r->off < end) {
		unsigned label = 0;

		ret = read_uint(r, 1, end, &type, trunc);
		if (ret < 0)
			return ret;
		if (type != TLS_NAME_HOST)
			return bad(r, "server name type not host_name");
		if (out->host[0])
			return bad(r, "two host_names");
		ret = read_uint(r, 2, end, &n, trunc);
		if (ret < 0)
			return ret;
		if (n == 0 || n > DNS_NAME_MAX)
			return bad(r, "host_name length not 1..255");
		if (n > end - r->off)
			return bad(r, trunc);
		for (uint32_t i = 0; i < n; i++) {
			uint32_t c;

			ret = read_uint(r, 1, end, &c, trunc);
			if (ret < 0)
				return ret;
			if (!host_char((uint8_t)c))
				return bad(r, "bad character in host_name");
			/* Empty labels: leading dot, "..", or just "." */
			if (c == '.' && label == 0)
				return bad(r, "empty label in host_name");
			label = c == '.' ? 0 : label + 1;
			if (label > DNS_LABEL_MAX)
				return bad(r, "host_name label over 63 bytes");
			out->host[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
		}
		/* The absolute form "example.com." names the same host. */
		if (out->host[n - 1] == '.')
			n--;
		out->host[n] = '\0';
	}
	return 0;
}

/* application_layer_protocol_negotiation (RFC 7301 3.1). */
static int parse_alpn(struct hello_reader *r, size_t end, struct rp_sni_result *out)
{
	const char *trunc = "ALPN truncated";
	uint32_t list, n;
	int ret;

	ret = read_uint(r, 2, end, &list, trunc);
	if (ret < 0)
		return ret;
	if (list < 2 || list != end - r->off)
		return bad(r, "ALPN list length mismatch");
	while (r->off < end) {
		char *name;
		bool keep;

		ret = read_uint(r, 1, end, &n, trunc);
		if (ret < 0)
			return ret;
		if (n == 0)
			return bad(r, "empty ALPN protocol");
		if (n > end - r->off)
			return bad(r, trunc);
		keep = out->nalpn < RP_SNI_ALPN_MAX && n < RP_SNI_ALPN_LEN;
		if (!keep) {
			ret = skip(r, n, end, trunc);
			if (ret < 0)
				return ret;
			continue;
		}
		name = out->alpn[out->nalpn];
		for (uint32_t i = 0; i < n; i++) {
			uint32_t c;

			ret = read_uint(r, 1, end, &c, trunc);
			if (ret < 0)
				return ret;
			name[i] = (char)c;
			keep = keep && c != 0;
		}
		name[n] = '\0';
		if (keep)
			out->nalpn++;
		else
			memset(name, 0, RP_SNI_ALPN_LEN);
	}
	return 0;
}

/* supported_versions in a ClientHello (RFC 8446 4.2.1): versions<2..254>. */
static int parse_supported_versions(struct hello_reader *r, size_t end,
				    struct rp_sni_result *out)
{
	const char *trunc = "supported_versions truncated";
	uint32_t list, v;
	int ret;

	ret = read_uint(r, 1, end, &list, trunc);
	if (ret < 0)
		return ret;
	if (list < 2 || (list & 1) || list != end - r->off)
		return bad(r, "supported_versions length mismatch");
	while (r->off < end) {
		ret = read_uint(r, 2, end, &v, trunc);
		if (ret < 0)
			return ret;
		if (v == TLS_VERSION_13)
			out->tls13 = true;
	}
	return 0;
}

static int parse_extensions(struct hello_reader *r, size_t end, struct rp_sni_result *out)
{
	const char *trunc = "extension truncated";
	/* One bit per extension type: exact duplicate detection for any
	 * number of extensions, without allocating. */
	uint64_t seen[65536 / 64] = {0};
	uint32_t type, n;
	int ret;

	while (r->off < end) {
		size_t ext_end;

		ret = read_uint(r, 2, end, &type, trunc);
		if (ret < 0)
			return ret;
		ret = read_uint(r, 2, end, &n, trunc);
		if (ret < 0)
			return ret;
		if (n > end - r->off)
			return bad(r, "extension length overruns the extensions");
		if (seen[type / 64] & (UINT64_C(1) << (type % 64)))
			return bad(r, "duplicate extension");
		seen[type / 64] |= UINT64_C(1) << (type % 64);
		ext_end = r->off + n;
		switch (type) {
		case TLS_EXT_SERVER_NAME:
			ret = parse_server_name(r, ext_end, out);
			break;
		case TLS_EXT_ALPN:
			ret = parse_alpn(r, ext_end, out);
			break;
		case TLS_EXT_SUPPORTED_VERSIONS:
			ret = parse_supported_versions(r, ext_end, out);
			break;
		default:
			ret = skip(r, n, ext_end, trunc);
			break;
		}
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* ClientHello (RFC 8446 4.1.2, RFC 5246 7.4.1.2 for the optional
 * extensions block). */
static int parse_client_hello(struct hello_reader *r, struct rp_sni_result *out)
{
	const char *trunc = "ClientHello truncated";
	uint32_t type, v;
	size_t end;
	int ret;

	ret = read_uint(r, 1, SIZE_MAX, &type, trunc);
	if (ret < 0)
		return ret;
	if (type != TLS_HS_CLIENT_HELLO)
		return bad(r, "handshake is not a ClientHello");
	ret = read_uint(r, 3, SIZE_MAX, &v, trunc);
	if (ret < 0)
		return ret;
	r->msg_len = TLS_HS_HEADER + (size_t)v;
	end = r->msg_len;
	ret = check_fits(r);
	if (ret < 0)
		return ret;

	ret = read_uint(r, 2, end, &v, trunc);
	if (ret < 0)
		return ret;
	if (v >> 8 != 3)
		return bad(r, "bad legacy_version");
	out->legacy_version = (uint16_t)v;
	ret = skip(r, TLS_RANDOM_LEN, end, trunc);
	if (ret < 0)
		return ret;

	ret = read_uint(r, 1, end, &v, trunc);
	if (ret < 0)
		return ret;
	if (v > TLS_SESSION_ID_MAX)
		return bad(r, "session id over 32 bytes");
	ret = skip(r, v, end, trunc);
	if (ret < 0)
		return ret;

	ret = read_uint(r, 2, end, &v, trunc);
	if (ret < 0)
		return ret;
	if (v == 0 || (v & 1))
		return bad(r, "cipher_suites empty or odd");
	ret = skip(r, v, end, trunc);
	if (ret < 0)
		return ret;

	ret = read_uint(r, 1, end, &v, trunc);
	if (ret < 0)
		return ret;
	if (v == 0)
		return bad(r, "no compression method");
	ret = skip(r, v, end, trunc);
	if (ret < 0)
		return ret;

	/* Before TLS 1.3 a ClientHello may end here, with no extensions. */
	if (r->off == end)
		return 0;
	ret = read_uint(r, 2, end, &v, trunc);
	if (ret < 0)
		return ret;
	if (v != end - r->off)
		return bad(r, "extensions length mismatch");
	return parse_extensions(r, end, out);
}

int rp__sni_peek(const uint8_t *buf, size_t len, size_t max, struct rp_sni_result *out,
		 const char **why)
{
	struct hello_reader r = {.buf = buf, .len = len, .max = max, .why = why};
	int ret;

	memset(out, 0, sizeof(*out));
	ret = parse_client_hello(&r, out);
	if (ret < 0)
		return ret;
	/* The client sends nothing else before the ServerHello, so another
	 * handshake message behind the ClientHello is a protocol error. */
	if (r.pos != r.rec_end)
		return bad(&r, "handshake data after the ClientHello");
	return (int)r.rec_end;
}

bool rp__sni_name_ok(const char *name)
{
	size_t n = 0, label = 0;

	/* The wildcard takes the place of exactly one label. */
	if (name[0] == '*' && name[1] == '.')
		name += 2;
	for (; name[n]; n++) {
		if (name[n] == '.') {
			if (!label)
				return false;
			label = 0;
			continue;
		}
		if (!host_char((uint8_t)name[n]) || ++label > DNS_LABEL_MAX)
			return false;
	}
	/* Not empty, no empty last label (a trailing dot), and at most 253
	 * bytes: 255 on the wire less the first length byte and the root. */
	return n && label && n <= DNS_NAME_MAX - 2;
}

bool rp__sni_name_match(const char *name, const char *host)
{
	const char *dot;

	if (!host[0])
		return false;
	if (name[0] != '*')
		return !strcasecmp(name, host);
	/* "*.example": one label, then ".example" exactly. */
	dot = strchr(host, '.');
	return dot && dot != host && !strcasecmp(name + 1, dot);
}

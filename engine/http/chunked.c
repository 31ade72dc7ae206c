// SPDX-License-Identifier: BSD-2-Clause
/*
 * chunked.c - the incremental decoder of the chunked transfer coding (RFC
 * 9112 section 7.1), a byte-at-a-time state machine for the framing and a
 * straight run for the data, so that a body can arrive split anywhere and
 * still read exactly as it would in one piece. The payload is reported as
 * spans of the caller's buffer; the proxy re-chunks what it forwards, so only
 * the payload crosses, never the client's framing.
 *
 *   chunked-body = *chunk last-chunk trailer-section CRLF
 *   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *   chunk-ext    = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "http/http.h"

enum {
	CH_SIZE_START,	  /* first HEXDIG of a size */
	CH_SIZE,	  /* more HEXDIG, or what ends the size */
	CH_SIZE_WS,	  /* BWS after the size: only before a ';' */
	CH_EXT_NAME0,	  /* after ';': BWS, then the name */
	CH_EXT_NAME,	  /* in a chunk-ext-name */
	CH_EXT_NAME_WS,	  /* BWS after a name: '=' or the next ';' */
	CH_EXT_VAL0,	  /* after '=': BWS, then token or quoted-string */
	CH_EXT_VAL_TOKEN, /* in a token value */
	CH_EXT_VAL_QUOTED,
	CH_EXT_VAL_QPAIR, /* after a backslash in a quoted value */
	CH_EXT_VAL_END,	  /* after a quoted value */
	CH_EXT_VAL_WS,	  /* BWS after a value: only before a ';' */
	CH_SIZE_LF,	  /* the LF that ends the size line */
	CH_DATA,
	CH_DATA_CR, /* the CRLF after chunk-data */
	CH_DATA_LF,
	CH_TRAILER_LINE, /* start of a trailer field line, or the final CRLF */
	CH_TRAILER_NAME,
	CH_TRAILER_VALUE,
	CH_TRAILER_LF,
	CH_END_LF, /* the LF of the final CRLF */
	CH_DONE,
	CH_ERROR,
};

void rp__http_chunked_init(struct rp_http_chunked *c, const struct rp_http_limits *lim)
{
	if (!lim)
		lim = &rp__http_limits_default;
	memset(c, 0, sizeof(*c));
	c->max_line = lim->max_chunk_line;
	c->max_trailer = lim->max_trailer;
	c->state = CH_SIZE_START;
}

static int bad(struct rp_http_chunked *c, const char *why)
{
	c->state = CH_ERROR;
	c->err = why;
	return -EBADMSG;
}

static inline bool tchar(unsigned char ch)
{
	return rp__http_ctype[ch] & RP_HTTP_C_TCHAR;
}

static inline bool ows(unsigned char ch)
{
	return ch == ' ' || ch == '\t';
}

/* What ends an extension part: the next ';' or the CR of the size line. */
static int ext_end(struct rp_http_chunked *c, unsigned char ch)
{
	if (ch == ';')
		c->state = CH_EXT_NAME0;
	else if (ch == '\r')
		c->state = CH_SIZE_LF;
	else if (ows(ch))
		c->state = CH_EXT_VAL_WS;
	else
		return bad(c, ch == '\n' ? "bare LF in chunk size line"
					 : "bad chunk extension");
	return 0;
}

int rp__http_chunked_decode(struct rp_http_chunked *c, const char *buf, size_t len,
			    struct rp_http_span *data)
{
	size_t i = 0;

	data->off = 0;
	data->len = 0;
	if (c->state == CH_ERROR)
		return -EBADMSG;
	if (len > INT_MAX)
		len = INT_MAX;
	while (i < len && c->state != CH_DONE) {
		unsigned char ch = (unsigned char)buf[i];
		int hex;

		if (c->state == CH_DATA) {
			size_t n = len - i;

			if (n > c->remaining)
				n = (size_t)c->remaining;
			data->off = (uint32_t)i;
			data->len = (uint32_t)n;
			c->remaining -= n;
			if (!c->remaining)
				c->state = CH_DATA_CR;
			return (int)(i + n);
		}
		if (c->state <= CH_SIZE_LF && ++c->line > c->max_line)
			return bad(c, "chunk size line too long");
		if (c->state >= CH_TRAILER_LINE && ++c->trailer > c->max_trailer)
			return bad(c, "trailer section too large");
		i++;
		switch (c->state) {
		case CH_SIZE_START:
		case CH_SIZE:
			hex = ch >= '0' && ch <= '9'   ? ch - '0'
			      : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
			      : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
						       : -1;
			if (hex >= 0) {
				/* Sizes stay below 2^63, so that they fit an off_t. */
				if (c->size >> 59)
					return bad(c, "chunk size overflows");
				c->size = c->size << 4 | (unsigned)hex;
				c->state = CH_SIZE;
				break;
			}
			if (c->state == CH_SIZE_START)
				return bad(c, "bad chunk size");
			if (ch == '\r')
				c->state = CH_SIZE_LF;
			else if (ch == ';')
				c->state = CH_EXT_NAME0;
			else if (ows(ch))
				c->state = CH_SIZE_WS;
			else
				return bad(c, ch == '\n' ? "bare LF in chunk size line"
							 : "bad chunk size");
			break;
		case CH_SIZE_WS:
		case CH_EXT_VAL_WS:
			if (ch == ';')
				c->state = CH_EXT_NAME0;
			else if (!ows(ch))
				return bad(c, "bad chunk extension");
			break;
		case CH_EXT_NAME0:
			if (tchar(ch))
				c->state = CH_EXT_NAME;
			else if (!ows(ch))
				return bad(c, "bad chunk extension");
			break;
		case CH_EXT_NAME:
			if (tchar(ch))
				break;
			if (ch == '=')
				c->state = CH_EXT_VAL0;
			else if (ows(ch))
				c->state = CH_EXT_NAME_WS;
			else if (ch == ';' || ch == '\r')
				c->state = ch == ';' ? CH_EXT_NAME0 : CH_SIZE_LF;
			else
				return bad(c, ch == '\n' ? "bare LF in chunk size line"
							 : "bad chunk extension");
			break;
		case CH_EXT_NAME_WS:
			if (ch == '=')
				c->state = CH_EXT_VAL0;
			else if (ch == ';')
				c->state = CH_EXT_NAME0;
			else if (!ows(ch))
				return bad(c, "bad chunk extension");
			break;
		case CH_EXT_VAL0:
			if (tchar(ch))
				c->state = CH_EXT_VAL_TOKEN;
			else if (ch == '"')
				c->state = CH_EXT_VAL_QUOTED;
			else if (!ows(ch))
				return bad(c, "bad chunk extension");
			break;
		case CH_EXT_VAL_TOKEN:
			if (!tchar(ch) && ext_end(c, ch))
				return -EBADMSG;
			break;
		case CH_EXT_VAL_QUOTED:
			if (ch == '"')
				c->state = CH_EXT_VAL_END;
			else if (ch == '\\')
				c->state = CH_EXT_VAL_QPAIR;
			else if (!(rp__http_ctype[ch] & RP_HTTP_C_QDTEXT))
				return bad(c, "bad chunk extension");
			break;
		case CH_EXT_VAL_QPAIR:
			if (!(rp__http_ctype[ch] & RP_HTTP_C_VALUE))
				return bad(c, "bad chunk extension");
			c->state = CH_EXT_VAL_QUOTED;
			break;
		case CH_EXT_VAL_END:
			if (ext_end(c, ch))
				return -EBADMSG;
			break;
		case CH_SIZE_LF:
			if (ch != '\n')
				return bad(c, "bare CR in chunk size line");
			c->line = 0;
			c->remaining = c->size;
			c->state = c->size ? CH_DATA : CH_TRAILER_LINE;
			c->size = 0;
			break;
		case CH_DATA_CR:
			if (ch != '\r')
				return bad(c, ch == '\n' ? "bare LF after chunk data"
							 : "no CRLF after chunk data");
			c->state = CH_DATA_LF;
			break;
		case CH_DATA_LF:
			if (ch != '\n')
				return bad(c, "bare CR after chunk data");
			c->state = CH_SIZE_START;
			break;
		case CH_TRAILER_LINE:
			if (ch == '\r')
				c->state = CH_END_LF;
			else if (tchar(ch))
				c->state = CH_TRAILER_NAME;
			else if (ows(ch))
				return bad(c, "obs-fold in trailer");
			else
				return bad(c, ch == '\n' ? "bare LF in trailer"
							 : "bad trailer field name");
			break;
		case CH_TRAILER_NAME:
			if (ch == ':')
				c->state = CH_TRAILER_VALUE;
			else if (!tchar(ch))
				return bad(c,
					   ows(ch) ? "whitespace before colon in trailer"
						   : "bad trailer field name");
			break;
		case CH_TRAILER_VALUE:
			if (ch == '\r')
				c->state = CH_TRAILER_LF;
			else if (!(rp__http_ctype[ch] & RP_HTTP_C_VALUE))
				return bad(c, ch == '\n'
						      ? "bare LF in trailer"
						      : "control character in trailer");
			break;
		case CH_TRAILER_LF:
			if (ch != '\n')
				return bad(c, "bare CR in trailer");
			c->state = CH_TRAILER_LINE;
			break;
		case CH_END_LF:
			if (ch != '\n')
				return bad(c, "bare CR at end of chunked body");
			c->state = CH_DONE;
			c->done = true;
			break;
		}
	}
	return (int)i;
}

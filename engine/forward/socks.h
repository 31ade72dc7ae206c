/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * socks.h - the first bytes of a forward-proxy connection: which protocol it
 * speaks, and the SOCKS5 (RFC 1928, with RFC 1929 username/password) and
 * SOCKS4/4a messages, parsed and built without I/O or allocation. Parsers
 * take what has arrived so far and return the bytes the message takes,
 * -EAGAIN when it is not complete yet, or -EBADMSG with the reply code the
 * client should get (and a static reason) when it can never be valid.
 *
 * The parsers decide on a message's own bytes alone and as early as those
 * bytes allow: a byte that makes the message invalid is refused when it
 * arrives, and no parser asks for more than the longest message of its kind
 * (RP_SOCKS_MSG_MAX at most), so an oversized handshake is refused rather
 * than buffered. Bytes after the message are not looked at: they belong to
 * the next message or to the tunnel. Output structures are fully written on
 * success (unused fields zeroed) and unspecified otherwise.
 */
#ifndef RP_SOCKS_H
#define RP_SOCKS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum rp_fwd_proto {
	RP_FWD_HTTP,   /* anything else: an HTTP request (CONNECT or absolute-form) */
	RP_FWD_SOCKS4, /* first byte 0x04 */
	RP_FWD_SOCKS5, /* first byte 0x05 */
};

/* The protocol a connection speaks, from its first byte. */
enum rp_fwd_proto rp__fwd_detect(uint8_t first);

/* SOCKS5 methods */
#define RP_SOCKS5_NO_AUTH	0x00
#define RP_SOCKS5_USERPASS	0x02
#define RP_SOCKS5_NO_ACCEPTABLE 0xff

/* SOCKS5 reply codes (RFC 1928 section 6) */
enum rp_socks5_rep {
	RP_SOCKS5_OK = 0x00,
	RP_SOCKS5_GENERAL_FAILURE = 0x01,
	RP_SOCKS5_NOT_ALLOWED = 0x02,
	RP_SOCKS5_NET_UNREACHABLE = 0x03,
	RP_SOCKS5_HOST_UNREACHABLE = 0x04,
	RP_SOCKS5_CONN_REFUSED = 0x05,
	RP_SOCKS5_TTL_EXPIRED = 0x06,
	RP_SOCKS5_CMD_UNSUPPORTED = 0x07,
	RP_SOCKS5_ATYP_UNSUPPORTED = 0x08,
};

/* RFC 1929 STATUS: 0 is success, anything else failure (we send 1). */
#define RP_SOCKS5_AUTH_FAILURE 0x01

/* SOCKS4 reply codes */
#define RP_SOCKS4_GRANTED  0x5a
#define RP_SOCKS4_REJECTED 0x5b

enum rp_socks_cmd {
	RP_SOCKS_CONNECT = 1,
	RP_SOCKS_BIND = 2,
	RP_SOCKS_UDP_ASSOCIATE = 3,
};

/* Address types (RFC 1928 section 5), also used for SOCKS4/4a targets. */
#define RP_SOCKS_ATYP_IPV4   0x01
#define RP_SOCKS_ATYP_DOMAIN 0x03
#define RP_SOCKS_ATYP_IPV6   0x04

/* The longest message of each kind, and of all (a SOCKS4a request with a
 * 255-byte user id and a 255-byte name). */
#define RP_SOCKS5_GREETING_MAX (2 + 255)
#define RP_SOCKS5_AUTH_MAX     (3 + 255 + 255)
#define RP_SOCKS5_REQUEST_MAX  (4 + 1 + 255 + 2)
#define RP_SOCKS4_REQUEST_MAX  (8 + 256 + 256)
#define RP_SOCKS_MSG_MAX       RP_SOCKS4_REQUEST_MAX
/* The longest reply (SOCKS5 with an IPv6 BND.ADDR). */
#define RP_SOCKS_REPLY_MAX 22

/* Where the client wants to go: an address, or a name to resolve. */
struct rp_socks_target {
	uint8_t atyp;	/* 1 IPv4, 3 domain name, 4 IPv6 (SOCKS5 numbering; 4a
			 * names are reported as 3) */
	char host[256]; /* atyp 3: the name, NUL-terminated (1-255 bytes, no NUL
			 * inside); else empty */
	struct sockaddr_storage addr; /* atyp 1 and 4: address and port */
	socklen_t addr_len;	      /* sizeof(sockaddr_in or _in6); 0 for atyp 3 */
	uint16_t port;		      /* host order */
};

/*
 * The host names a target may carry (SOCKS5 ATYP 3, SOCKS4a): 1-255 bytes of
 * letters, digits, '-', '_' and '.', in labels of 1-63 bytes (RFC 1035 2.3.4)
 * with one trailing dot allowed. No NUL (it would truncate the C string), no
 * ':' (an IPv6 literal comes as ATYP 4), no '%' or space: what a resolver
 * could never find is refused before it is asked. Policy judges the rest.
 */

struct rp_socks5_greeting {
	uint8_t nmethods;
	uint8_t methods[255];
};

struct rp_socks5_auth { /* RFC 1929 */
	uint8_t ulen, plen;
	char user[256]; /* NUL-terminated */
	char pass[256];
};

struct rp_socks5_request {
	uint8_t cmd; /* enum rp_socks_cmd; others: -EBADMSG with CMD_UNSUPPORTED */
	struct rp_socks_target dst;
};

struct rp_socks4_request {
	uint8_t cmd;
	struct rp_socks_target dst; /* 4a: atyp 3 with the name */
	char userid[256];
};

/* On -EBADMSG: the reply code to send (SOCKS5 rep, or for SOCKS4 the
 * rejected code) and why, static. */
struct rp_socks_error {
	uint8_t rep;
	const char *why;
};

/*
 * In every parser @buf holds the @len bytes received so far, the message at
 * its start; @err may be NULL and is written only on -EBADMSG.
 *
 * Greeting: VER 5, NMETHODS >= 1, the methods (any values, duplicates
 * allowed). Returns 2 + NMETHODS. -EBADMSG for another version or no method,
 * with rep RP_SOCKS5_NO_ACCEPTABLE: the caller sends that as the method
 * reply (RFC 1928 section 3) and closes.
 */
int rp__socks5_parse_greeting(const uint8_t *buf, size_t len,
			      struct rp_socks5_greeting *g, struct rp_socks_error *err);
/* The method to use: USERPASS when @need_auth and offered, NO_AUTH when not
 * @need_auth and offered, else NO_ACCEPTABLE. */
uint8_t rp__socks5_choose_method(const struct rp_socks5_greeting *g, int need_auth);
/*
 * RFC 1929 request: VER 1, ULEN 1-255, UNAME, PLEN 0-255, PASSWD. An empty
 * user name is refused (it names no one); an empty password is accepted as
 * clients send it (curl with "user:") and fails or passes the credentials
 * check like any other. NUL in either is refused: the C strings would be
 * truncated and compare equal to another credential. Returns 3 + ULEN +
 * PLEN. On -EBADMSG rep is RP_SOCKS5_AUTH_FAILURE, the STATUS to send
 * (rp__socks5_build_auth_reply(0, ...)) before closing.
 */
int rp__socks5_parse_auth(const uint8_t *buf, size_t len, struct rp_socks5_auth *a,
			  struct rp_socks_error *err);
/*
 * Request: VER 5, CMD, RSV 0, ATYP, DST.ADDR, DST.PORT. CONNECT, BIND and UDP
 * ASSOCIATE all parse (the caller answers CMD_UNSUPPORTED for what it does
 * not serve). On -EBADMSG, rep is: CMD_UNSUPPORTED for a CMD other than 1-3;
 * ATYP_UNSUPPORTED for an ATYP other than 1, 3, 4; HOST_UNREACHABLE for a
 * name that is empty or not a host name (what resolving it would have
 * answered); NOT_ALLOWED for port 0 with CONNECT (a destination no one can
 * connect to; BIND and UDP ASSOCIATE may send 0, RFC 1928 section 7);
 * GENERAL_FAILURE for a version other than 5 or RSV other than 0.
 */
int rp__socks5_parse_request(const uint8_t *buf, size_t len, struct rp_socks5_request *r,
			     struct rp_socks_error *err);
/*
 * SOCKS4: VN 4, CD 1 (CONNECT) or 2 (BIND), DSTPORT, DSTIP, USERID and NUL
 * (0-255 bytes, any other byte values). DSTIP 0.0.0.x with x != 0 is SOCKS4a:
 * a host name and NUL follow (1-255 bytes), reported as atyp 3; DSTIP 0.0.0.0
 * is an IPv4 address like any other. Port 0 is refused with CONNECT. A user
 * id or name with no NUL in its first 256 bytes is refused then, not
 * buffered. rep is always RP_SOCKS4_REJECTED.
 */
int rp__socks4_parse_request(const uint8_t *buf, size_t len, struct rp_socks4_request *r,
			     struct rp_socks_error *err);

/* Replies. Each returns the bytes written, or -ENOSPC. */
int rp__socks5_build_method(uint8_t method, uint8_t *out, size_t cap); /* 2 bytes */
int rp__socks5_build_auth_reply(int ok, uint8_t *out, size_t cap);     /* 2 bytes */
/* @bnd may be NULL (0.0.0.0:0); AF_INET gives ATYP 1, AF_INET6 ATYP 4, any
 * other family -EAFNOSUPPORT. */
int rp__socks5_build_reply(uint8_t rep, const struct sockaddr *bnd, uint8_t *out,
			   size_t cap); /* 10 or 22 */
/* @bnd may be NULL; only AF_INET can be told, anything else sends 0.0.0.0:0
 * (clients read the address only after BIND). */
int rp__socks4_build_reply(uint8_t code, const struct sockaddr *bnd, uint8_t *out,
			   size_t cap); /* 8 bytes */

#endif

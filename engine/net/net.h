/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * net.h - addresses, listen sockets and CPU lists: the parsing and socket
 * set-up that the CLI, the engine and the services share. Parsers return 0 or
 * -EINVAL and never allocate.
 */
#ifndef RP_NET_H
#define RP_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ringproxy/ringproxy.h"

#define RP_ADDRSTRLEN 64 /* "[ffff:...:ffff]:65535" and a NUL */

/* Parses "A.B.C.D:PORT" or "[V6]:PORT" (no host names). Port 0 is refused
 * unless @allow_port0. 0 or -EINVAL. */
int rp__addr_parse(const char *s, struct rp_addr *out, bool allow_port0);
/* Writes "A.B.C.D:PORT" or "[V6]:PORT"; returns @buf. */
char *rp__addr_format(const struct rp_addr *a, char *buf, size_t len);
/* Writes the IP alone ("A.B.C.D", "V6" without brackets); returns @buf, or
 * NULL for another family. */
const char *rp__addr_ip_format(const struct sockaddr *sa, char *buf, size_t len);
/* The key under which per-client state counts @sa: IPv4 addresses one by
 * one (IPv4-mapped IPv6 as IPv4), IPv6 ones by their /64, which one host or
 * site holds whole. The family byte, then 4 or 8 bytes, zero-padded; false
 * for a family other than AF_INET(6). */
#define RP_CLIENT_KEY 9
bool rp__addr_client_key(const struct sockaddr *sa, uint8_t key[RP_CLIENT_KEY]);

/* A parent proxy: the scheme, its address and the credentials it is sent. */
enum rp_proxy_scheme { RP_PROXY_HTTP = 1, RP_PROXY_SOCKS5 = 2 };
struct rp_proxy_url {
	enum rp_proxy_scheme scheme;
	struct rp_addr addr;
	bool auth;	/* user (and pass) given */
	char user[256]; /* NUL-terminated, 1..255 bytes */
	char pass[256]; /* 0..255 bytes */
};
/*
 * Parses "http://[USER:PASS@]IP:PORT" or "socks5://[USER:PASS@]IP:PORT"
 * (RFC 3986 authority, IP as rp__addr_parse() takes it; no host names, no
 * path). USER and PASS are userinfo characters (unreserved, sub-delims,
 * percent-encoded bytes, decoded here); the user name is 1..255 bytes, the
 * password 0..255 (RFC 1929's limits, which Basic shares here); a decoded
 * byte below 0x20 or 0x7f is refused, and so is ':' in the user name (Basic
 * could not carry it). 0 or -EINVAL; @out is cleared either way.
 */
int rp__proxy_url_parse(const char *s, struct rp_proxy_url *out);

/* Parses a CPU list such as "0-3,6" into ascending CPU numbers, each at most
 * once. 0 or -EINVAL (syntax, range reversed, over @max entries, CPU >= 4096). */
int rp__cpulist_parse(const char *s, int *cpus, unsigned max, unsigned *n);
/* The CPUs of this process's affinity mask, ascending. */
int rp__cpus_from_affinity(int *cpus, unsigned max, unsigned *n);
/* -EINVAL (and the first offending CPU in *@bad) unless every CPU of the list
 * is in the affinity mask. */
int rp__cpus_check_allowed(const int *cpus, unsigned n, int *bad);

/* A non-blocking, close-on-exec listen socket, SO_REUSEPORT when @reuseport,
 * IPV6_V6ONLY for IPv6, TCP_NODELAY (inherited by accepted sockets).
 * Returns the fd or -errno. */
int rp__listen_socket(const struct rp_addr *a, int backlog, bool reuseport);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli.h - the `ringproxy` command line and the YAML configuration file
 * (docs/config.md): commands, options and the value syntaxes (durations,
 * sizes, addresses, CPU lists) that both share. Parsing never exits: errors
 * come back as text.
 */
#ifndef RP_CLI_H
#define RP_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ringproxy/ringproxy.h"

enum rp_command {
	RP_CMD_REVERSE,	 /* also the no-argument default for now */
	RP_CMD_FORWARD,	 /* a forward proxy (HTTP CONNECT, absolute-form, SOCKS) */
	RP_CMD_RUN_FILE, /* -c FILE: everything from a configuration file */
	RP_CMD_CHECK,	 /* check -c FILE: validate it and exit */
	RP_CMD_HELP,
	RP_CMD_VERSION,
};

/*
 * The command line's result. `reverse` configures one cluster
 * (cfg.clusters[0], "default") that every --listen forwards to; `forward`
 * configures none. The listener options (the access rules of `forward`
 * included) apply to every listener. Large (it holds a whole struct
 * rp_config): allocate it on the heap or statically.
 */
struct rp_cli {
	enum rp_command cmd;
	struct rp_config cfg;
	int defaulted;		 /* no arguments: the embedded default */
	const char *config_path; /* -c FILE (RP_CMD_RUN_FILE, RP_CMD_CHECK) */
	int log_level_set;	 /* -q or -v was given (overrides the file's) */
	struct rp_listener_config listener; /* what each --listen gets */
	unsigned tls_nkeys; /* --tls-key given so far (the n-th is certs[n]'s) */
};

/* The embedded default (no arguments) is `ringproxy forward`: a forward
 * proxy on RP_DEFAULT_FORWARD_LISTEN. */
#define RP_DEFAULT_LISTEN  "127.0.0.1:3128"
#define RP_DEFAULT_BACKEND "127.0.0.1:8080"
/* Where `ringproxy forward` listens without --listen (Squid's port). */
#define RP_DEFAULT_FORWARD_LISTEN "127.0.0.1:3128"

/* 0, or -EINVAL with the reason in @err (usage errors). @out is
 * overwritten whole. */
int rp__cli_parse(int argc, char *const *argv, struct rp_cli *out, char *err,
		  size_t errlen);
const char *rp__cli_usage(void);

/* "250ms", "5s", "2m", "1h"; a bare number is milliseconds. */
int rp__parse_duration_ms(const char *s, unsigned *out);
/* "4096", "64k", "1m", "1g" (powers of 1024). */
int rp__parse_size(const char *s, unsigned *out);
/* "0", "512k", "10m", "2g", "1t" (powers of 1024), any that fits 64 bits. */
int rp__parse_size64(const char *s, uint64_t *out);
/* A decimal number in [min, max]. */
int rp__parse_uint(const char *s, unsigned min, unsigned max, unsigned *out);

/*
 * Text from the configuration that ends up in a char[@cap] and from there in
 * HTTP messages or log lines: 0 when it fits with its NUL, -ENAMETOOLONG when
 * it has more than @cap - 1 bytes (never truncated: a cut name is another
 * name), -EILSEQ when it holds a control character (CR and LF would inject
 * header lines).
 */
int rp__config_check_text(const char *s, size_t cap);

/* Whether @s is a non-empty token (RFC 9110 section 5.6.2): a header name,
 * a cookie name, a method. */
bool rp__config_is_token(const char *s);

/* Whether @s is a Host to match or to send: "a.example", "a.example:8080",
 * "[::1]", with a leading "*." when @wildcard (then never a port, since
 * routes compare hosts without it). */
bool rp__config_is_host(const char *s, bool wildcard);

/* Whether @s is a path (prefix) to match or to request: "/" then visible
 * ASCII other than '?' and '#'. */
bool rp__config_is_path(const char *s);

/*
 * "source", "header:NAME" or "cookie:NAME" (NAME a token of at most
 * @cap - 1 characters, copied to @name). 0, -ENAMETOOLONG or -EINVAL.
 */
int rp__parse_hash_key(const char *s, enum rp_hash_key *key, char *name, size_t cap);

/* "combined" or "json". 0 or -EINVAL. */
int rp__parse_log_format(const char *s, enum rp_log_format *out);

/* "transparent", "anonymous" or "elite". 0 or -EINVAL. */
int rp__parse_anonymity(const char *s, enum rp_anonymity *out);

/* The ports of an access rule: "443" or "80-8080", from 1 to 65535, the
 * first not above the last. 0 or -EINVAL. */
int rp__parse_ports(const char *s, uint16_t *min, uint16_t *max);

/* Whether @s is an IPv4 or IPv6 address with an optional prefix length
 * ("10.0.0.0/8", "192.0.2.1", "fd00::/8"), the prefix at most 32 or 128,
 * without leading zeros. */
bool rp__config_is_cidr(const char *s);

/* Whether @s is the destination of an access rule: a CIDR, a host name
 * ("a.example") or every subdomain of one ("*.example"); no port, labels of
 * at most 63 characters, and no name whose last label is a number (a
 * mistyped address). */
bool rp__config_is_acl_dest(const char *s);

/* Whether @s is a parent proxy: "http://IP:PORT" or "socks5://IP:PORT" (IPv6
 * in brackets), the port not 0. */
bool rp__config_is_parent(const char *s);

/* Whether @s is a list of DNS servers as c-ares takes them: "IP[:PORT],..."
 * with no spaces, an IPv6 address bare or with a port ("[::1]:53"), the port
 * not 0. */
bool rp__config_is_dns_servers(const char *s);

/* "1.2" or "1.3": 0x0303 or 0x0304 (the TLS wire versions). 0 or -EINVAL. */
int rp__parse_tls_version(const char *s, unsigned *out);

/* "auto", "on" or "off". 0 or -EINVAL. */
int rp__parse_ktls(const char *s, enum rp_ktls_mode *out);

/* Whether @s is a list of ALPN protocol names: "h2,http/1.1", each name
 * visible ASCII other than ',', none empty. */
bool rp__config_is_alpn(const char *s);

/*
 * Whether @s is a server name to send in SNI and verify: labels of letters,
 * digits, '-' and '_', 1 to 63 characters each, no port, no trailing dot, no
 * wildcard, and not an IP address (RFC 6066 section 3 allows none).
 */
bool rp__config_is_server_name(const char *s);

/*
 * Whether the file at @path can be opened for reading now (the engine reads
 * it later): 0, or -errno (-EISDIR for a directory). Never blocks, on a FIFO
 * neither.
 */
int rp__config_check_file(const char *path);

/*
 * One problem found in a configuration file: @line and @col are 1-based, 0
 * when the problem has no place (the file cannot be read). @msg holds no
 * file name and no newline.
 */
typedef void (*rp_config_report_fn)(void *arg, const char *file, unsigned line,
				    unsigned col, const char *msg);

/* At most this many problems are reported from one file; the rest are
 * counted. */
#define RP_CONFIG_MAX_REPORTS 100

/*
 * Loads the YAML configuration in @buf (@len bytes, any content; no NUL
 * needed), called @name in reports, into @cfg, which it initialises. Every
 * problem (syntax, unknown key, wrong type, bad value, unknown cluster,
 * duplicate...) goes to @report, in file order where possible. Returns the
 * number of problems (0: @cfg is complete and valid as far as a file can
 * tell; the kernel is not asked), or -ENOMEM.
 */
int rp__config_load_buffer(const char *name, const void *buf, size_t len,
			   struct rp_config *cfg, rp_config_report_fn report, void *arg);

/* The same from the file at @path (read whole; at most 1 MiB). A file that
 * cannot be read is one problem without a line. */
int rp__config_load_file(const char *path, struct rp_config *cfg,
			 rp_config_report_fn report, void *arg);

#endif

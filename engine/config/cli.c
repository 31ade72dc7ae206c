// SPDX-License-Identifier: BSD-2-Clause
/*
 * cli.c - parses the `ringproxy` command line into a struct rp_config. Every
 * option is a row of one table (name, kind, where it goes), in the manner of
 * nginx's directives, so adding one is a line, and help is generated from it.
 * `reverse` fills one cluster ("default") that every --listen forwards to;
 * `forward` fills no cluster but access rules, in the order given; each
 * command refuses the other's options (a row says whose it is). `-c FILE`
 * hands everything to the YAML loader (yaml.c). The value syntaxes both
 * share are here too.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/cli.h"
#include "forward/policy.h"
#include "http/http.h"
#include "net/net.h"
#include "tls/tls.h"

#define RP_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

int rp__parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
	unsigned long long v = 0;

	if (!s || !*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(*s - '0');
		if (v > max)
			return -EINVAL;
	}
	if (v < min)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

/* A decimal number with one of @n unit suffixes (@units[i] multiplies by
 * @scale[i]), at most @max. */
static int parse_scaled(const char *s, const char *const *units, const uint64_t *scale,
			unsigned n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = s;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (max - (unsigned)(*p - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (unsigned)(*p - '0');
	}
	for (unsigned i = 0; i < n; i++) {
		if (strcmp(p, units[i]) == 0) {
			if (v > max / scale[i])
				return -EINVAL;
			*out = v * scale[i];
			return 0;
		}
	}
	return -EINVAL;
}

int rp__parse_duration_ms(const char *s, unsigned *out)
{
	static const char *const units[] = {"", "ms", "s", "m", "h"};
	static const uint64_t scale[] = {1, 1, 1000, 60000, 3600000};
	uint64_t v;
	int ret = parse_scaled(s, units, scale, 5, UINT_MAX, &v);

	if (ret == 0)
		*out = (unsigned)v;
	return ret;
}

static const char *const size_units[] = {"", "k", "K", "m", "M", "g", "G", "t", "T"};
static const uint64_t size_scale[] = {
	1,	    1ull << 10, 1ull << 10, 1ull << 20, 1ull << 20,
	1ull << 30, 1ull << 30, 1ull << 40, 1ull << 40,
};

int rp__parse_size(const char *s, unsigned *out)
{
	uint64_t v;
	int ret = parse_scaled(s, size_units, size_scale, 9, UINT_MAX, &v);

	if (ret == 0)
		*out = (unsigned)v;
	return ret;
}

int rp__parse_size64(const char *s, uint64_t *out)
{
	return parse_scaled(s, size_units, size_scale, 9, UINT64_MAX, out);
}

int rp__config_check_text(const char *s, size_t cap)
{
	size_t len = strlen(s);

	if (len >= cap)
		return -ENAMETOOLONG;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return -EILSEQ;
	return 0;
}

bool rp__config_is_token(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!(rp__http_ctype[(unsigned char)*s] & RP_HTTP_C_TCHAR))
			return false;
	return true;
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool rp__config_is_host(const char *s, bool route)
{
	const char *p = s, *start, *label;

	if (*p == '[') {
		/* An IPv6 literal: hex digits, ':' and '.' (an embedded IPv4). */
		for (p++; *p && *p != ']'; p++)
			if (!(rp__http_ctype[(unsigned char)*p] & RP_HTTP_C_HEX) &&
			    *p != ':' && *p != '.')
				return false;
		if (*p != ']' || p == s + 1)
			return false;
		p++;
	} else {
		/* "*." then a name: every subdomain (routes only). */
		if (route && p[0] == '*' && p[1] == '.')
			p += 2;
		/* Labels of letters, digits, '-' and '_'; a trailing dot is
		 * allowed (a fully qualified name), an empty label is not. */
		start = label = p;
		for (; is_name_char(*p) || *p == '.'; p++) {
			if (*p != '.')
				continue;
			if (p == label)
				return false;
			label = p + 1;
		}
		if (p == start)
			return false;
	}
	if (*p == ':' && !route) {
		unsigned port;

		return rp__parse_uint(p + 1, 1, 65535, &port) == 0;
	}
	return *p == '\0';
}

bool rp__config_is_path(const char *s)
{
	if (s[0] != '/')
		return false;
	for (; *s; s++)
		if (*s <= 0x20 || *s >= 0x7f || *s == '?' || *s == '#')
			return false;
	return true;
}

int rp__parse_hash_key(const char *s, enum rp_hash_key *key, char *name, size_t cap)
{
	const char *n;

	if (strcmp(s, "source") == 0) {
		*key = RP_HASH_SOURCE;
		name[0] = '\0';
		return 0;
	}
	if (strncmp(s, "header:", 7) == 0)
		*key = RP_HASH_HEADER, n = s + 7;
	else if (strncmp(s, "cookie:", 7) == 0)
		*key = RP_HASH_COOKIE, n = s + 7;
	else
		return -EINVAL;
	if (!rp__config_is_token(n))
		return -EINVAL;
	if (strlen(n) >= cap)
		return -ENAMETOOLONG;
	memcpy(name, n, strlen(n) + 1);
	return 0;
}

int rp__parse_log_format(const char *s, enum rp_log_format *out)
{
	if (strcmp(s, "combined") == 0)
		*out = RP_LOG_COMBINED;
	else if (strcmp(s, "json") == 0)
		*out = RP_LOG_JSON;
	else
		return -EINVAL;
	return 0;
}

int rp__parse_anonymity(const char *s, enum rp_anonymity *out)
{
	if (strcmp(s, "transparent") == 0)
		*out = RP_ANON_TRANSPARENT;
	else if (strcmp(s, "anonymous") == 0)
		*out = RP_ANON_ANONYMOUS;
	else if (strcmp(s, "elite") == 0)
		*out = RP_ANON_ELITE;
	else
		return -EINVAL;
	return 0;
}

int rp__parse_ports(const char *s, uint16_t *min, uint16_t *max)
{
	const char *dash = strchr(s, '-');
	char first[8];
	unsigned lo, hi;

	if (!dash) {
		if (rp__parse_uint(s, 1, 65535, &lo) < 0)
			return -EINVAL;
		*min = *max = (uint16_t)lo;
		return 0;
	}
	if ((size_t)(dash - s) >= sizeof(first))
		return -EINVAL;
	memcpy(first, s, (size_t)(dash - s));
	first[dash - s] = '\0';
	if (rp__parse_uint(first, 1, 65535, &lo) < 0 ||
	    rp__parse_uint(dash + 1, lo, 65535, &hi) < 0)
		return -EINVAL;
	*min = (uint16_t)lo;
	*max = (uint16_t)hi;
	return 0;
}

int rp__parse_tls_version(const char *s, unsigned *out)
{
	if (strcmp(s, "1.2") == 0)
		*out = 0x0303;
	else if (strcmp(s, "1.3") == 0)
		*out = 0x0304;
	else
		return -EINVAL;
	return 0;
}

int rp__parse_ktls(const char *s, enum rp_ktls_mode *out)
{
	if (strcmp(s, "auto") == 0)
		*out = RP_KTLS_AUTO;
	else if (strcmp(s, "on") == 0)
		*out = RP_KTLS_ON;
	else if (strcmp(s, "off") == 0)
		*out = RP_KTLS_OFF;
	else
		return -EINVAL;
	return 0;
}

bool rp__config_is_alpn(const char *s)
{
	size_t n = 0; /* bytes of the current name */

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s == ',') {
			if (!n)
				return false;
			n = 0;
		} else if (*s <= 0x20 || *s >= 0x7f) {
			return false;
		} else {
			n++;
		}
	}
	return n > 0;
}

bool rp__config_is_server_name(const char *s)
{
	const char *label = s;
	bool digits = true; /* the last label so far is all digits */

	if (!*s)
		return false;
	for (const char *p = s;; p++) {
		if (*p == '.' || !*p) {
			if (p == label || p - label > 63)
				return false;
			if (!*p)
				break;
			label = p + 1;
			digits = true;
			continue;
		}
		if (!is_name_char(*p))
			return false;
		digits &= *p >= '0' && *p <= '9';
	}
	/* "192.0.2.1": top-level domains are never numbers. */
	return !digits;
}

/* Whether the @len bytes at @s are an IP address; *@v6 says which kind. */
static bool is_ip(const char *s, size_t len, bool *v6)
{
	char ip[INET6_ADDRSTRLEN];
	unsigned char bin[16];

	if (!len || len >= sizeof(ip))
		return false;
	memcpy(ip, s, len);
	ip[len] = '\0';
	*v6 = strchr(ip, ':') != NULL;
	return inet_pton(*v6 ? AF_INET6 : AF_INET, ip, bin) == 1;
}

bool rp__config_is_cidr(const char *s)
{
	const char *slash = strchr(s, '/');
	bool v6;
	unsigned prefix;

	if (!is_ip(s, slash ? (size_t)(slash - s) : strlen(s), &v6))
		return false;
	/* No leading zero: engine/forward's parser refuses one. */
	return !slash || (strlen(slash + 1) <= 3 && (slash[1] != '0' || !slash[2]) &&
			  rp__parse_uint(slash + 1, 0, v6 ? 128 : 32, &prefix) == 0);
}

bool rp__config_is_acl_dest(const char *s)
{
	const char *end, *label;
	size_t n;

	if (rp__config_is_cidr(s))
		return true;
	if (s[0] == '[' || !rp__config_is_host(s, true))
		return false;
	/* Labels of at most 63 characters (RFC 1035 section 2.3.4). */
	for (label = s; *label; label += n + (label[n] == '.')) {
		n = strcspn(label, ".");
		if (n > 63)
			return false;
	}
	/* "10.0.0.256" is no name: top-level domains are never numbers. */
	end = s + strlen(s);
	if (end[-1] == '.')
		end--;
	for (label = end; label > s && label[-1] != '.'; label--)
		;
	for (; label < end; label++)
		if (*label < '0' || *label > '9')
			return true;
	return false;
}

bool rp__config_is_parent(const char *s)
{
	struct rp_proxy_url u;
	bool ok = rp__proxy_url_parse(s, &u) == 0;

	explicit_bzero(&u, sizeof(u));
	return ok;
}

bool rp__config_is_dns_servers(const char *s)
{
	for (;;) {
		size_t len = strcspn(s, ",");
		char item[RP_ADDRSTRLEN];
		struct rp_addr a;
		bool v6;

		/* IPv4, IPv6 bare, or either with a port ([v6]:port): what
		 * c-ares takes ("[v6]" alone it refuses). */
		if (!is_ip(s, len, &v6)) {
			if (!len || len >= sizeof(item))
				return false;
			memcpy(item, s, len);
			item[len] = '\0';
			if (rp__addr_parse(item, &a, false) < 0)
				return false;
		}
		if (!s[len])
			return true;
		s += len + 1;
	}
}

int rp__config_check_file(const char *path)
{
	struct stat st;
	int fd, ret = 0;

	if (!*path)
		return -ENOENT;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		ret = -errno;
	else if (S_ISDIR(st.st_mode))
		ret = -EISDIR;
	close(fd);
	return ret;
}

enum opt_kind {
	OPT_UINT,     /* unsigned, [min, max] */
	OPT_DURATION, /* unsigned ms */
	OPT_SIZE,     /* unsigned bytes */
	OPT_SIZE64,   /* uint64_t bytes, 0 allowed */
	OPT_BOOL,     /* bool, set to min */
	OPT_HOST,     /* char[max]: a Host to send */
	OPT_LISTEN,
	OPT_BACKEND,
	OPT_CPUS,
	OPT_TUNNEL,
	OPT_MODE,
	OPT_BALANCE,
	OPT_SEND_PROXY,
	OPT_ACCESS_LOG,
	OPT_LOG_FORMAT,
	OPT_HASH_KEY,
	OPT_CHECK,
	OPT_ANONYMITY,
	OPT_ACL_DEST,	 /* an access rule on the destination; deny when min */
	OPT_ACL_CLIENT,	 /* an access rule on the client; deny when min */
	OPT_FILE,	 /* char[max]: a file that must be readable */
	OPT_PARENT,	 /* char[max]: http://IP:PORT or socks5://IP:PORT */
	OPT_DNS_SERVERS, /* char[max]: IP[:PORT],... */
	OPT_TLS_CERT,	 /* the next certificate's chain */
	OPT_TLS_KEY,	 /* the next certificate's key (pairs by position) */
	OPT_PATHNAME,	 /* char[max]: a file path, read when the engine starts */
	OPT_ALPN,	 /* char[max]: protocol names separated by commas */
	OPT_TLS_VERSION, /* unsigned 0x0303 or 0x0304 from 1.2 or 1.3 */
	OPT_CIPHERS,	 /* char[max]: an OpenSSL cipher list */
	OPT_SECONDS,	 /* unsigned seconds from a duration, at least min */
	OPT_KTLS,	 /* enum rp_ktls_mode */
	OPT_SERVER_NAME, /* char[max]: a server name (SNI) */
	OPT_FLAG_ACCEPT_PROXY,
	OPT_FLAG_QUIET,
	OPT_FLAG_VERBOSE,
	OPT_CONFIG,
	OPT_HELP,
	OPT_VERSION,
};

/* Which struct a numeric option's offset is into. */
enum opt_scope {
	SC_GLOBAL,   /* struct rp_config */
	SC_LISTENER, /* struct rp_listener_config: every --listen */
	SC_CLUSTER,  /* struct rp_cluster_config: the one cluster */
};

struct opt {
	const char *name;
	const char *arg;
	enum opt_kind kind;
	enum opt_scope scope;
	size_t off; /* for the numeric kinds */
	unsigned min, max;
	const char *help;
	unsigned flags; /* OPTF_* */
};

#define OPTF_HTTP  0x1	/* only with --mode http */
#define OPTF_CHECK 0x2	/* only with --check */
#define OPTF_REV   0x4	/* only for `reverse` */
#define OPTF_FWD   0x8	/* only for `forward` */
#define OPTF_LOG   0x10 /* `forward`, or `reverse --mode http` */
#define OPTF_TLS   0x20 /* only with --tls-cert */
#define OPTF_BTLS  0x40 /* only with --backend-tls */
/* What `forward` refuses: the options of the cluster, of mode http and of
 * TLS. */
#define OPTF_REVERSE_ONLY (OPTF_REV | OPTF_HTTP | OPTF_CHECK | OPTF_TLS | OPTF_BTLS)

#define CFG(f) SC_GLOBAL, offsetof(struct rp_config, f)
#define LIS(f) SC_LISTENER, offsetof(struct rp_listener_config, f)
#define CLU(f) SC_CLUSTER, offsetof(struct rp_cluster_config, f)
#define NONE   SC_GLOBAL, 0

static const struct opt opts[] = {
	{"--listen", "ADDR", OPT_LISTEN, NONE, 0, 0, "listen on ADDR (repeatable)", 0},
	{"--to", "ADDR[,weight=N]", OPT_BACKEND, NONE, 0, 0,
	 "backend ADDR, weight 1-65535 (repeatable)", OPTF_REV},
	{"--mode", "tcp|http", OPT_MODE, NONE, 0, 0,
	 "proxy mode (tcp); http: HTTP/1.1 reverse proxy", OPTF_REV},
	{"--balance", "ALGO", OPT_BALANCE, NONE, 0, 0,
	 "roundrobin|wrr|leastconn|p2c|ringhash|maglev (roundrobin); the hash ones "
	 "key on the client IP",
	 OPTF_REV},
	{"--reactors", "N", OPT_UINT, CFG(reactors), 1, RP_MAX_REACTORS,
	 "reactor threads (default: one per CPU)", 0},
	{"--cpus", "LIST", OPT_CPUS, NONE, 0, 0, "CPUs to pin reactors to, e.g. 0-3,6",
	 0},
	{"--tunnel", "MODE", OPT_TUNNEL, NONE, 0, 0,
	 "splice|ring-splice|copy|auto (auto)", 0},
	{"--backlog", "N", OPT_UINT, LIS(backlog), 1, 1 << 20, "listen backlog (4096)",
	 0},
	{"--connect-timeout", "DUR", OPT_DURATION, CLU(connect_timeout_ms), 1, 0,
	 "per backend connect attempt (2s)", OPTF_REV},
	{"--idle-timeout", "DUR", OPT_DURATION, LIS(idle_timeout_ms), 1, 0,
	 "close a tunnel idle this long (300s)", 0},
	{"--drain-timeout", "DUR", OPT_DURATION, CFG(drain_timeout_ms), 0, 0,
	 "graceful drain limit on TERM/INT (30s)", 0},
	{"--retries", "N", OPT_UINT, CLU(retries), 0, RP_MAX_BACKENDS,
	 "extra connect attempts on other backends (2)", OPTF_REV},
	{"--consecutive-gateway-failure", "N", OPT_UINT, CLU(fall), 0, 1000,
	 "eject a backend after N failed connects, resets, timeouts or bad "
	 "responses in a row (3); 0: off",
	 OPTF_REV},
	{"--fall", "N", OPT_UINT, CLU(fall), 0, 1000,
	 "the old name of --consecutive-gateway-failure", OPTF_REV},
	{"--consecutive-5xx", "N", OPT_UINT, CLU(outlier.consecutive_5xx), 0, 1000,
	 "eject a backend after N 5xx answers in a row, ours included (0: off)",
	 OPTF_REV},
	{"--base-ejection-time", "DUR", OPT_DURATION, CLU(cooldown_ms), 1, 0,
	 "an ejection lasts this times the backend's ejection count (10s)", OPTF_REV},
	{"--cooldown", "DUR", OPT_DURATION, CLU(cooldown_ms), 0, 0,
	 "the old name of --base-ejection-time", OPTF_REV},
	{"--max-ejection-time", "DUR", OPT_DURATION, CLU(outlier.max_ejection_ms), 1, 0,
	 "the longest ejection (300s)", OPTF_REV},
	{"--max-ejection-percent", "N", OPT_UINT, CLU(outlier.max_ejection_percent), 0,
	 100, "of the backends ejected at once, one always left in (50)", OPTF_REV},
	{"--slow-start", "DUR", OPT_DURATION, CLU(slow_start_ms), 0, 0,
	 "a backend back in ramps its share up over DUR (off)", OPTF_REV},
	{"--max-conns", "N", OPT_UINT, CFG(max_conns), 1, 10000000,
	 "connections per reactor before accepting pauses (what ulimit -n holds)", 0},
	{"--pipe-size", "SIZE", OPT_SIZE, CFG(pipe_size), 4096, 1u << 30,
	 "pipe capacity for splice (256k)", 0},
	{"--client-conns", "N", OPT_UINT, LIS(limits.client_conns), 0, 10000000,
	 "connections one client address may hold open; 0: no cap (0)", 0},
	{"--client-rps", "N", OPT_UINT, LIS(limits.client_rps), 0, 10000000,
	 "requests or tunnels per second per client address, else 429 (0)", 0},
	{"--client-burst", "N", OPT_UINT, LIS(limits.client_burst), 0, 10000000,
	 "requests a client may start at once above its rate (client-rps)", 0},
	{"--client-table", "N", OPT_UINT, CFG(client_table), 16, 1u << 20,
	 "clients each reactor keeps for those limits (16384)", 0},
	{"--max-pipes", "N", OPT_UINT, CFG(max_pipes), 1, 1000000,
	 "pipes per reactor (default: a share of fs.pipe-user-pages-soft)", 0},
	{"--buffers", "N", OPT_UINT, CFG(buf_count), 1, 32768,
	 "provided buffers per reactor, a power of two (1024)", 0},
	{"--buffer-size", "SIZE", OPT_SIZE, CFG(buf_size), 1024, 1u << 20,
	 "bytes per provided buffer (16k)", 0},
	{"--iowq-workers", "N", OPT_UINT, CFG(iowq_workers), 1, 64,
	 "io-wq worker cap per reactor, for ring-splice (2)", 0},
	{"--auto-bulk-reads", "N", OPT_UINT, CFG(auto_bulk_reads), 1, 1000,
	 "auto: full buffers in a row that switch a direction to splice (2)", 0},
	{"--accept-proxy", NULL, OPT_FLAG_ACCEPT_PROXY, NONE, 0, 0,
	 "clients start with a PROXY protocol v1 or v2 header", 0},
	{"--proxy-timeout", "DUR", OPT_DURATION, LIS(proxy_timeout_ms), 1, 0,
	 "for that header to arrive (5s)", 0},
	{"--send-proxy", "v1|v2", OPT_SEND_PROXY, NONE, 0, 0,
	 "send backends a PROXY header with the client's address", OPTF_REV},
	{"--check", "tcp|http[:PATH]", OPT_CHECK, NONE, 0, 0,
	 "active health checks: a connect, or GET PATH (/) (off)", OPTF_REV},
	{"--check-interval", "DUR", OPT_DURATION, CLU(health.interval_ms), 1, 0,
	 "between two checks of a backend (2s)", OPTF_CHECK},
	{"--check-timeout", "DUR", OPT_DURATION, CLU(health.timeout_ms), 1, 0,
	 "for one check, less than the interval (1s)", OPTF_CHECK},
	{"--check-rise", "N", OPT_UINT, CLU(health.rise), 1, 1000,
	 "passes in a row that bring a backend up (2)", OPTF_CHECK},
	{"--check-fall", "N", OPT_UINT, CLU(health.fall), 1, 1000,
	 "failures in a row that take a backend down (3)", OPTF_CHECK},
	{"--check-expect", "STATUS", OPT_UINT, CLU(health.expect_status), 100, 599,
	 "http check: the status wanted (any 2xx or 3xx)", OPTF_CHECK},
	/* TLS termination on every listener, re-encryption towards the cluster */
	{"--tls-cert", "FILE", OPT_TLS_CERT, NONE, 0, 0,
	 "tls: terminate TLS; a PEM chain, leaf first (repeatable; the first is "
	 "the default)",
	 OPTF_REV},
	{"--tls-key", "FILE", OPT_TLS_KEY, NONE, 0, 0,
	 "tls: the PEM private key of the n-th --tls-cert (one each)", OPTF_TLS},
	{"--tls-strict-sni", NULL, OPT_BOOL, LIS(tls.strict_sni), 1, 0,
	 "tls: refuse clients whose SNI no certificate names (first cert)", OPTF_TLS},
	{"--tls-alpn", "LIST", OPT_ALPN, LIS(tls.alpn), 0,
	 sizeof(((struct rp_tls_listener_config *)0)->alpn),
	 "tls: protocols offered (http/1.1 on http, which takes no h2 yet; none on "
	 "tcp)",
	 OPTF_TLS},
	{"--tls-min", "1.2|1.3", OPT_TLS_VERSION, LIS(tls.min_version), 0, 0,
	 "tls: the lowest version accepted (1.2)", OPTF_TLS},
	{"--tls-max", "1.2|1.3", OPT_TLS_VERSION, LIS(tls.max_version), 0, 0,
	 "tls: the highest version accepted (1.3)", OPTF_TLS},
	{"--tls-ciphers", "LIST", OPT_CIPHERS, LIS(tls.ciphers), 0,
	 sizeof(((struct rp_tls_listener_config *)0)->ciphers),
	 "tls: TLS 1.2 suites, OpenSSL syntax (ECDHE with AES-GCM or ChaCha20)",
	 OPTF_TLS},
	{"--no-tls-tickets", NULL, OPT_BOOL, LIS(tls.tickets), 0, 0,
	 "tls: no session resumption by tickets (on)", OPTF_TLS},
	{"--tls-ticket-rotate", "DUR", OPT_SECONDS, LIS(tls.ticket_rotate_s), 1, 0,
	 "tls: ticket keys change this often, tickets last two (1h)", OPTF_TLS},
	{"--tls-handshake-timeout", "DUR", OPT_DURATION, LIS(tls.handshake_timeout_ms), 1,
	 0, "tls: for a whole handshake (10s)", OPTF_TLS},
	{"--tls-ktls", "auto|on|off", OPT_KTLS, LIS(tls.ktls), 0, 0,
	 "tls: records in the kernel after the handshake (auto)", OPTF_TLS},
	{"--backend-tls", NULL, OPT_BOOL, CLU(tls.enabled), 1, 0,
	 "TLS to the backends, re-encryption (off)", OPTF_REV},
	{"--backend-ca", "FILE", OPT_PATHNAME, CLU(tls.ca), 0, RP_PATH_MAX,
	 "backend tls: PEM trust anchors (the system's)", OPTF_BTLS},
	{"--backend-sni", "NAME", OPT_SERVER_NAME, CLU(tls.sni), 0, RP_ROUTE_STR,
	 "backend tls: the server name sent and verified (none)", OPTF_BTLS},
	{"--no-backend-verify", NULL, OPT_BOOL, CLU(tls.verify), 0, 0,
	 "backend tls: accept any certificate (verify on)", OPTF_BTLS},
	{"--backend-ktls", "auto|on|off", OPT_KTLS, CLU(tls.ktls), 0, 0,
	 "backend tls: records in the kernel after the handshake (auto)", OPTF_BTLS},
	/* --mode http only */
	{"--xff", NULL, OPT_BOOL, LIS(http.xff), 1, 0,
	 "http: append the client to X-Forwarded-For (on)", OPTF_HTTP},
	{"--no-xff", NULL, OPT_BOOL, LIS(http.xff), 0, 0,
	 "http: leave X-Forwarded-For as it came", OPTF_HTTP},
	{"--xfp", NULL, OPT_BOOL, LIS(http.xfp), 1, 0, "http: set X-Forwarded-Proto (on)",
	 OPTF_HTTP},
	{"--no-xfp", NULL, OPT_BOOL, LIS(http.xfp), 0, 0,
	 "http: leave X-Forwarded-Proto as it came", OPTF_HTTP},
	{"--forwarded", NULL, OPT_BOOL, LIS(http.forwarded), 1, 0,
	 "http: append an RFC 7239 Forwarded element (off)", OPTF_HTTP},
	{"--via", NULL, OPT_BOOL, LIS(http.via), 1, 0,
	 "http: append Via: 1.1 ringproxy, both ways (off)", OPTF_HTTP},
	{"--host-rewrite", "HOST", OPT_HOST, LIS(http.host_rewrite), 0, RP_ROUTE_STR,
	 "http: the Host backends get (default: the client's)", OPTF_HTTP},
	{"--header-timeout", "DUR", OPT_DURATION, LIS(http.header_timeout_ms), 1, 0,
	 "http: for a whole request head, else 408 (10s)", OPTF_HTTP},
	{"--keepalive-timeout", "DUR", OPT_DURATION, LIS(http.keepalive_timeout_ms), 1, 0,
	 "http: idle client connection between requests (75s)", OPTF_HTTP},
	{"--body-timeout", "DUR", OPT_DURATION, LIS(http.body_timeout_ms), 1, 0,
	 "http: between request body bytes (60s)", OPTF_HTTP},
	{"--response-timeout", "DUR", OPT_DURATION, CLU(response_timeout_ms), 1, 0,
	 "http: between response bytes; 504 before the head (60s)", OPTF_HTTP},
	{"--max-body", "SIZE", OPT_SIZE64, LIS(http.max_body), 0, 0,
	 "http and forward: request body limit, else 413; 0: none (1g)", OPTF_LOG},
	{"--splice-threshold", "SIZE", OPT_SIZE64, LIS(http.splice_threshold), 0, 0,
	 "http: splice bodies of known length above it; 0: never (16k)", OPTF_HTTP},
	{"--max-requests", "N", OPT_UINT, LIS(http.max_requests), 0, UINT_MAX,
	 "http: requests per client connection; 0: no limit (0)", OPTF_HTTP},
	{"--access-log", "PATH", OPT_ACCESS_LOG, NONE, 0, 0,
	 "http and forward: a line per request to PATH, - for stdout (off)", OPTF_LOG},
	{"--log-format", "FORMAT", OPT_LOG_FORMAT, NONE, 0, 0,
	 "http and forward: access log lines: combined or json (combined)", OPTF_LOG},
	{"--pool-max-idle", "N", OPT_UINT, CLU(pool_max_idle), 0, 100000,
	 "http: idle connections kept per backend and reactor (64)", OPTF_HTTP},
	{"--pool-idle-timeout", "DUR", OPT_DURATION, CLU(pool_idle_timeout_ms), 1, 0,
	 "http: close a pooled connection idle this long (30s)", OPTF_HTTP},
	{"--pool-max-requests", "N", OPT_UINT, CLU(pool_max_requests), 0, UINT_MAX,
	 "http: requests per backend connection; 0: no limit (0)", OPTF_HTTP},
	{"--hash-key", "KEY", OPT_HASH_KEY, NONE, 0, 0,
	 "http: ringhash/maglev key: source|header:NAME|cookie:NAME (source)", OPTF_HTTP},
	/* ringproxy forward only */
	{"--anonymity", "LEVEL", OPT_ANONYMITY, NONE, 0, 0,
	 "transparent (XFF, Via), anonymous (Via) or elite (anonymous)", OPTF_FWD},
	{"--allow-dest", "CIDR|HOST", OPT_ACL_DEST, NONE, 0, 0,
	 "allow rule for that destination, exempt from the SSRF guard", OPTF_FWD},
	{"--deny-dest", "HOST|CIDR", OPT_ACL_DEST, NONE, 1, 0,
	 "deny rule: a.example, *.example (subdomains) or a CIDR", OPTF_FWD},
	{"--allow-client", "CIDR", OPT_ACL_CLIENT, NONE, 0, 0,
	 "allow rule; any of them denies every other client last", OPTF_FWD},
	{"--deny-client", "CIDR", OPT_ACL_CLIENT, NONE, 1, 0, "deny rule", OPTF_FWD},
	{"--users", "FILE", OPT_FILE, LIS(fwd.users_file), 0, RP_PATH_MAX,
	 "require Basic proxy authentication by these users (off)", OPTF_FWD},
	{"--blocklist", "FILE", OPT_FILE, LIS(fwd.blocklist_file), 0, RP_PATH_MAX,
	 "refuse these domains and their subdomains, one a line (off)", OPTF_FWD},
	{"--no-ssrf-guard", NULL, OPT_BOOL, LIS(fwd.ssrf_guard), 0, 0,
	 "let clients reach private, loopback, link-local... addresses", OPTF_FWD},
	{"--parent", "URL", OPT_PARENT, LIS(fwd.parent), 0, RP_ROUTE_STR,
	 "chain through http://IP:PORT or socks5://IP:PORT (direct)", OPTF_FWD},
	{"--connect-timeout", "DUR", OPT_DURATION, LIS(fwd.connect_timeout_ms), 1, 0,
	 "per connect to a destination or the parent (10s)", OPTF_FWD},
	{"--parent-timeout", "DUR", OPT_DURATION, LIS(fwd.parent_timeout_ms), 1, 0,
	 "for the parent's answer to a tunnel or to a request's head (15s)", OPTF_FWD},
	{"--dns-timeout", "DUR", OPT_DURATION, LIS(fwd.dns_timeout_ms), 1, 0,
	 "for a whole name lookup (5s)", OPTF_FWD},
	{"--dns-servers", "LIST", OPT_DNS_SERVERS, LIS(fwd.dns_servers), 0, RP_ROUTE_STR,
	 "IP[:PORT],... ([IPv6]:PORT) (/etc/resolv.conf)", OPTF_FWD},
	{"--hosts-file", "FILE", OPT_FILE, LIS(fwd.hosts_file), 0, RP_PATH_MAX,
	 "names looked up there first (/etc/hosts)", OPTF_FWD},
	{"--auth-threads", "N", OPT_UINT, CFG(auth_threads), 1, 64,
	 "threads that check passwords, off the reactors (min(2, CPUs))", OPTF_FWD},
	{"--auth-queue", "N", OPT_UINT, CFG(auth_queue), 1, 65536,
	 "password checks waiting per reactor; more get 503 (32)", OPTF_FWD},
	{"--auth-fail-cache", "N", OPT_UINT, CFG(auth_fail_cache), 1, 1u << 20,
	 "wrong credentials remembered per reactor (4096)", OPTF_FWD},
	{"--auth-fail-limit", "N", OPT_UINT, CFG(auth_fail_limit), 0, 1000000,
	 "failed logins that block an address; 0: never (10)", OPTF_FWD},
	{"--auth-fail-window", "DUR", OPT_DURATION, CFG(auth_fail_window_ms), 1, 0,
	 "the window those failures count in (60s)", OPTF_FWD},
	{"--auth-block", "DUR", OPT_DURATION, CFG(auth_block_ms), 1, 0,
	 "how long a blocked address gets 429 (60s)", OPTF_FWD},
	{"-c", "FILE", OPT_CONFIG, NONE, 0, 0,
	 "run from a YAML configuration file (docs/config.md)", 0},
	{"-q", NULL, OPT_FLAG_QUIET, NONE, 0, 0, "log warnings and errors only", 0},
	{"-v", NULL, OPT_FLAG_VERBOSE, NONE, 0, 0, "log debug detail", 0},
	{"--help", NULL, OPT_HELP, NONE, 0, 0, "this help", 0},
	{"--version", NULL, OPT_VERSION, NONE, 0, 0, "print the version", 0},
};

const char *rp__cli_usage(void)
{
	static const struct {
		const char *title;
		unsigned flags; /* the rows whose flags intersect these; 0: none */
	} sections[] = {
		{"options of both commands", 0},
		{"reverse options (http: only with --mode http; tls: only with "
		 "--tls-cert; backend tls: only with --backend-tls)",
		 OPTF_REVERSE_ONLY},
		{"forward options", OPTF_FWD},
	};
	static char buf[16384];
	size_t n;

	if (buf[0])
		return buf;
	n = (size_t)snprintf(
		buf, sizeof(buf),
		"usage: ringproxy [reverse] [--mode tcp|http] --listen ADDR --to ADDR "
		"[--to ADDR ...] [options]\n"
		"       ringproxy forward [--listen ADDR] [--anonymity "
		"transparent|anonymous|elite]\n"
		"                 [--allow-dest CIDR]... [--users FILE] [options]   "
		"(listens on %s by default)\n"
		"       ringproxy -c FILE    (everything from a YAML file, "
		"docs/config.md)\n"
		"       ringproxy check -c FILE   (validate it: FILE:LINE:COL: "
		"problem)\n"
		"       ringproxy            (no arguments: ringproxy forward on %s)\n"
		"ADDR: A.B.C.D:PORT or [IPv6]:PORT; DUR: 500ms, 5s, 2m (bare: ms); "
		"SIZE: 4096, 64k, 1m, 1g, 1t\n"
		"forward access rules are tried in the order given, the first that "
		"matches decides\n",
		RP_DEFAULT_FORWARD_LISTEN, RP_DEFAULT_FORWARD_LISTEN);
	for (unsigned k = 0; k < RP_ARRAY_SIZE(sections) && n < sizeof(buf); k++) {
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s:\n",
				      sections[k].title);
		for (unsigned i = 0; i < RP_ARRAY_SIZE(opts) && n < sizeof(buf); i++) {
			unsigned f = opts[i].flags & (OPTF_REVERSE_ONLY | OPTF_FWD);
			char left[64];

			if (sections[k].flags ? !(f & sections[k].flags) : f != 0)
				continue;
			snprintf(left, sizeof(left), "%s%s%s", opts[i].name,
				 opts[i].arg ? " " : "", opts[i].arg ? opts[i].arg : "");
			/* A long one has its help on the next line. */
			if (strlen(left) > 24) {
				n += (size_t)snprintf(buf + n, sizeof(buf) - n, "  %s\n",
						      left);
				left[0] = '\0';
			}
			if (n < sizeof(buf))
				n += (size_t)snprintf(buf + n, sizeof(buf) - n,
						      "  %-24s %s\n", left, opts[i].help);
		}
	}
	return buf;
}

/* Whether @o is an option of `forward` (@fwd) or of the other commands. */
static bool opt_for(const struct opt *o, bool fwd)
{
	return fwd ? !(o->flags & OPTF_REVERSE_ONLY) : !(o->flags & OPTF_FWD);
}

/* The row called @name for the command, or one of another command when only
 * that has the name (--connect-timeout has one row each). */
static const struct opt *find_opt(const char *name, size_t len, bool fwd)
{
	const struct opt *other = NULL;

	for (unsigned i = 0; i < RP_ARRAY_SIZE(opts); i++) {
		if (strlen(opts[i].name) != len || strncmp(opts[i].name, name, len))
			continue;
		if (opt_for(&opts[i], fwd))
			return &opts[i];
		if (!other)
			other = &opts[i];
	}
	return other;
}

/* Copies @val to the char[@cap] at @dst when it fits, holds no control
 * character and is @ok; else says why, @want being what was expected. */
static int apply_text(const struct opt *o, const char *val, bool ok, const char *want,
		      char *dst, size_t cap, char *err, size_t errlen)
{
	int ret = rp__config_check_text(val, cap);

	if (ret == -ENAMETOOLONG) {
		snprintf(err, errlen, "%s: too long, at most %zu characters", o->name,
			 cap - 1);
		return ret;
	}
	if (ret < 0 || !ok) {
		snprintf(err, errlen, "%s: expected %s, got '%s'", o->name, want, val);
		return -EINVAL;
	}
	memcpy(dst, val, strlen(val) + 1);
	return 0;
}

static int apply(const struct opt *o, const char *val, struct rp_cli *cli, char *err,
		 size_t errlen)
{
	struct rp_config *cfg = &cli->cfg;
	struct rp_cluster_config *cl = &cfg->clusters[0];
	char *base = o->scope == SC_LISTENER  ? (char *)&cli->listener
		     : o->scope == SC_CLUSTER ? (char *)cl
					      : (char *)cfg;
	unsigned *field = (unsigned *)(base + o->off);
	int ret = 0;

	switch (o->kind) {
	case OPT_UINT:
		ret = rp__parse_uint(val, o->min, o->max, field);
		if (ret < 0)
			snprintf(err, errlen,
				 "%s: expected a whole number from %u to %u, got '%s'",
				 o->name, o->min, o->max, val);
		else if (field == &cfg->buf_count && (*field & (*field - 1)))
			ret = -EINVAL,
			snprintf(err, errlen, "%s: must be a power of two, got '%s'",
				 o->name, val);
		break;
	case OPT_DURATION:
		ret = rp__parse_duration_ms(val, field);
		if (ret == 0 && *field < o->min)
			ret = -EINVAL;
		if (ret < 0)
			snprintf(err, errlen,
				 "%s: expected a duration such as 500ms, 5s or 2m%s, got "
				 "'%s'",
				 o->name, o->min ? " (not zero)" : "", val);
		break;
	case OPT_SIZE:
		ret = rp__parse_size(val, field);
		if (ret == 0 && (*field < o->min || *field > o->max))
			ret = -EINVAL;
		if (ret < 0)
			snprintf(err, errlen,
				 "%s: expected a size from %u to %u bytes "
				 "(suffixes k, m, g), got '%s'",
				 o->name, o->min, o->max, val);
		break;
	case OPT_SIZE64:
		ret = rp__parse_size64(val, (uint64_t *)(base + o->off));
		if (ret < 0)
			snprintf(err, errlen,
				 "%s: expected a size such as 0, 64k, 10m, 2g or 1t, got "
				 "'%s'",
				 o->name, val);
		break;
	case OPT_BOOL:
		*(bool *)(base + o->off) = o->min != 0;
		break;
	case OPT_HOST:
		ret = apply_text(o, val, rp__config_is_host(val, false),
				 "a host such as app.example or app.example:8080",
				 base + o->off, o->max, err, errlen);
		break;
	case OPT_LISTEN:
	case OPT_BACKEND: {
		bool listen = o->kind == OPT_LISTEN;
		unsigned *n = listen ? &cfg->nlisteners : &cl->nbackends;
		unsigned max = listen ? RP_MAX_LISTENERS : RP_MAX_BACKENDS;
		struct rp_addr *dst;
		const char *val_addr = val;
		char addr[RP_ADDRSTRLEN];

		if (*n >= max) {
			snprintf(err, errlen, "%s: at most %u", o->name, max);
			return -EINVAL;
		}
		if (!listen) {
			const char *comma = strchr(val, ',');

			cl->weights[*n] = 1;
			if (comma) {
				if (strncmp(comma, ",weight=", 8) != 0 ||
				    rp__parse_uint(comma + 8, 1, 65535,
						   &cl->weights[*n]) < 0) {
					snprintf(err, errlen,
						 "%s: expected ADDR or ADDR,weight=N "
						 "(N from 1 to 65535), got '%s'",
						 o->name, val);
					return -EINVAL;
				}
				/* Parse the address without its options. */
				snprintf(addr, sizeof(addr), "%.*s", (int)(comma - val),
					 val);
				val_addr = addr;
			}
		}
		dst = listen ? &cfg->listeners[*n].addr : &cl->backends[*n];
		ret = rp__addr_parse(val_addr, dst, false);
		if (ret < 0)
			snprintf(err, errlen,
				 "%s: expected IP:PORT such as 127.0.0.1:8080 "
				 "or [::1]:8080, got '%s'",
				 o->name, val);
		else
			(*n)++;
		break;
	}
	case OPT_CPUS: {
		int bad;

		ret = rp__cpulist_parse(val, cfg->cpus, RP_MAX_REACTORS, &cfg->ncpus);
		if (ret < 0) {
			snprintf(err, errlen,
				 "--cpus: expected a CPU list such as 0-3,6, got '%s'",
				 val);
		} else if (rp__cpus_check_allowed(cfg->cpus, cfg->ncpus, &bad) < 0) {
			snprintf(err, errlen,
				 "--cpus: CPU %d is not available to this process "
				 "(see taskset -p $$ or the cgroup cpuset)",
				 bad);
			ret = -EINVAL;
		}
		break;
	}
	case OPT_TUNNEL: {
		unsigned m;

		for (m = 0; m < RP_TUNNEL_NMODES; m++)
			if (strcmp(val, rp_tunnel_mode_name(m)) == 0)
				break;
		if (m == RP_TUNNEL_NMODES) {
			snprintf(err, errlen,
				 "--tunnel: expected splice, ring-splice, copy or "
				 "auto, got '%s'",
				 val);
			ret = -EINVAL;
		} else {
			cli->listener.tunnel = (enum rp_tunnel_mode)m;
		}
		break;
	}
	case OPT_MODE: {
		unsigned m;

		for (m = 0; m < RP_MODE_NMODES; m++)
			if (strcmp(val, rp_listener_mode_name(m)) == 0)
				break;
		if (m == RP_MODE_NMODES) {
			snprintf(err, errlen, "--mode: expected tcp or http, got '%s'",
				 val);
			ret = -EINVAL;
		} else if (m == RP_MODE_FORWARD) {
			snprintf(err, errlen,
				 "--mode: 'forward' is a command of its own: "
				 "ringproxy forward [options]");
			ret = -EINVAL;
		} else {
			cli->listener.mode = (enum rp_listener_mode)m;
		}
		break;
	}
	case OPT_BALANCE:
		if (strlen(val) >= sizeof(cl->balance)) {
			snprintf(err, errlen, "--balance: unknown algorithm '%s'", val);
			return -EINVAL;
		}
		/* The engine checks the name against the algorithms it has. */
		snprintf(cl->balance, sizeof(cl->balance), "%s", val);
		break;
	case OPT_SEND_PROXY:
		if (strcmp(val, "v1") == 0) {
			cl->send_proxy = 1;
		} else if (strcmp(val, "v2") == 0) {
			cl->send_proxy = 2;
		} else {
			snprintf(err, errlen, "--send-proxy: expected v1 or v2, got '%s'",
				 val);
			ret = -EINVAL;
		}
		break;
	case OPT_ACCESS_LOG:
		ret = rp__config_check_text(val, sizeof(cfg->access_log));
		if (ret == -ENAMETOOLONG) {
			snprintf(err, errlen,
				 "--access-log: too long, at most %zu characters",
				 sizeof(cfg->access_log) - 1);
		} else if (ret < 0 || !*val) {
			snprintf(err, errlen,
				 "--access-log: expected a file path or - (stdout), got "
				 "'%s'",
				 val);
			ret = -EINVAL;
		} else {
			memcpy(cfg->access_log, val, strlen(val) + 1);
		}
		break;
	case OPT_LOG_FORMAT:
		ret = rp__parse_log_format(val, &cfg->access_log_format);
		if (ret < 0)
			snprintf(err, errlen,
				 "--log-format: expected combined or json, got '%s'",
				 val);
		break;
	case OPT_HASH_KEY:
		ret = rp__parse_hash_key(val, &cl->hash_key, cl->hash_name,
					 sizeof(cl->hash_name));
		if (ret == -ENAMETOOLONG)
			snprintf(err, errlen,
				 "--hash-key: the name is too long, at most %zu "
				 "characters",
				 sizeof(cl->hash_name) - 1);
		else if (ret < 0)
			snprintf(err, errlen,
				 "--hash-key: expected source, header:NAME or "
				 "cookie:NAME (NAME a token such as X-User), got '%s'",
				 val);
		break;
	case OPT_CHECK:
		if (strcmp(val, "tcp") == 0) {
			cl->health.type = RP_CHECK_TCP;
		} else if (strcmp(val, "http") == 0) {
			cl->health.type = RP_CHECK_HTTP;
		} else if (strncmp(val, "http:", 5) == 0) {
			ret = rp__config_check_text(val + 5, sizeof(cl->health.path));
			if (ret == -ENAMETOOLONG) {
				snprintf(err, errlen,
					 "--check: the path is too long, at most %zu "
					 "characters",
					 sizeof(cl->health.path) - 1);
				break;
			}
			if (ret < 0 || !rp__config_is_path(val + 5)) {
				snprintf(
					err, errlen,
					"--check: expected http:PATH with a PATH such as "
					"/healthz, got '%s'",
					val);
				ret = -EINVAL;
				break;
			}
			cl->health.type = RP_CHECK_HTTP;
			memcpy(cl->health.path, val + 5, strlen(val + 5) + 1);
		} else {
			snprintf(err, errlen,
				 "--check: expected tcp, http or http:PATH, got '%s'",
				 val);
			ret = -EINVAL;
		}
		break;
	case OPT_ANONYMITY:
		ret = rp__parse_anonymity(val, &cli->listener.fwd.anonymity);
		if (ret < 0)
			snprintf(err, errlen,
				 "--anonymity: expected transparent, anonymous or elite, "
				 "got '%s'",
				 val);
		break;
	case OPT_ACL_DEST:
	case OPT_ACL_CLIENT: {
		struct rp_forward_config *fw = &cli->listener.fwd;
		struct rp_acl_rule *r = &fw->acl[fw->nacl];

		if (fw->nacl == RP_MAX_ACL_RULES) {
			snprintf(err, errlen, "%s: at most %d access rules in all",
				 o->name, RP_MAX_ACL_RULES);
			return -EINVAL;
		}
		memset(r, 0, sizeof(*r));
		r->deny = o->min != 0;
		if (o->kind == OPT_ACL_CLIENT)
			ret = apply_text(o, val, rp__config_is_cidr(val),
					 "a CIDR such as 10.0.0.0/8, 192.0.2.7 or "
					 "fd00::/8",
					 r->client, sizeof(r->client), err, errlen);
		else
			ret = apply_text(o, val, rp__config_is_acl_dest(val),
					 "a CIDR such as 127.0.0.0/8 or ::1/128, a host "
					 "such as a.example, or *.example (its "
					 "subdomains)",
					 r->dest, sizeof(r->dest), err, errlen);
		if (ret == 0)
			fw->nacl++;
		break;
	}
	case OPT_FILE:
		ret = apply_text(o, val, *val, "a file path", base + o->off, o->max, err,
				 errlen);
		if (ret == 0 && (ret = rp__config_check_file(val)) < 0)
			snprintf(err, errlen, "%s: cannot read '%s': %s", o->name, val,
				 strerror(-ret));
		break;
	case OPT_PARENT:
		ret = apply_text(o, val, rp__config_is_parent(val),
				 "http://IP:PORT or socks5://IP:PORT (an IPv6 address "
				 "in brackets; USER:PASS@ before the address for "
				 "credentials)",
				 base + o->off, o->max, err, errlen);
		break;
	case OPT_DNS_SERVERS:
		ret = apply_text(o, val, rp__config_is_dns_servers(val),
				 "IP[:PORT],... such as 1.1.1.1,[2606:4700::1111]:53 "
				 "(no spaces)",
				 base + o->off, o->max, err, errlen);
		break;
	case OPT_TLS_CERT:
	case OPT_TLS_KEY: {
		struct rp_tls_listener_config *t = &cli->listener.tls;
		bool cert = o->kind == OPT_TLS_CERT;
		unsigned *n = cert ? &t->ncerts : &cli->tls_nkeys;

		if (*n == RP_MAX_CERTS) {
			snprintf(err, errlen, "%s: at most %d certificates", o->name,
				 RP_MAX_CERTS);
			return -EINVAL;
		}
		ret = apply_text(o, val, *val, "a file path",
				 cert ? t->certs[*n].cert : t->certs[*n].key,
				 sizeof(t->certs[0].cert), err, errlen);
		if (ret == 0)
			(*n)++;
		break;
	}
	case OPT_PATHNAME:
		/* Read, and judged, when the engine starts. */
		ret = apply_text(o, val, *val, "a file path", base + o->off, o->max, err,
				 errlen);
		break;
	case OPT_ALPN:
		ret = apply_text(o, val, rp__config_is_alpn(val),
				 "protocol names separated by commas such as "
				 "h2,http/1.1 (no spaces, none empty)",
				 base + o->off, o->max, err, errlen);
		break;
	case OPT_TLS_VERSION:
		ret = rp__parse_tls_version(val, field);
		if (ret < 0)
			snprintf(err, errlen, "%s: expected 1.2 or 1.3, got '%s'",
				 o->name, val);
		break;
	case OPT_CIPHERS:
		/* BoringSSL judges the list when the engine starts. */
		ret = apply_text(o, val, *val,
				 "a cipher list such as "
				 "ECDHE-RSA-AES128-GCM-SHA256",
				 base + o->off, o->max, err, errlen);
		break;
	case OPT_SECONDS: {
		unsigned ms = 0;

		ret = rp__parse_duration_ms(val, &ms);
		if (ret == 0 && (ms % 1000 || ms / 1000 < o->min))
			ret = -EINVAL;
		if (ret < 0)
			snprintf(err, errlen,
				 "%s: expected a duration in whole seconds such as 30s, "
				 "5m or 1h, at least %us, got '%s'",
				 o->name, o->min, val);
		else
			*field = ms / 1000;
		break;
	}
	case OPT_KTLS:
		ret = rp__parse_ktls(val, (enum rp_ktls_mode *)(base + o->off));
		if (ret < 0)
			snprintf(err, errlen, "%s: expected auto, on or off, got '%s'",
				 o->name, val);
		break;
	case OPT_SERVER_NAME:
		ret = apply_text(o, val, rp__config_is_server_name(val),
				 "a server name such as backend.example (no port, no IP "
				 "address, no trailing dot)",
				 base + o->off, o->max, err, errlen);
		break;
	case OPT_FLAG_ACCEPT_PROXY:
		cli->listener.accept_proxy = 1;
		break;
	case OPT_FLAG_QUIET:
		cfg->log_level = RP_LOG_WARN;
		cli->log_level_set = 1;
		break;
	case OPT_FLAG_VERBOSE:
		cfg->log_level = RP_LOG_DEBUG;
		cli->log_level_set = 1;
		break;
	case OPT_CONFIG:
		cli->config_path = val;
		break;
	case OPT_HELP:
		cli->cmd = RP_CMD_HELP;
		break;
	case OPT_VERSION:
		cli->cmd = RP_CMD_VERSION;
		break;
	}
	return ret;
}

/* Every listener gets the listener options, whatever their order. */
static void fill_listeners(struct rp_cli *cli)
{
	struct rp_config *cfg = &cli->cfg;

	for (unsigned k = 0; k < cfg->nlisteners; k++) {
		struct rp_addr addr = cfg->listeners[k].addr;

		cfg->listeners[k] = cli->listener;
		cfg->listeners[k].addr = addr;
		cfg->listeners[k].cluster = 0;
	}
}

/*
 * The end of `ringproxy forward`: no cluster, the default address, and when
 * some --allow-client was given, a last rule denying every other client
 * (one per address family, as a CIDR is of one family). A listener that
 * would be an open proxy (rp__forward_open_proxy()) is refused.
 */
static int finish_forward(struct rp_cli *cli, char *err, size_t errlen)
{
	static const char *const every_client[] = {"0.0.0.0/0", "::/0"};
	struct rp_config *cfg = &cli->cfg;
	struct rp_forward_config *fw = &cli->listener.fwd;
	bool allow_client = false;

	for (unsigned k = 0; k < fw->nacl; k++)
		allow_client |= !fw->acl[k].deny && fw->acl[k].client[0];
	if (allow_client) {
		if (fw->nacl + RP_ARRAY_SIZE(every_client) > RP_MAX_ACL_RULES) {
			snprintf(err, errlen,
				 "too many access rules: at most %d, the two that "
				 "--allow-client adds last (deny every other client) "
				 "included",
				 RP_MAX_ACL_RULES);
			return -EINVAL;
		}
		for (unsigned k = 0; k < RP_ARRAY_SIZE(every_client); k++) {
			struct rp_acl_rule *r = &fw->acl[fw->nacl++];

			memset(r, 0, sizeof(*r));
			r->deny = true;
			snprintf(r->client, sizeof(r->client), "%s", every_client[k]);
		}
	}
	if (!cfg->nlisteners) {
		rp__addr_parse(RP_DEFAULT_FORWARD_LISTEN, &cfg->listeners[0].addr, false);
		cfg->nlisteners = 1;
	}
	cfg->nclusters = 0;
	cli->listener.mode = RP_MODE_FORWARD;
	fill_listeners(cli);
	for (unsigned k = 0; k < cfg->nlisteners; k++) {
		const struct rp_listener_config *l = &cfg->listeners[k];
		char a[RP_ADDRSTRLEN];

		if (!rp__forward_open_proxy(l))
			continue;
		snprintf(err, errlen,
			 "--listen %s: a forward proxy on a non-loopback address with "
			 "no users and no rule that limits its clients is an open proxy: "
			 "add users "
			 "(--users FILE), or say who may use it (--allow-client CIDR; "
			 "--allow-client %s for everyone)",
			 rp__addr_format(&l->addr, a, sizeof(a)),
			 l->addr.ss.ss_family == AF_INET6 ? "::/0" : "0.0.0.0/0");
		return -EINVAL;
	}
	return 0;
}

int rp__cli_parse(int argc, char *const *argv, struct rp_cli *cli, char *err,
		  size_t errlen)
{
	struct rp_config *cfg = &cli->cfg;
	const struct rp_cluster_config *cl = &cfg->clusters[0];
	const struct opt *first_http = NULL, *first_check = NULL, *first_other = NULL;
	const struct opt *first_tls = NULL, *first_btls = NULL;
	bool check = false, log_format = false, fwd = false;
	const char *h2;
	int i = 1;

	memset(cli, 0, sizeof(*cli));
	rp_config_init(cfg);
	rp_listener_config_init(&cli->listener);
	rp_cluster_config_init(&cfg->clusters[0], "default");
	cfg->nclusters = 1;
	cli->cmd = RP_CMD_REVERSE;
	if (argc <= 1) {
		/* The embedded default: `ringproxy forward` as it comes. */
		static char *const fwd_argv[] = {"ringproxy", "forward", NULL};
		int ret = rp__cli_parse(2, fwd_argv, cli, err, errlen);

		cli->defaulted = 1;
		return ret;
	}
	if (argv[1][0] != '-') {
		if (strcmp(argv[1], "reverse") == 0) {
			i = 2;
		} else if (strcmp(argv[1], "check") == 0) {
			check = true;
			i = 2;
		} else if (strcmp(argv[1], "forward") == 0) {
			fwd = true;
			cli->cmd = RP_CMD_FORWARD;
			i = 2;
		} else {
			snprintf(err, errlen, "unknown command '%s' (try --help)",
				 argv[1]);
			return -EINVAL;
		}
	}
	for (; i < argc; i++) {
		const char *a = argv[i], *eq = strchr(a, '=');
		size_t len =
			eq && a[0] == '-' && a[1] == '-' ? (size_t)(eq - a) : strlen(a);
		const struct opt *o = a[0] == '-' ? find_opt(a, len, fwd) : NULL;
		const char *val = NULL;

		if (!o) {
			snprintf(err, errlen, "unknown option '%.*s' (try --help)",
				 (int)len, a);
			return -EINVAL;
		}
		if (o->arg) {
			if (a[len] == '=')
				val = a + len + 1;
			else if (i + 1 < argc)
				val = argv[++i];
			else {
				snprintf(err, errlen, "%s needs a value (%s)", o->name,
					 o->arg);
				return -EINVAL;
			}
		} else if (a[len] == '=') {
			snprintf(err, errlen, "%s takes no value", o->name);
			return -EINVAL;
		}
		/* Refused below, unless -c FILE makes another refusal. */
		if (!opt_for(o, fwd)) {
			if (!first_other)
				first_other = o;
			continue;
		}
		if (apply(o, val, cli, err, errlen) < 0)
			return -EINVAL;
		log_format |= o->kind == OPT_LOG_FORMAT;
		if (!first_http && (o->flags & (OPTF_HTTP | OPTF_LOG)))
			first_http = o;
		if (!first_check && (o->flags & OPTF_CHECK))
			first_check = o;
		if (!first_tls && (o->flags & OPTF_TLS))
			first_tls = o;
		if (!first_btls && (o->flags & OPTF_BTLS))
			first_btls = o;
	}
	if (cli->cmd == RP_CMD_HELP || cli->cmd == RP_CMD_VERSION)
		return 0;
	if (check || cli->config_path) {
		/* The file says everything: only -q / -v may come with it. */
		for (int k = 1; k < argc; k++) {
			const char *a = argv[k];

			if (strcmp(a, "check") && strcmp(a, "-c") && strcmp(a, "-q") &&
			    strcmp(a, "-v") && a != cli->config_path) {
				snprintf(err, errlen,
					 "'%s' cannot be combined with -c FILE: put "
					 "it in the file",
					 a);
				return -EINVAL;
			}
		}
		if (!cli->config_path) {
			snprintf(err, errlen, "check: give the file to check: -c FILE");
			return -EINVAL;
		}
		cli->cmd = check ? RP_CMD_CHECK : RP_CMD_RUN_FILE;
		return 0;
	}
	if (first_other) {
		snprintf(err, errlen, "%s is only for ringproxy %s", first_other->name,
			 fwd ? "reverse" : "forward");
		return -EINVAL;
	}
	if (fwd)
		return finish_forward(cli, err, errlen);
	if (!cfg->nlisteners) {
		snprintf(err, errlen, "reverse: give at least one --listen ADDR");
		return -EINVAL;
	}
	if (!cfg->clusters[0].nbackends) {
		snprintf(err, errlen, "reverse: give at least one --to ADDR");
		return -EINVAL;
	}
	if (first_http && cli->listener.mode != RP_MODE_HTTP) {
		snprintf(err, errlen, "%s is only for --mode http", first_http->name);
		return -EINVAL;
	}
	if (first_check && cl->health.type == RP_CHECK_NONE) {
		snprintf(err, errlen, "%s needs --check tcp|http[:PATH]",
			 first_check->name);
		return -EINVAL;
	}
	if (cl->health.type == RP_CHECK_TCP && cl->health.expect_status) {
		snprintf(err, errlen, "--check-expect is only for --check http");
		return -EINVAL;
	}
	if (cl->health.type != RP_CHECK_NONE &&
	    cl->health.timeout_ms >= cl->health.interval_ms) {
		snprintf(err, errlen,
			 "--check-timeout (%u ms) must be less than --check-interval "
			 "(%u ms)",
			 cl->health.timeout_ms, cl->health.interval_ms);
		return -EINVAL;
	}
	if (cl->hash_key != RP_HASH_SOURCE && strcmp(cl->balance, "ringhash") &&
	    strcmp(cl->balance, "maglev")) {
		snprintf(err, errlen,
			 "--hash-key is only used by --balance ringhash or maglev (not "
			 "%s)",
			 cl->balance);
		return -EINVAL;
	}
	if (first_tls && !cli->listener.tls.ncerts) {
		snprintf(err, errlen, "%s needs --tls-cert", first_tls->name);
		return -EINVAL;
	}
	if (cli->listener.tls.ncerts != cli->tls_nkeys) {
		snprintf(err, errlen,
			 "--tls-cert and --tls-key go in pairs, the n-th key with the "
			 "n-th certificate: got %u --tls-cert and %u --tls-key",
			 cli->listener.tls.ncerts, cli->tls_nkeys);
		return -EINVAL;
	}
	if (cli->listener.tls.ncerts && cli->listener.accept_proxy) {
		snprintf(err, errlen,
			 "--accept-proxy with --tls-cert is not available yet");
		return -EINVAL;
	}
	h2 = cli->listener.mode == RP_MODE_HTTP ? rp__tls_alpn_h2(cli->listener.tls.alpn)
						: NULL;
	if (h2) {
		snprintf(err, errlen,
			 "--tls-alpn: HTTP/2 is not supported yet: --mode http speaks "
			 "HTTP/1.1 only, and a client that picks %s would send HTTP/2 "
			 "and get HTTP/1.1 back; remove %s from --tls-alpn (http/1.1 is "
			 "the default)",
			 h2, h2);
		return -EINVAL;
	}
	if (cli->listener.tls.min_version > cli->listener.tls.max_version) {
		snprintf(err, errlen, "--tls-min (%s) must not be above --tls-max (%s)",
			 cli->listener.tls.min_version == 0x0304 ? "1.3" : "1.2",
			 cli->listener.tls.max_version == 0x0304 ? "1.3" : "1.2");
		return -EINVAL;
	}
	cli->listener.tls.enabled = cli->listener.tls.ncerts > 0;
	if (first_btls && !cl->tls.enabled) {
		snprintf(err, errlen, "%s needs --backend-tls", first_btls->name);
		return -EINVAL;
	}
	if (log_format && !cfg->access_log[0]) {
		snprintf(err, errlen, "--log-format needs --access-log PATH");
		return -EINVAL;
	}
	fill_listeners(cli);
	return 0;
}

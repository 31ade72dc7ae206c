// SPDX-License-Identifier: BSD-2-Clause
/*
 * yaml.c - loads the YAML configuration file (schema in docs/config.md) into
 * a struct rp_config with libyaml's document API, whose nodes carry the
 * line and column where they start. Each mapping is checked against a table
 * of the keys it may hold (name, kind, where the value goes), as the command
 * line's options are, and every problem is reported with its place and
 * loading goes on, so that `ringproxy check` lists them all at once. Names
 * (the cluster of a listener or of a route) and duplicates are resolved once
 * the whole document has been read, since clusters may come after the
 * listeners and routes that use them; that is also when the routes are laid
 * out in the order they are tried (see resolve_routes()). Files that the
 * engine reads later (a forward listener's users and block list) are opened
 * once here, so that `check` says when one cannot be; TLS certificates, keys
 * and trust anchors are not, as engine/tls loads and judges them whole (PEM,
 * key match, validity: `check` calls it too). A tcp listener's sni mapping
 * (SNI passthrough routes) names clusters too, resolved likewise.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "balance/balance.h"
#include "config/cli.h"
#include "forward/policy.h"
#include "http/http.h"
#include "net/net.h"
#include "tls/sni.h"
#include "tls/tls.h"

#define RP_CONFIG_MAX_FILE (1u << 20)

enum field_kind {
	F_UINT,	      /* unsigned in [min, max] */
	F_POW2,	      /* unsigned in [min, max], a power of two */
	F_INT,	      /* int in [min, max] */
	F_DURATION,   /* unsigned ms, at least min */
	F_SIZE,	      /* unsigned bytes in [min, max] */
	F_SIZE64,     /* uint64_t bytes, 0 allowed */
	F_LSIZE64,    /* the same, at an offset into the current listener */
	F_BOOL,	      /* int 0 or 1 */
	F_FLAG,	      /* bool */
	F_CPUS,	      /* cpus + ncpus */
	F_LOG_LEVEL,  /* enum rp_log_level */
	F_LISTENERS,  /* the list of listeners */
	F_CLUSTERS,   /* the mapping of clusters */
	F_ADDR,	      /* struct rp_addr, a port required */
	F_MODE,	      /* enum rp_listener_mode */
	F_TUNNEL,     /* enum rp_tunnel_mode */
	F_CLUSTER,    /* a listener's cluster, by name */
	F_BALANCE,    /* char[16], an algorithm the balance module has */
	F_SEND_PROXY, /* unsigned 0, 1 or 2 */
	F_BACKENDS,   /* a cluster's list of backends */
	F_WEIGHT,     /* a backend's weight */
	/* HTTP */
	F_HTTP,		 /* a listener's http mapping */
	F_ROUTES,	 /* the top level's routes */
	F_LROUTES,	 /* a listener's own routes */
	F_ACCESS_LOG,	 /* a path, or {path, format} */
	F_LOG_PATH,	 /* char[max]: a file path, "-" for stdout */
	F_LOG_FORMAT,	 /* enum rp_log_format */
	F_HOST,		 /* char[max]: a Host to send, port allowed */
	F_HASH_KEY,	 /* a cluster's hash_key and hash_name */
	F_POOL,		 /* a cluster's pool mapping */
	F_HEALTH,	 /* a cluster's health_check mapping */
	F_OUTLIER,	 /* a cluster's outlier_detection mapping */
	F_CHECK_TYPE,	 /* enum rp_check_type, tcp or http */
	F_PATH,		 /* char[max]: "/..." */
	F_MATCH,	 /* a route's match mapping */
	F_ROUTE_CLUSTER, /* a route's cluster, by name */
	F_ROUTE_HOST,	 /* char[max]: "a.example" or "*.example" */
	F_METHOD,	 /* char[max]: an uppercase token */
	F_HEADER,	 /* a match's header mapping */
	F_TOKEN,	 /* char[max]: a header name */
	F_VALUE,	 /* char[max]: a header value to compare */
	/* forward */
	F_FORWARD,     /* a listener's forward mapping */
	F_ANONYMITY,   /* enum rp_anonymity */
	F_FILE,	       /* char[max]: a file that can be read now */
	F_PARENT,      /* char[max]: http://IP:PORT or socks5://IP:PORT */
	F_DNS,	       /* a forward mapping's dns mapping */
	F_TTL,	       /* unsigned seconds, a duration in whole seconds */
	F_DNS_SERVERS, /* char[max]: IP[:PORT],... */
	F_ACL,	       /* a forward mapping's list of access rules */
	F_ACTION,      /* bool deny: allow or deny */
	F_CIDR,	       /* char[max]: an access rule's client */
	F_DEST,	       /* char[max]: an access rule's destination */
	F_PORTS,       /* an access rule's port_min and port_max */
	/* TLS */
	F_TLS,	       /* a listener's tls mapping */
	F_CERTS,       /* a tls mapping's list of certificates */
	F_PATHNAME,    /* char[max]: a file path stored as given, read when the
			* engine starts; not empty when min */
	F_ALPN,	       /* char[max]: protocol names separated by commas */
	F_TLS_VERSION, /* unsigned 0x0303 or 0x0304, from "1.2" or "1.3" */
	F_CIPHERS,     /* char[max]: an OpenSSL cipher list, "" the defaults */
	F_KTLS,	       /* enum rp_ktls_mode */
	F_BACKEND_TLS, /* a cluster's tls: a mapping, or true/false */
	F_SERVER_NAME, /* char[max]: a server name (SNI), "" none */
	/* SNI passthrough */
	F_SNI,	       /* a listener's sni mapping */
	F_SNI_ROUTES,  /* its list of routes */
	F_SNI_NAME,    /* char[max]: "a.example" or "*.example" */
	F_SNI_CLUSTER, /* an sni route's cluster, by name */
	F_LIMITS,      /* a listener's limits mapping */
	F_RLIMITS,     /* a route's */
};

/*
 * Places the loader remembers, for the checks that involve more than one key
 * (mode http and an http mapping, max_target and max_head...): a field with a
 * slot records where its value (or, for a list or mapping, its key) is. Each
 * object clears its own slots before its keys are walked; the slots of one
 * object are consecutive.
 */
enum slot {
	S_NONE,
	S_GROUTES, /* top level */
	S_LOG_PATH,
	S_HTTP, /* listener */
	S_LROUTES,
	S_MAX_HEAD,
	S_MAX_TARGET,
	S_FORWARD,
	S_SNI,
	S_SNI_ROUTES,
	S_DNS_MIN_TTL,
	S_DNS_MAX_TTL,
	S_ACCEPT_PROXY,
	S_TLS,
	S_TLS_CERTS, /* a listener's tls mapping */
	S_TLS_CERT,
	S_TLS_KEY,
	S_TLS_ALPN,
	S_TLS_MIN,
	S_TLS_MAX,
	S_CERT_CERT, /* one of its certificates */
	S_CERT_KEY,
	S_HASH_KEY, /* cluster */
	S_SLOW_START,
	S_SR_HOSTS, /* outlier_detection */
	S_SR_VOLUME,
	S_CHECK_TYPE, /* health_check */
	S_CHECK_INTERVAL,
	S_CHECK_TIMEOUT,
	S_CHECK_PATH,
	S_CHECK_HOST,
	S_CHECK_EXPECT,
	S_ROUTE_CLUSTER, /* route */
	S_HEADER_NAME,	 /* a match's header */
	S_HEADER_VALUE,
	S_ACL_ACTION, /* an access rule */
	S_SNI_NAME,   /* an sni route */
	S_SNI_CLUSTER,
	S_LIMITS_RPS, /* a listener's limits */
	S_LIMITS_BURST,
	S_NSLOTS,
};

struct field {
	const char *key;
	enum field_kind kind;
	size_t off;
	unsigned min, max; /* for text: max is the array's size */
	enum slot slot;
};

/* A route as the loader keeps it until the clusters are known. */
struct route_in {
	struct rp_route_config r;
	char cluster[RP_CLUSTER_NAME];
	yaml_mark_t cluster_mark;
	int listener; /* whose own route it is; -1: the top level's */
	bool cluster_ok;
};

/* An SNI route as the loader keeps it until the clusters are known. */
struct sni_route_in {
	struct rp_sni_route r;
	char cluster[RP_CLUSTER_NAME];
	yaml_mark_t name_mark, cluster_mark;
	bool cluster_ok;
};

#define G(f)  offsetof(struct rp_config, f)
#define L(f)  offsetof(struct rp_listener_config, f)
#define H(f)  offsetof(struct rp_http_listener_config, f)
#define C(f)  offsetof(struct rp_cluster_config, f)
#define HC(f) offsetof(struct rp_health_config, f)
#define R(f)  offsetof(struct route_in, f)
#define FW(f) offsetof(struct rp_forward_config, f)
#define A(f)  offsetof(struct rp_acl_rule, f)
#define T(f)  offsetof(struct rp_tls_listener_config, f)
#define TC(f) offsetof(struct rp_tls_cert_config, f)
#define TB(f) offsetof(struct rp_tls_backend_config, f)
#define SR(f) offsetof(struct sni_route_in, f)
#define LM(f) offsetof(struct rp_limits_config, f)

static const struct field global_fields[] = {
	{"reactors", F_UINT, G(reactors), 1, RP_MAX_REACTORS, S_NONE},
	{"cpus", F_CPUS, 0, 0, 0, S_NONE},
	{"drain_timeout", F_DURATION, G(drain_timeout_ms), 0, 0, S_NONE},
	{"max_conns", F_UINT, G(max_conns), 1, 10000000, S_NONE},
	{"pipe_size", F_SIZE, G(pipe_size), 4096, 1u << 30, S_NONE},
	{"max_pipes", F_UINT, G(max_pipes), 1, 1000000, S_NONE},
	{"buffers", F_POW2, G(buf_count), 1, 32768, S_NONE},
	{"buffer_size", F_SIZE, G(buf_size), 1024, 1u << 20, S_NONE},
	{"iowq_workers", F_UINT, G(iowq_workers), 1, 64, S_NONE},
	{"auto_bulk_reads", F_UINT, G(auto_bulk_reads), 1, 1000, S_NONE},
	{"auth_threads", F_UINT, G(auth_threads), 1, 64, S_NONE},
	{"auth_queue", F_UINT, G(auth_queue), 1, 65536, S_NONE},
	{"auth_fail_cache", F_UINT, G(auth_fail_cache), 1, 1u << 20, S_NONE},
	{"auth_fail_limit", F_UINT, G(auth_fail_limit), 0, 1000000, S_NONE},
	{"auth_fail_window", F_DURATION, G(auth_fail_window_ms), 1, 0, S_NONE},
	{"auth_block", F_DURATION, G(auth_block_ms), 1, 0, S_NONE},
	{"client_table", F_UINT, G(client_table), 16, 1u << 20, S_NONE},
	{"log_level", F_LOG_LEVEL, G(log_level), 0, 0, S_NONE},
	{"listeners", F_LISTENERS, 0, 0, 0, S_NONE},
	{"clusters", F_CLUSTERS, 0, 0, 0, S_NONE},
	{"routes", F_ROUTES, 0, 0, 0, S_GROUTES},
	{"access_log", F_ACCESS_LOG, 0, 0, 0, S_NONE},
};

/* access_log: PATH, and access_log: {path: PATH, format: FORMAT}. */
static const struct field access_log_path = {
	"access_log", F_LOG_PATH, G(access_log), 0, RP_PATH_MAX, S_LOG_PATH,
};
static const struct field access_log_fields[] = {
	{"path", F_LOG_PATH, G(access_log), 0, RP_PATH_MAX, S_LOG_PATH},
	{"format", F_LOG_FORMAT, G(access_log_format), 0, 0, S_NONE},
};

static const struct field listener_fields[] = {
	{"bind", F_ADDR, L(addr), 0, 0, S_NONE},
	{"mode", F_MODE, L(mode), 0, 0, S_NONE},
	{"cluster", F_CLUSTER, 0, 0, 0, S_NONE},
	{"backlog", F_INT, L(backlog), 1, 1u << 20, S_NONE},
	{"accept_proxy", F_BOOL, L(accept_proxy), 0, 0, S_ACCEPT_PROXY},
	{"proxy_timeout", F_DURATION, L(proxy_timeout_ms), 1, 0, S_NONE},
	{"tunnel", F_TUNNEL, L(tunnel), 0, 0, S_NONE},
	{"idle_timeout", F_DURATION, L(idle_timeout_ms), 1, 0, S_NONE},
	{"http", F_HTTP, L(http), 0, 0, S_HTTP},
	{"routes", F_LROUTES, 0, 0, 0, S_LROUTES},
	{"forward", F_FORWARD, L(fwd), 0, 0, S_FORWARD},
	{"tls", F_TLS, L(tls), 0, 0, S_TLS},
	{"sni", F_SNI, 0, 0, 0, S_SNI},
	{"limits", F_LIMITS, L(limits), 0, 0, S_NONE},
};

/* A listener's per-client limits. */
static const struct field limits_fields[] = {
	{"client_conns", F_UINT, LM(client_conns), 0, 10000000, S_NONE},
	{"client_rps", F_UINT, LM(client_rps), 0, 10000000, S_LIMITS_RPS},
	{"client_burst", F_UINT, LM(client_burst), 0, 10000000, S_LIMITS_BURST},
};

/* A route's: its rate only (connections come before routes). */
static const struct field route_limits_fields[] = {
	{"client_rps", F_UINT, LM(client_rps), 0, 10000000, S_LIMITS_RPS},
	{"client_burst", F_UINT, LM(client_burst), 0, 10000000, S_LIMITS_BURST},
};

/* A listener's tls mapping: certificates, or the cert and key of one. */
static const struct field tls_fields[] = {
	{"certificates", F_CERTS, 0, 0, 0, S_TLS_CERTS},
	{"cert", F_PATHNAME, T(certs[0].cert), 1, RP_PATH_MAX, S_TLS_CERT},
	{"key", F_PATHNAME, T(certs[0].key), 1, RP_PATH_MAX, S_TLS_KEY},
	{"strict_sni", F_FLAG, T(strict_sni), 0, 0, S_NONE},
	{"alpn", F_ALPN, T(alpn), 0, sizeof(((struct rp_tls_listener_config *)0)->alpn),
	 S_TLS_ALPN},
	{"min_version", F_TLS_VERSION, T(min_version), 0, 0, S_TLS_MIN},
	{"max_version", F_TLS_VERSION, T(max_version), 0, 0, S_TLS_MAX},
	{"ciphers", F_CIPHERS, T(ciphers), 0,
	 sizeof(((struct rp_tls_listener_config *)0)->ciphers), S_NONE},
	{"tickets", F_FLAG, T(tickets), 0, 0, S_NONE},
	{"ticket_rotate", F_TTL, T(ticket_rotate_s), 1, 0, S_NONE},
	{"handshake_timeout", F_DURATION, T(handshake_timeout_ms), 1, 0, S_NONE},
	{"ktls", F_KTLS, T(ktls), 0, 0, S_NONE},
};

/* One item of certificates. */
static const struct field cert_fields[] = {
	{"cert", F_PATHNAME, TC(cert), 1, RP_PATH_MAX, S_CERT_CERT},
	{"key", F_PATHNAME, TC(key), 1, RP_PATH_MAX, S_CERT_KEY},
};

/* A tcp listener's SNI passthrough; its offsets are into the listener. */
static const struct field sni_fields[] = {
	{"routes", F_SNI_ROUTES, 0, 0, 0, S_SNI_ROUTES},
	{"strict", F_FLAG, L(sni_strict), 0, 0, S_NONE},
	{"timeout", F_DURATION, L(sni_timeout_ms), 1, 0, S_NONE},
};

static const struct field sni_route_fields[] = {
	{"name", F_SNI_NAME, SR(r.name), 0, RP_ROUTE_STR, S_SNI_NAME},
	{"cluster", F_SNI_CLUSTER, 0, 0, 0, S_SNI_CLUSTER},
};

static const struct field http_fields[] = {
	{"xff", F_FLAG, H(xff), 0, 0, S_NONE},
	{"xfp", F_FLAG, H(xfp), 0, 0, S_NONE},
	{"forwarded", F_FLAG, H(forwarded), 0, 0, S_NONE},
	{"via", F_FLAG, H(via), 0, 0, S_NONE},
	{"host_rewrite", F_HOST, H(host_rewrite), 0, RP_ROUTE_STR, S_NONE},
	{"header_timeout", F_DURATION, H(header_timeout_ms), 1, 0, S_NONE},
	{"keepalive_timeout", F_DURATION, H(keepalive_timeout_ms), 1, 0, S_NONE},
	{"body_timeout", F_DURATION, H(body_timeout_ms), 1, 0, S_NONE},
	{"max_body", F_SIZE64, H(max_body), 0, 0, S_NONE},
	{"max_head", F_SIZE, H(max_head), 1024, 1u << 20, S_MAX_HEAD},
	{"max_headers", F_UINT, H(max_headers), 1, RP_HTTP_MAX_HEADERS, S_NONE},
	{"max_target", F_SIZE, H(max_target), 1, 1u << 20, S_MAX_TARGET},
	{"max_requests", F_UINT, H(max_requests), 0, UINT32_MAX, S_NONE},
	{"splice_threshold", F_SIZE64, H(splice_threshold), 0, 0, S_NONE},
};

static const struct field forward_fields[] = {
	{"anonymity", F_ANONYMITY, FW(anonymity), 0, 0, S_NONE},
	{"users_file", F_FILE, FW(users_file), 0, RP_PATH_MAX, S_NONE},
	{"blocklist", F_FILE, FW(blocklist_file), 0, RP_PATH_MAX, S_NONE},
	{"ssrf_guard", F_FLAG, FW(ssrf_guard), 0, 0, S_NONE},
	{"parent", F_PARENT, FW(parent), 0, RP_ROUTE_STR, S_NONE},
	{"connect_timeout", F_DURATION, FW(connect_timeout_ms), 1, 0, S_NONE},
	{"parent_timeout", F_DURATION, FW(parent_timeout_ms), 1, 0, S_NONE},
	/* The absolute-form requests' bodies: the HTTP half's setting. */
	{"max_body", F_LSIZE64, L(http.max_body), 0, 0, S_NONE},
	{"dns", F_DNS, 0, 0, 0, S_NONE},
	{"acl", F_ACL, 0, 0, 0, S_NONE},
};

static const struct field dns_fields[] = {
	{"timeout", F_DURATION, FW(dns_timeout_ms), 1, 0, S_NONE},
	{"min_ttl", F_TTL, FW(dns_min_ttl_s), 0, 0, S_DNS_MIN_TTL},
	{"max_ttl", F_TTL, FW(dns_max_ttl_s), 0, 0, S_DNS_MAX_TTL},
	{"servers", F_DNS_SERVERS, FW(dns_servers), 0, RP_ROUTE_STR, S_NONE},
	{"hosts_file", F_FILE, FW(hosts_file), 0, RP_PATH_MAX, S_NONE},
};

static const struct field acl_fields[] = {
	{"action", F_ACTION, A(deny), 0, 0, S_ACL_ACTION},
	{"client", F_CIDR, A(client), 0, sizeof(((struct rp_acl_rule *)0)->client),
	 S_NONE},
	{"dest", F_DEST, A(dest), 0, RP_ROUTE_STR, S_NONE},
	{"ports", F_PORTS, 0, 0, 0, S_NONE},
};

static const struct field route_fields[] = {
	{"match", F_MATCH, 0, 0, 0, S_NONE},
	{"cluster", F_ROUTE_CLUSTER, R(cluster), 0, 0, S_ROUTE_CLUSTER},
	{"limits", F_RLIMITS, R(r.limits), 0, 0, S_NONE},
};

static const struct field match_fields[] = {
	{"host", F_ROUTE_HOST, R(r.host), 0, RP_ROUTE_STR, S_NONE},
	{"path", F_PATH, R(r.path), 0, RP_ROUTE_STR, S_NONE},
	{"method", F_METHOD, R(r.method), 0,
	 sizeof(((struct rp_route_config *)0)->method), S_NONE},
	{"header", F_HEADER, 0, 0, 0, S_NONE},
};

static const struct field header_fields[] = {
	{"name", F_TOKEN, R(r.header), 0, sizeof(((struct rp_route_config *)0)->header),
	 S_HEADER_NAME},
	{"value", F_VALUE, R(r.header_value), 0, RP_ROUTE_STR, S_HEADER_VALUE},
};

static const struct field cluster_fields[] = {
	{"balance", F_BALANCE, C(balance), 0, 0, S_NONE},
	{"connect_timeout", F_DURATION, C(connect_timeout_ms), 1, 0, S_NONE},
	{"retries", F_UINT, C(retries), 0, RP_MAX_BACKENDS, S_NONE},
	{"fall", F_UINT, C(fall), 0, 1000, S_NONE},
	{"cooldown", F_DURATION, C(cooldown_ms), 0, 0, S_NONE},
	{"send_proxy", F_SEND_PROXY, C(send_proxy), 0, 0, S_NONE},
	{"backends", F_BACKENDS, 0, 0, 0, S_NONE},
	{"hash_key", F_HASH_KEY, 0, 0, 0, S_HASH_KEY},
	{"response_timeout", F_DURATION, C(response_timeout_ms), 1, 0, S_NONE},
	{"pool", F_POOL, 0, 0, 0, S_NONE},
	{"health_check", F_HEALTH, C(health), 0, 0, S_NONE},
	{"tls", F_BACKEND_TLS, C(tls), 0, 0, S_NONE},
	{"outlier_detection", F_OUTLIER, 0, 0, 0, S_NONE},
	{"slow_start", F_DURATION, C(slow_start_ms), 0, 0, S_SLOW_START},
};

/* A cluster's outlier_detection mapping; fall and cooldown are the old
 * names of consecutive_gateway_failure and base_ejection_time. */
static const struct field outlier_fields[] = {
	{"consecutive_5xx", F_UINT, C(outlier.consecutive_5xx), 0, 1000, S_NONE},
	{"consecutive_gateway_failure", F_UINT, C(fall), 0, 1000, S_NONE},
	{"interval", F_DURATION, C(outlier.interval_ms), 1, 0, S_NONE},
	{"base_ejection_time", F_DURATION, C(cooldown_ms), 1, 0, S_NONE},
	{"max_ejection_time", F_DURATION, C(outlier.max_ejection_ms), 1, 0, S_NONE},
	{"max_ejection_percent", F_UINT, C(outlier.max_ejection_percent), 0, 100, S_NONE},
	{"success_rate_minimum_hosts", F_UINT, C(outlier.sr_minimum_hosts), 1,
	 RP_MAX_BACKENDS, S_SR_HOSTS},
	{"success_rate_request_volume", F_UINT, C(outlier.sr_request_volume), 1,
	 100000000, S_SR_VOLUME},
	{"success_rate_stdev_factor", F_UINT, C(outlier.sr_stdev_factor), 0, 100000,
	 S_NONE},
	{"success_rate_threshold", F_UINT, C(outlier.sr_threshold), 0, 100, S_NONE},
};

/* A cluster's tls mapping (re-encryption towards its backends). */
static const struct field backend_tls_fields[] = {
	{"ca", F_PATHNAME, TB(ca), 0, RP_PATH_MAX, S_NONE},
	{"verify", F_FLAG, TB(verify), 0, 0, S_NONE},
	{"sni", F_SERVER_NAME, TB(sni), 0, RP_ROUTE_STR, S_NONE},
	{"ktls", F_KTLS, TB(ktls), 0, 0, S_NONE},
};

static const struct field pool_fields[] = {
	{"max_idle", F_UINT, C(pool_max_idle), 0, 100000, S_NONE},
	{"idle_timeout", F_DURATION, C(pool_idle_timeout_ms), 1, 0, S_NONE},
	{"max_requests", F_UINT, C(pool_max_requests), 0, UINT32_MAX, S_NONE},
};

static const struct field health_fields[] = {
	{"type", F_CHECK_TYPE, HC(type), 0, 0, S_CHECK_TYPE},
	{"interval", F_DURATION, HC(interval_ms), 1, 0, S_CHECK_INTERVAL},
	{"timeout", F_DURATION, HC(timeout_ms), 1, 0, S_CHECK_TIMEOUT},
	{"rise", F_UINT, HC(rise), 1, 1000, S_NONE},
	{"fall", F_UINT, HC(fall), 1, 1000, S_NONE},
	{"path", F_PATH, HC(path), 0, RP_ROUTE_STR, S_CHECK_PATH},
	{"host", F_HOST, HC(host), 0, RP_ROUTE_STR, S_CHECK_HOST},
	{"expect_status", F_UINT, HC(expect_status), 100, 599, S_CHECK_EXPECT},
};

/* A backend given as a mapping; its offsets are into a struct backend_in. */
struct backend_in {
	struct rp_addr addr;
	unsigned weight;
};

static const struct field backend_fields[] = {
	{"address", F_ADDR, offsetof(struct backend_in, addr), 0, 0, S_NONE},
	{"weight", F_WEIGHT, offsetof(struct backend_in, weight), 1, 65535, S_NONE},
};

#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))

/* load_map() keeps one bit per row. */
#define MAX_FIELDS 32
_Static_assert(NFIELDS(global_fields) <= MAX_FIELDS, "too many top-level keys");
_Static_assert(NFIELDS(listener_fields) <= MAX_FIELDS, "too many listener keys");
_Static_assert(NFIELDS(http_fields) <= MAX_FIELDS, "too many http keys");
_Static_assert(NFIELDS(cluster_fields) <= MAX_FIELDS, "too many cluster keys");
_Static_assert(NFIELDS(outlier_fields) <= MAX_FIELDS, "too many outlier keys");
_Static_assert(NFIELDS(forward_fields) <= MAX_FIELDS, "too many forward keys");
_Static_assert(NFIELDS(tls_fields) <= MAX_FIELDS, "too many tls keys");

struct loader {
	const char *name;
	yaml_document_t doc;
	struct rp_config *cfg;
	rp_config_report_fn report;
	void *arg;
	unsigned problems;
	/* Resolved after the walk. */
	char lcluster[RP_MAX_LISTENERS][RP_CLUSTER_NAME];
	yaml_mark_t lcluster_mark[RP_MAX_LISTENERS];
	bool lcluster_bad[RP_MAX_LISTENERS]; /* reported already */
	yaml_mark_t lbind_mark[RP_MAX_LISTENERS];
	yaml_mark_t cluster_mark[RP_MAX_CLUSTERS];
	yaml_mark_t backend_mark[RP_MAX_BACKENDS]; /* of the current cluster */
	/* What the current mapping walk found (keys present, valid or not). */
	bool have_bind, have_cluster, have_backends, backends_empty;
	bool mode_bad;			     /* the listener's mode is unusable */
	bool any_mode_bad;		     /* ...of any listener */
	yaml_mark_t lmark[RP_MAX_LISTENERS]; /* each listener's item */
	bool lhas_cluster[RP_MAX_LISTENERS]; /* a cluster key was there */
	/* Routes, in file order, and how many items each list had (valid or
	 * not, so that a broken route still counts as a route). */
	struct route_in routes[RP_MAX_ROUTES];
	unsigned nroutes;
	bool routes_too_many;
	unsigned lroutes_given[RP_MAX_LISTENERS];
	unsigned groutes_given;
	/* Each listener's sni routes, as listeners[i].sni[] has them. */
	struct sni_route_in sni[RP_MAX_LISTENERS][RP_MAX_SNI];
	yaml_mark_t slot_mark[S_NSLOTS];
	bool slot_seen[S_NSLOTS];
};

__attribute__((format(printf, 3, 4))) static void
problem(struct loader *ld, const yaml_mark_t *m, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (ld->problems++ >= RP_CONFIG_MAX_REPORTS)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ld->problems == RP_CONFIG_MAX_REPORTS)
		snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg),
			 " (too many problems; the rest are not shown)");
	ld->report(ld->arg, ld->name, m ? (unsigned)m->line + 1 : 0,
		   m ? (unsigned)m->column + 1 : 0, msg);
}

static const char *node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return "a scalar";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

/* The node's text, or NULL (reported) when it is not a scalar. Scalars are
 * NUL-terminated by libyaml; one with a NUL inside is refused. */
static const char *scalar(struct loader *ld, const yaml_node_t *n, const char *key,
			  const char *want)
{
	const char *s;

	if (n->type != YAML_SCALAR_NODE) {
		problem(ld, &n->start_mark, "%s: expected %s, got %s", key, want,
			node_kind(n));
		return NULL;
	}
	s = (const char *)n->data.scalar.value;
	if (strlen(s) != n->data.scalar.length) {
		problem(ld, &n->start_mark, "%s: expected %s, got a NUL byte", key, want);
		return NULL;
	}
	return s;
}

static bool parse_bool(const char *s, int *out)
{
	static const char *const yes[] = {"true", "yes", "on", "True", "TRUE"};
	static const char *const no[] = {"false", "no", "off", "False", "FALSE"};

	for (unsigned i = 0; i < NFIELDS(yes); i++) {
		if (!strcmp(s, yes[i])) {
			*out = 1;
			return true;
		}
		if (!strcmp(s, no[i])) {
			*out = 0;
			return true;
		}
	}
	return false;
}

/* What a value of @kind looks like, for "expected ..., got a list". */
static const char *kind_wants(enum field_kind kind)
{
	switch (kind) {
	case F_UINT:
	case F_POW2:
	case F_INT:
	case F_WEIGHT:
		return "a whole number";
	case F_DURATION:
		return "a duration such as 500ms, 5s or 2m";
	case F_SIZE:
		return "a size such as 4096, 64k or 1m";
	case F_SIZE64:
	case F_LSIZE64:
		return "a size such as 0, 64k, 10m or 1t";
	case F_BOOL:
	case F_FLAG:
		return "true or false";
	case F_CPUS:
		return "a CPU list such as \"0-3,6\"";
	case F_ADDR:
		return "IP:PORT (quote an IPv6 one: \"[::1]:8080\")";
	case F_CLUSTER:
	case F_ROUTE_CLUSTER:
	case F_SNI_CLUSTER:
		return "a cluster name";
	case F_LOG_PATH:
		return "a file path or - (stdout)";
	case F_LOG_FORMAT:
		return "combined or json";
	case F_HOST:
		return "a host such as app.example or app.example:8080";
	case F_ROUTE_HOST:
		return "a host such as app.example or *.example";
	case F_PATH:
		return "a path such as /api/";
	case F_METHOD:
		return "a method such as GET";
	case F_TOKEN:
		return "a header name such as X-Tenant";
	case F_VALUE:
		return "a header value";
	case F_HASH_KEY:
		return "source, header:NAME or cookie:NAME";
	case F_CHECK_TYPE:
		return "tcp or http";
	case F_ANONYMITY:
		return "transparent, anonymous or elite";
	case F_FILE:
		return "a file path";
	case F_PARENT:
		return "http://IP:PORT or socks5://IP:PORT";
	case F_TTL:
		return "a duration in whole seconds such as 30s, 5m or 1h";
	case F_DNS_SERVERS:
		return "IP[:PORT],... such as \"1.1.1.1,[2606:4700::1111]:53\"";
	case F_ACTION:
		return "allow or deny";
	case F_CIDR:
		return "a CIDR such as 10.0.0.0/8, 192.0.2.7 or fd00::/8";
	case F_DEST:
		return "a host such as a.example, \"*.example\" or a CIDR";
	case F_PORTS:
		return "a port such as 443 or a range such as 80-8080";
	case F_PATHNAME:
		return "a file path";
	case F_ALPN:
		return "protocol names separated by commas such as \"h2,http/1.1\"";
	case F_TLS_VERSION:
		return "\"1.2\" or \"1.3\"";
	case F_CIPHERS:
		return "a cipher list such as ECDHE-RSA-AES128-GCM-SHA256";
	case F_KTLS:
		return "auto, on or off";
	case F_SERVER_NAME:
		return "a server name such as backend.example";
	case F_SNI_NAME:
		return "a server name such as a.example or \"*.example\"";
	default:
		return "a name";
	}
}

static void load_listeners(struct loader *ld, yaml_node_t *n);
static void load_clusters(struct loader *ld, yaml_node_t *n);
static void load_backends(struct loader *ld, yaml_node_t *n,
			  struct rp_cluster_config *cl);
static void load_routes(struct loader *ld, yaml_node_t *n, int listener);
static void load_acl(struct loader *ld, yaml_node_t *n, struct rp_forward_config *fw);
static void load_certs(struct loader *ld, yaml_node_t *n,
		       struct rp_tls_listener_config *t);
static void load_sni_routes(struct loader *ld, yaml_node_t *n,
			    struct rp_listener_config *l);
static void load_map(struct loader *ld, yaml_node_t *n, const struct field *fields,
		     unsigned nfields, char *base, const char *what);

/* Forgets the places of slots @first to @last (an object's). */
static void forget(struct loader *ld, enum slot first, enum slot last)
{
	for (unsigned i = first; i <= last; i++)
		ld->slot_seen[i] = false;
}

static bool seen(const struct loader *ld, enum slot s)
{
	return ld->slot_seen[s];
}

/* Stores string @s, the value of @f, in the char[f->max] at @dst, or reports
 * why not: too long (never truncated), a control character, or not
 * @syntax_ok, the kind's own test (@want says what was expected). Whether it
 * was stored. */
static bool load_text(struct loader *ld, const struct field *f, const yaml_node_t *v,
		      const char *s, bool syntax_ok, const char *want, char *dst)
{
	int ret = rp__config_check_text(s, f->max);

	if (ret == -ENAMETOOLONG)
		problem(ld, &v->start_mark, "%s: too long, at most %u characters", f->key,
			f->max - 1);
	else if (ret < 0)
		problem(ld, &v->start_mark,
			"%s: control characters are not allowed (they would end up "
			"in HTTP headers or log lines)",
			f->key);
	else if (!syntax_ok)
		problem(ld, &v->start_mark, "%s: expected %s, got '%s'", f->key, want, s);
	else
		memcpy(dst, s, strlen(s) + 1);
	return ret == 0 && syntax_ok;
}

static bool has_lower(const char *s)
{
	for (; *s; s++)
		if (*s >= 'a' && *s <= 'z')
			return true;
	return false;
}

/* The checks of a health_check mapping that involve several keys. */
static void check_health(struct loader *ld, const yaml_node_t *n,
			 const struct rp_health_config *h)
{
	static const struct {
		enum slot slot;
		const char *key;
	} http_only[] = {
		{S_CHECK_PATH, "path"},
		{S_CHECK_HOST, "host"},
		{S_CHECK_EXPECT, "expect_status"},
	};

	if (n->type != YAML_MAPPING_NODE)
		return;
	if (!seen(ld, S_CHECK_TYPE)) {
		problem(ld, &n->start_mark, "health_check without 'type' (tcp or http)");
		return;
	}
	if (h->type == RP_CHECK_TCP) {
		for (unsigned i = 0; i < NFIELDS(http_only); i++)
			if (seen(ld, http_only[i].slot))
				problem(ld, &ld->slot_mark[http_only[i].slot],
					"%s: only for type http (a tcp check only "
					"connects)",
					http_only[i].key);
	}
	if (h->type != RP_CHECK_NONE && h->timeout_ms >= h->interval_ms) {
		const yaml_mark_t *m =
			seen(ld, S_CHECK_TIMEOUT)    ? &ld->slot_mark[S_CHECK_TIMEOUT]
			: seen(ld, S_CHECK_INTERVAL) ? &ld->slot_mark[S_CHECK_INTERVAL]
						     : &n->start_mark;

		problem(ld, m,
			"timeout: must be less than the interval (timeout %u ms, "
			"interval %u ms)",
			h->timeout_ms, h->interval_ms);
	}
}

/* A dns mapping's TTL bounds, once both are known. */
static void check_dns(struct loader *ld, const struct rp_forward_config *fw)
{
	if (fw->dns_min_ttl_s <= fw->dns_max_ttl_s)
		return;
	if (seen(ld, S_DNS_MAX_TTL))
		problem(ld, &ld->slot_mark[S_DNS_MAX_TTL],
			"max_ttl: must not be less than min_ttl (%u s)",
			fw->dns_min_ttl_s);
	else
		problem(ld, &ld->slot_mark[S_DNS_MIN_TTL],
			"min_ttl: must not be more than max_ttl (%u s by default)",
			fw->dns_max_ttl_s);
}

/*
 * The checks of a listener's tls mapping that involve several keys: one of
 * the two ways of giving certificates, the shorthand whole, the versions in
 * order. The shorthand is certificate 0.
 */
static void check_tls(struct loader *ld, const yaml_node_t *n,
		      struct rp_tls_listener_config *t)
{
	bool cert = seen(ld, S_TLS_CERT), key = seen(ld, S_TLS_KEY);

	if (seen(ld, S_TLS_CERTS) && (cert || key))
		problem(ld, &ld->slot_mark[cert ? S_TLS_CERT : S_TLS_KEY],
			"%s: give either certificates: [...] or cert and key (one "
			"certificate), not both",
			cert ? "cert" : "key");
	else if (cert != key)
		problem(ld, &n->start_mark,
			"tls: %s without %s: give both cert: FILE (the PEM chain, "
			"leaf first) and key: FILE (its PEM private key)",
			cert ? "cert" : "key", cert ? "key" : "cert");
	else if (cert)
		t->ncerts = 1;
	else if (!seen(ld, S_TLS_CERTS))
		problem(ld, &n->start_mark,
			"tls without certificates: give certificates: [{cert: FILE, "
			"key: FILE}, ...] or cert: FILE and key: FILE");
	if (t->min_version > t->max_version && seen(ld, S_TLS_MAX))
		problem(ld, &ld->slot_mark[S_TLS_MAX],
			"max_version: must not be below min_version (%s)",
			t->min_version == 0x0304 ? "1.3" : "1.2");
}

/* Applies the value @v of key @f to @base. */
static void load_value(struct loader *ld, const struct field *f, yaml_node_t *v,
		       char *base)
{
	unsigned *u = (unsigned *)(base + f->off);
	const char *s;
	unsigned x;

	if (f == &listener_fields[0])
		ld->have_bind = true;
	if (f->kind == F_CLUSTER)
		ld->have_cluster = true;
	if (f->kind == F_BACKENDS)
		ld->have_backends = true;
	switch (f->kind) {
	case F_LISTENERS:
		load_listeners(ld, v);
		return;
	case F_CLUSTERS:
		load_clusters(ld, v);
		return;
	case F_BACKENDS:
		load_backends(ld, v, (struct rp_cluster_config *)base);
		return;
	case F_HTTP:
		load_map(ld, v, http_fields, NFIELDS(http_fields), base + f->off, "http");
		return;
	case F_LIMITS:
	case F_RLIMITS:
		forget(ld, S_LIMITS_RPS, S_LIMITS_BURST);
		if (f->kind == F_LIMITS)
			load_map(ld, v, limits_fields, NFIELDS(limits_fields),
				 base + f->off, "limits");
		else
			load_map(ld, v, route_limits_fields, NFIELDS(route_limits_fields),
				 base + f->off, "limits");
		if (seen(ld, S_LIMITS_BURST) && !seen(ld, S_LIMITS_RPS))
			problem(ld, &ld->slot_mark[S_LIMITS_BURST],
				"client_burst: needs client_rps (the rate the bucket "
				"refills at)");
		return;
	case F_ROUTES:
		load_routes(ld, v, -1);
		return;
	case F_LROUTES:
		load_routes(ld, v, (int)ld->cfg->nlisteners);
		return;
	case F_ACCESS_LOG:
		if (v->type == YAML_MAPPING_NODE) {
			forget(ld, S_LOG_PATH, S_LOG_PATH);
			load_map(ld, v, access_log_fields, NFIELDS(access_log_fields),
				 base, "access_log");
			if (!seen(ld, S_LOG_PATH))
				problem(ld, &v->start_mark,
					"access_log without 'path' (a file, or - for "
					"stdout)");
		} else {
			load_value(ld, &access_log_path, v, base);
		}
		return;
	case F_POOL:
		load_map(ld, v, pool_fields, NFIELDS(pool_fields), base, "pool");
		return;
	case F_HEALTH:
		forget(ld, S_CHECK_TYPE, S_CHECK_EXPECT);
		load_map(ld, v, health_fields, NFIELDS(health_fields), base + f->off,
			 "health_check");
		check_health(ld, v, (struct rp_health_config *)(base + f->off));
		return;
	case F_OUTLIER: {
		const struct rp_outlier_config *oc =
			&((const struct rp_cluster_config *)base)->outlier;

		forget(ld, S_SR_HOSTS, S_SR_VOLUME);
		load_map(ld, v, outlier_fields, NFIELDS(outlier_fields), base,
			 "outlier_detection");
		if (!oc->sr_stdev_factor && !oc->sr_threshold &&
		    (seen(ld, S_SR_HOSTS) || seen(ld, S_SR_VOLUME)))
			problem(ld,
				&ld->slot_mark[seen(ld, S_SR_HOSTS) ? S_SR_HOSTS
								    : S_SR_VOLUME],
				"%s: no success-rate detector is on: give "
				"success_rate_stdev_factor (Envoy's is 1900) or "
				"success_rate_threshold (a percentage)",
				seen(ld, S_SR_HOSTS) ? "success_rate_minimum_hosts"
						     : "success_rate_request_volume");
		return;
	}
	case F_MATCH:
		load_map(ld, v, match_fields, NFIELDS(match_fields), base, "match");
		return;
	case F_FORWARD:
		load_map(ld, v, forward_fields, NFIELDS(forward_fields), base + f->off,
			 "forward");
		return;
	case F_DNS:
		load_map(ld, v, dns_fields, NFIELDS(dns_fields), base, "dns");
		if (v->type == YAML_MAPPING_NODE)
			check_dns(ld, (const struct rp_forward_config *)base);
		return;
	case F_ACL:
		load_acl(ld, v, (struct rp_forward_config *)base);
		return;
	case F_TLS: {
		struct rp_tls_listener_config *t =
			(struct rp_tls_listener_config *)(base + f->off);

		forget(ld, S_TLS_CERTS, S_TLS_MAX);
		load_map(ld, v, tls_fields, NFIELDS(tls_fields), (char *)t, "tls");
		if (v->type == YAML_MAPPING_NODE) {
			t->enabled = true;
			check_tls(ld, v, t);
		}
		return;
	}
	case F_CERTS:
		load_certs(ld, v, (struct rp_tls_listener_config *)base);
		return;
	case F_BACKEND_TLS: {
		struct rp_tls_backend_config *bt =
			(struct rp_tls_backend_config *)(base + f->off);
		int b;

		if (v->type != YAML_SCALAR_NODE) {
			load_map(ld, v, backend_tls_fields, NFIELDS(backend_tls_fields),
				 (char *)bt, "tls");
			bt->enabled = v->type == YAML_MAPPING_NODE;
			return;
		}
		s = scalar(ld, v, f->key, "a mapping, or true or false");
		if (!s)
			return;
		if (parse_bool(s, &b))
			bt->enabled = b;
		else
			problem(ld, &v->start_mark,
				"%s: expected a mapping {ca, verify, sni, ktls}, or true "
				"or false, got '%s'",
				f->key, s);
		return;
	}
	case F_SNI:
		load_map(ld, v, sni_fields, NFIELDS(sni_fields), base, "sni");
		if (v->type == YAML_MAPPING_NODE && !seen(ld, S_SNI_ROUTES))
			problem(ld, &v->start_mark,
				"sni without 'routes' (give routes: [{name: a.example, "
				"cluster: NAME}, ...])");
		return;
	case F_SNI_ROUTES:
		load_sni_routes(ld, v, (struct rp_listener_config *)base);
		return;
	case F_HEADER:
		forget(ld, S_HEADER_NAME, S_HEADER_VALUE);
		load_map(ld, v, header_fields, NFIELDS(header_fields), base, "header");
		if (v->type == YAML_MAPPING_NODE &&
		    (!seen(ld, S_HEADER_NAME) || !seen(ld, S_HEADER_VALUE)))
			problem(ld, &v->start_mark,
				"header: give both name and value (the request's "
				"header must have that value)");
		return;
	default:
		break;
	}
	s = scalar(ld, v, f->key, kind_wants(f->kind));
	if (!s)
		return;
	switch (f->kind) {
	case F_UINT:
	case F_POW2:
	case F_INT:
	case F_WEIGHT:
		if (rp__parse_uint(s, f->min, f->max, &x) < 0)
			problem(ld, &v->start_mark,
				"%s: expected a whole number from %u to %u, got '%s'",
				f->key, f->min, f->max, s);
		else if (f->kind == F_POW2 && (x & (x - 1)))
			problem(ld, &v->start_mark,
				"%s: must be a power of two, got '%s'", f->key, s);
		else if (f->kind == F_INT)
			*(int *)(base + f->off) = (int)x;
		else
			*u = x;
		break;
	case F_DURATION:
		if (rp__parse_duration_ms(s, &x) < 0 || x < f->min)
			problem(ld, &v->start_mark,
				"%s: expected a duration such as 500ms, 5s or 2m%s, got "
				"'%s'",
				f->key, f->min ? " (not zero)" : "", s);
		else
			*u = x;
		break;
	case F_SIZE:
		if (rp__parse_size(s, &x) < 0 || x < f->min || x > f->max)
			problem(ld, &v->start_mark,
				"%s: expected a size from %u to %u bytes (suffixes k, m, "
				"g), got '%s'",
				f->key, f->min, f->max, s);
		else
			*u = x;
		break;
	case F_LSIZE64:
		base = (char *)&ld->cfg->listeners[ld->cfg->nlisteners];
		/* fall through */
	case F_SIZE64:
		if (rp__parse_size64(s, (uint64_t *)(base + f->off)) < 0)
			problem(ld, &v->start_mark,
				"%s: expected a size such as 0, 64k, 10m, 2g or 1t, got "
				"'%s'",
				f->key, s);
		break;
	case F_BOOL:
		if (!parse_bool(s, (int *)(base + f->off)))
			problem(ld, &v->start_mark,
				"%s: expected true or false, got '%s'", f->key, s);
		break;
	case F_FLAG: {
		int b;

		if (!parse_bool(s, &b))
			problem(ld, &v->start_mark,
				"%s: expected true or false, got '%s'", f->key, s);
		else
			*(bool *)(base + f->off) = b;
		break;
	}
	case F_CPUS: {
		struct rp_config *cfg = ld->cfg;
		int bad;

		if (rp__cpulist_parse(s, cfg->cpus, RP_MAX_REACTORS, &cfg->ncpus) < 0) {
			cfg->ncpus = 0;
			problem(ld, &v->start_mark,
				"%s: expected a CPU list such as 0-3,6, got '%s'", f->key,
				s);
		} else if (rp__cpus_check_allowed(cfg->cpus, cfg->ncpus, &bad) < 0) {
			problem(ld, &v->start_mark,
				"%s: CPU %d is not available to this process (see "
				"taskset -p $$ or the cgroup cpuset)",
				f->key, bad);
		}
		break;
	}
	case F_LOG_LEVEL: {
		static const char *const names[] = {"error", "warn", "info", "debug"};
		unsigned i;

		for (i = 0; i < NFIELDS(names); i++)
			if (!strcmp(s, names[i]))
				break;
		if (i == NFIELDS(names))
			problem(ld, &v->start_mark,
				"%s: expected error, warn, info or debug, got '%s'",
				f->key, s);
		else
			*(enum rp_log_level *)(base + f->off) = (enum rp_log_level)i;
		break;
	}
	case F_ADDR:
		if (rp__addr_parse(s, (struct rp_addr *)(base + f->off), false) < 0) {
			problem(ld, &v->start_mark,
				"%s: expected IP:PORT such as 127.0.0.1:8080 or "
				"[::1]:8080, got '%s'",
				f->key, s);
		} else if (f == &listener_fields[0]) {
			ld->lbind_mark[ld->cfg->nlisteners] = v->start_mark;
		}
		break;
	case F_MODE: {
		unsigned m;

		for (m = 0; m < RP_MODE_NMODES; m++)
			if (!strcmp(s, rp_listener_mode_name((enum rp_listener_mode)m)))
				break;
		if (m == RP_MODE_NMODES) {
			ld->mode_bad = true;
			problem(ld, &v->start_mark,
				"%s: expected tcp, http or forward, got '%s'", f->key, s);
			break;
		}
		*(enum rp_listener_mode *)(base + f->off) = (enum rp_listener_mode)m;
		break;
	}
	case F_TUNNEL: {
		unsigned m;

		for (m = 0; m < RP_TUNNEL_NMODES; m++)
			if (!strcmp(s, rp_tunnel_mode_name((enum rp_tunnel_mode)m)))
				break;
		if (m == RP_TUNNEL_NMODES)
			problem(ld, &v->start_mark,
				"%s: expected splice, ring-splice, copy or auto, got "
				"'%s'",
				f->key, s);
		else
			*(enum rp_tunnel_mode *)(base + f->off) = (enum rp_tunnel_mode)m;
		break;
	}
	case F_CLUSTER: {
		unsigned i = ld->cfg->nlisteners;

		ld->lcluster_mark[i] = v->start_mark;
		if (!*s || strlen(s) >= RP_CLUSTER_NAME) {
			problem(ld, &v->start_mark,
				"%s: expected a cluster name of 1 to %d characters, got "
				"'%s'",
				f->key, RP_CLUSTER_NAME - 1, s);
		} else {
			snprintf(ld->lcluster[i], RP_CLUSTER_NAME, "%s", s);
			ld->lcluster_bad[i] = false;
		}
		break;
	}
	case F_BALANCE:
		if (strlen(s) >= 16 || !rp__balance_ops_find(s))
			problem(ld, &v->start_mark,
				"%s: expected roundrobin, wrr, leastconn, p2c, ringhash "
				"or "
				"maglev, got '%s'",
				f->key, s);
		else
			snprintf(base + f->off, 16, "%s", s);
		break;
	case F_LOG_PATH:
		load_text(ld, f, v, s, *s, "a file path or - (stdout)", base + f->off);
		break;
	case F_LOG_FORMAT:
		if (rp__parse_log_format(s, (enum rp_log_format *)(base + f->off)) < 0)
			problem(ld, &v->start_mark,
				"%s: expected combined or json, got '%s'", f->key, s);
		break;
	case F_HOST:
		load_text(ld, f, v, s, rp__config_is_host(s, false),
			  "a host such as app.example or app.example:8080",
			  base + f->off);
		break;
	case F_ROUTE_HOST:
		load_text(ld, f, v, s, rp__config_is_host(s, true),
			  "a host such as app.example or *.example (every "
			  "subdomain), without a port",
			  base + f->off);
		break;
	case F_PATH:
		load_text(ld, f, v, s, rp__config_is_path(s),
			  "a path starting with / (no spaces, ? or #)", base + f->off);
		break;
	case F_METHOD:
		load_text(ld, f, v, s, rp__config_is_token(s) && !has_lower(s),
			  "a method in capitals such as GET or POST (methods are "
			  "case-sensitive)",
			  base + f->off);
		break;
	case F_TOKEN:
		load_text(ld, f, v, s, rp__config_is_token(s),
			  "a header name such as X-Tenant", base + f->off);
		break;
	case F_VALUE:
		/* A request's value has its surrounding whitespace trimmed:
		 * one with spaces at either end would never match. */
		load_text(ld, f, v, s, *s && *s != ' ' && s[strlen(s) - 1] != ' ',
			  "a value without spaces at either end (the request's is "
			  "compared trimmed)",
			  base + f->off);
		break;
	case F_HASH_KEY: {
		struct rp_cluster_config *cl = (struct rp_cluster_config *)base;
		int ret = rp__parse_hash_key(s, &cl->hash_key, cl->hash_name,
					     sizeof(cl->hash_name));

		if (ret == -ENAMETOOLONG)
			problem(ld, &v->start_mark,
				"%s: the name is too long, at most %zu characters",
				f->key, sizeof(cl->hash_name) - 1);
		else if (ret < 0)
			problem(ld, &v->start_mark,
				"%s: expected source, header:NAME or cookie:NAME (NAME "
				"a token such as X-User), got '%s'",
				f->key, s);
		break;
	}
	case F_CHECK_TYPE:
		if (!strcmp(s, "tcp"))
			*(enum rp_check_type *)(base + f->off) = RP_CHECK_TCP;
		else if (!strcmp(s, "http"))
			*(enum rp_check_type *)(base + f->off) = RP_CHECK_HTTP;
		else
			problem(ld, &v->start_mark, "%s: expected tcp or http, got '%s'",
				f->key, s);
		break;
	case F_ROUTE_CLUSTER: {
		struct route_in *ri = (struct route_in *)base;

		ri->cluster_mark = v->start_mark;
		if (!*s || strlen(s) >= RP_CLUSTER_NAME) {
			problem(ld, &v->start_mark,
				"%s: expected a cluster name of 1 to %d characters, got "
				"'%s'",
				f->key, RP_CLUSTER_NAME - 1, s);
		} else {
			snprintf(ri->cluster, RP_CLUSTER_NAME, "%s", s);
			ri->cluster_ok = true;
		}
		break;
	}
	case F_ANONYMITY:
		if (rp__parse_anonymity(s, (enum rp_anonymity *)(base + f->off)) < 0)
			problem(ld, &v->start_mark,
				"%s: expected transparent, anonymous or elite, got '%s'",
				f->key, s);
		break;
	case F_FILE: {
		int ret;

		if (!load_text(ld, f, v, s, *s, "a file path", base + f->off))
			break;
		/* Read by the engine at start: say now if it cannot be. */
		ret = rp__config_check_file(s);
		if (ret < 0)
			problem(ld, &v->start_mark, "%s: cannot read '%s': %s", f->key, s,
				strerror(-ret));
		break;
	}
	case F_PARENT:
		load_text(ld, f, v, s, rp__config_is_parent(s),
			  "http://IP:PORT or socks5://IP:PORT (an IPv6 address in "
			  "brackets; USER:PASS@ before the address for credentials)",
			  base + f->off);
		break;
	case F_DNS_SERVERS:
		load_text(ld, f, v, s, rp__config_is_dns_servers(s),
			  "IP[:PORT],... such as 1.1.1.1,[2606:4700::1111]:53 (no "
			  "spaces)",
			  base + f->off);
		break;
	case F_TTL:
		if (rp__parse_duration_ms(s, &x) < 0 || x % 1000 || x / 1000 < f->min)
			problem(ld, &v->start_mark,
				"%s: expected a duration in whole seconds such as "
				"30s, 5m or 1h%s (a bare number is milliseconds), got "
				"'%s'",
				f->key, f->min ? ", at least 1s" : "", s);
		else
			*u = x / 1000;
		break;
	case F_ACTION:
		if (!strcmp(s, "allow") || !strcmp(s, "deny"))
			*(bool *)(base + f->off) = s[0] == 'd';
		else
			problem(ld, &v->start_mark,
				"%s: expected allow or deny, got '%s'", f->key, s);
		break;
	case F_CIDR:
		load_text(ld, f, v, s, rp__config_is_cidr(s),
			  "a CIDR such as 10.0.0.0/8, 192.0.2.7 or fd00::/8 (prefix "
			  "at most 32 for IPv4, 128 for IPv6)",
			  base + f->off);
		break;
	case F_DEST:
		load_text(ld, f, v, s, rp__config_is_acl_dest(s),
			  "a CIDR such as 10.0.0.0/8, a host such as a.example, or "
			  "*.example (its subdomains), without a port",
			  base + f->off);
		break;
	case F_PORTS: {
		struct rp_acl_rule *r = (struct rp_acl_rule *)base;

		if (rp__parse_ports(s, &r->port_min, &r->port_max) < 0)
			problem(ld, &v->start_mark,
				"%s: expected a port such as 443 or a range such as "
				"80-8080 (1 to 65535, the lower first), got '%s'",
				f->key, s);
		break;
	}
	case F_PATHNAME:
		/* Stored as given: the engine reads it at start, and says then
		 * what is wrong with it (engine/tls). */
		load_text(ld, f, v, s, *s || !f->min, "a file path", base + f->off);
		break;
	case F_ALPN:
		load_text(ld, f, v, s, !*s || rp__config_is_alpn(s),
			  "protocol names separated by commas such as h2,http/1.1 (no "
			  "spaces, none empty)",
			  base + f->off);
		break;
	case F_TLS_VERSION:
		if (rp__parse_tls_version(s, u) < 0)
			problem(ld, &v->start_mark,
				"%s: expected \"1.2\" or \"1.3\" (older versions are "
				"not offered), got '%s'",
				f->key, s);
		break;
	case F_CIPHERS:
		/* BoringSSL judges the list when the engine starts. */
		load_text(ld, f, v, s, true, "a cipher list", base + f->off);
		break;
	case F_KTLS:
		if (rp__parse_ktls(s, (enum rp_ktls_mode *)(base + f->off)) < 0)
			problem(ld, &v->start_mark,
				"%s: expected auto, on or off, got '%s'", f->key, s);
		break;
	case F_SERVER_NAME:
		load_text(ld, f, v, s, !*s || rp__config_is_server_name(s),
			  "a server name such as backend.example (no port, no IP "
			  "address, no trailing dot)",
			  base + f->off);
		break;
	case F_SNI_NAME:
		((struct sni_route_in *)base)->name_mark = v->start_mark;
		load_text(ld, f, v, s, rp__sni_name_ok(s),
			  "a server name such as a.example, or *.example (exactly one "
			  "more label), without a port or a trailing dot",
			  base + f->off);
		break;
	case F_SNI_CLUSTER: {
		struct sni_route_in *ri = (struct sni_route_in *)base;

		ri->cluster_mark = v->start_mark;
		if (!*s || strlen(s) >= RP_CLUSTER_NAME) {
			problem(ld, &v->start_mark,
				"%s: expected a cluster name of 1 to %d characters, got "
				"'%s'",
				f->key, RP_CLUSTER_NAME - 1, s);
		} else {
			snprintf(ri->cluster, RP_CLUSTER_NAME, "%s", s);
			ri->cluster_ok = true;
		}
		break;
	}
	case F_SEND_PROXY:
		if (!strcmp(s, "v1"))
			*u = 1;
		else if (!strcmp(s, "v2"))
			*u = 2;
		else if (!strcmp(s, "off") || !strcmp(s, "false") || !strcmp(s, "no"))
			*u = 0;
		else
			problem(ld, &v->start_mark,
				"%s: expected v1, v2 or off, got '%s'", f->key, s);
		break;
	default:
		break;
	}
}

/* Walks mapping @n against @fields, into @base. @what names the mapping
 * in messages ("the top level", "a listener"...). */
static void load_map(struct loader *ld, yaml_node_t *n, const struct field *fields,
		     unsigned nfields, char *base, const char *what)
{
	yaml_mark_t seen[MAX_FIELDS];
	uint32_t seen_mask = 0;

	if (n->type != YAML_MAPPING_NODE) {
		problem(ld, &n->start_mark, "%s: expected a mapping (key: value), got %s",
			what, node_kind(n));
		return;
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
	     p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(&ld->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(&ld->doc, p->value);
		const char *key;
		unsigned i;

		if (!k || !v)
			continue;
		key = scalar(ld, k, what, "a key");
		if (!key)
			continue;
		for (i = 0; i < nfields; i++)
			if (!strcmp(key, fields[i].key))
				break;
		if (i == nfields) {
			char list[400];
			size_t len = 0;

			for (unsigned j = 0; j < nfields && len < sizeof(list); j++)
				len += (size_t)snprintf(list + len, sizeof(list) - len,
							"%s%s", j ? ", " : "",
							fields[j].key);
			problem(ld, &k->start_mark,
				"unknown key '%s' in %s (expected %s)", key, what, list);
			continue;
		}
		if (seen_mask & (1u << i)) {
			problem(ld, &k->start_mark,
				"duplicate key '%s' in %s (first at %lu:%lu)", key, what,
				(unsigned long)seen[i].line + 1,
				(unsigned long)seen[i].column + 1);
			continue;
		}
		seen_mask |= 1u << i;
		seen[i] = k->start_mark;
		if (fields[i].slot) {
			/* A value's place, or a list's or mapping's key. */
			ld->slot_seen[fields[i].slot] = true;
			ld->slot_mark[fields[i].slot] = v->type == YAML_SCALAR_NODE
								? v->start_mark
								: k->start_mark;
		}
		load_value(ld, &fields[i], v, base);
	}
}

/* The checks of a listener that involve several keys; whether routes make
 * up for a missing cluster is known only at the end (resolve_routes()). */
static void check_listener(struct loader *ld, const struct rp_listener_config *l)
{
	const struct rp_http_listener_config *h = &l->http;
	const char *h2;

	if (!ld->have_bind)
		problem(ld, &ld->lmark[ld->cfg->nlisteners],
			"listener without 'bind' (its address)");
	/* A forward listener's cluster is refused by resolve(), which knows
	 * the clusters. A strict SNI listener sends nothing to its own. */
	if (l->mode != RP_MODE_HTTP && l->mode != RP_MODE_FORWARD && !ld->have_cluster &&
	    !(l->nsni && l->sni_strict))
		problem(ld, &ld->lmark[ld->cfg->nlisteners],
			l->nsni ? "listener without 'cluster' (where connections that "
				  "no sni route takes go; or sni: {strict: true} to "
				  "refuse them)"
				: "listener without 'cluster' (where it forwards)");
	if (seen(ld, S_SNI) && !ld->mode_bad && l->mode != RP_MODE_TCP)
		problem(ld, &ld->slot_mark[S_SNI],
			"sni: only for mode tcp (this listener is mode %s)",
			rp_listener_mode_name(l->mode));
	if (l->nsni && l->tls.enabled)
		problem(ld, &ld->slot_mark[S_SNI],
			"sni: not with tls on the same listener (sni routes pass TLS "
			"through untouched)");
	if (l->mode != RP_MODE_FORWARD && !ld->mode_bad && seen(ld, S_FORWARD))
		problem(ld, &ld->slot_mark[S_FORWARD],
			"forward: only for mode forward (this listener is mode %s)",
			rp_listener_mode_name(l->mode));
	/* At its bind, once every key of the listener is known. */
	if (ld->lbind_mark[ld->cfg->nlisteners].line != (size_t)-1 &&
	    rp__forward_open_proxy(l))
		problem(ld, &ld->lbind_mark[ld->cfg->nlisteners],
			"bind: a forward proxy on a non-loopback address with no users "
			"and no rule that limits its clients is an open proxy: add users "
			"(forward: "
			"{users_file: FILE}), or say who may use it (forward: {acl: "
			"[{action: allow, client: CIDR}, {action: deny}]}; client: %s "
			"for everyone)",
			l->addr.ss.ss_family == AF_INET6 ? "\"::/0\"" : "0.0.0.0/0");
	if (l->mode != RP_MODE_HTTP && !ld->mode_bad) {
		if (seen(ld, S_HTTP))
			problem(ld, &ld->slot_mark[S_HTTP],
				"http: only for mode http (this listener is mode %s)",
				rp_listener_mode_name(l->mode));
		if (seen(ld, S_LROUTES))
			problem(ld, &ld->slot_mark[S_LROUTES],
				"routes: only for mode http (this listener is mode %s)",
				rp_listener_mode_name(l->mode));
	}
	if (seen(ld, S_TLS) && !ld->mode_bad) {
		if (l->mode == RP_MODE_FORWARD)
			problem(ld, &ld->slot_mark[S_TLS],
				"tls: tls is available on mode tcp and http listeners "
				"(this listener is mode forward)");
		else if (l->accept_proxy)
			problem(ld, &ld->slot_mark[S_ACCEPT_PROXY],
				"accept_proxy: accept_proxy with tls is not available "
				"yet");
		/* The L7 half speaks HTTP/1.1 only: a client that ALPN let
		 * pick h2 would send its preface and get HTTP/1.1 back. A tcp
		 * listener passes bytes on, to a backend that may speak h2. */
		h2 = l->mode == RP_MODE_HTTP ? rp__tls_alpn_h2(l->tls.alpn) : NULL;
		if (h2 && seen(ld, S_TLS_ALPN))
			problem(ld, &ld->slot_mark[S_TLS_ALPN],
				"alpn: HTTP/2 is not supported yet: this mode http "
				"listener speaks HTTP/1.1 only, and a client that picks "
				"%s would send HTTP/2 and get HTTP/1.1 back; remove %s "
				"from alpn (http/1.1 is the default)",
				h2, h2);
	}
	if (l->mode == RP_MODE_HTTP && h->max_target > h->max_head) {
		if (seen(ld, S_MAX_TARGET))
			problem(ld, &ld->slot_mark[S_MAX_TARGET],
				"max_target: must not be more than max_head (%u bytes)",
				h->max_head);
		else
			problem(ld, &ld->slot_mark[S_MAX_HEAD],
				"max_head: must not be less than max_target (%u bytes by "
				"default)",
				h->max_target);
	}
}

static void load_listeners(struct loader *ld, yaml_node_t *n)
{
	struct rp_config *cfg = ld->cfg;
	bool too_many = false;

	if (n->type != YAML_SEQUENCE_NODE) {
		problem(ld, &n->start_mark, "listeners: expected a list, got %s",
			node_kind(n));
		return;
	}
	for (yaml_node_item_t *it = n->data.sequence.items.start;
	     it < n->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(&ld->doc, *it);
		struct rp_listener_config *l;

		if (!item)
			continue;
		if (cfg->nlisteners == RP_MAX_LISTENERS) {
			if (!too_many)
				problem(ld, &item->start_mark,
					"too many listeners (at most %d)",
					RP_MAX_LISTENERS);
			too_many = true;
			continue;
		}
		l = &cfg->listeners[cfg->nlisteners];
		rp_listener_config_init(l);
		ld->have_bind = ld->have_cluster = ld->mode_bad = false;
		forget(ld, S_HTTP, S_CERT_KEY);
		/* Set when a valid bind and cluster are found. */
		ld->lbind_mark[cfg->nlisteners].line = (size_t)-1;
		ld->lcluster_bad[cfg->nlisteners] = true;
		ld->lmark[cfg->nlisteners] = item->start_mark;
		load_map(ld, item, listener_fields, NFIELDS(listener_fields), (char *)l,
			 "a listener");
		ld->lhas_cluster[cfg->nlisteners] = ld->have_cluster;
		ld->any_mode_bad |= ld->mode_bad;
		if (item->type == YAML_MAPPING_NODE)
			check_listener(ld, l);
		/* Kept even when broken, so later listeners keep their places;
		 * the problem count says the result is unusable. */
		cfg->nlisteners++;
	}
}

/* A list of routes, the top level's (@listener -1) or a listener's own. */
static void load_routes(struct loader *ld, yaml_node_t *n, int listener)
{
	if (n->type != YAML_SEQUENCE_NODE) {
		problem(ld, &n->start_mark,
			"routes: expected a list of {match: {...}, cluster: NAME}, got "
			"%s",
			node_kind(n));
		return;
	}
	for (yaml_node_item_t *it = n->data.sequence.items.start;
	     it < n->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(&ld->doc, *it);
		struct route_in *ri;

		if (!item)
			continue;
		if (listener < 0)
			ld->groutes_given++;
		else
			ld->lroutes_given[listener]++;
		if (ld->nroutes == RP_MAX_ROUTES) {
			if (!ld->routes_too_many)
				problem(ld, &item->start_mark,
					"too many routes (at most %d in all)",
					RP_MAX_ROUTES);
			ld->routes_too_many = true;
			continue;
		}
		ri = &ld->routes[ld->nroutes++];
		memset(ri, 0, sizeof(*ri));
		ri->listener = listener;
		forget(ld, S_ROUTE_CLUSTER, S_ROUTE_CLUSTER);
		load_map(ld, item, route_fields, NFIELDS(route_fields), (char *)ri,
			 "a route");
		if (item->type == YAML_MAPPING_NODE && !seen(ld, S_ROUTE_CLUSTER))
			problem(ld, &item->start_mark,
				"route without 'cluster' (where its requests go)");
	}
}

/* A forward listener's access rules, in the order they are tried. */
static void load_acl(struct loader *ld, yaml_node_t *n, struct rp_forward_config *fw)
{
	bool too_many = false;

	if (n->type != YAML_SEQUENCE_NODE) {
		problem(ld, &n->start_mark,
			"acl: expected a list of {action: allow|deny, client: "
			"CIDR, dest: HOST|CIDR, ports: N|N-M}, got %s",
			node_kind(n));
		return;
	}
	for (yaml_node_item_t *it = n->data.sequence.items.start;
	     it < n->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(&ld->doc, *it);
		struct rp_acl_rule *r;

		if (!item)
			continue;
		if (fw->nacl == RP_MAX_ACL_RULES) {
			if (!too_many)
				problem(ld, &item->start_mark,
					"acl: too many rules (at most %d)",
					RP_MAX_ACL_RULES);
			too_many = true;
			continue;
		}
		r = &fw->acl[fw->nacl++];
		memset(r, 0, sizeof(*r));
		forget(ld, S_ACL_ACTION, S_ACL_ACTION);
		load_map(ld, item, acl_fields, NFIELDS(acl_fields), (char *)r,
			 "an acl rule");
		if (item->type == YAML_MAPPING_NODE && !seen(ld, S_ACL_ACTION))
			problem(ld, &item->start_mark,
				"acl rule without 'action' (allow or deny)");
	}
}

/* A tls mapping's certificates, the first the default. */
static void load_certs(struct loader *ld, yaml_node_t *n,
		       struct rp_tls_listener_config *t)
{
	bool too_many = false;

	if (n->type != YAML_SEQUENCE_NODE) {
		problem(ld, &n->start_mark,
			"certificates: expected a list of {cert: FILE, key: FILE}, got "
			"%s",
			node_kind(n));
		return;
	}
	if (n->data.sequence.items.top == n->data.sequence.items.start)
		problem(ld, &n->start_mark,
			"certificates: the list is empty (give at least one {cert: "
			"FILE, key: FILE})");
	for (yaml_node_item_t *it = n->data.sequence.items.start;
	     it < n->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(&ld->doc, *it);
		struct rp_tls_cert_config *c;

		if (!item)
			continue;
		if (t->ncerts == RP_MAX_CERTS) {
			if (!too_many)
				problem(ld, &item->start_mark,
					"certificates: too many (at most %d)",
					RP_MAX_CERTS);
			too_many = true;
			continue;
		}
		c = &t->certs[t->ncerts++];
		memset(c, 0, sizeof(*c));
		forget(ld, S_CERT_CERT, S_CERT_KEY);
		load_map(ld, item, cert_fields, NFIELDS(cert_fields), (char *)c,
			 "a certificate");
		if (item->type != YAML_MAPPING_NODE)
			continue;
		if (!seen(ld, S_CERT_CERT) && !seen(ld, S_CERT_KEY))
			problem(ld, &item->start_mark,
				"certificate without 'cert' and 'key' (its PEM chain, "
				"leaf first, and its PEM private key)");
		else if (!seen(ld, S_CERT_CERT))
			problem(ld, &item->start_mark,
				"certificate without 'cert' (its PEM chain, leaf "
				"first)");
		else if (!seen(ld, S_CERT_KEY))
			problem(ld, &item->start_mark,
				"certificate without 'key' (its PEM private key)");
	}
}

/* A tcp listener's SNI routes, in the order they are tried. */
static void load_sni_routes(struct loader *ld, yaml_node_t *n,
			    struct rp_listener_config *l)
{
	struct sni_route_in *in = ld->sni[ld->cfg->nlisteners];
	bool too_many = false;

	if (n->type != YAML_SEQUENCE_NODE) {
		problem(ld, &n->start_mark,
			"routes: expected a list of {name: a.example, cluster: NAME}, "
			"got "
			"%s",
			node_kind(n));
		return;
	}
	if (n->data.sequence.items.top == n->data.sequence.items.start)
		problem(ld, &n->start_mark,
			"routes: the list is empty (give {name: a.example, cluster: "
			"NAME}, ...)");
	for (yaml_node_item_t *it = n->data.sequence.items.start;
	     it < n->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(&ld->doc, *it);
		struct sni_route_in *ri;

		if (!item)
			continue;
		if (l->nsni == RP_MAX_SNI) {
			if (!too_many)
				problem(ld, &item->start_mark,
					"sni: too many routes (at most %d)", RP_MAX_SNI);
			too_many = true;
			continue;
		}
		/* Kept even when broken, like the routes of http listeners. */
		ri = &in[l->nsni];
		memset(ri, 0, sizeof(*ri));
		forget(ld, S_SNI_NAME, S_SNI_CLUSTER);
		load_map(ld, item, sni_route_fields, NFIELDS(sni_route_fields),
			 (char *)ri, "an sni route");
		if (item->type == YAML_MAPPING_NODE && !seen(ld, S_SNI_NAME))
			problem(ld, &item->start_mark,
				"sni route without 'name' (a server name such as "
				"a.example or *.example)");
		if (item->type == YAML_MAPPING_NODE && !seen(ld, S_SNI_CLUSTER))
			problem(ld, &item->start_mark,
				"sni route without 'cluster' (where its connections go)");
		for (unsigned k = 0; ri->r.name[0] && k < l->nsni; k++) {
			if (strcasecmp(in[k].r.name, ri->r.name))
				continue;
			problem(ld, &ri->name_mark,
				"name: duplicate sni route '%s' (first at %lu:%lu, which "
				"takes every connection for it)",
				ri->r.name, (unsigned long)in[k].name_mark.line + 1,
				(unsigned long)in[k].name_mark.column + 1);
			break;
		}
		l->sni[l->nsni++] = ri->r;
	}
}

static void load_backends(struct loader *ld, yaml_node_t *n, struct rp_cluster_config *cl)
{
	bool too_many = false;

	if (n->type != YAML_SEQUENCE_NODE) {
		problem(ld, &n->start_mark,
			"backends: expected a list of IP:PORT or {address, weight}, got "
			"%s",
			node_kind(n));
		return;
	}
	ld->backends_empty = n->data.sequence.items.top == n->data.sequence.items.start;
	for (yaml_node_item_t *it = n->data.sequence.items.start;
	     it < n->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(&ld->doc, *it);
		struct backend_in b = {.weight = 1};
		char a[RP_ADDRSTRLEN], o[RP_ADDRSTRLEN];
		unsigned before = ld->problems;

		if (!item)
			continue;
		if (cl->nbackends == RP_MAX_BACKENDS) {
			if (!too_many)
				problem(ld, &item->start_mark,
					"cluster '%s': too many backends (at most %d)",
					cl->name, RP_MAX_BACKENDS);
			too_many = true;
			continue;
		}
		if (item->type == YAML_SCALAR_NODE) {
			load_value(ld, &backend_fields[0], item, (char *)&b);
		} else if (item->type == YAML_MAPPING_NODE) {
			bool had = false;

			for (yaml_node_pair_t *p = item->data.mapping.pairs.start;
			     p < item->data.mapping.pairs.top; p++) {
				yaml_node_t *k = yaml_document_get_node(&ld->doc, p->key);

				if (k && k->type == YAML_SCALAR_NODE &&
				    !strcmp((const char *)k->data.scalar.value,
					    "address"))
					had = true;
			}
			load_map(ld, item, backend_fields, NFIELDS(backend_fields),
				 (char *)&b, "a backend");
			if (!had)
				problem(ld, &item->start_mark,
					"backend without 'address'");
		} else {
			problem(ld, &item->start_mark,
				"backend: expected IP:PORT or {address, weight}, got %s",
				node_kind(item));
		}
		if (ld->problems != before)
			continue;
		/* Backends are known by address (balancer identity): one
		 * address twice would be one backend counted twice. */
		rp__addr_format(&b.addr, a, sizeof(a));
		for (unsigned j = 0; j < cl->nbackends; j++) {
			if (strcmp(a, rp__addr_format(&cl->backends[j], o, sizeof(o))))
				continue;
			problem(ld, &item->start_mark,
				"cluster '%s': duplicate backend %s (first at %lu:%lu)",
				cl->name, a, (unsigned long)ld->backend_mark[j].line + 1,
				(unsigned long)ld->backend_mark[j].column + 1);
			break;
		}
		if (ld->problems != before)
			continue;
		ld->backend_mark[cl->nbackends] = item->start_mark;
		cl->backends[cl->nbackends] = b.addr;
		cl->weights[cl->nbackends] = b.weight;
		cl->nbackends++;
	}
}

static void load_clusters(struct loader *ld, yaml_node_t *n)
{
	struct rp_config *cfg = ld->cfg;
	bool too_many = false;

	if (n->type != YAML_MAPPING_NODE) {
		problem(ld, &n->start_mark,
			"clusters: expected a mapping of names to clusters, got %s",
			node_kind(n));
		return;
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
	     p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(&ld->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(&ld->doc, p->value);
		struct rp_cluster_config *cl;
		const char *name;
		bool dup = false;

		if (!k || !v)
			continue;
		name = scalar(ld, k, "clusters", "a cluster name");
		if (!name)
			continue;
		if (!*name || strlen(name) >= RP_CLUSTER_NAME) {
			problem(ld, &k->start_mark,
				"cluster name must be 1 to %d characters, got '%s'",
				RP_CLUSTER_NAME - 1, name);
			continue;
		}
		for (unsigned i = 0; i < cfg->nclusters && !dup; i++) {
			if (strcmp(cfg->clusters[i].name, name))
				continue;
			problem(ld, &k->start_mark,
				"duplicate cluster name '%s' (first at %lu:%lu)", name,
				(unsigned long)ld->cluster_mark[i].line + 1,
				(unsigned long)ld->cluster_mark[i].column + 1);
			dup = true;
		}
		if (dup)
			continue;
		if (cfg->nclusters == RP_MAX_CLUSTERS) {
			if (!too_many)
				problem(ld, &k->start_mark,
					"too many clusters (at most %d)",
					RP_MAX_CLUSTERS);
			too_many = true;
			continue;
		}
		cl = &cfg->clusters[cfg->nclusters];
		rp_cluster_config_init(cl, name);
		ld->cluster_mark[cfg->nclusters] = k->start_mark;
		ld->have_backends = ld->backends_empty = false;
		forget(ld, S_HASH_KEY, S_SLOW_START);
		load_map(ld, v, cluster_fields, NFIELDS(cluster_fields), (char *)cl,
			 "a cluster");
		if (cl->slow_start_ms && seen(ld, S_SLOW_START) &&
		    (!strcmp(cl->balance, "ringhash") || !strcmp(cl->balance, "maglev")))
			problem(ld, &ld->slot_mark[S_SLOW_START],
				"slow_start: balance %s has no slow start (a ramp would "
				"move clients between backends); use roundrobin, wrr, "
				"leastconn or p2c",
				cl->balance);
		if (cl->hash_key != RP_HASH_SOURCE && strcmp(cl->balance, "ringhash") &&
		    strcmp(cl->balance, "maglev"))
			problem(ld, &ld->slot_mark[S_HASH_KEY],
				"hash_key: only used by balance ringhash or maglev (this "
				"cluster uses %s)",
				cl->balance);
		if (v->type == YAML_MAPPING_NODE && !ld->have_backends)
			problem(ld, &k->start_mark,
				"cluster '%s' has no backends: give backends: [IP:PORT, "
				"...]",
				name);
		else if (ld->backends_empty)
			problem(ld, &k->start_mark,
				"cluster '%s': the backend list is empty", name);
		cfg->nclusters++;
	}
}

static int find_cluster(const struct rp_config *cfg, const char *name)
{
	for (unsigned k = 0; k < cfg->nclusters; k++)
		if (!strcmp(cfg->clusters[k].name, name))
			return (int)k;
	return -1;
}

/*
 * Lays the routes out in the order they are tried, the first match winning:
 * each listener's own routes (only ever more specific for it), then the top
 * level's in file order, then for each http listener that has routes and a
 * cluster, a catch-all to that cluster: its default route.
 */
static void resolve_routes(struct loader *ld)
{
	struct rp_config *cfg = ld->cfg;
	bool any_http = false;

	for (unsigned k = 0; k < ld->nroutes; k++) {
		struct route_in *ri = &ld->routes[k];
		int c;

		if (!ri->cluster_ok)
			continue;
		c = find_cluster(cfg, ri->cluster);
		if (c < 0)
			problem(ld, &ri->cluster_mark, "cluster: unknown cluster '%s'%s",
				ri->cluster,
				cfg->nclusters ? "" : " (no clusters are defined)");
		else
			ri->r.cluster = (unsigned)c;
	}
	for (int top = 0; top < 2; top++) {
		for (unsigned k = 0; k < ld->nroutes; k++) {
			struct route_in *ri = &ld->routes[k];

			if ((ri->listener < 0) != top)
				continue;
			ri->r.listeners = ri->listener < 0 ? 0 : 1u << ri->listener;
			cfg->routes[cfg->nroutes++] = ri->r;
		}
	}
	for (unsigned i = 0; i < cfg->nlisteners; i++) {
		const struct rp_listener_config *l = &cfg->listeners[i];
		bool routed = ld->lroutes_given[i] || ld->groutes_given;

		if (l->mode != RP_MODE_HTTP)
			continue;
		any_http = true;
		if (!ld->lhas_cluster[i]) {
			if (!routed)
				problem(ld, &ld->lmark[i],
					"listener without 'cluster' and without routes: "
					"give cluster: NAME (where it forwards), or "
					"routes");
			continue;
		}
		if (!routed || ld->lcluster_bad[i] || ld->routes_too_many)
			continue;
		if (cfg->nroutes == RP_MAX_ROUTES) {
			problem(ld, &ld->lcluster_mark[i],
				"cluster: no room left for this listener's default "
				"route (at most %d routes in all, default routes "
				"included)",
				RP_MAX_ROUTES);
			continue;
		}
		cfg->routes[cfg->nroutes++] = (struct rp_route_config){
			.listeners = 1u << i,
			.cluster = l->cluster,
		};
	}
	if (ld->groutes_given && !any_http && !ld->any_mode_bad && cfg->nlisteners)
		problem(ld, &ld->slot_mark[S_GROUTES],
			"routes: no listener has mode http (routes only apply to "
			"those)");
}

/* SNI routes' clusters; a strict listener without a cluster of its own
 * gets its first route's, which it never uses. */
static void resolve_sni(struct loader *ld)
{
	struct rp_config *cfg = ld->cfg;

	for (unsigned i = 0; i < cfg->nlisteners; i++) {
		struct rp_listener_config *l = &cfg->listeners[i];

		for (unsigned k = 0; k < l->nsni; k++) {
			const struct sni_route_in *ri = &ld->sni[i][k];
			int c;

			if (!ri->cluster_ok)
				continue;
			c = find_cluster(cfg, ri->cluster);
			if (c < 0)
				problem(ld, &ri->cluster_mark,
					"cluster: unknown cluster '%s'%s", ri->cluster,
					cfg->nclusters ? ""
						       : " (no clusters are defined)");
			else
				l->sni[k].cluster = (unsigned)c;
		}
		if (l->nsni && !ld->lhas_cluster[i])
			l->cluster = l->sni[0].cluster;
	}
}

/* After the walk: names to indices, duplicates, what must be there. */
static void resolve(struct loader *ld, const yaml_node_t *root)
{
	struct rp_config *cfg = ld->cfg;
	bool need_cluster = !cfg->nlisteners;

	for (unsigned i = 0; i < cfg->nlisteners; i++) {
		struct rp_listener_config *l = &cfg->listeners[i];
		char a[RP_ADDRSTRLEN], o[RP_ADDRSTRLEN];

		need_cluster |= l->mode != RP_MODE_FORWARD;
		if (l->mode == RP_MODE_FORWARD && !ld->lcluster_bad[i]) {
			/* One problem, however wrong the name is too. */
			if (find_cluster(cfg, ld->lcluster[i]) < 0)
				problem(ld, &ld->lcluster_mark[i],
					"cluster: unknown cluster '%s', and not for mode "
					"forward anyway (a forward proxy connects where "
					"its clients ask: remove it)",
					ld->lcluster[i]);
			else
				problem(ld, &ld->lcluster_mark[i],
					"cluster: not for mode forward (a forward proxy "
					"connects where its clients ask: remove it)");
			ld->lcluster_bad[i] = true;
		}
		if (!ld->lcluster_bad[i]) {
			int k = find_cluster(cfg, ld->lcluster[i]);

			if (k < 0) {
				problem(ld, &ld->lcluster_mark[i],
					"cluster: unknown cluster '%s'%s",
					ld->lcluster[i],
					cfg->nclusters ? ""
						       : " (no clusters are defined)");
				ld->lcluster_bad[i] = true;
			} else {
				l->cluster = (unsigned)k;
			}
		}
		if (ld->lbind_mark[i].line == (size_t)-1 || !l->addr.len)
			continue;
		rp__addr_format(&l->addr, a, sizeof(a));
		for (unsigned j = 0; j < i; j++) {
			if (ld->lbind_mark[j].line == (size_t)-1 ||
			    !cfg->listeners[j].addr.len)
				continue;
			if (strcmp(a, rp__addr_format(&cfg->listeners[j].addr, o,
						      sizeof(o))))
				continue;
			problem(ld, &ld->lbind_mark[i],
				"bind: duplicate listener address %s (first at %lu:%lu)",
				a, (unsigned long)ld->lbind_mark[j].line + 1,
				(unsigned long)ld->lbind_mark[j].column + 1);
			break;
		}
	}
	resolve_routes(ld);
	resolve_sni(ld);
	if (!cfg->nlisteners)
		problem(ld, &root->start_mark,
			"no listeners: give listeners: [{bind: IP:PORT, cluster: NAME}]");
	if (!cfg->nclusters && need_cluster)
		problem(ld, &root->start_mark,
			"no clusters: give clusters: {NAME: {backends: [IP:PORT]}}");
}

int rp__config_load_buffer(const char *name, const void *buf, size_t len,
			   struct rp_config *cfg, rp_config_report_fn report, void *arg)
{
	struct loader *ld;
	yaml_parser_t parser;
	yaml_node_t *root;
	int ret;

	rp_config_init(cfg);
	ld = calloc(1, sizeof(*ld));
	if (!ld)
		return -ENOMEM;
	ld->name = name;
	ld->cfg = cfg;
	ld->report = report;
	ld->arg = arg;
	if (!yaml_parser_initialize(&parser)) {
		free(ld);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, buf, len);
	if (!yaml_parser_load(&parser, &ld->doc)) {
		if (parser.error == YAML_MEMORY_ERROR) {
			ret = -ENOMEM;
			goto out_parser;
		}
		if (parser.context)
			problem(ld, &parser.problem_mark, "YAML syntax error: %s (%s)",
				parser.problem ? parser.problem : "malformed",
				parser.context);
		else
			problem(ld, &parser.problem_mark, "YAML syntax error: %s",
				parser.problem ? parser.problem : "malformed");
		ret = (int)ld->problems;
		goto out_parser;
	}
	root = yaml_document_get_root_node(&ld->doc);
	if (!root) {
		yaml_mark_t start = {0};

		problem(ld, &start, "empty configuration: give listeners and clusters");
	} else {
		load_map(ld, root, global_fields, NFIELDS(global_fields), (char *)cfg,
			 "the top level");
		if (root->type == YAML_MAPPING_NODE)
			resolve(ld, root);
	}
	if (root) {
		yaml_document_t next;

		/* A second document would be silently ignored: refuse it. */
		if (yaml_parser_load(&parser, &next)) {
			yaml_node_t *r2 = yaml_document_get_root_node(&next);

			if (r2)
				problem(ld, &r2->start_mark,
					"only one YAML document is allowed per file");
			yaml_document_delete(&next);
		} else if (parser.error == YAML_MEMORY_ERROR) {
			ret = -ENOMEM;
			yaml_document_delete(&ld->doc);
			goto out_parser;
		} else {
			problem(ld, &parser.problem_mark, "YAML syntax error: %s",
				parser.problem ? parser.problem : "malformed");
		}
	}
	yaml_document_delete(&ld->doc);
	ret = (int)ld->problems;
out_parser:
	yaml_parser_delete(&parser);
	free(ld);
	return ret;
}

int rp__config_load_file(const char *path, struct rp_config *cfg,
			 rp_config_report_fn report, void *arg)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;
	int ret;

	if (!f) {
		char msg[256];

		rp_config_init(cfg);
		snprintf(msg, sizeof(msg), "cannot read: %s", strerror(errno));
		report(arg, path, 0, 0, msg);
		return 1;
	}
	buf = malloc(RP_CONFIG_MAX_FILE + 1);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(buf, 1, RP_CONFIG_MAX_FILE + 1, f);
	if (ferror(f) || n > RP_CONFIG_MAX_FILE) {
		rp_config_init(cfg);
		report(arg, path, 0, 0,
		       ferror(f) ? "cannot read it" : "too large (at most 1 MiB)");
		ret = 1;
	} else {
		ret = rp__config_load_buffer(path, buf, n, cfg, report, arg);
	}
	free(buf);
	fclose(f);
	return ret;
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * engine.c - the engine's lifecycle as its public API offers it: validate a
 * configuration, probe the kernel, start one reactor thread per configured
 * CPU, and control them (drain, stop) with IORING_OP_MSG_RING from the
 * control thread's own small ring. The mutex here guards only start-up and
 * exit accounting, never the data path.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "core/core.h"
#include "balance/balance.h"
#include "core/alog.h"
#include "core/engine_int.h"
#include "forward/policy.h"
#include "net/net.h"
#include "reverse/reverse.h"
#include "tls/tls.h"
#include "tls/sni.h"

const char *rp_version(void)
{
	return RP_VERSION;
}

void rp_config_init(struct rp_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->drain_timeout_ms = 30000;
	cfg->max_conns = 0; /* from the open-file limit: rp__conns_for_fds() */
	/* 256k measured ~25% less CPU per GB than the kernel's 64k default:
	 * fewer splice calls and bigger segments per call. */
	cfg->pipe_size = 256 * 1024;
	cfg->buf_count = 1024;
	cfg->buf_size = 16 * 1024;
	cfg->iowq_workers = 2;
	cfg->auto_bulk_reads = 2;
	cfg->auth_queue = 32;
	cfg->auth_fail_cache = 4096;
	cfg->auth_fail_limit = 10;
	cfg->auth_fail_window_ms = 60000;
	cfg->auth_block_ms = 60000;
	cfg->client_table = 16384;
	cfg->log_level = RP_LOG_INFO;
}

void rp_listener_config_init(struct rp_listener_config *l)
{
	memset(l, 0, sizeof(*l));
	l->backlog = 4096;
	l->mode = RP_MODE_TCP;
	l->tunnel = RP_TUNNEL_AUTO;
	l->idle_timeout_ms = 300000;
	l->proxy_timeout_ms = 5000;
	/* nginx's and HAProxy's usual choices: forwarding headers on, Via off
	 * (it names the proxy). */
	l->http.xff = true;
	l->http.xfp = true;
	l->http.header_timeout_ms = 10000;
	l->http.keepalive_timeout_ms = 75000;
	l->http.body_timeout_ms = 60000;
	/* nginx's client_max_body_size is 1m, HAProxy has none: 1 GiB stops
	 * an endless upload without refusing real ones. 0: no limit. */
	l->http.max_body = 1ull << 30;
	l->http.max_head = 16 * 1024;
	l->http.max_headers = 100;
	l->http.max_target = 8 * 1024;
	/* Measured (e2e_http.sh, 64 KiB responses): splicing costs about
	 * half the CPU of copying through a 20 KiB buffer. */
	l->http.splice_threshold = 16 * 1024;
	l->fwd.anonymity = RP_ANON_ANONYMOUS;
	l->fwd.ssrf_guard = true;
	l->fwd.connect_timeout_ms = 10000;
	/* The parent resolves and connects for us: our own DNS and connect
	 * timeouts are what it may take. */
	l->fwd.parent_timeout_ms = 15000;
	l->fwd.dns_timeout_ms = 5000;
	l->fwd.dns_min_ttl_s = 5;
	l->fwd.dns_max_ttl_s = 3600;
	l->tls.min_version = 0x0303;
	l->tls.max_version = 0x0304;
	l->tls.tickets = true;
	l->tls.ticket_rotate_s = 3600;
	l->tls.handshake_timeout_ms = 10000;
	l->sni_timeout_ms = 5000;
}

void rp_cluster_config_init(struct rp_cluster_config *c, const char *name)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->balance, sizeof(c->balance), "roundrobin");
	c->connect_timeout_ms = 2000;
	c->retries = 2;
	c->fall = 3;
	c->cooldown_ms = 10000;
	c->outlier.interval_ms = 10000;
	c->outlier.max_ejection_ms = 300000;
	c->outlier.max_ejection_percent = 50;
	c->outlier.sr_minimum_hosts = 5;
	c->outlier.sr_request_volume = 100;
	c->response_timeout_ms = 60000;
	c->pool_max_idle = 64;
	c->pool_idle_timeout_ms = 30000;
	c->health.interval_ms = 2000;
	c->health.timeout_ms = 1000;
	c->health.rise = 2;
	c->health.fall = 3;
	snprintf(c->health.path, sizeof(c->health.path), "/");
	c->tls.verify = true;
}

const char *rp_listener_mode_name(enum rp_listener_mode mode)
{
	static const char *const names[RP_MODE_NMODES] = {
		[RP_MODE_TCP] = "tcp",
		[RP_MODE_HTTP] = "http",
		[RP_MODE_FORWARD] = "forward",
	};

	return (unsigned)mode < RP_MODE_NMODES ? names[mode] : "?";
}

const char *rp_tunnel_mode_name(enum rp_tunnel_mode mode)
{
	static const char *const names[RP_TUNNEL_NMODES] = {
		[RP_TUNNEL_SPLICE] = "splice",
		[RP_TUNNEL_RING_SPLICE] = "ring-splice",
		[RP_TUNNEL_COPY] = "copy",
		[RP_TUNNEL_AUTO] = "auto",
	};

	return (unsigned)mode < RP_TUNNEL_NMODES ? names[mode] : "?";
}

static int cluster_check(const struct rp_cluster_config *c, char *err, size_t errlen)
{
	const struct rp_health_config *h = &c->health;

#define BAD(...) return snprintf(err, errlen, __VA_ARGS__), -EINVAL
/* Text that goes into HTTP messages or logs: NUL-terminated inside its
 * array, no control character (CR LF would inject header lines). */
#define TEXT_OK(a)                                                                       \
	(memchr((a), '\0', sizeof(a)) &&                                                 \
	 !strpbrk((a), "\x01\x02\x03\x04\x05\x06\x07\x08\x09"                            \
		       "\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12"                            \
		       "\x13\x14\x15\x16\x17\x18\x19\x1a\x1b"                            \
		       "\x1c\x1d\x1e\x1f\x7f"))
/* RFC 9110 section 5.6.2. */
#define TOKEN_CHARS                                                                      \
	"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
#define IS_TOKEN(s) ((s)[0] && (s)[strspn((s), TOKEN_CHARS)] == '\0')
	if (!c->nbackends)
		BAD("cluster '%s': no backend: give --to ADDR", c->name);
	if (c->nbackends > RP_MAX_BACKENDS)
		BAD("cluster '%s': too many backends (at most %d)", c->name,
		    RP_MAX_BACKENDS);
	if (!rp__balance_ops_find(c->balance))
		BAD("cluster '%s': unknown balance algorithm '%s' (roundrobin, wrr, "
		    "leastconn, p2c, ringhash, maglev)",
		    c->name, c->balance);
	for (unsigned i = 0; i < c->nbackends; i++)
		if (c->weights[i] > 65535)
			BAD("cluster '%s': backend weight must be from 1 to 65535",
			    c->name);
	if (c->send_proxy > 2)
		BAD("cluster '%s': send-proxy must be v1 or v2", c->name);
	if (!c->connect_timeout_ms)
		BAD("cluster '%s': connect timeout must be positive", c->name);
	if (c->fall > 1000 || c->outlier.consecutive_5xx > 1000)
		BAD("cluster '%s': consecutive_gateway_failure (fall) and "
		    "consecutive_5xx must be from 0 (off) to 1000",
		    c->name);
	if (!c->outlier.interval_ms || !c->outlier.max_ejection_ms)
		BAD("cluster '%s': outlier detection interval and max_ejection_time "
		    "must be positive",
		    c->name);
	if (c->outlier.max_ejection_percent > 100 || c->outlier.sr_threshold > 100)
		BAD("cluster '%s': max_ejection_percent and success_rate_threshold are "
		    "percentages, 0-100",
		    c->name);
	if (c->slow_start_ms &&
	    (!strcmp(c->balance, "ringhash") || !strcmp(c->balance, "maglev")))
		BAD("cluster '%s': balance %s has no slow start (a ramp would move "
		    "clients between backends): use roundrobin, wrr, leastconn or p2c",
		    c->name, c->balance);
	if (!c->outlier.sr_minimum_hosts || !c->outlier.sr_request_volume)
		BAD("cluster '%s': success_rate_minimum_hosts and "
		    "success_rate_request_volume must be positive",
		    c->name);
	if ((unsigned)c->hash_key > RP_HASH_COOKIE)
		BAD("cluster '%s': unknown hash key", c->name);
	if (c->hash_key != RP_HASH_SOURCE &&
	    (!TEXT_OK(c->hash_name) || !IS_TOKEN(c->hash_name)))
		BAD("cluster '%s': hash key %s needs a name that is a token such as "
		    "X-User",
		    c->name, c->hash_key == RP_HASH_HEADER ? "header" : "cookie");
	if (!c->response_timeout_ms || !c->pool_idle_timeout_ms)
		BAD("cluster '%s': response and pool idle timeouts must be positive",
		    c->name);
	if (c->tls.enabled) {
		if (!TEXT_OK(c->tls.ca) || !TEXT_OK(c->tls.sni))
			BAD("cluster '%s': tls ca or sni is not terminated or holds a "
			    "control character",
			    c->name);
		if (strchr(c->tls.sni, ' '))
			BAD("cluster '%s': tls sni must be a server name (no spaces)",
			    c->name);
		if ((unsigned)c->tls.ktls > RP_KTLS_OFF)
			BAD("cluster '%s': unknown tls ktls mode (auto, on or off)",
			    c->name);
	}
	if ((unsigned)h->type > RP_CHECK_HTTP)
		BAD("cluster '%s': unknown health check type", c->name);
	if (h->type == RP_CHECK_NONE)
		return 0;
	if (!h->interval_ms || !h->timeout_ms || h->timeout_ms >= h->interval_ms)
		BAD("cluster '%s': health check timeout must be positive and less than "
		    "its interval",
		    c->name);
	if (!h->rise || !h->fall)
		BAD("cluster '%s': health check rise and fall must be positive", c->name);
	if (h->expect_status && (h->expect_status < 100 || h->expect_status > 599))
		BAD("cluster '%s': health check expect_status must be from 100 to 599",
		    c->name);
	if (!TEXT_OK(h->host))
		BAD("cluster '%s': health check host is not terminated or holds a "
		    "control character",
		    c->name);
	if (h->type == RP_CHECK_HTTP &&
	    (!TEXT_OK(h->path) || h->path[0] != '/' || strpbrk(h->path, " ?#")))
		BAD("cluster '%s': health check path must start with / (no spaces, ? "
		    "or #)",
		    c->name);
	return 0;
}

/*
 * Syntax checks of the forward proxy's settings, for embedders that fill
 * them in themselves; engine/forward parses them for real when it builds its
 * tables. Addresses go through the parser of listen addresses.
 */

/* Whether the @len bytes at @s are an IP address; *@v6 says which kind. */
static bool ip_ok(const char *s, size_t len, bool *v6)
{
	char buf[RP_ADDRSTRLEN];
	struct rp_addr addr;

	*v6 = memchr(s, ':', len) != NULL;
	if (!len || len + sizeof("[]:1") > sizeof(buf))
		return false;
	snprintf(buf, sizeof(buf), *v6 ? "[%.*s]:1" : "%.*s:1", (int)len, s);
	return rp__addr_parse(buf, &addr, false) == 0;
}

/* "10.0.0.0/8", "192.0.2.1", "fd00::/8". */
static bool cidr_ok(const char *s)
{
	const char *slash = strchr(s, '/');
	bool v6;

	if (!ip_ok(s, slash ? (size_t)(slash - s) : strlen(s), &v6))
		return false;
	if (!slash)
		return true;
	slash++;
	if (!*slash || strlen(slash) > 3 || slash[strspn(slash, "0123456789")] ||
	    (slash[0] == '0' && slash[1]))
		return false;
	return (unsigned)atoi(slash) <= (v6 ? 128u : 32u);
}

/* An access rule's destination: a CIDR, "a.example" or "*.example" (a
 * trailing dot allowed), labels of at most 63 characters, never a name whose
 * last label is a number. */
static bool acl_dest_ok(const char *s)
{
	static const char name_chars[] = "abcdefghijklmnopqrstuvwxyz"
					 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
	bool digits = false, last_digits = false;
	size_t n = 0; /* bytes of the current label */

	if (cidr_ok(s))
		return true;
	if (s[0] == '*' && s[1] == '.')
		s += 2;
	if (!*s)
		return false;
	for (; *s; s++) {
		bool digit = *s >= '0' && *s <= '9';

		if (*s == '.') {
			if (!n)
				return false;
			last_digits = digits;
			n = 0;
			continue;
		}
		if (!strchr(name_chars, *s) || n == 63)
			return false;
		digits = n ? digits && digit : digit;
		n++;
	}
	return !(n ? digits : last_digits);
}

/* "" (direct), or a parent as rp__proxy_url_parse() takes it. */
static bool parent_ok(const char *s)
{
	struct rp_proxy_url u;
	bool ok = !*s || rp__proxy_url_parse(s, &u) == 0;

	explicit_bzero(&u, sizeof(u));
	return ok;
}

/* "" (resolv.conf) or "IP[:PORT],...", IPv6 bare or as [IPv6]:PORT. */
static bool dns_servers_ok(const char *s)
{
	while (*s) {
		size_t len = strcspn(s, ",");
		char item[RP_ADDRSTRLEN];
		struct rp_addr addr;
		bool v6;

		if (!ip_ok(s, len, &v6)) {
			if (!len || len >= sizeof(item))
				return false;
			memcpy(item, s, len);
			item[len] = '\0';
			if (rp__addr_parse(item, &addr, false) < 0)
				return false;
		}
		if (!s[len])
			return true;
		s += len + 1;
		if (!*s)
			return false; /* a trailing comma */
	}
	return true;
}

static int forward_check(const struct rp_forward_config *f, const char *a, char *err,
			 size_t errlen)
{
	if ((unsigned)f->anonymity > RP_ANON_ELITE)
		BAD("listener %s: unknown anonymity (transparent, anonymous or elite)",
		    a);
	if (f->nacl > RP_MAX_ACL_RULES)
		BAD("listener %s: too many access rules (at most %d)", a,
		    RP_MAX_ACL_RULES);
	for (unsigned i = 0; i < f->nacl; i++) {
		const struct rp_acl_rule *r = &f->acl[i];

		if (!TEXT_OK(r->client) || !TEXT_OK(r->dest))
			BAD("listener %s: access rule %u: a condition is not terminated "
			    "or holds a control character",
			    a, i);
		if (r->client[0] && !cidr_ok(r->client))
			BAD("listener %s: access rule %u: client must be a CIDR such as "
			    "10.0.0.0/8 or ::1/128",
			    a, i);
		if (r->dest[0] && !acl_dest_ok(r->dest))
			BAD("listener %s: access rule %u: dest must be a CIDR, a.example "
			    "or *.example",
			    a, i);
		if (r->port_min > r->port_max)
			BAD("listener %s: access rule %u: port_min must not be more than "
			    "port_max",
			    a, i);
	}
	if (!TEXT_OK(f->users_file) || !TEXT_OK(f->blocklist_file) ||
	    !TEXT_OK(f->hosts_file) || !TEXT_OK(f->parent) || !TEXT_OK(f->dns_servers))
		BAD("listener %s: a file name, the parent or the DNS servers are not "
		    "terminated or hold a control character",
		    a);
	if (!parent_ok(f->parent))
		BAD("listener %s: parent must be http://[USER:PASS@]IP:PORT or "
		    "socks5://[USER:PASS@]IP:PORT",
		    a);
	if (!dns_servers_ok(f->dns_servers))
		BAD("listener %s: DNS servers must be IP[:PORT],... ([IPv6]:PORT)", a);
	if (!f->connect_timeout_ms || !f->dns_timeout_ms || !f->parent_timeout_ms)
		BAD("listener %s: connect, parent and DNS timeouts must be positive", a);
	if (f->dns_min_ttl_s > f->dns_max_ttl_s)
		BAD("listener %s: DNS min_ttl (%u s) must not exceed max_ttl (%u s)", a,
		    f->dns_min_ttl_s, f->dns_max_ttl_s);
	return 0;
}

/* "h2,http/1.1": names of visible ASCII, none empty; "" is the default. */
static bool alpn_ok(const char *s)
{
	size_t n = 0;

	if (!*s)
		return true;
	for (; *s; s++) {
		if (*s == ',' && !n)
			return false;
		if (*s <= 0x20 || *s >= 0x7f)
			return false;
		n = *s == ',' ? 0 : n + 1;
	}
	return n > 0;
}

/*
 * An enabled tls block. The files themselves are loaded and checked by
 * rp__tls_server_new(), which says what is wrong with each.
 */
static int tls_listener_check(const struct rp_listener_config *l, const char *a,
			      char *err, size_t errlen)
{
	const struct rp_tls_listener_config *t = &l->tls;
	const char *h2;

	if (l->mode != RP_MODE_TCP && l->mode != RP_MODE_HTTP)
		BAD("listener %s: tls is available on mode tcp and http listeners", a);
	if (l->accept_proxy)
		BAD("listener %s: accept_proxy with tls is not available yet", a);
	if (!t->ncerts || t->ncerts > RP_MAX_CERTS)
		BAD("listener %s: tls needs 1 to %d certificates (got %u)", a,
		    RP_MAX_CERTS, t->ncerts);
	for (unsigned i = 0; i < t->ncerts; i++) {
		const struct rp_tls_cert_config *c = &t->certs[i];

		if (!TEXT_OK(c->cert) || !TEXT_OK(c->key) || !c->cert[0] || !c->key[0])
			BAD("listener %s: tls certificate %u: cert and key must be file "
			    "paths (not empty, terminated, no control characters)",
			    a, i);
	}
	if ((t->min_version != 0x0303 && t->min_version != 0x0304) ||
	    (t->max_version != 0x0303 && t->max_version != 0x0304) ||
	    t->min_version > t->max_version)
		BAD("listener %s: tls min_version and max_version must be 0x0303 (1.2) "
		    "or 0x0304 (1.3), min not above max",
		    a);
	if (!t->ticket_rotate_s || !t->handshake_timeout_ms)
		BAD("listener %s: tls ticket_rotate and handshake_timeout must be "
		    "positive",
		    a);
	if ((unsigned)t->ktls > RP_KTLS_OFF)
		BAD("listener %s: unknown tls ktls mode (auto, on or off)", a);
	if (!TEXT_OK(t->alpn) || !TEXT_OK(t->ciphers))
		BAD("listener %s: tls alpn or ciphers are not terminated or hold a "
		    "control character",
		    a);
	if (!alpn_ok(t->alpn))
		BAD("listener %s: tls alpn must be protocol names separated by commas "
		    "(no spaces, none empty)",
		    a);
	/* The L7 half speaks HTTP/1.1 only; a tcp one passes bytes on, to a
	 * backend that may speak h2. */
	h2 = l->mode == RP_MODE_HTTP ? rp__tls_alpn_h2(t->alpn) : NULL;
	if (h2)
		BAD("listener %s: tls alpn: HTTP/2 is not supported yet: mode http "
		    "speaks HTTP/1.1 only, and a client that picks %s would send "
		    "HTTP/2 and get HTTP/1.1 back; remove %s from alpn",
		    a, h2, h2);
	return 0;
}

/* SNI passthrough routes: a tcp listener that does not terminate TLS. */
static int sni_check(const struct rp_config *cfg, const struct rp_listener_config *l,
		     const char *a, char *err, size_t errlen)
{
	if (l->nsni > RP_MAX_SNI)
		BAD("listener %s: too many sni routes (at most %d)", a, RP_MAX_SNI);
	if (l->mode != RP_MODE_TCP)
		BAD("listener %s: sni routes are only for mode tcp, not %s", a,
		    rp_listener_mode_name(l->mode));
	if (l->tls.enabled)
		BAD("listener %s: sni routes pass TLS through untouched: they cannot go "
		    "with tls (termination) on the same listener",
		    a);
	if (!l->sni_timeout_ms)
		BAD("listener %s: sni timeout must be positive", a);
	for (unsigned i = 0; i < l->nsni; i++) {
		const struct rp_sni_route *s = &l->sni[i];

		if (!TEXT_OK(s->name) || !rp__sni_name_ok(s->name))
			BAD("listener %s: sni route %u: name must be a DNS name such as "
			    "a.example, or *.example (one more label)",
			    a, i);
		if (s->cluster >= cfg->nclusters)
			BAD("listener %s: sni route %u: no such cluster (#%u)", a, i,
			    s->cluster);
	}
	return 0;
}

static int listener_check(const struct rp_config *cfg, const struct rp_listener_config *l,
			  char *err, size_t errlen)
{
	char a[RP_ADDRSTRLEN];
	int ret;

	rp__addr_format(&l->addr, a, sizeof(a));
	if ((unsigned)l->mode >= RP_MODE_NMODES)
		BAD("listener %s: unknown mode", a);
	/* A forward proxy connects where its clients ask: no cluster. */
	if (l->mode != RP_MODE_FORWARD && l->cluster >= cfg->nclusters)
		BAD("listener %s: no such cluster (#%u)", a, l->cluster);
	if ((unsigned)l->tunnel >= RP_TUNNEL_NMODES)
		BAD("listener %s: unknown tunnel mode", a);
	if (!l->idle_timeout_ms || (l->accept_proxy && !l->proxy_timeout_ms))
		BAD("listener %s: timeouts must be positive", a);
	if (l->backlog < 1)
		BAD("listener %s: backlog must be positive", a);
	/* SNI routes first: with tls on the same listener, that is the
	 * mistake to name. */
	if (l->nsni) {
		ret = sni_check(cfg, l, a, err, errlen);
		if (ret < 0)
			return ret;
	}
	if (l->tls.enabled) {
		ret = tls_listener_check(l, a, err, errlen);
		if (ret < 0)
			return ret;
	}
	if (l->mode == RP_MODE_FORWARD) {
		ret = forward_check(&l->fwd, a, err, errlen);
		if (ret < 0)
			return ret;
		if (rp__forward_open_proxy(l))
			BAD("listener %s: a forward proxy on a non-loopback address with "
			    "no users and no rule that limits its clients is an open "
			    "proxy: add users "
			    "(--users FILE / users_file:), or say who may use it "
			    "(--allow-client CIDR, or an acl rule with client:; "
			    "--allow-client %s for everyone)",
			    a, l->addr.ss.ss_family == AF_INET6 ? "::/0" : "0.0.0.0/0");
		if (l->accept_proxy)
			BAD("listener %s: accept_proxy is not available on forward "
			    "listeners yet",
			    a);
	}
	if (l->mode != RP_MODE_HTTP)
		return 0;
	if (!l->http.header_timeout_ms || !l->http.keepalive_timeout_ms ||
	    !l->http.body_timeout_ms)
		BAD("listener %s: header, keep-alive and body timeouts must be positive",
		    a);
	if (l->http.max_head < 1024 || l->http.max_head > (1u << 20))
		BAD("listener %s: max_head must be from 1k to 1m", a);
	if (l->http.max_headers < 1 || l->http.max_headers > 128)
		BAD("listener %s: max_headers must be from 1 to 128", a);
	if (!l->http.max_target || l->http.max_target > l->http.max_head)
		BAD("listener %s: max_target must be from 1 to max_head (%u)", a,
		    l->http.max_head);
	if (!TEXT_OK(l->http.host_rewrite) || strchr(l->http.host_rewrite, ' '))
		BAD("listener %s: host_rewrite must be a host (no spaces or control "
		    "characters)",
		    a);
	return 0;
}

static int config_check(const struct rp_config *c, char *err, size_t errlen)
{
	bool need_cluster = false;
	int ret;

	if (!c->nlisteners)
		BAD("no listener: give --listen ADDR");
	if (c->nlisteners > RP_MAX_LISTENERS)
		BAD("too many listeners (at most %d)", RP_MAX_LISTENERS);
	for (unsigned i = 0; i < c->nlisteners; i++)
		need_cluster |= c->listeners[i].mode != RP_MODE_FORWARD;
	if (!c->nclusters && need_cluster)
		BAD("no backend: give --to ADDR");
	if (c->nclusters > RP_MAX_CLUSTERS)
		BAD("too many clusters (at most %d)", RP_MAX_CLUSTERS);
	for (unsigned i = 0; i < c->nclusters; i++) {
		ret = cluster_check(&c->clusters[i], err, errlen);
		if (ret < 0)
			return ret;
	}
	for (unsigned i = 0; i < c->nlisteners; i++) {
		ret = listener_check(c, &c->listeners[i], err, errlen);
		if (ret < 0)
			return ret;
	}
	if (c->nroutes > RP_MAX_ROUTES)
		BAD("too many routes (at most %d)", RP_MAX_ROUTES);
	for (unsigned i = 0; i < c->nroutes; i++) {
		const struct rp_route_config *r = &c->routes[i];

		if (r->cluster >= c->nclusters)
			BAD("route %u: no such cluster (#%u)", i, r->cluster);
		if (r->listeners >> c->nlisteners)
			BAD("route %u: no such listener (bits 0x%x; %u listeners)", i,
			    r->listeners, c->nlisteners);
		for (unsigned k = 0; k < c->nlisteners; k++)
			if ((r->listeners >> k & 1) &&
			    c->listeners[k].mode != RP_MODE_HTTP)
				BAD("route %u: listener #%u is not mode http", i, k);
		if (!TEXT_OK(r->host) || !TEXT_OK(r->path) || !TEXT_OK(r->method) ||
		    !TEXT_OK(r->header) || !TEXT_OK(r->header_value))
			BAD("route %u: a condition is not terminated or holds a control "
			    "character",
			    i);
		if (r->host[0] == '*' && (r->host[1] != '.' || !r->host[2]))
			BAD("route %u: host must be a name or *.name", i);
		if (r->path[0] && r->path[0] != '/')
			BAD("route %u: path must start with /", i);
		if (r->method[0] && !IS_TOKEN(r->method))
			BAD("route %u: method must be a token such as GET", i);
		if ((r->header[0] || r->header_value[0]) &&
		    (!IS_TOKEN(r->header) || !r->header_value[0]))
			BAD("route %u: a header condition needs a name (a token) and a "
			    "value",
			    i);
	}
	if (!TEXT_OK(c->access_log) || (unsigned)c->access_log_format > RP_LOG_JSON)
		BAD("access log: the path is not terminated or holds a control "
		    "character, or the format is unknown");
	if (c->reactors > RP_MAX_REACTORS)
		BAD("too many reactors (at most %d)", RP_MAX_REACTORS);
	if (!c->buf_count || (c->buf_count & (c->buf_count - 1)) || c->buf_count > 32768)
		BAD("buffers must be a power of two from 1 to 32768");
	if (c->buf_size < 1024 || c->buf_size > (1u << 20))
		BAD("buffer size must be between 1k and 1m");
	if (c->pipe_size < 4096 || c->pipe_size > (1u << 30))
		BAD("pipe size must be between 4k and 1g");
	if (!c->iowq_workers)
		BAD("iowq-workers must be positive");
	if (c->auth_threads > 64 || !c->auth_queue || c->auth_queue > 65536 ||
	    !c->auth_fail_cache || c->auth_fail_cache > (1u << 20) ||
	    !c->auth_fail_window_ms || !c->auth_block_ms)
		BAD("auth: threads at most 64, queue 1-65536, fail cache 1-1048576, "
		    "window and block not zero");
	if (c->client_table < 16 || c->client_table > (1u << 20))
		BAD("client table must hold 16 to 1048576 clients");
	for (unsigned i = 0; i < c->nlisteners; i++) {
		const struct rp_limits_config *lm = &c->listeners[i].limits;

		if (lm->client_conns > 10000000 || lm->client_rps > 10000000 ||
		    lm->client_burst > 10000000)
			BAD("listener %u: limits at most 10000000", i);
		if (lm->client_burst && !lm->client_rps)
			BAD("listener %u: client_burst needs client_rps", i);
	}
	for (unsigned i = 0; i < c->nroutes; i++) {
		const struct rp_limits_config *lm = &c->routes[i].limits;

		if (lm->client_conns)
			BAD("route %u: client_conns is a listener's limit", i);
		if (lm->client_rps > 10000000 || lm->client_burst > 10000000)
			BAD("route %u: limits at most 10000000", i);
		if (lm->client_burst && !lm->client_rps)
			BAD("route %u: client_burst needs client_rps", i);
	}
#undef IS_TOKEN
#undef TOKEN_CHARS
#undef TEXT_OK
#undef BAD
	return 0;
}

/* Loads every TLS listener's certificates and every re-encrypting cluster's
 * trust anchors into @s, and probes kTLS when any may use it. */
static int tls_build(struct rp_snapshot *s, char *err, size_t errlen)
{
	const struct rp_config *cfg = &s->cfg;
	const struct rp_ktls_caps *caps = NULL;
	char line[160], a[RP_ADDRSTRLEN];
	int ret;

	for (unsigned i = 0; i < cfg->nlisteners; i++) {
		const struct rp_listener_config *l = &cfg->listeners[i];

		if (!l->tls.enabled)
			continue;
		ret = rp__tls_server_new(l, l->mode == RP_MODE_HTTP, &s->tls_srv[i], err,
					 errlen);
		if (ret < 0)
			return ret;
		if (l->tls.ktls == RP_KTLS_OFF)
			continue;
		if (!caps) {
			caps = rp__ktls_probe();
			rp__ktls_describe(caps, line, sizeof(line));
			rp_info("%s", line);
		}
		if (l->tls.ktls == RP_KTLS_ON && !caps->ulp) {
			snprintf(err, errlen,
				 "listener %s: tls ktls is on, but this kernel has no "
				 "kTLS "
				 "(tls ULP: %s); use ktls: auto or off",
				 rp__addr_format(&l->addr, a, sizeof(a)),
				 strerror(caps->ulp_errno));
			return -EOPNOTSUPP;
		}
	}
	for (unsigned k = 0; k < cfg->nclusters; k++) {
		if (!cfg->clusters[k].tls.enabled)
			continue;
		ret = rp__tls_client_new(&cfg->clusters[k], &s->tls_cli[k], err, errlen);
		if (ret < 0)
			return ret;
	}
	return 0;
}

unsigned rp__conns_for_fds(uint64_t nofile, uint64_t reserve, unsigned reactors)
{
	uint64_t n;

	if (!reactors)
		reactors = 1;
	n = nofile > reserve ? (nofile - reserve) / (2 * (uint64_t)reactors) : 0;
	if (n < RP_AUTO_CONNS_MIN)
		return RP_AUTO_CONNS_MIN;
	return n > RP_AUTO_CONNS_MAX ? RP_AUTO_CONNS_MAX : (unsigned)n;
}

/*
 * The descriptors the engine may hold besides its connections: the process's
 * own (standard streams, the access log, the control ring, files read at
 * start), one socket per health-checked backend, and per reactor its ring,
 * its DNS sockets, its listening sockets and its pipes (two descriptors
 * each, as many as the pipe budget allows). Pipes past the limit would only
 * fall back to copying, but a connection that cannot open its backend fails.
 */
static uint64_t fd_reserve(const struct rp_config *cfg, unsigned reactors)
{
	unsigned pipes = cfg->max_pipes ? cfg->max_pipes
					: rp__pipe_budget(cfg->pipe_size, reactors);
	uint64_t n = 64;

	for (unsigned k = 0; k < cfg->nclusters; k++)
		if (cfg->clusters[k].health.type != RP_CHECK_NONE)
			n += cfg->clusters[k].nbackends;
	return n + (uint64_t)reactors * (8 + cfg->nlisteners + 2 * (uint64_t)pipes);
}

/*
 * max_conns 0 becomes what the open-file limit leaves; a value the operator
 * set is kept, with a warning when it cannot be reached. Either way the
 * result is logged: it is the first limit a busy proxy meets.
 */
static void conns_limit(struct rp_config *cfg, unsigned reactors)
{
	struct rlimit rl;
	uint64_t nofile, reserve = fd_reserve(cfg, reactors);

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		nofile = UINT64_MAX;
	else
		nofile = rl.rlim_cur;
	if (!cfg->max_conns) {
		cfg->max_conns = rp__conns_for_fds(nofile, reserve, reactors);
		rp_info("max_conns %u per reactor, from the open-file limit %llu (%llu "
			"descriptors kept for the process, rings, listeners, health "
			"checks and pipes; 2 a connection over %u reactors); "
			"max_conns (--max-conns) sets it",
			cfg->max_conns, (unsigned long long)nofile,
			(unsigned long long)reserve, reactors);
		if ((uint64_t)cfg->max_conns * 2 * reactors + reserve > nofile)
			rp_warn("the open-file limit %llu is too low for %u reactors: "
				"accepting will pause on EMFILE before max_conns is "
				"reached; raise ulimit -n, or lower --max-pipes",
				(unsigned long long)nofile, reactors);
		return;
	}
	rp_info("max_conns %u per reactor (set), %u reactors", cfg->max_conns, reactors);
	if ((uint64_t)cfg->max_conns * 2 * reactors + reserve > nofile)
		rp_warn("max_conns %u per reactor needs up to %llu descriptors with %u "
			"reactors (2 a connection, %llu for the rest), more than the "
			"open-file limit %llu: accepting will pause on EMFILE before "
			"max_conns is reached; raise ulimit -n, or leave max_conns unset "
			"to fit it",
			cfg->max_conns,
			(unsigned long long)((uint64_t)cfg->max_conns * 2 * reactors +
					     reserve),
			reactors, (unsigned long long)reserve,
			(unsigned long long)nofile);
}

int rp_engine_create(const struct rp_config *cfg, struct rp_engine **out, char *err,
		     size_t errlen)
{
	struct rp_engine *e;
	int cpus[RP_MAX_REACTORS];
	unsigned ncpus;
	int ret;

	*out = NULL;
	ret = config_check(cfg, err, errlen);
	if (ret < 0)
		return ret;

	if (cfg->ncpus) {
		ncpus = cfg->ncpus;
		memcpy(cpus, cfg->cpus, ncpus * sizeof(int));
	} else {
		ret = rp__cpus_from_affinity(cpus, RP_MAX_REACTORS, &ncpus);
		if (ret < 0) {
			snprintf(err, errlen, "cannot read the CPU affinity mask: %s",
				 strerror(-ret));
			return ret;
		}
	}

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->snap = rp__snapshot_new(cfg, 1);
	if (!e->snap) {
		free(e);
		return -ENOMEM;
	}
	rp__log_level = cfg->log_level;
	e->nreactors = cfg->reactors ? cfg->reactors : ncpus;
	conns_limit(&e->snap->cfg, e->nreactors);
	ret = rp__probe_features(&e->feat, err, errlen);
	if (ret < 0)
		goto fail_free;
	for (unsigned i = 0; i < e->snap->cfg.nlisteners; i++) {
		struct rp_listener_config *l = &e->snap->cfg.listeners[i];

		if (l->tunnel == RP_TUNNEL_RING_SPLICE && !e->feat.op_splice) {
			snprintf(err, errlen,
				 "--tunnel ring-splice needs IORING_OP_SPLICE, "
				 "which this kernel lacks");
			ret = -EOPNOTSUPP;
			goto fail_free;
		}
		if ((l->tunnel == RP_TUNNEL_COPY || l->tunnel == RP_TUNNEL_AUTO) &&
		    !e->feat.buf_ring) {
			rp_warn("no provided-buffer rings on this kernel: --tunnel %s "
				"uses splice",
				rp_tunnel_mode_name(l->tunnel));
			l->tunnel = RP_TUNNEL_SPLICE;
		}
	}

	ret = tls_build(e->snap, err, errlen);
	if (ret < 0)
		goto fail_free;

	e->reactors =
		aligned_alloc(RP_CACHELINE, e->nreactors * sizeof(struct rp_reactor));
	e->threads = calloc(e->nreactors, sizeof(*e->threads));
	e->started = calloc(e->nreactors, sizeof(*e->started));
	if (!e->reactors || !e->threads || !e->started) {
		ret = -ENOMEM;
		goto fail_free;
	}
	memset(e->reactors, 0, e->nreactors * sizeof(struct rp_reactor));
	if (e->snap->cfg.access_log[0]) {
		/* 1 MiB of lines per reactor between two drains (10 ms). */
		ret = rp__alog_open(&e->alog, e->snap->cfg.access_log, e->nreactors,
				    1u << 20, err, errlen);
		if (ret < 0)
			goto fail_free;
	}
	for (unsigned i = 0; i < e->nreactors; i++) {
		struct rp_reactor *r = &e->reactors[i];

		r->eng = e;
		r->snap = rp__snapshot_ref(e->snap);
		r->cfg = &r->snap->cfg;
		r->feat = &e->feat;
		r->id = i;
		r->cpu = cpus[i % ncpus];
		r->svc = &rp__reverse_service;
		r->ring.ring_fd = -1;
	}
	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->cond, NULL);
	*out = e;
	return 0;

fail_free:
	rp__snapshot_unref(e->snap);
	free(e->reactors);
	free(e->threads);
	free(e->started);
	free(e);
	return ret;
}

void rp__engine_reactor_ready(struct rp_engine *e, struct rp_reactor *r, int ret,
			      const char *err)
{
	pthread_mutex_lock(&e->lock);
	e->ready++;
	if (ret < 0 && !e->start_error) {
		e->start_error = ret;
		snprintf(e->start_msg, sizeof(e->start_msg), "%s", err);
	}
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
}

bool rp__engine_wait_go(struct rp_engine *e)
{
	bool go;

	pthread_mutex_lock(&e->lock);
	while (!e->go && !e->abort_start)
		pthread_cond_wait(&e->cond, &e->lock);
	go = e->go;
	pthread_mutex_unlock(&e->lock);
	return go;
}

void rp__engine_reactor_exited(struct rp_engine *e)
{
	pthread_mutex_lock(&e->lock);
	e->exited++;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
}

/* Password checks need helpers: auth_threads of them, or min(2, CPUs). */
static unsigned helper_threads(const struct rp_config *c)
{
	cpu_set_t set;
	unsigned n = 2;

	for (unsigned i = 0; i < c->nlisteners; i++)
		if (c->listeners[i].mode == RP_MODE_FORWARD &&
		    c->listeners[i].fwd.users_file[0])
			goto needed;
	return 0;
needed:
	if (c->auth_threads)
		return c->auth_threads;
	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) < 2)
		n = 1;
	return n;
}

int rp_engine_start(struct rp_engine *e, char *err, size_t errlen)
{
	sigset_t all, old;
	int ret = 0;

	signal(SIGPIPE, SIG_IGN); /* splice(2) into a closed socket raises it */
	ret = io_uring_queue_init(8, &e->ctl_ring, 0);
	if (ret < 0) {
		snprintf(err, errlen, "control ring: %s", strerror(-ret));
		return ret;
	}
	e->ctl_ring_ok = true;

	/* Reactors take no signals: the control thread handles them. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	ret = rp__helpers_start(e, helper_threads(&e->snap->cfg), e->snap->cfg.auth_queue,
				err, errlen);
	for (unsigned i = 0; i < e->nreactors && ret == 0; i++) {
		ret = -pthread_create(&e->threads[i], NULL, rp__reactor_main,
				      &e->reactors[i]);
		if (ret < 0) {
			snprintf(err, errlen, "cannot start reactor %u: %s", i,
				 strerror(-ret));
			break;
		}
		e->started[i] = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	pthread_mutex_lock(&e->lock);
	if (ret == 0) {
		unsigned n = 0;

		for (unsigned i = 0; i < e->nreactors; i++)
			n += e->started[i];
		while (e->ready < n)
			pthread_cond_wait(&e->cond, &e->lock);
		if (e->start_error) {
			ret = e->start_error;
			snprintf(err, errlen, "%s", e->start_msg);
		}
	}
	if (ret == 0)
		e->go = true;
	else
		e->abort_start = true;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);

	if (ret < 0)
		rp_engine_wait(e, -1);
	return ret;
}

static void send_ctl(struct rp_engine *e, enum rp_ctl code)
{
	unsigned sent = 0;

	if (!e->ctl_ring_ok || !e->go)
		return;
	for (unsigned i = 0; i < e->nreactors; i++) {
		struct rp_reactor *r = &e->reactors[i];
		struct io_uring_sqe *sqe;

		if (!e->started[i] || r->ring.ring_fd < 0)
			continue;
		sqe = io_uring_get_sqe(&e->ctl_ring);
		if (!sqe) {
			io_uring_submit(&e->ctl_ring);
			sqe = io_uring_get_sqe(&e->ctl_ring);
		}
		/* The target sees a CQE with user_data = its ctl_op, res = code. */
		io_uring_prep_msg_ring(sqe, r->ring.ring_fd, code,
				       (uint64_t)(uintptr_t)&r->ctl_op, 0);
		sqe->user_data = i;
		sent++;
	}
	io_uring_submit(&e->ctl_ring);
	while (sent--) {
		struct io_uring_cqe *cqe;

		if (io_uring_wait_cqe(&e->ctl_ring, &cqe) < 0)
			break;
		if (cqe->res < 0)
			rp_warn("control message to reactor %llu failed: %s",
				(unsigned long long)cqe->user_data, strerror(-cqe->res));
		io_uring_cqe_seen(&e->ctl_ring, cqe);
	}
}

void rp_engine_drain(struct rp_engine *e)
{
	send_ctl(e, RP_CTL_DRAIN);
}

void rp_engine_stop(struct rp_engine *e)
{
	send_ctl(e, RP_CTL_STOP);
}

int rp_engine_wait(struct rp_engine *e, int timeout_ms)
{
	struct timespec until;
	unsigned n = 0;
	int ret = 0;

	for (unsigned i = 0; i < e->nreactors; i++)
		n += e->started[i];
	clock_gettime(CLOCK_REALTIME, &until);
	if (timeout_ms > 0) {
		until.tv_sec += timeout_ms / 1000;
		until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
	}
	pthread_mutex_lock(&e->lock);
	while (e->exited < n && ret == 0) {
		if (timeout_ms < 0)
			pthread_cond_wait(&e->cond, &e->lock);
		else if (pthread_cond_timedwait(&e->cond, &e->lock, &until) == ETIMEDOUT)
			ret = e->exited < n ? -ETIMEDOUT : 0;
	}
	pthread_mutex_unlock(&e->lock);
	if (ret == 0) {
		for (unsigned i = 0; i < e->nreactors; i++) {
			if (e->started[i]) {
				pthread_join(e->threads[i], NULL);
				e->started[i] = false;
			}
		}
	}
	return ret;
}

unsigned rp_engine_reactors(const struct rp_engine *e)
{
	return e->nreactors;
}

int rp_engine_reactor_cpu(const struct rp_engine *e, unsigned reactor)
{
	return reactor < e->nreactors ? e->reactors[reactor].cpu : -1;
}

void rp_engine_stats(const struct rp_engine *e, unsigned reactor, struct rp_stats *out)
{
	if (reactor < e->nreactors)
		*out = e->reactors[reactor].stats;
	else
		memset(out, 0, sizeof(*out));
}

struct rp_snapshot *rp__snapshot_new(const struct rp_config *cfg, uint64_t generation)
{
	struct rp_snapshot *s = malloc(sizeof(*s));

	if (!s)
		return NULL;
	s->refs = 1;
	s->generation = generation;
	s->cfg = *cfg;
	memset(s->tls_srv, 0, sizeof(s->tls_srv));
	memset(s->tls_cli, 0, sizeof(s->tls_cli));
	return s;
}

struct rp_snapshot *rp__snapshot_ref(struct rp_snapshot *s)
{
	__atomic_fetch_add(&s->refs, 1, __ATOMIC_RELAXED);
	return s;
}

void rp__snapshot_unref(struct rp_snapshot *s)
{
	if (!s || __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	for (unsigned i = 0; i < RP_MAX_LISTENERS; i++)
		rp__tls_server_free(s->tls_srv[i]);
	for (unsigned i = 0; i < RP_MAX_CLUSTERS; i++)
		rp__tls_client_free(s->tls_cli[i]);
	free(s);
}

unsigned rp__engine_nreactors(const struct rp_engine *e)
{
	return e->nreactors;
}

struct rp_alog *rp__engine_alog(struct rp_engine *e)
{
	return e->alog;
}

void rp_engine_reopen_logs(struct rp_engine *e)
{
	if (e->alog)
		rp__alog_reopen(e->alog);
}

void rp_engine_destroy(struct rp_engine *e)
{
	if (!e)
		return;
	rp__helpers_stop(e); /* before the rings their results go to */
	for (unsigned i = 0; i < e->nreactors; i++) {
		struct rp_reactor *r = &e->reactors[i];

		RP_BUG_ON(e->started[i]);
		if (r->ring.ring_fd < 0)
			continue;
		/* Registration calls are refused to any task but a SINGLE_ISSUER
		 * ring's owner, which has exited: tearing the ring down releases
		 * the buffer ring, then its memory can go. */
		io_uring_queue_exit(&r->ring);
		if (r->have_bufs)
			rp__bufring_release(&r->bufs);
	}
	if (e->ctl_ring_ok)
		io_uring_queue_exit(&e->ctl_ring);
	if (e->alog)
		rp__alog_close(e->alog);
	for (unsigned i = 0; i < e->nreactors; i++)
		rp__snapshot_unref(e->reactors[i].snap);
	rp__snapshot_unref(e->snap);
	pthread_mutex_destroy(&e->lock);
	pthread_cond_destroy(&e->cond);
	free(e->reactors);
	free(e->threads);
	free(e->started);
	free(e);
}

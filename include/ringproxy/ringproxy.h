/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ringproxy.h - the public API of the ringproxy engine: a configuration value,
 * the engine lifecycle (create, start, drain, stop, wait, destroy) and the
 * per-reactor statistics. This is all an embedder needs; everything else in
 * the engine is internal and hidden from the library's symbol table.
 */
#ifndef RINGPROXY_RINGPROXY_H
#define RINGPROXY_RINGPROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(RP_BUILDING_ENGINE)
#define RP_API __attribute__((visibility("default")))
#else
#define RP_API
#endif

#define RP_MAX_LISTENERS 16
#define RP_MAX_CLUSTERS	 16
#define RP_MAX_BACKENDS	 64
#define RP_CLUSTER_NAME	 32
#define RP_MAX_REACTORS	 256
#define RP_MAX_ROUTES	 64
#define RP_ROUTE_STR	 128 /* host, path prefix, header value of a route */
#define RP_PATH_MAX	 256 /* file paths in the configuration */
#define RP_MAX_CERTS	 16  /* certificates of one TLS listener */
#define RP_MAX_SNI	 32  /* SNI passthrough routes of one listener */

/* How a tunnel moves bytes; see engine/tunnel/tunnel.h. */
enum rp_tunnel_mode {
	RP_TUNNEL_SPLICE,      /* non-blocking splice(2) from the reactor thread */
	RP_TUNNEL_RING_SPLICE, /* IORING_OP_SPLICE in capped, pinned io-wq workers */
	RP_TUNNEL_COPY,	       /* provided-buffer ring recv + send */
	RP_TUNNEL_AUTO,	       /* copy, switching a direction to splice on bulk */
	RP_TUNNEL_NMODES,
};

/* The byte-moving strategies that stats are kept for (AUTO is not one). */
#define RP_TUNNEL_NSTRATEGIES 3

enum rp_log_level { RP_LOG_ERR, RP_LOG_WARN, RP_LOG_INFO, RP_LOG_DEBUG };

struct rp_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* What a listener serves: an L4 tunnel to a cluster, the HTTP/1.1 reverse
 * proxy, or the forward proxy (CONNECT, absolute-form HTTP, SOCKS4/5). */
enum rp_listener_mode {
	RP_MODE_TCP,
	RP_MODE_HTTP,
	RP_MODE_FORWARD,
	RP_MODE_NMODES,
};

/* What the hash balancers (ringhash, maglev) key on. */
enum rp_hash_key {
	RP_HASH_SOURCE, /* the client's IP address */
	RP_HASH_HEADER, /* a request header's value (http), else the source */
	RP_HASH_COOKIE, /* a cookie's value (http), else the source */
};

/* Active health checks of a cluster's backends. */
enum rp_check_type {
	RP_CHECK_NONE,
	RP_CHECK_TCP,  /* a connect that succeeds within the timeout */
	RP_CHECK_HTTP, /* GET path, and the expected status back */
};

struct rp_health_config {
	enum rp_check_type type;
	unsigned interval_ms;
	unsigned timeout_ms;
	unsigned rise;		 /* consecutive passes that bring a backend up */
	unsigned fall;		 /* consecutive failures that take it down */
	char path[RP_ROUTE_STR]; /* RP_CHECK_HTTP: request target, "/" by default */
	char host[RP_ROUTE_STR]; /* its Host header; "" = the backend address */
	unsigned expect_status;	 /* 0: any 2xx or 3xx */
};

/*
 * Outlier detection (passive health) in the manner of Envoy's: the outcomes
 * of real traffic, counted by every reactor and summed by the cluster's
 * owner reactor, eject a backend for base_ejection_time times the number of
 * its ejections (at most max_ejection_ms, never less than the base). The
 * consecutive-gateway-failure threshold and the base ejection time are the
 * cluster's fall and cooldown_ms (their old names, kept).
 */
struct rp_outlier_config {
	/* 5xx answers (any, ours included) in a row; 0: off, the default (a
	 * 500 is often the application's answer, not a fault). */
	unsigned consecutive_5xx;
	unsigned interval_ms;	       /* the success-rate window (10 s) */
	unsigned max_ejection_ms;      /* cap of an ejection (300 s) */
	unsigned max_ejection_percent; /* of the backends out at once (50); one
					* always stays in */
	/* Success rate over each interval, of backends with at least
	 * sr_request_volume requests in it (100), evaluated when at least
	 * sr_minimum_hosts (5) have that many: a backend is ejected below
	 * mean - sr_stdev_factor / 1000 * stdev (Envoy's unit; 0: off, the
	 * default; 1900 is Envoy's), or below sr_threshold percent (0: off). */
	unsigned sr_minimum_hosts;
	unsigned sr_request_volume;
	unsigned sr_stdev_factor;
	unsigned sr_threshold;
};

/* Kernel TLS: after the handshake, the record layer moves into the kernel
 * (setsockopt TLS_TX/TLS_RX) so that the plain data paths, splice included,
 * carry the connection. */
enum rp_ktls_mode {
	RP_KTLS_AUTO, /* where the kernel and the cipher allow; else userspace */
	RP_KTLS_ON,   /* refuse to start unless the kernel has the tls ULP */
	RP_KTLS_OFF,  /* BoringSSL does the record layer in userspace */
};

/* TLS towards a cluster's backends (re-encryption). */
struct rp_tls_backend_config {
	bool enabled;
	bool verify;		/* check the backend's certificate (default on) */
	char ca[RP_PATH_MAX];	/* PEM trust anchors; "": the system's */
	char sni[RP_ROUTE_STR]; /* server name sent and verified; "": none sent,
				  * and verify checks nothing but the chain */
	enum rp_ktls_mode ktls;
};

/* A named set of backends and how to reach them. */
struct rp_cluster_config {
	char name[RP_CLUSTER_NAME];
	unsigned nbackends;
	struct rp_addr backends[RP_MAX_BACKENDS];
	unsigned weights[RP_MAX_BACKENDS]; /* 0 counts as 1 */
	/* "roundrobin", "wrr", "leastconn", "p2c", "ringhash" or "maglev"
	 * (the hash ones key on the client's IP address). */
	char balance[16];
	unsigned connect_timeout_ms;
	unsigned retries; /* extra connect attempts, each on another backend */
	/* Outlier detection: consecutive gateway failures (failed connects,
	 * resets, timeouts, bad responses: what we answer 502/503/504 for)
	 * that eject a backend, 0: off (3); and the base ejection time (10 s). */
	unsigned fall;
	unsigned cooldown_ms;
	struct rp_outlier_config outlier;
	unsigned slow_start_ms; /* a backend back in ramps up its share linearly
				 * over this long; 0: off (the default) */
	unsigned send_proxy;	/* 0 off, 1 or 2: PROXY header version sent */

	/* Hash balancing key (http listeners; tcp ones always use the source). */
	enum rp_hash_key hash_key;
	char hash_name[64]; /* header or cookie name for RP_HASH_HEADER/COOKIE */

	/* HTTP (mode http listeners): per-reactor keep-alive pools per backend. */
	unsigned response_timeout_ms; /* between response bytes (504 before the
				       * head, close after) */
	unsigned pool_max_idle;	      /* idle connections kept per backend */
	unsigned pool_idle_timeout_ms;
	unsigned pool_max_requests; /* per backend connection; 0: no limit */
	struct rp_health_config health;
	struct rp_tls_backend_config tls;
};

/* Access log line formats. */
enum rp_log_format {
	RP_LOG_COMBINED, /* Apache/nginx "combined" plus the request time */
	RP_LOG_JSON,	 /* one JSON object per line */
};

/* ---- forward proxy (mode forward) ---- */

#define RP_MAX_ACL_RULES 32

/* What the origin learns about the client (HTTP requests only; CONNECT and
 * SOCKS tunnels are never touched). */
enum rp_anonymity {
	RP_ANON_TRANSPARENT, /* adds X-Forwarded-For (the client) and Via */
	RP_ANON_ANONYMOUS,   /* adds Via; the client address is hidden */
	RP_ANON_ELITE,	     /* adds nothing; strips Via, X-Forwarded-For,
			      * Forwarded, Proxy-Connection, Proxy-Authorization */
};

/* One access rule; every condition given must hold (empty/0: any). Rules
 * are evaluated in order, the first that matches decides; when none does,
 * the request is allowed (the SSRF guard still applies). */
struct rp_acl_rule {
	bool deny;
	char client[64];	     /* client CIDR, "10.0.0.0/8", "::1/128" */
	char dest[RP_ROUTE_STR];     /* destination: "a.example", "*.example" (any
				     * subdomain), or a CIDR matched against the
				     * resolved address */
	uint16_t port_min, port_max; /* destination ports, inclusive */
};

struct rp_forward_config {
	enum rp_anonymity anonymity;
	char users_file[RP_PATH_MAX];	  /* "": no authentication */
	char blocklist_file[RP_PATH_MAX]; /* one domain per line; "": none */
	unsigned nacl;
	struct rp_acl_rule acl[RP_MAX_ACL_RULES];
	bool ssrf_guard;	   /* refuse private, loopback, link-local... destinations
			  * unless an allow rule names them (default on) */
	char parent[RP_ROUTE_STR]; /* "http://IP:PORT" or "socks5://IP:PORT", with
				    * "USER:PASS@" before IP for credentials:
				    * chain through it; "" = direct */
	unsigned connect_timeout_ms;
	unsigned parent_timeout_ms; /* for the parent's answer to a tunnel request,
				     * or to a plain request's head: 504 after */
	unsigned dns_timeout_ms;
	unsigned dns_min_ttl_s, dns_max_ttl_s;
	char dns_servers[RP_ROUTE_STR]; /* "IP[:PORT],...": "" = /etc/resolv.conf */
	char hosts_file[RP_PATH_MAX];	/* "" = /etc/hosts */
};

/* The HTTP side of a mode http listener. */
struct rp_http_listener_config {
	bool xff;	/* append the client to X-Forwarded-For */
	bool xfp;	/* set X-Forwarded-Proto */
	bool forwarded; /* append an RFC 7239 Forwarded element */
	bool via;	/* append "Via: 1.1 ringproxy" (both directions) */
	char host_rewrite[RP_ROUTE_STR]; /* "" keeps the client's Host */
	unsigned header_timeout_ms;	 /* whole request head: 408 after it */
	unsigned keepalive_timeout_ms;	 /* idle between requests */
	unsigned body_timeout_ms;	 /* between request body bytes */
	uint64_t max_body;		 /* request body bytes; 0: no limit; 413 */
	unsigned max_head;		 /* request head bytes: 431 (414 for the line) */
	unsigned max_headers;		 /* header lines: 431 */
	unsigned max_target;		 /* request-target bytes: 414 */
	unsigned max_requests;		 /* per client connection; 0: no limit */
	uint64_t splice_threshold;	 /* bodies of a known length above it are
					  * spliced; 0: never */
};

/* A certificate chain and its private key, both PEM. The names it answers
 * for (SNI) are its subjectAltName DNS entries, or its CN without any. */
struct rp_tls_cert_config {
	char cert[RP_PATH_MAX];
	char key[RP_PATH_MAX];
};

/* TLS termination on a listener (mode tcp or http). */
struct rp_tls_listener_config {
	bool enabled;
	unsigned ncerts;
	struct rp_tls_cert_config certs[RP_MAX_CERTS]; /* certs[0]: the default */
	bool strict_sni;	  /* no certificate names the client's SNI (or it
				   * sent none): refuse instead of certs[0] */
	char alpn[64];		  /* offered protocols, comma-separated;
				   * "" = "http/1.1" on mode http, none on tcp */
	unsigned min_version;	  /* 0x0303 (TLS 1.2, default) or 0x0304 */
	unsigned max_version;	  /* 0x0304 (TLS 1.3, default) */
	char ciphers[256];	  /* TLS 1.2 suites (OpenSSL syntax); "" = ECDHE
				   * with AES-GCM or ChaCha20-Poly1305 only */
	bool tickets;		  /* session resumption by tickets (default on) */
	unsigned ticket_rotate_s; /* a ticket key's life; tickets stay valid
				   * for two (default 3600) */
	unsigned handshake_timeout_ms;
	enum rp_ktls_mode ktls;
};

/* SNI passthrough (mode tcp without tls): the ClientHello is peeked, not
 * terminated, and the connection goes to the cluster its server name picks. */
struct rp_sni_route {
	char name[RP_ROUTE_STR]; /* "a.example" exact, "*.example" any subdomain */
	unsigned cluster;
};

/* Per-client limits of a listener (its limits mapping), enforced by each
 * reactor for its share: see docs/config.md. 0: no limit. */
struct rp_limits_config {
	unsigned client_conns; /* connections one client address may hold open */
	unsigned client_rps;   /* requests (or tunnels) per second it may start */
	unsigned client_burst; /* the bucket's depth; 0: client_rps */
};

/*
 * A route of mode http listeners: every condition given must hold (an empty
 * string is no condition); the first route that matches picks the cluster.
 */
struct rp_route_config {
	uint32_t listeners;		 /* bit i: listener i; 0: every http listener */
	char host[RP_ROUTE_STR];	 /* "a.example" exact, "*.example" any subdomain
				     * (not the bare domain); case-insensitive,
				     * compared without the port */
	char path[RP_ROUTE_STR];	 /* path prefix, e.g. "/api/" */
	char method[16];		 /* e.g. "GET" */
	char header[64];		 /* header name (needs header_value)... */
	char header_value[RP_ROUTE_STR]; /* ...whose value must equal this */
	unsigned cluster;
	/* The requests per second one client may send that this route takes,
	 * on top of its listener's limits (client_conns stays 0: connections
	 * come before routes). */
	struct rp_limits_config limits;
};

/* One listening address and what its connections get. */
struct rp_listener_config {
	struct rp_addr addr;
	int backlog;
	enum rp_listener_mode mode;
	unsigned cluster; /* index into rp_config.clusters */
	enum rp_tunnel_mode tunnel;
	unsigned idle_timeout_ms;
	/* PROXY protocol (HAProxy's proxy-protocol.txt). */
	int accept_proxy;	   /* nonzero: every client starts with a v1/v2 header */
	unsigned proxy_timeout_ms; /* for that header to arrive */
	/* mode http: when no route applies to this listener, everything goes
	 * to @cluster; when some do and none matches, 404. */
	struct rp_http_listener_config http;
	struct rp_forward_config fwd; /* mode forward */
	struct rp_tls_listener_config tls;
	/* SNI passthrough: when nsni > 0, a tcp listener routes by SNI; a
	 * name that no route takes (or no SNI) goes to @cluster, or is
	 * refused when sni_strict. */
	unsigned nsni;
	struct rp_sni_route sni[RP_MAX_SNI];
	bool sni_strict;
	unsigned sni_timeout_ms; /* for the ClientHello to arrive */
	struct rp_limits_config limits;
};

/*
 * One engine's configuration: a plain value, copied by rp_engine_create().
 * rp_config_init() fills in the defaults documented in README.md, with no
 * listener and no cluster. It is large (every array is fixed): keep it on
 * the heap.
 */
struct rp_config {
	unsigned reactors;	   /* 0: one per CPU in cpus (or the affinity mask) */
	unsigned ncpus;		   /* 0: use the process's affinity mask */
	int cpus[RP_MAX_REACTORS]; /* reactor i runs on cpus[i % ncpus] */

	unsigned nlisteners;
	struct rp_listener_config listeners[RP_MAX_LISTENERS];
	unsigned nclusters;
	struct rp_cluster_config clusters[RP_MAX_CLUSTERS];
	unsigned nroutes;
	struct rp_route_config routes[RP_MAX_ROUTES];

	/* One line per HTTP request; "" = off, "-" = stdout. Written by a
	 * logger thread: a reactor never blocks on it. */
	char access_log[RP_PATH_MAX];
	enum rp_log_format access_log_format;

	unsigned drain_timeout_ms;
	unsigned max_conns; /* per reactor; accepting pauses above it; 0: what
			     * RLIMIT_NOFILE holds, set by rp_engine_create() */

	unsigned pipe_size; /* bytes; rounded by the kernel to pages */
	unsigned max_pipes; /* per reactor; 0: a share of fs.pipe-user-pages-soft */
	unsigned buf_count; /* provided buffers per reactor, a power of two */
	unsigned buf_size;  /* bytes per provided buffer */
	unsigned iowq_workers;
	unsigned auto_bulk_reads; /* AUTO: full reads in a row that switch to splice */

	/* Password checks of forward listeners with users run on helper
	 * threads, never on a reactor. */
	unsigned auth_threads;	  /* 0: min(2, CPUs) */
	unsigned auth_queue;	  /* checks queued per reactor; more get 503 */
	unsigned auth_fail_cache; /* failed credentials remembered per reactor */
	unsigned auth_fail_limit; /* failures of one address within the window
				   * that block it; 0: no blocking */
	unsigned auth_fail_window_ms;
	unsigned auth_block_ms; /* how long a blocked address gets 429 */
	unsigned client_table;	/* clients each reactor keeps for the listeners'
				 * limits (rounded up to a power of two) */

	enum rp_log_level log_level;
};

/*
 * Per-reactor counters. Bytes are indexed [strategy][0 = up, 1 = down].
 *
 * accepted, active and closed count client connections only (HAProxy's
 * frontend sessions): each one once, from its accept to the close of its
 * descriptor, whatever parts of the engine it went through (a TLS handshake,
 * then L4 or L7; a forward listener, then L7 for absolute-form requests) and
 * however it ended, refusals for want of memory included. active is always
 * accepted - closed; it is what --max-conns is measured against. Connections
 * to backends and origins are not in them (backend_conns counts those of
 * the HTTP path).
 */
struct rp_stats {
	uint64_t accepted; /* client connections accepted */
	uint64_t active;   /* of which still open */
	uint64_t closed;   /* of which closed */
	uint64_t connect_failures;
	uint64_t connect_timeouts;
	uint64_t no_backend;
	uint64_t idle_timeouts;
	uint64_t accept_pauses;
	uint64_t accept_errors;
	uint64_t splice_fallbacks; /* wanted a pipe, got none: copied instead */
	uint64_t oom;		   /* connections refused for want of memory */
	uint64_t proxy_errors;	   /* bad, missing or late PROXY headers */
	/* HTTP */
	uint64_t requests;     /* request heads received and accepted */
	uint64_t responses[6]; /* by class: [1] 1xx ... [5] 5xx (ours included) */
	uint64_t bad_requests; /* refused with a 4xx before any backend */
	uint64_t denied; /* forward: refused by policy (rules, SSRF guard, block list) */
	uint64_t bad_responses;	   /* invalid backend responses (502) */
	uint64_t backend_timeouts; /* 504, or a response cut at its timeout */
	uint64_t header_timeouts;  /* 408 */
	uint64_t retries;	   /* requests sent again on another connection */
	uint64_t pool_reuses;	   /* requests sent on a pooled connection */
	uint64_t backend_conns;	   /* backend connections opened (http) */
	uint64_t upgrades;	   /* 101 responses turned into tunnels */
	uint64_t log_drops;	   /* access log lines lost to a full queue */
	/* TLS */
	uint64_t tls_handshakes;	 /* completed as a server */
	uint64_t tls_resumed;		 /* of which resumed a session (ticket) */
	uint64_t tls_failures;		 /* failed handshakes: bad input, no cert... */
	uint64_t tls_timeouts;		 /* handshakes cut at their timeout */
	uint64_t ktls_tx;		 /* connections whose TX went to the kernel */
	uint64_t ktls_rx;		 /* connections whose RX went to the kernel */
	uint64_t tls_userspace;		 /* connections whose records BoringSSL does */
	uint64_t ktls_fallbacks;	 /* kTLS wanted (auto) but refused: userspace */
	uint64_t tls_backend_handshakes; /* re-encryption towards backends */
	uint64_t tls_backend_failures;
	uint64_t sni_routed;   /* passthrough connections routed by SNI */
	uint64_t sni_failures; /* no/bad ClientHello, or no route (strict) */
	/* Outlier detection, counted by each cluster's owner reactor (cluster
	 * k: reactor k % reactors), the one that decides for all. */
	uint64_t outlier_ejections;	    /* of which, by detector: */
	uint64_t outlier_ejections_5xx;	    /* consecutive 5xx */
	uint64_t outlier_ejections_gateway; /* consecutive gateway failures */
	uint64_t outlier_ejections_success_rate;
	uint64_t outlier_unejections;	    /* back in, time up or checks passed */
	uint64_t outlier_ejections_skipped; /* outliers left in: max_ejection_percent,
					     * or the last backend in */
	/* forward proxy authentication */
	uint64_t auth_checks;	  /* password hashes computed (helper threads) */
	uint64_t auth_cache_hits; /* credentials answered from the cache */
	uint64_t auth_failures;	  /* wrong credentials (407, SOCKS5 0x01) */
	uint64_t auth_throttled;  /* refused: the address is blocked (429) */
	uint64_t auth_blocks;	  /* addresses blocked after too many failures */
	uint64_t auth_queue_full; /* refused: too many checks queued (503) */
	uint64_t auth_cancelled;  /* checks whose client left before they ran */
	/* per-client limits (a listener's limits) */
	uint64_t client_conns_refused; /* connections closed at accept (RST) */
	uint64_t client_rate_limited;  /* requests refused: 429, SOCKS5 0x02 */
	uint64_t limit_untracked;      /* admitted untracked: table set full... */
	uint64_t limit_evictions;      /* clients forgotten to make room */
	uint64_t bytes[RP_TUNNEL_NSTRATEGIES][2];
};

struct rp_engine;

/* Fills @cfg with the defaults: no listener, no cluster. */
RP_API void rp_config_init(struct rp_config *cfg);

/* Defaults for a listener (address unset, cluster 0). */
RP_API void rp_listener_config_init(struct rp_listener_config *l);

/* Defaults for a cluster called @name (truncated), with no backend. */
RP_API void rp_cluster_config_init(struct rp_cluster_config *c, const char *name);

/* Name of a listener mode as configuration spells it ("tcp", "http", ...). */
RP_API const char *rp_listener_mode_name(enum rp_listener_mode mode);

/* Name of a tunnel mode as the CLI spells it ("splice", "copy", ...). */
RP_API const char *rp_tunnel_mode_name(enum rp_tunnel_mode mode);

/*
 * Validates @cfg, probes the kernel and prepares (but does not start) the
 * reactors. A max_conns of 0 becomes what the current RLIMIT_NOFILE soft
 * limit holds (logged; the engine never changes the limit itself). A forward
 * listener that would be an open proxy (a non-loopback address, no users,
 * no allow rule naming clients) is refused. Returns 0 and the engine in
 * *@out, or -errno with a sentence in @err saying what is wrong and what to
 * change.
 */
RP_API int rp_engine_create(const struct rp_config *cfg, struct rp_engine **out,
			    char *err, size_t errlen);

/*
 * Starts the reactor threads; returns once every reactor is listening, or
 * -errno (message in @err) if any could not start, in which case the others
 * are stopped again. The calling thread becomes the control thread: drain,
 * stop, wait and destroy must all be called from it.
 */
RP_API int rp_engine_start(struct rp_engine *e, char *err, size_t errlen);

/* Stop accepting and let open connections finish (graceful drain). */
RP_API void rp_engine_drain(struct rp_engine *e);

/* Close every connection now and stop the reactors. */
RP_API void rp_engine_stop(struct rp_engine *e);

/* Waits up to @timeout_ms (-1: forever) for every reactor to exit: 0 when all
 * have, -ETIMEDOUT otherwise. */
RP_API int rp_engine_wait(struct rp_engine *e, int timeout_ms);

/* Reopens the access log file (after logrotate moved it: SIGUSR1). */
RP_API void rp_engine_reopen_logs(struct rp_engine *e);

RP_API unsigned rp_engine_reactors(const struct rp_engine *e);
RP_API int rp_engine_reactor_cpu(const struct rp_engine *e, unsigned reactor);

/* A snapshot of one reactor's counters (exact once the reactors have exited). */
RP_API void rp_engine_stats(const struct rp_engine *e, unsigned reactor,
			    struct rp_stats *out);

/* Frees the engine; the reactors must have exited (rp_engine_wait() == 0). */
RP_API void rp_engine_destroy(struct rp_engine *e);

RP_API const char *rp_version(void);

#ifdef __cplusplus
}
#endif
#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ringproxy.h - the public API of the ringproxy engine: a configuration value,
 * the engine lifecycle (create, start, drain, stop, wait, destroy) and the
 * per-reactor statistics. This is all an embedder needs; everything else in
 * the engine is internal and hidden from the library's symbol table.
 */
#ifndef RINGPROXY_RINGPROXY_H
#define RINGPROXY_RINGPROXY_H

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

/* What a listener serves. Only TCP exists yet; the others are refused. */
enum rp_listener_mode {
	RP_MODE_TCP,
	RP_MODE_HTTP,
	RP_MODE_FORWARD,
	RP_MODE_NMODES,
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
	unsigned retries;     /* extra connect attempts, each on another backend */
	unsigned fall;	      /* consecutive failures that mark a backend down */
	unsigned cooldown_ms; /* how long a backend stays down */
	unsigned send_proxy;  /* 0 off, 1 or 2: PROXY header version sent */
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

	unsigned drain_timeout_ms;
	unsigned max_conns; /* per reactor; accepting pauses above it */

	unsigned pipe_size; /* bytes; rounded by the kernel to pages */
	unsigned max_pipes; /* per reactor; 0: a share of fs.pipe-user-pages-soft */
	unsigned buf_count; /* provided buffers per reactor, a power of two */
	unsigned buf_size;  /* bytes per provided buffer */
	unsigned iowq_workers;
	unsigned auto_bulk_reads; /* AUTO: full reads in a row that switch to splice */

	enum rp_log_level log_level;
};

/* Per-reactor counters. Bytes are indexed [strategy][0 = up, 1 = down]. */
struct rp_stats {
	uint64_t accepted;
	uint64_t active;
	uint64_t closed;
	uint64_t connect_failures;
	uint64_t connect_timeouts;
	uint64_t no_backend;
	uint64_t idle_timeouts;
	uint64_t accept_pauses;
	uint64_t accept_errors;
	uint64_t splice_fallbacks; /* wanted a pipe, got none: copied instead */
	uint64_t oom;		   /* connections refused for want of memory */
	uint64_t proxy_errors;	   /* bad, missing or late PROXY headers */
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
 * reactors. Returns 0 and the engine in *@out, or -errno with a sentence in
 * @err saying what is wrong and what to change.
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

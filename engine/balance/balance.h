/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * balance.h - load-balancing algorithms for a cluster of backends, and the
 * fixed hash function that hash-based picks rely on. Each reactor owns its
 * own struct rp_balancer per cluster (shared-nothing), built from the same
 * immutable struct rp_balance_config; everything a hash-based pick depends on
 * (the hash, ring points, Maglev permutations) derives only from that config,
 * so two reactors, or the same process after a restart, send a given key to
 * the same backend. Algorithms are small modules behind struct
 * rp_balancer_ops: "roundrobin", "wrr", "leastconn", "p2c", "ringhash",
 * "maglev". Memory is allocated in rp__balance_init() only: picks and up/down
 * changes never allocate and never fail. This is the one header of
 * engine/balance/ that other modules include.
 */
#ifndef RP_BALANCE_H
#define RP_BALANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Backend indexes fit in 16 bits, so a Maglev table of the default size is
 * 128 KiB and a ring point costs 14 bytes. */
#define RP_BALANCE_MAX_BACKENDS	   65535u
#define RP_BALANCE_MAX_WEIGHT	   65535u
#define RP_BALANCE_MAGLEV_SIZE	   65537u /* default table size, a prime */
#define RP_BALANCE_MAGLEV_MAX_SIZE (1u << 24)
#define RP_BALANCE_RING_VNODES	   160u /* default ring points per unit of weight */
#define RP_BALANCE_RING_MAX_POINTS (1u << 20)
/* A backend's ramp (slow start) is in 1/RP_BALANCE_RAMP_ONE of its weight. */
#define RP_BALANCE_RAMP_ONE 1024u

/* ---- hashing ---------------------------------------------------------------
 * XXH64 with seed 0, as specified in xxHash's doc/xxhash_spec.md, written
 * here; input words are read little-endian whatever the host, so a value is
 * the same on every machine, in every process, forever. The unit test pins
 * outputs: changing this function moves every hash-balanced client. */

/* XXH64 (seed 0) of @len bytes at @data. */
uint64_t rp__hash_bytes(const void *data, size_t len);

/* Hash of the 16 bytes @a then @b, each encoded little-endian: a cheap way
 * to combine two values (a route id and a client hash, a backend id and a
 * replica number). */
uint64_t rp__hash_u64_pair(uint64_t a, uint64_t b);

/* Hash of the IP address only (no port, no IPv6 scope or flow label) of
 * @sa, @len bytes long: rp__hash_bytes() of the 4 address bytes for AF_INET
 * and for an IPv4-mapped AF_INET6 address (so a dual-stack listener sees the
 * same hash as an IPv4 one), of the 16 bytes otherwise. 0 and the hash in
 * *@out, -EAFNOSUPPORT for another family, -EINVAL when @len is too short. */
int rp__hash_sockaddr_ip(const struct sockaddr *sa, socklen_t len, uint64_t *out);

/* ---- configuration (immutable, shared read-only by the reactors) ---------- */

struct rp_balancer_ops;

struct rp_balance_backend {
	/* Stable identity of the backend, e.g. rp__hash_bytes() of its name or
	 * of "ip:port". Ring points and Maglev permutations derive from it, not
	 * from the backend's position, so reordering the config keeps each
	 * client on its backend. Must be distinct for ringhash and maglev. */
	uint64_t id;
	unsigned weight; /* 1 .. RP_BALANCE_MAX_WEIGHT */
};

struct rp_balance_config {
	const struct rp_balancer_ops *ops; /* from rp__balance_ops_find() */
	unsigned nbackends;		   /* 1 .. RP_BALANCE_MAX_BACKENDS */
	const struct rp_balance_backend *backends;
	/* Maglev: a prime above nbackends, ideally 100 times it or more; 0
	 * gives RP_BALANCE_MAGLEV_SIZE. */
	unsigned maglev_size;
	/* ringhash: points per unit of weight, up to RP_BALANCE_RING_MAX_POINTS;
	 * 0 gives RP_BALANCE_RING_VNODES. */
	unsigned ring_vnodes;
};

/* ---- per-reactor state ----------------------------------------------------- */

struct rp_balance_be {
	unsigned weight;
	unsigned ramp;	 /* 1 .. RP_BALANCE_RAMP_ONE: the share of weight in use */
	unsigned active; /* picks not yet released */
	bool up;
};

/*
 * What a pick may depend on. @hash is used by ringhash and maglev only and
 * must come from the rp__hash_* helpers (the client address, a header or a
 * cookie value, a rp__hash_u64_pair() of several). @avoid, when not NULL, is
 * a bitmap of backends not to pick this time (bit i % 64 of word i / 64, at
 * least (nbackends + 63) / 64 words), for retries on another backend; hash
 * algorithms then take the next eligible backend of their ring or table.
 */
struct rp_pick_key {
	uint64_t hash;
	const uint64_t *avoid;
};

struct rp_balancer {
	const struct rp_balancer_ops *ops;
	unsigned n;   /* backends */
	unsigned nup; /* up at the last rebuild, listed ascending in up_list */
	bool dirty;   /* up/down changed; tables rebuilt before the next pick */
	uint64_t rng; /* splitmix64 state, per reactor (p2c) */
	struct rp_balance_be *be;
	uint32_t *up_list;
	union {
		struct {
			unsigned next; /* into up_list */
		} rr;
		struct {
			int64_t *current; /* per backend: nginx's current_weight */
		} wrr;
		struct {
			uint32_t *heap; /* up backends, least loaded on top */
			uint32_t *pos;	/* per backend: index in heap */
			uint64_t *seq;	/* per backend: when last picked (ties) */
			uint64_t clock;
		} lc;
		struct {
			/* Walker's alias table over up_list: slot k keeps k
			 * with probability keep[k] / 2^32, else gives alias[k]. */
			uint32_t *keep, *alias;
			uint64_t *scaled; /* scratch for a rebuild */
			uint32_t *work;	  /* scratch for a rebuild */
		} p2c;
		struct {
			uint64_t *hash;	 /* npoints, ascending */
			uint16_t *owner; /* backend of each point */
			uint32_t *live;	 /* first point at or after this one that is up */
			unsigned npoints;
		} ring;
		struct {
			uint16_t *table;
			uint32_t *offset, *skip; /* per backend: its permutation */
			uint32_t *order;	 /* backends by id: the order of turns */
			uint32_t *turns;	 /* scratch: the up ones of order[] */
			uint32_t *cursor, *credit; /* scratch for a rebuild */
			unsigned size;
		} maglev;
	} u;
};

/*
 * One algorithm. Every hook gets the balancer; none may allocate except init.
 * init:    allocates the algorithm's tables for @cfg (backends all up);
 *          0, -ENOMEM or -EINVAL; on error it has freed what it allocated.
 * rebuild: recomputes the tables for the current up set; called by init's
 *          caller and, lazily, before the first pick after up/down changes.
 * pick:    an up backend not in key->avoid, counted active, or -1 (only
 *          called with nup > 0).
 * release: undoes one pick's active count; @failed says the connection
 *          attempt failed (health is the caller's, through set_up).
 * fini:    frees the tables.
 * ramp_rebuilds: the tables depend on the backends' ramps (weights times
 *          ramp), so a ramp change rebuilds them; algorithms that read the
 *          ramp at each pick, or ignore it, leave it false.
 */
struct rp_balancer_ops {
	const char *name;
	int (*init)(struct rp_balancer *b, const struct rp_balance_config *cfg);
	void (*rebuild)(struct rp_balancer *b);
	int (*pick)(struct rp_balancer *b, const struct rp_pick_key *key);
	void (*release)(struct rp_balancer *b, int backend, bool failed);
	void (*fini)(struct rp_balancer *b);
	bool ramp_rebuilds;
};

/* The algorithm called @name ("roundrobin", "wrr", "leastconn", "p2c",
 * "ringhash", "maglev"), or NULL. */
const struct rp_balancer_ops *rp__balance_ops_find(const char *name);

/*
 * Builds @b for @cfg with every backend up. @cfg is only read during the
 * call. @seed seeds the PRNG that p2c samples with (e.g. the reactor id);
 * nothing hash-based depends on it. 0, -EINVAL (bad config: see struct
 * rp_balance_config) or -ENOMEM; on error @b owns nothing.
 */
int rp__balance_init(struct rp_balancer *b, const struct rp_balance_config *cfg,
		     uint64_t seed);

/* Frees what rp__balance_init() allocated; @b may be initialised again. */
void rp__balance_fini(struct rp_balancer *b);

/*
 * The backend for one new connection or request, counted active until
 * rp__balance_release(): an up backend not in @key->avoid, or -1 when there
 * is none. @key may be NULL (hash 0, nothing avoided). Never allocates; the
 * first pick after up/down changes rebuilds the tables (a Maglev rebuild of
 * the default size costs about 2 ms on a 2.3 GHz core).
 */
int rp__balance_pick(struct rp_balancer *b, const struct rp_pick_key *key);

/* Ends one pick of @backend (the connection closed or its connect failed,
 * then @failed is true). Exactly once per successful pick. */
void rp__balance_release(struct rp_balancer *b, int backend, bool failed);

/* Marks @backend up or down. Cheap: the tables are rebuilt once, before the
 * next pick or at rp__balance_refresh(), however many backends changed. */
void rp__balance_set_up(struct rp_balancer *b, int backend, bool up);

/*
 * Slow start: @backend takes @ramp / RP_BALANCE_RAMP_ONE of its share
 * (clamped to 1 .. RP_BALANCE_RAMP_ONE; every backend starts at the full
 * share). wrr, p2c and leastconn weigh it with weight * ramp; roundrobin,
 * which has no weights, skips it with probability 1 - ramp / ONE (never when
 * it is the only eligible one); ringhash and maglev ignore it, since moving
 * keys to and fro as a backend ramps would break the affinity they exist
 * for. Cheap: p2c and leastconn rebuild lazily, as after set_up.
 */
void rp__balance_set_ramp(struct rp_balancer *b, int backend, unsigned ramp);

/* Rebuilds the tables now if up/down changed, e.g. right after a round of
 * health checks, so that no pick pays for it. */
void rp__balance_refresh(struct rp_balancer *b);

#ifdef __cplusplus
}
#endif
#endif

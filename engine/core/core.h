/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core.h - the reactor core that every other engine module builds on:
 * completion dispatch (struct rp_op), the per-reactor timer wheel, fixed-size
 * object pools, the pipe pool, the provided-buffer ring, the kernel feature
 * probe, logging, and the reactor itself. This is the one header of
 * engine/core/ that other modules include.
 */
#ifndef RP_CORE_H
#define RP_CORE_H

#include <liburing.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ringproxy/ringproxy.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RP_CACHELINE	 64
#define RP_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define rp_container_of(ptr, type, member)                                               \
	((type *)((char *)(ptr)-offsetof(type, member)))
#define rp_likely(x)   __builtin_expect(!!(x), 1)
#define rp_unlikely(x) __builtin_expect(!!(x), 0)

void rp__bug(const char *file, int line, const char *cond) __attribute__((noreturn));
/* Stays on in release builds: for invariants whose violation corrupts memory. */
#define RP_BUG_ON(cond)                                                                  \
	do {                                                                             \
		if (rp_unlikely(cond))                                                   \
			rp__bug(__FILE__, __LINE__, #cond);                              \
	} while (0)

/* ---- logging --------------------------------------------------------------
 * Lines go to stderr with one write(2) each. Only start-up, shutdown and rare
 * events (an accept pause, a backend going down) log from a reactor.
 */
extern enum rp_log_level rp__log_level;
void rp__log(enum rp_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define rp_err(...)  rp__log(RP_LOG_ERR, __VA_ARGS__)
#define rp_warn(...) rp__log(RP_LOG_WARN, __VA_ARGS__)
#define rp_info(...) rp__log(RP_LOG_INFO, __VA_ARGS__)
#define rp_dbg(...)                                                                      \
	do {                                                                             \
		if (rp_unlikely(rp__log_level >= RP_LOG_DEBUG))                          \
			rp__log(RP_LOG_DEBUG, __VA_ARGS__);                              \
	} while (0)

/* Monotonic milliseconds (vDSO, no syscall). */
uint64_t rp__now_ms(void);

/* ---- completion dispatch --------------------------------------------------
 * Every SQE's user_data is the address of a struct rp_op embedded in the
 * object that owns the operation; the reactor calls op->fn with the CQE's
 * res and flags. user_data 0 marks an SQE whose completion nobody needs.
 */
struct rp_op;
typedef void (*rp_op_fn)(struct rp_op *op, int res, uint32_t flags);
struct rp_op {
	rp_op_fn fn;
};

/* ---- timer wheel ----------------------------------------------------------
 * A hashed wheel with 1 ms ticks and 4096 slots. A timer further away than
 * one revolution waits in its slot for later rounds. A bitmap of non-empty
 * slots makes "when is the next timer" cheap, so an idle reactor sleeps.
 */
#define RP_WHEEL_SLOTS 4096u
struct rp_timer;
typedef void (*rp_timer_fn)(struct rp_timer *t, uint64_t now_ms);
struct rp_timer {
	struct rp_timer *next;
	struct rp_timer **pprev; /* NULL when not armed */
	uint64_t expires;	 /* ms */
	rp_timer_fn fn;
};
struct rp_wheel {
	uint64_t cur; /* last tick (ms) processed */
	unsigned count;
	struct rp_timer *slot[RP_WHEEL_SLOTS];
	uint64_t used[RP_WHEEL_SLOTS / 64];
};
void rp__wheel_init(struct rp_wheel *w, uint64_t now_ms);
/* Arms (or re-arms) @t to fire at @expires ms; a time already past fires on
 * the next rp__wheel_run(). */
void rp__timer_arm(struct rp_wheel *w, struct rp_timer *t, uint64_t expires);
void rp__timer_cancel(struct rp_wheel *w, struct rp_timer *t);
static inline bool rp__timer_armed(const struct rp_timer *t)
{
	return t->pprev != NULL;
}
/* Fires every timer due at @now_ms; returns how many fired. */
unsigned rp__wheel_run(struct rp_wheel *w, uint64_t now_ms);
/* Milliseconds until the earliest slot that may hold a due timer, or -1 when
 * no timer is armed. Never more than one revolution. */
int64_t rp__wheel_next(const struct rp_wheel *w, uint64_t now_ms);

/* ---- object pool ----------------------------------------------------------
 * Fixed-size objects carved from chunks, recycled through free lists, never
 * more than @max out at once: the bound on per-reactor memory. A chunk none
 * of whose objects is out goes back to the allocator while the pool holds
 * @keep free objects without it, so an idle reactor gives back what a burst
 * took.
 */
#define RP_POOL_KEEP_DEFAULT 256u
struct rp_pool_opts {
	unsigned keep; /* free objects kept for reuse (a chunk is the unit) */
	/* rp__pool_get() leaves an object as its last user did (buffers, and
	 * objects whose owner sets every field it reads) */
	bool raw;
};
struct rp_pool {
	size_t obj_size;
	size_t slot_size;   /* the object, rounded to a line, and its chunk's address */
	size_t chunk_bytes; /* an allocator size class (a power of two) */
	unsigned per_chunk;
	unsigned max;
	unsigned keep;
	bool raw;
	unsigned used;	    /* out */
	unsigned nfree;	    /* free in live chunks, never-used ones included */
	unsigned allocated; /* objects the live chunks hold */
	uint64_t released;  /* chunks given back to the allocator */
	void *partial;	    /* chunks with objects out and free */
	void *full;	    /* chunks with every object out */
	void *empty;	    /* chunks with none out */
};
/* Zeroing objects, keeping RP_POOL_KEEP_DEFAULT free ones. */
int rp__pool_init(struct rp_pool *p, size_t obj_size, unsigned max);
int rp__pool_init_opts(struct rp_pool *p, size_t obj_size, unsigned max,
		       const struct rp_pool_opts *o);
/* An object (zeroed unless the pool is raw), or NULL when @max are out or
 * memory ran out. */
void *rp__pool_get(struct rp_pool *p);
void rp__pool_put(struct rp_pool *p, void *obj);
/* Frees every chunk, objects still out included. */
void rp__pool_destroy(struct rp_pool *p);

/* ---- pipe pool ------------------------------------------------------------
 * Pipes for splice. A reactor may hold at most @max_live pipes, a share of
 * fs.pipe-user-pages-soft, so a busy proxy never trips the kernel's per-user
 * limit (which would silently shrink new pipes to two pages). Only empty
 * pipes are recycled; one returned with bytes in it is closed.
 */
struct rp_pipe {
	int rfd, wfd;
};
struct rp_pipe_pool {
	unsigned size;	   /* bytes per pipe */
	unsigned max_live; /* pipes out + cached */
	unsigned live;
	unsigned nfree;
	unsigned max_free;
	struct rp_pipe *free;
};
int rp__pipe_pool_init(struct rp_pipe_pool *pp, unsigned size, unsigned max_live);
/* 0 and a pipe in *@out, or -EAGAIN when the budget is spent, -errno else. */
int rp__pipe_get(struct rp_pipe_pool *pp, struct rp_pipe *out);
void rp__pipe_put(struct rp_pipe_pool *pp, struct rp_pipe *p, bool empty);
void rp__pipe_pool_destroy(struct rp_pipe_pool *pp);
/* How many pipes of @size bytes one of @reactors reactors may hold. */
unsigned rp__pipe_budget(unsigned size, unsigned reactors);

/* ---- provided-buffer ring -------------------------------------------------
 * One per reactor. A recv with IOSQE_BUFFER_SELECT takes a buffer only when
 * data arrives, so an idle connection owns none. Recycled buffers are handed
 * back to the kernel in one batch per loop turn.
 */
struct rp_bufring {
	struct io_uring_buf_ring *br;
	uint8_t *base;
	unsigned count; /* power of two */
	unsigned size;
	unsigned mask;
	unsigned pending; /* added since the last publish */
	int bgid;
	size_t ring_bytes;
	/* Ring slot each buffer was last added at: a bundle CQE names only its
	 * first buffer, the others are the slots after it. */
	uint16_t *slot_of;
};
int rp__bufring_init(struct rp_bufring *b, struct io_uring *ring, int bgid,
		     unsigned count, unsigned size);
void rp__bufring_destroy(struct rp_bufring *b, struct io_uring *ring);
/* Unmaps the memory only: for a ring that is already gone. */
void rp__bufring_release(struct rp_bufring *b);
static inline uint8_t *rp__bufring_addr(const struct rp_bufring *b, unsigned bid)
{
	return b->base + (size_t)bid * b->size;
}
static inline void rp__bufring_recycle(struct rp_bufring *b, unsigned bid)
{
	b->slot_of[bid] = (uint16_t)((b->br->tail + b->pending) & b->mask);
	io_uring_buf_ring_add(b->br, rp__bufring_addr(b, bid), b->size, bid, b->mask,
			      b->pending++);
}
/* The buffer @k slots after ring slot @slot: a bundle CQE names its first
 * buffer only, and the kernel took the others from the slots after it. Only
 * valid while handling that CQE: CQEs come in the order the kernel consumed
 * buffers, so until then no recycle can have reached those slots. */
static inline unsigned rp__bufring_slot_bid(const struct rp_bufring *b, unsigned slot,
					    unsigned k)
{
	return b->br->bufs[(slot + k) & b->mask].bid;
}
static inline void rp__bufring_publish(struct rp_bufring *b)
{
	if (b->pending) {
		io_uring_buf_ring_advance(b->br, b->pending);
		b->pending = 0;
	}
}

/* ---- kernel feature probe ------------------------------------------------- */
struct rp_features {
	int uring_errno;     /* 0, or why io_uring_setup failed */
	unsigned ring_flags; /* best setup flags the kernel accepted */
	unsigned features;   /* IORING_FEAT_* of that ring */
	bool op_splice, op_msg_ring, op_send_zc, op_shutdown, op_connect, op_poll,
		op_cancel, op_link_timeout, op_accept, op_recv, op_send;
	bool multishot_accept;
	bool multishot_recv;
	bool buf_ring;
	bool bundle;
	bool cqe_skip;
	bool ext_arg;
	bool ktls_ulp;
};
/* Probes once; 0, or -errno when io_uring cannot be used at all (the reason
 * is in @err). */
int rp__probe_features(struct rp_features *f, char *err, size_t errlen);
/* "+multishot-accept +buf-ring ... -ktls (probed, not used yet: +send-zc ...)":
 * what the data paths use, then what is only probed. */
void rp__features_describe(const struct rp_features *f, char *buf, size_t len);
void rp__ring_flags_describe(unsigned flags, char *buf, size_t len);
/* Sets up @ring with the best of @flags the kernel takes; the flags used are
 * returned in *@used. */
int rp__ring_setup(struct io_uring *ring, unsigned entries, unsigned flags,
		   unsigned *used);

/* ---- helper threads -------------------------------------------------------
 * Work too heavy for a reactor turn (password hashing) runs on a small pool
 * of helper threads shared by the engine (DESIGN rule 8). A reactor queues a
 * job without blocking, on a bounded lock-free queue of its own; a helper
 * runs it and posts the result to the reactor's ring with IORING_OP_MSG_RING
 * from a small ring of its own, so it arrives as the completion of @done
 * like any other CQE: no lock, no eventfd, nothing shared on the reactor's
 * side but the queue.
 */
struct rp_reactor;
struct rp_helper_job {
	/* Runs on a helper thread; its return value is the res of @done's
	 * completion. It may read what the submitter wrote into the job
	 * before rp__helper_submit() and nothing the submitter changes after,
	 * but rp__helper_cancel(). */
	int (*run)(struct rp_helper_job *j);
	struct rp_op *done; /* completes on the submitting reactor */
	/* the pool's */
	int ring_fd;
	int cancelled; /* atomic */
};
/*
 * Queues @j (run and done set) for a helper: 0, -EAGAIN when this reactor's
 * queue is full (the caller refuses the work: a reactor never waits), or
 * -ENOSYS when the engine runs no helpers. Never blocks; may wake a sleeping
 * helper with one futex(2) call. Once queued, @j must stay valid until
 * @done completes, which it always does while the reactor runs (with
 * -ECANCELED when cancelled before it ran); at the reactor's exit,
 * rp__helpers_quiesce() ends the helpers' use of its jobs instead.
 */
int rp__helper_submit(struct rp_reactor *r, struct rp_helper_job *j);
/* Asks that @j not run if no helper has started it: its done then completes
 * with -ECANCELED. A job already running finishes (and completes) anyway. */
void rp__helper_cancel(struct rp_helper_job *j);

/* ---- configuration snapshots -----------------------------------------------
 * The configuration a reactor runs is an immutable snapshot, shared by
 * reference: the engine holds one reference and each reactor another, so a
 * reload can publish a new snapshot while connections finish on the old one,
 * which goes away with its last reference.
 */
struct rp_snapshot {
	unsigned refs; /* atomic */
	uint64_t generation;
	struct rp_config cfg;
	/* TLS contexts (engine/tls/tls.h), built with the snapshot and shared
	 * read-only by the reactors; NULL where TLS is off. */
	struct rp_tls_server *tls_srv[RP_MAX_LISTENERS];
	struct rp_tls_client *tls_cli[RP_MAX_CLUSTERS];
};
struct rp_tls_server;
struct rp_tls_client;
/* A snapshot of @cfg with one reference, or NULL. */
struct rp_snapshot *rp__snapshot_new(const struct rp_config *cfg, uint64_t generation);
struct rp_snapshot *rp__snapshot_ref(struct rp_snapshot *s);
void rp__snapshot_unref(struct rp_snapshot *s);

/* ---- the reactor ---------------------------------------------------------- */
struct rp_reactor;
struct rp_engine;

/*
 * A service is what runs on the accepted connections of the listeners (today
 * one, reverse/reverse.c, which dispatches to the L4, L7 and forward halves
 * by listener mode). Each reactor gets its own instance (@state) so that
 * nothing is shared.
 */
struct rp_service_ops {
	const char *name;
	int (*init)(struct rp_reactor *r, void **state);
	/* Takes ownership of @fd (non-blocking, close-on-exec), accepted on
	 * listener @listener (an index into rp_config.listeners), already
	 * counted accepted and active: the service calls
	 * rp__reactor_conn_closed() once when @fd goes, however it goes. */
	void (*accept)(struct rp_reactor *r, void *state, unsigned listener, int fd);
	/* Draining began: close what is idle, finish the rest (may be NULL). */
	void (*drain)(struct rp_reactor *r, void *state);
	/* Abort every connection now (hard stop). */
	void (*stop)(struct rp_reactor *r, void *state);
	/* A message another reactor sent with rp__reactor_send() (may be NULL). */
	void (*message)(struct rp_reactor *r, void *state, unsigned msg);
	void (*fini)(struct rp_reactor *r, void *state);
};

struct rp_lsock {
	struct rp_op accept_op;
	struct rp_reactor *r;
	int fd;
	unsigned index;
	bool armed;
	bool multishot;	 /* the armed accept is */
	bool cancelling; /* its cancel is on its way */
	bool closing;
};

struct rp_reactor {
	struct io_uring ring;
	struct rp_engine *eng;
	struct rp_snapshot *snap;    /* a reference of the reactor's own */
	const struct rp_config *cfg; /* &snap->cfg */
	const struct rp_features *feat;
	unsigned id;
	int cpu;
	unsigned ring_flags;
	uint64_t now_ms; /* cached once per loop turn */
	/* Told of every descriptor rp__reactor_close() closes, before it goes
	 * (the service's per-client limits count open connections by it);
	 * NULL: nobody. */
	void (*fd_closing)(void *arg, int fd);
	void *fd_closing_arg;

	struct rp_wheel wheel;
	struct rp_bufring bufs;
	bool have_bufs;
	bool bundle; /* copy pumps receive bundles of buffers */
	struct rp_pipe_pool pipes;

	const struct rp_service_ops *svc;
	void *svc_state;

	struct rp_lsock lsock[RP_MAX_LISTENERS];
	unsigned nlsock;
	bool accept_paused;    /* fds or max_conns exhausted */
	uint64_t accept_burst; /* what all our listen queues can hold */
	bool pause_logged;
	struct rp_timer accept_retry;

	struct rp_op ctl_op; /* MSG_RING target for control messages */
	bool draining;
	bool stopping;
	bool exit;
	uint64_t stop_deadline;

	/* Waiters for a provided buffer (copy pumps that got -ENOBUFS). */
	struct rp_buf_waiter *buf_waiters;
	struct rp_buf_waiter **buf_waiters_tail;

	struct rp_stats stats __attribute__((aligned(RP_CACHELINE)));
};

struct rp_buf_waiter {
	struct rp_buf_waiter *next;
	void (*wake)(struct rp_buf_waiter *w);
	bool queued;
};

/* An SQE, submitting first if the SQ is full. Never NULL: the reactor's SQ
 * is drained synchronously when full. */
struct io_uring_sqe *rp__reactor_sqe(struct rp_reactor *r);

/* Service messages between reactors (control only, never per request):
 * @msg (< RP_MSG_LIMIT) reaches reactor @to's service by MSG_RING, or at
 * once when @to is @r itself. */
#define RP_MSG_LIMIT (1u << 24)
void rp__reactor_send(struct rp_reactor *r, unsigned to, unsigned msg);
unsigned rp__engine_nreactors(const struct rp_engine *e);

/* The engine's access log (core/alog.h), or NULL when it is off. */
struct rp_alog *rp__engine_alog(struct rp_engine *e);

/* Closes @fd through the ring, batched with the loop turn's other SQEs.
 * @reset: abortively (SO_LINGER 0: the peer gets an RST, not a FIN), for a
 * stream cut short. Nothing of the caller's may be in flight on @fd. */
void rp__reactor_close(struct rp_reactor *r, int fd, bool reset);
/* What rp__reactor_close() does first: tells r->fd_closing. For a client
 * descriptor closed by a plain close(). */
void rp__reactor_fd_closing(struct rp_reactor *r, int fd);

/* A client connection's descriptor is gone (closed, or its close queued):
 * once per accepted connection, by whichever part of the service holds it
 * last. A hand-off between parts (TLS front to L4/L7, forward to L7) calls
 * nothing: the reactor counted the connection opened at accept. Backend
 * connections are not counted here. */
void rp__reactor_conn_closed(struct rp_reactor *r);

/* Copy pumps that found the buffer ring empty wait here; one is woken per
 * recycled buffer batch. */
void rp__reactor_wait_buffer(struct rp_reactor *r, struct rp_buf_waiter *w);
void rp__reactor_cancel_wait(struct rp_reactor *r, struct rp_buf_waiter *w);
void rp__reactor_buffers_returned(struct rp_reactor *r, unsigned n);

#ifdef __cplusplus
}
#endif
#endif

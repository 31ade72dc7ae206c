// SPDX-License-Identifier: BSD-2-Clause
/*
 * l4.c - the L4 TCP reverse proxy service. Per reactor: a pool of
 * connections, its own instance of the cluster's balancer (engine/balance/)
 * and a passive health view of each backend (consecutive connect failures
 * put it down for a cool-down, on a wheel timer). A client is connected to
 * the backend the balancer picks, with a linked timeout; a failure moves on
 * to another backend up to --retries times, then the client is closed.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "balance/balance.h"
#include "net/net.h"
#include "reverse/reverse.h"
#include "tunnel/tunnel.h"

struct l4_shard;

struct l4_backend {
	struct l4_shard *sh;
	unsigned index;
	unsigned consecutive_failures;
	bool down;
	struct rp_timer cooldown; /* brings a down backend back */
};

struct l4_conn {
	struct rp_tunnel t; /* first: zeroed with the conn */
	struct l4_shard *sh;
	struct l4_conn *next, **pprev; /* the shard's list, for hard stop */
	int cfd, bfd;
	int backend; /* picked and not yet released, or -1 */
	unsigned attempts;
	uint64_t tried[(RP_MAX_BACKENDS + 63) / 64];
	uint64_t hash;		  /* client address, for hash balancing */
	unsigned connect_pending; /* CQEs due: connect + link timeout */
	int connect_res;
	bool connect_timed_out;
	bool tunneling;
	struct rp_op connect_op;
	struct rp_op timeout_op;
	struct __kernel_timespec ts;
};

struct l4_shard {
	struct rp_reactor *r;
	struct rp_pool conns;
	struct l4_conn *list;
	struct rp_balancer lb;
	bool hash_source; /* the algorithm keys on the client address */
	struct l4_backend be[RP_MAX_BACKENDS];
};

static void conn_release_backend(struct l4_conn *c, bool failed)
{
	if (c->backend >= 0) {
		rp__balance_release(&c->sh->lb, c->backend, failed);
		c->backend = -1;
	}
}

static void conn_free(struct l4_conn *c)
{
	struct l4_shard *sh = c->sh;

	conn_release_backend(c, false);
	if (c->pprev) {
		*c->pprev = c->next;
		if (c->next)
			c->next->pprev = c->pprev;
	}
	rp__pool_put(&sh->conns, c);
	rp__reactor_conn_closed(sh->r);
}

/* Before the tunnel owns the fds, the conn closes them itself. */
static void conn_close_early(struct l4_conn *c)
{
	if (c->bfd >= 0)
		close(c->bfd);
	close(c->cfd);
	conn_free(c);
}

static void tunnel_done(struct rp_tunnel *t, enum rp_tunnel_end how)
{
	conn_free(rp_container_of(t, struct l4_conn, t));
}

static void backend_cooled(struct rp_timer *t, uint64_t now)
{
	struct l4_backend *be = rp_container_of(t, struct l4_backend, cooldown);

	/* Eligible again; the next failure streak is counted afresh. */
	be->down = false;
	be->consecutive_failures = 0;
	rp__balance_set_up(&be->sh->lb, (int)be->index, true);
}

static void backend_failed(struct l4_shard *sh, int b)
{
	const struct rp_config *cfg = sh->r->cfg;
	struct l4_backend *be = &sh->be[b];

	if (++be->consecutive_failures >= cfg->fall && !be->down) {
		char a[RP_ADDRSTRLEN];

		be->down = true;
		rp__balance_set_up(&sh->lb, b, false);
		rp__timer_arm(&sh->r->wheel, &be->cooldown,
			      sh->r->now_ms + cfg->cooldown_ms);
		rp_warn("reactor %u: backend %s down for %u ms after %u failed connects",
			sh->r->id, rp__addr_format(&cfg->backends[b], a, sizeof(a)),
			cfg->cooldown_ms, be->consecutive_failures);
	}
}

static void backend_ok(struct l4_shard *sh, int b)
{
	sh->be[b].consecutive_failures = 0;
}

static void connect_cqe(struct rp_op *op, int res, uint32_t flags);
static void timeout_cqe(struct rp_op *op, int res, uint32_t flags);

static void conn_connect_next(struct l4_conn *c)
{
	struct l4_shard *sh = c->sh;
	struct rp_reactor *r = sh->r;
	const struct rp_config *cfg = r->cfg;
	const struct rp_addr *a;
	struct io_uring_sqe *sqe;
	int one = 1;
	int b;

	for (;;) {
		/* Only a retry avoids backends: p2c samples when nothing is
		 * to be avoided, and scans when something is. */
		struct rp_pick_key key = {.hash = c->hash,
					  .avoid = c->attempts ? c->tried : NULL};

		b = c->attempts <= cfg->retries ? rp__balance_pick(&sh->lb, &key) : -1;
		if (b < 0) {
			if (c->attempts == 0)
				r->stats.no_backend++;
			conn_close_early(c);
			return;
		}
		c->backend = b;
		c->attempts++;
		c->tried[b / 64] |= 1ull << (b % 64);
		a = &cfg->backends[b];
		c->bfd = socket(a->ss.ss_family,
				SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (c->bfd >= 0)
			break;
		/* Out of fds: no backend will do better. */
		r->stats.connect_failures++;
		conn_close_early(c);
		return;
	}
	setsockopt(c->bfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->connect_pending = 2;
	c->connect_res = 0;
	c->connect_timed_out = false;
	c->ts.tv_sec = cfg->connect_timeout_ms / 1000;
	c->ts.tv_nsec = (long long)(cfg->connect_timeout_ms % 1000) * 1000000;

	sqe = rp__reactor_sqe(r);
	io_uring_prep_connect(sqe, c->bfd, (const struct sockaddr *)&a->ss, a->len);
	io_uring_sqe_set_data(sqe, &c->connect_op);
	sqe->flags |= IOSQE_IO_LINK;
	sqe = rp__reactor_sqe(r);
	io_uring_prep_link_timeout(sqe, &c->ts, 0);
	io_uring_sqe_set_data(sqe, &c->timeout_op);
}

static void connect_settled(struct l4_conn *c)
{
	struct l4_shard *sh = c->sh;
	struct rp_reactor *r = sh->r;

	if (c->connect_res == 0) {
		backend_ok(sh, c->backend);
		c->tunneling = true;
		rp__tunnel_start(&c->t, r, c->cfd, c->bfd, r->cfg->tunnel,
				 r->cfg->idle_timeout_ms, tunnel_done);
		return;
	}
	if (c->connect_timed_out)
		r->stats.connect_timeouts++;
	else
		r->stats.connect_failures++;
	backend_failed(sh, c->backend);
	conn_release_backend(c, true);
	close(c->bfd);
	c->bfd = -1;
	if (r->stopping) {
		conn_close_early(c);
		return;
	}
	conn_connect_next(c);
}

static void connect_cqe(struct rp_op *op, int res, uint32_t flags)
{
	struct l4_conn *c = rp_container_of(op, struct l4_conn, connect_op);

	c->connect_res = res;
	if (--c->connect_pending == 0)
		connect_settled(c);
}

static void timeout_cqe(struct rp_op *op, int res, uint32_t flags)
{
	struct l4_conn *c = rp_container_of(op, struct l4_conn, timeout_op);

	/* -ETIME: the timer fired and cancelled the connect. */
	if (res == -ETIME)
		c->connect_timed_out = true;
	if (--c->connect_pending == 0)
		connect_settled(c);
}

static void l4_accept(struct rp_reactor *r, void *state, int fd)
{
	struct l4_shard *sh = state;
	struct l4_conn *c = rp__pool_get(&sh->conns);

	if (!c) {
		r->stats.oom++;
		close(fd);
		return;
	}
	rp__reactor_conn_opened(r);
	c->sh = sh;
	c->cfd = fd;
	c->bfd = -1;
	c->backend = -1;
	c->connect_op.fn = connect_cqe;
	c->timeout_op.fn = timeout_cqe;
	c->next = sh->list;
	if (c->next)
		c->next->pprev = &c->next;
	c->pprev = &sh->list;
	sh->list = c;
	if (sh->hash_source) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);

		/* The accept carried no address (multishot): ask once. */
		if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
			rp__hash_sockaddr_ip((struct sockaddr *)&ss, len, &c->hash);
	}
	/* TCP_NODELAY comes from the listener (rp__listen_socket()). */
	conn_connect_next(c);
}

static int l4_init(struct rp_reactor *r, void **state)
{
	const struct rp_config *cfg = r->cfg;
	struct rp_balance_backend bb[RP_MAX_BACKENDS];
	struct rp_balance_config bc = {
		.ops = rp__balance_ops_find(cfg->balance),
		.nbackends = cfg->nbackends,
		.backends = bb,
	};
	struct l4_shard *sh;
	int ret;

	if (!bc.ops)
		return -EINVAL;
	sh = calloc(1, sizeof(*sh));
	if (!sh)
		return -ENOMEM;
	sh->r = r;
	for (unsigned i = 0; i < cfg->nbackends; i++) {
		char a[RP_ADDRSTRLEN];

		/* Identity by address: reordering --to keeps clients put. */
		rp__addr_format(&cfg->backends[i], a, sizeof(a));
		bb[i].id = rp__hash_bytes(a, strlen(a));
		bb[i].weight = cfg->weights[i] ? cfg->weights[i] : 1;
		sh->be[i].sh = sh;
		sh->be[i].index = i;
		sh->be[i].cooldown.fn = backend_cooled;
	}
	sh->hash_source =
		!strcmp(cfg->balance, "ringhash") || !strcmp(cfg->balance, "maglev");
	/* The reactor id seeds p2c's sampling; nothing hash-based depends
	 * on it. */
	ret = rp__balance_init(&sh->lb, &bc, r->id);
	if (ret < 0)
		goto fail_free;
	ret = rp__pool_init(&sh->conns, sizeof(struct l4_conn), cfg->max_conns);
	if (ret < 0)
		goto fail_fini_lb;
	*state = sh;
	return 0;

fail_fini_lb:
	rp__balance_fini(&sh->lb);
fail_free:
	free(sh);
	return ret;
}

static void l4_stop(struct rp_reactor *r, void *state)
{
	struct l4_shard *sh = state;
	struct l4_conn *c = sh->list, *next;

	for (; c; c = next) {
		next = c->next;
		if (c->tunneling) {
			rp__tunnel_abort(&c->t); /* may free c */
		} else {
			/* Connecting: the cancelled connect settles and, the
			 * reactor stopping, closes the client. */
			struct io_uring_sqe *sqe = rp__reactor_sqe(r);

			io_uring_prep_cancel(sqe, &c->connect_op, 0);
			io_uring_sqe_set_data64(sqe, 0);
		}
	}
}

static void l4_fini(struct rp_reactor *r, void *state)
{
	struct l4_shard *sh = state;

	for (unsigned i = 0; i < r->cfg->nbackends; i++)
		rp__timer_cancel(&r->wheel, &sh->be[i].cooldown);
	rp__balance_fini(&sh->lb);
	rp__pool_destroy(&sh->conns);
	free(sh);
}

const struct rp_service_ops rp__l4_service = {
	.name = "l4",
	.init = l4_init,
	.accept = l4_accept,
	.stop = l4_stop,
	.fini = l4_fini,
};

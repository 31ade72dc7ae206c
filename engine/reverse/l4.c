// SPDX-License-Identifier: BSD-2-Clause
/*
 * l4.c - the L4 TCP reverse proxy service. Per reactor: a pool of
 * connections, a round-robin cursor and a passive health view of each
 * backend (consecutive connect failures put it down for a cool-down). A
 * client is connected to one backend with a linked timeout; a failure moves
 * on to another backend up to --retries times, then the client is closed.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net.h"
#include "reverse/reverse.h"
#include "tunnel/tunnel.h"

struct l4_backend {
	unsigned consecutive_failures;
};

struct l4_conn {
	struct rp_tunnel t; /* first: zeroed with the conn */
	struct l4_shard *sh;
	struct l4_conn *next, **pprev; /* the shard's list, for hard stop */
	int cfd, bfd;
	int backend;
	unsigned attempts;
	uint64_t tried;
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
	unsigned rr;
	uint64_t down_until[RP_MAX_BACKENDS];
	struct l4_backend be[RP_MAX_BACKENDS];
};

int rp__rr_pick(const uint64_t *down_until, unsigned n, unsigned *next, uint64_t tried,
		uint64_t now)
{
	for (unsigned i = 0; i < n; i++) {
		unsigned b = (*next + i) % n;

		if ((tried >> b) & 1)
			continue;
		if (down_until[b] > now)
			continue;
		*next = (b + 1) % n;
		return (int)b;
	}
	return -1;
}

static void conn_free(struct l4_conn *c)
{
	struct l4_shard *sh = c->sh;

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

static void backend_failed(struct l4_shard *sh, int b)
{
	const struct rp_config *cfg = sh->r->cfg;
	struct l4_backend *be = &sh->be[b];

	if (++be->consecutive_failures >= cfg->fall && !sh->down_until[b]) {
		char a[RP_ADDRSTRLEN];

		sh->down_until[b] = sh->r->now_ms + cfg->cooldown_ms;
		rp_warn("reactor %u: backend %s down for %u ms after %u failed connects",
			sh->r->id, rp__addr_format(&cfg->backends[b], a, sizeof(a)),
			cfg->cooldown_ms, be->consecutive_failures);
	}
}

static void backend_ok(struct l4_shard *sh, int b)
{
	sh->be[b].consecutive_failures = 0;
	sh->down_until[b] = 0;
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
		/* A backend whose cool-down is over is eligible again; clear
		 * its mark so the next failure streak is counted afresh. */
		b = -1;
		if (c->attempts <= cfg->retries)
			b = rp__rr_pick(sh->down_until, cfg->nbackends, &sh->rr, c->tried,
					r->now_ms);
		if (b < 0) {
			if (c->attempts == 0)
				r->stats.no_backend++;
			conn_close_early(c);
			return;
		}
		if (sh->down_until[b] && sh->down_until[b] <= r->now_ms)
			sh->down_until[b] = 0;
		c->attempts++;
		c->tried |= 1ull << b;
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
	c->backend = b;
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
	c->connect_op.fn = connect_cqe;
	c->timeout_op.fn = timeout_cqe;
	c->next = sh->list;
	if (c->next)
		c->next->pprev = &c->next;
	c->pprev = &sh->list;
	sh->list = c;
	/* TCP_NODELAY comes from the listener (rp__listen_socket()). */
	conn_connect_next(c);
}

static int l4_init(struct rp_reactor *r, void **state)
{
	struct l4_shard *sh = calloc(1, sizeof(*sh));
	int ret;

	if (!sh)
		return -ENOMEM;
	sh->r = r;
	ret = rp__pool_init(&sh->conns, sizeof(struct l4_conn), r->cfg->max_conns);
	if (ret < 0) {
		free(sh);
		return ret;
	}
	/* Spread the reactors' round-robin cursors. */
	sh->rr = r->id % r->cfg->nbackends;
	*state = sh;
	return 0;
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

// SPDX-License-Identifier: BSD-2-Clause
/*
 * l4.c - the L4 TCP half of the reverse proxy. Per reactor: a pool of
 * connections; the clusters (balancer and backend health, cluster.h) belong
 * to the reverse service and are shared with L7. A client accepted on a
 * listener is connected to a backend of that listener's cluster, the one the
 * balancer picks, with a linked
 * timeout; a failure moves on to another backend of the same cluster up to
 * its retries, then the client is closed.
 *
 * With the PROXY protocol (engine/proxyproto/), a connection may have two
 * more phases around the connect: with --accept-proxy it first reads the
 * client's header (ring recv with a linked timeout, into a small buffer
 * taken from a per-reactor pool), and whatever follows the header in that
 * buffer is the client's first data; with --send-proxy our own header goes
 * first to the backend. Both reach the backend as one "preamble" (our header,
 * then the client's bytes read past theirs), sent through the ring before
 * the tunnel starts, so no client byte overtakes the header or is lost.
 *
 * SNI passthrough (a listener with sni routes) adds one phase after the
 * client's PROXY header, if any: the ClientHello is read into the same
 * buffer, grown to hold one full TLS record and taken from the heap for
 * those listeners only, with a linked timeout for what is left of the
 * listener's sni_timeout; sni_route.c picks the cluster from its server
 * name, and the ClientHello reaches the backend in the preamble, untouched.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net.h"
#include "proxyproto/proxyproto.h"
#include "reverse/reverse.h"
#include "tls/hs.h"
#include "tls/tls.h"
#include "tunnel/tls_tunnel.h"
#include "reverse/sni_route.h"
#include "tunnel/tunnel.h"

struct l4_shard;

/* Room for our header ahead of the client's bytes, and for what is read
 * from the client while looking for its header: a v2 header with more TLVs
 * than this holds is refused (HAProxy's own sends none unless configured). */
#define L4_PP_ROOM 128
#define L4_PP_IN   512

/* The buffer of a connection's first bytes (PROXY headers, ClientHello),
 * held until its tunnel starts. The preamble for the backend is
 * data[out_off, out_end). */
struct l4_ppbuf {
	unsigned in_len; /* bytes received at data + L4_PP_ROOM */
	unsigned in_cap; /* room there: L4_PP_IN, or L4_SNI_IN (heap) */
	unsigned out_off, out_end;
	unsigned client_off; /* where the client's bytes start in the preamble */
	bool have_addr;	     /* the client's header gave addresses */
	socklen_t addr_len;  /* of src and dst */
	struct sockaddr_storage src, dst;
	uint8_t data[]; /* L4_PP_ROOM + in_cap */
};

/* An SNI listener's room for the client's bytes: a PROXY header and then a
 * whole ClientHello record. */
#define L4_SNI_IN (L4_PP_IN + RP_SNI_ROUTE_BUF)

enum l4_phase {
	L4_HEADER,	/* reading the client's PROXY header */
	L4_SNI,		/* reading the client's ClientHello (SNI listeners) */
	L4_CONNECTING,	/* connecting to a backend */
	L4_PREAMBLE,	/* sending the backend our header and early client bytes */
	L4_BACKEND_TLS, /* the TLS handshake with the backend (re-encryption) */
	L4_EARLY,	/* sending the backend what TLS decrypted before the tunnel */
	L4_TUNNEL,	/* the tunnel owns the fds */
};

struct l4_conn {
	struct rp_tunnel t; /* first: zeroed with the conn */
	struct l4_shard *sh;
	struct rp_cluster *cl; /* of the listener, or the one SNI picked */
	const struct rp_listener_config *lis;
	struct l4_conn *next, **pprev; /* the shard's list, for hard stop */
	int cfd, bfd;
	int backend; /* picked and not yet released, or -1 */
	unsigned attempts;
	uint64_t tried[(RP_MAX_BACKENDS + 63) / 64];
	uint64_t hash;		  /* client address, for hash balancing */
	unsigned connect_pending; /* CQEs due: connect + link timeout */
	int connect_res;
	bool connect_timed_out;
	enum l4_phase phase;
	struct rp_op connect_op;
	struct rp_op timeout_op;
	struct __kernel_timespec ts; /* of the connect or the header recv */
	/* PROXY protocol */
	struct l4_ppbuf *pp;  /* NULL when neither option is on, or tunneling */
	unsigned pp_pending;  /* CQEs due: recv + link timeout, or send */
	int pp_res;	      /* of the recv or send */
	uint64_t pp_deadline; /* ms: the whole header must be in by then */
	struct rp_op pp_recv_op, pp_timeout_op, pp_send_op;
	/* TLS terminated in front (tls_front.c): the client's plaintext goes
	 * through the kernel (ktls) or through @tls in userspace. */
	struct rp_tls *tls;
	bool ktls;
	uint8_t *early; /* plaintext decrypted with the handshake */
	unsigned nearly, early_off;
	struct rp_op early_send_op;
	struct rp_tls_tunnel *tt; /* the tunnel, with userspace TLS */
	/* TLS towards the backend: the kernel has its records (bktls), or
	 * @btls does them here. */
	struct rp_tls_hs bhs;
	bool bhs_done;
	struct rp_tls *btls;
	bool bktls;
	bool early_enc;	  /* @early is in btls's out buffer already */
	unsigned sni_off; /* SNI: where the ClientHello starts past the header */
};

struct l4_shard {
	struct rp_reactor *r;
	struct rp_reverse *rv; /* the clusters */
	struct rp_pool conns;
	struct rp_pool ppbufs; /* max_conns of them, when PROXY is on */
	bool pp_on;
	struct l4_conn *list;
};

static void conn_release_backend(struct l4_conn *c, bool failed)
{
	if (c->backend >= 0) {
		rp__balance_release(&c->cl->lb, c->backend, failed);
		c->backend = -1;
	}
}

/* A buffer for a client on @lis, or NULL: from the pool, or from the heap
 * for SNI listeners, whose buffers are too large to keep pooled. */
static struct l4_ppbuf *conn_get_ppbuf(struct l4_shard *sh,
				       const struct rp_listener_config *lis)
{
	struct l4_ppbuf *pp;

	if (!lis->nsni) {
		pp = rp__pool_get(&sh->ppbufs);
		if (pp)
			pp->in_cap = L4_PP_IN;
		return pp;
	}
	pp = malloc(sizeof(*pp) + L4_PP_ROOM + L4_SNI_IN);
	if (pp) {
		memset(pp, 0, sizeof(*pp));
		pp->in_cap = L4_SNI_IN;
	}
	return pp;
}

static void conn_put_ppbuf(struct l4_conn *c)
{
	if (!c->pp)
		return;
	if (c->pp->in_cap == L4_SNI_IN)
		free(c->pp);
	else
		rp__pool_put(&c->sh->ppbufs, c->pp);
	c->pp = NULL;
}

static void conn_free(struct l4_conn *c)
{
	struct l4_shard *sh = c->sh;

	conn_put_ppbuf(c);
	rp__tls_free(c->tls);
	rp__tls_free(c->btls);
	free(c->early);
	free(c->tt);
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
	rp__reactor_fd_closing(c->sh->r, c->cfd);
	close(c->cfd);
	conn_free(c);
}

static void tunnel_done(struct rp_tunnel *t, enum rp_tunnel_end how)
{
	conn_free(rp_container_of(t, struct l4_conn, t));
}

static void tls_tunnel_done(struct rp_tls_tunnel *tt, enum rp_tunnel_end how)
{
	conn_free(tt->done_arg);
}

static void connect_cqe(struct rp_op *op, int res, uint32_t flags);
static void timeout_cqe(struct rp_op *op, int res, uint32_t flags);

static void conn_connect_next(struct l4_conn *c)
{
	struct rp_cluster *cl = c->cl;
	struct rp_reactor *r = c->sh->r;
	const struct rp_cluster_config *cfg = cl->cfg;
	const struct rp_addr *a;
	struct io_uring_sqe *sqe;
	int one = 1;
	int b;

	for (;;) {
		/* Only a retry avoids backends: p2c samples when nothing is
		 * to be avoided, and scans when something is. */
		struct rp_pick_key key = {.hash = c->hash,
					  .avoid = c->attempts ? c->tried : NULL};

		b = c->attempts <= cfg->retries ? rp__balance_pick(&cl->lb, &key) : -1;
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

static void conn_start_tunnel(struct l4_conn *c)
{
	struct rp_reactor *r = c->sh->r;

	/* The tunnel needs no buffer of ours: an idle one holds none. */
	conn_put_ppbuf(c);
	free(c->early);
	c->early = NULL;
	if (c->tls || c->btls) {
		/* Userspace TLS: the tunnel takes the fds and the states. */
		c->tt = calloc(1, sizeof(*c->tt));
		if (!c->tt ||
		    rp__tls_tunnel_start(c->tt, r, c->cfd, c->tls, c->bfd, c->btls,
					 c->lis->idle_timeout_ms, tls_tunnel_done) < 0) {
			r->stats.oom++;
			conn_close_early(c);
			return;
		}
		c->tt->done_arg = c;
		c->tls = c->btls = NULL;
		c->phase = L4_TUNNEL;
		return;
	}
	c->phase = L4_TUNNEL;
	c->t.ktls = (c->ktls ? 1u : 0u) | (c->bktls ? 2u : 0u);
	rp__tunnel_start(&c->t, r, c->cfd, c->bfd, c->lis->tunnel,
			 c->lis->idle_timeout_ms, tunnel_done);
}

/*
 * Sends the rest of the client's bytes that came before the tunnel (with
 * its TLS handshake, or after its PROXY header): as they are, or through
 * the backend's userspace TLS.
 */
static void conn_send_early(struct l4_conn *c)
{
	struct io_uring_sqe *sqe;
	const uint8_t *p = c->early + c->early_off;
	unsigned len = c->nearly - c->early_off;

	if (c->btls) {
		if (!c->early_enc) {
			if (rp__tls_write(c->btls, c->early, c->nearly) < 0) {
				conn_close_early(c);
				return;
			}
			c->sh->r->stats.bytes[RP_TUNNEL_COPY][0] += c->nearly;
			c->early_enc = true;
		}
		p = rp__tls_out(c->btls, &len);
	}
	c->phase = L4_EARLY;
	sqe = rp__reactor_sqe(c->sh->r);
	io_uring_prep_send(sqe, c->bfd, p, len, MSG_NOSIGNAL);
	io_uring_sqe_set_data(sqe, &c->early_send_op);
}

static void early_send_cqe(struct rp_op *op, int res, uint32_t flags)
{
	struct l4_conn *c = rp_container_of(op, struct l4_conn, early_send_op);
	unsigned left;

	if (res <= 0 || c->sh->r->stopping) {
		conn_close_early(c);
		return;
	}
	if (c->btls) {
		rp__tls_out_consumed(c->btls, (unsigned)res);
		rp__tls_out(c->btls, &left);
	} else {
		c->early_off += (unsigned)res;
		c->sh->r->stats.bytes[RP_TUNNEL_COPY][0] += (unsigned)res;
		left = c->nearly - c->early_off;
	}
	if (left)
		conn_send_early(c);
	else
		conn_start_tunnel(c);
}

static void conn_backend_ready(struct l4_conn *c);

static void backend_tls_done(struct rp_tls_hs *hs, int res)
{
	struct l4_conn *c = rp_container_of(hs, struct l4_conn, bhs);
	struct rp_reactor *r = c->sh->r;

	c->bhs_done = true;
	if (res < 0) {
		if (res != -ECANCELED)
			r->stats.tls_backend_failures++;
		rp_dbg("tls to backend: %s%s%s", strerror(-res),
		       hs->tls->errbuf[0] ? ": " : "", hs->tls->errbuf);
		rp__tls_free(hs->tls);
		conn_close_early(c);
		return;
	}
	r->stats.tls_backend_handshakes++;
	if (hs->ktls_on) {
		c->bktls = true;
		rp__tls_free(hs->tls);
	} else {
		c->btls = hs->tls;
	}
	hs->tls = NULL;
	conn_backend_ready(c);
}

/* The backend is connected, and our PROXY header (if any) sent: TLS with
 * it if the cluster says so, then the client's early bytes, then the
 * tunnel. */
static void conn_backend_ready(struct l4_conn *c)
{
	struct rp_reactor *r = c->sh->r;
	const struct rp_cluster_config *cfg = c->cl->cfg;

	if (cfg->tls.enabled && !c->bhs_done) {
		unsigned k = (unsigned)(c->cl - c->sh->rv->cl);
		bool ktls = cfg->tls.ktls != RP_KTLS_OFF && rp__ktls_probe()->ulp;
		struct rp_tls *t = rp__tls_new_client(r->snap->tls_cli[k], ktls);

		if (!t) {
			r->stats.oom++;
			conn_close_early(c);
			return;
		}
		c->phase = L4_BACKEND_TLS;
		c->bhs.no_early = true;
		rp__tls_hs_start(&c->bhs, r, c->bfd, t, cfg->tls.ktls,
				 cfg->connect_timeout_ms, backend_tls_done);
		return;
	}
	if (c->early && c->nearly)
		conn_send_early(c);
	else
		conn_start_tunnel(c);
}

/*
 * With TLS towards the backend, the client's bytes read past its PROXY
 * header must go through that TLS: they join the early bytes, and only our
 * own header is sent before the handshake. false: out of memory.
 */
static bool pp_client_to_early(struct l4_conn *c)
{
	struct l4_ppbuf *pp = c->pp;
	unsigned n = pp->out_end - pp->client_off;
	uint8_t *e;

	if (!n)
		return true;
	e = malloc(n + c->nearly);
	if (!e)
		return false;
	memcpy(e, pp->data + pp->client_off, n);
	if (c->nearly)
		memcpy(e + n, c->early, c->nearly);
	free(c->early);
	c->early = e;
	c->nearly += n;
	pp->out_end = pp->client_off;
	return true;
}

/* Sends the rest of the preamble; the send may be short, its CQE re-arms. */
static void conn_send_preamble(struct l4_conn *c)
{
	struct l4_ppbuf *pp = c->pp;
	struct io_uring_sqe *sqe = rp__reactor_sqe(c->sh->r);

	io_uring_prep_send(sqe, c->bfd, pp->data + pp->out_off, pp->out_end - pp->out_off,
			   MSG_NOSIGNAL);
	io_uring_sqe_set_data(sqe, &c->pp_send_op);
	c->pp_pending = 1;
}

static void preamble_send_cqe(struct rp_op *op, int res, uint32_t flags)
{
	struct l4_conn *c = rp_container_of(op, struct l4_conn, pp_send_op);

	c->pp_pending = 0;
	if (res <= 0 || c->sh->r->stopping) {
		/* The backend went away right after accepting, or hard stop. */
		conn_close_early(c);
		return;
	}
	c->pp->out_off += (unsigned)res;
	if (c->pp->out_off < c->pp->out_end) {
		conn_send_preamble(c);
		return;
	}
	/* The client's early bytes were copied up, like a copy pump's. */
	c->sh->r->stats.bytes[RP_TUNNEL_COPY][0] += c->pp->out_end - c->pp->client_off;
	conn_backend_ready(c);
}

static void connect_settled(struct l4_conn *c)
{
	struct l4_shard *sh = c->sh;
	struct rp_reactor *r = sh->r;

	if (c->connect_res == 0 && r->stopping) {
		/* Connected after the stop cancelled the attempt: nothing will
		 * abort a tunnel started now, so don't start one. */
		conn_close_early(c);
		return;
	}
	if (c->connect_res == 0) {
		rp__backend_ok(c->cl, c->backend);
		if (c->pp && c->cl->cfg->tls.enabled && !pp_client_to_early(c)) {
			r->stats.oom++;
			conn_close_early(c);
			return;
		}
		if (c->pp && c->pp->out_off < c->pp->out_end) {
			c->phase = L4_PREAMBLE;
			conn_send_preamble(c);
			return;
		}
		conn_backend_ready(c);
		return;
	}
	if (c->connect_timed_out)
		r->stats.connect_timeouts++;
	else
		r->stats.connect_failures++;
	rp__backend_failed(c->cl, c->backend, "failed connects");
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

/*
 * The client as balancing and --send-proxy see it: the addresses of its
 * PROXY header if it sent one with addresses, else the connection's own
 * (the accept carried no address, multishot: ask once). 0 or -errno.
 */
static int conn_client_addrs(struct l4_conn *c, struct sockaddr_storage *src,
			     struct sockaddr_storage *dst, socklen_t *len)
{
	socklen_t dlen = sizeof(*dst);

	if (c->pp && c->pp->have_addr) {
		*src = c->pp->src;
		*dst = c->pp->dst;
		*len = c->pp->addr_len;
		return 0;
	}
	*len = sizeof(*src);
	if (getpeername(c->cfd, (struct sockaddr *)src, len) < 0 ||
	    getsockname(c->cfd, (struct sockaddr *)dst, &dlen) < 0)
		return -errno;
	return 0;
}

/*
 * The header is in (@consumed bytes of the buffer; none without
 * --accept-proxy): key the balancer on the client, lay out the preamble and
 * connect to a backend.
 */
static void conn_client_known(struct l4_conn *c, unsigned consumed)
{
	struct rp_cluster *cl = c->cl;
	const struct rp_cluster_config *cfg = cl->cfg;
	struct sockaddr_storage src, dst;
	socklen_t alen = 0;
	bool have = false;

	if (cl->hash_source || cfg->send_proxy)
		have = conn_client_addrs(c, &src, &dst, &alen) == 0;
	if (cl->hash_source && have)
		rp__hash_sockaddr_ip((struct sockaddr *)&src, alen, &c->hash);
	if (c->pp) {
		struct l4_ppbuf *pp = c->pp;

		/* Client bytes that came with its header go first, right
		 * after ours. */
		pp->out_off = L4_PP_ROOM + consumed;
		pp->client_off = pp->out_off;
		pp->out_end = L4_PP_ROOM + pp->in_len;
		if (cfg->send_proxy) {
			uint8_t hdr[RP_PP_BUILD_MAX];
			/* A client already gone gets the UNKNOWN/LOCAL form;
			 * its tunnel will end at once anyway. */
			int n = rp__pp_build((int)cfg->send_proxy,
					     have ? (struct sockaddr *)&src : NULL,
					     have ? (struct sockaddr *)&dst : NULL, hdr,
					     sizeof(hdr));

			if (n < 0)
				n = rp__pp_build((int)cfg->send_proxy, NULL, NULL, hdr,
						 sizeof(hdr));
			RP_BUG_ON(n < 0 || (unsigned)n > pp->out_off);
			pp->out_off -= (unsigned)n;
			memcpy(pp->data + pp->out_off, hdr, (size_t)n);
		}
	}
	c->phase = L4_CONNECTING;
	conn_connect_next(c);
}

static void header_recv_cqe(struct rp_op *op, int res, uint32_t flags);
static void header_timeout_cqe(struct rp_op *op, int res, uint32_t flags);

/* Reads more of the client's header (or ClientHello), linked to what is
 * left of the deadline. */
static void conn_recv_header(struct l4_conn *c)
{
	struct rp_reactor *r = c->sh->r;
	struct l4_ppbuf *pp = c->pp;
	uint64_t left = c->pp_deadline > r->now_ms ? c->pp_deadline - r->now_ms : 1;
	unsigned cap = c->phase == L4_SNI ? pp->in_cap : L4_PP_IN;
	struct io_uring_sqe *sqe;

	c->ts.tv_sec = (long long)(left / 1000);
	c->ts.tv_nsec = (long long)(left % 1000) * 1000000;
	c->pp_pending = 2;
	c->pp_res = 0;
	sqe = rp__reactor_sqe(r);
	io_uring_prep_recv(sqe, c->cfd, pp->data + L4_PP_ROOM + pp->in_len,
			   cap - pp->in_len, 0);
	io_uring_sqe_set_data(sqe, &c->pp_recv_op);
	sqe->flags |= IOSQE_IO_LINK;
	sqe = rp__reactor_sqe(r);
	io_uring_prep_link_timeout(sqe, &c->ts, 0);
	io_uring_sqe_set_data(sqe, &c->pp_timeout_op);
}

static void conn_header_failed(struct l4_conn *c)
{
	struct rp_reactor *r = c->sh->r;

	if (!r->stopping)
		r->stats.proxy_errors++;
	conn_close_early(c);
}

/*
 * SNI passthrough: the ClientHello is read on behind the PROXY header, in
 * the same buffer, and the connection goes where its server name routes it.
 */

static void conn_sni_failed(struct l4_conn *c, const char *why)
{
	struct rp_reactor *r = c->sh->r;

	if (!r->stopping) {
		r->stats.sni_failures++;
		rp_dbg("sni: client refused: %s", why);
	}
	conn_close_early(c);
}

/* Routes on what the buffer holds, or reads more of the ClientHello. */
static void conn_sni_try(struct l4_conn *c)
{
	struct l4_shard *sh = c->sh;
	struct rp_reactor *r = sh->r;
	struct l4_ppbuf *pp = c->pp;
	char host[RP_SNI_ROUTE_HOST];
	const char *why = "";
	int ret;

	ret = rp__sni_route(c->lis, pp->data + L4_PP_ROOM + c->sni_off,
			    pp->in_len - c->sni_off, pp->in_cap - c->sni_off, host, &why);
	if (ret == -EAGAIN) {
		if (r->now_ms >= c->pp_deadline)
			conn_sni_failed(c, "ClientHello not complete in time");
		else
			conn_recv_header(c);
		return;
	}
	if (ret < 0) {
		conn_sni_failed(c, why);
		return;
	}
	RP_BUG_ON((unsigned)ret >= sh->rv->ncl);
	r->stats.sni_routed++;
	c->cl = &sh->rv->cl[ret];
	rp_dbg("sni: '%s' to cluster '%s'", host, c->cl->cfg->name);
	/* The ClientHello and anything behind it go to the backend. */
	conn_client_known(c, c->sni_off);
}

/* The client's PROXY header, if any, took @consumed bytes of the buffer;
 * what it holds past them is the start of the ClientHello. */
static void conn_sni_start(struct l4_conn *c, unsigned consumed)
{
	struct rp_reactor *r = c->sh->r;

	c->phase = L4_SNI;
	c->sni_off = consumed;
	c->pp_deadline = r->now_ms + c->lis->sni_timeout_ms;
	if (c->pp->in_len > consumed)
		conn_sni_try(c);
	else
		conn_recv_header(c);
}

/* Both CQEs of a ClientHello recv are in. */
static void sni_settled(struct l4_conn *c)
{
	int res = c->pp_res;

	/* EOF, an error, or the link timeout's -ECANCELED. */
	if (res <= 0 || c->sh->r->stopping) {
		conn_sni_failed(c, res == -ECANCELED ? "ClientHello not complete in time"
				   : res == 0 ? "closed before its ClientHello ended"
					      : "recv failed");
		return;
	}
	c->pp->in_len += (unsigned)res;
	conn_sni_try(c);
}

/* Both CQEs of a header recv are in. */
static void header_settled(struct l4_conn *c)
{
	struct rp_reactor *r = c->sh->r;
	struct l4_ppbuf *pp = c->pp;
	struct rp_pp_result res;
	int ret;

	/* EOF, an error, or the link timeout's -ECANCELED: no header. */
	if (c->pp_res <= 0 || r->stopping) {
		conn_header_failed(c);
		return;
	}
	pp->in_len += (unsigned)c->pp_res;
	ret = rp__pp_parse(pp->data + L4_PP_ROOM, pp->in_len, &res);
	if (ret == -EAGAIN) {
		/* A header longer than the buffer, or one trickling in past
		 * its deadline, is refused. */
		if (pp->in_len >= L4_PP_IN || r->now_ms >= c->pp_deadline)
			conn_header_failed(c);
		else
			conn_recv_header(c);
		return;
	}
	if (ret < 0) {
		conn_header_failed(c);
		return;
	}
	if (!res.local) {
		pp->have_addr = true;
		pp->src = res.src;
		pp->dst = res.dst;
		pp->addr_len = res.addr_len;
	}
	if (c->lis->nsni) {
		conn_sni_start(c, (unsigned)ret);
		return;
	}
	conn_client_known(c, (unsigned)ret);
}

/* The header recv and the ClientHello recv share their ops. */
static void recv_settled(struct l4_conn *c)
{
	if (c->phase == L4_SNI)
		sni_settled(c);
	else
		header_settled(c);
}

static void header_recv_cqe(struct rp_op *op, int res, uint32_t flags)
{
	struct l4_conn *c = rp_container_of(op, struct l4_conn, pp_recv_op);

	c->pp_res = res;
	if (--c->pp_pending == 0)
		recv_settled(c);
}

static void header_timeout_cqe(struct rp_op *op, int res, uint32_t flags)
{
	struct l4_conn *c = rp_container_of(op, struct l4_conn, pp_timeout_op);

	/* -ETIME: the timer fired and cancelled the recv, whose -ECANCELED
	 * ends the connection. */
	if (--c->pp_pending == 0)
		recv_settled(c);
}

static struct l4_conn *conn_open(struct l4_shard *sh, unsigned listener, int fd)
{
	struct rp_reactor *r = sh->r;
	const struct rp_listener_config *lis = &r->cfg->listeners[listener];
	struct l4_conn *c = rp__pool_get(&sh->conns);

	if (!c) {
		r->stats.oom++;
		close(fd);
		rp__reactor_conn_closed(r);
		return NULL;
	}
	c->sh = sh;
	c->lis = lis;
	c->cl = &sh->rv->cl[lis->cluster];
	c->cfd = fd;
	c->bfd = -1;
	c->backend = -1;
	c->connect_op.fn = connect_cqe;
	c->timeout_op.fn = timeout_cqe;
	c->pp_recv_op.fn = header_recv_cqe;
	c->pp_timeout_op.fn = header_timeout_cqe;
	c->pp_send_op.fn = preamble_send_cqe;
	c->early_send_op.fn = early_send_cqe;
	c->next = sh->list;
	if (c->next)
		c->next->pprev = &c->next;
	c->pprev = &sh->list;
	sh->list = c;
	if (sh->pp_on || lis->nsni) {
		c->pp = conn_get_ppbuf(sh, lis);
		if (!c->pp) {
			r->stats.oom++;
			conn_close_early(c);
			return NULL;
		}
	}
	return c;
}

static void l4_accept(void *state, unsigned listener, int fd)
{
	struct l4_shard *sh = state;
	struct l4_conn *c = conn_open(sh, listener, fd);

	if (!c)
		return;
	/* TCP_NODELAY comes from the listener (rp__listen_socket()). */
	if (c->lis->accept_proxy) {
		c->phase = L4_HEADER;
		c->pp_deadline = sh->r->now_ms + c->lis->proxy_timeout_ms;
		conn_recv_header(c);
		return;
	}
	if (c->lis->nsni) {
		conn_sni_start(c, 0);
		return;
	}
	conn_client_known(c, 0);
}

/* A client whose TLS handshake is done (tls_front.c); the conn takes @tls
 * (userspace records; NULL when the kernel has them) and @early. */
static void l4_accept_tls(void *state, unsigned listener, int fd, struct rp_tls *tls,
			  uint8_t *early, unsigned nearly)
{
	struct l4_shard *sh = state;
	struct l4_conn *c = conn_open(sh, listener, fd);

	if (!c) {
		rp__tls_free(tls);
		free(early);
		return;
	}
	c->tls = tls;
	c->ktls = !tls;
	c->early = early;
	c->nearly = nearly;
	conn_client_known(c, 0);
}

static int l4_init(struct rp_reverse *rv, void **state)
{
	struct rp_reactor *r = rv->r;
	const struct rp_config *cfg = r->cfg;
	struct l4_shard *sh;
	int ret;

	sh = calloc(1, sizeof(*sh));
	if (!sh)
		return -ENOMEM;
	sh->r = r;
	sh->rv = rv;
	for (unsigned k = 0; k < cfg->nclusters; k++)
		if (cfg->clusters[k].send_proxy)
			sh->pp_on = true;
	for (unsigned i = 0; i < cfg->nlisteners; i++)
		if (cfg->listeners[i].accept_proxy)
			sh->pp_on = true;
	ret = rp__pool_init(&sh->conns, sizeof(struct l4_conn), cfg->max_conns);
	if (ret < 0)
		goto fail_free;
	if (sh->pp_on) {
		ret = rp__pool_init(&sh->ppbufs,
				    sizeof(struct l4_ppbuf) + L4_PP_ROOM + L4_PP_IN,
				    cfg->max_conns);
		if (ret < 0)
			goto fail_destroy_conns;
	}
	*state = sh;
	return 0;

fail_destroy_conns:
	rp__pool_destroy(&sh->conns);
fail_free:
	free(sh);
	return ret;
}

static void l4_stop(void *state)
{
	struct l4_shard *sh = state;
	struct rp_reactor *r = sh->r;
	struct l4_conn *c = sh->list, *next;

	for (; c; c = next) {
		next = c->next;
		if (c->phase == L4_TUNNEL && c->tt) {
			rp__tls_tunnel_abort(c->tt); /* may free c */
		} else if (c->phase == L4_BACKEND_TLS) {
			rp__tls_hs_abort(&c->bhs); /* may free c */
		} else if (c->phase == L4_TUNNEL) {
			rp__tunnel_abort(&c->t); /* may free c */
		} else {
			/* The cancelled op settles and, the reactor stopping,
			 * closes the client. */
			struct io_uring_sqe *sqe = rp__reactor_sqe(r);
			struct rp_op *op = c->phase == L4_HEADER || c->phase == L4_SNI
						   ? &c->pp_recv_op
					   : c->phase == L4_PREAMBLE ? &c->pp_send_op
					   : c->phase == L4_EARLY    ? &c->early_send_op
								     : &c->connect_op;

			io_uring_prep_cancel(sqe, op, 0);
			io_uring_sqe_set_data64(sqe, 0);
		}
	}
}

static void l4_fini(void *state)
{
	struct l4_shard *sh = state;

	if (sh->pp_on)
		rp__pool_destroy(&sh->ppbufs);
	rp__pool_destroy(&sh->conns);
	free(sh);
}

const struct rp_reverse_half rp__l4_half = {
	.init = l4_init,
	.accept = l4_accept,
	.accept_tls = l4_accept_tls,
	.stop = l4_stop,
	.fini = l4_fini,
};

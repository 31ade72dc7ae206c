// SPDX-License-Identifier: BSD-2-Clause
/*
 * l7.c - the HTTP/1.1 half of the reverse proxy.
 *
 * A client connection reads one request head into its input buffer, parses
 * it strictly (engine/http/), routes it to a cluster, and runs one exchange
 * with a backend connection taken from that backend's per-reactor idle pool
 * or connected afresh. An exchange has two directions, each with at most one
 * operation in flight:
 *
 *   up    the re-serialized request head, then the request body as it
 *         arrives from the client (Content-Length or chunked, the chunked
 *         framing checked by the decoder and forwarded as received);
 *   down  the backend's response: interim 1xx relayed, the final head
 *         parsed as strictly as requests and re-serialized, then the body,
 *         framed as the backend framed it (de-chunked for HTTP/1.0 clients).
 *
 * Pipelined requests wait in the input buffer: nothing is read from the
 * client past the current request until its response is complete, so
 * responses go out in order. When both directions are done the backend
 * connection goes back to its pool (if the response allows it), an access
 * log line is queued, and the next request is parsed.
 *
 * Idle costs nothing but a small record: a client with no bytes to parse
 * (before its first, or between requests with nothing pipelined) gives its
 * buffers and its l7_conn back to the pools and waits as a struct l7_park
 * (descriptor, deadline, listener, request count, address, TLS state) with
 * one operation out, a recv into the reactor's provided-buffer ring or a
 * poll; a connection is taken again when bytes come (conn_wait()).
 *
 * Failing: before a response byte reached the client, the client gets our
 * own status (502 bad response, 503 no backend, 504 backend timeout, 408 slow
 * client); after, both connections are reset. A request is retried on a
 * fresh connection to another backend when nothing of the response arrived
 * and it is idempotent or none of it was sent (connect failures).
 *
 * Teardown: every SQE of a connection, on either socket, is counted in
 * c->inflight. To fail, retry or close, the connection cancels what is in
 * flight and acts once the count is back to zero ("quiescing"), so no
 * completion ever finds freed memory or a reused descriptor.
 */
#define _GNU_SOURCE /* POLLRDHUP */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/alog.h"
#include "forward/forward.h"
#include "net/dns.h"
#include "http/http.h"
#include "net/net.h"
#include "proxyproto/proxyproto.h"
#include "reverse/limits.h"
#include "reverse/reverse.h"
#include "tls/hs.h"
#include "tls/tls.h"
#include "tunnel/tls_tunnel.h"
#include "tunnel/tunnel.h"

/* How long a closing connection keeps reading (and dropping) what the client
 * still sends, so that our last response is not destroyed by a reset. */
#define L7_LINGER_MS 2000
/* Free buffers a reactor keeps for the next burst; above, they go back. */
#define L7_BUFS_KEEP 64
/* The most plaintext one TLS record carries. */
#define L7_TLS_RECORD 16384

struct l7_shard;
struct l7_conn;

/*
 * One side's TLS with the records in userspace (a client of a TLS listener,
 * or a backend connection that re-encrypts). Its recvs take ciphertext
 * into t's in buffer and decrypt into the side's own buffer; when something
 * is readable already (whole records, or bytes BoringSSL decrypted past a
 * smaller read), a NOP stands in for the recv, so that the completion logic
 * is the same as without TLS. Its sends encrypt into t's out buffer and
 * complete, for the code that made them, once all of it went, reporting
 * the plaintext.
 */
struct l7_tls {
	struct rp_tls *t; /* NULL: plain, or kTLS */
	bool nop;	  /* the recv in flight is a NOP */
	bool eof;	  /* the socket said EOF */
	unsigned plain;	  /* plaintext of the send in flight */
};

/* Preps @sqe as the side's recv. */
static void tls_prep_recv(struct l7_tls *x, struct io_uring_sqe *sqe, int fd)
{
	unsigned room;
	uint8_t *p;

	if (rp__tls_readable(x->t) || x->eof) {
		io_uring_prep_nop(sqe);
		x->nop = true;
		return;
	}
	p = rp__tls_in_room(x->t, &room);
	io_uring_prep_recv(sqe, fd, p, room, 0);
}

/*
 * The recv's CQE: decrypts into @dst. false when more ciphertext is needed
 * (the caller receives again); true with *@res the plaintext bytes (0: EOF
 * or close_notify; <0: an error).
 */
static bool tls_recv_done(struct l7_tls *x, int *res, char *dst, unsigned cap)
{
	int n;

	if (x->nop)
		x->nop = false;
	else if (*res > 0)
		rp__tls_in_commit(x->t, (unsigned)*res);
	else if (*res == 0)
		x->eof = true;
	else
		return true;
	n = rp__tls_read(x->t, dst, cap);
	if (n > 0) {
		*res = n;
		return true;
	}
	if (n == RP_TLS_WANT && !x->eof)
		return false;
	/* close_notify, EOF (a truncation is ended like one), or bad records. */
	*res = n == RP_TLS_WANT || n == RP_TLS_CLOSED ? 0 : -EPROTO;
	return true;
}

/*
 * Preps @sqe as the side's send of @iov: encrypted first, unless the
 * ciphertext of an earlier attempt is still being sent (a short send, or a
 * poll for room): then that goes on.
 */
static void tls_prep_send(struct l7_tls *x, struct io_uring_sqe *sqe, int fd,
			  const struct iovec *iov, unsigned n)
{
	static __thread uint8_t one[L7_TLS_RECORD]; /* the reactor's */
	struct iovec single;
	const uint8_t *p;
	unsigned len = 0;

	if (!x->plain) {
		for (unsigned i = 0; i < n; i++)
			len += (unsigned)iov[i].iov_len;
		if (n > 1 && len <= sizeof(one)) {
			/* A head and a small body: one record, not two. */
			len = 0;
			for (unsigned i = 0; i < n; i++) {
				memcpy(one + len, iov[i].iov_base, iov[i].iov_len);
				len += (unsigned)iov[i].iov_len;
			}
			single.iov_base = one;
			single.iov_len = len;
			iov = &single;
			n = 1;
		}
		for (unsigned i = 0; i < n; i++) {
			if (rp__tls_write(x->t, iov[i].iov_base,
					  (unsigned)iov[i].iov_len) < 0) {
				/* Out of memory: the NOP's 0 ends the connection. */
				io_uring_prep_nop(sqe);
				return;
			}
		}
		x->plain = len;
	}
	p = rp__tls_out(x->t, &len);
	io_uring_prep_send(sqe, fd, p, len, MSG_NOSIGNAL);
}

/* The send's CQE: false while ciphertext remains (the caller sends again);
 * true with *@res the plaintext sent, or an error. */
static bool tls_send_done(struct l7_tls *x, int *res)
{
	unsigned len;

	if (*res <= 0) {
		/* A NOP (encrypting failed) or an error; on -EAGAIN the same
		 * ciphertext is sent again after a poll. */
		if (*res == 0)
			*res = -EPIPE;
		return true;
	}
	rp__tls_out_consumed(x->t, (unsigned)*res);
	rp__tls_out(x->t, &len);
	if (len)
		return false;
	*res = (int)x->plain;
	x->plain = 0;
	return true;
}

/* A backend connection: attached to a client's exchange, or idle in its
 * backend's pool (watched by a poll that notices the backend closing it). */
struct l7_bconn {
	struct l7_shard *sh;
	struct rp_backend *be;
	int fd;
	unsigned requests;
	bool idle;
	bool poll_pending; /* the idle poll's CQE is due */
	bool closing;	   /* free once the poll's CQE is in */
	struct l7_bconn *next, **pprev;
	struct rp_timer idle_timer;
	struct rp_op poll_op;
	/* TLS towards the backend (the cluster's tls): the kernel has the
	 * records (ktls), or tls.t does them here, kept with the connection
	 * in the pool. */
	struct l7_tls tls;
	bool ktls;
};

enum l7_phase {
	C_HEAD,	  /* reading a request head (or waiting for one) */
	C_XCHG,	  /* an exchange with a backend */
	C_ERROR,  /* sending our own response, then closing */
	C_LINGER, /* write side shut, dropping input until EOF or the timer */
	C_TUNNEL, /* upgraded: the tunnel owns both sockets */
};

enum l7_timer {
	T_NONE,
	T_KEEPALIVE, /* no byte of the next request yet */
	T_HEADER,    /* request head incomplete */
	T_XCHG,	     /* backend response and client body deadlines */
	T_LINGER,
};

enum l7_action {
	A_NONE,
	A_FAIL,	  /* answer fail_status (0: reset the client) */
	A_RETRY,  /* connect to another backend and send again */
	A_CLOSE,  /* close both, quietly */
	A_LINGER, /* the response is out: close the backend, linger on the client */
};

struct l7_conn {
	struct rp_tunnel t; /* first: zeroed with the conn; after a 101 */
	struct l7_shard *sh;
	const struct rp_listener_config *lis;
	struct l7_conn *next, **pprev;
	int cfd;
	enum l7_phase phase;
	unsigned inflight;
	enum l7_action action; /* set while quiescing */
	uint16_t fail_status;
	bool quiescing;
	bool pp_wait; /* expecting a PROXY protocol header first */

	/* client input: [0, hlen) the current head, [fwd, scan) body bytes
	 * framed and ready to forward, [scan, ilen) unread or the next request */
	char *ibuf;
	char *obuf; /* serialized heads: the request's, then the response's */
	char *rbuf; /* backend input */
	unsigned ilen, hlen, fwd, scan;

	/* the client */
	struct sockaddr_storage peer, local;
	socklen_t peer_len;
	bool peer_known;
	unsigned nreq;

	/* the request */
	enum rp_http_method method;
	uint8_t minor;
	bool req_keep_alive;
	bool upgrade_req;
	bool idempotent;
	enum rp_http_body req_body;
	uint64_t req_left; /* Content-Length bytes not yet scanned */
	uint64_t req_body_bytes;
	struct rp_http_chunked req_ck;
	bool req_scanned; /* the whole body is in [fwd, scan) or sent */
	bool body_kept;	  /* every body byte sent is still in ibuf (retry) */
	struct rp_http_span log_method, log_target, log_host, log_referer, log_ua;
	char upgrade_val[64];
	uint64_t start_ms, start_wall_ms;

	/* the backend side */
	struct rp_cluster *cl; /* a forward listener's: its synthetic cluster */
	struct rp_backend *be; /* the target: its idle pool, its name */
	int backend;	       /* picked, not yet released; or -1 (origins) */
	/* forward listeners: the origin of an absolute-form request */
	bool fwd_mode;
	struct l7_origin *origin;
	struct rp_dns_query *q;
	struct rp_auth_wait auth; /* its credentials' verdict (forward.h) */
	bool over_rate;		  /* 429: the client's request rate (limits.h) */
	bool auth_poll;		  /* auth_poll_op watches the client meanwhile */
	struct sockaddr_storage oaddrs[RP_DNS_MAX_ADDRS]; /* allowed, port set */
	unsigned onaddr, onext;
	char ohost[256]; /* the target's host, brackets removed */
	uint16_t oport;
	bool onamed;	     /* an allow rule names it: the SSRF guard lets it by */
	int oparent;	     /* the listener's parent: 0 none, 1 http, 2 socks5 */
	uint8_t fail_kind;   /* enum rp_fwd_fail: why the origin was not reached */
	int fail_err;	     /* and its -errno (dns.h statuses for DNS) */
	const char *log_why; /* during conn_log(): the log's error field */
	char xff_ip[RP_ADDRSTRLEN];
	struct l7_bconn *b;
	bool b_reused;
	unsigned attempts;
	uint64_t tried[(RP_MAX_BACKENDS + 63) / 64];
	uint64_t hash;
	bool have_hash;
	unsigned connect_pending;
	int connect_res;
	bool connect_timed_out;
	struct __kernel_timespec ts;

	/* up: our PROXY header [ppoff, pplen) on a new connection, the head in
	 * obuf [ooff, olen), then ibuf [fwd, scan) */
	uint8_t pphdr[RP_PP_BUILD_MAX];
	unsigned pplen, ppoff;
	unsigned olen, ooff;
	unsigned up_len; /* body bytes in the send in flight */
	bool up_busy, up_head_sent, up_done;

	/* down: rbuf [roff, rw) ready to send, [rscan, rlen) not yet framed */
	unsigned rlen, roff, rw, rscan;
	unsigned hsend_len, hsend_off; /* response head in obuf */
	bool down_busy, down_recv_busy, down_done;
	bool down_started;   /* the first response recv was armed */
	bool gather;	     /* hold a small response until all of it is in */
	bool resp_head_done; /* the final head arrived */
	bool resp_started;   /* a byte of the response reached the client */
	bool interim;	     /* sending a 1xx; parse again after */
	uint16_t status;
	enum rp_http_body resp_body;
	uint64_t resp_left;
	struct rp_http_chunked resp_ck;
	bool dechunk;
	bool resp_keep_alive; /* the backend connection may carry another */
	bool client_close;    /* close the client after this response */
	uint64_t bytes_out;   /* to the client, for the log */

	/* deadlines (ms) of T_XCHG */
	uint64_t b_active, c_active;
	bool c_waiting; /* a client body recv is pending */

	/* bodies of a known length over the threshold: [0] up, [1] down */
	struct l7_splice {
		bool on;
		bool have_pipe;
		struct rp_pipe pipe;
		unsigned bytes; /* in the pipe */
		uint64_t left;	/* still to read from the source */
	} sp[2];

	enum l7_timer tkind;
	struct rp_timer timer;

	/* A client of a TLS listener: the kernel has its records (ktls), or
	 * ctls.t does them here. */
	struct l7_tls ctls;
	bool ktls;
	struct rp_tls_tunnel *tt; /* after a 101, with userspace TLS */
	struct rp_tls_hs bhs;	  /* the backend connection's handshake */

	bool crecv_busy, csend_busy, crecv_poll, csend_poll, bsend_poll, brecv_poll;
	struct iovec up_iov[3], down_iov[2];
	struct msghdr up_msg, down_msg;
	struct rp_op crecv_op, csend_op, bconn_op, btimeout_op, bsend_op, brecv_op,
		shut_op, auth_poll_op;
};

/*
 * An idle client connection (before its first byte, or between requests)
 * while its l7_conn is back in the pool: what must survive until bytes come.
 * It has one operation out (@busy): a plain client a recv into the reactor's
 * provided-buffer ring, which takes a buffer only when bytes arrive (they
 * are copied to the input buffer of a connection taken from the pool again,
 * park_take(), and the ring buffer goes back at once); a TLS client, or any
 * when the ring is empty, a poll, after which the connection receives as
 * usual. Its deadline is the connection's timer of the same kind; when it
 * fires (or draining closes idle clients) the operation is cancelled, and
 * what was decided happens once its completion is in.
 */
struct l7_park {
	struct rp_op op;
	struct rp_timer timer;
	struct l7_shard *sh;
	const struct rp_listener_config *lis;
	struct l7_park *next, **pprev; /* sh->parked */
	struct rp_tls *tls;	       /* userspace TLS (records and keys) */
	int fd;
	unsigned nreq; /* for max_requests */
	uint8_t tkind; /* enum l7_timer of the deadline */
	uint8_t end;   /* enum park_end: decided while the poll was out */
	bool busy;     /* the recv or poll is in flight */
	bool ring;     /* it is a recv into the buffer ring */
	bool pp_wait, ktls, peer_known;
	socklen_t peer_len;
	/* the client's address, as PROXY told it or as asked once: IPv4 or
	 * IPv6 only (a longer one is asked again) */
	struct sockaddr_in6 peer, local;
};

enum park_end {
	PARK_WAIT,
	PARK_TIMER, /* the deadline fired: act as the connection's timer */
	PARK_CLOSE, /* draining or stopping: close */
};

/* A forward proxy's origin ("host:port"): a backend made on demand, with its
 * own idle pool, kept for the reactor's life (at most L7_MAX_ORIGINS; later
 * ones share one origin that pools nothing). */
#define L7_MAX_ORIGINS	  4096
#define L7_ORIGIN_BUCKETS 1024
struct l7_origin {
	struct rp_backend be; /* be.cl: the listener's synthetic cluster */
	struct l7_origin *hnext;
	uint64_t hash;
	char key[262]; /* "host:port" */
};

struct l7_shard {
	struct rp_reactor *r;
	struct rp_reverse *rv;
	/* forward listeners: a synthetic cluster each (timeouts, pool
	 * settings), the origins, and the one that pools nothing */
	struct rp_cluster *fcl[RP_MAX_LISTENERS];
	struct rp_cluster_config *fcfg[RP_MAX_LISTENERS];
	struct l7_origin *otab[L7_ORIGIN_BUCKETS];
	unsigned norigins;
	struct l7_origin nopool;
	struct rp_cluster nopool_cl;
	struct rp_cluster_config nopool_cfg;
	struct rp_pool conns;
	struct rp_pool bconns;
	struct rp_pool bufs;
	struct rp_pool parks;
	unsigned bufsz;
	struct l7_conn *list;
	struct l7_park *parked;
	struct rp_alog *alog;
	/* Scratch: a head is parsed and used within one callback. */
	struct rp_http_request req;
	struct rp_http_response resp;
	char logline[4096];
};

static void conn_settle(struct l7_conn *c);
static void conn_quiesce(struct l7_conn *c, enum l7_action a, uint16_t status);
static void up_run(struct l7_conn *c);
static void down_recv(struct l7_conn *c);
static void down_send(struct l7_conn *c);
static void head_try(struct l7_conn *c);
static void client_recv(struct l7_conn *c);
static void xchg_start_backend(struct l7_conn *c);
static void fwd_resolve(struct l7_conn *c);
static int fwd_head(struct l7_conn *c, struct rp_http_request *req,
		    struct rp_http_field *extra, unsigned *nx);
static bool splice_start(struct l7_conn *c, int d, uint64_t left);
static void splice_run(struct l7_conn *c, int d);
static void splice_ready(struct l7_conn *c, int d, int res);

/* ---- helpers ------------------------------------------------------------- */

static struct io_uring_sqe *c_sqe(struct l7_conn *c, struct rp_op *op)
{
	struct io_uring_sqe *sqe = rp__reactor_sqe(c->sh->r);

	io_uring_sqe_set_data(sqe, op);
	c->inflight++;
	return sqe;
}

static void timer_set(struct l7_conn *c, enum l7_timer kind, uint64_t at)
{
	c->tkind = kind;
	rp__timer_arm(&c->sh->r->wheel, &c->timer, at);
}

static char *buf_get(struct l7_shard *sh)
{
	return rp__pool_get(&sh->bufs);
}

static void buf_put(struct l7_shard *sh, char **b)
{
	if (*b) {
		rp__pool_put(&sh->bufs, *b);
		*b = NULL;
	}
}

static bool span_eq(const char *buf, struct rp_http_span s, const char *str)
{
	size_t n = strlen(str);

	return s.len == n && !strncasecmp(buf + s.off, str, n);
}

/* ---- backend connections and their pools ---------------------------------- */

static void bconn_free(struct l7_bconn *b)
{
	rp__tls_free(b->tls.t);
	b->tls.t = NULL;
	rp__pool_put(&b->sh->bconns, b);
}

/*
 * An idle TLS backend connection became readable: a TLS 1.3 server sends
 * its session tickets after the handshake, possibly after the response.
 * true when only such records came (the connection stays pooled).
 */
static bool bconn_tls_idle_read(struct l7_bconn *b)
{
	uint8_t scratch[256];
	unsigned room;
	ssize_t n;
	int ret;

	if (b->ktls) {
		n = recv(b->fd, scratch, sizeof(scratch), MSG_PEEK | MSG_DONTWAIT);
		if (n < 0 && errno == EIO)
			return rp__ktls_control(b->fd) == 1;
		return n < 0 && errno == EAGAIN;
	}
	for (;;) {
		uint8_t *p = rp__tls_in_room(b->tls.t, &room);

		if (!room)
			return false;
		n = recv(b->fd, p, room, MSG_DONTWAIT);
		if (n > 0) {
			rp__tls_in_commit(b->tls.t, (unsigned)n);
			continue;
		}
		if (n < 0 && errno == EAGAIN)
			break;
		return false;
	}
	ret = rp__tls_read(b->tls.t, scratch, sizeof(scratch));
	return ret == RP_TLS_WANT;
}

static void bconn_unidle(struct l7_bconn *b)
{
	if (!b->idle)
		return;
	b->idle = false;
	*b->pprev = b->next;
	if (b->next)
		b->next->pprev = b->pprev;
	b->be->nidle--;
	rp__timer_cancel(&b->sh->r->wheel, &b->idle_timer);
}

/* Closes @b; @reset for a connection left mid-message. */
static void bconn_close(struct l7_bconn *b, bool reset)
{
	struct rp_reactor *r = b->sh->r;

	bconn_unidle(b);
	if (b->poll_pending) {
		struct io_uring_sqe *sqe = rp__reactor_sqe(r);

		io_uring_prep_cancel(sqe, &b->poll_op, 0);
		io_uring_sqe_set_data64(sqe, 0);
		b->closing = true;
	}
	rp__reactor_close(r, b->fd, reset);
	b->fd = -1;
	/* Now, not with the bconn: a poll's CQE may never come at exit. */
	rp__tls_free(b->tls.t);
	b->tls.t = NULL;
	if (!b->poll_pending)
		bconn_free(b);
}

static void bconn_park(struct l7_bconn *b);

static void bconn_poll_cqe(struct rp_op *op, int res, uint32_t flags)
{
	struct l7_bconn *b = rp_container_of(op, struct l7_bconn, poll_op);

	b->poll_pending = false;
	if (b->closing) {
		bconn_free(b);
		return;
	}
	if (!b->idle)
		return; /* busy: the response made it readable */
	/* Readable while idle: the backend closed it, or sent what nobody
	 * asked for, or this is the late completion of a poll that saw the
	 * last response. Only the last is harmless: ask the socket. */
	if (res >= 0) {
		char byte;
		ssize_t n = b->tls.t || b->ktls
				    ? (bconn_tls_idle_read(b) ? -1 : 0)
				    : recv(b->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);

		if (n < 0 && (b->tls.t || b->ktls || errno == EAGAIN)) {
			bconn_unidle(b);
			bconn_park(b); /* a fresh poll */
			return;
		}
	}
	bconn_close(b, false);
}

static void bconn_idle_expired(struct rp_timer *t, uint64_t now)
{
	bconn_close(rp_container_of(t, struct l7_bconn, idle_timer), false);
}

static void bconn_park(struct l7_bconn *b)
{
	struct rp_backend *be = b->be;
	struct rp_reactor *r = b->sh->r;
	struct io_uring_sqe *sqe;

	b->idle = true;
	b->next = be->idle;
	if (b->next)
		b->next->pprev = &b->next;
	b->pprev = &be->idle;
	be->idle = b;
	be->nidle++;
	rp__timer_arm(&r->wheel, &b->idle_timer,
		      r->now_ms + be->cl->cfg->pool_idle_timeout_ms);
	/* A poll armed for an earlier idle spell may still be waiting: the
	 * response it saw was read before the poll could complete, so the
	 * kernel kept it armed. It watches this spell just as well. */
	if (b->poll_pending)
		return;
	sqe = rp__reactor_sqe(r);
	io_uring_prep_poll_add(sqe, b->fd, POLLIN | POLLRDHUP);
	io_uring_sqe_set_data(sqe, &b->poll_op);
	b->poll_pending = true;
}

/* Takes an idle connection to @be, or NULL. The idle poll stays armed: if
 * it completes while the connection is busy, the completion is ignored. */
static struct l7_bconn *bconn_take(struct rp_backend *be)
{
	struct l7_bconn *b = be->idle;

	if (b)
		bconn_unidle(b);
	return b;
}

static void pools_close(struct l7_shard *sh)
{
	struct rp_reverse *rv = sh->rv;

	for (unsigned k = 0; k < L7_ORIGIN_BUCKETS; k++)
		for (struct l7_origin *o = sh->otab[k]; o; o = o->hnext)
			while (o->be.idle)
				bconn_close(o->be.idle, false);

	for (unsigned k = 0; k < rv->ncl; k++)
		for (unsigned i = 0; i < rv->cl[k].cfg->nbackends; i++)
			while (rv->cl[k].be[i].idle)
				bconn_close(rv->cl[k].be[i].idle, false);
}

/* ---- the client connection ---------------------------------------------- */

/* The object goes back to the pool with what it holds but its descriptor
 * and its TLS state: those are the caller's (conn_free(), or parking). */
static void conn_release(struct l7_conn *c)
{
	struct l7_shard *sh = c->sh;

	for (int d = 0; d < 2; d++)
		if (c->sp[d].have_pipe)
			rp__pipe_put(&sh->r->pipes, &c->sp[d].pipe, c->sp[d].bytes == 0);

	rp__timer_cancel(&sh->r->wheel, &c->timer);
	free(c->tt);
	buf_put(sh, &c->ibuf);
	buf_put(sh, &c->obuf);
	buf_put(sh, &c->rbuf);
	if (c->pprev) {
		*c->pprev = c->next;
		if (c->next)
			c->next->pprev = c->pprev;
	}
	rp__pool_put(&sh->conns, c);
}

static void conn_free(struct l7_conn *c)
{
	struct rp_reactor *r = c->sh->r;

	rp__tls_free(c->ctls.t);
	c->ctls.t = NULL;
	conn_release(c);
	rp__reactor_conn_closed(r);
}

static void backend_release(struct l7_conn *c, bool failed)
{
	if (c->backend >= 0) {
		rp__balance_release(&c->cl->lb, c->backend, failed);
		c->backend = -1;
	}
}

/* The client's address, asked once (multishot accept gives none). */
static bool conn_peer(struct l7_conn *c)
{
	if (!c->peer_known) {
		socklen_t ll = sizeof(c->local);

		c->peer_len = sizeof(c->peer);
		if (getpeername(c->cfd, (struct sockaddr *)&c->peer, &c->peer_len) < 0 ||
		    getsockname(c->cfd, (struct sockaddr *)&c->local, &ll) < 0)
			return false;
		c->peer_known = true;
	}
	return true;
}

static void tunnel_done(struct rp_tunnel *t, enum rp_tunnel_end how)
{
	struct l7_conn *c = rp_container_of(t, struct l7_conn, t);

	backend_release(c, false);
	conn_free(c);
}

static void conn_timer_fired(struct rp_timer *t, uint64_t now);

static void tls_tunnel_done(struct rp_tls_tunnel *tt, enum rp_tunnel_end how)
{
	struct l7_conn *c = tt->done_arg;

	backend_release(c, false);
	conn_free(c);
}

/* A clean end of a TLS client: our close_notify before the FIN (a tiny
 * non-blocking send; if the socket is full the peer sees a plain EOF). */
static void fd_close_notify(int fd, bool ktls, struct rp_tls *t)
{
	const uint8_t *p;
	unsigned len;

	if (ktls) {
		rp__ktls_close_notify(fd);
		return;
	}
	if (!t)
		return;
	rp__tls_close_notify(t);
	p = rp__tls_out(t, &len);
	if (len)
		(void)send(fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static void tls_close_notify(struct l7_conn *c)
{
	fd_close_notify(c->cfd, c->ktls, c->ctls.t);
}

static void conn_close_now(struct l7_conn *c, bool reset)
{
	RP_BUG_ON(c->inflight);
	if (c->b) {
		bconn_close(c->b, true);
		c->b = NULL;
	}
	backend_release(c, false);
	if (!reset)
		tls_close_notify(c);
	rp__reactor_close(c->sh->r, c->cfd, reset);
	conn_free(c);
}

/* ---- access log ------------------------------------------------------------ */

static void conn_log(struct l7_conn *c)
{
	struct l7_shard *sh = c->sh;
	struct rp_reactor *r = sh->r;
	const char *b = c->ibuf;
	struct rp_alog_entry e = {0};
	size_t n;

	if (!sh->alog)
		return;
	conn_peer(c);
	e.client = c->peer_known ? (struct sockaddr *)&c->peer : NULL;
	e.client_len = c->peer_len;
	e.status = c->status;
	e.bytes_sent = c->bytes_out;
	e.tls = c->ktls ? "ktls" : c->ctls.t ? "userspace" : NULL;
	e.error = c->log_why;
	if (!c->hlen) {
		/* Refused before a head could be read (400, 408, 431...):
		 * logged without a request line, as nginx does. */
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME_COARSE, &ts);
		e.start_ms_epoch =
			(uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
		goto write;
	}
	e.start_ms_epoch = c->start_wall_ms;
	e.method = b + c->log_method.off;
	e.method_len = c->log_method.len;
	e.target = b + c->log_target.off;
	e.target_len = c->log_target.len;
	e.minor = c->minor;
	if (c->log_referer.len) {
		e.referer = b + c->log_referer.off;
		e.referer_len = c->log_referer.len;
	}
	if (c->log_ua.len) {
		e.user_agent = b + c->log_ua.off;
		e.user_agent_len = c->log_ua.len;
	}
	if (c->log_host.len) {
		e.host = b + c->log_host.off;
		e.host_len = c->log_host.len;
	}
	e.duration_us = (r->now_ms - c->start_ms) * 1000;
	if (c->cl) {
		e.cluster = c->cl->cfg->name;
		if (c->be)
			e.backend =
				c->fwd_mode && c->origin ? c->origin->key : c->be->addr;
	}
write:
	n = rp__alog_format(r->cfg->access_log_format, &e, sh->logline,
			    sizeof(sh->logline));
	if (!n || !rp__alog_write(sh->alog, r->id, sh->logline, n))
		r->stats.log_drops++;
}

static void count_status(struct l7_conn *c)
{
	if (c->status >= 100 && c->status < 600)
		c->sh->r->stats.responses[c->status / 100]++;
}

/* ---- our own responses and closing ----------------------------------------- */

static void linger_start(struct l7_conn *c);

static void csend_cqe(struct rp_op *op, int res, uint32_t flags);

/* Sends obuf [hsend_off, hsend_len) to the client (our own response). */
static void error_send(struct l7_conn *c)
{
	struct io_uring_sqe *sqe;
	struct iovec iov = {c->obuf + c->hsend_off, c->hsend_len - c->hsend_off};

	sqe = c_sqe(c, &c->csend_op);
	if (c->ctls.t)
		tls_prep_send(&c->ctls, sqe, c->cfd, &iov, 1);
	else
		io_uring_prep_send(sqe, c->cfd, iov.iov_base, iov.iov_len, MSG_NOSIGNAL);
	c->csend_busy = true;
}

static unsigned response_timeout(const struct l7_conn *c);

/* A forward listener's failure to reach the origin, in words (forward.h). */
static void fwd_why(const struct l7_conn *c, char *out, size_t cap)
{
	const struct rp_forward_config *f = &c->lis->fwd;
	enum rp_fwd_fail kind = (enum rp_fwd_fail)c->fail_kind;
	const struct sockaddr *a =
		kind == RP_FWD_FAIL_CONNECT && c->onext
			? (const struct sockaddr *)&c->oaddrs[c->onext - 1]
		: c->oparent == 1 ? (const struct sockaddr *)&c->oaddrs[0]
				  : NULL;

	rp__forward_fail_text(out, cap, kind, c->fail_err, c->ohost, c->oport, a,
			      c->oparent == 1,
			      kind == RP_FWD_FAIL_DNS	    ? f->dns_timeout_ms
			      : kind == RP_FWD_FAIL_CONNECT ? f->connect_timeout_ms
							    : response_timeout(c));
}

/* Answers @status and closes. Nothing may be in flight. */
static void conn_answer(struct l7_conn *c, unsigned status)
{
	char why[320];
	int n;

	RP_BUG_ON(c->inflight);
	if (c->b) {
		bconn_close(c->b, true);
		c->b = NULL;
	}
	if (!c->obuf)
		c->obuf = buf_get(c->sh);
	if ((status == 429 || status == 503) && c->auth.retry_after_s && c->obuf) {
		/* A blocked address, or too many password checks queued. */
		c->log_why = c->over_rate    ? "too many requests from this address"
			     : status == 429 ? "too many failed logins from this address"
					     : "too many password checks waiting";
		n = snprintf(c->obuf, c->sh->bufsz,
			     "HTTP/1.1 %u %s\r\nRetry-After: %u\r\n"
			     "Content-Type: text/plain\r\nContent-Length: %zu\r\n"
			     "Connection: close\r\n\r\n%u %s\n%s\n",
			     status, rp__http_reason(status), c->auth.retry_after_s,
			     strlen(rp__http_reason(status)) + 6 + strlen(c->log_why),
			     status, rp__http_reason(status), c->log_why);
	} else if (status == 407 && c->obuf) {
		static const char body[] = "407 Proxy Authentication Required\n";

		n = snprintf(c->obuf, c->sh->bufsz,
			     "HTTP/1.1 407 Proxy Authentication Required\r\n"
			     "Proxy-Authenticate: Basic realm=\"ringproxy\"\r\n"
			     "Content-Type: text/plain\r\nContent-Length: %zu\r\n"
			     "Connection: close\r\n\r\n%s",
			     sizeof(body) - 1, body);
	} else if (c->obuf && c->fwd_mode && c->fail_kind) {
		/* Which host, and what the DNS or the connect said. */
		fwd_why(c, why, sizeof(why));
		n = rp__http_error_response_why(status, true, why, c->obuf, c->sh->bufsz);
		c->log_why = why;
	} else {
		n = c->obuf ? rp__http_error_response(status, true, c->obuf, c->sh->bufsz)
			    : -1;
	}
	if (n <= 0) {
		conn_close_now(c, true);
		return;
	}
	c->status = (uint16_t)status;
	c->phase = C_ERROR;
	c->hsend_len = (unsigned)n;
	c->hsend_off = 0;
	c->bytes_out += (unsigned)n;
	count_status(c);
	conn_log(c);
	c->log_why = NULL;
	/* A client that does not read its error is not waited for long. */
	timer_set(c, T_LINGER, c->sh->r->now_ms + L7_LINGER_MS);
	error_send(c);
}

static void conn_fail(struct l7_conn *c, uint16_t status)
{
	conn_quiesce(c, A_FAIL, status);
}

/* A forward listener could not reach the origin: the answer says why. */
static void fwd_fail(struct l7_conn *c, enum rp_fwd_fail kind, int err)
{
	c->fail_kind = (uint8_t)kind;
	c->fail_err = err;
	conn_fail(c, (uint16_t)rp__forward_fail_status(kind, err));
}

/* The request rate per client (limits.h) of the listener, or of route
 * @route when >= 0: over it, 429 with Retry-After, and the connection
 * closes. */
static bool over_rate(struct l7_conn *c, int route)
{
	unsigned li = (unsigned)(c->lis - c->sh->r->cfg->listeners), retry_s;
	const struct sockaddr *client = conn_peer(c) ? (struct sockaddr *)&c->peer : NULL;
	struct rp_limits *l = c->sh->rv->limits;

	if (route < 0 ? rp__limits_request(l, li, client, c->sh->r->now_ms, &retry_s)
		      : rp__limits_route_request(l, (unsigned)route, client,
						 c->sh->r->now_ms, &retry_s))
		return false;
	c->over_rate = true;
	c->auth.retry_after_s = retry_s;
	conn_fail(c, 429);
	return true;
}

/* ---- timers --------------------------------------------------------------- */

/* How long the backend may be silent: a forward listener's HTTP parent has
 * parent_timeout to start its answer, as for a tunnel. */
static unsigned response_timeout(const struct l7_conn *c)
{
	if (c->fwd_mode && c->oparent == 1 && !c->resp_head_done)
		return c->lis->fwd.parent_timeout_ms;
	return c->cl->cfg->response_timeout_ms;
}

static void xchg_timer_arm(struct l7_conn *c)
{
	const struct l7_shard *sh = c->sh;
	uint64_t at = c->b_active + response_timeout(c);

	if (c->c_waiting) {
		uint64_t cat = c->c_active + c->lis->http.body_timeout_ms;

		if (cat < at)
			at = cat;
	}
	if (!rp__timer_armed(&c->timer) || c->tkind != T_XCHG || c->timer.expires != at)
		timer_set(c, T_XCHG, at);
	(void)sh;
}

static void conn_timer_fired(struct rp_timer *t, uint64_t now)
{
	struct l7_conn *c = rp_container_of(t, struct l7_conn, timer);
	struct rp_reactor *r = c->sh->r;

	switch (c->tkind) {
	case T_KEEPALIVE:
		conn_quiesce(c, A_CLOSE, 0);
		return;
	case T_HEADER:
		r->stats.header_timeouts++;
		conn_fail(c, 408);
		return;
	case T_XCHG:
		if (c->c_waiting && now >= c->c_active + c->lis->http.body_timeout_ms) {
			r->stats.header_timeouts++;
			conn_fail(c, 408);
			return;
		}
		if (now >= c->b_active + response_timeout(c)) {
			r->stats.backend_timeouts++;
			if (c->backend >= 0)
				rp__backend_failed(c->cl, c->backend,
						   "response timeouts");
			if (c->fwd_mode)
				fwd_fail(c, RP_FWD_FAIL_RESPONSE, -ETIMEDOUT);
			else
				conn_fail(c, 504);
			return;
		}
		xchg_timer_arm(c); /* activity moved a deadline */
		return;
	case T_LINGER:
		conn_quiesce(c, A_CLOSE, 0);
		return;
	case T_NONE:
		return;
	}
}

/* ---- quiescing: cancel what is in flight, act when it has settled ---------- */

static void conn_quiesce(struct l7_conn *c, enum l7_action a, uint16_t status)
{
	struct rp_reactor *r = c->sh->r;
	struct io_uring_sqe *sqe;

	if (c->quiescing) {
		/* A failure while retrying fails; anything else keeps the
		 * first decision. */
		if (c->action == A_RETRY && a != A_RETRY) {
			c->action = a;
			c->fail_status = status;
		}
		return;
	}
	if (a == A_FAIL && c->resp_started)
		status = 0; /* mid-response: reset, a status would corrupt it */
	if (c->q) {
		rp__dns_cancel(c->q); /* its callback will not run */
		c->q = NULL;
	}
	rp__fwd_auth_cancel(&c->auth); /* nor will this one's */
	c->quiescing = true;
	c->action = a;
	c->fail_status = status;
	rp__timer_cancel(&r->wheel, &c->timer);
	if (c->inflight) {
		if (c->crecv_busy || c->csend_busy || c->auth_poll) {
			sqe = rp__reactor_sqe(r);
			io_uring_prep_cancel_fd(sqe, c->cfd, IORING_ASYNC_CANCEL_ALL);
			io_uring_sqe_set_data64(sqe, 0);
		}
		if (c->b) {
			sqe = rp__reactor_sqe(r);
			io_uring_prep_cancel_fd(sqe, c->b->fd, IORING_ASYNC_CANCEL_ALL);
			io_uring_sqe_set_data64(sqe, 0);
		}
		return;
	}
	conn_settle(c);
}

/* Runs the pending action once nothing is in flight. */
static void conn_settle(struct l7_conn *c)
{
	enum l7_action a = c->action;

	if (!c->quiescing || c->inflight)
		return;
	c->quiescing = false;
	/* Whatever comes next, no body is moving any more. */
	c->sp[0].on = c->sp[1].on = false;
	c->action = A_NONE;
	switch (a) {
	case A_RETRY:
		c->sh->r->stats.retries++;
		if (c->b) {
			bconn_close(c->b, true);
			c->b = NULL;
		}
		backend_release(c, true);
		xchg_start_backend(c);
		return;
	case A_FAIL:
		if (c->b) {
			bconn_close(c->b, true);
			c->b = NULL;
		}
		backend_release(c, true);
		if (c->fail_status && !c->sh->r->stopping) {
			conn_answer(c, c->fail_status);
			return;
		}
		if (!c->resp_started && c->hlen) {
			c->status = 0;
			conn_log(c);
		}
		conn_close_now(c, true);
		return;
	case A_LINGER:
		backend_release(c, false);
		linger_start(c);
		return;
	case A_CLOSE:
	case A_NONE:
		conn_close_now(c, c->phase == C_XCHG);
		return;
	}
}

/* Every completion starts here: false when the connection is quiescing
 * (the caller returns after its own bookkeeping). */
static bool op_done(struct l7_conn *c)
{
	RP_BUG_ON(!c->inflight);
	c->inflight--;
	if (c->quiescing) {
		conn_settle(c);
		return false;
	}
	return true;
}

/* ---- closing gracefully -------------------------------------------------- */

static void shut_cqe(struct rp_op *op, int res, uint32_t flags)
{
	struct l7_conn *c = rp_container_of(op, struct l7_conn, shut_op);

	if (op_done(c))
		client_recv(c);
}

/* Our last response is out: shut our side and read until the client closes,
 * so its unread request bytes do not turn our FIN into a reset that could
 * destroy the response before the client read it. */
static void linger_start(struct l7_conn *c)
{
	struct rp_reactor *r = c->sh->r;
	struct io_uring_sqe *sqe;

	if (c->b) {
		bconn_close(c->b, true);
		c->b = NULL;
	}
	if (!c->ibuf) {
		conn_close_now(c, false);
		return;
	}
	c->phase = C_LINGER;
	c->ilen = 0;
	tls_close_notify(c);
	timer_set(c, T_LINGER, r->now_ms + L7_LINGER_MS);
	sqe = c_sqe(c, &c->shut_op);
	io_uring_prep_shutdown(sqe, c->cfd, SHUT_WR);
}

/* ---- reading from the client ---------------------------------------------- */

static void crecv_cqe(struct rp_op *op, int res, uint32_t flags);

/* @n bytes of a request head (or of a PROXY header) came to ibuf at ilen:
 * the head's deadline starts with its first byte. */
static void head_input(struct l7_conn *c, unsigned n)
{
	if (c->ilen == 0 && !c->pp_wait)
		timer_set(c, T_HEADER, c->sh->r->now_ms + c->lis->http.header_timeout_ms);
	c->ilen += n;
	head_try(c);
}

static void client_recv(struct l7_conn *c)
{
	struct io_uring_sqe *sqe = c_sqe(c, &c->crecv_op);

	if (!c->ibuf) {
		/* Idle (before a first byte, or between requests): a buffer is
		 * taken once the poll says bytes are there. */
		io_uring_prep_poll_add(sqe, c->cfd, POLLIN | POLLRDHUP);
		c->crecv_poll = true;
		c->crecv_busy = true;
		return;
	}
	if (c->ctls.t && !c->crecv_poll) {
		tls_prep_recv(&c->ctls, sqe, c->cfd);
		c->crecv_busy = true;
		return;
	}
	if (c->crecv_poll) {
		io_uring_prep_poll_add(sqe, c->cfd, POLLIN | POLLRDHUP);
	} else {
		if (c->phase == C_LINGER)
			c->ilen = 0;
		io_uring_prep_recv(sqe, c->cfd, c->ibuf + c->ilen, c->sh->bufsz - c->ilen,
				   0);
	}
	c->crecv_busy = true;
}

static void crecv_cqe(struct rp_op *op, int res, uint32_t flags)
{
	struct l7_conn *c = rp_container_of(op, struct l7_conn, crecv_op);
	struct rp_reactor *r = c->sh->r;

	c->crecv_busy = false;
	if (!op_done(c))
		return;
	if (c->ctls.t && !c->crecv_poll) {
		unsigned at = c->phase == C_LINGER ? 0 : c->ilen;

		if (!tls_recv_done(&c->ctls, &res, c->ibuf + at, c->sh->bufsz - at)) {
			client_recv(c);
			return;
		}
	}
	if (c->ktls && res == -EIO && !c->crecv_poll) {
		/* A control record: close_notify is EOF; skip what may be. */
		int ret = rp__ktls_control(c->cfd);

		if (ret == 1) {
			client_recv(c);
			return;
		}
		res = ret;
	}
	if (c->sp[0].on) {
		splice_ready(c, 0, res);
		return;
	}
	if (c->crecv_poll) {
		c->crecv_poll = false;
		if (res < 0) {
			conn_quiesce(c, A_CLOSE, 0);
			return;
		}
		if (!c->ibuf && !(c->ibuf = buf_get(c->sh))) {
			r->stats.oom++;
			conn_quiesce(c, A_CLOSE, 0);
			return;
		}
		client_recv(c);
		return;
	}
	if (res == -EAGAIN || res == -EINTR) {
		c->crecv_poll = res == -EAGAIN;
		client_recv(c);
		return;
	}
	switch (c->phase) {
	case C_LINGER:
		if (res <= 0)
			conn_quiesce(c, A_CLOSE, 0);
		else
			client_recv(c);
		return;
	case C_HEAD:
		if (res <= 0) {
			/* Gone between requests (or mid-head: nothing to
			 * answer to). */
			if (c->ilen && res == 0)
				r->stats.bad_requests++;
			conn_quiesce(c, A_CLOSE, 0);
			return;
		}
		head_input(c, (unsigned)res);
		return;
	case C_XCHG:
		c->c_waiting = false;
		if (res <= 0) {
			/* The client left mid-body: the backend cannot get a
			 * complete request. */
			conn_quiesce(c, A_FAIL, 0);
			return;
		}
		c->c_active = r->now_ms;
		c->ilen += (unsigned)res;
		up_run(c);
		return;
	case C_ERROR:
	case C_TUNNEL:
		RP_BUG_ON(1);
	}
}

/* ---- idle connections: parked ------------------------------------------------ */

static void conn_init(struct l7_conn *c, struct l7_shard *sh,
		      const struct rp_listener_config *lis, int fd);
static void park_cqe(struct rp_op *op, int res, uint32_t flags);
static void park_timer_fired(struct rp_timer *t, uint64_t now);

static void head_input(struct l7_conn *c, unsigned n);

/* Arms the parked connection's one operation: see struct l7_park. */
static void park_arm(struct l7_park *k)
{
	struct rp_reactor *r = k->sh->r;
	struct io_uring_sqe *sqe = rp__reactor_sqe(r);

	if (k->ring) {
		io_uring_prep_recv(sqe, k->fd, NULL, r->bufs.size, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = (uint16_t)r->bufs.bgid;
	} else {
		io_uring_prep_poll_add(sqe, k->fd, POLLIN | POLLRDHUP);
	}
	io_uring_sqe_set_data(sqe, &k->op);
	k->busy = true;
}

/* A ring buffer a completion handed over goes back. */
static void park_buf_back(struct rp_reactor *r, uint32_t flags)
{
	if (!(flags & IORING_CQE_F_BUFFER))
		return;
	rp__bufring_recycle(&r->bufs, flags >> IORING_CQE_BUFFER_SHIFT);
	rp__reactor_buffers_returned(r, 1);
}

static void park_free(struct l7_park *k)
{
	struct l7_shard *sh = k->sh;

	rp__timer_cancel(&sh->r->wheel, &k->timer);
	*k->pprev = k->next;
	if (k->next)
		k->next->pprev = k->pprev;
	rp__pool_put(&sh->parks, k);
}

/* Closes a parked connection whose poll is in (as conn_close_now()). */
static void park_close(struct l7_park *k, bool reset)
{
	struct rp_reactor *r = k->sh->r;

	RP_BUG_ON(k->busy);
	if (!reset)
		fd_close_notify(k->fd, k->ktls, k->tls);
	rp__reactor_close(r, k->fd, reset);
	rp__tls_free(k->tls);
	k->tls = NULL;
	park_free(k);
	rp__reactor_conn_closed(r);
}

/* The connection again, without buffers, its timer armed at the parked
 * deadline (if that has not fired); NULL (closed) when memory ran out. */
static struct l7_conn *park_take(struct l7_park *k)
{
	struct l7_shard *sh = k->sh;
	struct l7_conn *c = rp__pool_get(&sh->conns);

	if (!c) {
		sh->r->stats.oom++;
		park_close(k, true);
		return NULL;
	}
	conn_init(c, sh, k->lis, k->fd);
	c->nreq = k->nreq;
	c->pp_wait = k->pp_wait;
	c->ktls = k->ktls;
	c->ctls.t = k->tls;
	k->tls = NULL;
	if (k->peer_known) {
		memcpy(&c->peer, &k->peer, sizeof(k->peer));
		memcpy(&c->local, &k->local, sizeof(k->local));
		c->peer_len = k->peer_len;
		c->peer_known = true;
	}
	c->tkind = (enum l7_timer)k->tkind;
	if (rp__timer_armed(&k->timer))
		timer_set(c, c->tkind, k->timer.expires);
	park_free(k);
	return c;
}

static void park_cqe(struct rp_op *op, int res, uint32_t flags)
{
	struct l7_park *k = rp_container_of(op, struct l7_park, op);
	struct rp_reactor *r = k->sh->r;
	enum park_end end = (enum park_end)k->end;
	bool ring = k->ring;
	struct l7_conn *c;

	k->busy = false;
	if (ring && res == -ENOBUFS && end == PARK_WAIT) {
		/* Every ring buffer is out: a poll this time. */
		k->ring = false;
		park_arm(k);
		return;
	}
	/* What the deadline or a drain decided wins over bytes that came
	 * meanwhile; a keep-alive deadline, a drain, a failed wait and an EOF
	 * close quietly, as conn_close_now() would. */
	if (end == PARK_CLOSE || (end == PARK_TIMER && k->tkind == T_KEEPALIVE) ||
	    (end == PARK_WAIT && (res < 0 || (ring && res == 0)))) {
		park_buf_back(r, flags);
		park_close(k, false);
		return;
	}
	c = park_take(k);
	if (!c) {
		park_buf_back(r, flags);
		return;
	}
	if (end == PARK_TIMER) {
		park_buf_back(r, flags);
		conn_timer_fired(&c->timer, r->now_ms); /* a header deadline: 408 */
		return;
	}
	c->ibuf = buf_get(c->sh);
	if (!c->ibuf) {
		park_buf_back(r, flags);
		r->stats.oom++;
		conn_quiesce(c, A_CLOSE, 0);
		return;
	}
	if (!ring) {
		client_recv(c);
		return;
	}
	/* A ring buffer is never larger than ibuf (conn_wait()). */
	RP_BUG_ON(!(flags & IORING_CQE_F_BUFFER) || (unsigned)res > c->sh->bufsz);
	memcpy(c->ibuf, rp__bufring_addr(&r->bufs, flags >> IORING_CQE_BUFFER_SHIFT),
	       (size_t)res);
	park_buf_back(r, flags);
	head_input(c, (unsigned)res);
}

/* Decides how a parked connection ends and cancels its poll; the decision
 * is carried out by its completion. Closing overrides a deadline. */
static void park_end(struct l7_park *k, enum park_end end)
{
	struct io_uring_sqe *sqe;
	bool first = k->end == PARK_WAIT;

	if (end <= k->end)
		return;
	k->end = (uint8_t)end;
	rp__timer_cancel(&k->sh->r->wheel, &k->timer);
	if (!first || !k->busy)
		return;
	sqe = rp__reactor_sqe(k->sh->r);
	io_uring_prep_cancel(sqe, &k->op, 0);
	io_uring_sqe_set_data64(sqe, 0);
}

static void park_timer_fired(struct rp_timer *t, uint64_t now)
{
	park_end(rp_container_of(t, struct l7_park, timer), PARK_TIMER);
}

/*
 * @c waits for the bytes of its next request (or its first): parked when it
 * can be, its l7_conn and every buffer back in their pools; else, without
 * buffers, on a poll of its own (client_recv()). A userspace TLS client
 * whose TLS layer holds records already reads them now: they are no event
 * a poll would see.
 */
static void conn_wait(struct l7_conn *c)
{
	struct l7_shard *sh = c->sh;
	struct l7_park *k;

	RP_BUG_ON(c->ilen);
	for (int d = 0; d < 2; d++) {
		if (c->sp[d].have_pipe) {
			rp__pipe_put(&sh->r->pipes, &c->sp[d].pipe, c->sp[d].bytes == 0);
			c->sp[d].have_pipe = false;
		}
	}
	if (c->ctls.t && (rp__tls_readable(c->ctls.t) || c->ctls.eof)) {
		if (!c->ibuf && !(c->ibuf = buf_get(sh))) {
			sh->r->stats.oom++;
			conn_quiesce(c, A_CLOSE, 0);
			return;
		}
		client_recv(c);
		return;
	}
	buf_put(sh, &c->ibuf);
	buf_put(sh, &c->obuf);
	buf_put(sh, &c->rbuf);
	if (sh->r->draining && !c->inflight && !c->quiescing) {
		/* Idle after the drain closed the idle ones (its response had
		 * begun before): closed as they were. */
		conn_quiesce(c, A_CLOSE, 0);
		return;
	}
	if (c->inflight || c->quiescing || c->phase != C_HEAD || c->b || c->q || c->tt ||
	    c->backend >= 0 || c->auth.job || c->auth_poll ||
	    !(k = rp__pool_get(&sh->parks))) {
		client_recv(c);
		return;
	}
	k->op.fn = park_cqe;
	k->timer.fn = park_timer_fired;
	k->sh = sh;
	k->lis = c->lis;
	k->fd = c->cfd;
	k->nreq = c->nreq;
	k->pp_wait = c->pp_wait;
	k->ktls = c->ktls;
	k->tls = c->ctls.t;
	c->ctls.t = NULL;
	k->tkind = (uint8_t)c->tkind;
	if (c->peer_known && c->peer_len <= sizeof(k->peer)) {
		memcpy(&k->peer, &c->peer, sizeof(k->peer));
		memcpy(&k->local, &c->local, sizeof(k->local));
		k->peer_len = c->peer_len;
		k->peer_known = true;
	}
	if (rp__timer_armed(&c->timer))
		rp__timer_arm(&sh->r->wheel, &k->timer, c->timer.expires);
	k->next = sh->parked;
	if (k->next)
		k->next->pprev = &k->next;
	k->pprev = &sh->parked;
	sh->parked = k;
	conn_release(c);
	k->ring =
		sh->r->have_bufs && !k->tls && !k->ktls && sh->r->bufs.size <= sh->bufsz;
	park_arm(k);
}

/* ---- routing -------------------------------------------------------------- */

/* The Host without its port, lowercase comparison done by the caller. */
static struct rp_http_span host_name(const char *buf, struct rp_http_span h)
{
	const char *p = buf + h.off;

	if (h.len && p[0] == '[') {
		const char *e = memchr(p, ']', h.len);

		if (e)
			h.len = (uint32_t)(e - p + 1);
		return h;
	}
	for (uint32_t i = 0; i < h.len; i++)
		if (p[i] == ':') {
			h.len = i;
			break;
		}
	return h;
}

static bool route_host_match(const char *want, const char *buf, struct rp_http_span h)
{
	size_t n = strlen(want);

	h = host_name(buf, h);
	if (want[0] == '*' && want[1] == '.') {
		/* "*.example.com": any name ending in ".example.com" */
		n -= 1;
		return h.len > n && !strncasecmp(buf + h.off + h.len - n, want + 1, n);
	}
	return h.len == n && !strncasecmp(buf + h.off, want, n);
}

static bool route_match(const struct rp_route_config *rt, const char *buf,
			const struct rp_http_request *req)
{
	if (rt->host[0] && !route_host_match(rt->host, buf, req->host))
		return false;
	if (rt->path[0]) {
		size_t n = strlen(rt->path);

		if (req->path.len < n || memcmp(buf + req->path.off, rt->path, n))
			return false;
	}
	if (rt->method[0] && !span_eq(buf, req->method, rt->method))
		return false;
	if (rt->header[0]) {
		int i = rp__http_find_header(buf, req->headers, req->nheaders, rt->header,
					     strlen(rt->header), 0);
		bool found = false;

		for (; i >= 0 && !found;
		     i = rp__http_find_header(buf, req->headers, req->nheaders,
					      rt->header, strlen(rt->header),
					      (unsigned)i + 1)) {
			struct rp_http_span v = req->headers[i].value;

			found = v.len == strlen(rt->header_value) &&
				!memcmp(buf + v.off, rt->header_value, v.len);
		}
		if (!found)
			return false;
	}
	return true;
}

/* The cluster for @req on listener @li, or -1 (404). */
static int route(const struct rp_config *cfg, unsigned li, const char *buf,
		 const struct rp_http_request *req, int *which)
{
	bool any = false;

	*which = -1; /* the route taken, for its limits */
	for (unsigned k = 0; k < cfg->nroutes; k++) {
		const struct rp_route_config *rt = &cfg->routes[k];

		if (rt->listeners && !(rt->listeners & (1u << li)))
			continue;
		any = true;
		if (route_match(rt, buf, req)) {
			*which = (int)k;
			return (int)rt->cluster;
		}
	}
	return any ? -1 : (int)cfg->listeners[li].cluster;
}

/* ---- request heads -------------------------------------------------------- */

static void hash_request(struct l7_conn *c, const char *buf,
			 const struct rp_http_request *req)
{
	const struct rp_cluster_config *cc = c->cl->cfg;

	c->have_hash = false;
	if (!c->cl->hash_source)
		return;
	if (cc->hash_key == RP_HASH_HEADER) {
		int i = rp__http_find_header(buf, req->headers, req->nheaders,
					     cc->hash_name, strlen(cc->hash_name), 0);

		if (i >= 0) {
			struct rp_http_span v = req->headers[i].value;

			c->hash = rp__hash_bytes(buf + v.off, v.len);
			c->have_hash = true;
			return;
		}
	} else if (cc->hash_key == RP_HASH_COOKIE) {
		size_t nl = strlen(cc->hash_name);

		for (int i = rp__http_find_header(buf, req->headers, req->nheaders,
						  "cookie", 6, 0);
		     i >= 0 && !c->have_hash;
		     i = rp__http_find_header(buf, req->headers, req->nheaders, "cookie",
					      6, (unsigned)i + 1)) {
			const char *p = buf + req->headers[i].value.off;
			const char *e = p + req->headers[i].value.len;

			while (p < e) {
				const char *semi = memchr(p, ';', (size_t)(e - p));
				const char *end = semi ? semi : e;

				while (p < end && *p == ' ')
					p++;
				if ((size_t)(end - p) > nl && p[nl] == '=' &&
				    !memcmp(p, cc->hash_name, nl)) {
					c->hash = rp__hash_bytes(
						p + nl + 1, (size_t)(end - p) - nl - 1);
					c->have_hash = true;
					break;
				}
				p = end + 1;
			}
		}
		if (c->have_hash)
			return;
	}
	if (conn_peer(c)) {
		rp__hash_sockaddr_ip((struct sockaddr *)&c->peer, c->peer_len, &c->hash);
		c->have_hash = true;
	}
}

/* "for=" value of Forwarded: IPv6 quoted and bracketed (RFC 7239 6.1). */
static void forwarded_node(const struct sockaddr_storage *ss, char *out, size_t cap)
{
	char a[RP_ADDRSTRLEN];

	if (!rp__addr_ip_format((const struct sockaddr *)ss, a, sizeof(a))) {
		snprintf(out, cap, "unknown");
		return;
	}
	if (ss->ss_family == AF_INET6)
		snprintf(out, cap, "\"[%s]\"", a);
	else
		snprintf(out, cap, "%s", a);
}

/* ---- forward listeners: absolute-form requests to origins ----------------- */

static struct l7_origin *origin_get(struct l7_shard *sh, unsigned li, const char *key)
{
	uint64_t h = rp__hash_bytes(key, strlen(key));
	struct l7_origin **slot = &sh->otab[h % L7_ORIGIN_BUCKETS], *o;

	for (o = *slot; o; o = o->hnext)
		if (o->hash == h && !strcmp(o->key, key))
			return o;
	if (sh->norigins >= L7_MAX_ORIGINS || !(o = calloc(1, sizeof(*o))))
		return &sh->nopool;
	o->hash = h;
	snprintf(o->key, sizeof(o->key), "%s", key);
	o->be.cl = sh->fcl[li];
	o->be.index = 0;
	snprintf(o->be.addr, sizeof(o->be.addr), "%s", key);
	o->hnext = *slot;
	*slot = o;
	sh->norigins++;
	return o;
}

static void fwd_resolved(void *arg, int status, const struct sockaddr_storage *addrs,
			 unsigned n)
{
	struct l7_conn *c = arg;
	struct l7_shard *sh = c->sh;
	unsigned li = (unsigned)(c->lis - sh->r->cfg->listeners);
	char key[sizeof(((struct l7_origin *)0)->key)];

	c->q = NULL;
	if (status < 0 || !n) {
		fwd_fail(c, RP_FWD_FAIL_DNS, status < 0 ? status : -ENOENT);
		return;
	}
	conn_peer(c);
	c->onaddr = c->onext = 0;
	for (unsigned i = 0; i < n && i < RP_DNS_MAX_ADDRS; i++) {
		struct sockaddr_storage a = addrs[i];

		if (a.ss_family == AF_INET6)
			((struct sockaddr_in6 *)&a)->sin6_port = htons(c->oport);
		else
			((struct sockaddr_in *)&a)->sin_port = htons(c->oport);
		if (rp__forward_addr_check(sh->rv->fwd, li, (struct sockaddr *)&c->peer,
					   c->ohost, (struct sockaddr *)&a, c->onamed))
			c->oaddrs[c->onaddr++] = a;
	}
	if (!c->onaddr) {
		sh->r->stats.denied++;
		conn_fail(c, 403);
		return;
	}
	snprintf(key, sizeof(key), "%s:%u", c->ohost, c->oport);
	c->origin = origin_get(sh, li, key);
	c->be = &c->origin->be;
	xchg_start_backend(c);
}

static void fwd_resolve(struct l7_conn *c)
{
	struct l7_shard *sh = c->sh;
	unsigned li = (unsigned)(c->lis - sh->r->cfg->listeners);
	struct rp_addr parent;

	if (rp__forward_parent(sh->rv->fwd, li, &parent) == 1) {
		/* Through an HTTP parent: it resolves, we keep connections
		 * to it. The target's name was checked by fwd_head(); an
		 * address target is judged here, as the parent never would. */
		struct sockaddr_storage lit = {0};
		struct sockaddr_in *sin = (struct sockaddr_in *)&lit;
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&lit;

		if (inet_pton(AF_INET, c->ohost, &sin->sin_addr) == 1) {
			sin->sin_family = AF_INET;
			sin->sin_port = htons(c->oport);
		} else if (inet_pton(AF_INET6, c->ohost, &sin6->sin6_addr) == 1) {
			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons(c->oport);
		}
		conn_peer(c);
		if (lit.ss_family &&
		    !rp__forward_addr_check(sh->rv->fwd, li, (struct sockaddr *)&c->peer,
					    c->ohost, (struct sockaddr *)&lit,
					    c->onamed)) {
			sh->r->stats.denied++;
			conn_fail(c, 403);
			return;
		}
		c->oaddrs[0] = parent.ss;
		c->onaddr = 1;
		c->onext = 0;
		c->origin = origin_get(sh, li, "(parent)");
		c->be = &c->origin->be;
		xchg_start_backend(c);
		return;
	}
	c->q = rp__dns_resolve(rp__forward_dns(sh->rv->fwd), c->ohost, fwd_resolved, c);
}

/* A forward listener's request: credentials, the target, the policy on its
 * name, and the anonymity level's headers. 0, or -1 once answered. */
static int fwd_head(struct l7_conn *c, struct rp_http_request *req,
		    struct rp_http_field *extra, unsigned *nx)
{
	struct l7_shard *sh = c->sh;
	struct rp_reactor *r = sh->r;
	unsigned li = (unsigned)(c->lis - r->cfg->listeners);
	const char *buf = c->ibuf;
	const struct rp_http_span h = req->target_host;
	static const char *const strip[] = {"via", "x-forwarded-for", "forwarded"};

	c->cl = sh->fcl[li];
	c->backend = -1;
	if (c->auth.verdict != RP_AUTH_OK) { /* fwd_auth() decided it */
		enum rp_auth_verdict v = c->auth.verdict;

		c->auth.verdict = RP_AUTH_NONE;
		r->stats.bad_requests += v != RP_AUTH_BUSY;
		conn_fail(c, v == RP_AUTH_THROTTLED ? 429
			     : v == RP_AUTH_BUSY    ? 503
						    : 407);
		return -1;
	}
	c->auth.verdict = RP_AUTH_NONE; /* the next request is asked again */
	if (req->form != RP_HTTP_ABSOLUTE_FORM) {
		r->stats.bad_requests++;
		conn_fail(c, 400); /* not a proxy request */
		return -1;
	}
	if (req->scheme_id != RP_HTTP_SCHEME_HTTP) {
		r->stats.bad_requests++;
		conn_fail(c, 501); /* https://, ftp://...: CONNECT is the way */
		return -1;
	}
	{
		struct rp_addr parent;

		c->oparent = rp__forward_parent(sh->rv->fwd, li, &parent);
		if (c->oparent == 2) {
			/* A SOCKS5 parent carries tunnels only. */
			r->stats.bad_requests++;
			conn_fail(c, 501);
			return -1;
		}
		if (c->oparent == 1 && rp__forward_parent_auth(sh->rv->fwd, li))
			extra[(*nx)++] = (struct rp_http_field){
				"Proxy-Authorization",
				rp__forward_parent_auth(sh->rv->fwd, li)};
	}
	if (!h.len || h.len >= sizeof(c->ohost)) {
		r->stats.bad_requests++;
		conn_fail(c, 400);
		return -1;
	}
	/* "[v6]" loses its brackets: the resolver takes the bare literal. */
	if (buf[h.off] == '[' && h.len > 2)
		snprintf(c->ohost, sizeof(c->ohost), "%.*s", (int)h.len - 2,
			 buf + h.off + 1);
	else
		snprintf(c->ohost, sizeof(c->ohost), "%.*s", (int)h.len, buf + h.off);
	c->oport = req->port ? req->port : 80;
	conn_peer(c);
	if (rp__forward_name_check(sh->rv->fwd, li, (struct sockaddr *)&c->peer, c->ohost,
				   c->oport, &c->onamed) < 0) {
		r->stats.denied++;
		conn_fail(c, 403);
		return -1;
	}
	switch (c->lis->fwd.anonymity) {
	case RP_ANON_TRANSPARENT:
		if (rp__addr_ip_format((struct sockaddr *)&c->peer, c->xff_ip,
				       sizeof(c->xff_ip)))
			extra[(*nx)++] =
				(struct rp_http_field){"X-Forwarded-For", c->xff_ip};
		/* fall through */
	case RP_ANON_ANONYMOUS:
		extra[(*nx)++] = (struct rp_http_field){
			"Via", req->minor ? "1.1 ringproxy" : "1.0 ringproxy"};
		break;
	case RP_ANON_ELITE:
		/* Nothing that tells a proxy was used (Proxy-Connection and
		 * Proxy-Authorization are hop-by-hop: never forwarded). */
		for (unsigned k = 0; k < RP_ARRAY_SIZE(strip); k++)
			for (int i = rp__http_find_header(buf, req->headers,
							  req->nheaders, strip[k],
							  strlen(strip[k]), 0);
			     i >= 0; i = rp__http_find_header(
					     buf, req->headers, req->nheaders, strip[k],
					     strlen(strip[k]), (unsigned)i + 1))
				req->headers[i].flags |= RP_HTTP_HDR_HOP;
		break;
	}
	return 0;
}

/* Parsed @req fits: route it, write the backend's head, start the exchange.
 * @n is the head's length. */
static void head_accept(struct l7_conn *c, struct rp_http_request *req, unsigned n)
{
	struct l7_shard *sh = c->sh;
	struct rp_reactor *r = sh->r;
	const struct rp_http_listener_config *hc = &c->lis->http;
	const char *buf = c->ibuf;
	struct rp_http_field extra[8];
	unsigned nx = 0;
	char ip[RP_ADDRSTRLEN], fwd[RP_ADDRSTRLEN + 64];
	int k, cl, rt, ret;

	r->stats.requests++;
	c->hlen = n;
	c->fwd = c->scan = n;
	c->nreq++;
	c->start_ms = r->now_ms;
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME_COARSE, &ts);
		c->start_wall_ms =
			(uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	}
	c->method = req->method_id;
	c->minor = req->minor;
	c->log_method = req->method;
	c->log_target = req->target;
	c->log_host = req->host;
	c->log_referer = c->log_ua = (struct rp_http_span){0};
	k = rp__http_find_header(buf, req->headers, req->nheaders, "referer", 7, 0);
	if (k >= 0)
		c->log_referer = req->headers[k].value;
	k = rp__http_find_header(buf, req->headers, req->nheaders, "user-agent", 10, 0);
	if (k >= 0)
		c->log_ua = req->headers[k].value;
	c->idempotent =
		req->method_id == RP_HTTP_GET || req->method_id == RP_HTTP_HEAD ||
		req->method_id == RP_HTTP_PUT || req->method_id == RP_HTTP_DELETE ||
		req->method_id == RP_HTTP_OPTIONS || req->method_id == RP_HTTP_TRACE;
	c->req_keep_alive = req->keep_alive && !r->draining &&
			    (!hc->max_requests || c->nreq < hc->max_requests);
	c->req_body = req->body;
	c->req_left =
		req->body == RP_HTTP_BODY_LENGTH ? (uint64_t)req->content_length : 0;
	c->req_body_bytes = 0;
	c->req_scanned = req->body == RP_HTTP_BODY_NONE;
	c->body_kept = true;
	if (req->body == RP_HTTP_BODY_CHUNKED)
		rp__http_chunked_init(&c->req_ck, NULL);

	if (req->method_id == RP_HTTP_CONNECT) {
		r->stats.bad_requests++;
		conn_fail(c, 405);
		return;
	}
	if (hc->max_body && req->body == RP_HTTP_BODY_LENGTH &&
	    (uint64_t)req->content_length > hc->max_body) {
		r->stats.bad_requests++;
		conn_fail(c, 413);
		return;
	}
	if (c->fwd_mode) {
		if (fwd_head(c, req, extra, &nx) < 0)
			return;
	} else {
		cl = route(r->cfg, (unsigned)(c->lis - r->cfg->listeners), buf, req, &rt);
		if (cl < 0) {
			conn_fail(c, 404);
			return;
		}
		if (rt >= 0 && sh->rv->limits && over_rate(c, rt))
			return;
		c->cl = &sh->rv->cl[cl];
		if (!rp__cluster_has_up(c->cl)) {
			r->stats.no_backend++;
			conn_fail(c, 503);
			return;
		}
		hash_request(c, buf, req);
	}

	/* Upgrade (WebSocket): only asked for in HTTP/1.1 with both fields. */
	c->upgrade_req = false;
	if (req->minor == 1 && req->conn_upgrade && req->upgrade) {
		k = rp__http_find_header(buf, req->headers, req->nheaders, "upgrade", 7,
					 0);
		if (k >= 0 && req->headers[k].value.len < sizeof(c->upgrade_val)) {
			memcpy(c->upgrade_val, buf + req->headers[k].value.off,
			       req->headers[k].value.len);
			c->upgrade_val[req->headers[k].value.len] = 0;
			c->upgrade_req = true;
			extra[nx++] = (struct rp_http_field){"Connection", "upgrade"};
			extra[nx++] = (struct rp_http_field){"Upgrade", c->upgrade_val};
		}
	}
	/* Forwarding headers: ours replace what a client claims about the
	 * protocol; addresses are appended to the client's list. (A forward
	 * listener's are its anonymity level's, set by fwd_head().) */
	if (!c->fwd_mode && (hc->xff || hc->forwarded)) {
		if (conn_peer(c) &&
		    rp__addr_ip_format((struct sockaddr *)&c->peer, ip, sizeof(ip))) {
			if (hc->xff)
				extra[nx++] =
					(struct rp_http_field){"X-Forwarded-For", ip};
			if (hc->forwarded) {
				char node[RP_ADDRSTRLEN + 8];

				forwarded_node(&c->peer, node, sizeof(node));
				snprintf(fwd, sizeof(fwd), "for=%s;proto=%s", node,
					 c->lis->tls.enabled ? "https" : "http");
				extra[nx++] = (struct rp_http_field){"Forwarded", fwd};
			}
		}
	}
	if (!c->fwd_mode && hc->xfp) {
		for (k = rp__http_find_header(buf, req->headers, req->nheaders,
					      "x-forwarded-proto", 17, 0);
		     k >= 0;
		     k = rp__http_find_header(buf, req->headers, req->nheaders,
					      "x-forwarded-proto", 17, (unsigned)k + 1))
			req->headers[k].flags |= RP_HTTP_HDR_HOP;
		extra[nx++] = (struct rp_http_field){
			"X-Forwarded-Proto", c->lis->tls.enabled ? "https" : "http"};
	}
	if (!c->fwd_mode && hc->via)
		extra[nx++] = (struct rp_http_field){"Via", req->minor ? "1.1 ringproxy"
								       : "1.0 ringproxy"};
	if (c->fwd_mode) {
		/* Host comes from the absolute-form target (the serializer). */
	} else if (hc->host_rewrite[0]) {
		for (k = rp__http_find_header(buf, req->headers, req->nheaders, "host", 4,
					      0);
		     k >= 0; k = rp__http_find_header(buf, req->headers, req->nheaders,
						      "host", 4, (unsigned)k + 1))
			req->headers[k].flags |= RP_HTTP_HDR_HOP;
		extra[nx++] = (struct rp_http_field){"Host", hc->host_rewrite};
	} else if (!req->has_host && req->form != RP_HTTP_ABSOLUTE_FORM) {
		/* HTTP/1.0 without Host: HTTP/1.1 needs one. */
		extra[nx++] = (struct rp_http_field){"Host", c->cl->be[0].addr};
	}
	if (!c->obuf)
		c->obuf = buf_get(sh);
	if (!c->rbuf)
		c->rbuf = buf_get(sh);
	if (!c->obuf || !c->rbuf) {
		r->stats.oom++;
		conn_fail(c, 503);
		return;
	}
	/* An HTTP parent gets the absolute form, an origin the origin form. */
	ret = rp__http_serialize_request(
		buf, req, extra, nx,
		c->fwd_mode && c->oparent == 1 ? 0 : RP_HTTP_SER_ORIGIN_FORM, c->obuf,
		sh->bufsz);
	if (ret < 0) {
		r->stats.bad_requests++;
		conn_fail(c, ret == -ENOSPC ? 431 : 400);
		return;
	}
	c->olen = (unsigned)ret;
	c->phase = C_XCHG;
	c->attempts = 0;
	memset(c->tried, 0, sizeof(c->tried));
	rp__timer_cancel(&r->wheel, &c->timer);
	if (c->fwd_mode) {
		fwd_resolve(c);
		return;
	}
	xchg_start_backend(c);
}

/* A helper's verdict on a forward request's credentials: once the watch on
 * the client is gone too, the head, still in ibuf, is parsed again. */
static void fwd_auth_done(struct rp_auth_wait *w)
{
	struct l7_conn *c = rp_container_of(w, struct l7_conn, auth);
	struct io_uring_sqe *sqe;

	if (!c->auth_poll) {
		head_try(c);
		return;
	}
	sqe = rp__reactor_sqe(c->sh->r);
	io_uring_prep_poll_remove(sqe, (uint64_t)(uintptr_t)&c->auth_poll_op);
	io_uring_sqe_set_data64(sqe, 0);
}

/* The watch while a check runs: a reset or hang-up means the client is gone
 * (and its check, if not started, is skipped); a FIN alone may be a
 * half-close whose sender still reads the answer. */
static void auth_poll_cqe(struct rp_op *op, int res, uint32_t flags)
{
	struct l7_conn *c = rp_container_of(op, struct l7_conn, auth_poll_op);

	c->auth_poll = false;
	if (!op_done(c))
		return;
	if (c->auth.verdict != RP_AUTH_NONE)
		head_try(c); /* removed after the verdict came */
	else if (res > 0 && (res & (POLLERR | POLLHUP)))
		conn_quiesce(c, A_CLOSE, 0);
}

/* A forward listener's credentials, before anything else of the request:
 * true while a helper checks them (fwd_auth_done() follows), false with
 * the verdict in c->auth for fwd_head(). */
static bool fwd_auth(struct l7_conn *c, const struct rp_http_request *req)
{
	struct l7_shard *sh = c->sh;
	unsigned li = (unsigned)(c->lis - sh->r->cfg->listeners);
	struct io_uring_sqe *sqe;

	if (c->auth.verdict != RP_AUTH_NONE)
		return false;
	c->auth.done = fwd_auth_done;
	if (rp__forward_http_auth(sh->rv->fwd, li,
				  conn_peer(c) ? (struct sockaddr *)&c->peer : NULL,
				  c->ibuf, req, &c->auth) != RP_AUTH_PENDING)
		return false;
	c->auth_poll_op.fn = auth_poll_cqe;
	sqe = c_sqe(c, &c->auth_poll_op);
	io_uring_prep_poll_add(sqe, c->cfd, POLLRDHUP);
	c->auth_poll = true;
	return true;
}

static void head_try(struct l7_conn *c)
{
	struct l7_shard *sh = c->sh;
	struct rp_reactor *r = sh->r;
	const struct rp_http_listener_config *hc = &c->lis->http;
	struct rp_http_limits lim = {
		.max_head = hc->max_head,
		.max_headers = hc->max_headers,
		.max_target = hc->max_target,
		.max_chunk_line = rp__http_limits_default.max_chunk_line,
		.max_trailer = rp__http_limits_default.max_trailer,
	};
	int n;

	if (c->pp_wait) {
		struct rp_pp_result pp;

		n = rp__pp_parse((const uint8_t *)c->ibuf, c->ilen, &pp);
		if (n == -EAGAIN && c->ilen < 536) {
			client_recv(c);
			return;
		}
		if (n < 0) {
			r->stats.proxy_errors++;
			conn_quiesce(c, A_CLOSE, 0);
			return;
		}
		c->pp_wait = false;
		if (!pp.local) {
			c->peer = pp.src;
			c->local = pp.dst;
			c->peer_len = pp.addr_len;
			c->peer_known = true;
		}
		memmove(c->ibuf, c->ibuf + n, c->ilen - (unsigned)n);
		c->ilen -= (unsigned)n;
		timer_set(c, T_HEADER, r->now_ms + hc->header_timeout_ms);
		if (!c->ilen) {
			conn_wait(c);
			return;
		}
	}
	n = rp__http_parse_request(c->ibuf, c->ilen, &lim, &sh->req);
	if (n == -EAGAIN && c->ilen < sh->bufsz) {
		client_recv(c);
		return;
	}
	if (n == -EAGAIN) {
		/* Cannot happen while max_head < bufsz; be safe anyway. */
		sh->req.err_status = 431;
		n = -EBADMSG;
	}
	if (n > 0 && sh->req.host_differs && !c->fwd_mode) {
		/* A forward proxy ignores such a Host (RFC 9112 section
		 * 3.2.2); a reverse proxy refuses it, as HAProxy does, since
		 * what stands behind its backends might read Host instead. */
		sh->req.err_status = 400;
		n = -EBADMSG;
	}
	if (n < 0) {
		r->stats.bad_requests++;
		c->hlen = 0;
		conn_fail(c, sh->req.err_status ? sh->req.err_status : 400);
		return;
	}
	if (sh->rv->limits && over_rate(c, -1))
		return;
	if (c->fwd_mode && fwd_auth(c, &sh->req))
		return;
	head_accept(c, &sh->req, (unsigned)n);
}

/* ---- connecting ------------------------------------------------------------ */

static void bconn_cqe(struct rp_op *op, int res, uint32_t flags);
static void btimeout_cqe(struct rp_op *op, int res, uint32_t flags);

static void backend_tls_done(struct rp_tls_hs *hs, int res)
{
	struct l7_conn *c = rp_container_of(hs, struct l7_conn, bhs);
	struct rp_reactor *r = c->sh->r;
	struct l7_bconn *b = c->b;

	if (res < 0 && res != -ECANCELED) {
		r->stats.tls_backend_failures++;
		rp_dbg("tls to backend: %s%s%s", strerror(-res),
		       hs->tls->errbuf[0] ? ": " : "", hs->tls->errbuf);
	}
	if (res < 0) {
		rp__tls_free(hs->tls);
	} else {
		r->stats.tls_backend_handshakes++;
		if (hs->ktls_on) {
			b->ktls = true;
			rp__tls_free(hs->tls);
		} else {
			b->tls.t = hs->tls;
		}
	}
	hs->tls = NULL;
	if (!op_done(c))
		return;
	if (res < 0) {
		if (c->backend >= 0)
			rp__backend_failed(c->cl, c->backend, "failed TLS handshakes");
		conn_fail(c, 502);
		return;
	}
	c->b_active = r->now_ms;
	up_run(c);
}

/*
 * TLS with a freshly connected backend: our PROXY header (if any) goes
 * first in the clear, as HAProxy sends it; then the handshake, counted as
 * one operation in flight so that quiescing waits for it.
 */
static void backend_tls_start(struct l7_conn *c)
{
	struct rp_reactor *r = c->sh->r;
	const struct rp_cluster_config *cfg = c->cl->cfg;
	unsigned k = (unsigned)(c->cl - c->sh->rv->cl);
	bool ktls = cfg->tls.ktls != RP_KTLS_OFF && rp__ktls_probe()->ulp;
	struct rp_tls *t;

	if (c->ppoff < c->pplen) {
		/* A new socket's send buffer is empty: this cannot block. */
		ssize_t n = send(c->b->fd, c->pphdr + c->ppoff, c->pplen - c->ppoff,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n != (ssize_t)(c->pplen - c->ppoff)) {
			conn_fail(c, 502);
			return;
		}
		c->ppoff = c->pplen;
	}
	t = rp__tls_new_client(r->snap->tls_cli[k], ktls);
	if (!t) {
		r->stats.oom++;
		conn_fail(c, 502);
		return;
	}
	memset(&c->bhs, 0, sizeof(c->bhs));
	c->bhs.no_early = true;
	c->inflight++;
	rp__tls_hs_start(&c->bhs, r, c->b->fd, t, cfg->tls.ktls, cfg->connect_timeout_ms,
			 backend_tls_done);
}

static void connect_settled(struct l7_conn *c)
{
	struct rp_reactor *r = c->sh->r;

	if (c->connect_res == 0) {
		/* Not a success yet for outlier detection: the response is. */
		c->b_active = r->now_ms;
		if (c->cl->cfg->tls.enabled && !c->fwd_mode) {
			backend_tls_start(c);
			return;
		}
		up_run(c);
		return;
	}
	if (c->connect_timed_out)
		r->stats.connect_timeouts++;
	else
		r->stats.connect_failures++;
	rp__backend_failed(c->cl, c->backend, "failed connects");
	bconn_close(c->b, false);
	c->b = NULL;
	backend_release(c, true);
	xchg_start_backend(c);
}

static void bconn_cqe(struct rp_op *op, int res, uint32_t flags)
{
	struct l7_conn *c = rp_container_of(op, struct l7_conn, bconn_op);

	c->connect_res = res;
	c->connect_pending--;
	if (!op_done(c) || c->connect_pending)
		return;
	connect_settled(c);
}

static void btimeout_cqe(struct rp_op *op, int res, uint32_t flags)
{
	struct l7_conn *c = rp_container_of(op, struct l7_conn, btimeout_op);

	if (res == -ETIME)
		c->connect_timed_out = true;
	c->connect_pending--;
	if (!op_done(c) || c->connect_pending)
		return;
	connect_settled(c);
}

/* Picks a backend and gets a connection to it: a pooled one (unless this is
 * a retry) or a new connect. */
static void xchg_start_backend(struct l7_conn *c)
{
	struct l7_shard *sh = c->sh;
	struct rp_reactor *r = sh->r;
	struct rp_cluster *cl = c->cl;
	const struct rp_cluster_config *cfg = cl->cfg;
	struct io_uring_sqe *sqe;
	struct l7_bconn *b;
	const struct sockaddr *sa;
	socklen_t salen;
	int one = 1, be = -1, fd;

	if (c->fwd_mode) {
		/* An origin: its pool first, then its addresses in turn. */
		if (c->attempts && c->onext >= c->onaddr) {
			fwd_fail(c, RP_FWD_FAIL_CONNECT,
				 c->connect_timed_out ? -ETIMEDOUT
				 : c->connect_res     ? c->connect_res
						      : -ECONNRESET);
			return;
		}
	} else {
		/* Only a retry avoids backends: p2c samples when nothing is
		 * to be avoided, and scans when something is. */
		struct rp_pick_key key = {.hash = c->hash,
					  .avoid = c->attempts ? c->tried : NULL};

		be = c->attempts <= cfg->retries ? rp__balance_pick(&cl->lb, &key) : -1;
		if (be < 0) {
			if (c->attempts == 0)
				r->stats.no_backend++;
			conn_fail(c, 503);
			return;
		}
		c->backend = be;
		c->be = &cl->be[be];
		c->tried[be / 64] |= 1ull << (be % 64);
	}
	/* Reset what a failed attempt sent. */
	c->pplen = c->ppoff = 0;
	c->ooff = 0;
	c->fwd = c->hlen;
	c->up_head_sent = false;
	c->up_done = false;
	c->down_started = false;
	c->gather = false;
	c->b_active = r->now_ms;
	if (!c->attempts++ && cfg->send_proxy == 0) {
		b = bconn_take(c->be);
		if (b) {
			c->b = b;
			c->b_reused = true;
			r->stats.pool_reuses++;
			up_run(c);
			return;
		}
	}
	c->b_reused = false;
	if (c->fwd_mode) {
		if (c->onext >= c->onaddr) {
			fwd_fail(c, RP_FWD_FAIL_CONNECT,
				 c->connect_timed_out ? -ETIMEDOUT
				 : c->connect_res     ? c->connect_res
						      : -ECONNRESET);
			return;
		}
		sa = (const struct sockaddr *)&c->oaddrs[c->onext++];
		salen = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						  : sizeof(struct sockaddr_in);
	} else {
		sa = (const struct sockaddr *)&cfg->backends[be].ss;
		salen = cfg->backends[be].len;
	}
	b = rp__pool_get(&sh->bconns);
	if (!b) {
		r->stats.oom++;
		conn_fail(c, 503);
		return;
	}
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		bconn_free(b);
		r->stats.connect_failures++;
		conn_fail(c, 503);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	b->sh = sh;
	b->be = c->be;
	b->fd = fd;
	b->poll_op.fn = bconn_poll_cqe;
	b->idle_timer.fn = bconn_idle_expired;
	c->b = b;
	r->stats.backend_conns++;
	if (cfg->send_proxy) {
		/* The header names this client: such a connection is never
		 * pooled. A client already gone gets the LOCAL form. */
		bool have = conn_peer(c);
		int n = rp__pp_build((int)cfg->send_proxy,
				     have ? (struct sockaddr *)&c->peer : NULL,
				     have ? (struct sockaddr *)&c->local : NULL, c->pphdr,
				     sizeof(c->pphdr));

		if (n < 0)
			n = rp__pp_build((int)cfg->send_proxy, NULL, NULL, c->pphdr,
					 sizeof(c->pphdr));
		c->pplen = n > 0 ? (unsigned)n : 0;
	}
	c->connect_pending = 2;
	c->connect_res = 0;
	c->connect_timed_out = false;
	c->ts.tv_sec = cfg->connect_timeout_ms / 1000;
	c->ts.tv_nsec = (long long)(cfg->connect_timeout_ms % 1000) * 1000000;
	sqe = c_sqe(c, &c->bconn_op);
	io_uring_prep_connect(sqe, fd, sa, salen);
	sqe->flags |= IOSQE_IO_LINK;
	sqe = c_sqe(c, &c->btimeout_op);
	io_uring_prep_link_timeout(sqe, &c->ts, 0);
	xchg_timer_arm(c);
}

/* ---- up: request head and body to the backend ------------------------------- */

static void bsend_cqe(struct rp_op *op, int res, uint32_t flags);

/* Frames what has arrived of the request body: extends [fwd, scan). */
static int up_scan(struct l7_conn *c)
{
	const struct rp_http_listener_config *hc = &c->lis->http;

	if (c->req_scanned)
		return 0;
	if (c->req_body == RP_HTTP_BODY_LENGTH) {
		uint64_t n = c->ilen - c->scan;

		if (n > c->req_left)
			n = c->req_left;
		c->scan += (unsigned)n;
		c->req_left -= n;
		c->req_scanned = c->req_left == 0;
		return 0;
	}
	while (c->scan < c->ilen && !c->req_ck.done) {
		struct rp_http_span d;
		int n = rp__http_chunked_decode(&c->req_ck, c->ibuf + c->scan,
						c->ilen - c->scan, &d);

		if (n < 0)
			return 400;
		c->scan += (unsigned)n;
		c->req_body_bytes += d.len;
		if (hc->max_body && c->req_body_bytes > hc->max_body)
			return 413;
	}
	c->req_scanned = c->req_ck.done;
	return 0;
}

static void up_send(struct l7_conn *c)
{
	struct io_uring_sqe *sqe;
	unsigned n = 0;

	if (c->bsend_poll) {
		sqe = c_sqe(c, &c->bsend_op);
		io_uring_prep_poll_add(sqe, c->b->fd, POLLOUT);
		c->up_busy = true;
		return;
	}
	if (c->ppoff < c->pplen) {
		c->up_iov[n].iov_base = c->pphdr + c->ppoff;
		c->up_iov[n++].iov_len = c->pplen - c->ppoff;
	}
	if (c->ooff < c->olen) {
		c->up_iov[n].iov_base = c->obuf + c->ooff;
		c->up_iov[n++].iov_len = c->olen - c->ooff;
	}
	c->up_len = c->scan - c->fwd;
	if (c->up_len) {
		c->up_iov[n].iov_base = c->ibuf + c->fwd;
		c->up_iov[n++].iov_len = c->up_len;
	}
	if (c->b->tls.t) {
		sqe = c_sqe(c, &c->bsend_op);
		tls_prep_send(&c->b->tls, sqe, c->b->fd, c->up_iov, n);
	} else {
		memset(&c->up_msg, 0, sizeof(c->up_msg));
		c->up_msg.msg_iov = c->up_iov;
		c->up_msg.msg_iovlen = n;
		sqe = c_sqe(c, &c->bsend_op);
		io_uring_prep_sendmsg(sqe, c->b->fd, &c->up_msg, MSG_NOSIGNAL);
	}
	c->up_busy = true;
	/* The response is awaited from the first send on: one loop turn
	 * less than waiting for that send's completion. */
	if (!c->down_started) {
		c->down_started = true;
		down_recv(c);
	}
}

static void xchg_check_done(struct l7_conn *c);

/* Moves the request on: send what is framed, read more, or finish. */
static void up_run(struct l7_conn *c)
{
	struct rp_reactor *r = c->sh->r;
	int st;

	if (c->up_busy || c->up_done)
		return;
	st = up_scan(c);
	if (st) {
		r->stats.bad_requests++;
		conn_fail(c, (uint16_t)st);
		return;
	}
	if (c->ppoff < c->pplen || c->ooff < c->olen || c->fwd < c->scan) {
		up_send(c);
		return;
	}
	if (!c->up_head_sent) {
		c->up_head_sent = true;
		if (!c->down_started) {
			c->down_started = true;
			down_recv(c);
		}
	}
	if (c->req_scanned) {
		c->up_done = true;
		xchg_check_done(c);
		return;
	}
	/* More body to come from the client. Once everything read is sent,
	 * the buffer after the head is reused: from then on a retry would
	 * lack the start of the body. */
	if (c->fwd == c->ilen && c->ilen == c->sh->bufsz) {
		c->ilen = c->fwd = c->scan = c->hlen;
		c->body_kept = false;
	}
	if (c->req_body == RP_HTTP_BODY_LENGTH && c->up_head_sent &&
	    splice_start(c, 0, c->req_left)) {
		c->body_kept = false;
		c->ilen = c->fwd = c->scan = c->hlen;
		splice_run(c, 0);
		return;
	}
	c->c_waiting = true;
	c->c_active = r->now_ms;
	xchg_timer_arm(c);
	client_recv(c);
}

/* Whether a failure before any response byte may be retried elsewhere. */
static bool xchg_retriable(const struct l7_conn *c, bool sent)
{
	return !c->resp_started && c->rlen == 0 && c->body_kept &&
	       c->attempts <= c->cl->cfg->retries && (c->idempotent || !sent) &&
	       !c->sh->r->stopping;
}

static void backend_broke(struct l7_conn *c, bool sent)
{
	struct rp_reactor *r = c->sh->r;

	/* A pooled connection the backend had just closed is not the
	 * backend's fault. */
	if (!c->b_reused && c->backend >= 0)
		rp__backend_failed(c->cl, c->backend, "broken connections");
	if (c->b_reused && c->idempotent && !c->resp_started && c->rlen == 0 &&
	    c->body_kept && !r->stopping) {
		/* Try again as if for the first time, the same backend
		 * included: one stale connection says nothing of the others. */
		if (c->backend >= 0)
			c->tried[c->backend / 64] &= ~(1ull << (c->backend % 64));
		c->attempts--;
		conn_quiesce(c, A_RETRY, 0);
		return;
	}
	if (xchg_retriable(c, sent)) {
		conn_quiesce(c, A_RETRY, 0);
		return;
	}
	conn_fail(c, 502);
}

static void bsend_cqe(struct rp_op *op, int res, uint32_t flags)
{
	struct l7_conn *c = rp_container_of(op, struct l7_conn, bsend_op);
	unsigned n;

	c->up_busy = false;
	if (!op_done(c))
		return;
	if (c->b->tls.t && !c->bsend_poll && !tls_send_done(&c->b->tls, &res)) {
		up_send(c); /* the rest of the ciphertext */
		return;
	}
	if (c->sp[0].on) {
		splice_ready(c, 0, res);
		return;
	}
	if (c->bsend_poll) {
		c->bsend_poll = false;
		if (res < 0) {
			backend_broke(c, c->ooff > 0);
			return;
		}
		up_send(c);
		return;
	}
	if (res == -EAGAIN) {
		c->bsend_poll = true;
		up_send(c);
		return;
	}
	if (res < 0) {
		backend_broke(c, c->ooff > 0);
		return;
	}
	c->b_active = c->sh->r->now_ms;
	n = (unsigned)res;
	if (c->ppoff < c->pplen) {
		unsigned h = c->pplen - c->ppoff;

		if (n < h) {
			c->ppoff += n;
			up_run(c);
			return;
		}
		c->ppoff = c->pplen;
		n -= h;
	}
	if (c->ooff < c->olen) {
		unsigned h = c->olen - c->ooff;

		if (n < h) {
			c->ooff += n;
			up_run(c);
			return;
		}
		c->ooff = c->olen;
		n -= h;
	}
	c->fwd += n;
	up_run(c);
}

/* ---- down: the response to the client --------------------------------------- */

static void brecv_cqe(struct rp_op *op, int res, uint32_t flags);

static void down_recv(struct l7_conn *c)
{
	struct io_uring_sqe *sqe = c_sqe(c, &c->brecv_op);
	struct l7_bconn *b = c->b;

	if (c->brecv_poll) {
		io_uring_prep_poll_add(sqe, b->fd, POLLIN | POLLRDHUP);
	} else if (b->tls.t) {
		tls_prep_recv(&b->tls, sqe, b->fd);
	} else {
		io_uring_prep_recv(sqe, b->fd, c->rbuf + c->rlen, c->sh->bufsz - c->rlen,
				   0);
	}
	c->down_recv_busy = true;
	xchg_timer_arm(c);
}

/* Frames what has arrived of the response body: extends [roff, rw). */
static int down_scan(struct l7_conn *c)
{
	if (c->resp_body == RP_HTTP_BODY_CLOSE) {
		c->rscan = c->rw = c->rlen;
		return 0;
	}
	if (c->resp_body == RP_HTTP_BODY_LENGTH) {
		uint64_t n = c->rlen - c->rscan;

		if (n > c->resp_left)
			n = c->resp_left;
		c->rscan += (unsigned)n;
		c->rw = c->rscan;
		c->resp_left -= n;
		return 0;
	}
	if (c->resp_body != RP_HTTP_BODY_CHUNKED)
		return 0;
	while (c->rscan < c->rlen && !c->resp_ck.done) {
		struct rp_http_span d;
		int n = rp__http_chunked_decode(&c->resp_ck, c->rbuf + c->rscan,
						c->rlen - c->rscan, &d);

		if (n < 0)
			return -EBADMSG;
		if (c->dechunk) {
			/* Only the payload goes on; rw <= the data's start. */
			memmove(c->rbuf + c->rw, c->rbuf + c->rscan + d.off, d.len);
			c->rw += d.len;
		}
		c->rscan += (unsigned)n;
	}
	if (!c->dechunk)
		c->rw = c->rscan;
	return 0;
}

static bool down_body_done(const struct l7_conn *c)
{
	switch (c->resp_body) {
	case RP_HTTP_BODY_LENGTH:
		return c->resp_left == 0;
	case RP_HTTP_BODY_CHUNKED:
		return c->resp_ck.done;
	case RP_HTTP_BODY_NONE:
		return true;
	default:
		return false; /* until EOF */
	}
}

static void csend_cqe(struct rp_op *op, int res, uint32_t flags);

static void down_send(struct l7_conn *c)
{
	struct io_uring_sqe *sqe;
	unsigned n = 0;

	if (c->csend_poll) {
		sqe = c_sqe(c, &c->csend_op);
		io_uring_prep_poll_add(sqe, c->cfd, POLLOUT);
		c->csend_busy = c->down_busy = true;
		return;
	}
	if (c->hsend_off < c->hsend_len) {
		c->down_iov[n].iov_base = c->obuf + c->hsend_off;
		c->down_iov[n++].iov_len = c->hsend_len - c->hsend_off;
	}
	if (!c->interim && c->roff < c->rw) {
		c->down_iov[n].iov_base = c->rbuf + c->roff;
		c->down_iov[n++].iov_len = c->rw - c->roff;
	}
	if (c->ctls.t) {
		sqe = c_sqe(c, &c->csend_op);
		tls_prep_send(&c->ctls, sqe, c->cfd, c->down_iov, n);
		c->csend_busy = c->down_busy = true;
		c->resp_started = true;
		return;
	}
	memset(&c->down_msg, 0, sizeof(c->down_msg));
	c->down_msg.msg_iov = c->down_iov;
	c->down_msg.msg_iovlen = n;
	sqe = c_sqe(c, &c->csend_op);
	io_uring_prep_sendmsg(sqe, c->cfd, &c->down_msg, MSG_NOSIGNAL);
	c->csend_busy = c->down_busy = true;
	c->resp_started = true;
}

static void upgrade_start(struct l7_conn *c);
static void down_input(struct l7_conn *c);

/* Moves the response on after a send or a recv. */
static void down_run(struct l7_conn *c)
{
	if (c->down_busy || c->down_done)
		return;
	if (c->gather) {
		/* A small response whose body is on its way: the client gets
		 * it in one send rather than head first, body after. */
		if (c->resp_left) {
			if (!c->down_recv_busy)
				down_recv(c);
			return;
		}
		c->gather = false;
	}
	if (c->hsend_off < c->hsend_len || (!c->interim && c->roff < c->rw)) {
		down_send(c);
		return;
	}
	if (c->interim) {
		/* The 1xx is out: the final head follows in rbuf. */
		c->interim = false;
		c->hsend_len = c->hsend_off = 0;
		memmove(c->rbuf, c->rbuf + c->roff, c->rlen - c->roff);
		c->rlen -= c->roff;
		c->roff = c->rw = c->rscan = 0;
		if (c->rlen)
			down_input(c);
		else
			down_recv(c);
		return;
	}
	if (c->status == 101) {
		upgrade_start(c);
		return;
	}
	if (c->resp_head_done && down_body_done(c)) {
		c->down_done = true;
		xchg_check_done(c);
		return;
	}
	/* Everything framed is sent: start the buffer over. */
	c->rlen = c->roff = c->rw = c->rscan = 0;
	if (c->resp_head_done && c->resp_body == RP_HTTP_BODY_LENGTH &&
	    !c->down_recv_busy && splice_start(c, 1, c->resp_left)) {
		splice_run(c, 1);
		return;
	}
	if (!c->down_recv_busy)
		down_recv(c);
}

static void csend_cqe(struct rp_op *op, int res, uint32_t flags)
{
	struct l7_conn *c = rp_container_of(op, struct l7_conn, csend_op);
	unsigned n;

	c->csend_busy = false;
	c->down_busy = false;
	if (!op_done(c))
		return;
	if (c->ctls.t && !c->csend_poll && !tls_send_done(&c->ctls, &res)) {
		/* A short send: the rest of the ciphertext. */
		if (c->phase == C_ERROR)
			error_send(c);
		else
			down_send(c);
		return;
	}
	if (c->sp[1].on) {
		splice_ready(c, 1, res);
		return;
	}
	if (c->csend_poll) {
		c->csend_poll = false;
		if (res < 0) {
			conn_quiesce(c, A_FAIL, 0);
			return;
		}
		if (c->phase == C_ERROR)
			error_send(c);
		else
			down_send(c);
		return;
	}
	if (res == -EAGAIN) {
		c->csend_poll = true;
		if (c->phase == C_ERROR)
			error_send(c);
		else
			down_send(c);
		return;
	}
	if (res < 0) {
		/* The client is gone: nothing more to tell it. */
		c->resp_started = true;
		conn_quiesce(c, A_FAIL, 0);
		return;
	}
	n = (unsigned)res;
	if (c->phase == C_ERROR) {
		c->hsend_off += n;
		if (c->hsend_off < c->hsend_len)
			error_send(c);
		else
			linger_start(c);
		return;
	}
	c->bytes_out += n;
	if (c->hsend_off < c->hsend_len) {
		unsigned h = c->hsend_len - c->hsend_off;

		if (n < h) {
			c->hsend_off += n;
			down_run(c);
			return;
		}
		c->hsend_off = c->hsend_len;
		n -= h;
	}
	c->roff += n;
	down_run(c);
}

/* The final response head is parsed (@n bytes of rbuf): write the client's
 * version of it and start sending. */
static void resp_head(struct l7_conn *c, struct rp_http_response *resp, unsigned n)
{
	struct l7_shard *sh = c->sh;
	struct rp_reactor *r = sh->r;
	const struct rp_http_listener_config *hc = &c->lis->http;
	struct rp_http_field extra[4];
	unsigned nx = 0, flags = 0;
	int ret;

	if (resp->status >= 100 && resp->status < 200 && resp->status != 101) {
		/* Interim: an HTTP/1.0 client gets none of it. */
		c->roff = n;
		c->rw = c->rscan = n;
		if (c->minor == 0) {
			memmove(c->rbuf, c->rbuf + n, c->rlen - n);
			c->rlen -= n;
			c->roff = c->rw = c->rscan = 0;
			if (c->rlen)
				down_input(c);
			else
				down_recv(c);
			return;
		}
		ret = rp__http_serialize_response(c->rbuf, resp, NULL, 0, 0, c->obuf,
						  sh->bufsz);
		if (ret < 0) {
			r->stats.bad_responses++;
			conn_fail(c, 502);
			return;
		}
		c->interim = true;
		c->hsend_len = (unsigned)ret;
		c->hsend_off = 0;
		down_run(c);
		return;
	}
	c->status = resp->status;
	if (resp->status == 101 && !c->upgrade_req) {
		r->stats.bad_responses++;
		conn_fail(c, 502);
		return;
	}
	if (resp->status >= 500)
		rp__backend_5xx(c->cl, c->backend);
	else
		rp__backend_ok(c->cl, c->backend);
	c->resp_head_done = true;
	c->resp_body = resp->body;
	c->resp_left =
		resp->body == RP_HTTP_BODY_LENGTH ? (uint64_t)resp->content_length : 0;
	c->dechunk = resp->body == RP_HTTP_BODY_CHUNKED && c->minor == 0;
	/* Backends often write the head and a small body separately (nginx:
	 * writev, then sendfile): wait for the rest when all of it fits. */
	c->gather = resp->body == RP_HTTP_BODY_LENGTH &&
		    (uint64_t)resp->content_length > c->rlen - n &&
		    n + (uint64_t)resp->content_length <= sh->bufsz;
	if (resp->body == RP_HTTP_BODY_CHUNKED)
		rp__http_chunked_init(&c->resp_ck, NULL);
	c->resp_keep_alive = resp->keep_alive && resp->body != RP_HTTP_BODY_CLOSE;
	c->client_close = !c->req_keep_alive || r->draining ||
			  resp->body == RP_HTTP_BODY_CLOSE || c->dechunk || !c->up_done;
	if (resp->status == 101) {
		extra[nx++] = (struct rp_http_field){"Connection", "upgrade"};
		extra[nx++] = (struct rp_http_field){"Upgrade", c->upgrade_val};
	} else if (c->client_close) {
		extra[nx++] = (struct rp_http_field){"Connection", "close"};
	} else if (c->minor == 0) {
		extra[nx++] = (struct rp_http_field){"Connection", "keep-alive"};
	}
	if (hc->via)
		extra[nx++] = (struct rp_http_field){
			"Via", resp->minor ? "1.1 ringproxy" : "1.0 ringproxy"};
	if (c->dechunk)
		flags |= RP_HTTP_SER_DECHUNK;
	ret = rp__http_serialize_response(c->rbuf, resp, extra, nx, flags, c->obuf,
					  sh->bufsz);
	if (ret < 0) {
		r->stats.bad_responses++;
		conn_fail(c, 502);
		return;
	}
	c->hsend_len = (unsigned)ret;
	c->hsend_off = 0;
	c->roff = c->rw = c->rscan = n;
	if (resp->status == 101)
		c->rw = c->rscan = c->rlen; /* the server may speak first */
	if (down_scan(c) < 0) {
		r->stats.bad_responses++;
		conn_fail(c, 502);
		return;
	}
	down_run(c);
}

/* Bytes arrived in rbuf: frame the body, or parse the head. */
static void down_input(struct l7_conn *c)
{
	struct l7_shard *sh = c->sh;
	struct rp_reactor *r = sh->r;
	int n;

	if (c->resp_head_done) {
		if (down_scan(c) < 0) {
			r->stats.bad_responses++;
			conn_fail(c, 502);
			return;
		}
		down_run(c);
		return;
	}
	n = rp__http_parse_response(c->rbuf, c->rlen, NULL,
				    (enum rp_http_method)c->method, &sh->resp);
	if (n == -EAGAIN) {
		if (c->rlen == sh->bufsz) {
			r->stats.bad_responses++;
			conn_fail(c, 502);
			return;
		}
		down_recv(c);
		return;
	}
	if (n < 0) {
		r->stats.bad_responses++;
		rp_dbg("reactor %u: bad response from %s: %s", r->id,
		       c->be ? c->be->addr : "?", sh->resp.err);
		rp__backend_failed(c->cl, c->backend, "bad responses");
		conn_fail(c, 502);
		return;
	}
	resp_head(c, &sh->resp, (unsigned)n);
}

static void brecv_cqe(struct rp_op *op, int res, uint32_t flags)
{
	struct l7_conn *c = rp_container_of(op, struct l7_conn, brecv_op);
	struct rp_reactor *r = c->sh->r;

	c->down_recv_busy = false;
	if (!op_done(c))
		return;
	if (c->b->tls.t && !c->brecv_poll &&
	    !tls_recv_done(&c->b->tls, &res, c->rbuf + c->rlen, c->sh->bufsz - c->rlen)) {
		down_recv(c);
		return;
	}
	if (c->b->ktls && res == -EIO && !c->brecv_poll) {
		int ret = rp__ktls_control(c->b->fd);

		if (ret == 1) {
			down_recv(c);
			return;
		}
		res = ret;
	}
	if (c->sp[1].on) {
		splice_ready(c, 1, res);
		return;
	}
	if (c->brecv_poll) {
		c->brecv_poll = false;
		if (res < 0) {
			backend_broke(c, true);
			return;
		}
		down_recv(c);
		return;
	}
	if (res == -EAGAIN || res == -EINTR) {
		c->brecv_poll = res == -EAGAIN;
		down_recv(c);
		return;
	}
	if (res <= 0) {
		if (c->resp_head_done && c->resp_body == RP_HTTP_BODY_CLOSE && res == 0) {
			/* The end of a close-delimited body. */
			c->resp_body = RP_HTTP_BODY_NONE;
			c->resp_keep_alive = false;
			down_run(c);
			return;
		}
		if (!c->resp_head_done && c->rlen == 0) {
			backend_broke(c, true);
			return;
		}
		/* Cut short: a partial head is a bad response; a partial
		 * body can only be signalled by a reset. */
		r->stats.bad_responses++;
		conn_fail(c, 502);
		return;
	}
	c->b_active = r->now_ms;
	c->rlen += (unsigned)res;
	down_input(c);
}

/* ---- splice: bodies of a known length over the threshold -------------------- */

/*
 * Direction @d (0 up, 1 down) moves the rest of its body socket -> pipe ->
 * socket with non-blocking splice(2) from the reactor thread, waiting on ring
 * polls when a socket is not ready: no copy and no thread hop (the tunnel's
 * "splice" strategy, with a byte count).
 */
static bool splice_start(struct l7_conn *c, int d, uint64_t left)
{
	struct rp_reactor *r = c->sh->r;
	uint64_t thr = c->lis->http.splice_threshold;
	struct l7_splice *sp = &c->sp[d];

	if (!thr || left <= thr || c->ctls.t || c->b->tls.t)
		return false;
	if (!sp->have_pipe) {
		if (rp__pipe_get(&r->pipes, &sp->pipe) < 0) {
			r->stats.splice_fallbacks++;
			return false;
		}
		sp->have_pipe = true;
		sp->bytes = 0;
	}
	sp->on = true;
	sp->left = left;
	return true;
}

static void splice_wait(struct l7_conn *c, int d, bool in)
{
	struct io_uring_sqe *sqe;
	struct rp_reactor *r = c->sh->r;

	if (in) {
		sqe = c_sqe(c, d ? &c->brecv_op : &c->crecv_op);
		io_uring_prep_poll_add(sqe, d ? c->b->fd : c->cfd, POLLIN | POLLRDHUP);
		if (d) {
			c->down_recv_busy = true;
		} else {
			c->crecv_busy = true;
			c->c_waiting = true;
			c->c_active = r->now_ms;
		}
	} else {
		sqe = c_sqe(c, d ? &c->csend_op : &c->bsend_op);
		io_uring_prep_poll_add(sqe, d ? c->cfd : c->b->fd, POLLOUT);
		if (d)
			c->csend_busy = c->down_busy = true;
		else
			c->up_busy = true;
	}
	xchg_timer_arm(c);
}

static void splice_end(struct l7_conn *c, int d)
{
	c->sp[d].on = false;
	if (d) {
		c->resp_left = 0;
		down_run(c);
	} else {
		c->req_left = 0;
		c->req_scanned = true;
		up_run(c);
	}
}

static void splice_run(struct l7_conn *c, int d)
{
	struct rp_reactor *r = c->sh->r;
	struct l7_splice *sp = &c->sp[d];
	int src = d ? c->b->fd : c->cfd, dst = d ? c->cfd : c->b->fd;
	ssize_t n;

	for (;;) {
		if (sp->bytes) {
			n = splice(sp->pipe.rfd, NULL, dst, NULL, sp->bytes,
				   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
			if (n > 0) {
				sp->bytes -= (unsigned)n;
				r->stats.bytes[RP_TUNNEL_SPLICE][d] += (uint64_t)n;
				if (d)
					c->bytes_out += (uint64_t)n;
				else
					c->b_active = r->now_ms;
				continue;
			}
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EAGAIN) {
				splice_wait(c, d, false);
				return;
			}
			conn_fail(c, 502);
			return;
		}
		if (!sp->left) {
			splice_end(c, d);
			return;
		}
		n = splice(src, NULL, sp->pipe.wfd, NULL,
			   sp->left < r->pipes.size ? sp->left : r->pipes.size,
			   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		if (n > 0) {
			sp->left -= (uint64_t)n;
			sp->bytes += (unsigned)n;
			if (d)
				c->b_active = r->now_ms;
			else
				c->c_active = r->now_ms;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			splice_wait(c, d, true);
			return;
		}
		/* EOF or an error mid-body: the message is cut. */
		if (d)
			r->stats.bad_responses++;
		conn_fail(c, 502);
		return;
	}
}

/* A poll of a splicing direction completed. */
static void splice_ready(struct l7_conn *c, int d, int res)
{
	if (!d)
		c->c_waiting = false;
	if (res < 0) {
		conn_fail(c, 502);
		return;
	}
	splice_run(c, d);
}

/* ---- the end of an exchange ------------------------------------------------- */

static void xchg_reset(struct l7_conn *c)
{
	c->hlen = 0;
	c->olen = c->ooff = 0;
	c->up_busy = c->up_head_sent = c->up_done = false;
	c->rlen = c->roff = c->rw = c->rscan = 0;
	c->hsend_len = c->hsend_off = 0;
	c->down_busy = c->down_recv_busy = c->down_done = false;
	c->down_started = c->gather = false;
	c->resp_head_done = c->resp_started = c->interim = false;
	c->status = 0;
	c->bytes_out = 0;
	c->c_waiting = false;
	c->cl = NULL;
	c->be = NULL;
	c->origin = NULL;
	c->attempts = 0;
}

static void xchg_check_done(struct l7_conn *c)
{
	struct l7_shard *sh = c->sh;
	struct rp_reactor *r = sh->r;
	struct l7_bconn *b = c->b;

	if (!c->down_done || c->down_busy)
		return;
	if (!c->up_done) {
		/* The backend answered without reading the whole request:
		 * neither connection can carry another exchange. */
		count_status(c);
		conn_log(c);
		conn_quiesce(c, A_LINGER, 0);
		return;
	}
	if (c->up_busy)
		return;
	rp__timer_cancel(&r->wheel, &c->timer);
	count_status(c);
	conn_log(c);
	/* The backend connection goes back to its pool if it is clean. */
	c->b = NULL;
	b->requests++;
	if (c->resp_keep_alive && c->rscan == c->rlen && !c->down_recv_busy &&
	    !r->draining &&
	    (!c->cl->cfg->pool_max_requests ||
	     b->requests < c->cl->cfg->pool_max_requests) &&
	    b->be->nidle < c->cl->cfg->pool_max_idle && !c->cl->cfg->send_proxy)
		bconn_park(b);
	else
		bconn_close(b, c->rscan != c->rlen);
	backend_release(c, false);
	if (c->client_close) {
		/* Nothing of the client's left unread: a plain close (FIN)
		 * cannot destroy the response. */
		if (c->ilen == c->fwd)
			conn_close_now(c, false);
		else
			linger_start(c);
		return;
	}
	/* Next request: what is left in ibuf was pipelined. */
	memmove(c->ibuf, c->ibuf + c->fwd, c->ilen - c->fwd);
	c->ilen -= c->fwd;
	c->fwd = c->scan = 0;
	xchg_reset(c);
	/* The next exchange takes its buffers when it has a request. */
	buf_put(sh, &c->obuf);
	buf_put(sh, &c->rbuf);
	c->phase = C_HEAD;
	if (c->ilen) {
		timer_set(c, T_HEADER, r->now_ms + c->lis->http.header_timeout_ms);
		head_try(c);
	} else {
		timer_set(c, T_KEEPALIVE, r->now_ms + c->lis->http.keepalive_timeout_ms);
		conn_wait(c);
	}
}

/* ---- upgrades ----------------------------------------------------------------- */

/* The 101 is out. Whatever the client sent after its request goes up first
 * (the ring is idle on both sockets now), then the tunnel takes over. */
static void upgrade_start(struct l7_conn *c)
{
	struct l7_shard *sh = c->sh;
	struct rp_reactor *r = sh->r;
	struct l7_bconn *b = c->b;
	int bfd = b->fd;
	struct rp_tls *btls = b->tls.t;
	bool bktls = b->ktls;

	if (c->fwd < c->ilen) {
		/* Client bytes past the request: a client must wait for the
		 * 101; give up rather than reorder them. */
		conn_fail(c, 0);
		return;
	}
	rp__timer_cancel(&r->wheel, &c->timer);
	r->stats.upgrades++;
	count_status(c);
	conn_log(c);
	/* The tunnel owns the descriptor now; the bconn goes (its idle poll,
	 * if one is still due, frees it). */
	b->fd = -1;
	b->tls.t = NULL; /* the tunnel's, with the descriptor */
	c->b = NULL;
	if (b->poll_pending)
		b->closing = true;
	else
		bconn_free(b);
	buf_put(sh, &c->ibuf);
	buf_put(sh, &c->obuf);
	buf_put(sh, &c->rbuf);
	c->phase = C_TUNNEL;
	if (c->ctls.t || btls) {
		c->tt = calloc(1, sizeof(*c->tt));
		if (!c->tt ||
		    rp__tls_tunnel_start(c->tt, r, c->cfd, c->ctls.t, bfd, btls,
					 c->lis->idle_timeout_ms, tls_tunnel_done) < 0) {
			r->stats.oom++;
			close(bfd);
			rp__tls_free(btls);
			rp__reactor_close(r, c->cfd, true);
			conn_free(c);
			return;
		}
		c->tt->done_arg = c;
		c->ctls.t = NULL; /* the tunnel's now */
		return;
	}
	c->t.ktls = (c->ktls ? 1u : 0u) | (bktls ? 2u : 0u);
	rp__tunnel_start(&c->t, r, c->cfd, bfd, RP_TUNNEL_AUTO, c->lis->idle_timeout_ms,
			 tunnel_done);
}

/* ---- accepting ------------------------------------------------------------------ */

/* A connection on @fd, without a buffer yet; NULL (fd closed) when out of
 * memory. */
static void conn_init(struct l7_conn *c, struct l7_shard *sh,
		      const struct rp_listener_config *lis, int fd)
{
	c->sh = sh;
	c->lis = lis;
	c->cfd = fd;
	c->backend = -1;
	c->phase = C_HEAD;
	c->crecv_op.fn = crecv_cqe;
	c->csend_op.fn = csend_cqe;
	c->bconn_op.fn = bconn_cqe;
	c->btimeout_op.fn = btimeout_cqe;
	c->bsend_op.fn = bsend_cqe;
	c->brecv_op.fn = brecv_cqe;
	c->shut_op.fn = shut_cqe;
	c->timer.fn = conn_timer_fired;
	c->next = sh->list;
	if (c->next)
		c->next->pprev = &c->next;
	c->pprev = &sh->list;
	sh->list = c;
	c->fwd_mode = c->lis->mode == RP_MODE_FORWARD;
}

static struct l7_conn *conn_new(struct l7_shard *sh, unsigned listener, int fd)
{
	struct rp_reactor *r = sh->r;
	struct l7_conn *c = rp__pool_get(&sh->conns);

	if (!c) {
		r->stats.oom++;
		close(fd);
		rp__reactor_conn_closed(r);
		return NULL;
	}
	conn_init(c, sh, &r->cfg->listeners[listener], fd);
	return c;
}

/* conn_new() and an input buffer, for a connection whose bytes are here. */
static struct l7_conn *conn_new_buf(struct l7_shard *sh, unsigned listener, int fd)
{
	struct l7_conn *c = conn_new(sh, listener, fd);

	if (c && !(c->ibuf = buf_get(sh))) {
		sh->r->stats.oom++;
		rp__reactor_close(sh->r, fd, true);
		conn_free(c);
		return NULL;
	}
	return c;
}

void rp__l7_adopt(void *l7, unsigned listener, int fd, const void *bytes, unsigned len)
{
	struct l7_shard *sh = l7;
	struct l7_conn *c = conn_new_buf(sh, listener, fd);

	if (!c)
		return;
	RP_BUG_ON(len > sh->bufsz);
	memcpy(c->ibuf, bytes, len);
	c->ilen = len;
	timer_set(c, T_HEADER, sh->r->now_ms + c->lis->http.header_timeout_ms);
	head_try(c);
}

static void l7_accept(void *state, unsigned listener, int fd)
{
	struct l7_shard *sh = state;
	struct rp_reactor *r = sh->r;
	struct l7_conn *c = conn_new(sh, listener, fd);

	if (!c)
		return;
	c->pp_wait = c->lis->accept_proxy;
	timer_set(c, c->pp_wait ? T_HEADER : T_KEEPALIVE,
		  r->now_ms + (c->pp_wait ? c->lis->proxy_timeout_ms
					  : c->lis->http.header_timeout_ms));
	conn_wait(c);
}

/* A client whose TLS handshake is done (tls_front.c). */
static void l7_accept_tls(void *state, unsigned listener, int fd, struct rp_tls *tls,
			  uint8_t *early, unsigned nearly)
{
	struct l7_shard *sh = state;
	struct rp_reactor *r = sh->r;
	struct l7_conn *c =
		nearly ? conn_new_buf(sh, listener, fd) : conn_new(sh, listener, fd);

	if (!c || nearly > sh->bufsz) {
		/* More than a buffer came with the handshake: a client
		 * pipelining that much before any answer is refused. */
		if (c) {
			r->stats.bad_requests++;
			rp__reactor_close(r, fd, true);
			conn_free(c);
		}
		rp__tls_free(tls);
		free(early);
		return;
	}
	c->ctls.t = tls;
	c->ktls = !tls;
	timer_set(c, T_HEADER, r->now_ms + c->lis->http.header_timeout_ms);
	if (nearly) {
		memcpy(c->ibuf, early, nearly);
		c->ilen = nearly;
		free(early);
		head_try(c);
		return;
	}
	free(early);
	conn_wait(c);
}

static void l7_drain(void *state)
{
	struct l7_shard *sh = state;

	/* Idle clients go now; busy ones close after their response. */
	for (struct l7_conn *c = sh->list; c; c = c->next)
		if (c->phase == C_HEAD && c->ilen == 0 && !c->quiescing)
			conn_quiesce(c, A_CLOSE, 0);
	for (struct l7_park *k = sh->parked; k; k = k->next)
		park_end(k, PARK_CLOSE);
	pools_close(sh);
}

static void l7_stop(void *state)
{
	struct l7_shard *sh = state;
	struct l7_conn *c = sh->list, *next;

	for (; c; c = next) {
		next = c->next;
		if (c->phase == C_TUNNEL && c->tt)
			rp__tls_tunnel_abort(c->tt); /* may free c */
		else if (c->phase == C_TUNNEL)
			rp__tunnel_abort(&c->t); /* may free c */
		else
			conn_quiesce(c, A_CLOSE, 0); /* may free c */
	}
	for (struct l7_park *k = sh->parked; k; k = k->next)
		park_end(k, PARK_CLOSE);
	pools_close(sh);
}

static unsigned l7_bufsz(const struct rp_config *cfg)
{
	unsigned need = 16 * 1024;

	/* A head must fit whole, with room for the headers we add. */
	for (unsigned i = 0; i < cfg->nlisteners; i++)
		if (cfg->listeners[i].mode != RP_MODE_TCP &&
		    cfg->listeners[i].http.max_head > need)
			need = cfg->listeners[i].http.max_head;
	return (need + 4096 + 4095) & ~4095u;
}

static int l7_init(struct rp_reverse *rv, void **state)
{
	struct rp_reactor *r = rv->r;
	const struct rp_config *cfg = r->cfg;
	struct l7_shard *sh;
	int ret;

	sh = calloc(1, sizeof(*sh));
	if (!sh)
		return -ENOMEM;
	sh->r = r;
	sh->rv = rv;
	sh->bufsz = l7_bufsz(cfg);
	sh->alog = rp__engine_alog(r->eng);
	ret = rp__pool_init(&sh->conns, sizeof(struct l7_conn), cfg->max_conns);
	if (ret < 0)
		goto fail_free;
	ret = rp__pool_init(&sh->bconns, sizeof(struct l7_bconn), 2 * cfg->max_conns);
	if (ret < 0)
		goto fail_conns;
	/* Buffers are written before they are read (lengths say what holds
	 * bytes): not zeroed, so a recv of a small request touches one page,
	 * not five. A burst's buffers go back to the allocator after it. */
	ret = rp__pool_init_opts(
		&sh->bufs, sh->bufsz, 3 * cfg->max_conns,
		&(struct rp_pool_opts){.keep = L7_BUFS_KEEP, .raw = true});
	if (ret < 0)
		goto fail_bconns;
	ret = rp__pool_init(&sh->parks, sizeof(struct l7_park), cfg->max_conns);
	if (ret < 0)
		goto fail_bufs;
	/* Forward listeners: origins are pooled with the listener's settings
	 * (a synthetic cluster without backends or balancer). */
	for (unsigned i = 0; i < cfg->nlisteners; i++) {
		const struct rp_listener_config *l = &cfg->listeners[i];
		struct rp_cluster_config *cc;

		if (l->mode != RP_MODE_FORWARD)
			continue;
		cc = calloc(1, sizeof(*cc));
		sh->fcl[i] = calloc(1, sizeof(*sh->fcl[i]));
		sh->fcfg[i] = cc;
		if (!cc || !sh->fcl[i]) {
			ret = -ENOMEM;
			goto fail_fwd;
		}
		rp_cluster_config_init(cc, "forward");
		cc->connect_timeout_ms = l->fwd.connect_timeout_ms;
		cc->retries = 0;
		sh->fcl[i]->r = r;
		sh->fcl[i]->cfg = cc;
		if (!sh->nopool.be.cl) {
			sh->nopool_cfg = *cc;
			sh->nopool_cfg.pool_max_idle = 0;
			sh->nopool_cl.r = r;
			sh->nopool_cl.cfg = &sh->nopool_cfg;
			sh->nopool.be.cl = &sh->nopool_cl;
			snprintf(sh->nopool.key, sizeof(sh->nopool.key), "(origin)");
			snprintf(sh->nopool.be.addr, sizeof(sh->nopool.be.addr),
				 "(origin)");
		}
	}
	*state = sh;
	return 0;

fail_fwd:
	for (unsigned i = 0; i < RP_MAX_LISTENERS; i++) {
		free(sh->fcl[i]);
		free(sh->fcfg[i]);
	}
	rp__pool_destroy(&sh->parks);
fail_bufs:
	rp__pool_destroy(&sh->bufs);
fail_bconns:
	rp__pool_destroy(&sh->bconns);
fail_conns:
	rp__pool_destroy(&sh->conns);
fail_free:
	free(sh);
	return ret;
}

static void l7_fini(void *state)
{
	struct l7_shard *sh = state;

	for (unsigned k = 0; k < L7_ORIGIN_BUCKETS; k++) {
		struct l7_origin *o = sh->otab[k], *next;

		for (; o; o = next) {
			next = o->hnext;
			free(o);
		}
	}
	for (unsigned i = 0; i < RP_MAX_LISTENERS; i++) {
		free(sh->fcl[i]);
		free(sh->fcfg[i]);
	}

	/* Parked connections whose poll never completed (a hard stop). */
	for (struct l7_park *k = sh->parked; k; k = k->next)
		rp__tls_free(k->tls);
	rp__pool_destroy(&sh->parks);
	rp__pool_destroy(&sh->bufs);
	rp__pool_destroy(&sh->bconns);
	rp__pool_destroy(&sh->conns);
	free(sh);
}

const struct rp_reverse_half rp__l7_half = {
	.init = l7_init,
	.accept = l7_accept,
	.accept_tls = l7_accept_tls,
	.drain = l7_drain,
	.stop = l7_stop,
	.fini = l7_fini,
};

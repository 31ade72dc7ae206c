// SPDX-License-Identifier: BSD-2-Clause
/*
 * forward.c - the forward proxy's tunnels: HTTP CONNECT, SOCKS5 and
 * SOCKS4/4a on one listener, told apart by the first byte (socks.h).
 *
 * A connection reads its handshake into a buffer, authenticates (Basic for
 * HTTP, RFC 1929 for SOCKS5; SOCKS4 has no password and is refused when
 * users are configured; a password the cache does not know is checked by a
 * helper thread while the connection waits, auth.h), then decides where it
 * may go: the block list and
 * the access rules on the name, resolution on the reactor's ring (dns.h),
 * then the access rules and the SSRF guard on each resolved address. The
 * first allowed address is connected with a linked timeout, the next one
 * tried on failure (the resolver lists IPv6 first, then IPv4). The reply
 * goes out, whatever the client sent after its handshake goes to the origin,
 * and the tunnel (engine/tunnel/) takes both sockets.
 *
 * Absolute-form HTTP requests go to the HTTP half (l7.c), which serves them
 * with this file's resolver and policy (rp__forward_*()).
 *
 * Teardown follows l7.c: every SQE is counted in c->inflight; closing waits
 * for the count to reach zero after cancelling what is in flight.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/alog.h"
#include "forward/forward.h"
#include "forward/policy.h"
#include "forward/socks.h"
#include "http/http.h"
#include "net/dns.h"
#include "net/net.h"
#include "reverse/limits.h"
#include "tunnel/tunnel.h"

#define FW_BUF 16384 /* a handshake or an HTTP head, with its early data */

enum fw_phase {
	F_READ,	   /* reading a handshake step */
	F_AUTH,	   /* waiting for a password check (nothing in flight) */
	F_REPLY,   /* sending a handshake step's answer, then reading on */
	F_RESOLVE, /* waiting for the resolver */
	F_CONNECT, /* connecting to the origin (or the parent) */
	F_PARENT,  /* the parent's handshake */
	F_EARLY,   /* sending the client's early bytes to the origin */
	F_FINAL,   /* sending the final answer, then the tunnel or a close */
	F_TUNNEL,
};

enum fw_step { S_DETECT, S5_GREETING, S5_AUTH, S5_REQUEST, S4_REQUEST, S_HTTP };

/* The parent's handshake: what was sent, whose answer is awaited. */
enum fw_pstep {
	P_HTTP,	     /* CONNECT */
	P_S5_METHOD, /* the greeting: the method reply comes */
	P_S5_AUTH,   /* RFC 1929 credentials: their status comes */
	P_S5_REPLY,  /* the request: the reply comes */
};

struct fw_shard;

struct fw_conn {
	struct rp_tunnel t; /* first: zeroed with the conn */
	struct fw_shard *sh;
	const struct rp_listener_config *lis;
	struct fw_listener *fl;
	struct fw_conn *next, **pprev;
	int cfd, ofd;
	enum fw_phase phase;
	enum fw_step step;
	unsigned inflight;
	bool closing;
	bool reset;	  /* close with RST */
	bool close_after; /* the final answer is an error: close after it */
	struct rp_auth_wait auth;
	bool auth_poll; /* auth_poll_op watches the client while it waits */
	uint8_t *buf;
	unsigned len;	   /* bytes in buf */
	unsigned consumed; /* handshake bytes; after them: early client data */
	uint8_t out[768];  /* answers */
	unsigned out_len, out_off;
	/* where to */
	char host[256]; /* a name, or "" for an address */
	uint16_t port;
	struct sockaddr_storage addrs[RP_DNS_MAX_ADDRS];
	unsigned naddr, next_addr;
	bool acl_allowed; /* an allow rule named this destination */
	int last_err;	  /* of the last connect */
	bool timed_out;
	struct rp_dns_query *q;
	struct __kernel_timespec ts;
	unsigned connect_pending;
	int connect_res;
	struct rp_timer timer; /* handshake deadline */
	/* through a parent proxy: its handshake, and what the parent sent
	 * after its answer (for the client, after ours) */
	bool via_parent, parent_done;
	bool parent_timed_out; /* parent_timeout passed: its op is cancelled */
	enum fw_pstep pstep;
	const char *why;  /* of a refusal or failure: told to HTTP clients, logged */
	char whybuf[320]; /* a why made up here */
	struct sockaddr_storage peer; /* the client, asked once */
	socklen_t peer_len;
	bool peer_known;
	struct sockaddr_storage taddr; /* the target, when it is an address */
	struct sockaddr_storage tried; /* the last address connected to (port set) */
	uint8_t pbuf[1536];	       /* a CONNECT with credentials, or an answer */
	unsigned plen, poff;
	bool psending;
	struct rp_op recv_op, send_op, conn_op, tmo_op, parent_op, auth_poll_op;
};

/* What a forward listener needs, built once per reactor. */
struct fw_listener {
	struct rp_acl *acl;
	struct rp_blocklist *block;
	struct rp_users *users;
	int parent_kind; /* PARENT_NONE, _HTTP or _SOCKS5 */
	struct rp_proxy_url parent_url;
	char parent_basic[RP_BASIC_AUTH_MAX]; /* its Proxy-Authorization, or "" */
};

enum { PARENT_NONE, PARENT_HTTP, PARENT_SOCKS5 };

struct fw_shard {
	struct rp_reactor *r;
	struct rp_reverse *rv;
	struct rp_pool conns;
	struct fw_conn *list;
	struct rp_dns *dns;
	struct rp_fwd_auth *auth; /* when a listener has users */
	struct fw_listener fl[RP_MAX_LISTENERS];
	struct rp_http_request req;   /* scratch */
	struct rp_http_response resp; /* scratch: an HTTP parent's answer */
};

static void fw_read(struct fw_conn *c);
static void fw_send_out(struct fw_conn *c);
static void fw_connect_next(struct fw_conn *c);
static void parent_timeout(struct fw_conn *c);

/* ---- life and death ------------------------------------------------------- */

static struct io_uring_sqe *c_sqe(struct fw_conn *c, struct rp_op *op)
{
	struct io_uring_sqe *sqe = rp__reactor_sqe(c->sh->r);

	io_uring_sqe_set_data(sqe, op);
	c->inflight++;
	return sqe;
}

/* The client's address, asked of the kernel once per connection (rules,
 * the log); NULL when the connection is already gone. */
static const struct sockaddr *fw_peer(struct fw_conn *c)
{
	if (!c->peer_known) {
		c->peer_len = sizeof(c->peer);
		if (getpeername(c->cfd, (struct sockaddr *)&c->peer, &c->peer_len) < 0)
			return NULL;
		c->peer_known = true;
	}
	return (const struct sockaddr *)&c->peer;
}

static void conn_free(struct fw_conn *c)
{
	struct fw_shard *sh = c->sh;
	/* cfd < 0: the client went to the HTTP half (rp__l7_adopt()), which
	 * counts its close. */
	bool handed_off = c->cfd < 0;

	rp__timer_cancel(&sh->r->wheel, &c->timer);
	if (c->buf)
		free(c->buf);
	if (c->pprev) {
		*c->pprev = c->next;
		if (c->next)
			c->next->pprev = c->pprev;
	}
	rp__pool_put(&sh->conns, c);
	if (!handed_off)
		rp__reactor_conn_closed(sh->r);
}

static void conn_finish(struct fw_conn *c)
{
	struct rp_reactor *r = c->sh->r;

	if (c->ofd >= 0)
		rp__reactor_close(r, c->ofd, true);
	rp__reactor_close(r, c->cfd, c->reset);
	conn_free(c);
}

/* Closes once nothing is in flight. */
static void conn_close(struct fw_conn *c, bool reset)
{
	struct rp_reactor *r = c->sh->r;

	if (c->closing)
		return;
	c->closing = true;
	c->reset = reset;
	rp__timer_cancel(&r->wheel, &c->timer);
	if (c->q) {
		rp__dns_cancel(c->q);
		c->q = NULL;
	}
	rp__fwd_auth_cancel(&c->auth);
	if (!c->inflight) {
		conn_finish(c);
		return;
	}
	struct io_uring_sqe *sqe = rp__reactor_sqe(r);

	io_uring_prep_cancel_fd(sqe, c->cfd, IORING_ASYNC_CANCEL_ALL);
	io_uring_sqe_set_data64(sqe, 0);
	if (c->ofd >= 0) {
		sqe = rp__reactor_sqe(r);
		io_uring_prep_cancel_fd(sqe, c->ofd, IORING_ASYNC_CANCEL_ALL);
		io_uring_sqe_set_data64(sqe, 0);
	}
}

/* The target as the client named it: c->host, or the address it gave
 * (bare, in @buf). */
static const char *fw_host(const struct fw_conn *c, char *buf, size_t cap)
{
	if (c->host[0])
		return c->host;
	if (!rp__addr_ip_format((const struct sockaddr *)&c->taddr, buf, cap))
		snprintf(buf, cap, "-");
	return buf;
}

/* Every completion starts here: false when the conn is closing. */
static bool op_done(struct fw_conn *c)
{
	RP_BUG_ON(!c->inflight);
	c->inflight--;
	if (c->closing) {
		if (!c->inflight)
			conn_finish(c);
		return false;
	}
	return true;
}

static void tunnel_done(struct rp_tunnel *t, enum rp_tunnel_end how)
{
	conn_free(rp_container_of(t, struct fw_conn, t));
}

static void deadline_fired(struct rp_timer *t, uint64_t now)
{
	struct fw_conn *c = rp_container_of(t, struct fw_conn, timer);

	if (c->phase == F_PARENT) {
		parent_timeout(c);
		return;
	}
	c->sh->r->stats.header_timeouts++;
	conn_close(c, true);
}

/* ---- answers ---------------------------------------------------------------- */

static void answer_http(struct fw_conn *c, unsigned status, const char *extra)
{
	const char *reason = rp__http_reason(status);
	char body[400];
	int bl = snprintf(body, sizeof(body), "%u %s\n%s%s", status,
			  reason ? reason : "Error", c->why ? c->why : "",
			  c->why ? "\n" : "");
	int n;

	if (bl < 0)
		bl = 0;
	if ((size_t)bl >= sizeof(body))
		bl = (int)sizeof(body) - 1; /* truncated: say what is sent */
	n = snprintf((char *)c->out, sizeof(c->out),
		     "HTTP/1.1 %u %s\r\n%sContent-Type: text/plain\r\n"
		     "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
		     status, reason ? reason : "Error", extra ? extra : "", bl, body);

	c->out_len = n > 0 && (size_t)n < sizeof(c->out) ? (unsigned)n : 0;
	c->out_off = 0;
	c->close_after = true;
	c->phase = F_FINAL;
	fw_send_out(c);
}

/* An access log line for a tunnel request (nothing after the decision is
 * logged: bytes of a tunnel are in the stats), and the answer counted by
 * its class, as the HTTP half counts its responses: DNS failures and other
 * answers the proxy makes are visible without an access log. */
static void fw_log(struct fw_conn *c, unsigned status)
{
	struct rp_reactor *r = c->sh->r;
	struct rp_alog *alog = rp__engine_alog(r->eng);
	static const char *const method[] = {
		[S_DETECT] = "-",	 [S5_GREETING] = "SOCKS5", [S5_AUTH] = "SOCKS5",
		[S5_REQUEST] = "SOCKS5", [S4_REQUEST] = "SOCKS4",  [S_HTTP] = "CONNECT"};
	struct rp_alog_entry e = {0};
	struct timespec ts;
	char target[300], ip[RP_ADDRSTRLEN], tried[RP_ADDRSTRLEN], line[1536];
	size_t n;

	if (status >= 100 && status < 600)
		r->stats.responses[status / 100]++;
	if (!alog)
		return;
	if (c->host[0])
		snprintf(target, sizeof(target), "%s:%u", c->host, c->port);
	else if (c->port &&
		 rp__addr_ip_format((struct sockaddr *)&c->taddr, ip, sizeof(ip)))
		snprintf(target, sizeof(target),
			 c->taddr.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip,
			 c->port);
	else
		snprintf(target, sizeof(target), "-");
	if (fw_peer(c)) {
		e.client = (const struct sockaddr *)&c->peer;
		e.client_len = c->peer_len;
	}
	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	e.start_ms_epoch = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	e.method = method[c->step];
	e.method_len = strlen(e.method);
	e.target = target;
	e.target_len = strlen(target);
	e.minor = 1;
	e.status = status;
	if (c->tried.ss_family) {
		struct rp_addr a = {.ss = c->tried};

		e.backend = rp__addr_format(&a, tried, sizeof(tried));
	}
	e.error = c->why; /* a refusal's or a failure's reason */
	n = rp__alog_format(r->cfg->access_log_format, &e, line, sizeof(line));
	if (!n || !rp__alog_write(alog, r->id, line, n))
		r->stats.log_drops++;
}

/* Answers a refusal or a failure in the client's protocol (@socks5_rep,
 * SOCKS4's rejection, or @http_status with c->why in the body), then
 * closes. */
static void answer_error(struct fw_conn *c, uint8_t socks5_rep, unsigned http_status)
{
	int n = 0;

	fw_log(c, http_status);
	switch (c->step) {
	case S5_GREETING:
	case S5_AUTH:
	case S5_REQUEST:
		n = rp__socks5_build_reply(socks5_rep, NULL, c->out, sizeof(c->out));
		break;
	case S4_REQUEST:
		n = rp__socks4_build_reply(RP_SOCKS4_REJECTED, NULL, c->out,
					   sizeof(c->out));
		break;
	case S_HTTP: {
		char extra[64] = "";

		if (http_status == 407)
			snprintf(extra, sizeof(extra),
				 "Proxy-Authenticate: Basic realm=\"ringproxy\"\r\n");
		else if ((http_status == 429 || http_status == 503) &&
			 c->auth.retry_after_s)
			snprintf(extra, sizeof(extra), "Retry-After: %u\r\n",
				 c->auth.retry_after_s);
		answer_http(c, http_status, extra[0] ? extra : NULL);
		return;
	}
	case S_DETECT:
		conn_close(c, true);
		return;
	}
	c->out_len = n > 0 ? (unsigned)n : 0;
	c->out_off = 0;
	c->close_after = true;
	c->phase = F_FINAL;
	fw_send_out(c);
}

/* Refuses what the client asked for (counted as a bad request), in its
 * protocol, then closes. */
static void refuse(struct fw_conn *c, uint8_t socks5_rep, unsigned http_status)
{
	c->sh->r->stats.bad_requests++;
	answer_error(c, socks5_rep, http_status);
}

/* Refuses a well-formed request that the policy does not allow (rules, the
 * SSRF guard, the block list): 403, SOCKS5 0x02; counted as denied, not as
 * a bad request. */
static void deny(struct fw_conn *c)
{
	c->sh->r->stats.denied++;
	answer_error(c, RP_SOCKS5_NOT_ALLOWED, 403);
}

/* ---- sending -------------------------------------------------------------- */

static void tunnel_start(struct fw_conn *c)
{
	struct rp_reactor *r = c->sh->r;

	fw_log(c, 200);
	rp__timer_cancel(&r->wheel, &c->timer);
	free(c->buf);
	c->buf = NULL;
	c->phase = F_TUNNEL;
	rp__tunnel_start(&c->t, r, c->cfd, c->ofd, c->lis->tunnel,
			 c->lis->idle_timeout_ms, tunnel_done);
}

/* What the client sent after its handshake goes to the origin first. */
static void early_send(struct fw_conn *c)
{
	struct io_uring_sqe *sqe = c_sqe(c, &c->send_op);

	c->phase = F_EARLY;
	io_uring_prep_send(sqe, c->ofd, c->buf + c->consumed, c->len - c->consumed,
			   MSG_NOSIGNAL);
}

/* The answer in c->out is out. */
static void answer_sent(struct fw_conn *c)
{
	if (c->close_after) {
		conn_close(c, false);
		return;
	}
	if (c->phase == F_FINAL) {
		if (c->consumed < c->len)
			early_send(c);
		else
			tunnel_start(c);
		return;
	}
	/* A handshake step's answer: on to the next step (maybe in already). */
	c->phase = F_READ;
	fw_read(c);
}

static void fw_send_out(struct fw_conn *c)
{
	struct io_uring_sqe *sqe;

	if (c->out_off >= c->out_len) {
		answer_sent(c);
		return;
	}
	sqe = c_sqe(c, &c->send_op);
	io_uring_prep_send(sqe, c->cfd, c->out + c->out_off, c->out_len - c->out_off,
			   MSG_NOSIGNAL);
}

static void send_cqe(struct rp_op *op, int res, uint32_t flags)
{
	struct fw_conn *c = rp_container_of(op, struct fw_conn, send_op);

	if (!op_done(c))
		return;
	if (res <= 0) {
		conn_close(c, true);
		return;
	}
	if (c->phase == F_EARLY) {
		c->sh->r->stats.bytes[RP_TUNNEL_COPY][0] += (unsigned)res;
		c->consumed += (unsigned)res;
		if (c->consumed < c->len)
			early_send(c);
		else
			tunnel_start(c);
		return;
	}
	c->out_off += (unsigned)res;
	fw_send_out(c);
}

/* ---- where to: policy, resolution, connect ---------------------------------- */

static void connect_cqe(struct rp_op *op, int res, uint32_t flags);
static void ctimeout_cqe(struct rp_op *op, int res, uint32_t flags);

static void parent_start(struct fw_conn *c);

static void connected(struct fw_conn *c)
{
	struct sockaddr_storage local;
	socklen_t ll = sizeof(local);
	int n = 0;

	if (c->via_parent && !c->parent_done) {
		parent_start(c);
		return;
	}
	getsockname(c->ofd, (struct sockaddr *)&local, &ll);
	switch (c->step) {
	case S5_REQUEST:
		n = rp__socks5_build_reply(RP_SOCKS5_OK, (struct sockaddr *)&local,
					   c->out, sizeof(c->out));
		break;
	case S4_REQUEST:
		n = rp__socks4_build_reply(RP_SOCKS4_GRANTED, (struct sockaddr *)&local,
					   c->out, sizeof(c->out));
		break;
	default:
		n = snprintf((char *)c->out, sizeof(c->out),
			     "HTTP/1.1 200 Connection established\r\n\r\n");
		break;
	}
	c->out_len = n > 0 ? (unsigned)n : 0;
	/* The parent's first bytes of the tunnel follow our answer. */
	if (c->plen > c->poff && c->out_len + (c->plen - c->poff) <= sizeof(c->out)) {
		memcpy(c->out + c->out_len, c->pbuf + c->poff, c->plen - c->poff);
		c->out_len += c->plen - c->poff;
	} else if (c->plen > c->poff) {
		conn_close(c, true); /* more than we hold: rare enough to refuse */
		return;
	}
	c->out_off = 0;
	c->phase = F_FINAL;
	fw_send_out(c);
}

/* ---- through a parent proxy --------------------------------------------- */

/*
 * The parent's handshake runs one message at a time, as RFC 1928 orders it:
 * the greeting, then (after the method reply) RFC 1929 credentials if the
 * parent chose them, then the request. Sending them together breaks servers
 * that read the greeting with one recv(): microsocks takes the request as
 * part of the greeting, answers the method and waits for a request that
 * already came. CONNECT to an HTTP parent is one message and one answer.
 */
static void parent_io(struct fw_conn *c)
{
	struct io_uring_sqe *sqe = c_sqe(c, &c->parent_op);

	if (c->psending)
		io_uring_prep_send(sqe, c->ofd, c->pbuf + c->poff, c->plen - c->poff,
				   MSG_NOSIGNAL);
	else
		io_uring_prep_recv(sqe, c->ofd, c->pbuf + c->plen,
				   sizeof(c->pbuf) - c->plen, 0);
}

/* Sends pbuf[0, @len) to the parent; its answer is read after. */
static void parent_send(struct fw_conn *c, unsigned len, enum fw_pstep next)
{
	c->pstep = next;
	c->plen = len;
	c->poff = 0;
	c->psending = true;
	parent_io(c);
}

/* The parent failed: the client hears it in its protocol (@rep for SOCKS5
 * clients, @status for HTTP ones), @why says what the parent did. */
static void parent_failed(struct fw_conn *c, uint8_t rep, unsigned status,
			  const char *why)
{
	struct rp_reactor *r = c->sh->r;

	r->stats.connect_failures++;
	snprintf(c->whybuf, sizeof(c->whybuf), "parent %s: %s",
		 c->fl->parent_kind == PARENT_HTTP ? "http" : "socks5", why);
	c->why = c->whybuf;
	rp_dbg("reactor %u: forward: %s:%u: %s", r->id,
	       c->host[0] ? c->host : "(address)", c->port, c->why);
	answer_error(c, rep, status);
}

/* What a SOCKS5 reply code tells an HTTP client, and in words. */
static unsigned socks5_rep_status(uint8_t rep)
{
	switch (rep) {
	case RP_SOCKS5_NOT_ALLOWED:
		return 403;
	case RP_SOCKS5_TTL_EXPIRED:
		return 504;
	default:
		return 502;
	}
}

static const char *socks5_rep_text(uint8_t rep)
{
	static const char *const text[] = {
		[RP_SOCKS5_GENERAL_FAILURE] = "general SOCKS server failure",
		[RP_SOCKS5_NOT_ALLOWED] = "connection not allowed by ruleset",
		[RP_SOCKS5_NET_UNREACHABLE] = "network unreachable",
		[RP_SOCKS5_HOST_UNREACHABLE] = "host unreachable",
		[RP_SOCKS5_CONN_REFUSED] = "connection refused",
		[RP_SOCKS5_TTL_EXPIRED] = "TTL expired",
		[RP_SOCKS5_CMD_UNSUPPORTED] = "command not supported",
		[RP_SOCKS5_ATYP_UNSUPPORTED] = "address type not supported",
	};

	return rep < RP_ARRAY_SIZE(text) && text[rep] ? text[rep]
						      : "unassigned reply code";
}

/* The request for the target (RFC 1928 section 4) into pbuf. */
static unsigned socks5_request(struct fw_conn *c)
{
	uint8_t *p = c->pbuf;
	unsigned k = 0;

	p[k++] = 5, p[k++] = RP_SOCKS_CONNECT, p[k++] = 0;
	if (c->host[0]) {
		size_t hl = strlen(c->host);

		p[k++] = RP_SOCKS_ATYP_DOMAIN, p[k++] = (uint8_t)hl;
		memcpy(p + k, c->host, hl);
		k += (unsigned)hl;
	} else if (c->taddr.ss_family == AF_INET6) {
		p[k++] = RP_SOCKS_ATYP_IPV6;
		memcpy(p + k, &((struct sockaddr_in6 *)&c->taddr)->sin6_addr, 16);
		k += 16;
	} else {
		p[k++] = RP_SOCKS_ATYP_IPV4;
		memcpy(p + k, &((struct sockaddr_in *)&c->taddr)->sin_addr, 4);
		k += 4;
	}
	p[k++] = (uint8_t)(c->port >> 8), p[k++] = (uint8_t)c->port;
	return k;
}

/* RFC 1929: VER 1, ULEN, UNAME, PLEN, PASSWD, into pbuf. */
static unsigned socks5_auth(struct fw_conn *c)
{
	const struct rp_proxy_url *u = &c->fl->parent_url;
	size_t ul = strlen(u->user), pl = strlen(u->pass);
	uint8_t *p = c->pbuf;

	p[0] = 1;
	p[1] = (uint8_t)ul;
	memcpy(p + 2, u->user, ul);
	p[2 + ul] = (uint8_t)pl;
	memcpy(p + 3 + ul, u->pass, pl);
	return (unsigned)(3 + ul + pl);
}

/* Bytes of the parent's answer in pbuf[0, plen): 1 for the step's complete
 * answer (its length in poff), 0 when more is needed, -1 with c->why
 * naming the failure (and *@rep, *@status what the client gets). */
static int parent_answer(struct fw_conn *c, uint8_t *rep, unsigned *status)
{
	const uint8_t *p = c->pbuf;
	unsigned need;

	*rep = RP_SOCKS5_GENERAL_FAILURE;
	*status = 502;
	switch (c->pstep) {
	case P_HTTP: {
		struct rp_http_response *resp = &c->sh->resp;
		int n = rp__http_parse_response((const char *)p, c->plen, NULL,
						RP_HTTP_CONNECT, resp);

		if (n == -EAGAIN && c->plen < sizeof(c->pbuf))
			return 0;
		if (n < 0) {
			c->why = n == -EAGAIN ? "answer head too long"
					      : "answer is not HTTP/1.x";
			return -1;
		}
		if (resp->status >= 200 && resp->status < 300) {
			c->poff = (unsigned)n;
			return 1;
		}
		/* Its refusal is the client's answer; a 407 means our
		 * credentials (or their absence) did not do. */
		snprintf(c->whybuf, sizeof(c->whybuf), "answered %u%s", resp->status,
			 resp->status == 407 ? " (proxy authentication required)" : "");
		c->why = c->whybuf;
		*status = resp->status == 403 || resp->status == 504 ? resp->status : 502;
		*rep = resp->status == 403   ? RP_SOCKS5_NOT_ALLOWED
		       : resp->status == 504 ? RP_SOCKS5_TTL_EXPIRED
					     : RP_SOCKS5_GENERAL_FAILURE;
		return -1;
	}
	case P_S5_METHOD:
	case P_S5_AUTH:
		if (c->plen < 2)
			return 0;
		if (c->plen > 2) {
			c->why = "sent more than its answer";
			return -1;
		}
		c->poff = 2;
		return 1;
	case P_S5_REPLY:
		if (c->plen < 2)
			return 0;
		if (p[0] != 5) {
			c->why = "reply is not SOCKS version 5";
			return -1;
		}
		if (p[1] != RP_SOCKS5_OK) {
			snprintf(c->whybuf, sizeof(c->whybuf), "replied %u (%s)", p[1],
				 socks5_rep_text(p[1]));
			c->why = c->whybuf;
			*rep = p[1];
			*status = socks5_rep_status(p[1]);
			return -1;
		}
		if (c->plen < 5)
			return 0;
		need = p[3] == RP_SOCKS_ATYP_IPV4     ? 4
		       : p[3] == RP_SOCKS_ATYP_IPV6   ? 16
		       : p[3] == RP_SOCKS_ATYP_DOMAIN ? 1u + p[4]
						      : 0;
		if (!need) {
			c->why = "reply has an unknown address type";
			return -1;
		}
		if (c->plen < 4 + need + 2)
			return 0;
		c->poff = 4 + need + 2;
		return 1;
	}
	return -1;
}

/* The current step's answer is in: on to the next step, or to the client. */
static void parent_step_done(struct fw_conn *c)
{
	const uint8_t *p = c->pbuf;
	bool creds = c->fl->parent_url.auth;

	switch (c->pstep) {
	case P_S5_METHOD:
		if (p[0] != 5) {
			parent_failed(c, RP_SOCKS5_GENERAL_FAILURE, 502,
				      "method reply is not SOCKS version 5");
			return;
		}
		if (p[1] == RP_SOCKS5_NO_AUTH) {
			parent_send(c, socks5_request(c), P_S5_REPLY);
			return;
		}
		if (p[1] == RP_SOCKS5_USERPASS && creds) {
			parent_send(c, socks5_auth(c), P_S5_AUTH);
			return;
		}
		parent_failed(c, RP_SOCKS5_GENERAL_FAILURE, 502,
			      p[1] == RP_SOCKS5_NO_ACCEPTABLE
				      ? (creds ? "accepts neither no authentication nor "
						 "username/password"
					       : "needs authentication and the parent "
						 "URL has no credentials")
				      : "chose a method we did not offer");
		return;
	case P_S5_AUTH:
		/* RFC 1929 STATUS: 0 is success. */
		if (p[1] != 0) {
			parent_failed(c, RP_SOCKS5_GENERAL_FAILURE, 502,
				      "refused our username/password");
			return;
		}
		parent_send(c, socks5_request(c), P_S5_REPLY);
		return;
	case P_HTTP:
	case P_S5_REPLY:
		break;
	}
	/* The parent's deadline stays armed for our answer to the client. */
	c->parent_done = true;
	connected(c);
}

static void parent_cqe(struct rp_op *op, int res, uint32_t flags)
{
	struct fw_conn *c = rp_container_of(op, struct fw_conn, parent_op);
	unsigned status;
	uint8_t rep;
	int v;

	if (!op_done(c))
		return;
	if (c->parent_timed_out) {
		/* Whatever this op did, the deadline passed first. */
		c->sh->r->stats.connect_timeouts++;
		snprintf(c->whybuf, sizeof(c->whybuf),
			 "parent %s: no answer within %u ms",
			 c->fl->parent_kind == PARENT_HTTP ? "http" : "socks5",
			 c->lis->fwd.parent_timeout_ms);
		c->why = c->whybuf;
		answer_error(c, RP_SOCKS5_HOST_UNREACHABLE, 504);
		return;
	}
	if (res <= 0) {
		parent_failed(c, RP_SOCKS5_GENERAL_FAILURE, 502,
			      res == 0 ? "closed the connection" : strerror(-res));
		return;
	}
	if (c->psending) {
		c->poff += (unsigned)res;
		if (c->poff < c->plen) {
			parent_io(c);
			return;
		}
		c->psending = false;
		c->plen = c->poff = 0;
		parent_io(c);
		return;
	}
	c->plen += (unsigned)res;
	v = parent_answer(c, &rep, &status);
	if (v == 0) {
		parent_io(c);
		return;
	}
	if (v < 0) {
		char why[sizeof(c->whybuf)];

		snprintf(why, sizeof(why), "%s", c->why);
		parent_failed(c, rep, status, why);
		return;
	}
	parent_step_done(c);
}

/* The parent has not answered in time: its op is cancelled, and its CQE
 * answers the client. */
static void parent_timeout(struct fw_conn *c)
{
	struct io_uring_sqe *sqe = rp__reactor_sqe(c->sh->r);

	c->parent_timed_out = true;
	io_uring_prep_cancel(sqe, &c->parent_op, 0);
	io_uring_sqe_set_data64(sqe, 0);
}

/* Asks the parent for a tunnel to the target: CONNECT, or the SOCKS5
 * greeting (its method reply decides what follows). */
static void parent_start(struct fw_conn *c)
{
	const struct rp_listener_config *l = c->lis;
	struct rp_reactor *r = c->sh->r;
	char t[300], ip[RP_ADDRSTRLEN], auth[RP_BASIC_AUTH_MAX + 32];
	uint8_t *p = c->pbuf;
	int n;

	c->phase = F_PARENT;
	rp__timer_cancel(&r->wheel, &c->timer);
	rp__timer_arm(&r->wheel, &c->timer, r->now_ms + l->fwd.parent_timeout_ms);
	if (c->fl->parent_kind == PARENT_SOCKS5) {
		unsigned k = 0;

		p[k++] = 5;
		p[k++] = c->fl->parent_url.auth ? 2 : 1;
		p[k++] = RP_SOCKS5_NO_AUTH;
		if (c->fl->parent_url.auth)
			p[k++] = RP_SOCKS5_USERPASS;
		parent_send(c, k, P_S5_METHOD);
		return;
	}
	if (c->host[0]) {
		snprintf(t, sizeof(t), "%s", c->host);
	} else {
		rp__addr_ip_format((struct sockaddr *)&c->taddr, ip, sizeof(ip));
		snprintf(t, sizeof(t), c->taddr.ss_family == AF_INET6 ? "[%s]" : "%s",
			 ip);
	}
	auth[0] = '\0';
	if (c->fl->parent_basic[0])
		snprintf(auth, sizeof(auth), "Proxy-Authorization: %s\r\n",
			 c->fl->parent_basic);
	n = snprintf((char *)p, sizeof(c->pbuf),
		     "CONNECT %s:%u HTTP/1.1\r\nHost: %s:%u\r\n%s\r\n", t, c->port, t,
		     c->port, auth);
	explicit_bzero(auth, sizeof(auth));
	if (n <= 0 || (size_t)n >= sizeof(c->pbuf)) {
		parent_failed(c, RP_SOCKS5_GENERAL_FAILURE, 502, "CONNECT too long");
		return;
	}
	parent_send(c, (unsigned)n, P_HTTP);
}

/* No address could be connected: the last one's failure is the answer, in
 * RFC 1928's codes as errno maps to them (ETIMEDOUT as TTL expired, as Dante
 * and microsocks answer). */
static void connect_failed(struct fw_conn *c)
{
	int e = c->timed_out ? -ETIMEDOUT : c->last_err;
	uint8_t rep = e == -ETIMEDOUT	   ? RP_SOCKS5_TTL_EXPIRED
		      : e == -ECONNREFUSED ? RP_SOCKS5_CONN_REFUSED
		      : e == -ENETUNREACH  ? RP_SOCKS5_NET_UNREACHABLE
		      : e == -EHOSTUNREACH ? RP_SOCKS5_HOST_UNREACHABLE
					   : RP_SOCKS5_GENERAL_FAILURE;
	const struct sockaddr *a =
		c->tried.ss_family ? (struct sockaddr *)&c->tried : NULL;
	char host[RP_ADDRSTRLEN];

	rp__forward_fail_text(c->whybuf, sizeof(c->whybuf), RP_FWD_FAIL_CONNECT,
			      e ? e : -EIO, fw_host(c, host, sizeof(host)), c->port, a,
			      c->via_parent, c->lis->fwd.connect_timeout_ms);
	c->why = c->whybuf;
	answer_error(c, rep, rp__forward_fail_status(RP_FWD_FAIL_CONNECT, e));
}

static void connect_settled(struct fw_conn *c)
{
	struct rp_reactor *r = c->sh->r;

	if (c->connect_res == 0) {
		connected(c);
		return;
	}
	if (c->timed_out)
		r->stats.connect_timeouts++;
	else
		r->stats.connect_failures++;
	c->last_err = c->connect_res;
	rp__reactor_close(r, c->ofd, false);
	c->ofd = -1;
	fw_connect_next(c);
}

static void connect_cqe(struct rp_op *op, int res, uint32_t flags)
{
	struct fw_conn *c = rp_container_of(op, struct fw_conn, conn_op);

	c->connect_res = res;
	c->connect_pending--;
	if (op_done(c) && !c->connect_pending)
		connect_settled(c);
}

static void ctimeout_cqe(struct rp_op *op, int res, uint32_t flags)
{
	struct fw_conn *c = rp_container_of(op, struct fw_conn, tmo_op);

	if (res == -ETIME)
		c->timed_out = true;
	c->connect_pending--;
	if (op_done(c) && !c->connect_pending)
		connect_settled(c);
}

static bool addr_check(const struct fw_listener *fl, const struct rp_forward_config *fc,
		       const struct sockaddr *client, const char *host,
		       const struct sockaddr *dest, uint16_t port, bool named,
		       const char **why)
{
	enum rp_acl_verdict v = RP_ACL_NONE;

	if (fl->acl)
		v = rp__acl_check(fl->acl, client, host, dest, port, why);
	if (v == RP_ACL_DENY)
		return false;
	if (v == RP_ACL_ALLOW || named || !fc->ssrf_guard)
		return true;
	*why = rp__ssrf_class(dest);
	return *why == NULL;
}

/* Whether @sa may be reached: the access rules, then the SSRF guard. */
static bool addr_allowed(struct fw_conn *c, const struct sockaddr *sa, const char **why)
{
	const struct sockaddr *peer = fw_peer(c);

	if (!peer)
		return false;
	return addr_check(c->fl, &c->lis->fwd, peer, c->host[0] ? c->host : NULL, sa,
			  c->port, c->acl_allowed, why);
}

/* Connects to the next allowed address, or answers the last failure. */
static void fw_connect_next(struct fw_conn *c)
{
	struct rp_reactor *r = c->sh->r;
	const struct rp_forward_config *fc = &c->lis->fwd;
	struct io_uring_sqe *sqe;
	bool any_allowed = c->last_err != 0 || c->timed_out;
	const char *why = NULL;
	int one = 1;

	while (c->next_addr < c->naddr) {
		struct sockaddr_storage *a = &c->addrs[c->next_addr++];
		socklen_t alen = a->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
							  : sizeof(struct sockaddr_in);

		if (c->via_parent) {
			/* the parent's address carries its own port */
		} else if (a->ss_family == AF_INET6) {
			((struct sockaddr_in6 *)a)->sin6_port = htons(c->port);
		} else {
			((struct sockaddr_in *)a)->sin_port = htons(c->port);
		}
		if (!c->via_parent && !addr_allowed(c, (struct sockaddr *)a, &why))
			continue;
		any_allowed = true;
		c->ofd = socket(a->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
				0);
		if (c->ofd < 0) {
			c->last_err = -errno;
			continue;
		}
		setsockopt(c->ofd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->tried = *a;
		c->phase = F_CONNECT;
		c->timed_out = false;
		c->connect_pending = 2;
		c->connect_res = 0;
		c->ts.tv_sec = fc->connect_timeout_ms / 1000;
		c->ts.tv_nsec = (long long)(fc->connect_timeout_ms % 1000) * 1000000;
		sqe = c_sqe(c, &c->conn_op);
		io_uring_prep_connect(sqe, c->ofd, (struct sockaddr *)a, alen);
		sqe->flags |= IOSQE_IO_LINK;
		sqe = c_sqe(c, &c->tmo_op);
		io_uring_prep_link_timeout(sqe, &c->ts, 0);
		return;
	}
	if (!any_allowed) {
		c->why = why ? why : "not allowed";
		rp_dbg("reactor %u: forward: %s:%u refused: %s", r->id,
		       c->host[0] ? c->host : "(address)", c->port, c->why);
		deny(c);
		return;
	}
	connect_failed(c);
}

static void resolved(void *arg, int status, const struct sockaddr_storage *addrs,
		     unsigned n)
{
	struct fw_conn *c = arg;

	c->q = NULL;
	if (status < 0 || !n) {
		/* Whatever the DNS said, the host cannot be reached: RFC
		 * 1928's "host unreachable" (Dante answers the same). */
		if (!status)
			status = -ENOENT;
		rp__forward_fail_text(c->whybuf, sizeof(c->whybuf), RP_FWD_FAIL_DNS,
				      status, c->host, c->port, NULL, false,
				      c->lis->fwd.dns_timeout_ms);
		c->why = c->whybuf;
		answer_error(c, RP_SOCKS5_HOST_UNREACHABLE,
			     rp__forward_fail_status(RP_FWD_FAIL_DNS, status));
		return;
	}
	if (n > RP_DNS_MAX_ADDRS)
		n = RP_DNS_MAX_ADDRS;
	memcpy(c->addrs, addrs, n * sizeof(addrs[0]));
	c->naddr = n;
	c->next_addr = 0;
	fw_connect_next(c);
}

static int name_check(const struct fw_listener *fl, const struct sockaddr *client,
		      const char *host, uint16_t port, bool *named, const char **why)
{
	*named = false;
	*why = NULL;
	if (fl->block && rp__blocklist_match(fl->block, host)) {
		*why = "blocked domain";
		return -EACCES;
	}
	if (fl->acl) {
		enum rp_acl_verdict v =
			rp__acl_check(fl->acl, client, host, NULL, port, why);

		if (v == RP_ACL_DENY)
			return -EACCES;
		/* An allow rule naming the host lets it reach private
		 * addresses (DNS rebinding is then the operator's choice). */
		*named = v == RP_ACL_ALLOW;
	}
	return 0;
}

/* The target is known (c->host or c->addrs[0], c->port): policy, then
 * resolve or connect. */
/* The listener's tunnel rate per client (limits.h): over it, CONNECT gets
 * 429 with Retry-After, SOCKS5 0x02 (not allowed by ruleset), SOCKS4 0x5b,
 * and the connection closes. */
static bool over_rate(struct fw_conn *c)
{
	struct rp_reactor *r = c->sh->r;
	unsigned retry_s;

	if (rp__limits_request(c->sh->rv->limits, (unsigned)(c->lis - r->cfg->listeners),
			       fw_peer(c), r->now_ms, &retry_s))
		return false;
	c->auth.retry_after_s = retry_s;
	c->why = "too many requests from this address";
	answer_error(c, RP_SOCKS5_NOT_ALLOWED, 429);
	return true;
}

static void fw_target(struct fw_conn *c)
{
	if (c->sh->rv->limits && over_rate(c))
		return;
	c->acl_allowed = false;
	if (c->host[0]) {
		if (!fw_peer(c) || name_check(c->fl, fw_peer(c), c->host, c->port,
					      &c->acl_allowed, &c->why) < 0) {
			deny(c);
			return;
		}
	}
	if (c->fl->parent_kind != PARENT_NONE) {
		/* The parent resolves names; an address is checked here. */
		const char *why = NULL;

		if (!c->host[0]) {
			struct sockaddr_storage *a = &c->addrs[0];

			if (a->ss_family == AF_INET6)
				((struct sockaddr_in6 *)a)->sin6_port = htons(c->port);
			else
				((struct sockaddr_in *)a)->sin_port = htons(c->port);
			if (!addr_allowed(c, (struct sockaddr *)a, &why)) {
				c->why = why ? why : "not allowed";
				deny(c);
				return;
			}
			c->taddr = *a;
		}
		c->via_parent = true;
		c->addrs[0] = c->fl->parent_url.addr.ss;
		c->naddr = 1;
		c->next_addr = 0;
		fw_connect_next(c);
		return;
	}
	if (c->host[0]) {
		c->phase = F_RESOLVE;
		c->q = rp__dns_resolve(c->sh->dns, c->host, resolved, c);
		return;
	}
	c->next_addr = 0;
	fw_connect_next(c);
}

/* ---- failures, in words ------------------------------------------------------ */

unsigned rp__forward_fail_status(enum rp_fwd_fail kind, int err)
{
	if (err == -ETIMEDOUT || kind == RP_FWD_FAIL_RESPONSE)
		return 504;
	if (kind == RP_FWD_FAIL_DNS && err == -EINVAL)
		return 400;
	return 502;
}

/* What the resolver's status (dns.h) means. */
static const char *dns_text(int err)
{
	switch (err) {
	case -ENOENT:
		return "no such name (NXDOMAIN)";
	case -ENODATA:
		return "the name has no address (no A or AAAA record)";
	case -ECONNREFUSED:
		return "the DNS servers failed or refused to answer (SERVFAIL, REFUSED "
		       "or "
		       "unreachable)";
	case -EINVAL:
		return "not a valid host name";
	case -ENOMEM:
		return "too many lookups in flight";
	default:
		return "resolver error";
	}
}

void rp__forward_fail_text(char *out, size_t cap, enum rp_fwd_fail kind, int err,
			   const char *host, uint16_t port, const struct sockaddr *addr,
			   bool parent, unsigned timeout_ms)
{
	char target[300], ip[RP_ADDRSTRLEN], at[RP_ADDRSTRLEN + 8] = "", why[96];

	snprintf(target, sizeof(target), strchr(host, ':') ? "[%s]:%u" : "%s:%u", host,
		 port);
	if (addr && rp__addr_ip_format(addr, ip, sizeof(ip)))
		snprintf(at, sizeof(at),
			 addr->sa_family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip,
			 ntohs(addr->sa_family == AF_INET6
				       ? ((const struct sockaddr_in6 *)(const void *)addr)
						 ->sin6_port
				       : ((const struct sockaddr_in *)(const void *)addr)
						 ->sin_port));
	if (err == -ETIMEDOUT)
		snprintf(why, sizeof(why), "no answer within %u ms", timeout_ms);
	else if (kind == RP_FWD_FAIL_DNS)
		snprintf(why, sizeof(why), "%s", dns_text(err));
	else
		snprintf(why, sizeof(why), "%s", strerror(err < 0 ? -err : err));
	switch (kind) {
	case RP_FWD_FAIL_DNS:
		snprintf(out, cap, "cannot resolve %s: %s", target, why);
		return;
	case RP_FWD_FAIL_RESPONSE:
		snprintf(out, cap, "no response from %s%s within %u ms",
			 parent ? "the parent proxy " : "", parent ? at : target,
			 timeout_ms);
		return;
	case RP_FWD_FAIL_CONNECT:
	case RP_FWD_FAIL_NONE:
		break;
	}
	if (parent)
		snprintf(out, cap, "cannot connect to the parent proxy %s for %s: %s", at,
			 target, why);
	else if (!host[0] || !at[0] || !strcmp(target, at))
		snprintf(out, cap, "cannot connect to %s: %s", at[0] ? at : target, why);
	else
		snprintf(out, cap, "cannot connect to %s (%s): %s", target, at, why);
}

/* ---- what the HTTP half asks for absolute-form requests -------------------- */

int rp__forward_parent(void *fwd, unsigned li, struct rp_addr *out)
{
	const struct fw_listener *fl = &((struct fw_shard *)fwd)->fl[li];

	if (fl->parent_kind != PARENT_NONE)
		*out = fl->parent_url.addr;
	return fl->parent_kind;
}

const char *rp__forward_parent_auth(void *fwd, unsigned li)
{
	const struct fw_listener *fl = &((struct fw_shard *)fwd)->fl[li];

	return fl->parent_kind == PARENT_HTTP && fl->parent_basic[0] ? fl->parent_basic
								     : NULL;
}

struct rp_dns *rp__forward_dns(void *fwd)
{
	return ((struct fw_shard *)fwd)->dns;
}

enum rp_auth_verdict rp__forward_http_auth(void *fwd, unsigned li,
					   const struct sockaddr *client, const char *buf,
					   const struct rp_http_request *req,
					   struct rp_auth_wait *w)
{
	struct fw_shard *sh = fwd;
	char user[256], pass[256];
	enum rp_auth_verdict v;
	int k;

	w->retry_after_s = 0;
	if (!sh->fl[li].users)
		return w->verdict = RP_AUTH_OK;
	k = rp__http_find_header(buf, req->headers, req->nheaders, "proxy-authorization",
				 19, 0);
	if (k < 0 || rp__basic_auth_decode(buf + req->headers[k].value.off,
					   req->headers[k].value.len, user, sizeof(user),
					   pass, sizeof(pass)) < 0) {
		if (rp__fwd_auth_blocked(sh->auth, w, client))
			return w->verdict;
		return w->verdict = RP_AUTH_DENIED;
	}
	v = rp__fwd_auth_check(sh->auth, w, sh->fl[li].users, client, user, strlen(user),
			       pass, strlen(pass));
	explicit_bzero(pass, sizeof(pass));
	return v;
}

int rp__forward_name_check(void *fwd, unsigned li, const struct sockaddr *client,
			   const char *host, uint16_t port, bool *named)
{
	const char *why;

	return name_check(&((struct fw_shard *)fwd)->fl[li], client, host, port, named,
			  &why);
}

bool rp__forward_addr_check(void *fwd, unsigned li, const struct sockaddr *client,
			    const char *host, const struct sockaddr *dest, bool named)
{
	struct fw_shard *sh = fwd;
	const char *why = NULL;
	uint16_t port = dest->sa_family == AF_INET6
				? ntohs(((const struct sockaddr_in6 *)(const void *)dest)
						->sin6_port)
				: ntohs(((const struct sockaddr_in *)(const void *)dest)
						->sin_port);

	return addr_check(&sh->fl[li], &sh->r->cfg->listeners[li].fwd, client, host, dest,
			  port, named, &why);
}

/* ---- handshakes ------------------------------------------------------------ */

static void set_target_addr(struct fw_conn *c, const struct rp_socks_target *t)
{
	c->port = t->port;
	if (t->atyp == 3) {
		snprintf(c->host, sizeof(c->host), "%s", t->host);
		c->naddr = 0;
	} else {
		c->host[0] = 0;
		c->addrs[0] = t->addr;
		c->taddr = t->addr;
		c->naddr = 1;
	}
}

/* "host:port" of a CONNECT (authority-form); 0 or -EINVAL. */
static int http_target(struct fw_conn *c, const struct rp_http_request *req)
{
	const char *h = (const char *)c->buf + req->target_host.off;
	unsigned hl = req->target_host.len;
	char tmp[256];
	struct rp_addr a;

	if (!req->port || !hl || hl >= sizeof(tmp))
		return -EINVAL;
	c->port = req->port;
	if (h[0] == '[') {
		char lit[RP_ADDRSTRLEN];

		snprintf(lit, sizeof(lit), "%.*s:%u", (int)hl, h, c->port);
		if (rp__addr_parse(lit, &a, false) < 0)
			return -EINVAL;
		c->host[0] = 0;
		c->addrs[0] = a.ss;
		c->taddr = a.ss;
		c->naddr = 1;
		return 0;
	}
	memcpy(tmp, h, hl);
	tmp[hl] = 0;
	/* A dotted quad is an address target, as a bracketed IPv6 literal
	 * is: through a parent, the SSRF guard judges it here (the parent
	 * never would), and without one the resolver gives it back anyway. */
	if (inet_pton(AF_INET, tmp, &((struct sockaddr_in *)&a.ss)->sin_addr) == 1) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&c->taddr;

		memset(&c->taddr, 0, sizeof(c->taddr));
		sin->sin_family = AF_INET;
		sin->sin_addr = ((struct sockaddr_in *)&a.ss)->sin_addr;
		sin->sin_port = htons(c->port);
		c->host[0] = 0;
		c->addrs[0] = c->taddr;
		c->naddr = 1;
		return 0;
	}
	snprintf(c->host, sizeof(c->host), "%s", tmp);
	return 0;
}

/* A verdict that refuses: answered in the client's protocol (true). */
static bool auth_refused(struct fw_conn *c)
{
	struct rp_reactor *r = c->sh->r;
	enum rp_auth_verdict v = c->auth.verdict;

	c->auth.verdict = RP_AUTH_NONE;
	switch (v) {
	case RP_AUTH_OK:
		return false;
	case RP_AUTH_THROTTLED:
		c->why = "too many failed logins from this address";
		r->stats.bad_requests++;
		break;
	case RP_AUTH_BUSY:
		c->why = "too many password checks waiting; try again";
		break;
	default:
		r->stats.bad_requests++;
		break;
	}
	if (c->step == S5_AUTH) {
		/* RFC 1929 has one failure status: 0x01, then close. */
		c->out_len =
			(unsigned)rp__socks5_build_auth_reply(0, c->out, sizeof(c->out));
		c->out_off = 0;
		c->close_after = true;
		c->phase = F_FINAL;
		fw_send_out(c);
		return true;
	}
	answer_error(c, 0, v == RP_AUTH_THROTTLED ? 429 : v == RP_AUTH_BUSY ? 503 : 407);
	return true;
}

/* A CONNECT whose credentials are decided (c->auth.verdict). */
static void http_connect(struct fw_conn *c, const struct rp_http_request *req)
{
	if (auth_refused(c))
		return;
	if (http_target(c, req) < 0) {
		refuse(c, 0, 400);
		return;
	}
	fw_target(c);
}

/* The RFC 1929 step, its credentials decided: success, or a refusal. */
static void socks5_authed(struct fw_conn *c)
{
	if (auth_refused(c))
		return;
	c->out_len = (unsigned)rp__socks5_build_auth_reply(1, c->out, sizeof(c->out));
	c->out_off = 0;
	c->step = S5_REQUEST;
	c->phase = F_REPLY;
	fw_send_out(c);
}

/* The step that waited for c->auth.verdict goes on. */
static void fw_auth_go(struct fw_conn *c)
{
	struct rp_http_request *req = &c->sh->req;

	c->phase = F_READ;
	if (c->step == S5_AUTH) {
		socks5_authed(c);
		return;
	}
	/* The head is still in buf and parses as it did: the scratch
	 * request was another connection's in the meantime. */
	if (rp__http_parse_request((const char *)c->buf, c->len, NULL, req) < 0) {
		refuse(c, 0, 400);
		return;
	}
	http_connect(c, req);
}

/* A helper's verdict: the watch on the client goes first (its CQE goes on),
 * so that nothing of the wait is in flight once the connection moves on. */
static void fw_auth_done(struct rp_auth_wait *w)
{
	struct fw_conn *c = rp_container_of(w, struct fw_conn, auth);
	struct io_uring_sqe *sqe;

	if (!c->auth_poll) {
		fw_auth_go(c);
		return;
	}
	sqe = rp__reactor_sqe(c->sh->r);
	io_uring_prep_poll_remove(sqe, (uint64_t)(uintptr_t)&c->auth_poll_op);
	io_uring_sqe_set_data64(sqe, 0);
}

static void auth_poll_cqe(struct rp_op *op, int res, uint32_t flags)
{
	struct fw_conn *c = rp_container_of(op, struct fw_conn, auth_poll_op);

	c->auth_poll = false;
	if (!op_done(c))
		return;
	if (c->auth.verdict != RP_AUTH_NONE) {
		fw_auth_go(c); /* removed after the verdict came */
		return;
	}
	/* A reset or a hang-up: the client is gone, and so is its check if
	 * no helper started it. A FIN alone may be a half-close whose
	 * sender still reads: the verdict answers it. */
	if (res > 0 && (res & (POLLERR | POLLHUP)))
		conn_close(c, true);
}

/* The check is queued: watch the client meanwhile (nothing else is in
 * flight on it, and data it sends early must stay unread). */
static void auth_wait(struct fw_conn *c)
{
	struct io_uring_sqe *sqe = c_sqe(c, &c->auth_poll_op);

	c->phase = F_AUTH;
	io_uring_prep_poll_add(sqe, c->cfd, POLLRDHUP);
	c->auth_poll = true;
}

static void step_http(struct fw_conn *c)
{
	struct rp_http_request *req = &c->sh->req;
	int n = rp__http_parse_request((const char *)c->buf, c->len, NULL, req);

	if (n == -EAGAIN) {
		if (c->len == FW_BUF) {
			refuse(c, 0, 431);
			return;
		}
		fw_read(c);
		return;
	}
	if (n < 0) {
		refuse(c, 0, req->err_status ? req->err_status : 400);
		return;
	}
	c->consumed = (unsigned)n;
	c->sh->r->stats.requests++;
	if (req->method_id != RP_HTTP_CONNECT) {
		if (req->form == RP_HTTP_ABSOLUTE_FORM && c->sh->rv->l7) {
			/* Plain HTTP through the proxy: the HTTP half serves
			 * it (keep-alive, origin pools, anonymity). */
			struct rp_reactor *r = c->sh->r;
			unsigned li = (unsigned)(c->lis - r->cfg->listeners);

			r->stats.requests--; /* counted again there */
			rp__l7_adopt(c->sh->rv->l7, li, c->cfd, c->buf, c->len);
			c->cfd = -1;
			conn_free(c);
			return;
		}
		/* origin-form is not a proxy request */
		refuse(c, 0, 400);
		return;
	}
	if (rp__forward_http_auth(c->sh, (unsigned)(c->lis - c->sh->r->cfg->listeners),
				  fw_peer(c), (const char *)c->buf, req,
				  &c->auth) == RP_AUTH_PENDING) {
		auth_wait(c); /* fw_auth_done() goes on */
		return;
	}
	http_connect(c, req);
}

/* Parses what has arrived for the current step; reads more when short. */
static void fw_step(struct fw_conn *c)
{
	struct rp_socks_error err = {0};
	int n;

	switch (c->step) {
	case S_DETECT:
		switch (rp__fwd_detect(c->buf[0])) {
		case RP_FWD_SOCKS5:
			c->step = S5_GREETING;
			break;
		case RP_FWD_SOCKS4:
			c->step = S4_REQUEST;
			break;
		case RP_FWD_HTTP:
			c->step = S_HTTP;
			break;
		}
		fw_step(c);
		return;
	case S5_GREETING: {
		struct rp_socks5_greeting g;
		uint8_t m;

		n = rp__socks5_parse_greeting(c->buf, c->len, &g, &err);
		if (n == -EAGAIN)
			break;
		if (n < 0) {
			/* "no acceptable methods", then close */
			c->sh->r->stats.bad_requests++;
			c->out_len = (unsigned)rp__socks5_build_method(
				RP_SOCKS5_NO_ACCEPTABLE, c->out, sizeof(c->out));
			c->out_off = 0;
			c->close_after = true;
			c->phase = F_FINAL;
			fw_send_out(c);
			return;
		}
		m = rp__socks5_choose_method(&g, c->fl->users != NULL);
		c->consumed = (unsigned)n;
		c->out_len = (unsigned)rp__socks5_build_method(m, c->out, sizeof(c->out));
		c->out_off = 0;
		if (m == RP_SOCKS5_NO_ACCEPTABLE) {
			c->sh->r->stats.bad_requests++;
			c->close_after = true;
		}
		c->step = m == RP_SOCKS5_USERPASS ? S5_AUTH : S5_REQUEST;
		c->phase = F_REPLY;
		fw_send_out(c);
		return;
	}
	case S5_AUTH: {
		struct rp_socks5_auth a;
		enum rp_auth_verdict v;

		n = rp__socks5_parse_auth(c->buf, c->len, &a, &err);
		if (n == -EAGAIN)
			break;
		if (n < 0) {
			/* a failure status, then close (RFC 1929) */
			c->sh->r->stats.bad_requests++;
			c->out_len = (unsigned)rp__socks5_build_auth_reply(
				0, c->out, sizeof(c->out));
			c->out_off = 0;
			c->close_after = true;
			c->phase = F_FINAL;
			fw_send_out(c);
			return;
		}
		c->consumed = (unsigned)n;
		v = rp__fwd_auth_check(c->sh->auth, &c->auth, c->fl->users, fw_peer(c),
				       a.user, a.ulen, a.pass, a.plen);
		explicit_bzero(&a, sizeof(a));
		if (v == RP_AUTH_PENDING) {
			auth_wait(c); /* fw_auth_done() goes on */
			return;
		}
		socks5_authed(c);
		return;
	}
	case S5_REQUEST: {
		struct rp_socks5_request rq;

		n = rp__socks5_parse_request(c->buf, c->len, &rq, &err);
		if (n == -EAGAIN)
			break;
		if (n < 0) {
			refuse(c, err.rep, 400);
			return;
		}
		c->consumed = (unsigned)n;
		c->sh->r->stats.requests++;
		if (rq.cmd != RP_SOCKS_CONNECT) {
			refuse(c, RP_SOCKS5_CMD_UNSUPPORTED, 400);
			return;
		}
		set_target_addr(c, &rq.dst);
		fw_target(c);
		return;
	}
	case S4_REQUEST: {
		struct rp_socks4_request rq;

		n = rp__socks4_parse_request(c->buf, c->len, &rq, &err);
		if (n == -EAGAIN)
			break;
		if (n < 0 || rq.cmd != RP_SOCKS_CONNECT || c->fl->users) {
			/* SOCKS4 carries no password: refused when users
			 * are configured. */
			refuse(c, 0, 400);
			return;
		}
		c->consumed = (unsigned)n;
		c->sh->r->stats.requests++;
		set_target_addr(c, &rq.dst);
		fw_target(c);
		return;
	}
	case S_HTTP:
		step_http(c);
		return;
	}
	/* -EAGAIN: more bytes needed. */
	if (c->len == FW_BUF) {
		conn_close(c, true);
		return;
	}
	fw_read(c);
}

static void recv_cqe(struct rp_op *op, int res, uint32_t flags)
{
	struct fw_conn *c = rp_container_of(op, struct fw_conn, recv_op);

	if (!op_done(c))
		return;
	if (res <= 0) {
		conn_close(c, res < 0);
		return;
	}
	c->len += (unsigned)res;
	fw_step(c);
}

/* The next step: drop what the last one consumed, parse what is left, or
 * read more. */
static void fw_read(struct fw_conn *c)
{
	struct io_uring_sqe *sqe;

	if (c->phase == F_READ && c->consumed) {
		memmove(c->buf, c->buf + c->consumed, c->len - c->consumed);
		c->len -= c->consumed;
		c->consumed = 0;
		if (c->len) {
			fw_step(c);
			return;
		}
	}
	sqe = c_sqe(c, &c->recv_op);
	io_uring_prep_recv(sqe, c->cfd, c->buf + c->len, FW_BUF - c->len, 0);
}

/* ---- the half's ops ----------------------------------------------------------- */

static void fw_accept(void *state, unsigned listener, int fd)
{
	struct fw_shard *sh = state;
	struct rp_reactor *r = sh->r;
	struct fw_conn *c = rp__pool_get(&sh->conns);

	if (!c) {
		r->stats.oom++;
		close(fd);
		rp__reactor_conn_closed(r);
		return;
	}
	c->sh = sh;
	c->lis = &r->cfg->listeners[listener];
	c->fl = &sh->fl[listener];
	c->cfd = fd;
	c->ofd = -1;
	c->recv_op.fn = recv_cqe;
	c->send_op.fn = send_cqe;
	c->conn_op.fn = connect_cqe;
	c->tmo_op.fn = ctimeout_cqe;
	c->parent_op.fn = parent_cqe;
	c->timer.fn = deadline_fired;
	c->auth.done = fw_auth_done;
	c->auth_poll_op.fn = auth_poll_cqe;
	c->next = sh->list;
	if (c->next)
		c->next->pprev = &c->next;
	c->pprev = &sh->list;
	sh->list = c;
	c->buf = malloc(FW_BUF);
	if (!c->buf) {
		r->stats.oom++;
		rp__reactor_close(r, fd, true);
		conn_free(c);
		return;
	}
	c->phase = F_READ;
	c->step = S_DETECT;
	/* The whole handshake, resolution and connect included. */
	rp__timer_arm(&r->wheel, &c->timer,
		      r->now_ms + c->lis->fwd.connect_timeout_ms +
			      c->lis->fwd.dns_timeout_ms +
			      c->lis->http.header_timeout_ms);
	fw_read(c);
}

static void fw_stop(void *state)
{
	struct fw_shard *sh = state;
	struct fw_conn *c = sh->list, *next;

	for (; c; c = next) {
		next = c->next;
		if (c->phase == F_TUNNEL)
			rp__tunnel_abort(&c->t);
		else
			conn_close(c, true);
	}
}

static void fw_fini(void *state)
{
	struct fw_shard *sh = state;

	for (unsigned i = 0; i < RP_MAX_LISTENERS; i++) {
		explicit_bzero(&sh->fl[i].parent_url, sizeof(sh->fl[i].parent_url));
		explicit_bzero(sh->fl[i].parent_basic, sizeof(sh->fl[i].parent_basic));
		rp__acl_free(sh->fl[i].acl);
		rp__blocklist_free(sh->fl[i].block);
		rp__users_free(sh->fl[i].users);
	}
	if (sh->dns)
		rp__dns_fini(sh->dns);
	rp__fwd_auth_free(sh->auth);
	rp__pool_destroy(&sh->conns);
	free(sh);
}

static int fw_init(struct rp_reverse *rv, void **state)
{
	struct rp_reactor *r = rv->r;
	const struct rp_config *cfg = r->cfg;
	const struct rp_forward_config *dc = NULL;
	struct fw_shard *sh;
	char err[256];
	int ret;

	sh = calloc(1, sizeof(*sh));
	if (!sh)
		return -ENOMEM;
	sh->r = r;
	sh->rv = rv;
	ret = rp__pool_init(&sh->conns, sizeof(struct fw_conn), cfg->max_conns);
	if (ret < 0) {
		free(sh);
		return ret;
	}
	for (unsigned i = 0; i < cfg->nlisteners; i++) {
		const struct rp_forward_config *fc = &cfg->listeners[i].fwd;

		if (cfg->listeners[i].mode != RP_MODE_FORWARD)
			continue;
		if (!dc)
			dc = fc; /* one resolver per reactor: the first listener's */
		ret = rp__acl_build(fc->acl, fc->nacl, &sh->fl[i].acl, err, sizeof(err));
		if (ret == 0 && fc->blocklist_file[0])
			ret = rp__blocklist_load(fc->blocklist_file, &sh->fl[i].block,
						 err, sizeof(err));
		if (ret == 0 && fc->users_file[0])
			ret = rp__users_load(fc->users_file, &sh->fl[i].users, err,
					     sizeof(err));
		if (ret == 0 && fc->parent[0]) {
			struct fw_listener *fl = &sh->fl[i];

			ret = rp__proxy_url_parse(fc->parent, &fl->parent_url);
			if (ret < 0) {
				snprintf(err, sizeof(err), "bad parent URL");
			} else {
				fl->parent_kind = fl->parent_url.scheme == RP_PROXY_HTTP
							  ? PARENT_HTTP
							  : PARENT_SOCKS5;
				if (fl->parent_kind == PARENT_HTTP &&
				    fl->parent_url.auth &&
				    rp__basic_auth_encode(fl->parent_url.user,
							  fl->parent_url.pass,
							  fl->parent_basic,
							  sizeof(fl->parent_basic)) < 0) {
					ret = -EINVAL;
					snprintf(err, sizeof(err),
						 "bad parent credentials");
				}
			}
		}
		if (ret < 0) {
			rp_err("reactor %u: forward listener: %s", r->id, err);
			goto fail;
		}
	}
	if (dc) {
		struct rp_dns_config d = {
			.timeout_ms = dc->dns_timeout_ms,
			.min_ttl_s = dc->dns_min_ttl_s,
			.max_ttl_s = dc->dns_max_ttl_s,
			.servers = dc->dns_servers,
			.hosts_file = dc->hosts_file,
			.cache_entries = 4096,
		};

		ret = rp__dns_init(&sh->dns, r, &d, err, sizeof(err));
		if (ret < 0) {
			rp_err("reactor %u: resolver: %s", r->id, err);
			goto fail;
		}
	}
	for (unsigned i = 0; i < cfg->nlisteners && !sh->auth; i++) {
		if (!sh->fl[i].users)
			continue;
		ret = rp__fwd_auth_new(r, &sh->auth);
		if (ret < 0)
			goto fail;
	}
	*state = sh;
	return 0;
fail:
	fw_fini(sh);
	return ret;
}

const struct rp_reverse_half rp__forward_half = {
	.init = fw_init,
	.accept = fw_accept,
	.stop = fw_stop,
	.fini = fw_fini,
};

// SPDX-License-Identifier: BSD-2-Clause
/*
 * health.c - active health checks. Each cluster that has them is checked by
 * one reactor only (cluster k by reactor k % reactors), through that
 * reactor's ring: a connect with a linked timeout (tcp), followed for http by
 * a GET and the status line of the answer, also under the timeout. A backend
 * goes down after `fall` failed checks in a row and up after `rise` passed
 * ones; each change is sent to every reactor as a cluster message
 * (RP_CMSG_CHECK over MSG_RING, outlier.h), which applies it to its own view
 * of the cluster (rp__cluster_message). Backends start up: traffic flows
 * from the first moment and the checks take away what fails.
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "reverse/health.h"

/* The status line is all a check reads. */
#define HC_BUF 512

enum hc_step { HC_IDLE, HC_CONNECT, HC_SEND, HC_RECV };

struct hc_backend {
	struct hc_cluster *hc;
	unsigned index;
	int fd;
	enum hc_step step;
	unsigned pending; /* CQEs due for the current step */
	int res;
	bool timed_out;
	bool up;
	unsigned passes, fails; /* in a row */
	uint64_t deadline;	/* ms: the whole check */
	unsigned len;		/* sent, or received */
	struct __kernel_timespec ts;
	struct rp_op op, timeout_op;
	char buf[HC_BUF];
};

struct hc_cluster {
	struct rp_reactor *r;
	unsigned index; /* of the cluster */
	const struct rp_cluster_config *cfg;
	struct rp_timer tick;
	bool stopping;
	char req[2 * RP_ROUTE_STR + 128];
	unsigned req_len;
	struct hc_backend be[];
};

static void check_next(struct hc_backend *hb);

static void verdict(struct hc_backend *hb, bool ok, const char *why)
{
	struct hc_cluster *hc = hb->hc;
	const struct rp_health_config *h = &hc->cfg->health;
	struct rp_reactor *r = hc->r;
	char a[RP_ADDRSTRLEN];
	bool was = hb->up;

	if (ok) {
		hb->fails = 0;
		if (!hb->up && ++hb->passes >= h->rise)
			hb->up = true;
	} else {
		hb->passes = 0;
		if (hb->up && ++hb->fails >= h->fall)
			hb->up = false;
	}
	if (hb->up == was)
		return;
	rp__addr_format(&hc->cfg->backends[hb->index], a, sizeof(a));
	if (hb->up)
		rp_warn("cluster %s: backend %s is up (%u checks passed)", hc->cfg->name,
			a, h->rise);
	else
		rp_warn("cluster %s: backend %s is down (%u checks failed, last: %s)",
			hc->cfg->name, a, h->fall, why);
	for (unsigned i = 0, n = rp__engine_nreactors(r->eng); i < n; i++)
		rp__reactor_send(
			r, i,
			rp__cmsg_encode(RP_CMSG_CHECK, hc->index, hb->index, hb->up));
}

static void check_end(struct hc_backend *hb, bool ok, const char *why)
{
	struct rp_reactor *r = hb->hc->r;

	if (hb->fd >= 0) {
		struct io_uring_sqe *sqe = rp__reactor_sqe(r);

		io_uring_prep_close(sqe, hb->fd);
		io_uring_sqe_set_data64(sqe, 0);
		hb->fd = -1;
	}
	hb->step = HC_IDLE;
	if (!hb->hc->stopping && !r->stopping)
		verdict(hb, ok, why);
}

/* Queues the step's operation, linked to what is left of the deadline. */
static void step_submit(struct hc_backend *hb, struct io_uring_sqe *sqe)
{
	struct rp_reactor *r = hb->hc->r;
	uint64_t left = hb->deadline > r->now_ms ? hb->deadline - r->now_ms : 1;

	io_uring_sqe_set_data(sqe, &hb->op);
	sqe->flags |= IOSQE_IO_LINK;
	hb->ts.tv_sec = (long long)(left / 1000);
	hb->ts.tv_nsec = (long long)(left % 1000) * 1000000;
	sqe = rp__reactor_sqe(r);
	io_uring_prep_link_timeout(sqe, &hb->ts, 0);
	io_uring_sqe_set_data(sqe, &hb->timeout_op);
	hb->pending = 2;
	hb->res = 0;
	hb->timed_out = false;
}

static void step_settled(struct hc_backend *hb)
{
	struct hc_cluster *hc = hb->hc;
	const struct rp_health_config *h = &hc->cfg->health;
	struct io_uring_sqe *sqe;
	int res = hb->res;

	if (hc->stopping || hc->r->stopping) {
		check_end(hb, false, "stopping");
		return;
	}
	if (res < 0 || (res == 0 && hb->step != HC_CONNECT)) {
		check_end(hb, false,
			  hb->timed_out ? "timeout"
			  : res == 0	? "closed without a status line"
					: strerror(-res));
		return;
	}
	switch (hb->step) {
	case HC_CONNECT:
		if (h->type == RP_CHECK_TCP) {
			check_end(hb, true, NULL);
			return;
		}
		hb->step = HC_SEND;
		hb->len = 0;
		break;
	case HC_SEND:
		hb->len += (unsigned)res;
		if (hb->len == hc->req_len) {
			hb->step = HC_RECV;
			hb->len = 0;
		}
		break;
	case HC_RECV: {
		char *eol;
		unsigned st;

		hb->len += (unsigned)res;
		eol = memmem(hb->buf, hb->len, "\r\n", 2);
		if (!eol) {
			if (hb->len == sizeof(hb->buf)) {
				check_end(hb, false, "no status line");
				return;
			}
			break;
		}
		if (eol - hb->buf < 12 || memcmp(hb->buf, "HTTP/1.", 7) ||
		    hb->buf[8] != ' ' || sscanf(hb->buf + 9, "%3u", &st) != 1) {
			check_end(hb, false, "not an HTTP response");
			return;
		}
		if (h->expect_status ? st != h->expect_status : st < 200 || st >= 400) {
			check_end(hb, false, "unexpected status");
			return;
		}
		check_end(hb, true, NULL);
		return;
	}
	case HC_IDLE:
		RP_BUG_ON(1);
	}
	sqe = rp__reactor_sqe(hc->r);
	if (hb->step == HC_SEND)
		io_uring_prep_send(sqe, hb->fd, hc->req + hb->len, hc->req_len - hb->len,
				   MSG_NOSIGNAL);
	else
		io_uring_prep_recv(sqe, hb->fd, hb->buf + hb->len,
				   sizeof(hb->buf) - hb->len, 0);
	step_submit(hb, sqe);
}

static void op_cqe(struct rp_op *op, int res, uint32_t flags)
{
	struct hc_backend *hb = rp_container_of(op, struct hc_backend, op);

	hb->res = res;
	if (--hb->pending == 0)
		step_settled(hb);
}

static void timeout_cqe(struct rp_op *op, int res, uint32_t flags)
{
	struct hc_backend *hb = rp_container_of(op, struct hc_backend, timeout_op);

	if (res == -ETIME)
		hb->timed_out = true;
	if (--hb->pending == 0)
		step_settled(hb);
}

static void check_next(struct hc_backend *hb)
{
	struct hc_cluster *hc = hb->hc;
	struct rp_reactor *r = hc->r;
	const struct rp_addr *a = &hc->cfg->backends[hb->index];
	struct io_uring_sqe *sqe;

	hb->fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (hb->fd < 0) {
		/* Out of descriptors says nothing about the backend. */
		rp_dbg("cluster %s: health check: socket: %s", hc->cfg->name,
		       strerror(errno));
		return;
	}
	hb->step = HC_CONNECT;
	hb->deadline = r->now_ms + hc->cfg->health.timeout_ms;
	sqe = rp__reactor_sqe(r);
	io_uring_prep_connect(sqe, hb->fd, (const struct sockaddr *)&a->ss, a->len);
	step_submit(hb, sqe);
}

static void tick(struct rp_timer *t, uint64_t now)
{
	struct hc_cluster *hc = rp_container_of(t, struct hc_cluster, tick);

	if (hc->stopping || hc->r->stopping)
		return;
	for (unsigned i = 0; i < hc->cfg->nbackends; i++)
		if (hc->be[i].step == HC_IDLE) /* a slow check is not doubled */
			check_next(&hc->be[i]);
	rp__timer_arm(&hc->r->wheel, &hc->tick, now + hc->cfg->health.interval_ms);
}

int rp__health_start(struct rp_reverse *rv, unsigned k, struct hc_cluster **out)
{
	const struct rp_cluster_config *cfg = rv->cl[k].cfg;
	const struct rp_health_config *h = &cfg->health;
	struct hc_cluster *hc;
	char a[RP_ADDRSTRLEN];
	int n;

	*out = NULL;
	hc = calloc(1, sizeof(*hc) + cfg->nbackends * sizeof(hc->be[0]));
	if (!hc)
		return -ENOMEM;
	hc->r = rv->r;
	hc->index = k;
	hc->cfg = cfg;
	hc->tick.fn = tick;
	for (unsigned i = 0; i < cfg->nbackends; i++) {
		struct hc_backend *hb = &hc->be[i];

		hb->hc = hc;
		hb->index = i;
		hb->fd = -1;
		hb->up = true;
		hb->op.fn = op_cqe;
		hb->timeout_op.fn = timeout_cqe;
	}
	if (h->type == RP_CHECK_HTTP) {
		rp__addr_format(&cfg->backends[0], a, sizeof(a));
		n = snprintf(
			hc->req, sizeof(hc->req),
			"GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: ringproxy-check\r\n"
			"Connection: close\r\n\r\n",
			h->path[0] ? h->path : "/", h->host[0] ? h->host : a);
		if (n < 0 || (size_t)n >= sizeof(hc->req)) {
			free(hc);
			return -EINVAL;
		}
		hc->req_len = (unsigned)n;
	}
	/* The first round soon, spread a little by cluster. */
	rp__timer_arm(&rv->r->wheel, &hc->tick, rv->r->now_ms + 10 + k);
	*out = hc;
	return 0;
}

void rp__health_stop(struct hc_cluster *hc)
{
	/* Checks in flight end on their own (the reactor is stopping); their
	 * memory stays until rp__health_free(). */
	hc->stopping = true;
	rp__timer_cancel(&hc->r->wheel, &hc->tick);
}

void rp__health_free(struct hc_cluster *hc)
{
	for (unsigned i = 0; i < hc->cfg->nbackends; i++)
		if (hc->be[i].fd >= 0)
			close(hc->be[i].fd);
	free(hc);
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * probe.c - finds out once, at start-up, what this kernel's io_uring can do:
 * which opcodes exist, which setup flags it takes, and whether multishot
 * accept/recv, provided-buffer rings, bundles and the kTLS ULP really work
 * (the multishot ones are exercised on loopback, not guessed from versions).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/core.h"
#include "core/uring_compat.h"

#ifndef TCP_ULP
#define TCP_ULP 31
#endif

#define PROBE_USER_DATA 1

static const unsigned flag_ladder[] = {
	IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
		IORING_SETUP_COOP_TASKRUN,
	IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN,
	IORING_SETUP_COOP_TASKRUN,
	0,
};

int rp__ring_setup(struct io_uring *ring, unsigned entries, unsigned flags,
		   unsigned *used)
{
	int ret = -EINVAL;

	for (unsigned i = 0; i < RP_ARRAY_SIZE(flag_ladder); i++) {
		struct io_uring_params p;
		unsigned f = flag_ladder[i] & flags;

		if (i && f == (flag_ladder[i - 1] & flags))
			continue;
		memset(&p, 0, sizeof(p));
		p.flags = f | IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
		p.cq_entries = entries * 4;
		ret = io_uring_queue_init_params(entries, ring, &p);
		if (ret == -EINVAL) {
			/* Older kernels lack SUBMIT_ALL; try once more bare. */
			p.flags &= ~IORING_SETUP_SUBMIT_ALL;
			ret = io_uring_queue_init_params(entries, ring, &p);
		}
		if (ret == 0) {
			*used = f;
			return 0;
		}
		if (ret != -EINVAL)
			return ret;
	}
	return ret;
}

static int wait_one(struct io_uring *ring, struct io_uring_cqe **cqe)
{
	struct __kernel_timespec ts = {.tv_sec = 1};

	return io_uring_submit_and_wait_timeout(ring, cqe, 1, &ts, NULL);
}

static void drain_ring(struct io_uring *ring)
{
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts = {.tv_nsec = 20 * 1000000};

	io_uring_submit(ring);
	while (io_uring_wait_cqe_timeout(ring, &cqe, &ts) == 0)
		io_uring_cqe_seen(ring, cqe);
}

static bool probe_multishot_accept(struct io_uring *ring)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	bool ok = false;
	int lfd, cfd = -1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return false;
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(lfd, 4) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &len) < 0)
		goto out;
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_multishot_accept(sqe, lfd, NULL, NULL, SOCK_CLOEXEC);
	sqe->user_data = PROBE_USER_DATA;
	io_uring_submit(ring);
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (cfd < 0 || connect(cfd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		goto out_cancel;
	if (wait_one(ring, &cqe) == 0) {
		ok = cqe->res >= 0 && (cqe->flags & IORING_CQE_F_MORE);
		if (cqe->res >= 0)
			close(cqe->res);
		io_uring_cqe_seen(ring, cqe);
	}
out_cancel:
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_cancel64(sqe, PROBE_USER_DATA, 0);
	sqe->user_data = 0;
	drain_ring(ring);
out:
	if (cfd >= 0)
		close(cfd);
	close(lfd);
	return ok;
}

static bool probe_buf_ring(struct io_uring *ring, bool *multishot_recv)
{
	struct rp_bufring b;
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	int sv[2];

	*multishot_recv = false;
	if (rp__bufring_init(&b, ring, 0, 2, 64) < 0)
		return false;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0) {
		sqe = io_uring_get_sqe(ring);
		io_uring_prep_recv_multishot(sqe, sv[0], NULL, 0, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = 0;
		sqe->user_data = PROBE_USER_DATA;
		io_uring_submit(ring);
		if (write(sv[1], "x", 1) == 1 && wait_one(ring, &cqe) == 0) {
			*multishot_recv = cqe->res == 1 &&
					  (cqe->flags & IORING_CQE_F_MORE) &&
					  (cqe->flags & IORING_CQE_F_BUFFER);
			io_uring_cqe_seen(ring, cqe);
		}
		sqe = io_uring_get_sqe(ring);
		io_uring_prep_cancel64(sqe, PROBE_USER_DATA, 0);
		sqe->user_data = 0;
		drain_ring(ring);
		close(sv[0]);
		close(sv[1]);
	}
	rp__bufring_destroy(&b, ring);
	return true;
}

static bool probe_ktls(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int ret;

	if (fd < 0)
		return false;
	/* The ULP is looked up (and its module loaded) before the socket state
	 * is checked: ENOENT means no kTLS; ENOTCONN means it exists. */
	ret = setsockopt(fd, SOL_TCP, TCP_ULP, "tls", sizeof("tls"));
	ret = ret == 0 || errno == ENOTCONN;
	close(fd);
	return ret;
}

int rp__probe_features(struct rp_features *f, char *err, size_t errlen)
{
	struct io_uring ring;
	struct io_uring_probe *probe;
	int ret;

	memset(f, 0, sizeof(*f));
	ret = rp__ring_setup(&ring, 16, flag_ladder[0], &f->ring_flags);
	if (ret < 0) {
		FILE *fp = fopen("/proc/sys/kernel/io_uring_disabled", "r");
		int disabled = 0;

		if (fp) {
			if (fscanf(fp, "%d", &disabled) != 1)
				disabled = 0;
			fclose(fp);
		}
		f->uring_errno = -ret;
		if (ret == -EPERM && disabled)
			snprintf(err, errlen,
				 "io_uring is disabled by sysctl "
				 "kernel.io_uring_disabled=%d; "
				 "set it to 0 (sysctl -w kernel.io_uring_disabled=0)%s",
				 disabled,
				 disabled == 1 ? " or run ringproxy as root / in "
						 "kernel.io_uring_group"
					       : "");
		else if (ret == -EPERM || ret == -ENOSYS)
			snprintf(err, errlen,
				 "io_uring is not available (%s): a seccomp profile or "
				 "container runtime blocks io_uring_setup; allow it "
				 "(e.g. docker --security-opt seccomp=unconfined) or run "
				 "on "
				 "the host",
				 strerror(-ret));
		else
			snprintf(err, errlen, "io_uring_setup failed: %s",
				 strerror(-ret));
		return ret;
	}
	f->features = ring.features;
	f->cqe_skip = ring.features & IORING_FEAT_CQE_SKIP;
	f->ext_arg = ring.features & IORING_FEAT_EXT_ARG;
	f->bundle = ring.features & IORING_FEAT_RECVSEND_BUNDLE;

	probe = io_uring_get_probe_ring(&ring);
	if (probe) {
#define OP(field, op) f->field = io_uring_opcode_supported(probe, op)
		OP(op_splice, IORING_OP_SPLICE);
		OP(op_msg_ring, IORING_OP_MSG_RING);
		OP(op_send_zc, IORING_OP_SEND_ZC);
		OP(op_shutdown, IORING_OP_SHUTDOWN);
		OP(op_connect, IORING_OP_CONNECT);
		OP(op_poll, IORING_OP_POLL_ADD);
		OP(op_cancel, IORING_OP_ASYNC_CANCEL);
		OP(op_link_timeout, IORING_OP_LINK_TIMEOUT);
		OP(op_accept, IORING_OP_ACCEPT);
		OP(op_recv, IORING_OP_RECV);
		OP(op_send, IORING_OP_SEND);
#undef OP
		io_uring_free_probe(probe);
	}
	if (f->op_accept)
		f->multishot_accept = probe_multishot_accept(&ring);
	f->buf_ring = probe_buf_ring(&ring, &f->multishot_recv);
	if (!f->buf_ring)
		f->bundle = false;
	f->ktls_ulp = probe_ktls();
	io_uring_queue_exit(&ring);

	if (!f->op_accept || !f->op_connect || !f->op_recv || !f->op_send ||
	    !f->op_poll || !f->op_cancel || !f->op_link_timeout || !f->op_msg_ring) {
		snprintf(err, errlen,
			 "this kernel's io_uring lacks operations ringproxy needs "
			 "(accept, connect, recv, send, poll, cancel, link timeout, "
			 "msg_ring: Linux 5.18 or newer)");
		return -EOPNOTSUPP;
	}
	return 0;
}

/*
 * Two lists, so that the start-up line never advertises what no data path
 * uses: the features ringproxy's code paths use when the kernel has them
 * (multishot accept for every listener, the buffer ring and bundles for copy
 * pumps, splice for ring-splice tunnels, MSG_RING for control, the shutdown
 * op for HTTP half-closes, the tls ULP for the kTLS handoff), then those only
 * probed so far.
 */
void rp__features_describe(const struct rp_features *f, char *buf, size_t len)
{
	snprintf(buf, len,
		 "%cmultishot-accept %cbuf-ring %cbundle %csplice %cmsg-ring "
		 "%cshutdown %cktls (probed, not used yet: %csend-zc "
		 "%cmultishot-recv %ccqe-skip)",
		 f->multishot_accept ? '+' : '-', f->buf_ring ? '+' : '-',
		 f->bundle ? '+' : '-', f->op_splice ? '+' : '-',
		 f->op_msg_ring ? '+' : '-', f->op_shutdown ? '+' : '-',
		 f->ktls_ulp ? '+' : '-', f->op_send_zc ? '+' : '-',
		 f->multishot_recv ? '+' : '-', f->cqe_skip ? '+' : '-');
}

void rp__ring_flags_describe(unsigned flags, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s",
		 flags & IORING_SETUP_SINGLE_ISSUER ? "SINGLE_ISSUER|" : "",
		 flags & IORING_SETUP_DEFER_TASKRUN ? "DEFER_TASKRUN|" : "",
		 flags & IORING_SETUP_COOP_TASKRUN ? "COOP_TASKRUN|" : "", "");
	if (!*buf)
		snprintf(buf, len, "default");
	else
		buf[strlen(buf) - 1] = '\0';
}

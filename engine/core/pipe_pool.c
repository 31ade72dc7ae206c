// SPDX-License-Identifier: BSD-2-Clause
/*
 * pipe_pool.c - per-reactor pipes for the splice tunnels. Creating a pipe is
 * two syscalls (pipe2 + F_SETPIPE_SZ), so empty pipes are cached; the total a
 * reactor holds is capped by its share of fs.pipe-user-pages-soft.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"

#define PIPE_SOFT_PATH "/proc/sys/fs/pipe-user-pages-soft"

unsigned rp__pipe_budget(unsigned size, unsigned reactors)
{
	unsigned long soft = 16384; /* the kernel's default */
	unsigned pages = (size + 4095) / 4096;
	FILE *f = fopen(PIPE_SOFT_PATH, "r");

	if (f) {
		if (fscanf(f, "%lu", &soft) != 1)
			soft = 16384;
		fclose(f);
	}
	if (!soft) /* 0 means no soft limit */
		soft = 1ul << 20;
	if (!pages)
		pages = 1;
	if (!reactors)
		reactors = 1;
	/* Keep a quarter for everything else the user runs. */
	soft = soft * 3 / 4;
	return (unsigned)(soft / pages / reactors);
}

int rp__pipe_pool_init(struct rp_pipe_pool *pp, unsigned size, unsigned max_live)
{
	memset(pp, 0, sizeof(*pp));
	pp->size = size;
	pp->max_live = max_live;
	pp->max_free = max_live < 256 ? max_live : 256;
	if (pp->max_free) {
		pp->free = calloc(pp->max_free, sizeof(*pp->free));
		if (!pp->free)
			return -ENOMEM;
	}
	return 0;
}

int rp__pipe_get(struct rp_pipe_pool *pp, struct rp_pipe *out)
{
	int fds[2];

	if (pp->nfree) {
		*out = pp->free[--pp->nfree];
		return 0;
	}
	if (pp->live >= pp->max_live)
		return -EAGAIN;
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0)
		return -errno;
	/* Best effort: a smaller pipe still works, only slower. */
	if (pp->size)
		(void)fcntl(fds[1], F_SETPIPE_SZ, (int)pp->size);
	out->rfd = fds[0];
	out->wfd = fds[1];
	pp->live++;
	return 0;
}

void rp__pipe_put(struct rp_pipe_pool *pp, struct rp_pipe *p, bool empty)
{
	if (p->rfd < 0)
		return;
	if (empty && pp->nfree < pp->max_free) {
		pp->free[pp->nfree++] = *p;
	} else {
		close(p->rfd);
		close(p->wfd);
		pp->live--;
	}
	p->rfd = p->wfd = -1;
}

void rp__pipe_pool_destroy(struct rp_pipe_pool *pp)
{
	while (pp->nfree) {
		struct rp_pipe *p = &pp->free[--pp->nfree];
		close(p->rfd);
		close(p->wfd);
	}
	free(pp->free);
	memset(pp, 0, sizeof(*pp));
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * engine_int.h - the engine object as the reactors see it: start-up
 * rendezvous, exit accounting and the control-message codes, and the limits
 * the engine derives at creation. Private to engine/core/.
 */
#ifndef RP_ENGINE_INT_H
#define RP_ENGINE_INT_H

#include <pthread.h>

#include "core/core.h"

enum rp_ctl {
	RP_CTL_DRAIN = 1,
	RP_CTL_STOP = 2,
	/* res >= RP_CTL_SERVICE: res - RP_CTL_SERVICE is a service message */
	RP_CTL_SERVICE = 1 << 24,
};

struct rp_engine {
	struct rp_snapshot *snap; /* the configuration the reactors run */
	struct rp_features feat;
	unsigned nreactors;
	struct rp_reactor *reactors; /* cache-line aligned array */
	pthread_t *threads;
	bool *started;

	/* Start-up rendezvous and exit accounting: control path only. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned ready;
	unsigned exited;
	int start_error;
	char start_msg[256];
	bool go;
	bool abort_start;

	struct rp_alog *alog; /* the access log, or NULL */

	struct io_uring ctl_ring; /* the control thread's, for MSG_RING */
	bool ctl_ring_ok;

	struct rp_helpers *helpers; /* helper.c; NULL: none */
};

/*
 * The connections per reactor when max_conns is 0: what the open-file limit
 * @nofile leaves after @reserve descriptors, shared by @reactors (0 counts
 * as 1) at two descriptors a connection (the client's, and the backend's or
 * destination's); at least RP_AUTO_CONNS_MIN (a limit too low to serve is
 * met by accept pausing on EMFILE instead), at most RP_AUTO_CONNS_MAX (the
 * largest --max-conns).
 */
#define RP_AUTO_CONNS_MIN 32
#define RP_AUTO_CONNS_MAX 10000000
unsigned rp__conns_for_fds(uint64_t nofile, uint64_t reserve, unsigned reactors);

void *rp__reactor_main(void *arg);
void rp__engine_reactor_ready(struct rp_engine *e, struct rp_reactor *r, int ret,
			      const char *err);
/* Blocks until the control thread says go (true) or abort (false). */
bool rp__engine_wait_go(struct rp_engine *e);
void rp__engine_reactor_exited(struct rp_engine *e);

/* Helper threads (helper.c): @threads of them (0: none), each reactor's
 * queue holding at most @queue jobs (rounded up to a power of two). Started
 * before the reactors, stopped after they exited and before their rings
 * close. 0, or -errno with the reason in @err. */
int rp__helpers_start(struct rp_engine *e, unsigned threads, unsigned queue, char *err,
		      size_t errlen);
void rp__helpers_stop(struct rp_engine *e);
/* At a reactor's exit, before its service frees the jobs it queued: queued
 * jobs are dropped and the ones running awaited (one job at most per
 * helper), so no helper touches that reactor's memory afterwards. */
void rp__helpers_quiesce(struct rp_reactor *r);

#endif

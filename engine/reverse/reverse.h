/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * reverse.h - the reverse-proxy services. For now the L4 TCP proxy: accept,
 * pick a backend round robin (skipping ones passively marked down), connect
 * with a timeout and bounded retries on other backends, then tunnel.
 */
#ifndef RP_REVERSE_H
#define RP_REVERSE_H

#include "core/core.h"

extern const struct rp_service_ops rp__l4_service;

/* Round-robin pick over @n backends starting at *@next, skipping those whose
 * down_until is after @now and those set in @tried (bit i = backend i).
 * Returns the index and advances *@next, or -1 when none is eligible. */
int rp__rr_pick(const uint64_t *down_until, unsigned n, unsigned *next, uint64_t tried,
		uint64_t now);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * reverse.h - the reverse-proxy services. For now the L4 TCP proxy: accept,
 * pick a backend with the configured balancer (passively marked-down ones
 * skipped), connect with a timeout and bounded retries on other backends,
 * then tunnel.
 */
#ifndef RP_REVERSE_H
#define RP_REVERSE_H

#include "core/core.h"

extern const struct rp_service_ops rp__l4_service;

#endif

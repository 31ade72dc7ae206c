/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * health.h - active health checks of a cluster's backends, run by one
 * reactor for the whole engine; verdicts reach every reactor as cluster
 * messages (RP_CMSG_CHECK, applied by rp__cluster_message()).
 */
#ifndef RP_HEALTH_H
#define RP_HEALTH_H

#include "reverse/reverse.h"

struct hc_cluster;

/* Starts checking cluster @k of @rv on @rv's reactor: 0 and the checker in
 * *@out, or -errno. */
int rp__health_start(struct rp_reverse *rv, unsigned k, struct hc_cluster **out);
/* No new checks (stop or drain). */
void rp__health_stop(struct hc_cluster *hc);
/* After the reactor's loop has ended. */
void rp__health_free(struct hc_cluster *hc);

#endif

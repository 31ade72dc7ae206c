/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * forward.h - the forward proxy (mode forward listeners), one half of the
 * proxy service of each reactor (reverse/reverse.h).
 */
#ifndef RP_FORWARD_H
#define RP_FORWARD_H

#include "reverse/reverse.h"

extern const struct rp_reverse_half rp__forward_half;

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * uring_compat.h - the few io_uring constants newer than liburing 2.3's
 * headers (Debian 12). Each is used only after the feature probe found the
 * kernel supports it.
 */
#ifndef RP_URING_COMPAT_H
#define RP_URING_COMPAT_H

#include <liburing.h>

#ifndef IORING_RECVSEND_BUNDLE
#define IORING_RECVSEND_BUNDLE (1U << 4)
#endif
#ifndef IORING_FEAT_RECVSEND_BUNDLE
#define IORING_FEAT_RECVSEND_BUNDLE (1U << 14)
#endif
#ifndef IORING_CQE_BUFFER_SHIFT
#define IORING_CQE_BUFFER_SHIFT 16
#endif

#endif

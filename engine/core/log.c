// SPDX-License-Identifier: BSD-2-Clause
/*
 * log.c - one-line log records on stderr, the monotonic clock, and the
 * RP_BUG_ON() landing point. A record is formatted on the stack and written
 * with a single write(2) so lines from different reactors never interleave.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"

enum rp_log_level rp__log_level = RP_LOG_INFO;

void rp__log(enum rp_log_level lvl, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n, saved = errno;

	if (lvl > rp__log_level)
		return;
	n = snprintf(line, sizeof(line), "ringproxy: ");
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0) {
		/* Nowhere left to report it. */
	}
	errno = saved;
}

uint64_t rp__now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void rp__bug(const char *file, int line, const char *cond)
{
	rp__log(RP_LOG_ERR, "BUG at %s:%d: %s", file, line, cond);
	abort();
}

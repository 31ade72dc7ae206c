// SPDX-License-Identifier: BSD-2-Clause
/*
 * fuzz_config.c - libFuzzer target for the YAML configuration loader: any
 * bytes, straight from memory (no NUL needed). Loading must never crash or
 * leak, a rejected input always comes with at least one report, and each
 * report has a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/cli.h"

static unsigned reports;

static void count(void *arg, const char *file, unsigned line, unsigned col,
		  const char *msg)
{
	if (!msg || !*msg)
		abort();
	reports++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rp_config cfg; /* too big for the stack */
	int ret;

	reports = 0;
	ret = rp__config_load_buffer("fuzz.yaml", data, size, &cfg, count, NULL);
	if (ret > 0 && reports == 0)
		abort();
	if (ret == 0 && (reports || !cfg.nlisteners))
		abort();
	/* A clean load leaves every listener but a forward one with a real
	 * cluster (forward listeners have none). */
	for (unsigned i = 0; ret == 0 && i < cfg.nlisteners; i++)
		if (cfg.listeners[i].mode != RP_MODE_FORWARD &&
		    cfg.listeners[i].cluster >= cfg.nclusters)
			abort();
	return 0;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli.h - the `ringproxy` command line: commands, options and the value
 * syntaxes (durations, sizes, addresses, CPU lists) that the configuration
 * file will share. Parsing never exits: errors come back as text.
 */
#ifndef RP_CLI_H
#define RP_CLI_H

#include <stddef.h>

#include "ringproxy/ringproxy.h"

enum rp_command {
	RP_CMD_REVERSE, /* also the no-argument default for now */
	RP_CMD_HELP,
	RP_CMD_VERSION,
};

struct rp_cli {
	enum rp_command cmd;
	struct rp_config cfg;
	int defaulted; /* no arguments: the embedded default */
};

/* The embedded default: an L4 proxy from 127.0.0.1:3128 to 127.0.0.1:8080. */
#define RP_DEFAULT_LISTEN  "127.0.0.1:3128"
#define RP_DEFAULT_BACKEND "127.0.0.1:8080"

/* 0, or -EINVAL with the reason in @err (usage errors). */
int rp__cli_parse(int argc, char *const *argv, struct rp_cli *out, char *err,
		  size_t errlen);
const char *rp__cli_usage(void);

/* "250ms", "5s", "2m", "1h"; a bare number is milliseconds. */
int rp__parse_duration_ms(const char *s, unsigned *out);
/* "4096", "64k", "1m", "1g" (powers of 1024). */
int rp__parse_size(const char *s, unsigned *out);
/* A decimal number in [min, max]. */
int rp__parse_uint(const char *s, unsigned min, unsigned max, unsigned *out);

#endif

// SPDX-License-Identifier: BSD-2-Clause
/*
 * fuzz_cli.c - libFuzzer target for the command line: the input is split on
 * NUL bytes into argv. Parsing must never crash, and an error always comes
 * with a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[1024];
	char *argv[33];
	int argc = 1;
	char err[512] = "";
	static struct rp_cli cli; /* too big for the stack */

	if (size >= sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[0] = "ringproxy";
	for (size_t i = 0; i < size && argc < 32;) {
		argv[argc++] = &buf[i];
		i += strlen(&buf[i]) + 1;
	}
	argv[argc] = NULL;
	if (rp__cli_parse(argc, argv, &cli, err, sizeof(err)) < 0 && !err[0])
		abort();
	return 0;
}

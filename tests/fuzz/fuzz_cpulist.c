// SPDX-License-Identifier: BSD-2-Clause
/*
 * fuzz_cpulist.c - libFuzzer target for CPU lists: a parse that succeeds
 * yields strictly ascending CPUs within bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[256];
	int cpus[64];
	unsigned n;

	if (size >= sizeof(in))
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	if (rp__cpulist_parse(in, cpus, 64, &n) < 0)
		return 0;
	if (n == 0 || n > 64)
		abort();
	for (unsigned i = 0; i < n; i++)
		if (cpus[i] < 0 || cpus[i] >= 4096 || (i && cpus[i] <= cpus[i - 1]))
			abort();
	return 0;
}

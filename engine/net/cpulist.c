// SPDX-License-Identifier: BSD-2-Clause
/*
 * cpulist.c - CPU lists as operators write them ("0-3,6", the taskset and
 * cgroup cpuset syntax) and the process's affinity mask, from which reactor
 * placement is decided.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "net/net.h"

#define CPU_LIMIT 4096

static int parse_num(const char **sp)
{
	const char *s = *sp;
	int v = 0;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	while (*s >= '0' && *s <= '9') {
		v = v * 10 + (*s - '0');
		if (v >= CPU_LIMIT)
			return -EINVAL;
		s++;
	}
	*sp = s;
	return v;
}

int rp__cpulist_parse(const char *s, int *cpus, unsigned max, unsigned *n)
{
	unsigned char seen[CPU_LIMIT / 8];

	memset(seen, 0, sizeof(seen));
	*n = 0;
	if (!s || !*s)
		return -EINVAL;
	for (;;) {
		int lo = parse_num(&s), hi;

		if (lo < 0)
			return -EINVAL;
		hi = lo;
		if (*s == '-') {
			s++;
			hi = parse_num(&s);
			if (hi < lo)
				return -EINVAL;
		}
		for (int c = lo; c <= hi; c++)
			seen[c / 8] |= (unsigned char)(1u << (c % 8));
		if (!*s)
			break;
		if (*s != ',')
			return -EINVAL;
		s++;
	}
	for (int c = 0; c < CPU_LIMIT; c++) {
		if (!(seen[c / 8] & (1u << (c % 8))))
			continue;
		if (*n >= max)
			return -EINVAL;
		cpus[(*n)++] = c;
	}
	return 0;
}

int rp__cpus_from_affinity(int *cpus, unsigned max, unsigned *n)
{
	cpu_set_t set;

	*n = 0;
	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return -errno;
	for (int c = 0; c < CPU_SETSIZE && *n < max; c++)
		if (CPU_ISSET(c, &set))
			cpus[(*n)++] = c;
	return *n ? 0 : -EINVAL;
}

int rp__cpus_check_allowed(const int *cpus, unsigned n, int *bad)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return -errno;
	for (unsigned i = 0; i < n; i++) {
		if (cpus[i] >= CPU_SETSIZE || !CPU_ISSET(cpus[i], &set)) {
			*bad = cpus[i];
			return -EINVAL;
		}
	}
	return 0;
}

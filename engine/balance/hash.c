// SPDX-License-Identifier: BSD-2-Clause
/*
 * hash.c - the one hash function behind hash-based load balancing: XXH64
 * with seed 0, written from xxHash's specification (doc/xxhash_spec.md,
 * "XXH64 algorithm description"). It was chosen for being fast on short keys,
 * well mixed in every output bit (Maglev and the ring use the whole 64 bits)
 * and fully specified, so the values pinned by the unit test can be checked
 * against any other implementation. It must never depend on the process,
 * the host's endianness or a random seed: reactors and restarts agree only
 * because it does not.
 */
#include <endian.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "balance/balance.h"

#define PRIME1 0x9e3779b185ebca87ull
#define PRIME2 0xc2b2ae3d27d4eb4full
#define PRIME3 0x165667b19e3779f9ull
#define PRIME4 0x85ebca77c2b2ae63ull
#define PRIME5 0x27d4eb2f165667c5ull

static inline uint64_t rotl64(uint64_t x, unsigned r)
{
	return (x << r) | (x >> (64 - r));
}

static inline uint64_t load64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

static inline uint32_t load32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

/* One lane of a 32-byte stripe into its accumulator. */
static inline uint64_t lane_round(uint64_t acc, uint64_t lane)
{
	acc += lane * PRIME2;
	acc = rotl64(acc, 31);
	return acc * PRIME1;
}

/* Folds one of the four stripe accumulators into the result. */
static inline uint64_t merge_acc(uint64_t h, uint64_t acc)
{
	h ^= lane_round(0, acc);
	return h * PRIME1 + PRIME4;
}

uint64_t rp__hash_bytes(const void *data, size_t len)
{
	const unsigned char *p = data, *end = p + len;
	const uint64_t seed = 0;
	uint64_t h;

	if (len >= 32) {
		uint64_t v1 = seed + PRIME1 + PRIME2, v2 = seed + PRIME2, v3 = seed,
			 v4 = seed - PRIME1;

		do {
			v1 = lane_round(v1, load64(p));
			v2 = lane_round(v2, load64(p + 8));
			v3 = lane_round(v3, load64(p + 16));
			v4 = lane_round(v4, load64(p + 24));
			p += 32;
		} while (end - p >= 32);
		h = rotl64(v1, 1) + rotl64(v2, 7) + rotl64(v3, 12) + rotl64(v4, 18);
		h = merge_acc(h, v1);
		h = merge_acc(h, v2);
		h = merge_acc(h, v3);
		h = merge_acc(h, v4);
	} else {
		h = seed + PRIME5;
	}
	h += (uint64_t)len;

	for (; end - p >= 8; p += 8) {
		h ^= lane_round(0, load64(p));
		h = rotl64(h, 27) * PRIME1 + PRIME4;
	}
	if (end - p >= 4) {
		h ^= (uint64_t)load32(p) * PRIME1;
		h = rotl64(h, 23) * PRIME2 + PRIME3;
		p += 4;
	}
	for (; p < end; p++) {
		h ^= (uint64_t)*p * PRIME5;
		h = rotl64(h, 11) * PRIME1;
	}

	/* Avalanche: every input bit reaches every output bit. */
	h ^= h >> 33;
	h *= PRIME2;
	h ^= h >> 29;
	h *= PRIME3;
	h ^= h >> 32;
	return h;
}

uint64_t rp__hash_u64_pair(uint64_t a, uint64_t b)
{
	uint64_t buf[2] = {htole64(a), htole64(b)};

	return rp__hash_bytes(buf, sizeof(buf));
}

int rp__hash_sockaddr_ip(const struct sockaddr *sa, socklen_t len, uint64_t *out)
{
	if (len < sizeof(sa_family_t))
		return -EINVAL;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		if (len < sizeof(*sin))
			return -EINVAL;
		*out = rp__hash_bytes(&sin->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		if (len < sizeof(*sin6))
			return -EINVAL;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			*out = rp__hash_bytes(&sin6->sin6_addr.s6_addr[12], 4);
		else
			*out = rp__hash_bytes(&sin6->sin6_addr, 16);
		return 0;
	}
	return -EAFNOSUPPORT;
}

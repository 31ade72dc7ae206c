// SPDX-License-Identifier: BSD-2-Clause
/*
 * pool.c - fixed-size object pools for a reactor's hot objects (connections).
 * Objects are carved from chunks that live until the pool is destroyed, so a
 * recycled object costs no allocation; @max bounds how many may be alive.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

#define CHUNK_BYTES (64u * 1024)

struct chunk_hdr {
	void *next;
	/* objects follow, cache-line aligned */
};
#define CHUNK_HDR_SIZE RP_CACHELINE

int rp__pool_init(struct rp_pool *p, size_t obj_size, unsigned max)
{
	memset(p, 0, sizeof(*p));
	if (!obj_size || !max)
		return -EINVAL;
	/* Round up so every object starts on a cache line of its own. */
	p->obj_size = (obj_size + RP_CACHELINE - 1) & ~(size_t)(RP_CACHELINE - 1);
	p->max = max;
	p->per_chunk = (CHUNK_BYTES - CHUNK_HDR_SIZE) / p->obj_size;
	if (p->per_chunk < 1)
		p->per_chunk = 1;
	return 0;
}

static int pool_grow(struct rp_pool *p)
{
	unsigned n = p->per_chunk;
	struct chunk_hdr *c;
	uint8_t *objs;

	if (p->max - p->allocated < n)
		n = p->max - p->allocated;
	c = aligned_alloc(RP_CACHELINE, CHUNK_HDR_SIZE + (size_t)n * p->obj_size);
	if (!c)
		return -ENOMEM;
	c->next = p->chunks;
	p->chunks = c;
	objs = (uint8_t *)c + CHUNK_HDR_SIZE;
	for (unsigned i = 0; i < n; i++) {
		void **obj = (void **)(objs + (size_t)i * p->obj_size);
		*obj = p->free;
		p->free = obj;
	}
	p->allocated += n;
	return 0;
}

void *rp__pool_get(struct rp_pool *p)
{
	void **obj;

	if (p->used >= p->max)
		return NULL;
	if (!p->free && pool_grow(p) < 0)
		return NULL;
	obj = p->free;
	p->free = *obj;
	p->used++;
	memset(obj, 0, p->obj_size);
	return obj;
}

void rp__pool_put(struct rp_pool *p, void *obj)
{
	RP_BUG_ON(!p->used);
	*(void **)obj = p->free;
	p->free = obj;
	p->used--;
}

void rp__pool_destroy(struct rp_pool *p)
{
	struct chunk_hdr *c = p->chunks, *next;

	for (; c; c = next) {
		next = c->next;
		free(c);
	}
	memset(p, 0, sizeof(*p));
}

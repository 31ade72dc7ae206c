// SPDX-License-Identifier: BSD-2-Clause
/*
 * pool.c - fixed-size object pools for a reactor's hot objects (connections,
 * buffers). Objects are carved from chunks, so a recycled object costs no
 * allocation; @max bounds how many may be out at once. Each object's slot
 * ends with a pointer to its chunk, so a chunk knows when none of its objects
 * is out: it then goes back to the kernel once the pool holds more free
 * objects than it was told to keep, so memory follows the load rather than
 * its peak. Objects of a fresh chunk are carved on demand, so pages nobody
 * used are never touched.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/core.h"

#if defined(__SANITIZE_ADDRESS__)
#define POOL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POOL_ASAN 1
#endif
#endif
#ifdef POOL_ASAN
#include <sanitizer/asan_interface.h>
/* A free object is poisoned but for its free-list link, so a use after
 * rp__pool_put() is caught as if it were a use after free(). */
#define pool_poison(p, n)   ASAN_POISON_MEMORY_REGION(p, n)
#define pool_unpoison(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define pool_poison(p, n)   ((void)(p), (void)(n))
#define pool_unpoison(p, n) ((void)(p), (void)(n))
#endif

#define CHUNK_MIN_BYTES (64u * 1024)
/* The back pointer at the end of every slot. */
#define SLOT_TAIL sizeof(void *)
/* A chunk holds at least this many objects, so that at most a quarter of it
 * is lost to rounding whatever the object size. */
#define CHUNK_MIN_OBJS 4u

/*
 * Chunks are mapped from the kernel and unmapped when they go back (a few
 * microseconds, and the page faults of the next burst: the price of giving
 * memory back). Freed to jemalloc instead, their pages stayed resident until
 * its decay and the next burst reused them badly, as other allocations (TLS
 * state) had taken the extents meanwhile: the RSS peak of eight equal bursts
 * of slowloris clients grew from 97 to 168 MiB, where mapped chunks hold it
 * at 87-100. Size-aligned chunks were worse still (jemalloc serves them from
 * larger extents and keeps the rest), hence the back pointers. Under ASan
 * chunks are heap blocks, so that LeakSanitizer still sees the pointers the
 * objects hold.
 */
static void *chunk_map(size_t bytes)
{
#ifdef POOL_ASAN
	return aligned_alloc(RP_CACHELINE, bytes);
#else
	void *c = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	return c == MAP_FAILED ? NULL : c;
#endif
}

static void chunk_unmap(void *c, size_t bytes)
{
#ifdef POOL_ASAN
	(void)bytes;
	free(c);
#else
	munmap(c, bytes);
#endif
}

struct chunk_hdr {
	struct chunk_hdr *next, **pprev; /* in one of the pool's three lists */
	void *free;			 /* freed objects of this chunk */
	unsigned nfree;			 /* free objects, uncarved included */
	unsigned carved;		 /* objects handed out at least once */
					 /* objects follow, cache-line aligned */
};
#define CHUNK_HDR_SIZE RP_CACHELINE
_Static_assert(sizeof(struct chunk_hdr) <= CHUNK_HDR_SIZE, "chunk header fits a line");

int rp__pool_init_opts(struct rp_pool *p, size_t obj_size, unsigned max,
		       const struct rp_pool_opts *o)
{
	size_t chunk = CHUNK_MIN_BYTES;

	memset(p, 0, sizeof(*p));
	if (!obj_size || !max || obj_size > (SIZE_MAX >> 4))
		return -EINVAL;
	/* Round up so every object starts on a cache line of its own, with
	 * room for its chunk's address after it. */
	p->obj_size = obj_size;
	p->slot_size =
		(obj_size + SLOT_TAIL + RP_CACHELINE - 1) & ~(size_t)(RP_CACHELINE - 1);
	while (chunk < CHUNK_HDR_SIZE + CHUNK_MIN_OBJS * p->slot_size)
		chunk <<= 1;
	p->chunk_bytes = chunk;
	p->per_chunk = (unsigned)((chunk - CHUNK_HDR_SIZE) / p->slot_size);
	p->max = max;
	p->keep = o ? o->keep : RP_POOL_KEEP_DEFAULT;
	p->raw = o && o->raw;
	return 0;
}

int rp__pool_init(struct rp_pool *p, size_t obj_size, unsigned max)
{
	return rp__pool_init_opts(p, obj_size, max, NULL);
}

static void chunk_unlink(struct chunk_hdr *c)
{
	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
}

static void chunk_link(void **list, struct chunk_hdr *c)
{
	c->next = *list;
	if (c->next)
		c->next->pprev = &c->next;
	c->pprev = (struct chunk_hdr **)list;
	*list = c;
}

static struct chunk_hdr **slot_tail(const struct rp_pool *p, const void *obj)
{
	return (struct chunk_hdr **)((uint8_t *)obj + p->slot_size - SLOT_TAIL);
}

static struct chunk_hdr *pool_grow(struct rp_pool *p)
{
	struct chunk_hdr *c = chunk_map(p->chunk_bytes);

	if (!c)
		return NULL;
	c->free = NULL;
	c->nfree = p->per_chunk;
	c->carved = 0;
	pool_poison((uint8_t *)c + CHUNK_HDR_SIZE, p->chunk_bytes - CHUNK_HDR_SIZE);
	chunk_link(&p->partial, c);
	p->nfree += p->per_chunk;
	p->allocated += p->per_chunk;
	return c;
}

void *rp__pool_get(struct rp_pool *p)
{
	struct chunk_hdr *c;
	void **obj;

	if (p->used >= p->max)
		return NULL;
	/* A chunk in use first: empty ones are the ones that can go back. */
	c = p->partial;
	if (!c) {
		c = p->empty;
		if (!c && !(c = pool_grow(p)))
			return NULL;
		chunk_unlink(c);
		chunk_link(&p->partial, c);
	}
	if (c->free) {
		obj = c->free;
		pool_unpoison(obj, sizeof(void *));
		c->free = *obj;
	} else {
		obj = (void **)((uint8_t *)c + CHUNK_HDR_SIZE +
				(size_t)c->carved++ * p->slot_size);
		pool_unpoison(slot_tail(p, obj), SLOT_TAIL);
		*slot_tail(p, obj) = c;
	}
	pool_unpoison(obj, p->obj_size);
	if (!--c->nfree) {
		chunk_unlink(c);
		chunk_link(&p->full, c);
	}
	p->nfree--;
	p->used++;
	if (!p->raw)
		memset(obj, 0, p->obj_size);
	return obj;
}

/* Gives wholly free chunks back while more than @keep objects stay free. */
static void pool_trim(struct rp_pool *p)
{
	while (p->empty && p->nfree >= p->keep + p->per_chunk) {
		struct chunk_hdr *c = p->empty;

		chunk_unlink(c);
		p->nfree -= p->per_chunk;
		p->allocated -= p->per_chunk;
		pool_unpoison(c, p->chunk_bytes);
		chunk_unmap(c, p->chunk_bytes);
		p->released++;
	}
}

void rp__pool_put(struct rp_pool *p, void *obj)
{
	struct chunk_hdr *c = *slot_tail(p, obj);

	RP_BUG_ON(!p->used);
	RP_BUG_ON((uint8_t *)obj < (uint8_t *)c + CHUNK_HDR_SIZE ||
		  (size_t)((uint8_t *)obj - (uint8_t *)c - CHUNK_HDR_SIZE) %
			  p->slot_size);
	*(void **)obj = c->free;
	c->free = obj;
	if (p->obj_size > sizeof(void *))
		pool_poison((uint8_t *)obj + sizeof(void *),
			    p->obj_size - sizeof(void *));
	p->nfree++;
	p->used--;
	if (c->nfree++ && c->nfree < p->per_chunk)
		return; /* partial it was, partial it stays */
	chunk_unlink(c);
	if (c->nfree < p->per_chunk) {
		chunk_link(&p->partial, c);
		return;
	}
	chunk_link(&p->empty, c);
	pool_trim(p);
}

static void chunks_free(struct rp_pool *p, struct chunk_hdr *c)
{
	struct chunk_hdr *next;

	for (; c; c = next) {
		next = c->next;
		pool_unpoison(c, p->chunk_bytes);
		chunk_unmap(c, p->chunk_bytes);
	}
}

void rp__pool_destroy(struct rp_pool *p)
{
	/* Objects still out go with their chunks: the owner is gone too. */
	chunks_free(p, p->partial);
	chunks_free(p, p->full);
	chunks_free(p, p->empty);
	memset(p, 0, sizeof(*p));
}

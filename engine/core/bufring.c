// SPDX-License-Identifier: BSD-2-Clause
/*
 * bufring.c - the reactor's provided-buffer ring (IORING_REGISTER_PBUF_RING).
 * liburing 2.3 has no io_uring_setup_buf_ring(), so the ring memory is mapped
 * and registered here. The buffers themselves are one contiguous mapping.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/core.h"

int rp__bufring_init(struct rp_bufring *b, struct io_uring *ring, int bgid,
		     unsigned count, unsigned size)
{
	struct io_uring_buf_reg reg;
	void *mem;
	int ret;

	memset(b, 0, sizeof(*b));
	if (!count || (count & (count - 1)) || count > 32768 || !size)
		return -EINVAL;
	b->count = count;
	b->size = size;
	b->mask = io_uring_buf_ring_mask(count);
	b->bgid = bgid;
	b->ring_bytes = (size_t)count * sizeof(struct io_uring_buf);

	mem = mmap(NULL, b->ring_bytes, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return -errno;
	b->br = mem;
	mem = mmap(NULL, (size_t)count * size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		ret = -errno;
		goto fail_unmap_ring;
	}
	b->base = mem;
	b->slot_of = calloc(count, sizeof(*b->slot_of));
	if (!b->slot_of) {
		ret = -ENOMEM;
		goto fail_unmap_bufs;
	}

	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (unsigned long)b->br;
	reg.ring_entries = count;
	reg.bgid = bgid;
	ret = io_uring_register_buf_ring(ring, &reg, 0);
	if (ret < 0)
		goto fail_unmap_bufs;

	io_uring_buf_ring_init(b->br);
	for (unsigned i = 0; i < count; i++)
		rp__bufring_recycle(b, i);
	rp__bufring_publish(b);
	return 0;

fail_unmap_bufs:
	free(b->slot_of);
	munmap(b->base, (size_t)count * size);
fail_unmap_ring:
	munmap(b->br, b->ring_bytes);
	memset(b, 0, sizeof(*b));
	return ret;
}

void rp__bufring_destroy(struct rp_bufring *b, struct io_uring *ring)
{
	if (!b->br)
		return;
	io_uring_unregister_buf_ring(ring, b->bgid);
	rp__bufring_release(b);
}

void rp__bufring_release(struct rp_bufring *b)
{
	if (!b->br)
		return;
	free(b->slot_of);
	munmap(b->base, (size_t)b->count * b->size);
	munmap(b->br, b->ring_bytes);
	memset(b, 0, sizeof(*b));
}

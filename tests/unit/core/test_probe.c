// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_probe.c - the kernel feature probe: it must find what this kernel
 * really offers (cross-checked against an independent io_uring probe and a
 * direct kTLS ULP attempt), describe it, and set up rings with fallbacks.
 * Exits 77 (skip) where io_uring is unavailable.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/core.h"
#include "unit.h"

#ifndef TCP_ULP
#define TCP_ULP 31
#endif

static struct rp_features feat;

static void test_probe_ops_match_kernel_probe(void)
{
	struct io_uring_probe *p = io_uring_get_probe();

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(feat.op_splice, io_uring_opcode_supported(p, IORING_OP_SPLICE));
	CU_ASSERT_EQUAL(feat.op_msg_ring,
			io_uring_opcode_supported(p, IORING_OP_MSG_RING));
	CU_ASSERT_EQUAL(feat.op_send_zc, io_uring_opcode_supported(p, IORING_OP_SEND_ZC));
	io_uring_free_probe(p);
}

static void test_probe_ktls_matches_setsockopt(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int ret = setsockopt(fd, SOL_TCP, TCP_ULP, "tls", sizeof("tls"));
	bool have = ret == 0 || errno == ENOTCONN;

	close(fd);
	CU_ASSERT_EQUAL(feat.ktls_ulp, have);
}

static void test_probe_buffer_ring_implies_multishot_consistency(void)
{
	/* Multishot recv is exercised through a buffer ring: it cannot be
	 * reported without one; bundles need a buffer ring too. */
	if (feat.multishot_recv)
		CU_ASSERT_TRUE(feat.buf_ring);
	if (feat.bundle)
		CU_ASSERT_TRUE(feat.buf_ring);
}

static void test_probe_describe_lists_every_feature(void)
{
	char buf[256];

	rp__features_describe(&feat, buf, sizeof(buf));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, feat.multishot_accept ? "+multishot-accept"
								 : "-multishot-accept"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, feat.ktls_ulp ? "+ktls" : "-ktls"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, feat.bundle ? "+bundle" : "-bundle"));
	rp__ring_flags_describe(0, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "default");
	rp__ring_flags_describe(IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN,
				buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "SINGLE_ISSUER|COOP_TASKRUN");
}

static void test_probe_ring_setup_falls_back(void)
{
	struct io_uring ring;
	unsigned used = ~0u;

	/* Asking for nothing gives nothing. */
	CU_ASSERT_EQUAL_FATAL(rp__ring_setup(&ring, 8, 0, &used), 0);
	CU_ASSERT_EQUAL(used, 0);
	io_uring_queue_exit(&ring);
	/* Asking for the best gives what the probe found. */
	CU_ASSERT_EQUAL_FATAL(rp__ring_setup(&ring, 8, ~0u, &used), 0);
	CU_ASSERT_EQUAL(used, feat.ring_flags);
	io_uring_queue_exit(&ring);
}

static const struct rp_unit_test tests[] = {
	RP_TEST(test_probe_ops_match_kernel_probe),
	RP_TEST(test_probe_ktls_matches_setsockopt),
	RP_TEST(test_probe_buffer_ring_implies_multishot_consistency),
	RP_TEST(test_probe_describe_lists_every_feature),
	RP_TEST(test_probe_ring_setup_falls_back),
};

int main(void)
{
	char err[256];

	if (rp__probe_features(&feat, err, sizeof(err)) < 0)
		return rp_unit_skip_all("probe", err);
	return rp_unit_run("probe", tests, sizeof(tests) / sizeof(tests[0]));
}

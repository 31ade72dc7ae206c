// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_yaml.c - the YAML configuration loader: valid files load to the
 * values they say (and the defaults where they say nothing), and each kind
 * of bad file is reported at the right line and column, every problem of a
 * file in one run.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/cli.h"
#include "net/net.h"
#include "unit.h"

static struct rp_config cfg; /* too big for the stack */
static char reports[65536];
static unsigned nreports;

static void collect(void *arg, const char *file, unsigned line, unsigned col,
		    const char *msg)
{
	size_t n = strlen(reports);

	nreports++;
	snprintf(reports + n, sizeof(reports) - n, "%s:%u:%u: %s\n", file, line, col,
		 msg);
}

static int load(const char *yaml)
{
	reports[0] = '\0';
	nreports = 0;
	return rp__config_load_buffer("t.yaml", yaml, strlen(yaml), &cfg, collect, NULL);
}

static void expect_report(const char *needle)
{
	if (!strstr(reports, needle)) {
		fprintf(stderr, "\n  reports:\n%s  wanted: %s\n", reports, needle);
		CU_FAIL("the expected problem was not reported");
	}
}

static const char *addr(const struct rp_addr *a)
{
	static char buf[RP_ADDRSTRLEN];

	return rp__addr_format(a, buf, sizeof(buf));
}

static void test_yaml_full_file_loads_every_value(void)
{
	const char *y = "reactors: 3\n"
			"cpus: \"0\"\n"
			"drain_timeout: 5s\n"
			"max_conns: 77\n"
			"pipe_size: 64k\n"
			"max_pipes: 9\n"
			"buffers: 512\n"
			"buffer_size: 32k\n"
			"iowq_workers: 4\n"
			"auto_bulk_reads: 3\n"
			"log_level: debug\n"
			"listeners:\n"
			"  - bind: 127.0.0.1:8080\n"
			"    mode: tcp\n"
			"    cluster: db\n"
			"    backlog: 128\n"
			"    accept_proxy: true\n"
			"    proxy_timeout: 750ms\n"
			"    tunnel: copy\n"
			"    idle_timeout: 2m\n"
			"  - {bind: \"[::1]:8081\", cluster: web}\n"
			"clusters:\n"
			"  web:\n"
			"    balance: maglev\n"
			"    connect_timeout: 250ms\n"
			"    retries: 0\n"
			"    fall: 5\n"
			"    cooldown: 1500\n"
			"    send_proxy: v2\n"
			"    backends:\n"
			"      - address: 127.0.0.1:9001\n"
			"        weight: 2\n"
			"      - 127.0.0.1:9002\n"
			"  db:\n"
			"    backends: [\"[::1]:5432\"]\n";

	CU_ASSERT_EQUAL_FATAL(load(y), 0);
	CU_ASSERT_EQUAL(cfg.reactors, 3);
	CU_ASSERT_EQUAL(cfg.ncpus, 1);
	CU_ASSERT_EQUAL(cfg.drain_timeout_ms, 5000);
	CU_ASSERT_EQUAL(cfg.max_conns, 77);
	CU_ASSERT_EQUAL(cfg.pipe_size, 65536);
	CU_ASSERT_EQUAL(cfg.max_pipes, 9);
	CU_ASSERT_EQUAL(cfg.buf_count, 512);
	CU_ASSERT_EQUAL(cfg.buf_size, 32768);
	CU_ASSERT_EQUAL(cfg.iowq_workers, 4);
	CU_ASSERT_EQUAL(cfg.auto_bulk_reads, 3);
	CU_ASSERT_EQUAL(cfg.log_level, RP_LOG_DEBUG);

	CU_ASSERT_EQUAL_FATAL(cfg.nlisteners, 2);
	CU_ASSERT_STRING_EQUAL(addr(&cfg.listeners[0].addr), "127.0.0.1:8080");
	CU_ASSERT_EQUAL(cfg.listeners[0].mode, RP_MODE_TCP);
	CU_ASSERT_EQUAL(cfg.listeners[0].cluster, 1); /* db, defined second */
	CU_ASSERT_EQUAL(cfg.listeners[0].backlog, 128);
	CU_ASSERT_EQUAL(cfg.listeners[0].accept_proxy, 1);
	CU_ASSERT_EQUAL(cfg.listeners[0].proxy_timeout_ms, 750);
	CU_ASSERT_EQUAL(cfg.listeners[0].tunnel, RP_TUNNEL_COPY);
	CU_ASSERT_EQUAL(cfg.listeners[0].idle_timeout_ms, 120000);
	CU_ASSERT_STRING_EQUAL(addr(&cfg.listeners[1].addr), "[::1]:8081");
	CU_ASSERT_EQUAL(cfg.listeners[1].cluster, 0);

	CU_ASSERT_EQUAL_FATAL(cfg.nclusters, 2);
	CU_ASSERT_STRING_EQUAL(cfg.clusters[0].name, "web");
	CU_ASSERT_STRING_EQUAL(cfg.clusters[0].balance, "maglev");
	CU_ASSERT_EQUAL(cfg.clusters[0].connect_timeout_ms, 250);
	CU_ASSERT_EQUAL(cfg.clusters[0].retries, 0);
	CU_ASSERT_EQUAL(cfg.clusters[0].fall, 5);
	CU_ASSERT_EQUAL(cfg.clusters[0].cooldown_ms, 1500);
	CU_ASSERT_EQUAL(cfg.clusters[0].send_proxy, 2);
	CU_ASSERT_EQUAL_FATAL(cfg.clusters[0].nbackends, 2);
	CU_ASSERT_STRING_EQUAL(addr(&cfg.clusters[0].backends[0]), "127.0.0.1:9001");
	CU_ASSERT_EQUAL(cfg.clusters[0].weights[0], 2);
	CU_ASSERT_STRING_EQUAL(addr(&cfg.clusters[0].backends[1]), "127.0.0.1:9002");
	CU_ASSERT_EQUAL(cfg.clusters[0].weights[1], 1);
	CU_ASSERT_STRING_EQUAL(cfg.clusters[1].name, "db");
	CU_ASSERT_EQUAL(cfg.clusters[1].nbackends, 1);
	CU_ASSERT_EQUAL(cfg.clusters[1].backends[0].ss.ss_family, AF_INET6);
}

static void test_yaml_minimal_file_gets_the_defaults(void)
{
	const char *y = "listeners: [{bind: 127.0.0.1:1, cluster: c}]\n"
			"clusters: {c: {backends: [127.0.0.1:2]}}\n";
	struct rp_config *def = malloc(sizeof(*def));
	struct rp_listener_config ldef;
	struct rp_cluster_config *cdef = malloc(sizeof(*cdef));

	CU_ASSERT_PTR_NOT_NULL_FATAL(def);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cdef);
	CU_ASSERT_EQUAL_FATAL(load(y), 0);
	rp_config_init(def);
	rp_listener_config_init(&ldef);
	rp_cluster_config_init(cdef, "c");
	CU_ASSERT_EQUAL(cfg.reactors, def->reactors);
	CU_ASSERT_EQUAL(cfg.drain_timeout_ms, def->drain_timeout_ms);
	CU_ASSERT_EQUAL(cfg.pipe_size, def->pipe_size);
	CU_ASSERT_EQUAL(cfg.buf_count, def->buf_count);
	CU_ASSERT_EQUAL(cfg.log_level, def->log_level);
	CU_ASSERT_EQUAL(cfg.listeners[0].backlog, ldef.backlog);
	CU_ASSERT_EQUAL(cfg.listeners[0].tunnel, ldef.tunnel);
	CU_ASSERT_EQUAL(cfg.listeners[0].idle_timeout_ms, ldef.idle_timeout_ms);
	CU_ASSERT_EQUAL(cfg.listeners[0].accept_proxy, 0);
	CU_ASSERT_STRING_EQUAL(cfg.clusters[0].balance, cdef->balance);
	CU_ASSERT_EQUAL(cfg.clusters[0].connect_timeout_ms, cdef->connect_timeout_ms);
	CU_ASSERT_EQUAL(cfg.clusters[0].retries, cdef->retries);
	CU_ASSERT_EQUAL(cfg.clusters[0].fall, cdef->fall);
	CU_ASSERT_EQUAL(cfg.clusters[0].cooldown_ms, cdef->cooldown_ms);
	CU_ASSERT_EQUAL(cfg.clusters[0].send_proxy, 0);
	CU_ASSERT_EQUAL(cfg.clusters[0].weights[0], 1);
	free(def);
	free(cdef);
}

static void test_yaml_listeners_share_a_cluster(void)
{
	const char *y = "listeners:\n"
			"  - {bind: 127.0.0.1:1, cluster: b}\n"
			"  - {bind: 127.0.0.1:2, cluster: a}\n"
			"  - {bind: 127.0.0.1:3, cluster: b}\n"
			"clusters:\n"
			"  a: {backends: [127.0.0.1:10]}\n"
			"  b: {backends: [127.0.0.1:20]}\n";

	CU_ASSERT_EQUAL_FATAL(load(y), 0);
	CU_ASSERT_EQUAL(cfg.listeners[0].cluster, 1);
	CU_ASSERT_EQUAL(cfg.listeners[1].cluster, 0);
	CU_ASSERT_EQUAL(cfg.listeners[2].cluster, 1);
}

/* One bad file per row; every needle must be among its reports, and it
 * must report exactly @n problems. */
static const struct {
	const char *yaml;
	unsigned n;
	const char *needles[3];
} bad_files[] = {
	{"", 1, {"t.yaml:1:1: empty configuration"}},
	{"listeners: [\n", 1, {"t.yaml:2:1: YAML syntax error"}},
	{"a: b\n c: d\n", 1, {"t.yaml:2:3: YAML syntax error"}},
	{"- 1\n", 1, {"t.yaml:1:1: the top level: expected a mapping"}},
	{"listeners: []\nclusters: {}\n", 2, {"t.yaml:1:1: no listeners", "no clusters"}},
	{"listeners: [{bind: 127.0.0.1:1, cluster: c}]\n"
	 "clusters: {c: {backends: [127.0.0.1:2]}}\n"
	 "colour: blue\n",
	 1,
	 {"t.yaml:3:1: unknown key 'colour' in the top level"}},
	{"listeners: [{bind: 127.0.0.1:1, cluster: c, port: 3}]\n"
	 "clusters: {c: {backends: [127.0.0.1:2]}}\n",
	 1,
	 {"t.yaml:1:45: unknown key 'port' in a listener"}},
	{"reactors: [1]\n"
	 "listeners: [{bind: 127.0.0.1:1, cluster: c}]\n"
	 "clusters: {c: {backends: [127.0.0.1:2]}}\n",
	 1,
	 {"t.yaml:1:11: reactors: expected a whole number, got a list"}},
	{"listeners: [{bind: localhost:1, cluster: c}]\n"
	 "clusters: {c: {backends: [127.0.0.1:2]}}\n",
	 1,
	 {"t.yaml:1:20: bind: expected IP:PORT", "'localhost:1'"}},
	{"listeners:\n"
	 "  - bind: [\"::1\", 80]\n"
	 "    cluster: c\n"
	 "clusters: {c: {backends: [127.0.0.1:2]}}\n",
	 1,
	 {"t.yaml:2:11: bind: expected IP:PORT (quote an IPv6 one"}},
	{"listeners: [{bind: 127.0.0.1:1, cluster: d}]\n"
	 "clusters: {c: {backends: [127.0.0.1:2]}}\n",
	 1,
	 {"t.yaml:1:42: cluster: unknown cluster 'd'"}},
	{"listeners:\n"
	 "  - {bind: 127.0.0.1:1, cluster: c}\n"
	 "  - {bind: 127.0.0.1:1, cluster: c}\n"
	 "clusters: {c: {backends: [127.0.0.1:2]}}\n",
	 1,
	 {"t.yaml:3:12: bind: duplicate listener address 127.0.0.1:1 (first at 2:12)"}},
	{"listeners: [{bind: 127.0.0.1:1, cluster: c}]\n"
	 "clusters:\n"
	 "  c: {backends: [127.0.0.1:2]}\n"
	 "  c: {backends: [127.0.0.1:3]}\n",
	 1,
	 {"t.yaml:4:3: duplicate cluster name 'c' (first at 3:3)"}},
	{"listeners: [{bind: 127.0.0.1:1, cluster: c}]\n"
	 "clusters:\n"
	 "  c: {backends: []}\n",
	 1,
	 {"t.yaml:3:3: cluster 'c': the backend list is empty"}},
	{"listeners: [{bind: 127.0.0.1:1, cluster: c}]\n"
	 "clusters:\n"
	 "  c: {balance: wrr}\n",
	 1,
	 {"t.yaml:3:3: cluster 'c' has no backends"}},
	{"listeners: [{bind: 127.0.0.1:1, cluster: c, idle_timeout: 5 s}]\n"
	 "clusters: {c: {backends: [127.0.0.1:2], cooldown: -1s}}\n"
	 "pipe_size: 12kb\n",
	 3,
	 {"t.yaml:1:59: idle_timeout: expected a duration", "t.yaml:2:51: cooldown",
	  "t.yaml:3:12: pipe_size: expected a size"}},
	{"listeners: [{bind: 127.0.0.1:1, cluster: c, mode: http}]\n"
	 "clusters: {c: {backends: [127.0.0.1:2]}}\n",
	 1,
	 {"t.yaml:1:51: mode: 'http' is not available yet (only tcp)"}},
	{"listeners: [{bind: 127.0.0.1:1, cluster: c, mode: forward}]\n"
	 "clusters: {c: {backends: [127.0.0.1:2]}}\n",
	 1,
	 {"mode: 'forward' is not available yet"}},
	{"listeners: [{bind: 127.0.0.1:1, cluster: c, accept_proxy: maybe}]\n"
	 "clusters: {c: {backends: [127.0.0.1:2], send_proxy: v3, balance: x}}\n",
	 3,
	 {"accept_proxy: expected true or false", "send_proxy: expected v1, v2 or off",
	  "balance: expected roundrobin"}},
	{"listeners: [{bind: 127.0.0.1:1, cluster: c}]\n"
	 "clusters:\n"
	 "  c:\n"
	 "    backends:\n"
	 "      - 127.0.0.1:2\n"
	 "      - {address: 127.0.0.1:2}\n"
	 "      - {weight: 2}\n",
	 2,
	 {"t.yaml:6:9: cluster 'c': duplicate backend 127.0.0.1:2 (first at 5:9)",
	  "t.yaml:7:9: backend without 'address'"}},
	{"buffers: 1000\n"
	 "listeners: [{bind: 127.0.0.1:1, cluster: c, bind: 127.0.0.1:2}]\n"
	 "clusters: {c: {backends: [127.0.0.1:2]}}\n",
	 2,
	 {"t.yaml:1:10: buffers: must be a power of two",
	  "t.yaml:2:45: duplicate key 'bind' in a listener (first at 2:14)"}},
	{"listeners: [{cluster: c}, {bind: 127.0.0.1:1}]\n"
	 "clusters: {c: {backends: [127.0.0.1:2]}}\n",
	 2,
	 {"t.yaml:1:13: listener without 'bind'",
	  "t.yaml:1:27: listener without 'cluster'"}},
	{"listeners: [{bind: 127.0.0.1:1, cluster: c}]\n"
	 "clusters: {c: {backends: [127.0.0.1:2]}}\n"
	 "---\n"
	 "reactors: 1\n",
	 1,
	 {"t.yaml:4:1: only one YAML document"}},
};

static void test_yaml_bad_files_report_line_and_column(void)
{
	for (unsigned i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
		int ret = load(bad_files[i].yaml);

		if (ret != (int)bad_files[i].n) {
			fprintf(stderr, "\n  bad file %u: %d problems, wanted %u:\n%s", i,
				ret, bad_files[i].n, reports);
			CU_FAIL("wrong number of problems");
		}
		CU_ASSERT_EQUAL(nreports, (unsigned)(ret > 0 ? ret : 0));
		for (unsigned k = 0; k < 3 && bad_files[i].needles[k]; k++)
			expect_report(bad_files[i].needles[k]);
	}
}

static void test_yaml_every_problem_in_one_run(void)
{
	const char *y = "reactors: many\n"		 /* 1 */
			"bogus: 1\n"			 /* 2 */
			"listeners:\n"			 /* 3 */
			"  - bind: 127.0.0.1:80\n"	 /* 4 */
			"    cluster: nope\n"		 /* 5 */
			"  - bind: 127.0.0.1:80\n"	 /* 6 */
			"    cluster: web\n"		 /* 7 */
			"clusters:\n"			 /* 8 */
			"  web:\n"			 /* 9 */
			"    retries: lots\n"		 /* 10 */
			"    backends: [127.0.0.1:1]\n"; /* 11 */

	CU_ASSERT_EQUAL(load(y), 5);
	expect_report("t.yaml:1:11: reactors:");
	expect_report("t.yaml:2:1: unknown key 'bogus'");
	expect_report("t.yaml:5:14: cluster: unknown cluster 'nope'");
	expect_report("t.yaml:6:11: bind: duplicate listener address");
	expect_report("t.yaml:10:14: retries:");
}

static void test_yaml_reports_are_capped(void)
{
	char *y = malloc(64 * 1024);
	size_t n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(y);
	for (unsigned i = 0; i < 300; i++)
		n += (size_t)sprintf(y + n, "k%u: 1\n", i);
	reports[0] = '\0';
	nreports = 0;
	/* Every problem counts, only the first RP_CONFIG_MAX_REPORTS print. */
	CU_ASSERT(rp__config_load_buffer("t.yaml", y, n, &cfg, collect, NULL) > 300);
	CU_ASSERT_EQUAL(nreports, RP_CONFIG_MAX_REPORTS);
	expect_report("too many problems");
	free(y);
}

static void test_yaml_buffer_needs_no_nul_and_refuses_one(void)
{
	const char y[] = "listeners: [{bind: 127.0.0.1:1, cluster: c}]\n"
			 "clusters: {c: {backends: [127.0.0.1:2]}}\n"
			 "reactors: 2xyz";

	reports[0] = '\0';
	nreports = 0;
	/* Cut before "xyz": the buffer is not NUL-terminated there. */
	CU_ASSERT_EQUAL(
		rp__config_load_buffer("t.yaml", y, sizeof(y) - 4, &cfg, collect, NULL),
		0);
	CU_ASSERT_EQUAL(cfg.reactors, 2);
	CU_ASSERT(load("reactors: \"1\\0\"\n") > 0);
}

static void test_yaml_file_that_cannot_be_read(void)
{
	reports[0] = '\0';
	nreports = 0;
	CU_ASSERT_EQUAL(
		rp__config_load_file("/nonexistent/ringproxy.yaml", &cfg, collect, NULL),
		1);
	expect_report("/nonexistent/ringproxy.yaml:0:0: cannot read");
}

static const struct rp_unit_test tests[] = {
	RP_TEST(test_yaml_full_file_loads_every_value),
	RP_TEST(test_yaml_minimal_file_gets_the_defaults),
	RP_TEST(test_yaml_listeners_share_a_cluster),
	RP_TEST(test_yaml_bad_files_report_line_and_column),
	RP_TEST(test_yaml_every_problem_in_one_run),
	RP_TEST(test_yaml_reports_are_capped),
	RP_TEST(test_yaml_buffer_needs_no_nul_and_refuses_one),
	RP_TEST(test_yaml_file_that_cannot_be_read),
};
RP_UNIT_MAIN("yaml", tests)

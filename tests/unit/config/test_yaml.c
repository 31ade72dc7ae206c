// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_yaml.c - the YAML configuration loader: valid files load to the
 * values they say (and the defaults where they say nothing), and each kind
 * of bad file is reported at the right line and column, every problem of a
 * file in one run. The engine's own validation of the same values
 * (rp_engine_create()) is tested here too, against the loader's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/cli.h"
#include "net/net.h"
#include "ringproxy/ringproxy.h"
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
	/* Unset, the engine derives it from the open-file limit; 0 is not a
	 * value to write. */
	CU_ASSERT_EQUAL(cfg.max_conns, 0);
	CU_ASSERT_EQUAL(load("max_conns: 0\n"
			     "listeners: [{bind: 127.0.0.1:1, cluster: c}]\n"
			     "clusters: {c: {backends: [127.0.0.1:2]}}\n"),
			1);
	expect_report("t.yaml:1:12: max_conns: expected a whole number from 1 to "
		      "10000000, got '0'");
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

static void test_yaml_http_file_loads_every_value(void)
{
	const char *y =
		"access_log: {path: /var/log/rp.log, format: json}\n"
		"routes:\n"
		"  - match: {host: \"*.example.com\", path: /api/, method: POST}\n"
		"    cluster: api\n"
		"  - match:\n"
		"      host: www.example.com\n"
		"      header: {name: X-Canary, value: \"yes please\"}\n"
		"    cluster: web\n"
		"listeners:\n"
		"  - bind: 127.0.0.1:8080\n"
		"    mode: http\n"
		"    cluster: web\n"
		"    http:\n"
		"      xff: false\n"
		"      xfp: off\n"
		"      forwarded: true\n"
		"      via: yes\n"
		"      host_rewrite: backend.internal:8080\n"
		"      header_timeout: 3s\n"
		"      keepalive_timeout: 1m\n"
		"      body_timeout: 250ms\n"
		"      max_body: 1t\n"
		"      max_head: 32k\n"
		"      max_headers: 128\n"
		"      max_target: 32k\n"
		"      max_requests: 1000\n"
		"      splice_threshold: 0\n"
		"  - bind: 127.0.0.1:8081\n"
		"    mode: http\n"
		"    routes: [{match: {path: /}, cluster: api}]\n"
		"clusters:\n"
		"  web:\n"
		"    balance: maglev\n"
		"    hash_key: cookie:sid\n"
		"    response_timeout: 5s\n"
		"    pool: {max_idle: 0, idle_timeout: 2s, max_requests: 100}\n"
		"    health_check:\n"
		"      type: http\n"
		"      interval: 3s\n"
		"      timeout: 2s\n"
		"      rise: 1\n"
		"      fall: 7\n"
		"      path: /healthz\n"
		"      host: web.internal\n"
		"      expect_status: 204\n"
		"    backends: [127.0.0.1:9001]\n"
		"  api:\n"
		"    balance: ringhash\n"
		"    hash_key: header:X-User\n"
		"    health_check: {type: tcp}\n"
		"    backends: [127.0.0.1:9002]\n";
	const struct rp_http_listener_config *h;
	const struct rp_cluster_config *c;

	CU_ASSERT_EQUAL_FATAL(load(y), 0);
	CU_ASSERT_STRING_EQUAL(cfg.access_log, "/var/log/rp.log");
	CU_ASSERT_EQUAL(cfg.access_log_format, RP_LOG_JSON);
	CU_ASSERT_EQUAL_FATAL(cfg.nlisteners, 2);
	CU_ASSERT_EQUAL(cfg.listeners[0].mode, RP_MODE_HTTP);
	CU_ASSERT_EQUAL(cfg.listeners[1].mode, RP_MODE_HTTP);
	h = &cfg.listeners[0].http;
	CU_ASSERT_FALSE(h->xff);
	CU_ASSERT_FALSE(h->xfp);
	CU_ASSERT_TRUE(h->forwarded);
	CU_ASSERT_TRUE(h->via);
	CU_ASSERT_STRING_EQUAL(h->host_rewrite, "backend.internal:8080");
	CU_ASSERT_EQUAL(h->header_timeout_ms, 3000);
	CU_ASSERT_EQUAL(h->keepalive_timeout_ms, 60000);
	CU_ASSERT_EQUAL(h->body_timeout_ms, 250);
	CU_ASSERT_EQUAL(h->max_body, 1ull << 40);
	CU_ASSERT_EQUAL(h->max_head, 32768);
	CU_ASSERT_EQUAL(h->max_headers, 128);
	CU_ASSERT_EQUAL(h->max_target, 32768);
	CU_ASSERT_EQUAL(h->max_requests, 1000);
	CU_ASSERT_EQUAL(h->splice_threshold, 0);

	CU_ASSERT_EQUAL_FATAL(cfg.nclusters, 2);
	c = &cfg.clusters[0];
	CU_ASSERT_EQUAL(c->hash_key, RP_HASH_COOKIE);
	CU_ASSERT_STRING_EQUAL(c->hash_name, "sid");
	CU_ASSERT_EQUAL(c->response_timeout_ms, 5000);
	CU_ASSERT_EQUAL(c->pool_max_idle, 0);
	CU_ASSERT_EQUAL(c->pool_idle_timeout_ms, 2000);
	CU_ASSERT_EQUAL(c->pool_max_requests, 100);
	CU_ASSERT_EQUAL(c->health.type, RP_CHECK_HTTP);
	CU_ASSERT_EQUAL(c->health.interval_ms, 3000);
	CU_ASSERT_EQUAL(c->health.timeout_ms, 2000);
	CU_ASSERT_EQUAL(c->health.rise, 1);
	CU_ASSERT_EQUAL(c->health.fall, 7);
	CU_ASSERT_STRING_EQUAL(c->health.path, "/healthz");
	CU_ASSERT_STRING_EQUAL(c->health.host, "web.internal");
	CU_ASSERT_EQUAL(c->health.expect_status, 204);
	c = &cfg.clusters[1];
	CU_ASSERT_EQUAL(c->hash_key, RP_HASH_HEADER);
	CU_ASSERT_STRING_EQUAL(c->hash_name, "X-User");
	CU_ASSERT_EQUAL(c->health.type, RP_CHECK_TCP);

	/* Listener 1's own route, the two top-level ones, then listener 0's
	 * cluster as its default route. Listener 1 has no cluster: no default. */
	CU_ASSERT_EQUAL_FATAL(cfg.nroutes, 4);
	CU_ASSERT_EQUAL(cfg.routes[0].listeners, 1u << 1);
	CU_ASSERT_STRING_EQUAL(cfg.routes[0].path, "/");
	CU_ASSERT_EQUAL(cfg.routes[0].cluster, 1);
	CU_ASSERT_EQUAL(cfg.routes[1].listeners, 0);
	CU_ASSERT_STRING_EQUAL(cfg.routes[1].host, "*.example.com");
	CU_ASSERT_STRING_EQUAL(cfg.routes[1].path, "/api/");
	CU_ASSERT_STRING_EQUAL(cfg.routes[1].method, "POST");
	CU_ASSERT_EQUAL(cfg.routes[1].cluster, 1); /* api, defined later */
	CU_ASSERT_EQUAL(cfg.routes[2].listeners, 0);
	CU_ASSERT_STRING_EQUAL(cfg.routes[2].host, "www.example.com");
	CU_ASSERT_STRING_EQUAL(cfg.routes[2].header, "X-Canary");
	CU_ASSERT_STRING_EQUAL(cfg.routes[2].header_value, "yes please");
	CU_ASSERT_EQUAL(cfg.routes[2].cluster, 0);
	CU_ASSERT_EQUAL(cfg.routes[3].listeners, 1u << 0);
	CU_ASSERT_STRING_EQUAL(cfg.routes[3].host, "");
	CU_ASSERT_STRING_EQUAL(cfg.routes[3].path, "");
	CU_ASSERT_STRING_EQUAL(cfg.routes[3].method, "");
	CU_ASSERT_STRING_EQUAL(cfg.routes[3].header, "");
	CU_ASSERT_EQUAL(cfg.routes[3].cluster, 0);
}

static void test_yaml_http_listener_gets_the_defaults(void)
{
	const char *y = "access_log: \"-\"\n"
			"listeners: [{bind: 127.0.0.1:1, mode: http, cluster: c}]\n"
			"clusters: {c: {backends: [127.0.0.1:2]}}\n";
	struct rp_listener_config ldef;
	struct rp_cluster_config *cdef = malloc(sizeof(*cdef));

	CU_ASSERT_PTR_NOT_NULL_FATAL(cdef);
	CU_ASSERT_EQUAL_FATAL(load(y), 0);
	rp_listener_config_init(&ldef);
	rp_cluster_config_init(cdef, "c");
	CU_ASSERT_EQUAL(memcmp(&cfg.listeners[0].http, &ldef.http, sizeof(ldef.http)), 0);
	/* Bodies up to 1 GiB by default; 0 lifts the limit. */
	CU_ASSERT_EQUAL(cfg.listeners[0].http.max_body, 1ull << 30);
	CU_ASSERT_EQUAL(cfg.listeners[0].cluster, 0);
	/* No route applies: everything goes to the listener's cluster. */
	CU_ASSERT_EQUAL(cfg.nroutes, 0);
	CU_ASSERT_STRING_EQUAL(cfg.access_log, "-");
	CU_ASSERT_EQUAL(cfg.access_log_format, RP_LOG_COMBINED);
	CU_ASSERT_EQUAL(cfg.clusters[0].hash_key, RP_HASH_SOURCE);
	CU_ASSERT_EQUAL(cfg.clusters[0].response_timeout_ms, cdef->response_timeout_ms);
	CU_ASSERT_EQUAL(cfg.clusters[0].pool_max_idle, cdef->pool_max_idle);
	CU_ASSERT_EQUAL(cfg.clusters[0].pool_idle_timeout_ms, cdef->pool_idle_timeout_ms);
	CU_ASSERT_EQUAL(cfg.clusters[0].pool_max_requests, cdef->pool_max_requests);
	CU_ASSERT_EQUAL(
		memcmp(&cfg.clusters[0].health, &cdef->health, sizeof(cdef->health)), 0);
	/* A health_check with only a type keeps the other defaults. */
	CU_ASSERT_EQUAL_FATAL(load("listeners: [{bind: 127.0.0.1:1, cluster: c}]\n"
				   "clusters: {c: {backends: [127.0.0.1:2],\n"
				   "  health_check: {type: http}}}\n"),
			      0);
	CU_ASSERT_EQUAL(cfg.clusters[0].health.type, RP_CHECK_HTTP);
	CU_ASSERT_STRING_EQUAL(cfg.clusters[0].health.path, "/");
	CU_ASSERT_EQUAL(cfg.clusters[0].health.interval_ms, cdef->health.interval_ms);
	CU_ASSERT_EQUAL_FATAL(
		load("listeners: [{bind: 127.0.0.1:1, mode: http, cluster: c,\n"
		     "  http: {max_body: 0}}]\n"
		     "clusters: {c: {backends: [127.0.0.1:2]}}\n"),
		0);
	CU_ASSERT_EQUAL(cfg.listeners[0].http.max_body, 0);
	free(cdef);
}

static void test_yaml_routes_without_match_take_everything(void)
{
	const char *y = "listeners:\n"
			"  - {bind: 127.0.0.1:1, mode: http}\n"
			"  - {bind: 127.0.0.1:2, cluster: tcp}\n"
			"  - {bind: 127.0.0.1:3, mode: http, cluster: b,\n"
			"     routes: [{match: {}, cluster: a}]}\n"
			"routes: [{cluster: b}]\n"
			"clusters:\n"
			"  a: {backends: [127.0.0.1:10]}\n"
			"  b: {backends: [127.0.0.1:20]}\n"
			"  tcp: {backends: [127.0.0.1:30]}\n";

	CU_ASSERT_EQUAL_FATAL(load(y), 0);
	CU_ASSERT_EQUAL_FATAL(cfg.nroutes, 3);
	CU_ASSERT_EQUAL(cfg.routes[0].listeners, 1u << 2);
	CU_ASSERT_EQUAL(cfg.routes[0].cluster, 0);
	CU_ASSERT_EQUAL(cfg.routes[1].listeners, 0);
	CU_ASSERT_EQUAL(cfg.routes[1].cluster, 1);
	/* Listener 2's default, never reached behind the catch-alls, but the
	 * order is the file's to decide. */
	CU_ASSERT_EQUAL(cfg.routes[2].listeners, 1u << 2);
	CU_ASSERT_EQUAL(cfg.routes[2].cluster, 1);
	CU_ASSERT_EQUAL(cfg.listeners[1].cluster, 2);
}

/* Bad HTTP files: @n problems, the first of them @needles. */
static const struct {
	const char *yaml;
	unsigned n;
	const char *needles[3];
} bad_http_files[] = {
	{"listeners: [{bind: 127.0.0.1:1, cluster: c, http: {via: true}}]\n"
	 "clusters: {c: {backends: [127.0.0.1:2]}}\n",
	 1,
	 {"t.yaml:1:45: http: only for mode http (this listener is mode tcp)"}},
	{"listeners:\n"
	 "  - bind: 127.0.0.1:1\n"
	 "    cluster: c\n"
	 "    routes: [{cluster: c}]\n"
	 "clusters: {c: {backends: [127.0.0.1:2]}}\n",
	 1,
	 {"t.yaml:4:5: routes: only for mode http"}},
	{"listeners: [{bind: 127.0.0.1:1, cluster: c}]\n"
	 "clusters: {c: {backends: [127.0.0.1:2]}}\n"
	 "routes: [{cluster: c}]\n",
	 1,
	 {"t.yaml:3:1: routes: no listener has mode http"}},
	{"listeners: [{bind: 127.0.0.1:1, mode: http}]\n"
	 "clusters: {c: {backends: [127.0.0.1:2]}}\n",
	 1,
	 {"t.yaml:1:13: listener without 'cluster' and without routes"}},
	{"listeners: [{bind: 127.0.0.1:1, cluster: c, mode: http}]\n"
	 "clusters: {c: {backends: [127.0.0.1:2]}}\n"
	 "routes:\n"
	 "  - match: {host: a.example}\n"
	 "    cluster: nope\n"
	 "  - match: {path: /x}\n",
	 2,
	 {"t.yaml:5:14: cluster: unknown cluster 'nope'",
	  "t.yaml:6:5: route without 'cluster' (where its requests go)"}},
	{"listeners: [{bind: 127.0.0.1:1, cluster: c, mode: http}]\n"
	 "clusters: {c: {backends: [127.0.0.1:2]}}\n"
	 "routes:\n"
	 "  - match: {host: \"a b\", path: api, method: get}\n"
	 "    cluster: c\n"
	 "  - match: {host: \"*.\", colour: red}\n"
	 "    cluster: c\n",
	 5,
	 {"t.yaml:4:19: host: expected a host such as app.example or *.example",
	  "t.yaml:4:32: path: expected a path starting with /",
	  "t.yaml:6:25: unknown key 'colour' in match (expected host, path, method, "
	  "header)"}},
	{"listeners: [{bind: 127.0.0.1:1, cluster: c, mode: http}]\n"
	 "clusters: {c: {backends: [127.0.0.1:2]}}\n"
	 "routes:\n"
	 "  - match: {host: \"a.example:80\", method: get}\n"
	 "    cluster: c\n"
	 "  - match: {header: {name: X-A}}\n"
	 "    cluster: c\n",
	 3,
	 {"without a port, got 'a.example:80'",
	  "t.yaml:4:43: method: expected a method in capitals",
	  "t.yaml:6:21: header: give both name and value"}},
	{"listeners: [{bind: 127.0.0.1:1, cluster: c, mode: http}]\n"
	 "clusters: {c: {backends: [127.0.0.1:2]}}\n"
	 "routes:\n"
	 "  - match: {header: {name: \"X Y\", value: \" v\"}}\n"
	 "    cluster: c\n"
	 "  - match: {path: \"/a\\r\\nX-Evil: 1\"}\n"
	 "    cluster: c\n",
	 3,
	 {"t.yaml:4:28: name: expected a header name",
	  "t.yaml:4:42: value: expected a value without spaces at either end",
	  "t.yaml:6:19: path: control characters are not allowed"}},
	{"listeners:\n"
	 "  - bind: 127.0.0.1:1\n"
	 "    mode: http\n"
	 "    cluster: c\n"
	 "    http:\n"
	 "      xff: maybe\n"
	 "      max_head: 512\n"
	 "      max_headers: 129\n"
	 "      max_body: 1x\n"
	 "      header_timeout: 0\n"
	 "      splice_threshold: 20000000t\n"
	 "      host_rewrite: \"a\\r\\nX-Evil: 1\"\n"
	 "      speed: fast\n"
	 "clusters: {c: {backends: [127.0.0.1:2]}}\n",
	 8,
	 {"t.yaml:6:12: xff: expected true or false, got 'maybe'",
	  "t.yaml:11:25: splice_threshold: expected a size",
	  "t.yaml:12:21: host_rewrite: control characters are not allowed"}},
	{"listeners:\n"
	 "  - bind: 127.0.0.1:1\n"
	 "    mode: http\n"
	 "    cluster: c\n"
	 "    http: {max_head: 4k}\n"
	 "  - bind: 127.0.0.1:2\n"
	 "    mode: http\n"
	 "    cluster: c\n"
	 "    http: {max_head: 4k, max_target: 5k}\n"
	 "clusters: {c: {backends: [127.0.0.1:2]}}\n",
	 2,
	 {"t.yaml:5:22: max_head: must not be less than max_target (8192 bytes by "
	  "default)",
	  "t.yaml:9:38: max_target: must not be more than max_head (4096 bytes)"}},
	{"access_log: {format: xml}\n"
	 "listeners: [{bind: 127.0.0.1:1, cluster: c}]\n"
	 "clusters: {c: {backends: [127.0.0.1:2]}}\n",
	 2,
	 {"t.yaml:1:22: format: expected combined or json, got 'xml'",
	  "t.yaml:1:13: access_log without 'path'"}},
	{"access_log: [a.log]\n"
	 "listeners: [{bind: 127.0.0.1:1, cluster: c}]\n"
	 "clusters: {c: {backends: [127.0.0.1:2]}}\n",
	 1,
	 {"t.yaml:1:13: access_log: expected a file path or - (stdout), got a list"}},
	{"listeners: [{bind: 127.0.0.1:1, cluster: c}]\n"
	 "clusters:\n"
	 "  c:\n"
	 "    hash_key: header:X-User\n"
	 "    pool: {max_idle: -1, idle_timeout: 0, max_requests: 9999999999}\n"
	 "    response_timeout: 0\n"
	 "    backends: [127.0.0.1:2]\n",
	 5,
	 {"t.yaml:4:15: hash_key: only used by balance ringhash or maglev (this "
	  "cluster uses roundrobin)",
	  "t.yaml:5:57: max_requests: expected a whole number from 0 to 4294967295",
	  "t.yaml:6:23: response_timeout: expected a duration"}},
	{"listeners: [{bind: 127.0.0.1:1, cluster: c}]\n"
	 "clusters:\n"
	 "  c:\n"
	 "    balance: maglev\n"
	 "    hash_key: \"cookie:\"\n"
	 "    backends: [127.0.0.1:2]\n"
	 "  d:\n"
	 "    balance: ringhash\n"
	 "    hash_key: url\n"
	 "    backends: [127.0.0.1:3]\n",
	 2,
	 {"t.yaml:5:15: hash_key: expected source, header:NAME or cookie:NAME",
	  "t.yaml:9:15: hash_key: expected source"}},
	{"listeners: [{bind: 127.0.0.1:1, cluster: c}]\n"
	 "clusters:\n"
	 "  c:\n"
	 "    health_check: {interval: 1s, path: /x}\n"
	 "    backends: [127.0.0.1:2]\n"
	 "  d:\n"
	 "    health_check:\n"
	 "      type: tcp\n"
	 "      path: /x\n"
	 "      host: a.example\n"
	 "      expect_status: 200\n"
	 "      interval: 5s\n"
	 "      timeout: 5s\n"
	 "    backends: [127.0.0.1:3]\n",
	 5,
	 {"t.yaml:4:19: health_check without 'type' (tcp or http)",
	  "t.yaml:9:13: path: only for type http (a tcp check only connects)",
	  "t.yaml:13:16: timeout: must be less than the interval (timeout 5000 ms, "
	  "interval 5000 ms)"}},
	{"listeners: [{bind: 127.0.0.1:1, cluster: c}]\n"
	 "clusters:\n"
	 "  c:\n"
	 "    health_check: {type: udp, rise: 0, fall: x, expect_status: 99,\n"
	 "                   host: \"a:b:c\", path: /healthz?full}\n"
	 "    backends: [127.0.0.1:2]\n",
	 6,
	 {"t.yaml:4:26: type: expected tcp or http, got 'udp'",
	  "t.yaml:4:64: expect_status: expected a whole number from 100 to 599",
	  "t.yaml:5:26: host: expected a host such as app.example"}},
	{"listeners: [{bind: 127.0.0.1:1, cluster: c, mode: htp, http: {}}]\n"
	 "clusters: {c: {backends: [127.0.0.1:2]}}\n",
	 1,
	 {"t.yaml:1:51: mode: expected tcp", "http", "got 'htp'"}},
};

static void test_yaml_bad_http_files_report_line_and_column(void)
{
	for (unsigned i = 0; i < sizeof(bad_http_files) / sizeof(bad_http_files[0]);
	     i++) {
		int want = (int)bad_http_files[i].n;
		int ret = load(bad_http_files[i].yaml);

		if (ret != want) {
			fprintf(stderr,
				"\n  bad http file %u: %d problems, wanted %d:\n%s", i,
				ret, want, reports);
			CU_FAIL("wrong number of problems");
		}
		CU_ASSERT_EQUAL(nreports, (unsigned)(ret > 0 ? ret : 0));
		for (unsigned k = 0; k < 3 && bad_http_files[i].needles[k]; k++)
			expect_report(bad_http_files[i].needles[k]);
	}
}

/* Loads a file of one http listener (@listener_extra inside its mapping)
 * after the lines of @extra. */
static int load_with(const char *extra, const char *listener_extra)
{
	static char y[32768];

	snprintf(y, sizeof(y),
		 "%s"
		 "listeners: [{bind: 127.0.0.1:1, mode: http, cluster: c%s}]\n"
		 "clusters: {c: {backends: [127.0.0.1:2]}}\n",
		 extra, listener_extra);
	return load(y);
}

static void test_yaml_long_strings_are_refused_not_truncated(void)
{
	char host[200], extra[4096], name[80];

	/* 127 characters fit a char[128], 128 do not. */
	memset(host, 'a', 126);
	memcpy(host + 126, ".b", 3);
	snprintf(extra, sizeof(extra), ", http: {host_rewrite: %s}", host);
	CU_ASSERT_EQUAL(load_with("", extra), 1);
	expect_report("t.yaml:1:78: host_rewrite: too long, at most 127 characters");
	host[127] = '\0';
	snprintf(extra, sizeof(extra), ", http: {host_rewrite: %s}", host);
	CU_ASSERT_EQUAL(load_with("", extra), 0);
	CU_ASSERT_EQUAL(strlen(cfg.listeners[0].http.host_rewrite), 127);

	snprintf(extra, sizeof(extra), "routes: [{match: {host: a%s}, cluster: c}]\n",
		 host);
	CU_ASSERT_EQUAL(load_with(extra, ""), 1);
	expect_report("t.yaml:1:25: host: too long, at most 127 characters");

	memset(name, 'N', 64);
	name[64] = '\0';
	snprintf(extra, sizeof(extra),
		 "clusters: {c: {backends: [127.0.0.1:2], balance: maglev, hash_key: "
		 "\"header:%s\"}}\n"
		 "listeners: [{bind: 127.0.0.1:1, cluster: c}]\n",
		 name);
	CU_ASSERT_EQUAL(load(extra), 1);
	expect_report("hash_key: the name is too long, at most 63 characters");
	snprintf(extra, sizeof(extra),
		 ", routes: [{match: {header: {name: %s, value: x}}, cluster: c}]", name);
	CU_ASSERT_EQUAL(load_with("", extra), 1);
	expect_report("name: too long, at most 63 characters");

	memset(extra, 'p', 300);
	memcpy(extra, "access_log: /", 13);
	memcpy(extra + 300, "\n", 2);
	CU_ASSERT_EQUAL(load_with(extra, ""), 1);
	expect_report("t.yaml:1:13: access_log: too long, at most 255 characters");
	CU_ASSERT_EQUAL(load_with("routes: [{match: {method: GETTINGSOMETHING}, "
				  "cluster: c}]\n",
				  ""),
			1);
	expect_report("method: too long, at most 15 characters");
}

static void test_yaml_too_many_routes(void)
{
	static char y[65536];
	size_t n = 0;

	/* 64 top-level routes fit; a listener's default route would be the
	 * 65th. */
	n += (size_t)sprintf(y + n, "routes:\n");
	for (unsigned i = 0; i < RP_MAX_ROUTES; i++)
		n += (size_t)sprintf(y + n, "  - {match: {path: /%u}, cluster: c}\n", i);
	sprintf(y + n, "listeners: [{bind: 127.0.0.1:1, mode: http, cluster: c}]\n"
		       "clusters: {c: {backends: [127.0.0.1:2]}}\n");
	CU_ASSERT_EQUAL(load(y), 1);
	expect_report("t.yaml:66:54: cluster: no room left for this listener's default "
		      "route (at most 64 routes in all");
	CU_ASSERT_EQUAL(cfg.nroutes, RP_MAX_ROUTES);

	/* Without the listener's cluster, 64 routes load. */
	sprintf(y + n, "listeners: [{bind: 127.0.0.1:1, mode: http}]\n"
		       "clusters: {c: {backends: [127.0.0.1:2]}}\n");
	CU_ASSERT_EQUAL(load(y), 0);
	CU_ASSERT_EQUAL(cfg.nroutes, RP_MAX_ROUTES);

	/* A 65th is one problem, however many more follow. */
	n += (size_t)sprintf(y + n, "  - {cluster: c}\n  - {cluster: c}\n");
	sprintf(y + n, "listeners: [{bind: 127.0.0.1:1, mode: http}]\n"
		       "clusters: {c: {backends: [127.0.0.1:2]}}\n");
	CU_ASSERT_EQUAL(load(y), 1);
	expect_report("t.yaml:66:5: too many routes (at most 64 in all)");
}

/* Every file in examples/ passes `ringproxy check` (docs/config.md says
 * so); found from this file's own path. */
static void test_yaml_example_files_pass(void)
{
	static const char *const examples[] = {"l4.yaml", "proxy-protocol.yaml",
					       "http.yaml", "sni.yaml"};
	const char *me = __FILE__, *tail = strstr(me, "tests/unit/config/test_yaml.c");
	char path[4096];

	if (me[0] != '/' || !tail) {
		fprintf(stderr, "\n  (source tree unknown: examples not checked)\n");
		return;
	}
	for (unsigned i = 0; i < sizeof(examples) / sizeof(examples[0]); i++) {
		int ret;

		snprintf(path, sizeof(path), "%.*sexamples/%s", (int)(tail - me), me,
			 examples[i]);
		reports[0] = '\0';
		nreports = 0;
		ret = rp__config_load_file(path, &cfg, collect, NULL);
		if (ret)
			fprintf(stderr, "\n  %s:\n%s", path, reports);
		CU_ASSERT_EQUAL(ret, 0);
	}
}

/* What the loader accepts, rp_engine_create() accepts. */
static void test_yaml_engine_agrees_with_the_loader(void)
{
	const char *y = "listeners:\n"
			"  - {bind: 127.0.0.1:1, mode: http, cluster: c,\n"
			"     routes: [{match: {host: \"*.a.example\", method: GET,\n"
			"               header: {name: X-A, value: b}}, cluster: c}]}\n"
			"  - {bind: 127.0.0.1:2, cluster: c}\n"
			"clusters:\n"
			"  c:\n"
			"    balance: ringhash\n"
			"    hash_key: cookie:s\n"
			"    health_check: {type: http, path: /h, expect_status: 200}\n"
			"    backends: [127.0.0.1:3]\n";
	struct rp_engine *e = NULL;
	char err[512] = "";
	int ret;

	CU_ASSERT_EQUAL_FATAL(load(y), 0);
	ret = rp_engine_create(&cfg, &e, err, sizeof(err));
	/* The kernel may still say no (no io_uring here), never the
	 * validation. */
	if (ret == -EINVAL)
		fprintf(stderr, "\n  engine: %s\n", err);
	CU_ASSERT_NOT_EQUAL(ret, -EINVAL);
	rp_engine_destroy(e);
}

/* A valid configuration to spoil: listener 0 tcp, listener 1 http, one
 * cluster, one route for listener 1. */
static void engine_base(void)
{
	CU_ASSERT_EQUAL_FATAL(load("listeners:\n"
				   "  - {bind: 127.0.0.1:1, cluster: c}\n"
				   "  - {bind: 127.0.0.1:2, cluster: c}\n"
				   "clusters: {c: {backends: [127.0.0.1:3]}}\n"),
			      0);
	cfg.listeners[1].mode = RP_MODE_HTTP;
	cfg.nroutes = 1;
	cfg.routes[0] = (struct rp_route_config){.listeners = 1u << 1};
}

/* rp_engine_create() refuses the configuration, saying @needle, before it
 * asks the kernel anything. */
static void expect_refused(const char *needle)
{
	struct rp_engine *e = NULL;
	char err[512] = "";
	int ret = rp_engine_create(&cfg, &e, err, sizeof(err));

	CU_ASSERT_EQUAL(ret, -EINVAL);
	if (ret == 0)
		rp_engine_destroy(e);
	if (!strstr(err, needle)) {
		fprintf(stderr, "\n  engine said: %s\n  wanted: %s\n", err, needle);
		CU_FAIL("the engine did not name the problem");
	}
}

/* rp_engine_create()'s verdict on cfg: -EINVAL when the validation refuses
 * it (anything else is the kernel's). */
static int engine_validate(void)
{
	struct rp_engine *e = NULL;
	char err[512] = "";
	int ret = rp_engine_create(&cfg, &e, err, sizeof(err));

	if (ret == -EINVAL)
		fprintf(stderr, "\n  engine said: %s\n", err);
	rp_engine_destroy(e);
	return ret;
}

/* For embedders that fill struct rp_config themselves. */
static void test_yaml_engine_refuses_bad_http_values(void)
{
	struct rp_route_config *r = &cfg.routes[0];
	struct rp_cluster_config *c = &cfg.clusters[0];
	struct rp_http_listener_config *h = &cfg.listeners[1].http;

	engine_base();
	cfg.nroutes = 1;
	r->cluster = 1;
	expect_refused("route 0: no such cluster (#1)");
	engine_base();
	cfg.nroutes = 1;
	r->listeners = 1u << 2;
	expect_refused("route 0: no such listener");
	engine_base();
	cfg.nroutes = 1;
	r->listeners = 1u << 0;
	expect_refused("route 0: listener #0 is not mode http");
	engine_base();
	cfg.nroutes = 1;
	snprintf(r->header, sizeof(r->header), "X-A");
	expect_refused("route 0: a header condition needs a name (a token) and a value");
	engine_base();
	cfg.nroutes = 1;
	snprintf(r->path, sizeof(r->path), "api");
	expect_refused("route 0: path must start with /");
	engine_base();
	cfg.nroutes = 1;
	snprintf(r->host, sizeof(r->host), "*");
	expect_refused("route 0: host must be a name or *.name");
	engine_base();
	cfg.nroutes = 1;
	snprintf(r->method, sizeof(r->method), "G T");
	expect_refused("route 0: method must be a token");
	engine_base();
	cfg.nroutes = 1;
	snprintf(r->header, sizeof(r->header), "X-A");
	snprintf(r->header_value, sizeof(r->header_value), "a\r\nX-Evil: 1");
	expect_refused("route 0: a condition is not terminated or holds a control");
	engine_base();
	cfg.nroutes = 1;
	memset(r->host, 'a', sizeof(r->host));
	expect_refused("route 0: a condition is not terminated");
	engine_base();
	cfg.nroutes = RP_MAX_ROUTES + 1;
	expect_refused("too many routes (at most 64)");

	engine_base();
	c->hash_key = RP_HASH_HEADER;
	expect_refused("cluster 'c': hash key header needs a name");
	engine_base();
	c->hash_key = (enum rp_hash_key)7;
	expect_refused("cluster 'c': unknown hash key");
	engine_base();
	c->response_timeout_ms = 0;
	expect_refused("cluster 'c': response and pool idle timeouts must be positive");
	engine_base();
	c->health.type = RP_CHECK_HTTP;
	c->health.timeout_ms = c->health.interval_ms;
	expect_refused("health check timeout must be positive and less than");
	engine_base();
	c->health.type = RP_CHECK_TCP;
	c->health.rise = 0;
	expect_refused("health check rise and fall must be positive");
	engine_base();
	c->health.type = RP_CHECK_HTTP;
	c->health.expect_status = 600;
	expect_refused("expect_status must be from 100 to 599");
	engine_base();
	c->health.type = RP_CHECK_HTTP;
	snprintf(c->health.path, sizeof(c->health.path), "healthz");
	expect_refused("health check path must start with /");
	engine_base();
	c->health.type = (enum rp_check_type)9;
	expect_refused("unknown health check type");
	engine_base();
	snprintf(cfg.access_log, sizeof(cfg.access_log), "/tmp/a\nb");
	expect_refused("access log");
	engine_base();
	cfg.access_log_format = (enum rp_log_format)5;
	expect_refused("access log");
	engine_base();
	cfg.listeners[0].mode = RP_MODE_NMODES;
	expect_refused("listener 127.0.0.1:1: unknown mode");

	engine_base();
	h->max_headers = 0;
	expect_refused("listener 127.0.0.1:2: max_headers must be from 1 to 128");
	engine_base();
	h->max_head = 512;
	expect_refused("listener 127.0.0.1:2: max_head must be from 1k to 1m");
	engine_base();
	h->max_target = h->max_head + 1;
	expect_refused("listener 127.0.0.1:2: max_target must be from 1 to max_head");
	engine_base();
	h->body_timeout_ms = 0;
	expect_refused("header, keep-alive and body timeouts must be positive");
	engine_base();
	snprintf(h->host_rewrite, sizeof(h->host_rewrite), "a\r\nX-Evil: 1");
	expect_refused("host_rewrite must be a host");
}

/* Readable files for users_file, blocklist and hosts_file to name. */
static char users_path[64], blocklist_path[64];

static void make_forward_files(void)
{
	char *paths[] = {users_path, blocklist_path};

	for (unsigned i = 0; i < 2; i++) {
		int fd;

		if (paths[i][0])
			continue;
		snprintf(paths[i], sizeof(users_path), "/tmp/rp-test-yaml-%u-XXXXXX", i);
		fd = mkstemp(paths[i]);
		CU_ASSERT_FATAL(fd >= 0);
		close(fd);
	}
}

static void remove_forward_files(void)
{
	unlink(users_path);
	unlink(blocklist_path);
}

static void test_yaml_forward_file_loads_every_value(void)
{
	static char y[4096];
	const struct rp_forward_config *f;
	const struct rp_acl_rule *r;

	make_forward_files();
	snprintf(y, sizeof(y),
		 "listeners:\n"
		 "  - bind: 127.0.0.1:3128\n"
		 "    mode: forward\n"
		 "    idle_timeout: 1m\n"
		 "    forward:\n"
		 "      anonymity: elite\n"
		 "      users_file: %s\n"
		 "      blocklist: %s\n"
		 "      ssrf_guard: false\n"
		 "      parent: \"socks5://[::1]:1080\"\n"
		 "      connect_timeout: 3s\n"
		 "      parent_timeout: 20s\n"
		 "      dns:\n"
		 "        timeout: 750ms\n"
		 "        min_ttl: 0\n"
		 "        max_ttl: 10m\n"
		 "        servers: \"1.1.1.1,9.9.9.9:5353,2606:4700::1111,[::1]:53\"\n"
		 "        hosts_file: %s\n"
		 "      acl:\n"
		 "        - {action: deny, dest: \"*.ads.example\"}\n"
		 "        - {action: allow, client: 10.0.0.0/8, dest: 192.168.1.0/24,\n"
		 "           ports: 80-8080}\n"
		 "        - action: deny\n"
		 "          client: \"fd00::/8\"\n"
		 "          dest: intranet.example.\n"
		 "          ports: 443\n"
		 "        - {action: deny}\n"
		 "  - {bind: 127.0.0.1:3129, mode: forward, forward: {anonymity: "
		 "transparent}}\n",
		 users_path, blocklist_path, users_path);
	CU_ASSERT_EQUAL_FATAL(load(y), 0);
	CU_ASSERT_EQUAL(cfg.nclusters, 0);
	CU_ASSERT_EQUAL_FATAL(cfg.nlisteners, 2);
	CU_ASSERT_EQUAL(cfg.listeners[0].mode, RP_MODE_FORWARD);
	CU_ASSERT_EQUAL(cfg.listeners[0].idle_timeout_ms, 60000);
	f = &cfg.listeners[0].fwd;
	CU_ASSERT_EQUAL(f->anonymity, RP_ANON_ELITE);
	CU_ASSERT_STRING_EQUAL(f->users_file, users_path);
	CU_ASSERT_STRING_EQUAL(f->blocklist_file, blocklist_path);
	CU_ASSERT_FALSE(f->ssrf_guard);
	CU_ASSERT_STRING_EQUAL(f->parent, "socks5://[::1]:1080");
	CU_ASSERT_EQUAL(f->connect_timeout_ms, 3000);
	CU_ASSERT_EQUAL(f->parent_timeout_ms, 20000);
	CU_ASSERT_EQUAL(f->dns_timeout_ms, 750);
	CU_ASSERT_EQUAL(f->dns_min_ttl_s, 0);
	CU_ASSERT_EQUAL(f->dns_max_ttl_s, 600);
	CU_ASSERT_STRING_EQUAL(f->dns_servers,
			       "1.1.1.1,9.9.9.9:5353,2606:4700::1111,[::1]:53");
	CU_ASSERT_STRING_EQUAL(f->hosts_file, users_path);
	/* The rules in file order, the first that matches deciding. */
	CU_ASSERT_EQUAL_FATAL(f->nacl, 4);
	r = &f->acl[0];
	CU_ASSERT_TRUE(r->deny);
	CU_ASSERT_STRING_EQUAL(r->client, "");
	CU_ASSERT_STRING_EQUAL(r->dest, "*.ads.example");
	CU_ASSERT_EQUAL(r->port_min, 0);
	CU_ASSERT_EQUAL(r->port_max, 0);
	r = &f->acl[1];
	CU_ASSERT_FALSE(r->deny);
	CU_ASSERT_STRING_EQUAL(r->client, "10.0.0.0/8");
	CU_ASSERT_STRING_EQUAL(r->dest, "192.168.1.0/24");
	CU_ASSERT_EQUAL(r->port_min, 80);
	CU_ASSERT_EQUAL(r->port_max, 8080);
	r = &f->acl[2];
	CU_ASSERT_TRUE(r->deny);
	CU_ASSERT_STRING_EQUAL(r->client, "fd00::/8");
	CU_ASSERT_STRING_EQUAL(r->dest, "intranet.example.");
	CU_ASSERT_EQUAL(r->port_min, 443);
	CU_ASSERT_EQUAL(r->port_max, 443);
	r = &f->acl[3];
	CU_ASSERT_TRUE(r->deny);
	CU_ASSERT_STRING_EQUAL(r->client, "");
	CU_ASSERT_STRING_EQUAL(r->dest, "");
	CU_ASSERT_EQUAL(cfg.listeners[1].fwd.anonymity, RP_ANON_TRANSPARENT);
	CU_ASSERT_EQUAL(cfg.listeners[1].fwd.nacl, 0);
	remove_forward_files();
}

static void test_yaml_forward_listener_gets_the_defaults(void)
{
	struct rp_listener_config ldef;

	rp_listener_config_init(&ldef);
	/* No cluster anywhere: a forward proxy needs none. */
	CU_ASSERT_EQUAL_FATAL(
		load("listeners: [{bind: 127.0.0.1:3128, mode: forward}]\n"), 0);
	CU_ASSERT_EQUAL(cfg.nclusters, 0);
	CU_ASSERT_EQUAL(cfg.listeners[0].mode, RP_MODE_FORWARD);
	CU_ASSERT_EQUAL(memcmp(&cfg.listeners[0].fwd, &ldef.fwd, sizeof(ldef.fwd)), 0);
	CU_ASSERT_EQUAL(cfg.listeners[0].fwd.anonymity, RP_ANON_ANONYMOUS);
	CU_ASSERT_TRUE(cfg.listeners[0].fwd.ssrf_guard);
	/* An empty forward mapping is the same. */
	CU_ASSERT_EQUAL_FATAL(
		load("listeners: [{bind: 127.0.0.1:3128, mode: forward, forward: {}}]\n"),
		0);
	CU_ASSERT_EQUAL(memcmp(&cfg.listeners[0].fwd, &ldef.fwd, sizeof(ldef.fwd)), 0);
	/* A tcp listener beside it still needs its cluster. */
	CU_ASSERT_EQUAL(load("listeners:\n"
			     "  - {bind: 127.0.0.1:3128, mode: forward}\n"
			     "  - {bind: 127.0.0.1:80, cluster: c}\n"),
			2);
	expect_report(
		"t.yaml:3:35: cluster: unknown cluster 'c' (no clusters are defined)");
	expect_report("t.yaml:1:1: no clusters");
}

/* Bad forward files: @n problems, the first of them @needles. */
static const struct {
	const char *yaml;
	unsigned n;
	const char *needles[3];
} bad_forward_files[] = {
	{"listeners: [{bind: 127.0.0.1:1, cluster: c, forward: {anonymity: elite}}]\n"
	 "clusters: {c: {backends: [127.0.0.1:2]}}\n",
	 1,
	 {"t.yaml:1:45: forward: only for mode forward (this listener is mode tcp)"}},
	{"listeners: [{bind: 127.0.0.1:1, cluster: c, mode: forward}]\n"
	 "clusters: {c: {backends: [127.0.0.1:2]}}\n",
	 1,
	 {"t.yaml:1:42: cluster: not for mode forward (a forward proxy connects where "
	  "its clients ask: remove it)"}},
	{"listeners:\n"
	 "  - bind: 127.0.0.1:1\n"
	 "    mode: forward\n"
	 "    cluster: nope\n"
	 "    http: {via: true}\n"
	 "    routes: [{cluster: nope}]\n",
	 4, /* the route's unknown cluster is one too */
	 {"t.yaml:4:14: cluster: unknown cluster 'nope', and not for mode forward",
	  "t.yaml:5:5: http: only for mode http (this listener is mode forward)",
	  "t.yaml:6:5: routes: only for mode http (this listener is mode forward)"}},
	{"listeners: [{bind: 127.0.0.1:1, mode: forward, forward: [elite]}]\n",
	 1,
	 {"t.yaml:1:57: forward: expected a mapping (key: value), got a list"}},
	{"listeners:\n"
	 "  - bind: 127.0.0.1:1\n"
	 "    mode: forward\n"
	 "    forward:\n"
	 "      anonymity: paranoid\n"
	 "      ssrf_guard: maybe\n"
	 "      parent: http://proxy.example:3128\n"
	 "      connect_timeout: 0\n"
	 "      speed: fast\n",
	 5,
	 {"t.yaml:5:18: anonymity: expected transparent, anonymous or elite, got "
	  "'paranoid'",
	  "t.yaml:7:15: parent: expected http://IP:PORT or socks5://IP:PORT",
	  "t.yaml:9:7: unknown key 'speed' in forward (expected anonymity, "
	  "users_file, blocklist, ssrf_guard, parent, connect_timeout, "
	  "parent_timeout, max_body, dns, acl)"}},
	{"listeners:\n"
	 "  - bind: 127.0.0.1:1\n"
	 "    mode: forward\n"
	 "    forward:\n"
	 "      parent: \"socks4://127.0.0.1:1080\"\n"
	 "      users_file: /nonexistent/users\n"
	 "      blocklist: /\n"
	 "      connect_timeout: 5 s\n",
	 4,
	 {"t.yaml:6:19: users_file: cannot read '/nonexistent/users': No such file or "
	  "directory",
	  "t.yaml:7:18: blocklist: cannot read '/': Is a directory",
	  "t.yaml:8:24: connect_timeout: expected a duration"}},
	{"listeners:\n"
	 "  - bind: 127.0.0.1:1\n"
	 "    mode: forward\n"
	 "    forward:\n"
	 "      parent: \"http://10.0.0.1:3128\\r\\nX: y\"\n"
	 "      users_file: \"\"\n"
	 "      dns:\n"
	 "        timeout: 0\n"
	 "        min_ttl: 5\n"
	 "        max_ttl: 1500ms\n"
	 "        servers: \"1.1.1.1, 8.8.8.8\"\n"
	 "        hosts_file: /nonexistent/hosts\n"
	 "        search: example.com\n",
	 8,
	 {"t.yaml:5:15: parent: control characters are not allowed",
	  "t.yaml:9:18: min_ttl: expected a duration in whole seconds such as 30s, 5m "
	  "or 1h (a bare number is milliseconds), got '5'",
	  "t.yaml:11:18: servers: expected IP[:PORT],... such as "
	  "1.1.1.1,[2606:4700::1111]:53 (no spaces), got '1.1.1.1, 8.8.8.8'"}},
	{"listeners:\n"
	 "  - bind: 127.0.0.1:1\n"
	 "    mode: forward\n"
	 "    forward:\n"
	 "      users_file: \"\"\n"
	 "      dns: {timeout: 0, hosts_file: /nonexistent/hosts, search: x}\n",
	 4,
	 {"t.yaml:5:19: users_file: expected a file path, got ''",
	  "t.yaml:6:22: timeout: expected a duration such as 500ms, 5s or 2m (not zero)",
	  "t.yaml:6:57: unknown key 'search' in dns"}},
	{"listeners:\n"
	 "  - {bind: 127.0.0.1:1, mode: forward, forward: {dns: {min_ttl: 2h}}}\n"
	 "  - {bind: 127.0.0.1:2, mode: forward,\n"
	 "     forward: {dns: {max_ttl: 30s, min_ttl: 1m}}}\n"
	 "  - {bind: 127.0.0.1:3, mode: forward, forward: {dns: [1.1.1.1]}}\n",
	 3,
	 {"t.yaml:2:65: min_ttl: must not be more than max_ttl (3600 s by default)",
	  "t.yaml:4:31: max_ttl: must not be less than min_ttl (60 s)",
	  "t.yaml:5:55: dns: expected a mapping (key: value), got a list"}},
	{"listeners:\n"
	 "  - bind: 127.0.0.1:1\n"
	 "    mode: forward\n"
	 "    forward:\n"
	 "      acl:\n"
	 "        - {client: 10.0.0.0/8}\n"
	 "        - {action: maybe, client: 10.0.0.0/33}\n"
	 "        - {action: allow, client: \"::1/129\", dest: \"10.0.0.256\"}\n"
	 "        - {action: deny, client: example.com, dest: \"a.example:80\"}\n",
	 7,
	 {"t.yaml:6:11: acl rule without 'action' (allow or deny)",
	  "t.yaml:7:20: action: expected allow or deny, got 'maybe'",
	  "t.yaml:8:52: dest: expected a CIDR such as 10.0.0.0/8, a host such as "
	  "a.example, or *.example (its subdomains), without a port, got "
	  "'10.0.0.256'"}},
	{"listeners:\n"
	 "  - bind: 127.0.0.1:1\n"
	 "    mode: forward\n"
	 "    forward:\n"
	 "      acl:\n"
	 "        - {action: allow, client: \"::1/129\"}\n"
	 "        - {action: deny, client: example.com}\n"
	 "        - {action: deny, dest: \"*\"}\n"
	 "        - {action: deny, ports: 0}\n"
	 "        - {action: deny, ports: 8080-80}\n"
	 "        - {action: deny, ports: [80, 443], port: 80}\n",
	 7,
	 {"t.yaml:6:35: client: expected a CIDR such as 10.0.0.0/8, 192.0.2.7 or "
	  "fd00::/8 (prefix at most 32 for IPv4, 128 for IPv6), got '::1/129'",
	  "t.yaml:10:33: ports: expected a port such as 443 or a range such as "
	  "80-8080 (1 to 65535, the lower first), got '8080-80'",
	  "t.yaml:11:33: ports: expected a port such as 443 or a range such as "
	  "80-8080, got a list"}},
	{"listeners:\n"
	 "  - bind: 127.0.0.1:1\n"
	 "    mode: forward\n"
	 "    forward: {acl: {action: deny}}\n",
	 1,
	 {"t.yaml:4:20: acl: expected a list of {action: allow|deny, client: CIDR, "
	  "dest: HOST|CIDR, ports: N|N-M}, got a mapping"}},
};

static void test_yaml_bad_forward_files_report_line_and_column(void)
{
	for (unsigned i = 0; i < sizeof(bad_forward_files) / sizeof(bad_forward_files[0]);
	     i++) {
		int want = (int)bad_forward_files[i].n;
		int ret = load(bad_forward_files[i].yaml);

		if (ret != want) {
			fprintf(stderr,
				"\n  bad forward file %u: %d problems, wanted %d:\n%s", i,
				ret, want, reports);
			CU_FAIL("wrong number of problems");
		}
		CU_ASSERT_EQUAL(nreports, (unsigned)(ret > 0 ? ret : 0));
		for (unsigned k = 0; k < 3 && bad_forward_files[i].needles[k]; k++)
			expect_report(bad_forward_files[i].needles[k]);
	}
}

/* The problems of a bad forward listener are all reported, and it is
 * loaded as one all the same. */
static void test_yaml_forward_settings_checked_whatever_the_build(void)
{
	const char *y = "listeners:\n"			       /* 1 */
			"  - bind: 127.0.0.1:3128\n"	       /* 2 */
			"    forward:\n"		       /* 3 */
			"      anonymity: none\n"	       /* 4 */
			"      acl:\n"			       /* 5 */
			"        - {action: deny, ports: 0}\n" /* 6 */
			"    mode: forward\n";		       /* 7 */

	CU_ASSERT_EQUAL(load(y), 2);
	expect_report("t.yaml:4:18: anonymity: expected transparent, anonymous or "
		      "elite, got 'none'");
	expect_report("t.yaml:6:33: ports: expected a port");
	/* Loaded as a forward listener all the same: no cluster wanted. */
	CU_ASSERT_EQUAL(cfg.listeners[0].mode, RP_MODE_FORWARD);
	CU_ASSERT_PTR_NULL(strstr(reports, "cluster"));
}

static void test_yaml_forward_acl_limits(void)
{
	static char y[16384];
	char dest[200];
	size_t n = 0;

	n += (size_t)sprintf(y + n, "listeners:\n"
				    "  - bind: 127.0.0.1:1\n"
				    "    mode: forward\n"
				    "    forward:\n"
				    "      acl:\n");
	for (unsigned i = 0; i < RP_MAX_ACL_RULES; i++)
		n += (size_t)sprintf(y + n, "        - {action: deny, ports: %u}\n",
				     i + 1);
	CU_ASSERT_EQUAL(load(y), 0);
	CU_ASSERT_EQUAL(cfg.listeners[0].fwd.nacl, RP_MAX_ACL_RULES);
	CU_ASSERT_EQUAL(cfg.listeners[0].fwd.acl[31].port_max, 32);
	/* A 33rd is one problem, however many more follow. */
	n += (size_t)sprintf(y + n, "        - {action: deny}\n"
				    "        - {action: deny}\n");
	CU_ASSERT_EQUAL(load(y), 1);
	expect_report("t.yaml:38:11: acl: too many rules (at most 32)");
	CU_ASSERT_EQUAL(cfg.listeners[0].fwd.nacl, RP_MAX_ACL_RULES);

	/* 127 characters fit dest's char[128], 128 do not. */
	memset(dest, 'a', 127);
	for (unsigned i = 9; i < 127; i += 10)
		dest[i] = '.';
	dest[127] = '\0';
	snprintf(y, sizeof(y),
		 "listeners: [{bind: 127.0.0.1:1, mode: forward,\n"
		 "  forward: {acl: [{action: allow, dest: %s}]}}]\n",
		 dest);
	CU_ASSERT_EQUAL(load(y), 0);
	CU_ASSERT_EQUAL(strlen(cfg.listeners[0].fwd.acl[0].dest), 127);
	snprintf(y, sizeof(y),
		 "listeners: [{bind: 127.0.0.1:1, mode: forward,\n"
		 "  forward: {acl: [{action: allow, dest: a%s}]}}]\n",
		 dest);
	CU_ASSERT_EQUAL(load(y), 1);
	expect_report("t.yaml:2:41: dest: too long, at most 127 characters");
}

/* docs/examples/forward.yaml passes `check` once this build serves mode
 * forward (it waits there, out of examples/, until then). */
static void test_yaml_forward_example_passes(void)
{
	const char *me = __FILE__, *tail = strstr(me, "tests/unit/config/test_yaml.c");
	char path[4096];
	int ret;

	if (me[0] != '/' || !tail) {
		fprintf(stderr, "\n  (source tree unknown: example not checked)\n");
		return;
	}
	snprintf(path, sizeof(path), "%.*sdocs/examples/forward.yaml", (int)(tail - me),
		 me);
	if (access(path, F_OK) != 0)
		snprintf(path, sizeof(path), "%.*sexamples/forward.yaml",
			 (int)(tail - me), me);
	reports[0] = '\0';
	nreports = 0;
	ret = rp__config_load_file(path, &cfg, collect, NULL);
	if (ret != 0)
		fprintf(stderr, "\n  %s:\n%s", path, reports);
	CU_ASSERT_EQUAL(ret, 0);
	CU_ASSERT_EQUAL(cfg.listeners[0].mode, RP_MODE_FORWARD);
	CU_ASSERT(cfg.listeners[0].fwd.nacl > 0);
}

/* A forward listener on a non-loopback address says who may use it, or is
 * refused at its bind; loopback ones need not. */
static void test_yaml_forward_open_proxy_refused_at_its_bind(void)
{
	static const char *const closed[] = {
		"forward: {users_file: /dev/null}",
		"forward: {acl: [{action: allow, client: 0.0.0.0/0}]}",
		"forward: {acl: [{action: allow, client: 10.0.0.0/8}, {action: deny}]}",
		"forward: {acl: [{action: allow, client: 10.0.0.0/8}, {action: deny, "
		"client: 0.0.0.0/0}]}",
		"forward: {acl: [{action: deny}]}",
	};
	static const char *const still_open[] = {
		"forward: {acl: [{action: deny, client: 192.0.2.0/24}]}",
		"forward: {acl: [{action: allow, dest: a.example}, {action: deny}]}",
		"forward: {anonymity: elite}",
		/* a request no rule matches is allowed: everyone else gets in */
		"forward: {acl: [{action: allow, client: 10.0.0.0/8}]}",
		/* a deny that names a port keeps nobody out of the rest */
		"forward: {acl: [{action: allow, client: 10.0.0.0/8}, {action: deny, "
		"ports: 25}]}",
		/* a /0 of the other family says nothing of IPv4 clients */
		"forward: {acl: [{action: allow, client: \"::/0\"}, {action: deny, "
		"client: \"::/0\"}]}",
	};
	char y[256];

	CU_ASSERT_EQUAL(load("listeners:\n"
			     "  - bind: 0.0.0.0:3128\n"
			     "    mode: forward\n"),
			1);
	expect_report("t.yaml:2:11: bind: a forward proxy on a non-loopback address "
		      "with no users and no rule that limits its clients is an open "
		      "proxy: add users "
		      "(forward: {users_file: FILE}), or say who may use it (forward: "
		      "{acl: [{action: allow, client: CIDR}, {action: deny}]}; client: "
		      "0.0.0.0/0 for everyone)");
	/* Where the bind is, whatever the order of the keys. */
	CU_ASSERT_EQUAL(load("listeners:\n"
			     "  - mode: forward\n"
			     "    bind: \"[::]:3128\"\n"),
			1);
	expect_report("t.yaml:3:11: bind: a forward proxy on a non-loopback address");
	expect_report("client: \"::/0\" for everyone");
	for (unsigned i = 0; i < sizeof(closed) / sizeof(closed[0]); i++) {
		snprintf(y, sizeof(y),
			 "listeners: [{bind: 0.0.0.0:3128, mode: forward, %s}]\n",
			 closed[i]);
		if (load(y))
			fprintf(stderr, "\n  %s  reports:\n%s", y, reports);
		CU_ASSERT_EQUAL(nreports, 0);
	}
	for (unsigned i = 0; i < sizeof(still_open) / sizeof(still_open[0]); i++) {
		snprintf(y, sizeof(y),
			 "listeners: [{bind: 192.0.2.1:3128, mode: forward, %s}]\n",
			 still_open[i]);
		CU_ASSERT_EQUAL(load(y), 1);
		expect_report("t.yaml:1:20: bind: a forward proxy on a non-loopback");
	}
	/* Loopback, and listeners of other modes, are left alone. */
	CU_ASSERT_EQUAL(load("listeners:\n"
			     "  - {bind: 127.3.2.1:3128, mode: forward}\n"
			     "  - {bind: \"[::1]:3128\", mode: forward}\n"
			     "  - {bind: 0.0.0.0:80, cluster: c}\n"
			     "clusters: {c: {backends: [127.0.0.1:2]}}\n"),
			0);
}

/* Absolute-form requests have the HTTP half's body limit: 1 GiB unless the
 * forward mapping says otherwise. */
static void test_yaml_forward_max_body(void)
{
	CU_ASSERT_EQUAL_FATAL(
		load("listeners: [{bind: 127.0.0.1:3128, mode: forward}]\n"), 0);
	CU_ASSERT_EQUAL(cfg.listeners[0].http.max_body, 1ull << 30);
	CU_ASSERT_EQUAL_FATAL(load("listeners:\n"
				   "  - {bind: 127.0.0.1:3128, mode: forward,\n"
				   "     forward: {max_body: 0}}\n"
				   "  - {bind: 127.0.0.1:3129, mode: forward,\n"
				   "     forward: {max_body: 10m}}\n"),
			      0);
	CU_ASSERT_EQUAL(cfg.listeners[0].http.max_body, 0);
	CU_ASSERT_EQUAL(cfg.listeners[1].http.max_body, 10u << 20);
	CU_ASSERT_EQUAL(load("listeners: [{bind: 127.0.0.1:3128, mode: forward,\n"
			     "  forward: {max_body: lots}}]\n"),
			1);
	expect_report("t.yaml:2:23: max_body: expected a size such as 0, 64k, 10m, 2g "
		      "or 1t, got 'lots'");
}

/* A valid forward listener that rp_engine_create() refuses with @needle. */
static void forward_base(void)
{
	engine_base();
	cfg.listeners[0].mode = RP_MODE_FORWARD;
}

/* For embedders: the engine checks forward settings, and accepts good
 * ones. */
static void test_yaml_engine_refuses_bad_forward_values(void)
{
	struct rp_forward_config *f = &cfg.listeners[0].fwd;
	struct rp_acl_rule *r = &f->acl[0];
	static const char *const good_cidrs[] = {"10.0.0.0/8", "192.0.2.7", "::/0",
						 "fd00::/8", "::ffff:10.0.0.1/128"};
	static const char *const bad_cidrs[] = {
		"10.0.0.0/33", "10.0.0/8",    "::1/129",   "10.0.0.0/",
		"a.example",   "10.0.0.0/-1", "[::1]/128", "10.0.0.0/0008"};
	static const char *const good_dests[] = {"a.example",
						 "*.a.example",
						 "a.example.",
						 "localhost",
						 "127.0.0.0/8",
						 "::1",
						 "xn--bcher-kva.example",
						 "a_b.example"};
	static const char *const bad_dests[] = {
		"*",	      "*.",    "a..example", "a.example:80",
		"10.0.0.256", "[::1]", "a b",	     ".example"};

	forward_base();
	CU_ASSERT_NOT_EQUAL(engine_validate(), -EINVAL);
	/* A configuration of forward listeners only needs no cluster, and a
	 * forward listener's cluster is not looked at. */
	forward_base();
	cfg.nlisteners = 1;
	cfg.nclusters = 0;
	cfg.nroutes = 0;
	CU_ASSERT_NOT_EQUAL(engine_validate(), -EINVAL);
	forward_base();
	cfg.listeners[0].cluster = 9;
	CU_ASSERT_NOT_EQUAL(engine_validate(), -EINVAL);

	forward_base();
	rp__addr_parse("0.0.0.0:1", &cfg.listeners[0].addr, false);
	expect_refused(
		"listener 0.0.0.0:1: a forward proxy on a non-loopback address "
		"with no users and no rule that limits its clients is an open proxy");
	forward_base();
	rp__addr_parse("[::]:1", &cfg.listeners[0].addr, false);
	expect_refused("--allow-client ::/0 for everyone");
	forward_base();
	rp__addr_parse("0.0.0.0:1", &cfg.listeners[0].addr, false);
	f->nacl = 1;
	snprintf(r->client, sizeof(r->client), "0.0.0.0/0");
	CU_ASSERT_NOT_EQUAL(engine_validate(), -EINVAL);
	forward_base();
	f->anonymity = (enum rp_anonymity)3;
	expect_refused("listener 127.0.0.1:1: unknown anonymity");
	forward_base();
	f->nacl = RP_MAX_ACL_RULES + 1;
	expect_refused("listener 127.0.0.1:1: too many access rules (at most 32)");
	for (unsigned i = 0; i < sizeof(bad_cidrs) / sizeof(bad_cidrs[0]); i++) {
		forward_base();
		f->nacl = 1;
		snprintf(r->client, sizeof(r->client), "%s", bad_cidrs[i]);
		expect_refused(
			"listener 127.0.0.1:1: access rule 0: client must be a CIDR");
		CU_ASSERT_FALSE(rp__config_is_cidr(bad_cidrs[i]));
	}
	for (unsigned i = 0; i < sizeof(good_cidrs) / sizeof(good_cidrs[0]); i++) {
		forward_base();
		f->nacl = 2;
		snprintf(r->client, sizeof(r->client), "%s", good_cidrs[i]);
		snprintf(f->acl[1].dest, sizeof(f->acl[1].dest), "%s", good_cidrs[i]);
		f->acl[1].deny = true;
		CU_ASSERT_NOT_EQUAL(engine_validate(), -EINVAL);
		CU_ASSERT_TRUE(rp__config_is_cidr(good_cidrs[i]));
	}
	for (unsigned i = 0; i < sizeof(bad_dests) / sizeof(bad_dests[0]); i++) {
		forward_base();
		f->nacl = 1;
		snprintf(r->dest, sizeof(r->dest), "%s", bad_dests[i]);
		expect_refused(
			"listener 127.0.0.1:1: access rule 0: dest must be a CIDR, "
			"a.example or *.example");
		CU_ASSERT_FALSE(rp__config_is_acl_dest(bad_dests[i]));
	}
	for (unsigned i = 0; i < sizeof(good_dests) / sizeof(good_dests[0]); i++) {
		forward_base();
		f->nacl = 1;
		snprintf(r->dest, sizeof(r->dest), "%s", good_dests[i]);
		CU_ASSERT_NOT_EQUAL(engine_validate(), -EINVAL);
		CU_ASSERT_TRUE(rp__config_is_acl_dest(good_dests[i]));
	}
	forward_base();
	f->nacl = 1;
	r->port_min = 443;
	r->port_max = 80;
	expect_refused("access rule 0: port_min must not be more than port_max");
	forward_base();
	f->nacl = 1;
	snprintf(r->dest, sizeof(r->dest), "a.example\r\n");
	expect_refused("access rule 0: a condition is not terminated or holds a control");
	forward_base();
	f->nacl = 1;
	memset(r->client, '1', sizeof(r->client));
	expect_refused("access rule 0: a condition is not terminated");
	forward_base();
	memset(f->users_file, 'u', sizeof(f->users_file));
	expect_refused("a file name, the parent or the DNS servers are not terminated");
	forward_base();
	snprintf(f->hosts_file, sizeof(f->hosts_file), "/etc/hosts\n");
	expect_refused("a file name, the parent or the DNS servers are not terminated");
	forward_base();
	snprintf(f->parent, sizeof(f->parent), "http://proxy.example:3128");
	expect_refused("parent must be http://[USER:PASS@]IP:PORT or "
		       "socks5://[USER:PASS@]IP:PORT");
	forward_base();
	snprintf(f->parent, sizeof(f->parent), "socks5://127.0.0.1:0");
	expect_refused("parent must be http://[USER:PASS@]IP:PORT or "
		       "socks5://[USER:PASS@]IP:PORT");
	forward_base();
	snprintf(f->dns_servers, sizeof(f->dns_servers), "1.1.1.1,");
	expect_refused("DNS servers must be IP[:PORT],...");
	forward_base();
	snprintf(f->dns_servers, sizeof(f->dns_servers), "dns.example");
	expect_refused("DNS servers must be IP[:PORT],...");
	forward_base();
	snprintf(f->dns_servers, sizeof(f->dns_servers), "[::1]");
	expect_refused("DNS servers must be IP[:PORT],...");
	forward_base();
	snprintf(f->parent, sizeof(f->parent), "socks5://[::1]:1080");
	snprintf(f->dns_servers, sizeof(f->dns_servers),
		 "1.1.1.1,[::1]:53,::1,[fe80::1]:53");
	CU_ASSERT_NOT_EQUAL(engine_validate(), -EINVAL); /* well-formed */
	forward_base();
	f->dns_timeout_ms = 0;
	expect_refused("listener 127.0.0.1:1: connect, parent and DNS timeouts must be "
		       "positive");
	forward_base();
	f->connect_timeout_ms = 0;
	expect_refused("listener 127.0.0.1:1: connect, parent and DNS timeouts must be "
		       "positive");
	forward_base();
	f->parent_timeout_ms = 0;
	expect_refused("listener 127.0.0.1:1: connect, parent and DNS timeouts must be "
		       "positive");
	forward_base();
	f->dns_min_ttl_s = 60;
	f->dns_max_ttl_s = 59;
	expect_refused("DNS min_ttl (60 s) must not exceed max_ttl (59 s)");
}

/* What the loader accepts of a forward listener, the engine accepts too. */
static void test_yaml_engine_agrees_on_forward(void)
{
	const char *y =
		"listeners:\n"
		"  - bind: 127.0.0.1:3128\n"
		"    mode: forward\n"
		"    forward:\n"
		"      anonymity: transparent\n"
		"      dns: {servers: \"1.1.1.1,[::1]:53\", min_ttl: 1m, max_ttl: 1m}\n"
		"      acl:\n"
		"        - {action: allow, dest: 127.0.0.0/8}\n"
		"        - {action: deny, client: \"::/0\", dest: \"*.example\",\n"
		"           ports: 1-1023}\n";
	struct rp_engine *e = NULL;
	char err[512] = "";
	int ret;

	CU_ASSERT_EQUAL_FATAL(load(y), 0);
	ret = rp_engine_create(&cfg, &e, err, sizeof(err));
	if (ret == -EINVAL)
		fprintf(stderr, "\n  engine: %s\n", err);
	CU_ASSERT_NOT_EQUAL(ret, -EINVAL);
	rp_engine_destroy(e);
}

static void test_yaml_tls_file_loads_every_value(void)
{
	const char *y =
		"listeners:\n"
		"  - bind: 127.0.0.1:8443\n"
		"    mode: http\n"
		"    cluster: web\n"
		"    tls:\n"
		"      certificates:\n"
		"        - cert: /etc/ringproxy/a.pem\n"
		"          key: /etc/ringproxy/a.key\n"
		"        - {cert: b.pem, key: b.key}\n"
		"      strict_sni: true\n"
		"      alpn: \"http/1.1,http/1.0\"\n"
		"      min_version: 1.3\n"
		"      max_version: \"1.3\"\n"
		"      ciphers: \"ECDHE-RSA-AES128-GCM-SHA256\"\n"
		"      tickets: false\n"
		"      ticket_rotate: 2h\n"
		"      handshake_timeout: 750ms\n"
		"      ktls: on\n"
		"  - bind: 127.0.0.1:8444\n"
		"    cluster: db\n"
		"    tls: {cert: c.pem, key: c.key, ktls: off, min_version: \"1.2\",\n"
		"          max_version: \"1.2\"}\n"
		"clusters:\n"
		"  web:\n"
		"    backends: [127.0.0.1:9443]\n"
		"    tls:\n"
		"      ca: /etc/ssl/certs/ca.pem\n"
		"      verify: false\n"
		"      sni: backend.example\n"
		"      ktls: off\n"
		"  db:\n"
		"    backends: [127.0.0.1:5432]\n"
		"    tls: {ktls: on}\n";
	const struct rp_tls_listener_config *t;
	const struct rp_tls_backend_config *b;

	CU_ASSERT_EQUAL_FATAL(load(y), 0);
	CU_ASSERT_EQUAL_FATAL(cfg.nlisteners, 2);
	t = &cfg.listeners[0].tls;
	CU_ASSERT_TRUE(t->enabled);
	CU_ASSERT_EQUAL_FATAL(t->ncerts, 2);
	CU_ASSERT_STRING_EQUAL(t->certs[0].cert, "/etc/ringproxy/a.pem");
	CU_ASSERT_STRING_EQUAL(t->certs[0].key, "/etc/ringproxy/a.key");
	CU_ASSERT_STRING_EQUAL(t->certs[1].cert, "b.pem");
	CU_ASSERT_STRING_EQUAL(t->certs[1].key, "b.key");
	CU_ASSERT_TRUE(t->strict_sni);
	CU_ASSERT_STRING_EQUAL(t->alpn, "http/1.1,http/1.0");
	CU_ASSERT_EQUAL(t->min_version, 0x0304);
	CU_ASSERT_EQUAL(t->max_version, 0x0304);
	CU_ASSERT_STRING_EQUAL(t->ciphers, "ECDHE-RSA-AES128-GCM-SHA256");
	CU_ASSERT_FALSE(t->tickets);
	CU_ASSERT_EQUAL(t->ticket_rotate_s, 7200);
	CU_ASSERT_EQUAL(t->handshake_timeout_ms, 750);
	CU_ASSERT_EQUAL(t->ktls, RP_KTLS_ON);
	/* The shorthand: one certificate. */
	t = &cfg.listeners[1].tls;
	CU_ASSERT_EQUAL(cfg.listeners[1].mode, RP_MODE_TCP);
	CU_ASSERT_TRUE(t->enabled);
	CU_ASSERT_EQUAL_FATAL(t->ncerts, 1);
	CU_ASSERT_STRING_EQUAL(t->certs[0].cert, "c.pem");
	CU_ASSERT_STRING_EQUAL(t->certs[0].key, "c.key");
	CU_ASSERT_EQUAL(t->ktls, RP_KTLS_OFF);
	CU_ASSERT_EQUAL(t->min_version, 0x0303);
	CU_ASSERT_EQUAL(t->max_version, 0x0303);

	CU_ASSERT_EQUAL_FATAL(cfg.nclusters, 2);
	b = &cfg.clusters[0].tls;
	CU_ASSERT_TRUE(b->enabled);
	CU_ASSERT_STRING_EQUAL(b->ca, "/etc/ssl/certs/ca.pem");
	CU_ASSERT_FALSE(b->verify);
	CU_ASSERT_STRING_EQUAL(b->sni, "backend.example");
	CU_ASSERT_EQUAL(b->ktls, RP_KTLS_OFF);
	b = &cfg.clusters[1].tls;
	CU_ASSERT_TRUE(b->enabled);
	CU_ASSERT_TRUE(b->verify);
	CU_ASSERT_STRING_EQUAL(b->ca, "");
	CU_ASSERT_STRING_EQUAL(b->sni, "");
	CU_ASSERT_EQUAL(b->ktls, RP_KTLS_ON);
}

static void test_yaml_tls_defaults_and_shorthands(void)
{
	struct rp_listener_config ldef;
	struct rp_cluster_config *cdef = malloc(sizeof(*cdef));
	struct rp_tls_listener_config want;
	const struct rp_tls_listener_config *t = &cfg.listeners[0].tls;

	CU_ASSERT_PTR_NOT_NULL_FATAL(cdef);
	rp_listener_config_init(&ldef);
	rp_cluster_config_init(cdef, "c");
	/* No tls anywhere: off, and the defaults untouched. */
	CU_ASSERT_EQUAL_FATAL(load("listeners: [{bind: 127.0.0.1:1, cluster: c}]\n"
				   "clusters: {c: {backends: [127.0.0.1:2]}}\n"),
			      0);
	CU_ASSERT_EQUAL(memcmp(t, &ldef.tls, sizeof(*t)), 0);
	CU_ASSERT_EQUAL(memcmp(&cfg.clusters[0].tls, &cdef->tls, sizeof(cdef->tls)), 0);
	CU_ASSERT_FALSE(t->enabled);
	CU_ASSERT_FALSE(cfg.clusters[0].tls.enabled);

	/* cert and key alone: the defaults plus that certificate. */
	CU_ASSERT_EQUAL_FATAL(
		load("listeners: [{bind: 127.0.0.1:1, cluster: c, tls: {cert: a.pem, "
		     "key: a.key}}]\n"
		     "clusters: {c: {backends: [127.0.0.1:2], tls: true}}\n"),
		0);
	want = ldef.tls;
	want.enabled = true;
	want.ncerts = 1;
	snprintf(want.certs[0].cert, sizeof(want.certs[0].cert), "a.pem");
	snprintf(want.certs[0].key, sizeof(want.certs[0].key), "a.key");
	CU_ASSERT_EQUAL(memcmp(t, &want, sizeof(want)), 0);
	CU_ASSERT_EQUAL(t->min_version, 0x0303);
	CU_ASSERT_EQUAL(t->max_version, 0x0304);
	CU_ASSERT_TRUE(t->tickets);
	CU_ASSERT_EQUAL(t->ticket_rotate_s, 3600);
	CU_ASSERT_EQUAL(t->handshake_timeout_ms, 10000);
	CU_ASSERT_EQUAL(t->ktls, RP_KTLS_AUTO);
	CU_ASSERT_STRING_EQUAL(t->alpn, ""); /* engine/tls: http/1.1 on http */
	CU_ASSERT_FALSE(t->strict_sni);
	/* tls: true is a tls mapping of defaults. */
	CU_ASSERT_TRUE(cfg.clusters[0].tls.enabled);
	CU_ASSERT_TRUE(cfg.clusters[0].tls.verify);
	CU_ASSERT_STRING_EQUAL(cfg.clusters[0].tls.ca, "");
	CU_ASSERT_STRING_EQUAL(cfg.clusters[0].tls.sni, "");
	CU_ASSERT_EQUAL(cfg.clusters[0].tls.ktls, RP_KTLS_AUTO);

	/* A one-item list is the same as the shorthand. */
	CU_ASSERT_EQUAL_FATAL(
		load("listeners: [{bind: 127.0.0.1:1, cluster: c, tls: {certificates: "
		     "[{key: a.key, cert: a.pem}]}}]\n"
		     "clusters: {c: {backends: [127.0.0.1:2], tls: {}}}\n"),
		0);
	CU_ASSERT_EQUAL(memcmp(t, &want, sizeof(want)), 0);
	CU_ASSERT_TRUE(cfg.clusters[0].tls.enabled);

	/* tls: false, and "" for the defaults. */
	CU_ASSERT_EQUAL_FATAL(
		load("listeners: [{bind: 127.0.0.1:1, cluster: c, tls: {cert: a.pem, "
		     "key: a.key, alpn: \"\", ciphers: \"\"}}]\n"
		     "clusters: {c: {backends: [127.0.0.1:2], tls: false}}\n"),
		0);
	CU_ASSERT_EQUAL(memcmp(t, &want, sizeof(want)), 0);
	CU_ASSERT_FALSE(cfg.clusters[0].tls.enabled);
	CU_ASSERT_EQUAL_FATAL(load("listeners: [{bind: 127.0.0.1:1, cluster: c}]\n"
				   "clusters: {c: {backends: [127.0.0.1:2], tls: {ca: "
				   "\"\", sni: \"\"}}}\n"),
			      0);
	CU_ASSERT_TRUE(cfg.clusters[0].tls.enabled);
	CU_ASSERT_STRING_EQUAL(cfg.clusters[0].tls.ca, "");
	free(cdef);
}

/* Bad TLS files: @n problems, the first of them @needles. */
static const struct {
	const char *yaml;
	unsigned n;
	const char *needles[3];
} bad_tls_files[] = {
	/* No certificate, one half of the shorthand. */
	{"listeners:\n"
	 "  - {bind: 127.0.0.1:1, cluster: c, tls: {strict_sni: true}}\n"
	 "  - {bind: 127.0.0.1:2, cluster: c, tls: {cert: a.pem}}\n"
	 "  - {bind: 127.0.0.1:3, cluster: c, tls: {key: a.key}}\n"
	 "clusters: {c: {backends: [127.0.0.1:9]}}\n",
	 3,
	 {"t.yaml:2:42: tls without certificates: give certificates: [{cert: FILE, "
	  "key: FILE}, ...] or cert: FILE and key: FILE",
	  "t.yaml:3:42: tls: cert without key: give both cert: FILE (the PEM chain, "
	  "leaf first) and key: FILE (its PEM private key)",
	  "t.yaml:4:42: tls: key without cert"}},
	/* Both forms. */
	{"listeners:\n"
	 "  - bind: 127.0.0.1:1\n"
	 "    cluster: c\n"
	 "    tls:\n"
	 "      certificates: [{cert: a.pem, key: a.key}]\n"
	 "      key: b.key\n"
	 "      cert: b.pem\n"
	 "clusters: {c: {backends: [127.0.0.1:9]}}\n",
	 1,
	 {"t.yaml:7:13: cert: give either certificates: [...] or cert and key (one "
	  "certificate), not both"}},
	/* Each certificate needs both; items are mappings; a list. */
	{"listeners:\n"
	 "  - bind: 127.0.0.1:1\n"
	 "    cluster: c\n"
	 "    tls:\n"
	 "      certificates:\n"
	 "        - {cert: a.pem}\n"
	 "        - {key: b.key}\n"
	 "        - {}\n"
	 "        - c.pem\n"
	 "        - {cert: d.pem, key: d.key, chain: e.pem}\n"
	 "  - {bind: 127.0.0.1:2, cluster: c, tls: {certificates: a.pem}}\n"
	 "  - {bind: 127.0.0.1:3, cluster: c, tls: {certificates: []}}\n"
	 "clusters: {c: {backends: [127.0.0.1:9]}}\n",
	 7,
	 {"t.yaml:6:11: certificate without 'key' (its PEM private key)",
	  "t.yaml:10:37: unknown key 'chain' in a certificate (expected cert, key)",
	  "t.yaml:11:57: certificates: expected a list of {cert: FILE, key: FILE}, "
	  "got a scalar"}},
	{"listeners:\n"
	 "  - bind: 127.0.0.1:1\n"
	 "    cluster: c\n"
	 "    tls:\n"
	 "      certificates:\n"
	 "        - {cert: a.pem}\n"
	 "        - {key: b.key}\n"
	 "        - {}\n"
	 "        - c.pem\n"
	 "  - {bind: 127.0.0.1:3, cluster: c, tls: {certificates: []}}\n"
	 "clusters: {c: {backends: [127.0.0.1:9]}}\n",
	 5,
	 {"t.yaml:7:11: certificate without 'cert' (its PEM chain, leaf first)",
	  "t.yaml:8:11: certificate without 'cert' and 'key'",
	  "t.yaml:10:57: certificates: the list is empty"}},
	{"listeners:\n"
	 "  - bind: 127.0.0.1:1\n"
	 "    cluster: c\n"
	 "    tls:\n"
	 "      certificates:\n"
	 "        - c.pem\n"
	 "        - {cert: \"\", key: \"a\\x01\"}\n"
	 "clusters: {c: {backends: [127.0.0.1:9]}}\n",
	 3,
	 {"t.yaml:6:11: a certificate: expected a mapping (key: value), got a scalar",
	  "t.yaml:7:18: cert: expected a file path, got ''",
	  "t.yaml:7:27: key: control characters are not allowed"}},
	/* Values. */
	{"listeners:\n"
	 "  - bind: 127.0.0.1:1\n"
	 "    cluster: c\n"
	 "    tls:\n"
	 "      cert: a.pem\n"
	 "      key: a.key\n"
	 "      min_version: 1.1\n"
	 "      max_version: TLSv1.3\n"
	 "      ktls: maybe\n"
	 "      strict_sni: sometimes\n"
	 "      alpn: \"h2, http/1.1\"\n"
	 "      ticket_rotate: 1500ms\n"
	 "      handshake_timeout: 0\n"
	 "      tickets: [true]\n"
	 "clusters: {c: {backends: [127.0.0.1:9]}}\n",
	 8,
	 {"t.yaml:7:20: min_version: expected \"1.2\" or \"1.3\" (older versions are "
	  "not offered), got '1.1'",
	  "t.yaml:9:13: ktls: expected auto, on or off, got 'maybe'",
	  "t.yaml:12:22: ticket_rotate: expected a duration in whole seconds such as "
	  "30s, 5m or 1h, at least 1s (a bare number is milliseconds), got "
	  "'1500ms'"}},
	/* The same file: three more of its eight problems. */
	{"listeners:\n"
	 "  - bind: 127.0.0.1:1\n"
	 "    cluster: c\n"
	 "    tls:\n"
	 "      cert: a.pem\n"
	 "      key: a.key\n"
	 "      min_version: 1.1\n"
	 "      max_version: TLSv1.3\n"
	 "      ktls: maybe\n"
	 "      strict_sni: sometimes\n"
	 "      alpn: \"h2, http/1.1\"\n"
	 "      ticket_rotate: 1500ms\n"
	 "      handshake_timeout: 0\n"
	 "      tickets: [true]\n"
	 "clusters: {c: {backends: [127.0.0.1:9]}}\n",
	 8,
	 {"t.yaml:8:20: max_version: expected \"1.2\" or \"1.3\"",
	  "t.yaml:11:13: alpn: expected protocol names separated by commas such as "
	  "h2,http/1.1 (no spaces, none empty), got 'h2, http/1.1'",
	  "t.yaml:14:16: tickets: expected true or false, got a list"}},
	/* Versions out of order; an unknown key inside tls. */
	{"listeners:\n"
	 "  - bind: 127.0.0.1:1\n"
	 "    cluster: c\n"
	 "    tls: {cert: a.pem, key: a.key, min_version: \"1.3\", max_version: "
	 "\"1.2\", session_cache: on}\n"
	 "clusters: {c: {backends: [127.0.0.1:9]}}\n",
	 2,
	 {"t.yaml:4:69: max_version: must not be below min_version (1.3)",
	  "t.yaml:4:76: unknown key 'session_cache' in tls (expected certificates, "
	  "cert, key, strict_sni, alpn, min_version, max_version, ciphers, tickets, "
	  "ticket_rotate, handshake_timeout, ktls)"}},
	/* Not a mapping. */
	{"listeners: [{bind: 127.0.0.1:1, cluster: c, tls: true}]\n"
	 "clusters: {c: {backends: [127.0.0.1:9]}}\n",
	 1,
	 {"t.yaml:1:50: tls: expected a mapping (key: value), got a scalar"}},
	/* Where tls is not available. */
	{"listeners:\n"
	 "  - bind: 127.0.0.1:1\n"
	 "    mode: forward\n"
	 "    tls: {cert: a.pem, key: a.key}\n"
	 "  - bind: 127.0.0.1:2\n"
	 "    mode: http\n"
	 "    cluster: c\n"
	 "    accept_proxy: true\n"
	 "    tls: {cert: a.pem, key: a.key}\n"
	 "  - bind: 127.0.0.1:3\n"
	 "    cluster: c\n"
	 "    tls: {cert: a.pem, key: a.key}\n"
	 "    accept_proxy: false\n"
	 "clusters: {c: {backends: [127.0.0.1:9]}}\n",
	 2,
	 {"t.yaml:4:5: tls: tls is available on mode tcp and http listeners (this "
	  "listener is mode forward)",
	  "t.yaml:8:19: accept_proxy: accept_proxy with tls is not available yet"}},
	/* A cluster's tls. */
	{"listeners: [{bind: 127.0.0.1:1, cluster: c}]\n"
	 "clusters:\n"
	 "  c:\n"
	 "    backends: [127.0.0.1:9]\n"
	 "    tls: maybe\n"
	 "  d:\n"
	 "    backends: [127.0.0.1:9]\n"
	 "    tls: {sni: \"10.0.0.1\", verify: perhaps, ktls: 1, ca: [a], crl: x}\n"
	 "  e:\n"
	 "    backends: [127.0.0.1:9]\n"
	 "    tls: [ca.pem]\n",
	 7,
	 {"t.yaml:5:10: tls: expected a mapping {ca, verify, sni, ktls}, or true or "
	  "false, got 'maybe'",
	  "t.yaml:8:16: sni: expected a server name such as backend.example (no "
	  "port, no IP address, no trailing dot), got '10.0.0.1'",
	  "t.yaml:11:10: tls: expected a mapping (key: value), got a list"}},
	{"listeners: [{bind: 127.0.0.1:1, cluster: c}]\n"
	 "clusters:\n"
	 "  c:\n"
	 "    backends: [127.0.0.1:9]\n"
	 "    tls: {sni: \"a.example:443\", verify: perhaps, ktls: 1, ca: [a], crl: x}\n",
	 5,
	 {"t.yaml:5:41: verify: expected true or false, got 'perhaps'",
	  "t.yaml:5:56: ktls: expected auto, on or off, got '1'",
	  "t.yaml:5:68: unknown key 'crl' in tls (expected ca, verify, sni, ktls)"}},
};

static void test_yaml_bad_tls_files_report_line_and_column(void)
{
	for (unsigned i = 0; i < sizeof(bad_tls_files) / sizeof(bad_tls_files[0]); i++) {
		int want = (int)bad_tls_files[i].n;
		int ret = load(bad_tls_files[i].yaml);

		if (ret != want) {
			fprintf(stderr,
				"\n  bad tls file %u: %d problems, wanted %d:\n%s", i,
				ret, want, reports);
			CU_FAIL("wrong number of problems");
		}
		CU_ASSERT_EQUAL(nreports, (unsigned)(ret > 0 ? ret : 0));
		for (unsigned k = 0; k < 3 && bad_tls_files[i].needles[k]; k++)
			expect_report(bad_tls_files[i].needles[k]);
	}
}

static void test_yaml_tls_limits(void)
{
	static char y[16384];
	char path[RP_PATH_MAX + 1];
	size_t n = 0;

	/* RP_MAX_CERTS certificates fit; one more is one problem, however
	 * many follow. */
	n += (size_t)sprintf(y + n, "listeners:\n"
				    "  - bind: 127.0.0.1:1\n"
				    "    cluster: c\n"
				    "    tls:\n"
				    "      certificates:\n");
	for (unsigned i = 0; i < RP_MAX_CERTS; i++)
		n += (size_t)sprintf(y + n, "        - {cert: c%u.pem, key: k%u.pem}\n",
				     i, i);
	sprintf(y + n, "clusters: {c: {backends: [127.0.0.1:9]}}\n");
	CU_ASSERT_EQUAL_FATAL(load(y), 0);
	CU_ASSERT_EQUAL(cfg.listeners[0].tls.ncerts, RP_MAX_CERTS);
	CU_ASSERT_STRING_EQUAL(cfg.listeners[0].tls.certs[15].cert, "c15.pem");
	CU_ASSERT_STRING_EQUAL(cfg.listeners[0].tls.certs[15].key, "k15.pem");
	n += (size_t)sprintf(y + n, "        - {cert: x.pem, key: x.key}\n"
				    "        - {cert: y.pem, key: y.key}\n");
	sprintf(y + n, "clusters: {c: {backends: [127.0.0.1:9]}}\n");
	CU_ASSERT_EQUAL(load(y), 1);
	expect_report("t.yaml:22:11: certificates: too many (at most 16)");
	CU_ASSERT_EQUAL(cfg.listeners[0].tls.ncerts, RP_MAX_CERTS);

	/* Paths: 255 characters fit, 256 do not (never cut short). */
	memset(path, 'p', RP_PATH_MAX);
	path[0] = '/';
	path[RP_PATH_MAX] = '\0';
	snprintf(y, sizeof(y),
		 "listeners: [{bind: 127.0.0.1:1, cluster: c, tls: {cert: %s, key: "
		 "k}}]\n"
		 "clusters: {c: {backends: [127.0.0.1:9], tls: {ca: %s}}}\n",
		 path, path);
	CU_ASSERT_EQUAL(load(y), 2);
	expect_report("t.yaml:1:57: cert: too long, at most 255 characters");
	expect_report("t.yaml:2:51: ca: too long, at most 255 characters");
	path[RP_PATH_MAX - 1] = '\0';
	snprintf(y, sizeof(y),
		 "listeners: [{bind: 127.0.0.1:1, cluster: c, tls: {certificates: "
		 "[{cert: c, key: %s}]}}]\n"
		 "clusters: {c: {backends: [127.0.0.1:9], tls: {ca: %s}}}\n",
		 path, path);
	CU_ASSERT_EQUAL_FATAL(load(y), 0);
	CU_ASSERT_STRING_EQUAL(cfg.listeners[0].tls.certs[0].key, path);
	CU_ASSERT_STRING_EQUAL(cfg.clusters[0].tls.ca, path);

	/* alpn fits a char[64], sni a char[128]. */
	CU_ASSERT_EQUAL(load("listeners: [{bind: 127.0.0.1:1, cluster: c, tls: {cert: "
			     "c, key: k, alpn: "
			     "0123456789012345678901234567890123456789012345678901234"
			     "567890123}}]\n"
			     "clusters: {c: {backends: [127.0.0.1:9]}}\n"),
			1);
	expect_report("alpn: too long, at most 63 characters");
}

/*
 * h2 (or h2c) in the ALPN of a mode http listener is refused where it is
 * written, mode given before or after tls: the L7 half speaks HTTP/1.1
 * only, and a client that picked h2 would get HTTP/1.1 answers to its
 * HTTP/2 preface (curl --http2). A tcp listener may offer h2: it passes
 * the bytes to a backend that may speak it.
 */
static void test_yaml_h2_alpn_refused_on_http(void)
{
	const char *y =
		"listeners:\n"						       /* 1 */
		"  - bind: 127.0.0.1:1\n"				       /* 2 */
		"    mode: http\n"					       /* 3 */
		"    cluster: c\n"					       /* 4 */
		"    tls:\n"						       /* 5 */
		"      cert: a.pem\n"					       /* 6 */
		"      key: a.key\n"					       /* 7 */
		"      alpn: \"h2,http/1.1\"\n"				       /* 8 */
		"  - bind: 127.0.0.1:2\n"				       /* 9 */
		"    tls: {cert: a.pem, key: a.key, alpn: \"http/1.1,h2c\"}\n" /* 10 */
		"    cluster: c\n"					       /* 11 */
		"    mode: http\n"					       /* 12 */
		"  - {bind: 127.0.0.1:3, cluster: c,\n"			       /* 13 */
		"     tls: {cert: a.pem, key: a.key, alpn: \"h2,http/1.1\"}}\n"
		"  - {bind: 127.0.0.1:4, mode: http, cluster: c,\n" /* 15 */
		"     tls: {cert: a.pem, key: a.key, alpn: \"h2x,h3,http/1.1\"}}\n"
		"clusters: {c: {backends: [127.0.0.1:9]}}\n";

	CU_ASSERT_EQUAL(load(y), 2);
	expect_report("t.yaml:8:13: alpn: HTTP/2 is not supported yet: this mode http "
		      "listener speaks HTTP/1.1 only, and a client that picks h2 "
		      "would send HTTP/2 and get HTTP/1.1 back; remove h2 from alpn "
		      "(http/1.1 is the default)");
	expect_report("t.yaml:10:42: alpn: HTTP/2 is not supported yet");
	expect_report("remove h2c from alpn");
	CU_ASSERT_PTR_NULL(strstr(reports, "t.yaml:14:"));
	CU_ASSERT_PTR_NULL(strstr(reports, "t.yaml:16:"));
}

/* What the loader accepts of TLS, the engine accepts too. */
static void test_yaml_engine_agrees_on_tls(void)
{
	const char *y =
		"listeners:\n"
		"  - bind: 127.0.0.1:1\n"
		"    cluster: c\n"
		"    tls:\n"
		"      certificates: [{cert: a.pem, key: a.key}, {cert: b.pem, key: "
		"b.key}]\n"
		"      alpn: \"h2,http/1.1\"\n"
		"      min_version: 1.3\n"
		"      ticket_rotate: 1s\n"
		"      handshake_timeout: 1ms\n"
		"      ktls: off\n"
		"clusters:\n"
		"  c:\n"
		"    backends: [127.0.0.1:2]\n"
		"    tls: {ca: ca.pem, sni: backend.example, verify: false}\n";

	CU_ASSERT_EQUAL_FATAL(load(y), 0);
	CU_ASSERT_NOT_EQUAL(engine_validate(), -EINVAL);
}

/* For embedders that fill struct rp_config themselves. */
static void test_yaml_engine_refuses_bad_tls_values(void)
{
	struct rp_tls_listener_config *t = &cfg.listeners[0].tls;
	struct rp_tls_backend_config *b = &cfg.clusters[0].tls;

#define TLS_BASE()                                                                       \
	do {                                                                             \
		engine_base();                                                           \
		t->enabled = true;                                                       \
		t->ncerts = 1;                                                           \
		snprintf(t->certs[0].cert, sizeof(t->certs[0].cert), "a.pem");           \
		snprintf(t->certs[0].key, sizeof(t->certs[0].key), "a.key");             \
	} while (0)
	TLS_BASE();
	CU_ASSERT_NOT_EQUAL(engine_validate(), -EINVAL);
	/* A disabled block is not looked at. */
	engine_base();
	t->ncerts = 99;
	t->ktls = (enum rp_ktls_mode)9;
	b->ktls = (enum rp_ktls_mode)9;
	CU_ASSERT_NOT_EQUAL(engine_validate(), -EINVAL);

	TLS_BASE();
	t->ncerts = 0;
	expect_refused("listener 127.0.0.1:1: tls needs 1 to 16 certificates (got 0)");
	TLS_BASE();
	t->ncerts = RP_MAX_CERTS + 1;
	expect_refused("listener 127.0.0.1:1: tls needs 1 to 16 certificates (got 17)");
	TLS_BASE();
	t->ncerts = 2;
	expect_refused("listener 127.0.0.1:1: tls certificate 1: cert and key must be "
		       "file paths (not empty, terminated, no control characters)");
	TLS_BASE();
	t->certs[0].key[0] = '\0';
	expect_refused("tls certificate 0: cert and key must be file paths");
	TLS_BASE();
	memset(t->certs[0].cert, 'a', sizeof(t->certs[0].cert));
	expect_refused("tls certificate 0: cert and key must be file paths");
	TLS_BASE();
	snprintf(t->certs[0].key, sizeof(t->certs[0].key), "a\nb");
	expect_refused("tls certificate 0: cert and key must be file paths");
	TLS_BASE();
	t->min_version = 0x0302;
	expect_refused("listener 127.0.0.1:1: tls min_version and max_version must be "
		       "0x0303 (1.2) or 0x0304 (1.3), min not above max");
	TLS_BASE();
	t->max_version = 0x0305;
	expect_refused("tls min_version and max_version must be");
	TLS_BASE();
	t->min_version = 0x0304;
	t->max_version = 0x0303;
	expect_refused("tls min_version and max_version must be");
	TLS_BASE();
	t->ticket_rotate_s = 0;
	expect_refused("listener 127.0.0.1:1: tls ticket_rotate and handshake_timeout "
		       "must be positive");
	TLS_BASE();
	t->handshake_timeout_ms = 0;
	expect_refused("tls ticket_rotate and handshake_timeout must be positive");
	TLS_BASE();
	t->ktls = (enum rp_ktls_mode)3;
	expect_refused("listener 127.0.0.1:1: unknown tls ktls mode (auto, on or off)");
	TLS_BASE();
	memset(t->ciphers, 'A', sizeof(t->ciphers));
	expect_refused("listener 127.0.0.1:1: tls alpn or ciphers are not terminated");
	TLS_BASE();
	snprintf(t->alpn, sizeof(t->alpn), "h2\r\n");
	expect_refused("tls alpn or ciphers are not terminated or hold a control");
	TLS_BASE();
	snprintf(t->alpn, sizeof(t->alpn), "h2,,http/1.1");
	expect_refused("listener 127.0.0.1:1: tls alpn must be protocol names separated "
		       "by commas");
	/* HTTP/2 on mode http, which speaks HTTP/1.1 only; tcp may pass it. */
	TLS_BASE();
	snprintf(t->alpn, sizeof(t->alpn), "h2,http/1.1");
	CU_ASSERT_NOT_EQUAL(engine_validate(), -EINVAL);
	TLS_BASE();
	cfg.listeners[0].mode = RP_MODE_HTTP;
	CU_ASSERT_NOT_EQUAL(engine_validate(), -EINVAL);
	snprintf(t->alpn, sizeof(t->alpn), "h2,http/1.1");
	expect_refused("listener 127.0.0.1:1: tls alpn: HTTP/2 is not supported yet: "
		       "mode http speaks HTTP/1.1 only, and a client that picks h2 "
		       "would send HTTP/2 and get HTTP/1.1 back; remove h2 from alpn");
	snprintf(t->alpn, sizeof(t->alpn), "http/1.1,h2c");
	expect_refused("remove h2c from alpn");
	snprintf(t->alpn, sizeof(t->alpn), "h2x,h3,http/1.1");
	CU_ASSERT_NOT_EQUAL(engine_validate(), -EINVAL);
	TLS_BASE();
	cfg.listeners[0].accept_proxy = 1;
	expect_refused("listener 127.0.0.1:1: accept_proxy with tls is not available "
		       "yet");
	TLS_BASE();
	cfg.listeners[0].mode = RP_MODE_FORWARD;
	expect_refused("listener 127.0.0.1:1: tls is available on mode tcp and http "
		       "listeners");

	engine_base();
	b->enabled = true;
	CU_ASSERT_NOT_EQUAL(engine_validate(), -EINVAL);
	engine_base();
	b->enabled = true;
	memset(b->ca, 'a', sizeof(b->ca));
	expect_refused("cluster 'c': tls ca or sni is not terminated or holds a control "
		       "character");
	engine_base();
	b->enabled = true;
	snprintf(b->sni, sizeof(b->sni), "a.example\r\n");
	expect_refused("cluster 'c': tls ca or sni is not terminated");
	engine_base();
	b->enabled = true;
	snprintf(b->sni, sizeof(b->sni), "a example");
	expect_refused("cluster 'c': tls sni must be a server name (no spaces)");
	engine_base();
	b->enabled = true;
	b->ktls = (enum rp_ktls_mode)3;
	expect_refused("cluster 'c': unknown tls ktls mode (auto, on or off)");
#undef TLS_BASE
}

/* SNI passthrough: routes in file order with their clusters resolved
 * (clusters defined after the listeners), strict and timeout, and a strict
 * listener that names no cluster of its own. */
static void test_yaml_sni_file_loads_every_value(void)
{
	const char *y = "listeners:\n"
			"  - bind: 127.0.0.1:1\n"
			"    cluster: fallback\n"
			"    sni:\n"
			"      routes:\n"
			"        - {name: a.example, cluster: a}\n"
			"        - {name: \"*.B.example\", cluster: b}\n"
			"        - {name: c.example, cluster: a}\n"
			"      timeout: 750ms\n"
			"  - bind: 127.0.0.1:2\n"
			"    accept_proxy: true\n"
			"    sni:\n"
			"      strict: true\n"
			"      routes: [{name: x.example, cluster: b}]\n"
			"  - bind: 127.0.0.1:3\n"
			"    cluster: a\n"
			"clusters:\n"
			"  fallback: {backends: [127.0.0.1:10]}\n"
			"  a: {backends: [127.0.0.1:11]}\n"
			"  b: {backends: [127.0.0.1:12]}\n";
	const struct rp_listener_config *l = cfg.listeners;
	struct rp_engine *e = NULL;
	char err[512] = "";
	int ret;

	CU_ASSERT_EQUAL_FATAL(load(y), 0);
	CU_ASSERT_EQUAL(cfg.nlisteners, 3);
	CU_ASSERT_EQUAL(l[0].cluster, 0);
	CU_ASSERT_EQUAL(l[0].nsni, 3);
	CU_ASSERT_STRING_EQUAL(l[0].sni[0].name, "a.example");
	CU_ASSERT_EQUAL(l[0].sni[0].cluster, 1);
	CU_ASSERT_STRING_EQUAL(l[0].sni[1].name, "*.B.example");
	CU_ASSERT_EQUAL(l[0].sni[1].cluster, 2);
	CU_ASSERT_STRING_EQUAL(l[0].sni[2].name, "c.example");
	CU_ASSERT_EQUAL(l[0].sni[2].cluster, 1);
	CU_ASSERT_FALSE(l[0].sni_strict);
	CU_ASSERT_EQUAL(l[0].sni_timeout_ms, 750);
	CU_ASSERT_EQUAL(l[1].nsni, 1);
	CU_ASSERT_TRUE(l[1].sni_strict);
	CU_ASSERT_EQUAL(l[1].sni_timeout_ms, 5000);
	CU_ASSERT_EQUAL(l[1].sni[0].cluster, 2);
	CU_ASSERT_EQUAL(l[1].cluster, 2); /* its first route's, never used */
	CU_ASSERT_TRUE(l[1].accept_proxy);
	CU_ASSERT_EQUAL(l[2].nsni, 0);
	CU_ASSERT_EQUAL(l[2].cluster, 1);
	ret = rp_engine_create(&cfg, &e, err, sizeof(err));
	if (ret == -EINVAL)
		fprintf(stderr, "\n  engine: %s\n", err);
	CU_ASSERT_NOT_EQUAL(ret, -EINVAL);
	rp_engine_destroy(e);
}

static const struct {
	const char *yaml;
	unsigned n;
	const char *needles[3];
} bad_sni_files[] = {
	{"listeners:\n"
	 "  - bind: 127.0.0.1:1\n"
	 "    cluster: c\n"
	 "    sni:\n"
	 "      routes:\n"
	 "        - {name: \"a b\", cluster: c}\n"
	 "        - {name: \"a.*.example\", cluster: c}\n"
	 "        - {name: a.example., cluster: c}\n"
	 "clusters: {c: {backends: [127.0.0.1:2]}}\n",
	 3,
	 {"t.yaml:6:18: name: expected a server name", "t.yaml:7:18: name: expected",
	  "t.yaml:8:18: name: expected"}},
	{"listeners:\n"
	 "  - bind: 127.0.0.1:1\n"
	 "    cluster: c\n"
	 "    sni:\n"
	 "      routes:\n"
	 "        - {name: a.example, cluster: nope}\n"
	 "        - {cluster: c}\n"
	 "        - {name: A.EXAMPLE, cluster: c}\n"
	 "clusters: {c: {backends: [127.0.0.1:2]}}\n",
	 3,
	 {"t.yaml:6:38: cluster: unknown cluster 'nope'",
	  "t.yaml:7:11: sni route without 'name'",
	  "t.yaml:8:18: name: duplicate sni route 'A.EXAMPLE' (first at 6:18"}},
	{"listeners:\n"
	 "  - bind: 127.0.0.1:1\n"
	 "    sni:\n"
	 "      routes: [{name: a.example}]\n"
	 "      strict: maybe\n"
	 "      timeout: 0\n"
	 "clusters: {c: {backends: [127.0.0.1:2]}}\n",
	 4,
	 {"t.yaml:4:16: sni route without 'cluster'", "t.yaml:5:15: strict: expected",
	  "t.yaml:6:16: timeout: expected a duration"}},
	/* Without strict, the listener's cluster is required. */
	{"listeners:\n"
	 "  - bind: 127.0.0.1:1\n"
	 "    sni: {routes: [{name: a.example, cluster: c}]}\n"
	 "clusters: {c: {backends: [127.0.0.1:2]}}\n",
	 1,
	 {"t.yaml:2:5: listener without 'cluster' (where connections that no sni "
	  "route takes go"}},
	{"listeners:\n"
	 "  - bind: 127.0.0.1:1\n"
	 "    cluster: c\n"
	 "    sni: {strict: true}\n"
	 "  - bind: 127.0.0.1:2\n"
	 "    cluster: c\n"
	 "    sni: {routes: []}\n"
	 "  - bind: 127.0.0.1:3\n"
	 "    cluster: c\n"
	 "    sni: {routes: {name: a.example}}\n"
	 "  - bind: 127.0.0.1:4\n"
	 "    cluster: c\n"
	 "    sni: [a.example]\n"
	 "clusters: {c: {backends: [127.0.0.1:2]}}\n",
	 4,
	 {"t.yaml:4:10: sni without 'routes'", "t.yaml:7:19: routes: the list is empty",
	  "t.yaml:10:19: routes: expected a list"}},
	{"listeners:\n"
	 "  - bind: 127.0.0.1:1\n"
	 "    mode: http\n"
	 "    cluster: c\n"
	 "    sni: {routes: [{name: a.example, cluster: c}]}\n"
	 "clusters: {c: {backends: [127.0.0.1:2]}}\n",
	 1,
	 {"t.yaml:5:5: sni: only for mode tcp (this listener is mode http)"}},
};

static void test_yaml_bad_sni_files_report_line_and_column(void)
{
	for (unsigned i = 0; i < sizeof(bad_sni_files) / sizeof(bad_sni_files[0]); i++) {
		int want = (int)bad_sni_files[i].n;
		int ret = load(bad_sni_files[i].yaml);

		if (ret != want) {
			fprintf(stderr,
				"\n  bad sni file %u: %d problems, wanted %d:\n%s", i,
				ret, want, reports);
			CU_FAIL("wrong number of problems");
		}
		CU_ASSERT_EQUAL(nreports, (unsigned)(ret > 0 ? ret : 0));
		for (unsigned k = 0; k < 3 && bad_sni_files[i].needles[k]; k++)
			expect_report(bad_sni_files[i].needles[k]);
	}
}

static void test_yaml_too_many_sni_routes(void)
{
	static char y[65536];
	size_t n;

	n = (size_t)snprintf(y, sizeof(y),
			     "listeners:\n"
			     "  - bind: 127.0.0.1:1\n"
			     "    cluster: c\n"
			     "    sni:\n"
			     "      routes:\n");
	for (unsigned i = 0; i < RP_MAX_SNI + 2; i++)
		n += (size_t)snprintf(y + n, sizeof(y) - n,
				      "        - {name: n%u.example, cluster: c}\n", i);
	snprintf(y + n, sizeof(y) - n, "clusters: {c: {backends: [127.0.0.1:2]}}\n");
	CU_ASSERT_EQUAL(load(y), 1);
	expect_report("sni: too many routes (at most 32)");
	CU_ASSERT_EQUAL(cfg.listeners[0].nsni, RP_MAX_SNI);
}

/* For embedders that fill struct rp_config themselves. */
static void test_yaml_engine_refuses_bad_sni_values(void)
{
	static const char *const bad[] = {"",  "a b",		"a.*.example",
					  "*", "a.example:443", "a\r\nb"};
	struct rp_listener_config *l = &cfg.listeners[0];

	engine_base();
	l->nsni = 1;
	strcpy(l->sni[0].name, "*.example");
	CU_ASSERT_NOT_EQUAL(engine_validate(), -EINVAL);

	l->nsni = RP_MAX_SNI + 1;
	expect_refused("too many sni routes (at most 32)");
	l->nsni = 1;
	l->mode = RP_MODE_HTTP;
	expect_refused("sni routes are only for mode tcp, not http");
	l->mode = RP_MODE_TCP;
	l->tls.enabled = true;
	expect_refused("cannot go with tls");
	l->tls.enabled = false;
	l->sni_timeout_ms = 0;
	expect_refused("sni timeout must be positive");
	l->sni_timeout_ms = 5000;
	l->sni[0].cluster = 1;
	expect_refused("sni route 0: no such cluster (#1)");
	l->sni[0].cluster = 0;
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strcpy(l->sni[0].name, bad[i]);
		expect_refused("sni route 0: name must be a DNS name");
	}
	memset(l->sni[0].name, 'a', sizeof(l->sni[0].name)); /* no NUL */
	expect_refused("sni route 0: name must be a DNS name");
	strcpy(l->sni[0].name, "a.example");
	CU_ASSERT_NOT_EQUAL(engine_validate(), -EINVAL);
}

/* ---- outlier detection and slow start ------------------------------------ */

static void test_yaml_outlier_loads_every_value(void)
{
	const char *y = "listeners: [{bind: 127.0.0.1:1, cluster: c}]\n"
			"clusters:\n"
			"  c:\n"
			"    backends: [127.0.0.1:2]\n"
			"    slow_start: 30s\n"
			"    outlier_detection:\n"
			"      consecutive_5xx: 5\n"
			"      consecutive_gateway_failure: 0\n"
			"      interval: 2s\n"
			"      base_ejection_time: 7s\n"
			"      max_ejection_time: 1m\n"
			"      max_ejection_percent: 100\n"
			"      success_rate_minimum_hosts: 2\n"
			"      success_rate_request_volume: 20\n"
			"      success_rate_stdev_factor: 1900\n"
			"      success_rate_threshold: 75\n";
	const struct rp_outlier_config *o = &cfg.clusters[0].outlier;

	CU_ASSERT_EQUAL_FATAL(load(y), 0);
	CU_ASSERT_EQUAL(cfg.clusters[0].slow_start_ms, 30000);
	CU_ASSERT_EQUAL(o->consecutive_5xx, 5);
	CU_ASSERT_EQUAL(cfg.clusters[0].fall, 0);
	CU_ASSERT_EQUAL(o->interval_ms, 2000);
	CU_ASSERT_EQUAL(cfg.clusters[0].cooldown_ms, 7000);
	CU_ASSERT_EQUAL(o->max_ejection_ms, 60000);
	CU_ASSERT_EQUAL(o->max_ejection_percent, 100);
	CU_ASSERT_EQUAL(o->sr_minimum_hosts, 2);
	CU_ASSERT_EQUAL(o->sr_request_volume, 20);
	CU_ASSERT_EQUAL(o->sr_stdev_factor, 1900);
	CU_ASSERT_EQUAL(o->sr_threshold, 75);

	/* The defaults; fall and cooldown are the old names of the two. */
	CU_ASSERT_EQUAL_FATAL(load("listeners: [{bind: 127.0.0.1:1, cluster: c}]\n"
				   "clusters: {c: {backends: [127.0.0.1:2], fall: 4, "
				   "cooldown: 3s}}\n"),
			      0);
	CU_ASSERT_EQUAL(cfg.clusters[0].fall, 4);
	CU_ASSERT_EQUAL(cfg.clusters[0].cooldown_ms, 3000);
	CU_ASSERT_EQUAL(o->consecutive_5xx, 0);
	CU_ASSERT_EQUAL(o->interval_ms, 10000);
	CU_ASSERT_EQUAL(o->max_ejection_ms, 300000);
	CU_ASSERT_EQUAL(o->max_ejection_percent, 50);
	CU_ASSERT_EQUAL(o->sr_minimum_hosts, 5);
	CU_ASSERT_EQUAL(o->sr_request_volume, 100);
	CU_ASSERT_EQUAL(o->sr_stdev_factor, 0);
	CU_ASSERT_EQUAL(o->sr_threshold, 0);
	CU_ASSERT_EQUAL(cfg.clusters[0].slow_start_ms, 0);
}

static void test_yaml_bad_outlier_files_report_line_and_column(void)
{
	CU_ASSERT_EQUAL(load("listeners: [{bind: 127.0.0.1:1, cluster: c}]\n"
			     "clusters:\n"
			     "  c:\n"
			     "    backends: [127.0.0.1:2]\n"
			     "    outlier_detection:\n"
			     "      max_ejection_percent: 150\n"
			     "      consecutive_5xx: 1001\n"
			     "      base_ejection_time: 0\n"
			     "      consecutive_errors: 5\n"),
			4);
	expect_report("t.yaml:6:29: max_ejection_percent: expected a whole number "
		      "from 0 to 100, got '150'");
	expect_report("t.yaml:7:24: consecutive_5xx: expected a whole number from 0 "
		      "to 1000");
	expect_report("t.yaml:8:27: base_ejection_time: expected a duration");
	expect_report("t.yaml:9:7: unknown key 'consecutive_errors' in "
		      "outlier_detection");
	CU_ASSERT_EQUAL(load("listeners: [{bind: 127.0.0.1:1, cluster: c}]\n"
			     "clusters:\n"
			     "  c:\n"
			     "    backends: [127.0.0.1:2]\n"
			     "    outlier_detection: {success_rate_request_volume: 10}\n"
			     "  d:\n"
			     "    backends: [127.0.0.1:3]\n"
			     "    balance: maglev\n"
			     "    slow_start: 10s\n"
			     "  e: {backends: [127.0.0.1:4], outlier_detection: 5}\n"),
			3);
	expect_report("t.yaml:5:54: success_rate_request_volume: no success-rate "
		      "detector is on");
	expect_report("t.yaml:9:17: slow_start: balance maglev has no slow start");
	expect_report("t.yaml:10:51: outlier_detection: expected a mapping");
}

static void test_yaml_engine_refuses_bad_outlier_values(void)
{
	struct rp_cluster_config *c = &cfg.clusters[0];

	engine_base();
	c->outlier.max_ejection_percent = 101;
	expect_refused("max_ejection_percent and success_rate_threshold are "
		       "percentages");
	engine_base();
	c->fall = 1001;
	expect_refused("must be from 0 (off) to 1000");
	engine_base();
	c->outlier.interval_ms = 0;
	expect_refused("interval and max_ejection_time must be positive");
	engine_base();
	c->outlier.sr_request_volume = 0;
	expect_refused("success_rate_request_volume must be positive");
	engine_base();
	snprintf(c->balance, sizeof(c->balance), "ringhash");
	c->slow_start_ms = 1000;
	expect_refused("balance ringhash has no slow start");
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
	RP_TEST(test_yaml_http_file_loads_every_value),
	RP_TEST(test_yaml_http_listener_gets_the_defaults),
	RP_TEST(test_yaml_routes_without_match_take_everything),
	RP_TEST(test_yaml_bad_http_files_report_line_and_column),
	RP_TEST(test_yaml_long_strings_are_refused_not_truncated),
	RP_TEST(test_yaml_too_many_routes),
	RP_TEST(test_yaml_example_files_pass),
	RP_TEST(test_yaml_engine_agrees_with_the_loader),
	RP_TEST(test_yaml_engine_refuses_bad_http_values),
	RP_TEST(test_yaml_forward_file_loads_every_value),
	RP_TEST(test_yaml_forward_listener_gets_the_defaults),
	RP_TEST(test_yaml_bad_forward_files_report_line_and_column),
	RP_TEST(test_yaml_forward_settings_checked_whatever_the_build),
	RP_TEST(test_yaml_forward_acl_limits),
	RP_TEST(test_yaml_forward_open_proxy_refused_at_its_bind),
	RP_TEST(test_yaml_forward_max_body),
	RP_TEST(test_yaml_forward_example_passes),
	RP_TEST(test_yaml_engine_refuses_bad_forward_values),
	RP_TEST(test_yaml_engine_agrees_on_forward),
	RP_TEST(test_yaml_tls_file_loads_every_value),
	RP_TEST(test_yaml_tls_defaults_and_shorthands),
	RP_TEST(test_yaml_bad_tls_files_report_line_and_column),
	RP_TEST(test_yaml_tls_limits),
	RP_TEST(test_yaml_h2_alpn_refused_on_http),
	RP_TEST(test_yaml_engine_agrees_on_tls),
	RP_TEST(test_yaml_engine_refuses_bad_tls_values),
	RP_TEST(test_yaml_sni_file_loads_every_value),
	RP_TEST(test_yaml_bad_sni_files_report_line_and_column),
	RP_TEST(test_yaml_too_many_sni_routes),
	RP_TEST(test_yaml_engine_refuses_bad_sni_values),
	RP_TEST(test_yaml_outlier_loads_every_value),
	RP_TEST(test_yaml_bad_outlier_files_report_line_and_column),
	RP_TEST(test_yaml_engine_refuses_bad_outlier_values),
};
RP_UNIT_MAIN("yaml", tests)

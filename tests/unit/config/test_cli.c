// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_cli.c - the command line: the embedded default, every option kind,
 * value syntaxes (durations, sizes, numbers, hosts, paths) and clear errors
 * for bad input, the HTTP options included whether or not this build serves
 * mode http yet, and `ringproxy forward` with its options and access rules,
 * checked whether or not this build serves mode forward.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/cli.h"
#include "net/net.h"
#include "unit.h"

#define ARGV(...)                                                                        \
	(char *const[])                                                                  \
	{                                                                                \
		"ringproxy", __VA_ARGS__, NULL                                           \
	}
#define ARGC(...)                                                                        \
	((int)(sizeof((char *const[]){"ringproxy", __VA_ARGS__}) / sizeof(char *)))
#define PARSE(cli, err, ...)                                                             \
	rp__cli_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), cli, err, sizeof(err))

static struct rp_cli cli;
static char err[512];

static void test_cli_no_args_is_embedded_default(void)
{
	char *argv[] = {"ringproxy", NULL};
	char a[RP_ADDRSTRLEN];

	CU_ASSERT_EQUAL_FATAL(rp__cli_parse(1, argv, &cli, err, sizeof(err)), 0);
	/* A forward proxy on 127.0.0.1:3128, anonymous, SSRF guard on. */
	CU_ASSERT_EQUAL(cli.cmd, RP_CMD_FORWARD);
	CU_ASSERT_TRUE(cli.defaulted);
	CU_ASSERT_EQUAL(cli.cfg.nlisteners, 1);
	CU_ASSERT_EQUAL(cli.cfg.listeners[0].mode, RP_MODE_FORWARD);
	CU_ASSERT_STRING_EQUAL(rp__addr_format(&cli.cfg.listeners[0].addr, a, sizeof(a)),
			       RP_DEFAULT_FORWARD_LISTEN);
	CU_ASSERT_EQUAL(cli.cfg.listeners[0].fwd.anonymity, RP_ANON_ANONYMOUS);
	CU_ASSERT_TRUE(cli.cfg.listeners[0].fwd.ssrf_guard);
	CU_ASSERT_EQUAL(cli.cfg.listeners[0].tunnel, RP_TUNNEL_AUTO);
	/* Left to the engine, which derives it from the open-file limit. */
	CU_ASSERT_EQUAL(cli.cfg.max_conns, 0);
}

static void test_cli_reverse_full(void)
{
	int ret =
		PARSE(&cli, err, "reverse", "--mode", "tcp", "--listen", "127.0.0.1:8080",
		      "--to", "127.0.0.1:9001", "--to=[::1]:9002,weight=7", "--balance",
		      "maglev", "--reactors", "3", "--cpus", "0", "--tunnel",
		      "ring-splice", "--connect-timeout", "250ms", "--idle-timeout", "2m",
		      "--drain-timeout=5s", "--retries", "0", "--fall", "5", "--cooldown",
		      "1500", "--pipe-size", "256k", "--buffers", "512", "--buffer-size",
		      "32k", "--backlog", "128", "--max-conns", "77", "--max-pipes", "8",
		      "--iowq-workers", "4", "-q");

	CU_ASSERT_EQUAL_FATAL(ret, 0);
	CU_ASSERT_EQUAL(cli.cfg.clusters[0].nbackends, 2);
	CU_ASSERT_EQUAL(cli.cfg.clusters[0].backends[1].ss.ss_family, AF_INET6);
	CU_ASSERT_EQUAL(cli.cfg.clusters[0].weights[0], 1);
	CU_ASSERT_EQUAL(cli.cfg.clusters[0].weights[1], 7);
	CU_ASSERT_STRING_EQUAL(cli.cfg.clusters[0].balance, "maglev");
	CU_ASSERT_EQUAL(cli.cfg.reactors, 3);
	CU_ASSERT_EQUAL(cli.cfg.ncpus, 1);
	CU_ASSERT_EQUAL(cli.cfg.listeners[0].tunnel, RP_TUNNEL_RING_SPLICE);
	CU_ASSERT_EQUAL(cli.cfg.clusters[0].connect_timeout_ms, 250);
	CU_ASSERT_EQUAL(cli.cfg.listeners[0].idle_timeout_ms, 120000);
	CU_ASSERT_EQUAL(cli.cfg.drain_timeout_ms, 5000);
	CU_ASSERT_EQUAL(cli.cfg.clusters[0].retries, 0);
	CU_ASSERT_EQUAL(cli.cfg.clusters[0].fall, 5);
	CU_ASSERT_EQUAL(cli.cfg.clusters[0].cooldown_ms, 1500);
	CU_ASSERT_EQUAL(cli.cfg.pipe_size, 256 * 1024);
	CU_ASSERT_EQUAL(cli.cfg.buf_count, 512);
	CU_ASSERT_EQUAL(cli.cfg.buf_size, 32 * 1024);
	CU_ASSERT_EQUAL(cli.cfg.listeners[0].backlog, 128);
	CU_ASSERT_EQUAL(cli.cfg.max_conns, 77);
	CU_ASSERT_EQUAL(cli.cfg.max_pipes, 8);
	CU_ASSERT_EQUAL(cli.cfg.iowq_workers, 4);
	CU_ASSERT_EQUAL(cli.cfg.log_level, RP_LOG_WARN);
}

static void expect_error(int ret, const char *needle)
{
	CU_ASSERT_EQUAL(ret, -EINVAL);
	if (!strstr(err, needle)) {
		fprintf(stderr, "\n  error was: %s (wanted '%s')\n", err, needle);
		CU_FAIL("error message does not name the problem");
	}
}

static void test_cli_proxy_protocol_options(void)
{
	int ret =
		PARSE(&cli, err, "--listen", "127.0.0.1:8080", "--to", "127.0.0.1:9001");

	CU_ASSERT_EQUAL_FATAL(ret, 0);
	CU_ASSERT_EQUAL(cli.cfg.listeners[0].accept_proxy, 0);
	CU_ASSERT_EQUAL(cli.cfg.clusters[0].send_proxy, 0);
	CU_ASSERT_EQUAL(cli.cfg.listeners[0].proxy_timeout_ms, 5000);
	ret = PARSE(&cli, err, "--listen", "127.0.0.1:8080", "--to", "127.0.0.1:9001",
		    "--accept-proxy", "--proxy-timeout", "750ms", "--send-proxy", "v2");
	CU_ASSERT_EQUAL_FATAL(ret, 0);
	CU_ASSERT_EQUAL(cli.cfg.listeners[0].accept_proxy, 1);
	CU_ASSERT_EQUAL(cli.cfg.listeners[0].proxy_timeout_ms, 750);
	CU_ASSERT_EQUAL(cli.cfg.clusters[0].send_proxy, 2);
	ret = PARSE(&cli, err, "--listen", "127.0.0.1:8080", "--to", "127.0.0.1:9001",
		    "--send-proxy=v1");
	CU_ASSERT_EQUAL_FATAL(ret, 0);
	CU_ASSERT_EQUAL(cli.cfg.clusters[0].send_proxy, 1);
	expect_error(PARSE(&cli, err, "--listen", "127.0.0.1:8080", "--to",
			   "127.0.0.1:9001", "--send-proxy", "v3"),
		     "--send-proxy: expected v1 or v2");
	expect_error(PARSE(&cli, err, "--listen", "127.0.0.1:8080", "--to",
			   "127.0.0.1:9001", "--accept-proxy=yes"),
		     "takes no value");
	expect_error(PARSE(&cli, err, "--listen", "127.0.0.1:8080", "--to",
			   "127.0.0.1:9001", "--proxy-timeout", "0"),
		     "--proxy-timeout");
}

static void test_cli_errors_are_clear(void)
{
	expect_error(PARSE(&cli, err, "forward", "--max-conns", "0"),
		     "--max-conns: expected a whole number from 1 to 10000000, got '0'");
	expect_error(PARSE(&cli, err, "--listen", "127.0.0.1:80"), "--to");
	expect_error(PARSE(&cli, err, "--to", "127.0.0.1:80"), "--listen");
	expect_error(PARSE(&cli, err, "--listen", "localhost:80", "--to", "127.0.0.1:1"),
		     "localhost:80");
	expect_error(PARSE(&cli, err, "--listen", "127.0.0.1:80", "--to", "127.0.0.1:1",
			   "--tunnel", "zerocopy"),
		     "zerocopy");
	expect_error(PARSE(&cli, err, "--listen", "127.0.0.1:80", "--to", "127.0.0.1:1",
			   "--reactors", "0"),
		     "--reactors");
	expect_error(PARSE(&cli, err, "--listen", "127.0.0.1:80", "--to", "127.0.0.1:1",
			   "--connect-timeout", "5 s"),
		     "--connect-timeout");
	expect_error(PARSE(&cli, err, "--listen", "127.0.0.1:80", "--to", "127.0.0.1:1",
			   "--buffers", "1000"),
		     "power of two");
	expect_error(PARSE(&cli, err, "--listen", "127.0.0.1:80", "--to", "127.0.0.1:1",
			   "--cpus", "9999"),
		     "--cpus");
	expect_error(PARSE(&cli, err, "--listen", "127.0.0.1:80", "--to", "127.0.0.1:1",
			   "--bogus"),
		     "unknown option '--bogus'");
	expect_error(PARSE(&cli, err, "--listen"), "needs a value");
	expect_error(PARSE(&cli, err, "frobnicate"), "unknown command");
	expect_error(PARSE(&cli, err, "--listen", "127.0.0.1:80", "--to", "127.0.0.1:1",
			   "--mode", "udp"),
		     "udp");
	expect_error(PARSE(&cli, err, "-q=1"), "unknown option");
	expect_error(PARSE(&cli, err, "--listen", "127.0.0.1:80", "--to",
			   "127.0.0.1:1,weight=0"),
		     "weight=N");
	expect_error(PARSE(&cli, err, "--listen", "127.0.0.1:80", "--to",
			   "127.0.0.1:1,wait=2"),
		     "127.0.0.1:1,wait=2");
	expect_error(PARSE(&cli, err, "--listen", "127.0.0.1:80", "--to", "127.0.0.1:1",
			   "--balance", "a-very-long-algorithm-name"),
		     "--balance");
}

static void test_cli_help_and_version(void)
{
	CU_ASSERT_EQUAL(PARSE(&cli, err, "--help"), 0);
	CU_ASSERT_EQUAL(cli.cmd, RP_CMD_HELP);
	CU_ASSERT_PTR_NOT_NULL(strstr(rp__cli_usage(), "--tunnel"));
	CU_ASSERT_EQUAL(PARSE(&cli, err, "--version"), 0);
	CU_ASSERT_EQUAL(cli.cmd, RP_CMD_VERSION);
}

static void test_cli_value_syntaxes(void)
{
	unsigned v;

	CU_ASSERT_EQUAL(rp__parse_duration_ms("1500", &v), 0);
	CU_ASSERT_EQUAL(v, 1500);
	CU_ASSERT_EQUAL(rp__parse_duration_ms("3s", &v), 0);
	CU_ASSERT_EQUAL(v, 3000);
	CU_ASSERT_EQUAL(rp__parse_duration_ms("1h", &v), 0);
	CU_ASSERT_EQUAL(v, 3600000);
	CU_ASSERT_EQUAL(rp__parse_duration_ms("5000h", &v), -EINVAL); /* overflow */
	CU_ASSERT_EQUAL(rp__parse_duration_ms("s", &v), -EINVAL);
	CU_ASSERT_EQUAL(rp__parse_duration_ms("-1s", &v), -EINVAL);
	CU_ASSERT_EQUAL(rp__parse_duration_ms("1.5s", &v), -EINVAL);
	CU_ASSERT_EQUAL(rp__parse_size("64k", &v), 0);
	CU_ASSERT_EQUAL(v, 65536);
	CU_ASSERT_EQUAL(rp__parse_size("1M", &v), 0);
	CU_ASSERT_EQUAL(v, 1 << 20);
	CU_ASSERT_EQUAL(rp__parse_size("4g", &v), -EINVAL);
	CU_ASSERT_EQUAL(rp__parse_size("12kb", &v), -EINVAL);
	CU_ASSERT_EQUAL(rp__parse_uint("42", 1, 100, &v), 0);
	CU_ASSERT_EQUAL(v, 42);
	CU_ASSERT_EQUAL(rp__parse_uint("101", 1, 100, &v), -EINVAL);
	CU_ASSERT_EQUAL(rp__parse_uint("99999999999999999999", 0, ~0u, &v), -EINVAL);
	CU_ASSERT_EQUAL(rp__parse_uint("", 0, 5, &v), -EINVAL);
}

static void test_cli_fills_one_cluster_for_every_listener(void)
{
	/* Listener options apply to every --listen, given before or after. */
	int ret = PARSE(&cli, err, "--tunnel", "copy", "--listen", "127.0.0.1:8080",
			"--listen", "127.0.0.1:8081", "--idle-timeout", "9s",
			"--accept-proxy", "--backlog", "64", "--to", "127.0.0.1:9001");

	CU_ASSERT_EQUAL_FATAL(ret, 0);
	CU_ASSERT_EQUAL(cli.cfg.nclusters, 1);
	CU_ASSERT_STRING_EQUAL(cli.cfg.clusters[0].name, "default");
	CU_ASSERT_EQUAL_FATAL(cli.cfg.nlisteners, 2);
	for (unsigned i = 0; i < 2; i++) {
		const struct rp_listener_config *l = &cli.cfg.listeners[i];

		CU_ASSERT_EQUAL(l->cluster, 0);
		CU_ASSERT_EQUAL(l->mode, RP_MODE_TCP);
		CU_ASSERT_EQUAL(l->tunnel, RP_TUNNEL_COPY);
		CU_ASSERT_EQUAL(l->idle_timeout_ms, 9000);
		CU_ASSERT_EQUAL(l->accept_proxy, 1);
		CU_ASSERT_EQUAL(l->backlog, 64);
	}
	CU_ASSERT_EQUAL(cli.cfg.listeners[1].addr.ss.ss_family, AF_INET);
}

static void test_cli_config_file_commands(void)
{
	CU_ASSERT_EQUAL_FATAL(PARSE(&cli, err, "-c", "x.yaml"), 0);
	CU_ASSERT_EQUAL(cli.cmd, RP_CMD_RUN_FILE);
	CU_ASSERT_STRING_EQUAL(cli.config_path, "x.yaml");
	CU_ASSERT_FALSE(cli.log_level_set);
	CU_ASSERT_EQUAL_FATAL(PARSE(&cli, err, "check", "-c", "y.yaml"), 0);
	CU_ASSERT_EQUAL(cli.cmd, RP_CMD_CHECK);
	CU_ASSERT_STRING_EQUAL(cli.config_path, "y.yaml");
	CU_ASSERT_EQUAL_FATAL(PARSE(&cli, err, "-v", "-c", "x.yaml"), 0);
	CU_ASSERT_EQUAL(cli.cmd, RP_CMD_RUN_FILE);
	CU_ASSERT_TRUE(cli.log_level_set);
	expect_error(PARSE(&cli, err, "check"), "-c FILE");
	expect_error(PARSE(&cli, err, "-c"), "needs a value");
	expect_error(PARSE(&cli, err, "-c", "x.yaml", "--to", "127.0.0.1:1"),
		     "'--to' cannot be combined with -c FILE");
	expect_error(PARSE(&cli, err, "reverse", "-c", "x.yaml"), "'reverse'");
}

/* A --mode http command line parsed without an error. */
static void expect_http_ok(int ret)
{
	if (ret)
		fprintf(stderr, "\n  error was: %s\n", err);
	CU_ASSERT_EQUAL(ret, 0);
}

static void test_cli_http_options(void)
{
	int ret = PARSE(&cli, err, "reverse", "--mode", "http", "--listen",
			"127.0.0.1:8080", "--no-xff", "--no-xfp", "--forwarded", "--via",
			"--host-rewrite", "app.internal:8080", "--header-timeout", "3s",
			"--keepalive-timeout", "1m", "--body-timeout", "250ms",
			"--response-timeout", "5s", "--max-body", "1t",
			"--splice-threshold=0", "--max-requests", "1000", "--access-log",
			"-", "--log-format", "json", "--pool-max-idle", "0",
			"--pool-idle-timeout", "2s", "--pool-max-requests", "100",
			"--balance", "maglev", "--hash-key", "cookie:sid", "--listen",
			"127.0.0.1:8081", "--to", "127.0.0.1:9001");
	const struct rp_cluster_config *c = &cli.cfg.clusters[0];

	expect_http_ok(ret);
	CU_ASSERT_EQUAL_FATAL(cli.cfg.nlisteners, 2);
	for (unsigned i = 0; i < 2; i++) {
		const struct rp_listener_config *l = &cli.cfg.listeners[i];

		CU_ASSERT_EQUAL(l->mode, RP_MODE_HTTP);
		CU_ASSERT_FALSE(l->http.xff);
		CU_ASSERT_FALSE(l->http.xfp);
		CU_ASSERT_TRUE(l->http.forwarded);
		CU_ASSERT_TRUE(l->http.via);
		CU_ASSERT_STRING_EQUAL(l->http.host_rewrite, "app.internal:8080");
		CU_ASSERT_EQUAL(l->http.header_timeout_ms, 3000);
		CU_ASSERT_EQUAL(l->http.keepalive_timeout_ms, 60000);
		CU_ASSERT_EQUAL(l->http.body_timeout_ms, 250);
		CU_ASSERT_EQUAL(l->http.max_body, 1ull << 40);
		CU_ASSERT_EQUAL(l->http.splice_threshold, 0);
		CU_ASSERT_EQUAL(l->http.max_requests, 1000);
	}
	CU_ASSERT_STRING_EQUAL(cli.cfg.access_log, "-");
	CU_ASSERT_EQUAL(cli.cfg.access_log_format, RP_LOG_JSON);
	CU_ASSERT_EQUAL(c->response_timeout_ms, 5000);
	CU_ASSERT_EQUAL(c->pool_max_idle, 0);
	CU_ASSERT_EQUAL(c->pool_idle_timeout_ms, 2000);
	CU_ASSERT_EQUAL(c->pool_max_requests, 100);
	CU_ASSERT_EQUAL(c->hash_key, RP_HASH_COOKIE);
	CU_ASSERT_STRING_EQUAL(c->hash_name, "sid");
	CU_ASSERT_EQUAL(cli.cfg.nroutes, 0); /* everything to "default" */
}

static void test_cli_http_defaults_and_flags(void)
{
	struct rp_listener_config def;

	rp_listener_config_init(&def);
	/* Bodies are limited to 1 GiB unless said otherwise; 0 lifts it. */
	CU_ASSERT_EQUAL(def.http.max_body, 1ull << 30);
	expect_http_ok(PARSE(&cli, err, "--mode", "http", "--listen", "127.0.0.1:80",
			     "--to", "127.0.0.1:1", "--max-body", "0"));
	CU_ASSERT_EQUAL(cli.cfg.listeners[0].http.max_body, 0);
	expect_http_ok(PARSE(&cli, err, "--mode", "http", "--listen", "127.0.0.1:80",
			     "--to", "127.0.0.1:1"));
	CU_ASSERT_EQUAL(cli.cfg.listeners[0].mode, RP_MODE_HTTP);
	CU_ASSERT_EQUAL(memcmp(&cli.cfg.listeners[0].http, &def.http, sizeof(def.http)),
			0);
	CU_ASSERT_STRING_EQUAL(cli.cfg.access_log, "");
	/* The last of --xff and --no-xff wins. */
	expect_http_ok(PARSE(&cli, err, "--mode", "http", "--listen", "127.0.0.1:80",
			     "--to", "127.0.0.1:1", "--no-xff", "--xff", "--xfp",
			     "--no-xfp", "--hash-key", "header:X-User", "--balance",
			     "ringhash", "--access-log", "/var/log/rp.log"));
	CU_ASSERT_TRUE(cli.cfg.listeners[0].http.xff);
	CU_ASSERT_FALSE(cli.cfg.listeners[0].http.xfp);
	CU_ASSERT_EQUAL(cli.cfg.clusters[0].hash_key, RP_HASH_HEADER);
	CU_ASSERT_STRING_EQUAL(cli.cfg.clusters[0].hash_name, "X-User");
	CU_ASSERT_STRING_EQUAL(cli.cfg.access_log, "/var/log/rp.log");
	CU_ASSERT_EQUAL(cli.cfg.access_log_format, RP_LOG_COMBINED);
	/* A tcp listener keeps the http defaults it does not use. */
	CU_ASSERT_EQUAL_FATAL(PARSE(&cli, err, "--listen", "127.0.0.1:80", "--to",
				    "127.0.0.1:1", "--mode", "tcp"),
			      0);
	CU_ASSERT_EQUAL(cli.cfg.listeners[0].mode, RP_MODE_TCP);
}

/* Health checks belong to the cluster, whatever the listeners' mode. */
static void test_cli_health_check_options(void)
{
	const struct rp_health_config *h = &cli.cfg.clusters[0].health;

	CU_ASSERT_EQUAL_FATAL(
		PARSE(&cli, err, "--listen", "127.0.0.1:80", "--to", "127.0.0.1:1"), 0);
	CU_ASSERT_EQUAL(h->type, RP_CHECK_NONE);
	CU_ASSERT_EQUAL_FATAL(PARSE(&cli, err, "--listen", "127.0.0.1:80", "--to",
				    "127.0.0.1:1", "--check", "tcp", "--check-interval",
				    "5s", "--check-timeout", "4s", "--check-rise", "1",
				    "--check-fall", "9"),
			      0);
	CU_ASSERT_EQUAL(h->type, RP_CHECK_TCP);
	CU_ASSERT_EQUAL(h->interval_ms, 5000);
	CU_ASSERT_EQUAL(h->timeout_ms, 4000);
	CU_ASSERT_EQUAL(h->rise, 1);
	CU_ASSERT_EQUAL(h->fall, 9);
	CU_ASSERT_EQUAL_FATAL(PARSE(&cli, err, "--listen", "127.0.0.1:80", "--to",
				    "127.0.0.1:1", "--check", "http"),
			      0);
	CU_ASSERT_EQUAL(h->type, RP_CHECK_HTTP);
	CU_ASSERT_STRING_EQUAL(h->path, "/");
	CU_ASSERT_EQUAL(h->expect_status, 0);
	CU_ASSERT_EQUAL_FATAL(PARSE(&cli, err, "--listen", "127.0.0.1:80", "--to",
				    "127.0.0.1:1", "--check-expect", "204", "--check",
				    "http:/healthz/deep"),
			      0);
	CU_ASSERT_EQUAL(h->type, RP_CHECK_HTTP);
	CU_ASSERT_STRING_EQUAL(h->path, "/healthz/deep");
	CU_ASSERT_EQUAL(h->expect_status, 204);
}

static void test_cli_http_errors_are_clear(void)
{
	char long_host[200];

#define HTTP_BASE "--mode", "http", "--listen", "127.0.0.1:80", "--to", "127.0.0.1:1"
#define TCP_BASE  "--listen", "127.0.0.1:80", "--to", "127.0.0.1:1"
	/* HTTP-only options on a tcp listener, in whatever order. */
	expect_error(PARSE(&cli, err, TCP_BASE, "--xff"),
		     "--xff is only for --mode http");
	expect_error(PARSE(&cli, err, "--no-xfp", TCP_BASE),
		     "--no-xfp is only for --mode http");
	expect_error(PARSE(&cli, err, TCP_BASE, "--max-body", "1m", "--via"),
		     "--max-body is only for --mode http");
	expect_error(PARSE(&cli, err, TCP_BASE, "--mode", "tcp", "--access-log", "-"),
		     "--access-log is only for --mode http");
	expect_error(PARSE(&cli, err, TCP_BASE, "--pool-max-idle", "4"),
		     "--pool-max-idle is only for --mode http");
	expect_error(PARSE(&cli, err, TCP_BASE, "--hash-key", "source"),
		     "--hash-key is only for --mode http");
	expect_error(PARSE(&cli, err, TCP_BASE, "--mode", "HTTP"),
		     "--mode: expected tcp or http, got 'HTTP'");

	/* Health checks. */
	expect_error(PARSE(&cli, err, TCP_BASE, "--check-interval", "1s"),
		     "--check-interval needs --check tcp|http[:PATH]");
	expect_error(
		PARSE(&cli, err, TCP_BASE, "--check", "tcp", "--check-expect", "200"),
		"--check-expect is only for --check http");
	expect_error(
		PARSE(&cli, err, TCP_BASE, "--check", "http", "--check-timeout", "2s"),
		"--check-timeout (2000 ms) must be less than --check-interval (2000 "
		"ms)");
	expect_error(PARSE(&cli, err, TCP_BASE, "--check", "udp"),
		     "--check: expected tcp, http or http:PATH, got 'udp'");
	expect_error(PARSE(&cli, err, TCP_BASE, "--check", "http:healthz"),
		     "--check: expected http:PATH with a PATH such as /healthz");
	expect_error(PARSE(&cli, err, TCP_BASE, "--check", "http:/a b"),
		     "--check: expected http:PATH");
	expect_error(
		PARSE(&cli, err, TCP_BASE, "--check", "http", "--check-expect", "600"),
		"--check-expect: expected a whole number from 100 to 599");
	expect_error(PARSE(&cli, err, TCP_BASE, "--check", "tcp", "--check-rise", "0"),
		     "--check-rise");

	/* Values. */
	expect_error(
		PARSE(&cli, err, HTTP_BASE, "--max-body", "1x"),
		"--max-body: expected a size such as 0, 64k, 10m, 2g or 1t, got '1x'");
	expect_error(PARSE(&cli, err, HTTP_BASE, "--splice-threshold", "16777216t"),
		     "--splice-threshold: expected a size");
	expect_error(PARSE(&cli, err, HTTP_BASE, "--header-timeout", "0"),
		     "--header-timeout: expected a duration such as 500ms, 5s or 2m (not "
		     "zero)");
	expect_error(PARSE(&cli, err, HTTP_BASE, "--max-requests", "-1"),
		     "--max-requests");
	expect_error(PARSE(&cli, err, HTTP_BASE, "--host-rewrite", "a b"),
		     "--host-rewrite: expected a host such as app.example");
	expect_error(PARSE(&cli, err, HTTP_BASE, "--host-rewrite", "a\r\nX-Evil: 1"),
		     "--host-rewrite: expected a host");
	memset(long_host, 'a', 128);
	long_host[128] = '\0';
	expect_error(PARSE(&cli, err, HTTP_BASE, "--host-rewrite", long_host),
		     "--host-rewrite: too long, at most 127 characters");
	expect_error(PARSE(&cli, err, HTTP_BASE, "--access-log", ""),
		     "--access-log: expected a file path or - (stdout), got ''");
	expect_error(PARSE(&cli, err, HTTP_BASE, "--access-log", "/tmp/a\nb"),
		     "--access-log: expected a file path");
	expect_error(
		PARSE(&cli, err, HTTP_BASE, "--log-format", "xml", "--access-log", "-"),
		"--log-format: expected combined or json, got 'xml'");
	expect_error(PARSE(&cli, err, HTTP_BASE, "--log-format", "json"),
		     "--log-format needs --access-log PATH");
	expect_error(PARSE(&cli, err, HTTP_BASE, "--hash-key", "url"),
		     "--hash-key: expected source, header:NAME or cookie:NAME");
	expect_error(PARSE(&cli, err, HTTP_BASE, "--hash-key", "header:"),
		     "--hash-key: expected source");
	expect_error(PARSE(&cli, err, HTTP_BASE, "--hash-key", "cookie:a;b"),
		     "--hash-key: expected source");
	expect_error(
		PARSE(&cli, err, HTTP_BASE, "--balance", "ringhash", "--hash-key",
		      "header:"
		      "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"),
		"--hash-key: the name is too long, at most 63 characters");
	expect_error(PARSE(&cli, err, HTTP_BASE, "--hash-key", "cookie:sid"),
		     "--hash-key is only used by --balance ringhash or maglev (not "
		     "roundrobin)");
	expect_error(PARSE(&cli, err, HTTP_BASE, "--via=yes"), "--via takes no value");
	expect_error(PARSE(&cli, err, HTTP_BASE, "--pool-max-idle", "100001"),
		     "--pool-max-idle: expected a whole number from 0 to 100000");
	expect_error(PARSE(&cli, err, HTTP_BASE, "--pool-idle-timeout", "0"),
		     "--pool-idle-timeout");
#undef HTTP_BASE
#undef TCP_BASE
}

static void test_cli_http_help_lists_the_options(void)
{
	static const char *const names[] = {
		"--mode tcp|http",
		"--xff",
		"--no-xff",
		"--xfp",
		"--no-xfp",
		"--forwarded",
		"--via",
		"--host-rewrite",
		"--header-timeout",
		"--keepalive-timeout",
		"--body-timeout",
		"--response-timeout",
		"--max-body",
		"--splice-threshold",
		"--max-requests",
		"--access-log",
		"--log-format",
		"--pool-max-idle",
		"--pool-idle-timeout",
		"--pool-max-requests",
		"--hash-key",
		"--check tcp|http[:PATH]",
		"--check-interval",
		"--check-timeout",
		"--check-rise",
		"--check-fall",
		"--check-expect",
	};

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strstr(rp__cli_usage(), names[i])) {
			fprintf(stderr, "\n  not in the usage: %s\n", names[i]);
			CU_FAIL("an option is missing from the usage text");
		}
}

static void test_cli_http_value_syntaxes(void)
{
	uint64_t v;
	enum rp_hash_key key;
	char name[8];

	CU_ASSERT_EQUAL(rp__parse_size64("0", &v), 0);
	CU_ASSERT_EQUAL(v, 0);
	CU_ASSERT_EQUAL(rp__parse_size64("1t", &v), 0);
	CU_ASSERT_EQUAL(v, 1ull << 40);
	CU_ASSERT_EQUAL(rp__parse_size64("5G", &v), 0);
	CU_ASSERT_EQUAL(v, 5ull << 30);
	CU_ASSERT_EQUAL(rp__parse_size64("16777215t", &v), 0);
	CU_ASSERT_EQUAL(rp__parse_size64("16777216t", &v), -EINVAL); /* 2^64 */
	CU_ASSERT_EQUAL(rp__parse_size64("18446744073709551615", &v), 0);
	CU_ASSERT_EQUAL(v, UINT64_MAX);
	CU_ASSERT_EQUAL(rp__parse_size64("18446744073709551616", &v), -EINVAL);
	CU_ASSERT_EQUAL(rp__parse_size64("1tb", &v), -EINVAL);
	CU_ASSERT_EQUAL(rp__parse_size64("", &v), -EINVAL);
	CU_ASSERT_EQUAL(rp__parse_size64("-1", &v), -EINVAL);

	CU_ASSERT_TRUE(rp__config_is_host("a.example", false));
	CU_ASSERT_TRUE(rp__config_is_host("a.example.", false));
	CU_ASSERT_TRUE(rp__config_is_host("a.example:8080", false));
	CU_ASSERT_TRUE(rp__config_is_host("[::1]:80", false));
	CU_ASSERT_TRUE(rp__config_is_host("*.example", true));
	CU_ASSERT_FALSE(rp__config_is_host("*.example", false));
	CU_ASSERT_FALSE(rp__config_is_host("a.example:80", true));
	CU_ASSERT_FALSE(rp__config_is_host("a.example:0", false));
	CU_ASSERT_FALSE(rp__config_is_host("*.", true));
	CU_ASSERT_FALSE(rp__config_is_host("*", true));
	CU_ASSERT_FALSE(rp__config_is_host(".example", true));
	CU_ASSERT_FALSE(rp__config_is_host("a..example", true));
	CU_ASSERT_FALSE(rp__config_is_host("", false));
	CU_ASSERT_FALSE(rp__config_is_host("[]", false));
	CU_ASSERT_FALSE(rp__config_is_host("a/b", false));
	CU_ASSERT_TRUE(rp__config_is_path("/"));
	CU_ASSERT_TRUE(rp__config_is_path("/api/v1%2F"));
	CU_ASSERT_FALSE(rp__config_is_path("api"));
	CU_ASSERT_FALSE(rp__config_is_path("/a?b"));
	CU_ASSERT_FALSE(rp__config_is_path("/a#b"));
	CU_ASSERT_FALSE(rp__config_is_path("/a b"));
	CU_ASSERT_TRUE(rp__config_is_token("X-Forwarded-For"));
	CU_ASSERT_FALSE(rp__config_is_token("X Y"));
	CU_ASSERT_FALSE(rp__config_is_token("X:"));
	CU_ASSERT_FALSE(rp__config_is_token(""));
	CU_ASSERT_EQUAL(rp__config_check_text("abc", 4), 0);
	CU_ASSERT_EQUAL(rp__config_check_text("abcd", 4), -ENAMETOOLONG);
	CU_ASSERT_EQUAL(rp__config_check_text("a\tb", 4), -EILSEQ);
	CU_ASSERT_EQUAL(rp__config_check_text("a\x7f", 4), -EILSEQ);

	CU_ASSERT_EQUAL(rp__parse_hash_key("source", &key, name, sizeof(name)), 0);
	CU_ASSERT_EQUAL(key, RP_HASH_SOURCE);
	CU_ASSERT_EQUAL(rp__parse_hash_key("cookie:abcdefg", &key, name, sizeof(name)),
			0);
	CU_ASSERT_EQUAL(key, RP_HASH_COOKIE);
	CU_ASSERT_STRING_EQUAL(name, "abcdefg");
	CU_ASSERT_EQUAL(rp__parse_hash_key("header:abcdefgh", &key, name, sizeof(name)),
			-ENAMETOOLONG);
	CU_ASSERT_EQUAL(rp__parse_hash_key("header", &key, name, sizeof(name)), -EINVAL);
	CU_ASSERT_EQUAL(rp__parse_hash_key("Source", &key, name, sizeof(name)), -EINVAL);
}

/* A `ringproxy forward` command line parsed without an error. */
static void expect_fwd_ok(int ret)
{
	if (ret)
		fprintf(stderr, "\n  error was: %s\n", err);
	CU_ASSERT_EQUAL(ret, 0);
}

/* A readable file for --users, --blocklist and --hosts-file to name. */
static char readable[64];

static char *readable_file(void)
{
	int fd;

	if (readable[0])
		return readable;
	snprintf(readable, sizeof(readable), "/tmp/rp-test-cli-XXXXXX");
	fd = mkstemp(readable);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	return readable;
}

static void test_cli_forward_defaults(void)
{
	struct rp_listener_config def;
	char a[RP_ADDRSTRLEN];

	rp_listener_config_init(&def);
	expect_fwd_ok(PARSE(&cli, err, "forward"));
	CU_ASSERT_EQUAL(cli.cmd, RP_CMD_FORWARD);
	CU_ASSERT_FALSE(cli.defaulted);
	CU_ASSERT_EQUAL(cli.cfg.nclusters, 0);
	CU_ASSERT_EQUAL_FATAL(cli.cfg.nlisteners, 1);
	CU_ASSERT_STRING_EQUAL(rp__addr_format(&cli.cfg.listeners[0].addr, a, sizeof(a)),
			       "127.0.0.1:3128");
	CU_ASSERT_EQUAL(cli.cfg.listeners[0].mode, RP_MODE_FORWARD);
	CU_ASSERT_EQUAL(memcmp(&cli.cfg.listeners[0].fwd, &def.fwd, sizeof(def.fwd)), 0);
	CU_ASSERT_EQUAL(cli.cfg.listeners[0].fwd.anonymity, RP_ANON_ANONYMOUS);
	CU_ASSERT_TRUE(cli.cfg.listeners[0].fwd.ssrf_guard);
	CU_ASSERT_EQUAL(cli.cfg.listeners[0].fwd.nacl, 0);
	/* --listen replaces the default address. */
	expect_fwd_ok(PARSE(&cli, err, "forward", "--listen", "[::1]:8888"));
	CU_ASSERT_EQUAL_FATAL(cli.cfg.nlisteners, 1);
	CU_ASSERT_STRING_EQUAL(rp__addr_format(&cli.cfg.listeners[0].addr, a, sizeof(a)),
			       "[::1]:8888");
}

static void test_cli_forward_options(void)
{
	char *file = readable_file();
	const struct rp_forward_config *f;
	int ret =
		PARSE(&cli, err, "forward", "--listen", "127.0.0.1:3128", "--anonymity",
		      "elite", "--deny-dest", "*.ads.example", "--allow-dest",
		      "127.0.0.0/8", "--deny-client", "10.9.0.0/16", "--allow-client",
		      "10.0.0.0/8", "--allow-dest=::1", "--allow-client", "fd00::/8",
		      "--users", file, "--blocklist", file, "--no-ssrf-guard", "--parent",
		      "http://127.0.0.1:8080", "--connect-timeout", "3s",
		      "--parent-timeout", "4s", "--dns-timeout", "750ms", "--dns-servers",
		      "1.1.1.1,[::1]:53", "--hosts-file", file, "--listen",
		      "127.0.0.1:3129", "--reactors", "2", "--cpus", "0", "--tunnel",
		      "copy", "--idle-timeout", "1m", "--drain-timeout", "1s", "-v");
	static const struct {
		bool deny;
		const char *client, *dest;
	} want[] = {
		{true, "", "*.ads.example"},
		{false, "", "127.0.0.0/8"},
		{true, "10.9.0.0/16", ""},
		{false, "10.0.0.0/8", ""},
		{false, "", "::1"},
		{false, "fd00::/8", ""},
		/* Added last, as some --allow-client was given. */
		{true, "0.0.0.0/0", ""},
		{true, "::/0", ""},
	};

	expect_fwd_ok(ret);
	CU_ASSERT_EQUAL(cli.cmd, RP_CMD_FORWARD);
	CU_ASSERT_EQUAL(cli.cfg.nclusters, 0);
	CU_ASSERT_EQUAL(cli.cfg.reactors, 2);
	CU_ASSERT_EQUAL(cli.cfg.drain_timeout_ms, 1000);
	CU_ASSERT_EQUAL(cli.cfg.log_level, RP_LOG_DEBUG);
	CU_ASSERT_EQUAL_FATAL(cli.cfg.nlisteners, 2);
	for (unsigned i = 0; i < 2; i++) {
		const struct rp_listener_config *l = &cli.cfg.listeners[i];

		CU_ASSERT_EQUAL(l->mode, RP_MODE_FORWARD);
		CU_ASSERT_EQUAL(l->tunnel, RP_TUNNEL_COPY);
		CU_ASSERT_EQUAL(l->idle_timeout_ms, 60000);
		f = &l->fwd;
		CU_ASSERT_EQUAL(f->anonymity, RP_ANON_ELITE);
		CU_ASSERT_STRING_EQUAL(f->users_file, file);
		CU_ASSERT_STRING_EQUAL(f->blocklist_file, file);
		CU_ASSERT_STRING_EQUAL(f->hosts_file, file);
		CU_ASSERT_FALSE(f->ssrf_guard);
		CU_ASSERT_STRING_EQUAL(f->parent, "http://127.0.0.1:8080");
		CU_ASSERT_EQUAL(f->connect_timeout_ms, 3000);
		CU_ASSERT_EQUAL(f->parent_timeout_ms, 4000);
		CU_ASSERT_EQUAL(f->dns_timeout_ms, 750);
		CU_ASSERT_STRING_EQUAL(f->dns_servers, "1.1.1.1,[::1]:53");
		CU_ASSERT_EQUAL_FATAL(f->nacl, sizeof(want) / sizeof(want[0]));
		for (unsigned k = 0; k < f->nacl; k++) {
			CU_ASSERT_EQUAL(f->acl[k].deny, want[k].deny);
			CU_ASSERT_STRING_EQUAL(f->acl[k].client, want[k].client);
			CU_ASSERT_STRING_EQUAL(f->acl[k].dest, want[k].dest);
			CU_ASSERT_EQUAL(f->acl[k].port_min, 0);
			CU_ASSERT_EQUAL(f->acl[k].port_max, 0);
		}
	}
	/* The forward --connect-timeout is not the cluster's. */
	CU_ASSERT_EQUAL(cli.cfg.clusters[0].connect_timeout_ms, 2000);

	/* Without --allow-client, no final rule; --anonymity transparent. */
	expect_fwd_ok(PARSE(&cli, err, "forward", "--allow-dest", "127.0.0.1/32",
			    "--anonymity", "transparent", "--parent",
			    "socks5://u:p%40ss@[::1]:1080"));
	f = &cli.cfg.listeners[0].fwd;
	CU_ASSERT_EQUAL(f->anonymity, RP_ANON_TRANSPARENT);
	CU_ASSERT_EQUAL_FATAL(f->nacl, 1);
	CU_ASSERT_FALSE(f->acl[0].deny);
	CU_ASSERT_STRING_EQUAL(f->acl[0].dest, "127.0.0.1/32");
	CU_ASSERT_STRING_EQUAL(f->parent, "socks5://u:p%40ss@[::1]:1080");
	CU_ASSERT_TRUE(f->ssrf_guard);
	/* the default: our DNS and connect timeouts together */
	CU_ASSERT_EQUAL(f->parent_timeout_ms, 15000);
	unlink(file);
	readable[0] = '\0';
}

/* A forward listener that anyone could use is refused unless it is on
 * loopback, has users, or has an allow rule naming clients. */
static void test_cli_forward_refuses_an_open_proxy(void)
{
	char *file = readable_file();

	expect_error(PARSE(&cli, err, "forward", "--listen", "0.0.0.0:3128"),
		     "--listen 0.0.0.0:3128: a forward proxy on a non-loopback address "
		     "with no users and no rule that limits its clients is an open "
		     "proxy: add users "
		     "(--users FILE), or say who may use it (--allow-client CIDR; "
		     "--allow-client 0.0.0.0/0 for everyone)");
	expect_error(PARSE(&cli, err, "forward", "--listen", "[::]:3128"),
		     "--allow-client ::/0 for everyone");
	expect_error(PARSE(&cli, err, "forward", "--listen", "192.0.2.1:3128"),
		     "--listen 192.0.2.1:3128: a forward proxy on a non-loopback");
	/* One open listener among loopback ones is enough. */
	expect_error(PARSE(&cli, err, "forward", "--listen", "127.0.0.1:3128", "--listen",
			   "10.0.0.1:3128"),
		     "--listen 10.0.0.1:3128:");
	/* Rules that do not say who may come in do not count. */
	expect_error(PARSE(&cli, err, "forward", "--listen", "0.0.0.0:3128",
			   "--deny-client", "192.0.2.0/24", "--allow-dest", "a.example"),
		     "is an open proxy");

	expect_fwd_ok(PARSE(&cli, err, "forward", "--listen", "0.0.0.0:3128",
			    "--allow-client", "0.0.0.0/0"));
	expect_fwd_ok(PARSE(&cli, err, "forward", "--listen", "[::]:3128",
			    "--allow-client", "::/0"));
	expect_fwd_ok(PARSE(&cli, err, "forward", "--listen", "0.0.0.0:3128",
			    "--allow-client", "10.0.0.0/8"));
	expect_fwd_ok(
		PARSE(&cli, err, "forward", "--listen", "0.0.0.0:3128", "--users", file));
	expect_fwd_ok(PARSE(&cli, err, "forward", "--listen", "127.0.0.2:3128"));
	expect_fwd_ok(PARSE(&cli, err, "forward", "--listen", "[::1]:3128"));
	/* The embedded default is on loopback. */
	expect_fwd_ok(PARSE(&cli, err, "forward"));
	unlink(file);
	readable[0] = '\0';
}

/* Absolute-form requests go through the HTTP half, whose body limit a
 * forward listener has too: 1 GiB by default, --max-body to change it. */
static void test_cli_forward_max_body(void)
{
	expect_fwd_ok(PARSE(&cli, err, "forward"));
	CU_ASSERT_EQUAL(cli.cfg.listeners[0].http.max_body, 1ull << 30);
	expect_fwd_ok(PARSE(&cli, err, "forward", "--max-body", "0", "--listen",
			    "127.0.0.1:1", "--listen", "127.0.0.1:2"));
	CU_ASSERT_EQUAL(cli.cfg.listeners[0].http.max_body, 0);
	CU_ASSERT_EQUAL(cli.cfg.listeners[1].http.max_body, 0);
	expect_fwd_ok(PARSE(&cli, err, "forward", "--max-body", "10m"));
	CU_ASSERT_EQUAL(cli.cfg.listeners[0].http.max_body, 10u << 20);
	expect_error(PARSE(&cli, err, "forward", "--max-body", "ten"),
		     "--max-body: expected a size such as 0, 64k, 10m, 2g or 1t, got "
		     "'ten'");
}

static void test_cli_forward_errors_are_clear(void)
{
	char many[RP_MAX_ACL_RULES + 1][2][24];
	char *argv[2 * (RP_MAX_ACL_RULES + 1) + 3];
	char long_dest[200];
	int argc = 0;

	/* Values. */
	expect_error(PARSE(&cli, err, "forward", "--anonymity", "paranoid"),
		     "--anonymity: expected transparent, anonymous or elite, got "
		     "'paranoid'");
	expect_error(PARSE(&cli, err, "forward", "--allow-dest", "10.0.0.0/33"),
		     "--allow-dest: expected a CIDR such as 127.0.0.0/8 or ::1/128, a "
		     "host such as a.example, or *.example (its subdomains), got "
		     "'10.0.0.0/33'");
	expect_error(PARSE(&cli, err, "forward", "--deny-dest", "a.example:443"),
		     "--deny-dest: expected a CIDR");
	expect_error(PARSE(&cli, err, "forward", "--deny-dest", "10.0.0.256"),
		     "--deny-dest: expected a CIDR");
	expect_error(PARSE(&cli, err, "forward", "--deny-dest", "*"),
		     "--deny-dest: expected a CIDR");
	expect_error(PARSE(&cli, err, "forward", "--allow-client", "a.example"),
		     "--allow-client: expected a CIDR such as 10.0.0.0/8, 192.0.2.7 or "
		     "fd00::/8, got 'a.example'");
	expect_error(PARSE(&cli, err, "forward", "--deny-client", "::1/129"),
		     "--deny-client: expected a CIDR");
	expect_error(PARSE(&cli, err, "forward", "--users", "/nonexistent/users"),
		     "--users: cannot read '/nonexistent/users': No such file or "
		     "directory");
	expect_error(PARSE(&cli, err, "forward", "--blocklist", "/"),
		     "--blocklist: cannot read '/': Is a directory");
	expect_error(PARSE(&cli, err, "forward", "--hosts-file", ""),
		     "--hosts-file: expected a file path, got ''");
	expect_error(PARSE(&cli, err, "forward", "--parent", "http://proxy.example:3128"),
		     "--parent: expected http://IP:PORT or socks5://IP:PORT (an IPv6 "
		     "address in brackets; USER:PASS@ before the address for "
		     "credentials), got 'http://proxy.example:3128'");
	expect_error(PARSE(&cli, err, "forward", "--parent", "socks5://u@127.0.0.1:1080"),
		     "--parent: expected http://IP:PORT");
	expect_error(
		PARSE(&cli, err, "forward", "--parent", "http://a%3Ab:c@127.0.0.1:1"),
		"--parent: expected http://IP:PORT");
	expect_error(PARSE(&cli, err, "forward", "--parent-timeout", "0"),
		     "--parent-timeout: expected a duration such as 500ms, 5s or 2m "
		     "(not zero)");
	expect_error(PARSE(&cli, err, "forward", "--parent", "socks4://127.0.0.1:1080"),
		     "--parent: expected http://IP:PORT");
	expect_error(PARSE(&cli, err, "forward", "--parent", "http://127.0.0.1:0"),
		     "--parent: expected http://IP:PORT");
	expect_error(PARSE(&cli, err, "forward", "--connect-timeout", "0"),
		     "--connect-timeout: expected a duration such as 500ms, 5s or 2m "
		     "(not zero)");
	expect_error(PARSE(&cli, err, "forward", "--dns-timeout", "5 s"),
		     "--dns-timeout: expected a duration");
	expect_error(PARSE(&cli, err, "forward", "--dns-servers", "1.1.1.1, 8.8.8.8"),
		     "--dns-servers: expected IP[:PORT],... such as "
		     "1.1.1.1,[2606:4700::1111]:53 (no spaces), got '1.1.1.1, 8.8.8.8'");
	expect_error(PARSE(&cli, err, "forward", "--dns-servers", "dns.example"),
		     "--dns-servers: expected IP[:PORT]");
	expect_error(PARSE(&cli, err, "forward", "--no-ssrf-guard=yes"),
		     "--no-ssrf-guard takes no value");
	expect_error(PARSE(&cli, err, "forward", "--listen", "localhost:3128"),
		     "--listen: expected IP:PORT");
	/* 128 characters in labels of 9: one too many for dest's char[128]. */
	memset(long_dest, 'a', 128);
	for (unsigned i = 9; i < 128; i += 10)
		long_dest[i] = '.';
	long_dest[128] = '\0';
	expect_error(PARSE(&cli, err, "forward", "--deny-dest", long_dest),
		     "--deny-dest: too long, at most 127 characters");
	long_dest[127] = '\0';
	expect_fwd_ok(PARSE(&cli, err, "forward", "--deny-dest", long_dest));

	/* Each command its own options, in whatever order. */
	expect_error(PARSE(&cli, err, "forward", "--to", "127.0.0.1:1"),
		     "--to is only for ringproxy reverse");
	expect_error(PARSE(&cli, err, "forward", "--anonymity", "elite", "--mode", "tcp"),
		     "--mode is only for ringproxy reverse");
	expect_error(PARSE(&cli, err, "forward", "--xff"),
		     "--xff is only for ringproxy reverse");
	expect_error(PARSE(&cli, err, "forward", "--check", "tcp"),
		     "--check is only for ringproxy reverse");
	expect_error(PARSE(&cli, err, "forward", "--send-proxy", "v2"),
		     "--send-proxy is only for ringproxy reverse");
	expect_error(PARSE(&cli, err, "forward", "--balance", "maglev"),
		     "--balance is only for ringproxy reverse");
	expect_error(PARSE(&cli, err, "--listen", "127.0.0.1:80", "--to", "127.0.0.1:1",
			   "--anonymity", "elite"),
		     "--anonymity is only for ringproxy forward");
	expect_error(PARSE(&cli, err, "reverse", "--allow-dest", "127.0.0.1", "--listen",
			   "127.0.0.1:80", "--to", "127.0.0.1:1"),
		     "--allow-dest is only for ringproxy forward");
	expect_error(PARSE(&cli, err, "--listen", "127.0.0.1:80", "--to", "127.0.0.1:1",
			   "--no-ssrf-guard"),
		     "--no-ssrf-guard is only for ringproxy forward");
	/* ...refused before their value is looked at. */
	expect_error(PARSE(&cli, err, "--listen", "127.0.0.1:80", "--to", "127.0.0.1:1",
			   "--users", "/nonexistent"),
		     "--users is only for ringproxy forward");
	/* --connect-timeout is both, each its own. */
	CU_ASSERT_EQUAL(PARSE(&cli, err, "--listen", "127.0.0.1:80", "--to",
			      "127.0.0.1:1", "--connect-timeout", "250ms"),
			0);
	CU_ASSERT_EQUAL(cli.cfg.clusters[0].connect_timeout_ms, 250);
	CU_ASSERT_EQUAL(cli.cfg.listeners[0].fwd.connect_timeout_ms, 10000);
	/* A file says everything. */
	expect_error(PARSE(&cli, err, "forward", "-c", "x.yaml"),
		     "'forward' cannot be combined with -c FILE");
	expect_error(PARSE(&cli, err, "check", "--users", "u", "-c", "x.yaml"),
		     "'--users' cannot be combined with -c FILE");
	/* forward is a command, not a --mode. */
	expect_error(PARSE(&cli, err, "--mode", "forward", "--listen", "127.0.0.1:80",
			   "--to", "127.0.0.1:1"),
		     "--mode: 'forward' is a command of its own: ringproxy forward");

	/* At most RP_MAX_ACL_RULES rules, the two that --allow-client adds
	 * included. */
	argv[argc++] = "ringproxy";
	argv[argc++] = "forward";
	for (unsigned i = 0; i < RP_MAX_ACL_RULES + 1; i++) {
		snprintf(many[i][0], sizeof(many[i][0]), "--deny-dest");
		snprintf(many[i][1], sizeof(many[i][1]), "10.0.%u.0/24", i);
		argv[argc++] = many[i][0];
		argv[argc++] = many[i][1];
	}
	argv[argc] = NULL;
	expect_error(rp__cli_parse(argc, argv, &cli, err, sizeof(err)),
		     "--deny-dest: at most 32 access rules in all");
	expect_fwd_ok(rp__cli_parse(argc - 2, argv, &cli, err, sizeof(err)));
	CU_ASSERT_EQUAL(cli.cfg.listeners[0].fwd.nacl, RP_MAX_ACL_RULES);
	/* 30 rules, the last an --allow-client, and the two it adds. */
	snprintf(many[RP_MAX_ACL_RULES - 3][0], sizeof(many[0][0]), "--allow-client");
	expect_fwd_ok(rp__cli_parse(argc - 6, argv, &cli, err, sizeof(err)));
	CU_ASSERT_EQUAL(cli.cfg.listeners[0].fwd.nacl, RP_MAX_ACL_RULES);
	CU_ASSERT_STRING_EQUAL(cli.cfg.listeners[0].fwd.acl[29].client, "10.0.29.0/24");
	CU_ASSERT_STRING_EQUAL(cli.cfg.listeners[0].fwd.acl[31].client, "::/0");
	expect_error(rp__cli_parse(argc - 4, argv, &cli, err, sizeof(err)),
		     "too many access rules: at most 32, the two that --allow-client "
		     "adds last (deny every other client) included");
}

static void test_cli_forward_help_lists_the_options(void)
{
	static const char *const names[] = {
		("ringproxy forward [--listen ADDR] [--anonymity "
		 "transparent|anonymous|elite]"),
		"[--allow-dest CIDR]... [--users FILE]",
		"forward options:",
		"--anonymity LEVEL",
		"--allow-dest CIDR|HOST",
		"--deny-dest HOST|CIDR",
		"--allow-client CIDR",
		"--deny-client CIDR",
		"--users FILE",
		"--blocklist FILE",
		"--no-ssrf-guard",
		"--parent URL",
		"--dns-timeout",
		"--dns-servers LIST",
		"--hosts-file FILE",
		"(10s)", /* the forward --connect-timeout's default */
	};
	const char *u = rp__cli_usage(), *fwd = strstr(u, "forward options:");

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strstr(u, names[i])) {
			fprintf(stderr, "\n  not in the usage: %s\n", names[i]);
			CU_FAIL("an option is missing from the usage text");
		}
	/* Each under its command's heading. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(fwd);
	CU_ASSERT_PTR_NOT_NULL(strstr(fwd, "--users FILE"));
	CU_ASSERT_PTR_NULL(strstr(fwd, "--to "));
	CU_ASSERT_PTR_NULL(strstr(fwd, "--xff"));
	CU_ASSERT(strstr(u, "--reactors N") < strstr(u, "reverse options"));
	CU_ASSERT(strstr(u, "--to ADDR[,weight=N]") > strstr(u, "reverse options"));
}

static void test_cli_forward_value_syntaxes(void)
{
	enum rp_anonymity an;
	uint16_t lo, hi;
	char dir[] = "/tmp/rp-test-cli-dir-XXXXXX";

	CU_ASSERT_EQUAL(rp__parse_anonymity("elite", &an), 0);
	CU_ASSERT_EQUAL(an, RP_ANON_ELITE);
	CU_ASSERT_EQUAL(rp__parse_anonymity("anonymous", &an), 0);
	CU_ASSERT_EQUAL(an, RP_ANON_ANONYMOUS);
	CU_ASSERT_EQUAL(rp__parse_anonymity("transparent", &an), 0);
	CU_ASSERT_EQUAL(an, RP_ANON_TRANSPARENT);
	CU_ASSERT_EQUAL(rp__parse_anonymity("Elite", &an), -EINVAL);

	CU_ASSERT_EQUAL(rp__parse_ports("443", &lo, &hi), 0);
	CU_ASSERT_EQUAL(lo, 443);
	CU_ASSERT_EQUAL(hi, 443);
	CU_ASSERT_EQUAL(rp__parse_ports("80-8080", &lo, &hi), 0);
	CU_ASSERT_EQUAL(lo, 80);
	CU_ASSERT_EQUAL(hi, 8080);
	CU_ASSERT_EQUAL(rp__parse_ports("1-65535", &lo, &hi), 0);
	CU_ASSERT_EQUAL(rp__parse_ports("443-443", &lo, &hi), 0);
	CU_ASSERT_EQUAL(rp__parse_ports("0", &lo, &hi), -EINVAL);
	CU_ASSERT_EQUAL(rp__parse_ports("65536", &lo, &hi), -EINVAL);
	CU_ASSERT_EQUAL(rp__parse_ports("8080-80", &lo, &hi), -EINVAL);
	CU_ASSERT_EQUAL(rp__parse_ports("80-", &lo, &hi), -EINVAL);
	CU_ASSERT_EQUAL(rp__parse_ports("-80", &lo, &hi), -EINVAL);
	CU_ASSERT_EQUAL(rp__parse_ports("80-90-100", &lo, &hi), -EINVAL);
	CU_ASSERT_EQUAL(rp__parse_ports("80 - 90", &lo, &hi), -EINVAL);
	CU_ASSERT_EQUAL(rp__parse_ports("", &lo, &hi), -EINVAL);

	CU_ASSERT_TRUE(rp__config_is_cidr("10.0.0.0/8"));
	CU_ASSERT_TRUE(rp__config_is_cidr("0.0.0.0/0"));
	CU_ASSERT_TRUE(rp__config_is_cidr("192.0.2.7"));
	CU_ASSERT_TRUE(rp__config_is_cidr("::/0"));
	CU_ASSERT_TRUE(rp__config_is_cidr("2001:db8::/32"));
	CU_ASSERT_TRUE(rp__config_is_cidr("::1/128"));
	CU_ASSERT_FALSE(rp__config_is_cidr("10.0.0.0/33"));
	CU_ASSERT_FALSE(rp__config_is_cidr("10.0.0.0/08"));
	CU_ASSERT_FALSE(rp__config_is_cidr("10.0.0.0/00"));
	CU_ASSERT_FALSE(rp__config_is_cidr("::/0128"));
	CU_ASSERT_FALSE(rp__config_is_cidr("::/129"));
	CU_ASSERT_FALSE(rp__config_is_cidr("10.0.0.0/"));
	CU_ASSERT_FALSE(rp__config_is_cidr("10.0.0/8"));
	CU_ASSERT_FALSE(rp__config_is_cidr("010.0.0.0/8"));
	CU_ASSERT_FALSE(rp__config_is_cidr("fe80::1%eth0/64"));
	CU_ASSERT_FALSE(rp__config_is_cidr("/8"));
	CU_ASSERT_FALSE(rp__config_is_cidr(""));

	CU_ASSERT_TRUE(rp__config_is_acl_dest("a.example"));
	CU_ASSERT_TRUE(rp__config_is_acl_dest("*.example"));
	CU_ASSERT_TRUE(rp__config_is_acl_dest("A.Example."));
	CU_ASSERT_TRUE(rp__config_is_acl_dest("10.0.0.0/8"));
	CU_ASSERT_TRUE(rp__config_is_acl_dest("::1"));
	CU_ASSERT_TRUE(rp__config_is_acl_dest("1a.example"));
	CU_ASSERT_TRUE(rp__config_is_acl_dest("example.1a"));
	CU_ASSERT_TRUE(rp__config_is_acl_dest("a23456789012345678901234567890123456789012"
					      "345678901234567890123.example"));
	CU_ASSERT_FALSE(rp__config_is_acl_dest("a2345678901234567890123456789012345678901"
					       "23456789012345678901234.example"));
	CU_ASSERT_FALSE(rp__config_is_acl_dest("10.0.0.256"));
	CU_ASSERT_FALSE(rp__config_is_acl_dest("10.0.0.1."));
	CU_ASSERT_FALSE(rp__config_is_acl_dest("12345"));
	CU_ASSERT_FALSE(rp__config_is_acl_dest("[::1]"));
	CU_ASSERT_FALSE(rp__config_is_acl_dest("a.example:443"));
	CU_ASSERT_FALSE(rp__config_is_acl_dest("*"));
	CU_ASSERT_FALSE(rp__config_is_acl_dest("*.*.example"));
	CU_ASSERT_FALSE(rp__config_is_acl_dest(""));

	CU_ASSERT_TRUE(rp__config_is_parent("http://127.0.0.1:3128"));
	CU_ASSERT_TRUE(rp__config_is_parent("socks5://[::1]:1080"));
	CU_ASSERT_FALSE(rp__config_is_parent("http://127.0.0.1"));
	CU_ASSERT_FALSE(rp__config_is_parent("http://127.0.0.1:3128/"));
	CU_ASSERT_FALSE(rp__config_is_parent("https://127.0.0.1:3128"));
	CU_ASSERT_FALSE(rp__config_is_parent("HTTP://127.0.0.1:3128"));
	CU_ASSERT_TRUE(rp__config_is_parent("http://user:pw@127.0.0.1:3128"));
	CU_ASSERT_FALSE(rp__config_is_parent("http://user@127.0.0.1:3128"));
	CU_ASSERT_FALSE(rp__config_is_parent("127.0.0.1:3128"));
	CU_ASSERT_FALSE(rp__config_is_parent(""));

	CU_ASSERT_TRUE(rp__config_is_dns_servers("1.1.1.1"));
	CU_ASSERT_TRUE(rp__config_is_dns_servers("1.1.1.1:5353,8.8.8.8"));
	CU_ASSERT_TRUE(rp__config_is_dns_servers("2606:4700::1111,::1,[::1]:53"));
	CU_ASSERT_FALSE(rp__config_is_dns_servers("[::1]")); /* c-ares refuses it */
	CU_ASSERT_FALSE(rp__config_is_dns_servers(""));
	CU_ASSERT_FALSE(rp__config_is_dns_servers("1.1.1.1,"));
	CU_ASSERT_FALSE(rp__config_is_dns_servers(",1.1.1.1"));
	CU_ASSERT_FALSE(rp__config_is_dns_servers("1.1.1.1,,8.8.8.8"));
	CU_ASSERT_FALSE(rp__config_is_dns_servers("1.1.1.1:0"));
	CU_ASSERT_FALSE(rp__config_is_dns_servers("[1.1.1.1]"));
	CU_ASSERT_FALSE(rp__config_is_dns_servers("dns.example"));

	CU_ASSERT_EQUAL(rp__config_check_file(readable_file()), 0);
	CU_ASSERT_EQUAL(rp__config_check_file("/nonexistent/x"), -ENOENT);
	CU_ASSERT_EQUAL(rp__config_check_file(""), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	CU_ASSERT_EQUAL(rp__config_check_file(dir), -EISDIR);
	rmdir(dir);
	unlink(readable);
	readable[0] = '\0';
}

static void test_cli_tls_options(void)
{
	/* Pairs by position, whatever the order: the second --tls-key is the
	 * second --tls-cert's though given before it. */
	int ret = PARSE(
		&cli, err, "reverse", "--mode", "http", "--listen", "127.0.0.1:8443",
		"--tls-cert", "/etc/rp/a.pem", "--tls-key", "/etc/rp/a.key",
		"--tls-key=b.key", "--tls-cert", "b.pem", "--tls-strict-sni",
		"--tls-alpn", "http/1.1,http/1.0", "--tls-min", "1.3", "--tls-max=1.3",
		"--tls-ciphers", "ECDHE-RSA-AES128-GCM-SHA256", "--no-tls-tickets",
		"--tls-ticket-rotate", "2h", "--tls-handshake-timeout", "750ms",
		"--tls-ktls", "on", "--listen", "[::1]:8443", "--to", "127.0.0.1:9443",
		"--backend-tls", "--backend-ca", "/etc/ssl/ca.pem", "--backend-sni",
		"backend.example", "--no-backend-verify", "--backend-ktls", "off");
	const struct rp_tls_backend_config *b = &cli.cfg.clusters[0].tls;

	expect_http_ok(ret);
	CU_ASSERT_EQUAL_FATAL(cli.cfg.nlisteners, 2);
	for (unsigned i = 0; i < 2; i++) {
		const struct rp_tls_listener_config *t = &cli.cfg.listeners[i].tls;

		CU_ASSERT_TRUE(t->enabled);
		CU_ASSERT_EQUAL_FATAL(t->ncerts, 2);
		CU_ASSERT_STRING_EQUAL(t->certs[0].cert, "/etc/rp/a.pem");
		CU_ASSERT_STRING_EQUAL(t->certs[0].key, "/etc/rp/a.key");
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
	}
	CU_ASSERT_TRUE(b->enabled);
	CU_ASSERT_STRING_EQUAL(b->ca, "/etc/ssl/ca.pem");
	CU_ASSERT_STRING_EQUAL(b->sni, "backend.example");
	CU_ASSERT_FALSE(b->verify);
	CU_ASSERT_EQUAL(b->ktls, RP_KTLS_OFF);

	/* mode tcp too; the files are not read here (the engine does). */
	CU_ASSERT_EQUAL_FATAL(PARSE(&cli, err, "--listen", "127.0.0.1:8443", "--to",
				    "127.0.0.1:1", "--tls-cert", "/nonexistent/c",
				    "--tls-key", "/nonexistent/k", "--tls-ktls", "off",
				    "--tls-min", "1.2", "--tls-max", "1.2"),
			      0);
	CU_ASSERT_EQUAL(cli.cfg.listeners[0].mode, RP_MODE_TCP);
	CU_ASSERT_TRUE(cli.cfg.listeners[0].tls.enabled);
	CU_ASSERT_EQUAL(cli.cfg.listeners[0].tls.ncerts, 1);
	CU_ASSERT_STRING_EQUAL(cli.cfg.listeners[0].tls.certs[0].cert, "/nonexistent/c");
	CU_ASSERT_EQUAL(cli.cfg.listeners[0].tls.ktls, RP_KTLS_OFF);
	CU_ASSERT_EQUAL(cli.cfg.listeners[0].tls.min_version, 0x0303);
	CU_ASSERT_EQUAL(cli.cfg.listeners[0].tls.max_version, 0x0303);
	CU_ASSERT_FALSE(cli.cfg.clusters[0].tls.enabled);
}

static void test_cli_tls_defaults(void)
{
	struct rp_listener_config ldef;
	struct rp_cluster_config *cdef = malloc(sizeof(*cdef));
	const struct rp_tls_listener_config *t = &cli.cfg.listeners[0].tls;
	const struct rp_tls_backend_config *b = &cli.cfg.clusters[0].tls;

	CU_ASSERT_PTR_NOT_NULL_FATAL(cdef);
	rp_listener_config_init(&ldef);
	rp_cluster_config_init(cdef, "default");
	/* No TLS option: none, and the defaults untouched. */
	CU_ASSERT_EQUAL_FATAL(
		PARSE(&cli, err, "--listen", "127.0.0.1:80", "--to", "127.0.0.1:1"), 0);
	CU_ASSERT_EQUAL(memcmp(t, &ldef.tls, sizeof(*t)), 0);
	CU_ASSERT_EQUAL(memcmp(b, &cdef->tls, sizeof(*b)), 0);
	CU_ASSERT_FALSE(t->enabled);
	CU_ASSERT_FALSE(b->enabled);
	/* One pair and --backend-tls: the rest the defaults. */
	CU_ASSERT_EQUAL_FATAL(PARSE(&cli, err, "--listen", "127.0.0.1:80", "--to",
				    "127.0.0.1:1", "--tls-cert", "c.pem", "--tls-key",
				    "k.pem", "--backend-tls"),
			      0);
	CU_ASSERT_TRUE(t->enabled);
	CU_ASSERT_EQUAL(t->ncerts, 1);
	CU_ASSERT_FALSE(t->strict_sni);
	CU_ASSERT_STRING_EQUAL(t->alpn, "");
	CU_ASSERT_STRING_EQUAL(t->ciphers, "");
	CU_ASSERT_EQUAL(t->min_version, 0x0303);
	CU_ASSERT_EQUAL(t->max_version, 0x0304);
	CU_ASSERT_TRUE(t->tickets);
	CU_ASSERT_EQUAL(t->ticket_rotate_s, 3600);
	CU_ASSERT_EQUAL(t->handshake_timeout_ms, 10000);
	CU_ASSERT_EQUAL(t->ktls, RP_KTLS_AUTO);
	CU_ASSERT_TRUE(b->enabled);
	CU_ASSERT_TRUE(b->verify);
	CU_ASSERT_STRING_EQUAL(b->ca, "");
	CU_ASSERT_STRING_EQUAL(b->sni, "");
	CU_ASSERT_EQUAL(b->ktls, RP_KTLS_AUTO);
	free(cdef);
}

static void test_cli_tls_errors_are_clear(void)
{
#define BASE "--listen", "127.0.0.1:80", "--to", "127.0.0.1:1"
#define PAIR "--tls-cert", "c.pem", "--tls-key", "k.pem"
	static const char *const needs_cert[][2] = {
		{"--tls-key", "k.pem"},
		{"--tls-strict-sni", NULL},
		{"--tls-alpn", "h2"},
		{"--tls-min", "1.2"},
		{"--tls-max", "1.3"},
		{"--tls-ciphers", "ECDHE"},
		{"--no-tls-tickets", NULL},
		{"--tls-ticket-rotate", "1h"},
		{"--tls-handshake-timeout", "5s"},
		{"--tls-ktls", "auto"},
	};
	static const char *const needs_backend_tls[][2] = {
		{"--backend-ca", "/etc/ssl/ca.pem"},
		{"--backend-sni", "a.example"},
		{"--no-backend-verify", NULL},
		{"--backend-ktls", "on"},
	};
	char many[RP_MAX_CERTS + 1][2][16];
	char *argv[4 * (RP_MAX_CERTS + 1) + 6];
	char want[128], long_path[RP_PATH_MAX + 1];
	int argc = 0;

	/* Every TLS option needs --tls-cert, every backend one --backend-tls. */
	for (unsigned i = 0; i < sizeof(needs_cert) / sizeof(needs_cert[0]); i++) {
		char *a[] = {"ringproxy",
			     "--listen",
			     "127.0.0.1:80",
			     "--to",
			     "127.0.0.1:1",
			     (char *)needs_cert[i][0],
			     (char *)needs_cert[i][1],
			     NULL};

		snprintf(want, sizeof(want), "%s needs --tls-cert", needs_cert[i][0]);
		expect_error(rp__cli_parse(needs_cert[i][1] ? 7 : 6, a, &cli, err,
					   sizeof(err)),
			     want);
		/* ...and ringproxy forward has none of them. */
		a[1] = "forward";
		a[2] = (char *)needs_cert[i][0];
		a[3] = (char *)needs_cert[i][1];
		snprintf(want, sizeof(want), "%s is only for ringproxy reverse",
			 needs_cert[i][0]);
		expect_error(rp__cli_parse(needs_cert[i][1] ? 4 : 3, a, &cli, err,
					   sizeof(err)),
			     want);
	}
	for (unsigned i = 0; i < sizeof(needs_backend_tls) / sizeof(needs_backend_tls[0]);
	     i++) {
		char *a[] = {"ringproxy",
			     "--listen",
			     "127.0.0.1:80",
			     "--to",
			     "127.0.0.1:1",
			     (char *)needs_backend_tls[i][0],
			     (char *)needs_backend_tls[i][1],
			     NULL};

		snprintf(want, sizeof(want), "%s needs --backend-tls",
			 needs_backend_tls[i][0]);
		expect_error(rp__cli_parse(needs_backend_tls[i][1] ? 7 : 6, a, &cli, err,
					   sizeof(err)),
			     want);
		a[1] = "forward";
		a[2] = (char *)needs_backend_tls[i][0];
		a[3] = (char *)needs_backend_tls[i][1];
		snprintf(want, sizeof(want), "%s is only for ringproxy reverse",
			 needs_backend_tls[i][0]);
		expect_error(rp__cli_parse(needs_backend_tls[i][1] ? 4 : 3, a, &cli, err,
					   sizeof(err)),
			     want);
	}
	expect_error(PARSE(&cli, err, "forward", "--tls-cert", "c.pem"),
		     "--tls-cert is only for ringproxy reverse");
	expect_error(PARSE(&cli, err, "forward", "--backend-tls"),
		     "--backend-tls is only for ringproxy reverse");

	/* Pairs. */
	expect_error(PARSE(&cli, err, BASE, "--tls-cert", "c.pem"),
		     "--tls-cert and --tls-key go in pairs, the n-th key with the n-th "
		     "certificate: got 1 --tls-cert and 0 --tls-key");
	expect_error(PARSE(&cli, err, BASE, PAIR, "--tls-key", "k2.pem"),
		     "got 1 --tls-cert and 2 --tls-key");
	expect_error(PARSE(&cli, err, BASE, PAIR, "--tls-cert", "c2.pem"),
		     "got 2 --tls-cert and 1 --tls-key");
	expect_error(PARSE(&cli, err, BASE, "--tls-cert", "", "--tls-key", "k.pem"),
		     "--tls-cert: expected a file path, got ''");
	expect_error(PARSE(&cli, err, BASE, "--tls-cert", "c.pem", "--tls-key", ""),
		     "--tls-key: expected a file path, got ''");
	expect_error(PARSE(&cli, err, BASE, "--tls-cert", "a\nb", "--tls-key", "k"),
		     "--tls-cert: expected a file path");
	memset(long_path, 'p', RP_PATH_MAX);
	long_path[RP_PATH_MAX] = '\0';
	expect_error(PARSE(&cli, err, BASE, "--tls-cert", long_path, "--tls-key", "k"),
		     "--tls-cert: too long, at most 255 characters");
	long_path[RP_PATH_MAX - 1] = '\0';
	CU_ASSERT_EQUAL(PARSE(&cli, err, BASE, "--tls-cert", long_path, "--tls-key", "k"),
			0);
	CU_ASSERT_EQUAL(strlen(cli.cfg.listeners[0].tls.certs[0].cert), RP_PATH_MAX - 1);

	/* Values. */
	expect_error(PARSE(&cli, err, BASE, PAIR, "--tls-min", "1.1"),
		     "--tls-min: expected 1.2 or 1.3, got '1.1'");
	expect_error(PARSE(&cli, err, BASE, PAIR, "--tls-max", "TLSv1.3"),
		     "--tls-max: expected 1.2 or 1.3, got 'TLSv1.3'");
	expect_error(PARSE(&cli, err, BASE, PAIR, "--tls-min", "1.3", "--tls-max", "1.2"),
		     "--tls-min (1.3) must not be above --tls-max (1.2)");
	expect_error(PARSE(&cli, err, BASE, PAIR, "--tls-ktls", "yes"),
		     "--tls-ktls: expected auto, on or off, got 'yes'");
	expect_error(PARSE(&cli, err, BASE, "--backend-tls", "--backend-ktls", "1"),
		     "--backend-ktls: expected auto, on or off, got '1'");
	expect_error(PARSE(&cli, err, BASE, PAIR, "--tls-alpn", "h2, http/1.1"),
		     "--tls-alpn: expected protocol names separated by commas");
	expect_error(PARSE(&cli, err, BASE, PAIR, "--tls-alpn", "h2,,http/1.1"),
		     "--tls-alpn: expected protocol names");
	expect_error(
		PARSE(&cli, err, BASE, PAIR, "--tls-alpn",
		      "0123456789012345678901234567890123456789012345678901234567890123"),
		"--tls-alpn: too long, at most 63 characters");
	expect_error(PARSE(&cli, err, BASE, PAIR, "--tls-ciphers", ""),
		     "--tls-ciphers: expected a cipher list");
	expect_error(PARSE(&cli, err, BASE, PAIR, "--tls-ticket-rotate", "1500ms"),
		     "--tls-ticket-rotate: expected a duration in whole seconds such as "
		     "30s, 5m or 1h, at least 1s, got '1500ms'");
	expect_error(PARSE(&cli, err, BASE, PAIR, "--tls-ticket-rotate", "0s"),
		     "--tls-ticket-rotate: expected a duration in whole seconds");
	expect_error(PARSE(&cli, err, BASE, PAIR, "--tls-handshake-timeout", "0"),
		     "--tls-handshake-timeout: expected a duration such as 500ms, 5s or "
		     "2m (not zero)");
	expect_error(PARSE(&cli, err, BASE, PAIR, "--tls-strict-sni=yes"),
		     "--tls-strict-sni takes no value");
	expect_error(
		PARSE(&cli, err, BASE, "--backend-tls", "--backend-sni", "a.example:443"),
		"--backend-sni: expected a server name such as backend.example (no "
		"port, no IP address, no trailing dot), got 'a.example:443'");
	expect_error(PARSE(&cli, err, BASE, "--backend-tls", "--backend-sni", "10.0.0.1"),
		     "--backend-sni: expected a server name");
	expect_error(
		PARSE(&cli, err, BASE, "--backend-tls", "--backend-sni", "*.a.example"),
		"--backend-sni: expected a server name");
	expect_error(PARSE(&cli, err, BASE, "--backend-tls", "--backend-ca", ""),
		     "--backend-ca: expected a file path, got ''");
	expect_error(PARSE(&cli, err, BASE, PAIR, "--accept-proxy"),
		     "--accept-proxy with --tls-cert is not available yet");
	/* HTTP/2 on --mode http, which speaks HTTP/1.1 only, whatever the
	 * order of the options; a tcp listener may offer it. */
	expect_error(PARSE(&cli, err, BASE, PAIR, "--mode", "http", "--tls-alpn",
			   "h2,http/1.1"),
		     "--tls-alpn: HTTP/2 is not supported yet: --mode http speaks "
		     "HTTP/1.1 only, and a client that picks h2 would send HTTP/2 "
		     "and get HTTP/1.1 back; remove h2 from --tls-alpn (http/1.1 is "
		     "the default)");
	expect_error(PARSE(&cli, err, BASE, PAIR, "--tls-alpn", "http/1.1,h2c", "--mode",
			   "http"),
		     "remove h2c from --tls-alpn");
	CU_ASSERT_EQUAL(PARSE(&cli, err, BASE, PAIR, "--mode", "http", "--tls-alpn",
			      "h2x,http/1.1"),
			0);
	CU_ASSERT_EQUAL(PARSE(&cli, err, BASE, PAIR, "--tls-alpn", "h2,http/1.1"), 0);
	CU_ASSERT_STRING_EQUAL(cli.cfg.listeners[0].tls.alpn, "h2,http/1.1");
	/* A file says everything. */
	expect_error(PARSE(&cli, err, "-c", "x.yaml", PAIR),
		     "'--tls-cert' cannot be combined with -c FILE");

	/* At most RP_MAX_CERTS pairs. */
	argv[argc++] = "ringproxy";
	argv[argc++] = "--listen";
	argv[argc++] = "127.0.0.1:80";
	argv[argc++] = "--to";
	argv[argc++] = "127.0.0.1:1";
	for (unsigned i = 0; i < RP_MAX_CERTS + 1; i++) {
		snprintf(many[i][0], sizeof(many[i][0]), "c%u.pem", i);
		snprintf(many[i][1], sizeof(many[i][1]), "k%u.pem", i);
		argv[argc++] = "--tls-cert";
		argv[argc++] = many[i][0];
		argv[argc++] = "--tls-key";
		argv[argc++] = many[i][1];
	}
	argv[argc] = NULL;
	expect_error(rp__cli_parse(argc, argv, &cli, err, sizeof(err)),
		     "--tls-cert: at most 16 certificates");
	CU_ASSERT_EQUAL_FATAL(rp__cli_parse(argc - 4, argv, &cli, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(cli.cfg.listeners[0].tls.ncerts, RP_MAX_CERTS);
	CU_ASSERT_STRING_EQUAL(cli.cfg.listeners[0].tls.certs[15].cert, "c15.pem");
	CU_ASSERT_STRING_EQUAL(cli.cfg.listeners[0].tls.certs[15].key, "k15.pem");
#undef BASE
#undef PAIR
}

static void test_cli_tls_help_lists_the_options(void)
{
	static const char *const names[] = {
		"--tls-cert FILE",	   "--tls-key FILE",
		"--tls-strict-sni",	   "--tls-alpn LIST",
		"--tls-min 1.2|1.3",	   "--tls-max 1.2|1.3",
		"--tls-ciphers LIST",	   "--no-tls-tickets",
		"--tls-ticket-rotate DUR", "--tls-handshake-timeout DUR",
		"--tls-ktls auto|on|off",  "--backend-tls",
		"--backend-ca FILE",	   "--backend-sni NAME",
		"--no-backend-verify",	   "--backend-ktls auto|on|off",
	};
	const char *u = rp__cli_usage(), *rev = strstr(u, "reverse options"),
		   *fwd = strstr(u, "forward options:");

	CU_ASSERT_PTR_NOT_NULL_FATAL(rev);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fwd);
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *at = strstr(u, names[i]);

		if (!at) {
			fprintf(stderr, "\n  not in the usage: %s\n", names[i]);
			CU_FAIL("an option is missing from the usage text");
			continue;
		}
		/* Under the reverse heading. */
		CU_ASSERT(at > rev && at < fwd);
	}
	/* A name too long for its column has its help on the next line. */
	CU_ASSERT_PTR_NOT_NULL(strstr(u, "  --tls-handshake-timeout DUR\n"
					 "                           tls: for a whole "
					 "handshake (10s)\n"));
}

static void test_cli_tls_value_syntaxes(void)
{
	unsigned v = 0;
	enum rp_ktls_mode k = RP_KTLS_OFF;

	CU_ASSERT_EQUAL(rp__parse_tls_version("1.2", &v), 0);
	CU_ASSERT_EQUAL(v, 0x0303);
	CU_ASSERT_EQUAL(rp__parse_tls_version("1.3", &v), 0);
	CU_ASSERT_EQUAL(v, 0x0304);
	CU_ASSERT_EQUAL(rp__parse_tls_version("1.0", &v), -EINVAL);
	CU_ASSERT_EQUAL(rp__parse_tls_version("1.1", &v), -EINVAL);
	CU_ASSERT_EQUAL(rp__parse_tls_version("1.30", &v), -EINVAL);
	CU_ASSERT_EQUAL(rp__parse_tls_version("", &v), -EINVAL);
	CU_ASSERT_EQUAL(v, 0x0304);

	CU_ASSERT_EQUAL(rp__parse_ktls("auto", &k), 0);
	CU_ASSERT_EQUAL(k, RP_KTLS_AUTO);
	CU_ASSERT_EQUAL(rp__parse_ktls("on", &k), 0);
	CU_ASSERT_EQUAL(k, RP_KTLS_ON);
	CU_ASSERT_EQUAL(rp__parse_ktls("off", &k), 0);
	CU_ASSERT_EQUAL(k, RP_KTLS_OFF);
	CU_ASSERT_EQUAL(rp__parse_ktls("true", &k), -EINVAL);
	CU_ASSERT_EQUAL(rp__parse_ktls("Auto", &k), -EINVAL);

	CU_ASSERT_TRUE(rp__config_is_alpn("h2"));
	CU_ASSERT_TRUE(rp__config_is_alpn("h2,http/1.1"));
	CU_ASSERT_TRUE(rp__config_is_alpn("x-custom/1"));
	CU_ASSERT_FALSE(rp__config_is_alpn(""));
	CU_ASSERT_FALSE(rp__config_is_alpn(","));
	CU_ASSERT_FALSE(rp__config_is_alpn("h2,"));
	CU_ASSERT_FALSE(rp__config_is_alpn(",h2"));
	CU_ASSERT_FALSE(rp__config_is_alpn("h2 ,http/1.1"));
	CU_ASSERT_FALSE(rp__config_is_alpn("h2\t"));
	CU_ASSERT_FALSE(rp__config_is_alpn("h\x7f"));

	CU_ASSERT_TRUE(rp__config_is_server_name("backend.example"));
	CU_ASSERT_TRUE(rp__config_is_server_name("localhost"));
	CU_ASSERT_TRUE(rp__config_is_server_name("a-b_c.example"));
	CU_ASSERT_TRUE(rp__config_is_server_name("10.0.0.1a"));
	CU_ASSERT_TRUE(rp__config_is_server_name("123.example"));
	CU_ASSERT_TRUE(
		rp__config_is_server_name("a23456789012345678901234567890123456789012"
					  "345678901234567890123.example"));
	CU_ASSERT_FALSE(
		rp__config_is_server_name("a2345678901234567890123456789012345678901"
					  "23456789012345678901234.example"));
	CU_ASSERT_FALSE(rp__config_is_server_name(""));
	CU_ASSERT_FALSE(rp__config_is_server_name("10.0.0.1"));
	CU_ASSERT_FALSE(rp__config_is_server_name("443"));
	CU_ASSERT_FALSE(rp__config_is_server_name("a.example."));
	CU_ASSERT_FALSE(rp__config_is_server_name(".a.example"));
	CU_ASSERT_FALSE(rp__config_is_server_name("a..example"));
	CU_ASSERT_FALSE(rp__config_is_server_name("a.example:443"));
	CU_ASSERT_FALSE(rp__config_is_server_name("[::1]"));
	CU_ASSERT_FALSE(rp__config_is_server_name("::1"));
	CU_ASSERT_FALSE(rp__config_is_server_name("*.example"));
	CU_ASSERT_FALSE(rp__config_is_server_name("a example"));
}

static void test_cli_outlier_options(void)
{
	const struct rp_cluster_config *c = &cli.cfg.clusters[0];

	CU_ASSERT_EQUAL_FATAL(
		PARSE(&cli, err, "--listen", "127.0.0.1:80", "--to", "127.0.0.1:1"), 0);
	CU_ASSERT_EQUAL(c->fall, 3);
	CU_ASSERT_EQUAL(c->cooldown_ms, 10000);
	CU_ASSERT_EQUAL(c->outlier.consecutive_5xx, 0);
	CU_ASSERT_EQUAL(c->outlier.max_ejection_ms, 300000);
	CU_ASSERT_EQUAL(c->outlier.max_ejection_percent, 50);
	CU_ASSERT_EQUAL(c->slow_start_ms, 0);
	CU_ASSERT_EQUAL_FATAL(
		PARSE(&cli, err, "--listen", "127.0.0.1:80", "--to", "127.0.0.1:1",
		      "--consecutive-5xx", "5", "--consecutive-gateway-failure", "0",
		      "--base-ejection-time", "4s", "--max-ejection-time", "1m",
		      "--max-ejection-percent", "100", "--slow-start", "20s"),
		0);
	CU_ASSERT_EQUAL(c->outlier.consecutive_5xx, 5);
	CU_ASSERT_EQUAL(c->fall, 0);
	CU_ASSERT_EQUAL(c->cooldown_ms, 4000);
	CU_ASSERT_EQUAL(c->outlier.max_ejection_ms, 60000);
	CU_ASSERT_EQUAL(c->outlier.max_ejection_percent, 100);
	CU_ASSERT_EQUAL(c->slow_start_ms, 20000);
	/* The old names are the same settings. */
	CU_ASSERT_EQUAL_FATAL(PARSE(&cli, err, "--listen", "127.0.0.1:80", "--to",
				    "127.0.0.1:1", "--fall", "7", "--cooldown", "2s"),
			      0);
	CU_ASSERT_EQUAL(c->fall, 7);
	CU_ASSERT_EQUAL(c->cooldown_ms, 2000);
	expect_error(PARSE(&cli, err, "--listen", "127.0.0.1:80", "--to", "127.0.0.1:1",
			   "--max-ejection-percent", "101"),
		     "--max-ejection-percent");
	expect_error(PARSE(&cli, err, "--listen", "127.0.0.1:80", "--to", "127.0.0.1:1",
			   "--consecutive-5xx", "1001"),
		     "--consecutive-5xx");
	expect_error(PARSE(&cli, err, "--listen", "127.0.0.1:80", "--to", "127.0.0.1:1",
			   "--base-ejection-time", "0"),
		     "--base-ejection-time");
	expect_error(PARSE(&cli, err, "forward", "--slow-start", "1s"), "--slow-start");
}

static const struct rp_unit_test tests[] = {
	RP_TEST(test_cli_no_args_is_embedded_default),
	RP_TEST(test_cli_reverse_full),
	RP_TEST(test_cli_errors_are_clear),
	RP_TEST(test_cli_outlier_options),
	RP_TEST(test_cli_help_and_version),
	RP_TEST(test_cli_value_syntaxes),
	RP_TEST(test_cli_proxy_protocol_options),
	RP_TEST(test_cli_fills_one_cluster_for_every_listener),
	RP_TEST(test_cli_config_file_commands),
	RP_TEST(test_cli_http_options),
	RP_TEST(test_cli_http_defaults_and_flags),
	RP_TEST(test_cli_health_check_options),
	RP_TEST(test_cli_http_errors_are_clear),
	RP_TEST(test_cli_http_help_lists_the_options),
	RP_TEST(test_cli_http_value_syntaxes),
	RP_TEST(test_cli_forward_defaults),
	RP_TEST(test_cli_forward_options),
	RP_TEST(test_cli_forward_refuses_an_open_proxy),
	RP_TEST(test_cli_forward_max_body),
	RP_TEST(test_cli_forward_errors_are_clear),
	RP_TEST(test_cli_forward_help_lists_the_options),
	RP_TEST(test_cli_forward_value_syntaxes),
	RP_TEST(test_cli_tls_options),
	RP_TEST(test_cli_tls_defaults),
	RP_TEST(test_cli_tls_errors_are_clear),
	RP_TEST(test_cli_tls_help_lists_the_options),
	RP_TEST(test_cli_tls_value_syntaxes),
};
RP_UNIT_MAIN("cli", tests)

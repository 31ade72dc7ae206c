// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_cli.c - the command line: the embedded default, every option kind,
 * value syntaxes (durations, sizes, numbers, hosts, paths) and clear errors
 * for bad input, the HTTP options included whether or not this build serves
 * mode http yet.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

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
	CU_ASSERT_EQUAL(cli.cmd, RP_CMD_REVERSE);
	CU_ASSERT_TRUE(cli.defaulted);
	CU_ASSERT_EQUAL(cli.cfg.nlisteners, 1);
	CU_ASSERT_STRING_EQUAL(rp__addr_format(&cli.cfg.listeners[0].addr, a, sizeof(a)),
			       RP_DEFAULT_LISTEN);
	CU_ASSERT_EQUAL(cli.cfg.listeners[0].tunnel, RP_TUNNEL_AUTO);
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

/* --mode http parses whatever the build; without the HTTP data path the
 * last word is "not available yet", everything else having been checked
 * and filled in. */
static void expect_http_ok(int ret)
{
	if (rp__config_mode_available(RP_MODE_HTTP)) {
		if (ret)
			fprintf(stderr, "\n  error was: %s\n", err);
		CU_ASSERT_EQUAL(ret, 0);
	} else {
		expect_error(ret, "--mode: 'http' is not available yet (only tcp)");
	}
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
	expect_error(PARSE(&cli, err, TCP_BASE, "--mode", "forward"),
		     "--mode: 'forward' is not available yet");
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

static const struct rp_unit_test tests[] = {
	RP_TEST(test_cli_no_args_is_embedded_default),
	RP_TEST(test_cli_reverse_full),
	RP_TEST(test_cli_errors_are_clear),
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
};
RP_UNIT_MAIN("cli", tests)

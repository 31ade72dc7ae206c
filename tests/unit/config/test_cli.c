// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_cli.c - the command line: the embedded default, every option kind,
 * value syntaxes (durations, sizes, numbers) and clear errors for bad input.
 */
#include <errno.h>
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

static const struct rp_unit_test tests[] = {
	RP_TEST(test_cli_no_args_is_embedded_default),
	RP_TEST(test_cli_reverse_full),
	RP_TEST(test_cli_errors_are_clear),
	RP_TEST(test_cli_help_and_version),
	RP_TEST(test_cli_value_syntaxes),
	RP_TEST(test_cli_proxy_protocol_options),
	RP_TEST(test_cli_fills_one_cluster_for_every_listener),
	RP_TEST(test_cli_config_file_commands),
};
RP_UNIT_MAIN("cli", tests)

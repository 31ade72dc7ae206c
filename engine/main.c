// SPDX-License-Identifier: BSD-2-Clause
/*
 * main.c - the `ringproxy` command: parse the command line (and load the
 * configuration file of `-c FILE`, or only check it), raise the open-file
 * limit to the hard one, start the engine, then act as its control thread:
 * signals as operators expect them (TERM/INT drain gracefully, a second one
 * stops at once; USR1 reopens the access log; HUP is logged and ignored until
 * configuration reload exists), and a per-reactor summary at exit.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "config/cli.h"
#include "core/core.h"
#include "forward/policy.h"
#include "net/net.h"
#include "tls/tls.h"
#include "ringproxy/ringproxy.h"

#ifdef RP_JEMALLOC
/* Read by jemalloc at start (MALLOC_CONF in the environment overrides it).
 * jemalloc returns freed pages to the kernel only as a side effect of later
 * calls on the same arena, and an idle reactor makes none: what a burst
 * allocated (TLS state, DNS, access log lines) would stay resident. A
 * background thread purges on jemalloc's decay schedule instead. (The pools
 * of core/pool.c map and unmap their chunks themselves.) */
const char *malloc_conf = "background_thread:true";
#endif

static void print_summary(const struct rp_engine *e)
{
	for (unsigned i = 0; i < rp_engine_reactors(e); i++) {
		struct rp_stats s;
		char bytes[512];
		size_t n = 0;

		rp_engine_stats(e, i, &s);
		for (unsigned k = 0; k < RP_TUNNEL_NSTRATEGIES; k++) {
			const char *name = rp_tunnel_mode_name((enum rp_tunnel_mode)k);

			n += (size_t)snprintf(bytes + n, sizeof(bytes) - n,
					      " up_%s=%llu down_%s=%llu", name,
					      (unsigned long long)s.bytes[k][0], name,
					      (unsigned long long)s.bytes[k][1]);
		}
		rp__log(RP_LOG_ERR,
			"stats reactor=%u cpu=%d accepted=%llu active=%llu closed=%llu "
			"connect_failures=%llu connect_timeouts=%llu no_backend=%llu "
			"idle_timeouts=%llu accept_pauses=%llu accept_errors=%llu "
			"splice_fallbacks=%llu oom=%llu proxy_errors=%llu "
			"outlier_ejections=%llu outlier_ejections_5xx=%llu "
			"outlier_ejections_gateway=%llu "
			"outlier_ejections_success_rate=%llu outlier_unejections=%llu "
			"outlier_ejections_skipped=%llu%s",
			i, rp_engine_reactor_cpu(e, i), (unsigned long long)s.accepted,
			(unsigned long long)s.active, (unsigned long long)s.closed,
			(unsigned long long)s.connect_failures,
			(unsigned long long)s.connect_timeouts,
			(unsigned long long)s.no_backend,
			(unsigned long long)s.idle_timeouts,
			(unsigned long long)s.accept_pauses,
			(unsigned long long)s.accept_errors,
			(unsigned long long)s.splice_fallbacks, (unsigned long long)s.oom,
			(unsigned long long)s.proxy_errors,
			(unsigned long long)s.outlier_ejections,
			(unsigned long long)s.outlier_ejections_5xx,
			(unsigned long long)s.outlier_ejections_gateway,
			(unsigned long long)s.outlier_ejections_success_rate,
			(unsigned long long)s.outlier_unejections,
			(unsigned long long)s.outlier_ejections_skipped, bytes);
		if (s.tls_handshakes || s.tls_failures || s.tls_timeouts ||
		    s.tls_backend_handshakes || s.tls_backend_failures || s.sni_routed ||
		    s.sni_failures)
			rp__log(RP_LOG_ERR,
				"stats reactor=%u tls handshakes=%llu resumed=%llu "
				"failures=%llu timeouts=%llu ktls_tx=%llu ktls_rx=%llu "
				"userspace=%llu ktls_fallbacks=%llu "
				"backend_handshakes=%llu "
				"backend_failures=%llu sni_routed=%llu sni_failures=%llu",
				i, (unsigned long long)s.tls_handshakes,
				(unsigned long long)s.tls_resumed,
				(unsigned long long)s.tls_failures,
				(unsigned long long)s.tls_timeouts,
				(unsigned long long)s.ktls_tx,
				(unsigned long long)s.ktls_rx,
				(unsigned long long)s.tls_userspace,
				(unsigned long long)s.ktls_fallbacks,
				(unsigned long long)s.tls_backend_handshakes,
				(unsigned long long)s.tls_backend_failures,
				(unsigned long long)s.sni_routed,
				(unsigned long long)s.sni_failures);
		if (s.auth_checks || s.auth_cache_hits || s.auth_failures ||
		    s.auth_throttled || s.auth_queue_full || s.auth_cancelled)
			rp__log(RP_LOG_ERR,
				"stats reactor=%u auth_checks=%llu auth_cache_hits=%llu "
				"auth_failures=%llu auth_throttled=%llu auth_blocks=%llu "
				"auth_queue_full=%llu auth_cancelled=%llu",
				i, (unsigned long long)s.auth_checks,
				(unsigned long long)s.auth_cache_hits,
				(unsigned long long)s.auth_failures,
				(unsigned long long)s.auth_throttled,
				(unsigned long long)s.auth_blocks,
				(unsigned long long)s.auth_queue_full,
				(unsigned long long)s.auth_cancelled);
		if (s.client_conns_refused || s.client_rate_limited ||
		    s.limit_untracked || s.limit_evictions)
			rp__log(RP_LOG_ERR,
				"stats reactor=%u limits client_conns_refused=%llu "
				"client_rate_limited=%llu limit_untracked=%llu "
				"limit_evictions=%llu",
				i, (unsigned long long)s.client_conns_refused,
				(unsigned long long)s.client_rate_limited,
				(unsigned long long)s.limit_untracked,
				(unsigned long long)s.limit_evictions);
		if (!s.requests && !s.bad_requests && !s.denied)
			continue;
		rp__log(RP_LOG_ERR,
			"stats reactor=%u http requests=%llu 1xx=%llu 2xx=%llu 3xx=%llu "
			"4xx=%llu 5xx=%llu bad_requests=%llu denied=%llu "
			"bad_responses=%llu "
			"backend_timeouts=%llu header_timeouts=%llu retries=%llu "
			"pool_reuses=%llu backend_conns=%llu upgrades=%llu "
			"log_drops=%llu",
			i, (unsigned long long)s.requests,
			(unsigned long long)s.responses[1],
			(unsigned long long)s.responses[2],
			(unsigned long long)s.responses[3],
			(unsigned long long)s.responses[4],
			(unsigned long long)s.responses[5],
			(unsigned long long)s.bad_requests, (unsigned long long)s.denied,
			(unsigned long long)s.bad_responses,
			(unsigned long long)s.backend_timeouts,
			(unsigned long long)s.header_timeouts,
			(unsigned long long)s.retries, (unsigned long long)s.pool_reuses,
			(unsigned long long)s.backend_conns,
			(unsigned long long)s.upgrades, (unsigned long long)s.log_drops);
	}
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The control loop: waits for signals and for the reactors to finish. */
static void control_loop(struct rp_engine *e, const struct rp_config *cfg,
			 const sigset_t *sigs)
{
	bool draining = false, stopping = false;
	uint64_t deadline = 0;

	for (;;) {
		struct timespec tick = {.tv_nsec = 100 * 1000000};
		int sig = sigtimedwait(sigs, NULL, &tick);

		if (sig == SIGTERM || sig == SIGINT) {
			if (!draining) {
				draining = true;
				deadline = mono_ms() + cfg->drain_timeout_ms;
				rp_info("%s: draining (closing listeners, waiting up to "
					"%u ms "
					"for open connections; send it again to stop "
					"now)",
					strsignal(sig), cfg->drain_timeout_ms);
				rp_engine_drain(e);
			} else if (!stopping) {
				stopping = true;
				rp_info("%s again: stopping now", strsignal(sig));
				rp_engine_stop(e);
			}
		} else if (sig == SIGHUP) {
			rp_warn("SIGHUP: configuration reload is not available yet; "
				"ignored");
		} else if (sig == SIGUSR1) {
			rp_info("SIGUSR1: reopening the access log");
			rp_engine_reopen_logs(e);
		}
		if (draining && !stopping && mono_ms() >= deadline) {
			stopping = true;
			rp_warn("drain timeout (%u ms) reached: closing what is left",
				cfg->drain_timeout_ms);
			rp_engine_stop(e);
		}
		if (rp_engine_wait(e, 0) == 0)
			return;
	}
}

/* Configuration problems, as compilers print them: FILE:LINE:COL: message. */
static void report_problem(void *arg, const char *file, unsigned line, unsigned col,
			   const char *msg)
{
	if (line)
		fprintf(stderr, "%s:%u:%u: %s\n", file, line, col, msg);
	else
		fprintf(stderr, "%s: %s\n", file, msg);
}

/* Loads cli->config_path into cli->cfg: 0, or the exit status. */
static int load_file(struct rp_cli *cli)
{
	enum rp_log_level level = cli->cfg.log_level;
	int ret = rp__config_load_file(cli->config_path, &cli->cfg, report_problem, NULL);

	if (ret < 0) {
		fprintf(stderr, "ringproxy: %s: %s\n", cli->config_path, strerror(-ret));
		return 1;
	}
	if (ret > 0) {
		fprintf(stderr, "%s: %d problem%s\n", cli->config_path, ret,
			ret == 1 ? "" : "s");
		return 1;
	}
	if (cli->log_level_set)
		cli->cfg.log_level = level;
	return 0;
}

/* `check` loads what the engine would: every certificate and key, and the
 * trust anchors of re-encrypting clusters. 0, or the exit status. */
static int check_tls(const struct rp_config *cfg)
{
	char err[512];
	int bad = 0;

	for (unsigned i = 0; i < cfg->nlisteners; i++) {
		const struct rp_listener_config *l = &cfg->listeners[i];
		struct rp_tls_server *s;

		if (!l->tls.enabled)
			continue;
		if (rp__tls_server_new(l, l->mode == RP_MODE_HTTP, &s, err, sizeof(err)) <
		    0) {
			fprintf(stderr, "ringproxy: %s\n", err);
			bad = 1;
		}
		rp__tls_server_free(s);
	}
	for (unsigned k = 0; k < cfg->nclusters; k++) {
		struct rp_tls_client *c;

		if (!cfg->clusters[k].tls.enabled)
			continue;
		if (rp__tls_client_new(&cfg->clusters[k], &c, err, sizeof(err)) < 0) {
			fprintf(stderr, "ringproxy: %s\n", err);
			bad = 1;
		}
		rp__tls_client_free(c);
	}
	return bad;
}

/*
 * Raises the soft open-file limit to the hard one, as HAProxy does by itself
 * (nginx has worker_rlimit_nofile): the soft limit is often 1024 for
 * select()'s sake, which a proxy never calls, and the engine sizes max_conns
 * from it. At most 2^20, the kernel's default fs.nr_open: a hard limit of
 * "infinity" cannot be the soft one, and more is seldom wanted.
 */
static void raise_nofile(void)
{
	const rlim_t cap = (rlim_t)1 << 20;
	struct rlimit rl;
	rlim_t old, want;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > cap ? cap : rl.rlim_max;
	if (rl.rlim_cur >= want)
		return;
	old = rl.rlim_cur;
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		rp_warn("cannot raise the open-file limit from %llu to %llu: %s",
			(unsigned long long)old, (unsigned long long)want,
			strerror(errno));
		return;
	}
	rp_info("open-file limit raised from %llu to %llu (the hard limit%s)",
		(unsigned long long)old, (unsigned long long)want,
		want < rl.rlim_max ? ", at most 1048576" : "");
}

static int run(struct rp_cli *cli)
{
	struct rp_engine *e;
	char err[512];
	sigset_t sigs;
	int ret;

	if (cli->cmd == RP_CMD_HELP) {
		fputs(rp__cli_usage(), stdout);
		return 0;
	}
	if (cli->cmd == RP_CMD_VERSION) {
		printf("ringproxy %s\n", rp_version());
		return 0;
	}
	if (cli->cmd == RP_CMD_CHECK || cli->cmd == RP_CMD_RUN_FILE) {
		ret = load_file(cli);
		if (ret)
			return ret;
		if (cli->cmd == RP_CMD_CHECK) {
			if (check_tls(&cli->cfg))
				return 1;
			printf("%s: ok\n", cli->config_path);
			return 0;
		}
	}

	rp__log_level = cli->cfg.log_level;
	raise_nofile();
	ret = rp_engine_create(&cli->cfg, &e, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "ringproxy: %s\n", err);
		return 1;
	}
	/* Signals are taken synchronously by this thread only. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);
	sigprocmask(SIG_BLOCK, &sigs, NULL);

	ret = rp_engine_start(e, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "ringproxy: %s\n", err);
		rp_engine_destroy(e);
		return 1;
	}
	for (unsigned i = 0; i < cli->cfg.nlisteners; i++) {
		const struct rp_listener_config *l = &cli->cfg.listeners[i];
		const struct rp_cluster_config *cl = &cli->cfg.clusters[l->cluster];
		char a[RP_ADDRSTRLEN], from[64] = "";

		if (l->mode == RP_MODE_FORWARD) {
			static const char *const anon[] = {"transparent", "anonymous",
							   "elite"};

			rp_info("listening on %s (forward: HTTP, CONNECT, SOCKS5, "
				"SOCKS4; "
				"%s, ssrf guard %s, %u reactors)%s",
				rp__addr_format(&l->addr, a, sizeof(a)),
				anon[l->fwd.anonymity % 3],
				l->fwd.ssrf_guard ? "on" : "off", rp_engine_reactors(e),
				cli->defaulted ? " [embedded default]" : "");
			rp_info("  try: curl -x http://%s http://example.com/   "
				"curl -p -x http://%s https://example.com/   "
				"curl --socks5-hostname %s https://example.com/",
				a, a, a);
			continue;
		}
		if (cli->config_path)
			snprintf(from, sizeof(from), "cluster %s, ", cl->name);
		rp_info("listening on %s (%s%s, %s%u backends, tunnel %s, %u reactors)",
			rp__addr_format(&l->addr, a, sizeof(a)),
			rp_listener_mode_name(l->mode), l->tls.enabled ? "+tls" : "",
			from, cl->nbackends, rp_tunnel_mode_name(l->tunnel),
			rp_engine_reactors(e));
	}
	control_loop(e, &cli->cfg, &sigs);
	print_summary(e);
	rp_engine_destroy(e);
	return 0;
}

/*
 * `ringproxy passwd [--iterations N]`: reads a password from stdin (one line)
 * and prints its hash for a users file ("name:" + this), so that files never
 * hold plain-text passwords.
 */
static int passwd(int argc, char **argv)
{
	unsigned iterations = 0;
	char pass[1024], out[256];
	size_t n;
	int ret;

	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--iterations") && i + 1 < argc &&
		    rp__parse_uint(argv[i + 1], 1000, 10000000, &iterations) == 0) {
			i++;
			continue;
		}
		fprintf(stderr, "usage: ringproxy passwd [--iterations N] < password\n");
		return 2;
	}
	if (!fgets(pass, sizeof(pass), stdin)) {
		fprintf(stderr, "ringproxy passwd: no password on stdin\n");
		return 1;
	}
	n = strcspn(pass, "\r\n");
	pass[n] = 0;
	if (!n) {
		fprintf(stderr, "ringproxy passwd: empty password\n");
		return 1;
	}
	ret = rp__users_hash(pass, n, iterations, out, sizeof(out));
	explicit_bzero(pass, sizeof(pass));
	if (ret < 0) {
		fprintf(stderr, "ringproxy passwd: %s\n", strerror(-ret));
		return 1;
	}
	printf("%s\n", out);
	return 0;
}

int main(int argc, char **argv)
{
	/* A whole struct rp_config is too big for a stack frame. */
	struct rp_cli *cli;
	char err[512];
	int ret;

	if (argc >= 2 && !strcmp(argv[1], "passwd"))
		return passwd(argc, argv);
	cli = malloc(sizeof(*cli));
	if (!cli) {
		fprintf(stderr, "ringproxy: out of memory\n");
		return 1;
	}
	if (rp__cli_parse(argc, argv, cli, err, sizeof(err)) < 0) {
		fprintf(stderr, "ringproxy: %s\n", err);
		free(cli);
		return 2;
	}
	ret = run(cli);
	free(cli);
	return ret;
}

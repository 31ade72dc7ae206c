// SPDX-License-Identifier: BSD-2-Clause
/*
 * cli.c - parses the `ringproxy` command line into a struct rp_config. Every
 * option is a row of one table (name, kind, where it goes), in the manner of
 * nginx's directives, so adding one is a line, and help is generated from it.
 * The command line fills one cluster ("default") that every --listen
 * forwards to; `-c FILE` hands everything to the YAML loader (yaml.c).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/cli.h"
#include "net/net.h"

#define RP_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

int rp__parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
	unsigned long long v = 0;

	if (!s || !*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(*s - '0');
		if (v > max)
			return -EINVAL;
	}
	if (v < min)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static int parse_scaled(const char *s, const char *const *units,
			const unsigned long long *scale, unsigned n, unsigned *out)
{
	unsigned long long v = 0;
	const char *p = s;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned)(*p - '0');
		if (v > UINT_MAX)
			return -EINVAL;
	}
	for (unsigned i = 0; i < n; i++) {
		if (strcmp(p, units[i]) == 0) {
			v *= scale[i];
			if (v > UINT_MAX)
				return -EINVAL;
			*out = (unsigned)v;
			return 0;
		}
	}
	return -EINVAL;
}

int rp__parse_duration_ms(const char *s, unsigned *out)
{
	static const char *const units[] = {"", "ms", "s", "m", "h"};
	static const unsigned long long scale[] = {1, 1, 1000, 60000, 3600000};

	return parse_scaled(s, units, scale, 5, out);
}

int rp__parse_size(const char *s, unsigned *out)
{
	static const char *const units[] = {"", "k", "K", "m", "M", "g", "G"};
	static const unsigned long long scale[] = {1,	    1 << 10, 1 << 10, 1 << 20,
						   1 << 20, 1 << 30, 1 << 30};

	return parse_scaled(s, units, scale, 7, out);
}

enum opt_kind {
	OPT_UINT,     /* unsigned, [min, max] */
	OPT_DURATION, /* unsigned ms */
	OPT_SIZE,     /* unsigned bytes */
	OPT_LISTEN,
	OPT_BACKEND,
	OPT_CPUS,
	OPT_TUNNEL,
	OPT_MODE,
	OPT_BALANCE,
	OPT_SEND_PROXY,
	OPT_FLAG_ACCEPT_PROXY,
	OPT_FLAG_QUIET,
	OPT_FLAG_VERBOSE,
	OPT_CONFIG,
	OPT_HELP,
	OPT_VERSION,
};

/* Which struct a numeric option's offset is into. */
enum opt_scope {
	SC_GLOBAL,   /* struct rp_config */
	SC_LISTENER, /* struct rp_listener_config: every --listen */
	SC_CLUSTER,  /* struct rp_cluster_config: the one cluster */
};

struct opt {
	const char *name;
	const char *arg;
	enum opt_kind kind;
	enum opt_scope scope;
	size_t off; /* for the numeric kinds */
	unsigned min, max;
	const char *help;
};

#define CFG(f) SC_GLOBAL, offsetof(struct rp_config, f)
#define LIS(f) SC_LISTENER, offsetof(struct rp_listener_config, f)
#define CLU(f) SC_CLUSTER, offsetof(struct rp_cluster_config, f)
#define NONE   SC_GLOBAL, 0

static const struct opt opts[] = {
	{"--listen", "ADDR", OPT_LISTEN, NONE, 0, 0, "listen on ADDR (repeatable)"},
	{"--to", "ADDR[,weight=N]", OPT_BACKEND, NONE, 0, 0,
	 "backend ADDR, weight 1-65535 (repeatable)"},
	{"--mode", "tcp", OPT_MODE, NONE, 0, 0, "proxy mode (tcp)"},
	{"--balance", "ALGO", OPT_BALANCE, NONE, 0, 0,
	 "roundrobin|wrr|leastconn|p2c|ringhash|maglev (roundrobin); the hash ones "
	 "key on the client IP"},
	{"--reactors", "N", OPT_UINT, CFG(reactors), 1, RP_MAX_REACTORS,
	 "reactor threads (default: one per CPU)"},
	{"--cpus", "LIST", OPT_CPUS, NONE, 0, 0, "CPUs to pin reactors to, e.g. 0-3,6"},
	{"--tunnel", "MODE", OPT_TUNNEL, NONE, 0, 0,
	 "splice|ring-splice|copy|auto (auto)"},
	{"--backlog", "N", OPT_UINT, LIS(backlog), 1, 1 << 20, "listen backlog (4096)"},
	{"--connect-timeout", "DUR", OPT_DURATION, CLU(connect_timeout_ms), 1, 0,
	 "per backend connect attempt (2s)"},
	{"--idle-timeout", "DUR", OPT_DURATION, LIS(idle_timeout_ms), 1, 0,
	 "close a tunnel idle this long (300s)"},
	{"--drain-timeout", "DUR", OPT_DURATION, CFG(drain_timeout_ms), 0, 0,
	 "graceful drain limit on TERM/INT (30s)"},
	{"--retries", "N", OPT_UINT, CLU(retries), 0, RP_MAX_BACKENDS,
	 "extra connect attempts on other backends (2)"},
	{"--fall", "N", OPT_UINT, CLU(fall), 1, 1000,
	 "consecutive failures that mark a backend down (3)"},
	{"--cooldown", "DUR", OPT_DURATION, CLU(cooldown_ms), 0, 0,
	 "how long a backend stays down (10s)"},
	{"--max-conns", "N", OPT_UINT, CFG(max_conns), 1, 10000000,
	 "connections per reactor before accepting pauses (100000)"},
	{"--pipe-size", "SIZE", OPT_SIZE, CFG(pipe_size), 4096, 1u << 30,
	 "pipe capacity for splice (256k)"},
	{"--max-pipes", "N", OPT_UINT, CFG(max_pipes), 1, 1000000,
	 "pipes per reactor (default: a share of fs.pipe-user-pages-soft)"},
	{"--buffers", "N", OPT_UINT, CFG(buf_count), 1, 32768,
	 "provided buffers per reactor, a power of two (1024)"},
	{"--buffer-size", "SIZE", OPT_SIZE, CFG(buf_size), 1024, 1u << 20,
	 "bytes per provided buffer (16k)"},
	{"--iowq-workers", "N", OPT_UINT, CFG(iowq_workers), 1, 64,
	 "io-wq worker cap per reactor, for ring-splice (2)"},
	{"--auto-bulk-reads", "N", OPT_UINT, CFG(auto_bulk_reads), 1, 1000,
	 "auto: full buffers in a row that switch a direction to splice (2)"},
	{"--accept-proxy", NULL, OPT_FLAG_ACCEPT_PROXY, NONE, 0, 0,
	 "clients start with a PROXY protocol v1 or v2 header"},
	{"--proxy-timeout", "DUR", OPT_DURATION, LIS(proxy_timeout_ms), 1, 0,
	 "for that header to arrive (5s)"},
	{"--send-proxy", "v1|v2", OPT_SEND_PROXY, NONE, 0, 0,
	 "send backends a PROXY header with the client's address"},
	{"-c", "FILE", OPT_CONFIG, NONE, 0, 0,
	 "run from a YAML configuration file (docs/config.md)"},
	{"-q", NULL, OPT_FLAG_QUIET, NONE, 0, 0, "log warnings and errors only"},
	{"-v", NULL, OPT_FLAG_VERBOSE, NONE, 0, 0, "log debug detail"},
	{"--help", NULL, OPT_HELP, NONE, 0, 0, "this help"},
	{"--version", NULL, OPT_VERSION, NONE, 0, 0, "print the version"},
};

const char *rp__cli_usage(void)
{
	static char buf[4096];
	size_t n;

	if (buf[0])
		return buf;
	n = (size_t)snprintf(
		buf, sizeof(buf),
		"usage: ringproxy [reverse] [--mode tcp] --listen ADDR --to ADDR "
		"[--to ADDR ...] [options]\n"
		"       ringproxy -c FILE    (everything from a YAML file, "
		"docs/config.md)\n"
		"       ringproxy check -c FILE   (validate it: FILE:LINE:COL: "
		"problem)\n"
		"       ringproxy            (no arguments: L4 proxy %s -> %s)\n"
		"ADDR: A.B.C.D:PORT or [IPv6]:PORT; DUR: 500ms, 5s, 2m (bare: ms); "
		"SIZE: 4096, 64k, 1m\noptions:\n",
		RP_DEFAULT_LISTEN, RP_DEFAULT_BACKEND);
	for (unsigned i = 0; i < RP_ARRAY_SIZE(opts) && n < sizeof(buf); i++) {
		char left[48];

		snprintf(left, sizeof(left), "%s%s%s", opts[i].name,
			 opts[i].arg ? " " : "", opts[i].arg ? opts[i].arg : "");
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "  %-24s %s\n", left,
				      opts[i].help);
	}
	return buf;
}

static const struct opt *find_opt(const char *name, size_t len)
{
	for (unsigned i = 0; i < RP_ARRAY_SIZE(opts); i++)
		if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
			return &opts[i];
	return NULL;
}

static int apply(const struct opt *o, const char *val, struct rp_cli *cli, char *err,
		 size_t errlen)
{
	struct rp_config *cfg = &cli->cfg;
	struct rp_cluster_config *cl = &cfg->clusters[0];
	char *base = o->scope == SC_LISTENER  ? (char *)&cli->listener
		     : o->scope == SC_CLUSTER ? (char *)cl
					      : (char *)cfg;
	unsigned *field = (unsigned *)(base + o->off);
	int ret = 0;

	switch (o->kind) {
	case OPT_UINT:
		ret = rp__parse_uint(val, o->min, o->max, field);
		if (ret < 0)
			snprintf(err, errlen,
				 "%s: expected a whole number from %u to %u, got '%s'",
				 o->name, o->min, o->max, val);
		else if (field == &cfg->buf_count && (*field & (*field - 1)))
			ret = -EINVAL,
			snprintf(err, errlen, "%s: must be a power of two, got '%s'",
				 o->name, val);
		break;
	case OPT_DURATION:
		ret = rp__parse_duration_ms(val, field);
		if (ret == 0 && *field < o->min)
			ret = -EINVAL;
		if (ret < 0)
			snprintf(err, errlen,
				 "%s: expected a duration such as 500ms, 5s or 2m%s, got "
				 "'%s'",
				 o->name, o->min ? " (not zero)" : "", val);
		break;
	case OPT_SIZE:
		ret = rp__parse_size(val, field);
		if (ret == 0 && (*field < o->min || *field > o->max))
			ret = -EINVAL;
		if (ret < 0)
			snprintf(err, errlen,
				 "%s: expected a size from %u to %u bytes "
				 "(suffixes k, m, g), got '%s'",
				 o->name, o->min, o->max, val);
		break;
	case OPT_LISTEN:
	case OPT_BACKEND: {
		bool listen = o->kind == OPT_LISTEN;
		unsigned *n = listen ? &cfg->nlisteners : &cl->nbackends;
		unsigned max = listen ? RP_MAX_LISTENERS : RP_MAX_BACKENDS;
		struct rp_addr *dst;
		const char *val_addr = val;
		char addr[RP_ADDRSTRLEN];

		if (*n >= max) {
			snprintf(err, errlen, "%s: at most %u", o->name, max);
			return -EINVAL;
		}
		if (!listen) {
			const char *comma = strchr(val, ',');

			cl->weights[*n] = 1;
			if (comma) {
				if (strncmp(comma, ",weight=", 8) != 0 ||
				    rp__parse_uint(comma + 8, 1, 65535,
						   &cl->weights[*n]) < 0) {
					snprintf(err, errlen,
						 "%s: expected ADDR or ADDR,weight=N "
						 "(N from 1 to 65535), got '%s'",
						 o->name, val);
					return -EINVAL;
				}
				/* Parse the address without its options. */
				snprintf(addr, sizeof(addr), "%.*s", (int)(comma - val),
					 val);
				val_addr = addr;
			}
		}
		dst = listen ? &cfg->listeners[*n].addr : &cl->backends[*n];
		ret = rp__addr_parse(val_addr, dst, false);
		if (ret < 0)
			snprintf(err, errlen,
				 "%s: expected IP:PORT such as 127.0.0.1:8080 "
				 "or [::1]:8080, got '%s'",
				 o->name, val);
		else
			(*n)++;
		break;
	}
	case OPT_CPUS: {
		int bad;

		ret = rp__cpulist_parse(val, cfg->cpus, RP_MAX_REACTORS, &cfg->ncpus);
		if (ret < 0) {
			snprintf(err, errlen,
				 "--cpus: expected a CPU list such as 0-3,6, got '%s'",
				 val);
		} else if (rp__cpus_check_allowed(cfg->cpus, cfg->ncpus, &bad) < 0) {
			snprintf(err, errlen,
				 "--cpus: CPU %d is not available to this process "
				 "(see taskset -p $$ or the cgroup cpuset)",
				 bad);
			ret = -EINVAL;
		}
		break;
	}
	case OPT_TUNNEL: {
		unsigned m;

		for (m = 0; m < RP_TUNNEL_NMODES; m++)
			if (strcmp(val, rp_tunnel_mode_name(m)) == 0)
				break;
		if (m == RP_TUNNEL_NMODES) {
			snprintf(err, errlen,
				 "--tunnel: expected splice, ring-splice, copy or "
				 "auto, got '%s'",
				 val);
			ret = -EINVAL;
		} else {
			cli->listener.tunnel = (enum rp_tunnel_mode)m;
		}
		break;
	}
	case OPT_MODE:
		if (strcmp(val, "tcp") != 0) {
			snprintf(err, errlen,
				 "--mode: '%s' is not available yet (only tcp)", val);
			ret = -EINVAL;
		}
		break;
	case OPT_BALANCE:
		if (strlen(val) >= sizeof(cl->balance)) {
			snprintf(err, errlen, "--balance: unknown algorithm '%s'", val);
			return -EINVAL;
		}
		/* The engine checks the name against the algorithms it has. */
		snprintf(cl->balance, sizeof(cl->balance), "%s", val);
		break;
	case OPT_SEND_PROXY:
		if (strcmp(val, "v1") == 0) {
			cl->send_proxy = 1;
		} else if (strcmp(val, "v2") == 0) {
			cl->send_proxy = 2;
		} else {
			snprintf(err, errlen, "--send-proxy: expected v1 or v2, got '%s'",
				 val);
			ret = -EINVAL;
		}
		break;
	case OPT_FLAG_ACCEPT_PROXY:
		cli->listener.accept_proxy = 1;
		break;
	case OPT_FLAG_QUIET:
		cfg->log_level = RP_LOG_WARN;
		cli->log_level_set = 1;
		break;
	case OPT_FLAG_VERBOSE:
		cfg->log_level = RP_LOG_DEBUG;
		cli->log_level_set = 1;
		break;
	case OPT_CONFIG:
		cli->config_path = val;
		break;
	case OPT_HELP:
		cli->cmd = RP_CMD_HELP;
		break;
	case OPT_VERSION:
		cli->cmd = RP_CMD_VERSION;
		break;
	}
	return ret;
}

int rp__cli_parse(int argc, char *const *argv, struct rp_cli *cli, char *err,
		  size_t errlen)
{
	struct rp_config *cfg = &cli->cfg;
	bool check = false;
	int i = 1;

	memset(cli, 0, sizeof(*cli));
	rp_config_init(cfg);
	rp_listener_config_init(&cli->listener);
	rp_cluster_config_init(&cfg->clusters[0], "default");
	cfg->nclusters = 1;
	cli->cmd = RP_CMD_REVERSE;
	if (argc <= 1) {
		cli->defaulted = 1;
		cfg->listeners[0] = cli->listener;
		rp__addr_parse(RP_DEFAULT_LISTEN, &cfg->listeners[0].addr, false);
		rp__addr_parse(RP_DEFAULT_BACKEND, &cfg->clusters[0].backends[0], false);
		cfg->nlisteners = cfg->clusters[0].nbackends = 1;
		return 0;
	}
	if (argv[1][0] != '-') {
		if (strcmp(argv[1], "reverse") == 0) {
			i = 2;
		} else if (strcmp(argv[1], "check") == 0) {
			check = true;
			i = 2;
		} else if (strcmp(argv[1], "forward") == 0) {
			snprintf(err, errlen, "'%s' is not available in this version yet",
				 argv[1]);
			return -EINVAL;
		} else {
			snprintf(err, errlen, "unknown command '%s' (try --help)",
				 argv[1]);
			return -EINVAL;
		}
	}
	for (; i < argc; i++) {
		const char *a = argv[i], *eq = strchr(a, '=');
		size_t len =
			eq && a[0] == '-' && a[1] == '-' ? (size_t)(eq - a) : strlen(a);
		const struct opt *o = a[0] == '-' ? find_opt(a, len) : NULL;
		const char *val = NULL;

		if (!o) {
			snprintf(err, errlen, "unknown option '%.*s' (try --help)",
				 (int)len, a);
			return -EINVAL;
		}
		if (o->arg) {
			if (a[len] == '=')
				val = a + len + 1;
			else if (i + 1 < argc)
				val = argv[++i];
			else {
				snprintf(err, errlen, "%s needs a value (%s)", o->name,
					 o->arg);
				return -EINVAL;
			}
		} else if (a[len] == '=') {
			snprintf(err, errlen, "%s takes no value", o->name);
			return -EINVAL;
		}
		if (apply(o, val, cli, err, errlen) < 0)
			return -EINVAL;
	}
	if (cli->cmd != RP_CMD_REVERSE)
		return 0;
	if (check || cli->config_path) {
		/* The file says everything: only -q / -v may come with it. */
		for (int k = 1; k < argc; k++) {
			const char *a = argv[k];

			if (strcmp(a, "check") && strcmp(a, "-c") && strcmp(a, "-q") &&
			    strcmp(a, "-v") && a != cli->config_path) {
				snprintf(err, errlen,
					 "'%s' cannot be combined with -c FILE: put "
					 "it in the file",
					 a);
				return -EINVAL;
			}
		}
		if (!cli->config_path) {
			snprintf(err, errlen, "check: give the file to check: -c FILE");
			return -EINVAL;
		}
		cli->cmd = check ? RP_CMD_CHECK : RP_CMD_RUN_FILE;
		return 0;
	}
	if (!cfg->nlisteners) {
		snprintf(err, errlen, "reverse: give at least one --listen ADDR");
		return -EINVAL;
	}
	if (!cfg->clusters[0].nbackends) {
		snprintf(err, errlen, "reverse: give at least one --to ADDR");
		return -EINVAL;
	}
	/* Every listener gets the listener options, whatever their order. */
	for (unsigned k = 0; k < cfg->nlisteners; k++) {
		struct rp_addr addr = cfg->listeners[k].addr;

		cfg->listeners[k] = cli->listener;
		cfg->listeners[k].addr = addr;
		cfg->listeners[k].cluster = 0;
	}
	return 0;
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_startup.c - how the real ringproxy binary starts and refuses to:
 * io_uring blocked by a seccomp filter (as container runtimes do), usage
 * errors, a port taken by someone else, a forward proxy that would be open
 * to anyone, help and version, the connection cap derived from the
 * open-file limit, and `ringproxy check -c FILE` on good and bad
 * configuration files (every file in examples/ included). Each must end with
 * the documented exit status and a message that says what to change.
 *
 * To block io_uring only for the child, the test re-executes itself as
 * `test_startup --deny-io-uring PROGRAM ARGS...`, which installs the filter
 * and then execs PROGRAM.
 */
#define _GNU_SOURCE /* memmem */
#include <dirent.h>
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "support.h"
#include "unit.h"

static const char *ringproxy;
static const char *self;

static int deny_io_uring_and_exec(char **argv)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {
		.len = sizeof(filter) / sizeof(filter[0]),
		.filter = filter,
	};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
		perror("seccomp");
		return 126;
	}
	execv(argv[0], argv);
	perror("execv");
	return 127;
}

/* Runs @argv to completion (bounded) and returns its output. */
static char *run(const char *const argv[], int *code)
{
	struct rpt_proc *p = rpt_proc_spawn(argv, 0);
	char *out;

	*code = -1;
	if (!p)
		return NULL;
	if (rpt_proc_wait(p, 10000) == 0 && WIFEXITED(p->status))
		*code = WEXITSTATUS(p->status);
	out = rpt_proc_output(p);
	rpt_proc_free(p, false);
	return out;
}

static void expect(const char *const argv[], int want_code, const char *needle)
{
	int code;
	char *out = run(argv, &code);

	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_EQUAL(code, want_code);
	if (!strstr(out, needle)) {
		printf("\n  output: %s\n  wanted: %s\n", out, needle);
		CU_FAIL("message does not say what is wrong");
	}
	free(out);
}

static void test_startup_io_uring_blocked_by_seccomp(void)
{
	char port[16];
	const char *argv[] = {self,   "--deny-io-uring", ringproxy, "--listen", NULL,
			      "--to", "127.0.0.1:9",	 NULL};
	char listen[32];

	snprintf(port, sizeof(port), "%d", rpt_free_port(AF_INET));
	snprintf(listen, sizeof(listen), "127.0.0.1:%s", port);
	argv[4] = listen;
	expect(argv, 1, "seccomp");
}

static void test_startup_usage_errors_exit_2(void)
{
	const char *bad_addr[] = {ringproxy, "--listen",    "localhost:1",
				  "--to",    "127.0.0.1:9", NULL};
	const char *no_to[] = {ringproxy, "--listen", "127.0.0.1:1", NULL};
	const char *bad_tunnel[] = {ringproxy,	   "--listen", "127.0.0.1:1", "--to",
				    "127.0.0.1:9", "--tunnel", "sendfile",    NULL};

	expect(bad_addr, 2, "expected IP:PORT");
	expect(no_to, 2, "--to");
	expect(bad_tunnel, 2, "sendfile");
}

static void test_startup_port_in_use_exits_1(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	char addr[32];
	const char *argv[] = {ringproxy,     "--listen",   addr, "--to",
			      "127.0.0.1:9", "--reactors", "1",	 NULL};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	/* Held without SO_REUSEPORT: no reactor can share it. */
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	CU_ASSERT_FATAL(listen(fd, 1) == 0);
	getsockname(fd, (struct sockaddr *)&sin, &len);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", ntohs(sin.sin_port));
	expect(argv, 1, "cannot listen on");
	close(fd);
}

static void test_startup_help_and_version(void)
{
	const char *help[] = {ringproxy, "--help", NULL};
	const char *version[] = {ringproxy, "--version", NULL};

	expect(help, 0, "--tunnel");
	expect(version, 0, "ringproxy ");
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	CU_ASSERT_EQUAL(fclose(f), 0);
}

static void test_startup_check_accepts_every_example(void)
{
	DIR *d = opendir(RP_EXAMPLES_DIR);
	struct dirent *de;
	unsigned n = 0;
	char cwd[512];

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	/* The examples name their files (certificates) from the repository's
	 * top, as they are meant to be run. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(getcwd(cwd, sizeof(cwd)));
	CU_ASSERT_EQUAL_FATAL(chdir(RP_EXAMPLES_DIR "/.."), 0);
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char path[512], ok[600];
		const char *argv[] = {ringproxy, "check", "-c", path, NULL};

		if (len < 6 || strcmp(de->d_name + len - 5, ".yaml"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", RP_EXAMPLES_DIR, de->d_name);
		snprintf(ok, sizeof(ok), "%s: ok", path);
		expect(argv, 0, ok);
		n++;
	}
	closedir(d);
	CU_ASSERT_EQUAL(chdir(cwd), 0);
	CU_ASSERT(n >= 1); /* examples/l4.yaml at least */
}

static void test_startup_check_reports_every_problem(void)
{
	char path[512];
	const char *argv[] = {ringproxy, "check", "-c", path, NULL};
	const char *needles[] = {
		":2:11: reactors: expected a whole number",
		":5:14: cluster: unknown cluster 'nope'",
		":6:11: mode: expected tcp, http or forward, got 'sctp'",
		":8:11: bind: duplicate listener address 127.0.0.1:1 (first at 4:11)",
		":11:3: cluster 'web': the backend list is empty",
		": 5 problems",
	};
	int code;
	char *out;

	snprintf(path, sizeof(path), "%s/bad.yaml", rpt_tmpdir());
	write_file(path, "# five problems\n"	     /* 1 */
			 "reactors: many\n"	     /* 2 */
			 "listeners:\n"		     /* 3 */
			 "  - bind: 127.0.0.1:1\n"   /* 4 */
			 "    cluster: nope\n"	     /* 5 */
			 "    mode: sctp\n"	     /* 6 */
			 "  - cluster: web\n"	     /* 7 */
			 "    bind: 127.0.0.1:1\n"   /* 8 */
			 "clusters:\n"		     /* 9 */
			 "  # none of them\n"	     /* 10 */
			 "  web: {backends: []}\n"); /* 11 */
	out = run(argv, &code);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_EQUAL(code, 1);
	for (unsigned i = 0; i < sizeof(needles) / sizeof(needles[0]); i++) {
		char want[600];

		snprintf(want, sizeof(want), "%s%s", path, needles[i]);
		if (!strstr(out, want)) {
			printf("\n  output: %s\n  wanted: %s\n", out, want);
			CU_FAIL("check did not report the problem at its place");
		}
	}
	CU_ASSERT_PTR_NULL(strstr(out, ": ok"));
	free(out);
}

/* h2 in the ALPN of a mode http listener is refused, by `check` at its
 * place in the file and on the command line, with the reason: the HTTP
 * half speaks HTTP/1.1 only. A tcp listener may offer h2. */
static void test_startup_h2_alpn_refused_on_http(void)
{
	char path[512], want[700];
	const char *check[] = {ringproxy, "check", "-c", path, NULL};
	const char *cli[] = {ringproxy,
			     "--mode",
			     "http",
			     "--listen",
			     "127.0.0.1:1",
			     "--to",
			     "127.0.0.1:9",
			     "--tls-cert",
			     RP_EXAMPLES_DIR "/certs/example.pem",
			     "--tls-key",
			     RP_EXAMPLES_DIR "/certs/example.key",
			     "--tls-alpn",
			     "h2,http/1.1",
			     NULL};
	static const char *const file = "listeners:\n"			     /* 1 */
					"  - bind: 127.0.0.1:1\n"	     /* 2 */
					"    mode: %s\n"		     /* 3 */
					"    cluster: web\n"		     /* 4 */
					"    tls:\n"			     /* 5 */
					"      cert: %s/certs/example.pem\n" /* 6 */
					"      key: %s/certs/example.key\n"  /* 7 */
					"      alpn: \"h2,http/1.1\"\n"	     /* 8 */
					"clusters:\n"			     /* 9 */
					"  web: {backends: [127.0.0.1:9]}\n";
	char text[1024];

	snprintf(path, sizeof(path), "%s/h2.yaml", rpt_tmpdir());
	snprintf(text, sizeof(text), file, "http", RP_EXAMPLES_DIR, RP_EXAMPLES_DIR);
	write_file(path, text);
	snprintf(want, sizeof(want),
		 "%s:8:13: alpn: HTTP/2 is not supported yet: this mode http listener "
		 "speaks HTTP/1.1 only",
		 path);
	expect(check, 1, want);
	expect(check, 1, "remove h2 from alpn");
	snprintf(text, sizeof(text), file, "tcp", RP_EXAMPLES_DIR, RP_EXAMPLES_DIR);
	write_file(path, text);
	snprintf(want, sizeof(want), "%s: ok", path);
	expect(check, 0, want);
	expect(cli, 2,
	       "--tls-alpn: HTTP/2 is not supported yet: --mode http speaks "
	       "HTTP/1.1 only");
}

static void test_startup_check_syntax_and_missing_file(void)
{
	char path[512], want[600];
	const char *argv[] = {ringproxy, "check", "-c", path, NULL};
	const char *run_file[] = {ringproxy, "-c", path, NULL};
	const char *no_file[] = {ringproxy, "check", NULL};
	const char *mixed[] = {ringproxy, "-c", path, "--listen", "127.0.0.1:1", NULL};

	snprintf(path, sizeof(path), "%s/syntax.yaml", rpt_tmpdir());
	write_file(path, "listeners:\n  - bind: 127.0.0.1:1\n   cluster: x\n");
	snprintf(want, sizeof(want), "%s:3:4: YAML syntax error", path);
	expect(argv, 1, want);
	/* Running a bad file fails the same way, before anything starts. */
	expect(run_file, 1, want);
	snprintf(path, sizeof(path), "%s/does-not-exist.yaml", rpt_tmpdir());
	expect(argv, 1, "does-not-exist.yaml: cannot read");
	expect(no_file, 2, "-c FILE");
	expect(mixed, 2, "cannot be combined with -c FILE");
}

/* A forward proxy on a non-loopback address with nobody named who may use
 * it is refused, by the command line (a usage error) and by `check` at the
 * listener's bind; saying who may, everyone included, lets it start. */
static void test_startup_open_forward_proxy_refused(void)
{
	char listen[32], path[512], want[700];
	const char *open[] = {ringproxy, "forward", "--listen", listen, NULL};
	const char *everyone[] = {
		ringproxy,   "forward",	   "--listen", listen, "--allow-client",
		"0.0.0.0/0", "--reactors", "1",	       NULL};
	const char *check[] = {ringproxy, "check", "-c", path, NULL};
	const char *run_file[] = {ringproxy, "-c", path, NULL};
	struct rpt_proc *p;

	snprintf(listen, sizeof(listen), "0.0.0.0:%d", rpt_free_port(AF_INET));
	snprintf(want, sizeof(want),
		 "ringproxy: --listen %s: a forward proxy on a non-loopback address "
		 "with no users and no rule that limits its clients is an open proxy: "
		 "add users "
		 "(--users FILE), or say who may use it (--allow-client CIDR; "
		 "--allow-client 0.0.0.0/0 for everyone)",
		 listen);
	expect(open, 2, want);

	snprintf(path, sizeof(path), "%s/open.yaml", rpt_tmpdir());
	write_file(path, "listeners:\n"	       /* 1 */
			 "  - mode: forward\n" /* 2 */
			 "    bind: 0.0.0.0:3128\n");
	snprintf(want, sizeof(want),
		 "%s:3:11: bind: a forward proxy on a non-loopback address with no "
		 "users and no rule that limits its clients is an open proxy",
		 path);
	expect(check, 1, want);
	expect(run_file, 1, want);
	write_file(path, "listeners:\n"
			 "  - mode: forward\n"
			 "    bind: 0.0.0.0:3128\n"
			 "    forward: {acl: [{action: allow, client: 0.0.0.0/0}]}\n");
	snprintf(want, sizeof(want), "%s: ok", path);
	expect(check, 0, want);

	/* Binding every address sends nothing anywhere. */
	p = rpt_proc_spawn(everyone, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	snprintf(want, sizeof(want), "listening on %s (forward", listen);
	CU_ASSERT_EQUAL(rpt_proc_wait_output(p, want, 5000), 0);
	CU_ASSERT_EQUAL(rpt_proc_stop(p, SIGTERM, 5000), 0);
	CU_ASSERT_TRUE(rpt_proc_exited_with(p, 0));
	rpt_proc_free(p, false);
}

/* Starts @argv with RLIMIT_NOFILE @nofile (soft and hard) until it listens,
 * stops it, and returns what it printed. */
static char *start_with_nofile(const char *const argv[], long nofile)
{
	struct rpt_proc *p = rpt_proc_spawn(argv, nofile);
	char *out;

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(rpt_proc_wait_output(p, "listening on", 5000), 0);
	CU_ASSERT_EQUAL(rpt_proc_stop(p, SIGTERM, 5000), 0);
	CU_ASSERT_TRUE(rpt_proc_exited_with(p, 0));
	out = rpt_proc_output(p);
	rpt_proc_free(p, false);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	return out;
}

/* The max_conns line of @out: the cap, and the limit and reserve it came
 * from; false when there is none. */
static bool derived_cap(const char *out, unsigned *cap, unsigned long *limit,
			unsigned long *reserve)
{
	const char *l = strstr(out, "ringproxy: max_conns ");

	return l && sscanf(l,
			   "ringproxy: max_conns %u per reactor, from the open-file "
			   "limit %lu (%lu descriptors kept",
			   cap, limit, reserve) == 3;
}

/* Without --max-conns the cap per reactor is what the open-file limit holds,
 * two descriptors a connection once the reserve is kept, and says so; the
 * soft limit is raised to the hard one first. A cap set is kept, with a
 * warning when the limit cannot hold it. */
static void test_startup_max_conns_from_the_fd_limit(void)
{
	char listen[32];
	const char *argv[] = {ringproxy,    "forward", "--listen",    listen,
			      "--reactors", "1",       "--max-pipes", "8",
			      NULL,	    NULL,      NULL};
	const char *lowered[] = {
		"/bin/bash",   "-c",	     "ulimit -S -n 256 && exec \"$0\" \"$@\"",
		ringproxy,     "forward",    "--listen",
		listen,	       "--reactors", "2",
		"--max-pipes", "8",	     NULL};
	unsigned long limit, reserve;
	unsigned cap;
	char *out;

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", rpt_free_port(AF_INET));
	out = start_with_nofile(argv, 256);
	CU_ASSERT_TRUE_FATAL(derived_cap(out, &cap, &limit, &reserve));
	printf("\n  nofile 256: max_conns %u, %lu kept\n", cap, reserve);
	CU_ASSERT_EQUAL(limit, 256);
	CU_ASSERT(reserve > 16 && reserve < 256); /* 8 pipes: 16 descriptors */
	CU_ASSERT_EQUAL(cap, (256 - reserve) / 2);
	CU_ASSERT(2 * cap + reserve <= 256);
	CU_ASSERT_PTR_NULL(strstr(out, "open-file limit raised"));
	CU_ASSERT_PTR_NULL(strstr(out, "too low"));
	free(out);

	/* Soft 256, hard 512: raised, and the cap follows 512. */
	out = start_with_nofile(lowered, 512);
	CU_ASSERT_PTR_NOT_NULL(
		strstr(out, "ringproxy: open-file limit raised from 256 to 512 (the hard "
			    "limit)"));
	CU_ASSERT_TRUE_FATAL(derived_cap(out, &cap, &limit, &reserve));
	CU_ASSERT_EQUAL(limit, 512);
	CU_ASSERT_EQUAL(cap, (512 - reserve) / 4); /* 2 reactors */
	free(out);

	/* Set: kept, and more than 256 descriptors hold. */
	argv[8] = "--max-conns";
	argv[9] = "1000";
	out = start_with_nofile(argv, 256);
	CU_ASSERT_PTR_NOT_NULL(
		strstr(out, "ringproxy: max_conns 1000 per reactor (set)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "more than the open-file limit 256"));
	CU_ASSERT_FALSE(derived_cap(out, &cap, &limit, &reserve));
	free(out);
}

static void test_startup_reports_features_per_reactor(void)
{
	char listen[32], backend[32];
	const char *argv[] = {ringproxy, "--listen",   listen, "--to",
			      backend,	 "--reactors", "2",    NULL};
	struct rpt_proc *p;
	char *out;

	rpt_addr_str(listen, sizeof(listen), AF_INET, (uint16_t)rpt_free_port(AF_INET));
	rpt_addr_str(backend, sizeof(backend), AF_INET, 9);
	p = rpt_proc_spawn(argv, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(rpt_proc_wait_output(p, "listening on", 5000), 0);
	CU_ASSERT_EQUAL(rpt_proc_stop(p, SIGTERM, 5000), 0);
	CU_ASSERT_TRUE(rpt_proc_exited_with(p, 0));
	out = rpt_proc_output(p);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "reactor 0: cpu"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "reactor 1: cpu"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "multishot-accept"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "ktls"));
	/* What no data path uses is listed apart from what is used. */
	{
		const char *feat = strstr(out, "features: ");
		const char *apart = strstr(out, "(probed, not used yet: ");

		CU_ASSERT_PTR_NOT_NULL_FATAL(feat);
		CU_ASSERT_PTR_NOT_NULL_FATAL(apart);
		CU_ASSERT_TRUE(apart > feat);
		CU_ASSERT_PTR_NULL(memmem(feat, (size_t)(apart - feat), "send-zc", 7));
		CU_ASSERT_PTR_NULL(memmem(feat, (size_t)(apart - feat), "cqe-skip", 8));
		CU_ASSERT_PTR_NOT_NULL(strstr(apart, "send-zc"));
	}
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "stats reactor=1"));
	free(out);
	rpt_proc_free(p, false);
}

int main(int argc, char **argv)
{
	static const struct rp_unit_test tests[] = {
		{"test_startup_io_uring_blocked_by_seccomp",
		 test_startup_io_uring_blocked_by_seccomp},
		{"test_startup_usage_errors_exit_2", test_startup_usage_errors_exit_2},
		{"test_startup_port_in_use_exits_1", test_startup_port_in_use_exits_1},
		{"test_startup_open_forward_proxy_refused",
		 test_startup_open_forward_proxy_refused},
		{"test_startup_max_conns_from_the_fd_limit",
		 test_startup_max_conns_from_the_fd_limit},
		{"test_startup_help_and_version", test_startup_help_and_version},
		{"test_startup_reports_features_per_reactor",
		 test_startup_reports_features_per_reactor},
		{"test_startup_check_accepts_every_example",
		 test_startup_check_accepts_every_example},
		{"test_startup_h2_alpn_refused_on_http",
		 test_startup_h2_alpn_refused_on_http},
		{"test_startup_check_reports_every_problem",
		 test_startup_check_reports_every_problem},
		{"test_startup_check_syntax_and_missing_file",
		 test_startup_check_syntax_and_missing_file},
	};
	const struct rp_unit_suite suite = {
		.name = "startup",
		.tests = tests,
		.ntests = sizeof(tests) / sizeof(tests[0]),
	};
	int ret;

	if (argc > 2 && strcmp(argv[1], "--deny-io-uring") == 0)
		return deny_io_uring_and_exec(argv + 2);
	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH-TO-RINGPROXY [test_startup_NAME ...]\n",
			argv[0]);
		return 2;
	}
	ringproxy = argv[1];
	self = realpath("/proc/self/exe", NULL);
	ret = rp_unit_run_suite(&suite, argv + 2, argc - 2);
	rpt_cleanup_all(false);
	rpt_fini();
	free((void *)self);
	return ret;
}

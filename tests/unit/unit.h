/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * unit.h - the runner every CUnit test binary shares (unit tests, and the
 * integration binaries test_l4 and test_startup): a table of tests, one
 * suite per binary, one line per test, and skips, which CUnit lacks.
 *
 * A test that cannot run here calls RP_SKIP("reason") and returns: its line
 * says "skipped: reason", the summary counts it, and the binary exits 77,
 * which ctest (SKIP_RETURN_CODE 77) shows as skipped, when nothing failed.
 * Skips are for what no package can provide (no IPv6 loopback, io_uring
 * refused by seccomp); a missing program or package is a failure that names
 * the package, since scripts/deps.sh test installs them all. With
 * RP_TEST_STRICT=1 in the environment, as scripts/test.sh sets it, a skip is
 * a failure too: the test command promises that every test ran.
 *
 * Exit status: 0 all ran and passed, 1 a failure, 77 a skip and no failure,
 * 2 bad arguments (a test name that does not exist).
 */
#ifndef RP_TEST_UNIT_H
#define RP_TEST_UNIT_H

#include <CUnit/Basic.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct rp_unit_test {
	const char *name;
	void (*fn)(void);
};

#define RP_TEST(fn)                                                                      \
	{                                                                                \
#fn, fn                                                                  \
	}

struct rp_unit_suite {
	const char *name;
	const struct rp_unit_test *tests;
	unsigned ntests;
	void (*setup)(void); /* before each test; may be NULL */
	void (*teardown)(void);
};

/* The run in progress: one per binary, as there is one suite. */
static struct {
	bool skipped;	   /* the current test called RP_SKIP() */
	char reason[256];  /* ...and why */
	unsigned nskipped; /* tests skipped so far */
	unsigned nfailed;
	unsigned npassed;
} rp__unit;

/* RP_TEST_STRICT=1: every test must run, a skip fails (scripts/test.sh). */
static inline bool rp_unit_strict(void)
{
	const char *v = getenv("RP_TEST_STRICT");

	return v && strcmp(v, "1") == 0;
}

static inline void rp__unit_skip(const char *file, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline void rp__unit_skip(const char *file, unsigned line, const char *fmt, ...)
{
	char msg[sizeof(rp__unit.reason) + 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rp__unit.reason, sizeof(rp__unit.reason), fmt, ap);
	va_end(ap);
	if (rp_unit_strict()) {
		snprintf(msg, sizeof(msg),
			 "skipped (%s), and RP_TEST_STRICT=1 forbids skips",
			 rp__unit.reason);
		CU_assertImplementation(CU_FALSE, line, msg, file, "", CU_FALSE);
		return;
	}
	rp__unit.skipped = true;
}

/*
 * The current test cannot run here: says why (printf format) and leaves the
 * test. Call it before the test has made anything that needs cleaning up.
 */
#define RP_SKIP(...)                                                                     \
	do {                                                                             \
		rp__unit_skip(__FILE__, __LINE__, __VA_ARGS__);                          \
		return;                                                                  \
	} while (0)

/*
 * The whole binary cannot run here (from main(), before any test): prints
 * why and returns the exit status: 77, or 1 under RP_TEST_STRICT=1.
 */
static inline int rp_unit_skip_all(const char *suite_name, const char *why)
{
	if (rp_unit_strict()) {
		printf("%s: every test skipped (%s), and RP_TEST_STRICT=1 forbids "
		       "skips\n",
		       suite_name, why);
		return 1;
	}
	printf("%s: every test skipped: %s\n", suite_name, why);
	return 77;
}

static void rp__unit_test_start(const CU_pTest test, const CU_pSuite suite)
{
	rp__unit.skipped = false;
	rp__unit.reason[0] = '\0';
	printf("  Test: %s ...", test->pName);
	fflush(stdout);
}

static void rp__unit_test_complete(const CU_pTest test, const CU_pSuite suite,
				   const CU_pFailureRecord failures)
{
	unsigned i = 0;

	if (failures) {
		rp__unit.nfailed++;
		printf("FAILED\n");
		for (CU_pFailureRecord f = failures; f; f = f->pNext)
			printf("    %u. %s:%u  - %s\n", ++i,
			       f->strFileName ? f->strFileName : "", f->uiLineNumber,
			       f->strCondition ? f->strCondition : "");
	} else if (rp__unit.skipped) {
		rp__unit.nskipped++;
		printf("skipped: %s\n", rp__unit.reason);
	} else {
		rp__unit.npassed++;
		printf("passed\n");
	}
	fflush(stdout);
}

static void rp__unit_init_failed(const CU_pSuite suite)
{
	printf("suite %s: set-up failed\n", suite->pName);
}

/*
 * Runs @s: every test, or only those named in @names[0..@nnames) (the
 * others are left inactive, which here is no failure). Returns the exit
 * status described at the top.
 */
static inline int rp_unit_run_suite(const struct rp_unit_suite *s, char *const *names,
				    int nnames)
{
	CU_pSuite suite;
	int ret = 1;

	memset(&rp__unit, 0, sizeof(rp__unit));
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	suite = CU_add_suite_with_setup_and_teardown(s->name, NULL, NULL, s->setup,
						     s->teardown);
	if (!suite)
		goto out;
	for (unsigned i = 0; i < s->ntests; i++)
		if (!CU_add_test(suite, s->tests[i].name, s->tests[i].fn))
			goto out;
	if (nnames > 0) {
		for (CU_pTest t = suite->pTest; t; t = t->pNext)
			CU_set_test_active(t, CU_FALSE);
		for (int i = 0; i < nnames; i++) {
			CU_pTest t = CU_get_test(suite, names[i]);

			if (!t) {
				fprintf(stderr, "%s: no test named %s\n", s->name,
					names[i]);
				ret = 2;
				goto out;
			}
			CU_set_test_active(t, CU_TRUE);
		}
	}
	CU_set_fail_on_inactive(CU_FALSE);
	CU_set_test_start_handler(rp__unit_test_start);
	CU_set_test_complete_handler(rp__unit_test_complete);
	CU_set_suite_init_failure_handler(rp__unit_init_failed);
	printf("Suite: %s\n", s->name);
	if (CU_run_all_tests() != CUE_SUCCESS) {
		fprintf(stderr, "%s: CUnit: %s\n", s->name, CU_get_error_msg());
		goto out;
	}
	/* not CU_print_run_results(): it counts a skipped test as passed */
	printf("\n%s: %u passed, %u failed, %u skipped (%u asserts, %u failed)\n",
	       s->name, rp__unit.npassed, rp__unit.nfailed, rp__unit.nskipped,
	       CU_get_run_summary()->nAsserts, CU_get_number_of_failures());
	if (rp__unit.nfailed || CU_get_number_of_failures())
		ret = 1;
	else
		ret = rp__unit.nskipped ? 77 : 0;
out:
	CU_cleanup_registry();
	return ret;
}

static inline int rp_unit_run(const char *suite_name, const struct rp_unit_test *tests,
			      unsigned n)
{
	const struct rp_unit_suite s = {.name = suite_name, .tests = tests, .ntests = n};

	return rp_unit_run_suite(&s, NULL, 0);
}

#define RP_UNIT_MAIN(suite, tests)                                                       \
	int main(void)                                                                   \
	{                                                                                \
		return rp_unit_run(suite, tests, sizeof(tests) / sizeof(tests[0]));      \
	}

/* A sockaddr of either family from text ("10.0.0.1" or "::1", port 0) in
 * @ss; a text that is no address fails the test. */
static inline const struct sockaddr *rp_unit_sockaddr(const char *ip,
						      struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, ip, &s6->sin6_addr) != 1)
			CU_FAIL_FATAL(ip);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		if (inet_pton(AF_INET, ip, &s4->sin_addr) != 1)
			CU_FAIL_FATAL(ip);
	}
	return (const struct sockaddr *)ss;
}

#endif

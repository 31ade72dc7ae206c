/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * unit.h - the boilerplate every CUnit unit-test binary shares: a table of
 * tests, one suite per binary, verbose output, and an exit status that is
 * non-zero when any assertion failed (77 when the binary skips itself).
 */
#ifndef RP_TEST_UNIT_H
#define RP_TEST_UNIT_H

#include <CUnit/Basic.h>
#include <stdio.h>

struct rp_unit_test {
	const char *name;
	void (*fn)(void);
};

#define RP_TEST(fn)                                                                      \
	{                                                                                \
#fn, fn                                                                  \
	}

static inline int rp_unit_run(const char *suite_name, const struct rp_unit_test *tests,
			      unsigned n)
{
	CU_pSuite suite;
	unsigned failures;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	suite = CU_add_suite(suite_name, NULL, NULL);
	if (!suite)
		return 1;
	for (unsigned i = 0; i < n; i++)
		if (!CU_add_test(suite, tests[i].name, tests[i].fn))
			return 1;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failures ? 1 : 0;
}

#define RP_UNIT_MAIN(suite, tests)                                                       \
	int main(void)                                                                   \
	{                                                                                \
		return rp_unit_run(suite, tests, sizeof(tests) / sizeof(tests[0]));      \
	}

#endif

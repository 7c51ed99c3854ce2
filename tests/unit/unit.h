/* unit.h - what the unit suites share: their constructors, which check_main.c runs, and REQUIRE. */
#ifndef DISPATCHD_TEST_UNIT_H
#define DISPATCHD_TEST_UNIT_H

#include <check.h>

/*
 * One suite per module: tests/unit/check_NAME.c defines NAME_suite().
 * The Makefile lists them all in U_SUITES as "U_SUITE(NAME) ...", so a
 * new suite is its file alone.
 */
#ifndef U_SUITES
#error "U_SUITES is not defined: build the unit suites with the Makefile"
#endif
#define U_SUITE(name) Suite *name##_suite(void);
U_SUITES
#undef U_SUITE

/* For hot loops: Check's own asserts cost a system call each when they pass. */
#define REQUIRE(c)                                               \
	do {                                                     \
		if (!(c))                                        \
			ck_abort_msg("line %d: %s", __LINE__, #c); \
	} while (0)

#endif

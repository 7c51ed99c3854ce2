/* check_main.c - the one runner of the unit suites: each suite with its own results, then one summary line. */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

/* Every suite of U_SUITES (unit.h), in the order of their file names. */
static const struct {
	const char *name;
	Suite *(*make)(void);
} suites[] = {
#define U_SUITE(name) { #name, name##_suite },
	U_SUITES
#undef U_SUITE
};

long long unit_now;

long long
unit_clock(void)
{
	return unit_now;
}

/* True if suite name is to run: named on the command line or in
 * $CK_RUN_SUITE, or every suite when neither names one. */
static bool
wanted(const char *name, int argc, char **argv)
{
	const char *env = getenv("CK_RUN_SUITE");

	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			if (strcmp(argv[i], name) == 0)
				return true;
		return false;
	}
	return env == NULL || *env == '\0' || strcmp(env, name) == 0;
}

/*
 * Usage: check_main [SUITE...].  Each suite runs in a runner of its own,
 * so that its "Checks: N, Failures: F, Errors: E" line is printed (the
 * output follows CK_VERBOSITY, CK_FORK and the rest of Check's
 * environment), then "unit: N passed, N failed" counts every test, the
 * line tests/run-suites.sh adds up.  Exit status 1 if any failed.
 */
int
main(int argc, char **argv)
{
	int run = 0, failed = 0, nsuites = 0;

	/* A client whose peer vanished must not kill a test with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		SRunner *sr;

		if (!wanted(suites[i].name, argc, argv))
			continue;
		sr = srunner_create(suites[i].make());
		srunner_run_all(sr, CK_ENV);
		run += srunner_ntests_run(sr);
		failed += srunner_ntests_failed(sr);
		srunner_free(sr);
		nsuites++;
	}
	if (nsuites == 0) {
		fprintf(stderr, "check_main: no such suite\n");
		return 1;
	}
	printf("unit: %d passed, %d failed\n", run - failed, failed);
	return failed == 0 ? 0 : 1;
}

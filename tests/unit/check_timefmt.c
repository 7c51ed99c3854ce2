/* check_timefmt.c - unit tests for reply and record timestamps. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timefmt.h"
#include "unit.h"

/* 2026-11-22T10:15:30 UTC. */
#define T0 ((time_t)1795342530)

static struct timeval
tv_at(time_t sec, long usec)
{
	struct timeval tv = { .tv_sec = sec, .tv_usec = usec };
	return tv;
}

static const char *
fmt_at(const char *fmt, time_t sec, long usec)
{
	static char out[TIMEFMT_MAX];
	struct timeval tv = tv_at(sec, usec);
	size_t n = timefmt_format(out, sizeof(out), fmt, &tv);

	ck_assert_uint_eq(n, strlen(out));
	return out;
}

START_TEST(test_epoch_constant)
{
	struct tm tm = { .tm_year = 126,
		.tm_mon = 10,
		.tm_mday = 22,
		.tm_hour = 10,
		.tm_min = 15,
		.tm_sec = 30 };
	ck_assert_int_eq(timegm(&tm), T0);
}
END_TEST

START_TEST(test_rfc3339)
{
	char out[32];
	struct timeval tv = tv_at(T0, 123456);

	memset(out, '#', sizeof(out));
	ck_assert_uint_eq(timefmt_rfc3339(out, &tv), 27);
	ck_assert_str_eq(out, "2026-11-22T10:15:30.123456Z");
	tv = tv_at(0, 0);
	timefmt_rfc3339(out, &tv);
	ck_assert_str_eq(out, "1970-01-01T00:00:00.000000Z");
	tv = tv_at(T0 + 29, 999999);
	timefmt_rfc3339(out, &tv);
	ck_assert_str_eq(out, "2026-11-22T10:15:59.999999Z");
	tv = tv_at(T0 + 30, 7);
	timefmt_rfc3339(out, &tv);
	ck_assert_str_eq(out, "2026-11-22T10:16:00.000007Z");
	tv = tv_at(951782400, 5); /* leap day */
	timefmt_rfc3339(out, &tv);
	ck_assert_str_eq(out, "2000-02-29T00:00:00.000005Z");
	/* Back to a second seen before: the cache follows. */
	tv = tv_at(T0, 1);
	timefmt_rfc3339(out, &tv);
	ck_assert_str_eq(out, "2026-11-22T10:15:30.000001Z");
}
END_TEST

/* UTC whatever the local zone says. */
START_TEST(test_utc)
{
	setenv("TZ", "XYZ-5:30", 1);
	tzset();
	ck_assert_str_eq(fmt_at(NULL, T0, 42), "2026-11-22T10:15:30.000042Z");
	ck_assert_str_eq(fmt_at("%H:%M %z", T0 + 3600, 0), "11:15 +0000");
	/* glibc's own %s would read the UTC fields as local time. */
	ck_assert_str_eq(fmt_at("%s.%f", T0, 9), "1795342530.000009");
	ck_assert_str_eq(fmt_at("%%s%s", T0, 0), "%s1795342530");
	unsetenv("TZ");
	tzset();
}
END_TEST

/* %s with strftime's flags and widths, one spec per entry. */
static const char *const seconds_specs[] = { "%s", "%-s", "%_s", "%0s", "%^s", "%#s", "%Es", "%Os",
	"%3s", "%10s", "%12s", "%_12s", "%-12s", "%012s", "%_012s", "%0_12s", "%00012s", "%12Es",
	"%12Os", "%^#12s", "%-_s" };

/* strftime's own %s in UTC, the reference: there mktime reads tm right. */
static void
utc_strftime(char *out, size_t len, const char *fmt, time_t sec)
{
	struct tm tm;

	setenv("TZ", "UTC", 1);
	tzset();
	ck_assert_ptr_nonnull(gmtime_r(&sec, &tm));
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	ck_assert_uint_ne(strftime(out, len, fmt, &tm), 0);
#pragma GCC diagnostic pop
}

/*
 * Audit finding 12: "%s" with a flag, width or modifier never reaches
 * strftime, whose %s runs mktime on our UTC fields as if they were local
 * time; it gives what strftime gives in UTC, in any zone.
 */
START_TEST(test_seconds_flags)
{
	const time_t at[] = { T0, 0, 7, 86400 * 365 };
	char want[TIMEFMT_MAX], fmt[64];

	for (size_t i = 0; i < sizeof(seconds_specs) / sizeof(seconds_specs[0]); i++) {
		for (size_t j = 0; j < sizeof(at) / sizeof(at[0]); j++) {
			snprintf(fmt, sizeof(fmt), "<%s>%%H", seconds_specs[i]);
			utc_strftime(want, sizeof(want), fmt, at[j]);
			setenv("TZ", "Asia/Kolkata", 1);
			tzset();
			ck_assert_msg(strcmp(fmt_at(fmt, at[j], 5), want) == 0,
			    "TZ=Asia/Kolkata, \"%s\" at %lld: \"%s\", want \"%s\"", fmt,
			    (long long)at[j], fmt_at(fmt, at[j], 5), want);
		}
	}
	/* The audit's reproduction, and the widths spelled out. */
	ck_assert_str_eq(fmt_at("%s|%-s|%_s", T0, 0), "1795342530|1795342530|1795342530");
	ck_assert_str_eq(fmt_at("%12s|%_12s|%012s|%-12s", T0, 0),
	    "  1795342530|  1795342530|001795342530|  1795342530");
	ck_assert_str_eq(fmt_at("%10s.%f", T0, 42), "1795342530.000042");
	/* Before 1970, zeros go after the sign. */
	ck_assert_str_eq(fmt_at("%012s|%12s|%s", -5, 0), "-00000000005|          -5|-5");
	/* A flagged %s among other specs, the same second cached. */
	ck_assert_str_eq(fmt_at("%H:%M %_11s %f", T0, 1), "10:15  1795342530 000001");
	ck_assert_str_eq(fmt_at("%H:%M %_11s %f", T0, 2), "10:15  1795342530 000002");
	unsetenv("TZ");
	tzset();
}
END_TEST

/* %1f..%6f: the first 1 to 6 digits of the microseconds, cut, never rounded. */
START_TEST(test_micro_width)
{
	setenv("TZ", "Asia/Kolkata", 1);
	tzset();
	ck_assert_str_eq(fmt_at("%s.%3f", T0, 123456), "1795342530.123");
	ck_assert_str_eq(fmt_at("%1f|%2f|%3f|%4f|%5f|%6f|%f", T0, 987654),
	    "9|98|987|9876|98765|987654|987654");
	ck_assert_str_eq(fmt_at("%H:%M:%S.%3f", T0, 999999), "10:15:30.999");
	ck_assert_str_eq(fmt_at("%H:%M:%S.%3f", T0, 1000), "10:15:30.001");
	ck_assert_str_eq(fmt_at("%3f%f", T0, 42), "000000042");
	unsetenv("TZ");
	tzset();
}
END_TEST

/* More holes than a short format can have: the uncached path of a long one. */
START_TEST(test_many_holes)
{
	char fmt[1024], out[TIMEFMT_MAX], want[TIMEFMT_MAX];
	struct timeval tv = tv_at(T0, 700000);

	fmt[0] = '\0';
	for (int i = 0; i < 300; i++)
		strcat(fmt, "%1f");
	memset(want, '7', TIMEFMT_MAX - 1);
	want[TIMEFMT_MAX - 1] = '\0';
	ck_assert_uint_eq(timefmt_format(out, sizeof(out), fmt, &tv), TIMEFMT_MAX - 1);
	ck_assert_str_eq(out, want);
}
END_TEST

/* Specs timefmt_check refuses, each named with the format in the error. */
static const char *const refused_specs[] = { "%Ef", "%Of", "%-f", "%_f", "%0f", "%^f", "%#f",
	"%03f", "%_3f", "%7f", "%10f", "%3Ef", "%+4Y", "%+s", "%H:%M:%S.%-3f" };

START_TEST(test_check_refused)
{
	const char *fmt = refused_specs[_i];
	char err[512];

	err[0] = '\0';
	ck_assert_msg(timefmt_check(fmt, err, sizeof(err)) == -1, "\"%s\" accepted", fmt);
	ck_assert_msg(strstr(err, fmt) != NULL, "\"%s\": the error '%s' does not name it", fmt,
	    err);
	ck_assert_msg(strstr(err, "not supported") != NULL, "\"%s\": error '%s'", fmt, err);
}
END_TEST

START_TEST(test_check_flags_accepted)
{
	const char *ok[] = { "%-s", "%_s", "%10s", "%Es", "%012s", "%1f", "%3f", "%6f", "%s.%3f",
		"%-%s", "%-d %_H %^a %#b" };
	char err[512];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		ck_assert_msg(timefmt_check(ok[i], err, sizeof(err)) == 0, "\"%s\": %s", ok[i],
		    err);
}
END_TEST

/* A format at T0 and a number of microseconds, and what it gives. */
static const struct {
	const char *fmt;
	long usec;
	const char *want;
} fmts[] = {
	/* NULL is RFC 3339. */
	{ NULL, 123456, "2026-11-22T10:15:30.123456Z" },
	/* Custom formats. */
	{ "%Y-%m-%d %H:%M:%S.%f", 123456, "2026-11-22 10:15:30.123456" },
	{ "%f", 5, "000005" },
	{ "%f%f", 999999, "999999999999" },
	{ "[%s.%f]", 10, "[1795342530.000010]" },
	{ "%a %b %e", 0, "Sun Nov 22" },
	{ "no conversions", 0, "no conversions" },
	/* Percent signs. */
	{ "%%f", 123456, "%f" },
	{ "%%%f", 123456, "%123456" },
	{ "100%%", 0, "100%" },
	{ "%%%%f%f", 1, "%%f000001" },
	{ "%H%%%M", 0, "10%15" },
	/* A spec is read whole, as strftime reads it: "%-%" then "s". */
	{ "%-%s", 0, "%s" },
	{ "%3%f", 0, "  %f" },
};

START_TEST(test_formats)
{
	const char *fmt = fmts[_i].fmt, *got = fmt_at(fmt, T0, fmts[_i].usec);

	ck_assert_msg(strcmp(got, fmts[_i].want) == 0,
	    "case %d: \"%s\" at %ld us gives \"%s\", want \"%s\"", _i, fmt != NULL ? fmt : "(NULL)",
	    fmts[_i].usec, got, fmts[_i].want);
}
END_TEST

START_TEST(test_truncate)
{
	char out[8];
	struct timeval tv = tv_at(T0, 123456);

	ck_assert_uint_eq(timefmt_format(out, 5, "%Y-%m", &tv), 4);
	ck_assert_str_eq(out, "2026");
	ck_assert_uint_eq(timefmt_format(out, 5, "ab%f", &tv), 4);
	ck_assert_str_eq(out, "ab12");
	ck_assert_uint_eq(timefmt_format(out, 8, NULL, &tv), 7);
	ck_assert_str_eq(out, "2026-11");
	ck_assert_uint_eq(timefmt_format(out, 1, NULL, &tv), 0);
	ck_assert_str_eq(out, "");
	out[0] = 'x';
	ck_assert_uint_eq(timefmt_format(out, 0, NULL, &tv), 0);
	ck_assert_int_eq(out[0], 'x');
}
END_TEST

/* A new second changes the cached part; so does another format. */
START_TEST(test_cache_seconds)
{
	const char *f = "%H:%M:%S.%f";

	ck_assert_str_eq(fmt_at(f, T0, 1), "10:15:30.000001");
	ck_assert_str_eq(fmt_at(f, T0, 2), "10:15:30.000002");
	ck_assert_str_eq(fmt_at(f, T0 + 1, 3), "10:15:31.000003");
	ck_assert_str_eq(fmt_at(f, T0 + 30, 4), "10:16:00.000004");
	ck_assert_str_eq(fmt_at(f, T0, 5), "10:15:30.000005");
	ck_assert_str_eq(fmt_at(f, T0 - 86400, 6), "10:15:30.000006");
	ck_assert_str_eq(fmt_at("%d", T0 - 86400, 6), "21");
}
END_TEST

START_TEST(test_cache_formats)
{
	char fmt[32];

	/* Same address, new text, same second. */
	strcpy(fmt, "%H");
	ck_assert_str_eq(fmt_at(fmt, T0, 0), "10");
	strcpy(fmt, "%M");
	ck_assert_str_eq(fmt_at(fmt, T0, 0), "15");
	strcpy(fmt, "%M.%f");
	ck_assert_str_eq(fmt_at(fmt, T0, 1), "15.000001");
	/* More formats than cache slots, interleaved with RFC 3339. */
	for (int i = 0; i < 3; i++) {
		ck_assert_str_eq(fmt_at("%Y", T0, 0), "2026");
		ck_assert_str_eq(fmt_at(NULL, T0, 0), "2026-11-22T10:15:30.000000Z");
		ck_assert_str_eq(fmt_at("%m", T0, 0), "11");
		ck_assert_str_eq(fmt_at("%d", T0, 0), "22");
		ck_assert_str_eq(fmt_at("%S", T0 + i, 0), i == 0 ? "30" : i == 1 ? "31" : "32");
	}
}
END_TEST

/* Each thread has its own cache: concurrent threads at different seconds
 * never see each other's. */
struct thr_arg {
	time_t sec;
	const char *want;
	int bad;
};

static void *
thr_main(void *p)
{
	struct thr_arg *a = p;
	char out[TIMEFMT_MAX], want[TIMEFMT_MAX];

	for (long i = 0; i < 100000; i++) {
		struct timeval tv = tv_at(a->sec + (i & 1), i % 1000000);
		const char *fmt = (i & 2) ? NULL : "%Y-%m-%dT%H:%M:%S.%fZ";
		timefmt_format(out, sizeof(out), fmt, &tv);
		snprintf(want, sizeof(want), "%s%d.%06ldZ", a->want, (int)(i & 1), i % 1000000);
		if (strcmp(out, want) != 0)
			a->bad++;
	}
	return NULL;
}

START_TEST(test_threads)
{
	struct thr_arg a[2] = { { T0, "2026-11-22T10:15:3", 0 },
		{ T0 - 86400 * 365, "2025-11-22T10:15:3", 0 } };
	pthread_t t[2];

	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, thr_main, &a[i]), 0);
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(a[i].bad, 0);
	}
}
END_TEST

START_TEST(test_check)
{
	char err[512], fmt[400];

	err[0] = '\0';
	ck_assert_int_eq(timefmt_check(NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(timefmt_check("%Y-%m-%d %H:%M:%S.%f", err, sizeof(err)), 0);
	ck_assert_int_eq(timefmt_check("%%", err, sizeof(err)), 0);
	ck_assert_str_eq(err, "");

	ck_assert_int_eq(timefmt_check("", err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "empty"));

	memset(fmt, 'a', 256);
	fmt[256] = '\0';
	ck_assert_int_eq(timefmt_check(fmt, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "longer than 255"));
	fmt[255] = '\0'; /* 255 bytes of output fit */
	ck_assert_int_eq(timefmt_check(fmt, err, sizeof(err)), 0);

	/* Short format, long output. */
	ck_assert_int_eq(timefmt_check("%c %c %c %c %c %c %c %c %c %c %c", err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "%c %c"));
	ck_assert_ptr_nonnull(strstr(err, "more than 255"));
	/* %f counts as 6 bytes: 249 + 6 fits, 250 + 6 does not. */
	memset(fmt, 'a', 249);
	strcpy(fmt + 249, "%f");
	ck_assert_int_eq(timefmt_check(fmt, err, sizeof(err)), 0);
	memset(fmt, 'a', 250);
	strcpy(fmt + 250, "%f");
	ck_assert_int_eq(timefmt_check(fmt, err, sizeof(err)), -1);
	/* Names at their longest: "Wednesday" x 28 = 252 fits, plus one "%B" not. */
	fmt[0] = '\0';
	for (int i = 0; i < 28; i++)
		strcat(fmt, "%A");
	ck_assert_int_eq(timefmt_check(fmt, err, sizeof(err)), 0);
	strcat(fmt, "%B");
	ck_assert_int_eq(timefmt_check(fmt, err, sizeof(err)), -1);
	/* Across a %f: 243 + 6 + 6 = 255 fits, one more byte does not. */
	fmt[0] = '\0';
	for (int i = 0; i < 27; i++)
		strcat(fmt, "%A");
	strcat(fmt, "%fabcdef");
	ck_assert_int_eq(timefmt_check(fmt, err, sizeof(err)), 0);
	strcat(fmt, "g");
	ck_assert_int_eq(timefmt_check(fmt, err, sizeof(err)), -1);
}
END_TEST

/* What timefmt_check accepts, timefmt_format renders whole. */
START_TEST(test_check_agrees)
{
	char fmt[300], out[TIMEFMT_MAX], err[300];

	memset(fmt, 'b', 249);
	strcpy(fmt + 249, "%f");
	ck_assert_int_eq(timefmt_check(fmt, err, sizeof(err)), 0);
	struct timeval tv = tv_at(T0, 654321);
	ck_assert_uint_eq(timefmt_format(out, sizeof(out), fmt, &tv), 255);
	ck_assert_str_eq(out + 249, "654321");
}
END_TEST

Suite *
timefmt_suite(void)
{
	Suite *s = suite_create("timefmt");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_epoch_constant);
	tcase_add_test(tc, test_rfc3339);
	tcase_add_test(tc, test_utc);
	tcase_add_test(tc, test_seconds_flags);
	tcase_add_test(tc, test_micro_width);
	tcase_add_test(tc, test_many_holes);
	tcase_add_loop_test(tc, test_check_refused, 0,
	    (int)(sizeof(refused_specs) / sizeof(refused_specs[0])));
	tcase_add_test(tc, test_check_flags_accepted);
	tcase_add_loop_test(tc, test_formats, 0, (int)(sizeof(fmts) / sizeof(fmts[0])));
	tcase_add_test(tc, test_truncate);
	tcase_add_test(tc, test_cache_seconds);
	tcase_add_test(tc, test_cache_formats);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_check);
	tcase_add_test(tc, test_check_agrees);
	suite_add_tcase(s, tc);
	return s;
}

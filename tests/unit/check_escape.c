/* check_escape.c - unit tests for logger record escaping. */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "unit.h"
#include "utf8_oracle.h"

/* escape_line of n bytes as a C string, checked against the size bound. */
static const char *
esc(const char *in, size_t n)
{
	static char out[4096 + 1];

	ck_assert_uint_le(ESCAPE_MAX(n), sizeof(out) - 1);
	memset(out, '#', sizeof(out));
	size_t len = escape_line(out, in, n);
	ck_assert_uint_le(len, ESCAPE_MAX(n));
	ck_assert_int_eq(out[len], '#'); /* nothing written past the result */
	out[len] = '\0';
	return out;
}

/* The fixed cases: input (NULs allowed) and the escaped line it gives. */
static const struct {
	const char *what;
	const char *in;
	size_t n;
	const char *want;
} cases[] = {
#define E(what, in, want)                      \
	{                                      \
		what, in, sizeof(in) - 1, want \
	}
	/* ASCII, TAB included, passes through */
	E("ascii", "", ""),
	E("ascii", "hello, world ~!@#$%^&*()", "hello, world ~!@#$%^&*()"),
	E("ascii", "a\tb\t", "a\tb\t"),
	E("ascii", " ", " "),
	E("ascii", "~", "~"),
	/* controls, DEL and the backslash */
	E("controls", "\n", "\\x0A"),
	E("controls", "a\r\nb", "a\\x0D\\x0Ab"),
	E("controls", "\0", "\\x00"),
	E("controls", "\x01\x1b[31m", "\\x01\\x1B[31m"),
	E("controls", "\x1f", "\\x1F"),
	E("controls", "\x7f", "\\x7F"),
	E("controls", "\\", "\\x5C"),
	E("controls", "a\\x41", "a\\x5Cx41"),
	/* valid UTF-8 passes through */
	E("valid utf8", "\xc2\x80", "\xc2\x80"),                 /* U+0080 */
	E("valid utf8", "caf\xc3\xa9", "caf\xc3\xa9"),           /* é */
	E("valid utf8", "\xdf\xbf", "\xdf\xbf"),                 /* U+07FF */
	E("valid utf8", "\xe0\xa0\x80", "\xe0\xa0\x80"),         /* U+0800 */
	E("valid utf8", "\xe2\x82\xac", "\xe2\x82\xac"),         /* € */
	E("valid utf8", "\xed\x9f\xbf", "\xed\x9f\xbf"),         /* U+D7FF */
	E("valid utf8", "\xee\x80\x80", "\xee\x80\x80"),         /* U+E000 */
	E("valid utf8", "\xef\xbf\xbf", "\xef\xbf\xbf"),         /* U+FFFF */
	E("valid utf8", "\xf0\x90\x80\x80", "\xf0\x90\x80\x80"), /* U+10000 */
	E("valid utf8", "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"), /* 😀 */
	E("valid utf8", "\xf3\xbf\xbf\xbf", "\xf3\xbf\xbf\xbf"),
	E("valid utf8", "\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"), /* U+10FFFF */
	E("valid utf8", "x\xc3\xa9\te\xe2\x82\xac!", "x\xc3\xa9\te\xe2\x82\xac!"),
	/* overlong forms */
	E("overlong", "\xc0\x80", "\\xC0\\x80"),
	E("overlong", "\xc1\xbf", "\\xC1\\xBF"),
	E("overlong", "\xc0\xaf", "\\xC0\\xAF"), /* overlong '/' */
	E("overlong", "\xe0\x80\x80", "\\xE0\\x80\\x80"),
	E("overlong", "\xe0\x9f\xbf", "\\xE0\\x9F\\xBF"),
	E("overlong", "\xf0\x80\x80\x80", "\\xF0\\x80\\x80\\x80"),
	E("overlong", "\xf0\x8f\xbf\xbf", "\\xF0\\x8F\\xBF\\xBF"),
	/* out of range: surrogates */
	E("out of range", "\xed\xa0\x80", "\\xED\\xA0\\x80"),
	E("out of range", "\xed\xbf\xbf", "\\xED\\xBF\\xBF"),
	/* Past U+10FFFF, and bytes that never occur. */
	E("out of range", "\xf4\x90\x80\x80", "\\xF4\\x90\\x80\\x80"),
	E("out of range", "\xf5\x80\x80\x80", "\\xF5\\x80\\x80\\x80"),
	E("out of range", "\xf8\x88\x80\x80\x80", "\\xF8\\x88\\x80\\x80\\x80"),
	E("out of range", "\xfe\xff", "\\xFE\\xFF"),
	/* truncated sequences */
	E("truncated", "\xc3", "\\xC3"),
	E("truncated", "\xc3 ", "\\xC3 "),
	E("truncated", "\xe2\x82", "\\xE2\\x82"),
	E("truncated", "\xe2\x82z", "\\xE2\\x82z"),
	E("truncated", "\xf0\x9f\x98", "\\xF0\\x9F\\x98"),
	E("truncated", "\xf0\x9f\x98\n", "\\xF0\\x9F\\x98\\x0A"),
	/* The byte after a bad one is looked at afresh. */
	E("truncated", "\xe2\xc3\xa9", "\\xE2\xc3\xa9"),
	E("truncated", "\xff\xc3\xa9", "\\xFF\xc3\xa9"),
	E("truncated", "\xf0\x9f\xe2\x82\xac", "\\xF0\\x9F\xe2\x82\xac"),
	/* stray continuation bytes */
	E("continuation", "\x80", "\\x80"),
	E("continuation", "\xbf", "\\xBF"),
	E("continuation", "a\x80\x80z", "a\\x80\\x80z"),
	E("continuation", "\xc3\xa9\xa9", "\xc3\xa9\\xA9"),
#undef E
};

START_TEST(test_cases)
{
	const char *got = esc(cases[_i].in, cases[_i].n);

	ck_assert_msg(strcmp(got, cases[_i].want) == 0, "%s, case %d: \"%s\", wanted \"%s\"",
	    cases[_i].what, _i, got, cases[_i].want);
}
END_TEST

START_TEST(test_controls)
{
	/* Every C0 control but TAB. */
	for (int c = 0; c < 0x20; c++) {
		char in = (char)c, want[8];
		if (c == '\t')
			continue;
		snprintf(want, sizeof(want), "\\x%02X", c);
		ck_assert_str_eq(esc(&in, 1), want);
	}
}
END_TEST

START_TEST(test_worst_case)
{
	char in[256];

	memset(in, 0xff, sizeof(in));
	ck_assert_uint_eq(strlen(esc(in, sizeof(in))), ESCAPE_MAX(sizeof(in)));
}
END_TEST

static size_t
oracle_escape(char *dst, const unsigned char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n;) {
		size_t len = oracle_utf8_len(s + i, n - i);
		bool ctl = s[i] < 0x20 ? s[i] != '\t' : s[i] == 0x7f || s[i] == '\\';
		if (len == 0 || (len == 1 && ctl)) {
			o += (size_t)sprintf(dst + o, "\\x%02X", s[i]);
			i++;
		} else {
			memcpy(dst + o, s + i, len);
			o += len;
			i += len;
		}
	}
	return o;
}

/* Inverse of escaping: every "\xHH" back to its byte. */
static size_t
unescape(unsigned char *dst, const char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n;) {
		if (s[i] == '\\') {
			REQUIRE(i + 4 <= n && s[i + 1] == 'x');
			int hi = oracle_hexval(s[i + 2]), lo = oracle_hexval(s[i + 3]);
			REQUIRE(hi >= 0 && lo >= 0);
			dst[o++] = (unsigned char)(hi << 4 | lo);
			i += 4;
		} else {
			dst[o++] = (unsigned char)s[i++];
		}
	}
	return o;
}

/* Random byte soup mixed with valid sequences: the output is one printable
 * line of valid UTF-8, it decodes back to the input, and it matches the
 * oracle byte for byte. */
START_TEST(test_random_roundtrip)
{
	static const char *const pieces[] = { "a", "\\", "\t", "\n", "\r", "\x7f", "\xc3\xa9",
		"\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xed\xa0\x80", "\xc0\x80", "\xf4\x90\x80\x80",
		"\xef\xbf\xbf", "\xf4\x8f\xbf\xbf" };
	unsigned seed = 4242;
	unsigned char in[64], back[64];
	char out[ESCAPE_MAX(64) + 1], want[ESCAPE_MAX(64) + 1];

	for (int iter = 0; iter < 50000; iter++) {
		size_t n = 0, target = (size_t)(rand_r(&seed) % 60);
		while (n < target) {
			if (rand_r(&seed) % 2) {
				in[n++] = (unsigned char)rand_r(&seed);
			} else {
				const char *p =
				    pieces[rand_r(&seed) % (sizeof(pieces) / sizeof(*pieces))];
				size_t k = strlen(p);
				if (n + k > sizeof(in))
					break;
				memcpy(in + n, p, k);
				n += k;
			}
		}
		size_t len = escape_line(out, (const char *)in, n);
		REQUIRE(len <= ESCAPE_MAX(n));
		size_t wlen = oracle_escape(want, in, n);
		REQUIRE(len == wlen && memcmp(out, want, len) == 0);
		/* The output itself is valid UTF-8 without controls. */
		for (size_t i = 0; i < len;) {
			size_t k = oracle_utf8_len((const unsigned char *)out + i, len - i);
			unsigned char c = (unsigned char)out[i];
			REQUIRE(k > 0);
			REQUIRE(k > 1 || c == '\t' || (c >= 0x20 && c != 0x7f));
			i += k;
		}
		REQUIRE(unescape(back, out, len) == n && memcmp(back, in, n) == 0);
	}
}
END_TEST

Suite *
escape_suite(void)
{
	Suite *s = suite_create("escape");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_cases, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, test_controls);
	tcase_add_test(tc, test_worst_case);
	tcase_add_test(tc, test_random_roundtrip);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

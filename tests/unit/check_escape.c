/* check_escape.c - unit tests for logger record escaping. */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "unit.h"

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

#define ESC(lit) esc(lit, sizeof(lit) - 1)

START_TEST(test_ascii)
{
	ck_assert_str_eq(ESC(""), "");
	ck_assert_str_eq(ESC("hello, world ~!@#$%^&*()"), "hello, world ~!@#$%^&*()");
	ck_assert_str_eq(ESC("a\tb\t"), "a\tb\t");
	ck_assert_str_eq(ESC(" "), " ");
	ck_assert_str_eq(ESC("~"), "~");
}
END_TEST

START_TEST(test_controls)
{
	ck_assert_str_eq(ESC("\n"), "\\x0A");
	ck_assert_str_eq(ESC("a\r\nb"), "a\\x0D\\x0Ab");
	ck_assert_str_eq(ESC("\0"), "\\x00");
	ck_assert_str_eq(ESC("\x01\x1b[31m"), "\\x01\\x1B[31m");
	ck_assert_str_eq(ESC("\x1f"), "\\x1F");
	ck_assert_str_eq(ESC("\x7f"), "\\x7F");
	ck_assert_str_eq(ESC("\\"), "\\x5C");
	ck_assert_str_eq(ESC("a\\x41"), "a\\x5Cx41");
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

START_TEST(test_valid_utf8)
{
	ck_assert_str_eq(ESC("\xc2\x80"), "\xc2\x80");                 /* U+0080 */
	ck_assert_str_eq(ESC("caf\xc3\xa9"), "caf\xc3\xa9");           /* é */
	ck_assert_str_eq(ESC("\xdf\xbf"), "\xdf\xbf");                 /* U+07FF */
	ck_assert_str_eq(ESC("\xe0\xa0\x80"), "\xe0\xa0\x80");         /* U+0800 */
	ck_assert_str_eq(ESC("\xe2\x82\xac"), "\xe2\x82\xac");         /* € */
	ck_assert_str_eq(ESC("\xed\x9f\xbf"), "\xed\x9f\xbf");         /* U+D7FF */
	ck_assert_str_eq(ESC("\xee\x80\x80"), "\xee\x80\x80");         /* U+E000 */
	ck_assert_str_eq(ESC("\xef\xbf\xbf"), "\xef\xbf\xbf");         /* U+FFFF */
	ck_assert_str_eq(ESC("\xf0\x90\x80\x80"), "\xf0\x90\x80\x80"); /* U+10000 */
	ck_assert_str_eq(ESC("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80"); /* 😀 */
	ck_assert_str_eq(ESC("\xf3\xbf\xbf\xbf"), "\xf3\xbf\xbf\xbf");
	ck_assert_str_eq(ESC("\xf4\x8f\xbf\xbf"), "\xf4\x8f\xbf\xbf"); /* U+10FFFF */
	ck_assert_str_eq(ESC("x\xc3\xa9\te\xe2\x82\xac!"), "x\xc3\xa9\te\xe2\x82\xac!");
}
END_TEST

START_TEST(test_overlong)
{
	ck_assert_str_eq(ESC("\xc0\x80"), "\\xC0\\x80");
	ck_assert_str_eq(ESC("\xc1\xbf"), "\\xC1\\xBF");
	ck_assert_str_eq(ESC("\xc0\xaf"), "\\xC0\\xAF"); /* overlong '/' */
	ck_assert_str_eq(ESC("\xe0\x80\x80"), "\\xE0\\x80\\x80");
	ck_assert_str_eq(ESC("\xe0\x9f\xbf"), "\\xE0\\x9F\\xBF");
	ck_assert_str_eq(ESC("\xf0\x80\x80\x80"), "\\xF0\\x80\\x80\\x80");
	ck_assert_str_eq(ESC("\xf0\x8f\xbf\xbf"), "\\xF0\\x8F\\xBF\\xBF");
}
END_TEST

START_TEST(test_out_of_range)
{
	/* Surrogates. */
	ck_assert_str_eq(ESC("\xed\xa0\x80"), "\\xED\\xA0\\x80");
	ck_assert_str_eq(ESC("\xed\xbf\xbf"), "\\xED\\xBF\\xBF");
	/* Past U+10FFFF, and bytes that never occur. */
	ck_assert_str_eq(ESC("\xf4\x90\x80\x80"), "\\xF4\\x90\\x80\\x80");
	ck_assert_str_eq(ESC("\xf5\x80\x80\x80"), "\\xF5\\x80\\x80\\x80");
	ck_assert_str_eq(ESC("\xf8\x88\x80\x80\x80"), "\\xF8\\x88\\x80\\x80\\x80");
	ck_assert_str_eq(ESC("\xfe\xff"), "\\xFE\\xFF");
}
END_TEST

START_TEST(test_truncated)
{
	ck_assert_str_eq(ESC("\xc3"), "\\xC3");
	ck_assert_str_eq(ESC("\xc3 "), "\\xC3 ");
	ck_assert_str_eq(ESC("\xe2\x82"), "\\xE2\\x82");
	ck_assert_str_eq(ESC("\xe2\x82z"), "\\xE2\\x82z");
	ck_assert_str_eq(ESC("\xf0\x9f\x98"), "\\xF0\\x9F\\x98");
	ck_assert_str_eq(ESC("\xf0\x9f\x98\n"), "\\xF0\\x9F\\x98\\x0A");
	/* The byte after a bad one is looked at afresh. */
	ck_assert_str_eq(ESC("\xe2\xc3\xa9"), "\\xE2\xc3\xa9");
	ck_assert_str_eq(ESC("\xff\xc3\xa9"), "\\xFF\xc3\xa9");
	ck_assert_str_eq(ESC("\xf0\x9f\xe2\x82\xac"), "\\xF0\\x9F\xe2\x82\xac");
}
END_TEST

START_TEST(test_continuation)
{
	ck_assert_str_eq(ESC("\x80"), "\\x80");
	ck_assert_str_eq(ESC("\xbf"), "\\xBF");
	ck_assert_str_eq(ESC("a\x80\x80z"), "a\\x80\\x80z");
	ck_assert_str_eq(ESC("\xc3\xa9\xa9"), "\xc3\xa9\\xA9");
}
END_TEST

START_TEST(test_worst_case)
{
	char in[256];

	memset(in, 0xff, sizeof(in));
	ck_assert_uint_eq(strlen(esc(in, sizeof(in))), ESCAPE_MAX(sizeof(in)));
}
END_TEST

/*
 * An independent oracle: decode a code point the textbook way (value, then
 * shortest-form, surrogate and range checks), not by byte ranges.
 */
static size_t
oracle_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp, min;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = s[0] & 0x1f;
		min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = s[0] & 0x0f;
		min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = s[0] & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static size_t
oracle_escape(char *dst, const unsigned char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n;) {
		size_t len = oracle_len(s + i, n - i);
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

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1; /* lower case is not what we write */
}

/* Inverse of escaping: every "\xHH" back to its byte. */
static size_t
unescape(unsigned char *dst, const char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n;) {
		if (s[i] == '\\') {
			REQUIRE(i + 4 <= n && s[i + 1] == 'x');
			int hi = hexval(s[i + 2]), lo = hexval(s[i + 3]);
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
			size_t k = oracle_len((const unsigned char *)out + i, len - i);
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

	tcase_add_test(tc, test_ascii);
	tcase_add_test(tc, test_controls);
	tcase_add_test(tc, test_valid_utf8);
	tcase_add_test(tc, test_overlong);
	tcase_add_test(tc, test_out_of_range);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_continuation);
	tcase_add_test(tc, test_worst_case);
	tcase_add_test(tc, test_random_roundtrip);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

/* utf8_oracle.h - an independent UTF-8 decoder and \xHH digit for the escaping tests (check_escape, fuzz_escape). */
#ifndef DISPATCHD_TEST_UTF8_ORACLE_H
#define DISPATCHD_TEST_UTF8_ORACLE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Decodes a code point the textbook way (value, then shortest-form,
 * surrogate and range checks), not by byte ranges as escape.c does: the
 * length of the well-formed sequence at s (1 for ASCII), or 0.
 */
static inline size_t
oracle_utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp, min;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = s[0] & 0x1fu;
		min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = s[0] & 0x0fu;
		min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = s[0] & 0x07u;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* The value of an upper-case hex digit of \xHH, or -1: lower case is not what SPEC.md says. */
static inline int
oracle_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif

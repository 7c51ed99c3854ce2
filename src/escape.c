/* escape.c - logger record escaping: any bytes to one printable UTF-8 line. */
#include <stdbool.h>
#include <string.h>

#include "escape.h"

static const char hexdigits[] = "0123456789ABCDEF";

/* ASCII that passes: printable except backslash, and TAB. */
static inline bool
escape_plain(unsigned char c)
{
	return (c >= 0x20 && c < 0x7f && c != '\\') || c == '\t';
}

/*
 * Length of the well-formed UTF-8 sequence of two or more bytes at s
 * (Unicode table 3-7, which rules out overlong forms, surrogates and
 * values past U+10FFFF by the range of the second byte), or 0.
 */
static size_t
escape_utf8_len(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		if (s[0] == 0xe0)
			lo = 0xa0; /* below: overlong */
		else if (s[0] == 0xed)
			hi = 0x9f; /* above: surrogates */
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		if (s[0] == 0xf0)
			lo = 0x90; /* below: overlong */
		else if (s[0] == 0xf4)
			hi = 0x8f; /* above: past U+10FFFF */
	} else {
		return 0; /* ASCII, continuation, C0, C1, F5-FF */
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

size_t
escape_line(char *dst, const char *src, size_t n)
{
	const unsigned char *s = (const unsigned char *)src;
	char *d = dst;
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		if (c < 0x80) {
			if (escape_plain(c)) {
				*d++ = (char)c;
				i++;
				continue;
			}
		} else {
			size_t len = escape_utf8_len(s + i, n - i);
			if (len > 0) {
				memcpy(d, s + i, len);
				d += len;
				i += len;
				continue;
			}
		}
		/* One bad byte at a time: the next one may start a valid
		 * sequence, so scanning resumes right after it. */
		*d++ = '\\';
		*d++ = 'x';
		*d++ = hexdigits[c >> 4];
		*d++ = hexdigits[c & 0x0f];
		i++;
	}
	return (size_t)(d - dst);
}

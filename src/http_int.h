/* http_int.h - shared by http.c and http_fields.c only: the byte classes and list reading of RFC 9110. */
#ifndef DISPATCHD_HTTP_INT_H
#define DISPATCHD_HTTP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

static inline bool
http_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static inline bool
http_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static inline unsigned char
http_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* s[0..n) equals the lower-case lc, ASCII case aside (strncasecmp follows the locale). */
static inline bool
http_ieq(const unsigned char *s, size_t n, const char *lc)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (lc[i] == '\0' || http_lower(s[i]) != (unsigned char)lc[i])
			return false;
	return lc[i] == '\0';
}

/* Leaves the optional white space around s[*b..*e) out. */
static inline void
http_trim(const unsigned char *s, size_t *b, size_t *e)
{
	while (*b < *e && http_ows(s[*b]))
		(*b)++;
	while (*e > *b && http_ows(s[*e - 1]))
		(*e)--;
}

/*
 * The next element of a comma-separated list (RFC 9110 5.6.1) in
 * v[*pos..len), trimmed, into [*b, *e); false at the end.  Empty elements
 * are returned as empty: each caller says what they mean.
 */
static inline bool
http_list_next(const unsigned char *v, size_t len, size_t *pos, size_t *b, size_t *e)
{
	const unsigned char *comma;

	if (*pos > len)
		return false;
	*b = *pos;
	comma = memchr(v + *pos, ',', len - *pos);
	*e = comma != NULL ? (size_t)(comma - v) : len;
	*pos = *e + 1;
	http_trim(v, b, e);
	return true;
}

#endif

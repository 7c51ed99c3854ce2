/* escape.h - logger record escaping: any bytes to one printable UTF-8 line. */
#ifndef DISPATCHD_ESCAPE_H
#define DISPATCHD_ESCAPE_H

#include <stddef.h>

/* Worst case output size for n input bytes (every byte as \xHH). */
/* clang-format off */
#define ESCAPE_MAX(n) ((n) * 4)
/* clang-format on */

/*
 * Writes src[0..n) to dst escaped: control bytes (0x00-0x1f except TAB,
 * and 0x7f), backslash, and bytes that are not part of valid UTF-8 become
 * "\xHH" (upper-case hex); valid UTF-8 (shortest form, no surrogates, at
 * most U+10FFFF) passes unchanged.  dst must hold ESCAPE_MAX(n) bytes.
 * Returns the bytes written (no terminator).
 */
size_t escape_line(char *dst, const char *src, size_t n);

#endif

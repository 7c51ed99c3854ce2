/* fuzz_escape.c - logger escaping: one printable UTF-8 line that decodes back to the input. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"

#include "../lib/utf8_oracle.h"
#include "fuzz_util.h"

/* The oracle: an independent UTF-8 decoder (utf8_oracle.h). */
static bool
u8_valid(const unsigned char *s, size_t n)
{
	for (size_t i = 0, k; i < n; i += k)
		if ((k = oracle_utf8_len(s + i, n - i)) == 0)
			return false;
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Exactly the documented room, so ASan sees any byte past it. */
	char *out = malloc(ESCAPE_MAX(size) > 0 ? ESCAPE_MAX(size) : 1);
	const unsigned char *in = data;
	const unsigned char *o;
	size_t m, i, j;
	bool high_escaped = false;

	FZ_CHECK(out != NULL, "out of memory");
	m = escape_line(out, (const char *)data, size);
	o = (const unsigned char *)out;
	FZ_CHECK(m <= ESCAPE_MAX(size), "%zu bytes out for %zu in", m, size);

	/* One line of printable UTF-8: no LF, no control byte but TAB, no DEL. */
	for (i = 0; i < m; i++)
		FZ_CHECK((o[i] >= 0x20 && o[i] != 0x7f) || o[i] == '\t',
		    "byte 0x%02X at %zu of the output: %s", o[i], i, fz_show(out, m));
	FZ_CHECK(u8_valid(o, m), "output is not UTF-8: %s", fz_show(out, m));

	/*
	 * Decode, walking input and output together: every \xHH is exactly
	 * one input byte that had to be escaped, every other byte is the
	 * input byte itself.  An escaped byte >= 0x80 must not start a valid
	 * sequence (otherwise valid UTF-8 was not passed through).
	 */
	for (i = 0, j = 0; i < m; j++) {
		FZ_CHECK(j < size, "output longer than the input decodes to: %s", fz_show(out, m));
		if (o[i] != '\\') {
			FZ_CHECK(o[i] == in[j], "byte %zu: 0x%02X for 0x%02X", j, o[i], in[j]);
			FZ_CHECK(in[j] == '\t' || (in[j] >= 0x20 && in[j] != 0x7f && in[j] != '\\'),
			    "byte %zu (0x%02X) not escaped", j, in[j]);
			i++;
			continue;
		}
		FZ_CHECK(i + 4 <= m, "truncated escape at %zu: %s", i, fz_show(out, m));
		FZ_CHECK(o[i + 1] == 'x' && oracle_hexval(out[i + 2]) >= 0 &&
		        oracle_hexval(out[i + 3]) >= 0,
		    "bad escape at %zu: %s", i, fz_show(out, m));
		unsigned v = (unsigned)(oracle_hexval(out[i + 2]) * 16 + oracle_hexval(out[i + 3]));
		FZ_CHECK(v == in[j], "byte %zu: \\x%02X for 0x%02X", j, v, in[j]);
		if (v < 0x80) {
			FZ_CHECK(v < 0x20 || v == 0x7f || v == '\\', "byte %zu (0x%02X) escaped", j,
			    v);
			FZ_CHECK(v != '\t', "TAB escaped at %zu", j);
		} else {
			FZ_CHECK(oracle_utf8_len(in + j, size - j) == 0,
			    "byte %zu starts valid UTF-8 but was escaped: %s", j,
			    fz_show((const char *)in + j, size - j));
			high_escaped = true;
		}
		i += 4;
	}
	FZ_CHECK(j == size, "output decodes to %zu of %zu bytes", j, size);
	if (u8_valid(in, size))
		FZ_CHECK(!high_escaped, "valid UTF-8 input had bytes >= 0x80 escaped");
	free(out);
	return 0;
}

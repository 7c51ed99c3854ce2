/* fuzz_util.h - what the libFuzzer targets share: property checks and byte strings. */
#ifndef DISPATCHD_FUZZ_UTIL_H
#define DISPATCHD_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The libFuzzer entry points (defined by each target). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/*
 * A broken property is a crash: abort() makes libFuzzer save the input as
 * a crash-* artifact, with the message above its stack trace.
 */
#define FZ_CHECK(c, ...)                                                                        \
	do {                                                                                    \
		if (!(c)) {                                                                     \
			fprintf(stderr, "\nfuzz: %s:%d: property failed: %s\nfuzz: ", __FILE__, \
			    __LINE__, #c);                                                      \
			fprintf(stderr, __VA_ARGS__);                                           \
			fputc('\n', stderr);                                                    \
			abort();                                                                \
		}                                                                               \
	} while (0)

/* A growable byte string. */
struct fz_bytes {
	char *p;
	size_t len;
	size_t cap;
};

static inline void
fz_add(struct fz_bytes *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *np = realloc(b->p, cap);
		FZ_CHECK(np != NULL, "out of memory");
		b->p = np;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static inline void
fz_addc(struct fz_bytes *b, char c)
{
	fz_add(b, &c, 1);
}

/* Same length and bytes (either may be empty, with p NULL). */
static inline int
fz_same(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static inline void
fz_bytes_free(struct fz_bytes *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* A printable excerpt of p[0, n) for messages: at most 64 bytes, escaped. */
static inline const char *
fz_show(const char *p, size_t n)
{
	static char out[64 * 4 + 8];
	size_t o = 0;

	for (size_t i = 0; i < n && i < 64; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, sizeof(out) - o, "\\x%02X", c);
	}
	if (n > 64)
		o += (size_t)snprintf(out + o, sizeof(out) - o, "...");
	out[o] = '\0';
	return out;
}

#endif

/* buf.c - growable byte buffers with a read cursor, freed when empty. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define BUF_MIN_SIZE 512

int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (n > SIZE_MAX / 2 - b->len) {
		errno = ENOMEM;
		return -1;
	}
	if (b->off + b->len + n > b->size) {
		/* Slide the unread bytes down before growing: a buffer that is
		 * drained as fast as it fills never grows. */
		if (b->off > 0) {
			memmove(b->data, b->data + b->off, b->len);
			b->off = 0;
		}
		if (b->len + n > b->size) {
			size_t size = b->size ? b->size : BUF_MIN_SIZE;
			while (size < b->len + n)
				size *= 2;
			char *d = realloc(b->data, size);
			if (d == NULL)
				return -1;
			b->data = d;
			b->size = size;
		}
	}
	memcpy(b->data + b->off + b->len, p, n);
	b->len += n;
	return 0;
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_free(b);
		return;
	}
	b->off += n;
	b->len -= n;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->off = b->len = b->size = 0;
}

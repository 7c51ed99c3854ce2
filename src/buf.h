/* buf.h - growable byte buffers with a read cursor, freed when empty. */
#ifndef DISPATCHD_BUF_H
#define DISPATCHD_BUF_H

#include <stddef.h>

/*
 * Bytes live in data[off, off + len). An empty buffer owns no memory
 * (buf_consume frees it when the last byte is taken), so an idle
 * connection costs only this struct.
 */
struct buf {
	char *data;
	size_t off;
	size_t len;
	size_t size;
};

/* clang-format off */
#define BUF_INIT { NULL, 0, 0, 0 }
/* clang-format on */

/* Appends n bytes; 0, or -1 with errno ENOMEM (buffer unchanged). */
int buf_append(struct buf *b, const void *p, size_t n);
/* Drops the first n (<= len) bytes; frees the storage when it empties. */
void buf_consume(struct buf *b, size_t n);
/* First unread byte (only valid while len > 0). */
static inline const char *
buf_peek(const struct buf *b)
{
	return b->data + b->off;
}
/* Releases the storage; the buffer is empty and reusable afterwards. */
void buf_free(struct buf *b);

#endif

/* sink.h - where a handler writes its replies: a buffer capped at max_pending. */
#ifndef DISPATCHD_SINK_H
#define DISPATCHD_SINK_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/*
 * The core owns the sink and sends out.  A handler appends with
 * sink_write() and checks sink_full() before starting a new reply: once
 * the pending bytes reach cap it must stop consuming input and return what
 * it consumed, so the core can send before feeding it the rest.  Memory per
 * connection is therefore about cap plus one reply.
 */
struct sink {
	struct buf out;
	size_t cap;
};

/* Appends n bytes; 0, or -1 with errno ENOMEM. */
int sink_write(struct sink *s, const void *p, size_t n);
/* True once the pending bytes reached the cap. */
static inline bool sink_full(const struct sink *s) { return s->out.len >= s->cap; }
/* How many more bytes fit below the cap (0 when full). */
static inline size_t sink_room(const struct sink *s)
{
	return s->out.len >= s->cap ? 0 : s->cap - s->out.len;
}

#endif

/* sink.c - where a handler writes its replies. */
#include "sink.h"

int
sink_write(struct sink *s, const void *p, size_t n)
{
	return buf_append(&s->out, p, n);
}

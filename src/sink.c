/* sink.c - where a handler writes its replies: owned or lent pending bytes. */
#include <errno.h>
#include <sys/sendfile.h>

#include "sink.h"

int
sink_keep(struct sink *s)
{
	if (s->lent_len == 0)
		return 0;
	/* Owned storage is empty whenever bytes are lent. */
	if (buf_append(&s->out, s->lent, s->lent_len) < 0)
		return -1;
	s->lent = NULL;
	s->lent_len = 0;
	return 0;
}

int
sink_write(struct sink *s, const void *p, size_t n)
{
	if (sink_keep(s) < 0)
		return -1;
	return buf_append(&s->out, p, n);
}

int
sink_lend(struct sink *s, const void *p, size_t n)
{
	if (n == 0 || sink_pending(s) > 0)
		return sink_write(s, p, n);
	s->lent = p;
	s->lent_len = n;
	return 0;
}

void
sink_clear(struct sink *s)
{
	buf_free(&s->out);
	s->lent = NULL;
	s->lent_len = 0;
	s->file_len = 0;
}

ssize_t
sink_sendfile(const struct sink *s, int sock, size_t max)
{
	off_t off = s->file_off;
	size_t want = s->file_len < max ? s->file_len : max;
	ssize_t n;

	do
		n = sendfile(sock, s->file_fd, &off, want);
	while (n < 0 && errno == EINTR);
	if (n == 0 && want > 0) {
		errno = EIO; /* the file is shorter than the length promised */
		return -1;
	}
	return n;
}

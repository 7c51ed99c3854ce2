/* frame.c - line framing shared by the line handlers (timestamp, logger). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "sink.h"

/*
 * State: the partial line is line[0, len) with len <= max; CRs are kept in
 * it as data (a trailing one is dropped when the LF arrives).  cr is set
 * only when the partial line is already max bytes long and a CR followed:
 * that CR does not fit, and whether it is a line end or data depends on
 * the next byte.  So the storage is exactly max bytes.
 */

void
frame_init(struct framer *f, size_t max)
{
	f->line = NULL;
	f->len = 0;
	/* A zero limit could never make progress. */
	f->max = max > 0 ? max : 1;
	f->cr = false;
}

bool
frame_pending(const struct framer *f)
{
	return f->len > 0 || f->cr;
}

void
frame_free(struct framer *f)
{
	free(f->line);
	f->line = NULL;
	f->len = 0;
	f->cr = false;
}

/* Delivers the partial line (without a trailing CR when drop_cr) and empties it. */
static int
frame_flush(struct framer *f, bool drop_cr, frame_line_fn fn, void *ctx, struct sink *out)
{
	size_t len = f->len;

	if (drop_cr && len > 0 && f->line[len - 1] == '\r')
		len--;
	f->len = 0;
	return fn(ctx, f->line, len, out);
}

/* Appends n bytes (n <= max - len) to the partial line, allocating it. */
static int
frame_keep(struct framer *f, const char *p, size_t n)
{
	if (f->line == NULL && (f->line = malloc(f->max)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	memcpy(f->line + f->len, p, n);
	f->len += n;
	return 0;
}

/*
 * No partial line: complete lines go to fn straight from the input, only an
 * unterminated tail is copied.  Returns the index reached in p, or -1.
 */
static ssize_t
frame_direct(struct framer *f, const char *p, size_t i, size_t n, frame_line_fn fn, void *ctx,
    struct sink *out)
{
	const size_t max = f->max;

	while (i < n) {
		const char *s = p + i;
		const char *lf = memchr(s, '\n', n - i);

		if (lf == NULL)
			break;
		size_t len = (size_t)(lf - s);
		if (len > 0 && s[len - 1] == '\r')
			len--;
		/* A last piece of exactly max bytes takes the line end with it,
		 * hence ">" and not ">=". */
		while (len > max) {
			if (sink_full(out))
				return (ssize_t)i;
			if (fn(ctx, s, max, out) == -1)
				return -1;
			s += max;
			len -= max;
			i += max;
		}
		if (sink_full(out))
			return (ssize_t)i;
		if (fn(ctx, s, len, out) == -1)
			return -1;
		i = (size_t)(lf - p) + 1;
	}
	if (i == n)
		return (ssize_t)n;

	/*
	 * The tail has no LF.  A max-byte piece is final once two more bytes
	 * follow it (neither is an LF, so they cannot be a line end), or one
	 * that is not a CR; otherwise it waits for the next bytes.
	 */
	const char *s = p + i;
	size_t r = n - i;
	while (r > max + 1 || (r == max + 1 && s[max] != '\r')) {
		if (sink_full(out))
			return (ssize_t)i;
		if (fn(ctx, s, max, out) == -1)
			return -1;
		s += max;
		r -= max;
		i += max;
	}
	bool cr = r > max;
	if (frame_keep(f, s, cr ? max : r) == -1)
		return -1;
	f->cr = cr;
	return (ssize_t)n;
}

static ssize_t
frame_step(struct framer *f, const char *p, size_t n, frame_line_fn fn, void *ctx, struct sink *out)
{
	size_t i = 0;

	while (i < n) {
		if (!frame_pending(f)) {
			/* Keep the storage of a line just delivered for the
			 * tail; frame_feed frees it if it stays unused. */
			return frame_direct(f, p, i, n, fn, ctx, out);
		}
		char c = p[i];
		if (f->cr) {
			/* len == max here: the piece is complete either way. */
			if (sink_full(out))
				return (ssize_t)i;
			f->cr = false;
			if (frame_flush(f, false, fn, ctx, out) == -1)
				return -1;
			if (c == '\n') {
				i++;
				continue;
			}
			/* The held CR was data: it starts the next line. */
			if (frame_keep(f, "\r", 1) == -1)
				return -1;
			continue;
		}
		if (f->len == f->max) {
			if (c == '\r') {
				f->cr = true;
				i++;
				continue;
			}
			if (sink_full(out))
				return (ssize_t)i;
			if (frame_flush(f, c == '\n', fn, ctx, out) == -1)
				return -1;
			if (c == '\n')
				i++;
			continue;
		}
		/* Complete the partial line from the input, up to max bytes. */
		size_t room = f->max - f->len;
		size_t take = n - i < room ? n - i : room;
		const char *lf = memchr(p + i, '\n', take);
		if (lf != NULL) {
			if (sink_full(out))
				return (ssize_t)i;
			take = (size_t)(lf - (p + i));
			if (frame_keep(f, p + i, take) == -1)
				return -1;
			i += take + 1;
			if (frame_flush(f, true, fn, ctx, out) == -1)
				return -1;
			continue;
		}
		if (frame_keep(f, p + i, take) == -1)
			return -1;
		i += take;
	}
	return (ssize_t)n;
}

ssize_t
frame_feed(struct framer *f, const char *p, size_t n, frame_line_fn fn, void *ctx, struct sink *out)
{
	ssize_t r = frame_step(f, p, n, fn, ctx, out);

	/* Storage only while a partial line is pending: an idle connection
	 * costs just the struct. */
	if (!frame_pending(f))
		frame_free(f);
	return r;
}

/*
 * Does not look at out (it is only passed to fn), so a handler may call it
 * with NULL from close, where it has no sink.
 */
int
frame_eof(struct framer *f, frame_line_fn fn, void *ctx, struct sink *out)
{
	int r = 0;

	if (f->cr) {
		/* max bytes and a CR that turned out to be data: two pieces. */
		f->cr = false;
		r = frame_flush(f, false, fn, ctx, out);
		if (r == 0)
			r = fn(ctx, "\r", 1, out);
	} else if (f->len > 0) {
		r = frame_flush(f, false, fn, ctx, out);
	}
	frame_free(f);
	return r;
}

/*
 * The same pieces as a stream line of n bytes would give, so a message
 * and a line with the same bytes look alike in the replies and the log.
 */
int
frame_message(const char *p, size_t n, size_t max, frame_line_fn fn, void *ctx, struct sink *out)
{
	if (max == 0)
		max = 1; /* as frame_init */
	if (n > 0 && p[n - 1] == '\n') {
		n--;
		if (n > 0 && p[n - 1] == '\r')
			n--;
	}
	if (n == 0)
		return fn(ctx, p, 0, out);
	for (size_t i = 0; i < n; i += max) {
		if (fn(ctx, p + i, n - i < max ? n - i : max, out) == -1)
			return -1;
	}
	return 0;
}

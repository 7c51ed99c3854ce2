/* frame.h - line framing shared by the line handlers (timestamp, logger). */
#ifndef DISPATCHD_FRAME_H
#define DISPATCHD_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct sink;

/*
 * A line ends at LF; one CR right before the LF is dropped.  A line longer
 * than max bytes is delivered in pieces of max bytes, each as a line (a
 * piece of exactly max bytes followed by LF or CR LF is one line, not a
 * line and an empty one).  At end of stream an unterminated last line is
 * delivered as a line.  The partial line is kept in storage allocated only
 * while a partial line is pending (at most max + 1 bytes).
 */
struct framer {
	char *line;
	size_t len;
	size_t max;
	bool cr; /* a CR was seen and held back: is it followed by LF? */
};

/* Called per line (without LF/CR); returns 0, or -1 to stop with an error. */
typedef int (*frame_line_fn)(void *ctx, const char *line, size_t len, struct sink *out);

void frame_init(struct framer *f, size_t max);

/*
 * Feeds n bytes.  Before each line is delivered it checks sink_full(out):
 * when full it stops and returns the bytes consumed so far.  Returns the
 * bytes consumed (0..n), or -1 when fn failed or memory ran out.
 */
ssize_t frame_feed(struct framer *f, const char *p, size_t n, frame_line_fn fn, void *ctx,
    struct sink *out);

/* End of stream: delivers the pending partial line, if any. 0 or -1. */
int frame_eof(struct framer *f, frame_line_fn fn, void *ctx, struct sink *out);

/*
 * One message (a datagram) as the line handlers see it: p[0..n) less one
 * trailing LF or CR LF, delivered to fn in pieces of max bytes (an empty
 * message is one empty piece).  Any other LF or CR is data.  Stateless;
 * does not look at out (passed to fn, may be NULL).  0, or -1 when fn
 * failed.
 */
int frame_message(const char *p, size_t n, size_t max, frame_line_fn fn, void *ctx,
    struct sink *out);

/* True while a partial line is pending. */
bool frame_pending(const struct framer *f);

/* Releases the partial line storage. */
void frame_free(struct framer *f);

#endif

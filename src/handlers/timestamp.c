/* timestamp.c - the timestamp handler: "[TIME] LINE" back for each line. */
#include <string.h>
#include <sys/time.h>

#include "../conf.h"
#include "../dgram.h"
#include "../frame.h"
#include "../handler.h"
#include "../sink.h"
#include "../timefmt.h"

/* Per connection; the framer owns memory only while a line is partial. */
struct ts_state {
	struct framer fr;
	const struct service *svc;
};

static int
ts_open(void *st, struct service *svc, const struct peer *peer, struct sink *out)
{
	struct ts_state *ts = st;

	(void)peer;
	(void)out;
	ts->svc = svc;
	frame_init(&ts->fr, handler_max_line);
	return 0;
}

/*
 * "[TIME] LINE" + LF, built in the scratch buffer (give it back with
 * handler_scratch_done): its length in *rlen, or NULL without memory.
 */
static char *
ts_reply(const struct service *svc, const char *line, size_t len, size_t *rlen)
{
	struct timeval tv;
	char *r = handler_scratch(TIMEFMT_MAX + len + 4);
	size_t n;

	if (r == NULL)
		return NULL;
	gettimeofday(&tv, NULL);
	n = 1 + timefmt_format(r + 1, TIMEFMT_MAX, svc->timestamp_format, &tv);
	r[0] = '[';
	r[n++] = ']';
	r[n++] = ' ';
	if (len > 0)
		memcpy(r + n, line, len);
	n += len;
	r[n++] = '\n';
	*rlen = n;
	return r;
}

/* One sink_write per reply: out of memory never leaves half a reply. */
static int
ts_line(void *ctx, const char *line, size_t len, struct sink *out)
{
	struct ts_state *ts = ctx;
	size_t n;
	char *r = ts_reply(ts->svc, line, len, &n);
	int rc;

	if (r == NULL)
		return -1;
	rc = sink_write(out, r, n);
	handler_scratch_done();
	return rc;
}

struct ts_dgram {
	const struct service *svc;
	struct dgram_reply *out;
};

/* One piece of a datagram: one reply datagram. */
static int
ts_piece(void *ctx, const char *line, size_t len, struct sink *unused)
{
	struct ts_dgram *td = ctx;
	size_t n;
	char *r = ts_reply(td->svc, line, len, &n);
	int rc;

	(void)unused;
	if (r == NULL)
		return -1;
	rc = dgram_reply_add(td->out, r, n);
	handler_scratch_done();
	return rc;
}

/* The datagram is one message: its pieces as a line's on a stream. */
static int
ts_datagram(struct service *svc, const struct peer *peer, const char *p, size_t n,
    struct dgram_reply *out)
{
	struct ts_dgram td = { svc, out };

	(void)peer;
	return frame_message(p, n, handler_max_line, ts_piece, &td, NULL);
}

static ssize_t
ts_data(void *st, const char *p, size_t n, struct sink *out)
{
	struct ts_state *ts = st;

	return frame_feed(&ts->fr, p, n, ts_line, ts, out);
}

static int
ts_eof(void *st, struct sink *out)
{
	struct ts_state *ts = st;

	return frame_eof(&ts->fr, ts_line, ts, out);
}

static void
ts_close(void *st)
{
	struct ts_state *ts = st;

	frame_free(&ts->fr);
}

const struct handler handler_timestamp = {
	.name = "timestamp",
	.summary = "\"[TIME] LINE\" back for each line",
	.state_size = sizeof(struct ts_state),
	.open = ts_open,
	.data = ts_data,
	.eof = ts_eof,
	.close = ts_close,
	.datagram = ts_datagram,
};

/* timestamp.c - the timestamp handler: "[TIME] LINE" back for each line. */
#include <string.h>
#include <sys/time.h>

#include "../conf.h"
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

/* One sink_write per reply: out of memory never leaves half a reply. */
static int
ts_line(void *ctx, const char *line, size_t len, struct sink *out)
{
	struct ts_state *ts = ctx;
	struct timeval tv;
	char *r = handler_scratch(TIMEFMT_MAX + len + 4);
	int rc;

	if (r == NULL)
		return -1;
	gettimeofday(&tv, NULL);
	size_t n = 1 + timefmt_format(r + 1, TIMEFMT_MAX, ts->svc->timestamp_format, &tv);
	r[0] = '[';
	r[n++] = ']';
	r[n++] = ' ';
	if (len > 0)
		memcpy(r + n, line, len);
	n += len;
	r[n++] = '\n';
	rc = sink_write(out, r, n);
	handler_scratch_done();
	return rc;
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
};

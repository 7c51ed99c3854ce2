/* logger.c - the logger handler: one escaped record per line to a file, stdout or syslog. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "../conf.h"
#include "../dgram.h"
#include "../escape.h"
#include "../frame.h"
#include "../handler.h"
#include "../log.h"
#include "../net.h"
#include "../recout.h"
#include "../sig.h"
#include "../sink.h"
#include "../stats.h"
#include "../timefmt.h"

#define LG_TIME_LEN 27 /* RFC 3339 with microseconds */
/* Per connection: kept small, the peer name is the bulk of it. */
struct lg_state {
	struct framer fr;
	struct service *svc;
	unsigned long long owed; /* ack: queued record whose OK is due */
	char peer[NET_ADDRSTRLEN];
};

/*
 * ack with a queued record: the OK waits until the record is written.
 * True while it still does (the sink is held).
 */
static bool
lg_owing(struct lg_state *ls, struct sink *out)
{
	enum recout_fate fate;

	if (ls->owed == 0)
		return false;
	fate = recout_fate_of(ls->svc->hdata, ls->owed);
	if (fate == RECOUT_WRITTEN) {
		ls->owed = 0;
		/* Without memory the OK is lost, the line is not. */
		(void)sink_write(out, "OK\n", 3);
		return false;
	}
	if (fate == RECOUT_LOST || sig_cut_due()) {
		ls->owed = 0; /* lost, or nobody waits for the OK any more */
		return false;
	}
	sink_hold(out);
	return true;
}

/*
 * "TIME PEER" + sep + body escaped + LF.  Returns what became of the
 * record (enum recout_fate), or -1 when no memory was left to build it.
 */
static int
lg_record(const struct service *svc, const char *peer, const char *sep, const char *body,
    size_t blen, bool escape)
{
	struct recout *o = svc->hdata;
	size_t plen = strlen(peer), slen = strlen(sep);
	struct timeval tv;
	char *r, *p;
	enum recout_fate fate;

	r = handler_scratch(LG_TIME_LEN + 2 + plen + slen + ESCAPE_MAX(blen) + 1);
	if (r == NULL) {
		log_warn("logger %s: record for %s lost", svc->name, peer);
		return -1;
	}
	gettimeofday(&tv, NULL);
	p = r + timefmt_rfc3339(r, &tv);
	*p++ = ' ';
	memcpy(p, peer, plen);
	p += plen;
	memcpy(p, sep, slen);
	p += slen;
	if (escape) {
		p += escape_line(p, body, blen);
	} else {
		memcpy(p, body, blen);
		p += blen;
	}
	*p++ = '\n';
	fate = recout_write(o, r, (size_t)(p - r),
	    svc->stats != NULL ? &svc->stats->records : NULL);
	handler_scratch_done();
	return (int)fate;
}

static int
lg_event(struct lg_state *ls, const char *what)
{
	return lg_record(ls->svc, ls->peer, " ", what, strlen(what), false);
}

/*
 * One line: its record, then "OK" when ack is on and the record was
 * written: an OK promises the line is in the log (a queued record's OK
 * waits, holding the sink, until the queue wrote it).  out is NULL when
 * called from close, where there is nobody to acknowledge to.
 */
static int
lg_line(void *ctx, const char *line, size_t len, struct sink *out)
{
	struct lg_state *ls = ctx;
	struct recout *o = ls->svc->hdata;
	int fate = lg_record(ls->svc, ls->peer, ": ", line, len, true);

	if (fate == -1)
		return -1;
	if (out == NULL)
		return 0;
	if (ls->svc->ack && fate == RECOUT_WRITTEN && sink_write(out, "OK\n", 3) < 0)
		return -1;
	if (ls->svc->ack && fate == RECOUT_QUEUED && !sig_cut_due()) {
		ls->owed = recout_last(o);
		sink_hold(out);
	}
	if (recout_backed_up(o))
		sink_hold(out);
	return 0;
}

static int
lg_open(void *st, struct service *svc, const struct peer *peer, struct sink *out)
{
	struct lg_state *ls = st;

	(void)out;
	frame_init(&ls->fr, handler_max_line);
	snprintf(ls->peer, sizeof(ls->peer), "%s", peer != NULL ? net_peer_text(peer) : "unknown");
	if (svc->hdata == NULL) {
		log_warnx("logger %s: output not set up", svc->name);
		return -1;
	}
	ls->svc = svc;
	lg_event(ls, "connected");
	return 0;
}

/* n may be 0: the core resumes a connection whose sink it released. */
static ssize_t
lg_data(void *st, const char *p, size_t n, struct sink *out)
{
	struct lg_state *ls = st;

	if (lg_owing(ls, out))
		return 0;
	if (recout_backed_up(ls->svc->hdata)) {
		sink_hold(out);
		return 0;
	}
	return frame_feed(&ls->fr, p, n, lg_line, ls, out);
}

/* Returns with the sink held (and is called again) while an OK is owed. */
static int
lg_eof(void *st, struct sink *out)
{
	struct lg_state *ls = st;

	if (lg_owing(ls, out))
		return 0;
	return frame_eof(&ls->fr, lg_line, ls, out);
}

/*
 * Also after resets and timeouts: a partial line is logged (without an
 * OK) before "disconnected", so nothing received is lost.
 */
static void
lg_close(void *st)
{
	struct lg_state *ls = st;

	if (ls->svc != NULL) {
		frame_eof(&ls->fr, lg_line, ls, NULL);
		lg_event(ls, "disconnected");
	}
	frame_free(&ls->fr);
}

struct lg_dgram {
	const struct service *svc;
	const char *peer;
	struct dgram_reply *out;
};

/*
 * One piece of a datagram: its record, and with ack an OK datagram once
 * the record is written.  A queued record gets none: there is no
 * connection to hold until it is written, and an OK promises the line is
 * in the log.  A client that wants certainty sends again, as over UDP it
 * must anyway.
 */
static int
lg_piece(void *ctx, const char *line, size_t len, struct sink *unused)
{
	struct lg_dgram *ld = ctx;
	int fate = lg_record(ld->svc, ld->peer, ": ", line, len, true);

	(void)unused;
	if (fate == -1)
		return -1;
	if (ld->svc->ack && fate == RECOUT_WRITTEN)
		return dgram_reply_add(ld->out, "OK\n", 3);
	return 0;
}

/*
 * One record per piece of the message, no connected/disconnected records:
 * a datagram has no connection.  The records are written whatever the
 * reflection guard decides about the OKs.
 */
static int
lg_datagram(struct service *svc, const struct peer *peer, const char *p, size_t n,
    struct dgram_reply *out)
{
	struct lg_dgram ld = { svc, peer != NULL ? net_peer_text(peer) : "unknown", out };

	if (svc->hdata == NULL) {
		log_warnx("logger %s: output not set up", svc->name);
		return -1;
	}
	return frame_message(p, n, handler_max_line, lg_piece, &ld, NULL);
}

/*
 * No output configured means standard output, like "-": the configuration
 * normally names one, and a daemon under systemd has stdout in the journal.
 */
static int
lg_setup(struct service *svc, char *err, size_t errlen)
{
	if (svc->hdata == NULL &&
	    (svc->hdata = recout_get(svc->output != NULL ? svc->output : "-", err, errlen)) == NULL)
		return -1;
	return 0;
}

static void
lg_reopen(struct service *svc)
{
	if (svc->hdata != NULL)
		recout_reopen(svc->hdata);
}

/*
 * An ack connection is held until its record is written, so for an ack
 * service there is room only once the queue is empty: releasing it
 * earlier would only see it held again.
 */
static int
lg_backlog(struct service *svc, bool *room)
{
	int fd;

	*room = true;
	if (svc->hdata == NULL)
		return -1;
	fd = recout_flush(svc->hdata, room);
	if (svc->ack && recout_queued(svc->hdata))
		*room = false;
	return fd;
}

/* At exit: what never reached the output is reported, not silently lost. */
static void
lg_fini(struct service *svc)
{
	if (svc->hdata != NULL)
		recout_put(svc->hdata);
	svc->hdata = NULL;
}

const struct handler handler_logger = {
	.name = "logger",
	.summary = "one escaped record per line to a file, '-' or syslog",
	.state_size = sizeof(struct lg_state),
	.open = lg_open,
	.data = lg_data,
	.eof = lg_eof,
	.close = lg_close,
	.datagram = lg_datagram,
	.setup = lg_setup,
	.reopen = lg_reopen,
	.backlog = lg_backlog,
	.fini = lg_fini,
};

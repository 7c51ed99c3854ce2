/* files_resp.c - the files handler's responses: heads, error bodies, access-log records. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "../conf.h"
#include "../escape.h"
#include "../handler.h"
#include "../log.h"
#include "../recout.h"
#include "../sink.h"
#include "../timefmt.h"
#include "files_int.h"

#ifndef DISPATCHD_VERSION
#define DISPATCHD_VERSION "unknown"
#endif

/* The Date header's value, formatted once a second per thread. */
static const char *
fl_date(void)
{
	static _Thread_local time_t when = -1;
	static _Thread_local char text[HTTP_DATE_LEN + 1];
	time_t now = time(NULL);

	if (now != when) {
		http_date(text, now);
		when = now;
	}
	return text;
}

/*
 * One access-log record: "TIME PEER METHOD TARGET HTTP/1.x STATUS BYTES",
 * or "TIME PEER - STATUS BYTES" when no request line could be read (req
 * NULL), or with what req says (an upload's, kept until it completes).
 * Method and target are escaped as the logger escapes a line (after the
 * parser they cannot hold a space or a control byte, but the log never
 * trusts that), and go through the logger's record writer: whole, never
 * torn, never a forged line.  BYTES is the length of the body the
 * response carries (a client that goes away early may get fewer).
 */
void
fl_log(struct fl_state *st, const struct http_req *rq, const char *req, int status, long long bytes)
{
	size_t plen = strlen(st->peer), len;
	struct timeval tv;
	char *r, *p;

	if (st->fs->alog == NULL)
		return;
	if (req == NULL)
		req = "-";
	len = rq != NULL ? rq->method_len + rq->target_len : strlen(req);
	r = handler_scratch(FL_TIME_LEN + plen + ESCAPE_MAX(len) + 64);
	if (r == NULL) {
		log_warn("files %s: access record for %s lost", st->svc->name, st->peer);
		return;
	}
	gettimeofday(&tv, NULL);
	p = r + timefmt_rfc3339(r, &tv);
	*p++ = ' ';
	memcpy(p, st->peer, plen);
	p += plen;
	*p++ = ' ';
	if (rq != NULL) {
		p += escape_line(p, rq->method_text, rq->method_len);
		*p++ = ' ';
		p += escape_line(p, rq->target, rq->target_len);
		p += sprintf(p, " HTTP/1.%d", rq->minor);
	} else {
		p += escape_line(p, req, len);
	}
	p += sprintf(p, " %d %lld\n", status, bytes);
	recout_write(st->fs->alog, r, (size_t)(p - r));
	handler_scratch_done();
}

/*
 * Writes a response head (and body, when body is not NULL) into out.
 * Every response has Date, Server and (but for 204 and 304) Content-Length;
 * "Connection: close" when the server closes after it, and a kept-alive
 * HTTP/1.0 response says "Connection: keep-alive".  0, or -1 (no memory).
 */
int
fl_respond(struct fl_state *st, struct sink *out, const struct fl_resp *rs, const char *body,
    size_t blen)
{
	size_t xlen = rs->extra != NULL ? strlen(rs->extra) : 0;
	char *h = handler_scratch(FL_HEAD_ROOM + xlen + blen), *p;
	int r;

	if (h == NULL)
		return -1;
	p = h +
	    sprintf(h, "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: dispatchd/%s\r\n", rs->status,
	        http_reason(rs->status), fl_date(), DISPATCHD_VERSION);
	if (rs->ctype != NULL)
		p += sprintf(p, "Content-Type: %s\r\n", rs->ctype);
	if (rs->clen >= 0)
		p += sprintf(p, "Content-Length: %lld\r\n", rs->clen);
	if (xlen > 0) {
		memcpy(p, rs->extra, xlen);
		p += xlen;
	}
	if (rs->close || !st->keep_alive)
		p += sprintf(p, "Connection: close\r\n");
	else if (st->minor == 0)
		p += sprintf(p, "Connection: keep-alive\r\n");
	*p++ = '\r';
	*p++ = '\n';
	if (body != NULL && blen > 0) {
		memcpy(p, body, blen);
		p += blen;
	}
	r = sink_write(out, h, (size_t)(p - h));
	handler_scratch_done();
	if (rs->close || !st->keep_alive) {
		st->keep_alive = false;
		st->phase = FL_DONE;
		sink_close_after(out);
	}
	return r;
}

/*
 * An error response with a short text body (none for HEAD).  close: the
 * connection cannot go on (a body of unknown length follows, or the
 * request was malformed).  Logged when the request line is known.
 */
int
fl_error(struct fl_state *st, struct sink *out, const struct http_req *rq, int status, bool close,
    const char *extra)
{
	char body[64];
	int n = snprintf(body, sizeof(body), "%d %s\n", status, http_reason(status));
	bool head = rq != NULL && rq->method == HTTP_HEAD;
	struct fl_resp rs = {
		.status = status,
		.ctype = "text/plain; charset=utf-8",
		.clen = n,
		.extra = extra,
		.close = close,
	};

	fl_log(st, rq, NULL, status, head ? 0 : n);
	return fl_respond(st, out, &rs, head ? NULL : body, head ? 0 : (size_t)n);
}

/* The status for a failed open or walk beneath root: what does not exist,
 * or would lead out of root, is not found; what may not be read, forbidden. */
int
fl_status_of(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
	case EXDEV:
	case ELOOP:
	case ENAMETOOLONG:
		return 404;
	case EACCES:
	case EPERM:
		return 403;
	default:
		return 500;
	}
}

void
fl_next(struct fl_state *st, struct sink *out)
{
	st->served++;
	if (st->phase != FL_DONE && st->phase != FL_SKIP)
		sink_timer(out, st->svc->request_timeout * 1000);
}

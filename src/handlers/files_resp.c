/* files_resp.c - the files handler's responses: heads, error bodies, access-log records. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "../conf.h"
#include "../escape.h"
#include "../handler.h"
#include "../log.h"
#include "../recout.h"
#include "../sink.h"
#include "../timefmt.h"
#include "files_int.h"

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
	recout_write(st->fs->alog, r, (size_t)(p - r), NULL);
	handler_scratch_done();
}

/*
 * Writes a response head and its body into out: body[0..blen) when body
 * is not NULL, or blen bytes read from fd at off when fd >= 0 (read
 * straight behind the head, no copy).  Every response has Date, Server
 * and (but for 204 and 304) Content-Length; "Connection: close" when the
 * server closes after it, and a kept-alive HTTP/1.0 response says
 * "Connection: keep-alive".  0, or -1 (no memory, or the file came short
 * of blen: its length is promised).
 */
static int
respond(struct fl_state *st, struct sink *out, const struct fl_resp *rs, const char *body, int fd,
    off_t off, size_t blen)
{
	size_t xlen = rs->extra != NULL ? strlen(rs->extra) : 0;
	char *h = handler_scratch(FL_HEAD_ROOM + xlen + blen), *p;
	bool closing = rs->close || !st->keep_alive;
	struct http_resp hr = { rs->status, rs->ctype, rs->clen, rs->extra, NULL };
	int r;

	if (h == NULL)
		return -1;
	if (closing)
		hr.conn = "close";
	else if (st->minor == 0)
		hr.conn = "keep-alive";
	p = h + http_resp_head(h, &hr);
	if (body != NULL && blen > 0) {
		memcpy(p, body, blen);
		p += blen;
	} else if (fd >= 0 && blen > 0) {
		ssize_t got;

		do
			got = pread(fd, p, blen, off);
		while (got < 0 && errno == EINTR);
		if (got < 0 || (size_t)got != blen) {
			handler_scratch_done();
			return -1;
		}
		p += blen;
	}
	r = sink_write(out, h, (size_t)(p - h));
	handler_scratch_done();
	if (closing) {
		st->keep_alive = false;
		st->phase = FL_DONE;
		sink_close_after(out);
	}
	return r;
}

int
fl_respond(struct fl_state *st, struct sink *out, const struct fl_resp *rs, const char *body,
    size_t blen)
{
	return respond(st, out, rs, body, -1, 0, blen);
}

int
fl_respond_file(struct fl_state *st, struct sink *out, const struct fl_resp *rs, int fd, off_t off,
    size_t blen)
{
	return respond(st, out, rs, NULL, fd, off, blen);
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

/* files.c - the files handler: a file server over HTTP/1.1 (GET, HEAD, PUT), bodies by sendfile. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "../buf.h"
#include "../conf.h"
#include "../escape.h"
#include "../files_fs.h"
#include "../handler.h"
#include "../http.h"
#include "../log.h"
#include "../net.h"
#include "../recout.h"
#include "../sink.h"
#include "../timefmt.h"

#ifndef DISPATCHD_VERSION
#define DISPATCHD_VERSION "unknown"
#endif

/*
 * A body this small goes into the same send as its head (one pread into
 * the reply), so a small file costs one send and never waits on Nagle's
 * algorithm for the head's acknowledgement; a larger one is sent with
 * sendfile(2) from the page cache, never copied into memory.
 */
#define FL_INLINE_MAX (16 * 1024)
/* Room for a response head apart from a Location (the longest header). */
#define FL_HEAD_ROOM  1024
#define FL_MIME_TYPES "/etc/mime.types"
#define FL_TIME_LEN   27 /* RFC 3339 with microseconds, as the logger's */

/* The per-service data (svc->hdata). */
struct fl_svc {
	int rootfd;
	struct mime_table *mime; /* NULL: application/octet-stream for all */
	struct recout *alog;     /* access_log, or NULL */
};

/* Where a connection is between requests. */
enum fl_phase {
	FL_HEAD, /* reading a request head */
	FL_PUT,  /* an upload's body goes to the temporary file */
	FL_SKIP, /* a body nobody wants (GET with a body) is read and dropped */
	FL_DONE, /* the last response is out: input is dropped until the close */
};

struct fl_state {
	struct service *svc;
	struct fl_svc *fs;
	enum fl_phase phase;
	char *head;               /* a head that spans reads (HTTP_HEAD_MAX + 1) */
	size_t hlen;              /* bytes in head */
	size_t hscan;             /* how far http_head_end looked */
	unsigned long served;     /* requests answered */
	long long left;           /* FL_PUT, FL_SKIP: body bytes still to come */
	int fd;                   /* a file being sent (until more()), or the upload */
	int dirfd;                /* FL_PUT: the target's directory */
	bool keep_alive;          /* the request allows another after it */
	bool created;             /* FL_PUT: the target did not exist */
	int minor;                /* the request's HTTP/1.minor */
	char *put_log;            /* FL_PUT: "METHOD TARGET VERSION" for the access log */
	char name[NAME_MAX + 1];  /* FL_PUT: the target's name in dirfd */
	char tmp[FS_TMPNAME_MAX]; /* FL_PUT: the temporary file's */
	char peer[NET_ADDRSTRLEN];
};

/* One response's head, as respond() writes it. */
struct fl_resp {
	int status;
	const char *ctype; /* Content-Type, or NULL */
	long long clen;    /* Content-Length, or -1 for none (204, 304) */
	const char *extra; /* more header lines, each ending CRLF, or NULL */
	bool close;        /* the connection ends after it */
};

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
static void
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
static int
respond(struct fl_state *st, struct sink *out, const struct fl_resp *rs, const char *body,
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
static int
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
	return respond(st, out, &rs, head ? NULL : body, head ? 0 : (size_t)n);
}

/* The status for a failed open or walk beneath root: what does not exist,
 * or would lead out of root, is not found; what may not be read, forbidden. */
static int
errno_status(int e)
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

/* Done with the file a response was sent from. */
static void
fl_release(struct fl_state *st)
{
	if (st->fd >= 0 && st->phase != FL_PUT) {
		close(st->fd);
		st->fd = -1;
	}
}

/* After a response: the next request's head has request_timeout. */
static void
fl_next(struct fl_state *st, struct sink *out)
{
	st->served++;
	if (st->phase != FL_DONE && st->phase != FL_SKIP)
		sink_timer(out, st->svc->request_timeout * 1000);
}

/*
 * The file range went out (the handler is called again only once it
 * did): the file is closed and the next head timed.  From more(), or from
 * data() when pipelined input was waiting and comes first.
 */
static void
fl_range_done(struct fl_state *st, struct sink *out)
{
	fl_release(st);
	if (out->more) {
		sink_want_more(out, false);
		fl_next(st, out);
	}
}

/*
 * GET or HEAD of a regular file: validators, conditionals, one range.
 * Takes fd (closed here, or kept in st->fd while sendfile needs it).
 */
static int
serve_file(struct fl_state *st, struct sink *out, const struct http_req *rq, int fd,
    const struct stat *sb, const char *name)
{
	char etag[64], lm[HTTP_DATE_LEN + 1], extra[256];
	long long size = (long long)sb->st_size, first = 0, last = size - 1;
	bool head = rq->method == HTTP_HEAD, partial = false, fresh = false;
	struct fl_resp rs = { .status = 200, .ctype = mime_type(st->fs->mime, name) };
	time_t t;
	size_t n;

	snprintf(etag, sizeof(etag), "\"%llx-%llx\"", (unsigned long long)sb->st_mtime,
	    (unsigned long long)size);
	http_date(lm, sb->st_mtime);
	/* If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2). */
	if (rq->if_none_match != NULL)
		fresh = http_etag_match(rq->if_none_match, rq->inm_len, etag);
	else if (rq->if_modified_since != NULL &&
	    http_parse_date(rq->if_modified_since, rq->ims_len, &t) == 0)
		fresh = sb->st_mtime <= t;
	if (fresh) {
		close(fd);
		snprintf(extra, sizeof(extra), "Last-Modified: %s\r\nETag: %s\r\n", lm, etag);
		rs.status = 304;
		rs.ctype = NULL;
		rs.clen = -1;
		rs.extra = extra;
		fl_log(st, rq, NULL, 304, 0);
		return respond(st, out, &rs, NULL, 0);
	}
	/* If-Range: the range only while the validator still matches. */
	if (rq->range != NULL &&
	    (rq->if_range == NULL ||
	        (rq->if_range_len == strlen(etag) &&
	            memcmp(rq->if_range, etag, strlen(etag)) == 0) ||
	        (http_parse_date(rq->if_range, rq->if_range_len, &t) == 0 && t == sb->st_mtime))) {
		int r = http_parse_range(rq->range, rq->range_len, size, &first, &last);
		if (r < 0) {
			close(fd);
			snprintf(extra, sizeof(extra), "Content-Range: bytes */%lld\r\n", size);
			return fl_error(st, out, rq, 416, false, extra);
		}
		partial = r == 1;
		if (!partial) {
			first = 0;
			last = size - 1;
		}
	}
	n = (size_t)snprintf(extra, sizeof(extra),
	    "Last-Modified: %s\r\nETag: %s\r\nAccept-Ranges: bytes\r\n", lm, etag);
	if (partial) {
		rs.status = 206;
		snprintf(extra + n, sizeof(extra) - n, "Content-Range: bytes %lld-%lld/%lld\r\n",
		    first, last, size);
	}
	rs.clen = last - first + 1;
	rs.extra = extra;
	fl_log(st, rq, NULL, rs.status, head ? 0 : rs.clen);
	if (head || rs.clen == 0) {
		close(fd);
		return respond(st, out, &rs, NULL, 0);
	}
	if (rs.clen <= FL_INLINE_MAX) {
		static _Thread_local char body[FL_INLINE_MAX];
		ssize_t got;

		do
			got = pread(fd, body, (size_t)rs.clen, (off_t)first);
		while (got < 0 && errno == EINTR);
		close(fd);
		if (got != rs.clen) /* it shrank since fstat: the length is promised */
			return -1;
		return respond(st, out, &rs, body, (size_t)got);
	}
	if (respond(st, out, &rs, NULL, 0) < 0) {
		close(fd);
		return -1;
	}
	sink_file(out, fd, (off_t)first, (size_t)rs.clen);
	st->fd = fd;
	sink_want_more(out, true); /* told when it is sent: fl_more */
	return 0;
}

/* A directory's URL without its slash: 301 to the slash form. */
static int
redirect_slash(struct fl_state *st, struct sink *out, const struct http_req *rq, const char *path,
    size_t plen)
{
	char *extra = malloc(FS_URL_MAX(plen) + 32);
	size_t n;
	int r;

	if (extra == NULL)
		return -1;
	n = (size_t)sprintf(extra, "Location: ");
	for (size_t i = 0; i < plen; i++) /* segment by segment: '/' stays */
		if (path[i] == '/')
			extra[n++] = '/';
		else
			n += fs_url_encode(extra + n, path + i, 1);
	sprintf(extra + n, "/\r\n");
	r = fl_error(st, out, rq, 301, false, extra);
	free(extra);
	return r;
}

/* A directory with its slash: index.html, else the listing, else 403. */
static int
serve_dir(struct fl_state *st, struct sink *out, const struct http_req *rq, int dfd,
    const char *path)
{
	int fd = fs_open_beneath(dfd, "index.html", O_RDONLY | O_NONBLOCK, 0);
	struct buf b = BUF_INIT;
	struct stat sb;
	int r;

	if (fd >= 0) {
		if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
			close(dfd);
			return serve_file(st, out, rq, fd, &sb, "index.html");
		}
		close(fd);
	}
	if (!st->svc->listing) {
		close(dfd);
		return fl_error(st, out, rq, 403, false, NULL);
	}
	r = fs_listing(dfd, path, &b);
	close(dfd);
	if (r < 0) {
		buf_free(&b);
		return fl_error(st, out, rq, errno_status(errno), false, NULL);
	}
	struct fl_resp rs = {
		.status = 200,
		.ctype = "text/html; charset=utf-8",
		.clen = (long long)b.len,
	};
	bool head = rq->method == HTTP_HEAD;
	fl_log(st, rq, NULL, 200, head ? 0 : rs.clen);
	r = respond(st, out, &rs, head ? NULL : buf_peek(&b), head ? 0 : b.len);
	buf_free(&b);
	return r;
}

static int
serve_get(struct fl_state *st, struct sink *out, const struct http_req *rq, const char *path,
    size_t plen)
{
	struct stat sb;
	int fd;

	if (fs_path_check(path, plen) < 0)
		return fl_error(st, out, rq, 404, false, NULL);
	/* O_NONBLOCK: a FIFO beneath root must not stall the open. */
	if ((fd = fs_open_beneath(st->fs->rootfd, path, O_RDONLY | O_NONBLOCK, 0)) < 0)
		return fl_error(st, out, rq, errno_status(errno), false, NULL);
	if (fstat(fd, &sb) < 0) {
		close(fd);
		return fl_error(st, out, rq, 500, false, NULL);
	}
	if (S_ISDIR(sb.st_mode)) {
		if (path[plen - 1] != '/') {
			close(fd);
			return redirect_slash(st, out, rq, path, plen);
		}
		return serve_dir(st, out, rq, fd, path);
	}
	if (!S_ISREG(sb.st_mode)) {
		close(fd);
		return fl_error(st, out, rq, 403, false, NULL);
	}
	const char *slash = strrchr(path, '/');
	return serve_file(st, out, rq, fd, &sb, slash != NULL ? slash + 1 : path);
}

/*
 * The upload is complete: renamed into place, 201 when it created the
 * file, 204 when it replaced one.  Written data is not fsync'ed: like a
 * cp(1), it is on disk when the kernel writes it back.
 */
static int
put_done(struct fl_state *st, struct sink *out)
{
	struct fl_resp rs = { .status = st->created ? 201 : 204, .clen = st->created ? 0 : -1 };
	int r;

	if (close(st->fd) < 0 || renameat(st->dirfd, st->tmp, st->dirfd, st->name) < 0) {
		log_warn("files %s: upload of %s", st->svc->name, st->name);
		unlinkat(st->dirfd, st->tmp, 0);
		rs.status = 500;
		rs.clen = 0;
	}
	st->fd = -1;
	close(st->dirfd);
	st->dirfd = -1;
	st->phase = FL_HEAD;
	fl_log(st, NULL, st->put_log, rs.status, 0);
	free(st->put_log);
	st->put_log = NULL;
	r = respond(st, out, &rs, NULL, 0);
	fl_next(st, out);
	return r;
}

/* PUT: checked, then its body streams into a temporary file beside the target. */
static int
start_put(struct fl_state *st, struct sink *out, const struct http_req *rq, const char *path,
    size_t plen)
{
	bool body = rq->content_length > 0 || rq->chunked;
	struct stat sb;
	char *line;

	if (!st->svc->upload)
		return fl_error(st, out, rq, 405, body, "Allow: GET, HEAD\r\n");
	if (rq->chunked || rq->content_length < 0)
		return fl_error(st, out, rq, 411, true, NULL);
	if (rq->content_length > st->svc->max_upload)
		return fl_error(st, out, rq, 413, true, NULL);
	if (fs_path_check(path, plen) < 0)
		return fl_error(st, out, rq, 404, body, NULL);
	if (path[plen - 1] == '/')
		return fl_error(st, out, rq, 409, body, NULL);
	st->dirfd = fs_open_parent(st->fs->rootfd, path, st->name, sizeof(st->name));
	if (st->dirfd < 0)
		return fl_error(st, out, rq, errno_status(errno), body, NULL);
	st->created = fstatat(st->dirfd, st->name, &sb, AT_SYMLINK_NOFOLLOW) < 0;
	if (!st->created && S_ISDIR(sb.st_mode)) {
		close(st->dirfd);
		st->dirfd = -1;
		return fl_error(st, out, rq, 409, body, NULL);
	}
	st->fd = fs_tmpfile(st->dirfd, st->name, st->tmp, sizeof(st->tmp));
	line = malloc(rq->method_len + rq->target_len + 16);
	if (line != NULL)
		sprintf(line, "%.*s %.*s HTTP/1.%d", (int)rq->method_len, rq->method_text,
		    (int)rq->target_len, rq->target, rq->minor);
	st->put_log = line;
	if (st->fd < 0 || line == NULL) {
		int status = st->fd < 0 ? errno_status(errno) : 500;
		if (st->fd >= 0) {
			close(st->fd);
			unlinkat(st->dirfd, st->tmp, 0);
			st->fd = -1;
		}
		close(st->dirfd);
		st->dirfd = -1;
		return fl_error(st, out, rq, status == 404 ? 500 : status, body, NULL);
	}
	st->phase = FL_PUT;
	st->left = rq->content_length;
	sink_timer(out, st->svc->request_timeout * 1000); /* the body's first bytes */
	if (rq->expect_continue && st->left > 0 &&
	    sink_write(out, "HTTP/1.1 100 Continue\r\n\r\n", 25) < 0)
		return -1;
	return st->left == 0 ? put_done(st, out) : 0;
}

/* A complete head at p: the request is answered (or its upload begun). */
static int
request(struct fl_state *st, struct sink *out, const struct http_req *rq)
{
	char path[HTTP_HEAD_MAX + 1];
	size_t plen = 0;
	int r;

	sink_timer(out, 0); /* the head is in: its deadline is met */
	st->keep_alive = rq->keep_alive;
	st->minor = rq->minor;
	r = http_decode_path(rq->target, rq->target_len, path, sizeof(path), &plen);
	if (r < 0)
		r = fl_error(st, out, rq, -r, rq->content_length > 0, NULL);
	else if (rq->method == HTTP_PUT)
		return start_put(st, out, rq, path, plen);
	else if (rq->method == HTTP_OTHER)
		r = fl_error(st, out, rq, 405, rq->content_length > 0,
		    st->svc->upload ? "Allow: GET, HEAD, PUT\r\n" : "Allow: GET, HEAD\r\n");
	else
		r = serve_get(st, out, rq, path, plen);
	if (r == 0 && st->phase == FL_HEAD && rq->content_length > 0) {
		st->phase = FL_SKIP; /* a GET with a body: read past it */
		st->left = rq->content_length;
		sink_timer(out, st->svc->request_timeout * 1000);
	}
	if (r == 0 && !(out->more && out->file_len > 0))
		fl_next(st, out);
	return r;
}

/*
 * Request-head bytes.  A head that came whole in one read is parsed where
 * it lies; one that spans reads is gathered (at most HTTP_HEAD_MAX + 1
 * bytes, so a long one is seen as too long) and looked at again only once
 * an empty line arrived.  Returns the bytes used, or -1.
 */
static ssize_t
take_head(struct fl_state *st, const char *p, size_t n, struct sink *out)
{
	struct http_req rq;
	size_t take, old = st->hlen;
	int r;

	if (old == 0) {
		r = http_parse_head(p, n, &rq);
		if (r > 0)
			return request(st, out, &rq) < 0 ? -1 : r;
		if (r < 0)
			goto bad;
		if ((st->head = malloc(HTTP_HEAD_MAX + 1)) == NULL)
			return -1;
	}
	take = HTTP_HEAD_MAX + 1 - old < n ? HTTP_HEAD_MAX + 1 - old : n;
	memcpy(st->head + old, p, take);
	st->hlen += take;
	if (http_head_end(st->head, st->hlen, st->hscan) == 0 && st->hlen <= HTTP_HEAD_MAX) {
		st->hscan = st->hlen;
		return (ssize_t)take;
	}
	r = http_parse_head(st->head, st->hlen, &rq);
	if (r > 0) {
		int rr = request(st, out, &rq);
		free(st->head);
		st->head = NULL;
		st->hlen = st->hscan = 0;
		return rr < 0 ? -1 : (ssize_t)((size_t)r - old);
	}
	if (r == 0) {
		st->hscan = st->hlen;
		return (ssize_t)take;
	}
bad:
	/* Malformed, or a body of unknown length follows: the connection
	 * cannot go on.  A PUT without Content-Length is 411 (the parser
	 * filled rq for a Transfer-Encoding; it may point into st->head). */
	st->keep_alive = false;
	st->minor = 1;
	if (r == -501 && rq.method == HTTP_PUT)
		r = fl_error(st, out, &rq, 411, true, NULL);
	else
		r = fl_error(st, out, NULL, -r, true, NULL);
	free(st->head);
	st->head = NULL;
	st->hlen = st->hscan = 0;
	return r < 0 ? -1 : (ssize_t)n;
}

static int
fl_open(void *st_, struct service *svc, const struct peer *peer, struct sink *out)
{
	struct fl_state *st = st_;

	if (svc->hdata == NULL) {
		log_warnx("files %s: not set up", svc->name);
		return -1;
	}
	st->svc = svc;
	st->fs = svc->hdata;
	st->fd = st->dirfd = -1;
	st->keep_alive = true;
	snprintf(st->peer, sizeof(st->peer), "%s", peer != NULL ? peer->text : "unknown");
	sink_timer(out, svc->request_timeout * 1000);
	return 0;
}

static ssize_t
fl_data(void *st_, const char *p, size_t n, struct sink *out)
{
	struct fl_state *st = st_;
	size_t used = 0;

	fl_range_done(st, out);
	while (used < n && !sink_full(out)) {
		size_t take = n - used;
		ssize_t r;

		switch (st->phase) {
		case FL_HEAD:
			if ((r = take_head(st, p + used, take, out)) < 0)
				return -1;
			used += (size_t)r;
			break;
		case FL_PUT:
		case FL_SKIP:
			if ((long long)take > st->left)
				take = (size_t)st->left;
			if (st->phase == FL_PUT) {
				for (size_t off = 0; off < take;) {
					ssize_t w = write(st->fd, p + used + off, take - off);
					if (w < 0 && errno == EINTR)
						continue;
					if (w < 0) {
						log_warn("files %s: upload of %s", st->svc->name,
						    st->name);
						return -1; /* close() removes the temporary file */
					}
					off += (size_t)w;
				}
			}
			used += take;
			st->left -= (long long)take;
			if (st->left == 0 && st->phase == FL_PUT) {
				if (put_done(st, out) < 0)
					return -1;
			} else if (st->left == 0) {
				st->phase = FL_HEAD;
				fl_next(st, out);
			}
			break;
		case FL_DONE:
			return (ssize_t)n; /* after the last response: dropped */
		}
	}
	/* A body must keep coming: at most request_timeout between its
	 * reads, so a stalled upload does not hold a worker for long. */
	if (used > 0 && (st->phase == FL_PUT || st->phase == FL_SKIP))
		sink_timer(out, st->svc->request_timeout * 1000);
	return (ssize_t)used;
}

static int
fl_more(void *st_, struct sink *out)
{
	fl_range_done(st_, out);
	return 0;
}

static int
fl_eof(void *st_, struct sink *out)
{
	(void)st_;
	(void)out;
	return 0; /* an upload cut short is removed by close */
}

/* request_timeout passed: a head begun (or none on a fresh connection)
 * or a body that stopped coming is answered 408 (an upload's temporary
 * file goes at the close); a kept-alive connection that sent nothing of
 * a next request just ends. */
static int
fl_timeout(void *st_, struct sink *out)
{
	struct fl_state *st = st_;

	if (st->phase == FL_DONE || (st->phase == FL_HEAD && st->hlen == 0 && st->served > 0))
		return -1;
	st->minor = 1;
	return fl_error(st, out, NULL, 408, true, NULL);
}

static void
fl_close(void *st_)
{
	struct fl_state *st = st_;

	if (st->fd >= 0)
		close(st->fd);
	/* An upload not renamed into place (cut short, timed out, refused
	 * mid-body) leaves nothing: put_done lets go of dirfd once it is. */
	if (st->dirfd >= 0) {
		unlinkat(st->dirfd, st->tmp, 0);
		close(st->dirfd);
	}
	free(st->head);
	free(st->put_log);
}

static int
fl_setup(struct service *svc, char *err, size_t errlen)
{
	struct fl_svc *fs;

	if (svc->hdata != NULL)
		return 0;
	if ((fs = calloc(1, sizeof(*fs))) == NULL) {
		snprintf(err, errlen, "service '%s': out of memory", svc->name);
		return -1;
	}
	fs->rootfd = open(svc->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fs->rootfd < 0) {
		snprintf(err, errlen, "service '%s': root '%s': %s", svc->name, svc->root,
		    strerror(errno));
		free(fs);
		return -1;
	}
	/* The first open beneath root asks whether openat2 works: asked here,
	 * before fork children and threads exist, once for all of them. */
	int probe = fs_open_beneath(fs->rootfd, "/", O_RDONLY | O_DIRECTORY, 0);
	if (probe >= 0)
		close(probe);
	if ((fs->mime = mime_load(FL_MIME_TYPES)) == NULL && errno != ENOENT)
		log_warn("files %s: %s (every file is application/octet-stream)", svc->name,
		    FL_MIME_TYPES);
	if (svc->access_log != NULL &&
	    (fs->alog = recout_get(svc->access_log, err, errlen)) == NULL) {
		mime_free(fs->mime);
		close(fs->rootfd);
		free(fs);
		return -1;
	}
	svc->hdata = fs;
	return 0;
}

static void
fl_reopen(struct service *svc)
{
	struct fl_svc *fs = svc->hdata;

	if (fs != NULL && fs->alog != NULL)
		recout_reopen(fs->alog);
}

/* The access log never slows the server down: a backed-up pipe loses
 * records (counted and reported), and no connection is held for it. */
static int
fl_backlog(struct service *svc, bool *room)
{
	struct fl_svc *fs = svc->hdata;

	*room = true;
	if (fs == NULL || fs->alog == NULL)
		return -1;
	return recout_flush(fs->alog, room);
}

static void
fl_fini(struct service *svc)
{
	struct fl_svc *fs = svc->hdata;

	if (fs == NULL)
		return;
	if (fs->alog != NULL)
		recout_put(fs->alog);
	mime_free(fs->mime);
	close(fs->rootfd);
	free(fs);
	svc->hdata = NULL;
}

const struct handler handler_files = {
	.name = "files",
	.summary = "a file server over HTTP/1.1: GET, HEAD, PUT (upload = true) beneath root",
	.state_size = sizeof(struct fl_state),
	.open = fl_open,
	.data = fl_data,
	.eof = fl_eof,
	.close = fl_close,
	.more = fl_more,
	.timeout = fl_timeout,
	.setup = fl_setup,
	.reopen = fl_reopen,
	.backlog = fl_backlog,
	.fini = fl_fini,
};

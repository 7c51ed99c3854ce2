/* files.c - the files handler: a file server over HTTP/1.1, its request loop, uploads and hooks. */
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

#include "files_int.h"

/* Done with the file a response was sent from. */
static void
fl_release(struct fl_state *st)
{
	if (st->fd >= 0 && st->phase != FL_PUT) {
		close(st->fd);
		st->fd = -1;
	}
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
	r = fl_respond(st, out, &rs, NULL, 0);
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
		return fl_error(st, out, rq, fl_status_of(errno), body, NULL);
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
		int status = st->fd < 0 ? fl_status_of(errno) : 500;
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
		r = fl_get(st, out, rq, path, plen);
	if (r == 0 && st->phase == FL_HEAD && rq->content_length > 0) {
		st->phase = FL_SKIP; /* a GET with a body: read past it */
		st->left = rq->content_length;
		sink_timer(out, st->svc->request_timeout * 1000);
	}
	if (r == 0 && !(out->more && out->file_len > 0))
		fl_next(st, out);
	return r;
}

/* Request-head bytes (see struct http_gather).  Returns the bytes used, or -1. */
static ssize_t
take_head(struct fl_state *st, const char *p, size_t n, struct sink *out)
{
	struct http_req rq;
	size_t used;
	int r = http_gather(&st->hg, p, n, &rq, &used);

	if (r == 0 || r == -1)
		return r == 0 ? (ssize_t)used : -1;
	if (r > 0) {
		r = request(st, out, &rq);
		http_gather_reset(&st->hg);
		return r < 0 ? -1 : (ssize_t)used;
	}
	/* Malformed, or a body of unknown length follows: the connection
	 * cannot go on.  A PUT without Content-Length is 411 (the parser
	 * filled rq for a Transfer-Encoding; it may point into st->hg). */
	st->keep_alive = false;
	st->minor = 1;
	if (r == -501 && rq.method == HTTP_PUT)
		r = fl_error(st, out, &rq, 411, true, NULL);
	else
		r = fl_error(st, out, NULL, -r, true, NULL);
	http_gather_reset(&st->hg);
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
	const char *who = peer != NULL ? peer->text : "unknown";
	size_t wl = strnlen(who, sizeof(st->peer) - 1);
	memcpy(st->peer, who, wl);
	st->peer[wl] = '\0';
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

	if (st->phase == FL_DONE || (st->phase == FL_HEAD && st->hg.hlen == 0 && st->served > 0))
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
	http_gather_reset(&st->hg);
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
	.defer_accept = 1, /* a client always speaks first (nginx's "deferred") */
};

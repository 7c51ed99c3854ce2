/* files_get.c - the files handler's GET and HEAD: files, ranges, conditionals, directories. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../buf.h"
#include "../conf.h"
#include "../sink.h"
#include "files_int.h"

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

	/* "MTIME-SIZE" in hexadecimal (printf-free: http_put_hex). */
	char *e = etag;
	*e++ = '"';
	e = http_put_hex(e, (unsigned long long)sb->st_mtime);
	*e++ = '-';
	e = http_put_hex(e, (unsigned long long)size);
	*e++ = '"';
	*e = '\0';
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
		return fl_respond(st, out, &rs, NULL, 0);
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
	/* extra holds 256: these are 112 bytes at most. */
	char *x = stpcpy(extra, "Last-Modified: ");
	x = stpcpy(x, lm);
	x = stpcpy(x, "\r\nETag: ");
	x = stpcpy(x, etag);
	x = stpcpy(x, "\r\nAccept-Ranges: bytes\r\n");
	n = (size_t)(x - extra);
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
		return fl_respond(st, out, &rs, NULL, 0);
	}
	if (rs.clen <= FL_INLINE_MAX) {
		/* Read behind the head: one send, no copy.  A file that shrank
		 * since fstat ends the connection (the length is promised). */
		int r = fl_respond_file(st, out, &rs, fd, (off_t)first, (size_t)rs.clen);
		close(fd);
		return r;
	}
	if (fl_respond(st, out, &rs, NULL, 0) < 0) {
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
		return fl_error(st, out, rq, fl_status_of(errno), false, NULL);
	}
	struct fl_resp rs = {
		.status = 200,
		.ctype = "text/html; charset=utf-8",
		.clen = (long long)b.len,
	};
	bool head = rq->method == HTTP_HEAD;
	fl_log(st, rq, NULL, 200, head ? 0 : rs.clen);
	r = fl_respond(st, out, &rs, head ? NULL : buf_peek(&b), head ? 0 : b.len);
	buf_free(&b);
	return r;
}

int
fl_get(struct fl_state *st, struct sink *out, const struct http_req *rq, const char *path,
    size_t plen)
{
	struct stat sb;
	int fd;

	if (fs_path_check(path, plen) < 0)
		return fl_error(st, out, rq, 404, false, NULL);
	/* O_NONBLOCK: a FIFO beneath root must not stall the open. */
	if ((fd = fs_open_beneath(st->fs->rootfd, path, O_RDONLY | O_NONBLOCK, 0)) < 0)
		return fl_error(st, out, rq, fl_status_of(errno), false, NULL);
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

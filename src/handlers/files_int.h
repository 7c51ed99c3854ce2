/* files_int.h - the files handler's state and the pieces its files share. */
#ifndef DISPATCHD_FILES_INT_H
#define DISPATCHD_FILES_INT_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "../files_fs.h"
#include "../http.h"
#include "../net.h"

struct service;
struct sink;

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
	struct http_gather hg;    /* FL_HEAD: the request head so far */
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

/* files_resp.c: responses and access-log records. */
/* One access-log record; req (NULL: "-") when rq is NULL. */
void fl_log(struct fl_state *st, const struct http_req *rq, const char *req, int status,
    long long bytes);
/* A response head, and body when not NULL, into out; 0 or -1. */
int fl_respond(struct fl_state *st, struct sink *out, const struct fl_resp *rs, const char *body,
    size_t blen);
/* The same with the body read from fd at off (blen bytes, straight into
 * the response); -1 also when the file came short. */
int fl_respond_file(struct fl_state *st, struct sink *out, const struct fl_resp *rs, int fd,
    off_t off, size_t blen);
/* An error response with a short text body (none for HEAD), logged. */
int fl_error(struct fl_state *st, struct sink *out, const struct http_req *rq, int status,
    bool close, const char *extra);
/* The status for a failed open or walk beneath root. */
int fl_status_of(int e);
/* After a response: the next request's head has request_timeout. */
void fl_next(struct fl_state *st, struct sink *out);

/* files_get.c: GET and HEAD of path (decoded, plen bytes). */
int fl_get(struct fl_state *st, struct sink *out, const struct http_req *rq, const char *path,
    size_t plen);

#endif

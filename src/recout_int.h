/* recout_int.h - what recout.c and recout_fd.c share: the output's state. */
#ifndef DISPATCHD_RECOUT_INT_H
#define DISPATCHD_RECOUT_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

#include "buf.h"
#include "log.h"
#include "recout.h"

#define RO_WARN_EVERY 10 /* seconds between warnings about one output */
/* handler_nowait: bytes an output may hold queued before the connections
 * feeding it are held; a record that starts below it is queued whole. */
#define RO_QUEUE_MAX (1024 * 1024)
/*
 * After the cut, what the cut handed over is still written to an output
 * that keeps taking it: up to RO_STALL_MS without progress, and no later
 * than RO_CUT_GRACE_MS after the cut.  Then the output has given up.
 */
#define RO_STALL_MS     500
#define RO_CUT_GRACE_MS 2000

enum ro_kind {
	RO_FILE,   /* regular file: one O_APPEND write(2) is atomic */
	RO_STREAM, /* pipe, socket, terminal: writers take turns */
	RO_SYSLOG,
};

/*
 * Shared with fork children (MAP_SHARED, set up before any fork): a write
 * larger than PIPE_BUF to a full pipe or a stream socket goes out in
 * pieces, so one writer at a time finishes its record.  Robust: a child
 * killed while writing does not wedge the others.
 */
struct ro_shared {
	pthread_mutex_t lock;
	bool writing; /* a record is being written */
	bool torn;    /* one was abandoned half-way: end its line first */
};

/* A run of queued records that count into one counter. */
struct ro_tally {
	atomic_ullong *count;
	unsigned long long n;
};

/*
 * One output, shared by the services that name the same destination.  fd
 * never changes once set up: reopen replaces the file behind the same
 * number with dup3, so writers in other threads never see it closed.  A
 * stream output is written through a non-blocking descriptor of our own
 * (standard output is reopened through /proc, so the shell's or the
 * supervisor's descriptor is never made non-blocking).
 */
struct recout {
	char *path; /* as configured, for messages and reopen */
	int fd;     /* -1 for syslog */
	enum ro_kind kind;
	bool own_fd;    /* opened from path: reopened on SIGHUP */
	bool close_fd;  /* ours to close at exit */
	bool is_socket; /* send(2) with MSG_DONTWAIT */
	int refs;
	struct ro_shared *sh; /* RO_STREAM */
	/* Set when a record was lost after the cut: every later one is lost
	 * too, so each connection's records stay a prefix without a gap. */
	atomic_bool gave_up;
	pid_t sh_owner;       /* the process that set sh up */
	pthread_mutex_t lock; /* rl and lost: threads share the output */
	struct log_rate rl;
	unsigned long long lost; /* records not written */
	/* handler_nowait only (one thread): */
	struct buf q;                        /* bytes the output has not taken yet */
	unsigned long long seq;              /* records that went through the queue */
	unsigned long long done;             /* ... of which all up to here are written */
	unsigned long long drop_lo, drop_hi; /* the last range given up */
	/* The counters of the queued records (recout_write's count), in
	 * runs of one counter: the whole queue is written or given up at
	 * once, so they are settled together (ro_tally_settle). */
	struct ro_tally *tally;
	size_t ntally, tally_cap;
	struct recout *next;
};

/* A file path opened for appending records. -1 with errno. */
int ro_open_path(const char *path);
/* Makes o->fd a stream output when it is not a regular file (see the
 * struct); 0, or -1 with err filled. */
int ro_stream_setup(struct recout *o, char *err, size_t errlen);
/* Closes what o owns and frees it. */
void ro_out_free(struct recout *o);

#endif

/* logger.c - the logger handler: one escaped record per line to a file, stdout or syslog. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "../conf.h"
#include "../buf.h"
#include "../escape.h"
#include "../frame.h"
#include "../handler.h"
#include "../log.h"
#include "../net.h"
#include "../sig.h"
#include "../sink.h"
#include "../timefmt.h"

#define LG_TIME_LEN	27	/* RFC 3339 with microseconds */
#define LG_WARN_EVERY	10	/* seconds between warnings about one output */
/* handler_nowait: bytes an output may hold queued before the connections
 * feeding it are held; a record that starts below it is queued whole. */
#define LG_QUEUE_MAX	(1024 * 1024)
/*
 * After the cut, what the cut handed over is still written to an output
 * that keeps taking it: up to LG_STALL_MS without progress, and no later
 * than LG_CUT_GRACE_MS after the cut.  Then the output has given up.
 */
#define LG_STALL_MS	500
#define LG_CUT_GRACE_MS	2000

enum lg_kind {
	LG_FILE,	/* regular file: one O_APPEND write(2) is atomic */
	LG_STREAM,	/* pipe, socket, terminal: writers take turns */
	LG_SYSLOG,
};

/* What a record became. */
enum lg_fate { LG_LOST, LG_WRITTEN, LG_QUEUED };

/*
 * Shared with fork children (MAP_SHARED, set up before any fork): a write
 * larger than PIPE_BUF to a full pipe or a stream socket goes out in
 * pieces, so one writer at a time finishes its record.  Robust: a child
 * killed while writing does not wedge the others.
 */
struct lg_shared {
	pthread_mutex_t lock;
	bool writing;		/* a record is being written */
	bool torn;		/* one was abandoned half-way: end its line first */
};

/*
 * One output, shared by the services that name the same destination.  fd
 * never changes once set up: reopen replaces the file behind the same
 * number with dup3, so writers in other threads never see it closed.  A
 * stream output is written through a non-blocking descriptor of our own
 * (standard output is reopened through /proc, so the shell's or the
 * supervisor's descriptor is never made non-blocking).
 */
struct lg_out {
	char *path;		/* as configured, for messages and reopen */
	int fd;			/* -1 for syslog */
	enum lg_kind kind;
	bool own_fd;		/* opened from path: reopened on SIGHUP */
	bool close_fd;		/* ours to close at exit */
	bool is_socket;		/* send(2) with MSG_DONTWAIT */
	int refs;
	struct lg_shared *sh;	/* LG_STREAM */
	/* Set when a record was lost after the cut: every later one is lost
	 * too, so each connection's records stay a prefix without a gap. */
	atomic_bool gave_up;
	pid_t sh_owner;		/* the process that set sh up */
	pthread_mutex_t lock;	/* rl and lost: threads share the output */
	struct log_rate rl;
	unsigned long long lost;	/* records not written */
	/* handler_nowait only (one thread): */
	struct buf q;		/* bytes the output has not taken yet */
	unsigned long long seq;	/* records that went through the queue */
	unsigned long long done;	/* ... of which all up to here are written */
	unsigned long long drop_lo, drop_hi;	/* the last range given up */
	struct lg_out *next;
};

static struct lg_out *lg_outputs;

/* Per connection: kept small, the peer name is the bulk of it. */
struct lg_state {
	struct framer fr;
	struct service *svc;
	unsigned long long owed;	/* ack: queued record whose OK is due */
	char peer[NET_ADDRSTRLEN];
};

static void
lg_complain(struct lg_out *o, ssize_t w, size_t len)
{
	int saved = errno;
	unsigned long suppressed = 0;
	char more[64] = "";
	bool ok;

	pthread_mutex_lock(&o->lock);
	o->lost++;
	ok = log_rate_ok(&o->rl);
	if (ok)
		suppressed = log_rate_suppressed(&o->rl);
	pthread_mutex_unlock(&o->lock);
	if (!ok)
		return;
	if (suppressed > 0)
		snprintf(more, sizeof(more), " (%lu more since the last warning)", suppressed);
	if (w < 0 && saved == ETIMEDOUT) {
		log_warnx("logger output %s: record lost: the output took nothing more before "
			  "the shutdown deadline%s", o->path, more);
	} else if (w < 0) {
		errno = saved;
		log_warn("logger output %s: record lost%s", o->path, more);
	} else {
		log_warnx("logger output %s: record lost after %zd of %zu bytes%s", o->path, w,
		    len, more);
	}
}

/* One write(2) or send(2) that never blocks a stream output; EINTR retried. */
static ssize_t
lg_write_some(struct lg_out *o, const char *p, size_t n)
{
	ssize_t w;

	do {
		if (o->is_socket)
			w = send(o->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		else
			w = write(o->fd, p, n);
	} while (w < 0 && errno == EINTR);
	return w;
}

/*
 * Waits for room in a stream output.  Before the cut, until the cut
 * (sig.h); after it, while the output keeps taking bytes (see
 * LG_STALL_MS), so a healthy reader still gets what the cut handed over
 * and a stuck one costs half a second once.  1 when there is room, 0
 * when the output has given up (errno ETIMEDOUT), -1 on a poll error.
 */
static int
lg_wait_room(struct lg_out *o, long long progress_ms)
{
	for (;;) {
		if (!sig_cut_due()) {
			int r = sig_wait_cut(o->fd, POLLOUT);
			if (r != 0)
				return r;
			continue;	/* the cut came: the rules below */
		}
		if (atomic_load(&o->gave_up))
			break;
		long long now = sig_now_ms(), until = progress_ms + LG_STALL_MS;
		long long cut = sig_cut_ms();

		if (cut >= 0 && cut + LG_CUT_GRACE_MS < until)
			until = cut + LG_CUT_GRACE_MS;
		if (now >= until) {
			atomic_store(&o->gave_up, true);
			break;
		}
		struct pollfd pfd = { .fd = o->fd, .events = POLLOUT };
		int n = poll(&pfd, 1, (int)(until - now));
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return -1;
	}
	errno = ETIMEDOUT;
	return 0;
}

/*
 * Writes p[0..n) to a stream output: when wait, waits for room (see
 * lg_wait_room).  Returns the bytes written; errno tells why when short.
 */
static size_t
lg_put(struct lg_out *o, const char *p, size_t n, bool wait)
{
	long long progress = sig_now_ms();
	size_t off = 0;

	while (off < n) {
		ssize_t w = lg_write_some(o, p + off, n - off);
		if (w > 0) {
			off += (size_t)w;
			progress = sig_now_ms();
			continue;
		}
		if (w == 0)
			errno = EIO;
		else if (wait && (errno == EAGAIN || errno == EWOULDBLOCK) &&
		    lg_wait_room(o, progress) == 1)
			continue;
		break;
	}
	return off;
}

static void
lg_shared_lock(struct lg_shared *sh)
{
	if (pthread_mutex_lock(&sh->lock) == EOWNERDEAD) {
		/* Its owner died; if it was writing, its line is unfinished. */
		sh->torn = sh->torn || sh->writing;
		sh->writing = false;
		pthread_mutex_consistent(&sh->lock);
	}
}

/*
 * A stream output where a process or thread serves each connection: the
 * writers take turns, each waiting for room until the record is whole or
 * the cut comes.  A record abandoned half-way is ended with an LF by the
 * next writer, so the records after it stay whole.
 */
static enum lg_fate
lg_emit_wait(struct lg_out *o, const char *rec, size_t len)
{
	size_t put = 0;
	int saved;

	if (atomic_load(&o->gave_up)) {
		errno = ETIMEDOUT;
		lg_complain(o, -1, len);
		return LG_LOST;
	}
	lg_shared_lock(o->sh);
	o->sh->writing = true;
	if (o->sh->torn && lg_put(o, "\n", 1, true) == 1)
		o->sh->torn = false;
	/* What a readiness loop queued before its cut goes first. */
	if (!o->sh->torn && o->q.len > 0) {
		size_t qput = lg_put(o, buf_peek(&o->q), o->q.len, true);
		buf_consume(&o->q, qput);
		o->sh->torn = o->q.len > 0 && qput > 0;
		if (o->q.len == 0)
			o->done = o->seq;
	}
	if (!o->sh->torn && o->q.len == 0) {
		put = lg_put(o, rec, len, true);
		o->sh->torn = put > 0 && put < len;
	}
	saved = errno;
	o->sh->writing = false;
	pthread_mutex_unlock(&o->sh->lock);
	if (put == len)
		return LG_WRITTEN;
	errno = saved;
	lg_complain(o, put > 0 ? (ssize_t)put : -1, len);
	return LG_LOST;
}

/*
 * A stream output where one thread serves everyone (handler_nowait):
 * never waits.  What the output does not take goes to the queue, behind
 * which every later record waits its turn; backlog() writes it out.  (At
 * its cut the loop clears handler_nowait: the cut's records then wait,
 * queue first, in lg_emit_wait.)
 */
static enum lg_fate
lg_emit_queue(struct lg_out *o, const char *rec, size_t len)
{
	size_t put = 0;

	if (o->q.len == 0) {
		put = lg_put(o, rec, len, false);
		if (put == len)
			return LG_WRITTEN;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			lg_complain(o, put > 0 ? (ssize_t)put : -1, len);
			return LG_LOST;
		}
	}
	if (buf_append(&o->q, rec + put, len - put) < 0) {
		lg_complain(o, put > 0 ? (ssize_t)put : -1, len);
		return LG_LOST;
	}
	o->seq++;
	return LG_QUEUED;
}

/*
 * Writes one record (rec[len - 1] is its LF).  A regular file gets one
 * write(2): with O_APPEND the kernel keeps records of concurrent writers
 * whole, and a retry after a short write would let another writer's
 * record in between, so a short write is reported, not completed.
 */
static enum lg_fate
lg_emit(struct lg_out *o, char *rec, size_t len)
{
	ssize_t w;

	if (o->kind == LG_SYSLOG) {
		rec[len - 1] = '\0';
		syslog(LOG_INFO, "%s", rec);
		return LG_WRITTEN;	/* no ack with syslog (conf.c) */
	}
	if (o->kind == LG_STREAM)
		return handler_nowait ? lg_emit_queue(o, rec, len) : lg_emit_wait(o, rec, len);
	do
		w = write(o->fd, rec, len);
	while (w == -1 && errno == EINTR && !sig_cut_due());
	if (w >= 0 && (size_t)w == len)
		return LG_WRITTEN;
	lg_complain(o, w, len);
	return LG_LOST;
}

/* True when the output has as much queued as it may: hold the feeders. */
static bool
lg_backed_up(const struct lg_out *o)
{
	return handler_nowait && o->q.len >= LG_QUEUE_MAX && !sig_cut_due();
}

/*
 * ack with a queued record: the OK waits until the record is written.
 * True while it still does (the sink is held).
 */
static bool
lg_owing(struct lg_state *ls, struct sink *out)
{
	struct lg_out *o = ls->svc->hdata;

	if (ls->owed == 0)
		return false;
	if (o->done >= ls->owed && !(ls->owed >= o->drop_lo && ls->owed <= o->drop_hi)) {
		ls->owed = 0;
		if (sink_write(out, "OK\n", 3) < 0)
			return false;	/* no memory: the OK is lost, the line is not */
		return false;
	}
	if (o->done >= ls->owed || sig_cut_due()) {
		ls->owed = 0;	/* lost, or nobody waits for the OK any more */
		return false;
	}
	sink_hold(out);
	return true;
}

/*
 * "TIME PEER" + sep + body escaped + LF.  Returns what became of the
 * record (enum lg_fate), or -1 when no memory was left to build it.
 */
static int
lg_record(struct lg_state *ls, const char *sep, const char *body, size_t blen, bool escape)
{
	struct lg_out *o = ls->svc->hdata;
	size_t plen = strlen(ls->peer), slen = strlen(sep);
	struct timeval tv;
	char *r, *p;
	enum lg_fate fate;

	r = handler_scratch(LG_TIME_LEN + 2 + plen + slen + ESCAPE_MAX(blen) + 1);
	if (r == NULL) {
		log_warn("logger %s: record for %s lost", ls->svc->name, ls->peer);
		return -1;
	}
	gettimeofday(&tv, NULL);
	p = r + timefmt_rfc3339(r, &tv);
	*p++ = ' ';
	memcpy(p, ls->peer, plen);
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
	fate = lg_emit(o, r, (size_t)(p - r));
	handler_scratch_done();
	return (int)fate;
}

static int
lg_event(struct lg_state *ls, const char *what)
{
	return lg_record(ls, " ", what, strlen(what), false);
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
	struct lg_out *o = ls->svc->hdata;
	int fate = lg_record(ls, ": ", line, len, true);

	if (fate == -1)
		return -1;
	if (out == NULL)
		return 0;
	if (ls->svc->ack && fate == LG_WRITTEN && sink_write(out, "OK\n", 3) < 0)
		return -1;
	if (ls->svc->ack && fate == LG_QUEUED && !sig_cut_due()) {
		ls->owed = o->seq;
		sink_hold(out);
	}
	if (lg_backed_up(o))
		sink_hold(out);
	return 0;
}

static int
lg_open(void *st, struct service *svc, const struct peer *peer, struct sink *out)
{
	struct lg_state *ls = st;

	(void)out;
	frame_init(&ls->fr, handler_max_line);
	snprintf(ls->peer, sizeof(ls->peer), "%s", peer != NULL ? peer->text : "unknown");
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
	if (lg_backed_up(ls->svc->hdata)) {
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

static int
lg_open_path(const char *path)
{
	return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
}

/*
 * Makes o->fd safe to write from a loop that must not block: a regular
 * file stays as it is; anything else becomes a stream output with a
 * non-blocking descriptor of our own.  Standard output is shared with
 * whoever started us, so it is reopened through /proc (a new open file
 * description of the same pipe or terminal) rather than changed; a socket
 * cannot be reopened and is written with MSG_DONTWAIT instead.
 */
static int
lg_stream_setup(struct lg_out *o, char *err, size_t errlen)
{
	struct stat st;
	pthread_mutexattr_t ma;

	if (fstat(o->fd, &st) < 0) {
		snprintf(err, errlen, "logger output %s: %s", o->path, strerror(errno));
		return -1;
	}
	if (S_ISREG(st.st_mode))
		return 0;
	o->kind = LG_STREAM;
	if (S_ISSOCK(st.st_mode)) {
		o->is_socket = true;
	} else if (o->own_fd) {
		if (net_set_nonblock(o->fd, 1) < 0) {
			snprintf(err, errlen, "logger output %s: %s", o->path, strerror(errno));
			return -1;
		}
	} else {
		char proc[64];
		int fd;

		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", o->fd);
		fd = open(proc, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_APPEND);
		if (fd < 0) {
			snprintf(err, errlen,
			    "logger output %s: cannot open a non-blocking descriptor of it "
			    "through %s: %s", o->path, proc, strerror(errno));
			return -1;
		}
		o->fd = fd;
		o->close_fd = true;
	}
	o->sh = mmap(NULL, sizeof(*o->sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	    -1, 0);
	if (o->sh == MAP_FAILED) {
		o->sh = NULL;
		snprintf(err, errlen, "logger output %s: %s", o->path, strerror(errno));
		return -1;
	}
	memset(o->sh, 0, sizeof(*o->sh));
	if (pthread_mutexattr_init(&ma) != 0 ||
	    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED) != 0 ||
	    pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST) != 0 ||
	    pthread_mutex_init(&o->sh->lock, &ma) != 0) {
		snprintf(err, errlen, "logger output %s: cannot set up its lock", o->path);
		return -1;
	}
	pthread_mutexattr_destroy(&ma);
	o->sh_owner = getpid();
	return 0;
}

static void
lg_out_free(struct lg_out *o)
{
	if (o->close_fd && o->fd >= 0)
		close(o->fd);
	if (o->sh != NULL) {
		/* Fork children share the lock: only its creator ends it. */
		if (o->sh_owner == getpid())
			pthread_mutex_destroy(&o->sh->lock);
		munmap(o->sh, sizeof(*o->sh));
	}
	buf_free(&o->q);
	pthread_mutex_destroy(&o->lock);
	free(o->path);
	free(o);
}

/*
 * No output configured means standard output, like "-": the configuration
 * normally names one, and a daemon under systemd has stdout in the journal.
 * Services naming the same destination share one output (one queue, one
 * turn to write).
 */
static int
lg_setup(struct service *svc, char *err, size_t errlen)
{
	const char *dest = svc->output != NULL ? svc->output : "-";
	struct lg_out *o;

	if (svc->hdata != NULL)
		return 0;
	for (o = lg_outputs; o != NULL; o = o->next) {
		if (strcmp(o->path, dest) == 0) {
			o->refs++;
			svc->hdata = o;
			return 0;
		}
	}
	if ((o = calloc(1, sizeof(*o))) == NULL || (o->path = strdup(dest)) == NULL) {
		free(o);
		snprintf(err, errlen, "logger output %s: %s", dest, strerror(ENOMEM));
		return -1;
	}
	o->fd = -1;
	o->kind = LG_FILE;
	pthread_mutex_init(&o->lock, NULL);
	o->rl = (struct log_rate)LOG_RATE_INIT(LG_WARN_EVERY);
	if (strcmp(dest, "syslog") == 0) {
		/* The same identity and facility as the diagnostics when
		 * detached, also in the foreground. */
		openlog("dispatchd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		o->kind = LG_SYSLOG;
	} else if (strcmp(dest, "-") == 0) {
		o->fd = STDOUT_FILENO;
	} else if ((o->fd = lg_open_path(dest)) == -1) {
		snprintf(err, errlen, "logger output %s: %s", dest, strerror(errno));
		lg_out_free(o);
		return -1;
	} else {
		o->own_fd = o->close_fd = true;
	}
	if (o->fd >= 0 && lg_stream_setup(o, err, errlen) < 0) {
		lg_out_free(o);
		return -1;
	}
	o->refs = 1;
	o->next = lg_outputs;
	lg_outputs = o;
	svc->hdata = o;
	return 0;
}

/*
 * Standard output written through a descriptor of our own follows what
 * descriptor 1 is now: after -d detached, /dev/null, not the terminal it
 * was at setup.  (The socket case switches descriptors: only before
 * serving, when -d replaced the socket, so no other thread writes yet.)
 */
static void
lg_restdout(struct lg_out *o)
{
	struct stat st;
	int fd;

	if (o->kind != LG_STREAM || fstat(STDOUT_FILENO, &st) < 0 || S_ISSOCK(st.st_mode))
		return;
	fd = open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_APPEND);
	if (fd < 0) {
		log_warn("logger output %s: cannot reopen standard output", o->path);
		return;
	}
	if (o->is_socket) {
		o->fd = fd;
		o->is_socket = false;
		o->close_fd = true;
		return;
	}
	if (dup3(fd, o->fd, O_CLOEXEC) < 0)
		log_warn("logger output %s: cannot reopen standard output", o->path);
	close(fd);
}

static void
lg_reopen(struct service *svc)
{
	struct lg_out *o = svc->hdata;
	int fd;

	if (o != NULL && !o->own_fd && o->kind != LG_SYSLOG)
		lg_restdout(o);
	if (o == NULL || !o->own_fd)
		return;
	if ((fd = lg_open_path(o->path)) == -1) {
		log_warn("logger output %s: reopen failed, still writing to the old file",
		    o->path);
		return;
	}
	if (o->kind == LG_STREAM && net_set_nonblock(fd, 1) < 0)
		log_warn("logger output %s: reopened, but blocking", o->path);
	if (dup3(fd, o->fd, O_CLOEXEC) == -1)
		log_warn("logger output %s: reopen failed, still writing to the old file",
		    o->path);
	close(fd);
}

/* Writes what the queue holds, never waiting; as backlog() below. */
static int
lg_flush(struct lg_out *o, bool *room)
{
	size_t put;

	*room = true;
	if (o == NULL || o->q.len == 0)
		return -1;
	put = lg_put(o, buf_peek(&o->q), o->q.len, false);
	if (put < o->q.len && errno != EAGAIN && errno != EWOULDBLOCK) {
		/* The reader is gone: nothing queued will ever get out. */
		unsigned long long n = o->seq - o->done;

		log_warn("logger output %s: %llu queued record%s lost", o->path, n,
		    n == 1 ? "" : "s");
		o->lost += n;
		o->drop_lo = o->done + 1;
		o->drop_hi = o->seq;
		o->done = o->seq;
		buf_free(&o->q);
		return -1;
	}
	buf_consume(&o->q, put);
	if (o->q.len == 0) {
		o->done = o->seq;
		return -1;
	}
	*room = o->q.len < LG_QUEUE_MAX;
	return o->fd;
}

/*
 * An ack connection is held until its record is written, so for an ack
 * service there is room only once the queue is empty: releasing it
 * earlier would only see it held again.
 */
static int
lg_backlog(struct service *svc, bool *room)
{
	struct lg_out *o = svc->hdata;
	int fd = lg_flush(o, room);

	if (svc->ack && o != NULL && o->q.len > 0)
		*room = false;
	return fd;
}

/* At exit: what never reached the output is reported, not silently lost. */
static void
lg_fini(struct service *svc)
{
	struct lg_out *o = svc->hdata;

	if (o == NULL)
		return;
	svc->hdata = NULL;
	if (--o->refs > 0)
		return;
	if (o->q.len > 0) {
		/* At exit: as long as the output takes it, as after a cut
		 * (an exit without a stop signal must not wait forever). */
		if (!sig_cut_due())
			sig_cut_now();
		buf_consume(&o->q, lg_put(o, buf_peek(&o->q), o->q.len, true));
		if (o->q.len == 0)
			o->done = o->seq;
	}
	if (o->q.len > 0)
		o->lost += o->seq - o->done;
	if (o->lost > 0)
		log_warnx("logger output %s: %llu record%s lost: the output did not take them "
			  "before the shutdown deadline or failed", o->path, o->lost,
		    o->lost == 1 ? "" : "s");
	for (struct lg_out **pp = &lg_outputs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == o) {
			*pp = o->next;
			break;
		}
	}
	lg_out_free(o);
}

const struct handler handler_logger = {
	.name = "logger",
	.summary = "one escaped record per line to a file, '-' or syslog",
	.state_size = sizeof(struct lg_state),
	.open = lg_open,
	.data = lg_data,
	.eof = lg_eof,
	.close = lg_close,
	.setup = lg_setup,
	.reopen = lg_reopen,
	.backlog = lg_backlog,
	.fini = lg_fini,
};

/* recout.c - record outputs: where one-line records go (a file, a pipe or socket, syslog), whole and in order. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "buf.h"
#include "handler.h"
#include "log.h"
#include "net.h"
#include "recout_int.h"
#include "sig.h"

static struct recout *outputs;

static void
ro_complain(struct recout *o, ssize_t w, size_t len)
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
		          "the shutdown deadline%s",
		    o->path, more);
	} else if (w < 0) {
		errno = saved;
		log_warn("logger output %s: record lost%s", o->path, more);
	} else {
		log_warnx("logger output %s: record lost after %zd of %zu bytes%s", o->path, w, len,
		    more);
	}
}

static void
ro_count(atomic_ullong *count, unsigned long long n)
{
	if (count != NULL)
		atomic_fetch_add_explicit(count, n, memory_order_relaxed);
}

/* Room for one more queued record's counter; 0, or -1 (no memory). */
static int
ro_tally_add(struct recout *o, atomic_ullong *count)
{
	struct ro_tally *t;

	if (count == NULL)
		return 0;
	if (o->ntally > 0 && o->tally[o->ntally - 1].count == count) {
		o->tally[o->ntally - 1].n++;
		return 0;
	}
	if (o->ntally == o->tally_cap) {
		size_t cap = o->tally_cap ? 2 * o->tally_cap : 4;
		if ((t = realloc(o->tally, cap * sizeof(*t))) == NULL)
			return -1;
		o->tally = t;
		o->tally_cap = cap;
	}
	o->tally[o->ntally++] = (struct ro_tally){ count, 1 };
	return 0;
}

/* Takes back the last ro_tally_add of count (its record was not queued). */
static void
ro_tally_drop(struct recout *o, atomic_ullong *count)
{
	if (count == NULL || o->ntally == 0 || o->tally[o->ntally - 1].count != count)
		return;
	if (--o->tally[o->ntally - 1].n == 0)
		o->ntally--;
}

/* The queue was written (written) or given up: its records counted or not. */
static void
ro_tally_settle(struct recout *o, bool written)
{
	for (size_t i = 0; written && i < o->ntally; i++)
		ro_count(o->tally[i].count, o->tally[i].n);
	o->ntally = 0;
}

/* One write(2) or send(2) that never blocks a stream output; EINTR retried. */
static ssize_t
ro_write_some(struct recout *o, const char *p, size_t n)
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
 * RO_STALL_MS), so a healthy reader still gets what the cut handed over
 * and a stuck one costs half a second once.  1 when there is room, 0
 * when the output has given up (errno ETIMEDOUT), -1 on a poll error.
 */
static int
ro_wait_room(struct recout *o, long long progress_ms)
{
	for (;;) {
		if (!sig_cut_due()) {
			int r = sig_wait_cut(o->fd, POLLOUT);
			if (r != 0)
				return r;
			continue; /* the cut came: the rules below */
		}
		if (atomic_load(&o->gave_up))
			break;
		long long now = sig_now_ms(), until = progress_ms + RO_STALL_MS;
		long long cut = sig_cut_ms();

		if (cut >= 0 && cut + RO_CUT_GRACE_MS < until)
			until = cut + RO_CUT_GRACE_MS;
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
 * ro_wait_room).  Returns the bytes written; errno tells why when short.
 */
static size_t
ro_write_all(struct recout *o, const char *p, size_t n, bool wait)
{
	long long progress = sig_now_ms();
	size_t off = 0;

	while (off < n) {
		ssize_t w = ro_write_some(o, p + off, n - off);
		if (w > 0) {
			off += (size_t)w;
			progress = sig_now_ms();
			continue;
		}
		if (w == 0)
			errno = EIO;
		else if (wait && (errno == EAGAIN || errno == EWOULDBLOCK) &&
		    ro_wait_room(o, progress) == 1)
			continue;
		break;
	}
	return off;
}

static void
ro_shared_lock(struct ro_shared *sh)
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
static enum recout_fate
ro_emit_wait(struct recout *o, const char *rec, size_t len, atomic_ullong *count)
{
	size_t put = 0;
	int saved;

	if (atomic_load(&o->gave_up)) {
		errno = ETIMEDOUT;
		ro_complain(o, -1, len);
		return RECOUT_LOST;
	}
	ro_shared_lock(o->sh);
	o->sh->writing = true;
	if (o->sh->torn && ro_write_all(o, "\n", 1, true) == 1)
		o->sh->torn = false;
	/* What a readiness loop queued before its cut goes first. */
	if (!o->sh->torn && o->q.len > 0) {
		size_t qput = ro_write_all(o, buf_peek(&o->q), o->q.len, true);
		buf_consume(&o->q, qput);
		o->sh->torn = o->q.len > 0 && qput > 0;
		if (o->q.len == 0) {
			o->done = o->seq;
			ro_tally_settle(o, true);
		}
	}
	if (!o->sh->torn && o->q.len == 0) {
		put = ro_write_all(o, rec, len, true);
		o->sh->torn = put > 0 && put < len;
	}
	saved = errno;
	o->sh->writing = false;
	pthread_mutex_unlock(&o->sh->lock);
	if (put == len) {
		ro_count(count, 1);
		return RECOUT_WRITTEN;
	}
	errno = saved;
	ro_complain(o, put > 0 ? (ssize_t)put : -1, len);
	return RECOUT_LOST;
}

/*
 * A stream output where one thread serves everyone (handler_nowait):
 * never waits.  What the output does not take goes to the queue, behind
 * which every later record waits its turn; backlog() writes it out.  (At
 * its cut the loop clears handler_nowait: the cut's records then wait,
 * queue first, in ro_emit_wait.)
 */
static enum recout_fate
ro_emit_queue(struct recout *o, const char *rec, size_t len, atomic_ullong *count)
{
	size_t put = 0;

	if (o->q.len == 0) {
		put = ro_write_all(o, rec, len, false);
		if (put == len) {
			ro_count(count, 1);
			return RECOUT_WRITTEN;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			ro_complain(o, put > 0 ? (ssize_t)put : -1, len);
			return RECOUT_LOST;
		}
	}
	if (ro_tally_add(o, count) < 0 || buf_append(&o->q, rec + put, len - put) < 0) {
		ro_tally_drop(o, count);
		ro_complain(o, put > 0 ? (ssize_t)put : -1, len);
		return RECOUT_LOST;
	}
	o->seq++;
	return RECOUT_QUEUED;
}

/*
 * Writes one record (rec[len - 1] is its LF).  A regular file gets one
 * write(2): with O_APPEND the kernel keeps records of concurrent writers
 * whole, and a retry after a short write would let another writer's
 * record in between, so a short write is reported, not completed.
 */
enum recout_fate
recout_write(struct recout *o, char *rec, size_t len, atomic_ullong *count)
{
	ssize_t w;

	if (o->kind == RO_SYSLOG) {
		rec[len - 1] = '\0';
		syslog(LOG_INFO, "%s", rec);
		ro_count(count, 1);
		return RECOUT_WRITTEN; /* no ack with syslog (conf.c) */
	}
	if (o->kind == RO_STREAM)
		return handler_nowait ? ro_emit_queue(o, rec, len, count) :
		                        ro_emit_wait(o, rec, len, count);
	do
		w = write(o->fd, rec, len);
	while (w == -1 && errno == EINTR && !sig_cut_due());
	if (w >= 0 && (size_t)w == len) {
		ro_count(count, 1);
		return RECOUT_WRITTEN;
	}
	ro_complain(o, w, len);
	return RECOUT_LOST;
}

/* True when the output has as much queued as it may: hold the feeders. */
bool
recout_backed_up(const struct recout *o)
{
	return handler_nowait && o->q.len >= RO_QUEUE_MAX && !sig_cut_due();
}

struct recout *
recout_get(const char *dest, char *err, size_t errlen)
{
	struct recout *o;

	for (o = outputs; o != NULL; o = o->next) {
		if (strcmp(o->path, dest) == 0) {
			o->refs++;
			return o;
		}
	}
	if ((o = calloc(1, sizeof(*o))) == NULL || (o->path = strdup(dest)) == NULL) {
		free(o);
		snprintf(err, errlen, "logger output %s: %s", dest, strerror(ENOMEM));
		return NULL;
	}
	o->fd = -1;
	o->kind = RO_FILE;
	pthread_mutex_init(&o->lock, NULL);
	o->rl = (struct log_rate)LOG_RATE_INIT(RO_WARN_EVERY);
	if (strcmp(dest, "syslog") == 0) {
		/* The same identity and facility as the diagnostics when
		 * detached, also in the foreground. */
		openlog("dispatchd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		o->kind = RO_SYSLOG;
	} else if (strcmp(dest, "-") == 0) {
		o->fd = STDOUT_FILENO;
	} else if ((o->fd = ro_open_path(dest)) == -1) {
		snprintf(err, errlen, "logger output %s: %s", dest, strerror(errno));
		ro_out_free(o);
		return NULL;
	} else {
		o->own_fd = o->close_fd = true;
	}
	if (o->fd >= 0 && ro_stream_setup(o, err, errlen) < 0) {
		ro_out_free(o);
		return NULL;
	}
	o->refs = 1;
	o->next = outputs;
	outputs = o;
	return o;
}

int
recout_flush(struct recout *o, bool *room)
{
	size_t put;

	*room = true;
	if (o->q.len == 0)
		return -1;
	put = ro_write_all(o, buf_peek(&o->q), o->q.len, false);
	if (put < o->q.len && errno != EAGAIN && errno != EWOULDBLOCK) {
		/* The reader is gone: nothing queued will ever get out. */
		unsigned long long n = o->seq - o->done;

		log_warn("logger output %s: %llu queued record%s lost", o->path, n,
		    n == 1 ? "" : "s");
		o->lost += n;
		o->drop_lo = o->done + 1;
		o->drop_hi = o->seq;
		o->done = o->seq;
		ro_tally_settle(o, false);
		buf_free(&o->q);
		return -1;
	}
	buf_consume(&o->q, put);
	if (o->q.len == 0) {
		o->done = o->seq;
		ro_tally_settle(o, true);
		return -1;
	}
	*room = o->q.len < RO_QUEUE_MAX;
	return o->fd;
}

bool
recout_queued(const struct recout *o)
{
	return o->q.len > 0;
}

unsigned long long
recout_last(const struct recout *o)
{
	return o->seq;
}

enum recout_fate
recout_fate_of(const struct recout *o, unsigned long long seq)
{
	if (o->done < seq)
		return RECOUT_QUEUED;
	return seq >= o->drop_lo && seq <= o->drop_hi ? RECOUT_LOST : RECOUT_WRITTEN;
}

void
recout_put(struct recout *o)
{
	if (--o->refs > 0)
		return;
	if (o->q.len > 0) {
		/* At exit: as long as the output takes it, as after a cut
		 * (an exit without a stop signal must not wait forever). */
		if (!sig_cut_due())
			sig_cut_now();
		buf_consume(&o->q, ro_write_all(o, buf_peek(&o->q), o->q.len, true));
		if (o->q.len == 0)
			o->done = o->seq;
		ro_tally_settle(o, o->q.len == 0);
	}
	if (o->q.len > 0)
		o->lost += o->seq - o->done;
	if (o->lost > 0)
		log_warnx("logger output %s: %llu record%s lost: the output did not take them "
		          "before the shutdown deadline or failed",
		    o->path, o->lost, o->lost == 1 ? "" : "s");
	for (struct recout **pp = &outputs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == o) {
			*pp = o->next;
			break;
		}
	}
	ro_out_free(o);
}

/* logger.c - the logger handler: one escaped record per line to a file, stdout or syslog. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <unistd.h>

#include "../conf.h"
#include "../escape.h"
#include "../frame.h"
#include "../handler.h"
#include "../log.h"
#include "../net.h"
#include "../sink.h"
#include "../timefmt.h"

#define LG_TIME_LEN	27	/* RFC 3339 with microseconds */
#define LG_WARN_EVERY	10	/* seconds between warnings about one output */

/*
 * The output of one service (svc->hdata).  fd never changes once set up:
 * reopen replaces the file behind the same number with dup3, so writers in
 * other threads never see it closed.
 */
struct lg_out {
	char *path;		/* as configured, for messages and reopen */
	int fd;			/* -1 for syslog */
	bool use_syslog;
	bool own_fd;		/* not standard output */
	pthread_mutex_t lock;	/* guards rl: threads share the output */
	struct log_rate rl;
};

/* Per connection: kept small, the peer name is the bulk of it. */
struct lg_state {
	struct framer fr;
	struct service *svc;
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
	ok = log_rate_ok(&o->rl);
	if (ok)
		suppressed = log_rate_suppressed(&o->rl);
	pthread_mutex_unlock(&o->lock);
	if (!ok)
		return;
	if (suppressed > 0)
		snprintf(more, sizeof(more), " (%lu more since the last warning)", suppressed);
	if (w < 0) {
		errno = saved;
		log_warn("logger output %s: record lost%s", o->path, more);
	} else {
		log_warnx("logger output %s: short write, %zd of %zu bytes%s", o->path, w, len,
		    more);
	}
}

/*
 * Writes one record (rec[len - 1] is its LF) with a single write(2): with
 * O_APPEND the kernel keeps records of concurrent writers whole.  A retry
 * after a short write would let another writer's record in between, so a
 * short write is reported, not completed.  True when all of it was written.
 */
static bool
lg_emit(struct lg_out *o, char *rec, size_t len)
{
	ssize_t w;

	if (o->use_syslog) {
		rec[len - 1] = '\0';
		syslog(LOG_INFO, "%s", rec);
		return true;
	}
	do
		w = write(o->fd, rec, len);
	while (w == -1 && errno == EINTR);
	if (w >= 0 && (size_t)w == len)
		return true;
	lg_complain(o, w, len);
	return false;
}

/*
 * "TIME PEER" + sep + body escaped + LF.  Returns whether the record was
 * written, or -1 when no memory was left to build it.
 */
static int
lg_record(struct lg_state *ls, const char *sep, const char *body, size_t blen, bool escape)
{
	struct lg_out *o = ls->svc->hdata;
	size_t plen = strlen(ls->peer), slen = strlen(sep);
	struct timeval tv;
	char *r, *p;
	bool ok;

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
	ok = lg_emit(o, r, (size_t)(p - r));
	handler_scratch_done();
	return ok;
}

static int
lg_event(struct lg_state *ls, const char *what)
{
	return lg_record(ls, " ", what, strlen(what), false);
}

/*
 * One line: its record, then "OK" when ack is on and the record was
 * written: an OK promises the line is in the log.  out is NULL when called
 * from close, where there is nobody to acknowledge to.
 */
static int
lg_line(void *ctx, const char *line, size_t len, struct sink *out)
{
	struct lg_state *ls = ctx;
	int ok = lg_record(ls, ": ", line, len, true);

	if (ok == -1)
		return -1;
	if (ok && out != NULL && ls->svc->ack)
		return sink_write(out, "OK\n", 3);
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

static ssize_t
lg_data(void *st, const char *p, size_t n, struct sink *out)
{
	struct lg_state *ls = st;

	return frame_feed(&ls->fr, p, n, lg_line, ls, out);
}

static int
lg_eof(void *st, struct sink *out)
{
	struct lg_state *ls = st;

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
 * No output configured means standard output, like "-": the configuration
 * normally names one, and a daemon under systemd has stdout in the journal.
 */
static int
lg_setup(struct service *svc, char *err, size_t errlen)
{
	const char *dest = svc->output != NULL ? svc->output : "-";
	struct lg_out *o;

	if (svc->hdata != NULL)
		return 0;
	if ((o = calloc(1, sizeof(*o))) == NULL || (o->path = strdup(dest)) == NULL) {
		free(o);
		snprintf(err, errlen, "logger output %s: %s", dest, strerror(ENOMEM));
		return -1;
	}
	o->fd = -1;
	if (strcmp(dest, "syslog") == 0) {
		/* The same identity and facility as the diagnostics when
		 * detached, also in the foreground. */
		openlog("dispatchd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		o->use_syslog = true;
	} else if (strcmp(dest, "-") == 0) {
		o->fd = STDOUT_FILENO;
	} else if ((o->fd = lg_open_path(dest)) == -1) {
		snprintf(err, errlen, "logger output %s: %s", dest, strerror(errno));
		free(o->path);
		free(o);
		return -1;
	} else {
		o->own_fd = true;
	}
	pthread_mutex_init(&o->lock, NULL);
	o->rl = (struct log_rate)LOG_RATE_INIT(LG_WARN_EVERY);
	svc->hdata = o;
	return 0;
}

static void
lg_reopen(struct service *svc)
{
	struct lg_out *o = svc->hdata;
	int fd;

	if (o == NULL || !o->own_fd)
		return;
	if ((fd = lg_open_path(o->path)) == -1) {
		log_warn("logger output %s: reopen failed, still writing to the old file",
		    o->path);
		return;
	}
	if (dup3(fd, o->fd, O_CLOEXEC) == -1)
		log_warn("logger output %s: reopen failed, still writing to the old file",
		    o->path);
	close(fd);
}

static void
lg_fini(struct service *svc)
{
	struct lg_out *o = svc->hdata;

	if (o == NULL)
		return;
	if (o->own_fd)
		close(o->fd);
	pthread_mutex_destroy(&o->lock);
	free(o->path);
	free(o);
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
	.setup = lg_setup,
	.reopen = lg_reopen,
	.fini = lg_fini,
};

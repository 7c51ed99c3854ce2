/* log.c - diagnostics: one format, levels, stderr or syslog, rate limits. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static enum log_level log_level = LOG_LVL_INFO;
static int log_syslog;
/* log_nowait: stderr is written without ever waiting; lines that find it
 * full are dropped and counted (atomic: threads and signal-free paths). */
static bool log_dontwait;
static bool log_socket;
static _Atomic unsigned long log_dropped;

static const char *const level_names[] = { "error", "warning", "info", "debug" };
static const int level_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

void
log_init(enum log_level level, bool use_syslog)
{
	log_level = level;
	if (use_syslog && !log_syslog)
		openlog("dispatchd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	else if (!use_syslog && log_syslog)
		closelog();
	log_syslog = use_syslog;
}

void
log_set_verbosity(int verbosity)
{
	log_level = verbosity < 0 ? LOG_LVL_WARN : verbosity > 0 ? LOG_LVL_DEBUG : LOG_LVL_INFO;
}

enum log_level
log_get_level(void)
{
	return log_level;
}

static void log_line(const char *line, size_t len);

static void vlog(enum log_level level, int with_errno, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void
vlog(enum log_level level, int with_errno, const char *fmt, va_list ap)
{
	char raw[1024], msg[1024];
	int saved = errno;
	size_t n;

	if (level > log_level)
		return;
	vsnprintf(raw, sizeof(raw), fmt, ap);
	n = strlen(raw);
	if (with_errno)
		snprintf(raw + n, sizeof(raw) - n, ": %s", strerror(saved));
	/* Messages quote values from config files, flags and peers: control
	 * bytes are shown as \xHH, so one message is always one clean line. */
	n = 0;
	for (const unsigned char *p = (const unsigned char *)raw; *p && n + 5 < sizeof(msg); p++) {
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			n += (size_t)snprintf(msg + n, sizeof(msg) - n, "\\x%02X", *p);
		else
			msg[n++] = (char)*p;
	}
	msg[n] = '\0';
	if (log_syslog) {
		syslog(level_prio[level], "%s", msg);
	} else {
		/* One write per line: lines from fork children and threads
		 * sharing stderr never interleave. */
		char line[1200];
		int len = snprintf(line, sizeof(line), "dispatchd: %s: %s\n", level_names[level],
		    msg);
		if (len > (int)sizeof(line) - 1)
			len = (int)sizeof(line) - 1;
		log_line(line, (size_t)len);
	}
	errno = saved;
}

/* One write(2) of one line to stderr; see log_nowait. */
static void
log_put(const char *line, size_t len)
{
	ssize_t w;

	do {
		if (log_socket)
			w = send(STDERR_FILENO, line, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		else
			w = write(STDERR_FILENO, line, len);
	} while (w < 0 && errno == EINTR);
	if (w < 0 && log_dontwait && (errno == EAGAIN || errno == EWOULDBLOCK))
		atomic_fetch_add(&log_dropped, 1);
}

static void
log_line(const char *line, size_t len)
{
	unsigned long dropped = atomic_exchange(&log_dropped, 0);

	if (dropped > 0) {
		char note[128];
		int n = snprintf(note, sizeof(note),
		    "dispatchd: warning: %lu diagnostic line%s dropped: stderr was not "
		    "taking them\n",
		    dropped, dropped == 1 ? "" : "s");
		log_put(note, (size_t)n);
	}
	log_put(line, len);
}

void
log_nowait(void)
{
	struct stat st;
	int fd;

	if (log_syslog || fstat(STDERR_FILENO, &st) < 0 || S_ISREG(st.st_mode))
		return;
	if (S_ISSOCK(st.st_mode)) {
		log_socket = true; /* the journal's stream: send(MSG_DONTWAIT) */
	} else {
		/* A pipe or terminal is shared with whoever started us: our
		 * own open file description of it, made non-blocking, goes
		 * over descriptor 2 and leaves theirs as it was. */
		fd = open("/proc/self/fd/2", O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_APPEND);
		if (fd < 0) {
			log_warn("stderr: cannot open a non-blocking descriptor of it, "
			         "so a reader that stops reading stops the server");
			return;
		}
		if (dup3(fd, STDERR_FILENO, 0) < 0)
			log_warn("stderr: cannot make it non-blocking");
		close(fd);
	}
	log_dontwait = true;
}

#define LOG_FN(fn, level, with_errno)             \
	void fn(const char *fmt, ...)             \
	{                                         \
		va_list ap;                       \
		va_start(ap, fmt);                \
		vlog(level, with_errno, fmt, ap); \
		va_end(ap);                       \
	}

LOG_FN(log_err, LOG_LVL_ERROR, 1)
LOG_FN(log_errx, LOG_LVL_ERROR, 0)
LOG_FN(log_warn, LOG_LVL_WARN, 1)
LOG_FN(log_warnx, LOG_LVL_WARN, 0)
LOG_FN(log_info, LOG_LVL_INFO, 0)
LOG_FN(log_debug, LOG_LVL_DEBUG, 0)

void
log_status(const char *fmt, ...)
{
	enum log_level saved = log_level;
	va_list ap;

	if (log_level < LOG_LVL_INFO)
		log_level = LOG_LVL_INFO;
	va_start(ap, fmt);
	vlog(LOG_LVL_INFO, 0, fmt, ap);
	va_end(ap);
	log_level = saved;
}

void
fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}

bool
log_rate_ok(struct log_rate *rl)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (rl->last != 0 && now.tv_sec - rl->last < rl->interval) {
		rl->suppressed++;
		return false;
	}
	rl->last = now.tv_sec;
	return true;
}

unsigned long
log_rate_suppressed(struct log_rate *rl)
{
	unsigned long n = rl->suppressed;
	rl->suppressed = 0;
	return n;
}

/* log.h - diagnostics: one format, levels, stderr or syslog, rate limits. */
#ifndef DISPATCHD_LOG_H
#define DISPATCHD_LOG_H

#include <stdbool.h>
#include <time.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/*
 * Sets the threshold (messages above it are dropped) and the destination:
 * stderr as "dispatchd: LEVEL: message" lines, or syslog(3) as "dispatchd".
 * Safe to call again (e.g. when detaching).
 */
void log_init(enum log_level level, bool use_syslog);
/* The level of -q (< 0: warnings and errors), none, -v (> 0: debug too). */
void log_set_verbosity(int verbosity);
/*
 * From now on never wait for stderr: when it is a pipe, terminal or
 * socket whose reader stopped reading, a diagnostic line is dropped
 * (counted, and the count reported with the next line that gets
 * through) rather than stopping the server.  Called once serving starts;
 * start-up lines (the listening lines) are written waiting.
 */
void log_nowait(void);
enum log_level log_get_level(void);

/* log_warn/log_err append ": strerror(errno)"; the x variants do not. */
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Info that was asked for (SIGUSR1 status): written even with -q. */
void log_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print the error and exit(1); fatal appends strerror(errno). */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/*
 * A rate limit for repeated warnings: log_rate_ok() is true at most once
 * per interval seconds and counts the calls it suppressed; the caller may
 * report log_rate_suppressed() (which resets the count) when it logs.
 */
struct log_rate {
	time_t last;
	unsigned long suppressed;
	int interval;
};
/* clang-format off */
#define LOG_RATE_INIT(sec) { 0, 0, (sec) }
/* clang-format on */
bool log_rate_ok(struct log_rate *rl);
unsigned long log_rate_suppressed(struct log_rate *rl);

#endif

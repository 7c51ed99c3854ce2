/* model.h - the dispatch model interface and registry. */
#ifndef DISPATCHD_MODEL_H
#define DISPATCHD_MODEL_H

#include <stdatomic.h>

#include <stdbool.h>
#include <stddef.h>

struct config;

/*
 * A model serves every listener of cf (already bound, non-blocking) and
 * returns the process exit status.  Every model follows one lifecycle:
 *
 *   serve     until the first SIGTERM or SIGINT; SIGHUP and SIGUSR1 go
 *             through model_signals (which also reaps) wherever they land;
 *   stop      the listeners are closed at once (net_close_all; unix socket
 *             files removed): new connections are refused by the kernel;
 *   drain     open connections are served on for up to shutdown_timeout
 *             seconds, and the handlers' outputs take what was queued;
 *   cut       at that deadline or at a second stop signal (sig_cut_now
 *             tells handlers waiting on an output): what each connection
 *             already received is handed to its handler with replies
 *             dropped (conn_cut), then it is closed; nothing received is
 *             lost, nothing more is read after the cut's few reads;
 *   return    0, or 1 when serving failed.
 *
 * Connections are served through the connection core (conn.h) and
 * admitted through admit.h.  Readiness models are a struct backend run by
 * loop_run (models/loop.h); blocking models are a struct dispatcher run by
 * blocking_run (models/blocking.h).
 */
struct model {
	const char *name;
	const char *summary;
	int (*run)(struct config *cf);
	/* Traits the tests and the documentation rely on (false by default):
	 * serial, one connection at a time while the rest wait in the listen
	 * backlog; in_children, each connection served by a child process, so
	 * the accepting process holds no descriptor for it. */
	bool serial;
	bool in_children;
	/* One loop in one thread: workers = N runs N of them, one process
	 * each, on the same listeners (workers.c). */
	bool workers;
	/* Optional: whether the model can run on this host at all, asked at
	 * configuration time (-t too), so that a model the kernel refuses
	 * fails at once with one line naming the cause (err).  0 or -1. */
	int (*probe)(char *err, size_t errlen);
};

extern const struct model model_iterative;
extern const struct model model_fork;
extern const struct model model_thread;
extern const struct model model_select;
extern const struct model model_poll;
extern const struct model model_epoll;
extern const struct model model_io_uring;

/*
 * How many descriptors a single-threaded loop prepares for (its table of
 * connections by descriptor): RLIMIT_NOFILE's soft limit, at most
 * MODEL_FD_MAX.
 */
#define MODEL_FD_MAX 1048576
int model_fd_limit(void);

/* The registry, NULL-terminated, in the order names are listed. */
extern const struct model *const models[];

/* The model called name, or NULL. */
const struct model *model_find(const char *name);
/* "iterative, fork, thread, select, poll, epoll" into dst. */
void model_names(char *dst, size_t len);

/*
 * Acts on the signal flags shared by every model: SIGCHLD reaps (see
 * model_set_reaper), SIGHUP reopens handler outputs (of retired
 * configurations too) and reads the configuration again (reload.h,
 * model_reload_pending), SIGUSR1 writes the
 * status line.  Drains the self-pipe first.
 * Returns the SIGTERM/SIGINT count (0: keep serving).
 */
int model_signals(struct config *cf);

/*
 * The configuration a SIGHUP read (reload_config), once: the model stops
 * watching its running listeners, calls reload_commit(cf, ncf), then
 * serves ncf's (or reload_abandon(ncf) when it cannot).  NULL when none.
 */
struct config *model_reload_pending(void);

/*
 * A loop stops accepting: when its open connections must be done (ms),
 * now + shutdown_timeout after a stop signal, or SIG_NO_DEADLINE for a
 * worker a reload replaced (sig_retire: until they end), with the line
 * saying which.
 */
void stop_deadline(long long *deadline, long long now, long open, long shutdown_timeout);

/* A worker: set (to 1) once its loop stopped accepting, for the
 * supervisor of a reload; NULL elsewhere.  stop_deadline sets it. */
extern atomic_long *model_stopped_flag;

/*
 * Who reaps children when SIGCHLD comes (model_signals calls it): by
 * default every exited child is reaped and forgotten; the fork model
 * passes its own reaper, which accounts for its children.  NULL restores
 * the default.
 */
void model_set_reaper(void (*fn)(void));

/*
 * Memory only this process touches (an accept loop's tables, the fork
 * model's children): left out of fork children (MADV_DONTFORK), so that
 * after a fork neither side takes a copy-on-write fault on it and fork
 * copies no page table for it.  Zeroed, in whole pages; NULL (errno) on
 * failure.  Resized with its old size (new bytes zeroed, it may move),
 * freed with its size.
 */
void *model_private_alloc(size_t size);
void *model_private_resize(void *p, size_t old, size_t size);
void model_private_free(void *p, size_t size);

#endif

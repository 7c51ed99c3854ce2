/* reload.h - SIGHUP reads the configuration again: the new one serves new connections, the old one lives until its last connection ends. */
#ifndef DISPATCHD_RELOAD_H
#define DISPATCHD_RELOAD_H

#include <stdbool.h>

struct config;

/*
 * At start-up, once cf is loaded: what reading it again takes (the
 * arguments, the configuration file's absolute path, the directory that
 * relative paths were resolved against).  Reloading is on from here in
 * this process; reload_here(false) turns it off (fork children, workers:
 * their parent reloads).
 */
void reload_init(int argc, char **argv, struct config *cf);
void reload_here(bool on);
bool reload_enabled(void);

/*
 * Reads the configuration file again.  The new configuration, ready to be
 * made the running one with reload_commit (its handlers set up, its new
 * listeners bound, the running ones it lists to be taken over), or NULL
 * when the running one stays: the file does not parse or cannot be
 * served (one line says why), or no file was given.  Settings that need a
 * restart (model, workers, max_line, user, pidfile, daemon) keep their
 * running values, each with a line saying so.
 */
struct config *reload_config(struct config *cur);

/*
 * Makes ncf the running configuration: it owns the listeners it took
 * over (old's others are closed), the per-source tables and counters of
 * its services that old had carry over, and old is retired: its services
 * serve the connections they have until the last ends (reload_collect).
 * The caller stopped watching old's listeners first.  With ready, tells
 * systemd READY=1 (the workers' supervisor does once the workers it
 * replaced stopped accepting).
 */
void reload_commit(struct config *old, struct config *ncf, bool ready);

/*
 * A model that cannot take the new configuration over (a failure after
 * reload_config): ncf freed, the running one stays.
 */
void reload_abandon(struct config *ncf);

/* The running configuration. */
struct config *reload_current(void);

/* The configurations retired and not yet freed, newest first (then
 * cf->retired_next). */
struct config *reload_retired(void);

/* Every service (index i of configuration c) still serving: those of the
 * running configuration cur, then the retired ones'. */
#define RELOAD_EACH_SVC(cur, c, i)                                \
	for (struct config *c = (cur); c != NULL;                 \
	     c = c == (cur) ? reload_retired() : c->retired_next) \
		for (size_t i = 0; i < c->nsvcs; i++)

/*
 * Frees the retired configurations that nothing uses any more (no
 * connection open, no handler output with a backlog).  Called where the
 * model holds no pointer into them: after its signals.
 */
void reload_collect(void);

/*
 * A connection admitted under cf (admit.c), or with dgram a datagram
 * answered after the loop went on (fork and thread models; its listener
 * socket stays open too): cf stays until reload_drop, which may be the
 * holder's last use of it.
 */
void reload_hold(struct config *cf, bool dgram);
void reload_drop(struct config *cf, bool dgram);

/* Relative paths made absolute against the start-up directory (-d, or a
 * reload after it, runs in "/"). */
void reload_absolute(struct config *cf);

#endif

/* daemon.h - the operating surface: detaching, pidfile, privileges, systemd notify. */
#ifndef DISPATCHD_DAEMON_H
#define DISPATCHD_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * Starts detaching (-d): double fork and setsid.  The original process
 * waits until the daemon calls daemon_ready() and exits 0, or exits 1 when
 * the daemon dies first (its errors still reach the terminal, because the
 * daemon keeps stderr until ready).  Returns 0 in the daemon, -1 on error.
 */
int daemon_detach(char *err, size_t errlen);

/*
 * The daemon is serving: tells the waiting original process, moves to /,
 * points stdio at /dev/null and diagnostics at syslog.  No-op without -d.
 */
void daemon_ready(void);

/*
 * Creates path holding this process's pid, mode 0644, locked (flock) for
 * as long as the process lives; another live holder is refused with its
 * pid named.  An existing file is reused only if it is a regular file
 * owned by the effective uid with one link (never through a symlink);
 * anything else is refused with the path and the reason.  If the file
 * is removed or replaced while being locked, it starts over (a bounded
 * number of times).  0, or -1 with err filled.
 */
int pidfile_create(const char *path, char *err, size_t errlen);
/*
 * In the process that created it: removes the pidfile if path still
 * names the file it locked (never another instance's), then unlocks.
 */
void pidfile_remove(void);
/* In a fork child: closes the inherited pidfile descriptor, so the lock
 * is the main process's alone. */
void pidfile_forget(void);

/* A user to switch to, looked up before anything is bound. */
struct privs {
	uid_t uid;
	gid_t gid;
	char name[256]; /* the passwd name, for initgroups */
};

/*
 * Looks user up (a name, else a numeric uid) into *out, so that a bad
 * --user fails before anything is bound and under -t.  Refuses an unknown
 * user and root (uid 0).  Needs no privileges.  0, or -1 with err filled
 * naming the value.
 */
int privs_lookup(const char *user, struct privs *out, char *err, size_t errlen);

/*
 * Drops to the user privs_lookup() found, and its groups: initgroups,
 * setgid, setuid, then checks that root cannot be regained.  0 or -1, err.
 */
int privs_drop(const struct privs *pv, char *err, size_t errlen);

/*
 * systemd's notify protocol, natively (no libsystemd): reads and clears
 * NOTIFY_SOCKET; notify_send() is a no-op when it was not set.
 */
void notify_init(void);
bool notify_enabled(void);
void notify_send(const char *msg);
/* "RELOADING=1" with MONOTONIC_USEC, as Type=notify-reload expects. */
void notify_reloading(void);

#endif

/* daemon.h - the operating surface: detaching, pidfile, privileges, systemd notify. */
#ifndef DISPATCHD_DAEMON_H
#define DISPATCHD_DAEMON_H

#include <stdbool.h>
#include <stddef.h>

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

/*
 * Drops to user (name or uid) and its groups: initgroups, setgid, setuid,
 * then checks that root cannot be regained.  Refuses root.  0 or -1, err.
 */
int privs_drop(const char *user, char *err, size_t errlen);

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

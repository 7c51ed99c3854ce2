/* daemon.c - detaching, pidfile, privileges and the systemd notify protocol. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

static int ready_fd = -1; /* the daemon's end of the start-up pipe */

/* A daemon that fails to start exits with the pipe open: the waiting
 * process reads end-of-file and exits 1. */
static void
ready_fd_close(void)
{
	if (ready_fd >= 0)
		close(ready_fd);
	ready_fd = -1;
}

int
daemon_detach(char *err, size_t errlen)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "cannot detach: pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "cannot detach: fork: %s", strerror(errno));
		return -1;
	}
	if (pid > 0) {
		/* The original process: exit with the daemon's start-up result. */
		ssize_t n;
		close(p[1]);
		while ((n = read(p[0], &c, 1)) < 0 && errno == EINTR)
			;
		close(p[0]);
		waitpid(pid, NULL, 0); /* the intermediate child exits at once */
		_exit(n == 1 ? 0 : 1);
	}
	close(p[0]);
	if (setsid() < 0) {
		snprintf(err, errlen, "cannot detach: setsid: %s", strerror(errno));
		return -1;
	}
	/* A second fork: the daemon is no session leader and can never
	 * acquire a controlling terminal. */
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "cannot detach: fork: %s", strerror(errno));
		return -1;
	}
	if (pid > 0) {
		close(p[1]);
		_exit(0);
	}
	ready_fd = p[1];
	atexit(ready_fd_close);
	return 0;
}

void
daemon_ready(void)
{
	int null;

	if (ready_fd < 0)
		return;
	if (chdir("/") < 0)
		log_warn("chdir /");
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		log_init(log_get_level(), true);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	while (write(ready_fd, "", 1) < 0 && errno == EINTR)
		;
	close(ready_fd);
	ready_fd = -1;
}

static char *pid_path;
static int pid_fd = -1;
static pid_t pid_owner;

/* Attempts at locking a pidfile that others keep replacing meanwhile. */
#define PIDFILE_TRIES 10

/*
 * Refuses a pidfile that someone else could write or that is not where
 * its name says: another user's file (they could write another pid into
 * it, or hold its lock to keep us from starting), a device or FIFO, a
 * hard link to some other file.  0, or -1 with err filled.
 */
static int
pidfile_trusted(const char *path, const struct stat *st, char *err, size_t errlen)
{
	if (!S_ISREG(st->st_mode)) {
		snprintf(err, errlen, "pidfile %s: not a regular file; refusing to use it", path);
		return -1;
	}
	if (st->st_uid != geteuid()) {
		snprintf(err, errlen,
		    "pidfile %s: owned by uid %lu, not by uid %lu that runs "
		    "dispatchd; refusing to use it",
		    path, (unsigned long)st->st_uid, (unsigned long)geteuid());
		return -1;
	}
	if (st->st_nlink != 1) {
		snprintf(err, errlen, "pidfile %s: has %lu hard links, not 1; refusing to use it",
		    path, (unsigned long)st->st_nlink);
		return -1;
	}
	return 0;
}

/*
 * Opens, checks and locks path.  The locked descriptor; -1 with err filled
 * (refused, locked by another process, or a system error); or -2 when path
 * no longer names the file that was locked (removed or replaced between
 * open and flock): try again.
 */
static int
pidfile_lock(const char *path, char *err, size_t errlen)
{
	struct stat st, now;
	char text[32];
	int fd;

	/* O_NONBLOCK, O_NOCTTY: a FIFO or terminal there must neither block
	 * us nor become our terminal before it is refused. */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "pidfile %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "pidfile %s: fstat: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (pidfile_trusted(path, &st, err, errlen) < 0) {
		close(fd);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		ssize_t n = errno == EWOULDBLOCK ? pread(fd, text, sizeof(text) - 1, 0) : -1;
		if (n > 0) {
			text[n] = '\0';
			text[strcspn(text, "\n")] = '\0';
			snprintf(err, errlen,
			    "pidfile %s is locked by a running dispatchd (pid %s)", path, text);
		} else {
			snprintf(err, errlen, "pidfile %s: cannot lock: %s", path, strerror(errno));
		}
		close(fd);
		return -1;
	}
	/*
	 * The holder we waited for may have removed the file between our
	 * open and our flock (pidfile_remove unlinks, then unlocks): we
	 * would hold a lock on a file nobody can see, while the next
	 * instance creates and locks a new one.
	 */
	if (lstat(path, &now) < 0) {
		if (errno == ENOENT) {
			close(fd);
			return -2;
		}
		snprintf(err, errlen, "pidfile %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "pidfile %s: fstat: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (now.st_dev != st.st_dev || now.st_ino != st.st_ino) {
		close(fd);
		return -2;
	}
	/* Linked elsewhere while we were locking it. */
	if (pidfile_trusted(path, &st, err, errlen) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
pidfile_create(const char *path, char *err, size_t errlen)
{
	char text[32];
	int fd, len;

	for (int tries = 1;; tries++) {
		fd = pidfile_lock(path, err, errlen);
		if (fd >= 0)
			break;
		if (fd == -1)
			return -1;
		if (tries == PIDFILE_TRIES) {
			snprintf(err, errlen,
			    "pidfile %s: replaced by someone else while being "
			    "locked, %d times; giving up",
			    path, PIDFILE_TRIES);
			return -1;
		}
	}
	/* A stale file of ours may have any mode: others may read it, only
	 * we may write it. */
	if (fchmod(fd, 0644) < 0) {
		snprintf(err, errlen, "pidfile %s: chmod 0644: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	/* Overwrite, then cut: a reader never sees an empty file. */
	len = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
	if (pwrite(fd, text, (size_t)len, 0) != len || ftruncate(fd, len) < 0) {
		snprintf(err, errlen, "pidfile %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if ((pid_path = strdup(path)) == NULL) {
		snprintf(err, errlen, "pidfile %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	pid_fd = fd;
	pid_owner = getpid();
	return 0;
}

void
pidfile_forget(void)
{
	if (pid_fd >= 0 && getpid() != pid_owner) {
		close(pid_fd);
		pid_fd = -1;
	}
}

void
pidfile_remove(void)
{
	struct stat ours, now;

	if (pid_fd < 0 || getpid() != pid_owner)
		return;
	/*
	 * Unlink while still holding the lock, then unlock: an instance
	 * that opened the file meanwhile gets the lock only after the file
	 * is gone, sees that (pidfile_lock) and starts over on a new file.
	 * Closing first would let it lock and write the file we then
	 * remove.  And only our file: if ours was removed and another
	 * instance made a new one, that one is not ours to remove.
	 */
	if (fstat(pid_fd, &ours) < 0) {
		log_warn("pidfile %s: fstat", pid_path);
	} else if (lstat(pid_path, &now) < 0) {
		if (errno != ENOENT)
			log_warn("pidfile %s", pid_path);
	} else if (now.st_dev != ours.st_dev || now.st_ino != ours.st_ino) {
		log_warnx("pidfile %s was replaced by another file; left in place", pid_path);
	} else if (unlink(pid_path) < 0 && errno != ENOENT) {
		log_warn("cannot remove %s", pid_path);
	}
	close(pid_fd);
	pid_fd = -1;
	free(pid_path);
	pid_path = NULL;
}

int
privs_lookup(const char *user, struct privs *out, char *err, size_t errlen)
{
	struct passwd *pw;
	char *end;

	pw = getpwnam(user);
	if (pw == NULL) {
		unsigned long uid = strtoul(user, &end, 10);
		if (*user != '\0' && *end == '\0')
			pw = getpwuid((uid_t)uid);
	}
	if (pw == NULL) {
		snprintf(err, errlen, "--user: no such user '%s'", user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "--user: refusing to run as root ('%s')", user);
		return -1;
	}
	/* pw points into getpw*'s static storage: keep what privs_drop needs. */
	if (strlen(pw->pw_name) >= sizeof(out->name)) {
		snprintf(err, errlen, "--user '%s': user name too long", user);
		return -1;
	}
	out->uid = pw->pw_uid;
	out->gid = pw->pw_gid;
	strcpy(out->name, pw->pw_name);
	return 0;
}

int
privs_drop(const struct privs *pv, char *err, size_t errlen)
{
	if (initgroups(pv->name, pv->gid) < 0 || setgid(pv->gid) < 0 || setuid(pv->uid) < 0) {
		snprintf(err, errlen, "--user %s: cannot drop privileges: %s", pv->name,
		    strerror(errno));
		return -1;
	}
	if (setuid(0) == 0 || getuid() != pv->uid || geteuid() != pv->uid || getgid() != pv->gid ||
	    getegid() != pv->gid) {
		snprintf(err, errlen, "--user %s: privileges were not dropped", pv->name);
		return -1;
	}
	return 0;
}

static struct sockaddr_un notify_addr;
static socklen_t notify_len;
static pid_t notify_pid; /* only the main process speaks for the service */

void
notify_init(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	size_t n;

	if (path == NULL)
		return;
	n = strlen(path);
	if ((path[0] == '/' || path[0] == '@') && n >= 2 && n < sizeof(notify_addr.sun_path)) {
		notify_addr.sun_family = AF_UNIX;
		memcpy(notify_addr.sun_path, path, n);
		if (path[0] == '@')
			notify_addr.sun_path[0] = '\0'; /* abstract namespace */
		notify_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
		notify_pid = getpid();
	} else {
		log_warnx("NOTIFY_SOCKET '%s' is not a unix socket path; ignored", path);
	}
	/* Children (fork model) must not speak for the service. */
	unsetenv("NOTIFY_SOCKET");
}

bool
notify_enabled(void)
{
	return notify_len > 0 && getpid() == notify_pid;
}

void
notify_send(const char *msg)
{
	int fd;

	if (!notify_enabled())
		return;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_warn("notify: socket");
		return;
	}
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&notify_addr,
	        notify_len) < 0)
		log_warn("notify: cannot send to the service manager");
	close(fd);
}

void
notify_reloading(void)
{
	struct timespec ts;
	char msg[64];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
	notify_send(msg);
}

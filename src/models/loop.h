/* loop.h - the readiness loop shared by select, poll and epoll, and its backends. */
#ifndef DISPATCHD_LOOP_H
#define DISPATCHD_LOOP_H

struct config;

/* LOOP_SHARED, with LOOP_READ when a listener is added: other processes
 * (workers) wait on the same socket; wake only one of them where the
 * backend can (epoll: EPOLLEXCLUSIVE).  Never changed in place. */
enum { LOOP_READ = 1, LOOP_WRITE = 2, LOOP_SHARED = 4 };

/* One ready descriptor as reported by a backend. */
struct fired {
	int fd;
	int mask;
};

/* The part of the loop a backend may use. */
struct loop {
	void *be_data;       /* the backend's own state */
	struct fired *fired; /* filled by wait(); room for setsize entries */
	int setsize;         /* descriptors below this may be registered */
};

/*
 * A readiness backend only reports readiness; it never calls user code.
 *   init  prepares for descriptors below max_fds; returns the limit it
 *         supports (<= max_fds; select: FD_SETSIZE), or -1 with errno;
 *   set   changes the interest of fd from old_mask to new_mask (either may
 *         be 0: add and delete); 0 or -1 with errno;
 *   wait  waits up to timeout_ms (-1: forever), fills fired[] and returns
 *         how many; 0 on timeout or EINTR; -1 on other errors.  Errors and
 *         hang-ups are reported as LOOP_READ | LOOP_WRITE so the owner
 *         finds them by reading or writing;
 *   fini  releases everything.
 */
struct backend {
	const char *name;
	int (*init)(struct loop *l, int max_fds);
	int (*set)(struct loop *l, int fd, int old_mask, int new_mask);
	int (*wait)(struct loop *l, int timeout_ms);
	void (*fini)(struct loop *l);
};

/* Runs the readiness model on backend be; returns the exit status. */
int loop_run(struct config *cf, const struct backend *be);

#endif

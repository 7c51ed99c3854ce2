/* thread.c - one thread per connection. */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../conf.h"
#include "../dgram.h"
#include "../log.h"
#include "../model.h"
#include "../net.h"
#include "../reload.h"
#include "../sig.h"
#include "blocking.h"

/* Handlers keep their buffers on the heap; serve() has a 32 KiB read
 * buffer on the stack.  Small stacks keep thousands of threads cheap. */
#define THREAD_STACK_SIZE (256 * 1024)
/*
 * A thread whose connection ended parks for the next one (at most
 * THREAD_PARKED_MAX of them, each at most THREAD_PARKED_SECS) instead of
 * exiting: creating a thread costs about a dozen system calls, its
 * stack's faults and, at its exit, the stack's madvise and the TLB
 * shootdowns that sends to the other CPUs; a handover costs a futex wake.
 * A parked thread sleeps on a futex word of its own, not a condition
 * variable: woken, it goes to work without taking the lock (a condition
 * wait would take it back, contended, and pay one more futex call to
 * release it).
 */
#define THREAD_PARKED_MAX  32
#define THREAD_PARKED_SECS 5

/* A connection's worker, or (dgram) a datagram's, which owns a copy of
 * the datagram's bytes after the struct. */
struct worker {
	struct client c;
	struct config *cf;
	struct worker *prev;
	struct worker *next;
	bool dgram;
	struct dgram_msg m;
};

/* A parked thread, on its own stack: handed the next worker or told to go. */
enum { PARK_WAIT, PARK_WORK, PARK_QUIT };
struct parked {
	_Atomic int state; /* the futex word: PARK_*, set under lock */
	struct worker *w;  /* the work handed over (PARK_WORK) */
	struct parked *next;
};

/* The live workers, so that shutdown can cut their connections. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gone; /* on CLOCK_MONOTONIC, see thread_run */
static struct worker *workers;
static long nworkers;
static struct parked *parked; /* under lock */
static long nparked;
static bool parking_closed; /* stopping: threads exit after their work */
static pthread_attr_t attr; /* detached, THREAD_STACK_SIZE */

static long
workers_count(void)
{
	long n;

	pthread_mutex_lock(&lock);
	n = nworkers;
	pthread_mutex_unlock(&lock);
	return n;
}

/*
 * Sleeps on p's word until it is handed work (returned) or told to go, or
 * until (CLOCK_MONOTONIC) passed (NULL).  Whoever hands work or says quit
 * unlists p first and wakes it with the lock held, so p (on this stack)
 * outlives the wake: going to work, this thread takes the lock before it
 * could exit; told to go, it takes it once on the way out.
 */
static struct worker *
park(struct parked *p, const struct timespec *until)
{
	int st;

	while ((st = atomic_load_explicit(&p->state, memory_order_acquire)) == PARK_WAIT) {
		/* Absolute, on CLOCK_MONOTONIC (no FUTEX_CLOCK_REALTIME). */
		if (syscall(SYS_futex, &p->state, FUTEX_WAIT_BITSET_PRIVATE, PARK_WAIT, until, NULL,
		        FUTEX_BITSET_MATCH_ANY) == 0 ||
		    errno != ETIMEDOUT)
			continue; /* woken, EAGAIN (changed), EINTR: look again */
		pthread_mutex_lock(&lock);
		st = atomic_load_explicit(&p->state, memory_order_acquire);
		if (st == PARK_WAIT) {
			/* Unused: still listed; unlisted here. */
			struct parked **pp = &parked;
			while (*pp != p)
				pp = &(*pp)->next;
			*pp = p->next;
			nparked--;
		}
		pthread_mutex_unlock(&lock);
		return st == PARK_WORK ? p->w : NULL;
	}
	if (st == PARK_QUIT) {
		pthread_mutex_lock(&lock); /* unpark_all is done with p */
		pthread_mutex_unlock(&lock);
		return NULL;
	}
	return p->w;
}

/* Hands p its state (under lock) and wakes it. */
static void
unpark(struct parked *p, int state)
{
	atomic_store_explicit(&p->state, state, memory_order_release);
	syscall(SYS_futex, &p->state, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/*
 * Serves w and frees it; then, under one hold of the lock, counts it out
 * and parks this thread until it is handed work (returned) or is to exit
 * (NULL): too many parked, stopping, or THREAD_PARKED_SECS unused.
 */
static struct worker *
serve_one(struct worker *w, struct parked *p)
{
	struct config *cf = w->cf;
	long max_clients = cf->max_clients;
	struct timespec until;

	if (w->dgram)
		serve_datagram(w->c.ls, &w->m);
	else
		serve(w->cf, &w->c, SERVE_WORKER);
	/* Unlink before closing: shutdown never touches a reused number. */
	pthread_mutex_lock(&lock);
	if (w->prev)
		w->prev->next = w->next;
	else
		workers = w->next;
	if (w->next)
		w->next->prev = w->prev;
	pthread_mutex_unlock(&lock);
	if (!w->dgram) {
		close(w->c.fd);
		/* Its last use of the configuration: a reload may free it now. */
		serve_release(&w->c);
	} else {
		reload_drop(cf, true);
	}
	free(w);
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += THREAD_PARKED_SECS;
	/* Counted out only now: once the last worker is, the main thread may
	 * return and exit() free the configuration (audit finding 8); a
	 * parked thread touches none of it. */
	pthread_mutex_lock(&lock);
	/* A slot is free: the accept loop may read its datagram listeners again. */
	if (nworkers-- >= max_clients)
		sig_wake();
	pthread_cond_signal(&gone);
	if (parking_closed || nparked >= THREAD_PARKED_MAX) {
		pthread_mutex_unlock(&lock);
		return NULL;
	}
	p->w = NULL;
	atomic_store_explicit(&p->state, PARK_WAIT, memory_order_relaxed);
	p->next = parked;
	parked = p;
	nparked++;
	pthread_mutex_unlock(&lock);
	return park(p, &until);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct parked p;

	while ((w = serve_one(w, &p)) != NULL)
		;
	return NULL;
}

/* Lists w and starts its thread; a positive errno when it could not
 * (w freed). */
static int
start(struct worker *w)
{
	pthread_t tid;
	sigset_t all, old;
	int err;

	w->prev = NULL;
	pthread_mutex_lock(&lock);
	w->next = workers;
	if (workers)
		workers->prev = w;
	workers = w;
	nworkers++;
	if (parked != NULL) {
		/* A parked thread takes it. */
		struct parked *p = parked;
		parked = p->next;
		nparked--;
		p->w = w;
		unpark(p, PARK_WORK);
		pthread_mutex_unlock(&lock);
		return 0;
	}
	pthread_mutex_unlock(&lock);
	/* Workers start with signals blocked: they go to the main thread,
	 * which waits on the self-pipe. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = pthread_create(&tid, &attr, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err != 0) {
		pthread_mutex_lock(&lock);
		if (w->next)
			w->next->prev = NULL;
		workers = w->next;
		nworkers--;
		pthread_mutex_unlock(&lock);
		free(w);
	}
	return err;
}

/*
 * Waits until no worker is left, the deadline (CLOCK_MONOTONIC) passed or
 * a second stop signal came.  A condition wait is not interrupted by
 * signals, so during shutdown (only then) it looks at the flag every
 * 100 ms.
 */
static void
wait_workers(const struct timespec *deadline, bool until_second_signal)
{
	pthread_mutex_lock(&lock);
	while (nworkers > 0 && !(until_second_signal && sig_stop >= 2)) {
		struct timespec slice;
		clock_gettime(CLOCK_MONOTONIC, &slice);
		if (slice.tv_sec > deadline->tv_sec ||
		    (slice.tv_sec == deadline->tv_sec && slice.tv_nsec >= deadline->tv_nsec))
			break;
		slice.tv_nsec += 100 * 1000000L;
		if (slice.tv_nsec >= 1000000000L) {
			slice.tv_sec++;
			slice.tv_nsec -= 1000000000L;
		}
		if (slice.tv_sec > deadline->tv_sec ||
		    (slice.tv_sec == deadline->tv_sec && slice.tv_nsec > deadline->tv_nsec))
			slice = *deadline;
		pthread_cond_timedwait(&gone, &lock, &slice);
	}
	pthread_mutex_unlock(&lock);
}

static void
stop_workers(struct config *cf)
{
	struct timespec deadline;
	long left;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += cf->shutdown_timeout;
	if (sig_stop < 2)
		wait_workers(&deadline, true);
	/* Time is up: shutdown() wakes every blocked read (it returns what
	 * was received, then end of stream) and write, so each worker hands
	 * the rest to its handler and ends; the cut wakes workers waiting for
	 * a logger output. */
	sig_cut_now();
	pthread_mutex_lock(&lock);
	left = nworkers;
	for (struct worker *w = workers; w; w = w->next)
		if (!w->dgram)
			shutdown(w->c.fd, SHUT_RDWR);
	pthread_mutex_unlock(&lock);
	if (left == 0)
		return;
	log_info("cut %ld connection%s at shutdown", left, left == 1 ? "" : "s");
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += 5;
	wait_workers(&deadline, false); /* bounded: every socket is shut down */
	if (nworkers > 0) {
		log_errx("%ld thread%s did not finish; exiting", nworkers,
		    nworkers == 1 ? "" : "s");
		net_close_all(cf);
		_exit(1);
	}
}

static int
thread_start(struct config *cf)
{
	pthread_condattr_t ca;

	(void)cf;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&gone, &ca);
	pthread_condattr_destroy(&ca);
	parking_closed = false;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, THREAD_STACK_SIZE);
	return 0;
}

static int
thread_dispatch(struct config *cf, struct client *c)
{
	struct worker *w = calloc(1, sizeof(*w));
	int err = ENOMEM;

	if (w != NULL) {
		w->c = *c;
		w->cf = cf;
		err = start(w);
	}
	if (err != 0) {
		errno = err;
		log_warn("%s: cannot start a thread", c->peer.text);
		return -1;
	}
	return 0;
}

/* One thread per datagram (socketserver's ThreadingUDPServer), with its
 * own copy of the bytes. */
static int
thread_datagram(struct config *cf, struct listener *ls, struct dgram_msg *m)
{
	struct worker *w = calloc(1, sizeof(*w) + m->len);
	int err = ENOMEM;

	if (w != NULL) {
		w->c.fd = -1;
		w->c.ls = ls;
		w->c.svc = ls->svc;
		w->cf = cf;
		w->dgram = true;
		reload_hold(cf, true); /* its listener stays open until it answered */
		w->m = *m;
		memcpy(w + 1, m->p, m->len);
		w->m.p = (const char *)(w + 1);
		if ((err = start(w)) != 0)
			reload_drop(cf, true);
	}
	if (err != 0) {
		errno = err;
		log_warn("%s: cannot start a thread", ls->addr);
		return -1;
	}
	return 0;
}

/* Stopping: the parked threads go, and those still serving will not park. */
static void
unpark_all(void)
{
	pthread_mutex_lock(&lock);
	parking_closed = true;
	for (struct parked *p = parked, *next; p != NULL; p = next) {
		next = p->next;
		unpark(p, PARK_QUIT);
	}
	parked = NULL;
	nparked = 0;
	pthread_mutex_unlock(&lock);
}

static void
thread_stop(struct config *cf)
{
	pthread_attr_destroy(&attr);
	unpark_all();
	stop_workers(cf);
}

static const struct dispatcher thread_dispatcher = {
	.start = thread_start,
	.active = workers_count,
	.dispatch = thread_dispatch,
	.datagram = thread_datagram,
	.stop = thread_stop,
};

static int
thread_run(struct config *cf)
{
	return blocking_run(cf, &thread_dispatcher);
}

const struct model model_thread = {
	.name = "thread",
	.summary = "one thread per connection",
	.run = thread_run,
};

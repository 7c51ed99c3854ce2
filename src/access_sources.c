/* access_sources.c - the per-source table (max_per_source, rate_limit), shared with fork children: access_setup, access_admit(_datagram), access_release. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "access.h"
#include "access_int.h"
#include "access_table.h"
#include "conf.h"

/* CLOCK_MONOTONIC: one clock for every process sharing the table. */
static long long
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long (*clock_ns)(void) = mono_ns;

void
access_set_clock(long long (*now_ns)(void))
{
	clock_ns = now_ns != NULL ? now_ns : mono_ns;
}

/* Brings the bucket of s up to now (the clock only moves forward here). */
static void
refill(const struct access_table *t, struct src *s, long long now)
{
	long long dt = now - s->stamp;

	if (t->rate == 0 || dt <= 0)
		return;
	if (dt > TOKEN)
		dt = TOKEN; /* a second fills any bucket */
	s->tokens += dt * t->rate;
	if (s->tokens > t->rate * TOKEN)
		s->tokens = t->rate * TOKEN;
	s->stamp = now;
}

static bool
bucket_full(const struct access_table *t, const struct src *s)
{
	return t->rate == 0 || s->tokens >= t->rate * TOKEN;
}

/*
 * After s was touched: a source with connections is kept, one with
 * neither connections nor a partly empty bucket is forgotten, the others
 * go to the end of the idle list.
 */
static void
settle(struct access_table *t, struct src *s)
{
	if (s->conns > 0)
		idle_del(t, s);
	else if (bucket_full(t, s))
		src_forget(t, s);
	else
		idle_push(t, s);
}

/* Forgets idle sources whose bucket is full again, oldest first, a few at most. */
static void
sweep(struct access_table *t, long long now)
{
	for (int i = 0; i < SWEEP && t->idle_head != NIL; i++) {
		struct src *s = &t->nodes[t->idle_head];

		refill(t, s, now);
		if (!bucket_full(t, s))
			break;
		src_forget(t, s);
	}
}

/*
 * Doubles the buckets in use while the table outgrows them, in place:
 * from nb to 2nb buckets, the chain of bucket i splits into buckets i and
 * i + nb (NIL until now), each keeping its order.
 */

/*
 * Takes t->lock: true, or false when it cannot be had (the creator
 * destroyed it, exiting, while this process still serves: the caller goes
 * on without the per-source limits rather than stall or race).
 *
 * EOWNERDEAD: a process died holding it (SIGKILL, the OOM killer, a crash)
 * and the lock is ours.  It may have died halfway through an update: a
 * chain or the idle list cut or looped, a grow half done, a count lost.
 * Going on with that could loop forever under the lock, or leave sources
 * that nothing ever finds, filling the table for good.  So the table is
 * emptied and marked consistent: every source starts afresh, which only
 * makes the limits more lenient for a while (a later release of a
 * connection admitted before finds nothing, or lowers a newer count), as
 * when the longest idle source is forgotten.  Rare enough for that: the
 * critical sections are short (a grow is the longest) and never call out
 * (but to the clock), so a process dies in one only killed at that instant.
 */
static bool
table_lock(struct access_table *t)
{
	switch (pthread_mutex_lock(&t->lock)) {
	case 0:
		return true;
	case EOWNERDEAD:
		table_reset(t);
		pthread_mutex_consistent(&t->lock); /* robust and inconsistent: cannot fail */
		return true;
	default:
		return false;
	}
}

static void
seed(struct access_table *t)
{
	uint64_t k[2];

	if (getrandom(k, sizeof(k), GRND_NONBLOCK) != (ssize_t)sizeof(k)) {
		/* Early boot without entropy: weaker, still not a constant. */
		k[0] = (uint64_t)mono_ns() ^ ((uint64_t)getpid() << 32);
		k[1] = (uint64_t)(uintptr_t)t ^ (uint64_t)time(NULL);
	}
	t->k0 = k[0];
	t->k1 = k[1];
}

/* A process-shared, robust mutex at m.  0, or an errno value. */
static int
lock_init(pthread_mutex_t *m)
{
	pthread_mutexattr_t attr;
	int e;

	if ((e = pthread_mutexattr_init(&attr)) != 0)
		return e;
	if ((e = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED)) == 0 &&
	    (e = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST)) == 0)
		e = pthread_mutex_init(m, &attr);
	pthread_mutexattr_destroy(&attr);
	return e;
}

int
access_setup(struct service *svc, char *err, size_t errlen)
{
	struct access_table *t;
	int e;

	if (svc->sources != NULL || (svc->max_per_source <= 0 && svc->rate_limit <= 0))
		return 0;
	/* Zero-filled: every bucket NIL, every list empty. */
	t = mmap(NULL, sizeof(*t), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (t == MAP_FAILED) {
		snprintf(err, errlen, "per-source table: cannot map %zu bytes: %s", sizeof(*t),
		    strerror(errno));
		return -1;
	}
	if ((e = lock_init(&t->lock)) != 0) {
		snprintf(err, errlen, "per-source table: lock: %s", strerror(e));
		munmap(t, sizeof(*t));
		return -1;
	}
	t->creator = getpid();
	t->nbuckets = BUCKETS_MIN;
	t->max_per_source = svc->max_per_source > 0 ? (unsigned long)svc->max_per_source : 0;
	t->rate = svc->rate_limit > 0 ? svc->rate_limit : 0;
	seed(t);
	svc->sources = t;
	return 0;
}

/*
 * Every process unmaps its own view; only the creator destroys the lock,
 * so a fork child exiting through conf_free (exit() runs main.c's
 * cleanup) leaves it to the processes still serving.
 */
void
access_adopt(struct service *nsvc, struct service *osvc)
{
	struct access_table *t = osvc->sources;

	if (t == NULL || (nsvc->max_per_source <= 0 && nsvc->rate_limit <= 0) || !table_lock(t))
		return;
	t->max_per_source = nsvc->max_per_source > 0 ? (unsigned long)nsvc->max_per_source : 0;
	t->rate = nsvc->rate_limit > 0 ? nsvc->rate_limit : 0;
	pthread_mutex_unlock(&t->lock);
	nsvc->sources = t;
}

void
access_fini(struct service *svc)
{
	struct access_table *t = svc->sources;

	if (t == NULL)
		return;
	if (t->creator == getpid())
		pthread_mutex_destroy(&t->lock);
	munmap(t, sizeof(*t));
	svc->sources = NULL;
}

/*
 * access_admit (conn: a connection, counted against max_per_source) and
 * access_admit_datagram (!conn: the rate alone).
 */
static enum refuse_reason
admit(struct service *svc, const struct sockaddr *sa, socklen_t len, bool conn)
{
	struct access_table *t = svc->sources;
	enum refuse_reason why = REFUSE_NONE;
	unsigned char a[16], alen;
	unsigned long max = t != NULL && conn ? t->max_per_source : 0;
	struct src *s;
	long long now;

	/* The common case: nothing configured, nothing to look at. */
	if (t == NULL && svc->access.allow.n == 0 && svc->access.deny.n == 0)
		return REFUSE_NONE;
	if ((alen = peer_addr(sa, len, a)) == 0)
		return REFUSE_NONE; /* unix peers */
	if ((why = rules_check(&svc->access, a, alen)) != REFUSE_NONE || t == NULL)
		return why;
	/* A datagram to a service with max_per_source alone: nothing to count. */
	if (max == 0 && t->rate == 0)
		return REFUSE_NONE;

	if (!table_lock(t))
		return REFUSE_NONE; /* nothing counted: nothing to release */
	now = t->rate > 0 ? clock_ns() : 0;
	sweep(t, now);
	if ((s = src_find(t, a, alen)) != NULL)
		refill(t, s, now);
	else if ((s = src_new(t, a, alen, now)) == NULL) {
		/* Rate limit alone: the connection needs no release, serve it. */
		why = max > 0 ? REFUSE_PER_SOURCE : REFUSE_NONE;
		goto out;
	}
	if (max > 0 && s->conns >= max)
		why = REFUSE_PER_SOURCE; /* and no token taken */
	else if (t->rate > 0 && s->tokens < TOKEN)
		why = REFUSE_RATE;
	else {
		if (t->rate > 0)
			s->tokens -= TOKEN;
		if (max > 0)
			s->conns++;
	}
	settle(t, s);
out:
	pthread_mutex_unlock(&t->lock);
	return why;
}

enum refuse_reason
access_admit(struct service *svc, const struct sockaddr *sa, socklen_t len)
{
	return admit(svc, sa, len, true);
}

enum refuse_reason
access_admit_datagram(struct service *svc, const struct sockaddr *sa, socklen_t len)
{
	return admit(svc, sa, len, false);
}

void
access_release(struct service *svc, const struct sockaddr *sa, socklen_t len)
{
	struct access_table *t = svc->sources;
	unsigned char a[16], alen;
	struct src *s;
	long long now;

	/* Only max_per_source counts connections; a rate has nothing to give back. */
	if (t == NULL || t->max_per_source == 0 || (alen = peer_addr(sa, len, a)) == 0 ||
	    !table_lock(t))
		return;
	now = t->rate > 0 ? clock_ns() : 0;
	if ((s = src_find(t, a, alen)) != NULL && s->conns > 0) {
		refill(t, s, now);
		s->conns--;
		settle(t, s);
	}
	sweep(t, now);
	pthread_mutex_unlock(&t->lock);
}

void
access_forget(struct service *svc)
{
	struct access_table *t = svc->sources;

	if (t == NULL || !table_lock(t))
		return;
	table_reset(t);
	pthread_mutex_unlock(&t->lock);
}

size_t
access_sources(struct service *svc)
{
	struct access_table *t = svc->sources;
	size_t n;

	if (t == NULL || !table_lock(t))
		return 0;
	n = t->n;
	pthread_mutex_unlock(&t->lock);
	return n;
}

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
#include "conf.h"

/*
 * Token buckets count in units of 1/TOKEN connection: a rate of R per
 * second refills exactly R units a nanosecond, so refilling is one integer
 * multiplication.  With R <= 1000000 and at most one second of refill
 * (which fills any bucket), nothing overflows 64 bits.
 */
#define TOKEN 1000000000LL
/* Sources without connections looked at per call, to forget those whose
 * bucket is full again: keeps the table small without a timer. */
#define SWEEP       8
#define BUCKETS_MIN 64
/* No node: an empty chain or list.  Node 0 is never handed out, so that
 * the zero-filled pages of a fresh mapping are empty buckets. */
#define NIL 0

/*
 * The table is one shared anonymous mapping, made by access_setup and
 * inherited by every process forked afterwards (the fork model's
 * children, workers), which all count against the same sources: a child
 * that reads a PROXY header admits and releases the real client there.
 *
 * Links are node indices, not pointers.  A mapping inherited through fork
 * sits at the same address, so pointers would do there; indices hold
 * wherever the table is mapped (a worker that maps it otherwise, one day)
 * and are half a pointer's size: 56-byte nodes instead of 72, 4-byte
 * buckets, fewer pages touched.
 *
 * Everything is reserved for ACCESS_TABLE_MAX sources and mapped with
 * MAP_NORESERVE: only the pages used are ever touched.  The buckets in use
 * are the first nbuckets, doubled in place; nodes are handed out from
 * nodes[1] upwards (used) and come back on a free list.
 */
struct src {
	uint32_t next;  /* hash chain, or the free list */
	uint32_t iprev; /* idle list: sources without connections, */
	uint32_t inext; /* least recently touched first */
	bool idle;
	unsigned char len;      /* 4 (IPv4) or 16 (IPv6) */
	unsigned char addr[16]; /* IPv4 in the first 4 bytes, the rest 0 */
	long long stamp;        /* ns: when tokens was last brought up to date */
	long long tokens;       /* rate_limit * TOKEN when full */
	unsigned long conns;    /* counted only with max_per_source */
};

struct access_table {
	pthread_mutex_t lock; /* process-shared and robust: see table_lock */
	pid_t creator;        /* the process that made it: only it destroys the lock */
	size_t nbuckets;      /* in use, a power of two; the others are all NIL */
	size_t n;             /* sources in the table */
	uint32_t used;        /* nodes[1..used] were handed out once */
	uint32_t free;        /* nodes given back */
	uint32_t idle_head;
	uint32_t idle_tail;
	uint64_t k0, k1; /* hash key: chains no client can predict */
	unsigned long max_per_source;
	long long rate; /* per second; 0: none */
	uint32_t buckets[ACCESS_TABLE_MAX];
	struct src nodes[ACCESS_TABLE_MAX + 1]; /* nodes[NIL] unused */
};

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

/* --- the table of sources (every function below runs under t->lock) --- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
/* clang-format off */
#define SIPROUND                                                           \
	do {                                                               \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                   \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                   \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
	} while (0)
/* clang-format on */

/* SipHash-2-4 of the 16 address bytes and their length. */
static uint64_t
src_hash(const struct access_table *t, const unsigned char *a, unsigned char alen)
{
	uint64_t v0 = t->k0 ^ 0x736f6d6570736575ULL, v1 = t->k1 ^ 0x646f72616e646f6dULL;
	uint64_t v2 = t->k0 ^ 0x6c7967656e657261ULL, v3 = t->k1 ^ 0x7465646279746573ULL;
	uint64_t m[3];

	memcpy(&m[0], a, 8);
	memcpy(&m[1], a + 8, 8);
	m[2] = (uint64_t)17 << 56 | alen;
	for (int i = 0; i < 3; i++) {
		v3 ^= m[i];
		SIPROUND;
		SIPROUND;
		v0 ^= m[i];
	}
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

static uint32_t
idx(const struct access_table *t, const struct src *s)
{
	return (uint32_t)(s - t->nodes);
}

static uint32_t *
src_slot(struct access_table *t, const unsigned char *a, unsigned char alen)
{
	return &t->buckets[src_hash(t, a, alen) & (t->nbuckets - 1)];
}

static struct src *
src_find(struct access_table *t, const unsigned char *a, unsigned char alen)
{
	struct src *s;

	for (uint32_t i = *src_slot(t, a, alen); i != NIL; i = s->next) {
		s = &t->nodes[i];
		if (s->len == alen && memcmp(s->addr, a, 16) == 0)
			return s;
	}
	return NULL;
}

static void
idle_del(struct access_table *t, struct src *s)
{
	if (!s->idle)
		return;
	*(s->iprev != NIL ? &t->nodes[s->iprev].inext : &t->idle_head) = s->inext;
	*(s->inext != NIL ? &t->nodes[s->inext].iprev : &t->idle_tail) = s->iprev;
	s->iprev = s->inext = NIL;
	s->idle = false;
}

static void
idle_push(struct access_table *t, struct src *s)
{
	idle_del(t, s);
	s->iprev = t->idle_tail;
	*(t->idle_tail != NIL ? &t->nodes[t->idle_tail].inext : &t->idle_head) = idx(t, s);
	t->idle_tail = idx(t, s);
	s->idle = true;
}

/* Takes s out of the table (the caller frees or reuses it). */
static void
src_unlink(struct access_table *t, struct src *s)
{
	uint32_t *pp = src_slot(t, s->addr, s->len);

	while (*pp != idx(t, s))
		pp = &t->nodes[*pp].next;
	*pp = s->next;
	idle_del(t, s);
	t->n--;
}

/* Takes s out of the table and gives its node back. */
static void
src_forget(struct access_table *t, struct src *s)
{
	src_unlink(t, s);
	s->next = t->free;
	t->free = idx(t, s);
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
static void
grow(struct access_table *t)
{
	size_t nb = t->nbuckets;

	if (t->n < nb || nb * 2 > ACCESS_TABLE_MAX)
		return;
	for (size_t i = 0; i < nb; i++) {
		uint32_t *lo = &t->buckets[i], *hi = &t->buckets[i + nb];

		while (*lo != NIL) {
			struct src *s = &t->nodes[*lo];

			if ((src_hash(t, s->addr, s->len) & nb) == 0) {
				lo = &s->next;
				continue;
			}
			*hi = *lo;
			*lo = s->next;
			s->next = NIL;
			hi = &s->next;
		}
	}
	t->nbuckets = nb * 2;
}

/*
 * A new source with a full bucket, or NULL when the table is full of
 * sources with connections.
 */
static struct src *
src_new(struct access_table *t, const unsigned char *a, unsigned char alen, long long now)
{
	struct src *s;
	uint32_t *slot;

	if (t->n < ACCESS_TABLE_MAX) {
		grow(t);
		/* Fewer than the maximum in the table: a node is free, or never used. */
		if (t->free != NIL) {
			s = &t->nodes[t->free];
			t->free = s->next;
		} else
			s = &t->nodes[++t->used];
	} else {
		/* Forgetting the longest idle source only makes its limit more lenient. */
		if (t->idle_head == NIL)
			return NULL;
		s = &t->nodes[t->idle_head];
		src_unlink(t, s);
	}
	memset(s, 0, sizeof(*s));
	memcpy(s->addr, a, 16);
	s->len = alen;
	s->stamp = now;
	s->tokens = t->rate * TOKEN;
	slot = src_slot(t, a, alen);
	s->next = *slot;
	*slot = idx(t, s);
	t->n++;
	return s;
}

/*
 * Empties the table: every source forgotten, the buckets back to
 * BUCKETS_MIN.  A grow interrupted may have filled part of the upper half.
 */
static void
table_reset(struct access_table *t)
{
	size_t nb = t->nbuckets < ACCESS_TABLE_MAX / 2 ? t->nbuckets * 2 : ACCESS_TABLE_MAX;

	memset(t->buckets, 0, nb * sizeof(t->buckets[0]));
	t->nbuckets = BUCKETS_MIN;
	t->n = 0;
	t->used = 0;
	t->free = NIL;
	t->idle_head = t->idle_tail = NIL;
}

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

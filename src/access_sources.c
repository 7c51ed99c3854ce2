/* access_sources.c - the per-source table (max_per_source, rate_limit): access_setup, access_admit(_datagram), access_release. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

struct src {
	struct src *next;    /* hash chain */
	struct src *iprev;   /* idle list: sources without connections, */
	struct src *inext;   /* least recently touched first */
	long long stamp;     /* ns: when tokens was last brought up to date */
	long long tokens;    /* rate_limit * TOKEN when full */
	unsigned long conns; /* counted only with max_per_source */
	bool idle;
	unsigned char len;      /* 4 (IPv4) or 16 (IPv6) */
	unsigned char addr[16]; /* IPv4 in the first 4 bytes, the rest 0 */
};

struct access_table {
	pthread_mutex_t lock;
	struct src **buckets;
	size_t nbuckets; /* a power of two */
	size_t n;
	struct src *idle_head;
	struct src *idle_tail;
	uint64_t k0, k1; /* hash key: chains no client can predict */
	unsigned long max_per_source;
	long long rate; /* per second; 0: none */
};

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

static struct src **
src_slot(struct access_table *t, const unsigned char *a, unsigned char alen)
{
	return &t->buckets[src_hash(t, a, alen) & (t->nbuckets - 1)];
}

static struct src *
src_find(struct access_table *t, const unsigned char *a, unsigned char alen)
{
	struct src *s;

	for (s = *src_slot(t, a, alen); s != NULL; s = s->next)
		if (s->len == alen && memcmp(s->addr, a, 16) == 0)
			return s;
	return NULL;
}

static void
idle_del(struct access_table *t, struct src *s)
{
	if (!s->idle)
		return;
	if (s->iprev != NULL)
		s->iprev->inext = s->inext;
	else
		t->idle_head = s->inext;
	if (s->inext != NULL)
		s->inext->iprev = s->iprev;
	else
		t->idle_tail = s->iprev;
	s->iprev = s->inext = NULL;
	s->idle = false;
}

static void
idle_push(struct access_table *t, struct src *s)
{
	idle_del(t, s);
	s->iprev = t->idle_tail;
	if (t->idle_tail != NULL)
		t->idle_tail->inext = s;
	else
		t->idle_head = s;
	t->idle_tail = s;
	s->idle = true;
}

/* Takes s out of the table (the caller frees or reuses it). */
static void
src_unlink(struct access_table *t, struct src *s)
{
	struct src **pp = src_slot(t, s->addr, s->len);

	while (*pp != s)
		pp = &(*pp)->next;
	*pp = s->next;
	idle_del(t, s);
	t->n--;
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
	else if (bucket_full(t, s)) {
		src_unlink(t, s);
		free(s);
	} else
		idle_push(t, s);
}

/* Forgets idle sources whose bucket is full again, oldest first, a few at most. */
static void
sweep(struct access_table *t, long long now)
{
	for (int i = 0; i < SWEEP && t->idle_head != NULL; i++) {
		struct src *s = t->idle_head;

		refill(t, s, now);
		if (!bucket_full(t, s))
			break;
		src_unlink(t, s);
		free(s);
	}
}

/* Doubles the buckets while the table outgrows them; a failure only makes chains longer. */
static void
grow(struct access_table *t)
{
	size_t nb = t->nbuckets * 2;
	struct src **b, *s, *next;

	if (t->n < t->nbuckets || nb > ACCESS_TABLE_MAX || (b = calloc(nb, sizeof(*b))) == NULL)
		return;
	for (size_t i = 0; i < t->nbuckets; i++) {
		for (s = t->buckets[i]; s != NULL; s = next) {
			size_t k = src_hash(t, s->addr, s->len) & (nb - 1);

			next = s->next;
			s->next = b[k];
			b[k] = s;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = nb;
}

/*
 * A new source with a full bucket, or NULL when the table is full of
 * sources with connections (or memory is short and no idle one is left).
 */
static struct src *
src_new(struct access_table *t, const unsigned char *a, unsigned char alen, long long now)
{
	struct src *s = NULL, **slot;

	if (t->n < ACCESS_TABLE_MAX) {
		grow(t);
		s = malloc(sizeof(*s));
	}
	if (s == NULL) {
		/* Forgetting the longest idle source only makes its limit more lenient. */
		if ((s = t->idle_head) == NULL)
			return NULL;
		src_unlink(t, s);
	}
	memset(s, 0, sizeof(*s));
	memcpy(s->addr, a, 16);
	s->len = alen;
	s->stamp = now;
	s->tokens = t->rate * TOKEN;
	slot = src_slot(t, a, alen);
	s->next = *slot;
	*slot = s;
	t->n++;
	return s;
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

int
access_setup(struct service *svc, char *err, size_t errlen)
{
	struct access_table *t;

	if (svc->sources != NULL || (svc->max_per_source <= 0 && svc->rate_limit <= 0))
		return 0;
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->buckets = calloc(BUCKETS_MIN, sizeof(*t->buckets))) == NULL) {
		free(t);
		snprintf(err, errlen, "per-source table: out of memory");
		return -1;
	}
	if ((errno = pthread_mutex_init(&t->lock, NULL)) != 0) {
		snprintf(err, errlen, "per-source table: %s", strerror(errno));
		free(t->buckets);
		free(t);
		return -1;
	}
	t->nbuckets = BUCKETS_MIN;
	t->max_per_source = svc->max_per_source > 0 ? (unsigned long)svc->max_per_source : 0;
	t->rate = svc->rate_limit > 0 ? svc->rate_limit : 0;
	seed(t);
	svc->sources = t;
	return 0;
}

void
access_fini(struct service *svc)
{
	struct access_table *t = svc->sources;
	struct src *s, *next;

	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nbuckets; i++) {
		for (s = t->buckets[i]; s != NULL; s = next) {
			next = s->next;
			free(s);
		}
	}
	free(t->buckets);
	pthread_mutex_destroy(&t->lock);
	free(t);
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

	pthread_mutex_lock(&t->lock);
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
	if (t == NULL || t->max_per_source == 0 || (alen = peer_addr(sa, len, a)) == 0)
		return;
	pthread_mutex_lock(&t->lock);
	now = t->rate > 0 ? clock_ns() : 0;
	if ((s = src_find(t, a, alen)) != NULL && s->conns > 0) {
		refill(t, s, now);
		s->conns--;
		settle(t, s);
	}
	sweep(t, now);
	pthread_mutex_unlock(&t->lock);
}

size_t
access_sources(struct service *svc)
{
	struct access_table *t = svc->sources;
	size_t n;

	if (t == NULL)
		return 0;
	pthread_mutex_lock(&t->lock);
	n = t->n;
	pthread_mutex_unlock(&t->lock);
	return n;
}

/* access_table.h - shared by access_sources.c and access_table.c only: the per-source table's layout and its storage. */
#ifndef DISPATCHD_ACCESS_TABLE_H
#define DISPATCHD_ACCESS_TABLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "access.h"

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

/*
 * The storage (access_table.c), every call under t->lock: the source of
 * address a (alen bytes) or NULL; a new one with a full bucket, or NULL
 * when the table is full of sources with connections; a source's place on
 * the idle list; forgetting one; emptying the table.
 */
struct src *src_find(struct access_table *t, const unsigned char *a, unsigned char alen);
struct src *src_new(struct access_table *t, const unsigned char *a, unsigned char alen,
    long long now);
void idle_del(struct access_table *t, struct src *s);
void idle_push(struct access_table *t, struct src *s);
void src_forget(struct access_table *t, struct src *s);
void table_reset(struct access_table *t);

#endif

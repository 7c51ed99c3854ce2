/* access_table.c - the per-source table's storage: a SipHash-keyed hash of nodes in one shared mapping, grown in place, with an idle list. */
#include <stdint.h>
#include <string.h>

#include "access_table.h"

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

struct src *
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

void
idle_del(struct access_table *t, struct src *s)
{
	if (!s->idle)
		return;
	*(s->iprev != NIL ? &t->nodes[s->iprev].inext : &t->idle_head) = s->inext;
	*(s->inext != NIL ? &t->nodes[s->inext].iprev : &t->idle_tail) = s->iprev;
	s->iprev = s->inext = NIL;
	s->idle = false;
}

void
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
void
src_forget(struct access_table *t, struct src *s)
{
	src_unlink(t, s);
	s->next = t->free;
	t->free = idx(t, s);
}

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
struct src *
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
void
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

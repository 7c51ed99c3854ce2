/* conn_int.h - shared by conn.c and conn_proxy.c only. */
#ifndef DISPATCHD_CONN_INT_H
#define DISPATCHD_CONN_INT_H

#include <stddef.h>

#include "stats.h"

struct conn;
struct conns;

/* The handler takes p[0..n) while its sink has room; the rest is kept. 0 or -1. */
int conn_feed(struct conn *c, const char *p, size_t n);

/* Takes c off cs's timer list (CONN_TIMED cleared; cs may be NULL). */
void conn_timer_unlink(struct conns *cs, struct conn *c);

/*
 * Input while c awaits its PROXY header (CONN_PROXY): gathers and parses
 * it; once whole, the header's source becomes the peer, is admitted and
 * counted, the handler opens with it and takes what followed.  0, or -1:
 * close (refused and counted).
 */
int conn_proxy_input(struct conns *cs, struct conn *c, const char *p, size_t n);

/*
 * A connection that awaited its header is not served: counted as why,
 * warned (at most every 10 s) naming who (NULL: the socket's peer) and
 * what went wrong.  Returns -1.
 */
int conn_proxy_refuse(struct conn *c, enum refuse_reason why, const char *who, const char *what);

#endif

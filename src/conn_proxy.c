/* conn_proxy.c - the connection core's PROXY protocol state: a connection that awaits its header, then takes its source as the peer. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "access.h"
#include "conf.h"
#include "conn.h"
#include "conn_int.h"
#include "handler.h"
#include "log.h"
#include "net.h"
#include "proxy.h"
#include "stats.h"

/* A PROXY header split over reads: what came of it so far. */
struct proxy_part {
	size_t len;
	char b[PROXY_MAX];
};

struct conn_source *conn_source_note;

/* One warning at most every 10 s: a storm of bad headers must not flood the log. */
static struct log_rate warn_proxy = LOG_RATE_INIT(10);

/*
 * A connection that awaited its header is not served: counted as why,
 * warned naming who (NULL: the socket's peer) and what went wrong.  -1.
 */
int
conn_proxy_refuse(struct conn *c, enum refuse_reason why, const char *who, const char *what)
{
	char name[NET_ADDRSTRLEN];

	stats_add(&c->svc->stats->refused[why], 1);
	if (!log_rate_ok(&warn_proxy))
		return -1;
	if (who == NULL) {
		net_peer_name((const struct sockaddr *)&c->sa, c->salen, name, sizeof(name));
		who = name;
	}
	log_warnx("service %s: closed %s: %s", c->svc->name, who, what);
	return -1;
}

/*
 * The header is complete: its source (the socket's peer for LOCAL and
 * UNKNOWN) becomes the peer, is admitted by the access rules and counted
 * for max_per_source until conn_free, and the handler opens with it.
 * 0, or -1: close.
 */
static int
proxy_open(struct conns *cs, struct conn *c, const struct proxy_hdr *h)
{
	struct peer pe;
	enum refuse_reason why;

	memset(&pe, 0, sizeof(pe));
	if (h->local) {
		memcpy(&pe.sa, &c->sa, c->salen);
		pe.salen = c->salen;
	} else {
		memcpy(&pe.sa, &h->src, h->srclen);
		pe.salen = h->srclen;
	}
	net_peer_name((const struct sockaddr *)&pe.sa, pe.salen, pe.text, sizeof(pe.text));
	why = access_admit(c->svc, (const struct sockaddr *)&pe.sa, pe.salen);
	if (why != REFUSE_NONE)
		return conn_proxy_refuse(c, why, pe.text, access_reason_name(why));
	/* An IP source always fits; a unix one (LOCAL on a unix listener) is never counted. */
	c->salen = pe.salen < sizeof(c->sa) ? pe.salen : sizeof(c->sa);
	memcpy(&c->sa, &pe.sa, c->salen);
	c->flags = (c->flags & ~CONN_PROXY) | CONN_SOURCE;
	if (conn_source_note != NULL) {
		memcpy(&conn_source_note->sa, &c->sa, c->salen);
		conn_source_note->salen = c->salen;
		atomic_store(&conn_source_note->held, 1);
	}
	/* The header's deadline is over; the handler may set its own. */
	c->out.timer_req = false;
	conn_timer_unlink(cs, c);
	return c->svc->handler->open(conn_state(c), c->svc, &pe, &c->out);
}

/*
 * Input while the header is awaited.  Mostly the header and what follows
 * come in one read and are parsed where they are; a header split over
 * reads is gathered (at most PROXY_MAX bytes: the parser decides by
 * then).  The bytes after it go to the handler.
 */
int
conn_proxy_input(struct conns *cs, struct conn *c, const char *p, size_t n)
{
	struct proxy_part *pp = c->phdr;
	const char *h = p, *why = "bad PROXY header";
	size_t hn = n, took = 0;
	struct proxy_hdr hdr;
	int r;

	if (pp != NULL) {
		took = n < PROXY_MAX - pp->len ? n : PROXY_MAX - pp->len;
		memcpy(pp->b + pp->len, p, took);
		pp->len += took;
		h = pp->b;
		hn = pp->len;
	}
	r = proxy_parse(h, hn, c->svc->proxy_protocol, &hdr, &why);
	if (r < 0 || (r == 0 && hn >= PROXY_MAX)) /* (the parser never waits that long) */
		return conn_proxy_refuse(c, REFUSE_PROXY, NULL, why);
	if (r == 0) {
		if (pp == NULL) {
			if ((pp = malloc(sizeof(*pp))) == NULL)
				return -1;
			memcpy(pp->b, p, n);
			pp->len = n;
			c->phdr = pp;
		}
		return 0;
	}
	if (proxy_open(cs, c, &hdr) < 0)
		return -1;
	if (pp == NULL)
		return conn_feed(c, p + r, n - (size_t)r);
	/* Gathered: what follows the header is copied, for conn_settle to feed. */
	c->phdr = NULL;
	if (buf_append(&c->in, pp->b + r, pp->len - (size_t)r) < 0 ||
	    buf_append(&c->in, p + took, n - took) < 0) {
		free(pp);
		return -1;
	}
	free(pp);
	return 0;
}

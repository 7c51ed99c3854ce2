/* http_serve.c - what the HTTP handlers (files, metrics) share: request heads as they arrive, response heads. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"

#ifndef DISPATCHD_VERSION
#define DISPATCHD_VERSION "unknown"
#endif

int
http_gather(struct http_gather *g, const char *p, size_t n, struct http_req *r, size_t *used)
{
	size_t take, old = g->hlen;
	int rc;

	*used = n;
	if (old == 0) {
		rc = http_parse_head(p, n, r);
		if (rc > 0)
			*used = (size_t)rc;
		if (rc != 0)
			return rc;
		if (g->head == NULL && (g->head = malloc(HTTP_HEAD_MAX + 1)) == NULL) {
			errno = ENOMEM;
			return -1;
		}
	}
	take = HTTP_HEAD_MAX + 1 - old < n ? HTTP_HEAD_MAX + 1 - old : n;
	memcpy(g->head + old, p, take);
	g->hlen += take;
	*used = take;
	if (http_head_end(g->head, g->hlen, g->scan) == 0 && g->hlen <= HTTP_HEAD_MAX) {
		g->scan = g->hlen;
		return 0;
	}
	rc = http_parse_head(g->head, g->hlen, r);
	if (rc > 0)
		*used = (size_t)rc - old;
	else if (rc < 0)
		*used = n;
	else
		g->scan = g->hlen;
	return rc;
}

void
http_gather_reset(struct http_gather *g)
{
	free(g->head);
	g->head = NULL;
	g->hlen = g->scan = 0;
}

/* The Date header's value, formatted once a second per thread. */
static const char *
http_date_now(void)
{
	static _Thread_local time_t when = -1;
	static _Thread_local char text[HTTP_DATE_LEN + 1];
	time_t now = time(NULL);

	if (now != when) {
		http_date(text, now);
		when = now;
	}
	return text;
}

size_t
http_resp_head(char *dst, const struct http_resp *rs)
{
	size_t xlen = rs->extra != NULL ? strlen(rs->extra) : 0;
	char *p = dst;

	p = stpcpy(p, "HTTP/1.1 ");
	p = http_put_dec(p, rs->status);
	*p++ = ' ';
	p = stpcpy(p, http_reason(rs->status));
	p = stpcpy(p, "\r\nDate: ");
	p = stpcpy(p, http_date_now());
	p = stpcpy(p, "\r\nServer: dispatchd/" DISPATCHD_VERSION "\r\n");
	if (rs->ctype != NULL) {
		p = stpcpy(p, "Content-Type: ");
		p = stpcpy(p, rs->ctype);
		p = stpcpy(p, "\r\n");
	}
	if (rs->clen >= 0) {
		p = stpcpy(p, "Content-Length: ");
		p = http_put_dec(p, rs->clen);
		p = stpcpy(p, "\r\n");
	}
	if (xlen > 0) {
		memcpy(p, rs->extra, xlen);
		p += xlen;
	}
	if (rs->conn != NULL) {
		p = stpcpy(p, "Connection: ");
		p = stpcpy(p, rs->conn);
		p = stpcpy(p, "\r\n");
	}
	*p++ = '\r';
	*p++ = '\n';
	return (size_t)(p - dst);
}

/* metrics.c - the metrics handler: GET /metrics answers every service's counters (Prometheus text format), then close. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../conf.h"
#include "../handler.h"
#include "../http.h"
#include "../log.h"
#include "../metrics.h"
#include "../sink.h"
#include "../stats.h"

/* The Content-Type of the short error bodies. */
#define MT_TEXT "text/plain; charset=utf-8"

struct mt_state {
	struct service *svc;
	struct http_gather hg;
	bool done; /* the response is written: what comes after is dropped */
};

/*
 * The one response: its head, and its body unless the request was a
 * HEAD, then the close.  body NULL: a short text one for status.
 */
static int
mt_reply(struct mt_state *ms, struct sink *out, const struct http_req *rq, int status,
    const char *ctype, const char *body, size_t blen, const char *extra)
{
	char head[HTTP_RESP_ROOM + 128], text[64];
	struct http_resp hr = { status, ctype, 0, extra, "close" };
	size_t hlen;

	if (body == NULL) {
		blen = (size_t)snprintf(text, sizeof(text), "%d %s\n", status, http_reason(status));
		body = text;
		hr.ctype = MT_TEXT;
	}
	hr.clen = (long long)blen;
	hlen = http_resp_head(head, &hr);
	ms->done = true;
	sink_timer(out, 0);
	sink_close_after(out);
	if (sink_write(out, head, hlen) < 0)
		return -1;
	if (rq != NULL && rq->method == HTTP_HEAD)
		return 0;
	return sink_write(out, body, blen);
}

/* 200 with the exposition, its numbers read now. */
static int
mt_scrape(struct mt_state *ms, struct sink *out, const struct http_req *rq)
{
	const struct config *cf = stats_config();
	size_t cap = 4096, n;
	char *body;
	int r;

	/* A counter that gained a digit since the length was taken
	 * needs another pass, so the text is sized by rendering it. */
	for (;;) {
		if ((body = handler_scratch(cap)) == NULL)
			return -1;
		n = metrics_render(body, cap, cf);
		if (n <= cap)
			break;
		cap = n + n / 8 + 64;
	}
	r = mt_reply(ms, out, rq, 200, METRICS_CTYPE, body, n, NULL);
	handler_scratch_done();
	return r;
}

/* A complete head: GET or HEAD of /metrics (a query aside), else an error. */
static int
mt_request(struct mt_state *ms, struct sink *out, const struct http_req *rq)
{
	char path[16];
	size_t plen;
	int r;

	if (rq->method != HTTP_GET && rq->method != HTTP_HEAD)
		return mt_reply(ms, out, rq, 405, NULL, NULL, 0, "Allow: GET, HEAD\r\n");
	r = http_decode_path(rq->target, rq->target_len, path, sizeof(path), &plen);
	if (r == -414 || (r == 0 && (plen != 8 || memcmp(path, "/metrics", 8) != 0)))
		r = -404; /* too long for /metrics is not /metrics */
	if (r < 0)
		return mt_reply(ms, out, rq, -r, NULL, NULL, 0, NULL);
	return mt_scrape(ms, out, rq);
}

static int
mt_open(void *st, struct service *svc, const struct peer *peer, struct sink *out)
{
	struct mt_state *ms = st;

	(void)peer;
	if (stats_config() == NULL) {
		log_warnx("metrics %s: no counters to report", svc->name);
		return -1;
	}
	ms->svc = svc;
	sink_timer(out, svc->request_timeout * 1000);
	return 0;
}

/* One request: bytes after its head (a body, another request) are dropped. */
static ssize_t
mt_data(void *st, const char *p, size_t n, struct sink *out)
{
	struct mt_state *ms = st;
	struct http_req rq;
	size_t used;
	int r;

	if (ms->done)
		return (ssize_t)n;
	r = http_gather(&ms->hg, p, n, &rq, &used);
	if (r == 0)
		return (ssize_t)used;
	if (r == -1)
		return -1;
	r = r > 0 ? mt_request(ms, out, &rq) : mt_reply(ms, out, NULL, -r, NULL, NULL, 0, NULL);
	http_gather_reset(&ms->hg);
	return r < 0 ? -1 : (ssize_t)n;
}

/* request_timeout passed before a whole head came: 408. */
static int
mt_timeout(void *st, struct sink *out)
{
	struct mt_state *ms = st;

	if (ms->done)
		return -1;
	return mt_reply(ms, out, NULL, 408, NULL, NULL, 0, NULL);
}

static void
mt_close(void *st)
{
	struct mt_state *ms = st;

	http_gather_reset(&ms->hg);
}

/* The counters are mapped before the services are set up (main.c). */
static int
mt_setup(struct service *svc, char *err, size_t errlen)
{
	if (stats_config() == NULL) {
		snprintf(err, errlen, "service '%s': metrics: no counters to report", svc->name);
		return -1;
	}
	return 0;
}

const struct handler handler_metrics = {
	.name = "metrics",
	.summary = "GET /metrics over HTTP: every service's counters for Prometheus, then close",
	.state_size = sizeof(struct mt_state),
	.open = mt_open,
	.data = mt_data,
	.eof = handler_eof_none,
	.close = mt_close,
	.timeout = mt_timeout,
	.setup = mt_setup,
	.defer_accept = 1,
};

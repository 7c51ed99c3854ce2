/* fuzz_handlers.c - each handler under arbitrary chunkings, sink caps and sends: byte-identical results. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "handler.h"
#include "net.h"
#include "sink.h"

#include "fuzz_log.h"
#include "fuzz_util.h"

/*
 * Input layout (see README):
 *   [0]  bits 0-1 handler (echo, timestamp, logger, logger), bit 2 ack,
 *        bit 3 end by close without eof, bit 4 custom timestamp_format,
 *        bits 5-6 peer name
 *   [1]  max_line = 1 + [1] % 64
 *   [2]  sink cap = 1 + [2], or 1 MiB when [2] >= 250
 *   [3]  bits 0-2: number of chunk sizes - 1; bit 3: send after every data
 *        call; bits 4-7: bytes sent per send (0: all pending)
 *   [4..] the chunk sizes (1 + byte), used in turn; then the stream.
 * Every input runs three times, all at once, one byte at a time and with
 * the chunking above; the results must be byte-identical (times aside) and
 * match an independent model of the line framing.
 */

#define FZ_HDR        4
#define FZ_MAX_CHUNKS 8
#define FZ_TIME_LEN   27 /* RFC 3339 UTC with microseconds */
/* Produces the same 27 bytes as the default, through the strftime path. */
#define FZ_CUSTOM_FMT "%Y-%m-%dT%H:%M:%S.%fZ"

static const char *const fz_peers[] = {
	"127.0.0.1:5555",
	"[::1]:80",
	"unix",
	"[fe80::1%eth0]:65535",
};

struct params {
	const struct handler *h;
	size_t max_line;
	size_t cap;
	bool ack;
	bool use_eof;
	bool custom_fmt;
	const char *peer;
	size_t chunks[FZ_MAX_CHUNKS];
	size_t nchunks;
	bool send_always;
	size_t send_part;
};

/* What one connection produced. */
struct result {
	struct fz_bytes reply; /* every byte sent to the client */
	struct fz_bytes log;   /* the logger's records */
	int eof_rc;
};

/* One service for every handler; the logger's output is set up once. */
static struct service fz_svc;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_log_setup(&fz_svc, "dispatchd-fuzz-log");
	return 0;
}

/* The core sends part (0: all) of what is pending. */
static void
fz_send(struct sink *s, struct fz_bytes *got, size_t part)
{
	size_t n = sink_pending(s);

	if (part > 0 && part < n)
		n = part;
	if (n == 0)
		return;
	fz_add(got, sink_peek(s), n);
	sink_consume(s, n);
}

/*
 * One connection the way the core runs it: open; data in chunks, sending
 * part of the pending bytes after each call that stopped early or filled
 * the sink (or after every call); eof unless the client vanished; the rest
 * sent; close.  The data() contract is checked at every call.
 */
static void
fz_run(const struct params *pa, const char *in, size_t n, const size_t *chunks, size_t nchunks,
    bool send_always, size_t send_part, struct result *res)
{
	const struct handler *h = pa->h;
	struct sink s = SINK_INIT(pa->cap);
	struct peer peer;
	size_t off = 0, k = 0, reply_max;
	void *st;

	memset(res, 0, sizeof(*res));
	memset(&peer, 0, sizeof(peer));
	snprintf(peer.text, sizeof(peer.text), "%s", pa->peer);
	handler_max_line = pa->max_line;
	fz_svc.handler = h;
	fz_svc.ack = pa->ack;
	fz_svc.timestamp_format = pa->custom_fmt ? (char *)FZ_CUSTOM_FMT : NULL;
	/* The largest single reply: the sink may pass its cap by at most one. */
	if (h == &handler_timestamp)
		reply_max = 1 + FZ_TIME_LEN + 2 + pa->max_line + 1;
	else if (h == &handler_logger)
		reply_max = pa->ack ? 3 : 0;
	else
		reply_max = 1;

	st = calloc(1, h->state_size > 0 ? h->state_size : 1);
	FZ_CHECK(st != NULL, "out of memory");
	FZ_CHECK(h->open(st, &fz_svc, &peer, &s) == 0, "%s: open failed", h->name);
	while (off < n) {
		size_t m = chunks[k++ % nchunks];
		size_t before = sink_pending(&s);
		bool was_full = sink_full(&s);
		ssize_t r;

		if (m > n - off)
			m = n - off;
		r = h->data(st, in + off, m, &s);
		FZ_CHECK(r >= 0 && (size_t)r <= m, "%s: data(%zu bytes) returned %zd", h->name, m,
		    r);
		FZ_CHECK((size_t)r == m || sink_full(&s),
		    "%s: consumed %zd of %zu bytes with the sink not full (%zu of %zu)", h->name, r,
		    m, sink_pending(&s), s.cap);
		/*
		 * Progress below the cap.  handler.h words it "consumes at
		 * least one byte", but a line handler may instead deliver a
		 * held piece, fill the sink and consume nothing: the cores
		 * only need one or the other (see README, findings).
		 */
#ifdef FZ_STRICT
		FZ_CHECK(was_full || r > 0,
		    "%s: consumed nothing below the cap (handler.h: at least one byte)", h->name);
#endif
		FZ_CHECK(was_full || r > 0 || sink_pending(&s) > before,
		    "%s: no progress below the cap (chunk %zu at %zu, sink %zu/%zu)", h->name, m,
		    off, sink_pending(&s), s.cap);
		FZ_CHECK(!was_full || sink_pending(&s) == before, "%s: wrote to a full sink",
		    h->name);
		FZ_CHECK(sink_pending(&s) <= before || sink_pending(&s) + 1 <= s.cap + reply_max,
		    "%s: sink grew to %zu bytes (cap %zu, largest reply %zu)", h->name,
		    sink_pending(&s), s.cap, reply_max);
		off += (size_t)r;
		if (send_always || (size_t)r < m || sink_full(&s))
			fz_send(&s, &res->reply, send_part);
	}
	if (pa->use_eof)
		res->eof_rc = h->eof(st, &s);
	fz_send(&s, &res->reply, 0);
	h->close(st);
	free(st);
	sink_clear(&s);
	if (h == &handler_logger)
		fz_read_log(&res->log);
}

/* "YYYY-MM-DDTHH:MM:SS.uuuuuuZ", each field in its range. */
static bool
fz_time_ok(const char *p, size_t n)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
	int v[5];

	if (n < FZ_TIME_LEN)
		return false;
	for (size_t i = 0; i < FZ_TIME_LEN; i++) {
		if (shape[i] == 'd' ? (p[i] < '0' || p[i] > '9') : p[i] != shape[i])
			return false;
	}
	for (size_t i = 0; i < 5; i++)
		v[i] = (p[5 + 3 * i] - '0') * 10 + (p[6 + 3 * i] - '0');
	return v[0] >= 1 && v[0] <= 12 && v[1] >= 1 && v[1] <= 31 && v[2] <= 23 && v[3] <= 59 &&
	    v[4] <= 60;
}

/* "[TIME] LINE\n"... into "[T] LINE\n"...: the times are checked, then dropped. */
static void
fz_norm_timestamp(const struct fz_bytes *in, struct fz_bytes *out)
{
	size_t i = 0;

	while (i < in->len) {
		const char *p = in->p + i;
		const char *lf = memchr(p, '\n', in->len - i);
		FZ_CHECK(lf != NULL, "timestamp: reply without LF: %s", fz_show(p, in->len - i));
		size_t len = (size_t)(lf - p);
		FZ_CHECK(len >= FZ_TIME_LEN + 3 && p[0] == '[' && fz_time_ok(p + 1, len - 1) &&
		        p[1 + FZ_TIME_LEN] == ']' && p[2 + FZ_TIME_LEN] == ' ',
		    "timestamp: bad reply: %s", fz_show(p, len));
		fz_add(out, "[T] ", 4);
		fz_add(out, p + FZ_TIME_LEN + 3, len - FZ_TIME_LEN - 3 + 1);
		i += len + 1;
	}
}

/* "TIME REST\n"... into "REST\n"... */
static void
fz_norm_log(const struct fz_bytes *in, struct fz_bytes *out)
{
	size_t i = 0;

	while (i < in->len) {
		const char *p = in->p + i;
		const char *lf = memchr(p, '\n', in->len - i);
		FZ_CHECK(lf != NULL, "logger: record without LF: %s", fz_show(p, in->len - i));
		size_t len = (size_t)(lf - p);
		FZ_CHECK(len > FZ_TIME_LEN + 1 && fz_time_ok(p, len) && p[FZ_TIME_LEN] == ' ',
		    "logger: bad record: %s", fz_show(p, len));
		fz_add(out, p + FZ_TIME_LEN + 1, len - FZ_TIME_LEN - 1 + 1);
		i += len + 1;
	}
}

static void
fz_normalise(const struct params *pa, const struct result *res, struct fz_bytes *reply,
    struct fz_bytes *log)
{
	if (pa->h == &handler_timestamp)
		fz_norm_timestamp(&res->reply, reply);
	else
		fz_add(reply, res->reply.p, res->reply.len);
	if (pa->h == &handler_logger)
		fz_norm_log(&res->log, log);
}

/* --- the reference: the framing rules of SPEC.md, written plainly --- */

struct ref_line {
	const char *p;
	size_t len;
};

struct ref {
	struct ref_line *v;
	size_t n;
	size_t nclose; /* lines delivered before a close without eof */
};

static void
ref_emit(struct ref *r, const char *p, size_t len)
{
	struct ref_line *v = realloc(r->v, (r->n + 1) * sizeof(*v));

	FZ_CHECK(v != NULL, "out of memory");
	r->v = v;
	r->v[r->n].p = p;
	r->v[r->n].len = len;
	r->n++;
}

/*
 * A line ends at LF, one CR before it dropped; longer than max, it is cut
 * in pieces of max (the last piece may be exactly max: no empty line
 * after it).  The unterminated tail: a max-byte piece is certain once a
 * byte other than CR follows it, or two bytes do; the rest comes at eof
 * (a held CR is data then: a piece of its own).
 */
static void
ref_frame(const char *in, size_t n, size_t max, struct ref *r)
{
	size_t i = 0, pos, rem;

	memset(r, 0, sizeof(*r));
	for (;;) {
		const char *lf = memchr(in + i, '\n', n - i);
		if (lf == NULL)
			break;
		size_t len = (size_t)(lf - (in + i));
		if (len > 0 && in[i + len - 1] == '\r')
			len--;
		if (len == 0)
			ref_emit(r, in + i, 0);
		for (size_t k = 0; k < len; k += max)
			ref_emit(r, in + i + k, len - k < max ? len - k : max);
		i = (size_t)(lf - in) + 1;
	}
	const char *tail = in + i;
	size_t t = n - i;
	for (pos = 0; t - pos > max + 1 || (t - pos == max + 1 && tail[pos + max] != '\r');
	     pos += max)
		ref_emit(r, tail + pos, max);
	r->nclose = r->n;
	rem = t - pos;
	if (rem == max + 1) {
		ref_emit(r, tail + pos, max);
		ref_emit(r, tail + pos + max, 1);
	} else if (rem > 0) {
		ref_emit(r, tail + pos, rem);
	}
}

/* "\xHH" back to the byte; any other backslash is an error. */
/* Run A (normalised) against the reference. */
static void
fz_check_ref(const struct params *pa, const char *in, size_t n, const struct fz_bytes *reply,
    const struct fz_bytes *log)
{
	struct fz_bytes exp = { NULL, 0, 0 };
	struct ref r;
	size_t shown;

	ref_frame(in, n, pa->max_line, &r);
	shown = pa->use_eof ? r.n : r.nclose;
	if (pa->h == &handler_echo) {
		fz_add(&exp, in, n);
	} else if (pa->h == &handler_timestamp) {
		for (size_t i = 0; i < shown; i++) {
			fz_add(&exp, "[T] ", 4);
			fz_add(&exp, r.v[i].p, r.v[i].len);
			fz_addc(&exp, '\n');
		}
	} else if (pa->ack) {
		for (size_t i = 0; i < shown; i++)
			fz_add(&exp, "OK\n", 3);
	}
	FZ_CHECK(fz_same(reply->p, reply->len, exp.p, exp.len),
	    "%s: reply differs from the reference (%zu vs %zu bytes)", pa->h->name, reply->len,
	    exp.len);

	if (pa->h == &handler_logger) {
		/* Records: connected, one per line (all of them, also at a
		 * close without eof), disconnected. */
		size_t plen = strlen(pa->peer), i = 0, line = 0;
		bool first = true, last = false;

		while (i < log->len) {
			const char *p = log->p + i;
			const char *lf = memchr(p, '\n', log->len - i);
			size_t len = (size_t)(lf - p);
			FZ_CHECK(len >= plen && memcmp(p, pa->peer, plen) == 0,
			    "logger: record without the peer: %s", fz_show(p, len));
			const char *rest = p + plen;
			size_t rlen = len - plen;
			i += len + 1;
			if (first) {
				FZ_CHECK(rlen == 10 && memcmp(rest, " connected", 10) == 0,
				    "logger: first record: %s", fz_show(p, len));
				first = false;
				continue;
			}
			if (i == log->len) {
				FZ_CHECK(rlen == 13 && memcmp(rest, " disconnected", 13) == 0,
				    "logger: last record: %s", fz_show(p, len));
				last = true;
				break;
			}
			FZ_CHECK(rlen >= 2 && rest[0] == ':' && rest[1] == ' ',
			    "logger: line record: %s", fz_show(p, len));
			FZ_CHECK(line < r.n, "logger: more records than lines (%zu)", r.n);
			struct fz_bytes body = { NULL, 0, 0 };
			fz_unescape(rest + 2, rlen - 2, &body);
			FZ_CHECK(fz_same(body.p, body.len, r.v[line].p, r.v[line].len),
			    "logger: line %zu: record %s", line, fz_show(rest, rlen));
			fz_bytes_free(&body);
			line++;
		}
		FZ_CHECK(last, "logger: no disconnected record");
		FZ_CHECK(line == r.n, "logger: %zu line records for %zu lines", line, r.n);
	}
	fz_bytes_free(&exp);
	free(r.v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t one = 1;
	struct params pa;
	struct result ra, rb, rc;
	struct fz_bytes na = { NULL, 0, 0 }, la = { NULL, 0, 0 };
	struct fz_bytes nb = { NULL, 0, 0 }, lb = { NULL, 0, 0 };
	struct fz_bytes nc = { NULL, 0, 0 }, lc = { NULL, 0, 0 };
	size_t all;

	if (size < FZ_HDR)
		return 0;
	memset(&pa, 0, sizeof(pa));
	pa.h = handlers[(data[0] & 3) == 3 ? 2 : data[0] & 3];
	pa.ack = (data[0] & 4) != 0;
	pa.use_eof = (data[0] & 8) == 0;
	pa.custom_fmt = (data[0] & 16) != 0;
	pa.peer = fz_peers[(data[0] >> 5) & 3];
	pa.max_line = 1 + data[1] % 64;
	pa.cap = data[2] >= 250 ? (size_t)1 << 20 : 1 + (size_t)data[2];
	pa.nchunks = 1 + (data[3] & 7);
	pa.send_always = (data[3] & 8) != 0;
	pa.send_part = data[3] >> 4;
	if (size < FZ_HDR + pa.nchunks)
		return 0;
	for (size_t i = 0; i < pa.nchunks; i++)
		pa.chunks[i] = 1 + (size_t)data[FZ_HDR + i];
	const char *in = (const char *)data + FZ_HDR + pa.nchunks;
	size_t n = size - FZ_HDR - pa.nchunks;

	all = n > 0 ? n : 1;
	fz_run(&pa, in, n, &all, 1, false, 0, &ra);
	fz_run(&pa, in, n, &one, 1, false, 0, &rb);
	fz_run(&pa, in, n, pa.chunks, pa.nchunks, pa.send_always, pa.send_part, &rc);

	fz_normalise(&pa, &ra, &na, &la);
	fz_normalise(&pa, &rb, &nb, &lb);
	fz_normalise(&pa, &rc, &nc, &lc);
	FZ_CHECK(ra.eof_rc == 0 && rb.eof_rc == 0 && rc.eof_rc == 0, "%s: eof returned %d/%d/%d",
	    pa.h->name, ra.eof_rc, rb.eof_rc, rc.eof_rc);
	FZ_CHECK(fz_same(na.p, na.len, nb.p, nb.len),
	    "%s: all at once and byte by byte differ: %zu vs %zu bytes", pa.h->name, na.len,
	    nb.len);
	FZ_CHECK(fz_same(na.p, na.len, nc.p, nc.len),
	    "%s: all at once and chunked differ: %zu vs %zu bytes", pa.h->name, na.len, nc.len);
	FZ_CHECK(fz_same(la.p, la.len, lb.p, lb.len),
	    "%s: log all at once and byte by byte differ: %zu vs %zu bytes", pa.h->name, la.len,
	    lb.len);
	FZ_CHECK(fz_same(la.p, la.len, lc.p, lc.len),
	    "%s: log all at once and chunked differ: %zu vs %zu bytes", pa.h->name, la.len, lc.len);
	fz_check_ref(&pa, in, n, &na, &la);

	fz_bytes_free(&ra.reply);
	fz_bytes_free(&ra.log);
	fz_bytes_free(&rb.reply);
	fz_bytes_free(&rb.log);
	fz_bytes_free(&rc.reply);
	fz_bytes_free(&rc.log);
	fz_bytes_free(&na);
	fz_bytes_free(&la);
	fz_bytes_free(&nb);
	fz_bytes_free(&lb);
	fz_bytes_free(&nc);
	fz_bytes_free(&lc);
	return 0;
}

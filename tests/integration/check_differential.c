/* check_differential.c - every model under the same seeded random traffic, checked against a plain oracle of the handler rules. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"
#include "model.h"

/*
 * One round: a seeded PRNG draws max_line, max_pending and up to
 * MAX_CLI clients, each with a payload, write chunking, a reader
 * behaviour and an ending (a half-close after its last byte, or a reset
 * once some of the replies came).  Every model in the registry then gets
 * a fresh server with the same four services and the same clients;
 * replies and logger records are compared with what the oracle below
 * computes from the bytes sent, the server must count no connection once
 * every client ended, and exit 0 on SIGTERM.  The oracle is a plain
 * reimplementation of the rules in the SPEC and README: it never calls
 * the server's frame.c or escape.c.
 *
 * Environment (make stress sets these):
 *   DIFF_SEED     run only this seed (default: the fixed list below)
 *   DIFF_ROUNDS   rounds per seed (default DEF_ROUNDS)
 *   DIFF_ROUND    the first round (default 0): SEED+ROUND name one round
 *   DIFF_MODEL    only this model
 *   DIFF_SECONDS  stop starting rounds after this many seconds (in all,
 *                 shared out among the models)
 *   H_VERBOSE     one line per round and model
 */

/* The seeds of make check, DEF_ROUNDS rounds each. */
static const uint64_t def_seeds[] = { 1, 2, 3, 4, 5, 6 };
#define DEF_ROUNDS 12

#define MAX_CLI 4
#define MIB     (1024 * 1024)
/* Per client: framed pieces and system calls stay below these. */
#define PIECE_CAP 40000
#define OP_CAP    30000
/* A slow reader should need about this long for all it expects. */
#define SLOW_MS 300

/* The four services every server runs. */
enum { SVC_ECHO, SVC_TS, SVC_LOG, SVC_ACK, NSVC };
static const char *const svc_name[NSVC] = { "echo", "timestamp", "logger", "logack" };

enum pkind { PK_LINES, PK_TINY, PK_LONG, PK_RANDOM, PK_SOUP, PK_MIX, NPK };
static const char *const pk_name[NPK] = { "lines", "tiny", "long", "random", "soup", "mix" };

enum rdk { RD_PROMPT, RD_SLOW, RD_BURST, RD_LAZY, NRD };
static const char *const rd_name[NRD] = { "prompt", "slow", "burst", "lazy" };

enum endk { END_HALF, END_RESET };

/* ---- a seeded PRNG (splitmix64) --------------------------------------- */

struct rng {
	uint64_t s;
};

static uint64_t
rng_next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static size_t
rng_range(struct rng *r, size_t lo, size_t hi)
{
	if (hi <= lo)
		return lo;
	return lo + (size_t)(rng_next(r) % ((uint64_t)(hi - lo) + 1));
}

static bool
rng_pct(struct rng *r, unsigned pct)
{
	return rng_next(r) % 100 < pct;
}

/* Log-uniform in [lo, hi] (lo >= 1): each power of two as likely. */
static size_t
rng_log(struct rng *r, size_t lo, size_t hi)
{
	unsigned blo = 0, bhi = 0, b;
	size_t a, z;

	if (lo < 1)
		lo = 1;
	if (hi <= lo)
		return lo;
	while ((lo >> blo) > 1)
		blo++;
	while ((hi >> bhi) > 1)
		bhi++;
	b = (unsigned)rng_range(r, blo, bhi);
	a = (size_t)1 << b;
	z = (a << 1) - 1;
	return rng_range(r, a < lo ? lo : a, z > hi ? hi : z);
}

/* ---- the oracle ------------------------------------------------------ */

/* One line or max_line piece: input bytes [off, off + len). */
struct piece {
	size_t off, len;
};

struct pieces {
	struct piece *v;
	size_t n, cap;
};

static void
pieces_add(struct pieces *ps, size_t off, size_t len)
{
	if (ps->n == ps->cap) {
		ps->cap = ps->cap ? ps->cap * 2 : 64;
		ps->v = realloc(ps->v, ps->cap * sizeof *ps->v);
		if (ps->v == NULL)
			abort();
	}
	ps->v[ps->n].off = off;
	ps->v[ps->n].len = len;
	ps->n++;
}

/*
 * The lines the line handlers see in in[0, n) followed by the end of
 * stream, per the SPEC: a line ends at LF, one CR right before the LF is
 * dropped, a line longer than max is cut in pieces of max bytes (an exact
 * multiple leaves no empty piece), an unterminated last line is a line
 * (its CR, if last, is data: no LF follows).
 */
static void
oracle_pieces(const unsigned char *in, size_t n, size_t max, struct pieces *ps)
{
	size_t start = 0;

	ps->n = 0;
	while (start < n) {
		const unsigned char *lf = memchr(in + start, '\n', n - start);
		size_t end = lf ? (size_t)(lf - in) : n;
		size_t next = lf ? end + 1 : n;
		size_t o;

		if (lf && end > start && in[end - 1] == '\r')
			end--;
		if (end == start)
			pieces_add(ps, start, 0);
		for (o = start; o < end; o += max)
			pieces_add(ps, o, end - o < max ? end - o : max);
		start = next;
	}
}

static void
put_hex(struct hbuf *b, unsigned char c)
{
	static const char hex[] = "0123456789ABCDEF";
	char e[4] = { '\\', 'x', hex[c >> 4], hex[c & 15] };

	hbuf_add(b, e, 4);
}

/*
 * A logger record's text for raw bytes, per the SPEC: TAB and printable
 * ASCII other than backslash pass; other ASCII (controls, DEL, backslash)
 * become \xHH; a byte >= 0x80 passes with its sequence when that is a
 * well-formed UTF-8 encoding (decoded here to a code point: not overlong,
 * not a surrogate, at most U+10FFFF), else it alone becomes \xHH and the
 * next byte starts afresh.
 */
static void
oracle_escape(const unsigned char *s, size_t n, struct hbuf *out)
{
	size_t i = 0;

	hbuf_add(out, "", 0);
	while (i < n) {
		unsigned c = s[i];
		size_t need, k;
		uint32_t cp, min;

		if (c < 0x80) {
			if (c == '\t' || (c >= 0x20 && c != 0x7f && c != '\\'))
				hbuf_add(out, &s[i], 1);
			else
				put_hex(out, (unsigned char)c);
			i++;
			continue;
		}
		if (c >= 0xf0 && c <= 0xf7) {
			need = 3;
			min = 0x10000;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			min = 0x800;
		} else if (c >= 0xc0 && c <= 0xdf) {
			need = 1;
			min = 0x80;
		} else {
			goto bad; /* a continuation byte or F8..FF */
		}
		if (n - i <= need)
			goto bad; /* cut short */
		cp = c & (0x3fu >> need);
		for (k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				goto bad;
			cp = cp << 6 | (s[i + k] & 0x3fu);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			goto bad;
		hbuf_add(out, &s[i], need + 1);
		i += need + 1;
		continue;
bad:
		put_hex(out, (unsigned char)c);
		i++;
	}
}

/* The bytes a record's text stands for (\xHH undone); false if malformed. */
static bool
unescape(const char *t, size_t n, struct hbuf *out)
{
	size_t i;

	hbuf_add(out, "", 0);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)t[i];

		if (c == '\\') {
			unsigned v = 0, k;

			if (n - i < 4)
				return false;
			if (t[i + 1] != 'x')
				return false;
			for (k = 2; k <= 3; k++) {
				char h = t[i + k];

				v <<= 4;
				if (h >= '0' && h <= '9')
					v |= (unsigned)(h - '0');
				else if (h >= 'A' && h <= 'F')
					v |= (unsigned)(h - 'A' + 10);
				else
					return false;
			}
			c = (unsigned char)v;
			i += 3;
		}
		hbuf_add(out, &c, 1);
	}
	return true;
}

/* ---- rounds: what the PRNG draws -------------------------------------- */

struct plan {
	int svc;
	enum pkind kind;
	struct hbuf data; /* exactly the bytes sent */
	enum endk end;
	enum rdk rd;
	size_t rd_lo, rd_hi; /* bytes per read */
	int rd_pause;        /* ms: slow, burst and lazy readers */
	size_t wr_lo, wr_hi; /* bytes per write */
	unsigned pace_pct;   /* chance of a pause after a write */
	int pace_max;        /* ms */
	int rcvbuf, sndbuf;  /* 0: the default */
	int start_ms;
	uint64_t seed;    /* for the draws while running */
	struct pieces ps; /* the oracle's lines (timestamp, logger) */
	size_t expect;    /* reply bytes after a half-close */
	size_t rst_at;    /* reset once this many reply bytes came */
};

struct round {
	uint64_t seed;
	unsigned idx;
	size_t max_line, max_pending;
	bool unix_listen; /* echo and timestamp on unix: sockets */
	int ncli;
	struct plan pl[MAX_CLI];
};

/* Scales payloads and deadlines (smaller and longer under valgrind,
 * longer with H_TIME_SCALE). */
static size_t size_div = 1;
static int slow_mul = 1;
/* DIFF_SECONDS shared out among the models run (0: no limit). */
static long budget_s;

static void
put1(struct hbuf *b, unsigned c)
{
	unsigned char u = (unsigned char)c;

	hbuf_add(b, &u, 1);
}

static void
put_utf8(struct hbuf *b, uint32_t cp)
{
	if (cp < 0x80) {
		put1(b, cp);
	} else if (cp < 0x800) {
		put1(b, 0xc0 | cp >> 6);
		put1(b, 0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		put1(b, 0xe0 | cp >> 12);
		put1(b, 0x80 | (cp >> 6 & 0x3f));
		put1(b, 0x80 | (cp & 0x3f));
	} else {
		put1(b, 0xf0 | cp >> 18);
		put1(b, 0x80 | (cp >> 12 & 0x3f));
		put1(b, 0x80 | (cp >> 6 & 0x3f));
		put1(b, 0x80 | (cp & 0x3f));
	}
}

enum alpha { AL_ASCII, AL_CTRL, AL_UTF8, AL_BAD, AL_SOUP, NAL };

/* Bytes that make framing and escaping work: CR, LF, backslash, NUL, lead and continuation bytes. */
static const unsigned char soup[] = { '\r', '\n', '\r', '\n', 'a', 'b', '\\', '\t', 0x00, 0x7f,
	0x1b, ' ', 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80, 0xed, 0xa0, 0xbf, 0xff,
	0xc0, 0xf4, 0x90 };

/* Appends one character of the alphabet (1 to 4 bytes, never an LF). */
static void
gen_char(struct rng *r, enum alpha al, struct hbuf *b)
{
	static const uint32_t edges[] = { 0x80, 0x7ff, 0x800, 0xd7ff, 0xe000, 0xfffd, 0xffff,
		0x10000, 0x10ffff, 0xe9, 0x20ac, 0x1f600 };
	static const char *const bad[] = { "\x80", "\xbf", "\xc0\xaf", "\xc1\xbf", "\xe0\x80\x80",
		"\xe0\x9f\xbf", "\xed\xa0\x80", "\xed\xbf\xbf", "\xf4\x90\x80\x80",
		"\xf5\x80\x80\x80", "\xf8\x88\x80\x80\x80", "\xff", "\xfe", "\xe2\x82",
		"\xf0\x9f\x98", "\xc3", "\xf0\x9f", "\xe2\x28\xa1", "\xc3\x28" };
	unsigned c;

	switch (al) {
	case AL_CTRL:
		if (rng_pct(r, 30)) {
			c = (unsigned)rng_range(r, 0, 32);
			put1(b, c == '\n' ? 0x7f : c == 32 ? '\\' : c);
			return;
		}
		break;
	case AL_UTF8:
	case AL_BAD:
		if (al == AL_BAD && rng_pct(r, 50)) {
			const char *s = bad[rng_range(r, 0, sizeof bad / sizeof bad[0] - 1)];

			hbuf_add(b, s, strlen(s));
			return;
		}
		if (rng_pct(r, 40))
			break;
		switch (rng_range(r, 0, 3)) {
		case 0:
			put_utf8(b, edges[rng_range(r, 0, sizeof edges / sizeof edges[0] - 1)]);
			return;
		case 1:
			put_utf8(b, (uint32_t)rng_range(r, 0x80, 0x7ff));
			return;
		case 2:
			c = (unsigned)rng_range(r, 0x800, 0xffff - 0x800);
			put_utf8(b, c >= 0xd800 ? c + 0x800 : c);
			return;
		default:
			put_utf8(b, (uint32_t)rng_range(r, 0x10000, 0x10ffff));
			return;
		}
		break;
	case AL_SOUP:
		do
			c = soup[rng_range(r, 0, sizeof soup - 1)];
		while (c == '\n');
		put1(b, c);
		return;
	default:
		break;
	}
	put1(b, (unsigned)rng_range(r, 0x20, 0x7e));
}

/* One line: a length near max_line or short, then a line end (or not). */
static void
gen_line(struct rng *r, size_t m, enum alpha al, struct hbuf *b)
{
	size_t len, start = b->len;

	/* clang-format off */
	switch (rng_range(r, 0, 9)) {
	case 0: len = 0; break;
	case 1: len = 1; break;
	case 2: len = m - 1; break;
	case 3: len = m; break;
	case 4: len = m + 1; break;
	case 5: len = 2 * m; break;
	case 6: len = 2 * m + 1; break;
	case 7: len = rng_range(r, 0, 3 * m); break;
	default: len = rng_range(r, 0, 16); break;
	}
	/* clang-format on */
	if (len > 256 * 1024)
		len = rng_range(r, 0, 256 * 1024);
	while (b->len - start < len)
		gen_char(r, al, b);
	/* clang-format off */
	switch (rng_range(r, 0, 19)) {
	case 0: case 1: case 2: case 3: case 4: case 5: case 6: case 7: case 8: case 9:
		hbuf_add(b, "\n", 1); break;
	case 10: case 11: case 12: case 13: case 14:
		hbuf_add(b, "\r\n", 2); break;
	case 15:
		hbuf_add(b, "\r\r\n", 3); break;
	case 16: case 17:
		hbuf_add(b, "\r", 1); break;	/* a CR that is data */
	default:
		break;				/* runs into the next line */
	}
	/* clang-format on */
}

/* Appends about n bytes of kind to b (the caller cuts to the exact length). */
static void
gen_segment(struct rng *r, enum pkind kind, size_t m, size_t n, struct hbuf *b)
{
	static const char *const units[] = { "x\n", "\n", "\r\n", "ab\r\n", "\xc3\xa9\n", "\r" };
	size_t end = b->len + n;
	enum alpha al = (enum alpha)rng_range(r, 0, NAL - 1);

	switch (kind) {
	case PK_LINES:
		while (b->len < end)
			gen_line(r, m, al, b);
		break;
	case PK_TINY: {
		const char *u = units[rng_range(r, 0, sizeof units / sizeof units[0] - 1)];
		size_t ul = strlen(u);

		while (b->len < end)
			hbuf_add(b, u, ul);
		break;
	}
	case PK_LONG:
		while (b->len < end)
			gen_char(r, al, b);
		break;
	case PK_RANDOM:
		while (b->len < end)
			put1(b, (unsigned)(rng_next(r) & 0xff));
		break;
	case PK_SOUP:
		while (b->len < end)
			put1(b, soup[rng_range(r, 0, sizeof soup - 1)]);
		break;
	default:
		while (b->len < end)
			gen_segment(r, (enum pkind)rng_range(r, 0, PK_MIX - 1), m,
			    rng_log(r, 1, end - b->len), b);
		break;
	}
}

/*
 * Bytes of reply to the plan's pieces before input byte upto: all of them
 * (upto = the length) after a half-close.
 */
static size_t
plan_expect(const struct plan *pl, size_t upto)
{
	size_t i, n = 0;

	for (i = 0; i < pl->ps.n && pl->ps.v[i].off + pl->ps.v[i].len <= upto; i++)
		n += pl->svc == SVC_TS ? 1 + H_TS_LEN + 2 + pl->ps.v[i].len + 1 :
		    pl->svc == SVC_ACK ? 3 :
		                         0;
	return pl->svc == SVC_ECHO ? upto : n;
}

/* At least total / OP_CAP bytes per call, so no client needs too many. */
static void
io_sizes(struct rng *r, size_t total, size_t *lo, size_t *hi)
{
	size_t floor_ = total / OP_CAP + 1;

	/* clang-format off */
	switch (rng_range(r, 0, 9)) {
	case 0: case 1:
		*lo = 1;
		*hi = 8;
		break;
	case 2: case 3: case 4:
		*lo = 1;
		*hi = 4096;
		break;
	case 5: case 6: case 7:
		*lo = 4096;
		*hi = MIB;
		break;
	default:
		*lo = *hi = rng_log(r, 1, MIB);
		break;
	}
	/* clang-format on */
	if (*lo < floor_)
		*lo = floor_;
	if (*hi < *lo)
		*hi = *lo;
}

static void
plan_free(struct plan *pl)
{
	hbuf_free(&pl->data);
	free(pl->ps.v);
	memset(pl, 0, sizeof *pl);
}

static void
round_free(struct round *rd)
{
	for (int i = 0; i < MAX_CLI; i++)
		plan_free(&rd->pl[i]);
}

/* Draws round idx of seed: the same for every model. */
static void
round_make(struct round *rd, uint64_t seed, unsigned idx)
{
	struct rng r = { seed * 0x2545f4914f6cdd1dULL ^ (uint64_t)idx << 32 ^ idx };
	size_t cap;
	int i;

	rng_next(&r);
	round_free(rd);
	rd->seed = seed;
	rd->idx = idx;
	/* clang-format off */
	switch (rng_range(&r, 0, 19)) {
	case 0: case 1: case 2:
		rd->max_line = rng_range(&r, 1, 4);
		break;
	case 3: case 4:
		rd->max_line = 8192;
		break;
	default:
		rd->max_line = rng_log(&r, 1, 65536);
		break;
	}
	/* clang-format on */
	/* clang-format off */
	switch (rng_range(&r, 0, 19)) {
	case 0: case 1:
		rd->max_pending = rng_range(&r, 1, 4);
		break;
	case 2: case 3: case 4: case 5: case 6: case 7: case 8: case 9: case 10: case 11:
		rd->max_pending = rng_log(&r, 1, 8192);
		break;
	case 12: case 13: case 14: case 15: case 16:
		rd->max_pending = rng_log(&r, 8192, 262144);
		break;
	default:
		rd->max_pending = 262144;
		break;
	}
	/* clang-format on */
	rd->unix_listen = rng_pct(&r, 20);
	rd->ncli = (int)rng_range(&r, 1, 10);
	rd->ncli = rd->ncli <= 4 ? 1 : rd->ncli <= 7 ? 2 : rd->ncli <= 9 ? 3 : 4;
	/* Far more than max_pending, within what a round can afford. */
	cap = rd->max_pending * 256;
	if (cap < 16384)
		cap = 16384;
	if (cap > 2 * MIB)
		cap = 2 * MIB;
	cap /= size_div;
	for (i = 0; i < rd->ncli; i++) {
		struct plan *pl = &rd->pl[i];
		size_t len;

		pl->svc = (int)rng_range(&r, 0, NSVC - 1);
		pl->kind = (enum pkind)rng_range(&r, 0, NPK - 1);
		if (rng_pct(&r, 10))
			len = rng_range(&r, 0, 8);
		else if (rng_pct(&r, 30))
			len = rng_range(&r, cap / 2, cap);
		else
			len = rng_log(&r, 1, cap);
		hbuf_add(&pl->data, "", 0);
		if (len > 0)
			gen_segment(&r, pl->kind, rd->max_line, len, &pl->data);
		pl->data.len = len; /* a cut anywhere: in a line, a CR LF, a character */
		oracle_pieces((unsigned char *)pl->data.p, pl->data.len, rd->max_line, &pl->ps);
		if (pl->svc != SVC_ECHO && pl->ps.n > PIECE_CAP / size_div) {
			pl->data.len = pl->ps.v[PIECE_CAP / size_div].off;
			oracle_pieces((unsigned char *)pl->data.p, pl->data.len, rd->max_line,
			    &pl->ps);
		}
		pl->expect = plan_expect(pl, pl->data.len);
		pl->end = rng_pct(&r, 65) ? END_HALF : END_RESET;
		if (pl->end == END_RESET && rng_pct(&r, 50)) {
			/* Only replies to lines whose LF was sent come before the
			 * end of stream (which a reset client never sends). */
			const char *lf = pl->data.len ? memrchr(pl->data.p, '\n', pl->data.len) :
			                                NULL;
			size_t upto = pl->svc == SVC_ECHO ? pl->data.len :
			    lf                            ? (size_t)(lf - pl->data.p) :
			                                    0;

			pl->rst_at = rng_range(&r, 0, plan_expect(pl, upto));
		}
		pl->rd = (enum rdk)rng_range(&r, 0, NRD - 1);
		io_sizes(&r, pl->expect, &pl->rd_lo, &pl->rd_hi);
		pl->rd_pause = (int)rng_range(&r, 1, pl->rd == RD_SLOW ? 10 : 40);
		if (pl->rd == RD_SLOW) {
			/* Small reads with pauses, yet done in about SLOW_MS. */
			size_t need = pl->expect * (size_t)pl->rd_pause / SLOW_MS + 1;

			pl->rd_lo = rng_range(&r, 1, 64);
			pl->rd_hi = pl->rd_lo * 4;
			if (pl->rd_lo < need) {
				pl->rd_lo = need;
				pl->rd_hi = need * 2;
			}
		}
		io_sizes(&r, pl->data.len, &pl->wr_lo, &pl->wr_hi);
		if (rng_pct(&r, 25)) {
			pl->pace_pct = (unsigned)rng_range(&r, 5, 30);
			pl->pace_max = (int)rng_range(&r, 1, 5);
		}
		/* Tiny socket buffers make TCP crawl (delayed ACKs on a
		 * window of a few segments): small transfers only. */
		pl->rcvbuf = rng_pct(&r, 20) ? (int)rng_log(&r, 2048, 16384) : 0;
		pl->sndbuf = rng_pct(&r, 20) ? (int)rng_log(&r, 2048, 16384) : 0;
		if (pl->data.len > 32768 || pl->expect > 32768)
			pl->rcvbuf = pl->sndbuf = 0;
		pl->start_ms = (int)rng_range(&r, 0, 5);
		pl->seed = rng_next(&r);
	}
}

/* ---- running a round against one model -------------------------------- */

struct client {
	struct plan *pl;
	int fd;
	bool started, wr_done, done, eof;
	size_t sent;
	struct hbuf got;
	struct rng r;
	long long next_rd, next_wr, last_wr;
	int pauses;
	int port; /* local port (TCP), for the logger's PEER */
};

struct ctx {
	const struct round *rd;
	const char *model;
	const char *dir;
	struct srv s;
	bool running;
	struct client cl[MAX_CLI];
	long long wall_lo, wall_hi; /* microseconds: times must fall inside */
	int stall_ms;
	/* totals for the summary line */
	unsigned long long bytes_out, bytes_in;
	unsigned long nclients;
};

static char show_ring[8][1024];
static unsigned show_next;

/* Up to max bytes of p, C-escaped, in a static ring of buffers. */
static const char *
show(const void *p, size_t n, size_t max)
{
	char *o = show_ring[show_next++ % 8];
	const unsigned char *s = p;
	size_t i, k = 0;

	if (max > 200)
		max = 200;
	for (i = 0; i < n && i < max && k + 8 < sizeof show_ring[0]; i++) {
		unsigned c = s[i];

		if (c == '\\' || c == '"')
			k += (size_t)snprintf(o + k, 8, "\\%c", c);
		else if (c >= 0x20 && c < 0x7f)
			o[k++] = (char)c;
		else if (c == '\n')
			k += (size_t)snprintf(o + k, 8, "\\n");
		else if (c == '\r')
			k += (size_t)snprintf(o + k, 8, "\\r");
		else
			k += (size_t)snprintf(o + k, 8, "\\x%02x", c);
	}
	if (i < n)
		k += (size_t)snprintf(o + k, 8, "...");
	o[k] = '\0';
	return o;
}

static const char *
plan_desc(const struct plan *pl)
{
	static char d[4][512];
	static unsigned nd;
	char *o = d[nd++ % 4];

	snprintf(o, sizeof d[0],
	    "%s, %s payload of %zu bytes (%zu lines), %s "
	    "after the last byte and %zu reply bytes, writes of %zu..%zu bytes%s, %s reader "
	    "(%zu..%zu bytes, %d ms), rcvbuf %d, sndbuf %d",
	    svc_name[pl->svc], pk_name[pl->kind], pl->data.len, pl->ps.n,
	    pl->end == END_HALF ? "half-close" : "reset", pl->rst_at, pl->wr_lo, pl->wr_hi,
	    pl->pace_pct ? " with pauses" : "", rd_name[pl->rd], pl->rd_lo, pl->rd_hi, pl->rd_pause,
	    pl->rcvbuf, pl->sndbuf);
	return o;
}

static const char *
reproduce(const struct ctx *x)
{
	static char line[256];

	snprintf(line, sizeof line, "make stress SEED=%" PRIu64 " ROUND=%u ROUNDS=1 MODEL=%s",
	    x->rd->seed, x->rd->idx, x->model);
	return line;
}

/*
 * Reports a difference and ends the test: the round, the client (ci, or
 * -1 for the server as a whole), the message, the server's log, the line
 * that reruns this round.
 */
__attribute__((format(printf, 3, 4), noreturn)) static void
diff_fail(struct ctx *x, int ci, const char *fmt, ...)
{
	char msg[2048], who[64] = "";
	va_list ap;
	int i;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(stderr,
	    "\n*** differential: seed %" PRIu64 " round %u, model %s: "
	    "max_line %zu, max_pending %zu, %d client(s)%s\n",
	    x->rd->seed, x->rd->idx, x->model, x->rd->max_line, x->rd->max_pending, x->rd->ncli,
	    x->rd->unix_listen ? ", echo and timestamp on unix sockets" : "");
	for (i = 0; i < x->rd->ncli; i++) {
		const struct client *c = &x->cl[i];

		fprintf(stderr,
		    "    client %d%s: %s; sent %zu, received %zu of %zu "
		    "expected%s\n",
		    i, i == ci ? " (the one that differs)" : "", plan_desc(c->pl), c->sent,
		    c->got.len, c->pl->expect,
		    c->eof      ? ", then EOF" :
		        c->done ? ", done" :
		                  "");
	}
	fprintf(stderr, "    %s\n", msg);
	if (x->running)
		srv_dump(&x->s, "the server");
	fprintf(stderr, "    reproduce: %s\n", reproduce(x));
	fflush(stderr);
	h_cleanup();
	if (ci >= 0)
		snprintf(who, sizeof who, ", client %d (%s)", ci, svc_name[x->cl[ci].pl->svc]);
	ck_abort_msg("seed %" PRIu64 " round %u, %s%s: %s (reproduce: %s)", x->rd->seed, x->rd->idx,
	    x->model, who, msg, reproduce(x));
}

/* The configuration of every server in a round: four services. */
static void
write_conf(struct ctx *x, const char *path)
{
	const char *d = x->dir;
	char text[4096], ea[256], ta[256];

	if (x->rd->unix_listen) {
		snprintf(ea, sizeof ea, "unix:%s", h_path(d, "echo.sock"));
		snprintf(ta, sizeof ta, "unix:%s", h_path(d, "ts.sock"));
	} else {
		snprintf(ea, sizeof ea, "127.0.0.1:0");
		snprintf(ta, sizeof ta, "127.0.0.1:0");
	}
	snprintf(text, sizeof text,
	    "max_line = %zu\n"
	    "max_pending = %zu\n"
	    "idle_timeout = 600\n"
	    "shutdown_timeout = 2\n"
	    "service \"echo\" { listen = {\"%s\"} handler = \"echo\" }\n"
	    "service \"timestamp\" { listen = {\"%s\"} handler = \"timestamp\" }\n"
	    "service \"logger\" { listen = {\"127.0.0.1:0\"} handler = \"logger\"\n"
	    "    output = \"%s\" ack = false }\n"
	    "service \"logack\" { listen = {\"127.0.0.1:0\"} handler = \"logger\"\n"
	    "    output = \"%s\" ack = true }\n",
	    x->rd->max_line, x->rd->max_pending, ea, ta, h_path(d, "logger.log"),
	    h_path(d, "logack.log"));
	if (h_write_file(path, text) == -1)
		diff_fail(x, -1, "cannot write %s: %s", path, H_ERR);
}

/* A non-blocking connection to the service's listener, buffers as planned. */
static int
client_connect(struct ctx *x, struct client *c)
{
	const struct srv_listen *l = &x->s.ls[srv_find(&x->s, svc_name[c->pl->svc])];
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1, err = 0;
	socklen_t el = sizeof err;
	struct pollfd p;
	long long end = h_now_ms() + H_DEADLINE_MS;

	memset(&ss, 0, sizeof ss);
	if (strncmp(l->addr, "unix:", 5) == 0) {
		struct sockaddr_un *su = (struct sockaddr_un *)&ss;

		su->sun_family = AF_UNIX;
		snprintf(su->sun_path, sizeof su->sun_path, "%s", l->addr + 5);
		sl = sizeof *su;
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)l->port);
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof *sin;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (c->pl->rcvbuf)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &c->pl->rcvbuf, sizeof(int));
	if (c->pl->sndbuf)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &c->pl->sndbuf, sizeof(int));
	if (ss.ss_family == AF_INET)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (struct sockaddr *)&ss, sl) == -1) {
		if (errno != EINPROGRESS && errno != EAGAIN)
			goto fail;
		p.fd = fd;
		p.events = POLLOUT;
		for (;;) {
			int left = (int)(end - h_now_ms()), r;

			if (left <= 0) {
				errno = ETIMEDOUT;
				goto fail;
			}
			r = poll(&p, 1, left);
			if (r > 0)
				break;
			if (r == -1 && errno != EINTR)
				goto fail;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == -1)
			goto fail;
		if (err != 0) {
			errno = err;
			goto fail;
		}
	}
	c->port = ss.ss_family == AF_INET ? cli_local_port(fd) : 0;
	return fd;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

static void
client_reserve(struct hbuf *b, size_t n)
{
	if (b->cap - b->len < n + 1) {
		size_t cap = b->cap ? b->cap : 4096;

		while (cap - b->len < n + 1)
			cap *= 2;
		b->p = realloc(b->p, cap);
		if (b->p == NULL)
			abort();
		b->cap = cap;
	}
}

/*
 * All bytes written: half-close, or reset (SO_LINGER 0 and close) once
 * the planned number of reply bytes came.
 */
static void
client_finish_writing(struct client *c)
{
	c->wr_done = true;
	if (c->pl->end == END_HALF) {
		shutdown(c->fd, SHUT_WR);
		return;
	}
	if (c->got.len < c->pl->rst_at)
		return;
	cli_reset(c->fd);
	c->fd = -1;
	c->done = true;
}

static bool
client_wants_read(const struct client *c, long long now)
{
	if (c->done || c->fd == -1)
		return false;
	switch (c->pl->rd) {
	case RD_SLOW:
	case RD_BURST:
		return now >= c->next_rd;
	case RD_LAZY:
		/* Nothing until all is sent, unless sending has stalled. */
		return c->wr_done || now - c->last_wr >= c->pl->rd_pause;
	default:
		return true;
	}
}

/* When the client next wants something that does not wait on the socket. */
static long long
client_next_event(const struct client *c, long long now)
{
	long long t = now + 50;

	if (!c->wr_done && c->next_wr > now && c->next_wr < t)
		t = c->next_wr;
	if (!c->done && (c->pl->rd == RD_SLOW || c->pl->rd == RD_BURST) && c->next_rd > now &&
	    c->next_rd < t)
		t = c->next_rd;
	if (!c->done && c->pl->rd == RD_LAZY && !c->wr_done && c->last_wr + c->pl->rd_pause > now &&
	    c->last_wr + c->pl->rd_pause < t)
		t = c->last_wr + c->pl->rd_pause;
	return t;
}

/* One write; returns true if bytes moved. */
static bool
client_write(struct ctx *x, int ci, long long now)
{
	struct client *c = &x->cl[ci];
	size_t left = c->pl->data.len - c->sent;
	size_t n = rng_log(&c->r, c->pl->wr_lo, c->pl->wr_hi);
	ssize_t w;

	if (n > left)
		n = left;
	w = send(c->fd, c->pl->data.p + c->sent, n, MSG_NOSIGNAL);
	if (w == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return false;
		diff_fail(x, ci,
		    "send after %zu of %zu bytes: %s (the server "
		    "closed the connection before reading all)",
		    c->sent, c->pl->data.len, H_ERR);
	}
	c->sent += (size_t)w;
	c->last_wr = now;
	if (c->pauses > 0 && rng_pct(&c->r, c->pl->pace_pct)) {
		c->pauses--;
		c->next_wr = now + (long long)rng_range(&c->r, 1, (size_t)c->pl->pace_max);
	}
	if (c->sent == c->pl->data.len)
		client_finish_writing(c);
	return true;
}

/* One read (or, for bursts, reads until none is left); true if anything happened. */
static bool
client_read(struct ctx *x, int ci, long long now)
{
	struct client *c = &x->cl[ci];
	bool moved = false;
	/* Bursts read until nothing is left (OP_CAP bounds the reads). */
	int rounds = c->pl->rd == RD_BURST || c->pl->rd == RD_LAZY ? OP_CAP : 1;

	while (rounds-- > 0 && !c->done) {
		size_t n = rng_log(&c->r, c->pl->rd_lo, c->pl->rd_hi);
		ssize_t r;

		client_reserve(&c->got, n);
		r = recv(c->fd, c->got.p + c->got.len, n, 0);
		if (r > 0) {
			c->got.len += (size_t)r;
			c->got.p[c->got.len] = '\0';
			moved = true;
			if (c->got.len > c->pl->expect)
				diff_fail(x, ci,
				    "more reply bytes than the oracle "
				    "expects: %zu > %zu; the first extra ones: \"%s\"",
				    c->got.len, c->pl->expect,
				    show(c->got.p + c->pl->expect, c->got.len - c->pl->expect, 64));
			if (c->wr_done && c->pl->end == END_RESET && c->got.len >= c->pl->rst_at)
				client_finish_writing(c); /* the reset */
			continue;
		}
		if (r == 0) {
			if (!c->wr_done || c->pl->end == END_RESET)
				diff_fail(x, ci,
				    "end of stream after sending %zu of "
				    "%zu bytes%s: the server closed early",
				    c->sent, c->pl->data.len,
				    c->pl->end == END_RESET ? " without a half-close" : "");
			c->eof = c->done = true;
			close(c->fd);
			c->fd = -1;
			return true;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			break;
		diff_fail(x, ci, "recv after %zu reply bytes: %s", c->got.len, H_ERR);
	}
	if (c->pl->rd == RD_SLOW || c->pl->rd == RD_BURST)
		c->next_rd = now + c->pl->rd_pause;
	if (c->pl->rd == RD_LAZY && !c->wr_done)
		c->last_wr = now; /* drained: back to not reading */
	return moved;
}

static void check_echo(struct ctx *x, int ci, bool whole);
static void check_timestamp(struct ctx *x, int ci, bool whole);

/*
 * Nothing moved for stall_ms: first a wrong reply (if any) is the better
 * report, else what each unfinished client still waits for.
 */
static void
stalled(struct ctx *x, const char *what)
{
	char msg[1024];
	size_t k = 0;
	int i;

	x->wall_hi = h_wall_us() + 1000000;
	for (i = 0; i < x->rd->ncli; i++) {
		const struct client *c = &x->cl[i];

		if (c->pl->svc == SVC_ECHO)
			check_echo(x, i, false);
		else if (c->pl->svc == SVC_TS)
			check_timestamp(x, i, false);
	}
	k += (size_t)snprintf(msg, sizeof msg, "%s:", what);
	for (i = 0; i < x->rd->ncli && k < sizeof msg; i++) {
		const struct client *c = &x->cl[i];

		if (c->done)
			continue;
		k += (size_t)snprintf(msg + k, sizeof msg - k,
		    " client %d (%s) sent "
		    "%zu of %zu bytes%s, received %zu of %zu reply bytes%s%s;",
		    i, svc_name[c->pl->svc], c->sent, c->pl->data.len,
		    c->wr_done && c->pl->end == END_HALF ? " and half-closed" : "", c->got.len,
		    c->pl->expect, c->got.len ? " (right so far)" : "",
		    c->got.len < c->pl->expect ? ", the rest never came" : ", no end of stream");
	}
	diff_fail(x, -1, "%s", msg);
}

/* Drives every client to its end; fails on a stall or the round deadline. */
static void
run_clients(struct ctx *x)
{
	long long start = h_now_ms(), progress = start;
	int i, left = x->rd->ncli;

	/* All at once before any ends: no two share a port in the logger's PEER. */
	for (i = 0; i < x->rd->ncli; i++) {
		x->cl[i].fd = client_connect(x, &x->cl[i]);
		if (x->cl[i].fd == -1)
			diff_fail(x, i, "connect: %s", H_ERR);
		x->nclients++;
	}
	while (left > 0) {
		struct pollfd pf[MAX_CLI];
		int idx[MAX_CLI], n = 0;
		long long now = h_now_ms(), wake = now + 50;

		if (now - progress > x->stall_ms) {
			char what[64];

			snprintf(what, sizeof what, "stalled: nothing moved for %d ms",
			    x->stall_ms);
			stalled(x, what);
		}
		if (now - start > 60000LL * slow_mul)
			stalled(x, "the round took over a minute");
		for (i = 0; i < x->rd->ncli; i++) {
			struct client *c = &x->cl[i];
			short ev = 0;

			if (!c->started) {
				if (now < start + c->pl->start_ms) {
					if (start + c->pl->start_ms < wake)
						wake = start + c->pl->start_ms;
					continue;
				}
				c->started = true;
				c->last_wr = c->next_rd = c->next_wr = now;
				progress = now;
				if (c->pl->data.len == 0)
					client_finish_writing(c);
				if (c->done) {
					left--;
					continue;
				}
			}
			if (c->done)
				continue;
			if (!c->wr_done && now >= c->next_wr)
				ev |= POLLOUT;
			if (client_wants_read(c, now))
				ev |= POLLIN;
			if (client_next_event(c, now) < wake)
				wake = client_next_event(c, now);
			if (ev == 0)
				continue;
			pf[n].fd = c->fd;
			pf[n].events = ev;
			pf[n].revents = 0;
			idx[n++] = i;
		}
		if (poll(pf, (nfds_t)n, wake > now ? (int)(wake - now) : 0) == -1 && errno != EINTR)
			diff_fail(x, -1, "poll: %s", H_ERR);
		now = h_now_ms();
		for (int k = 0; k < n; k++) {
			struct client *c = &x->cl[idx[k]];
			bool was_done = c->done;

			if (pf[k].revents == 0)
				continue;
			if ((pf[k].events & POLLIN) &&
			    (pf[k].revents & (POLLIN | POLLHUP | POLLERR)) &&
			    client_read(x, idx[k], now))
				progress = now;
			if (!c->done && (pf[k].events & POLLOUT) &&
			    (pf[k].revents & (POLLOUT | POLLHUP | POLLERR)) &&
			    client_write(x, idx[k], now))
				progress = now;
			if (c->done && !was_done)
				left--;
		}
	}
	for (i = 0; i < x->rd->ncli; i++) {
		x->bytes_out += x->cl[i].sent;
		x->bytes_in += x->cl[i].got.len;
	}
}

/* ---- comparing ---------------------------------------------------------- */

/* echo: the bytes sent, all of them (whole) or a prefix. */
static void
check_echo(struct ctx *x, int ci, bool whole)
{
	const struct client *c = &x->cl[ci];
	const char *want = c->pl->data.p, *got = c->got.p;
	size_t n = c->got.len < c->pl->data.len ? c->got.len : c->pl->data.len, i;

	for (i = 0; i < n && want[i] == got[i]; i++)
		;
	if (i < n) {
		size_t from = i > 16 ? i - 16 : 0;

		diff_fail(x, ci,
		    "echo differs at byte %zu: expected \"%s\", got \"%s\" "
		    "(from byte %zu)",
		    i, show(want + from, c->pl->data.len - from, 48),
		    show(got + from, c->got.len - from, 48), from);
	}
	if (whole && c->got.len != c->pl->data.len)
		diff_fail(x, ci, "echo returned %zu of %zu bytes before the end of stream",
		    c->got.len, c->pl->data.len);
}

/* timestamp: "[TIME] PIECE\n" per oracle piece, in order (whole: all of them). */
static void
check_timestamp(struct ctx *x, int ci, bool whole)
{
	const struct client *c = &x->cl[ci];
	const struct pieces *ps = &c->pl->ps;
	const char *g = c->got.p, *in = c->pl->data.p;
	size_t pos = 0, i, glen = c->got.len;
	long long last = 0;

	for (i = 0; i < ps->n && pos < glen; i++) {
		const struct piece *pc = &ps->v[i];
		size_t need = 1 + H_TS_LEN + 2 + pc->len + 1, avail = glen - pos, k;
		long long us;
		bool ok = g[pos] == '[';

		if (ok && avail >= 1 + H_TS_LEN) {
			ok = h_parse_ts(g + pos + 1, &us);
			if (ok && (us < x->wall_lo || us > x->wall_hi || us < last))
				diff_fail(x, ci,
				    "reply %zu: time %.*s is not between the "
				    "round's start and end, or before the previous reply's",
				    i, H_TS_LEN, g + pos + 1);
			last = us;
		}
		if (ok && avail > 1 + H_TS_LEN)
			ok = g[pos + 1 + H_TS_LEN] == ']';
		if (ok && avail > 2 + H_TS_LEN)
			ok = g[pos + 2 + H_TS_LEN] == ' ';
		for (k = 0; ok && k < pc->len && 3 + H_TS_LEN + k < avail; k++)
			ok = g[pos + 3 + H_TS_LEN + k] == in[pc->off + k];
		if (ok && avail >= need)
			ok = g[pos + need - 1] == '\n';
		if (!ok)
			diff_fail(x, ci,
			    "reply %zu (reply byte %zu) differs: expected "
			    "\"[TIME] %s\\n\" for the line at input byte %zu, got \"%s\"",
			    i, pos, show(in + pc->off, pc->len, 120), pc->off,
			    show(g + pos, avail, 160));
		if (avail < need && whole)
			diff_fail(x, ci, "reply %zu cut short at the end of stream: \"%s\"", i,
			    show(g + pos, avail, 160));
		pos += need < avail ? need : avail;
	}
	if (pos < glen)
		diff_fail(x, ci, "%zu reply bytes after the %zu expected replies: \"%s\"",
		    glen - pos, ps->n, show(g + pos, glen - pos, 120));
	if (whole && i < ps->n)
		diff_fail(x, ci,
		    "%zu of %zu replies before the end of stream; the "
		    "first missing is for the line at input byte %zu: \"%s\"",
		    i, ps->n, ps->v[i].off, show(in + ps->v[i].off, ps->v[i].len, 120));
}

/* One record of a logger file. */
struct lrec {
	long long us;
	enum h_rec_kind kind;
	const char *text;
	size_t len;
};

struct lrecs {
	struct lrec *v;
	size_t n, cap;
};

static void
lrecs_add(struct lrecs *rs, const struct h_record *hr)
{
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 64;
		rs->v = realloc(rs->v, rs->cap * sizeof *rs->v);
		if (rs->v == NULL)
			abort();
	}
	rs->v[rs->n].us = hr->us;
	rs->v[rs->n].kind = hr->kind;
	rs->v[rs->n].text = hr->text;
	rs->v[rs->n].len = hr->textlen;
	rs->n++;
}

/* Index of the first difference of two byte strings (min length if none). */
static size_t
first_diff(const char *a, size_t an, const char *b, size_t bn)
{
	size_t i, n = an < bn ? an : bn;

	for (i = 0; i < n && a[i] == b[i]; i++)
		;
	return i;
}

/*
 * After a reset the server saw some prefix of the bytes sent, so its line
 * records are the oracle's for that prefix: whole pieces in order, and
 * perhaps one last record for the line it held when the connection ended
 * (a partial line is recorded, its CR kept).  m pieces matched whole; the
 * record rec must be the partial line starting where piece m-1's text
 * ended or piece m begins.
 */
static bool
partial_ok(const struct client *c, size_t m, const struct lrec *rec, size_t max_line)
{
	const struct pieces *ps = &c->pl->ps;
	const char *in = c->pl->data.p;
	struct hbuf raw = { 0 }, esc = { 0 };
	size_t cand[2], nc = 0, i;
	bool ok = false;

	if (m == 0) {
		cand[nc++] = 0;
	} else {
		cand[nc++] = ps->v[m - 1].off + ps->v[m - 1].len;
		cand[nc++] = m < ps->n ? ps->v[m].off : c->pl->data.len;
	}
	if (unescape(rec->text, rec->len, &raw) && raw.len > 0 && raw.len <= max_line &&
	    memchr(raw.p, '\n', raw.len) == NULL) {
		oracle_escape((unsigned char *)raw.p, raw.len, &esc);
		if (esc.len == rec->len && memcmp(esc.p, rec->text, esc.len) == 0)
			for (i = 0; i < nc && !ok; i++)
				ok = cand[i] + raw.len <= c->pl->data.len &&
				    memcmp(in + cand[i], raw.p, raw.len) == 0;
	}
	hbuf_free(&raw);
	hbuf_free(&esc);
	return ok;
}

/* logger: connected, one record per oracle piece (escaped), disconnected. */
static void
check_logger(struct ctx *x, int ci, const struct lrecs *rs)
{
	const struct client *c = &x->cl[ci];
	const struct pieces *ps = &c->pl->ps;
	const char *in = c->pl->data.p;
	struct hbuf esc = { 0 };
	size_t i, m = 0, nlines;

	if (rs->n < 2 || rs->v[0].kind != H_REC_CONNECTED ||
	    rs->v[rs->n - 1].kind != H_REC_DISCONNECTED)
		diff_fail(x, ci,
		    "%zu records; want 'connected' first and "
		    "'disconnected' last",
		    rs->n);
	for (i = 0; i < rs->n; i++) {
		if (rs->v[i].us < x->wall_lo || rs->v[i].us > x->wall_hi ||
		    (i > 0 && rs->v[i].us < rs->v[i - 1].us))
			diff_fail(x, ci,
			    "record %zu: its time is outside the round "
			    "or before the previous record's",
			    i);
		if (i > 0 && i + 1 < rs->n && rs->v[i].kind != H_REC_LINE)
			diff_fail(x, ci,
			    "record %zu: a second connected or "
			    "disconnected record",
			    i);
	}
	nlines = rs->n - 2;
	for (m = 0; m < nlines && m < ps->n; m++) {
		const struct lrec *r = &rs->v[1 + m];
		const struct piece *pc = &ps->v[m];

		esc.len = 0;
		oracle_escape((unsigned char *)in + pc->off, pc->len, &esc);
		if (esc.len != r->len || memcmp(esc.p, r->text, esc.len) != 0) {
			size_t d = first_diff(esc.p, esc.len, r->text, r->len);
			size_t from = d > 24 ? d - 24 : 0;

			if (c->pl->end == END_RESET && m + 1 == nlines &&
			    partial_ok(c, m, r, x->rd->max_line))
				break;
			diff_fail(x, ci,
			    "line record %zu (the line of %zu bytes at "
			    "input byte %zu) differs at text byte %zu: expected "
			    "\"%s\", got \"%s\" (from byte %zu; raw line \"%s\")",
			    m, pc->len, pc->off, d, show(esc.p + from, esc.len - from, 64),
			    show(r->text + from, r->len - from, 64), from,
			    show(in + pc->off, pc->len, 64));
		}
	}
	if (m < nlines &&
	    !(c->pl->end == END_RESET && m + 1 == nlines &&
	        partial_ok(c, m, &rs->v[1 + m], x->rd->max_line)))
		diff_fail(x, ci,
		    "%zu line records, the oracle has %zu; the first "
		    "extra one: \"%s\"",
		    nlines, ps->n, show(rs->v[1 + m].text, rs->v[1 + m].len, 120));
	if (c->pl->end == END_HALF && nlines < ps->n)
		diff_fail(x, ci,
		    "%zu of %zu line records; the first missing is "
		    "for the line at input byte %zu: \"%s\"",
		    nlines, ps->n, ps->v[nlines].off,
		    show(in + ps->v[nlines].off, ps->v[nlines].len, 120));
	if (c->pl->svc == SVC_ACK) {
		/* One OK per record written; none for a line logged at a reset. */
		for (i = 0; i + 3 <= c->got.len; i += 3)
			if (memcmp(c->got.p + i, "OK\n", 3) != 0)
				break;
		if (i < c->got.len &&
		    !(c->pl->end == END_RESET && memcmp(c->got.p + i, "OK\n", c->got.len - i) == 0))
			diff_fail(x, ci, "ack replies differ at byte %zu: \"%s\"", i,
			    show(c->got.p + i, c->got.len - i, 32));
		if (c->got.len / 3 > nlines || (c->pl->end == END_HALF && c->got.len != 3 * ps->n))
			diff_fail(x, ci,
			    "%zu OK replies for %zu line records (the "
			    "oracle has %zu lines)",
			    c->got.len / 3, nlines, ps->n);
	}
	hbuf_free(&esc);
}

/* Reads a logger file and checks every client of the service against it. */
static void
check_logger_file(struct ctx *x, int svc, const char *path)
{
	struct lrecs rs[MAX_CLI];
	size_t len, nrec = 0;
	char *text, *p, *eol;
	int i, nsvc = 0;

	for (i = 0; i < x->rd->ncli; i++)
		nsvc += x->cl[i].pl->svc == svc;
	if (nsvc == 0)
		return;
	memset(rs, 0, sizeof rs);
	text = h_read_file(path, &len);
	if (text == NULL)
		diff_fail(x, -1, "no logger output %s: %s", path, H_ERR);
	if (len > 0 && text[len - 1] != '\n')
		diff_fail(x, -1, "%s does not end with a whole record", path);
	for (p = text; p < text + len; p = eol + 1) {
		struct h_record hr;
		int owner = -1;

		eol = memchr(p, '\n', len - (size_t)(p - text));
		nrec++;
		if (!h_parse_record(p, (size_t)(eol - p), &hr))
			diff_fail(x, -1, "%s: record %zu is malformed: \"%s\"", path, nrec,
			    show(p, (size_t)(eol - p), 160));
		for (i = 0; i < x->rd->ncli; i++) {
			char peer[64];

			snprintf(peer, sizeof peer, "127.0.0.1:%d", x->cl[i].port);
			if (x->cl[i].pl->svc == svc && strcmp(hr.peer, peer) == 0)
				owner = i;
		}
		if (owner == -1)
			diff_fail(x, -1, "%s: record %zu from an unknown peer: \"%s\"", path, nrec,
			    show(p, (size_t)(eol - p), 160));
		lrecs_add(&rs[owner], &hr);
	}
	for (i = 0; i < x->rd->ncli; i++)
		if (x->cl[i].pl->svc == svc)
			check_logger(x, i, &rs[i]);
	for (i = 0; i < MAX_CLI; i++)
		free(rs[i].v);
	free(text);
}

/* One round against one model: start, drive, wait for every close, stop, compare. */
static void
run_round(struct ctx *x)
{
	const char *conf = h_path(x->dir, "d.conf");
	const char *logs[2] = { h_path(x->dir, "logger.log"), h_path(x->dir, "logack.log") };
	char cpath[512], got[512];
	const char *args[] = { "-m", x->model, "-c", cpath, NULL };
	long long t0 = h_now_ms();
	int i, r;

	for (i = 0; i < x->rd->ncli; i++) {
		struct client *c = &x->cl[i];

		c->pl = (struct plan *)&x->rd->pl[i];
		c->fd = -1;
		c->r.s = c->pl->seed;
		c->pauses = c->pl->pace_pct ? 40 : 0;
		hbuf_add(&c->got, "", 0);
	}
	snprintf(cpath, sizeof cpath, "%s", conf);
	unlink(logs[0]);
	unlink(logs[1]);
	write_conf(x, cpath);
	x->wall_lo = h_wall_us() - 1000000;
	if (srv_start_n(&x->s, args, NSVC) == -1)
		diff_fail(x, -1, "the server did not start");
	x->running = true;
	for (i = 0; i < NSVC; i++)
		if (srv_find(&x->s, svc_name[i]) == -1)
			diff_fail(x, -1, "no listening line for service %s", svc_name[i]);

	run_clients(x);

	/* Every connection ended (reset ones too): the server must see it. */
	for (i = 0; i < NSVC; i++)
		if (!srv_status_num_is(&x->s, svc_name[i], "now", 0, got, sizeof got, x->stall_ms))
			diff_fail(x, -1,
			    "service %s still counts open connections "
			    "after every client ended: \"%s\"",
			    svc_name[i], got);
	r = srv_stop(&x->s, SIGTERM, H_DEADLINE_MS * slow_mul);
	if (r != 0)
		diff_fail(x, -1, "exit status %d after SIGTERM, want 0", r);
	x->wall_hi = h_wall_us() + 1000000;

	for (i = 0; i < x->rd->ncli; i++) {
		bool whole = x->cl[i].pl->end == END_HALF;

		if (x->cl[i].pl->svc == SVC_ECHO)
			check_echo(x, i, whole);
		else if (x->cl[i].pl->svc == SVC_TS)
			check_timestamp(x, i, whole);
	}
	check_logger_file(x, SVC_LOG, logs[0]);
	check_logger_file(x, SVC_ACK, logs[1]);

	srv_free(&x->s);
	x->running = false;
	if (h_verbose()) {
		fprintf(stderr,
		    "seed %" PRIu64 " round %u %-9s max_line %zu "
		    "max_pending %zu: %lld ms\n",
		    x->rd->seed, x->rd->idx, x->model, x->rd->max_line, x->rd->max_pending,
		    h_now_ms() - t0);
		for (i = 0; i < x->rd->ncli; i++)
			fprintf(stderr, "    %s\n", plan_desc(x->cl[i].pl));
	}
	for (i = 0; i < MAX_CLI; i++) {
		if (x->cl[i].fd != -1)
			close(x->cl[i].fd);
		hbuf_free(&x->cl[i].got);
		memset(&x->cl[i], 0, sizeof x->cl[i]);
		x->cl[i].fd = -1;
	}
}

/* ---- the suite ------------------------------------------------------- */

/* The oracle itself, on cases written from the SPEC's words. */
START_TEST(test_oracle)
{
	static const struct {
		const char *in;
		size_t max;
		const char *want; /* the pieces, each followed by '|' */
	} fr[] = {
		{ "", 4, "" },
		{ "\n", 4, "|" },
		{ "\r\n\n", 4, "||" },
		{ "abc\r\ndef", 16, "abc|def|" },
		{ "a\rb\n", 16, "a\rb|" },   /* a CR not before LF is data */
		{ "ab\r\r\n", 16, "ab\r|" }, /* only one CR is dropped */
		{ "ab\r", 16, "ab\r|" },     /* no LF at the end of stream */
		{ "abcdefghij\n", 4, "abcd|efgh|ij|" },
		{ "abcdefgh\n", 4, "abcd|efgh|" }, /* no empty last piece */
		{ "abcd\r\n", 4, "abcd|" },
		{ "abcd\rx\n", 4, "abcd|\rx|" },
		{ "abcd\r", 4, "abcd|\r|" },
		{ "abcde", 4, "abcd|e|" },
		{ "x\ny", 1, "x|y|" },
	};
	static const struct {
		const char *in, *want;
	} es[] = {
		{ "plain text\t", "plain text\t" },
		{ "a\\b", "a\\x5Cb" },
		{ "\x01\x1f\x7f\r", "\\x01\\x1F\\x7F\\x0D" },
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
		    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
		{ "\xc3", "\\xC3" },
		{ "\xe2\x82"
		  "A",
		    "\\xE2\\x82A" },
		{ "\xc0\xaf", "\\xC0\\xAF" },               /* overlong */
		{ "\xe0\x9f\xbf", "\\xE0\\x9F\\xBF" },      /* overlong */
		{ "\xed\xa0\x80", "\\xED\\xA0\\x80" },      /* a surrogate */
		{ "\xed\x9f\xbf", "\xed\x9f\xbf" },         /* U+D7FF */
		{ "\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf" }, /* U+10FFFF */
		{ "\xf4\x90\x80\x80", "\\xF4\\x90\\x80\\x80" },
		{ "\xff\xc3\xa9", "\\xFF\xc3\xa9" }, /* resumes at the next byte */
		{ "\x80\xbf", "\\x80\\xBF" },
	};
	struct pieces ps = { 0 };
	struct hbuf got = { 0 }, back = { 0 };
	size_t i, k;

	for (i = 0; i < sizeof fr / sizeof fr[0]; i++) {
		got.len = 0;
		hbuf_add(&got, "", 0);
		oracle_pieces((const unsigned char *)fr[i].in, strlen(fr[i].in), fr[i].max, &ps);
		for (k = 0; k < ps.n; k++) {
			hbuf_add(&got, fr[i].in + ps.v[k].off, ps.v[k].len);
			hbuf_add(&got, "|", 1);
		}
		ck_assert_msg(strcmp(got.p, fr[i].want) == 0,
		    "pieces of \"%s\" (max %zu): "
		    "\"%s\", want \"%s\"",
		    show(fr[i].in, strlen(fr[i].in), 64), fr[i].max, show(got.p, got.len, 64),
		    show(fr[i].want, strlen(fr[i].want), 64));
	}
	for (i = 0; i < sizeof es / sizeof es[0]; i++) {
		got.len = 0;
		oracle_escape((const unsigned char *)es[i].in, strlen(es[i].in), &got);
		ck_assert_msg(strcmp(got.p, es[i].want) == 0,
		    "escape of \"%s\": \"%s\", "
		    "want \"%s\"",
		    show(es[i].in, strlen(es[i].in), 64), got.p, es[i].want);
		back.len = 0;
		ck_assert(unescape(got.p, got.len, &back) && back.len == strlen(es[i].in) &&
		    memcmp(back.p, es[i].in, back.len) == 0);
	}
	free(ps.v);
	hbuf_free(&got);
	hbuf_free(&back);
}
END_TEST

static long
env_num(const char *name, long def)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? strtol(v, NULL, 0) : def;
}

START_TEST(test_model)
{
	static struct round rd;
	static struct ctx x;
	const char *sv = getenv("DIFF_SEED");
	uint64_t one_seed;
	const uint64_t *seeds = def_seeds;
	size_t nseeds = sizeof def_seeds / sizeof def_seeds[0], si;
	long rounds = env_num("DIFF_ROUNDS",
	    DEF_ROUNDS / (long)size_div > 0 ? DEF_ROUNDS / (long)size_div : 1);
	long first = env_num("DIFF_ROUND", 0), secs = budget_s;
	long long t0 = h_now_ms();
	unsigned long nrounds = 0;

	memset(&x, 0, sizeof x);
	x.model = models[_i]->name;
	x.dir = h_tmpdir();
	x.stall_ms = H_DEADLINE_MS * slow_mul;
	for (int i = 0; i < MAX_CLI; i++)
		x.cl[i].fd = -1;
	H_ASSERT(x.dir != NULL, "tmpdir");
	if (sv != NULL && *sv != '\0') {
		one_seed = strtoull(sv, NULL, 0);
		seeds = &one_seed;
		nseeds = 1;
	}
	for (si = 0; si < nseeds; si++) {
		for (long ri = first; ri < first + rounds; ri++) {
			if (secs > 0 && h_now_ms() - t0 > secs * 1000)
				break;
			round_make(&rd, seeds[si], (unsigned)ri);
			x.rd = &rd;
			run_round(&x);
			nrounds++;
		}
	}
	fprintf(stderr,
	    "differential: %-9s %lu rounds, %lu clients, %.1f MB sent, "
	    "%.1f MB received, %.1f s\n",
	    x.model, nrounds, x.nclients, (double)x.bytes_out / 1e6, (double)x.bytes_in / 1e6,
	    (double)(h_now_ms() - t0) / 1000);
	round_free(&rd);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("differential");
	const char *only = getenv("DIFF_MODEL");
	long rounds, secs = env_num("DIFF_SECONDS", 0), nseeds;
	int n = 0, lo = 0, hi, timeout;
	TCase *tc;

	/* Under valgrind (make check-valgrind) everything is much slower. */
	slow_mul = (int)h_time_scale();
	if (h_under_valgrind()) {
		size_div = 8;
		if (slow_mul < 5)
			slow_mul = 5;
	}
	while (models[n] != NULL)
		n++;
	hi = n;
	if (only != NULL && *only != '\0') {
		for (lo = 0; lo < n && strcmp(models[lo]->name, only) != 0; lo++)
			;
		if (lo == n) {
			fprintf(stderr, "DIFF_MODEL=%s: no such model\n", only);
			return 1;
		}
		hi = lo + 1;
	}
	rounds = env_num("DIFF_ROUNDS", DEF_ROUNDS);
	budget_s = secs > 0 ? (secs + hi - lo - 1) / (hi - lo) : 0;
	nseeds = getenv("DIFF_SEED") != NULL && *getenv("DIFF_SEED") != '\0' ?
	    1 :
	    (long)(sizeof def_seeds / sizeof def_seeds[0]);
	/* A backstop only: every wait inside a round has its own deadline. */
	timeout = (int)(budget_s > 0 ? budget_s + 300 : 120 + 10 * rounds * nseeds) * slow_mul;
	tcase_add_test(h_tcase(su, "oracle", 10), test_oracle);
	tc = h_tcase(su, "models", timeout);
	tcase_add_loop_test(tc, test_model, lo, hi);
	return h_run_suite(su);
}

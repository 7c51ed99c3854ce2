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
#include <time.h>
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

/*
 * The services every server runs: the four of the stream clients, each on
 * a stream and a datagram listener, then the inetd built-ins on a
 * datagram listener alone.
 */
enum {
	SVC_ECHO,
	SVC_TS,
	SVC_LOG,
	SVC_ACK,
	NSVC,
	SVC_DISCARD = NSVC,
	SVC_CHARGEN,
	SVC_DAYTIME,
	SVC_TIME,
	NDSVC
};
static const char *const svc_name[NDSVC] = { "echo", "timestamp", "logger", "logack", "discard",
	"chargen", "daytime", "time" };

/*
 * Datagram clients: up to MAX_DCLI a round, each sending up to MAX_DG
 * datagrams of 0 to DG_BIG bytes on a socket of its own (udp: bound to
 * 127.0.0.2, so that its PEER never equals a TCP client's; unixgram:
 * bound to a file of its own) and reading every reply.
 *
 * The kernel drops a UDP datagram that finds the receiving socket's
 * buffer full (net.core.rmem_default, 212992 bytes: measured, 256
 * datagrams of 0 to 40 bytes or three of 60000), and a unixgram sender
 * gets EAGAIN beyond net.unix.max_dgram_qlen (10) queued datagrams or its
 * own 212992-byte send buffer; the server drops a reply it cannot send at
 * once (SPEC).  None of this may happen to a well-behaved client, so a
 * client keeps few datagrams in flight (sent, their replies not all read):
 *   - at most window of its own (1 to 4 on udp, 1 or 2 on unixgram);
 *   - at most DG_UDP_REPLIES (DG_UX_REPLIES) reply datagrams owed to it,
 *     and the datagrams it draws owe no more each (timestamp and logger
 *     with ack: max_line pieces), so its receive queue never fills;
 *   - per listener, at most DG_BUDGET of dg_cost() (an upper bound of
 *     the buffer a datagram and its replies take) in flight over all
 *     clients, yet one datagram is always let through alone: so even the
 *     iterative model, which reads no datagram while it serves a stream
 *     connection, finds every datagram in its listener's buffer;
 *   - datagrams with no reply (logger without ack, discard) give no sign
 *     of being read, so the whole round sends at most DG_BUDGET of them to
 *     each such listener.
 * A reply that does not come is then a server bug, reported as such.
 */
#define MAX_DCLI       3
#define MAX_DG         8
#define DG_BIG         60000
#define DG_BUDGET      (160 * 1024)
#define DG_UDP_REPLIES 32
#define DG_UX_REPLIES  8
/* Records per datagram for logger without ack (pieces). */
#define DG_LOG_PIECES 256

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

/*
 * The pieces the line handlers make of one datagram of n bytes at in +
 * base, appended to ps (man dispatchd(8), DATAGRAMS): the message is the
 * datagram less one trailing LF or CR LF, cut in pieces of max bytes
 * (an exact multiple leaves no empty piece); an empty message is one
 * empty piece.  Any other CR or LF is data.
 */
static void
oracle_dg_pieces(const unsigned char *in, size_t base, size_t n, size_t max, struct pieces *ps)
{
	size_t o;

	in += base;
	if (n > 0 && in[n - 1] == '\n') {
		n--;
		if (n > 0 && in[n - 1] == '\r')
			n--;
	}
	if (n == 0)
		pieces_add(ps, base, 0);
	for (o = 0; o < n; o += max)
		pieces_add(ps, base + o, n - o < max ? n - o : max);
}

/*
 * chargen's reply to a datagram of n bytes (SPEC): the first min(n, 512)
 * bytes of the stream, whose line k is the 72 characters from the k-th
 * (mod 95) of 0x20..0x7E, cycling, then CR LF.
 */
static size_t
oracle_chargen(size_t n, char out[512])
{
	size_t i, k;

	if (n > 512)
		n = 512;
	for (i = 0; i < n; i++) {
		k = i % 74;
		out[i] = k == 72 ? '\r' : k == 73 ? '\n' : (char)(0x20 + (i / 74 + k) % 95);
	}
	return n;
}

/* An upper bound of the socket buffer a datagram of n bytes takes (see MAX_DCLI). */
static size_t
dg_cost(size_t n)
{
	size_t c = 1024;

	while (c < n + 1024)
		c *= 2;
	return c + 8192;
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

/* A datagram client: what it sends, what the oracle expects back. */
struct dplan {
	int svc;
	bool ux;          /* to the service's unixgram: listener, else its udp: one */
	int n;            /* datagrams */
	struct hbuf data; /* the datagrams, one after another */
	size_t off[MAX_DG], len[MAX_DG];
	struct pieces ps;      /* timestamp, logger: every datagram's pieces */
	size_t p0[MAX_DG + 1]; /* datagram k's are ps.v[p0[k] .. p0[k + 1]) */
	size_t nrep[MAX_DG];   /* reply datagrams it owes */
	size_t cost[MAX_DG];   /* dg_cost of it and its replies */
	int window;            /* datagrams in flight at most */
	unsigned pace_pct;     /* chance of a pause after a send */
	int pace_max;          /* ms */
	int start_ms;
	uint64_t seed;
};

struct round {
	uint64_t seed;
	unsigned idx;
	size_t max_line, max_pending;
	bool unix_listen; /* echo and timestamp on unix: sockets */
	int ncli;
	struct plan pl[MAX_CLI];
	/* unixgram: listeners too: the built-ins move there from udp:, the
	 * four others get one more */
	bool dg_unix;
	int ndc;
	struct dplan dp[MAX_DCLI];
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
dplan_free(struct dplan *dp)
{
	hbuf_free(&dp->data);
	free(dp->ps.v);
	memset(dp, 0, sizeof *dp);
}

static void
round_free(struct round *rd)
{
	for (int i = 0; i < MAX_CLI; i++)
		plan_free(&rd->pl[i]);
	for (int i = 0; i < MAX_DCLI; i++)
		dplan_free(&rd->dp[i]);
}

/* A datagram's size: edge-heavy, around max_line m and the largest. */
static size_t
dg_size(struct rng *r, size_t m)
{
	size_t n, big = DG_BIG / size_div;

	/* clang-format off */
	switch (rng_range(r, 0, 15)) {
	case 0: n = 0; break;
	case 1: n = 1; break;
	case 2: n = 2; break;
	case 3: n = m - 1; break;
	case 4: n = m; break;
	case 5: n = m + 1; break;
	case 6: n = m + 2; break;	/* m and CR LF */
	case 7: n = 2 * m; break;
	case 8: n = 2 * m + 1; break;
	case 9: n = big; break;
	case 10: n = rng_range(r, big - 64, big); break;
	case 11: case 12: n = rng_range(r, 0, 16); break;
	default: n = rng_log(r, 1, big); break;
	}
	/* clang-format on */
	return n > big ? rng_log(r, 1, big) : n;
}

/* The reply datagrams the oracle expects for datagram k, and their cost. */
static void
dg_expect(struct dplan *dp, int k)
{
	size_t np = dp->p0[k + 1] - dp->p0[k], i, c = dg_cost(dp->len[k]);

	switch (dp->svc) {
	case SVC_ECHO:
		dp->nrep[k] = 1;
		c += dg_cost(dp->len[k]);
		break;
	case SVC_TS:
		dp->nrep[k] = np;
		for (i = dp->p0[k]; i < dp->p0[k + 1]; i++)
			c += dg_cost(1 + H_TS_LEN + 2 + dp->ps.v[i].len + 1);
		break;
	case SVC_ACK:
		dp->nrep[k] = np;
		c += np * dg_cost(3);
		break;
	case SVC_CHARGEN:
	case SVC_DAYTIME:
	case SVC_TIME:
		dp->nrep[k] = 1;
		c += dg_cost(512);
		break;
	default:
		dp->nrep[k] = 0; /* logger, discard */
		break;
	}
	dp->cost[k] = c;
}

/*
 * The datagram clients of a round (drawn after the stream clients, which
 * stay what they were before datagrams came).  See MAX_DCLI for the
 * bounds.
 */
static void
dg_make(struct round *rd, struct rng *r)
{
	size_t spent[NDSVC][2], m = rd->max_line;
	bool ux_log[NDSVC];
	int i, k;

	memset(spent, 0, sizeof spent);
	memset(ux_log, 0, sizeof ux_log);
	rd->dg_unix = rng_pct(r, 25);
	rd->ndc = (int)rng_range(r, 1, MAX_DCLI);
	for (i = 0; i < rd->ndc; i++) {
		struct dplan *dp = &rd->dp[i];
		int want = (int)rng_range(r, 1, MAX_DG);
		size_t rcap;

		dp->svc = rng_pct(r, 70) ? (int)rng_range(r, 0, NSVC - 1) :
		                           (int)rng_range(r, NSVC, NDSVC - 1);
		dp->ux = dp->svc >= NSVC ? rd->dg_unix : rd->dg_unix && rng_pct(r, 50);
		/* Every unixgram client is PEER "unix": one per logger. */
		if (dp->ux && (dp->svc == SVC_LOG || dp->svc == SVC_ACK)) {
			if (ux_log[dp->svc])
				dp->ux = false;
			ux_log[dp->svc] = true;
		}
		rcap = dp->ux ? DG_UX_REPLIES : DG_UDP_REPLIES;
		dp->window = (int)rng_range(r, 1, dp->ux ? 2 : 4);
		if (rng_pct(r, 30)) {
			dp->pace_pct = (unsigned)rng_range(r, 10, 60);
			dp->pace_max = (int)rng_range(r, 1, 5);
		}
		dp->start_ms = (int)rng_range(r, 0, 5);
		hbuf_add(&dp->data, "", 0);
		for (k = 0; k < want; k++) {
			size_t len = dg_size(r, m), start = dp->data.len, msg, cap;
			enum pkind kind = (enum pkind)rng_range(r, 0, NPK - 1);

			if (len > 0)
				gen_segment(r, kind, m, len, &dp->data);
			dp->data.len = start + len;
			/* clang-format off */
			switch (rng_range(r, 0, 9)) {
			case 0: case 1: case 2:
				if (len >= 1)
					dp->data.p[start + len - 1] = '\n';
				break;
			case 3: case 4:
				if (len >= 2)
					memcpy(dp->data.p + start + len - 2, "\r\n", 2);
				break;
			case 5:
				if (len >= 1)
					dp->data.p[start + len - 1] = '\r';
				break;
			default:
				break;
			}
			/* clang-format on */
			/* Bounded pieces: replies owed, records written. */
			cap = dp->svc == SVC_TS || dp->svc == SVC_ACK ? rcap :
			    dp->svc == SVC_LOG                        ? DG_LOG_PIECES :
			                                                0;
			msg = len;
			if (msg > 0 && dp->data.p[start + msg - 1] == '\n')
				msg -= msg > 1 && dp->data.p[start + msg - 2] == '\r' ? 2 : 1;
			if (cap > 0 && msg > cap * m)
				len = cap * m;
			dp->data.len = start + len;
			/* The no-reply services: a budget for the round. */
			if ((dp->svc == SVC_LOG || dp->svc == SVC_DISCARD) &&
			    spent[dp->svc][dp->ux] + dg_cost(len) > DG_BUDGET) {
				len = rng_range(r, 0, 16);
				dp->data.len = start + len;
				if (spent[dp->svc][dp->ux] + dg_cost(len) > DG_BUDGET) {
					dp->data.len = start;
					break;
				}
			}
			spent[dp->svc][dp->ux] += dg_cost(len);
			dp->off[k] = start;
			dp->len[k] = len;
			dp->p0[k] = dp->ps.n;
			if (dp->svc == SVC_TS || dp->svc == SVC_LOG || dp->svc == SVC_ACK)
				oracle_dg_pieces((unsigned char *)dp->data.p, start, len, m,
				    &dp->ps);
			dp->p0[k + 1] = dp->ps.n;
			dp->n = k + 1;
			dg_expect(dp, k);
		}
		dp->seed = rng_next(r);
	}
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
	dg_make(rd, &r);
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

/* A datagram client while it runs; replies counted, not told apart, while running. */
struct dclient {
	struct dplan *pl;
	int fd;
	int port; /* udp: the local port, for the logger's PEER */
	bool started, done;
	int sent, released;      /* datagrams sent; of them, the first released in order */
	size_t rep_exp, rep_got; /* reply datagrams owed for those sent; received */
	size_t rel_rep;          /* replies owed for the released ones */
	struct hbuf got;         /* the reply datagrams, one after another */
	size_t *glen, nglen_cap; /* their lengths (rep_got of them) */
	long long next_wr, sent_ms[MAX_DG];
	int pauses;
	struct rng r;
};

struct ctx {
	const struct round *rd;
	const char *model;
	const char *dir;
	struct srv s;
	bool running;
	struct client cl[MAX_CLI];
	struct dclient dc[MAX_DCLI];
	size_t dest_cost[NDSVC][2]; /* dg_cost in flight per listener */
	unsigned long datagrams;    /* for the summary line */
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

/* diff_fail's name for datagram client i. */
#define DCI(i) (-2 - (i))

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
dplan_desc(const struct dplan *dp)
{
	static char d[4][512];
	static unsigned nd;
	char *o = d[nd++ % 4];
	size_t k = 0;
	int i;

	k += (size_t)snprintf(o, sizeof d[0], "%s %s, %d datagram%s (", dp->ux ? "unixgram" : "udp",
	    svc_name[dp->svc], dp->n, dp->n == 1 ? "" : "s");
	for (i = 0; i < dp->n && k < sizeof d[0]; i++)
		k += (size_t)snprintf(o + k, sizeof d[0] - k, "%s%zu", i ? ", " : "", dp->len[i]);
	if (k < sizeof d[0])
		snprintf(o + k, sizeof d[0] - k, " bytes), window %d%s", dp->window,
		    dp->pace_pct ? ", with pauses" : "");
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
 * Reports a difference and ends the test: the round, the client (ci;
 * DCI(i) for datagram client i; -1 for the server as a whole), the
 * message, the server's log, the line that reruns this round.
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
	for (i = 0; i < x->rd->ndc; i++) {
		const struct dclient *d = &x->dc[i];

		fprintf(stderr,
		    "    datagram client %d%s: %s; sent %d, %zu of %zu reply datagrams "
		    "owed for those\n",
		    i, DCI(i) == ci ? " (the one that differs)" : "", dplan_desc(&x->rd->dp[i]),
		    d->sent, d->rep_got, d->rep_exp);
	}
	fprintf(stderr, "    %s\n", msg);
	if (x->running)
		srv_dump(&x->s, "the server");
	fprintf(stderr, "    reproduce: %s\n", reproduce(x));
	fflush(stderr);
	h_cleanup();
	if (ci >= 0)
		snprintf(who, sizeof who, ", client %d (%s)", ci, svc_name[x->cl[ci].pl->svc]);
	else if (ci <= DCI(0))
		snprintf(who, sizeof who, ", datagram client %d (%s %s)", DCI(ci),
		    x->rd->dp[DCI(ci)].ux ? "unixgram" : "udp", svc_name[x->rd->dp[DCI(ci)].svc]);
	ck_abort_msg("seed %" PRIu64 " round %u, %s%s: %s (reproduce: %s)", x->rd->seed, x->rd->idx,
	    x->model, who, msg, reproduce(x));
}

/* The unixgram: socket file of service svc. */
static const char *
dg_path(const struct ctx *x, int svc)
{
	char name[64];

	snprintf(name, sizeof name, "%s.dsock", svc_name[svc]);
	return h_path(x->dir, name);
}

/* Listening lines a round's server prints. */
static int
round_listeners(const struct round *rd)
{
	return 2 * NSVC + (NDSVC - NSVC) + (rd->dg_unix ? NSVC : 0);
}

/*
 * The configuration of every server in a round: the four services of
 * the stream clients on a stream and a udp: listener (and a unixgram:
 * one on dg_unix rounds), the built-ins on udp: (unixgram: instead on
 * dg_unix rounds).
 */
static void
write_conf(struct ctx *x, const char *path)
{
	const char *d = x->dir;
	char text[8192], sa[NDSVC][768];
	size_t k = 0;
	int i;

	for (i = 0; i < NDSVC; i++) {
		char st[300] = "", ug[300] = "";

		if (i < NSVC) {
			if (x->rd->unix_listen && (i == SVC_ECHO || i == SVC_TS))
				snprintf(st, sizeof st, "\"unix:%s\", ",
				    h_path(d, i == SVC_ECHO ? "echo.sock" : "ts.sock"));
			else
				snprintf(st, sizeof st, "\"127.0.0.1:0\", ");
		}
		if (x->rd->dg_unix)
			snprintf(ug, sizeof ug, "\"unixgram:%s\"", dg_path(x, i));
		snprintf(sa[i], sizeof sa[i], "%s%s%s%s", st,
		    i < NSVC || !x->rd->dg_unix ? "\"udp:127.0.0.1:0\"" : "",
		    i < NSVC && x->rd->dg_unix ? ", " : "", ug);
	}
	k += (size_t)snprintf(text + k, sizeof text - k,
	    "max_line = %zu\n"
	    "max_pending = %zu\n"
	    "idle_timeout = 600\n"
	    "shutdown_timeout = 2\n"
	    "service \"echo\" { listen = {%s} handler = \"echo\" }\n"
	    "service \"timestamp\" { listen = {%s} handler = \"timestamp\" }\n"
	    "service \"logger\" { listen = {%s} handler = \"logger\"\n"
	    "    output = \"%s\" ack = false }\n"
	    "service \"logack\" { listen = {%s} handler = \"logger\"\n"
	    "    output = \"%s\" ack = true }\n",
	    x->rd->max_line, x->rd->max_pending, sa[SVC_ECHO], sa[SVC_TS], sa[SVC_LOG],
	    h_path(d, "logger.log"), sa[SVC_ACK], h_path(d, "logack.log"));
	for (i = NSVC; i < NDSVC && k < sizeof text; i++)
		k += (size_t)snprintf(text + k, sizeof text - k,
		    "service \"%s\" { listen = {%s} handler = \"%s\" }\n", svc_name[i], sa[i],
		    svc_name[i]);
	if (k >= sizeof text)
		diff_fail(x, -1, "the configuration does not fit in %zu bytes", sizeof text);
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
	int fd, one = 1;
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
	if (h_connect_within(fd, &ss, sl, end) == -1)
		return -1;
	c->port = ss.ss_family == AF_INET ? cli_local_port(fd) : 0;
	return fd;
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

/* ---- datagram clients ------------------------------------------------- */

/* Index of the listening line of service svc on a udp: (unixgram:) listener, or -1. */
static int
dg_find(const struct srv *s, int svc, bool ux)
{
	const char *pre = ux ? "unixgram:" : "udp:";
	int i;

	for (i = 0; i < s->nls; i++)
		if (strcmp(s->ls[i].service, svc_name[svc]) == 0 &&
		    strncmp(s->ls[i].addr, pre, strlen(pre)) == 0)
			return i;
	return -1;
}

/* A non-blocking datagram socket of its own, connected to the service's listener. */
static void
dclient_open(struct ctx *x, int di)
{
	struct dclient *d = &x->dc[di];
	int li = dg_find(&x->s, d->pl->svc, d->pl->ux);
	struct sockaddr_storage me, to;
	socklen_t sl;

	if (li == -1)
		diff_fail(x, DCI(di), "no %s listening line for service %s",
		    d->pl->ux ? "unixgram:" : "udp:", svc_name[d->pl->svc]);
	memset(&me, 0, sizeof me);
	memset(&to, 0, sizeof to);
	if (d->pl->ux) {
		struct sockaddr_un *m = (struct sockaddr_un *)&me, *t = (struct sockaddr_un *)&to;
		char name[32];

		snprintf(name, sizeof name, "dclient%d.sock", di);
		m->sun_family = t->sun_family = AF_UNIX;
		snprintf(m->sun_path, sizeof m->sun_path, "%s", h_path(x->dir, name));
		snprintf(t->sun_path, sizeof t->sun_path, "%s", x->s.ls[li].addr + 9);
		unlink(m->sun_path);
		sl = sizeof *m;
	} else {
		struct sockaddr_in *m = (struct sockaddr_in *)&me, *t = (struct sockaddr_in *)&to;

		m->sin_family = t->sin_family = AF_INET;
		m->sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1); /* 127.0.0.2 */
		t->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		t->sin_port = htons((uint16_t)x->s.ls[li].port);
		sl = sizeof *m;
	}
	d->fd = socket(me.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (d->fd == -1 || bind(d->fd, (struct sockaddr *)&me, sl) == -1 ||
	    connect(d->fd, (struct sockaddr *)&to, sl) == -1)
		diff_fail(x, DCI(di), "datagram socket to %s: %s", x->s.ls[li].addr, H_ERR);
	sl = sizeof me;
	if (!d->pl->ux && getsockname(d->fd, (struct sockaddr *)&me, &sl) == 0)
		d->port = ntohs(((struct sockaddr_in *)&me)->sin_port);
}

/* Releases, in the order sent, the datagrams whose replies (by count) all came. */
static void
dclient_release(struct ctx *x, struct dclient *d)
{
	const struct dplan *pl = d->pl;

	while (d->released < d->sent && d->rep_got >= d->rel_rep + pl->nrep[d->released]) {
		if (pl->nrep[d->released] > 0)
			x->dest_cost[pl->svc][pl->ux] -= pl->cost[d->released];
		d->rel_rep += pl->nrep[d->released];
		d->released++;
	}
	if (d->sent == pl->n && d->rep_got == d->rep_exp)
		d->done = true;
}

/* Whether the next datagram may go now (the bounds of MAX_DCLI). */
static bool
dclient_may_send(const struct ctx *x, const struct dclient *d, long long now)
{
	const struct dplan *pl = d->pl;
	size_t rcap = pl->ux ? DG_UX_REPLIES : DG_UDP_REPLIES, dc;
	int k = d->sent;

	if (!d->started || d->done || k >= pl->n || now < d->next_wr ||
	    d->sent - d->released >= pl->window)
		return false;
	if (pl->nrep[k] == 0)
		return true;
	if (d->rep_exp - d->rep_got + pl->nrep[k] > rcap && d->rep_exp > d->rep_got)
		return false;
	dc = x->dest_cost[pl->svc][pl->ux];
	return dc == 0 || dc + pl->cost[k] <= DG_BUDGET;
}

/* Sends the next datagram; true if it went. */
static bool
dclient_send(struct ctx *x, int di, long long now)
{
	struct dclient *d = &x->dc[di];
	struct dplan *pl = d->pl;
	int k = d->sent;
	ssize_t w = send(d->fd, pl->data.p + pl->off[k], pl->len[k], MSG_NOSIGNAL);

	if (w == -1 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS || errno == EINTR)) {
		d->next_wr = now + 2; /* unixgram: the listener's queue is full */
		return false;
	}
	if (w == -1)
		diff_fail(x, DCI(di), "send of datagram %d (%zu bytes): %s", k, pl->len[k], H_ERR);
	if ((size_t)w != pl->len[k])
		diff_fail(x, DCI(di), "send of datagram %d took %zd of %zu bytes", k, w,
		    pl->len[k]);
	d->sent++;
	d->sent_ms[k] = now;
	d->rep_exp += pl->nrep[k];
	if (pl->nrep[k] > 0)
		x->dest_cost[pl->svc][pl->ux] += pl->cost[k];
	x->datagrams++;
	if (d->pauses > 0 && rng_pct(&d->r, pl->pace_pct)) {
		d->pauses--;
		d->next_wr = now + (long long)rng_range(&d->r, 1, (size_t)pl->pace_max);
	}
	dclient_release(x, d);
	return true;
}

/* Reads every reply datagram waiting; true if any came. */
static bool
dclient_read(struct ctx *x, int di)
{
	static char buf[65536];
	struct dclient *d = &x->dc[di];
	bool moved = false;
	int n;

	for (n = 0; n < 1024; n++) {
		ssize_t r = recv(d->fd, buf, sizeof buf, MSG_TRUNC);

		if (r == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				break;
			diff_fail(x, DCI(di), "recv after %zu reply datagrams: %s", d->rep_got,
			    H_ERR);
		}
		if ((size_t)r > sizeof buf)
			diff_fail(x, DCI(di),
			    "a reply datagram of %zd bytes (more than any expected)", r);
		if (d->rep_got >= d->rep_exp)
			diff_fail(x, DCI(di),
			    "reply datagram %zu came, but the %d datagrams sent "
			    "owe only %zu: \"%s\" (%zd bytes)",
			    d->rep_got, d->sent, d->rep_exp, show(buf, (size_t)r, 80), r);
		if (d->rep_got == d->nglen_cap) {
			d->nglen_cap = d->nglen_cap ? 2 * d->nglen_cap : 64;
			d->glen = realloc(d->glen, d->nglen_cap * sizeof *d->glen);
			if (d->glen == NULL)
				abort();
		}
		hbuf_add(&d->got, buf, (size_t)r);
		d->glen[d->rep_got++] = (size_t)r;
		moved = true;
	}
	dclient_release(x, d);
	return moved;
}

static void check_echo(struct ctx *x, int ci, bool whole);
static void check_timestamp(struct ctx *x, int ci, bool whole);
static void check_dgram(struct ctx *x, int di, bool whole);

/*
 * Nothing moved for stall_ms: first a wrong reply (if any) is the better
 * report, else what each unfinished client still waits for.
 */
static void
stalled(struct ctx *x, const char *what)
{
	char msg[2048];
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
	for (i = 0; i < x->rd->ndc; i++)
		check_dgram(x, i, false);
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
	for (i = 0; i < x->rd->ndc && k < sizeof msg; i++) {
		const struct dclient *d = &x->dc[i];
		const struct dplan *dp = d->pl;
		size_t owed = d->rel_rep;
		int j;

		if (d->done)
			continue;
		k += (size_t)snprintf(msg + k, sizeof msg - k,
		    " datagram client %d (%s %s) sent %d of %d datagrams, %zu of the %zu "
		    "reply datagrams they owe came under model %s",
		    i, dp->ux ? "unixgram" : "udp", svc_name[dp->svc], d->sent, dp->n, d->rep_got,
		    d->rep_exp, x->model);
		for (j = d->released; j < d->sent && k < sizeof msg; j++) {
			size_t have = d->rep_got > owed ? d->rep_got - owed : 0;

			k += (size_t)snprintf(msg + k, sizeof msg - k,
			    "%s datagram %d (%zu bytes, sent %lld ms ago) owes %zu, ~%zu came "
			    "(counted in order)",
			    j == d->released ? ":" : ",", j, dp->len[j], h_now_ms() - d->sent_ms[j],
			    dp->nrep[j], have < dp->nrep[j] ? have : dp->nrep[j]);
			owed += dp->nrep[j];
		}
		if (k < sizeof msg)
			k += (size_t)snprintf(msg + k, sizeof msg - k, "%s;",
			    d->rep_got < d->rep_exp ? ": replies missing (dropped?)" : "");
	}
	diff_fail(x, -1, "%s", msg);
}

/* True once now reaches at; until then brings *wake forward to it. */
static bool
reached(long long now, long long at, long long *wake)
{
	if (now >= at)
		return true;
	if (at < *wake)
		*wake = at;
	return false;
}

/* Drives every client to its end; fails on a stall or the round deadline. */
static void
run_clients(struct ctx *x)
{
	long long start = h_now_ms(), progress = start;
	int i, left = x->rd->ncli + x->rd->ndc;

	/* All at once before any ends: no two share a port in the logger's PEER. */
	for (i = 0; i < x->rd->ncli; i++) {
		x->cl[i].fd = client_connect(x, &x->cl[i]);
		if (x->cl[i].fd == -1)
			diff_fail(x, i, "connect: %s", H_ERR);
		x->nclients++;
	}
	for (i = 0; i < x->rd->ndc; i++)
		dclient_open(x, i);
	while (left > 0) {
		struct pollfd pf[MAX_CLI + MAX_DCLI];
		int idx[MAX_CLI + MAX_DCLI], n = 0;
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
				if (!reached(now, start + c->pl->start_ms, &wake))
					continue;
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
		for (i = 0; i < x->rd->ndc; i++) {
			struct dclient *d = &x->dc[i];
			int burst;

			if (!d->started) {
				if (!reached(now, start + d->pl->start_ms, &wake))
					continue;
				d->started = true;
				d->next_wr = now;
				progress = now;
				dclient_release(x, d); /* no datagram at all: done */
				if (d->done) {
					left--;
					continue;
				}
			}
			if (d->done)
				continue;
			for (burst = 0; burst < MAX_DG && dclient_may_send(x, d, now); burst++)
				if (dclient_send(x, i, now))
					progress = now;
			if (d->done) {
				left--;
				continue;
			}
			if (d->sent < d->pl->n && d->next_wr > now && d->next_wr < wake)
				wake = d->next_wr;
			pf[n].fd = d->fd;
			pf[n].events = POLLIN;
			pf[n].revents = 0;
			idx[n++] = MAX_CLI + i;
		}
		if (poll(pf, (nfds_t)n, wake > now ? (int)(wake - now) : 0) == -1 && errno != EINTR)
			diff_fail(x, -1, "poll: %s", H_ERR);
		now = h_now_ms();
		for (int k = 0; k < n; k++) {
			struct client *c;
			bool was_done;

			if (pf[k].revents == 0)
				continue;
			if (idx[k] >= MAX_CLI) {
				struct dclient *d = &x->dc[idx[k] - MAX_CLI];

				if (dclient_read(x, idx[k] - MAX_CLI))
					progress = now;
				if (d->done)
					left--;
				continue;
			}
			c = &x->cl[idx[k]];
			was_done = c->done;
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
	for (i = 0; i < x->rd->ndc; i++) {
		for (int k = 0; k < x->rd->dp[i].n; k++)
			x->bytes_out += x->rd->dp[i].len[k];
		x->bytes_in += x->dc[i].got.len;
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

/*
 * ---- datagram replies and records ----
 *
 * Fork and thread handle the datagrams a client has in flight at once,
 * so their replies and records may interleave; each datagram's own come
 * in order (one process or thread makes them).  The oracle therefore
 * expects, per client, an interleaving of every datagram's sequence,
 * which the serial models meet by giving the plain concatenation.
 */

struct item {
	const char *p;
	size_t n;
};

/* Every datagram's expected items: want[k][0 .. cnt[k]). */
struct ilv {
	int nd;
	size_t cnt[MAX_DG];
	const struct item *want[MAX_DG];
};

/* A cursor per datagram. */
struct ilv_state {
	uint16_t c[MAX_DG];
};

#define ILV_CAP   512
#define ILV_SLOTS 2048

static bool
item_eq(const struct item *a, const struct item *b)
{
	return a->n == b->n && memcmp(a->p, b->p, a->n) == 0;
}

/*
 * Follows every way got[0..ngot) can be an interleaving of v's sequences
 * (a set of cursor tuples, duplicates merged).  Returns how many items
 * fit before the first that fits none (ngot if all), with *one a state
 * reached before it.  *capped: the set outgrew ILV_CAP (many identical
 * items), then the caller compares multisets instead.
 */
static size_t
ilv_match(const struct ilv *v, const struct item *got, size_t ngot, struct ilv_state *one,
    bool *capped)
{
	static struct ilv_state a[ILV_CAP], b[ILV_CAP];
	static int slot[ILV_SLOTS];
	struct ilv_state *cur = a, *nxt = b, *t;
	size_t ncur = 1, nnxt, j;

	*capped = false;
	memset(&cur[0], 0, sizeof cur[0]);
	memset(slot, -1, sizeof slot);
	for (j = 0; j < ngot; j++) {
		nnxt = 0;
		for (size_t si = 0; si < ncur; si++) {
			for (int k = 0; k < v->nd; k++) {
				struct ilv_state st = cur[si];
				uint32_t h = 2166136261u;
				size_t q;

				if (st.c[k] >= v->cnt[k] || !item_eq(&v->want[k][st.c[k]], &got[j]))
					continue;
				st.c[k]++;
				for (q = 0; q < sizeof st; q++)
					h = (h ^ ((unsigned char *)&st)[q]) * 16777619u;
				for (q = h % ILV_SLOTS; slot[q] != -1; q = (q + 1) % ILV_SLOTS)
					if (memcmp(&nxt[slot[q]], &st, sizeof st) == 0)
						break;
				if (slot[q] != -1)
					continue;
				if (nnxt == ILV_CAP) {
					*capped = true;
					*one = cur[0];
					return j;
				}
				nxt[nnxt] = st;
				slot[q] = (int)nnxt++;
			}
		}
		*one = cur[0];
		if (nnxt == 0)
			return j;
		memset(slot, -1, sizeof slot);
		t = cur;
		cur = nxt;
		nxt = t;
		ncur = nnxt;
	}
	*one = cur[0];
	return ngot;
}

static int
item_cmp(const void *pa, const void *pb)
{
	const struct item *a = pa, *b = pb;
	int r = memcmp(a->p, b->p, a->n < b->n ? a->n : b->n);

	return r != 0 ? r : a->n < b->n ? -1 : a->n > b->n;
}

/* The fallback of a capped ilv_match: the same items, in any order.  True if so. */
static bool
ilv_same_multiset(const struct ilv *v, const struct item *got, size_t ngot)
{
	struct item *w, *g;
	size_t nw = 0, i;
	bool same;

	for (int k = 0; k < v->nd; k++)
		nw += v->cnt[k];
	if (nw != ngot)
		return false;
	w = malloc((nw + 1) * sizeof *w);
	g = malloc((nw + 1) * sizeof *g);
	if (w == NULL || g == NULL)
		abort();
	nw = 0;
	for (int k = 0; k < v->nd; k++)
		for (i = 0; i < v->cnt[k]; i++)
			w[nw++] = v->want[k][i];
	memcpy(g, got, ngot * sizeof *g);
	qsort(w, nw, sizeof *w, item_cmp);
	qsort(g, ngot, sizeof *g, item_cmp);
	for (i = 0; i < nw && item_eq(&w[i], &g[i]); i++)
		;
	same = i == nw;
	free(w);
	free(g);
	return same;
}

/*
 * Checks got against v and fails with what differs (what: "reply
 * datagram" or "record"); whole: all must have come.
 */
static void
ilv_check(struct ctx *x, int di, const struct ilv *v, const struct item *got, size_t ngot,
    bool whole, const char *what)
{
	const struct dplan *dp = x->dc[di].pl;
	struct ilv_state one;
	bool capped;
	size_t m = ilv_match(v, got, ngot, &one, &capped), total = 0;
	char nexts[1024];
	size_t k = 0;

	if (capped) {
		if (whole && !ilv_same_multiset(v, got, ngot))
			diff_fail(x, DCI(di),
			    "the %zu %ss are not the oracle's, in any order "
			    "(too many identical ones to follow each datagram's order)",
			    ngot, what);
		return;
	}
	for (int d = 0; d < v->nd; d++) {
		total += v->cnt[d];
		if (one.c[d] < v->cnt[d] && k < sizeof nexts)
			k += (size_t)snprintf(nexts + k, sizeof nexts - k,
			    "%s datagram %d (%zu bytes) %s %zu of %zu (%zu bytes): \"%s\"",
			    k ? ";" : "", d, dp->len[d], what, (size_t)one.c[d], v->cnt[d],
			    v->want[d][one.c[d]].n,
			    show(v->want[d][one.c[d]].p, v->want[d][one.c[d]].n, 60));
	}
	if (k == 0)
		snprintf(nexts, sizeof nexts, " none");
	if (m < ngot)
		diff_fail(x, DCI(di),
		    "%s %zu (%zu bytes) is no datagram's next: got \"%s\"; the "
		    "oracle's next ones:%s",
		    what, m, got[m].n, show(got[m].p, got[m].n, 60), nexts);
	if (whole && ngot < total)
		diff_fail(x, DCI(di), "%zu of %zu %ss; missing:%s", ngot, total, what, nexts);
}

/* "Sun Dec  6 05:55:49 2026" + CR LF: its time, or -1 if malformed. */
static long long
parse_daytime(const char *p, size_t n)
{
	static const char days[] = "SunMonTueWedThuFriSat";
	static const char mons[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	struct tm tm;
	const char *d, *mo;
	char c[27];

	if (n != 26 || p[24] != '\r' || p[25] != '\n')
		return -1;
	memcpy(c, p, 24);
	c[24] = '\0';
	memset(&tm, 0, sizeof tm);
	d = strstr(days, (char[]){ c[0], c[1], c[2], 0 });
	mo = strstr(mons, (char[]){ c[4], c[5], c[6], 0 });
	if (d == NULL || (d - days) % 3 || mo == NULL || (mo - mons) % 3 || c[3] != ' ' ||
	    c[7] != ' ' || (c[8] != ' ' && (c[8] < '1' || c[8] > '3')) || c[9] < '0' ||
	    c[9] > '9' || c[10] != ' ' || c[13] != ':' || c[16] != ':' || c[19] != ' ')
		return -1;
	for (int i = 11; i < 24; i++)
		if (i != 13 && i != 16 && i != 19 && (c[i] < '0' || c[i] > '9'))
			return -1;
	tm.tm_mon = (int)(mo - mons) / 3;
	tm.tm_mday = (c[8] == ' ' ? 0 : c[8] - '0') * 10 + c[9] - '0';
	tm.tm_hour = (c[11] - '0') * 10 + c[12] - '0';
	tm.tm_min = (c[14] - '0') * 10 + c[15] - '0';
	tm.tm_sec = (c[17] - '0') * 10 + c[18] - '0';
	tm.tm_year = atoi(c + 20) - 1900;
	{
		time_t t = timegm(&tm);
		struct tm back;

		/* The weekday must be the date's, the fields in range. */
		if (gmtime_r(&t, &back) == NULL || back.tm_wday != (int)(d - days) / 3 ||
		    back.tm_mday != tm.tm_mday || back.tm_hour != tm.tm_hour ||
		    back.tm_min != tm.tm_min || back.tm_sec != tm.tm_sec)
			return -1;
		return (long long)t;
	}
}

/*
 * A datagram client's replies against the oracle: echo the datagram,
 * timestamp "[TIME] PIECE\n" per piece, logger with ack "OK\n" per
 * piece (they all look alike: counted), chargen min(len, 512) bytes of
 * its stream, daytime and time the current time; logger and discard
 * nothing (any reply failed when it came).  whole: every reply came.
 */
static void
check_dgram(struct ctx *x, int di, bool whole)
{
	const struct dclient *d = &x->dc[di];
	const struct dplan *dp = d->pl;
	struct item *got, *want;
	struct ilv v;
	static char cg[512];
	size_t i, off = 0, np = 0;
	long long lo = x->wall_lo / 1000000 - 1, hi = x->wall_hi / 1000000 + 1;
	int k;

	if (d->rep_got == 0 && !whole)
		return;
	got = calloc(d->rep_got + 1, sizeof *got);
	want = calloc(dp->ps.n + (size_t)dp->n + 1, sizeof *want);
	if (got == NULL || want == NULL)
		abort();
	for (i = 0; i < d->rep_got; off += d->glen[i++]) {
		const char *g = d->got.p + off;
		size_t n = d->glen[i];
		long long us, t = -1;
		const char *form = NULL;

		got[i].p = g;
		got[i].n = n;
		switch (dp->svc) {
		case SVC_TS:
			if (n < 4 + H_TS_LEN || g[0] != '[' || !h_parse_ts(g + 1, &us) ||
			    g[1 + H_TS_LEN] != ']' || g[2 + H_TS_LEN] != ' ' || g[n - 1] != '\n')
				diff_fail(x, DCI(di),
				    "reply datagram %zu is not \"[TIME] ...\\n\": \"%s\"", i,
				    show(g, n, 120));
			if (us < x->wall_lo || us > x->wall_hi)
				diff_fail(x, DCI(di),
				    "reply datagram %zu: time %.*s is not within the round", i,
				    H_TS_LEN, g + 1);
			got[i].p = g + 3 + H_TS_LEN;
			got[i].n = n - 4 - H_TS_LEN;
			break;
		case SVC_ACK:
			if (n != 3 || memcmp(g, "OK\n", 3) != 0)
				diff_fail(x, DCI(di), "reply datagram %zu is not \"OK\\n\": \"%s\"",
				    i, show(g, n, 120));
			break;
		case SVC_DAYTIME:
			t = parse_daytime(g, n);
			form = "the daytime line";
			break;
		case SVC_TIME:
			if (n == 4) {
				uint32_t v32 = (uint32_t)(unsigned char)g[0] << 24 |
				    (uint32_t)(unsigned char)g[1] << 16 |
				    (uint32_t)(unsigned char)g[2] << 8 | (unsigned char)g[3];

				/* 1900 to 1970: 2208988800 s; mod 2^32 (wraps in 2036). */
				t = (long long)(uint32_t)(v32 - 2208988800u);
			}
			form = "4 bytes";
			break;
		default:
			break;
		}
		if (form != NULL && (t < lo || t > hi))
			diff_fail(x, DCI(di),
			    "reply datagram %zu is not %s of a time within the round: \"%s\"", i,
			    form, show(g, n, 120));
		if (form != NULL)
			got[i].n = 0; /* the value alone was the check */
	}
	memset(&v, 0, sizeof v);
	v.nd = dp->n;
	for (k = 0; k < dp->n; k++) {
		const char *in = dp->data.p + dp->off[k];

		v.want[k] = want + np;
		v.cnt[k] = dp->nrep[k];
		switch (dp->svc) {
		case SVC_ECHO:
			want[np].p = in;
			want[np++].n = dp->len[k];
			break;
		case SVC_TS:
			for (i = dp->p0[k]; i < dp->p0[k + 1]; i++) {
				want[np].p = dp->data.p + dp->ps.v[i].off;
				want[np++].n = dp->ps.v[i].len;
			}
			break;
		case SVC_CHARGEN:
			want[np].p = cg;
			want[np++].n = oracle_chargen(dp->len[k], cg);
			break;
		case SVC_DAYTIME:
		case SVC_TIME:
			want[np].p = "";
			want[np++].n = 0;
			break;
		default:
			v.cnt[k] = 0;
			break;
		}
	}
	if (dp->svc == SVC_ACK) {
		if (whole && d->rep_got != dp->ps.n)
			diff_fail(x, DCI(di), "%zu OK replies for %zu pieces", d->rep_got,
			    dp->ps.n);
	} else {
		ilv_check(x, di, &v, got, d->rep_got, whole, "reply datagram");
	}
	free(got);
	free(want);
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

/*
 * A datagram client's records: one per piece of each datagram (escaped),
 * no connected or disconnected record, the datagrams' records
 * interleaved as their replies may be.
 */
static void
check_dgram_records(struct ctx *x, int di, const struct lrecs *rs)
{
	const struct dplan *dp = x->dc[di].pl;
	struct hbuf esc = { 0 };
	struct item *got, *want;
	size_t *eoff, i;
	struct ilv v;
	int k;

	for (i = 0; i < rs->n; i++) {
		if (rs->v[i].kind != H_REC_LINE)
			diff_fail(x, DCI(di), "record %zu: a %s record for a datagram client", i,
			    rs->v[i].kind == H_REC_CONNECTED ? "connected" : "disconnected");
		if (rs->v[i].us < x->wall_lo || rs->v[i].us > x->wall_hi)
			diff_fail(x, DCI(di), "record %zu: its time is outside the round", i);
	}
	got = calloc(rs->n + 1, sizeof *got);
	want = calloc(dp->ps.n + 1, sizeof *want);
	eoff = calloc(dp->ps.n + 1, sizeof *eoff);
	if (got == NULL || want == NULL || eoff == NULL)
		abort();
	hbuf_add(&esc, "", 0);
	for (i = 0; i < dp->ps.n; i++) {
		eoff[i] = esc.len;
		oracle_escape((unsigned char *)dp->data.p + dp->ps.v[i].off, dp->ps.v[i].len, &esc);
	}
	eoff[dp->ps.n] = esc.len;
	for (i = 0; i < dp->ps.n; i++) {
		want[i].p = esc.p + eoff[i];
		want[i].n = eoff[i + 1] - eoff[i];
	}
	for (i = 0; i < rs->n; i++) {
		got[i].p = rs->v[i].text;
		got[i].n = rs->v[i].len;
	}
	memset(&v, 0, sizeof v);
	v.nd = dp->n;
	for (k = 0; k < dp->n; k++) {
		v.want[k] = want + dp->p0[k];
		v.cnt[k] = dp->p0[k + 1] - dp->p0[k];
	}
	ilv_check(x, di, &v, got, rs->n, true, "record");
	if (rs->n > dp->ps.n)
		diff_fail(x, DCI(di), "%zu records, the oracle has %zu", rs->n, dp->ps.n);
	hbuf_free(&esc);
	free(got);
	free(want);
	free(eoff);
}

/*
 * Reads a logger file and checks every client of the service against
 * it; the records of stream and datagram clients interleave, told apart
 * by PEER.
 */
static void
check_logger_file(struct ctx *x, int svc, const char *path)
{
	struct lrecs rs[MAX_CLI + MAX_DCLI];
	size_t len, nrec = 0;
	char *text, *p, *eol;
	int i, nsvc = 0;

	for (i = 0; i < x->rd->ncli; i++)
		nsvc += x->cl[i].pl->svc == svc;
	for (i = 0; i < x->rd->ndc; i++)
		nsvc += x->rd->dp[i].svc == svc;
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
		for (i = 0; i < x->rd->ndc; i++) {
			const struct dclient *d = &x->dc[i];
			char peer[64];

			snprintf(peer, sizeof peer, "127.0.0.2:%d", d->port);
			if (d->pl->svc == svc && strcmp(hr.peer, d->pl->ux ? "unix" : peer) == 0)
				owner = MAX_CLI + i;
		}
		if (owner == -1)
			diff_fail(x, -1, "%s: record %zu from an unknown peer: \"%s\"", path, nrec,
			    show(p, (size_t)(eol - p), 160));
		lrecs_add(&rs[owner], &hr);
	}
	for (i = 0; i < x->rd->ncli; i++)
		if (x->cl[i].pl->svc == svc)
			check_logger(x, i, &rs[i]);
	for (i = 0; i < x->rd->ndc; i++)
		if (x->rd->dp[i].svc == svc)
			check_dgram_records(x, i, &rs[MAX_CLI + i]);
	for (i = 0; i < MAX_CLI + MAX_DCLI; i++)
		free(rs[i].v);
	free(text);
}

static void
dclient_free(struct dclient *d)
{
	if (d->fd != -1)
		close(d->fd);
	hbuf_free(&d->got);
	free(d->glen);
	memset(d, 0, sizeof *d);
	d->fd = -1;
}

/*
 * Every datagram sent was received (counted by its service), none
 * dropped, and no reply came beyond those expected: logger and discard
 * datagrams give no other sign, and the records must all be written
 * before SIGTERM.
 */
static void
dg_settle(struct ctx *x)
{
	char got[512];
	long want[NDSVC], dropped;
	bool used[NDSVC];
	int i;

	memset(want, 0, sizeof want);
	memset(used, 0, sizeof used);
	for (i = 0; i < x->rd->ndc; i++) {
		want[x->dc[i].pl->svc] += x->dc[i].sent;
		used[x->dc[i].pl->svc] = true;
	}
	for (i = 0; i < NDSVC; i++) {
		if (!used[i])
			continue;
		if (!srv_status_num_is(&x->s, svc_name[i], "received", want[i], got, sizeof got,
		        x->stall_ms))
			diff_fail(x, -1,
			    "service %s did not come to count the %ld datagrams sent to it as "
			    "received under model %s: \"%s\"",
			    svc_name[i], want[i], x->model, got);
		dropped = h_status_num(got, "dropped");
		if (dropped != 0)
			diff_fail(x, -1, "service %s dropped %ld datagrams under model %s: \"%s\"",
			    svc_name[i], dropped, x->model, got);
	}
	for (i = 0; i < x->rd->ndc; i++) {
		char b[64];
		ssize_t r = recv(x->dc[i].fd, b, sizeof b, MSG_DONTWAIT | MSG_TRUNC);

		if (r >= 0)
			diff_fail(x, DCI(i),
			    "a reply datagram (%zd bytes) after all %zu expected: \"%s\"", r,
			    x->dc[i].rep_exp,
			    show(b, (size_t)r < sizeof b ? (size_t)r : sizeof b, 64));
	}
}

/* One round against one model: start, drive, wait for every close, stop, compare. */
static void
run_round(struct ctx *x)
{
	const char *conf = h_path(x->dir, "d.conf");
	char logs[2][512], cpath[512], got[512];
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
	memset(x->dest_cost, 0, sizeof x->dest_cost);
	for (i = 0; i < x->rd->ndc; i++) {
		struct dclient *d = &x->dc[i];

		d->pl = (struct dplan *)&x->rd->dp[i];
		d->fd = -1;
		d->r.s = d->pl->seed;
		d->pauses = d->pl->pace_pct ? MAX_DG : 0;
		hbuf_add(&d->got, "", 0);
	}
	snprintf(cpath, sizeof cpath, "%s", conf);
	/* Copies: h_path's ring of buffers is reused meanwhile. */
	snprintf(logs[0], sizeof logs[0], "%s", h_path(x->dir, "logger.log"));
	snprintf(logs[1], sizeof logs[1], "%s", h_path(x->dir, "logack.log"));
	unlink(logs[0]);
	unlink(logs[1]);
	write_conf(x, cpath);
	x->wall_lo = h_wall_us() - 1000000;
	if (srv_start_n(&x->s, args, round_listeners(x->rd)) == -1)
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
	dg_settle(x);
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
	for (i = 0; i < x->rd->ndc; i++)
		check_dgram(x, i, true);
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
		for (i = 0; i < x->rd->ndc; i++)
			fprintf(stderr, "    %s\n", dplan_desc(x->dc[i].pl));
	}
	for (i = 0; i < MAX_CLI; i++) {
		if (x->cl[i].fd != -1)
			close(x->cl[i].fd);
		hbuf_free(&x->cl[i].got);
		memset(&x->cl[i], 0, sizeof x->cl[i]);
		x->cl[i].fd = -1;
	}
	for (i = 0; i < MAX_DCLI; i++)
		dclient_free(&x->dc[i]);
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
	static const struct {
		const char *in;
		size_t max;
		const char *want;
	} dg[] = {
		{ "", 4, "|" },
		{ "\n", 4, "|" },
		{ "\r\n", 4, "|" },
		{ "\r\r\n", 4, "\r|" },     /* one CR LF is dropped */
		{ "a\n\n", 4, "a\n|" },     /* an LF inside is data */
		{ "ab\r", 4, "ab\r|" },     /* a CR at the end is data */
		{ "abcd\r\n", 4, "abcd|" }, /* no empty last piece */
		{ "abcdefghij", 4, "abcd|efgh|ij|" },
		{ "x\ny\n", 1, "x|\n|y|" },
	};
	char cg[512];
	struct pieces ps = { 0 };
	struct hbuf got = { 0 }, back = { 0 };
	size_t i, k;

	for (i = 0; i < sizeof dg / sizeof dg[0]; i++) {
		got.len = 0;
		hbuf_add(&got, "", 0);
		ps.n = 0;
		oracle_dg_pieces((const unsigned char *)dg[i].in, 0, strlen(dg[i].in), dg[i].max,
		    &ps);
		for (k = 0; k < ps.n; k++) {
			hbuf_add(&got, dg[i].in + ps.v[k].off, ps.v[k].len);
			hbuf_add(&got, "|", 1);
		}
		ck_assert_msg(strcmp(got.p, dg[i].want) == 0, "datagram pieces of \"%s\": \"%s\"",
		    show(dg[i].in, strlen(dg[i].in), 64), show(got.p, got.len, 64));
	}
	/* chargen: line 0 from ' ', line 1 from '!', CR LF after 72; 512 at most. */
	ck_assert(oracle_chargen(0, cg) == 0 && oracle_chargen(100000, cg) == 512);
	ck_assert(cg[0] == ' ' && cg[71] == 'g' && cg[72] == '\r' && cg[73] == '\n' &&
	    cg[74] == '!' && cg[511] == 'i');
	ck_assert(parse_daytime("Sun Dec  6 05:55:49 2026\r\n", 26) == 1796536549LL);
	ck_assert(parse_daytime("Mon Dec  6 05:55:49 2026\r\n", 26) == -1);
	ck_assert(parse_daytime("Sun Dec 06 05:55:49 2026\r\n", 26) == -1);
	ck_assert(parse_daytime("Sun Dec  6 05:55:49 2026\n", 25) == -1);

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
	for (int i = 0; i < MAX_DCLI; i++)
		x.dc[i].fd = -1;
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
	    "differential: %-9s %lu rounds, %lu clients, %lu datagrams, %.1f MB sent, "
	    "%.1f MB received, %.1f s\n",
	    x.model, nrounds, x.nclients, x.datagrams, (double)x.bytes_out / 1e6,
	    (double)x.bytes_in / 1e6, (double)(h_now_ms() - t0) / 1000);
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

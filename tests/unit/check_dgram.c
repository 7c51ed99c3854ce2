/* check_dgram.c - unit tests for one datagram's life: the handlers' datagram hooks, the reflection guard, dgram_handle and its counters. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "access.h"
#include "conf.h"
#include "dgram.h"
#include "handler.h"
#include "net.h"
#include "sink.h"
#include "stats.h"
#include "unit.h"

#define SEC        1000000000LL
#define TIME_LEN   27 /* RFC 3339 UTC with microseconds */
#define EPOCH_1900 2208988800u

/* The request sizes every hook is tried with. */
static const size_t sizes[] = { 0, 1, 511, 512, 513, 60000 };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static struct svc_stats stats;
static struct service svc;
static struct dgram_reply rep;
static char tmpdir[64];

static void
setup(void)
{
	memset(&stats, 0, sizeof(stats));
	memset(&svc, 0, sizeof(svc));
	memset(&rep, 0, sizeof(rep));
	svc.name = (char *)"svc";
	svc.stats = &stats;
	handler_max_line = CONF_DEFAULT_MAX_LINE;
	strcpy(tmpdir, "/tmp/check_dgram.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	unit_now = 1000 * SEC;
	access_set_clock(unit_clock);
}

static void
teardown(void)
{
	char cmd[128];

	if (svc.handler != NULL && svc.handler->fini != NULL)
		svc.handler->fini(&svc);
	access_fini(&svc);
	access_rules_free(&svc.access);
	access_set_clock(NULL);
	dgram_reply_free(&rep);
	handler_max_line = CONF_DEFAULT_MAX_LINE;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

/* A peer: "a.b.c.d" or an IPv6 address, and a port; its text as net.c writes it. */
static struct peer
mkpeer(const char *ip, unsigned port)
{
	struct peer p;

	memset(&p, 0, sizeof(p));
	p.salen = unit_addr(&p.sa, ip, port);
	net_peer_name((struct sockaddr *)&p.sa, p.salen, p.text, sizeof(p.text));
	return p;
}

/* n bytes of every value, NULs and LFs among them, never LF last. */
static char *
pattern(size_t n)
{
	char *p = malloc(n + 1);

	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (char)((i * 7 + i / 256) & 0xff);
	if (n > 0 && p[n - 1] == '\n')
		p[n - 1] = 'x';
	return p;
}

/* Reply i of rep. */
static const char *
reply(size_t i, size_t *len)
{
	size_t off = 0;

	ck_assert_uint_lt(i, rep.n);
	for (size_t k = 0; k < i; k++)
		off += rep.lens[k];
	*len = rep.lens[i];
	return rep.buf + off;
}

static int
hook(const struct handler *h, const struct peer *pe, const void *p, size_t n)
{
	svc.handler = h;
	ck_assert_ptr_nonnull(h->datagram);
	dgram_reply_reset(&rep);
	return h->datagram(&svc, pe, p, n, &rep);
}

static bool
is_rfc3339(const char *p)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";

	for (size_t i = 0; i < TIME_LEN; i++) {
		if (shape[i] == 'd' ? (p[i] < '0' || p[i] > '9') : p[i] != shape[i])
			return false;
	}
	return true;
}

/* ---- the reply buffer ---- */

START_TEST(test_reply_buffer)
{
	char big[70000];

	memset(big, 'b', sizeof(big));
	ck_assert_int_eq(dgram_reply_add(&rep, NULL, 0), 0);
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(dgram_reply_add(&rep, "abc", (size_t)(i % 4)), 0);
	ck_assert_int_eq(dgram_reply_add(&rep, big, sizeof(big)), 0);
	ck_assert_uint_eq(rep.n, 102);
	ck_assert_uint_eq(rep.lens[0], 0);
	ck_assert_uint_eq(rep.lens[3], 2);
	ck_assert_uint_eq(rep.len, 150 + sizeof(big));
	size_t len;
	const char *p = reply(101, &len);
	ck_assert_uint_eq(len, sizeof(big));
	ck_assert(memcmp(p, big, len) == 0);
	p = reply(4, &len);
	ck_assert_uint_eq(len, 3);
	ck_assert(memcmp(p, "abc", 3) == 0);

	/* Reset keeps the storage for the next datagram. */
	char *buf = rep.buf;
	dgram_reply_reset(&rep);
	ck_assert_uint_eq(rep.n, 0);
	ck_assert_uint_eq(rep.len, 0);
	ck_assert_int_eq(dgram_reply_add(&rep, "x", 1), 0);
	ck_assert_ptr_eq(rep.buf, buf);
	dgram_reply_free(&rep);
	ck_assert_ptr_null(rep.buf);
	ck_assert_uint_eq(rep.n, 0);
	dgram_reply_free(&rep); /* twice is fine */
}
END_TEST

/* ---- the handlers' hooks ---- */

/* The handlers of SPEC's datagram table serve datagrams; files (HTTP, a
 * stream protocol) does not, and a udp: listener for it is refused. */
START_TEST(test_every_handler)
{
	static const char *const dgram[] = { "echo", "timestamp", "logger", "discard", "chargen",
		"daytime", "time" };

	for (size_t i = 0; i < sizeof(dgram) / sizeof(dgram[0]); i++) {
		const struct handler *h = handler_find(dgram[i]);
		ck_assert_ptr_nonnull(h);
		ck_assert_msg(h->datagram != NULL, "%s has no datagram hook", dgram[i]);
	}
	ck_assert_ptr_null(handler_find("files")->datagram);
}
END_TEST

START_TEST(test_echo)
{
	struct peer pe = mkpeer("127.0.0.1", 40000);

	for (size_t i = 0; i < NSIZES; i++) {
		char *in = pattern(sizes[i]);
		size_t len;

		ck_assert_int_eq(hook(&handler_echo, &pe, in, sizes[i]), 0);
		ck_assert_uint_eq(rep.n, 1); /* an empty datagram too */
		const char *p = reply(0, &len);
		ck_assert_uint_eq(len, sizes[i]);
		ck_assert(len == 0 || memcmp(p, in, len) == 0);
		free(in);
	}
}
END_TEST

START_TEST(test_discard)
{
	struct peer pe = mkpeer("127.0.0.1", 40000);

	for (size_t i = 0; i < NSIZES; i++) {
		char *in = pattern(sizes[i]);

		ck_assert_int_eq(hook(&handler_discard, &pe, in, sizes[i]), 0);
		ck_assert_uint_eq(rep.n, 0);
		free(in);
	}
}
END_TEST

/* SPEC: line k is the 72 characters from the k-th (mod 95) of 0x20..0x7E, + CR LF. */
static char
chargen_byte(size_t off)
{
	size_t k = off / 74, i = off % 74;

	if (i == 72)
		return '\r';
	if (i == 73)
		return '\n';
	return (char)(0x20 + (k + i) % 95);
}

START_TEST(test_chargen)
{
	struct peer pe = mkpeer("::1", 40000);

	for (size_t i = 0; i < NSIZES; i++) {
		char *in = pattern(sizes[i]);
		size_t want = sizes[i] < 512 ? sizes[i] : 512, len;

		ck_assert_int_eq(hook(&handler_chargen, &pe, in, sizes[i]), 0);
		ck_assert_uint_eq(rep.n, 1);
		const char *p = reply(0, &len);
		ck_assert_uint_eq(len, want);
		for (size_t k = 0; k < len; k++)
			ck_assert_msg(p[k] == chargen_byte(k), "%zu bytes: byte %zu is 0x%02x",
			    sizes[i], k, (unsigned char)p[k]);
		free(in);
	}
}
END_TEST

/* The datagram is the stream's beginning, byte for byte. */
START_TEST(test_chargen_as_stream)
{
	struct peer pe = mkpeer("127.0.0.1", 40000);
	struct sink s = SINK_INIT(1024);
	void *st = calloc(1, handler_chargen.state_size);
	size_t len;

	ck_assert_ptr_nonnull(st);
	ck_assert_int_eq(handler_chargen.open(st, &svc, &pe, &s), 0);
	ck_assert_int_eq(handler_chargen.more(st, &s), 0);
	ck_assert_uint_ge(sink_pending(&s), 512);
	char *in = pattern(600);

	ck_assert_int_eq(hook(&handler_chargen, &pe, in, 600), 0);
	free(in);
	const char *p = reply(0, &len);
	ck_assert_uint_eq(len, 512);
	ck_assert(memcmp(p, sink_peek(&s), 512) == 0);
	ck_assert(p[0] == ' ');
	handler_chargen.close(st);
	sink_clear(&s);
	free(st);
}
END_TEST

static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
	"Oct", "Nov", "Dec" };

static void
daytime_at(time_t t, char *out, size_t cap)
{
	struct tm tm;

	ck_assert_ptr_nonnull(gmtime_r(&t, &tm));
	snprintf(out, cap, "%s %s %2d %02d:%02d:%02d %d\r\n", days[tm.tm_wday], months[tm.tm_mon],
	    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_year + 1900);
}

START_TEST(test_daytime)
{
	struct peer pe = mkpeer("127.0.0.1", 40000);

	for (size_t i = 0; i < NSIZES; i++) {
		char *in = pattern(sizes[i]), a[64], b[64];
		time_t before = time(NULL);
		size_t len;

		ck_assert_int_eq(hook(&handler_daytime, &pe, in, sizes[i]), 0);
		daytime_at(before, a, sizeof(a));
		daytime_at(time(NULL), b, sizeof(b));
		ck_assert_uint_eq(rep.n, 1);
		const char *p = reply(0, &len);
		ck_assert_uint_eq(len, 26);
		ck_assert_msg((len == strlen(a) && memcmp(p, a, len) == 0) ||
		        (len == strlen(b) && memcmp(p, b, len) == 0),
		    "daytime: %.*s", (int)len, p);
		free(in);
	}
}
END_TEST

START_TEST(test_time)
{
	struct peer pe = mkpeer("127.0.0.1", 40000);

	for (size_t i = 0; i < NSIZES; i++) {
		char *in = pattern(sizes[i]);
		uint32_t before = (uint32_t)((uint64_t)time(NULL) + EPOCH_1900), after, t;
		size_t len;

		ck_assert_int_eq(hook(&handler_time, &pe, in, sizes[i]), 0);
		after = (uint32_t)((uint64_t)time(NULL) + EPOCH_1900);
		ck_assert_uint_eq(rep.n, 1);
		const unsigned char *p = (const unsigned char *)reply(0, &len);
		ck_assert_uint_eq(len, 4);
		t = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
		ck_assert(t >= before && t <= after);
		free(in);
	}
}
END_TEST

/* A message, a max_line, and the pieces it must give. */
static const struct {
	const char *in;
	size_t n;
	size_t max;
	const char *pieces[4]; /* NULL-terminated; lengths from strlen but see nul */
	size_t nul;            /* > 0: the only piece is in[0..nul) (binary) */
} msgs[] = {
	{ "hello\n", 6, 8192, { "hello" }, 0 },
	{ "hello\r\n", 7, 8192, { "hello" }, 0 },
	{ "hello", 5, 8192, { "hello" }, 0 },
	{ "", 0, 8192, { "" }, 0 },
	{ "\n", 1, 8192, { "" }, 0 },
	{ "\r\n", 2, 8192, { "" }, 0 },
	{ "\r", 1, 8192, { "\r" }, 0 },
	{ "a\nb", 3, 8192, { "a\nb" }, 0 },
	{ "a\r\nb\n", 5, 8192, { "a\r\nb" }, 0 },
	{ "two\n\n", 5, 8192, { "two\n" }, 0 },
	{ "cr\r\r\n", 5, 8192, { "cr\r" }, 0 },
	{ "abcdefghij\n", 11, 4, { "abcd", "efgh", "ij" }, 0 },
	{ "abcdefgh\r\n", 10, 4, { "abcd", "efgh" }, 0 },
	{ "abcdefgh", 8, 4, { "abcd", "efgh" }, 0 },
	{ "abcdefghi", 9, 4, { "abcd", "efgh", "i" }, 0 },
	{ "abcd\r", 5, 4, { "abcd", "\r" }, 0 },
	{ "abc", 3, 1, { "a", "b", "c" }, 0 },
	{ "a\0b\0\n", 5, 8192, { "" }, 4 },
};
#define NMSGS (sizeof(msgs) / sizeof(msgs[0]))

static size_t
piece_len(size_t i, size_t k)
{
	return msgs[i].nul > 0 ? msgs[i].nul : strlen(msgs[i].pieces[k]);
}

static const char *
piece(size_t i, size_t k)
{
	return msgs[i].nul > 0 ? msgs[i].in : msgs[i].pieces[k];
}

static size_t
npieces(size_t i)
{
	size_t k = 0;

	while (k < 4 && msgs[i].pieces[k] != NULL)
		k++;
	return k;
}

/* "[TIME] PIECE\n", one reply datagram per piece. */
START_TEST(test_timestamp_pieces)
{
	struct peer pe = mkpeer("127.0.0.1", 40000);
	size_t i = (size_t)_i, len;

	handler_max_line = msgs[i].max;
	ck_assert_int_eq(hook(&handler_timestamp, &pe, msgs[i].in, msgs[i].n), 0);
	ck_assert_uint_eq(rep.n, npieces(i));
	for (size_t k = 0; k < rep.n; k++) {
		const char *p = reply(k, &len);
		size_t pl = piece_len(i, k);

		ck_assert_uint_eq(len, 1 + TIME_LEN + 2 + pl + 1);
		ck_assert(p[0] == '[' && is_rfc3339(p + 1));
		ck_assert(memcmp(p + 1 + TIME_LEN, "] ", 2) == 0);
		ck_assert_msg(memcmp(p + 3 + TIME_LEN, piece(i, k), pl) == 0,
		    "message %zu piece %zu: %.*s", i, k, (int)len, p);
		ck_assert(p[len - 1] == '\n');
	}
}
END_TEST

/* Big and binary: pieces of max_line, every byte kept; a custom format. */
START_TEST(test_timestamp_big)
{
	struct peer pe = mkpeer("127.0.0.1", 40000);

	svc.timestamp_format = (char *)"%s";
	for (size_t i = 0; i < NSIZES; i++) {
		char *in = pattern(sizes[i]);
		size_t max = sizes[i] > 1000 ? 8192 : 100, off = 0, len;
		size_t want = sizes[i] == 0 ? 1 : (sizes[i] + max - 1) / max;

		handler_max_line = max;
		ck_assert_int_eq(hook(&handler_timestamp, &pe, in, sizes[i]), 0);
		ck_assert_uint_eq(rep.n, want);
		for (size_t k = 0; k < rep.n; k++) {
			const char *p = reply(k, &len);
			const char *sp = memchr(p, ' ', len);
			size_t pl = sizes[i] - off < max ? sizes[i] - off : max;

			ck_assert(p[0] == '[' && sp != NULL && sp[-1] == ']');
			ck_assert_uint_eq(len, (size_t)(sp - p) + 1 + pl + 1);
			ck_assert(pl == 0 || memcmp(sp + 1, in + off, pl) == 0);
			ck_assert(p[len - 1] == '\n');
			off += pl;
		}
		ck_assert_uint_eq(off, sizes[i]);
		free(in);
	}
}
END_TEST

/* ---- logger ---- */

static char *
slurp(const char *path, size_t *n)
{
	FILE *fp = fopen(path, "rb");
	char *p;
	long len;

	ck_assert_msg(fp != NULL, "%s: %s", path, strerror(errno));
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	rewind(fp);
	p = malloc((size_t)len + 1);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(fread(p, 1, (size_t)len, fp), (size_t)len);
	p[len] = '\0';
	fclose(fp);
	*n = (size_t)len;
	return p;
}

static char logpath[128];

static void
log_setup(bool ack)
{
	char err[256] = "";

	snprintf(logpath, sizeof(logpath), "%s/log", tmpdir);
	unlink(logpath);
	svc.output = logpath;
	svc.ack = ack;
	svc.handler = &handler_logger;
	ck_assert_msg(handler_logger.setup(&svc, err, sizeof(err)) == 0, "%s", err);
}

/* The records, times checked and dropped: "PEER: BODY\n"... */
static char *
records(size_t *nrec)
{
	size_t n;
	char *log = slurp(logpath, &n), *out = malloc(n + 1), *o = out;
	const char *p = log;

	ck_assert_ptr_nonnull(out);
	*nrec = 0;
	while (p < log + n) {
		const char *lf = memchr(p, '\n', (size_t)(log + n - p));

		ck_assert_msg(lf != NULL && lf - p > TIME_LEN && is_rfc3339(p) &&
		        p[TIME_LEN] == ' ',
		    "bad record: %s", p);
		memcpy(o, p + TIME_LEN + 1, (size_t)(lf - p) - TIME_LEN);
		o += lf - p - TIME_LEN;
		p = lf + 1;
		(*nrec)++;
	}
	*o = '\0';
	free(log);
	return out;
}

START_TEST(test_logger_pieces)
{
	struct peer pe = mkpeer("127.0.0.1", 40000);
	size_t i = (size_t)_i, nrec;
	char want[256] = "";

	log_setup(false);
	handler_max_line = msgs[i].max;
	ck_assert_int_eq(hook(&handler_logger, &pe, msgs[i].in, msgs[i].n), 0);
	ck_assert_uint_eq(rep.n, 0);
	handler_logger.fini(&svc);
	for (size_t k = 0; k < npieces(i); k++) {
		char esc[128];
		size_t e = 0;
		const char *s = piece(i, k);

		for (size_t j = 0; j < piece_len(i, k); j++) {
			unsigned char c = (unsigned char)s[j];
			if (c < 0x20 || c == 0x7f || c == '\\')
				e += (size_t)snprintf(esc + e, sizeof(esc) - e, "\\x%02X", c);
			else
				esc[e++] = (char)c;
		}
		esc[e] = '\0';
		snprintf(want + strlen(want), sizeof(want) - strlen(want), "127.0.0.1:40000: %s\n",
		    esc);
	}
	char *got = records(&nrec);
	ck_assert_uint_eq(nrec, npieces(i));
	ck_assert_str_eq(got, want);
	free(got);
}
END_TEST

/* No connected/disconnected records; PEER as for streams; an LF inside is \x0A. */
START_TEST(test_logger_records)
{
	struct peer a = mkpeer("192.0.2.7", 5514), b = mkpeer("2001:db8::1", 65535);
	size_t nrec;

	log_setup(false);
	ck_assert_int_eq(hook(&handler_logger, &a, "hello\n", 6), 0);
	ck_assert_int_eq(hook(&handler_logger, &b, "<13>Dec  6 05:55:49 host app: two\nlines", 39),
	    0);
	ck_assert_int_eq(hook(&handler_logger, &a, "", 0), 0);
	ck_assert_int_eq(hook(&handler_logger, &a, "w\xc3\xb6rld\r\n", 8), 0);
	ck_assert_uint_eq(rep.n, 0);
	handler_logger.fini(&svc);
	char *got = records(&nrec);
	ck_assert_str_eq(got,
	    "192.0.2.7:5514: hello\n"
	    "[2001:db8::1]:65535: <13>Dec  6 05:55:49 host app: two\\x0Alines\n"
	    "192.0.2.7:5514: \n"
	    "192.0.2.7:5514: w\xc3\xb6rld\n");
	free(got);
}
END_TEST

/* 60,000 bytes in max_line pieces, every byte logged (escaped). */
START_TEST(test_logger_big)
{
	struct peer pe = mkpeer("127.0.0.1", 40000);
	char *in = pattern(60000);
	size_t nrec;

	log_setup(false);
	handler_max_line = 8192;
	ck_assert_int_eq(hook(&handler_logger, &pe, in, 60000), 0);
	handler_logger.fini(&svc);
	char *got = records(&nrec);
	ck_assert_uint_eq(nrec, (60000 + 8191) / 8192);
	/* Unescape and compare. */
	size_t off = 0;
	for (const char *p = got; *p != '\0';) {
		ck_assert(strncmp(p, "127.0.0.1:40000: ", 17) == 0);
		p += 17;
		while (*p != '\n') {
			unsigned v;

			if (*p == '\\') {
				ck_assert_int_eq(sscanf(p, "\\x%2X", &v), 1);
				p += 4;
			} else {
				/* A valid UTF-8 sequence passes unchanged: bytes as they are. */
				v = (unsigned char)*p++;
			}
			ck_assert_uint_lt(off, 60000);
			ck_assert_uint_eq(v, (unsigned char)in[off]);
			off++;
		}
		p++;
	}
	ck_assert_uint_eq(off, 60000);
	free(got);
	free(in);
}
END_TEST

/* ack: "OK\n" per record, each as a reply datagram. */
START_TEST(test_logger_ack)
{
	struct peer pe = mkpeer("127.0.0.1", 40000);
	size_t len, nrec;

	log_setup(true);
	ck_assert_int_eq(hook(&handler_logger, &pe, "one\n", 4), 0);
	ck_assert_uint_eq(rep.n, 1);
	ck_assert(memcmp(reply(0, &len), "OK\n", 3) == 0 && len == 3);
	handler_max_line = 2;
	ck_assert_int_eq(hook(&handler_logger, &pe, "abcde\r\n", 7), 0);
	ck_assert_uint_eq(rep.n, 3);
	for (size_t k = 0; k < 3; k++)
		ck_assert(memcmp(reply(k, &len), "OK\n", 3) == 0 && len == 3);
	ck_assert_int_eq(hook(&handler_logger, &pe, "", 0), 0);
	ck_assert_uint_eq(rep.n, 1);
	handler_logger.fini(&svc);
	char *got = records(&nrec);
	ck_assert_uint_eq(nrec, 5);
	ck_assert_str_eq(got,
	    "127.0.0.1:40000: one\n127.0.0.1:40000: ab\n127.0.0.1:40000: cd\n"
	    "127.0.0.1:40000: e\n127.0.0.1:40000: \n");
	free(got);
}
END_TEST

START_TEST(test_logger_no_output)
{
	struct peer pe = mkpeer("127.0.0.1", 40000);

	svc.handler = &handler_logger;
	ck_assert_int_eq(hook(&handler_logger, &pe, "x", 1), -1);
}
END_TEST

/* ---- the reflection guard ---- */

static const struct {
	const char *ip;
	unsigned port;
	bool ok;
} guard[] = {
	{ "127.0.0.1", 0, false },
	{ "127.0.0.1", 1, false },
	{ "127.0.0.1", 7, false },
	{ "127.0.0.1", 19, false },
	{ "127.0.0.1", 1023, false },
	{ "127.0.0.1", 1024, true },
	{ "127.0.0.1", 65535, true },
	{ "192.0.2.1", 40000, true },
	{ "10.255.255.255", 40000, true }, /* a directed broadcast cannot be told */
	{ "224.0.0.1", 40000, false },
	{ "239.255.255.250", 40000, false },
	{ "255.255.255.255", 40000, false },
	{ "0.0.0.0", 40000, false },
	{ "0.1.2.3", 40000, false },
	{ "::1", 40000, true },
	{ "::1", 0, false },
	{ "::1", 1023, false },
	{ "::1", 1024, true },
	{ "2001:db8::1", 40000, true },
	{ "fe80::1", 40000, true },
	{ "::", 40000, false },
	{ "ff02::1", 40000, false },
	{ "ff05::1:3", 40000, false },
	{ "::ffff:224.0.0.1", 40000, false },
	{ "::ffff:255.255.255.255", 40000, false },
	{ "::ffff:0.0.0.0", 40000, false },
	{ "::ffff:192.0.2.1", 40000, true },
	{ "::ffff:127.0.0.1", 1023, false },
	{ "::ffff:127.0.0.1", 1024, true },
};

START_TEST(test_guard)
{
	size_t i = (size_t)_i;
	struct peer pe = mkpeer(guard[i].ip, guard[i].port);

	ck_assert_msg(dgram_may_reply((struct sockaddr *)&pe.sa, pe.salen) == guard[i].ok,
	    "%s port %u: want %s", guard[i].ip, guard[i].port, guard[i].ok ? "yes" : "no");
}
END_TEST

START_TEST(test_guard_unix)
{
	struct sockaddr_un su;
	size_t off = offsetof(struct sockaddr_un, sun_path);

	memset(&su, 0, sizeof(su));
	su.sun_family = AF_UNIX;
	/* An unbound client: the family alone. */
	ck_assert(!dgram_may_reply((struct sockaddr *)&su, (socklen_t)off));
	ck_assert(!dgram_may_reply((struct sockaddr *)&su, (socklen_t)(off + 1)));
	strcpy(su.sun_path, "/tmp/client.sock");
	ck_assert(
	    dgram_may_reply((struct sockaddr *)&su, (socklen_t)(off + strlen(su.sun_path) + 1)));
	/* An abstract name (autobind gives 5 bytes). */
	memset(su.sun_path, 0, sizeof(su.sun_path));
	memcpy(su.sun_path + 1, "abcde", 5);
	ck_assert(dgram_may_reply((struct sockaddr *)&su, (socklen_t)(off + 6)));
	/* Short or unknown addresses are never answered. */
	struct peer pe = mkpeer("192.0.2.1", 40000);
	ck_assert(!dgram_may_reply((struct sockaddr *)&pe.sa, 8));
	ck_assert(!dgram_may_reply(NULL, 0));
	pe.sa.ss_family = AF_PACKET;
	ck_assert(!dgram_may_reply((struct sockaddr *)&pe.sa, pe.salen));
}
END_TEST

/* ---- dgram_handle and the counters ---- */

static struct listener ls;

static size_t
handle(const char *ip, unsigned port, const char *p, size_t n)
{
	struct dgram_msg m;

	memset(&m, 0, sizeof(m));
	m.peer = mkpeer(ip, port);
	m.p = p;
	m.len = n;
	ls.svc = &svc;
	snprintf(ls.addr, sizeof(ls.addr), "udp:127.0.0.1:7");
	return dgram_handle(&ls, &m, &rep);
}

#define COUNT(c) ((unsigned long long)atomic_load(&stats.c))

START_TEST(test_handle_echo)
{
	svc.handler = &handler_echo;
	ck_assert_uint_eq(handle("127.0.0.1", 40000, "hi", 2), 1);
	ck_assert_uint_eq(rep.lens[0], 2);
	ck_assert_uint_eq(handle("127.0.0.1", 40000, "", 0), 1);
	ck_assert_uint_eq(rep.lens[0], 0);
	dgram_sent(&svc, 2, 0);
	ck_assert_uint_eq(COUNT(dgrams_in), 2);
	ck_assert_uint_eq(COUNT(dgrams_answered), 2);
	ck_assert_uint_eq(COUNT(dgrams_dropped), 0);

	/* The guard: handled, replies emptied, counted dropped. */
	ck_assert_uint_eq(handle("127.0.0.1", 7, "loop", 4), 0);
	ck_assert_uint_eq(rep.n, 0);
	ck_assert_uint_eq(handle("::ffff:224.0.0.1", 40000, "x", 1), 0);
	ck_assert_uint_eq(COUNT(dgrams_in), 4);
	ck_assert_uint_eq(COUNT(dgrams_dropped), 2);
	/* The socket could not take one of two replies. */
	dgram_sent(&svc, 1, 1);
	ck_assert_uint_eq(COUNT(dgrams_answered), 3);
	ck_assert_uint_eq(COUNT(dgrams_dropped), 3);
	for (int i = 0; i < REFUSE_NREASONS; i++)
		ck_assert_uint_eq(COUNT(refused[i]), 0);
}
END_TEST

/* Truncated: dropped, the handler never sees half a message. */
START_TEST(test_handle_truncated)
{
	struct dgram_msg m;
	size_t nrec = 0;

	log_setup(false);
	memset(&m, 0, sizeof(m));
	m.peer = mkpeer("127.0.0.1", 40000);
	m.p = "part";
	m.len = 4;
	m.truncated = true;
	ls.svc = &svc;
	ck_assert_uint_eq(dgram_handle(&ls, &m, &rep), 0);
	ck_assert_uint_eq(COUNT(dgrams_in), 1);
	ck_assert_uint_eq(COUNT(dgrams_dropped), 1);
	handler_logger.fini(&svc);
	free(records(&nrec));
	ck_assert_uint_eq(nrec, 0);
}
END_TEST

/* The guard does not stop a logger record, only its OK. */
START_TEST(test_handle_guard_logger)
{
	size_t nrec;

	log_setup(true);
	ck_assert_uint_eq(handle("127.0.0.1", 514, "from syslogd\n", 13), 0);
	ck_assert_uint_eq(COUNT(dgrams_dropped), 1);
	ck_assert_uint_eq(handle("127.0.0.1", 40000, "from logger\n", 12), 1);
	ck_assert_uint_eq(COUNT(dgrams_dropped), 1);
	handler_logger.fini(&svc);
	char *got = records(&nrec);
	ck_assert_str_eq(got, "127.0.0.1:514: from syslogd\n127.0.0.1:40000: from logger\n");
	free(got);
	/* Without ack: nothing to drop. */
	memset(&stats, 0, sizeof(stats));
	log_setup(false);
	ck_assert_uint_eq(handle("127.0.0.1", 514, "x", 1), 0);
	ck_assert_uint_eq(COUNT(dgrams_dropped), 0);
	/* Nor for discard. */
	svc.handler->fini(&svc);
	svc.handler = &handler_discard;
	ck_assert_uint_eq(handle("0.0.0.0", 0, "x", 1), 0);
	ck_assert_uint_eq(COUNT(dgrams_dropped), 0);
	ck_assert_uint_eq(COUNT(dgrams_in), 2);
}
END_TEST

/* A failing handler: nothing sent, counted dropped. */
START_TEST(test_handle_failure)
{
	svc.handler = &handler_logger; /* without setup: no output */
	ck_assert_uint_eq(handle("127.0.0.1", 40000, "x", 1), 0);
	ck_assert_uint_eq(rep.n, 0);
	ck_assert_uint_eq(COUNT(dgrams_dropped), 1);
	svc.handler = NULL;
}
END_TEST

START_TEST(test_handle_access)
{
	char err[256];

	svc.handler = &handler_echo;
	ck_assert_int_eq(access_list_add(&svc.access.allow, "10.0.0.0/8", err, sizeof(err)), 0);
	ck_assert_int_eq(access_list_add(&svc.access.deny, "10.9.0.0/16", err, sizeof(err)), 0);
	ck_assert_uint_eq(handle("10.1.2.3", 40000, "a", 1), 1);
	ck_assert_uint_eq(handle("::ffff:10.1.2.3", 40000, "a", 1), 1);
	ck_assert_uint_eq(handle("10.9.2.3", 40000, "a", 1), 0);
	ck_assert_uint_eq(handle("192.0.2.1", 40000, "a", 1), 0);
	ck_assert_uint_eq(handle("::1", 40000, "a", 1), 0);
	ck_assert_uint_eq(rep.n, 0);
	ck_assert_uint_eq(COUNT(dgrams_in), 5);
	ck_assert_uint_eq(COUNT(refused[REFUSE_DENIED]), 3);
	ck_assert_uint_eq(COUNT(dgrams_dropped), 0);
}
END_TEST

/* rate_limit: datagrams per second per source; max_per_source does not apply. */
START_TEST(test_handle_rate)
{
	char err[256];

	svc.handler = &handler_echo;
	svc.rate_limit = 3;
	svc.max_per_source = 1;
	ck_assert_msg(access_setup(&svc, err, sizeof(err)) == 0, "%s", err);
	for (int i = 0; i < 3; i++)
		ck_assert_uint_eq(handle("192.0.2.1", 40000 + (unsigned)i, "a", 1), 1);
	ck_assert_uint_eq(handle("192.0.2.1", 40000, "a", 1), 0);
	ck_assert_uint_eq(handle("::ffff:192.0.2.1", 40000, "a", 1), 0);
	/* Another source has its own bucket. */
	ck_assert_uint_eq(handle("192.0.2.2", 40000, "a", 1), 1);
	ck_assert_uint_eq(COUNT(refused[REFUSE_RATE]), 2);
	ck_assert_uint_eq(COUNT(refused[REFUSE_PER_SOURCE]), 0);
	/* One token every 1/3 s; refused datagrams take none. */
	unit_now += SEC / 3 + 1;
	ck_assert_uint_eq(handle("192.0.2.1", 40000, "a", 1), 1);
	ck_assert_uint_eq(handle("192.0.2.1", 40000, "a", 1), 0);
	ck_assert_uint_eq(COUNT(refused[REFUSE_RATE]), 3);
	ck_assert_uint_eq(COUNT(dgrams_in), 8);

	/* A datagram is no connection: a source at max_per_source still sends. */
	unit_now += 10 * SEC;
	struct peer pe = mkpeer("192.0.2.3", 40000);
	ck_assert_int_eq(access_admit(&svc, (struct sockaddr *)&pe.sa, pe.salen), REFUSE_NONE);
	ck_assert_uint_eq(handle("192.0.2.3", 40000, "a", 1), 1);
	access_release(&svc, (struct sockaddr *)&pe.sa, pe.salen);
}
END_TEST

/* max_per_source alone: datagrams are not limited and leave no state behind. */
START_TEST(test_handle_per_source_only)
{
	char err[256];

	svc.handler = &handler_echo;
	svc.max_per_source = 1;
	ck_assert_msg(access_setup(&svc, err, sizeof(err)) == 0, "%s", err);
	for (int i = 0; i < 100; i++)
		ck_assert_uint_eq(handle("192.0.2.1", 40000, "a", 1), 1);
	ck_assert_uint_eq(access_sources(&svc), 0);
	ck_assert_uint_eq(COUNT(refused[REFUSE_PER_SOURCE]), 0);
}
END_TEST

Suite *
dgram_suite(void)
{
	Suite *s = suite_create("dgram");
	TCase *tc;

	tc = tcase_create("handlers");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_reply_buffer);
	tcase_add_test(tc, test_every_handler);
	tcase_add_test(tc, test_echo);
	tcase_add_test(tc, test_discard);
	tcase_add_test(tc, test_chargen);
	tcase_add_test(tc, test_chargen_as_stream);
	tcase_add_test(tc, test_daytime);
	tcase_add_test(tc, test_time);
	tcase_add_loop_test(tc, test_timestamp_pieces, 0, (int)NMSGS);
	tcase_add_test(tc, test_timestamp_big);
	tcase_add_loop_test(tc, test_logger_pieces, 0, (int)NMSGS);
	tcase_add_test(tc, test_logger_records);
	tcase_add_test(tc, test_logger_big);
	tcase_add_test(tc, test_logger_ack);
	tcase_add_test(tc, test_logger_no_output);
	suite_add_tcase(s, tc);

	tc = tcase_create("guard");
	tcase_add_loop_test(tc, test_guard, 0, (int)(sizeof(guard) / sizeof(guard[0])));
	tcase_add_test(tc, test_guard_unix);
	suite_add_tcase(s, tc);

	tc = tcase_create("handle");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_handle_echo);
	tcase_add_test(tc, test_handle_truncated);
	tcase_add_test(tc, test_handle_guard_logger);
	tcase_add_test(tc, test_handle_failure);
	tcase_add_test(tc, test_handle_access);
	tcase_add_test(tc, test_handle_rate);
	tcase_add_test(tc, test_handle_per_source_only);
	suite_add_tcase(s, tc);
	return s;
}

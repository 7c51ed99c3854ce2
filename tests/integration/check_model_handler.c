/* check_model_handler.c - every handler under every model, against the real binary over TCP. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define D H_DEADLINE_MS

/* One record or reply line the test expects, with its length (NULs allowed). */
struct want {
	const char *p;
	size_t n;
};
/* clang-format off */
#define W(s) { (s), sizeof(s) - 1 }
/* clang-format on */

/* Deterministic bytes that are not a short repetition. */
static void
fill(unsigned char *p, size_t n, unsigned seed)
{
	size_t i;
	unsigned x = seed * 2654435761u + 1;

	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
}

/*
 * echo: binary data (NULs, every byte value) comes back unchanged and in
 * order, write after write; after a half-close the server sends the rest
 * and then closes.
 */
START_TEST(test_echo)
{
	const char *model = h_model(_i);
	const char *args[] = { "-m", model, "-H", "echo", "-l", "127.0.0.1:0", NULL };
	static const char m1[] = "hello\0world\r\n";
	/* The last fills many 256 KiB reads in a row: the readiness loop's
	 * repeated reads, the blocking models' switch to a large buffer. */
	static const size_t sizes[] = { 1, 7, 4096, 65536, 100000, 200003, (3 << 20) + 5 };
	unsigned char all[256], buf[256];
	struct hbuf in = { 0 }, sent = { 0 };
	struct srv s;
	size_t i;
	int fd;

	H_START_OK(&s, args, model);
	H_ASSERT(s.nls == 1 && strcmp(s.ls[0].handler, "echo") == 0 &&
	        strncmp(s.ls[0].addr, "127.0.0.1:", 10) == 0 && s.ls[0].port > 0,
	    "%s: bad listening line '%s (%s, %s)'", model, s.ls[0].addr, s.ls[0].service,
	    s.ls[0].handler);
	fd = cli_connect(srv_port(&s, 0));
	H_ASSERT(fd >= 0, "%s: connect: %s", model, H_ERR);

	H_ASSERT(cli_write_all(fd, m1, sizeof m1 - 1, D) == 0, "%s: write", model);
	H_ASSERT(cli_read_exact(fd, buf, sizeof m1 - 1, D) == (ssize_t)(sizeof m1 - 1) &&
	        memcmp(buf, m1, sizeof m1 - 1) == 0,
	    "%s: first echo (with a NUL) wrong or missing", model);

	for (i = 0; i < 256; i++)
		all[i] = (unsigned char)(255 - i);
	H_ASSERT(cli_write_all(fd, all, 256, D) == 0, "%s: write", model);
	H_ASSERT(cli_read_exact(fd, buf, 256, D) == 256 && memcmp(buf, all, 256) == 0,
	    "%s: every byte value did not come back unchanged", model);

	/*
	 * Several writes (more than max_pending in all), read as they come,
	 * then the half-close: everything must come back, then EOF.
	 */
	for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		unsigned char *p = malloc(sizes[i]);

		fill(p, sizes[i], (unsigned)i);
		hbuf_add(&sent, p, sizes[i]);
		H_ASSERT(cli_exchange(fd, p, sizes[i], false, &in, 10000) == 0,
		    "%s: writing %zu bytes: %s", model, sizes[i], H_ERR);
		free(p);
	}
	H_ASSERT(cli_exchange(fd, "", 0, true, &in, 10000) == 0,
	    "%s: no EOF after half-close (got %zu of %zu bytes): %s", model, in.len, sent.len,
	    H_ERR);
	H_ASSERT(in.len == sent.len, "%s: got %zu bytes back, sent %zu", model, in.len, sent.len);
	H_ASSERT(memcmp(in.p, sent.p, sent.len) == 0, "%s: echoed bytes differ from those sent",
	    model);
	close(fd);

	H_STOP_OK(&s, model);
	hbuf_free(&in);
	hbuf_free(&sent);
}
END_TEST

/*
 * Checks one "[TIME] LINE\n" reply at p (len bytes incl. the LF) against
 * want; TIME must be UTC within [lo, hi] microseconds and not before *last.
 */
static void
check_stamp(const char *model, const char *p, size_t len, struct want w, long long lo, long long hi,
    long long *last)
{
	long long us;

	H_ASSERT(len == 1 + H_TS_LEN + 2 + w.n + 1,
	    "%s: reply '%.*s' has length %zu, want %zu for line '%s'", model, (int)len, p, len,
	    1 + H_TS_LEN + 2 + w.n + 1, w.p);
	H_ASSERT(p[0] == '[' && h_parse_ts(p + 1, &us) && p[1 + H_TS_LEN] == ']' &&
	        p[2 + H_TS_LEN] == ' ',
	    "%s: reply '%.*s' is not '[YYYY-MM-DDTHH:MM:SS.uuuuuuZ] ...'", model, (int)len, p);
	H_ASSERT(memcmp(p + 3 + H_TS_LEN, w.p, w.n) == 0 && p[len - 1] == '\n',
	    "%s: reply '%.*s' does not carry line '%s'", model, (int)len, p, w.p);
	H_ASSERT(us >= lo - 1000000 && us <= hi + 1000000,
	    "%s: time in '%.*s' is not now in UTC (off by %lld s)", model, (int)len, p,
	    (us - hi) / 1000000);
	H_ASSERT(us >= *last, "%s: time went backwards at '%.*s'", model, (int)len, p);
	*last = us;
}

/*
 * timestamp: "[TIME] LINE\n" per line, TIME RFC 3339 UTC with microseconds
 * (the server runs with TZ east of UTC to catch local time); CR before LF
 * dropped, other CRs kept; lines over --max-line 16 split in 16-byte
 * pieces; a line of exactly 16 bytes stays one line; an unterminated last
 * line is answered at the half-close, then the server closes.
 */
START_TEST(test_timestamp)
{
	const char *model = h_model(_i);
	const char *args[] = { "-m", model, "-H", "timestamp", "-l", "127.0.0.1:0", "--max-line",
		"16", NULL };
	static const char rest[] = "crlf line\r\n"
	                           "spl";
	static const char rest2[] = "it\n"
	                            "abcdefghijklmnopqrstuvwxyz\n"
	                            "0123456789abcdef\n"
	                            "\n"
	                            "bare\rcr\n"
	                            "two\r\r\n"
	                            "tail";
	static const struct want want[] = { W("hello"), W("crlf line"), W("split"),
		W("abcdefghijklmnop"), W("qrstuvwxyz"), W("0123456789abcdef"), W(""), W("bare\rcr"),
		W("two\r"), W("tail") };
	struct hbuf in = { 0 };
	char line[256];
	long long lo, hi, last = 0;
	const char *p;
	struct srv s;
	size_t i;
	ssize_t n;
	int fd;

	setenv("TZ", "JST-9", 1); /* the server must still say UTC */
	H_START_OK(&s, args, model);
	H_ASSERT(strcmp(s.ls[0].handler, "timestamp") == 0, "%s: listening line names handler '%s'",
	    model, s.ls[0].handler);
	fd = cli_connect(srv_port(&s, 0));
	H_ASSERT(fd >= 0, "%s: connect: %s", model, H_ERR);

	/* The first reply comes at once, not at the end of the stream. */
	lo = h_wall_us();
	H_ASSERT(cli_send(fd, "hello\n") == 0, "%s: write", model);
	n = cli_read_line(fd, line, sizeof line, D);
	hi = h_wall_us();
	H_ASSERT(n > 0, "%s: no reply to 'hello' (got '%s')", model, line);
	check_stamp(model, line, (size_t)n, want[0], lo, hi, &last);

	H_ASSERT(cli_exchange(fd, rest, sizeof rest - 1, false, &in, D) == 0, "%s: write: %s",
	    model, H_ERR);
	H_ASSERT(cli_exchange(fd, rest2, sizeof rest2 - 1, true, &in, D) == 0,
	    "%s: no EOF after half-close (got '%s'): %s", model, in.p ? in.p : "", H_ERR);
	hi = h_wall_us();

	p = in.p;
	for (i = 1; i < sizeof want / sizeof want[0]; i++) {
		const char *eol = p ? memchr(p, '\n', in.len - (size_t)(p - in.p)) : NULL;

		H_ASSERT(eol != NULL, "%s: reply %zu (for '%s') missing; got:\n%s", model, i,
		    want[i].p, in.p ? in.p : "");
		check_stamp(model, p, (size_t)(eol + 1 - p), want[i], lo, hi, &last);
		p = eol + 1;
	}
	H_ASSERT(p == in.p + in.len, "%s: extra replies: '%s'", model, p);
	close(fd);

	H_STOP_OK(&s, model);
	hbuf_free(&in);
}
END_TEST

/*
 * logger: with --logger-ack, "OK\n" after each record is written (so the
 * record is in the file when OK arrives); records "TIME PEER connected",
 * "TIME PEER: LINE" with control bytes, backslash and invalid UTF-8 as
 * \xHH (TAB and valid UTF-8 unchanged), --max-line 32 pieces escaped on
 * their own, the unterminated last line at half-close, then "TIME PEER
 * disconnected"; nothing else in the file.
 */
START_TEST(test_logger)
{
	const char *model = h_model(_i);
	const char *dir = h_tmpdir();
	const char *out = h_path(dir, "logger.log");
	const char *args[] = { "-m", model, "-H", "logger", "-l", "127.0.0.1:0", "--logger-output",
		out, "--logger-ack", "--max-line", "32", NULL };
	static const struct {
		struct want send;
		int records;
	} lines[] = {
		{ W("hello world\n"), 1 },
		{ W("tab\there\n"), 1 },
		{ W("ctl\x01\x1f\x7f end\n"), 1 },
		{ W("back\\slash\n"), 1 },
		{ W("nul\0byte\n"), 1 },
		{ W("a\rb\r\n"), 1 },
		{ W("utf8 \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\n"), 1 },
		{ W("bad \xff|\xc3(|\xe2\x82|\xc0\xaf|\xed\xa0\x80 end\n"), 1 },
		{ W("hi \xf4\x90\x80\x80 \xf0\x9f\x98\x80\n"), 1 },
		/* 31 'a' + e-acute cut by the 32-byte split */
		{ W("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9"
		    "bc\n"),
		    2 },
		{ W("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n"), 1 },
		{ W("\n"), 1 },
	};
	static const struct want want[] = {
		W("hello world"),
		W("tab\there"),
		W("ctl\\x01\\x1F\\x7F end"),
		W("back\\x5Cslash"),
		W("nul\\x00byte"),
		W("a\\x0Db"),
		W("utf8 \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
		W("bad \\xFF|\\xC3(|\\xE2\\x82|\\xC0\\xAF|\\xED\\xA0\\x80 end"),
		W("hi \\xF4\\x90\\x80\\x80 \xf0\x9f\x98\x80"),
		W("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\\xC3"),
		W("\\xA9bc"),
		W("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"),
		W(""),
		W("last"),
	};
	const size_t nwant = sizeof want / sizeof want[0];
	struct hbuf in = { 0 };
	struct h_has fh;
	char peer[64], line[64], needle[96], *text, *p, *eol;
	long long lo, hi, last = 0;
	struct srv s;
	size_t i, k, len;
	int fd, r;

	H_ASSERT(dir != NULL, "tmpdir");
	H_START_OK(&s, args, model);
	H_ASSERT(strcmp(s.ls[0].handler, "logger") == 0, "%s: listening line names handler '%s'",
	    model, s.ls[0].handler);
	lo = h_wall_us();
	fd = cli_connect(srv_port(&s, 0));
	H_ASSERT(fd >= 0, "%s: connect: %s", model, H_ERR);
	snprintf(peer, sizeof peer, "127.0.0.1:%d", cli_local_port(fd));

	for (i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		H_ASSERT(cli_write_all(fd, lines[i].send.p, lines[i].send.n, D) == 0,
		    "%s: write: %s", model, H_ERR);
		for (r = 0; r < lines[i].records; r++) {
			ssize_t n = cli_read_line(fd, line, sizeof line, D);

			H_ASSERT(n == 3 && strcmp(line, "OK\n") == 0,
			    "%s: ack %d for line %zu: got '%s', want 'OK\\n'", model, r + 1, i,
			    line);
		}
		if (i == 0) {
			/* OK means written: no waiting needed here. */
			text = h_read_file(out, NULL);
			snprintf(needle, sizeof needle, " %s: hello world\n", peer);
			H_ASSERT(text != NULL && strstr(text, needle) != NULL,
			    "%s: OK came before the record was in the file:\n%s", model,
			    text ? text : "(no file)");
			free(text);
		}
	}
	H_ASSERT(cli_exchange(fd, "last", 4, true, &in, D) == 0, "%s: no EOF after half-close: %s",
	    model, H_ERR);
	H_ASSERT(in.len == 3 && memcmp(in.p, "OK\n", 3) == 0,
	    "%s: unterminated last line: got '%s', want 'OK\\n'", model, in.p ? in.p : "");
	close(fd);

	snprintf(needle, sizeof needle, " %s disconnected\n", peer);
	fh.path = out;
	fh.needle = needle;
	H_ASSERT(h_wait_for(h_file_has, &fh, D), "%s: no '%s disconnected' record", model, peer);
	hi = h_wall_us();

	text = h_read_file(out, &len);
	H_ASSERT(text != NULL, "%s: read %s", model, out);
	H_ASSERT(len > 0 && text[len - 1] == '\n', "%s: the file does not end with a whole line",
	    model);
	/* connected, the lines in order, disconnected: nothing else. */
	p = text;
	for (k = 0; k < nwant + 2; k++) {
		struct h_record rec;

		eol = memchr(p, '\n', len - (size_t)(p - text));
		H_ASSERT(eol != NULL, "%s: record %zu missing; file:\n%s", model, k, text);
		H_ASSERT(h_parse_record(p, (size_t)(eol - p), &rec), "%s: malformed record '%.*s'",
		    model, (int)(eol - p), p);
		H_ASSERT(strcmp(rec.peer, peer) == 0,
		    "%s: record '%.*s' names peer '%s', want '%s'", model, (int)(eol - p), p,
		    rec.peer, peer);
		H_ASSERT(rec.us >= lo - 1000000 && rec.us <= hi + 1000000 && rec.us >= last,
		    "%s: bad time in record '%.*s'", model, (int)(eol - p), p);
		last = rec.us;
		if (k == 0) {
			H_ASSERT(rec.kind == H_REC_CONNECTED,
			    "%s: first record is not 'connected': '%.*s'", model, (int)(eol - p),
			    p);
		} else if (k == nwant + 1) {
			H_ASSERT(rec.kind == H_REC_DISCONNECTED,
			    "%s: last record is not 'disconnected': '%.*s'", model, (int)(eol - p),
			    p);
		} else {
			const struct want *w = &want[k - 1];

			H_ASSERT(rec.kind == H_REC_LINE && rec.textlen == w->n &&
			        memcmp(rec.text, w->p, w->n) == 0,
			    "%s: record '%.*s': want text '%s'", model, (int)(eol - p), p, w->p);
		}
		p = eol + 1;
	}
	H_ASSERT(p == text + len, "%s: extra records: '%s'", model, p);
	free(text);

	H_STOP_OK(&s, model);
	hbuf_free(&in);
}
END_TEST

/*
 * Two clients at once: every model but a serial one serves the second
 * while the first stays connected; a serial one serves the second only
 * after the first leaves.
 */
START_TEST(test_two_clients)
{
	const char *model = h_model(_i);
	const char *args[] = { "-m", model, "-H", "echo", "-l", "127.0.0.1:0", NULL };
	bool serial = h_model_serial(model);
	char buf[16];
	struct srv s;
	int a, b;

	H_START_OK(&s, args, model);
	a = cli_connect(srv_port(&s, 0));
	H_ASSERT(a >= 0, "%s: connect: %s", model, H_ERR);
	H_ASSERT(cli_echo_ok(a, "first\n"), "%s: first client not served", model);
	b = cli_connect(srv_port(&s, 0));
	H_ASSERT(b >= 0, "%s: connect: %s", model, H_ERR);
	H_ASSERT(cli_send(b, "second\n") == 0, "%s: write", model);
	if (serial) {
		/* Bounded wait for an absence: nothing while a is served. */
		H_ASSERT(cli_quiet(b, 300),
		    "%s: second client served while the first is "
		    "connected",
		    model);
		H_ASSERT(cli_echo_ok(a, "still\n"), "%s: first client no longer served", model);
		close(a);
		H_ASSERT(cli_read_exact(b, buf, 7, D) == 7 && memcmp(buf, "second\n", 7) == 0,
		    "%s: second client not served after the first left", model);
	} else {
		H_ASSERT(cli_read_exact(b, buf, 7, D) == 7 && memcmp(buf, "second\n", 7) == 0,
		    "%s: second client not served while the first is "
		    "connected",
		    model);
		H_ASSERT(cli_echo_ok(a, "still\n"), "%s: first client no longer served", model);
		H_ASSERT(cli_echo_ok(b, "again\n"), "%s: second client no longer served", model);
		close(a);
	}
	close(b);
	H_STOP_OK(&s, model);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("model_handler");

	h_tcase_models(su, "echo", 30, test_echo);
	h_tcase_models(su, "timestamp", 30, test_timestamp);
	h_tcase_models(su, "logger", 30, test_logger);
	h_tcase_models(su, "concurrency", 30, test_two_clients);
	return h_run_suite(su);
}

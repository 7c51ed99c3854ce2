/* check_frame.c - unit tests for the line framer. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "sink.h"
#include "unit.h"

/* Lines as seen by the callback, rendered "line|line|" with \xHH for
 * anything not plainly printable, so failures are readable. */
struct coll {
	char text[65536];
	size_t len;
	size_t lines;
	bool reply;          /* write each line + LF to the sink */
	const char *fail_on; /* return -1 for this line */
	const char *base;    /* input of the current feed, for the zero-copy test */
	size_t base_len;
	size_t direct;   /* lines delivered from inside base */
	bool count_only; /* only count, for huge inputs */
	size_t longest, last;
};

static void
coll_add(struct coll *c, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char b = (unsigned char)s[i];
		if (b >= 0x20 && b < 0x7f && b != '\\' && b != '|')
			c->text[c->len++] = (char)b;
		else
			c->len += (size_t)sprintf(c->text + c->len, "\\x%02X", b);
		REQUIRE(c->len < sizeof(c->text) - 8);
	}
	c->text[c->len++] = '|';
	c->text[c->len] = '\0';
}

static int
coll_line(void *ctx, const char *line, size_t len, struct sink *out)
{
	struct coll *c = ctx;

	if (c->fail_on != NULL && len == strlen(c->fail_on) && memcmp(line, c->fail_on, len) == 0)
		return -1;
	if (c->base != NULL && line >= c->base && line < c->base + c->base_len)
		c->direct++;
	c->lines++;
	c->last = len;
	if (len > c->longest)
		c->longest = len;
	if (c->count_only)
		return 0;
	coll_add(c, line, len);
	if (c->reply) {
		REQUIRE(sink_write(out, line, len) == 0);
		REQUIRE(sink_write(out, "\n", 1) == 0);
	}
	return 0;
}

/* The SPEC's framing, written the obvious way: the oracle. */
static void
ref_frame(struct coll *c, const char *in, size_t n, size_t max)
{
	size_t start = 0;

	for (size_t i = 0; i <= n; i++) {
		bool lf = i < n && in[i] == '\n';
		if (!lf && !(i == n && i > start))
			continue;
		size_t len = i - start;
		if (lf && len > 0 && in[i - 1] == '\r')
			len--;
		if (len == 0)
			coll_add(c, "", 0);
		for (size_t k = 0; k < len; k += max)
			coll_add(c, in + start + k, len - k < max ? len - k : max);
		start = i + 1;
	}
}

/*
 * Feeds in chunks of chunk bytes, acting like the core: when the framer
 * stops early the sink must be full, and it is "sent" before the rest is
 * fed.  Then end of stream.
 */
static void
feed_chunks(struct coll *c, const char *in, size_t n, size_t max, size_t chunk, size_t cap)
{
	struct framer f;
	struct sink s = SINK_INIT(cap);

	frame_init(&f, max);
	for (size_t off = 0; off < n;) {
		size_t m = n - off < chunk ? n - off : chunk;
		size_t done = 0;
		while (done < m) {
			ssize_t r = frame_feed(&f, in + off + done, m - done, coll_line, c, &s);
			REQUIRE(r >= 0 && (size_t)r <= m - done);
			/* Stopping early is allowed only at a full sink. */
			REQUIRE((size_t)r == m - done || sink_full(&s));
			done += (size_t)r;
			if (sink_full(&s))
				sink_clear(&s);
		}
		off += m;
		REQUIRE(f.len <= max);
		/* Storage exactly while a partial line is pending. */
		REQUIRE((f.line != NULL) == frame_pending(&f));
	}
	REQUIRE(frame_eof(&f, coll_line, c, &s) == 0);
	REQUIRE(f.line == NULL && !frame_pending(&f));
	frame_free(&f);
	sink_clear(&s);
}

struct fcase {
	const char *in;
	size_t n;
	size_t max;
	const char *want;
};

#define FC(s, max, want)                    \
	{                                   \
		s, sizeof(s) - 1, max, want \
	}

static const struct fcase fcases[] = {
	FC("", 8, ""),
	FC("abc\n", 8, "abc|"),
	FC("abc\r\n", 8, "abc|"),
	FC("abc\r\r\n", 8, "abc\\x0D|"),
	FC("\n\n", 8, "||"),
	FC("\r\n", 8, "|"),
	FC("\r", 8, "\\x0D|"),
	FC("abc", 8, "abc|"),
	FC("abc\r", 8, "abc\\x0D|"),
	FC("a\rb\n", 8, "a\\x0Db|"),
	FC("a\0b\n\0", 8, "a\\x00b|\\x00|"),
	FC("abcd\n", 4, "abcd|"),
	FC("abcd\r\n", 4, "abcd|"),
	FC("abcde\n", 4, "abcd|e|"),
	FC("abcdefgh\n", 4, "abcd|efgh|"),
	FC("abcdefgh\r\n", 4, "abcd|efgh|"),
	FC("abcdefghi", 4, "abcd|efgh|i|"),
	FC("abcdefgh", 4, "abcd|efgh|"),
	FC("abcd", 4, "abcd|"),
	FC("abcd\r", 4, "abcd|\\x0D|"),
	FC("abcd\rX\n", 4, "abcd|\\x0DX|"),
	FC("abcd\r\r\n", 4, "abcd|\\x0D|"),
	FC("abcd\r\r\r\n", 4, "abcd|\\x0D\\x0D|"),
	FC("abc\r\n", 4, "abc|"),
	FC("abc\rd\n", 4, "abc\\x0D|d|"),
	FC("abc\r\r\n", 4, "abc\\x0D|"),
	FC("ab\rcd\n", 4, "ab\\x0Dc|d|"),
	FC("abcd\nefgh\r\nij", 4, "abcd|efgh|ij|"),
	FC("abcdefgh\rijkl\r\n\r\n", 4, "abcd|efgh|\\x0Dijk|l||"),
	FC("ab\r\n", 1, "a|b|"),
	FC("\r\r\n", 1, "\\x0D|"),
	FC("x\r\r\n", 1, "x|\\x0D|"),
	FC("x\ry", 1, "x|\\x0D|y|"),
	FC("\r\r", 1, "\\x0D|\\x0D|"),
	FC("\n", 1, "|"),
};

/* Every case, fed at once and in every chunk size, with and without a
 * sink that fills after each line. */
START_TEST(test_cases)
{
	const struct fcase *fc = &fcases[_i];
	struct coll ref = { 0 };

	ref_frame(&ref, fc->in, fc->n, fc->max);
	ck_assert_str_eq(ref.text, fc->want); /* the oracle agrees with the table */
	for (size_t chunk = 1; chunk <= fc->n + 1; chunk++) {
		for (int tight = 0; tight < 2; tight++) {
			struct coll c = { 0 };
			c.reply = tight;
			feed_chunks(&c, fc->in, fc->n, fc->max, chunk, tight ? 1 : SIZE_MAX);
			ck_assert_msg(strcmp(c.text, fc->want) == 0,
			    "case %d chunk %zu tight %d: got \"%s\" want \"%s\"", _i, chunk, tight,
			    c.text, fc->want);
		}
	}
}
END_TEST

/* Random streams over the bytes that matter, against the oracle, in random
 * chunks with random sink caps. */
START_TEST(test_random)
{
	static const char alpha[] = { 'a', 'b', '\r', '\n', '\0', (char)0xff };
	unsigned seed = 12345;
	char in[80];

	for (int iter = 0; iter < 20000; iter++) {
		size_t n = (size_t)(rand_r(&seed) % (int)sizeof(in));
		size_t max = 1 + (size_t)(rand_r(&seed) % 7);
		size_t chunk = 1 + (size_t)(rand_r(&seed) % 12);
		size_t cap = 1 + (size_t)(rand_r(&seed) % 20);
		struct coll ref = { 0 }, c = { 0 };

		for (size_t i = 0; i < n; i++)
			in[i] = alpha[rand_r(&seed) % (int)sizeof(alpha)];
		ref_frame(&ref, in, n, max);
		c.reply = true;
		feed_chunks(&c, in, n, max, chunk, cap);
		if (strcmp(c.text, ref.text) != 0)
			ck_abort_msg("iter %d max %zu chunk %zu cap %zu: got \"%s\" want \"%s\"",
			    iter, max, chunk, cap, c.text, ref.text);
	}
}
END_TEST

/* Storage exists only while a partial line is pending. */
START_TEST(test_storage)
{
	struct framer f;
	struct sink s = SINK_INIT(SIZE_MAX);
	struct coll c = { 0 };

	frame_init(&f, 16);
	ck_assert_ptr_null(f.line);
	ck_assert_int_eq(frame_feed(&f, "abc\ndef\n", 8, coll_line, &c, &s), 8);
	ck_assert_ptr_null(f.line);
	ck_assert(!frame_pending(&f));
	ck_assert_int_eq(frame_feed(&f, "gh", 2, coll_line, &c, &s), 2);
	ck_assert_ptr_nonnull(f.line);
	ck_assert(frame_pending(&f));
	ck_assert_int_eq(frame_feed(&f, "i\nj", 3, coll_line, &c, &s), 3);
	ck_assert_ptr_nonnull(f.line); /* "j" is pending */
	ck_assert_int_eq(frame_feed(&f, "\n", 1, coll_line, &c, &s), 1);
	ck_assert_ptr_null(f.line);
	ck_assert_str_eq(c.text, "abc|def|ghi|j|");
	/* A lone CR is pending too, and EOF delivers it. */
	ck_assert_int_eq(frame_feed(&f, "\r", 1, coll_line, &c, &s), 1);
	ck_assert(frame_pending(&f));
	ck_assert_int_eq(frame_eof(&f, coll_line, &c, &s), 0);
	ck_assert_ptr_null(f.line);
	ck_assert_str_eq(c.text, "abc|def|ghi|j|\\x0D|");
	/* frame_free on a pending line releases it. */
	ck_assert_int_eq(frame_feed(&f, "xyz", 3, coll_line, &c, &s), 3);
	frame_free(&f);
	ck_assert_ptr_null(f.line);
	ck_assert(!frame_pending(&f));
	ck_assert_int_eq(frame_eof(&f, coll_line, &c, &s), 0);
	ck_assert_str_eq(c.text, "abc|def|ghi|j|\\x0D|");
}
END_TEST

/* Complete lines with nothing pending reach fn straight from the input. */
START_TEST(test_zero_copy)
{
	static const char in[] = "one\r\ntwo\nthree-is-long\nfour";
	struct framer f;
	struct sink s = SINK_INIT(SIZE_MAX);
	struct coll c = { 0 };

	frame_init(&f, 5);
	c.base = in;
	c.base_len = sizeof(in) - 1;
	ck_assert_int_eq(frame_feed(&f, in, sizeof(in) - 1, coll_line, &c, &s), sizeof(in) - 1);
	ck_assert_str_eq(c.text, "one|two|three|-is-l|ong|");
	ck_assert_uint_eq(c.direct, 5);
	ck_assert_int_eq(frame_eof(&f, coll_line, &c, &s), 0);
	ck_assert_str_eq(c.text, "one|two|three|-is-l|ong|four|");
	ck_assert_uint_eq(c.direct, 5); /* "four" came from storage */
}
END_TEST

START_TEST(test_sink_full)
{
	struct framer f;
	struct sink s = SINK_INIT(1);
	struct coll c = { 0 };

	c.reply = true;
	frame_init(&f, 8);
	/* Full before the first line: nothing consumed, nothing changes. */
	ck_assert_int_eq(sink_write(&s, "x", 1), 0);
	ck_assert_int_eq(frame_feed(&f, "a\nb\n", 4, coll_line, &c, &s), 0);
	ck_assert_uint_eq(c.lines, 0);
	ck_assert(!frame_pending(&f));
	sink_clear(&s);
	/* One line fills it: stop right after that line. */
	ck_assert_int_eq(frame_feed(&f, "a\nb\nc", 5, coll_line, &c, &s), 2);
	ck_assert_str_eq(c.text, "a|");
	ck_assert(sink_full(&s));
	sink_clear(&s);
	/* Keeping a partial line needs no room: "c" is taken. */
	ck_assert_int_eq(frame_feed(&f, "b\nc", 3, coll_line, &c, &s), 3);
	ck_assert_str_eq(c.text, "a|b|");
	ck_assert(frame_pending(&f));
	/* Completing it while full waits. */
	ck_assert(sink_full(&s));
	ck_assert_int_eq(frame_feed(&f, "d\n", 2, coll_line, &c, &s), 0);
	ck_assert_str_eq(c.text, "a|b|");
	sink_clear(&s);
	ck_assert_int_eq(frame_feed(&f, "d\n", 2, coll_line, &c, &s), 2);
	ck_assert_str_eq(c.text, "a|b|cd|");
	sink_clear(&s);
	/* Pieces of a long line: stops between pieces, resumes cleanly. */
	frame_free(&f);
	frame_init(&f, 2);
	ck_assert_int_eq(frame_feed(&f, "abcdef\n", 7, coll_line, &c, &s), 2);
	sink_clear(&s);
	ck_assert_int_eq(frame_feed(&f, "cdef\n", 5, coll_line, &c, &s), 2);
	sink_clear(&s);
	ck_assert_int_eq(frame_feed(&f, "ef\n", 3, coll_line, &c, &s), 3);
	ck_assert_str_eq(c.text, "a|b|cd|ab|cd|ef|");
	sink_clear(&s);
	frame_free(&f);
}
END_TEST

/* With room in the sink every call consumes something. */
START_TEST(test_progress)
{
	unsigned seed = 99;
	char in[40];

	for (int iter = 0; iter < 5000; iter++) {
		struct framer f;
		struct sink s = SINK_INIT(1 + (size_t)(rand_r(&seed) % 8));
		struct coll c = { 0 };
		size_t n = 1 + (size_t)(rand_r(&seed) % (int)sizeof(in));

		for (size_t i = 0; i < n; i++)
			in[i] = "ab\r\n"[rand_r(&seed) % 4];
		c.reply = true;
		frame_init(&f, 2 + (size_t)(rand_r(&seed) % 5));
		for (size_t off = 0; off < n;) {
			REQUIRE(!sink_full(&s));
			ssize_t r = frame_feed(&f, in + off, n - off, coll_line, &c, &s);
			REQUIRE(r > 0);
			off += (size_t)r;
			sink_clear(&s);
		}
		frame_free(&f);
	}
}
END_TEST

START_TEST(test_fn_error)
{
	struct framer f;
	struct sink s = SINK_INIT(SIZE_MAX);
	struct coll c = { 0 };

	c.fail_on = "bad";
	frame_init(&f, 8);
	ck_assert_int_eq(frame_feed(&f, "ok\nbad\nmore\n", 12, coll_line, &c, &s), -1);
	ck_assert_str_eq(c.text, "ok|");
	frame_free(&f);

	frame_init(&f, 8);
	ck_assert_int_eq(frame_feed(&f, "ba", 2, coll_line, &c, &s), 2);
	ck_assert_int_eq(frame_feed(&f, "d\n", 2, coll_line, &c, &s), -1);
	frame_free(&f);

	frame_init(&f, 8);
	ck_assert_int_eq(frame_feed(&f, "bad", 3, coll_line, &c, &s), 3);
	ck_assert_int_eq(frame_eof(&f, coll_line, &c, &s), -1);
	ck_assert_ptr_null(f.line);
}
END_TEST

/* A huge line in one feed: max-byte pieces straight from the input, only
 * the undecided tail is stored. */
START_TEST(test_long_line)
{
	const size_t n = 1000003, max = 100000;
	char *in = malloc(n);
	struct framer f;
	struct sink s = SINK_INIT(SIZE_MAX);
	struct coll c = { 0 };

	ck_assert_ptr_nonnull(in);
	memset(in, 'z', n);
	c.count_only = true;
	c.base = in;
	c.base_len = n;
	frame_init(&f, max);
	ck_assert_int_eq(frame_feed(&f, in, n, coll_line, &c, &s), (ssize_t)n);
	ck_assert_uint_eq(c.lines, 10);
	ck_assert_uint_eq(c.direct, 10);
	ck_assert_uint_eq(c.longest, max);
	ck_assert_uint_eq(f.len, 3);
	ck_assert_int_eq(frame_feed(&f, "\r\n", 2, coll_line, &c, &s), 2);
	ck_assert_uint_eq(c.lines, 11);
	ck_assert_uint_eq(c.last, 3);
	ck_assert_ptr_null(f.line);
	free(in);
}
END_TEST

Suite *
frame_suite(void)
{
	Suite *s = suite_create("frame");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_cases, 0, (int)(sizeof(fcases) / sizeof(fcases[0])));
	tcase_add_test(tc, test_random);
	tcase_add_test(tc, test_storage);
	tcase_add_test(tc, test_zero_copy);
	tcase_add_test(tc, test_sink_full);
	tcase_add_test(tc, test_progress);
	tcase_add_test(tc, test_fn_error);
	tcase_add_test(tc, test_long_line);
	suite_add_tcase(s, tc);
	return s;
}

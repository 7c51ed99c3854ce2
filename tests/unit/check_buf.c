/* check_buf.c - unit tests for byte buffers and reply sinks. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "sink.h"
#include "unit.h"

START_TEST(test_empty)
{
	struct buf b = BUF_INIT;

	ck_assert_int_eq(buf_append(&b, "x", 0), 0);
	ck_assert_ptr_null(b.data); /* nothing to hold, nothing allocated */
	ck_assert_uint_eq(b.len, 0);
	buf_free(&b);
	ck_assert_ptr_null(b.data);
}
END_TEST

START_TEST(test_append_consume)
{
	struct buf b = BUF_INIT;

	ck_assert_int_eq(buf_append(&b, "hello", 5), 0);
	ck_assert_int_eq(buf_append(&b, ", world", 7), 0);
	ck_assert_uint_eq(b.len, 12);
	ck_assert_mem_eq(buf_peek(&b), "hello, world", 12);
	buf_consume(&b, 7);
	ck_assert_uint_eq(b.len, 5);
	ck_assert_mem_eq(buf_peek(&b), "world", 5);
	ck_assert_int_eq(buf_append(&b, "\0!", 2), 0);
	ck_assert_mem_eq(buf_peek(&b), "world\0!", 7);
	/* The last byte taken frees the storage. */
	buf_consume(&b, 7);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.size, 0);
	/* And the buffer is usable again. */
	ck_assert_int_eq(buf_append(&b, "again", 5), 0);
	ck_assert_mem_eq(buf_peek(&b), "again", 5);
	buf_free(&b);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
}
END_TEST

START_TEST(test_grow)
{
	struct buf b = BUF_INIT;
	char big[100000];

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7);
	for (size_t off = 0; off < sizeof(big); off += 997) {
		size_t n = sizeof(big) - off < 997 ? sizeof(big) - off : 997;
		ck_assert_int_eq(buf_append(&b, big + off, n), 0);
	}
	ck_assert_uint_eq(b.len, sizeof(big));
	ck_assert_uint_ge(b.size, sizeof(big));
	ck_assert_mem_eq(buf_peek(&b), big, sizeof(big));
	buf_consume(&b, 12345);
	ck_assert_mem_eq(buf_peek(&b), big + 12345, sizeof(big) - 12345);
	buf_free(&b);
}
END_TEST

/* Drained as fast as it fills, a buffer slides its bytes down and never grows. */
START_TEST(test_no_growth_when_drained)
{
	struct buf b = BUF_INIT;
	char chunk[100];
	size_t size;

	memset(chunk, 'q', sizeof(chunk));
	ck_assert_int_eq(buf_append(&b, chunk, 50), 0);
	size = b.size;
	for (int i = 0; i < 1000; i++) {
		ck_assert_int_eq(buf_append(&b, chunk, sizeof(chunk)), 0);
		/* The bytes stay inside the storage. */
		ck_assert_uint_le(b.off + b.len, b.size);
		buf_consume(&b, sizeof(chunk));
		ck_assert_uint_eq(b.len, 50);
	}
	ck_assert_uint_eq(b.size, size);
	buf_free(&b);
}
END_TEST

START_TEST(test_enomem)
{
	struct buf b = BUF_INIT;

	ck_assert_int_eq(buf_append(&b, "abc", 3), 0);
	errno = 0;
	ck_assert_int_eq(buf_append(&b, "x", SIZE_MAX / 2 + 1), -1);
	ck_assert_int_eq(errno, ENOMEM);
	/* A length whose sum with the buffered bytes wraps around. */
	errno = 0;
	ck_assert_int_eq(buf_append(&b, "x", SIZE_MAX - 1), -1);
	ck_assert_int_eq(errno, ENOMEM);
	/* Unchanged. */
	ck_assert_uint_eq(b.len, 3);
	ck_assert_mem_eq(buf_peek(&b), "abc", 3);
	buf_free(&b);
}
END_TEST

START_TEST(test_sink)
{
	struct sink s = SINK_INIT(10);

	ck_assert(!sink_full(&s));
	ck_assert_uint_eq(sink_room(&s), 10);
	ck_assert_int_eq(sink_write(&s, "abcd", 4), 0);
	ck_assert_uint_eq(sink_room(&s), 6);
	ck_assert(!sink_full(&s));
	ck_assert_int_eq(sink_write(&s, "efghij", 6), 0);
	ck_assert(sink_full(&s));
	ck_assert_uint_eq(sink_room(&s), 0);
	/* The cap tells handlers when to stop; a reply in progress may
	 * still go past it. */
	ck_assert_int_eq(sink_write(&s, "klm", 3), 0);
	ck_assert(sink_full(&s));
	ck_assert_uint_eq(sink_room(&s), 0);
	ck_assert_mem_eq(sink_peek(&s), "abcdefghijklm", 13);
	/* Sending makes room again. */
	sink_consume(&s, 5);
	ck_assert(!sink_full(&s));
	ck_assert_uint_eq(sink_room(&s), 2);
	sink_consume(&s, 8);
	ck_assert_ptr_null(s.out.data);
	ck_assert_uint_eq(sink_room(&s), 10);
	sink_clear(&s);
}
END_TEST

/* Lent bytes are not copied while nothing else is pending; anything that
 * follows them, or sink_keep, copies them, in order, so the lender may then
 * reuse its buffer. */
START_TEST(test_sink_lend)
{
	struct sink s = SINK_INIT(8);
	char in[16] = "abcdef";

	ck_assert_int_eq(sink_lend(&s, in, 4), 0);
	ck_assert_ptr_eq(sink_peek(&s), in);
	ck_assert_ptr_null(s.out.data);
	ck_assert_uint_eq(sink_pending(&s), 4);
	ck_assert_uint_eq(sink_room(&s), 4);
	sink_consume(&s, 1);
	ck_assert_ptr_eq(sink_peek(&s), in + 1);
	ck_assert_uint_eq(sink_pending(&s), 3);

	/* Keeping copies the rest: the lender's buffer is free again. */
	ck_assert_int_eq(sink_keep(&s), 0);
	memcpy(in, "XXXXXX", 6);
	ck_assert_ptr_ne(sink_peek(&s), in + 1);
	ck_assert_mem_eq(sink_peek(&s), "bcd", 3);
	ck_assert_int_eq(sink_keep(&s), 0); /* nothing lent: nothing to do */
	ck_assert_uint_eq(sink_pending(&s), 3);

	/* With bytes pending, lending copies (order is kept). */
	ck_assert_int_eq(sink_lend(&s, "ef", 2), 0);
	ck_assert_uint_eq(sink_pending(&s), 5);
	ck_assert_mem_eq(sink_peek(&s), "bcdef", 5);
	sink_consume(&s, 5);
	ck_assert_uint_eq(sink_pending(&s), 0);
	ck_assert_ptr_null(s.out.data);

	/* A write after a lend copies the lent bytes first. */
	memcpy(in, "gh", 2);
	ck_assert_int_eq(sink_lend(&s, in, 2), 0);
	ck_assert_int_eq(sink_write(&s, "ijklmn", 6), 0);
	memcpy(in, "??", 2);
	ck_assert(sink_full(&s));
	ck_assert_uint_eq(sink_pending(&s), 8);
	ck_assert_mem_eq(sink_peek(&s), "ghijklmn", 8);

	/* An empty lend adds nothing; clear drops everything. */
	ck_assert_int_eq(sink_lend(&s, in, 0), 0);
	ck_assert_uint_eq(sink_pending(&s), 8);
	sink_clear(&s);
	ck_assert_uint_eq(sink_pending(&s), 0);
	ck_assert_int_eq(sink_lend(&s, in, 2), 0);
	sink_clear(&s);
	ck_assert_uint_eq(sink_pending(&s), 0);
	ck_assert_uint_eq(sink_room(&s), 8);
}
END_TEST

Suite *
buf_suite(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_append_consume);
	tcase_add_test(tc, test_grow);
	tcase_add_test(tc, test_no_growth_when_drained);
	tcase_add_test(tc, test_enomem);
	tcase_add_test(tc, test_sink);
	tcase_add_test(tc, test_sink_lend);
	suite_add_tcase(s, tc);
	return s;
}

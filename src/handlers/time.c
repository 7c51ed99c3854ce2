/* time.c - the RFC 868 time handler: 4 bytes of seconds since 1900, then close. */
#include <stdint.h>
#include <time.h>

#include "../handler.h"
#include "../sink.h"

/* Seconds from 1900-01-01 to 1970-01-01 (70 years, 17 of them leap). */
#define TM_EPOCH_1900	2208988800u

/*
 * Unsigned arithmetic wraps, so the value is mod 2^32 as RFC 868 reads it
 * after 2036 (and before 1970 too, should the clock say so).
 */
static int
tm_open(void *st, struct service *svc, const struct peer *peer, struct sink *out)
{
	uint32_t t = (uint32_t)((uint64_t)time(NULL) + TM_EPOCH_1900);
	unsigned char b[4] = { (unsigned char)(t >> 24), (unsigned char)(t >> 16),
		(unsigned char)(t >> 8), (unsigned char)t };

	(void)st;
	(void)svc;
	(void)peer;
	if (sink_write(out, b, sizeof(b)) == -1)
		return -1;
	sink_close_after(out);
	return 0;
}

/* Input that comes before the close is read and dropped. */
static ssize_t
tm_data(void *st, const char *p, size_t n, struct sink *out)
{
	(void)st;
	(void)p;
	(void)out;
	return (ssize_t)n;
}

static int
tm_eof(void *st, struct sink *out)
{
	(void)st;
	(void)out;
	return 0;
}

static void
tm_close(void *st)
{
	(void)st;
}

const struct handler handler_time = {
	.name = "time",
	.summary = "RFC 868 time: seconds since 1900 in 4 bytes, then close",
	.state_size = 0,
	.open = tm_open,
	.data = tm_data,
	.eof = tm_eof,
	.close = tm_close,
};

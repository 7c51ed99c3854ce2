/* time.c - the RFC 868 time handler: 4 bytes of seconds since 1900, then close. */
#include <stdint.h>
#include <time.h>

#include "../dgram.h"
#include "../handler.h"
#include "../sink.h"

/* Seconds from 1900-01-01 to 1970-01-01 (70 years, 17 of them leap). */
#define TM_EPOCH_1900 2208988800u

/*
 * Unsigned arithmetic wraps, so the value is mod 2^32 as RFC 868 reads it
 * after 2036 (and before 1970 too, should the clock say so).
 */
static void
tm_now(unsigned char b[4])
{
	uint32_t t = (uint32_t)((uint64_t)time(NULL) + TM_EPOCH_1900);

	b[0] = (unsigned char)(t >> 24);
	b[1] = (unsigned char)(t >> 16);
	b[2] = (unsigned char)(t >> 8);
	b[3] = (unsigned char)t;
}

static int
tm_open(void *st, struct service *svc, const struct peer *peer, struct sink *out)
{
	unsigned char b[4];

	tm_now(b);
	(void)st;
	(void)svc;
	(void)peer;
	if (sink_write(out, b, sizeof(b)) == -1)
		return -1;
	sink_close_after(out);
	return 0;
}

/* RFC 868 over UDP: whatever the request holds, the 4 bytes back. */
static int
tm_datagram(struct service *svc, const struct peer *peer, const char *p, size_t n,
    struct dgram_reply *out)
{
	unsigned char b[4];

	(void)svc;
	(void)peer;
	(void)p;
	(void)n;
	tm_now(b);
	return dgram_reply_add(out, b, sizeof(b));
}

const struct handler handler_time = {
	.name = "time",
	.summary = "RFC 868 time: seconds since 1900 in 4 bytes, then close",
	.state_size = 0,
	.open = tm_open,
	.data = handler_data_drop,
	.eof = handler_eof_none,
	.close = handler_close_none,
	.datagram = tm_datagram,
};

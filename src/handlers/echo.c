/* echo.c - the RFC 862 echo handler: every byte back, unchanged and in order. */
#include "../dgram.h"
#include "../handler.h"
#include "../sink.h"

/*
 * Takes only what fits below the cap: the rest stays in the core's read
 * buffer, so a client that never reads cannot grow our memory.  The bytes
 * are the core's input, unchanged until we return, so they are lent rather
 * than copied: usually they go straight back from the read buffer.
 */
static ssize_t
echo_data(void *st, const char *p, size_t n, struct sink *out)
{
	size_t room = sink_room(out);

	(void)st;
	if (n > room)
		n = room;
	if (n > 0 && sink_lend(out, p, n) == -1)
		return -1;
	return (ssize_t)n;
}

/* The datagram whole, an empty one too: the client learns the service is there. */
static int
echo_datagram(struct service *svc, const struct peer *peer, const char *p, size_t n,
    struct dgram_reply *out)
{
	(void)svc;
	(void)peer;
	return dgram_reply_add(out, p, n);
}

const struct handler handler_echo = {
	.name = "echo",
	.summary = "RFC 862 echo: every byte back, unchanged",
	.state_size = 0,
	.open = handler_open_none,
	.data = echo_data,
	.eof = handler_eof_none,
	.close = handler_close_none,
	.datagram = echo_datagram,
};

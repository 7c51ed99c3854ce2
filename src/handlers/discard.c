/* discard.c - the RFC 863 discard handler: reads and drops everything, says nothing. */
#include "../handler.h"
#include "../sink.h"

/* RFC 863: "any received datagram is thrown away". */
static int
discard_datagram(struct service *svc, const struct peer *peer, const char *p, size_t n,
    struct dgram_reply *out)
{
	(void)svc;
	(void)peer;
	(void)p;
	(void)n;
	(void)out;
	return 0;
}

const struct handler handler_discard = {
	.name = "discard",
	.summary = "RFC 863 discard: reads and drops everything",
	.state_size = 0,
	.open = handler_open_none,
	.data = handler_data_drop,
	.eof = handler_eof_none,
	.close = handler_close_none,
	.datagram = discard_datagram,
};

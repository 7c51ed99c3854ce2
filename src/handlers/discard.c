/* discard.c - the RFC 863 discard handler: reads and drops everything, says nothing. */
#include "../handler.h"
#include "../sink.h"

static int
discard_open(void *st, struct service *svc, const struct peer *peer, struct sink *out)
{
	(void)st;
	(void)svc;
	(void)peer;
	(void)out;
	return 0;
}

/* Everything is taken at once: nothing is written, so the sink never fills. */
static ssize_t
discard_data(void *st, const char *p, size_t n, struct sink *out)
{
	(void)st;
	(void)p;
	(void)out;
	return (ssize_t)n;
}

/* Nothing to say: the core closes after the client's half-close. */
static int
discard_eof(void *st, struct sink *out)
{
	(void)st;
	(void)out;
	return 0;
}

static void
discard_close(void *st)
{
	(void)st;
}

const struct handler handler_discard = {
	.name = "discard",
	.summary = "RFC 863 discard: reads and drops everything",
	.state_size = 0,
	.open = discard_open,
	.data = discard_data,
	.eof = discard_eof,
	.close = discard_close,
};

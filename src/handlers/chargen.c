/* chargen.c - the RFC 864 chargen handler: 72-character lines while the client reads. */
#include <string.h>

#include "../dgram.h"
#include "../handler.h"
#include "../sink.h"

#define CG_FIRST  0x20 /* ' ', the first printable ASCII character */
#define CG_NCHARS 95   /* 0x20..0x7E */
#define CG_WIDTH  72   /* characters per line, before CR LF */
#define CG_LINE   (CG_WIDTH + 2)
/* RFC 864: a datagram reply holds 0 to 512 characters. */
#define CG_DGRAM_MAX 512

/*
 * Line k starts at character k mod 95, so only k mod 95 is kept: the
 * counter cannot overflow however long the client reads.
 */
struct cg_state {
	unsigned line;
};

/* Speaks first and never stops by itself: the core calls more() for output. */
static int
cg_open(void *st, struct service *svc, const struct peer *peer, struct sink *out)
{
	struct cg_state *cg = st;

	(void)svc;
	(void)peer;
	cg->line = 0;
	sink_want_more(out, true);
	return 0;
}

/* Line k (mod 95) of the output, CR LF included: the stream's and the datagrams'. */
static void
cg_line(char line[CG_LINE], unsigned k)
{
	for (unsigned i = 0; i < CG_WIDTH; i++)
		line[i] = (char)(CG_FIRST + (k + i) % CG_NCHARS);
	line[CG_WIDTH] = '\r';
	line[CG_WIDTH + 1] = '\n';
}

/*
 * Whole lines while the sink is not full, so at most one line (74 bytes)
 * beyond max_pending is pending, and a client that does not read holds us
 * there.  One sink_write per line: out of memory never leaves half a line.
 */
static int
cg_more(void *st, struct sink *out)
{
	struct cg_state *cg = st;
	char line[CG_LINE];

	while (!sink_full(out)) {
		cg_line(line, cg->line);
		if (sink_write(out, line, sizeof(line)) == -1)
			return -1;
		cg->line = (cg->line + 1) % CG_NCHARS;
	}
	return 0;
}

/*
 * The stream's first min(n, 512) bytes, CR LFs included: never larger than
 * the request, so a forged source gains no amplification; a 0-byte
 * request gets an empty datagram, which RFC 864 allows.
 */
static int
cg_datagram(struct service *svc, const struct peer *peer, const char *p, size_t n,
    struct dgram_reply *out)
{
	char buf[CG_DGRAM_MAX + CG_LINE];
	size_t len = n < CG_DGRAM_MAX ? n : CG_DGRAM_MAX;

	(void)svc;
	(void)peer;
	(void)p;
	for (unsigned k = 0; k * CG_LINE < len; k++)
		cg_line(buf + k * CG_LINE, k);
	return dgram_reply_add(out, buf, len);
}

const struct handler handler_chargen = {
	.name = "chargen",
	.summary = "RFC 864 chargen: 72-character lines until the client goes",
	.state_size = sizeof(struct cg_state),
	.open = cg_open,
	.data = handler_data_drop,
	.eof = handler_eof_none,
	.close = handler_close_none,
	.more = cg_more,
	.datagram = cg_datagram,
};

/* chargen.c - the RFC 864 chargen handler: 72-character lines while the client reads. */
#include <string.h>

#include "../handler.h"
#include "../sink.h"

#define CG_FIRST	0x20	/* ' ', the first printable ASCII character */
#define CG_NCHARS	95	/* 0x20..0x7E */
#define CG_WIDTH	72	/* characters per line, before CR LF */

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

/*
 * Whole lines while the sink is not full, so at most one line (74 bytes)
 * beyond max_pending is pending, and a client that does not read holds us
 * there.  One sink_write per line: out of memory never leaves half a line.
 */
static int
cg_more(void *st, struct sink *out)
{
	struct cg_state *cg = st;
	char line[CG_WIDTH + 2];

	while (!sink_full(out)) {
		for (unsigned i = 0; i < CG_WIDTH; i++)
			line[i] = (char)(CG_FIRST + (cg->line + i) % CG_NCHARS);
		line[CG_WIDTH] = '\r';
		line[CG_WIDTH + 1] = '\n';
		if (sink_write(out, line, sizeof(line)) == -1)
			return -1;
		cg->line = (cg->line + 1) % CG_NCHARS;
	}
	return 0;
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
};

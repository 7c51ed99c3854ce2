/* iterative.c - one connection at a time, served to its end before the next accept. */
#include <unistd.h>

#include "../model.h"
#include "blocking.h"

/* The others wait in the listen backlog meanwhile. */
static int
iterative_dispatch(struct config *cf, struct client *c)
{
	serve(cf, c, SERVE_POLL);
	close(c->fd);
	serve_release(c);
	return 0;
}

/* socketserver's UDPServer: received, handled and answered in turn. */
static int
iterative_datagram(struct config *cf, struct listener *ls, struct dgram_msg *m)
{
	(void)cf;
	serve_datagram(ls, m);
	return 0;
}

static const struct dispatcher inline_dispatcher = {
	.dispatch = iterative_dispatch,
	.datagram = iterative_datagram,
};

static int
iterative_run(struct config *cf)
{
	return blocking_run(cf, &inline_dispatcher);
}

const struct model model_iterative = {
	.name = "iterative",
	.summary = "one connection at a time; the others wait in the backlog",
	.run = iterative_run,
	.serial = true,
};

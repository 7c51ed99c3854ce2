/* iterative.c - one connection at a time, served to its end before the next accept. */
#include <unistd.h>

#include "../conf.h"
#include "../log.h"
#include "../model.h"
#include "serve.h"

static int
iterative_run(struct config *cf)
{
	struct client c;
	int status = 0;

	for (;;) {
		int r = serve_accept(cf, NULL, &c);
		if (r < 0) {
			status = 1;
			break;
		}
		if (r == 0) {
			if (model_signals(cf))
				break;
			continue;
		}
		/* The others wait in the listen backlog meanwhile. */
		serve(cf, &c);
		close(c.fd);
		serve_release(&c);
	}
	serve_accept_fini();
	return status;
}

const struct model model_iterative = {
	.name = "iterative",
	.summary = "one connection at a time; the others wait in the backlog",
	.run = iterative_run,
	.serial = true,
};

/* registry.c - the models by name, and the signal work every model shares. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "../conf.h"
#include "../daemon.h"
#include "../handler.h"
#include "../log.h"
#include "../model.h"
#include "../sig.h"
#include "../stats.h"

const struct model *const models[] = {
	&model_iterative,
	&model_fork,
	&model_thread,
	&model_select,
	&model_poll,
	&model_epoll,
	&model_io_uring,
	NULL,
};

const struct model *
model_find(const char *name)
{
	for (size_t i = 0; models[i] != NULL; i++)
		if (strcmp(models[i]->name, name) == 0)
			return models[i];
	return NULL;
}

void
model_names(char *dst, size_t len)
{
	size_t used = 0;

	dst[0] = '\0';
	for (size_t i = 0; models[i] != NULL && used < len; i++) {
		int n = snprintf(dst + used, len - used, "%s%s", i ? ", " : "", models[i]->name);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

/*
 * Children this process did not start (a shell's background job it
 * inherited by exec) end as zombies and raise SIGCHLD: reap them, or the
 * flag would stay set.  The fork model reaps its own children instead.
 */
static void
reap_strays(void)
{
	sig_chld = 0;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

static void (*reaper)(void) = reap_strays;

void
model_set_reaper(void (*fn)(void))
{
	reaper = fn != NULL ? fn : reap_strays;
}

int
model_signals(struct config *cf)
{
	static bool stopping_sent;

	sig_drain();
	if (sig_chld)
		reaper();
	if (sig_hup) {
		sig_hup = 0;
		log_info("SIGHUP: reopening outputs");
		notify_reloading();
		handler_reopen_all(cf->svcs, cf->nsvcs);
		notify_send("READY=1");
	}
	if (sig_usr1) {
		sig_usr1 = 0;
		stats_report(cf);
	}
	if (sig_stop && !stopping_sent) {
		stopping_sent = true;
		notify_send("STOPPING=1");
	}
	return sig_stop;
}

int
model_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur > MODEL_FD_MAX)
		return MODEL_FD_MAX;
	return (int)rl.rlim_cur;
}

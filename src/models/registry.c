/* registry.c - the models by name, and the signal work every model shares. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../conf.h"
#include "../daemon.h"
#include "../handler.h"
#include "../log.h"
#include "../model.h"
#include "../reload.h"
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
static struct config *pending; /* read by a SIGHUP, not yet running */

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
		bool again = reload_enabled() && !sig_stop;

		sig_hup = 0;
		log_info("SIGHUP: reopening outputs%s",
		    again ? ", reading the configuration again" : "");
		notify_reloading();
		handler_reopen_all(cf->svcs, cf->nsvcs);
		for (struct config *o = reload_retired(); o != NULL; o = o->retired_next)
			handler_reopen_all(o->svcs, o->nsvcs);
		if (again && pending != NULL) {
			/* Read before and not yet running (the iterative model
			 * serving a connection): the file as it is now wins. */
			reload_abandon(pending);
			pending = NULL;
		}
		if (again)
			pending = reload_config(cf);
		if (pending == NULL)
			notify_send("READY=1"); /* else once the model made it the running one */
	}
	if (sig_usr1) {
		sig_usr1 = 0;
		stats_report(cf);
	}
	if (sig_stop && !stopping_sent) {
		stopping_sent = true;
		notify_send("STOPPING=1");
	}
	reload_collect();
	return sig_stop;
}

atomic_long *model_stopped_flag;

void
stop_deadline(long long *deadline, long long now, long open, long shutdown_timeout)
{
	if (model_stopped_flag != NULL)
		atomic_store(model_stopped_flag, 1);
	if (sig_stop == 0 && sig_retire) {
		*deadline = SIG_NO_DEADLINE;
		log_info("replaced by a reload: %ld connection%s open, served until %s", open,
		    open == 1 ? "" : "s", open == 1 ? "it ends" : "they end");
		return;
	}
	*deadline = now + shutdown_timeout * 1000;
	log_info("shutting down: %ld connection%s open, waiting up to %lds", open,
	    open == 1 ? "" : "s", shutdown_timeout);
}

struct config *
model_reload_pending(void)
{
	struct config *ncf = pending;

	pending = NULL;
	return ncf;
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

static size_t
private_round(size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return size == 0 ? page : (size + page - 1) / page * page;
}

void *
model_private_alloc(size_t size)
{
	size = private_round(size);
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (madvise(p, size, MADV_DONTFORK) < 0) {
		munmap(p, size);
		return NULL;
	}
	return p;
}

void *
model_private_resize(void *p, size_t old, size_t size)
{
	if (p == NULL)
		return model_private_alloc(size);
	/* The mapping keeps MADV_DONTFORK where it moves; growth is zeroed. */
	void *q = mremap(p, private_round(old), private_round(size), MREMAP_MAYMOVE);

	return q == MAP_FAILED ? NULL : q;
}

void
model_private_free(void *p, size_t size)
{
	if (p != NULL)
		munmap(p, private_round(size));
}

/* main.c - parse, configure, bind, run the chosen model, exit status. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h> /* malloc_trim */
#endif

#include "access.h"
#include "conf.h"
#include "daemon.h"
#include "handler.h"
#include "log.h"
#include "model.h"
#include "net.h"
#include "reload.h"
#include "sig.h"
#include "stats.h"
#include "workers.h"

/*
 * Descriptors 0-2 that whoever started us left closed would be taken by
 * the first pipe or file we open: logger output '-' would then write into
 * it, and daemon_ready() would dup2 /dev/null over it (closing a pidfile
 * lock or the start-up pipe).  Each closed one is opened on /dev/null
 * before anything else opens a descriptor.  0, or -1 with errno.
 */
static int
stdio_open(void)
{
	for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; fd++) {
		int nul;

		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		/* The lowest free number: fd, as the ones below are open now. */
		if ((nul = open("/dev/null", O_RDWR)) == -1)
			return -1;
		if (nul != fd) {
			int saved;

			saved = dup2(nul, fd) == -1 ? errno : 0;
			close(nul);
			if (saved != 0) {
				errno = saved;
				return -1;
			}
		}
	}
	return 0;
}

/* Descriptors are the limit of every model: take all the hard limit allows. */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warn("cannot raise the descriptor limit");
	}
}

static void
setup_services(struct config *cf)
{
	char err[512];

	handler_prepare();
	for (size_t i = 0; i < cf->nsvcs; i++) {
		struct service *svc = &cf->svcs[i];
		if ((svc->handler->setup && svc->handler->setup(svc, err, sizeof(err)) < 0) ||
		    access_setup(svc, err, sizeof(err)) < 0)
			fatalx("service '%s': %s", svc->name, err);
	}
}

static void
announce_ready(struct config *cf)
{
	char msg[512];
	int n;

	n = snprintf(msg, sizeof(msg), "READY=1\nMAINPID=%ld\nSTATUS=model %s, services",
	    (long)getpid(), cf->model->name);
	for (size_t i = 0; i < cf->nsvcs && n > 0 && (size_t)n < sizeof(msg); i++)
		n += snprintf(msg + n, sizeof(msg) - (size_t)n, "%s %s", i ? "," : "",
		    cf->svcs[i].name);
	notify_send(msg);
}

/* The configuration, global so that every exit path (fatal errors too)
 * releases the same things: exit() runs cleanup(). */
static struct config cf;

static void
cleanup(void)
{
	/* A reload may have replaced it; the ones it retired are left to the exit. */
	struct config *c = reload_current() != NULL ? reload_current() : &cf;

	net_close_all(c);
	net_spare_close();
	sig_fini();
	handler_fini_all(c->svcs, c->nsvcs);
	conf_free(c);
}

int
main(int argc, char **argv)
{
	struct privs privs = { 0 };
	char err[512];
	int r, status;

	if (stdio_open() == -1) {
		log_err("cannot open /dev/null for a closed standard descriptor");
		return 1;
	}
	log_init(LOG_LVL_INFO, false);
	atexit(cleanup);
	r = conf_load(&cf, argc, argv, err, sizeof(err));
	if (r != 0) {
		if (r < 0)
			log_errx("%s", err);
		return r < 0 ? 1 : 0;
	}
	log_set_verbosity(cf.verbosity);
	/* A bad user fails here, before -t answers and before anything is
	 * bound; the switch itself waits until after binding (ports < 1024). */
	if (cf.user && privs_lookup(cf.user, &privs, err, sizeof(err)) < 0) {
		log_errx("%s", err);
		return 1;
	}
	if (cf.test_only) {
		printf("configuration ok\n");
		return 0;
	}
	reload_init(argc, argv, &cf);
	handler_max_line = (size_t)cf.max_line;
	if (cf.daemonize) {
		for (size_t i = 0; i < cf.nsvcs; i++)
			if (cf.svcs[i].handler == &handler_logger &&
			    (cf.svcs[i].output == NULL || strcmp(cf.svcs[i].output, "-") == 0))
				log_warnx(
				    "service '%s': logger output '-' is /dev/null once detached; "
				    "use a file or syslog",
				    cf.svcs[i].name);
		reload_absolute(&cf);
		if (daemon_detach(err, sizeof(err)) < 0)
			fatalx("%s", err);
	}
	notify_init(); /* after detaching: READY names the daemon's pid */
	if (cf.pidfile && pidfile_create(cf.pidfile, err, sizeof(err)) < 0)
		fatalx("%s", err);
	atexit(pidfile_remove); /* runs before cleanup; a no-op in children */
	raise_nofile();
	/* The C library reads /etc/localtime on the first time conversion:
	 * once here, not again in every fork child. */
	tzset();
	if (sig_setup() < 0 || net_spare_init() < 0 || stats_init(&cf) < 0)
		fatal("start-up");
	sig_set_drain(cf.shutdown_timeout);
	setup_services(&cf);
	if (net_listen_all(&cf, err, sizeof(err)) < 0)
		fatalx("%s", err);
	if (cf.user && privs_drop(&privs, err, sizeof(err)) < 0)
		fatalx("%s", err);
	log_info("dispatchd %s: model %s, %zu service%s, max_clients %ld", DISPATCHD_VERSION,
	    cf.model->name, cf.nsvcs, cf.nsvcs == 1 ? "" : "s", cf.max_clients);
	daemon_ready();
	if (cf.daemonize)
		handler_reopen_all(cf.svcs, cf.nsvcs); /* '-' is /dev/null now */
	announce_ready(&cf);
	log_nowait();
#ifdef __GLIBC__
	/* What start-up freed (the parser's tree, tables outgrown) back to
	 * the kernel: fork copies the page table of every page still touched,
	 * for each child of the fork model and each worker. */
	malloc_trim(0);
#endif
	status = workers_run(&cf);
	log_info("stopped");
	return status;
}

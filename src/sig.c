/* sig.c - signals: flags plus a self-pipe that every model waits on. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "sig.h"

volatile sig_atomic_t sig_stop;
volatile sig_atomic_t sig_hup;
volatile sig_atomic_t sig_usr1;
volatile sig_atomic_t sig_chld;

static int sig_pipe[2] = { -1, -1 };
/* In a fork child a repeated SIGTERM/SIGINT (from the parent and from the
 * terminal's process group) must not count as the "second signal". */
static volatile sig_atomic_t sig_in_child;

static const int handled[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGCHLD };

static void
on_signal(int signo)
{
	int saved = errno;
	char c = (char)signo;

	switch (signo) {
	case SIGTERM:
	case SIGINT:
		if (sig_in_child)
			sig_stop = sig_stop < 1 ? 1 : sig_stop;
		else if (sig_stop < 2)
			sig_stop++;
		break;
	case SIGUSR2:	/* fork children only: the parent cuts us now */
		sig_stop = 2;
		break;
	case SIGHUP:
		sig_hup = 1;
		break;
	case SIGUSR1:
		sig_usr1 = 1;
		break;
	case SIGCHLD:
		sig_chld = 1;
		break;
	}
	/* A full pipe already guarantees a wake-up: the failure is harmless. */
	if (sig_pipe[1] >= 0 && write(sig_pipe[1], &c, 1) < 0) {
	}
	errno = saved;
}

static int
install(int signo, void (*fn)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: blocking reads and writes must return EINTR so the
	 * blocking models notice the flags. */
	sa.sa_flags = signo == SIGCHLD ? SA_NOCLDSTOP : 0;
	return sigaction(signo, &sa, NULL);
}

static int
open_pipe(void)
{
	return pipe2(sig_pipe, O_NONBLOCK | O_CLOEXEC);
}

int
sig_setup(void)
{
	if (install(SIGPIPE, SIG_IGN) < 0 || install(SIGUSR2, SIG_IGN) < 0 || open_pipe() < 0)
		return -1;
	for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
		if (install(handled[i], on_signal) < 0)
			return -1;
	return 0;
}

int
sig_fd(void)
{
	return sig_pipe[0];
}

void
sig_drain(void)
{
	char tmp[64];

	while (read(sig_pipe[0], tmp, sizeof(tmp)) > 0)
		;
}

int
sig_child_setup(void)
{
	sig_in_child = 1;
	if (install(SIGCHLD, SIG_DFL) < 0 || install(SIGUSR1, SIG_IGN) < 0 ||
	    install(SIGUSR2, on_signal) < 0)
		return -1;
	/* sig_stop is 0 here (the parent accepts only while running) and must
	 * stay untouched: a SIGTERM forwarded right after fork counts. */
	sig_usr1 = sig_chld = 0;
	close(sig_pipe[0]);
	close(sig_pipe[1]);
	sig_pipe[0] = sig_pipe[1] = -1;
	return open_pipe();
}

void
sig_fini(void)
{
	for (int i = 0; i < 2; i++) {
		if (sig_pipe[i] >= 0)
			close(sig_pipe[i]);
		sig_pipe[i] = -1;
	}
}

void
sig_block_thread(void)
{
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
		sigaddset(&set, handled[i]);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

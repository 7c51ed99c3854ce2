/* check_sig.c - the signal flags and self-pipes: a child's own pipe wakes it for a signal that came before the pipe existed. */
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sig.h"
#include "unit.h"

/* True if fd is readable now. */
static bool
readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0;
}

/*
 * Runs child(arg) in a fork of a process with sig_setup() done; the
 * child's exit status: 0 when it found what it checks.
 */
static int
in_child(int (*child)(int), int arg)
{
	pid_t pid;
	int st;

	ck_assert_int_eq(sig_setup(), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(child(arg));
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	sig_drain(); /* what the child's signals wrote to the inherited pipe */
	sig_fini();
	return WEXITSTATUS(st);
}

/*
 * A signal between fork and sig_child_setup runs the inherited handler,
 * which writes to the parent's pipe: the child's new pipe must be made
 * readable for its flag, or the child's loop would wait on for good (a
 * worker started just before SIGTERM reached it never stopped).
 */
static int
early_signal(int signo)
{
	raise(signo);
	if (sig_child_setup() < 0)
		return 2;
	if (!readable(sig_fd()))
		return 3;
	sig_drain();
	/* Drained: it stays quiet until the next signal, which wakes it. */
	if (readable(sig_fd()))
		return 4;
	raise(SIGHUP);
	return readable(sig_fd()) && sig_hup ? 0 : 5;
}

START_TEST(test_early_stop)
{
	ck_assert_int_eq(in_child(early_signal, SIGTERM), 0);
}
END_TEST

START_TEST(test_early_hup)
{
	ck_assert_int_eq(in_child(early_signal, SIGHUP), 0);
}
END_TEST

/* Nothing before the setup: the child's pipe starts quiet, SIGUSR2 (the
 * parent's cut) then wakes both pipes and counts as a second stop. */
static int
quiet_then_cut(int unused)
{
	(void)unused;
	if (sig_child_setup() < 0)
		return 2;
	if (readable(sig_fd()) || readable(sig_cut_fd()))
		return 3;
	raise(SIGUSR2);
	return readable(sig_fd()) && readable(sig_cut_fd()) && sig_stop == 2 ? 0 : 4;
}

START_TEST(test_quiet_then_cut)
{
	ck_assert_int_eq(in_child(quiet_then_cut, 0), 0);
}
END_TEST

/* A stop that is already the second one (sig_stop 2 inherited from a
 * parent cutting) makes the child's cut pipe readable too. */
static int
inherited_cut(int unused)
{
	(void)unused;
	sig_stop = 2;
	if (sig_child_setup() < 0)
		return 2;
	return readable(sig_fd()) && readable(sig_cut_fd()) ? 0 : 3;
}

START_TEST(test_inherited_cut)
{
	ck_assert_int_eq(in_child(inherited_cut, 0), 0);
}
END_TEST

/*
 * A fork model's child (sig_fork_child): no pipes of its own until it
 * waits; a signal before that sets its flag and writes to no pipe (the
 * parent's stays quiet); the pipe made later is readable for it.
 */
static int
fork_child_lazy(int unused)
{
	(void)unused;
	int parent_rd = sig_fd(); /* inherited */
	sig_fork_child();
	raise(SIGHUP);
	if (!sig_hup)
		return 2;
	if (readable(parent_rd))
		return 3; /* written to the parent's pipe */
	int fd = sig_fd();
	if (fd < 0 || fd == parent_rd || !readable(fd))
		return 4;
	sig_drain();
	if (readable(fd))
		return 5;
	raise(SIGHUP);
	return readable(fd) ? 0 : 6;
}

START_TEST(test_fork_child_lazy)
{
	ck_assert_int_eq(in_child(fork_child_lazy, 0), 0);
}
END_TEST

/* In a fork child SIGUSR1 is the parent's business: no flag, no wake-up;
 * SIGUSR2 cuts (its cut pipe, made when asked for, is readable). */
static int
fork_child_usr(int unused)
{
	(void)unused;
	sig_fork_child();
	raise(SIGUSR1);
	if (sig_usr1 || readable(sig_fd()))
		return 2;
	raise(SIGUSR2);
	return sig_stop == 2 && readable(sig_fd()) && readable(sig_cut_fd()) ? 0 : 3;
}

START_TEST(test_fork_child_usr)
{
	ck_assert_int_eq(in_child(fork_child_usr, 0), 0);
}
END_TEST

/* Outside a child SIGUSR2 is caught but changes nothing. */
static int
parent_usr2(int unused)
{
	(void)unused;
	raise(SIGUSR2);
	return sig_stop == 0 && !readable(sig_cut_fd()) ? 0 : 2;
}

START_TEST(test_parent_usr2)
{
	ck_assert_int_eq(in_child(parent_usr2, 0), 0);
}
END_TEST

Suite *
sig_suite(void)
{
	Suite *s = suite_create("sig");
	TCase *tc = tcase_create("child");

	tcase_add_test(tc, test_early_stop);
	tcase_add_test(tc, test_early_hup);
	tcase_add_test(tc, test_quiet_then_cut);
	tcase_add_test(tc, test_inherited_cut);
	tcase_add_test(tc, test_fork_child_lazy);
	tcase_add_test(tc, test_fork_child_usr);
	tcase_add_test(tc, test_parent_usr2);
	suite_add_tcase(s, tc);
	return s;
}

/* SPDX-License-Identifier: ISC */
/*
 * milter_super.c - the process that stands for postern milter (see
 * milter_super.h).
 *
 * The signals it forwards are blocked before the fork, so none is lost
 * between the fork and the parent's first sigwait, and the child gets its
 * old mask back.  The parent holds no descriptor but the standard ones,
 * reads no input and starts no thread: it sigwaits, kills and reaps, as
 * root (it must be able to signal the child before the child has dropped
 * to proxy.user), like Postfix's master.
 *
 * Public: milter_super_fork, milter_super_watch.
 *
 * DIAGNOSTICS
 *	fatal: "milter: fork"; "milter: forwarding SIG...: ..." when kill
 *	fails for another reason than the child being gone.
 */
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "proxy/milter_super.h"

static void	milter_super_wait(pid_t, const sigset_t *)
		    __attribute__((noreturn));

static pid_t	milter_super_parent;	/* the child's parent */

void
milter_super_fork(void)
{
	static const int	 sigs[] = { SIGHUP, SIGTERM, SIGINT, SIGQUIT,
				    SIGUSR1, SIGCHLD };
	sigset_t		 set, old;
	size_t			 i;
	pid_t			 pid;

	sigemptyset(&set);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&set, sigs[i]);
	sigprocmask(SIG_BLOCK, &set, &old);
	milter_super_parent = getpid();
	if ((pid = fork()) == -1)
		fatal("milter: fork");
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		milter_super_watch();
		return;
	}
	milter_super_wait(pid, &set);
}

void
milter_super_watch(void)
{
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1)
		log_warn("milter: prctl(PR_SET_PDEATHSIG)");
	if (getppid() != milter_super_parent)	/* gone before the above */
		raise(SIGTERM);
}

/* Forward what comes until the child ends; exit as it did. */
static void
milter_super_wait(pid_t child, const sigset_t *set)
{
	int	 sig, status;
	pid_t	 r;

	for (;;) {
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig != SIGCHLD) {
			if (kill(child, sig == SIGHUP ? SIGUSR1 : sig) == -1 &&
			    errno != ESRCH)
				log_warn("milter: forwarding %s", strsignal(sig));
			continue;
		}
		while ((r = waitpid(child, &status, WNOHANG)) == -1 &&
		    errno == EINTR)
			;
		if (r == child)
			_exit(WIFEXITED(status) ? WEXITSTATUS(status) :
			    128 + WTERMSIG(status));
	}
}

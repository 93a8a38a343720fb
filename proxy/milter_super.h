/* SPDX-License-Identifier: ISC */
/*
 * milter_super.h - SIGHUP for postern milter: libmilter's own signal
 * thread takes SIGHUP (with SIGTERM and SIGINT) and stops the milter on
 * it, and no libmilter call changes that.  So postern milter runs as two
 * processes: the one started (the service manager's MAINPID, what an
 * admin signals) only forwards signals, SIGHUP as SIGUSR1, the milter's
 * reload; its child is the milter.
 */
#ifndef POSTERN_MILTER_SUPER_H
#define POSTERN_MILTER_SUPER_H

/*
 * milter_super_fork - before any thread is started: fork.  Returns in the
 * child (the milter) with the signal mask as it was.  The parent does not
 * return: it forwards SIGHUP as SIGUSR1 and SIGTERM, SIGINT, SIGQUIT and
 * SIGUSR1 as they are, and exits with the child's status when it ends.
 */
void	milter_super_fork(void);

/*
 * milter_super_watch - in the child: SIGTERM (a clean stop) when the
 * parent goes, even by SIGKILL, so the milter never outlives it.  Called
 * again after the privilege drop, which clears it (prctl(2)).
 */
void	milter_super_watch(void);

#endif

/* SPDX-License-Identifier: ISC */
/*
 * dryrun.h - "postern test": one message through the filter chain, offline,
 * with each stage's verdict, each filter's result, the headers filters would
 * add and the final action printed: the tool to try a list or rule before
 * deploying it.
 */
#ifndef POSTERN_DRYRUN_H
#define POSTERN_DRYRUN_H

struct conf;
struct chain;

struct dryrun_env {
	const char	*client;	/* IP address */
	const char	*helo;
	const char	*from;		/* "" = null sender */
	const char	*rcpts[1000];
	int		 nrcpts;
	const char	*file;		/* the message, "-" = stdin */
};

/* dryrun_run - run env through chain under conf, printing to stdout.
 * Returns 0, or 1 when the client address or the file is unusable. */
int	dryrun_run(const struct conf *, struct chain *,
	    const struct dryrun_env *);

#endif

/* SPDX-License-Identifier: ISC */
/*
 * milter_front.h - "postern milter": the filter chain as a libmilter
 * milter, for an MTA that speaks the milter protocol (Postfix
 * smtpd_milters, Sendmail INPUT_MAIL_FILTER) instead of the proxy.
 */
#ifndef POSTERN_MILTER_FRONT_H
#define POSTERN_MILTER_FRONT_H

struct chain;
struct conf;

/*
 * milter_front_init - block the signals libmilter's own thread waits for
 * (SIGTERM, SIGHUP, SIGINT): called before any thread is started (the
 * chain's resolver starts some), so that every thread inherits the mask.
 */
void	milter_front_init(void);

/*
 * milter_front_run - listen on milter.socket and serve MTA connections
 * until SIGTERM, SIGHUP or SIGINT (libmilter's); SIGUSR1 loads conf_path
 * with the overrides again (not copied: they live as long as the milter)
 * for the connections that follow.  conf and chain (references taken
 * over) are used by every connection until then.  Returns the exit
 * status: 0, or 1 when the socket cannot be opened or the milter cannot
 * start.
 */
int	milter_front_run(struct conf *, struct chain *, const char *conf_path,
	    char *const *overrides, size_t noverrides);

#endif

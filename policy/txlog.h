/* SPDX-License-Identifier: ISC */
/*
 * txlog.h - the one log line per transaction: who, envelope, size, every
 * filter's result, the action, the reply, the time it took.  Plain
 * key=value by default, one JSON object with log.format = json.
 */
#ifndef POSTERN_TXLOG_H
#define POSTERN_TXLOG_H

#include <stddef.h>
#include <stdint.h>

#include "policy/conf.h"

struct util_buf;

/* One filter's result, as the chain recorded it. */
struct txlog_result {
	const char	*filter;
	const char	*text;
};

struct txlog {
	const char	*sid;
	const char	*client;	/* address */
	const char	*helo;
	const char	*from;		/* envelope sender, "" = <> */
	char *const	*rcpts;		/* accepted recipients */
	size_t		 nrcpts;
	uint64_t	 size;		/* message bytes received */
	const char	*filters;	/* chain_results(), for the plain form */
	const struct txlog_result *results;	/* the same, for JSON */
	size_t		 nresults;
	const char	*action;	/* relayed, rejected, ... */
	const char	*reply;		/* final reply to the client */
	uint64_t	 ms;		/* MAIL to final reply */
	const char	*qid;		/* the MTA's queue id (milter {i}),
					   or NULL: not logged */
	const char	*backend;	/* proxy.backend entry relayed to
					   (as configured), or NULL: not
					   logged */
	const char	*client_name;	/* verified host name, or
					   "[UNAVAILABLE]"/"[TEMPUNAVAIL]";
					   NULL: not logged */
};

/* txlog_format - the plain line, without newline, into buf (truncated
 * safely). */
void	txlog_format(const struct txlog *, char *buf, size_t bufsz);
/* txlog_json - the JSON form's members (for log_object), appended to m;
 * at most about 60 KiB whatever the envelope (recipients cut, marked). */
void	txlog_json(const struct txlog *, struct util_buf *m);
/* txlog_write - format and log at info level. */
void	txlog_write(const struct txlog *, enum conf_log_format);

#endif

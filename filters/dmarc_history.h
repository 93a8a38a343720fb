/* SPDX-License-Identifier: ISC */
/*
 * dmarc_history.h - one judged message in OpenDMARC's history file
 * format (the HistoryFile of opendmarc 1.4.2, what opendmarc-import(8)
 * reads), so that Debian's opendmarc-import and opendmarc-reports make the
 * aggregate (rua) reports from postern's results, unchanged.  One "key
 * value" line an item, a message starting with its "job" line; results,
 * policies and actions are OpenDMARC's numbers (dmarc_history.c).
 */
#ifndef POSTERN_DMARC_HISTORY_H
#define POSTERN_DMARC_HISTORY_H

#include <stddef.h>
#include <time.h>

#include "filters/dmarc_eval.h"
#include "proto/dmarc_record.h"

/* What was done with the message (the report's disposition). */
enum dmarc_history_action {
	DMARC_HISTORY_REJECT,		/* refused */
	DMARC_HISTORY_ACCEPT,		/* relayed */
	DMARC_HISTORY_TEMPFAIL,		/* 4xx */
	DMARC_HISTORY_QUARANTINE,	/* relayed, tagged */
};

/* One DKIM result: the signature's d= and s=, the result word ("pass",
 * "fail", ... as in Authentication-Results). */
struct dmarc_history_sig {
	const char	*d, *s, *result;
};

struct dmarc_history {
	const char	*job;		/* unique per message and reporter */
	const char	*reporter;	/* this host's name */
	time_t		 received;
	const char	*ipaddr;	/* the client's */
	const char	*from;		/* the From domain */
	const char	*mfrom;		/* the MAIL FROM (or HELO) domain, ""
					   none (not "-": opendmarc-import
					   drops a message without one) */
	const char	*spf;		/* its SPF result word; NULL: none */
	const struct dmarc_history_sig *sigs;
	size_t		 nsigs;
	const char	*pdomain;	/* whose record was used */
	const struct dmarc_record *rec;
	const struct dmarc_eval_out *out;
	enum dmarc_history_action action;
};

/*
 * dmarc_history_format - h as history lines into buf[0..bufsz).  Names
 * that are not plain words (a blank or a line break in a DKIM selector)
 * are written as "-", which opendmarc-import skips, so that no field can
 * start a line of its own.  The length, or -1 when buf is too small.
 */
int	dmarc_history_format(const struct dmarc_history *h, char *buf,
	    size_t bufsz);

/*
 * dmarc_history_append - buf[0..len) at the end of the file at path
 * (created 0640), in one write(2), so records of messages judged at the
 * same time never mix; a lock opendmarc-import's shared one respects is
 * tried a few times without waiting.  Opened for each record, so that a
 * cron job may move the file away between two.  0, or -1 with errno.
 */
int	dmarc_history_append(const char *path, const char *buf, size_t len);

#endif

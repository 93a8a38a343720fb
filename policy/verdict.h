/* SPDX-License-Identifier: ISC */
/*
 * verdict.h - what a filter, and then the whole chain, says of a stage:
 * the verdict and the reply that goes with it.  Filters give verdicts;
 * decide() (decide.h) turns them into an action and a reply, knowing
 * verdicts, not filters.
 */
#ifndef POSTERN_VERDICT_H
#define POSTERN_VERDICT_H

enum fv {
	FV_CONTINUE,	/* no objection, next filter */
	FV_ACCEPT,	/* skip the remaining checks for this message
			   (for the connection, at connect and helo) */
	FV_REJECT,	/* 5xx; at RCPT, this recipient only */
	FV_TEMPFAIL,	/* 4xx */
	FV_DISCARD,	/* accept and drop the message */
	FV_PENDING,	/* asynchronous: fctx_resume() follows */
};

/* The reply set by the filter that decided, or empty code when none. */
struct verdict_reply {
	char		 code[4];
	char		 esc[16];
	char		 text[512];
	const char	*filter;	/* name of the deciding filter, or NULL */
};

#endif

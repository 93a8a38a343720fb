/* SPDX-License-Identifier: ISC */
/*
 * decide.h - turns a stage's filter verdict into one action and the reply
 * the client gets, with RFC 3463 enhanced status codes.  A filter's own reply
 * is used when its class fits the verdict (5xx for reject, 4xx for
 * tempfail); otherwise the stage's default, naming the deciding filter.
 */
#ifndef POSTERN_DECIDE_H
#define POSTERN_DECIDE_H

#include <stddef.h>
#include <stdint.h>

#include "policy/verdict.h"

struct conf;

enum decide_stage {
	DECIDE_CONNECT,
	DECIDE_HELO,
	DECIDE_MAIL,
	DECIDE_RCPT,
	DECIDE_DATA,
	DECIDE_EOM,
};

enum decide_action {
	DECIDE_RELAY,		/* continue/accept: go on to the backend */
	DECIDE_REJECT,		/* reply holds a 5xx */
	DECIDE_TEMPFAIL,	/* reply holds a 4xx */
	DECIDE_DISCARD,		/* say yes to the client, deliver nothing */
};

/* decide - action for verdict v at stage st; reply (no CRLF) is set for
 * REJECT and TEMPFAIL. */
enum decide_action decide(enum decide_stage st, enum fv v,
		    const struct verdict_reply *r, char *reply, size_t replysz);

/*
 * decide_content - whether the content read so far must be refused under
 * conf's limits: 1 with the reply set, else 0.  flags are the DATA reader's
 * findings (DATA_F_*): a NUL byte (proxy.nul_bytes = reject) or a bare CR
 * or LF (bare_newline = reject) gives 554 5.6.0; a header section of more
 * than max_header_fields fields or max_header_total bytes 552 5.3.4.
 * Every front end asks after each piece of content, so the same message
 * gets the same answer everywhere.
 */
int		 decide_content(const struct conf *, unsigned flags,
		    size_t fields, uint64_t bytes, char *reply,
		    size_t replysz);

#endif

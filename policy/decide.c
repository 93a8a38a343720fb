/*
 * decide.c - filter verdicts to actions and replies (see decide.h).
 *
 * Public: decide.
 */
#include <stdio.h>
#include <string.h>

#include "decide.h"

struct decide_default {
	const char	*reject;	/* 5xx reply at this stage */
	const char	*what;		/* what was refused, for the text */
};

static const struct decide_default decide_defaults[] = {
	[DECIDE_CONNECT] = { "554 5.7.1", "Connection" },
	[DECIDE_HELO] = { "550 5.7.1", "HELO/EHLO" },
	[DECIDE_MAIL] = { "550 5.7.1", "Sender" },
	[DECIDE_RCPT] = { "550 5.7.1", "Recipient" },
	[DECIDE_DATA] = { "554 5.7.1", "Message" },
	[DECIDE_EOM] = { "554 5.7.1", "Message" },
};

static int	decide_own_reply(const struct chain_reply *, char, char *,
		    size_t);

/* Use the filter's reply when its class matches (want '5' or '4') and it
 * carries no line breaks. */
static int
decide_own_reply(const struct chain_reply *r, char want, char *reply,
    size_t replysz)
{
	if (r->code[0] != want || strlen(r->code) != 3 ||
	    strpbrk(r->text, "\r\n") != NULL)
		return 0;
	if (r->esc[0] != '\0' && r->esc[0] == want)
		snprintf(reply, replysz, "%s %s %s", r->code, r->esc, r->text);
	else
		snprintf(reply, replysz, "%s %s", r->code, r->text);
	return 1;
}

enum decide_action
decide(enum decide_stage st, enum fv v, const struct chain_reply *r,
    char *reply, size_t replysz)
{
	const char	*by = r->filter != NULL ? r->filter : "policy";

	switch (v) {
	case FV_REJECT:
		if (!decide_own_reply(r, '5', reply, replysz))
			snprintf(reply, replysz, "%s %s rejected by %s",
			    decide_defaults[st].reject,
			    decide_defaults[st].what, by);
		return DECIDE_REJECT;
	case FV_TEMPFAIL:
		if (!decide_own_reply(r, '4', reply, replysz))
			snprintf(reply, replysz, "451 4.7.1 %s deferred by %s,"
			    " try again later", decide_defaults[st].what, by);
		return DECIDE_TEMPFAIL;
	case FV_DISCARD:
		return DECIDE_DISCARD;
	default:
		return DECIDE_RELAY;
	}
}

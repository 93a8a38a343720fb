/* SPDX-License-Identifier: ISC */
/*
 * decide.c - filter verdicts to actions and replies (see decide.h).
 *
 * Public: decide, decide_content.
 */
#include <stdio.h>
#include <string.h>

#include "policy/conf.h"
#include "policy/decide.h"
#include "proto/data.h"

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

static int	decide_own_reply(const struct verdict_reply *, char, char *,
		    size_t);

/* Use the filter's reply when its class matches (want '5' or '4') and it
 * carries no line breaks. */
static int
decide_own_reply(const struct verdict_reply *r, char want, char *reply,
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
decide(enum decide_stage st, enum fv v, const struct verdict_reply *r,
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

int
decide_content(const struct conf *conf, unsigned f, size_t fields,
    uint64_t bytes, char *reply, size_t replysz)
{
	if ((f & DATA_F_NUL) && conf->nul_bytes == CONF_NUL_REJECT)
		snprintf(reply, replysz, "554 5.6.0 Error: NUL byte in message "
		    "content (RFC 5322 3.5)");
	else if ((f & (DATA_F_BARE_LF | DATA_F_BARE_CR)) &&
	    conf->bare_newline == CONF_BARE_REJECT)
		snprintf(reply, replysz, "554 5.6.0 Error: bare %s in message "
		    "content (RFC 5321 2.3.8)",
		    (f & DATA_F_BARE_LF) ? "<LF>" : "<CR>");
	else if (fields > conf->max_header_fields)
		snprintf(reply, replysz, "552 5.3.4 Error: too many header "
		    "fields (limit %u)", conf->max_header_fields);
	else if (bytes > conf->max_header_total)
		snprintf(reply, replysz, "552 5.3.4 Error: header section too "
		    "large (limit %zu bytes)", conf->max_header_total);
	else
		return 0;
	return 1;
}

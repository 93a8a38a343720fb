/* SPDX-License-Identifier: ISC */
/*
 * session_auth.c - SMTP AUTH (RFC 4954) relayed to the backend.  postern
 * holds no credentials: it offers the mechanisms the backend offered (over
 * TLS only, unless auth.require_tls = no), passes the AUTH line and every
 * response line to the backend, and every 334 challenge back, until the
 * backend's final reply.  A 235 marks the session authenticated, for the
 * filters (fctx_authenticated: dkim_sign signs its mail, spf skips it) and
 * the trace ("with ESMTPSA").  Failures are counted; after
 * auth.max_failures the session is closed with 421.
 *
 * A response line gets the checks a command line gets (no bare CR, no
 * NUL); a bad one is never relayed: the exchange is cancelled with "*"
 * (RFC 4954 4) and the client gets 501 5.5.2 once the backend has
 * answered, so both stay in step.  A backend that does not end the
 * exchange on "*" leaves its state unknown: the session is closed.
 *
 * Credentials never reach the log: the traced AUTH line stops at the
 * mechanism and responses are traced as "***".  The user name (PLAIN's
 * authentication identity, LOGIN's first answer) is logged on success.
 *
 * Public (session_int.h): cmd_auth, session_auth_input,
 * session_auth_offer.
 *
 * DIAGNOSTICS
 *	info: "authenticated as USER (MECH)", "authentication failed (MECH):
 *	CODE", "too many authentication failures" (failures through
 *	log_limited: one line of each an interval, then a count).  warning:
 *	"backend answered CODE to an AUTH cancel".
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "filters/chain.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/util.h"
#include "policy/conf.h"
#include "proxy/session_int.h"

static struct log_limit session_auth_log_failed =
	    LOG_LIMIT("authentication failed");
static struct log_limit session_auth_log_closed =
	    LOG_LIMIT("too many authentication failures");

static void	session_auth_relayed(struct session *,
		    const struct backend_reply *);
static void	session_auth_cancelled(struct session *,
		    const struct backend_reply *);
static int	session_auth_has_mech(const struct session *, const char *);
static void	session_auth_user(struct session *, const char *);

/* The AUTH keyword's mechanisms for our EHLO reply, or NULL when AUTH is
 * not offered to this session (now). */
const char *
session_auth_offer(const struct session *s)
{
	if (!s->conf->auth_relay || !(s->ehlo.ext & SMTP_EXT_AUTH) ||
	    s->ehlo.auth[0] == '\0' || s->authenticated)
		return NULL;
	if (s->conf->auth_require_tls && !s->tls_on)
		return NULL;
	return s->ehlo.auth;
}

/* Is mech (a word) one of the backend's? */
static int
session_auth_has_mech(const struct session *s, const char *mech)
{
	char	 list[sizeof(s->ehlo.auth)], *p = list, *w;

	strlcpy(list, s->ehlo.auth, sizeof(list));
	while ((w = strsep(&p, " ")) != NULL)
		if (*w != '\0' && strcasecmp(w, mech) == 0)
			return 1;
	return 0;
}

void
cmd_auth(struct session *s, struct smtp_cmd *cmd)
{
	char	 line[1100], shown[64];
	size_t	 n = strcspn(cmd->arg, " ");

	if (s->authenticated) {
		session_reply(s, "503 5.5.1 Error: already authenticated");
		return;
	}
	if (!s->conf->auth_relay || !(s->ehlo.ext & SMTP_EXT_AUTH)) {
		session_reply(s, "502 5.5.1 Error: command not implemented");
		return;
	}
	if (s->conf->auth_require_tls && !s->tls_on) {
		session_reply(s, "538 5.7.11 Encryption required for "
		    "requested authentication mechanism");
		return;
	}
	if (n == 0 || n >= sizeof(s->auth_mech)) {
		session_reply(s, "501 5.5.4 Syntax: AUTH mechanism");
		return;
	}
	memcpy(s->auth_mech, cmd->arg, n);
	s->auth_mech[n] = '\0';
	if (!session_auth_has_mech(s, s->auth_mech)) {
		session_reply(s, "504 5.5.4 Unrecognized authentication type");
		return;
	}
	s->auth_step = 0;
	s->auth_user[0] = '\0';
	if (cmd->arg[n] == ' ')
		session_auth_user(s, cmd->arg + n + 1);	/* initial response */
	if (snprintf(line, sizeof(line), "AUTH %s", cmd->arg) >=
	    (int)sizeof(line)) {
		session_reply(s, "501 5.5.4 Error: authentication line too "
		    "long");
		return;
	}
	snprintf(shown, sizeof(shown), "AUTH %s%s", s->auth_mech,
	    cmd->arg[n] == ' ' ? " ***" : "");
	session_enter(s, SESSION_AUTH);
	s->on_backend = session_auth_relayed;
	backend_command_shown(s->be, line, shown);
}

/* A response line of the client's, in SESSION_AUTH: line (len bytes, its
 * LF removed) is modified in place. */
void
session_auth_input(struct session *s, char *line, size_t len)
{
	if ((s->auth_bad = smtp_line_check(line, &len)) != SMTP_P_OK) {
		s->on_backend = session_auth_cancelled;
		backend_command(s->be, "*");
		return;
	}
	session_auth_user(s, line);
	s->on_backend = session_auth_relayed;
	backend_command_shown(s->be, line, "***");
}

/* The backend's answer to "*" after a refused response line. */
static void
session_auth_cancelled(struct session *s, const struct backend_reply *r)
{
	if (r->status != BACKEND_REPLY) {
		session_backend_lost(s, r, "cancelling AUTH");
		return;
	}
	if (r->code / 100 != 4 && r->code / 100 != 5) {
		log_warnx("%s backend answered %d to an AUTH cancel", s->sid,
		    r->code);
		session_close(s, "421 4.7.0 Error: authentication aborted");
		return;
	}
	session_enter(s, SESSION_READY);
	s->auth_user[0] = '\0';
	session_error(s, "501 5.5.2 Error: %s",
	    smtp_parse_strerror(s->auth_bad));
}

static void
session_auth_relayed(struct session *s, const struct backend_reply *r)
{
	if (r->status != BACKEND_REPLY) {
		session_backend_lost(s, r, "during AUTH");
		return;
	}
	session_reply_raw(s, r->text, r->len);
	if (r->code == 334)
		return;			/* the client answers the challenge */
	session_enter(s, SESSION_READY);
	if (r->code == 235) {
		s->authenticated = 1;
		if (s->auth_user[0] == '\0')
			strlcpy(s->auth_user, s->auth_mech,
			    sizeof(s->auth_user));
		chain_set_auth(s->cs, s->auth_user);
		metric_add(M_AUTH, 1, "success");
		log_info("%s authenticated as %s (%s)", s->sid, s->auth_user,
		    s->auth_mech);
		return;
	}
	s->auth_user[0] = '\0';
	metric_add(M_AUTH, 1, "failure");
	log_limited(&session_auth_log_failed, LOG_LEVEL_INFO, "%s "
	    "authentication failed (%s): %d", s->sid, s->auth_mech, r->code);
	if (r->code / 100 == 5 &&
	    ++s->auth_failures >= s->conf->auth_max_failures) {
		log_limited(&session_auth_log_closed, LOG_LEVEL_INFO, "%s too "
		    "many authentication failures", s->sid);
		session_close(s, "421 4.7.0 Error: too many authentication "
		    "failures");
	}
}

/*
 * The user name, for the log, from the response that carries it: PLAIN's
 * (authzid NUL authcid NUL password: the authcid), LOGIN's first.  Only
 * printable ASCII is kept; the password is never looked at.
 */
static void
session_auth_user(struct session *s, const char *b64)
{
	unsigned char	 dec[1024];
	const char	*name = NULL;
	size_t		 len = strlen(b64), i, o;
	int		 n;

	s->auth_step++;
	if (s->auth_step != 1 || len == 0 || len > 4 * (sizeof(dec) / 3) ||
	    (n = EVP_DecodeBlock(dec, (const unsigned char *)b64,
	    (int)len)) <= 0)
		return;
	dec[(size_t)n < sizeof(dec) ? (size_t)n : sizeof(dec) - 1] = '\0';
	if (strcasecmp(s->auth_mech, "PLAIN") == 0) {
		i = strnlen((char *)dec, (size_t)n);	/* the authzid */
		if (i + 1 < (size_t)n)
			name = (char *)dec + i + 1;
	} else if (strcasecmp(s->auth_mech, "LOGIN") == 0)
		name = (char *)dec;
	for (i = o = 0; name != NULL && name[i] != '\0' &&
	    o + 1 < sizeof(s->auth_user); i++)
		if (isgraph((unsigned char)name[i]))
			s->auth_user[o++] = name[i];
	s->auth_user[o] = '\0';
	explicit_bzero(dec, sizeof(dec));
}

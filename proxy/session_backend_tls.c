/* SPDX-License-Identifier: ISC */
/*
 * session_backend_tls.c - STARTTLS from postern to the backend (RFC 3207,
 * tls.backend): the steps between the backend's greeting and ours, and the
 * decisions at each; backend.c speaks the wire.
 *
 * In SESSION_CONNECTING, once the backend has greeted: EHLO with our own
 * name; STARTTLS when the backend offers it (always when TLS is
 * required); its 220; the handshake (backend_starttls); then our greeting
 * to the client, whose EHLO is relayed as the first of the TLS session.
 * Whatever the backend said before the handshake is forgotten with it.
 *
 * opportunistic: no STARTTLS, a refusal or a failed handshake are a
 * warning, and the session goes on in plaintext; after a failed handshake
 * on a new connection, since a half-done TLS connection cannot carry
 * plaintext.  The certificate is not checked (only logged).
 *
 * required: never a downgrade.  The backend connection is closed, nothing
 * having been sent but EHLO and STARTTLS, and the client gets 421 4.7.0
 * instead of our greeting.
 *
 * A backend that answers 530 (RFC 3207 4: STARTTLS first) while we speak
 * plaintext to it is our misconfiguration, and temporary: the client gets
 * 451 4.7.0 instead of the 5xx, which would bounce its mail.
 *
 * Public (session_int.h): session_backend_tls_begin,
 * session_backend_tls_reply.
 *
 * DIAGNOSTICS
 *	warning: "TLS to backend HOST failed: reason" (required: the session
 *	ends), "TLS to backend HOST failed: reason; going on in plaintext"
 *	(opportunistic), "backend requires TLS: REPLY", through log_limited
 *	(one line of each an interval, then a count).  debug: "TLS to
 *	backend HOST: VERSION CIPHER BITS, verified" (or "not verified:
 *	reason").
 */
#include <stdio.h>
#include <string.h>

#include "lib/log.h"
#include "policy/conf.h"
#include "proxy/server.h"
#include "proxy/session_int.h"
#include "proxy/tls.h"

#define SESSION_BACKEND_TLS_451	"451 4.7.0 Error: backend requires TLS, " \
				"try again later\r\n"

static struct log_limit session_backend_tls_log =
	    LOG_LIMIT("TLS to backend failed");
static struct log_limit session_backend_tls_log_530 =
	    LOG_LIMIT("backend requires TLS");

static void	session_backend_tls_ehlo(struct session *,
		    const struct backend_reply *);
static void	session_backend_tls_starttls(struct session *,
		    const struct backend_reply *);
static void	session_backend_tls_done(struct session *,
		    const struct backend_reply *);
static void	session_backend_tls_without(struct session *, const char *,
		    int);

/* The backend has greeted: TLS to it first when tls.backend asks for it
 * (and has not failed already), then our greeting. */
void
session_backend_tls_begin(struct session *s)
{
	char	 line[300];

	if (s->gen->tls_backend == NULL || s->be_plain) {
		session_greet(s);
		return;
	}
	snprintf(line, sizeof(line), "EHLO %s", s->conf->hostname);
	session_backend(s, line, session_backend_tls_ehlo);
}

static void
session_backend_tls_ehlo(struct session *s, const struct backend_reply *r)
{
	struct smtp_ehlo	 e;

	if (r->status != BACKEND_REPLY) {
		session_backend_lost(s, r, "after EHLO, before STARTTLS");
		return;
	}
	memset(&e, 0, sizeof(e));
	if (r->code / 100 == 2)
		smtp_ehlo_reply(&e, r->text);
	if (!(e.ext & SMTP_EXT_STARTTLS) &&
	    s->conf->tls_backend != CONF_TLS_BACKEND_REQUIRED) {
		session_backend_tls_without(s, "no STARTTLS offered", 0);
		return;
	}
	session_backend(s, "STARTTLS", session_backend_tls_starttls);
}

static void
session_backend_tls_starttls(struct session *s,
    const struct backend_reply *r)
{
	char	 why[300];

	if (r->status != BACKEND_REPLY) {
		session_backend_lost(s, r, "after STARTTLS");
		return;
	}
	if (r->code != 220) {
		snprintf(why, sizeof(why), "STARTTLS refused: %.*s",
		    (int)strcspn(r->text, "\r"), r->text);
		session_backend_tls_without(s, why, 0);
		return;
	}
	s->on_backend = session_backend_tls_done;
	backend_starttls(s->be, tls_client_ssl(s->gen->tls_backend,
	    backend_list_host(s->gen->backends, &s->be_try)));
}

static void
session_backend_tls_done(struct session *s, const struct backend_reply *r)
{
	SSL		*ssl;
	const char	*unverified;
	char		 info[128];

	if (r->status != BACKEND_TLS) {
		session_backend_tls_without(s, r->status ==
		    BACKEND_TLS_FAILED ? r->text : "connection lost", 1);
		return;
	}
	ssl = backend_ssl(s->be);
	tls_describe(ssl, info, sizeof(info));
	unverified = tls_client_unverified(ssl);
	log_debug("%s TLS to backend %s: %s, %s%s", s->sid,
	    session_backend_name(s), info, unverified != NULL ?
	    "not verified: " : "verified", unverified != NULL ? unverified :
	    "");
	session_greet(s);
}

/*
 * No TLS to the backend, for why.  Required: the backend connection
 * closed, 421 to the client.  Opportunistic: a warning and plaintext, on a
 * new connection when a handshake had begun (reconnect).
 */
static void
session_backend_tls_without(struct session *s, const char *why,
    int reconnect)
{
	if (s->conf->tls_backend == CONF_TLS_BACKEND_REQUIRED) {
		log_limited(&session_backend_tls_log, LOG_LEVEL_WARN, "%s TLS "
		    "to backend %s failed: %s", s->sid, session_backend_name(s),
		    why);
		backend_close(s->be);
		session_close(s, "421 4.7.0 TLS to the backend failed, try "
		    "again later");
		return;
	}
	log_limited(&session_backend_tls_log, LOG_LEVEL_WARN, "%s TLS to "
	    "backend %s failed: %s; going on in plaintext", s->sid,
	    session_backend_name(s), why);
	if (!reconnect) {
		session_greet(s);
		return;
	}
	s->be_plain = 1;
	session_backend_connect(s);
}

/*
 * The reply the session acts on for r: r itself, or, for a 530 while the
 * backend connection is plaintext, a 451 4.7.0 in fixed (the backend's
 * reply logged).
 */
const struct backend_reply *
session_backend_tls_reply(struct session *s, const struct backend_reply *r,
    struct backend_reply *fixed)
{
	if (r->status != BACKEND_REPLY || r->code != 530 ||
	    backend_ssl(s->be) != NULL)
		return r;
	log_limited(&session_backend_tls_log_530, LOG_LEVEL_WARN, "%s backend "
	    "requires TLS: %.*s", s->sid,
	    (int)strcspn(r->text, "\r"), r->text);
	*fixed = *r;
	fixed->code = 451;
	fixed->text = SESSION_BACKEND_TLS_451;
	fixed->len = sizeof(SESSION_BACKEND_TLS_451) - 1;
	return fixed;
}

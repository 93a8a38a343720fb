/* SPDX-License-Identifier: ISC */
/*
 * session_identity.c - telling the backend who the client really is
 * (proxy.client_identity), fail-safe.
 *
 * The backend's own policy (relay rights, RBLs, its log and Received
 * header) is only as good as the client address it sees.  A backend that
 * trusts postern's address (Postfix's permit_mynetworks with postern on
 * loopback) and is not told the client's would relay for anyone, so when
 * the chosen way does not work the client is refused with 4.3.0, never
 * relayed under postern's own address:
 *
 *	xclient		after the first EHLO, XCLIENT with every attribute
 *			the backend named that postern knows; the backend's
 *			new greeting (220, or 250) is followed by EHLO again.
 *			Not offered with ADDR, or refused: 421 4.3.0.  When
 *			the backend's answer to EHLO is known from an
 *			earlier session (backend_list_caps), XCLIENT goes
 *			without that first EHLO; a refusal of it is taken
 *			back: EHLO, then as above (and EHLO first for that
 *			backend from then on).
 *	xforward	the EHLO must offer XFORWARD with ADDR (else 421
 *			4.3.0); XFORWARD goes before each MAIL, and a
 *			refusal is 451 4.3.0 to that MAIL.
 *	proxy_v1/v2	a PROXY header (proxyproto_build) as the first bytes
 *			of the backend connection, before its greeting.
 *	none		nothing (postern check warns).
 *
 * XCLIENT follows a backend STARTTLS (which happens before any EHLO of
 * the client's), so it is always sent inside the TLS session.
 *
 * Public (session_int.h): session_identity_header, session_identity_early,
 * session_identity_ehlo, session_identity_mail.
 *
 * DIAGNOSTICS
 *	error (log_limited, since every session meets it): "backend HOST
 *	does not offer XCLIENT with ADDR" / "refused XCLIENT: REPLY" (and
 *	the same for XFORWARD), then what was done and how to fix it: the
 *	Postfix parameter smtpd_authorized_xclient_hosts or _xforward_hosts,
 *	or another proxy.client_identity.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/log.h"
#include "lib/util.h"
#include "policy/conf.h"
#include "proto/proxyproto.h"
#include "proto/smtp_parse.h"
#include "proxy/backend.h"
#include "proxy/backend_list.h"
#include "proxy/server.h"
#include "proxy/session_int.h"

#define SESSION_IDENTITY_421	"421 4.3.0 Error: the backend cannot be " \
				"told who you are, try again later"
#define SESSION_IDENTITY_451	"451 4.3.0 Error: the backend cannot be " \
				"told who you are, try again later"

static struct log_limit session_identity_log =
	    LOG_LIMIT("backend cannot be told the client");

static const char *session_identity_verb(const struct session *);
static const char *session_identity_names(const struct session *);
static int	session_identity_has(const char *, const char *);
static void	session_identity_fail(struct session *, const char *,
		    const struct backend_reply *);
static void	session_identity_xclient_done(struct session *,
		    const struct backend_reply *);
static void	session_identity_xforward_done(struct session *,
		    const struct backend_reply *);
static void	session_identity_xforward_piped(struct session *,
		    const struct backend_reply *);
static void	session_identity_mail_dropped(struct session *,
		    const struct backend_reply *);
static void	session_identity_reset(struct session *,
		    const struct backend_reply *);
static void	session_identity_attrs(struct session *, const char *,
		    char *, size_t);
static void	session_identity_host(const struct sockaddr_storage *,
		    char *, size_t, char *, size_t);

/*
 * The PROXY header for a new backend connection into out (outsz >=
 * PROXYPROTO_OUT_MAX): its length, 0 when the mode is not proxy_v1/v2 (or,
 * which cannot happen for a TCP client, the address is not IP).
 */
size_t
session_identity_header(struct session *s, void *out, size_t outsz)
{
	int	 n;

	if (s->conf->client_identity != CONF_IDENTITY_PROXY_V1 &&
	    s->conf->client_identity != CONF_IDENTITY_PROXY_V2)
		return 0;
	n = proxyproto_build(s->conf->client_identity ==
	    CONF_IDENTITY_PROXY_V1 ? 1 : 2, (struct sockaddr *)&s->ss,
	    (struct sockaddr *)&s->dest, out, outsz);
	return n > 0 ? (size_t)n : 0;
}

/*
 * The client's HELO/EHLO passed the filters: with xclient, and the
 * backend's answer to EHLO known, XCLIENT goes now (returns 1; its success
 * sends EHLO, session_ehlo_backend); else returns 0 and EHLO goes first.
 */
int
session_identity_early(struct session *s)
{
	struct smtp_ehlo	 caps;

	if (s->conf->client_identity != CONF_IDENTITY_XCLIENT ||
	    s->xclient_done || !backend_list_caps(s->gen->backends,
	    &s->be_try, backend_ssl(s->be) != NULL, &caps) ||
	    !(caps.ext & SMTP_EXT_XCLIENT) ||
	    !session_identity_has(caps.xclient, "ADDR"))
		return 0;
	s->ehlo = caps;
	s->xclient_early = 1;
	return session_identity_ehlo(s);
}

/*
 * The backend answered EHLO (s->ehlo filled in).  Returns 0 when the
 * session goes on as usual; 1 when this took over: XCLIENT sent (its
 * success sends EHLO again, session_ehlo_backend), or the client refused
 * because the backend cannot be told who it is.
 */
int
session_identity_ehlo(struct session *s)
{
	const char	*verb = session_identity_verb(s);
	char		 attrs[1024], line[1100], why[64];
	unsigned	 bit;

	if (verb == NULL || s->xclient_done)
		return 0;
	bit = s->conf->client_identity == CONF_IDENTITY_XCLIENT ?
	    SMTP_EXT_XCLIENT : SMTP_EXT_XFORWARD;
	if (!(s->ehlo.ext & bit) ||
	    !session_identity_has(session_identity_names(s), "ADDR")) {
		snprintf(why, sizeof(why), "%s %s%s", s->ehlo.ext & bit ?
		    "offers" : "does not offer", verb, s->ehlo.ext & bit ?
		    " without ADDR" : "");
		session_identity_fail(s, why, NULL);
		return 1;
	}
	if (s->conf->client_identity != CONF_IDENTITY_XCLIENT)
		return 0;
	if (!s->xclient_early)
		backend_list_learn(s->gen->backends, &s->be_try,
		    backend_ssl(s->be) != NULL, &s->ehlo);
	s->xclient_done = 1;
	session_identity_attrs(s, s->ehlo.xclient, attrs, sizeof(attrs));
	snprintf(line, sizeof(line), "XCLIENT%s", attrs);
	session_backend(s, line, session_identity_xclient_done);
	return 1;
}

/*
 * MAIL passed the filters: with xforward, XFORWARD goes first (returns 1;
 * its success relays MAIL, session_mail_relay); else returns 0.  To a
 * backend that offers PIPELINING and took XFORWARD last time (in any
 * session), both go in one write: the backend reads once, as for a client
 * that talks to it directly.  (Not before: a backend that refuses XFORWARD
 * never sees a MAIL under postern's own address, unless its rights were
 * taken away since; then that MAIL is reset.)
 */
int
session_identity_mail(struct session *s)
{
	char	 attrs[1024], line[1100];

	if (s->conf->client_identity != CONF_IDENTITY_XFORWARD)
		return 0;
	session_identity_attrs(s, s->ehlo.xforward, attrs, sizeof(attrs));
	snprintf(line, sizeof(line), "XFORWARD%s", attrs);
	if (!(s->ehlo.ext & SMTP_EXT_PIPELINING) ||
	    !backend_list_xforward(s->gen->backends, &s->be_try)) {
		session_backend(s, line, session_identity_xforward_done);
		return 1;
	}
	backend_pipeline(s->be, line);
	session_backend(s, s->tx->mailcmd, session_identity_xforward_piped);
	return 1;
}

/* XCLIENT or XFORWARD, or NULL for the modes that send no command. */
static const char *
session_identity_verb(const struct session *s)
{
	if (s->conf->client_identity == CONF_IDENTITY_XCLIENT)
		return "XCLIENT";
	if (s->conf->client_identity == CONF_IDENTITY_XFORWARD)
		return "XFORWARD";
	return NULL;
}

/* The attribute names the backend offered for our command. */
static const char *
session_identity_names(const struct session *s)
{
	return s->conf->client_identity == CONF_IDENTITY_XCLIENT ?
	    s->ehlo.xclient : s->ehlo.xforward;
}

/* Whether the space-separated names hold name (any case). */
static int
session_identity_has(const char *names, const char *name)
{
	size_t	 n = strlen(name), w;

	for (; *names != '\0'; names += w) {
		names += strspn(names, " ");
		w = strcspn(names, " ");
		if (w == n && strncasecmp(names, name, n) == 0)
			return 1;
	}
	return 0;
}

/*
 * The backend cannot be told who the client is (why; r its refusal, or
 * NULL): an error line that says how to fix it, and the client refused,
 * with 451 to the MAIL of a transaction, else 421 and the end.
 */
static void
session_identity_fail(struct session *s, const char *why,
    const struct backend_reply *r)
{
	int		 xclient = s->conf->client_identity ==
			    CONF_IDENTITY_XCLIENT;
	/* Postfix refuses ADDR=IPV6:... with 501 when it runs IPv4 only */
	int		 ipv6 = r != NULL && r->code == 501 &&
			    strstr(r->text, "IPV6:") != NULL;

	log_limited(&session_identity_log, LOG_LEVEL_ERR, "%s backend %s %s"
	    "%.*s; client %s refused with 4.3.0 rather than relayed under "
	    "postern's own address: %s%s%s", s->sid, session_backend_name(s),
	    why, r != NULL ? (int)strcspn(r->text, "\r") : 0,
	    r != NULL ? r->text : "", s->addr, ipv6 ? "the backend takes no "
	    "IPv6 client address: set inet_protocols = all (Postfix)" :
	    "list postern's address in the backend's ", ipv6 ? "" : xclient ?
	    "smtpd_authorized_xclient_hosts" :
	    "smtpd_authorized_xforward_hosts", ipv6 ? "" : " (Postfix), or "
	    "set proxy.client_identity to what the backend accepts");
	if (s->tx != NULL) {
		session_reply(s, "%s", SESSION_IDENTITY_451);
		session_tx_end(s, "tempfailed", SESSION_IDENTITY_451);
		return;
	}
	session_close(s, SESSION_IDENTITY_421);
}

/* XCLIENT answered: a 2xx is a new greeting (220 from Postfix, which
 * starts a new session; 250 from others) and wants EHLO again. */
static void
session_identity_xclient_done(struct session *s,
    const struct backend_reply *r)
{
	if (r->status != BACKEND_REPLY) {
		session_backend_lost(s, r, "after XCLIENT");
		return;
	}
	if (r->code / 100 != 2 && s->xclient_early) {
		/* perhaps it wants EHLO first: ask as for a new backend */
		log_debug("%s backend %s refused XCLIENT without EHLO: %.*s",
		    s->sid, session_backend_name(s),
		    (int)strcspn(r->text, "\r"), r->text);
		backend_list_unlearn(s->gen->backends, &s->be_try);
		s->xclient_early = 0;
		s->xclient_done = 0;
	} else if (r->code / 100 != 2) {
		session_identity_fail(s, "refused XCLIENT: ", r);
		return;
	}
	session_ehlo_backend(s);
}

static void
session_identity_xforward_done(struct session *s,
    const struct backend_reply *r)
{
	if (r->status != BACKEND_REPLY) {
		session_backend_lost(s, r, "after XFORWARD");
		return;
	}
	if (r->code / 100 != 2) {
		backend_list_set_xforward(s->gen->backends, &s->be_try, 0);
		session_identity_fail(s, "refused XFORWARD: ", r);
		return;
	}
	backend_list_set_xforward(s->gen->backends, &s->be_try, 1);
	session_mail_relay(s);
}

/* XFORWARD answered, MAIL pipelined after it: a 2xx leaves MAIL's reply
 * to session_mail_relayed; a refusal refuses the client's MAIL now, and
 * MAIL's reply, when it comes, is dropped. */
static void
session_identity_xforward_piped(struct session *s,
    const struct backend_reply *r)
{
	if (r->status != BACKEND_REPLY) {
		session_backend_lost(s, r, "after XFORWARD");
		return;
	}
	if (r->code / 100 == 2) {
		s->on_backend = session_mail_relayed;
		return;
	}
	backend_list_set_xforward(s->gen->backends, &s->be_try, 0);
	session_identity_fail(s, "refused XFORWARD: ", r);
	s->on_backend = session_identity_mail_dropped;
}

/* The reply to a MAIL whose XFORWARD was refused: a transaction the
 * backend opened is reset (RSET's reply needs nothing more). */
static void
session_identity_mail_dropped(struct session *s,
    const struct backend_reply *r)
{
	if (r->status != BACKEND_REPLY) {
		session_backend_lost(s, r, "after MAIL");
		return;
	}
	if (r->code / 100 == 2)
		session_backend(s, "RSET", session_identity_reset);
}

static void
session_identity_reset(struct session *s, const struct backend_reply *r)
{
	if (r->status != BACKEND_REPLY)
		session_backend_lost(s, r, "resetting after XFORWARD");
}

/*
 * The attributes the backend named in its EHLO (names: space-separated)
 * that postern knows, as " NAME=xtext ..." into out.  NAME and
 * REVERSE_NAME are the client's names as Postfix sets them (proxy/rdns.h:
 * [UNAVAILABLE] without proxy.reverse_dns); LOGIN is not sent, since AUTH
 * goes to the backend itself.
 */
static void
session_identity_attrs(struct session *s, const char *names, char *out,
    size_t outsz)
{
	char		 v[sizeof(s->helo) * 3 + 8], addr[64], dest[64];
	char		 dport[8];
	const char	*attr[][2] = {
		{ "NAME", s->names.name },
		{ "REVERSE_NAME", s->names.reverse },
		{ "ADDR", addr },
		{ "PORT", s->port },
		{ "HELO", s->helo },
		{ "PROTO", s->esmtp ? "ESMTP" : "SMTP" },
		{ "DESTADDR", dest },
		{ "DESTPORT", dport },
		{ "SOURCE", "REMOTE" },
	};
	size_t		 i;

	session_identity_host(&s->ss, addr, sizeof(addr), NULL, 0);
	session_identity_host(&s->dest, dest, sizeof(dest), dport,
	    sizeof(dport));
	out[0] = '\0';
	for (i = 0; i < nitems(attr); i++)
		if (session_identity_has(names, attr[i][0]) &&
		    attr[i][1][0] != '\0' &&
		    smtp_xtext(v, sizeof(v), attr[i][1]) >= 0) {
			strlcat(out, " ", outsz);
			strlcat(out, attr[i][0], outsz);
			strlcat(out, "=", outsz);
			strlcat(out, v, outsz);
		}
}

/* An address as XCLIENT/XFORWARD want it (IPv6 with "IPV6:"), and its
 * port when port is not NULL; "" for what is not known. */
static void
session_identity_host(const struct sockaddr_storage *ss, char *host,
    size_t hostsz, char *port, size_t portsz)
{
	char	 h[INET6_ADDRSTRLEN];

	host[0] = '\0';
	if (port != NULL)
		port[0] = '\0';
	if (ss->ss_family != AF_INET && ss->ss_family != AF_INET6)
		return;
	if (getnameinfo((const struct sockaddr *)ss, ss->ss_family ==
	    AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6),
	    h, sizeof(h), port, (socklen_t)portsz,
	    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		return;
	snprintf(host, hostsz, "%s%s", ss->ss_family == AF_INET6 ? "IPV6:" :
	    "", h);
}

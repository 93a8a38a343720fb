/* SPDX-License-Identifier: ISC */
/*
 * session_tls.c - TLS on the client side of a session: STARTTLS (RFC
 * 3207) on plain listeners and the handshake that opens an implicit-TLS
 * connection (RFC 8314), both as an OpenSSL filter over the session's
 * socket bufferevent; and the Received header that records the TLS
 * version and cipher, which the backend cannot know.
 *
 * Command injection (CVE-2011-0411 and kin): whatever the client sent
 * after the STARTTLS line, before our 220, is discarded and logged, and
 * reading stops until the handshake starts, so nothing sent in clear is
 * ever executed inside TLS.  After the handshake the SMTP state is reset
 * as RFC 3207 4.2 requires: the client says EHLO again.
 *
 * A handshake has tls.handshake_timeout to finish; one that fails or
 * stalls is dropped without a reply (there is no channel for one).
 *
 * Public (session_int.h): session_tls_start, session_tls_ready,
 * session_tls_failed, session_tls_received, session_tls_close,
 * cmd_starttls.
 *
 * DIAGNOSTICS
 *	info: "TLS established: VERSION CIPHER BITS", "TLS handshake failed:
 *	reason", "N bytes sent after STARTTLS discarded" (these two through
 *	log_limited: one line of each an interval, then a count).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/util.h"
#include "policy/conf.h"
#include "policy/hdrbuild.h"
#include "proxy/io.h"
#include "proxy/server.h"
#include "proxy/session_int.h"
#include "proxy/tls.h"

static struct log_limit session_tls_log_failed =
	    LOG_LIMIT("TLS handshake failed");
static struct log_limit session_tls_log_early =
	    LOG_LIMIT("bytes after STARTTLS");

static void	session_tls_drained(struct bufferevent *, void *);
static void	session_tls_gone(struct bufferevent *, short, void *);

/*
 * The handshake on s's connection (server side), in SESSION_TLS.  The
 * socket bufferevent becomes the filter's underlying one; its input is
 * empty (STARTTLS drained it) or holds the start of the handshake (what
 * followed a PROXY header).
 */
void
session_tls_start(struct session *s)
{
	struct timeval		 hs = { s->conf->tls_handshake_timeout, 0 };
	struct bufferevent	*bev;

	/* the socket's own timeouts would fire under the filter's */
	bufferevent_set_timeouts(s->bev, NULL, NULL);
	bev = bufferevent_openssl_filter_new(s->srv->base, s->bev,
	    tls_server_ssl(s->gen->tls, (struct sockaddr *)&s->local),
	    BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		fatalx("bufferevent_openssl_filter_new");
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	s->bev = bev;
	s->tls_on = 1;
	session_setcb(s);
	s->timeout = ~0u;
	bufferevent_set_timeouts(bev, &hs, &hs);
	bufferevent_enable(bev, EV_READ);
	session_enter(s, SESSION_TLS);
}

/* The handshake is done: an implicit-TLS session now starts; after
 * STARTTLS, the client starts over with EHLO. */
void
session_tls_ready(struct session *s)
{
	tls_describe(bufferevent_openssl_get_ssl(s->bev), s->tls_info,
	    sizeof(s->tls_info));
	log_info("%s TLS established from %s: %s", s->sid, s->addr,
	    s->tls_info);
	metric_add(M_TLS_SESSIONS, 1,
	    SSL_get_version(bufferevent_openssl_get_ssl(s->bev)));
	bufferevent_set_timeouts(s->bev, NULL, NULL);
	s->timeout = ~0u;
	if (s->cs == NULL) {
		bufferevent_disable(s->bev, EV_READ);
		session_connect(s);
		return;
	}
	s->helo[0] = '\0';
	s->esmtp = 0;
	session_enter(s, SESSION_GREETED);
	session_input(s);
}

/* A handshake that failed or timed out: logged, the session dropped. */
void
session_tls_failed(struct session *s, short what)
{
	char	 why[256];

	tls_failure(s->bev, what, why, sizeof(why));
	log_limited(&session_tls_log_failed, LOG_LEVEL_INFO, "%s TLS handshake "
	    "from %s failed: %s", s->sid, s->addr, why);
	session_close(s, NULL);
}

/*
 * CLOSING, our last reply through TLS: it may still sit, encrypted, in the
 * socket's own output.  Wait for that to leave (at most
 * proxy.command_timeout), then free the session.
 */
void
session_tls_close(struct session *s)
{
	struct bufferevent	*u = bufferevent_get_underlying(s->bev);
	struct timeval		 tv = { s->conf->command_timeout, 0 };

	if (u == NULL || evbuffer_get_length(bufferevent_get_output(u)) == 0) {
		session_free_soon(s);
		return;
	}
	bufferevent_setcb(u, NULL, session_tls_drained, session_tls_gone, s);
	bufferevent_set_timeouts(u, NULL, &tv);
	bufferevent_enable(u, EV_WRITE);
}

static void
session_tls_drained(struct bufferevent *u, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(u)) == 0) {
		bufferevent_disable(u, EV_WRITE);
		session_free_soon(arg);
	}
}

static void
session_tls_gone(struct bufferevent *u, short what, void *arg)
{
	(void)what;
	bufferevent_disable(u, EV_READ | EV_WRITE);
	session_free_soon(arg);
}

void
cmd_starttls(struct session *s, struct smtp_cmd *cmd)
{
	struct evbuffer	*in = bufferevent_get_input(s->bev);
	size_t		 n;

	if (s->tls_on) {
		session_reply(s, "554 5.5.1 Error: TLS already active");
		return;
	}
	if (s->gen->tls == NULL || !s->conf->tls_starttls) {
		session_reply(s, "502 5.5.1 Error: command not implemented");
		return;
	}
	if (cmd->arg[0] != '\0') {
		session_reply(s, "501 5.5.4 Syntax: STARTTLS");
		return;
	}
	if ((n = evbuffer_get_length(in)) > 0) {
		log_limited(&session_tls_log_early, LOG_LEVEL_INFO, "%s %zu "
		    "bytes sent after STARTTLS discarded", s->sid, n);
		evbuffer_drain(in, n);
	}
	bufferevent_disable(s->bev, EV_READ);
	session_reply(s, "220 2.0.0 Ready to start TLS");
	session_enter(s, SESSION_TLS);
	if (io_flush(s->bev) == 0)
		session_tls_start(s);
	/* else session_write_cb starts it once the 220 is out */
}

/* The Received field of a TLS session (RFC 5321 4.4, RFC 8314 7.4): from
 * whom, by us, "with ESMTPS" (ESMTPSA once authenticated, RFC 3848) and
 * the protocol and cipher.  The HELO name is the client's word: written
 * as the from domain only when it is a domain name, else inside the
 * TCP-info comment (hdrbuild.c escapes it there).  The TCP-info has the
 * client's verified host name before its address, when it has one (a
 * valid host name: rdns.c). */
void
session_tls_received(struct session *s, struct evbuffer *hdrs)
{
	struct hdrbuild	 b;
	char		 date[64], *v;
	char		 info[sizeof(s->names.name) + sizeof(s->helo) + 80];
	time_t		 now = time(NULL);
	struct tm	 tm;
	int		 named = hdrbuild_is_domain(s->helo);

	if (!s->tls_on || s->tls_info[0] == '\0')
		return;
	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	snprintf(info, sizeof(info), "%s%s[%s]%s%s", rdns_verified(&s->names) ?
	    s->names.name : "", rdns_verified(&s->names) ? " " : "", s->addr,
	    named || s->helo[0] == '\0' ? "" : " helo=", named ? "" : s->helo);
	hdrbuild_init(&b);
	hdrbuild_text(&b, "from ");
	hdrbuild_text(&b, named ? s->helo : "unknown");
	hdrbuild_text(&b, " ");
	hdrbuild_comment(&b, info);
	hdrbuild_fold(&b);
	hdrbuild_text(&b, "by ");
	hdrbuild_text(&b, hdrbuild_is_domain(s->conf->hostname) ?
	    s->conf->hostname : "unknown");
	hdrbuild_text(&b, " (postern) with ");
	hdrbuild_text(&b, !s->esmtp ? "SMTPS" : s->authenticated ?
	    "ESMTPSA" : "ESMTPS");
	hdrbuild_fold(&b);
	hdrbuild_comment(&b, s->tls_info);
	hdrbuild_text(&b, " id ");
	hdrbuild_text(&b, s->sid);
	hdrbuild_text(&b, ";");
	hdrbuild_fold(&b);
	hdrbuild_text(&b, date);
	v = hdrbuild_take(&b);
	evbuffer_add_printf(hdrs, "Received: %s\r\n", v);
	free(v);
}

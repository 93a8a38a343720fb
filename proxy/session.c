/* SPDX-License-Identifier: ISC */
/*
 * session.c - the client side of a proxied SMTP connection: the command
 * table, the state machine, the envelope (MAIL/RCPT) relayed to the backend
 * with the filter chain in between, and the replies.
 *
 * Commands are taken one at a time: a command is parsed, checked against the
 * states it is allowed in, run through its filter stage (the table names
 * it; one router, session_filter, maps the verdict through decide() to a
 * refusal or to the stage's proceed step), then relayed; the
 * next buffered command (PIPELINING) is looked at only after the reply, so
 * replies go out in order and the backend sees one command at a time.  While
 * a filter or the backend is awaited the session is busy: input stays
 * buffered (bounded by the read watermark) and its read timeout is off.
 *
 * A read timeout restarts with every read, so on its own it cannot stop a
 * client that sends a byte every few seconds.  Two bounds that reads do
 * not restart do: a command line must be whole within command_timeout of
 * its first byte (the read timer is cut to what is left), and message
 * content must average proxy.min_data_rate (session_data.c).
 *
 * With proxy.proxy_protocol, a session starts in SESSION_PROXY: no greeting,
 * no filters, nothing to the backend until a PROXY header (proxyproto.c)
 * has been read whole within proxy.proxy_protocol_timeout, from an address
 * in proxy.proxy_protocol_from; its source then becomes the client address
 * and the session goes on as if the client had connected directly.  Bytes
 * after the header stay buffered and are read after the greeting, as an
 * early talker's are.  Anything else closes the connection without a reply:
 * the peer is a load balancer, not an SMTP client.
 *
 * Public (session.h): session_new, session_count, session_drain_all,
 * session_free_all.  Shared with the other session files (session_int.h):
 * session_setcb, session_enter, session_reply, session_reply_raw,
 * session_error, session_stage_run, session_filter, session_backend,
 * session_backend_lost, session_tx_end, session_close, session_free_soon,
 * session_input, session_connect, session_named, session_greet,
 * session_backend_connect, session_ehlo_backend, session_mail_relay.
 *
 * DIAGNOSTICS
 *	Every log line starts with the session id.  Backend faults are logged
 *	with what the session was doing, and become 421/451 to the client.
 *	A refused PROXY header is one line: "PROXY header from ADDR refused:
 *	reason" (the parser's reason, or "timeout"); a connection from outside
 *	proxy.proxy_protocol_from is "connection from ADDR refused: not in
 *	proxy.proxy_protocol_from".  What a peer can cause at will (these
 *	refusals, refused connects, timeouts, too many errors, backend
 *	faults that come with every session) goes through log_limited: one
 *	line of each kind an interval, then "N more like this".
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/util.h"
#include "policy/conf.h"
#include "policy/decide.h"
#include "policy/table.h"
#include "policy/txcount.h"
#include "policy/txlog.h"
#include "proto/proxyproto.h"
#include "proxy/io.h"
#include "proxy/listener.h"
#include "proxy/server.h"
#include "proxy/session.h"
#include "proxy/session_int.h"
#include "proxy/spool.h"

#define SESSION_ANY		(S_BIT(SESSION_GREETED) | \
				 S_BIT(SESSION_READY) | S_BIT(SESSION_MAIL) | \
				 S_BIT(SESSION_RCPT) | S_BIT(SESSION_BDAT))
#define SESSION_HELO_OK		(S_BIT(SESSION_GREETED) | \
				 S_BIT(SESSION_READY) | S_BIT(SESSION_MAIL) | \
				 S_BIT(SESSION_RCPT))

/*
 * The command table: a command without a filter stage is done by run; one
 * with a stage is checked (check: 0 when the stage is to run, -1 when the
 * command was answered already), then the stage runs and its verdict is
 * routed (session_filter): refused, or on to the stage's proceed step.
 * A CHUNK command (BDAT) out of sequence still reads its chunk: check is
 * called with s->bdat_fail set to the sequence error.
 */
#define SESSION_CMD_CHUNK	0x1

struct session_cmd {
	enum smtp_verb	 verb;
	unsigned	 states;	/* S_BIT()s it is allowed in */
	int		 flags;		/* SESSION_CMD_* */
	void		(*run)(struct session *, struct smtp_cmd *);
	int		(*check)(struct session *, struct smtp_cmd *);
	const struct session_stage *stage;
};

static unsigned	 session_total;	/* every loop's: atomic */
/* What a peer can cause at will is logged once an interval (log_limited). */
static struct log_limit session_log_pp_from =
	    LOG_LIMIT("connection refused (proxy_protocol_from)");
static struct log_limit session_log_pp = LOG_LIMIT("PROXY header refused");
static struct log_limit session_log_connect =
	    LOG_LIMIT("connect refused (filters)");
static struct log_limit session_log_greeting =
	    LOG_LIMIT("backend unavailable");
static struct log_limit session_log_nobackend =
    LOG_LIMIT("no backend available");
static struct log_limit session_log_lost = LOG_LIMIT("backend lost");
static struct log_limit session_log_errors = LOG_LIMIT("too many errors");
static struct log_limit session_log_timeout = LOG_LIMIT("client timeout");

static void	session_set_addr(struct session *, const struct sockaddr *,
		    socklen_t);
static void	session_begin(struct session *);
static void	session_proxy_begin(struct session *);
static void	session_proxy_input(struct session *);
static void	session_proxy_timer(struct session *, uint64_t);
static void	session_proxy_done(struct session *,
		    const struct proxyproto_hdr *);
static void	session_proxy_fail(struct session *, const char *);
static void	session_read_cb(struct bufferevent *, void *);
static void	session_write_cb(struct bufferevent *, void *);
static void	session_event_cb(struct bufferevent *, short, void *);
static void	session_backend_cb(void *, const struct backend_reply *);
static void	session_filter_resumed(void *, enum fv);
static void	session_free_later(evutil_socket_t, short, void *);
static void	session_flushed_close(struct session *);
static void	session_free(struct session *);
static int	session_busy(const struct session *);
static void	session_timeouts(struct session *);
static int	session_line(struct session *);
static void	session_dispatch(struct session *, char *, size_t);
static const char *session_seq_error(const struct session *, enum smtp_verb);
static void	session_close_on_421(struct session *, const char *);
static void	session_tx_count(struct session *, const char *,
		    uint64_t);
static void	session_tx_free(struct session *);
static enum fv	session_connect_run(struct session *);
static void	session_connect_proceed(struct session *, enum decide_action);
static void	session_command(struct session *, const struct session_cmd *,
		    struct smtp_cmd *);
static void	session_stage_done(struct session *,
		    const struct session_stage *, enum fv);
static void	session_greeted(struct session *, const struct backend_reply *);
static void	session_backend_next(struct session *);
static void	session_relay_reply(struct session *,
		    const struct backend_reply *);
static void	session_ehlo_relayed(struct session *,
		    const struct backend_reply *);
static void	session_ehlo_reply(struct session *);
static int	session_check_params(struct session *, struct smtp_path *,
		    int);
static void	session_argv(struct tx *, const struct smtp_path *);
static enum fv	session_helo_run(struct session *);
static void	session_helo_proceed(struct session *, enum decide_action);
static enum fv	session_mail_run(struct session *);
static void	session_mail_proceed(struct session *, enum decide_action);
static enum fv	session_rcpt_run(struct session *);
static void	session_rcpt_proceed(struct session *, enum decide_action);
static void	session_rcpt_relayed(struct session *,
		    const struct backend_reply *);
static enum fv	session_data_run(struct session *);
static void	session_data_proceed(struct session *, enum decide_action);
static void	session_quit_relayed(struct session *,
		    const struct backend_reply *);
static int	cmd_helo(struct session *, struct smtp_cmd *);
static int	session_helo_printable(const char *, size_t);
static int	cmd_mail(struct session *, struct smtp_cmd *);
static int	cmd_rcpt(struct session *, struct smtp_cmd *);
static int	cmd_data(struct session *, struct smtp_cmd *);
static int	cmd_bdat(struct session *, struct smtp_cmd *);
static void	cmd_rset(struct session *, struct smtp_cmd *);
static void	cmd_relay(struct session *, struct smtp_cmd *);
static void	cmd_vrfy(struct session *, struct smtp_cmd *);
static void	cmd_quit(struct session *, struct smtp_cmd *);
static void	cmd_help(struct session *, struct smtp_cmd *);
static void	cmd_notimpl(struct session *, struct smtp_cmd *);

/* The filter stages of the envelope (the content's: session_data.c). */
static const struct session_stage session_stage_connect = {
	DECIDE_CONNECT, SESSION_REFUSE_CLOSE, session_connect_run,
	session_connect_proceed
};
static const struct session_stage session_stage_helo = {
	DECIDE_HELO, SESSION_REFUSE_REPLY, session_helo_run,
	session_helo_proceed
};
static const struct session_stage session_stage_mail = {
	DECIDE_MAIL, SESSION_REFUSE_TX, session_mail_run, session_mail_proceed
};
static const struct session_stage session_stage_rcpt = {
	DECIDE_RCPT, SESSION_REFUSE_REPLY, session_rcpt_run,
	session_rcpt_proceed
};
static const struct session_stage session_stage_data = {
	DECIDE_DATA, SESSION_REFUSE_TX, session_data_run, session_data_proceed
};

#define RUN(fn)			fn, NULL, NULL
#define STAGE(check, stage)	NULL, check, &stage

static const struct session_cmd session_cmds[] = {
	{ SMTP_HELO, SESSION_HELO_OK, 0, STAGE(cmd_helo, session_stage_helo) },
	{ SMTP_EHLO, SESSION_HELO_OK, 0, STAGE(cmd_helo, session_stage_helo) },
	{ SMTP_MAIL, S_BIT(SESSION_READY), 0,
	    STAGE(cmd_mail, session_stage_mail) },
	{ SMTP_RCPT, S_BIT(SESSION_MAIL) | S_BIT(SESSION_RCPT), 0,
	    STAGE(cmd_rcpt, session_stage_rcpt) },
	{ SMTP_DATA, S_BIT(SESSION_RCPT), 0,
	    STAGE(cmd_data, session_stage_data) },
	{ SMTP_BDAT, S_BIT(SESSION_RCPT) | S_BIT(SESSION_BDAT),
	    SESSION_CMD_CHUNK, STAGE(cmd_bdat, session_stage_bdat) },
	{ SMTP_RSET,	 SESSION_ANY,		0, RUN(cmd_rset) },
	{ SMTP_NOOP,	 SESSION_ANY,		0, RUN(cmd_relay) },
	{ SMTP_VRFY,	 SESSION_ANY,		0, RUN(cmd_vrfy) },
	{ SMTP_EXPN,	 SESSION_ANY,		0, RUN(cmd_vrfy) },
	{ SMTP_HELP,	 SESSION_ANY,		0, RUN(cmd_help) },
	{ SMTP_QUIT,	 SESSION_ANY,		0, RUN(cmd_quit) },
	{ SMTP_STARTTLS, S_BIT(SESSION_READY),	0, RUN(cmd_starttls) },
	{ SMTP_AUTH,	 S_BIT(SESSION_READY),	0, RUN(cmd_auth) },
	{ SMTP_ETRN,	 SESSION_ANY,		0, RUN(cmd_notimpl) },
	{ SMTP_XCLIENT,	 SESSION_ANY,		0, RUN(cmd_notimpl) },
	{ SMTP_XFORWARD, SESSION_ANY,		0, RUN(cmd_notimpl) },
};

static const char *const session_state_names[] = {
	"proxy", "tls", "rdns", "connecting", "greeted", "ready", "auth",
	"mail", "rcpt", "data", "bdat", "eom", "closing"
};

void
session_new(int fd, const struct sockaddr *sa, socklen_t len, int tls,
    struct server_gen *gen, struct session_server *srv)
{
	struct session		*s;
	socklen_t		 locallen;

	s = xcalloc(1, sizeof(*s));
	snprintf(s->sid, sizeof(s->sid), "%016llx",
	    (unsigned long long)arc4random() << 32 | arc4random());
	s->srv = srv;
	s->gen = gen;
	s->timeout = ~0u;		/* none set yet */
	s->conf = s->gen->conf;
	memcpy(&s->peer, sa, len);
	if (!s->conf->proxy_protocol) {
		memcpy(&s->counted, sa, len);
		s->is_counted = 1;
	}
	session_set_addr(s, sa, len);
	rdns_set(&s->names, RDNS_UNAVAILABLE);
	locallen = sizeof(s->local);
	if (getsockname(fd, (struct sockaddr *)&s->local, &locallen) == -1)
		memset(&s->local, 0, sizeof(s->local));
	memcpy(&s->dest, &s->local, sizeof(s->dest));
	s->bev = bufferevent_socket_new(s->srv->base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL)
		fatalx("bufferevent_socket_new");
	s->tls_implicit = tls && s->gen->tls != NULL;
	session_setcb(s);
	io_tune(s->bev);
	TAILQ_INSERT_TAIL(&srv->sessions, s, entry);
	srv->nsessions++;
	__atomic_add_fetch(&session_total, 1, __ATOMIC_RELAXED);
	if (s->conf->proxy_protocol) {
		s->state = SESSION_PROXY;
		session_proxy_begin(s);
		return;
	}
	session_begin(s);
}

/* (Re)install our callbacks on s->bev: at start, and on the TLS filter. */
void
session_setcb(struct session *s)
{
	bufferevent_setcb(s->bev, session_read_cb, session_write_cb,
	    session_event_cb, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0, SESSION_READ_HIGH);
	bufferevent_disable(s->bev, EV_WRITE);	/* io_flush writes */
}

/* The client's address is known: the TLS handshake first on an
 * implicit-TLS listener, else the connect stage. */
static void
session_begin(struct session *s)
{
	if (s->tls_implicit) {
		session_tls_start(s);
		return;
	}
	session_connect(s);
}

/* The client's address: s->ss, s->addr, s->port from sa (copied). */
static void
session_set_addr(struct session *s, const struct sockaddr *sa,
    socklen_t len)
{
	struct sockaddr_in6	*sin6;
	struct sockaddr_in	 sin;

	memcpy(&s->ss, sa, len);
	sin6 = (struct sockaddr_in6 *)&s->ss;
	if (sa->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		/* ::ffff:a.b.c.d is a.b.c.d, for filters and XCLIENT alike */
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = sin6->sin6_port;
		memcpy(&sin.sin_addr, &sin6->sin6_addr.s6_addr[12], 4);
		memcpy(&s->ss, &sin, sizeof(sin));
		len = sizeof(sin);
	}
	if (getnameinfo((struct sockaddr *)&s->ss, len, s->addr,
	    sizeof(s->addr), s->port, sizeof(s->port),
	    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		strlcpy(s->addr, "unknown", sizeof(s->addr));
}

/* The client is known (s->ss): its host names (proxy.reverse_dns), then
 * the connect stage. */
void
session_connect(struct session *s)
{
	if (s->gen->dns != NULL)
		session_rdns_begin(s);
	else
		session_named(s);
}

/* The client's names are known (s->names): the connect stage, then the
 * backend.  The filters' host is the verified name, or "[address]". */
void
session_named(struct session *s)
{
	session_enter(s, SESSION_CONNECTING);
	s->cs = chain_sess_new(s->gen->chain, s->conf, s->sid,
	    s->srv->workers, session_filter_resumed, s);
	chain_set_client(s->cs, s->names.name, s->names.reverse);
	snprintf(s->bracketed, sizeof(s->bracketed), "[%s]", s->addr);
	log_debug("%s connect from %s%s port %s", s->sid,
	    rdns_verified(&s->names) ? s->names.name : "unknown",
	    s->bracketed, s->port);
	session_stage_run(s, &session_stage_connect);
}

static enum fv
session_connect_run(struct session *s)
{
	return chain_connect(s->cs, rdns_verified(&s->names) ?
	    s->names.name : s->bracketed, (struct sockaddr *)&s->ss);
}

/* SESSION_PROXY: only an allowed peer, and only for so long. */
static void
session_proxy_begin(struct session *s)
{
	const struct iptable	*from = s->gen->proxy_from;
	uint32_t		 tag;
	uint64_t		 now = util_now_ms();

	if (from != NULL && !iptable_lookup(from,
	    (struct sockaddr *)&s->peer, &tag)) {
		log_limited(&session_log_pp_from, LOG_LEVEL_INFO, "%s "
		    "connection from %s refused: not in "
		    "proxy.proxy_protocol_from", s->sid, s->addr);
		session_close(s, NULL);
		return;
	}
	s->pp_deadline = now + (uint64_t)s->conf->proxy_protocol_timeout *
	    1000;
	session_proxy_timer(s, now);
	bufferevent_enable(s->bev, EV_READ);
}

/* Input in SESSION_PROXY: the header, once it is all there. */
static void
session_proxy_input(struct session *s)
{
	struct evbuffer		*in = bufferevent_get_input(s->bev);
	struct proxyproto_hdr	 h;
	enum proxyproto_status	 st;
	size_t			 n = evbuffer_get_length(in);
	uint64_t		 now = util_now_ms();

	if (now >= s->pp_deadline) {
		session_proxy_fail(s, "timeout");
		return;
	}
	if (n == 0 || n < s->pp_need) {
		session_proxy_timer(s, now);
		return;
	}
	if (n > PROXYPROTO_MAX)
		n = PROXYPROTO_MAX;
	st = proxyproto_parse(evbuffer_pullup(in, (ev_ssize_t)n), n, &h);
	if (st == PROXYPROTO_INVALID)
		session_proxy_fail(s, h.reason);
	else if (st == PROXYPROTO_MORE) {
		s->pp_need = h.need;
		session_proxy_timer(s, now);
	} else {
		evbuffer_drain(in, h.len);
		session_proxy_done(s, &h);
	}
}

/* The read timeout is what is left until the deadline: a peer that
 * trickles bytes cannot stretch it. */
static void
session_proxy_timer(struct session *s, uint64_t now)
{
	uint64_t	 left = s->pp_deadline - now;
	struct timeval	 rd;

	rd.tv_sec = (time_t)(left / 1000);
	rd.tv_usec = (suseconds_t)(left % 1000) * 1000;
	bufferevent_set_timeouts(s->bev, &rd, NULL);
}

/* The header is read: its source is the client (unless it gave none), and
 * the session goes on as a direct connection would; what followed the
 * header waits in the input buffer for the greeting. */
static void
session_proxy_done(struct session *s, const struct proxyproto_hdr *h)
{
	char	 via[INET6_ADDRSTRLEN];

	bufferevent_disable(s->bev, EV_READ);
	bufferevent_set_timeouts(s->bev, NULL, NULL);
	s->timeout = ~0u;
	strlcpy(via, s->addr, sizeof(via));
	if (!h->local) {
		session_set_addr(s, (const struct sockaddr *)&h->src,
		    h->srclen);
		memcpy(&s->dest, &h->dst, sizeof(s->dest));
	}
	log_debug("%s PROXY v%d from %s: client %s port %s%s", s->sid,
	    h->version, via, s->addr, s->port, h->local ?
	    " (no address given: the connection's)" : "");
	if (listener_admit_client((struct sockaddr *)&s->ss,
	    s->conf->max_connections_per_ip) == -1) {
		/* the client's now, past the header (but not inside TLS) */
		if (!s->tls_implicit)
			session_reply(s, "421 4.7.0 %s", LISTENER_PER_IP_TEXT);
		session_close(s, NULL);
		return;
	}
	memcpy(&s->counted, &s->ss, sizeof(s->counted));
	s->is_counted = 1;
	session_begin(s);
}

static void
session_proxy_fail(struct session *s, const char *why)
{
	log_limited(&session_log_pp, LOG_LEVEL_INFO, "%s PROXY header from %s "
	    "refused: %s", s->sid, s->addr, why);
	session_close(s, NULL);
}

unsigned
session_count(void)
{
	return __atomic_load_n(&session_total, __ATOMIC_RELAXED);
}

void
session_drain_all(struct session_server *srv)
{
	struct session	*s, *next;

	for (s = TAILQ_FIRST(&srv->sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		/* (no header yet: closed without a reply, see session_close) */
		if (s->state == SESSION_PROXY || (s->tx == NULL &&
		    !session_busy(s) && s->state != SESSION_CLOSING))
			session_close(s, "421 4.3.2 Service shutting down");
	}
}

void
session_free_all(struct session_server *srv)
{
	struct session	*s;

	while ((s = TAILQ_FIRST(&srv->sessions)) != NULL)
		session_free(s);
}

void
session_enter(struct session *s, enum session_state st)
{
	log_trace(TRACE_SMTP, "%s state %s -> %s", s->sid,
	    session_state_names[s->state], session_state_names[st]);
	s->state = st;
}

static void
session_connect_proceed(struct session *s, enum decide_action a)
{
	(void)a;
	session_backend_connect(s);
}

/* A (new) connection to a backend: the walk over proxy.backend begins,
 * within proxy.connect_timeout; the greeting comes to session_greeted. */
void
session_backend_connect(struct session *s)
{
	backend_list_start(s->gen->backends, &s->be_try, util_now_ms());
	session_backend_next(s);
}

/* The next backend of the walk, or 421 when none is left. */
static void
session_backend_next(struct session *s)
{
	const struct sockaddr	*sa;
	socklen_t		 salen;
	uint64_t		 ms;
	char			 hdr[PROXYPROTO_OUT_MAX];

	backend_free(s->be);
	s->be = NULL;
	if (backend_list_next(s->gen->backends, &s->be_try, util_now_ms(),
	    &sa, &salen, &ms) == -1) {
		log_limited(&session_log_nobackend, LOG_LEVEL_WARN, "%s no "
		    "backend available", s->sid);
		session_close(s, "421 4.3.2 Service not available, "
		    "try again later");
		return;
	}
	s->be = backend_new(s->srv->base, s->conf, s->sid,
	    session_backend_cb, s);
	s->on_backend = session_greeted;
	backend_connect(s->be, sa, salen, hdr, session_identity_header(s, hdr,
	    sizeof(hdr)), ms);
}

/* A backend that does not greet with 2xx is marked failed and the next
 * one is tried. */
static void
session_greeted(struct session *s, const struct backend_reply *r)
{
	const char	*name = session_backend_name(s);

	if (r->status != BACKEND_REPLY || r->code / 100 != 2) {
		if (r->status == BACKEND_REPLY)
			log_limited(&session_log_greeting, LOG_LEVEL_WARN,
			    "%s backend %s greeting refused: %.*s", s->sid,
			    name, (int)strcspn(r->text, "\r"), r->text);
		else
			log_limited(&session_log_greeting, LOG_LEVEL_WARN,
			    "%s backend %s unavailable: %s", s->sid, name,
			    r->status == BACKEND_TIMEOUT ? "timeout" :
			    "connection failed");
		backend_list_failed(s->gen->backends, &s->be_try,
		    util_now_ms());
		session_backend_next(s);
		return;
	}
	log_debug("%s backend=%s", s->sid, name);
	session_backend_tls_begin(s);
}

/* The backend this session is relayed to (or was last tried), as
 * configured. */
const char *
session_backend_name(const struct session *s)
{
	return backend_list_name(s->gen->backends, &s->be_try);
}

/* The backend is ready: our greeting, and the client may speak. */
void
session_greet(struct session *s)
{
	session_enter(s, SESSION_GREETED);
	session_reply(s, "220 %s ESMTP postern", s->conf->hostname);
	bufferevent_enable(s->bev, EV_READ);
}

/* Input: commands, or message content; until busy or out of input. */
void
session_input(struct session *s)
{
	struct evbuffer	*out = bufferevent_get_output(s->bev);

	while (!session_busy(s) && s->state != SESSION_CLOSING) {
		if (evbuffer_get_length(out) > SESSION_OUT_HIGH)
			break;	/* the write callback calls again */
		if (s->state == SESSION_DATA || s->bdat_left > 0) {
			if (!session_data_input(s))
				break;
		} else if (!session_line(s))
			break;
	}
	if (s->state != SESSION_CLOSING && session_data_slow(s) == 0) {
		session_timeouts(s);
		io_flush(s->bev);
	}
}

static int
session_busy(const struct session *s)
{
	return s->on_filter != NULL || s->on_backend != NULL ||
	    s->state == SESSION_PROXY || s->state == SESSION_TLS ||
	    s->state == SESSION_RDNS || s->state == SESSION_CONNECTING ||
	    s->state == SESSION_EOM;
}

/*
 * The client's read timeout fits what we wait for; none while busy.  While
 * a command line is partly in, it is what is left of the line's deadline,
 * if that is sooner (then re-armed at every read, as it shrinks).
 */
static void
session_timeouts(struct session *s)
{
	struct timeval	 rd = { 0, 0 }, wr = { s->conf->command_timeout, 0 };
	uint64_t	 due, now;

	if (s->state == SESSION_TLS)
		return;		/* the handshake's own timeout */
	if (session_busy(s))
		rd.tv_sec = 0;
	else if (s->state == SESSION_DATA || s->bdat_left > 0)
		rd.tv_sec = s->conf->data_timeout;
	else if (s->tx != NULL)
		rd.tv_sec = s->conf->command_timeout;
	else
		rd.tv_sec = s->conf->idle_timeout;
	if (rd.tv_sec != 0 && s->line_start != 0 && s->state != SESSION_DATA &&
	    s->bdat_left == 0) {
		due = s->line_start + (uint64_t)s->conf->command_timeout * 1000;
		now = util_now_ms();
		if (due < now + (uint64_t)rd.tv_sec * 1000) {
			due = due > now ? due - now : 1;
			rd.tv_sec = (time_t)(due / 1000);
			rd.tv_usec = (suseconds_t)(due % 1000) * 1000;
			s->timeout = ~0u;	/* re-armed every time */
			bufferevent_set_timeouts(s->bev, &rd, &wr);
			return;
		}
	}
	if (s->timeout == (unsigned)rd.tv_sec)
		return;		/* unchanged: no timer to re-arm */
	s->timeout = (unsigned)rd.tv_sec;
	bufferevent_set_timeouts(s->bev, rd.tv_sec ? &rd : NULL, &wr);
}

/* One command line, if a whole one is buffered: 1 if one was taken. */
static int
session_line(struct session *s)
{
	static _Thread_local char line[65536 + 1];	/* the loop's */
	struct evbuffer		*in = bufferevent_get_input(s->bev);
	struct evbuffer_ptr	 p;
	size_t			 len, max = s->conf->max_line_length;

	if (max > sizeof(line) - 1)
		max = sizeof(line) - 1;
	p = evbuffer_search(in, "\n", 1, NULL);
	if (p.pos == -1) {
		if ((len = evbuffer_get_length(in)) >= max) {
			evbuffer_drain(in, len);
			s->skipping = 1;
		}
		/* a line has begun (an overlong one being skipped, too) */
		if (len == 0 && !s->skipping)
			s->line_start = 0;
		else if (s->line_start == 0)
			s->line_start = util_now_ms();
		return 0;
	}
	s->line_start = 0;
	len = (size_t)p.pos + 1;
	if (s->skipping || len > max) {
		evbuffer_drain(in, len);
		s->skipping = 0;
		session_error(s, "500 5.5.2 Error: line too long");
		return 1;
	}
	evbuffer_remove(in, line, len);
	line[len - 1] = '\0';
	if (s->state == SESSION_AUTH)
		session_auth_input(s, line, len - 1);
	else
		session_dispatch(s, line, len - 1);
	explicit_bzero(line, len);
	return 1;
}

static void
session_dispatch(struct session *s, char *line, size_t len)
{
	struct smtp_cmd	 cmd;
	enum smtp_perr	 e;
	size_t		 i;

	/* (an AUTH line may carry credentials: its verb and mechanism only) */
	log_trace_bytes(TRACE_SMTP, s->sid, "<<", line, strncasecmp(line,
	    "AUTH ", 5) == 0 ? 5 + strcspn(line + 5, " ") : len);
	e = smtp_cmd_parse(line, len, &cmd);
	if (e != SMTP_P_OK) {
		session_error(s, "500 5.5.2 Error: %s", smtp_parse_strerror(e));
		return;
	}
	if (s->srv->draining() && s->tx == NULL) {
		session_close(s, "421 4.3.2 Service shutting down");
		return;
	}
	for (i = 0; i < nitems(session_cmds); i++)
		if (session_cmds[i].verb == cmd.verb)
			break;
	if (i == nitems(session_cmds)) {
		session_error(s, "500 5.5.2 Error: command not recognized");
		return;
	}
	session_command(s, &session_cmds[i], &cmd);
}

/* One command through its table entry: sequence, check, stage. */
static void
session_command(struct session *s, const struct session_cmd *c,
    struct smtp_cmd *cmd)
{
	int	 in_sequence = (c->states & S_BIT(s->state)) != 0;

	if (c->flags & SESSION_CMD_CHUNK)
		s->bdat_fail = in_sequence ? NULL :
		    session_seq_error(s, cmd->verb);
	else if (!in_sequence) {
		session_error(s, "%s", session_seq_error(s, cmd->verb));
		return;
	}
	if (c->run != NULL)
		c->run(s, cmd);
	else if (c->check(s, cmd) == 0)
		session_stage_run(s, c->stage);
}

static const char *
session_seq_error(const struct session *s, enum smtp_verb verb)
{
	if (s->state == SESSION_GREETED)
		return "503 5.5.1 Error: send HELO/EHLO first";
	if (s->state == SESSION_BDAT)
		return "503 5.5.1 Error: BDAT transaction in progress";
	if (verb == SMTP_MAIL)
		return "503 5.5.1 Error: nested MAIL command";
	if ((verb == SMTP_DATA || verb == SMTP_BDAT) &&
	    s->state == SESSION_MAIL)
		return "503 5.5.1 Error: need RCPT command";
	return "503 5.5.1 Error: need MAIL command";
}

void
session_reply(struct session *s, const char *fmt, ...)
{
	struct evbuffer	*out = bufferevent_get_output(s->bev);
	char		 buf[1024];
	va_list		 ap;
	int		 n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	log_trace_bytes(TRACE_SMTP, s->sid, ">>", buf, (size_t)n);
	evbuffer_add(out, buf, (size_t)n);
	evbuffer_add(out, "\r\n", 2);
}

void
session_reply_raw(struct session *s, const char *text, size_t len)
{
	log_trace_bytes(TRACE_SMTP, s->sid, ">>", text, len >= 2 ? len - 2 :
	    len);
	evbuffer_add(bufferevent_get_output(s->bev), text, len);
}

/* A reply to a bad command; too many of them close the session. */
void
session_error(struct session *s, const char *fmt, ...)
{
	char	 buf[1024];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	session_reply(s, "%s", buf);
	if (++s->errors >= s->conf->max_errors) {
		log_limited(&session_log_errors, LOG_LEVEL_INFO, "%s too many "
		    "errors from %s", s->sid, s->addr);
		session_close(s, "421 4.7.0 Error: too many errors");
	}
}

/* The stage's chain call, and its verdict routed. */
void
session_stage_run(struct session *s, const struct session_stage *st)
{
	session_filter(s, st->run(s), st);
}

/* A verdict of stage st: PENDING parks the session until the chain
 * resumes it; any other goes through the router. */
void
session_filter(struct session *s, enum fv v, const struct session_stage *st)
{
	if (v == FV_PENDING) {
		s->on_filter = st;
		return;
	}
	session_stage_done(s, st, v);
}

static void
session_filter_resumed(void *arg, enum fv v)
{
	struct session			*s = arg;
	const struct session_stage	*st = s->on_filter;

	s->on_filter = NULL;
	session_stage_done(s, st, v);
	session_input(s);
}

/*
 * The router: the verdict through decide(), then what the stage's refusal
 * kind says, or (a discard marks the transaction) the stage's proceed
 * step.
 */
static void
session_stage_done(struct session *s, const struct session_stage *st,
    enum fv v)
{
	char			 reply[600], filters[1024];
	enum decide_action	 a;

	a = decide(st->decide, v, chain_reply(s->cs), reply, sizeof(reply));
	if (a == DECIDE_DISCARD && s->tx != NULL)
		s->tx->discard = 1;
	if (a == DECIDE_REJECT || a == DECIDE_TEMPFAIL) {
		switch (st->refuse) {
		case SESSION_REFUSE_CLOSE:
			txcount_connect_refused(chain_reply(s->cs)->filter);
			chain_results(s->cs, filters, sizeof(filters));
			log_limited(&session_log_connect, LOG_LEVEL_INFO,
			    "%s connect from %s refused: %s filters=\"%s\"",
			    s->sid, s->addr, reply, filters);
			session_close(s, reply);
			return;
		case SESSION_REFUSE_REPLY:
			session_reply(s, "%s", reply);
			session_close_on_421(s, reply);
			return;
		case SESSION_REFUSE_TX:
			session_reply(s, "%s", reply);
			session_tx_end(s, a == DECIDE_REJECT ? "rejected" :
			    "tempfailed", reply);
			session_close_on_421(s, reply);
			return;
		case SESSION_REFUSE_LATER:
			if (s->tx->fail[0] == '\0')
				strlcpy(s->tx->fail, reply,
				    sizeof(s->tx->fail));
			break;
		case SESSION_REFUSE_EOM:
			s->tx->eom_done = 1;	/* the stage ran */
			session_eom_refuse(s, a == DECIDE_REJECT ?
			    "rejected" : "tempfailed", reply);
			return;
		}
	}
	st->proceed(s, a);
}

/* A filter's 421 (a rate limit's :close) ends the session, as the code
 * says (RFC 5321 4.2.2). */
static void
session_close_on_421(struct session *s, const char *reply)
{
	if (strncmp(reply, "421", 3) == 0)
		session_close(s, NULL);
}

void
session_backend(struct session *s, const char *line, session_backend_fn next)
{
	s->on_backend = next;
	s->be_last = util_now_ms();
	backend_command(s->be, line);
}

static void
session_backend_cb(void *arg, const struct backend_reply *r)
{
	struct session		*s = arg;
	session_backend_fn	 next = s->on_backend;
	struct backend_reply	 fixed;

	if (s->state == SESSION_CLOSING)
		return;
	if (next == NULL) {
		/* The backend went away while we wait on the client.  Mid
		 * message, the end of data will tell; otherwise say so now. */
		if (s->state != SESSION_DATA && s->state != SESSION_BDAT)
			session_backend_lost(s, r, "idle");
		return;
	}
	s->on_backend = NULL;
	next(s, session_backend_tls_reply(s, r, &fixed));
	session_input(s);
}

/* The backend failed (r is not a reply) while doing what; close with 421. */
void
session_backend_lost(struct session *s, const struct backend_reply *r,
    const char *what)
{
	const char	*why = r->status == BACKEND_TIMEOUT ? "timeout" :
	    r->status == BACKEND_PROTOCOL ? "protocol error" :
	    "connection lost";

	log_limited(&session_log_lost, LOG_LEVEL_WARN, "%s backend %s (%s)%s%s",
	    s->sid, why, what, r->status == BACKEND_PROTOCOL ? ": " : "",
	    r->status == BACKEND_PROTOCOL ? r->text : "");
	session_close(s, r->status == BACKEND_TIMEOUT ?
	    "421 4.4.1 Error: backend timeout, try again later" :
	    "421 4.4.2 Error: backend connection lost, try again later");
}

static void
session_relay_reply(struct session *s, const struct backend_reply *r)
{
	if (r->status != BACKEND_REPLY) {
		session_backend_lost(s, r, "relaying a command");
		return;
	}
	session_reply_raw(s, r->text, r->len);
}

void
session_close(struct session *s, const char *reply)
{

	if (s->state == SESSION_CLOSING)
		return;
	/* before the PROXY header the peer is a balancer, during the TLS
	 * handshake there is no channel: no SMTP for them */
	if (reply != NULL && s->state != SESSION_PROXY &&
	    s->state != SESSION_TLS)
		session_reply(s, "%s", reply);
	session_enter(s, SESSION_CLOSING);
	bufferevent_disable(s->bev, EV_READ);
	if (io_flush(s->bev) == 0)	/* else the write callback frees */
		session_flushed_close(s);
}

/* CLOSING, and the last reply handed on: free now, or with TLS once its
 * last bytes have left the socket. */
static void
session_flushed_close(struct session *s)
{
	if (s->tls_on && s->tls_info[0] != '\0')
		session_tls_close(s);
	else
		session_free_soon(s);
}

/* Free s from the loop, outside any of its callbacks (once, whatever
 * events still come). */
void
session_free_soon(struct session *s)
{
	struct timeval	 now = { 0, 0 };

	if (s->freeing)
		return;
	s->freeing = 1;
	event_base_once(s->srv->base, -1, EV_TIMEOUT, session_free_later, s,
	    &now);
}

static void
session_free_later(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	session_free(arg);
}

static void
session_free(struct session *s)
{
	if (s->tx != NULL)
		session_tx_end(s, "aborted", "client disconnected");
	session_rdns_free(s);
	chain_sess_free(s->cs);
	backend_free(s->be);
	bufferevent_free(s->bev);
	TAILQ_REMOVE(&s->srv->sessions, s, entry);
	s->srv->nsessions--;
	__atomic_sub_fetch(&session_total, 1, __ATOMIC_RELAXED);
	log_debug("%s disconnect from %s", s->sid, s->addr);
	s->srv->gone(s->srv, s->is_counted ? (struct sockaddr *)&s->counted :
	    NULL, s->gen);
	free(s);
}

static void
session_read_cb(struct bufferevent *bev, void *arg)
{
	struct session	*s = arg;

	(void)bev;
	if (s->state == SESSION_PROXY)
		session_proxy_input(s);
	else
		session_input(s);
}

static void
session_write_cb(struct bufferevent *bev, void *arg)
{
	struct session	*s = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) > 0)
		return;
	bufferevent_disable(bev, EV_WRITE);
	if (s->state == SESSION_CLOSING)
		session_flushed_close(s);
	else if (s->state == SESSION_TLS && !s->tls_on)
		session_tls_start(s);	/* STARTTLS's 220 is out */
	else if (s->state != SESSION_TLS)
		session_input(s);
}

static void
session_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session	*s = arg;

	(void)bev;
	if (s->state == SESSION_CLOSING) {
		bufferevent_disable(s->bev, EV_READ | EV_WRITE);
		session_free_soon(s);
		return;
	}
	if ((what & BEV_EVENT_TIMEOUT) && s->state == SESSION_PROXY) {
		session_proxy_fail(s, "timeout");
		return;
	}
	if (what & BEV_EVENT_CONNECTED) {
		session_tls_ready(s);
		return;
	}
	if (s->state == SESSION_TLS) {
		session_tls_failed(s, what);
		return;
	}
	if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING)) {
		/* (the line's deadline, or a shorter idle timeout) */
		if (s->line_start != 0 && util_now_ms() + 1000 >
		    s->line_start + (uint64_t)s->conf->command_timeout * 1000)
			log_limited(&session_log_timeout, LOG_LEVEL_INFO,
			    "%s command line from %s not complete within %us",
			    s->sid, s->addr, s->conf->command_timeout);
		else
			log_limited(&session_log_timeout, LOG_LEVEL_INFO,
			    "%s timeout from %s in state %s", s->sid, s->addr,
			    session_state_names[s->state]);
		session_close(s, "421 4.4.2 Error: timeout exceeded");
		return;
	}
	log_debug("%s %s from %s in state %s", s->sid, (what & BEV_EVENT_EOF) ?
	    "disconnect" : "connection error", s->addr,
	    session_state_names[s->state]);
	bufferevent_disable(s->bev, EV_READ | EV_WRITE);
	session_enter(s, SESSION_CLOSING);
	session_free_soon(s);
}

/* Whether the HELO name has no control byte (it is relayed to the
 * backend and read by filters and logs; 8-bit bytes stay, for SMTPUTF8). */
static int
session_helo_printable(const char *name, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return 0;
	return 1;
}

/* HELO and EHLO: filters, then EHLO to the backend (XCLIENT once). */
static int
cmd_helo(struct session *s, struct smtp_cmd *cmd)
{
	size_t	 n = strcspn(cmd->arg, " \t");

	if (n == 0) {
		session_error(s, "501 5.5.4 Syntax: %s hostname",
		    cmd->verb == SMTP_EHLO ? "EHLO" : "HELO");
		return -1;
	}
	if (n >= sizeof(s->helo)) {
		session_error(s, "501 5.5.4 Error: hostname too long");
		return -1;
	}
	if (!session_helo_printable(cmd->arg, n)) {
		session_error(s, "501 5.5.4 Error: control character in "
		    "hostname");
		return -1;
	}
	if (s->tx != NULL)
		session_tx_end(s, "aborted", "new HELO/EHLO");
	memcpy(s->helo, cmd->arg, n);
	s->helo[n] = '\0';
	s->esmtp = cmd->verb == SMTP_EHLO;
	return 0;
}

static enum fv
session_helo_run(struct session *s)
{
	return chain_helo(s->cs, s->helo);
}

static void
session_helo_proceed(struct session *s, enum decide_action a)
{
	(void)a;
	if (!session_identity_early(s))
		session_ehlo_backend(s);
}

/* EHLO with the client's name to the backend (again after XCLIENT). */
void
session_ehlo_backend(struct session *s)
{
	char	 line[512];

	snprintf(line, sizeof(line), "EHLO %s", s->helo);
	session_backend(s, line, session_ehlo_relayed);
}

static void
session_ehlo_relayed(struct session *s, const struct backend_reply *r)
{
	if (r->status != BACKEND_REPLY) {
		session_backend_lost(s, r, "after EHLO");
		return;
	}
	if (r->code / 100 != 2) {
		session_reply_raw(s, r->text, r->len);
		return;
	}
	smtp_ehlo_reply(&s->ehlo, r->text);
	if (session_identity_ehlo(s))
		return;
	session_enter(s, SESSION_READY);
	session_ehlo_reply(s);
}

/* Our EHLO reply: what postern does, limited by what the backend does. */
static void
session_ehlo_reply(struct session *s)
{
	const char	*line[12], *mechs;
	char		 size[40], auth[300];
	uint64_t	 max = s->conf->max_message_size;
	size_t		 n = 0, i;

	if (!s->esmtp) {
		session_reply(s, "250 %s", s->conf->hostname);
		return;
	}
	line[n++] = s->conf->hostname;
	line[n++] = "PIPELINING";
	if (s->gen->tls != NULL && s->conf->tls_starttls && !s->tls_on)
		line[n++] = "STARTTLS";
	if ((mechs = session_auth_offer(s)) != NULL) {
		snprintf(auth, sizeof(auth), "AUTH %s", mechs);
		line[n++] = auth;
	}
	if (s->ehlo.size != 0 && (max == 0 || s->ehlo.size < max))
		max = s->ehlo.size;
	if (max != 0)
		snprintf(size, sizeof(size), "SIZE %llu",
		    (unsigned long long)max);
	else
		strlcpy(size, "SIZE", sizeof(size));
	line[n++] = size;
	if (s->ehlo.ext & SMTP_EXT_8BITMIME)
		line[n++] = "8BITMIME";
	if (s->ehlo.ext & SMTP_EXT_SMTPUTF8)
		line[n++] = "SMTPUTF8";
	if (s->ehlo.ext & SMTP_EXT_ENHANCED)
		line[n++] = "ENHANCEDSTATUSCODES";
	if (s->ehlo.ext & SMTP_EXT_DSN)
		line[n++] = "DSN";
	if (s->ehlo.ext & SMTP_EXT_CHUNKING)
		line[n++] = "CHUNKING";
	for (i = 0; i < n; i++)
		session_reply(s, "250%c%s", i + 1 == n ? ' ' : '-', line[i]);
}

/*
 * ESMTP parameters of MAIL (mail = 1) or RCPT: only those of extensions we
 * offered, each checked; replies and returns -1 on the first bad one.
 */
static int
session_check_params(struct session *s, struct smtp_path *p, int mail)
{
	const struct smtp_param	*pa;
	unsigned		 ext = s->ehlo.ext;
	uint64_t		 max = s->conf->max_message_size, n;
	size_t			 i;
	char			*end;

	for (i = 0; i < p->nparams; i++) {
		pa = &p->params[i];
		if (mail && strcasecmp(pa->key, "SIZE") == 0) {
			n = strtoull(pa->value ? pa->value : "", &end, 10);
			if (pa->value == NULL || *end != '\0' || end ==
			    pa->value)
				goto bad;
			if (max != 0 && n > max) {
				session_reply(s, "552 5.3.4 Error: message "
				    "size exceeds fixed limit");
				return -1;
			}
		} else if (mail && strcasecmp(pa->key, "BODY") == 0) {
			if (pa->value == NULL || (strcasecmp(pa->value,
			    "7BIT") != 0 && (!(ext & SMTP_EXT_8BITMIME) ||
			    strcasecmp(pa->value, "8BITMIME") != 0)))
				goto bad;
		} else if (mail && strcasecmp(pa->key, "SMTPUTF8") == 0 &&
		    (ext & SMTP_EXT_SMTPUTF8)) {
			if (pa->value != NULL)
				goto bad;
		} else if ((ext & SMTP_EXT_DSN) && pa->value != NULL &&
		    (mail ? (strcasecmp(pa->key, "RET") == 0 ||
		    strcasecmp(pa->key, "ENVID") == 0) :
		    (strcasecmp(pa->key, "NOTIFY") == 0 ||
		    strcasecmp(pa->key, "ORCPT") == 0))) {
			continue;
		} else {
			session_error(s, "555 5.5.4 Error: unsupported "
			    "parameter %.64s", pa->key);
			return -1;
		}
	}
	return 0;
bad:
	session_error(s, "501 5.5.4 Error: bad value for parameter %.64s",
	    pa->key);
	return -1;
}

/* The relayed form of the parameters, and the filters' argv, in tx. */
static void
session_argv(struct tx *tx, const struct smtp_path *p)
{
	size_t	 i, off = 0;
	int	 n;

	for (i = 0; i < p->nparams && i < SMTP_PARAMS_MAX; i++) {
		n = snprintf(tx->argbuf + off, sizeof(tx->argbuf) - off,
		    "%s%s%s", p->params[i].key, p->params[i].value ? "=" : "",
		    p->params[i].value ? p->params[i].value : "");
		if (n < 0 || (size_t)n >= sizeof(tx->argbuf) - off)
			break;
		tx->argv[i] = tx->argbuf + off;
		off += (size_t)n + 1;
	}
	tx->argv[i] = NULL;
}

/* "CMD:<addr>" plus parameters, from tx->argv, into buf. */
static void
session_envelope_line(const struct tx *tx, const char *cmd,
    const char *addr, char *buf, size_t bufsz)
{
	size_t	 i;

	snprintf(buf, bufsz, "%s:<%s>", cmd, addr);
	for (i = 0; tx->argv[i] != NULL; i++) {
		strlcat(buf, " ", bufsz);
		strlcat(buf, tx->argv[i], bufsz);
	}
}

static int
session_path_8bit(const char *a)
{
	for (; *a != '\0'; a++)
		if ((unsigned char)*a >= 0x80)
			return 1;
	return 0;
}

static int
cmd_mail(struct session *s, struct smtp_cmd *cmd)
{
	struct smtp_path	 p;
	enum smtp_perr		 e;
	struct tx		*tx;

	e = smtp_path_parse(cmd->arg, "FROM", 1,
	    (s->ehlo.ext & SMTP_EXT_SMTPUTF8) != 0, &p);
	if (e != SMTP_P_OK) {
		session_error(s, e >= SMTP_P_PARAM ? "501 5.5.4 Error: %s" :
		    "501 5.1.7 Error: bad sender address syntax (%s)",
		    smtp_parse_strerror(e));
		return -1;
	}
	if (session_check_params(s, &p, 1) == -1)
		return -1;
	if (session_path_8bit(p.addr) && smtp_path_param(&p, "SMTPUTF8") ==
	    NULL) {
		session_error(s, "553 5.6.7 Error: SMTPUTF8 is required for "
		    "this address");
		return -1;
	}
	tx = s->tx = xcalloc(1, sizeof(*tx));
	tx->started = util_now_ms();
	tx->utf8 = smtp_path_param(&p, "SMTPUTF8") != NULL;
	strlcpy(tx->from, p.addr, sizeof(tx->from));
	session_argv(tx, &p);
	session_envelope_line(tx, "MAIL FROM", tx->from, tx->mailcmd,
	    sizeof(tx->mailcmd));
	return 0;
}

static enum fv
session_mail_run(struct session *s)
{
	return chain_envfrom(s->cs, s->tx->from, s->tx->argv);
}

static void
session_mail_proceed(struct session *s, enum decide_action a)
{
	(void)a;
	if (!session_identity_mail(s))
		session_mail_relay(s);
}

/* MAIL to the backend (after XFORWARD, if any). */
void
session_mail_relay(struct session *s)
{
	session_backend(s, s->tx->mailcmd, session_mail_relayed);
}

/* MAIL's reply to the client; a 2xx opens the transaction. */
void
session_mail_relayed(struct session *s, const struct backend_reply *r)
{
	if (r->status != BACKEND_REPLY) {
		session_backend_lost(s, r, "relaying MAIL");
		return;
	}
	session_reply_raw(s, r->text, r->len);
	if (r->code / 100 != 2) {
		session_tx_end(s, r->code / 100 == 4 ? "deferred by backend" :
		    "rejected by backend", r->text);
		return;
	}
	s->tx->relayed = 1;
	session_enter(s, SESSION_MAIL);
}

static int
cmd_rcpt(struct session *s, struct smtp_cmd *cmd)
{
	struct smtp_path	 p;
	enum smtp_perr		 e;
	struct tx		*tx = s->tx;

	if (tx->nrcpts >= s->conf->max_recipients) {
		session_reply(s, "452 4.5.3 Error: too many recipients");
		return -1;
	}
	e = smtp_path_parse(cmd->arg, "TO", 0, tx->utf8, &p);
	if (e != SMTP_P_OK) {
		session_error(s, e >= SMTP_P_PARAM ? "501 5.5.4 Error: %s" :
		    "501 5.1.3 Error: bad recipient address syntax (%s)",
		    smtp_parse_strerror(e));
		return -1;
	}
	if (session_check_params(s, &p, 0) == -1)
		return -1;
	strlcpy(tx->rcptaddr, p.addr, sizeof(tx->rcptaddr));
	session_argv(tx, &p);
	session_envelope_line(tx, "RCPT TO", tx->rcptaddr, tx->rcptcmd,
	    sizeof(tx->rcptcmd));
	return 0;
}

static enum fv
session_rcpt_run(struct session *s)
{
	return chain_envrcpt(s->cs, s->tx->rcptaddr, s->tx->argv);
}

static void
session_rcpt_proceed(struct session *s, enum decide_action a)
{
	(void)a;
	session_backend(s, s->tx->rcptcmd, session_rcpt_relayed);
}

static void
session_rcpt_relayed(struct session *s, const struct backend_reply *r)
{
	struct tx	*tx = s->tx;

	if (r->status != BACKEND_REPLY) {
		session_backend_lost(s, r, "relaying RCPT");
		return;
	}
	session_reply_raw(s, r->text, r->len);
	if (r->code / 100 != 2)
		return;
	tx->rcpts = xrealloc(tx->rcpts, (tx->nrcpts + 1) * sizeof(char *));
	tx->rcpts[tx->nrcpts++] = xstrdup(tx->rcptaddr);
	session_enter(s, SESSION_RCPT);
}

static int
cmd_data(struct session *s, struct smtp_cmd *cmd)
{
	if (cmd->arg[0] != '\0') {
		session_error(s, "501 5.5.4 Syntax: DATA");
		return -1;
	}
	return 0;
}

static enum fv
session_data_run(struct session *s)
{
	return chain_data(s->cs);
}

static void
session_data_proceed(struct session *s, enum decide_action a)
{
	(void)a;
	session_data_begin(s, DATA_DOT);
	session_reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

static int
cmd_bdat(struct session *s, struct smtp_cmd *cmd)
{
	return session_bdat(s, cmd->arg);
}

static void
cmd_rset(struct session *s, struct smtp_cmd *cmd)
{
	if (s->tx != NULL)
		session_tx_end(s, "aborted", "RSET");
	if (s->state != SESSION_GREETED)
		session_enter(s, SESSION_READY);
	cmd_relay(s, cmd);
}

/* NOOP, RSET, VRFY and EXPN: relayed as they are (the verb normalised). */
static void
cmd_relay(struct session *s, struct smtp_cmd *cmd)
{
	static const char *const verbs[] = {
		[SMTP_NOOP] = "NOOP", [SMTP_RSET] = "RSET",
		[SMTP_VRFY] = "VRFY", [SMTP_EXPN] = "EXPN",
	};
	char	 line[1100];

	snprintf(line, sizeof(line), "%s%s%s", verbs[cmd->verb],
	    cmd->arg[0] != '\0' ? " " : "", cmd->arg);
	session_backend(s, line, session_relay_reply);
}

static void
cmd_vrfy(struct session *s, struct smtp_cmd *cmd)
{
	if (!s->conf->vrfy) {
		session_reply(s, "502 5.5.1 Error: %s command is disabled",
		    cmd->verb == SMTP_VRFY ? "VRFY" : "EXPN");
		return;
	}
	cmd_relay(s, cmd);
}

static void
cmd_quit(struct session *s, struct smtp_cmd *cmd)
{
	(void)cmd;
	if (s->tx != NULL)
		session_tx_end(s, "aborted", "QUIT");
	session_backend(s, "QUIT", session_quit_relayed);
}

static void
session_quit_relayed(struct session *s, const struct backend_reply *r)
{
	if (r->status == BACKEND_REPLY && r->code / 100 == 2)
		session_reply_raw(s, r->text, r->len);
	else
		session_reply(s, "221 2.0.0 Bye");
	session_close(s, NULL);
}

static void
cmd_help(struct session *s, struct smtp_cmd *cmd)
{
	(void)cmd;
	session_reply(s, "214 2.0.0 postern: see RFC 5321");
}

static void
cmd_notimpl(struct session *s, struct smtp_cmd *cmd)
{
	(void)cmd;
	session_error(s, "502 5.5.1 Error: command not implemented");
}

/*
 * End the transaction: one log line, the filters told (eom done or abort),
 * the transaction freed.  reply is the client's (or the backend's) reply,
 * for the log; only its first line is used.
 */
void
session_tx_end(struct session *s, const char *action, const char *reply)
{
	struct tx	*tx = s->tx;
	struct txlog	 t;
	struct txlog_result res[CONF_FILTERS_MAX];
	char		 filters[1024], first[600];

	chain_results(s->cs, filters, sizeof(filters));
	snprintf(first, sizeof(first), "%.*s", (int)strcspn(reply, "\r\n"),
	    reply);
	memset(&t, 0, sizeof(t));
	t.sid = s->sid;
	t.client = s->addr;
	t.client_name = s->names.name;
	t.helo = s->helo;
	t.from = tx->from;
	t.rcpts = tx->rcpts;
	t.nrcpts = tx->nrcpts;
	t.size = tx->size;
	t.filters = filters;
	t.results = res;
	t.nresults = chain_result_list(s->cs, res, CONF_FILTERS_MAX);
	t.action = action;
	t.reply = first;
	t.ms = util_now_ms() - tx->started;
	t.backend = session_backend_name(s);
	txlog_write(&t, s->conf->log_format);
	session_tx_count(s, action, t.ms);
	if (tx->eom_done)
		chain_tx_done(s->cs);
	else
		chain_abort(s->cs);
	session_tx_free(s);
	if (s->state != SESSION_CLOSING && s->state != SESSION_GREETED)
		session_enter(s, SESSION_READY);
}

/* The transaction in the metrics: a backend's verdict (or loss) is the
 * backend's stage; otherwise the chain's stage and the filter that
 * decided it, or postern's own limits. */
static void
session_tx_count(struct session *s, const char *action, uint64_t ms)
{
	const char	*filter = chain_reply(s->cs)->filter;
	int		 backend = strstr(action, "backend") != NULL ||
			    strcmp(action, "failed") == 0;

	txcount(action, backend ? "backend" : chain_stage_name(s->cs),
	    backend ? "backend" : filter, ms);
}

static void
session_tx_free(struct session *s)
{
	struct tx	*tx = s->tx;
	size_t		 i;

	if (tx == NULL)
		return;
	for (i = 0; i < tx->nrcpts; i++)
		free(tx->rcpts[i]);
	free(tx->rcpts);
	session_tx_free_content(tx);
	free(tx);
	s->tx = NULL;
}

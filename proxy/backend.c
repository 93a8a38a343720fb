/* SPDX-License-Identifier: ISC */
/*
 * backend.c - the backend SMTP client (see backend.h).
 *
 * One bufferevent per backend.  Commands go one at a time, except that a
 * backend offering PIPELINING (RFC 2920) may be handed commands with
 * backend_pipeline, which go out in one write with the next
 * backend_command; their replies come back in order, each through the
 * callback, and b->inflight counts those still awaited.  A message is
 * only ever sent with nothing in flight.  While nothing is in flight the
 * read side stays on without a timeout, to notice a backend that closes;
 * while a reply is awaited the read timeout is the command (or data)
 * timeout.  A message is streamed from the spool in chunks, refilled from
 * the write callback, so a 50 MiB message never sits in memory twice.
 *
 * A reply line ends at CRLF and nowhere else (RFC 5321 2.3.8): a bare LF or
 * CR, or a NUL, inside a reply, lines of one reply with different codes,
 * bytes that come before a command was sent, or a 2xx while the message
 * is still going out, are a protocol error, never a reply boundary.
 * Replies are taken one command at a time, so a boundary in the wrong
 * place would answer every later command with its predecessor's reply (a
 * refused recipient with 250).
 *
 * STARTTLS turns the bufferevent into an OpenSSL filter over the socket's
 * (the same shape as the client side, session_tls.c); the socket's own
 * write high-water mark keeps the encrypted copy of a message as bounded
 * as the plaintext one.
 *
 * Public: backend_new, backend_free, backend_close, backend_connect,
 * backend_command, backend_command_shown, backend_pipeline,
 * backend_starttls, backend_ssl,
 * backend_message, backend_alive.
 *
 * DIAGNOSTICS
 *	Faults reach the owner as BACKEND_TIMEOUT/CLOSED/PROTOCOL (with
 *	what broke the protocol: "bare LF in a reply line" ...); the
 *	session logs them with its context.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "lib/log.h"
#include "lib/util.h"
#include "policy/conf.h"
#include "proto/data.h"
#include "proto/smtp_parse.h"
#include "proxy/backend.h"
#include "proxy/io.h"
#include "proxy/spool.h"
#include "proxy/tls.h"

#define BACKEND_LINE_MAX	4096		/* one reply line */
#define BACKEND_REPLY_MAX	65536		/* all lines of a reply */
#define BACKEND_CHUNK		65536		/* spool read size */
#define BACKEND_OUT_HIGH	(256 * 1024)	/* stop refilling above */

enum backend_phase {
	BACKEND_IDLE,		/* nothing in flight */
	BACKEND_WAIT,		/* a reply is awaited */
	BACKEND_WAIT_354,	/* DATA sent, content follows on 354 */
	BACKEND_STREAM,		/* writing message content */
	BACKEND_HANDSHAKE,	/* TLS handshake after STARTTLS */
	BACKEND_DEAD,
};

struct backend {
	struct event_base	*base;
	const struct conf	*conf;		/* not duplicated */
	char			 sid[20];
	backend_cb		 cb;
	void			*arg;
	struct bufferevent	*bev;
	struct event		*later;		/* deliver a failure async */
	struct event		*more;		/* read the next pipelined
						   reply, already buffered */
	enum backend_phase	 phase;
	enum backend_status	 fault;		/* why DEAD */
	char			 why[256];	/* TLS_FAILED, PROTOCOL: the
						   reason */
	struct evbuffer		*reply;		/* lines collected so far */
	int			 reply_code;	/* 0: no line of it yet */
	unsigned		 inflight;	/* replies awaited: commands,
						   the greeting or a message's
						   final reply */
	unsigned		 timeout;	/* read/write timeout in force */
	/* message replay */
	struct evbuffer		*hdrs;		/* header fields to send first */
	struct spool		*spool;		/* not owned */
	uint64_t		 off;		/* next spool byte to send */
	int			 stuff;		/* DATA: dot-stuff */
	struct data_stuffer	 stuffer;
};

static void	backend_read(struct bufferevent *, void *);
static void	backend_write(struct bufferevent *, void *);
static void	backend_event(struct bufferevent *, short, void *);
static void	backend_later(evutil_socket_t, short, void *);
static void	backend_more(evutil_socket_t, short, void *);
static void	backend_fail(struct backend *, enum backend_status);
static void	backend_protocol(struct backend *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static int	backend_ready(struct backend *);
static void	backend_send(struct backend *, const char *, const char *);
static void	backend_await(struct backend *, enum backend_phase, unsigned);
static int	backend_line(struct backend *, char *, size_t);
static int	backend_fill(struct backend *);
static void	backend_stream(struct backend *);
static void	backend_quit(struct backend *);
static void	backend_secured(struct backend *);

struct backend *
backend_new(struct event_base *base, const struct conf *conf,
    const char *sid, backend_cb cb, void *arg)
{
	struct backend	*b;

	b = xcalloc(1, sizeof(*b));
	b->base = base;
	b->conf = conf;
	strlcpy(b->sid, sid, sizeof(b->sid));
	b->cb = cb;
	b->arg = arg;
	b->phase = BACKEND_DEAD;
	b->fault = BACKEND_CLOSED;
	return b;
}

void
backend_free(struct backend *b)
{
	if (b == NULL)
		return;
	if (b->bev != NULL && b->phase == BACKEND_IDLE &&
	    evbuffer_get_length(bufferevent_get_output(b->bev)) == 0)
		backend_quit(b);
	backend_close(b);
	if (b->later != NULL)
		event_free(b->later);
	if (b->more != NULL)
		event_free(b->more);
	if (b->reply != NULL)
		evbuffer_free(b->reply);
	if (b->hdrs != NULL)
		evbuffer_free(b->hdrs);
	free(b);
}

void
backend_close(struct backend *b)
{
	if (b->bev != NULL)
		bufferevent_free(b->bev);
	b->bev = NULL;
	if (b->phase != BACKEND_DEAD) {
		b->phase = BACKEND_DEAD;
		b->fault = BACKEND_CLOSED;
	}
}

/* QUIT on the way out, without waiting for the reply: what the socket
 * takes now (through TLS when it is on), or nothing. */
static void
backend_quit(struct backend *b)
{
	struct bufferevent	*u = bufferevent_get_underlying(b->bev);

	evbuffer_add(bufferevent_get_output(b->bev), "QUIT\r\n", 6);
	if (u != NULL)
		bufferevent_enable(b->bev, EV_WRITE);	/* encrypt into u */
	io_flush(u != NULL ? u : b->bev);
}

int
backend_alive(const struct backend *b)
{
	return b->phase != BACKEND_DEAD;
}

void
backend_connect(struct backend *b, const struct sockaddr *sa, socklen_t len,
    const void *first, size_t firstlen, uint64_t ms)
{
	struct timeval	 tv = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000 };

	b->bev = bufferevent_socket_new(b->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (b->bev == NULL)
		fatalx("bufferevent_socket_new");
	bufferevent_setcb(b->bev, backend_read, backend_write, backend_event,
	    b);
	b->reply = evbuffer_new();
	/* written once connected, ahead of everything we say */
	if (firstlen > 0)
		evbuffer_add(bufferevent_get_output(b->bev), first, firstlen);
	b->inflight = 1;			/* the greeting */
	backend_await(b, BACKEND_WAIT, b->conf->connect_timeout);
	/* What is left of connect_timeout; the next wait sets its own. */
	bufferevent_set_timeouts(b->bev, &tv, &tv);
	b->timeout = 0;
	if (bufferevent_socket_connect(b->bev, sa, (int)len) == -1)
		backend_fail(b, BACKEND_CLOSED);
	else
		io_tune(b->bev);
}

/*
 * Wait for a reply in phase ph with a read timeout of secs.  The timeout
 * stays armed between replies too (a timeout while idle is ignored), so the
 * usual command/reply turn re-arms no timer.
 */
static void
backend_await(struct backend *b, enum backend_phase ph, unsigned secs)
{
	struct timeval	 tv = { secs, 0 };

	b->phase = ph;
	if (b->timeout != secs) {
		bufferevent_set_timeouts(b->bev, &tv, &tv);
		b->timeout = secs;
	}
	bufferevent_enable(b->bev, EV_READ);
}

void
backend_command(struct backend *b, const char *line)
{
	backend_command_shown(b, line, line);
}

void
backend_command_shown(struct backend *b, const char *line, const char *shown)
{
	if (backend_ready(b) == -1)
		return;
	backend_send(b, line, shown);
	io_flush(b->bev);
}

void
backend_pipeline(struct backend *b, const char *line)
{
	if (backend_ready(b) == -1)
		return;
	backend_send(b, line, line);
}

/* line CRLF into the output (not written yet), its reply awaited. */
static void
backend_send(struct backend *b, const char *line, const char *shown)
{
	log_trace_bytes(TRACE_SMTP, b->sid, ">", shown, strlen(shown));
	evbuffer_add(bufferevent_get_output(b->bev), line, strlen(line));
	evbuffer_add(bufferevent_get_output(b->bev), "\r\n", 2);
	b->inflight++;
	backend_await(b, BACKEND_WAIT, b->conf->command_timeout);
}

void
backend_message(struct backend *b, const char *hdrs, size_t hdrslen,
    struct spool *sp, int bdat)
{
	struct evbuffer	*out;

	if (backend_ready(b) == -1)
		return;
	out = bufferevent_get_output(b->bev);
	b->spool = sp;
	b->off = 0;
	b->stuff = !bdat;
	b->stuffer.bol = 1;
	if (b->hdrs == NULL)
		b->hdrs = evbuffer_new();
	evbuffer_drain(b->hdrs, evbuffer_get_length(b->hdrs));
	evbuffer_add(b->hdrs, hdrs, hdrslen);
	b->inflight = 1;			/* the final reply */
	if (bdat) {
		log_trace(TRACE_SMTP, "%s > BDAT %llu LAST", b->sid,
		    (unsigned long long)(hdrslen + spool_edited_size(sp)));
		evbuffer_add_printf(out, "BDAT %llu LAST\r\n",
		    (unsigned long long)(hdrslen + spool_edited_size(sp)));
		backend_await(b, BACKEND_STREAM, b->conf->data_timeout);
		backend_stream(b);
		return;
	}
	log_trace(TRACE_SMTP, "%s > DATA", b->sid);
	evbuffer_add(out, "DATA\r\n", 6);
	backend_await(b, BACKEND_WAIT_354, b->conf->command_timeout);
	io_flush(b->bev);
}

/*
 * Before a command: the connection is alive and, unless replies to
 * pipelined commands are awaited, nothing is buffered.  A byte read before
 * we ask is a reply to nothing, and the next command would take it for its
 * own.  Returns -1 after failing.
 */
static int
backend_ready(struct backend *b)
{
	size_t	 n;

	if (b->phase == BACKEND_DEAD) {
		backend_fail(b, b->fault);
		return -1;
	}
	if (b->inflight == 0 &&
	    (n = evbuffer_get_length(bufferevent_get_input(b->bev))) > 0) {
		backend_protocol(b, "%zu bytes before a command was sent", n);
		return -1;
	}
	return 0;
}

void
backend_starttls(struct backend *b, SSL *ssl)
{
	struct bufferevent	*tls;
	size_t			 n;

	if (b->phase == BACKEND_DEAD) {
		SSL_free(ssl);
		backend_fail(b, b->fault);
		return;
	}
	if ((n = evbuffer_get_length(bufferevent_get_input(b->bev))) > 0) {
		SSL_free(ssl);
		snprintf(b->why, sizeof(b->why), "%zu bytes in clear after "
		    "the reply to STARTTLS", n);
		backend_fail(b, BACKEND_TLS_FAILED);
		return;
	}
	/* the filter times itself; the socket's timer would stop reading */
	bufferevent_set_timeouts(b->bev, NULL, NULL);
	bufferevent_setwatermark(b->bev, EV_WRITE, 0, BACKEND_OUT_HIGH);
	tls = bufferevent_openssl_filter_new(b->base, b->bev, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (tls == NULL)
		fatalx("bufferevent_openssl_filter_new");
	bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
	b->bev = tls;
	bufferevent_setcb(tls, backend_read, backend_write, backend_event, b);
	b->timeout = 0;
	backend_await(b, BACKEND_HANDSHAKE, b->conf->tls_handshake_timeout);
}

SSL *
backend_ssl(struct backend *b)
{
	return b->bev != NULL ? bufferevent_openssl_get_ssl(b->bev) : NULL;
}

/* The handshake is done: tell the owner, from inside the event. */
static void
backend_secured(struct backend *b)
{
	struct backend_reply	 r = { .status = BACKEND_TLS };

	b->phase = BACKEND_IDLE;
	b->cb(b->arg, &r);
}

/*
 * Move the next part of the message into the output buffer, up to
 * BACKEND_OUT_HIGH; after the last byte (and ".CRLF" for DATA) wait for the
 * final reply.  Returns -1 after a spool error (the backend has failed).
 */
static int
backend_fill(struct backend *b)
{
	/* each event loop's own (proxy.threads) */
	static _Thread_local unsigned char in[BACKEND_CHUNK];
	static _Thread_local unsigned char out[DATA_OUT_MAX(BACKEND_CHUNK)];
	struct evbuffer		*o = bufferevent_get_output(b->bev);
	ssize_t			 n;
	size_t			 hl;

	while (evbuffer_get_length(o) < BACKEND_OUT_HIGH) {
		if ((hl = evbuffer_get_length(b->hdrs)) > 0)
			n = evbuffer_remove(b->hdrs, in,
			    hl < sizeof(in) ? hl : sizeof(in));
		else
			n = spool_read_edited(b->spool, &b->off, in,
			    sizeof(in));
		if (n < 0) {
			log_warn("%s: reading the spool", b->sid);
			backend_fail(b, BACKEND_CLOSED);
			return -1;
		}
		if (n == 0) {
			if (b->stuff)
				evbuffer_add(o, ".\r\n", 3);
			b->phase = BACKEND_WAIT;
			break;
		}
		if (b->stuff)
			evbuffer_add(o, out, data_stuff(&b->stuffer, in,
			    (size_t)n, out));
		else
			evbuffer_add(o, in, (size_t)n);
	}
	return 0;
}

/* Fill and write until the kernel stops taking it (the write callback
 * calls again) or the message is out. */
static void
backend_stream(struct backend *b)
{
	do {
		if (backend_fill(b) == -1)
			return;
	} while (io_flush(b->bev) == 0 && b->phase == BACKEND_STREAM);
}

static void
backend_write(struct bufferevent *bev, void *arg)
{
	struct backend	*b = arg;

	if (b->phase == BACKEND_STREAM)
		backend_stream(b);
	else if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_disable(bev, EV_WRITE);
}

static void
backend_read(struct bufferevent *bev, void *arg)
{
	struct backend	*b = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	struct evbuffer_ptr p;
	char		 line[BACKEND_LINE_MAX + 2];	/* CR LF */
	size_t		 len;

	for (;;) {
		p = evbuffer_search(in, "\n", 1, NULL);
		if (p.pos == -1) {
			if (evbuffer_get_length(in) > BACKEND_LINE_MAX + 1)
				backend_protocol(b, "reply line over %d bytes",
				    BACKEND_LINE_MAX);
			return;
		}
		len = (size_t)p.pos;
		if (len > BACKEND_LINE_MAX + 1) {
			backend_protocol(b, "reply line over %d bytes",
			    BACKEND_LINE_MAX);
			return;
		}
		evbuffer_remove(in, line, len + 1);
		if (len == 0 || line[len - 1] != '\r') {
			log_trace_bytes(TRACE_SMTP, b->sid, "<", line, len + 1);
			backend_protocol(b, "bare LF in a reply line");
			return;
		}
		log_trace_bytes(TRACE_SMTP, b->sid, "<", line, len - 1);
		line[--len] = '\0';
		if (backend_line(b, line, len) != 0)
			return;		/* delivered or failed: b may be gone */
	}
}

/*
 * One reply line.  Returns 1 when a reply (or a failure) was delivered, after
 * which b must not be touched; 0 to read on.
 */
static int
backend_line(struct backend *b, char *line, size_t len)
{
	struct backend_reply	 r;
	const char		*text;
	size_t			 tlen;
	int			 code, last;

	if (smtp_reply_line(line, len, &code, &last, &text, &tlen) == -1) {
		backend_protocol(b, "%s", memchr(line, '\r', len) != NULL ?
		    "bare CR in a reply line" : memchr(line, '\0', len) !=
		    NULL ? "NUL in a reply line" : "not a reply line");
		return 1;
	}
	if (evbuffer_get_length(b->reply) + len + 2 > BACKEND_REPLY_MAX) {
		backend_protocol(b, "reply over %d bytes", BACKEND_REPLY_MAX);
		return 1;
	}
	if (b->reply_code != 0 && code != b->reply_code) {
		backend_protocol(b, "reply lines with codes %d and %d",
		    b->reply_code, code);
		return 1;
	}
	if (b->phase == BACKEND_IDLE) {
		/* Unsolicited: a 421 before a close, typically. */
		if (last && code == 421) {
			backend_fail(b, BACKEND_CLOSED);
			return 1;
		}
		return 0;
	}
	if (b->reply_code == 0) {
		/* the first line: what the last reply left goes now */
		evbuffer_drain(b->reply, evbuffer_get_length(b->reply));
		b->reply_code = code;
	}
	evbuffer_add(b->reply, line, len);	/* as sent, CRLF ended */
	evbuffer_add(b->reply, "\r\n", 2);
	if (!last)
		return 0;
	if (b->phase == BACKEND_WAIT_354 && b->reply_code == 354) {
		b->reply_code = 0;
		backend_await(b, BACKEND_STREAM, b->conf->data_timeout);
		backend_stream(b);
		return 0;
	}
	if (b->phase == BACKEND_STREAM) {
		/* A reply before the end of the content: whatever the backend
		 * thinks now, this connection cannot carry another message;
		 * and a 2xx cannot be for a message it has not got. */
		snprintf(b->why, sizeof(b->why), "%d reply before the end of "
		    "the message", code);
		if (code / 100 == 2) {
			backend_fail(b, BACKEND_PROTOCOL);
			return 1;
		}
	}
	r.status = BACKEND_REPLY;
	r.code = b->reply_code;
	r.len = evbuffer_get_length(b->reply);
	evbuffer_add(b->reply, "", 1);		/* NUL-terminate the text */
	r.text = (const char *)evbuffer_pullup(b->reply, -1);
	b->reply_code = 0;		/* the text stays until the next */
	if (b->phase == BACKEND_STREAM) {
		b->phase = BACKEND_DEAD;
		b->fault = BACKEND_PROTOCOL;
		bufferevent_disable(b->bev, EV_READ | EV_WRITE);
	} else if (--b->inflight == 0)
		b->phase = BACKEND_IDLE;
	else if (evbuffer_get_length(bufferevent_get_input(b->bev)) > 0) {
		/* the next reply came in the same read: no read event will
		 * say so, and b may be gone once the callback returns */
		if (b->more == NULL)
			b->more = event_new(b->base, -1, 0, backend_more, b);
		event_active(b->more, 0, 0);
	}
	b->cb(b->arg, &r);
	return 1;
}

static void
backend_event(struct bufferevent *bev, short what, void *arg)
{
	struct backend	*b = arg;

	if (what & BEV_EVENT_CONNECTED) {
		bufferevent_disable(bev, EV_WRITE);	/* io_flush writes */
		if (b->phase == BACKEND_HANDSHAKE)
			backend_secured(b);
		else {
			log_trace(TRACE_IO, "%s backend connected", b->sid);
			(void)io_flush(bev);	/* backend_connect's first */
		}
		return;
	}
	if ((what & BEV_EVENT_TIMEOUT) && b->phase == BACKEND_IDLE) {
		/* Nothing awaited: a quiet backend is fine.  libevent
		 * turned reading off; turn it on again. */
		bufferevent_enable(bev, EV_READ);
		return;
	}
	if (b->phase == BACKEND_HANDSHAKE) {
		tls_failure(bev, what, b->why, sizeof(b->why));
		backend_fail(b, BACKEND_TLS_FAILED);
	} else if (what & BEV_EVENT_TIMEOUT)
		backend_fail(b, BACKEND_TIMEOUT);
	else
		backend_fail(b, BACKEND_CLOSED);
}

/*
 * The connection is unusable.  The owner hears of it from the event loop,
 * never from inside one of its own calls: whether a reply was awaited, the
 * backend went away while idle, or a request came after the fault.
 */
static void
backend_fail(struct backend *b, enum backend_status why)
{
	if (b->phase != BACKEND_DEAD) {
		b->phase = BACKEND_DEAD;
		b->fault = why;
		if (b->bev != NULL) {
			bufferevent_disable(b->bev, EV_READ | EV_WRITE);
			bufferevent_set_timeouts(b->bev, NULL, NULL);
		}
	}
	if (b->later == NULL)
		b->later = event_new(b->base, -1, 0, backend_later, b);
	event_active(b->later, 0, 0);
}

/* A protocol error, why (printf-style) kept for the owner. */
static void
backend_protocol(struct backend *b, const char *fmt, ...)
{
	va_list	 ap;

	if (b->phase != BACKEND_DEAD) {
		va_start(ap, fmt);
		vsnprintf(b->why, sizeof(b->why), fmt, ap);
		va_end(ap);
	}
	backend_fail(b, BACKEND_PROTOCOL);
}

static void
backend_later(evutil_socket_t fd, short ev, void *arg)
{
	struct backend		*b = arg;
	struct backend_reply	 r = { .status = b->fault };

	(void)fd;
	(void)ev;
	if (b->bev != NULL) {
		/* unusable: let the MTA see the end now */
		bufferevent_free(b->bev);
		b->bev = NULL;
	}
	if (b->fault == BACKEND_TLS_FAILED || b->fault == BACKEND_PROTOCOL) {
		r.text = b->why;
		r.len = strlen(b->why);
	}
	b->cb(b->arg, &r);
}

static void
backend_more(evutil_socket_t fd, short ev, void *arg)
{
	struct backend	*b = arg;

	(void)fd;
	(void)ev;
	if (b->bev != NULL && b->phase == BACKEND_WAIT)
		backend_read(b->bev, b);
}

/*
 * backend_memory_max - see backend.h: the content queued for writing (the
 * high watermark, overrun by one dot-stuffed chunk at most) and a reply
 * being collected (its lines, then the one line in the input).
 */
size_t
backend_memory_max(void)
{
	return BACKEND_OUT_HIGH + DATA_OUT_MAX(BACKEND_CHUNK) +
	    BACKEND_REPLY_MAX + BACKEND_LINE_MAX;
}

/* SPDX-License-Identifier: ISC */
/*
 * backend.h - the SMTP client side of a session: one connection to the
 * backend MTA, one command (or one message) in flight at a time unless
 * commands are pipelined, every reply delivered, in order, through the
 * owner's single callback.  The session decides
 * what to send; this module only speaks the wire: connect and greeting,
 * command/reply with timeouts, multi-line replies normalised to CRLF, the
 * TLS handshake after STARTTLS, and the replay of a spooled message by
 * DATA (dot-stuffed) or BDAT.
 */
#ifndef POSTERN_BACKEND_H
#define POSTERN_BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

struct event_base;
struct conf;
struct spool;
struct backend;

enum backend_status {
	BACKEND_REPLY,		/* a complete reply: code and text are set */
	BACKEND_TIMEOUT,	/* no (complete) reply in time */
	BACKEND_CLOSED,		/* connection refused, reset or closed */
	BACKEND_PROTOCOL,	/* the backend sent something not a reply
				   (or not to a command); text says why */
	BACKEND_TLS,		/* backend_starttls: the handshake is done */
	BACKEND_TLS_FAILED,	/* backend_starttls: it failed (the backend
				   is dead); text says why */
};

struct backend_reply {
	enum backend_status status;
	int		 code;	/* REPLY: 200..599 */
	const char	*text;	/* REPLY: all lines, each "ddd-..." CRLF,
				   NUL-terminated; TLS_FAILED, PROTOCOL:
				   why; valid during the callback only */
	size_t		 len;	/* of text */
};

typedef void	(*backend_cb)(void *arg, const struct backend_reply *);

/* backend_new - an unconnected backend; conf is not duplicated (the owner
 * holds a reference), sid is copied. */
struct backend	*backend_new(struct event_base *, const struct conf *,
		    const char *sid, backend_cb, void *arg);
/* backend_free - says QUIT if the connection is idle and closes it.  Safe
 * inside the callback. */
void		 backend_free(struct backend *);
/* backend_close - closes the connection now, without a word (not even
 * QUIT); the backend is dead. */
void		 backend_close(struct backend *);

/* backend_connect - connect to sa and send first[0..firstlen) (a PROXY
 * header, copied; none when firstlen is 0) before anything else; the
 * callback gets the greeting, within ms milliseconds. */
void		 backend_connect(struct backend *, const struct sockaddr *,
		    socklen_t, const void *first, size_t firstlen, uint64_t ms);

/* backend_command - send one command line (CRLF appended, line copied);
 * the callback gets its reply within conf->command_timeout.  On a dead
 * connection the callback gets BACKEND_CLOSED, from the event loop. */
void		 backend_command(struct backend *, const char *line);
/* backend_command_shown - the same, traced as shown (credentials never
 * reach the log). */
void		 backend_command_shown(struct backend *, const char *line,
		    const char *shown);

/*
 * backend_pipeline - queue one command line (copied) to go out in the same
 * write as the next backend_command, for a backend that offered PIPELINING
 * (RFC 2920): its reply reaches the callback first, then the next one's.
 * Not before a message (backend_message waits for every reply).
 */
void		 backend_pipeline(struct backend *, const char *line);

/*
 * backend_starttls - after the backend's 220 to STARTTLS: the TLS handshake
 * (client side, ssl taken over) as an OpenSSL filter over the connection,
 * within conf->tls_handshake_timeout.  The callback gets BACKEND_TLS, after
 * which commands and messages go through TLS, or BACKEND_TLS_FAILED with
 * the reason (also when the backend sent anything in clear after its 220:
 * it would be taken as if it came through TLS).
 */
void		 backend_starttls(struct backend *, SSL *ssl);

/* backend_ssl - the connection's SSL once backend_starttls succeeded, else
 * NULL (plaintext). */
SSL		*backend_ssl(struct backend *);

/*
 * backend_message - send a message: hdrs[0..hdrslen) (header fields to put
 * on top, CRLF lines) then the spool's edited content (CRLF lines: without
 * the header fields filters removed); by "BDAT n
 * LAST" when bdat, else by DATA, waiting for 354 and dot-stuffing.  The
 * callback gets the final reply (or a DATA refusal) within
 * conf->data_timeout.  The spool must live until then.
 */
void		 backend_message(struct backend *, const char *hdrs,
		    size_t hdrslen, struct spool *, int bdat);

/* backend_alive - 0 once the connection is closed, timed out or broken. */
int		 backend_alive(const struct backend *);

/* backend_memory_max - the most one backend connection buffers, bytes. */
size_t		 backend_memory_max(void);

#endif

/* SPDX-License-Identifier: ISC */
/*
 * session_int.h - what session.c (commands, replies, the envelope),
 * session_data.c (DATA/BDAT intake, the filter feed, end of message),
 * session_tls.c (TLS with the client) and session_backend_tls.c (TLS to
 * the backend) share.  Not for other modules.
 */
#ifndef POSTERN_SESSION_INT_H
#define POSTERN_SESSION_INT_H

#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <stdint.h>

#include "filters/chain.h"
#include "policy/decide.h"
#include "proto/data.h"
#include "proto/rfc5322.h"
#include "proto/smtp_parse.h"
#include "proxy/backend.h"
#include "proxy/backend_list.h"
#include "proxy/rdns.h"
#include "proxy/session.h"

struct bufferevent;
struct evbuffer;
struct conf;
struct session;
struct server_gen;
struct session_rdns;
struct spool;

enum session_state {
	SESSION_PROXY,		/* reading the PROXY protocol header */
	SESSION_TLS,		/* STARTTLS said 220, or implicit TLS: the
				   handshake */
	SESSION_RDNS,		/* the client's host name being looked up */
	SESSION_CONNECTING,	/* filters on connect, backend greeting */
	SESSION_GREETED,	/* 220 sent, waiting for HELO/EHLO */
	SESSION_READY,		/* HELO done, no transaction */
	SESSION_AUTH,		/* an AUTH exchange: lines go to the backend */
	SESSION_MAIL,		/* MAIL accepted */
	SESSION_RCPT,		/* a recipient accepted */
	SESSION_DATA,		/* reading DATA content */
	SESSION_BDAT,		/* between BDAT chunks */
	SESSION_EOM,		/* end of message: filters, then backend */
	SESSION_CLOSING,	/* last reply being flushed */
};

#define S_BIT(st)	(1u << (st))

#define SESSION_READ_HIGH	(1024 * 1024)	/* client input buffered */
#define SESSION_OUT_HIGH	(1024 * 1024)	/* unread replies */

/* A header field of the message as received: where it is in the spool
 * (its name is read back from there when a filter changes it). */
struct tx_field {
	uint64_t	 off;
	uint64_t	 len;
};

/* One message transaction, MAIL to the final reply.  Owned by the session;
 * owns its recipients, spool and feed state. */
struct tx {
	char		 from[SMTP_PATH_MAX + 1];
	char		 mailcmd[1024];	/* MAIL line as relayed */
	char		**rcpts;	/* accepted, copied */
	size_t		 nrcpts;
	char		 rcptcmd[1024];	/* RCPT line in flight */
	char		 rcptaddr[SMTP_PATH_MAX + 1];
	char		 argbuf[1024];	/* ESMTP parameters of MAIL/RCPT */
	char		*argv[SMTP_PARAMS_MAX + 1];	/* into argbuf */
	int		 utf8;		/* MAIL had SMTPUTF8 */
	int		 relayed;	/* MAIL went to the backend */
	int		 eom_done;	/* the eom stage ran */
	int		 discard;	/* a filter said discard */
	int		 bdat;		/* content came by BDAT */
	uint64_t	 started;	/* ms, MAIL accepted */
	uint64_t	 data_started;	/* ms, DATA or the first BDAT */
	double		 sent;		/* util_now_s, the message to the
					   backend */
	/* content */
	struct spool	*spool;
	struct data_reader rd;
	uint64_t	 size;		/* content bytes */
	char		 fail[512];	/* reply that ends this tx, if set */
	/* the filter feed, from the spool (session_data.c) */
	struct rfc5322	 parser;
	uint64_t	 feed_off;	/* next spool byte for the parser */
	uint64_t	 field_off;	/* where the next header field starts */
	unsigned char	*feed_buf;
	size_t		 feed_len, feed_pos;
	int		 feed_final;	/* all content is in the spool */
	int		 feed_busy;	/* a content stage is PENDING */
	int		 feed_done;	/* RFC5322_END reached */
	uint64_t	 body_off;	/* where the body starts (after the
					   header's blank line) */
	struct tx_field	*fields;	/* the ones the filters were given */
	size_t		 nfields;
};

/*
 * A filter stage of the session: its chain call, where decide() stands,
 * what a refusal does, and the step after a yes (or after any verdict,
 * for a refusal kept for later).  session_filter is the one router.
 */
enum session_refuse {
	SESSION_REFUSE_CLOSE,	/* reply and close (connect) */
	SESSION_REFUSE_REPLY,	/* reply, nothing else ends (helo, rcpt) */
	SESSION_REFUSE_TX,	/* reply, end the transaction (mail, data) */
	SESSION_REFUSE_LATER,	/* keep the reply for the end of the
				   message and go on (bdat, content) */
	SESSION_REFUSE_EOM,	/* refuse the message (end of data) */
};

struct session_stage {
	enum decide_stage	 decide;
	enum session_refuse	 refuse;
	enum fv			(*run)(struct session *);
	void			(*proceed)(struct session *,
				    enum decide_action);
};
typedef void	(*session_backend_fn)(struct session *,
		    const struct backend_reply *);

struct session {
	TAILQ_ENTRY(session) entry;
	char		 sid[17];	/* 16 hex digits */
	struct session_server *srv;	/* its loop, pool... */
	struct server_gen *gen;		/* reference held */
	const struct conf *conf;	/* gen's */
	struct bufferevent *bev;	/* client */
	struct backend	*be;
	struct backend_try be_try;	/* the walk over proxy.backend */
	struct chain_sess *cs;
	struct sockaddr_storage ss;	/* the client's: the socket's, or the
					   PROXY header's source */
	char		 addr[INET6_ADDRSTRLEN];
	char		 port[8];
	struct rdns_result names;	/* the client's host names (XCLIENT
					   NAME, REVERSE_NAME) */
	struct session_rdns *rdns;	/* the lookup in flight, or NULL */
	char		 bracketed[INET6_ADDRSTRLEN + 2];	/* "[addr]": the
					   connect stage's host without a
					   verified name */
	struct sockaddr_storage local;	/* our end of the connection */
	struct sockaddr_storage dest;	/* where the client connected: local,
					   or the PROXY header's destination */
	struct sockaddr_storage peer;	/* the accepted socket's (the balancer
					   with PROXY) */
	struct sockaddr_storage counted; /* the address the connection
					   limits count it under: peer, or
					   the PROXY header's client */
	int		 is_counted;	/* counted holds one */
	int		 tls_implicit;	/* accepted on a listen_tls address */
	int		 tls_on;	/* s->bev is the TLS filter */
	char		 tls_info[128];	/* "TLSv1.3 cipher bits", once up */
	int		 be_plain;	/* opportunistic TLS to the backend
					   failed: plaintext from now on */
	int		 freeing;	/* session_free_soon was called */
	int		 authenticated;	/* the backend said 235 to AUTH */
	char		 auth_mech[32];	/* of the AUTH in progress or done */
	char		 auth_user[256];	/* for the log; the mechanism
					   when the name is not known */
	unsigned	 auth_step;	/* client responses so far */
	enum smtp_perr	 auth_bad;	/* why a response was refused */
	unsigned	 auth_failures;
	uint64_t	 pp_deadline;	/* ms, the PROXY header is due */
	size_t		 pp_need;	/* bytes the PROXY header takes, when
					   known (v2) */
	enum session_state state;
	const struct session_stage *on_filter; /* non-NULL: PENDING */
	session_backend_fn on_backend;	/* non-NULL: a reply is awaited */
	unsigned	 timeout;	/* client read timeout in force, s */
	char		 helo[256];
	int		 esmtp;
	int		 xclient_done;	/* XCLIENT sent (once a session) */
	int		 xclient_early;	/* ... without EHLO before it */
	struct smtp_ehlo ehlo;		/* the backend's, after EHLO */
	uint64_t	 be_last;	/* ms, last command to the backend */
	unsigned	 errors;
	int		 skipping;	/* discarding an overlong line */
	uint64_t	 line_start;	/* ms, a command line began (first
					   seen partial); 0 = none */
	uint64_t	 bdat_left;	/* bytes of the BDAT chunk to read */
	int		 bdat_last;
	const char	*bdat_fail;	/* chunk refused: read, drop, say */
	struct tx	*tx;
};

/* session.c */
void	session_enter(struct session *, enum session_state);
void	session_reply(struct session *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	session_reply_raw(struct session *, const char *, size_t);
void	session_error(struct session *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	session_stage_run(struct session *, const struct session_stage *);
void	session_filter(struct session *, enum fv,
	    const struct session_stage *);
void	session_backend(struct session *, const char *line,
	    session_backend_fn);
void	session_backend_lost(struct session *, const struct backend_reply *,
	    const char *while_what);
void	session_tx_end(struct session *, const char *action,
	    const char *reply);
void	session_close(struct session *, const char *reply);
void	session_free_soon(struct session *);
void	session_input(struct session *);
void	session_connect(struct session *);
void	session_named(struct session *);
void	session_setcb(struct session *);
void	session_greet(struct session *);
void	session_backend_connect(struct session *);
const char *session_backend_name(const struct session *);
void	session_ehlo_backend(struct session *);
void	session_mail_relay(struct session *);
void	session_mail_relayed(struct session *, const struct backend_reply *);

/* session_identity.c */
size_t	session_identity_header(struct session *, void *, size_t);
int	session_identity_early(struct session *);
int	session_identity_ehlo(struct session *);
int	session_identity_mail(struct session *);

/* session_rdns.c */
void	session_rdns_begin(struct session *);
void	session_rdns_free(struct session *);

/* session_backend_tls.c */
void	session_backend_tls_begin(struct session *);
const struct backend_reply *session_backend_tls_reply(struct session *,
	    const struct backend_reply *, struct backend_reply *fixed);

/* session_auth.c */
void	cmd_auth(struct session *, struct smtp_cmd *);
void	session_auth_input(struct session *, char *, size_t);
const char *session_auth_offer(const struct session *);

/* session_tls.c */
void	session_tls_start(struct session *);
void	session_tls_ready(struct session *);
void	session_tls_failed(struct session *, short what);
void	session_tls_received(struct session *, struct evbuffer *);
void	session_tls_close(struct session *);
void	cmd_starttls(struct session *, struct smtp_cmd *);

/* session_data.c */
void	session_data_begin(struct session *, enum data_mode);
int	session_data_input(struct session *);
int	session_data_slow(struct session *);
int	session_bdat(struct session *, char *arg);
void	session_eom_refuse(struct session *, const char *, const char *);
extern const struct session_stage session_stage_bdat;
void	session_feed(struct session *);
void	session_tx_free_content(struct tx *);

#endif

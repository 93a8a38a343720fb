/* SPDX-License-Identifier: ISC */
/*
 * chain.h - runs the configured filters, in order, at each stage of a
 * connection: short-circuits on the first verdict other than CONTINUE,
 * parks on FV_PENDING and resumes at the next filter, remembers a message- or
 * connection-wide ACCEPT, collects replies, queued headers and each filter's
 * result for the log.  The front ends (proxy session, milter, dry run) call
 * chain_* and never see a filter directly.
 */
#ifndef POSTERN_CHAIN_H
#define POSTERN_CHAIN_H

#include <stddef.h>
#include <sys/socket.h>

#include "filters/filter.h"

struct conf;
struct chain;
struct chain_sess;
struct dns;
struct worker_pool;

struct chain_header {
	char		*name;
	char		*value;
};

/* A change to a header field of the message (fctx_change_header). */
struct chain_edit {
	char		*name;
	unsigned	 index;		/* 1: the first field of that name */
	char		*value;		/* NULL: delete it */
};

/* Called when a stage that returned FV_PENDING is complete. */
typedef void	(*chain_resume_cb)(void *arg, enum fv);

/* The filter registry: name -> ops; NULL when unknown. */
const struct filter_ops *chain_filter_lookup(const char *name);

/*
 * chain_new - the filters conf names, each init'ed; refcount 1, or NULL with
 * every error in err, one a line.  A chain is shared, read-only, by every
 * session started while it was current; the last chain_unref runs every fini.
 * prev (may be NULL) is the chain this one replaces: its resolver, and its
 * cache, is kept when conf's [dns] settings are the same.
 */
struct chain	*chain_new(const struct conf *, const struct chain *prev,
		    char *err, size_t errsz);
/* chain_new_ops - the same from filter ops given directly (n of them). */
struct chain	*chain_new_ops(const struct filter_ops *const *ops, size_t n,
		    const struct conf *, const struct chain *prev, char *err,
		    size_t errsz);
struct chain	*chain_ref(struct chain *);
void		 chain_unref(struct chain *);
size_t		 chain_length(const struct chain *);
/* chain_session_fds - descriptors a session holds for its filters. */
unsigned	 chain_session_fds(const struct chain *);
/* chain_dns - the resolver the chain set up for its filters, or NULL
 * (the front end may share it: a reference is the caller's to take). */
struct dns	*chain_dns(const struct chain *);

/* chain_sess_new - one connection's view; session_id copied; workers (not
 * owned, may be NULL: deferred work then fails) runs the filters' blocking
 * work and must outlive the chain_sess. */
struct chain_sess *chain_sess_new(struct chain *, const struct conf *,
		    const char *session_id, struct worker_pool *workers,
		    chain_resume_cb, void *arg);
/* chain_sess_free - delivers close to every filter, then frees. */
void		 chain_sess_free(struct chain_sess *);

/*
 * Stages.  Each returns the stage's verdict, or FV_PENDING, in which case
 * the resume callback gets the verdict later.  Arguments must stay valid until
 * the stage is complete.  FV_ACCEPT is remembered: later stages of the
 * message (of the connection, for connect/helo) call only the
 * FILTER_AFTER_ACCEPT filters, and return FV_CONTINUE at once without any.
 */
enum fv		 chain_connect(struct chain_sess *, const char *host,
		    const struct sockaddr *);
enum fv		 chain_helo(struct chain_sess *, const char *name);
enum fv		 chain_envfrom(struct chain_sess *, const char *addr,
		    char *const *params);
enum fv		 chain_envrcpt(struct chain_sess *, const char *addr,
		    char *const *params);
enum fv		 chain_data(struct chain_sess *);
enum fv		 chain_header(struct chain_sess *, const char *name,
		    const char *value, size_t valuelen);
enum fv		 chain_eoh(struct chain_sess *);
enum fv		 chain_body(struct chain_sess *, const unsigned char *, size_t);
enum fv		 chain_eom(struct chain_sess *);
/* chain_abort - the transaction ended without eom (RSET, disconnect, a
 * reject): abort to every filter, per-message state cleared. */
void		 chain_abort(struct chain_sess *);
/* chain_tx_done - after eom: per-message state cleared for the next one. */
void		 chain_tx_done(struct chain_sess *);

/* Whether the header field of the last chain_header is to be removed: an
 * Authentication-Results claiming our authserv-id, when a FILTER_AUTHRES
 * filter runs.  Cleared by the next chain_header. */
int		 chain_header_deleted(const struct chain_sess *);

/*
 * chain_set_client - the client's host names, before chain_connect (not
 * duplicated: they must outlive the chain_sess; both "[UNAVAILABLE]" until
 * then): name the verified one, else "[UNAVAILABLE]" or "[TEMPUNAVAIL]";
 * reverse its PTR name whatever the forward lookup says, or the same
 * tokens (Postfix's XCLIENT NAME and REVERSE_NAME).  Filters read them
 * with fctx_client_name and fctx_reverse_name.
 */
void		 chain_set_client(struct chain_sess *, const char *name,
		    const char *reverse);

/* chain_set_auth - the client authenticated (AUTH, relayed to the backend,
 * said 235): who (copied; the mechanism when the name is not known). */
void		 chain_set_auth(struct chain_sess *, const char *who);

/* Whether any filter still to be called wants header/body events (else the
 * feed is skipped). */
int		 chain_wants_content(const struct chain_sess *);

const struct verdict_reply *chain_reply(const struct chain_sess *);
/* chain_stage_name - the stage last started: connect, helo, mail, rcpt,
 * data, header, eoh, body or eom. */
const char	*chain_stage_name(const struct chain_sess *);
/* Queued header additions for this message, in order; the
 * Authentication-Results header, when a filter gave results, first, and
 * not at all on outbound mail (fctx_outbound). */
size_t		 chain_headers(const struct chain_sess *,
		    const struct chain_header **);
/* Queued changes to the message's own header fields, in order. */
size_t		 chain_edits(const struct chain_sess *,
		    const struct chain_edit **);
/* The replacement body a filter gave (fctx_replace_body), or NULL. */
const char	*chain_new_body(const struct chain_sess *, size_t *len);
/* Each filter's result, "name=result ..." into buf. */
void		 chain_results(const struct chain_sess *, char *buf,
		    size_t bufsz);
struct txlog_result;
/* chain_result_list - the same as a list (texts valid until the next
 * stage): at most max into out; how many. */
size_t		 chain_result_list(const struct chain_sess *,
		    struct txlog_result *out, size_t max);

#endif

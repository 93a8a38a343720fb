/* SPDX-License-Identifier: ISC */
/*
 * filter.h - the one interface every filter implements and every front end
 * (the SMTP proxy, the milter, the dry run) drives.  Callbacks mirror
 * libmilter's xxfi_* and return a verdict; a NULL callback means "not
 * interested" (and becomes an SMFIP_NO* flag in milter mode).
 *
 * Contracts:
 * - Arguments are borrowed for the call only; keep copies in the
 *   per-connection priv (fctx_priv/fctx_set_priv).
 * - connect: host is the client's verified host name, or its address in
 *   brackets ("[192.0.2.1]", "[2001:db8::1]") when it has none, as
 *   libmilter's xxfi_connect gives it; sa its address (may be NULL when
 *   the front end has none).
 * - header: name without the colon, value raw after the colon (leading
 *   space and folding kept, no final CRLF), valuelen bytes with a NUL after
 *   them.  body: dot-unstuffed, CRLF line ends, arbitrary chunk boundaries.
 * - Message data holds no NUL byte: every front end reads content through
 *   the DATA reader, which refuses or strips them (proxy.nul_bytes), and
 *   libmilter hands over C strings.  Lengths are authoritative all the
 *   same: what a filter derives from the data (an RFC 2047 decoded value,
 *   a decoded body part) may hold a NUL, so it never goes through strlen
 *   or "%s".
 * - A verdict other than FV_CONTINUE may set its reply with fctx_reply();
 *   policy/ supplies a default reply when it does not.  Header additions are
 *   queued and applied by the front end at end of message.
 * - FV_PENDING: the filter started asynchronous work and will call
 *   fctx_resume() exactly once, from the event loop, after returning; the
 *   chain then goes on with the next filter.
 * - abort (transaction ends without eom) and close (connection ends: free
 *   priv) are always delivered, even after a reject, and even while the
 *   filter is PENDING: it must then cancel its work and never resume.
 * - Filters never touch sockets, libevent, or mutable globals.
 */
#ifndef POSTERN_FILTER_H
#define POSTERN_FILTER_H

#include <stddef.h>
#include <sys/socket.h>

#include "policy/authres.h"
#include "policy/verdict.h"

struct conf;
struct dns;
struct fctx;
struct store_req;
struct store_reply;

#define FILTER_NEEDS_DNS	0x01	/* the chain sets up the resolver */
#define FILTER_AUTHRES		0x02	/* writes Authentication-Results: the
					   chain removes incoming ones that
					   claim our authserv-id (RFC 8601 5) */
#define FILTER_AFTER_ACCEPT	0x04	/* still called after an earlier
					   filter accepted the message or
					   connection: it acts on the message
					   (signs it) rather than checking it */
#define FILTER_NEEDS_STORE	0x08	/* the chain sets up the shared
					   store (lib/store.h) */

struct filter_ops {
	const char	*name;
	unsigned	 needs;		/* FILTER_NEEDS_* */
	/* dns: the shared resolver with FILTER_NEEDS_DNS, else NULL */
	int		(*init)(const struct conf *, struct dns *,
			    void **gpriv, char *err, size_t errsz);
	void		(*fini)(void *gpriv);
	enum fv		(*connect)(struct fctx *, const char *host,
			    const struct sockaddr *);
	enum fv		(*helo)(struct fctx *, const char *name);
	enum fv		(*envfrom)(struct fctx *, const char *addr,
			    char *const *params);
	enum fv		(*envrcpt)(struct fctx *, const char *addr,
			    char *const *params);
	enum fv		(*data)(struct fctx *);
	enum fv		(*header)(struct fctx *, const char *name,
			    const char *value, size_t valuelen);
	enum fv		(*eoh)(struct fctx *);
	enum fv		(*body)(struct fctx *, const unsigned char *, size_t);
	enum fv		(*eom)(struct fctx *);
	void		(*abort)(struct fctx *);
	void		(*close)(struct fctx *);
	/* descriptors one connection holds open for the filter (NULL:
	 * none): they count against the process's limit */
	unsigned	(*session_fds)(void *gpriv);
};

/* Per-connection private data of the filter (smfi_getpriv/smfi_setpriv). */
void		*fctx_priv(struct fctx *);
void		 fctx_set_priv(struct fctx *, void *);
/* The filter's global data from init, and the configuration in force. */
void		*fctx_gpriv(struct fctx *);
const struct conf *fctx_conf(struct fctx *);
/* The session id that starts every log line of this connection. */
const char	*fctx_session_id(struct fctx *);

/* fctx_reply - the reply for a REJECT/TEMPFAIL verdict: a 3-digit code, an
 * RFC 3463 enhanced code, and text (copied). */
void		 fctx_reply(struct fctx *, const char *code, const char *esc,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* fctx_add_header - queue a header field for the top of the message
 * (name and value copied; value without the leading space).  A name that
 * is not a field name is refused; the value is made one field: a line
 * break in it becomes a fold (policy/hdrbuild.c: hdrbuild_field). */
void		 fctx_add_header(struct fctx *, const char *name,
		    const char *value);
/* fctx_change_header - at eom: replace the index-th (1-based) field called
 * name among those the filters were given with value, or delete it when
 * value is NULL (name and value copied).  The front end applies it; a
 * replaced field moves to the top of the message. */
void		 fctx_change_header(struct fctx *, const char *name,
		    unsigned index, const char *value);
/* fctx_replace_body - at eom: the message's body becomes data (len
 * bytes, appended to what an earlier call gave; copied). */
void		 fctx_replace_body(struct fctx *, const void *data, size_t len);
/* fctx_result - this filter's result for the transaction log, e.g. "pass"
 * (copied; replaces an earlier one for the same transaction). */
void		 fctx_result(struct fctx *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
/* fctx_resume - finish a stage that returned FV_PENDING.  Event loop only. */
void		 fctx_resume(struct fctx *, enum fv);

/* Work that blocks, on the worker pool. */
typedef void	(*fctx_work_fn)(void *arg);	/* on a pool thread */
/* On the event loop, once: fx is NULL when the work was cancelled (the
 * transaction or connection ended first): then only free arg. */
typedef void	(*fctx_done_fn)(struct fctx *fx, void *arg);
/*
 * fctx_defer - run work(arg) on the worker pool, then done(fx, arg) on the
 * loop, where the filter calls fctx_resume.  The filter returns FV_PENDING
 * after a 0; -1 means the pool is full (or absent): answer with a temporary
 * error now.  The chain cancels the work itself when the stage is
 * abandoned (abort, close).  arg is not duplicated.
 */
int		 fctx_defer(struct fctx *, fctx_work_fn work, fctx_done_fn done,
		    void *arg);
/* fctx_dns - the shared resolver (for FILTER_NEEDS_DNS filters), for use
 * in work functions. */
struct dns	*fctx_dns(struct fctx *);

/* On the event loop, once: fx is NULL when the call was cancelled (the
 * stage was abandoned): then only free arg.  r is valid for the call. */
typedef void	(*fctx_store_fn)(struct fctx *fx, void *arg,
		    const struct store_reply *r);
/*
 * fctx_store - run req (copied) on the shared store (FILTER_NEEDS_STORE
 * filters), then done(fx, arg, reply) on the loop, where the filter calls
 * fctx_resume; the filter returns FV_PENDING.  A store that cannot answer
 * says so in the reply (lib/store.h), never here.  Like fctx_defer, one
 * call at a time, cancelled by the chain when the stage is abandoned.
 * Returns -1 when the front end runs no event loop for the chain
 * (postern test) or a call is in flight.
 */
int		 fctx_store(struct fctx *, const struct store_req *req,
		    fctx_store_fn done, void *arg);

/* fctx_header_deleted - at the header stage: whether the front end removes
 * this header field from the message it relays (a forged
 * Authentication-Results), so that a signer leaves it out. */
int		 fctx_header_deleted(struct fctx *);

/* fctx_authenticated - whom the client authenticated as (SMTP AUTH), or
 * NULL. */
const char	*fctx_authenticated(struct fctx *);

/* fctx_client_name - the client's verified host name (a PTR name of its
 * address whose A/AAAA records hold the address), or "[UNAVAILABLE]" or
 * "[TEMPUNAVAIL]"; fctx_reverse_name - a PTR name of its address, verified
 * or not, or the same tokens.  A name is a valid host name: letters,
 * digits, '-', '_' and dots. */
const char	*fctx_client_name(struct fctx *);
const char	*fctx_reverse_name(struct fctx *);
/* fctx_client_addr - the client's address as text ("192.0.2.1",
 * "2001:db8::1"), from the connect stage on: from its sa, or its host
 * without brackets when the front end gave none. */
const char	*fctx_client_addr(struct fctx *);

/* fctx_authres - add a result, "method=result (comment) name=value ...",
 * to this message's one Authentication-Results header (RFC 8601), which
 * the chain builds with proxy.authserv_id (policy/authres.c:
 * authres_add): method, result and the property names are the filter's
 * own words; comment (NULL for none) and the values may hold any text. */
void		 fctx_authres(struct fctx *, const char *method,
		    const char *result, const char *comment,
		    const struct authres_prop *props, size_t nprops);
/* One result a filter gave for this message (fctx_authres), copied. */
#define FCTX_AUTH_PROPS	4
struct fctx_auth {
	char		*method;	/* "spf", "dkim" ... */
	char		*result;	/* "pass", "fail" ... */
	struct authres_prop props[FCTX_AUTH_PROPS];	/* the first ones */
	size_t		 nprops;
};
/* fctx_auth_results - the results the filters before this one gave for
 * this message, in order (*out valid until the message ends): what DMARC
 * builds on. */
size_t		 fctx_auth_results(struct fctx *, const struct fctx_auth **out);

/* fctx_authres_text - the value of this message's Authentication-Results
 * as the filters so far made it ("authserv-id; method=result ..."), or
 * NULL when none gave a result; valid until the next fctx_authres. */
const char	*fctx_authres_text(struct fctx *);
/* fctx_modified - whether a filter changed or removed a header field of
 * this message, or replaced its body (fields added at the top do not
 * count). */
int		 fctx_modified(struct fctx *);

/* fctx_outbound - this message is outbound mail (a filter signs it): the
 * chain adds no Authentication-Results to it.  Results describe mail as it
 * came in, for the MTA and the mailbox behind postern; on mail leaving the
 * site they would only tell the world about our own users' mail. */
void		 fctx_outbound(struct fctx *);

const char	*filter_verdict_name(enum fv);

/* The filters (filters/<name>.c), for the registry in chain.c. */
extern const struct filter_ops flt_iplist_ops;
extern const struct filter_ops flt_regex_ops;
extern const struct filter_ops flt_spf_ops;
extern const struct filter_ops flt_dkim_verify_ops;
extern const struct filter_ops flt_dkim_sign_ops;
extern const struct filter_ops flt_milter_ops;
extern const struct filter_ops flt_dnsbl_ops;
extern const struct filter_ops flt_ratelimit_ops;
extern const struct filter_ops flt_greylist_ops;
extern const struct filter_ops flt_arc_ops;
extern const struct filter_ops flt_arc_seal_ops;
extern const struct filter_ops flt_dmarc_ops;

#endif

/* SPDX-License-Identifier: ISC */
/*
 * dkim_verify.c - the dkim_verify filter: every DKIM-Signature of an
 * inbound message verified with libopendkim (RFC 6376, RFC 8463), and the
 * dkim.require policy.
 *
 * libopendkim is fed as the bytes arrive: each header field at the header
 * stage, the end of the header at eoh, body chunks at body (no second pass over
 * the spool).  Key lookups and the crypto happen in dkim_eom alone
 * (DKIM_LIBFLAGS_DELAYSIGPROC keeps them out of dkim_eoh), which runs on the
 * worker pool; so does dkim_eoh of a signed message (its cost grows with the
 * signed names times the header fields).  libopendkim's DNS goes through
 * postern's shared resolver: its query hooks call dns_query synchronously and
 * hand the answer back as the DNS reply libopendkim parses itself; a whole
 * message's lookups end at dkim.timeout.
 *
 * Each signature becomes a dkim= part of Authentication-Results (RFC 8601:
 * pass, fail, neutral, temperror, permerror, policy, with header.d,
 * header.s, header.a and a reason); an unsigned message gets dkim=none.
 * A signature whose l= tag leaves part of the body unsigned is policy,
 * not pass (RFC 6376 8.2: anything may be appended to such a message); the
 * body's canonicalized length is counted here as it goes to libopendkim,
 * which only counts what it hashes.  An l= longer than the body is a fail.
 * A signature that does not pass only marks the message, unless its From
 * domain is on dkim.require: then the message needs a passing signature
 * with that d=, else 550 5.7.20, or 451 4.7.5 when that domain's key
 * lookup failed.
 * Incoming Authentication-Results that claim our authserv-id are removed
 * (by the chain: FILTER_AUTHRES).
 *
 * Public: flt_dkim_verify_ops; the pure helpers of dkim_verify.h
 * (flt_dkim_verify_wire, flt_dkim_verify_classify,
 * flt_dkim_verify_res_name, flt_dkim_verify_length).  The body length
 * an l= tag is compared with is counted by proto/dkimcanon.c.  The dkim= results go through fctx_authres:
 * a signature's d= and s= and libopendkim's reason are written there
 * (policy/authres.c) so that none of them can add a result.
 *
 * DIAGNOSTICS
 *	init: "dkim.require: ..." table errors, libopendkim set-up failures.
 *	Each signature is logged at debug level with its result; a full
 *	worker pool is logged (warn) and gives temperror.
 */
#include <arpa/nameser.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <opendkim/dkim.h>

#include "filters/dkim_verify.h"
#include "filters/filter.h"
#include "lib/dns.h"
#include "lib/log.h"
#include "policy/authres.h"
#include "policy/conf.h"
#include "proto/dkimcanon.h"

#include "lib/util.h"
#include "policy/table.h"

/* Per-event warnings, one line of a kind an interval (the log's own
 * state, thread-safe; the filter never reads it). */
static struct log_limit flt_dkim_verify_log_full =
	    LOG_LIMIT("dkim_verify: worker pool full");

#define FLT_DKIM_VERIFY_SIGS_MAX	16	/* verified per message */
#define FLT_DKIM_VERIFY_NAME_MAX	256
#define FLT_DKIM_VERIFY_REASON_MAX	128

/* Global: the library handle (options set in init, before any thread uses
 * it; then shared read-only) and the require table. */
struct flt_dkim_verify {
	DKIM_LIB		*lib;
	struct dns		*dns;		/* not owned */
	struct addrtable	*require;	/* NULL: none */
};

/* One signature's outcome, copied out of libopendkim on the pool. */
struct flt_dkim_verify_sig {
	enum flt_dkim_verify_res res;
	char		 d[FLT_DKIM_VERIFY_NAME_MAX];
	char		 s[FLT_DKIM_VERIFY_NAME_MAX];
	const char	*alg;			/* static */
	char		 reason[FLT_DKIM_VERIFY_REASON_MAX];	/* "" none */
};

/* Per transaction (the filter's priv).  Owns dkim until eom hands it to
 * the job. */
struct flt_dkim_verify_tx {
	DKIM		*dkim;
	int		 broken;	/* libopendkim refused the input */
	size_t		 nsigs;		/* DKIM-Signature fields seen */
	struct dkimcanon_body blen[2];	/* body length: simple, relaxed */
	char		 require[FLT_DKIM_VERIFY_NAME_MAX]; /* From domain on
					   dkim.require, "" none */
};

/* The eom job: owns dkim; the outcomes come back in sigs. */
struct flt_dkim_verify_job {
	struct flt_dkim_verify	*g;
	DKIM			*dkim;
	unsigned		 timeout_ms;
	size_t			 bodylen[2];	/* simple, relaxed */
	char			 require[FLT_DKIM_VERIFY_NAME_MAX];
	size_t			 nsigs;
	struct flt_dkim_verify_sig sigs[FLT_DKIM_VERIFY_SIGS_MAX];
};

/* The eoh job of a signed message: owns dkim while libopendkim picks each
 * signature's fields out of the header. */
struct flt_dkim_verify_eoh {
	DKIM			*dkim;
	DKIM_STAT		 st;
};

/* The libopendkim query handle: the reply is written at start. */
struct flt_dkim_verify_query {
	size_t		 len;
};

/*
 * The deadline of the message being verified on this worker thread: the
 * query hooks get no per-message argument, so dkim_eom's caller sets it
 * for the call and clears it after.  Each thread sees only its own.
 */
static __thread uint64_t flt_dkim_verify_until;

static int	flt_dkim_verify_init(const struct conf *, struct dns *, void **,
		    char *, size_t);
static void	flt_dkim_verify_fini(void *);
static enum fv	flt_dkim_verify_data(struct fctx *);
static enum fv	flt_dkim_verify_header(struct fctx *, const char *,
		    const char *, size_t);
static enum fv	flt_dkim_verify_eoh(struct fctx *);
static void	flt_dkim_verify_eoh_work(void *);
static void	flt_dkim_verify_eoh_done(struct fctx *, void *);
static void	flt_dkim_verify_eoh_log(struct fctx *, DKIM_STAT);
static enum fv	flt_dkim_verify_body(struct fctx *, const unsigned char *,
		    size_t);
static enum fv	flt_dkim_verify_eom(struct fctx *);
static void	flt_dkim_verify_abort(struct fctx *);
static void	flt_dkim_verify_work(void *);
static void	flt_dkim_verify_done(struct fctx *, void *);
static enum fv	flt_dkim_verify_decide(struct fctx *,
		    struct flt_dkim_verify_job *);
static void	flt_dkim_verify_mark(struct fctx *,
		    const struct flt_dkim_verify_job *);
static void	flt_dkim_verify_collect(struct flt_dkim_verify_job *);
static void	flt_dkim_verify_collect_sig(struct flt_dkim_verify_job *,
		    DKIM_SIGINFO *, struct flt_dkim_verify_sig *);
static const char *flt_dkim_verify_alg(DKIM_SIGINFO *);
static struct flt_dkim_verify_tx *flt_dkim_verify_tx(struct fctx *);
static void	flt_dkim_verify_tx_free(struct fctx *);
static void	flt_dkim_verify_from(struct fctx *,
		    struct flt_dkim_verify_tx *, const char *);
static int	flt_dkim_verify_qstart(void *, int, unsigned char *,
		    unsigned char *, size_t, void **);
static int	flt_dkim_verify_qwait(void *, void *, struct timeval *,
		    size_t *, int *, int *);
static int	flt_dkim_verify_qcancel(void *, void *);
static DKIM_CBSTAT flt_dkim_verify_prescreen(DKIM *, DKIM_SIGINFO **, int);

const struct filter_ops flt_dkim_verify_ops = {
	.name = "dkim_verify",
	.needs = FILTER_NEEDS_DNS | FILTER_AUTHRES,
	.init = flt_dkim_verify_init,
	.fini = flt_dkim_verify_fini,
	.data = flt_dkim_verify_data,
	.header = flt_dkim_verify_header,
	.eoh = flt_dkim_verify_eoh,
	.body = flt_dkim_verify_body,
	.eom = flt_dkim_verify_eom,
	.abort = flt_dkim_verify_abort,
	.close = flt_dkim_verify_abort,
};

static int
flt_dkim_verify_init(const struct conf *c, struct dns *dns, void **gpriv,
    char *err, size_t errsz)
{
	struct flt_dkim_verify	*g = xcalloc(1, sizeof(*g));
	char			 l[400];	/* the list's label */
	unsigned		 flags = DKIM_LIBFLAGS_DELAYSIGPROC |
				    DKIM_LIBFLAGS_BADSIGHANDLES;

	*gpriv = g;
	g->dns = dns;
	if (addrtable_from(&g->require, c->dkim_require, c->dkim_require_file,
	    conf_label(c, "dkim", "require", l, sizeof(l)), err, errsz) == -1)
		goto fail;
	if ((g->lib = dkim_init(NULL, NULL)) == NULL) {
		util_err_append(err, errsz, "dkim_verify: dkim_init failed");
		goto fail;
	}
	if (dkim_options(g->lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags,
	    sizeof(flags)) != DKIM_STAT_OK ||
	    dkim_set_prescreen(g->lib, flt_dkim_verify_prescreen) !=
	    DKIM_STAT_OK) {
		util_err_append(err, errsz, "dkim_verify: dkim_options failed");
		goto fail;
	}
	dkim_dns_set_query_service(g->lib, g);
	dkim_dns_set_query_start(g->lib, flt_dkim_verify_qstart);
	dkim_dns_set_query_waitreply(g->lib, flt_dkim_verify_qwait);
	dkim_dns_set_query_cancel(g->lib, flt_dkim_verify_qcancel);
	/* Else dkim_close() would res_nclose() and free our service handle
	 * (LIBRARIES.md 2: double free). */
	dkim_dns_set_init(g->lib, NULL);
	dkim_dns_set_close(g->lib, NULL);
	return 0;
fail:
	flt_dkim_verify_fini(g);
	*gpriv = NULL;
	return -1;
}

static void
flt_dkim_verify_fini(void *gpriv)
{
	struct flt_dkim_verify	*g = gpriv;

	if (g == NULL)
		return;
	if (g->lib != NULL)
		dkim_close(g->lib);
	if (g->require != NULL)
		addrtable_free(g->require);
	free(g);
}

/* At most FLT_DKIM_VERIFY_SIGS_MAX signatures are verified: each may cost
 * a key lookup and an RSA operation on a worker. */
static DKIM_CBSTAT
flt_dkim_verify_prescreen(DKIM *dkim, DKIM_SIGINFO **sigs, int nsigs)
{
	int	 i;

	(void)dkim;
	for (i = FLT_DKIM_VERIFY_SIGS_MAX; i < nsigs; i++)
		dkim_sig_ignore(sigs[i]);
	return DKIM_CBSTAT_CONTINUE;
}

/* The transaction's state, started on first use. */
static struct flt_dkim_verify_tx *
flt_dkim_verify_tx(struct fctx *fx)
{
	struct flt_dkim_verify		*g = fctx_gpriv(fx);
	struct flt_dkim_verify_tx	*t = fctx_priv(fx);
	DKIM_STAT			 st;

	if (t != NULL)
		return t;
	t = xcalloc(1, sizeof(*t));
	dkimcanon_body_init(&t->blen[0], 0, NULL, NULL);
	dkimcanon_body_init(&t->blen[1], 1, NULL, NULL);
	t->dkim = dkim_verify(g->lib, (const unsigned char *)
	    fctx_session_id(fx), NULL, &st);
	if (t->dkim == NULL)
		t->broken = 1;
	fctx_set_priv(fx, t);
	return t;
}

static void
flt_dkim_verify_tx_free(struct fctx *fx)
{
	struct flt_dkim_verify_tx	*t = fctx_priv(fx);

	if (t == NULL)
		return;
	if (t->dkim != NULL)
		dkim_free(t->dkim);
	free(t);
	fctx_set_priv(fx, NULL);
}

static enum fv
flt_dkim_verify_data(struct fctx *fx)
{
	/* A message whose eom never came (another filter accepted it). */
	flt_dkim_verify_tx_free(fx);
	return FV_CONTINUE;
}

static enum fv
flt_dkim_verify_header(struct fctx *fx, const char *name, const char *value,
    size_t vlen)
{
	struct flt_dkim_verify_tx	*t = flt_dkim_verify_tx(fx);
	size_t				 nlen = strlen(name);
	char				*line;

	if (strcasecmp(name, "From") == 0)
		flt_dkim_verify_from(fx, t, value);
	if (strcasecmp(name, DKIM_SIGNHEADER) == 0)
		t->nsigs++;
	if (t->broken)
		return FV_CONTINUE;
	/* "Name:value" as received, without the final CRLF. */
	line = xmalloc(nlen + vlen + 2);
	memcpy(line, name, nlen);
	line[nlen] = ':';
	memcpy(line + nlen + 1, value, vlen);
	line[nlen + 1 + vlen] = '\0';
	if (dkim_header(t->dkim, (unsigned char *)line, nlen + 1 + vlen) !=
	    DKIM_STAT_OK)
		log_debug("%s dkim_verify: header %s refused: %s",
		    fctx_session_id(fx), name, dkim_geterror(t->dkim));
	free(line);
	return FV_CONTINUE;
}

/*
 * Remember the From domain when it is on dkim.require (the first such one:
 * RFC 5322 allows one From field; a second cannot lift the requirement).
 * libopendkim's own address parser reads it.
 */
static void
flt_dkim_verify_from(struct fctx *fx, struct flt_dkim_verify_tx *t,
    const char *value)
{
	struct flt_dkim_verify	*g = fctx_gpriv(fx);
	unsigned char		*copy, *user = NULL, *domain = NULL;
	char			 addr[FLT_DKIM_VERIFY_NAME_MAX + 2];

	if (g->require == NULL || t->require[0] != '\0')
		return;
	copy = (unsigned char *)xstrdup(value);
	if (dkim_mail_parse(copy, &user, &domain) == 0 && domain != NULL &&
	    domain[0] != '\0') {
		snprintf(addr, sizeof(addr), "@%s", (char *)domain);
		if (addrtable_lookup(g->require, addr, NULL))
			strlcpy(t->require, (char *)domain,
			    sizeof(t->require));
	}
	free(copy);
}

/*
 * dkim_eoh picks the fields each signature's h= names out of the whole
 * header: names x fields of work, seconds for a crafted message (160,000
 * fields and an h= of 30,000 names held the loop 1.3 s).  A signed message
 * has it done on the pool; the handle goes with the job and comes back.
 */
static enum fv
flt_dkim_verify_eoh(struct fctx *fx)
{
	struct flt_dkim_verify_tx	*t = flt_dkim_verify_tx(fx);
	struct flt_dkim_verify_eoh	*e;

	if (t->broken)
		return FV_CONTINUE;
	if (t->nsigs > 0) {
		e = xcalloc(1, sizeof(*e));
		e->dkim = t->dkim;
		t->dkim = NULL;
		if (fctx_defer(fx, flt_dkim_verify_eoh_work,
		    flt_dkim_verify_eoh_done, e) == 0)
			return FV_PENDING;
		t->dkim = e->dkim;	/* pool full: here, then */
		free(e);
	}
	flt_dkim_verify_eoh_log(fx, dkim_eoh(t->dkim));
	return FV_CONTINUE;
}

static void
flt_dkim_verify_eoh_work(void *arg)
{
	struct flt_dkim_verify_eoh	*e = arg;

	e->st = dkim_eoh(e->dkim);
}

/* Back on the loop: the handle back to the transaction (or freed with a
 * stage abandoned meanwhile), and on. */
static void
flt_dkim_verify_eoh_done(struct fctx *fx, void *arg)
{
	struct flt_dkim_verify_eoh	*e = arg;
	struct flt_dkim_verify_tx	*t;

	if (fx == NULL) {
		dkim_free(e->dkim);
		free(e);
		return;
	}
	t = flt_dkim_verify_tx(fx);
	t->dkim = e->dkim;
	flt_dkim_verify_eoh_log(fx, e->st);
	free(e);
	fctx_resume(fx, FV_CONTINUE);
}

/* NOSIG is advisory; other errors leave the signatures to eom. */
static void
flt_dkim_verify_eoh_log(struct fctx *fx, DKIM_STAT st)
{
	if (st != DKIM_STAT_OK && st != DKIM_STAT_NOSIG)
		log_debug("%s dkim_verify: eoh: %s", fctx_session_id(fx),
		    dkim_getresultstr(st));
}

static enum fv
flt_dkim_verify_body(struct fctx *fx, const unsigned char *data, size_t len)
{
	struct flt_dkim_verify_tx	*t = flt_dkim_verify_tx(fx);

	if (t->broken || t->nsigs == 0)
		return FV_CONTINUE;
	(void)dkim_body(t->dkim, (unsigned char *)(uintptr_t)data, len);
	dkimcanon_body_add(&t->blen[0], data, len);
	dkimcanon_body_add(&t->blen[1], data, len);
	return FV_CONTINUE;
}

static enum fv
flt_dkim_verify_eom(struct fctx *fx)
{
	struct flt_dkim_verify_tx	*t = flt_dkim_verify_tx(fx);
	struct flt_dkim_verify_job	*j;
	size_t				 i;

	j = xcalloc(1, sizeof(*j));
	j->g = fctx_gpriv(fx);
	j->timeout_ms = fctx_conf(fx)->dkim_timeout * 1000;
	strlcpy(j->require, t->require, sizeof(j->require));
	j->bodylen[0] = dkimcanon_body_end(&t->blen[0]);
	j->bodylen[1] = dkimcanon_body_end(&t->blen[1]);
	if (t->nsigs == 0 || t->broken)
		return flt_dkim_verify_decide(fx, j);
	j->dkim = t->dkim;
	t->dkim = NULL;
	if (fctx_defer(fx, flt_dkim_verify_work, flt_dkim_verify_done,
	    j) == 0)
		return FV_PENDING;
	log_limited(&flt_dkim_verify_log_full, LOG_LEVEL_WARN, "%s "
	    "dkim_verify: worker pool full, temperror", fctx_session_id(fx));
	dkim_free(j->dkim);
	j->dkim = NULL;
	j->nsigs = t->nsigs < FLT_DKIM_VERIFY_SIGS_MAX ? t->nsigs :
	    FLT_DKIM_VERIFY_SIGS_MAX;
	for (i = 0; i < j->nsigs; i++) {
		j->sigs[i].res = FLT_DKIM_VERIFY_TEMPERROR;
		strlcpy(j->sigs[i].reason, "no worker free for the check",
		    sizeof(j->sigs[i].reason));
		/* d= unknown here: a required domain gets 451 below */
	}
	return flt_dkim_verify_decide(fx, j);
}

/* On a pool thread: the key lookups and the crypto. */
static void
flt_dkim_verify_work(void *arg)
{
	struct flt_dkim_verify_job	*j = arg;

	flt_dkim_verify_until = util_now_ms() + j->timeout_ms;
	(void)dkim_eom(j->dkim, NULL);
	flt_dkim_verify_until = 0;
	flt_dkim_verify_collect(j);
}

/* Each signature's outcome, out of the DKIM handle (then freed). */
static void
flt_dkim_verify_collect(struct flt_dkim_verify_job *j)
{
	DKIM_SIGINFO	**sigs;
	int		 i, n = 0;

	if (dkim_getsiglist(j->dkim, &sigs, &n) != DKIM_STAT_OK)
		n = 0;
	for (i = 0; i < n && j->nsigs < FLT_DKIM_VERIFY_SIGS_MAX; i++) {
		if (dkim_sig_getflags(sigs[i]) & DKIM_SIGFLAG_IGNORE)
			continue;
		flt_dkim_verify_collect_sig(j, sigs[i], &j->sigs[j->nsigs++]);
	}
	dkim_free(j->dkim);
	j->dkim = NULL;
}

static void
flt_dkim_verify_collect_sig(struct flt_dkim_verify_job *j, DKIM_SIGINFO *sig,
    struct flt_dkim_verify_sig *o)
{
	dkim_canon_t	 hc, bc = DKIM_CANON_SIMPLE;
	ssize_t		 canonlen = -1, signlen = -1;
	const char	*reason, *p;

	o->res = flt_dkim_verify_classify(dkim_sig_getflags(sig),
	    dkim_sig_getbh(sig), dkim_sig_geterror(sig), &reason);
	if (reason == NULL && o->res != FLT_DKIM_VERIFY_PASS)
		reason = dkim_sig_geterrorstr(dkim_sig_geterror(sig));
	strlcpy(o->reason, reason != NULL ? reason : "", sizeof(o->reason));
	if (dkim_sig_getcanons(sig, &hc, &bc) != DKIM_STAT_OK ||
	    dkim_sig_getcanonlen(j->dkim, sig, NULL, &canonlen, &signlen) !=
	    DKIM_STAT_OK) {
		signlen = 0;			/* l= unknown: no pass */
		canonlen = -1;
	}
	o->res = flt_dkim_verify_length(o->res, signlen, canonlen,
	    j->bodylen[bc == DKIM_CANON_RELAXED], o->reason,
	    sizeof(o->reason));
	p = (const char *)dkim_sig_getdomain(sig);
	strlcpy(o->d, p != NULL ? p : "", sizeof(o->d));
	p = (const char *)dkim_sig_getselector(sig);
	strlcpy(o->s, p != NULL ? p : "", sizeof(o->s));
	o->alg = flt_dkim_verify_alg(sig);
}

/*
 * The signature's a= as one of our static names, NULL when unknown.  From
 * the tag, not dkim_sig_getsignalg(): that is 0 (rsa-sha1) for a
 * signature libopendkim stopped at before it got to a= (x= expired, ...).
 */
static const char *
flt_dkim_verify_alg(DKIM_SIGINFO *sig)
{
	static const char *const algs[] = {
		"rsa-sha256", "ed25519-sha256", "rsa-sha1"
	};
	const char	*a;
	size_t		 i;

	a = (const char *)dkim_sig_gettagvalue(sig, 0, (u_char *)"a");
	for (i = 0; a != NULL && i < nitems(algs); i++)
		if (strcasecmp(a, algs[i]) == 0)
			return algs[i];
	return NULL;
}

/* Back on the loop. */
static void
flt_dkim_verify_done(struct fctx *fx, void *arg)
{
	struct flt_dkim_verify_job	*j = arg;

	if (fx == NULL) {
		if (j->dkim != NULL)
			dkim_free(j->dkim);
		free(j);
		return;
	}
	fctx_resume(fx, flt_dkim_verify_decide(fx, j));
}

/* Headers, log, and the verdict under dkim.require; frees j. */
static enum fv
flt_dkim_verify_decide(struct fctx *fx, struct flt_dkim_verify_job *j)
{
	const struct flt_dkim_verify_sig *o;
	int		 pass = 0, temp = 0;
	size_t		 i;
	enum fv		 v = FV_CONTINUE;

	flt_dkim_verify_mark(fx, j);
	for (i = 0; i < j->nsigs && j->require[0] != '\0'; i++) {
		o = &j->sigs[i];
		if (o->d[0] != '\0' && strcasecmp(o->d, j->require) != 0)
			continue;
		if (o->res == FLT_DKIM_VERIFY_PASS)
			pass = 1;
		else if (o->res == FLT_DKIM_VERIFY_TEMPERROR)
			temp = 1;
	}
	if (j->require[0] != '\0' && !pass) {
		if (temp) {
			fctx_reply(fx, "451", "4.7.5", "DKIM key for %s not "
			    "available, try again later", j->require);
			v = FV_TEMPFAIL;
		} else {
			fctx_reply(fx, "550", "5.7.20", "No valid DKIM "
			    "signature of %s", j->require);
			v = FV_REJECT;
		}
	}
	free(j);
	return v;
}

/* The dkim= parts of Authentication-Results and the log result. */
static void
flt_dkim_verify_mark(struct fctx *fx, const struct flt_dkim_verify_job *j)
{
	const struct flt_dkim_verify_sig *o;
	struct authres_prop p[3];
	char		 res[128];
	size_t		 i, n;

	if (j->nsigs == 0) {
		fctx_authres(fx, "dkim", "none", NULL, NULL, 0);
		fctx_result(fx, "none");
		return;
	}
	res[0] = '\0';
	for (i = 0; i < j->nsigs; i++) {
		o = &j->sigs[i];
		n = 0;
		p[n++] = (struct authres_prop){ "header.d", o->d };
		p[n++] = (struct authres_prop){ "header.s", o->s };
		if (o->alg != NULL)
			p[n++] = (struct authres_prop){ "header.a", o->alg };
		fctx_authres(fx, "dkim", flt_dkim_verify_res_name(o->res),
		    o->reason, p, n);
		if (i > 0)
			strlcat(res, ",", sizeof(res));
		strlcat(res, flt_dkim_verify_res_name(o->res), sizeof(res));
		log_debug("%s dkim_verify: d=%s s=%s: %s (%s)",
		    fctx_session_id(fx), o->d, o->s,
		    flt_dkim_verify_res_name(o->res), o->reason);
	}
	fctx_result(fx, "%s", res);
}

static void
flt_dkim_verify_abort(struct fctx *fx)
{
	flt_dkim_verify_tx_free(fx);
}

/* libopendkim's DNS, through dns_query.  On worker threads only. */

static int
flt_dkim_verify_qstart(void *srv, int type, unsigned char *name,
    unsigned char *buf, size_t buflen, void **qh)
{
	struct flt_dkim_verify		*g = srv;
	struct flt_dkim_verify_query	*q;
	struct dns_answer		 ans;
	int				 n;

	dns_query(g->dns, (const char *)name, type, flt_dkim_verify_until,
	    &ans);
	n = flt_dkim_verify_wire((const char *)name, type, &ans, buf, buflen);
	dns_answer_free(&ans);
	if (n == -1)
		return DKIM_DNS_ERROR;
	q = xcalloc(1, sizeof(*q));
	q->len = (size_t)n;
	*qh = q;
	return DKIM_DNS_SUCCESS;
}

/* The answer is there already: the query ran at start. */
static int
flt_dkim_verify_qwait(void *srv, void *qh, struct timeval *to,
    size_t *bytes, int *error, int *dnssec)
{
	struct flt_dkim_verify_query	*q = qh;

	(void)srv;
	(void)to;
	if (bytes != NULL)
		*bytes = q->len;
	if (error != NULL)
		*error = 0;
	if (dnssec != NULL)
		*dnssec = DKIM_DNSSEC_UNKNOWN;
	return DKIM_DNS_SUCCESS;
}

static int
flt_dkim_verify_qcancel(void *srv, void *qh)
{
	(void)srv;
	free(qh);
	return DKIM_DNS_SUCCESS;
}

/* The pure helpers (dkim_verify.h). */

static int
flt_dkim_verify_put16(unsigned char *buf, size_t bufsz, size_t *off,
    unsigned v)
{
	if (bufsz - *off < 2)
		return -1;
	buf[(*off)++] = (v >> 8) & 0xff;
	buf[(*off)++] = v & 0xff;
	return 0;
}

/* name as wire labels at buf+*off. */
static int
flt_dkim_verify_put_name(const char *name, unsigned char *buf, size_t bufsz,
    size_t *off)
{
	size_t		 len = strlen(name), start = *off, lab;
	const char	*p = name, *dot;

	if (len > 0 && name[len - 1] == '.')
		len--;
	/* (one more trailing dot would be an empty last label) */
	if (len == 0 || len > 253 || name[len - 1] == '.' ||
	    bufsz - *off < len + 2)
		return -1;
	while (p < name + len) {
		dot = memchr(p, '.', (size_t)(name + len - p));
		lab = dot != NULL ? (size_t)(dot - p) : (size_t)(name + len - p);
		if (lab == 0 || lab > 63)
			return -1;
		buf[(*off)++] = (unsigned char)lab;
		memcpy(buf + *off, p, lab);
		*off += lab;
		p += lab + (dot != NULL);
	}
	buf[(*off)++] = 0;
	return *off - start > 255 ? -1 : 0;
}

int
flt_dkim_verify_wire(const char *name, int type, const struct dns_answer *ans,
    unsigned char *buf, size_t bufsz)
{
	size_t		 off = 0, i, n;
	int		 rc = 0;

	if (ans->status == DNS_TEMPFAIL || bufsz < 12)
		return -1;
	n = ans->status == DNS_OK ? ans->n : 0;
	if (n > 0xffff)
		return -1;
	rc |= flt_dkim_verify_put16(buf, bufsz, &off, 0);	/* id */
	rc |= flt_dkim_verify_put16(buf, bufsz, &off, 0x8180 |
	    (ans->status == DNS_NXDOMAIN ? 3 : 0));	/* QR RD RA rcode */
	rc |= flt_dkim_verify_put16(buf, bufsz, &off, 1);
	rc |= flt_dkim_verify_put16(buf, bufsz, &off, (unsigned)n);
	rc |= flt_dkim_verify_put16(buf, bufsz, &off, 0);
	rc |= flt_dkim_verify_put16(buf, bufsz, &off, 0);
	if (rc != 0 || flt_dkim_verify_put_name(name, buf, bufsz, &off) == -1)
		return -1;
	rc |= flt_dkim_verify_put16(buf, bufsz, &off, (unsigned)type);
	rc |= flt_dkim_verify_put16(buf, bufsz, &off, ns_c_in);
	for (i = 0; i < n && rc == 0; i++) {
		if (ans->len[i] > 0xffff || bufsz - off < 12 + ans->len[i])
			return -1;
		flt_dkim_verify_put16(buf, bufsz, &off, 0xc00c);
		flt_dkim_verify_put16(buf, bufsz, &off, (unsigned)type);
		flt_dkim_verify_put16(buf, bufsz, &off, ns_c_in);
		flt_dkim_verify_put16(buf, bufsz, &off, ans->ttl >> 16);
		flt_dkim_verify_put16(buf, bufsz, &off, ans->ttl & 0xffff);
		flt_dkim_verify_put16(buf, bufsz, &off, (unsigned)ans->len[i]);
		memcpy(buf + off, ans->data[i], ans->len[i]);
		off += ans->len[i];
	}
	return rc != 0 || off > INT32_MAX ? -1 : (int)off;
}

/*
 * The result of each signature error libopendkim reports, and our reason
 * (NULL: libopendkim's text).  Errors not here are in the signature itself
 * (syntax, x= < t=, ...): it could not be processed, neutral (RFC 8601
 * 2.7.1).
 */
static const struct {
	int			 sigerror;	/* DKIM_SIGERROR_* */
	enum flt_dkim_verify_res res;
	const char		*reason;
} flt_dkim_verify_errors[] = {
	{ DKIM_SIGERROR_BADSIG, FLT_DKIM_VERIFY_FAIL,
	    "signature did not verify" },
	{ DKIM_SIGERROR_KEYREVOKED, FLT_DKIM_VERIFY_FAIL, "key revoked" },
	{ DKIM_SIGERROR_TOOLARGE_L, FLT_DKIM_VERIFY_FAIL,
	    "l= longer than the body" },
	{ DKIM_SIGERROR_EXPIRED, FLT_DKIM_VERIFY_NEUTRAL,
	    "signature expired" },
	{ DKIM_SIGERROR_FUTURE, FLT_DKIM_VERIFY_NEUTRAL,
	    "signature timestamp in the future" },
	{ DKIM_SIGERROR_KEYFAIL, FLT_DKIM_VERIFY_TEMPERROR,
	    "key lookup failed" },
	{ DKIM_SIGERROR_NOKEY, FLT_DKIM_VERIFY_PERMERROR, "no key" },
	/* libopendkim says "key DNS reply corrupt", but our replies are
	 * well formed (flt_dkim_verify_wire): it is the record, e.g. p= not
	 * base64 */
	{ DKIM_SIGERROR_DNSSYNTAX, FLT_DKIM_VERIFY_PERMERROR,
	    "key record syntax error" },
	{ DKIM_SIGERROR_KEYDECODE, FLT_DKIM_VERIFY_PERMERROR,
	    "p= is not a public key" },
	/* the rest of the key record */
	{ DKIM_SIGERROR_MULTIREPLY, FLT_DKIM_VERIFY_PERMERROR, NULL },
	{ DKIM_SIGERROR_KEYVERSION, FLT_DKIM_VERIFY_PERMERROR, NULL },
	{ DKIM_SIGERROR_KEYUNKNOWNHASH, FLT_DKIM_VERIFY_PERMERROR, NULL },
	{ DKIM_SIGERROR_KEYHASHMISMATCH, FLT_DKIM_VERIFY_PERMERROR, NULL },
	{ DKIM_SIGERROR_NOTEMAILKEY, FLT_DKIM_VERIFY_PERMERROR, NULL },
	{ DKIM_SIGERROR_KEYTYPEMISSING, FLT_DKIM_VERIFY_PERMERROR, NULL },
	{ DKIM_SIGERROR_KEYTYPEUNKNOWN, FLT_DKIM_VERIFY_PERMERROR, NULL },
	{ DKIM_SIGERROR_KEYTOOSMALL, FLT_DKIM_VERIFY_PERMERROR, NULL },
};

enum flt_dkim_verify_res
flt_dkim_verify_classify(unsigned flags, int bh, int sigerror,
    const char **reason)
{
	size_t	 i;

	*reason = NULL;
	if ((flags & DKIM_SIGFLAG_PASSED) && bh == DKIM_SIGBH_MATCH)
		return FLT_DKIM_VERIFY_PASS;
	if ((flags & DKIM_SIGFLAG_PASSED) && bh == DKIM_SIGBH_MISMATCH) {
		*reason = "body hash did not verify";
		return FLT_DKIM_VERIFY_FAIL;
	}
	for (i = 0; i < nitems(flt_dkim_verify_errors); i++) {
		if (flt_dkim_verify_errors[i].sigerror == sigerror) {
			*reason = flt_dkim_verify_errors[i].reason;
			return flt_dkim_verify_errors[i].res;
		}
	}
	if (sigerror != DKIM_SIGERROR_OK && sigerror != DKIM_SIGERROR_UNKNOWN)
		return FLT_DKIM_VERIFY_NEUTRAL;
	if (flags & DKIM_SIGFLAG_PROCESSED) {
		*reason = "signature did not verify";
		return FLT_DKIM_VERIFY_FAIL;
	}
	*reason = "signature not verified";
	return FLT_DKIM_VERIFY_NEUTRAL;
}

const char *
flt_dkim_verify_res_name(enum flt_dkim_verify_res r)
{
	static const char *const names[] = {
		"pass", "fail", "neutral", "temperror", "permerror", "policy"
	};

	return (size_t)r < nitems(names) ? names[r] : "permerror";
}

enum flt_dkim_verify_res
flt_dkim_verify_length(enum flt_dkim_verify_res res, ssize_t signlen,
    ssize_t canonlen, size_t bodylen, char *reason, size_t reasonsz)
{
	size_t	 left;

	if (res != FLT_DKIM_VERIFY_PASS || signlen < 0)
		return res;
	left = canonlen < 0 || (size_t)canonlen > bodylen ? bodylen :
	    bodylen - (size_t)canonlen;
	if (canonlen >= 0 && left == 0)
		return res;
	snprintf(reason, reasonsz, "%zu bytes of the body not signed", left);
	return FLT_DKIM_VERIFY_POLICY;
}



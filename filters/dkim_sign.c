/* SPDX-License-Identifier: ISC */
/*
 * dkim_sign.c - the dkim_sign filter: outbound mail signed (RFC 6376;
 * RSA-SHA256, and Ed25519-SHA256 per RFC 8463) by postern's own signer
 * on OpenSSL (dkimsig.c), one signature per matching entry of the
 * OpenDKIM-style signing table (dkimtab.c), so RSA and Ed25519 keys of one
 * domain give a dual signature.  The keys are decoded and checked once,
 * when the configuration is loaded.
 *
 * Outbound is a connection from dkim.internal_hosts or a client that
 * authenticated (dkim.outbound = internal), or any connection (any); the From
 * header's address then picks the keys.  The filter runs after an earlier
 * filter accepted the message (FILTER_AFTER_ACCEPT: allow-listed internal hosts
 * still get signed).
 *
 * Header fields are copied into the message being signed (except those
 * the front end removes: a forged Authentication-Results); at the end of
 * the header the From address picks the keys, and the body is hashed as
 * its chunks arrive.  The signatures are made at eom on the worker pool
 * (RSA costs about a quarter of a millisecond) and queued as
 * DKIM-Signature header fields for the top of the message; what other
 * filters add (Authentication-Results, Received-SPF) is outside the
 * signature.
 *
 * Public: flt_dkim_sign_ops.
 *
 * DIAGNOSTICS
 *	init: the table and key file errors of dkimtab_load ("path: what is
 *	wrong"), dkim.internal_hosts entries, bad header lists.
 *	A message that cannot be signed (OpenSSL failed, or the worker pool
 *	is full) is refused with 451 4.3.0 and logged (warn): an unsigned
 *	copy would fail DMARC at the receiver.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "filters/dkimsig.h"
#include "filters/dkimtab.h"
#include "filters/filter.h"
#include "lib/log.h"
#include "lib/util.h"
#include "policy/conf.h"
#include "policy/peerlist.h"

/* Global, read-only after init. */
struct flt_dkim_sign {
	struct dkimtab		*tab;
	struct peerlist		*internal;	/* NULL: outbound = any */
	int			 multi;
	struct dkimsig_opts	 opts;
};

/* Per connection (the filter's priv); the message part is reset by
 * flt_dkim_sign_tx_reset.  Owns the message being signed. */
struct flt_dkim_sign_conn {
	int			 internal;	/* internal_hosts, or outbound
					   = any */
	char			 user[DKIMTAB_NAME_MAX];
	char			 domain[DKIMTAB_NAME_MAX]; /* "" no From */
	struct dkimsig_msg	*msg;		/* NULL: nothing to sign */
	size_t			 nsigs;
	struct dkimtab_pick	 picks[DKIMTAB_PICKS_MAX];
};

/* The eom job: owns the message; the header values come back. */
struct flt_dkim_sign_job {
	const struct dkimsig_opts *opts;	/* the filter's */
	struct dkimsig_msg	*msg;
	time_t			 now;		/* t= */
	size_t			 nsigs;
	struct dkimtab_pick	 picks[DKIMTAB_PICKS_MAX];
	char			*sig[DKIMTAB_PICKS_MAX];   /* or NULL */
	char			 error[DKIMTAB_NAME_MAX * 2 + 320];
					/* the first failure: d=, s=, why */
};

static int	flt_dkim_sign_init(const struct conf *, struct dns *, void **,
		    char *, size_t);
static void	flt_dkim_sign_fini(void *);
static enum fv	flt_dkim_sign_connect(struct fctx *, const char *,
		    const struct sockaddr *);
static enum fv	flt_dkim_sign_data(struct fctx *);
static enum fv	flt_dkim_sign_header(struct fctx *, const char *,
		    const char *, size_t);
static enum fv	flt_dkim_sign_eoh(struct fctx *);
static enum fv	flt_dkim_sign_body(struct fctx *, const unsigned char *,
		    size_t);
static enum fv	flt_dkim_sign_eom(struct fctx *);
static void	flt_dkim_sign_abort(struct fctx *);
static void	flt_dkim_sign_close(struct fctx *);
static void	flt_dkim_sign_work(void *);
static void	flt_dkim_sign_done(struct fctx *, void *);
static enum fv	flt_dkim_sign_finish(struct fctx *,
		    struct flt_dkim_sign_job *);
static void	flt_dkim_sign_job_free(struct flt_dkim_sign_job *);
static int	flt_dkim_sign_outbound(struct fctx *,
		    const struct flt_dkim_sign_conn *);
static void	flt_dkim_sign_tx_reset(struct flt_dkim_sign_conn *);
static struct flt_dkim_sign_conn *flt_dkim_sign_conn(struct fctx *);

const struct filter_ops flt_dkim_sign_ops = {
	.name = "dkim_sign",
	.needs = FILTER_AFTER_ACCEPT,
	.init = flt_dkim_sign_init,
	.fini = flt_dkim_sign_fini,
	.connect = flt_dkim_sign_connect,
	.data = flt_dkim_sign_data,
	.header = flt_dkim_sign_header,
	.eoh = flt_dkim_sign_eoh,
	.body = flt_dkim_sign_body,
	.eom = flt_dkim_sign_eom,
	.abort = flt_dkim_sign_abort,
	.close = flt_dkim_sign_close,
};

static int
flt_dkim_sign_init(const struct conf *c, struct dns *dns, void **gpriv,
    char *err, size_t errsz)
{
	struct flt_dkim_sign	*g = xcalloc(1, sizeof(*g));
	char			 l[400];	/* the list's label */
	int			 bad = 0;

	(void)dns;
	*gpriv = g;
	g->multi = c->dkim_multiple_signatures;
	g->opts.hrelaxed = CONF_DKIM_CANON_HEADER(c->dkim_canon) != 0;
	g->opts.brelaxed = CONF_DKIM_CANON_BODY(c->dkim_canon) != 0;
	g->opts.ttl = c->dkim_signature_ttl;
	if (c->dkim_key_table[0] == '\0' || c->dkim_signing_table[0] == '\0') {
		util_err_append(err, errsz, "dkim_sign: dkim.key_table and "
		    "dkim.signing_table must be set");
		bad = 1;
	} else if ((g->tab = dkimtab_load(c->dkim_key_table,
	    c->dkim_signing_table, err, errsz)) == NULL)
		bad = 1;
	/* OpenDKIM's InternalHosts data set, as opendkim.conf(5) has it */
	if (c->dkim_outbound == CONF_DKIM_OUT_INTERNAL &&
	    (g->internal = peerlist_from(c->dkim_internal_hosts,
	    conf_label(c, "dkim", "internal_hosts", l, sizeof(l)), err,
	    errsz)) == NULL)
		bad = 1;
	if (dkimsig_opts_set(&g->opts, c->dkim_sign_headers,
	    c->dkim_oversign_headers) == -1) {
		util_err_append(err, errsz, "dkim.sign_headers, "
		    "dkim.oversign_headers: at most %d field names",
		    DKIMSIG_HDRS_MAX - 2);
		bad = 1;
	}
	if (bad) {
		flt_dkim_sign_fini(g);
		*gpriv = NULL;
		return -1;
	}
	return 0;
}

static void
flt_dkim_sign_fini(void *gpriv)
{
	struct flt_dkim_sign	*g = gpriv;

	if (g == NULL)
		return;
	dkimsig_opts_clear(&g->opts);
	dkimtab_free(g->tab);
	peerlist_free(g->internal);
	free(g);
}

static struct flt_dkim_sign_conn *
flt_dkim_sign_conn(struct fctx *fx)
{
	struct flt_dkim_sign_conn	*sc = fctx_priv(fx);

	if (sc == NULL) {
		sc = xcalloc(1, sizeof(*sc));
		fctx_set_priv(fx, sc);
	}
	return sc;
}

static enum fv
flt_dkim_sign_connect(struct fctx *fx, const char *host,
    const struct sockaddr *sa)
{
	struct flt_dkim_sign		*g = fctx_gpriv(fx);
	struct flt_dkim_sign_conn	*sc = flt_dkim_sign_conn(fx);

	sc->internal = g->internal == NULL ||
	    peerlist_match(g->internal, sa, host);
	return FV_CONTINUE;
}

/* Outbound mail: from an internal host, or from a client that
 * authenticated (as OpenDKIM signs for MTA-authenticated senders). */
static int
flt_dkim_sign_outbound(struct fctx *fx, const struct flt_dkim_sign_conn *sc)
{
	return sc->internal || fctx_authenticated(fx) != NULL;
}

static void
flt_dkim_sign_tx_reset(struct flt_dkim_sign_conn *sc)
{
	dkimsig_msg_free(sc->msg);
	sc->msg = NULL;
	sc->nsigs = 0;
	sc->user[0] = sc->domain[0] = '\0';
}

static enum fv
flt_dkim_sign_data(struct fctx *fx)
{
	flt_dkim_sign_tx_reset(flt_dkim_sign_conn(fx));
	return FV_CONTINUE;
}

static enum fv
flt_dkim_sign_header(struct fctx *fx, const char *name, const char *value,
    size_t vlen)
{
	struct flt_dkim_sign		*g = fctx_gpriv(fx);
	struct flt_dkim_sign_conn	*sc = flt_dkim_sign_conn(fx);

	if (!flt_dkim_sign_outbound(fx, sc) || fctx_header_deleted(fx))
		return FV_CONTINUE;
	if (sc->msg == NULL)
		sc->msg = dkimsig_msg_new(g->opts.brelaxed);
	if (strcasecmp(name, "From") == 0 && sc->domain[0] == '\0')
		dkimtab_from(value, sc->user, sizeof(sc->user), sc->domain,
		    sizeof(sc->domain));
	dkimsig_msg_header(sc->msg, name, value, vlen);
	return FV_CONTINUE;
}

static enum fv
flt_dkim_sign_eoh(struct fctx *fx)
{
	struct flt_dkim_sign		*g = fctx_gpriv(fx);
	struct flt_dkim_sign_conn	*sc = flt_dkim_sign_conn(fx);

	if (sc->msg == NULL)
		return FV_CONTINUE;
	sc->nsigs = sc->domain[0] == '\0' ? 0 : dkimtab_match(g->tab,
	    sc->user, sc->domain, g->multi, sc->picks, nitems(sc->picks));
	if (sc->nsigs == 0) {		/* nothing to hash the body for */
		dkimsig_msg_free(sc->msg);
		sc->msg = NULL;
	}
	return FV_CONTINUE;
}

static enum fv
flt_dkim_sign_body(struct fctx *fx, const unsigned char *data, size_t len)
{
	struct flt_dkim_sign_conn	*sc = flt_dkim_sign_conn(fx);

	if (sc->msg != NULL)
		dkimsig_msg_body(sc->msg, data, len);
	return FV_CONTINUE;
}

static enum fv
flt_dkim_sign_eom(struct fctx *fx)
{
	struct flt_dkim_sign		*g = fctx_gpriv(fx);
	struct flt_dkim_sign_conn	*sc = flt_dkim_sign_conn(fx);
	struct flt_dkim_sign_job	*j;

	if (!flt_dkim_sign_outbound(fx, sc)) {
		fctx_result(fx, "skip(inbound)");
		return FV_CONTINUE;
	}
	if (sc->nsigs == 0) {
		fctx_result(fx, sc->domain[0] == '\0' ? "none(no From "
		    "address)" : "none(%s not in the signing table)",
		    sc->domain);
		return FV_CONTINUE;
	}
	j = xcalloc(1, sizeof(*j));
	j->opts = &g->opts;
	j->msg = sc->msg;
	j->now = time(NULL);
	j->nsigs = sc->nsigs;
	memcpy(j->picks, sc->picks, sizeof(j->picks));
	sc->msg = NULL;
	sc->nsigs = 0;
	if (fctx_defer(fx, flt_dkim_sign_work, flt_dkim_sign_done, j) == 0)
		return FV_PENDING;
	strlcpy(j->error, "no worker free", sizeof(j->error));
	return flt_dkim_sign_finish(fx, j);
}

/* On a pool thread: the body hash and the signatures. */
static void
flt_dkim_sign_work(void *arg)
{
	struct flt_dkim_sign_job	*j = arg;
	struct dkimsig_key		 k = { 0 };
	char				 why[256];
	size_t				 i;

	for (i = 0; i < j->nsigs && j->error[0] == '\0'; i++) {
		k.pkey = j->picks[i].key->pkey;
		k.ed25519 = j->picks[i].key->ed25519;
		k.domain = j->picks[i].domain;
		k.selector = j->picks[i].key->selector;
		k.signer = j->picks[i].signer;
		if ((j->sig[i] = dkimsig_sign(j->msg, j->opts, &k, j->now,
		    why, sizeof(why))) == NULL)
			snprintf(j->error, sizeof(j->error), "d=%s s=%s: %s",
			    k.domain, k.selector, why);
	}
}

/* Back on the loop. */
static void
flt_dkim_sign_done(struct fctx *fx, void *arg)
{
	struct flt_dkim_sign_job	*j = arg;

	if (fx == NULL) {
		flt_dkim_sign_job_free(j);
		return;
	}
	fctx_resume(fx, flt_dkim_sign_finish(fx, j));
}

/* The signatures as header fields, or 451 when one is missing; frees j. */
static enum fv
flt_dkim_sign_finish(struct fctx *fx, struct flt_dkim_sign_job *j)
{
	char		 res[128] = "signed";
	size_t		 i;
	enum fv		 v = FV_CONTINUE;

	if (j->error[0] != '\0') {
		log_warnx("%s dkim_sign: %s: message refused (451)",
		    fctx_session_id(fx), j->error);
		fctx_result(fx, "error");
		fctx_reply(fx, "451", "4.3.0", "DKIM signing failed, try "
		    "again later");
		v = FV_TEMPFAIL;
	}
	if (v == FV_CONTINUE && j->nsigs > 0)
		fctx_outbound(fx);
	for (i = 0; i < j->nsigs && v == FV_CONTINUE; i++) {
		fctx_add_header(fx, "DKIM-Signature", j->sig[i]);
		/* the log's result field: cut at its size, as any */
		strlcat(res, i == 0 ? " " : ",", sizeof(res));
		strlcat(res, j->picks[i].domain, sizeof(res));
		strlcat(res, "/", sizeof(res));
		strlcat(res, j->picks[i].key->selector, sizeof(res));
	}
	if (v == FV_CONTINUE)
		fctx_result(fx, "%s", res);
	flt_dkim_sign_job_free(j);
	return v;
}

static void
flt_dkim_sign_job_free(struct flt_dkim_sign_job *j)
{
	size_t	 i;

	for (i = 0; i < j->nsigs; i++)
		free(j->sig[i]);
	dkimsig_msg_free(j->msg);
	free(j);
}

static void
flt_dkim_sign_abort(struct fctx *fx)
{
	struct flt_dkim_sign_conn	*sc = fctx_priv(fx);

	if (sc != NULL)
		flt_dkim_sign_tx_reset(sc);
}

static void
flt_dkim_sign_close(struct fctx *fx)
{
	struct flt_dkim_sign_conn	*sc = fctx_priv(fx);

	if (sc == NULL)
		return;
	flt_dkim_sign_tx_reset(sc);
	free(sc);
	fctx_set_priv(fx, NULL);
}

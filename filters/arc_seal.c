/* SPDX-License-Identifier: ISC */
/*
 * arc_seal.c - the arc_seal filter: postern's own ARC set (RFC 8617 4.1)
 * added to the messages it relays, per arc.seal: "all", or "modified"
 * (only those a filter changed: a header field changed or removed, the
 * body replaced).  It goes late in filters.chain, after arc (whose
 * result is the seal's cv=) and the filters whose results the
 * ARC-Authentication-Results carries (spf, dkim_verify, dmarc): that is
 * this message's Authentication-Results as the chain made it, with i=
 * in front.  The ARC-Message-Signature is made by postern's DKIM signer
 * (filters/dkimsig.c: relaxed/relaxed, dkim.sign_headers, never an ARC
 * field) and the ARC-Seal over every set, the new one last (only the
 * new one when the chain failed).  The key is the DKIM SigningTable's
 * for the From address (arc.key_table and arc.signing_table to use
 * others; a "*" rule seals everything with one key).  Not sealed: a
 * chain an earlier sealer failed (cv=fail), one of 50 sets already,
 * one arc did not judge, a From no rule matches.
 *
 * Public: flt_arc_seal_ops.
 *
 * DIAGNOSTICS
 *	init: the tables' errors (as dkim_sign's), "arc_seal: set arc.seal
 *	to modified or all".  At run time the transaction log says
 *	arc_seal=sealed(i=N cv=...), skip(why) or error(what).
 */
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include "filters/arcverify.h"
#include "filters/dkimsig.h"
#include "filters/dkimtab.h"
#include "filters/filter.h"
#include "lib/util.h"
#include "policy/conf.h"
#include "proto/arcset.h"
#include "proto/dkimcanon.h"
#include "proto/dkimsighdr.h"

#define FLT_ARC_SEAL_FIELD	"ARC-Seal"

struct flt_arc_seal {
	struct dkimtab		*tab;
	struct dkimsig_opts	 opts;		/* relaxed/relaxed */
	int			 modified_only;
};

struct flt_arc_seal_msg {
	struct arcverify_msg	*chain;		/* the sets that came in */
	struct dkimsig_msg	*msg;		/* what the AMS signs */
	char			 user[DKIMTAB_NAME_MAX];
	char			 domain[DKIMTAB_NAME_MAX];
};

/* The work on the pool: the three fields made. */
struct flt_arc_seal_job {
	struct flt_arc_seal_msg	*m;
	const struct flt_arc_seal *g;
	struct dkimtab_pick	 pick;
	unsigned		 i;		/* the new set's instance */
	char			 cv[8];
	char			*aar;		/* values, as after the colon */
	char			*ams;
	char			*as;
	char			 error[300];
	time_t			 now;
};

static int	flt_arc_seal_init(const struct conf *, struct dns *, void **,
		    char *, size_t);
static void	flt_arc_seal_fini(void *);
static enum fv	flt_arc_seal_header(struct fctx *, const char *, const char *,
		    size_t);
static enum fv	flt_arc_seal_eoh(struct fctx *);
static enum fv	flt_arc_seal_body(struct fctx *, const unsigned char *,
		    size_t);
static enum fv	flt_arc_seal_eom(struct fctx *);
static const char *flt_arc_seal_cv(struct fctx *, unsigned);
static void	flt_arc_seal_work(void *);
static char	*flt_arc_seal_as(struct flt_arc_seal_job *);
static void	flt_arc_seal_done(struct fctx *, void *);
static void	flt_arc_seal_job_free(struct flt_arc_seal_job *);
static void	flt_arc_seal_abort(struct fctx *);

const struct filter_ops flt_arc_seal_ops = {
	.name = "arc_seal",
	.needs = FILTER_AFTER_ACCEPT,
	.init = flt_arc_seal_init,
	.fini = flt_arc_seal_fini,
	.header = flt_arc_seal_header,
	.eoh = flt_arc_seal_eoh,
	.body = flt_arc_seal_body,
	.eom = flt_arc_seal_eom,
	.abort = flt_arc_seal_abort,
	.close = flt_arc_seal_abort,
};

static int
flt_arc_seal_init(const struct conf *c, struct dns *dns, void **gpriv,
    char *err, size_t errsz)
{
	struct flt_arc_seal	*g = xcalloc(1, sizeof(*g));
	const char		*kt = c->arc_key_table[0] != '\0' ?
				    c->arc_key_table : c->dkim_key_table;
	const char		*st = c->arc_signing_table[0] != '\0' ?
				    c->arc_signing_table : c->dkim_signing_table;

	(void)dns;
	g->modified_only = c->arc_seal == CONF_ARC_SEAL_MODIFIED;
	g->opts.hrelaxed = g->opts.brelaxed = 1;
	if (c->arc_seal == CONF_ARC_SEAL_NONE)
		util_err_append(err, errsz, "arc_seal: set arc.seal to "
		    "modified or all");
	else if (kt[0] == '\0' || st[0] == '\0')
		util_err_append(err, errsz, "arc_seal: set arc.key_table and "
		    "arc.signing_table (or dkim.key_table and "
		    "dkim.signing_table)");
	else if ((g->tab = dkimtab_load(kt, st, err, errsz)) != NULL) {
		if (dkimsig_opts_set(&g->opts, c->dkim_sign_headers, "") == 0) {
			*gpriv = g;
			return 0;
		}
		util_err_append(err, errsz, "dkim.sign_headers: not a list "
		    "of field names");
	}
	flt_arc_seal_fini(g);	/* no fini for a failed init */
	*gpriv = NULL;
	return -1;
}

static void
flt_arc_seal_fini(void *gpriv)
{
	struct flt_arc_seal	*g = gpriv;

	if (g == NULL)
		return;
	dkimsig_opts_clear(&g->opts);
	dkimtab_free(g->tab);
	free(g);
}

static struct flt_arc_seal_msg *
flt_arc_seal_msg(struct fctx *fx)
{
	struct flt_arc_seal_msg	*m = fctx_priv(fx);

	if (m == NULL) {
		m = xcalloc(1, sizeof(*m));
		m->chain = arcverify_new();
		m->msg = dkimsig_msg_new(1);
		fctx_set_priv(fx, m);
	}
	return m;
}

static enum fv
flt_arc_seal_header(struct fctx *fx, const char *name, const char *value,
    size_t vlen)
{
	struct flt_arc_seal_msg	*m = flt_arc_seal_msg(fx);

	if (fctx_header_deleted(fx))
		return FV_CONTINUE;
	arcverify_header(m->chain, name, value, vlen);
	dkimsig_msg_header(m->msg, name, value, vlen);
	if (strcasecmp(name, "From") == 0 && m->domain[0] == '\0')
		dkimtab_from(value, m->user, sizeof(m->user), m->domain,
		    sizeof(m->domain));
	return FV_CONTINUE;
}

static enum fv
flt_arc_seal_eoh(struct fctx *fx)
{
	/* the sets' structure only: the seal hashes the body itself */
	arcverify_eoh(flt_arc_seal_msg(fx)->chain, 0);
	return FV_CONTINUE;
}

static enum fv
flt_arc_seal_body(struct fctx *fx, const unsigned char *data, size_t len)
{
	dkimsig_msg_body(flt_arc_seal_msg(fx)->msg, data, len);
	return FV_CONTINUE;
}

static enum fv
flt_arc_seal_eom(struct fctx *fx)
{
	struct flt_arc_seal		*g = fctx_gpriv(fx);
	struct flt_arc_seal_msg		*m = flt_arc_seal_msg(fx);
	struct flt_arc_seal_job		*j;
	const char			*cv, *ar = fctx_authres_text(fx);
	struct util_buf			 aar = { NULL, 0, 0 };
	char				 num[32];
	unsigned			 n;
	int				 failed_before;

	n = arcverify_instances(m->chain, &failed_before);
	if (g->modified_only && !fctx_modified(fx)) {
		fctx_result(fx, "skip(unmodified)");
		return FV_CONTINUE;
	}
	if (n >= ARCSET_MAX || failed_before) {
		fctx_result(fx, "skip(%s)", failed_before ? "the chain was "
		    "failed before" : "50 sets");
		return FV_CONTINUE;
	}
	if ((cv = flt_arc_seal_cv(fx, n)) == NULL) {
		fctx_result(fx, "skip(no arc result before arc_seal)");
		return FV_CONTINUE;
	}
	j = xcalloc(1, sizeof(*j));
	if (m->domain[0] == '\0' || dkimtab_match(g->tab, m->user, m->domain,
	    0, &j->pick, 1) == 0) {
		fctx_result(fx, "skip(no key for the From domain)");
		free(j);
		return FV_CONTINUE;
	}
	j->g = g;
	j->m = m;
	fctx_set_priv(fx, NULL);
	j->i = n + 1;
	strlcpy(j->cv, cv, sizeof(j->cv));
	j->now = time(NULL);
	snprintf(num, sizeof(num), " i=%u; ", j->i);
	util_buf_puts(&aar, num);
	if (ar != NULL)
		util_buf_puts(&aar, ar);
	else {		/* no result: "none" (RFC 8601 2.2) */
		util_buf_puts(&aar, fctx_conf(fx)->authserv_id);
		util_buf_puts(&aar, "; none");
	}
	j->aar = xstrndup((char *)aar.p, aar.len);
	util_buf_free(&aar);
	if (fctx_defer(fx, flt_arc_seal_work, flt_arc_seal_done, j) == 0)
		return FV_PENDING;
	fctx_result(fx, "error(no worker free)");
	flt_arc_seal_job_free(j);
	return FV_CONTINUE;
}

/* The seal's cv=: "none" without a chain, else the arc filter's result
 * for it (pass or fail); NULL when it gave none. */
static const char *
flt_arc_seal_cv(struct fctx *fx, unsigned n)
{
	const struct fctx_auth	*a;
	size_t			 i, nres;

	if (n == 0)
		return "none";
	nres = fctx_auth_results(fx, &a);
	for (i = 0; i < nres; i++)
		if (strcmp(a[i].method, "arc") == 0)
			return strcmp(a[i].result, "pass") == 0 ? "pass" :
			    "fail";
	return NULL;
}

/* On a pool thread: the AMS, then the seal over the sets. */
static void
flt_arc_seal_work(void *arg)
{
	struct flt_arc_seal_job	*j = arg;
	struct dkimsig_key	 k = { 0 };
	char			*v;

	k.pkey = j->pick.key->pkey;
	k.ed25519 = j->pick.key->ed25519;
	k.domain = j->pick.domain;
	k.selector = j->pick.key->selector;
	k.signer = "";
	k.arc_i = j->i;
	if ((v = dkimsig_sign(j->m->msg, &j->g->opts, &k, j->now, j->error,
	    sizeof(j->error))) == NULL)
		return;
	j->ams = xmalloc(strlen(v) + 2);
	j->ams[0] = ' ';
	memcpy(j->ams + 1, v, strlen(v) + 1);
	free(v);
	j->as = flt_arc_seal_as(j);
}

/* The ARC-Seal's value (RFC 8617 4.1.3), or NULL with j->error. */
static char *
flt_arc_seal_as(struct flt_arc_seal_job *j)
{
	const struct dkimtab_key	*key = j->pick.key;
	struct dkimsighdr		 h;
	struct util_buf			 data = { NULL, 0, 0 };
	struct util_buf			 value = { NULL, 0, 0 };
	unsigned char			 sig[DKIMSIG_SIG_MAX];
	char				 b64[4 * (DKIMSIG_SIG_MAX / 3 + 1) + 1];
	char				 num[24], *out = NULL;
	size_t				 siglen;

	dkimsighdr_init(&h, sizeof(FLT_ARC_SEAL_FIELD ": ") - 1);
	snprintf(num, sizeof(num), "%u", j->i);
	dkimsighdr_tag(&h, "i", num, strlen(num));
	dkimsighdr_tag(&h, "a", key->ed25519 ? "ed25519-sha256" :
	    "rsa-sha256", key->ed25519 ? 14 : 10);
	snprintf(num, sizeof(num), "%lld", (long long)j->now);
	dkimsighdr_tag(&h, "t", num, strlen(num));
	dkimsighdr_tag(&h, "cv", j->cv, strlen(j->cv));
	dkimsighdr_tag(&h, "d", j->pick.domain, strlen(j->pick.domain));
	dkimsighdr_tag(&h, "s", key->selector, strlen(key->selector));
	dkimsighdr_b(&h);
	/* a failed chain: the seal covers the new set only */
	if (strcmp(j->cv, "fail") != 0)
		arcverify_sets(j->m->chain, j->i - 1, &data);
	dkimcanon_header(&data, 1, "ARC-Authentication-Results", 26, j->aar,
	    strlen(j->aar), 1);
	dkimcanon_header(&data, 1, "ARC-Message-Signature", 21, j->ams,
	    strlen(j->ams), 1);
	util_buf_add(&value, " ", 1);
	util_buf_add(&value, h.text.p, h.text.len);
	dkimcanon_header(&data, 1, FLT_ARC_SEAL_FIELD,
	    sizeof(FLT_ARC_SEAL_FIELD) - 1, (char *)value.p, value.len, 0);
	if ((siglen = dkimsig_sign_data(key->pkey, key->ed25519, data.p,
	    data.len, sig)) == 0)
		strlcpy(j->error, "OpenSSL could not sign the seal",
		    sizeof(j->error));
	else {
		EVP_EncodeBlock((unsigned char *)b64, sig, (int)siglen);
		dkimsighdr_b_value(&h, b64, strlen(b64));
		out = xmalloc(h.text.len + 2);
		out[0] = ' ';
		memcpy(out + 1, h.text.p, h.text.len);
		out[h.text.len + 1] = '\0';
	}
	dkimsighdr_free(&h);
	util_buf_free(&data);
	util_buf_free(&value);
	return out;
}

static void
flt_arc_seal_done(struct fctx *fx, void *arg)
{
	struct flt_arc_seal_job	*j = arg;

	if (fx != NULL) {
		if (j->as == NULL)
			fctx_result(fx, "error(%s)", j->error);
		else {
			/* on top, in this order, as RFC 8617 shows them */
			fctx_add_header(fx, FLT_ARC_SEAL_FIELD, j->as);
			fctx_add_header(fx, "ARC-Message-Signature", j->ams);
			fctx_add_header(fx, "ARC-Authentication-Results",
			    j->aar);
			fctx_result(fx, "sealed(i=%u cv=%s)", j->i, j->cv);
		}
		fctx_resume(fx, FV_CONTINUE);
	}
	flt_arc_seal_job_free(j);
}

static void
flt_arc_seal_msg_free(struct flt_arc_seal_msg *m)
{
	if (m == NULL)
		return;
	arcverify_free(m->chain);
	dkimsig_msg_free(m->msg);
	free(m);
}

static void
flt_arc_seal_job_free(struct flt_arc_seal_job *j)
{
	flt_arc_seal_msg_free(j->m);
	free(j->aar);
	free(j->ams);
	free(j->as);
	free(j);
}

static void
flt_arc_seal_abort(struct fctx *fx)
{
	flt_arc_seal_msg_free(fctx_priv(fx));
	fctx_set_priv(fx, NULL);
}

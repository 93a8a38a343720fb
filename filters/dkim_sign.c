/* SPDX-License-Identifier: ISC */
/*
 * dkim_sign.c - the dkim_sign filter: outbound mail signed with
 * libopendkim (RFC 6376; RSA-SHA256, and Ed25519-SHA256 per RFC 8463),
 * one signature per matching entry of the OpenDKIM-style signing table
 * (dkimtab.c), so RSA and Ed25519 keys of one domain give a dual signature.
 *
 * Outbound is a connection from dkim.internal_hosts or a client that
 * authenticated (dkim.outbound = internal), or any connection (any); the From
 * header's address then picks the keys.  The filter runs after an earlier
 * filter accepted the message (FILTER_AFTER_ACCEPT: allow-listed internal hosts
 * still get signed).
 *
 * Header fields are kept until the end of the header, when the From address
 * is known and the signing handles can be made; each is then given the
 * fields (except those the front end removes: a forged
 * Authentication-Results), and body chunks as they arrive.  The
 * signatures are made at eom on the worker pool (RSA costs about a
 * millisecond) and queued as DKIM-Signature header fields for the top of
 * the message; what other filters add (Authentication-Results,
 * Received-SPF) is outside the signature.
 *
 * libopendkim 2.11.0's dkim_free() leaves an Ed25519 signing key behind
 * (it frees the key objects of RSA signatures only: about 1.2 KiB a
 * message, for ever).  flt_dkim_sign_release frees them, through a mirror
 * of the library's private signature structs that is used only after the
 * library's own accessors have confirmed the layout, field by field.
 *
 * Public: flt_dkim_sign_ops.
 *
 * DIAGNOSTICS
 *	init: the table and key file errors of dkimtab_load ("path: what is
 *	wrong"), dkim.internal_hosts entries, libopendkim set-up failures.
 *	A message that cannot be signed (libopendkim refused it, or the
 *	worker pool is full) is refused with 451 4.3.0 and logged (warn): an
 *	unsigned copy would fail DMARC at the receiver.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <opendkim/dkim.h>

#include "filters/dkimtab.h"
#include "filters/filter.h"
#include "lib/log.h"
#include "lib/util.h"
#include "policy/conf.h"
#include "policy/peerlist.h"

#define FLT_DKIM_SIGN_HDRS_MAX	64	/* sign_headers, oversign_headers */

/* Global, read-only after init. */
struct flt_dkim_sign {
	DKIM_LIB		*lib;
	struct dkimtab		*tab;
	struct peerlist		*internal;	/* NULL: outbound = any */
	int			 multi;
	dkim_canon_t		 hcanon;
	dkim_canon_t		 bcanon;
};

/* Per connection (the filter's priv); the message part is reset by
 * flt_dkim_sign_tx_reset.  Owns the header copies and the handles. */
struct flt_dkim_sign_conn {
	int			 internal;	/* internal_hosts, or outbound
					   = any */
	char			**hdrs;		/* "Name:value", until eoh */
	size_t			 nhdrs;
	char			 user[DKIMTAB_NAME_MAX];
	char			 domain[DKIMTAB_NAME_MAX]; /* "" no From */
	int			 failed;	/* libopendkim refused */
	size_t			 nsigs;
	DKIM			*dkim[DKIMTAB_PICKS_MAX];
	struct dkimtab_pick	 picks[DKIMTAB_PICKS_MAX];
};

/*
 * libopendkim 2.11.0's struct dkim_siginfo and struct dkim_crypto (OpenSSL
 * build; libopendkim/dkim-types.h), for flt_dkim_sign_release only.
 */
#define FLT_DKIM_SIGN_MIRRORED	0x020B0000	/* dkim_libversion() */
#define FLT_DKIM_SIGN_KEYTYPE_ED25519	1

struct flt_dkim_sign_siginfo_mirror {
	int		 sig_dnssec_key;
	unsigned	 sig_flags;
	unsigned	 sig_error;
	unsigned	 sig_bh;
	unsigned	 sig_version;
	unsigned	 sig_hashtype;
	unsigned	 sig_keytype;
	unsigned	 sig_keybits;
	size_t		 sig_siglen;
	size_t		 sig_keylen;
	size_t		 sig_b64keylen;
	dkim_query_t	 sig_query;
	dkim_alg_t	 sig_signalg;
	dkim_canon_t	 sig_hdrcanonalg;
	dkim_canon_t	 sig_bodycanonalg;
	uint64_t	 sig_timestamp;
	unsigned char	*sig_domain;
	unsigned char	*sig_selector;
	unsigned char	*sig_sig;
	unsigned char	*sig_key;
	unsigned char	*sig_b64key;
	void		*sig_context;
	void		*sig_signature;
};

struct flt_dkim_sign_crypto_mirror {
	unsigned char	 crypto_pad;
	int		 crypto_keysize;
	size_t		 crypto_inlen;
	size_t		 crypto_outlen;
	EVP_PKEY	*crypto_pkey;
	void		*crypto_key;
	BIO		*crypto_keydata;
	unsigned char	*crypto_in;
	unsigned char	*crypto_out;
};

/* The eom job: owns the handles; the header values come back. */
struct flt_dkim_sign_job {
	size_t			 nsigs;
	DKIM			*dkim[DKIMTAB_PICKS_MAX];
	struct dkimtab_pick	 picks[DKIMTAB_PICKS_MAX];
	char			*sig[DKIMTAB_PICKS_MAX];   /* or NULL */
	char			 error[DKIMTAB_NAME_MAX * 2 + 128];
					/* the first failure: d=, s=, why */
};

static int	flt_dkim_sign_init(const struct conf *, struct dns *, void **,
		    char *, size_t);
static void	flt_dkim_sign_fini(void *);
static int	flt_dkim_sign_options(struct flt_dkim_sign *,
		    const struct conf *, char *, size_t);
static int	flt_dkim_sign_hdrlist(DKIM_LIB *, int, const char *, int);
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
static void	flt_dkim_sign_release(DKIM *);
static void	flt_dkim_sign_from(struct flt_dkim_sign_conn *, const char *);
static int	flt_dkim_sign_start(struct fctx *,
		    struct flt_dkim_sign_conn *, size_t);
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
	g->hcanon = CONF_DKIM_CANON_HEADER(c->dkim_canon) ?
	    DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE;
	g->bcanon = CONF_DKIM_CANON_BODY(c->dkim_canon) ?
	    DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE;
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
	if ((g->lib = dkim_init(NULL, NULL)) == NULL) {
		util_err_append(err, errsz, "dkim_sign: dkim_init failed");
		bad = 1;
	} else if (flt_dkim_sign_options(g, c, err, errsz) == -1)
		bad = 1;
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
	if (g->lib != NULL)
		dkim_close(g->lib);
	dkimtab_free(g->tab);
	peerlist_free(g->internal);
	free(g);
}

/* The headers to sign and oversign, and x=. */
static int
flt_dkim_sign_options(struct flt_dkim_sign *g, const struct conf *c,
    char *err, size_t errsz)
{
	uint64_t	 ttl = c->dkim_signature_ttl;

	if (flt_dkim_sign_hdrlist(g->lib, DKIM_OPTS_SIGNHDRS,
	    c->dkim_sign_headers, 1) == -1 ||
	    flt_dkim_sign_hdrlist(g->lib, DKIM_OPTS_OVERSIGNHDRS,
	    c->dkim_oversign_headers, 0) == -1) {
		util_err_append(err, errsz, "dkim.sign_headers, "
		    "dkim.oversign_headers: at most %d field names that "
		    "libopendkim accepts", FLT_DKIM_SIGN_HDRS_MAX - 2);
		return -1;
	}
	if (ttl > 0 && dkim_options(g->lib, DKIM_OP_SETOPT,
	    DKIM_OPTS_SIGNATURETTL, &ttl, sizeof(ttl)) != DKIM_STAT_OK) {
		util_err_append(err, errsz, "dkim.signature_ttl: refused by "
		    "libopendkim");
		return -1;
	}
	return 0;
}

/* A list of field names (commas and/or blanks) as a libopendkim header
 * option; with from, "from" is added when missing (RFC 6376 5.4). */
static int
flt_dkim_sign_hdrlist(DKIM_LIB *lib, int opt, const char *list, int from)
{
	const char	*names[FLT_DKIM_SIGN_HDRS_MAX];
	char		*copy = xstrdup(list), *p, *tok;
	size_t		 n = 0;
	int		 has_from = 0, rc = 0;

	for (p = copy; (tok = strsep(&p, ", \t")) != NULL;) {
		if (*tok == '\0')
			continue;
		if (n + 2 >= nitems(names)) {
			rc = -1;
			break;
		}
		has_from |= strcasecmp(tok, "from") == 0;
		names[n++] = tok;
	}
	if (from && !has_from)
		names[n++] = "from";
	names[n++] = NULL;
	/* The size is of the pointer: libopendkim copies the list. */
	if (rc == 0 && dkim_options(lib, DKIM_OP_SETOPT, opt, names,
	    sizeof(const char **)) != DKIM_STAT_OK)
		rc = -1;
	free(copy);
	return rc;
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
	size_t	 i;

	for (i = 0; i < sc->nhdrs; i++)
		free(sc->hdrs[i]);
	free(sc->hdrs);
	sc->hdrs = NULL;
	sc->nhdrs = 0;
	for (i = 0; i < sc->nsigs; i++)
		if (sc->dkim[i] != NULL)
			dkim_free(sc->dkim[i]);
	sc->nsigs = 0;
	sc->user[0] = sc->domain[0] = '\0';
	sc->failed = 0;
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
	struct flt_dkim_sign_conn	*sc = flt_dkim_sign_conn(fx);
	size_t				 nlen;
	char				*line;

	if (!flt_dkim_sign_outbound(fx, sc) || fctx_header_deleted(fx))
		return FV_CONTINUE;
	if (strcasecmp(name, "From") == 0 && sc->domain[0] == '\0')
		flt_dkim_sign_from(sc, value);
	/* "Name:value" as relayed, without the final CRLF. */
	nlen = strlen(name);
	line = xmalloc(nlen + vlen + 2);
	memcpy(line, name, nlen);
	line[nlen] = ':';
	memcpy(line + nlen + 1, value, vlen);
	line[nlen + 1 + vlen] = '\0';
	sc->hdrs = xrealloc(sc->hdrs, (sc->nhdrs + 1) * sizeof(*sc->hdrs));
	sc->hdrs[sc->nhdrs++] = line;
	return FV_CONTINUE;
}

/* The first From address (the author: RFC 6376 signs for its domain). */
static void
flt_dkim_sign_from(struct flt_dkim_sign_conn *sc, const char *value)
{
	unsigned char	*copy = (unsigned char *)xstrdup(value);
	unsigned char	*user = NULL, *domain = NULL;

	if (dkim_mail_parse(copy, &user, &domain) == 0 && user != NULL &&
	    domain != NULL && domain[0] != '\0' &&
	    strlen((char *)user) < sizeof(sc->user) &&
	    strlen((char *)domain) < sizeof(sc->domain)) {
		strlcpy(sc->user, (char *)user, sizeof(sc->user));
		strlcpy(sc->domain, (char *)domain, sizeof(sc->domain));
	}
	free(copy);
}

static enum fv
flt_dkim_sign_eoh(struct fctx *fx)
{
	struct flt_dkim_sign		*g = fctx_gpriv(fx);
	struct flt_dkim_sign_conn	*sc = flt_dkim_sign_conn(fx);
	size_t				 i, n;

	if (!flt_dkim_sign_outbound(fx, sc))
		return FV_CONTINUE;
	n = sc->domain[0] == '\0' ? 0 : dkimtab_match(g->tab, sc->user,
	    sc->domain, g->multi, sc->picks, nitems(sc->picks));
	for (i = 0; i < n && !sc->failed; i++)
		if (flt_dkim_sign_start(fx, sc, i) == -1)
			sc->failed = 1;
	for (i = 0; i < sc->nhdrs; i++)
		free(sc->hdrs[i]);
	free(sc->hdrs);
	sc->hdrs = NULL;
	sc->nhdrs = 0;
	return FV_CONTINUE;
}

/* Signing handle i for picks[i], given the kept header fields. */
static int
flt_dkim_sign_start(struct fctx *fx, struct flt_dkim_sign_conn *sc, size_t i)
{
	struct flt_dkim_sign		*g = fctx_gpriv(fx);
	const struct dkimtab_pick	*p = &sc->picks[i];
	DKIM				*d;
	DKIM_STAT			 st;
	size_t				 h;

	d = dkim_sign(g->lib, (const unsigned char *)fctx_session_id(fx),
	    NULL, (dkim_sigkey_t)p->key->pem,
	    (const unsigned char *)p->key->selector,
	    (const unsigned char *)p->domain, g->hcanon, g->bcanon,
	    p->key->ed25519 ? DKIM_SIGN_ED25519SHA256 : DKIM_SIGN_RSASHA256,
	    -1, &st);
	if (d == NULL) {
		log_warnx("%s dkim_sign: d=%s s=%s: %s", fctx_session_id(fx),
		    p->domain, p->key->selector, dkim_getresultstr(st));
		return -1;
	}
	sc->dkim[sc->nsigs++] = d;
	if (p->signer[0] != '\0' && dkim_set_signer(d,
	    (const unsigned char *)p->signer) != DKIM_STAT_OK)
		goto fail;
	for (h = 0; h < sc->nhdrs; h++)
		if (dkim_header(d, (unsigned char *)sc->hdrs[h],
		    strlen(sc->hdrs[h])) != DKIM_STAT_OK)
			goto fail;
	if (dkim_eoh(d) != DKIM_STAT_OK)
		goto fail;
	return 0;
fail:
	log_warnx("%s dkim_sign: d=%s s=%s: %s", fctx_session_id(fx),
	    p->domain, p->key->selector, dkim_geterror(d));
	return -1;
}

static enum fv
flt_dkim_sign_body(struct fctx *fx, const unsigned char *data, size_t len)
{
	struct flt_dkim_sign_conn	*sc = flt_dkim_sign_conn(fx);
	size_t				 i;

	for (i = 0; i < sc->nsigs && !sc->failed; i++)
		if (dkim_body(sc->dkim[i], (unsigned char *)(uintptr_t)data,
		    len) != DKIM_STAT_OK) {
			log_warnx("%s dkim_sign: body: %s",
			    fctx_session_id(fx), dkim_geterror(sc->dkim[i]));
			sc->failed = 1;
		}
	return FV_CONTINUE;
}

static enum fv
flt_dkim_sign_eom(struct fctx *fx)
{
	struct flt_dkim_sign_conn	*sc = flt_dkim_sign_conn(fx);
	struct flt_dkim_sign_job	*j;

	if (!flt_dkim_sign_outbound(fx, sc)) {
		fctx_result(fx, "skip(inbound)");
		return FV_CONTINUE;
	}
	if (sc->failed) {
		flt_dkim_sign_tx_reset(sc);
		fctx_result(fx, "error");
		fctx_reply(fx, "451", "4.3.0", "DKIM signing failed, try "
		    "again later");
		return FV_TEMPFAIL;
	}
	if (sc->nsigs == 0) {
		fctx_result(fx, sc->domain[0] == '\0' ? "none(no From "
		    "address)" : "none(%s not in the signing table)",
		    sc->domain);
		return FV_CONTINUE;
	}
	j = xcalloc(1, sizeof(*j));
	j->nsigs = sc->nsigs;
	memcpy(j->dkim, sc->dkim, sizeof(j->dkim));
	memcpy(j->picks, sc->picks, sizeof(j->picks));
	sc->nsigs = 0;
	if (fctx_defer(fx, flt_dkim_sign_work, flt_dkim_sign_done, j) == 0)
		return FV_PENDING;
	strlcpy(j->error, "no worker free", sizeof(j->error));
	return flt_dkim_sign_finish(fx, j);
}

/* On a pool thread: the body hashes and the signatures. */
static void
flt_dkim_sign_work(void *arg)
{
	struct flt_dkim_sign_job	*j = arg;
	unsigned char			*hdr;
	size_t				 i, len;
	DKIM_STAT			 st;

	for (i = 0; i < j->nsigs; i++) {
		st = dkim_eom(j->dkim[i], NULL);
		if (st == DKIM_STAT_OK)
			st = dkim_getsighdr_d(j->dkim[i],
			    sizeof(DKIM_SIGNHEADER) + 1, &hdr, &len);
		if (st == DKIM_STAT_OK)
			j->sig[i] = xstrndup((char *)hdr, len);
		else if (j->error[0] == '\0')
			snprintf(j->error, sizeof(j->error), "d=%s s=%s: %s",
			    j->picks[i].domain, j->picks[i].key->selector,
			    dkim_geterror(j->dkim[i]));
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
		fctx_add_header(fx, DKIM_SIGNHEADER, j->sig[i]);
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

	for (i = 0; i < j->nsigs; i++) {
		if (j->dkim[i] != NULL) {
			flt_dkim_sign_release(j->dkim[i]);
			dkim_free(j->dkim[i]);
		}
		free(j->sig[i]);
	}
	free(j);
}

/*
 * Free what dkim_free would leave of an Ed25519 signing key (see the top of
 * the file).  Nothing is touched unless the library is the mirrored
 * version and every field the public accessors also return agrees with the
 * mirror, the signature is Ed25519 and its key size is the one the library
 * recorded; the key objects are then freed and the pointers cleared, so
 * that dkim_free sees nothing of them.  (With dkim_init(NULL, NULL) the
 * library allocates with malloc.)
 */
static void
flt_dkim_sign_release(DKIM *d)
{
	struct flt_dkim_sign_siginfo_mirror	*m;
	struct flt_dkim_sign_crypto_mirror	*c;
	DKIM_SIGINFO				**sigs;
	dkim_alg_t				 alg;
	int					 i, n;

	if (dkim_libversion() != FLT_DKIM_SIGN_MIRRORED ||
	    dkim_getsiglist(d, &sigs, &n) != DKIM_STAT_OK)
		return;
	for (i = 0; i < n; i++) {
		m = (struct flt_dkim_sign_siginfo_mirror *)sigs[i];
		if (dkim_sig_getsignalg(sigs[i], &alg) != DKIM_STAT_OK ||
		    alg != DKIM_SIGN_ED25519SHA256 || m->sig_signalg != alg ||
		    m->sig_flags != dkim_sig_getflags(sigs[i]) ||
		    (int)m->sig_bh != dkim_sig_getbh(sigs[i]) ||
		    (int)m->sig_error != dkim_sig_geterror(sigs[i]) ||
		    m->sig_domain != dkim_sig_getdomain(sigs[i]) ||
		    m->sig_selector != dkim_sig_getselector(sigs[i]) ||
		    m->sig_context != dkim_sig_getcontext(sigs[i]) ||
		    m->sig_keytype != FLT_DKIM_SIGN_KEYTYPE_ED25519 ||
		    (c = m->sig_signature) == NULL ||
		    c->crypto_keysize != (int)m->sig_keybits)
			continue;
		if (c->crypto_pkey != NULL &&
		    EVP_PKEY_get_base_id(c->crypto_pkey) != EVP_PKEY_ED25519)
			continue;
		EVP_PKEY_free(c->crypto_pkey);
		c->crypto_pkey = NULL;
		BIO_free(c->crypto_keydata);
		c->crypto_keydata = NULL;
		free(c->crypto_out);
		c->crypto_out = NULL;
	}
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

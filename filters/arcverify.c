/* SPDX-License-Identifier: ISC */
/*
 * arcverify.c - ARC chain validation (see arcverify.h).
 *
 * The steps of RFC 8617 5.2: the sets collected and their structure
 * checked (proto/arcset.c: every set whole, cv=none then pass, the last
 * not fail); the most recent ARC-Message-Signature validated (its body
 * hash, then its signature over the fields h= names, picked from the
 * bottom as DKIM picks them, and itself with b= empty); the older ones
 * for the oldest-pass value; then every ARC-Seal from the newest down,
 * each over the sets up to its own, relaxed.  A signature is RSA-SHA256
 * or Ed25519-SHA256 (RFC 8463), its key a DKIM key record looked up at
 * s._domainkey.d and kept for the rest of the message.  Body hashes are
 * made while the body streams by, one for each body canonicalization the
 * signatures use; l= is refused (a body tail nobody signed).
 *
 * Public: arcverify_new, arcverify_header, arcverify_eoh, arcverify_body,
 * arcverify_run, arcverify_sets, arcverify_instances, arcverify_free,
 * arcverify_cv_name, arcverify_key.
 */
#include <arpa/nameser.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "filters/arcverify.h"
#include "lib/dns.h"
#include "lib/log.h"
#include "lib/util.h"
#include "proto/arcset.h"
#include "proto/dkimcanon.h"
#include "proto/taglist.h"

#define ARCVERIFY_HDRS_MAX	1000	/* header fields kept */
#define ARCVERIFY_KEYS_MAX	8	/* distinct keys looked up */
#define ARCVERIFY_B64_MAX	2048	/* a b=, bh= or p= value */

struct arcverify_hdr {
	char		*name;
	char		*value;
	size_t		 vlen;
};

/* A body hash, for one canonicalization. */
struct arcverify_bh {
	int			 used;
	EVP_MD_CTX		*md;
	struct dkimcanon_body	 canon;
	unsigned char		 h[EVP_MAX_MD_SIZE];
	unsigned		 hlen;
};

struct arcverify_key {
	char		 name[600];	/* s._domainkey.d */
	EVP_PKEY	*pkey;		/* NULL: none (why) */
	int		 ed25519;
	int		 temporary;
	const char	*why;
};

struct arcverify_msg {
	struct arcverify_hdr	*h;
	size_t			 nh;
	struct arcset_chain	 chain;
	enum arcset_status	 status;
	struct arcverify_bh	 bh[2];		/* [relaxed] */
	struct arcverify_key	 keys[ARCVERIFY_KEYS_MAX];
	size_t			 nkeys;
	struct dns		*dns;		/* during arcverify_run */
	uint64_t		 until;
};

static int	arcverify_ams(struct arcverify_msg *, unsigned, char *, size_t,
		    int *);
static int	arcverify_as(struct arcverify_msg *, unsigned, char *, size_t,
		    int *);
static int	arcverify_sig(struct arcverify_msg *, const struct taglist *,
		    const struct util_buf *, char *, size_t, int *);
static const struct arcverify_key *arcverify_lookup(struct arcverify_msg *,
		    const char *, const char *);
static int	arcverify_canon_mode(const struct taglist *, int *, int *);
static void	arcverify_pick(struct arcverify_msg *, const char *, size_t,
		    char *, int, struct util_buf *);
static void	arcverify_sink(void *, const unsigned char *, size_t);
static size_t	arcverify_b64(const char *, unsigned char *, size_t);

struct arcverify_msg *
arcverify_new(void)
{
	return xcalloc(1, sizeof(struct arcverify_msg));
}

void
arcverify_header(struct arcverify_msg *m, const char *name, const char *value,
    size_t vlen)
{
	struct arcverify_hdr	*h;
	int			 kind;

	if (m->nh == ARCVERIFY_HDRS_MAX)
		return;
	m->h = xrealloc(m->h, (m->nh + 1) * sizeof(*m->h));
	h = &m->h[m->nh];
	h->name = xstrdup(name);
	h->value = xmalloc(vlen + 1);
	memcpy(h->value, value, vlen);
	h->value[vlen] = '\0';
	h->vlen = vlen;
	if ((kind = arcset_kind_of(name, strlen(name))) != -1)
		arcset_add(&m->chain, kind, h->value, vlen, m->nh);
	m->nh++;
}

void
arcverify_eoh(struct arcverify_msg *m, int hash_body)
{
	struct taglist	 tl;
	struct arcset_field *f;
	unsigned	 i;
	int		 hrelaxed, brelaxed;

	if ((m->status = arcset_check(&m->chain)) != ARCSET_VALID ||
	    !hash_body)
		return;
	for (i = 1; i <= m->chain.n; i++) {
		f = &m->chain.f[i][ARCSET_AMS];
		if (taglist_parse(f->value, f->vlen, &tl) == -1 ||
		    arcverify_canon_mode(&tl, &hrelaxed, &brelaxed) == -1 ||
		    m->bh[brelaxed].used)
			continue;
		m->bh[brelaxed].used = 1;
		if ((m->bh[brelaxed].md = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestInit_ex(m->bh[brelaxed].md, EVP_sha256(),
		    NULL) != 1)
			fatalx("arcverify: EVP_DigestInit_ex");
		dkimcanon_body_init(&m->bh[brelaxed].canon, brelaxed,
		    arcverify_sink, m->bh[brelaxed].md);
	}
}

static void
arcverify_sink(void *arg, const unsigned char *p, size_t len)
{
	EVP_DigestUpdate(arg, p, len);
}

void
arcverify_body(struct arcverify_msg *m, const unsigned char *p, size_t len)
{
	int	 r;

	for (r = 0; r < 2; r++)
		if (m->bh[r].used)
			dkimcanon_body_add(&m->bh[r].canon, p, len);
}

void
arcverify_run(struct arcverify_msg *m, struct dns *dns, uint64_t until_ms,
    struct arcverify_result *res)
{
	struct taglist	 tl;
	struct arcset_field *f;
	unsigned	 i;
	int		 r, ok;

	memset(res, 0, sizeof(*res));
	m->dns = dns;
	m->until = until_ms;
	for (r = 0; r < 2; r++)
		if (m->bh[r].used) {
			(void)dkimcanon_body_end(&m->bh[r].canon);
			EVP_DigestFinal_ex(m->bh[r].md, m->bh[r].h,
			    &m->bh[r].hlen);
		}
	res->n = m->chain.n;
	if (m->status == ARCSET_NONE) {
		res->cv = ARCVERIFY_NONE;
		return;
	}
	res->cv = ARCVERIFY_FAIL;
	if (m->status == ARCSET_FAIL) {
		strlcpy(res->why, m->chain.why, sizeof(res->why));
		return;
	}
	f = &m->chain.f[m->chain.n][ARCSET_AS];
	if (taglist_parse(f->value, f->vlen, &tl) == 0)
		(void)taglist_value(taglist_get(&tl, "d"), 0, res->domain,
		    sizeof(res->domain));
	/* step 4: the newest AMS; step 5: the older ones, for oldest-pass */
	if (arcverify_ams(m, m->chain.n, res->why, sizeof(res->why),
	    &res->temporary) == -1)
		return;
	res->oldest_pass = m->chain.n;
	for (i = m->chain.n - 1, ok = 1; ok && i >= 1; i--) {
		char	 ignored[8];
		int	 tmp = 0;

		if ((ok = arcverify_ams(m, i, ignored, sizeof(ignored),
		    &tmp) == 0))
			res->oldest_pass = i;
	}
	if (ok)
		res->oldest_pass = 0;
	/* step 6: every AS, newest first */
	for (i = m->chain.n; i >= 1; i--)
		if (arcverify_as(m, i, res->why, sizeof(res->why),
		    &res->temporary) == -1)
			return;
	res->cv = ARCVERIFY_PASS;
}

/* c=header/body of an AMS (relaxed/relaxed when absent, as dkimpy); -1
 * for another value. */
static int
arcverify_canon_mode(const struct taglist *tl, int *hrelaxed, int *brelaxed)
{
	const struct taglist_tag	*c = taglist_get(tl, "c");
	char				 v[32], *slash;

	*hrelaxed = *brelaxed = 1;
	if (c == NULL)
		return 0;
	if (taglist_value(c, 0, v, sizeof(v)) == -1)
		return -1;
	if ((slash = strchr(v, '/')) != NULL)
		*slash++ = '\0';
	else
		slash = "simple";
	if ((strcasecmp(v, "relaxed") != 0 && strcasecmp(v, "simple") != 0) ||
	    (strcasecmp(slash, "relaxed") != 0 &&
	    strcasecmp(slash, "simple") != 0))
		return -1;
	*hrelaxed = strcasecmp(v, "relaxed") == 0;
	*brelaxed = strcasecmp(slash, "relaxed") == 0;
	return 0;
}

/* The AMS of set i: body hash, then signature.  0, or -1 with why. */
static int
arcverify_ams(struct arcverify_msg *m, unsigned i, char *why, size_t whysz,
    int *temporary)
{
	struct arcset_field		*f = &m->chain.f[i][ARCSET_AMS];
	struct taglist			 tl;
	const struct taglist_tag	*h;
	struct util_buf			 data = { NULL, 0, 0 };
	char				 bh[ARCVERIFY_B64_MAX], *used;
	unsigned char			 got[EVP_MAX_MD_SIZE];
	size_t				 k, n, len;
	int				 hrelaxed, brelaxed, rc;

	if (taglist_parse(f->value, f->vlen, &tl) == -1 ||
	    (h = taglist_get(&tl, "h")) == NULL ||
	    taglist_value(taglist_get(&tl, "bh"), 1, bh, sizeof(bh)) == -1 ||
	    arcverify_canon_mode(&tl, &hrelaxed, &brelaxed) == -1) {
		snprintf(why, whysz, "ARC-Message-Signature i=%u: malformed",
		    i);
		return -1;
	}
	if (taglist_get(&tl, "l") != NULL) {
		snprintf(why, whysz, "ARC-Message-Signature i=%u: l= not "
		    "accepted", i);
		return -1;
	}
	len = arcverify_b64(bh, got, sizeof(got));
	if (!m->bh[brelaxed].used || len != m->bh[brelaxed].hlen ||
	    memcmp(got, m->bh[brelaxed].h, len) != 0) {
		snprintf(why, whysz, "ARC-Message-Signature i=%u: body hash "
		    "mismatch", i);
		return -1;
	}
	used = xcalloc(m->nh + 1, 1);
	for (k = 0; k < h->vlen; k = n + 1) {
		const char	*name;
		size_t		 nlen;

		for (n = k; n < h->vlen && h->value[n] != ':'; n++)
			;
		name = h->value + k;
		nlen = n - k;
		while (nlen > 0 && isspace((unsigned char)*name)) {
			name++;
			nlen--;
		}
		while (nlen > 0 && isspace((unsigned char)name[nlen - 1]))
			nlen--;
		if (nlen == 8 && strncasecmp(name, "arc-seal", 8) == 0) {
			free(used);
			util_buf_free(&data);
			snprintf(why, whysz, "ARC-Message-Signature i=%u: signs "
			    "ARC-Seal", i);
			return -1;
		}
		arcverify_pick(m, name, nlen, used, hrelaxed, &data);
	}
	free(used);
	/* the AMS itself, b= empty, no CRLF */
	{
		struct util_buf	 blank = { NULL, 0, 0 };

		taglist_blank(f->value, f->vlen, "b", &blank);
		dkimcanon_header(&data, hrelaxed, m->h[f->pos].name,
		    strlen(m->h[f->pos].name), (const char *)blank.p,
		    blank.len, 0);
		util_buf_free(&blank);
	}
	rc = arcverify_sig(m, &tl, &data, why, whysz, temporary);
	util_buf_free(&data);
	if (rc == -1 && why[0] == '\0')
		snprintf(why, whysz, "ARC-Message-Signature i=%u: signature "
		    "does not verify", i);
	return rc;
}

/* The field named name (nlen bytes) lowest in the header and not used
 * yet, canonicalized onto data (RFC 6376 5.4.2); none: nothing. */
static void
arcverify_pick(struct arcverify_msg *m, const char *name, size_t nlen,
    char *used, int relaxed, struct util_buf *data)
{
	size_t	 j;

	for (j = m->nh; j-- > 0;)
		if (!used[j] && strlen(m->h[j].name) == nlen &&
		    strncasecmp(m->h[j].name, name, nlen) == 0) {
			used[j] = 1;
			dkimcanon_header(data, relaxed, m->h[j].name, nlen,
			    m->h[j].value, m->h[j].vlen, 1);
			return;
		}
}

/* The AS of set i, over the sets 1 to i, relaxed (RFC 8617 5.1.1). */
static int
arcverify_as(struct arcverify_msg *m, unsigned i, char *why, size_t whysz,
    int *temporary)
{
	struct arcset_field	*f;
	struct taglist		 tl;
	struct util_buf		 data = { NULL, 0, 0 }, blank = { NULL, 0, 0 };
	int			 k, rc;

	f = &m->chain.f[i][ARCSET_AS];
	if (taglist_parse(f->value, f->vlen, &tl) == -1 ||
	    taglist_get(&tl, "h") != NULL) {
		snprintf(why, whysz, "ARC-Seal i=%u: malformed", i);
		return -1;
	}
	arcverify_sets(m, i - 1, &data);
	for (k = ARCSET_AAR; k < ARCSET_AS; k++) {
		f = &m->chain.f[i][k];
		dkimcanon_header(&data, 1, m->h[f->pos].name,
		    strlen(m->h[f->pos].name), f->value, f->vlen, 1);
	}
	f = &m->chain.f[i][ARCSET_AS];
	taglist_blank(f->value, f->vlen, "b", &blank);
	dkimcanon_header(&data, 1, m->h[f->pos].name, strlen(m->h[f->pos].name),
	    (const char *)blank.p, blank.len, 0);
	util_buf_free(&blank);
	why[0] = '\0';
	rc = arcverify_sig(m, &tl, &data, why, whysz, temporary);
	util_buf_free(&data);
	if (rc == -1 && why[0] == '\0')
		snprintf(why, whysz, "ARC-Seal i=%u: signature does not "
		    "verify", i);
	return rc;
}

/* The signature of tl (a=, d=, s=, b=) over data. */
static int
arcverify_sig(struct arcverify_msg *m, const struct taglist *tl,
    const struct util_buf *data, char *why, size_t whysz, int *temporary)
{
	const struct arcverify_key	*k;
	const struct taglist_tag	*a = taglist_get(tl, "a");
	char				 d[256], s[64], b[ARCVERIFY_B64_MAX];
	unsigned char			 sig[ARCVERIFY_B64_MAX], h[32];
	unsigned			 hlen = 0;
	size_t				 siglen;
	EVP_MD_CTX			*ctx;
	int				 ed, ok;

	why[0] = '\0';
	ed = taglist_is(a, "ed25519-sha256");
	if ((!ed && !taglist_is(a, "rsa-sha256")) ||
	    taglist_value(taglist_get(tl, "d"), 0, d, sizeof(d)) == -1 ||
	    taglist_value(taglist_get(tl, "s"), 0, s, sizeof(s)) == -1 ||
	    taglist_value(taglist_get(tl, "b"), 1, b, sizeof(b)) == -1 ||
	    (siglen = arcverify_b64(b, sig, sizeof(sig))) == 0)
		return -1;
	k = arcverify_lookup(m, s, d);
	if (k->pkey == NULL) {
		*temporary |= k->temporary;
		snprintf(why, whysz, "key %.100s: %s", k->name, k->why);
		return -1;
	}
	if (k->ed25519 != ed) {
		snprintf(why, whysz, "key %.100s: not for a=", k->name);
		return -1;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		fatalx("arcverify: EVP_MD_CTX_new");
	if (ed)		/* RFC 8463 3: PureEdDSA over the SHA-256 */
		ok = EVP_Digest(data->p, data->len, h, &hlen, EVP_sha256(),
		    NULL) == 1 && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL,
		    k->pkey) == 1 && EVP_DigestVerify(ctx, sig, siglen, h,
		    hlen) == 1;
	else
		ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL,
		    k->pkey) == 1 && EVP_DigestVerify(ctx, sig, siglen,
		    data->p, data->len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

/* The key of selector s in domain d, looked up once a message. */
static const struct arcverify_key *
arcverify_lookup(struct arcverify_msg *m, const char *s, const char *d)
{
	struct arcverify_key	*k;
	struct dns_answer	 ans;
	char			 name[600], txt[4096];
	size_t			 i;

	snprintf(name, sizeof(name), "%s._domainkey.%s", s, d);
	for (i = 0; i < m->nkeys; i++)
		if (strcasecmp(m->keys[i].name, name) == 0)
			return &m->keys[i];
	k = &m->keys[m->nkeys < ARCVERIFY_KEYS_MAX ? m->nkeys++ :
	    ARCVERIFY_KEYS_MAX - 1];
	if (k->pkey != NULL)
		EVP_PKEY_free(k->pkey);
	memset(k, 0, sizeof(*k));
	strlcpy(k->name, name, sizeof(k->name));
	dns_query(m->dns, name, ns_t_txt, m->until, &ans);
	if (ans.status == DNS_TEMPFAIL) {
		k->temporary = 1;
		k->why = "lookup failed";
	} else if (ans.status != DNS_OK || ans.n != 1)
		k->why = ans.status == DNS_OK ? "not one record" : "no record";
	else if (dns_txt_from_wire(ans.data[0], ans.len[0], txt,
	    sizeof(txt)) == -1)
		k->why = "malformed record";
	else
		k->pkey = (EVP_PKEY *)arcverify_key(txt, strlen(txt),
		    &k->ed25519, &k->why);
	dns_answer_free(&ans);
	return k;
}

struct evp_pkey_st *
arcverify_key(const char *txt, size_t len, int *ed25519, const char **why)
{
	struct taglist			 tl;
	const struct taglist_tag	*v, *kt;
	char				 p[ARCVERIFY_B64_MAX];
	unsigned char			 der[ARCVERIFY_B64_MAX];
	const unsigned char		*q = der;
	EVP_PKEY			*pk = NULL;
	size_t				 n;

	*ed25519 = 0;
	if (taglist_parse(txt, len, &tl) == -1) {
		*why = "not a key record";
		return NULL;
	}
	v = taglist_get(&tl, "v");
	kt = taglist_get(&tl, "k");
	if ((v != NULL && (v != &tl.t[0] || !taglist_is(v, "DKIM1"))) ||
	    taglist_value(taglist_get(&tl, "p"), 1, p, sizeof(p)) == -1) {
		*why = "not a key record";
		return NULL;
	}
	if (p[0] == '\0') {
		*why = "revoked";
		return NULL;
	}
	*ed25519 = taglist_is(kt, "ed25519");
	if (kt != NULL && !*ed25519 && !taglist_is(kt, "rsa")) {
		*why = "unknown k=";
		return NULL;
	}
	if ((n = arcverify_b64(p, der, sizeof(der))) == 0) {
		*why = "bad p=";
		return NULL;
	}
	if (*ed25519)
		pk = n == 32 ? EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519,
		    NULL, der, n) : NULL;
	else if ((pk = d2i_PUBKEY(NULL, &q, (long)n)) == NULL) {
		q = der;	/* a bare RSAPublicKey, as some publish */
		pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &q, (long)n);
	}
	if (pk == NULL || (!*ed25519 && EVP_PKEY_get_base_id(pk) !=
	    EVP_PKEY_RSA)) {
		EVP_PKEY_free(pk);
		*why = "bad p=";
		return NULL;
	}
	return pk;
}

/* base64 (no white space) into out: the bytes, or 0 when it is not. */
static size_t
arcverify_b64(const char *b64, unsigned char *out, size_t outsz)
{
	size_t	 len = strlen(b64), pad = 0;
	int	 n;

	if (len == 0 || len % 4 != 0 || len / 4 * 3 > outsz)
		return 0;
	if (b64[len - 1] == '=')
		pad = b64[len - 2] == '=' ? 2 : 1;
	if ((n = EVP_DecodeBlock(out, (const unsigned char *)b64,
	    (int)len)) < 0 || (size_t)n < pad)
		return 0;
	return (size_t)n - pad;
}

void
arcverify_free(struct arcverify_msg *m)
{
	size_t	 i;
	int	 r;

	if (m == NULL)
		return;
	for (i = 0; i < m->nh; i++) {
		free(m->h[i].name);
		free(m->h[i].value);
	}
	free(m->h);
	for (r = 0; r < 2; r++)
		EVP_MD_CTX_free(m->bh[r].md);
	for (i = 0; i < m->nkeys; i++)
		EVP_PKEY_free(m->keys[i].pkey);
	free(m);
}

void
arcverify_sets(const struct arcverify_msg *m, unsigned upto,
    struct util_buf *out)
{
	const struct arcset_field	*f;
	unsigned			 j;
	int				 k;

	for (j = 1; j <= upto && j <= m->chain.n; j++)
		for (k = 0; k < ARCSET_KINDS; k++) {
			f = &m->chain.f[j][k];
			dkimcanon_header(out, 1, m->h[f->pos].name,
			    strlen(m->h[f->pos].name), f->value, f->vlen, 1);
		}
}

unsigned
arcverify_instances(const struct arcverify_msg *m, int *failed_before)
{
	*failed_before = m->status == ARCSET_FAIL && m->chain.why ==
	    arcset_failed_before;
	return m->chain.n;
}

const char *
arcverify_cv_name(enum arcverify_cv cv)
{
	return cv == ARCVERIFY_PASS ? "pass" : cv == ARCVERIFY_FAIL ? "fail" :
	    "none";
}

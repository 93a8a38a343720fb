/* SPDX-License-Identifier: ISC */
/*
 * dkimsig.c - postern's DKIM signer on OpenSSL 3 (EVP_DigestSign), used by
 * the dkim_sign filter in place of libopendkim's signing API.  Written by
 * hand because libopendkim decodes the private key again for every
 * message (about 300 µs on OpenSSL 3, more than the RSA-2048 operation
 * itself) and has no API to keep a decoded key; no other Debian library
 * signs DKIM.  Verification stays on libopendkim (filters/dkim_verify.c).
 *
 * A message keeps copies of its header fields; its body goes through the
 * body canonicalizer (proto/dkimcanon.c) into a SHA-256 as it arrives,
 * so the body is read once and not kept.  A signature then picks the
 * fields to sign as libopendkim did: h= names the fields of sign_headers
 * in message order, then oversign_headers once more; each name is hashed
 * from the bottom up (RFC 6376 5.4.2), then the DKIM-Signature field
 * itself with b= empty (3.7), its text laid out by proto/dkimsighdr.c.
 * Tags in libopendkim's order: v a c d s t [x] [i] bh h b; no l=, no q=.
 *
 * Keys are EVP_PKEYs decoded once per configuration (filters/dkimtab.c)
 * and shared by the worker threads: OpenSSL 3 allows concurrent use of an
 * EVP_PKEY that is only read, and every signature has its own
 * EVP_MD_CTX.
 *
 * Public: dkimsig_opts_set, dkimsig_opts_clear, dkimsig_msg_new,
 * dkimsig_msg_header, dkimsig_msg_body, dkimsig_msg_free, dkimsig_sign,
 * dkimsig_sign_data (contracts in dkimsig.h).
 *
 * DIAGNOSTICS
 *	dkimsig_sign: "OpenSSL: <its error>" when a hash or signature fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "filters/dkimsig.h"
#include "lib/util.h"
#include "proto/dkimcanon.h"
#include "proto/dkimsighdr.h"
#include "proto/rfc5322.h"

#define DKIMSIG_FIELD		"DKIM-Signature"
#define DKIMSIG_ARC_FIELD	"ARC-Message-Signature"
#define DKIMSIG_HASH_LEN	32	/* SHA-256 */

/* One header field, copied. */
struct dkimsig_field {
	char		*name;
	char		*value;
	size_t		 vlen;
	int		 used;		/* hashed by the signature in hand */
};

/* A message being signed: owns the fields and the body hash. */
struct dkimsig_msg {
	struct dkimsig_field	*fields;
	size_t			 nfields;
	struct dkimcanon_body	 body;
	EVP_MD_CTX		*bodyhash;	/* NULL once ended */
	int			 failed;	/* the body hash failed */
	char			 bh[4 * ((DKIMSIG_HASH_LEN + 2) / 3) + 1];
};

static int	dkimsig_list(char **, size_t *, const char *, const char *);
static void	dkimsig_body_sink(void *, const unsigned char *, size_t);
static int	dkimsig_body_end(struct dkimsig_msg *);
static int	dkimsig_signed(const struct dkimsig_opts *, const char *);
static void	dkimsig_tags(struct dkimsig_msg *, const struct dkimsig_opts *,
		    const struct dkimsig_key *, time_t, struct dkimsighdr *,
		    struct util_buf *);
static void	dkimsig_hash_fields(struct dkimsig_msg *,
		    const struct dkimsig_opts *, const struct util_buf *,
		    struct util_buf *);
static void	dkimsig_why(char *, size_t);

/* The names of list into v (copied); add is added when missing. */
static int
dkimsig_list(char **v, size_t *n, const char *list, const char *add)
{
	char	*copy = xstrdup(list), *p, *tok;
	int	 rc = 0, has = 0;

	*n = 0;
	for (p = copy; (tok = strsep(&p, ", \t")) != NULL;) {
		if (*tok == '\0')
			continue;
		if (*n + 1 >= DKIMSIG_HDRS_MAX ||
		    !rfc5322_name_ok(tok, strlen(tok))) {
			rc = -1;
			break;
		}
		has |= add != NULL && strcasecmp(tok, add) == 0;
		v[(*n)++] = xstrdup(tok);
	}
	if (rc == 0 && add != NULL && !has)
		v[(*n)++] = xstrdup(add);
	free(copy);
	return rc;
}

int
dkimsig_opts_set(struct dkimsig_opts *o, const char *sign,
    const char *oversign)
{
	if (dkimsig_list(o->sign, &o->nsign, sign, "from") == -1 ||
	    dkimsig_list(o->over, &o->nover, oversign, NULL) == -1) {
		dkimsig_opts_clear(o);
		return -1;
	}
	return 0;
}

void
dkimsig_opts_clear(struct dkimsig_opts *o)
{
	size_t	 i;

	for (i = 0; i < o->nsign; i++)
		free(o->sign[i]);
	for (i = 0; i < o->nover; i++)
		free(o->over[i]);
	o->nsign = o->nover = 0;
}

static void
dkimsig_body_sink(void *arg, const unsigned char *p, size_t len)
{
	struct dkimsig_msg	*m = arg;

	if (EVP_DigestUpdate(m->bodyhash, p, len) != 1)
		m->failed = 1;
}

struct dkimsig_msg *
dkimsig_msg_new(int brelaxed)
{
	struct dkimsig_msg	*m = xcalloc(1, sizeof(*m));

	if ((m->bodyhash = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(m->bodyhash, EVP_sha256(), NULL) != 1)
		m->failed = 1;
	dkimcanon_body_init(&m->body, brelaxed, dkimsig_body_sink, m);
	return m;
}

void
dkimsig_msg_header(struct dkimsig_msg *m, const char *name,
    const char *value, size_t vlen)
{
	struct dkimsig_field	*f;

	m->fields = xrealloc(m->fields, (m->nfields + 1) * sizeof(*f));
	f = &m->fields[m->nfields++];
	f->name = xstrdup(name);
	f->value = xstrndup(value, vlen);
	f->vlen = vlen;
	f->used = 0;
}

void
dkimsig_msg_body(struct dkimsig_msg *m, const unsigned char *p, size_t len)
{
	if (m->bodyhash != NULL && !m->failed)
		dkimcanon_body_add(&m->body, p, len);
}

void
dkimsig_msg_free(struct dkimsig_msg *m)
{
	size_t	 i;

	if (m == NULL)
		return;
	for (i = 0; i < m->nfields; i++) {
		free(m->fields[i].name);
		free(m->fields[i].value);
	}
	free(m->fields);
	EVP_MD_CTX_free(m->bodyhash);
	free(m);
}

/* The body's end, and bh=; -1 when its hash failed. */
static int
dkimsig_body_end(struct dkimsig_msg *m)
{
	unsigned char	 h[EVP_MAX_MD_SIZE];
	unsigned	 hlen = 0;

	if (m->bodyhash == NULL || m->failed)
		return m->failed ? -1 : 0;
	dkimcanon_body_end(&m->body);
	if (m->failed || EVP_DigestFinal_ex(m->bodyhash, h, &hlen) != 1 ||
	    hlen != DKIMSIG_HASH_LEN) {
		m->failed = 1;
		return -1;
	}
	EVP_EncodeBlock((unsigned char *)m->bh, h, (int)hlen);
	EVP_MD_CTX_free(m->bodyhash);
	m->bodyhash = NULL;
	return 0;
}

static int
dkimsig_signed(const struct dkimsig_opts *o, const char *name)
{
	size_t	 i;

	for (i = 0; i < o->nsign; i++)
		if (strcasecmp(o->sign[i], name) == 0)
			return 1;
	return 0;
}

/*
 * The tags before b= into h, and the h= names (NUL-separated) into names:
 * the signed fields in message order as they are spelt there, then the
 * oversigned names as configured.
 */
static void
dkimsig_tags(struct dkimsig_msg *m, const struct dkimsig_opts *o,
    const struct dkimsig_key *k, time_t now, struct dkimsighdr *h,
    struct util_buf *names)
{
	struct util_buf	 hl = { NULL, 0, 0 };
	const char	*canon;
	char		 num[32];
	size_t		 i;

	if (k->arc_i > 0) {
		snprintf(num, sizeof(num), "%u", k->arc_i);
		dkimsighdr_tag(h, "i", num, strlen(num));
	} else
		dkimsighdr_tag(h, "v", "1", 1);
	dkimsighdr_tag(h, "a", k->ed25519 ? "ed25519-sha256" : "rsa-sha256",
	    k->ed25519 ? 14 : 10);
	canon = o->hrelaxed ? (o->brelaxed ? "relaxed/relaxed" :
	    "relaxed/simple") : (o->brelaxed ? "simple/relaxed" :
	    "simple/simple");
	dkimsighdr_tag(h, "c", canon, strlen(canon));
	dkimsighdr_tag(h, "d", k->domain, strlen(k->domain));
	dkimsighdr_tag(h, "s", k->selector, strlen(k->selector));
	snprintf(num, sizeof(num), "%llu", (unsigned long long)now);
	dkimsighdr_tag(h, "t", num, strlen(num));
	if (o->ttl > 0 && k->arc_i == 0) {
		snprintf(num, sizeof(num), "%llu",
		    (unsigned long long)now + (unsigned long long)o->ttl);
		dkimsighdr_tag(h, "x", num, strlen(num));
	}
	if (k->signer[0] != '\0' && k->arc_i == 0)
		dkimsighdr_tag(h, "i", k->signer, strlen(k->signer));
	dkimsighdr_tag(h, "bh", m->bh, strlen(m->bh));
	for (i = 0; i < m->nfields; i++) {
		if (!dkimsig_signed(o, m->fields[i].name))
			continue;
		if (hl.len > 0)
			util_buf_add(&hl, ":", 1);
		util_buf_add(&hl, m->fields[i].name,
		    strlen(m->fields[i].name));
		util_buf_add(names, m->fields[i].name,
		    strlen(m->fields[i].name) + 1);
	}
	for (i = 0; i < o->nover; i++) {
		if (hl.len > 0)
			util_buf_add(&hl, ":", 1);
		util_buf_add(&hl, o->over[i], strlen(o->over[i]));
		util_buf_add(names, o->over[i], strlen(o->over[i]) + 1);
	}
	dkimsighdr_tag(h, "h", (char *)hl.p, hl.len);
	util_buf_free(&hl);
	dkimsighdr_b(h);
}

/*
 * The fields h= names (NUL-separated in names), canonicalized into out:
 * for each name the last field of that name not hashed yet, nothing when
 * none is left (RFC 6376 5.4.2).
 */
static void
dkimsig_hash_fields(struct dkimsig_msg *m, const struct dkimsig_opts *o,
    const struct util_buf *names, struct util_buf *out)
{
	const char		*n;
	struct dkimsig_field	*f;
	size_t			 i, off;

	for (i = 0; i < m->nfields; i++)
		m->fields[i].used = 0;
	for (off = 0; off < names->len; off += strlen(n) + 1) {
		n = (const char *)names->p + off;
		for (i = m->nfields; i > 0; i--) {
			f = &m->fields[i - 1];
			if (f->used || strcasecmp(f->name, n) != 0)
				continue;
			f->used = 1;
			dkimcanon_header(out, o->hrelaxed, f->name,
			    strlen(f->name), f->value, f->vlen, 1);
			break;
		}
	}
}

size_t
dkimsig_sign_data(EVP_PKEY *pkey, int ed25519, const void *data, size_t len,
    unsigned char *sig)
{
	EVP_MD_CTX	*ctx;
	unsigned char	 h[EVP_MAX_MD_SIZE];
	unsigned	 hlen = 0;
	size_t		 siglen = DKIMSIG_SIG_MAX;
	int		 ok;

	if (EVP_PKEY_get_size(pkey) > DKIMSIG_SIG_MAX ||
	    (ctx = EVP_MD_CTX_new()) == NULL)
		return 0;
	if (ed25519)	/* RFC 8463 3: PureEdDSA over the SHA-256 */
		ok = EVP_Digest(data, len, h, &hlen, EVP_sha256(), NULL) ==
		    1 && EVP_DigestSignInit(ctx, NULL, NULL, NULL, pkey) ==
		    1 && EVP_DigestSign(ctx, sig, &siglen, h, hlen) == 1;
	else
		ok = EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL,
		    pkey) == 1 && EVP_DigestSign(ctx, sig, &siglen, data,
		    len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok ? siglen : 0;
}

static void
dkimsig_why(char *why, size_t whysz)
{
	char	 e[256];

	ERR_error_string_n(ERR_get_error(), e, sizeof(e));
	ERR_clear_error();
	snprintf(why, whysz, "OpenSSL: %s", e);
}

char *
dkimsig_sign(struct dkimsig_msg *m, const struct dkimsig_opts *o,
    const struct dkimsig_key *k, time_t now, char *why, size_t whysz)
{
	struct dkimsighdr	 h;
	struct util_buf		 names = { NULL, 0, 0 };
	struct util_buf		 data = { NULL, 0, 0 };
	struct util_buf		 value = { NULL, 0, 0 };
	unsigned char		 sig[DKIMSIG_SIG_MAX];
	char			 b64[4 * (DKIMSIG_SIG_MAX / 3 + 1) + 1];
	char			*out = NULL;
	const char		*field = k->arc_i > 0 ? DKIMSIG_ARC_FIELD :
				    DKIMSIG_FIELD;
	size_t			 siglen = 0;

	if (dkimsig_body_end(m) == -1) {
		dkimsig_why(why, whysz);
		return NULL;
	}
	dkimsighdr_init(&h, strlen(field) + 2);
	dkimsig_tags(m, o, k, now, &h, &names);
	dkimsig_hash_fields(m, o, &names, &data);
	/* the field being made, as it will go out: "Name: value" */
	util_buf_add(&value, " ", 1);
	util_buf_add(&value, h.text.p, h.text.len);
	dkimcanon_header(&data, o->hrelaxed, field, strlen(field),
	    (char *)value.p, value.len, 0);
	if ((siglen = dkimsig_sign_data(k->pkey, k->ed25519, data.p, data.len,
	    sig)) == 0)
		dkimsig_why(why, whysz);
	else {
		EVP_EncodeBlock((unsigned char *)b64, sig, (int)siglen);
		dkimsighdr_b_value(&h, b64, strlen(b64));
		out = xstrndup((char *)h.text.p, h.text.len);
	}
	dkimsighdr_free(&h);
	util_buf_free(&names);
	util_buf_free(&data);
	util_buf_free(&value);
	return out;
}

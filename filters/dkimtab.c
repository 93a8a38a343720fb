/* SPDX-License-Identifier: ISC */
/*
 * dkimtab.c - OpenDKIM-compatible KeyTable and SigningTable for the
 * dkim_sign filter: parsing (pure), loading with the private key checks,
 * and the lookup of the signatures a From address gets.
 *
 * Formats (opendkim(8) "DATA SETS", opendkim.conf(5) KeyTable and
 * SigningTable): one "key value" per line, the value's fields separated by
 * colons.  A table is named "path", "file:path" (exact keys) or
 * "refile:path" (keys are '*' wildcard patterns, tried in file order).
 *
 * Public: dkimtab_parse_keys, dkimtab_parse_rules, dkimtab_check,
 * dkimtab_key_read, dkimtab_load, dkimtab_free, dkimtab_match, dkimtab_from,
 * dkimtab_glob (contracts in dkimtab.h).
 *
 * DIAGNOSTICS
 *	"label:line: what is wrong" for a table line; "path: what is wrong"
 *	for a table or key file (missing, unreadable, group/world-
 *	accessible, not a private key, RSA under 1024 bits); every error is
 *	reported, one a line.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <opendkim/dkim.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "filters/dkimtab.h"
#include "lib/util.h"

#define DKIMTAB_KEYFILE_MAX	(64 * 1024)	/* bigger is not a key */
#define DKIMTAB_RSA_MIN		1024		/* RFC 8301 3.2 */

/* One "key value" line, cut in place. */
struct dkimtab_line {
	char		*key;
	char		*value;
	unsigned	 no;
};

typedef int	(*dkimtab_line_fn)(struct dkimtab *, struct dkimtab_line *,
		    char *why, size_t whysz);

static int	dkimtab_parse(struct dkimtab *, const char *, size_t,
		    const char *, dkimtab_line_fn, char *, size_t);
static int	dkimtab_split(char *, struct dkimtab_line *, char *, size_t);
static int	dkimtab_key_line(struct dkimtab *, struct dkimtab_line *,
		    char *, size_t);
static int	dkimtab_rule_line(struct dkimtab *, struct dkimtab_line *,
		    char *, size_t);
static int	dkimtab_name_ok(const char *, int);
static const struct dkimtab_key *dkimtab_key_find(const struct dkimtab *,
		    const char *);
static int	dkimtab_load_key(struct dkimtab_key *, const char *, char *,
		    size_t);
static char	*dkimtab_read_secret(const char *, size_t *, char *, size_t);
static const char *dkimtab_source(const char *, int *);
static void	dkimtab_lookup_key(char *, size_t, size_t, const char *,
		    const char *, const char *);
static size_t	dkimtab_pick_rule(const struct dkimtab *,
		    const struct dkimtab_rule *, const char *,
		    struct dkimtab_pick *, size_t, size_t);

/* The lines of text, each handed to fn; errors prefixed "label:line: ". */
static int
dkimtab_parse(struct dkimtab *t, const char *text, size_t len,
    const char *label, dkimtab_line_fn fn, char *err, size_t errsz)
{
	struct dkimtab_line	 l;
	const char		*p = text, *end = text + len, *nl;
	char			*line, why[256];
	size_t			 n;
	int			 rc = 0;
	unsigned		 no = 0;

	while (p < end) {
		no++;
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		line = xstrndup(p, n);
		p += n + (nl != NULL);
		why[0] = '\0';
		if (strlen(line) != n)
			strlcpy(why, "NUL byte in line", sizeof(why));
		else if (dkimtab_split(line, &l, why, sizeof(why)) == 0 &&
		    l.key != NULL) {
			l.no = no;
			(void)fn(t, &l, why, sizeof(why));
		}
		if (why[0] != '\0') {
			util_err_append(err, errsz, "%s:%u: %s", label, no,
			    why);
			rc = -1;
		}
		free(line);
	}
	return rc;
}

/* "key value" with the comment and the blanks around cut off; key NULL for
 * a line with nothing on it.  -1 (why set) for a key without a value or a
 * value with a blank in it. */
static int
dkimtab_split(char *line, struct dkimtab_line *l, char *why, size_t whysz)
{
	char	*p, *e;

	l->key = l->value = NULL;
	for (p = line; *p != '\0'; p++)
		if (*p == '#' && (p == line || isblank((unsigned char)p[-1]))) {
			*p = '\0';
			break;
		}
	e = line + strlen(line);
	while (e > line && isspace((unsigned char)e[-1]))
		*--e = '\0';
	p = line + strspn(line, " \t");
	if (*p == '\0')
		return 0;
	l->key = p;
	p += strcspn(p, " \t");
	if (*p == '\0') {
		snprintf(why, whysz, "'%.64s' has no value", l->key);
		return -1;
	}
	*p++ = '\0';
	p += strspn(p, " \t");
	if (p[strcspn(p, " \t")] != '\0') {
		snprintf(why, whysz, "blank inside the value '%.64s'", p);
		return -1;
	}
	l->value = p;
	return 0;
}

/* A domain or selector: dot-separated labels of letters, digits, '-' and
 * '_' (63 at most, 253 in all); "%" too when pct. */
static int
dkimtab_name_ok(const char *s, int pct)
{
	size_t		 len = strlen(s), lab = 0, i;
	unsigned char	 c;

	if (pct && strcmp(s, "%") == 0)
		return 1;
	if (len == 0 || len > 253 || s[0] == '.' || s[len - 1] == '.')
		return 0;
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == '.') {
			if (lab == 0)
				return 0;
			lab = 0;
			continue;
		}
		if (!isalnum(c) && c != '-' && c != '_')
			return 0;
		if (++lab > 63)
			return 0;
	}
	return 1;
}

/* keyname domain:selector:key */
static int
dkimtab_key_line(struct dkimtab *t, struct dkimtab_line *l, char *why,
    size_t whysz)
{
	struct dkimtab_key	*k;
	char			*dom = l->value, *sel, *key;

	/* (the value is cut at its colons below) */
	if ((sel = strchr(dom, ':')) == NULL ||
	    (key = strchr(sel + 1, ':')) == NULL) {
		snprintf(why, whysz, "'%.64s': domain:selector:key expected",
		    l->value);
		return -1;
	}
	*sel++ = '\0';
	*key++ = '\0';
	if (!dkimtab_name_ok(dom, 1) || !dkimtab_name_ok(sel, 0)) {
		snprintf(why, whysz, "bad %s '%.64s'",
		    dkimtab_name_ok(dom, 1) ? "selector" : "domain",
		    dkimtab_name_ok(dom, 1) ? sel : dom);
		return -1;
	}
	if (*key == '\0' || strchr(key, '%') != NULL) {
		snprintf(why, whysz, "key '%.64s': a file path or a base64 "
		    "key expected (%% in it is not supported)", key);
		return -1;
	}
	if (dkimtab_key_find(t, l->key) != NULL && !t->keys_refile) {
		snprintf(why, whysz, "key name '%.64s' given twice", l->key);
		return -1;
	}
	t->keys = xrealloc(t->keys, (t->nkeys + 1) * sizeof(*t->keys));
	k = &t->keys[t->nkeys++];
	memset(k, 0, sizeof(*k));
	k->name = xstrdup(l->key);
	k->domain = xstrdup(dom);
	k->selector = xstrdup(sel);
	if (key[0] == '/' || strncmp(key, "./", 2) == 0 ||
	    strncmp(key, "../", 3) == 0)
		k->path = xstrdup(key);
	else
		k->inline_key = xstrdup(key);
	k->line = l->no;
	return 0;
}

/* pattern keyname[:signer] */
static int
dkimtab_rule_line(struct dkimtab *t, struct dkimtab_line *l, char *why,
    size_t whysz)
{
	struct dkimtab_rule	*r;
	char			*name = l->value, *signer;

	if ((signer = strchr(name, ':')) != NULL &&
	    (signer[1] == '\0' || strchr(signer + 1, ':') != NULL)) {
		snprintf(why, whysz, "'%.64s': keyname[:signer] expected",
		    l->value);
		return -1;
	}
	if (signer != NULL)
		*signer++ = '\0';
	if (*name == '\0') {
		snprintf(why, whysz, "empty key name");
		return -1;
	}
	t->rules = xrealloc(t->rules, (t->nrules + 1) * sizeof(*t->rules));
	r = &t->rules[t->nrules++];
	r->pattern = xstrdup(l->key);
	r->keyname = xstrdup(name);
	r->signer = signer != NULL ? xstrdup(signer) : NULL;
	r->line = l->no;
	return 0;
}

int
dkimtab_parse_keys(struct dkimtab *t, const char *text, size_t len,
    const char *label, char *err, size_t errsz)
{
	return dkimtab_parse(t, text, len, label, dkimtab_key_line, err,
	    errsz);
}

int
dkimtab_parse_rules(struct dkimtab *t, const char *text, size_t len,
    const char *label, char *err, size_t errsz)
{
	return dkimtab_parse(t, text, len, label, dkimtab_rule_line, err,
	    errsz);
}

int
dkimtab_check(const struct dkimtab *t, const char *label, char *err,
    size_t errsz)
{
	size_t	 i;
	int	 rc = 0;

	for (i = 0; i < t->nrules; i++) {
		if (strcmp(t->rules[i].keyname, "%") == 0 ||
		    dkimtab_key_find(t, t->rules[i].keyname) != NULL)
			continue;
		util_err_append(err, errsz, "%s:%u: key name '%.64s' is not "
		    "in the key table", label, t->rules[i].line,
		    t->rules[i].keyname);
		rc = -1;
	}
	return rc;
}

/* The KeyTable entry of a key name (a pattern match for refile:). */
static const struct dkimtab_key *
dkimtab_key_find(const struct dkimtab *t, const char *name)
{
	size_t	 i;

	for (i = 0; i < t->nkeys; i++)
		if (t->keys_refile ? dkimtab_glob(t->keys[i].name, name) :
		    strcasecmp(t->keys[i].name, name) == 0)
			return &t->keys[i];
	return NULL;
}

int
dkimtab_glob(const char *pat, const char *s)
{
	const char	*star = NULL, *resume = NULL;

	/* Iterative: a run of stars costs no recursion, O(len^2) worst. */
	while (*s != '\0') {
		if (*pat == '*') {
			star = ++pat;
			resume = s;
		} else if (tolower((unsigned char)*pat) ==
		    tolower((unsigned char)*s)) {
			pat++;
			s++;
		} else if (star != NULL) {
			pat = star;
			s = ++resume;
		} else
			return 0;
	}
	while (*pat == '*')
		pat++;
	return *pat == '\0';
}

EVP_PKEY *
dkimtab_key_read(const char *text, size_t len, int *ed25519, unsigned *bits,
    char *why, size_t whysz)
{
	EVP_PKEY	*pk = NULL;
	BIO		*in;
	unsigned char	*der = NULL;
	const unsigned char *p;
	int		 derlen;

	if (len > DKIMTAB_KEYFILE_MAX || len > (size_t)INT32_MAX) {
		snprintf(why, whysz, "too large to be a key");
		return NULL;
	}
	in = BIO_new_mem_buf(text, (int)len);
	if (in != NULL && memmem(text, len, "-----BEGIN", 10) != NULL)
		pk = PEM_read_bio_PrivateKey(in, NULL, NULL, (void *)"");
	else if (in != NULL) {
		/* base64 DER, as OpenDKIM also takes it */
		der = xmalloc(len + 1);
		derlen = EVP_DecodeBlock(der, (const unsigned char *)text,
		    (int)len);
		p = der;
		if (derlen > 0)
			pk = d2i_AutoPrivateKey(NULL, &p, derlen);
		explicit_bzero(der, len + 1);
	}
	BIO_free(in);
	free(der);
	if (pk == NULL) {
		snprintf(why, whysz, "not a private key (an unencrypted PEM "
		    "or base64 DER key expected)");
		return NULL;
	}
	*ed25519 = EVP_PKEY_get_base_id(pk) == EVP_PKEY_ED25519;
	*bits = (unsigned)EVP_PKEY_get_bits(pk);
	if (!*ed25519 && EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA)
		snprintf(why, whysz, "a %s key: RSA or Ed25519 expected",
		    OBJ_nid2sn(EVP_PKEY_get_base_id(pk)));
	else if (!*ed25519 && *bits < DKIMTAB_RSA_MIN)
		snprintf(why, whysz, "an RSA key of %u bits: %d at least "
		    "(2048 advised)", *bits, DKIMTAB_RSA_MIN);
	else
		return pk;
	EVP_PKEY_free(pk);
	return NULL;
}

/*
 * A key file's bytes, read through one descriptor that was checked first:
 * a regular file, no access for group or others (a key others can read
 * is no longer secret, one they can write is not ours).
 */
static char *
dkimtab_read_secret(const char *path, size_t *lenp, char *why, size_t whysz)
{
	struct stat	 st;
	char		*buf = NULL;
	ssize_t		 n;
	size_t		 len = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK)) == -1) {
		snprintf(why, whysz, "%s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1)
		snprintf(why, whysz, "%s", strerror(errno));
	else if (!S_ISREG(st.st_mode))
		snprintf(why, whysz, "not a regular file");
	else if (st.st_mode & (S_IRWXG | S_IRWXO))
		snprintf(why, whysz, "group/world-accessible (mode %04o): "
		    "chmod 600 it", (unsigned)(st.st_mode & 07777));
	else if (st.st_size > DKIMTAB_KEYFILE_MAX)
		snprintf(why, whysz, "too large to be a key");
	else {
		buf = xmalloc((size_t)st.st_size + 1);
		while (len < (size_t)st.st_size &&
		    (n = read(fd, buf + len, (size_t)st.st_size - len)) > 0)
			len += (size_t)n;
		buf[len] = '\0';
		if (len == 0) {
			snprintf(why, whysz, "empty");
			free(buf);
			buf = NULL;
		}
	}
	close(fd);
	*lenp = len;
	return buf;
}

/* Read and check one KeyTable entry's key; why set on failure. */
static int
dkimtab_load_key(struct dkimtab_key *k, const char *label, char *err,
    size_t errsz)
{
	char	*text, why[256] = "";
	size_t	 len;

	if (k->path == NULL)
		k->pkey = dkimtab_key_read(k->inline_key,
		    strlen(k->inline_key), &k->ed25519, &k->bits, why,
		    sizeof(why));
	else if ((text = dkimtab_read_secret(k->path, &len, why,
	    sizeof(why))) != NULL) {
		k->pkey = dkimtab_key_read(text, len, &k->ed25519, &k->bits,
		    why, sizeof(why));
		explicit_bzero(text, len);
		free(text);
	}
	if (k->pkey != NULL)
		return 0;
	if (k->path != NULL)
		util_err_append(err, errsz, "%s: %s (key '%s', %s:%u)",
		    k->path, why, k->name, label, k->line);
	else
		util_err_append(err, errsz, "%s:%u: key '%s': %s", label,
		    k->line, k->name, why);
	return -1;
}

/* The path of a table name, and whether it is a refile: one. */
static const char *
dkimtab_source(const char *name, int *refile)
{
	*refile = strncmp(name, "refile:", 7) == 0;
	if (*refile)
		return name + 7;
	return strncmp(name, "file:", 5) == 0 ? name + 5 : name;
}

struct dkimtab *
dkimtab_load(const char *key_table, const char *signing_table, char *err,
    size_t errsz)
{
	struct dkimtab	*t = xcalloc(1, sizeof(*t));
	const char	*kpath, *spath;
	char		*text;
	size_t		 len, i;
	int		 bad = 0, inline_keys = 0;
	char		 why[256];

	kpath = dkimtab_source(key_table, &t->keys_refile);
	spath = dkimtab_source(signing_table, &t->rules_refile);
	if ((text = util_read_file(kpath, &len)) == NULL) {
		util_err_append(err, errsz, "%s: %s", kpath, strerror(errno));
		bad = 1;
	} else {
		bad |= dkimtab_parse_keys(t, text, len, kpath, err, errsz);
		free(text);
	}
	if ((text = util_read_file(spath, &len)) == NULL) {
		util_err_append(err, errsz, "%s: %s", spath, strerror(errno));
		bad = 1;
	} else {
		bad |= dkimtab_parse_rules(t, text, len, spath, err, errsz);
		free(text);
	}
	if (!bad)
		bad |= dkimtab_check(t, spath, err, errsz);
	for (i = 0; i < t->nkeys; i++) {
		bad |= dkimtab_load_key(&t->keys[i], kpath, err, errsz);
		inline_keys |= t->keys[i].path == NULL;
	}
	/* Keys inside the table make the table a secret too. */
	if (inline_keys && (text = dkimtab_read_secret(kpath, &len, why,
	    sizeof(why))) == NULL) {
		util_err_append(err, errsz, "%s: %s (it holds keys)", kpath,
		    why);
		bad = 1;
	} else if (inline_keys) {
		explicit_bzero(text, len);
		free(text);
	}
	if (bad) {
		dkimtab_free(t);
		return NULL;
	}
	return t;
}

void
dkimtab_free(struct dkimtab *t)
{
	struct dkimtab_key	*k;
	size_t			 i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nkeys; i++) {
		k = &t->keys[i];
		free(k->name);
		free(k->domain);
		free(k->selector);
		free(k->path);
		if (k->inline_key != NULL)
			explicit_bzero(k->inline_key, strlen(k->inline_key));
		free(k->inline_key);
		EVP_PKEY_free(k->pkey);
	}
	for (i = 0; i < t->nrules; i++) {
		free(t->rules[i].pattern);
		free(t->rules[i].keyname);
		free(t->rules[i].signer);
	}
	free(t->keys);
	free(t->rules);
	free(t);
}

/*
 * Add rule r's signature to out[n] (when its key exists and it is no
 * repeat); returns the new count.  "%" in the key name and d= is the From
 * domain; in the signer too, and a signer outside d= is dropped (RFC 6376
 * 3.5 i=), as OpenDKIM does.
 */
static size_t
dkimtab_pick_rule(const struct dkimtab *t, const struct dkimtab_rule *r,
    const char *domain, struct dkimtab_pick *out, size_t n, size_t max)
{
	const struct dkimtab_key	*k;
	struct dkimtab_pick		*p;
	const char			*at, *s;
	size_t				 i, o, dlen, slen;

	k = dkimtab_key_find(t, strcmp(r->keyname, "%") == 0 ? domain :
	    r->keyname);
	if (k == NULL || n >= max)
		return n;
	p = &out[n];
	memset(p, 0, sizeof(*p));
	p->key = k;
	if (strlcpy(p->domain, strcmp(k->domain, "%") == 0 ? domain :
	    k->domain, sizeof(p->domain)) >= sizeof(p->domain))
		return n;
	for (i = 0; i < n; i++)
		if (out[i].key == k && strcasecmp(out[i].domain,
		    p->domain) == 0)
			return n;
	o = 0;
	for (s = r->signer; s != NULL && *s != '\0' &&
	    o < sizeof(p->signer); s++) {
		if (*s == '%')
			o += strlcpy(p->signer + o, domain,
			    sizeof(p->signer) - o);
		else
			p->signer[o++] = *s;
	}
	if (o >= sizeof(p->signer))
		o = 0;		/* too long: no i= */
	p->signer[o] = '\0';
	at = strrchr(p->signer, '@');
	dlen = strlen(p->domain);
	slen = at != NULL ? strlen(at + 1) : 0;
	if (at == NULL || slen < dlen ||
	    strcasecmp(at + 1 + slen - dlen, p->domain) != 0 ||
	    (slen > dlen && at[slen - dlen] != '.'))
		p->signer[0] = '\0';
	return n + 1;
}

/* The lookup key of one step of OpenDKIM's order (d: the parent). */
static void
dkimtab_lookup_key(char *key, size_t keysz, size_t step, const char *user,
    const char *domain, const char *d)
{
	switch (step) {
	case 0:
		snprintf(key, keysz, "%s@%s", user, domain);
		break;
	case 1:
		snprintf(key, keysz, "%s", domain);
		break;
	case 2:
		snprintf(key, keysz, "%s@%s", user, d);
		break;
	case 3:
		snprintf(key, keysz, "%s", d);
		break;
	case 4:
		snprintf(key, keysz, "%s@*", user);
		break;
	default:
		snprintf(key, keysz, "*");
		break;
	}
}

size_t
dkimtab_match(const struct dkimtab *t, const char *user, const char *domain,
    int multi, struct dkimtab_pick *out, size_t max)
{
	char		 key[DKIMTAB_NAME_MAX * 2 + 4], addr[sizeof(key)];
	const char	*d;
	size_t		 n = 0, i, step;

	if (snprintf(addr, sizeof(addr), "%s@%s", user, domain) >=
	    (int)sizeof(addr))
		return 0;
	if (t->rules_refile) {
		for (i = 0; i < t->nrules && (n == 0 || multi); i++)
			if (dkimtab_glob(t->rules[i].pattern, addr))
				n = dkimtab_pick_rule(t, &t->rules[i],
				    domain, out, n, max);
		return n;
	}
	/* OpenDKIM's order: user@host, host, user@.parent, .parent,
	 * user@*, *; each step's entries in file order. */
	for (step = 0; step < 6 && (n == 0 || multi); step++) {
		for (d = domain; d != NULL && (n == 0 || multi);
		    d = strchr(d + 1, '.')) {
			if ((step == 2 || step == 3) && d == domain)
				continue;	/* parents only */
			dkimtab_lookup_key(key, sizeof(key), step, user,
			    domain, d);
			for (i = 0; i < t->nrules && (n == 0 || multi); i++)
				if (strcasecmp(t->rules[i].pattern, key) == 0)
					n = dkimtab_pick_rule(t,
					    &t->rules[i], domain, out, n, max);
			if (step != 2 && step != 3)
				break;	/* one key, not one per parent */
		}
	}
	return n;
}

void
dkimtab_from(const char *value, char *user, size_t usz, char *domain,
    size_t dsz)
{
	unsigned char	*copy = (unsigned char *)xstrdup(value);
	unsigned char	*u = NULL, *d = NULL;

	if (dkim_mail_parse(copy, &u, &d) == 0 && u != NULL && d != NULL &&
	    d[0] != '\0' && strlen((char *)u) < usz &&
	    strlen((char *)d) < dsz) {
		strlcpy(user, (char *)u, usz);
		strlcpy(domain, (char *)d, dsz);
	}
	free(copy);
}

/* SPDX-License-Identifier: ISC */
/*
 * dmarc_record.c - DMARC record choice and parse (see dmarc_record.h).
 *
 * A record is split at ';' into "tag = value" parts (blanks around each
 * ignored, empty parts skipped); the first must be v=DMARC1.  Each known
 * tag is read on its own; the first of a tag given twice counts.  What
 * libopendmarc 1.4.2 gets wrong here (LIBRARIES.md section 10) is the
 * reason this is ours: a record whose first tag is not v=DMARC1 is used,
 * one bad value (aspf=bogus) drops the whole policy, several records
 * give the first instead of none, a non-DMARC TXT record before the
 * DMARC one hides it, and np is unknown.
 *
 * Public: dmarc_record_is, dmarc_record_select, dmarc_record_parse,
 * dmarc_policy_name.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/util.h"
#include "proto/dmarc_record.h"

/* One "tag=value" part: views into the record, not NUL-terminated. */
struct dmarc_tag {
	const char	*name, *value;
	size_t		 namelen, valuelen;
};

static size_t	dmarc_record_part(const char *, size_t, struct dmarc_tag *,
		    int *);
static int	dmarc_record_policy(const struct dmarc_tag *,
		    enum dmarc_policy *);
static int	dmarc_record_uint(const struct dmarc_tag *, unsigned long,
		    unsigned *);
static int	dmarc_record_uris(const struct dmarc_tag *, char *, size_t);
static int	dmarc_record_uri(const char *, size_t);
static int	dmarc_record_fo(const struct dmarc_tag *, char *, size_t);
static int	dmarc_record_is_tag(const struct dmarc_tag *, const char *);

int
dmarc_record_is(const char *txt, size_t len)
{
	size_t	 i = 0;

	if (len == 0 || (txt[0] != 'v' && txt[0] != 'V'))
		return 0;
	for (i = 1; i < len && (txt[i] == ' ' || txt[i] == '\t'); i++)
		;
	if (i == len || txt[i++] != '=')
		return 0;
	while (i < len && (txt[i] == ' ' || txt[i] == '\t'))
		i++;
	if (len - i < 6 || memcmp(txt + i, "DMARC1", 6) != 0)
		return 0;
	for (i += 6; i < len && (txt[i] == ' ' || txt[i] == '\t'); i++)
		;
	return i == len || txt[i] == ';';
}

int
dmarc_record_select(const char *const *txt, const size_t *len, size_t n)
{
	size_t	 i;
	int	 found = -1;

	for (i = 0; i < n; i++) {
		if (!dmarc_record_is(txt[i], len[i]))
			continue;
		if (found != -1)
			return -2;
		found = (int)i;
	}
	return found;
}

int
dmarc_record_parse(const char *txt, size_t len, struct dmarc_record *r,
    char *why, size_t whysz)
{
	struct dmarc_tag	 t;
	size_t			 off = 0, n;
	int			 has_p = 0, bad_sp = 0, seen_sp = 0, seen_np = 0;
	int			 seen[10] = { 0 }, empty;

	memset(r, 0, sizeof(*r));
	r->pct = 100;
	r->ri = 86400;
	strlcpy(r->fo, "0", sizeof(r->fo));
	snprintf(why, whysz, "%s", "");
	if (!dmarc_record_is(txt, len)) {
		snprintf(why, whysz, "not a DMARC1 record");
		return -1;
	}
	while (off < len) {
		n = dmarc_record_part(txt + off, len - off, &t, &empty);
		off += n;
		if (empty || t.name == NULL)
			continue;
		if (dmarc_record_is_tag(&t, "p") && !seen[0]++)
			has_p = dmarc_record_policy(&t, &r->p) == 0;
		else if (dmarc_record_is_tag(&t, "sp") && !seen[1]++) {
			seen_sp = dmarc_record_policy(&t, &r->sp) == 0;
			bad_sp = !seen_sp;
		} else if (dmarc_record_is_tag(&t, "np") && !seen[2]++)
			seen_np = dmarc_record_policy(&t, &r->np) == 0;
		else if (dmarc_record_is_tag(&t, "adkim") && !seen[3]++)
			r->adkim_strict = t.valuelen == 1 &&
			    (t.value[0] == 's' || t.value[0] == 'S');
		else if (dmarc_record_is_tag(&t, "aspf") && !seen[4]++)
			r->aspf_strict = t.valuelen == 1 &&
			    (t.value[0] == 's' || t.value[0] == 'S');
		else if (dmarc_record_is_tag(&t, "pct") && !seen[5]++)
			(void)dmarc_record_uint(&t, 100, &r->pct);
		else if (dmarc_record_is_tag(&t, "ri") && !seen[6]++)
			(void)dmarc_record_uint(&t, 0xffffffffUL, &r->ri);
		else if (dmarc_record_is_tag(&t, "fo") && !seen[7]++)
			(void)dmarc_record_fo(&t, r->fo, sizeof(r->fo));
		else if (dmarc_record_is_tag(&t, "rua") && !seen[8]++)
			(void)dmarc_record_uris(&t, r->rua, sizeof(r->rua));
		else if (dmarc_record_is_tag(&t, "ruf") && !seen[9]++)
			(void)dmarc_record_uris(&t, r->ruf, sizeof(r->ruf));
	}
	if (!has_p || bad_sp) {
		/* RFC 7489 6.6.3 step 6 */
		if (r->rua[0] == '\0') {
			snprintf(why, whysz, "%s", !has_p ? "no valid p= tag" :
			    "an sp= tag that is not valid");
			return -1;
		}
		r->p = DMARC_POLICY_NONE;	/* and nothing else of it */
		r->p_implied = 1;
		seen_sp = seen_np = 0;
	}
	if (!seen_sp)
		r->sp = r->p;
	if (!seen_np)
		r->np = r->sp;
	return 0;
}

/*
 * The part of rec[0..len) up to the next ';' (bytes used, the ';'
 * included) as *t; *empty when it holds only blanks.  A part without
 * '=' or with a bad tag name leaves t->name NULL (ignored).
 */
static size_t
dmarc_record_part(const char *rec, size_t len, struct dmarc_tag *t,
    int *empty)
{
	const char	*end = memchr(rec, ';', len), *eq, *p, *q;
	size_t		 used = end != NULL ? (size_t)(end - rec) + 1 : len;

	memset(t, 0, sizeof(*t));
	if (end == NULL)
		end = rec + len;
	for (p = rec; p < end && (*p == ' ' || *p == '\t'); p++)
		;
	for (q = end; q > p && (q[-1] == ' ' || q[-1] == '\t'); q--)
		;
	*empty = p == q;
	if (*empty || (eq = memchr(p, '=', (size_t)(q - p))) == NULL)
		return used;
	t->name = p;
	for (t->namelen = (size_t)(eq - p); t->namelen > 0 &&
	    (p[t->namelen - 1] == ' ' || p[t->namelen - 1] == '\t');
	    t->namelen--)
		;
	for (p = eq + 1; p < q && (*p == ' ' || *p == '\t'); p++)
		;
	t->value = p;
	t->valuelen = (size_t)(q - p);
	return used;
}

static int
dmarc_record_is_tag(const struct dmarc_tag *t, const char *name)
{
	return t->namelen == strlen(name) &&
	    strncasecmp(t->name, name, t->namelen) == 0;
}

static int
dmarc_record_policy(const struct dmarc_tag *t, enum dmarc_policy *p)
{
	static const char *const words[] = { "none", "quarantine", "reject" };
	size_t		 i;

	for (i = 0; i < nitems(words); i++)
		if (t->valuelen == strlen(words[i]) &&
		    strncasecmp(t->value, words[i], t->valuelen) == 0) {
			*p = (enum dmarc_policy)i;
			return 0;
		}
	return -1;
}

/* Digits only, at most max; -1 (and *v untouched) otherwise. */
static int
dmarc_record_uint(const struct dmarc_tag *t, unsigned long max, unsigned *v)
{
	unsigned long	 n = 0;
	size_t		 i;

	if (t->valuelen == 0 || t->valuelen > 10)
		return -1;
	for (i = 0; i < t->valuelen; i++) {
		if (!isdigit((unsigned char)t->value[i]))
			return -1;
		n = n * 10 + (unsigned long)(t->value[i] - '0');
	}
	if (n > max)
		return -1;
	*v = (unsigned)n;
	return 0;
}

/* The valid URIs of a comma list into out (comma-separated); 0 when at
 * least one was valid. */
static int
dmarc_record_uris(const struct dmarc_tag *t, char *out, size_t outsz)
{
	const char	*p = t->value, *end = t->value + t->valuelen, *c;
	size_t		 n, have = 0;

	out[0] = '\0';
	while (p < end) {
		if ((c = memchr(p, ',', (size_t)(end - p))) == NULL)
			c = end;
		while (p < c && (*p == ' ' || *p == '\t'))
			p++;
		for (n = (size_t)(c - p); n > 0 && (p[n - 1] == ' ' ||
		    p[n - 1] == '\t'); n--)
			;
		if (dmarc_record_uri(p, n) && have + n + 2 <= outsz) {
			if (have > 0)
				out[have++] = ',';
			memcpy(out + have, p, n);
			have += n;
			out[have] = '\0';
		}
		p = c + 1;
	}
	return have > 0 ? 0 : -1;
}

/* scheme ":" rest, then optionally "!" digits and a unit: printable
 * ASCII, no blank, no ',' or ';' (RFC 7489 6.4: dmarc-uri). */
static int
dmarc_record_uri(const char *u, size_t n)
{
	size_t	 i, colon = 0, bang = n;

	if (n == 0 || !isalpha((unsigned char)u[0]))
		return 0;
	for (i = 0; i < n; i++) {
		if (u[i] <= ' ' || u[i] >= 0x7f || u[i] == ',' || u[i] == ';')
			return 0;
		if (colon == 0 && u[i] == ':')
			colon = i;
		else if (colon == 0 && !isalnum((unsigned char)u[i]) &&
		    u[i] != '+' && u[i] != '-' && u[i] != '.')
			return 0;
		if (u[i] == '!' && bang == n)
			bang = i;
	}
	if (colon == 0 || colon + 1 >= bang)
		return 0;
	if (bang == n)
		return 1;
	for (i = bang + 1; i < n && isdigit((unsigned char)u[i]); i++)
		;
	if (i == bang + 1)
		return 0;
	return i == n || (i + 1 == n && strchr("kmgtKMGT", u[i]) != NULL);
}

/* "0", "1", "d", "s", colon-separated. */
static int
dmarc_record_fo(const struct dmarc_tag *t, char *out, size_t outsz)
{
	size_t	 i;

	if (t->valuelen == 0 || t->valuelen >= outsz)
		return -1;
	for (i = 0; i < t->valuelen; i++)
		if ((i % 2 == 0 && strchr("01dsDS", t->value[i]) == NULL) ||
		    (i % 2 == 1 && t->value[i] != ':'))
			return -1;
	if (t->valuelen % 2 == 0)
		return -1;	/* a trailing ':' */
	memcpy(out, t->value, t->valuelen);
	out[t->valuelen] = '\0';
	return 0;
}

const char *
dmarc_policy_name(enum dmarc_policy p)
{
	static const char *const names[] = { "none", "quarantine", "reject" };

	return (size_t)p < nitems(names) ? names[p] : "?";
}

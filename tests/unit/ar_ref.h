/* SPDX-License-Identifier: ISC */
/*
 * ar_ref.h - a REFERENCE READER of Authentication-Results values (RFC 8601
 * section 2.2, strictly, without the obsolete syntax) and of Received-SPF
 * values (RFC 7208 9.1), for the tests of policy/authres.c and
 * policy/hdrbuild.c (t_authres.c, t_hdrbuild.c, fuzz_authres.c,
 * fuzz_hdrbuild.c): what postern writes is read back here, independently
 * of how it was built, and must give exactly the results, properties and
 * values meant.
 * Written for clarity, not speed; static inline functions only
 * (included by each test).  Values are given back as text: a
 * quoted-string's content with its quoted pairs undone, a token or
 * local-part@domain as written.
 */
#ifndef POSTERN_AR_REF_H
#define POSTERN_AR_REF_H

#include <string.h>

#define AR_REF_MAX	16		/* results, properties, pairs */
#define AR_REF_LEN	1024		/* one word or value */

struct ar_ref_prop {
	char	 name[64];		/* "ptype.property" */
	char	 value[AR_REF_LEN];
};

struct ar_ref_result {
	char			 method[64];
	char			 result[64];
	char			 reason[AR_REF_LEN];	/* "" none */
	size_t			 nprops;
	struct ar_ref_prop	 props[AR_REF_MAX];
};

struct ar_ref {
	char			 id[AR_REF_LEN];
	size_t			 nres;
	struct ar_ref_result	 res[AR_REF_MAX];
	/* Received-SPF */
	char			 spf_result[64];
	size_t			 npairs;
	struct ar_ref_prop	 pairs[AR_REF_MAX];	/* key, value */
};

struct ar_ref_in {
	const char	*s;
	size_t		 i;
};

static inline int
ar_ref_has(const char *set, char c)
{
	return c != '\0' && strchr(set, c) != NULL;
}

static inline int
ar_ref_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

static inline int
ar_ref_vchar(char c)
{
	return (unsigned char)c > 0x20 && (unsigned char)c < 0x7f;
}

/* CFWS: blanks, folds (CRLF then a blank), nested comments with quoted
 * pairs.  -1 on a bad fold or an unclosed comment. */
static inline int
ar_ref_cfws(struct ar_ref_in *in)
{
	const char	*s = in->s;
	int		 depth = 0;

	for (;;) {
		char	 c = s[in->i];

		if (c == '\r') {
			if (s[in->i + 1] != '\n' || (s[in->i + 2] != ' ' &&
			    s[in->i + 2] != '\t'))
				return -1;
			in->i += 2;
		} else if (c == ' ' || c == '\t')
			in->i++;
		else if (c == '(') {
			depth++;
			in->i++;
		} else if (depth > 0 && c == ')') {
			depth--;
			in->i++;
		} else if (depth > 0 && c == '\\') {
			if (!ar_ref_vchar(s[in->i + 1]) && s[in->i + 1] != ' ')
				return -1;
			in->i += 2;
		} else if (depth > 0 && ar_ref_vchar(c))
			in->i++;
		else
			return depth > 0 ? -1 : 0;
	}
}

/* A quoted-string at in (after CFWS) into out (content, pairs undone). */
static inline int
ar_ref_quoted(struct ar_ref_in *in, char *out, size_t outsz)
{
	size_t	 o = 0;
	char	 c;

	if (in->s[in->i] != '"')
		return -1;
	for (in->i++; (c = in->s[in->i]) != '"'; in->i++) {
		if (c == '\\') {
			c = in->s[++in->i];
			if (!ar_ref_vchar(c) && c != ' ' && c != '\t')
				return -1;
		} else if (!ar_ref_vchar(c) && c != ' ' && c != '\t')
			return -1;
		if (o + 1 >= outsz)
			return -1;
		out[o++] = c;
	}
	in->i++;
	out[o] = '\0';
	return 0;
}

/* A run of bytes from set (or alnum) into out; -1 when empty. */
static inline int
ar_ref_run(struct ar_ref_in *in, const char *set, char *out, size_t outsz)
{
	size_t	 o = 0;
	char	 c;

	while ((c = in->s[in->i]) != '\0' && (ar_ref_alnum(c) ||
	    ar_ref_has(set, c))) {
		if (o + 1 >= outsz)
			return -1;
		out[o++] = c;
		in->i++;
	}
	out[o] = '\0';
	return o > 0 ? 0 : -1;
}

#define AR_REF_TOKEN	"!#$%&'*+-.^_`{|}~"	/* RFC 2045, but alnum */
#define AR_REF_ATEXT	"!#$%&'*+-/=?^_`{|}~"	/* RFC 5322, but alnum */

/* A dot-atom: atext runs separated by single dots. */
static inline int
ar_ref_is_dot_atom(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0 || s[0] == '.' || s[len - 1] == '.')
		return 0;
	for (i = 0; i < len; i++)
		if (s[i] == '.' ? s[i + 1] == '.' : !(ar_ref_alnum(s[i]) ||
		    ar_ref_has(AR_REF_ATEXT, s[i])))
			return 0;
	return 1;
}

/* value: a token or a quoted-string. */
static inline int
ar_ref_value(struct ar_ref_in *in, char *out, size_t outsz)
{
	if (in->s[in->i] == '"')
		return ar_ref_quoted(in, out, outsz);
	return ar_ref_run(in, AR_REF_TOKEN, out, outsz);
}

/* pvalue: value / [[local-part] "@"] domain-name; the text as written
 * for an address, a value's text otherwise. */
static inline int
ar_ref_pvalue(struct ar_ref_in *in, char *out, size_t outsz)
{
	struct ar_ref_in	 at;
	size_t			 start, n;
	char			 dom[AR_REF_LEN], tmp[AR_REF_LEN];

	if (ar_ref_cfws(in) == -1)
		return -1;
	start = in->i;
	at = *in;
	if (in->s[in->i] == '"') {
		if (ar_ref_quoted(&at, tmp, sizeof(tmp)) == -1)
			return -1;
	} else if (in->s[in->i] != '@')
		(void)ar_ref_run(&at, AR_REF_ATEXT ".", tmp, sizeof(tmp));
	if (at.s[at.i] == '@') {
		if (in->s[start] != '"' && at.i > start &&
		    !ar_ref_is_dot_atom(in->s + start, at.i - start))
			return -1;
		at.i++;
		if (ar_ref_run(&at, "-_.", dom, sizeof(dom)) == -1 ||
		    dom[0] == '.' || dom[strlen(dom) - 1] == '.' ||
		    strstr(dom, "..") != NULL)
			return -1;
		n = at.i - start;
		if (n + 1 > outsz)
			return -1;
		memcpy(out, in->s + start, n);
		out[n] = '\0';
		*in = at;
	} else if (ar_ref_value(in, out, outsz) == -1)
		return -1;
	return ar_ref_cfws(in);
}

/* method=result [reason=value] *(ptype.property=pvalue), after ";". */
static inline int
ar_ref_resinfo(struct ar_ref_in *in, struct ar_ref_result *r)
{
	struct ar_ref_prop	*p;
	char			 word[64], prop[64];

	memset(r, 0, sizeof(*r));
	if (ar_ref_cfws(in) == -1 ||
	    ar_ref_run(in, "-", r->method, sizeof(r->method)) == -1 ||
	    ar_ref_cfws(in) == -1 || in->s[in->i++] != '=' ||
	    ar_ref_cfws(in) == -1 ||
	    ar_ref_run(in, "-", r->result, sizeof(r->result)) == -1 ||
	    ar_ref_cfws(in) == -1)
		return -1;
	while (in->s[in->i] != '\0' && in->s[in->i] != ';') {
		if (ar_ref_run(in, "-", word, sizeof(word)) == -1 ||
		    ar_ref_cfws(in) == -1)
			return -1;
		if (strcmp(word, "reason") == 0 && r->nprops == 0 &&
		    r->reason[0] == '\0' && in->s[in->i] == '=') {
			in->i++;
			if (ar_ref_cfws(in) == -1 || ar_ref_value(in, r->reason,
			    sizeof(r->reason)) == -1 || ar_ref_cfws(in) == -1)
				return -1;
			continue;
		}
		if (in->s[in->i++] != '.' || ar_ref_cfws(in) == -1 ||
		    ar_ref_run(in, "-", prop, sizeof(prop)) == -1 ||
		    ar_ref_cfws(in) == -1 || in->s[in->i++] != '=' ||
		    r->nprops == AR_REF_MAX)
			return -1;
		p = &r->props[r->nprops++];
		strcpy(p->name, word);
		strcat(p->name, ".");
		if (strlen(p->name) + strlen(prop) >= sizeof(p->name))
			return -1;
		strcat(p->name, prop);
		if (ar_ref_pvalue(in, p->value, sizeof(p->value)) == -1)
			return -1;
	}
	return 0;
}

/* An A-R value: 0 and ar filled, or -1 when it is not one. */
static inline int
ar_ref_read(const char *s, struct ar_ref *ar)
{
	struct ar_ref_in	 in = { s, 0 };

	memset(ar, 0, sizeof(*ar));
	if (ar_ref_cfws(&in) == -1 ||
	    ar_ref_value(&in, ar->id, sizeof(ar->id)) == -1 ||
	    ar_ref_cfws(&in) == -1)
		return -1;
	if (in.s[in.i] == '\0')
		return 0;
	while (in.s[in.i] == ';') {
		in.i++;
		if (ar->nres == AR_REF_MAX ||
		    ar_ref_resinfo(&in, &ar->res[ar->nres++]) == -1)
			return -1;
	}
	return in.s[in.i] == '\0' ? 0 : -1;
}

/* A Received-SPF value: result [comment] key=value *(";" key=value)
 * [";"], each value a dot-atom or a quoted-string. */
static inline int
ar_ref_read_spf(const char *s, struct ar_ref *ar)
{
	struct ar_ref_in	 in = { s, 0 };
	struct ar_ref_prop	*p;
	size_t			 start;

	memset(ar, 0, sizeof(*ar));
	if (ar_ref_cfws(&in) == -1 || ar_ref_run(&in, "", ar->spf_result,
	    sizeof(ar->spf_result)) == -1 || ar_ref_cfws(&in) == -1)
		return -1;
	while (in.s[in.i] != '\0') {
		if (ar->npairs == AR_REF_MAX)
			return -1;
		p = &ar->pairs[ar->npairs++];
		if (ar_ref_run(&in, "-", p->name, sizeof(p->name)) == -1 ||
		    ar_ref_cfws(&in) == -1 || in.s[in.i++] != '=' ||
		    ar_ref_cfws(&in) == -1)
			return -1;
		start = in.i;
		if (in.s[in.i] == '"') {
			if (ar_ref_quoted(&in, p->value, sizeof(p->value)) == -1)
				return -1;
		} else if (ar_ref_run(&in, AR_REF_ATEXT ".", p->value,
		    sizeof(p->value)) == -1 || !ar_ref_is_dot_atom(in.s +
		    start, in.i - start))
			return -1;
		if (ar_ref_cfws(&in) == -1)
			return -1;
		if (in.s[in.i] == ';') {
			in.i++;
			if (ar_ref_cfws(&in) == -1)
				return -1;
		} else if (in.s[in.i] != '\0')
			return -1;
	}
	return 0;
}

#endif

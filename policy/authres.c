/* SPDX-License-Identifier: ISC */
/*
 * authres.c - Authentication-Results values (see authres.h).
 *
 * The authserv-id is a "value" (RFC 2045: a token or a quoted-string),
 * preceded by CFWS and followed by an optional version and ";" (or the
 * end, for "authserv-id; none" shortened).  Comments nest; quoted pairs
 * are honoured in both comments and quoted strings.
 *
 * Ours are built with hdrbuild.c: the authserv-id, method, result and
 * property names are our own words, every property value goes through
 * hdrbuild_pvalue and a comment through hdrbuild_comment, so no text from
 * a client or a message can add a result or a property.
 *
 * Public: authres_add, authres_is_ours.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/util.h"
#include "policy/authres.h"
#include "policy/hdrbuild.h"

#define AUTHRES_ID_MAX	256
#define AUTHRES_TSPECIALS "()<>@,;:\\\"/[]?="

static size_t	authres_cfws(const char *, size_t, size_t);
static long	authres_value(const char *, size_t, size_t, char *, size_t);
static void	authres_props(struct hdrbuild *, const struct authres_prop *,
		    size_t, int);

void
authres_add(char **valuep, const char *authserv_id, const char *method,
    const char *result, const char *comment,
    const struct authres_prop *props, size_t nprops)
{
	struct hdrbuild	 b;

	hdrbuild_init(&b);
	if (*valuep == NULL)
		hdrbuild_value(&b, authserv_id);
	else
		hdrbuild_resume(&b, *valuep);
	hdrbuild_text(&b, ";");
	hdrbuild_fold(&b);
	hdrbuild_text(&b, method);
	hdrbuild_text(&b, "=");
	hdrbuild_text(&b, result);
	if (comment != NULL && comment[0] != '\0') {
		hdrbuild_text(&b, " ");
		hdrbuild_comment(&b, comment);
	}
	authres_props(&b, props, nprops, 0);
	authres_props(&b, props, nprops, 1);
	*valuep = hdrbuild_take(&b);
}

/*
 * The properties whose value is (quoted) or is not (!quoted) written as a
 * bare quoted-string: those go last, because some readers
 * (python3-authres) take a quoted-string pvalue only at the end of a
 * resinfo.
 */
static void
authres_props(struct hdrbuild *b, const struct authres_prop *props,
    size_t n, int quoted)
{
	struct hdrbuild	 v;
	size_t		 i;

	for (i = 0; i < n; i++) {
		hdrbuild_init(&v);
		hdrbuild_pvalue(&v, props[i].value);
		if ((v.len > 0 && v.s[0] == '"' && v.s[v.len - 1] == '"') ==
		    quoted) {
			hdrbuild_text(b, " ");
			hdrbuild_text(b, props[i].name);
			hdrbuild_text(b, "=");
			hdrbuild_text(b, v.s);
		}
		hdrbuild_fini(&v);
	}
}

/* Skip folding white space and comments from i; returns the new index
 * (len when a comment is not closed). */
static size_t
authres_cfws(const char *v, size_t len, size_t i)
{
	int	 depth = 0;

	for (; i < len; i++) {
		if (depth > 0 && v[i] == '\\') {
			i++;
			continue;
		}
		if (v[i] == '(')
			depth++;
		else if (v[i] == ')' && depth > 0)
			depth--;
		else if (depth == 0 && strchr(" \t\r\n", v[i]) == NULL)
			return i;
	}
	return len;
}

/* A token or quoted-string at i into out; the index after it, or -1. */
static long
authres_value(const char *v, size_t len, size_t i, char *out, size_t outsz)
{
	size_t	 o = 0;

	if (i < len && v[i] == '"') {
		for (i++; i < len && v[i] != '"'; i++) {
			if (v[i] == '\\' && ++i == len)
				return -1;
			if (o + 1 >= outsz)
				return -1;
			out[o++] = v[i];
		}
		if (i == len)
			return -1;
		out[o] = '\0';
		return (long)i + 1;
	}
	for (; i < len && (unsigned char)v[i] > ' ' && v[i] != 0x7f &&
	    strchr(AUTHRES_TSPECIALS, v[i]) == NULL; i++) {
		if (o + 1 >= outsz)
			return -1;
		out[o++] = v[i];
	}
	out[o] = '\0';
	return o > 0 ? (long)i : -1;
}

int
authres_is_ours(const char *value, size_t len, const char *authserv_id)
{
	char	 id[AUTHRES_ID_MAX];
	long	 end;
	size_t	 i;

	i = authres_cfws(value, len, 0);
	if ((end = authres_value(value, len, i, id, sizeof(id))) == -1)
		return 0;
	i = authres_cfws(value, len, (size_t)end);
	/* An optional version: digits. */
	if (i < len && value[i] >= '0' && value[i] <= '9') {
		while (i < len && value[i] >= '0' && value[i] <= '9')
			i++;
		i = authres_cfws(value, len, i);
	}
	if (i < len && value[i] != ';')
		return 0;
	return strcasecmp(id, authserv_id) == 0;
}

/* SPDX-License-Identifier: ISC */
/*
 * hdrbuild.c - header field text built piece by piece (see hdrbuild.h).
 *
 * The grammars: RFC 2045 token and RFC 5322 quoted-string (the RFC 8601
 * value), RFC 5322 dot-atom (RFC 7208 9.1 key-value pairs, the plain
 * local part of an address), RFC 5322 comment.  A piece is always
 * written whole and well formed: what cannot be written as a token or a
 * dot-atom is quoted, and a quoted-string or comment always ends with its
 * own closing delimiter, whatever it contains.
 *
 * A value left bare never holds '=' (quoted instead), so not even a lax
 * reader splitting on '=' finds one more property or key in it.
 *
 * Public: hdrbuild_init, hdrbuild_fini, hdrbuild_resume, hdrbuild_take,
 * hdrbuild_text, hdrbuild_fold, hdrbuild_value, hdrbuild_pvalue,
 * hdrbuild_kv, hdrbuild_comment, hdrbuild_is_token, hdrbuild_is_domain,
 * hdrbuild_field.  (Field names: rfc5322_name_ok.)
 */
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "policy/hdrbuild.h"

#define HDRBUILD_TSPECIALS	"()<>@,;:\\\"/[]?="
/* RFC 5322 atext but letters, digits and '=' */
#define HDRBUILD_ATEXT		"!#$%&'*+-/?^_`{|}~"

static void	hdrbuild_byte(struct hdrbuild *, char);
static void	hdrbuild_quoted(struct hdrbuild *, const char *, size_t);
static int	hdrbuild_printable(unsigned char);
static int	hdrbuild_alnum(char);
static int	hdrbuild_is_atom(const char *, size_t);
static int	hdrbuild_is_quoted(const char *, size_t);
static size_t	hdrbuild_next_line(const char *, size_t);

void
hdrbuild_init(struct hdrbuild *b)
{
	b->s = NULL;
	b->len = 0;
	b->cap = 0;
}

void
hdrbuild_fini(struct hdrbuild *b)
{
	free(b->s);
	hdrbuild_init(b);
}

void
hdrbuild_resume(struct hdrbuild *b, char *s)
{
	free(b->s);
	b->s = s;
	b->len = strlen(s);
	b->cap = b->len + 1;
}

char *
hdrbuild_take(struct hdrbuild *b)
{
	char	*s = b->s != NULL ? b->s : xstrdup("");

	hdrbuild_init(b);
	return s;
}

static void
hdrbuild_byte(struct hdrbuild *b, char c)
{
	if (b->len + 2 > b->cap) {
		b->cap = b->cap < 64 ? 128 : b->cap * 2;
		b->s = xrealloc(b->s, b->cap);
	}
	b->s[b->len++] = c;
	b->s[b->len] = '\0';
}

static int
hdrbuild_printable(unsigned char c)
{
	return c >= 0x20 && c < 0x7f;
}

static int
hdrbuild_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

void
hdrbuild_text(struct hdrbuild *b, const char *s)
{
	for (; *s != '\0'; s++)
		hdrbuild_byte(b, hdrbuild_printable(*s) ? *s : '?');
}

void
hdrbuild_fold(struct hdrbuild *b)
{
	hdrbuild_byte(b, '\r');
	hdrbuild_byte(b, '\n');
	hdrbuild_byte(b, '\t');
}

/* '"' s[0..len) '"', with '"' and '\' as quoted pairs. */
static void
hdrbuild_quoted(struct hdrbuild *b, const char *s, size_t len)
{
	size_t	 i;

	hdrbuild_byte(b, '"');
	for (i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			hdrbuild_byte(b, '\\');
		hdrbuild_byte(b, hdrbuild_printable(s[i]) ? s[i] : '?');
	}
	hdrbuild_byte(b, '"');
}

int
hdrbuild_is_token(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f ||
		    strchr(HDRBUILD_TSPECIALS, *s) != NULL)
			return 0;
	return 1;
}

/* s[0..len) as an RFC 5322 dot-atom without '=' (a value left unquoted
 * must not look like one more key or property, even to a lax reader). */
static int
hdrbuild_is_atom(const char *s, size_t len)
{
	size_t	 i;
	int	 dot = 1;	/* at the start, or after a dot */

	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (dot)
				return 0;
			dot = 1;
			continue;
		}
		if (!hdrbuild_alnum(s[i]) && (s[i] == '\0' ||
		    strchr(HDRBUILD_ATEXT, s[i]) == NULL))
			return 0;
		dot = 0;
	}
	return len > 0 && !dot;
}

/* s[0..len) is one well-formed quoted-string of printable ASCII. */
static int
hdrbuild_is_quoted(const char *s, size_t len)
{
	size_t	 i;

	if (len < 2 || s[0] != '"' || s[len - 1] != '"')
		return 0;
	for (i = 1; i < len - 1; i++) {
		if (!hdrbuild_printable(s[i]) || s[i] == '"')
			return 0;
		if (s[i] == '\\' && (++i == len - 1 ||
		    !hdrbuild_printable(s[i])))
			return 0;
	}
	return 1;
}

int
hdrbuild_is_domain(const char *s)
{
	size_t	 label = 0, n;

	for (n = 0; s[n] != '\0'; n++) {
		if (s[n] == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if ((!hdrbuild_alnum(s[n]) && s[n] != '-' && s[n] != '_') ||
		    ++label > 63)
			return 0;
	}
	return n > 0 && n <= 253 && label > 0;
}

void
hdrbuild_value(struct hdrbuild *b, const char *s)
{
	if (hdrbuild_is_token(s))
		hdrbuild_text(b, s);
	else
		hdrbuild_quoted(b, s, strlen(s));
}

void
hdrbuild_pvalue(struct hdrbuild *b, const char *s)
{
	const char	*at = strrchr(s, '@');
	size_t		 n = at != NULL ? (size_t)(at - s) : 0;

	if (at != NULL && hdrbuild_is_domain(at + 1) && (n == 0 ||
	    hdrbuild_is_atom(s, n) || hdrbuild_is_quoted(s, n)))
		hdrbuild_text(b, s);
	else
		hdrbuild_value(b, s);
}

void
hdrbuild_kv(struct hdrbuild *b, const char *key, const char *value)
{
	hdrbuild_text(b, " ");
	hdrbuild_text(b, key);
	hdrbuild_text(b, "=");
	if (hdrbuild_is_atom(value, strlen(value)))
		hdrbuild_text(b, value);
	else
		hdrbuild_quoted(b, value, strlen(value));
	hdrbuild_text(b, ";");
}

void
hdrbuild_comment(struct hdrbuild *b, const char *s)
{
	hdrbuild_byte(b, '(');
	for (; *s != '\0'; s++) {
		if (*s == '(' || *s == ')' || *s == '\\')
			hdrbuild_byte(b, '\\');
		hdrbuild_byte(b, hdrbuild_printable(*s) ? *s : '?');
	}
	hdrbuild_byte(b, ')');
}

/* From the line break at v[i]: where the next line with more than blanks
 * starts, or the end of v when none does. */
static size_t
hdrbuild_next_line(const char *v, size_t i)
{
	size_t	 n;

	for (;;) {
		i += strspn(v + i, "\r\n");
		n = i + strspn(v + i, " \t");
		if (v[n] == '\0')
			return n;
		if (v[n] != '\r' && v[n] != '\n')
			return i;
		i = n;
	}
}

char *
hdrbuild_field(const char *v)
{
	struct hdrbuild	 b;
	size_t		 i = 0;

	hdrbuild_init(&b);
	while (v[i] != '\0') {
		if (v[i] != '\r' && v[i] != '\n') {
			hdrbuild_byte(&b, ((unsigned char)v[i] < 0x20 &&
			    v[i] != '\t') || v[i] == 0x7f ? '?' : v[i]);
			i++;
			continue;
		}
		if (v[i = hdrbuild_next_line(v, i)] == '\0')
			break;
		hdrbuild_byte(&b, '\r');
		hdrbuild_byte(&b, '\n');
		if (v[i] != ' ' && v[i] != '\t')
			hdrbuild_byte(&b, '\t');
	}
	return hdrbuild_take(&b);
}

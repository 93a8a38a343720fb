/* SPDX-License-Identifier: ISC */
/*
 * smtp_parse.c - pure SMTP syntax: command verbs, MAIL/RCPT paths with their
 * ESMTP parameters, reply lines, EHLO capabilities and xtext.  No I/O, no
 * allocation, no globals beyond constant tables; every entry point is fuzzed
 * (tests/fuzz/fuzz_smtp_parse.c).
 *
 * Public:
 *	smtp_cmd_parse		line -> verb + argument, in place
 *	smtp_line_check		trailing CR cut; bare CR, NUL refused
 *	smtp_path_parse		"FROM:<addr> K=V ..." -> address + params, in place
 *	smtp_path_param		parameter value by keyword (case-insensitive)
 *	smtp_reply_line		"ddd[-| ]text" -> code, last flag, text
 *	smtp_ehlo_line		one EHLO reply line -> capability bits
 *	smtp_ehlo_reply		a whole EHLO reply -> capabilities
 *	smtp_xtext		RFC 3461 xtext encoding
 *	smtp_parse_strerror	text for an enum smtp_perr
 *
 * Address syntax is RFC 5321 4.1.2 with RFC 6531 8-bit when SMTPUTF8 was
 * given: a dot-atom or quoted-string local part, '@', then a domain of LDH
 * labels or an IPv4/IPv6 address literal.  A source route is checked and
 * dropped.  The local part is not held to the 64-octet limit of 4.5.3.1.1
 * (Postfix does not enforce it either); the whole path is held to 256.
 *
 * DIAGNOSTICS
 *	Nothing is logged.  Parsers return an enum smtp_perr (or -1); the
 *	caller, which knows the session, chooses the reply and logs it.  On
 *	error the input may have been partly NUL-split.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "proto/smtp_parse.h"

#define IS_DIGIT(c)	((c) >= '0' && (c) <= '9')
#define IS_ALPHA(c)	(((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z'))
#define IS_ALNUM(c)	(IS_ALPHA(c) || IS_DIGIT(c))
#define IS_8BIT(c)	((unsigned char)(c) >= 0x80)

#define SMTP_LABEL_MAX	63	/* RFC 1035 2.3.4 */
#define SMTP_DOMAIN_MAX	255	/* RFC 5321 4.5.3.1.2 */

struct verb_name {
	const char	*name;
	enum smtp_verb	 verb;
};

static const struct verb_name verbs[] = {
	{ "HELO", SMTP_HELO },		{ "EHLO", SMTP_EHLO },
	{ "MAIL", SMTP_MAIL },		{ "RCPT", SMTP_RCPT },
	{ "DATA", SMTP_DATA },		{ "BDAT", SMTP_BDAT },
	{ "RSET", SMTP_RSET },		{ "NOOP", SMTP_NOOP },
	{ "QUIT", SMTP_QUIT },		{ "VRFY", SMTP_VRFY },
	{ "EXPN", SMTP_EXPN },		{ "HELP", SMTP_HELP },
	{ "STARTTLS", SMTP_STARTTLS },	{ "AUTH", SMTP_AUTH },
	{ "ETRN", SMTP_ETRN },		{ "XCLIENT", SMTP_XCLIENT },
	{ "XFORWARD", SMTP_XFORWARD },
};

struct ehlo_name {
	const char	*name;
	unsigned	 bit;
};

static const struct ehlo_name ehlo_names[] = {
	{ "PIPELINING", SMTP_EXT_PIPELINING },	{ "SIZE", SMTP_EXT_SIZE },
	{ "8BITMIME", SMTP_EXT_8BITMIME },	{ "SMTPUTF8", SMTP_EXT_SMTPUTF8 },
	{ "ENHANCEDSTATUSCODES", SMTP_EXT_ENHANCED },
	{ "CHUNKING", SMTP_EXT_CHUNKING },	{ "DSN", SMTP_EXT_DSN },
	{ "XCLIENT", SMTP_EXT_XCLIENT },	{ "XFORWARD", SMTP_EXT_XFORWARD },
	{ "STARTTLS", SMTP_EXT_STARTTLS },	{ "AUTH", SMTP_EXT_AUTH },
	{ "BINARYMIME", SMTP_EXT_BINARYMIME },
};

static int	 is_space(int);
static int	 is_atext(int, int);
static enum smtp_verb verb_lookup(const char *);
static size_t	 path_end(const char *, size_t);
static int	 domain_ok(const char *, size_t, int);
static int	 literal_ok(const char *, size_t);
static enum smtp_perr route_skip(const char *, size_t, int, size_t *);
static int	 local_quoted(const char *, size_t, int, size_t *);
static int	 local_atom(const char *, size_t, int, size_t *);
static enum smtp_perr mailbox_ok(const char *, size_t, int, int);
static enum smtp_perr path_addr(const char *, size_t, int, int, int,
		    struct smtp_path *);
static enum smtp_perr param_one(char *, int, struct smtp_param *);
static enum smtp_perr path_params(char *, int, struct smtp_path *);
static void	 ehlo_size(struct smtp_ehlo *, const char *, size_t);
static int	 word_present(const char *, const char *, size_t);
static void	 ehlo_words(char *, size_t, const char *, size_t);

static int
is_space(int c)
{
	return c == ' ' || c == '\t';
}

/* RFC 5322 atext, plus 8-bit when SMTPUTF8 (RFC 6532 3.2). */
static int
is_atext(int c, int utf8)
{
	if (IS_ALNUM(c))
		return 1;
	if (IS_8BIT(c))
		return utf8;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static enum smtp_verb
verb_lookup(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcasecmp(name, verbs[i].name) == 0)
			return verbs[i].verb;
	return SMTP_UNKNOWN;
}

enum smtp_perr
smtp_line_check(char *line, size_t *len)
{
	if (memchr(line, '\0', *len) != NULL)
		return SMTP_P_NUL;
	if (*len > 0 && line[*len - 1] == '\r')
		line[--*len] = '\0';
	if (memchr(line, '\r', *len) != NULL)
		return SMTP_P_BARE_CR;
	return SMTP_P_OK;
}

enum smtp_perr
smtp_cmd_parse(char *line, size_t len, struct smtp_cmd *cmd)
{
	enum smtp_perr	 e;
	size_t		 i, end;

	cmd->verb = SMTP_UNKNOWN;
	e = smtp_line_check(line, &len);
	cmd->arg = line + len;
	if (e != SMTP_P_OK)
		return e;

	for (i = 0; i < len && !is_space(line[i]); i++)
		;
	end = len;
	while (end > i && is_space(line[end - 1]))
		line[--end] = '\0';
	cmd->arg = line + end;
	if (i < end) {
		line[i++] = '\0';
		while (i < end && is_space(line[i]))
			i++;
		cmd->arg = line + i;
	}
	cmd->verb = verb_lookup(line);
	return SMTP_P_OK;
}

/*
 * Offset of the '>' closing the path that starts with '<' at s[0], skipping
 * quoted strings (a quoted local part may hold '>'), or 0 if there is none.
 */
static size_t
path_end(const char *s, size_t len)
{
	size_t	 i;
	int	 quoted = 0;

	for (i = 1; i < len; i++) {
		if (quoted && s[i] == '\\' && i + 1 < len)
			i++;
		else if (s[i] == '"')
			quoted = !quoted;
		else if (!quoted && s[i] == '>')
			return i;
	}
	return 0;
}

/* Dot-separated LDH labels (8-bit allowed when utf8), no address literal. */
static int
domain_ok(const char *s, size_t len, int utf8)
{
	size_t	 i, lab = 0;
	int	 c;

	if (len == 0 || len > SMTP_DOMAIN_MAX)
		return 0;
	for (i = 0; i <= len; i++) {
		c = i < len ? (unsigned char)s[i] : '.';
		if (c == '.') {
			if (lab == 0 || lab > SMTP_LABEL_MAX ||
			    s[i - lab] == '-' || s[i - 1] == '-')
				return 0;
			lab = 0;
		} else if (IS_ALNUM(c) || c == '-' || (utf8 && IS_8BIT(c)))
			lab++;
		else
			return 0;
	}
	return 1;
}

/* "[1.2.3.4]" or "[IPv6:...]"; general address literals are refused. */
static int
literal_ok(const char *s, size_t len)
{
	char		 buf[64];
	unsigned char	 addr[16];
	int		 af = AF_INET;

	if (len < 2 || s[0] != '[' || s[len - 1] != ']')
		return 0;
	s++;
	len -= 2;
	if (len >= 5 && strncasecmp(s, "IPv6:", 5) == 0) {
		af = AF_INET6;
		s += 5;
		len -= 5;
	}
	if (len == 0 || len >= sizeof(buf))
		return 0;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return inet_pton(af, buf, addr) == 1;
}

/*
 * Check the source route "@a,@b:" at the start of s and set *skip to the
 * length to drop; 0 when there is no route.
 */
static enum smtp_perr
route_skip(const char *s, size_t len, int utf8, size_t *skip)
{
	size_t	 i = 0, d;

	*skip = 0;
	if (len == 0 || s[0] != '@')
		return SMTP_P_OK;
	for (;;) {
		if (i >= len || s[i] != '@')
			return SMTP_P_PATH;
		d = ++i;
		while (i < len && s[i] != ',' && s[i] != ':')
			i++;
		if (i >= len || !domain_ok(s + d, i - d, utf8))
			return SMTP_P_PATH;
		if (s[i++] == ':')
			break;
	}
	*skip = i;
	return SMTP_P_OK;
}

/* RFC 5321 Quoted-string; *used gets its length, quotes included. */
static int
local_quoted(const char *s, size_t len, int utf8, size_t *used)
{
	size_t	 i;
	int	 c;

	for (i = 1; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == '"') {
			*used = i + 1;
			return 1;
		}
		if (c == '\\') {
			if (++i >= len || s[i] < 32 || s[i] > 126)
				return 0;
		} else if (IS_8BIT(c) ? !utf8 : (c < 32 || c > 126))
			return 0;
	}
	return 0;
}

/* RFC 5321 Dot-string; *used gets its length. */
static int
local_atom(const char *s, size_t len, int utf8, size_t *used)
{
	size_t	 i, atom = 0;

	for (i = 0; i < len && s[i] != '@'; i++) {
		if (s[i] == '.') {
			if (atom == 0)
				return 0;
			atom = 0;
		} else if (is_atext((unsigned char)s[i], utf8))
			atom++;
		else
			return 0;
	}
	*used = i;
	return atom > 0;
}

/*
 * Local part '@' domain.  Without a domain only "postmaster" passes, and
 * only when postmaster is set (RCPT, RFC 5321 4.1.1.3).
 */
static enum smtp_perr
mailbox_ok(const char *s, size_t len, int utf8, int postmaster)
{
	size_t	 n = 0;
	int	 good;

	if (len > 0 && s[0] == '"')
		good = local_quoted(s, len, utf8, &n);
	else
		good = local_atom(s, len, utf8, &n);
	if (!good)
		return SMTP_P_PATH;
	if (n == len) {
		if (postmaster && len == 10 && strncasecmp(s, "postmaster",
		    10) == 0)
			return SMTP_P_OK;
		return SMTP_P_PATH;
	}
	if (s[n] != '@')
		return SMTP_P_PATH;
	s += n + 1;
	len -= n + 1;
	if (len > 0 && s[0] == '[')
		good = literal_ok(s, len);
	else
		good = domain_ok(s, len, utf8);
	return good ? SMTP_P_OK : SMTP_P_PATH;
}

/* The text between the brackets: null path, source route, mailbox. */
static enum smtp_perr
path_addr(const char *s, size_t len, int allow_null, int utf8,
    int postmaster, struct smtp_path *out)
{
	enum smtp_perr	 error;
	size_t		 i, skip;

	if (len == 0)
		return allow_null ? SMTP_P_OK : SMTP_P_PATH;
	if (!utf8)
		for (i = 0; i < len; i++)
			if (IS_8BIT(s[i]))
				return SMTP_P_8BIT;
	if ((error = route_skip(s, len, utf8, &skip)) != SMTP_P_OK)
		return error;
	s += skip;
	len -= skip;
	if ((error = mailbox_ok(s, len, utf8, postmaster)) != SMTP_P_OK)
		return error;
	memcpy(out->addr, s, len);
	out->addr[len] = '\0';
	return SMTP_P_OK;
}

/* One "KEY[=VALUE]" (RFC 5321 4.1.2 esmtp-param, RFC 6531 3.3 values). */
static enum smtp_perr
param_one(char *tok, int utf8, struct smtp_param *prm)
{
	char	*p;

	if (!IS_ALNUM(tok[0]))
		return SMTP_P_PARAM;
	for (p = tok + 1; IS_ALNUM(*p) || *p == '-'; p++)
		;
	prm->key = tok;
	prm->value = NULL;
	if (*p == '\0')
		return SMTP_P_OK;
	if (*p != '=' || p[1] == '\0')
		return SMTP_P_PARAM;
	*p++ = '\0';
	prm->value = p;
	for (; *p != '\0'; p++) {
		if (IS_8BIT(*p)) {
			if (!utf8)
				return SMTP_P_8BIT;
		} else if (*p < 33 || *p > 126 || *p == '=')
			return SMTP_P_PARAM;
	}
	return SMTP_P_OK;
}

/* Space-separated parameters after the path; p is at a space or NUL. */
static enum smtp_perr
path_params(char *p, int utf8, struct smtp_path *out)
{
	struct smtp_param	 prm;
	enum smtp_perr		 error;
	char			*tok;

	for (;;) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			return SMTP_P_OK;
		if (out->nparams == SMTP_PARAMS_MAX)
			return SMTP_P_TOO_MANY_PARAMS;
		tok = p;
		p += strcspn(p, " ");
		if (*p != '\0')
			*p++ = '\0';
		if ((error = param_one(tok, utf8, &prm)) != SMTP_P_OK)
			return error;
		if (smtp_path_param(out, prm.key) != NULL)
			return SMTP_P_DUP_PARAM;
		out->params[out->nparams++] = prm;
	}
}

enum smtp_perr
smtp_path_parse(char *arg, const char *keyword, int allow_null, int utf8,
    struct smtp_path *out)
{
	enum smtp_perr	 error;
	size_t		 klen, len, end;
	char		*p;

	out->addr[0] = '\0';
	out->nparams = 0;
	klen = strlen(keyword);
	if (strncasecmp(arg, keyword, klen) != 0 || arg[klen] != ':')
		return SMTP_P_SYNTAX;
	p = arg + klen + 1;
	if (*p == ' ')
		p++;
	if (*p != '<')
		return SMTP_P_PATH;
	len = strlen(p);
	if ((end = path_end(p, len)) == 0)
		return SMTP_P_PATH;
	if (end + 1 > SMTP_PATH_MAX)
		return SMTP_P_PATH_TOO_LONG;
	error = path_addr(p + 1, end - 1, allow_null, utf8,
	    strcasecmp(keyword, "TO") == 0, out);
	if (error != SMTP_P_OK)
		return error;
	p += end + 1;
	if (*p != '\0' && *p != ' ')
		return SMTP_P_SYNTAX;
	return path_params(p, utf8, out);
}

const char *
smtp_path_param(const struct smtp_path *path, const char *key)
{
	size_t	 i;

	for (i = 0; i < path->nparams; i++)
		if (strcasecmp(path->params[i].key, key) == 0)
			return path->params[i].value != NULL ?
			    path->params[i].value : "";
	return NULL;
}

int
smtp_reply_line(const char *line, size_t len, int *code, int *last,
    const char **text, size_t *textlen)
{
	if (len < 3 || line[0] < '2' || line[0] > '5' ||
	    !IS_DIGIT(line[1]) || !IS_DIGIT(line[2]))
		return -1;
	if (len > 3 && line[3] != ' ' && line[3] != '-')
		return -1;
	/* a line break inside would frame replies differently here and in
	 * the client: no CR, LF or NUL at all */
	if (memchr(line, '\r', len) != NULL ||
	    memchr(line, '\n', len) != NULL || memchr(line, '\0', len) != NULL)
		return -1;
	*code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	*last = len == 3 || line[3] == ' ';
	*text = line + (len == 3 ? 3 : 4);
	*textlen = len == 3 ? 0 : len - 4;
	return 0;
}

/* "SIZE nnn": a missing or bad number means no announced limit. */
static void
ehlo_size(struct smtp_ehlo *e, const char *s, size_t len)
{
	uint64_t	 v = 0;
	size_t		 i;

	e->size = 0;
	for (i = 0; i < len && is_space(s[i]); i++)
		;
	for (; i < len && !is_space(s[i]); i++) {
		if (!IS_DIGIT(s[i]) || v > (UINT64_MAX - (s[i] - '0')) / 10)
			return;
		v = v * 10 + (s[i] - '0');
	}
	e->size = v;
}

/* Whether the word w/wlen is one of the space-separated words of buf. */
static int
word_present(const char *buf, const char *w, size_t wlen)
{
	size_t	 n;

	while (*buf != '\0') {
		n = strcspn(buf, " ");
		if (n == wlen && strncasecmp(buf, w, wlen) == 0)
			return 1;
		buf += n;
		while (*buf == ' ')
			buf++;
	}
	return 0;
}

/*
 * Append the words of s/len to buf, one space apart, skipping words already
 * there ("AUTH" and the old "AUTH=" often both appear), words with control
 * or 8-bit bytes, and words that do not fit whole.
 */
static void
ehlo_words(char *buf, size_t bufsz, const char *s, size_t len)
{
	size_t	 i = 0, w, n, used, j;

	while (i < len) {
		while (i < len && is_space(s[i]))
			i++;
		for (w = i; i < len && !is_space(s[i]); i++)
			;
		if ((n = i - w) == 0)
			continue;
		for (j = w; j < i && s[j] > 32 && s[j] < 127; j++)
			;
		if (j < i || word_present(buf, s + w, n))
			continue;
		used = strlen(buf);
		if (used + (used > 0) + n >= bufsz)
			continue;
		if (used > 0)
			buf[used++] = ' ';
		memcpy(buf + used, s + w, n);
		buf[used + n] = '\0';
	}
}

void
smtp_ehlo_line(struct smtp_ehlo *e, const char *text, size_t len)
{
	const struct ehlo_name	*x = NULL;
	size_t			 i, k;

	for (k = 0; k < len && !is_space(text[k]) && text[k] != '='; k++)
		;
	for (i = 0; i < sizeof(ehlo_names) / sizeof(ehlo_names[0]); i++)
		if (strlen(ehlo_names[i].name) == k &&
		    strncasecmp(text, ehlo_names[i].name, k) == 0)
			x = &ehlo_names[i];
	if (x == NULL)
		return;
	e->ext |= x->bit;
	if (k < len)
		k++;		/* the space or '=' */
	text += k;
	len -= k;
	if (x->bit == SMTP_EXT_SIZE)
		ehlo_size(e, text, len);
	else if (x->bit == SMTP_EXT_XCLIENT)
		ehlo_words(e->xclient, sizeof(e->xclient), text, len);
	else if (x->bit == SMTP_EXT_XFORWARD)
		ehlo_words(e->xforward, sizeof(e->xforward), text, len);
	else if (x->bit == SMTP_EXT_AUTH)
		ehlo_words(e->auth, sizeof(e->auth), text, len);
}

void
smtp_ehlo_reply(struct smtp_ehlo *e, const char *text)
{
	const char	*p, *eol, *t;
	size_t		 tlen;
	int		 code, last;

	memset(e, 0, sizeof(*e));
	/* the first line is the greeting name, not a capability */
	for (p = strstr(text, "\r\n"); p != NULL && p[2] != '\0'; p = eol) {
		p += 2;
		if ((eol = strstr(p, "\r\n")) == NULL)
			break;
		if (smtp_reply_line(p, (size_t)(eol - p), &code, &last, &t,
		    &tlen) == 0)
			smtp_ehlo_line(e, t, tlen);
	}
}

int
smtp_xtext(char *dst, size_t dstsz, const char *src)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*s;
	size_t			 n = 0;

	for (s = (const unsigned char *)src; *s != '\0'; s++) {
		if (*s > 32 && *s < 127 && *s != '+' && *s != '=') {
			if (n + 1 >= dstsz || n + 1 > INT_MAX)
				goto fail;
			dst[n++] = *s;
		} else {
			if (n + 3 >= dstsz || n + 3 > INT_MAX)
				goto fail;
			dst[n++] = '+';
			dst[n++] = hex[*s >> 4];
			dst[n++] = hex[*s & 0x0f];
		}
	}
	if (n >= dstsz)
		goto fail;
	dst[n] = '\0';
	return (int)n;
fail:
	if (dstsz > 0)
		dst[0] = '\0';
	return -1;
}

const char *
smtp_parse_strerror(enum smtp_perr e)
{
	switch (e) {
	case SMTP_P_OK:
		return "no error";
	case SMTP_P_BARE_CR:
		return "bare CR in command line";
	case SMTP_P_NUL:
		return "NUL byte in command line";
	case SMTP_P_8BIT:
		return "8-bit data without SMTPUTF8";
	case SMTP_P_SYNTAX:
		return "syntax error in parameters";
	case SMTP_P_PATH:
		return "malformed address";
	case SMTP_P_PATH_TOO_LONG:
		return "path too long";
	case SMTP_P_PARAM:
		return "malformed ESMTP parameter";
	case SMTP_P_TOO_MANY_PARAMS:
		return "too many ESMTP parameters";
	case SMTP_P_DUP_PARAM:
		return "duplicate ESMTP parameter";
	}
	return "unknown error";
}

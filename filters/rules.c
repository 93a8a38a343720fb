/* SPDX-License-Identifier: ISC */
/*
 * rules.c - the parser of the regex rule language described in rules.h:
 * rules text, one rule a line, into a struct ruleset.  It owns the rules it
 * appends (their pattern, text and file copies) until rules_free.  Pure: no
 * PCRE2, no logging, no globals; the regex filter compiles the patterns.
 *
 * A line is cut into tokens at spaces and tabs.  The pattern is the one
 * token that may hold blanks, since it runs from its '/' to the next
 * unescaped '/'; quoted strings may hold blanks too.  '#' starts a comment
 * at the start of a line or after the action and its arguments (after a
 * blank, outside quotes).  A line ends at LF; one CR before it is dropped.
 *
 * Public:
 *	rules_parse	appends the rules of a text to a set; 0, or -1 and
 *			err (the rules before the bad line stay in the set).
 *	rules_load	rules_parse on the whole of a file.
 *	rules_free	frees every rule and zeroes the set.
 *
 * DIAGNOSTICS
 *	Errors go to the caller's err buffer as "name:line: what is wrong",
 *	never to the log.  Tokens are quoted (their first 64 bytes, control
 *	and non-ASCII bytes as '?'): "unknown field 'hdr' (connect,
 *	client_name, reverse_name, helo, mail, rcpt, header:NAME, header:*,
 *	body, raw)", "pattern not closed:
 *	missing '/'", "unknown flag 'q' (i, m, s, x)", "reject code must be
 *	5xx, not '450'", "rule spam already defined at rules.conf:3".  An
 *	unreadable file is "path: strerror".
 */
#include <sys/types.h>

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filters/rules.h"
#include "lib/util.h"
#include "proto/rfc5322.h"

#define RULES_QUOTE	64		/* bytes of a token in a message */
#define RULES_NAMEMAX	63
#define RULES_HDRMAX	79
#define RULES_TEXTMAX	400		/* reply text, bytes */
#define RULES_TAGMAX	900		/* "Name: value", bytes */
#define RULES_SCOREMAX	1000.0
#define RULES_FIELDS	"(connect, client_name, reverse_name, helo, " \
			"mail, rcpt, header:NAME, header:*, body, raw)"
#define RULES_ACTIONS	"(reject, tempfail, accept, discard, score, tag)"

/* The words of the rules language, by enum value (rules.h). */
const char *const rules_field_names[RULE_NFIELDS] = {
	[RULE_CONNECT] = "connect", [RULE_CLIENT_NAME] = "client_name",
	[RULE_REVERSE_NAME] = "reverse_name", [RULE_HELO] = "helo",
	[RULE_MAIL] = "mail", [RULE_RCPT] = "rcpt", [RULE_HEADER] = "header:",
	[RULE_BODY] = "body", [RULE_RAW] = "raw",
};
const char *const rules_action_names[RULE_NACTIONS] = {
	[RULE_REJECT] = "reject", [RULE_TEMPFAIL] = "tempfail",
	[RULE_ACCEPT] = "accept", [RULE_DISCARD] = "discard",
	[RULE_SCORE] = "score", [RULE_TAG] = "tag",
};

/* The line being parsed: a cursor over its bytes, and where it came from. */
struct rules_ctx {
	const char	*name;		/* not duplicated */
	unsigned	 line;
	const char	*p;		/* the next byte of the line */
	const char	*end;		/* end of the line, CR(LF) cut */
	struct ruleset	*set;
	char		*err;		/* caller's: errors appended */
	size_t		 errsz;
	unsigned	 nerr;		/* bad lines so far */
};

static int	 rules_err(struct rules_ctx *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static const char *rules_quote(const char *, size_t, char *, size_t);
static int	 rules_isblank(int);
static int	 rules_atend(struct rules_ctx *);
static const char *rules_token(struct rules_ctx *, size_t *);
static int	 rules_line(struct rules_ctx *, const char *, size_t);
static int	 rules_rule(struct rules_ctx *, struct rule *);
static int	 rules_name(struct rules_ctx *, struct rule *);
static int	 rules_field(struct rules_ctx *, struct rule *);
static int	 rules_header(struct rules_ctx *, struct rule *, const char *,
		    size_t);
static int	 rules_pattern(struct rules_ctx *, struct rule *);
static int	 rules_flags(struct rules_ctx *, struct rule *);
static int	 rules_action(struct rules_ctx *, struct rule *);
static int	 rules_reply(struct rules_ctx *, struct rule *);
static int	 rules_code(struct rules_ctx *, struct rule *, const char *,
		    size_t);
static int	 rules_esc(struct rules_ctx *, struct rule *, const char *,
		    size_t);
static int	 rules_string(struct rules_ctx *, char **, size_t *);
static int	 rules_score(struct rules_ctx *, struct rule *);
static int	 rules_tag(struct rules_ctx *, struct rule *);
static int	 rules_tail(struct rules_ctx *, const char *, const char *);
static void	 rules_append(struct ruleset *, const struct rule *);
static void	 rules_clear(struct rule *);

/*
 * Messages and tokens.
 */
static int
rules_err(struct rules_ctx *c, const char *fmt, ...)
{
	char	 msg[1024];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	util_err_append(c->err, c->errsz, "%s:%u: %s", c->name, c->line, msg);
	c->nerr++;
	return -1;
}

/* The first RULES_QUOTE bytes of s[0..len) in buf, unprintables as '?'. */
static const char *
rules_quote(const char *s, size_t len, char *buf, size_t sz)
{
	size_t	 i;

	for (i = 0; i < len && i < RULES_QUOTE && i + 4 < sz; i++)
		buf[i] = ((unsigned char)s[i] < 0x20 ||
		    (unsigned char)s[i] > 0x7e) ? '?' : s[i];
	buf[i] = '\0';
	if (i < len)
		strlcat(buf, "...", sz);
	return buf;
}

static int
rules_isblank(int ch)
{
	return ch == ' ' || ch == '\t';
}

/* Skips blanks; 1 if nothing but a comment is left. */
static int
rules_atend(struct rules_ctx *c)
{
	while (c->p < c->end && rules_isblank(*c->p))
		c->p++;
	return c->p == c->end || *c->p == '#';
}

/* The next token and its length, or NULL (length 0) at the end or at a
 * comment. */
static const char *
rules_token(struct rules_ctx *c, size_t *lenp)
{
	const char	*t;

	*lenp = 0;
	if (rules_atend(c))
		return NULL;
	for (t = c->p; c->p < c->end && !rules_isblank(*c->p); c->p++)
		;
	*lenp = (size_t)(c->p - t);
	return t;
}

/*
 * One rule: NAME FIELD /PATTERN/FLAGS ACTION [ARGUMENTS] [# comment].
 */
static int
rules_line(struct rules_ctx *c, const char *line, size_t len)
{
	struct rule	 r;

	if (memchr(line, '\0', len) != NULL)
		return rules_err(c, "NUL byte in line");
	c->p = line;
	c->end = line + len;
	if (rules_atend(c))
		return 0;
	memset(&r, 0, sizeof(r));
	if (rules_rule(c, &r) == -1) {
		rules_clear(&r);
		return -1;
	}
	r.file = xstrdup(c->name);
	r.line = c->line;
	rules_append(c->set, &r);
	return 0;
}

static int
rules_rule(struct rules_ctx *c, struct rule *r)
{
	if (rules_name(c, r) == -1 || rules_field(c, r) == -1 ||
	    rules_pattern(c, r) == -1 || rules_flags(c, r) == -1)
		return -1;
	return rules_action(c, r);
}

static int
rules_name(struct rules_ctx *c, struct rule *r)
{
	const char	*t;
	char		 q[RULES_QUOTE + 8];
	size_t		 len, i;

	t = rules_token(c, &len);
	rules_quote(t, len, q, sizeof(q));
	for (i = 0; i < len; i++)
		if (!((t[i] >= 'A' && t[i] <= 'Z') ||
		    (t[i] >= 'a' && t[i] <= 'z') ||
		    (t[i] >= '0' && t[i] <= '9') || t[i] == '_'))
			return rules_err(c, "invalid rule name '%s': letters, "
			    "digits and '_' only", q);
	if (len > RULES_NAMEMAX)
		return rules_err(c, "rule name '%s' too long (at most %d "
		    "characters)", q, RULES_NAMEMAX);
	memcpy(r->name, t, len);
	r->name[len] = '\0';
	for (i = 0; i < c->set->n; i++)
		if (strcmp(c->set->rules[i].name, r->name) == 0)
			return rules_err(c, "rule %s already defined at %s:%u",
			    r->name, c->set->rules[i].file,
			    c->set->rules[i].line);
	return 0;
}

/*
 * FIELD.
 */
static int
rules_field(struct rules_ctx *c, struct rule *r)
{
	const char	*t;
	char		 q[RULES_QUOTE + 8];
	size_t		 len, i;

	if ((t = rules_token(c, &len)) == NULL)
		return rules_err(c, "expected a field after rule %s "
		    RULES_FIELDS, r->name);
	for (i = 0; i < nitems(rules_field_names); i++)
		if (i != RULE_HEADER && strlen(rules_field_names[i]) == len &&
		    strncasecmp(rules_field_names[i], t, len) == 0) {
			r->field = (enum rule_field)i;
			return 0;
		}
	if (len >= 7 && strncasecmp(t, "header:", 7) == 0)
		return rules_header(c, r, t + 7, len - 7);
	return rules_err(c, "unknown field '%s' " RULES_FIELDS,
	    rules_quote(t, len, q, sizeof(q)));
}

/* The NAME of header:NAME, or "*". */
static int
rules_header(struct rules_ctx *c, struct rule *r, const char *h, size_t len)
{
	char	 q[RULES_QUOTE + 8];

	r->field = RULE_HEADER;
	if (len == 0)
		return rules_err(c, "missing header name after 'header:' "
		    "(header:NAME or header:*)");
	rules_quote(h, len, q, sizeof(q));
	if (!rfc5322_name_ok(h, len))
		return rules_err(c, "invalid header name '%s': printable "
		    "ASCII except ':' only", q);
	if (len > RULES_HDRMAX)
		return rules_err(c, "header name '%s' too long (at most %d "
		    "characters)", q, RULES_HDRMAX);
	memcpy(r->header, h, len);
	r->header[len] = '\0';
	return 0;
}

/*
 * /PATTERN/FLAGS.  A backslash always takes the next byte with it, so
 * "\\/" is an escaped backslash and then the closing slash.
 */
static int
rules_pattern(struct rules_ctx *c, struct rule *r)
{
	const char	*s;
	char		 q[RULES_QUOTE + 8];
	size_t		 len, n = 0;

	if (rules_atend(c))
		return rules_err(c, "expected a /pattern/ after the field");
	if (*c->p != '/') {
		s = rules_token(c, &len);
		return rules_err(c, "expected a /pattern/ after the field, "
		    "not '%s'", rules_quote(s, len, q, sizeof(q)));
	}
	r->pattern = xmalloc((size_t)(c->end - c->p));
	for (s = c->p + 1; s < c->end && *s != '/'; s++) {
		if (*s == '\\' && s + 1 < c->end) {
			if (s[1] != '/')
				r->pattern[n++] = '\\';
			s++;
		} else if (*s == '\\')
			break;
		r->pattern[n++] = *s;
	}
	if (s >= c->end || *s != '/')
		return rules_err(c, "pattern not closed: missing '/'");
	if (n == 0)
		return rules_err(c, "empty pattern");
	r->pattern[n] = '\0';
	r->patlen = n;
	c->p = s + 1;
	return 0;
}

static int
rules_flags(struct rules_ctx *c, struct rule *r)
{
	static const char	 letters[] = "imsx";
	const char		*l;
	char			 q[8];
	unsigned		 bit;

	for (; c->p < c->end && !rules_isblank(*c->p); c->p++) {
		rules_quote(c->p, 1, q, sizeof(q));
		if ((l = strchr(letters, *c->p)) == NULL)
			return rules_err(c, "unknown flag '%s' (i, m, s, x)",
			    q);
		bit = 1U << (l - letters);
		if (r->flags & bit)
			return rules_err(c, "flag '%s' given twice", q);
		r->flags |= bit;
	}
	return 0;
}

/*
 * ACTION [ARGUMENTS] [# comment].
 */
static int
rules_action(struct rules_ctx *c, struct rule *r)
{
	const char	*t;
	char		 q[RULES_QUOTE + 8];
	size_t		 len, i;

	if ((t = rules_token(c, &len)) == NULL)
		return rules_err(c, "expected an action " RULES_ACTIONS);
	for (i = 0; i < nitems(rules_action_names); i++)
		if (strlen(rules_action_names[i]) == len &&
		    strncasecmp(rules_action_names[i], t, len) == 0)
			break;
	if (i == nitems(rules_action_names))
		return rules_err(c, "unknown action '%s' " RULES_ACTIONS,
		    rules_quote(t, len, q, sizeof(q)));
	r->action = (enum rule_action)i;
	switch (r->action) {
	case RULE_REJECT:
	case RULE_TEMPFAIL:
		return rules_reply(c, r);
	case RULE_SCORE:
		return rules_score(c, r);
	case RULE_TAG:
		return rules_tag(c, r);
	default:
		if (rules_atend(c))
			return 0;
		return rules_err(c, "%s takes no arguments: '%s'",
		    rules_action_names[i], rules_quote(c->p, (size_t)(c->end - c->p),
		    q, sizeof(q)));
	}
}

/* reject|tempfail [CODE [ESC]] ["TEXT"] */
static int
rules_reply(struct rules_ctx *c, struct rule *r)
{
	const char	*what = r->action == RULE_REJECT ? "reject" :
			    "tempfail";
	const char	*t;
	size_t		 len;

	if (!rules_atend(c) && *c->p >= '0' && *c->p <= '9') {
		t = rules_token(c, &len);
		if (rules_code(c, r, t, len) == -1)
			return -1;
		if (!rules_atend(c) && *c->p >= '0' && *c->p <= '9') {
			t = rules_token(c, &len);
			if (rules_esc(c, r, t, len) == -1)
				return -1;
		}
	}
	if (!rules_atend(c) && *c->p == '"') {
		if (rules_string(c, &r->text, &len) == -1)
			return -1;
		if (len == 0)
			return rules_err(c, "empty reply text");
		if (len > RULES_TEXTMAX)
			return rules_err(c, "reply text too long: %zu bytes, "
			    "at most %d", len, RULES_TEXTMAX);
	}
	return rules_tail(c, what, " (reply text must be in double quotes)");
}

static int
rules_code(struct rules_ctx *c, struct rule *r, const char *t, size_t len)
{
	char	 q[RULES_QUOTE + 8];
	char	 want = r->action == RULE_REJECT ? '5' : '4';

	rules_quote(t, len, q, sizeof(q));
	if (memchr(t, '.', len) != NULL)
		return rules_err(c, "enhanced status code '%s' needs a reply "
		    "code before it (e.g. %c50 %c.7.1)", q, want, want);
	if (len != 3 || strspn(q, "0123456789") != 3)
		return rules_err(c, "invalid reply code '%s': 3 digits "
		    "expected", q);
	if (t[0] != want)
		return rules_err(c, "%s code must be %cxx, not '%s'",
		    r->action == RULE_REJECT ? "reject" : "tempfail", want, q);
	memcpy(r->code, t, 3);
	r->code[3] = '\0';
	return 0;
}

/* ESC: CLASS.SUBJECT.DETAIL, 1-3 digits each but the class. */
static int
rules_esc(struct rules_ctx *c, struct rule *r, const char *t, size_t len)
{
	char	 q[RULES_QUOTE + 8];
	size_t	 i = 1, part, n;

	rules_quote(t, len, q, sizeof(q));
	for (part = 0; part < 2 && i < len && t[i] == '.'; part++) {
		for (i++, n = 0; i < len && t[i] >= '0' && t[i] <= '9'; i++)
			n++;
		if (n < 1 || n > 3)
			break;
	}
	if (part != 2 || i != len || t[len - 1] == '.')
		return rules_err(c, "invalid enhanced status code '%s': "
		    "CLASS.SUBJECT.DETAIL expected (e.g. %c.7.1)", q,
		    r->code[0]);
	if (t[0] != r->code[0])
		return rules_err(c, "enhanced status code '%s' does not match "
		    "reply code '%s'", q, r->code);
	memcpy(r->esc, t, len);
	r->esc[len] = '\0';
	return 0;
}

/*
 * A double-quoted string at the cursor, with \" and \\ escapes, in a new
 * NUL-terminated *sp (owned by the caller, also on error).  Tab and
 * printable ASCII only.  It must end at a blank or at the end of the line.
 */
static int
rules_string(struct rules_ctx *c, char **sp, size_t *lenp)
{
	const char	*s;
	char		*o;
	size_t		 n = 0;

	o = *sp = xmalloc((size_t)(c->end - c->p));
	for (s = c->p + 1; s < c->end && *s != '"'; s++) {
		if (*s == '\\') {
			if (s + 1 == c->end)
				break;
			if (s[1] != '"' && s[1] != '\\')
				return rules_err(c, "invalid escape '\\%c' in "
				    "string: only \\\" and \\\\",
				    s[1] > 32 && s[1] < 127 ? s[1] : '?');
			s++;
		} else if (*s != '\t' && (*s < 32 || *s > 126))
			return rules_err(c, "character 0x%02x not allowed in "
			    "a string (printable ASCII only)",
			    (unsigned char)*s);
		o[n++] = *s;
	}
	if (s >= c->end || *s != '"')
		return rules_err(c, "string not closed: missing '\"'");
	o[n] = '\0';
	*lenp = n;
	c->p = s + 1;
	if (c->p < c->end && !rules_isblank(*c->p))
		return rules_err(c, "expected a blank after the closing '\"'");
	return 0;
}

/* score NUMBER */
static int
rules_score(struct rules_ctx *c, struct rule *r)
{
	const char	*t;
	char		*s, *ep;
	char		 q[RULES_QUOTE + 8];
	size_t		 len;
	double		 d;
	int		 bad;

	if ((t = rules_token(c, &len)) == NULL)
		return rules_err(c, "missing number after score "
		    "(e.g. 2.5, -1, +0.5)");
	rules_quote(t, len, q, sizeof(q));
	s = xstrndup(t, len);
	d = strtod(s, &ep);
	bad = ep == s || *ep != '\0' || isnan(d);
	free(s);
	if (bad)
		return rules_err(c, "invalid score '%s': a number expected "
		    "(e.g. 2.5, -1, +0.5)", q);
	if (!(d <= RULES_SCOREMAX && d >= -RULES_SCOREMAX))
		return rules_err(c, "score '%s' out of range -1000..1000", q);
	r->score = d;
	return rules_tail(c, "score", "");
}

/* tag "Name: value" */
static int
rules_tag(struct rules_ctx *c, struct rule *r)
{
	const char	*colon;
	char		 q[RULES_QUOTE + 8];
	size_t		 len;

	if (rules_atend(c) || *c->p != '"')
		return rules_err(c, "tag needs a quoted \"Name: value\"");
	if (rules_string(c, &r->text, &len) == -1)
		return -1;
	rules_quote(r->text, len, q, sizeof(q));
	if ((colon = memchr(r->text, ':', len)) == NULL)
		return rules_err(c, "tag '%s' is not \"Name: value\": missing "
		    "':'", q);
	if (!rfc5322_name_ok(r->text, (size_t)(colon - r->text)))
		return rules_err(c, "tag '%s' is not \"Name: value\": invalid "
		    "header field name", q);
	if (len > RULES_TAGMAX)
		return rules_err(c, "tag too long: %zu bytes, at most %d", len,
		    RULES_TAGMAX);
	return rules_tail(c, "tag", "");
}

/* Nothing but a comment may follow the action and its arguments. */
static int
rules_tail(struct rules_ctx *c, const char *what, const char *hint)
{
	char	 q[RULES_QUOTE + 8];

	if (rules_atend(c))
		return 0;
	return rules_err(c, "unexpected '%s' after %s%s", rules_quote(c->p,
	    (size_t)(c->end - c->p), q, sizeof(q)), what, hint);
}

/*
 * The set.  Its capacity is not stored: it is 8, then the power of two
 * at or above n, so the array grows when n reaches one.
 */
static void
rules_append(struct ruleset *set, const struct rule *r)
{
	size_t	 n = set->n;

	if (n == 0 || (n >= 8 && (n & (n - 1)) == 0))
		set->rules = xrealloc(set->rules, (n == 0 ? 8 : 2 * n) *
		    sizeof(*set->rules));
	set->rules[set->n++] = *r;
}

static void
rules_clear(struct rule *r)
{
	free(r->pattern);
	free(r->text);
	free(r->file);
	memset(r, 0, sizeof(*r));
}

int
rules_parse(const char *name, const char *text, size_t len,
    struct ruleset *set, char *err, size_t errsz)
{
	struct rules_ctx	 c;
	const char		*p = text, *end = text + len, *nl;
	size_t			 n;

	memset(&c, 0, sizeof(c));
	c.name = name != NULL ? name : "rules";
	c.set = set;
	c.err = err;
	c.errsz = errsz;
	for (; p < end; p = nl + 1) {
		c.line++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		n = (size_t)(nl - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		(void)rules_line(&c, p, n);	/* a bad line: on to the next */
	}
	return c.nerr > 0 ? -1 : 0;
}

int
rules_load(const char *path, struct ruleset *set, char *err, size_t errsz)
{
	char	*buf;
	size_t	 len;
	int	 rc;

	if ((buf = util_read_file(path, &len)) == NULL) {
		util_err_append(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = rules_parse(path, buf, len, set, err, errsz);
	free(buf);
	return rc;
}

void
rules_free(struct ruleset *set)
{
	size_t	 i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++)
		rules_clear(&set->rules[i]);
	free(set->rules);
	memset(set, 0, sizeof(*set));
}

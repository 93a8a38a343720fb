/* SPDX-License-Identifier: ISC */
/*
 * spf_record.c - SPF record text before libspf2: the screen, the record
 * choice, the rewrite.
 *
 * libspf2 1.2.10 (Debian 12) compiles records into fixed-size buffers and
 * its macro parser has an integer underflow (CVE-2023-42118, fixed
 * upstream after 1.2.10); it also accepts records RFC 7208 calls invalid
 * and rejects some valid ones ("ip4:x/0").  Every record a DNS server
 * hands us therefore passes this screen first: the RFC 7208 section 12
 * grammar (version, terms separated by spaces, qualifiers, the eight
 * mechanisms, redirect/exp/unknown modifiers, macro-strings, CIDR lengths
 * without leading zeros, domain-specs whose top label is not all-numeric),
 * no duplicate redirect= or exp=, 7-bit printable text, and a bound on the
 * compiled size well inside libspf2's 511-byte mechanism and modifier
 * areas (shevek/libspf2 issue #21), so no macro ever sits near a buffer
 * end.  What passes is rewritten into a canonical record libspf2
 * evaluates as RFC 7208 says (see spf_record_rewrite).
 *
 * Public: spf_record_select, spf_record_screen, spf_record_screen_exp,
 * spf_record_rewrite, spf_record_exp_escape, spf_record_domain_ok.
 *
 * DIAGNOSTICS
 *	The screen's reasons are short and quote the term at fault:
 *	"unknown mechanism 'foo'", "invalid domain-spec 'foo.123'",
 *	"invalid CIDR length in 'a/33'", "duplicate redirect=",
 *	"non-ASCII or control character", "record too long for libspf2".
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "filters/spf_record.h"

/* Bound on the estimated compiled bytes per area; libspf2 has 511. */
#define REC_AREA_MAX	440
#define REC_TERMS_MAX	128
#define REC_LITERAL_MAX	253	/* literal bytes between two macros */

enum rec_kind {
	REC_ALL,
	REC_INCLUDE,
	REC_A,
	REC_MX,
	REC_PTR,
	REC_IP4,
	REC_IP6,
	REC_EXISTS,
	REC_REDIRECT,
	REC_EXP,
	REC_UNKNOWN,
};

/* One term of a record; pointers into the record text (not copied). */
struct rec_term {
	const char	*text;		/* the whole term */
	size_t		 len;
	char		 qual;		/* '+', '-', '?', '~'; '\0' = none */
	enum rec_kind	 kind;
	const char	*name;		/* mechanism or modifier name */
	size_t		 namelen;
	const char	*arg;		/* domain-spec, network or value;
					   NULL = none */
	size_t		 arglen;
	int		 cidr4;		/* -1 = absent */
	int		 cidr6;
};

static const struct {
	const char	*name;
	enum rec_kind	 kind;
} rec_mechs[] = {
	{ "all", REC_ALL },		{ "include", REC_INCLUDE },
	{ "a", REC_A },			{ "mx", REC_MX },
	{ "ptr", REC_PTR },		{ "ip4", REC_IP4 },
	{ "ip6", REC_IP6 },		{ "exists", REC_EXISTS },
};

static const char *rec_next(const char *, const char **, size_t *);
static int	 rec_term_parse(const char *, size_t, struct rec_term *,
		    char *, size_t);
static int	 rec_modifier(struct rec_term *, const char *, char *,
		    size_t);
static int	 rec_mechanism(struct rec_term *, const char *, char *,
		    size_t);
static int	 rec_cidr_tail(const char **, size_t *, int *, int, int);
static int	 rec_network(struct rec_term *, char *, size_t);
static int	 rec_macro_string(const char *, size_t, const char *, int *,
		    size_t *);
static int	 rec_domain_spec(const char *, size_t, size_t *);
static int	 rec_toplabel(const char *, size_t);
static int	 rec_labels(const char *, size_t);
static size_t	 rec_estimate(const struct rec_term *);
static int	 rec_chars(const char *, char *, size_t);
static int	 rec_put(char *, size_t, size_t *, const char *, size_t);
static int	 rec_put_mech(char *, size_t, size_t *,
		    const struct rec_term *, int);

int
spf_record_select(const char *const *txt, size_t n, size_t *idx)
{
	size_t	 i, found = 0;

	for (i = 0; i < n; i++) {
		if (txt[i] == NULL || strncasecmp(txt[i], "v=spf1", 6) != 0 ||
		    (txt[i][6] != ' ' && txt[i][6] != '\0'))
			continue;
		if (found++ == 0)
			*idx = i;
	}
	if (found > 1)
		return -1;
	return found == 1 ? 1 : 0;
}

/* The next space-separated term at or after p: its start and length, and
 * the position after it; NULL at the end. */
static const char *
rec_next(const char *p, const char **start, size_t *len)
{
	while (*p == ' ')
		p++;
	if (*p == '\0')
		return NULL;
	*start = p;
	while (*p != ' ' && *p != '\0')
		p++;
	*len = (size_t)(p - *start);
	return p;
}

/* Printable 7-bit text and spaces only. */
static int
rec_chars(const char *s, char *why, size_t whysz)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e) {
			snprintf(why, whysz, "non-ASCII or control character");
			return -1;
		}
	return 0;
}

int
spf_record_screen(const char *rec, char *why, size_t whysz)
{
	struct rec_term	 t;
	const char	*p, *s;
	size_t		 len, mech = 0, mod = 0, nterms = 0;
	int		 nredirect = 0, nexp = 0;

	if ((len = strlen(rec)) > SPF_RECORD_MAXLEN) {
		snprintf(why, whysz, "record too long (%zu bytes)", len);
		return -1;
	}
	if (strncasecmp(rec, "v=spf1", 6) != 0 ||
	    (rec[6] != ' ' && rec[6] != '\0')) {
		snprintf(why, whysz, "not an SPF record");
		return -1;
	}
	if (rec_chars(rec, why, whysz) == -1)
		return -1;
	for (p = rec + 6; (p = rec_next(p, &s, &len)) != NULL; ) {
		if (++nterms > REC_TERMS_MAX) {
			snprintf(why, whysz, "too many terms");
			return -1;
		}
		if (rec_term_parse(s, len, &t, why, whysz) == -1)
			return -1;
		if ((t.kind == REC_REDIRECT && nredirect++ > 0) ||
		    (t.kind == REC_EXP && nexp++ > 0)) {
			snprintf(why, whysz, "duplicate %s=",
			    t.kind == REC_EXP ? "exp" : "redirect");
			return -1;
		}
		if (t.kind == REC_EXP)
			mod += rec_estimate(&t);
		else if (t.kind != REC_UNKNOWN)
			mech += rec_estimate(&t);
	}
	if (mech > REC_AREA_MAX || mod > REC_AREA_MAX) {
		snprintf(why, whysz, "record too long for libspf2");
		return -1;
	}
	return 0;
}

/*
 * rec_term_parse - split and check one term s[0..len).  A term whose name
 * is followed by '=' is a modifier, anything else a directive.
 */
static int
rec_term_parse(const char *s, size_t len, struct rec_term *t, char *why,
    size_t whysz)
{
	const char	*p, *end = s + len;
	int		 rc;

	memset(t, 0, sizeof(*t));
	t->text = s;
	t->len = len;
	t->cidr4 = t->cidr6 = -1;
	p = s;
	if (*p == '+' || *p == '-' || *p == '?' || *p == '~')
		t->qual = *p++;
	t->name = p;
	while (p < end && (isalnum((unsigned char)*p) || *p == '-' ||
	    *p == '_' || *p == '.'))
		p++;
	t->namelen = (size_t)(p - t->name);
	if (p < end && *p == '=' && t->qual == '\0')
		rc = rec_modifier(t, p + 1, why, whysz);
	else
		rc = rec_mechanism(t, p, why, whysz);
	if (rc == -1 && why[0] == '\0')
		snprintf(why, whysz, "invalid term '%.*s'", (int)len, s);
	return rc;
}

static int
rec_modifier(struct rec_term *t, const char *val, char *why, size_t whysz)
{
	size_t	 nvars;

	why[0] = '\0';
	t->arg = val;
	t->arglen = (size_t)(t->text + t->len - val);
	if (t->namelen == 0 || !isalpha((unsigned char)t->name[0]))
		return -1;
	if (t->namelen == 8 && strncasecmp(t->name, "redirect", 8) == 0)
		t->kind = REC_REDIRECT;
	else if (t->namelen == 3 && strncasecmp(t->name, "exp", 3) == 0)
		t->kind = REC_EXP;
	else {
		t->kind = REC_UNKNOWN;
		if (rec_macro_string(val, t->arglen, "slodiphvcrt", NULL,
		    &nvars) == -1)
			return -1;
		return 0;
	}
	if (rec_domain_spec(val, t->arglen, &nvars) == -1) {
		snprintf(why, whysz, "invalid domain-spec '%.*s'",
		    (int)t->arglen, val);
		return -1;
	}
	return 0;
}

static int
rec_mechanism(struct rec_term *t, const char *rest, char *why, size_t whysz)
{
	size_t	 i, restlen, nvars;

	why[0] = '\0';
	for (i = 0; i < sizeof(rec_mechs) / sizeof(rec_mechs[0]); i++)
		if (strlen(rec_mechs[i].name) == t->namelen &&
		    strncasecmp(rec_mechs[i].name, t->name, t->namelen) == 0)
			break;
	if (i == sizeof(rec_mechs) / sizeof(rec_mechs[0])) {
		snprintf(why, whysz, "unknown mechanism '%.*s'",
		    (int)t->len, t->text);
		return -1;
	}
	t->kind = rec_mechs[i].kind;
	restlen = (size_t)(t->text + t->len - rest);
	if (t->kind == REC_A || t->kind == REC_MX) {
		if (rec_cidr_tail(&rest, &restlen, &t->cidr6, 128, 1) == -1 ||
		    rec_cidr_tail(&rest, &restlen, &t->cidr4, 32, 0) == -1) {
			snprintf(why, whysz, "invalid CIDR length in '%.*s'",
			    (int)t->len, t->text);
			return -1;
		}
	}
	if (restlen == 0) {
		if (t->kind == REC_ALL || t->kind == REC_A ||
		    t->kind == REC_MX || t->kind == REC_PTR)
			return 0;
		snprintf(why, whysz, "'%.*s' needs a value", (int)t->len,
		    t->text);
		return -1;
	}
	if (*rest != ':' || t->kind == REC_ALL)
		return -1;
	t->arg = rest + 1;
	t->arglen = restlen - 1;
	if (t->kind == REC_IP4 || t->kind == REC_IP6)
		return rec_network(t, why, whysz);
	if (rec_domain_spec(t->arg, t->arglen, &nvars) == -1) {
		snprintf(why, whysz, "invalid domain-spec '%.*s'",
		    (int)t->arglen, t->arg);
		return -1;
	}
	return 0;
}

/*
 * rec_cidr_tail - take a trailing "/N" ("//N" when dbl, the second part
 * of a dual-cidr-length) off s[0..*len) into *cidr.  N is "0" or has
 * no leading zero; a tail that is not such a number stays in s (and fails
 * later as a domain-spec or network).  -1 when N is out of range.
 */
static int
rec_cidr_tail(const char **s, size_t *len, int *cidr, int max, int dbl)
{
	size_t	 i = *len, ndig;
	int	 v = 0;

	while (i > 0 && isdigit((unsigned char)(*s)[i - 1]))
		i--;
	ndig = *len - i;
	if (ndig == 0 || ndig > 3 || i == 0 || (*s)[i - 1] != '/' ||
	    ((*s)[i] == '0' && ndig > 1))
		return 0;
	if (dbl && (i < 2 || (*s)[i - 2] != '/'))
		return 0;
	for (; i < *len; i++)
		v = v * 10 + ((*s)[i] - '0');
	if (v > max)
		return -1;
	*cidr = v;
	*len -= ndig + (dbl ? 2 : 1);
	return 0;
}

/* ip4:network[/N] or ip6:network[/N]; t->arg holds "network[/N]". */
static int
rec_network(struct rec_term *t, char *why, size_t whysz)
{
	char		 buf[64];
	unsigned char	 addr[16];
	const char	*s = t->arg;
	size_t		 len = t->arglen;
	int		*cidr, max, af;

	if (t->kind == REC_IP4) {
		cidr = &t->cidr4;
		max = 32;
		af = AF_INET;
	} else {
		cidr = &t->cidr6;
		max = 128;
		af = AF_INET6;
	}
	if (rec_cidr_tail(&s, &len, cidr, max, 0) == -1) {
		snprintf(why, whysz, "invalid CIDR length in '%.*s'",
		    (int)t->len, t->text);
		return -1;
	}
	if (len == 0 || len >= sizeof(buf))
		goto bad;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(af, buf, addr) != 1)
		goto bad;
	t->arglen = len;
	return 0;
 bad:
	snprintf(why, whysz, "invalid network in '%.*s'", (int)t->len,
	    t->text);
	return -1;
}

/*
 * rec_macro_string - check s[0..len) against macro-string (RFC 7208 7.1)
 * with the macro letters in letters (either case).  *last_macro (when not
 * NULL) says whether it ends in a macro-expand, *nvars counts "%{...}".
 * A run of literal text between macros longer than REC_LITERAL_MAX is
 * refused: libspf2 cannot hold it (and no domain name is that long).
 */
static int
rec_macro_string(const char *s, size_t len, const char *letters,
    int *last_macro, size_t *nvars)
{
	size_t	 i = 0, ndig, run = 0;
	int	 v, last = 0;

	*nvars = 0;
	while (i < len) {
		if (s[i] != '%') {
			if ((unsigned char)s[i] < 0x21 ||
			    (unsigned char)s[i] > 0x7e ||
			    ++run > REC_LITERAL_MAX)
				return -1;
			last = 0;
			i++;
			continue;
		}
		last = 1;
		if (++i >= len)
			return -1;
		if (s[i] == '%' || s[i] == '_' || s[i] == '-') {
			/* "%-" becomes "%20": three bytes of literal. */
			if ((run += s[i] == '-' ? 3 : 1) > REC_LITERAL_MAX)
				return -1;
			i++;
			continue;
		}
		run = 0;
		if (s[i] != '{' || ++i >= len || s[i] == '\0' ||
		    strchr(letters, tolower((unsigned char)s[i])) == NULL)
			return -1;
		for (i++, ndig = 0, v = 0; i < len && isdigit((unsigned char)s[i]);
		    i++, ndig++)
			if (ndig < 4)	/* more is refused below */
				v = v * 10 + (s[i] - '0');
		if (ndig > 3 || (ndig > 0 && (v == 0 || v > 128)))
			return -1;
		/* An upper-case 'R' is RFC 7208 too, but libspf2 refuses it. */
		if (i < len && s[i] == 'r')
			i++;
		/* RFC 7208 also has ',' and '/'; libspf2 1.2.10 refuses
		 * them, so they are a permerror here rather than there. */
		while (i < len && s[i] != '\0' && strchr(".-+_=", s[i]) != NULL)
			i++;
		if (i >= len || s[i] != '}')
			return -1;
		i++;
		(*nvars)++;
	}
	if (last_macro != NULL)
		*last_macro = last;
	return 0;
}

/*
 * rec_domain_spec - domain-spec = macro-string domain-end, where
 * domain-end is a macro-expand or "." toplabel ["."]; the literal labels
 * are 1..63 bytes.  The exp-only letters c, r, t are not allowed.
 */
static int
rec_domain_spec(const char *s, size_t len, size_t *nvars)
{
	const char	*dot;
	size_t		 end;
	int		 last;

	if (len == 0 || rec_macro_string(s, len, "slodiphv", &last,
	    nvars) == -1 || rec_labels(s, len) == -1)
		return -1;
	if (last)
		return 0;
	end = len;
	if (s[end - 1] == '.')
		end--;
	if (end == 0)
		return -1;
	if ((dot = memrchr(s, '.', end)) == NULL)
		return -1;
	return rec_toplabel(dot + 1, (size_t)(s + end - dot - 1));
}

/* toplabel = (*alphanum ALPHA *alphanum) /
 *	      (1*alphanum "-" *(alphanum / "-") alphanum) */
static int
rec_toplabel(const char *s, size_t len)
{
	size_t	 i;
	int	 alpha = 0, hyphen = 0;

	if (len == 0 || len > 63)
		return -1;
	for (i = 0; i < len; i++) {
		if (isalpha((unsigned char)s[i]))
			alpha = 1;
		else if (s[i] == '-')
			hyphen = 1;
		else if (!isdigit((unsigned char)s[i]))
			return -1;
	}
	if (hyphen)
		return s[0] != '-' && s[len - 1] != '-' ? 0 : -1;
	return alpha ? 0 : -1;
}

/* No empty label and none longer than 63 bytes between literal dots
 * (a macro-expand stands for any number of bytes, so it resets). */
static int
rec_labels(const char *s, size_t len)
{
	size_t	 i, run = 0;
	int	 prev = '.';

	for (i = 0; i < len; i++) {
		if (s[i] == '%') {
			if (i + 1 < len && s[i + 1] == '{')
				while (i < len && s[i] != '}')
					i++;
			else
				i++;
			run = 0;
			prev = '%';
		} else if (s[i] == '.') {
			if (prev == '.')
				return -1;
			run = 0;
			prev = '.';
		} else {
			prev = 'x';
			if (++run > 63)
				return -1;
		}
	}
	return 0;
}

/*
 * rec_estimate - an upper bound on the bytes libspf2 compiles the term
 * into: an 8-aligned header, the address, a CIDR block, each macro
 * variable and each literal chunk (a header plus its text) 8-aligned;
 * plus what the rewrite adds (two networks for /0, "%{d}" and a marker).
 */
static size_t
rec_estimate(const struct rec_term *t)
{
	size_t	 est = 8, nvars = 0;

	switch (t->kind) {
	case REC_IP4:
		return t->cidr4 == 0 ? 16 : 8;
	case REC_IP6:
		return t->cidr6 == 0 ? 48 : 24;
	case REC_ALL:
		return 8;
	default:
		break;
	}
	if (t->cidr4 != -1 || t->cidr6 != -1)
		est += 8;
	if (t->cidr4 == 0 || t->cidr6 == 0)
		est += 32;
	if (t->arg != NULL) {
		(void)rec_macro_string(t->arg, t->arglen, "slodiphvcrt", NULL,
		    &nvars);
		est += t->arglen + 16 * (nvars + 1);
	}
	if (t->kind == REC_EXP)
		est += t->namelen + 8;
	return est;
}

int
spf_record_screen_exp(const char *text, char *why, size_t whysz)
{
	const char	*p, *s;
	char		 esc[2 * SPF_RECORD_EXP_MAXLEN + 4];
	size_t		 len, nvars;

	/* libspf2 keeps a literal run of an explanation in one chunk of at
	 * most 255 bytes. */
	if ((len = strlen(text)) > SPF_RECORD_EXP_MAXLEN) {
		snprintf(why, whysz, "explanation too long (%zu bytes)", len);
		return -1;
	}
	if (rec_chars(text, why, whysz) == -1)
		return -1;
	for (p = text; (p = rec_next(p, &s, &len)) != NULL; )
		if (rec_macro_string(s, len, "slodiphvcrt", NULL,
		    &nvars) == -1) {
			snprintf(why, whysz, "invalid macro in '%.*s'",
			    (int)len, s);
			return -1;
		}
	/* What libspf2 compiles is one macro-string, spaces escaped: its
	 * literal runs span words. */
	if (spf_record_exp_escape(text, esc, sizeof(esc)) == -1 ||
	    rec_macro_string(esc, strlen(esc), "slodiphvcrt", NULL,
	    &nvars) == -1) {
		snprintf(why, whysz, "explanation has a literal run over %d "
		    "bytes", REC_LITERAL_MAX);
		return -1;
	}
	return 0;
}

/* Append s[0..len) to out at *pos; -1 when it does not fit. */
static int
rec_put(char *out, size_t outsz, size_t *pos, const char *s, size_t len)
{
	if (*pos + len >= outsz)
		return -1;
	memcpy(out + *pos, s, len);
	*pos += len;
	out[*pos] = '\0';
	return 0;
}

/*
 * rec_put_mech - one mechanism, rewritten for a client of family (see the
 * header): libspf2 refuses a CIDR length of 0 anywhere, so an a or mx
 * term keeps only its length for the client's family, or the marker when
 * that is 0.
 */
static int
rec_put_mech(char *out, size_t outsz, size_t *pos, const struct rec_term *t,
    int family)
{
	char	 buf[64], q[2] = { t->qual, '\0' };
	char	 mark[2] = { SPF_RECORD_MARKER, '\0' };
	int	 n, cidr;

	if (t->kind == REC_IP4 && t->cidr4 == 0)
		n = snprintf(buf, sizeof(buf),
		    " %sip4:0.0.0.0/1 %sip4:128.0.0.0/1", q, q);
	else if (t->kind == REC_IP6 && t->cidr6 == 0)
		n = snprintf(buf, sizeof(buf), " %sip6:::/1 %sip6:8000::/1",
		    q, q);
	else if ((t->kind != REC_A && t->kind != REC_MX) ||
	    (t->cidr4 != 0 && t->cidr6 != 0))
		return rec_put(out, outsz, pos, " ", 1) == -1 ? -1 :
		    rec_put(out, outsz, pos, t->text, t->len);
	else {
		n = snprintf(buf, sizeof(buf), " %s%s:", q,
		    t->kind == REC_A ? "a" : "mx");
		if (rec_put(out, outsz, pos, buf, (size_t)n) == -1 ||
		    (t->arg == NULL ? rec_put(out, outsz, pos, "%{d}", 4) :
		    rec_put(out, outsz, pos, t->arg, t->arglen)) == -1)
			return -1;
		cidr = family == AF_INET ? t->cidr4 : t->cidr6;
		if (cidr == 0)
			return rec_put(out, outsz, pos, mark, 1);
		if (cidr == -1)
			return 0;
		n = snprintf(buf, sizeof(buf), "%s%d",
		    family == AF_INET ? "/" : "//", cidr);
	}
	return rec_put(out, outsz, pos, buf, (size_t)n);
}

int
spf_record_exp_escape(const char *text, char *out, size_t outsz)
{
	size_t	 o = 0;

	for (; *text != '\0'; text++) {
		if (o + 3 >= outsz)
			return -1;
		if (*text == ' ') {
			out[o++] = '%';
			out[o++] = '_';
		} else
			out[o++] = *text;
	}
	if (o >= outsz)
		return -1;
	out[o] = '\0';
	return 0;
}

int
spf_record_rewrite(const char *rec, int family, char *out, size_t outsz)
{
	struct rec_term	 t, exp, redirect;
	char		 why[128];
	const char	*p, *s;
	size_t		 len, pos = 0;
	int		 all = 0, have_exp = 0, have_redirect = 0;

	memset(&exp, 0, sizeof(exp));
	memset(&redirect, 0, sizeof(redirect));
	if (rec_put(out, outsz, &pos, "v=spf1", 6) == -1)
		return -1;
	for (p = rec + 6; (p = rec_next(p, &s, &len)) != NULL; ) {
		if (rec_term_parse(s, len, &t, why, sizeof(why)) == -1)
			return -1;
		if (t.kind == REC_EXP) {
			exp = t;
			have_exp = 1;
		} else if (t.kind == REC_REDIRECT) {
			redirect = t;
			have_redirect = 1;
		} else if (t.kind != REC_UNKNOWN) {
			all |= t.kind == REC_ALL;
			if (rec_put_mech(out, outsz, &pos, &t, family) == -1)
				return -1;
		}
	}
	if (have_exp && (rec_put(out, outsz, &pos, " ", 1) == -1 ||
	    rec_put(out, outsz, &pos, exp.text, exp.len) == -1))
		return -1;
	if (have_redirect && !all && (rec_put(out, outsz, &pos, " ", 1) == -1 ||
	    rec_put(out, outsz, &pos, redirect.text, redirect.len) == -1))
		return -1;
	return 0;
}

int
spf_record_domain_ok(const char *name)
{
	size_t		 len, run = 0, labels = 0;
	const char	*p, *top;

	len = strlen(name);
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return 0;
	for (p = name, top = name; p < name + len; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p > 0x7e ||
		    *p == '@' || *p == '[' || *p == ']')
			return 0;
		if (*p == '.') {
			if (run == 0)
				return 0;
			run = 0;
			labels++;
			top = p + 1;
		} else if (++run > 63)
			return 0;
	}
	if (run == 0 || labels == 0)
		return 0;
	for (p = top; p < name + len; p++)
		if (!isdigit((unsigned char)*p))
			return 1;
	return 0;
}

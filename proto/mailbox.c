/* SPDX-License-Identifier: ISC */
/*
 * mailbox.c - the domains of an address list (see mailbox.h).
 *
 * One pass over the value with three states: inside a quoted string
 * (a backslash escapes the next byte), inside comments (a depth, also
 * escaped), at the top level.  At the top level ',' ends an address, ':'
 * ends a group's display name (what came before is no address) and ';'
 * ends the group; '<' ... '>' marks the address, which replaces what the
 * top level collected of it.  Each address keeps only its top-level bytes
 * (comments and blanks out), so "a(x)@ example.com" is a@example.com, as
 * RFC 5322's obsolete forms allow.
 *
 * Public: mailbox_domains.
 */
#include <ctype.h>
#include <string.h>

#include "lib/util.h"
#include "proto/mailbox.h"

#define MAILBOX_ADDR_MAX	998	/* one address's bytes, a line */

struct mailbox_scan {
	char		 addr[MAILBOX_ADDR_MAX + 1];	/* top-level bytes */
	size_t		 alen;
	char		 angle[MAILBOX_ADDR_MAX + 1];	/* inside <...> */
	size_t		 anlen;
	int		 in_angle, had_angle;
	int		 n;		/* addresses so far */
};

static int	mailbox_end(struct mailbox_scan *,
		    char [][MAILBOX_DOMAIN_MAX + 1], size_t);
static int	mailbox_domain(const char *, size_t, char *);
static int	mailbox_put(struct mailbox_scan *, char);

int
mailbox_domains(const char *v, size_t len,
    char domains[][MAILBOX_DOMAIN_MAX + 1], size_t max)
{
	struct mailbox_scan	 s;
	size_t			 i;
	int			 quoted = 0, depth = 0;

	memset(&s, 0, sizeof(s));
	for (i = 0; i < len; i++) {
		if (v[i] == '\\' && (quoted || depth > 0)) {
			i++;		/* the escaped byte, kept if quoted */
			if (i < len && quoted && mailbox_put(&s, 'x') == -1)
				return -1;
			continue;
		}
		if (depth > 0) {
			depth += v[i] == '(' ? 1 : v[i] == ')' ? -1 : 0;
			continue;
		}
		if (v[i] == '"') {
			quoted = !quoted;
			continue;
		}
		if (quoted) {
			if (mailbox_put(&s, 'x') == -1)	/* a local part's */
				return -1;
			continue;
		}
		if (v[i] == '(')
			depth = 1;
		else if (v[i] == ')' || (v[i] == '<' && s.had_angle) ||
		    (v[i] == '>' && !s.in_angle))
			return -1;
		else if (v[i] == '<')
			s.in_angle = s.had_angle = 1;
		else if (v[i] == '>')
			s.in_angle = 0;
		else if (v[i] == ':' && !s.in_angle)
			s.alen = 0;		/* a group's name */
		else if ((v[i] == ',' || v[i] == ';') && !s.in_angle) {
			if (mailbox_end(&s, domains, max) == -1)
				return -1;
		} else if (!isspace((unsigned char)v[i]) &&
		    mailbox_put(&s, v[i]) == -1)
			return -1;
	}
	if (quoted || depth > 0 || s.in_angle ||
	    mailbox_end(&s, domains, max) == -1)
		return -1;
	return s.n > 0 ? s.n : -1;
}

/* One byte of the address being read: inside <...>, or at the top. */
static int
mailbox_put(struct mailbox_scan *s, char c)
{
	if (s->in_angle) {
		if (s->anlen == MAILBOX_ADDR_MAX)
			return -1;
		s->angle[s->anlen++] = c;
	} else {
		if (s->alen == MAILBOX_ADDR_MAX)
			return -1;
		s->addr[s->alen++] = c;
	}
	return 0;
}

/* An address ends: its domain into domains[n] when it fits; an empty
 * one (",," or a group's end) is no address. */
static int
mailbox_end(struct mailbox_scan *s, char domains[][MAILBOX_DOMAIN_MAX + 1],
    size_t max)
{
	const char	*a = s->had_angle ? s->angle : s->addr;
	size_t		 n = s->had_angle ? s->anlen : s->alen;
	const char	*at;
	char		 d[MAILBOX_DOMAIN_MAX + 1];

	if (n == 0 && !s->had_angle) {
		s->alen = 0;
		return 0;
	}
	if ((at = memrchr(a, '@', n)) == NULL || at == a ||
	    mailbox_domain(at + 1, n - (size_t)(at + 1 - a), d) == -1)
		return -1;
	if ((size_t)s->n < max)
		strlcpy(domains[s->n], d, sizeof(domains[0]));
	s->n++;
	s->alen = s->anlen = 0;
	s->in_angle = s->had_angle = 0;
	return 0;
}

/* d[0..n) as a host name, lower case, without a final dot, into out. */
static int
mailbox_domain(const char *d, size_t n, char *out)
{
	size_t	 i, label = 0;

	if (n > 0 && d[n - 1] == '.')
		n--;
	if (n == 0 || n > MAILBOX_DOMAIN_MAX)
		return -1;
	for (i = 0; i < n; i++) {
		if (d[i] == '.') {
			if (label == 0)
				return -1;
			label = 0;
		} else if (!isalnum((unsigned char)d[i]) && d[i] != '-' &&
		    d[i] != '_')
			return -1;
		else if (++label > 63)
			return -1;
		out[i] = (char)tolower((unsigned char)d[i]);
	}
	out[n] = '\0';
	return label > 0 ? 0 : -1;
}

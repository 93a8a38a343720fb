/* SPDX-License-Identifier: ISC */
/*
 * dnsbl_sites.c - postscreen_dnsbl_sites syntax, reply filters and the
 * names DNS lists are asked for (see dnsbl_sites.h).
 *
 * An entry is parsed by small steps over a copy of its text: the zone (a
 * host name: letters, digits, '-', '_', dots), then "=" and four octet
 * patterns, then "*" and a signed weight.  A filter octet is kept as a
 * 256-bit set, so the match of a reply is four bit tests.
 *
 * Public: dnsbl_sites_parse, dnsbl_site_match, dnsbl_client_name,
 * dnsbl_domain_name.
 *
 * DIAGNOSTICS
 *	"LABEL: 'ENTRY': not a zone name" / "bad reply filter (want
 *	d.d.d.d, each a number or [a;b..c])" / "bad weight" / "more than 32
 *	zones" / "named twice".
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/util.h"
#include "policy/dnsbl_sites.h"

#define DNSBL_SITES_SEP	", \t\r\n"
#define DNSBL_WEIGHT_MAX	1000

static int	dnsbl_sites_entry(struct dnsbl_site *, char *, const char **);
static int	dnsbl_sites_zone(const char *, size_t);
static int	dnsbl_sites_filter(struct dnsbl_site *, const char *);
static int	dnsbl_sites_octet(const char **, uint8_t *);
static int	dnsbl_sites_number(const char **, unsigned *);
static int	dnsbl_sites_weight(const char *, int *);

int
dnsbl_sites_parse(const char *spec, const char *label,
    struct dnsbl_sites *out, char *err, size_t errsz)
{
	char		*copy = xstrdup(spec), *p, *save;
	const char	*why;
	size_t		 i;
	int		 rc = 0;

	memset(out, 0, sizeof(*out));
	for (p = strtok_r(copy, DNSBL_SITES_SEP, &save); p != NULL;
	    p = strtok_r(NULL, DNSBL_SITES_SEP, &save)) {
		why = NULL;
		if (out->n == DNSBL_SITES_MAX)
			why = "more than 32 zones";
		else if (dnsbl_sites_entry(&out->site[out->n], p, &why) == 0)
			for (i = 0; i < out->n && why == NULL; i++)
				if (strcasecmp(out->site[i].zone,
				    out->site[out->n].zone) == 0)
					why = "named twice";
		if (why != NULL) {
			util_err_append(err, errsz, "%s: '%.80s': %s", label,
			    p, why);
			rc = -1;
			continue;
		}
		out->n++;
	}
	free(copy);
	return rc;
}

/* One "zone[=filter][*weight]" (e, modified) into *s; -1 with *why. */
static int
dnsbl_sites_entry(struct dnsbl_site *s, char *e, const char **why)
{
	char	*star = strrchr(e, '*'), *eq;
	size_t	 zlen;

	memset(s, 0, sizeof(*s));
	s->weight = 1;
	if (star != NULL) {
		*star = '\0';
		if (dnsbl_sites_weight(star + 1, &s->weight) == -1) {
			*star = '*';
			*why = "bad weight (an integer, -1000 to 1000)";
			return -1;
		}
	}
	if ((eq = strchr(e, '=')) != NULL)
		*eq = '\0';
	zlen = strlen(e);
	if (!dnsbl_sites_zone(e, zlen)) {
		*why = "not a zone name";
	} else if (eq != NULL && dnsbl_sites_filter(s, eq + 1) == -1)
		*why = "bad reply filter (want d.d.d.d, each a number or "
		    "[a;b..c])";
	if (eq != NULL)
		*eq = '=';
	if (star != NULL)
		*star = '*';
	if (*why != NULL)
		return -1;
	/* a trailing root dot is the same zone */
	memcpy(s->zone, e, e[zlen - 1] == '.' ? zlen - 1 : zlen);
	return 0;
}

/* Whether z[0..len) is a host name (a root dot allowed at the end). */
static int
dnsbl_sites_zone(const char *z, size_t len)
{
	size_t	 i, label = 0;

	if (len > 0 && z[len - 1] == '.')
		len--;
	if (len == 0 || len > DNSBL_NAME_MAX - 64)	/* room for a query */
		return 0;
	for (i = 0; i < len; i++) {
		if (z[i] == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)z[i]) && z[i] != '-' &&
		    z[i] != '_')
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0;
}

/* "d.d.d.d", each octet a number or "[a;b..c]". */
static int
dnsbl_sites_filter(struct dnsbl_site *s, const char *f)
{
	int	 i;

	s->filtered = 1;
	for (i = 0; i < 4; i++) {
		if (i > 0 && *f++ != '.')
			return -1;
		if (dnsbl_sites_octet(&f, s->filter[i]) == -1)
			return -1;
	}
	return *f == '\0' ? 0 : -1;
}

static int
dnsbl_sites_octet(const char **f, uint8_t *set)
{
	unsigned	 a, b, v;

	if (**f != '[') {
		if (dnsbl_sites_number(f, &a) == -1)
			return -1;
		set[a / 8] |= (uint8_t)(1u << (a % 8));
		return 0;
	}
	(*f)++;
	for (;;) {
		if (dnsbl_sites_number(f, &a) == -1)
			return -1;
		b = a;
		if ((*f)[0] == '.' && (*f)[1] == '.') {
			*f += 2;
			if (dnsbl_sites_number(f, &b) == -1 || b < a)
				return -1;
		}
		for (v = a; v <= b; v++)
			set[v / 8] |= (uint8_t)(1u << (v % 8));
		if (**f == ']') {
			(*f)++;
			return 0;
		}
		if (*(*f)++ != ';')
			return -1;
	}
}

/* A decimal 0..255 of at most 3 digits. */
static int
dnsbl_sites_number(const char **f, unsigned *v)
{
	unsigned	 n = 0, digits = 0;

	while (isdigit((unsigned char)**f) && digits < 3) {
		n = n * 10 + (unsigned)(*(*f)++ - '0');
		digits++;
	}
	if (digits == 0 || n > 255 || isdigit((unsigned char)**f))
		return -1;
	*v = n;
	return 0;
}

static int
dnsbl_sites_weight(const char *w, int *out)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(w, &end, 10);
	if (*w == '\0' || *end != '\0' || errno != 0 ||
	    v < -DNSBL_WEIGHT_MAX || v > DNSBL_WEIGHT_MAX)
		return -1;
	*out = (int)v;
	return 0;
}

int
dnsbl_site_match(const struct dnsbl_site *s, const uint8_t a[4])
{
	int	 i;

	if (!s->filtered)
		return 1;
	for (i = 0; i < 4; i++)
		if (!(s->filter[i][a[i] / 8] & (1u << (a[i] % 8))))
			return 0;
	return 1;
}

int
dnsbl_client_name(const struct sockaddr *sa, const char *zone, char *buf,
    size_t bufsz)
{
	const uint8_t	*b;
	char		*p = buf;
	size_t		 left = bufsz;
	int		 i, n;

	if (sa->sa_family == AF_INET) {
		b = (const uint8_t *)
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
		n = snprintf(buf, bufsz, "%u.%u.%u.%u.%s", b[3], b[2], b[1],
		    b[0], zone);
		return n < 0 || (size_t)n >= bufsz || n > DNSBL_NAME_MAX ?
		    -1 : 0;
	}
	if (sa->sa_family != AF_INET6)
		return -1;
	b = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
	for (i = 15; i >= 0; i--) {
		n = snprintf(p, left, "%x.%x.", b[i] & 0xf, b[i] >> 4);
		if (n < 0 || (size_t)n >= left)
			return -1;
		p += n;
		left -= (size_t)n;
	}
	n = snprintf(p, left, "%s", zone);
	return n < 0 || (size_t)n >= left || strlen(buf) > DNSBL_NAME_MAX ?
	    -1 : 0;
}

int
dnsbl_domain_name(const char *domain, const char *zone, char *buf,
    size_t bufsz)
{
	size_t	 len = strlen(domain);
	int	 n;

	if (len > 0 && domain[len - 1] == '.')
		len--;
	if (!dnsbl_sites_zone(domain, len) || strspn(domain, "0123456789.") ==
	    strlen(domain))
		return -1;	/* not a host name, or an IPv4 address */
	n = snprintf(buf, bufsz, "%.*s.%s", (int)len, domain, zone);
	return n < 0 || (size_t)n >= bufsz || n > DNSBL_NAME_MAX ? -1 : 0;
}

/* SPDX-License-Identifier: ISC */
/*
 * t_dnsbl_sites.c - policy/dnsbl_sites.c: postscreen_dnsbl_sites entries
 * (zones, reply filters with lists and ranges, weights, allow lists), the
 * errors for each malformed entry, the match of A replies, and the names
 * asked of a list (IPv4 reversed, IPv6 nibbles, right-hand-side domains).
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <string.h>

#include "policy/dnsbl_sites.h"
#include "tap.h"

static int
parse(const char *spec, struct dnsbl_sites *s, char *err, size_t errsz)
{
	err[0] = '\0';
	return dnsbl_sites_parse(spec, "dnsbl.sites", s, err, errsz);
}

static int
match(const struct dnsbl_site *s, const char *a)
{
	uint8_t	 b[4];

	if (inet_pton(AF_INET, a, b) != 1)
		return -1;
	return dnsbl_site_match(s, b);
}

static void
test_entries(void)
{
	struct dnsbl_sites	 s;
	char			 err[1024];

	is_int(parse("zen.example=127.0.0.[2..11]*3, bl.example\t"
	    "wl.example=127.0.[0..255].[2;4]*-2 dot.example.", &s, err,
	    sizeof(err)), 0, "four entries (%s)", err);
	is_int((int)s.n, 4, "all kept");
	is_str(s.site[0].zone, "zen.example", "zone");
	is_int(s.site[0].weight, 3, "weight");
	is_int(s.site[1].weight, 1, "default weight 1");
	is_int(s.site[1].filtered, 0, "no filter");
	is_int(s.site[2].weight, -2, "negative weight: an allow list");
	is_str(s.site[3].zone, "dot.example", "the root dot dropped");
	is_int(match(&s.site[0], "127.0.0.2"), 1, "range: low end");
	is_int(match(&s.site[0], "127.0.0.11"), 1, "range: high end");
	is_int(match(&s.site[0], "127.0.0.12"), 0, "past the range");
	is_int(match(&s.site[0], "127.0.1.2"), 0, "another octet");
	is_int(match(&s.site[1], "10.9.8.7"), 1, "no filter: any reply");
	is_int(match(&s.site[2], "127.0.200.4"), 1, "list member");
	is_int(match(&s.site[2], "127.0.200.3"), 0, "not a list member");
	is_int(parse("", &s, err, sizeof(err)), 0, "empty: no zone");
	is_int((int)s.n, 0, "none");
}

static void
test_errors(void)
{
	struct dnsbl_sites	 s;
	char			 err[2048], big[4096];
	size_t			 i;

	is_int(parse("a.example=127.0.0.[9..2], -x.example*abc, "
	    "b.example=127.0.0, c.example=127.0.0.256, d..example, "
	    "e.example*5000, f.example f.example", &s, err, sizeof(err)), -1,
	    "bad entries refused");
	ok(strstr(err, "dnsbl.sites: 'a.example=127.0.0.[9..2]': bad reply "
	    "filter") != NULL, "a backward range: %s", err);
	ok(strstr(err, "'-x.example*abc': bad weight") != NULL, "weight");
	ok(strstr(err, "'b.example=127.0.0': bad reply filter") != NULL,
	    "three octets");
	ok(strstr(err, "'c.example=127.0.0.256': bad reply filter") != NULL,
	    "an octet over 255");
	ok(strstr(err, "'d..example': not a zone name") != NULL,
	    "an empty label");
	ok(strstr(err, "'e.example*5000': bad weight") != NULL,
	    "a weight out of range");
	ok(strstr(err, "'f.example': named twice") != NULL, "a zone twice");
	big[0] = '\0';
	for (i = 0; i < DNSBL_SITES_MAX + 1; i++)
		snprintf(big + strlen(big), sizeof(big) - strlen(big),
		    "z%zu.example ", i);
	is_int(parse(big, &s, err, sizeof(err)), -1, "33 zones refused");
	ok(strstr(err, "more than 32 zones") != NULL, "%s", err);
}

static void
test_names(void)
{
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;
	char			 buf[DNSBL_NAME_MAX + 1], zone[250];

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.10", &sin.sin_addr);
	is_int(dnsbl_client_name((struct sockaddr *)&sin, "bl.example", buf,
	    sizeof(buf)), 0, "IPv4 name");
	is_str(buf, "10.2.0.192.bl.example", "octets reversed");
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::5", &sin6.sin6_addr);
	is_int(dnsbl_client_name((struct sockaddr *)&sin6, "bl.example", buf,
	    sizeof(buf)), 0, "IPv6 name");
	is_str(buf, "5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0."
	    "1.0.0.2.bl.example", "nibbles reversed");
	memset(zone, 'a', 200);
	zone[200] = '\0';
	is_int(dnsbl_client_name((struct sockaddr *)&sin6, zone, buf,
	    sizeof(buf)), -1, "too long for a DNS name");
	is_int(dnsbl_domain_name("Spammer.Example.", "rhs.example", buf,
	    sizeof(buf)), 0, "a domain");
	is_str(buf, "Spammer.Example.rhs.example", "its name, root dot out");
	is_int(dnsbl_domain_name("[192.0.2.1]", "rhs.example", buf,
	    sizeof(buf)), -1, "an address literal");
	is_int(dnsbl_domain_name("192.0.2.1", "rhs.example", buf,
	    sizeof(buf)), -1, "a bare IPv4 address");
	is_int(dnsbl_domain_name("", "rhs.example", buf, sizeof(buf)), -1,
	    "nothing");
	is_int(dnsbl_domain_name("a b.example", "rhs.example", buf,
	    sizeof(buf)), -1, "a blank");
}

int
main(void)
{
	test_entries();
	test_errors();
	test_names();
	return tap_done();
}

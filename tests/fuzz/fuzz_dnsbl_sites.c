/* SPDX-License-Identifier: ISC */
/*
 * fuzz_dnsbl_sites.c - libFuzzer target for policy/dnsbl_sites.c.  The
 * input (NUL bytes cut it) is a dnsbl.sites value.  When it parses, every
 * zone must be a name the query builders accept, the weights in range, a
 * zone without a filter must match any reply and the match must be stable;
 * a parse error must leave a message.  The query names for an IPv4 and an
 * IPv6 client and for the input as a domain must fit a DNS name when
 * built.  Any difference aborts.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/dnsbl_sites.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dnsbl_sites	 s;
	static const uint8_t		 replies[][4] = { { 127, 0, 0, 2 },
	    { 127, 0, 0, 255 }, { 0, 0, 0, 0 }, { 255, 255, 255, 255 } };
	struct sockaddr_in		 sin;
	struct sockaddr_in6		 sin6;
	char				*spec, err[4096] = "";
	char				 name[DNSBL_NAME_MAX + 1];
	size_t				 i, r;

	if ((spec = strndup((const char *)data, size)) == NULL)
		return 0;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	if (dnsbl_domain_name(spec, "rhs.example", name, sizeof(name)) == 0 &&
	    strlen(name) > DNSBL_NAME_MAX)
		abort();
	if (dnsbl_sites_parse(spec, "fuzz", &s, err, sizeof(err)) == -1) {
		if (err[0] == '\0')
			abort();
		free(spec);
		return 0;
	}
	for (i = 0; i < s.n; i++) {
		if (s.site[i].weight < -1000 || s.site[i].weight > 1000 ||
		    s.site[i].zone[0] == '\0')
			abort();
		if (dnsbl_client_name((struct sockaddr *)&sin, s.site[i].zone,
		    name, sizeof(name)) == -1 ||
		    dnsbl_client_name((struct sockaddr *)&sin6,
		    s.site[i].zone, name, sizeof(name)) == -1)
			abort();	/* a parsed zone leaves room */
		for (r = 0; r < sizeof(replies) / sizeof(replies[0]); r++)
			if (dnsbl_site_match(&s.site[i], replies[r]) !=
			    dnsbl_site_match(&s.site[i], replies[r]) ||
			    (!s.site[i].filtered &&
			    !dnsbl_site_match(&s.site[i], replies[r])))
				abort();
	}
	free(spec);
	return 0;
}

/* SPDX-License-Identifier: ISC */
/*
 * dnsbl_sites.h - DNS lists as Postfix's postscreen_dnsbl_sites writes
 * them: "zone[=filter][*weight]", separated by commas or blanks, e.g.
 * "zen.example=127.0.0.[2..11]*3, bl.example, wl.example=127.0.[0..255].2*-2".
 * A filter is four octets, each a number or a bracketed list of numbers
 * and ranges ("[2;4;9..11]"); an A reply that does not match it does not
 * count.  The weight (default 1) may be negative: an allow list.  Also the
 * names to look up: a client address (IPv4 octets reversed, IPv6 nibbles)
 * or a domain (right-hand-side lists) under a zone.  Pure: no DNS.
 */
#ifndef POSTERN_DNSBL_SITES_H
#define POSTERN_DNSBL_SITES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define DNSBL_SITES_MAX		32	/* zones in one list */
#define DNSBL_NAME_MAX		254	/* a DNS name, dotted, no root dot */

struct dnsbl_site {
	char		 zone[DNSBL_NAME_MAX + 1];
	int		 filtered;	/* a reply filter was given */
	uint8_t		 filter[4][32];	/* per reply octet: the values
					   allowed, a bit each */
	int		 weight;
};

struct dnsbl_sites {
	struct dnsbl_site site[DNSBL_SITES_MAX];
	size_t		 n;
};

/*
 * dnsbl_sites_parse - spec into *out (reset first).  0, or -1 with
 * "label: 'entry': what is wrong" appended to err for each bad entry.
 */
int	dnsbl_sites_parse(const char *spec, const char *label,
	    struct dnsbl_sites *out, char *err, size_t errsz);

/* dnsbl_site_match - whether the A record a (4 bytes) counts for s. */
int	dnsbl_site_match(const struct dnsbl_site *s, const uint8_t a[4]);

/*
 * dnsbl_client_name - the name that lists address sa in zone
 * ("2.0.0.127.zone", IPv6: 32 nibbles) into buf; dnsbl_domain_name - the
 * name that lists domain there ("example.com.zone"; a domain that is no
 * host name, an address literal for one, gives -1).  0, or -1 when it
 * does not fit in a DNS name (or bufsz).
 */
int	dnsbl_client_name(const struct sockaddr *sa, const char *zone,
	    char *buf, size_t bufsz);
int	dnsbl_domain_name(const char *domain, const char *zone, char *buf,
	    size_t bufsz);

#endif

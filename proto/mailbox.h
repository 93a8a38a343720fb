/* SPDX-License-Identifier: ISC */
/*
 * mailbox.h - the domains of the addresses in an RFC 5322 address list
 * (a From field's value, as received): display names, quoted strings,
 * comments (nested), angle addresses, groups, folding.  What DMARC needs
 * of From (RFC 7489 6.6.1: the author domains, all of them).  Pure.
 */
#ifndef POSTERN_MAILBOX_H
#define POSTERN_MAILBOX_H

#include <stddef.h>

#define MAILBOX_DOMAIN_MAX	254

/*
 * mailbox_domains - the domain of each address of value[0..len), lower
 * case, without a final dot, into domains[0..max), as many as fit.
 * Returns how many addresses there are (it may exceed max), or -1 when
 * the list is malformed: unbalanced quotes, comments or brackets, an
 * address without '@', a domain that is not a host name (a domain
 * literal included: DMARC has no policy for one), or none at all.
 */
int	mailbox_domains(const char *value, size_t len,
	    char domains[][MAILBOX_DOMAIN_MAX + 1], size_t max);

#endif

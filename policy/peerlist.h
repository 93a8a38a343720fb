/* SPDX-License-Identifier: ISC */
/*
 * peerlist.h - a set of hosts as OpenDKIM's InternalHosts and PeerList
 * datasets write it (opendkim.conf(5)), so an OpenDKIM configuration works
 * unchanged: "csl:a,b,c", "file:/path", "refile:/path", "/path", or an
 * inline list (commas or blanks); in a file one entry a line, '#'
 * comments.  An entry is an address or network (192.0.2.1, 10.0.0.0/8,
 * 2001:db8::/32), a host name (mail.example.com), ".example.com" (any
 * name under it) or, in refile: data sets, a name with '*' wildcards; "!"
 * before an entry excludes what it matches.
 */
#ifndef POSTERN_PEERLIST_H
#define POSTERN_PEERLIST_H

#include <stddef.h>
#include <sys/socket.h>

struct peerlist;

/* peerlist_from - the set spec describes; NULL with "label: ..." (or the
 * file's "path:line: ...") errors in err (appended). */
struct peerlist	*peerlist_from(const char *spec, const char *label,
		    char *err, size_t errsz);
void		 peerlist_free(struct peerlist *);
/*
 * peerlist_match - whether a client is in the set, as OpenDKIM decides:
 * by its host name (NULL or "[...]": none), then by its address; for
 * each, the most specific entry that matches decides, a "!" one when a
 * "!" and a plain entry are as specific.
 */
int		 peerlist_match(const struct peerlist *, const struct sockaddr *,
		    const char *host);

#endif

/* SPDX-License-Identifier: ISC */
/*
 * table.h - lookup tables for lists: IP address/CIDR sets (IPv4 and IPv6,
 * IPv4-mapped IPv6 matching IPv4 entries) and envelope-sender sets
 * (user@example.com, example.com, .example.com for subdomains).  Loaded
 * from files (one entry a line, '#' comments, trailing comments) and from
 * configuration strings; immutable once built, so shared between threads
 * and sessions without locks.  A malformed entry is an error with
 * "file:line: what is wrong", never skipped.
 *
 * Every entry carries a tag (uint32_t, e.g. its line number) that a lookup
 * returns, so a log line can say which entry matched.
 */
#ifndef POSTERN_TABLE_H
#define POSTERN_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct iptable;
struct addrtable;

/* iptable_new - an empty set of addresses and networks.  Never NULL. */
struct iptable	*iptable_new(void);
void		 iptable_free(struct iptable *);

/*
 * iptable_add - add "192.0.2.7", "192.0.2.0/24", "2001:db8::/32",
 * "::ffff:192.0.2.0/120" (mapped: stored as IPv4 192.0.2.0/24), "0.0.0.0/0"
 * or "::/0".  Host bits set below the prefix ("192.0.2.1/24") are an error.
 * Returns 0, or -1 with the reason (no file:line) in err.
 */
int		 iptable_add(struct iptable *, const char *entry, uint32_t tag,
		    char *err, size_t errsz);

/*
 * iptable_load - add every entry of the file at path; the tag of an entry
 * is its line number.  Returns 0, or -1 with one "path:line: what is wrong"
 * line in err for every bad line (appended: err must start as ""), or
 * "path: strerror"; the good entries stay added.
 */
int		 iptable_load(struct iptable *, const char *path, char *err,
		    size_t errsz);

/*
 * iptable_add_list - add every comma/blank separated entry of list with tag
 * 0 (entries given in the configuration).  Returns 0, or -1 with a line
 * "label: 'entry': what is wrong" appended to err for each bad entry.
 */
int		 iptable_add_list(struct iptable *, const char *list,
		    const char *label, char *err, size_t errsz);

/*
 * iptable_from - a set from a configuration's inline list and file (either
 * may be ""): *tp is NULL when both are empty.  Every bad entry of both is
 * reported as iptable_add_list and iptable_load do; the good ones stay, and
 * *tp is set (to free) even when -1 is returned.
 */
int		 iptable_from(struct iptable **tp, const char *list,
		    const char *path, const char *label, char *err,
		    size_t errsz);

/* iptable_count - entries added (duplicates included). */
size_t		 iptable_count(const struct iptable *);

/*
 * iptable_lookup - is the address of sa (AF_INET or AF_INET6; a mapped
 * ::ffff:a.b.c.d looks up a.b.c.d) in the set?  Returns 1 and the tag of the
 * most specific matching entry (the first added among equals), or 0.
 * O(address bits), no allocation.
 */
int		 iptable_lookup(const struct iptable *, const struct sockaddr *,
		    uint32_t *tag);

/* The same for envelope senders. */
struct addrtable *addrtable_new(void);
void		 addrtable_free(struct addrtable *);
/*
 * addrtable_add - "user@example.com" (that address), "example.com" (any
 * address at that domain), ".example.com" (any address at a subdomain of it,
 * not the domain itself), "<>" (the null sender).  Domains and local parts
 * compare case-insensitively (the local part too: postmaster@ and
 * PostMaster@ are one sender here).  Returns 0, or -1 with the reason.
 */
int		 addrtable_add(struct addrtable *, const char *entry,
		    uint32_t tag, char *err, size_t errsz);
int		 addrtable_load(struct addrtable *, const char *path,
		    char *err, size_t errsz);
int		 addrtable_add_list(struct addrtable *, const char *list,
		    const char *label, char *err, size_t errsz);
int		 addrtable_from(struct addrtable **tp, const char *list,
		    const char *path, const char *label, char *err,
		    size_t errsz);
size_t		 addrtable_count(const struct addrtable *);
/*
 * addrtable_lookup - is the envelope sender addr ("" = null sender) in the
 * set?  Tries the whole address, then the domain, then each parent domain
 * for the "." entries.  Returns 1 with the tag, or 0.
 */
int		 addrtable_lookup(const struct addrtable *, const char *addr,
		    uint32_t *tag);

#endif

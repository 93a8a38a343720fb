/* SPDX-License-Identifier: ISC */
/*
 * rdns.h - the client's host name as Postfix finds it: the PTR names of
 * its address (reverse DNS), each checked by a forward lookup (A for an
 * IPv4 client, AAAA for IPv6) that must list the address again
 * (forward-confirmed reverse DNS, FCrDNS).  The two results are those of
 * Postfix's XCLIENT NAME and REVERSE_NAME, so a backend behind postern
 * applies its client hostname restrictions as if the client had come
 * directly.  Lookups go through the shared resolver (dns.h) and block:
 * worker threads only.  Results are kept in a cache of the event loop's
 * (struct rdns_cache) for the TTL of the answers they rest on, so a
 * client seen again costs no thread and no query.
 */
#ifndef POSTERN_RDNS_H
#define POSTERN_RDNS_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

struct dns;

#define RDNS_UNAVAILABLE	"[UNAVAILABLE]"	/* no such name */
#define RDNS_TEMPUNAVAIL	"[TEMPUNAVAIL]"	/* a temporary DNS error */
#define RDNS_NAME_MAX		253		/* a host name, text bytes */
#define RDNS_NAMES_MAX		10		/* PTR names checked, at most */
#define RDNS_PTR_MAX		72		/* the longest PTR query name */
#define RDNS_CACHE_SLOTS	8192		/* results kept, at most */
#define RDNS_CACHE_TTL_MAX	3600		/* seconds a result is kept,
						   at most */

/*
 * name: the verified name, a PTR name whose A/AAAA records hold the
 * client's address, else RDNS_UNAVAILABLE, or RDNS_TEMPUNAVAIL when a
 * lookup failed for the time being.  reverse: a PTR name whatever its
 * forward lookup says (the verified one when there is one), or the same
 * tokens.  Every name in them is a valid host name (rdns_hostname_ok).
 * ttl: seconds the result holds, the smallest TTL of the answers it rests
 * on; 0 when it is not to be kept (a temporary failure).
 */
struct rdns_result {
	char		 name[RDNS_NAME_MAX + 1];
	char		 reverse[RDNS_NAME_MAX + 1];
	unsigned	 ttl;
};

/*
 * rdns_lookup - the names of the client at sa (AF_INET or AF_INET6; any
 * other family has none), looked up in d, no lookup started after until_ms
 * (util_now_ms() clock) and none waiting past it.  At most RDNS_NAMES_MAX
 * PTR names are checked.  Blocks: worker threads only.
 */
void	rdns_lookup(struct dns *d, const struct sockaddr *sa,
	    uint64_t until_ms, struct rdns_result *r);

/*
 * The cache: a fixed table of RDNS_CACHE_SLOTS results by client address,
 * each in the one slot a keyed hash of the address picks (a newer result
 * takes the slot over: nothing grows, whatever the clients).  One thread
 * only (the event loop).
 */
struct rdns_cache;

struct rdns_cache *rdns_cache_new(void);
void	rdns_cache_free(struct rdns_cache *);
/* rdns_cache_clear - forget every result (the resolver changed). */
void	rdns_cache_clear(struct rdns_cache *);
/* rdns_cache_get - sa's result if one is kept and unexpired at now_ms
 * (util_now_ms() clock): 1 and *r (ttl: what is left), else 0. */
int	rdns_cache_get(struct rdns_cache *, const struct sockaddr *sa,
	    uint64_t now_ms, struct rdns_result *r);
/* rdns_cache_put - keep r as sa's result for r->ttl seconds (at most
 * RDNS_CACHE_TTL_MAX); nothing when r->ttl is 0. */
void	rdns_cache_put(struct rdns_cache *, const struct sockaddr *sa,
	    uint64_t now_ms, const struct rdns_result *r);

/* rdns_set - both results the same token or name (copied), ttl 0. */
void	rdns_set(struct rdns_result *r, const char *both);

/* rdns_verified - whether r->name is a name rather than a token. */
int	rdns_verified(const struct rdns_result *r);

/*
 * rdns_ptr_name - the name to ask PTR for, "4.3.2.1.in-addr.arpa" or the
 * 32 nibbles of an IPv6 address under ip6.arpa, into buf (at least
 * RDNS_PTR_MAX + 1 bytes); 0, or -1 for another family.
 */
int	rdns_ptr_name(const struct sockaddr *sa, char *buf, size_t bufsz);

/*
 * rdns_ptr_from_wire - a PTR record's rdata (one uncompressed wire-format
 * name filling data[0..len)) as its text, into buf (at least
 * RDNS_NAME_MAX + 1 bytes); 0, or -1 when it is malformed or not a valid
 * host name.  The bytes come from any DNS server: untrusted.
 */
int	rdns_ptr_from_wire(const unsigned char *data, size_t len, char *buf,
	    size_t bufsz);

/*
 * rdns_hostname_ok - a valid host name by Postfix's rules (valid_hostname,
 * which its XCLIENT applies to NAME and REVERSE_NAME): labels of letters,
 * digits, '_' and '-', each 1 to 63 bytes, no '-' at either end of a
 * label, no empty label (so no final dot), not all digits and dots (an
 * address), at most RDNS_NAME_MAX bytes.
 */
int	rdns_hostname_ok(const char *name);

#endif

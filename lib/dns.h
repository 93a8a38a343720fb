/* SPDX-License-Identifier: ISC */
/*
 * dns.h - the one caching resolver every filter's lookups go through
 * (libunbound): the upstream servers of dns.nameserver (or the system's
 * /etc/resolv.conf), answers cached for their TTLs, and a deadline on every
 * lookup.  Lookups block the calling thread: call them from worker threads
 * (lib/worker.h), never from the event loop.  Thread-safe.
 */
#ifndef POSTERN_DNS_H
#define POSTERN_DNS_H

#include <stddef.h>
#include <stdint.h>

/* The [dns] section of the configuration. */
struct dns_settings {
	char		 nameserver[1024];	/* "ip[@port] ...", "" = the
						   system's resolv.conf */
	unsigned	 timeout;		/* seconds, one lookup */
	unsigned	 retries;		/* upstream retransmissions */
	size_t		 cache_size;		/* bytes, answers and RRsets */
};
struct dns;

enum dns_status {
	DNS_OK,		/* answer with data */
	DNS_NXDOMAIN,	/* the name does not exist */
	DNS_NODATA,	/* the name exists, not with that type */
	DNS_TEMPFAIL,	/* SERVFAIL, REFUSED, timeout, no server answered */
};

/* One answer: the RRs' rdata in wire form, uncompressed, as libunbound
 * gives it (TXT: <len><bytes>...; MX: pref + name; PTR/CNAME: a name). */
struct dns_answer {
	enum dns_status	 status;
	unsigned	 ttl;		/* seconds the answer holds (for a
					   negative one: its SOA's); 0 unknown */
	size_t		 n;		/* RRs */
	const unsigned char *const *data; /* n rdata */
	const size_t	*len;		/* n lengths */
	void		*priv;		/* owned: dns_answer_free */
};

/*
 * dns_new - a resolver with these settings, with one reference.
 * NULL with "dns.KEY: what is wrong" in err (appended; err starts as "").
 */
struct dns	*dns_new(const struct dns_settings *, char *err, size_t errsz);
/* dns_ref / dns_unref - references (event loop only); the last unref
 * frees the resolver, when no lookup may be in progress. */
struct dns	*dns_ref(struct dns *);
void		 dns_unref(struct dns *);
/* dns_serves - whether the resolver was built from the same [dns]
 * settings (a reload may then keep it, and its cache). */
int		 dns_serves(const struct dns *, const struct dns_settings *);

/*
 * dns_local_zone / dns_local_data - serve names from memory instead of the
 * upstream (libunbound local-zone / local-data syntax: zone "example.com"
 * type "static"; data "example.com. 300 IN TXT \"v=spf1 -all\"").  Only
 * before the first lookup; for tests and test tools.  0, or -1 with err.
 */
int		 dns_local_zone(struct dns *, const char *zone,
		    const char *type, char *err, size_t errsz);
int		 dns_local_data(struct dns *, const char *rr, char *err,
		    size_t errsz);

/*
 * dns_query - look name up (type: ns_t_* from <arpa/nameser.h>), waiting at
 * most dns.timeout, and not past until_ms (util_now_ms() clock; 0: no such
 * bound) -- a caller's own deadline for a chain of lookups.  Fills ans
 * (always: status DNS_TEMPFAIL on any fault, a timeout included); the
 * caller frees it with dns_answer_free.  Blocks: worker threads only.
 */
void		 dns_query(struct dns *, const char *name, int type,
		    uint64_t until_ms, struct dns_answer *ans);
/* One name and type to look up (names not duplicated). */
struct dns_question {
	const char	*name;
	int		 type;
};
/*
 * dns_query_all - the n lookups q[] at once, in parallel, within the same
 * bounds as dns_query: ans[i] for q[i] (each freed with dns_answer_free).
 * For several independent names (DNS lists): the wait is the slowest
 * answer's, not the sum.  Blocks: worker threads only.
 */
void		 dns_query_all(struct dns *, const struct dns_question *q,
		    size_t n, uint64_t until_ms, struct dns_answer *ans);
void		 dns_answer_free(struct dns_answer *);

/* dns_txt_from_wire - one TXT RR's rdata (<len><bytes>...) as one string:
 * its character-strings joined with nothing between (RFC 7208 3.3), into
 * buf.  0, or -1 when malformed, too long for buf, or holding a NUL. */
int		 dns_txt_from_wire(const unsigned char *data, size_t len,
		    char *buf, size_t bufsz);

/* dns_name_from_wire - the dotted text of an uncompressed wire-format
 * name at data[0..len) (no trailing dot; "" for the root) into buf;
 * bytes used, or -1 when malformed, too long for buf, or when a label
 * holds a NUL or a dot (no text form would be faithful). */
int		 dns_name_from_wire(const unsigned char *data, size_t len,
		    char *buf, size_t bufsz);

#endif

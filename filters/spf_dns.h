/* SPDX-License-Identifier: ISC */
/*
 * spf_dns.h - the libspf2 DNS layer on lib/dns.c: lookups with a
 * deadline, RFC 7208 4.6.4 limits counted per check, every SPF record
 * screened (spf_record.c) before libspf2 compiles it, and log handlers so
 * libspf2 never prints or aborts.
 *
 * The per-check state lives in the calling thread: spf_dns_begin() before
 * SPF_request_query_mailfrom(), spf_dns_end() after it, on the same thread.
 * The layer itself is shared read-only by all threads.
 */
#ifndef POSTERN_SPF_DNS_H
#define POSTERN_SPF_DNS_H

#include <sys/socket.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdint.h>

#include <spf2/spf.h>

struct dns;

/* RFC 7208 4.6.4 */
#define SPF_DNS_MAX_TERMS	10	/* DNS-querying terms per check */
#define SPF_DNS_MAX_VOID	2	/* lookups with no answer per check */
#define SPF_DNS_MAX_NAMES	10	/* MX (permerror) / PTR (rest ignored) */

enum spf_dns_forced {
	SPF_DNS_FREE,		/* libspf2's result stands */
	SPF_DNS_TEMPERROR,	/* the deadline passed */
	SPF_DNS_PERMERROR,	/* a limit was exceeded */
};

/* One check's state; the caller owns it (on its stack). */
struct spf_dns_check {
	sigjmp_buf	 jmp;		/* where a libspf2 SPF_error() lands */
	uint64_t	 deadline_ms;	/* util_now_ms() clock */
	int		 family;	/* client: AF_INET or AF_INET6 */
	unsigned char	 addr[16];	/* client address, network order */
	unsigned	 terms;		/* DNS-querying terms so far */
	unsigned	 voids;		/* void lookups so far */
	unsigned	 min_ttl;	/* smallest TTL of the answers used,
					   UINT_MAX before the first */
	int		 toplevel;	/* 1 once the first record was fetched */
	enum spf_dns_forced forced;	/* the result our layer imposes */
	int		 record_none;	/* the checked domain has no record */
	char		 problem[256];	/* why a permerror/temperror, or "" */
	char		 queue[SPF_DNS_MAX_NAMES][256]; /* MX/PTR target names
					   whose address lookups are part of
					   the term that found them */
	unsigned	 nqueue;
	unsigned	 qpos;
};

/*
 * spf_dns_new - a libspf2 DNS layer on dns (not owned).  The caller frees
 * it with spf_dns_free after SPF_server_free of the server using it
 * (libspf2 leaves it alone).  Never NULL.
 */
SPF_dns_server_t *spf_dns_new(struct dns *);
void		 spf_dns_free(SPF_dns_server_t *);

/*
 * spf_dns_log_init - route libspf2's error/warning/info/debug output to
 * lib/log.c; an SPF_error() inside a check jumps back to the check
 * (chk->jmp) instead of aborting.  Idempotent, thread-safe.
 */
void	spf_dns_log_init(void);

/*
 * spf_dns_begin - start a check on this thread: client address (family,
 * 4 or 16 bytes), overall deadline timeout_ms from now.  chk must stay
 * valid until spf_dns_end().
 */
void	spf_dns_begin(struct spf_dns_check *chk, int family, const void *addr,
	    unsigned timeout_ms);
void	spf_dns_end(void);

#endif

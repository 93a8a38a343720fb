/* SPDX-License-Identifier: ISC */
/*
 * dkim_verify.h - the pure parts of the dkim_verify filter, for its unit
 * test: the DNS reply handed to libopendkim, the RFC 8601 result of one
 * signature, the canonicalized body length an l= tag is compared with, and
 * the quoting of signature tags in Authentication-Results.
 */
#ifndef POSTERN_DKIM_VERIFY_H
#define POSTERN_DKIM_VERIFY_H

#include <sys/types.h>
#include <stddef.h>

struct dns_answer;

/* One signature's result (RFC 8601 2.7.1). */
enum flt_dkim_verify_res {
	FLT_DKIM_VERIFY_PASS,
	FLT_DKIM_VERIFY_FAIL,
	FLT_DKIM_VERIFY_NEUTRAL,
	FLT_DKIM_VERIFY_TEMPERROR,
	FLT_DKIM_VERIFY_PERMERROR,
	FLT_DKIM_VERIFY_POLICY,		/* verified, but l= left some unsigned */
};

/*
 * The length of a body after DKIM body canonicalization (RFC 6376 3.4.3,
 * 3.4.4), counted as the chunks go by: empty lines at the end do not
 * count, relaxed squeezes whitespace.  For a body of CRLF lines it equals
 * what libopendkim hashes for a signature without l=; a CR or LF alone
 * counts as text, and a last line without CRLF gets one, where
 * libopendkim's relaxed canonicalizer drops it (postern's front ends hand
 * over CRLF lines only).
 */
struct flt_dkim_verify_blen {
	size_t		 len;		/* bytes of the complete lines */
	size_t		 line;		/* bytes of the line in progress */
	size_t		 empty;		/* empty lines held back */
	int		 ws;		/* relaxed: a space held back */
	int		 cr;		/* a CR held back */
	int		 relaxed;	/* else simple */
};

/*
 * flt_dkim_verify_wire - a complete DNS reply in wire form (header, the
 * question for name and type, class IN, and one answer RR per rdata of
 * ans, with ans's TTL) into buf, as libopendkim's query hooks must give
 * it.  NXDOMAIN and NODATA become replies without answers (rcode 3 and 0).
 * name is dotted text (a trailing dot allowed).  Returns the length, or
 * -1 when the name is not a valid DNS name, ans is a temporary failure, or
 * buf is too small.
 */
int	 flt_dkim_verify_wire(const char *name, int type,
	    const struct dns_answer *ans, unsigned char *buf, size_t bufsz);

/*
 * flt_dkim_verify_classify - the result of one signature from libopendkim's
 * flags (DKIM_SIGFLAG_*), body hash state (DKIM_SIGBH_*) and error
 * (DKIM_SIGERROR_*).  *reason is our text for the A-R comment, or NULL when
 * libopendkim's own error text should be used (never NULL for a fail).
 */
enum flt_dkim_verify_res flt_dkim_verify_classify(unsigned flags, int bh,
	    int sigerror, const char **reason);
const char *flt_dkim_verify_res_name(enum flt_dkim_verify_res);

/*
 * flt_dkim_verify_length - a signature's result res after its l= tag:
 * signlen is l= (-1 when absent), canonlen the bytes it hashed
 * (dkim_sig_getcanonlen), bodylen the whole canonicalized body.  A pass
 * that leaves bytes of the body unsigned becomes policy, with "N bytes of
 * the body not signed" written into reason (reasonsz bytes); otherwise res
 * and reason are left as they are.
 */
enum flt_dkim_verify_res flt_dkim_verify_length(enum flt_dkim_verify_res res,
	    ssize_t signlen, ssize_t canonlen, size_t bodylen, char *reason,
	    size_t reasonsz);

/*
 * flt_dkim_verify_blen_init, _add, _total - count the canonicalized
 * length of a body given in chunks of any size (relaxed or simple body
 * canonicalization); _total does not end the count.
 */
void	 flt_dkim_verify_blen_init(struct flt_dkim_verify_blen *, int relaxed);
void	 flt_dkim_verify_blen_add(struct flt_dkim_verify_blen *,
	    const unsigned char *, size_t);
size_t	 flt_dkim_verify_blen_total(const struct flt_dkim_verify_blen *);

#endif

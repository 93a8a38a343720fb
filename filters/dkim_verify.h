/* SPDX-License-Identifier: ISC */
/*
 * dkim_verify.h - the pure parts of the dkim_verify filter, for its unit
 * test: the DNS reply handed to libopendkim, the RFC 8601 result of one
 * signature, the verdict on an l= tag (the canonicalized body length it is
 * compared with is counted by proto/dkimcanon.c), and
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

#endif

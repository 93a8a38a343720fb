/* SPDX-License-Identifier: ISC */
/*
 * spf_record.h - a pure screen of SPF record text (RFC 7208 sections 4.5
 * and 12) run before libspf2 sees a record, the choice of the SPF record
 * among a name's TXT strings, and the rewrite of a screened record into
 * the form libspf2 1.2.10 evaluates correctly.  No allocation, no DNS, no
 * global state: thread-safe.
 */
#ifndef POSTERN_SPF_RECORD_H
#define POSTERN_SPF_RECORD_H

#include <stddef.h>

/* Longest record text the screen accepts (bytes, after joining strings). */
#define SPF_RECORD_MAXLEN	2048
/* Longest explanation text the screen accepts. */
#define SPF_RECORD_EXP_MAXLEN	250
/* Size of a buffer that holds any rewritten record. */
#define SPF_RECORD_REWRITE_MAX	(2 * SPF_RECORD_MAXLEN + 256)

/*
 * spf_record_marker - the suffix spf_record_rewrite appends to the
 * domain-spec of an a or mx term whose CIDR length for the client's family
 * is 0 ("a/0", "mx//0"): libspf2 cannot express /0 there, so the DNS layer
 * (spf_dns.c) answers a lookup of "name<marker>" with the client's own
 * address when "name" has any address of that family.  The screen rejects
 * the marker byte in records, so only the rewrite can produce it.
 */
#define SPF_RECORD_MARKER	'\001'

/*
 * spf_record_select - among the n TXT strings txt[] of one name (already
 * joined), the one SPF record: exactly one must start with "v=spf1"
 * (case-insensitive) followed by a space or its end.  1 with its index in
 * *idx, 0 when there is none, -1 when there are two or more (permerror).
 */
int	spf_record_select(const char *const *txt, size_t n, size_t *idx);

/*
 * spf_record_screen - 0 when rec (a selected SPF record, NUL-terminated)
 * is well-formed and small enough for libspf2's fixed buffers; -1 with a
 * short reason in why ("invalid domain-spec 'foo.123'") when it must be a
 * permerror without libspf2 ever compiling it.
 */
int	spf_record_screen(const char *rec, char *why, size_t whysz);

/*
 * spf_record_screen_exp - 0 when text (an exp= TXT record) is a valid
 * explain-string (RFC 7208 6.2: macro-strings and spaces, 7-bit, with the
 * exp-only macro letters c, r, t) of at most SPF_RECORD_EXP_MAXLEN bytes; -1
 * with why otherwise (the default explanation is used then).
 */
int	spf_record_screen_exp(const char *text, char *why, size_t whysz);

/*
 * spf_record_rewrite - write into out (outsz bytes) the record libspf2
 * must compile for a client of the given family (AF_INET, AF_INET6)
 * instead of rec, which spf_record_screen accepted: mechanisms in order,
 * "ip4:x/0" as two /1 networks, a and mx terms with a /0 CIDR for the
 * client's family marked (SPF_RECORD_MARKER), then exp=, then redirect=
 * only when there is no "all" (RFC 7208 6.1); unknown modifiers dropped.
 * 0, or -1 when out is too small.
 */
int	spf_record_rewrite(const char *rec, int family, char *out,
	    size_t outsz);

/*
 * spf_record_exp_escape - text (a screened explain-string) with every
 * space written as "%_", into out: libspf2 1.2.10 compiles a literal space
 * in an explanation into '%'.  0, or -1 when out is too small.
 */
int	spf_record_exp_escape(const char *text, char *out, size_t outsz);

/*
 * spf_record_domain_ok - 1 when name may be checked at all (RFC 7208 4.3):
 * printable ASCII without '@', '[' or ']', two or more labels of 1..63
 * bytes (a trailing dot allowed), 253 bytes at most, and a top label that
 * is not all-numeric (so an IP literal is not a domain); 0 otherwise, and
 * check_host() returns none without any lookup.
 */
int	spf_record_domain_ok(const char *name);

#endif

/* SPDX-License-Identifier: ISC */
/*
 * dmarc_record.h - DMARC policy records (RFC 7489 6.3, 6.4; "np" from
 * RFC 9091) as they come from DNS: the choice among the TXT records of
 * _dmarc.DOMAIN (6.6.3: those that start with "v=DMARC1", and only when
 * exactly one does) and the parse of the one chosen, with the RFC's rules
 * for errors: an unknown tag is ignored, a tag with a bad value takes its
 * default, and a record without a valid "p" is used as "p=none" only when
 * it names a valid "rua" (6.6.3 step 6), else it is no record at all.
 * Pure: no DNS, no global state.
 */
#ifndef POSTERN_DMARC_RECORD_H
#define POSTERN_DMARC_RECORD_H

#include <stddef.h>

enum dmarc_policy {
	DMARC_POLICY_NONE,
	DMARC_POLICY_QUARANTINE,
	DMARC_POLICY_REJECT,
};

#define DMARC_URIS_MAX	512	/* rua, ruf: as given, bytes */

struct dmarc_record {
	enum dmarc_policy p;		/* the domain's policy */
	enum dmarc_policy sp;		/* subdomains': sp, else p */
	enum dmarc_policy np;		/* non-existent subdomains': np,
					   else sp (RFC 9091 4.1) */
	int		 p_implied;	/* no valid p: none, for its rua */
	int		 adkim_strict;	/* adkim=s */
	int		 aspf_strict;	/* aspf=s */
	unsigned	 pct;		/* 0..100, default 100 */
	unsigned	 ri;		/* seconds, default 86400 */
	char		 rua[DMARC_URIS_MAX];	/* valid URIs only, commas */
	char		 ruf[DMARC_URIS_MAX];
	char		 fo[16];	/* default "0" */
};

/* dmarc_record_is - whether txt[0..len) starts as a DMARC record does:
 * "v" (any case), blanks, "=", blanks, "DMARC1" (exactly), then the end
 * or blanks and ";". */
int	dmarc_record_is(const char *txt, size_t len);

/*
 * dmarc_record_select - of the n TXT strings txt[i] (len[i] bytes each),
 * the index of the only one that is a DMARC record; -1 when none is, -2
 * when several are (then the domain has no policy: RFC 7489 6.6.3).
 */
int	dmarc_record_select(const char *const *txt, const size_t *len,
	    size_t n);

/*
 * dmarc_record_parse - txt[0..len) into *r.  0, or -1 when it is not a
 * usable policy record (not DMARC1; no valid p and no valid rua), with
 * why (a short phrase) in why[0..whysz).
 */
int	dmarc_record_parse(const char *txt, size_t len,
	    struct dmarc_record *r, char *why, size_t whysz);

/* dmarc_policy_name - "none", "quarantine" or "reject". */
const char *dmarc_policy_name(enum dmarc_policy);

#endif

/* SPDX-License-Identifier: ISC */
/*
 * arcverify.h - ARC chain validation (RFC 8617 5.2) on postern's own
 * DKIM engine (proto/dkimcanon.c, OpenSSL): a message's header fields and
 * body go in as they arrive (the body hashes are made in that pass); the
 * signatures are checked at the end, with their keys looked up through
 * postern's resolver.  (The prefix is arcverify_: libopendkim owns
 * dkim_, and OpenARC arc_.)
 */
#ifndef POSTERN_ARCVERIFY_H
#define POSTERN_ARCVERIFY_H

#include <stddef.h>
#include <stdint.h>

struct dns;
struct arcverify_msg;

enum arcverify_cv { ARCVERIFY_NONE, ARCVERIFY_PASS, ARCVERIFY_FAIL };

struct arcverify_result {
	enum arcverify_cv cv;
	unsigned	 n;		/* sets (the chain's highest i=) */
	unsigned	 oldest_pass;	/* RFC 8617 5.2 step 5; 0: all pass */
	int		 temporary;	/* a key lookup failed for now */
	char		 why[160];	/* fail: the first fault */
	char		 domain[256];	/* the last sealer's d=, or "" */
};

/* arcverify_new - a message; arcverify_header keeps a copy of each header
 * field (name without the colon, value as after it, vlen bytes). */
struct arcverify_msg *arcverify_new(void);
void		 arcverify_header(struct arcverify_msg *, const char *name,
		    const char *value, size_t vlen);
/* arcverify_eoh - the header is over: the chain's structure is checked
 * and, with hash_body (a validation to come: arcverify_run), the body
 * hashes its signatures need are set up. */
void		 arcverify_eoh(struct arcverify_msg *, int hash_body);
void		 arcverify_body(struct arcverify_msg *, const unsigned char *,
		    size_t);
/*
 * arcverify_run - the chain validated (RFC 8617 5.2): keys looked up
 * through dns (DKIM key records), by until_ms at the latest.  Blocks:
 * worker threads only.
 */
void		 arcverify_run(struct arcverify_msg *, struct dns *,
		    uint64_t until_ms, struct arcverify_result *);
void		 arcverify_free(struct arcverify_msg *);
/*
 * arcverify_sets - the ARC sets 1 to upto, their fields relaxed, each
 * with its CRLF, appended to out: what an ARC-Seal of a later instance
 * covers before its own set (RFC 8617 5.1.1).  After arcverify_eoh.
 */
struct util_buf;
void		 arcverify_sets(const struct arcverify_msg *, unsigned upto,
		    struct util_buf *out);
/* arcverify_instances - the chain's highest instance, and
 * (*failed_before) whether its last ARC-Seal says cv=fail (a sealer
 * before ended it); after arcverify_eoh. */
unsigned	 arcverify_instances(const struct arcverify_msg *,
		    int *failed_before);
/* arcverify_cv_name - "none", "pass", "fail". */
const char	*arcverify_cv_name(enum arcverify_cv);

/*
 * arcverify_key - a DKIM key record (RFC 6376 3.6.1; k=rsa or ed25519,
 * RFC 8463) as an OpenSSL key: NULL with why for a record that is not
 * one, revoked (p= empty) or of another kind.  *ed25519 set.  Exposed for
 * the fuzz target.
 */
struct evp_pkey_st;
struct evp_pkey_st *arcverify_key(const char *txt, size_t len, int *ed25519,
		    const char **why);

#endif

/* SPDX-License-Identifier: ISC */
/*
 * dkimsig.h - postern's DKIM signer (RFC 6376; RSA-SHA256 and, per RFC
 * 8463, Ed25519-SHA256) on OpenSSL 3, for the dkim_sign filter: a message's
 * header fields and body go in as they arrive (the body hash is made in
 * that pass), and each signature is made at the end with a key decoded
 * once, when the configuration was loaded.  (The prefix is dkimsig_:
 * libopendkim owns dkim_.)
 */
#ifndef POSTERN_DKIMSIG_H
#define POSTERN_DKIMSIG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>

#define DKIMSIG_HDRS_MAX	64	/* names to sign, names to oversign */
#define DKIMSIG_SIG_MAX		1024	/* bytes of a signature: RSA-8192 */

/* What every signature of a configuration shares; read-only. */
struct dkimsig_opts {
	int		 hrelaxed;	/* header canonicalization */
	int		 brelaxed;	/* body canonicalization */
	uint64_t	 ttl;		/* x= this long after t=; 0 none */
	size_t		 nsign;
	char		*sign[DKIMSIG_HDRS_MAX];  /* signed when present,
					   "from" among them */
	size_t		 nover;
	char		*over[DKIMSIG_HDRS_MAX];  /* signed once more */
};

/* One signature: the key and the tags that name it. */
struct dkimsig_key {
	EVP_PKEY	*pkey;		/* shared, read-only */
	int		 ed25519;	/* else RSA */
	const char	*domain;	/* d= */
	const char	*selector;	/* s= */
	const char	*signer;	/* i=, or "" for none */
	unsigned	 arc_i;		/* not 0: an ARC-Message-Signature
					   of this instance (RFC 8617 4.1.2:
					   i= the instance, no v=, x= or
					   signer), else a DKIM-Signature */
};

struct dkimsig_msg;

/*
 * dkimsig_opts_set - the header lists of opts from sign and oversign
 * (field names separated by commas and/or blanks; "from" added to sign
 * when missing, RFC 6376 5.4); -1 when a list has more than
 * DKIMSIG_HDRS_MAX - 1 names or a name is not a field name.
 * dkimsig_opts_clear frees them.
 */
int		 dkimsig_opts_set(struct dkimsig_opts *, const char *sign,
		    const char *oversign);
void		 dkimsig_opts_clear(struct dkimsig_opts *);

/*
 * dkimsig_msg_new - a message to sign, its body canonicalized relaxed or
 * simple.  dkimsig_msg_header keeps a copy of one header field (name
 * without the colon, value as after it, folds kept, vlen bytes);
 * dkimsig_msg_body canonicalizes and hashes body bytes (CRLF lines, any
 * chunks).  dkimsig_msg_free frees the message.
 */
struct dkimsig_msg *dkimsig_msg_new(int brelaxed);
void		 dkimsig_msg_header(struct dkimsig_msg *, const char *name,
		    const char *value, size_t vlen);
void		 dkimsig_msg_body(struct dkimsig_msg *, const unsigned char *,
		    size_t);
void		 dkimsig_msg_free(struct dkimsig_msg *);

/*
 * dkimsig_sign - the DKIM-Signature field's value (after "DKIM-Signature:
 * ", folded, malloc'ed), or with k->arc_i the ARC-Message-Signature's,
 * for the message with key k made at time now; the first call ends the
 * body.  NULL with why set when OpenSSL fails.  Safe
 * from several threads for different messages (k->pkey is only read).
 */
char		*dkimsig_sign(struct dkimsig_msg *, const struct dkimsig_opts *,
		    const struct dkimsig_key *, time_t now, char *why,
		    size_t whysz);

/*
 * dkimsig_sign_data - the signature of data (len bytes, the canonicalized
 * header fields) into sig (DKIMSIG_SIG_MAX bytes): RSASSA-PKCS1-v1_5 over
 * its SHA-256, or Ed25519 over its SHA-256 (RFC 8463 3).  Returns the
 * length, or 0 when OpenSSL fails.
 */
size_t		 dkimsig_sign_data(EVP_PKEY *, int ed25519, const void *data,
		    size_t len, unsigned char *sig);

#endif

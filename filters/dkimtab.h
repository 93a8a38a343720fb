/* SPDX-License-Identifier: ISC */
/*
 * dkimtab.h - the DKIM signing tables, in OpenDKIM's formats so that a site
 * moving from OpenDKIM keeps its files: the KeyTable (key name -> domain,
 * selector, private key) and the SigningTable (From address -> key names),
 * with the private keys read and checked.  (The prefix is dkimtab_:
 * libopendkim owns dkim_.)
 *
 * Parsing is pure (text in, entries or "label:line: what is wrong" out) for
 * the unit test and the fuzzer; dkimtab_load adds the file reading and the
 * key checks.  A loaded table is immutable and shared by threads.
 */
#ifndef POSTERN_DKIMTAB_H
#define POSTERN_DKIMTAB_H

#include <stddef.h>

#include <openssl/evp.h>

#define DKIMTAB_PICKS_MAX	8	/* signatures on one message */
#define DKIMTAB_NAME_MAX	256	/* domain, selector, signer */

struct dkimtab_key {
	char		*name;		/* KeyTable key */
	char		*domain;	/* d=; "%" = the From domain */
	char		*selector;	/* s= */
	char		*path;		/* key file, or NULL: key given inline */
	char		*inline_key;	/* base64 DER from the table, or NULL */
	EVP_PKEY	*pkey;		/* the loaded key, or NULL until
					   dkimtab_load reads it; shared,
					   read-only, by the signing threads */
	int		 ed25519;	/* else RSA */
	unsigned	 bits;		/* RSA modulus; 256 for Ed25519 */
	unsigned	 line;		/* in the KeyTable */
};

struct dkimtab_rule {
	char		*pattern;	/* refile: a wildcard pattern, else a
					   lookup key (user@host, host, ...) */
	char		*keyname;	/* "%" = the From domain */
	char		*signer;	/* i=, "%" = the From domain; or NULL */
	unsigned	 line;		/* in the SigningTable */
};

struct dkimtab {
	struct dkimtab_key	*keys;
	size_t			 nkeys;
	int			 keys_refile;	/* key names are patterns */
	struct dkimtab_rule	*rules;
	size_t			 nrules;
	int			 rules_refile;	/* patterns, in file order */
};

/* One signature to make: the key, and d= and i= with "%" replaced. */
struct dkimtab_pick {
	const struct dkimtab_key *key;
	char		 domain[DKIMTAB_NAME_MAX];
	char		 signer[DKIMTAB_NAME_MAX * 2];	/* "" none */
};

/*
 * dkimtab_parse_keys, dkimtab_parse_rules - add the entries of a KeyTable
 * or SigningTable text (len bytes, need not be NUL-terminated) to t.  Lines
 * are "key value", '#' starts a comment at the start of a line or after a
 * blank, blank lines are skipped.  KeyTable values are
 * "domain:selector:key", where key is a path (/, ./ or ../) or a base64
 * DER key; SigningTable values "keyname[:signer]".  Every bad line is
 * reported as "label:line: what is wrong" (good ones are kept); 0, or -1
 * when any line was bad.
 */
int		 dkimtab_parse_keys(struct dkimtab *, const char *text,
		    size_t len, const char *label, char *err, size_t errsz);
int		 dkimtab_parse_rules(struct dkimtab *, const char *text,
		    size_t len, const char *label, char *err, size_t errsz);

/*
 * dkimtab_check - every SigningTable key name (but "%") names a KeyTable
 * entry; else "label:line: ..." errors and -1.
 */
int		 dkimtab_check(const struct dkimtab *, const char *label,
		    char *err, size_t errsz);

/*
 * dkimtab_key_read - a private key's text (PEM, or base64 DER; len bytes)
 * decoded, with its type and size (the caller frees it); NULL with why set
 * when it is not an RSA key of 1024 bits or more or an Ed25519 key.
 */
EVP_PKEY	*dkimtab_key_read(const char *text, size_t len, int *ed25519,
		    unsigned *bits, char *why, size_t whysz);

/*
 * dkimtab_load - the tables a configuration names (key_table and
 * signing_table: "path", "file:path" or "refile:path"), parsed and
 * checked, and every private key read: a key file that is missing,
 * unreadable, not a regular file, group/world-accessible or not a private
 * key is an error "path: what is wrong".  NULL with every error in err.
 */
struct dkimtab	*dkimtab_load(const char *key_table, const char *signing_table,
		    char *err, size_t errsz);
void		 dkimtab_free(struct dkimtab *);

/*
 * dkimtab_match - the signatures for a message From user@domain: the
 * rules in OpenDKIM's order (refile: file order; else user@domain, domain,
 * user@.parent..., .parent..., user@*, *), the first only unless multi,
 * at most max; a rule whose key name ("%" replaced) has no KeyTable entry,
 * and a repeat of the same key and d=, are skipped.  Returns the count.
 */
size_t		 dkimtab_match(const struct dkimtab *, const char *user,
		    const char *domain, int multi, struct dkimtab_pick *out,
		    size_t max);

/*
 * dkimtab_from - the first address of a From field's value (the author,
 * whose domain a signature is for), read by libopendkim's address parser
 * as OpenDKIM reads it, into user and domain; both left as they are when
 * there is none or it does not fit.
 */
void		 dkimtab_from(const char *value, char *user, size_t usz,
		    char *domain, size_t dsz);
/* dkimtab_glob - does s match the pattern ('*' any run, case-insensitive)? */
int		 dkimtab_glob(const char *pattern, const char *s);

#endif

/* SPDX-License-Identifier: ISC */
/*
 * dkim_oracle.h - libopendkim as the independent verifier of what
 * filters/dkimsig.c signs, for t_dkimsig and fuzz_dkimsig: the RFC 8463
 * keys (tests/data/rfc8463: RSA-1024 selector "test", Ed25519 selector
 * "brisbane", d=football.example.com) loaded into EVP_PKEYs, and a
 * message checked offline against their records (DKIM_QUERY_FILE).
 * Paths are relative to the top of the tree (make runs the tests there).
 */
#ifndef POSTERN_DKIM_ORACLE_H
#define POSTERN_DKIM_ORACLE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <opendkim/dkim.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#define ORACLE_DIR	"tests/data/rfc8463/"
#define ORACLE_DOMAIN	"football.example.com"

/* What libopendkim says of a message's signatures. */
struct oracle_result {
	int	 nsigs;		/* signatures found */
	int	 passed;	/* header hash and signature good, body hash
				   matching */
	int	 bh_match;	/* body hash matching */
};

static inline EVP_PKEY *
oracle_key(int ed25519)
{
	const char	*path = ed25519 ? ORACLE_DIR "rfc8463-ed25519.key" :
			    ORACLE_DIR "rfc8463-rsa.key";
	EVP_PKEY	*k;
	FILE		*f;

	if ((f = fopen(path, "r")) == NULL) {
		perror(path);
		exit(2);
	}
	k = PEM_read_PrivateKey(f, NULL, NULL, (void *)"");
	fclose(f);
	if (k == NULL) {
		fprintf(stderr, "%s: not a key\n", path);
		exit(2);
	}
	return k;
}

static inline DKIM_LIB *
oracle_lib(void)
{
	static DKIM_LIB	*lib;
	dkim_query_t	 qm = DKIM_QUERY_FILE;
	const char	*keys = ORACLE_DIR "rfc8463-keys.txt";

	if (lib != NULL)
		return lib;
	if ((lib = dkim_init(NULL, NULL)) == NULL ||
	    dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYMETHOD, &qm,
	    sizeof(qm)) != DKIM_STAT_OK ||
	    dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYINFO,
	    (void *)keys, strlen(keys)) != DKIM_STAT_OK) {
		fprintf(stderr, "libopendkim set-up failed\n");
		exit(2);
	}
	return lib;
}

/* Verify msg (len bytes, CRLF lines, the signatures among its fields). */
static inline struct oracle_result
oracle_verify(const unsigned char *msg, size_t len)
{
	struct oracle_result	 r = { 0, 0, 0 };
	DKIM_SIGINFO		**sigs;
	DKIM_STAT		 st;
	DKIM			*d;
	int			 i, n;

	if ((d = dkim_verify(oracle_lib(), (const unsigned char *)"oracle",
	    NULL, &st)) == NULL)
		return r;
	if (dkim_chunk(d, (unsigned char *)(uintptr_t)msg, len) ==
	    DKIM_STAT_OK && dkim_chunk(d, NULL, 0) == DKIM_STAT_OK)
		(void)dkim_eom(d, NULL);
	if (dkim_getsiglist(d, &sigs, &n) == DKIM_STAT_OK) {
		r.nsigs = n;
		for (i = 0; i < n; i++) {
			if (dkim_sig_getbh(sigs[i]) == DKIM_SIGBH_MATCH)
				r.bh_match++;
			if ((dkim_sig_getflags(sigs[i]) &
			    DKIM_SIGFLAG_PASSED) != 0 &&
			    dkim_sig_getbh(sigs[i]) == DKIM_SIGBH_MATCH)
				r.passed++;
		}
	}
	dkim_free(d);
	return r;
}

#endif

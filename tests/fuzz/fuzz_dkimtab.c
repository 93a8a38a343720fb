/* SPDX-License-Identifier: ISC */
/*
 * fuzz_dkimtab.c - libFuzzer target for filters/dkimtab.c, the parsers of
 * OpenDKIM KeyTable and SigningTable text (from files an admin may have
 * copied from anywhere) and the private key decoder.
 *
 * The input's first byte picks the table flavours (plain or refile:); the
 * rest is split at the first NUL: before it a KeyTable, after it a
 * SigningTable.  Both are parsed and checked, then the signing table is
 * matched with From addresses taken from the input's own lines, and each
 * pick is checked: its key is one of the table's, d= is the key's domain or
 * the From domain, i= (when set) lies in d=.  The KeyTable text is also
 * given to dkimtab_key_read as a key.  Any violated invariant aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "filters/dkimtab.h"
#include "lib/util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_check_pick(const struct dkimtab *t, const struct dkimtab_pick *p,
    const char *domain)
{
	const char	*at;
	size_t		 dlen, slen;

	if (p->key < t->keys || p->key >= t->keys + t->nkeys)
		abort();
	if (strcmp(p->key->domain, "%") == 0 ?
	    strcmp(p->domain, domain) != 0 :
	    strcmp(p->domain, p->key->domain) != 0)
		abort();
	if (p->signer[0] == '\0')
		return;
	if ((at = strrchr(p->signer, '@')) == NULL)
		abort();
	dlen = strlen(p->domain);
	slen = strlen(at + 1);
	if (slen < dlen || strcasecmp(at + 1 + slen - dlen, p->domain) != 0)
		abort();
}

/* Every line "user@domain"-ish in text is tried as a From address. */
static void
fuzz_match(const struct dkimtab *t, const char *text)
{
	struct dkimtab_pick	 picks[DKIMTAB_PICKS_MAX];
	char			 line[600], *at;
	const char		*p = text, *nl;
	size_t			 n, i, len;
	int			 multi;

	for (; *p != '\0'; p = nl != NULL ? nl + 1 : p + len) {
		nl = strchr(p, '\n');
		len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		if (len >= sizeof(line))
			continue;
		memcpy(line, p, len);
		line[len] = '\0';
		if ((at = strchr(line, '@')) == NULL)
			continue;
		*at++ = '\0';
		for (multi = 0; multi < 2; multi++) {
			n = dkimtab_match(t, line, at, multi, picks,
			    nitems(picks));
			if (n > nitems(picks) || (!multi && n > 1))
				abort();
			for (i = 0; i < n; i++)
				fuzz_check_pick(t, &picks[i], at);
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dkimtab	*t;
	const char	*text = (const char *)data + 1, *nul;
	char		 err[4096], why[256], *all;
	size_t		 len, klen;
	unsigned	 bits;
	int		 ed;

	if (size == 0)
		return 0;
	len = size - 1;
	t = xcalloc(1, sizeof(*t));
	t->keys_refile = data[0] & 1;
	t->rules_refile = (data[0] >> 1) & 1;
	nul = memchr(text, '\0', len);
	klen = nul != NULL ? (size_t)(nul - text) : len;
	err[0] = '\0';
	(void)dkimtab_parse_keys(t, text, klen, "KT", err, sizeof(err));
	if (nul != NULL)
		(void)dkimtab_parse_rules(t, nul + 1, len - klen - 1, "ST",
		    err, sizeof(err));
	(void)dkimtab_check(t, "ST", err, sizeof(err));
	all = xstrndup(text, len);	/* up to the first NUL */
	fuzz_match(t, all);
	if (nul != NULL) {
		free(all);
		all = xstrndup(nul + 1, len - klen - 1);
		fuzz_match(t, all);
	}
	free(all);
	EVP_PKEY_free(dkimtab_key_read(text, klen, &ed, &bits, why,
	    sizeof(why)));
	dkimtab_free(t);
	return 0;
}

/* SPDX-License-Identifier: ISC */
/*
 * fuzz_arc.c - libFuzzer target for the ARC parsing: proto/taglist.c,
 * proto/arcset.c and the DKIM key record parse of filters/arcverify.c.
 * The input is header fields, one a line ("name:value"); each ARC field
 * goes into a chain that is then checked, each value is parsed as a tag
 * list and emptied of its b=, and the whole input is read as a key
 * record.  A valid chain must have every set whole; any crash, leak or
 * contradiction aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "filters/arcverify.h"
#include "lib/util.h"
#include "proto/arcset.h"
#include "proto/taglist.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct arcset_chain c;
	struct taglist		 tl;
	struct util_buf		 out = { NULL, 0, 0 };
	const char		*s = (const char *)data, *end = s + size, *nl;
	const char		*colon, *why;
	EVP_PKEY		*pk;
	size_t			 pos = 0, i;
	int			 kind, ed, k;

	memset(&c, 0, sizeof(c));
	for (; s < end; s = nl + 1, pos++) {
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
			nl = end;
		if ((colon = memchr(s, ':', (size_t)(nl - s))) == NULL)
			continue;
		if ((kind = arcset_kind_of(s, (size_t)(colon - s))) != -1)
			arcset_add(&c, kind, colon + 1, (size_t)(nl - colon -
			    1), pos);
		if (taglist_parse(colon + 1, (size_t)(nl - colon - 1), &tl) ==
		    0) {
			if (tl.n > TAGLIST_MAX)
				abort();
			for (i = 0; i < tl.n; i++)
				if (tl.t[i].nlen == 0)
					abort();
		}
		taglist_blank(colon + 1, (size_t)(nl - colon - 1), "b", &out);
		if (out.len > (size_t)(nl - colon - 1))
			abort();
		util_buf_free(&out);
		if (nl == end)
			break;
	}
	if (arcset_check(&c) == ARCSET_VALID)
		for (i = 1; i <= c.n; i++)
			for (k = 0; k < ARCSET_KINDS; k++)
				if (c.f[i][k].value == NULL)
					abort();
	if ((pk = (EVP_PKEY *)arcverify_key((const char *)data, size, &ed,
	    &why)) != NULL)
		EVP_PKEY_free(pk);
	else if (why == NULL)
		abort();
	return 0;
}

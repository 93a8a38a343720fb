/* SPDX-License-Identifier: ISC */
/*
 * fuzz_mailbox.c - libFuzzer target for proto/mailbox.c.  The input is a
 * From field's value.  The count must be -1 or positive and the same
 * twice; each domain kept must be a lower-case host name without a dot
 * at either end, within MAILBOX_DOMAIN_MAX.  Any difference aborts.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/mailbox.h"

#define FUZZ_KEEP	3

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char	 a[FUZZ_KEEP][MAILBOX_DOMAIN_MAX + 1];
	static char	 b[FUZZ_KEEP][MAILBOX_DOMAIN_MAX + 1];
	int		 n, m, i;
	size_t		 len, j;

	n = mailbox_domains((const char *)data, size, a, FUZZ_KEEP);
	m = mailbox_domains((const char *)data, size, b, FUZZ_KEEP);
	if (n != m || n == 0 || n < -1)
		abort();
	for (i = 0; i < n && i < FUZZ_KEEP; i++) {
		len = strlen(a[i]);
		if (len == 0 || len > MAILBOX_DOMAIN_MAX || a[i][0] == '.' ||
		    a[i][len - 1] == '.' || strcmp(a[i], b[i]) != 0)
			abort();
		for (j = 0; j < len; j++)
			if (isupper((unsigned char)a[i][j]) ||
			    (!isalnum((unsigned char)a[i][j]) &&
			    strchr(".-_", a[i][j]) == NULL))
				abort();
	}
	return 0;
}

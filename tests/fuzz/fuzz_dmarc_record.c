/* SPDX-License-Identifier: ISC */
/*
 * fuzz_dmarc_record.c - libFuzzer target for proto/dmarc_record.c.  The
 * input is a set of TXT strings, one a line (as _dmarc.DOMAIN could
 * answer).  The choice must be an index of a DMARC1 string, or -1/-2 as
 * there are none or several; each string parses the same twice, a parse
 * that succeeds is of a DMARC1 string, with policies and pct in range
 * and rua/ruf free of blanks, ';' and control bytes; a failed one says
 * why.  Any difference aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/dmarc_record.h"

#define FUZZ_TXT_MAX	16

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_check(const char *txt, size_t len)
{
	struct dmarc_record	 a, b;
	char			 why[128];
	const char		*u;
	int			 ra, rb;

	ra = dmarc_record_parse(txt, len, &a, why, sizeof(why));
	if (ra == -1 && why[0] == '\0')
		abort();
	rb = dmarc_record_parse(txt, len, &b, why, sizeof(why));
	if (ra != rb || (ra == 0 && memcmp(&a, &b, sizeof(a)) != 0))
		abort();
	if (ra == -1)
		return;
	if (!dmarc_record_is(txt, len) || a.pct > 100 ||
	    a.p > DMARC_POLICY_REJECT || a.sp > DMARC_POLICY_REJECT ||
	    a.np > DMARC_POLICY_REJECT || memchr(a.rua, '\0',
	    sizeof(a.rua)) == NULL || memchr(a.ruf, '\0', sizeof(a.ruf)) ==
	    NULL)
		abort();
	for (u = a.rua; *u != '\0'; u++)
		if (*u <= ' ' || *u >= 0x7f || *u == ';')
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*txt[FUZZ_TXT_MAX], *p = (const char *)data, *nl;
	const char	*end = p + size;
	size_t		 len[FUZZ_TXT_MAX], n = 0, i;
	int		 sel, count = 0;

	while (p <= end && n < FUZZ_TXT_MAX) {
		nl = memchr(p, '\n', (size_t)(end - p));
		txt[n] = p;
		len[n] = (size_t)((nl != NULL ? nl : end) - p);
		n++;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	sel = dmarc_record_select(txt, len, n);
	for (i = 0; i < n; i++) {
		count += dmarc_record_is(txt[i], len[i]);
		fuzz_check(txt[i], len[i]);
	}
	if ((count == 0 && sel != -1) || (count > 1 && sel != -2) ||
	    (count == 1 && (sel < 0 || !dmarc_record_is(txt[sel],
	    len[sel]))))
		abort();
	return 0;
}

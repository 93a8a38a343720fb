/* SPDX-License-Identifier: ISC */
/*
 * fuzz_json.c - libFuzzer target for lib/json.c's json_string: any bytes
 * (a HELO, an address, a reply) must become one JSON string literal that
 * a JSON parser takes: quotes at both ends, no raw control (C0, DEL,
 * C1), no raw byte outside valid UTF-8, a backslash only before a JSON
 * escape, and no quote that is not escaped.  Any difference aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"
#include "lib/util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The length of a valid UTF-8 sequence of 2 to 4 bytes at p, or 0 (the
 * same rules as json.c's, written again to check it). */
static size_t
utf8_len(const unsigned char *p, size_t left)
{
	unsigned	 cp;
	size_t		 n, i;

	if (p[0] < 0xc2 || p[0] > 0xf4)
		return 0;
	n = p[0] < 0xe0 ? 2 : p[0] < 0xf0 ? 3 : 4;
	if (left < n)
		return 0;
	cp = p[0] & (0x7f >> n);
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct util_buf		 b = { NULL, 0, 0 };
	const unsigned char	*p;
	size_t			 i, n;

	json_string(&b, (const char *)data, size);
	p = b.p;
	if (b.len < 2 || p[0] != '"' || p[b.len - 1] != '"')
		abort();
	for (i = 1; i < b.len - 1; ) {
		if (p[i] == '\\') {
			if (i + 1 >= b.len - 1 || strchr("\"\\u", p[i + 1]) ==
			    NULL)
				abort();
			i += p[i + 1] == 'u' ? 6 : 2;
		} else if (p[i] == '"' || p[i] < 0x20 || p[i] == 0x7f)
			abort();
		else if (p[i] < 0x80)
			i++;
		else if ((n = utf8_len(p + i, b.len - 1 - i)) == 0 ||
		    (p[i] == 0xc2 && p[i + 1] <= 0x9f))
			abort();	/* not UTF-8, or a raw C1 control */
		else
			i += n;
	}
	if (i != b.len - 1)
		abort();
	util_buf_free(&b);
	return 0;
}

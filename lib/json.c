/* SPDX-License-Identifier: ISC */
/*
 * json.c - JSON string literals and members for the log lines (see
 * json.h).  Written by hand rather than with jansson: jansson refuses a
 * string that is not valid UTF-8 (json_string returns NULL) and has no
 * escape for such bytes, while a log must show exactly what a peer sent;
 * what is needed here is one escaping function and a few appends.
 *
 * Public: json_string, json_member.
 */
#include <stdio.h>
#include <string.h>

#include "lib/json.h"
#include "lib/util.h"

static size_t	json_utf8_len(const unsigned char *, size_t);

void
json_member(struct util_buf *b, const char *name, int first)
{
	if (!first)
		util_buf_puts(b, ",");
	json_string(b, name, strlen(name));
	util_buf_puts(b, ":");
}

void
json_string(struct util_buf *b, const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	char			 esc[8];
	size_t			 i = 0, run, n;

	util_buf_puts(b, "\"");
	while (i < len) {
		/* the longest run that needs no escape, in one append */
		for (run = i; run < len && p[run] >= 0x20 && p[run] < 0x7f &&
		    p[run] != '"' && p[run] != '\\'; run++)
			;
		if (run > i) {
			util_buf_add(b, p + i, run - i);
			i = run;
			continue;
		}
		if (p[i] == '"' || p[i] == '\\') {
			esc[0] = '\\';
			esc[1] = (char)p[i++];
			util_buf_add(b, esc, 2);
		} else if (p[i] < 0x20 || p[i] == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", p[i++]);
			util_buf_puts(b, esc);
		} else if (p[i] == 0xc2 && i + 1 < len && p[i + 1] >= 0x80 &&
		    p[i + 1] <= 0x9f) {
			/* a C1 control (U+0080 to U+009F): a terminal may
			 * take U+009B for CSI */
			snprintf(esc, sizeof(esc), "\\u%04x", p[i + 1]);
			util_buf_puts(b, esc);
			i += 2;
		} else if ((n = json_utf8_len(p + i, len - i)) > 0) {
			util_buf_add(b, p + i, n);
			i += n;
		} else {
			snprintf(esc, sizeof(esc), "\\\\x%02x", p[i++]);
			util_buf_puts(b, esc);
		}
	}
	util_buf_puts(b, "\"");
}

/* The length of the valid UTF-8 sequence (RFC 3629: no overlong forms, no
 * surrogates, nothing past U+10FFFF) at p, of 2 to 4 bytes, or 0. */
static size_t
json_utf8_len(const unsigned char *p, size_t left)
{
	size_t	 n, i;
	unsigned lo = 0x80, hi = 0xbf;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;
		else if (p[0] == 0xed)
			hi = 0x9f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		if (p[0] == 0xf0)
			lo = 0x90;
		else if (p[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (left < n || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

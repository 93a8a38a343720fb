/* SPDX-License-Identifier: ISC */
/*
 * fuzz_conf.c - libFuzzer target for policy/conf.c.  Each input is parsed
 * twice: whole, as a configuration text; and split at its first newline,
 * the first line as one -o override and the rest as the text.  Whatever
 * parses must survive conf_print: the dump parses again into an equal conf
 * (padding included, since conf.c zeroes what it replaces) and dumps
 * identically.  Any difference aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/conf.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char *
fuzz_dump(const struct conf *c, size_t *lenp)
{
	char	*s = NULL;
	FILE	*fp;

	if ((fp = open_memstream(&s, lenp)) == NULL)
		abort();
	(void)conf_print(c, NULL, NULL, 0, fp, NULL, 0);
	fclose(fp);
	return s;
}

static void
fuzz_roundtrip(struct conf *c)
{
	struct conf	*d, x, y;
	char		 err[512];
	char		*s1, *s2;
	size_t		 n1, n2;

	s1 = fuzz_dump(c, &n1);
	if ((d = conf_parse("dump", s1, n1, NULL, 0, err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "dump does not parse: %s\n%s", err, s1);
		abort();
	}
	x = *c;
	y = *d;
	x.refcnt = y.refcnt = 0;
	memset(x.source, 0, sizeof(x.source));
	memset(x.key_line, 0, sizeof(x.key_line));
	memset(y.source, 0, sizeof(y.source));
	memset(y.key_line, 0, sizeof(y.key_line));
	if (memcmp(&x, &y, sizeof(x)) != 0) {
		fprintf(stderr, "round trip changed the conf\n%s", s1);
		abort();
	}
	s2 = fuzz_dump(d, &n2);
	if (strcmp(strchr(s1, '\n'), strchr(s2, '\n')) != 0) {
		fprintf(stderr, "dumps differ\n%s---\n%s", s1, s2);
		abort();
	}
	free(s1);
	free(s2);
	conf_unref(d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*text = (const char *)data, *nl;
	struct conf	*c;
	char		 err[512];
	char		*ov[1];

	if ((c = conf_parse("fuzz", text, size, NULL, 0, err,
	    sizeof(err))) != NULL) {
		fuzz_roundtrip(c);
		conf_unref(c);
	}
	if ((nl = memchr(text, '\n', size)) == NULL)
		return 0;
	ov[0] = strndup(text, (size_t)(nl - text));
	if (ov[0] == NULL)
		abort();
	if ((c = conf_parse("fuzz", nl + 1, size - (size_t)(nl + 1 - text),
	    ov, 1, err, sizeof(err))) != NULL) {
		fuzz_roundtrip(c);
		conf_unref(c);
	}
	free(ov[0]);
	return 0;
}

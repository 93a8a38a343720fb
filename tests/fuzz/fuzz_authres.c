/* SPDX-License-Identifier: ISC */
/*
 * fuzz_authres.c - libFuzzer target for policy/authres.c: any bytes as an
 * incoming Authentication-Results value (not NUL-terminated: an exact-size
 * copy, so ASan sees an overread), and as the hostile parts of the value
 * we build.  Checked, abort() on failure: the answer does not depend on
 * bytes past len; a value built with authres_add, with the input's first
 * token as the id, the input's lines as a comment and as property values,
 * is ours and reads back with the reference reader (tests/unit/ar_ref.h)
 * as exactly the results added: their number, methods, results, property
 * names in order, and every value as given (bytes outside printable ASCII
 * as '?').
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/ar_ref.h"
#include "policy/authres.h"

#define CHECK(c)	do { if (!(c)) abort(); } while (0)
#define PIECES		5
#define PIECE_MAX	400	/* bytes a line: the reader holds 1024 */

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* s with bytes outside printable ASCII as '?', as the builder writes. */
static int
same_text(const char *got, const char *want)
{
	for (; *want != '\0'; got++, want++)
		if (*got != ((unsigned char)*want >= 0x20 &&
		    (unsigned char)*want < 0x7f ? *want : '?'))
			return 0;
	return *got == '\0';
}

/* Up to PIECES lines of the input, PIECE_MAX bytes each (NUL bytes cut
 * a line short). */
static size_t
pieces(const uint8_t *data, size_t len, char **p)
{
	size_t	 n = 0, i = 0, j, k;

	while (n < PIECES && i <= len) {
		for (j = i; j < len && data[j] != '\n'; j++)
			;
		k = j - i < PIECE_MAX ? j - i : PIECE_MAX;
		p[n] = malloc(k + 1);
		memcpy(p[n], data + i, k);
		p[n][k] = '\0';
		n++;
		i = j + 1;
	}
	return n;
}

static void
check_built(const char *id, char **p, size_t n)
{
	static const char *const names[] = {
		"header.d", "header.s", "header.a", "header.b"
	};
	struct authres_prop	 props[PIECES];
	struct ar_ref		*ar = malloc(sizeof(*ar));
	char			*v = NULL;
	size_t			 i, k;
	int			 seen[PIECES] = { 0 };

	for (i = 1; i < n; i++) {
		props[0] = (struct authres_prop){ "smtp.mailfrom", p[i] };
		authres_add(&v, id, "spf", "pass", NULL, props, 1);
	}
	for (i = 1; i < n; i++)
		props[i - 1] = (struct authres_prop){ names[i - 1], p[i] };
	authres_add(&v, id, "dkim", "fail", p[0], props, n - 1);
	CHECK(authres_is_ours(v, strlen(v), id));
	CHECK(ar_ref_read(v, ar) == 0);
	CHECK(strcmp(ar->id, id) == 0 && ar->nres == n);
	for (i = 0; i + 1 < n; i++) {
		CHECK(strcmp(ar->res[i].method, "spf") == 0 &&
		    strcmp(ar->res[i].result, "pass") == 0 &&
		    ar->res[i].nprops == 1 &&
		    strcmp(ar->res[i].props[0].name, "smtp.mailfrom") == 0 &&
		    same_text(ar->res[i].props[0].value, p[i + 1]));
	}
	/* the dkim result: every property once, value as given (a quoted
	 * one may come later than the others) */
	CHECK(strcmp(ar->res[n - 1].method, "dkim") == 0 &&
	    ar->res[n - 1].nprops == n - 1);
	for (i = 0; i + 1 < n; i++)
		for (k = 0; k + 1 < n; k++)
			if (strcmp(ar->res[n - 1].props[i].name,
			    names[k]) == 0) {
				CHECK(!seen[k] && same_text(
				    ar->res[n - 1].props[i].value, p[k + 1]));
				seen[k] = 1;
			}
	for (k = 0; k + 1 < n; k++)
		CHECK(seen[k]);
	free(v);
	free(ar);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char	*v = malloc(len + 1), id[64], *p[PIECES];
	size_t	 n, i;
	int	 a;

	memcpy(v, data, len);
	a = authres_is_ours(v, len, "mx.example.net");
	v[len] = 'x';
	CHECK(authres_is_ours(v, len, "mx.example.net") == a);
	/* An id of token characters, as authserv_id is configured. */
	for (n = 0; n < len && n < sizeof(id) - 1 && data[n] > ' ' &&
	    data[n] < 0x7f && strchr("()<>@,;:\\\"/[]?=", data[n]) == NULL;
	    n++)
		id[n] = (char)data[n];
	id[n] = '\0';
	n = pieces(data, len, p);
	check_built(id[0] != '\0' ? id : "mx.example.net", p, n);
	for (i = 0; i < n; i++)
		free(p[i]);
	free(v);
	return 0;
}

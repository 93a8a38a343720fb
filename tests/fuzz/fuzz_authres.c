/*
 * fuzz_authres.c - libFuzzer target for policy/authres.c: any bytes as an
 * incoming Authentication-Results value (not NUL-terminated: an exact-size
 * copy, so ASan sees an overread).  Checked, abort() on failure: the answer
 * does not depend on bytes past len, and a value we build with
 * authres_append from the input's first line as the id is always ours.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authres.h"

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char	*v = malloc(len + 1), *built, id[64];
	size_t	 n;
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
	if (n > 0) {
		built = authres_append(id, "spf=pass smtp.mailfrom=a@b");
		CHECK(authres_is_ours(built, strlen(built), id));
		free(built);
	}
	free(v);
	return 0;
}

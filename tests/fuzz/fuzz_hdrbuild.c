/* SPDX-License-Identifier: ISC */
/*
 * fuzz_hdrbuild.c - libFuzzer target for policy/hdrbuild.c: any bytes as
 * a foreign field value (a rule's tag, an external milter's header) and
 * as the hostile parts of a Received-SPF value.  Checked, abort() on
 * failure: hdrbuild_field gives one field (every CR is CRLF and a blank,
 * no other CR or LF, no line of blanks only, no control byte but tab, no
 * line break at the end); the Received-SPF value built from the input's
 * lines (a comment, then key-value pairs) reads back with the reference
 * reader (tests/unit/ar_ref.h) as exactly those pairs, values as given
 * (bytes outside printable ASCII as '?'); rfc5322_name_ok takes exactly
 * the printable names without ':'.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/ar_ref.h"
#include "policy/hdrbuild.h"
#include "proto/rfc5322.h"

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_field(const char *in)
{
	char	*f = hdrbuild_field(in);
	size_t	 i, n = strlen(f);

	for (i = 0; i < n; i++) {
		if (f[i] == '\r') {
			CHECK(f[i + 1] == '\n' &&
			    (f[i + 2] == ' ' || f[i + 2] == '\t'));
			/* the line goes on with more than blanks */
			CHECK(f[i + 2 + strspn(f + i + 2, " \t")] != '\r' &&
			    f[i + 2 + strspn(f + i + 2, " \t")] != '\0');
			i++;
			continue;
		}
		CHECK(f[i] != '\n' && f[i] != 0x7f &&
		    ((unsigned char)f[i] >= 0x20 || f[i] == '\t'));
	}
	free(f);
}

static int
same_text(const char *got, const char *want, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if (got[i] != ((unsigned char)want[i] >= 0x20 &&
		    (unsigned char)want[i] < 0x7f ? want[i] : '?'))
			return 0;
	return got[len] == '\0';
}

static void
check_spf(const char *in)
{
	static const char *const keys[] = {
		"client-ip", "envelope-from", "helo", "problem"
	};
	struct hdrbuild	 b;
	struct ar_ref	*ar = malloc(sizeof(*ar));
	const char	*line[5];
	size_t		 len[5], n = 0, i;
	char		*v, *val;

	for (line[0] = in; n < 5; n++) {
		len[n] = strcspn(line[n], "\n");
		if (len[n] > 300)
			len[n] = 300;
		if (line[n][len[n]] != '\n' || n == 4) {
			n++;
			break;
		}
		line[n + 1] = line[n] + len[n] + 1;
	}
	hdrbuild_init(&b);
	hdrbuild_text(&b, "pass ");
	v = strndup(line[0], len[0]);
	hdrbuild_comment(&b, v);
	free(v);
	for (i = 1; i < n; i++) {
		val = strndup(line[i], len[i]);
		hdrbuild_kv(&b, keys[i - 1], val);
		free(val);
	}
	v = hdrbuild_take(&b);
	CHECK(ar_ref_read_spf(v, ar) == 0);
	CHECK(strcmp(ar->spf_result, "pass") == 0 && ar->npairs == n - 1);
	for (i = 1; i < n; i++)
		CHECK(strcmp(ar->pairs[i - 1].name, keys[i - 1]) == 0 &&
		    same_text(ar->pairs[i - 1].value, line[i],
		    strnlen(line[i], len[i])));
	free(v);
	free(ar);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char	*s = malloc(len + 1);
	size_t	 i, n;
	int	 want = 1;

	memcpy(s, data, len);
	s[len] = '\0';
	check_field(s);
	check_spf(s);
	n = strlen(s);
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f ||
		    s[i] == ':')
			want = 0;
	CHECK(rfc5322_name_ok(s, n) == (want && n > 0));
	free(s);
	return 0;
}

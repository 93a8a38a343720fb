/*
 * fuzz_dkim_verify.c - libFuzzer target for the pure helpers of
 * filters/dkim_verify.c that take bytes from signatures and DNS answers
 * (a hostile sender and a hostile key server choose them):
 * flt_dkim_verify_wire, which turns a key lookup's answer into the DNS
 * reply libopendkim parses, and flt_dkim_verify_ar_value, which puts a
 * signature's d= and s= into Authentication-Results.
 * Input: a buffer size byte, a record count byte, the name up to '\n',
 * the rest as that many rdata.  Checked, abort() on failure: the reply
 * fits the buffer, its question decodes back to the name and it counts
 * the records; the A-R value is a token or a well-formed quoted-string
 * with no control characters.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim_verify.h"
#include "dns.h"
#include "util.h"

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_ar(const char *name)
{
	char	 out[64];
	size_t	 i, n;

	flt_dkim_verify_ar_value(name, out, sizeof(out));
	n = strlen(out);
	CHECK(n > 0 && n < sizeof(out));
	for (i = 0; i < n; i++)
		CHECK((unsigned char)out[i] >= 0x20 && out[i] != 0x7f);
	if (out[0] != '"') {
		CHECK(strcmp(out, name) == 0 && strpbrk(out, " ;()\"\\=") ==
		    NULL);
		return;
	}
	CHECK(n >= 2 && out[n - 1] == '"');
	for (i = 1; i < n - 1; i++) {
		if (out[i] == '\\') {
			CHECK(i + 1 < n - 1 && (out[i + 1] == '"' ||
			    out[i + 1] == '\\'));
			i++;
		} else
			CHECK(out[i] != '"');
	}
}

static void
check_wire(const char *name, const uint8_t *rest, size_t restlen,
    size_t bufsz, size_t nrec)
{
	const unsigned char	*data[3];
	size_t			 lens[3], i, per = nrec ? restlen / nrec : 0;
	struct dns_answer	 a = { 0 };
	unsigned char		*buf = malloc(bufsz);
	char			 text[300], want[300];
	int			 n, m;

	for (i = 0; i < nrec; i++) {
		data[i] = rest + i * per;
		lens[i] = per;
	}
	a.status = nrec ? DNS_OK : DNS_NODATA;
	a.n = nrec;
	a.data = data;
	a.len = lens;
	n = flt_dkim_verify_wire(name, 16, &a, buf, bufsz);
	if (n != -1) {
		CHECK(n >= 12 && (size_t)n <= bufsz);
		CHECK(buf[6] == 0 && buf[7] == nrec);
		m = dns_name_from_wire(buf + 12, (size_t)n - 12, text,
		    sizeof(text));
		CHECK(m > 0);
		strlcpy(want, name, sizeof(want));
		if (want[0] != '\0' && want[strlen(want) - 1] == '.')
			want[strlen(want) - 1] = '\0';
		CHECK(strcmp(text, want) == 0);
	}
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	const uint8_t	*nl;
	char		*name;
	size_t		 nlen, bufsz, nrec;

	if (len < 2)
		return 0;
	bufsz = 1 + (size_t)data[0] * 4;
	nrec = data[1] % 4 == 3 ? 0 : data[1] % 4;
	data += 2;
	len -= 2;
	nl = memchr(data, '\n', len);
	nlen = nl != NULL ? (size_t)(nl - data) : len;
	name = malloc(nlen + 1);
	memcpy(name, data, nlen);
	name[nlen] = '\0';
	check_ar(name);
	if (nl != NULL)
		check_wire(name, nl + 1, len - nlen - 1, bufsz, nrec);
	free(name);
	return 0;
}

/* SPDX-License-Identifier: ISC */
/*
 * fuzz_dkim_verify.c - libFuzzer target for the pure helpers of
 * filters/dkim_verify.c that take bytes from signatures and DNS answers
 * (a hostile sender and a hostile key server choose them):
 * flt_dkim_verify_wire, which turns a key lookup's answer into the DNS
 * reply libopendkim parses, and the body length an l= tag is compared
 * with (proto/dkimcanon.c counting without a sink).
 * Input: a buffer size byte, a record count byte, the name up to '\n',
 * the rest as that many rdata.  Checked, abort() on failure: the reply
 * fits the buffer, its question decodes back to the name and it counts
 * the records; the whole input made into CRLF lines (each LF a CRLF, CRs
 * dropped), as a body, has the canonicalized length libopendkim hashes
 * for a simple and a relaxed signature without l=, in chunks of the
 * buffer size (when it ends with a LF).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <opendkim/dkim.h>

#include "filters/dkim_verify.h"
#include "lib/dns.h"
#include "lib/util.h"
#include "proto/dkimcanon.h"

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Unverifiable signatures (no key: the query file is empty), only there to
 * make libopendkim canonicalize the body both ways. */
static const char *const sig_headers[] = {
	"DKIM-Signature: v=1; a=rsa-sha256; c=simple/simple; d=x.example; "
	    "s=s; h=from; bh=AAAA; b=AAAA",
	"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=x.example; "
	    "s=r; h=from; bh=AAAA; b=AAAA",
	"From: a@x.example",
};

static DKIM_LIB *
lib(void)
{
	static DKIM_LIB	*l;
	dkim_query_t	 qm = DKIM_QUERY_FILE;

	if (l != NULL)
		return l;
	CHECK((l = dkim_init(NULL, NULL)) != NULL);
	CHECK(dkim_options(l, DKIM_OP_SETOPT, DKIM_OPTS_QUERYMETHOD, &qm,
	    sizeof(qm)) == DKIM_STAT_OK);
	CHECK(dkim_options(l, DKIM_OP_SETOPT, DKIM_OPTS_QUERYINFO,
	    "/dev/null", 9) == DKIM_STAT_OK);
	return l;
}

/* libopendkim's count of the hashed body for the signature with s=sel. */
static size_t
opendkim_len(DKIM *d, DKIM_SIGINFO **sigs, int n, const char *sel)
{
	ssize_t	 canonlen = -1;
	int	 i;

	for (i = 0; i < n; i++)
		if (strcmp((const char *)dkim_sig_getselector(sigs[i]), sel) ==
		    0)
			CHECK(dkim_sig_getcanonlen(d, sigs[i], NULL, &canonlen,
			    NULL) == DKIM_STAT_OK);
	CHECK(canonlen >= 0);
	return (size_t)canonlen;
}

static void
check_blen(const uint8_t *data, size_t len, size_t chunk)
{
	struct dkimcanon_body		 b[2];
	unsigned char			*body = malloc(2 * len + 1);
	size_t				 blen = 0, i, n;
	DKIM_SIGINFO			**sigs;
	DKIM_STAT			 st;
	DKIM				*d;
	int				 nsigs;

	for (i = 0; i < len; i++) {
		if (data[i] == '\n')
			body[blen++] = '\r';
		if (data[i] != '\r')
			body[blen++] = data[i];
	}
	CHECK((d = dkim_verify(lib(), (const unsigned char *)"fuzz", NULL,
	    &st)) != NULL);
	for (i = 0; i < nitems(sig_headers); i++)
		CHECK(dkim_header(d, (unsigned char *)(uintptr_t)sig_headers[i],
		    strlen(sig_headers[i])) == DKIM_STAT_OK);
	CHECK(dkim_eoh(d) == DKIM_STAT_OK);
	dkimcanon_body_init(&b[0], 0, NULL, NULL);
	dkimcanon_body_init(&b[1], 1, NULL, NULL);
	for (i = 0; i < blen; i += n) {
		n = blen - i < chunk ? blen - i : chunk;
		(void)dkim_body(d, body + i, n);
		dkimcanon_body_add(&b[0], body + i, n);
		dkimcanon_body_add(&b[1], body + i, n);
	}
	(void)dkim_eom(d, NULL);
	CHECK(dkim_getsiglist(d, &sigs, &nsigs) == DKIM_STAT_OK);
	/* A last line without CRLF is not compared: libopendkim's relaxed
	 * drops it, and its simple count of it depends on the chunks. */
	if (blen == 0 || body[blen - 1] == '\n') {
		CHECK(opendkim_len(d, sigs, nsigs, "s") ==
		    dkimcanon_body_end(&b[0]));
		CHECK(opendkim_len(d, sigs, nsigs, "r") ==
		    dkimcanon_body_end(&b[1]));
	}
	dkim_free(d);
	free(body);
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
	check_blen(data + 2, len - 2, bufsz);
	nrec = data[1] % 4 == 3 ? 0 : data[1] % 4;
	data += 2;
	len -= 2;
	nl = memchr(data, '\n', len);
	nlen = nl != NULL ? (size_t)(nl - data) : len;
	name = malloc(nlen + 1);
	memcpy(name, data, nlen);
	name[nlen] = '\0';
	if (nl != NULL)
		check_wire(name, nl + 1, len - nlen - 1, bufsz, nrec);
	free(name);
	return 0;
}

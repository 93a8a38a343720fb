/* SPDX-License-Identifier: ISC */
/*
 * fuzz_dkimsig.c - differential libFuzzer target for postern's DKIM signer
 * (filters/dkimsig.c, proto/dkimcanon.c, proto/dkimsighdr.c) against
 * libopendkim as the verifier (tests/unit/dkim_oracle.h, the RFC 8463 keys).
 * Input: a byte choosing the header and body canonicalizations and the key
 * (RSA, Ed25519 or both), a byte for the body's chunk size, then header
 * lines up to an empty line, then the body.  The message is made the way
 * the front ends hand one over: header lines "name:value" (name letters,
 * digits and '-'; a line starting with a blank continues the field as a
 * fold), a From field first, body lines ending in CRLF.  Header bytes
 * where libopendkim departs from RFC 6376 3.4.2 are left out (VT and FF,
 * which it takes for spaces; a value starting with a fold, whose
 * leading space it keeps).  Checked, abort() on failure: every signature
 * is found, its body hash matches the one libopendkim computes, and it
 * passes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "filters/dkimsig.h"
#include "lib/util.h"
#include "tests/unit/dkim_oracle.h"

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* One header field of the message: name and value in the text. */
struct hfield {
	size_t	 name, nlen, value, vlen;
};

/* Whether v has nothing but blanks (a fold there is left out). */
static int
blank(const unsigned char *v, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if (v[i] != ' ' && v[i] != '\t')
			return 0;
	return 1;
}

/* The header from the input's lines, into text (CRLF lines) and f[]. */
static size_t
make_header(const uint8_t **pp, const uint8_t *end, struct util_buf *text,
    struct hfield *f, size_t max)
{
	static const char	 from[] = "From: Joe <joe@football.example.com>";
	const uint8_t		*p = *pp, *nl;
	size_t			 n = 1, i, start;
	unsigned char		 c;

	f[0] = (struct hfield){ 0, 4, 5, sizeof(from) - 6 };
	util_buf_add(text, from, sizeof(from) - 1);
	for (; p < end && *p != '\n' && n < max; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if ((*p == ' ' || *p == '\t') && blank(text->p +
		    f[n - 1].value, f[n - 1].vlen) == 0) {
			util_buf_add(text, "\r\n", 2);	/* a fold */
			start = text->len;
			for (i = 0; p + i < nl; i++)
				if ((c = p[i]) != '\r' && c != '\v' &&
				    c != '\f' && c != '\0')
					util_buf_add(text, &c, 1);
			f[n - 1].vlen += 2 + text->len - start;
			continue;
		}
		util_buf_add(text, "\r\n", 2);
		f[n].name = text->len;
		for (i = 0; p + i < nl && p[i] != ':'; i++)
			if ((c = p[i]) == '-' || (c >= '0' && c <= '9') ||
			    ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))
				util_buf_add(text, &c, 1);
		f[n].nlen = text->len - f[n].name;
		if (f[n].nlen == 0 || (f[n].nlen == 14 && strncasecmp(
		    (char *)text->p + f[n].name, "DKIM-Signature", 14) == 0))
			util_buf_add(text, "X", 1), f[n].nlen++;
		util_buf_add(text, ":", 1);
		f[n].value = text->len;
		for (i++; p + i < nl; i++)
			if ((c = p[i]) != '\r' && c != '\v' && c != '\f' &&
			    c != '\0')
				util_buf_add(text, &c, 1);
		f[n].vlen = text->len - f[n].value;
		n++;
	}
	util_buf_add(text, "\r\n\r\n", 4);
	*pp = p < end ? p + 1 : p;
	return n;
}

/* The body from the rest: each LF a CRLF, CRs dropped, a final CRLF. */
static void
make_body(const uint8_t *p, const uint8_t *end, struct util_buf *body)
{
	for (; p < end; p++) {
		if (*p == '\r')
			continue;
		if (*p == '\n')
			util_buf_add(body, "\r", 1);
		util_buf_add(body, p, 1);
	}
	if (body->len > 0 && body->p[body->len - 1] != '\n')
		util_buf_add(body, "\r\n", 2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static EVP_PKEY		*keys[2];
	struct dkimsig_opts	 o;
	struct dkimsig_msg	*m;
	struct dkimsig_key	 k;
	struct oracle_result	 r;
	struct hfield		 f[32];
	struct util_buf		 text = { NULL, 0, 0 }, body = { NULL, 0, 0 };
	struct util_buf		 msg = { NULL, 0, 0 };
	const uint8_t		*p, *end = data + size;
	char			*sig[2], *name, why[256];
	size_t			 n, i, chunk, len, nsigs = 0;

	if (size < 2)
		return 0;
	if (keys[0] == NULL) {
		keys[0] = oracle_key(0);
		keys[1] = oracle_key(1);
	}
	memset(&o, 0, sizeof(o));
	o.hrelaxed = data[0] & 1;
	o.brelaxed = (data[0] >> 1) & 1;
	o.ttl = (data[0] & 0x10) ? 3600 : 0;
	CHECK(dkimsig_opts_set(&o, "From Subject To Cc Date X-A x-b",
	    "From Subject") == 0);
	chunk = (size_t)data[1] + 1;
	p = data + 2;
	n = make_header(&p, end, &text, f, nitems(f));
	make_body(p, end, &body);

	m = dkimsig_msg_new(o.brelaxed);
	for (i = 0; i < n; i++) {
		name = xstrndup((char *)text.p + f[i].name, f[i].nlen);
		dkimsig_msg_header(m, name, (char *)text.p + f[i].value,
		    f[i].vlen);
		free(name);
	}
	for (i = 0; i < body.len; i += len) {
		len = body.len - i < chunk ? body.len - i : chunk;
		dkimsig_msg_body(m, body.p + i, len);
	}
	for (i = 0; i < 2; i++) {
		if (((data[0] >> 2) & 3) == (i == 0 ? 1 : 0))
			continue;	/* 1: Ed25519 only, 0: RSA only */
		k = (struct dkimsig_key){ keys[i], (int)i, ORACLE_DOMAIN,
		    i ? "brisbane" : "test", (data[0] & 0x20) ?
		    "@football.example.com" : "" };
		CHECK((sig[nsigs] = dkimsig_sign(m, &o, &k, time(NULL), why,
		    sizeof(why))) != NULL);
		util_buf_add(&msg, "DKIM-Signature: ", 16);
		util_buf_add(&msg, sig[nsigs], strlen(sig[nsigs]));
		util_buf_add(&msg, "\r\n", 2);
		free(sig[nsigs++]);
	}
	util_buf_add(&msg, text.p, text.len);
	util_buf_add(&msg, body.p, body.len);
	r = oracle_verify(msg.p, msg.len);
	CHECK(r.nsigs == (int)nsigs);
	CHECK(r.bh_match == (int)nsigs);
	CHECK(r.passed == (int)nsigs);

	dkimsig_msg_free(m);
	dkimsig_opts_clear(&o);
	util_buf_free(&text);
	util_buf_free(&body);
	util_buf_free(&msg);
	return 0;
}

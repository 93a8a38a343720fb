/* SPDX-License-Identifier: ISC */
/*
 * fuzz_table.c - libFuzzer target for policy/table.c.  The input is split
 * into lines; each line goes to iptable_add and addrtable_add.  Then the
 * whole input is read again as 6-byte records that build prefixes near
 * earlier ones (so they overlap and nest), which are added as text.
 *
 * Every IP entry the table accepts is also parsed here, independently, on
 * bytes rather than 32-bit words; an entry one side accepts and the other
 * rejects aborts.  Lookups of each entry's address, of its neighbours, of
 * addresses taken from the input and of their IPv4-mapped forms are then
 * compared with a scan of the accepted entries for the longest prefix
 * (first added among equals); any difference aborts.  An accepted sender
 * entry must be found by a lookup that it covers.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/table.h"

#define FUZZ_MAXREF	512
#define FUZZ_MAXLINE	300

struct fuzz_ref {
	int		 v6;		/* else IPv4 */
	unsigned char	 a[16];		/* network, host bits zero */
	unsigned	 plen;
};

struct fuzz {
	struct iptable	*ip;
	struct addrtable *addr;
	struct fuzz_ref	 ref[FUZZ_MAXREF];
	size_t		 nref;
};

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
fuzz_covers(const struct fuzz_ref *r, const unsigned char *a)
{
	unsigned	 full = r->plen / 8, rest = r->plen % 8;

	if (memcmp(r->a, a, full) != 0)
		return 0;
	return rest == 0 || ((r->a[full] ^ a[full]) & (0xff00 >> rest)) == 0;
}

/* The entry as this harness reads the header's grammar; 0 if invalid. */
static int
fuzz_parse(const char *e, struct fuzz_ref *r)
{
	char		 a[FUZZ_MAXLINE];
	const char	*slash = strchr(e, '/'), *p;
	unsigned	 max, v = 0, i;
	static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };

	memset(r, 0, sizeof(*r));
	snprintf(a, sizeof(a), "%.*s", slash != NULL ? (int)(slash - e) :
	    (int)strlen(e), e);
	r->v6 = strchr(a, ':') != NULL;
	if (inet_pton(r->v6 ? AF_INET6 : AF_INET, a, r->a) != 1)
		return 0;
	max = r->v6 ? 128 : 32;
	if (slash != NULL) {
		if (slash[1] == '\0')
			return 0;
		for (p = slash + 1; *p != '\0'; p++) {
			if (*p < '0' || *p > '9')
				return 0;
			if (v <= max)
				v = v * 10 + (unsigned)(*p - '0');
		}
		if (v > max)
			return 0;
	} else
		v = max;
	r->plen = v;
	for (i = v; i < max; i++)
		if (r->a[i / 8] & (0x80 >> (i % 8)))
			return 0;
	if (r->v6 && v >= 96 && memcmp(r->a, mapped, 12) == 0) {
		r->v6 = 0;
		memmove(r->a, r->a + 12, 4);
		memset(r->a + 4, 0, 12);
		r->plen -= 96;
	}
	return 1;
}

static void
fuzz_ipadd(struct fuzz *f, const char *e)
{
	struct fuzz_ref	 r;
	char		 err[512];
	int		 want, got;

	if (f->nref == FUZZ_MAXREF)
		return;
	want = fuzz_parse(e, &r);
	got = iptable_add(f->ip, e, (uint32_t)f->nref, err, sizeof(err)) == 0;
	if (want != got) {
		fprintf(stderr, "'%s': table %s, reference %s (%s)\n", e,
		    got ? "accepts" : "rejects", want ? "accepts" : "rejects",
		    got ? "" : err);
		abort();
	}
	if (got)
		f->ref[f->nref++] = r;
}

static void
fuzz_lookup(const struct fuzz *f, int v6, const unsigned char *a)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	unsigned char		 ra[16];
	uint32_t		 tag = 0;
	long			 want = -1, got;
	size_t			 i;
	int			 rv6 = v6;

	memset(&ss, 0, sizeof(ss));
	memset(ra, 0, sizeof(ra));
	if (v6) {
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, a, 16);
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			rv6 = 0;
			memcpy(ra, a + 12, 4);
		} else
			memcpy(ra, a, 16);
	} else {
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, a, 4);
		memcpy(ra, a, 4);
	}
	for (i = 0; i < f->nref; i++)
		if (f->ref[i].v6 == rv6 && fuzz_covers(&f->ref[i], ra) &&
		    (want == -1 || f->ref[i].plen > f->ref[want].plen))
			want = i;
	got = iptable_lookup(f->ip, (struct sockaddr *)&ss, &tag) ? (long)tag :
	    -1;
	if (got != want) {
		fprintf(stderr, "lookup mismatch: table %ld, reference %ld\n",
		    got, want);
		abort();
	}
}

/* A v4 lookup, then the same address IPv4-mapped. */
static void
fuzz_lookups(const struct fuzz *f, int v6, const unsigned char *a)
{
	unsigned char	 m[16] = { [10] = 0xff, [11] = 0xff };

	fuzz_lookup(f, v6, a);
	if (!v6) {
		memcpy(m + 12, a, 4);
		fuzz_lookup(f, 1, m);
	}
}

static void
fuzz_addr(struct fuzz *f, const char *e)
{
	char	 q[FUZZ_MAXLINE + 8];
	size_t	 i;

	if (addrtable_add(f->addr, e, 0, NULL, 0) == -1)
		return;
	if (strcmp(e, "<>") == 0)
		snprintf(q, sizeof(q), "%s", "");
	else if (strchr(e, '@') != NULL)
		snprintf(q, sizeof(q), "%s", e);
	else if (e[0] == '.')
		snprintf(q, sizeof(q), "x@a%s", e);
	else
		snprintf(q, sizeof(q), "x@%s", e);
	for (i = 0; q[i] != '\0'; i++)
		if (q[i] >= 'a' && q[i] <= 'z')
			q[i] -= 'a' - 'A';
	if (!addrtable_lookup(f->addr, q, NULL)) {
		fprintf(stderr, "sender entry '%s' does not match '%s'\n", e,
		    q);
		abort();
	}
}

/* 6-byte records: control, prefix length, 4 bytes to XOR in. */
static void
fuzz_records(struct fuzz *f, const uint8_t *data, size_t size)
{
	struct fuzz_ref	 r;
	char		 s[INET6_ADDRSTRLEN], e[INET6_ADDRSTRLEN + 8];
	unsigned	 i, pos, max;

	for (; size >= 6; data += 6, size -= 6) {
		memset(&r, 0, sizeof(r));
		r.v6 = data[0] & 1;
		if ((data[0] & 2) && f->nref > 0)
			memcpy(r.a, f->ref[f->nref - 1].a, 16);
		max = r.v6 ? 128 : 32;
		pos = r.v6 ? (data[0] >> 2) % 13 : 0;
		for (i = 0; i < 4; i++)
			r.a[pos + i] ^= data[2 + i];
		if (!r.v6)
			memset(r.a + 4, 0, 12);
		fuzz_lookups(f, r.v6, r.a);
		r.plen = data[1] % (max + 1);
		for (i = r.plen; i < max; i++)
			r.a[i / 8] &= ~(0x80 >> (i % 8));
		inet_ntop(r.v6 ? AF_INET6 : AF_INET, r.a, s, sizeof(s));
		snprintf(e, sizeof(e), "%s/%u", s, r.plen);
		fuzz_ipadd(f, e);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz	 f;
	char			 line[FUZZ_MAXLINE];
	const uint8_t		*p, *end = data + size, *nl;
	unsigned char		 a[16];
	size_t			 i, len;

	f.ip = iptable_new();
	f.addr = addrtable_new();
	f.nref = 0;
	for (p = data; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', end - p)) == NULL)
			nl = end;
		len = nl - p < FUZZ_MAXLINE - 1 ? (size_t)(nl - p) :
		    FUZZ_MAXLINE - 1;
		memcpy(line, p, len);
		line[len] = '\0';
		fuzz_ipadd(&f, line);
		fuzz_addr(&f, line);
	}
	fuzz_records(&f, data, size);
	for (i = 0; i < f.nref; i++) {
		memcpy(a, f.ref[i].a, 16);
		fuzz_lookups(&f, f.ref[i].v6, a);
		a[f.ref[i].v6 ? 15 : 3] ^= 1;
		fuzz_lookups(&f, f.ref[i].v6, a);
		a[f.ref[i].plen / 8 < 16 ? f.ref[i].plen / 8 : 15] ^= 0x80;
		fuzz_lookups(&f, f.ref[i].v6, a);
	}
	memset(a, 0xff, sizeof(a));
	fuzz_lookups(&f, 0, a);
	fuzz_lookups(&f, 1, a);
	iptable_free(f.ip);
	addrtable_free(f.addr);
	return 0;
}

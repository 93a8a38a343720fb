/* SPDX-License-Identifier: ISC */
/*
 * t_proxyproto.c - unit tests for proto/proxyproto.c: version 1 lines
 * (TCP4, TCP6, mapped addresses, UNKNOWN, the 107-byte bound) and version 2
 * headers (PROXY and LOCAL, INET and INET6, UNSPEC and UNIX, TLVs, the
 * largest length), each malformed case with its reason, SMTP bytes after
 * the header left alone, and every input fed again one byte more at a time
 * giving the same answer once there is one.  The builder: v1 and v2 of
 * IPv4, IPv6 and mapped addresses, byte for byte and through the parser,
 * mixed families, sizes too small.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proxyproto.h"
#include "tap.h"

#define V2_SIG	"\r\n\r\n\0\r\nQUIT\n"

static enum proxyproto_status parse(const void *, size_t,
		    struct proxyproto_hdr *);
static int	 same(const struct proxyproto_hdr *,
		    const struct proxyproto_hdr *, enum proxyproto_status);
static const char *addr(const struct sockaddr_storage *, char *, size_t);
static unsigned	 port(const struct sockaddr_storage *);
static void	 v1_ok(const char *, int, const char *, unsigned,
		    const char *, unsigned);
static void	 v1_bad(const char *, const char *);
static size_t	 v2(unsigned char *, unsigned, unsigned, const void *,
		    size_t, size_t);
static void	 test_v1(void);
static void	 test_v1_bad(void);
static void	 test_v2(void);
static void	 test_v2_local(void);
static void	 test_v2_bad(void);
static void	 test_v2_large(void);
static void	 test_trailing(void);
static void	 test_mutations(void);
static void	 sa(struct sockaddr_storage *, const char *, unsigned);
static void	 build_back(int, const char *, unsigned, const char *, unsigned,
		    const char *);
static void	 test_build(void);

static unsigned	 incremental_bad;

/*
 * proxyproto_parse on buf, and again on every prefix: a prefix gives MORE,
 * or (from some length on) exactly the answer of the whole.  A MORE with a
 * need names a length beyond the prefix.
 */
static enum proxyproto_status
parse(const void *buf, size_t len, struct proxyproto_hdr *h)
{
	struct proxyproto_hdr	 p;
	enum proxyproto_status	 st, pst;
	size_t			 k;
	int			 decided = 0;

	st = proxyproto_parse(buf, len, h);
	if (st == PROXYPROTO_DONE && (h->len == 0 || h->len > len))
		incremental_bad++;
	for (k = 0; k < len; k++) {
		pst = proxyproto_parse(buf, k, &p);
		if (pst == PROXYPROTO_MORE) {
			if (decided || (p.need != 0 && p.need <= k))
				incremental_bad++;
			continue;
		}
		decided = 1;
		if (!same(&p, h, st) || pst != st)
			incremental_bad++;
	}
	return st;
}

static int
same(const struct proxyproto_hdr *a, const struct proxyproto_hdr *b,
    enum proxyproto_status st)
{
	if (st == PROXYPROTO_INVALID)
		return a->reason == b->reason;
	return a->version == b->version && a->local == b->local &&
	    a->len == b->len && a->srclen == b->srclen &&
	    a->dstlen == b->dstlen &&
	    memcmp(&a->src, &b->src, sizeof(a->src)) == 0 &&
	    memcmp(&a->dst, &b->dst, sizeof(a->dst)) == 0;
}

static const char *
addr(const struct sockaddr_storage *ss, char *buf, size_t sz)
{
	const void	*a = ss->ss_family == AF_INET ?
	    (const void *)&((const struct sockaddr_in *)ss)->sin_addr :
	    (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;

	if (ss->ss_family != AF_INET && ss->ss_family != AF_INET6)
		return "(none)";
	return inet_ntop(ss->ss_family, a, buf, (socklen_t)sz);
}

static unsigned
port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

static void
v1_ok(const char *line, int af, const char *src, unsigned sport,
    const char *dst, unsigned dport)
{
	struct proxyproto_hdr	 h;
	char			 a[64];

	is_int(parse(line, strlen(line), &h), PROXYPROTO_DONE, "v1 \"%.*s\"",
	    (int)strcspn(line, "\r\n"), line);
	is_int(h.version, 1, "version 1");
	is_int(h.len, strlen(line), "the whole line is the header");
	if (src == NULL) {
		ok(h.local, "no address: keep the connection's");
		return;
	}
	ok(!h.local, "an address");
	is_int(h.src.ss_family, af, "source family");
	is_str(addr(&h.src, a, sizeof(a)), src, "source address");
	is_int(port(&h.src), sport, "source port");
	is_str(addr(&h.dst, a, sizeof(a)), dst, "destination address");
	is_int(port(&h.dst), dport, "destination port");
	is_int(h.srclen, af == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6), "source length");
}

static void
v1_bad(const char *line, const char *why)
{
	struct proxyproto_hdr	 h;

	is_int(parse(line, strlen(line), &h), PROXYPROTO_INVALID,
	    "invalid: \"%.*s\"", (int)strcspn(line, "\r\n"), line);
	is_str(h.reason, why, "reason");
}

static void
test_v1(void)
{
	char	 line[200];

	v1_ok("PROXY TCP4 192.0.2.66 198.51.100.1 56324 25\r\n", AF_INET,
	    "192.0.2.66", 56324, "198.51.100.1", 25);
	v1_ok("PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n", AF_INET,
	    "0.0.0.0", 0, "255.255.255.255", 65535);
	v1_ok("PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n", AF_INET6,
	    "2001:db8::1", 1, "2001:db8::2", 65535);
	v1_ok("PROXY TCP6 ::ffff:192.0.2.7 ::1 1000 25\r\n", AF_INET,
	    "192.0.2.7", 1000, "::1", 25);
	v1_ok("PROXY UNKNOWN\r\n", 0, NULL, 0, NULL, 0);
	v1_ok("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n", 0, NULL, 0, NULL, 0);
	v1_ok("PROXY UNKNOWN whatever follows, up to CRLF\r\n", 0, NULL, 0,
	    NULL, 0);
	/* the longest the spec computes: 104 bytes */
	v1_ok("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n",
	    AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535,
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535);
	/* 107 bytes is the bound, CRLF included */
	snprintf(line, sizeof(line), "PROXY UNKNOWN %.*s\r\n", 107 - 16,
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	is_int(strlen(line), 107, "a 107-byte line");
	v1_ok(line, 0, NULL, 0, NULL, 0);
	snprintf(line, sizeof(line), "PROXY UNKNOWN %.*s\r\n", 108 - 16,
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	v1_bad(line, "v1 line too long");
}

static void
test_v1_bad(void)
{
	const char	*bad = "v1 line: bad field syntax";
	const char	*ctl = "control character in v1 line";
	const char	*bport = "v1 line: bad source port";
	struct proxyproto_hdr h;

	v1_bad("EHLO client.example.org\r\n", "not a PROXY header");
	v1_bad("proxy TCP4 192.0.2.1 192.0.2.2 1 2\r\n", "not a PROXY header");
	v1_bad("PROXYTCP4 192.0.2.1 192.0.2.2 1 2\r\n", "not a PROXY header");
	v1_bad("PROXY TCP4 192.0.2.1 192.0.2.2 1 2\n", ctl);
	v1_bad("PROXY TCP4 192.0.2.1 192.0.2.2 1 2\rX", "v1 line: CR without LF");
	v1_bad("PROXY TCP4 192.0.2.1\t192.0.2.2 1 2\r\n", ctl);
	v1_bad("PROXY TCP4 192.0.2.1 192.0.2.2 1 2\x80\r\n", ctl);
	is_int(parse("PROXY TCP4\0 1", 13, &h), PROXYPROTO_INVALID, "NUL");
	is_str(h.reason, ctl, "NUL is a control character");
	v1_bad("PROXY  TCP4 192.0.2.1 192.0.2.2 1 2\r\n", bad);
	v1_bad("PROXY TCP4 192.0.2.1  192.0.2.2 1 2\r\n", bad);
	v1_bad("PROXY TCP4 192.0.2.1 192.0.2.2 1 2 \r\n", bad);
	v1_bad("PROXY TCP4 192.0.2.1 192.0.2.2 1\r\n", bad);
	v1_bad("PROXY TCP4 192.0.2.1 192.0.2.2 1 2 3\r\n", bad);
	v1_bad("PROXY \r\n", bad);
	v1_bad("PROXY UNKNOWNX\r\n", bad);
	v1_bad("PROXY UDP4 192.0.2.1 192.0.2.2 1 2\r\n",
	    "v1 line: unknown protocol");
	v1_bad("PROXY tcp4 192.0.2.1 192.0.2.2 1 2\r\n",
	    "v1 line: unknown protocol");
	v1_bad("PROXY TCP4 2001:db8::1 192.0.2.2 1 2\r\n",
	    "v1 line: bad source address");
	v1_bad("PROXY TCP6 192.0.2.1 2001:db8::2 1 2\r\n",
	    "v1 line: bad source address");
	v1_bad("PROXY TCP4 192.0.2.1 192.0.2.256 1 2\r\n",
	    "v1 line: bad destination address");
	v1_bad("PROXY TCP4 192.0.2.01 192.0.2.2 1 2\r\n",
	    "v1 line: bad source address");
	v1_bad("PROXY TCP4 example.org 192.0.2.2 1 2\r\n",
	    "v1 line: bad source address");
	v1_bad("PROXY TCP6 2001:db8::1%eth0 ::1 1 2\r\n",
	    "v1 line: bad source address");
	v1_bad("PROXY TCP4 192.0.2.1 192.0.2.2 65536 2\r\n", bport);
	v1_bad("PROXY TCP4 192.0.2.1 192.0.2.2 01 2\r\n", bport);
	v1_bad("PROXY TCP4 192.0.2.1 192.0.2.2 -1 2\r\n", bport);
	v1_bad("PROXY TCP4 192.0.2.1 192.0.2.2 1a 2\r\n", bport);
	v1_bad("PROXY TCP4 192.0.2.1 192.0.2.2 123456 2\r\n", bport);
	v1_bad("PROXY TCP4 192.0.2.1 192.0.2.2 99999 2\r\n", bport);
	v1_bad("PROXY TCP4 192.0.2.1 192.0.2.2 1 +2\r\n",
	    "v1 line: bad destination port");
	v1_bad("PROXY UNKNOWN xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	    "v1 line too long");
	is_int(parse("", 0, &h), PROXYPROTO_MORE, "nothing yet: more");
	is_int(parse("PROX", 4, &h), PROXYPROTO_MORE, "PROX: more");
	is_int(h.need, 0, "v1 does not know how long it is");
	is_int(parse("PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r", 35, &h),
	    PROXYPROTO_MORE, "CR without its LF yet: more");
}

/* A v2 header into out: ver_cmd, fam, body of blen bytes, and a length
 * field of alen (normally blen).  Returns the bytes written. */
static size_t
v2(unsigned char *out, unsigned vc, unsigned fam, const void *body,
    size_t blen, size_t alen)
{
	memcpy(out, V2_SIG, 12);
	out[12] = (unsigned char)vc;
	out[13] = (unsigned char)fam;
	out[14] = (unsigned char)(alen >> 8);
	out[15] = (unsigned char)alen;
	memcpy(out + 16, body, blen);
	return 16 + blen;
}

static const unsigned char inet_body[] = {
	192, 0, 2, 66,  198, 51, 100, 1,  0x0f, 0xa0,  0x00, 0x19,
	/* TLVs: ALPN "smtp", AUTHORITY "mx.example", NOOP of 0 and 2 */
	0x01, 0x00, 0x04, 's', 'm', 't', 'p',
	0x02, 0x00, 0x0a, 'm', 'x', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e',
	0x04, 0x00, 0x00,
	0x04, 0x00, 0x02, 0x00, 0x00,
};

static const unsigned char inet6_body[] = {
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42,
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
	0xc3, 0x50,  0x00, 0x19,
	0x20, 0x00, 0x05, 0x01, 0x00, 0x00, 0x00, 0x00,	/* SSL, no sub-TLV */
};

static void
test_v2(void)
{
	unsigned char		 buf[256], body[64];
	struct proxyproto_hdr	 h;
	size_t			 n;
	char			 a[64];

	n = v2(buf, 0x21, 0x11, inet_body, 12, 12);
	is_int(parse(buf, n, &h), PROXYPROTO_DONE, "v2 PROXY TCP4");
	is_int(h.version, 2, "version 2");
	is_int(h.len, 28, "28 bytes");
	ok(!h.local, "an address");
	is_str(addr(&h.src, a, sizeof(a)), "192.0.2.66", "v2 source");
	is_int(port(&h.src), 4000, "v2 source port");
	is_str(addr(&h.dst, a, sizeof(a)), "198.51.100.1", "v2 destination");
	is_int(port(&h.dst), 25, "v2 destination port");

	n = v2(buf, 0x21, 0x11, inet_body, sizeof(inet_body),
	    sizeof(inet_body));
	is_int(parse(buf, n, &h), PROXYPROTO_DONE, "v2 TCP4 with TLVs");
	is_int(h.len, n, "TLVs are part of the header");
	is_str(addr(&h.src, a, sizeof(a)), "192.0.2.66", "source, TLVs "
	    "skipped");

	n = v2(buf, 0x21, 0x21, inet6_body, sizeof(inet6_body),
	    sizeof(inet6_body));
	is_int(parse(buf, n, &h), PROXYPROTO_DONE, "v2 PROXY TCP6 + TLV");
	is_int(h.len, n, "the whole header");
	is_int(h.src.ss_family, AF_INET6, "IPv6");
	is_str(addr(&h.src, a, sizeof(a)), "2001:db8::42", "v2 source6");
	is_int(port(&h.src), 50000, "v2 source6 port");
	is_str(addr(&h.dst, a, sizeof(a)), "2001:db8::1", "v2 destination6");

	memcpy(body, inet6_body, 36);
	memset(body, 0, 10);
	body[10] = body[11] = 0xff;	/* ::ffff:192.0.2.66 */
	body[12] = 192; body[13] = 0; body[14] = 2; body[15] = 66;
	n = v2(buf, 0x21, 0x21, body, 36, 36);
	is_int(parse(buf, n, &h), PROXYPROTO_DONE, "v2 mapped source");
	is_int(h.src.ss_family, AF_INET, "mapped becomes IPv4");
	is_int(h.srclen, sizeof(struct sockaddr_in), "IPv4 length");
	is_str(addr(&h.src, a, sizeof(a)), "192.0.2.66", "mapped source");
	is_int(port(&h.src), 50000, "mapped source port");

	n = v2(buf, 0x21, 0x11, inet_body, 13, 12);
	is_int(parse(buf, n, &h), PROXYPROTO_DONE, "v2, then a byte of SMTP");
	is_int(h.len, 28, "the length field bounds the header");
	is_int(parse(buf, 20, &h), PROXYPROTO_MORE, "v2 part: more");
	is_int(h.need, 28, "v2 says how long it is");
}

static void
test_v2_local(void)
{
	unsigned char		 buf[512], unix_body[216];
	struct proxyproto_hdr	 h;
	size_t			 n;

	n = v2(buf, 0x20, 0x00, "", 0, 0);
	is_int(parse(buf, n, &h), PROXYPROTO_DONE, "v2 LOCAL");
	ok(h.local, "LOCAL keeps the connection's address");
	is_int(h.len, 16, "16 bytes");
	n = v2(buf, 0x20, 0x11, inet_body, sizeof(inet_body),
	    sizeof(inet_body));
	is_int(parse(buf, n, &h), PROXYPROTO_DONE, "v2 LOCAL with addresses");
	ok(h.local && h.len == n, "LOCAL ignores them, consumes them");
	n = v2(buf, 0x20, 0xff, inet_body, 5, 5);
	is_int(parse(buf, n, &h), PROXYPROTO_DONE, "v2 LOCAL: family ignored");
	ok(h.local, "LOCAL, any family");
	n = v2(buf, 0x21, 0x00, "", 0, 0);
	is_int(parse(buf, n, &h), PROXYPROTO_DONE, "v2 PROXY UNSPEC");
	ok(h.local, "UNSPEC keeps the connection's address");
	memset(unix_body, 'u', sizeof(unix_body));
	n = v2(buf, 0x21, 0x31, unix_body, sizeof(unix_body),
	    sizeof(unix_body));
	is_int(parse(buf, n, &h), PROXYPROTO_DONE, "v2 PROXY UNIX stream");
	ok(h.local && h.len == n, "UNIX keeps the connection's address");
}

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/* Malformed v2 headers: ver_cmd, family, which body, its bytes, length. */
static const struct {
	unsigned	 vc, fam;
	int		 six;
	size_t		 blen, alen;
	const char	*what, *why;
} v2_bad[] = {
	{ 0x21, 0x41, 0, 12, 12, "family 4", "v2: unknown address family" },
	{ 0x21, 0x13, 0, 12, 12, "transport 3", "v2: unknown transport" },
	{ 0x21, 0x12, 0, 12, 12, "INET over UDP", "v2: transport is not TCP" },
	{ 0x21, 0x20, 1, 36, 36, "INET6 UNSPEC", "v2: transport is not TCP" },
	{ 0x21, 0x11, 0, 11, 11, "INET, 11 bytes",
	    "v2: address block too short" },
	{ 0x21, 0x21, 1, 35, 35, "INET6, 35 bytes",
	    "v2: address block too short" },
	{ 0x21, 0x11, 0, 14, 14, "2 bytes after", "v2: truncated TLV" },
	{ 0x21, 0x11, 0, 18, 18, "TLV cut short",
	    "v2: TLV overruns the header" },
	{ 0x21, 0x11, 0, 40, 39, "last TLV cut by the length",
	    "v2: TLV overruns the header" },
};

static void
test_v2_bad(void)
{
	unsigned char		 buf[256], sig[16];
	struct proxyproto_hdr	 h;
	size_t			 n, i;
	unsigned		 c;
	int			 all = 1;

	for (i = 0; i < 12; i++) {
		memcpy(sig, V2_SIG, 12);
		sig[i] ^= 0x20;
		if (parse(sig, 12, &h) != PROXYPROTO_INVALID ||
		    strcmp(h.reason, "not a PROXY header") != 0)
			all = 0;
	}
	ok(all, "a wrong signature byte anywhere");
	n = v2(buf, 0x11, 0x11, inet_body, 12, 12);
	is_int(parse(buf, n, &h), PROXYPROTO_INVALID, "version 1 in v2");
	is_str(h.reason, "v2: unsupported version", "reason");
	n = v2(buf, 0x31, 0x11, inet_body, 12, 12);
	is_int(parse(buf, 13, &h), PROXYPROTO_INVALID, "version 3, early");
	is_str(h.reason, "v2: unsupported version", "reason");
	for (c = 2, all = 1; c < 16; c++) {
		n = v2(buf, 0x20 | c, 0x11, inet_body, 12, 12);
		if (parse(buf, n, &h) != PROXYPROTO_INVALID ||
		    strcmp(h.reason, "v2: unknown command") != 0)
			all = 0;
	}
	ok(all, "commands 2..15");
	for (i = 0; i < nitems(v2_bad); i++) {
		n = v2(buf, v2_bad[i].vc, v2_bad[i].fam, v2_bad[i].six ?
		    inet6_body : inet_body, v2_bad[i].blen, v2_bad[i].alen);
		is_int(parse(buf, n, &h), PROXYPROTO_INVALID, "v2 %s",
		    v2_bad[i].what);
		is_str(h.reason, v2_bad[i].why, "reason");
	}
	n = v2(buf, 0x21, 0x11, inet_body, 11, 11);
	is_int(parse(buf, 16, &h), PROXYPROTO_INVALID, "short: known at 16");
	is_int(parse(V2_SIG "\x21", 13, &h), PROXYPROTO_MORE, "13 bytes");
	is_int(parse(V2_SIG, 5, &h), PROXYPROTO_MORE, "a signature prefix");
}

static void
test_v2_large(void)
{
	unsigned char		*buf, *body;
	struct proxyproto_hdr	 h;
	size_t			 alen = 65535, n;

	body = calloc(1, alen);
	buf = malloc(16 + alen + 4);
	if (body == NULL || buf == NULL)
		abort();
	memcpy(body, inet_body, 12);
	body[12] = 0x04;			/* one NOOP TLV to the end */
	body[13] = (unsigned char)((alen - 15) >> 8);
	body[14] = (unsigned char)(alen - 15);
	n = v2(buf, 0x21, 0x11, body, alen, alen);
	memcpy(buf + n, "QUIT", 4);
	is_int(parse(buf, n + 4, &h), PROXYPROTO_DONE, "the largest v2");
	is_int(h.len, PROXYPROTO_V2_MAX, "65551 bytes");
	is_int(parse(buf, n - 1, &h), PROXYPROTO_MORE, "one byte short");
	is_int(h.need, PROXYPROTO_V2_MAX, "need says so");
	free(body);
	free(buf);
}

/* SMTP pipelined after the header is not the header's. */
static void
test_trailing(void)
{
	const char		*s = "PROXY TCP4 192.0.2.66 192.0.2.1 5 25\r\n"
	    "EHLO x\r\n";
	struct proxyproto_hdr	 h;

	is_int(parse(s, strlen(s), &h), PROXYPROTO_DONE, "v1 + EHLO");
	is_int(h.len, strlen(s) - 8, "EHLO left over");
	s = "PROXY UNKNOWN\r\nPROXY TCP4 192.0.2.66 192.0.2.1 5 25\r\n";
	is_int(parse(s, strlen(s), &h), PROXYPROTO_DONE, "a second header");
	ok(h.local && h.len == 15, "only the first counts");
}

/* Random changes to valid headers: still consistent byte by byte. */
static void
test_mutations(void)
{
	static const char *const lines[] = {
		"PROXY TCP4 192.0.2.66 198.51.100.1 56324 25\r\n",
		"PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n",
	};
	unsigned char		 seed[4][128], buf[128];
	size_t			 len[4], n, i, k;
	struct proxyproto_hdr	 h;
	uint32_t		 r = 20240501;
	unsigned		 counts[3] = { 0, 0, 0 };

	len[0] = v2(seed[0], 0x21, 0x11, inet_body, sizeof(inet_body),
	    sizeof(inet_body));
	len[1] = v2(seed[1], 0x21, 0x21, inet6_body, sizeof(inet6_body),
	    sizeof(inet6_body));
	for (k = 0; k < 2; k++) {
		len[2 + k] = strlen(lines[k]);
		memcpy(seed[2 + k], lines[k], len[2 + k]);
	}
	for (i = 0; i < 20000; i++) {
		k = tap_random(&r) % 4;
		n = len[k];
		memcpy(buf, seed[k], n);
		buf[tap_random(&r) % n] = (unsigned char)tap_random(&r);
		if (tap_random(&r) % 4 == 0)
			n = tap_random(&r) % n;
		counts[parse(buf, n, &h)]++;
	}
	ok(counts[PROXYPROTO_MORE] > 0 && counts[PROXYPROTO_INVALID] > 0 &&
	    counts[PROXYPROTO_DONE] > 0, "mutations: %u more, %u invalid, "
	    "%u done", counts[0], counts[1], counts[2]);
}

/* ss: the IPv4 or IPv6 address a with port p. */
static void
sa(struct sockaddr_storage *ss, const char *a, unsigned p)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, a, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
		if (inet_pton(AF_INET6, a, &sin6->sin6_addr) != 1)
			abort();
	}
}

/* Built as version v, parsed back: the same addresses (want_dst is what
 * dst comes back as); v1 is also compared as text. */
static void
build_back(int v, const char *src, unsigned sp, const char *dst, unsigned dp,
    const char *want_dst)
{
	struct sockaddr_storage	 s, d;
	struct proxyproto_hdr	 h;
	unsigned char		 out[PROXYPROTO_OUT_MAX];
	char			 a[64];
	int			 n;

	sa(&s, src, sp);
	sa(&d, dst, dp);
	n = proxyproto_build(v, (struct sockaddr *)&s, (struct sockaddr *)&d,
	    out, sizeof(out));
	ok(n > 0, "v%d %s -> %s built (%d bytes)", v, src, dst, n);
	if (n <= 0)
		return;
	is_int(parse(out, (size_t)n, &h), PROXYPROTO_DONE, "parsed back");
	is_int(h.version, v, "its version");
	is_int(h.len, (size_t)n, "all of it");
	ok(!h.local, "with addresses");
	is_str(addr(&h.src, a, sizeof(a)), strncmp(src, "::ffff:", 7) == 0 ?
	    src + 7 : src, "source");
	is_int(port(&h.src), sp, "source port");
	is_str(addr(&h.dst, a, sizeof(a)), want_dst, "destination");
	is_int(port(&h.dst), dp, "destination port");
}

static void
test_build(void)
{
	struct sockaddr_storage	 s, d;
	struct sockaddr_un	 un;
	unsigned char		 out[PROXYPROTO_OUT_MAX];
	const char		*v1 = "PROXY TCP4 192.0.2.25 198.51.100.1 "
				    "41000 25\r\n";
	const unsigned char	 v2[] = V2_SIG "\x21\x11\x00\x0c"
				    "\xc0\x00\x02\x19\xc6\x33\x64\x01"
				    "\xa0\x28\x00\x19";
	int			 n;

	sa(&s, "192.0.2.25", 41000);
	sa(&d, "198.51.100.1", 25);
	n = proxyproto_build(1, (struct sockaddr *)&s, (struct sockaddr *)&d,
	    out, sizeof(out));
	is_mem(out, (size_t)n, v1, strlen(v1), "v1 TCP4, byte for byte");
	n = proxyproto_build(2, (struct sockaddr *)&s, (struct sockaddr *)&d,
	    out, sizeof(out));
	is_mem(out, (size_t)n, v2, sizeof(v2) - 1, "v2 TCP4, byte for byte");
	is_int(proxyproto_build(2, (struct sockaddr *)&s,
	    (struct sockaddr *)&d, out, 27), -1, "v2: room too small");
	is_int(proxyproto_build(1, (struct sockaddr *)&s,
	    (struct sockaddr *)&d, out, 20), -1, "v1: room too small");
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	is_int(proxyproto_build(1, (struct sockaddr *)&un,
	    (struct sockaddr *)&d, out, sizeof(out)), -1, "not IP: refused");
	build_back(1, "192.0.2.25", 41000, "127.0.0.1", 2525, "127.0.0.1");
	build_back(2, "192.0.2.25", 41000, "127.0.0.1", 2525, "127.0.0.1");
	build_back(1, "2001:db8::25", 65535, "2001:db8::1", 25, "2001:db8::1");
	build_back(2, "2001:db8::25", 1, "2001:db8::1", 25, "2001:db8::1");
	build_back(1, "::ffff:192.0.2.9", 5, "::ffff:127.0.0.1", 25,
	    "127.0.0.1");
	build_back(2, "::ffff:192.0.2.9", 5, "127.0.0.1", 0, "127.0.0.1");
	build_back(1, "192.0.2.9", 5, "::1", 25, "0.0.0.0");
	build_back(2, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", 65535,
	    "192.0.2.1", 25, "::");
	build_back(1, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", 65535,
	    "2001:db8:ffff:ffff:ffff:ffff:ffff:fffe", 65535,
	    "2001:db8:ffff:ffff:ffff:ffff:ffff:fffe");
}

int
main(void)
{
	test_v1();
	test_v1_bad();
	test_v2();
	test_v2_local();
	test_v2_bad();
	test_v2_large();
	test_trailing();
	test_mutations();
	test_build();
	is_int(incremental_bad, 0, "every input fed a byte more at a time "
	    "gives the same answer");
	return tap_done();
}

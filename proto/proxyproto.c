/* SPDX-License-Identifier: ISC */
/*
 * proxyproto.c - the PROXY protocol header, versions 1 and 2 (haproxy's
 * proxy-protocol.txt), parsed from the bytes a connection has sent so far.
 * Pure: no sockets, no allocation, no logging; session.c reads, this says
 * "more", "invalid" or "done".
 *
 * Version 1 is one line, "PROXY TCP4|TCP6 src dst sport dport" CRLF, or
 * "PROXY UNKNOWN" plus anything up to CRLF, at most 107 bytes.  Fields are
 * separated by exactly one space; addresses must be of the family the
 * protocol names; ports are decimal 0..65535 without leading zeroes.
 * Version 2 is a 12-byte signature, version 2 with command LOCAL or PROXY,
 * the family and transport, a 16-bit length and that many bytes: the
 * addresses (INET 12, INET6 36 bytes), then TLVs, which are checked to tile
 * the rest exactly and otherwise skipped.  LOCAL (health checks), and
 * PROXY with the UNSPEC or UNIX family, carry no address we can use: the
 * connection's own stays.  A PROXY over anything but TCP (DGRAM or an
 * unknown transport) is refused: postern speaks SMTP.
 *
 * Every check looks only at bytes up to some position and the checks run in
 * position order, so a header fed byte by byte gives the same answer, and
 * the same reason, as the whole of it at once.
 *
 * Public:
 *	proxyproto_parse	bytes so far -> MORE, INVALID (+ reason) or
 *				DONE (+ length, addresses).
 *	proxyproto_build	addresses -> a v1 or v2 header, for the
 *				backend (proxy.client_identity proxy_v1/v2).
 *
 * DIAGNOSTICS
 *	None logged.  INVALID carries a short static reason ("not a PROXY
 *	header", "v1 line too long", "v2 TLV overruns the header", ...) for
 *	the caller's log line.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "proto/proxyproto.h"

#define PP_V1_SIG	"PROXY "
#define PP_V1_SIGLEN	6
#define PP_V2_SIGLEN	12
#define PP_V2_HDRLEN	16
#define PP_V2_LOCAL	0x0
#define PP_V2_PROXY	0x1
#define PP_FAM_UNSPEC	0x0
#define PP_FAM_INET	0x1
#define PP_FAM_INET6	0x2
#define PP_FAM_UNIX	0x3
#define PP_TR_STREAM	0x1
#define PP_TR_DGRAM	0x2
#define PP_V2_INET_LEN	12
#define PP_V2_INET6_LEN	36

static const unsigned char proxyproto_v2_sig[PP_V2_SIGLEN] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

static enum proxyproto_status proxyproto_invalid(struct proxyproto_hdr *,
		    const char *);
static void	proxyproto_addr(struct sockaddr_storage *, socklen_t *, int,
		    const void *, unsigned);
static enum proxyproto_status proxyproto_v1(const unsigned char *, size_t,
		    struct proxyproto_hdr *);
static enum proxyproto_status proxyproto_v1_line(const unsigned char *,
		    size_t, struct proxyproto_hdr *);
static int	proxyproto_v1_fields(const unsigned char *, size_t,
		    const unsigned char **, size_t *, size_t);
static int	proxyproto_v1_addr(const unsigned char *, size_t, int,
		    unsigned char *);
static int	proxyproto_v1_port(const unsigned char *, size_t,
		    unsigned *);
static enum proxyproto_status proxyproto_v2(const unsigned char *, size_t,
		    struct proxyproto_hdr *);
static enum proxyproto_status proxyproto_v2_body(const unsigned char *,
		    size_t, unsigned, struct proxyproto_hdr *);
static int	proxyproto_raw(const struct sockaddr *, unsigned char *,
		    unsigned *);

enum proxyproto_status
proxyproto_parse(const void *buf, size_t len, struct proxyproto_hdr *h)
{
	const unsigned char	*b = buf;

	memset(h, 0, sizeof(*h));
	if (len == 0)
		return PROXYPROTO_MORE;
	if (b[0] == PP_V1_SIG[0]) {
		h->version = 1;
		return proxyproto_v1(b, len, h);
	}
	if (b[0] == proxyproto_v2_sig[0]) {
		h->version = 2;
		return proxyproto_v2(b, len, h);
	}
	return proxyproto_invalid(h, "not a PROXY header");
}

static enum proxyproto_status
proxyproto_invalid(struct proxyproto_hdr *h, const char *why)
{
	h->reason = why;
	h->len = 0;
	h->need = 0;
	return PROXYPROTO_INVALID;
}

/* A sockaddr from raw address bytes (network order) and a port; an
 * IPv4-mapped IPv6 address becomes AF_INET, as session_new does. */
static void
proxyproto_addr(struct sockaddr_storage *ss, socklen_t *lenp, int af,
    const void *addr, unsigned port)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	struct in6_addr		 a6;

	memset(ss, 0, sizeof(*ss));
	if (af == AF_INET6) {
		memcpy(&a6, addr, sizeof(a6));
		if (IN6_IS_ADDR_V4MAPPED(&a6)) {
			af = AF_INET;
			addr = (const unsigned char *)addr + 12;
		}
	}
	if (af == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		memcpy(&sin->sin_addr, addr, 4);
		*lenp = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		memcpy(&sin6->sin6_addr, addr, sizeof(sin6->sin6_addr));
		*lenp = sizeof(*sin6);
	}
}

/* Version 1: the signature, then printable bytes up to CRLF, bounded. */
static enum proxyproto_status
proxyproto_v1(const unsigned char *b, size_t len, struct proxyproto_hdr *h)
{
	size_t	 i;

	for (i = 0; i < PP_V1_SIGLEN && i < len; i++)
		if (b[i] != (unsigned char)PP_V1_SIG[i])
			return proxyproto_invalid(h, "not a PROXY header");
	/* the CR may be at PROXYPROTO_V1_MAX - 2 at the latest */
	for (; i < len && i < PROXYPROTO_V1_MAX - 1; i++) {
		if (b[i] == '\r')
			break;
		if (b[i] < 0x20 || b[i] > 0x7e)
			return proxyproto_invalid(h,
			    "control character in v1 line");
	}
	if (i == PROXYPROTO_V1_MAX - 1)
		return proxyproto_invalid(h, "v1 line too long");
	if (i + 1 >= len)
		return PROXYPROTO_MORE;
	if (b[i + 1] != '\n')
		return proxyproto_invalid(h, "v1 line: CR without LF");
	h->len = i + 2;
	return proxyproto_v1_line(b + PP_V1_SIGLEN, i - PP_V1_SIGLEN, h);
}

/* The line after "PROXY ", without CRLF. */
static enum proxyproto_status
proxyproto_v1_line(const unsigned char *b, size_t n, struct proxyproto_hdr *h)
{
	const unsigned char	*f[5];
	size_t			 fl[5];
	unsigned char		 src[16], dst[16];
	unsigned		 sport, dport;
	int			 af;

	if (n >= 7 && memcmp(b, "UNKNOWN", 7) == 0 && (n == 7 || b[7] == ' ')) {
		h->local = 1;	/* the rest of the line is to be ignored */
		return PROXYPROTO_DONE;
	}
	if (proxyproto_v1_fields(b, n, f, fl, 5) == -1)
		return proxyproto_invalid(h, "v1 line: bad field syntax");
	if (fl[0] == 4 && memcmp(f[0], "TCP4", 4) == 0)
		af = AF_INET;
	else if (fl[0] == 4 && memcmp(f[0], "TCP6", 4) == 0)
		af = AF_INET6;
	else
		return proxyproto_invalid(h, "v1 line: unknown protocol");
	if (proxyproto_v1_addr(f[1], fl[1], af, src) == -1)
		return proxyproto_invalid(h, "v1 line: bad source address");
	if (proxyproto_v1_addr(f[2], fl[2], af, dst) == -1)
		return proxyproto_invalid(h,
		    "v1 line: bad destination address");
	if (proxyproto_v1_port(f[3], fl[3], &sport) == -1)
		return proxyproto_invalid(h, "v1 line: bad source port");
	if (proxyproto_v1_port(f[4], fl[4], &dport) == -1)
		return proxyproto_invalid(h, "v1 line: bad destination port");
	proxyproto_addr(&h->src, &h->srclen, af, src, sport);
	proxyproto_addr(&h->dst, &h->dstlen, af, dst, dport);
	return PROXYPROTO_DONE;
}

/* Exactly nf non-empty fields separated by single spaces: 0, or -1. */
static int
proxyproto_v1_fields(const unsigned char *b, size_t n,
    const unsigned char **f, size_t *fl, size_t nf)
{
	size_t	 i, k = 0, start = 0;

	for (i = 0; i <= n; i++) {
		if (i < n && b[i] != ' ')
			continue;
		if (i == start || k == nf)
			return -1;
		f[k] = b + start;
		fl[k++] = i - start;
		start = i + 1;
	}
	return k == nf ? 0 : -1;
}

static int
proxyproto_v1_addr(const unsigned char *s, size_t n, int af,
    unsigned char *out)
{
	char	 buf[INET6_ADDRSTRLEN];

	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton(af, buf, out) == 1 ? 0 : -1;
}

static int
proxyproto_v1_port(const unsigned char *s, size_t n, unsigned *port)
{
	size_t	 i;

	if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
		return -1;
	*port = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*port = *port * 10 + (unsigned)(s[i] - '0');
	}
	return *port <= 65535 ? 0 : -1;
}

/* Version 2: signature, version and command, family, length, body. */
static enum proxyproto_status
proxyproto_v2(const unsigned char *b, size_t len, struct proxyproto_hdr *h)
{
	size_t		 i, total;
	unsigned	 cmd, fam, tr, alen;

	for (i = 0; i < PP_V2_SIGLEN && i < len; i++)
		if (b[i] != proxyproto_v2_sig[i])
			return proxyproto_invalid(h, "not a PROXY header");
	if (len <= 12)
		return PROXYPROTO_MORE;
	if (b[12] >> 4 != 2)
		return proxyproto_invalid(h, "v2: unsupported version");
	if ((cmd = b[12] & 0x0f) > PP_V2_PROXY)
		return proxyproto_invalid(h, "v2: unknown command");
	if (len <= 13)
		return PROXYPROTO_MORE;
	fam = b[13] >> 4;
	tr = b[13] & 0x0f;
	/* LOCAL: "the family is ignored" (the spec) */
	if (cmd == PP_V2_PROXY && fam > PP_FAM_UNIX)
		return proxyproto_invalid(h, "v2: unknown address family");
	if (cmd == PP_V2_PROXY && tr > PP_TR_DGRAM)
		return proxyproto_invalid(h, "v2: unknown transport");
	if (cmd == PP_V2_PROXY && (fam == PP_FAM_INET ||
	    fam == PP_FAM_INET6) && tr != PP_TR_STREAM)
		return proxyproto_invalid(h, "v2: transport is not TCP");
	if (len < PP_V2_HDRLEN)
		return PROXYPROTO_MORE;
	alen = (unsigned)b[14] << 8 | b[15];
	if (cmd == PP_V2_PROXY && ((fam == PP_FAM_INET &&
	    alen < PP_V2_INET_LEN) || (fam == PP_FAM_INET6 &&
	    alen < PP_V2_INET6_LEN)))
		return proxyproto_invalid(h, "v2: address block too short");
	total = PP_V2_HDRLEN + (size_t)alen;
	if (len < total) {
		h->need = total;
		return PROXYPROTO_MORE;
	}
	h->len = total;
	if (cmd == PP_V2_LOCAL || (fam != PP_FAM_INET &&
	    fam != PP_FAM_INET6)) {
		h->local = 1;
		return PROXYPROTO_DONE;
	}
	return proxyproto_v2_body(b + PP_V2_HDRLEN, alen, fam, h);
}

/* The addresses of a PROXY over TCP, then TLVs that must tile the rest. */
static enum proxyproto_status
proxyproto_v2_body(const unsigned char *b, size_t alen, unsigned fam,
    struct proxyproto_hdr *h)
{
	size_t		 off, tlen;
	unsigned	 sport, dport;

	if (fam == PP_FAM_INET) {
		sport = (unsigned)b[8] << 8 | b[9];
		dport = (unsigned)b[10] << 8 | b[11];
		proxyproto_addr(&h->src, &h->srclen, AF_INET, b, sport);
		proxyproto_addr(&h->dst, &h->dstlen, AF_INET, b + 4, dport);
		off = PP_V2_INET_LEN;
	} else {
		sport = (unsigned)b[32] << 8 | b[33];
		dport = (unsigned)b[34] << 8 | b[35];
		proxyproto_addr(&h->src, &h->srclen, AF_INET6, b, sport);
		proxyproto_addr(&h->dst, &h->dstlen, AF_INET6, b + 16,
		    dport);
		off = PP_V2_INET6_LEN;
	}
	while (off < alen) {
		if (alen - off < 3)
			return proxyproto_invalid(h, "v2: truncated TLV");
		tlen = (size_t)b[off + 1] << 8 | b[off + 2];
		if (tlen > alen - off - 3)
			return proxyproto_invalid(h,
			    "v2: TLV overruns the header");
		off += 3 + tlen;
	}
	return PROXYPROTO_DONE;
}

/*
 * One address for the builder: sa as AF_INET or AF_INET6 (an IPv4-mapped
 * IPv6 address as AF_INET); raw bytes into addr, port in host order.
 * Returns the family, or AF_UNSPEC for anything else.
 */
static int
proxyproto_raw(const struct sockaddr *sa, unsigned char *addr,
    unsigned *port)
{
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)sa;

	if (sa->sa_family == AF_INET) {
		memcpy(addr, &sin->sin_addr, 4);
		*port = ntohs(sin->sin_port);
		return AF_INET;
	}
	if (sa->sa_family != AF_INET6)
		return AF_UNSPEC;
	*port = ntohs(sin6->sin6_port);
	if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		memcpy(addr, &sin6->sin6_addr.s6_addr[12], 4);
		return AF_INET;
	}
	memcpy(addr, &sin6->sin6_addr, 16);
	return AF_INET6;
}

int
proxyproto_build(int version, const struct sockaddr *src,
    const struct sockaddr *dst, void *out, size_t outsz)
{
	unsigned char	 sa[16], da[16], *o = out;
	char		 st[INET6_ADDRSTRLEN], dt[INET6_ADDRSTRLEN];
	unsigned	 sp, dp = 0, alen;
	int		 af, n;

	if ((af = proxyproto_raw(src, sa, &sp)) == AF_UNSPEC)
		return -1;
	if (proxyproto_raw(dst, da, &dp) != af)	/* "unknown": unspecified */
		memset(da, 0, sizeof(da));
	alen = af == AF_INET ? 4 : 16;
	if (version == 1) {
		inet_ntop(af, sa, st, sizeof(st));
		inet_ntop(af, da, dt, sizeof(dt));
		n = snprintf(out, outsz, "PROXY %s %s %s %u %u\r\n",
		    af == AF_INET ? "TCP4" : "TCP6", st, dt, sp, dp);
		return n < 0 || (size_t)n >= outsz ? -1 : n;
	}
	if (outsz < PP_V2_HDRLEN + 2 * alen + 4)
		return -1;
	memcpy(o, proxyproto_v2_sig, PP_V2_SIGLEN);
	o[12] = 0x20 | PP_V2_PROXY;
	o[13] = (af == AF_INET ? PP_FAM_INET : PP_FAM_INET6) << 4 |
	    PP_TR_STREAM;
	o[14] = 0;
	o[15] = (unsigned char)(2 * alen + 4);
	memcpy(o + 16, sa, alen);
	memcpy(o + 16 + alen, da, alen);
	o += 16 + 2 * alen;
	o[0] = (unsigned char)(sp >> 8);
	o[1] = (unsigned char)sp;
	o[2] = (unsigned char)(dp >> 8);
	o[3] = (unsigned char)dp;
	return (int)(PP_V2_HDRLEN + 2 * alen + 4);
}

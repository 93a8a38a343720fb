/* SPDX-License-Identifier: ISC */
/*
 * proxyproto.h - the PROXY protocol header (haproxy's proxy-protocol.txt,
 * version 1 text and version 2 binary) that a load balancer sends before
 * the client's first byte: a pure parser over the bytes received so far.
 */
#ifndef POSTERN_PROXYPROTO_H
#define POSTERN_PROXYPROTO_H

#include <sys/socket.h>

#include <stddef.h>

#define PROXYPROTO_V1_MAX	107		/* v1 line, CRLF included */
#define PROXYPROTO_V2_MAX	(16 + 65535)	/* v2 fixed part + length */
#define PROXYPROTO_MAX		PROXYPROTO_V2_MAX
#define PROXYPROTO_OUT_MAX	(PROXYPROTO_V1_MAX + 1)	/* we build, NUL too */

enum proxyproto_status {
	PROXYPROTO_MORE,	/* a valid beginning: wait for more bytes */
	PROXYPROTO_INVALID,	/* not a valid header: close */
	PROXYPROTO_DONE,	/* a whole valid header */
};

struct proxyproto_hdr {
	int		 version;	/* 1 or 2, once known */
	int		 local;		/* DONE: no address given (v1 UNKNOWN,
					   v2 LOCAL, v2 UNSPEC/UNIX family):
					   keep the connection's own */
	struct sockaddr_storage src;	/* DONE, !local: the client */
	socklen_t	 srclen;
	struct sockaddr_storage dst;	/* DONE, !local: where it went */
	socklen_t	 dstlen;
	size_t		 len;		/* DONE: header bytes, to consume */
	size_t		 need;		/* MORE: total bytes needed, when the
					   header says (v2); else 0 */
	const char	*reason;	/* INVALID: why, a static string */
};

/*
 * proxyproto_parse - look at buf[0..len), the first bytes of a connection.
 * MORE: a valid beginning of a header, not all of it (h->need, when not 0,
 * is how many bytes the whole header takes); INVALID: h->reason says why;
 * DONE: h->len bytes are the header (what follows is the client's), and
 * unless h->local, h->src and h->dst are the addresses it carries (an
 * IPv4-mapped IPv6 address is returned as AF_INET).  Bytes are judged in
 * order, so the answer does not depend on how they were split across
 * reads: once some prefix gives INVALID or DONE, every longer input gives
 * the same answer.  Never reads past buf + len, never allocates; h is
 * always filled in.
 */
enum proxyproto_status proxyproto_parse(const void *buf, size_t len,
		    struct proxyproto_hdr *h);

/*
 * proxyproto_build - the header a balancer would send for a connection
 * from src to dst: version 1 ("PROXY TCP4|TCP6 ...") or 2 (PROXY command,
 * STREAM), into out[0..outsz); PROXYPROTO_OUT_MAX bytes always suffice.
 * An IPv4-mapped address counts as IPv4; a dst of another family than src
 * is sent as the unspecified address with its port.  Returns the header's
 * length (v1 is not NUL-terminated for the count), or -1 when src is
 * neither IPv4 nor IPv6 or outsz is too small.  Pure: src, dst borrowed.
 */
int		 proxyproto_build(int version, const struct sockaddr *src,
		    const struct sockaddr *dst, void *out, size_t outsz);

#endif

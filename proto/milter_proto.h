/* SPDX-License-Identifier: ISC */
/*
 * milter_proto.h - the milter wire protocol (version 6, as Sendmail's
 * libmilter and Postfix speak it; constants from libmilter's mfdef.h), for
 * postern as the MTA side calling external milters: encoding the commands
 * it sends and decoding, strictly, the replies a milter sends back.  Pure:
 * bytes in, bytes out; no sockets.
 *
 * A packet is a 4-byte network-order length (of what follows), a command
 * byte, and the command's data.
 */
#ifndef POSTERN_MILTER_PROTO_H
#define POSTERN_MILTER_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct util_buf;

#define MILTER_PROTO_VERSION	6
#define MILTER_PROTO_MAX	(1024 * 1024)	/* largest packet taken */

enum milter_proto_status {
	MILTER_PROTO_MORE,	/* not a whole packet yet */
	MILTER_PROTO_OK,
	MILTER_PROTO_INVALID,	/* why is set; the stream is unusable */
};

/* A decoded reply.  Pointers are into the caller's buffer (valid while
 * it is); strings are NUL-terminated there. */
struct milter_reply {
	char		 cmd;		/* SMFIR_* */
	uint32_t	 version;	/* OPTNEG */
	uint32_t	 actions;	/* OPTNEG: SMFIF_* */
	uint32_t	 protocol;	/* OPTNEG: SMFIP_* */
	const char	*text;		/* REPLYCODE (the whole reply, CRLF
					   between lines), QUARANTINE reason,
					   CHGFROM/ADDRCPT/DELRCPT address */
	const char	*args;		/* CHGFROM, ADDRCPT_PAR: ESMTP args or
					   NULL */
	uint32_t	 index;		/* INSHEADER position, CHGHEADER
					   occurrence (1-based) */
	const char	*name;		/* ADD/INS/CHGHEADER */
	const char	*value;		/* ADD/INS/CHGHEADER ("" deletes, for
					   CHGHEADER) */
	const unsigned char *data;	/* REPLBODY chunk */
	size_t		 len;
	char		 why[96];	/* INVALID: what is wrong */
};

/*
 * milter_proto_frame - the first packet of buf (len bytes): its command,
 * data and data length, and the bytes it takes (*used).  MORE when it is
 * not all there; INVALID (why, whysz) for an empty packet or one over
 * MILTER_PROTO_MAX.
 */
enum milter_proto_status milter_proto_frame(const unsigned char *buf,
		    size_t len, char *cmd, const unsigned char **data,
		    size_t *dlen, size_t *used, char *why, size_t whysz);

/*
 * milter_proto_reply - the first reply of buf, decoded and checked into r
 * (every string NUL-terminated inside the packet, header names without
 * blanks, colons or control characters, reply codes 4xx/5xx with one code
 * on every line).  *used as for milter_proto_frame; buf must be writable
 * for nothing: it is only read.
 */
enum milter_proto_status milter_proto_reply(const unsigned char *buf,
		    size_t len, size_t *used, struct milter_reply *r);

/* The commands postern sends (out grows; the data are copied). */
void	milter_proto_command(struct util_buf *out, char cmd, const void *data,
	    size_t len);
/* OPTNEG: our version, the actions we allow, the protocol steps we can
 * leave out. */
void	milter_proto_optneg(struct util_buf *out, uint32_t version,
	    uint32_t actions, uint32_t protocol);
/* A command whose data are n NUL-terminated strings (HELO, MAIL and RCPT
 * with their arguments, HEADER name and value, QUIT has none). */
void	milter_proto_strings(struct util_buf *out, char cmd,
	    const char *const *s, size_t n);
/* CONNECT: host name, then family '4'/'6' (or 'U' unknown), port and
 * address text from sa (NULL: unknown). */
void	milter_proto_connect(struct util_buf *out, const char *hostname,
	    const struct sockaddr *sa);
/* MACRO for the command stage cmd: n name/value pairs ("{i}", "j", ...). */
void	milter_proto_macros(struct util_buf *out, char stage,
	    const char *const *names, const char *const *values, size_t n);

#endif

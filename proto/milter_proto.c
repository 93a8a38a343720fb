/* SPDX-License-Identifier: ISC */
/*
 * milter_proto.c - the milter wire protocol, MTA side (see milter_proto.h):
 * framing, the commands postern sends, and a strict decoder for the replies
 * milters send.  A milter is another program, maybe misbehaving: every
 * length is checked against the packet, every string must end inside it,
 * header names must be header names, reply texts one reply code.
 *
 * Public: milter_proto_frame, milter_proto_reply, milter_proto_command,
 * milter_proto_optneg, milter_proto_strings, milter_proto_connect,
 * milter_proto_macros.
 *
 * DIAGNOSTICS
 *	milter_proto_frame/_reply say what is wrong in why/r->why
 *	("packet of 0 bytes", "reply 'y': 200 is not a 4xx/5xx code", ...).
 */
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <libmilter/mfdef.h>

#include "lib/util.h"
#include "proto/milter_proto.h"
#include "proto/rfc5322.h"

static const char *milter_proto_str(const unsigned char **, size_t *);
static int	milter_proto_u32(const unsigned char **, size_t *, uint32_t *);
static int	milter_proto_hdrname(const char *);
static int	milter_proto_hdrvalue(const char *);
static int	milter_proto_replytext(const char *);

enum milter_proto_status
milter_proto_frame(const unsigned char *buf, size_t len, char *cmd,
    const unsigned char **data, size_t *dlen, size_t *used, char *why,
    size_t whysz)
{
	uint32_t	 n;

	if (len < MILTER_LEN_BYTES + 1)
		return MILTER_PROTO_MORE;
	n = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
	    (uint32_t)buf[2] << 8 | buf[3];
	if (n == 0 || n > MILTER_PROTO_MAX) {
		snprintf(why, whysz, "packet of %u bytes", n);
		return MILTER_PROTO_INVALID;
	}
	if (len - MILTER_LEN_BYTES < n)
		return MILTER_PROTO_MORE;
	*cmd = (char)buf[MILTER_LEN_BYTES];
	*data = buf + MILTER_LEN_BYTES + 1;
	*dlen = n - 1;
	*used = MILTER_LEN_BYTES + (size_t)n;
	return MILTER_PROTO_OK;
}

/* The next NUL-terminated string of *p (*left bytes), or NULL. */
static const char *
milter_proto_str(const unsigned char **p, size_t *left)
{
	const unsigned char	*nul = memchr(*p, '\0', *left);
	const char		*s = (const char *)*p;

	if (nul == NULL)
		return NULL;
	*left -= (size_t)(nul - *p) + 1;
	*p = nul + 1;
	return s;
}

static int
milter_proto_u32(const unsigned char **p, size_t *left, uint32_t *v)
{
	if (*left < 4)
		return -1;
	*v = (uint32_t)(*p)[0] << 24 | (uint32_t)(*p)[1] << 16 |
	    (uint32_t)(*p)[2] << 8 | (*p)[3];
	*p += 4;
	*left -= 4;
	return 0;
}

/* RFC 5322 2.2 field names, within a line's length. */
static int
milter_proto_hdrname(const char *s)
{
	size_t	 len = strlen(s);

	return len <= 998 && rfc5322_name_ok(s, len);
}

/* A value: no NUL (given), CR or LF only as a fold (line end then a blank;
 * libmilter writes folds as LF or CRLF). */
static int
milter_proto_hdrvalue(const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\r' && s[1] == '\n')
			s++;
		if ((*s == '\n' && s[1] != ' ' && s[1] != '\t') || *s == '\r')
			return 0;
	}
	return 1;
}

/* "4xx/5xx text", maybe several lines "550-5.7.1 a\r\n550 5.7.1 b": every
 * line starts with the same code, then ' ' or '-' (the last: ' ');
 * printable otherwise. */
static int
milter_proto_replytext(const char *s)
{
	const char	*line = s;
	size_t		 i;

	if ((s[0] != '4' && s[0] != '5') || !isdigit((unsigned char)s[1]) ||
	    !isdigit((unsigned char)s[2]))
		return 0;
	for (;;) {
		if (strncmp(line, s, 3) != 0 || (line[3] != ' ' &&
		    line[3] != '-' && line[3] != '\0'))
			return 0;
		for (i = 3; line[i] != '\0' && line[i] != '\r'; i++)
			if ((unsigned char)line[i] < ' ' ||
			    (unsigned char)line[i] == 0x7f)
				return 0;
		if (line[i] == '\0')
			return line[3] != '-';
		if (line[i + 1] != '\n' || line[3] != '-')
			return 0;
		line += i + 2;
	}
}

enum milter_proto_status
milter_proto_reply(const unsigned char *buf, size_t len, size_t *used,
    struct milter_reply *r)
{
	enum milter_proto_status st;
	const unsigned char	*p;
	size_t			 left;
	char			 cmd;
	int			 bad = 0;

	memset(r, 0, sizeof(*r));
	st = milter_proto_frame(buf, len, &cmd, &p, &left, used, r->why,
	    sizeof(r->why));
	if (st != MILTER_PROTO_OK)
		return st;
	r->cmd = cmd;
	switch (cmd) {
	case SMFIR_CONTINUE:
	case SMFIR_ACCEPT:
	case SMFIR_REJECT:
	case SMFIR_TEMPFAIL:
	case SMFIR_DISCARD:
	case SMFIR_SKIP:
	case SMFIR_PROGRESS:
	case SMFIR_CONN_FAIL:
	case SMFIR_SHUTDOWN:
		bad = left != 0;
		break;
	case SMFIC_OPTNEG:	/* the reply to OPTNEG has the same code */
		/* (macro lists may follow: not used) */
		bad = milter_proto_u32(&p, &left, &r->version) == -1 ||
		    milter_proto_u32(&p, &left, &r->actions) == -1 ||
		    milter_proto_u32(&p, &left, &r->protocol) == -1;
		break;
	case SMFIR_REPLYCODE:
		bad = (r->text = milter_proto_str(&p, &left)) == NULL ||
		    left != 0 || !milter_proto_replytext(r->text);
		break;
	case SMFIR_QUARANTINE:
	case SMFIR_ADDRCPT:
	case SMFIR_DELRCPT:
		bad = (r->text = milter_proto_str(&p, &left)) == NULL ||
		    left != 0;
		break;
	case SMFIR_CHGFROM:
	case SMFIR_ADDRCPT_PAR:
		bad = (r->text = milter_proto_str(&p, &left)) == NULL ||
		    (left > 0 && ((r->args = milter_proto_str(&p, &left)) ==
		    NULL || left != 0));
		break;
	case SMFIR_INSHEADER:
	case SMFIR_CHGHEADER:
		bad = milter_proto_u32(&p, &left, &r->index) == -1;
		/* FALLTHROUGH */
	case SMFIR_ADDHEADER:
		bad = bad || (r->name = milter_proto_str(&p, &left)) == NULL ||
		    (r->value = milter_proto_str(&p, &left)) == NULL ||
		    left != 0 || !milter_proto_hdrname(r->name) ||
		    !milter_proto_hdrvalue(r->value);
		break;
	case SMFIR_REPLBODY:
		r->data = p;
		r->len = left;
		break;
	default:
		snprintf(r->why, sizeof(r->why), "unknown reply 0x%02x",
		    (unsigned char)cmd);
		return MILTER_PROTO_INVALID;
	}
	if (bad) {
		snprintf(r->why, sizeof(r->why), "malformed reply '%c' (%zu "
		    "bytes)", cmd, *used - MILTER_LEN_BYTES - 1);
		return MILTER_PROTO_INVALID;
	}
	return MILTER_PROTO_OK;
}

void
milter_proto_command(struct util_buf *out, char cmd, const void *data,
    size_t len)
{
	uint32_t	 n = htonl((uint32_t)len + 1);

	util_buf_add(out, &n, sizeof(n));
	util_buf_add(out, &cmd, 1);
	util_buf_add(out, data, len);
}

void
milter_proto_optneg(struct util_buf *out, uint32_t version, uint32_t actions,
    uint32_t protocol)
{
	uint32_t	 v[3] = { htonl(version), htonl(actions),
			    htonl(protocol) };

	milter_proto_command(out, SMFIC_OPTNEG, v, sizeof(v));
}

void
milter_proto_strings(struct util_buf *out, char cmd, const char *const *s,
    size_t n)
{
	struct util_buf	 data = { NULL, 0, 0 };
	size_t		 i;

	for (i = 0; i < n; i++)
		util_buf_add(&data, s[i], strlen(s[i]) + 1);
	milter_proto_command(out, cmd, data.p,
	    data.len);
	util_buf_free(&data);
}

void
milter_proto_connect(struct util_buf *out, const char *hostname,
    const struct sockaddr *sa)
{
	struct util_buf		 data = { NULL, 0, 0 };
	const struct sockaddr_in *sin = (const void *)sa;
	const struct sockaddr_in6 *sin6 = (const void *)sa;
	char			 addr[INET6_ADDRSTRLEN] = "", fam = 'U';
	uint16_t		 port = 0;

	if (sa != NULL && sa->sa_family == AF_INET) {
		fam = '4';
		port = sin->sin_port;
		inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof(addr));
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		fam = '6';
		port = sin6->sin6_port;
		inet_ntop(AF_INET6, &sin6->sin6_addr, addr, sizeof(addr));
	}
	util_buf_add(&data, hostname, strlen(hostname) + 1);
	util_buf_add(&data, &fam, 1);
	if (fam != 'U') {
		util_buf_add(&data, &port, sizeof(port));	/* network order */
		util_buf_add(&data, addr, strlen(addr) + 1);
	}
	milter_proto_command(out, SMFIC_CONNECT, data.p,
	    data.len);
	util_buf_free(&data);
}

void
milter_proto_macros(struct util_buf *out, char stage,
    const char *const *names, const char *const *values, size_t n)
{
	struct util_buf	 data = { NULL, 0, 0 };
	size_t		 i;

	util_buf_add(&data, &stage, 1);
	for (i = 0; i < n; i++) {
		util_buf_add(&data, names[i], strlen(names[i]) + 1);
		util_buf_add(&data, values[i], strlen(values[i]) + 1);
	}
	milter_proto_command(out, SMFIC_MACRO, data.p,
	    data.len);
	util_buf_free(&data);
}

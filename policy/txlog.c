/* SPDX-License-Identifier: ISC */
/*
 * txlog.c - formats the per-transaction log line (see txlog.h).  Values
 * from peers are escaped: quoted and backslash-escaped in plain form,
 * JSON-escaped in JSON form, so a hostile HELO or address cannot forge
 * log fields or lines.
 *
 * One table of fields feeds both forms.
 *
 * Public: txlog_format, txlog_write.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "lib/log.h"
#include "lib/util.h"
#include "policy/txlog.h"

struct txlog_buf {
	char		*p;
	size_t		 len, cap;
};

/*
 * The fields in the order written.  WORD values are bare in the plain
 * form (they hold no blank or quote) and quoted in JSON; TEXT values are
 * quoted in both; NUM values are bare numbers; RCPTS is the recipient list
 * (a comma-separated list of quoted strings, a JSON array); NRCPT their
 * count, in the plain form only.  An OPTIONAL field is left out when NULL.
 */
enum txlog_kind { TXLOG_WORD, TXLOG_TEXT, TXLOG_NUM, TXLOG_RCPTS, TXLOG_NRCPT };

#define TXLOG_OPTIONAL	0x1

struct txlog_field {
	const char	*name;
	enum txlog_kind	 kind;
	size_t		 off;
	int		 flags;
};

#define TXLOG_F(name, member, kind, flags) \
	{ name, kind, offsetof(struct txlog, member), flags }

static const struct txlog_field txlog_fields[] = {
	TXLOG_F("client", client, TXLOG_WORD, 0),
	TXLOG_F("client_name", client_name, TXLOG_TEXT, TXLOG_OPTIONAL),
	TXLOG_F("helo", helo, TXLOG_TEXT, 0),
	TXLOG_F("from", from, TXLOG_TEXT, 0),
	TXLOG_F("rcpts", rcpts, TXLOG_RCPTS, 0),
	TXLOG_F("nrcpt", nrcpts, TXLOG_NRCPT, 0),
	TXLOG_F("size", size, TXLOG_NUM, 0),
	TXLOG_F("filters", filters, TXLOG_TEXT, 0),
	TXLOG_F("action", action, TXLOG_WORD, 0),
	TXLOG_F("reply", reply, TXLOG_TEXT, 0),
	TXLOG_F("ms", ms, TXLOG_NUM, 0),
	TXLOG_F("backend", backend, TXLOG_WORD, TXLOG_OPTIONAL),
	TXLOG_F("qid", qid, TXLOG_TEXT, TXLOG_OPTIONAL),
};

static void	txlog_put(struct txlog_buf *, const char *, size_t);
static void	txlog_puts(struct txlog_buf *, const char *);
static void	txlog_quoted(struct txlog_buf *, const char *);
static void	txlog_field(const struct txlog *, const struct txlog_field *,
		    int, struct txlog_buf *);
static void	txlog_rcpts(const struct txlog *, int, struct txlog_buf *);
static uint64_t	txlog_num(const char *);

static void
txlog_put(struct txlog_buf *b, const char *s, size_t n)
{
	if (b->cap == 0)
		return;
	if (n > b->cap - 1 - b->len)
		n = b->cap - 1 - b->len;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
txlog_puts(struct txlog_buf *b, const char *s)
{
	txlog_put(b, s, strlen(s));
}

/* A JSON string literal; also the quoted form of plain values. */
static void
txlog_quoted(struct txlog_buf *b, const char *s)
{
	char		 esc[8];
	unsigned char	 c;

	txlog_put(b, "\"", 1);
	for (; s != NULL && *s != '\0'; s++) {
		c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			txlog_put(b, esc, 2);
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			txlog_puts(b, esc);
		} else
			txlog_put(b, s, 1);
	}
	txlog_put(b, "\"", 1);
}

/* One field, " name=value" or ",\"name\":value". */
static void
txlog_field(const struct txlog *t, const struct txlog_field *f, int json,
    struct txlog_buf *b)
{
	const char	*at = (const char *)t + f->off, *v = NULL;
	char		 num[32];

	if (f->kind == TXLOG_NRCPT && json)
		return;
	if (f->kind == TXLOG_WORD || f->kind == TXLOG_TEXT) {
		memcpy(&v, at, sizeof(v));
		if (v == NULL && (f->flags & TXLOG_OPTIONAL))
			return;
	}
	txlog_puts(b, json ? ",\"" : " ");
	txlog_puts(b, f->name);
	txlog_puts(b, json ? "\":" : "=");
	switch (f->kind) {
	case TXLOG_WORD:
		if (json)
			txlog_quoted(b, v);
		else
			txlog_puts(b, v);
		break;
	case TXLOG_TEXT:
		txlog_quoted(b, v);
		break;
	case TXLOG_NUM:
		snprintf(num, sizeof(num), "%llu",
		    (unsigned long long)txlog_num(at));
		txlog_puts(b, num);
		break;
	case TXLOG_NRCPT:
		snprintf(num, sizeof(num), "%zu", t->nrcpts);
		txlog_puts(b, num);
		break;
	case TXLOG_RCPTS:
		txlog_rcpts(t, json, b);
		break;
	}
}

static uint64_t
txlog_num(const char *at)
{
	uint64_t	 n;

	memcpy(&n, at, sizeof(n));
	return n;
}

static void
txlog_rcpts(const struct txlog *t, int json, struct txlog_buf *b)
{
	size_t	 i;

	if (json)
		txlog_puts(b, "[");
	for (i = 0; i < t->nrcpts; i++) {
		if (i > 0)
			txlog_puts(b, ",");
		txlog_quoted(b, t->rcpts[i]);
	}
	if (json)
		txlog_puts(b, "]");
}

void
txlog_format(const struct txlog *t, enum conf_log_format fmt, char *buf,
    size_t bufsz)
{
	struct txlog_buf	 b = { buf, 0, bufsz };
	int			 json = fmt == CONF_LOG_JSON;
	size_t			 i;

	if (bufsz > 0)
		buf[0] = '\0';
	if (json) {
		txlog_puts(&b, "{\"sid\":");
		txlog_quoted(&b, t->sid);
	} else {
		txlog_puts(&b, t->sid);
		txlog_puts(&b, " tx");
	}
	for (i = 0; i < nitems(txlog_fields); i++)
		txlog_field(t, &txlog_fields[i], json, &b);
	if (json)
		txlog_puts(&b, "}");
}

void
txlog_write(const struct txlog *t, enum conf_log_format fmt)
{
	char	 line[65536];

	if (!log_enabled(LOG_LEVEL_INFO))
		return;
	txlog_format(t, fmt, line, sizeof(line));
	log_info("%s", line);
}

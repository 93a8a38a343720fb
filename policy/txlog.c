/* SPDX-License-Identifier: ISC */
/*
 * txlog.c - formats the per-transaction log line (see txlog.h).  Values
 * from peers are escaped: quoted and backslash-escaped in plain form,
 * JSON-escaped in JSON form (lib/json.c: control bytes and bytes that are
 * not UTF-8 too), so a hostile HELO or address cannot forge log fields or
 * lines.
 *
 * One table of fields feeds both forms.  The JSON form is the members of
 * one object (log_object adds "time" and "level"): "filters" an object of
 * each filter's result, and the recipients cut, with "rcpts_truncated":
 * true, where the line would pass TXLOG_JSON_MAX, so that it stays one
 * valid object whatever the envelope.
 *
 * Public: txlog_format, txlog_json, txlog_write.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "lib/json.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/util.h"
#include "policy/txlog.h"

/* A JSON line at most this long: the recipients are cut before it. */
#define TXLOG_JSON_MAX		(60 * 1024)
/* What the other fields can take at most, escaped (bounded by the limits
 * on HELO, paths, replies and filter results). */
#define TXLOG_JSON_RESERVE	(24 * 1024)

struct txlog_buf {
	char		*p;
	size_t		 len, cap;
};

/*
 * The fields in the order written.  WORD values are bare in the plain
 * form (they hold no blank or quote) and quoted in JSON; TEXT values are
 * quoted in both; NUM values are bare numbers; RCPTS is the recipient list
 * (a comma-separated list of quoted strings, a JSON array); NRCPT their
 * count; FILTERS the results (quoted text, a JSON object).  An OPTIONAL
 * field is left out when NULL.
 */
enum txlog_kind { TXLOG_WORD, TXLOG_TEXT, TXLOG_NUM, TXLOG_RCPTS, TXLOG_NRCPT,
	TXLOG_FILTERS };

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
	TXLOG_F("filters", filters, TXLOG_FILTERS, 0),
	TXLOG_F("action", action, TXLOG_WORD, 0),
	TXLOG_F("reply", reply, TXLOG_TEXT, 0),
	TXLOG_F("ms", ms, TXLOG_NUM, 0),
	TXLOG_F("backend", backend, TXLOG_WORD, TXLOG_OPTIONAL),
	TXLOG_F("qid", qid, TXLOG_TEXT, TXLOG_OPTIONAL),
};

static void	txlog_put(struct txlog_buf *, const char *, size_t);
static void	txlog_puts(struct txlog_buf *, const char *);
static void	txlog_quoted(struct txlog_buf *, const char *);
static const char *txlog_str(const struct txlog *,
		    const struct txlog_field *);
static void	txlog_field(const struct txlog *, const struct txlog_field *,
		    struct txlog_buf *);
static void	txlog_rcpts(const struct txlog *, struct txlog_buf *);
static void	txlog_json_field(const struct txlog *,
		    const struct txlog_field *, struct util_buf *);
static void	txlog_json_filters(const struct txlog *, struct util_buf *);
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

/* The string a WORD, TEXT or FILTERS field points at; NULL for others. */
static const char *
txlog_str(const struct txlog *t, const struct txlog_field *f)
{
	const char	*v = NULL;

	if (f->kind == TXLOG_WORD || f->kind == TXLOG_TEXT ||
	    f->kind == TXLOG_FILTERS)
		memcpy(&v, (const char *)t + f->off, sizeof(v));
	return v;
}

/* One field, " name=value". */
static void
txlog_field(const struct txlog *t, const struct txlog_field *f,
    struct txlog_buf *b)
{
	const char	*at = (const char *)t + f->off, *v = txlog_str(t, f);
	char		 num[32];

	if (v == NULL && (f->flags & TXLOG_OPTIONAL))
		return;
	txlog_puts(b, " ");
	txlog_puts(b, f->name);
	txlog_puts(b, "=");
	switch (f->kind) {
	case TXLOG_WORD:
		txlog_puts(b, v);
		break;
	case TXLOG_TEXT:
	case TXLOG_FILTERS:
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
		txlog_rcpts(t, b);
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
txlog_rcpts(const struct txlog *t, struct txlog_buf *b)
{
	size_t	 i;

	for (i = 0; i < t->nrcpts; i++) {
		if (i > 0)
			txlog_puts(b, ",");
		txlog_quoted(b, t->rcpts[i]);
	}
}

void
txlog_format(const struct txlog *t, char *buf, size_t bufsz)
{
	struct txlog_buf	 b = { buf, 0, bufsz };
	size_t			 i;

	if (bufsz > 0)
		buf[0] = '\0';
	txlog_puts(&b, t->sid);
	txlog_puts(&b, " tx");
	for (i = 0; i < nitems(txlog_fields); i++)
		txlog_field(t, &txlog_fields[i], &b);
}

void
txlog_json(const struct txlog *t, struct util_buf *m)
{
	size_t	 i;

	json_member(m, "sid", 1);
	json_string(m, t->sid, strlen(t->sid));
	json_member(m, "event", 0);
	util_buf_puts(m, "\"tx\"");
	for (i = 0; i < nitems(txlog_fields); i++)
		txlog_json_field(t, &txlog_fields[i], m);
}

/* One field, ",\"name\":value"; the recipients as many as fit. */
static void
txlog_json_field(const struct txlog *t, const struct txlog_field *f,
    struct util_buf *m)
{
	const char	*v = txlog_str(t, f);
	char		 num[32];
	size_t		 i;

	if (v == NULL && (f->flags & TXLOG_OPTIONAL))
		return;
	json_member(m, f->name, 0);
	switch (f->kind) {
	case TXLOG_WORD:
	case TXLOG_TEXT:
		json_string(m, v, strlen(v));
		break;
	case TXLOG_FILTERS:
		txlog_json_filters(t, m);
		break;
	case TXLOG_NUM:
		snprintf(num, sizeof(num), "%llu", (unsigned long long)
		    txlog_num((const char *)t + f->off));
		util_buf_puts(m, num);
		break;
	case TXLOG_NRCPT:
		snprintf(num, sizeof(num), "%zu", t->nrcpts);
		util_buf_puts(m, num);
		break;
	case TXLOG_RCPTS:
		util_buf_puts(m, "[");
		for (i = 0; i < t->nrcpts && m->len < TXLOG_JSON_MAX -
		    TXLOG_JSON_RESERVE; i++) {
			if (i > 0)
				util_buf_puts(m, ",");
			json_string(m, t->rcpts[i], strlen(t->rcpts[i]));
		}
		util_buf_puts(m, "]");
		if (i < t->nrcpts) {
			json_member(m, "rcpts_truncated", 0);
			util_buf_puts(m, "true");
		}
		break;
	}
}

/* {"spf":{"result":"pass","text":"pass"},...}: each filter's result, its
 * first word as "result". */
static void
txlog_json_filters(const struct txlog *t, struct util_buf *m)
{
	char	 word[32];
	size_t	 i;

	util_buf_puts(m, "{");
	for (i = 0; i < t->nresults; i++) {
		json_member(m, t->results[i].filter, i == 0);
		metric_word(t->results[i].text, word, sizeof(word));
		util_buf_puts(m, "{");
		json_member(m, "result", 1);
		json_string(m, word, strlen(word));
		json_member(m, "text", 0);
		json_string(m, t->results[i].text,
		    strlen(t->results[i].text));
		util_buf_puts(m, "}");
	}
	util_buf_puts(m, "}");
}

void
txlog_write(const struct txlog *t, enum conf_log_format fmt)
{
	struct util_buf	 m = { NULL, 0, 0 };
	char		 line[65536];

	if (!log_enabled(LOG_LEVEL_INFO))
		return;
	if (fmt == CONF_LOG_JSON) {
		txlog_json(t, &m);
		log_object(LOG_LEVEL_INFO, (const char *)m.p, m.len);
		util_buf_free(&m);
		return;
	}
	txlog_format(t, line, sizeof(line));
	log_info("%s", line);
}

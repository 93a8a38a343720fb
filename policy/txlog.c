/* SPDX-License-Identifier: ISC */
/*
 * txlog.c - formats the per-transaction log line (see txlog.h).  Values
 * from peers are escaped: quoted and backslash-escaped in plain form,
 * JSON-escaped in JSON form, so a hostile HELO or address cannot forge
 * log fields or lines.
 *
 * Public: txlog_format, txlog_write.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "txlog.h"
#include "util.h"

struct txlog_buf {
	char		*p;
	size_t		 len, cap;
};

static void	txlog_put(struct txlog_buf *, const char *, size_t);
static void	txlog_puts(struct txlog_buf *, const char *);
static void	txlog_quoted(struct txlog_buf *, const char *);
static void	txlog_plain(const struct txlog *, struct txlog_buf *);
static void	txlog_json(const struct txlog *, struct txlog_buf *);

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

static void
txlog_plain(const struct txlog *t, struct txlog_buf *b)
{
	char	 num[64];
	size_t	 i;

	txlog_puts(b, t->sid);
	txlog_puts(b, " tx client=");
	txlog_puts(b, t->client);
	if (t->client_name != NULL) {
		txlog_puts(b, " client_name=");
		txlog_quoted(b, t->client_name);
	}
	txlog_puts(b, " helo=");
	txlog_quoted(b, t->helo);
	txlog_puts(b, " from=");
	txlog_quoted(b, t->from);
	txlog_puts(b, " rcpts=");
	for (i = 0; i < t->nrcpts; i++) {
		if (i > 0)
			txlog_puts(b, ",");
		txlog_quoted(b, t->rcpts[i]);
	}
	snprintf(num, sizeof(num), " nrcpt=%zu size=%llu", t->nrcpts,
	    (unsigned long long)t->size);
	txlog_puts(b, num);
	txlog_puts(b, " filters=");
	txlog_quoted(b, t->filters);
	txlog_puts(b, " action=");
	txlog_puts(b, t->action);
	txlog_puts(b, " reply=");
	txlog_quoted(b, t->reply);
	snprintf(num, sizeof(num), " ms=%llu", (unsigned long long)t->ms);
	txlog_puts(b, num);
	if (t->backend != NULL) {
		txlog_puts(b, " backend=");
		txlog_puts(b, t->backend);
	}
	if (t->qid != NULL) {
		txlog_puts(b, " qid=");
		txlog_quoted(b, t->qid);
	}
}

static void
txlog_json(const struct txlog *t, struct txlog_buf *b)
{
	char	 num[64];
	size_t	 i;

	txlog_puts(b, "{\"sid\":");
	txlog_quoted(b, t->sid);
	txlog_puts(b, ",\"client\":");
	txlog_quoted(b, t->client);
	if (t->client_name != NULL) {
		txlog_puts(b, ",\"client_name\":");
		txlog_quoted(b, t->client_name);
	}
	txlog_puts(b, ",\"helo\":");
	txlog_quoted(b, t->helo);
	txlog_puts(b, ",\"from\":");
	txlog_quoted(b, t->from);
	txlog_puts(b, ",\"rcpts\":[");
	for (i = 0; i < t->nrcpts; i++) {
		if (i > 0)
			txlog_puts(b, ",");
		txlog_quoted(b, t->rcpts[i]);
	}
	snprintf(num, sizeof(num), "],\"size\":%llu",
	    (unsigned long long)t->size);
	txlog_puts(b, num);
	txlog_puts(b, ",\"filters\":");
	txlog_quoted(b, t->filters);
	txlog_puts(b, ",\"action\":");
	txlog_quoted(b, t->action);
	txlog_puts(b, ",\"reply\":");
	txlog_quoted(b, t->reply);
	snprintf(num, sizeof(num), ",\"ms\":%llu", (unsigned long long)t->ms);
	txlog_puts(b, num);
	if (t->backend != NULL) {
		txlog_puts(b, ",\"backend\":");
		txlog_quoted(b, t->backend);
	}
	if (t->qid != NULL) {
		txlog_puts(b, ",\"qid\":");
		txlog_quoted(b, t->qid);
	}
	txlog_puts(b, "}");
}

void
txlog_format(const struct txlog *t, enum conf_log_format fmt, char *buf,
    size_t bufsz)
{
	struct txlog_buf	 b = { buf, 0, bufsz };

	if (bufsz > 0)
		buf[0] = '\0';
	if (fmt == CONF_LOG_JSON)
		txlog_json(t, &b);
	else
		txlog_plain(t, &b);
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

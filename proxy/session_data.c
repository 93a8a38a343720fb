/* SPDX-License-Identifier: ISC */
/*
 * session_data.c - message content: DATA and BDAT intake into the spool,
 * the filter feed from the spool, and the end of the message (the eom
 * stage, then the replay to the backend and its reply, or the refusal).
 *
 * The intake never waits on filters: content goes to the spool as it
 * arrives, and the feed follows behind from the spool, parking whenever a
 * header/body stage is PENDING.  At the end of data the feed is drained,
 * eom runs, and only then does the backend see DATA (or BDAT).
 *
 * Shared (session_int.h): session_data_begin, session_data_input,
 * session_data_slow, session_bdat, session_feed, session_tx_free_content.
 * Public (session.h): session_memory_max.
 *
 * DIAGNOSTICS
 *	Spool I/O errors are logged and answered 451 4.3.0.  A message
 *	refused for a NUL, bare CR/LF, its size, a header field's size or its
 *	header section's (decide_content) gets 554 / 552 and is logged by the
 *	transaction line.  Spool and backend faults go through log_limited
 *	(one line of each kind an interval).  Content below
 *	proxy.min_data_rate: "content from ADDR too slow: N bytes in Ss
 *	(proxy.min_data_rate R/s)", and 421 4.4.2.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/util.h"
#include "policy/conf.h"
#include "policy/decide.h"
#include "proxy/server.h"
#include "proxy/session.h"
#include "proxy/session_int.h"
#include "proxy/spool.h"

#define DATA_CHUNK	65536		/* intake and feed unit */
#define DATA_TLS_MEM	(64 * 1024)	/* OpenSSL: records and state */
#define DATA_FIELD_MEM	64		/* what a filter keeps a field
					   besides its bytes (malloc, index) */

/* Faults that come with every message while they last: logged once an
 * interval (log_limited); the transaction line records each message. */
static struct log_limit session_data_log_spool = LOG_LIMIT("spool error");
static struct log_limit session_data_log_slow =
	    LOG_LIMIT("content too slow");
static struct log_limit session_data_log_lost =
	    LOG_LIMIT("backend lost during a message");
static struct log_limit session_data_log_eod =
	    LOG_LIMIT("backend failed at end of data");

/* The names of the header fields, read from the spool in ascending order
 * through one buffer: a read per DATA_CHUNK of header, not per field. */
struct field_names {
	uint64_t	 off;		/* spool offset of buf[0] */
	size_t		 len;		/* bytes valid in buf */
	char		*buf;		/* DATA_CHUNK bytes, owned */
};

static void	session_content(struct session *, const unsigned char *,
		    size_t);
static void	session_data_end(struct session *);
static int	session_bdat_input(struct session *);
static void	session_bdat_chunk_done(struct session *);
static enum fv	session_bdat_run(struct session *);
static void	session_bdat_proceed(struct session *, enum decide_action);
static void	session_feed_field(struct session *);
static int	session_name_cmp(const char *, size_t, const char *);
static int	session_edit_cmp(const void *, const void *, void *);
static const char *session_field_name(struct session *, struct field_names *,
		    const struct tx_field *, size_t, size_t *);
static void	session_edit_targets(struct session *,
		    const struct chain_edit *, size_t, size_t *);
static void	session_edit_fields(struct session *, struct evbuffer *);
static int	session_new_body(struct session *);
static void	session_feed_body_off(struct session *);
static void	session_content_proceed(struct session *,
		    enum decide_action);
static void	session_eom(struct session *);
static enum fv	session_eom_run(struct session *);
static void	session_eom_proceed(struct session *, enum decide_action);
static void	session_message_relayed(struct session *,
		    const struct backend_reply *);
static void	session_backend_reset(struct session *,
		    const struct backend_reply *);
static void	session_message_done(struct session *);
static int	session_keepalive(struct session *);
static void	session_keepalive_done(struct session *,
		    const struct backend_reply *);
static uint64_t	session_filter_memory(const struct conf *);

/* The content's filter stages (the envelope's: session.c). */
const struct session_stage session_stage_bdat = {
	DECIDE_DATA, SESSION_REFUSE_LATER, session_bdat_run,
	session_bdat_proceed
};
static const struct session_stage session_stage_content = {
	DECIDE_EOM, SESSION_REFUSE_LATER, NULL, session_content_proceed
};
static const struct session_stage session_stage_eom = {
	DECIDE_EOM, SESSION_REFUSE_EOM, session_eom_run, session_eom_proceed
};

void
session_data_begin(struct session *s, enum data_mode mode)
{
	struct tx	*tx = s->tx;

	tx->data_started = util_now_ms();
	tx->spool = spool_new(s->conf->spool_memory_max, s->conf->spool_dir);
	data_reader_init(&tx->rd, mode);
	if (chain_wants_content(s->cs)) {
		rfc5322_init(&tx->parser, s->conf->max_header_size);
		tx->feed_buf = xmalloc(DATA_CHUNK);
	} else
		tx->feed_done = 1;
	session_enter(s, mode == DATA_DOT ? SESSION_DATA : SESSION_BDAT);
}

void
session_tx_free_content(struct tx *tx)
{
	if (tx->spool != NULL)
		spool_free(tx->spool);
	if (tx->feed_buf != NULL) {
		rfc5322_fini(&tx->parser);
		free(tx->feed_buf);
	}
	free(tx->fields);
}

/* DATA content or a BDAT chunk from the client buffer: 1 if progress. */
int
session_data_input(struct session *s)
{
	static _Thread_local unsigned char out[DATA_OUT_MAX(DATA_CHUNK)];
	struct evbuffer		*in = bufferevent_get_input(s->bev);
	struct evbuffer_iovec	 v;
	size_t			 len, used, outlen;
	int			 done = 0;

	if (session_keepalive(s))
		return 1;
	if (s->bdat_left > 0)
		return session_bdat_input(s);
	if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0)
		return 0;
	len = v.iov_len < DATA_CHUNK ? v.iov_len : DATA_CHUNK;
	used = data_reader_feed(&s->tx->rd, v.iov_base, len, out, &outlen,
	    &done);
	session_content(s, out, outlen);
	evbuffer_drain(in, used);
	if (done)
		session_data_end(s);
	return 1;
}

/*
 * proxy.min_data_rate: once data_timeout has passed since DATA (or the
 * first BDAT), the content must have averaged that rate.  The read timeout
 * restarts with every read, so a client sending a few bytes every few
 * seconds would otherwise hold its slot, and the backend's, for ever.
 * Checked as input comes, so the slowest are cut within two data_timeouts.
 * Returns 1 after closing the session (421 4.4.2, as Postfix says).
 */
int
session_data_slow(struct session *s)
{
	struct tx	*tx = s->tx;
	uint64_t	 rate = s->conf->min_data_rate, ms;

	if (rate == 0 || tx == NULL || tx->data_started == 0 ||
	    (s->state != SESSION_DATA && s->state != SESSION_BDAT))
		return 0;
	ms = util_now_ms() - tx->data_started;
	if (ms < (uint64_t)s->conf->data_timeout * 1000 ||
	    tx->size * 1000 >= rate * ms)
		return 0;
	log_limited(&session_data_log_slow, LOG_LEVEL_INFO, "%s content "
	    "from %s too slow: %llu bytes in %llus (proxy.min_data_rate "
	    "%llu/s)", s->sid, s->addr,
	    (unsigned long long)tx->size, (unsigned long long)(ms / 1000),
	    (unsigned long long)rate);
	session_close(s, "421 4.4.2 Error: timeout exceeded");
	return 1;
}

/*
 * While content comes in, the backend hears nothing; an MTA gives up on an
 * idle client (Postfix after 5 minutes), and a long upload would then end
 * in 451 every time.  A NOOP every proxy.backend_keepalive prevents that.
 * Returns 1 when one was sent (the session waits for its reply).
 */
static int
session_keepalive(struct session *s)
{
	uint64_t	 ka = (uint64_t)s->conf->backend_keepalive * 1000;

	if (ka == 0 || s->tx == NULL || !s->tx->relayed ||
	    !backend_alive(s->be) || util_now_ms() - s->be_last < ka)
		return 0;
	session_backend(s, "NOOP", session_keepalive_done);
	return 1;
}

static void
session_keepalive_done(struct session *s, const struct backend_reply *r)
{
	/* A lost backend is answered at the end of data (451), not now:
	 * the client is in the middle of its message. */
	if (r->status != BACKEND_REPLY)
		log_limited(&session_data_log_lost, LOG_LEVEL_WARN, "%s "
		    "backend lost while receiving the message", s->sid);
}

/*
 * Content bytes (CRLF lines, no NUL) into the spool, unless the message
 * already failed; then feed the filters.  The reader's findings so far (a
 * NUL, a bare CR/LF, the header section over its limits) settle the
 * message before its bytes are kept: the filters never see more header
 * fields or bytes than the limits allow, and the rest is only read.
 */
static void
session_content(struct session *s, const unsigned char *p, size_t len)
{
	struct tx	*tx = s->tx;
	uint64_t	 max = s->conf->max_message_size;

	tx->size += len;
	if (tx->fail[0] != '\0' || decide_content(s->conf, tx->rd.flags,
	    tx->rd.hdr.fields, tx->rd.hdr.bytes, tx->fail, sizeof(tx->fail)) ||
	    len == 0)
		return;
	if (max != 0 && tx->size > max) {
		strlcpy(tx->fail, "552 5.3.4 Error: message size exceeds "
		    "fixed limit", sizeof(tx->fail));
		return;
	}
	if (spool_write(tx->spool, p, len) == -1) {
		log_limited(&session_data_log_spool, LOG_LEVEL_WARN, "%s spool "
		    "write to %s: %s", s->sid, s->conf->spool_dir,
		    strerror(errno));
		strlcpy(tx->fail, "451 4.3.0 Error: local spool error, try "
		    "again later", sizeof(tx->fail));
		return;
	}
	session_feed(s);
}

/* All content is in (checked as it came): finish the feed, then the eom
 * stage. */
static void
session_data_end(struct session *s)
{
	struct tx	*tx = s->tx;

	session_enter(s, SESSION_EOM);
	tx->feed_final = 1;
	if (tx->fail[0] != '\0')
		session_eom_refuse(s, "rejected", tx->fail);
	else if (tx->feed_done)
		session_eom(s);
	else
		session_feed(s);
}

/* BDAT count [LAST]: the chunk is read whatever the verdict, or the
 * sequence error (s->bdat_fail, set by the command table).  0 when the
 * DATA stage is to run (the first chunk of a message). */
int
session_bdat(struct session *s, char *arg)
{
	char			*end;
	unsigned long long	 n;

	errno = 0;
	n = strtoull(arg, &end, 10);
	if (arg[0] < '0' || arg[0] > '9' || errno != 0 ||
	    (*end != '\0' && strcasecmp(end, " LAST") != 0)) {
		session_reply(s, "501 5.5.4 Syntax: BDAT count [LAST]");
		session_close(s, "421 4.5.0 Error: lost BDAT synchronisation");
		return -1;
	}
	s->bdat_left = n;
	s->bdat_last = *end != '\0';
	if (s->bdat_fail != NULL || s->state == SESSION_BDAT) {
		if (s->bdat_left == 0)
			session_bdat_chunk_done(s);
		return -1;
	}
	s->tx->bdat = 1;
	return 0;
}

static enum fv
session_bdat_run(struct session *s)
{
	return chain_data(s->cs);
}

/* After the DATA stage of the first chunk, whatever it said (a refusal
 * is kept for the last chunk): the content is read. */
static void
session_bdat_proceed(struct session *s, enum decide_action a)
{
	(void)a;
	session_data_begin(s, DATA_RAW);
	if (s->bdat_left == 0)
		session_bdat_chunk_done(s);
}

static int
session_bdat_input(struct session *s)
{
	static _Thread_local unsigned char out[DATA_OUT_MAX(DATA_CHUNK)];
	struct evbuffer		*in = bufferevent_get_input(s->bev);
	struct evbuffer_iovec	 v;
	size_t			 len, outlen;
	int			 done;

	if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0)
		return 0;
	len = v.iov_len < DATA_CHUNK ? v.iov_len : DATA_CHUNK;
	if (len > s->bdat_left)
		len = (size_t)s->bdat_left;
	if (s->bdat_fail == NULL) {
		data_reader_feed(&s->tx->rd, v.iov_base, len, out, &outlen,
		    &done);
		session_content(s, out, outlen);
	}
	evbuffer_drain(in, len);
	s->bdat_left -= len;
	if (s->bdat_left == 0)
		session_bdat_chunk_done(s);
	return 1;
}

static void
session_bdat_chunk_done(struct session *s)
{
	unsigned char	 out[2];
	size_t		 outlen;

	if (s->bdat_fail != NULL) {
		session_reply(s, "%s", s->bdat_fail);
		return;
	}
	if (!s->bdat_last) {
		if (s->tx->fail[0] != '\0')
			session_reply(s, "%s", s->tx->fail);
		else
			session_reply(s, "250 2.0.0 Ok: %llu octets received",
			    (unsigned long long)s->tx->size);
		return;
	}
	data_reader_finish(&s->tx->rd, out, &outlen);
	session_content(s, out, outlen);
	session_data_end(s);
}

/*
 * Feed the filters from the spool, event by event, until the content so far
 * is used up, a stage goes PENDING, or the message is over.
 */
void
session_feed(struct session *s)
{
	struct tx		*tx = s->tx;
	struct rfc5322_event	 ev;
	ssize_t			 n;
	size_t			 used;
	int			 final;
	enum fv			 v = FV_CONTINUE;

	while (!tx->feed_busy && !tx->feed_done) {
		if (tx->feed_pos == tx->feed_len) {
			n = spool_read(tx->spool, tx->feed_off, tx->feed_buf,
			    DATA_CHUNK);
			if (n < 0) {
				log_limited(&session_data_log_spool,
				    LOG_LEVEL_WARN, "%s spool read: %s",
				    s->sid, strerror(errno));
				session_filter(s, FV_TEMPFAIL,
				    &session_stage_content);
				return;
			}
			if (n == 0 && !tx->feed_final)
				return;
			tx->feed_len = (size_t)n;
			tx->feed_pos = 0;
			tx->feed_off += (uint64_t)n;
		}
		final = tx->feed_final && tx->feed_off == spool_size(tx->spool);
		rfc5322_next(&tx->parser, tx->feed_buf + tx->feed_pos,
		    tx->feed_len - tx->feed_pos, final, &ev, &used);
		tx->feed_pos += used;
		switch (ev.type) {
		case RFC5322_NEED_MORE:
			continue;
		case RFC5322_HEADER:
			v = chain_header(s->cs, ev.name, ev.value,
			    ev.valuelen);
			session_feed_field(s);
			break;
		case RFC5322_EOH:
			session_feed_body_off(s);
			v = chain_eoh(s->cs);
			break;
		case RFC5322_BODY:
			v = chain_body(s->cs, ev.data, ev.len);
			break;
		case RFC5322_END:
			tx->feed_done = 1;
			if (s->state == SESSION_EOM)
				session_eom(s);
			return;
		case RFC5322_ERR_TOO_LONG:
			strlcpy(tx->fail, "552 5.3.4 Error: header field too "
			    "long", sizeof(tx->fail));
			v = FV_REJECT;
			break;
		}
		if (v == FV_PENDING)
			tx->feed_busy = 1;
		session_filter(s, v, &session_stage_content);
		if (v == FV_PENDING)
			return;
	}
}

/* After a header stage: the field ends where the parser stopped (it
 * reports a field when the next line begins); a filter may have removed it. */
static void
session_feed_field(struct session *s)
{
	struct tx	*tx = s->tx;
	struct tx_field	*f;
	uint64_t	 end = tx->feed_off - tx->feed_len + tx->feed_pos;

	if (chain_header_deleted(s->cs)) {
		if (spool_cut(tx->spool, tx->field_off, end - tx->field_off) ==
		    -1)
			log_warnx("%s cannot remove a header field at %llu",
			    s->sid, (unsigned long long)tx->field_off);
	} else {
		/* kept for changes at the end of the message; the array
		 * doubles when its size is a power of two */
		if ((tx->nfields & (tx->nfields - 1)) == 0)
			tx->fields = xrealloc(tx->fields, (tx->nfields > 0 ?
			    2 * tx->nfields : 16) * sizeof(*tx->fields));
		f = &tx->fields[tx->nfields++];
		f->off = tx->field_off;
		f->len = end - tx->field_off;
	}
	tx->field_off = end;
}

/*
 * A body a filter replaced (a milter's REPLBODY): a new spool with the edited
 * header and the new body, lines ending in CRLF (a bare CR or LF becomes one:
 * the backend must not see a line end we did not check) and no NUL (left out,
 * as the DATA reader does), replaces the transaction's.  0, or -1 when it
 * cannot be written.
 */
static int
session_new_body(struct session *s)
{
	struct tx	*tx = s->tx;
	struct spool	*sp;
	const char	*b;
	unsigned char	 buf[4096];
	uint64_t	 off = 0;
	size_t		 len, i, o;
	ssize_t		 n;
	int		 rc = 0;

	if ((b = chain_new_body(s->cs, &len)) == NULL)
		return 0;
	/* the old body out of the edited view, which is then copied whole */
	if (tx->body_off < spool_size(tx->spool) && spool_cut(tx->spool,
	    tx->body_off, spool_size(tx->spool) - tx->body_off) == -1)
		return -1;
	sp = spool_new(s->conf->spool_memory_max, s->conf->spool_dir);
	while (rc == 0 && (n = spool_read_edited(tx->spool, &off, buf,
	    sizeof(buf))) > 0)
		rc = spool_write(sp, buf, (size_t)n);
	if (n < 0)
		rc = -1;
	/* through buf: a write per 4 KiB, not two per line (a syscall each
	 * once on disk) */
	for (i = o = 0; rc == 0 && i < len; i++) {
		if (o + 2 > sizeof(buf)) {
			rc = spool_write(sp, buf, o);
			o = 0;
		}
		if (b[i] == '\0')		/* (none in mail: dropped) */
			continue;
		if (b[i] != '\r' && b[i] != '\n') {
			buf[o++] = (unsigned char)b[i];
			continue;
		}
		buf[o++] = '\r';
		buf[o++] = '\n';
		if (b[i] == '\r' && i + 1 < len && b[i + 1] == '\n')
			i++;
	}
	if (rc == 0 && o > 0)
		rc = spool_write(sp, buf, o);
	if (rc == -1) {
		log_limited(&session_data_log_spool, LOG_LEVEL_WARN, "%s spool "
		    "for the new body: %s", s->sid, strerror(errno));
		spool_free(sp);
		return -1;
	}
	log_debug("%s body replaced: %zu bytes", s->sid, len);
	spool_free(tx->spool);
	tx->spool = sp;
	return 0;
}

/* At the end of the header: the body starts after the blank line, which
 * starts where the last field ended (the parser may have read on). */
static void
session_feed_body_off(struct session *s)
{
	struct tx	*tx = s->tx;
	char		 nl[2] = "";

	tx->body_off = tx->field_off;
	if (spool_read(tx->spool, tx->field_off, nl, sizeof(nl)) > 0)
		tx->body_off += nl[0] == '\r' && nl[1] == '\n' ? 2 :
		    nl[0] == '\n' ? 1 : 0;
}

/*
 * Header field names compared as strcasecmp does, a (alen bytes, not
 * NUL-terminated) with b: the order edits are sorted in.
 */
static int
session_name_cmp(const char *a, size_t alen, const char *b)
{
	size_t	 i;
	int	 x, y;

	for (i = 0; i < alen && b[i] != '\0'; i++) {
		x = tolower((unsigned char)a[i]);
		y = tolower((unsigned char)b[i]);
		if (x != y)
			return x - y;
	}
	return i < alen ? 1 : b[i] != '\0' ? -1 : 0;
}

/* Edits (their numbers) by name, then by index. */
static int
session_edit_cmp(const void *a, const void *b, void *arg)
{
	const struct chain_edit	*e = arg;
	const struct chain_edit	*x = &e[*(const size_t *)a];
	const struct chain_edit	*y = &e[*(const size_t *)b];
	int			 c;

	if ((c = session_name_cmp(x->name, strlen(x->name), y->name)) != 0)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * The name of field f, as the parser took it (up to the colon or a blank
 * before it), when it is at most max bytes: into *len, pointing into fn's
 * buffer until the next call.  NULL when it is longer, or unreadable.
 * Fields must be asked for in spool order.
 */
static const char *
session_field_name(struct session *s, struct field_names *fn,
    const struct tx_field *f, size_t max, size_t *len)
{
	const char	*p;
	size_t		 need = f->len < max + 1 ? (size_t)f->len : max + 1;
	ssize_t		 n;

	if (f->off < fn->off || f->off + need > fn->off + fn->len) {
		if ((n = spool_read(s->tx->spool, f->off, fn->buf,
		    DATA_CHUNK)) < 0)
			return NULL;
		fn->off = f->off;
		fn->len = (size_t)n;
		if (need > fn->len)
			return NULL;
	}
	p = fn->buf + (f->off - fn->off);
	for (*len = 0; *len < need && p[*len] != ':' && p[*len] != ' ' &&
	    p[*len] != '\t'; (*len)++)
		;
	return *len < need ? p : NULL;
}

/*
 * The field each of the n edits names (the index-th field called name)
 * into at[] (tx->nfields: none), in one pass over the fields: the edits
 * sorted by name and index, each field's name found among them by binary
 * search and counted there.  O(n log n + fields log n), and one spool
 * read per DATA_CHUNK of header, whatever n is.
 */
static void
session_edit_targets(struct session *s, const struct chain_edit *e,
    size_t n, size_t *at)
{
	struct tx		*tx = s->tx;
	struct field_names	 fn = { .buf = xmalloc(DATA_CHUNK) };
	const char		*name;
	size_t			*ord, *next, *end, *seen;
	size_t			 i, k, g, lo, hi, len, max = 0, left = n;

	ord = xcalloc(4 * n, sizeof(*ord));
	next = ord + n;		/* per group (at its first place): the */
	end = next + n;		/* next edit to place, the group's end */
	seen = end + n;		/* and the fields of that name so far */
	for (i = 0; i < n; i++) {
		ord[i] = i;
		at[i] = tx->nfields;
		if ((len = strlen(e[i].name)) > max)
			max = len;
	}
	qsort_r(ord, n, sizeof(*ord), session_edit_cmp, (void *)e);
	for (g = 0; g < n; g = end[g]) {
		for (k = g + 1; k < n && session_name_cmp(e[ord[k]].name,
		    strlen(e[ord[k]].name), e[ord[g]].name) == 0; k++)
			;
		next[g] = g;
		end[g] = k;
	}
	max = max < DATA_CHUNK - 1 ? max : DATA_CHUNK - 1;
	for (k = 0; k < tx->nfields && left > 0; k++) {
		if ((name = session_field_name(s, &fn, &tx->fields[k], max,
		    &len)) == NULL)
			continue;
		for (lo = 0, hi = n; lo < hi;) {	/* first place >= name */
			g = lo + (hi - lo) / 2;
			if (session_name_cmp(name, len, e[ord[g]].name) > 0)
				lo = g + 1;
			else
				hi = g;
		}
		if (lo == n || session_name_cmp(name, len, e[ord[lo]].name))
			continue;
		for (g = lo, seen[g]++; next[g] < end[g] &&
		    e[ord[next[g]]].index <= seen[g]; next[g]++)
			if (e[ord[next[g]]].index == seen[g]) {
				at[ord[next[g]]] = k;
				left--;
			}
	}
	free(ord);
	free(fn.buf);
}

/* The filters' changes to header fields at eom: the field left out of the
 * spool's edited view, and a replacement (if any) into hdrs. */
static void
session_edit_fields(struct session *s, struct evbuffer *hdrs)
{
	const struct chain_edit	*e;
	struct tx		*tx = s->tx;
	size_t			 n, i, *at;

	if ((n = chain_edits(s->cs, &e)) == 0)
		return;
	at = xcalloc(n, sizeof(*at));
	session_edit_targets(s, e, n, at);
	for (i = 0; i < n; i++, e++) {
		if (at[i] == tx->nfields || spool_cut(tx->spool,
		    tx->fields[at[i]].off, tx->fields[at[i]].len) == -1) {
			log_info("%s no header field %s #%u to change", s->sid,
			    e->name, e->index);
			continue;
		}
		log_debug("%s header field %s #%u %s", s->sid, e->name,
		    e->index, e->value != NULL ? "replaced" : "removed");
		if (e->value != NULL)
			evbuffer_add_printf(hdrs, "%s: %s\r\n", e->name,
			    e->value);
	}
	free(at);
}

/*
 * After a header/body verdict (the content stage): anything but
 * CONTINUE/ACCEPT settled the message (the router kept the refusal), so
 * the feed stops, as it does once nobody wants the rest.  A verdict that
 * came back from the pool goes on feeding.
 */
static void
session_content_proceed(struct session *s, enum decide_action a)
{
	struct tx	*tx = s->tx;
	int		 resumed = tx->feed_busy;

	tx->feed_busy = 0;
	if (a != DECIDE_RELAY || !chain_wants_content(s->cs))
		tx->feed_done = 1;
	if (tx->feed_done && s->state == SESSION_EOM) {
		if (tx->fail[0] != '\0')
			session_eom_refuse(s, "rejected", tx->fail);
		else
			session_eom(s);
	}
	if (resumed)
		session_feed(s);
}

static void
session_eom(struct session *s)
{
	session_stage_run(s, &session_stage_eom);
}

static enum fv
session_eom_run(struct session *s)
{
	return chain_eom(s->cs);
}

/* The message is accepted (or discarded): its edits, then the backend. */
static void
session_eom_proceed(struct session *s, enum decide_action a)
{
	const struct chain_header	*h;
	struct tx			*tx = s->tx;
	struct evbuffer			*hdrs;
	size_t				 i, n;

	(void)a;
	tx->eom_done = 1;
	if (tx->discard) {
		session_eom_refuse(s, "discarded", "250 2.0.0 Ok: discarded");
		return;
	}
	hdrs = evbuffer_new();
	session_tls_received(s, hdrs);
	n = chain_headers(s->cs, &h);
	for (i = 0; i < n; i++)
		evbuffer_add_printf(hdrs, "%s: %s\r\n", h[i].name,
		    h[i].value);
	session_edit_fields(s, hdrs);
	if (session_new_body(s) == -1) {
		evbuffer_free(hdrs);
		session_eom_refuse(s, "tempfailed", "451 4.3.0 Error: cannot "
		    "store the message");
		return;
	}
	s->on_backend = session_message_relayed;
	tx->sent = util_now_s();
	backend_message(s->be, (const char *)evbuffer_pullup(hdrs, -1),
	    evbuffer_get_length(hdrs), tx->spool,
	    (s->ehlo.ext & SMTP_EXT_CHUNKING) != 0);
	evbuffer_free(hdrs);
}

/* The message is not sent: tell the client, end the transaction, and reset
 * the backend's (MAIL and RCPT reached it). */
void
session_eom_refuse(struct session *s, const char *action, const char *reply)
{
	int	 relayed = s->tx->relayed;

	session_reply(s, "%s", reply);
	session_tx_end(s, action, reply);
	if (relayed)
		session_backend(s, "RSET", session_backend_reset);
	else
		session_message_done(s);
}

static void
session_backend_reset(struct session *s, const struct backend_reply *r)
{
	if (r->status != BACKEND_REPLY) {
		session_backend_lost(s, r, "resetting after a refused message");
		return;
	}
	session_message_done(s);
}

static void
session_message_relayed(struct session *s, const struct backend_reply *r)
{
	const char	*fail;

	metric_observe(M_BACKEND_EOM_SECONDS, util_now_s() - s->tx->sent);
	if (r->status == BACKEND_REPLY) {
		session_reply_raw(s, r->text, r->len);
		session_tx_end(s, r->code / 100 == 2 ? "relayed" :
		    r->code / 100 == 4 ? "deferred by backend" :
		    "rejected by backend", r->text);
		session_message_done(s);
		return;
	}
	/* No loss: the client keeps the message and tries again. */
	fail = r->status == BACKEND_TIMEOUT ?
	    "451 4.4.1 Error: backend timeout, message not delivered" :
	    "451 4.4.2 Error: backend connection lost, message not "
	    "delivered";
	log_limited(&session_data_log_eod, LOG_LEVEL_WARN, "%s backend %s "
	    "at end of data%s%s", s->sid,
	    r->status == BACKEND_TIMEOUT ? "timeout" :
	    r->status == BACKEND_PROTOCOL ? "protocol error" : "failure",
	    r->status == BACKEND_PROTOCOL ? ": " : "",
	    r->status == BACKEND_PROTOCOL ? r->text : "");
	session_reply(s, "%s", fail);
	session_tx_end(s, "failed", fail);
	session_message_done(s);
}

/* After the final reply: a draining server closes the session now. */
static void
session_message_done(struct session *s)
{
	if (s->srv->draining())
		session_close(s, "421 4.3.2 Service shutting down");
}

/*
 * session_memory_max - see session.h.  An upper bound from the limits, not
 * a measurement (the bench's scripts/bench/memory.sh measures sessions
 * holding the biggest header section).  It counts:
 *	- the client's input buffered (SESSION_READ_HIGH), the replies not
 *	  yet read (SESSION_OUT_HIGH), and a command line (max_line_length);
 *	- the backend connection's buffers (backend_memory_max) and TLS on
 *	  both connections (DATA_TLS_MEM each);
 *	- the message in memory (spool_memory_max);
 *	- with content filters: the feed's chunk (DATA_CHUNK), the parser's
 *	  field (max_header_size), the index of the fields
 *	  (max_header_fields), and what filters keep (session_filter_memory).
 * Not counted: what all connections share (worker pool, resolver, the
 * chain's rules and keys), and a replacement body from a milter (trusted).
 */
uint64_t
session_memory_max(const struct conf *c)
{
	uint64_t	 n;

	n = SESSION_READ_HIGH + SESSION_OUT_HIGH + c->max_line_length +
	    backend_memory_max() + 2 * DATA_TLS_MEM + c->spool_memory_max;
	if (c->nfilters > 0)
		n += DATA_CHUNK + c->max_header_size + 2 +
		    (uint64_t)c->max_header_fields * sizeof(struct tx_field) +
		    session_filter_memory(c);
	return n;
}

/*
 * What the filters of c's chain keep of one message: a filter that reads
 * header fields may keep the whole header section twice (libopendkim
 * keeps each field as received and canonicalised) and DATA_FIELD_MEM a
 * field; regex keeps the raw message and the decoded body text, each up
 * to regex.body_scan_max.
 */
static uint64_t
session_filter_memory(const struct conf *c)
{
	const struct filter_ops	*o;
	uint64_t		 n = 0;
	size_t			 i;

	for (i = 0; i < c->nfilters; i++) {
		if ((o = chain_filter_lookup(c->filters[i])) == NULL)
			continue;
		if (o->header != NULL)
			n += 2 * (uint64_t)c->max_header_total +
			    (uint64_t)c->max_header_fields * DATA_FIELD_MEM;
		if (o == &flt_regex_ops)
			n += 2 * c->regex_body_scan_max;
	}
	return n;
}

/* SPDX-License-Identifier: ISC */
/*
 * regex.c - the regex filter: rules (filters/rules.h) compiled once with
 * PCRE2 (JIT where the system allows it) and matched at each stage: the
 * client address and host names (at connect), HELO, MAIL, RCPT, each
 * header (RFC 2047 decoded), the body (MIME decoded: quoted-printable and
 * base64 text parts) and the raw message.  In file order, the first
 * reject/tempfail/accept/discard rule that matches decides; score rules
 * add up, tag rules queue a header.  At end of message a score at or over
 * regex.score_threshold rejects the message (554 5.7.1) or tags it, as
 * regex.score_action says.
 *
 * Matching is bounded: a match limit and a depth limit stop catastrophic
 * patterns (a hit limit is logged and counts as no match), and only the
 * first regex.body_scan_max bytes of body and raw message are kept.
 *
 * Public: flt_regex_ops.
 *
 * DIAGNOSTICS
 *	init: "file:line: rule NAME: bad pattern at offset N: why", bad
 *	score settings.  At run time: "rule NAME: match limit hit".
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "filters/filter.h"
#include "lib/log.h"
#include "policy/conf.h"
#include "policy/spamstatus.h"

#include "filters/rules.h"
#include "lib/metrics.h"
#include "lib/util.h"
#include "proto/mime.h"
#include "proto/rfc5322.h"

/* Per-event warnings, one line of a kind an interval (the log's own
 * state, thread-safe; the filter never reads it). */
static struct log_limit flt_regex_log_limit =
	    LOG_LIMIT("rule match error");

#define REGEX_HDR_MAX	16384		/* a decoded header value */
#define REGEX_TAGS_MAX	32

struct flt_regex {
	struct ruleset		 set;
	pcre2_code		**code;		/* one per rule */
	pcre2_match_context	*mctx;		/* limits; read-only */
	double			 threshold;
	int			 tag_on_score;	/* else reject */
	char			 tag_header[256];
	size_t			 tag_name_len;	/* of its field name */
	char			 score_header[128];	/* "": none */
	size_t			 scan_max;
};

/* regex.rules = default: rules/default.rules as shipped, built in. */
#define REGEX_DEFAULT_NAME	"default.rules (built in)"
extern const char rules_default_text[];

struct flt_regex_buf {
	char			*p;
	size_t			 len, cap;
};

/* What a stage's rules are matched against: one text per field. */
struct flt_regex_subject {
	enum rule_field		 field;
	const char		*hname;		/* RULE_HEADER: the field's
						   name, or "*" */
	const char		*s;
	size_t			 len;
};

struct flt_regex_priv {
	double			 conn_score;	/* connect/helo rules */
	double			 score;		/* this message's */
	char			 hits[512];	/* rule names that scored */
	char			 conn_hits[256];
	struct mime		*mime;
	struct flt_regex_buf	 body, raw;
	char			*tags[REGEX_TAGS_MAX];	/* this message's */
	size_t			 ntags;
	char			*conn_tags[REGEX_TAGS_MAX];	/* every one's */
	size_t			 nconn_tags;
	unsigned		 nstatus, nflag;	/* the message's own
						   score and tag fields */
};

static int	flt_regex_init(const struct conf *, struct dns *, void **,
		    char *, size_t);
static void	flt_regex_fini(void *);
static void	flt_regex_status(struct fctx *, struct flt_regex_priv *,
		    double, const char *);
static enum fv	flt_regex_run(struct fctx *, const struct flt_regex_subject *,
		    size_t);
static enum fv	flt_regex_run1(struct fctx *, enum rule_field, const char *,
		    const char *, size_t);
static int	flt_regex_at_connect(enum rule_field);
static enum fv	flt_regex_connect(struct fctx *, const char *,
		    const struct sockaddr *);
static enum fv	flt_regex_helo(struct fctx *, const char *);
static enum fv	flt_regex_envfrom(struct fctx *, const char *,
		    char *const *);
static enum fv	flt_regex_envrcpt(struct fctx *, const char *,
		    char *const *);
static enum fv	flt_regex_header(struct fctx *, const char *, const char *,
		    size_t);
static size_t	flt_regex_put(char *, size_t, size_t, const void *, size_t);
static enum fv	flt_regex_eoh(struct fctx *);
static enum fv	flt_regex_body(struct fctx *, const unsigned char *, size_t);
static enum fv	flt_regex_eom(struct fctx *);
static void	flt_regex_close(struct fctx *);

const struct filter_ops flt_regex_ops = {
	.name = "regex",
	.init = flt_regex_init,
	.fini = flt_regex_fini,
	.connect = flt_regex_connect,
	.helo = flt_regex_helo,
	.envfrom = flt_regex_envfrom,
	.envrcpt = flt_regex_envrcpt,
	.header = flt_regex_header,
	.eoh = flt_regex_eoh,
	.body = flt_regex_body,
	.eom = flt_regex_eom,
	.close = flt_regex_close,
};

static int
flt_regex_compile(struct flt_regex *g, char *err, size_t errsz)
{
	const struct rule	*r;
	PCRE2_UCHAR		 msg[256];
	PCRE2_SIZE		 off;
	uint32_t		 opt;
	size_t			 i;
	int			 ec, rc = 0;

	g->code = xcalloc(g->set.n, sizeof(*g->code));
	for (i = 0; i < g->set.n; i++) {
		r = &g->set.rules[i];
		opt = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
		opt |= (r->flags & RULE_F_CASELESS) ? PCRE2_CASELESS : 0;
		opt |= (r->flags & RULE_F_MULTILINE) ? PCRE2_MULTILINE : 0;
		opt |= (r->flags & RULE_F_DOTALL) ? PCRE2_DOTALL : 0;
		opt |= (r->flags & RULE_F_EXTENDED) ? PCRE2_EXTENDED : 0;
		g->code[i] = pcre2_compile((PCRE2_SPTR)r->pattern, r->patlen,
		    opt, &ec, &off, NULL);
		if (g->code[i] == NULL) {
			pcre2_get_error_message(ec, msg, sizeof(msg));
			util_err_append(err, errsz, "%s:%u: rule %s: bad "
			    "pattern at offset %zu: %s", r->file, r->line,
			    r->name, (size_t)off, (char *)msg);
			rc = -1;
			continue;
		}
		/* JIT is an optimisation: without it (W^X systems) the
		 * interpreter runs the same pattern. */
		(void)pcre2_jit_compile(g->code[i], PCRE2_JIT_COMPLETE);
	}
	return rc;
}

/* Score settings from [regex]; the numbers are validated here. */
static int
flt_regex_settings(struct flt_regex *g, const struct conf *c, char *err,
    size_t errsz)
{
	const char	*colon;
	char		*end;
	int		 rc = 0;

	g->threshold = strtod(c->regex_score_threshold, &end);
	if (end == c->regex_score_threshold || *end != '\0' ||
	    !isfinite(g->threshold)) {
		util_err_append(err, errsz, "regex.score_threshold: not a "
		    "number: '%s'", c->regex_score_threshold);
		rc = -1;
	}
	g->tag_on_score = strcmp(c->regex_score_action, "tag") == 0;
	if (!g->tag_on_score && strcmp(c->regex_score_action, "reject")) {
		util_err_append(err, errsz, "regex.score_action: '%s' is "
		    "neither reject nor tag", c->regex_score_action);
		rc = -1;
	}
	if ((colon = strchr(c->regex_tag_header, ':')) == NULL ||
	    !rfc5322_name_ok(c->regex_tag_header,
	    (size_t)(colon - c->regex_tag_header))) {
		util_err_append(err, errsz, "regex.tag_header: '%s' is not "
		    "\"Name: value\" with a field name", c->regex_tag_header);
		rc = -1;
	}
	strlcpy(g->tag_header, c->regex_tag_header, sizeof(g->tag_header));
	g->tag_name_len = colon != NULL ? (size_t)(colon -
	    c->regex_tag_header) : 0;
	if (c->regex_score_header[0] != '\0' &&
	    !rfc5322_name_ok(c->regex_score_header,
	    strlen(c->regex_score_header))) {
		util_err_append(err, errsz, "regex.score_header: '%s' is not "
		    "a field name", c->regex_score_header);
		rc = -1;
	}
	strlcpy(g->score_header, c->regex_score_header,
	    sizeof(g->score_header));
	g->scan_max = c->regex_body_scan_max;
	g->mctx = pcre2_match_context_create(NULL);
	pcre2_set_match_limit(g->mctx, c->regex_match_limit);
	pcre2_set_depth_limit(g->mctx, c->regex_depth_limit);
	return rc;
}

static int
flt_regex_init(const struct conf *c, struct dns *dns, void **gpriv,
    char *err, size_t errsz)
{
	struct flt_regex	*g = xcalloc(1, sizeof(*g));
	char			*files, *w, *save;
	int			 rc = 0;

	(void)dns;	/* no lookups */
	*gpriv = g;
	files = xstrdup(c->regex_rules);
	for (w = strtok_r(files, ", \t", &save); w != NULL;
	    w = strtok_r(NULL, ", \t", &save))
		if ((strcmp(w, "default") == 0 ? rules_parse(REGEX_DEFAULT_NAME,
		    rules_default_text, strlen(rules_default_text), &g->set,
		    err, errsz) : rules_load(w, &g->set, err, errsz)) == -1)
			rc = -1;
	if (rc == 0 && g->set.n == 0) {
		util_err_append(err, errsz, "%s: regex.rules: no rules: the "
		    "regex filter would do nothing", c->source);
		rc = -1;
	}
	free(files);
	/* every error of every file and pattern, for postern check */
	if (flt_regex_settings(g, c, err, errsz) == -1)
		rc = -1;
	if (flt_regex_compile(g, err, errsz) == -1 || rc == -1) {
		flt_regex_fini(g);
		*gpriv = NULL;
		return -1;
	}
	return 0;
}

static void
flt_regex_fini(void *gpriv)
{
	struct flt_regex	*g = gpriv;
	size_t			 i;

	if (g == NULL)
		return;
	for (i = 0; g->code != NULL && i < g->set.n; i++)
		pcre2_code_free(g->code[i]);
	free(g->code);
	pcre2_match_context_free(g->mctx);
	rules_free(&g->set);
	free(g);
}

/* The connection's state, made on first use (an earlier filter's accept
 * may skip our connect). */
static struct flt_regex_priv *
flt_regex_priv(struct fctx *fx)
{
	struct flt_regex_priv	*p = fctx_priv(fx);

	if (p == NULL) {
		p = xcalloc(1, sizeof(*p));
		fctx_set_priv(fx, p);
	}
	return p;
}

static void
flt_regex_append(struct flt_regex_buf *b, const void *data, size_t len,
    size_t max)
{
	if (b->len >= max)
		return;
	if (len > max - b->len)
		len = max - b->len;
	if (b->len + len + 1 > b->cap) {
		b->cap = b->len + len + 1 < 4096 ? 4096 :
		    (b->len + len + 1) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
}

/* buf[len..] gets as much of data[0..n) as fits in size; the new length. */
static size_t
flt_regex_put(char *buf, size_t size, size_t len, const void *data, size_t n)
{
	if (n > size - len)
		n = size - len;
	memcpy(buf + len, data, n);
	return len + n;
}

static int
flt_regex_match(struct fctx *fx, const struct flt_regex *g, size_t i,
    const char *s, size_t len)
{
	pcre2_match_data	*md = pcre2_match_data_create(1, NULL);
	PCRE2_UCHAR		 msg[256];
	int			 rc;

	rc = pcre2_match(g->code[i], (PCRE2_SPTR)s, len, 0, 0, md, g->mctx);
	pcre2_match_data_free(md);
	if (rc >= 0)
		return 1;
	if (rc != PCRE2_ERROR_NOMATCH) {
		pcre2_get_error_message(rc, msg, sizeof(msg));
		log_limited(&flt_regex_log_limit, LOG_LEVEL_WARN,
		    "%s rule %s: %s (counted as no match)",
		    fctx_session_id(fx), g->set.rules[i].name, (char *)msg);
	}
	return 0;
}

/* A rule decides: its reply (or the default naming it) and the verdict. */
static enum fv
flt_regex_decide(struct fctx *fx, const struct rule *r)
{
	metric_add(M_REGEX_RULE_HITS, 1, r->name);
	fctx_result(fx, "%s(%s)", r->action == RULE_REJECT ? "reject" :
	    r->action == RULE_TEMPFAIL ? "tempfail" : r->action ==
	    RULE_ACCEPT ? "accept" : "discard", r->name);
	if (r->action == RULE_REJECT) {
		fctx_reply(fx, r->code[0] ? r->code :
		    flt_regex_at_connect(r->field) ? "554" : "550",
		    r->esc[0] ? r->esc : "5.7.1",
		    "%s%s", r->text ? r->text : "Rejected by rule ",
		    r->text ? "" : r->name);
		return FV_REJECT;
	}
	if (r->action == RULE_TEMPFAIL) {
		fctx_reply(fx, r->code[0] ? r->code : "451",
		    r->esc[0] ? r->esc : "4.7.1", "%s%s", r->text ? r->text :
		    "Deferred by rule ", r->text ? "" : r->name);
		return FV_TEMPFAIL;
	}
	return r->action == RULE_ACCEPT ? FV_ACCEPT : FV_DISCARD;
}

/* A score or tag rule matched. */
static void
flt_regex_note(struct flt_regex_priv *p, const struct rule *r, int conn)
{
	char	*hits = conn ? p->conn_hits : p->hits;
	size_t	 hitsz = conn ? sizeof(p->conn_hits) : sizeof(p->hits);

	metric_add(M_REGEX_RULE_HITS, 1, r->name);
	if (r->action == RULE_TAG && conn) {
		if (p->nconn_tags < REGEX_TAGS_MAX)
			p->conn_tags[p->nconn_tags++] = xstrdup(r->text);
		return;
	}
	if (r->action == RULE_TAG) {
		if (p->ntags < REGEX_TAGS_MAX)
			p->tags[p->ntags++] = xstrdup(r->text);
		return;
	}
	if (conn)
		p->conn_score += r->score;
	else
		p->score += r->score;
	if (hits[0] != '\0')
		strlcat(hits, ",", hitsz);
	strlcat(hits, r->name, hitsz);
}

/* Whether the field is matched at connect (the client's address and
 * names): a reject there refuses the connection, 554 by default. */
static int
flt_regex_at_connect(enum rule_field field)
{
	return field == RULE_CONNECT || field == RULE_CLIENT_NAME ||
	    field == RULE_REVERSE_NAME;
}

/*
 * The rules for the stage's subjects (n of them, one per field), in file
 * order: a rule is matched against the text of its field, and the first
 * deciding rule that matches gives the verdict.
 */
static enum fv
flt_regex_run(struct fctx *fx, const struct flt_regex_subject *subj,
    size_t n)
{
	const struct flt_regex	*g = fctx_gpriv(fx);
	struct flt_regex_priv	*p = flt_regex_priv(fx);
	const struct rule	*r;
	size_t			 i, k;

	for (i = 0; i < g->set.n; i++) {
		r = &g->set.rules[i];
		for (k = 0; k < n; k++)
			if (r->field == subj[k].field &&
			    (r->field != RULE_HEADER ||
			    strcasecmp(r->header, subj[k].hname) == 0))
				break;
		if (k == n || !flt_regex_match(fx, g, i, subj[k].s,
		    subj[k].len))
			continue;
		if (r->action == RULE_SCORE || r->action == RULE_TAG)
			flt_regex_note(p, r, flt_regex_at_connect(r->field) ||
			    r->field == RULE_HELO);
		else
			return flt_regex_decide(fx, r);
	}
	return FV_CONTINUE;
}

/* The rules for one field against s[0..len); for RULE_HEADER, hname is
 * the header's name, or "*" for the rules that see every header. */
static enum fv
flt_regex_run1(struct fctx *fx, enum rule_field field, const char *hname,
    const char *s, size_t len)
{
	const struct flt_regex_subject	 subj = { field, hname, s, len };

	return flt_regex_run(fx, &subj, 1);
}

/* The address, the verified name and the reverse name, all in one pass
 * in file order. */
static enum fv
flt_regex_connect(struct fctx *fx, const char *host,
    const struct sockaddr *sa)
{
	const char			*addr = fctx_client_addr(fx);
	const char			*name = fctx_client_name(fx);
	const char			*rev = fctx_reverse_name(fx);
	const struct flt_regex_subject	 subj[] = {
		{ RULE_CONNECT, NULL, addr, strlen(addr) },
		{ RULE_CLIENT_NAME, NULL, name, strlen(name) },
		{ RULE_REVERSE_NAME, NULL, rev, strlen(rev) },
	};

	(void)host;
	(void)sa;
	return flt_regex_run(fx, subj, nitems(subj));
}

static enum fv
flt_regex_helo(struct fctx *fx, const char *name)
{
	return flt_regex_run1(fx, RULE_HELO, NULL, name, strlen(name));
}

/* A new message: its score, hits, buffers and tags start afresh (the
 * connection's score and tags stay). */
static void
flt_regex_free_tags(char **tags, size_t *n)
{
	while (*n > 0)
		free(tags[--*n]);
}

static enum fv
flt_regex_envfrom(struct fctx *fx, const char *addr, char *const *params)
{
	struct flt_regex_priv	*p = flt_regex_priv(fx);

	(void)params;
	p->score = 0;
	p->hits[0] = '\0';
	p->body.len = p->raw.len = 0;
	flt_regex_free_tags(p->tags, &p->ntags);
	if (p->mime != NULL)
		mime_free(p->mime);
	p->mime = mime_new(8, 256);
	return flt_regex_run1(fx, RULE_MAIL, NULL, addr, strlen(addr));
}

static enum fv
flt_regex_envrcpt(struct fctx *fx, const char *addr, char *const *params)
{
	(void)params;
	return flt_regex_run1(fx, RULE_RCPT, NULL, addr, strlen(addr));
}

/*
 * A header field: raw into the "raw" text, then its decoded value to the
 * header:Name rules and "Name: value" to the header:* rules.  The decoded
 * value may hold a NUL (an encoded one), so it goes by its length.
 */
static enum fv
flt_regex_header(struct fctx *fx, const char *name, const char *value,
    size_t valuelen)
{
	const struct flt_regex	*g = fctx_gpriv(fx);
	struct flt_regex_priv	*p = flt_regex_priv(fx);
	char			 dec[REGEX_HDR_MAX], line[REGEX_HDR_MAX + 128];
	size_t			 n, nlen = strlen(name), len;
	enum fv			 v;

	/* the message's own copies of the fields the verdict writes */
	if (g->score_header[0] != '\0') {
		p->nstatus += strcasecmp(name, g->score_header) == 0;
		p->nflag += nlen == g->tag_name_len &&
		    strncasecmp(name, g->tag_header, nlen) == 0;
	}
	flt_regex_append(&p->raw, name, nlen, g->scan_max);
	flt_regex_append(&p->raw, ":", 1, g->scan_max);
	flt_regex_append(&p->raw, value, valuelen, g->scan_max);
	flt_regex_append(&p->raw, "\r\n", 2, g->scan_max);
	if (p->mime != NULL)
		mime_header(p->mime, name, value, valuelen);
	n = mime_header_decode(value, valuelen, dec, sizeof(dec));
	if ((v = flt_regex_run1(fx, RULE_HEADER, name, dec, n)) !=
	    FV_CONTINUE)
		return v;
	len = flt_regex_put(line, sizeof(line), 0, name, nlen);
	len = flt_regex_put(line, sizeof(line), len, ": ", 2);
	len = flt_regex_put(line, sizeof(line), len, dec, n);
	return flt_regex_run1(fx, RULE_HEADER, "*", line, len);
}

static enum fv
flt_regex_eoh(struct fctx *fx)
{
	const struct flt_regex	*g = fctx_gpriv(fx);

	flt_regex_append(&flt_regex_priv(fx)->raw, "\r\n", 2, g->scan_max);
	return FV_CONTINUE;
}

static void
flt_regex_text(void *arg, const unsigned char *data, size_t len)
{
	struct fctx		*fx = arg;
	const struct flt_regex	*g = fctx_gpriv(fx);

	flt_regex_append(&flt_regex_priv(fx)->body, data, len, g->scan_max);
}

static enum fv
flt_regex_body(struct fctx *fx, const unsigned char *data, size_t len)
{
	const struct flt_regex	*g = fctx_gpriv(fx);
	struct flt_regex_priv	*p = flt_regex_priv(fx);

	flt_regex_append(&p->raw, data, len, g->scan_max);
	if (p->mime != NULL && p->body.len < g->scan_max)
		mime_body(p->mime, data, len, flt_regex_text, fx);
	return FV_CONTINUE;
}

/* Queue one "Name: value" tag as a header addition. */
static void
flt_regex_add_tag(struct fctx *fx, const char *tag)
{
	const char	*colon = strchr(tag, ':');
	char		 name[128];

	snprintf(name, sizeof(name), "%.*s", (int)(colon - tag), tag);
	fctx_add_header(fx, name, colon + 1 + strspn(colon + 1, " "));
}

/*
 * The score header, SpamAssassin's X-Spam-Status (policy/spamstatus.c);
 * the message's own copies of it and of the tag field go, so that no
 * sender can bring a verdict of its own.
 */
static void
flt_regex_status(struct fctx *fx, struct flt_regex_priv *p, double total,
    const char *hits)
{
	const struct flt_regex	*g = fctx_gpriv(fx);
	char			 flag[128], *v;
	unsigned		 i;

	snprintf(flag, sizeof(flag), "%.*s", (int)g->tag_name_len,
	    g->tag_header);
	for (i = 1; i <= p->nstatus; i++)
		fctx_change_header(fx, g->score_header, i, NULL);
	for (i = 1; i <= p->nflag; i++)
		fctx_change_header(fx, flag, i, NULL);
	v = spamstatus(total, g->threshold, g->threshold > 0 &&
	    total >= g->threshold, hits, strlen(g->score_header));
	fctx_add_header(fx, g->score_header, v);
	free(v);
}

/* The score's verdict; the tags of the connection and the message. */
static enum fv
flt_regex_score(struct fctx *fx, struct flt_regex_priv *p)
{
	const struct flt_regex	*g = fctx_gpriv(fx);
	double			 total = p->conn_score + p->score;
	char			 hits[800];
	size_t			 i;

	snprintf(hits, sizeof(hits), "%s%s%s", p->conn_hits,
	    p->conn_hits[0] && p->hits[0] ? "," : "", p->hits);
	fctx_result(fx, "score=%.1f%s%s%s", total, hits[0] ? "(" : "", hits,
	    hits[0] ? ")" : "");
	if (g->threshold > 0 && total >= g->threshold && !g->tag_on_score) {
		fctx_reply(fx, "554", "5.7.1", "Message rejected as spam "
		    "(score %.1f, rules %s)", total, hits);
		return FV_REJECT;
	}
	if (g->threshold > 0 && total >= g->threshold && p->ntags <
	    REGEX_TAGS_MAX)
		p->tags[p->ntags++] = xstrdup(g->tag_header);
	if (g->score_header[0] != '\0')
		flt_regex_status(fx, p, total, hits);
	for (i = 0; i < p->nconn_tags; i++)
		flt_regex_add_tag(fx, p->conn_tags[i]);
	for (i = 0; i < p->ntags; i++)
		flt_regex_add_tag(fx, p->tags[i]);
	flt_regex_free_tags(p->tags, &p->ntags);
	return FV_CONTINUE;
}

static enum fv
flt_regex_eom(struct fctx *fx)
{
	struct flt_regex_priv	*p = flt_regex_priv(fx);
	enum fv			 v;

	if (p->mime != NULL)
		mime_finish(p->mime, flt_regex_text, fx);
	v = flt_regex_run1(fx, RULE_BODY, NULL, p->body.p ? p->body.p : "",
	    p->body.len);
	if (v == FV_CONTINUE)
		v = flt_regex_run1(fx, RULE_RAW, NULL, p->raw.p ? p->raw.p : "",
		    p->raw.len);
	if (v == FV_CONTINUE)
		v = flt_regex_score(fx, p);
	return v;
}

static void
flt_regex_close(struct fctx *fx)
{
	struct flt_regex_priv	*p = fctx_priv(fx);

	if (p == NULL)
		return;
	flt_regex_free_tags(p->tags, &p->ntags);
	flt_regex_free_tags(p->conn_tags, &p->nconn_tags);
	if (p->mime != NULL)
		mime_free(p->mime);
	free(p->body.p);
	free(p->raw.p);
	free(p);
	fctx_set_priv(fx, NULL);
}

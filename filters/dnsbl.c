/* SPDX-License-Identifier: ISC */
/*
 * dnsbl.c - the dnsbl filter: DNS block and allow lists.
 *
 * At connect the client's address is looked up in every zone of
 * dnsbl.sites (postscreen_dnsbl_sites syntax, policy/dnsbl_sites.h); at
 * MAIL the sender's domain and the HELO name in every zone of
 * dnsbl.rhs_sites.  Each zone that lists the name (an A record its reply
 * filter lets through) adds its weight; a sum that reaches
 * dnsbl.threshold refuses with Postfix's words: "554 5.7.1 Service
 * unavailable; client [ADDR] blocked using ZONE", with the zone's TXT
 * record after it when there is one.  A negative weight is an allow list:
 * a client it lists, and that stays under the threshold, skips the
 * right-hand-side lists.
 *
 * All the lookups of a stage go at once (dns_query_all: A and TXT for each
 * name) on one worker, bounded by dnsbl.timeout.  What a list said of a
 * name is kept for the answers' TTLs (at most an hour) in a cache of the
 * filter's own (lib/ttlcache.c, dnsbl.cache_size entries), so a client
 * seen again is judged on the event loop, without a worker.  A lookup
 * that fails or times out counts as not listed (never a refusal) and is
 * logged.  The TXT text is the list's, not ours:
 * only printable ASCII of it reaches the reply, at most 200 bytes.
 * dnsbl.reply_names shows another name for a zone in replies (a zone
 * whose name holds an access key, as DQS zones do).
 *
 * Public: flt_dnsbl_ops.
 *
 * DIAGNOSTICS
 *	Configuration errors as "dnsbl.sites: 'entry': what is wrong"; at
 *	run time (log_limited, warning): "SID dnsbl: NAME: no answer (a
 *	server failure, or none within dnsbl.timeout): not listed".
 */
#include <sys/socket.h>

#include <arpa/nameser.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "filters/filter.h"
#include "lib/dns.h"
#include "lib/log.h"
#include "lib/ttlcache.h"
#include "lib/util.h"
#include "policy/conf.h"
#include "policy/dnsbl_sites.h"

#define FLT_DNSBL_PROBES	(2 * DNSBL_SITES_MAX)	/* names a stage */
#define FLT_DNSBL_TXT_MAX	200
#define FLT_DNSBL_NAMES_MAX	32	/* dnsbl.reply_names entries */
#define FLT_DNSBL_CACHE_TTL	3600	/* the longest an answer is kept */

/* What a name is looked up for: the words of the reply. */
enum flt_dnsbl_kind {
	FLT_DNSBL_CLIENT,
	FLT_DNSBL_SENDER,
	FLT_DNSBL_HELO,
};

struct flt_dnsbl_alias {
	char		 zone[DNSBL_NAME_MAX + 1];
	char		 shown[DNSBL_NAME_MAX + 1];
};

struct flt_dnsbl {
	struct dns		*dns;		/* not owned */
	struct dnsbl_sites	 ip;		/* dnsbl.sites */
	struct dnsbl_sites	 rhs;		/* dnsbl.rhs_sites */
	struct flt_dnsbl_alias	 alias[FLT_DNSBL_NAMES_MAX];
	size_t			 nalias;
	int			 threshold;
	unsigned		 timeout_ms;
	struct ttlcache		*cache;		/* name: flt_dnsbl_seen */
};

/* What a list said of a name, as kept in the cache. */
struct flt_dnsbl_seen {
	int			 listed;
	uint8_t			 code[4];	/* the A record that counted */
	char			 txt[FLT_DNSBL_TXT_MAX + 1];
};

/* One name asked of one zone, and what came back. */
struct flt_dnsbl_probe {
	const struct dnsbl_site	*site;		/* g's */
	enum flt_dnsbl_kind	 kind;
	const char		*what;		/* ADDR, sender, HELO: job's */
	char			 name[DNSBL_NAME_MAX + 1];
	int			 cached;	/* seen came from the cache */
	int			 failed;	/* no answer: not listed */
	unsigned		 ttl;		/* of the answers, seconds */
	struct flt_dnsbl_seen	 seen;
};

/* One stage's lookups: filled on the loop, run on a worker. */
struct flt_dnsbl_job {
	struct flt_dnsbl	*g;
	int			 rhs;		/* MAIL's: rhs_sites */
	char			 what[3][DNSBL_NAME_MAX + 1];	/* by kind */
	struct flt_dnsbl_probe	 probe[FLT_DNSBL_PROBES];
	size_t			 n;
};

/* Per connection. */
struct flt_dnsbl_conn {
	int			 score;		/* the client lists' */
	int			 allowed;	/* an allow list listed it */
	char			 helo[DNSBL_NAME_MAX + 1];
	char			 listed[512];	/* for the log and header */
	char			 rhs_listed[512];	/* this transaction's */
};

static int	flt_dnsbl_init(const struct conf *, struct dns *, void **,
		    char *, size_t);
static void	flt_dnsbl_fini(void *);
static int	flt_dnsbl_aliases(struct flt_dnsbl *, const char *, char *,
		    size_t);
static enum fv	flt_dnsbl_connect(struct fctx *, const char *,
		    const struct sockaddr *);
static enum fv	flt_dnsbl_helo(struct fctx *, const char *);
static enum fv	flt_dnsbl_envfrom(struct fctx *, const char *,
		    char *const *);
static enum fv	flt_dnsbl_eom(struct fctx *);
static void	flt_dnsbl_abort(struct fctx *);
static void	flt_dnsbl_close(struct fctx *);
static void	flt_dnsbl_add(struct flt_dnsbl_job *, const struct dnsbl_sites *,
		    enum flt_dnsbl_kind, const char *, const struct sockaddr *);
static enum fv	flt_dnsbl_start(struct fctx *, struct flt_dnsbl_job *);
static void	flt_dnsbl_work(void *);
static void	flt_dnsbl_answer(struct flt_dnsbl_probe *,
		    const struct dns_answer *, const struct dns_answer *);
static void	flt_dnsbl_done(struct fctx *, void *);
static enum fv	flt_dnsbl_judge(struct fctx *, struct flt_dnsbl_job *);
static const struct flt_dnsbl_probe *flt_dnsbl_sum(struct fctx *,
		    const struct flt_dnsbl_job *, int *, int *, char *, size_t);
static enum fv	flt_dnsbl_refuse(struct fctx *,
		    const struct flt_dnsbl_probe *);

const struct filter_ops flt_dnsbl_ops = {
	.name = "dnsbl",
	.needs = FILTER_NEEDS_DNS,
	.init = flt_dnsbl_init,
	.fini = flt_dnsbl_fini,
	.connect = flt_dnsbl_connect,
	.helo = flt_dnsbl_helo,
	.envfrom = flt_dnsbl_envfrom,
	.eom = flt_dnsbl_eom,
	.abort = flt_dnsbl_abort,
	.close = flt_dnsbl_close,
};

static struct log_limit flt_dnsbl_log_timeout =
	    LOG_LIMIT("dnsbl lookups without an answer");
static struct log_limit flt_dnsbl_log_full =
	    LOG_LIMIT("dnsbl: worker pool full");

static int
flt_dnsbl_init(const struct conf *c, struct dns *dns, void **gpriv,
    char *err, size_t errsz)
{
	struct flt_dnsbl	*g = xcalloc(1, sizeof(*g));
	char			 l[400];
	int			 rc = 0;

	g->dns = dns;
	g->threshold = c->dnsbl_threshold;
	g->timeout_ms = c->dnsbl_timeout * 1000;
	if (dnsbl_sites_parse(c->dnsbl_sites, conf_label(c, "dnsbl", "sites",
	    l, sizeof(l)), &g->ip, err, errsz) == -1)
		rc = -1;
	if (dnsbl_sites_parse(c->dnsbl_rhs_sites, conf_label(c, "dnsbl",
	    "rhs_sites", l, sizeof(l)), &g->rhs, err, errsz) == -1)
		rc = -1;
	if (flt_dnsbl_aliases(g, c->dnsbl_reply_names, err, errsz) == -1)
		rc = -1;
	if (rc == 0 && g->ip.n == 0 && g->rhs.n == 0) {
		util_err_append(err, errsz, "dnsbl: no zone to ask: set "
		    "dnsbl.sites (and/or dnsbl.rhs_sites)");
		rc = -1;
	}
	if (rc == -1) {
		free(g);
		return -1;
	}
	g->cache = ttlcache_new("dnsbl", c->dnsbl_cache_size,
	    sizeof(struct flt_dnsbl_seen), FLT_DNSBL_CACHE_TTL);
	*gpriv = g;
	return 0;
}

static void
flt_dnsbl_fini(void *gpriv)
{
	struct flt_dnsbl	*g = gpriv;

	if (g == NULL)
		return;
	ttlcache_free(g->cache);
	free(g);
}

/* dnsbl.reply_names: "zone=shown" entries, commas or blanks between. */
static int
flt_dnsbl_aliases(struct flt_dnsbl *g, const char *spec, char *err,
    size_t errsz)
{
	char	*copy = xstrdup(spec), *p, *save, *eq;
	int	 rc = 0;

	for (p = strtok_r(copy, ", \t", &save); p != NULL;
	    p = strtok_r(NULL, ", \t", &save)) {
		eq = strchr(p, '=');
		if (eq == NULL || eq == p || eq[1] == '\0' ||
		    g->nalias == FLT_DNSBL_NAMES_MAX ||
		    (size_t)(eq - p) > DNSBL_NAME_MAX ||
		    strlen(eq + 1) > DNSBL_NAME_MAX) {
			util_err_append(err, errsz, "dnsbl.reply_names: "
			    "'%.80s': want zone=name (at most %d)", p,
			    FLT_DNSBL_NAMES_MAX);
			rc = -1;
			continue;
		}
		memcpy(g->alias[g->nalias].zone, p, (size_t)(eq - p));
		strlcpy(g->alias[g->nalias].shown, eq + 1,
		    sizeof(g->alias[0].shown));
		g->nalias++;
	}
	free(copy);
	return rc;
}

static struct flt_dnsbl_conn *
flt_dnsbl_conn(struct fctx *fx)
{
	struct flt_dnsbl_conn	*c = fctx_priv(fx);

	if (c == NULL) {
		c = xcalloc(1, sizeof(*c));
		fctx_set_priv(fx, c);
	}
	return c;
}

static enum fv
flt_dnsbl_connect(struct fctx *fx, const char *host,
    const struct sockaddr *sa)
{
	struct flt_dnsbl	*g = fctx_gpriv(fx);
	struct flt_dnsbl_job	*j;

	(void)host;
	(void)flt_dnsbl_conn(fx);
	if (g->ip.n == 0 || sa == NULL ||
	    (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
		return FV_CONTINUE;
	j = xcalloc(1, sizeof(*j));
	j->g = g;
	flt_dnsbl_add(j, &g->ip, FLT_DNSBL_CLIENT, fctx_client_addr(fx), sa);
	return flt_dnsbl_start(fx, j);
}

static enum fv
flt_dnsbl_helo(struct fctx *fx, const char *name)
{
	strlcpy(flt_dnsbl_conn(fx)->helo, name,
	    sizeof(flt_dnsbl_conn(fx)->helo));
	return FV_CONTINUE;
}

static enum fv
flt_dnsbl_envfrom(struct fctx *fx, const char *addr, char *const *params)
{
	struct flt_dnsbl	*g = fctx_gpriv(fx);
	struct flt_dnsbl_conn	*c = flt_dnsbl_conn(fx);
	struct flt_dnsbl_job	*j;
	const char		*at = strrchr(addr, '@');

	(void)params;
	c->rhs_listed[0] = '\0';
	if (g->rhs.n == 0)
		return FV_CONTINUE;
	if (c->allowed) {
		fctx_result(fx, "allowed(%s)", c->listed);
		return FV_CONTINUE;
	}
	j = xcalloc(1, sizeof(*j));
	j->g = g;
	if (at != NULL)
		flt_dnsbl_add(j, &g->rhs, FLT_DNSBL_SENDER, at + 1, NULL);
	flt_dnsbl_add(j, &g->rhs, FLT_DNSBL_HELO, c->helo, NULL);
	if (j->n == 0) {
		free(j);
		return FV_CONTINUE;
	}
	strlcpy(j->what[FLT_DNSBL_SENDER], addr, sizeof(j->what[0]));
	j->rhs = 1;
	return flt_dnsbl_start(fx, j);
}

/* One name per zone of sites for what (an address when sa is not NULL,
 * else a domain; one that no list could hold is left out). */
static void
flt_dnsbl_add(struct flt_dnsbl_job *j, const struct dnsbl_sites *sites,
    enum flt_dnsbl_kind kind, const char *what, const struct sockaddr *sa)
{
	struct flt_dnsbl_probe	*p;
	size_t			 i;
	int			 rc;

	strlcpy(j->what[kind], what, sizeof(j->what[0]));
	for (i = 0; i < sites->n && j->n < FLT_DNSBL_PROBES; i++) {
		p = &j->probe[j->n];
		rc = sa != NULL ? dnsbl_client_name(sa, sites->site[i].zone,
		    p->name, sizeof(p->name)) : dnsbl_domain_name(what,
		    sites->site[i].zone, p->name, sizeof(p->name));
		if (rc == -1)
			continue;
		p->site = &sites->site[i];
		p->kind = kind;
		p->what = j->what[kind];
		p->cached = ttlcache_get(j->g->cache, p->name, util_now_ms(),
		    &p->seen);
		j->n++;
	}
}

/* The lookups the cache did not answer, on the pool: PENDING; all
 * answered: the verdict now; a full pool: a temporary fault's CONTINUE
 * (never a refusal for want of a worker). */
static enum fv
flt_dnsbl_start(struct fctx *fx, struct flt_dnsbl_job *j)
{
	enum fv	 v;
	size_t	 i;

	for (i = 0; i < j->n && j->probe[i].cached; i++)
		;
	if (i == j->n) {
		v = flt_dnsbl_judge(fx, j);
		free(j);
		return v;
	}
	if (fctx_defer(fx, flt_dnsbl_work, flt_dnsbl_done, j) == 0)
		return FV_PENDING;
	log_limited(&flt_dnsbl_log_full, LOG_LEVEL_WARN, "%s dnsbl: worker "
	    "pool full, not looked up", fctx_session_id(fx));
	fctx_result(fx, "temperror(worker pool full)");
	free(j);
	return FV_CONTINUE;
}

/* On a pool thread: A and TXT of every name, all at once. */
static void
flt_dnsbl_work(void *arg)
{
	struct flt_dnsbl_job	*j = arg;
	struct dns_question	 q[2 * FLT_DNSBL_PROBES];
	struct dns_answer	 a[2 * FLT_DNSBL_PROBES];
	struct flt_dnsbl_probe	*ask[FLT_DNSBL_PROBES];
	size_t			 i, n = 0;

	for (i = 0; i < j->n; i++) {
		if (j->probe[i].cached)
			continue;
		ask[n] = &j->probe[i];
		q[2 * n].name = q[2 * n + 1].name = j->probe[i].name;
		q[2 * n].type = ns_t_a;
		q[2 * n + 1].type = ns_t_txt;
		n++;
	}
	dns_query_all(j->g->dns, q, 2 * n, util_now_ms() + j->g->timeout_ms,
	    a);
	for (i = 0; i < n; i++) {
		flt_dnsbl_answer(ask[i], &a[2 * i], &a[2 * i + 1]);
		dns_answer_free(&a[2 * i]);
		dns_answer_free(&a[2 * i + 1]);
	}
}

/* Listed when an A record passes the zone's filter; its TXT, printable. */
static void
flt_dnsbl_answer(struct flt_dnsbl_probe *p, const struct dns_answer *a,
    const struct dns_answer *txt)
{
	char	 buf[1024], *s;
	size_t	 i;

	p->failed = a->status == DNS_TEMPFAIL;
	p->ttl = a->ttl;
	for (i = 0; a->status == DNS_OK && i < a->n && !p->seen.listed; i++)
		if (a->len[i] == 4 && dnsbl_site_match(p->site, a->data[i])) {
			p->seen.listed = 1;
			memcpy(p->seen.code, a->data[i], 4);
		}
	if (!p->seen.listed || txt->status != DNS_OK || txt->n == 0 ||
	    dns_txt_from_wire(txt->data[0], txt->len[0], buf,
	    sizeof(buf)) == -1)
		return;
	if (txt->ttl < p->ttl)
		p->ttl = txt->ttl;
	for (s = buf; *s != '\0'; s++)
		if (!isprint((unsigned char)*s))
			*s = '?';
	strlcpy(p->seen.txt, buf, sizeof(p->seen.txt));
}

/* On the loop: the answers into the cache, then the verdict. */
static void
flt_dnsbl_done(struct fctx *fx, void *arg)
{
	struct flt_dnsbl_job	*j = arg;
	uint64_t		 now = util_now_ms();
	size_t			 i;

	if (fx != NULL) {
		for (i = 0; i < j->n; i++)
			if (!j->probe[i].cached && !j->probe[i].failed)
				ttlcache_put(j->g->cache, j->probe[i].name, now,
				    j->probe[i].ttl, &j->probe[i].seen);
		fctx_resume(fx, flt_dnsbl_judge(fx, j));
	}
	free(j);
}

/* The stage's sum against the threshold: the result and the verdict. */
static enum fv
flt_dnsbl_judge(struct fctx *fx, struct flt_dnsbl_job *j)
{
	struct flt_dnsbl_conn		*c = flt_dnsbl_conn(fx);
	const struct flt_dnsbl_probe	*worst;
	int				 score, allow;

	worst = flt_dnsbl_sum(fx, j, &score, &allow, j->rhs ? c->rhs_listed :
	    c->listed, sizeof(c->listed));
	if (j->rhs) {
		score += c->score;
		fctx_result(fx, "%s%s%s%s score=%d", c->listed[0] != '\0' ?
		    "client(" : "", c->listed, c->listed[0] != '\0' ? ") " :
		    "", c->rhs_listed[0] != '\0' ? c->rhs_listed : "rhs(none)",
		    score);
	} else {
		c->score = score;
		c->allowed = allow && score < j->g->threshold;
		if (c->listed[0] == '\0')
			fctx_result(fx, "none");
		else
			fctx_result(fx, "%s(%s) score=%d", score >=
			    j->g->threshold ? "listed" : c->allowed ?
			    "allowed" : "below-threshold", c->listed, score);
	}
	return worst != NULL && score >= j->g->threshold ?
	    flt_dnsbl_refuse(fx, worst) : FV_CONTINUE;
}

/*
 * The weights of what j's zones listed, into *score; *allow when an allow
 * list (negative weight) is among them; "zone=code*weight ..." into desc;
 * timeouts logged.  Returns the listing with the highest positive weight
 * (the one a refusal names), or NULL.
 */
static const struct flt_dnsbl_probe *
flt_dnsbl_sum(struct fctx *fx, const struct flt_dnsbl_job *j, int *score,
    int *allow, char *desc, size_t descsz)
{
	const struct flt_dnsbl_probe	*p, *worst = NULL;
	char				 one[DNSBL_NAME_MAX + 40];
	size_t				 i;

	*score = 0;
	*allow = 0;
	desc[0] = '\0';
	for (i = 0; i < j->n; i++) {
		p = &j->probe[i];
		if (p->failed)
			log_limited(&flt_dnsbl_log_timeout, LOG_LEVEL_WARN,
			    "%s dnsbl: %s: no answer (a server failure, or "
			    "none within dnsbl.timeout): not listed",
			    fctx_session_id(fx), p->name);
		if (!p->seen.listed)
			continue;
		*score += p->site->weight;
		if (p->site->weight < 0)
			*allow = 1;
		else if (worst == NULL || p->site->weight > worst->site->weight)
			worst = p;
		snprintf(one, sizeof(one), "%s%s=%u.%u.%u.%u*%d",
		    desc[0] != '\0' ? " " : "", p->site->zone, p->seen.code[0],
		    p->seen.code[1], p->seen.code[2], p->seen.code[3],
		    p->site->weight);
		strlcat(desc, one, descsz);
	}
	return worst;
}

/* 554 5.7.1 in Postfix's words, naming the zone (or its reply name). */
static enum fv
flt_dnsbl_refuse(struct fctx *fx, const struct flt_dnsbl_probe *p)
{
	struct flt_dnsbl	*g = fctx_gpriv(fx);
	const char		*zone = p->site->zone;
	static const char *const subject[] = {
		[FLT_DNSBL_CLIENT] = "client",
		[FLT_DNSBL_SENDER] = "Sender address",
		[FLT_DNSBL_HELO] = "Helo command",
	};
	size_t			 i;

	for (i = 0; i < g->nalias; i++)
		if (strcasecmp(g->alias[i].zone, zone) == 0)
			zone = g->alias[i].shown;
	fctx_reply(fx, "554", "5.7.1", "Service unavailable; %s [%s] blocked "
	    "using %s%s%s", subject[p->kind], p->what, zone,
	    p->seen.txt[0] != '\0' ? "; " : "", p->seen.txt);
	return FV_REJECT;
}

/* The lists' findings on the message, when there are any. */
static enum fv
flt_dnsbl_eom(struct fctx *fx)
{
	struct flt_dnsbl_conn	*c = fctx_priv(fx);
	char			 v[1100];

	if (c == NULL || (c->listed[0] == '\0' && c->rhs_listed[0] == '\0'))
		return FV_CONTINUE;
	snprintf(v, sizeof(v), "%s%s%s", c->listed, c->listed[0] != '\0' &&
	    c->rhs_listed[0] != '\0' ? " " : "", c->rhs_listed);
	fctx_add_header(fx, "X-Postern-DNSBL", v);
	return FV_CONTINUE;
}

static void
flt_dnsbl_abort(struct fctx *fx)
{
	struct flt_dnsbl_conn	*c = fctx_priv(fx);

	if (c != NULL)
		c->rhs_listed[0] = '\0';
}

static void
flt_dnsbl_close(struct fctx *fx)
{
	free(fctx_priv(fx));
	fctx_set_priv(fx, NULL);
}

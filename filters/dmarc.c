/* SPDX-License-Identifier: ISC */
/*
 * dmarc.c - the dmarc filter: RFC 7489 (and RFC 9091's np) on the From
 * domain, from the SPF and DKIM results the filters before it gave
 * (fctx_auth_results).
 *
 * The From field must hold addresses of one domain (proto/mailbox.c);
 * several domains, or none, are dmarc.multiple_from's (RFC 7489 6.6.1).
 * At the end of the message the identities are copied from the chain's
 * results, then one worker looks up, all at once (dns_query_all), the TXT
 * records of _dmarc.FROM and _dmarc.ORG (ORG the organizational domain
 * from the public suffix list, libpsl) and A, AAAA and MX of FROM, whose
 * NXDOMAIN makes it a non-existent domain (RFC 9091); chooses and reads
 * the record (proto/dmarc_record.c), judges (filters/dmarc_eval.c),
 * decides the action and appends the message to dmarc.history_file
 * (filters/dmarc_history.c), all off the event loop.  Back on the loop
 * the result is marked and the action taken, and what the lookups found
 * for FROM is kept for their TTLs (lib/ttlcache.c, dmarc.cache_size):
 * a From domain seen again is judged on the loop, without a worker, or
 * with one only to append to the history file.
 *
 * None of libopendmarc 1.4.2: its record choice and parse, alignment,
 * pct=0 and np are not the RFC's (LIBRARIES.md section 10), and its
 * public suffix lookup (opendmarc_get_tld) answers co.uk for x.co.uk,
 * bar.ck for foo.bar.ck (*.ck) and nothing for upper case names.
 *
 * Outcome, in Authentication-Results as "dmarc=RESULT (p=POLICY
 * dis=DISPOSITION) header.from=FROM" and in the log:
 *	pass, none	relayed
 *	fail		by the disposition (the policy after pct), capped by
 *			dmarc.reject_policy: reject is 550 5.7.1; quarantine
 *			is dmarc.quarantine_action's (tag: relayed with
 *			X-Postern-DMARC: quarantine); none relayed.  A client
 *			or SPF-verified sender on dmarc.allow_domains, and a
 *			passing ARC chain whose last sealer is on
 *			dmarc.arc_trusted (RFC 8617 7.2.1), is judged and
 *			marked, never refused.
 *	temperror	a lookup failed: dmarc.temperror_action
 *	permerror	a v=DMARC1 record that cannot be used: relayed
 *
 * Public: flt_dmarc_ops.
 *
 * DIAGNOSTICS
 *	"dmarc.public_suffix_list PATH: cannot be read" at start and reload;
 *	"dmarc.history_file PATH: ..." (logged) when a record cannot be
 *	appended.
 */
#include <sys/socket.h>

#include <arpa/nameser.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libpsl.h>

#include "filters/dmarc_eval.h"
#include "filters/dmarc_history.h"
#include "filters/filter.h"
#include "lib/dns.h"
#include "lib/log.h"
#include "lib/ttlcache.h"
#include "lib/util.h"
#include "policy/conf.h"
#include "policy/table.h"
#include "proto/dmarc_record.h"
#include "proto/mailbox.h"
#include "proto/taglist.h"

#define FLT_DMARC_TXT_MAX	2048	/* one TXT record, joined */
#define FLT_DMARC_TXTS		8	/* TXT records looked at */
#define FLT_DMARC_SIGS		16	/* DKIM results looked at */
#define FLT_DMARC_FROMS		8	/* addresses of a From looked at */
#define FLT_DMARC_HISTORY_MAX	8192	/* one message's history lines */
#define FLT_DMARC_CACHE_TTL	3600	/* seconds, at most */
#define FLT_DMARC_BY_ARC	2	/* allowed: a trusted ARC sealer */

#define FLT_DMARC_NAME		(MAILBOX_DOMAIN_MAX + 1)	/* a domain */

enum flt_dmarc_q {			/* the lookups, in dns_query_all;
					   ORG last: left out when FROM is
					   its own organizational domain */
	FLT_DMARC_Q_FROM, FLT_DMARC_Q_A, FLT_DMARC_Q_AAAA, FLT_DMARC_Q_MX,
	FLT_DMARC_Q_ORG, FLT_DMARC_NQ
};

enum flt_dmarc_act {
	FLT_DMARC_RELAY, FLT_DMARC_TAG, FLT_DMARC_REJECT, FLT_DMARC_TEMPFAIL
};

/* Per configuration generation. */
struct flt_dmarc {
	struct dns		*dns;		/* not owned */
	psl_ctx_t		*psl;
	struct addrtable	*allow;		/* NULL: none */
	struct addrtable	*arc_trusted;	/* NULL: none */
	struct ttlcache		*cache;		/* From domain:
						   struct flt_dmarc_found */
	unsigned		 timeout_ms;
	int			 reject_cap;	/* conf's dmarc_reject_policy */
	enum conf_action	 quarantine;	/* accept: tag */
	enum conf_action	 temperror;
	char			 history[256];	/* "" none */
	char			 reporter[256];	/* this host's name */
};

/* Per connection: the message's From, as the header stage saw it. */
struct flt_dmarc_conn {
	unsigned		 msgs;		/* messages begun: job ids */
	int			 froms;		/* From fields */
	int			 domains;	/* distinct author domains, or
						   -1: a From not parsed */
	char			 from[FLT_DMARC_NAME];
	char			 sender[512];	/* MAIL FROM */
	char			 helo[FLT_DMARC_NAME];
	unsigned		 arc_i;		/* the newest ARC-Seal's i= */
	char			 arc_d[FLT_DMARC_NAME];	/* and its d= */
};

/* What the lookups found for a From domain (cached). */
struct flt_dmarc_found {
	int			 rc;		/* 1 a record, 0 none, -1 none
						   usable, -2 a lookup failed */
	int			 perm;		/* -1: a record not usable */
	int			 rec_at_org;	/* the org domain's record */
	int			 from_exists;	/* RFC 9091 */
	struct dmarc_record	 rec;
};

/* A DKIM result of the chain's, copied. */
struct flt_dmarc_sig {
	char			 d[FLT_DMARC_NAME];
	char			 s[64];
	char			 result[16];
};

/* One message's judgement: in on the loop, worked on a pool thread, out
 * on the loop again. */
struct flt_dmarc_job {
	struct flt_dmarc	*g;
	/* copied at eom */
	char			 from[FLT_DMARC_NAME];
	char			 org[FLT_DMARC_NAME];	/* "": none known */
	char			 mfrom[FLT_DMARC_NAME];	/* MAIL FROM's, HELO */
	char			 spf[16];	/* MAIL FROM's SPF result */
	char			 spf_pass[FLT_DMARC_NAME];	/* its domain
							   on a pass */
	struct flt_dmarc_sig	 sigs[FLT_DMARC_SIGS];
	size_t			 nsigs;
	int			 allowed;	/* dmarc.allow_domains, or
						   FLT_DMARC_BY_ARC */
	char			 sealer[FLT_DMARC_NAME];	/* ARC's */
	char			 ip[64];
	char			 job[64];
	/* the lookups, or the cache */
	struct flt_dmarc_found	 found;
	int			 cached;	/* found from the cache */
	unsigned		 ttl;		/* found holds that long; 0 not
						   to be kept */
	/* the verdict */
	struct dmarc_eval_out	 out;		/* result NONE: no record */
	enum dmarc_policy	 dis;		/* applied: capped, allowed */
	enum flt_dmarc_act	 act;
};

static int	flt_dmarc_init(const struct conf *, struct dns *, void **,
		    char *, size_t);
static void	flt_dmarc_fini(void *);
static enum fv	flt_dmarc_helo(struct fctx *, const char *);
static enum fv	flt_dmarc_envfrom(struct fctx *, const char *,
		    char *const *);
static enum fv	flt_dmarc_header(struct fctx *, const char *, const char *,
		    size_t);
static enum fv	flt_dmarc_eom(struct fctx *);
static void	flt_dmarc_close(struct fctx *);
static struct flt_dmarc_conn *flt_dmarc_conn(struct fctx *);
static enum fv	flt_dmarc_several(struct fctx *, struct flt_dmarc_conn *);
static void	flt_dmarc_identities(struct fctx *, struct flt_dmarc_job *);
static void	flt_dmarc_sealer(struct flt_dmarc_conn *, const char *,
		    size_t);
static int	flt_dmarc_arc_pass(struct fctx *);
static int	flt_dmarc_allowed(struct fctx *, struct flt_dmarc *,
		    const struct flt_dmarc_conn *,
		    struct flt_dmarc_job *);
static void	flt_dmarc_work(void *);
static void	flt_dmarc_lookup(struct flt_dmarc_job *);
static int	flt_dmarc_record(struct flt_dmarc_job *,
		    const struct dns_answer *);
static void	flt_dmarc_decide(struct flt_dmarc_job *);
static void	flt_dmarc_eval(struct flt_dmarc_job *);
static void	flt_dmarc_domain(struct flt_dmarc *, const char *,
		    struct dmarc_domain *);
static void	flt_dmarc_history(struct flt_dmarc_job *);
static void	flt_dmarc_done(struct fctx *, void *);
static enum fv	flt_dmarc_act(struct fctx *, const struct flt_dmarc_job *);
static void	flt_dmarc_mark(struct fctx *, const char *, enum dmarc_result,
		    const char *);

const struct filter_ops flt_dmarc_ops = {
	.name = "dmarc",
	.needs = FILTER_NEEDS_DNS | FILTER_AUTHRES,
	.init = flt_dmarc_init,
	.fini = flt_dmarc_fini,
	.helo = flt_dmarc_helo,
	.envfrom = flt_dmarc_envfrom,
	.header = flt_dmarc_header,
	.eom = flt_dmarc_eom,
	.close = flt_dmarc_close,
};

static int
flt_dmarc_init(const struct conf *c, struct dns *dns, void **gpriv,
    char *err, size_t errsz)
{
	struct flt_dmarc	*g = xcalloc(1, sizeof(*g));
	char			 l[400];
	int			 bad;

	g->dns = dns;
	g->timeout_ms = c->dmarc_timeout * 1000;
	g->reject_cap = c->dmarc_reject_policy;
	g->quarantine = c->dmarc_quarantine_action;
	g->temperror = c->dmarc_temperror_action;
	strlcpy(g->history, c->dmarc_history_file, sizeof(g->history));
	strlcpy(g->reporter, c->hostname, sizeof(g->reporter));
	g->cache = ttlcache_new("dmarc", c->dmarc_cache_size,
	    sizeof(struct flt_dmarc_found), FLT_DMARC_CACHE_TTL);
	if ((g->psl = psl_load_file(c->dmarc_public_suffix_list)) == NULL)
		util_err_append(err, errsz, "dmarc.public_suffix_list %s: "
		    "cannot be read (Debian: the publicsuffix package)",
		    c->dmarc_public_suffix_list);
	bad = addrtable_from(&g->arc_trusted, c->dmarc_arc_trusted, "",
	    conf_label(c, "dmarc", "arc_trusted", l, sizeof(l)), err,
	    errsz) == -1;
	if (addrtable_from(&g->allow, c->dmarc_allow_domains, "",
	    conf_label(c, "dmarc", "allow_domains", l, sizeof(l)), err,
	    errsz) == -1 || g->psl == NULL || bad) {
		flt_dmarc_fini(g);
		return -1;
	}
	*gpriv = g;
	return 0;
}

static void
flt_dmarc_fini(void *gpriv)
{
	struct flt_dmarc	*g = gpriv;

	if (g == NULL)
		return;
	if (g->psl != NULL)
		psl_free(g->psl);
	addrtable_free(g->allow);
	addrtable_free(g->arc_trusted);
	ttlcache_free(g->cache);
	free(g);
}

static struct flt_dmarc_conn *
flt_dmarc_conn(struct fctx *fx)
{
	struct flt_dmarc_conn	*c = fctx_priv(fx);

	if (c == NULL) {
		c = xcalloc(1, sizeof(*c));
		fctx_set_priv(fx, c);
	}
	return c;
}

static enum fv
flt_dmarc_helo(struct fctx *fx, const char *name)
{
	struct flt_dmarc_conn	*c = flt_dmarc_conn(fx);

	strlcpy(c->helo, name, sizeof(c->helo));
	return FV_CONTINUE;
}

static enum fv
flt_dmarc_envfrom(struct fctx *fx, const char *addr, char *const *params)
{
	struct flt_dmarc_conn	*c = flt_dmarc_conn(fx);

	(void)params;
	c->msgs++;
	c->froms = c->domains = 0;
	c->from[0] = c->arc_d[0] = '\0';
	c->arc_i = 0;
	strlcpy(c->sender, addr, sizeof(c->sender));
	return FV_CONTINUE;
}

/* Every From field: its addresses' domains, all of one domain or not. */
static enum fv
flt_dmarc_header(struct fctx *fx, const char *name, const char *value,
    size_t len)
{
	struct flt_dmarc_conn	*c = flt_dmarc_conn(fx);
	char			 d[FLT_DMARC_FROMS][FLT_DMARC_NAME];
	int			 n, i;

	if (fctx_header_deleted(fx))
		return FV_CONTINUE;
	if (strcasecmp(name, "ARC-Seal") == 0) {
		flt_dmarc_sealer(c, value, len);
		return FV_CONTINUE;
	}
	if (strcasecmp(name, "From") != 0)
		return FV_CONTINUE;
	if (c->froms++ > 0 || (n = mailbox_domains(value, len, d,
	    FLT_DMARC_FROMS)) < 0) {
		c->domains = -1;
		return FV_CONTINUE;
	}
	strlcpy(c->from, d[0], sizeof(c->from));
	c->domains = 1;
	for (i = 1; i < n; i++)
		if (i >= FLT_DMARC_FROMS || strcmp(d[i], d[0]) != 0)
			c->domains = 2;
	return FV_CONTINUE;
}
static enum fv
flt_dmarc_eom(struct fctx *fx)
{
	struct flt_dmarc	*g = fctx_gpriv(fx);
	struct flt_dmarc_conn	*c = flt_dmarc_conn(fx);
	struct flt_dmarc_job	*j;
	const char		*org, *at;
	enum fv			 v;

	if (c->froms != 1 || c->domains != 1)
		return flt_dmarc_several(fx, c);
	j = xcalloc(1, sizeof(*j));
	j->g = g;
	strlcpy(j->from, c->from, sizeof(j->from));
	if ((org = psl_registrable_domain(g->psl, j->from)) != NULL)
		strlcpy(j->org, org, sizeof(j->org));
	at = strrchr(c->sender, '@');
	strlcpy(j->mfrom, at != NULL ? at + 1 : c->helo, sizeof(j->mfrom));
	strlcpy(j->ip, fctx_client_addr(fx), sizeof(j->ip));
	snprintf(j->job, sizeof(j->job), "%s.%u", fctx_session_id(fx),
	    c->msgs);
	flt_dmarc_identities(fx, j);
	j->allowed = flt_dmarc_allowed(fx, g, c, j);
	j->cached = ttlcache_get(g->cache, j->from, util_now_ms(), &j->found);
	if (j->cached && g->history[0] == '\0') {
		flt_dmarc_decide(j);	/* no lookup, no file: on the loop */
		v = flt_dmarc_act(fx, j);
		free(j);
		return v;
	}
	if (fctx_defer(fx, flt_dmarc_work, flt_dmarc_done, j) == 0)
		return FV_PENDING;
	free(j);
	flt_dmarc_mark(fx, c->from, DMARC_RESULT_TEMPERROR,
	    "worker pool full");
	if (g->temperror == CONF_ACTION_ACCEPT)
		return FV_CONTINUE;
	fctx_reply(fx, "451", "4.7.1", "DMARC policy of %s not checked, try "
	    "again later", c->from);
	return FV_TEMPFAIL;
}

/* No From field, several, or one naming no domain or several domains. */
static enum fv
flt_dmarc_several(struct fctx *fx, struct flt_dmarc_conn *c)
{
	fctx_result(fx, "none(%s)", c->froms == 0 ? "no From" :
	    c->froms > 1 ? "several From fields" : c->domains < 0 ?
	    "From not parsed" : "several From domains");
	if (fctx_conf(fx)->dmarc_multiple_from == CONF_ACTION_ACCEPT)
		return FV_CONTINUE;
	fctx_reply(fx, "550", "5.7.1", "The From field must name exactly "
	    "one author domain (RFC 7489 6.6.1)");
	return FV_REJECT;
}

/* The MAIL FROM check of SPF and every DKIM result, from the chain. */
static void
flt_dmarc_identities(struct fctx *fx, struct flt_dmarc_job *j)
{
	const struct fctx_auth	*a;
	struct flt_dmarc_sig	*s;
	const char		*v, *at;
	size_t			 n, i;

	n = fctx_auth_results(fx, &a);
	for (i = 0; i < n; i++) {
		if (a[i].nprops == 0)
			continue;
		v = a[i].props[0].value;
		if (strcmp(a[i].method, "spf") == 0 &&
		    strcmp(a[i].props[0].name, "smtp.mailfrom") == 0) {
			strlcpy(j->spf, a[i].result, sizeof(j->spf));
			at = strrchr(v, '@');
			if (strcmp(a[i].result, "pass") == 0)
				strlcpy(j->spf_pass, at != NULL ? at + 1 : v,
				    sizeof(j->spf_pass));
		} else if (strcmp(a[i].method, "dkim") == 0 &&
		    strcmp(a[i].props[0].name, "header.d") == 0 &&
		    j->nsigs < FLT_DMARC_SIGS) {
			s = &j->sigs[j->nsigs++];
			strlcpy(s->d, v, sizeof(s->d));
			if (a[i].nprops > 1 &&
			    strcmp(a[i].props[1].name, "header.s") == 0)
				strlcpy(s->s, a[i].props[1].value,
				    sizeof(s->s));
			strlcpy(s->result, a[i].result, sizeof(s->result));
		}
	}
}

/* The d= of the newest ARC-Seal (the highest i=) of the message. */
static void
flt_dmarc_sealer(struct flt_dmarc_conn *c, const char *value, size_t len)
{
	struct taglist			 tl;
	const struct taglist_tag	*i;
	char				 num[4];
	unsigned			 n;

	if (taglist_parse(value, len, &tl) == -1 ||
	    taglist_value((i = taglist_get(&tl, "i")), 0, num,
	    sizeof(num)) == -1 || (n = (unsigned)strtoul(num, NULL, 10)) <=
	    c->arc_i)
		return;
	c->arc_i = n;
	if (taglist_value(taglist_get(&tl, "d"), 0, c->arc_d,
	    sizeof(c->arc_d)) == -1)
		c->arc_d[0] = '\0';
}

/* Whether the arc filter (before this one) found the chain good. */
static int
flt_dmarc_arc_pass(struct fctx *fx)
{
	const struct fctx_auth	*a;
	size_t			 i, n;

	n = fctx_auth_results(fx, &a);
	for (i = 0; i < n; i++)
		if (strcmp(a[i].method, "arc") == 0)
			return strcmp(a[i].result, "pass") == 0;
	return 0;
}

/*
 * Whether the message's ARC chain passed (the arc filter's result) and
 * its last sealer is on dmarc.arc_trusted (FLT_DMARC_BY_ARC, the sealer
 * in j), or dmarc.allow_domains names the client's verified host name,
 * or the MAIL FROM address when SPF passed for it: identities a forger
 * cannot claim (a forwarder keeps the author's envelope, a list writes
 * its own).
 */
static int
flt_dmarc_allowed(struct fctx *fx, struct flt_dmarc *g,
    const struct flt_dmarc_conn *c, struct flt_dmarc_job *j)
{
	const char	*name = fctx_client_name(fx);
	char		 host[MAILBOX_DOMAIN_MAX + 2];

	if (g->arc_trusted != NULL && c->arc_d[0] != '\0' &&
	    flt_dmarc_arc_pass(fx)) {
		snprintf(host, sizeof(host), "@%s", c->arc_d);
		if (addrtable_lookup(g->arc_trusted, host, NULL)) {
			strlcpy(j->sealer, c->arc_d, sizeof(j->sealer));
			return FLT_DMARC_BY_ARC;
		}
	}
	if (g->allow == NULL)
		return 0;
	if (name[0] != '[') {
		/* "@name": matched as a domain and its parents */
		snprintf(host, sizeof(host), "@%s", name);
		if (addrtable_lookup(g->allow, host, NULL))
			return 1;
	}
	return j->spf_pass[0] != '\0' && c->sender[0] != '\0' &&
	    addrtable_lookup(g->allow, c->sender, NULL);
}

/* On a pool thread: the lookups (unless cached), the verdict, the
 * history. */
static void
flt_dmarc_work(void *arg)
{
	struct flt_dmarc_job	*j = arg;

	if (!j->cached)
		flt_dmarc_lookup(j);
	flt_dmarc_decide(j);
	if (j->g->history[0] != '\0' && (j->out.result == DMARC_RESULT_PASS ||
	    j->out.result == DMARC_RESULT_FAIL))
		flt_dmarc_history(j);
}

/*
 * _dmarc.FROM, A, AAAA, MX of FROM, and _dmarc.ORG when ORG is another
 * name, at once; then the record (RFC 7489 6.6.3): FROM's, or ORG's when
 * FROM has none, into j->found, and in j->ttl how long what was used
 * holds.
 */
static void
flt_dmarc_lookup(struct flt_dmarc_job *j)
{
	struct dns_question	 q[FLT_DMARC_NQ];
	struct dns_answer	 a[FLT_DMARC_NQ];
	char			 name[2][MAILBOX_DOMAIN_MAX + 8];
	size_t			 i, nq = FLT_DMARC_NQ;
	int			 nx = 1;

	snprintf(name[0], sizeof(name[0]), "_dmarc.%s", j->from);
	snprintf(name[1], sizeof(name[1]), "_dmarc.%s", j->org);
	q[FLT_DMARC_Q_FROM] = (struct dns_question){ name[0], ns_t_txt };
	q[FLT_DMARC_Q_A] = (struct dns_question){ j->from, ns_t_a };
	q[FLT_DMARC_Q_AAAA] = (struct dns_question){ j->from, ns_t_aaaa };
	q[FLT_DMARC_Q_MX] = (struct dns_question){ j->from, ns_t_mx };
	q[FLT_DMARC_Q_ORG] = (struct dns_question){ name[1], ns_t_txt };
	if (j->org[0] == '\0' || strcmp(j->org, j->from) == 0)
		nq--;
	dns_query_all(j->g->dns, q, nq, util_now_ms() + j->g->timeout_ms, a);
	j->ttl = a[FLT_DMARC_Q_FROM].ttl;
	j->found.rc = flt_dmarc_record(j, &a[FLT_DMARC_Q_FROM]);
	if (j->found.rc == 0 && nq == FLT_DMARC_NQ) {
		j->found.rc = flt_dmarc_record(j, &a[FLT_DMARC_Q_ORG]);
		j->found.rec_at_org = 1;
		for (i = FLT_DMARC_Q_A; i <= FLT_DMARC_Q_ORG; i++) {
			if (i != FLT_DMARC_Q_ORG)
				nx = nx && a[i].status == DNS_NXDOMAIN;
			if (a[i].ttl < j->ttl)
				j->ttl = a[i].ttl;
		}
	}
	j->found.from_exists = !nx;
	if (j->found.rc == -2)
		j->ttl = 0;
	for (i = 0; i < nq; i++)
		dns_answer_free(&a[i]);
}

/* The record in answer a into j->found.rec: 1, 0 none, -1 none to be
 * used (several DMARC1 records, which ends the discovery, RFC 7489 6.6.3
 * step 5; found.perm set when the one record cannot be used), -2 the
 * lookup failed. */
static int
flt_dmarc_record(struct flt_dmarc_job *j, const struct dns_answer *a)
{
	char		 txt[FLT_DMARC_TXTS][FLT_DMARC_TXT_MAX], why[128];
	const char	*p[FLT_DMARC_TXTS];
	size_t		 len[FLT_DMARC_TXTS], i, n = 0;
	int		 k;

	if (a->status == DNS_TEMPFAIL)
		return -2;
	for (i = 0; i < a->n && n < FLT_DMARC_TXTS; i++)
		if (dns_txt_from_wire(a->data[i], a->len[i], txt[n],
		    sizeof(txt[n])) == 0) {
			p[n] = txt[n];
			len[n] = strlen(txt[n]);
			n++;
		}
	if ((k = dmarc_record_select(p, len, n)) < 0)
		return k == -1 ? 0 : -1;
	if (dmarc_record_parse(p[k], len[k], &j->found.rec, why,
	    sizeof(why)) == -1) {
		j->found.perm = 1;
		return -1;
	}
	return 1;
}

/* The result, the disposition applied and the action, from j->found. */
static void
flt_dmarc_decide(struct flt_dmarc_job *j)
{
	struct flt_dmarc	*g = j->g;

	j->act = FLT_DMARC_RELAY;
	j->dis = DMARC_POLICY_NONE;
	memset(&j->out, 0, sizeof(j->out));
	if (j->found.rc == -2) {
		j->out.result = DMARC_RESULT_TEMPERROR;
		if (g->temperror != CONF_ACTION_ACCEPT)
			j->act = FLT_DMARC_TEMPFAIL;
		return;
	}
	if (j->found.rc <= 0) {
		j->out.result = j->found.perm ? DMARC_RESULT_PERMERROR :
		    DMARC_RESULT_NONE;
		return;
	}
	flt_dmarc_eval(j);
	j->dis = j->out.disposition;
	if ((int)j->dis > g->reject_cap)
		j->dis = (enum dmarc_policy)g->reject_cap;
	if (j->allowed)
		j->dis = DMARC_POLICY_NONE;
	if (j->dis == DMARC_POLICY_REJECT)
		j->act = FLT_DMARC_REJECT;
	else if (j->dis == DMARC_POLICY_QUARANTINE)
		j->act = g->quarantine == CONF_ACTION_REJECT ?
		    FLT_DMARC_REJECT : g->quarantine == CONF_ACTION_TEMPFAIL ?
		    FLT_DMARC_TEMPFAIL : FLT_DMARC_TAG;
}

/* dmarc_eval on the record found and the identities aligned to FROM. */
static void
flt_dmarc_eval(struct flt_dmarc_job *j)
{
	struct dmarc_eval_in	 in;
	struct dmarc_domain	 spf, dkim[FLT_DMARC_SIGS];
	size_t			 i;

	memset(&in, 0, sizeof(in));
	flt_dmarc_domain(j->g, j->from, &in.from);
	in.from_exists = j->found.from_exists;
	in.rec = &j->found.rec;
	in.rec_at_org = j->found.rec_at_org;
	if (j->spf_pass[0] != '\0') {
		flt_dmarc_domain(j->g, j->spf_pass, &spf);
		in.spf = &spf;
	}
	for (i = 0; i < j->nsigs; i++)
		if (strcmp(j->sigs[i].result, "pass") == 0)
			flt_dmarc_domain(j->g, j->sigs[i].d, &dkim[in.ndkim++]);
	in.dkim = dkim;
	in.roll = arc4random_uniform(100);
	dmarc_eval(&in, &j->out);
}

/* name with its organizational domain (NULL: a public suffix); both
 * point into name, which must outlive d. */
static void
flt_dmarc_domain(struct flt_dmarc *g, const char *name,
    struct dmarc_domain *d)
{
	d->name = name;
	d->org = psl_registrable_domain(g->psl, name);
}

/* The message in dmarc.history_file. */
static void
flt_dmarc_history(struct flt_dmarc_job *j)
{
	struct dmarc_history	 h;
	struct dmarc_history_sig sigs[FLT_DMARC_SIGS];
	char			 buf[FLT_DMARC_HISTORY_MAX];
	size_t			 i;
	int			 n;

	memset(&h, 0, sizeof(h));
	h.job = j->job;
	h.reporter = j->g->reporter;
	h.received = time(NULL);
	h.ipaddr = j->ip;
	h.from = j->from;
	h.mfrom = j->mfrom;
	h.spf = j->spf[0] != '\0' ? j->spf : NULL;
	for (i = 0; i < j->nsigs; i++)
		sigs[i] = (struct dmarc_history_sig){ j->sigs[i].d,
		    j->sigs[i].s, j->sigs[i].result };
	h.sigs = sigs;
	h.nsigs = j->nsigs;
	h.pdomain = j->found.rec_at_org ? j->org : j->from;
	h.rec = &j->found.rec;
	h.out = &j->out;
	h.action = j->act == FLT_DMARC_REJECT ? DMARC_HISTORY_REJECT :
	    j->act == FLT_DMARC_TEMPFAIL ? DMARC_HISTORY_TEMPFAIL :
	    j->act == FLT_DMARC_TAG ? DMARC_HISTORY_QUARANTINE :
	    DMARC_HISTORY_ACCEPT;
	if ((n = dmarc_history_format(&h, buf, sizeof(buf))) == -1)
		log_warnx("%s dmarc.history_file %s: the record is too long",
		    j->job, j->g->history);
	else if (dmarc_history_append(j->g->history, buf, (size_t)n) == -1)
		log_warn("%s dmarc.history_file %s", j->job, j->g->history);
}

/* On the loop: what the lookups found into the cache, then the action. */
static void
flt_dmarc_done(struct fctx *fx, void *arg)
{
	struct flt_dmarc_job	*j = arg;

	if (fx != NULL) {
		if (!j->cached)
			ttlcache_put(j->g->cache, j->from, util_now_ms(),
			    j->ttl, &j->found);
		fctx_resume(fx, flt_dmarc_act(fx, j));
	}
	free(j);
}

/* The verdict's marks, and the action decided. */
static enum fv
flt_dmarc_act(struct fctx *fx, const struct flt_dmarc_job *j)
{
	char	 comment[128];

	if (j->out.result == DMARC_RESULT_TEMPERROR)
		flt_dmarc_mark(fx, j->from, j->out.result,
		    "the policy lookup failed");
	else if (j->out.result != DMARC_RESULT_PASS &&
	    j->out.result != DMARC_RESULT_FAIL)
		flt_dmarc_mark(fx, j->from, j->out.result, NULL);
	else {
		snprintf(comment, sizeof(comment), "p=%s dis=%s%s%.64s",
		    dmarc_policy_name(j->out.policy),
		    dmarc_policy_name(j->dis), !j->allowed ||
		    j->out.result != DMARC_RESULT_FAIL ? "" : j->allowed ==
		    FLT_DMARC_BY_ARC ? " allowed: ARC sealed by " : " allowed",
		    j->allowed == FLT_DMARC_BY_ARC && j->out.result ==
		    DMARC_RESULT_FAIL ? j->sealer : "");
		flt_dmarc_mark(fx, j->from, j->out.result, comment);
	}
	switch (j->act) {
	case FLT_DMARC_REJECT:
		fctx_reply(fx, "550", "5.7.1", "DMARC policy of %s: %s (no "
		    "aligned SPF or DKIM pass)", j->from,
		    dmarc_policy_name(j->out.policy));
		return FV_REJECT;
	case FLT_DMARC_TEMPFAIL:
		if (j->out.result == DMARC_RESULT_TEMPERROR)
			fctx_reply(fx, "451", "4.7.1", "DMARC policy of %s "
			    "could not be looked up, try again later",
			    j->from);
		else
			fctx_reply(fx, "451", "4.7.1", "DMARC policy of %s: "
			    "quarantine, try again later", j->from);
		return FV_TEMPFAIL;
	case FLT_DMARC_TAG:
		fctx_add_header(fx, "X-Postern-DMARC", "quarantine");
		return FV_CONTINUE;
	case FLT_DMARC_RELAY:
		break;
	}
	return FV_CONTINUE;
}

/* dmarc=RESULT (comment) header.from=FROM, and the log's field. */
static void
flt_dmarc_mark(struct fctx *fx, const char *from, enum dmarc_result r,
    const char *comment)
{
	struct authres_prop	 p = { "header.from", from };

	fctx_authres(fx, "dmarc", dmarc_result_name(r), comment, &p, 1);
	if (comment != NULL)
		fctx_result(fx, "%s(%s)", dmarc_result_name(r), comment);
	else
		fctx_result(fx, "%s", dmarc_result_name(r));
}

static void
flt_dmarc_close(struct fctx *fx)
{
	free(fctx_priv(fx));
	fctx_set_priv(fx, NULL);
}

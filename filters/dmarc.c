/* SPDX-License-Identifier: ISC */
/*
 * dmarc.c - the dmarc filter: RFC 7489 on the From domain, with the SPF
 * and DKIM results the filters before it gave (fctx_auth_results).
 *
 * The From field must hold addresses of one domain (proto/mailbox.c);
 * several domains, or none, are dmarc.multiple_from's (RFC 7489 6.6.1).
 * At the end of the message, on one worker and all at once
 * (dns_query_all): TXT of _dmarc.FROM and of _dmarc.ORG (ORG the
 * organizational domain, from the public suffix list, libpsl), and A,
 * AAAA and MX of FROM, whose NXDOMAIN makes it a non-existent domain
 * (RFC 9091).  The record is chosen and read by proto/dmarc_record.c and
 * judged by filters/dmarc_eval.c (why not libopendmarc: see those files
 * and LIBRARIES.md section 10).
 *
 * Outcome, in Authentication-Results as "dmarc=RESULT (p=POLICY
 * dis=DISPOSITION) header.from=FROM":
 *	pass, none	go on
 *	fail		the disposition, after dmarc.reject_policy caps it:
 *			reject: 550 5.7.1; quarantine: dmarc.quarantine
 *			(accept: tagged with dmarc.quarantine_header; reject:
 *			550 5.7.1; tempfail: 451 4.7.1); none: go on
 *	temperror	a lookup failed: dmarc.temperror (accept by default:
 *			a DNS fault must not bounce a domain's mail)
 *	permerror	a DMARC1 record that cannot be used: marked
 * A sender on dmarc.allow_domains (a forwarder's or a list's envelope)
 * is judged and marked, never refused.
 *
 * Public: flt_dmarc_ops.
 *
 * DIAGNOSTICS
 *	"dmarc.public_suffix_list PATH: cannot be read" at start and reload.
 */
#include <sys/socket.h>

#include <arpa/nameser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpsl.h>

#include "filters/dmarc_eval.h"
#include "filters/filter.h"
#include "lib/dns.h"
#include "lib/log.h"
#include "lib/util.h"
#include "policy/conf.h"
#include "policy/table.h"
#include "proto/dmarc_record.h"
#include "proto/mailbox.h"

#define FLT_DMARC_TXT_MAX	2048	/* one TXT string, joined */
#define FLT_DMARC_TXTS		8	/* TXT records looked at */
#define FLT_DMARC_DKIM		16	/* passing signatures looked at */

enum flt_dmarc_q {			/* the lookups, in dns_query_all */
	FLT_DMARC_Q_FROM, FLT_DMARC_Q_ORG, FLT_DMARC_Q_A, FLT_DMARC_Q_AAAA,
	FLT_DMARC_Q_MX, FLT_DMARC_NQ
};

struct flt_dmarc {
	struct dns		*dns;		/* not owned */
	psl_ctx_t		*psl;
	struct addrtable	*allow;		/* NULL: none */
	unsigned		 timeout_ms;
};

/* Per connection: the message's From, as the header stage saw it. */
struct flt_dmarc_conn {
	int			 froms;		/* From fields */
	int			 domains;	/* distinct author domains, or
						   -1: a From not parsed */
	char			 from[MAILBOX_DOMAIN_MAX + 1];
	char			 sender[512];	/* MAIL FROM, for allow */
};

/* The end-of-message lookups. */
struct flt_dmarc_job {
	struct flt_dmarc	*g;
	char			 from[MAILBOX_DOMAIN_MAX + 1];
	char			 org[MAILBOX_DOMAIN_MAX + 1];	/* "" none */
	char			 name[2][MAILBOX_DOMAIN_MAX + 8];
	int			 status[FLT_DMARC_NQ];	/* enum dns_status */
	char			 txt[2][FLT_DMARC_TXTS][FLT_DMARC_TXT_MAX];
	size_t			 ntxt[2];
};

static int	flt_dmarc_init(const struct conf *, struct dns *, void **,
		    char *, size_t);
static void	flt_dmarc_fini(void *);
static enum fv	flt_dmarc_envfrom(struct fctx *, const char *,
		    char *const *);
static enum fv	flt_dmarc_header(struct fctx *, const char *, const char *,
		    size_t);
static enum fv	flt_dmarc_eom(struct fctx *);
static void	flt_dmarc_close(struct fctx *);
static void	flt_dmarc_work(void *);
static void	flt_dmarc_done(struct fctx *, void *);
static enum fv	flt_dmarc_judge(struct fctx *, struct flt_dmarc_job *);
static int	flt_dmarc_record(struct flt_dmarc_job *, int,
		    struct dmarc_record *, int *);
static void	flt_dmarc_domain(struct flt_dmarc *, const char *,
		    struct dmarc_domain *, char *, size_t);
static void	flt_dmarc_identities(struct fctx *, struct flt_dmarc *,
		    struct dmarc_eval_in *, struct dmarc_domain *, char *,
		    char *, struct dmarc_domain *, char (*)[2][MAILBOX_DOMAIN_MAX + 1]);
static enum fv	flt_dmarc_act(struct fctx *, const struct flt_dmarc_job *,
		    const struct dmarc_eval_out *);
static void	flt_dmarc_mark(struct fctx *, const char *, enum dmarc_result,
		    const char *);

const struct filter_ops flt_dmarc_ops = {
	.name = "dmarc",
	.needs = FILTER_NEEDS_DNS | FILTER_AUTHRES,
	.init = flt_dmarc_init,
	.fini = flt_dmarc_fini,
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

	g->dns = dns;
	g->timeout_ms = c->dmarc_timeout * 1000;
	if ((g->psl = psl_load_file(c->dmarc_public_suffix_list)) == NULL)
		util_err_append(err, errsz, "dmarc.public_suffix_list %s: "
		    "cannot be read (Debian: the publicsuffix package)",
		    c->dmarc_public_suffix_list);
	if (addrtable_from(&g->allow, c->dmarc_allow_domains, "",
	    conf_label(c, "dmarc", "allow_domains", l, sizeof(l)), err,
	    errsz) == -1 || g->psl == NULL) {
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
flt_dmarc_envfrom(struct fctx *fx, const char *addr, char *const *params)
{
	struct flt_dmarc_conn	*c = flt_dmarc_conn(fx);

	(void)params;
	memset(c, 0, sizeof(*c));
	strlcpy(c->sender, addr, sizeof(c->sender));
	return FV_CONTINUE;
}

/* Every From field: its addresses' domains, all of one domain or not. */
static enum fv
flt_dmarc_header(struct fctx *fx, const char *name, const char *value,
    size_t len)
{
	struct flt_dmarc_conn	*c = flt_dmarc_conn(fx);
	char			 d[8][MAILBOX_DOMAIN_MAX + 1];
	int			 n, i;

	if (strcasecmp(name, "From") != 0 || fctx_header_deleted(fx))
		return FV_CONTINUE;
	if (c->froms++ > 0 || (n = mailbox_domains(value, len, d, 8)) < 0) {
		c->domains = -1;
		return FV_CONTINUE;
	}
	strlcpy(c->from, d[0], sizeof(c->from));
	c->domains = 1;
	for (i = 1; i < n; i++)
		if (i >= 8 || strcmp(d[i], d[0]) != 0)
			c->domains = 2;
	return FV_CONTINUE;
}

static enum fv
flt_dmarc_eom(struct fctx *fx)
{
	struct flt_dmarc	*g = fctx_gpriv(fx);
	struct flt_dmarc_conn	*c = flt_dmarc_conn(fx);
	const struct conf	*conf = fctx_conf(fx);
	struct flt_dmarc_job	*j;
	const char		*org;

	if (c->froms != 1 || c->domains != 1) {
		fctx_result(fx, "none(%s)", c->froms == 0 ? "no From" :
		    c->froms > 1 ? "several From fields" : c->domains < 0 ?
		    "From not parsed" : "several From domains");
		if (conf->dmarc_multiple_from == CONF_ACTION_ACCEPT)
			return FV_CONTINUE;
		fctx_reply(fx, conf->dmarc_multiple_from == CONF_ACTION_REJECT ?
		    "550" : "451", conf->dmarc_multiple_from ==
		    CONF_ACTION_REJECT ? "5.7.1" : "4.7.1", "The From field "
		    "must name exactly one author domain (RFC 7489 6.6.1)");
		return conf->dmarc_multiple_from == CONF_ACTION_REJECT ?
		    FV_REJECT : FV_TEMPFAIL;
	}
	j = xcalloc(1, sizeof(*j));
	j->g = g;
	strlcpy(j->from, c->from, sizeof(j->from));
	if ((org = psl_registrable_domain(g->psl, j->from)) != NULL)
		strlcpy(j->org, org, sizeof(j->org));
	if (fctx_defer(fx, flt_dmarc_work, flt_dmarc_done, j) == 0)
		return FV_PENDING;
	free(j);
	flt_dmarc_mark(fx, c->from, DMARC_RESULT_TEMPERROR,
	    "worker pool full");
	return conf->dmarc_temperror == CONF_ACTION_ACCEPT ? FV_CONTINUE :
	    FV_TEMPFAIL;
}

/* On a pool thread: the five lookups at once. */
static void
flt_dmarc_work(void *arg)
{
	struct flt_dmarc_job	*j = arg;
	struct dns_question	 q[FLT_DMARC_NQ];
	struct dns_answer	 a[FLT_DMARC_NQ];
	size_t			 i, k;
	int			 w;

	snprintf(j->name[0], sizeof(j->name[0]), "_dmarc.%s", j->from);
	snprintf(j->name[1], sizeof(j->name[1]), "_dmarc.%s",
	    j->org[0] != '\0' ? j->org : j->from);
	q[FLT_DMARC_Q_FROM] = (struct dns_question){ j->name[0], ns_t_txt };
	q[FLT_DMARC_Q_ORG] = (struct dns_question){ j->name[1], ns_t_txt };
	q[FLT_DMARC_Q_A] = (struct dns_question){ j->from, ns_t_a };
	q[FLT_DMARC_Q_AAAA] = (struct dns_question){ j->from, ns_t_aaaa };
	q[FLT_DMARC_Q_MX] = (struct dns_question){ j->from, ns_t_mx };
	dns_query_all(j->g->dns, q, FLT_DMARC_NQ, util_now_ms() +
	    j->g->timeout_ms, a);
	for (i = 0; i < FLT_DMARC_NQ; i++)
		j->status[i] = a[i].status;
	for (w = 0; w < 2; w++)
		for (k = 0; k < a[w].n && j->ntxt[w] < FLT_DMARC_TXTS; k++)
			if (dns_txt_from_wire(a[w].data[k], a[w].len[k],
			    j->txt[w][j->ntxt[w]], FLT_DMARC_TXT_MAX) == 0)
				j->ntxt[w]++;
	for (i = 0; i < FLT_DMARC_NQ; i++)
		dns_answer_free(&a[i]);
}

static void
flt_dmarc_done(struct fctx *fx, void *arg)
{
	struct flt_dmarc_job	*j = arg;

	if (fx != NULL)
		fctx_resume(fx, flt_dmarc_judge(fx, j));
	free(j);
}

/* The record of lookup w (0: the From domain's, 1: the org domain's):
 * 1 with *r, 0 none, -1 none to be used (several DMARC1 records, which
 * ends the discovery, RFC 7489 6.6.3 step 5; *perm set when one cannot
 * be used), -2 a temporary failure. */
static int
flt_dmarc_record(struct flt_dmarc_job *j, int w, struct dmarc_record *r,
    int *perm)
{
	const char	*txt[FLT_DMARC_TXTS];
	size_t		 len[FLT_DMARC_TXTS], i;
	char		 why[128];
	int		 k;

	if (j->status[w] == DNS_TEMPFAIL)
		return -2;
	for (i = 0; i < j->ntxt[w]; i++) {
		txt[i] = j->txt[w][i];
		len[i] = strlen(txt[i]);
	}
	if ((k = dmarc_record_select(txt, len, j->ntxt[w])) < 0)
		return k == -1 ? 0 : -1;
	if (dmarc_record_parse(txt[k], len[k], r, why, sizeof(why)) == -1) {
		*perm = 1;
		return -1;
	}
	return 1;
}

static enum fv
flt_dmarc_judge(struct fctx *fx, struct flt_dmarc_job *j)
{
	struct flt_dmarc	*g = j->g;
	struct dmarc_record	 rec;
	struct dmarc_eval_in	 in;
	struct dmarc_eval_out	 out;
	struct dmarc_domain	 spf, dkim[FLT_DMARC_DKIM];
	char			 forg[MAILBOX_DOMAIN_MAX + 1], sorg[MAILBOX_DOMAIN_MAX + 1];
	char			 sdom[MAILBOX_DOMAIN_MAX + 1];
	char			 dorg[FLT_DMARC_DKIM][2][MAILBOX_DOMAIN_MAX + 1];
	int			 rc, perm = 0;

	memset(&in, 0, sizeof(in));
	flt_dmarc_domain(g, j->from, &in.from, forg, sizeof(forg));
	in.from_exists = !(j->status[FLT_DMARC_Q_A] == DNS_NXDOMAIN &&
	    j->status[FLT_DMARC_Q_AAAA] == DNS_NXDOMAIN &&
	    j->status[FLT_DMARC_Q_MX] == DNS_NXDOMAIN);
	rc = flt_dmarc_record(j, 0, &rec, &perm);
	if (rc == 0 && j->org[0] != '\0' && strcmp(j->org, j->from) != 0) {
		rc = flt_dmarc_record(j, 1, &rec, &perm);
		in.rec_at_org = 1;
	}
	if (rc == -2) {
		flt_dmarc_mark(fx, j->from, DMARC_RESULT_TEMPERROR,
		    "the policy lookup failed");
		if (fctx_conf(fx)->dmarc_temperror == CONF_ACTION_ACCEPT)
			return FV_CONTINUE;
		fctx_reply(fx, "451", "4.7.1", "DMARC policy of %s could not "
		    "be looked up, try again later", j->from);
		return FV_TEMPFAIL;
	}
	if (rc <= 0) {
		flt_dmarc_mark(fx, j->from, perm ? DMARC_RESULT_PERMERROR :
		    DMARC_RESULT_NONE, NULL);
		return FV_CONTINUE;
	}
	in.rec = &rec;
	in.roll = arc4random_uniform(100);
	flt_dmarc_identities(fx, g, &in, &spf, sdom, sorg, dkim, dorg);
	dmarc_eval(&in, &out);
	return flt_dmarc_act(fx, j, &out);
}

/* name with its organizational domain (NULL: a public suffix). */
static void
flt_dmarc_domain(struct flt_dmarc *g, const char *name, struct dmarc_domain *d,
    char *org, size_t orgsz)
{
	const char	*o = psl_registrable_domain(g->psl, name);

	d->name = name;
	d->org = NULL;
	if (o != NULL) {
		strlcpy(org, o, orgsz);
		d->org = org;
	}
}

/* The SPF-authenticated domain (MAIL FROM's, else HELO's) and the d= of
 * every passing signature, from the results before us. */
static void
flt_dmarc_identities(struct fctx *fx, struct flt_dmarc *g,
    struct dmarc_eval_in *in, struct dmarc_domain *spf, char *sdom,
    char *sorg, struct dmarc_domain *dkim,
    char (*dorg)[2][MAILBOX_DOMAIN_MAX + 1])
{
	const struct fctx_auth	*a;
	const char		*v, *at;
	size_t			 n, i, k;

	n = fctx_auth_results(fx, &a);
	for (i = 0; i < n; i++) {
		if (strcmp(a[i].result, "pass") != 0 || a[i].nprops == 0)
			continue;
		v = a[i].props[0].value;
		if (strcmp(a[i].method, "spf") == 0 && in->spf == NULL) {
			at = strrchr(v, '@');
			strlcpy(sdom, at != NULL ? at + 1 : v,
			    MAILBOX_DOMAIN_MAX + 1);
			flt_dmarc_domain(g, sdom, spf, sorg,
			    MAILBOX_DOMAIN_MAX + 1);
			in->spf = spf;
		} else if (strcmp(a[i].method, "dkim") == 0 &&
		    strcmp(a[i].props[0].name, "header.d") == 0 &&
		    in->ndkim < FLT_DMARC_DKIM) {
			k = in->ndkim++;
			strlcpy(dorg[k][0], v, sizeof(dorg[k][0]));
			flt_dmarc_domain(g, dorg[k][0], &dkim[k], dorg[k][1],
			    sizeof(dorg[k][1]));
		}
	}
	in->dkim = dkim;
}

/* What the verdict does, capped by dmarc.reject_policy. */
static enum fv
flt_dmarc_act(struct fctx *fx, const struct flt_dmarc_job *j,
    const struct dmarc_eval_out *out)
{
	struct flt_dmarc_conn	*c = flt_dmarc_conn(fx);
	const struct conf	*conf = fctx_conf(fx);
	enum dmarc_policy	 dis = out->disposition;
	char			 comment[128];
	int			 allowed;

	if ((int)dis > conf->dmarc_reject_policy)
		dis = (enum dmarc_policy)conf->dmarc_reject_policy;
	allowed = out->result == DMARC_RESULT_FAIL && j->g->allow != NULL &&
	    addrtable_lookup(j->g->allow, c->sender, NULL);
	if (allowed)
		dis = DMARC_POLICY_NONE;
	snprintf(comment, sizeof(comment), "p=%s dis=%s%s",
	    dmarc_policy_name(out->policy), dmarc_policy_name(dis),
	    allowed ? " allowed sender" : "");
	flt_dmarc_mark(fx, j->from, out->result, comment);
	if (dis == DMARC_POLICY_REJECT || (dis == DMARC_POLICY_QUARANTINE &&
	    conf->dmarc_quarantine == CONF_ACTION_REJECT)) {
		fctx_reply(fx, "550", "5.7.1", "DMARC policy of %s: %s (no "
		    "aligned SPF or DKIM pass)", j->from,
		    dmarc_policy_name(out->policy));
		return FV_REJECT;
	}
	if (dis == DMARC_POLICY_QUARANTINE &&
	    conf->dmarc_quarantine == CONF_ACTION_TEMPFAIL) {
		fctx_reply(fx, "451", "4.7.1", "DMARC policy of %s: "
		    "quarantine, try again later", j->from);
		return FV_TEMPFAIL;
	}
	if (dis == DMARC_POLICY_QUARANTINE)
		fctx_add_header(fx, "X-Postern-DMARC", "quarantine");
	return FV_CONTINUE;
}

/* dmarc=RESULT (comment) header.from=FROM, and the log's field. */
static void
flt_dmarc_mark(struct fctx *fx, const char *from, enum dmarc_result r,
    const char *comment)
{
	struct authres_prop	 p = { "header.from", from };

	fctx_authres(fx, "dmarc", dmarc_result_name(r), comment, &p, 1);
	fctx_result(fx, "%s%s%s%s", dmarc_result_name(r), comment != NULL ?
	    "(" : "", comment != NULL ? comment : "", comment != NULL ? ")" :
	    "");
}

static void
flt_dmarc_close(struct fctx *fx)
{
	free(fctx_priv(fx));
	fctx_set_priv(fx, NULL);
}

/* SPDX-License-Identifier: ISC */
/*
 * spf.c - the spf filter: SPF (RFC 7208) at MAIL FROM, for the client's
 * address, on the worker pool.
 *
 * The HELO identity is checked first (spf.helo) and a fail there is acted
 * on as one of MAIL FROM; then the MAIL FROM identity (for the null sender,
 * postmaster@HELO, RFC 7208 2.4).  Outcomes are kept in spf_cache.c for
 * as long as their DNS answers hold, so a repeat check (same client, HELO
 * and sender) is answered at once, on the loop.
 * Each result's action comes from [spf] (reject, tempfail, accept), with
 * softfail rejected for the sender domains of spf.reject_softfail.  Every
 * message gets Received-SPF and an spf= result in Authentication-Results;
 * incoming Authentication-Results that claim our authserv-id are removed
 * (by the chain: FILTER_AUTHRES).
 * A full worker pool is a temperror, so the loop never waits.  Loopback
 * clients (programs on this host) are not checked.
 *
 * Public: flt_spf_ops.
 *
 * DIAGNOSTICS
 *	init: the resolver's and reject_softfail's errors.  Each check is
 *	logged at debug level with its result and comment.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filters/filter.h"
#include "lib/log.h"
#include "policy/authres.h"
#include "policy/conf.h"

#include "filters/spf_cache.h"
#include "filters/spf_check.h"
#include "lib/util.h"
#include "policy/table.h"

/* Per-event warnings, one line of a kind an interval (the log's own
 * state, thread-safe; the filter never reads it). */
static struct log_limit flt_spf_log_full = LOG_LIMIT("spf: worker pool full");

#define FLT_SPF_NAME_MAX	256
#define FLT_SPF_KEY_MAX		1024

/* Global: the evaluator (read-only, shared with the pool threads) and the
 * outcome cache (the event loop's alone). */
struct flt_spf {
	struct spf_check	*check;
	struct addrtable	*softfail_reject;	/* NULL: none */
	struct spf_cache	*cache;
};

/* Per connection. */
struct flt_spf_conn {
	struct sockaddr_storage	 client;
	char			 ip[INET6_ADDRSTRLEN];
	char			 helo[FLT_SPF_NAME_MAX];
};

/* One transaction's checks: inputs copied; what the cache did not have
 * is computed on the pool. */
struct flt_spf_job {
	struct flt_spf		*g;
	struct sockaddr_storage	 client;
	char			 helo[FLT_SPF_NAME_MAX];
	char			 sender[512];
	char			 helo_key[FLT_SPF_KEY_MAX];	/* "" = none */
	char			 from_key[FLT_SPF_KEY_MAX];
	int			 need_helo;	/* helo_out to be computed */
	int			 need_from;	/* from_out to be computed */
	unsigned		 timeout_ms;
	struct spf_check_outcome helo_out;
	struct spf_check_outcome from_out;
};

static int	flt_spf_init(const struct conf *, struct dns *, void **, char *,
		    size_t);
static void	flt_spf_fini(void *);
static enum fv	flt_spf_connect(struct fctx *, const char *,
		    const struct sockaddr *);
static enum fv	flt_spf_helo(struct fctx *, const char *);
static enum fv	flt_spf_envfrom(struct fctx *, const char *, char *const *);
static void	flt_spf_close(struct fctx *);
static void	flt_spf_work(void *);
static void	flt_spf_done(struct fctx *, void *);
static enum fv	flt_spf_verdict(struct fctx *, struct flt_spf_job *);
static enum fv	flt_spf_act(struct fctx *, const struct spf_check_outcome *,
		    enum conf_action, const char *);
static void	flt_spf_mark(struct fctx *, struct flt_spf_job *);
static int	flt_spf_local(const struct sockaddr_storage *);
static struct flt_spf_job *flt_spf_job_new(struct fctx *,
		    struct flt_spf_conn *, const char *);

const struct filter_ops flt_spf_ops = {
	.name = "spf",
	.needs = FILTER_NEEDS_DNS | FILTER_AUTHRES,
	.init = flt_spf_init,
	.fini = flt_spf_fini,
	.connect = flt_spf_connect,
	.helo = flt_spf_helo,
	.envfrom = flt_spf_envfrom,
	.close = flt_spf_close,
};

static int
flt_spf_init(const struct conf *c, struct dns *dns, void **gpriv, char *err,
    size_t errsz)
{
	struct flt_spf	*g = xcalloc(1, sizeof(*g));
	char		 l[400];	/* the list's label */
	int		 rc;

	*gpriv = g;
	rc = addrtable_from(&g->softfail_reject, c->spf_reject_softfail,
	    c->spf_reject_softfail_file, conf_label(c, "spf",
	    "reject_softfail", l, sizeof(l)), err, errsz);
	if ((g->check = spf_check_new(dns, c->hostname, err, errsz)) == NULL)
		rc = -1;
	g->cache = spf_cache_new(c->spf_cache_size, c->spf_cache_ttl);
	if (rc == -1) {
		flt_spf_fini(g);
		*gpriv = NULL;
		return -1;
	}
	return 0;
}

static void
flt_spf_fini(void *gpriv)
{
	struct flt_spf	*g = gpriv;

	if (g == NULL)
		return;
	spf_check_free(g->check);
	spf_cache_free(g->cache);
	addrtable_free(g->softfail_reject);
	free(g);
}

static enum fv
flt_spf_connect(struct fctx *fx, const char *host, const struct sockaddr *sa)
{
	struct flt_spf_conn	*c = xcalloc(1, sizeof(*c));

	memcpy(&c->client, sa, sa->sa_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
	strlcpy(c->ip, host, sizeof(c->ip));
	fctx_set_priv(fx, c);
	return FV_CONTINUE;
}

static enum fv
flt_spf_helo(struct fctx *fx, const char *name)
{
	struct flt_spf_conn	*c = fctx_priv(fx);

	if (c != NULL)
		strlcpy(c->helo, name, sizeof(c->helo));
	return FV_CONTINUE;
}

static enum fv
flt_spf_envfrom(struct fctx *fx, const char *addr, char *const *params)
{
	struct flt_spf_conn	*c = fctx_priv(fx);
	struct flt_spf_job	*j;

	(void)params;
	if (c == NULL)
		return FV_CONTINUE;
	if (fctx_authenticated(fx) != NULL) {
		/* a submission: SPF judges relays, not our own users */
		fctx_result(fx, "skip(authenticated)");
		return FV_CONTINUE;
	}
	if (flt_spf_local(&c->client)) {
		fctx_result(fx, "skip(local client)");
		return FV_CONTINUE;
	}
	j = flt_spf_job_new(fx, c, addr);
	if (!j->need_helo && !j->need_from)
		return flt_spf_verdict(fx, j);
	if (fctx_defer(fx, flt_spf_work, flt_spf_done, j) == -1) {
		log_limited(&flt_spf_log_full, LOG_LEVEL_WARN, "%s spf: "
		    "worker pool full, temperror", fctx_session_id(fx));
		memset(&j->helo_out, 0, sizeof(j->helo_out));
		memset(&j->from_out, 0, sizeof(j->from_out));
		j->from_out.result = SPF_CHECK_TEMPERROR;
		strlcpy(j->from_out.ip, c->ip, sizeof(j->from_out.ip));
		strlcpy(j->from_out.identity, addr,
		    sizeof(j->from_out.identity));
		strlcpy(j->from_out.comment, "no worker free for the check",
		    sizeof(j->from_out.comment));
		return flt_spf_verdict(fx, j);
	}
	return FV_PENDING;
}

/* The transaction's job, with what the cache already knows filled in. */
static struct flt_spf_job *
flt_spf_job_new(struct fctx *fx, struct flt_spf_conn *c, const char *addr)
{
	const struct conf	*conf = fctx_conf(fx);
	struct flt_spf_job	*j = xcalloc(1, sizeof(*j));
	uint64_t		 now = util_now_ms();

	j->g = fctx_gpriv(fx);
	j->client = c->client;
	strlcpy(j->helo, c->helo, sizeof(j->helo));
	strlcpy(j->sender, addr, sizeof(j->sender));
	j->timeout_ms = conf->spf_timeout * 1000;
	if (conf->spf_helo) {
		if (spf_cache_key(j->helo_key, sizeof(j->helo_key), c->ip,
		    c->helo, NULL) == -1)
			j->helo_key[0] = '\0';
		j->need_helo = !spf_cache_get(j->g->cache, j->helo_key, now,
		    &j->helo_out);
	}
	if (j->helo_out.result == SPF_CHECK_FAIL)
		return j;	/* MAIL FROM will not be asked */
	if (spf_cache_key(j->from_key, sizeof(j->from_key), c->ip, c->helo,
	    addr) == -1)
		j->from_key[0] = '\0';
	j->need_from = !spf_cache_get(j->g->cache, j->from_key, now,
	    &j->from_out);
	return j;
}

/*
 * A loopback client is a program on this host, an internal sender: SPF is
 * not asked (libspf2 would answer a blanket "pass" for it, which is no
 * evidence and must not reach an Authentication-Results header).
 */
static int
flt_spf_local(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)ss;

	if (ss->ss_family == AF_INET)
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	return ss->ss_family == AF_INET6 &&
	    IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
}

/* On a pool thread: HELO identity first, then MAIL FROM. */
static void
flt_spf_work(void *arg)
{
	struct flt_spf_job	*j = arg;
	const struct sockaddr	*sa = (const struct sockaddr *)&j->client;
	uint64_t		 t0 = util_now_ms(), spent;

	if (j->need_helo)
		spf_check_run(j->g->check, sa, j->helo, NULL, j->timeout_ms,
		    &j->helo_out);
	if (j->helo_out.result == SPF_CHECK_FAIL) {
		j->need_from = 0;
		return;
	}
	if (!j->need_from)
		return;
	spent = util_now_ms() - t0;
	spf_check_run(j->g->check, sa, j->helo, j->sender,
	    spent < j->timeout_ms ? j->timeout_ms - (unsigned)spent : 1,
	    &j->from_out);
}

/* Back on the loop: keep what was learnt, then decide. */
static void
flt_spf_done(struct fctx *fx, void *arg)
{
	struct flt_spf_job	*j = arg;
	uint64_t		 now = util_now_ms();

	if (fx == NULL) {
		free(j);
		return;
	}
	if (j->need_helo && j->helo_key[0] != '\0')
		spf_cache_put(j->g->cache, j->helo_key, now, &j->helo_out);
	if (j->need_from && j->from_key[0] != '\0')
		spf_cache_put(j->g->cache, j->from_key, now, &j->from_out);
	fctx_resume(fx, flt_spf_verdict(fx, j));
}

/* The stage's verdict from both outcomes; frees j. */
static enum fv
flt_spf_verdict(struct fctx *fx, struct flt_spf_job *j)
{
	const struct conf	*conf = fctx_conf(fx);
	const struct spf_check_outcome *o = &j->from_out;
	enum conf_action	 a;
	enum fv			 v;

	flt_spf_mark(fx, j);
	if (j->helo_out.result == SPF_CHECK_FAIL) {
		v = flt_spf_act(fx, &j->helo_out, conf->spf_fail, "HELO ");
		free(j);
		return v;
	}
	switch (o->result) {
	case SPF_CHECK_PASS:	a = CONF_ACTION_ACCEPT;		break;
	case SPF_CHECK_FAIL:	a = conf->spf_fail;		break;
	case SPF_CHECK_NEUTRAL:	a = conf->spf_neutral;		break;
	case SPF_CHECK_TEMPERROR: a = conf->spf_temperror;	break;
	case SPF_CHECK_PERMERROR: a = conf->spf_permerror;	break;
	case SPF_CHECK_SOFTFAIL:
		a = conf->spf_softfail;
		if (j->g->softfail_reject != NULL && j->sender[0] != '\0' &&
		    addrtable_lookup(j->g->softfail_reject, j->sender, NULL))
			a = CONF_ACTION_REJECT;
		break;
	default:		a = conf->spf_none;		break;
	}
	v = flt_spf_act(fx, o, a, "");
	free(j);
	return v;
}

/* The reply for outcome o under action a. */
static enum fv
flt_spf_act(struct fctx *fx, const struct spf_check_outcome *o,
    enum conf_action a, const char *which)
{
	const char	*name = spf_check_result_name(o->result);
	int		 err = o->result == SPF_CHECK_TEMPERROR ||
			    o->result == SPF_CHECK_PERMERROR;

	if (a == CONF_ACTION_ACCEPT)
		return FV_CONTINUE;
	if (a == CONF_ACTION_TEMPFAIL) {
		fctx_reply(fx, "451", "4.7.24", "SPF %s%s for %s, try again "
		    "later: %s", which, name, o->identity, o->comment);
		return FV_TEMPFAIL;
	}
	if (err)
		fctx_reply(fx, "550", "5.7.24", "SPF %s%s for %s: %s", which,
		    name, o->identity, o->comment);
	else
		fctx_reply(fx, "550", "5.7.23", "SPF %s%s for %s: %s", which,
		    name, o->identity, o->explanation[0] != '\0' ?
		    o->explanation : o->comment);
	return FV_REJECT;
}

/* Headers and the log result for whatever was checked. */
static void
flt_spf_mark(struct fctx *fx, struct flt_spf_job *j)
{
	const struct spf_check_outcome *h = &j->helo_out, *m = &j->from_out;
	int		 helo_fail = h->result == SPF_CHECK_FAIL;
	int		 helo_seen = h->identity[0] != '\0';
	struct authres_prop p;
	char		*rspf;

	if (helo_fail)
		m = h;
	rspf = spf_check_received(j->g->check, m, j->helo);
	fctx_add_header(fx, "Received-SPF", rspf);
	free(rspf);
	if (!helo_fail) {
		p = (struct authres_prop){ "smtp.mailfrom", m->identity };
		fctx_authres(fx, "spf", spf_check_result_name(m->result), NULL,
		    &p, 1);
	}
	if (helo_seen) {
		p = (struct authres_prop){ "smtp.helo", h->identity };
		fctx_authres(fx, "spf", spf_check_result_name(h->result), NULL,
		    &p, 1);
	}
	if (helo_fail)
		fctx_result(fx, "helo:%s", spf_check_result_name(h->result));
	else
		fctx_result(fx, "%s", spf_check_result_name(m->result));
	log_debug("%s spf %s: %s (%s)", fctx_session_id(fx), m->identity,
	    spf_check_result_name(m->result), m->comment);
}

static void
flt_spf_close(struct fctx *fx)
{
	free(fctx_priv(fx));
	fctx_set_priv(fx, NULL);
}

/* SPDX-License-Identifier: ISC */
/*
 * chain.c - runs the configured filters in order at each stage of a
 * connection, and is the fctx_* API filters see.
 *
 * A stage walks the filters from the first; the first verdict other than
 * FV_CONTINUE decides the stage.  FV_PENDING parks the stage: the stage's
 * arguments (owned by the caller, who keeps them valid) are remembered, and
 * fctx_resume() goes on at the next filter, then reports the stage's verdict
 * through the session's resume callback.  FV_ACCEPT is remembered for the
 * rest of the message (for the connection when given at connect or helo):
 * from then on only FILTER_AFTER_ACCEPT filters (a signer) are called, the
 * rest of that stage included, and the stage's verdict stays FV_ACCEPT
 * unless one of them decides otherwise.
 *
 * Public: chain_filter_lookup, chain_new, chain_new_ops, chain_ref,
 * chain_unref, chain_length, chain_session_fds, chain_dns, chain_sess_new,
 * chain_sess_free, chain_<stage>, chain_abort, chain_tx_done,
 * chain_header_deleted, chain_set_client, chain_set_auth,
 * chain_wants_content, chain_reply, chain_edits, chain_new_body,
 * chain_headers, chain_results; fctx_* (filter.h).
 *
 * With a FILTER_AUTHRES filter in the chain, incoming Authentication-Results
 * headers that claim our authserv-id are marked for removal here, once for
 * all such filters, in every message (accepted ones too).  Fields filters
 * add or change are checked here for all of them: a name that is not a
 * field name is refused, a value is made one field (hdrbuild_field); our
 * own Authentication-Results is built by authres_add.
 *
 * Deferred work (fctx_defer) and shared-store calls (fctx_store) belong
 * to the stage that started them: when the stage is abandoned (chain_abort,
 * chain_sess_free) the chain cancels them, and the filter's done then only
 * frees its argument.  The chain sets up the resolver and the shared store
 * (lib/store.h) when a filter needs them, and a reload keeps both (the
 * store's counts with it) when their settings are the same.  A store call
 * runs on the loop of the session's worker pool handle, where its answer
 * comes back.
 *
 * DIAGNOSTICS
 *	chain_new reports an unknown filter name or a filter's init error.
 *	A header field a filter adds or changes under a name that is not
 *	one is dropped and logged (warn).
 *	A resume without a parked stage is a broken invariant (fatalx).
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "filters/chain.h"
#include "lib/dns.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/store.h"
#include "lib/util.h"
#include "lib/worker.h"
#include "policy/authres.h"
#include "policy/conf.h"
#include "policy/hdrbuild.h"
#include "policy/txlog.h"
#include "proto/rfc5322.h"

enum chain_stage {
	CHAIN_CONNECT,
	CHAIN_HELO,
	CHAIN_ENVFROM,
	CHAIN_ENVRCPT,
	CHAIN_DATA,
	CHAIN_HEADER,
	CHAIN_EOH,
	CHAIN_BODY,
	CHAIN_EOM,
};

struct chain {
	int			 refcnt;
	struct dns		*dns;		/* owned; NULL when unneeded */
	struct store		*store;		/* the same */
	int			 authres;	/* a FILTER_AUTHRES filter runs */
	int			 after_accept;	/* a FILTER_AFTER_ACCEPT one */
	size_t			 n;
	const struct filter_ops	*ops[CONF_FILTERS_MAX];
	void			*gpriv[CONF_FILTERS_MAX];
};

struct fctx {
	struct chain_sess	*cs;		/* owner */
	const struct filter_ops	*ops;
	void			*gpriv;		/* from init, not owned */
	void			*priv;		/* the filter's own */
	char			 result[128];	/* for the transaction log */
	int			 result_msg;	/* set during a message stage */
	struct chain_deferred	*deferred;	/* work in flight, or NULL */
	struct chain_stored	*stored;	/* a store call, or NULL */
	double			 called;	/* util_now_s, the PENDING call */
};

/* One fctx_defer: what the pool hands back to the loop.  It holds a
 * reference to the chain, whose filters' global data and resolver the work
 * uses: a session that goes away (or a reload) cannot free them under a
 * running job. */
struct chain_deferred {
	struct chain		*chain;		/* reference held */
	struct fctx		*fx;		/* NULL once cancelled */
	struct worker_job	*job;
	fctx_work_fn		 work;
	fctx_done_fn		 done;
	void			*arg;		/* the filter's */
};

/* One fctx_store call in flight (a reference to the chain held, as for
 * deferred work). */
struct chain_stored {
	struct chain		*chain;		/* reference held */
	struct fctx		*fx;
	struct store_call	*call;
	fctx_store_fn		 done;
	void			*arg;		/* the filter's */
};

struct chain_stage_args {
	const char		*s1;		/* host, name, addr */
	const char		*s2;		/* header value */
	const struct sockaddr	*sa;
	char *const		*params;
	const unsigned char	*data;
	size_t			 len;		/* of data, or of the header value */
};

struct chain_sess {
	struct chain		*chain;		/* reference held */
	const struct conf	*conf;		/* not duplicated */
	char			 sid[32];
	chain_resume_cb		 resume;
	void			*arg;
	struct fctx		*fx;		/* chain->n entries */
	int			 conn_accepted;
	int			 msg_accepted;
	int			 stage_accepted; /* in the stage in progress */
	enum chain_stage	 stage;		/* stage in progress */
	struct chain_stage_args	 args;		/* not duplicated */
	size_t			 next;		/* filter to run next */
	struct fctx		*parked;	/* filter that went PENDING */
	struct verdict_reply	 reply;
	struct chain_header	*hdrs;
	size_t			 nhdrs;
	struct chain_edit	*edits;
	size_t			 nedits;
	char			*body;		/* replacement, or NULL */
	size_t			 bodylen;
	int			 authres;	/* hdrs[0] is our A-R */
	struct fctx_auth	*results;	/* what went into it */
	size_t			 nresults;
	int			 outbound;	/* the message is signed: no
						   A-R goes out (fctx_outbound) */
	int			 hdr_deleted;	/* by the last header stage */
	char			 auth[256];	/* authenticated as; "" not */
	const char		*client_name;	/* chain_set_client, not
						   duplicated */
	const char		*reverse_name;
	char			 client_addr[INET6_ADDRSTRLEN];	/* connect */
	struct worker_pool	*workers;	/* not owned */
};

/* The filters postern knows, by name. */
static const struct filter_ops *const chain_registry[] = {
	&flt_iplist_ops,
	&flt_dnsbl_ops,
	&flt_ratelimit_ops,
	&flt_greylist_ops,
	&flt_regex_ops,
	&flt_spf_ops,
	&flt_dkim_verify_ops,
	&flt_arc_ops,
	&flt_dmarc_ops,
	&flt_dkim_sign_ops,
	&flt_arc_seal_ops,
	&flt_milter_ops,
	NULL
};

static enum fv	chain_call(struct chain_sess *, struct fctx *);
static void	chain_results_add(struct chain_sess *, const char *,
		    const char *, const struct authres_prop *, size_t);
static void	chain_results_free(struct chain_sess *);
static int	chain_accepted(const struct chain_sess *);
static void	chain_timed(struct chain_sess *, struct fctx *);
static enum fv	chain_walk(struct chain_sess *);
static enum fv	chain_decided(struct chain_sess *, struct fctx *, enum fv);
static enum fv	chain_stage_start(struct chain_sess *, enum chain_stage);
static int	chain_stage_is_msg(enum chain_stage);
static void	chain_msg_reset(struct chain_sess *);
static void	chain_cancel(struct chain_sess *);
static void	chain_deferred_run(void *);
static void	chain_deferred_done(void *, int);
static void	chain_stored_done(void *, const struct store_reply *);
static int	chain_field_name_ok(struct fctx *, const char *);

const struct filter_ops *
chain_filter_lookup(const char *name)
{
	size_t	 i;

	for (i = 0; chain_registry[i] != NULL; i++)
		if (strcmp(chain_registry[i]->name, name) == 0)
			return chain_registry[i];
	return NULL;
}

struct chain *
chain_new(const struct conf *conf, const struct chain *prev, char *err,
    size_t errsz)
{
	const struct filter_ops	*ops[CONF_FILTERS_MAX] = { NULL };
	const char		*names[nitems(chain_registry)], *near;
	char			 where[300];
	size_t			 i, j, n = 0;
	int			 bad = 0;

	if (err != NULL && errsz > 0)
		err[0] = '\0';

	(void)conf_label(conf, "filters", "chain", where, sizeof(where));
	for (j = 0; chain_registry[j] != NULL; j++)
		names[n++] = chain_registry[j]->name;
	for (i = 0; i < conf->nfilters; i++) {
		for (j = 0; j < i; j++)
			if (strcmp(conf->filters[j], conf->filters[i]) == 0)
				break;
		if (j < i) {
			util_err_append(err, errsz, "%s: '%s' named twice",
			    where, conf->filters[i]);
			bad = 1;
		} else if ((ops[i] = chain_filter_lookup(conf->filters[i])) ==
		    NULL) {
			near = util_closest(conf->filters[i], names, n);
			util_err_append(err, errsz, "%s: unknown filter "
			    "'%s'%s%s%s", where, conf->filters[i], near != NULL ?
			    " (did you mean '" : "", near != NULL ? near : "",
			    near != NULL ? "'?)" : "");
			bad = 1;
		}
	}
	return bad ? NULL : chain_new_ops(ops, conf->nfilters, conf, prev, err,
	    errsz);
}

struct chain *
chain_new_ops(const struct filter_ops *const *ops, size_t n,
    const struct conf *conf, const struct chain *prev, char *err,
    size_t errsz)
{
	struct chain	*c;
	size_t		 i;
	int		 bad = 0;

	if (err != NULL && errsz > 0)
		err[0] = '\0';
	if (n > CONF_FILTERS_MAX) {
		util_err_append(err, errsz, "more than %d filters",
		    CONF_FILTERS_MAX);
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->refcnt = 1;
	c->n = n;
	for (i = 0; i < n; i++) {
		if (ops[i]->needs & FILTER_AUTHRES)
			c->authres = 1;
		if (ops[i]->needs & FILTER_AFTER_ACCEPT)
			c->after_accept = 1;
	}
	for (i = 0; i < n && c->dns == NULL && !bad; i++) {
		if ((ops[i]->needs & FILTER_NEEDS_DNS) == 0)
			continue;
		if (prev != NULL && prev->dns != NULL &&
		    dns_serves(prev->dns, &conf->dns))
			c->dns = dns_ref(prev->dns);
		else if ((c->dns = dns_new(&conf->dns, err, errsz)) == NULL)
			bad = 1;
	}
	for (i = 0; i < n && c->store == NULL && !bad; i++) {
		if ((ops[i]->needs & FILTER_NEEDS_STORE) == 0)
			continue;
		if (prev != NULL && prev->store != NULL &&
		    store_serves(prev->store, &conf->redis))
			c->store = store_ref(prev->store);
		else if ((c->store = store_new(&conf->redis, err, errsz)) ==
		    NULL)
			bad = 1;
	}
	/* Every filter is set up, so every error is reported at once. */
	for (i = 0; i < n; i++) {
		c->ops[i] = ops[i];
		if (ops[i]->init != NULL &&
		    ops[i]->init(conf, c->dns, &c->gpriv[i], err, errsz) == -1) {
			c->ops[i] = NULL;	/* no fini for a failed init */
			bad = 1;
		}
	}
	if (bad) {
		chain_unref(c);
		return NULL;
	}
	return c;
}

struct chain *
chain_ref(struct chain *c)
{
	__atomic_add_fetch(&c->refcnt, 1, __ATOMIC_RELAXED);
	return c;
}

void
chain_unref(struct chain *c)
{
	size_t	 i;

	if (c == NULL ||
	    __atomic_sub_fetch(&c->refcnt, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	for (i = 0; i < c->n; i++)
		if (c->ops[i] != NULL && c->ops[i]->fini != NULL)
			c->ops[i]->fini(c->gpriv[i]);
	dns_unref(c->dns);
	store_unref(c->store);
	free(c);
}

size_t
chain_length(const struct chain *c)
{
	return c->n;
}

struct dns *
chain_dns(const struct chain *c)
{
	return c->dns;
}

unsigned
chain_session_fds(const struct chain *c)
{
	unsigned	 n = 0;
	size_t		 i;

	for (i = 0; i < c->n; i++)
		if (c->ops[i] != NULL && c->ops[i]->session_fds != NULL)
			n += c->ops[i]->session_fds(c->gpriv[i]);
	return n;
}

struct chain_sess *
chain_sess_new(struct chain *c, const struct conf *conf, const char *sid,
    struct worker_pool *workers, chain_resume_cb resume, void *arg)
{
	struct chain_sess	*cs;
	size_t			 i;

	cs = xcalloc(1, sizeof(*cs));
	cs->chain = chain_ref(c);
	cs->conf = conf;
	strlcpy(cs->sid, sid, sizeof(cs->sid));
	cs->resume = resume;
	cs->arg = arg;
	cs->workers = workers;
	chain_set_client(cs, "[UNAVAILABLE]", "[UNAVAILABLE]");
	cs->fx = xcalloc(c->n, sizeof(*cs->fx));
	for (i = 0; i < c->n; i++) {
		cs->fx[i].cs = cs;
		cs->fx[i].ops = c->ops[i];
		cs->fx[i].gpriv = c->gpriv[i];
	}
	return cs;
}

void
chain_sess_free(struct chain_sess *cs)
{
	size_t	 i;

	if (cs == NULL)
		return;
	chain_cancel(cs);
	for (i = 0; i < cs->chain->n; i++)
		if (cs->fx[i].ops->close != NULL)
			cs->fx[i].ops->close(&cs->fx[i]);
	chain_msg_reset(cs);
	chain_unref(cs->chain);
	free(cs->fx);
	free(cs);
}

static int
chain_stage_is_msg(enum chain_stage st)
{
	return st != CHAIN_CONNECT && st != CHAIN_HELO;
}

static enum fv
chain_call(struct chain_sess *cs, struct fctx *fx)
{
	const struct filter_ops		*o = fx->ops;
	const struct chain_stage_args	*a = &cs->args;

	switch (cs->stage) {
	case CHAIN_CONNECT:
		return o->connect ? o->connect(fx, a->s1, a->sa) : FV_CONTINUE;
	case CHAIN_HELO:
		return o->helo ? o->helo(fx, a->s1) : FV_CONTINUE;
	case CHAIN_ENVFROM:
		return o->envfrom ? o->envfrom(fx, a->s1, a->params) :
		    FV_CONTINUE;
	case CHAIN_ENVRCPT:
		return o->envrcpt ? o->envrcpt(fx, a->s1, a->params) :
		    FV_CONTINUE;
	case CHAIN_DATA:
		return o->data ? o->data(fx) : FV_CONTINUE;
	case CHAIN_HEADER:
		return o->header ? o->header(fx, a->s1, a->s2, a->len) :
		    FV_CONTINUE;
	case CHAIN_EOH:
		return o->eoh ? o->eoh(fx) : FV_CONTINUE;
	case CHAIN_BODY:
		return o->body ? o->body(fx, a->data, a->len) : FV_CONTINUE;
	case CHAIN_EOM:
		return o->eom ? o->eom(fx) : FV_CONTINUE;
	}
	return FV_CONTINUE;
}

/*
 * fx's time at this stage, since its call, in the metrics: the stages a
 * filter has a callback for, but not each header and body chunk (the
 * content's time shows at eom).
 */
static void
chain_timed(struct chain_sess *cs, struct fctx *fx)
{
	const struct filter_ops	*o = fx->ops;
	int			 has;

	switch (cs->stage) {
	case CHAIN_CONNECT:	has = o->connect != NULL; break;
	case CHAIN_HELO:	has = o->helo != NULL; break;
	case CHAIN_ENVFROM:	has = o->envfrom != NULL; break;
	case CHAIN_ENVRCPT:	has = o->envrcpt != NULL; break;
	case CHAIN_DATA:	has = o->data != NULL; break;
	case CHAIN_EOH:		has = o->eoh != NULL; break;
	case CHAIN_EOM:		has = o->eom != NULL; break;
	default:		has = 0; break;
	}
	if (has)
		metric_observe(M_FILTER_SECONDS, util_now_s() - fx->called,
		    o->name, chain_stage_name(cs));
}

const char *
chain_stage_name(const struct chain_sess *cs)
{
	static const char *const names[] = {
		[CHAIN_CONNECT] = "connect", [CHAIN_HELO] = "helo",
		[CHAIN_ENVFROM] = "mail", [CHAIN_ENVRCPT] = "rcpt",
		[CHAIN_DATA] = "data", [CHAIN_HEADER] = "header",
		[CHAIN_EOH] = "eoh", [CHAIN_BODY] = "body",
		[CHAIN_EOM] = "eom"
	};

	return names[cs->stage];
}

/* Whether an ACCEPT holds for the stage in progress. */
static int
chain_accepted(const struct chain_sess *cs)
{
	return cs->conn_accepted ||
	    (cs->msg_accepted && chain_stage_is_msg(cs->stage));
}

/*
 * Run filters from cs->next until one decides or goes PENDING.  An ACCEPT
 * does not end the walk: the FILTER_AFTER_ACCEPT filters after it still
 * run, and the stage says ACCEPT when none of them objects.
 */
static enum fv
chain_walk(struct chain_sess *cs)
{
	struct fctx	*fx;
	enum fv		 v;

	for (; cs->next < cs->chain->n; cs->next++) {
		fx = &cs->fx[cs->next];
		if (chain_accepted(cs) &&
		    (fx->ops->needs & FILTER_AFTER_ACCEPT) == 0)
			continue;
		fx->called = util_now_s();
		v = chain_call(cs, fx);
		if (v == FV_PENDING) {
			cs->parked = fx;
			return FV_PENDING;
		}
		chain_timed(cs, fx);
		if (v == FV_ACCEPT)
			(void)chain_decided(cs, fx, v);
		else if (v != FV_CONTINUE)
			return chain_decided(cs, fx, v);
	}
	return cs->stage_accepted ? FV_ACCEPT : FV_CONTINUE;
}

/* Filter fx decided the stage with v: note who, and remember an ACCEPT. */
static enum fv
chain_decided(struct chain_sess *cs, struct fctx *fx, enum fv v)
{
	if (cs->reply.filter == NULL)
		cs->reply.filter = fx->ops->name;
	if (v == FV_ACCEPT) {
		if (chain_stage_is_msg(cs->stage))
			cs->msg_accepted = 1;
		else
			cs->conn_accepted = 1;
		cs->stage_accepted = 1;
	}
	log_trace(TRACE_FILTER, "%s filter %s: %s", cs->sid, fx->ops->name,
	    filter_verdict_name(v));
	return v;
}

static enum fv
chain_stage_start(struct chain_sess *cs, enum chain_stage st)
{
	if (cs->parked != NULL)
		fatalx("%s: filter stage started while %s is pending",
		    cs->sid, cs->parked->ops->name);
	cs->stage = st;
	cs->next = 0;
	cs->stage_accepted = 0;
	if (chain_accepted(cs) && !cs->chain->after_accept)
		return FV_CONTINUE;
	memset(&cs->reply, 0, sizeof(cs->reply));
	return chain_walk(cs);
}

enum fv
chain_connect(struct chain_sess *cs, const char *host,
    const struct sockaddr *sa)
{
	size_t	 skip = host[0] == '[';

	if (sa == NULL || getnameinfo(sa, sa->sa_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in),
	    cs->client_addr, sizeof(cs->client_addr), NULL, 0,
	    NI_NUMERICHOST) != 0)
		snprintf(cs->client_addr, sizeof(cs->client_addr), "%.*s",
		    (int)strcspn(host + skip, "]"), host + skip);
	cs->args = (struct chain_stage_args){ .s1 = host, .sa = sa };
	return chain_stage_start(cs, CHAIN_CONNECT);
}

enum fv
chain_helo(struct chain_sess *cs, const char *name)
{
	cs->args = (struct chain_stage_args){ .s1 = name };
	return chain_stage_start(cs, CHAIN_HELO);
}

enum fv
chain_envfrom(struct chain_sess *cs, const char *addr, char *const *params)
{
	cs->args = (struct chain_stage_args){ .s1 = addr, .params = params };
	return chain_stage_start(cs, CHAIN_ENVFROM);
}

enum fv
chain_envrcpt(struct chain_sess *cs, const char *addr, char *const *params)
{
	cs->args = (struct chain_stage_args){ .s1 = addr, .params = params };
	return chain_stage_start(cs, CHAIN_ENVRCPT);
}

enum fv
chain_data(struct chain_sess *cs)
{
	cs->args = (struct chain_stage_args){ 0 };
	return chain_stage_start(cs, CHAIN_DATA);
}

enum fv
chain_header(struct chain_sess *cs, const char *name, const char *value,
    size_t valuelen)
{
	cs->args = (struct chain_stage_args){ .s1 = name, .s2 = value,
	    .len = valuelen };
	/* Only our filters may speak for our authserv-id: an incoming result
	 * claiming it is forged, in every message, an accepted one too (the
	 * backend trusts whatever carries our id).  Checked where the
	 * filters would see it. */
	cs->hdr_deleted = cs->chain->authres &&
	    strcasecmp(name, "Authentication-Results") == 0 &&
	    authres_is_ours(value, valuelen, cs->conf->authserv_id);
	return chain_stage_start(cs, CHAIN_HEADER);
}

enum fv
chain_eoh(struct chain_sess *cs)
{
	cs->args = (struct chain_stage_args){ 0 };
	return chain_stage_start(cs, CHAIN_EOH);
}

enum fv
chain_body(struct chain_sess *cs, const unsigned char *data, size_t len)
{
	cs->args = (struct chain_stage_args){ .data = data, .len = len };
	return chain_stage_start(cs, CHAIN_BODY);
}

enum fv
chain_eom(struct chain_sess *cs)
{
	cs->args = (struct chain_stage_args){ 0 };
	return chain_stage_start(cs, CHAIN_EOM);
}

static void
chain_msg_reset(struct chain_sess *cs)
{
	size_t	 i;

	for (i = 0; i < cs->nhdrs; i++) {
		free(cs->hdrs[i].name);
		free(cs->hdrs[i].value);
	}
	free(cs->hdrs);
	cs->hdrs = NULL;
	cs->nhdrs = 0;
	chain_results_free(cs);
	for (i = 0; i < cs->nedits; i++) {
		free(cs->edits[i].name);
		free(cs->edits[i].value);
	}
	free(cs->edits);
	cs->edits = NULL;
	cs->nedits = 0;
	free(cs->body);
	cs->body = NULL;
	cs->bodylen = 0;
	cs->authres = 0;
	cs->outbound = 0;
	cs->msg_accepted = 0;
	memset(&cs->reply, 0, sizeof(cs->reply));
	for (i = 0; i < cs->chain->n; i++)
		if (cs->fx[i].result_msg) {
			cs->fx[i].result[0] = '\0';
			cs->fx[i].result_msg = 0;
		}
}

/* A parked stage is abandoned: its deferred work is cancelled. */
static void
chain_cancel(struct chain_sess *cs)
{
	struct fctx	*fx = cs->parked;

	if (fx == NULL)
		return;
	cs->parked = NULL;
	if (fx->deferred != NULL) {
		fx->deferred->fx = NULL;
		worker_cancel(fx->deferred->job);
		fx->deferred = NULL;
	}
	if (fx->stored != NULL) {
		store_cancel(fx->stored->call);
		fx->stored->done(NULL, fx->stored->arg, NULL);
		chain_unref(fx->stored->chain);
		free(fx->stored);
		fx->stored = NULL;
	}
}

void
chain_abort(struct chain_sess *cs)
{
	size_t	 i;

	chain_cancel(cs);
	for (i = 0; i < cs->chain->n; i++)
		if (cs->fx[i].ops->abort != NULL)
			cs->fx[i].ops->abort(&cs->fx[i]);
	chain_msg_reset(cs);
}

void
chain_tx_done(struct chain_sess *cs)
{
	chain_msg_reset(cs);
}

int
chain_header_deleted(const struct chain_sess *cs)
{
	return cs->hdr_deleted;
}

int
fctx_header_deleted(struct fctx *fx)
{
	return fx->cs->hdr_deleted;
}

void
chain_set_client(struct chain_sess *cs, const char *name, const char *reverse)
{
	cs->client_name = name;
	cs->reverse_name = reverse;
}

const char *
fctx_client_name(struct fctx *fx)
{
	return fx->cs->client_name;
}

const char *
fctx_reverse_name(struct fctx *fx)
{
	return fx->cs->reverse_name;
}

const char *
fctx_client_addr(struct fctx *fx)
{
	return fx->cs->client_addr;
}

void
chain_set_auth(struct chain_sess *cs, const char *who)
{
	strlcpy(cs->auth, who, sizeof(cs->auth));
}

const char *
fctx_authenticated(struct fctx *fx)
{
	return fx->cs->auth[0] != '\0' ? fx->cs->auth : NULL;
}

int
chain_wants_content(const struct chain_sess *cs)
{
	const struct filter_ops	*o;
	size_t			 i;
	int			 accepted;

	if (cs->chain->authres && cs->stage < CHAIN_EOH)
		return 1;	/* forged results to remove, accepted or not */
	accepted = cs->conn_accepted || cs->msg_accepted;
	for (i = 0; i < cs->chain->n; i++) {
		o = cs->fx[i].ops;
		if (accepted && (o->needs & FILTER_AFTER_ACCEPT) == 0)
			continue;
		if (o->header != NULL || o->eoh != NULL || o->body != NULL)
			return 1;
	}
	return 0;
}

const struct verdict_reply *
chain_reply(const struct chain_sess *cs)
{
	return &cs->reply;
}

size_t
chain_headers(const struct chain_sess *cs, const struct chain_header **hdrs)
{
	size_t	 skip = cs->authres && cs->outbound;

	*hdrs = cs->hdrs + skip;
	return cs->nhdrs - skip;
}

void
chain_results(const struct chain_sess *cs, char *buf, size_t bufsz)
{
	size_t	 i;

	buf[0] = '\0';
	for (i = 0; i < cs->chain->n; i++) {
		if (cs->fx[i].result[0] == '\0')
			continue;
		if (buf[0] != '\0')
			strlcat(buf, " ", bufsz);
		strlcat(buf, cs->fx[i].ops->name, bufsz);
		strlcat(buf, "=", bufsz);
		strlcat(buf, cs->fx[i].result, bufsz);
	}
}

size_t
chain_result_list(const struct chain_sess *cs, struct txlog_result *out,
    size_t max)
{
	size_t	 i, n = 0;

	for (i = 0; i < cs->chain->n && n < max; i++)
		if (cs->fx[i].result[0] != '\0') {
			out[n].filter = cs->fx[i].ops->name;
			out[n++].text = cs->fx[i].result;
		}
	return n;
}

/* The fctx_* API of filter.h. */

void *
fctx_priv(struct fctx *fx)
{
	return fx->priv;
}

void
fctx_set_priv(struct fctx *fx, void *priv)
{
	fx->priv = priv;
}

void *
fctx_gpriv(struct fctx *fx)
{
	return fx->gpriv;
}

const struct conf *
fctx_conf(struct fctx *fx)
{
	return fx->cs->conf;
}

const char *
fctx_session_id(struct fctx *fx)
{
	return fx->cs->sid;
}

void
fctx_reply(struct fctx *fx, const char *code, const char *esc,
    const char *fmt, ...)
{
	struct verdict_reply	*r = &fx->cs->reply;
	va_list			 ap;

	strlcpy(r->code, code, sizeof(r->code));
	strlcpy(r->esc, esc, sizeof(r->esc));
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
	r->filter = fx->ops->name;
}

/* A field name a filter gave is one (else the edit is dropped, logged). */
static int
chain_field_name_ok(struct fctx *fx, const char *name)
{
	if (rfc5322_name_ok(name, strlen(name)))
		return 1;
	log_warnx("%s filter %s: header field name '%.64s' refused: not a "
	    "field name", fx->cs->sid, fx->ops->name, name);
	return 0;
}

void
fctx_add_header(struct fctx *fx, const char *name, const char *value)
{
	struct chain_sess	*cs = fx->cs;

	if (!chain_field_name_ok(fx, name))
		return;
	cs->hdrs = xrealloc(cs->hdrs, (cs->nhdrs + 1) * sizeof(*cs->hdrs));
	cs->hdrs[cs->nhdrs].name = xstrdup(name);
	cs->hdrs[cs->nhdrs].value = hdrbuild_field(value);
	cs->nhdrs++;
}

void
fctx_change_header(struct fctx *fx, const char *name, unsigned index,
    const char *value)
{
	struct chain_sess	*cs = fx->cs;
	struct chain_edit	*e;

	if (!chain_field_name_ok(fx, name))
		return;
	cs->edits = xrealloc(cs->edits, (cs->nedits + 1) * sizeof(*e));
	e = &cs->edits[cs->nedits++];
	e->name = xstrdup(name);
	e->index = index;
	e->value = value != NULL ? hdrbuild_field(value) : NULL;
}

void
fctx_replace_body(struct fctx *fx, const void *data, size_t len)
{
	struct chain_sess	*cs = fx->cs;

	cs->body = xrealloc(cs->body, cs->bodylen + len + 1);
	memcpy(cs->body + cs->bodylen, data, len);
	cs->bodylen += len;
	cs->body[cs->bodylen] = '\0';
}

const char *
chain_new_body(const struct chain_sess *cs, size_t *len)
{
	*len = cs->bodylen;
	return cs->body;
}

size_t
chain_edits(const struct chain_sess *cs, const struct chain_edit **edits)
{
	*edits = cs->edits;
	return cs->nedits;
}

void
fctx_result(struct fctx *fx, const char *fmt, ...)
{
	char	 word[32];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(fx->result, sizeof(fx->result), fmt, ap);
	va_end(ap);
	fx->result_msg = chain_stage_is_msg(fx->cs->stage);
	metric_word(fx->result, word, sizeof(word));
	metric_add(M_FILTER_VERDICTS, 1, fx->ops->name, word);
}

void
fctx_resume(struct fctx *fx, enum fv v)
{
	struct chain_sess	*cs = fx->cs;

	if (cs->parked != fx || v == FV_PENDING)
		fatalx("%s: filter %s resumed without a pending stage",
		    cs->sid, fx->ops->name);
	cs->parked = NULL;
	chain_timed(cs, fx);
	if (v == FV_CONTINUE || v == FV_ACCEPT) {
		if (v == FV_ACCEPT)
			(void)chain_decided(cs, fx, v);
		cs->next++;
		v = chain_walk(cs);
		if (v == FV_PENDING)
			return;
	} else
		v = chain_decided(cs, fx, v);
	cs->resume(cs->arg, v);
}

int
fctx_defer(struct fctx *fx, fctx_work_fn work, fctx_done_fn done, void *arg)
{
	struct chain_deferred	*d;

	if (fx->cs->workers == NULL || fx->deferred != NULL)
		return -1;
	d = xcalloc(1, sizeof(*d));
	d->chain = chain_ref(fx->cs->chain);
	d->fx = fx;
	d->work = work;
	d->done = done;
	d->arg = arg;
	if ((d->job = worker_submit(fx->cs->workers, chain_deferred_run,
	    chain_deferred_done, d)) == NULL) {
		chain_unref(d->chain);
		free(d);
		return -1;
	}
	fx->deferred = d;
	return 0;
}

static void
chain_deferred_run(void *arg)
{
	struct chain_deferred	*d = arg;

	d->work(d->arg);
}

/* On the loop: hand the result to the filter, or let it free a
 * cancelled one. */
static void
chain_deferred_done(void *arg, int cancelled)
{
	struct chain_deferred	*d = arg;
	struct fctx		*fx = cancelled ? NULL : d->fx;

	if (fx != NULL)
		fx->deferred = NULL;
	d->done(fx, d->arg);
	chain_unref(d->chain);
	free(d);
}

int
fctx_store(struct fctx *fx, const struct store_req *req, fctx_store_fn done,
    void *arg)
{
	struct chain_stored	*st;

	if (fx->cs->chain->store == NULL || fx->cs->workers == NULL ||
	    fx->stored != NULL)
		return -1;
	st = xcalloc(1, sizeof(*st));
	st->chain = chain_ref(fx->cs->chain);
	st->fx = fx;
	st->done = done;
	st->arg = arg;
	fx->stored = st;
	st->call = store_call(st->chain->store,
	    worker_pool_base(fx->cs->workers), req, chain_stored_done, st);
	return 0;
}

/* On the loop: the store's answer to the filter. */
static void
chain_stored_done(void *arg, const struct store_reply *r)
{
	struct chain_stored	*st = arg;
	struct fctx		*fx = st->fx;

	fx->stored = NULL;
	st->done(fx, st->arg, r);
	chain_unref(st->chain);
	free(st);
}

struct dns *
fctx_dns(struct fctx *fx)
{
	return fx->cs->chain->dns;
}

void
fctx_authres(struct fctx *fx, const char *method, const char *result,
    const char *comment, const struct authres_prop *props, size_t nprops)
{
	struct chain_sess	*cs = fx->cs;

	if (!cs->authres) {
		/* Ours goes first: above anything another filter adds. */
		cs->hdrs = xrealloc(cs->hdrs, (cs->nhdrs + 1) *
		    sizeof(*cs->hdrs));
		memmove(cs->hdrs + 1, cs->hdrs, cs->nhdrs * sizeof(*cs->hdrs));
		cs->nhdrs++;
		cs->hdrs[0].name = xstrdup("Authentication-Results");
		cs->hdrs[0].value = NULL;
		cs->authres = 1;
	}
	authres_add(&cs->hdrs[0].value, cs->conf->authserv_id, method, result,
	    comment, props, nprops);
	chain_results_add(cs, method, result, props, nprops);
}

const char *
fctx_authres_text(struct fctx *fx)
{
	return fx->cs->authres ? fx->cs->hdrs[0].value : NULL;
}

int
fctx_modified(struct fctx *fx)
{
	return fx->cs->nedits > 0 || fx->cs->body != NULL;
}

/* A copy of one result, for fctx_auth_results. */
static void
chain_results_add(struct chain_sess *cs, const char *method,
    const char *result, const struct authres_prop *props, size_t nprops)
{
	struct fctx_auth	*a;
	size_t			 i;

	cs->results = xrealloc(cs->results, (cs->nresults + 1) *
	    sizeof(*cs->results));
	a = &cs->results[cs->nresults++];
	memset(a, 0, sizeof(*a));
	a->method = xstrdup(method);
	a->result = xstrdup(result);
	for (i = 0; i < nprops && i < FCTX_AUTH_PROPS; i++) {
		a->props[i].name = xstrdup(props[i].name);
		a->props[i].value = xstrdup(props[i].value);
	}
	a->nprops = i;
}

static void
chain_results_free(struct chain_sess *cs)
{
	size_t	 i, j;

	for (i = 0; i < cs->nresults; i++) {
		free(cs->results[i].method);
		free(cs->results[i].result);
		for (j = 0; j < cs->results[i].nprops; j++) {
			free((char *)cs->results[i].props[j].name);
			free((char *)cs->results[i].props[j].value);
		}
	}
	free(cs->results);
	cs->results = NULL;
	cs->nresults = 0;
}

size_t
fctx_auth_results(struct fctx *fx, const struct fctx_auth **out)
{
	*out = fx->cs->results;
	return fx->cs->nresults;
}

void
fctx_outbound(struct fctx *fx)
{
	fx->cs->outbound = 1;
}

const char *
filter_verdict_name(enum fv v)
{
	static const char *const names[] = {
		"continue", "accept", "reject", "tempfail", "discard",
		"pending"
	};

	return (size_t)v < nitems(names) ? names[v] : "?";
}

/* SPDX-License-Identifier: ISC */
/*
 * t_chain.c - the filter chain with scripted filters: order, short
 * circuit, PENDING and resume, remembered ACCEPT, replies, queued headers,
 * results, abort/close delivery, deferred work on a real worker pool
 * (completed through the loop, cancelled by abort), the Authentication-
 * Results header and header removal, FILTER_AFTER_ACCEPT filters (called
 * after an ACCEPT, the rest of that stage included); and policy/decide.c's
 * replies, which sit on the chain's output.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "filters/chain.h"
#include "lib/util.h"
#include "lib/worker.h"
#include "policy/authres.h"
#include "policy/conf.h"
#include "policy/decide.h"
#include "tap.h"

static char		 calls[1024];		/* "a:envfrom b:envfrom ..." */
static enum fv		 script_a[16], script_b[16];	/* by stage no. */
static struct fctx	*parked;
static enum fv		 resumed = FV_PENDING;
static int		 resumes;

enum { ST_CONNECT, ST_HELO, ST_FROM, ST_RCPT, ST_DATA, ST_HDR, ST_EOH,
    ST_BODY, ST_EOM };

static enum fv
note(struct fctx *fx, const char *who, const char *what, int st)
{
	enum fv	 v = who[0] == 'a' ? script_a[st] : script_b[st];

	strcat(calls, who);
	strcat(calls, ":");
	strcat(calls, what);
	strcat(calls, " ");
	if (v == FV_PENDING)
		parked = fx;
	if (v == FV_REJECT && who[0] == 'a')
		fctx_reply(fx, "550", "5.7.1", "refused by %s", who);
	return v;
}

#define CB(who, name, st)						\
static enum fv who##_##name##_cb(struct fctx *fx)			\
{ return note(fx, #who, #name, st); }
CB(a, data, ST_DATA)
CB(a, eom, ST_EOM)
CB(b, data, ST_DATA)
CB(b, eom, ST_EOM)

static enum fv
a_connect(struct fctx *fx, const char *host, const struct sockaddr *sa)
{
	(void)host;
	(void)sa;
	fctx_result(fx, "conn-ok");
	return note(fx, "a", "connect", ST_CONNECT);
}

static enum fv
a_envfrom(struct fctx *fx, const char *addr, char *const *params)
{
	(void)params;
	fctx_result(fx, "from=%s", addr);
	return note(fx, "a", "envfrom", ST_FROM);
}

static enum fv
b_envfrom(struct fctx *fx, const char *addr, char *const *params)
{
	(void)addr;
	(void)params;
	return note(fx, "b", "envfrom", ST_FROM);
}

static enum fv
a_envrcpt(struct fctx *fx, const char *addr, char *const *params)
{
	(void)addr;
	(void)params;
	return note(fx, "a", "envrcpt", ST_RCPT);
}

static enum fv
b_body(struct fctx *fx, const unsigned char *p, size_t n)
{
	(void)p;
	(void)n;
	fctx_add_header(fx, "X-Seen", "yes");
	return note(fx, "b", "body", ST_BODY);
}

static void
a_abort(struct fctx *fx)
{
	(void)fx;
	strcat(calls, "a:abort ");
}

static void
b_close(struct fctx *fx)
{
	(void)fx;
	strcat(calls, "b:close ");
}

static int
bad_init(const struct conf *c, struct dns *dns, void **g, char *err,
    size_t errsz)
{
	(void)dns;
	(void)c;
	(void)g;
	snprintf(err, errsz, "bad: no key");
	return -1;
}

static const struct filter_ops fa = {
	.name = "a", .connect = a_connect, .envfrom = a_envfrom,
	.envrcpt = a_envrcpt, .data = a_data_cb, .eom = a_eom_cb,
	.abort = a_abort,
};
static const struct filter_ops fb = {
	.name = "b", .envfrom = b_envfrom, .data = b_data_cb,
	.body = b_body, .eom = b_eom_cb, .close = b_close,
};
static const struct filter_ops fbad = { .name = "bad", .init = bad_init };

static void
on_resume(void *arg, enum fv v)
{
	(void)arg;
	resumed = v;
	resumes++;
}

static void
reset(void)
{
	calls[0] = '\0';
	memset(script_a, 0, sizeof(script_a));
	memset(script_b, 0, sizeof(script_b));
	parked = NULL;
	resumed = FV_PENDING;
	resumes = 0;
}

static void
test_chain(struct conf *conf)
{
	const struct filter_ops	*ops[] = { &fa, &fb };
	const struct chain_header *h;
	struct chain		*c;
	struct chain_sess	*cs;
	char			 err[256], res[256];
	char *const		 noparams[] = { NULL };

	c = chain_new_ops(ops, 2, conf, NULL, err, sizeof(err));
	ok(c != NULL, "chain of two builds");
	cs = chain_sess_new(c, conf, "0123456789abcdef", NULL, on_resume,
	    NULL);
	chain_unref(c);		/* the session keeps its own reference */

	reset();
	is_int(chain_connect(cs, "192.0.2.1", NULL), FV_CONTINUE,
	    "connect: continue");
	is_str(calls, "a:connect ", "only filters with a callback are called");
	is_int(chain_envfrom(cs, "x@y", noparams), FV_CONTINUE, "envfrom");
	is_str(calls, "a:connect a:envfrom b:envfrom ", "in chain order");
	chain_results(cs, res, sizeof(res));
	is_str(res, "a=from=x@y", "results: the latest of a");

	reset();
	script_a[ST_RCPT] = FV_REJECT;
	is_int(chain_envrcpt(cs, "r@z", noparams), FV_REJECT, "rcpt reject");
	is_str(chain_reply(cs)->code, "550", "reply code from the filter");
	is_str(chain_reply(cs)->text, "refused by a", "reply text");
	is_str(chain_reply(cs)->filter, "a", "deciding filter named");

	reset();
	script_a[ST_DATA] = FV_PENDING;
	is_int(chain_data(cs), FV_PENDING, "data: pending");
	is_str(calls, "a:data ", "b waits while a is pending");
	ok(parked != NULL, "a parked itself");
	fctx_resume(parked, FV_CONTINUE);
	is_int(resumes, 1, "resume callback called once");
	is_int(resumed, FV_CONTINUE, "stage verdict after resume");
	is_str(calls, "a:data b:data ", "chain went on at b");

	reset();
	script_a[ST_DATA] = FV_PENDING;
	chain_data(cs);
	fctx_resume(parked, FV_TEMPFAIL);
	is_int(resumed, FV_TEMPFAIL, "a pending tempfail decides");
	is_str(calls, "a:data ", "b not called after a decided");

	reset();
	ok(chain_wants_content(cs), "b wants the body");
	is_int(chain_body(cs, (const unsigned char *)"x", 1), FV_CONTINUE,
	    "body");
	is_int(chain_headers(cs, &h), 1, "one header queued");
	is_str(h[0].name, "X-Seen", "header name");
	is_str(h[0].value, "yes", "header value");
	chain_tx_done(cs);
	is_int(chain_headers(cs, &h), 0, "tx_done clears queued headers");
	chain_results(cs, res, sizeof(res));
	is_str(res, "", "a result set in a message stage is cleared");

	reset();
	script_a[ST_FROM] = FV_ACCEPT;
	is_int(chain_envfrom(cs, "ok@y", noparams), FV_ACCEPT, "accept");
	is_int(chain_envrcpt(cs, "r@z", noparams), FV_CONTINUE,
	    "after accept: rcpt skipped");
	is_int(chain_eom(cs), FV_CONTINUE, "after accept: eom skipped");
	ok(!chain_wants_content(cs), "accepted message needs no content");
	is_str(calls, "a:envfrom ", "no filter called after accept");
	chain_abort(cs);
	is_str(calls, "a:envfrom a:abort ", "abort delivered");
	reset();
	chain_envfrom(cs, "x@y", noparams);
	is_str(calls, "a:envfrom b:envfrom ", "next message: filters again");

	reset();
	script_a[ST_CONNECT] = FV_ACCEPT;
	is_int(chain_connect(cs, "192.0.2.1", NULL), FV_ACCEPT, "conn accept");
	chain_tx_done(cs);
	is_int(chain_envfrom(cs, "x@y", noparams), FV_CONTINUE,
	    "connection accept holds across messages");
	is_str(calls, "a:connect ", "nothing called after it");

	reset();
	chain_sess_free(cs);
	is_str(calls, "b:close ", "close delivered on free");

	ops[0] = &fbad;
	ok(chain_new_ops(ops, 2, conf, NULL, err, sizeof(err)) == NULL,
	    "init failure refuses the chain");
	is_str(err, "bad: no key", "init error reported");
}

static void
test_decide(void)
{
	struct verdict_reply	 r;
	char			 reply[600];

	memset(&r, 0, sizeof(r));
	is_int(decide(DECIDE_MAIL, FV_CONTINUE, &r, reply, sizeof(reply)),
	    DECIDE_RELAY, "continue relays");
	is_int(decide(DECIDE_EOM, FV_ACCEPT, &r, reply, sizeof(reply)),
	    DECIDE_RELAY, "accept relays");
	is_int(decide(DECIDE_RCPT, FV_DISCARD, &r, reply, sizeof(reply)),
	    DECIDE_DISCARD, "discard");
	r.filter = "iplist";
	is_int(decide(DECIDE_CONNECT, FV_REJECT, &r, reply, sizeof(reply)),
	    DECIDE_REJECT, "reject");
	is_str(reply, "554 5.7.1 Connection rejected by iplist",
	    "default connect reply names the filter");
	is_int(decide(DECIDE_MAIL, FV_TEMPFAIL, &r, reply, sizeof(reply)),
	    DECIDE_TEMPFAIL, "tempfail");
	is_str(reply, "451 4.7.1 Sender deferred by iplist, try again later",
	    "default tempfail reply");
	strcpy(r.code, "550");
	strcpy(r.esc, "5.7.23");
	strcpy(r.text, "SPF fail for example.com");
	decide(DECIDE_MAIL, FV_REJECT, &r, reply, sizeof(reply));
	is_str(reply, "550 5.7.23 SPF fail for example.com",
	    "the filter's own reply");
	decide(DECIDE_MAIL, FV_TEMPFAIL, &r, reply, sizeof(reply));
	is_str(reply, "451 4.7.1 Sender deferred by iplist, try again later",
	    "a 5xx reply is not used for tempfail");
	strcpy(r.text, "two\r\n250 lines");
	decide(DECIDE_MAIL, FV_REJECT, &r, reply, sizeof(reply));
	is_str(reply, "550 5.7.1 Sender rejected by iplist",
	    "a reply with CR/LF is not used");
}

/* A filter that defers its MAIL check to the pool. */
struct dwork {
	pthread_t	 thread;
	int		 usleep;
};
static int		 cancelled_frees;

static void
d_work(void *arg)
{
	struct dwork	*w = arg;

	usleep(w->usleep);
	w->thread = pthread_self();
}

static void
d_done(struct fctx *fx, void *arg)
{
	struct dwork	*w = arg;

	if (fx == NULL) {
		cancelled_frees++;
		free(w);
		return;
	}
	ok(!pthread_equal(w->thread, pthread_self()), "work ran off the loop");
	fctx_authres(fx, "spf", "fail", NULL,
	    &(struct authres_prop){ "smtp.mailfrom", "x@y" }, 1);
	fctx_authres(fx, "spf", "none", NULL,
	    &(struct authres_prop){ "smtp.helo", "h" }, 1);
	fctx_reply(fx, "550", "5.7.23", "deferred no");
	free(w);
	fctx_resume(fx, FV_REJECT);
}

static enum fv
d_envfrom(struct fctx *fx, const char *addr, char *const *params)
{
	struct dwork	*w = calloc(1, sizeof(*w));

	(void)params;
	w->usleep = strcmp(addr, "slow@y") == 0 ? 200000 : 0;
	if (fctx_defer(fx, d_work, d_done, w) == -1) {
		free(w);
		return FV_TEMPFAIL;
	}
	return FV_PENDING;
}

static int	 d_finis;

static void
d_fini(void *g)
{
	(void)g;
	d_finis++;
}

/* It writes A-R results, and has no header callback of its own. */
static const struct filter_ops fd = { .name = "d", .needs = FILTER_AUTHRES,
    .fini = d_fini, .envfrom = d_envfrom };

static void
test_deferred(struct conf *conf)
{
	const struct filter_ops	*ops[] = { &fd };
	const struct chain_header *h;
	struct event_base	*base = event_base_new();
	struct worker_pool	*pool;
	struct chain		*c;
	struct chain_sess	*cs, *nopool;
	struct timeval		 tick = { 0, 10000 };
	char			 err[256] = "", arv[300];
	char *const		 noparams[] = { NULL };
	int			 i;

	pool = worker_pool_new(base, 2, 10, err, sizeof(err));
	c = chain_new_ops(ops, 1, conf, NULL, err, sizeof(err));
	cs = chain_sess_new(c, conf, "0123456789abcdef", pool, on_resume,
	    NULL);
	reset();
	is_int(chain_envfrom(cs, "x@y", noparams), FV_PENDING,
	    "deferred work parks the stage");
	for (i = 0; i < 300 && resumes == 0; i++) {
		event_base_loopexit(base, &tick);
		event_base_dispatch(base);
	}
	is_int(resumed, FV_REJECT, "the loop delivered the verdict");
	is_str(chain_reply(cs)->esc, "5.7.23", "with the filter's reply");
	ok(chain_headers(cs, &h) == 1 &&
	    strcmp(h[0].name, "Authentication-Results") == 0 &&
	    strcmp(h[0].value, conf->authserv_id) != 0 &&
	    strstr(h[0].value, ";\r\n\tspf=fail smtp.mailfrom=x@y;\r\n\t"
	    "spf=none smtp.helo=h") != NULL, "one A-R header, both results");
	chain_abort(cs);

	reset();
	cancelled_frees = 0;
	is_int(chain_envfrom(cs, "slow@y", noparams), FV_PENDING, "slow work");
	chain_abort(cs);	/* e.g. the client went away */
	for (i = 0; i < 50 && cancelled_frees == 0; i++) {
		event_base_loopexit(base, &tick);
		event_base_dispatch(base);
	}
	ok(cancelled_frees == 1 && resumes == 0, "abort cancels: freed, "
	    "never resumed");

	ok(chain_wants_content(cs), "an A-R writer wants the header section");
	is_int(chain_header(cs, "X-Keep", " 1", 2), FV_CONTINUE, "a header");
	ok(!chain_header_deleted(cs), "kept");
	snprintf(arv, sizeof(arv), " %s; spf=pass smtp.mailfrom=x@y",
	    conf->authserv_id);
	chain_header(cs, "authentication-results", arv, strlen(arv));
	ok(chain_header_deleted(cs), "an A-R claiming our authserv-id: removed");
	chain_header(cs, "Authentication-Results", " other.example; spf=pass",
	    24);
	ok(!chain_header_deleted(cs), "another authserv-id's A-R stays");
	chain_header(cs, "X-Keep", arv, strlen(arv));
	ok(!chain_header_deleted(cs), "only A-R fields are looked at");
	chain_sess_free(cs);

	nopool = chain_sess_new(c, conf, "0123456789abcdef", NULL, on_resume,
	    NULL);
	is_int(chain_envfrom(nopool, "x@y", noparams), FV_TEMPFAIL,
	    "no pool: the filter gets -1 and answers at once");
	chain_sess_free(nopool);

	/* The session and the last other reference go while work runs. */
	cs = chain_sess_new(c, conf, "0123456789abcdef", pool, on_resume,
	    NULL);
	cancelled_frees = 0;
	d_finis = 0;
	chain_envfrom(cs, "slow@y", noparams);
	chain_sess_free(cs);
	chain_unref(c);
	ok(d_finis == 0, "running work keeps the chain (and its filters)");
	for (i = 0; i < 50 && cancelled_frees == 0; i++) {
		event_base_loopexit(base, &tick);
		event_base_dispatch(base);
	}
	ok(cancelled_frees == 1 && d_finis == 1, "then its end frees them");
	worker_pool_free(pool);
	event_base_free(base);
}

/* A filter that wants the resolver: init notes which one it got. */
static struct dns	*given_dns;

static int
n_init(const struct conf *c, struct dns *dns, void **g, char *err,
    size_t errsz)
{
	(void)c;
	(void)err;
	(void)errsz;
	*g = NULL;
	given_dns = dns;
	return 0;
}

static const struct filter_ops fn = { .name = "n", .needs = FILTER_NEEDS_DNS,
    .init = n_init };

static void
test_resolver_kept(struct conf *conf)
{
	const struct filter_ops	*ops[] = { &fn }, *none[] = { &fa };
	struct chain		*c1, *c2, *c3, *c4;
	struct conf		*other;
	struct dns		*d1, *d2;
	char			 err[256] = "";
	char			*ov[] = { "dns.timeout=7s" };

	given_dns = NULL;
	c1 = chain_new_ops(none, 1, conf, NULL, err, sizeof(err));
	ok(c1 != NULL && given_dns == NULL, "no filter needs DNS: no resolver");
	chain_unref(c1);
	c1 = chain_new_ops(ops, 1, conf, NULL, err, sizeof(err));
	d1 = given_dns;
	ok(c1 != NULL && d1 != NULL, "a filter that needs DNS gets one");
	c2 = chain_new_ops(ops, 1, conf, c1, err, sizeof(err));
	ok(c2 != NULL && given_dns == d1, "a reload with the same [dns] keeps "
	    "the resolver (and its cache)");
	chain_unref(c1);	/* the old generation ends first */
	other = conf_load(NULL, ov, 1, err, sizeof(err));
	c3 = chain_new_ops(ops, 1, other, c2, err, sizeof(err));
	d2 = given_dns;
	ok(c3 != NULL && d2 != NULL && d2 != d1, "changed [dns]: a new one");
	c4 = chain_new_ops(ops, 1, conf, c3, err, sizeof(err));
	ok(c4 != NULL && given_dns != d2, "and back: new again");
	chain_unref(c2);
	chain_unref(c3);
	chain_unref(c4);
	conf_unref(other);
}

/* A signer-like filter: called after an ACCEPT; at eom it may go PENDING
 * (script_b) and sees the header stage's removal flag. */
static enum fv
s_connect(struct fctx *fx, const char *host, const struct sockaddr *sa)
{
	(void)host;
	(void)sa;
	return note(fx, "s", "connect", ST_CONNECT);
}

static enum fv
s_header(struct fctx *fx, const char *name, const char *value,
    size_t valuelen)
{
	(void)value;
	(void)valuelen;
	strcat(calls, fctx_header_deleted(fx) ? "s:header-deleted " :
	    "s:header ");
	(void)name;
	return FV_CONTINUE;
}

CB(s, eom, ST_EOM)

static const struct filter_ops fs = {
	.name = "s", .needs = FILTER_AFTER_ACCEPT, .connect = s_connect,
	.header = s_header, .eom = s_eom_cb,
};

static void
test_after_accept(struct conf *conf)
{
	const struct filter_ops	*ops[] = { &fa, &fb, &fs }, *plain[] = {
	    &fa, &fb };
	struct chain		*c, *c2;
	struct chain_sess	*cs;
	char			 err[256];

	reset();
	c = chain_new_ops(ops, 3, conf, NULL, err, sizeof(err));
	cs = chain_sess_new(c, conf, "sid", NULL, on_resume, NULL);
	script_a[ST_CONNECT] = FV_ACCEPT;
	is_int(chain_connect(cs, "h", NULL), FV_ACCEPT,
	    "after-accept filter: the stage still says ACCEPT");
	is_str(calls, "a:connect s:connect ",
	    "the rest of the stage: only the after-accept filter");
	ok(chain_wants_content(cs), "an after-accept filter wants content");
	reset();
	is_int(chain_envfrom(cs, "x@y", NULL), FV_CONTINUE,
	    "a later stage without after-accept callbacks continues");
	is_str(calls, "", "and calls nobody");
	is_int(chain_header(cs, "Subject", "x", 1), FV_CONTINUE, "header");
	is_str(calls, "s:header ", "header: the after-accept filter only");
	reset();
	script_a[ST_EOM] = FV_TEMPFAIL;
	is_int(chain_eom(cs), FV_CONTINUE, "eom after accept");
	is_str(calls, "s:eom ", "eom: after-accept filter only");
	reset();
	chain_abort(cs);
	chain_sess_free(cs);

	/* A message accepted mid-stage; then the after-accept filter may
	 * still refuse (a signer that cannot sign). */
	cs = chain_sess_new(c, conf, "sid", NULL, on_resume, NULL);
	chain_connect(cs, "h", NULL);
	reset();
	script_a[ST_FROM] = FV_ACCEPT;
	is_int(chain_envfrom(cs, "x@y", NULL), FV_ACCEPT, "message accepted");
	is_str(calls, "a:envfrom ", "b skipped after the accept");
	reset();
	script_b[ST_EOM] = FV_PENDING;	/* ("s" reads script_b) */
	is_int(chain_eom(cs), FV_PENDING, "after-accept filter pending");
	fctx_resume(parked, FV_TEMPFAIL);
	is_int(resumed, FV_TEMPFAIL, "and its tempfail decides");
	chain_abort(cs);
	chain_sess_free(cs);
	chain_unref(c);

	c2 = chain_new_ops(plain, 2, conf, NULL, err, sizeof(err));
	cs = chain_sess_new(c2, conf, "sid", NULL, on_resume, NULL);
	reset();
	script_a[ST_CONNECT] = FV_ACCEPT;
	chain_connect(cs, "h", NULL);
	ok(!chain_wants_content(cs), "no after-accept filter: no content");
	chain_sess_free(cs);
	chain_unref(c2);
}

/* A filter that adds fields at eom: a hostile value, bad names. */
static enum fv
h_eom(struct fctx *fx)
{
	fctx_add_header(fx, "X-Tag", "YES\r\nX-Evil: 1");
	fctx_add_header(fx, "X Bad", "x");
	fctx_add_header(fx, "X:Bad", "x");
	fctx_change_header(fx, "Subject", 1, "new\nBcc: x@example.com");
	fctx_change_header(fx, "", 1, NULL);
	return FV_CONTINUE;
}

static const struct filter_ops fh = { .name = "h", .eom = h_eom };

/* Issue 12: forged A-R removed from accepted messages too; the fields
 * filters add are checked. */
static void
test_accepted_and_added(struct conf *conf)
{
	const struct filter_ops		*ops[] = { &fa, &fd, &fh };
	const struct chain_header	*h;
	const struct chain_edit		*e;
	struct chain			*c;
	struct chain_sess		*cs;
	char				 err[256], arv[300];

	reset();
	c = chain_new_ops(ops, 3, conf, NULL, err, sizeof(err));
	cs = chain_sess_new(c, conf, "sid", NULL, on_resume, NULL);
	snprintf(arv, sizeof(arv), " %s; dkim=pass header.d=bank.test",
	    conf->authserv_id);
	script_a[ST_CONNECT] = FV_ACCEPT;
	is_int(chain_connect(cs, "h", NULL), FV_ACCEPT, "connection accepted");
	ok(chain_wants_content(cs), "accepted: the header is still read");
	chain_header(cs, "Authentication-Results", arv, strlen(arv));
	ok(chain_header_deleted(cs), "accepted connection: forged A-R removed");
	chain_eoh(cs);
	ok(!chain_wants_content(cs), "after the header: no more content");
	chain_abort(cs);
	chain_sess_free(cs);

	cs = chain_sess_new(c, conf, "sid", NULL, on_resume, NULL);
	reset();
	chain_connect(cs, "h", NULL);
	script_a[ST_FROM] = FV_ACCEPT;
	is_int(chain_envfrom(cs, "x@y", NULL), FV_ACCEPT, "message accepted");
	chain_header(cs, "authentication-results", arv, strlen(arv));
	ok(chain_header_deleted(cs), "accepted message: forged A-R removed");
	chain_abort(cs);
	reset();
	chain_envfrom(cs, "x@y", NULL);
	chain_eom(cs);
	ok(chain_headers(cs, &h) == 1 && strcmp(h[0].name, "X-Tag") == 0 &&
	    strcmp(h[0].value, "YES\r\n\tX-Evil: 1") == 0,
	    "a line break in an added value is folded; bad names refused");
	ok(chain_edits(cs, &e) == 1 && strcmp(e[0].name, "Subject") == 0 &&
	    strcmp(e[0].value, "new\r\n\tBcc: x@example.com") == 0,
	    "the same for a changed field");
	chain_abort(cs);
	chain_sess_free(cs);
	chain_unref(c);
}

int
main(void)
{
	struct conf	*conf;
	char		 err[256];

	conf = conf_load(NULL, NULL, 0, err, sizeof(err));
	if (!ok(conf != NULL, "default configuration loads"))
		return tap_done();
	test_chain(conf);
	test_deferred(conf);
	test_resolver_kept(conf);
	test_after_accept(conf);
	test_accepted_and_added(conf);
	test_decide();
	conf_unref(conf);
	return tap_done();
}

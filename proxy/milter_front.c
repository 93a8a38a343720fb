/* SPDX-License-Identifier: ISC */
/*
 * milter_front.c - "postern milter" (see milter_front.h): the second front
 * end of the filter chain, after the proxy session.  The MTA talks SMTP to
 * the client and asks us, stage by stage, over the milter protocol; each
 * stage goes through the same chain_* call and the same decide() as in the
 * proxy, so a message gets the same verdict and the same reply either way.
 *
 * Threads.  libmilter calls a connection's xxfi_* callbacks on a thread of
 * its own, one per MTA connection.  The chain is single-threaded: a stage
 * may go PENDING and then resumes on the event loop that owns the worker
 * pool.  So one thread runs a libevent loop that owns every chain session
 * and makes every chain call, and libmilter threads never touch one: a
 * callback fills a struct milter_call (the stage and its borrowed
 * arguments), queues it, wakes the loop with a byte on a pipe and waits on
 * its connection's condition variable.  The loop runs the stage; when the
 * verdict is there (at once, or through the resume callback after
 * FV_PENDING) it turns it into the outcome (sfsistat, reply, the header
 * edits at eom, all copied into the call) and signals.  The callback then
 * talks to the MTA (smfi_setreply, smfi_insheader, smfi_chgheader) from its
 * own thread, as libmilter wants.  The alternative, a private loop per
 * connection thread like dryrun.c, would need a worker pool per connection
 * or a pool that completes onto many loops; this keeps one loop, one pool,
 * and the chain's contract as the proxy uses it.  One mutex guards the
 * queue and every call's done flag.
 *
 * The milter protocol.  Connect, HELO, MAIL and RCPT are always asked for
 * (the log line names client, HELO and envelope); DATA, header, end of
 * header and body steps only when a filter of the chain implements them
 * (header also for a FILTER_AUTHRES filter: forged Authentication-Results
 * are removed), and body chunks stop (SMFIS_SKIP) once no filter wants more
 * content.  SMFIP_HDR_LEADSPC makes header values arrive as the proxy hands
 * them to filters: the leading space kept; folds, which an MTA may send
 * with a bare LF, become CRLF.  An accept from a filter is the chain's
 * business (later filters that sign still run), so every stage relays as
 * SMFIS_CONTINUE, and eom as SMFIS_ACCEPT.  At eom the chain's headers are
 * inserted at the top in order (Authentication-Results first) and fields
 * the chain removed are deleted (smfi_chgheader with NULL), values written
 * with LF folds, as MTAs store them.
 *
 * The transaction log line is the proxy's (policy/txlog.c), with the MTA's
 * queue id ({i}) added and its verified client name (the connect step's
 * host when it is a host name) as client_name; the action of a message
 * the MTA goes on with is "accepted".  SIGUSR1 reloads the configuration
 * (milter_reload); SIGHUP is libmilter's, which stops on it as on SIGTERM,
 * so milter_super.c's parent process turns an admin's SIGHUP into it.
 *
 * Public: milter_front_init, milter_front_run.
 *
 * DIAGNOSTICS
 *	"milter.socket SPEC: cannot listen (libmilter)", "postern milter
 *	ready on SPEC ...", "postern milter stopped"; per connection
 *	"SID connect from ADDR refused: REPLY" and the transaction line;
 *	a header edit the MTA refuses is logged with log_warnx.
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>
#include <libmilter/mfapi.h>

#include "filters/chain.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/util.h"
#include "lib/version.h"
#include "lib/worker.h"
#include "policy/conf.h"
#include "policy/decide.h"
#include "policy/txcount.h"
#include "policy/txlog.h"
#include "proxy/metrics_http.h"
#include "proxy/milter_front.h"
#include "proxy/milter_super.h"
#include "proxy/rdns.h"
#include "proxy/server.h"

enum milter_stage {
	MILTER_CONNECT,
	MILTER_HELO,
	MILTER_ENVFROM,
	MILTER_ENVRCPT,
	MILTER_DATA,
	MILTER_HEADER,
	MILTER_EOH,
	MILTER_BODY,
	MILTER_EOM,
	MILTER_ABORT,
	MILTER_CLOSE,
};

/* A header field the chain removed: its name and which field of that name
 * it is (1-based), as smfi_chgheader counts, worked out at eom from its
 * place among all fields.  Name copied. */
struct milter_del {
	char		*name;
	size_t		 pos;		/* in hnames */
	int		 index;
};

/* An accepted message's header edits, from the loop to the libmilter
 * thread.  Everything copied; freed by that thread. */
struct milter_edits {
	struct chain_header *add;	/* in order, the top first */
	size_t		 nadd;
	struct milter_del *del;		/* in message order */
	size_t		 ndel;
};

/*
 * One stage handed from a libmilter thread to the loop.  It lives on that
 * thread's stack, which waits until done; the arguments are not
 * duplicated.
 */
struct milter_call {
	STAILQ_ENTRY(milter_call) entry;
	struct milter_conn *mc;
	enum milter_stage stage;
	const char	*name;		/* host, HELO, address, header name */
	const char	*value;		/* header value, as filters get it */
	char *const	*argv;		/* ESMTP parameters */
	const unsigned char *data;	/* body chunk */
	size_t		 len;
	const struct sockaddr *sa;	/* the client */
	const char	*auth;		/* {auth_authen}, or NULL */
	const char	*qid;		/* {i}, or NULL */
	/* the outcome, set by the loop */
	int		 done;		/* under milter_lock */
	sfsistat	 rc;
	char		 reply[600];	/* "550 5.7.1 text" with REJECT and
					   TEMPFAIL */
	struct milter_edits edits;	/* eom, accepted */
};

/*
 * One MTA connection: allocated by its libmilter thread at negotiation,
 * freed by it after close.  The fields from sid on belong to the loop.
 */
struct milter_conn {
	pthread_cond_t	 cond;		/* a call of this connection is done */
	int		 leadspc;	/* SMFIP_HDR_LEADSPC negotiated */
	int		 skip;		/* SMFIP_SKIP negotiated */
	char		 sid[17];
	struct conf	*conf;		/* reference: the generation at
					   connect, kept over a reload */
	struct chain_sess *cs;
	struct milter_call *parked;	/* its stage is PENDING */
	char		 addr[INET6_ADDRSTRLEN];
	char		 name[RDNS_NAME_MAX + 1];	/* the MTA's verified
					   client name, or [UNAVAILABLE] */
	char		 helo[256];
	char		 rcpt[1024];	/* the RCPT being checked */
	/* the transaction, MAIL to its end */
	int		 intx;
	char		 from[1024];
	char		 qid[64];
	char		**rcpts;	/* accepted, copied */
	size_t		 nrcpts;
	uint64_t	 size;		/* content bytes seen */
	uint64_t	 hbytes;	/* of the header fields seen */
	uint64_t	 started;	/* ms */
	char		**hnames;	/* every header field name, copied */
	size_t		 nhnames, hcap;
	struct milter_del *del;
	size_t		 ndel;
};

struct milter_step {
	enum decide_stage st;
	enum fv		(*start)(struct milter_conn *, struct milter_call *);
	void		(*end)(struct milter_conn *, struct milter_call *,
			    enum decide_action);
};

static struct conf		*milter_conf;
static struct chain		*milter_chain;
static struct event_base	*milter_base;
static struct worker_pool	*milter_pool;
static unsigned long		 milter_protocol;	/* SMFIP_NO* wanted */
static const char		*milter_conf_path;	/* for a reload */
static char *const		*milter_overrides;
static size_t			 milter_noverrides;
static int			 milter_wake[2];	/* pipe: to the loop */
static pthread_mutex_t		 milter_lock = PTHREAD_MUTEX_INITIALIZER;
static STAILQ_HEAD(, milter_call) milter_queue =
    STAILQ_HEAD_INITIALIZER(milter_queue);
static int			 milter_quit;		/* under milter_lock */

static const sfsistat milter_rc[] = {
	[DECIDE_RELAY] = SMFIS_CONTINUE,
	[DECIDE_REJECT] = SMFIS_REJECT,
	[DECIDE_TEMPFAIL] = SMFIS_TEMPFAIL,
	[DECIDE_DISCARD] = SMFIS_DISCARD,
};

static const char *const milter_action[] = {
	[DECIDE_RELAY] = "accepted",
	[DECIDE_REJECT] = "rejected",
	[DECIDE_TEMPFAIL] = "tempfailed",
	[DECIDE_DISCARD] = "discarded",
};

/* loop side */
static void	milter_woken(evutil_socket_t, short, void *);
static void	milter_wake_loop(char);
static void	milter_reload(evutil_socket_t, short, void *);
static void	*milter_loop(void *);
static void	milter_run(struct milter_call *);
static void	milter_resumed(void *, enum fv);
static void	milter_finish(struct milter_call *, enum fv);
static void	milter_tx_end(struct milter_conn *, const char *,
		    const char *, int);
static void	milter_refused(struct milter_conn *, struct milter_call *,
		    enum decide_action);
static void	milter_path(const char *, char *, size_t);
static enum fv	milter_connect(struct milter_conn *, struct milter_call *);
static void	milter_connected(struct milter_conn *, struct milter_call *,
		    enum decide_action);
static enum fv	milter_helo(struct milter_conn *, struct milter_call *);
static enum fv	milter_envfrom(struct milter_conn *, struct milter_call *);
static enum fv	milter_envrcpt(struct milter_conn *, struct milter_call *);
static void	milter_envrcpt_end(struct milter_conn *,
		    struct milter_call *, enum decide_action);
static enum fv	milter_data(struct milter_conn *, struct milter_call *);
static enum fv	milter_header(struct milter_conn *, struct milter_call *);
static void	milter_header_end(struct milter_conn *, struct milter_call *,
		    enum decide_action);
static int	milter_name_cmp(const void *, const void *, void *);
static void	milter_del_index(struct milter_conn *);
static enum fv	milter_eoh(struct milter_conn *, struct milter_call *);
static enum fv	milter_body(struct milter_conn *, struct milter_call *);
static void	milter_body_end(struct milter_conn *, struct milter_call *,
		    enum decide_action);
static enum fv	milter_eom(struct milter_conn *, struct milter_call *);
static void	milter_eom_end(struct milter_conn *, struct milter_call *,
		    enum decide_action);
static enum fv	milter_abort(struct milter_conn *, struct milter_call *);
static enum fv	milter_close(struct milter_conn *, struct milter_call *);
static unsigned long milter_unused_steps(const struct conf *);

/* libmilter side */
static sfsistat	milter_hand(SMFICTX *, struct milter_call *);
static void	milter_setreply(SMFICTX *, const char *);
static void	milter_edit(SMFICTX *, const struct milter_conn *,
		    const struct milter_edits *);
static void	milter_edits_free(struct milter_edits *);
static char	*milter_value_in(const char *, int);
static char	*milter_value_out(const char *, int);
static struct milter_conn *milter_conn_get(SMFICTX *);
static sfsistat	milter_cb_negotiate(SMFICTX *, unsigned long, unsigned long,
		    unsigned long, unsigned long, unsigned long *,
		    unsigned long *, unsigned long *, unsigned long *);
static sfsistat	milter_cb_connect(SMFICTX *, char *, _SOCK_ADDR *);
static sfsistat	milter_cb_helo(SMFICTX *, char *);
static sfsistat	milter_cb_envfrom(SMFICTX *, char **);
static sfsistat	milter_cb_envrcpt(SMFICTX *, char **);
static sfsistat	milter_cb_data(SMFICTX *);
static sfsistat	milter_cb_header(SMFICTX *, char *, char *);
static sfsistat	milter_cb_eoh(SMFICTX *);
static sfsistat	milter_cb_body(SMFICTX *, unsigned char *, size_t);
static sfsistat	milter_cb_eom(SMFICTX *);
static sfsistat	milter_cb_abort(SMFICTX *);
static sfsistat	milter_cb_close(SMFICTX *);

static const struct milter_step milter_steps[] = {
	[MILTER_CONNECT] = { DECIDE_CONNECT, milter_connect,
	    milter_connected },
	[MILTER_HELO] = { DECIDE_HELO, milter_helo, NULL },
	[MILTER_ENVFROM] = { DECIDE_MAIL, milter_envfrom, milter_refused },
	[MILTER_ENVRCPT] = { DECIDE_RCPT, milter_envrcpt,
	    milter_envrcpt_end },
	[MILTER_DATA] = { DECIDE_DATA, milter_data, milter_refused },
	[MILTER_HEADER] = { DECIDE_EOM, milter_header, milter_header_end },
	[MILTER_EOH] = { DECIDE_EOM, milter_eoh, milter_refused },
	[MILTER_BODY] = { DECIDE_EOM, milter_body, milter_body_end },
	[MILTER_EOM] = { DECIDE_EOM, milter_eom, milter_eom_end },
	[MILTER_ABORT] = { DECIDE_EOM, milter_abort, NULL },
	[MILTER_CLOSE] = { DECIDE_EOM, milter_close, NULL },
};

/* ------------------------------------------------------------ the loop */

/* Wake the loop thread (from a libmilter thread).  A full pipe already
 * wakes it: then the byte can be lost. */
static void
milter_wake_loop(char why)
{
	if (write(milter_wake[1], &why, 1) == -1 && errno != EAGAIN)
		log_warn("milter: waking the event loop");
}

/* Woken by libmilter threads: run every queued call, in order. */
static void
milter_woken(evutil_socket_t fd, short ev, void *arg)
{
	STAILQ_HEAD(, milter_call) q = STAILQ_HEAD_INITIALIZER(q);
	struct milter_call	*c;
	char			 buf[256];
	int			 quit;

	(void)ev;
	(void)arg;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&milter_lock);
	STAILQ_CONCAT(&q, &milter_queue);
	quit = milter_quit;
	pthread_mutex_unlock(&milter_lock);
	while ((c = STAILQ_FIRST(&q)) != NULL) {
		STAILQ_REMOVE_HEAD(&q, entry);
		milter_run(c);
	}
	if (quit)
		event_base_loopbreak(milter_base);
}

static void *
milter_loop(void *arg)
{
	(void)arg;
	event_base_dispatch(milter_base);
	return NULL;
}

static void
milter_run(struct milter_call *c)
{
	enum fv	 v;

	v = milter_steps[c->stage].start(c->mc, c);
	if (v == FV_PENDING)
		c->mc->parked = c;
	else
		milter_finish(c, v);
}

/* The chain's resume callback: the parked stage has its verdict. */
static void
milter_resumed(void *arg, enum fv v)
{
	struct milter_conn	*mc = arg;
	struct milter_call	*c = mc->parked;

	if (c == NULL)
		fatalx("milter: resume without a parked stage");
	mc->parked = NULL;
	milter_finish(c, v);
}

/* A stage's verdict: the outcome into the call, and its thread woken. */
static void
milter_finish(struct milter_call *c, enum fv v)
{
	const struct milter_step	*s = &milter_steps[c->stage];
	struct milter_conn		*mc = c->mc;
	enum decide_action		 a = DECIDE_RELAY;

	if (c->reply[0] != '\0')	/* refused by the front end itself */
		a = DECIDE_REJECT;
	else if (mc->cs != NULL)
		a = decide(s->st, v, chain_reply(mc->cs), c->reply,
		    sizeof(c->reply));
	c->rc = milter_rc[a];
	if (s->end != NULL)
		s->end(mc, c, a);
	pthread_mutex_lock(&milter_lock);
	c->done = 1;
	pthread_cond_signal(&mc->cond);
	pthread_mutex_unlock(&milter_lock);
}

/* End the transaction: one log line, the filters told (eom done or
 * abort), its state freed. */
static void
milter_tx_end(struct milter_conn *mc, const char *action, const char *reply,
    int eom_done)
{
	char		 filters[1024];
	struct txlog_result res[CONF_FILTERS_MAX];
	struct txlog	 t = { mc->sid, mc->addr, mc->helo, mc->from,
	    mc->rcpts, mc->nrcpts, mc->size, filters, res, 0, action, reply,
	    util_now_ms() - mc->started, mc->qid[0] != '\0' ? mc->qid : NULL,
	    NULL, mc->name };
	size_t		 i;

	chain_results(mc->cs, filters, sizeof(filters));
	t.nresults = chain_result_list(mc->cs, res, CONF_FILTERS_MAX);
	txlog_write(&t, mc->conf->log_format);
	txcount(action, chain_stage_name(mc->cs), chain_reply(mc->cs)->filter,
	    t.ms);
	if (eom_done)
		chain_tx_done(mc->cs);
	else
		chain_abort(mc->cs);
	for (i = 0; i < mc->nrcpts; i++)
		free(mc->rcpts[i]);
	for (i = 0; i < mc->nhnames; i++)
		free(mc->hnames[i]);
	for (i = 0; i < mc->ndel; i++)
		free(mc->del[i].name);
	free(mc->rcpts);
	free(mc->hnames);
	free(mc->del);
	mc->rcpts = mc->hnames = NULL;
	mc->del = NULL;
	mc->nrcpts = mc->nhnames = mc->hcap = mc->ndel = 0;
	mc->qid[0] = '\0';
	mc->intx = 0;
}

/* A stage that refuses ends the transaction (RCPT is the exception). */
static void
milter_refused(struct milter_conn *mc, struct milter_call *c,
    enum decide_action a)
{
	if (a != DECIDE_RELAY && mc->intx)
		milter_tx_end(mc, milter_action[a], c->reply, 0);
}

/* "<a@b>" as the MTA gives it to the mailbox without brackets. */
static void
milter_path(const char *arg, char *buf, size_t bufsz)
{
	size_t	 n = strlen(arg);

	if (n >= 2 && arg[0] == '<' && arg[n - 1] == '>')
		snprintf(buf, bufsz, "%.*s", (int)(n - 2), arg + 1);
	else
		strlcpy(buf, arg, bufsz);
}

static enum fv
milter_connect(struct milter_conn *mc, struct milter_call *c)
{
	snprintf(mc->sid, sizeof(mc->sid), "%016llx",
	    (unsigned long long)arc4random() << 32 | arc4random());
	if (getnameinfo(c->sa, c->sa->sa_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in),
	    mc->addr, sizeof(mc->addr), NULL, 0, NI_NUMERICHOST) != 0)
		strlcpy(mc->addr, "unknown", sizeof(mc->addr));
	mc->conf = conf_ref(milter_conf);
	mc->cs = chain_sess_new(milter_chain, mc->conf, mc->sid,
	    milter_pool, milter_resumed, mc);
	metric_add(M_CONNECTIONS_TOTAL, 1);
	metric_add(M_CONNECTIONS, 1);
	/* The MTA's name is verified ("[address]" or, from Postfix,
	 * "unknown" when it is not); its reverse name is not given. */
	strlcpy(mc->name, rdns_hostname_ok(c->name) &&
	    strcasecmp(c->name, "unknown") != 0 ? c->name : RDNS_UNAVAILABLE,
	    sizeof(mc->name));
	chain_set_client(mc->cs, mc->name, mc->name);
	log_debug("%s connect from %s (%s)", mc->sid, mc->addr, c->name);
	return chain_connect(mc->cs, c->name, c->sa);
}

static void
milter_connected(struct milter_conn *mc, struct milter_call *c,
    enum decide_action a)
{
	char	 filters[1024];

	if (a != DECIDE_REJECT && a != DECIDE_TEMPFAIL)
		return;
	txcount_connect_refused(chain_reply(mc->cs)->filter);
	chain_results(mc->cs, filters, sizeof(filters));
	log_info("%s connect from %s refused: %s filters=\"%s\"", mc->sid,
	    mc->addr, c->reply, filters);
}

static enum fv
milter_helo(struct milter_conn *mc, struct milter_call *c)
{
	strlcpy(mc->helo, c->name, sizeof(mc->helo));
	return chain_helo(mc->cs, mc->helo);
}

static enum fv
milter_envfrom(struct milter_conn *mc, struct milter_call *c)
{
	if (mc->intx)
		milter_tx_end(mc, "aborted", "new MAIL", 0);
	mc->intx = 1;
	mc->size = mc->hbytes = 0;
	mc->started = util_now_ms();
	milter_path(c->name, mc->from, sizeof(mc->from));
	strlcpy(mc->qid, c->qid != NULL ? c->qid : "", sizeof(mc->qid));
	if (c->auth != NULL && c->auth[0] != '\0')
		chain_set_auth(mc->cs, c->auth);
	return chain_envfrom(mc->cs, mc->from, c->argv);
}

static enum fv
milter_envrcpt(struct milter_conn *mc, struct milter_call *c)
{
	milter_path(c->name, mc->rcpt, sizeof(mc->rcpt));
	return chain_envrcpt(mc->cs, mc->rcpt, c->argv);
}

/* A refused recipient is only that one; a discard drops the message. */
static void
milter_envrcpt_end(struct milter_conn *mc, struct milter_call *c,
    enum decide_action a)
{
	if (a == DECIDE_DISCARD)
		milter_refused(mc, c, a);
	if (a != DECIDE_RELAY)
		return;
	mc->rcpts = xrealloc(mc->rcpts, (mc->nrcpts + 1) *
	    sizeof(*mc->rcpts));
	mc->rcpts[mc->nrcpts++] = xstrdup(mc->rcpt);
}

static enum fv
milter_data(struct milter_conn *mc, struct milter_call *c)
{
	(void)c;
	return chain_data(mc->cs);
}

/*
 * A header field.  The MTA has read the message, but what the chain keeps
 * per field (names here, whole fields in dkim_verify) is held to the
 * proxy's limits all the same: over max_header_fields or max_header_total
 * the message is refused (552 5.3.4) before the chain sees the field.
 * The bytes are counted as "name:value" and CRLF, the MTA's own Received
 * field included; a NUL cannot occur (libmilter's C strings).
 */
static enum fv
milter_header(struct milter_conn *mc, struct milter_call *c)
{
	size_t	 n = strlen(c->name) + 1 + strlen(c->value) + 2;

	mc->size += n;
	mc->hbytes += n;
	if (decide_content(mc->conf, 0, mc->nhnames + 1, mc->hbytes,
	    c->reply, sizeof(c->reply)))
		return FV_REJECT;
	if (mc->nhnames == mc->hcap) {
		mc->hcap = mc->hcap > 0 ? 2 * mc->hcap : 16;
		mc->hnames = xrealloc(mc->hnames, mc->hcap *
		    sizeof(*mc->hnames));
	}
	mc->hnames[mc->nhnames++] = xstrdup(c->name);
	return chain_header(mc->cs, c->name, c->value, strlen(c->value));
}

/* A field the chain removes: kept with its place, numbered at eom (a
 * count of its namesakes here would walk every field per removal). */
static void
milter_header_end(struct milter_conn *mc, struct milter_call *c,
    enum decide_action a)
{
	if (chain_header_deleted(mc->cs)) {
		if ((mc->ndel & (mc->ndel - 1)) == 0)
			mc->del = xrealloc(mc->del, (mc->ndel > 0 ?
			    2 * mc->ndel : 16) * sizeof(*mc->del));
		mc->del[mc->ndel].name = xstrdup(c->name);
		mc->del[mc->ndel].pos = mc->nhnames - 1;
		mc->del[mc->ndel++].index = 0;
	}
	milter_refused(mc, c, a);
}

/* Field places in name order (case-insensitive), then in message order. */
static int
milter_name_cmp(const void *a, const void *b, void *arg)
{
	char *const	*names = arg;
	size_t		 x = *(const size_t *)a, y = *(const size_t *)b;
	int		 c;

	if ((c = strcasecmp(names[x], names[y])) != 0)
		return c;
	return x < y ? -1 : x > y;
}

/*
 * Number the removed fields as smfi_chgheader counts (the nth field of
 * that name): the places of all fields sorted by name, so that each run
 * of one name is in message order, and numbered along each run.  Once per
 * message, O(F log F), whatever the number of removals.
 */
static void
milter_del_index(struct milter_conn *mc)
{
	size_t	*ord, i;
	int	*nth;

	if (mc->ndel == 0)
		return;
	ord = xcalloc(mc->nhnames, sizeof(*ord));
	nth = xcalloc(mc->nhnames, sizeof(*nth));
	for (i = 0; i < mc->nhnames; i++)
		ord[i] = i;
	qsort_r(ord, mc->nhnames, sizeof(*ord), milter_name_cmp, mc->hnames);
	for (i = 0; i < mc->nhnames; i++)
		nth[ord[i]] = i > 0 && strcasecmp(mc->hnames[ord[i - 1]],
		    mc->hnames[ord[i]]) == 0 ? nth[ord[i - 1]] + 1 : 1;
	for (i = 0; i < mc->ndel; i++)
		mc->del[i].index = nth[mc->del[i].pos];
	free(nth);
	free(ord);
}

static enum fv
milter_eoh(struct milter_conn *mc, struct milter_call *c)
{
	(void)c;
	mc->size += 2;
	return chain_eoh(mc->cs);
}

static enum fv
milter_body(struct milter_conn *mc, struct milter_call *c)
{
	mc->size += c->len;
	return chain_body(mc->cs, c->data, c->len);
}

/* No filter wants more of the body: the MTA may stop sending it. */
static void
milter_body_end(struct milter_conn *mc, struct milter_call *c,
    enum decide_action a)
{
	if (a == DECIDE_RELAY && mc->skip && !chain_wants_content(mc->cs))
		c->rc = SMFIS_SKIP;
	milter_refused(mc, c, a);
}

static enum fv
milter_eom(struct milter_conn *mc, struct milter_call *c)
{
	if (c->qid != NULL)
		strlcpy(mc->qid, c->qid, sizeof(mc->qid));
	return chain_eom(mc->cs);
}

/* Accepted: the chain's header edits go to the libmilter thread. */
static void
milter_eom_end(struct milter_conn *mc, struct milter_call *c,
    enum decide_action a)
{
	const struct chain_header	*h;
	struct milter_edits		*e = &c->edits;
	size_t				 i;

	if (a == DECIDE_RELAY) {
		c->rc = SMFIS_ACCEPT;
		e->nadd = chain_headers(mc->cs, &h);
		e->add = xcalloc(e->nadd, sizeof(*e->add));
		for (i = 0; i < e->nadd; i++) {
			e->add[i].name = xstrdup(h[i].name);
			e->add[i].value = xstrdup(h[i].value);
		}
		milter_del_index(mc);
		e->del = mc->del;
		e->ndel = mc->ndel;
		mc->del = NULL;
		mc->ndel = 0;
	}
	milter_tx_end(mc, milter_action[a], a == DECIDE_RELAY ||
	    a == DECIDE_DISCARD ? "" : c->reply, 1);
}

static enum fv
milter_abort(struct milter_conn *mc, struct milter_call *c)
{
	(void)c;
	if (mc->intx)
		milter_tx_end(mc, "aborted", "MTA abort", 0);
	return FV_CONTINUE;
}

static enum fv
milter_close(struct milter_conn *mc, struct milter_call *c)
{
	(void)c;
	if (mc->intx)
		milter_tx_end(mc, "aborted", "MTA closed the connection", 0);
	if (mc->cs != NULL) {
		chain_sess_free(mc->cs);
		metric_add(M_CONNECTIONS, -1);
	}
	mc->cs = NULL;
	if (mc->conf != NULL)
		conf_unref(mc->conf);
	mc->conf = NULL;
	return FV_CONTINUE;
}

/* The optional steps no filter of the chain implements: SMFIP_NO*. */
static unsigned long
milter_unused_steps(const struct conf *conf)
{
	const struct filter_ops	*o;
	unsigned long		 no = SMFIP_NOUNKNOWN | SMFIP_NODATA |
	    SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NOBODY;
	size_t			 i;

	for (i = 0; i < conf->nfilters; i++) {
		if ((o = chain_filter_lookup(conf->filters[i])) == NULL)
			continue;
		if (o->data != NULL)
			no &= ~SMFIP_NODATA;
		if (o->header != NULL || (o->needs & FILTER_AUTHRES))
			no &= ~SMFIP_NOHDRS;
		if (o->eoh != NULL)
			no &= ~SMFIP_NOEOH;
		if (o->body != NULL)
			no &= ~SMFIP_NOBODY;
	}
	return no;
}

/* ------------------------------------------------- libmilter threads */

/* Hand c to the loop, wait for its outcome, give the MTA the reply. */
static sfsistat
milter_hand(SMFICTX *ctx, struct milter_call *c)
{
	struct milter_conn	*mc = smfi_getpriv(ctx);

	if (mc == NULL)
		return SMFIS_TEMPFAIL;
	c->mc = mc;
	pthread_mutex_lock(&milter_lock);
	STAILQ_INSERT_TAIL(&milter_queue, c, entry);
	pthread_mutex_unlock(&milter_lock);
	milter_wake_loop('c');
	pthread_mutex_lock(&milter_lock);
	while (!c->done)
		pthread_cond_wait(&mc->cond, &milter_lock);
	pthread_mutex_unlock(&milter_lock);
	if (c->rc == SMFIS_REJECT || c->rc == SMFIS_TEMPFAIL)
		milter_setreply(ctx, c->reply);
	return c->rc;
}

/* decide()'s "550 5.7.1 text" or "550 text" as smfi_setreply's parts. */
static void
milter_setreply(SMFICTX *ctx, const char *reply)
{
	char	 code[4], esc[16], *text;
	size_t	 n, i, o;

	strlcpy(code, reply, sizeof(code));
	reply += strlen(code);
	reply += strspn(reply, " ");
	n = strcspn(reply, " ");
	esc[0] = '\0';
	if (n < sizeof(esc) && reply[0] == code[0] && reply[1] == '.' &&
	    strspn(reply, "0123456789.") == n) {
		snprintf(esc, sizeof(esc), "%.*s", (int)n, reply);
		reply += n + strspn(reply + n, " ");
	}
	/* Sendmail reads the text as a format: a '%' must be doubled. */
	text = xmalloc(2 * strlen(reply) + 1);
	for (i = o = 0; reply[i] != '\0'; i++) {
		if (reply[i] == '%')
			text[o++] = '%';
		text[o++] = reply[i];
	}
	text[o] = '\0';
	if (smfi_setreply(ctx, code, esc[0] != '\0' ? esc : NULL, text) ==
	    MI_FAILURE)
		log_warnx("milter: reply '%s %s %s' refused by libmilter",
		    code, esc, text);
	free(text);
}

/* Deletions last field first (indexes of earlier ones stay right), then
 * insertions at the top, last first, so the first ends on top. */
static void
milter_edit(SMFICTX *ctx, const struct milter_conn *mc,
    const struct milter_edits *e)
{
	char	*v;
	size_t	 i;

	for (i = e->ndel; i > 0; i--)
		if (smfi_chgheader(ctx, e->del[i - 1].name,
		    e->del[i - 1].index, NULL) == MI_FAILURE)
			log_warnx("milter: cannot remove %s #%d",
			    e->del[i - 1].name, e->del[i - 1].index);
	for (i = e->nadd; i > 0; i--) {
		v = milter_value_out(e->add[i - 1].value, mc->leadspc);
		if (smfi_insheader(ctx, 0, e->add[i - 1].name, v) ==
		    MI_FAILURE)
			log_warnx("milter: cannot add %s", e->add[i - 1].name);
		free(v);
	}
}

static void
milter_edits_free(struct milter_edits *e)
{
	size_t	 i;

	for (i = 0; i < e->nadd; i++) {
		free(e->add[i].name);
		free(e->add[i].value);
	}
	for (i = 0; i < e->ndel; i++)
		free(e->del[i].name);
	free(e->add);
	free(e->del);
}

/* A header value from the MTA as the proxy hands it to filters: the
 * leading space (when the MTA dropped it), CRLF folds. */
static char *
milter_value_in(const char *value, int leadspc)
{
	char	*v = xmalloc(2 * strlen(value) + 2), *p = v;

	if (!leadspc)
		*p++ = ' ';
	for (; *value != '\0'; value++) {
		if (*value == '\n' && (p == v || p[-1] != '\r'))
			*p++ = '\r';
		*p++ = *value;
	}
	*p = '\0';
	return v;
}

/* A value of ours for the MTA: LF folds; the leading space is ours to
 * write with SMFIP_HDR_LEADSPC. */
static char *
milter_value_out(const char *value, int leadspc)
{
	char	*v = xmalloc(strlen(value) + 2), *p = v;

	if (leadspc)
		*p++ = ' ';
	for (; *value != '\0'; value++)
		if (*value != '\r')
			*p++ = *value;
	*p = '\0';
	return v;
}

/* The connection's state, made on first use (negotiation). */
static struct milter_conn *
milter_conn_get(SMFICTX *ctx)
{
	struct milter_conn	*mc;

	if ((mc = smfi_getpriv(ctx)) != NULL)
		return mc;
	mc = xcalloc(1, sizeof(*mc));
	pthread_cond_init(&mc->cond, NULL);
	smfi_setpriv(ctx, mc);
	return mc;
}

static sfsistat
milter_cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	struct milter_conn	*mc = milter_conn_get(ctx);

	(void)f2;
	(void)f3;
	*pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS);
	pthread_mutex_lock(&milter_lock);	/* a reload may change it */
	*pf1 = f1 & (milter_protocol | SMFIP_HDR_LEADSPC | SMFIP_SKIP);
	pthread_mutex_unlock(&milter_lock);
	*pf2 = 0;
	*pf3 = 0;
	mc->leadspc = (*pf1 & SMFIP_HDR_LEADSPC) != 0;
	mc->skip = (*pf1 & SMFIP_SKIP) != 0;
	return SMFIS_CONTINUE;
}

/* No address (a local submission, a unix socket): the local host. */
static sfsistat
milter_cb_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	struct sockaddr_in	 local;
	struct milter_call	 c = { .stage = MILTER_CONNECT, .name = host,
	    .sa = sa };

	if (sa == NULL || (sa->sa_family != AF_INET &&
	    sa->sa_family != AF_INET6)) {
		memset(&local, 0, sizeof(local));
		local.sin_family = AF_INET;
		local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		c.sa = (struct sockaddr *)&local;
	}
	(void)milter_conn_get(ctx);
	return milter_hand(ctx, &c);
}

static sfsistat
milter_cb_helo(SMFICTX *ctx, char *name)
{
	struct milter_call	 c = { .stage = MILTER_HELO, .name = name };

	return milter_hand(ctx, &c);
}

static sfsistat
milter_cb_envfrom(SMFICTX *ctx, char **argv)
{
	struct milter_call	 c = { .stage = MILTER_ENVFROM,
	    .name = argv[0], .argv = argv + 1,
	    .auth = smfi_getsymval(ctx, "{auth_authen}"),
	    .qid = smfi_getsymval(ctx, "i") };

	return milter_hand(ctx, &c);
}

static sfsistat
milter_cb_envrcpt(SMFICTX *ctx, char **argv)
{
	struct milter_call	 c = { .stage = MILTER_ENVRCPT,
	    .name = argv[0], .argv = argv + 1 };

	return milter_hand(ctx, &c);
}

static sfsistat
milter_cb_data(SMFICTX *ctx)
{
	struct milter_call	 c = { .stage = MILTER_DATA };

	return milter_hand(ctx, &c);
}

static sfsistat
milter_cb_header(SMFICTX *ctx, char *name, char *value)
{
	struct milter_conn	*mc = smfi_getpriv(ctx);
	struct milter_call	 c = { .stage = MILTER_HEADER, .name = name };
	char			*v;
	sfsistat		 rc;

	if (mc == NULL)
		return SMFIS_TEMPFAIL;
	c.value = v = milter_value_in(value, mc->leadspc);
	rc = milter_hand(ctx, &c);
	free(v);
	return rc;
}

static sfsistat
milter_cb_eoh(SMFICTX *ctx)
{
	struct milter_call	 c = { .stage = MILTER_EOH };

	return milter_hand(ctx, &c);
}

static sfsistat
milter_cb_body(SMFICTX *ctx, unsigned char *data, size_t len)
{
	struct milter_call	 c = { .stage = MILTER_BODY, .data = data,
	    .len = len };

	return milter_hand(ctx, &c);
}

static sfsistat
milter_cb_eom(SMFICTX *ctx)
{
	struct milter_call	 c = { .stage = MILTER_EOM,
	    .qid = smfi_getsymval(ctx, "i") };
	sfsistat		 rc;

	rc = milter_hand(ctx, &c);
	if (rc == SMFIS_ACCEPT)
		milter_edit(ctx, c.mc, &c.edits);
	milter_edits_free(&c.edits);
	return rc;
}

static sfsistat
milter_cb_abort(SMFICTX *ctx)
{
	struct milter_call	 c = { .stage = MILTER_ABORT };

	return milter_hand(ctx, &c);
}

/* May come without connect (and without negotiation). */
static sfsistat
milter_cb_close(SMFICTX *ctx)
{
	struct milter_conn	*mc = smfi_getpriv(ctx);
	struct milter_call	 c = { .stage = MILTER_CLOSE };

	if (mc == NULL)
		return SMFIS_CONTINUE;
	(void)milter_hand(ctx, &c);
	smfi_setpriv(ctx, NULL);
	pthread_cond_destroy(&mc->cond);
	free(mc);
	return SMFIS_CONTINUE;
}

/* ------------------------------------------------------------- public */

void
milter_front_init(void)
{
	sigset_t	 set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int
milter_front_run(struct conf *conf, struct chain *chain,
    const char *conf_path, char *const *overrides, size_t noverrides)
{
	struct smfiDesc	 desc = {
		"postern", SMFI_VERSION, SMFIF_ADDHDRS | SMFIF_CHGHDRS,
		milter_cb_connect, milter_cb_helo, milter_cb_envfrom,
		milter_cb_envrcpt, milter_cb_header, milter_cb_eoh,
		milter_cb_body, milter_cb_eom, milter_cb_abort,
		milter_cb_close, NULL, milter_cb_data, milter_cb_negotiate
	};
	struct event	*ev = NULL, *usr1 = NULL;
	struct metrics_http *metrics = NULL;
	pthread_t	 loop;
	char		 err[1024];
	int		 rc = 1;

	milter_conf = conf;
	milter_chain = chain;
	milter_protocol = milter_unused_steps(conf);
	milter_conf_path = conf_path;
	milter_overrides = overrides;
	milter_noverrides = noverrides;
	if ((milter_base = event_base_new()) == NULL)
		fatalx("event_base_new");
	if (pipe2(milter_wake, O_CLOEXEC | O_NONBLOCK) == -1)
		fatal("milter: pipe");
	if ((milter_pool = worker_pool_new(milter_base, conf->worker_threads,
	    conf->worker_queue, err, sizeof(err))) == NULL) {
		log_errx("%s", err);
		goto out;
	}
	ev = event_new(milter_base, milter_wake[0], EV_READ | EV_PERSIST,
	    milter_woken, NULL);
	event_add(ev, NULL);
	usr1 = evsignal_new(milter_base, SIGUSR1, milter_reload, NULL);
	event_add(usr1, NULL);
	if (smfi_setconn(conf->milter_socket) == MI_FAILURE ||
	    smfi_settimeout((int)conf->milter_timeout) == MI_FAILURE ||
	    smfi_register(desc) == MI_FAILURE ||
	    smfi_opensocket(1) == MI_FAILURE) {
		log_errx("milter.socket %s: cannot listen (libmilter)",
		    conf->milter_socket);
		goto out;
	}
	metrics_started();
	err[0] = '\0';
	if ((metrics = metrics_http_open(milter_base, conf, err,
	    sizeof(err))) == NULL && err[0] != '\0') {
		log_errx("%s", err);
		goto out;
	}
	/* the socket is open: from here on as proxy.user (keys read) */
	if (server_drop_privileges(conf, err, sizeof(err)) == -1) {
		log_errx("%s", err);
		goto out;
	}
	milter_super_watch();		/* the drop cleared it */
	if ((errno = pthread_create(&loop, NULL, milter_loop, NULL)) != 0)
		fatal("milter: thread");
	log_info("postern %s milter ready on %s: %zu filters, config %s",
	    POSTERN_VERSION, conf->milter_socket, chain_length(chain),
	    conf->source);
	(void)sd_notifyf(0, "READY=1\nSTATUS=postern %s milter on %s",
	    POSTERN_VERSION, conf->milter_socket);
	rc = smfi_main() == MI_SUCCESS ? 0 : 1;
	(void)sd_notify(0, "STOPPING=1");
	pthread_mutex_lock(&milter_lock);
	milter_quit = 1;
	pthread_mutex_unlock(&milter_lock);
	milter_wake_loop('q');
	pthread_join(loop, NULL);
	log_info("postern milter stopped");
out:
	metrics_http_close(metrics);
	if (ev != NULL)
		event_free(ev);
	if (usr1 != NULL)
		event_free(usr1);
	if (milter_pool != NULL)
		worker_pool_free(milter_pool);
	/* before the loop: the shared store's connections are on it */
	chain_unref(milter_chain);
	event_base_free(milter_base);
	close(milter_wake[0]);
	close(milter_wake[1]);
	conf_unref(milter_conf);
	return rc;
}

/*
 * SIGUSR1, on the loop: the configuration read again and the chain built
 * anew (filters keep what they can, chain_new), used by the connections
 * that come next; those in progress finish on the generation they
 * started with.  A configuration that does not load or build is refused
 * and the running one stays.  (SIGHUP is libmilter's: it stops; the
 * parent process sends SIGUSR1 for it.)
 */
static void
milter_reload(evutil_socket_t sig, short ev, void *arg)
{
	struct conf	*conf;
	struct chain	*chain = NULL;
	char		 err[1024];

	(void)sig;
	(void)ev;
	(void)arg;
	(void)sd_notify(0, "RELOADING=1");
	if ((conf = conf_load(milter_conf_path, milter_overrides,
	    milter_noverrides, err, sizeof(err))) == NULL ||
	    (chain = chain_new(conf, milter_chain, err, sizeof(err))) == NULL) {
		if (conf != NULL)
			conf_unref(conf);
		server_reload_refused(err);
		(void)sd_notify(0, "READY=1");
		return;
	}
	if (strcmp(conf->milter_socket, milter_conf->milter_socket) != 0 ||
	    strcmp(conf->user, milter_conf->user) != 0)
		log_warnx("milter.socket or proxy.user changed: restart to "
		    "apply");
	metrics_reloaded(milter_conf, conf);
	log_set_level(conf->log_level);
	log_set_repeat(conf->log_repeat_interval);
	log_set_json(conf->log_format == CONF_LOG_JSON);
	chain_unref(milter_chain);
	conf_unref(milter_conf);
	milter_chain = chain;
	milter_conf = conf;
	pthread_mutex_lock(&milter_lock);
	milter_protocol = milter_unused_steps(conf);
	pthread_mutex_unlock(&milter_lock);
	log_info("configuration reloaded from %s", conf->source);
	(void)sd_notify(0, "READY=1");
}

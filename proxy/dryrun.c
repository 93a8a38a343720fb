/* SPDX-License-Identifier: ISC */
/*
 * dryrun.c - "postern test" (see dryrun.h): the third front end of the filter
 * chain, after the proxy session and the milter.  It drives the same stages
 * with the same arguments the proxy would: the message file is read as content
 * (bare LF line ends, as files have them, become CRLF; NUL bytes are refused or
 * dropped, and the header section is held to its limits, as decide_content()
 * says for the proxy), split by the same rfc5322 parser and fed to the
 * header/eoh/body stages; decide() turns each verdict into the reply the client
 * would get.
 *
 * A stage that goes PENDING is waited for on a private event loop.
 *
 * Public: dryrun_run.
 *
 * DIAGNOSTICS
 *	"postern test: ADDR: not an IP address", "FILE: strerror".
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "filters/chain.h"
#include "lib/log.h"
#include "lib/util.h"
#include "lib/worker.h"
#include "policy/conf.h"
#include "policy/decide.h"
#include "proto/data.h"
#include "proto/rfc5322.h"
#include "proxy/dryrun.h"

struct dryrun {
	struct chain_sess	*cs;
	struct event_base	*base;
	int			 waiting;
	enum fv			 resumed;
	int			 discard;	/* a filter said discard */
};

static void	dryrun_resumed(void *, enum fv);
static enum fv	dryrun_wait(struct dryrun *, enum fv);
static int	dryrun_stage(struct dryrun *, const char *, enum decide_stage,
		    enum fv);
static int	dryrun_content(struct dryrun *, const unsigned char *, size_t,
		    const struct conf *);
static int	dryrun_envelope(struct dryrun *, const struct dryrun_env *,
		    const struct sockaddr *);
static int	dryrun_addr(const char *, struct sockaddr_storage *);

static void
dryrun_resumed(void *arg, enum fv v)
{
	struct dryrun	*d = arg;

	d->waiting = 0;
	d->resumed = v;
	event_base_loopbreak(d->base);
}

/* A PENDING stage: run the loop until the chain resumes. */
static enum fv
dryrun_wait(struct dryrun *d, enum fv v)
{
	if (v != FV_PENDING)
		return v;
	d->waiting = 1;
	while (d->waiting)
		event_base_loop(d->base, EVLOOP_ONCE);
	return d->resumed;
}

/* Print one stage's outcome; 1 if the transaction goes on. */
static int
dryrun_stage(struct dryrun *d, const char *what, enum decide_stage st,
    enum fv v)
{
	char			 reply[600];
	enum decide_action	 a;

	v = dryrun_wait(d, v);
	a = decide(st, v, chain_reply(d->cs), reply, sizeof(reply));
	printf("%-28s %s", what, filter_verdict_name(v));
	if (a == DECIDE_REJECT || a == DECIDE_TEMPFAIL)
		printf(": %s", reply);
	printf("\n");
	if (a == DECIDE_DISCARD)
		d->discard = 1;
	return a == DECIDE_RELAY || a == DECIDE_DISCARD;
}

/* Content to CRLF lines, through the parser, into the chain. */
static int
dryrun_content(struct dryrun *d, const unsigned char *msg, size_t len,
    const struct conf *conf)
{
	struct data_reader	 rd;
	struct rfc5322		 p;
	struct rfc5322_event	 ev;
	unsigned char		*c = xmalloc(DATA_OUT_MAX(len));
	char			 reply[600];
	size_t			 clen, tail, used, off = 0, nh = 0;
	int			 done, go = 1;
	enum fv			 v = FV_CONTINUE;

	data_reader_init(&rd, DATA_RAW);
	data_reader_feed(&rd, msg, len, c, &clen, &done);
	data_reader_finish(&rd, c + clen, &tail);
	clen += tail;
	/* a file's LF line ends are no bare LF on the wire */
	if (decide_content(conf, rd.flags & ~(DATA_F_BARE_LF | DATA_F_BARE_CR),
	    rd.hdr.fields, rd.hdr.bytes, reply, sizeof(reply))) {
		printf("%-28s %s\n", "content", reply);
		free(c);
		return 0;
	}
	rfc5322_init(&p, conf->max_header_size);
	while (go) {
		rfc5322_next(&p, c + off, clen - off, 1, &ev, &used);
		off += used;
		if (ev.type == RFC5322_END || ev.type == RFC5322_NEED_MORE)
			break;
		if (ev.type == RFC5322_ERR_TOO_LONG) {
			printf("%-28s 552 5.3.4 header field too long\n",
			    "header");
			go = 0;
			break;
		}
		if (ev.type == RFC5322_HEADER) {
			nh++;
			v = dryrun_wait(d, chain_header(d->cs, ev.name,
			    ev.value, ev.valuelen));
			if (chain_header_deleted(d->cs))
				printf("%-28s %s:%s\n", "removed header",
				    ev.name, ev.value);
		} else if (ev.type == RFC5322_EOH)
			v = dryrun_wait(d, chain_eoh(d->cs));
		else
			v = dryrun_wait(d, chain_body(d->cs, ev.data, ev.len));
		if (v != FV_CONTINUE && v != FV_ACCEPT)
			go = dryrun_stage(d, "header/body", DECIDE_EOM, v);
	}
	if (go)
		printf("%-28s %zu header fields, %zu bytes\n", "content", nh,
		    clen);
	rfc5322_fini(&p);
	free(c);
	return go;
}

/* Connect to DATA; 1 if the message goes on to its content. */
static int
dryrun_envelope(struct dryrun *d, const struct dryrun_env *env,
    const struct sockaddr *sa)
{
	char	*noparams[] = { NULL }, what[600];
	int	 go, nok = 0, k;

	snprintf(what, sizeof(what), "connect %s", env->client);
	go = dryrun_stage(d, what, DECIDE_CONNECT, chain_connect(d->cs,
	    env->client, sa));
	if (go) {
		snprintf(what, sizeof(what), "helo %s", env->helo);
		go = dryrun_stage(d, what, DECIDE_HELO, chain_helo(d->cs,
		    env->helo));
	}
	if (go) {
		snprintf(what, sizeof(what), "mail from:<%s>", env->from);
		go = dryrun_stage(d, what, DECIDE_MAIL, chain_envfrom(d->cs,
		    env->from, noparams));
	}
	for (k = 0; go && k < env->nrcpts; k++) {
		snprintf(what, sizeof(what), "rcpt to:<%s>", env->rcpts[k]);
		nok += dryrun_stage(d, what, DECIDE_RCPT, chain_envrcpt(d->cs,
		    env->rcpts[k], noparams));
	}
	if (go && nok == 0) {
		printf("%-28s no recipient left\n", "data");
		go = 0;
	}
	return go && dryrun_stage(d, "data", DECIDE_DATA, chain_data(d->cs));
}

/* The client address as a sockaddr; -1 if it is not one. */
static int
dryrun_addr(const char *client, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, client,
	    &((struct sockaddr_in *)ss)->sin_addr) == 1)
		ss->ss_family = AF_INET;
	else if (inet_pton(AF_INET6, client,
	    &((struct sockaddr_in6 *)ss)->sin6_addr) == 1)
		ss->ss_family = AF_INET6;
	else
		return -1;
	return 0;
}

int
dryrun_run(const struct conf *conf, struct chain *chain,
    const struct dryrun_env *env)
{
	const struct chain_header	*h;
	const struct chain_edit		*e;
	struct sockaddr_storage		 ss;
	struct dryrun			 d;
	struct worker_pool		*pool;
	unsigned char			*msg;
	char				 what[600];
	size_t				 len, i, n;
	int				 go;

	if (dryrun_addr(env->client, &ss) == -1) {
		fprintf(stderr, "postern test: %s: not an IP address\n",
		    env->client);
		return 1;
	}
	if ((msg = (unsigned char *)util_read_file(env->file, &len)) ==
	    NULL) {
		fprintf(stderr, "postern test: %s: %s\n", env->file,
		    strerror(errno));
		return 1;
	}
	memset(&d, 0, sizeof(d));
	if ((d.base = event_base_new()) == NULL)
		fatalx("event_base_new");
	if ((pool = worker_pool_new(d.base, conf->worker_threads,
	    conf->worker_queue, what, sizeof(what))) == NULL)
		fatalx("%s", what);
	d.cs = chain_sess_new(chain, conf, "dryrun", pool, dryrun_resumed,
	    &d);
	go = dryrun_envelope(&d, env, (struct sockaddr *)&ss) &&
	    dryrun_content(&d, msg, len, conf) &&
	    dryrun_stage(&d, "end of message", DECIDE_EOM, chain_eom(d.cs));
	chain_results(d.cs, what, sizeof(what));
	printf("%-28s %s\n", "filter results", what[0] ? what : "(none)");
	n = chain_headers(d.cs, &h);
	for (i = 0; i < n; i++)
		printf("%-28s %s: %s\n", "added header", h[i].name,
		    h[i].value);
	n = chain_edits(d.cs, &e);
	for (i = 0; i < n; i++)
		printf("%-28s %s #%u%s%s\n", e[i].value != NULL ?
		    "changed header" : "removed header", e[i].name,
		    e[i].index, e[i].value != NULL ? " to: " : "",
		    e[i].value != NULL ? e[i].value : "");
	printf("%-28s %s\n", "action", !go ? "refused" : d.discard ?
	    "discard (accepted, not delivered)" : "relay to the backend");
	chain_sess_free(d.cs);
	worker_pool_free(pool);
	event_base_free(d.base);
	free(msg);
	return 0;
}

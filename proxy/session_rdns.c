/* SPDX-License-Identifier: ISC */
/*
 * session_rdns.c - the client's host names (proxy.reverse_dns), looked up
 * once the client's address is known and before anything else is done
 * for it: the connect filters, the backend's XCLIENT/XFORWARD, our
 * Received field and the log all have them.
 *
 * A client seen before, within the TTL of the answers, is named from the loop's
 * cache (server_rdns_cache) at once.  Otherwise the lookup (proxy/rdns.c)
 * blocks, so it runs on the worker pool while the session waits in
 * SESSION_RDNS, reading paused; the answer comes back on the loop and goes into
 * the cache.  Its lookups stop at proxy.reverse_dns_timeout, counted from here,
 * and a timer one second later ends the wait whatever the pool is doing (a job
 * still queued behind slow ones): the names are then [TEMPUNAVAIL], as when the
 * pool is full.  A session that goes away first cancels the job, which then
 * only frees what it holds.
 *
 * Public (session_int.h): session_rdns_begin, session_rdns_free.
 *
 * DIAGNOSTICS
 *	debug: "client ADDR: name NAME, reverse name NAME (N ms)".
 *	Through log_limited: "reverse lookup of ADDR: worker queue full",
 *	"reverse lookup of ADDR: no answer within Ns".
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "lib/dns.h"
#include "lib/log.h"
#include "lib/util.h"
#include "lib/worker.h"
#include "policy/conf.h"
#include "proxy/rdns.h"
#include "proxy/server.h"
#include "proxy/session_int.h"

#define SESSION_RDNS_GRACE_MS	1000	/* the timer, past the lookups'
					   own deadline */

/* One lookup: the job owns it (its done frees it); the session points at
 * it, and owns its timer, until the answer or the timer comes. */
struct session_rdns {
	struct session		*s;		/* not used once cancelled */
	struct dns		*dns;		/* reference held */
	struct sockaddr_storage	 ss;		/* the client's, copied */
	uint64_t		 started;	/* ms */
	uint64_t		 until;		/* ms, the lookups' deadline */
	struct worker_job	*job;
	struct event		*timer;		/* the session's */
	struct rdns_result	 r;
};

static struct log_limit session_rdns_log_busy =
	    LOG_LIMIT("reverse lookup: worker queue full");
static struct log_limit session_rdns_log_late =
	    LOG_LIMIT("reverse lookup: no answer in time");

static void	session_rdns_run(void *);
static void	session_rdns_done(void *, int);
static void	session_rdns_late(evutil_socket_t, short, void *);
static void	session_rdns_end(struct session *,
		    const struct rdns_result *);

/* SESSION_RDNS, the lookup handed to the pool (s->gen->dns is set);
 * session_named follows, now or when the names are known. */
void
session_rdns_begin(struct session *s)
{
	struct session_rdns	*j;
	struct timeval		 tv;
	uint64_t		 ms = (uint64_t)s->conf->reverse_dns_timeout *
				    1000;

	if (rdns_cache_get(s->srv->rdns, (struct sockaddr *)&s->ss,
	    util_now_ms(), &s->names)) {
		log_debug("%s client %s: name %s, reverse name %s (cached)",
		    s->sid, s->addr, s->names.name, s->names.reverse);
		session_named(s);
		return;
	}
	session_enter(s, SESSION_RDNS);
	j = xcalloc(1, sizeof(*j));
	j->s = s;
	j->dns = dns_ref(s->gen->dns);
	memcpy(&j->ss, &s->ss, sizeof(j->ss));
	j->started = util_now_ms();
	j->until = j->started + ms;
	if ((j->job = worker_submit(s->srv->workers, session_rdns_run,
	    session_rdns_done, j)) == NULL) {
		log_limited(&session_rdns_log_busy, LOG_LEVEL_WARN, "%s "
		    "reverse lookup of %s: worker queue full", s->sid,
		    s->addr);
		dns_unref(j->dns);
		free(j);
		rdns_set(&s->names, RDNS_TEMPUNAVAIL);
		session_named(s);
		return;
	}
	ms += SESSION_RDNS_GRACE_MS;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	if ((j->timer = evtimer_new(s->srv->base, session_rdns_late,
	    s)) == NULL)
		fatalx("evtimer_new");
	evtimer_add(j->timer, &tv);
	s->rdns = j;
}

/* On a pool thread. */
static void
session_rdns_run(void *arg)
{
	struct session_rdns	*j = arg;

	rdns_lookup(j->dns, (const struct sockaddr *)&j->ss, j->until, &j->r);
}

/* On the loop: the names, unless the session gave up on them. */
static void
session_rdns_done(void *arg, int cancelled)
{
	struct session_rdns	*j = arg;
	struct session		*s = j->s;

	if (!cancelled) {
		j->job = NULL;		/* being delivered */
		log_debug("%s client %s: name %s, reverse name %s (%llu ms)",
		    s->sid, s->addr, j->r.name, j->r.reverse,
		    (unsigned long long)(util_now_ms() - j->started));
		rdns_cache_put(s->srv->rdns, (struct sockaddr *)&j->ss,
		    util_now_ms(), &j->r);
		session_rdns_free(s);
		session_rdns_end(s, &j->r);
	}
	dns_unref(j->dns);
	free(j);
}

/* The timer: the job is late (the pool is busy); the names are
 * [TEMPUNAVAIL]. */
static void
session_rdns_late(evutil_socket_t fd, short ev, void *arg)
{
	struct session		*s = arg;
	struct rdns_result	 r;

	(void)fd;
	(void)ev;
	log_limited(&session_rdns_log_late, LOG_LEVEL_WARN, "%s reverse "
	    "lookup of %s: no answer within %us", s->sid, s->addr,
	    s->conf->reverse_dns_timeout);
	session_rdns_free(s);
	rdns_set(&r, RDNS_TEMPUNAVAIL);
	session_rdns_end(s, &r);
}

static void
session_rdns_end(struct session *s, const struct rdns_result *r)
{
	memcpy(&s->names, r, sizeof(s->names));
	session_named(s);
}

/* The session no longer waits: the timer stops, a job still to come is
 * cancelled (its done frees it). */
void
session_rdns_free(struct session *s)
{
	struct session_rdns	*j = s->rdns;

	if (j == NULL)
		return;
	s->rdns = NULL;
	event_free(j->timer);
	j->timer = NULL;
	if (j->job != NULL)
		worker_cancel(j->job);
}

/* SPDX-License-Identifier: ISC */
/*
 * loops.c - the event loops that serve the connections (proxy.threads).
 * Loop 0 runs on the main thread, whose loop also takes the signals and
 * serves the metrics (server.c); every other loop is a thread with its
 * own event_base.  Each loop has its own listening sockets (SO_REUSEPORT
 * when there are several: the kernel spreads new connections across
 * them), its own handle on the one worker pool (a job's completion comes
 * back to the loop that submitted it), and its own list of sessions; a
 * session lives on the loop that accepted it from start to end.  Shared,
 * and safe from every loop: the configuration generation (server_gen),
 * the connection counts (listener.c), the caches, the resolver, the
 * metrics.
 *
 * A shutdown is asked of each loop by activating its drain event (libevent
 * is set up for threads when there is more than one loop): the loop closes
 * its listeners, closes its idle sessions, and is done when its last
 * session ends or when its grace timer (proxy.shutdown_timeout) fires.
 * Loops 1 to n-1 then stop; loop 0 runs on until every loop is done, so
 * that it still takes signals (a second SIGTERM ends every loop at once)
 * and serves the metrics while the others drain.
 *
 * Public: loops_new, loops_listen, loops_start, loops_drain, loops_stop,
 * loops_join, loops_close, loops_free.
 *
 * DIAGNOSTICS
 *	"shutdown_timeout: N sessions cut off" from each loop that had
 *	some left.
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <stddef.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "lib/log.h"
#include "lib/util.h"
#include "lib/worker.h"
#include "proxy/listener.h"
#include "proxy/loops.h"
#include "proxy/server.h"
#include "proxy/session.h"

struct loops;

struct loop {
	struct loops		*ls;		/* the set it is in */
	unsigned		 n;		/* its number */
	struct session_server	 srv;		/* base, workers, sessions */
	struct listener_set	*listeners;
	struct event		*drain;		/* activated by loop 0 */
	struct event		*grace;
	unsigned		 grace_s;
	pthread_t		 thread;
	int			 started;
	int			 drain_seen;	/* its drain event ran */
	int			 done;		/* drained (both: its own
						   thread's) */
};

struct loops {
	struct loop		*l;
	unsigned		 n;
	unsigned		 draining;	/* loops not done; atomic */
};

static void	*loops_main(void *);
static void	 loops_drain_one(evutil_socket_t, short, void *);
static void	 loops_grace_over(evutil_socket_t, short, void *);
static void	 loops_done(struct loop *);
static void	 loops_gone(struct session_server *, const struct sockaddr *,
		    struct server_gen *);

struct loops *
loops_new(unsigned n, struct event_base *base0, struct worker_pool *pool,
    struct rdns_cache *rdns)
{
	struct loops	*ls = xcalloc(1, sizeof(*ls));
	struct loop	*l;
	unsigned	 i;

	ls->l = xcalloc(n, sizeof(*ls->l));
	ls->n = n;
	for (i = 0; i < n; i++) {
		l = &ls->l[i];
		l->ls = ls;
		l->n = i;
		if (i == 0) {
			l->srv.base = base0;
			l->srv.workers = pool;
		} else {
			if ((l->srv.base = event_base_new()) == NULL)
				fatalx("event_base_new");
			l->srv.workers = worker_pool_attach(pool, l->srv.base);
		}
		l->srv.rdns = rdns;
		l->srv.draining = server_draining;
		l->srv.gone = loops_gone;
		TAILQ_INIT(&l->srv.sessions);
		l->drain = event_new(l->srv.base, -1, 0, loops_drain_one, l);
	}
	return ls;
}

int
loops_listen(struct loops *ls, const struct conf *conf, char *err,
    size_t errsz)
{
	unsigned	 i;

	for (i = 0; i < ls->n; i++)
		if ((ls->l[i].listeners = listener_open(ls->l[i].srv.base,
		    conf, &ls->l[i].srv, i, ls->n > 1, err, errsz)) == NULL)
			return -1;
	return 0;
}

void
loops_start(struct loops *ls)
{
	unsigned	 i;

	for (i = 1; i < ls->n; i++) {
		if ((errno = pthread_create(&ls->l[i].thread, NULL,
		    loops_main, &ls->l[i])) != 0)
			fatal("event loop %u: thread", i);
		ls->l[i].started = 1;
	}
}

static void *
loops_main(void *arg)
{
	struct loop	*l = arg;

	event_base_dispatch(l->srv.base);
	return NULL;
}

void
loops_drain(struct loops *ls, unsigned grace_s)
{
	unsigned	 i;

	__atomic_store_n(&ls->draining, ls->n, __ATOMIC_RELEASE);
	for (i = 0; i < ls->n; i++) {
		ls->l[i].grace_s = grace_s;
		event_active(ls->l[i].drain, EV_TIMEOUT, 1);
	}
}

/* On the loop: no more connections, idle sessions closed, the grace
 * period begins; the loop is done with its last session. */
static void
loops_drain_one(evutil_socket_t fd, short ev, void *arg)
{
	struct loop	*l = arg;
	struct timeval	 tv = { l->grace_s, 0 };

	(void)fd;
	(void)ev;
	l->drain_seen = 1;
	listener_close(l->listeners);
	l->listeners = NULL;
	session_drain_all(&l->srv);
	l->grace = evtimer_new(l->srv.base, loops_grace_over, l);
	evtimer_add(l->grace, &tv);
	if (l->srv.nsessions == 0)
		loops_done(l);
}

static void
loops_grace_over(evutil_socket_t fd, short ev, void *arg)
{
	struct loop	*l = arg;

	(void)fd;
	(void)ev;
	log_warnx("shutdown_timeout: %u sessions cut off", l->srv.nsessions);
	loops_done(l);
}

/* On l's loop, once: a loop other than 0 stops; the last one done stops
 * loop 0, which waited for it. */
static void
loops_done(struct loop *l)
{
	if (l->done)
		return;
	l->done = 1;
	if (l->n > 0)
		event_base_loopbreak(l->srv.base);
	if (__atomic_sub_fetch(&l->ls->draining, 1, __ATOMIC_ACQ_REL) == 0)
		event_base_loopbreak(l->ls->l[0].srv.base);
}

/* A session ended: its peer's count and its generation go, and a draining
 * loop may be done. */
static void
loops_gone(struct session_server *srv, const struct sockaddr *peer,
    struct server_gen *g)
{
	struct loop	*l = (struct loop *)(void *)((char *)srv -
			    offsetof(struct loop, srv));

	listener_release(peer);
	server_gen_unref(g);
	if (server_draining() && srv->nsessions == 0 && l->drain_seen)
		loops_done(l);
}

void
loops_stop(struct loops *ls)
{
	unsigned	 i;

	for (i = 0; i < ls->n; i++)
		event_base_loopbreak(ls->l[i].srv.base);
}

void
loops_join(struct loops *ls)
{
	unsigned	 i;

	for (i = 1; i < ls->n; i++)
		if (ls->l[i].started) {
			pthread_join(ls->l[i].thread, NULL);
			ls->l[i].started = 0;
		}
}

/* Every loop stopped: what is left of the sessions, the listeners, the
 * loops' own worker handles (loop 0's are the caller's). */
void
loops_close(struct loops *ls)
{
	struct loop	*l;
	unsigned	 i;

	if (ls == NULL)
		return;
	for (i = 0; i < ls->n; i++) {
		l = &ls->l[i];
		session_free_all(&l->srv);
		listener_close(l->listeners);
		if (l->grace != NULL)
			event_free(l->grace);
		event_free(l->drain);
	}
	for (i = 1; i < ls->n; i++)
		worker_pool_free(ls->l[i].srv.workers);
}

void
loops_free(struct loops *ls)
{
	unsigned	 i;

	if (ls == NULL)
		return;
	for (i = 1; i < ls->n; i++) {
		/* what was handed to the loop to run on its own thread (the
		 * store's Redis connection to free) runs now, on this one:
		 * that thread has ended */
		event_base_loop(ls->l[i].srv.base, EVLOOP_NONBLOCK);
		event_base_free(ls->l[i].srv.base);
	}
	free(ls->l);
	free(ls);
}

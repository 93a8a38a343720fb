/* SPDX-License-Identifier: ISC */
/*
 * store.c - the shared store's front (see store.h): picks the store
 * [redis] names, owns every call and delivers its answer on the caller's
 * loop.
 *
 * A call is answered by its store exactly once (store_call_answer): the
 * in-process store at once, inside store_call, Redis when its reply comes
 * or its connection goes.  The caller's done runs exactly once, and never
 * inside store_call: on the store's answer, on redis.timeout (a failure;
 * a late answer is then dropped), or not at all after store_cancel.  The
 * call is freed once it is both answered and delivered (or cancelled).
 *
 * Public: store_new, store_ref, store_unref, store_serves, store_call,
 * store_cancel; store_call_answer, store_call_fail (store_int.h).
 *
 * DIAGNOSTICS
 *	store_new: "redis.server: 'SPEC': ..." for an address it cannot
 *	use.  Failures are counted in postern_store_errors_total{reason}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/store_int.h"
#include "lib/util.h"

struct store {
	int				 refcnt;	/* atomic */
	const struct store_impl_ops	*ops;
	void				*impl;
	struct store_settings		 set;		/* what it serves */
};

static void	store_call_event(evutil_socket_t, short, void *);
static void	store_call_deliver(struct store_call *);
static void	store_call_free(struct store_call *);

struct store *
store_new(const struct store_settings *set, char *err, size_t errsz)
{
	struct store	*s = xcalloc(1, sizeof(*s));

	s->refcnt = 1;
	s->set = *set;
	if (set->server[0] == '\0') {
		s->ops = &store_mem_ops;
		s->impl = store_mem_new(set);
	} else {
		s->ops = &store_redis_ops;
		if ((s->impl = store_redis_new(set, err, errsz)) == NULL) {
			free(s);
			return NULL;
		}
	}
	return s;
}

struct store *
store_ref(struct store *s)
{
	__atomic_add_fetch(&s->refcnt, 1, __ATOMIC_RELAXED);
	return s;
}

void
store_unref(struct store *s)
{
	if (s == NULL || __atomic_sub_fetch(&s->refcnt, 1,
	    __ATOMIC_ACQ_REL) > 0)
		return;
	s->ops->free(s->impl);
	free(s);
}

int
store_serves(const struct store *s, const struct store_settings *set)
{
	return strcmp(s->set.server, set->server) == 0 &&
	    strcmp(s->set.user, set->user) == 0 &&
	    strcmp(s->set.password, set->password) == 0 &&
	    s->set.database == set->database &&
	    s->set.timeout == set->timeout &&
	    s->set.memory_keys == set->memory_keys;
}

struct store_call *
store_call(struct store *s, struct event_base *base,
    const struct store_req *req, store_done_fn done, void *arg)
{
	struct store_call	*c = xcalloc(1, sizeof(*c));
	struct timeval		 tv;

	c->store = s;
	c->base = base;
	c->req = *req;
	c->done = done;
	c->arg = arg;
	if ((c->ev = event_new(base, -1, 0, store_call_event, c)) == NULL)
		fatalx("store_call: event_new");
	tv.tv_sec = s->set.timeout;
	tv.tv_usec = 0;
	event_add(c->ev, &tv);
	c->starting = 1;
	s->ops->start(s->impl, c);
	c->starting = 0;
	if (c->answered)
		event_active(c->ev, EV_TIMEOUT, 0);
	return c;
}

void
store_cancel(struct store_call *c)
{
	c->done = NULL;
	c->delivered = 1;
	event_del(c->ev);
	if (c->answered)
		store_call_free(c);
}

void
store_call_answer(struct store_call *c, const struct store_reply *r)
{
	c->answered = 1;
	if (c->delivered) {
		store_call_free(c);
		return;
	}
	c->reply = *r;
	if (!c->starting)
		store_call_deliver(c);
}

void
store_call_fail(struct store_call *c, const char *reason)
{
	struct store_reply	 r;

	memset(&r, 0, sizeof(r));
	r.failed = 1;
	r.reason = reason;
	if (!c->delivered)	/* else counted as a timeout, or cancelled */
		metric_add(M_STORE_ERRORS, 1, reason);
	store_call_answer(c, &r);
}

/* The timer: redis.timeout passed, or (answered) delivery is due. */
static void
store_call_event(evutil_socket_t fd, short what, void *arg)
{
	struct store_call	*c = arg;

	(void)fd;
	(void)what;
	if (c->delivered)
		return;
	if (!c->answered) {
		memset(&c->reply, 0, sizeof(c->reply));
		c->reply.failed = 1;
		c->reply.reason = "timeout";
		metric_add(M_STORE_ERRORS, 1, "timeout");
	}
	store_call_deliver(c);
}

/* done once; the call goes when the store is done with it too. */
static void
store_call_deliver(struct store_call *c)
{
	store_done_fn		 done = c->done;
	void			*arg = c->arg;
	struct store_reply	 r = c->reply;

	c->delivered = 1;
	c->done = NULL;
	event_del(c->ev);
	if (c->answered)
		store_call_free(c);
	if (done != NULL)
		done(arg, &r);
}

static void
store_call_free(struct store_call *c)
{
	event_free(c->ev);
	free(c);
}

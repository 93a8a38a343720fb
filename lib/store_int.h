/* SPDX-License-Identifier: ISC */
/*
 * store_int.h - between store.c and the stores behind it (store_mem.c,
 * store_redis.c), as postfix's milter.h sits between milter.c and its
 * kinds: a store is a set of operations on its own data; store.c owns
 * each call, its timer and its delivery.
 */
#ifndef POSTERN_STORE_INT_H
#define POSTERN_STORE_INT_H

#include "lib/store.h"

struct event;

struct store_call {
	struct store		*store;		/* not referenced */
	struct event_base	*base;		/* the caller's loop */
	struct store_req	 req;		/* copied */
	store_done_fn		 done;		/* NULL once cancelled */
	void			*arg;
	struct event		*ev;		/* timeout, then delivery */
	struct store_reply	 reply;
	int			 starting;	/* inside store_call */
	int			 answered;	/* the store is done with it */
	int			 delivered;	/* done ran, or cancelled */
};

struct store_impl_ops {
	const char	*name;
	/* start c; the store calls store_call_answer(c) once, at once or
	 * later on c->base's loop */
	void		(*start)(void *impl, struct store_call *c);
	/* answers every call in flight (failed), then frees */
	void		(*free)(void *impl);
};

/* store_call_answer - the store's reply for c (copied), on c's loop. */
void		 store_call_answer(struct store_call *c,
		    const struct store_reply *);
/* store_call_fail - the same for a failure: reason a static string;
 * counted in the metrics. */
void		 store_call_fail(struct store_call *c, const char *reason);

void		*store_mem_new(const struct store_settings *);
extern const struct store_impl_ops store_mem_ops;
void		*store_redis_new(const struct store_settings *, char *err,
		    size_t errsz);
extern const struct store_impl_ops store_redis_ops;
/* store_redis_bound - a hiredis reader (redisReader) made to refuse an
 * array of more elements than postern's replies have, before it
 * allocates them. */
struct redisReader;
void		 store_redis_bound(struct redisReader *);
/* store_redis_check - an operation's reply from Redis (hiredis's
 * redisReply, untrusted) into r: {what, wait_ms}, two integers in range
 * for req; -1 for anything else. */
struct redisReply;
int		 store_redis_check(const struct store_req *req,
		    const struct redisReply *, struct store_reply *r);

#endif

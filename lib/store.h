/* SPDX-License-Identifier: ISC */
/*
 * store.h - the state postern instances share: rate-limit counters and
 * greylisting triplets, in Redis ([redis] server) or, when no server is
 * set, in this process.  Two operations, each atomic in the store:
 *
 * - STORE_RATE: n keys, each with a limit of count events per window; one
 *   event is counted against every key when all of them still have room,
 *   against none otherwise (GCRA: store_math.h).
 * - STORE_GREY: a greylisting triplet (key[0]) and its client network's
 *   pass counter (key[1]): first seen, too early, passed, or a network
 *   that passed often enough to be allowed (store_math.h).
 *
 * Every call is asynchronous on the event loop it is given (the calling
 * session's): done runs later on that loop, exactly once, unless
 * store_cancel comes first.  Calls from different loops may run at the
 * same time; each loop gets its own Redis connection.  A store that cannot
 * answer (Redis down, too slow, a reply of the wrong shape) says so in the
 * reply (failed) and never blocks: the caller applies
 * redis.failure_action.
 */
#ifndef POSTERN_STORE_H
#define POSTERN_STORE_H

#include <stddef.h>
#include <stdint.h>

#define STORE_KEYS_MAX		16	/* keys one operation */
#define STORE_KEY_MAX		600	/* bytes a key, with its NUL */

struct event_base;
struct store;
struct store_call;

enum store_kind {
	STORE_RATE,
	STORE_GREY,
};

/* What a STORE_GREY found (the reply's what). */
enum store_grey {
	STORE_GREY_NEW = 1,	/* first seen now: try later */
	STORE_GREY_EARLY,	/* seen, but delay not yet over */
	STORE_GREY_PASS,	/* retried in time (or passed before) */
	STORE_GREY_AUTO,	/* the network is allowed (auto_allow) */
};

/* [redis] in the configuration (policy/conf.h embeds it). */
struct store_settings {
	char		 server[256];	/* host:port, unix:/path; "" = in
					   this process */
	char		 user[64];	/* ACL user, "" = default */
	char		 password[256];	/* "" = no AUTH */
	unsigned	 database;	/* SELECT */
	unsigned	 timeout;	/* seconds, an operation */
	unsigned	 memory_keys;	/* server "": keys kept at most */
};

struct store_req {
	enum store_kind	 kind;
	size_t		 n;			/* keys */
	char		 key[STORE_KEYS_MAX][STORE_KEY_MAX];
	/* STORE_RATE: per key */
	unsigned	 count[STORE_KEYS_MAX];
	uint64_t	 window_ms[STORE_KEYS_MAX];
	/* STORE_GREY */
	uint64_t	 delay_ms;		/* before a retry passes */
	uint64_t	 retry_ms;		/* a new triplet is kept */
	uint64_t	 expire_ms;		/* a passed one, the counter */
	unsigned	 auto_allow;		/* passes; 0: never */
};

struct store_reply {
	int		 failed;	/* no answer: reason says why */
	const char	*reason;	/* "down", "timeout", "bad reply" ... */
	unsigned	 what;		/* RATE: 0 within every limit, i + 1
					   key i is over; GREY: enum
					   store_grey */
	uint64_t	 wait_ms;	/* RATE over: until it has room; GREY
					   NEW/EARLY: until the delay is over */
};

/* Called on the loop the call was made on; reply valid for the call. */
typedef void	(*store_done_fn)(void *arg, const struct store_reply *);

/*
 * store_new - the store settings say (copied): Redis when server is set
 * (connections are made on first use, per loop), the in-process store
 * otherwise.  Reference count 1.  NULL with err ("redis.server: ...") for
 * a server that cannot be used (a bad address).
 */
struct store	*store_new(const struct store_settings *, char *err,
		    size_t errsz);
struct store	*store_ref(struct store *);
/* store_unref - the last reference frees: calls in flight are answered
 * failed first.  On a loop that no longer runs, or the one calls ran on. */
void		 store_unref(struct store *);
/* store_serves - whether s is the store settings describe (a reload
 * keeps it, and its connections and in-process state). */
int		 store_serves(const struct store *,
		    const struct store_settings *);

/*
 * store_call - start req (copied) on base's loop; done(arg, reply) runs
 * later on it, once.  Returns the call's handle, valid until done runs or
 * store_cancel.  Never NULL.
 */
struct store_call *store_call(struct store *, struct event_base *,
		    const struct store_req *, store_done_fn, void *arg);
/* store_cancel - done will not run (the store may still finish the
 * operation).  On the call's loop only. */
void		 store_cancel(struct store_call *);

#endif

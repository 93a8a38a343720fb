/* SPDX-License-Identifier: ISC */
/*
 * loops.h - the event loops that serve the connections (proxy.threads):
 * loop 0 on the caller's thread and base, the others threads of their own.
 */
#ifndef POSTERN_LOOPS_H
#define POSTERN_LOOPS_H

#include <stddef.h>

struct conf;
struct event_base;
struct loops;
struct rdns_cache;
struct worker_pool;

/* loops_new - n loops: loop 0 on base0 with pool, the others with bases
 * of their own and handles on pool.  With n > 1 libevent must have been
 * set up for threads (evthread_use_pthreads) before base0 was made. */
struct loops	*loops_new(unsigned n, struct event_base *base0,
		    struct worker_pool *pool, struct rdns_cache *);
/* loops_listen - every loop's listening sockets; -1 with err. */
int		 loops_listen(struct loops *, const struct conf *, char *err,
		    size_t errsz);
/* loops_start - the threads of loops 1 to n-1 (loop 0 is the caller's to
 * run). */
void		 loops_start(struct loops *);
/* loops_drain - ask every loop to stop taking connections, close its idle
 * sessions and end with its last one, or after grace_s seconds. */
void		 loops_drain(struct loops *, unsigned grace_s);
/* loops_stop - every loop ends now (a second stop signal). */
void		 loops_stop(struct loops *);
/* loops_join - wait for the threads of loops 1 to n-1 to end. */
void		 loops_join(struct loops *);
/* loops_close - after loops_join: the sessions left, the listeners and
 * the worker handles of loops 1 to n-1, so that nothing but the caller
 * holds a configuration generation any more. */
void		 loops_close(struct loops *);
/* loops_free - after loops_close and the last generation (a Redis
 * connection of the store lives on its loop's base): the bases of loops
 * 1 to n-1, once what was left for them to run has run. */
void		 loops_free(struct loops *);

#endif

/* SPDX-License-Identifier: ISC */
/*
 * worker.h - a bounded pool of threads for work that blocks (DNS chains in
 * libspf2, RSA in DKIM).  A job runs on a pool thread; its completion runs
 * later on the event loop it was submitted from, so filters never block
 * the loop and never touch it from another thread.  Every loop has its
 * own handle on the one pool (worker_pool_attach).
 */
#ifndef POSTERN_WORKER_H
#define POSTERN_WORKER_H

#include <stddef.h>

struct event_base;
struct worker_pool;
struct worker_job;

/* Runs on a pool thread: may block; must not touch the event loop. */
typedef void	(*worker_run_fn)(void *arg);
/* Runs on the event loop, exactly once per job: after run, or instead of
 * it (cancelled = 1) when worker_cancel came first.  Frees arg. */
typedef void	(*worker_done_fn)(void *arg, int cancelled);

/*
 * worker_pool_new - nthreads threads, at most queue_max jobs waiting (not
 * counting the ones running); completions on base.  NULL with err.
 */
struct worker_pool *worker_pool_new(struct event_base *, unsigned nthreads,
		    unsigned queue_max, char *err, size_t errsz);
/* worker_pool_attach - a handle on p's threads and queue whose jobs
 * complete on base: one for each other event loop. */
struct worker_pool *worker_pool_attach(struct worker_pool *,
		    struct event_base *);
/* worker_pool_free - the handle's waiting jobs cancelled (their done runs
 * now, cancelled), its running ones waited for; the last handle freed
 * joins the threads.  Its loop must not be running. */
void		 worker_pool_free(struct worker_pool *);

/* worker_submit - queue a job; NULL when the queue is full (the caller
 * answers with a temporary error).  arg is not duplicated. */
struct worker_job *worker_submit(struct worker_pool *, worker_run_fn,
		    worker_done_fn, void *arg);
/* worker_cancel - the caller no longer wants the result: done will get
 * cancelled = 1 (run may still be running, or already have run).  Event loop
 * only; the job handle is invalid after done. */
void		 worker_cancel(struct worker_job *);

/* worker_pool_base - the loop this handle's completions run on. */
struct event_base *worker_pool_base(struct worker_pool *);

/* Jobs waiting and running, for logs and tests. */
size_t		 worker_pool_load(struct worker_pool *);

#endif

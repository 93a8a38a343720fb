/* SPDX-License-Identifier: ISC */
/*
 * worker.c - the bounded thread pool (see worker.h).
 *
 * Jobs wait in a FIFO (at most queue_max of them); nthreads threads take
 * them in order and run them.  The threads and the queue (the core) are
 * shared by every event loop: each loop has a handle of its own
 * (worker_pool_attach), and a finished job goes on the done list of the
 * handle it was submitted through, with a byte on that handle's pipe to
 * wake its loop, which calls each job's done callback in order.  The
 * core's one mutex guards every list and each job's cancelled flag;
 * callbacks run outside it.  A job cancelled while it waits is never run:
 * it moves straight to the done list.
 *
 * Public: worker_pool_new, worker_pool_attach, worker_pool_free,
 * worker_submit, worker_cancel, worker_pool_load.
 *
 * DIAGNOSTICS
 *	worker_pool_new: "workers: cannot start thread N: <strerror>".
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/util.h"
#include "lib/worker.h"

struct worker_job {
	struct worker_pool *pool;	/* the loop's handle */
	worker_run_fn	 run;
	worker_done_fn	 done;
	void		*arg;		/* not duplicated */
	int		 cancelled;
	struct worker_job *next;
};

struct worker_list {
	struct worker_job *head;
	struct worker_job *tail;
};

/* The threads and the queue, shared by every loop's handle. */
struct worker_core {
	pthread_mutex_t	 lock;
	pthread_cond_t	 work;		/* signalled on submit and stop */
	pthread_cond_t	 idle;		/* a handle's last running job done */
	struct worker_list waiting;
	size_t		 nwaiting;
	size_t		 nrunning;
	unsigned	 queue_max;
	int		 stopping;
	unsigned	 handles;	/* the pool and its attachments */
	pthread_t	*threads;
	unsigned	 nthreads;	/* started */
};

/* One event loop's handle: its jobs come back to it. */
struct worker_pool {
	struct worker_core *core;
	struct worker_list finished;	/* under core->lock */
	size_t		 nrunning;	/* of its jobs, under core->lock */
	int		 wake[2];	/* pipe: thread -> loop */
	struct event	*ev;
};

static struct worker_pool *worker_handle(struct worker_core *,
		    struct event_base *);
static void	*worker_thread(void *);
static void	 worker_deliver(evutil_socket_t, short, void *);
static void	 worker_push(struct worker_list *, struct worker_job *);
static struct worker_job *worker_pop(struct worker_list *);
static void	 worker_finish(struct worker_core *, struct worker_job *);

struct worker_pool *
worker_pool_new(struct event_base *base, unsigned nthreads,
    unsigned queue_max, char *err, size_t errsz)
{
	struct worker_core	*c;
	struct worker_pool	*p;
	int			 rc;

	c = xcalloc(1, sizeof(*c));
	c->queue_max = queue_max;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->work, NULL);
	pthread_cond_init(&c->idle, NULL);
	p = worker_handle(c, base);
	c->threads = xcalloc(nthreads, sizeof(*c->threads));
	for (; c->nthreads < nthreads; c->nthreads++)
		if ((rc = pthread_create(&c->threads[c->nthreads], NULL,
		    worker_thread, c)) != 0) {
			snprintf(err, errsz, "workers: cannot start thread "
			    "%u: %s", c->nthreads + 1, strerror(rc));
			worker_pool_free(p);
			return NULL;
		}
	return p;
}

struct worker_pool *
worker_pool_attach(struct worker_pool *p, struct event_base *base)
{
	struct worker_pool	*h;

	pthread_mutex_lock(&p->core->lock);
	h = worker_handle(p->core, base);
	pthread_mutex_unlock(&p->core->lock);
	return h;
}

/* A handle on c for base (c locked, or not yet shared). */
static struct worker_pool *
worker_handle(struct worker_core *c, struct event_base *base)
{
	struct worker_pool	*p = xcalloc(1, sizeof(*p));

	p->core = c;
	c->handles++;
	if (pipe2(p->wake, O_CLOEXEC | O_NONBLOCK) == -1)
		fatal("workers: pipe");
	p->ev = event_new(base, p->wake[0], EV_READ | EV_PERSIST,
	    worker_deliver, p);
	event_add(p->ev, NULL);
	return p;
}

void
worker_pool_free(struct worker_pool *p)
{
	struct worker_core	*c;
	struct worker_list	 keep = { NULL, NULL };
	struct worker_job	*j;
	unsigned		 i;
	int			 last;

	if (p == NULL)
		return;
	c = p->core;
	pthread_mutex_lock(&c->lock);
	while ((j = worker_pop(&c->waiting)) != NULL) {
		if (j->pool != p) {
			worker_push(&keep, j);
			continue;
		}
		j->cancelled = 1;
		worker_push(&p->finished, j);
		c->nwaiting--;
		metric_add(M_WORKER_QUEUE, -1);
	}
	c->waiting = keep;
	while (p->nrunning > 0)
		pthread_cond_wait(&c->idle, &c->lock);
	if ((last = --c->handles == 0)) {
		c->stopping = 1;
		pthread_cond_broadcast(&c->work);
	}
	pthread_mutex_unlock(&c->lock);
	worker_deliver(-1, 0, p);
	event_free(p->ev);
	close(p->wake[0]);
	close(p->wake[1]);
	free(p);
	if (!last)
		return;
	for (i = 0; i < c->nthreads; i++)
		pthread_join(c->threads[i], NULL);
	pthread_cond_destroy(&c->work);
	pthread_cond_destroy(&c->idle);
	pthread_mutex_destroy(&c->lock);
	free(c->threads);
	free(c);
}

struct worker_job *
worker_submit(struct worker_pool *p, worker_run_fn run, worker_done_fn done,
    void *arg)
{
	struct worker_core	*c = p->core;
	struct worker_job	*j;

	pthread_mutex_lock(&c->lock);
	if (c->nwaiting >= c->queue_max || c->stopping) {
		pthread_mutex_unlock(&c->lock);
		metric_add(M_WORKER_REFUSED, 1);
		return NULL;
	}
	j = xcalloc(1, sizeof(*j));
	j->pool = p;
	j->run = run;
	j->done = done;
	j->arg = arg;
	worker_push(&c->waiting, j);
	c->nwaiting++;
	metric_add(M_WORKER_QUEUE, 1);
	pthread_cond_signal(&c->work);
	pthread_mutex_unlock(&c->lock);
	return j;
}

/* The job is waiting, running, or finished but not delivered: the flag
 * covers all three, and a waiting job is simply never run. */
void
worker_cancel(struct worker_job *j)
{
	pthread_mutex_lock(&j->pool->core->lock);
	j->cancelled = 1;
	pthread_mutex_unlock(&j->pool->core->lock);
}

struct event_base *
worker_pool_base(struct worker_pool *p)
{
	return event_get_base(p->ev);
}

size_t
worker_pool_load(struct worker_pool *p)
{
	size_t	 n;

	pthread_mutex_lock(&p->core->lock);
	n = p->core->nwaiting + p->core->nrunning;
	pthread_mutex_unlock(&p->core->lock);
	return n;
}

static void *
worker_thread(void *arg)
{
	struct worker_core	*c = arg;
	struct worker_job	*j;
	int			 skip;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (c->waiting.head == NULL && !c->stopping)
			pthread_cond_wait(&c->work, &c->lock);
		if ((j = worker_pop(&c->waiting)) == NULL)
			break;
		c->nwaiting--;
		c->nrunning++;
		j->pool->nrunning++;
		metric_add(M_WORKER_QUEUE, -1);
		metric_add(M_WORKERS_BUSY, 1);
		skip = j->cancelled;
		pthread_mutex_unlock(&c->lock);
		if (!skip)
			j->run(j->arg);
		pthread_mutex_lock(&c->lock);
		c->nrunning--;
		metric_add(M_WORKERS_BUSY, -1);
		worker_finish(c, j);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* Called locked: j goes to its loop.  One wake byte per job; when the pipe
 * is full the loop is awake already and takes every finished job. */
static void
worker_finish(struct worker_core *c, struct worker_job *j)
{
	struct worker_pool	*p = j->pool;

	worker_push(&p->finished, j);
	if (--p->nrunning == 0)
		pthread_cond_broadcast(&c->idle);
	if (write(p->wake[1], "", 1) == -1 && errno != EAGAIN)
		log_warn("workers: waking the event loop");
}

/* On the event loop: every finished job's done, in order. */
static void
worker_deliver(evutil_socket_t fd, short ev, void *arg)
{
	struct worker_pool	*p = arg;
	struct worker_job	*j;
	struct worker_list	 batch;
	char			 buf[256];
	int			 cancelled;

	(void)ev;
	if (fd != -1)
		while (read(fd, buf, sizeof(buf)) > 0)
			;
	pthread_mutex_lock(&p->core->lock);
	batch = p->finished;
	p->finished.head = p->finished.tail = NULL;
	pthread_mutex_unlock(&p->core->lock);
	while ((j = worker_pop(&batch)) != NULL) {
		/* Only the loop sets the flag, and the job is off every
		 * list the threads see: no lock needed to read it. */
		cancelled = j->cancelled;
		j->done(j->arg, cancelled);
		free(j);
	}
}

static void
worker_push(struct worker_list *l, struct worker_job *j)
{
	j->next = NULL;
	if (l->tail != NULL)
		l->tail->next = j;
	else
		l->head = j;
	l->tail = j;
}

static struct worker_job *
worker_pop(struct worker_list *l)
{
	struct worker_job	*j;

	if ((j = l->head) != NULL) {
		l->head = j->next;
		if (l->head == NULL)
			l->tail = NULL;
	}
	return j;
}

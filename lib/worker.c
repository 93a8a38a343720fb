/* SPDX-License-Identifier: ISC */
/*
 * worker.c - the bounded thread pool (see worker.h).
 *
 * Jobs wait in a FIFO (at most queue_max of them); nthreads threads take
 * them in order and run them.  A finished job goes on the done list and a
 * byte on a pipe wakes the event loop, which calls each job's done callback
 * in order.  The pool's one mutex guards both lists and each job's
 * cancelled flag; callbacks run outside it.  A job cancelled while it
 * waits is never run: it moves straight to the done list.
 *
 * Public: worker_pool_new, worker_pool_free, worker_submit, worker_cancel,
 * worker_pool_load.
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
	struct worker_pool *pool;
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

struct worker_pool {
	pthread_mutex_t	 lock;
	pthread_cond_t	 work;		/* signalled on submit and stop */
	struct worker_list waiting;
	struct worker_list finished;
	size_t		 nwaiting;
	size_t		 nrunning;
	unsigned	 queue_max;
	int		 stopping;
	pthread_t	*threads;
	unsigned	 nthreads;	/* started */
	int		 wake[2];	/* pipe: thread -> loop */
	struct event	*ev;
};

static void	*worker_thread(void *);
static void	 worker_deliver(evutil_socket_t, short, void *);
static void	 worker_push(struct worker_list *, struct worker_job *);
static struct worker_job *worker_pop(struct worker_list *);
static void	 worker_finish(struct worker_pool *, struct worker_job *);

struct worker_pool *
worker_pool_new(struct event_base *base, unsigned nthreads,
    unsigned queue_max, char *err, size_t errsz)
{
	struct worker_pool	*p;
	int			 rc;

	p = xcalloc(1, sizeof(*p));
	p->queue_max = queue_max;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	if (pipe2(p->wake, O_CLOEXEC | O_NONBLOCK) == -1)
		fatal("workers: pipe");
	p->ev = event_new(base, p->wake[0], EV_READ | EV_PERSIST,
	    worker_deliver, p);
	event_add(p->ev, NULL);
	p->threads = xcalloc(nthreads, sizeof(*p->threads));
	for (; p->nthreads < nthreads; p->nthreads++)
		if ((rc = pthread_create(&p->threads[p->nthreads], NULL,
		    worker_thread, p)) != 0) {
			snprintf(err, errsz, "workers: cannot start thread "
			    "%u: %s", p->nthreads + 1, strerror(rc));
			worker_pool_free(p);
			return NULL;
		}
	return p;
}

void
worker_pool_free(struct worker_pool *p)
{
	struct worker_job	*j;
	unsigned		 i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = 1;
	while ((j = worker_pop(&p->waiting)) != NULL) {
		j->cancelled = 1;
		worker_push(&p->finished, j);
	}
	metric_add(M_WORKER_QUEUE, -(double)p->nwaiting);
	p->nwaiting = 0;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	worker_deliver(-1, 0, p);
	event_free(p->ev);
	close(p->wake[0]);
	close(p->wake[1]);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->lock);
	free(p->threads);
	free(p);
}

struct worker_job *
worker_submit(struct worker_pool *p, worker_run_fn run, worker_done_fn done,
    void *arg)
{
	struct worker_job	*j;

	pthread_mutex_lock(&p->lock);
	if (p->nwaiting >= p->queue_max || p->stopping) {
		pthread_mutex_unlock(&p->lock);
		metric_add(M_WORKER_REFUSED, 1);
		return NULL;
	}
	j = xcalloc(1, sizeof(*j));
	j->pool = p;
	j->run = run;
	j->done = done;
	j->arg = arg;
	worker_push(&p->waiting, j);
	p->nwaiting++;
	metric_add(M_WORKER_QUEUE, 1);
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
	return j;
}

/* The job is waiting, running, or finished but not delivered: the flag
 * covers all three, and a waiting job is simply never run. */
void
worker_cancel(struct worker_job *j)
{
	pthread_mutex_lock(&j->pool->lock);
	j->cancelled = 1;
	pthread_mutex_unlock(&j->pool->lock);
}

size_t
worker_pool_load(struct worker_pool *p)
{
	size_t	 n;

	pthread_mutex_lock(&p->lock);
	n = p->nwaiting + p->nrunning;
	pthread_mutex_unlock(&p->lock);
	return n;
}

static void *
worker_thread(void *arg)
{
	struct worker_pool	*p = arg;
	struct worker_job	*j;
	int			 skip;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (p->waiting.head == NULL && !p->stopping)
			pthread_cond_wait(&p->work, &p->lock);
		if ((j = worker_pop(&p->waiting)) == NULL)
			break;
		p->nwaiting--;
		p->nrunning++;
		metric_add(M_WORKER_QUEUE, -1);
		metric_add(M_WORKERS_BUSY, 1);
		skip = j->cancelled;
		pthread_mutex_unlock(&p->lock);
		if (!skip)
			j->run(j->arg);
		pthread_mutex_lock(&p->lock);
		p->nrunning--;
		metric_add(M_WORKERS_BUSY, -1);
		worker_finish(p, j);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* Called locked: j goes to the loop.  One wake byte per job; when the pipe
 * is full the loop is awake already and takes every finished job. */
static void
worker_finish(struct worker_pool *p, struct worker_job *j)
{
	worker_push(&p->finished, j);
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
	pthread_mutex_lock(&p->lock);
	batch = p->finished;
	p->finished.head = p->finished.tail = NULL;
	pthread_mutex_unlock(&p->lock);
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

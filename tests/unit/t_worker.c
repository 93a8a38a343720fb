/* SPDX-License-Identifier: ISC */
/*
 * t_worker.c - lib/worker.c: jobs run on pool threads (not the loop's)
 * and complete on the event loop; a full queue refuses; a job
 * cancelled while it waits never runs and completes as cancelled; one
 * cancelled while it runs completes as cancelled; worker_pool_free
 * completes whatever still waits; a handle attached for a second loop
 * gets its own jobs back (and only those), and freeing it leaves the
 * pool's other handle working.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "tap.h"
#include "lib/worker.h"

struct job {
	int		 n;
	int		 ran;
	int		 done;
	int		 cancelled;
	int		 sleep_ms;
	pthread_t	 thread;
};

static pthread_t	 loop_thread;

static void
job_run(void *arg)
{
	struct job	*j = arg;

	j->thread = pthread_self();
	if (j->sleep_ms > 0)
		usleep(j->sleep_ms * 1000);
	j->ran = 1;
}

static void
job_done(void *arg, int cancelled)
{
	struct job	*j = arg;

	j->done = 1;
	j->cancelled = cancelled;
}

/* Run the loop until every job of js is done, at most 5 s. */
static int
wait_all(struct event_base *base, struct job *js, int n)
{
	struct timeval	 tick = { 0, 10000 };
	int		 i, left, rounds;

	for (rounds = 0; rounds < 500; rounds++) {
		for (left = 0, i = 0; i < n; i++)
			left += !js[i].done;
		if (left == 0)
			return 1;
		event_base_loopexit(base, &tick);
		event_base_dispatch(base);
	}
	return 0;
}

static void
test_run(struct event_base *base)
{
	char			 err[256] = "";
	struct worker_pool	*p = worker_pool_new(base, 4, 100, err,
				    sizeof(err));
	struct job		 js[20];
	int			 i, offloop = 1;

	memset(js, 0, sizeof(js));
	for (i = 0; i < 20; i++) {
		js[i].n = i;
		ok(worker_submit(p, job_run, job_done, &js[i]) != NULL,
		    "job %d queued", i);
	}
	ok(wait_all(base, js, 20), "every job completed");
	for (i = 0; i < 20; i++) {
		offloop &= js[i].ran && !js[i].cancelled &&
		    !pthread_equal(js[i].thread, loop_thread);
	}
	ok(offloop, "each ran on a pool thread, none cancelled");
	is_int(worker_pool_load(p), 0, "nothing left waiting or running");
	worker_pool_free(p);
}

static void
test_full_and_cancel(struct event_base *base)
{
	char			 err[256] = "";
	struct worker_pool	*p = worker_pool_new(base, 1, 2, err,
				    sizeof(err));
	struct job		 js[4];
	struct worker_job	*h[4];
	int			 i;

	memset(js, 0, sizeof(js));
	for (i = 0; i < 4; i++)
		js[i].n = i;
	js[0].sleep_ms = 300;
	h[0] = worker_submit(p, job_run, job_done, &js[0]);
	usleep(100 * 1000);	/* the one thread is now inside job 0 */
	h[1] = worker_submit(p, job_run, job_done, &js[1]);
	h[2] = worker_submit(p, job_run, job_done, &js[2]);
	h[3] = worker_submit(p, job_run, job_done, &js[3]);
	ok(h[0] && h[1] && h[2], "one running and two waiting accepted");
	ok(h[3] == NULL, "a third waiting job is refused: queue full");
	is_int(worker_pool_load(p), 3, "load counts waiting and running");
	worker_cancel(h[1]);
	worker_cancel(h[0]);
	ok(wait_all(base, js, 3), "all three completed");
	ok(js[0].ran && js[0].cancelled, "cancelled while running: ran, "
	    "completed as cancelled");
	ok(!js[1].ran && js[1].cancelled, "cancelled while waiting: never "
	    "ran");
	ok(js[2].ran && !js[2].cancelled, "the other one ran normally");
	worker_pool_free(p);
}

static void
test_free_with_waiting(struct event_base *base)
{
	char			 err[256] = "";
	struct worker_pool	*p = worker_pool_new(base, 1, 10, err,
				    sizeof(err));
	struct job		 js[3];
	int			 i;

	memset(js, 0, sizeof(js));
	js[0].sleep_ms = 200;
	for (i = 0; i < 3; i++)
		worker_submit(p, job_run, job_done, &js[i]);
	usleep(50 * 1000);
	worker_pool_free(p);
	ok(js[0].done && js[0].ran && !js[0].cancelled,
	    "free waits for the running job");
	ok(js[1].done && js[1].cancelled && !js[1].ran &&
	    js[2].done && js[2].cancelled && !js[2].ran,
	    "free completes the waiting ones as cancelled");
}

/* Two loops on one pool: each handle's jobs complete on its own loop. */
static void
test_attach(struct event_base *base)
{
	char			 err[256] = "";
	struct event_base	*base2 = event_base_new();
	struct worker_pool	*p = worker_pool_new(base, 2, 10, err,
				    sizeof(err));
	struct worker_pool	*h = worker_pool_attach(p, base2);
	struct job		 a[3], b[3];
	int			 i;

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	for (i = 0; i < 3; i++) {
		ok(worker_submit(p, job_run, job_done, &a[i]) != NULL &&
		    worker_submit(h, job_run, job_done, &b[i]) != NULL,
		    "submitted through both handles");
	}
	ok(wait_all(base2, b, 3), "the attached handle's jobs complete on "
	    "its loop");
	for (i = 0; i < 3; i++)
		ok(!a[i].done, "none of the other handle's on it (job %d)", i);
	ok(wait_all(base, a, 3), "the first handle's on its own loop");
	is_int(worker_pool_load(h), 0, "the load is the pool's");
	b[0] = (struct job){ .sleep_ms = 200 };
	worker_submit(h, job_run, job_done, &b[0]);
	usleep(50 * 1000);		/* running by now */
	worker_pool_free(h);
	ok(b[0].done && b[0].ran && !b[0].cancelled,
	    "freeing a handle waits for its running job");
	memset(a, 0, sizeof(a));
	worker_submit(p, job_run, job_done, &a[0]);
	ok(wait_all(base, a, 1), "the pool works on without it");
	worker_pool_free(p);
	event_base_free(base2);
}

int
main(void)
{
	struct event_base	*base = event_base_new();

	loop_thread = pthread_self();
	test_run(base);
	test_full_and_cancel(base);
	test_free_with_waiting(base);
	test_attach(base);
	event_base_free(base);
	return tap_done();
}

/* SPDX-License-Identifier: ISC */
/*
 * t_log.c - unit tests for log_limited (lib/log.c): one line of a kind per
 * interval, the others counted and told once the interval is over (by
 * log_limit_flush or by the next one), kinds apart, interval 0 writes every
 * line, a level that is off counts nothing, threads lose no count, and no
 * control byte a caller formats reaches a line.  stderr goes to a temporary
 * file that each test reads back.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "tap.h"

#define T_THREADS	4
#define T_CALLS		1000

static FILE	*err_file;

static char	*t_logged(void);
static int	 t_count(const char *, const char *);
static void	*t_thread(void *);
static void	 test_interval(void);
static void	 test_kinds(void);
static void	 test_every_line(void);
static void	 test_level(void);
static void	 test_threads(void);
static void	 test_scrub(void);

static struct log_limit	 t_threaded = LOG_LIMIT("threaded");

/* What was written since the last call (the file is emptied). */
static char *
t_logged(void)
{
	static char	 buf[65536];
	size_t		 n;

	fflush(stderr);
	rewind(err_file);
	n = fread(buf, 1, sizeof(buf) - 1, err_file);
	buf[n] = '\0';
	if (ftruncate(fileno(err_file), 0) == -1)
		abort();
	rewind(err_file);
	return buf;
}

static int
t_count(const char *text, const char *what)
{
	int	 n = 0;

	for (; (text = strstr(text, what)) != NULL; text += strlen(what))
		n++;
	return n;
}

static void
test_interval(void)
{
	static struct log_limit	 l = LOG_LIMIT("refused");
	char			*out;
	int			 i;

	log_set_repeat(1);
	for (i = 0; i < 10; i++)
		log_limited(&l, LOG_LEVEL_WARN, "refused number %d", i);
	log_limit_flush();
	out = t_logged();
	is_int(t_count(out, "refused number"), 1, "one line of ten");
	ok(strstr(out, "refused number 0") != NULL, "the first one");
	ok(strstr(out, "more like this") == NULL, "no count inside the "
	    "interval");
	usleep(1100 * 1000);
	log_limit_flush();
	out = t_logged();
	ok(strstr(out, "[warning]: refused: 9 more like this in the last 1s")
	    != NULL, "then the count of the others");
	log_limited(&l, LOG_LEVEL_WARN, "refused number %d", 10);
	out = t_logged();
	ok(strstr(out, "refused number 10") != NULL, "a new interval: the "
	    "next one whole");
	log_limited(&l, LOG_LEVEL_WARN, "refused number %d", 11);
	usleep(1100 * 1000);
	log_limited(&l, LOG_LEVEL_WARN, "refused number %d", 12);
	out = t_logged();
	ok(strstr(out, "refused: 1 more like this") != NULL &&
	    strstr(out, "refused: 1 more") < strstr(out, "refused number 12"),
	    "without a flush, the next one brings the count first");
	usleep(1100 * 1000);
	log_limit_flush();
	(void)t_logged();
}

static void
test_kinds(void)
{
	static struct log_limit	 a = LOG_LIMIT("kind a");
	static struct log_limit	 b = LOG_LIMIT("kind b");
	char			*out;

	log_set_repeat(1);
	log_limited(&a, LOG_LEVEL_INFO, "a one");
	log_limited(&a, LOG_LEVEL_INFO, "a two");
	log_limited(&b, LOG_LEVEL_INFO, "b one");
	out = t_logged();
	ok(strstr(out, "a one") != NULL && strstr(out, "b one") != NULL &&
	    strstr(out, "a two") == NULL, "each kind its own interval");
	usleep(1100 * 1000);
	log_limit_flush();
	out = t_logged();
	ok(strstr(out, "kind a: 1 more like this") != NULL &&
	    strstr(out, "kind b:") == NULL, "a count only where one was "
	    "left out");
}

static void
test_every_line(void)
{
	static struct log_limit	 l = LOG_LIMIT("all");
	int			 i;

	log_set_repeat(0);
	for (i = 0; i < 5; i++)
		log_limited(&l, LOG_LEVEL_WARN, "every %d", i);
	log_limit_flush();
	is_int(t_count(t_logged(), "every "), 5, "interval 0: every line");
}

static void
test_level(void)
{
	static struct log_limit	 l = LOG_LIMIT("quiet");
	char			*out;

	log_set_repeat(1);
	log_set_level(LOG_LEVEL_WARN);
	log_limited(&l, LOG_LEVEL_INFO, "info 1");
	log_limited(&l, LOG_LEVEL_INFO, "info 2");
	usleep(1100 * 1000);
	log_limit_flush();
	out = t_logged();
	is_str(out, "", "a level that is off writes and counts nothing");
	log_set_level(LOG_LEVEL_INFO);
}

static void *
t_thread(void *arg)
{
	int	 i;

	(void)arg;
	for (i = 0; i < T_CALLS; i++)
		log_limited(&t_threaded, LOG_LEVEL_WARN, "thread line");
	return NULL;
}

static void
test_threads(void)
{
	pthread_t	 t[T_THREADS];
	char		*out, want[128];
	int		 i;

	log_set_repeat(1);
	for (i = 0; i < T_THREADS; i++)
		pthread_create(&t[i], NULL, t_thread, NULL);
	for (i = 0; i < T_THREADS; i++)
		pthread_join(t[i], NULL);
	usleep(1100 * 1000);
	log_limit_flush();
	out = t_logged();
	is_int(t_count(out, "thread line"), 1, "threads: one line");
	snprintf(want, sizeof(want), "threaded: %d more like this",
	    T_THREADS * T_CALLS - 1);
	ok(strstr(out, want) != NULL, "threads: every other one counted");
}

static void
test_scrub(void)
{
	char	*out;

	log_warnx("peer said %s", "a\r\n2026-01-01 fake[error]: \x1b[31mx\x7f");
	out = t_logged();
	ok(strstr(out, "peer said a??2026-01-01 fake[error]: ?[31mx?\n") != NULL,
	    "control bytes in a line become '?'");
	ok(t_count(out, "\n") == 1, "one line, however the text was made");
}

int
main(void)
{
	if ((err_file = tmpfile()) == NULL ||
	    dup2(fileno(err_file), STDERR_FILENO) == -1)
		return 1;
	setvbuf(stderr, NULL, _IONBF, 0);
	log_init("t_log", 0, LOG_LEVEL_INFO);
	test_interval();
	test_kinds();
	test_every_line();
	test_level();
	test_threads();
	test_scrub();
	return tap_done();
}

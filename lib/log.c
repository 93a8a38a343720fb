/* SPDX-License-Identifier: ISC */
/*
 * log.c - the one place that writes diagnostics.  To stderr (default, with
 * an ISO timestamp) or to syslog (mail facility).  Levels filter what is
 * written; trace classes (-T) add protocol detail at debug level.
 *
 * Warnings a peer can cause at will go through a struct log_limit
 * (log_limited): one line of each kind an interval, then a count of the
 * others, so a flood of connections cannot flood the log.  No line carries
 * a control byte (each becomes '?'), whatever a peer put into its text.
 *
 * Public: log_init, log_set_level, log_set_trace, log_tracing, log_enabled,
 * log_debug, log_info, log_warn (adds strerror(errno)), log_warnx, log_errx,
 * log_trace, log_limited, log_limit_flush, log_set_repeat, log_trace_bytes
 * (peer bytes, escaped), fatal (adds strerror), fatalx.
 * fatal* exit(1).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "lib/log.h"
#include "lib/util.h"

static int	 log_to_syslog;
static int	 log_level = LOG_LEVEL_INFO;	/* atomic: a reload sets it
						   while every loop logs */
static int	 log_trace_mask;
static const char *log_ident = "postern";
static uint64_t	 log_repeat_ms = 10000;
static struct log_limit *log_pending;	/* kinds with lines left out */
static pthread_mutex_t log_limit_mtx = PTHREAD_MUTEX_INITIALIZER;

static void	 log_scrub(char *);
static void	 log_vwrite(int, const char *, const char *, va_list)
		    __attribute__((format(printf, 3, 0)));
static void	 log_say(int, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	 log_limit_due(uint64_t);

void
log_init(const char *ident, int to_syslog, int level)
{
	log_ident = ident;
	log_to_syslog = to_syslog;
	log_level = level;
	if (to_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void
log_set_level(int level)
{
	__atomic_store_n(&log_level, level, __ATOMIC_RELAXED);
}

void
log_set_trace(int mask)
{
	log_trace_mask = mask;
}

int
log_tracing(int mask)
{
	return (log_trace_mask & mask) != 0;
}

int
log_enabled(int level)
{
	return level <= __atomic_load_n(&log_level, __ATOMIC_RELAXED);
}

/* No control byte reaches a log line, whatever a caller formatted into it
 * (a peer's text could otherwise start a forged line or drive a terminal):
 * each becomes '?'. */
static void
log_scrub(char *msg)
{
	for (; *msg != '\0'; msg++)
		if ((unsigned char)*msg < 0x20 || *msg == 0x7f)
			*msg = '?';
}

static void
log_vwrite(int level, const char *suffix, const char *fmt, va_list ap)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG,
	    LOG_DEBUG };
	static const char *const name[] = { "error", "warning", "info",
	    "debug", "trace" };
	char		 msg[65536];	/* a transaction line with many
					   recipients must not be cut */
	char		 ts[32];
	struct timespec	 now;
	struct tm	 tm;

	if (!log_enabled(level) && level != LOG_LEVEL_TRACE)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_scrub(msg);
	if (log_to_syslog) {
		syslog(prio[level], "%s%s%s", msg, suffix ? ": " : "",
		    suffix ? suffix : "");
		return;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ %s[%s]: %s%s%s\n", ts,
	    now.tv_nsec / 1000000, log_ident, name[level], msg,
	    suffix ? ": " : "", suffix ? suffix : "");
}

#define LOG_BODY(level, suffix) do {			\
	va_list	 ap;					\
	va_start(ap, fmt);				\
	log_vwrite((level), (suffix), fmt, ap);		\
	va_end(ap);					\
} while (0)

static void
log_say(int level, const char *fmt, ...)
{
	LOG_BODY(level, NULL);
}

void
log_set_repeat(unsigned seconds)
{
	pthread_mutex_lock(&log_limit_mtx);
	log_repeat_ms = (uint64_t)seconds * 1000;
	pthread_mutex_unlock(&log_limit_mtx);
}

void
log_limited(struct log_limit *l, int level, const char *fmt, ...)
{
	uint64_t	 now = util_now_ms();

	if (!log_enabled(level))
		return;
	pthread_mutex_lock(&log_limit_mtx);
	if (l->start != 0 && now - l->start < log_repeat_ms) {
		if (l->n++ == 0) {
			l->level = level;
			l->next = log_pending;
			log_pending = l;
		}
	} else {
		log_limit_due(now);
		l->start = now;
		LOG_BODY(level, NULL);
	}
	pthread_mutex_unlock(&log_limit_mtx);
}

void
log_limit_flush(void)
{
	pthread_mutex_lock(&log_limit_mtx);
	log_limit_due(util_now_ms());
	pthread_mutex_unlock(&log_limit_mtx);
}

/* With the lock: the count of each kind whose interval is over; its next
 * line is written whole. */
static void
log_limit_due(uint64_t now)
{
	struct log_limit	**pp = &log_pending, *l;

	while ((l = *pp) != NULL) {
		if (now - l->start < log_repeat_ms) {
			pp = &l->next;
			continue;
		}
		log_say(l->level, "%s: %lu more like this in the last %llus",
		    l->what, l->n,
		    (unsigned long long)(now - l->start + 500) / 1000);
		l->n = 0;
		l->start = 0;
		*pp = l->next;
	}
}

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_DEBUG, NULL);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_INFO, NULL);
}

void
log_warn(const char *fmt, ...)
{
	const char	*err = strerror(errno);

	LOG_BODY(LOG_LEVEL_WARN, err);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_WARN, NULL);
}

void
log_errx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERR, NULL);
}

void
log_trace(int mask, const char *fmt, ...)
{
	if ((log_trace_mask & mask) == 0)
		return;
	LOG_BODY(LOG_LEVEL_TRACE, NULL);
}

void
log_trace_bytes(int mask, const char *sid, const char *tag,
    const void *text, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p = text;
	char			 buf[16384];
	size_t			 i, o = 0;

	if ((log_trace_mask & mask) == 0)
		return;
	/* 4 bytes at most for one, and room for "..." and the NUL */
	for (i = 0; i < len && o + 8 <= sizeof(buf); i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\') {
			buf[o++] = (char)p[i];
			continue;
		}
		buf[o++] = '\\';
		switch (p[i]) {
		case '\\':
			buf[o++] = '\\';
			break;
		case '\r':
			buf[o++] = 'r';
			break;
		case '\n':
			buf[o++] = 'n';
			break;
		case '\t':
			buf[o++] = 't';
			break;
		default:
			buf[o++] = 'x';
			buf[o++] = hex[p[i] >> 4];
			buf[o++] = hex[p[i] & 0x0f];
		}
	}
	if (i < len) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	log_trace(mask, "%s %s %s", sid, tag, buf);
}

void
fatal(const char *fmt, ...)
{
	const char	*err = strerror(errno);

	LOG_BODY(LOG_LEVEL_ERR, err);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERR, NULL);
	exit(1);
}

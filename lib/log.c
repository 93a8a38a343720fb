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
 * With log.format = json (log_set_json) every line is one JSON object and
 * nothing else: "time" (RFC 3339, UTC, milliseconds), "level", and "msg"
 * for a line of text (escaped by lib/json.c, so nothing a peer sends can
 * break it), or the members a caller built (log_object: the transaction
 * line).  On syslog the object is the message.
 *
 * Public: log_init, log_set_level, log_set_trace, log_tracing, log_enabled,
 * log_debug, log_info, log_warn (adds strerror(errno)), log_warnx, log_errx,
 * log_trace, log_limited, log_limit_flush, log_set_repeat, log_trace_bytes
 * (peer bytes, escaped), log_set_json, log_object, fatal (adds strerror),
 * fatalx.
 * fatal* exit(1).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"

static int	 log_to_syslog;
static int	 log_level = LOG_LEVEL_INFO;	/* atomic: a reload sets it
						   while every loop logs */
static int	 log_trace_mask;
static int	 log_json;		/* atomic: one JSON object a line */
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
static void	 log_emit(int, const char *, size_t);

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
log_set_json(int on)
{
	__atomic_store_n(&log_json, on, __ATOMIC_RELAXED);
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
	char		 msg[65536];	/* a transaction line with many
					   recipients must not be cut */
	struct util_buf	 m = { NULL, 0, 0 };
	size_t		 len;

	if (!log_enabled(level) && level != LOG_LEVEL_TRACE)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (suffix != NULL) {
		len = strlen(msg);
		snprintf(msg + len, sizeof(msg) - len, ": %s", suffix);
	}
	if (__atomic_load_n(&log_json, __ATOMIC_RELAXED)) {
		json_member(&m, "msg", 1);
		json_string(&m, msg, strlen(msg));
		log_emit(level, (const char *)m.p, m.len);
		util_buf_free(&m);
		return;
	}
	log_scrub(msg);
	log_emit(level, msg, strlen(msg));
}

void
log_object(int level, const char *members, size_t len)
{
	if (log_enabled(level))
		log_emit(level, members, len);
}

/* One line: text, or in JSON mode an object's members after "time" and
 * "level"; to syslog, or to stderr with a timestamp. */
static void
log_emit(int level, const char *text, size_t len)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG,
	    LOG_DEBUG };
	static const char *const name[] = { "error", "warning", "info",
	    "debug", "trace" };
	struct util_buf	 line = { NULL, 0, 0 };
	char		 ts[64];
	struct timespec	 now;
	struct tm	 tm;
	int		 json = __atomic_load_n(&log_json, __ATOMIC_RELAXED);

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + strlen(ts), sizeof(ts) - strlen(ts), ".%03ldZ",
	    now.tv_nsec / 1000000);
	if (json) {
		util_buf_puts(&line, "{\"time\":\"");
		util_buf_puts(&line, ts);
		util_buf_puts(&line, "\",\"level\":\"");
		util_buf_puts(&line, name[level]);
		util_buf_puts(&line, "\"");
		if (len > 0)
			util_buf_puts(&line, ",");
		util_buf_add(&line, text, len);
		util_buf_puts(&line, "}");
	} else if (!log_to_syslog) {
		util_buf_puts(&line, ts);
		util_buf_puts(&line, " ");
		util_buf_puts(&line, log_ident);
		util_buf_puts(&line, "[");
		util_buf_puts(&line, name[level]);
		util_buf_puts(&line, "]: ");
		util_buf_add(&line, text, len);
	} else
		util_buf_add(&line, text, len);
	if (log_to_syslog)
		syslog(prio[level], "%.*s", (int)line.len, (char *)line.p);
	else {
		util_buf_add(&line, "\n", 1);
		fwrite(line.p, 1, line.len, stderr);
	}
	util_buf_free(&line);
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

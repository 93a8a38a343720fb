/* SPDX-License-Identifier: ISC */
/*
 * log.h - diagnostics to stderr or syslog.  log_warn appends strerror(errno);
 * fatal/fatalx are for start-up, configuration and broken invariants only:
 * nothing a peer sends may reach them.
 */
#ifndef POSTERN_LOG_H
#define POSTERN_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

enum log_level {
	LOG_LEVEL_ERR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_TRACE,	/* -T output: shown whatever the level */
};

#define TRACE_SMTP	0x01	/* every command and reply, both sides */
#define TRACE_IO	0x02	/* connects, closes, buffer sizes */
#define TRACE_FILTER	0x04	/* filter verdicts */

void	log_init(const char *ident, int to_syslog, int level);
void	log_set_level(int level);
void	log_set_trace(int mask);
/* log_set_json - every line one JSON object (log.format = json). */
void	log_set_json(int on);
/* log_object - in JSON mode, one line that is the object with "time",
 * "level" and members (JSON members, without braces or a leading comma,
 * as lib/json.h writes them). */
void	log_object(int level, const char *members, size_t len);
int	log_tracing(int mask);
/* log_enabled - whether a message at level would be written. */
int	log_enabled(int level);

/*
 * A kind of warning that peers can cause as often as they like (a refused
 * connection, a bad PROXY header, a failed TLS handshake, an accept error):
 * log_limited writes the first of each interval (log_set_repeat) and counts
 * the others, which are then told in one line, "WHAT: N more like this in
 * the last Ts", once the interval is over: at the next one, or at
 * log_limit_flush.  Thread-safe.  One static struct per kind, set up with
 * LOG_LIMIT("what").
 */
struct log_limit {
	const char		*what;		/* the summary's subject */
	uint64_t		 start;		/* ms, the interval's; 0 none */
	unsigned long		 n;		/* left out since start */
	int			 level;		/* theirs */
	struct log_limit	*next;		/* pending list (n > 0) */
};
#define LOG_LIMIT(what)	{ (what), 0, 0, 0, NULL }

void	log_limited(struct log_limit *, int level, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
/* log_limit_flush - the summaries of intervals that are over (call it
 * every second or so). */
void	log_limit_flush(void);
/* log_set_repeat - the interval, in seconds; 0 writes every line. */
void	log_set_repeat(unsigned seconds);

void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
/* log_errx - at error level: what keeps postern from starting. */
void	log_errx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_trace(int, const char *, ...) __attribute__((format(printf, 2, 3)));
/*
 * log_trace_bytes - "sid tag text" behind the trace class mask, text being
 * len bytes from a peer (NULs included), escaped so that it can neither
 * forge a log line nor drive the terminal that shows it: \r \n \t \\ and
 * \xNN for every other byte below 0x20, 0x7f and above.  Escaped text is
 * cut at 16 KiB with "...".
 */
void	log_trace_bytes(int, const char *sid, const char *tag, const void *,
	    size_t);
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif

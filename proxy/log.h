/*
 * log.h - diagnostics to stderr or syslog.  log_warn appends strerror(errno);
 * fatal/fatalx are for start-up, configuration and broken invariants only:
 * nothing a peer sends may reach them.
 */
#ifndef POSTERN_LOG_H
#define POSTERN_LOG_H

#include <stdarg.h>

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
int	log_tracing(int mask);
/* log_enabled - whether a message at level would be written. */
int	log_enabled(int level);

void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
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

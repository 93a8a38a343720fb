/* SPDX-License-Identifier: ISC */
/*
 * util.h - allocation that never returns NULL, and the string helpers glibc
 * lacks (strlcpy/strlcat).  Allocation failure is fatal: postern cannot do
 * anything useful without memory, and every caller would only log and die.
 */
#ifndef POSTERN_UTIL_H
#define POSTERN_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);

size_t	 strlcpy(char *, const char *, size_t);
size_t	 strlcat(char *, const char *, size_t);

/*
 * util_err_append - add one error message to err (size errsz): after a
 * newline when err already holds one, so a checker can report every error;
 * truncated safely.  err must start as "".
 */
void	util_err_append(char *err, size_t errsz, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* util_read_file - the whole file at path ("-" = standard input),
 * NUL-terminated, its length in *lenp; NULL with errno. */
char	*util_read_file(const char *path, size_t *lenp);

/* util_closest - the word of words[0..n) nearest to w (edit distance at
 * most 2, and less than half its length), for "did you mean"; NULL when
 * none is that near. */
const char *util_closest(const char *w, const char *const *words, size_t n);

/* A growable byte buffer: util_buf_add appends (doubling as needed), the
 * bytes are p[0..len); zeroed = empty.  util_buf_free empties it. */
struct util_buf {
	unsigned char	*p;
	size_t		 len, cap;
};

void	util_buf_add(struct util_buf *, const void *, size_t);
/* util_buf_puts - append a string (without its NUL). */
void	util_buf_puts(struct util_buf *, const char *);
void	util_buf_free(struct util_buf *);

/* Monotonic clock in milliseconds, for elapsed times in logs. */
uint64_t util_now_ms(void);
/* The same clock in seconds, for latency histograms. */
double	util_now_s(void);

#endif

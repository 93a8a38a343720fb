/* SPDX-License-Identifier: ISC */
/*
 * util.c - allocation wrappers that abort on failure, strlcpy/strlcat for
 * glibc (which gained them only in 2.38), reading a whole file, and a
 * monotonic clock.
 *
 * DIAGNOSTICS
 *	Out of memory is fatal (fatalx), never returned.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "lib/util.h"

void *
xmalloc(size_t n)
{
	void	*p;

	if ((p = malloc(n == 0 ? 1 : n)) == NULL)
		fatalx("out of memory (%zu bytes)", n);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void	*p;

	if ((p = calloc(nmemb == 0 ? 1 : nmemb, size == 0 ? 1 : size)) == NULL)
		fatalx("out of memory (%zu x %zu bytes)", nmemb, size);
	return p;
}

void *
xrealloc(void *old, size_t n)
{
	void	*p;

	if ((p = realloc(old, n == 0 ? 1 : n)) == NULL)
		fatalx("out of memory (%zu bytes)", n);
	return p;
}

static size_t	util_distance(const char *, const char *);

/* Levenshtein distance of a and b (each cut at 63 bytes). */
static size_t
util_distance(const char *a, const char *b)
{
	size_t	 row[64], la = strnlen(a, 63), lb = strnlen(b, 63), i, j;
	size_t	 diag, up;

	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		diag = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			up = row[j];
			row[j] = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < row[j])
				row[j] = up + 1;
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			diag = up;
		}
	}
	return row[lb];
}

const char *
util_closest(const char *w, const char *const *words, size_t n)
{
	const char	*best = NULL;
	size_t		 i, d, bestd = 3;

	for (i = 0; i < n; i++)
		if ((d = util_distance(w, words[i])) < bestd &&
		    d * 2 < strlen(words[i])) {
			bestd = d;
			best = words[i];
		}
	return best;
}

void
util_buf_add(struct util_buf *b, const void *data, size_t len)
{
	if (len == 0)
		return;
	if (len > b->cap - b->len) {
		if (len > SIZE_MAX / 2 - b->len)
			fatalx("buffer too large");
		b->cap = b->cap * 2 > b->len + len ? b->cap * 2 :
		    b->len + len;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

void
util_buf_puts(struct util_buf *b, const char *s)
{
	util_buf_add(b, s, strlen(s));
}

void
util_buf_free(struct util_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char	*p;

	p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

size_t
strlcpy(char *dst, const char *src, size_t dsize)
{
	size_t	 len = strlen(src);

	if (dsize > 0) {
		size_t	 n = len < dsize - 1 ? len : dsize - 1;

		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

size_t
strlcat(char *dst, const char *src, size_t dsize)
{
	size_t	 dlen = strnlen(dst, dsize);

	if (dlen == dsize)
		return dlen + strlen(src);
	return dlen + strlcpy(dst + dlen, src, dsize - dlen);
}

void
util_err_append(char *err, size_t errsz, const char *fmt, ...)
{
	size_t	 len;
	va_list	 ap;

	if (err == NULL || errsz == 0)
		return;
	len = strnlen(err, errsz);
	if (len >= errsz - 1)
		return;
	if (len > 0)
		err[len++] = '\n';
	va_start(ap, fmt);
	vsnprintf(err + len, errsz - len, fmt, ap);
	va_end(ap);
}

char *
util_read_file(const char *path, size_t *lenp)
{
	FILE	*fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char	*buf = NULL;
	size_t	 len = 0, cap = 0, n;
	int	 saved;

	if (fp == NULL)
		return NULL;
	do {
		if (cap - len < 4096)
			buf = xrealloc(buf, cap = cap == 0 ? 65536 : cap * 2);
		n = fread(buf + len, 1, cap - len - 1, fp);
		len += n;
	} while (n > 0);
	saved = ferror(fp) ? (errno != 0 ? errno : EIO) : 0;
	if (fp != stdin)
		fclose(fp);
	if (saved != 0) {
		free(buf);
		errno = saved;
		return NULL;
	}
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

uint64_t
util_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

double
util_now_s(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* SPDX-License-Identifier: ISC */
/*
 * tap.h - a tiny TAP producer for the C unit tests: ok(), is_int(),
 * is_str(), is_mem(), tap_random() for reproducible random inputs, and
 * tap_done() which prints the plan and a "N passed, N failed" line and
 * returns the exit status.
 */
#ifndef POSTERN_TAP_H
#define POSTERN_TAP_H

#include <stdio.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

static int tap_n, tap_failed;

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

static inline int __attribute__((format(printf, 4, 5)))
tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
	va_list	 ap;

	tap_n++;
	printf("%s %d - ", pass ? "ok" : "not ok", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!pass) {
		tap_failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
	return pass;
}

#define is_int(got, want, ...) do {					\
	long long _g = (long long)(got), _w = (long long)(want);	\
	if (!ok(_g == _w, __VA_ARGS__))					\
		printf("#   got %lld, want %lld\n", _g, _w);		\
} while (0)

#define is_str(got, want, ...) do {					\
	const char *_g = (got), *_w = (want);				\
	if (!ok(_g != NULL && _w != NULL && strcmp(_g, _w) == 0,	\
	    __VA_ARGS__))						\
		printf("#   got \"%s\", want \"%s\"\n",		\
		    _g ? _g : "(null)", _w ? _w : "(null)");		\
} while (0)

#define is_mem(got, glen, want, wlen, ...) do {				\
	size_t _gl = (glen), _wl = (wlen);				\
	if (!ok(_gl == _wl && memcmp((got), (want), _gl) == 0,		\
	    __VA_ARGS__))						\
		printf("#   got %zu bytes \"%.*s\", want %zu bytes "	\
		    "\"%.*s\"\n", _gl, (int)_gl, (const char *)(got),	\
		    _wl, (int)_wl, (const char *)(want));		\
} while (0)

/* xorshift32: the same pseudo-random inputs on every run and platform. */
static inline uint32_t
tap_random(uint32_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	return *state;
}

static inline int
tap_done(void)
{
	printf("1..%d\n", tap_n);
	printf("%d passed, %d failed\n", tap_n - tap_failed, tap_failed);
	return tap_failed == 0 ? 0 : 1;
}

#endif

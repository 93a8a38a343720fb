/* SPDX-License-Identifier: ISC */
/*
 * metrics_http.h - the metrics endpoint ([metrics] listen) and what the
 * front ends count at start and reload.
 */
#ifndef POSTERN_METRICS_HTTP_H
#define POSTERN_METRICS_HTTP_H

#include <stddef.h>

struct conf;
struct event_base;
struct metrics_http;

/* metrics_http_open - listen on conf's metrics.listen; NULL with err
 * empty when it is not set, NULL with err set when it cannot listen. */
struct metrics_http *metrics_http_open(struct event_base *,
		    const struct conf *, char *err, size_t errsz);
void		metrics_http_close(struct metrics_http *);
/* metrics_started - postern_build_info and the first generation. */
void		metrics_started(void);
/* metrics_reloaded - a reload from old to conf counted (conf NULL: it
 * was refused), and a metrics.listen change told. */
void		metrics_reloaded(const struct conf *old, const struct conf *conf);

#endif

/* SPDX-License-Identifier: ISC */
/*
 * stats.h - postern stats: the summary of a running postern, asked for on
 * its metrics endpoint.
 */
#ifndef POSTERN_STATS_H
#define POSTERN_STATS_H

struct conf;

/* stats_run - GET /stats from conf's metrics.listen, printed on stdout;
 * 0, or 1 with why on stderr. */
int	stats_run(const struct conf *);

#endif

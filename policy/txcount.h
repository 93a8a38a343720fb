/* SPDX-License-Identifier: ISC */
/*
 * txcount.h - a finished transaction in the metrics (lib/metrics.h),
 * beside its log line (txlog.h), for every front end.
 */
#ifndef POSTERN_TXCOUNT_H
#define POSTERN_TXCOUNT_H

#include <stdint.h>

/*
 * txcount - action as the log line has it (relayed, accepted, rejected,
 * tempfailed, discarded, aborted, failed, "... by backend"), the stage
 * that decided (chain_stage_name, or "backend"), what refused it (a
 * filter's name or "backend"; NULL: postern itself; unused unless
 * refused) and how long it took.
 */
void	txcount(const char *action, const char *stage, const char *by,
	    uint64_t ms);
/* txcount_connect_refused - a connection the filters at connect refused,
 * by filter name (NULL: postern itself). */
void	txcount_connect_refused(const char *by);

#endif

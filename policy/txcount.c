/* SPDX-License-Identifier: ISC */
/*
 * txcount.c - a finished transaction in the metrics: the final action
 * folded into the five of postern_transactions_total (relayed, rejected,
 * tempfailed, discarded, aborted) with the stage that decided, a refusal
 * under what refused it (postern_refusals_total), and its duration.
 *
 * Public: txcount, txcount_connect_refused.
 */
#include <stdint.h>
#include <string.h>

#include "lib/metrics.h"
#include "policy/txcount.h"

void
txcount(const char *action, const char *stage, const char *by, uint64_t ms)
{
	const char	*a;

	if (strcmp(action, "relayed") == 0 || strcmp(action, "accepted") == 0)
		a = "relayed";
	else if (strncmp(action, "rejected", 8) == 0)
		a = "rejected";
	else if (strcmp(action, "tempfailed") == 0 ||
	    strcmp(action, "failed") == 0 ||
	    strcmp(action, "deferred by backend") == 0)
		a = "tempfailed";
	else if (strcmp(action, "discarded") == 0)
		a = "discarded";
	else
		a = "aborted";
	metric_add(M_TRANSACTIONS, 1, a, stage);
	if (strcmp(a, "rejected") == 0 || strcmp(a, "tempfailed") == 0)
		metric_add(M_REFUSALS, 1, by != NULL ? by : "postern");
	metric_observe(M_TRANSACTION_SECONDS, (double)ms / 1000);
}

void
txcount_connect_refused(const char *by)
{
	if (by == NULL)
		by = "postern";
	metric_add(M_CONNECTIONS_REFUSED, 1, by);
	metric_add(M_REFUSALS, 1, by);
}

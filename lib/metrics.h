/* SPDX-License-Identifier: ISC */
/*
 * metrics.h - the counters, gauges and histograms postern keeps about
 * itself, and their Prometheus text form.  Every family postern has is
 * named here, once; series are made by label values on first use, at
 * most METRIC_SERIES_MAX a family (the rest are counted under the label
 * values "other").  Thread-safe: the loop, the worker pool and libmilter's
 * threads all count.
 */
#ifndef POSTERN_METRICS_H
#define POSTERN_METRICS_H

#include <stddef.h>

#define METRIC_SERIES_MAX	512	/* label value sets a family */
#define METRIC_LABELS_MAX	2

enum metric_id {
	M_BUILD_INFO,			/* gauge {version} */
	M_CONFIG_GENERATION,		/* gauge */
	M_CONFIG_RELOADS,		/* counter {result} */
	M_CONFIG_LAST_RELOAD,		/* gauge, unix seconds */
	M_CONNECTIONS,			/* gauge: open now */
	M_CONNECTIONS_TOTAL,		/* counter: accepted */
	M_CONNECTIONS_REFUSED,		/* counter {reason} */
	M_LOOP_CONNECTIONS,		/* counter {loop} */
	M_TLS_SESSIONS,			/* counter {version} */
	M_AUTH,				/* counter {result} */
	M_TRANSACTIONS,			/* counter {action, stage} */
	M_REFUSALS,			/* counter {reason} */
	M_FILTER_VERDICTS,		/* counter {filter, result} */
	M_REGEX_RULE_HITS,		/* counter {rule} */
	M_IPLIST_HITS,			/* counter {list} */
	M_RATELIMIT,			/* counter {limit, result} */
	M_GREYLIST,			/* counter {result} */
	M_STORE_ERRORS,			/* counter {reason} */
	M_TRANSACTION_SECONDS,		/* histogram */
	M_FILTER_SECONDS,		/* histogram {filter, stage} */
	M_BACKEND_EOM_SECONDS,		/* histogram */
	M_DNS_LOOKUP_SECONDS,		/* histogram */
	M_DNS_LOOKUPS,			/* counter {result} */
	M_CACHE_LOOKUPS,		/* counter {cache, result} */
	M_WORKERS_BUSY,			/* gauge */
	M_WORKER_QUEUE,			/* gauge */
	M_WORKER_REFUSED,		/* counter: pool full */
	M_SPOOL_BYTES,			/* gauge {where} */
	M_BACKEND_CONNECT_FAILURES,	/* counter {backend} */
	M_NFAMILIES
};

/*
 * Label values follow the value, as many as the family has labels
 * (metrics.c's table).  A counter only grows; a gauge takes metric_add
 * (either sign) and metric_set.
 */
void	metric_add(enum metric_id, double, ...);
void	metric_set(enum metric_id, double, ...);
/* metric_observe - one observation (seconds) into a histogram. */
void	metric_observe(enum metric_id, double, ...);
/* metric_value - a counter's or gauge's value now (0 when no series). */
double	metric_value(enum metric_id, ...);
/* metric_label_sum - the sum of a family's series whose label i is
 * value, or of all when value is NULL. */
double	metric_label_sum(enum metric_id, size_t i, const char *value);

/*
 * metric_each - fn for every series of a counter or gauge family: its
 * label values (NUL-separated, one a label) and value.  Under the
 * family's lock: fn must not count.
 */
typedef void	(*metric_each_fn)(void *, const char *const *labels,
		    double value);
void	metric_each(enum metric_id, metric_each_fn, void *);

/* metric_render - every family in the Prometheus text format (0.0.4),
 * malloc'd, its length in *len. */
char	*metric_render(size_t *len);

/* metric_word - the first word of text (letters, digits, "_-.:"),
 * lower case, at most size - 1 bytes: a bounded label value from a free
 * text such as a filter's result. */
void	metric_word(const char *text, char *word, size_t size);

#endif

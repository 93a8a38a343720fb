/* SPDX-License-Identifier: ISC */
/*
 * t_metrics.c - lib/metrics.c: counters by label values, gauges both
 * ways, histogram buckets cumulative with +Inf, _sum and _count, label
 * values escaped in the text format, the series cap folding the rest into
 * "other", sums over a label, metric_word, and counts from several
 * threads at once adding up.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/metrics.h"
#include "tap.h"

#define T_THREADS	4
#define T_PER_THREAD	10000

static void *
t_count(void *arg)
{
	int	 i;

	(void)arg;
	for (i = 0; i < T_PER_THREAD; i++)
		metric_add(M_DNS_LOOKUPS, 1, "answer");
	return NULL;
}

static int
has(const char *text, const char *line)
{
	char	 want[512];

	snprintf(want, sizeof(want), "\n%s\n", line);
	return strstr(text, want) != NULL;
}

int
main(void)
{
	pthread_t	 t[T_THREADS];
	char		 name[32], word[16], *text;
	size_t		 len;
	int		 i;

	metric_add(M_TRANSACTIONS, 1, "relayed", "eom");
	metric_add(M_TRANSACTIONS, 2, "relayed", "eom");
	metric_add(M_TRANSACTIONS, 1, "rejected", "mail");
	is_int(metric_value(M_TRANSACTIONS, "relayed", "eom"), 3,
	    "a counter by its label values");
	is_int(metric_label_sum(M_TRANSACTIONS, 0, "rejected"), 1,
	    "the sum over one label");
	is_int(metric_label_sum(M_TRANSACTIONS, 0, NULL), 4, "the family's");
	metric_add(M_CONNECTIONS, 5);
	metric_add(M_CONNECTIONS, -2);
	is_int(metric_value(M_CONNECTIONS), 3, "a gauge goes down");
	metric_set(M_CONFIG_GENERATION, 7);
	is_int(metric_value(M_CONFIG_GENERATION), 7, "a gauge set");

	metric_observe(M_BACKEND_EOM_SECONDS, 0.0001);
	metric_observe(M_BACKEND_EOM_SECONDS, 0.003);
	metric_observe(M_BACKEND_EOM_SECONDS, 100);
	metric_add(M_REGEX_RULE_HITS, 1, "A \"quoted\"\\rule\nname");

	for (i = 0; i < T_THREADS; i++)
		pthread_create(&t[i], NULL, t_count, NULL);
	for (i = 0; i < T_THREADS; i++)
		pthread_join(t[i], NULL);
	is_int(metric_value(M_DNS_LOOKUPS, "answer"), T_THREADS * T_PER_THREAD,
	    "counts from %d threads add up", T_THREADS);

	for (i = 0; i < METRIC_SERIES_MAX + 10; i++) {
		snprintf(name, sizeof(name), "backend%d", i);
		metric_add(M_BACKEND_CONNECT_FAILURES, 1, name);
	}
	is_int(metric_value(M_BACKEND_CONNECT_FAILURES, "other"), 10,
	    "past the cap, series fold into \"other\"");
	is_int(metric_label_sum(M_BACKEND_CONNECT_FAILURES, 0, NULL),
	    METRIC_SERIES_MAX + 10, "nothing lost to the cap");

	text = metric_render(&len);
	ok(len == strlen(text), "the length");
	ok(has(text, "# TYPE postern_transactions_total counter"), "TYPE");
	ok(has(text, "postern_transactions_total{action=\"relayed\","
	    "stage=\"eom\"} 3"), "a labelled sample");
	ok(has(text, "postern_connections 3"), "an unlabelled one");
	ok(has(text, "postern_auth_total 0") == 0, "a labelled family with "
	    "no series has no sample");
	ok(has(text, "postern_worker_queue_full_total 0"), "an unlabelled "
	    "counter shows 0 before its first count");
	ok(has(text, "postern_backend_eom_duration_seconds_bucket"
	    "{le=\"0.0005\"} 1"), "first bucket");
	ok(has(text, "postern_backend_eom_duration_seconds_bucket"
	    "{le=\"0.005\"} 2"), "buckets are cumulative");
	ok(has(text, "postern_backend_eom_duration_seconds_bucket"
	    "{le=\"30\"} 2"), "the last bound");
	ok(has(text, "postern_backend_eom_duration_seconds_bucket"
	    "{le=\"+Inf\"} 3"), "+Inf holds every one");
	ok(has(text, "postern_backend_eom_duration_seconds_count 3"),
	    "_count");
	ok(has(text, "postern_backend_eom_duration_seconds_sum 100.003"),
	    "_sum");
	ok(has(text, "postern_regex_rule_hits_total{rule=\"A \\\"quoted\\\""
	    "\\\\rule\\nname\"} 1"), "a label value escaped");
	free(text);

	metric_word("pass(d=example.com)", word, sizeof(word));
	is_str(word, "pass", "metric_word stops at '('");
	metric_word("Sender-Deny x", word, sizeof(word));
	is_str(word, "sender-deny", "lower case, stops at a blank");
	metric_word("abcdefghijklmnopqrstuvwxyz", word, sizeof(word));
	is_str(word, "abcdefghijklmno", "cut to the buffer");
	return tap_done();
}

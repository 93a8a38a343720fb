/* SPDX-License-Identifier: ISC */
/*
 * metrics.c - the metric families (the one table of names, help texts
 * and labels), their series, and the Prometheus text exposition format.
 *
 * A family is a mutex and a hash of series keyed by label values; a
 * series is found or made on each count (an uncontended lock and a short
 * hash walk: well under a microsecond).  Counts are doubles: exact to
 * 2^53.
 *
 * Public: metric_add, metric_set, metric_observe, metric_value,
 * metric_label_sum, metric_each, metric_render, metric_word.
 */
#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/util.h"

#define METRIC_HASH	64
#define METRIC_BUCKETS	15
#define METRIC_VALUE_MAX 128	/* bytes of one label value */
#define METRIC_KEY_MAX	(METRIC_LABELS_MAX * METRIC_VALUE_MAX + 1)

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };
enum metric_op { METRIC_OP_ADD, METRIC_OP_SET, METRIC_OP_OBSERVE };

struct metric_series {
	struct metric_series	*next;
	const char		*labels[METRIC_LABELS_MAX];	/* into key */
	double			 value;		/* counter, gauge; histogram:
						   the sum */
	uint64_t		 count;		/* histogram */
	uint64_t		 buckets[METRIC_BUCKETS];
	size_t			 keylen;
	char			 key[];		/* the values, NUL after each */
};

struct metric_family {
	const char		*name;
	const char		*help;
	enum metric_type	 type;
	const char		*label[METRIC_LABELS_MAX];
	pthread_mutex_t		 lock;
	struct metric_series	*hash[METRIC_HASH];
	size_t			 nseries;
};

/* Seconds: from a cached DNS answer to a slow backend. */
static const double metric_bounds[METRIC_BUCKETS] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
	1, 2.5, 5, 10, 30
};

#define FAM(id, name, type, help, ...) [id] = { name, help, type, \
	{ __VA_ARGS__ }, PTHREAD_MUTEX_INITIALIZER, { NULL }, 0 }

static struct metric_family metric_families[M_NFAMILIES] = {
	FAM(M_BUILD_INFO, "postern_build_info", METRIC_GAUGE,
	    "The running postern's version (always 1).", "version"),
	FAM(M_CONFIG_GENERATION, "postern_config_generation", METRIC_GAUGE,
	    "Configurations loaded since start (1: the first).", NULL),
	FAM(M_CONFIG_RELOADS, "postern_config_reloads_total", METRIC_COUNTER,
	    "Reloads by result (success: in force; failure: refused, the "
	    "running configuration kept).", "result"),
	FAM(M_CONFIG_LAST_RELOAD,
	    "postern_config_last_reload_success_timestamp_seconds",
	    METRIC_GAUGE, "When the configuration in force was loaded.",
	    NULL),
	FAM(M_CONNECTIONS, "postern_connections", METRIC_GAUGE,
	    "Client connections open now.", NULL),
	FAM(M_CONNECTIONS_TOTAL, "postern_connections_total", METRIC_COUNTER,
	    "Client connections accepted.", NULL),
	FAM(M_CONNECTIONS_REFUSED, "postern_connections_refused_total",
	    METRIC_COUNTER, "Client connections refused before a session: "
	    "by the limits, or by the filters at connect.", "reason"),
	FAM(M_LOOP_CONNECTIONS, "postern_loop_connections_total",
	    METRIC_COUNTER, "Client connections admitted, by the event loop "
	    "(proxy.threads) that serves them.", "loop"),
	FAM(M_TLS_SESSIONS, "postern_tls_sessions_total", METRIC_COUNTER,
	    "Client TLS handshakes completed, by protocol version.",
	    "version"),
	FAM(M_AUTH, "postern_auth_total", METRIC_COUNTER,
	    "AUTH exchanges ended, by result.", "result"),
	FAM(M_TRANSACTIONS, "postern_transactions_total", METRIC_COUNTER,
	    "Transactions (MAIL to the end) by final action and the stage "
	    "that decided it.", "action", "stage"),
	FAM(M_REFUSALS, "postern_refusals_total", METRIC_COUNTER,
	    "Refused transactions and connections by what refused them: a "
	    "filter, a limit, or the backend.", "reason"),
	FAM(M_FILTER_VERDICTS, "postern_filter_results_total",
	    METRIC_COUNTER, "Results the filters recorded, by filter and "
	    "result.", "filter", "result"),
	FAM(M_REGEX_RULE_HITS, "postern_regex_rule_hits_total",
	    METRIC_COUNTER, "Regex rules that matched, by rule name.",
	    "rule"),
	FAM(M_IPLIST_HITS, "postern_iplist_hits_total", METRIC_COUNTER,
	    "Client addresses found on an iplist list, by list.", "list"),
	FAM(M_RATELIMIT, "postern_ratelimit_checks_total", METRIC_COUNTER,
	    "Rate limit checks, by key and result (under, over, failed).",
	    "limit", "result"),
	FAM(M_GREYLIST, "postern_greylist_total", METRIC_COUNTER,
	    "Greylist decisions, by result (greylisted, passed, skipped, "
	    "auto_allowed, failed).", "result"),
	FAM(M_STORE_ERRORS, "postern_store_errors_total", METRIC_COUNTER,
	    "Operations of ratelimit's and greylist's store without an "
	    "answer (down, timeout, error, bad reply, full), by reason.",
	    "reason"),
	FAM(M_TRANSACTION_SECONDS, "postern_transaction_duration_seconds",
	    METRIC_HISTOGRAM, "Transactions, from MAIL to the final reply.",
	    NULL),
	FAM(M_FILTER_SECONDS, "postern_filter_duration_seconds",
	    METRIC_HISTOGRAM, "Each filter's time at each stage, its "
	    "deferred work included.", "filter", "stage"),
	FAM(M_BACKEND_EOM_SECONDS, "postern_backend_eom_duration_seconds",
	    METRIC_HISTOGRAM, "From the message sent to the backend to its "
	    "reply to the end of data.", NULL),
	FAM(M_DNS_LOOKUP_SECONDS, "postern_dns_lookup_duration_seconds",
	    METRIC_HISTOGRAM, "DNS lookups through the shared resolver.",
	    NULL),
	FAM(M_DNS_LOOKUPS, "postern_dns_lookups_total", METRIC_COUNTER,
	    "DNS lookups by result (answer, nxdomain, nodata, timeout, "
	    "error).", "result"),
	FAM(M_CACHE_LOOKUPS, "postern_cache_lookups_total", METRIC_COUNTER,
	    "Lookups in postern's own caches of DNS results, by cache and "
	    "hit or miss.", "cache", "result"),
	FAM(M_WORKERS_BUSY, "postern_workers_busy", METRIC_GAUGE,
	    "Worker threads running a job now.", NULL),
	FAM(M_WORKER_QUEUE, "postern_worker_queue_depth", METRIC_GAUGE,
	    "Jobs waiting for a worker thread.", NULL),
	FAM(M_WORKER_REFUSED, "postern_worker_queue_full_total",
	    METRIC_COUNTER, "Jobs refused because the worker queue was full.",
	    NULL),
	FAM(M_SPOOL_BYTES, "postern_spool_bytes", METRIC_GAUGE,
	    "Message bytes held now, in memory and in spool files.", "where"),
	FAM(M_BACKEND_CONNECT_FAILURES,
	    "postern_backend_connect_failures_total", METRIC_COUNTER,
	    "Backend connections that failed, by backend.", "backend"),
};

static size_t	metric_nlabels(const struct metric_family *);
static struct metric_series *metric_series(struct metric_family *,
		    va_list);
static struct metric_series *metric_find(struct metric_family *,
		    const char *, size_t, unsigned);
static unsigned	metric_hash(const char *, size_t);
static size_t	metric_key(const struct metric_family *, va_list, char *);
static void	metric_update(enum metric_id, enum metric_op, double, va_list);
static void	metric_render_family(struct metric_family *, FILE *);
static void	metric_render_labels(FILE *, const struct metric_family *,
		    const struct metric_series *, const char *le);
static void	metric_render_value(FILE *, double);

static size_t
metric_nlabels(const struct metric_family *f)
{
	size_t	 n = 0;

	while (n < METRIC_LABELS_MAX && f->label[n] != NULL)
		n++;
	return n;
}

static unsigned
metric_hash(const char *key, size_t len)
{
	unsigned	 h = 2166136261u;	/* FNV-1a */
	size_t		 i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)key[i]) * 16777619u;
	return h % METRIC_HASH;
}

static struct metric_series *
metric_find(struct metric_family *f, const char *key, size_t len,
    unsigned h)
{
	struct metric_series	*s;

	for (s = f->hash[h]; s != NULL; s = s->next)
		if (s->keylen == len && memcmp(s->key, key, len) == 0)
			return s;
	return NULL;
}

/* The label values in ap as a series key (each cut to METRIC_VALUE_MAX - 1
 * bytes, NUL after each; one NUL for none); its length. */
static size_t
metric_key(const struct metric_family *f, va_list ap, char *key)
{
	size_t		 n = metric_nlabels(f), len = 0, i, l;
	const char	*v;

	for (i = 0; i < n; i++) {
		if ((v = va_arg(ap, const char *)) == NULL)
			v = "";
		l = strnlen(v, METRIC_VALUE_MAX - 1);
		memcpy(key + len, v, l);
		len += l;
		key[len++] = '\0';
	}
	if (len == 0)
		key[len++] = '\0';
	return len;
}

/* The series of the label values in ap, made if new; f is locked. */
static struct metric_series *
metric_series(struct metric_family *f, va_list ap)
{
	char			 key[METRIC_KEY_MAX];
	struct metric_series	*s;
	size_t			 n = metric_nlabels(f), len, i, l;
	unsigned		 h;

	len = metric_key(f, ap, key);
	h = metric_hash(key, len);
	if ((s = metric_find(f, key, len, h)) != NULL)
		return s;
	if (f->nseries >= METRIC_SERIES_MAX) {
		/* the cap: every label "other" */
		for (len = 0, i = 0; i < n; i++) {
			memcpy(key + len, "other", 6);
			len += 6;
		}
		h = metric_hash(key, len);
		if ((s = metric_find(f, key, len, h)) != NULL)
			return s;
	}
	s = xcalloc(1, sizeof(*s) + len);
	memcpy(s->key, key, len);
	s->keylen = len;
	for (l = 0, i = 0; i < n; i++) {
		s->labels[i] = s->key + l;
		l += strlen(s->key + l) + 1;
	}
	s->next = f->hash[h];
	f->hash[h] = s;
	f->nseries++;
	return s;
}

void
metric_add(enum metric_id id, double v, ...)
{
	va_list	 ap;

	va_start(ap, v);
	metric_update(id, METRIC_OP_ADD, v, ap);
	va_end(ap);
}

void
metric_set(enum metric_id id, double v, ...)
{
	va_list	 ap;

	va_start(ap, v);
	metric_update(id, METRIC_OP_SET, v, ap);
	va_end(ap);
}

void
metric_observe(enum metric_id id, double v, ...)
{
	va_list	 ap;

	va_start(ap, v);
	metric_update(id, METRIC_OP_OBSERVE, v, ap);
	va_end(ap);
}

/* v into the series of the label values in ap. */
static void
metric_update(enum metric_id id, enum metric_op op, double v, va_list ap)
{
	struct metric_family	*f = &metric_families[id];
	struct metric_series	*s;
	size_t			 i;

	pthread_mutex_lock(&f->lock);
	s = metric_series(f, ap);
	switch (op) {
	case METRIC_OP_ADD:
		s->value += v;
		break;
	case METRIC_OP_SET:
		s->value = v;
		break;
	case METRIC_OP_OBSERVE:
		s->value += v;
		s->count++;
		for (i = 0; i < METRIC_BUCKETS && v > metric_bounds[i]; i++)
			;
		if (i < METRIC_BUCKETS)
			s->buckets[i]++;
		break;
	}
	pthread_mutex_unlock(&f->lock);
}

double
metric_value(enum metric_id id, ...)
{
	struct metric_family	*f = &metric_families[id];
	char			 key[METRIC_KEY_MAX];
	struct metric_series	*s;
	size_t			 len;
	va_list			 ap;
	double			 value;

	va_start(ap, id);
	len = metric_key(f, ap, key);
	va_end(ap);
	pthread_mutex_lock(&f->lock);
	s = metric_find(f, key, len, metric_hash(key, len));
	value = s != NULL ? s->value : 0;
	pthread_mutex_unlock(&f->lock);
	return value;
}

double
metric_label_sum(enum metric_id id, size_t i, const char *value)
{
	struct metric_family	*f = &metric_families[id];
	struct metric_series	*s;
	double			 sum = 0;
	size_t			 h;

	pthread_mutex_lock(&f->lock);
	for (h = 0; h < METRIC_HASH; h++)
		for (s = f->hash[h]; s != NULL; s = s->next)
			if (value == NULL || (i < metric_nlabels(f) &&
			    strcmp(s->labels[i], value) == 0))
				sum += s->value;
	pthread_mutex_unlock(&f->lock);
	return sum;
}

void
metric_each(enum metric_id id, metric_each_fn fn, void *arg)
{
	struct metric_family	*f = &metric_families[id];
	struct metric_series	*s;
	size_t			 h;

	pthread_mutex_lock(&f->lock);
	for (h = 0; h < METRIC_HASH; h++)
		for (s = f->hash[h]; s != NULL; s = s->next)
			fn(arg, s->labels, s->value);
	pthread_mutex_unlock(&f->lock);
}

char *
metric_render(size_t *len)
{
	char	*buf = NULL;
	FILE	*fp;
	size_t	 i;

	if ((fp = open_memstream(&buf, len)) == NULL)
		fatal("open_memstream");
	for (i = 0; i < M_NFAMILIES; i++)
		metric_render_family(&metric_families[i], fp);
	if (fclose(fp) != 0)
		fatal("metrics: rendering");
	return buf;
}

/* HELP, TYPE and the family's series (an unlabelled counter or gauge
 * shows 0 before its first count). */
static void
metric_render_family(struct metric_family *f, FILE *fp)
{
	static const char *const types[] = { "counter", "gauge", "histogram" };
	struct metric_series	*s;
	char			 le[32];
	uint64_t		 cum;
	size_t			 h, i;

	fprintf(fp, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help,
	    f->name, types[f->type]);
	pthread_mutex_lock(&f->lock);
	if (f->nseries == 0 && metric_nlabels(f) == 0) {
		if (f->type == METRIC_HISTOGRAM)
			fprintf(fp, "%s_bucket{le=\"+Inf\"} 0\n%s_sum 0\n"
			    "%s_count 0\n", f->name, f->name, f->name);
		else
			fprintf(fp, "%s 0\n", f->name);
	}
	for (h = 0; h < METRIC_HASH; h++)
		for (s = f->hash[h]; s != NULL; s = s->next) {
			if (f->type != METRIC_HISTOGRAM) {
				fputs(f->name, fp);
				metric_render_labels(fp, f, s, NULL);
				metric_render_value(fp, s->value);
				continue;
			}
			for (cum = 0, i = 0; i <= METRIC_BUCKETS; i++) {
				if (i < METRIC_BUCKETS) {
					cum += s->buckets[i];
					snprintf(le, sizeof(le), "%g",
					    metric_bounds[i]);
				} else {
					cum = s->count;
					strlcpy(le, "+Inf", sizeof(le));
				}
				fprintf(fp, "%s_bucket", f->name);
				metric_render_labels(fp, f, s, le);
				metric_render_value(fp, (double)cum);
			}
			fprintf(fp, "%s_sum", f->name);
			metric_render_labels(fp, f, s, NULL);
			metric_render_value(fp, s->value);
			fprintf(fp, "%s_count", f->name);
			metric_render_labels(fp, f, s, NULL);
			metric_render_value(fp, (double)s->count);
		}
	pthread_mutex_unlock(&f->lock);
}

/* {name="value",...,le="..."}, values escaped as the format says. */
static void
metric_render_labels(FILE *fp, const struct metric_family *f,
    const struct metric_series *s, const char *le)
{
	size_t		 n = metric_nlabels(f), i;
	const char	*p;

	if (n == 0 && le == NULL)
		return;
	fputc('{', fp);
	for (i = 0; i < n; i++) {
		fprintf(fp, "%s%s=\"", i > 0 ? "," : "", f->label[i]);
		for (p = s->labels[i]; *p != '\0'; p++) {
			if (*p == '\\' || *p == '"')
				fputc('\\', fp);
			if (*p == '\n')
				fputs("\\n", fp);
			else
				fputc(*p, fp);
		}
		fputc('"', fp);
	}
	if (le != NULL)
		fprintf(fp, "%sle=\"%s\"", n > 0 ? "," : "", le);
	fputc('}', fp);
}

static void
metric_render_value(FILE *fp, double v)
{
	if (v == floor(v) && fabs(v) < 1e15)
		fprintf(fp, " %.0f\n", v);
	else
		fprintf(fp, " %.6g\n", v);
}

void
metric_word(const char *text, char *word, size_t size)
{
	size_t	 n = 0;

	while (n + 1 < size && (isalnum((unsigned char)text[n]) ||
	    text[n] == '_' || text[n] == '-' || text[n] == '.' ||
	    text[n] == ':')) {
		word[n] = (char)tolower((unsigned char)text[n]);
		n++;
	}
	if (size > 0)
		word[n] = '\0';
}

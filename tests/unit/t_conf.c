/* SPDX-License-Identifier: ISC */
/*
 * t_conf.c - policy/conf.c: the documented defaults, every value type's good
 * and bad values with their exact messages, the line syntax, -o overrides,
 * final checks, conf_print round trips, conf_load and reference counting.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "policy/conf.h"
#include "tap.h"

#define NAME	"t.conf"

static char	 errbuf[1024];
static void	 roundtrip(struct conf *, const char *);

static struct conf *
parse_ov(const char *text, char *const *ov, size_t nov)
{
	errbuf[0] = '\0';
	return conf_parse(NAME, text, strlen(text), ov, nov, errbuf,
	    sizeof(errbuf));
}

static struct conf *
parse(const char *text)
{
	return parse_ov(text, NULL, 0);
}

/* The error for text, or "(parsed)" when it was accepted. */
static const char *
fails(const char *text)
{
	struct conf	*c;

	if ((c = parse(text)) != NULL) {
		conf_unref(c);
		return "(parsed)";
	}
	return errbuf;
}

static const char *
fails_ov(const char *text, const char *arg)
{
	struct conf	*c;
	char		*ov[1];

	ov[0] = (char *)arg;
	if ((c = parse_ov(text, ov, 1)) != NULL) {
		conf_unref(c);
		return "(parsed)";
	}
	return errbuf;
}

static char *
dump(const struct conf *c)
{
	char	*s = NULL;
	size_t	 n = 0;
	FILE	*fp;

	if ((fp = open_memstream(&s, &n)) == NULL)
		abort();
	(void)conf_print(c, NULL, NULL, 0, fp, NULL, 0);
	fclose(fp);
	return s;
}

/* Equal except for refcnt, source and where keys were set: every byte,
 * padding included. */
static int
conf_same(const struct conf *a, const struct conf *b)
{
	struct conf	 x = *a, y = *b;

	x.refcnt = y.refcnt = 0;
	memset(x.source, 0, sizeof(x.source));
	memset(x.key_line, 0, sizeof(x.key_line));
	memset(y.source, 0, sizeof(y.source));
	memset(y.key_line, 0, sizeof(y.key_line));
	return memcmp(&x, &y, sizeof(x)) == 0;
}

static void
t_defaults(void)
{
	struct conf	*c;
	char		 host[256] = "";

	c = conf_load(NULL, NULL, 0, errbuf, sizeof(errbuf));
	if (!ok(c != NULL, "default configuration parses: %s", errbuf))
		return;
	is_str(c->source, "(default)", "source is (default)");
	is_int(c->refcnt, 1, "refcnt 1");
	is_int(c->nlisten, 1, "one listen address");
	is_str(c->listen[0].host, "127.0.0.1", "listen host");
	is_str(c->listen[0].port, "2525", "listen port");
	is_int(c->nbackend, 1, "one backend");
	is_str(c->backend[0].host, "127.0.0.1", "backend host");
	is_str(c->backend[0].port, "10025", "backend port");
	is_int(c->backend_order, CONF_BACKEND_ORDER_LIST, "backend_order");
	is_int(c->backend_retry, 30, "backend_retry 30s");
	gethostname(host, sizeof(host) - 1);
	is_str(c->hostname, host[0] != '\0' ? host : "localhost",
	    "empty hostname is gethostname()");
	is_int(c->connect_timeout, 30, "connect_timeout 30s");
	is_int(c->command_timeout, 300, "command_timeout 5m");
	is_int(c->data_timeout, 600, "data_timeout 10m");
	is_int(c->min_data_rate, 1024, "min_data_rate 1k");
	is_int(c->idle_timeout, 300, "idle_timeout 5m");
	is_int(c->shutdown_timeout, 30, "shutdown_timeout 30s");
	is_int(c->max_line_length, 2048, "max_line_length");
	is_int(c->max_recipients, 1000, "max_recipients");
	is_int(c->max_message_size, 50 * 1024 * 1024, "max_message_size 50M");
	is_int(c->max_header_size, 100 * 1024, "max_header_size 100k");
	is_int(c->max_header_fields, 1000, "max_header_fields");
	is_int(c->max_header_total, 1024 * 1024, "max_header_total 1M");
	is_int(c->max_connections, 10000, "max_connections");
	is_int(c->max_connections_per_ip, 50, "max_connections_per_ip");
	is_int(c->max_errors, 10, "max_errors");
	is_str(c->spool_dir, "/tmp", "spool_dir");
	is_int(c->spool_memory_max, 1024 * 1024, "spool_memory_max 1M");
	is_int(c->bare_newline, CONF_BARE_REJECT, "bare_newline reject");
	is_int(c->nul_bytes, CONF_NUL_REJECT, "nul_bytes reject");
	is_int(c->client_identity, CONF_IDENTITY_XCLIENT,
	    "client_identity xclient");
	is_int(c->vrfy, 0, "vrfy no");
	is_int(c->nfilters, 4, "the default chain filters");
	is_str(c->filters[0], "iplist", "iplist first");
	is_str(c->filters[3], "dkim_verify", "dkim_verify last");
	is_str(c->regex_rules, "default", "regex.rules: the shipped set");
	is_int(c->log_format, CONF_LOG_PLAIN, "log.format plain");
	is_int(c->log_syslog, 0, "log.target stderr");
	is_int(c->log_level, LOG_LEVEL_INFO, "log.level info");
	is_str(c->authserv_id, c->hostname, "empty authserv_id is hostname");
	is_int(c->proxy_protocol, 0, "proxy_protocol no");
	is_str(c->dns.nameserver, "", "dns.nameserver: the system's");
	is_int(c->dns.timeout, 5, "dns.timeout 5s");
	is_int(c->dns.retries, 2, "dns.retries 2");
	is_int(c->dns.cache_size, 4 * 1024 * 1024, "dns.cache_size 4M");
	is_int(c->worker_threads, 8, "workers.threads 8");
	is_int(c->worker_queue, 1000, "workers.queue 1000");
	is_int(c->spf_helo, 1, "spf.helo yes");
	is_int(c->spf_fail, CONF_ACTION_REJECT, "spf.fail reject");
	is_int(c->spf_softfail, CONF_ACTION_ACCEPT, "spf.softfail accept");
	is_int(c->spf_neutral, CONF_ACTION_ACCEPT, "spf.neutral accept");
	is_int(c->spf_none, CONF_ACTION_ACCEPT, "spf.none accept");
	is_int(c->spf_temperror, CONF_ACTION_TEMPFAIL, "spf.temperror tempfail");
	is_int(c->spf_permerror, CONF_ACTION_ACCEPT,
	    "spf.permerror accept (marked)");
	is_int(c->spf_timeout, 20, "spf.timeout 20s");
	is_int(c->spf_cache_size, 2000, "spf.cache_size 2000");
	is_int(c->spf_cache_ttl, 600, "spf.cache_ttl 10m");
	is_str(c->dkim_require, "", "dkim.require empty");
	is_str(c->dkim_require_file, "", "dkim.require_file empty");
	is_int(c->dkim_timeout, 10, "dkim.timeout 10s");
	is_str(c->dkim_key_table, "", "dkim.key_table empty");
	is_int(c->dkim_outbound, CONF_DKIM_OUT_INTERNAL,
	    "dkim.outbound internal");
	is_str(c->dkim_internal_hosts, "127.0.0.1, ::1",
	    "dkim.internal_hosts: loopback, as OpenDKIM");
	is_int(c->dkim_canon, CONF_DKIM_CANON(1, 1),
	    "dkim.canonicalization relaxed/relaxed");
	is_str(c->dkim_oversign_headers, "From", "dkim.oversign_headers");
	is_int(c->dkim_multiple_signatures, 0, "dkim.multiple_signatures");
	is_int(c->dkim_signature_ttl, 0, "dkim.signature_ttl 0");
	is_str(c->tls_cert, "", "tls.cert empty: no TLS");
	is_str(c->tls_protocols, "TLSv1.2 TLSv1.3", "tls.protocols");
	is_int(c->tls_handshake_timeout, 30, "tls.handshake_timeout 30s");
	is_int(c->tls_starttls, 1, "tls.starttls");
	is_int(c->nlisten_tls, 0, "no listen_tls");
	is_int(c->tls_backend, CONF_TLS_BACKEND_OFF, "tls.backend off");
	is_str(c->tls_backend_ca_file, "", "tls.backend_ca_file: system");
	is_str(c->tls_backend_name, "", "tls.backend_name: backend host");
	conf_unref(c);
	c = parse("[tls]\nbackend = required\nbackend_ca_file = /ca.pem\n");
	ok(c != NULL && c->tls_backend == CONF_TLS_BACKEND_REQUIRED &&
	    strcmp(c->tls_backend_ca_file, "/ca.pem") == 0,
	    "tls.backend required, with a CA file");
	conf_unref(c);

	c = parse("[proxy]\nhostname = mx.example\nauthserv_id = ar.example\n");
	ok(c != NULL && strcmp(c->authserv_id, "ar.example") == 0,
	    "authserv_id set apart from hostname");
	conf_unref(c);

	c = parse("");
	ok(c != NULL, "empty text gives the defaults");
	if (c != NULL) {
		is_str(c->source, NAME, "source is the name");
		is_int(c->max_errors, 10, "max_errors default, empty text");
		conf_unref(c);
	}
	c = parse(conf_default_text);
	ok(c != NULL, "the default text parses on top of itself: %s", errbuf);
	conf_unref(c);
}

static void
t_durations(void)
{
	static const struct { const char *v; unsigned want; } good[] = {
		{ "30s", 30 }, { "5m", 300 }, { "1h", 3600 }, { "90", 90 },
		{ "1s", 1 }, { "24h", 86400 }, { "1440m", 86400 },
		{ "0001", 1 },
	};
	struct conf	*c;
	char		 text[128];
	size_t		 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "[proxy]\nidle_timeout = %s\n",
		    good[i].v);
		c = parse(text);
		ok(c != NULL && c->idle_timeout == good[i].want,
		    "duration %s = %u", good[i].v, good[i].want);
		conf_unref(c);
	}
	is_str(fails("[proxy]\nidle_timeout = 5x\n"), NAME ":2: bad duration "
	    "'5x' for proxy.idle_timeout (use s, m or h)", "bad suffix");
	is_str(fails("[proxy]\nidle_timeout = 5 m\n"), NAME ":2: bad duration "
	    "'5 m' for proxy.idle_timeout (use s, m or h)", "blank in value");
	is_str(fails("[proxy]\nidle_timeout = 5M\n"), NAME ":2: bad duration "
	    "'5M' for proxy.idle_timeout (use s, m or h)", "M is no duration");
	is_str(fails("[proxy]\nidle_timeout = -1\n"), NAME ":2: bad duration "
	    "'-1' for proxy.idle_timeout (use s, m or h)", "negative");
	is_str(fails("[proxy]\nidle_timeout = s\n"), NAME ":2: bad duration "
	    "'s' for proxy.idle_timeout (use s, m or h)", "no digits");
	is_str(fails("[proxy]\nidle_timeout = 5ms\n"), NAME ":2: bad duration "
	    "'5ms' for proxy.idle_timeout (use s, m or h)", "two suffixes");
	is_str(fails("[proxy]\nidle_timeout = 0\n"), NAME ":2: value out of "
	    "range (1s..24h) for proxy.idle_timeout: '0'", "zero");
	is_str(fails("[proxy]\nidle_timeout = 86401\n"), NAME ":2: value out "
	    "of range (1s..24h) for proxy.idle_timeout: '86401'", "24h + 1s");
	is_str(fails("[proxy]\n\nidle_timeout = 99999999999999999999999h\n"),
	    NAME ":3: value out of range (1s..24h) for proxy.idle_timeout: "
	    "'99999999999999999999999h'", "overflow is out of range");
	is_str(fails("[proxy]\nidle_timeout = 5124095576030432h\n"),
	    NAME ":2: value out of range (1s..24h) for proxy.idle_timeout: "
	    "'5124095576030432h'", "overflow in the multiplication");
	is_str(fails("[proxy]\nidle_timeout =\n"), NAME ":2: missing value "
	    "for proxy.idle_timeout", "empty");
}

static void
t_sizes(void)
{
	static const struct { const char *v; uint64_t want; } good[] = {
		{ "0", 0 }, { "1", 1 }, { "100k", 102400 }, { "100K", 102400 },
		{ "50M", 52428800 }, { "50m", 52428800 },
		{ "2G", 2147483648ULL }, { "64g", 68719476736ULL },
		{ "68719476736", 68719476736ULL },
	};
	struct conf	*c;
	char		 text[128];
	size_t		 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "[proxy]\nmax_message_size = %s\n",
		    good[i].v);
		c = parse(text);
		ok(c != NULL && c->max_message_size == good[i].want,
		    "size %s", good[i].v);
		conf_unref(c);
	}
	c = parse("[proxy]\nmax_header_size = 1k\nspool_memory_max = 0\n");
	ok(c != NULL && c->max_header_size == 1024 &&
	    c->spool_memory_max == 0, "header 1k, spool memory 0");
	conf_unref(c);
	is_str(fails("[proxy]\nmax_message_size = 5Q\n"), NAME ":2: bad size "
	    "'5Q' for proxy.max_message_size (use k, M or G)", "bad suffix");
	is_str(fails("[proxy]\nmax_message_size = 1.5M\n"), NAME ":2: bad size"
	    " '1.5M' for proxy.max_message_size (use k, M or G)", "fraction");
	is_str(fails("[proxy]\nmax_message_size = M\n"), NAME ":2: bad size "
	    "'M' for proxy.max_message_size (use k, M or G)", "no digits");
	is_str(fails("[proxy]\nmax_message_size = 5MB\n"), NAME ":2: bad size "
	    "'5MB' for proxy.max_message_size (use k, M or G)", "MB");
	is_str(fails("[proxy]\nmax_message_size = 65G\n"), NAME ":2: value out"
	    " of range (0..64G) for proxy.max_message_size: '65G'", "65G");
	is_str(fails("[proxy]\nmax_message_size = 17179869184G\n"), NAME ":2: "
	    "value out of range (0..64G) for proxy.max_message_size: "
	    "'17179869184G'", "2^64 bytes overflows");
	is_str(fails("[proxy]\nmax_header_size = 1023\n"), NAME ":2: value out"
	    " of range (1k..16M) for proxy.max_header_size: '1023'", "1023");
	is_str(fails("[proxy]\nmax_header_size = 16385k\n"), NAME ":2: value "
	    "out of range (1k..16M) for proxy.max_header_size: '16385k'",
	    "16M + 1k");
	is_str(fails("[proxy]\nspool_memory_max = 2G\n"), NAME ":2: value out "
	    "of range (0..1G) for proxy.spool_memory_max: '2G'", "2G");
	is_str(fails("[proxy]\nmax_header_fields = 0\n"), NAME ":2: value "
	    "out of range (1..1000000) for proxy.max_header_fields: '0'",
	    "max_header_fields 0");
	is_str(fails("[proxy]\nmax_header_total = 65M\n"), NAME ":2: value "
	    "out of range (1k..64M) for proxy.max_header_total: '65M'",
	    "max_header_total 65M");
}

static void
t_uints(void)
{
	struct conf	*c;

	c = parse("[proxy]\nmax_recipients = 1\nmax_connections = 1000000\n"
	    "max_connections_per_ip = 0\nmax_errors = 1000\n"
	    "max_line_length = 512\n");
	ok(c != NULL && c->max_recipients == 1 &&
	    c->max_connections == 1000000 && c->max_connections_per_ip == 0 &&
	    c->max_errors == 1000 && c->max_line_length == 512,
	    "numbers at their bounds");
	conf_unref(c);
	c = parse("[proxy]\nmax_line_length = 65536\nmax_recipients=100000\n");
	ok(c != NULL && c->max_line_length == 65536 &&
	    c->max_recipients == 100000, "upper bounds");
	conf_unref(c);
	is_str(fails("[proxy]\nmax_recipients = 0\n"), NAME ":2: value out of "
	    "range (1..100000) for proxy.max_recipients: '0'", "0 recipients");
	is_str(fails("[proxy]\nmax_recipients = 100001\n"), NAME ":2: value "
	    "out of range (1..100000) for proxy.max_recipients: '100001'",
	    "too many recipients");
	is_str(fails("[proxy]\nmax_line_length = 511\n"), NAME ":2: value out "
	    "of range (512..65536) for proxy.max_line_length: '511'", "511");
	is_str(fails("[proxy]\nmax_connections_per_ip = 1000001\n"), NAME ":2:"
	    " value out of range (0..1000000) for "
	    "proxy.max_connections_per_ip: '1000001'", "per-ip bound");
	is_str(fails("[proxy]\nmax_errors = 1001\n"), NAME ":2: value out of "
	    "range (1..1000) for proxy.max_errors: '1001'", "max_errors");
	is_str(fails("[proxy]\nmax_errors = abc\n"), NAME ":2: bad number "
	    "'abc' for proxy.max_errors", "letters");
	is_str(fails("[proxy]\nmax_errors = +5\n"), NAME ":2: bad number '+5' "
	    "for proxy.max_errors", "sign");
	is_str(fails("[proxy]\nmax_errors = 1k\n"), NAME ":2: bad number '1k' "
	    "for proxy.max_errors", "no suffix on plain numbers");
	is_str(fails("[proxy]\nmax_connections = 4294967297\n"), NAME ":2: "
	    "value out of range (1..1000000) for proxy.max_connections: "
	    "'4294967297'", "2^32 + 1 is not 1");
}

static void
t_bools(void)
{
	static const struct { const char *v; int want; } good[] = {
		{ "yes", 1 }, { "no", 0 }, { "on", 1 }, { "off", 0 },
		{ "true", 1 }, { "false", 0 }, { "1", 1 }, { "0", 0 },
		{ "YES", 1 }, { "Off", 0 },
	};
	struct conf	*c;
	char		 text[128];
	size_t		 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "[proxy]\nvrfy = %s\n", good[i].v);
		c = parse(text);
		ok(c != NULL && c->vrfy == good[i].want, "bool %s", good[i].v);
		conf_unref(c);
	}
	is_str(fails("[proxy]\nvrfy = maybe\n"), NAME ":2: bad boolean "
	    "'maybe' for proxy.vrfy (use yes or no)", "maybe");
	is_str(fails("[proxy]\nvrfy = 2\n"), NAME ":2: bad boolean '2' for "
	    "proxy.vrfy (use yes or no)", "2");
}

static void
t_strings(void)
{
	struct conf	*c;
	char		 text[512];

	c = parse("[proxy]\nhostname = mx.example.org\n"
	    "spool_dir = /var/spool/my postern\n");
	ok(c != NULL, "hostname and spool_dir: %s", errbuf);
	if (c != NULL) {
		is_str(c->hostname, "mx.example.org", "hostname");
		is_str(c->spool_dir, "/var/spool/my postern",
		    "inner blanks kept");
		conf_unref(c);
	}
	snprintf(text, sizeof(text), "[proxy]\nspool_dir = /%0255d\n", 0);
	is_str(fails(text), NAME ":2: value too long for proxy.spool_dir (at "
	    "most 255 bytes)", "256 bytes are too long");
	snprintf(text, sizeof(text), "[proxy]\nspool_dir = /%0254d\n", 0);
	c = parse(text);
	ok(c != NULL && strlen(c->spool_dir) == 255, "255 bytes fit");
	conf_unref(c);
	is_str(fails("[proxy]\nspool_dir =\n"), NAME ":2: missing value for "
	    "proxy.spool_dir", "spool_dir must not be empty");
	is_str(fails("[proxy]\nhostname = mx example\n"), NAME ":2: blank in "
	    "value for proxy.hostname", "hostname has no blanks");
	is_str(fails("[proxy]\nhostname = mx\x01.example\n"), NAME ":2: "
	    "control character in value for proxy.hostname", "control char");
	is_str(fails("[proxy]\nhostname = mx\r.example\n"), NAME ":2: "
	    "control character in value for proxy.hostname",
	    "CR inside a line");
}

static void
t_enums(void)
{
	static const struct { const char *k, *v; int want; } good[] = {
		{ "log.level", "error", LOG_LEVEL_ERR },
		{ "log.level", "warning", LOG_LEVEL_WARN },
		{ "log.level", "info", LOG_LEVEL_INFO },
		{ "log.level", "debug", LOG_LEVEL_DEBUG },
		{ "log.format", "json", CONF_LOG_JSON },
		{ "log.format", "plain", CONF_LOG_PLAIN },
		{ "log.target", "syslog", 1 },
		{ "log.target", "stderr", 0 },
		{ "proxy.bare_newline", "normalise", CONF_BARE_NORMALISE },
		{ "proxy.bare_newline", "normalize", CONF_BARE_NORMALISE },
		{ "proxy.bare_newline", "reject", CONF_BARE_REJECT },
		{ "proxy.nul_bytes", "strip", CONF_NUL_STRIP },
		{ "proxy.nul_bytes", "reject", CONF_NUL_REJECT },
		{ "spf.fail", "accept", CONF_ACTION_ACCEPT },
		{ "spf.fail", "tempfail", CONF_ACTION_TEMPFAIL },
		{ "spf.fail", "reject", CONF_ACTION_REJECT },
	};
	struct conf	*c;
	char		 arg[64];
	char		*ov[1] = { arg };
	size_t		 i;
	int		 got;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(arg, sizeof(arg), "%s=%s", good[i].k, good[i].v);
		c = parse_ov("", ov, 1);
		got = -1;
		if (c != NULL && strcmp(good[i].k, "log.level") == 0)
			got = c->log_level;
		else if (c != NULL && strcmp(good[i].k, "log.format") == 0)
			got = (int)c->log_format;
		else if (c != NULL && strcmp(good[i].k, "log.target") == 0)
			got = c->log_syslog;
		else if (c != NULL && strcmp(good[i].k, "spf.fail") == 0)
			got = (int)c->spf_fail;
		else if (c != NULL && strcmp(good[i].k, "proxy.nul_bytes") == 0)
			got = (int)c->nul_bytes;
		else if (c != NULL)
			got = (int)c->bare_newline;
		is_int(got, good[i].want, "%s", arg);
		conf_unref(c);
	}
	is_str(fails("[log]\nlevel = verbose\n"), NAME ":2: bad value "
	    "'verbose' for log.level (use error, warning, info or debug)",
	    "bad level");
	is_str(fails("[log]\nformat = xml\n"), NAME ":2: bad value 'xml' for "
	    "log.format (use plain or json)", "bad format");
	is_str(fails("[log]\ntarget = file\n"), NAME ":2: bad value 'file' for"
	    " log.target (use stderr or syslog)", "bad target");
	is_str(fails("[proxy]\nbare_newline = keep\n"), NAME ":2: bad value "
	    "'keep' for proxy.bare_newline (use reject or normalise)",
	    "bad bare_newline, alias not listed");
	is_str(fails("[proxy]\nnul_bytes = keep\n"), NAME ":2: bad value "
	    "'keep' for proxy.nul_bytes (use reject or strip)",
	    "bad nul_bytes: there is no keeping them");
	is_str(fails("[tls]\nbackend = yes\n"), NAME ":2: bad value 'yes' "
	    "for tls.backend (use off, opportunistic or required)",
	    "bad tls.backend");
	is_str(fails("[spf]\nsoftfail = mark\n"), NAME ":2: bad value 'mark' "
	    "for spf.softfail (use reject, tempfail or accept)",
	    "bad SPF action");
	is_str(fails("[dns]\nretries = 11\n"), NAME ":2: value out of range "
	    "(1..10) for dns.retries: '11'", "dns.retries bounded");
	is_str(fails("[dns]\nretries = 0\n"), NAME ":2: value out of range "
	    "(1..10) for dns.retries: '0'", "libunbound needs one at least");
	is_str(fails("[workers]\nthreads = 0\n"), NAME ":2: value out of "
	    "range (1..256) for workers.threads: '0'", "at least one thread");
	is_str(fails("[proxy]\nproxy_protocol_from = 10.0.0.0/8 10.1/33\n"),
	    NAME ": proxy.proxy_protocol_from: '10.1/33': not an IP address "
	    "or network: '10.1/33'",
	    "a bad proxy_protocol_from entry");
	is_str(fails("[proxy]\nauthserv_id = x;dkim=pass\n"),
	    NAME ": proxy.authserv_id: 'x;dkim=pass' is not a domain name "
	    "(set proxy.authserv_id, or proxy.hostname)",
	    "an authserv-id that is no domain name");
}

static void
t_listen(void)
{
	struct conf	*c;

	c = parse("[proxy]\nlisten = [::1]:2525\n");
	ok(c != NULL && c->nlisten == 1, "IPv6 listen: %s", errbuf);
	if (c != NULL) {
		is_str(c->listen[0].host, "::1", "brackets removed");
		is_str(c->listen[0].port, "2525", "IPv6 port");
		conf_unref(c);
	}
	c = parse("[proxy]\nlisten = 127.0.0.1:25,[::]:25  mx.example:0587 ,"
	    "\t0.0.0.0:465\n");
	ok(c != NULL && c->nlisten == 4, "four listen addresses: %s", errbuf);
	if (c != NULL) {
		is_str(c->listen[0].host, "127.0.0.1", "first host");
		is_str(c->listen[1].host, "::", "second host");
		is_str(c->listen[2].host, "mx.example", "name host");
		is_str(c->listen[2].port, "587", "port in plain decimal");
		is_str(c->listen[3].port, "465", "after comma and tab");
		is_str(c->listen[4].host, "", "no fifth");
		conf_unref(c);
	}
	c = parse("[proxy]\nlisten = a:1 b:1 c:1 d:1 e:1 f:1 g:1 h:1 i:1 "
	    "j:1 k:1 l:1 m:1 n:1 o:1 p:1\n");
	ok(c != NULL && c->nlisten == 16, "16 addresses fit");
	conf_unref(c);
}

static void
t_listen_bad(void)
{
	is_str(fails("[proxy]\nlisten = ::1:25\n"), NAME ":2: IPv6 address "
	    "needs brackets in '::1:25' for proxy.listen", "bare IPv6");
	is_str(fails("[proxy]\nlisten = localhost\n"), NAME ":2: bad address "
	    "'localhost' for proxy.listen (use host:port or [ipv6]:port)",
	    "no port");
	is_str(fails("[proxy]\nlisten = :25\n"), NAME ":2: bad address ':25' "
	    "for proxy.listen (use host:port or [ipv6]:port)", "no host");
	is_str(fails("[proxy]\nlisten = []:25\n"), NAME ":2: bad address "
	    "'[]:25' for proxy.listen (use host:port or [ipv6]:port)",
	    "empty brackets");
	is_str(fails("[proxy]\nlisten = [::1]25\n"), NAME ":2: bad address "
	    "'[::1]25' for proxy.listen (use host:port or [ipv6]:port)",
	    "no colon after ]");
	is_str(fails("[proxy]\nlisten = [::1:25\n"), NAME ":2: bad address "
	    "'[::1:25' for proxy.listen (use host:port or [ipv6]:port)",
	    "no ]");
	is_str(fails("[proxy]\nlisten = [[::1]:25\n"), NAME ":2: bad address "
	    "'[[::1]:25' for proxy.listen (use host:port or [ipv6]:port)",
	    "[ in brackets");
	is_str(fails("[proxy]\nlisten = host:0\n"), NAME ":2: bad port in "
	    "'host:0' for proxy.listen (1..65535)", "port 0");
	is_str(fails("[proxy]\nlisten = host:65536\n"), NAME ":2: bad port in "
	    "'host:65536' for proxy.listen (1..65535)", "port 65536");
	is_str(fails("[proxy]\nlisten = host:smtp\n"), NAME ":2: bad port in "
	    "'host:smtp' for proxy.listen (1..65535)", "port name");
	is_str(fails("[proxy]\nlisten = [::1]:\n"), NAME ":2: bad port in "
	    "'[::1]:' for proxy.listen (1..65535)", "empty port");
	is_str(fails("[proxy]\nlisten = a:1 b:2 a:1\n"), NAME ":2: duplicate "
	    "address 'a:1' for proxy.listen", "duplicate address");
	is_str(fails("[proxy]\nlisten = a:1 b:1 c:1 d:1 e:1 f:1 g:1 h:1 i:1 "
	    "j:1 k:1 l:1 m:1 n:1 o:1 p:1 q:1\n"), NAME ":2: too many "
	    "addresses for proxy.listen (at most 16)", "17 addresses");
	is_str(fails("[proxy]\nlisten =\n"), NAME ": no listen address (set "
	    "proxy.listen)", "empty listen fails the final check");
	is_str(fails("[proxy]\nlisten = , ,\n"), NAME ": no listen address "
	    "(set proxy.listen)", "only separators");
}

static void
t_backend(void)
{
	struct conf	*c;
	char		 text[512];

	c = parse("[proxy]\nbackend = [2001:db8::25]:10025\n");
	ok(c != NULL, "IPv6 backend: %s", errbuf);
	if (c != NULL) {
		is_str(c->backend[0].host, "2001:db8::25", "backend host");
		is_str(c->backend[0].port, "10025", "backend port");
		conf_unref(c);
	}
	c = parse("[proxy]\nbackend = a:1, [::1]:2 unix:/run/mta.sock\n"
	    "backend_order = random\nbackend_retry = 2m\n");
	ok(c != NULL, "three backends: %s", errbuf);
	if (c != NULL) {
		is_int(c->nbackend, 3, "three entries");
		is_str(c->backend[1].host, "::1", "second host");
		is_str(c->backend[2].host, "/run/mta.sock", "unix: path");
		is_str(c->backend[2].port, "", "unix: no port");
		is_int(c->backend_order, CONF_BACKEND_ORDER_RANDOM, "random");
		is_int(c->backend_retry, 120, "backend_retry 2m");
		roundtrip(c, "backend list");
		conf_unref(c);
	}
	is_str(fails("[proxy]\nbackend = a:1 b:2 c:3 d:4 e:5 f:6 g:7 h:8 "
	    "i:9\n"), NAME ":2: too many addresses for proxy.backend (at "
	    "most 8)", "at most 8 backends");
	is_str(fails("[proxy]\nbackend = a:1, unix:/s, a:1\n"), NAME ":2: "
	    "duplicate address 'a:1' for proxy.backend", "duplicate");
	is_str(fails("[proxy]\nbackend = unix:/s unix:/s\n"), NAME ":2: "
	    "duplicate address 'unix:/s' for proxy.backend", "same path");
	is_str(fails("[proxy]\nbackend = unix:run/s\n"), NAME ":2: bad path "
	    "'unix:run/s' for proxy.backend (an absolute path)",
	    "relative path");
	is_str(fails("[proxy]\nbackend = unix:\n"), NAME ":2: bad path "
	    "'unix:' for proxy.backend (an absolute path)", "empty path");
	snprintf(text, sizeof(text), "[proxy]\nbackend = unix:/%0107d\n", 0);
	ok(strstr(fails(text), "(at most 107 bytes)") != NULL,
	    "path too long for sun_path: %s", errbuf);
	is_str(fails("[proxy]\nlisten = unix:/s\n"), NAME ":2: bad port in "
	    "'unix:/s' for proxy.listen (1..65535)", "no unix: for listen");
	is_str(fails("[proxy]\nbackend_order = first\n"), NAME ":2: bad "
	    "value 'first' for proxy.backend_order (use list or random)",
	    "bad backend_order");
	is_str(fails("[proxy]\nbackend =\n"), NAME ": no backend address (set "
	    "proxy.backend)", "backend unset");
	is_str(fails("[proxy]\nbackend = x#y:25\n"), NAME ":2: bad address "
	    "'x#y:25' for proxy.backend (use host:port, unix:/path or "
	    "[ipv6]:port)",
	    "# in a host");
	snprintf(text, sizeof(text), "[proxy]\nbackend = %0256d:25\n", 0);
	ok(strstr(fails(text), ":2: host too long in '0000") != NULL &&
	    strstr(errbuf, "for proxy.backend (at most 255 bytes)") != NULL,
	    "host too long: %s", errbuf);
}

static void
t_chain(void)
{
	struct conf	*c;
	char		 text[512];

	c = parse("[filters]\nchain = iplist, spf dkim_verify,regex_2\n");
	ok(c != NULL && c->nfilters == 4, "four filters: %s", errbuf);
	if (c != NULL) {
		is_str(c->filters[0], "iplist", "first filter");
		is_str(c->filters[2], "dkim_verify", "third filter");
		is_str(c->filters[3], "regex_2", "digits and _");
		conf_unref(c);
	}
	is_str(fails("[filters]\nchain = spf, DKIM\n"), NAME ":2: bad name "
	    "'DKIM' for filters.chain (use a-z, 0-9 and _)", "upper case");
	is_str(fails("[filters]\nchain = spf-x\n"), NAME ":2: bad name 'spf-x' "
	    "for filters.chain (use a-z, 0-9 and _)", "dash");
	snprintf(text, sizeof(text), "[filters]\nchain = %s\n",
	    "abcdefghijklmnopqrstuvwxyz012345");
	is_str(fails(text), NAME ":2: name 'abcdefghijklmnopqrstuvwxyz012345' "
	    "too long for filters.chain (at most 31 characters)", "32 chars");
	c = parse("[filters]\nchain = abcdefghijklmnopqrstuvwxyz01234\n");
	ok(c != NULL && c->nfilters == 1, "31 characters fit");
	conf_unref(c);
	is_str(fails("[filters]\nchain = a b c d e f g h i j k l m n o p q\n"),
	    NAME ":2: too many names for filters.chain (at most 16)",
	    "17 names");
}

static void
t_syntax(void)
{
	struct conf	*c;

	is_str(fails("[proxy]\nlisen = 1.2.3.4:25\n"), NAME ":2: unknown key "
	    "'lisen' in section [proxy] (did you mean 'listen'?)",
	    "unknown key, and the nearest one");
	is_str(fails("[proxy]\nzzzzzz = 1\n"), NAME ":2: unknown key "
	    "'zzzzzz' in section [proxy]", "unknown key, none near");
	is_str(fails("# x\n[foo]\n"), NAME ":2: unknown section [foo]",
	    "unknown section");
	is_str(fails("[log]\nlisten = a:1\n"), NAME ":2: unknown key 'listen' "
	    "in section [log]", "key in the wrong section");
	is_str(fails("\nmax_errors = 3\n"), NAME ":2: key outside a section",
	    "key before any section");
	is_str(fails("[proxy]\nmax_errors 3\n"), NAME ":2: missing '=' (use "
	    "key = value)", "missing =");
	is_str(fails("[proxy]\n= 3\n"), NAME ":2: missing key before '='",
	    "missing key");
	is_str(fails("[proxy]\nmax_errors = 3\nvrfy = no\nmax_errors = 4\n"),
	    NAME ":4: duplicate key proxy.max_errors (first on line 2)",
	    "duplicate key");
	is_str(fails("[proxy\n"), NAME ":1: missing ']' after section name",
	    "missing ]");
	is_str(fails("[proxy] x\n"), NAME ":1: junk after ']'", "junk");
	is_str(fails("[proxy]\nmax_errors = 3\0\n"), "(parsed)",
	    "strlen stops at NUL");
	errbuf[0] = '\0';
	c = conf_parse(NAME, "[proxy]\nvrfy = no\0\n", 19, NULL, 0, errbuf,
	    sizeof(errbuf));
	ok(c == NULL, "NUL byte rejected");
	is_str(errbuf, NAME ":2: NUL byte in line", "NUL message");
}

static void
t_comments(void)
{
	struct conf	*c;

	c = parse("  # comment\n\n\t[ proxy ]  # section\r\n"
	    "   max_errors\t=\t7   # note\r\n"
	    "spool_dir = /tmp/a#b\n"
	    "hostname=#not-a-name\n"
	    "vrfy = yes#x\n");
	ok(c == NULL, "'yes#x' is a value, not yes + comment");
	c = parse("  # comment\n\n\t[ proxy ]  # section\r\n"
	    "   max_errors\t=\t7   # note\r\n"
	    "spool_dir = /tmp/a#b\n"
	    "hostname=#not-a-name\n"
	    "[log]\n[proxy]\nvrfy=on");
	ok(c != NULL, "comments, blanks, CRLF, no final newline: %s", errbuf);
	if (c != NULL) {
		is_int(c->max_errors, 7, "trailing comment stripped");
		is_str(c->spool_dir, "/tmp/a#b", "# inside a value kept");
		ok(c->hostname[0] != '\0' && c->hostname[0] != '#',
		    "# at the start of a value is a comment");
		is_int(c->vrfy, 1, "section reopened, last line read");
		conf_unref(c);
	}
}

static void
t_long_lines(void)
{
	struct conf	*c;
	char		*text;
	size_t		 n = 200000;

	text = malloc(n + 64);
	memset(text, '#', n);
	memcpy(text + n, "\n[proxy]\nmax_errors = 9\n", 25);
	c = parse(text);
	ok(c != NULL && c->max_errors == 9, "200000-byte comment line");
	conf_unref(c);
	memcpy(text, "[proxy]\nspool_dir = /", 21);
	memset(text + 21, 'a', n);
	memcpy(text + 21 + n, "\n", 2);
	is_str(fails(text), NAME ":2: value too long for proxy.spool_dir (at "
	    "most 255 bytes)", "long value is an error, not truncated");
	free(text);
}

static void
t_overrides(void)
{
	struct conf	*c;
	char		*ov[4];

	ov[0] = "proxy.listen=[::1]:25, 10.0.0.1:25";
	ov[1] = "filters.chain = spf,dkim_verify";
	ov[2] = " log.level = debug  # loud";
	ov[3] = "proxy.max_errors=5";
	c = parse_ov("[proxy]\nlisten = 1.1.1.1:1 2.2.2.2:2 3.3.3.3:3\n"
	    "max_errors = 3\n", ov, 4);
	ok(c != NULL, "overrides parse: %s", errbuf);
	if (c != NULL) {
		is_int(c->nlisten, 2, "override replaces the list");
		is_str(c->listen[0].host, "::1", "override first address");
		is_str(c->listen[2].host, "", "no third address left over");
		is_int(c->nfilters, 2, "chain from -o");
		is_str(c->filters[1], "dkim_verify", "second filter");
		is_int(c->log_level, LOG_LEVEL_DEBUG, "level from -o");
		is_int(c->max_errors, 5, "override beats the file");
		conf_unref(c);
	}
	ov[0] = "proxy.max_errors=5";
	ov[1] = "proxy.max_errors=6";
	c = parse_ov("", ov, 2);
	ok(c != NULL && c->max_errors == 6, "the last -o wins");
	conf_unref(c);
	ov[0] = "proxy.hostname=";
	c = parse_ov("[proxy]\nhostname = a.example\n", ov, 1);
	ok(c != NULL && strcmp(c->hostname, "a.example") != 0,
	    "-o empties a value");
	conf_unref(c);

	is_str(fails_ov("", "proxy.listen"), "-o proxy.listen: missing '=' "
	    "(use section.key=value)", "-o missing =");
	is_str(fails_ov("", "listen=a:1"), "-o listen=a:1: missing '.' (use "
	    "section.key=value)", "-o missing .");
	is_str(fails_ov("", "foo.bar=1"), "-o foo.bar=1: unknown section "
	    "[foo]", "-o unknown section");
	is_str(fails_ov("", "proxy.lisen=a:1"), "-o proxy.lisen=a:1: unknown "
	    "key 'lisen' in section [proxy] (did you mean 'listen'?)",
	    "-o unknown key");
	is_str(fails_ov("", "proxy.listen=bad"), "-o proxy.listen=bad: bad "
	    "address 'bad' for proxy.listen (use host:port or [ipv6]:port)",
	    "-o bad value");
	is_str(fails_ov("", "proxy.idle_timeout=0"), "-o proxy.idle_timeout=0:"
	    " value out of range (1s..24h) for proxy.idle_timeout: '0'",
	    "-o out of range");
	is_str(fails_ov("", "proxy.=1"), "-o proxy.=1: missing key before '='",
	    "-o empty key");
	is_str(fails_ov("", "proxy.listen="), NAME ": no listen address (set "
	    "proxy.listen)", "-o empties the listen list");
	is_str(fails_ov("[proxy]\nvrfy = x\n", "proxy.vrfy=yes"), NAME ":2: "
	    "bad boolean 'x' for proxy.vrfy (use yes or no)",
	    "file errors come before overrides");
}

static void
roundtrip(struct conf *c, const char *what)
{
	struct conf	*d;
	char		*s1, *s2;

	s1 = dump(c);
	errbuf[0] = '\0';
	d = conf_parse("dump", s1, strlen(s1), NULL, 0, errbuf,
	    sizeof(errbuf));
	ok(d != NULL, "%s: dump parses: %s", what, errbuf);
	if (d == NULL) {
		printf("# %s", s1);
		free(s1);
		return;
	}
	ok(conf_same(c, d), "%s: equal after the round trip", what);
	s2 = dump(d);
	ok(strcmp(strchr(s1, '\n'), strchr(s2, '\n')) == 0,
	    "%s: same dump twice", what);
	free(s1);
	free(s2);
	conf_unref(d);
}

static void
t_dump_default(void)
{
	struct conf	*c;
	char		*s;

	c = conf_load(NULL, NULL, 0, errbuf, sizeof(errbuf));
	s = dump(c);
	ok(strstr(s, "\n[proxy]\nlisten = 127.0.0.1:2525\n") != NULL,
	    "dump starts [proxy] with listen");
	ok(strstr(s, "\nconnect_timeout = 30s\n") != NULL, "30s");
	ok(strstr(s, "\ncommand_timeout = 5m\n") != NULL, "5m");
	ok(strstr(s, "\nmax_message_size = 50M\n") != NULL, "50M");
	ok(strstr(s, "\nmax_header_size = 100k\n") != NULL, "100k");
	ok(strstr(s, "\nmax_line_length = 2048\n") != NULL, "plain number");
	ok(strstr(s, "\nvrfy = no\n") != NULL, "no");
	ok(strstr(s, "\nclient_identity = xclient\n") != NULL, "enum");
	ok(strstr(s, "\n[filters]\nchain = iplist, regex, spf, dkim_verify\n") !=
	    NULL, "the default chain");
	ok(strstr(s, "\n[log]\nformat = plain\ntarget = stderr\nlevel = info\n")
	    != NULL, "[log] section");
	free(s);
	roundtrip(c, "default");
	conf_unref(c);
}

static void
t_dump_changed(void)
{
	struct conf	*c;
	char		*s;
	char		*ov[1] = { "proxy.spool_dir=/var/spool/a b#c" };

	c = parse_ov("[proxy]\nlisten = [::1]:2525, 0.0.0.0:25 mx.example:587\n"
	    "backend = [fe80::1%eth0]:10025\nhostname = mx.example.org\n"
	    "data_timeout = 90\nidle_timeout = 3600\nmax_message_size = 1023\n"
	    "max_header_size = 2048k\nspool_memory_max = 1G\n"
	    "max_connections_per_ip = 0\nbare_newline = normalize\n"
	    "client_identity = proxy_v2\nvrfy = true\n[filters]\nchain = a, b_2, c\n"
	    "[log]\nformat = json\ntarget = syslog\nlevel = error\n", ov, 1);
	ok(c != NULL, "every key changed: %s", errbuf);
	if (c == NULL)
		return;
	s = dump(c);
	ok(strstr(s, "\nlisten = [::1]:2525, 0.0.0.0:25, mx.example:587\n") !=
	    NULL, "list dumped comma-separated, IPv6 in brackets");
	ok(strstr(s, "\nbackend = [fe80::1%eth0]:10025\n") != NULL, "backend");
	ok(strstr(s, "\ndata_timeout = 90s\n") != NULL, "90s");
	ok(strstr(s, "\nidle_timeout = 1h\n") != NULL, "1h");
	ok(strstr(s, "\nmax_message_size = 1023\n") != NULL, "1023 bytes");
	ok(strstr(s, "\nmax_header_size = 2M\n") != NULL, "2048k is 2M");
	ok(strstr(s, "\nspool_memory_max = 1G\n") != NULL, "1G");
	ok(strstr(s, "\nbare_newline = normalise\n") != NULL, "canonical name");
	ok(strstr(s, "\nchain = a, b_2, c\n") != NULL, "chain");
	ok(strstr(s, "\nspool_dir = /var/spool/a b#c\n") != NULL, "spool_dir");
	free(s);
	roundtrip(c, "changed");
	conf_unref(c);
}

static void
t_dump_source(void)
{
	struct conf	*c;
	char		*s;
	const char	*want = "# postern configuration, from "
			    "evil?[foo]?name\n";

	c = conf_parse("evil\n[foo]\nname", "", 0, NULL, 0, errbuf,
	    sizeof(errbuf));
	ok(c != NULL, "any name parses");
	if (c == NULL)
		return;
	s = dump(c);
	ok(strncmp(s, want, strlen(want)) == 0,
	    "control characters in the source do not break the dump");
	free(s);
	roundtrip(c, "odd source");
	conf_unref(c);
}

static void
t_load(void)
{
	struct conf	*c;
	char		 path[] = "/tmp/t_conf.XXXXXX";
	char		*ov[1] = { "log.level=debug" };
	char		 want[512];
	FILE		*fp;
	int		 fd;

	c = conf_load("/nonexistent/postern.conf", NULL, 0, errbuf,
	    sizeof(errbuf));
	ok(c == NULL, "missing file fails");
	is_str(errbuf, "/nonexistent/postern.conf: No such file or directory",
	    "missing file message");
	c = conf_load("/tmp", NULL, 0, errbuf, sizeof(errbuf));
	ok(c == NULL, "directory fails");
	is_str(errbuf, "/tmp: Is a directory", "directory message");

	if ((fd = mkstemp(path)) == -1 || (fp = fdopen(fd, "w")) == NULL) {
		ok(0, "mkstemp");
		return;
	}
	fputs("[proxy]\nmax_errors = 4\n\n[log]\nlevel = nope\n", fp);
	fclose(fp);
	c = conf_load(path, NULL, 0, errbuf, sizeof(errbuf));
	snprintf(want, sizeof(want), "%s:5: bad value 'nope' for log.level "
	    "(use error, warning, info or debug)", path);
	ok(c == NULL, "bad file fails");
	is_str(errbuf, want, "message names the path and line");

	fp = fopen(path, "w");
	fputs("[proxy]\nmax_errors = 4\n", fp);
	fclose(fp);
	c = conf_load(path, ov, 1, errbuf, sizeof(errbuf));
	ok(c != NULL, "file loads: %s", errbuf);
	if (c != NULL) {
		is_str(c->source, path, "source is the path");
		is_int(c->max_errors, 4, "value from the file");
		is_int(c->max_recipients, 1000, "default for the rest");
		is_int(c->log_level, LOG_LEVEL_DEBUG, "override on a file");
		conf_unref(c);
	}
	unlink(path);
}

static void
t_refcnt(void)
{
	struct conf	*c, *r;

	c = parse("");
	if (!ok(c != NULL, "parse for refcount"))
		return;
	is_int(c->refcnt, 1, "new conf has one reference");
	r = conf_ref(c);
	ok(r == c, "conf_ref returns its argument");
	is_int(c->refcnt, 2, "two references");
	conf_unref(c);
	is_int(c->refcnt, 1, "one left");
	conf_unref(r);
	conf_unref(NULL);
	ok(1, "last unref frees (ASan checks), NULL is fine");
	ok(conf_parse(NAME, "x", 1, NULL, 0, NULL, 0) == NULL,
	    "NULL err buffer is fine");
}

/* Every error is reported, one a line; a bad section's keys add none. */
static void
t_every_error(void)
{
	char *const	 ov[] = { "proxy.nosuch=1" };

	ok(parse_ov("[proxy]\nidle_timeout = 5x\nmax_recipients = 0\n"
	    "[nope]\nwhatever = 1\n[log]\nlevel = loud\n", ov, 1) == NULL,
	    "several errors");
	is_str(errbuf, "t.conf:2: bad duration '5x' for proxy.idle_timeout "
	    "(use s, m or h)\n"
	    "t.conf:3: value out of range (1..100000) for "
	    "proxy.max_recipients: '0'\n"
	    "t.conf:4: unknown section [nope]\n"
	    "t.conf:7: bad value 'loud' for log.level (use error, warning, info "
	    "or debug)\n"
	    "-o proxy.nosuch=1: unknown key 'nosuch' in section [proxy]",
	    "all of them, in order");
}

int
main(void)
{
	t_every_error();
	t_defaults();
	t_durations();
	t_sizes();
	t_uints();
	t_bools();
	t_strings();
	t_enums();
	t_listen();
	t_listen_bad();
	t_backend();
	t_chain();
	t_syntax();
	t_comments();
	t_long_lines();
	t_overrides();
	t_dump_default();
	t_dump_changed();
	t_dump_source();
	t_load();
	t_refcnt();
	return tap_done();
}

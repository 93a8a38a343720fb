/* SPDX-License-Identifier: ISC */
/*
 * conf.h - the configuration: an INI-style file ([section], key = value,
 * '#' comments; durations with s/m/h, sizes with k/M/G suffixes), overridden
 * key by key with -o section.key=value, or the embedded default when no file
 * is given.  A loaded struct conf is immutable and reference counted: a
 * reload builds a new one and swaps the pointer, and sessions in flight keep
 * the one they started with.
 */
#ifndef POSTERN_CONF_H
#define POSTERN_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/dns.h"
#include "lib/store.h"

#define CONF_LISTEN_MAX		16
#define CONF_BACKEND_MAX	8
#define CONF_UNIX_PATH_MAX	108	/* sizeof(sun_path) on Linux */
#define CONF_FILTERS_MAX	16
#define CONF_KEYS_MAX		256

enum conf_bare_newline {
	CONF_BARE_REJECT,	/* 554 5.6.x for bare CR/LF in content */
	CONF_BARE_NORMALISE,	/* rewrite them to CRLF and go on */
};

enum conf_nul_bytes {
	CONF_NUL_REJECT,	/* 554 5.6.0 for a NUL byte in content */
	CONF_NUL_STRIP,		/* relay the content without them */
};

enum conf_action {
	CONF_ACTION_REJECT,	/* 5xx */
	CONF_ACTION_TEMPFAIL,	/* 4xx: try again later */
	CONF_ACTION_ACCEPT,	/* go on (the result is still recorded) */
};

/* Which sessions' mail dkim_sign signs. */
enum conf_dkim_outbound {
	CONF_DKIM_OUT_INTERNAL,	/* clients on dkim.internal_hosts */
	CONF_DKIM_OUT_ANY,	/* any client: the signing table decides */
};

/* DKIM canonicalization, header/body: CONF_DKIM_CANON(h, b) with 1 =
 * relaxed, 0 = simple. */
#define CONF_DKIM_CANON(h, b)		((h) << 1 | (b))
#define CONF_DKIM_CANON_HEADER(c)	(((c) >> 1) & 1)
#define CONF_DKIM_CANON_BODY(c)		((c) & 1)

/* tls.backend: STARTTLS from postern to the backend. */
enum conf_tls_backend {
	CONF_TLS_BACKEND_OFF,		/* plaintext (a backend on loopback) */
	CONF_TLS_BACKEND_OPPORTUNISTIC,	/* TLS when it works, unverified;
					   plaintext otherwise */
	CONF_TLS_BACKEND_REQUIRED,	/* verified TLS or no session */
};

/* proxy.client_identity: how the backend learns who the client is. */
enum conf_client_identity {
	CONF_IDENTITY_XCLIENT,		/* XCLIENT after EHLO (Postfix) */
	CONF_IDENTITY_XFORWARD,		/* XFORWARD before each MAIL */
	CONF_IDENTITY_PROXY_V1,		/* a PROXY header first (Exim, ...) */
	CONF_IDENTITY_PROXY_V2,
	CONF_IDENTITY_NONE,		/* not told: the backend must not
					   trust postern's own address */
};

enum conf_log_format {
	CONF_LOG_PLAIN,
	CONF_LOG_JSON,
};

/* proxy.backend: the order its entries are tried in. */
enum conf_backend_order {
	CONF_BACKEND_ORDER_LIST,	/* as listed */
	CONF_BACKEND_ORDER_RANDOM,	/* shuffled for each connection */
};

struct conf_addr {
	char		 host[256];	/* IP literal or name, no brackets;
					   "/path" for a unix: entry */
	char		 port[16];	/* "" for a unix: entry */
};

struct conf {
	int		 refcnt;	/* conf_ref/conf_unref only */
	char		 source[256];	/* file path, or "(default)" */
	int		 key_line[CONF_KEYS_MAX];	/* where each key (in
					   table order) was set: its line in
					   source, -1 an -o, 0 not set */

	/* [proxy] */
	struct conf_addr listen[CONF_LISTEN_MAX];
	size_t		 nlisten;
	struct conf_addr listen_tls[CONF_LISTEN_MAX];	/* implicit TLS */
	size_t		 nlisten_tls;
	struct conf_addr backend[CONF_BACKEND_MAX];	/* tried in turn */
	size_t		 nbackend;
	enum conf_backend_order backend_order;
	unsigned	 backend_retry;		/* seconds a failed backend
						   is skipped */
	char		 hostname[256];	/* our greeting/EHLO name */
	unsigned	 connect_timeout;	/* seconds, backend connect+greeting */
	unsigned	 command_timeout;	/* seconds, one command/reply */
	unsigned	 data_timeout;		/* seconds, between DATA bytes */
	uint64_t	 min_data_rate;		/* bytes/s a message's content
						   averages once data_timeout
						   has passed; 0 = off */
	unsigned	 idle_timeout;		/* seconds, client silent */
	unsigned	 backend_keepalive;	/* seconds, NOOP while the
						   client sends content */
	unsigned	 shutdown_timeout;	/* seconds, SIGTERM grace */
	size_t		 max_line_length;	/* command line, CRLF included */
	unsigned	 max_recipients;
	uint64_t	 max_message_size;	/* bytes, 0 = unlimited */
	size_t		 max_header_size;	/* one header field, bytes */
	unsigned	 max_header_fields;	/* header fields a message */
	size_t		 max_header_total;	/* header section, bytes */
	unsigned	 max_connections;
	unsigned	 max_connections_per_ip;
	unsigned	 max_errors;		/* bad commands before 421 */
	char		 spool_dir[256];
	size_t		 spool_memory_max;	/* bytes in memory per message */
	enum conf_bare_newline bare_newline;
	enum conf_nul_bytes nul_bytes;
	enum conf_client_identity client_identity;
	int		 vrfy;			/* relay VRFY/EXPN */
	char		 user[64];		/* run as, once listening;
						   "" = stay who we are */
	unsigned	 threads;		/* event loops; 0 = one a CPU */
	char		 authserv_id[256];	/* Authentication-Results;
						   "" in the file = hostname */
	int		 proxy_protocol;	/* every connection starts
						   with a PROXY header */
	char		 proxy_protocol_from[4096];	/* who may send it;
						   "" = anyone */
	unsigned	 proxy_protocol_timeout;	/* seconds, for the
						   whole header */
	int		 reverse_dns;		/* look the client's name
						   up (FCrDNS) at connect */
	unsigned	 reverse_dns_timeout;	/* seconds, the whole lookup */

	/* [tls] */
	char		 tls_cert[256];		/* PEM chain; "" no TLS */
	char		 tls_key[256];		/* "" in tls_cert */
	char		 tls_sni[4096];		/* "cert[:key]" ... */
	char		 tls_listener_certs[4096];	/* "host:port=cert[:key]" */
	char		 tls_protocols[64];
	char		 tls_ciphers[512];	/* TLS 1.2 and below */
	char		 tls_ciphersuites[512];	/* TLS 1.3; "" default */
	unsigned	 tls_handshake_timeout;	/* seconds */
	int		 tls_starttls;		/* offer STARTTLS */
	enum conf_tls_backend tls_backend;	/* STARTTLS to the backend */
	char		 tls_backend_ca_file[256];	/* "" = the system's
						   default store */
	char		 tls_backend_name[256];	/* the backend certificate's
						   name; "" = backend.host */
	char		 tls_backend_cert[256];	/* our client certificate,
						   "" none */
	char		 tls_backend_key[256];	/* "" in tls_backend_cert */

	/* [milter]: external milters the milter filter calls */
	char		 milters[2048];		/* inet:host:port, unix:path */
	enum conf_action milter_default_action;	/* one down or too slow */
	unsigned	 milter_connect_timeout;	/* seconds */
	unsigned	 milter_command_timeout;	/* seconds */
	unsigned	 milter_content_timeout;	/* seconds, body and eom */

	/* [auth] */
	int		 auth_relay;		/* offer the backend's AUTH */
	int		 auth_require_tls;	/* only over TLS */
	unsigned	 auth_max_failures;	/* then 421 */

	struct dns_settings dns;		/* [dns] */

	/* [workers] */
	unsigned	 worker_threads;
	unsigned	 worker_queue;		/* jobs waiting, at most */

	/* [milter] (postern milter) */
	char		 milter_socket[256];	/* libmilter's smfi_setconn
						   syntax: inet:PORT@HOST,
						   unix:PATH */
	unsigned	 milter_timeout;	/* seconds, smfi_settimeout */

	/* [iplist]: inline entries (comma/space separated) and files */
	char		 ip_allow[4096];
	char		 ip_allow_file[256];
	char		 ip_deny[4096];
	char		 ip_deny_file[256];
	enum conf_action ip_deny_action;
	char		 ip_only[4096];
	char		 ip_only_file[256];
	enum conf_action ip_only_action;
	char		 sender_allow[4096];
	char		 sender_allow_file[256];
	char		 sender_deny[4096];
	char		 sender_deny_file[256];
	enum conf_action sender_deny_action;

	/* [regex] */
	char		 regex_rules[1024];	/* rule files */
	char		 regex_score_threshold[32];
	char		 regex_score_action[16];
	char		 regex_tag_header[256];
	char		 regex_score_header[128];	/* "": none */
	uint64_t	 regex_body_scan_max;
	unsigned	 regex_match_limit;
	unsigned	 regex_depth_limit;

	/* [spf]: the action per result (CONF_ACTION_*) */
	int		 spf_helo;		/* check the HELO identity */
	enum conf_action spf_fail;
	enum conf_action spf_softfail;
	enum conf_action spf_neutral;
	enum conf_action spf_none;
	enum conf_action spf_temperror;
	enum conf_action spf_permerror;
	char		 spf_reject_softfail[4096];	/* sender domains */
	char		 spf_reject_softfail_file[256];
	unsigned	 spf_timeout;		/* seconds, one whole check */
	unsigned	 spf_cache_size;	/* outcomes kept, 0 = none */
	unsigned	 spf_cache_ttl;		/* seconds, at most */

	/* [dkim] */
	char		 dkim_require[4096];	/* From domains that must be
						   signed by themselves */
	char		 dkim_require_file[256];
	unsigned	 dkim_timeout;		/* seconds, a message's keys */
	char		 dkim_key_table[300];	/* OpenDKIM KeyTable: path,
						   file:path or refile:path */
	char		 dkim_signing_table[300]; /* OpenDKIM SigningTable */
	char		 dkim_internal_hosts[4096]; /* addresses, or a file */
	enum conf_dkim_outbound dkim_outbound;
	int		 dkim_canon;		/* CONF_DKIM_CANON() */
	char		 dkim_sign_headers[1024];	/* field names */
	char		 dkim_oversign_headers[1024];
	int		 dkim_multiple_signatures; /* every match signs */
	unsigned	 dkim_signature_ttl;	/* seconds, x=; 0 none */

	/* [ratelimit] */
	char		 ratelimit_connections[256];
	char		 ratelimit_client[256];
	char		 ratelimit_sender[256];
	char		 ratelimit_sender_domain[256];
	char		 ratelimit_user[256];
	char		 ratelimit_rcpt_domain[256];
	unsigned	 ratelimit_prefix4;
	unsigned	 ratelimit_prefix6;
	char		 ratelimit_allow[4096];

	/* [greylist] */
	unsigned	 greylist_delay;	/* seconds */
	unsigned	 greylist_window;	/* seconds */
	unsigned	 greylist_pass_ttl;	/* seconds */
	unsigned	 greylist_auto_allow;
	unsigned	 greylist_prefix4;
	unsigned	 greylist_prefix6;
	char		 greylist_allow[4096];
	int		 greylist_skip_spf_pass;

	/* [arc] */
	unsigned	 arc_timeout;		/* seconds, a message's lookups */
	enum { CONF_ARC_SEAL_NONE, CONF_ARC_SEAL_MODIFIED,
	    CONF_ARC_SEAL_ALL } arc_seal;	/* arc_seal: which messages */
	char		 arc_key_table[300];	/* "" = dkim.key_table */
	char		 arc_signing_table[300];	/* "" = dkim's */

	/* [redis]: the store of ratelimit and greylist */
	struct store_settings redis;
	enum conf_action redis_failure_action;	/* accept, tempfail */

	/* [dnsbl] */
	char		 dnsbl_sites[4096];	/* postscreen_dnsbl_sites */
	char		 dnsbl_rhs_sites[4096];
	unsigned	 dnsbl_threshold;
	unsigned	 dnsbl_timeout;		/* seconds, a stage's lookups */
	unsigned	 dnsbl_cache_size;	/* names kept, 0 = none */
	char		 dnsbl_reply_names[4096];	/* zone=name ... */

	/* [dmarc] */
	char		 dmarc_public_suffix_list[256];
	enum conf_action dmarc_multiple_from;	/* none or several domains:
						   accept or reject */
	int		 dmarc_reject_policy;	/* the strictest applied: 2
						   reject, 1 quarantine, 0 mark */
	enum conf_action dmarc_quarantine_action;	/* accept: tag */
	enum conf_action dmarc_temperror_action;	/* accept, tempfail */
	unsigned	 dmarc_timeout;		/* seconds, the lookups */
	char		 dmarc_arc_trusted[4096];	/* ARC sealers */
	char		 dmarc_allow_domains[4096];	/* client names and
						   SPF-verified senders */
	char		 dmarc_history_file[256];	/* "" = none */
	unsigned	 dmarc_cache_size;	/* From domains kept, 0 = none */

	/* [metrics] */
	struct conf_addr metrics_listen[1];	/* the endpoint; none: off */
	size_t		 nmetrics_listen;

	/* [filters] */
	char		 filters[CONF_FILTERS_MAX][32];	/* chain, in order */
	size_t		 nfilters;

	/* [log] */
	enum conf_log_format log_format;
	int		 log_syslog;		/* log.target = syslog */
	int		 log_level;		/* LOG_LEVEL_* */
	unsigned	 log_repeat_interval;	/* seconds, one line of each
						   peer-caused kind; 0 all */
};

/* The embedded default configuration text (policy/postern.conf). */
extern const char conf_default_text[];

/*
 * conf_parse - build a conf from text[0..len) named name (for messages),
 * then apply the overrides ("section.key=value" strings).  Returns a conf
 * with refcnt 1, or NULL with "name:line: what is wrong" (or "-o ARG: what is
 * wrong") in err.  Unknown sections and keys are errors.
 */
struct conf	*conf_parse(const char *name, const char *text, size_t len,
		    char *const *overrides, size_t noverrides, char *err,
		    size_t errsz);

/* conf_load - conf_parse on the file path, or on conf_default_text when path
 * is NULL.  "path: strerror" when the file cannot be read. */
struct conf	*conf_load(const char *path, char *const *overrides,
		    size_t noverrides, char *err, size_t errsz);

struct conf	*conf_ref(struct conf *);
void		 conf_unref(struct conf *);

/* conf_where - where section.key was set, for messages: "path:line",
 * "-o section.key", or the source when the key kept its default. */
const char	*conf_where(const struct conf *, const char *section,
		    const char *key, char *buf, size_t bufsz);
/* conf_label - "section.key" for messages about its value, after where it
 * was set: "path:line: section.key", "-o section.key". */
const char	*conf_label(const struct conf *, const char *section,
		    const char *key, char *buf, size_t bufsz);
/* conf_unused - a warning into warn for each setting that differs from
 * base's (the defaults) while no filter in filters.chain reads it. */
void		 conf_unused(const struct conf *, const struct conf *base,
		    char *warn, size_t warnsz);
/* conf_unused_filters - the filters (at most max, into names) that
 * settings conf_unused warns about would need: postern check runs their
 * init, so their files are checked all the same.  Returns how many. */
size_t		 conf_unused_filters(const struct conf *,
		    const struct conf *base, const char **names, size_t max);

/*
 * conf_print - the configuration in file syntax: every key; only those
 * whose value differs from base's (the defaults) when base is not NULL; or
 * the keys named (section.key), one "section.key = value" line each.  -1
 * with err (starts as "") for a key that does not exist.
 */
int		 conf_print(const struct conf *, const struct conf *base,
		    char *const *keys, size_t nkeys, FILE *, char *err,
		    size_t errsz);

#endif

/* SPDX-License-Identifier: ISC */
/*
 * conf.c - the configuration grammar: INI-style text -> an immutable,
 * reference-counted struct conf.  Every key is one row of conf_keys[]
 * {section, key, type, field offset and size, bounds, flags}; each type has
 * one parser and one printer in conf_types[].  Nothing here is mutable
 * global state: a reload simply parses again.
 *
 * Syntax: "[section]", "key = value", blank lines.  '#' starts a comment at
 * the start of a line, at the start of a value, or after a blank, so "key =
 * v  # note" is v.  Whitespace around sections, keys and values is trimmed;
 * lines may be of any length and end in LF or CRLF.  Durations take s, m or
 * h (bare = seconds), sizes k, M or G in any case (1024-based, bare =
 * bytes).  Booleans are yes/no, on/off, true/false or 1/0.  Lists separate
 * their items with commas and/or blanks.  A key may appear once per text;
 * later -o overrides of the same key win.
 *
 * Layering: conf_parse starts from the embedded default (conf_default_text,
 * parsed afresh each time; it must set every key), applies the given text,
 * then the -o overrides, then checks the result as a whole.  A file thus
 * lists only the keys it changes, and lists replace, never append.
 *
 * Public:
 *	conf_parse	text (+ overrides) -> conf with refcnt 1, or NULL + err.
 *	conf_load	conf_parse on a file's contents, or on the default.
 *	conf_ref	one more reference; returns its argument.
 *	conf_unref	drops one reference, frees the conf at zero; NULL is ok.
 *	conf_print	the effective configuration in file syntax, which
 *			conf_parse turns back into an equal conf.
 *
 * DIAGNOSTICS
 *	Errors go to the caller's err buffer, never to the log, as
 *	"name:line: what is wrong" for a line of text, "-o ARG: what is wrong"
 *	for an override and "name: what is wrong" for the final checks (no
 *	listen address, no backend, one line per bad proxy_protocol_from
 *	entry).  Values are quoted (the first 64 bytes)
 *	and bounds are given in the key's own units: "value out of range
 *	(1s..24h) for proxy.idle_timeout: '25h'".  A file that cannot be read
 *	is "path: strerror".  A field width the table does not know, or a
 *	reference count below zero, is a broken invariant (fatalx).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "policy/conf.h"
#include "policy/hdrbuild.h"
#include "policy/table.h"

/* Enums and booleans are stored as int; numbers as 32 or 64 bits. */
_Static_assert(sizeof(enum conf_bare_newline) == sizeof(int), "enum width");
_Static_assert(sizeof(enum conf_nul_bytes) == sizeof(int), "enum width");
_Static_assert(sizeof(enum conf_log_format) == sizeof(int), "enum width");
_Static_assert(sizeof(enum conf_dkim_outbound) == sizeof(int), "enum width");
_Static_assert(sizeof(unsigned) == sizeof(uint32_t), "unsigned width");

enum conf_type {
	CONF_T_DURATION,	/* unsigned or size_t, s/m/h */
	CONF_T_SIZE,		/* size_t or uint64_t, k/M/G */
	CONF_T_UINT,		/* any unsigned width, no suffix */
	CONF_T_BOOL,		/* int, 0 or 1 */
	CONF_T_STRING,		/* char[size] */
	CONF_T_ENUM,		/* int, from the row's names */
	CONF_T_ADDRLIST,	/* struct conf_addr[max] + size_t count */
	CONF_T_NAMELIST,	/* char[max][size] + size_t count */
};

#define CONF_F_EMPTY	0x01	/* an empty value is allowed */
#define CONF_F_NOSPACE	0x02	/* no blanks inside the value */
#define CONF_F_UNIX	0x04	/* addresses: unix:/path entries too */

#define CONF_BLANKS	" \t"
#define CONF_LISTSEP	" \t,"

struct conf_enum {
	const char	*name;		/* the first name of a value is the one
					   conf_print writes */
	int		 value;
};

struct conf_key {
	const char	*section;
	const char	*key;
	enum conf_type	 type;
	size_t		 off;		/* of the field in struct conf */
	size_t		 size;		/* of the field, or of one list item */
	size_t		 count;		/* lists: offset of the size_t count */
	uint64_t	 min;		/* numbers: inclusive bounds */
	uint64_t	 max;		/* numbers; lists: most items */
	const struct conf_enum *enums;	/* bool, enum: NULL-terminated */
	int		 flags;		/* CONF_F_* */
};

struct conf_unit {
	char		 suffix;	/* '\0' ends the table */
	uint64_t	 mult;
};

/* How a numeric type is written and read. */
struct conf_num {
	const char	*what;		/* "duration", for messages */
	const char	*hint;		/* appended to "bad duration" */
	int		 caseless;	/* suffixes in any case */
	struct conf_unit units[4];	/* largest first */
};

/* One parse: the conf being built and where we are, for messages. */
struct cparse {
	struct conf	*conf;
	char		*err;		/* caller's, may be NULL */
	size_t		 errsz;
	const char	*name;		/* text name (file path) */
	size_t		 line;		/* 1-based; 0 outside a text */
	const char	*opt;		/* the -o argument, or NULL */
	const char	*sect;		/* current [section], from conf_keys */
	int		 badsect;	/* in a bad [section]: skip its keys */
	unsigned	 nerr;		/* errors so far, all reported */
	size_t		 seen[CONF_KEYS_MAX];	/* line that set each key,
						   0 = not */
};

struct conf_type_ops {
	int		(*set)(struct cparse *, const struct conf_key *,
			    char *);
	void		(*dump)(const struct conf *, const struct conf_key *,
			    FILE *);
	const struct conf_num *num;	/* numeric types only */
};

static int	 conf_err(struct cparse *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static char	*conf_trim(char *);
static void	 conf_uncomment(char *);
static char	*conf_token(char **);
static int	 conf_text(struct cparse *, const char *, const char *,
		    size_t);
static int	 conf_line(struct cparse *, char *);
static int	 conf_section(struct cparse *, char *);
static const char *conf_section_find(const char *);
static const struct conf_key *conf_key_find(const char *, const char *);
static int	 conf_assign(struct cparse *, const char *, char *, char *);
static int	 conf_override(struct cparse *, const char *);
static int	 conf_finish(struct cparse *, const char *);
static int	 conf_check_iplist(struct cparse *, const char *,
		    const char *);
static int	 conf_defaults_complete(struct cparse *);

static int	 conf_num_parse(const struct conf_num *, const char *,
		    uint64_t *);
static void	 conf_num_fmt(const struct conf_num *, uint64_t, char *,
		    size_t);
static void	 conf_num_store(struct conf *, const struct conf_key *,
		    uint64_t);
static uint64_t	 conf_num_load(const struct conf *, const struct conf_key *);
static int	 conf_int_load(const struct conf *, const struct conf_key *);
static size_t	 conf_count_load(const struct conf *, const struct conf_key *);
static void	 conf_enum_hint(const struct conf_key *, char *, size_t);
static int	 conf_addr_parse(struct cparse *, const struct conf_key *,
		    const char *, struct conf_addr *);
static int	 conf_unix_parse(struct cparse *, const struct conf_key *,
		    const char *, struct conf_addr *);
static int	 conf_port_parse(const char *, char *, size_t);

static int	 conf_set_num(struct cparse *, const struct conf_key *, char *);
static int	 conf_set_enum(struct cparse *, const struct conf_key *,
		    char *);
static int	 conf_set_string(struct cparse *, const struct conf_key *,
		    char *);
static int	 conf_set_addrs(struct cparse *, const struct conf_key *,
		    char *);
static int	 conf_set_names(struct cparse *, const struct conf_key *,
		    char *);
static const char *conf_suggest(const char *, const char *);
static int	 conf_in_chain(const struct conf *, const char *);
static void	 conf_unused_one(const struct conf *, const struct conf *,
		    size_t, char *, size_t);
static void	 conf_value(const struct conf *, const struct conf_key *,
		    char *, size_t);
static int	 conf_key_is(const struct conf_key *, const char *);
static int	 conf_key_line(const struct conf *, const char *,
		    const char *);
static void	 conf_dump_num(const struct conf *, const struct conf_key *,
		    FILE *);
static void	 conf_dump_enum(const struct conf *, const struct conf_key *,
		    FILE *);
static void	 conf_dump_string(const struct conf *, const struct conf_key *,
		    FILE *);
static void	 conf_dump_addrs(const struct conf *, const struct conf_key *,
		    FILE *);
static void	 conf_dump_names(const struct conf *, const struct conf_key *,
		    FILE *);

static const struct conf_num conf_num_duration = {
	"duration", " (use s, m or h)", 0,
	{ { 'h', 3600 }, { 'm', 60 }, { 's', 1 }, { '\0', 0 } }
};

static const struct conf_num conf_num_size = {
	"size", " (use k, M or G)", 1,
	{ { 'G', 1ULL << 30 }, { 'M', 1ULL << 20 }, { 'k', 1ULL << 10 },
	  { '\0', 0 } }
};

static const struct conf_num conf_num_uint = {
	"number", "", 0, { { '\0', 0 } }
};

static const struct conf_type_ops conf_types[] = {
	[CONF_T_DURATION] = { conf_set_num, conf_dump_num, &conf_num_duration },
	[CONF_T_SIZE] =	{ conf_set_num, conf_dump_num, &conf_num_size },
	[CONF_T_UINT] =	{ conf_set_num, conf_dump_num, &conf_num_uint },
	[CONF_T_BOOL] =	{ conf_set_enum, conf_dump_enum, NULL },
	[CONF_T_STRING] = { conf_set_string, conf_dump_string, NULL },
	[CONF_T_ENUM] =	{ conf_set_enum, conf_dump_enum, NULL },
	[CONF_T_ADDRLIST] = { conf_set_addrs, conf_dump_addrs, NULL },
	[CONF_T_NAMELIST] = { conf_set_names, conf_dump_names, NULL },
};

static const struct conf_enum conf_enum_bool[] = {
	{ "yes", 1 }, { "no", 0 }, { "on", 1 }, { "off", 0 },
	{ "true", 1 }, { "false", 0 }, { "1", 1 }, { "0", 0 }, { NULL, 0 }
};

static const struct conf_enum conf_enum_action[] = {
	{ "reject", CONF_ACTION_REJECT }, { "tempfail", CONF_ACTION_TEMPFAIL },
	{ NULL, 0 }
};

static const struct conf_enum conf_enum_verdict[] = {
	{ "reject", CONF_ACTION_REJECT }, { "tempfail", CONF_ACTION_TEMPFAIL },
	{ "accept", CONF_ACTION_ACCEPT }, { NULL, 0 }
};

/* dmarc.reject_policy: the strictest disposition applied */
static const struct conf_enum conf_enum_dmarc_cap[] = {
	{ "reject", 2 }, { "quarantine", 1 }, { "mark", 0 }, { NULL, 0 }
};

/* dmarc.quarantine_action: tag is relaying it, marked */
static const struct conf_enum conf_enum_dmarc_quarantine[] = {
	{ "tag", CONF_ACTION_ACCEPT }, { "reject", CONF_ACTION_REJECT },
	{ "tempfail", CONF_ACTION_TEMPFAIL }, { NULL, 0 }
};

static const struct conf_enum conf_enum_accept_tempfail[] = {
	{ "accept", CONF_ACTION_ACCEPT }, { "tempfail", CONF_ACTION_TEMPFAIL },
	{ NULL, 0 }
};

static const struct conf_enum conf_enum_arc_seal[] = {
	{ "none", CONF_ARC_SEAL_NONE }, { "modified", CONF_ARC_SEAL_MODIFIED },
	{ "all", CONF_ARC_SEAL_ALL }, { NULL, 0 }
};

static const struct conf_enum conf_enum_accept_reject[] = {
	{ "accept", CONF_ACTION_ACCEPT }, { "reject", CONF_ACTION_REJECT },
	{ NULL, 0 }
};

static const struct conf_enum conf_enum_outbound[] = {
	{ "internal", CONF_DKIM_OUT_INTERNAL }, { "any", CONF_DKIM_OUT_ANY },
	{ NULL, 0 }
};

/* OpenDKIM's Canonicalization: one word is the header's, the body's is
 * then simple. */
static const struct conf_enum conf_enum_canon[] = {
	{ "relaxed/relaxed", CONF_DKIM_CANON(1, 1) },
	{ "relaxed/simple", CONF_DKIM_CANON(1, 0) },
	{ "simple/relaxed", CONF_DKIM_CANON(0, 1) },
	{ "simple/simple", CONF_DKIM_CANON(0, 0) },
	{ "relaxed", CONF_DKIM_CANON(1, 0) },
	{ "simple", CONF_DKIM_CANON(0, 0) },
	{ NULL, 0 }
};

static const struct conf_enum conf_enum_bare[] = {
	{ "reject", CONF_BARE_REJECT }, { "normalise", CONF_BARE_NORMALISE },
	{ "normalize", CONF_BARE_NORMALISE }, { NULL, 0 }
};

static const struct conf_enum conf_enum_nul[] = {
	{ "reject", CONF_NUL_REJECT }, { "strip", CONF_NUL_STRIP },
	{ NULL, 0 }
};

static const struct conf_enum conf_enum_identity[] = {
	{ "xclient", CONF_IDENTITY_XCLIENT },
	{ "xforward", CONF_IDENTITY_XFORWARD },
	{ "proxy_v1", CONF_IDENTITY_PROXY_V1 },
	{ "proxy_v2", CONF_IDENTITY_PROXY_V2 },
	{ "none", CONF_IDENTITY_NONE }, { NULL, 0 }
};

static const struct conf_enum conf_enum_backend_order[] = {
	{ "list", CONF_BACKEND_ORDER_LIST },
	{ "random", CONF_BACKEND_ORDER_RANDOM }, { NULL, 0 }
};

static const struct conf_enum conf_enum_tls_backend[] = {
	{ "off", CONF_TLS_BACKEND_OFF },
	{ "opportunistic", CONF_TLS_BACKEND_OPPORTUNISTIC },
	{ "required", CONF_TLS_BACKEND_REQUIRED }, { NULL, 0 }
};

static const struct conf_enum conf_enum_threads[] = {
	{ "auto", 0 }, { NULL, 0 }
};

static const struct conf_enum conf_enum_format[] = {
	{ "plain", CONF_LOG_PLAIN }, { "json", CONF_LOG_JSON }, { NULL, 0 }
};

static const struct conf_enum conf_enum_target[] = {
	{ "stderr", 0 }, { "syslog", 1 }, { NULL, 0 }
};

static const struct conf_enum conf_enum_level[] = {
	{ "error", LOG_LEVEL_ERR }, { "warning", LOG_LEVEL_WARN },
	{ "info", LOG_LEVEL_INFO }, { "debug", LOG_LEVEL_DEBUG }, { NULL, 0 }
};

#define H		3600
#define K		1024ULL
#define M		(1024ULL * 1024)
#define G		(1024ULL * 1024 * 1024)
#define FLD(f)		offsetof(struct conf, f), \
			sizeof(((struct conf *)NULL)->f), 0
#define LST(f, n)	offsetof(struct conf, f), \
			sizeof(((struct conf *)NULL)->f[0]), \
			offsetof(struct conf, n)
#define DUR(s, k, f)	{ s, k, CONF_T_DURATION, FLD(f), 1, 24 * H, NULL, 0 }
#define SIZ(s, k, f, lo, hi) { s, k, CONF_T_SIZE, FLD(f), lo, hi, NULL, 0 }
#define NUM(s, k, f, lo, hi) { s, k, CONF_T_UINT, FLD(f), lo, hi, NULL, 0 }
#define BOOL(s, k, f)	{ s, k, CONF_T_BOOL, FLD(f), 0, 0, conf_enum_bool, 0 }
#define ENUM(s, k, f, e) { s, k, CONF_T_ENUM, FLD(f), 0, 0, e, 0 }
#define STR(s, k, f)	{ s, k, CONF_T_STRING, FLD(f), 0, 0, NULL, CONF_F_EMPTY }

/* In the order of policy/postern.conf, which conf_print follows. */
static const struct conf_key conf_keys[] = {
	{ "proxy", "listen", CONF_T_ADDRLIST, LST(listen, nlisten),
	    0, CONF_LISTEN_MAX, NULL, CONF_F_EMPTY },
	{ "proxy", "listen_tls", CONF_T_ADDRLIST, LST(listen_tls,
	    nlisten_tls), 0, CONF_LISTEN_MAX, NULL, CONF_F_EMPTY },
	{ "proxy", "backend", CONF_T_ADDRLIST, LST(backend, nbackend),
	    0, CONF_BACKEND_MAX, NULL, CONF_F_EMPTY | CONF_F_UNIX },
	ENUM("proxy", "backend_order", backend_order,
	    conf_enum_backend_order),
	{ "proxy", "backend_retry", CONF_T_DURATION, FLD(backend_retry),
	    0, 24 * H, NULL, 0 },
	{ "proxy", "hostname", CONF_T_STRING, FLD(hostname), 0, 0, NULL,
	    CONF_F_EMPTY | CONF_F_NOSPACE },
	DUR("proxy", "connect_timeout", connect_timeout),
	DUR("proxy", "command_timeout", command_timeout),
	DUR("proxy", "data_timeout", data_timeout),
	SIZ("proxy", "min_data_rate", min_data_rate, 0, 1 * G),
	DUR("proxy", "idle_timeout", idle_timeout),
	{ "proxy", "backend_keepalive", CONF_T_DURATION,
	    FLD(backend_keepalive), 0, 24 * H, NULL, 0 },
	DUR("proxy", "shutdown_timeout", shutdown_timeout),
	NUM("proxy", "max_line_length", max_line_length, 512, 65536),
	NUM("proxy", "max_recipients", max_recipients, 1, 100000),
	SIZ("proxy", "max_message_size", max_message_size, 0, 64 * G),
	SIZ("proxy", "max_header_size", max_header_size, 1 * K, 16 * M),
	NUM("proxy", "max_header_fields", max_header_fields, 1, 1000000),
	SIZ("proxy", "max_header_total", max_header_total, 1 * K, 64 * M),
	NUM("proxy", "max_connections", max_connections, 1, 1000000),
	NUM("proxy", "max_connections_per_ip", max_connections_per_ip,
	    0, 1000000),
	NUM("proxy", "max_errors", max_errors, 1, 1000),
	{ "proxy", "spool_dir", CONF_T_STRING, FLD(spool_dir), 0, 0, NULL,
	    0 },
	SIZ("proxy", "spool_memory_max", spool_memory_max, 0, 1 * G),
	ENUM("proxy", "bare_newline", bare_newline, conf_enum_bare),
	ENUM("proxy", "nul_bytes", nul_bytes, conf_enum_nul),
	ENUM("proxy", "client_identity", client_identity, conf_enum_identity),
	BOOL("proxy", "vrfy", vrfy),
	{ "proxy", "user", CONF_T_STRING, FLD(user), 0, 0, NULL,
	    CONF_F_EMPTY | CONF_F_NOSPACE },
	{ "proxy", "threads", CONF_T_UINT, FLD(threads), 1, 256,
	    conf_enum_threads, 0 },
	{ "proxy", "authserv_id", CONF_T_STRING, FLD(authserv_id), 0, 0,
	    NULL, CONF_F_EMPTY | CONF_F_NOSPACE },
	BOOL("proxy", "proxy_protocol", proxy_protocol),
	STR("proxy", "proxy_protocol_from", proxy_protocol_from),
	{ "proxy", "proxy_protocol_timeout", CONF_T_DURATION,
	    FLD(proxy_protocol_timeout), 1, 1 * H, NULL, 0 },
	BOOL("proxy", "reverse_dns", reverse_dns),
	{ "proxy", "reverse_dns_timeout", CONF_T_DURATION,
	    FLD(reverse_dns_timeout), 1, 1 * H, NULL, 0 },
	{ "tls", "cert", CONF_T_STRING, FLD(tls_cert), 0, 0, NULL,
	    CONF_F_EMPTY | CONF_F_NOSPACE },
	{ "tls", "key", CONF_T_STRING, FLD(tls_key), 0, 0, NULL,
	    CONF_F_EMPTY | CONF_F_NOSPACE },
	STR("tls", "sni", tls_sni),
	STR("tls", "listener_certs", tls_listener_certs),
	{ "tls", "protocols", CONF_T_STRING, FLD(tls_protocols), 0, 0, NULL,
	    0 },
	{ "tls", "ciphers", CONF_T_STRING, FLD(tls_ciphers), 0, 0, NULL, 0 },
	STR("tls", "ciphersuites", tls_ciphersuites),
	DUR("tls", "handshake_timeout", tls_handshake_timeout),
	BOOL("tls", "starttls", tls_starttls),
	ENUM("tls", "backend", tls_backend, conf_enum_tls_backend),
	{ "tls", "backend_ca_file", CONF_T_STRING, FLD(tls_backend_ca_file),
	    0, 0, NULL, CONF_F_EMPTY | CONF_F_NOSPACE },
	{ "tls", "backend_name", CONF_T_STRING, FLD(tls_backend_name), 0, 0,
	    NULL, CONF_F_EMPTY | CONF_F_NOSPACE },
	{ "tls", "backend_cert", CONF_T_STRING, FLD(tls_backend_cert), 0, 0,
	    NULL, CONF_F_EMPTY | CONF_F_NOSPACE },
	{ "tls", "backend_key", CONF_T_STRING, FLD(tls_backend_key), 0, 0,
	    NULL, CONF_F_EMPTY | CONF_F_NOSPACE },
	BOOL("auth", "relay", auth_relay),
	BOOL("auth", "require_tls", auth_require_tls),
	NUM("auth", "max_failures", auth_max_failures, 1, 100),
	STR("dns", "nameserver", dns.nameserver),
	DUR("dns", "timeout", dns.timeout),
	NUM("dns", "retries", dns.retries, 1, 10),
	SIZ("dns", "cache_size", dns.cache_size, 64 * K, 1 * G),
	NUM("workers", "threads", worker_threads, 1, 256),
	NUM("workers", "queue", worker_queue, 1, 1000000),
	{ "milter", "socket", CONF_T_STRING, FLD(milter_socket), 0, 0, NULL,
	    CONF_F_NOSPACE },
	DUR("milter", "timeout", milter_timeout),
	STR("milter", "milters", milters),
	ENUM("milter", "default_action", milter_default_action,
	    conf_enum_verdict),
	DUR("milter", "connect_timeout", milter_connect_timeout),
	DUR("milter", "command_timeout", milter_command_timeout),
	DUR("milter", "content_timeout", milter_content_timeout),
	BOOL("spf", "helo", spf_helo),
	ENUM("spf", "fail", spf_fail, conf_enum_verdict),
	ENUM("spf", "softfail", spf_softfail, conf_enum_verdict),
	ENUM("spf", "neutral", spf_neutral, conf_enum_verdict),
	ENUM("spf", "none", spf_none, conf_enum_verdict),
	ENUM("spf", "temperror", spf_temperror, conf_enum_verdict),
	ENUM("spf", "permerror", spf_permerror, conf_enum_verdict),
	STR("spf", "reject_softfail", spf_reject_softfail),
	STR("spf", "reject_softfail_file", spf_reject_softfail_file),
	DUR("spf", "timeout", spf_timeout),
	NUM("spf", "cache_size", spf_cache_size, 0, 1000000),
	DUR("spf", "cache_ttl", spf_cache_ttl),
	STR("dkim", "require", dkim_require),
	STR("dkim", "require_file", dkim_require_file),
	DUR("dkim", "timeout", dkim_timeout),
	STR("dkim", "key_table", dkim_key_table),
	STR("dkim", "signing_table", dkim_signing_table),
	STR("dkim", "internal_hosts", dkim_internal_hosts),
	ENUM("dkim", "outbound", dkim_outbound, conf_enum_outbound),
	ENUM("dkim", "canonicalization", dkim_canon, conf_enum_canon),
	STR("dkim", "sign_headers", dkim_sign_headers),
	STR("dkim", "oversign_headers", dkim_oversign_headers),
	BOOL("dkim", "multiple_signatures", dkim_multiple_signatures),
	{ "dkim", "signature_ttl", CONF_T_DURATION, FLD(dkim_signature_ttl),
	    0, 8760 * H, NULL, 0 },
	STR("iplist", "allow", ip_allow),
	STR("iplist", "allow_file", ip_allow_file),
	STR("iplist", "deny", ip_deny),
	STR("iplist", "deny_file", ip_deny_file),
	ENUM("iplist", "deny_action", ip_deny_action, conf_enum_action),
	STR("iplist", "only", ip_only),
	STR("iplist", "only_file", ip_only_file),
	ENUM("iplist", "only_action", ip_only_action, conf_enum_action),
	STR("iplist", "sender_allow", sender_allow),
	STR("iplist", "sender_allow_file", sender_allow_file),
	STR("iplist", "sender_deny", sender_deny),
	STR("iplist", "sender_deny_file", sender_deny_file),
	ENUM("iplist", "sender_deny_action", sender_deny_action,
	    conf_enum_action),
	STR("regex", "rules", regex_rules),
	STR("regex", "score_threshold", regex_score_threshold),
	STR("regex", "score_action", regex_score_action),
	STR("regex", "tag_header", regex_tag_header),
	STR("regex", "score_header", regex_score_header),
	SIZ("regex", "body_scan_max", regex_body_scan_max, 1 * K, 64 * M),
	NUM("regex", "match_limit", regex_match_limit, 100, 100000000),
	NUM("regex", "depth_limit", regex_depth_limit, 10, 1000000),
	STR("ratelimit", "connections", ratelimit_connections),
	STR("ratelimit", "client", ratelimit_client),
	STR("ratelimit", "sender", ratelimit_sender),
	STR("ratelimit", "sender_domain", ratelimit_sender_domain),
	STR("ratelimit", "user", ratelimit_user),
	STR("ratelimit", "rcpt_domain", ratelimit_rcpt_domain),
	NUM("ratelimit", "prefix4", ratelimit_prefix4, 1, 32),
	NUM("ratelimit", "prefix6", ratelimit_prefix6, 1, 128),
	STR("ratelimit", "allow", ratelimit_allow),
	DUR("greylist", "delay", greylist_delay),
	{ "greylist", "window", CONF_T_DURATION, FLD(greylist_window), 60,
	    30 * 24 * H, NULL, 0 },
	{ "greylist", "pass_ttl", CONF_T_DURATION, FLD(greylist_pass_ttl), 60,
	    365 * 24 * H, NULL, 0 },
	NUM("greylist", "auto_allow", greylist_auto_allow, 0, 1000),
	NUM("greylist", "prefix4", greylist_prefix4, 1, 32),
	NUM("greylist", "prefix6", greylist_prefix6, 1, 128),
	STR("greylist", "allow", greylist_allow),
	BOOL("greylist", "skip_spf_pass", greylist_skip_spf_pass),
	DUR("arc", "timeout", arc_timeout),
	ENUM("arc", "seal", arc_seal, conf_enum_arc_seal),
	STR("arc", "key_table", arc_key_table),
	STR("arc", "signing_table", arc_signing_table),
	STR("redis", "server", redis.server),
	STR("redis", "user", redis.user),
	STR("redis", "password", redis.password),
	NUM("redis", "database", redis.database, 0, 10000),
	DUR("redis", "timeout", redis.timeout),
	ENUM("redis", "failure_action", redis_failure_action,
	    conf_enum_accept_tempfail),
	NUM("redis", "memory_keys", redis.memory_keys, 1, 100000000),
	STR("dnsbl", "sites", dnsbl_sites),
	STR("dnsbl", "rhs_sites", dnsbl_rhs_sites),
	NUM("dnsbl", "threshold", dnsbl_threshold, 1, 1000),
	DUR("dnsbl", "timeout", dnsbl_timeout),
	NUM("dnsbl", "cache_size", dnsbl_cache_size, 0, 1000000),
	STR("dnsbl", "reply_names", dnsbl_reply_names),
	STR("dmarc", "public_suffix_list", dmarc_public_suffix_list),
	ENUM("dmarc", "multiple_from", dmarc_multiple_from,
	    conf_enum_accept_reject),
	ENUM("dmarc", "reject_policy", dmarc_reject_policy,
	    conf_enum_dmarc_cap),
	ENUM("dmarc", "quarantine_action", dmarc_quarantine_action,
	    conf_enum_dmarc_quarantine),
	ENUM("dmarc", "temperror_action", dmarc_temperror_action,
	    conf_enum_accept_tempfail),
	DUR("dmarc", "timeout", dmarc_timeout),
	STR("dmarc", "allow_domains", dmarc_allow_domains),
	STR("dmarc", "arc_trusted", dmarc_arc_trusted),
	STR("dmarc", "history_file", dmarc_history_file),
	NUM("dmarc", "cache_size", dmarc_cache_size, 0, 1000000),
	{ "filters", "chain", CONF_T_NAMELIST, LST(filters, nfilters),
	    0, CONF_FILTERS_MAX, NULL, CONF_F_EMPTY },
	{ "metrics", "listen", CONF_T_ADDRLIST, LST(metrics_listen,
	    nmetrics_listen), 0, 1, NULL, CONF_F_EMPTY },
	ENUM("log", "format", log_format, conf_enum_format),
	ENUM("log", "target", log_syslog, conf_enum_target),
	ENUM("log", "level", log_level, conf_enum_level),
	{ "log", "repeat_interval", CONF_T_DURATION, FLD(log_repeat_interval),
	    0, 24 * H, NULL, 0 },
};

_Static_assert(nitems(conf_keys) <= nitems(((struct cparse *)NULL)->seen),
    "cparse.seen too small");

struct conf *
conf_parse(const char *name, const char *text, size_t len,
    char *const *overrides, size_t noverrides, char *err, size_t errsz)
{
	struct cparse	 p;
	size_t		 i;

	if (name == NULL)
		name = "(text)";
	memset(&p, 0, sizeof(p));
	p.conf = xcalloc(1, sizeof(*p.conf));
	p.conf->refcnt = 1;
	p.err = err;
	p.errsz = errsz;
	if (err != NULL && errsz > 0)
		err[0] = '\0';

	if (conf_text(&p, "(default)", conf_default_text,
	    strlen(conf_default_text)) == -1 ||
	    conf_defaults_complete(&p) == -1)
		goto fail;
	/* From here every error is reported: a bad line or -o is skipped. */
	(void)conf_text(&p, name, text, text == NULL ? 0 : len);
	for (i = 0; i < noverrides; i++)
		(void)conf_override(&p, overrides[i]);
	if (p.nerr == 0)
		(void)conf_finish(&p, name);
	if (p.nerr > 0)
		goto fail;
	return p.conf;

 fail:
	free(p.conf);
	return NULL;
}

struct conf *
conf_load(const char *path, char *const *overrides, size_t noverrides,
    char *err, size_t errsz)
{
	struct conf	*c;
	char		*text;
	size_t		 len;

	if (path == NULL)
		return conf_parse("(default)", conf_default_text,
		    strlen(conf_default_text), overrides, noverrides, err,
		    errsz);
	if ((text = util_read_file(path, &len)) == NULL) {
		if (err != NULL && errsz > 0)
			snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return NULL;
	}
	c = conf_parse(path, text, len, overrides, noverrides, err, errsz);
	free(text);
	return c;
}

struct conf *
conf_ref(struct conf *c)
{
	__atomic_add_fetch(&c->refcnt, 1, __ATOMIC_RELAXED);
	return c;
}

void
conf_unref(struct conf *c)
{
	int	 n;

	if (c == NULL)
		return;
	n = __atomic_sub_fetch(&c->refcnt, 1, __ATOMIC_ACQ_REL);
	if (n < 0)
		fatalx("conf_unref: reference count %d for %s", n, c->source);
	if (n == 0)
		free(c);
}

/* " (did you mean 'x'?)" for the key of sect nearest to key, or "". */
static const char *
conf_suggest(const char *sect, const char *key)
{
	static char	 buf[96];
	const char	*names[CONF_KEYS_MAX], *best;
	size_t		 i, n = 0;

	for (i = 0; i < nitems(conf_keys); i++)
		if (strcmp(conf_keys[i].section, sect) == 0)
			names[n++] = conf_keys[i].key;
	if ((best = util_closest(key, names, n)) == NULL)
		return "";
	snprintf(buf, sizeof(buf), " (did you mean '%s'?)", best);
	return buf;
}

/* The line of source that set section.key, -1 for an -o, 0 for none. */
static int
conf_key_line(const struct conf *c, const char *section, const char *key)
{
	const struct conf_key	*k = conf_key_find(section, key);

	return k != NULL ? c->key_line[k - conf_keys] : 0;
}

const char *
conf_where(const struct conf *c, const char *section, const char *key,
    char *buf, size_t bufsz)
{
	int	 line = conf_key_line(c, section, key);

	if (line > 0)
		snprintf(buf, bufsz, "%s:%d", c->source, line);
	else if (line < 0)
		snprintf(buf, bufsz, "-o %s.%s", section, key);
	else
		snprintf(buf, bufsz, "%s", c->source);
	return buf;
}

const char *
conf_label(const struct conf *c, const char *section, const char *key,
    char *buf, size_t bufsz)
{
	int	 line = conf_key_line(c, section, key);

	if (line > 0)
		snprintf(buf, bufsz, "%s:%d: %s.%s", c->source, line, section,
		    key);
	else
		snprintf(buf, bufsz, "%s%s.%s", line < 0 ? "-o " : "", section,
		    key);
	return buf;
}

/*
 * Settings only a filter reads: section, key (NULL: every key of the
 * section), and the filters that read it.  The milter section's socket
 * and timeout are the milter front end's, not the filter's.
 */
static const struct {
	const char	*section;
	const char	*key;
	const char	*filters[2];
} conf_users[] = {
	{ "iplist", NULL, { "iplist", NULL } },
	{ "regex", NULL, { "regex", NULL } },
	{ "spf", NULL, { "spf", NULL } },
	{ "dnsbl", NULL, { "dnsbl", NULL } },
	{ "ratelimit", NULL, { "ratelimit", NULL } },
	{ "greylist", NULL, { "greylist", NULL } },
	{ "redis", NULL, { "ratelimit", "greylist" } },
	{ "arc", "timeout", { "arc", NULL } },
	{ "arc", NULL, { "arc_seal", NULL } },
	{ "dmarc", NULL, { "dmarc", NULL } },
	{ "dkim", "require", { "dkim_verify", NULL } },
	{ "dkim", "require_file", { "dkim_verify", NULL } },
	{ "dkim", "timeout", { "dkim_verify", "dkim_sign" } },
	{ "dkim", NULL, { "dkim_sign", NULL } },
	{ "milter", "milters", { "milter", NULL } },
	{ "milter", "default_action", { "milter", NULL } },
	{ "milter", "connect_timeout", { "milter", NULL } },
	{ "milter", "command_timeout", { "milter", NULL } },
	{ "milter", "content_timeout", { "milter", NULL } },
};

/* Whether filter name is in c's chain. */
static int
conf_in_chain(const struct conf *c, const char *name)
{
	size_t	 i;

	for (i = 0; name != NULL && i < c->nfilters; i++)
		if (strcmp(c->filters[i], name) == 0)
			return 1;
	return 0;
}

size_t
conf_unused_filters(const struct conf *c, const struct conf *base,
    const char **names, size_t max)
{
	char	 warn[256];
	size_t	 i, j, n = 0;

	for (i = 0; i < nitems(conf_users); i++) {
		for (j = 0; j < n; j++)
			if (strcmp(names[j], conf_users[i].filters[0]) == 0)
				break;
		if (j < n || n == max)
			continue;
		warn[0] = '\0';
		conf_unused_one(c, base, i, warn, sizeof(warn));
		if (warn[0] != '\0')
			names[n++] = conf_users[i].filters[0];
	}
	return n;
}

void
conf_unused(const struct conf *c, const struct conf *base, char *warn,
    size_t warnsz)
{
	size_t	 i;

	for (i = 0; i < nitems(conf_users); i++)
		conf_unused_one(c, base, i, warn, warnsz);
}

/* conf_unused for the keys of conf_users[u] (the first entry that names
 * a key wins, as in the table's order). */
static void
conf_unused_one(const struct conf *c, const struct conf *base, size_t u,
    char *warn, size_t warnsz)
{
	const struct conf_key	*k;
	static char		 v[65536], b[65536];
	char			 where[300], what[128];
	size_t			 i;

	for (k = conf_keys; k < conf_keys + nitems(conf_keys); k++) {
		for (i = 0; i < nitems(conf_users); i++)
			if (strcmp(conf_users[i].section, k->section) == 0 &&
			    (conf_users[i].key == NULL ||
			    strcmp(conf_users[i].key, k->key) == 0))
				break;
		if (i != u || conf_in_chain(c, conf_users[i].filters[0]) ||
		    conf_in_chain(c, conf_users[i].filters[1]))
			continue;
		conf_value(c, k, v, sizeof(v));
		conf_value(base, k, b, sizeof(b));
		if (strcmp(v, b) == 0)
			continue;
		(void)conf_where(c, k->section, k->key, where, sizeof(where));
		if (where[0] != '-')	/* "-o section.key" names it already */
			snprintf(what, sizeof(what), "%s.%s is ", k->section,
			    k->key);
		util_err_append(warn, warnsz, "%s: %sset, but no filter in "
		    "filters.chain reads it (add %s%s%s)", where,
		    where[0] != '-' ? what : "", conf_users[i].filters[0],
		    conf_users[i].filters[1] != NULL ? " or " : "",
		    conf_users[i].filters[1] != NULL ?
		    conf_users[i].filters[1] : "");
	}
}

/* One key's value as the file writes it (after "key ="), into buf. */
static void
conf_value(const struct conf *c, const struct conf_key *k, char *buf,
    size_t bufsz)
{
	FILE	*fp;

	buf[0] = '\0';
	if ((fp = fmemopen(buf, bufsz, "w")) == NULL)
		fatal("fmemopen");
	conf_types[k->type].dump(c, k, fp);
	fclose(fp);
}

/* Whether key (section.key) names k. */
static int
conf_key_is(const struct conf_key *k, const char *key)
{
	size_t	 n = strlen(k->section);

	return strncmp(key, k->section, n) == 0 && key[n] == '.' &&
	    strcmp(key + n + 1, k->key) == 0;
}

int
conf_print(const struct conf *c, const struct conf *base, char *const *keys,
    size_t nkeys, FILE *fp, char *err, size_t errsz)
{
	const struct conf_key	*k;
	const char		*sect = NULL, *s;
	static char		 v[65536], b[65536];
	size_t			 i, bad = 0;

	for (i = 0; i < nkeys; i++) {
		for (k = conf_keys; k < conf_keys + nitems(conf_keys); k++)
			if (conf_key_is(k, keys[i]))
				break;
		if (k == conf_keys + nitems(conf_keys)) {
			util_err_append(err, errsz, "%s: no such key "
			    "(section.key)", keys[i]);
			bad++;
		}
	}
	if (bad > 0)
		return -1;
	for (i = 0; i < nkeys; i++)
		for (k = conf_keys; k < conf_keys + nitems(conf_keys); k++)
			if (conf_key_is(k, keys[i])) {
				conf_value(c, k, v, sizeof(v));
				fprintf(fp, "%s.%s =%s\n", k->section, k->key,
				    v);
			}
	if (nkeys > 0)
		return 0;
	/* The source may be any path: keep the comment on its line. */
	fputs("# postern configuration, from ", fp);
	for (s = c->source; *s != '\0'; s++)
		fputc(iscntrl((unsigned char)*s) ? '?' : *s, fp);
	fputs(base != NULL ? ", what differs from the defaults\n" : "\n",
	    fp);
	for (k = conf_keys; k < conf_keys + nitems(conf_keys); k++) {
		conf_value(c, k, v, sizeof(v));
		if (base != NULL) {
			conf_value(base, k, b, sizeof(b));
			if (strcmp(v, b) == 0)
				continue;
		}
		if (sect == NULL || strcmp(sect, k->section) != 0) {
			sect = k->section;
			fprintf(fp, "\n[%s]\n", sect);
		}
		fprintf(fp, "%s =%s\n", k->key, v);
	}
	return 0;
}

/*
 * Messages.  The format's own text never contains the position: it is put
 * in front here, from the parse state.
 */
static int
conf_err(struct cparse *p, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[512];

	p->nerr++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->opt != NULL)
		util_err_append(p->err, p->errsz, "-o %s: %s", p->opt, msg);
	else if (p->line > 0)
		util_err_append(p->err, p->errsz, "%s:%zu: %s", p->name,
		    p->line, msg);
	else
		util_err_append(p->err, p->errsz, "%s: %s", p->name, msg);
	return -1;
}

static char *
conf_trim(char *s)
{
	size_t	 n;

	s += strspn(s, CONF_BLANKS);
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	s[n] = '\0';
	return s;
}

/* Cut s at the first '#' that starts it or follows a blank. */
static void
conf_uncomment(char *s)
{
	char	*h;

	for (h = s; (h = strchr(h, '#')) != NULL; h++) {
		if (h == s || h[-1] == ' ' || h[-1] == '\t') {
			*h = '\0';
			return;
		}
	}
}

/* The next list item of *sp, NUL-terminated in place; NULL at the end. */
static char *
conf_token(char **sp)
{
	char	*s = *sp, *t;

	s += strspn(s, CONF_LISTSEP);
	if (*s == '\0')
		return NULL;
	t = s + strcspn(s, CONF_LISTSEP);
	if (*t != '\0')
		*t++ = '\0';
	*sp = t;
	return s;
}

/* Each line of text[0..len), in order; a bad line is reported and
 * skipped, so every error is reported.  -1 if there was one. */
static int
conf_text(struct cparse *p, const char *name, const char *text, size_t len)
{
	const char	*s, *nl;
	char		*line = NULL;
	size_t		 n, cap = 0, off;
	int		 rv = 0;

	p->name = name;
	p->line = 0;
	p->opt = NULL;
	p->sect = NULL;
	memset(p->seen, 0, sizeof(p->seen));
	p->badsect = 0;
	for (off = 0; off < len; off += n + 1) {
		s = text + off;
		nl = memchr(s, '\n', len - off);
		n = nl != NULL ? (size_t)(nl - s) : len - off;
		p->line++;
		if (memchr(s, '\0', n) != NULL) {
			rv = conf_err(p, "NUL byte in line");
			if (nl == NULL)
				break;
			continue;
		}
		if (n + 1 > cap) {
			cap = n + 1;
			line = xrealloc(line, cap);
		}
		memcpy(line, s, n);
		line[n] = '\0';
		if (n > 0 && line[n - 1] == '\r')
			line[n - 1] = '\0';
		if (conf_line(p, line) == -1)
			rv = -1;	/* reported; on to the next line */
		if (nl == NULL)
			break;
	}
	free(line);
	return rv;
}

static int
conf_line(struct cparse *p, char *line)
{
	char	*s, *eq;

	conf_uncomment(line);
	s = conf_trim(line);
	if (*s == '\0')
		return 0;
	if (*s == '[')
		return conf_section(p, s);
	if (p->badsect)
		return 0;
	if ((eq = strchr(s, '=')) == NULL)
		return conf_err(p, "missing '=' (use key = value)");
	*eq = '\0';
	if (p->sect == NULL)
		return conf_err(p, "key outside a section");
	return conf_assign(p, p->sect, conf_trim(s), eq + 1);
}

/* "[name]", s at the '['; blanks inside the brackets are trimmed. */
static int
conf_section(struct cparse *p, char *s)
{
	char		*end, *name;
	const char	*sect;

	if ((end = strchr(s, ']')) == NULL)
		return conf_err(p, "missing ']' after section name");
	if (end[1] != '\0')
		return conf_err(p, "junk after ']'");
	*end = '\0';
	name = conf_trim(s + 1);
	if ((sect = conf_section_find(name)) == NULL) {
		p->badsect = 1;		/* its keys would only add noise */
		return conf_err(p, "unknown section [%.64s]", name);
	}
	p->sect = sect;
	p->badsect = 0;
	return 0;
}

/* The table's own spelling of a section, or NULL when there is none. */
static const char *
conf_section_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < nitems(conf_keys); i++)
		if (strcmp(conf_keys[i].section, name) == 0)
			return conf_keys[i].section;
	return NULL;
}

static const struct conf_key *
conf_key_find(const char *sect, const char *key)
{
	size_t	 i;

	for (i = 0; i < nitems(conf_keys); i++)
		if (strcmp(conf_keys[i].section, sect) == 0 &&
		    strcmp(conf_keys[i].key, key) == 0)
			return &conf_keys[i];
	return NULL;
}

/*
 * Set sect.key from val (untrimmed, may be changed in place): the checks
 * every type shares, then the type's own parser.
 */
static int
conf_assign(struct cparse *p, const char *sect, char *key, char *val)
{
	const struct conf_key	*k;
	const unsigned char	*u;
	size_t			 i;

	if (*key == '\0')
		return conf_err(p, "missing key before '='");
	if ((k = conf_key_find(sect, key)) == NULL)
		return conf_err(p, "unknown key '%.64s' in section [%s]%s",
		    key, sect, conf_suggest(sect, key));
	i = (size_t)(k - conf_keys);
	if (p->opt == NULL && p->seen[i] != 0)
		return conf_err(p, "duplicate key %s.%s (first on line %zu)",
		    k->section, k->key, p->seen[i]);
	p->seen[i] = p->opt == NULL ? p->line : 1;
	p->conf->key_line[i] = p->opt == NULL ? (int)p->line : -1;

	val = conf_trim(val);
	conf_uncomment(val);
	val = conf_trim(val);
	if (*val == '\0' && (k->flags & CONF_F_EMPTY) == 0)
		return conf_err(p, "missing value for %s.%s", k->section,
		    k->key);
	for (u = (const unsigned char *)val; *u != '\0'; u++)
		if ((*u < 0x20 && *u != '\t') || *u == 0x7f)
			return conf_err(p, "control character in value for "
			    "%s.%s", k->section, k->key);
	if ((k->flags & CONF_F_NOSPACE) && strpbrk(val, CONF_BLANKS) != NULL)
		return conf_err(p, "blank in value for %s.%s", k->section,
		    k->key);
	return conf_types[k->type].set(p, k, val);
}

/* "-o section.key=value": like "key = value" in [section] of a file. */
static int
conf_override(struct cparse *p, const char *arg)
{
	char	*buf, *eq, *dot, *sect;
	int	 rv;

	p->opt = arg;
	p->line = 0;
	buf = xstrdup(arg);
	if ((eq = strchr(buf, '=')) == NULL) {
		rv = conf_err(p, "missing '=' (use section.key=value)");
		goto done;
	}
	*eq = '\0';
	if ((dot = strchr(buf, '.')) == NULL) {
		rv = conf_err(p, "missing '.' (use section.key=value)");
		goto done;
	}
	*dot = '\0';
	sect = conf_trim(buf);
	if (conf_section_find(sect) == NULL) {
		rv = conf_err(p, "unknown section [%.64s]", sect);
		goto done;
	}
	rv = conf_assign(p, sect, conf_trim(dot + 1), eq + 1);
 done:
	free(buf);
	return rv;
}

/* Checks on the whole; the host name is looked up here, once per load. */
static int
conf_finish(struct cparse *p, const char *name)
{
	struct conf	*c = p->conf;

	p->name = name;
	p->line = 0;
	p->opt = NULL;
	if (c->hostname[0] == '\0') {
		if (gethostname(c->hostname, sizeof(c->hostname) - 1) == -1 ||
		    c->hostname[0] == '\0')
			strlcpy(c->hostname, "localhost", sizeof(c->hostname));
		c->hostname[sizeof(c->hostname) - 1] = '\0';
	}
	if (c->authserv_id[0] == '\0')
		strlcpy(c->authserv_id, c->hostname, sizeof(c->authserv_id));
	if (!hdrbuild_is_domain(c->authserv_id))
		return conf_err(p, "proxy.authserv_id: '%.64s' is not a domain "
		    "name (set proxy.authserv_id, or proxy.hostname)",
		    c->authserv_id);
	if (c->nlisten == 0 && c->nlisten_tls == 0)
		return conf_err(p, "no listen address (set proxy.listen)");
	if (c->nlisten_tls > 0 && c->tls_cert[0] == '\0')
		return conf_err(p, "proxy.listen_tls needs a certificate (set "
		    "tls.cert)");
	if (c->nbackend == 0)
		return conf_err(p, "no backend address (set proxy.backend)");
	if (conf_check_iplist(p, c->proxy_protocol_from,
	    "proxy.proxy_protocol_from") == -1)
		return -1;
	strlcpy(c->source, name, sizeof(c->source));
	return 0;
}

/* An address list the proxy itself uses (not a filter's): every entry must
 * parse, so a typo fails the load instead of refusing clients later. */
static int
conf_check_iplist(struct cparse *p, const char *list, const char *label)
{
	struct iptable	*t;
	char		 err[2048] = "", *line, *save;
	int		 rc;

	rc = iptable_from(&t, list, "", label, err, sizeof(err));
	iptable_free(t);
	if (rc == 0)
		return 0;
	for (line = strtok_r(err, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		(void)conf_err(p, "%s", line);	/* one per bad entry */
	return -1;
}

/* Every key must have its default in policy/postern.conf. */
static int
conf_defaults_complete(struct cparse *p)
{
	size_t	 i;

	p->line = 0;
	for (i = 0; i < nitems(conf_keys); i++)
		if (p->seen[i] == 0)
			return conf_err(p, "no default for %s.%s",
			    conf_keys[i].section, conf_keys[i].key);
	return 0;
}

/*
 * Numbers: decimal digits and at most one unit suffix.  Overflow saturates
 * at UINT64_MAX, which every row's max is below, so it reads as "out of
 * range" rather than as a syntax error.
 */
static int
conf_num_parse(const struct conf_num *n, const char *s, uint64_t *out)
{
	const struct conf_unit	*u;
	uint64_t		 v = 0, mult = 1, d;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		d = (uint64_t)(*s - '0');
		v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
	}
	if (*s != '\0') {
		for (u = n->units; u->suffix != '\0'; u++)
			if (*s == u->suffix || (n->caseless &&
			    tolower((unsigned char)*s) ==
			    tolower((unsigned char)u->suffix)))
				break;
		if (u->suffix == '\0' || s[1] != '\0')
			return -1;
		mult = u->mult;
	}
	*out = v > UINT64_MAX / mult ? UINT64_MAX : v * mult;
	return 0;
}

/* v in the largest unit that divides it exactly: 300 -> "5m", 90 -> "90s". */
static void
conf_num_fmt(const struct conf_num *n, uint64_t v, char *buf, size_t sz)
{
	const struct conf_unit	*u;

	for (u = n->units; u->suffix != '\0'; u++)
		if (v != 0 && v % u->mult == 0) {
			snprintf(buf, sz, "%llu%c",
			    (unsigned long long)(v / u->mult), u->suffix);
			return;
		}
	snprintf(buf, sz, "%llu", (unsigned long long)v);
}

static void
conf_num_store(struct conf *c, const struct conf_key *k, uint64_t v)
{
	char		*dst = (char *)c + k->off;
	uint32_t	 v32;

	if (k->size == sizeof(uint32_t)) {
		v32 = (uint32_t)v;
		memcpy(dst, &v32, sizeof(v32));
	} else if (k->size == sizeof(uint64_t))
		memcpy(dst, &v, sizeof(v));
	else
		fatalx("conf: %s.%s: no %zu-byte numbers", k->section, k->key,
		    k->size);
}

static uint64_t
conf_num_load(const struct conf *c, const struct conf_key *k)
{
	const char	*src = (const char *)c + k->off;
	uint32_t	 v32;
	uint64_t	 v;

	if (k->size == sizeof(uint32_t)) {
		memcpy(&v32, src, sizeof(v32));
		return v32;
	}
	if (k->size != sizeof(uint64_t))
		fatalx("conf: %s.%s: no %zu-byte numbers", k->section, k->key,
		    k->size);
	memcpy(&v, src, sizeof(v));
	return v;
}

static int
conf_int_load(const struct conf *c, const struct conf_key *k)
{
	int	 v;

	memcpy(&v, (const char *)c + k->off, sizeof(v));
	return v;
}

/* Items in a list. */
static size_t
conf_count_load(const struct conf *c, const struct conf_key *k)
{
	size_t	 n;

	memcpy(&n, (const char *)c + k->count, sizeof(n));
	return n;
}

static int
conf_set_num(struct cparse *p, const struct conf_key *k, char *val)
{
	const struct conf_num	*n = conf_types[k->type].num;
	uint64_t		 v;
	const struct conf_enum	*e;
	char			 lo[32], hi[32];

	/* a number with names for some values (threads = auto) */
	for (e = k->enums; e != NULL && e->name != NULL; e++)
		if (strcasecmp(e->name, val) == 0) {
			conf_num_store(p->conf, k, (uint64_t)e->value);
			return 0;
		}
	if (conf_num_parse(n, val, &v) == -1)
		return conf_err(p, "bad %s '%.64s' for %s.%s%s", n->what, val,
		    k->section, k->key, n->hint);
	if (v < k->min || v > k->max) {
		conf_num_fmt(n, k->min, lo, sizeof(lo));
		conf_num_fmt(n, k->max, hi, sizeof(hi));
		return conf_err(p, "value out of range (%s..%s) for %s.%s: "
		    "'%.64s'", lo, hi, k->section, k->key, val);
	}
	conf_num_store(p->conf, k, v);
	return 0;
}

static int
conf_set_enum(struct cparse *p, const struct conf_key *k, char *val)
{
	const struct conf_enum	*e;
	char			 hint[128];

	for (e = k->enums; e->name != NULL; e++)
		if (strcasecmp(e->name, val) == 0)
			break;
	if (e->name == NULL) {
		conf_enum_hint(k, hint, sizeof(hint));
		return conf_err(p, "bad %s '%.64s' for %s.%s (use %s)",
		    k->type == CONF_T_BOOL ? "boolean" : "value", val,
		    k->section, k->key, hint);
	}
	memcpy((char *)p->conf + k->off, &e->value, sizeof(e->value));
	return 0;
}

/* "a, b or c": the first name of each value, aliases left out. */
static void
conf_enum_hint(const struct conf_key *k, char *buf, size_t sz)
{
	const struct conf_enum	*e, *f;
	const char		*names[8];
	size_t			 i, n = 0;

	for (e = k->enums; e->name != NULL && n < nitems(names); e++) {
		for (f = k->enums; f < e; f++)
			if (f->value == e->value)
				break;
		if (f == e)
			names[n++] = e->name;
	}
	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		if (i > 0)
			strlcat(buf, i + 1 == n ? " or " : ", ", sz);
		strlcat(buf, names[i], sz);
	}
}

static int
conf_set_string(struct cparse *p, const struct conf_key *k, char *val)
{
	char	*dst = (char *)p->conf + k->off;
	size_t	 n = strlen(val);

	if (n >= k->size)
		return conf_err(p, "value too long for %s.%s (at most %zu "
		    "bytes)", k->section, k->key, k->size - 1);
	memset(dst, 0, k->size);
	memcpy(dst, val, n);
	return 0;
}

/* An address list. */
static int
conf_set_addrs(struct cparse *p, const struct conf_key *k, char *val)
{
	struct conf_addr	*a = (struct conf_addr *)((char *)p->conf +
				    k->off);
	char			*tok;
	size_t			 i, n = 0;

	memset(a, 0, k->max * sizeof(*a));
	while ((tok = conf_token(&val)) != NULL) {
		if (n == k->max)
			return conf_err(p, "too many addresses for %s.%s (at "
			    "most %llu)", k->section, k->key,
			    (unsigned long long)k->max);
		if (conf_addr_parse(p, k, tok, &a[n]) == -1)
			return -1;
		for (i = 0; i < n; i++)
			if (strcmp(a[i].host, a[n].host) == 0 &&
			    strcmp(a[i].port, a[n].port) == 0)
				return conf_err(p, "duplicate address "
				    "'%.64s' for %s.%s", tok, k->section,
				    k->key);
		n++;
	}
	memcpy((char *)p->conf + k->count, &n, sizeof(n));
	return 0;
}

/*
 * "host:port" or "[host]:port".  The host must be non-empty and free of
 * the characters that would not survive conf_print ('[', ']', '#'); a
 * colon in it needs the brackets.  The port is stored in plain decimal.
 * Where the key allows it, "unix:/path": host is the absolute path
 * (sockaddr_un's room at most), port is empty.
 */
static int
conf_addr_parse(struct cparse *p, const struct conf_key *k, const char *tok,
    struct conf_addr *a)
{
	const char	*host, *port, *end;
	size_t		 hlen;

	if ((k->flags & CONF_F_UNIX) && strncmp(tok, "unix:", 5) == 0)
		return conf_unix_parse(p, k, tok + 5, a);
	if (tok[0] == '[') {
		host = tok + 1;
		if ((end = strchr(host, ']')) == NULL || end[1] != ':')
			goto bad;
		hlen = (size_t)(end - host);
		port = end + 2;
	} else {
		if ((port = strrchr(tok, ':')) == NULL)
			goto bad;
		host = tok;
		hlen = (size_t)(port - tok);
		port++;
		if (memchr(host, ':', hlen) != NULL)
			return conf_err(p, "IPv6 address needs brackets in "
			    "'%.64s' for %s.%s", tok, k->section, k->key);
	}
	if (hlen == 0 || strcspn(host, "[]#") < hlen)
		goto bad;
	if (hlen >= sizeof(a->host))
		return conf_err(p, "host too long in '%.64s' for %s.%s (at "
		    "most %zu bytes)", tok, k->section, k->key,
		    sizeof(a->host) - 1);
	if (conf_port_parse(port, a->port, sizeof(a->port)) == -1)
		return conf_err(p, "bad port in '%.64s' for %s.%s (1..65535)",
		    tok, k->section, k->key);
	memcpy(a->host, host, hlen);
	a->host[hlen] = '\0';
	return 0;
 bad:
	return conf_err(p, "bad address '%.64s' for %s.%s (use host:port%s "
	    "or [ipv6]:port)", tok, k->section, k->key,
	    (k->flags & CONF_F_UNIX) ? ", unix:/path" : "");
}

/* The path of a unix: entry: absolute, without '#' (conf_print),
 * short enough for sun_path with its NUL. */
static int
conf_unix_parse(struct cparse *p, const struct conf_key *k,
    const char *path, struct conf_addr *a)
{
	size_t	 len = strlen(path);

	if (path[0] != '/' || strchr(path, '#') != NULL)
		return conf_err(p, "bad path 'unix:%.64s' for %s.%s (an "
		    "absolute path)", path, k->section, k->key);
	if (len >= CONF_UNIX_PATH_MAX)
		return conf_err(p, "path too long in 'unix:%.64s' for %s.%s "
		    "(at most %d bytes)", path, k->section, k->key,
		    CONF_UNIX_PATH_MAX - 1);
	memcpy(a->host, path, len + 1);
	a->port[0] = '\0';
	return 0;
}

static int
conf_port_parse(const char *s, char *buf, size_t sz)
{
	unsigned long	 v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > 65535)
			return -1;
	}
	if (v == 0)
		return -1;
	snprintf(buf, sz, "%lu", v);
	return 0;
}

/* Names of [a-z0-9_], shorter than an item; validity is the chain's. */
static int
conf_set_names(struct cparse *p, const struct conf_key *k, char *val)
{
	char	*base = (char *)p->conf + k->off, *tok;
	size_t	 len, n = 0;

	memset(base, 0, k->max * k->size);
	while ((tok = conf_token(&val)) != NULL) {
		if (n == k->max)
			return conf_err(p, "too many names for %s.%s (at most "
			    "%llu)", k->section, k->key,
			    (unsigned long long)k->max);
		len = strlen(tok);
		if (strspn(tok, "abcdefghijklmnopqrstuvwxyz0123456789_") != len)
			return conf_err(p, "bad name '%.64s' for %s.%s (use "
			    "a-z, 0-9 and _)", tok, k->section, k->key);
		if (len >= k->size)
			return conf_err(p, "name '%.64s' too long for %s.%s "
			    "(at most %zu characters)", tok, k->section,
			    k->key, k->size - 1);
		memcpy(base + n * k->size, tok, len);
		n++;
	}
	memcpy((char *)p->conf + k->count, &n, sizeof(n));
	return 0;
}

/*
 * Printers write the value with its leading blank ("key =" is already
 * out), nothing at all for an empty value.
 */
static void
conf_dump_num(const struct conf *c, const struct conf_key *k, FILE *fp)
{
	const struct conf_enum	*e;
	char			 buf[32];

	for (e = k->enums; e != NULL && e->name != NULL; e++)
		if ((uint64_t)e->value == conf_num_load(c, k)) {
			fprintf(fp, " %s", e->name);
			return;
		}
	conf_num_fmt(conf_types[k->type].num, conf_num_load(c, k), buf,
	    sizeof(buf));
	fprintf(fp, " %s", buf);
}

static void
conf_dump_enum(const struct conf *c, const struct conf_key *k, FILE *fp)
{
	const struct conf_enum	*e;
	int			 v = conf_int_load(c, k);

	for (e = k->enums; e->name != NULL; e++)
		if (e->value == v) {
			fprintf(fp, " %s", e->name);
			return;
		}
	fatalx("conf: %s.%s: no name for %d", k->section, k->key, v);
}

static void
conf_dump_string(const struct conf *c, const struct conf_key *k, FILE *fp)
{
	const char	*s = (const char *)c + k->off;

	if (s[0] != '\0')
		fprintf(fp, " %s", s);
}

static void
conf_dump_addrs(const struct conf *c, const struct conf_key *k, FILE *fp)
{
	const struct conf_addr	*a = (const struct conf_addr *)
				    ((const char *)c + k->off);
	size_t			 i, n = conf_count_load(c, k);

	for (i = 0; i < n; i++)
		fprintf(fp, a[i].port[0] == '\0' ? "%sunix:%s%s" :
		    strchr(a[i].host, ':') != NULL ? "%s[%s]:%s" : "%s%s:%s",
		    i == 0 ? " " : ", ", a[i].host, a[i].port);
}

static void
conf_dump_names(const struct conf *c, const struct conf_key *k, FILE *fp)
{
	const char	*base = (const char *)c + k->off;
	size_t		 i, n = conf_count_load(c, k);

	for (i = 0; i < n; i++)
		fprintf(fp, "%s%s", i == 0 ? " " : ", ", base + i * k->size);
}

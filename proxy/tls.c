/* SPDX-License-Identifier: ISC */
/*
 * tls.c - OpenSSL contexts of a configuration (see tls.h).  Server side,
 * for clients: the default certificate (tls.cert, tls.key) and the tls.sni
 * ones, picked by the client's server name (RFC 6066 3) when a
 * certificate's names cover it (X509_check_host: subjectAltName DNS names,
 * wildcards), with the server's cipher order and a session cache.  Client
 * side, for STARTTLS to the backend (tls.backend): the CA store, the name
 * the backend's certificate must carry (also sent as SNI unless it is an
 * address), peer verification when TLS is required, and an optional
 * client certificate.  Every context gets the same protocols
 * (tls.protocols, TLS 1.2 and 1.3 by default), ciphers, no compression and
 * no renegotiation, from one function.
 *
 * Public: tls_server_new, tls_server_free, tls_server_ssl, tls_client_new,
 * tls_client_free, tls_client_ssl, tls_client_unverified, tls_failure,
 * tls_describe, tls_error.
 *
 * DIAGNOSTICS
 *	tls_server_new, tls_client_new: "path: what is wrong (OpenSSL's
 *	reason)" for a certificate, key or CA file that cannot be loaded or
 *	do not match, and "tls.protocols: ..." / "tls.ciphers: ..." /
 *	"tls.backend_name: ..." for bad settings; every error is reported.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "lib/log.h"
#include "lib/util.h"
#include "policy/conf.h"
#include "proxy/tls.h"

#define TLS_SNI_MAX	32

struct tls_client {
	SSL_CTX		*ctx;
	int		 per_backend;	/* no tls.backend_name: each
					   backend's host is the name */
	char		 sni[256];	/* tls.backend_name's SNI; "" for an
					   IP address */
};

/* A listener's own certificate (tls.listener_certs). */
struct tls_listener {
	struct sockaddr_storage	 ss;		/* address 0: any, port */
	SSL_CTX			*ctx;
};

struct tls_server {
	SSL_CTX		*def;			/* tls.cert */
	SSL_CTX		*sni[TLS_SNI_MAX];	/* tls.sni, in order */
	size_t		 nsni;
	struct tls_listener lst[2 * CONF_LISTEN_MAX];
	size_t		 nlst;
};

static int	tls_ctx_settings(SSL_CTX *, const struct conf *, char *,
		    size_t);
static int	tls_ctx_keypair(SSL_CTX *, const char *, const char *, char *,
		    size_t);
static int	tls_client_trust(SSL_CTX *, const struct conf *, char *,
		    size_t);
static int	tls_client_name(X509_VERIFY_PARAM *, const char *, char *,
		    size_t);
static int	tls_client_names(struct tls_client *, const struct conf *,
		    char *, size_t);
static SSL_CTX	*tls_ctx_new(const struct conf *, const char *, const char *,
		    char *, size_t);
static int	tls_versions(const char *, int *, int *);
static int	tls_servername(SSL *, int *, void *);
static int	tls_listener_add(struct tls_server *, const struct conf *,
		    char *, char *, size_t);
static int	tls_listener_match(const struct sockaddr_storage *,
		    const struct sockaddr *);
static SSL	*tls_ssl_new(SSL_CTX *);

const char *
tls_error(char *buf, size_t bufsz)
{
	unsigned long	 e = ERR_get_error();

	if (e == 0)
		strlcpy(buf, "unknown error", bufsz);
	else
		ERR_error_string_n(e, buf, bufsz);
	ERR_clear_error();
	return buf;
}

/* tls.protocols ("TLSv1.2 TLSv1.3") as the lowest and highest version. */
static int
tls_versions(const char *list, int *lo, int *hi)
{
	static const struct {
		const char	*name;
		int		 v;
	} names[] = {
		{ "TLSv1", TLS1_VERSION }, { "TLSv1.1", TLS1_1_VERSION },
		{ "TLSv1.2", TLS1_2_VERSION }, { "TLSv1.3", TLS1_3_VERSION },
	};
	char	*copy = xstrdup(list), *p = copy, *tok;
	size_t	 i;
	int	 rc = 0;

	*lo = *hi = 0;
	while ((tok = strsep(&p, ", \t")) != NULL && rc == 0) {
		if (*tok == '\0')
			continue;
		for (i = 0; i < nitems(names); i++)
			if (strcasecmp(tok, names[i].name) == 0)
				break;
		if (i == nitems(names)) {
			rc = -1;
			break;
		}
		if (*lo == 0 || names[i].v < *lo)
			*lo = names[i].v;
		if (names[i].v > *hi)
			*hi = names[i].v;
	}
	free(copy);
	return rc == 0 && *lo != 0 ? 0 : -1;
}

/*
 * What every context gets, server or client: tls.protocols, tls.ciphers,
 * tls.ciphersuites, no compression, no renegotiation.  Returns -1 with
 * the errors appended to err.
 */
static int
tls_ctx_settings(SSL_CTX *ctx, const struct conf *c, char *err, size_t errsz)
{
	char	 why[256];
	int	 lo, hi;

	if (tls_versions(c->tls_protocols, &lo, &hi) == -1 ||
	    !SSL_CTX_set_min_proto_version(ctx, lo) ||
	    !SSL_CTX_set_max_proto_version(ctx, hi)) {
		util_err_append(err, errsz, "tls.protocols: '%.64s': TLSv1, "
		    "TLSv1.1, TLSv1.2 or TLSv1.3 expected", c->tls_protocols);
		return -1;
	}
	if (!SSL_CTX_set_cipher_list(ctx, c->tls_ciphers)) {
		util_err_append(err, errsz, "tls.ciphers: '%.64s': %s",
		    c->tls_ciphers, tls_error(why, sizeof(why)));
		return -1;
	}
	if (c->tls_ciphersuites[0] != '\0' &&
	    !SSL_CTX_set_ciphersuites(ctx, c->tls_ciphersuites)) {
		util_err_append(err, errsz, "tls.ciphersuites: '%.64s': %s",
		    c->tls_ciphersuites, tls_error(why, sizeof(why)));
		return -1;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	return 0;
}

/* A certificate chain and its key (key NULL or "": in the certificate's
 * file) into ctx: -1 with the error appended to err. */
static int
tls_ctx_keypair(SSL_CTX *ctx, const char *cert, const char *key, char *err,
    size_t errsz)
{
	EVP_PKEY	*pkey;
	FILE		*fp;
	char		 why[256];
	int		 rc = -1;

	if (key == NULL || *key == '\0')
		key = cert;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		util_err_append(err, errsz, "%s: no certificate (%s)", cert,
		    tls_error(why, sizeof(why)));
		return -1;
	}
	if ((fp = fopen(key, "r")) == NULL) {
		util_err_append(err, errsz, "%s: %s", key, strerror(errno));
		return -1;
	}
	pkey = PEM_read_PrivateKey(fp, NULL, NULL, (void *)"");
	fclose(fp);
	if (pkey == NULL)
		util_err_append(err, errsz, "%s: no private key (%s)", key,
		    tls_error(why, sizeof(why)));
	else if (SSL_CTX_use_PrivateKey(ctx, pkey) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		util_err_append(err, errsz, "%s: the key does not match the "
		    "certificate %s", key, cert);
	else
		rc = 0;
	EVP_PKEY_free(pkey);
	ERR_clear_error();
	return rc;
}

/* One server context for a certificate chain and its key. */
static SSL_CTX *
tls_ctx_new(const struct conf *c, const char *cert, const char *key,
    char *err, size_t errsz)
{
	SSL_CTX		*ctx;
	char		 why[256];

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		fatalx("SSL_CTX_new: %s", tls_error(why, sizeof(why)));
	if (tls_ctx_settings(ctx, c, err, errsz) == -1 ||
	    tls_ctx_keypair(ctx, cert, key, err, errsz) == -1) {
		ERR_clear_error();
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"postern",
	    7);
	return ctx;
}

struct tls_server *
tls_server_new(const struct conf *c, char *err, size_t errsz)
{
	struct tls_server	*ts;
	SSL_CTX			*ctx;
	char			*list, *p, *tok, *key;
	size_t			 i;
	int			 bad = 0;

	if (errsz > 0)
		err[0] = '\0';
	if (c->tls_cert[0] == '\0')
		return NULL;
	ts = xcalloc(1, sizeof(*ts));
	if ((ts->def = tls_ctx_new(c, c->tls_cert, c->tls_key, err,
	    errsz)) == NULL)
		bad = 1;
	list = p = xstrdup(c->tls_sni);
	while ((tok = strsep(&p, ", \t")) != NULL) {
		if (*tok == '\0')
			continue;
		if (ts->nsni == nitems(ts->sni)) {
			util_err_append(err, errsz, "tls.sni: more than %d "
			    "certificates", TLS_SNI_MAX);
			bad = 1;
			break;
		}
		if ((key = strchr(tok, ':')) != NULL)
			*key++ = '\0';
		if ((ts->sni[ts->nsni] = tls_ctx_new(c, tok, key, err,
		    errsz)) == NULL)
			bad = 1;
		else
			ts->nsni++;
	}
	free(list);
	list = p = xstrdup(c->tls_listener_certs);
	while ((tok = strsep(&p, ", \t")) != NULL)
		if (*tok != '\0' && tls_listener_add(ts, c, tok, err,
		    errsz) == -1)
			bad = 1;
	free(list);
	if (bad) {
		tls_server_free(ts);
		return NULL;
	}
	for (i = 0; ts->nsni > 0 && i <= ts->nlst; i++) {
		ctx = i == ts->nlst ? ts->def : ts->lst[i].ctx;
		SSL_CTX_set_tlsext_servername_callback(ctx, tls_servername);
		SSL_CTX_set_tlsext_servername_arg(ctx, ts);
	}
	return ts;
}

/* "host:port=cert[:key]": the certificate of the listener at host:port
 * (0.0.0.0 or [::]: any address on that port). */
static int
tls_listener_add(struct tls_server *ts, const struct conf *c, char *spec,
    char *err, size_t errsz)
{
	struct addrinfo	 hints, *res;
	char		*cert, *key, *host = spec, *port;

	if ((cert = strchr(spec, '=')) != NULL)
		*cert++ = '\0';
	if (cert == NULL || (port = strrchr(spec, ':')) == NULL) {
		util_err_append(err, errsz, "tls.listener_certs: '%.64s': "
		    "host:port=cert[:key] expected", spec);
		return -1;
	}
	*port++ = '\0';
	if (host[0] == '[' && port[-2] == ']') {
		port[-2] = '\0';
		host++;
	}
	if ((key = strchr(cert, ':')) != NULL)
		*key++ = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	hints.ai_socktype = SOCK_STREAM;
	if (ts->nlst == nitems(ts->lst) ||
	    getaddrinfo(host, port, &hints, &res) != 0) {
		util_err_append(err, errsz, "tls.listener_certs: '%.64s:%.8s': "
		    "not a listening address", host, port);
		return -1;
	}
	memcpy(&ts->lst[ts->nlst].ss, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	if ((ts->lst[ts->nlst].ctx = tls_ctx_new(c, cert, key, err,
	    errsz)) == NULL)
		return -1;
	ts->nlst++;
	return 0;
}

/* Is local (a connection's own address) the listener ss? */
static int
tls_listener_match(const struct sockaddr_storage *ss,
    const struct sockaddr *local)
{
	const struct sockaddr_in	*a = (const void *)ss, *b;
	const struct sockaddr_in6	*a6 = (const void *)ss, *b6;

	if (local == NULL || ss->ss_family != local->sa_family)
		return 0;
	if (local->sa_family == AF_INET) {
		b = (const void *)local;
		return a->sin_port == b->sin_port &&
		    (a->sin_addr.s_addr == INADDR_ANY ||
		    a->sin_addr.s_addr == b->sin_addr.s_addr);
	}
	b6 = (const void *)local;
	return a6->sin6_port == b6->sin6_port &&
	    (IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr) ||
	    IN6_ARE_ADDR_EQUAL(&a6->sin6_addr, &b6->sin6_addr));
}

void
tls_server_free(struct tls_server *ts)
{
	size_t	 i;

	if (ts == NULL)
		return;
	SSL_CTX_free(ts->def);
	for (i = 0; i < ts->nsni; i++)
		SSL_CTX_free(ts->sni[i]);
	for (i = 0; i < ts->nlst; i++)
		SSL_CTX_free(ts->lst[i].ctx);
	free(ts);
}

/* The ClientHello's server name: the first tls.sni certificate whose
 * names cover it, else the default. */
static int
tls_servername(SSL *ssl, int *alert, void *arg)
{
	struct tls_server	*ts = arg;
	const char		*name;
	size_t			 i;

	(void)alert;
	name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	if (name == NULL)
		return SSL_TLSEXT_ERR_OK;
	for (i = 0; i < ts->nsni; i++)
		if (X509_check_host(SSL_CTX_get0_certificate(ts->sni[i]),
		    name, 0, 0, NULL) == 1) {
			SSL_set_SSL_CTX(ssl, ts->sni[i]);
			break;
		}
	return SSL_TLSEXT_ERR_OK;
}

/* An SSL of ctx: memory, the only way it can fail, is fatal. */
static SSL *
tls_ssl_new(SSL_CTX *ctx)
{
	SSL	*ssl;
	char	 why[256];

	if ((ssl = SSL_new(ctx)) == NULL)
		fatalx("SSL_new: %s", tls_error(why, sizeof(why)));
	return ssl;
}

SSL *
tls_server_ssl(struct tls_server *ts, const struct sockaddr *local)
{
	size_t	 i;

	for (i = 0; i < ts->nlst; i++)
		if (tls_listener_match(&ts->lst[i].ss, local))
			return tls_ssl_new(ts->lst[i].ctx);
	return tls_ssl_new(ts->def);
}

/* Whom the backend's certificate must come from: tls.backend_ca_file, or
 * the system's store. */
static int
tls_client_trust(SSL_CTX *ctx, const struct conf *c, char *err,
    size_t errsz)
{
	const char		*ca = c->tls_backend_ca_file;
	char			 why[256];
	FILE			*fp;

	if (ca[0] == '\0')
		SSL_CTX_set_default_verify_paths(ctx);
	else if ((fp = fopen(ca, "r")) == NULL) {
		util_err_append(err, errsz, "%s: %s", ca, strerror(errno));
		return -1;
	} else {
		fclose(fp);
		if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
			util_err_append(err, errsz, "%s: no CA certificates "
			    "(%s)", ca, tls_error(why, sizeof(why)));
			return -1;
		}
	}
	return 0;
}

/*
 * The name the backend's certificate must carry, set in vp: a DNS name
 * (also the SNI name, copied to sni), or an IP address matched against
 * the certificate's IP names (RFC 6066 3: no SNI).  -1 if it is neither.
 */
static int
tls_client_name(X509_VERIFY_PARAM *vp, const char *name, char *sni,
    size_t snisz)
{
	unsigned char	 a[sizeof(struct in6_addr)];
	int		 ip;

	ip = inet_pton(AF_INET, name, a) == 1 ||
	    inet_pton(AF_INET6, name, a) == 1;
	X509_VERIFY_PARAM_set_hostflags(vp,
	    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if ((ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, name) :
	    X509_VERIFY_PARAM_set1_host(vp, name, 0)) != 1)
		return -1;
	strlcpy(sni, ip ? "" : name, snisz);
	return 0;
}

/* The names to check: tls.backend_name, else each TCP backend's host (a
 * unix: backend has none, so it needs tls.backend_name). */
static int
tls_client_names(struct tls_client *tc, const struct conf *c, char *err,
    size_t errsz)
{
	X509_VERIFY_PARAM	*vp;
	char			 sni[256];
	size_t			 i;
	int			 bad = 0;

	if (c->tls_backend_name[0] != '\0') {
		if (tls_client_name(SSL_CTX_get0_param(tc->ctx),
		    c->tls_backend_name, tc->sni, sizeof(tc->sni)) == 0)
			return 0;
		util_err_append(err, errsz, "tls.backend_name: '%.64s': not "
		    "a host name", c->tls_backend_name);
		return -1;
	}
	tc->per_backend = 1;
	if ((vp = X509_VERIFY_PARAM_new()) == NULL)
		fatalx("X509_VERIFY_PARAM_new");
	for (i = 0; i < c->nbackend; i++) {
		if (c->backend[i].port[0] == '\0') {
			util_err_append(err, errsz, "tls.backend: backend "
			    "unix:%.64s: set tls.backend_name",
			    c->backend[i].host);
			bad = 1;
		} else if (tls_client_name(vp, c->backend[i].host, sni,
		    sizeof(sni)) == -1) {
			util_err_append(err, errsz, "proxy.backend: '%.64s': "
			    "not a host name", c->backend[i].host);
			bad = 1;
		}
	}
	X509_VERIFY_PARAM_free(vp);
	return bad ? -1 : 0;
}

struct tls_client *
tls_client_new(const struct conf *c, char *err, size_t errsz)
{
	struct tls_client	*tc;
	char			 why[256];
	int			 bad = 0;

	if (c->tls_backend == CONF_TLS_BACKEND_OFF)
		return NULL;
	tc = xcalloc(1, sizeof(*tc));
	if ((tc->ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		fatalx("SSL_CTX_new: %s", tls_error(why, sizeof(why)));
	if (tls_ctx_settings(tc->ctx, c, err, errsz) == -1)
		bad = 1;
	if (tls_client_trust(tc->ctx, c, err, errsz) == -1)
		bad = 1;
	if (tls_client_names(tc, c, err, errsz) == -1)
		bad = 1;
	if (c->tls_backend_cert[0] != '\0' && tls_ctx_keypair(tc->ctx,
	    c->tls_backend_cert, c->tls_backend_key, err, errsz) == -1)
		bad = 1;
	if (c->tls_backend_cert[0] == '\0' && c->tls_backend_key[0] != '\0') {
		util_err_append(err, errsz, "tls.backend_key: set "
		    "tls.backend_cert too");
		bad = 1;
	}
	if (bad) {
		tls_client_free(tc);
		return NULL;
	}
	if (c->tls_backend == CONF_TLS_BACKEND_REQUIRED)
		SSL_CTX_set_verify(tc->ctx, SSL_VERIFY_PEER, NULL);
	return tc;
}

void
tls_client_free(struct tls_client *tc)
{
	if (tc == NULL)
		return;
	SSL_CTX_free(tc->ctx);
	free(tc);
}

SSL *
tls_client_ssl(struct tls_client *tc, const char *host)
{
	SSL	*ssl = tls_ssl_new(tc->ctx);
	char	 why[256], sni[256];

	strlcpy(sni, tc->sni, sizeof(sni));
	/* tls_client_names checked host when the generation was made. */
	if (tc->per_backend && tls_client_name(SSL_get0_param(ssl), host, sni,
	    sizeof(sni)) == -1)
		fatalx("tls_client_ssl: %s: not a host name", host);
	if (sni[0] != '\0' && !SSL_set_tlsext_host_name(ssl, sni))
		fatalx("SSL_set_tlsext_host_name: %s", tls_error(why,
		    sizeof(why)));
	return ssl;
}

const char *
tls_client_unverified(SSL *ssl)
{
	long	 v = SSL_get_verify_result(ssl);

	if (SSL_get0_peer_certificate(ssl) == NULL)
		return "no certificate";
	return v == X509_V_OK ? NULL : X509_verify_cert_error_string(v);
}

void
tls_failure(struct bufferevent *bev, short what, char *buf, size_t bufsz)
{
	SSL		*ssl = bufferevent_openssl_get_ssl(bev);
	unsigned long	 e = bufferevent_get_openssl_error(bev);
	long		 v;

	if (what & BEV_EVENT_TIMEOUT)
		strlcpy(buf, "timeout", bufsz);
	else if (e != 0 && ERR_GET_REASON(e) ==
	    SSL_R_CERTIFICATE_VERIFY_FAILED && ssl != NULL &&
	    (v = SSL_get_verify_result(ssl)) != X509_V_OK)
		snprintf(buf, bufsz, "certificate verify failed: %s",
		    X509_verify_cert_error_string(v));
	else if (e != 0)
		ERR_error_string_n(e, buf, bufsz);
	else
		strlcpy(buf, (what & BEV_EVENT_EOF) ? "connection closed" :
		    "connection error", bufsz);
	while (bufferevent_get_openssl_error(bev) != 0)
		;	/* the rest of the queue: e was the reason */
}

void
tls_describe(SSL *ssl, char *buf, size_t bufsz)
{
	const SSL_CIPHER	*c = SSL_get_current_cipher(ssl);
	int			 alg = 0, bits;

	bits = c != NULL ? SSL_CIPHER_get_bits(c, &alg) : 0;
	snprintf(buf, bufsz, "%s %s %d/%d", SSL_get_version(ssl),
	    c != NULL ? SSL_CIPHER_get_name(c) : "none", bits, alg);
}

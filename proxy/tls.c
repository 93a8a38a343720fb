/*
 * tls.c - OpenSSL server contexts for the client side of sessions (see
 * tls.h): the default certificate (tls.cert, tls.key) and the tls.sni ones,
 * picked by the client's server name (RFC 6066 3) when a certificate's
 * names cover it (X509_check_host: subjectAltName DNS names, wildcards).
 * Every context gets the same protocols (tls.protocols, TLS 1.2 and 1.3 by
 * default), ciphers, no compression, no renegotiation, the server's
 * cipher order, and a server-side session cache.
 *
 * Public: tls_server_new, tls_server_free, tls_server_ssl, tls_describe,
 * tls_error.
 *
 * DIAGNOSTICS
 *	tls_server_new: "path: what is wrong (OpenSSL's reason)" for a
 *	certificate or key that cannot be loaded or do not match, and
 *	"tls.protocols: ..." / "tls.ciphers: ..." for bad settings; every
 *	error is reported.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "conf.h"
#include "log.h"
#include "tls.h"
#include "util.h"

#define TLS_SNI_MAX	32

struct tls_server {
	SSL_CTX		*def;			/* tls.cert */
	SSL_CTX		*sni[TLS_SNI_MAX];	/* tls.sni, in order */
	size_t		 nsni;
};

static SSL_CTX	*tls_ctx_new(const struct conf *, const char *, const char *,
		    char *, size_t);
static int	tls_versions(const char *, int *, int *);
static int	tls_servername(SSL *, int *, void *);

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

/* One context for a certificate chain and its key (key NULL or "": in
 * the certificate's file). */
static SSL_CTX *
tls_ctx_new(const struct conf *c, const char *cert, const char *key,
    char *err, size_t errsz)
{
	SSL_CTX		*ctx;
	EVP_PKEY	*pkey = NULL;
	FILE		*fp;
	char		 why[256];
	int		 lo, hi;

	if (key == NULL || *key == '\0')
		key = cert;
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		fatalx("SSL_CTX_new: %s", tls_error(why, sizeof(why)));
	if (tls_versions(c->tls_protocols, &lo, &hi) == -1 ||
	    !SSL_CTX_set_min_proto_version(ctx, lo) ||
	    !SSL_CTX_set_max_proto_version(ctx, hi)) {
		util_err_append(err, errsz, "tls.protocols: '%.64s': TLSv1, "
		    "TLSv1.1, TLSv1.2 or TLSv1.3 expected", c->tls_protocols);
		goto fail;
	}
	if (!SSL_CTX_set_cipher_list(ctx, c->tls_ciphers)) {
		util_err_append(err, errsz, "tls.ciphers: '%.64s': %s",
		    c->tls_ciphers, tls_error(why, sizeof(why)));
		goto fail;
	}
	if (c->tls_ciphersuites[0] != '\0' &&
	    !SSL_CTX_set_ciphersuites(ctx, c->tls_ciphersuites)) {
		util_err_append(err, errsz, "tls.ciphersuites: '%.64s': %s",
		    c->tls_ciphersuites, tls_error(why, sizeof(why)));
		goto fail;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"postern",
	    7);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		util_err_append(err, errsz, "%s: no certificate (%s)", cert,
		    tls_error(why, sizeof(why)));
		goto fail;
	}
	if ((fp = fopen(key, "r")) == NULL) {
		util_err_append(err, errsz, "%s: %s", key, strerror(errno));
		goto fail;
	}
	pkey = PEM_read_PrivateKey(fp, NULL, NULL, (void *)"");
	fclose(fp);
	if (pkey == NULL) {
		util_err_append(err, errsz, "%s: no private key (%s)", key,
		    tls_error(why, sizeof(why)));
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey(ctx, pkey) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		util_err_append(err, errsz, "%s: the key does not match the "
		    "certificate %s", key, cert);
		goto fail;
	}
	EVP_PKEY_free(pkey);
	return ctx;
fail:
	EVP_PKEY_free(pkey);
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}

struct tls_server *
tls_server_new(const struct conf *c, char *err, size_t errsz)
{
	struct tls_server	*ts;
	char			*list, *p, *tok, *key;
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
	if (bad) {
		tls_server_free(ts);
		return NULL;
	}
	if (ts->nsni > 0) {
		SSL_CTX_set_tlsext_servername_callback(ts->def,
		    tls_servername);
		SSL_CTX_set_tlsext_servername_arg(ts->def, ts);
	}
	return ts;
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

SSL *
tls_server_ssl(struct tls_server *ts)
{
	SSL	*ssl;
	char	 why[256];

	if ((ssl = SSL_new(ts->def)) == NULL)
		fatalx("SSL_new: %s", tls_error(why, sizeof(why)));
	return ssl;
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

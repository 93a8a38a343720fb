/*
 * tls.h - OpenSSL for the client side of sessions: the server contexts of
 * one configuration (tls.cert/tls.key, plus tls.sni certificates chosen by
 * the name the client asks for), protocol and cipher settings, and the
 * one-line description of an established connection for logs and trace
 * headers.  A reload builds new contexts; connections keep theirs.
 */
#ifndef POSTERN_TLS_H
#define POSTERN_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

struct conf;
struct tls_server;

/*
 * tls_server_new - the contexts conf asks for, every certificate and key
 * loaded and checked: NULL with every error in err ("path: what is wrong")
 * when one fails; NULL with err "" when conf sets no tls.cert (no TLS).
 */
struct tls_server *tls_server_new(const struct conf *, char *err,
		    size_t errsz);
void		 tls_server_free(struct tls_server *);

/* tls_server_ssl - an SSL for one accepted connection (server side). */
SSL		*tls_server_ssl(struct tls_server *);

/*
 * tls_describe - "TLSv1.3 TLS_AES_256_GCM_SHA384 256/256" of an
 * established connection into buf (RFC 8314 7.4's "with ESMTPS" detail).
 */
void		 tls_describe(SSL *, char *buf, size_t bufsz);

/* tls_error - OpenSSL's first queued error as text (the queue is then
 * cleared), or "unknown error". */
const char	*tls_error(char *buf, size_t bufsz);

#endif

/* SPDX-License-Identifier: ISC */
/*
 * tls.h - OpenSSL for both sides of sessions: the server contexts of one
 * configuration (tls.cert/tls.key, plus tls.sni certificates chosen by the
 * name the client asks for), the client context for STARTTLS to the
 * backend (tls.backend*), protocol and cipher settings, why a handshake
 * failed, and the one-line description of an established connection for
 * logs and trace headers.  A reload builds new contexts; connections keep
 * theirs.
 */
#ifndef POSTERN_TLS_H
#define POSTERN_TLS_H

#include <stddef.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

struct bufferevent;
struct conf;
struct tls_client;
struct tls_server;

/*
 * tls_server_new - the contexts conf asks for, every certificate and key
 * loaded and checked: NULL with every error in err ("path: what is wrong")
 * when one fails; NULL with err "" when conf sets no tls.cert (no TLS).
 */
struct tls_server *tls_server_new(const struct conf *, char *err,
		    size_t errsz);
void		 tls_server_free(struct tls_server *);

/* tls_server_ssl - an SSL for one connection accepted at local (its own
 * address): that listener's tls.listener_certs certificate, else tls.cert
 * (SNI may then pick a tls.sni one). */
SSL		*tls_server_ssl(struct tls_server *, const struct sockaddr *local);

/*
 * tls_client_new - the context for TLS to the backend: CA store
 * (tls.backend_ca_file, else the system's), the name the backend's
 * certificate must carry (tls.backend_name, else each backend's own host),
 * peer verification when tls.backend is required, the client certificate
 * if any.  NULL when tls.backend is off; NULL on error, with every error
 * appended to err ("path: what is wrong"), which the caller starts as "".
 */
struct tls_client *tls_client_new(const struct conf *, char *err,
		    size_t errsz);
void		 tls_client_free(struct tls_client *);

/* tls_client_ssl - an SSL for one backend connection to host (its
 * certificate's name unless tls.backend_name is set), SNI set. */
SSL		*tls_client_ssl(struct tls_client *, const char *host);

/* tls_client_unverified - after the handshake: NULL when the backend's
 * certificate was verified (chain and name), else why not. */
const char	*tls_client_unverified(SSL *);

/*
 * tls_failure - why the handshake of bev (an OpenSSL bufferevent) failed,
 * given its event flags: "timeout", "certificate verify failed: reason"
 * (OpenSSL's verify error: "certificate has expired", "hostname
 * mismatch"), OpenSSL's error, or "connection closed"/"connection error".
 */
void		 tls_failure(struct bufferevent *, short what, char *buf,
		    size_t bufsz);

/*
 * tls_describe - "TLSv1.3 TLS_AES_256_GCM_SHA384 256/256" of an
 * established connection into buf (RFC 8314 7.4's "with ESMTPS" detail).
 */
void		 tls_describe(SSL *, char *buf, size_t bufsz);

/* tls_error - OpenSSL's first queued error as text (the queue is then
 * cleared), or "unknown error". */
const char	*tls_error(char *buf, size_t bufsz);

#endif

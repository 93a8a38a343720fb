/* SPDX-License-Identifier: ISC */
/*
 * t_dkimsig.c - unit tests for filters/dkimsig.c and proto/dkimsighdr.c:
 * RFC 8463 Appendix A (its body hash, and both of its signatures, RSA and
 * Ed25519, made byte for byte from its own DKIM-Signature fields: both
 * schemes are deterministic); the fields postern writes compared byte for
 * byte with those libopendkim 2.11 writes for the same message, key and
 * time (its signing API is only a reference here); and signatures of
 * every key type and canonicalization over awkward bodies (empty, one
 * line, trailing empty lines, whitespace runs, bare 8-bit, 2 MiB) checked
 * by libopendkim (tests/unit/dkim_oracle.h).  Bodies end with CRLF, as
 * the front ends hand them over: for a last line without one, libopendkim's
 * relaxed canonicalization drops the line, where postern and dkimpy add
 * the CRLF.
 */
#include <sys/wait.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <opendkim/dkim.h>
#include <openssl/evp.h>

#include "filters/dkimsig.h"
#include "lib/util.h"
#include "proto/dkimcanon.h"
#include "dkim_oracle.h"
#include "tap.h"

#define T_NOW	1528637909	/* RFC 8463's t= */

struct field {
	char	*name;
	char	*value;		/* as after the colon, folds kept */
};

struct msg {
	struct field	 f[16];
	size_t		 n;
	const char	*body;
	size_t		 blen;
};

static const char *const rfc_fields[][2] = {
	{ "From", " Joe SixPack <joe@football.example.com>" },
	{ "To", " Suzie Q <suzie@shopping.example.net>" },
	{ "Subject", " Is dinner ready?" },
	{ "Date", " Fri, 11 Jul 2003 21:00:37 -0700 (PDT)" },
	{ "Message-ID", " <20030712040037.46341.5F8J@football.example.com>" },
};
static const char rfc_body[] =
    "Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n";

/* The RFC 8463 message file's header fields. */
static size_t
read_fields(struct field *f, size_t max, char **bodyp)
{
	char	*text, *p, *eol, *colon, *end;
	size_t	 len, n = 0;

	if ((text = util_read_file(ORACLE_DIR "rfc8463-signed.eml", &len)) ==
	    NULL)
		return 0;
	for (p = text; n < max && strncmp(p, "\r\n", 2) != 0; p = end + 2) {
		for (end = p; (eol = strstr(end, "\r\n")) != NULL &&
		    (eol[2] == ' ' || eol[2] == '\t'); end = eol + 2)
			;
		end = eol;
		colon = memchr(p, ':', (size_t)(end - p));
		f[n].name = xstrndup(p, (size_t)(colon - p));
		f[n].value = xstrndup(colon + 1, (size_t)(end - colon - 1));
		n++;
	}
	*bodyp = xstrdup(p + 2);
	free(text);
	return n;
}

/* The tag t of a signature's value, whitespace taken out. */
static char *
tag(const char *value, const char *t)
{
	const char	*p = value, *e;
	char		*out, *o;
	size_t		 tl = strlen(t);

	for (;;) {
		p += strspn(p, " \t\r\n;");
		if (strncmp(p, t, tl) == 0 && p[tl] == '=')
			break;
		if ((p = strchr(p, ';')) == NULL)
			return xstrdup("");
	}
	p += tl + 1;
	e = p + strcspn(p, ";");
	out = o = xmalloc((size_t)(e - p) + 1);
	for (; p < e; p++)
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			*o++ = *p;
	*o = '\0';
	return out;
}

static char *
b64(const unsigned char *p, size_t len)
{
	char	*out = xmalloc(4 * (len / 3 + 1) + 1);

	EVP_EncodeBlock((unsigned char *)out, p, (int)len);
	return out;
}

static char *
body_hash(int relaxed, const char *body, size_t len)
{
	struct util_buf		 c = { NULL, 0, 0 };
	struct dkimcanon_body	 b;
	unsigned char		 h[32];
	char			*out;

	dkimcanon_body_init(&b, relaxed, (dkimcanon_sink_fn)util_buf_add, &c);
	dkimcanon_body_add(&b, (const unsigned char *)body, len);
	dkimcanon_body_end(&b);
	EVP_Digest(c.p, c.len, h, NULL, EVP_sha256(), NULL);
	out = b64(h, sizeof(h));
	util_buf_free(&c);
	return out;
}

/*
 * RFC 8463 A.3: the header fields its h= names (from the bottom up),
 * relaxed, then its own DKIM-Signature with b= emptied, signed with the
 * A.1 key, must give its b= exactly.
 */
static void
test_rfc8463(void)
{
	struct field	 f[16];
	struct util_buf	 data = { NULL, 0, 0 };
	unsigned char	 sig[DKIMSIG_SIG_MAX];
	char		*body = NULL, *h, *b, *bh, *got, *name, *cut, *p;
	size_t		 n, i, j, k, siglen;
	int		 used[16], ed;

	n = read_fields(f, nitems(f), &body);
	ok(n == 7, "RFC 8463 A.3: 7 fields");
	bh = body_hash(1, body, strlen(body));
	for (i = 0; i < 2 && n == 7; i++) {
		ed = strstr(f[i].value, "ed25519-sha256") != NULL;
		got = tag(f[i].value, "bh");
		is_str(bh, got, "body hash (relaxed) as in %s's bh=",
		    ed ? "Ed25519" : "RSA");
		free(got);
		h = tag(f[i].value, "h");
		memset(used, 0, sizeof(used));
		data.len = 0;
		for (p = h; (name = strsep(&p, ":")) != NULL;)
			for (k = n; k > 2; k--)
				if (!used[k - 1] &&
				    strcasecmp(f[k - 1].name, name) == 0) {
					used[k - 1] = 1;
					dkimcanon_header(&data, 1, f[k - 1].name,
					    strlen(f[k - 1].name),
					    f[k - 1].value,
					    strlen(f[k - 1].value), 1);
					break;
				}
		cut = xstrdup(f[i].value);
		*(strstr(cut, " b=") + 3) = '\0';
		dkimcanon_header(&data, 1, f[i].name, strlen(f[i].name), cut,
		    strlen(cut), 0);
		{
			EVP_PKEY *key = oracle_key(ed);

			siglen = dkimsig_sign_data(key, ed, data.p, data.len,
			    sig);
			EVP_PKEY_free(key);
		}
		b = tag(f[i].value, "b");
		got = b64(sig, siglen);
		is_str(got, b, "%s signature byte for byte",
		    ed ? "Ed25519" : "RSA");
		free(got);
		free(b);
		free(cut);
		free(h);
	}
	for (j = 0; j < n; j++) {
		free(f[j].name);
		free(f[j].value);
	}
	free(bh);
	free(body);
	util_buf_free(&data);
}

static struct dkimsig_msg *
load(const struct msg *m, int brelaxed)
{
	struct dkimsig_msg	*dm = dkimsig_msg_new(brelaxed);
	size_t			 i, n;

	for (i = 0; i < m->n; i++)
		dkimsig_msg_header(dm, m->f[i].name, m->f[i].value,
		    strlen(m->f[i].value));
	/* in chunks of 7, which split CRLFs */
	for (i = 0; i < m->blen; i += n) {
		n = m->blen - i < 7 ? m->blen - i : 7;
		dkimsig_msg_body(dm, (const unsigned char *)m->body + i, n);
	}
	return dm;
}

/* The message with the signature fields sigs on top. */
static void
render(struct util_buf *out, const struct msg *m, char *const *sigs,
    size_t nsigs)
{
	size_t	 i;

	out->len = 0;
	for (i = 0; i < nsigs; i++) {
		util_buf_add(out, "DKIM-Signature: ", 16);
		util_buf_add(out, sigs[i], strlen(sigs[i]));
		util_buf_add(out, "\r\n", 2);
	}
	for (i = 0; i < m->n; i++) {
		util_buf_add(out, m->f[i].name, strlen(m->f[i].name));
		util_buf_add(out, ":", 1);
		util_buf_add(out, m->f[i].value, strlen(m->f[i].value));
		util_buf_add(out, "\r\n", 2);
	}
	util_buf_add(out, "\r\n", 2);
	util_buf_add(out, m->body, m->blen);
}

/* libopendkim's own field for the same message, key, time and options. */
static char *
libopendkim_field(const struct msg *m, const struct dkimsig_opts *o,
    const char *pemfile, int ed, const char *sel, const char *signer)
{
	static const char	*sign[] = { "from", "reply-to", "subject",
				    "date", "to", "cc", NULL };
	static const char	*over[] = { "From", NULL };
	uint64_t		 t = T_NOW, ttl = o->ttl;
	DKIM_LIB		*lib = dkim_init(NULL, NULL);
	DKIM			*d;
	DKIM_STAT		 st;
	unsigned char		*hdr;
	char			*pem, *line, *out = NULL;
	size_t			 len, i;

	pem = util_read_file(pemfile, &len);
	dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_FIXEDTIME, &t, sizeof(t));
	dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS, sign,
	    sizeof(char **));
	dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS, over,
	    sizeof(char **));
	if (ttl > 0)
		dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNATURETTL,
		    &ttl, sizeof(ttl));
	d = dkim_sign(lib, (const unsigned char *)"t", NULL,
	    (dkim_sigkey_t)pem, (const unsigned char *)sel,
	    (const unsigned char *)ORACLE_DOMAIN,
	    o->hrelaxed ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE,
	    o->brelaxed ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE,
	    ed ? DKIM_SIGN_ED25519SHA256 : DKIM_SIGN_RSASHA256, -1, &st);
	if (d == NULL)
		goto done;
	if (signer[0] != '\0')
		dkim_set_signer(d, (const unsigned char *)signer);
	for (i = 0; i < m->n; i++) {
		len = strlen(m->f[i].name) + strlen(m->f[i].value) + 2;
		line = xmalloc(len);
		snprintf(line, len, "%s:%s", m->f[i].name, m->f[i].value);
		dkim_header(d, (unsigned char *)line, strlen(line));
		free(line);
	}
	dkim_eoh(d);
	dkim_body(d, (unsigned char *)(uintptr_t)m->body, m->blen);
	if (dkim_eom(d, NULL) == DKIM_STAT_OK && dkim_getsighdr_d(d,
	    sizeof(DKIM_SIGNHEADER) + 1, &hdr, &len) == DKIM_STAT_OK)
		out = xstrndup((char *)hdr, len);
	dkim_free(d);
done:
	dkim_close(lib);
	free(pem);
	return out;
}

/*
 * libopendkim_field in a child process: libopendkim 2.11's dkim_free
 * leaves an Ed25519 key behind, and the child's _exit takes it (and the
 * sanitizer's leak check) away with it.
 */
static char *
libopendkim_sign(const struct msg *m, const struct dkimsig_opts *o,
    const char *pemfile, int ed, const char *sel, const char *signer)
{
	struct util_buf	 out = { NULL, 0, 0 };
	char		 buf[512], *field;
	ssize_t		 n;
	pid_t		 pid;
	int		 fd[2], status;

	if (pipe(fd) == -1 || (pid = fork()) == -1)
		return NULL;
	if (pid == 0) {
		close(fd[0]);
		field = libopendkim_field(m, o, pemfile, ed, sel, signer);
		if (field != NULL && write(fd[1], field, strlen(field)) !=
		    (ssize_t)strlen(field))
			_exit(1);
		_exit(field == NULL);
	}
	close(fd[1]);
	while ((n = read(fd[0], buf, sizeof(buf))) > 0)
		util_buf_add(&out, buf, (size_t)n);
	close(fd[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		util_buf_free(&out);
		return NULL;
	}
	util_buf_add(&out, "", 1);
	return (char *)out.p;
}

static void
opts(struct dkimsig_opts *o, int hrelaxed, int brelaxed, uint64_t ttl)
{
	memset(o, 0, sizeof(*o));
	o->hrelaxed = hrelaxed;
	o->brelaxed = brelaxed;
	o->ttl = ttl;
	if (dkimsig_opts_set(o, "From Reply-To Subject Date To Cc",
	    "From") == -1)
		abort();
}

static struct msg
rfc_msg(void)
{
	struct msg	 m;
	size_t		 i;

	memset(&m, 0, sizeof(m));
	for (i = 0; i < nitems(rfc_fields); i++) {
		m.f[i].name = (char *)(uintptr_t)rfc_fields[i][0];
		m.f[i].value = (char *)(uintptr_t)rfc_fields[i][1];
	}
	m.n = nitems(rfc_fields);
	m.body = rfc_body;
	m.blen = sizeof(rfc_body) - 1;
	return m;
}

/*
 * The same text as libopendkim's, b= included: RSA and relaxed Ed25519
 * are deterministic over the same bytes.  (libopendkim signs an Ed25519
 * simple-header field laid out differently from the one it writes, so
 * that case is left to the verifiers.)
 */
static void
test_as_libopendkim(void)
{
	static const struct {
		int		 ed, hrel, brel;
		uint64_t	 ttl;
		const char	*signer;
	} t[] = {
		{ 0, 1, 1, 0, "" },
		{ 0, 0, 0, 0, "" },
		{ 0, 1, 0, 3600, "joe@football.example.com" },
		{ 0, 0, 1, 86400, "@football.example.com" },
		{ 1, 1, 1, 0, "" },
		{ 1, 1, 0, 600, "@football.example.com" },
	};
	struct dkimsig_opts	 o;
	struct dkimsig_msg	*dm;
	struct dkimsig_key	 k = { 0 };
	struct msg		 m = rfc_msg();
	char			*ours, *theirs, why[256];
	size_t			 i;

	for (i = 0; i < nitems(t); i++) {
		opts(&o, t[i].hrel, t[i].brel, t[i].ttl);
		k.pkey = oracle_key(t[i].ed);
		k.ed25519 = t[i].ed;
		k.domain = ORACLE_DOMAIN;
		k.selector = t[i].ed ? "brisbane" : "test";
		k.signer = t[i].signer;
		dm = load(&m, o.brelaxed);
		ours = dkimsig_sign(dm, &o, &k, T_NOW, why, sizeof(why));
		theirs = libopendkim_sign(&m, &o, t[i].ed ?
		    ORACLE_DIR "rfc8463-ed25519.key" :
		    ORACLE_DIR "rfc8463-rsa.key", t[i].ed, k.selector,
		    t[i].signer);
		ok(ours != NULL && theirs != NULL && strcmp(ours, theirs) ==
		    0, "%s c=%s/%s%s%s: as libopendkim writes it",
		    t[i].ed ? "ed25519" : "rsa", t[i].hrel ? "relaxed" :
		    "simple", t[i].brel ? "relaxed" : "simple",
		    t[i].ttl ? " x=" : "", t[i].signer[0] ? " i=" : "");
		if (ours == NULL || theirs == NULL ||
		    strcmp(ours, theirs) != 0)
			printf("# ours:   %s\n# theirs: %s\n", ours ? ours :
			    why, theirs ? theirs : "(none)");
		free(ours);
		free(theirs);
		dkimsig_msg_free(dm);
		EVP_PKEY_free(k.pkey);
		dkimsig_opts_clear(&o);
	}
}

/* Every key type and canonicalization over awkward bodies, one message
 * signed twice (dual), verified by libopendkim. */
static void
test_verified(void)
{
	static const char	*bodies[] = { "", "One line.\r\n",
	    "a\r\n\r\n\r\n\r\n", "  runs \t of\t\t space  \r\n \r\n\t\r\n",
	    "bare \xe9\xff\x80 8-bit\r\n\xc3\r\n", "dot\r\n.\r\n..\r\n" };
	struct dkimsig_opts	 o;
	struct dkimsig_msg	*dm;
	struct dkimsig_key	 k[2] = { { 0 }, { 0 } };
	struct oracle_result	 r;
	struct util_buf		 out = { NULL, 0, 0 };
	struct msg		 m = rfc_msg();
	char			*sigs[2], why[256], *big;
	size_t			 i, c, s, bi;
	int			 good;

	/* 2 MiB of 78-byte lines (the front ends end a body with CRLF) */
	big = xmalloc(2 * 1024 * 1024 + 1);
	for (i = 0; i < 2 * 1024 * 1024; i++)
		big[i] = i % 78 == 76 ? '\r' : i % 78 == 77 ? '\n' :
		    (char)(' ' + i % 95);
	memcpy(big + i - 2, "\r\n", 3);
	for (s = 0; s < 2; s++) {
		k[s].pkey = oracle_key(s);
		k[s].ed25519 = (int)s;
		k[s].domain = ORACLE_DOMAIN;
		k[s].selector = s ? "brisbane" : "test";
		k[s].signer = "";
	}
	for (c = 0; c < 4; c++) {
		opts(&o, c & 1, (c >> 1) & 1, 0);
		good = 1;
		for (bi = 0; bi <= nitems(bodies); bi++) {
			m.body = bi < nitems(bodies) ? bodies[bi] : big;
			m.blen = strlen(m.body);
			dm = load(&m, o.brelaxed);
			sigs[0] = dkimsig_sign(dm, &o, &k[0], T_NOW, why,
			    sizeof(why));
			sigs[1] = dkimsig_sign(dm, &o, &k[1], T_NOW, why,
			    sizeof(why));
			dkimsig_msg_free(dm);
			if (sigs[0] == NULL || sigs[1] == NULL) {
				good = 0;
				free(sigs[0]);
				free(sigs[1]);
				continue;
			}
			render(&out, &m, sigs, 2);
			r = oracle_verify(out.p, out.len);
			if (r.nsigs != 2 || r.passed != 2) {
				good = 0;
				printf("# body %zu: %d of %d pass\n", bi,
				    r.passed, r.nsigs);
			}
			free(sigs[0]);
			free(sigs[1]);
		}
		ok(good, "c=%s/%s: RSA and Ed25519 pass in libopendkim for "
		    "every body", c & 1 ? "relaxed" : "simple",
		    c & 2 ? "relaxed" : "simple");
		dkimsig_opts_clear(&o);
	}
	EVP_PKEY_free(k[0].pkey);
	EVP_PKEY_free(k[1].pkey);
	util_buf_free(&out);
	free(big);
}

/* A wrong body or header after signing fails: the oracle can say no. */
static void
test_tampered(void)
{
	struct dkimsig_opts	 o;
	struct dkimsig_msg	*dm;
	struct dkimsig_key	 k = { 0 };
	struct oracle_result	 r;
	struct util_buf		 out = { NULL, 0, 0 };
	struct msg		 m = rfc_msg();
	char			*sig, why[256];

	opts(&o, 1, 1, 0);
	k.pkey = oracle_key(1);
	k.ed25519 = 1;
	k.domain = ORACLE_DOMAIN;
	k.selector = "brisbane";
	k.signer = "";
	dm = load(&m, 1);
	sig = dkimsig_sign(dm, &o, &k, T_NOW, why, sizeof(why));
	dkimsig_msg_free(dm);
	m.body = "Hi.\r\n\r\nWe won the game.\r\n";
	m.blen = strlen(m.body);
	render(&out, &m, &sig, 1);
	r = oracle_verify(out.p, out.len);
	ok(r.nsigs == 1 && r.passed == 0 && r.bh_match == 0,
	    "another body: body hash mismatch");
	m = rfc_msg();
	m.f[2].value = " Is lunch ready?";
	render(&out, &m, &sig, 1);
	r = oracle_verify(out.p, out.len);
	ok(r.nsigs == 1 && r.passed == 0, "another Subject: fails");
	free(sig);
	EVP_PKEY_free(k.pkey);
	dkimsig_opts_clear(&o);
	util_buf_free(&out);
}

int
main(void)
{
	test_rfc8463();
	test_as_libopendkim();
	test_verified();
	test_tampered();
	return tap_done();
}

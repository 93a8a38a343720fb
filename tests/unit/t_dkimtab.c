/* SPDX-License-Identifier: ISC */
/*
 * t_dkimtab.c - unit tests for filters/dkimtab.c: KeyTable and SigningTable
 * lines (comments, blanks, CRLF, every error with its line number), the
 * wildcard matcher, OpenDKIM's lookup order for plain tables and file order
 * for refile: ones, "%" in key names, d= and signers, i= outside d=,
 * MultipleSignatures, and the key checks of dkimtab_load (missing,
 * group/world-readable, not a key, a short RSA key, a DSA key, inline base64
 * DER keys) with real keys made by openssl under a mkdtemp directory.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filters/dkimtab.h"
#include "lib/util.h"
#include "tap.h"

static char	 tdir[] = "/tmp/t_dkimtab.XXXXXX";

static const char *
path(const char *name)
{
	static char	 buf[8][512];
	static int	 i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tdir, name);
	return buf[i];
}

static void
mkfile(const char *name, const char *text, mode_t mode)
{
	int	 fd;

	unlink(path(name));
	fd = open(path(name), O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd == -1 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		exit(2);
	fchmod(fd, mode);
	close(fd);
}

static void
sh(const char *cmd)
{
	if (system(cmd) != 0) {
		printf("Bail out! %s\n", cmd);
		exit(2);
	}
}

static struct dkimtab *
parsed(const char *keys, const char *rules, int refile, char *err,
    size_t errsz)
{
	struct dkimtab	*t = xcalloc(1, sizeof(*t));

	err[0] = '\0';
	t->rules_refile = refile;
	(void)dkimtab_parse_keys(t, keys, strlen(keys), "KT", err, errsz);
	(void)dkimtab_parse_rules(t, rules, strlen(rules), "ST", err, errsz);
	return t;
}

/* "keyname/d=/i=" of each pick, comma-separated. */
static const char *
picks(const struct dkimtab *t, const char *user, const char *domain,
    int multi)
{
	static char		 buf[1024];
	struct dkimtab_pick	 p[DKIMTAB_PICKS_MAX];
	size_t			 n, i;

	n = dkimtab_match(t, user, domain, multi, p, nitems(p));
	buf[0] = '\0';
	for (i = 0; i < n; i++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
		    "%s%s/%s/%s", i ? "," : "", p[i].key->name, p[i].domain,
		    p[i].signer);
	return buf;
}

static void
t_parse(void)
{
	char		 err[2048];
	struct dkimtab	*t;

	t = parsed("# keys\r\n"
	    "k1 example.com:sel:/etc/k1.pem\r\n"
	    "\n"
	    "  k2\t%:s2:./rel.pem   # note\n"
	    "k3 example.org:s3:MIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8=\n",
	    "*@example.com k1\n*@example.org k3:bob@example.org\n", 1,
	    err, sizeof(err));
	is_str(err, "", "good tables parse");
	is_int(t->nkeys, 3, "three keys");
	is_str(t->keys[1].name, "k2", "blanks and a comment around a line");
	is_str(t->keys[1].domain, "%", "%% domain kept");
	is_str(t->keys[1].path, "./rel.pem", "./ is a path");
	ok(t->keys[2].path == NULL && t->keys[2].inline_key != NULL,
	    "anything else is an inline key");
	is_int(t->keys[2].line, 5, "line numbers count blank lines");
	is_int(t->nrules, 2, "two rules");
	is_str(t->rules[1].signer, "bob@example.org", "signer after ':'");
	is_int(dkimtab_check(t, "ST", err, sizeof(err)), 0,
	    "every key name known");
	dkimtab_free(t);

	t = parsed("k1\n"
	    "k2 example.com:sel\n"
	    "k3 exa mple.com:sel:/k\n"
	    "k4 -bad..com:sel:/k\n"
	    "k5 example.com:s*l:/k\n"
	    "k6 example.com:sel:/keys/%.pem\n"
	    "k7 example.com:sel:\n"
	    "k8 example.com:sel:/k\n"
	    "k8 example.com:sel:/k\n",
	    "a k1:\nb k1:x:y\nc :x\n*@x.example nokey\n", 0,
	    err, sizeof(err));
	ok(strstr(err, "KT:1: 'k1' has no value") != NULL, "no value: %s",
	    err);
	ok(strstr(err, "KT:2: 'example.com:sel': domain:selector:key "
	    "expected") != NULL, "two fields");
	ok(strstr(err, "KT:3: blank inside the value") != NULL,
	    "blank in the value");
	ok(strstr(err, "KT:4: bad domain '-bad..com'") != NULL,
	    "empty label");
	ok(strstr(err, "KT:5: bad selector 's*l'") != NULL, "bad selector");
	ok(strstr(err, "KT:6: key '/keys/%.pem'") != NULL, "%% in the path");
	ok(strstr(err, "KT:7: key ''") != NULL, "empty key");
	ok(strstr(err, "KT:9: key name 'k8' given twice") != NULL,
	    "duplicate key name");
	ok(strstr(err, "ST:1: 'k1:': keyname[:signer] expected") != NULL,
	    "empty signer");
	ok(strstr(err, "ST:2: 'k1:x:y'") != NULL, "two signers");
	ok(strstr(err, "ST:3: empty key name") != NULL, "empty key name");
	err[0] = '\0';
	is_int(dkimtab_check(t, "ST", err, sizeof(err)), -1, "unknown key");
	is_str(err, "ST:4: key name 'nokey' is not in the key table",
	    "unknown key reported with its line");
	dkimtab_free(t);

	t = xcalloc(1, sizeof(*t));
	err[0] = '\0';
	is_int(dkimtab_parse_keys(t, "k1 a.b:s:/k\0x\nk2 a.b:s:/k\n", 24,
	    "KT", err, sizeof(err)), -1, "NUL byte refused");
	ok(strstr(err, "KT:1: NUL byte in line") != NULL && t->nkeys == 1,
	    "the NUL line only: %s", err);
	dkimtab_free(t);
}

static void
t_glob(void)
{
	ok(dkimtab_glob("*@example.com", "alice@EXAMPLE.com"),
	    "wildcard user, domain case");
	ok(!dkimtab_glob("*@example.com", "alice@sub.example.com"),
	    "no subdomain without a star");
	ok(dkimtab_glob("*@*.example.com", "a@b.c.example.com"),
	    "two stars");
	ok(dkimtab_glob("*", ""), "star matches empty");
	ok(dkimtab_glob("a**b", "ab"), "star run");
	ok(!dkimtab_glob("a*b", "a"), "unmatched tail");
	ok(dkimtab_glob("*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaab"),
	    "backtracking");
	ok(!dkimtab_glob("*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaac"),
	    "a long miss ends");
}

static void
t_match(void)
{
	const char	*keys = "kfull x.example:s:/k\n"
	    "khost x.example:s:/k\n"
	    "kup x.example:s:/k\n"
	    "kdot x.example:s:/k\n"
	    "kuser x.example:s:/k\n"
	    "kstar x.example:s:/k\n"
	    "example.com %:pct:/k\n"
	    "ed %:ed:/k\n";
	char		 err[1024];
	struct dkimtab	*t;

	/* OpenDKIM's order, most specific first, whatever the file order. */
	t = parsed(keys, "* kstar\nbob@* kuser\n.example kdot\n"
	    "bob@.example kup\nmail.x.example khost\n"
	    "bob@mail.x.example kfull\n", 0, err, sizeof(err));
	is_str(err, "", "tables parse");
	is_str(picks(t, "bob", "mail.x.example", 0), "kfull/x.example/",
	    "user@host first");
	is_str(picks(t, "eve", "mail.x.example", 0), "khost/x.example/",
	    "then host");
	is_str(picks(t, "bob", "other.example", 0), "kup/x.example/",
	    "then user@.parent");
	is_str(picks(t, "eve", "other.example", 0), "kdot/x.example/",
	    "then .parent");
	is_str(picks(t, "bob", "example.net", 0), "kuser/x.example/",
	    "then user@*");
	is_str(picks(t, "eve", "example.net", 0), "kstar/x.example/",
	    "then *");
	is_str(picks(t, "bob", "mail.x.example", 1),
	    "kfull/x.example/,khost/x.example/,kup/x.example/,"
	    "kdot/x.example/,kuser/x.example/,kstar/x.example/",
	    "multiple: every match, in that order");
	ok(dkimtab_match(t, "bob", "mail.x.example", 1,
	    (struct dkimtab_pick[2]){ 0 }, 2) == 2, "at most max picks");
	dkimtab_free(t);

	/* refile: file order; % key names and d=; the signer's domain. */
	t = parsed(keys, "*@*.example.org kstar\n"
	    "*@example.com %:%\n"
	    "*@example.com ed:alice@%\n"
	    "*@example.com ed\n"
	    "*@example.net %\n"
	    "*@example.edu kstar:eve@evil.example\n"
	    "*@example.edu kstar:eve@sub.x.example\n", 1, err, sizeof(err));
	is_str(err, "", "refile tables parse");
	is_str(picks(t, "a", "example.com", 0),
	    "example.com/example.com/", "first match: %% key, %% d=, "
	    "signer %% has no '@': no i=");
	is_str(picks(t, "a", "example.com", 1),
	    "example.com/example.com/,ed/example.com/alice@example.com",
	    "multiple: dual signature, a repeat of key and d= dropped");
	is_str(picks(t, "a", "example.net", 1), "",
	    "no key named example.net");
	is_str(picks(t, "a", "mail.example.org", 0), "kstar/x.example/",
	    "wildcard in the domain");
	is_str(picks(t, "a", "example.edu", 1), "kstar/x.example/",
	    "a signer outside d= is dropped, then the same key once");
	t->rules[6].pattern[0] = '!';
	is_str(picks(t, "a", "example.edu", 0), "kstar/x.example/",
	    "no match, no pick");
	dkimtab_free(t);
	t = parsed(keys, "*@example.edu kstar:eve@sub.x.example\n", 1, err,
	    sizeof(err));
	is_str(picks(t, "a", "example.edu", 0),
	    "kstar/x.example/eve@sub.x.example", "a signer in a subdomain "
	    "of d= kept");
	dkimtab_free(t);
}

static void
t_load(void)
{
	char		 err[4096], cmd[1024], kt[512], st[512];
	struct dkimtab	*t;

	snprintf(cmd, sizeof(cmd), "cd %s && "
	    "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 "
	    "-out rsa.pem 2>/dev/null && "
	    "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:512 "
	    "-out short.pem 2>/dev/null && "
	    "openssl genpkey -algorithm ed25519 -out ed.pem && "
	    "openssl genpkey -genparam -algorithm DSA -pkeyopt "
	    "dsa_paramgen_bits:1024 -out dsa.param 2>/dev/null && "
	    "openssl genpkey -paramfile dsa.param -out dsa.pem && "
	    "openssl pkey -in ed.pem -outform DER | base64 -w0 > ed.b64 && "
	    "chmod 600 *.pem && echo junk > junk.pem && chmod 600 junk.pem",
	    tdir);
	sh(cmd);
	snprintf(cmd, sizeof(cmd), "rsa example.com:rsa:%s\n"
	    "ed example.com:ed:%s\n", path("rsa.pem"), path("ed.pem"));
	mkfile("KeyTable", cmd, 0644);
	mkfile("SigningTable", "*@example.com rsa\n*@example.com ed\n", 0644);
	strlcpy(kt, path("KeyTable"), sizeof(kt));
	strlcpy(st, path("SigningTable"), sizeof(st));
	snprintf(cmd, sizeof(cmd), "refile:%s", path("SigningTable"));
	err[0] = '\0';
	t = dkimtab_load(kt, cmd, err, sizeof(err));
	ok(t != NULL, "good keys load: %s", err);
	if (t != NULL) {
		ok(!t->keys[0].ed25519 && t->keys[0].bits == 2048,
		    "RSA 2048");
		ok(t->keys[1].ed25519, "Ed25519");
		ok(t->keys[1].pkey != NULL &&
		    EVP_PKEY_get_base_id(t->keys[1].pkey) == EVP_PKEY_ED25519,
		    "kept decoded");
		ok(t->rules_refile && !t->keys_refile, "refile: prefix");
		dkimtab_free(t);
	}

	snprintf(cmd, sizeof(cmd), "a example.com:a:%s\n"
	    "b example.com:b:%s\n"
	    "c example.com:c:%s\n"
	    "d example.com:d:%s\n"
	    "e example.com:e:%s\n"
	    "f example.com:f:%s\n",
	    path("missing.pem"), path("loose.pem"), path("junk.pem"),
	    path("short.pem"), path("dsa.pem"), tdir);
	mkfile("KeyTable", cmd, 0644);
	snprintf(cmd, sizeof(cmd), "cp %s %s && chmod 640 %s",
	    path("rsa.pem"), path("loose.pem"), path("loose.pem"));
	sh(cmd);
	mkfile("SigningTable", "example.com a\nexample.com zz\n", 0644);
	err[0] = '\0';
	ok(dkimtab_load(kt, st, err, sizeof(err)) == NULL,
	    "bad keys refused");
	ok(strstr(err, "missing.pem: No such file or directory (key 'a', ") !=
	    NULL, "missing: %s", err);
	ok(strstr(err, "loose.pem: group/world-accessible (mode 0640): "
	    "chmod 600 it") != NULL, "group-readable");
	ok(strstr(err, "junk.pem: not a private key") != NULL, "junk");
	ok(strstr(err, "short.pem: an RSA key of 512 bits: 1024 at least")
	    != NULL, "short RSA");
	ok(strstr(err, "dsa.pem: a DSA key: RSA or Ed25519 expected") !=
	    NULL, "DSA");
	ok(strstr(err, ": not a regular file (key 'f'") != NULL,
	    "a directory");
	ok(strstr(err, "SigningTable:2: key name 'zz' is not in the key "
	    "table") != NULL, "unknown key name");

	/* An inline key makes the KeyTable a secret too. */
	snprintf(cmd, sizeof(cmd), "cd %s && printf 'ed example.com:ed:%%s\\n'"
	    " \"$(cat ed.b64)\" > KeyTable && chmod 644 KeyTable", tdir);
	sh(cmd);
	mkfile("SigningTable", "example.com ed\n", 0644);
	err[0] = '\0';
	ok(dkimtab_load(kt, st, err, sizeof(err)) == NULL &&
	    strstr(err, "KeyTable: group/world-accessible (mode 0644): chmod "
	    "600 it (it holds keys)") != NULL, "inline keys in a readable "
	    "table: %s", err);
	chmod(kt, 0600);
	err[0] = '\0';
	t = dkimtab_load(kt, st, err, sizeof(err));
	ok(t != NULL && t->keys[0].ed25519, "inline base64 DER key: %s",
	    err);
	dkimtab_free(t);
	err[0] = '\0';
	ok(dkimtab_load(path("nothere"), st, err, sizeof(err)) == NULL &&
	    strstr(err, "nothere: No such file or directory") != NULL,
	    "missing table");
}

int
main(void)
{
	char	 cmd[600];
	int	 rc;

	if (mkdtemp(tdir) == NULL)
		return 2;
	t_parse();
	t_glob();
	t_match();
	t_load();
	rc = tap_done();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tdir);
	sh(cmd);
	return rc;
}

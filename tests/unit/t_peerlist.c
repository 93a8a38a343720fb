/* SPDX-License-Identifier: ISC */
/*
 * t_peerlist.c - policy/peerlist.c: OpenDKIM's InternalHosts/PeerList data
 * sets as opendkim.conf(5) writes them (file:, refile:, csl:, a bare
 * path, inline), addresses, networks, host names, ".domain" and "*"
 * patterns, "!" exclusions (the more specific entry decides; of two as
 * specific, the "!"), and every malformed entry reported.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/peerlist.h"
#include "tap.h"

static char	 errbuf[4096];

static struct sockaddr_storage *
ip(const char *s)
{
	static struct sockaddr_storage	 ss;
	struct sockaddr_in		*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6		*sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1)
		sin6->sin6_family = AF_INET6;
	return &ss;
}

static int
in(const struct peerlist *pl, const char *addr, const char *host)
{
	return peerlist_match(pl, (struct sockaddr *)ip(addr), host);
}

static char *
file(const char *text)
{
	static char	 path[] = "/tmp/t_peerlist.XXXXXX";
	FILE		*fp;
	int		 fd;

	strcpy(path, "/tmp/t_peerlist.XXXXXX");
	if ((fd = mkstemp(path)) == -1 || (fp = fdopen(fd, "w")) == NULL)
		abort();
	fputs(text, fp);
	fclose(fp);
	return path;
}

static void
t_opendkim_file(void)
{
	char		 spec[64];
	char		*path = file("# InternalHosts, as opendkim.conf(5)\n"
	    "127.0.0.1\n::1\n192.168.1.0/24\n!192.168.1.99\n"
	    "mail.example.com   # the relay\n.internal.example\n"
	    "!bad.internal.example\n!10.1.0.0/16\n10.0.0.0/8\n");
	struct peerlist	*pl;

	snprintf(spec, sizeof(spec), "file:%s", path);
	errbuf[0] = '\0';
	pl = peerlist_from(spec, "dkim.internal_hosts", errbuf,
	    sizeof(errbuf));
	ok(pl != NULL, "a file as OpenDKIM writes it: %s", errbuf);
	ok(in(pl, "127.0.0.1", NULL) && in(pl, "::1", NULL), "loopback");
	ok(in(pl, "192.168.1.7", NULL), "in the network");
	ok(!in(pl, "192.168.1.99", NULL), "!192.168.1.99 carved out");
	ok(in(pl, "10.2.3.4", NULL) && !in(pl, "10.1.3.4", NULL),
	    "a more specific ! wins, whichever line came first");
	ok(!in(pl, "192.0.2.1", NULL), "another address");
	ok(in(pl, "192.0.2.1", "mail.example.com"), "the host name");
	ok(in(pl, "192.0.2.1", "MAIL.Example.COM"), "names: any case");
	ok(!in(pl, "192.0.2.1", "x.mail.example.com"),
	    "a name is not its subdomains");
	ok(in(pl, "192.0.2.1", "a.b.internal.example"), ".domain: below it");
	ok(!in(pl, "192.0.2.1", "internal.example"), ".domain: not itself");
	ok(!in(pl, "192.0.2.1", "bad.internal.example"), "!name carved out");
	ok(!in(pl, "192.0.2.1", "[192.0.2.1]"), "an unverified client");
	ok(in(pl, "127.0.0.1", "bad.internal.example"),
	    "the address still counts when the name is excluded");
	peerlist_free(pl);
	unlink(path);
}

static void
t_kinds(void)
{
	char		 spec[64];
	char		*path = file("*.corp.example\n!*.guest.corp.example\n");
	struct peerlist	*pl;

	snprintf(spec, sizeof(spec), "refile:%s", path);
	pl = peerlist_from(spec, "x", errbuf, sizeof(errbuf));
	ok(pl != NULL && in(pl, "192.0.2.1", "a.corp.example") &&
	    !in(pl, "192.0.2.1", "a.guest.corp.example"),
	    "refile: * patterns");
	peerlist_free(pl);
	unlink(path);
	path = file("192.0.2.0/24\n");
	pl = peerlist_from(path, "x", errbuf, sizeof(errbuf));
	ok(pl != NULL && in(pl, "192.0.2.5", NULL), "a bare path is a file");
	peerlist_free(pl);
	unlink(path);
	pl = peerlist_from("csl:192.0.2.1,host.example", "x", errbuf,
	    sizeof(errbuf));
	ok(pl != NULL && in(pl, "192.0.2.1", NULL) &&
	    in(pl, "198.51.100.1", "host.example"), "csl:");
	peerlist_free(pl);
	pl = peerlist_from("127.0.0.1, ::1", "x", errbuf, sizeof(errbuf));
	ok(pl != NULL && in(pl, "127.0.0.1", NULL) && !in(pl, "127.0.0.2",
	    NULL), "inline, the default");
	peerlist_free(pl);
	pl = peerlist_from("", "x", errbuf, sizeof(errbuf));
	ok(pl != NULL && !in(pl, "127.0.0.1", "localhost"), "empty: nobody");
	peerlist_free(pl);
}

static void
t_errors(void)
{
	char	*path = file("10.0.0.0/8\n10.0.0.0/33\nok.example\nbad name!\n");
	char	 spec[64];

	errbuf[0] = '\0';
	ok(peerlist_from("192.0.2.0/24, 10.0.0.0/99", "dkim.internal_hosts",
	    errbuf, sizeof(errbuf)) == NULL, "a bad network");
	ok(strstr(errbuf, "dkim.internal_hosts: '10.0.0.0/99'") != NULL,
	    "named with its key: %s", errbuf);
	errbuf[0] = '\0';
	snprintf(spec, sizeof(spec), "file:%s", path);
	ok(peerlist_from(spec, "x", errbuf, sizeof(errbuf)) == NULL,
	    "bad lines in a file");
	ok(strstr(errbuf, ":2: '10.0.0.0/33'") != NULL &&
	    strstr(errbuf, ":4: 'name!'") != NULL, "each with its line: %s",
	    errbuf);
	unlink(path);
	errbuf[0] = '\0';
	ok(peerlist_from("file:/nonexistent-hosts", "x", errbuf,
	    sizeof(errbuf)) == NULL && strstr(errbuf, "/nonexistent-hosts") !=
	    NULL, "a missing file");
}

int
main(void)
{
	t_opendkim_file();
	t_kinds();
	t_errors();
	return tap_done();
}

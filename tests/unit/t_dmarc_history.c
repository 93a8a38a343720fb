/* SPDX-License-Identifier: ISC */
/*
 * t_dmarc_history.c - filters/dmarc_history.c: the exact lines opendmarc
 * 1.4.2 writes for a message (its keys, order and numbers), a name that
 * would start a line of its own written as "-", a buffer too small, and
 * the append (one record after another, the file created 0640).
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filters/dmarc_history.h"
#include "lib/util.h"
#include "tap.h"

static struct dmarc_record	 rec;
static struct dmarc_eval_out	 out;
static struct dmarc_history	 h;
static const struct dmarc_history_sig sigs[] = {
	{ "example.com", "sel", "pass" },
	{ "evil.example", "a b\nrua x", "fail" },
};

static void
setup(const char *txt)
{
	char	 why[128];

	ok(dmarc_record_parse(txt, strlen(txt), &rec, why, sizeof(why)) == 0,
	    "record %s", txt);
	memset(&h, 0, sizeof(h));
	h.job = "00000000000000ab.1";
	h.reporter = "mx.example.net";
	h.received = 1764900000;
	h.ipaddr = "192.0.2.1";
	h.from = "example.com";
	h.mfrom = "bounce.example.com";
	h.spf = "pass";
	h.sigs = sigs;
	h.nsigs = 2;
	h.pdomain = "example.com";
	h.rec = &rec;
	h.out = &out;
}

int
main(void)
{
	char	 buf[2048], path[] = "/tmp/t_dmarc_history.XXXXXX", *text;
	struct stat st;
	size_t	 len;
	int	 n, fd;

	setup("v=DMARC1; p=reject; sp=quarantine; adkim=s; pct=50; "
	    "rua=mailto:a@example.com,mailto:b@example.org!10m");
	out = (struct dmarc_eval_out){ DMARC_RESULT_PASS,
	    DMARC_POLICY_REJECT, DMARC_POLICY_NONE, 1, 0 };
	h.action = DMARC_HISTORY_ACCEPT;
	n = dmarc_history_format(&h, buf, sizeof(buf));
	is_str(n > 0 ? buf : "", "job 00000000000000ab.1\n"
	    "reporter mx.example.net\n"
	    "received 1764900000\n"
	    "ipaddr 192.0.2.1\n"
	    "from example.com\n"
	    "mfrom bounce.example.com\n"
	    "spf 0\n"
	    "dkim example.com sel 0\n"
	    "dkim evil.example - 7\n"
	    "pdomain example.com\n"
	    "policy 15\n"
	    "rua mailto:a@example.com\n"
	    "rua mailto:b@example.org!10m\n"
	    "pct 50\n"
	    "adkim 115\n"
	    "aspf 114\n"
	    "p 114\n"
	    "sp 113\n"
	    "align_dkim 4\n"
	    "align_spf 5\n"
	    "arc 7\n"
	    "arc_policy 2 json:[]\n"
	    "action 2\n", "a pass, every line");
	is_int(n, strlen(buf), "the length returned");

	setup("v=DMARC1; p=quarantine");
	h.spf = NULL;
	h.nsigs = 0;
	h.mfrom = "";
	out = (struct dmarc_eval_out){ DMARC_RESULT_FAIL,
	    DMARC_POLICY_QUARANTINE, DMARC_POLICY_QUARANTINE, 0, 0 };
	h.action = DMARC_HISTORY_QUARANTINE;
	ok(dmarc_history_format(&h, buf, sizeof(buf)) > 0, "a fail");
	ok(strstr(buf, "\nmfrom \nspf -1\npdomain example.com\n"
	    "policy 17\nrua -\npct 100\n") != NULL,
	    "no MAIL FROM domain, no SPF, no DKIM, no rua");
	ok(strstr(buf, "\np 113\nsp 113\nalign_dkim 5\nalign_spf 5\n") !=
	    NULL, "sp defaults to p");
	ok(strstr(buf, "\naction 4\n") != NULL, "quarantined");
	out.policy = DMARC_POLICY_NONE;
	h.action = DMARC_HISTORY_REJECT;
	ok(dmarc_history_format(&h, buf, sizeof(buf)) > 0 &&
	    strstr(buf, "\npolicy 18\n") != NULL &&
	    strstr(buf, "\naction 0\n") != NULL, "p=none failed, rejected");
	out.policy = DMARC_POLICY_REJECT;
	h.action = DMARC_HISTORY_TEMPFAIL;
	ok(dmarc_history_format(&h, buf, sizeof(buf)) > 0 &&
	    strstr(buf, "\npolicy 16\n") != NULL &&
	    strstr(buf, "\naction 3\n") != NULL, "p=reject, tempfailed");
	is_int(dmarc_history_format(&h, buf, 100), -1, "too small: -1");
	len = (size_t)dmarc_history_format(&h, buf, sizeof(buf));
	is_int(dmarc_history_format(&h, buf, len), -1,
	    "no room for the NUL: -1");
	is_int(dmarc_history_format(&h, buf, len + 1), len, "just enough");

	fd = mkstemp(path);
	close(fd);
	unlink(path);
	ok(dmarc_history_append(path, "job 1\n", 6) == 0 &&
	    dmarc_history_append(path, "job 2\n", 6) == 0, "two appends");
	text = util_read_file(path, &len);
	is_str(text != NULL ? text : "", "job 1\njob 2\n", "in order");
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640,
	    "created 0640");
	free(text);
	unlink(path);
	ok(dmarc_history_append("/nonexistent/dir/h", "x\n", 2) == -1,
	    "a missing directory: -1");
	return tap_done();
}

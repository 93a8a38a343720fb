/* SPDX-License-Identifier: ISC */
/*
 * t_txlog.c - policy/txlog.c and lib/json.c: both forms of the
 * transaction line from the one field table (optional fields left out when
 * unset, the recipient list and its count, peers' bytes escaped), a plain
 * line cut safely at the buffer's size, the JSON form's filters object,
 * UTF-8 kept and other bytes escaped, and a recipient list too long for
 * one line cut with its marker.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"
#include "lib/util.h"
#include "policy/txlog.h"
#include "tap.h"

static char *const rcpts[] = { "a@x.example", "b\"q@x.example" };
static const struct txlog_result results[] = {
	{ "spf", "pass" }, { "dkim_verify", "fail(body hash) ,x" },
};

static const struct txlog full = {
	.sid = "sid1", .client = "192.0.2.1", .helo = "he\"lo\x01",
	.from = "s@x", .rcpts = rcpts, .nrcpts = 2, .size = 1234,
	.filters = "spf=pass", .results = results, .nresults = 2,
	.action = "relayed", .reply = "250 2.0.0 Ok", .ms = 17,
};

static const struct txlog optional = {
	.sid = "sid2", .client = "2001:db8::1", .helo = "h", .from = "",
	.filters = "", .action = "rejected", .reply = "550 no", .qid = "Q1",
	.backend = "127.0.0.1:25", .client_name = "mail.example",
};

/* txlog_json of t as a C string (freed by the next call). */
static const char *
json_of(const struct txlog *t)
{
	static struct util_buf	 m;

	util_buf_free(&m);
	txlog_json(t, &m);
	util_buf_add(&m, "", 1);
	return (const char *)m.p;
}

static const char *
escaped(const char *s, size_t len)
{
	static struct util_buf	 m;

	util_buf_free(&m);
	json_string(&m, s, len);
	util_buf_add(&m, "", 1);
	return (const char *)m.p;
}

static void
test_json_string(void)
{
	is_str(escaped("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7", 14),
	    "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7\"",
	    "valid UTF-8 kept as it is");
	is_str(escaped("a\xff" "b\xc3", 4), "\"a\\\\xffb\\\\xc3\"",
	    "a byte that is not UTF-8 as \\xNN (a cut sequence too)");
	is_str(escaped("\xc0\xaf\xed\xa0\x80", 5),
	    "\"\\\\xc0\\\\xaf\\\\xed\\\\xa0\\\\x80\"",
	    "an overlong form and a surrogate are not UTF-8");
	is_str(escaped("\x00\x1f\x7f\"\\", 5),
	    "\"\\u0000\\u001f\\u007f\\\"\\\\\"",
	    "controls, DEL, quote and backslash escaped");
	is_str(escaped("a\xc2\x9b" "1m\xc2\xa0", 7), "\"a\\u009b1m\xc2\xa0\"",
	    "a C1 control (CSI) escaped, U+00A0 kept");
}

static void
test_truncated(void)
{
	char		**many = calloc(1000, sizeof(*many));
	struct txlog	 t = optional;
	const char	*j;
	size_t		 i;

	for (i = 0; i < 1000; i++) {
		many[i] = malloc(250);
		snprintf(many[i], 250, "%0230zu@example.com", i);
	}
	t.rcpts = many;
	t.nrcpts = 1000;
	j = json_of(&t);
	ok(strlen(j) < 64 * 1024, "1000 long recipients: under 64 KiB (%zu)",
	    strlen(j));
	ok(strstr(j, "\"],\"rcpts_truncated\":true,\"nrcpt\":1000,") != NULL,
	    "the list closed, marked cut, the count whole");
	ok(strstr(j, "\"qid\":\"Q1\"") != NULL, "the fields after it kept");
	t.nrcpts = 3;
	ok(strstr(json_of(&t), "rcpts_truncated") == NULL,
	    "a short list is not marked");
	for (i = 0; i < 1000; i++)
		free(many[i]);
	free(many);
}

int
main(void)
{
	struct txlog	 t;
	char		 buf[1024];

	txlog_format(&full, buf, sizeof(buf));
	is_str(buf, "sid1 tx client=192.0.2.1 helo=\"he\\\"lo\\u0001\" "
	    "from=\"s@x\" rcpts=\"a@x.example\",\"b\\\"q@x.example\" "
	    "nrcpt=2 size=1234 filters=\"spf=pass\" action=relayed "
	    "reply=\"250 2.0.0 Ok\" ms=17", "plain: no optional field");
	is_str(json_of(&full), "\"sid\":\"sid1\",\"event\":\"tx\","
	    "\"client\":\"192.0.2.1\",\"helo\":\"he\\\"lo\\u0001\","
	    "\"from\":\"s@x\",\"rcpts\":[\"a@x.example\",\"b\\\"q@x.example\"],"
	    "\"nrcpt\":2,\"size\":1234,\"filters\":{\"spf\":{\"result\":"
	    "\"pass\",\"text\":\"pass\"},\"dkim_verify\":{\"result\":\"fail\","
	    "\"text\":\"fail(body hash) ,x\"}},\"action\":\"relayed\","
	    "\"reply\":\"250 2.0.0 Ok\",\"ms\":17",
	    "json: the members, filters an object");
	txlog_format(&optional, buf, sizeof(buf));
	is_str(buf, "sid2 tx client=2001:db8::1 client_name=\"mail.example\" "
	    "helo=\"h\" from=\"\" rcpts= nrcpt=0 size=0 filters=\"\" "
	    "action=rejected reply=\"550 no\" ms=0 backend=127.0.0.1:25 "
	    "qid=\"Q1\"", "plain: every optional field, in table order");
	is_str(json_of(&optional), "\"sid\":\"sid2\",\"event\":\"tx\","
	    "\"client\":\"2001:db8::1\",\"client_name\":\"mail.example\","
	    "\"helo\":\"h\",\"from\":\"\",\"rcpts\":[],\"nrcpt\":0,\"size\":0,"
	    "\"filters\":{},\"action\":\"rejected\",\"reply\":\"550 no\","
	    "\"ms\":0,\"backend\":\"127.0.0.1:25\",\"qid\":\"Q1\"",
	    "json: empty list and filters, every optional field");
	txlog_format(&full, buf, 20);
	is_int(strlen(buf), 19, "cut at the buffer's size");
	is_str(buf, "sid1 tx client=192.", "the start kept");
	t = optional;
	t.helo = "evil\r\naction=relayed";
	txlog_format(&t, buf, sizeof(buf));
	ok(strstr(buf, " helo=\"evil\\u000d\\u000aaction=relayed\" ") !=
	    NULL && strpbrk(buf, "\r\n") == NULL,
	    "plain: no line break from a hostile HELO");
	test_json_string();
	test_truncated();
	return tap_done();
}

/* SPDX-License-Identifier: ISC */
/*
 * t_txlog.c - policy/txlog.c: both forms of the transaction line from the
 * one field table (optional fields left out when unset, the recipient list
 * and its count, peers' bytes escaped), and a line cut safely at the
 * buffer's size.
 */
#include <string.h>

#include "tap.h"
#include "policy/txlog.h"

static char *const rcpts[] = { "a@x.example", "b\"q@x.example" };

static const struct txlog full = {
	.sid = "sid1", .client = "192.0.2.1", .helo = "he\"lo\x01",
	.from = "s@x", .rcpts = rcpts, .nrcpts = 2, .size = 1234,
	.filters = "spf=pass", .action = "relayed", .reply = "250 2.0.0 Ok",
	.ms = 17,
};

static const struct txlog optional = {
	.sid = "sid2", .client = "2001:db8::1", .helo = "h", .from = "",
	.filters = "", .action = "rejected", .reply = "550 no", .qid = "Q1",
	.backend = "127.0.0.1:25", .client_name = "mail.example",
};

int
main(void)
{
	char	 buf[1024];

	txlog_format(&full, CONF_LOG_PLAIN, buf, sizeof(buf));
	is_str(buf, "sid1 tx client=192.0.2.1 helo=\"he\\\"lo\\u0001\" "
	    "from=\"s@x\" rcpts=\"a@x.example\",\"b\\\"q@x.example\" "
	    "nrcpt=2 size=1234 filters=\"spf=pass\" action=relayed "
	    "reply=\"250 2.0.0 Ok\" ms=17", "plain: no optional field");
	txlog_format(&full, CONF_LOG_JSON, buf, sizeof(buf));
	is_str(buf, "{\"sid\":\"sid1\",\"client\":\"192.0.2.1\","
	    "\"helo\":\"he\\\"lo\\u0001\",\"from\":\"s@x\","
	    "\"rcpts\":[\"a@x.example\",\"b\\\"q@x.example\"],\"size\":1234,"
	    "\"filters\":\"spf=pass\",\"action\":\"relayed\","
	    "\"reply\":\"250 2.0.0 Ok\",\"ms\":17}", "json: no nrcpt");
	txlog_format(&optional, CONF_LOG_PLAIN, buf, sizeof(buf));
	is_str(buf, "sid2 tx client=2001:db8::1 client_name=\"mail.example\" "
	    "helo=\"h\" from=\"\" rcpts= nrcpt=0 size=0 filters=\"\" "
	    "action=rejected reply=\"550 no\" ms=0 backend=127.0.0.1:25 "
	    "qid=\"Q1\"", "plain: every optional field, in table order");
	txlog_format(&optional, CONF_LOG_JSON, buf, sizeof(buf));
	is_str(buf, "{\"sid\":\"sid2\",\"client\":\"2001:db8::1\","
	    "\"client_name\":\"mail.example\",\"helo\":\"h\",\"from\":\"\","
	    "\"rcpts\":[],\"size\":0,\"filters\":\"\",\"action\":\"rejected\","
	    "\"reply\":\"550 no\",\"ms\":0,\"backend\":\"127.0.0.1:25\","
	    "\"qid\":\"Q1\"}", "json: empty list, every optional field");
	txlog_format(&full, CONF_LOG_PLAIN, buf, 20);
	is_int(strlen(buf), 19, "cut at the buffer's size");
	is_str(buf, "sid1 tx client=192.", "the start kept");
	return tap_done();
}

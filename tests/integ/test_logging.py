# SPDX-License-Identifier: ISC
"""One transaction line per message on stderr: client address, envelope
sender, size, action= and the backend's reply; with log.format=json the
line's message text is a JSON object."""
import json
import re
import time

from peers import make_message, wait_for

REPLY = "250 2.0.0 Ok: queued as QID%d"


def tx_lines(p, marker):
    return [l for l in p.log().splitlines() if marker in l and
            ("action=" in l or '"action"' in l)]


def walk(obj):
    """Every scalar in a JSON value."""
    if isinstance(obj, dict):
        for v in obj.values():
            yield from walk(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from walk(v)
    else:
        yield obj


def send(p, sender, content):
    with p.client() as c:
        c.ehlo()
        r = c.send_message(sender, ["rcpt@example.com"], content)
        assert r.code == 250, r
        assert c.cmd("QUIT").code == 221


def test_plain_transaction_line(proxy):
    p, f = proxy({"eod_reply": REPLY})
    c1 = make_message("log one", ["first"])
    c2 = make_message("log two", ["second, a bit longer"])
    send(p, "logger@example.org", c1)
    send(p, "logger@example.org", c2)
    f.wait_count(2)
    wait_for(lambda: len(tx_lines(p, "logger@example.org")) >= 2, 10,
             what="two transaction lines")
    time.sleep(0.3)
    lines = tx_lines(p, "logger@example.org")
    assert len(lines) == 2, "one line per message, got:\n" + "\n".join(lines)
    for line, content, qid in ((lines[0], c1, "QID1"),
                               (lines[1], c2, "QID2")):
        assert "127.0.0.1" in line, line
        assert "action=" in line, line
        assert re.search(r"(?<!\d)%d(?!\d)" % len(content), line), (
            "size %d not in %s" % (len(content), line))
        assert qid in line, "backend reply missing: " + line


def test_json_transaction_line(proxy):
    p, f = proxy({"eod_reply": REPLY}, **{"log.format": "json"})
    content = make_message("log json", ["json please"])
    send(p, "jsonlogger@example.org", content)
    f.wait_count(1)
    wait_for(lambda: tx_lines(p, "jsonlogger@example.org"), 10,
             what="a JSON transaction line")
    (line,) = tx_lines(p, "jsonlogger@example.org")
    assert "{" in line, "not JSON: " + line
    obj = json.loads(line[line.index("{"):])
    assert isinstance(obj, dict), obj
    assert "action" in obj, obj
    values = [str(v) for v in walk(obj)]
    text = " ".join(values)
    assert "127.0.0.1" in text, obj
    assert "jsonlogger@example.org" in text, obj
    assert "QID1" in text, obj
    assert str(len(content)) in values, "size %d not in %s" % (
        len(content), obj)


def test_rejected_message_logged(proxy):
    p, f = proxy()
    with p.client() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<rejected@example.org>").code == 250
        assert c.cmd("RCPT TO:<rcpt@example.com>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(b"Subject: x\r\n\r\nbare\nlf\r\n.\r\n")
        assert c.reply().code == 554
    wait_for(lambda: tx_lines(p, "rejected@example.org"), 10,
             what="a transaction line for the rejected message")
    (line,) = tx_lines(p, "rejected@example.org")
    assert "127.0.0.1" in line
    assert f.count() == 0


def test_smtp_trace_escapes_control_bytes(proxy):
    """-T smtp logs every line both ways; peer bytes outside printable
    ASCII appear as \\xNN (\\r, \\n, \\t), so a client or backend can neither
    drive the terminal that reads the log nor forge a line in it."""
    p, f = proxy({"rules": [{"verb": "RCPT", "contains": "esc@",
                             "reply": "550 5.1.1 <esc\x1b[0m@x> unknown"}]},
                 args=("-T", "smtp"))
    with p.client() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a\x1b[31m@x>").code == 501
        c.send(b"NOOP a\x00b\r\n")
        assert c.reply().code == 500
        c.send(b"NOOP c\rd\r\n")
        assert c.reply().code == 500
        c.send(b"NOOP \xc3\xa9\\x41\r\n")
        assert c.reply().code == 250
        assert c.cmd("MAIL FROM:<a@example.org>").code == 250
        assert c.cmd("RCPT TO:<esc@example.com>").code == 550
        assert c.cmd("QUIT").code == 221
    log = p.wait_log(r"<< QUIT") and p.log()
    for raw in ("\x1b", "\x00", "\r", "\u00e9", "\ufffd"):
        assert raw not in log, (raw, log)
    for shown in (r"<< MAIL FROM:<a\x1b[31m@x>", r"<< NOOP a\x00b",
                  r"<< NOOP c\rd", r"<< NOOP \xc3\xa9\\x41",
                  r"> NOOP \xc3\xa9\\x41",
                  r"< 550 5.1.1 <esc\x1b[0m@x> unknown",
                  r">> 550 5.1.1 <esc\x1b[0m@x> unknown"):
        assert shown in log, (shown, log[-3000:])


RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def json_lines(p):
    """Every line of p's log as a JSON object: fails on any other line."""
    out = []
    for line in p.log().splitlines():
        obj = json.loads(line)
        assert isinstance(obj, dict), line
        assert RFC3339_MS.match(obj["time"]), line
        assert obj["level"] in ("error", "warning", "info", "debug",
                                "trace"), line
        assert ("msg" in obj) != (obj.get("event") == "tx"), line
        out.append(obj)
    return out


def test_every_json_line_is_one_object(proxy, workdir):
    p, f = proxy({"eod_reply": REPLY}, args=("-v",),
                 **{"log.format": "json", "iplist.sender_deny":
                    "bad@example.org", "filters.chain": "iplist"})
    send(p, "good@example.org", make_message("j1", ["one"]))
    with p.client() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<bad@example.org>").code == 550
        c.send(b"BOGUS \x01\x1b[31m\xff\r\n")
        assert c.reply().code == 500
        assert c.cmd("QUIT").code == 221
    p.signal(__import__("signal").SIGHUP)
    p.wait_log(r"configuration reloaded")
    wait_for(lambda: len([o for o in json_lines(p)
                          if o.get("event") == "tx"]) == 2, 10,
             what="two transaction objects")
    objs = json_lines(p)
    assert len(objs) > 8, objs
    levels = {o["level"] for o in objs}
    assert {"info", "debug", "warning"} <= levels, levels
    tx = [o for o in objs if o.get("event") == "tx"]
    assert tx[0]["action"] == "relayed" and tx[0]["filters"] == {}, tx[0]
    assert tx[1]["action"] == "rejected", tx[1]
    assert tx[1]["filters"]["iplist"]["result"] == "sender-deny", tx[1]
    assert tx[1]["filters"]["iplist"]["text"].startswith("sender-deny("), \
        tx[1]
    assert isinstance(tx[1]["rcpts"], list) and tx[1]["nrcpt"] == 0


def test_json_8bit_smtputf8_transaction(proxy):
    p, f = proxy({"eod_reply": REPLY,
                  "ehlo": ["PIPELINING", "8BITMIME", "SMTPUTF8"]},
                 **{"log.format": "json"})
    sender = "j\u00f8rgen@ex\u00e4mple.org"
    rcpt = "\u7528\u6237@example.com"
    content = ("From: <%s>\r\nSubject: 8bit\r\n\r\nbl\u00e5b\u00e6r\r\n" %
               sender).encode()
    with p.client() as c:
        c.send(b"EHLO client\xff.example\r\n")
        assert c.reply().code == 250
        assert c.cmd("MAIL FROM:<%s> SMTPUTF8" % sender).code == 250
        assert c.cmd("RCPT TO:<%s>" % rcpt).code == 250
        assert c.cmd("DATA").code == 354
        c.send(content + b".\r\n")
        assert c.reply().code == 250
        c.cmd("QUIT")
    f.wait_count(1)
    wait_for(lambda: [o for o in json_lines(p) if o.get("event") == "tx"],
             10, what="the transaction object")
    (tx,) = [o for o in json_lines(p) if o.get("event") == "tx"]
    assert tx["from"] == sender and tx["rcpts"] == [rcpt], tx
    assert tx["helo"] == "client\\xff.example", tx
    assert tx["size"] == len(content), tx


def test_json_1000_recipients_stays_one_object(proxy):
    p, f = proxy({"eod_reply": REPLY}, max_recipients="1000",
                 **{"log.format": "json"})
    rcpts = ["%s%04d@example.com" % ("r" * 70, i) for i in range(1000)]
    with p.client(timeout=60) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<many@example.org>").code == 250
        for r in rcpts:
            assert c.cmd("RCPT TO:<%s>" % r).code == 250
        assert c.cmd("DATA").code == 354
        c.send(make_message("many", ["x"]) + b".\r\n")
        assert c.reply().code == 250
        c.cmd("QUIT")
    wait_for(lambda: [o for o in json_lines(p) if o.get("event") == "tx"],
             10, what="the transaction object")
    (tx,) = [o for o in json_lines(p) if o.get("event") == "tx"]
    assert tx["nrcpt"] == 1000 and tx["rcpts_truncated"] is True, \
        (tx["nrcpt"], len(tx["rcpts"]))
    assert 100 < len(tx["rcpts"]) < 1000 and \
        tx["rcpts"] == rcpts[:len(tx["rcpts"])]
    assert tx["action"] == "relayed"

# SPDX-License-Identifier: ISC
"""The harness itself, against the peers directly (no postern): so a failure
elsewhere points at postern, and so the smuggling tests are known to bite
(the same payloads DO smuggle a second message into these backends when
nothing sits in between)."""
import peers
from peers import SmtpClient, make_message

SMUGGLE = (b"Subject: hi\r\n\r\nhello\n.\r\n"
           b"MAIL FROM:<smuggler@evil.test>\r\n"
           b"RCPT TO:<victim@example.com>\r\n"
           b"DATA\r\n"
           b"Subject: smuggled\r\n\r\nsmuggled body\r\n"
           b".\r\n")


def test_sink_dump_roundtrip(sink):
    s = sink()
    content = make_message("sink roundtrip", ["a", ".dot", "..two", "", "end"])
    with SmtpClient(s.port) as c:
        assert c.greeting.code == 220
        kw = c.ehlo().keywords()
        assert "PIPELINING" in kw
        r = c.send_message("a@example.org", ["b@example.com", "c@example.com"],
                           content)
        assert r.code == 250, r
        assert c.cmd("QUIT").code == 221
    (m,) = s.wait_count(1)
    assert m.content == content
    assert m.mail == "<a@example.org>"
    assert m.rcpts == ["<b@example.com>", "<c@example.com>"]


def test_sink_failure_options(sink):
    s = sink("-r", "RCPT", "-f", ".")
    with SmtpClient(s.port) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@example.org>").code == 250
        assert c.cmd("RCPT TO:<b@example.com>").code // 100 == 4


def test_fakemta_records(fakemta):
    f = fakemta(rules=[{"verb": "RCPT", "contains": "nouser@",
                        "reply": "550 5.1.1 <nouser@example.com>: unknown"}])
    content = make_message("fake", [".x", "y"])
    with SmtpClient(f.port) as c:
        kw = c.ehlo().keywords()
        assert "CHUNKING" in kw
        assert c.cmd("MAIL FROM:<a@example.org>").code == 250
        r = c.cmd("RCPT TO:<nouser@example.com>")
        assert (r.code, r.enhanced) == (550, "5.1.1")
        assert c.cmd("RCPT TO:<b@example.com>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(peers.stuff(content) + b".\r\n")
        assert c.reply().code == 250
        assert c.cmd("MAIL FROM:<a@example.org>").code == 250
        assert c.cmd("RCPT TO:<b@example.com>").code == 250
        c.send(b"BDAT 5\r\nhelloBDAT 3 LAST\r\n123")
        assert c.reply().code == 250
        assert c.reply().code == 250
    msgs = f.wait_count(2)
    assert msgs[0].content == content
    assert msgs[0].rcpts == ["<b@example.com>"]
    assert msgs[1].content == b"hello123"
    assert msgs[1].meta["via"] == "BDAT"


def test_smuggling_payload_bites_fakemta(fakemta):
    """Without postern the look-alike ends the message at the backend and a
    second (smuggled) transaction is accepted."""
    f = fakemta()
    with SmtpClient(f.port) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@example.org>").code == 250
        assert c.cmd("RCPT TO:<b@example.com>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(SMUGGLE)
        codes = [c.reply().code for _ in range(5)]
    assert codes == [250, 250, 250, 354, 250]
    msgs = f.wait_count(2)
    assert msgs[1].mail == "<smuggler@evil.test>"


def test_postfix_backend_relays_and_is_smugglable(postfix_backend):
    pf, snk = postfix_backend
    before = snk.count()
    with SmtpClient(pf.port) as c:
        assert c.greeting.code == 220
        kw = c.ehlo().keywords()
        assert "CHUNKING" in kw and "XCLIENT" in kw
        r = c.cmd("MAIL FROM:<a@example.org>")
        assert r.code == 250
        r = c.cmd("RCPT TO:<nouser@example.com>")
        assert (r.code, r.enhanced) == (550, "5.1.1"), r
        assert c.cmd("RCPT TO:<b@example.com>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(SMUGGLE)
        # Postfix 3.7 default: "\n.\r\n" ends the first message, and the
        # smuggled MAIL/RCPT/DATA become a second transaction.
        codes = [c.reply().code for _ in range(5)]
        assert codes == [250, 250, 250, 354, 250]
        assert c.cmd("QUIT").code == 221
    msgs = snk.wait_count(before + 2, timeout=30)
    assert any(m.mail and "smuggler@evil.test" in m.mail for m in msgs)
    pf.wait_maillog(r"from=<smuggler@evil\.test>")


def test_postfix_data_backend_hides_chunking(postfix_data_backend):
    pf, snk = postfix_data_backend
    with SmtpClient(pf.port) as c:
        kw = c.ehlo().keywords()
        assert "CHUNKING" not in kw and "PIPELINING" in kw

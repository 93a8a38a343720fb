# SPDX-License-Identifier: ISC
"""The SMTP conversation through postern: greeting, EHLO, relayed MAIL /
RCPT / RSET / NOOP / QUIT with the backend's replies unchanged, PIPELINING,
VRFY/EXPN, XCLIENT towards the backend."""
import time

import pytest

import peers
from peers import SmtpClient, free_port, good_session, make_message

RCPT_RULES = [
    {"verb": "RCPT", "contains": "nouser@",
     "reply": "550 5.1.1 <nouser@example.com>: Recipient address rejected: "
              "User unknown in virtual mailbox table"},
    {"verb": "RCPT", "contains": "full@",
     "reply": "452 4.2.2 <full@example.com>: Mailbox full quota-xyz"},
    {"verb": "RCPT", "contains": "multi@",
     "reply": "550-5.1.1 first line of a long story\n"
              "550 5.1.1 second line ends it"},
    {"verb": "MAIL", "contains": "banned@",
     "reply": "553 5.7.1 <banned@example.org>: Sender address rejected: "
              "Access denied here"},
]


def test_greeting_names_postern(proxy):
    p, f = proxy()
    with p.client() as c:
        assert c.greeting.code == 220, c.greeting
        assert c.greeting.lines[0].startswith("220 postern.test "), c.greeting
        assert "ESMTP" in c.greeting.lines[0]
        assert c.cmd("QUIT").code == 221


def _expect_421_and_close(p, limit):
    t0 = time.monotonic()
    with SmtpClient(p.port, timeout=limit + 5) as c:
        assert c.greeting.code == 421, c.greeting
        c.wait_closed(timeout=5)
    return time.monotonic() - t0


def test_backend_down_gives_421(postern):
    dead = free_port()          # nothing listens there
    p = postern(dead, connect_timeout="5s")
    elapsed = _expect_421_and_close(p, 5)
    assert elapsed < 5 + 2, "421 took %.1fs" % elapsed
    # and again: the daemon survives it
    _expect_421_and_close(p, 5)
    assert p.proc.alive()


@pytest.mark.parametrize("greeting", [
    "554 5.3.2 backend says go away",
    "421 4.3.2 backend busy, try later",
    "CLOSE",
])
def test_backend_refusing_greeting_gives_421(proxy, greeting):
    p, f = proxy({"greeting": greeting}, connect_timeout="5s")
    elapsed = _expect_421_and_close(p, 5)
    assert elapsed < 5 + 2
    assert p.proc.alive()


def test_backend_silent_greeting_times_out(proxy):
    p, f = proxy({"greeting_delay": 30}, connect_timeout="2s")
    elapsed = _expect_421_and_close(p, 2)
    assert 1.0 <= elapsed < 2 + 4, "421 after %.1fs" % elapsed


def test_ehlo_full_backend(proxy):
    p, f = proxy(max_message_size="1234567")
    with p.client() as c:
        r = c.ehlo()
        assert r.code == 250
        assert r.lines[0][4:].split()[0] == "postern.test", r
        kw = r.keywords()
        for k in ("PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME",
                  "SMTPUTF8", "CHUNKING", "DSN"):
            assert k in kw, "%s missing from %s" % (k, r)
        assert kw.get("SIZE") == "1234567", r


def test_ehlo_minimal_backend(proxy):
    """Only what postern does itself when the backend offers nothing."""
    p, f = proxy({"ehlo": []}, max_message_size="54321")
    with p.client() as c:
        kw = c.ehlo().keywords()
        # (ENHANCEDSTATUSCODES may go either way: postern relays the
        # backend's replies, which here carry no enhanced codes)
        assert "PIPELINING" in kw, kw
        assert kw.get("SIZE") == "54321", kw
        for k in ("8BITMIME", "SMTPUTF8", "CHUNKING", "DSN"):
            assert k not in kw, "%s offered though the backend has not" % k


def test_ehlo_does_not_leak_backend_only_extensions(proxy):
    p, f = proxy({"ehlo": ["PIPELINING", "AUTH PLAIN LOGIN", "STARTTLS",
                           "XCLIENT ADDR NAME HELO PROTO",
                           "XFORWARD NAME ADDR PROTO HELO", "ETRN"]})
    with p.client() as c:
        kw = c.ehlo().keywords()
        for k in ("XCLIENT", "XFORWARD", "ETRN", "AUTH"):
            assert k not in kw, "postern offers %s: %s" % (k, kw)


def test_smtp_sink_backend(sink, postern):
    """smtp-sink's EHLO ends with an empty "250 " line and offers no
    CHUNKING or SMTPUTF8."""
    s = sink()
    p = postern(s.port)
    with p.client() as c:
        kw = c.ehlo().keywords()
        assert "8BITMIME" in kw and "DSN" in kw, kw
        assert "CHUNKING" not in kw and "SMTPUTF8" not in kw, kw
        content = make_message("via sink", ["hello sink"])
        r = c.send_message("a@example.org", ["b@example.com"], content)
        assert r.code == 250, r
        assert c.cmd("QUIT").code == 221
    (m,) = s.wait_count(1)
    assert m.content == content
    assert m.mail.startswith("<a@example.org>")
    assert m.rcpts == ["<b@example.com>"]


def test_helo(proxy):
    p, f = proxy()
    with p.client() as c:
        r = c.cmd("HELO old.client.test")
        assert r.code == 250, r
        content = make_message("helo", ["old style"])
        r = c.send_message("a@example.org", ["b@example.com"], content)
        assert r.code == 250, r
    (m,) = f.wait_count(1)
    assert m.content == content


@pytest.mark.parametrize("name", ["mx\x1b[31m.test", "a\x7fb", "x\x01;dkim=pass"])
def test_helo_with_control_bytes_refused(proxy, name):
    """A HELO name is relayed to the backend and written into headers and
    logs: one with a control byte is refused, never relayed."""
    p, f = proxy()
    with p.client() as c:
        r = c.cmd("EHLO " + name)
        assert (r.code, r.enhanced) == (501, "5.5.4"), r
        assert c.ehlo().code == 250
        assert c.cmd("QUIT").code == 221
    helos = [l for _, l in f.commands() if l.upper().startswith("EHLO")]
    assert helos, f.commands()
    assert all(ord(ch) >= 0x20 and ord(ch) != 0x7f
               for h in helos for ch in h), helos


@pytest.mark.parametrize("cmd", ["VRFY postmaster", "EXPN staff",
                                 "VRFY <root@example.com>"])
def test_vrfy_expn_refused(proxy, cmd):
    p, f = proxy()
    with p.client() as c:
        c.ehlo()
        r = c.cmd(cmd)
        assert (r.code, r.enhanced) == (502, "5.5.1"), r
        assert c.cmd("NOOP").code == 250
    verbs = [l.split()[0].upper() for _, l in f.commands() if l]
    assert "VRFY" not in verbs and "EXPN" not in verbs


def test_backend_replies_relayed_unchanged(proxy):
    p, f = proxy({"rules": RCPT_RULES})
    with p.client() as c:
        c.ehlo()
        r = c.cmd("MAIL FROM:<banned@example.org>")
        assert (r.code, r.enhanced) == (553, "5.7.1"), r
        assert "Access denied here" in r.text, r
        assert c.cmd("MAIL FROM:<a@example.org>").code == 250
        r = c.cmd("RCPT TO:<nouser@example.com>")
        assert (r.code, r.enhanced) == (550, "5.1.1"), r
        assert "User unknown in virtual mailbox table" in r.text, r
        r = c.cmd("RCPT TO:<full@example.com>")
        assert (r.code, r.enhanced) == (452, "4.2.2"), r
        assert "quota-xyz" in r.text, r
        r = c.cmd("RCPT TO:<multi@example.com>")
        assert r.code == 550 and len(r.lines) == 2, r
        assert "first line of a long story" in r.lines[0], r
        assert "second line ends it" in r.lines[1], r
        assert c.cmd("RCPT TO:<ok@example.com>").code == 250
        assert c.cmd("DATA").code == 354
        content = make_message("relayed", ["x"])
        c.send(peers.stuff(content) + b".\r\n")
        assert c.reply().code == 250
    (m,) = f.wait_count(1)
    assert m.rcpts == ["<ok@example.com>"]
    assert m.mail == "<a@example.org>"


def test_noop_rset_quit(proxy):
    p, f = proxy()
    with p.client() as c:
        c.ehlo()
        assert c.cmd("NOOP").code == 250
        assert c.cmd("MAIL FROM:<a@example.org>").code == 250
        assert c.cmd("RSET").code == 250
        # after RSET a new MAIL is fine (the backend was reset too)
        assert c.cmd("MAIL FROM:<b@example.org>").code == 250
        assert c.cmd("RSET").code == 250
        r = c.cmd("QUIT")
        assert r.code == 221, r
        c.wait_closed(timeout=5)


@pytest.mark.parametrize("ehlo", [None, []], ids=["pipelining-backend",
                                                  "plain-backend"])
def test_pipelining_replies_in_order(proxy, ehlo):
    cfg = {"rules": RCPT_RULES}
    if ehlo is not None:
        cfg["ehlo"] = ehlo
    p, f = proxy(cfg)
    with p.client() as c:
        assert "PIPELINING" in c.ehlo().keywords()
        c.send(b"MAIL FROM:<pipe@example.org>\r\n"
               b"RCPT TO:<one@example.com>\r\n"
               b"RCPT TO:<nouser@example.com>\r\n"
               b"RCPT TO:<full@example.com>\r\n"
               b"RCPT TO:<two@example.com>\r\n"
               b"DATA\r\n")
        rs = c.replies(6)
        assert [r.code for r in rs] == [250, 250, 550, 452, 250, 354], rs
        assert rs[2].enhanced == "5.1.1" and rs[3].enhanced == "4.2.2"
        content = make_message("pipelined", ["in order"])
        c.send(peers.stuff(content) + b".\r\nRSET\r\nNOOP\r\nQUIT\r\n")
        rs = c.replies(4)
        assert [r.code for r in rs] == [250, 250, 250, 221], rs
    (m,) = f.wait_count(1)
    assert m.rcpts == ["<one@example.com>", "<two@example.com>"]
    assert m.content == content


def test_client_xclient_is_not_relayed(proxy):
    p, f = proxy({"ehlo": ["PIPELINING", "XCLIENT ADDR NAME HELO PROTO"]})
    with p.client() as c:
        c.ehlo()
        r = c.cmd("XCLIENT ADDR=192.0.2.66 NAME=spoofed.example")
        assert 500 <= r.code < 600, r
        assert c.cmd("NOOP").code == 250
    for _, line in f.commands():
        assert "192.0.2.66" not in line and "spoofed" not in line, line


def _xclient_attrs(f, session):
    attrs = {}
    for s, line in f.commands():
        if s == session and line.upper().startswith("XCLIENT "):
            for kv in line.split()[1:]:
                k, _, v = kv.partition("=")
                attrs[k.upper()] = v
    return attrs


def test_xclient_sent_to_backend(proxy):
    p, f = proxy({"ehlo": ["PIPELINING", "8BITMIME",
                           "XCLIENT ADDR NAME HELO PROTO"]})
    with p.client(source="127.0.0.5") as c:
        assert c.ehlo("helo.xclient.test").code == 250
        r = c.send_message("a@example.org", ["b@example.com"],
                           make_message("xclient", ["x"]))
        assert r.code == 250, r
    (m,) = f.wait_count(1)
    attrs = _xclient_attrs(f, m.meta["session"])
    assert attrs.get("ADDR") == "127.0.0.5", attrs
    assert attrs.get("HELO") == "helo.xclient.test", attrs


def test_xclient_off(proxy):
    p, f = proxy({"ehlo": ["PIPELINING", "XCLIENT ADDR NAME HELO PROTO"]},
                 client_identity="none")
    with p.client(source="127.0.0.5") as c:
        c.ehlo("helo.xclient.test")
        r = c.send_message("a@example.org", ["b@example.com"],
                           make_message("noxclient", ["x"]))
        assert r.code == 250, r
    f.wait_count(1)
    assert not any(l.upper().startswith("XCLIENT") for _, l in f.commands())


def test_connection_slots_are_released(proxy):
    """Sessions ending every which way must give back their per-IP slot:
    with a limit of 2, thirty sequential sessions all get served."""
    p, f = proxy(max_connections_per_ip="2")
    for i in range(10):
        good_session(p.port, f, "seq%d" % i)            # QUIT
        with p.client() as c:                             # hang up mid-MAIL
            c.ehlo()
            assert c.cmd("MAIL FROM:<a@example.org>").code == 250
        with p.client() as c:                             # hang up mid-DATA
            c.ehlo()
            assert c.cmd("MAIL FROM:<a@example.org>").code == 250
            assert c.cmd("RCPT TO:<b@example.com>").code == 250
            assert c.cmd("DATA").code == 354
            c.send(b"Subject: cut\r\n")
        peers.wait_slots(p.port, 2)
    assert f.count() == 10


def test_vrfy_relayed_when_enabled(proxy):
    p, f = proxy(vrfy="yes")
    with p.client() as c:
        c.ehlo()
        r = c.cmd("VRFY postmaster")
        assert r.code == 252, r         # fakemta's own answer
    assert any(l.upper().startswith("VRFY") for _, l in f.commands())


def test_slow_backend_session_does_not_block_others(proxy):
    """One session waiting 6s on the backend; others go through meanwhile."""
    p, f = proxy({"rules": [{"verb": "MAIL", "contains": "slow@",
                             "delay": 6}]})
    with p.client(timeout=20) as slow:
        slow.ehlo()
        slow.send("MAIL FROM:<slow@example.org>\r\n")
        time.sleep(0.3)
        t0 = time.monotonic()
        for i in range(3):
            good_session(p.port, f, "beside-slow-%d" % i)
        elapsed = time.monotonic() - t0
        assert elapsed < 4, "other sessions took %.1fs" % elapsed
        r = slow.reply(timeout=15)
        assert r.code == 250, r

# SPDX-License-Identifier: ISC
"""No SMTP smuggling.  Bare CR / bare LF and every end-of-data look-alike
either make postern reject the message (554 5.6.x, the default) so the backend
gets nothing at all, or (bare_newline=normalise) are rewritten so the backend
gets exactly one message with the would-be smuggled commands as body text.

Both backends here are lenient like a default Postfix 3.7 (test_peers.py
shows the same payloads really do smuggle into them directly)."""
import re

import pytest

import peers

from peers import good_session, make_message, wait_for

LOOKALIKES = [b"\n.\n", b"\r.\r", b"\r\n.\n", b"\n.\r\n", b"\r\n.\r\r\n",
              b"\r.\r\n"]
IDS = ["LF.LF", "CR.CR", "CRLF.LF", "LF.CRLF", "CRLF.CRCRLF", "CR.CRLF"]

SMUGGLED = (b"MAIL FROM:<smuggler@evil.test>\r\n"
            b"RCPT TO:<victim@example.com>\r\n"
            b"DATA\r\n"
            b"From: <ceo@example.com>\r\nSubject: smuggled\r\n\r\n"
            b"smuggled body\r\n")


def payload(lookalike):
    return (b"From: <sender@example.org>\r\nSubject: innocent\r\n\r\n"
            b"hello" + lookalike + SMUGGLED + b".\r\n")


def open_data(c, sender="sender@example.org"):
    assert c.ehlo().code == 250
    assert c.cmd("MAIL FROM:<%s>" % sender).code == 250
    assert c.cmd("RCPT TO:<rcpt@example.com>").code == 250
    r = c.cmd("DATA")
    assert r.code == 354, r


def assert_554_56x(r):
    assert r.code == 554, r
    assert r.enhanced and r.enhanced.startswith("5.6."), r


def bare(content):
    """Bare CR or bare LF anywhere?"""
    return re.search(rb"\r(?!\n)|(?<!\r)\n", content)


@pytest.fixture(params=["fakemta-bdat", "fakemta-data", "smtp-sink"])
def backend(request, fakemta, sink):
    if request.param == "fakemta-bdat":
        return fakemta(ehlo=peers.FULL_EHLO)
    if request.param == "fakemta-data":
        return fakemta(ehlo=peers.DATA_EHLO)
    return sink()


CHUNKING = pytest.mark.parametrize(
    "ehlo", [peers.FULL_EHLO, peers.DATA_EHLO],
    ids=["backend-bdat", "backend-data"])


@pytest.mark.parametrize("lookalike", LOOKALIKES, ids=IDS)
def test_lookalike_rejected(backend, postern, lookalike):
    p = postern(backend.port)
    with p.client() as c:
        open_data(c)
        c.send(payload(lookalike))
        assert_554_56x(c.reply())
    # a good session afterwards is the only message the backend ever gets
    good_session(p.port, backend, "after-reject")
    # (smtp-sink may briefly hold a dump for the aborted transaction)
    try:
        wait_for(lambda: backend.count() == 1, 5, what="one message")
    except AssertionError:
        pass
    msgs = backend.messages()
    assert len(msgs) == 1, msgs
    assert b"smuggl" not in msgs[0].content
    if hasattr(backend, "transcript"):
        assert b"smuggl" not in backend.transcript()
        assert not any("smuggler" in l for _, l in backend.commands())


@pytest.mark.parametrize("lookalike", LOOKALIKES, ids=IDS)
def test_lookalike_rejected_session_continues(fakemta, postern, lookalike):
    f = fakemta()
    p = postern(f.port)
    good = make_message("same session", ["fine"])
    with p.client() as c:
        open_data(c)
        c.send(payload(lookalike))
        assert_554_56x(c.reply())
        r = c.send_message("again@example.org", ["rcpt@example.com"], good)
        assert r.code == 250, r
    (m,) = f.wait_count(1)
    assert m.content == good
    assert m.mail == "<again@example.org>"
    assert b"smuggl" not in f.transcript()


@CHUNKING
@pytest.mark.parametrize("lookalike", LOOKALIKES, ids=IDS)
def test_lookalike_normalised(fakemta, postern, lookalike, ehlo):
    f = fakemta(ehlo=ehlo)
    p = postern(f.port, bare_newline="normalise")
    with p.client() as c:
        open_data(c)
        c.send(payload(lookalike))
        r = c.reply()
        assert r.code == 250, r
        assert c.cmd("QUIT").code == 221
    msgs = f.wait_count(1)
    good_session(p.port, f, "after-normalise")
    msgs = f.messages()
    assert len(msgs) == 2, msgs         # ours and the good one, no third
    m = msgs[0]
    assert m.mail == "<sender@example.org>"
    assert m.rcpts == ["<rcpt@example.com>"]
    assert b"MAIL FROM:<smuggler@evil.test>" in m.content
    assert b"smuggled body" in m.content
    assert not bare(m.content), "bare CR/LF reached the backend: %r" % (
        m.content,)
    assert not any("smuggler" in l for _, l in f.commands())


@pytest.mark.parametrize("lookalike", LOOKALIKES, ids=IDS)
def test_lookalike_normalised_smtp_sink(sink, postern, lookalike):
    s = sink()
    p = postern(s.port, bare_newline="normalise")
    with p.client() as c:
        open_data(c)
        c.send(payload(lookalike))
        r = c.reply()
        assert r.code == 250, r
    good_session(p.port, s, "after-normalise")
    msgs = s.messages()
    assert len(msgs) == 2, msgs
    assert sum(b"smuggled body" in m.content for m in msgs) == 1
    assert not any("smuggler" in (m.mail or "") for m in msgs)


@pytest.mark.parametrize("content,normalised", [
    (b"Subject: lf\r\n\r\nline one\nline two\r\n",
     b"Subject: lf\r\n\r\nline one\r\nline two\r\n"),
    (b"Subject: cr\r\n\r\nline one\rline two\r\n",
     b"Subject: cr\r\n\r\nline one\r\nline two\r\n"),
    (b"Subject: hdr\nX-Injected: yes\r\n\r\nbody\r\n",
     b"Subject: hdr\r\nX-Injected: yes\r\n\r\nbody\r\n"),
], ids=["bare-LF", "bare-CR", "bare-LF-in-header"])
@CHUNKING
def test_bare_newline(fakemta, postern, content, normalised, ehlo):
    f = fakemta(ehlo=ehlo)
    p = postern(f.port)
    with p.client() as c:
        open_data(c)
        c.send(content + b".\r\n")
        assert_554_56x(c.reply())
    q = postern(f.port, bare_newline="normalise")
    with q.client() as c:
        open_data(c)
        c.send(content + b".\r\n")
        r = c.reply()
        assert r.code == 250, r
    (m,) = f.wait_count(1)
    assert m.content == normalised


def test_bare_lf_in_bdat_chunk_rejected(fakemta, postern):
    """bare_newline=reject covers BDAT content too: a chunk with "\\n.\\n" and
    commands is refused, and the backend never sees a second transaction."""
    f = fakemta()
    p = postern(f.port)
    data = payload(b"\n.\n")[:-3]     # no final dot: BDAT has no terminator
    with p.client() as c:
        assert "CHUNKING" in c.ehlo().keywords()
        assert c.cmd("MAIL FROM:<bdat@example.org>").code == 250
        assert c.cmd("RCPT TO:<rcpt@example.com>").code == 250
        c.send(("BDAT %d LAST\r\n" % len(data)).encode() + data)
        assert_554_56x(c.reply())
    good_session(p.port, f, "after-bdat")
    assert not any("smuggler" in l for _, l in f.commands())
    assert len(f.messages()) == 1


@CHUNKING
def test_pipelined_commands_after_rejected_data(fakemta, postern, ehlo):
    """Commands pipelined right after a rejected message are postern's to
    answer, never passed on as part of a body."""
    f = fakemta(ehlo=ehlo)
    p = postern(f.port)
    with p.client() as c:
        open_data(c)
        c.send(payload(b"\n.\n") + b"NOOP\r\nQUIT\r\n")
        r = c.reply()
        assert_554_56x(r)
        assert c.reply().code == 250
        assert c.reply().code == 221
    assert f.count() == 0
    assert b"smuggl" not in f.transcript()

# SPDX-License-Identifier: ISC
"""postern in front of a real, private Postfix instance (relaying to an
smtp-sink): XCLIENT, BDAT/CHUNKING, relayed rejects, smuggling, swaks."""
import re
import subprocess
import uuid

import pytest

import peers
from peers import SmtpClient, make_message, wait_for
from test_smuggling import IDS, LOOKALIKES, assert_554_56x, payload


def find(snk, marker, timeout=30):
    """The message at the sink whose content contains marker."""
    def f():
        return [m for m in snk.messages() if marker in m.content]
    return wait_for(f, timeout, interval=0.1,
                    what="message %r at the sink behind Postfix" % marker)


def first_received(content):
    """The first Received: header of content, unfolded."""
    m = re.search(rb"^Received: .*?(?=\r\n[^ \t])", content, re.M | re.S)
    assert m, content[:500]
    return re.sub(rb"\r\n[ \t]+", b" ", m.group(0)).decode("latin-1")


def assert_intact(original, delivered):
    """Postfix may prepend Received and add missing headers; the header
    lines we sent must be there in order and the body byte for byte."""
    oh, _, ob = original.partition(b"\r\n\r\n")
    dh, _, db = delivered.partition(b"\r\n\r\n")
    assert db == ob, "body changed: %r" % db[:2000]
    lines = dh.split(b"\r\n")
    pos = 0
    for h in oh.split(b"\r\n"):
        assert h in lines[pos:], "header %r lost: %r" % (h, dh)
        pos = lines.index(h, pos) + 1


@pytest.fixture(params=["postfix_backend", "postfix_data_backend"],
                ids=["postfix-bdat", "postfix-data"])
def any_postfix(request):
    return request.getfixturevalue(request.param)


def uniq():
    return uuid.uuid4().hex[:12]


def test_xclient_real_postfix(any_postfix, postern):
    pf, snk = any_postfix
    p = postern(pf.port)
    tag = uniq()
    content = make_message("xclient " + tag, ["via XCLIENT " + tag])
    with SmtpClient(p.port, source="127.0.0.5") as c:
        assert c.greeting.code == 220, c.greeting
        assert c.ehlo("helo-%s.client.test" % tag).code == 250
        r = c.send_message("x-%s@example.org" % tag, ["b@example.com"],
                           content)
        assert r.code == 250, r
        assert c.cmd("QUIT").code == 221
    (m,) = find(snk, tag.encode())
    rec = first_received(m.content)
    assert "helo-%s.client.test" % tag in rec, rec
    assert "[127.0.0.5]" in rec, rec
    # Postfix logs the message's client as the original one
    qid = re.search(r"\bid ([0-9A-F]{6,})", rec).group(1)
    pf.wait_maillog(r"%s: client=\S*\[127\.0\.0\.5\]" % qid)


def test_relay_and_reject_through_postfix(any_postfix, postern):
    pf, snk = any_postfix
    p = postern(pf.port)
    tag = uniq()
    content = make_message("relay " + tag, ["line", ".dot", "..dots", "end"])
    with p.client() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<r-%s@example.org>" % tag).code == 250
        r = c.cmd("RCPT TO:<nouser@example.com>")
        assert (r.code, r.enhanced) == (550, "5.1.1"), r
        assert "no such user here" in r.text, r
        assert c.cmd("RCPT TO:<ok@example.com>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(peers.stuff(content) + b".\r\n")
        r = c.reply(timeout=30)
        assert r.code == 250 and "queued as" in r.text, r
    (m,) = find(snk, tag.encode())
    assert_intact(content, m.content)
    assert len(m.rcpts) == 1 and m.rcpts[0].startswith("<ok@example.com>")


@pytest.mark.parametrize("pipelined", [False, True])
def test_bdat_to_postfix(postfix_backend, postern, pipelined):
    pf, snk = postfix_backend
    p = postern(pf.port)
    tag = uniq()
    content = make_message("bdat " + tag, [
        ".leading", "looks like an end:", ".", "MAIL FROM:<no@x>", "tail"])
    chunks = [content[:7], content[7:70], content[70:]]
    with p.client() as c:
        assert "CHUNKING" in c.ehlo().keywords()
        assert c.cmd("MAIL FROM:<bdat-%s@example.org>" % tag).code == 250
        assert c.cmd("RCPT TO:<b@example.com>").code == 250
        data = b"".join(("BDAT %d%s\r\n" % (len(ch), " LAST" if i == 2
                                             else "")).encode() + ch
                        for i, ch in enumerate(chunks))
        if pipelined:
            c.send(data)
            rs = c.replies(3, timeout=30)
        else:
            rs = []
            for i, ch in enumerate(chunks):
                c.send(("BDAT %d%s\r\n" % (len(ch), " LAST" if i == 2
                                            else "")).encode() + ch)
                rs.append(c.reply(timeout=30))
        assert [r.code for r in rs] == [250, 250, 250], rs
    (m,) = find(snk, tag.encode())
    assert_intact(content, m.content)
    assert not re.search(r"from=<no@x>", pf.read_maillog())


@pytest.mark.parametrize("lookalike", LOOKALIKES, ids=IDS)
def test_smuggling_rejected_before_postfix(any_postfix, postern, lookalike):
    pf, snk = any_postfix
    p = postern(pf.port)
    tag = uniq()
    with p.client() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<s-%s@example.org>" % tag).code == 250
        assert c.cmd("RCPT TO:<rcpt@example.com>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(payload(lookalike))
        assert_554_56x(c.reply(timeout=30))
        # the same session then delivers a good message
        good = make_message("good " + tag, ["fine"])
        r = c.send_message("g-%s@example.org" % tag, ["rcpt@example.com"],
                           good)
        assert r.code == 250, r
    find(snk, b"good " + tag.encode())
    log = pf.read_maillog()
    assert "smuggler@evil.test" not in log
    assert "from=<s-%s@example.org>" % tag not in log
    assert not any(b"smuggled body" in m.content for m in snk.messages()
                   if tag.encode() in m.content)


@pytest.mark.parametrize("lookalike", LOOKALIKES, ids=IDS)
def test_smuggling_normalised_before_postfix(any_postfix, postern,
                                             lookalike):
    pf, snk = any_postfix
    p = postern(pf.port, bare_newline="normalise")
    tag = uniq()
    with p.client() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<n-%s@example.org>" % tag).code == 250
        assert c.cmd("RCPT TO:<rcpt@example.com>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(payload(lookalike).replace(b"innocent",
                                          b"innocent " + tag.encode()))
        r = c.reply(timeout=30)
        assert r.code == 250, r
    (m,) = find(snk, tag.encode())
    assert b"MAIL FROM:<smuggler@evil.test>" in m.content
    assert b"smuggled body" in m.content
    pf.wait_maillog(r"from=<n-%s@example\.org>" % tag)
    assert "from=<smuggler@evil.test>" not in pf.read_maillog()


def test_swaks_through_postern(postfix_backend, postern):
    pf, snk = postfix_backend
    p = postern(pf.port)
    tag = uniq()
    r = subprocess.run(
        ["swaks", "--server", "127.0.0.1:%d" % p.port,
         "--from", "swaks-%s@example.org" % tag, "--to", "b@example.com",
         "--helo", "swaks.client.test", "--header", "Subject: swaks " + tag,
         "--body", "swaks body " + tag, "--pipeline"],
        capture_output=True, text=True, timeout=60,
        stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout + r.stderr
    (m,) = find(snk, ("swaks body " + tag).encode())
    assert m.mail.startswith("<swaks-%s@example.org>" % tag)

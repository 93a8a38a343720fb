# SPDX-License-Identifier: ISC
"""The milter filter: postern calling external milters.  A real OpenDKIM
signing as a milter (its signature reaches the backend and dkimpy
verifies it), and fakemilter.py (the milter side of the protocol spoken
directly) for each reply: reject and tempfail at RCPT, a reply code of its
own at the end of the message, discard, headers added and inserted, the
steps a milter asks to skip, and milter.default_action for a milter that
is down, killed mid-session, or hangs past its timeout."""
import json
import os
import re
import time

import pytest

import peers
from dkimmsg import mark
from peers import SmtpClient
from test_dkim_interop import DOMAIN, OPENDKIM, OpenDkim, keys  # noqa: F401

dkim = pytest.importorskip("dkim")


class FakeMilter:
    """fakemilter.py as a separate process (see its docstring)."""

    def __init__(self, workdir, **cfg):
        self.port = peers.free_port()
        self.dir = peers.mkdir_for(os.path.join(workdir, "fakemilter-%d" %
                                                self.port))
        cfg.update({"port": self.port, "dir": self.dir})
        path = os.path.join(self.dir, "config.json")
        with open(path, "w") as f:
            json.dump(cfg, f)
        self.proc = peers.Proc([peers.PYTHON, os.path.join(
            peers.HERE, "fakemilter.py"), path], os.path.join(self.dir, "fm"))
        self.pid = self.proc.pid
        peers.wait_for(lambda: peers.listening(self.port) or
                       not self.proc.alive(), 10, what="fakemilter up")
        assert self.proc.alive(), self.proc.stderr()
        self.spec = "inet:127.0.0.1:%d" % self.port

    def stop(self):
        self.proc.stop()

    def commands(self):
        p = os.path.join(self.dir, "commands.log")
        if not os.path.exists(p):
            return []
        with open(p) as f:
            return [json.loads(line) for line in f]


@pytest.fixture
def fakemilter(procs, workdir):
    def make(**cfg):
        return procs.add(FakeMilter(workdir, **cfg))
    return make


@pytest.fixture
def milter_proxy(proxy):
    def make(*milters, **more):
        o = {"filters.chain": "milter",
             "milter.milters": " ".join(m if isinstance(m, str) else m.spec
                                        for m in milters),
             "milter.command_timeout": "2s", "log.level": "debug"}
        o.update(more)
        return proxy(**o)
    return make


def message(marker, frm="alice@%s" % DOMAIN):
    return ("From: <%s>\r\nTo: <b@example.com>\r\nSubject: %s\r\n\r\n"
            "milter body\r\n" % (frm, marker)).encode()


def transaction(p, msg, rcpts=("b@example.com",)):
    """[reply to MAIL, to each RCPT, to the end of data (or None)]."""
    with SmtpClient(p.port) as c:
        assert c.ehlo().code == 250
        out = [c.cmd("MAIL FROM:<alice@%s>" % DOMAIN)]
        for r in rcpts:
            out.append(c.cmd("RCPT TO:<%s>" % r))
        if any(r.code == 250 for r in out[1:]):
            assert c.cmd("DATA").code == 354
            c.send(peers.stuff(msg) + b".\r\n")
            out.append(c.reply())
        else:
            out.append(None)
    return out


# ------------------------------------------------------------- OpenDKIM

@pytest.fixture(scope="module")
def opendkim_signer(workroot, keys):  # noqa: F811
    import conftest
    import tempfile
    reg = conftest.Registry()
    d = tempfile.mkdtemp(prefix="milter-host-odk-", dir=workroot)
    os.chmod(d, 0o755)
    try:
        yield reg.add(OpenDkim(d, [("Domain", DOMAIN), ("Selector", "rsa1"),
                                   ("KeyFile", keys.path["rsa1"])]))
    finally:
        reg.stop_all()


@pytest.mark.skipif(not os.access(OPENDKIM, os.X_OK), reason="opendkim")
def test_opendkim_signs_through_postern(milter_proxy, opendkim_signer,
                                        keys):  # noqa: F811
    p, f = milter_proxy("inet:127.0.0.1:%d" % opendkim_signer.port)
    with SmtpClient(p.port) as c:       # two messages, one session
        assert c.ehlo().code == 250
        for i in range(2):
            r = c.send_message("alice@%s" % DOMAIN, ["b@example.com"],
                               message(mark()))
            assert r.code == 250, (r, p.log()[-2000:])
    for msg in f.wait_count(2):
        assert b"DKIM-Signature:" in msg.content, msg.content[:600]
        assert dkim.verify(msg.content, dnsfunc=keys.dnsfunc), msg.content
    assert p.log().count("milter=continue(1 headers)") == 2


# ------------------------------------------------------------- replies

def test_reject_and_tempfail_per_recipient(milter_proxy, fakemilter):
    fm = fakemilter(replies={"R": "r"}, when={"R": "bad@"})
    p, f = milter_proxy(fm)
    r = transaction(p, message(mark()),
                    rcpts=("good@example.com", "bad@example.com"))
    assert r[1].code == 250 and r[2].code == 550, r
    assert r[3].code == 250
    (msg,) = f.wait_count(1)
    assert msg.rcpts == ["<good@example.com>"]
    fm2 = fakemilter(replies={"R": "t"})
    p2, _ = milter_proxy(fm2)
    r = transaction(p2, b"", rcpts=("x@example.com",))
    assert r[1].code == 451, r


def test_reply_code_at_end_of_message(milter_proxy, fakemilter):
    fm = fakemilter(replies={"E": "y:554 5.7.1 Virus found: EICAR"})
    p, f = milter_proxy(fm)
    r = transaction(p, message(mark()))
    assert (r[-1].code, r[-1].enhanced) == (554, "5.7.1"), r
    assert "Virus found: EICAR" in r[-1].text
    assert f.messages() == []


def test_discard(milter_proxy, fakemilter):
    fm = fakemilter(replies={"E": "d"})
    p, f = milter_proxy(fm)
    r = transaction(p, message(mark()))
    assert r[-1].code == 250, r
    time.sleep(0.3)
    assert f.messages() == []


def test_headers_added_and_two_milters_in_order(milter_proxy, fakemilter):
    a = fakemilter(eom_headers=[["X-First", "one"]])
    b = fakemilter(eom_headers=[["X-Second", "two", True]],
                   protocol=0x10 | 0x40)        # NOBODY | NOEOH
    p, f = milter_proxy(a, b)
    r = transaction(p, message(mark()))
    assert r[-1].code == 250
    (msg,) = f.wait_count(1)
    head = msg.content.split(b"\r\n\r\n", 1)[0]
    assert b"X-First: one\r\n" in head and b"X-Second: two\r\n" in head
    seen_b = [c["cmd"] for c in b.commands()]
    assert "B" not in seen_b and "N" not in seen_b, \
        "steps the milter asked to skip were sent: %s" % seen_b
    assert "B" in [c["cmd"] for c in a.commands()]
    hdrs = [c["data"] for c in a.commands() if c["cmd"] == "L"]
    assert "Subject\0%s\0" % msg.content.split(b"Subject: ")[1].split(
        b"\r\n")[0].decode() in hdrs, hdrs


def test_header_changed_and_deleted(milter_proxy, fakemilter):
    fm = fakemilter(eom_changes=[["Subject", 1, "[SPAM] rewritten"],
                                 ["X-Old", 2, ""], ["X-None", 1, ""]])
    p, f = milter_proxy(fm)
    msg = (b"From: <alice@%s>\r\nX-Old: first\r\nSubject: original\r\n"
           b"X-Old: second\r\nTo: <b@example.com>\r\n\r\nbody\r\n" %
           DOMAIN.encode())
    r = transaction(p, msg)
    assert r[-1].code == 250, r
    (m,) = f.wait_count(1)
    head = m.content.split(b"\r\n\r\n", 1)[0]
    assert b"Subject: [SPAM] rewritten\r\n" in head, head
    assert b"original" not in head and b"X-Old: second" not in head, head
    assert b"X-Old: first\r\n" in head, "only the second X-Old goes"
    assert m.content.endswith(b"\r\n\r\nbody\r\n")
    assert "no header field X-None #1 to change" in p.log()


def test_many_changes_among_many_fields(milter_proxy, fakemilter):
    """60 changes (the most a milter gets per message is 64), to the last
    of 40,000 fields spooled to disk: every change finds its field, the
    name in any case, in one pass over the fields (a walk over all of
    them per change, reading each name from the spool, held the loop
    for seconds), and a second client is greeted within a second all
    the while."""
    n = 40000
    changes = [["X-Many", n - 7 * j, ""] for j in range(50)]
    changes += [["x-other", 10 - j, "changed %d" % j] for j in range(9)]
    changes += [["X-Many", n + 1, ""]]
    fm = fakemilter(eom_changes=changes, protocol=0x20)    # SMFIP_NOHDRS
    p, f = milter_proxy(fm, **{"proxy.spool_memory_max": "0",
                               "proxy.max_header_fields": "100000",
                               "proxy.max_header_total": "64M",
                               "log.level": "info"})
    head = b"".join(b"X-Many: %d\r\n" % i + (b"X-Other: %d\r\n" % i
                                               if i % 4000 == 0 else b"")
                    for i in range(1, n + 1))
    msg = b"From: <alice@%s>\r\n%s\r\nbody\r\n" % (DOMAIN.encode(), head)
    with peers.greeting_watch(p.port) as waits:
        r = transaction(p, msg)
    assert r[-1].code == 250, r
    assert waits and max(waits) < 1.0, (
        "a second client waited %.2f s for its greeting" % max(waits))
    (m,) = f.wait_count(1, timeout=30)
    top, rest = m.content.split(b"X-Many: 1\r\n", 1)
    gone = {n - 7 * j for j in range(50)}
    many = [int(v) for v in re.findall(rb"^X-Many: (\d+)\r$", rest, re.M)]
    assert many == [i for i in range(2, n + 1) if i not in gone]
    assert re.findall(rb"^X-Other: (\d+)\r$", rest, re.M) == [b"4000"]
    assert [int(v) for v in re.findall(rb"^x-other: changed (\d+)\r$",
                                       top, re.M)] == list(range(9))
    assert "no header field X-Many #%d to change" % (n + 1) in p.log()


def test_body_replaced(milter_proxy, fakemilter):
    """REPLBODY in chunks: the backend gets the edited header and the new
    body; a bare LF in it becomes CRLF and a dot line is stuffed on the
    way, so no second transaction can hide in it."""
    new = "Replaced.\nwith a bare LF\r\n.\r\nMAIL FROM:<x@evil>\r\nend\r\n"
    fm = fakemilter(eom_body=new, eom_body_chunk=7,
                    eom_changes=[["X-Old", 1, ""]])
    p, f = milter_proxy(fm)
    m = mark()
    msg = (b"From: <alice@%s>\r\nX-Old: x\r\nSubject: %s\r\n\r\n"
           b"original body\r\n" % (DOMAIN.encode(), m.encode()))
    r = transaction(p, msg)
    assert r[-1].code == 250, r
    (got,) = f.wait_count(1)
    head, body = got.content.split(b"\r\n\r\n", 1)
    assert b"X-Old" not in head and m.encode() in head
    assert body == (b"Replaced.\r\nwith a bare LF\r\n.\r\n"
                    b"MAIL FROM:<x@evil>\r\nend\r\n"), body
    assert not [c for _, c in f.commands() if "evil" in c]
    assert "new body" in p.log()


def test_body_replaced_without_nul(milter_proxy, fakemilter):
    """A NUL in a REPLBODY is left out, as in client content: the backend
    never gets one, and "<CRLF><NUL>.<CRLF>" is no end of data at a
    backend that would drop it (issue 12)."""
    new = "a\x00b\r\n\x00.\r\nMAIL FROM:<x@evil>\r\nend\r\n"
    fm = fakemilter(eom_body=new, eom_body_chunk=5)
    p, f = milter_proxy(fm)
    msg = (b"From: <alice@%s>\r\nSubject: %s\r\n\r\noriginal\r\n"
           % (DOMAIN.encode(), mark().encode()))
    r = transaction(p, msg)
    assert r[-1].code == 250, r
    (got,) = f.wait_count(1)
    body = got.content.split(b"\r\n\r\n", 1)[1]
    assert body == b"ab\r\n.\r\nMAIL FROM:<x@evil>\r\nend\r\n", body
    assert b"\x00" not in f.transcript()
    assert not [c for _, c in f.commands() if "evil" in c]


def test_every_message_of_a_session_is_asked(milter_proxy, fakemilter):
    """A milter that accepts at the end of a message (as OpenDKIM does) is
    asked again about the next one in the same session."""
    fm = fakemilter(replies={"E": "a"}, eom_headers=[["X-Seen", "yes"]])
    p, f = milter_proxy(fm)
    with SmtpClient(p.port) as c:
        assert c.ehlo().code == 250
        for i in range(3):
            assert c.send_message("alice@%s" % DOMAIN, ["b@example.com"],
                                  message("m%d" % i)).code == 250
    msgs = f.wait_count(3)
    assert all(b"X-Seen: yes\r\n" in m.content for m in msgs), \
        [m.content[:80] for m in msgs]


# ------------------------------------------------------------- failures

def test_milter_down_follows_default_action(milter_proxy):
    dead = "inet:127.0.0.1:%d" % peers.free_port()
    p, _ = milter_proxy(dead)
    with SmtpClient(p.port) as c:
        assert c.greeting.code // 100 == 4, c.greeting
    p.wait_log(r"milter %s: connect: " % dead)
    p2, f2 = milter_proxy(dead, **{"milter.default_action": "accept"})
    r = transaction(p2, message(mark()))
    assert r[-1].code == 250
    f2.wait_count(1)


def test_milter_killed_mid_session(milter_proxy, fakemilter):
    fm = fakemilter()
    p, f = milter_proxy(fm)
    with SmtpClient(p.port) as c:
        assert c.ehlo().code == 250
        assert c.cmd("MAIL FROM:<alice@%s>" % DOMAIN).code == 250
        fm.proc.proc.kill()
        fm.proc.proc.wait(timeout=10)
        r = c.cmd("RCPT TO:<b@example.com>")
        assert r.code == 451, r
    p.wait_log(r"milter %s: .*temporary failure" % fm.spec)


def test_milter_that_hangs_times_out(milter_proxy, fakemilter):
    fm = fakemilter(replies={"M": "hang"})
    p, _ = milter_proxy(fm, **{"milter.command_timeout": "1s"})
    with SmtpClient(p.port) as c:
        assert c.ehlo().code == 250
        t0 = time.monotonic()
        r = c.cmd("MAIL FROM:<alice@%s>" % DOMAIN)
        took = time.monotonic() - t0
    assert r.code == 451, r
    assert 0.8 <= took <= 3, "answered after %.1fs (timeout 1s)" % took
    p.wait_log(r"milter %s: timeout" % fm.spec)


def test_bad_milter_spec_refused(postern_bin):
    import subprocess
    r = subprocess.run([postern_bin, "check", "-o", "filters.chain=milter",
                        "-o", "milter.milters=tcp:8891"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "milter.milters: 'tcp:8891': inet:host:port or unix:/path" in \
        r.stderr, r.stderr

# SPDX-License-Identifier: ISC
"""DATA and BDAT: spooled by postern, then sent to the backend; the bytes the
backend gets are the client's (after dot-unstuffing); the backend's final
reply decides ours, and postern never says 250 unless the backend did."""
import os
import time

import pytest

import peers
from peers import good_session, make_message, wait_for

TRICKY = make_message("tricky content", [
    ".leading dot",
    "..two leading dots",
    ".",
    " .space then dot",
    ".\ttab",
    "",
    "",
    "x" * 998,
    "trailing spaces   ",
    "tab\there",
    "utf-8: h\u00e9llo w\u00f6rld \u2603".encode("utf-8"),
    b"high bytes \xff\xfe\x80",
    "-- ",
    "last line",
], extra_headers=["X-Folded: one", "\ttwo", " three"])


CHUNKING = pytest.mark.parametrize(
    "ehlo", [peers.FULL_EHLO, peers.DATA_EHLO],
    ids=["backend-bdat", "backend-data"])


@CHUNKING
def test_content_byte_exact_fakemta(proxy, ehlo):
    p, f = proxy({"ehlo": ehlo})
    with p.client() as c:
        assert "8BITMIME" in c.ehlo().keywords()
        r = c.send_message("a@example.org", ["b@example.com"], TRICKY,
                           mail_params=" BODY=8BITMIME")
        assert r.code == 250, r
        assert c.cmd("QUIT").code == 221
    (m,) = f.wait_count(1)
    assert m.content == TRICKY
    assert m.mail.startswith("<a@example.org>")
    assert "BODY=8BITMIME" in m.mail.upper()
    assert m.rcpts == ["<b@example.com>"]


def test_content_byte_exact_smtp_sink(sink, postern):
    s = sink()
    p = postern(s.port)
    with p.client() as c:
        c.ehlo()
        r = c.send_message("a@example.org", ["b@example.com"], TRICKY,
                           mail_params=" BODY=8BITMIME")
        assert r.code == 250, r
    (m,) = s.wait_count(1)
    assert m.content == TRICKY


@CHUNKING
def test_two_messages_one_session(proxy, ehlo):
    p, f = proxy({"ehlo": ehlo})
    one = make_message("first", ["number one"])
    two = make_message("second", ["number two", ".dot"])
    with p.client() as c:
        c.ehlo()
        r = c.send_message("one@example.org", ["r1@example.com"], one)
        assert r.code == 250, r
        r = c.send_message("two@example.org", ["r2@example.com",
                                               "r3@example.com"], two)
        assert r.code == 250, r
        assert c.cmd("QUIT").code == 221
    m1, m2 = f.wait_count(2)
    assert (m1.mail, m1.rcpts, m1.content) == ("<one@example.org>",
                                               ["<r1@example.com>"], one)
    assert (m2.mail, m2.rcpts, m2.content) == (
        "<two@example.org>", ["<r2@example.com>", "<r3@example.com>"], two)


def test_rset_between(proxy):
    p, f = proxy()
    content = make_message("after rset", ["y"])
    with p.client() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<dropped@example.org>").code == 250
        assert c.cmd("RCPT TO:<dropped@example.com>").code == 250
        assert c.cmd("RSET").code == 250
        r = c.send_message("kept@example.org", ["kept@example.com"], content)
        assert r.code == 250, r
    (m,) = f.wait_count(1)
    assert m.mail == "<kept@example.org>"
    assert m.rcpts == ["<kept@example.com>"]
    assert m.content == content


def _bdat(c, chunks, pipelined=False):
    """Send chunks with BDAT (the last one with LAST); returns replies."""
    out = []
    for i, ch in enumerate(chunks):
        last = " LAST" if i == len(chunks) - 1 else ""
        data = ("BDAT %d%s\r\n" % (len(ch), last)).encode() + ch
        if pipelined:
            c.send(data)
        else:
            c.send(data)
            out.append(c.reply())
    if pipelined:
        out = c.replies(len(chunks))
    return out


BDAT_CONTENT = (b"Subject: bdat\r\n\r\n.starts with a dot\r\n"
                b"looks like the end:\r\n.\r\nMAIL FROM:<not-a-command@x>\r\n"
                b"..\r\nend\r\n")


@pytest.mark.parametrize("pipelined", [False, True])
def test_bdat_chunks(proxy, pipelined):
    p, f = proxy()
    chunks = [BDAT_CONTENT[:10], BDAT_CONTENT[10:40], BDAT_CONTENT[40:]]
    with p.client() as c:
        assert "CHUNKING" in c.ehlo().keywords()
        assert c.cmd("MAIL FROM:<bdat@example.org>").code == 250
        assert c.cmd("RCPT TO:<b@example.com>").code == 250
        rs = _bdat(c, chunks, pipelined)
        assert [r.code for r in rs] == [250, 250, 250], rs
        assert c.cmd("QUIT").code == 221
    (m,) = f.wait_count(1)
    assert m.content == BDAT_CONTENT
    assert m.mail == "<bdat@example.org>"
    # the "end" inside the chunk did not start a transaction
    assert not any("not-a-command" in l for _, l in f.commands())


def test_bdat_zero_last(proxy):
    p, f = proxy()
    content = make_message("bdat zero", ["z"])
    with p.client() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@example.org>").code == 250
        assert c.cmd("RCPT TO:<b@example.com>").code == 250
        c.send(("BDAT %d\r\n" % len(content)).encode() + content)
        assert c.reply().code == 250
        r = c.cmd("BDAT 0 LAST")
        assert r.code == 250, r
    (m,) = f.wait_count(1)
    assert m.content == content


def test_bdat_then_data_same_session(proxy):
    p, f = proxy()
    a = make_message("bdat first", ["a"])
    b = make_message("data second", ["b"])
    with p.client() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@example.org>").code == 250
        assert c.cmd("RCPT TO:<b@example.com>").code == 250
        rs = _bdat(c, [a])
        assert rs[0].code == 250, rs
        r = c.send_message("c@example.org", ["d@example.com"], b)
        assert r.code == 250, r
    m1, m2 = f.wait_count(2)
    assert (m1.content, m2.content) == (a, b)


@CHUNKING
def test_large_message_spooled_and_cleaned(proxy, ehlo):
    p, f = proxy({"ehlo": ehlo}, spool_memory_max="4k")
    body = ["%06d %s" % (i, "abcdefghij" * 7) for i in range(4000)]
    body[100] = "." + body[100]
    content = make_message("spooled", body)
    assert len(content) > 300000
    with p.client() as c:
        c.ehlo()
        r = c.send_message("big@example.org", ["b@example.com"], content)
        assert r.code == 250, r
    (m,) = f.wait_count(1)
    assert m.content == content
    wait_for(lambda: os.listdir(p.spool) == [], 5,
             what="spool_dir %s to be empty" % p.spool)


# ------------------------------------------------------ no loss, no lie

def _send_and_final(p, content=None):
    content = content or make_message("no loss", ["precious"])
    with p.client() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@example.org>").code == 250
        assert c.cmd("RCPT TO:<b@example.com>").code == 250
        r = c.cmd("DATA")
        if r.code != 354:
            return r
        c.send(peers.stuff(content) + b".\r\n")
        return c.reply(timeout=30)


@CHUNKING
def test_backend_4xx_at_end_of_data(proxy, ehlo):
    p, f = proxy({"eod_reply": "451 4.3.0 Error: queue file write error",
                  "ehlo": ehlo})
    r = _send_and_final(p)
    assert r.code // 100 == 4, r
    assert f.count() == 0


def test_backend_5xx_at_end_of_data_relayed(proxy):
    p, f = proxy({"eod_reply": "554 5.7.1 rejected by backend policy zz9"})
    r = _send_and_final(p)
    assert (r.code, r.enhanced) == (554, "5.7.1"), r
    assert f.count() == 0


def _assert_451_44x(r):
    assert r.code == 451, r
    assert r.enhanced and r.enhanced.startswith("4.4."), r


@CHUNKING
def test_backend_disconnects_at_end_of_data(proxy, ehlo):
    p, f = proxy({"eod_action": "close", "ehlo": ehlo})
    _assert_451_44x(_send_and_final(p))
    assert f.count() == 0
    assert p.proc.alive()


@CHUNKING
def test_backend_disconnects_during_data(proxy, ehlo):
    p, f = proxy({"data_close_after": 2000, "ehlo": ehlo})
    content = make_message("cut", ["line %d of a long message" % i
                                   for i in range(5000)])
    _assert_451_44x(_send_and_final(p, content))
    assert f.count() == 0
    assert p.proc.alive()


@CHUNKING
def test_backend_killed_at_end_of_data(proxy, ehlo):
    p, f = proxy({"eod_delay": 30, "ehlo": ehlo})
    content = make_message("killed", ["k"])
    with p.client() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@example.org>").code == 250
        assert c.cmd("RCPT TO:<b@example.com>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(peers.stuff(content) + b".\r\n")
        # wait until the backend has the whole message, then kill it
        wait_for(lambda: f.eods() == 1, 10,
                 what="the message at the backend")
        f.kill()
        t0 = time.monotonic()
        r = c.reply(timeout=15)
        _assert_451_44x(r)
        assert time.monotonic() - t0 < 10
    assert f.count() == 0
    assert p.proc.alive()


def test_backend_end_of_data_timeout(proxy):
    p, f = proxy({"eod_delay": 20}, data_timeout="2s")
    t0 = time.monotonic()
    r = _send_and_final(p)
    elapsed = time.monotonic() - t0
    _assert_451_44x(r)
    assert elapsed < 2 + 6, "451 after %.1fs" % elapsed


@pytest.mark.parametrize("args,klass", [
    (("-r", "."), 4),           # 450 at end of data
    (("-f", "."), 5),           # 500 at end of data
    (("-q", "."), 4),           # disconnect without a reply after "."
    (("-Q", "."), 4),           # 421 and disconnect after "."
    (("-Q", "DATA"), 4),        # 421 and disconnect at DATA
    (("-q", "DATA"), 4),        # disconnect at DATA
])
def test_smtp_sink_faults(sink, postern, args, klass):
    s = sink(*args)
    p = postern(s.port)
    r = _send_and_final(p)
    assert r.code // 100 == klass, "smtp-sink %s: %s" % (args, r)
    if args[0] == "-q" and args[1] == ".":
        _assert_451_44x(r)
    if args[1] == "DATA":
        # smtp-sink removes the dump it opened at MAIL a moment later
        wait_for(lambda: s.count() == 0, 5, what="no dump at smtp-sink")
    # (with "." smtp-sink has the whole message in its dump even when it
    # then refuses or hangs up, so only the reply can be checked)
    assert p.proc.alive()



@CHUNKING
def test_terminator_split_across_segments(proxy, ehlo):
    """The end of data and dot-stuffing split over many small TCP segments
    (the parser must keep state across reads)."""
    p, f = proxy({"ehlo": ehlo})
    content = make_message("split", [".a", "b", "..c", "."])
    wire = peers.stuff(content) + b".\r\n"
    with p.client() as c:
        c.sock.setsockopt(peers.socket.IPPROTO_TCP, peers.socket.TCP_NODELAY,
                          1)
        c.ehlo()
        assert c.cmd("MAIL FROM:<split@example.org>").code == 250
        assert c.cmd("RCPT TO:<b@example.com>").code == 250
        assert c.cmd("DATA").code == 354
        head, tail = wire[:-40], wire[-40:]
        c.send(head)
        for i in range(len(tail)):
            c.send(tail[i:i + 1])
            time.sleep(0.01)
        r = c.reply()
        assert r.code == 250, r
    (m,) = f.wait_count(1)
    assert m.content == content


@CHUNKING
def test_next_transaction_pipelined_after_dot(proxy, ehlo):
    """RFC 2920: after "." a client may pipeline the next MAIL/RCPT/DATA."""
    p, f = proxy({"ehlo": ehlo})
    one = make_message("pipe one", ["1"])
    two = make_message("pipe two", ["2"])
    with p.client() as c:
        c.ehlo()
        c.send(b"MAIL FROM:<p1@example.org>\r\nRCPT TO:<b@example.com>\r\n"
               b"DATA\r\n")
        assert [r.code for r in c.replies(3)] == [250, 250, 354]
        c.send(peers.stuff(one) + b".\r\nMAIL FROM:<p2@example.org>\r\n"
               b"RCPT TO:<c@example.com>\r\nDATA\r\n")
        assert [r.code for r in c.replies(4)] == [250, 250, 250, 354]
        c.send(peers.stuff(two) + b".\r\nQUIT\r\n")
        assert [r.code for r in c.replies(2)] == [250, 221]
    m1, m2 = f.wait_count(2)
    assert (m1.mail, m1.content) == ("<p1@example.org>", one)
    assert (m2.mail, m2.content) == ("<p2@example.org>", two)


def test_null_sender_and_lower_case_commands(proxy):
    p, f = proxy()
    content = make_message("bounce", ["a delivery status notification"])
    with p.client() as c:
        assert c.cmd("ehlo lower.case.test").code == 250
        assert c.cmd("mail from:<>").code == 250
        assert c.cmd("rcpt to:<b@example.com>").code == 250
        assert c.cmd("data").code == 354
        c.send(peers.stuff(content) + b".\r\n")
        assert c.reply().code == 250
        assert c.cmd("quit").code == 221
    (m,) = f.wait_count(1)
    assert m.mail == "<>"
    assert m.content == content


def test_client_disconnects_mid_data(proxy):
    p, f = proxy(spool_memory_max="1k")
    with p.client() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<gone@example.org>").code == 250
        assert c.cmd("RCPT TO:<b@example.com>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(b"Subject: half\r\n\r\n" + b"half a message\r\n" * 500)
        time.sleep(0.3)
    # nothing delivered, spool released, and still serving
    good_session(p.port, f, "after-client-gone")
    assert len(f.messages()) == 1
    assert b"half a message" not in f.transcript()
    wait_for(lambda: os.listdir(p.spool) == [], 5,
             what="spool_dir %s to be empty" % p.spool)


def test_client_stalls_in_data(proxy):
    p, f = proxy(data_timeout="2s")
    with p.client(timeout=20) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<slow@example.org>").code == 250
        assert c.cmd("RCPT TO:<b@example.com>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(b"Subject: stalled\r\n\r\nand then nothing")
        t0 = time.monotonic()
        r = c.reply(timeout=15)
        elapsed = time.monotonic() - t0
        assert r.code in (421, 451), r
        assert elapsed < 2 + 5, "gave up after %.1fs" % elapsed
        c.wait_closed(timeout=5)
    assert f.count() == 0
    good_session(p.port, f, "after-stall")


@pytest.mark.parametrize("keepalive,delivered", [("1s", True), ("0", False)])
def test_backend_keepalive_during_slow_upload(proxy, keepalive, delivered):
    """A backend that drops a client idle for 2 s (as Postfix does after
    smtpd_timeout) still takes a message uploaded over 4 s, because postern
    sends NOOPs meanwhile; without them the message gets 451, and nothing
    reaches the backend."""
    p, f = proxy({"timeout": 2}, backend_keepalive=keepalive)
    content = make_message("slow", ["slow line %d" % i for i in range(40)])
    body = peers.stuff(content)
    step = len(body) // 8 + 1
    with p.client(timeout=30) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@example.org>").code == 250
        assert c.cmd("RCPT TO:<b@example.com>").code == 250
        assert c.cmd("DATA").code == 354
        for i in range(0, len(body), step):     # 8 or 9 pieces
            c.send(body[i:i + step])
            time.sleep(0.5)
        c.send(b".\r\n")
        r = c.reply(timeout=15)
    if delivered:
        assert r.code == 250, r
        (m,) = f.wait_count(1)
        assert m.content == content
    else:
        assert r.code == 451, r
        assert f.count() == 0

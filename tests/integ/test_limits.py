# SPDX-License-Identifier: ISC
"""Limits and protocol errors, each with its reply code, and the daemon goes
on serving afterwards (a good session at the end of every test)."""
import socket
import time

import pytest

import peers
from peers import SmtpClient, good_session, make_message


def test_line_too_long(proxy):
    p, f = proxy(max_line_length="512")
    with p.client() as c:
        c.ehlo()
        # 512 bytes with CRLF: the limit itself is fine
        r = c.cmd("NOOP " + "x" * (512 - 7))
        assert r.code == 250, r
        r = c.cmd("NOOP " + "x" * (512 - 6))
        assert (r.code, r.enhanced) == (500, "5.5.2"), r
        r = c.cmd("NOOP " + "y" * 5000)
        assert (r.code, r.enhanced) == (500, "5.5.2"), r
        assert c.cmd("NOOP").code == 250
        assert c.cmd("MAIL FROM:<a@example.org>").code == 250
        r = c.cmd("RCPT TO:<%s@example.com>" % ("a" * 1000))
        assert (r.code, r.enhanced) == (500, "5.5.2"), r
        assert c.cmd("RCPT TO:<b@example.com>").code == 250
        assert c.cmd("DATA").code == 354
        content = make_message("after long lines", ["ok"])
        c.send(peers.stuff(content) + b".\r\n")
        assert c.reply().code == 250
    (m,) = f.wait_count(1)
    assert m.rcpts == ["<b@example.com>"]
    # the over-long text never reached the backend
    assert not any("yyyyy" in l or "aaaaa" in l for _, l in f.commands())
    good_session(p.port, f, "line-length")


@pytest.mark.parametrize("line", ["FOOBAR", "HELLO there", "MAILX FROM:<a@b>",
                                  "\x01\x02\x03"])
def test_unknown_command(proxy, line):
    p, f = proxy()
    with p.client() as c:
        c.ehlo()
        r = c.cmd(line)
        assert r.code == 500, r
        assert c.cmd("NOOP").code == 250
    good_session(p.port, f, "unknown")


def test_malformed_address(proxy):
    p, f = proxy()
    with p.client() as c:
        c.ehlo()
        r = c.cmd("MAIL FROM:<a@b")
        assert r.code == 501, r
        assert c.cmd("MAIL FROM:<a@example.org>").code == 250
        r = c.cmd("RCPT TO:<c@d")
        assert r.code == 501, r
    good_session(p.port, f, "malformed")


def test_unknown_mail_parameter(proxy):
    p, f = proxy()
    with p.client() as c:
        c.ehlo()
        r = c.cmd("MAIL FROM:<a@example.org> FROBNICATE=yes")
        assert r.code in (555, 501), r
        assert c.cmd("MAIL FROM:<a@example.org>").code == 250
    good_session(p.port, f, "mail-param")


def test_bad_sequence(proxy):
    p, f = proxy()
    with p.client() as c:
        c.ehlo()
        r = c.cmd("RCPT TO:<b@example.com>")
        assert r.code == 503, r
        r = c.cmd("DATA")
        assert r.code == 503, r
        assert c.cmd("MAIL FROM:<a@example.org>").code == 250
        r = c.cmd("DATA")
        assert r.code == 503, r
        assert c.cmd("RCPT TO:<b@example.com>").code == 250
        content = make_message("after 503", ["x"])
        assert c.cmd("DATA").code == 354
        c.send(peers.stuff(content) + b".\r\n")
        assert c.reply().code == 250
    (m,) = f.wait_count(1)
    assert m.content == content
    good_session(p.port, f, "sequence")


def test_max_recipients(proxy):
    p, f = proxy(max_recipients="3")
    with p.client() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@example.org>").code == 250
        for i in range(3):
            assert c.cmd("RCPT TO:<r%d@example.com>" % i).code == 250
        r = c.cmd("RCPT TO:<r3@example.com>")
        assert (r.code, r.enhanced) == (452, "4.5.3"), r
        r = c.cmd("RCPT TO:<r4@example.com>")
        assert r.code == 452, r
        assert c.cmd("DATA").code == 354
        content = make_message("three rcpts", ["x"])
        c.send(peers.stuff(content) + b".\r\n")
        assert c.reply().code == 250
        # the limit is per message
        r = c.send_message("a@example.org", ["s%d@example.com" % i
                                             for i in range(3)], content)
        assert r.code == 250, r
    m1, m2 = f.wait_count(2)
    assert m1.rcpts == ["<r0@example.com>", "<r1@example.com>",
                        "<r2@example.com>"]
    assert len(m2.rcpts) == 3
    good_session(p.port, f, "max-rcpt")


def test_size_parameter(proxy):
    p, f = proxy(max_message_size="10000")
    with p.client() as c:
        assert c.ehlo().keywords().get("SIZE") == "10000"
        r = c.cmd("MAIL FROM:<a@example.org> SIZE=20000")
        assert r.code == 552, r
        r = c.cmd("MAIL FROM:<a@example.org> SIZE=5000")
        assert r.code == 250, r
    good_session(p.port, f, "size-param")


def test_size_exceeded_in_data(proxy):
    p, f = proxy(max_message_size="10000")
    big = make_message("too big", ["%05d %s" % (i, "z" * 60)
                                   for i in range(500)])
    small = make_message("small enough", ["ok"])
    assert len(big) > 30000
    with p.client() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@example.org>").code == 250
        assert c.cmd("RCPT TO:<b@example.com>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(peers.stuff(big) + b".\r\n")
        r = c.reply(timeout=30)
        assert (r.code, r.enhanced) == (552, "5.3.4"), r
        r = c.send_message("a@example.org", ["b@example.com"], small)
        assert r.code == 250, r
    (m,) = f.wait_count(1)
    assert m.content == small
    assert b"too big" not in f.transcript()
    good_session(p.port, f, "size-data")


@pytest.mark.parametrize("ehlo", [peers.FULL_EHLO, peers.DATA_EHLO],
                         ids=["backend-bdat", "backend-data"])
def test_size_boundary(proxy, ehlo):
    """max_message_size bytes of content pass; one more does not."""
    p, f = proxy({"ehlo": ehlo}, max_message_size="10000")
    base = make_message("boundary", [])
    fill = 10000 - len(base) - 2
    exact = base + b"x" * fill + b"\r\n"
    assert len(exact) == 10000
    over = base + b"x" * (fill + 1) + b"\r\n"
    with p.client() as c:
        c.ehlo()
        r = c.send_message("a@example.org", ["b@example.com"], exact,
                           mail_params=" SIZE=10000")
        assert r.code == 250, r
        assert c.cmd("MAIL FROM:<a@example.org>").code == 250
        assert c.cmd("RCPT TO:<b@example.com>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(over + b".\r\n")
        r = c.reply()
        assert (r.code, r.enhanced) == (552, "5.3.4"), r
    (m,) = f.wait_count(1)
    assert m.content == exact


def test_size_exceeded_in_bdat(proxy):
    p, f = proxy(max_message_size="10000")
    big = make_message("too big bdat", ["%05d %s" % (i, "z" * 60)
                                        for i in range(500)])
    with p.client() as c:
        assert "CHUNKING" in c.ehlo().keywords()
        assert c.cmd("MAIL FROM:<a@example.org>").code == 250
        assert c.cmd("RCPT TO:<b@example.com>").code == 250
        c.send(("BDAT %d LAST\r\n" % len(big)).encode() + big)
        r = c.reply(timeout=30)
        assert (r.code, r.enhanced) == (552, "5.3.4"), r
        assert c.cmd("NOOP").code == 250
    assert f.count() == 0
    good_session(p.port, f, "size-bdat")


def _greeted(port, source=None):
    c = SmtpClient(port, source=source)
    assert c.greeting.code == 220, c.greeting
    return c


def _refused_421(port, source=None):
    with SmtpClient(port, source=source) as c:
        assert c.greeting.code == 421, c.greeting
        c.wait_closed(timeout=5)


def test_max_connections_per_ip(proxy):
    p, f = proxy(max_connections_per_ip="2")
    a = _greeted(p.port)
    b = _greeted(p.port)
    try:
        _refused_421(p.port)
        # another client address is not affected
        with _greeted(p.port, source="127.0.0.9") as other:
            assert other.cmd("NOOP").code == 250
    finally:
        a.close()
    # once one of ours is gone the address may connect again
    peers.wait_slots(p.port, 1)
    b.close()
    peers.wait_slots(p.port, 2)
    good_session(p.port, f, "per-ip")


def test_max_connections(proxy):
    p, f = proxy(max_connections="3", max_connections_per_ip="100")
    held = [_greeted(p.port, source="127.0.0.%d" % i) for i in (2, 3, 4)]
    try:
        _refused_421(p.port, source="127.0.0.6")
    finally:
        for c in held:
            c.close()
    peers.wait_slots(p.port, 3)
    good_session(p.port, f, "max-conn")


def test_idle_timeout(proxy):
    p, f = proxy(idle_timeout="2s")
    with p.client(timeout=20) as c:
        c.ehlo()
        t0 = time.monotonic()
        r = c.reply(timeout=15)
        elapsed = time.monotonic() - t0
        assert r.code == 421, r
        assert 1.0 <= elapsed < 2 + 5, "421 after %.1fs" % elapsed
        c.wait_closed(timeout=5)
    good_session(p.port, f, "idle")


def test_max_errors(proxy):
    p, f = proxy(max_errors="3")
    codes = []
    with p.client() as c:
        c.ehlo()
        for i in range(5):
            try:
                c.send("BOGUS%d\r\n" % i)
            except OSError:
                pass            # closed already: its 421 may be buffered
            try:
                r = c.reply(timeout=5)
            except (peers.ConnectionClosed, OSError):
                codes.append("closed")
                break
            codes.append(r.code)
            if r.code == 421:
                break
        assert codes[:2] == [500, 500], codes
        assert 421 in codes and codes.index(421) <= 3, codes
        c.wait_closed(timeout=5)
    good_session(p.port, f, "max-errors")


def _trickle(c, chunks, every, limit):
    """Send chunks every seconds apart; returns (reply, seconds) for the
    first reply that is not 250/354 (BDAT chunks get 250 each), or (None,
    seconds) once the chunks or limit seconds are used up."""
    t0 = time.monotonic()
    for chunk in chunks:
        if time.monotonic() - t0 > limit:
            break
        try:
            c.send(chunk)
        except OSError:
            pass                # closed: its 421 may be buffered
        deadline = time.monotonic() + every
        for _ in range(100):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                r = c.reply(timeout=left)
            except (socket.timeout, TimeoutError):
                break
            if r.code not in (250, 354):
                return r, time.monotonic() - t0
    return None, time.monotonic() - t0


@pytest.mark.parametrize("where", ["idle", "in-tx"])
def test_command_line_deadline(proxy, where):
    """A command line must be whole within command_timeout of its first
    byte: a client that sends a byte every 0.4 s restarts no timer."""
    p, f = proxy(command_timeout="2s", idle_timeout="30s")
    with p.client(timeout=20) as c:
        c.ehlo()
        line = b"NOOP " + b"x" * 60
        if where == "in-tx":
            assert c.cmd("MAIL FROM:<a@example.org>").code == 250
            line = b"RCPT TO:<" + b"x" * 60 + b"@example.com>"
        r, took = _trickle(c, [bytes([b]) for b in line], 0.4, 12)
        assert r is not None, "no reply after %.1fs" % took
        assert (r.code, r.enhanced) == (421, "4.4.2"), r
        assert 1.5 <= took < 2 + 2.5, "421 after %.1fs" % took
        c.wait_closed(timeout=5)
    p.wait_log(r"command line from 127\.0\.0\.1 not complete within 2s")
    good_session(p.port, f, "line-deadline-" + where)


def test_slow_whole_lines_are_fine(proxy):
    """The deadline is per line: whole lines 1 s apart go on and on."""
    p, f = proxy(command_timeout="2s", idle_timeout="2s")
    with p.client() as c:
        c.ehlo()
        for _ in range(5):
            time.sleep(1)
            assert c.cmd("NOOP").code == 250
        assert c.cmd("QUIT").code == 221


@pytest.mark.parametrize("how", ["data", "bdat"])
def test_min_data_rate(proxy, how):
    """After data_timeout, content that averaged less than
    proxy.min_data_rate since DATA (or the first BDAT) ends the session:
    20 bytes every 0.3 s keep the read timer alive, but not the slot."""
    p, f = proxy(data_timeout="2s", min_data_rate="1k")
    with p.client(timeout=20) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@example.org>").code == 250
        assert c.cmd("RCPT TO:<b@example.com>").code == 250
        if how == "data":
            assert c.cmd("DATA").code == 354
            chunks = [b"x" * 18 + b"\r\n"] * 100
        else:
            chunks = [b"BDAT 20\r\n" + b"x" * 18 + b"\r\n"] * 100
        r, took = _trickle(c, chunks, 0.3, 12)
        assert r is not None, "no reply after %.1fs" % took
        assert (r.code, r.enhanced) == (421, "4.4.2"), r
        assert 1.5 <= took < 2 + 2.5, "421 after %.1fs" % took
        c.wait_closed(timeout=5)
    p.wait_log(r"content from 127\.0\.0\.1 too slow: \d+ bytes in \d+s")
    assert f.count() == 0
    good_session(p.port, f, "min-rate-" + how)


@pytest.mark.parametrize("rate,size", [("1k", 4096), ("0", 20)],
                         ids=["fast-enough", "off"])
def test_min_data_rate_passes(proxy, rate, size):
    """4 KiB every 0.5 s is above 1 KiB/s; with min_data_rate = 0 even
    20 bytes every 0.5 s is taken (the data_timeout between reads only)."""
    p, f = proxy(data_timeout="2s", min_data_rate=rate)
    with p.client(timeout=20) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@example.org>").code == 250
        assert c.cmd("RCPT TO:<b@example.com>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(b"Subject: paced\r\n\r\n")
        r, took = _trickle(c, [b"y" * (size - 2) + b"\r\n"] * 9, 0.5, 10)
        assert r is None, r
        assert took >= 4
        c.send(b".\r\n")
        assert c.reply().code == 250
    (m,) = f.wait_count(1)
    assert len(m.content) == 18 + 9 * size

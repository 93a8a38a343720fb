# SPDX-License-Identifier: ISC
"""Several backends (proxy.backend as a list): failover past a stopped,
refusing, silent or 4xx-greeting backend; the failed one skipped for
proxy.backend_retry and used again after it; 421 only when none answers;
a unix-socket backend; the transaction log names the backend."""
import time
import uuid

from peers import SmtpClient, make_message

RETRY = 2       # proxy.backend_retry in these tests, seconds


def addr(f):
    return "127.0.0.1:%d" % f.port


def deliver(p):
    """One message through postern; its final reply and marker."""
    tag = uuid.uuid4().hex[:12]
    with SmtpClient(p.port) as c:
        assert c.greeting.code == 220, c.greeting
        assert c.ehlo("client.test").code == 250
        r = c.send_message("s@example.org", ["b@example.com"],
                           make_message("backends " + tag, ["body " + tag]))
        c.cmd("QUIT")
    assert r.code == 250, r
    return tag


def got(f, tag):
    return any(m.content and tag.encode() in m.content
               for m in f.messages())


def test_failover_and_back(fakemta, postern):
    a, b = fakemta(name="first"), fakemta(name="second")
    port_a = a.port
    a.stop()
    p = postern(b.port, backend="%s, %s" % (addr(a), addr(b)),
                backend_retry="%ds" % RETRY)
    tag = deliver(p)
    b.wait_count(1)
    assert got(b, tag)
    p.wait_log(r"backend 127\.0\.0\.1:%d unavailable: connection failed"
               % port_a)
    p.wait_log(r"tx .*action=relayed .*backend=127\.0\.0\.1:%d\b" % b.port)
    # the first comes back: skipped until backend_retry has passed
    a = fakemta(name="first", port=port_a)
    deliver(p)
    b.wait_count(2)
    assert a.count() == 0
    time.sleep(RETRY + 0.5)
    tag = deliver(p)
    a.wait_count(1)
    assert got(a, tag)
    assert b.count() == 2
    p.wait_log(r"tx .*backend=127\.0\.0\.1:%d\b" % port_a)


def test_all_down_is_421_and_marked_ones_still_tried(fakemta, postern):
    a, b = fakemta(name="first"), fakemta(name="second")
    a.stop()
    b.stop()
    p = postern(b.port, backend="%s, %s" % (addr(a), addr(b)),
                backend_retry="1h")
    with SmtpClient(p.port) as c:
        assert c.greeting.code == 421, c.greeting
        assert "4.3.2" in c.greeting.text, c.greeting
        c.wait_closed(timeout=10)
    p.wait_log(r"no backend available")
    # both are marked for an hour; the second comes back: still tried
    b = fakemta(name="second", port=b.port)
    tag = deliver(p)
    b.wait_count(1)
    assert got(b, tag)


def test_4xx_greeting_skipped(fakemta, postern):
    a = fakemta(name="busy", greeting="421 4.3.2 busy.test too busy")
    b = fakemta(name="second")
    p = postern(b.port, backend="%s %s" % (addr(a), addr(b)))
    tag = deliver(p)
    b.wait_count(1)
    assert got(b, tag) and a.count() == 0
    p.wait_log(r"backend 127\.0\.0\.1:%d greeting refused: 421 4\.3\.2"
               % a.port)


def test_silent_backend_leaves_time_for_the_next(fakemta, postern):
    """connect_timeout is shared: a backend that never greets gets half
    of it here, and the second still answers in time."""
    a = fakemta(name="silent", greeting_delay=30)
    b = fakemta(name="second")
    p = postern(b.port, backend="%s, %s" % (addr(a), addr(b)),
                connect_timeout="4s")
    t0 = time.monotonic()
    tag = deliver(p)
    assert time.monotonic() - t0 < 4, "took the whole connect_timeout"
    b.wait_count(1)
    assert got(b, tag)
    p.wait_log(r"backend 127\.0\.0\.1:%d unavailable: timeout" % a.port)
    t0 = time.monotonic()
    deliver(p)          # now marked: the second is asked first
    assert time.monotonic() - t0 < 1.5


def test_unix_socket_backend(sink, postern, fakemta):
    s = sink(unix=True)
    down = fakemta(name="down")
    down.stop()
    p = postern(down.port, backend="%s, unix:%s" % (addr(down), s.path))
    deliver(p)
    s.wait_count(1)
    p.wait_log(r"tx .*action=relayed .*backend=unix:%s\b" % s.path)

# SPDX-License-Identifier: ISC
"""Load: 300 concurrent smtp-source sessions through postern, one 50 MiB
message spooled to disk and delivered intact, and a message whose header a
filter cuts field by field relayed without holding other sessions."""
import base64
import os
import random
import subprocess
import time

import pytest

import peers
from peers import sha256, wait_for


def test_300_concurrent_sessions(sink, postern):
    s = sink("-m", "1000")
    p = postern(s.port, max_connections="2000",
                max_connections_per_ip="1000")
    t0 = time.monotonic()
    r = subprocess.run(
        ["smtp-source", "-s", "300", "-m", "600", "-l", "1024", "-c",
         "-M", "load.client.test", "-f", "load@example.org",
         "-t", "rcpt@example.com", "127.0.0.1:%d" % p.port],
        capture_output=True, text=True, timeout=240,
        stdin=subprocess.DEVNULL)
    elapsed = time.monotonic() - t0
    assert r.returncode == 0, "smtp-source failed after %.1fs: %s %s" % (
        elapsed, r.stdout[-2000:], r.stderr[-2000:])
    msgs = s.wait_count(600, timeout=30)
    assert len(msgs) == 600, "sink has %d messages" % len(msgs)
    assert all(m.mail.startswith("<load@example.org>") for m in msgs)
    assert all(m.rcpts == ["<rcpt@example.com>"] for m in msgs)
    sizes = {len(m.content) for m in msgs}
    assert min(sizes) >= 1024, sizes
    assert p.proc.alive()
    # nothing left in the spool, and postern still answers
    assert os.listdir(p.spool) == []
    peers.good_session(p.port, s, "after-load")


def test_many_messages_per_session(sink, postern):
    """smtp-source -d: 20 sessions x 25 messages each over one connection."""
    s = sink("-m", "1000")
    p = postern(s.port, max_connections_per_ip="100")
    r = subprocess.run(
        ["smtp-source", "-d", "-s", "20", "-m", "500", "-l", "4000",
         "-r", "3", "-M", "load.client.test", "-f", "multi@example.org",
         "-t", "rcpt@example.com", "127.0.0.1:%d" % p.port],
        capture_output=True, text=True, timeout=240,
        stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    msgs = s.wait_count(500, timeout=30)
    assert len(msgs) == 500
    assert all(len(m.rcpts) == 3 for m in msgs)
    assert p.proc.alive()


def _big_content(mib):
    rnd = random.Random(20240601)
    head = (b"From: <big@example.org>\r\nTo: <b@example.com>\r\n"
            b"Subject: fifty mebibytes\r\n\r\n")
    lines = []
    size = len(head)
    i = 0
    target = mib * 1024 * 1024
    while size < target:
        i += 1
        line = base64.b64encode(rnd.randbytes(57))
        if i % 997 == 0:
            line = b"." + line          # dot-stuffing on the way
        lines.append(line)
        size += len(line) + 2
    return head + b"\r\n".join(lines) + b"\r\n"


def _spool_files_open(pid, spool):
    found = []
    d = "/proc/%d/fd" % pid
    try:
        for fd in os.listdir(d):
            try:
                target = os.readlink(os.path.join(d, fd))
            except OSError:
                continue
            if target.startswith(spool):
                found.append(target)
    except OSError:
        pass
    return found


@pytest.mark.parametrize("ehlo", [peers.FULL_EHLO, peers.DATA_EHLO],
                         ids=["backend-bdat", "backend-data"])
def test_50mib_message_via_disk(fakemta, postern, ehlo):
    f = fakemta(transcript=False, store_content=False, ehlo=ehlo)
    p = postern(f.port, max_message_size="200M", spool_memory_max="64k")
    content = _big_content(50)
    wire = peers.stuff(content) + b".\r\n"
    with p.client(timeout=120) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<big@example.org> SIZE=%d" %
                     len(content)).code == 250
        assert c.cmd("RCPT TO:<b@example.com>").code == 250
        assert c.cmd("DATA").code == 354
        cut = 40 * 1024 * 1024
        c.send(wire[:cut])
        # 40 MiB in, the message must sit in a file under spool_dir
        on_disk = wait_for(lambda: _spool_files_open(p.pid, p.spool), 10,
                           what="an open spool file under %s" % p.spool)
        c.send(wire[cut:])
        r = c.reply(timeout=180)
        assert r.code == 250, r
    (m,) = f.wait_count(1, timeout=30)
    assert m.meta["size"] == len(content)
    assert m.meta["sha256"] == sha256(content), "50 MiB body differs"
    assert on_disk
    wait_for(lambda: not _spool_files_open(p.pid, p.spool) and
             os.listdir(p.spool) == [], 10, what="spool to be released")


def test_header_cut_field_by_field_does_not_stall_the_loop(sink, postern):
    """100,000 forged Authentication-Results fields (our authserv-id, so
    the chain removes them: spf is a FILTER_AUTHRES filter), each followed
    by a field that stays: 100,000 cuts in the spool.  The relay costs
    time linear in the fields, and a second client is greeted within a
    second all the while (a scan of every cut per spool read held the
    loop for seconds).  The backend gets every kept field, no forged one."""
    n = 100000
    s = sink()
    p = postern(s.port, max_message_size="100M",
                max_header_fields=str(2 * n + 10), max_header_total="64M",
                **{"filters.chain": "spf", "log.level": "warning"})
    head = b"".join(
        b"Authentication-Results: postern.test; spf=pass "
        b"smtp.mailfrom=forged%d@example.org\r\nX-Kept: %d\r\n" % (i, i)
        for i in range(n))
    content = head + b"Subject: many cuts\r\n\r\nbody\r\n"
    with p.client(timeout=60) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<cuts@example.org>").code == 250
        assert c.cmd("RCPT TO:<rcpt@example.com>").code == 250
        assert c.cmd("DATA").code == 354
        with peers.greeting_watch(p.port) as waits:
            t0 = time.monotonic()
            c.send(content + b".\r\n")
            r = c.reply(timeout=60)
            took = time.monotonic() - t0
        assert r.code == 250, r
    assert waits, "no greeting probe completed"
    assert max(waits) < 1.0, (
        "a second client waited %.2f s for its greeting while %d cut "
        "fields were relayed (whole message %.2f s, %d probes)"
        % (max(waits), n, took, len(waits)))
    (m,) = s.wait_count(1, timeout=30)
    assert b"forged" not in m.content
    assert m.content.endswith(b"X-Kept: %d\r\nSubject: many cuts\r\n"
                              b"\r\nbody\r\n" % (n - 1))
    assert m.content.count(b"X-Kept: ") == n

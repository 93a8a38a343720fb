# SPDX-License-Identifier: ISC
"""Descriptors and floods: the descriptor limit at start (the soft one
raised to the hard one, proxy.max_connections clamped to what it holds, in
the start log and in `postern check`), accept paused instead of spinning
when descriptors run out, and warnings a peer can cause at will logged once
an interval with a count of the others (log.repeat_interval)."""
import os
import re
import resource
import socket
import subprocess
import time

import peers
from peers import LOOP_HOST, SmtpClient, good_session, make_message, wait_for

ACCEPT = re.compile(r"\baccept\b")


def log_size(p):
    return os.path.getsize(p.proc.err_path)


def hog(port, n):
    """Up to n connections that say nothing (bounded: refused ones too)."""
    socks = []
    for _ in range(n):
        try:
            socks.append(socket.create_connection((LOOP_HOST, port),
                                                  timeout=5))
        except OSError:
            break
    return socks


def close_all(socks):
    for s in socks:
        s.close()


def greeted_within(port, timeout):
    def probe():
        try:
            with SmtpClient(port, timeout=2) as c:
                return c.greeting.code == 220
        except (OSError, peers.ConnectionClosed):
            return False
    return wait_for(probe, timeout, interval=0.2, what="a 220 greeting")


def transaction(c, marker):
    content = make_message(marker, ["still here"])
    assert c.ehlo().code == 250
    r = c.send_message("a@example.org", ["b@example.com"], content)
    assert r.code == 250, r
    return content


def test_forty_connections_with_48_descriptors(proxy):
    """ulimit -n 48 and 40 connections: max_connections is clamped at
    start (and says so), the others get 421, the log stays small, the
    first session finishes its message, and once the hogs are gone a new
    client is greeted at once."""
    p, f = proxy(nofile=48)
    first = SmtpClient(p.port)
    assert first.greeting.code == 220
    socks = hog(p.port, 40)
    try:
        time.sleep(2)
        assert log_size(p) < 16384, "log grew to %d bytes" % log_size(p)
        log = p.log()
        assert len([l for l in log.splitlines() if ACCEPT.search(l)]) < 50
        assert len(log.splitlines()) < 50, log[-3000:]
        # no session was let in that could not reach the backend
        assert "unavailable" not in log, log[-3000:]
        transaction(first, "first of 48")
    finally:
        close_all(socks)
        first.close()
    greeted_within(p.port, 3)
    good_session(p.port, f, "after 48")
    p.wait_log(r"proxy\.max_connections 10000 does not fit in 48 "
               r"descriptors \(3 a connection, 32 kept\): 5 at most")


def lowest_free_fd(pid):
    used = {int(d) for d in os.listdir("/proc/%d/fd" % pid)}
    return min(set(range(len(used) + 1)) - used)


def test_accept_pauses_when_descriptors_run_out(proxy):
    """Descriptors gone while running: accept pauses (one log line), the
    session in progress goes on, and waiting clients are served once
    descriptors are back."""
    p, f = proxy(max_connections="100", max_connections_per_ip="0")
    a = SmtpClient(p.port)
    assert a.ehlo().code == 250
    assert a.cmd("MAIL FROM:<a@example.org>").code == 250
    assert a.cmd("RCPT TO:<b@example.com>").code == 250
    before = resource.prlimit(p.pid, resource.RLIMIT_NOFILE)
    low = lowest_free_fd(p.pid)
    resource.prlimit(p.pid, resource.RLIMIT_NOFILE, (low, before[1]))
    mark = log_size(p)
    waiting = hog(p.port, 10)
    try:
        time.sleep(2)
        grown = log_size(p) - mark
        assert grown < 4096, "log grew by %d bytes" % grown
        lines = p.log()[mark:].splitlines()
        assert 1 <= len([l for l in lines if ACCEPT.search(l)]) <= 2, lines
        assert any("accept: Too many open files: not accepting for 500 ms"
                   in l for l in lines), lines
        # the session in progress is not harmed
        content = make_message("while out of descriptors", ["x"])
        assert a.cmd("DATA").code == 354
        a.send(peers.stuff(content) + b".\r\n")
        assert a.reply().code == 250
        assert a.cmd("QUIT").code == 221
        resource.prlimit(p.pid, resource.RLIMIT_NOFILE, before)
        # the clients that waited in the backlog are greeted now
        for s in waiting:
            s.settimeout(5)
            assert s.recv(512).startswith(b"220 "), "not greeted"
    finally:
        close_all(waiting)
        a.close()
    assert any(m.content == content for m in f.wait_count(1))
    good_session(p.port, f, "after the pause")


def check(postern_bin, *args, nofile=None):
    return subprocess.run(
        [postern_bin, "check", *args], capture_output=True, text=True,
        timeout=30, stdin=subprocess.DEVNULL,
        preexec_fn=None if nofile is None else lambda: resource.setrlimit(
            resource.RLIMIT_NOFILE, (nofile, nofile)))


def test_check_warns_when_connections_do_not_fit(postern_bin):
    """3 descriptors a session (client, backend, spool file), one more
    for each milter, 2 when every message fits in memory."""
    base = ("-o", "proxy.user=nobody", "-o", "proxy.max_connections=1000",
            "-o", "filters.chain=iplist")
    for extra, per, most in [
            ((), 3, 5),
            (("-o", "filters.chain=iplist milter", "-o", "milter.milters="
              "inet:127.0.0.1:9 unix:/nonexistent"), 5, 3),
            (("-o", "proxy.max_message_size=1M",
              "-o", "proxy.spool_memory_max=1M"), 2, 8)]:
        r = check(postern_bin, *base, *extra, nofile=48)
        assert r.returncode == 0, r.stderr
        assert "configuration OK" in r.stdout, r.stdout
        assert ("postern: warning: proxy.max_connections 1000 does not fit "
                "in 48 descriptors (%d a connection, 32 kept): %d at most"
                % (per, most)) in r.stderr, (extra, r.stderr)
    r = check(postern_bin, *base, "-o", "proxy.max_connections=5",
              nofile=48)
    assert r.returncode == 0 and r.stderr == "", r.stderr


def test_root_without_proxy_user_warns(postern_bin, proxy):
    assert os.geteuid() == 0, "the tests run as root"
    r = check(postern_bin)
    assert r.returncode == 0, r.stderr
    assert "configuration OK" in r.stdout
    assert "postern: warning: running as root: set proxy.user" in r.stderr
    r = check(postern_bin, "-o", "proxy.user=nobody")
    assert "running as root" not in r.stderr, r.stderr
    p, f = proxy()
    p.wait_log(r"\[warning\]: running as root: set proxy\.user")


REFUSED = re.compile(r"connection refused: \d+ connections from one address")
SUMMARY = re.compile(r"connection refused \(per address\): (\d+) more like "
                     r"this in the last (\d+)s")


def wait_told(p, full_rx, summary_rx, n):
    """(lines written whole, lines counted) once they make n."""
    def tally():
        log = p.log()
        full = len(full_rx.findall(log))
        told = sum(int(m) for m, _ in summary_rx.findall(log))
        return (full, told) if full + told == n else None
    return wait_for(tally, 10, what="%d events told" % n)


def test_refused_connections_are_summarised(proxy):
    """50 connections over max_connections_per_ip: a line or two, and one
    with the count of the others."""
    p, f = proxy(max_connections_per_ip="1",
                 **{"log.repeat_interval": "2s"})
    held = SmtpClient(p.port)
    assert held.greeting.code == 220
    try:
        for _ in range(50):
            with SmtpClient(p.port, timeout=5) as c:
                assert c.greeting.code == 421, c.greeting
                c.wait_closed(timeout=5)
        full, told = wait_told(p, REFUSED, SUMMARY, 50)
        assert full <= 5 and told >= 45, (full, told)
    finally:
        held.close()
    peers.wait_slots(p.port, 1)
    good_session(p.port, f, "after refusals")


def test_repeat_interval_0_logs_every_line(proxy):
    p, f = proxy(max_connections_per_ip="1", **{"log.repeat_interval": "0"})
    with SmtpClient(p.port) as held:
        assert held.greeting.code == 220
        for _ in range(5):
            with SmtpClient(p.port, timeout=5) as c:
                assert c.greeting.code == 421, c.greeting
        wait_for(lambda: len(REFUSED.findall(p.log())) == 5, 5,
                 what="5 refusal lines")
    assert not SUMMARY.search(p.log())


def test_bad_proxy_headers_are_summarised(proxy):
    p, f = proxy(proxy_protocol="yes", **{"log.repeat_interval": "2s"})
    for _ in range(30):
        with SmtpClient(p.port, read_greeting=False, timeout=5) as c:
            c.send(b"EHLO client.example.org\r\n")
            assert c.wait_closed(timeout=5) == b""
    full, told = wait_told(
        p, re.compile(r"PROXY header from 127\.0\.0\.1 refused: "),
        re.compile(r"PROXY header refused: (\d+) more like this in the "
                   r"last (\d+)s"), 30)
    assert full <= 5 and told >= 25, (full, told)
    assert f.sessions() == 0

# SPDX-License-Identifier: ISC
"""Signals: SIGHUP reloads (and refuses a bad file, keeping the old
configuration), SIGTERM lets transactions in flight finish, refuses new
connections, and exits 0."""
import os
import re
import signal
import socket
import subprocess
import time

import peers
from peers import SmtpClient, good_session, listening, make_message, wait_for


def write(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


def test_sighup_bad_config_keeps_serving(fakemta, postern, workdir):
    f = fakemta()
    conf = os.path.join(workdir, "postern.conf")
    write(conf, "[proxy]\nhostname = before.test\nmax_errors = 5\n"
          "[filters]\nchain =\n")
    p = postern(f.port, config=conf, hostname=None)
    with p.client() as c:
        assert c.greeting.lines[0].startswith("220 before.test"), c.greeting
    mark = len(p.log())
    write(conf, "[proxy\nthis is = = garbage\n\x00\x01\n")
    p.signal(signal.SIGHUP)
    p.wait_log(r"(?i)" + re.escape(conf) + r"|reload", start=mark)
    time.sleep(0.5)
    assert p.proc.alive(), p.log()
    with p.client() as c:
        # still the old configuration
        assert c.greeting.lines[0].startswith("220 before.test"), c.greeting
    good_session(p.port, f, "after-bad-hup")
    # and a second bad HUP changes nothing either
    p.signal(signal.SIGHUP)
    time.sleep(0.5)
    assert p.proc.alive()
    good_session(p.port, f, "after-second-bad-hup")


def test_sighup_good_config_applies(fakemta, postern, workdir):
    f = fakemta()
    conf = os.path.join(workdir, "postern.conf")
    write(conf, "[proxy]\nhostname = before.test\n[filters]\nchain =\n")
    p = postern(f.port, config=conf, hostname=None)
    with p.client() as c:
        assert c.greeting.lines[0].startswith("220 before.test"), c.greeting
    write(conf, "[proxy]\nhostname = after.test\n[filters]\nchain =\n")
    p.signal(signal.SIGHUP)

    def greets_after():
        with p.client() as c:
            return c.greeting.lines[0].startswith("220 after.test")
    wait_for(greets_after, 10, interval=0.2, what="the reloaded hostname")
    good_session(p.port, f, "after-good-hup")


def _refused_or_unserved(port):
    """True if a new connection is refused or closed without a greeting."""
    try:
        c = SmtpClient(port, timeout=5, read_greeting=False)
    except ConnectionRefusedError:
        return True
    try:
        r = c.reply(timeout=5)
        return r.code != 220
    except (peers.ConnectionClosed, OSError):
        return True
    finally:
        c.close()


def test_sigterm_lets_inflight_transaction_finish(fakemta, postern):
    f = fakemta(eod_delay=4)
    p = postern(f.port, shutdown_timeout="20s")
    content = make_message("in flight", ["finish me"])
    with p.client(timeout=30) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@example.org>").code == 250
        assert c.cmd("RCPT TO:<b@example.com>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(peers.stuff(content) + b".\r\n")
        wait_for(lambda: f.eods() == 1, 10,
                 what="the message at the backend")
        p.signal(signal.SIGTERM)
        time.sleep(0.5)
        assert p.proc.alive(), "exited with a transaction in flight"
        assert _refused_or_unserved(p.port), "served a new connection"
        r = c.reply(timeout=20)
        assert r.code == 250, r
    rc = p.wait_exit(15)
    assert rc == 0, "exit status %r; log:\n%s" % (rc, p.log()[-3000:])
    (m,) = f.wait_count(1)
    assert m.content == content
    assert not listening(p.port)


def test_sigterm_idle_exits_zero(proxy):
    p, f = proxy(shutdown_timeout="5s")
    good_session(p.port, f, "before-term")
    idle = p.client()               # a session between transactions
    try:
        idle.ehlo()
        t0 = time.monotonic()
        p.signal(signal.SIGTERM)
        rc = p.wait_exit(5 + 5)
        assert rc == 0, "exit status %r; log:\n%s" % (rc, p.log()[-3000:])
        assert time.monotonic() - t0 < 5 + 5
        idle.wait_closed(timeout=5)
    finally:
        idle.close()
    assert not listening(p.port)
    try:
        c = socket.create_connection(("127.0.0.1", p.port), timeout=5)
    except ConnectionRefusedError:
        pass
    else:
        c.close()
        raise AssertionError("port %d still accepts after exit" % p.port)


def test_runs_as_proxy_user_after_binding(proxy):
    """proxy.user: the sockets are opened as root, then postern runs as
    nobody for good (real, effective and saved ids), and still relays."""
    p, f = proxy(user="nobody")
    p.wait_log(r"running as nobody")
    status = open("/proc/%d/status" % p.pid).read()
    uid = re.search(r"^Uid:\s+(.*)$", status, re.M).group(1).split()
    gid = re.search(r"^Gid:\s+(.*)$", status, re.M).group(1).split()
    assert uid == ["65534"] * 4, status
    assert gid == [gid[0]] * 4 and gid[0] != "0", status
    good_session(p.port, f, "as-nobody")


def test_unknown_proxy_user_refuses_to_start(fakemta, postern):
    f = fakemta()
    p = postern(f.port, wait=False, user="no-such-user-here")
    assert p.proc.proc.wait(10) == 1
    # a start-up failure is logged at error level
    assert "[error]: proxy.user no-such-user-here: no such user" in p.log()


def test_reload_rules_under_load_drops_nothing(sink, postern, workdir):
    """SIGHUP again and again while 20 sessions send 3000 messages: rule
    sets swap (and a broken one is refused) without failing a single
    transaction; sessions in flight keep the set they started with."""
    rules = os.path.join(workdir, "live.rules")
    conf = os.path.join(workdir, "postern.conf")
    sets = ["A body /zzz-never-matches-a/ score 1\n",
            "B body /zzz-never-matches-b/ score 2\n",
            "BROKEN body /(unclosed/ score 1\n"]
    write(rules, sets[0])
    write(conf, "[filters]\nchain = regex\n[regex]\nrules = %s\n" % rules)
    s = sink("-m", "1000")
    p = postern(s.port, config=conf, max_connections_per_ip="100")
    load = subprocess.Popen(
        ["smtp-source", "-d", "-s", "20", "-m", "3000", "-l", "2048",
         "-f", "load@example.org", "-t", "rcpt@example.com",
         "127.0.0.1:%d" % p.port],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL)
    good = bad = 0
    try:
        # reload for as long as the load runs (bounded: 200 reloads)
        for i in range(200):
            if load.poll() is not None:
                break
            write(rules, sets[i % 3])
            mark = len(p.log())
            p.signal(signal.SIGHUP)
            if i % 3 == 2:
                bad += 1
            else:
                good += 1
            p.wait_log(r"(configuration reloaded|keeping the running)",
                       timeout=10, start=mark)
            time.sleep(0.05)
        out, err = load.communicate(timeout=120)
    finally:
        if load.poll() is None:
            load.kill()
            load.wait(10)
    assert good >= 2 and bad >= 1, "too few reloads during the load"
    assert load.returncode == 0, (out[-2000:], err[-2000:])
    assert len(s.wait_count(3000, timeout=30)) == 3000
    time.sleep(0.5)
    log = p.log()
    assert log.count("configuration reloaded") == good, log[-3000:]
    assert log.count("keeping the running configuration") == bad, \
        log[-3000:]
    assert "rule BROKEN: bad pattern" in log
    assert p.proc.alive()


def test_reload_as_proxy_user_applies_a_changed_list(fakemta, postern,
                                                     workdir):
    """Started as root with proxy.user, postern reads lists at a reload as
    that user: a list readable by it (as postern check demands) is reloaded
    and the change takes effect; a root-only one is refused, the running
    list kept."""
    assert os.geteuid() == 0, "the tests run as root"
    f = fakemta()
    d = os.path.join(workdir, "lists")
    os.mkdir(d)
    os.chmod(workdir, 0o755)
    os.chmod(d, 0o755)
    deny = os.path.join(d, "deny")
    write(deny, "127.0.0.6\n")
    os.chmod(deny, 0o644)
    p = postern(f.port, user="nobody", **{
        "filters.chain": "iplist", "iplist.deny_file": deny})
    p.wait_log(r"running as nobody")

    def code(addr):
        c = SmtpClient(p.port, source=addr, timeout=10)
        c.close()
        return c.greeting.code
    A, B = "127.0.0.6", "127.0.0.7"
    assert code(A) == 554 and code(B) == 220
    mark = len(p.log())
    write(deny, "127.0.0.7\n")
    os.chmod(deny, 0o644)
    p.signal(signal.SIGHUP)
    p.wait_log(r"configuration reloaded", start=mark)
    assert code(A) == 220 and code(B) == 554
    # root-only: the reload is refused, the running list stays
    mark = len(p.log())
    write(deny, "127.0.0.6\n")
    os.chmod(deny, 0o600)
    p.signal(signal.SIGHUP)
    p.wait_log(r"reload refused", start=mark)
    assert "Permission denied" in p.log()[mark:], p.log()[mark:]
    assert code(A) == 220 and code(B) == 554

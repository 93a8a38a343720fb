# SPDX-License-Identifier: ISC
"""The store of ratelimit and greylist on a real redis-server (issue 18,
item 2; the filters' own tests run on both stores): a unix socket, AUTH
with a password and with an ACL user, SELECT; Redis killed (accept and
tempfail) and back, Redis too slow (timeout, counted); several postern on
one Redis, directly and behind the shipped HAProxy configuration (a
client limit held across both, a greylist triplet made on one passing on
the other); the in-process store full; a reply announcing a huge array; a reload that moves the store to
another Redis with two event loops; postern test leaving Redis alone."""
import os
import re
import signal
import socket
import subprocess
import threading
import time

import pytest

import peers
from peers import SmtpClient, make_message
from test_metrics import parse, scrape, value
from test_proxyproto import pp_client, v1
from test_scaling import start_haproxy

UNAVAILABLE = "451 4.3.0 Rate limit check unavailable, try again later"


def limited(proxy, **opts):
    o = {"filters.chain": "ratelimit", "max_connections_per_ip": "0",
         "ratelimit.client": "2/1m"}
    o.update(opts)
    return proxy(**o)


def send(port, source=None, sender="a@example.org"):
    """One message in a session of its own: the MAIL reply when refused,
    else the end-of-data reply."""
    with SmtpClient(port, source=source) as c:
        assert c.ehlo().code == 250
        for cmd in ("MAIL FROM:<%s>" % sender, "RCPT TO:<b@example.com>"):
            r = c.cmd(cmd)
            if r.code != 250:
                return r
        assert c.cmd("DATA").code == 354
        c.send(make_message("store", ["one"]) + b".\r\n")
        return c.reply()


def keys(r, pattern="postern:*", db=0):
    out = r.cli("-n", str(db), "--scan", "--pattern", pattern)
    return [k for k in out.split("\n") if k]


@pytest.mark.parametrize("action", ["accept", "tempfail"])
def test_redis_killed_then_back(proxy, redis, action):
    r = redis()
    p, f = limited(proxy, **{"redis.server": r.addr,
                             "redis.failure_action": action})
    assert send(p.port).code == 250
    r.kill()
    for _ in range(3):
        got = send(p.port)
        if action == "accept":
            assert got.code == 250, got
        else:
            assert got.lines[0] == UNAVAILABLE, got
    p.wait_log(r"ratelimit: store failed \((down|timeout)\): %s" %
               ("accepted" if action == "accept" else "tempfailed"))
    r.start()       # empty: the count starts again
    p.wait_log(r"redis 127\.0\.0\.1: connected again", timeout=15)
    assert [send(p.port).code for _ in range(3)] == [250, 250, 450]


def test_unix_socket_and_password(proxy, redis):
    r = redis(password="pw-Secret")
    p, f = limited(proxy, **{"redis.server": "unix:" + r.socket,
                             "redis.password": "pw-Secret",
                             "redis.failure_action": "tempfail"})
    assert [send(p.port).code for _ in range(3)] == [250, 250, 450]
    assert len(keys(r, "postern:rl:client:*")) == 1


def test_acl_user_and_database(proxy, redis):
    r = redis(password="admin-pw")
    assert r.cli("ACL", "SETUSER", "postern", "on", ">user-pw", "~postern:*",
                 "+@all") == "OK"
    p, f = limited(proxy, **{"redis.server": r.addr, "redis.user": "postern",
                             "redis.password": "user-pw",
                             "redis.database": "3",
                             "redis.failure_action": "tempfail"})
    assert [send(p.port).code for _ in range(3)] == [250, 250, 450]
    assert len(keys(r, db=3)) == 1 and keys(r, db=0) == []


def test_wrong_password_is_a_failure(proxy, redis):
    r = redis(password="right")
    p, f = limited(proxy, **{"redis.server": r.addr,
                             "redis.password": "wrong",
                             "redis.failure_action": "tempfail"})
    got = send(p.port)
    assert got.lines[0] == UNAVAILABLE, got
    p.wait_log(r"redis 127\.0\.0\.1: AUTH refused")


def test_too_slow_times_out_and_is_counted(proxy, redis):
    r = redis()
    mport = peers.free_port()
    p, f = limited(proxy, **{"redis.server": r.addr, "redis.timeout": "1s",
                             "redis.failure_action": "tempfail",
                             "ratelimit.client": "5/1m",
                             "metrics.listen": "127.0.0.1:%d" % mport})
    assert send(p.port).code == 250
    os.kill(r.pid, signal.SIGSTOP)          # alive, silent
    try:
        t0 = time.monotonic()
        got = send(p.port)
        took = time.monotonic() - t0
    finally:
        os.kill(r.pid, signal.SIGCONT)
    assert got.lines[0] == UNAVAILABLE, got
    assert 0.9 < took < 5, took
    p.wait_log(r"ratelimit: store failed \(timeout\): tempfailed")
    # the late answer is dropped; the connection serves again
    assert send(p.port).code == 250
    s = parse(scrape(mport)[2])
    assert value(s, "postern_store_errors_total", reason="timeout") == 1
    assert value(s, "postern_ratelimit_checks_total", limit="client",
                 result="under") == 2
    assert value(s, "postern_ratelimit_checks_total", limit="client",
                 result="failed") == 1


def test_two_instances_share_limit_and_greylist(fakemta, postern, redis):
    r = redis()
    f = fakemta()
    opts = {"filters.chain": "ratelimit greylist", "redis.server": r.addr,
            "ratelimit.client": "4/1m", "greylist.delay": "2s",
            "max_connections_per_ip": "0"}
    a, b = postern(f.port, **opts), postern(f.port, **opts)
    # the triplet is new on a, still early on b, passes on b after delay
    assert send(a.port).code == 451
    assert send(b.port).code == 451
    time.sleep(2.2)
    assert send(b.port).code == 250
    assert send(a.port).code == 250
    # four MAILs counted on the two (ratelimit comes first): the limit
    # is reached for both
    for p in (a, b):
        got = send(p.port)
        assert got.code == 450 and "(4 per 60s)" in got.text, got
    assert len(f.messages()) == 2


def test_limit_across_instances_behind_haproxy(procs, workdir, fakemta,
                                               postern, redis):
    """The shipped HAProxy configuration (PROXY v2, leastconn) in front of
    two postern on one Redis: the real client's limit holds whichever
    instance gets its messages."""
    r = redis()
    f = fakemta()
    opts = {"proxy_protocol": "yes", "proxy_protocol_from": "127.0.0.1",
            "log.level": "debug",
            "filters.chain": "ratelimit", "redis.server": r.addr,
            "ratelimit.client": "4/1m"}
    a, b = postern(f.port, **opts), postern(f.port, **opts)
    front = peers.free_port()
    start_haproxy(procs, workdir, front, (a.port, b.port))
    for p in (a, b):
        p.wait_log(r"PROXY v2 from 127\.0\.0\.1", timeout=15)
    got = [send(front, source="127.0.0.7").code for _ in range(8)]
    assert got == [250] * 4 + [450] * 4, got
    assert send(front, source="127.0.0.8").code == 250
    served = [len(re.findall(r" tx client=127\.0\.0\.7 ", p.log()))
              for p in (a, b)]
    assert all(served) and sum(served) == 8, served


def test_greylist_redis_down_tempfails(proxy, redis):
    r = redis()
    p, f = proxy(**{"filters.chain": "greylist", "redis.server": r.addr,
                    "redis.failure_action": "tempfail"})
    r.kill()
    with SmtpClient(p.port) as c:
        assert c.ehlo().code == 250
        assert c.cmd("MAIL FROM:<a@example.org>").code == 250
        got = c.cmd("RCPT TO:<b@example.com>")
    assert got.lines[0] == ("451 4.3.0 Greylisting unavailable, try again "
                            "later"), got
    p.wait_log(r"greylist: store failed \(down\): tempfailed")


def test_memory_store_full_is_a_failure(proxy):
    mport = peers.free_port()
    p, f = limited(proxy, proxy_protocol="yes",
                   **{"redis.memory_keys": "2",
                      "redis.failure_action": "tempfail",
                      "metrics.listen": "127.0.0.1:%d" % mport})
    got = []
    for src in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
        c = pp_client(p.port, v1(src))
        c.ehlo()
        got.append(c.cmd("MAIL FROM:<a@example.org>").lines[0])
        c.close()
    assert [g[:3] for g in got[:2]] == ["250", "250"], got
    assert got[2] == UNAVAILABLE, got
    s = parse(scrape(mport)[2])
    assert value(s, "postern_store_errors_total", reason="full") == 1


def test_reload_moves_the_store_with_two_loops(fakemta, postern, redis,
                                               workdir):
    r1, r2 = redis(name="redis-a"), redis(name="redis-b")
    f = fakemta()
    conf = os.path.join(workdir, "store.conf")

    def write(server):
        with open(conf, "w") as fp:
            fp.write("[proxy]\nthreads = 2\nmax_connections_per_ip = 0\n"
                     "[redis]\nserver = %s\nfailure_action = tempfail\n"
                     "[filters]\nchain = ratelimit\n[ratelimit]\n"
                     "client = 100/1m\n" % server)
    write(r1.addr)
    p = postern(f.port, config=conf)
    for _ in range(6):          # on both loops, each its own connection
        assert send(p.port).code == 250
    write(r2.addr)
    p.signal(signal.SIGHUP)
    p.wait_log(r"configuration reloaded")
    for _ in range(6):
        assert send(p.port).code == 250
    assert r1.cli("GET", keys(r1)[0]) != ""
    assert len(keys(r2)) == 1
    p.signal(signal.SIGTERM)
    assert p.wait_exit(15) == 0, p.log()


def test_postern_test_leaves_redis_alone(postern_bin, redis, workdir):
    r = redis()
    msg = os.path.join(workdir, "m.eml")
    with open(msg, "wb") as fp:
        fp.write(make_message("dry", ["run"]))
    out = subprocess.run([postern_bin, "test", "-o", "filters.chain="
                          "ratelimit", "-o", "ratelimit.client=1/1m", "-o",
                          "redis.server=" + r.addr, msg],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "relay to the backend" in out.stdout, out.stdout
    assert keys(r) == []


def test_bad_server_address_fails_the_start(postern, fakemta):
    f = fakemta()
    p = postern(f.port, wait=False, **{"filters.chain": "ratelimit",
                                       "ratelimit.client": "1/1m",
                                       "redis.server": "127.0.0.1:99999"})
    assert p.wait_exit(10) not in (None, 0)
    assert "redis.server: '127.0.0.1:99999'" in p.log()


def test_a_reply_announcing_a_huge_array_is_refused(proxy):
    """A server that answers every command with '*999999999': hiredis
    would allocate 8 GB for it and wait for the elements; postern refuses
    the reply at once (the call fails "down", tempfail here) and stays
    small."""
    srv = socket.socket()
    srv.bind((peers.LOOP_HOST, 0))
    srv.listen(8)
    stop = threading.Event()

    def serve():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                c, _ = srv.accept()
            except OSError:
                continue
            try:
                c.recv(65536)
                c.sendall(b"*999999999\r\n")
            except OSError:
                pass
            finally:
                c.close()

    t = threading.Thread(target=serve)
    t.start()
    try:
        p, f = limited(proxy, **{
            "redis.server": "%s:%d" % srv.getsockname(),
            "redis.failure_action": "tempfail", "redis.timeout": "5s"})
        t0 = time.monotonic()
        got = send(p.port)
        assert got.lines[0] == UNAVAILABLE, got
        # refused at once, not waited for (the elements never come)
        assert time.monotonic() - t0 < 3
        p.wait_log(r"ratelimit: store failed \(down\): tempfailed")
        with open("/proc/%d/status" % p.pid) as fp:
            rss = [int(l.split()[1]) for l in fp if l.startswith("VmRSS")]
        assert rss[0] < 200 * 1024, "RSS %d KiB" % rss[0]
        # and nothing half-read holds it back at the end (hiredis's own
        # array made postern take 10 s to stop)
        p.signal(signal.SIGTERM)
        assert p.wait_exit(5) == 0, p.log()[-2000:]
    finally:
        stop.set()
        t.join(10)
        srv.close()

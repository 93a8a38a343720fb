# SPDX-License-Identifier: ISC
"""The shipped HAProxy deployment (contrib/haproxy/haproxy.cfg, issue 18):
HAProxy with that file, unchanged, in front of two postern instances with
the PROXY protocol.  Connections reach both instances, each sees and
relays the real client address, HAProxy's SMTP health checks pass
through postern (their PROXY header included), and an instance that goes
away is taken out while the other serves on."""
import os
import re
import subprocess

import peers
from peers import SmtpClient, make_message, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
CFG = os.path.join(HERE, "..", "..", "contrib", "haproxy", "haproxy.cfg")


def start_haproxy(procs, workdir, front, backends):
    env = dict(os.environ, SMTP_BIND="%s:%d" % (peers.LOOP_HOST, front),
               POSTERN1="%s:%d" % (peers.LOOP_HOST, backends[0]),
               POSTERN2="%s:%d" % (peers.LOOP_HOST, backends[1]))
    chk = subprocess.run(["haproxy", "-c", "-f", CFG], env=env,
                         capture_output=True, text=True, timeout=30)
    assert chk.returncode == 0, chk.stdout + chk.stderr
    d = peers.mkdir_for(os.path.join(workdir, "haproxy"))
    h = procs.add(peers.Proc(["haproxy", "-db", "-f", CFG],
                             os.path.join(d, "haproxy"), env=env))
    wait_for(lambda: peers.listening(front) or not h.alive(), 10,
             what="haproxy to listen")
    assert h.alive(), h.stderr()
    return h


def one_message(port, source, tag):
    with SmtpClient(port, source=source) as c:
        assert c.greeting.code == 220, c.greeting
        c.ehlo()
        r = c.send_message("a@example.org", ["b@example.com"],
                           make_message(tag, ["via haproxy"]))
        assert r.code == 250, r
        c.cmd("QUIT")


def test_two_instances_behind_the_shipped_haproxy(procs, workdir, fakemta,
                                                  postern):
    f = fakemta()
    opts = {"proxy_protocol": "yes", "proxy_protocol_from": "127.0.0.1",
            "log.level": "debug"}
    a, b = postern(f.port, **opts), postern(f.port, **opts)
    front = peers.free_port()
    h = start_haproxy(procs, workdir, front, (a.port, b.port))
    # the health checks (EHLO behind a PROXY header) reach both
    for p in (a, b):
        p.wait_log(r"PROXY v2 from 127\.0\.0\.1", timeout=15)
    for i in range(8):
        one_message(front, "127.0.0.%d" % (10 + i), "m%d" % i)
    f.wait_count(8)
    clients = {}
    for p in (a, b):
        clients[p.port] = set(re.findall(r" tx client=(127\.0\.0\.\d+) ",
                                         p.log()))
    assert all(clients.values()), clients
    assert set.union(*clients.values()) == {"127.0.0.%d" % (10 + i)
                                            for i in range(8)}
    # an instance gone: HAProxy's checks take it out, the other serves
    a.stop()
    wait_for(lambda: "postern1 is DOWN" in h.stderr() + h.stdout(), 30,
             what="haproxy to mark postern1 down")
    for i in range(4):
        one_message(front, "127.0.0.30", "after%d" % i)
    f.wait_count(12)
    assert h.alive()

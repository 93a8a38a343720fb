# SPDX-License-Identifier: ISC
"""proxy.threads (issue 18): several event loops on one port
(SO_REUSEPORT).  Connections are served by every loop (the per-loop
counter in the metrics), the connection limits stay exact under 300
concurrent connections, and a SIGTERM with transactions in flight on both
loops loses nothing.  The rest of the suite runs with two loops too: make
integ-threads (POSTERN_THREADS=2)."""
import signal
import socket
import threading

import peers
from peers import make_message, stuff, wait_for
from test_metrics import parse, scrape, value


def threaded_proxy(proxy, n="2", **opts):
    port = peers.free_port()
    o = {"proxy.threads": n, "metrics.listen": "%s:%d" % (peers.LOOP_HOST,
                                                          port)}
    o.update(opts)
    p, f = proxy(**o)
    p.metrics_port = port
    return p, f


def greetings(port, n):
    """n connections at once, each held until all have their first reply:
    the reply codes, and the sockets (closed here)."""
    codes, socks, lock = [], [], threading.Lock()
    ready = threading.Barrier(n + 1, timeout=60)

    def one():
        s = socket.create_connection((peers.LOOP_HOST, port), timeout=30)
        try:
            line = s.makefile("rb").readline()
            code = int(line[:3]) if line[:3].isdigit() else 0
        except OSError:
            code = 0
        with lock:
            codes.append(code)
            socks.append(s)
        ready.wait()

    ts = [threading.Thread(target=one) for _ in range(n)]
    for t in ts:
        t.start()
    ready.wait()
    for t in ts:
        t.join(30)
    for s in socks:
        s.close()
    return codes


def test_connections_are_served_by_both_loops(proxy):
    p, f = threaded_proxy(proxy)
    p.wait_log(r"ready: .* 2 event loops")
    for _ in range(200):
        with p.client() as c:
            assert c.cmd("QUIT").code == 221
    s = parse(scrape(p.metrics_port)[2])
    per_loop = [value(s, "postern_loop_connections_total", loop=str(i))
                for i in range(2)]
    assert sum(per_loop) == 200 and min(per_loop) > 0, per_loop


def test_one_loop_is_as_before(proxy):
    p, f = threaded_proxy(proxy, "1")
    p.wait_log(r"ready: .* 1 event loop,")
    with p.client() as c:
        assert c.cmd("QUIT").code == 221
    s = parse(scrape(p.metrics_port)[2])
    assert value(s, "postern_loop_connections_total", loop="0") == 1


def test_per_ip_limit_is_exact_under_300_concurrent(proxy):
    p, f = threaded_proxy(proxy, max_connections_per_ip="100")
    codes = greetings(p.port, 300)
    assert codes.count(220) == 100 and codes.count(421) == 200, \
        sorted(set(codes))
    s = parse(scrape(p.metrics_port)[2])
    assert value(s, "postern_connections_refused_total",
                 reason="max_connections_per_ip") == 200
    assert min(value(s, "postern_loop_connections_total", loop=str(i))
               for i in range(2)) > 0


def test_total_limit_is_exact_under_300_concurrent(proxy):
    p, f = threaded_proxy(proxy, max_connections="120",
                          max_connections_per_ip="0")
    codes = greetings(p.port, 300)
    assert codes.count(220) == 120 and codes.count(421) == 180, \
        sorted(set(codes))
    wait_for(lambda: value(parse(scrape(p.metrics_port)[2]),
                           "postern_connections") == 0, 10,
             what="every session gone")
    # the counts came back down: the full limit is free again
    assert greetings(p.port, 120).count(220) == 120


def test_sigterm_with_transactions_on_both_loops_loses_nothing(fakemta,
                                                               postern):
    f = fakemta(eod_delay=3)
    port = peers.free_port()
    p = postern(f.port, shutdown_timeout="30s", threads="2",
                max_connections_per_ip="0",
                **{"metrics.listen": "%s:%d" % (peers.LOOP_HOST, port)})
    n = 20
    clients, contents = [], []
    for i in range(n):
        c = p.client(timeout=40)
        c.ehlo()
        assert c.cmd("MAIL FROM:<a%d@example.org>" % i).code == 250
        assert c.cmd("RCPT TO:<b@example.com>").code == 250
        assert c.cmd("DATA").code == 354
        content = make_message("in flight %d" % i, ["body %d" % i])
        c.send(stuff(content) + b".\r\n")
        clients.append(c)
        contents.append(content)
    wait_for(lambda: f.eods() == n, 20, what="every message at the backend")
    s = parse(scrape(port)[2])
    assert min(value(s, "postern_loop_connections_total", loop=str(i))
               for i in range(2)) > 0, "not on both loops"
    idle = p.client()
    idle.ehlo()
    p.signal(signal.SIGTERM)
    idle.wait_closed(timeout=10)
    for c in clients:
        r = c.reply(timeout=30)
        assert r.code == 250, r
        c.close()
    idle.close()
    rc = p.wait_exit(20)
    assert rc == 0, "exit status %r; log:\n%s" % (rc, p.log()[-3000:])
    got = sorted(m.content for m in f.wait_count(n))
    assert got == sorted(contents)


def test_loop_0_takes_signals_while_another_drains(proxy):
    """A session in a transaction on loop 1 only, SIGTERM: loop 0 has
    nothing left to drain but runs on, so the metrics still answer and a
    second SIGTERM ends postern at once (before, loop 0 stopped with its
    last session and the second signal waited for shutdown_timeout)."""
    p, f = threaded_proxy(proxy, **{"proxy.shutdown_timeout": "60s",
                                    "max_connections_per_ip": "0"})
    held = None
    for _ in range(40):         # the kernel picks the loop: try until 1
        before = parse(scrape(p.metrics_port)[2])
        c = p.client()
        c.ehlo()
        s = parse(scrape(p.metrics_port)[2])
        on1 = value(s, "postern_loop_connections_total", loop="1") > \
            value(before, "postern_loop_connections_total", loop="1")
        if on1:
            held = c
            break
        c.close()
    assert held is not None, "no connection landed on loop 1"
    assert held.cmd("MAIL FROM:<a@example.org>").code == 250
    wait_for(lambda: value(parse(scrape(p.metrics_port)[2]),
                           "postern_connections") == 1, 10,
             what="only the held session left")
    p.signal(signal.SIGTERM)
    p.wait_log(r"stopping: 1 sessions to finish")
    assert scrape(p.metrics_port)[0] == 200, "loop 0 no longer serves"
    p.signal(signal.SIGTERM)
    p.wait_log(r"second stop signal: exiting now", timeout=5)
    assert p.wait_exit(10) == 0, p.log()[-2000:]
    held.close()

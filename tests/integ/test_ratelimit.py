# SPDX-License-Identifier: ISC
"""The ratelimit filter (issue 18), every test on the in-process store and
on a real redis-server: messages per client network (IPv4 prefix, from
the PROXY header behind a balancer), per sender and sender domain, per
authenticated user, recipients per domain, connections per client; 450
4.7.1 over a limit, 421 and close with :close; the allow list exempt;
counts kept across a reload and exact across two event loops."""
import os
import re
import signal
import threading

import conftest
import peers
from peers import make_message, stuff
from test_metrics import parse, scrape, value
from test_auth import PLAIN, auth_proxy, mx_cert, tls_session  # noqa: F401
from test_proxyproto import pp_client, v1


def rl_proxy(proxy, store, **opts):
    o = {"filters.chain": "ratelimit", "max_connections_per_ip": "0"}
    o.update(store)
    o.update(opts)
    return proxy(**o)


def mail(c, sender="a@example.org", rcpt="b@example.com"):
    """MAIL and RCPT; the first reply that is not 250, or the RCPT's."""
    r = c.cmd("MAIL FROM:<%s>" % sender)
    if r.code != 250:
        return r
    r = c.cmd("RCPT TO:<%s>" % rcpt)
    c.cmd("RSET")
    return r


def test_client_limit_refuses_message_n_plus_1(proxy, store):
    p, f = rl_proxy(proxy, store, **{"ratelimit.client": "3/1m"})
    with p.client() as c:
        c.ehlo()
        codes = [mail(c).code for _ in range(3)]
        r = mail(c)
    assert codes == [250, 250, 250]
    assert (r.code, r.enhanced) == (450, "4.7.1"), r
    assert re.search(r"Rate limit reached for client 127\.0\.0\.1 \(3 per "
                     r"60s\), try again in (1\d|20)s", r.text), r
    p.wait_log(r"filters=\"ratelimit=over\(client 127\.0\.0\.1: 3 per 60s\)")


def test_sender_and_domain_limits(proxy, store):
    p, f = rl_proxy(proxy, store, **{"ratelimit.sender": "2/1h",
                              "ratelimit.sender_domain": "3/1h"})
    with p.client() as c:
        c.ehlo()
        got = [mail(c, s).code for s in ("a@x.example", "A@X.EXAMPLE",
                                         "a@x.example", "b@x.example",
                                         "c@x.example", "d@y.example")]
    # a@ twice (the case is ignored), refused the third time; the domain
    # fills up at its third message; another domain is counted apart
    assert got == [250, 250, 450, 250, 450, 250], got


def test_rcpt_domain_limit_per_recipient(proxy, store):
    p, f = rl_proxy(proxy, store, **{"ratelimit.rcpt_domain": "2/1m"})
    with p.client() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@example.org>").code == 250
        got = [c.cmd("RCPT TO:<%s>" % r).code for r in
               ("u1@big.example", "u2@big.example", "u3@big.example",
                "u1@small.example")]
    assert got == [250, 250, 450, 250], got


def test_user_limit(auth_proxy, store):
    """Messages per authenticated user (AUTH relayed to the backend): the
    second from alice in a minute is refused, whatever her address; an
    unauthenticated client is not counted as a user."""
    p, f = auth_proxy(**dict(store, **{"filters.chain": "ratelimit",
                                       "ratelimit.user": "1/1m"}))
    got = []
    for sender in ("alice@example.org", "other@example.net"):
        with tls_session(p) as c:
            c.ehlo()
            assert c.cmd("AUTH PLAIN " + PLAIN).code == 235
            got.append(c.cmd("MAIL FROM:<%s>" % sender))
    assert got[0].code == 250, got[0]
    assert (got[1].code, got[1].enhanced) == (450, "4.7.1"), got[1]
    assert "Rate limit reached for user alice@example.org (1 per 60s)" in \
        got[1].text, got[1]
    with p.client() as c:
        c.ehlo()
        assert [mail(c).code for _ in range(2)] == [250, 250]


def test_close_limit_answers_421_and_closes(proxy, store):
    p, f = rl_proxy(proxy, store, **{"ratelimit.client": "1/1m:close"})
    with p.client() as c:
        c.ehlo()
        assert mail(c).code == 250
        r = c.cmd("MAIL FROM:<a@example.org>")
        assert (r.code, r.enhanced) == (421, "4.7.0"), r
        c.wait_closed(timeout=10)


def test_connection_rate(proxy, store):
    p, f = rl_proxy(proxy, store, **{"ratelimit.connections": "2/1m"})
    for _ in range(2):
        with p.client() as c:
            assert c.greeting.code == 220
    with p.client() as c:
        assert c.greeting.code == 421 and "connections" in c.greeting.text


def test_allow_list_is_not_counted(proxy, store):
    p, f = rl_proxy(proxy, store, **{"ratelimit.client": "1/1m",
                              "ratelimit.allow": "127.0.0.0/8"})
    with p.client() as c:
        c.ehlo()
        assert [mail(c).code for _ in range(5)] == [250] * 5


def test_client_network_from_the_proxy_header(proxy, store):
    p, f = rl_proxy(proxy, store, proxy_protocol="yes",
                    **{"ratelimit.client": "2/1m", "ratelimit.prefix4": "24"})
    got = []
    for src in ("192.0.2.1", "192.0.2.2", "192.0.2.3", "198.51.100.1"):
        c = pp_client(p.port, v1(src))
        c.ehlo()
        got.append(mail(c).code)
        c.close()
    # one /24 for the first three: its third message is refused
    assert got == [250, 250, 450, 250], got


def test_reload_keeps_the_counts(fakemta, postern, workdir, store):
    f = fakemta()
    conf = os.path.join(workdir, "rl.conf")
    with open(conf, "w") as fp:
        fp.write(conftest.store_section(store) + "[filters]\nchain = "
                 "ratelimit\n[ratelimit]\nclient = 2/1h\n")
    p = postern(f.port, config=conf)
    with p.client() as c:
        c.ehlo()
        assert [mail(c).code for _ in range(2)] == [250, 250]
    with open(conf, "a") as fp:
        fp.write("sender = 100/1h\n")
    p.signal(signal.SIGHUP)
    p.wait_log(r"configuration reloaded")
    with p.client() as c:
        c.ehlo()
        assert mail(c).code == 450


def test_exact_across_two_loops(proxy, store):
    """40 clients at once on two event loops, a limit of 20: exactly 20
    messages."""
    port = peers.free_port()
    p, f = rl_proxy(proxy, store, threads="2", **{
        "ratelimit.client": "20/1h",
        "metrics.listen": "%s:%d" % (peers.LOOP_HOST, port)})
    codes, lock = [], threading.Lock()
    start = threading.Barrier(40, timeout=30)

    def one():
        with p.client(timeout=30) as c:
            c.ehlo()
            start.wait()
            code = mail(c).code
        with lock:
            codes.append(code)

    ts = [threading.Thread(target=one) for _ in range(40)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert sorted(codes) == [250] * 20 + [450] * 20, codes
    s = parse(scrape(port)[2])
    assert min(value(s, "postern_loop_connections_total", loop=str(i))
               for i in range(2)) > 0
    assert value(s, "postern_ratelimit_checks_total", limit="client",
                 result="over") == 20

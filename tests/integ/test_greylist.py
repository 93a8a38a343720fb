# SPDX-License-Identifier: ISC
"""The greylist filter (RFC 6647, issue 18), every test on the in-process
store and on a real redis-server: a new
triplet 451 4.7.1, a retry before greylist.delay 451 with the wait, after
it accepted, then at once; decided per recipient; a network auto-allowed
after greylist.auto_allow passes; the allow list and SPF-pass senders
(through a real unbound) skipped; the state kept across a reload.
Clients are presented by PROXY headers, so each test picks its network."""
import os
import re
import signal
import time

import pytest

import conftest
from test_proxyproto import pp_client, v1


def gl_proxy(proxy, store, **opts):
    o = {"filters.chain": "greylist", "proxy_protocol": "yes",
         "greylist.delay": "4s", "max_connections_per_ip": "0"}
    o.update(store)
    o.update(opts)
    return proxy(**o)


def attempt(p, client, sender="a@example.org", rcpts=("b@example.com",)):
    """A new connection from client: MAIL, then each RCPT's reply."""
    c = pp_client(p.port, v1(client))
    try:
        c.ehlo()
        assert c.cmd("MAIL FROM:<%s>" % sender).code == 250
        return [c.cmd("RCPT TO:<%s>" % r) for r in rcpts]
    finally:
        c.close()


def test_first_attempt_early_retry_then_accepted(proxy, store):
    p, f = gl_proxy(proxy, store)
    (r,) = attempt(p, "192.0.2.1")
    assert (r.code, r.enhanced) == (451, "4.7.1"), r
    assert re.search(r"Greylisted: please try again in [1-4] seconds "
                     r"\(RFC 6647\)", r.text), r
    (r,) = attempt(p, "192.0.2.1")
    assert r.code == 451, "a retry before the delay: still greylisted"
    time.sleep(4.2)
    (r,) = attempt(p, "192.0.2.9")      # the same /24
    assert r.code == 250, r
    (r,) = attempt(p, "192.0.2.1")
    assert r.code == 250, "a triplet that passed passes at once"
    # per recipient: a new one in the same transaction is greylisted
    got = attempt(p, "192.0.2.1", rcpts=("b@example.com", "new@example.com"))
    assert [x.code for x in got] == [250, 451], got
    p.wait_log(r"filters=\"greylist=greylisted\"")


def test_network_auto_allowed_after_passes(proxy, store):
    p, f = gl_proxy(proxy, store, **{"greylist.auto_allow": "2"})
    for rcpt in ("r1@example.com", "r2@example.com"):
        assert attempt(p, "198.51.100.7", rcpts=(rcpt,))[0].code == 451
    time.sleep(4.2)
    for rcpt in ("r1@example.com", "r2@example.com"):
        assert attempt(p, "198.51.100.7", rcpts=(rcpt,))[0].code == 250
    # two passes: the network is allowed, a new triplet passes at once
    (r,) = attempt(p, "198.51.100.8", rcpts=("r3@example.com",))
    assert r.code == 250, r
    p.wait_log(r"greylist=auto-allowed")
    # another network is not
    assert attempt(p, "203.0.113.1")[0].code == 451


def test_allow_list_is_not_greylisted(proxy, store):
    p, f = gl_proxy(proxy, store, **{"greylist.allow": "192.0.2.0/24"})
    assert attempt(p, "192.0.2.50")[0].code == 250
    assert attempt(p, "198.51.100.50")[0].code == 451


SPF_ZONE = [
    'spfpass.example. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"',
]


@pytest.fixture(scope="module")
def gl_dns(workroot):
    yield from conftest.zone_dns(workroot, "greylist-dns-", SPF_ZONE,
                                 "slow.example.")


def test_spf_pass_skips_when_asked(proxy, store, gl_dns):
    p, f = gl_proxy(proxy, store, **{"filters.chain": "spf greylist",
                              "dns.nameserver": gl_dns.addr,
                              "greylist.skip_spf_pass": "yes"})
    (r,) = attempt(p, "192.0.2.1", sender="x@spfpass.example")
    assert r.code == 250, r
    # no SPF pass (none for this domain): greylisted
    (r,) = attempt(p, "192.0.2.1", sender="x@nospf.example")
    assert r.code == 451, r


def test_reload_keeps_the_triplets(fakemta, postern, workdir, store):
    f = fakemta()
    conf = os.path.join(workdir, "gl.conf")
    with open(conf, "w") as fp:
        fp.write(conftest.store_section(store) +
                 "[proxy]\nproxy_protocol = yes\n[filters]\nchain = "
                 "greylist\n[greylist]\ndelay = 4s\n")
    p = postern(f.port, config=conf)
    assert attempt(p, "192.0.2.1")[0].code == 451
    with open(conf, "a") as fp:
        fp.write("auto_allow = 3\n")
    p.signal(signal.SIGHUP)
    p.wait_log(r"configuration reloaded")
    time.sleep(4.2)
    assert attempt(p, "192.0.2.1")[0].code == 250, \
        "the first attempt, made before the reload, counts"

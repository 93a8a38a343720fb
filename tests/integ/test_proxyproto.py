# SPDX-License-Identifier: ISC
"""The PROXY protocol on postern's listeners (proxy.proxy_protocol): raw v1
and v2 headers from Python sockets, a real HAProxy (send-proxy and
send-proxy-v2) in front of postern, and a real Postfix behind it.  The
header's source must be the client for the filters (iplist denies
192.0.2.66), for XCLIENT to the backend and for the transaction log; a
malformed header, a header from a peer outside proxy_protocol_from and a
peer that sends nothing are closed without a reply."""
import os
import re
import socket
import struct
import subprocess
import time

import pytest

import peers
from peers import SmtpClient, make_message, wait_for

V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"
XCLIENT_EHLO = ["PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES",
                "XCLIENT ADDR NAME PORT HELO PROTO"]


def v1(src, sport=40000, dst=None, dport=2525, proto=None):
    proto = proto or ("TCP6" if ":" in src else "TCP4")
    dst = dst or ("::1" if proto == "TCP6" else "127.0.0.1")
    return ("PROXY %s %s %s %d %d\r\n" % (proto, src, dst, sport,
                                          dport)).encode()


def v2(src, sport=40000, dst=None, dport=2525, cmd=0x21, tlvs=b""):
    if ":" in src:
        fam, af = 0x21, socket.AF_INET6
        dst = dst or "::1"
    else:
        fam, af = 0x11, socket.AF_INET
        dst = dst or "127.0.0.1"
    body = (socket.inet_pton(af, src) + socket.inet_pton(af, dst) +
            struct.pack("!HH", sport, dport) + tlvs)
    return V2_SIG + bytes([cmd, fam]) + struct.pack("!H", len(body)) + body


def v2_local():
    return V2_SIG + b"\x20\x00\x00\x00"


# ALPN "smtp", AUTHORITY "mx.example", a NOOP: all skipped
TLVS = (b"\x01\x00\x04smtp" + b"\x02\x00\x0amx.example" + b"\x04\x00\x02xx")


def pp_client(port, header, source=None, rest=b"", timeout=15):
    """Connect, send the PROXY header (plus rest in the same write), read
    the greeting."""
    c = SmtpClient(port, source=source, timeout=timeout, read_greeting=False)
    c.send(header + rest)
    c.greeting = c.reply()
    return c


def closed_silently(port, data, source=None, timeout=10):
    """Send data; the connection must close with nothing said."""
    c = SmtpClient(port, source=source, timeout=timeout, read_greeting=False)
    try:
        if data:
            c.send(data)
        return c.wait_closed(timeout=timeout)
    finally:
        c.close()


def pp_proxy(proxy, mta_cfg=None, **opts):
    o = {"proxy_protocol": "yes"}
    o.update(opts)
    return proxy(mta_cfg, **o)


def deny_66(proxy, mta_cfg=None, deny="192.0.2.66, 2001:db8::66", **opts):
    opts.update({"filters.chain": "iplist", "iplist.deny": deny})
    return pp_proxy(proxy, mta_cfg, **opts)


def one_message(c, tag):
    assert c.greeting.code == 220, c.greeting
    assert c.ehlo().code == 250
    r = c.send_message("pp-%s@example.org" % tag, ["rcpt@example.com"],
                       make_message("pp " + tag, ["via PROXY " + tag]))
    assert r.code == 250, r
    assert c.cmd("QUIT").code == 221


def xclient_addrs(f):
    return [re.search(r"ADDR=(\S+)", line).group(1)
            for _, line in f.commands()
            if line.upper().startswith("XCLIENT ") and "ADDR=" in line]


# ------------------------------------------------------------ raw headers

@pytest.mark.parametrize("make", [v1, v2], ids=["v1", "v2"])
def test_header_source_is_the_client(proxy, make):
    p, f = pp_proxy(proxy, {"ehlo": XCLIENT_EHLO})
    with pp_client(p.port, make("192.0.2.7", 41000)) as c:
        one_message(c, make.__name__)
    f.wait_count(1)
    p.wait_log(r" tx client=192\.0\.2\.7 ")
    assert xclient_addrs(f) == ["192.0.2.7"], f.commands()
    assert re.search(r"XCLIENT .*PORT=41000", "\n".join(
        l for _, l in f.commands())), f.commands()


@pytest.mark.parametrize("header", [
    v1("192.0.2.66"),
    v2("192.0.2.66"),
    v2("192.0.2.66", tlvs=TLVS),
    v1("2001:db8::66"),
    v2("2001:db8::66", tlvs=TLVS),
    v1("::ffff:192.0.2.66", proto="TCP6"),
    v2("::ffff:192.0.2.66"),
], ids=["v1-tcp4", "v2-inet", "v2-inet-tlvs", "v1-tcp6", "v2-inet6-tlvs",
        "v1-mapped", "v2-mapped"])
def test_iplist_sees_the_header_source(proxy, header):
    p, f = deny_66(proxy)
    with pp_client(p.port, header) as c:
        g = c.greeting
        assert g.code == 554 and "5.7.1" in g.text, g
        assert "192.0.2.66" in g.text or "2001:db8::66" in g.text, g
        c.wait_closed(timeout=5)
    assert f.sessions() == 0, "a denied client must not reach the backend"
    # the same socket address with another source in the header is served
    with pp_client(p.port, v1("192.0.2.67")) as c:
        one_message(c, "not-denied")
    p.wait_log(r" tx client=192\.0\.2\.67 ")


def test_unknown_and_local_keep_the_socket_address(proxy):
    p, f = deny_66(proxy, {"ehlo": XCLIENT_EHLO})
    for i, header in enumerate([b"PROXY UNKNOWN\r\n",
                                b"PROXY UNKNOWN 192.0.2.66 ::1 1 2\r\n",
                                v2_local(), v2("192.0.2.66", cmd=0x20)]):
        with pp_client(p.port, header, source="127.0.0.5") as c:
            one_message(c, "local-%d" % i)
    f.wait_count(4)
    assert xclient_addrs(f) == ["127.0.0.5"] * 4, f.commands()
    assert "client=192.0.2.66" not in p.log()


def test_smtp_after_the_header_is_kept(proxy):
    """EHLO (even a whole transaction) in the same write as the header is
    the client's first input, answered after the greeting, in order: what
    an early talker gets without PROXY too."""
    content = make_message("pipelined", ["after the header"])
    pipelined = (b"EHLO early.example\r\nMAIL FROM:<a@example.org>\r\n"
                 b"RCPT TO:<b@example.com>\r\nDATA\r\n")
    for opts, header in (({"proxy_protocol": "yes"}, v1("192.0.2.8")),
                         ({"proxy_protocol": "yes"}, v2("192.0.2.8")),
                         ({}, b"")):
        p, f = proxy(**opts)
        c = SmtpClient(p.port, read_greeting=False)
        with c:
            c.send(header + pipelined)
            assert c.reply().code == 220
            assert [r.code for r in c.replies(4)] == [250, 250, 250, 354]
            c.send(peers.stuff(content) + b".\r\n")
            assert c.reply().code == 250
            assert c.cmd("QUIT").code == 221
        (m,) = f.wait_count(1)
        assert m.helo == "early.example" and m.content == content


@pytest.mark.parametrize("data, reason", [
    (b"EHLO client.example.org\r\n", "not a PROXY header"),
    (b"PROXY TCP4 300.1.1.1 127.0.0.1 1 2\r\n", "bad source address"),
    (b"PROXY TCP4 192.0.2.1 127.0.0.1 1 2\n", "control character"),
    (b"PROXY TCP4 192.0.2.1 127.0.0.1 1 65536\r\n", "bad destination port"),
    (b"PROXY UNKNOWN " + b"x" * 200, "v1 line too long"),
    (V2_SIG + b"\x31\x11\x00\x0c", "unsupported version"),
    (V2_SIG + b"\x21\x12\x00\x0c" + bytes(12), "transport is not TCP"),
    (v2("192.0.2.1", tlvs=b"\x01\x00\x09abc"), "TLV overruns"),
], ids=["smtp", "v1-address", "v1-bare-lf", "v1-port", "v1-long",
        "v2-version", "v2-udp", "v2-tlv"])
def test_malformed_header_is_closed(proxy, data, reason):
    p, f = pp_proxy(proxy)
    assert closed_silently(p.port, data) == b""
    p.wait_log(r"PROXY header from 127\.0\.0\.1 refused: .*%s"
               % re.escape(reason))
    assert f.sessions() == 0


def test_only_listed_peers_may_send_it(proxy):
    p, f = pp_proxy(proxy, proxy_protocol_from="127.0.0.5, 10.0.0.0/8")
    assert closed_silently(p.port, v1("192.0.2.9"), source="127.0.0.6") \
        == b""
    p.wait_log(r"connection from 127\.0\.0\.6 refused: not in "
               r"proxy\.proxy_protocol_from")
    assert f.sessions() == 0
    with pp_client(p.port, v1("192.0.2.9"), source="127.0.0.5") as c:
        one_message(c, "listed-peer")
    p.wait_log(r" tx client=192\.0\.2\.9 ")


def test_silent_and_trickling_peers_time_out(proxy):
    p, f = pp_proxy(proxy, proxy_protocol_timeout="1s")
    t0 = time.monotonic()
    assert closed_silently(p.port, b"", timeout=10) == b""
    assert time.monotonic() - t0 < 5
    p.wait_log(r"PROXY header from 127\.0\.0\.1 refused: timeout")
    # a byte every 0.3 s does not stretch the deadline
    c = SmtpClient(p.port, read_greeting=False)
    t0 = time.monotonic()
    with c:
        try:
            for b in b"PROXY TCP4 192.0.2.1 127.0.0.1 1 2":
                c.send(bytes([b]))
                time.sleep(0.3)
        except OSError:
            pass
        assert c.wait_closed(timeout=10) == b""
    assert time.monotonic() - t0 < 4, "trickling stretched the deadline"
    assert f.sessions() == 0


def test_bad_proxy_from_fails_the_start(postern_bin, workdir):
    r = subprocess.run([postern_bin, "-n", "-o",
                        "proxy.proxy_protocol_from=10.0.0.1, 10.0.0.300"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "proxy.proxy_protocol_from: '10.0.0.300'" in r.stderr, r.stderr


# --------------------------------------------------------------- HAProxy

class HAProxy:
    """haproxy -db with a generated config: one frontend per (name, mode)
    on a loopback port, each to postern with send-proxy or send-proxy-v2."""

    def __init__(self, workdir, backend_port, modes):
        self.dir = peers.mkdir_for(os.path.join(workdir, "haproxy"))
        self.ports = {}
        lines = ["global", "    maxconn 100", "",
                 "defaults", "    mode tcp", "    timeout connect 5s",
                 "    timeout client 30s", "    timeout server 30s", ""]
        for mode in modes:
            port = peers.free_port()
            self.ports[mode] = port
            lines += ["listen fe_%s" % mode.replace("-", "_"),
                      "    bind %s:%d" % (peers.LOOP_HOST, port),
                      "    server postern %s:%d %s" % (
                          peers.LOOP_HOST, backend_port, mode), ""]
        self.cfg = os.path.join(self.dir, "haproxy.cfg")
        with open(self.cfg, "w") as fp:
            fp.write("\n".join(lines))
        chk = subprocess.run(["haproxy", "-c", "-f", self.cfg],
                             capture_output=True, text=True, timeout=30)
        assert chk.returncode == 0, chk.stdout + chk.stderr
        self.proc = peers.Proc(["haproxy", "-db", "-f", self.cfg],
                               os.path.join(self.dir, "haproxy"))
        for port in self.ports.values():
            wait_for(lambda: peers.listening(port) or not self.proc.alive(),
                     10, what="haproxy to listen on %d" % port)
        assert self.proc.alive(), self.proc.stderr()

    def stop(self):
        self.proc.stop()


@pytest.fixture
def haproxy(procs, workdir):
    def make(backend_port, modes=("send-proxy", "send-proxy-v2")):
        return procs.add(HAProxy(workdir, backend_port, modes))
    return make


def test_haproxy_in_front(proxy, haproxy):
    p, f = deny_66(proxy, {"ehlo": XCLIENT_EHLO},
                   deny="127.0.0.66", proxy_protocol_from="127.0.0.1")
    h = haproxy(p.port)
    for i, (mode, port) in enumerate(sorted(h.ports.items())):
        with SmtpClient(port, source="127.0.0.66") as c:
            assert c.greeting.code == 554, (mode, c.greeting)
            assert "127.0.0.66" in c.greeting.text
        with SmtpClient(port, source="127.0.0.7") as c:
            one_message(c, mode)
        f.wait_count(i + 1)
    p.wait_log(r" tx client=127\.0\.0\.7 ")
    assert xclient_addrs(f) == ["127.0.0.7"] * 2, f.commands()
    # postern's own view of the socket is haproxy on 127.0.0.1
    assert "client=127.0.0.1 " not in p.log()


def test_haproxy_direct_client_is_refused(proxy, haproxy):
    """A client that reaches postern directly (around the balancer) sends
    no header: closed."""
    p, f = pp_proxy(proxy, proxy_protocol_from="127.0.0.1")
    h = haproxy(p.port, modes=("send-proxy-v2",))
    assert closed_silently(p.port, b"EHLO sneaky\r\n",
                           source="127.0.0.9") == b""
    with SmtpClient(h.ports["send-proxy-v2"], source="127.0.0.9") as c:
        one_message(c, "via-haproxy")
    f.wait_count(1)


# --------------------------------------------------------------- Postfix

def test_xclient_to_postfix_carries_the_header_source(postfix_backend,
                                                      postern):
    from test_postfix import find, first_received
    pf, snk = postfix_backend
    p = postern(pf.port, proxy_protocol="yes")
    tag = "pp%d" % os.getpid()
    with pp_client(p.port, v2("127.0.0.77", tlvs=TLVS)) as c:
        one_message(c, tag)
    (m,) = find(snk, ("pp " + tag).encode())
    assert "[127.0.0.77]" in first_received(m.content), m.content[:500]
    pf.wait_maillog(r"client=\S*\[127\.0\.0\.77\]")


def test_per_ip_limit_counts_the_client_not_the_balancer(proxy):
    """Behind a balancer every connection comes from its address: the
    limit is on the client address of the PROXY header."""
    p, f = pp_proxy(proxy, max_connections_per_ip="2")
    held = [pp_client(p.port, v2("192.0.2.1")) for _ in range(2)]
    try:
        assert [c.greeting.code for c in held] == [220, 220]
        over = pp_client(p.port, v2("192.0.2.1"))
        assert over.greeting.code == 421 and \
            "too many connections from your address" in str(over.greeting)
        over.wait_closed(timeout=10)
        over.close()
        other = [pp_client(p.port, v1("192.0.2.%d" % i)) for i in (2, 3)]
        assert [c.greeting.code for c in other] == [220, 220]
        for c in other:
            c.close()
    finally:
        for c in held:
            c.close()
    # the counts went back down: the client may connect again
    peers.wait_for(lambda: pp_client(p.port, v2("192.0.2.1")).greeting.code
                   == 220, 10, what="the count of 192.0.2.1 released")

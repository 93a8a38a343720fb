# SPDX-License-Identifier: ISC
"""spf_zone.py - the one SPF test zone of the integration tests.

ZONE describes every DNS name the SPF cases use; from it come both
  * unbound_local_data(): the local-data lines of the unbound peer that
    postern queries (peers.Unbound), and
  * install_pyspf(): pyspf's module DNS hook (LIBRARIES.md section 6), so
    pyspf, the independent oracle, evaluates exactly the same data.
CASES are the checks run against it: a client address, a HELO name and a
MAIL FROM address, with the results we expect for the HELO identity and the
MAIL FROM identity.  test_spf.py checks first that pyspf agrees with these
expectations (so the zone says what we think it says), then that postern
agrees with pyspf.

The clients: every case's client is a fixed documentation address (RFC
5737, RFC 3849), never an address of this host, so the cases mean the same
on every host.  test_spf.py presents it to postern with a PROXY protocol
header (proxy.proxy_protocol) on a connection that is itself loopback only
(127.0.0.1 / ::1): postern's client address, for SPF as for the log, is the
header's source.  (A client really on loopback is not SPF-checked by
postern, and libspf2 would pass it anyway: "localhost is always allowed".)
The records are written around H4/H6: "pass" records name them, "fail" ones
name OTHER4/OTHER6 instead.

All names are under spf.example (RFC 6761 reserves "example"; not "test":
libunbound, postern's resolver, answers names under test., invalid. and
onion. itself with NXDOMAIN and never asks the configured server).  The
unbound peer serves "." as a static local zone, so nothing here ever
reaches the Internet.
"""
import collections
import ipaddress

SUFFIX = "spf.example"
TTL = 300

# The client addresses (see above) and addresses that are not the client:
# H4 in TEST-NET-1, the networks that are not it in TEST-NET-3 and in
# another /48 of the IPv6 documentation prefix.
H4 = "192.0.2.25"
H6 = "2001:db8:25::25"
OTHER4 = "203.0.113.0/24"
OTHER6 = "2001:db8:ffff::/48"
H4_NET24 = str(ipaddress.ip_network(H4 + "/24", strict=False))
H6_NET64 = str(ipaddress.ip_network(H6 + "/64", strict=False))
# an address in H4's /24 that is not H4 (for a/24)
H4_NEIGHBOUR = str(ipaddress.ip_address(int(ipaddress.ip_address(H4)) ^ 1))
# a second IPv6 client: in v6.spf.example's 2001:db8:25::/48 but not in
# H6's /64, so only the record's second ip6: term lets it pass
DOC6 = "2001:db8:25:77::77"
# H4 as an IPv4-mapped IPv6 address (a PROXY TCP6 header may carry one)
H4_MAPPED = "::ffff:" + H4
# clients for the ptr mechanism: an address outside every special-use
# range, and a private one (RFC 1918)
PTR_PUBLIC = "100.1.0.9"
PTR_PRIVATE = "10.1.2.3"

assert ipaddress.ip_address(H4) not in ipaddress.ip_network(OTHER4)
assert ipaddress.ip_address(H6) not in ipaddress.ip_network(OTHER6)
assert ipaddress.ip_address(H4_NEIGHBOUR) != ipaddress.ip_address(H4)
assert ipaddress.ip_address(DOC6) not in ipaddress.ip_network(H6_NET64)
assert ipaddress.ip_address(DOC6) in ipaddress.ip_network("2001:db8:25::/48")


def _rev(ip):
    return ipaddress.ip_address(ip).reverse_pointer


def _n(label):
    return "%s.%s" % (label, SUFFIX) if label else SUFFIX


# name -> [(type, value)]: TXT value is a str or a tuple of str (the
# character-strings of one TXT record); A/AAAA a str; MX (pref, host).
ZONE = {
    # pass through ip4, a, mx, a/24
    _n("pass-ip4"): [("TXT", "v=spf1 ip4:%s -all" % H4_NET24)],
    _n("pass-a"): [("TXT", "v=spf1 a -all"), ("A", H4)],
    _n("pass-mx"): [("TXT", "v=spf1 mx -all"),
                    ("MX", (10, _n("mx.pass-mx")))],
    _n("mx.pass-mx"): [("A", H4)],
    _n("cidr"): [("TXT", "v=spf1 a/24 -all"), ("A", H4_NEIGHBOUR)],
    # fail, softfail, neutral
    _n("fail"): [("TXT", "v=spf1 ip4:%s -all" % OTHER4)],
    _n("softfail"): [("TXT", "v=spf1 ip4:%s ~all" % OTHER4)],
    _n("softfail-reject"): [("TXT", "v=spf1 ip4:%s ~all" % OTHER4)],
    _n("a.strict"): [("TXT", "v=spf1 ip4:%s ~all" % OTHER4)],
    _n("neutral"): [("TXT", "v=spf1 ip4:%s ?all" % OTHER4)],
    # none: no TXT at all, a TXT that is not SPF, no such name (nx.spf.example)
    _n("none"): [("A", "192.0.2.10")],
    _n("txt-only"): [("TXT", "google-site-verification=abc123"),
                     ("TXT", "v=spf10 -all")],
    # include: pass through it, no match through it, include of no record
    _n("include"): [("TXT", "v=spf1 include:inc.spf.example -all")],
    _n("inc"): [("TXT", "v=spf1 ip4:%s -all" % H4)],
    _n("include-miss"): [("TXT", "v=spf1 include:inc-other.spf.example -all")],
    _n("inc-other"): [("TXT", "v=spf1 ip4:%s -all" % OTHER4)],
    _n("include-none"): [("TXT", "v=spf1 include:nx-inc.spf.example -all")],
    # redirect
    _n("redirect"): [("TXT", "v=spf1 redirect=target.spf.example")],
    _n("target"): [("TXT", "v=spf1 ip4:%s -all" % H4)],
    _n("redirect-miss"): [("TXT", "v=spf1 redirect=target-other.spf.example")],
    _n("target-other"): [("TXT", "v=spf1 ip4:%s -all" % OTHER4)],
    # macros: %{i} and %{d} in exists:, %{l} (local part)
    _n("macro"): [("TXT", "v=spf1 exists:%{i}._spf.%{d} -all")],
    "%s._spf.%s" % (H4, _n("macro")): [("A", "127.0.0.2")],
    _n("macro-miss"): [("TXT", "v=spf1 exists:%{i}._spf.%{d} -all")],
    _n("lmacro"): [("TXT", "v=spf1 exists:%{l}.users.%{d} -all")],
    "bob.users." + _n("lmacro"): [("A", "127.0.0.2")],
    # exp=: the explanation of a fail, with macros
    _n("exp"): [("TXT", "v=spf1 ip4:%s -all exp=why.exp.spf.example" % OTHER4)],
    _n("why.exp"): [("TXT", "%{i} is not a sender of %{d}, "
                            "see https://exp.spf.example/why")],
    # a record in two character-strings (joined with nothing between)
    _n("split"): [("TXT", ("v=spf1 ip4:%s" % H4, " -all"))],
    _n("split-miss"): [("TXT", ("v=spf1 ip4:%s" % OTHER4, " -all"))],
    # permerror: void lookups over the limit of 2 (RFC 7208 4.6.4); the
    # ip4 term after them would pass if the limit were not enforced
    _n("void"): [("TXT", "v=spf1 a:nx1.void.spf.example a:nx2.void.spf.example "
                         "a:nx3.void.spf.example ip4:%s -all" % H4)],
    # permerror: 11 DNS-querying terms (limit 10), a pass after them
    _n("toomany"): [("TXT", "v=spf1 " + " ".join(
        "a:h%d.toomany.spf.example" % i for i in range(1, 12)) +
        " ip4:%s -all" % H4)],
    # permerror: unknown mechanism
    _n("syntax"): [("TXT", "v=spf1 ip4:%s ipv4:%s -all" % (H4, H4))],
    # permerror: two SPF records
    _n("two"): [("TXT", "v=spf1 ip4:%s -all" % H4),
                ("TXT", "v=spf1 -all")],
    # HELO identities
    _n("helo-fail"): [("TXT", "v=spf1 -all")],
    _n("helo-pass"): [("TXT", "v=spf1 ip4:%s ip6:%s -all" % (H4, H6))],
    _n("null"): [("TXT", "v=spf1 ip4:%s -all" % H4)],
    _n("null-miss"): [("TXT", "v=spf1 ip4:%s -all" % OTHER4)],
    # ptr: the client's name (PTR, then A back to the client) under the
    # domain; for H4, a public address and a private one
    _n("ptr"): [("TXT", "v=spf1 ptr -all")],
    _rev(H4): [("PTR", _n("h4.ptr"))],
    _n("h4.ptr"): [("A", H4)],
    _rev(PTR_PUBLIC): [("PTR", _n("public.ptr"))],
    _n("public.ptr"): [("A", PTR_PUBLIC)],
    _rev(PTR_PRIVATE): [("PTR", _n("private.ptr"))],
    _n("private.ptr"): [("A", PTR_PRIVATE)],
    # IPv6
    _n("v6"): [("TXT", "v=spf1 ip6:%s ip6:2001:db8:25::/48 -all"
                       % H6_NET64)],
    _n("v6-miss"): [("TXT", "v=spf1 ip6:%s -all" % OTHER6)],
    # for the benchmark: any number of sender domains dN.bench.spf.example
    # (a wildcard, served by unbound and by the pyspf hook alike)
    "*.bench." + SUFFIX: [("TXT", "v=spf1 ip4:%s -all" % H4)],
}
for _i in range(1, 12):
    ZONE["h%d.toomany.%s" % (_i, SUFFIX)] = [("A", "192.0.2.%d" % (100 + _i))]


Case = collections.namedtuple(
    "Case", "id client helo sender helo_result result note")

DEFAULT_HELO = _n("client")     # no such name: HELO identity "none"

# result: the MAIL FROM identity's result; helo_result: the HELO's.
CASES = [
    Case("pass-ip4", H4, DEFAULT_HELO, "alice@pass-ip4.spf.example",
         "none", "pass", "ip4 network"),
    Case("pass-a", H4, DEFAULT_HELO, "alice@pass-a.spf.example",
         "none", "pass", "a"),
    Case("pass-mx", H4, DEFAULT_HELO, "alice@pass-mx.spf.example",
         "none", "pass", "mx"),
    Case("pass-cidr", H4, DEFAULT_HELO, "alice@cidr.spf.example",
         "none", "pass", "a/24"),
    Case("fail", H4, DEFAULT_HELO, "mallory@fail.spf.example",
         "none", "fail", "another ip4 network, -all"),
    Case("softfail", H4, DEFAULT_HELO, "s@softfail.spf.example",
         "none", "softfail", "~all, accepted by default"),
    Case("softfail-reject", H4, DEFAULT_HELO,
         "s@softfail-reject.spf.example", "none", "softfail",
         "~all, domain in spf.reject_softfail"),
    Case("softfail-reject-sub", H4, DEFAULT_HELO,
         "s@a.strict.spf.example", "none", "softfail",
         "~all, under a .domain in spf.reject_softfail"),
    Case("neutral", H4, DEFAULT_HELO, "n@neutral.spf.example",
         "none", "neutral", "?all"),
    Case("none-no-txt", H4, DEFAULT_HELO, "x@none.spf.example",
         "none", "none", "name without TXT"),
    Case("none-not-spf", H4, DEFAULT_HELO, "x@txt-only.spf.example",
         "none", "none", "TXT records that are not SPF"),
    Case("none-nxdomain", H4, DEFAULT_HELO, "x@nx.spf.example",
         "none", "none", "no such domain"),
    Case("include-pass", H4, DEFAULT_HELO, "i@include.spf.example",
         "none", "pass", "pass through include"),
    Case("include-fail", H4, DEFAULT_HELO, "i@include-miss.spf.example",
         "none", "fail", "include does not match, then -all"),
    Case("include-none", H4, DEFAULT_HELO,
         "i@include-none.spf.example", "none", "permerror",
         "include of a domain without a record"),
    Case("redirect-pass", H4, DEFAULT_HELO, "r@redirect.spf.example",
         "none", "pass", "redirect="),
    Case("redirect-fail", H4, DEFAULT_HELO, "r@redirect-miss.spf.example",
         "none", "fail", "redirect= to another network, -all"),
    Case("macro-pass", H4, DEFAULT_HELO, "m@macro.spf.example",
         "none", "pass", "exists:%{i}._spf.%{d}"),
    Case("macro-fail", H4, DEFAULT_HELO, "m@macro-miss.spf.example",
         "none", "fail", "exists:%{i}._spf.%{d} finds nothing"),
    Case("lmacro-pass", H4, DEFAULT_HELO, "bob@lmacro.spf.example",
         "none", "pass", "exists:%{l}.users.%{d}"),
    Case("lmacro-fail", H4, DEFAULT_HELO, "eve@lmacro.spf.example",
         "none", "fail", "exists:%{l}.users.%{d} finds nothing"),
    Case("exp", H4, DEFAULT_HELO, "e@exp.spf.example",
         "none", "fail", "exp= explanation in the reply"),
    Case("split-pass", H4, DEFAULT_HELO, "s@split.spf.example",
         "none", "pass", "record in two character-strings"),
    Case("split-fail", H4, DEFAULT_HELO, "s@split-miss.spf.example",
         "none", "fail", "record in two character-strings"),
    Case("void-limit", H4, DEFAULT_HELO, "v@void.spf.example",
         "none", "permerror", "3 void lookups (limit 2)"),
    Case("too-many-terms", H4, DEFAULT_HELO, "t@toomany.spf.example",
         "none", "permerror", "11 DNS-querying terms (limit 10)"),
    Case("syntax", H4, DEFAULT_HELO, "x@syntax.spf.example",
         "none", "permerror", "unknown mechanism"),
    Case("two-records", H4, DEFAULT_HELO, "x@two.spf.example",
         "none", "permerror", "two v=spf1 records"),
    Case("helo-fail", H4, "helo-fail.spf.example",
         "alice@pass-ip4.spf.example", "fail", "pass",
         "HELO identity fails: rejected although MAIL FROM passes"),
    Case("helo-pass", H4, "helo-pass.spf.example",
         "n@neutral.spf.example", "pass", "neutral",
         "HELO identity passes, MAIL FROM neutral"),
    Case("null-sender-pass", H4, "null.spf.example", "",
         "pass", "pass", "<>: postmaster@HELO"),
    Case("null-sender-fail", H4, "null-miss.spf.example", "",
         "fail", "fail", "<>: postmaster@HELO"),
    Case("ptr", H4, DEFAULT_HELO, "p@ptr.spf.example", "none", "pass",
         "ptr: the client's name is under the domain"),
    Case("ptr-public", PTR_PUBLIC, DEFAULT_HELO, "p@ptr.spf.example",
         "none", "pass", "ptr for a public address"),
    Case("ptr-private", PTR_PRIVATE, DEFAULT_HELO, "p@ptr.spf.example",
         "none", "pass", "ptr for an RFC 1918 address"),
    Case("ipv6-pass", H6, DEFAULT_HELO, "six@v6.spf.example",
         "none", "pass", "ip6 network"),
    Case("ipv6-helo-pass", H6, "helo-pass.spf.example", "six@v6.spf.example",
         "pass", "pass", "ip6 in the HELO record"),
    Case("ipv6-fail", H6, DEFAULT_HELO, "six@v6-miss.spf.example",
         "none", "fail", "another ip6 network"),
    Case("ipv6-doc", DOC6, DEFAULT_HELO, "six@v6.spf.example",
         "none", "pass", "a second ip6 network"),
    Case("ipv4-mapped", H4_MAPPED, DEFAULT_HELO,
         "alice@pass-ip4.spf.example", "none", "pass",
         "an IPv4-mapped IPv6 client is checked as IPv4"),
    Case("ipv4-mapped-macro", H4_MAPPED, DEFAULT_HELO,
         "m@macro.spf.example", "none", "pass",
         "%{i} of an IPv4-mapped client is its dotted IPv4 form"),
    Case("ipv4-vs-ip6-only", H4, DEFAULT_HELO, "six@v6.spf.example",
         "none", "fail", "an IPv4 client against ip6: terms only"),
    Case("bench-wildcard", H4, DEFAULT_HELO,
         "b@d17.bench.spf.example", "none", "pass", "wildcard"),
]
CASE_BY_ID = {c.id: c for c in CASES}
assert len(CASE_BY_ID) == len(CASES), "duplicate case id"

# postern's spf.reject_softfail for these cases
REJECT_SOFTFAIL = "softfail-reject.spf.example, .strict.spf.example"


def mailfrom_identity(case):
    """The MAIL FROM identity checked (RFC 7208 2.4)."""
    return case.sender or "postmaster@" + case.helo


# ---------------------------------------------------------------- unbound

def _txt_strings(value):
    strings = (value,) if isinstance(value, str) else tuple(value)
    out = []
    for s in strings:
        b = s.encode()
        # one character-string holds at most 255 bytes
        for i in range(0, max(len(b), 1), 255):
            out.append(b[i:i + 255].decode())
    return out


def _quote(s):
    return '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"')


def unbound_local_data(zone=None):
    """ZONE as unbound local-data RR strings."""
    out = []
    for name, rrs in sorted((zone or ZONE).items()):
        for typ, value in rrs:
            if typ == "TXT":
                rdata = " ".join(_quote(s) for s in _txt_strings(value))
            elif typ == "MX":
                rdata = "%d %s." % (value[0], value[1])
            elif typ == "PTR":
                rdata = value + "."
            else:
                rdata = value
            out.append("%s. %d IN %s %s" % (name, TTL, typ, rdata))
    return out


def unbound_local_zones():
    """The whole name space as one static local zone: a name not in ZONE is
    NXDOMAIN, and unbound never recurses.  The wildcard name needs its own
    'redirect' zone (unbound local-data has no wildcards)."""
    return ((".", "static"), ("bench." + SUFFIX, "redirect"))


def unbound_local_data_for_server(zone=None):
    """local-data for unbound: the wildcard entry becomes the apex of its
    redirect zone (which then answers for every name below it)."""
    z = dict(zone or ZONE)
    for name in [n for n in z if n.startswith("*.")]:
        z[name[2:]] = z.pop(name)
    return unbound_local_data(z)


# ------------------------------------------------------------------ pyspf

def lookup(name, qtype, zone=None):
    """[(type, value)] for name and qtype from ZONE, with wildcards."""
    zone = zone or ZONE
    name = name.lower().rstrip(".")
    rrs = zone.get(name)
    if rrs is None:
        parts = name.split(".")
        for i in range(1, len(parts)):
            w = "*." + ".".join(parts[i:])
            if w in zone:
                rrs = zone[w]
                break
    return [(t, v) for t, v in (rrs or []) if t == qtype]


def install_pyspf(zone=None):
    """Point pyspf's DNS at ZONE (its module-global hook)."""
    import spf

    def DNSLookup(name, qtype, strict=True, timeout=None, level=0):
        for t, v in lookup(name, qtype, zone):
            if t == "TXT":
                v = tuple(s.encode() for s in _txt_strings(v))
            elif t == "MX":
                v = (v[0], v[1])
            yield ((name, t), v)
    spf.DNSLookup = DNSLookup
    return spf


def pyspf_check(client, helo, sender):
    """(mailfrom result, explanation, helo result) from pyspf."""
    spf = install_pyspf()
    mf = sender or "postmaster@" + helo
    res, expl = spf.check2(i=client, s=mf, h=helo)
    hres, _ = spf.check2(i=client, s="postmaster@" + helo, h=helo)
    return res, expl, hres


def pyspf_received_spf(client, helo, sender, receiver):
    """pyspf's own Received-SPF value for the MAIL FROM identity (for the
    null sender pyspf reports identity=helo and no envelope-from)."""
    spf = install_pyspf()
    q = spf.query(i=client, s=sender, h=helo, receiver=receiver)
    res, _, _ = q.check()
    return q.get_header(res, receiver)

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

Clients are loopback addresses (127.0.0.0/8: a test client can bind any of
them as its source), so every IPv4 case can run through the real proxy;
IPv6 cases use ::1 through the proxy and other addresses through
'postern test --client'.

All names are under spf.test (RFC 6761 reserved); unbound serves "." as a
static local zone, so nothing here ever reaches the Internet.
"""
import collections

SUFFIX = "spf.test"
TTL = 300


def _n(label):
    return "%s.%s" % (label, SUFFIX) if label else SUFFIX


# name -> [(type, value)]: TXT value is a str or a tuple of str (the
# character-strings of one TXT record); A/AAAA a str; MX (pref, host).
ZONE = {
    # pass through ip4, a, mx, a/24
    _n("pass-ip4"): [("TXT", "v=spf1 ip4:127.0.0.0/24 -all")],
    _n("pass-a"): [("TXT", "v=spf1 a -all"), ("A", "127.0.0.2")],
    _n("pass-mx"): [("TXT", "v=spf1 mx -all"),
                    ("MX", (10, _n("mx.pass-mx")))],
    _n("mx.pass-mx"): [("A", "127.0.0.3")],
    _n("cidr"): [("TXT", "v=spf1 a/24 -all"), ("A", "127.0.9.1")],
    # fail, softfail, neutral
    _n("fail"): [("TXT", "v=spf1 ip4:192.0.2.0/24 -all")],
    _n("softfail"): [("TXT", "v=spf1 ip4:192.0.2.0/24 ~all")],
    _n("softfail-reject"): [("TXT", "v=spf1 ip4:192.0.2.0/24 ~all")],
    _n("a.strict"): [("TXT", "v=spf1 ip4:192.0.2.0/24 ~all")],
    _n("neutral"): [("TXT", "v=spf1 ip4:192.0.2.0/24 ?all")],
    # none: no TXT at all, a TXT that is not SPF, no such name (nx.spf.test)
    _n("none"): [("A", "192.0.2.10")],
    _n("txt-only"): [("TXT", "google-site-verification=abc123"),
                     ("TXT", "v=spf10 -all")],
    # include: pass through it, fail through it, include of no record
    _n("include"): [("TXT", "v=spf1 include:inc.spf.test -all")],
    _n("inc"): [("TXT", "v=spf1 ip4:127.0.0.4 -all")],
    _n("include-none"): [("TXT", "v=spf1 include:nx-inc.spf.test -all")],
    # redirect
    _n("redirect"): [("TXT", "v=spf1 redirect=target.spf.test")],
    _n("target"): [("TXT", "v=spf1 ip4:127.0.0.5 -all")],
    # macros: %{i} and %{d} in exists:, %{l} (local part)
    _n("macro"): [("TXT", "v=spf1 exists:%{i}._spf.%{d} -all")],
    "127.0.0.6._spf." + _n("macro"): [("A", "127.0.0.2")],
    _n("lmacro"): [("TXT", "v=spf1 exists:%{l}.users.%{d} -all")],
    "bob.users." + _n("lmacro"): [("A", "127.0.0.2")],
    # exp=: the explanation of a fail, with macros
    _n("exp"): [("TXT", "v=spf1 ip4:192.0.2.1 -all exp=why.exp.spf.test")],
    _n("why.exp"): [("TXT", "%{i} is not a sender of %{d}, see https://exp.spf.test/why")],
    # a record in two character-strings (joined with nothing between)
    _n("split"): [("TXT", ("v=spf1 ip4:127.0.0.8", " -all"))],
    # permerror: void lookups over the limit of 2 (RFC 7208 4.6.4); the
    # ip4 term after them would pass if the limit were not enforced
    _n("void"): [("TXT", "v=spf1 a:nx1.void.spf.test a:nx2.void.spf.test "
                         "a:nx3.void.spf.test ip4:127.0.0.1 -all")],
    # permerror: 11 DNS-querying terms (limit 10), a pass after them
    _n("toomany"): [("TXT", "v=spf1 " + " ".join(
        "a:h%d.toomany.spf.test" % i for i in range(1, 12)) +
        " ip4:127.0.0.1 -all")],
    # permerror: unknown mechanism
    _n("syntax"): [("TXT", "v=spf1 ip4:127.0.0.1 ipv4:127.0.0.1 -all")],
    # permerror: two SPF records
    _n("two"): [("TXT", "v=spf1 ip4:127.0.0.1 -all"),
                ("TXT", "v=spf1 -all")],
    # HELO identities
    _n("helo-fail"): [("TXT", "v=spf1 -all")],
    _n("helo-pass"): [("TXT", "v=spf1 ip4:127.0.0.0/8 -all")],
    _n("null"): [("TXT", "v=spf1 ip4:127.0.0.7 -all")],
    # IPv6
    _n("v6"): [("TXT", "v=spf1 ip6:2001:db8::/32 ip6:::1 -all")],
    # for the benchmark: any number of sender domains dN.bench.spf.test
    # (a wildcard, served by unbound and by the pyspf hook alike)
    "*.bench." + SUFFIX: [("TXT", "v=spf1 ip4:127.0.0.0/8 -all")],
}
for _i in range(1, 12):
    ZONE["h%d.toomany.%s" % (_i, SUFFIX)] = [("A", "192.0.2.%d" % (100 + _i))]


Case = collections.namedtuple(
    "Case", "id client helo sender helo_result result note")

DEFAULT_HELO = _n("client")     # no such name: HELO identity "none"

# result: the MAIL FROM identity's result; helo_result: the HELO's.
CASES = [
    Case("pass-ip4", "127.0.0.1", DEFAULT_HELO, "alice@pass-ip4.spf.test",
         "none", "pass", "ip4 network"),
    Case("fail-ip4", "127.0.1.1", DEFAULT_HELO, "alice@pass-ip4.spf.test",
         "none", "fail", "outside the ip4 network"),
    Case("pass-a", "127.0.0.2", DEFAULT_HELO, "alice@pass-a.spf.test",
         "none", "pass", "a"),
    Case("pass-mx", "127.0.0.3", DEFAULT_HELO, "alice@pass-mx.spf.test",
         "none", "pass", "mx"),
    Case("pass-cidr", "127.0.9.77", DEFAULT_HELO, "alice@cidr.spf.test",
         "none", "pass", "a/24"),
    Case("fail", "127.0.0.1", DEFAULT_HELO, "mallory@fail.spf.test",
         "none", "fail", "-all"),
    Case("softfail", "127.0.0.1", DEFAULT_HELO, "s@softfail.spf.test",
         "none", "softfail", "~all, accepted by default"),
    Case("softfail-reject", "127.0.0.1", DEFAULT_HELO,
         "s@softfail-reject.spf.test", "none", "softfail",
         "~all, domain in spf.reject_softfail"),
    Case("softfail-reject-sub", "127.0.0.1", DEFAULT_HELO,
         "s@a.strict.spf.test", "none", "softfail",
         "~all, under a .domain in spf.reject_softfail"),
    Case("neutral", "127.0.0.1", DEFAULT_HELO, "n@neutral.spf.test",
         "none", "neutral", "?all"),
    Case("none-no-txt", "127.0.0.1", DEFAULT_HELO, "x@none.spf.test",
         "none", "none", "name without TXT"),
    Case("none-not-spf", "127.0.0.1", DEFAULT_HELO, "x@txt-only.spf.test",
         "none", "none", "TXT records that are not SPF"),
    Case("none-nxdomain", "127.0.0.1", DEFAULT_HELO, "x@nx.spf.test",
         "none", "none", "no such domain"),
    Case("include-pass", "127.0.0.4", DEFAULT_HELO, "i@include.spf.test",
         "none", "pass", "pass through include"),
    Case("include-fail", "127.0.0.1", DEFAULT_HELO, "i@include.spf.test",
         "none", "fail", "include does not match, then -all"),
    Case("include-none", "127.0.0.1", DEFAULT_HELO,
         "i@include-none.spf.test", "none", "permerror",
         "include of a domain without a record"),
    Case("redirect-pass", "127.0.0.5", DEFAULT_HELO, "r@redirect.spf.test",
         "none", "pass", "redirect="),
    Case("redirect-fail", "127.0.0.1", DEFAULT_HELO, "r@redirect.spf.test",
         "none", "fail", "redirect= to -all"),
    Case("macro-pass", "127.0.0.6", DEFAULT_HELO, "m@macro.spf.test",
         "none", "pass", "exists:%{i}._spf.%{d}"),
    Case("macro-fail", "127.0.0.1", DEFAULT_HELO, "m@macro.spf.test",
         "none", "fail", "exists:%{i}._spf.%{d} finds nothing"),
    Case("lmacro-pass", "127.0.0.1", DEFAULT_HELO, "bob@lmacro.spf.test",
         "none", "pass", "exists:%{l}.users.%{d}"),
    Case("lmacro-fail", "127.0.0.1", DEFAULT_HELO, "eve@lmacro.spf.test",
         "none", "fail", "exists:%{l}.users.%{d} finds nothing"),
    Case("exp", "127.0.0.1", DEFAULT_HELO, "e@exp.spf.test",
         "none", "fail", "exp= explanation in the reply"),
    Case("split-pass", "127.0.0.8", DEFAULT_HELO, "s@split.spf.test",
         "none", "pass", "record in two character-strings"),
    Case("split-fail", "127.0.0.1", DEFAULT_HELO, "s@split.spf.test",
         "none", "fail", "record in two character-strings"),
    Case("void-limit", "127.0.0.1", DEFAULT_HELO, "v@void.spf.test",
         "none", "permerror", "3 void lookups (limit 2)"),
    Case("too-many-terms", "127.0.0.1", DEFAULT_HELO, "t@toomany.spf.test",
         "none", "permerror", "11 DNS-querying terms (limit 10)"),
    Case("syntax", "127.0.0.1", DEFAULT_HELO, "x@syntax.spf.test",
         "none", "permerror", "unknown mechanism"),
    Case("two-records", "127.0.0.1", DEFAULT_HELO, "x@two.spf.test",
         "none", "permerror", "two v=spf1 records"),
    Case("helo-fail", "127.0.0.1", "helo-fail.spf.test",
         "alice@pass-ip4.spf.test", "fail", "pass",
         "HELO identity fails: rejected although MAIL FROM passes"),
    Case("helo-pass", "127.0.0.1", "helo-pass.spf.test",
         "n@neutral.spf.test", "pass", "neutral",
         "HELO identity passes, MAIL FROM neutral"),
    Case("null-sender-pass", "127.0.0.7", "null.spf.test", "",
         "pass", "pass", "<>: postmaster@HELO"),
    Case("null-sender-fail", "127.0.0.1", "null.spf.test", "",
         "fail", "fail", "<>: postmaster@HELO"),
    Case("ipv6-loopback", "::1", DEFAULT_HELO, "six@v6.spf.test",
         "none", "pass", "ip6:::1"),
    Case("ipv6-pass", "2001:db8::25", DEFAULT_HELO, "six@v6.spf.test",
         "none", "pass", "ip6 network (postern test only)"),
    Case("ipv6-fail", "2001:db9::1", DEFAULT_HELO, "six@v6.spf.test",
         "none", "fail", "outside the ip6 network (postern test only)"),
    Case("ipv4-vs-ip6-only", "127.0.0.1", DEFAULT_HELO, "six@v6.spf.test",
         "none", "fail", "an IPv4 client against ip6: terms only"),
    Case("bench-wildcard", "127.0.0.1", DEFAULT_HELO,
         "b@d17.bench.spf.test", "none", "pass", "wildcard"),
]
CASE_BY_ID = {c.id: c for c in CASES}
assert len(CASE_BY_ID) == len(CASES), "duplicate case id"

# postern's spf.reject_softfail for these cases
REJECT_SOFTFAIL = "softfail-reject.spf.test, .strict.spf.test"


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

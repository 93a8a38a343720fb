# SPDX-License-Identifier: ISC
"""Fixtures for postern's integration tests.

Peers (see peers.py) are real processes on loopback addresses, created by
factory fixtures; every one is stopped by PID at teardown, in reverse order.

  sink(*args)           smtp-sink with a per-message dump directory
  fakemta(**cfg)        scripted backend recording every byte (fakemta.py)
  redis(password=None)  redis-server on a loopback port and a unix socket
  store                 (parametrized) postern options for ratelimit's and
                        greylist's store: in-process, then a Redis
  postern(port, ...)    $POSTERN in front of the backend on port (nofile=N:
                        started with that descriptor limit)
  postfix_backend       (module) a private Postfix relaying to an smtp-sink
"""
import os
import re
import shutil
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import peers  # noqa: E402


@pytest.fixture(scope="session")
def postern_bin():
    path = os.environ.get("POSTERN") or os.path.join(
        os.path.dirname(__file__), "..", "..", "build", "postern")
    path = os.path.abspath(path)
    assert os.access(path, os.X_OK), (
        "postern binary %s not found: build it with make, or set POSTERN"
        % path)
    return path


@pytest.fixture(scope="session")
def workroot():
    # Under /tmp with 0755 so smtp-sink (as nobody) and Postfix can reach it.
    d = tempfile.mkdtemp(prefix="postern-integ-", dir="/tmp")
    os.chmod(d, 0o755)
    yield d
    if not os.environ.get("POSTERN_KEEP"):
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def workdir(workroot, request):
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)[:80]
    d = tempfile.mkdtemp(prefix=name + "-", dir=workroot)
    os.chmod(d, 0o755)
    return d


class Registry:
    def __init__(self):
        self.items = []

    def add(self, item):
        self.items.append(item)
        return item

    def stop_all(self):
        errors = []
        for item in reversed(self.items):
            try:
                item.stop()
            except Exception as e:  # keep stopping the rest
                errors.append(repr(e))
        self.items = []
        return errors


@pytest.fixture
def procs():
    reg = Registry()
    yield reg
    reg.stop_all()


@pytest.fixture
def sink(procs, workdir):
    def make(*args, **kw):
        return procs.add(peers.SmtpSink(workdir, args=args, **kw))
    return make


@pytest.fixture
def redis(procs, workdir):
    def make(**kw):
        return procs.add(peers.Redis(workdir, **kw))
    return make


@pytest.fixture(params=["memory", "redis"])
def store(request, redis):
    """postern options for each store in turn: the in-process one and a
    redis-server of the test's own."""
    if request.param == "memory":
        return {}
    return {"redis.server": redis().addr}


def store_section(store):
    """The store fixture's options as a configuration file's section."""
    return "".join("[redis]\nserver = %s\n" % v for k, v in store.items()
                   if k == "redis.server")


@pytest.fixture
def fakemta(procs, workdir):
    def make(**cfg):
        return procs.add(peers.FakeMta(workdir, **cfg))
    return make


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


SANITIZER_REPORT = re.compile(r"ERROR: (Address|Leak)Sanitizer|"
                              r"runtime error: |"
                              r"WARNING: ThreadSanitizer")


@pytest.fixture
def postern(procs, workdir, postern_bin, request):
    made = []

    def make(backend_port, config=None, wait=True, args=(), nofile=None,
             **opts):
        p = procs.add(peers.Postern(postern_bin, workdir, backend_port,
                                    opts=opts, config=config, wait=wait,
                                    args=args, nofile=nofile))
        made.append(p)
        return p
    yield make
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        # shown under "Captured stdout teardown": what postern said
        for p in made:
            print("---- postern log (%s)\n%s" % (" ".join(p.argv),
                                                  p.log()[-6000:]))
    # On the sanitizer build a report (memory error, leak at exit,
    # undefined behaviour) fails the test that ran that postern.
    for p in made:
        p.proc.stop()
        m = SANITIZER_REPORT.search(p.log())
        assert m is None, "postern sanitizer report:\n%s" % \
            p.log()[max(0, m.start() - 200):m.start() + 4000]


def _postfix(workroot, main=None):
    reg = Registry()
    d = tempfile.mkdtemp(prefix="postfix-", dir=workroot)
    os.chmod(d, 0o755)
    conf = {
        "smtpd_recipient_restrictions":
            "check_recipient_access inline:{ { nouser@example.com = "
            "550 5.1.1 no such user here } }, permit_mynetworks, "
            "reject_unauth_destination",
    }
    conf.update(main or {})
    try:
        snk = reg.add(peers.SmtpSink(d, name="relaysink"))
        pf = reg.add(peers.Postfix(d, snk.port, main=conf))
        yield pf, snk
    finally:
        reg.stop_all()


@pytest.fixture(scope="module")
def postfix_backend(workroot):
    """(postfix, sink): Postfix on a loopback port relaying to smtp-sink."""
    yield from _postfix(workroot)


@pytest.fixture(scope="module")
def postfix_data_backend(workroot):
    """The same, but Postfix hides CHUNKING: postern must use DATA."""
    yield from _postfix(workroot, {"smtpd_discard_ehlo_keywords": "chunking"})


@pytest.fixture
def proxy(fakemta, postern):
    """proxy(mta_cfg={...}, args=(...), **postern_opts) -> (postern,
    fakemta); args go on postern's command line (-T smtp)."""
    def make(mta_cfg=None, args=(), **opts):
        f = fakemta(**(mta_cfg or {}))
        p = postern(f.port, args=args, **opts)
        return p, f
    return make


# ------------------------------------------------------------------- DNS
#
#   unbound(local_data, ...)  unbound on a loopback port serving local-data
#   blackhole_dns()           a DNS server that never answers
#   spf_dns                   (module) unbound serving spf_zone.ZONE

@pytest.fixture
def unbound(procs, workdir):
    def make(local_data, **kw):
        return procs.add(peers.Unbound(workdir, local_data, **kw))
    return make


def zone_dns(workroot, prefix, zone, slow, probe=None):
    """For a module-scope fixture (yield from it): an unbound serving zone
    (local-data lines), where names under slow go to a server that never
    answers (a lookup that times out); every process stopped by PID
    after the module."""
    reg = Registry()
    d = tempfile.mkdtemp(prefix=prefix, dir=workroot)
    os.chmod(d, 0o755)
    try:
        hole = reg.add(peers.BlackHoleDns(d))
        yield reg.add(peers.Unbound(
            d, zone, local_zones=((".", "static"), (slow, "transparent")),
            probe=probe, extra="forward-zone:\n    name: \"%s\"\n"
            "    forward-addr: %s\n" % (slow, hole.addr)))
    finally:
        reg.stop_all()


@pytest.fixture
def blackhole_dns(procs, workdir):
    def make(**kw):
        return procs.add(peers.BlackHoleDns(workdir, **kw))
    return make


@pytest.fixture(scope="module")
def spf_dns(workroot):
    """peers.Unbound serving the SPF test zone (spf_zone.py)."""
    import spf_zone
    reg = Registry()
    d = tempfile.mkdtemp(prefix="spf-dns-", dir=workroot)
    os.chmod(d, 0o755)
    try:
        yield reg.add(peers.Unbound(
            d, spf_zone.unbound_local_data_for_server(),
            local_zones=spf_zone.unbound_local_zones(),
            probe=("pass-ip4.%s." % spf_zone.SUFFIX, "TXT")))
    finally:
        reg.stop_all()

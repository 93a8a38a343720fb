# SPDX-License-Identifier: ISC
"""systemd: postern and postern milter tell a Type=notify service manager
when they are ready, reloading and stopping (sd_notify on $NOTIFY_SOCKET),
and the shipped units pass systemd-analyze verify (issue 16)."""
import os
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest

import peers
from test_milter import miltertest

UNITS = os.path.join(os.path.dirname(__file__), "..", "..", "contrib",
                     "systemd")


@pytest.fixture
def notify(workdir, monkeypatch):
    """A datagram socket as systemd's NOTIFY_SOCKET, in the environment of
    every postern started meanwhile; returns a reader of what came."""
    path = os.path.join(workdir, "notify.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(0.2)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    got = []

    def wait(word, after=0, timeout=15):
        """Every message until one after the first `after` holds the line
        word (bounded); the list of all of them."""
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout / 0.2) + 2):
            if any(word in m.split("\n") for m in got[after:]):
                return got
            if time.monotonic() >= deadline:
                break
            try:
                got.append(s.recv(4096).decode())
            except socket.timeout:
                pass
        raise AssertionError("no %s from postern; got %r" % (word, got))
    yield wait
    s.close()


def test_proxy_ready_reloading_stopping(notify, sink, postern):
    snk = sink()
    p = postern(snk.port)
    msgs = notify("READY=1")
    assert any(m.startswith("READY=1\nSTATUS=postern ") for m in msgs), msgs
    n = len(msgs)
    p.signal(signal.SIGHUP)
    msgs = notify("READY=1", after=n)
    assert msgs[n:] == ["RELOADING=1", "READY=1"], msgs
    p.wait_log(r"configuration reloaded")
    p.signal(signal.SIGTERM)
    assert notify("STOPPING=1", after=n + 2)[n + 2:] == ["STOPPING=1"]
    assert p.wait_exit(15) == 0


def test_milter_ready_reloading_stopping(notify, procs, workdir,
                                        postern_bin):
    """SIGHUP reloads postern milter (passed on as SIGUSR1: libmilter
    stops on SIGHUP), SIGUSR1 too: a client on the deny list is let in once
    the file says so; a broken file is refused and the running
    configuration stays."""
    conf = os.path.join(workdir, "milter.conf")

    def deny(net):
        with open(conf, "w") as f:
            f.write("[filters]\nchain = iplist\n[iplist]\ndeny = %s\n" % net)
    deny("192.0.2.0/24")
    m = procs.add(peers.PosternMilter(postern_bin, workdir, config=conf))
    msgs = notify("READY=1")
    assert any("STATUS=postern " in x and "milter" in x for x in msgs), msgs
    miltertest(m, "deny")
    deny("203.0.113.0/24")
    n = len(msgs)
    m.signal(signal.SIGHUP)
    msgs = notify("READY=1", after=n)
    assert msgs[n:] == ["RELOADING=1", "READY=1"], msgs
    m.wait_log(r"configuration reloaded from " + re.escape(conf))
    miltertest(m, "notdenied")
    deny("192.0.2.0/33")
    n = len(msgs)
    m.signal(signal.SIGUSR1)
    msgs = notify("READY=1", after=n)
    m.wait_log(r"reload refused: keeping the running configuration")
    miltertest(m, "notdenied")
    m.signal(signal.SIGTERM)
    n = len(msgs)
    assert notify("STOPPING=1", after=n)[n:] == ["STOPPING=1"]


@pytest.mark.parametrize("unit", ["postern.service",
                                  "postern-milter.service"])
def test_units_verify(unit, workdir, postern_bin):
    """systemd-analyze verify is clean, with ExecStart pointing at the
    binary built here (it checks that the executable exists)."""
    assert shutil.which("systemd-analyze"), "systemd (scripts/deps.sh test)"
    with open(os.path.join(UNITS, unit)) as f:
        text = f.read()
    assert "Type=notify" in text and "ExecStartPre=/usr/sbin/postern " \
        "check" in text, text
    path = os.path.join(workdir, unit)
    with open(path, "w") as f:
        f.write(text.replace("/usr/sbin/postern", postern_bin))
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", path],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r.stderr

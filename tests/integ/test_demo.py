# SPDX-License-Identifier: ISC
"""make run's demo (scripts/demo.sh, issue 16): unbound with the demo zone,
smtp-sink, postern on the full chain with signing, and the three example
sends, run to the end of the examples (POSTERN_DEMO_EXAMPLES_ONLY) on
free ports.  The clean message's signature is checked by dkimpy against
the record the demo published, the other two must be refused as said,
and every process the demo started is gone afterwards."""
import os
import re
import subprocess

import dkim

import peers

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def test_demo_examples(postern_bin, workdir):
    d = os.path.join(workdir, "demo")
    ports = [peers.free_port() for _ in range(4)]
    env = dict(os.environ, POSTERN_DEMO_EXAMPLES_ONLY="1",
               POSTERN_DEMO_DIR=d,
               POSTERN_DEMO_PORTS=" ".join(map(str, ports)))
    r = subprocess.run([os.path.join(TOP, "scripts", "demo.sh"), postern_bin],
                       capture_output=True, text=True, timeout=120, env=env,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert "NOT AS EXPECTED" not in out, out
    assert re.search(r"1\. clean mail .*\n\s+-> 250 ", out), out
    assert re.search(r"2\. forged mail .*\n\s+-> 550 5\.7\.23 SPF fail", out)
    assert re.search(r"3\. spam .*\n\s+-> 554 5\.7\.1 ", out), out

    # the delivered file, as the demo named it, verifies in dkimpy with the
    # key the demo published in its zone
    path = re.search(r"delivered: (\S+)", out).group(1)
    with open(path, "rb") as f:
        raw = f.read()
    msg = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    with open(os.path.join(d, "keys", "demo.txt")) as f:
        txt = "".join(re.findall(r'"([^"]*)"', f.read()))

    def dnsfunc(name, timeout=5):
        assert name == b"demo._domainkey.good.demo.", name
        return txt.encode()
    assert b"DKIM-Signature:" in msg and b"d=good.demo" in msg
    assert dkim.verify(msg, dnsfunc=dnsfunc), msg[:2000]

    # nothing the demo started is left running
    left = subprocess.run(["pgrep", "-f", d], capture_output=True, text=True)
    assert left.stdout == "", left.stdout

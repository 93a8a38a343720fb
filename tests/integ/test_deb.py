# SPDX-License-Identifier: ISC
"""The Debian package (make deb, issue 16): what it holds, its version, and
an install into a throw-away root: the files unpacked (dpkg -x), then what
its postinst does there (systemd-sysusers and systemd-tmpfiles with
--root, the commands the postinst runs), then 'postern check' run from the
installed tree on the installed configuration, in a private mount
namespace whose /etc and /var/spool are the throw-away root's."""
import glob
import os
import shutil
import subprocess

import pytest

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def run(*args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL, **kw)


@pytest.fixture(scope="module")
def deb():
    """The package make deb built (built here when it is not there)."""
    found = glob.glob(os.path.join(TOP, "build", "deb", "postern_*.deb"))
    if not found:
        r = run("make", "-C", TOP, "deb")
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        found = glob.glob(os.path.join(TOP, "build", "deb", "postern_*.deb"))
    assert len(found) == 1, found
    return found[0]


def field(deb, name):
    r = run("dpkg-deb", "-f", deb, name)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_version_is_postern_version(deb, postern_bin):
    v = run(postern_bin, "-V").stdout.split()
    assert v[0] == "postern", v
    assert field(deb, "Version").split("-")[0] == v[1]


def test_contents(deb):
    r = run("dpkg-deb", "-c", deb)
    files = {l.split()[-1].lstrip(".") for l in r.stdout.splitlines()}
    for f in ("/usr/sbin/postern", "/usr/sbin/postern-keygen",
              "/etc/postern/postern.conf",
              "/usr/share/man/man8/postern.8.gz",
              "/usr/share/man/man5/postern.conf.5.gz",
              "/usr/share/man/man8/postern-keygen.8.gz",
              "/lib/systemd/system/postern.service",
              "/lib/systemd/system/postern-milter.service",
              "/usr/share/postern/default.rules",
              "/usr/lib/sysusers.d/postern.conf",
              "/usr/lib/tmpfiles.d/postern.conf"):
        assert f in files, f
    conffiles = run("dpkg-deb", "-I", deb, "conffiles").stdout
    assert conffiles.split() == ["/etc/postern/postern.conf"], conffiles


def in_root_namespace(root, *args):
    """args with the throw-away root's /etc and /var/spool mounted over the
    host's, in a private mount namespace: the host is never touched."""
    script = ("mount --bind %s/etc /etc && mount --bind %s/var/spool "
              "/var/spool && exec \"$@\"" % (root, root))
    return run("unshare", "-m", "sh", "-c", script, "sh", *args)


def test_install_and_check(deb, workdir):
    if os.geteuid() != 0:
        pytest.skip("needs root: file owners and a private mount namespace")
    root = os.path.join(workdir, "root")
    r = run("dpkg-deb", "-x", deb, root)
    assert r.returncode == 0, r.stderr
    ctl = os.path.join(workdir, "control")
    assert run("dpkg-deb", "-e", deb, ctl).returncode == 0
    with open(os.path.join(ctl, "postinst")) as f:
        postinst = f.read()
    assert "systemd-sysusers" in postinst and \
        "systemd-tmpfiles" in postinst, postinst
    # the host's users and groups, for the system accounts a root has
    etc = os.path.join(root, "etc")
    for name in ("passwd", "group"):
        shutil.copy("/etc/" + name, os.path.join(etc, name))
    for name in ("hosts", "resolv.conf"):
        with open(os.path.join(etc, name), "w") as f:
            f.write("127.0.0.1 localhost\n" if name == "hosts" else
                    "nameserver 127.0.0.1\n")
    os.makedirs(os.path.join(root, "var", "spool"), exist_ok=True)
    binary = os.path.join(root, "usr", "sbin", "postern")

    # Unpacked only: no user postern yet, so the check fails
    r = in_root_namespace(root, binary, "check")
    assert r.returncode != 0 and "postern" in r.stderr, r

    # What the postinst does, in the root
    r = run("systemd-sysusers", "--root=" + root,
            os.path.join(root, "usr/lib/sysusers.d/postern.conf"))
    assert r.returncode == 0, r.stderr
    r = run("systemd-tmpfiles", "--root=" + root, "--create",
            os.path.join(root, "usr/lib/tmpfiles.d/postern.conf"))
    assert r.returncode == 0, r.stderr
    with open(os.path.join(etc, "passwd")) as f:
        users = {l.split(":")[0]: l.split(":") for l in f}
    with open(os.path.join(etc, "group")) as f:
        groups = {l.split(":")[0]: l.split(":") for l in f}
    assert "postern" in users and "postern" in groups
    uid, gid = int(users["postern"][2]), int(groups["postern"][2])
    spool = os.stat(os.path.join(root, "var/spool/postern"))
    assert (spool.st_mode & 0o777, spool.st_uid, spool.st_gid) == \
        (0o700, uid, gid)
    keys = os.stat(os.path.join(etc, "postern/keys"))
    assert (keys.st_mode & 0o777, keys.st_uid, keys.st_gid) == \
        (0o750, 0, gid)

    # The installed binary on the installed configuration (no -c: the
    # /etc/postern/postern.conf lookup), which runs as user postern and
    # spools under /var/spool/postern, checked as that user
    r = in_root_namespace(root, binary, "check")
    assert r.returncode == 0, r
    assert "/etc/postern/postern.conf: configuration OK" in r.stdout, r
    r = in_root_namespace(root, binary, "config", "proxy.user",
                          "proxy.spool_dir")
    assert r.stdout == ("proxy.user = postern\n"
                        "proxy.spool_dir = /var/spool/postern\n"), r

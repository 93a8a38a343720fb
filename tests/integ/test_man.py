# SPDX-License-Identifier: ISC
"""The man pages (make man, scripts/mkman.py): postern.conf(5) documents
every key the key table has (from README's reference: a key without a row
fails the build), and every page renders without a groff warning
(issue 16)."""
import os
import re
import shutil
import subprocess

import pytest

TOP = os.path.join(os.path.dirname(__file__), "..", "..")
MKMAN = os.path.join(TOP, "scripts", "mkman.py")
PAGES = ("postern.8", "postern-keygen.8", "postern.conf.5")


def mkman(postern_bin, outdir, readme=None):
    env = dict(os.environ)
    if readme:
        env["MKMAN_README"] = readme
    return subprocess.run(["/usr/bin/python3", MKMAN, postern_bin, outdir],
                          capture_output=True, text=True, timeout=60,
                          env=env)


def test_pages_render_without_warnings(postern_bin, workdir):
    r = mkman(postern_bin, workdir)
    assert r.returncode == 0, r.stderr
    assert shutil.which("man"), "man-db"
    for page in PAGES:
        for width in ("60", "80", "120"):
            out = subprocess.run(
                ["man", "--warnings=w", "-l", os.path.join(workdir, page)],
                capture_output=True, text=True, timeout=60,
                env=dict(os.environ, MANWIDTH=width))
            assert out.returncode == 0 and out.stderr == "", \
                (page, width, out.stderr)
            assert "postern" in out.stdout


def test_conf5_has_every_key(postern_bin, workdir):
    assert mkman(postern_bin, workdir).returncode == 0
    with open(os.path.join(workdir, "postern.conf.5")) as f:
        page = f.read()
    out = subprocess.run([postern_bin, "config", "-d"], capture_output=True,
                         text=True, timeout=30).stdout
    sect, n = None, 0
    for line in out.splitlines():
        m = re.fullmatch(r"\[(\w+)\]", line)
        if m:
            sect = m.group(1)
            assert '.SH "[%s]"' % sect in page, sect
            continue
        m = re.match(r"(\w+) =", line)
        if m:
            n += 1
            assert re.search(r"^\.TP\n\\fB%s\\fR" % re.escape(
                m.group(1)), page, re.M), (sect, m.group(1))
    assert n > 100, n


def test_undocumented_key_fails(postern_bin, workdir):
    """A README without the row of one key: mkman.py exits 1 naming it."""
    with open(os.path.join(TOP, "README.md")) as f:
        text = f.read()
    row = next(line for line in text.splitlines()
               if line.startswith("| `max_errors` |"))
    readme = os.path.join(workdir, "README.md")
    with open(readme, "w") as f:
        f.write(text.replace(row + "\n", ""))
    r = mkman(postern_bin, os.path.join(workdir, "out"), readme)
    assert r.returncode == 1
    assert "proxy.max_errors: no row in" in r.stderr, r.stderr

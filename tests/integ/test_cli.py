# SPDX-License-Identifier: ISC
"""postern [-c FILE] [-o section.key=value]... [-n]: configuration on the
command line, -n to print the effective configuration, and clear errors
("file:line: message", "-o ARG: message") with a non-zero exit."""
import os
import re
import subprocess

import pytest

from peers import LOOP_HOST, free_port


def run(postern_bin, *args, timeout=10):
    """Run postern to completion (it must exit by itself: a bad config must
    not start serving; -n must not either)."""
    try:
        return subprocess.run([postern_bin, *args], capture_output=True,
                              timeout=timeout, stdin=subprocess.DEVNULL,
                              text=True)
    except subprocess.TimeoutExpired as e:
        # subprocess.run has killed it by now
        raise AssertionError("postern %s did not exit within %ss: %r" %
                             (args, timeout, e.stderr))


def conf_value(out, key):
    """The value of key in -n output (file syntax: key = value)."""
    m = re.search(r"^\s*%s\s*=\s*(.*?)\s*$" % re.escape(key), out, re.M)
    assert m, "no %s in -n output:\n%s" % (key, out)
    return m.group(1)


def listen_args():
    """-o options that make an accidental start harmless and visible."""
    return ["-o", "proxy.listen=%s:%d" % (LOOP_HOST, free_port()),
            "-o", "proxy.backend=%s:%d" % (LOOP_HOST, free_port())]


def test_n_prints_effective_default_config(postern_bin):
    r = run(postern_bin, "-n")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert re.search(r"^\[proxy\]", out, re.M), out
    for key in ("listen", "backend", "max_recipients", "max_message_size",
                "bare_newline", "idle_timeout", "max_errors", "spool_dir"):
        conf_value(out, key)
    assert conf_value(out, "bare_newline") == "reject"


def test_n_shows_overrides(postern_bin):
    r = run(postern_bin, "-o", "proxy.max_recipients=7",
            "-o", "proxy.hostname=cli.test", "-o", "proxy.vrfy=no",
            "-o", "proxy.bare_newline=normalise", "-o", "log.format=json",
            "-n")
    assert r.returncode == 0, r.stderr
    assert conf_value(r.stdout, "max_recipients") == "7"
    assert conf_value(r.stdout, "hostname") == "cli.test"
    assert conf_value(r.stdout, "bare_newline") == "normalise"
    assert conf_value(r.stdout, "format") == "json"


@pytest.mark.parametrize("key,value,accepted", [
    ("proxy.idle_timeout", "5m", ("5m", "300", "300s")),
    ("proxy.command_timeout", "1h", ("1h", "3600", "3600s", "60m")),
    ("proxy.data_timeout", "30s", ("30s", "30")),
    ("proxy.max_message_size", "10k", ("10k", "10K", "10240")),
    ("proxy.spool_memory_max", "1M", ("1M", "1048576", "1024k", "1024K")),
    ("proxy.max_message_size", "12345", ("12345",)),
])
def test_durations_and_sizes(postern_bin, key, value, accepted):
    r = run(postern_bin, "-o", "%s=%s" % (key, value), "-n")
    assert r.returncode == 0, r.stderr
    got = conf_value(r.stdout, key.split(".", 1)[1])
    assert got in accepted, "%s=%s printed as %r" % (key, value, got)


def test_config_file_then_o_override(postern_bin, workdir):
    path = os.path.join(workdir, "p.conf")
    with open(path, "w") as f:
        f.write("# test\n[proxy]\nhostname = file.test\nmax_errors = 4\n"
                "max_recipients = 9\n\n[log]\nlevel = debug\n")
    r = run(postern_bin, "-c", path, "-o", "proxy.max_errors=6", "-n")
    assert r.returncode == 0, r.stderr
    assert conf_value(r.stdout, "hostname") == "file.test"
    assert conf_value(r.stdout, "max_recipients") == "9"
    assert conf_value(r.stdout, "max_errors") == "6"
    assert conf_value(r.stdout, "level") == "debug"


def test_n_output_is_a_valid_config_file(postern_bin, workdir):
    r = run(postern_bin, "-o", "proxy.max_recipients=11",
            "-o", "proxy.idle_timeout=2m", "-n")
    assert r.returncode == 0, r.stderr
    path = os.path.join(workdir, "dumped.conf")
    with open(path, "w") as f:
        f.write(r.stdout)
    r2 = run(postern_bin, "-c", path, "-n")
    assert r2.returncode == 0, r2.stderr
    assert conf_value(r2.stdout, "max_recipients") == "11"
    assert conf_value(r2.stdout, "idle_timeout") == conf_value(
        r.stdout, "idle_timeout")


@pytest.mark.parametrize("arg", [
    "proxy.nosuchkey=1",
    "nosuchsection.key=1",
    "proxy.max_recipients=abc",
    "proxy.max_recipients=-3",
    "proxy.idle_timeout=5x",
    "proxy.max_message_size=10q",
    "proxy.bare_newline=sometimes",
    "proxy.vrfy=maybe",
    "log.format=xml",
    "log.level=chatty",
    "proxy.max_recipients",
])
def test_bad_o_exits_nonzero_with_message(postern_bin, arg):
    r = run(postern_bin, *listen_args(), "-o", arg)
    assert r.returncode != 0, "accepted -o %s: %s" % (arg, r.stderr)
    assert ("-o %s:" % arg) in r.stderr, r.stderr


@pytest.mark.parametrize("text,line", [
    ("[proxy]\nmax_recipients = 10\nthis is garbage\n", 3),
    ("[proxy]\n\n# comment\nnosuchkey = 1\n", 4),
    ("[proxy]\nmax_message_size = 10q\n", 2),
    ("[proxy]\nidle_timeout = soon\n", 2),
    ("[proxy]\nmax_errors = 3\n[log]\nformat = xml\n", 4),
    ("[proxy\nhostname = x\n", 1),
    ("[nosuchsection]\n", 1),
])
def test_bad_config_file_exits_nonzero_with_file_line(postern_bin, workdir,
                                                      text, line):
    path = os.path.join(workdir, "bad.conf")
    with open(path, "w") as f:
        f.write(text)
    r = run(postern_bin, "-c", path, *listen_args())
    assert r.returncode != 0, "accepted %r: %s" % (text, r.stderr)
    assert "%s:%d:" % (path, line) in r.stderr, r.stderr


def test_missing_config_file(postern_bin, workdir):
    path = os.path.join(workdir, "does-not-exist.conf")
    r = run(postern_bin, "-c", path, *listen_args())
    assert r.returncode != 0
    assert path in r.stderr, r.stderr


def test_bad_config_with_n_also_fails(postern_bin):
    r = run(postern_bin, "-o", "proxy.max_errors=lots", "-n")
    assert r.returncode != 0
    assert "-o proxy.max_errors=lots:" in r.stderr, r.stderr

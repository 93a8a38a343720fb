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


# -V, --help, postern config, and where the configuration comes from
# (issue 16).

def version_h():
    """The version as lib/version.h writes it, the one place it is."""
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "lib",
                           "version.h")) as f:
        return re.search(r'#define POSTERN_VERSION\s+"([^"]+)"',
                         f.read()).group(1)


@pytest.mark.parametrize("flag", ["-V", "--version"])
def test_version(postern_bin, flag):
    r = run(postern_bin, flag)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "postern %s\n" % version_h(), r.stdout


@pytest.mark.parametrize("mode", [[], ["milter"], ["check"], ["test"],
                                  ["config"]])
@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_help_on_every_subcommand(postern_bin, mode, flag):
    r = run(postern_bin, *mode, flag)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("usage: postern"), r.stdout
    for word in ("milter", "check", "test", "config", "--version"):
        assert word in r.stdout, (word, r.stdout)


def test_bad_option_is_usage_on_stderr(postern_bin):
    r = run(postern_bin, "config", "-x")
    assert r.returncode == 2
    assert "usage: postern" in r.stderr and r.stdout == "", r


def test_config_keys_defaults_and_changes(postern_bin, workdir):
    path = os.path.join(workdir, "some.conf")
    with open(path, "w") as f:
        f.write("[proxy]\nmax_errors = 4\n[dns]\ntimeout = 7s\n")
    r = run(postern_bin, "config", "-c", path, "proxy.max_errors",
            "dns.timeout", "proxy.max_recipients")
    assert r.returncode == 0, r.stderr
    default_rcpts = run(postern_bin, "config", "-d",
                        "proxy.max_recipients").stdout
    assert r.stdout == ("proxy.max_errors = 4\ndns.timeout = 7s\n" +
                        default_rcpts), r.stdout
    # -n: only what differs from the defaults, in file syntax
    r = run(postern_bin, "config", "-n", "-c", path, "-o",
            "proxy.max_recipients=77")
    assert r.returncode == 0, r.stderr
    body = [line for line in r.stdout.splitlines()
            if line and not line.startswith("#")]
    assert body == ["[proxy]", "max_recipients = 77", "max_errors = 4",
                    "[dns]", "timeout = 7s"], r.stdout
    # -d: the defaults, whatever the file says
    r = run(postern_bin, "config", "-d", "-c", path, "proxy.max_errors")
    assert r.returncode == 0
    assert r.stdout != "proxy.max_errors = 4\n", r.stdout
    assert r.stdout == run(postern_bin, "config", "proxy.max_errors").stdout
    # what -n prints is a configuration that gives the same values
    again = os.path.join(workdir, "again.conf")
    with open(again, "w") as f:
        f.write(run(postern_bin, "config", "-n", "-c", path).stdout)
    assert run(postern_bin, "config", "-c", again).stdout.split("\n", 1)[1] \
        == run(postern_bin, "config", "-c", path).stdout.split("\n", 1)[1]


def test_config_unknown_key(postern_bin):
    r = run(postern_bin, "config", "proxy.listen", "proxy.nosuch")
    assert r.returncode == 1
    assert "proxy.nosuch: no such key" in r.stderr, r.stderr
    assert r.stdout == ""


def in_private_etc(postern_bin, files, *args):
    """postern *args with an /etc of its own (a tmpfs in a private mount
    namespace, holding files {relpath: text}), so the host's /etc is never
    touched."""
    if os.geteuid() != 0:
        pytest.skip("needs root for a private mount namespace")
    # the resolver (the default chain has spf) reads resolv.conf
    files = dict(files, **{"resolv.conf": "nameserver 127.0.0.1\n",
                           "hosts": "127.0.0.1 localhost\n"})
    script = "mount -t tmpfs none /etc && " + "".join(
        "mkdir -p /etc/%s && printf '%%s' '%s' > /etc/%s && " %
        (os.path.dirname(p), t, p) for p, t in files.items()) + \
        'exec "$@"'
    return subprocess.run(["unshare", "-m", "sh", "-c", script, "sh",
                           postern_bin, *args], capture_output=True,
                          text=True, timeout=20, stdin=subprocess.DEVNULL)


def test_etc_config_used_when_present(postern_bin, workdir):
    conf = {"postern/postern.conf": "[proxy]\nmax_errors = 4\n"}
    r = in_private_etc(postern_bin, conf, "config", "proxy.max_errors")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "proxy.max_errors = 4\n", r.stdout
    r = in_private_etc(postern_bin, conf, "check", *listen_args())
    assert "/etc/postern/postern.conf: configuration OK" in r.stdout, r
    # -c wins over it; without the file the embedded default is used
    path = os.path.join(workdir, "mine.conf")
    with open(path, "w") as f:
        f.write("[proxy]\nmax_errors = 6\n")
    r = in_private_etc(postern_bin, conf, "config", "-c", path,
                       "proxy.max_errors")
    assert r.stdout == "proxy.max_errors = 6\n", r
    r = in_private_etc(postern_bin, {}, "check", *listen_args())
    assert "(default): configuration OK" in r.stdout, r


# postern check as a preflight (issue 16, item 2).

def test_check_unknown_and_twice_named_filters(postern_bin, workdir):
    path = os.path.join(workdir, "chain.conf")
    with open(path, "w") as f:
        f.write("# a comment\n[filters]\nchain = ipilst regex regex\n")
    r = run(postern_bin, "check", "-c", path, *listen_args())
    assert r.returncode == 1, r
    assert "%s:3: filters.chain: unknown filter 'ipilst' (did you mean " \
        "'iplist'?)" % path in r.stderr, r.stderr
    assert "%s:3: filters.chain: 'regex' named twice" % path in r.stderr
    r = run(postern_bin, "check", "-o", "filters.chain=zzzzzz",
            *listen_args())
    assert r.returncode == 1
    assert "-o filters.chain: unknown filter 'zzzzzz'\n" in r.stderr, r


def test_check_unknown_key_suggests(postern_bin, workdir):
    path = os.path.join(workdir, "key.conf")
    with open(path, "w") as f:
        f.write("[proxy]\nmax_erors = 3\n")
    r = run(postern_bin, "check", "-c", path)
    assert r.returncode == 1
    assert "%s:2: unknown key 'max_erors' in section [proxy] (did you " \
        "mean 'max_errors'?)" % path in r.stderr, r.stderr


def test_check_warns_settings_no_filter_reads(postern_bin, workdir):
    """Configured, but its filter is not in the chain: a warning naming
    where it was set and what to add; exit 0.  An empty chain warns."""
    path = os.path.join(workdir, "unused.conf")
    with open(path, "w") as f:
        f.write("[iplist]\ndeny = 10.0.0.0/8\n[dkim]\nrequire = a.example\n"
                "[filters]\nchain = spf\n")
    rules = os.path.join(workdir, "r.rules")
    with open(rules, "w") as f:
        f.write("R1 body /x/ reject\n")
    r = run(postern_bin, "check", "-c", path, "-o", "regex.rules=" + rules,
            *listen_args())
    assert r.returncode == 0, r.stderr
    warn = [line for line in r.stderr.splitlines() if "set, but" in line]
    assert warn == [
        "postern: warning: %s:2: iplist.deny is set, but no filter in "
        "filters.chain reads it (add iplist)" % path,
        "postern: warning: -o regex.rules: set, but no filter in "
        "filters.chain reads it (add regex)",
        "postern: warning: %s:4: dkim.require is set, but no filter in "
        "filters.chain reads it (add dkim_verify)" % path], r.stderr
    assert "filters.chain is empty" not in r.stderr
    r = run(postern_bin, "check", "-o", "filters.chain=", *listen_args())
    assert r.returncode == 0
    assert "postern: warning: filters.chain is empty: every message is " \
        "relayed unfiltered" in r.stderr, r.stderr


def test_check_reads_as_proxy_user(postern_bin, workdir):
    """What the daemon reads at a reload must be readable by proxy.user,
    the user it runs as by then: a root-only list passes a check run as
    root without it, and fails with proxy.user (as a SIGHUP would)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to check as another user")
    d = os.path.join(workdir, "lists")
    os.mkdir(d)
    os.chmod(workdir, 0o755)
    os.chmod(d, 0o755)
    deny = os.path.join(d, "deny")
    with open(deny, "w") as f:
        f.write("10.0.0.0/8\n")
    os.chmod(deny, 0o600)
    args = ("-o", "filters.chain=iplist", "-o", "iplist.deny_file=" + deny,
            *listen_args())
    r = run(postern_bin, "check", *args)
    assert r.returncode == 0, r.stderr
    r = run(postern_bin, "check", "-o", "proxy.user=nobody", *args)
    assert r.returncode == 1, r
    assert "postern: as proxy.user nobody: %s: Permission denied" % deny \
        in r.stderr, r.stderr
    os.chmod(deny, 0o644)
    r = run(postern_bin, "check", "-o", "proxy.user=nobody", *args)
    assert r.returncode == 0, r.stderr
    # the spool directory must take files as that user too
    spool = os.path.join(workdir, "spool")
    os.mkdir(spool, 0o700)
    r = run(postern_bin, "check", "-o", "proxy.user=nobody", "-o",
            "proxy.spool_dir=" + spool, *args)
    assert r.returncode == 1
    assert "as proxy.user nobody: proxy.spool_dir %s: Permission denied" % \
        spool in r.stderr, r.stderr


@pytest.mark.parametrize("opts,why", [
    (["-o", "proxy.user=no-such-user-here"],
     "proxy.user no-such-user-here: no such user"),
    (["-o", "proxy.spool_dir=/nonexistent-spool"],
     "proxy.spool_dir /nonexistent-spool: No such file or directory"),
])
def test_check_user_and_spool_exist(postern_bin, opts, why):
    r = run(postern_bin, "check", "-o", "filters.chain=iplist", *opts,
            *listen_args())
    assert r.returncode == 1 and why in r.stderr, r


@pytest.mark.parametrize("opts,why", [
    (["-o", "filters.chain=spf", "-o", "iplist.deny_file=/nonexistent-l"],
     "/nonexistent-l: No such file or directory"),
    (["-o", "filters.chain=spf", "-o", "regex.rules=/nonexistent-r"],
     "/nonexistent-r"),
    (["-o", "filters.chain=iplist", "-o", "iplist.deny=10.0.0.0/33"],
     "10.0.0.0/33"),
])
def test_check_validates_settings_outside_the_chain(postern_bin, opts, why):
    """A filter's settings are checked whether or not it is in the chain:
    a missing list or rules file fails the check now, not on the day the
    filter is added."""
    r = run(postern_bin, "check", *opts, *listen_args())
    assert r.returncode == 1 and why in r.stderr, r


def test_check_backend_must_resolve(postern_bin):
    r = run(postern_bin, "check", "-o", "filters.chain=iplist", "-o",
            "proxy.backend=nosuchhost.invalid:25")
    assert r.returncode == 1
    assert "proxy.backend nosuchhost.invalid:25:" in r.stderr, r.stderr


def test_inline_list_error_names_the_line_of_its_key(postern_bin, workdir):
    path = os.path.join(workdir, "lists.conf")
    with open(path, "w") as f:
        f.write("[iplist]\n# deny these\ndeny = 10.0.0.0/33\n"
                "[filters]\nchain = iplist\n")
    r = run(postern_bin, "check", "-c", path, *listen_args())
    assert r.returncode == 1
    assert "postern: %s:3: iplist.deny: '10.0.0.0/33': prefix length 33 " \
        "out of range 0..32" % path in r.stderr, r.stderr
    r = run(postern_bin, "check", "-c", path, "-o", "iplist.deny=x",
            *listen_args())
    assert "postern: -o iplist.deny: 'x': " in r.stderr, r.stderr


def test_defaults_filter(postern_bin, workdir):
    """The embedded default filters (issue 16): iplist regex spf
    dkim_verify with the shipped rules built in, SPF permerror marked; a
    dry run of an EICAR message is refused by the default rules; a rules
    file without a rule is an error, not a filter that does nothing."""
    r = run(postern_bin, "config", "filters.chain", "regex.rules",
            "spf.permerror")
    assert r.stdout == ("filters.chain = iplist, regex, spf, dkim_verify\n"
                        "regex.rules = default\nspf.permerror = accept\n"), \
        r.stdout
    msg = os.path.join(workdir, "eicar.eml")
    with open(msg, "w") as f:
        f.write("From: <a@example.org>\nSubject: t\n\nX5O!P%@AP[4\\PZX54(P^)"
                "7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*\n")
    r = run(postern_bin, "test", "-o", "dns.nameserver=127.0.0.1@9", msg)
    assert "554 5.7.1 Virus test string (EICAR) found" in r.stdout, r.stdout
    empty = os.path.join(workdir, "empty.rules")
    with open(empty, "w") as f:
        f.write("# nothing yet\n")
    r = run(postern_bin, "check", "-o", "regex.rules=" + empty,
            *listen_args())
    assert r.returncode == 1
    assert "regex.rules: no rules: the regex filter would do nothing" in \
        r.stderr, r.stderr

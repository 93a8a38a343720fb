# SPDX-License-Identifier: ISC
"""benchlib.py - what the benchmark's Python clients share: reading an
SMTP reply and a process's memory from /proc.  Imported by
tls_sessions.py, header_fields.py, header_conns.py and idle_conns.py
(their folder is on sys.path when bench.sh runs them)."""


class SmtpError(Exception):
    pass


def reply(f, want):
    """Read one (multiline) reply from file f; SmtpError unless its code
    is want."""
    for _ in range(100):
        line = f.readline(1000)
        if not line:
            raise SmtpError("connection closed, %s expected" % want)
        if line[3:4] != b"-":
            if line[:3] != want:
                raise SmtpError("%r, %s expected" % (line[:60], want))
            return
    raise SmtpError("reply too long")


def vm_kib(pid, key="VmRSS"):
    """A field of /proc/PID/status in KiB, or None."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None

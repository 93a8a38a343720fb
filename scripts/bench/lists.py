#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""lists.py POSTERN WORK - 'postern check' loading 1,000,000-entry iplist
files: for each kind, the seconds and MB over a run without a list."""
import os, random, subprocess, sys, time
postern, work = sys.argv[1], sys.argv[2]
rnd = random.Random(7)
def run(*opts):
    """(seconds, peak RSS in KiB) of one 'postern check' run."""
    argv = [postern, "check"]
    for o in opts:
        argv += ["-o", o]
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)     # this child's own rusage
    dt = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit("postern check failed: %s" % err.decode()[-300:])
    return dt, ru.ru_maxrss
base_t, base_rss = run()
for label, gen in (
        ("ipv4 /32", lambda: "%d.%d.%d.%d" % tuple(rnd.randrange(256) for _ in range(4))),
        ("ipv4 mixed", lambda: "%d.%d.0.0/%d" % (rnd.randrange(1, 224), rnd.randrange(256), 16)
            if rnd.random() < 0.3 else "%d.%d.%d.%d/32" % tuple(rnd.randrange(256) for _ in range(4))),
        ("ipv6 /64,/128", lambda: "2001:db8:%x:%x::/64" % (rnd.randrange(65536), rnd.randrange(65536))
            if rnd.random() < 0.5 else "2001:db8:%x:%x::%x" % (rnd.randrange(65536), rnd.randrange(65536), rnd.randrange(1, 65536)))):
    path = "%s/list-%s.txt" % (work, label.split()[0] + str(len(label)))
    with open(path, "w") as f:
        for _ in range(1000000):
            f.write(gen() + "\n")
    dt, rss = run("filters.chain=iplist", "iplist.deny_file=" + path)
    print("%s %.2f %.1f" % (label.replace(" ", "_"), dt - base_t, (rss - base_rss) / 1024.0))

#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""scrape.py PORT SECONDS: the metrics endpoint on 127.0.0.1:PORT scraped
while the bench's mail flows: first 200 GET /metrics at once, then ten a
second until SECONDS are over (or SIGTERM).  Prints "scrapes=N errors=E"."""
import signal
import sys
import threading
import time
import urllib.request

PORT, SECONDS = int(sys.argv[1]), float(sys.argv[2])
URL = "http://127.0.0.1:%d/metrics" % PORT
done = {"n": 0, "err": 0}
lock = threading.Lock()
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *a: stop.set())


def one():
    try:
        with urllib.request.urlopen(URL, timeout=10) as r:
            ok = r.status == 200 and b"postern_build_info" in r.read()
    except OSError:
        ok = False
    with lock:
        done["n" if ok else "err"] += 1


burst = [threading.Thread(target=one) for _ in range(200)]
for t in burst:
    t.start()
for t in burst:
    t.join(30)
end = time.monotonic() + SECONDS
while not stop.is_set() and time.monotonic() < end:
    one()
    stop.wait(0.1)
print("scrapes=%d errors=%d" % (done["n"], done["err"]))

#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""spf_client.py HOST PORT MODE COUNT TAG - the SPF section's client (see
spf.sh): msg/s with a new sender domain per message (cold), or the
reply codes of a probe."""
import asyncio, collections, sys, time
host, port, mode, count, tag = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
SESSIONS = 20
BODY = (b"From: <bench@bench.example>\r\nTo: <sink@example.com>\r\nSubject: spf bench\r\n\r\n"
        + b"".join(b"%04d %s\r\n" % (i, b"x" * 58) for i in range(16)) + b".\r\n")

async def reply(r):
    for _ in range(100):
        line = await r.readline()
        if not line:
            raise EOFError("connection closed")
        if line[3:4] != b"-":
            return line
    raise ValueError("reply too long")

async def transaction(r, w, sender):
    w.write(b"MAIL FROM:<%s>\r\n" % sender.encode())
    l = await reply(r)
    if not l.startswith(b"250"):
        w.write(b"RSET\r\n"); await reply(r)
        return l[:3].decode()
    w.write(b"RCPT TO:<sink@example.com>\r\n")
    l = await reply(r)
    if not l.startswith(b"250"):
        raise ValueError("RCPT: %r" % l)
    w.write(b"DATA\r\n")
    l = await reply(r)
    if not l.startswith(b"354"):
        raise ValueError("DATA: %r" % l)
    w.write(BODY)
    l = await reply(r)
    if not l.startswith(b"250"):
        raise ValueError("end of data: %r" % l)
    return "250"

async def session(jobs, errors):
    r, w = await asyncio.open_connection(host, port)
    try:
        await reply(r)
        w.write(b"EHLO bench.client\r\n")
        await reply(r)
        while jobs:
            sender = jobs.popleft()
            code = await transaction(r, w, sender)
            if code != "250" and mode != "probe":
                errors.append("MAIL %s for %s" % (code, sender))
            elif mode == "probe":
                errors.append(code)
        w.write(b"QUIT\r\n")
        await reply(r)
    finally:
        w.close()

async def main():
    errors = []
    if mode == "probe":
        await session(collections.deque(["u@bench.example", "u@fail.example"]), errors)
        print(" ".join(errors))
        return
    jobs = collections.deque("u%d@%s-%d.bench.example" % (k, tag, k) for k in range(1, count + 1))
    t0 = time.monotonic()
    await asyncio.wait_for(asyncio.gather(*(session(jobs, errors) for _ in range(SESSIONS))), 55)
    dt = time.monotonic() - t0
    if errors:
        print("ERR:%d-refused:%s" % (len(errors), errors[0].replace(" ", "_")))
    else:
        print("%.1f" % (count / dt))
try:
    asyncio.run(main())
except Exception as e:
    print("ERR:%s" % str(e).replace(" ", "_")[:80])

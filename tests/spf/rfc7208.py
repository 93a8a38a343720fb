#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""rfc7208.py - run the RFC 7208 SPF test suite (openspf.org YAML, 203
tests) against postern's SPF evaluator through spf_eval (tests/spf/spf_eval.c),
which uses the real resolver (lib/dns.c) on libunbound local data.

Each YAML scenario becomes one spf_eval run: its zonedata as local-zone and
local-data lines ('.' is a static zone, so nothing leaves the machine), then
one 'test' line per test.  The zone follows pyspf's test driver (testspf.py):
SPF records also count as TXT for a name without TXT; 'TXT: NONE' means no
TXT; a bare TIMEOUT makes every type that no earlier entry answers time out
(a 'refuse' local zone for that name: REFUSED is a temporary failure);
CNAMEs are flattened (the alias gets the target's records); multi-string
TXT stays multi-string.

A test passes when the result is the expected one (or one of the listed
ones) and, where the suite gives one, the explanation matches.  Prints each
failure with what differed, then 'N passed, N failed'; exits 1 when fewer
than --min tests pass (default 190), 2 on a harness error.

usage: rfc7208.py --eval BUILD/tests/spf_eval [--suite FILE] [--min N] [-v]
"""
import argparse
import gzip
import os
import subprocess
import sys

import yaml

DEBIAN_SUITE = '/usr/share/doc/python3-spf/rfc7208-tests.yml.gz'


def load_suite(path):
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rb') as fp:
        return [d for d in yaml.safe_load_all(fp) if d]


def txt_string(s):
    """One zone-file character-string: quoted, \\DDD escapes."""
    out = []
    for b in s:
        if b < 0x20 or b > 0x7e or b in (0x22, 0x5c):
            out.append('\\%03d' % b)
        else:
            out.append(chr(b))
    return '"' + ''.join(out) + '"'


def txt_rdata(value):
    if isinstance(value, str):
        value = [value]
    chunks = []
    for s in value:
        b = s.encode('utf-8')
        if not b:
            chunks.append('""')
        for i in range(0, len(b), 255):
            chunks.append(txt_string(b[i:i + 255]))
    return ' '.join(chunks) if chunks else '""'


def fqdn(host):
    """A zone-file owner or target name: odd bytes as \\DDD, final dot."""
    host = str(host)
    host = host if host.endswith('.') else host + '.'
    return ''.join(c if c.isalnum() and ord(c) < 128 or c in '.-_*'
                   else ''.join('\\%03d' % b for b in c.encode('utf-8'))
                   for c in host)


def valid_name(name):
    labels = name.rstrip('.').split('.')
    return all(0 < len(l) < 64 for l in labels) and len(name) < 254


def parse_zone(zonedata):
    """name -> {'rrs': [(type, value)], 'timeout': bool, 'cname': target}"""
    zone = {}
    for name, entries in (zonedata or {}).items():
        z = zone.setdefault(name.lower().rstrip('.'),
                            {'rrs': [], 'timeout': False, 'cname': None})
        txt_given = False
        spf = []
        for e in entries or []:
            if e == 'TIMEOUT':
                z['timeout'] = True
                continue
            for t, v in e.items():
                if v == 'TIMEOUT':
                    z['timeout'] = True
                    continue
                if t == 'TXT':
                    txt_given = True
                    if v != 'NONE':
                        z['rrs'].append(('TXT', v))
                elif t == 'SPF':
                    spf.append(v)
                elif t == 'CNAME':
                    z['cname'] = str(v).lower().rstrip('.')
                else:
                    z['rrs'].append((t, v))
        if not txt_given:
            z['rrs'].extend(('TXT', v) for v in spf)
    return zone


def flatten(zone, name, seen=()):
    """The records and timeout of name with its CNAME chain followed."""
    z = zone.get(name)
    if z is None:
        return [], False
    if z['cname'] is None or name in seen or len(seen) > 10:
        return (z['rrs'], z['timeout']) if z['cname'] is None else ([], False)
    rrs, timeout = flatten(zone, z['cname'], seen + (name,))
    return z['rrs'] + rrs, z['timeout'] or timeout


def rr_line(name, t, v):
    if t in ('A', 'AAAA'):
        return '%s 300 IN %s %s' % (fqdn(name), t, v)
    if t == 'MX':
        return '%s 300 IN MX %d %s' % (fqdn(name), int(v[0]), fqdn(v[1]))
    if t == 'PTR':
        return '%s 300 IN PTR %s' % (fqdn(name), fqdn(v))
    if t == 'TXT':
        return '%s 300 IN TXT %s' % (fqdn(name), txt_rdata(v))
    return None


def scenario_input(doc):
    zone = parse_zone(doc.get('zonedata'))
    lines = ['zone\t.\tstatic']
    for name in sorted(zone):
        if not valid_name(name):
            continue
        rrs, timeout = flatten(zone, name)
        lines.append('zone\t%s\t%s' % (fqdn(name),
                                       'refuse' if timeout else 'static'))
        for t, v in rrs:
            line = rr_line(name, t, v)
            if line is not None:
                lines.append('data\t' + line)
    lines.append('exp\tDEFAULT')
    for tid, t in doc['tests'].items():
        lines.append('test\t%s\t%s\t%s\t%s' % (
            tid, t['host'], t.get('helo', ''), t.get('mailfrom', '')))
    return '\n'.join(lines) + '\n'


def run_scenario(evalbin, doc, verbose):
    inp = scenario_input(doc)
    if verbose > 1:
        sys.stdout.write(inp)
    p = subprocess.run([evalbin], input=inp.encode(), capture_output=True,
                       timeout=300)
    if p.returncode != 0:
        sys.stderr.write(p.stderr.decode(errors='replace'))
        raise SystemExit('rfc7208: spf_eval failed on "%s" (exit %d)' %
                         (doc.get('description'), p.returncode))
    got = {}
    for line in p.stdout.decode(errors='replace').splitlines():
        f = line.split('\t')
        if len(f) == 4:
            got[f[0]] = f[1:]
    return got


def judge(tid, t, got):
    """None when the test passes, else what differed."""
    if tid not in got:
        return 'no output'
    result, explanation, received = got[tid]
    want = t['result'] if isinstance(t['result'], list) else [t['result']]
    why = []
    if result not in want:
        why.append('result %s, want %s' % (result, '|'.join(want)))
    if 'explanation' in t and explanation != t['explanation']:
        why.append("explanation '%s', want '%s'" %
                   (explanation, t['explanation']))
    if why:
        why.append('Received-SPF: ' + received)
    return '; '.join(why) if why else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--eval', required=True)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument('--suite', default=os.path.join(
        here, '../../../shared/testdata/rfc7208-tests.yml'))
    ap.add_argument('--min', type=int, default=190)
    ap.add_argument('-v', action='count', default=0)
    a = ap.parse_args()
    suite = a.suite if os.path.exists(a.suite) else DEBIAN_SUITE
    passed = failed = 0
    for doc in load_suite(suite):
        got = run_scenario(a.eval, doc, a.v)
        for tid, t in doc['tests'].items():
            why = judge(tid, t, got)
            if why is None:
                passed += 1
                if a.v:
                    print('ok %s' % tid)
            else:
                failed += 1
                print('FAIL %s (%s): %s' % (tid, doc.get('description'), why))
    print('%d passed, %d failed' % (passed, failed))
    return 0 if passed >= a.min else 1


if __name__ == '__main__':
    sys.exit(main())

#!/bin/bash
# SPDX-License-Identifier: ISC
# shellcheck shell=bash disable=SC2004,SC2034,SC2153,SC2154
# (globals and associative arrays are shared by the sourced files)
# bench.sh - throughput and memory benchmark for postern (make bench).
#
#   scripts/bench/bench.sh /abs/path/to/postern
#   BENCH_SECTIONS="spf dkim" scripts/bench/bench.sh ...   (make bench SECTION=...)
#
# One file a section (scripts/bench/NAME.sh, sourced in order after
# lib.sh, the shared helpers): throughput memory lists spf dkim tls milter
# headers rdns dnsbl dmarc metrics threads state, described below; their Python clients are the .py files
# beside them.
# Everything runs on loopback, in one go, in about 6-8 minutes on 2 cores:
#
#  1. Starts one smtp-sink (Postfix's test server) as the backend and one
#     postern in front of it (embedded default config plus -o overrides:
#     listen/backend on free loopback ports, no connection limits, log level
#     warning).
#  2. Throughput: for 1 KiB and 100 KiB messages x 1 and 100 sessions,
#     smtp-source sends the same number of messages straight to the sink
#     ("direct") and through postern, alternating direct/postern, 3 times;
#     the table shows the median msg/s of each and the median of the three
#     postern/direct ratios (each from two back-to-back runs, which cancels
#     out most load from elsewhere), checked against the targets.
#     Sessions are persistent (smtp-source -d: many messages per
#     connection), so this measures relaying, not TCP connection setup.
#     The sink's own counter confirms every message arrived.  The sink's
#     CPU time (utime + stime from /proc) per message, direct and through
#     postern, shows what postern costs the backend: target <= 1.25 for
#     the 1 KiB cases (postern pipelines XFORWARD with MAIL; XCLIENT goes
#     right after the greeting once the backend's EHLO answer is known).
#  3. Memory: postern's peak RSS (VmHWM), and RSS per idle connection:
#     scripts/bench/idle_conns.py opens 5,000 SMTP connections to postern, waits
#     for each greeting (so each backend connection exists too), and reads
#     VmRSS before and after; (after - before) / 5000 is compared with the
#     16 KiB target.  Then the worst case per connection: a postern with
#     filters.chain = regex dkim_verify (both keep the header section);
#     scripts/bench/header_conns.py opens 20 sessions, each in the middle of a
#     message whose header section is as big as the defaults allow (1000
#     fields, max_header_total - 1 bytes), and reads VmRSS before and
#     after; the figure per connection is compared with the bound
#     'postern check' prints for the same configuration.  A few seconds.
#  4. Lists: 'postern check' loading 1,000,000-entry iplist files (IPv4
#     /32s, mixed IPv4 CIDRs, IPv6), time and memory against the targets
#     (< 2 s, < 100 MB).
#  5. SPF: a second postern with filters.chain = spf, its resolver on an
#     unbound started here on loopback (serving the bench zone from
#     memory), against the no-filter postern: warm (one sender domain,
#     smtp-source) and cold (a new sender domain per message, a Python
#     client, since smtp-source cannot vary the sender); ratio spf/plain,
#     target >= 0.8 warm, and each postern's CPU time per message (which
#     other load on the machine disturbs less than the rates).  About a
#     minute (BENCH_SPF_BUDGET).
#  6. DKIM: three more postern on loopback, filters.chain = dkim_sign,
#     dkim_verify and none (keys from scripts/postern-keygen; the verifier's on
#     an unbound like the SPF one): signing RSA-2048, Ed25519 and both
#     (dual), and verifying an RSA-2048 signature (a message file signed by
#     dkimpy, sent with smtp-source -F), each at 1 and 100 sessions; msg/s
#     of each and ratio to the no-filter postern, targets >= 0.8 for RSA
#     signing and for verifying at 100 sessions, and the 'openssl speed'
#     sign and verify rates of one core for the same key types, measured in
#     the same run.  'postern test' first shows the signatures each case
#     gets and that the message verifies.  About 90 s (BENCH_DKIM_BUDGET).
#  7. TLS: two more postern with proxy.listen_tls and a certificate,
#     RSA-2048 in one and ECDSA P-256 in the other (a private CA made here
#     by openssl).  New sessions per second, each on a new connection with
#     a full handshake (TLS 1.3, X25519): EHLO, STARTTLS, handshake, EHLO,
#     QUIT, and the same with one 1 KiB message, at 1 and 50 clients
#     (scripts/bench/tls_sessions.py, Python ssl), against the same sessions
#     without STARTTLS on the same postern (ratio tls/plain: what TLS
#     costs); implicit TLS measured with openssl s_time -new, and the same
#     against openssl s_server as a reference.  Each server's CPU time per
#     handshake, the clients' CPU time and how busy postern was (who set
#     the pace); and, from 'openssl speed -seconds 3 rsa2048 ecdsap256
#     ecdhx25519' in the same run, the handshake ceiling of one core,
#     1 / (sign + X25519), with postern's handshakes per CPU second and
#     their ratio to it.  No targets.  About 60 s (BENCH_TLS_BUDGET).
#  8. Milter: a private Postfix on loopback (started and stopped here,
#     its own config directory, relaying to the sink), alone and with
#     smtpd_milters pointing at 'postern milter' running filters.chain =
#     regex with rules/default.rules (milter_default_action = tempfail);
#     and a postern with filters.chain = milter calling an OpenDKIM that
#     signs, and calling that postern milter, against a postern with no
#     filters; smtp-source at 1 and 50 sessions, 1 KiB messages; ratio
#     milter/alone of each and the milter's own CPU time per message.
#     Probes first: a message with the EICAR string refused by the milter
#     (Postfix alone accepts it), OpenDKIM's DKIM-Signature at an
#     smtp-sink -d.  No targets.  About 70 s (BENCH_MILTER_BUDGET).
#  9. Header fields: a postern with filters.chain = spf relays messages of
#     10,000, 40,000 and 160,000 header fields, every other one a forged
#     Authentication-Results it removes (scripts/bench/header_fields.py): time
#     per field of each size, the longest greeting wait of a second client
#     meanwhile, and the ratio of the per-field times of the largest and
#     smallest size, target <= 3 (1 is flat: postern's work linear in
#     the fields; work that grows like N gives about 16).  About 10 s (BENCH_HEADERS_BUDGET).
# 10. Reverse DNS: two more postern taking PROXY headers, one with
#     proxy.reverse_dns = yes (its resolver on an unbound here serving a
#     forward-confirmed PTR name for every client address) and one without;
#     new connections (greeting, EHLO, QUIT; scripts/bench/tls_sessions.py
#     --proxy) from one address (warm: the resolver's cache answers) and
#     from a new address each (cold: both lookups go to unbound); ratio
#     rdns/plain, target >= 0.9 warm.  About 30 s (BENCH_RDNS_BUDGET).
# 11. DNS lists: the same with filters.chain = dnsbl and three zones on an
#     unbound here (each with an SOA, listing no client): warm, one address
#     (the six lookups cached); cold, six lookups at once for each new
#     address; ratio dnsbl/plain, target >= 0.8 warm.  About 30 s
#     (BENCH_DNSBL_BUDGET).
# 12. DMARC: a postern with filters.chain = spf dkim_verify dmarc (an
#     unbound here serving the sender domain's SPF record, Ed25519 DKIM
#     key and p=reject policy) against one with no filters, 100 sessions
#     of 1 KiB messages signed by dkimpy, from this host's global address;
#     warm (every answer cached); ratio, target >= 0.8.  About 20 s
#     (BENCH_DMARC_BUDGET).
# 13. Metrics: two more postern with filters.chain = iplist regex, one
#     with metrics.listen scraped while mail flows (200 scrapes at once,
#     then ten a second), one without; 100 sessions, 1 KiB; ratio,
#     target >= 0.97.  About 30 s (BENCH_METRICS_BUDGET).
# 14. Threads: two more postern with filters.chain = iplist regex,
#     proxy.threads = 1 and 2; 100 sessions, 1 KiB; msg/s of each and
#     postern's CPU time per message, target: two loops within 5% of one.
#     About 30 s (BENCH_THREADS_BUDGET).
# 15. State: the ratelimit filter (four keys, never over) and the
#     greylist filter (warm: the triplet passed before) on the in-process
#     store against no filters, 100 sessions, 1 KiB; target ratelimit >=
#     0.8.  About 40 s (BENCH_STATE_BUDGET).
# 16. Prints a table and one PASS/FAIL line per target.
#
# Every process started here is stopped by PID on exit (also on Ctrl-C),
# every wait is bounded.  Exit status is 0 whenever the bench ran, whatever
# the figures; 1 only if it could not run at all (missing tools, postern
# or the sink failing to start).
#
# Knobs (environment): BENCH_REPS (3), BENCH_IDLE_CONNS (5000),
# BENCH_HEADER_CONNS (20, the worst-case sessions),
# BENCH_BUDGET seconds after which remaining repetitions are skipped (270),
# BENCH_SPF_MSGS (10000, warm), BENCH_SPF_COLD_MSGS (6000),
# BENCH_SPF_BUDGET (60, the same for the spf section), BENCH_DKIM (0 skips
# the dkim section), BENCH_DKIM_BUDGET (90, the same for it; the first
# repetition always runs whole), BENCH_TLS (0 skips the tls section),
# BENCH_TLS_BUDGET (60, like BENCH_DKIM_BUDGET), BENCH_MILTER (0 skips the
# milter section), BENCH_MILTER_BUDGET (60, the same), BENCH_HEADERS (0
# skips the header fields section), BENCH_HEADERS_BUDGET (60, the same),
# BENCH_RDNS (0 skips the reverse dns section), BENCH_RDNS_BUDGET (40, the
# same), BENCH_RDNS_CONNS (2000 connections a run), BENCH_DNSBL (0 skips
# the dnsbl section), BENCH_DNSBL_BUDGET (40, the same), BENCH_DMARC (0
# skips the dmarc section), BENCH_DMARC_BUDGET (60, the same),
# BENCH_DMARC_MSGS (5000 a run), BENCH_METRICS (0 skips the metrics
# section), BENCH_METRICS_BUDGET (60, the same), BENCH_METRICS_MSGS (20000
# a run), BENCH_THREADS (0 skips the threads section), BENCH_THREADS_BUDGET
# (60, the same), BENCH_THREADS_MSGS (20000 a run), BENCH_STATE (0 skips
# the state section), BENCH_STATE_BUDGET (60, the same), BENCH_STATE_MSGS
# (20000 a run).

set -u

POSTERN=${1:-}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
REPS=${BENCH_REPS:-3}
IDLE_N=${BENCH_IDLE_CONNS:-5000}
BUDGET=${BENCH_BUDGET:-270}
RUN_TIMEOUT=60          # one smtp-source run
IDLE_TIMEOUT=120        # the whole idle-connection phase
IDLE_TARGET_KIB=16

# case id | sessions | message payload bytes | messages | label | target ratio
CASES="
s1k1|1|1024|8000|1 session, 1 KiB|0.6
s100k1|100|1024|20000|100 sessions, 1 KiB|0.5
s1k100|1|102400|1500|1 session, 100 KiB|-
s100k100|100|102400|2500|100 sessions, 100 KiB|0.7
"

# shellcheck source=scripts/bench/lib.sh
. "$HERE/lib.sh"

[ -n "$POSTERN" ] || die "usage: $0 /abs/path/to/postern"
[ -x "$POSTERN" ] || die "$POSTERN: not an executable file"
for t in smtp-sink smtp-source timeout ss awk; do
	command -v "$t" >/dev/null 2>&1 || die "$t not found (scripts/deps.sh test installs it)"
done
[ -x "$PY" ] || die "$PY not found"
[ -r "$HERE/idle_conns.py" ] || die "$HERE/idle_conns.py missing"

# 5,000 idle clients mean 10,000 sockets in postern and 5,000 in the sink.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
NOFILE=$(ulimit -n)
if [ "$NOFILE" != unlimited ] && [ "$NOFILE" -lt $((2 * IDLE_N + 200)) ]; then
	echo "bench: warning: open files limit $NOFILE is low for $IDLE_N idle connections" >&2
fi

WORK=$(mktemp -d /tmp/postern-bench.XXXXXX) || die "mktemp failed"
PIDS=""
SINK_PID=""
POSTERN_PID=""

trap cleanup EXIT
trap 'echo "bench: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM

START_NS=$(now_ns)


# ---------------------------------------------------------------- start
read -r SINK_PORT PROXY_PORT <<<"$(pick_ports 2)"
[ -n "$PROXY_PORT" ] || die "no free ports for the sink and postern"

SINK_USER=""
[ "$(id -u)" -eq 0 ] && SINK_USER="-u nobody"
# -m: connection cap above the idle test; -t: do not drop idle connections
# during it; 4096: listen backlog.
# shellcheck disable=SC2086
smtp-sink $SINK_USER -c -m $((IDLE_N + 1000)) -t 600 \
    "127.0.0.1:$SINK_PORT" 4096 >"$WORK/sink.out" 2>"$WORK/sink.err" &
SINK_PID=$!
PIDS="$PIDS $SINK_PID"
wait_listen "$SINK_PORT" "$SINK_PID" ||
    { cat "$WORK/sink.err" >&2; die "smtp-sink did not start on 127.0.0.1:$SINK_PORT"; }

postern_start main 127.0.0.1 "$PROXY_PORT" "" ||
    { tail -n 20 "$WORK/postern-main.log" >&2; die "postern did not start listening on 127.0.0.1:$PROXY_PORT"; }
POSTERN_PID=$LAST_PID

echo "postern bench: $POSTERN (pid $POSTERN_PID) on 127.0.0.1:$PROXY_PORT -> smtp-sink 127.0.0.1:$SINK_PORT"
LOAD_START=$(cut -d' ' -f1 /proc/loadavg)
echo "cores: $(nproc), load average: $(cut -d' ' -f1-3 /proc/loadavg), open files limit: $NOFILE, repetitions: $REPS, smtp-source -d (persistent sessions)"
echo

SRC_OPTS="-d -M localhost -f bench@example.com -t sink@example.com"
NOTES=""
POSTERN_DIED=""
SUMMARY=""

# ---------------------------------------------------------------- sections
SECTIONS=${BENCH_SECTIONS:-throughput memory lists spf dkim tls milter headers rdns dnsbl dmarc metrics threads state}
for section in $SECTIONS; do
	[ -r "$HERE/$section.sh" ] || die "no section $section (scripts/bench/*.sh)"
	# shellcheck disable=SC1090
	. "$HERE/$section.sh"
done

if [ -n "$POSTERN_DIED" ] || ! postern_alive; then
	echo
	echo "WARNING: postern is no longer running; last lines of its log:"
	tail -n 20 "$WORK/postern-main.log" | sed 's/^/  /'
elif [ -s "$WORK/postern-main.log" ]; then
	echo
	warn_tail "$WORK/postern-main.log" 5
fi

if awk -v l="$LOAD_START" -v c="$(nproc)" 'BEGIN { exit !(l >= c / 2) }'; then
	echo
	echo "note: load average was $LOAD_START before the bench started on $(nproc) cores:"
	echo "      other work competes for the CPU, so the figures are noisy; rerun on an idle machine."
fi

echo
echo "== summary (bench took $(elapsed_s)s; load average now $(cut -d' ' -f1-3 /proc/loadavg))"
echo "${SUMMARY#?}"
exit 0

#!/bin/bash
# SPDX-License-Identifier: ISC
# bench.sh - throughput and memory benchmark for postern (make bench).
#
#   scripts/bench.sh /abs/path/to/postern
#
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
#     The sink's own counter confirms every message arrived.
#  3. Memory: postern's peak RSS (VmHWM), and RSS per idle connection:
#     scripts/idle_conns.py opens 5,000 SMTP connections to postern, waits
#     for each greeting (so each backend connection exists too), and reads
#     VmRSS before and after; (after - before) / 5000 is compared with the
#     16 KiB target.  Then the worst case per connection: a postern with
#     filters.chain = regex dkim_verify (both keep the header section);
#     scripts/header_conns.py opens 20 sessions, each in the middle of a
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
#     dkim_verify and none (keys from scripts/keygen.sh; the verifier's on
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
#     (scripts/tls_sessions.py, Python ssl), against the same sessions
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
#     Authentication-Results it removes (scripts/header_fields.py): time
#     per field of each size, the longest greeting wait of a second client
#     meanwhile, and the ratio of the per-field times of the largest and
#     smallest size, target <= 3 (1 is flat: postern's work linear in
#     the fields; work that grows like N gives about 16).  About 10 s (BENCH_HEADERS_BUDGET).
# 10. Reverse DNS: two more postern taking PROXY headers, one with
#     proxy.reverse_dns = yes (its resolver on an unbound here serving a
#     forward-confirmed PTR name for every client address) and one without;
#     new connections (greeting, EHLO, QUIT; scripts/tls_sessions.py
#     --proxy) from one address (warm: the resolver's cache answers) and
#     from a new address each (cold: both lookups go to unbound); ratio
#     rdns/plain, target >= 0.9 warm.  About 30 s (BENCH_RDNS_BUDGET).
# 11. Prints a table and one PASS/FAIL line per target.
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
# same), BENCH_RDNS_CONNS (2000 connections a run).

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

die() { echo "bench: $*" >&2; exit 1; }

[ -n "$POSTERN" ] || die "usage: $0 /abs/path/to/postern"
[ -x "$POSTERN" ] || die "$POSTERN: not an executable file"
for t in smtp-sink smtp-source timeout ss awk; do
	command -v "$t" >/dev/null 2>&1 || die "$t not found (scripts/deps.sh installs it)"
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

# shellcheck disable=SC2317  # (reached through the trap)
warn_tail() {	# warn_tail LOG N [WHAT]: the last N of a postern's warnings, if any
	[ -s "$1" ] || return 0
	echo "postern${3:+ ($3)} logged $(wc -l <"$1") line(s) at level warning; last $2:"
	tail -n "$2" "$1" | sed 's/^/  /'
}

budget_note() {	# budget_note SECTION BUDGET SKIPPED: repetitions the budget cut
	[ "$3" -gt 0 ] || return 0
	echo "note: $1 time budget (${2}s) reached, skipped $3 runs of repetitions 2 to $REPS"
}

stop_pid() {	# stop_pid PID: TERM, up to 10 s, then KILL; reap
	local pid=$1 _
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# shellcheck disable=SC2317
cleanup() {
	local pid
	trap - EXIT INT TERM
	for pid in $PIDS; do stop_pid "$pid"; done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "bench: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM

now_ns() { date +%s%N; }
START_NS=$(now_ns)
elapsed_s() { echo $(( ($(now_ns) - START_NS) / 1000000000 )); }

pick_ports() {	# pick_ports N: N distinct free loopback TCP ports below the ephemeral range, on one line
	local _ p got="" k=0
	for _ in $(seq 1 200); do
		[ "$k" -ge "$1" ] && break
		p=$((20000 + RANDOM % 12000))
		case " $got " in *" $p "*) continue ;; esac
		if [ -z "$(ss -Htan "( sport = :$p )" 2>/dev/null)" ]; then
			got="${got:+$got }$p"
			k=$((k + 1))
		fi
	done
	[ "$k" -ge "$1" ] || return 1
	echo "$got"
}

wait_listen() {	# wait_listen PORT PID: up to 10 s for PID to listen on PORT
	local _
	for _ in $(seq 1 100); do
		kill -0 "$2" 2>/dev/null || return 1
		[ -n "$(ss -Hltn "( sport = :$1 )" 2>/dev/null)" ] && return 0
		sleep 0.1
	done
	return 1
}

wait_udp() {	# wait_udp PORT PID: up to 10 s for PID to bind UDP PORT
	local _
	for _ in $(seq 1 100); do
		kill -0 "$2" 2>/dev/null || return 1
		[ -n "$(ss -Hlun "( sport = :$1 )" 2>/dev/null)" ] && return 0
		sleep 0.1
	done
	return 1
}

# postern_start NAME HOST PORT CHAIN [-o k=v]...: a postern on HOST:PORT
# relaying to the sink, with no connection limits, log level warning,
# client_identity xforward (smtp-sink offers XCLIENT without ADDR, so the
# default would refuse every client), reverse_dns off (the section that
# measures it turns it on; the others would ask this host's resolver),
# filters.chain=CHAIN and the given
# overrides, logging to
# $WORK/postern-NAME.log.  Sets LAST_PID (in PIDS, stopped before the sink);
# returns 0 once it listens, 1 with WHY set if it does not.
postern_start() {
	local name=$1 host=$2 port=$3 chain=$4
	shift 4
	"$POSTERN" -o "proxy.listen=$host:$port" \
	    -o "proxy.backend=127.0.0.1:$SINK_PORT" \
	    -o proxy.max_connections=20000 -o proxy.max_connections_per_ip=0 \
	    -o "filters.chain=$chain" -o log.level=warning \
	    -o proxy.client_identity=xforward -o proxy.reverse_dns=no "$@" \
	    </dev/null >/dev/null 2>"$WORK/postern-$name.log" &
	LAST_PID=$!
	PIDS="$LAST_PID $PIDS"	# stopped before the sink
	wait_listen "$port" "$LAST_PID" && return 0
	WHY="postern ($name) did not start: $(tail -n 3 "$WORK/postern-$name.log" | tr '\n' ' ')"
	return 1
}

# unbound_start NAME PORT LINE...: an unbound on 127.0.0.1@PORT answering
# from memory only (local-zone "." static: it never asks anyone else); the
# LINEs go into its server: clause (local-zone, local-data).  Sets LAST_PID
# (in PIDS); returns 0 once it listens, 1 with WHY set if it does not.
unbound_start() {
	local name=$1 port=$2 line
	shift 2
	command -v unbound >/dev/null 2>&1 || { WHY="unbound not found"; return 1; }
	[ -z "$(ss -Huan "( sport = :$port )" 2>/dev/null)" ] ||
	    { WHY="UDP port $port busy"; return 1; }
	{
		cat <<EOF
server:
    interface: 127.0.0.1
    port: $port
    do-ip6: no
    do-daemonize: no
    chroot: ""
    username: ""
    directory: "$WORK"
    pidfile: ""
    use-syslog: no
    logfile: ""
    num-threads: 1
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    module-config: "iterator"
    local-zone: "." static
EOF
		for line in "$@"; do printf '    %s\n' "$line"; done
		printf 'remote-control:\n    control-enable: no\n'
	} >"$WORK/unbound-$name.conf"
	unbound -d -c "$WORK/unbound-$name.conf" >"$WORK/unbound-$name.log" 2>&1 &
	LAST_PID=$!
	PIDS="$PIDS $LAST_PID"
	wait_udp "$port" "$LAST_PID" && return 0
	WHY="unbound did not start: $(tail -n 2 "$WORK/unbound-$name.log" | tr '\n' ' ')"
	return 1
}

sink_mesg() {	# the sink's message counter (smtp-sink -c, \r-separated)
	tail -c 400 "$WORK/sink.out" 2>/dev/null | tr '\r' '\n' |
	    sed -n 's/.*mesg=\([0-9][0-9]*\).*/\1/p' | tail -n 1 | grep . || echo 0
}

vm_kib() {	# vm_kib PID KEY
	awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null
}

postern_alive() { [ -n "$POSTERN_PID" ] && kill -0 "$POSTERN_PID" 2>/dev/null; }

isnum() { case $1 in ''|*[!0-9.]*) return 1 ;; *) return 0 ;; esac; }

judge() {	# judge RATIO TARGET: PASS, FAIL, "FAIL (not measured)" or, for TARGET -, "(no target)"
	if [ "$2" = - ]; then echo "(no target)"
	elif [ "$1" = - ]; then echo "FAIL (not measured)"
	elif awk -v r="$1" -v t="$2" 'BEGIN { exit !(r >= t) }'; then echo PASS
	else echo FAIL; fi
}

# Filter comparisons (spf, dkim): a postern with a filter chain against one
# with none, both in front of the sink.  Rates, ratios and each postern's
# CPU time (utime + stime from /proc, all threads) by KEY-plain and
# KEY-filter; CPU time is not shared with the rest of the machine the way
# throughput is, so it shows the filter's cost even on a busy host.
declare -A RATE RATIO CPU CNT
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)
cpu_ticks() {	# cpu_ticks PID: utime + stime of the process, all threads
	awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null
}
cpu_us() {	# cpu_us KEY-SIDE: postern CPU microseconds per message, or -
	awk -v t="${CPU[$1]:-}" -v n="${CNT[$1]:-0}" -v hz="$CLK_TCK" \
	    'BEGIN { if (n > 0 && t != "") printf "%.0f", t * 1e6 / hz / n; else print "-" }'
}

# pair_run REP KEY N RUNNER NAME PLAIN_PID PLAIN_PORT PID PORT: one
# repetition of comparison KEY: "RUNNER PORT SIDE" (SIDE plain or filter;
# sends N messages, prints msg/s or ERR:why) against the postern with no
# filters and the one with filter NAME, in an order that alternates with
# REP.  Records both rates and CPU times, and the filter/plain ratio of the
# two runs, made back to back so that load from elsewhere cancels out.
pair_run() {
	local rep=$1 key=$2 n=$3 runner=$4 name=$5 order side pid port r c0 c1
	local -A cur=()
	if [ $((rep % 2)) -eq 1 ]; then order="plain filter"; else order="filter plain"; fi
	for side in $order; do
		if [ "$side" = plain ]; then pid=$6 port=$7; else pid=$8 port=$9; fi
		c0=$(cpu_ticks "$pid")
		if kill -0 "$pid" 2>/dev/null; then
			r=$("$runner" "$port" "$side")
		else
			r="ERR:postern-$side-not-running"
		fi
		c1=$(cpu_ticks "$pid")
		if isnum "$r" && isnum "$c0" && isnum "$c1"; then
			CPU[$key-$side]=$(( ${CPU[$key-$side]:-0} + c1 - c0 ))
			CNT[$key-$side]=$(( ${CNT[$key-$side]:-0} + n ))
		fi
		cur[$side]=$r
		RATE[$key-$side]="${RATE[$key-$side]:-} $r"
		[ "$side" = filter ] && side=$name
		printf '  rep %d  %-14s %-6s %s\n' "$rep" "$key" "$side" "$r"
	done
	if isnum "${cur[filter]}" && isnum "${cur[plain]}"; then
		RATIO[$key]="${RATIO[$key]:-} $(awk -v p="${cur[filter]}" -v d="${cur[plain]}" 'BEGIN { printf "%.4f", p / d }')"
	fi
}

ratio_head() {	# ratio_head NAME [UNIT]: the header of the ratio_row table; UNIT msg unless given
	local u=${2:-msg}
	printf '%-24s %4s %6s %12s %12s %6s %15s %8s  %s\n' case sess "${u}s" \
	    "plain $u/s" "$1 $u/s" ratio "CPU us/$u p/f" target result
}

# ratio_row KEY LABEL SESSIONS N TARGET: the table line of comparison KEY:
# median rates, median ratio, CPU per message of each postern, and the
# result against TARGET (- for none); a target goes into the summary.
ratio_row() {
	local key=$1 label=$2 sess=$3 n=$4 tgt=$5 pm fm ratio res tshow=-
	# shellcheck disable=SC2086
	pm=$(median ${RATE[$key-plain]:-})
	# shellcheck disable=SC2086
	fm=$(median ${RATE[$key-filter]:-})
	# shellcheck disable=SC2086
	ratio=$(median ${RATIO[$key]:-})
	[ "$ratio" = - ] || ratio=$(awk -v r="$ratio" 'BEGIN { printf "%.2f", r }')
	res=$(judge "$ratio" "$tgt")
	if [ "$tgt" != - ]; then
		tshow=">=$tgt"
		add_summary "$res" "$label" "ratio $ratio at $sess sessions (target $tshow)"
	fi
	printf '%-24s %4d %6d %12s %12s %6s %15s %8s  %s\n' "$label" "$sess" "$n" \
	    "$pm" "$fm" "$ratio" "$(cpu_us "$key-plain")/$(cpu_us "$key-filter")" "$tshow" "$res"
}

raw_runs() {	# raw_runs NAME KEY...: the single runs behind the ratio_rows (UNIT=conn raw_runs ...: in conn/s)
	local name=$1 key
	shift
	echo "raw runs (${UNIT:-msg}/s):"
	for key in "$@"; do
		printf '  %-14s plain:%s  %s:%s  ratios:%s\n' "$key" "${RATE[$key-plain]:-}" \
		    "$name" "${RATE[$key-filter]:-}" "${RATIO[$key]:-}"
	done
}

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

# ---------------------------------------------------------------- throughput
SRC_OPTS="-d -M localhost -f bench@example.com -t sink@example.com"
NOTES=""
POSTERN_DIED=""

# run_one PORT SESSIONS BYTES COUNT -> prints msg/s, or "ERR:why".  BYTES
# is the payload size, or a message file that smtp-source sends as it is.
# SINK_WAIT=S: the messages may reach the sink up to S seconds after
# smtp-source is done (a queueing MTA in between); that wait is not timed.
run_one() {
	local port=$1 s=$2 l=$3 n=$4 b a t0 t1 rc msg="-l $3" _
	[ -f "$l" ] && msg="-F $l"
	b=$(sink_mesg)
	t0=$(now_ns)
	# shellcheck disable=SC2086
	timeout "$RUN_TIMEOUT" smtp-source $SRC_OPTS -s "$s" $msg -m "$n" \
	    "${RUN_HOST:-127.0.0.1}:$port" >"$WORK/source.out" 2>&1
	rc=$?
	t1=$(now_ns)
	a=$(sink_mesg)
	if [ "$rc" -eq 124 ]; then echo "ERR:timeout"; return; fi
	if [ "$rc" -ne 0 ]; then
		echo "ERR:rc=$rc:$(tail -n 1 "$WORK/source.out" | tr -s ' \t' '__' | cut -c1-80)"
		return
	fi
	for _ in $(seq 1 $((${SINK_WAIT:-0} * 10))); do
		[ $((a - b)) -ge "$n" ] && break
		sleep 0.1
		a=$(sink_mesg)
	done
	if [ $((a - b)) -ne "$n" ]; then echo "ERR:sink-got-$((a - b))-of-$n"; return; fi
	awk -v n="$n" -v ns=$((t1 - t0)) 'BEGIN { printf "%.1f\n", n * 1e9 / ns }'
}

median() {	# median of the numeric arguments (non-numeric ignored)
	printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g |
	    awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "-"; exit }
		if (NR % 2) print v[(NR + 1) / 2];
		else {	# as many decimals as the two middle values have
			d = 0
			for (i = NR / 2; i <= NR / 2 + 1; i++)
				if (split(v[i], f, ".") == 2 && length(f[2]) > d) d = length(f[2])
			printf "%." d "f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2
		} }'
}

# Warm-up (not counted): page in binaries, fill caches, first connections.
run_one "$SINK_PORT" 10 1024 500 >/dev/null
run_one "$PROXY_PORT" 10 1024 500 >/dev/null

declare -A D P R	# direct rates, postern rates, per-repetition ratios
for rep in $(seq 1 "$REPS"); do
	while IFS='|' read -r id s l n label tgt; do
		[ -n "$id" ] || continue
		if [ "$rep" -gt 1 ] && [ "$(elapsed_s)" -ge "$BUDGET" ]; then
			NOTES="$NOTES
note: time budget (${BUDGET}s) reached, skipped repetition $rep of $label"
			continue
		fi
		# Alternate which side goes first from one repetition to the next.
		if [ $((rep % 2)) -eq 1 ]; then order="direct postern"; else order="postern direct"; fi
		rd=- rp=-
		for side in $order; do
			if [ "$side" = direct ]; then
				r=$(run_one "$SINK_PORT" "$s" "$l" "$n")
				rd=$r
				D[$id]="${D[$id]:-} $r"
			else
				if ! postern_alive; then
					r="ERR:postern-not-running"
					POSTERN_DIED=1
				else
					r=$(run_one "$PROXY_PORT" "$s" "$l" "$n")
				fi
				rp=$r
				P[$id]="${P[$id]:-} $r"
			fi
			printf '  rep %d  %-22s %-8s %s\n' "$rep" "$label" "$side" "$r"
		done
		# The ratio is taken per repetition, from two runs made back to
		# back, so that load from elsewhere on the machine cancels out.
		if isnum "$rd" && isnum "$rp"; then
			R[$id]="${R[$id]:-} $(awk -v p="$rp" -v d="$rd" 'BEGIN { printf "%.4f", p / d }')"
		fi
	done <<EOF
$CASES
EOF
done
echo

HWM_TP=$(vm_kib "$POSTERN_PID" VmHWM)

# ---------------------------------------------------------------- memory
IDLE_LINE=""
IDLE_RC=""
if postern_alive; then
	echo "opening $IDLE_N idle connections to postern ..."
	IDLE_LINE=$(timeout $((IDLE_TIMEOUT + 30)) "$PY" "$HERE/idle_conns.py" \
	    --port "$PROXY_PORT" --count "$IDLE_N" --pid "$POSTERN_PID" \
	    --timeout "$IDLE_TIMEOUT" 2>"$WORK/idle.err")
	IDLE_RC=$?
	echo "  $IDLE_LINE"
	[ -s "$WORK/idle.err" ] && sed 's/^/  /' "$WORK/idle.err"
	sleep 1		# let postern notice the closes before reading VmRSS/VmHWM
else
	POSTERN_DIED=1
fi
HWM_FINAL=$(vm_kib "$POSTERN_PID" VmHWM)
RSS_FINAL=$(vm_kib "$POSTERN_PID" VmRSS)

# The worst case per connection: sessions holding the biggest header
# section the limits let through, on a postern whose filters keep it, and
# the bound 'postern check' gives for the same configuration.
HDR_N=${BENCH_HEADER_CONNS:-20}
HDR_OPTS=(-o "regex.rules=$HERE/../rules/default.rules" -o dns.nameserver=127.0.0.1@9)
HDR_LINE=""
HDR_BOUND=$("$POSTERN" check -o "filters.chain=regex dkim_verify" "${HDR_OPTS[@]}" 2>/dev/null |
    sed -n 's/.*at most \([0-9.]*\) MiB per connection.*/\1/p')
if ! HDR_PORT=$(pick_ports 1); then
	HDR_LINE="no free port"
elif postern_start header 127.0.0.1 "$HDR_PORT" "regex dkim_verify" "${HDR_OPTS[@]}"; then
	echo "opening $HDR_N sessions each holding a full header section ..."
	HDR_LINE=$(timeout 90 "$PY" "$HERE/header_conns.py" --port "$HDR_PORT" \
	    --pid "$LAST_PID" --count "$HDR_N" 2>"$WORK/header.err")
	echo "  $HDR_LINE"
	[ -s "$WORK/header.err" ] && sed 's/^/  /' "$WORK/header.err"
	stop_pid "$LAST_PID"
else
	HDR_LINE=$WHY
fi
field() {	# field KEY [LINE]: the value of KEY=value in LINE (default: the idle test's)
	printf '%s\n' "${2-$IDLE_LINE}" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# ---------------------------------------------------------------- report
SUMMARY=""
add_summary() {	# add_summary RESULT LABEL FIGURE; RESULT is "PASS" or "FAIL[ (why)]"
	local word=${1%% *}
	SUMMARY="$SUMMARY
$(printf '%-4s  %-24s %s' "$word" "$2" "$3")${1#"$word"}"
}

echo
echo "== throughput (msg/s: median of $REPS runs; ratio: median of the $REPS per-repetition postern/direct ratios)"
printf '%-22s %7s %12s %13s %7s %8s  %s\n' case msgs "direct msg/s" "postern msg/s" ratio target result
while IFS='|' read -r id s l n label tgt; do
	[ -n "$id" ] || continue
	# shellcheck disable=SC2086
	dm=$(median ${D[$id]:-})
	# shellcheck disable=SC2086
	pm=$(median ${P[$id]:-})
	# shellcheck disable=SC2086
	ratio=$(median ${R[$id]:-})
	[ "$ratio" = - ] || ratio=$(awk -v r="$ratio" 'BEGIN { printf "%.2f", r }')
	res=$(judge "$ratio" "$tgt")
	tshow=-
	if [ "$tgt" != - ]; then
		tshow=">=$tgt"
		add_summary "$res" "$label" "ratio $ratio (target $tshow)"
	fi
	printf '%-22s %7d %12s %13s %7s %8s  %s\n' "$label" "$n" "$dm" "$pm" "$ratio" "$tshow" "$res"
done <<EOF
$CASES
EOF
echo "raw runs (msg/s):"
while IFS='|' read -r id s l n label tgt; do
	[ -n "$id" ] || continue
	printf '  %-22s direct:%s  postern:%s  ratios:%s\n' "$label" "${D[$id]:-}" "${P[$id]:-}" "${R[$id]:-}"
done <<EOF
$CASES
EOF
[ -n "$NOTES" ] && echo "$NOTES"

echo
echo "== memory"
printf 'postern peak RSS (VmHWM): after throughput %s KiB, after idle test %s KiB; VmRSS now %s KiB\n' \
    "${HWM_TP:-?}" "${HWM_FINAL:-?}" "${RSS_FINAL:-?}"
PER=$(field per_conn_kib)
GREETED=$(field greeted)
DROPPED=$(field dropped)
if [ -n "$PER" ] && [ "$PER" != none ]; then
	printf 'idle connections: %s of %s greeted (%s dropped), VmRSS %s -> %s KiB, %s KiB per connection (target <= %s KiB)\n' \
	    "$GREETED" "$IDLE_N" "${DROPPED:-?}" "$(field rss_before_kib)" "$(field rss_after_kib)" "$PER" "$IDLE_TARGET_KIB"
	if [ "$IDLE_RC" -ne 0 ]; then
		res="FAIL (only $((GREETED - DROPPED)) of $IDLE_N connections held: $(field reasons))"
	elif awk -v p="$PER" -v t="$IDLE_TARGET_KIB" 'BEGIN { exit !(p <= t) }'; then
		res=PASS
	else
		res=FAIL
	fi
else
	echo "idle connections: not measured (${IDLE_LINE:-postern not running})"
	res="FAIL (not measured)"
	PER=-
fi
add_summary "$res" "RSS per idle connection" "$PER KiB (target <= $IDLE_TARGET_KIB KiB)"

HPER=$(field per_conn_kib "$HDR_LINE")
if isnum "$HPER" && isnum "$HDR_BOUND"; then
	printf 'worst case (regex dkim_verify, %s sessions of %s header fields, %s header bytes): %s held, VmRSS %s -> %s KiB, %s KiB per connection (postern check bound %s MiB)\n' \
	    "$HDR_N" "$(field fields "$HDR_LINE")" "$(field total "$HDR_LINE")" "$(field held "$HDR_LINE")" \
	    "$(field rss_before_kib "$HDR_LINE")" "$(field rss_after_kib "$HDR_LINE")" "$HPER" "$HDR_BOUND"
	if awk -v p="$HPER" -v b="$HDR_BOUND" 'BEGIN { exit !(p <= b * 1024) }'; then
		res=PASS
	else
		res="FAIL (over the bound postern check prints)"
	fi
else
	echo "worst case per connection: not measured (${HDR_LINE:-?})"
	res="FAIL (not measured)"
	HPER=-
fi
add_summary "$res" "RSS worst case per conn" "$HPER KiB (bound ${HDR_BOUND:-?} MiB)"

# ---------------------------------------------------------------- lists
# Loading a list of a million entries (iplist): the time and the memory
# 'postern check' takes with the list, less the same without it.
LIST_TARGET_S=2
LIST_TARGET_MIB=100
echo
echo "== lists: 1,000,000 entries loaded by 'postern check' (targets: < ${LIST_TARGET_S} s, < ${LIST_TARGET_MIB} MB)"
LIST_OUT=$("$PY" - "$POSTERN" "$WORK" <<'PYEOF'
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
PYEOF
)
LIST_RC=$?
if [ "$LIST_RC" -eq 0 ]; then
	while read -r label secs mib; do
		printf '  %-16s load %5s s   memory %6s MB\n' "${label//_/ }" "$secs" "$mib"
		if awk -v s="$secs" -v m="$mib" -v ts="$LIST_TARGET_S" -v tm="$LIST_TARGET_MIB" \
		    'BEGIN { exit !(s < ts && m < tm) }'; then res=PASS; else res=FAIL; fi
		add_summary "$res" "list ${label//_/ }" "${secs} s, ${mib} MB for 1M entries"
	done <<<"$LIST_OUT"
else
	echo "  not measured: $LIST_OUT"
	add_summary "FAIL (not measured)" "list load" "-"
fi

# ---------------------------------------------------------------- spf
# Two more postern in front of the same sink, with the same options but
# filters.chain: "spf" (its resolver pointed at an unbound on loopback that
# serves the bench zone from memory) and "plain" (no filters).
#  warm: every message from the same sender domain (answers cached in
#        postern's resolver): smtp-source against both proxies;
#  cold: every message from a new sender domain (rN-K.bench.example, one
#        lookup to unbound each): a small Python client against both, since
#        smtp-source cannot vary the sender.
# Both alternate plain/spf per repetition, like the throughput cases; the
# ratio is spf/plain per repetition, median of them.
# The clients must not come from loopback: postern does not SPF-check
# loopback clients (libspf2 would pass them all unevaluated).  So
# these two proxies listen on this host's first global IPv4 address, which
# the clients then connect from (the traffic stays inside the host, and
# the backend is the discarding sink).  The zone is under .example, not
# .test: libunbound answers test. itself (NXDOMAIN) and never forwards it.
SPF_N=${BENCH_SPF_MSGS:-10000}
SPF_COLD_N=${BENCH_SPF_COLD_MSGS:-6000}
SPF_SESS=20
SPF_TARGET=0.8		# warm; cold has no target (it measures the resolver)
SPF_BUDGET=${BENCH_SPF_BUDGET:-60}	# seconds; then remaining repetitions are skipped
SPF_PID=""
PLAIN_PID=""
UNBOUND_PID=""
echo
echo "== spf: postern with filters.chain = spf vs the same postern with no filters, $SPF_SESS sessions, 1 KiB messages"

spf_start() {	# unbound + the spf and plain postern; 0 when all run
	local dport sport pport
	SPF_HOST=$(ip -o -4 addr show scope global 2>/dev/null |
	    awk '{ sub(/\/.*/, "", $4); print $4; exit }')
	[ -n "$SPF_HOST" ] ||
	    { SPF_WHY="no global IPv4 address to send from (loopback clients are not SPF-checked)"; return 1; }
	read -r dport sport pport <<<"$(pick_ports 3)"
	[ -n "$pport" ] || { SPF_WHY="no free ports"; return 1; }
	unbound_start spf "$dport" \
	    'local-zone: "bench.example." redirect' \
	    "local-data: 'bench.example. 300 IN TXT \"v=spf1 ip4:$SPF_HOST -all\"'" \
	    "local-data: 'fail.example. 300 IN TXT \"v=spf1 -all\"'" ||
	    { SPF_WHY=$WHY; return 1; }
	UNBOUND_PID=$LAST_PID
	postern_start spf "$SPF_HOST" "$sport" spf -o "dns.nameserver=127.0.0.1@$dport" ||
	    { SPF_WHY=$WHY; return 1; }
	SPF_PID=$LAST_PID
	postern_start plain "$SPF_HOST" "$pport" "" || { SPF_WHY=$WHY; return 1; }
	PLAIN_PID=$LAST_PID
	SPF_PORT=$sport
	PLAIN_PORT=$pport
	return 0
}

# spf_client PORT MODE COUNT TAG -> msg/s or ERR:why.  MODE cold: sender
# u@TAG-K.bench.example, K = 1..COUNT; probe: one message from fail.example and
# one from bench.example, prints the two reply codes of MAIL.
spf_client() {
	timeout "$RUN_TIMEOUT" "$PY" - "$SPF_HOST" "$@" <<'PYEOF'
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
PYEOF
}

# spf_cold PORT COUNT TAG: like run_one, but with spf_client
spf_cold() {
	local b a r
	b=$(sink_mesg)
	r=$(spf_client "$1" cold "$2" "$3")
	a=$(sink_mesg)
	case $r in ERR:*) echo "$r"; return ;; esac
	[ -n "$r" ] || { echo "ERR:client-timeout"; return; }
	if [ $((a - b)) -ne "$2" ]; then echo "ERR:sink-got-$((a - b))-of-$2"; return; fi
	echo "$r"
}

# shellcheck disable=SC2317  # (run by pair_run)
spf_warm() {	# spf_warm PORT SIDE: a pair_run runner
	RUN_HOST=$SPF_HOST run_one "$1" "$SPF_SESS" 1024 "$SPF_N"
}
# shellcheck disable=SC2317
spf_cold_run() {	# spf_cold_run PORT SIDE: a pair_run runner, new domains each time
	spf_cold "$1" "$SPF_COLD_N" "r$rep$2$$"
}

SPF_NOTE=""
if spf_start; then
	SPF_WHY=""
	# The spf postern must really check: fail.example (-all) is refused,
	# bench.example passes; the plain one accepts both.
	PROBE_SPF=$(spf_client "$SPF_PORT" probe 0 x)
	PROBE_PLAIN=$(spf_client "$PLAIN_PORT" probe 0 x)
	echo "  probe (MAIL replies for u@bench.example, u@fail.example): spf: $PROBE_SPF, no filters: $PROBE_PLAIN"
	if [ "$PROBE_SPF" != "250 550" ] || [ "$PROBE_PLAIN" != "250 250" ]; then
		SPF_WHY="probe failed (spf: $PROBE_SPF, plain: $PROBE_PLAIN)"
	fi
fi
if [ -z "$SPF_WHY" ]; then
	# warm-up, not counted
	SRC_OPTS="-d -M bench.client -f bench@bench.example -t sink@example.com"
	RUN_HOST=$SPF_HOST run_one "$SPF_PORT" 10 1024 500 >/dev/null
	RUN_HOST=$SPF_HOST run_one "$PLAIN_PORT" 10 1024 500 >/dev/null
	spf_cold "$SPF_PORT" 300 w0 >/dev/null
	spf_cold "$PLAIN_PORT" 300 w1 >/dev/null
	SPF_START_S=$(elapsed_s)
	for rep in $(seq 1 "$REPS"); do
		if [ "$rep" -gt 1 ] && [ $(($(elapsed_s) - SPF_START_S)) -ge "$SPF_BUDGET" ]; then
			SPF_NOTE="note: spf time budget (${SPF_BUDGET}s) reached, skipped repetitions $rep to $REPS"
			break
		fi
		pair_run "$rep" spf-warm "$SPF_N" spf_warm spf "$PLAIN_PID" "$PLAIN_PORT" "$SPF_PID" "$SPF_PORT"
		pair_run "$rep" spf-cold "$SPF_COLD_N" spf_cold_run spf "$PLAIN_PID" "$PLAIN_PORT" "$SPF_PID" "$SPF_PORT"
	done
	echo
	ratio_head spf
	ratio_row spf-warm "spf warm (1 domain)" "$SPF_SESS" "$SPF_N" "$SPF_TARGET"
	ratio_row spf-cold "spf cold (new domains)" "$SPF_SESS" "$SPF_COLD_N" -
	raw_runs spf spf-warm spf-cold
	echo "  (warm: smtp-source; cold: a Python asyncio client, one transaction at a time per session)"
	# shellcheck disable=SC2086
	if awk -v c="$(median ${RATE[spf-cold-plain]:-})" -v w="$(median ${RATE[spf-warm-plain]:-})" \
	    'BEGIN { exit !(c != "-" && w != "-" && c < 0.7 * w) }'; then
		echo "  note: cold plain runs well below warm plain: the Python client, not postern, sets the cold pace"
	fi
	[ -n "$SPF_NOTE" ] && echo "$SPF_NOTE"
	warn_tail "$WORK/postern-spf.log" 3 spf
else
	echo "  not measured: $SPF_WHY"
	add_summary "FAIL (not measured: $SPF_WHY)" "spf warm (1 domain)" "-"
fi
# stop them now (and again, harmlessly, at exit)
[ -n "$SPF_PID" ] && stop_pid "$SPF_PID"
[ -n "$PLAIN_PID" ] && stop_pid "$PLAIN_PID"
[ -n "$UNBOUND_PID" ] && stop_pid "$UNBOUND_PID"

# ---------------------------------------------------------------- dkim
# Three more postern in front of the same sink, on loopback: "sign"
# (filters.chain = dkim_sign), "verify" (dkim_verify) and "plain" (none).
# Two keys made by scripts/keygen.sh, d=dkim.example: RSA-2048 (selector
# rsa) and Ed25519 (selector ed).  The signing table gives the RSA key to
# From: *@rsa.dkim.example, the Ed25519 key to *@ed.dkim.example and both
# to *@dual.dkim.example (multiple_signatures); the verify postern looks
# the keys up on an unbound on loopback, started like the spf one.
# smtp-source sends to plain and to sign or verify, alternating like the
# spf runs, at 1 and 100 sessions: to sign, 1 KiB messages from
# bench@KIND.dkim.example (smtp-source writes From: from -f); to verify,
# with -F, one message file signed once by dkimpy (RSA-2048, 1 KiB body).
# First 'postern test' with the same options shows that each kind gets its
# signatures and that the file verifies, and 'openssl speed' measures one
# core's sign and verify rates for the same key types (what the crypto
# alone costs).  Signing and verifying are set up apart: when one cannot
# run (no dkim_sign filter, no dkimpy), the other is still measured.
DKIM_ON=${BENCH_DKIM:-1}
DKIM_BUDGET=${BENCH_DKIM_BUDGET:-90}	# seconds; then remaining repetitions are skipped
DKIM_DIR=$WORK/dkim
# case id | kind | sessions | messages | label | target ratio
DKIM_CASES="
rsa1|rsa|1|2000|dkim sign RSA-2048|-
rsa100|rsa|100|5000|dkim sign RSA-2048|0.8
ed1|ed|1|2000|dkim sign Ed25519|-
ed100|ed|100|5000|dkim sign Ed25519|-
dual1|dual|1|2000|dkim sign RSA + Ed25519|-
dual100|dual|100|5000|dkim sign RSA + Ed25519|-
verify1|verify|1|2000|dkim verify RSA-2048|-
verify100|verify|100|5000|dkim verify RSA-2048|0.8
"
DKIM_WHY="" SIGN_WHY="" VERIFY_WHY=""
DKIM_PLAIN_PID="" SIGN_PID="" VERIFY_PID="" DKIM_UNBOUND_PID=""

# ossl_rates ALG...: one core's rates from one 'openssl speed' run, one
# line per ALG in the order openssl prints them (rsa, ecdsa, ecdh, eddsa):
# "sign/s verify/s", or "op/s" for a key exchange; "- -" when not measured
ossl_rates() {
	timeout $((30 * $#)) openssl speed -seconds 3 "$@" 2>/dev/null |
	    awk -v n=$# '/sign\/s/ { getline; print $(NF - 1), $NF; k++; next }
		/ op\/s/ { getline; print $NF; k++ }
		END { for (; k < n; k++) print "- -" }'
}

# dkim_test MESSAGE-FILE CHAIN [-o k=v]...: what 'postern test' prints for
# the message with that filter chain, or "ERR:why"
dkim_test() {
	local file=$1 chain=$2
	shift 2
	timeout 30 "$POSTERN" test -o "filters.chain=$chain" "$@" \
	    --from "$(sed -n 's/^From: <\(.*\)>$/\1/p' "$file")" --rcpt sink@example.com \
	    "$file" 2>&1 || echo "ERR:postern test failed"
}

dkim_keys() {	# keys, tables, the signed message; 0 when all are there
	local sel type
	mkdir -m 700 "$DKIM_DIR" || { DKIM_WHY="mkdir $DKIM_DIR failed"; return 1; }
	for sel in rsa ed; do
		type=rsa
		[ "$sel" = ed ] && type=ed25519
		"$HERE/keygen.sh" dkim.example "$sel" "$type" "$DKIM_DIR" \
		    >>"$DKIM_DIR/records" 2>"$DKIM_DIR/keygen.err" ||
		    { DKIM_WHY="keygen.sh: $(tail -n 1 "$DKIM_DIR/keygen.err")"; return 1; }
	done
	printf '%s\t%s\n' \
	    rsa "dkim.example:rsa:$DKIM_DIR/rsa.dkim.example.key" \
	    ed "dkim.example:ed:$DKIM_DIR/ed.dkim.example.key" >"$DKIM_DIR/KeyTable"
	printf '%s\t%s\n' '*@rsa.dkim.example' rsa '*@ed.dkim.example' ed \
	    '*@dual.dkim.example' rsa '*@dual.dkim.example' ed >"$DKIM_DIR/SigningTable"
	for sel in rsa ed dual; do
		printf 'From: <bench@%s.dkim.example>\nTo: <sink@example.com>\nSubject: probe\n\nHello.\n' \
		    "$sel" >"$DKIM_DIR/probe-$sel.eml"
	done
	"$PY" -c 'import dkim' 2>/dev/null ||
	    { VERIFY_WHY="dkimpy not found (apt-get install python3-dkim)"; return 0; }
	"$PY" - "$DKIM_DIR/rsa.dkim.example.key" "$DKIM_DIR/verify.eml" <<'PYEOF' ||
import email.utils, sys
import dkim
key, out = sys.argv[1], sys.argv[2]
body = b"".join(b"%04d %s\r\n" % (i, b"x" * 57) for i in range(16))    # 1 KiB
msg = (b"From: <bench@rsa.dkim.example>\r\nTo: <sink@example.com>\r\n"
       b"Subject: dkim bench\r\nDate: " + email.utils.formatdate().encode() +
       b"\r\nMessage-ID: <verify@rsa.dkim.example>\r\n\r\n" + body)
with open(key, "rb") as f:
    sig = dkim.sign(msg, b"rsa", b"dkim.example", f.read(),
                    canonicalize=(b"relaxed", b"relaxed"),
                    include_headers=[b"from", b"to", b"subject", b"date",
                                     b"message-id"])
with open(out, "wb") as f:      # LF line ends: smtp-source -F adds CRLF
    f.write((sig + msg).replace(b"\r\n", b"\n"))
PYEOF
	    VERIFY_WHY="dkimpy could not sign the message"
	return 0
}

dkim_start_verify() {	# the key server and the verify postern; VERIFY_WHY if not
	local uport=$1 vport=$2 got
	local -a zone
	mapfile -t zone < <(sed -n "s/^\([^ ]*\) IN TXT ( \(.*\) )\$/local-data: '\1 300 IN TXT \2'/p" \
	    "$DKIM_DIR/records")
	unbound_start dkim "$uport" 'local-zone: "dkim.example." static' "${zone[@]}" ||
	    { VERIFY_WHY=$WHY; return; }
	DKIM_UNBOUND_PID=$LAST_PID
	VERIFY_OPTS=(-o "dns.nameserver=127.0.0.1@$uport")
	postern_start dkim-verify 127.0.0.1 "$vport" dkim_verify "${VERIFY_OPTS[@]}" ||
	    { VERIFY_WHY=$WHY; return; }
	VERIFY_PID=$LAST_PID VERIFY_PORT=$vport
	got=$(dkim_test "$DKIM_DIR/verify.eml" dkim_verify "${VERIFY_OPTS[@]}" |
	    sed -n 's/^filter results *//p')
	echo "  probe: the message sent to verify, through postern test: ${got:-no result}"
	[ "$got" = dkim_verify=pass ] ||
	    VERIFY_WHY="probe: the signed message does not verify (${got:-no result})"
}

# dkim_probe KIND: signs the probe message from KIND.dkim.example with
# 'postern test' and the sign postern's options, then, when the verify side
# runs, verifies the result the same way; prints "ALGORITHMS RESULTS", such
# as "ed25519-sha256,rsa-sha256 pass,pass" ("-": not verified).
dkim_probe() {
	local f=$DKIM_DIR/probe-$1.eml out algs res=-
	out=$(dkim_test "$f" dkim_sign "${SIGN_OPTS[@]}")
	algs=$(printf '%s\n' "$out" | grep -o 'a=[a-z0-9]*-sha256' | cut -c3- | sort | paste -sd, -)
	if [ -n "$VERIFY_PID" ] && [ -z "$VERIFY_WHY" ]; then
		{
			printf '%s\n' "$out" | sed -n '/^added header/,/^action/p' |
			    sed -e '$d' -e 's/^added header *//'
			cat "$f"
		} >"$f.signed"
		res=$(dkim_test "$f.signed" dkim_verify "${VERIFY_OPTS[@]}" |
		    sed -n 's/^filter results *dkim_verify=//p')
	fi
	echo "${algs:-none} ${res:-none}"
}

# dkim_start: the plain, sign and verify postern and the key server; sets
# DKIM_WHY when nothing can be measured, SIGN_WHY or VERIFY_WHY for a side.
dkim_start() {
	local uport pport sport vport k got want
	read -r uport pport sport vport <<<"$(pick_ports 4)"
	[ -n "$vport" ] || { DKIM_WHY="no free ports"; return 1; }
	dkim_keys || return 1
	postern_start dkim-plain 127.0.0.1 "$pport" "" || { DKIM_WHY=$WHY; return 1; }
	DKIM_PLAIN_PID=$LAST_PID DKIM_PLAIN_PORT=$pport
	[ -z "$VERIFY_WHY" ] && dkim_start_verify "$uport" "$vport"
	SIGN_OPTS=(-o "dkim.key_table=$DKIM_DIR/KeyTable"
	    -o "dkim.signing_table=refile:$DKIM_DIR/SigningTable"
	    -o dkim.multiple_signatures=yes -o dkim.outbound=any)
	postern_start dkim-sign 127.0.0.1 "$sport" dkim_sign "${SIGN_OPTS[@]}" ||
	    { SIGN_WHY=$WHY; return 0; }
	SIGN_PID=$LAST_PID SIGN_PORT=$sport
	# Each kind must get its signatures (a= of each), and they must verify.
	for k in rsa:rsa-sha256:pass ed:ed25519-sha256:pass \
	    dual:ed25519-sha256,rsa-sha256:pass,pass; do
		got=$(dkim_probe "${k%%:*}")
		want=${k#*:}
		echo "  probe: a message from ${k%%:*}.dkim.example, through postern test: signed with ${got% *}, verifies: ${got#* }"
		case "${got% *}:${got#* }" in
		"$want"|"${want%:*}:-") ;;
		*) SIGN_WHY="probe: ${k%%:*} got '$got', not '${want/:/ }'" ;;
		esac
	done
	return 0
}

# shellcheck disable=SC2317  # (run by pair_run)
dkim_run() {	# dkim_run PORT SIDE: a pair_run runner for the current case
	run_one "$1" "$DKIM_SESS" "$DKIM_MSG" "$DKIM_N"
}

# dkim_case KIND: sets pid, port, why (empty when it can run) for KIND's
# filter side, and what smtp-source sends (DKIM_MSG, SRC_OPTS)
dkim_case() {
	local from=bench@$1.dkim.example
	if [ "$1" = verify ]; then
		pid=$VERIFY_PID port=${VERIFY_PORT:-} why=$VERIFY_WHY
		DKIM_MSG=$DKIM_DIR/verify.eml from=bench@rsa.dkim.example
	else
		pid=$SIGN_PID port=${SIGN_PORT:-} why=$SIGN_WHY DKIM_MSG=1024
	fi
	SRC_OPTS="-d -M bench.client -f $from -t sink@example.com"
}

echo
if [ "$DKIM_ON" = 0 ]; then
	echo "== dkim: skipped (BENCH_DKIM=0)"
else
	echo "== dkim: postern with filters.chain = dkim_sign or dkim_verify vs the same postern with no filters, 1 KiB messages"
	DKIM_START_S=$(elapsed_s)
	if dkim_start; then
		[ -n "$SIGN_WHY" ] && echo "  signing not measured: $SIGN_WHY"
		[ -n "$VERIFY_WHY" ] && echo "  verifying not measured: $VERIFY_WHY"
		read -r RSA_SIGN RSA_VERIFY <<<"$(ossl_rates rsa2048)"
		read -r ED_SIGN ED_VERIFY <<<"$(ossl_rates ed25519)"
		echo "  openssl speed, one core: RSA-2048 sign $RSA_SIGN/s verify $RSA_VERIFY/s; Ed25519 sign $ED_SIGN/s verify $ED_VERIFY/s"
		# warm-up, not counted
		for kind in rsa verify; do
			dkim_case "$kind"
			[ -z "$why" ] && run_one "$port" 10 "$DKIM_MSG" 200 >/dev/null
			run_one "$DKIM_PLAIN_PORT" 10 "$DKIM_MSG" 200 >/dev/null
		done
		DKIM_SKIPPED=0
		for rep in $(seq 1 "$REPS"); do
			while IFS='|' read -r id kind sess n label tgt; do
				[ -n "$id" ] || continue
				dkim_case "$kind"
				[ -z "$why" ] || continue
				if [ "$rep" -gt 1 ] && [ $(($(elapsed_s) - DKIM_START_S)) -ge "$DKIM_BUDGET" ]; then
					DKIM_SKIPPED=$((DKIM_SKIPPED + 1))
					continue
				fi
				DKIM_SESS=$sess DKIM_N=$n
				pair_run "$rep" "dkim-$id" "$n" dkim_run dkim "$DKIM_PLAIN_PID" \
				    "$DKIM_PLAIN_PORT" "$pid" "$port"
			done <<<"$DKIM_CASES"
		done
		echo
		ratio_head dkim
		KEYS=""
		while IFS='|' read -r id kind sess n label tgt; do
			[ -n "$id" ] || continue
			ratio_row "dkim-$id" "$label" "$sess" "$n" "$tgt"
			KEYS="$KEYS dkim-$id"
		done <<<"$DKIM_CASES"
		# shellcheck disable=SC2086
		raw_runs dkim $KEYS
		# What the filter adds to postern's CPU time per message, at 100
		# sessions, next to what the crypto alone takes on one core.
		printf '  postern CPU per message added by the filter (100 sessions) vs openssl alone:'
		for k in rsa:"$RSA_SIGN" ed:"$ED_SIGN" dual:"$RSA_SIGN":"$ED_SIGN" verify:"$RSA_VERIFY"; do
			awk -v k="${k%%:*}" -v p="$(cpu_us "dkim-${k%%:*}100-plain")" \
			    -v f="$(cpu_us "dkim-${k%%:*}100-filter")" -v r="${k#*:}" 'BEGIN {
				n = split(r, v, ":"); c = 0
				for (i = 1; i <= n; i++) c = (v[i] > 0 && c >= 0) ? c + 1e6 / v[i] : -1
				printf "\n    %-7s %s us (openssl %s us)", k,
				    (p == "-" || f == "-") ? "-" : sprintf("%.0f", f - p),
				    c < 0 ? "-" : sprintf("%.0f", c) }'
		done
		echo
		echo "  ($(nproc) cores, shared by postern, smtp-source and the sink; one core signs at most $RSA_SIGN RSA-2048 messages/s)"
		budget_note dkim "$DKIM_BUDGET" "$DKIM_SKIPPED"
		for k in sign verify; do
			warn_tail "$WORK/postern-dkim-$k.log" 3 "dkim $k"
		done
	else
		echo "  not measured: $DKIM_WHY"
		add_summary "FAIL (not measured: $DKIM_WHY)" "dkim" "-"
	fi
	echo "  (dkim section took $(($(elapsed_s) - DKIM_START_S))s)"
	for pid in $SIGN_PID $VERIFY_PID $DKIM_PLAIN_PID $DKIM_UNBOUND_PID; do stop_pid "$pid"; done
fi

# ---------------------------------------------------------------- tls
# Two more postern in front of the same sink, each with a plain listener
# (STARTTLS offered) and an implicit-TLS one (proxy.listen_tls): "rsa" with
# an RSA-2048 certificate, "ec" with an ECDSA P-256 one, leaves of a
# private P-256 CA made here by openssl (as tests/integ/test_tls.py does).
# Every connection is a new session and every handshake a full one (no
# client offers a session to resume); TLS 1.3 with X25519, the defaults of
# both sides, as the openssl s_client probe shows.
#  STARTTLS: scripts/tls_sessions.py (Python ssl, a process per core with
#     threads) runs sessions of EHLO, STARTTLS, handshake, EHLO, QUIT, and
#     as a second case with one 1 KiB message before QUIT, 1 and 50 at a
#     time, against the same sessions without STARTTLS on the same postern
#     (pair_run, sides "plain" and "tls"): the ratio tls/plain is what TLS
#     costs.
#  implicit TLS: openssl s_time -new (C; handshake only, no SMTP) on the
#     proxy.listen_tls port, 1 and 50 at a time, and for reference the
#     same against 'openssl s_server' with the same certificate: what
#     OpenSSL alone takes per handshake.
# The server's CPU time per connection comes from /proc, as in the filter
# comparisons: steadier than rates on a small host, where the clients need
# about as much CPU as postern does.  The client's CPU time and how busy
# postern was (its CPU time / wall time) show who set the pace.
# 'openssl speed' (one core, before the runs) prices the handshake's
# crypto: the server signs once (RSA-2048 or ECDSA P-256) and does one
# X25519 exchange, so one core can do at most 1 / (sign + X25519)
# handshakes/s; postern's handshakes per CPU second are printed against it.
TLS_ON=${BENCH_TLS:-1}
TLS_BUDGET=${BENCH_TLS_BUDGET:-60}	# seconds; then remaining repetitions are skipped
TLS_DIR=$WORK/tls
TLS_STIME_S=2		# seconds of one s_time run
# case id | key | sessions at a time | message bytes (- none) | connections | label
TLS_CASES="
rsa1|rsa|1|-|500|STARTTLS RSA-2048
rsa50|rsa|50|-|800|STARTTLS RSA-2048
rsam1|rsa|1|1024|300|STARTTLS RSA-2048 + msg
rsam50|rsa|50|1024|700|STARTTLS RSA-2048 + msg
ec1|ec|1|-|500|STARTTLS ECDSA P-256
ec50|ec|50|-|800|STARTTLS ECDSA P-256
ecm1|ec|1|1024|300|STARTTLS P-256 + msg
ecm50|ec|50|1024|700|STARTTLS P-256 + msg
"
TLS_WHY=""
# by key (rsa, ec): postern, its plain and implicit-TLS ports, the
# reference s_server and its port
declare -A TLS_PID TLS_PORT TLS_IPORT REF_PID REF_PORT

tls_certs() {	# a P-256 CA and leaves $TLS_DIR/{rsa,ec}.{pem,key}; TLS_WHY if not
	local k
	local -a newkey
	mkdir -m 700 "$TLS_DIR" || { TLS_WHY="mkdir $TLS_DIR failed"; return 1; }
	printf 'subjectAltName=DNS:mx.bench.example\n' >"$TLS_DIR/leaf.ext"
	{
		timeout 30 openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		    -nodes -keyout "$TLS_DIR/ca.key" -out "$TLS_DIR/ca.pem" -days 2 \
		    -subj "/CN=postern bench CA" || return 1
		for k in rsa ec; do
			newkey=(-newkey rsa:2048)
			[ "$k" = ec ] && newkey=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
			timeout 30 openssl req "${newkey[@]}" -nodes -keyout "$TLS_DIR/$k.key" \
			    -out "$TLS_DIR/$k.csr" -subj /CN=mx.bench.example &&
			timeout 30 openssl x509 -req -in "$TLS_DIR/$k.csr" -CA "$TLS_DIR/ca.pem" \
			    -CAkey "$TLS_DIR/ca.key" -CAcreateserial -days 2 \
			    -extfile "$TLS_DIR/leaf.ext" -out "$TLS_DIR/$k.pem" || return 1
		done
	} >"$TLS_DIR/openssl.log" 2>&1 ||
	    { TLS_WHY="openssl: $(tail -n 1 "$TLS_DIR/openssl.log")"; return 1; }
}

# tls_probe KEY: "PROTOCOL CIPHER SIGNATURE KEY-EXCHANGE VERIFIED" of one
# STARTTLS handshake with the KEY postern (openssl s_client, checking the
# certificate against the bench CA), "-" for what it did not see
tls_probe() {
	echo QUIT | timeout 10 openssl s_client -brief -starttls smtp \
	    -CAfile "$TLS_DIR/ca.pem" -verify_hostname mx.bench.example \
	    -connect "127.0.0.1:${TLS_PORT[$1]}" 2>&1 |
	    awk -F': ' '/^Protocol version:/ { p = $2 } /^Ciphersuite:/ { c = $2 }
		/^Signature type:/ { s = $2 } /^Verification:/ { v = $2 }
		/^Server Temp Key:/ { x = $2; sub(/,.*/, "", x) }
		END { printf "%s %s %s %s %s\n", p ? p : "-", c ? c : "-",
		    s ? s : "-", x ? x : "-", v ? v : "-" }'
}

# tls_start: certificates, the rsa and ec postern and the reference
# s_servers; TLS_WHY when they cannot run as the bench expects
tls_start() {
	local k sig got p1 p2 p3 p4 p5 p6
	command -v openssl >/dev/null 2>&1 || { TLS_WHY="openssl not found"; return 1; }
	[ -r "$HERE/tls_sessions.py" ] || { TLS_WHY="$HERE/tls_sessions.py missing"; return 1; }
	read -r p1 p2 p3 p4 p5 p6 <<<"$(pick_ports 6)"
	[ -n "$p6" ] || { TLS_WHY="no free ports"; return 1; }
	TLS_PORT=([rsa]=$p1 [ec]=$p2) TLS_IPORT=([rsa]=$p3 [ec]=$p4) REF_PORT=([rsa]=$p5 [ec]=$p6)
	tls_certs || return 1
	for k in rsa ec; do
		postern_start "tls-$k" 127.0.0.1 "${TLS_PORT[$k]}" "" \
		    -o "proxy.listen_tls=127.0.0.1:${TLS_IPORT[$k]}" \
		    -o "tls.cert=$TLS_DIR/$k.pem" -o "tls.key=$TLS_DIR/$k.key" ||
		    { TLS_WHY=$WHY; return 1; }
		TLS_PID[$k]=$LAST_PID
		wait_listen "${TLS_IPORT[$k]}" "$LAST_PID" ||
		    { TLS_WHY="postern (tls-$k) does not listen on ${TLS_IPORT[$k]}"; return 1; }
		openssl s_server -accept "127.0.0.1:${REF_PORT[$k]}" -naccept 1000000 -quiet \
		    -cert "$TLS_DIR/$k.pem" -key "$TLS_DIR/$k.key" \
		    </dev/null >"$TLS_DIR/s_server-$k.log" 2>&1 &
		REF_PID[$k]=$!
		PIDS="$PIDS ${REF_PID[$k]}"
		wait_listen "${REF_PORT[$k]}" "${REF_PID[$k]}" ||
		    { TLS_WHY="openssl s_server ($k) did not start: $(tail -n 1 "$TLS_DIR/s_server-$k.log")"; return 1; }
		# The handshake must be the one the ceiling prices.
		sig=RSA-PSS
		[ "$k" = ec ] && sig=ECDSA
		got=$(tls_probe "$k")
		echo "  probe: STARTTLS with the $k postern (openssl s_client): $got"
		case $got in
		"TLSv1.3 "*" $sig X25519 OK") ;;
		*) TLS_WHY="probe: $k got '$got', not 'TLSv1.3 ... $sig X25519 OK'"; return 1 ;;
		esac
	done
	return 0
}

# shellcheck disable=SC2317  # (run by pair_run)
tls_run() {	# tls_run PORT SIDE: a pair_run runner for the current case (TLS_*); SIDE plain: no STARTTLS
	local mode=starttls b a out rc
	local -a msg=()
	[ "$2" = plain ] && mode=plain
	[ "$TLS_MSG" = - ] || msg=(--message "$TLS_MSG")
	b=$(sink_mesg)
	out=$(timeout "$RUN_TIMEOUT" "$PY" "$HERE/tls_sessions.py" --port "$1" --mode "$mode" \
	    --sessions "$TLS_SESS" --count "$TLS_N" --timeout $((RUN_TIMEOUT - 15)) \
	    "${msg[@]}" 2>"$TLS_DIR/client.err")
	rc=$?
	a=$(sink_mesg)
	if [ "$rc" -eq 124 ]; then echo "ERR:timeout"; return; fi
	if [ -z "$out" ]; then
		echo "ERR:rc=$rc:$(tail -n 1 "$TLS_DIR/client.err" | tr -s ' \t' '__' | cut -c1-80)"
		return
	fi
	if [ "$rc" -ne 0 ]; then
		echo "ERR:$(field errors "$out")-errors:$(field first_error "$out")"
		return
	fi
	if [ "$(field reused "$out")" != 0 ]; then echo "ERR:$(field reused "$out")-resumed"; return; fi
	if [ "$TLS_MSG" != - ] && [ $((a - b)) -ne "$TLS_N" ]; then
		echo "ERR:sink-got-$((a - b))-of-$TLS_N"
		return
	fi
	echo "$TLS_KEY-$2 $(field client_cpu_s "$out") $(field seconds "$out")" >>"$TLS_DIR/client.cpu"
	field rate "$out"
}

# tls_stime KEY PORT PID CLIENTS: CLIENTS 'openssl s_time -new' at once,
# TLS_STIME_S seconds each, against the implicit-TLS server PID on PORT;
# records the rate and PID's CPU time per handshake under KEY, as pair_run
# does, and prints the run
tls_stime() {
	local key=$1 port=$2 pid=$3 k c0 c1 t0 t1 n rc=0 pids="" r
	c0=$(cpu_ticks "$pid")
	t0=$(now_ns)
	for k in $(seq 1 "$4"); do
		timeout $((TLS_STIME_S + 20)) openssl s_time -connect "127.0.0.1:$port" \
		    -new -time "$TLS_STIME_S" </dev/null >"$TLS_DIR/stime.$k" 2>&1 &
		pids="$pids $!"
	done
	PIDS="$PIDS$pids"	# stopped at exit if interrupted; dropped once reaped
	for k in $pids; do wait "$k" || rc=$?; done
	PIDS=${PIDS%"$pids"}
	t1=$(now_ns)
	c1=$(cpu_ticks "$pid")
	n=$(cat "$TLS_DIR"/stime.* | awk '/connections in .* real seconds/ { n += $1 } END { print n + 0 }')
	if [ "$rc" -ne 0 ]; then
		r="ERR:s_time-rc=$rc:$(grep -h -m 1 -i error "$TLS_DIR"/stime.* | head -n 1 | tr -s ' \t' '__' | cut -c1-60)"
	elif [ "$n" -eq 0 ] || ! kill -0 "$pid" 2>/dev/null; then
		r="ERR:no-handshakes"
	else
		r=$(awk -v n="$n" -v ns=$((t1 - t0)) 'BEGIN { printf "%.1f\n", n * 1e9 / ns }')
		if isnum "$c0" && isnum "$c1"; then
			CPU[$key]=$(( ${CPU[$key]:-0} + c1 - c0 ))
			CNT[$key]=$(( ${CNT[$key]:-0} + n ))
		fi
	fi
	rm -f "$TLS_DIR"/stime.*
	RATE[$key]="${RATE[$key]:-} $r"
	printf '  rep %d  %-14s %-6s %s\n' "$rep" "$key" "$4-cli" "$r"
}

# tls_pace KEY-SIDE: "POSTERN/CLIENT BUSY": postern's and the client's CPU
# us per connection, and postern's CPU time / the runs' wall time
tls_pace() {
	awk -v k="$1" -v t="${CPU[$1]:-}" -v n="${CNT[$1]:-0}" -v hz="$CLK_TCK" \
	    -v p="$(cpu_us "$1")" '$1 == k { c += $2; s += $3 } END {
		printf "%s/%s %s", p, (n > 0 && s > 0) ? sprintf("%.0f", c * 1e6 / n) : "-",
		    (s > 0 && t != "") ? sprintf("%.0f%%", t * 100 / hz / s) : "-" }' \
	    "$TLS_DIR/client.cpu" 2>/dev/null
}

# tls_ceiling LABEL US FLOOR-US...: one line of the ceiling table, for
# postern CPU per handshake US of each key; FLOOR-US the crypto's
tls_ceiling() {
	printf '    %-38s' "$1"
	shift
	awk -v a="$1" -v b="$2" -v fa="$3" -v fb="$4" 'function cell(u, f) {
		if (u == "-" || u <= 0) return sprintf("%-20s", "-")
		return sprintf("%-20s", sprintf("%.0f/s (%.2f)", 1e6 / u, f == "-" ? 0 : f / u)) }
	    BEGIN { print cell(a, fa) cell(b, fb) }'
}

echo
if [ "$TLS_ON" = 0 ]; then
	echo "== tls: skipped (BENCH_TLS=0)"
else
	echo "== tls: new sessions with STARTTLS through postern vs the same sessions without, RSA-2048 and ECDSA P-256 certificates"
	TLS_START_S=$(elapsed_s)
	if tls_start; then
		mapfile -t SPEED < <(ossl_rates rsa2048 ecdsap256 ecdhx25519)
		RSA_SIGN=${SPEED[0]%% *} EC_SIGN=${SPEED[1]%% *} X25519_OPS=${SPEED[2]%% *}
		echo "  openssl speed, one core: RSA-2048 sign $RSA_SIGN/s, ECDSA P-256 sign $EC_SIGN/s, X25519 $X25519_OPS/s"
		# warm-up, not counted
		for k in rsa ec; do
			TLS_KEY=warm TLS_SESS=10 TLS_MSG=- TLS_N=200
			tls_run "${TLS_PORT[$k]}" tls >/dev/null
		done
		TLS_SKIPPED=0
		for rep in $(seq 1 "$REPS"); do
			while IFS='|' read -r id key sess bytes n label; do
				[ -n "$id" ] || continue
				if [ "$rep" -gt 1 ] && [ $(($(elapsed_s) - TLS_START_S)) -ge "$TLS_BUDGET" ]; then
					TLS_SKIPPED=$((TLS_SKIPPED + 1))
					continue
				fi
				TLS_KEY=tls-$id TLS_SESS=$sess TLS_MSG=$bytes TLS_N=$n
				pair_run "$rep" "tls-$id" "$n" tls_run tls "${TLS_PID[$key]}" \
				    "${TLS_PORT[$key]}" "${TLS_PID[$key]}" "${TLS_PORT[$key]}"
			done <<<"$TLS_CASES"
			for key in rsa ec; do
				if [ "$rep" -gt 1 ] && [ $(($(elapsed_s) - TLS_START_S)) -ge "$TLS_BUDGET" ]; then
					TLS_SKIPPED=$((TLS_SKIPPED + 3))
					continue
				fi
				tls_stime "tls-$key-s1" "${TLS_IPORT[$key]}" "${TLS_PID[$key]}" 1
				tls_stime "tls-$key-s50" "${TLS_IPORT[$key]}" "${TLS_PID[$key]}" 50
				tls_stime "tls-$key-ref" "${REF_PORT[$key]}" "${REF_PID[$key]}" 1
			done
		done
		echo
		echo "conn: one connection with one session; + msg: with one 1 KiB message"
		ratio_head tls conn
		KEYS=""
		while IFS='|' read -r id key sess bytes n label; do
			[ -n "$id" ] || continue
			ratio_row "tls-$id" "$label" "$sess" "$n" -
			KEYS="$KEYS tls-$id"
		done <<<"$TLS_CASES"
		# shellcheck disable=SC2086
		UNIT=conn raw_runs tls $KEYS
		echo "who set the pace: CPU us per connection of postern/the Python client, and how busy postern was (its CPU time / wall time):"
		while IFS='|' read -r id key sess bytes n label; do
			[ -n "$id" ] || continue
			printf '  %-24s %4d   plain %-18s tls %s\n' "$label" "$sess" \
			    "$(tls_pace "tls-$id-plain")" "$(tls_pace "tls-$id-filter")"
		done <<<"$TLS_CASES"
		echo "implicit TLS, openssl s_time -new (handshake only, no SMTP): handshakes/s (median) and the server's CPU us per handshake:"
		for key in rsa ec; do
			printf '  %-4s' "$key"
			sep=""
			for k in s1:"postern, 1 client" s50:"postern, 50 clients" ref:"openssl s_server, 1 client"; do
				# shellcheck disable=SC2086
				printf '%s %s: %s/s %s us' "$sep" "${k#*:}" "$(median ${RATE[tls-$key-${k%%:*}]:-})" \
				    "$(cpu_us "tls-$key-${k%%:*}")"
				sep=";"
			done
			echo
		done
		# The crypto of one handshake on one core, in us: one signature
		# and one X25519 exchange.
		FLOOR_RSA=$(awk -v s="$RSA_SIGN" -v x="$X25519_OPS" 'BEGIN { print (s > 0 && x > 0) ? 1e6 / s + 1e6 / x : "-" }')
		FLOOR_EC=$(awk -v s="$EC_SIGN" -v x="$X25519_OPS" 'BEGIN { print (s > 0 && x > 0) ? 1e6 / s + 1e6 / x : "-" }')
		awk -v a="$FLOOR_RSA" -v b="$FLOOR_EC" 'function c(f) { return f == "-" ? "-" : sprintf("%.0f/s (%.0f us)", 1e6 / f, f) }
		    BEGIN { printf "handshake ceiling of one core, 1 / (sign + X25519): RSA-2048 %s, ECDSA P-256 %s\n", c(a), c(b) }'
		echo "handshakes per second of the server's CPU time (ratio to that ceiling):"
		printf '    %-38s%-20s%-20s\n' "" RSA-2048 "ECDSA P-256"
		tls_ceiling "STARTTLS sessions, 50 clients" "$(cpu_us tls-rsa50-filter)" \
		    "$(cpu_us tls-ec50-filter)" "$FLOOR_RSA" "$FLOOR_EC"
		tls_ceiling "  the TLS part (tls - plain CPU)" \
		    "$(awk -v f="$(cpu_us tls-rsa50-filter)" -v p="$(cpu_us tls-rsa50-plain)" 'BEGIN { print (f == "-" || p == "-") ? "-" : f - p }')" \
		    "$(awk -v f="$(cpu_us tls-ec50-filter)" -v p="$(cpu_us tls-ec50-plain)" 'BEGIN { print (f == "-" || p == "-") ? "-" : f - p }')" \
		    "$FLOOR_RSA" "$FLOOR_EC"
		tls_ceiling "implicit TLS (s_time), 50 clients" "$(cpu_us tls-rsa-s50)" \
		    "$(cpu_us tls-ec-s50)" "$FLOOR_RSA" "$FLOOR_EC"
		tls_ceiling "openssl s_server (s_time), 1 client" "$(cpu_us tls-rsa-ref)" \
		    "$(cpu_us tls-ec-ref)" "$FLOOR_RSA" "$FLOOR_EC"
		echo "  ($(nproc) cores, shared by postern, the clients and the sink)"
		budget_note tls "$TLS_BUDGET" "$TLS_SKIPPED"
		for k in rsa ec; do
			warn_tail "$WORK/postern-tls-$k.log" 3 "tls $k"
		done
	else
		echo "  not measured: $TLS_WHY"
	fi
	echo "  (tls section took $(($(elapsed_s) - TLS_START_S))s)"
	for pid in "${TLS_PID[@]}" "${REF_PID[@]}"; do stop_pid "$pid"; done
fi

# ---------------------------------------------------------------- milter
# The two milter jobs, each against the same path without the milter:
#  postfix: a private Postfix on loopback (its own config directory under
#     $WORK, no chroot, relaying everything to the sink) with two smtpd
#     listeners, one plain and one with smtpd_milters pointing at a
#     'postern milter' that runs filters.chain = regex with the shipped
#     rules/default.rules (header and body rules on every message, no
#     DNS); milter_default_action = tempfail, so a failing milter shows as
#     errors.  smtp-source gets its 250 once Postfix has queued the
#     message: the rate is Postfix's intake, and each run waits, untimed
#     and bounded, until the sink has all its messages, so that no queue
#     is left for the next run.  Ratio milter/alone.
#  proxy: postern with filters.chain = milter calling an OpenDKIM that
#     signs (RSA-2048, Mode s, as tests/integ/test_dkim_interop.py runs
#     it), and calling the same 'postern milter' as above (a C milter
#     that is cheap next to an RSA signature, so what the milter protocol
#     itself costs the proxy shows), against a postern with no filters.
#     The OpenDKIM cases send one message per session (smtp-source
#     without -d), the others persistent sessions: through the milter
#     filter OpenDKIM signed only one message of a session (the probe
#     counts them), so persistent sessions would mostly measure messages
#     it does not sign.
# A probe first: a message with the EICAR test string is refused (554,
# from a default.rules rule) through Postfix + postern milter and through
# the proxy calling postern milter, and accepted by Postfix alone; and
# three messages in one session through a probe postern calling OpenDKIM
# reach an smtp-sink -d, at least one with its DKIM-Signature.  CPU us/msg: the column holds postern's
# (the proxy) or, for Postfix, the milter's only (Postfix's processes
# come and go); the milter's own CPU time per message follows the table.
MILTER_ON=${BENCH_MILTER:-1}
MILTER_BUDGET=${BENCH_MILTER_BUDGET:-60}	# seconds; then remaining repetitions are skipped
MILTER_DIR=$WORK/milter
# case id | kind | sessions | messages | label
MILTER_CASES="
pf1|postfix|1|150|Postfix+postern milter
pf50|postfix|50|2000|Postfix+postern milter
odk1|opendkim|1|100|proxy+OpenDKIM (1/sess)
odk50|opendkim|50|1000|proxy+OpenDKIM (1/sess)
pm1|pmilter|1|1500|proxy+postern milter
pm50|pmilter|50|4000|proxy+postern milter
"
MILTER_WHY=""
PF_ETC="" PF_MASTER="" MFRONT_PID="" ODK_PID="" MPLAIN_PID="" MODK_PID="" MPM_PID=""

# milter_probe PORT FILE: the reply code a message (FILE, LF line ends)
# from bench@dkim.example gets at PORT, with ":EICAR" when the reply's
# text names it (the default.rules rule), or ERR:why
milter_probe() {
	timeout 30 "$PY" - "$1" "$2" <<'PYEOF'
import smtplib, sys
port, path = int(sys.argv[1]), sys.argv[2]
try:
    with open(path, "rb") as f:
        msg = f.read().replace(b"\n", b"\r\n")     # smtplib sends bytes as they are
    with smtplib.SMTP("127.0.0.1", port, "bench.client", timeout=20) as s:
        s.sendmail("bench@dkim.example", ["sink@example.com"], msg)
    print(250)
except smtplib.SMTPResponseException as e:
    print("%d%s" % (e.smtp_code, ":EICAR" if b"EICAR" in e.smtp_error else ""))
except smtplib.SMTPRecipientsRefused as e:
    print(list(e.recipients.values())[0][0])
except Exception as e:
    print("ERR:%s" % type(e).__name__)
PYEOF
}

# pf_start PORT MPORT MILTER: a private Postfix in $MILTER_DIR/postfix
# relaying to the sink, smtpd on 127.0.0.1:PORT and, with smtpd_milters =
# MILTER (inet:host:port), on 127.0.0.1:MPORT.  Sets PF_ETC and PF_MASTER
# (in PIDS); MILTER_WHY when it does not start.
pf_start() {
	local d=$MILTER_DIR/postfix
	if ! (mkdir -p "$d/etc" "$d/queue" "$d/data" && chown postfix "$d/data" &&
	    cp /etc/postfix/master.cf "$d/etc/" && : >"$d/etc/main.cf"); then
		MILTER_WHY="cannot make $d"
		return 1
	fi
	PF_ETC=$d/etc
	{
		postconf -c "$PF_ETC" -e compatibility_level=3.6 \
		    "queue_directory=$d/queue" "data_directory=$d/data" \
		    inet_interfaces=127.0.0.1 inet_protocols=ipv4 \
		    myhostname=mx.bench.example mydestination= alias_maps= \
		    alias_database= mynetworks=127.0.0.0/8 \
		    "maillog_file=$d/maillog" "maillog_file_prefixes=$d" \
		    "relayhost=[127.0.0.1]:$SINK_PORT" smtp_dns_support_level=disabled \
		    smtpd_peername_lookup=no milter_protocol=6 \
		    milter_default_action=tempfail &&
		postconf -c "$PF_ETC" -F '*/*/chroot = n' &&
		postconf -c "$PF_ETC" -MX smtp/inet &&
		postconf -c "$PF_ETC" -Me "127.0.0.1:$1/inet = 127.0.0.1:$1 inet n - n - - smtpd" &&
		postconf -c "$PF_ETC" -Me "127.0.0.1:$2/inet = 127.0.0.1:$2 inet n - n - - smtpd -o smtpd_milters=$3" &&
		timeout 60 postfix -c "$PF_ETC" start
	} </dev/null >"$d/start.log" 2>&1 ||
	    { MILTER_WHY="postfix: $(tail -n 1 "$d/start.log")"; return 1; }
	PF_MASTER=$(tr -dc 0-9 <"$d/queue/pid/master.pid" 2>/dev/null)
	[ -n "$PF_MASTER" ] || { MILTER_WHY="postfix: no master.pid"; return 1; }
	PIDS="$PF_MASTER $PIDS"	# stopped (and its children with it) before the sink
	wait_listen "$1" "$PF_MASTER" && wait_listen "$2" "$PF_MASTER" && return 0
	MILTER_WHY="postfix does not listen on $1 and $2: $(tail -n 2 "$d/maillog" 2>/dev/null | tr '\n' ' ')"
	return 1
}

pf_stop() {	# 'postfix stop', then the master and any daemon left of this instance, by PID
	local pid _
	[ -n "$PF_ETC" ] || return 0
	timeout 20 postfix -c "$PF_ETC" stop </dev/null >/dev/null 2>&1
	[ -n "$PF_MASTER" ] && stop_pid "$PF_MASTER"
	while IFS=/ read -r _ _ pid _; do
		stop_pid "$pid"
	done < <(grep -lzax "MAIL_CONFIG=$PF_ETC" /proc/[0-9]*/environ 2>/dev/null)
}

# odk_start PORT: an OpenDKIM signing as a milter on inet:PORT@127.0.0.1
# (RSA-2048 key for d=dkim.example, selector rsa); ODK_PID, MILTER_WHY
odk_start() {
	local d=$MILTER_DIR/opendkim
	command -v opendkim >/dev/null 2>&1 || { MILTER_WHY="opendkim not found"; return 1; }
	mkdir -m 700 "$d" || { MILTER_WHY="mkdir $d failed"; return 1; }
	"$HERE/keygen.sh" dkim.example rsa rsa "$d" >/dev/null 2>"$d/keygen.err" ||
	    { MILTER_WHY="keygen.sh: $(tail -n 1 "$d/keygen.err")"; return 1; }
	# No UserID: it stays root.  RequireSafeKeys no: opendkim checks
	# every directory above the key, and /tmp is world-writable.
	printf '%s\n' "Mode s" "Canonicalization relaxed/relaxed" "Background no" \
	    "Syslog no" "RequireSafeKeys no" "Domain dkim.example" "Selector rsa" \
	    "KeyFile $d/rsa.dkim.example.key" >"$d/opendkim.conf"
	opendkim -f -x "$d/opendkim.conf" -p "inet:$1@127.0.0.1" \
	    </dev/null >"$d/opendkim.log" 2>&1 &
	ODK_PID=$!
	PIDS="$ODK_PID $PIDS"
	wait_listen "$1" "$ODK_PID" && return 0
	MILTER_WHY="opendkim did not start: $(tail -n 2 "$d/opendkim.log" | tr '\n' ' ')"
	return 1
}

# odk_probe: three messages in one session through a probe postern
# calling OpenDKIM into a probe smtp-sink that keeps them (-d); prints the
# a= and d= of a DKIM-Signature and how many were signed ("a=rsa-sha256
# d=dkim.example, 3 of 3 signed"), or what went wrong
odk_probe() {
	local sport pport spid dump=$MILTER_DIR/dump r f n
	read -r sport pport <<<"$(pick_ports 2)"
	[ -n "$pport" ] || { echo "no free ports"; return; }
	mkdir -p "$dump" && chown nobody "$dump"
	# shellcheck disable=SC2086
	smtp-sink $SINK_USER -d "$dump/%M." "127.0.0.1:$sport" 100 \
	    </dev/null >/dev/null 2>"$MILTER_DIR/probe-sink.err" &
	spid=$!
	PIDS="$PIDS $spid"
	if ! wait_listen "$sport" "$spid"; then
		echo "probe smtp-sink did not start"
	elif ! SINK_PORT=$sport postern_start milter-probe 127.0.0.1 "$pport" milter \
	    -o "milter.milters=inet:127.0.0.1:$ODK_PORT"; then
		echo "$WHY"
	else
		timeout 30 smtp-source -d -M bench.client -f bench@dkim.example -t sink@example.com \
		    -s 1 -l 100 -m 3 "127.0.0.1:$pport" >"$MILTER_DIR/probe-source.out" 2>&1
		r=$?
		stop_pid "$LAST_PID"
		n=$(find "$dump" -type f | wc -l)
		f=$(grep -l '^DKIM-Signature:' -r "$dump" | head -n 1)
		if [ "$r" -ne 0 ] || [ "$n" -ne 3 ]; then
			echo "smtp-source exit $r, $n of 3 messages at the probe sink"
		elif [ -z "$f" ]; then
			echo "no DKIM-Signature at the probe sink"
		else
			echo "$(tr -d '\r' <"$f" | sed -n '/^DKIM-Signature:/,/^[^ \t]/p' | tr -d ' \t\n' |
			    grep -o '[;:]d=[^;]*;\|[;:]a=[^;]*;' | tr -d ':;' | sort | paste -sd' ' -),"\
			    "$(grep -l '^DKIM-Signature:' -r "$dump" | wc -l) of 3 signed"
		fi
	fi
	stop_pid "$spid"
}

# milter_start: the milter front end, Postfix, OpenDKIM and the three
# proxies (plain, calling OpenDKIM, calling postern milter); the probes.
# MILTER_WHY when the comparison cannot run as described.
milter_start() {
	local mport pport pmport oport p1 p2 p3 got
	command -v postfix >/dev/null 2>&1 || { MILTER_WHY="postfix not found"; return 1; }
	read -r mport pport pmport oport p1 p2 p3 <<<"$(pick_ports 7)"
	[ -n "$p3" ] || { MILTER_WHY="no free ports"; return 1; }
	# Postfix's daemons (user postfix) and smtp-sink -d (nobody) must
	# reach their directories under $WORK.
	if ! chmod 711 "$WORK" || ! mkdir -m 755 "$MILTER_DIR"; then
		MILTER_WHY="mkdir $MILTER_DIR failed"
		return 1
	fi
	# shellcheck disable=SC2016  # (the EICAR test string, as it is)
	printf 'From: <bench@dkim.example>\nTo: <sink@example.com>\nSubject: probe\n\n%s\n' \
	    'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' >"$MILTER_DIR/eicar.eml"
	"$POSTERN" milter -o "milter.socket=inet:$mport@127.0.0.1" -o filters.chain=regex \
	    -o "regex.rules=$HERE/../rules/default.rules" -o log.level=warning \
	    </dev/null >/dev/null 2>"$WORK/postern-milter.log" &
	MFRONT_PID=$!
	PIDS="$MFRONT_PID $PIDS"
	wait_listen "$mport" "$MFRONT_PID" ||
	    { MILTER_WHY="postern milter did not start: $(tail -n 2 "$WORK/postern-milter.log" | tr '\n' ' ')"; return 1; }
	pf_start "$pport" "$pmport" "inet:127.0.0.1:$mport" || return 1
	PF_PORT=$pport PF_MPORT=$pmport
	postern_start milter-plain 127.0.0.1 "$p1" "" || { MILTER_WHY=$WHY; return 1; }
	MPLAIN_PID=$LAST_PID MPLAIN_PORT=$p1
	postern_start milter-pm 127.0.0.1 "$p2" milter -o "milter.milters=inet:127.0.0.1:$mport" ||
	    { MILTER_WHY=$WHY; return 1; }
	MPM_PID=$LAST_PID MPM_PORT=$p2
	got="$(milter_probe "$PF_PORT" "$MILTER_DIR/eicar.eml") $(milter_probe "$PF_MPORT" "$MILTER_DIR/eicar.eml") $(milter_probe "$MPM_PORT" "$MILTER_DIR/eicar.eml")"
	echo "  probe: a message with the EICAR string through Postfix alone, Postfix + postern milter, the proxy + postern milter: $got"
	[ "$got" = "250 554:EICAR 554:EICAR" ] ||
	    { MILTER_WHY="probe: got '$got', not '250 554:EICAR 554:EICAR'"; return 1; }
	odk_start "$oport" || return 1
	ODK_PORT=$oport
	postern_start milter-odk 127.0.0.1 "$p3" milter -o "milter.milters=inet:127.0.0.1:$oport" ||
	    { MILTER_WHY=$WHY; return 1; }
	MODK_PID=$LAST_PID MODK_PORT=$p3
	got=$(odk_probe)
	echo "  probe: 3 messages in one session through a postern calling OpenDKIM, at an smtp-sink -d: DKIM-Signature $got"
	case $got in
	"a=rsa-sha256 d=dkim.example, 3 of 3 signed") ;;
	"a=rsa-sha256 d=dkim.example, "*)
		echo "  note: not every message of the session was signed: the OpenDKIM cases send one message per session" ;;
	*) MILTER_WHY="probe: OpenDKIM's signature: got '$got'"; return 1 ;;
	esac
	return 0
}

# milter_case KIND: pid, port (the milter side), ppid, pport (the side
# without it) and xpid (the milter process) of KIND, and SRC_OPTS
milter_case() {
	local d=-d
	case $1 in
	postfix) ppid=$PF_MASTER pport=$PF_PORT pid=$MFRONT_PID port=$PF_MPORT xpid=$MFRONT_PID ;;
	opendkim) ppid=$MPLAIN_PID pport=$MPLAIN_PORT pid=$MODK_PID port=$MODK_PORT xpid=$ODK_PID d="" ;;
	pmilter) ppid=$MPLAIN_PID pport=$MPLAIN_PORT pid=$MPM_PID port=$MPM_PORT xpid=$MFRONT_PID ;;
	esac
	SRC_OPTS="$d -M bench.client -f bench@dkim.example -t sink@example.com"
}

# shellcheck disable=SC2317  # (run by pair_run)
milter_run() {	# milter_run PORT SIDE: a pair_run runner for the current case
	SINK_WAIT=60 run_one "$1" "$MILTER_SESS" 1024 "$MILTER_N"
}

echo
if [ "$MILTER_ON" = 0 ]; then
	echo "== milter: skipped (BENCH_MILTER=0)"
else
	echo "== milter: Postfix + 'postern milter' (regex, default.rules) vs Postfix alone; the proxy calling a milter (OpenDKIM signing; postern milter) vs the proxy alone; 1 KiB messages"
	MILTER_START_S=$(elapsed_s)
	if milter_start; then
		# warm-up, not counted
		for kind in postfix opendkim pmilter; do
			milter_case "$kind"
			SINK_WAIT=30 run_one "$port" 10 1024 200 >/dev/null
			SINK_WAIT=30 run_one "$pport" 10 1024 200 >/dev/null
		done
		MILTER_SKIPPED=0
		for rep in $(seq 1 "$REPS"); do
			while IFS='|' read -r id kind sess n label; do
				[ -n "$id" ] || continue
				if [ "$rep" -gt 1 ] && [ $(($(elapsed_s) - MILTER_START_S)) -ge "$MILTER_BUDGET" ]; then
					MILTER_SKIPPED=$((MILTER_SKIPPED + 1))
					continue
				fi
				milter_case "$kind"
				MILTER_SESS=$sess MILTER_N=$n
				c0=$(cpu_ticks "$xpid")
				pair_run "$rep" "milter-$id" "$n" milter_run milter "$ppid" "$pport" "$pid" "$port"
				c1=$(cpu_ticks "$xpid")
				if isnum "$c0" && isnum "$c1"; then
					CPU[milter-$id-x]=$(( ${CPU[milter-$id-x]:-0} + c1 - c0 ))
					CNT[milter-$id-x]=$(( ${CNT[milter-$id-x]:-0} + n ))
				fi
			done <<<"$MILTER_CASES"
		done
		# Postfix's CPU time is spread over daemons that come and go: none shown.
		for id in pf1 pf50; do unset "CPU[milter-$id-plain]"; done
		# Everything measured: the milters may start stopping (libmilter
		# notices a stop request only every 5 s or so) while the rest stops.
		kill -TERM "$ODK_PID" "$MFRONT_PID" 2>/dev/null
		for pid in $MODK_PID $MPM_PID $MPLAIN_PID; do stop_pid "$pid"; done
		pf_stop
		echo
		ratio_head milter
		KEYS=""
		while IFS='|' read -r id kind sess n label; do
			[ -n "$id" ] || continue
			ratio_row "milter-$id" "$label" "$sess" "$n" -
			KEYS="$KEYS milter-$id"
		done <<<"$MILTER_CASES"
		# shellcheck disable=SC2086
		raw_runs milter $KEYS
		echo "  plain: Postfix alone, or the proxy with no filters; Postfix rates are its intake (250 once queued)"
		echo "  sessions: persistent (smtp-source -d), but one message per session to OpenDKIM"
		printf '  CPU us per message of the milter itself (postern milter, OpenDKIM):'
		while IFS='|' read -r id kind sess n label; do
			[ -n "$id" ] || continue
			printf ' %s %s' "$id" "$(cpu_us "milter-$id-x")"
		done <<<"$MILTER_CASES"
		echo
		echo "  ($(nproc) cores, shared by the MTA or proxy, the milter, smtp-source and the sink)"
		budget_note milter "$MILTER_BUDGET" "$MILTER_SKIPPED"
		for k in milter milter-odk milter-pm; do
			warn_tail "$WORK/postern-$k.log" 3 "$k"
		done
	else
		echo "  not measured: $MILTER_WHY"
		add_summary "FAIL (not measured: $MILTER_WHY)" "milter" "-"
	fi
	for pid in $MODK_PID $MPM_PID $MPLAIN_PID; do stop_pid "$pid"; done
	pf_stop
	for pid in $ODK_PID $MFRONT_PID; do stop_pid "$pid"; done
	echo "  (milter section took $(($(elapsed_s) - MILTER_START_S))s)"
fi

# ---------------------------------------------------------------- header fields
# A postern with filters.chain = spf (a FILTER_AUTHRES filter: incoming
# Authentication-Results claiming its authserv-id are removed) relays
# messages whose header is N fields, every other one such a forged result:
# N/2 cuts in its spool, between kept fields.  scripts/header_fields.py
# times each message (content in to 250 out; the fastest of up to $REPS
# runs, the first always, the rest within BENCH_HEADERS_BUDGET) and a
# second client's greetings meanwhile.  The per-field time must not grow
# with N: a walk over every cut or field per step would make it grow
# like N.  Every size is spooled to disk (spool_memory_max = 0), so all
# pay the same per read.  The client is on loopback, so SPF itself is not
# asked.
HEADERS_ON=${BENCH_HEADERS:-1}
HEADERS_BUDGET=${BENCH_HEADERS_BUDGET:-60}
HEADERS_FIELDS="10000 40000 160000"
HEADERS_TARGET=3	# per-field time, largest / smallest size (16 times the fields)
HEADERS_ID=headers.bench.example
echo
if [ "$HEADERS_ON" = 0 ]; then
	echo "== header fields: skipped (BENCH_HEADERS=0)"
else
	echo "== header fields: postern with filters.chain = spf relaying messages of N header fields, every other one a forged Authentication-Results it removes"
	HEADERS_START_S=$(elapsed_s)
	HEADERS_OUT=""
	if ! HEADERS_PORT=$(pick_ports 1); then
		HEADERS_WHY="no free port"
	elif ! postern_start headers 127.0.0.1 "$HEADERS_PORT" spf \
	    -o "proxy.authserv_id=$HEADERS_ID" -o proxy.max_message_size=100M \
	    -o proxy.max_header_fields=1000000 -o proxy.max_header_total=64M \
	    -o proxy.spool_memory_max=0; then
		HEADERS_WHY=$WHY
	else
		HEADERS_PID=$LAST_PID
		# shellcheck disable=SC2046
		HEADERS_OUT=$(timeout $((HEADERS_BUDGET + 300)) "$PY" "$HERE/header_fields.py" \
		    --port "$HEADERS_PORT" --authserv-id "$HEADERS_ID" --reps "$REPS" \
		    --budget "$HEADERS_BUDGET" $(printf -- '--fields %s ' $HEADERS_FIELDS) 2>&1)
		HEADERS_WHY="header_fields.py: $(printf '%s\n' "$HEADERS_OUT" | tail -n 1)"
		stop_pid "$HEADERS_PID"
	fi
	HEADERS_RATIO=$(printf '%s\n' "$HEADERS_OUT" | sed -n 's/^ratio=//p')
	if [ -n "$HEADERS_RATIO" ]; then
		printf '%-10s %8s %10s %5s %9s %9s %17s\n' fields cut bytes runs seconds us/field "max greeting ms"
		while read -r line; do
			case $line in fields=*) ;; *) continue ;; esac
			printf '%-10s %8s %10s %5s %9s %9s %17s\n' "$(field fields "$line")" \
			    "$(field cut "$line")" "$(field bytes "$line")" "$(field runs "$line")" \
			    "$(field seconds "$line")" "$(field us_per_field "$line")" \
			    "$(field max_greeting_ms "$line")"
		done <<<"$HEADERS_OUT"
		res=$(awk -v r="$HEADERS_RATIO" -v t="$HEADERS_TARGET" 'BEGIN { exit !(r <= t) }' && echo PASS || echo FAIL)
		echo "per-field time, ${HEADERS_FIELDS##* } fields / ${HEADERS_FIELDS%% *} fields: $HEADERS_RATIO (target <= $HEADERS_TARGET; 1 is flat) $res"
		add_summary "$res" "header fields" "per-field time ${HEADERS_FIELDS##* }/${HEADERS_FIELDS%% *}: $HEADERS_RATIO (target <= $HEADERS_TARGET)"
		budget_note headers "$HEADERS_BUDGET" "$(printf '%s\n' "$HEADERS_OUT" |
		    sed -n 's/.* runs=\([0-9]*\) .*/\1/p' | awk -v r="$REPS" '{ s += r - $1 } END { print s + 0 }')"
		warn_tail "$WORK/postern-headers.log" 3 headers
	else
		echo "  not measured: $HEADERS_WHY"
		add_summary "FAIL (not measured)" "header fields" "-"
	fi
	echo "  (header fields section took $(($(elapsed_s) - HEADERS_START_S))s)"
fi

# ---------------------------------------------------------------- reverse dns
# Two more postern in front of the same sink, both with
# proxy.proxy_protocol (every connection starts with a PROXY v1 header
# naming its client): "rdns" with proxy.reverse_dns = yes, its resolver on
# an unbound started here that serves a PTR name and its A record for
# every client address used (so each name is forward-confirmed), and
# "plain" with reverse_dns = no.  scripts/tls_sessions.py --mode plain
# runs short sessions, RDNS_SESS at a time: greeting, EHLO, QUIT, so the
# connection is all there is and the lookup's share is as large as it
# gets.
#  warm: every connection from 10.99.0.1: after the first, its PTR and A
#        answers come from the cache of postern's resolver;
#  cold: every connection from a new address (10.(100+rep).x.y), both
#        lookups going to unbound.
# Each pair alternates plain/rdns per repetition; the ratio is rdns/plain
# per repetition, median of them.  Target >= 0.9 warm; cold has none (it
# measures the resolver's round trips).
RDNS_ON=${BENCH_RDNS:-1}
RDNS_BUDGET=${BENCH_RDNS_BUDGET:-40}
RDNS_N=${BENCH_RDNS_CONNS:-2000}	# connections a run, at most 65536
RDNS_SESS=20
RDNS_TARGET=0.9
RDNS_WARM=10.99.0.1
RDNS_PID=""
RDNS_PLAIN_PID=""
RDNS_DNS_PID=""
RDNS_WHY=""

rdns_zone() {	# unbound local-data lines: the warm address and RDNS_N in each 10.(100+r)/16, r = 0..REPS
	awk -v n="$RDNS_N" -v reps="$REPS" -v warm="$RDNS_WARM" '
	function z(a, h,  o) {
		split(a, o, ".")
		printf "local-data: \"%s.%s.%s.%s.in-addr.arpa. 300 IN PTR %s.rdns.bench.example.\"\n", o[4], o[3], o[2], o[1], h
		printf "local-data: \"%s.rdns.bench.example. 300 IN A %s\"\n", h, a
	}
	BEGIN {
		z(warm, "warm")
		for (r = 0; r <= reps; r++)
			for (k = 0; k < n; k++)
				z(sprintf("10.%d.%d.%d", 100 + r, int(k / 256), k % 256), sprintf("c%d-%d", r, k))
	}'
}

rdns_start() {	# unbound + the rdns and plain postern; 0 when all run
	local dport rport pport
	local -a zone
	[ "$RDNS_N" -le 65536 ] || { RDNS_WHY="BENCH_RDNS_CONNS over 65536"; return 1; }
	read -r dport rport pport <<<"$(pick_ports 3)"
	[ -n "$pport" ] || { RDNS_WHY="no free ports"; return 1; }
	mapfile -t zone < <(rdns_zone)
	unbound_start rdns "$dport" "${zone[@]}" || { RDNS_WHY=$WHY; return 1; }
	RDNS_DNS_PID=$LAST_PID
	postern_start rdns 127.0.0.1 "$rport" "" -o proxy.proxy_protocol=yes \
	    -o proxy.reverse_dns=yes -o "dns.nameserver=127.0.0.1@$dport" \
	    -o log.level=info || { RDNS_WHY=$WHY; return 1; }
	RDNS_PID=$LAST_PID
	postern_start rdns-plain 127.0.0.1 "$pport" "" -o proxy.proxy_protocol=yes \
	    -o log.level=info || { RDNS_WHY=$WHY; return 1; }
	RDNS_PLAIN_PID=$LAST_PID
	RDNS_PORT=$rport
	RDNS_PLAIN_PORT=$pport
	return 0
}

# shellcheck disable=SC2317  # (run by pair_run)
rdns_run() {	# rdns_run PORT SIDE [ARG...]: a pair_run runner for case RDNS_CASE (warm, cold) of repetition rep; ARGs to the client
	local port=$1 out rc
	local -a from=(--proxy "$RDNS_WARM")
	shift 2
	[ "$RDNS_CASE" = cold ] && from=(--proxy "10.$((100 + rep)).0.0" --proxy-vary)
	out=$(timeout "$RUN_TIMEOUT" "$PY" "$HERE/tls_sessions.py" --port "$port" --mode plain \
	    --sessions "$RDNS_SESS" --count "${RDNS_RUN_N:-$RDNS_N}" \
	    --timeout $((RUN_TIMEOUT - 15)) "${from[@]}" "$@" 2>"$WORK/rdns-client.err")
	rc=$?
	if [ "$rc" -eq 124 ]; then echo "ERR:timeout"; return; fi
	if [ -z "$out" ]; then
		echo "ERR:rc=$rc:$(tail -n 1 "$WORK/rdns-client.err" | tr -s ' \t' '__' | cut -c1-80)"
		return
	fi
	if [ "$rc" -ne 0 ]; then
		echo "ERR:$(field errors "$out")-errors:$(field first_error "$out")"
		return
	fi
	field rate "$out"
}

echo
if [ "$RDNS_ON" = 0 ]; then
	echo "== reverse dns: skipped (BENCH_RDNS=0)"
else
	echo "== reverse dns: postern with proxy.reverse_dns = yes vs = no, new connections (greeting, EHLO, QUIT) from PROXY-header clients, $RDNS_SESS at a time"
	RDNS_START_S=$(elapsed_s)
	if rdns_start; then
		# The rdns postern must really name its clients: one message
		# from the warm address and one from a cold one, as the
		# transaction log shows them.
		rep=0 RDNS_RUN_N=1 RDNS_CASE=warm rdns_run "$RDNS_PORT" probe --message 200 >/dev/null
		rep=0 RDNS_RUN_N=1 RDNS_CASE=cold rdns_run "$RDNS_PORT" probe --message 200 >/dev/null
		PROBE=$(sed -n 's/.* client_name="\([^"]*\)".*/\1/p' "$WORK/postern-rdns.log" | tr '\n' ' ')
		echo "  probe (client_name of a warm and a cold client): $PROBE"
		[ "$PROBE" = "warm.rdns.bench.example c0-0.rdns.bench.example " ] ||
		    RDNS_WHY="probe failed: client_name $PROBE"
	fi
	if [ -z "$RDNS_WHY" ]; then
		# warm-up, not counted: the 10.100/16 addresses of "repetition 0"
		for side in plain filter; do
			port=$RDNS_PORT
			[ "$side" = plain ] && port=$RDNS_PLAIN_PORT
			rep=0 RDNS_RUN_N=300 RDNS_CASE=cold rdns_run "$port" "$side" >/dev/null
			rep=0 RDNS_RUN_N=300 RDNS_CASE=warm rdns_run "$port" "$side" >/dev/null
		done
		RDNS_SKIPPED=0
		for rep in $(seq 1 "$REPS"); do
			if [ "$rep" -gt 1 ] && [ $(($(elapsed_s) - RDNS_START_S)) -ge "$RDNS_BUDGET" ]; then
				RDNS_SKIPPED=$((RDNS_SKIPPED + 4))
				continue
			fi
			for RDNS_CASE in warm cold; do
				pair_run "$rep" "rdns-$RDNS_CASE" "$RDNS_N" rdns_run rdns \
				    "$RDNS_PLAIN_PID" "$RDNS_PLAIN_PORT" "$RDNS_PID" "$RDNS_PORT"
			done
		done
		echo
		ratio_head rdns conn
		ratio_row rdns-warm "rdns warm (1 address)" "$RDNS_SESS" "$RDNS_N" "$RDNS_TARGET"
		ratio_row rdns-cold "rdns cold (new addresses)" "$RDNS_SESS" "$RDNS_N" -
		UNIT=conn raw_runs rdns rdns-warm rdns-cold
		budget_note "reverse dns" "$RDNS_BUDGET" "$RDNS_SKIPPED"
		grep -F 'postern[warning]' "$WORK/postern-rdns.log" >"$WORK/rdns-warnings.log"
		warn_tail "$WORK/rdns-warnings.log" 3 rdns
	else
		echo "  not measured: $RDNS_WHY"
		add_summary "FAIL (not measured: $RDNS_WHY)" "rdns warm (1 address)" "-"
	fi
	for pid in $RDNS_PID $RDNS_PLAIN_PID $RDNS_DNS_PID; do stop_pid "$pid"; done
	echo "  (reverse dns section took $(($(elapsed_s) - RDNS_START_S))s)"
fi

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

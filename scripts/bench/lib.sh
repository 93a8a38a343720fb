#!/bin/bash
# SPDX-License-Identifier: ISC
# shellcheck shell=bash disable=SC2004,SC2034,SC2153,SC2154
# (globals and associative arrays are shared by the sourced files)
# lib.sh - what every bench section shares (sourced by bench.sh): stopping
# processes by PID, free ports, bounded waits, starting postern and unbound,
# paired runs and their ratio tables, the summary lines.

die() { echo "bench: $*" >&2; exit 1; }

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

now_ns() { date +%s%N; }
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
	judge_op ">=" "$@"
}
judge_max() {	# judge_max RATIO TARGET: as judge, for a ratio that must not exceed TARGET
	judge_op "<=" "$@"
}
judge_op() {	# judge_op OP RATIO TARGET
	if [ "$3" = - ]; then echo "(no target)"
	elif [ "$2" = - ]; then echo "FAIL (not measured)"
	elif awk -v r="$2" -v t="$3" -v op="$1" \
	    'BEGIN { exit !(op == ">=" ? r >= t : r <= t) }'; then echo PASS
	else echo FAIL; fi
}

# Filter comparisons (spf, dkim): a postern with a filter chain against one
# with none, both in front of the sink.  Rates, ratios and each postern's
# CPU time (utime + stime from /proc, all threads) by KEY-plain and
# KEY-filter; CPU time is not shared with the rest of the machine the way
# throughput is, so it shows the filter's cost even on a busy host.
# Paired runs (pair_run): rates, ratios, CPU ticks and counts by key.
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
# pair_reps SECTION BUDGET START KEY N RUNNER NAME PLAIN_PID PLAIN_PORT PID
# PORT: pair_run for repetitions 1 to REPS, the later ones only while the
# section (begun at START, elapsed_s) is within BUDGET seconds; a note
# says what the budget cut.
pair_reps() {
	local section=$1 budget=$2 start=$3 rep
	shift 3
	for rep in $(seq 1 "$REPS"); do
		if [ "$rep" -gt 1 ] && [ $(($(elapsed_s) - start)) -ge "$budget" ]; then
			echo "note: $section time budget (${budget}s) reached, skipped repetitions $rep to $REPS"
			return
		fi
		pair_run "$rep" "$@"
	done
}

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


field() {	# field KEY [LINE]: the value of KEY=value in LINE (default: the idle test's)
	printf '%s\n' "${2-$IDLE_LINE}" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

add_summary() {	# add_summary RESULT LABEL FIGURE; RESULT is "PASS" or "FAIL[ (why)]"
	local word=${1%% *}
	SUMMARY="$SUMMARY
$(printf '%-4s  %-24s %s' "$word" "$2" "$3")${1#"$word"}"
}

# Connection sections (rdns, dnsbl): a postern with a lookup at connect
# against a plain one, both with proxy.proxy_protocol.
# scripts/bench/tls_sessions.py --mode plain runs CONN_N short sessions
# (greeting, EHLO, QUIT), CONN_SESS at a time, so the connection is all
# there is and the lookup's share is as large as it gets; each comes from
# a PROXY-header address: warm, all from CONN_WARM (answers cached after
# the first); cold, a new address each, 10.(100+rep).x.y.
CONN_SESS=20
CONN_N=2000

# shellcheck disable=SC2317  # (run by pair_run)
conn_run() {	# conn_run PORT SIDE [ARG...]: a pair_run runner for CONN_CASE (warm, cold) of repetition rep; ARGs to the client
	local port=$1 out rc
	local -a from=(--proxy "$CONN_WARM")
	shift 2
	[ "$CONN_CASE" = cold ] && from=(--proxy "10.$((100 + rep)).0.0" --proxy-vary)
	out=$(timeout "$RUN_TIMEOUT" "$PY" "$HERE/tls_sessions.py" --port "$port" --mode plain \
	    --sessions "$CONN_SESS" --count "${CONN_RUN_N:-$CONN_N}" \
	    --timeout $((RUN_TIMEOUT - 15)) "${from[@]}" "$@" 2>"$WORK/conn-client.err")
	rc=$?
	if [ "$rc" -eq 124 ]; then echo "ERR:timeout"; return; fi
	if [ -z "$out" ]; then
		echo "ERR:rc=$rc:$(tail -n 1 "$WORK/conn-client.err" | tr -s ' \t' '__' | cut -c1-80)"
		return
	fi
	if [ "$rc" -ne 0 ]; then
		echo "ERR:$(field errors "$out")-errors:$(field first_error "$out")"
		return
	fi
	field rate "$out"
}

conn_probe() {	# conn_probe PORT WARM: one message from WARM, one from the first cold address
	rep=0 CONN_RUN_N=1 CONN_WARM=$2 CONN_CASE=warm conn_run "$1" probe --message 200 >/dev/null
	rep=0 CONN_RUN_N=1 CONN_WARM=$2 CONN_CASE=cold conn_run "$1" probe --message 200 >/dev/null
}

# conn_pairs KEY BUDGET START_S WARM PLAIN_PID PLAIN_PORT PID PORT TARGET
# WHAT: a warm-up of both (the addresses of "repetition 0", not counted),
# then REPS pairs, warm and cold, each alternating plain/KEY (pair_run:
# the ratio per repetition, the median of them), within BUDGET seconds of
# START_S; then the table.  Target on warm only: cold measures the DNS
# server's round trips.
conn_pairs() {
	local key=$1 budget=$2 start=$3 skipped=0 side port
	CONN_WARM=$4
	for side in plain filter; do
		port=$8
		[ "$side" = plain ] && port=$6
		rep=0 CONN_RUN_N=300 CONN_CASE=cold conn_run "$port" "$side" >/dev/null
		rep=0 CONN_RUN_N=300 CONN_CASE=warm conn_run "$port" "$side" >/dev/null
	done
	for rep in $(seq 1 "$REPS"); do
		if [ "$rep" -gt 1 ] && [ $(($(elapsed_s) - start)) -ge "$budget" ]; then
			skipped=$((skipped + 4))
			continue
		fi
		for CONN_CASE in warm cold; do
			pair_run "$rep" "$key-$CONN_CASE" "$CONN_N" conn_run "$key" \
			    "$5" "$6" "$7" "$8"
		done
	done
	echo
	ratio_head "$key" conn
	ratio_row "$key-warm" "$key warm (1 address)" "$CONN_SESS" "$CONN_N" "$9"
	ratio_row "$key-cold" "$key cold (new addresses)" "$CONN_SESS" "$CONN_N" -
	UNIT=conn raw_runs "$key" "$key-warm" "$key-cold"
	budget_note "${10}" "$budget" "$skipped"
}

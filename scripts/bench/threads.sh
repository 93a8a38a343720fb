# SPDX-License-Identifier: ISC
# shellcheck shell=bash disable=SC2004,SC2034,SC2153,SC2154
# (globals and associative arrays are shared by the sourced files)
# threads.sh - proxy.threads = 2 against proxy.threads = 1.
# Sourced by bench.sh after lib.sh; its globals are bench.sh's.

# ---------------------------------------------------------------- threads
# Two more postern in front of the same sink, both with filters.chain =
# iplist regex (the default rules): one event loop, and two.  smtp-source
# sends 1 KiB messages at 100 sessions to both, alternating.  On a machine
# with few cores the client and the sink share them with postern, so the
# figure that matters is postern's CPU time per relayed message: the
# second loop must not make a message dearer (target: within 5%, a ratio
# <= 1.05); msg/s is shown too.
THREADS_ON=${BENCH_THREADS:-1}
THREADS_BUDGET=${BENCH_THREADS_BUDGET:-60}
THREADS_N=${BENCH_THREADS_MSGS:-20000}
THREADS_SESS=100
THREADS_CPU_TARGET=1.05
THREADS_PID=""
THREADS_ONE_PID=""
THREADS_WHY=""

threads_start() {	# the postern with one loop and with two
	local fport pport
	read -r fport pport <<<"$(pick_ports 2)"
	[ -n "$pport" ] || { THREADS_WHY="no free ports"; return 1; }
	postern_start threads2 127.0.0.1 "$fport" "iplist regex" \
	    -o proxy.threads=2 || { THREADS_WHY=$WHY; return 1; }
	THREADS_PID=$LAST_PID
	postern_start threads1 127.0.0.1 "$pport" "iplist regex" \
	    -o proxy.threads=1 || { THREADS_WHY=$WHY; return 1; }
	THREADS_ONE_PID=$LAST_PID
	THREADS_PORT=$fport
	THREADS_ONE_PORT=$pport
	return 0
}

# shellcheck disable=SC2317  # (run by pair_run)
threads_run() {	# threads_run PORT SIDE: a pair_run runner
	run_one "$1" "$THREADS_SESS" 1024 "$THREADS_N"
}

echo
if [ "$THREADS_ON" = 0 ]; then
	echo "== threads: skipped (BENCH_THREADS=0)"
else
	echo "== threads: postern with proxy.threads = 2 vs 1, $THREADS_SESS sessions, 1 KiB; CPU per message"
	THREADS_START_S=$(elapsed_s)
	if threads_start; then
		run_one "$THREADS_PORT" 10 1024 200 >/dev/null
		run_one "$THREADS_ONE_PORT" 10 1024 200 >/dev/null
		pair_reps threads "$THREADS_BUDGET" "$THREADS_START_S" threads-2 \
		    "$THREADS_N" threads_run "2 loops" "$THREADS_ONE_PID" \
		    "$THREADS_ONE_PORT" "$THREADS_PID" "$THREADS_PORT"
		echo
		ratio_head "2 loops"
		ratio_row threads-2 "threads 2 vs 1" "$THREADS_SESS" "$THREADS_N" -
		raw_runs "2 loops" threads-2
		one=$(cpu_us threads-2-plain)
		two=$(cpu_us threads-2-filter)
		ratio=$(awk -v a="$one" -v b="$two" 'BEGIN { if (a + 0 > 0 && b != "-") printf "%.2f", b / a; else print "-" }')
		res=$(judge_max "$ratio" "$THREADS_CPU_TARGET")
		echo "  CPU per message: $one us with 1 loop, $two us with 2: ratio $ratio (target <=$THREADS_CPU_TARGET) $res"
		add_summary "$res" "threads 2 CPU/msg" "ratio $ratio to 1 loop at $THREADS_SESS sessions (target <=$THREADS_CPU_TARGET)"
		warn_tail "$WORK/postern-threads2.log" 3 threads
	else
		echo "  not measured: $THREADS_WHY"
		add_summary "FAIL (not measured: $THREADS_WHY)" "threads 2 CPU/msg" "-"
	fi
	for pid in $THREADS_PID $THREADS_ONE_PID; do stop_pid "$pid"; done
	echo "  (threads section took $(($(elapsed_s) - THREADS_START_S))s)"
fi

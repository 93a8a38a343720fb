# SPDX-License-Identifier: ISC
# shellcheck shell=bash disable=SC2004,SC2034,SC2153,SC2154
# (globals and associative arrays are shared by the sourced files)
# metrics.sh - a postern with metrics.listen, scraped while mail flows,
# against the same postern without it.
# Sourced by bench.sh after lib.sh; its globals are bench.sh's.

# ---------------------------------------------------------------- metrics
# Two more postern in front of the same sink, both with filters.chain =
# iplist regex (the default rules): "metrics" with metrics.listen, and
# "plain" without.  smtp-source sends 1 KiB messages at 100 sessions to
# both, alternating; during every run scrape.py scrapes the metrics
# postern: 200 scrapes at once, then ten a second (150 times Prometheus's
# usual rate), so that the scraper's own CPU weighs on both sides alike
# and the ratio shows what serving the scrapes costs the postern that
# carries the mail.  Both count (counting is always on, about 25 counts a
# message at some 20 ns each).  Target >= 0.97.
METRICS_ON=${BENCH_METRICS:-1}
METRICS_BUDGET=${BENCH_METRICS_BUDGET:-60}
METRICS_N=${BENCH_METRICS_MSGS:-20000}
METRICS_SESS=100
METRICS_TARGET=0.97
METRICS_PID=""
METRICS_PLAIN_PID=""
METRICS_WHY=""

metrics_start() {	# the metrics and plain postern
	local fport pport mport
	read -r fport pport mport <<<"$(pick_ports 3)"
	[ -n "$mport" ] || { METRICS_WHY="no free ports"; return 1; }
	postern_start metrics 127.0.0.1 "$fport" "iplist regex" \
	    -o "metrics.listen=127.0.0.1:$mport" || { METRICS_WHY=$WHY; return 1; }
	METRICS_PID=$LAST_PID
	postern_start metrics-plain 127.0.0.1 "$pport" "iplist regex" ||
	    { METRICS_WHY=$WHY; return 1; }
	METRICS_PLAIN_PID=$LAST_PID
	METRICS_PORT=$fport
	METRICS_PLAIN_PORT=$pport
	METRICS_HTTP=$mport
	return 0
}

# shellcheck disable=SC2317  # (run by pair_run)
metrics_run() {	# metrics_run PORT SIDE: a pair_run runner, the metrics postern scraped meanwhile
	local spid r
	"$PY" "$HERE/scrape.py" "$METRICS_HTTP" "$RUN_TIMEOUT" \
	    >>"$WORK/scrape.out" 2>&1 &
	spid=$!
	r=$(run_one "$1" "$METRICS_SESS" 1024 "$METRICS_N")
	stop_pid "$spid"
	echo "$r"
}

echo
if [ "$METRICS_ON" = 0 ]; then
	echo "== metrics: skipped (BENCH_METRICS=0)"
else
	echo "== metrics: postern with metrics.listen vs without, $METRICS_SESS sessions, 1 KiB, the first scraped (200 at once, then 10/s) during every run"
	METRICS_START_S=$(elapsed_s)
	if metrics_start; then
		run_one "$METRICS_PORT" 10 1024 200 >/dev/null
		run_one "$METRICS_PLAIN_PORT" 10 1024 200 >/dev/null
		pair_reps metrics "$METRICS_BUDGET" "$METRICS_START_S" metrics-on \
		    "$METRICS_N" metrics_run metrics "$METRICS_PLAIN_PID" \
		    "$METRICS_PLAIN_PORT" "$METRICS_PID" "$METRICS_PORT"
		echo
		ratio_head metrics
		ratio_row metrics-on "metrics on, scraped" "$METRICS_SESS" "$METRICS_N" "$METRICS_TARGET"
		raw_runs metrics metrics-on
		echo "  scrapes during the runs: $(tr '\n' ' ' <"$WORK/scrape.out")"
		warn_tail "$WORK/postern-metrics.log" 3 metrics
	else
		echo "  not measured: $METRICS_WHY"
		add_summary "FAIL (not measured: $METRICS_WHY)" "metrics on, scraped" "-"
	fi
	for pid in $METRICS_PID $METRICS_PLAIN_PID; do stop_pid "$pid"; done
	echo "  (metrics section took $(($(elapsed_s) - METRICS_START_S))s)"
fi

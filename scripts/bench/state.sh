# SPDX-License-Identifier: ISC
# shellcheck shell=bash disable=SC2004,SC2034,SC2153,SC2154
# (globals and associative arrays are shared by the sourced files)
# state.sh - the ratelimit and greylist filters, on the in-process store
# and on Redis, against no filters.
# Sourced by bench.sh after lib.sh; its globals are bench.sh's.

# ---------------------------------------------------------------- state
# Three more postern in front of the same sink: "ratelimit" with limits
# on the client, the sender, its domain and the recipient domain, high
# enough never to refuse (so every message pays for four GCRA steps);
# "greylist" warm (the bench's one triplet passed before the runs, so
# each recipient is one store step that passes); and "plain".
# The same two again on a redis-server of the bench's own (one
# connection per postern event loop, a Lua script per check).
# smtp-source sends 1 KiB messages at 100 sessions to each pair,
# alternating.  Target: ratelimit >= 0.8 on either store.
STATE_ON=${BENCH_STATE:-1}
STATE_BUDGET=${BENCH_STATE_BUDGET:-60}
STATE_N=${BENCH_STATE_MSGS:-20000}
STATE_SESS=100
STATE_TARGET=0.8
STATE_RL_PID=""
STATE_GL_PID=""
STATE_PLAIN_PID=""
STATE_REDIS_PID=""
STATE_RRL_PID=""
STATE_RGL_PID=""
STATE_WHY=""

STATE_LIMITS="-o ratelimit.client=1000000/1m -o ratelimit.sender=1000000/1m
-o ratelimit.sender_domain=1000000/1m -o ratelimit.rcpt_domain=1000000/1m"

state_redis() {	# state_redis PORT: a redis-server that saves nothing
	command -v redis-server >/dev/null 2>&1 ||
	    { WHY="redis-server not found"; return 1; }
	redis-server --port "$1" --bind 127.0.0.1 --save "" --appendonly no \
	    --dir "$WORK" --daemonize no --logfile "" </dev/null \
	    >"$WORK/redis.log" 2>&1 &
	STATE_REDIS_PID=$!
	PIDS="$STATE_REDIS_PID $PIDS"
	wait_listen "$1" "$STATE_REDIS_PID" && return 0
	WHY="redis-server did not start: $(tail -n 3 "$WORK/redis.log" | tr '\n' ' ')"
	return 1
}

state_warm() {	# state_warm PORT: the bench's triplet greylisted, then passed
	run_one "$1" 1 1024 1 >/dev/null
	sleep 1.2
	run_one "$1" 1 1024 1 >/dev/null
}

state_start() {	# Redis, the ratelimit and greylist postern on each store, plain
	local rport gport pport redis rrport rgport
	read -r rport gport pport redis rrport rgport <<<"$(pick_ports 6)"
	[ -n "$rgport" ] || { STATE_WHY="no free ports"; return 1; }
	state_redis "$redis" || { STATE_WHY=$WHY; return 1; }
	# shellcheck disable=SC2086
	postern_start ratelimit 127.0.0.1 "$rport" ratelimit $STATE_LIMITS ||
	    { STATE_WHY=$WHY; return 1; }
	STATE_RL_PID=$LAST_PID
	# shellcheck disable=SC2086
	postern_start ratelimit-redis 127.0.0.1 "$rrport" ratelimit \
	    $STATE_LIMITS -o "redis.server=127.0.0.1:$redis" ||
	    { STATE_WHY=$WHY; return 1; }
	STATE_RRL_PID=$LAST_PID
	postern_start greylist 127.0.0.1 "$gport" greylist \
	    -o greylist.delay=1s -o log.level=info || { STATE_WHY=$WHY; return 1; }
	STATE_GL_PID=$LAST_PID
	postern_start greylist-redis 127.0.0.1 "$rgport" greylist \
	    -o greylist.delay=1s -o log.level=info \
	    -o "redis.server=127.0.0.1:$redis" || { STATE_WHY=$WHY; return 1; }
	STATE_RGL_PID=$LAST_PID
	postern_start state-plain 127.0.0.1 "$pport" "" ||
	    { STATE_WHY=$WHY; return 1; }
	STATE_PLAIN_PID=$LAST_PID
	STATE_RL_PORT=$rport
	STATE_GL_PORT=$gport
	STATE_RRL_PORT=$rrport
	STATE_RGL_PORT=$rgport
	STATE_PLAIN_PORT=$pport
	state_warm "$gport"
	state_warm "$rgport"
	return 0
}

# shellcheck disable=SC2317  # (run by pair_run)
state_run() {	# state_run PORT SIDE: a pair_run runner
	run_one "$1" "$STATE_SESS" 1024 "$STATE_N"
}

echo
if [ "$STATE_ON" = 0 ]; then
	echo "== state: skipped (BENCH_STATE=0)"
else
	echo "== state: ratelimit (4 keys, never over) and greylist (warm) on the in-process store and on Redis vs no filters, $STATE_SESS sessions, 1 KiB"
	STATE_START_S=$(elapsed_s)
	SRC_OPTS="-d -M bench.client -f bench@example.org -t sink@example.com"
	if state_start; then
		PROBE=$(grep -c 'filters="greylist=passed"' "$WORK/postern-greylist.log")
		RPROBE=$(grep -c 'filters="greylist=passed"' "$WORK/postern-greylist-redis.log")
		echo "  probe (greylist passed the warm-up message): memory $PROBE, Redis $RPROBE"
		[ "$PROBE" -ge 1 ] && [ "$RPROBE" -ge 1 ] || STATE_WHY="probe failed: the warm-up message did not pass the greylist"
	fi
	if [ -z "$STATE_WHY" ]; then
		pair_reps state "$STATE_BUDGET" "$STATE_START_S" ratelimit \
		    "$STATE_N" state_run ratelimit "$STATE_PLAIN_PID" \
		    "$STATE_PLAIN_PORT" "$STATE_RL_PID" "$STATE_RL_PORT"
		pair_reps state "$STATE_BUDGET" "$STATE_START_S" greylist \
		    "$STATE_N" state_run greylist "$STATE_PLAIN_PID" \
		    "$STATE_PLAIN_PORT" "$STATE_GL_PID" "$STATE_GL_PORT"
		pair_reps state "$((STATE_BUDGET * 2))" "$STATE_START_S" \
		    ratelimit-redis "$STATE_N" state_run ratelimit-redis \
		    "$STATE_PLAIN_PID" "$STATE_PLAIN_PORT" "$STATE_RRL_PID" \
		    "$STATE_RRL_PORT"
		pair_reps state "$((STATE_BUDGET * 2))" "$STATE_START_S" \
		    greylist-redis "$STATE_N" state_run greylist-redis \
		    "$STATE_PLAIN_PID" "$STATE_PLAIN_PORT" "$STATE_RGL_PID" \
		    "$STATE_RGL_PORT"
		echo
		ratio_head state
		ratio_row ratelimit "ratelimit, in-process" "$STATE_SESS" "$STATE_N" "$STATE_TARGET"
		ratio_row greylist "greylist warm, in-process" "$STATE_SESS" "$STATE_N" -
		ratio_row ratelimit-redis "ratelimit, Redis" "$STATE_SESS" "$STATE_N" "$STATE_TARGET"
		ratio_row greylist-redis "greylist warm, Redis" "$STATE_SESS" "$STATE_N" -
		raw_runs state ratelimit greylist ratelimit-redis greylist-redis
		warn_tail "$WORK/postern-ratelimit.log" 3 ratelimit
		warn_tail "$WORK/postern-ratelimit-redis.log" 3 ratelimit-redis
	else
		echo "  not measured: $STATE_WHY"
		add_summary "FAIL (not measured: $STATE_WHY)" "ratelimit, in-process" "-"
	fi
	for pid in $STATE_RL_PID $STATE_GL_PID $STATE_RRL_PID $STATE_RGL_PID \
	    $STATE_PLAIN_PID $STATE_REDIS_PID; do stop_pid "$pid"; done
	echo "  (state section took $(($(elapsed_s) - STATE_START_S))s)"
fi

# SPDX-License-Identifier: ISC
# shellcheck shell=bash disable=SC2004,SC2034,SC2153,SC2154
# (globals and associative arrays are shared by the sourced files)
# headers.sh - time per header field as the header grows.
# Sourced by bench.sh after lib.sh; its globals are bench.sh's.

# ---------------------------------------------------------------- header fields
# A postern with filters.chain = spf (a FILTER_AUTHRES filter: incoming
# Authentication-Results claiming its authserv-id are removed) relays
# messages whose header is N fields, every other one such a forged result:
# N/2 cuts in its spool, between kept fields.  scripts/bench/header_fields.py
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

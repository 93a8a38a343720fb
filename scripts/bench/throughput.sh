# SPDX-License-Identifier: ISC
# shellcheck shell=bash disable=SC2004,SC2034,SC2153,SC2154
# (globals and associative arrays are shared by the sourced files)
# throughput.sh - msg/s direct and through postern, 1 and 100 sessions, 1 and 100 KiB,
# and the backend's (smtp-sink's) CPU time per message either way.
# Sourced by bench.sh after lib.sh; its globals are bench.sh's.

# Warm-up (not counted): page in binaries, fill caches, first connections.
run_one "$SINK_PORT" 10 1024 500 >/dev/null
run_one "$PROXY_PORT" 10 1024 500 >/dev/null

declare -A D P R	# direct rates, postern rates, per-repetition ratios
declare -A SD SP ND NP	# the sink's CPU ticks and messages: direct, postern
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
			c0=$(cpu_ticks "$SINK_PID")
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
			if isnum "$r" && [ "$side" = direct ]; then
				SD[$id]=$(( ${SD[$id]:-0} + $(cpu_ticks "$SINK_PID") - c0 ))
				ND[$id]=$(( ${ND[$id]:-0} + n ))
			elif isnum "$r"; then
				SP[$id]=$(( ${SP[$id]:-0} + $(cpu_ticks "$SINK_PID") - c0 ))
				NP[$id]=$(( ${NP[$id]:-0} + n ))
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

# The backend works no harder behind postern: XCLIENT right after the
# greeting, XFORWARD pipelined with MAIL (this sink: proxy.client_identity
# = xforward).  CPU time from /proc (utime + stime) over all repetitions,
# by the tick, so the counts are large enough to be read at 10 ms.
echo
echo "== backend CPU per message (smtp-sink utime+stime from /proc, all repetitions; ratio: postern/direct)"
printf '%-22s %12s %13s %7s %8s  %s\n' case "direct us" "postern us" ratio target result
while IFS='|' read -r id s l n label tgt; do
	[ -n "$id" ] || continue
	read -r ud up ratio <<<"$(awk -v sd="${SD[$id]:-0}" -v nd="${ND[$id]:-0}" \
	    -v sp="${SP[$id]:-0}" -v np="${NP[$id]:-0}" -v hz="$CLK_TCK" 'BEGIN {
		if (nd == 0 || np == 0 || sd == 0) { print "- - -"; exit }
		d = sd * 1e6 / hz / nd; p = sp * 1e6 / hz / np
		printf "%.0f %.0f %.2f\n", d, p, p / d }')"
	tshow=- res="(no target)"
	if [ "$l" = 1024 ]; then
		tshow="<=1.25"
		res=$(judge_max "$ratio" 1.25)
		add_summary "$res" "backend CPU, $label" "ratio $ratio (target $tshow)"
	fi
	printf '%-22s %12s %13s %7s %8s  %s\n' "$label" "$ud" "$up" "$ratio" "$tshow" "$res"
done <<EOF
$CASES
EOF

# SPDX-License-Identifier: ISC
# shellcheck shell=bash disable=SC2004,SC2034,SC2153,SC2154
# (globals and associative arrays are shared by the sourced files)
# throughput.sh - msg/s direct and through postern, 1 and 100 sessions, 1 and 100 KiB.
# Sourced by bench.sh after lib.sh; its globals are bench.sh's.

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

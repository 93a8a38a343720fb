# SPDX-License-Identifier: ISC
# shellcheck shell=bash disable=SC2004,SC2034,SC2153,SC2154
# (globals and associative arrays are shared by the sourced files)
# lists.sh - 1,000,000-entry lists loaded by 'postern check'.
# Sourced by bench.sh after lib.sh; its globals are bench.sh's.

# ---------------------------------------------------------------- lists
# Loading a list of a million entries (iplist): the time and the memory
# 'postern check' takes with the list, less the same without it.
LIST_TARGET_S=2
LIST_TARGET_MIB=100
echo
echo "== lists: 1,000,000 entries loaded by 'postern check' (targets: < ${LIST_TARGET_S} s, < ${LIST_TARGET_MIB} MB)"
LIST_OUT=$("$PY" "$HERE/lists.py" "$POSTERN" "$WORK"
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

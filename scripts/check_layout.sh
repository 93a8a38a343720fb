#!/bin/sh
# SPDX-License-Identifier: ISC
# check_layout.sh - the layout's allowed arrows (README "Source layout"),
# run by make test; prints each violation and exits 1 if there is one.
#
#   proxy   -> filters, policy, proto, lib
#   filters -> policy, proto, lib      (and no socket call, no libevent)
#   policy  -> proto, lib
#   proto   -> lib
#   lib     -> (nothing of ours)
#
# Also: every source and script file carries an SPDX-License-Identifier.
cd "$(dirname "$0")/.." || exit 2
bad=0

# forbid DIR PATTERN WHY: lines of DIR's C files matching PATTERN (comment
# lines, those starting with "/*" or "*", aside)
forbid() {
	hits=$(grep -nE "$2" "$1"/*.c "$1"/*.h 2>/dev/null |
	    grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/?\*)')
	[ -z "$hits" ] && return
	printf '%s\n' "$hits" | sed "s|\$| <- $3|"
	bad=1
}

forbid lib '#include "(proxy|filters|policy|proto)/' 'lib/ includes only lib/'
forbid proto '#include "(proxy|filters|policy)/' 'proto/ includes only proto/ and lib/'
forbid policy '#include "(proxy|filters)/' 'policy/ includes only policy/, proto/, lib/'
forbid filters '#include "proxy/' 'filters/ never includes proxy/'
forbid filters '#include <(event2/|poll\.h|sys/un\.h)' \
    'filters/ use no sockets and no libevent (filter.h)'
forbid filters '(^|[^_[:alnum:].>])(socket|connect|accept|bind|listen|poll|send|recv|sendmsg|recvmsg)\(' \
    'filters/ make no socket call (filter.h): lib/ does'

for f in $(git ls-files '*.c' '*.h' '*.py' '*.sh' '*.lua' Makefile .ci/run); do
	head -n 3 "$f" | grep -q 'SPDX-License-Identifier:' && continue
	echo "$f: no SPDX-License-Identifier line in its first 3 lines"
	bad=1
done
exit $bad

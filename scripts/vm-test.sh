#!/bin/bash
# Usage: scripts/vm-test.sh [-v] [CASE_GLOB...]
# Boot the test guest, run tests/vm/runner.sh with the given case globs (default:
# all cases), then check the console log: no panic/oops/BUG outside the dmesg
# dump, and a "N passed, 0 failed" summary with N > 0. Prints the PASS/FAIL lines
# and the summary; exits non-zero on any failure.
set -uo pipefail
ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
LOG=${KCXX_VM_LOG:-$ROOT/build/vm/console.log}

"$ROOT/scripts/vm/run.sh" --timeout "${KCXX_VM_TIMEOUT:-1500}" --log "$LOG" \
	"$ROOT/tests/vm/runner.sh" "$@"
rc=$?

fail=0
echo
echo "===== vm-test summary (log: $LOG) ====="
[[ -f $LOG ]] || { echo "vm-test: no console log"; exit 1; }
# The runner judges the dmesg dump itself (expected lines included); look for
# kernel trouble only in the console output outside it.
outside=$(awk '/^----- dmesg -----$/ { in_d = !in_d; next } !in_d' "$LOG")
panic=$(grep -aE 'Kernel panic|Oops|BUG:' <<<"$outside")
if [[ -n $panic ]]; then
	echo "vm-test: kernel trouble on the console:"
	sed 's/^/    /' <<<"$panic" | head -n 20
	fail=1
fi
grep -aE '^vmtest: (PASS|FAIL) ' "$LOG"
running=$(grep -aE '^vmtest-run: ' "$LOG" | tail -n1 | sed 's/^vmtest-run: \([^ ]*\).*/\1/')
summary=$(grep -aE '^[0-9]+ passed, [0-9]+ failed$' <<<"$outside" | tail -n1)
if [[ -z $summary ]]; then
	echo "vm-test: no summary line: the guest died or timed out${running:+ (last case started: $running)}"
	fail=1
else
	echo "$summary"
	read -r npass _ nfail _ <<<"$summary"
	((nfail == 0 && npass > 0)) || fail=1
fi
((rc == 0)) || { echo "vm-test: guest run exited $rc"; fail=1; }
if ((fail)); then
	echo "vm-test: FAILED"
	exit 1
fi
echo "vm-test: OK"

#!/bin/bash
# Guest-side test runner. Usage: runner.sh [-v] [CASE_GLOB...]   (default: all)
#
# Runs tests/vm/cases/NN-name.sh in name order; a glob matches the name with or
# without ".sh" (e.g. "00-boot-sanity", "0*"). An argument containing "/" is a
# path to a case file outside cases/ (run after the globbed ones, in argument
# order). -v streams each case's output.
# Case header tags (comment lines anywhere in the file):
#   # timeout: <seconds>      per-case limit (default 120)
#   # expect-dmesg: <ERE>     the case must produce a "bad" dmesg line matching
#                             ERE (repeatable; each ERE must match); those lines
#                             are consumed, any other bad line still fails
# Output (console):
#   vmtest-run: <name> (timeout <T>s)          before each case
#   vmtest: PASS <name> (<secs>s)              exactly one result line per case
#   vmtest: FAIL <name> (<reason>[; <reason>])    followed by indented details
#   <N> passed, <N> failed                     summary
#   ----- dmesg ----- ... ----- dmesg -----    the whole kernel log of the run
# Exit status 0 iff every selected case passed (2 if no case matched).
set -u
export LC_ALL=C

HERE=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

if [[ ${KCXX_GUEST:-} != 1 ]]; then
	echo "runner.sh: runs only inside the test guest; use scripts/vm-test.sh [CASE_GLOB...]" >&2
	exit 2
fi

VERBOSE=0
if [[ ${1:-} == -v ]]; then
	VERBOSE=1
	shift
fi
GLOBS=("$@")
((${#GLOBS[@]})) || GLOBS=('*')
DEFAULT_TIMEOUT=120
TAIL_LINES=50

# Anything that looks like a kernel problem. BUG and WARNING as whole words so
# that e.g. "DEBUG" does not count. rxe_reg_fast_mr: soft-RoCE refused one of
# our own REG_MRs (only local work requests print it): the QP stalls without
# a completion (see RegFence in ibtrs/common/common.h).
BAD_RE='\<WARNING\>|\<BUG\>|Oops|missing return thunk|ftrace bug|kcxx-leak:|refcount_t:|general protection|Call Trace|rxe_reg_fast_mr:'

# ---------------------------------------------------------------- guest set-up
ip link set lo up
ln -sfn /proc/self/fd /dev/fd
ln -sfn /proc/self/fd/0 /dev/stdin
ln -sfn /proc/self/fd/1 /dev/stdout
ln -sfn /proc/self/fd/2 /dev/stderr
echo 1 >/proc/sys/kernel/panic_on_oops
echo on >/proc/sys/kernel/printk_devkmsg # no rate limit on /dev/kmsg writes
mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
if modprobe configfs 2>/dev/null || [[ -d /sys/kernel/config ]]; then
	mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config 2>/dev/null
fi
dmesg -n 1 # console: only emergencies (an oops still prints: console_verbose)

WORK=$(mktemp -d /var/tmp/vmtest.XXXXXX)
KLOG=$WORK/kmsg.log
# A follower captures the whole kernel log (from boot on) into KLOG, so that
# nothing is lost even if the ring buffer wraps during a long case.
stdbuf -oL dmesg -w >"$KLOG" 2>&1 &
KLOG_PID=$!
MARKN=0

# Write a marker into the kernel log, wait until the follower has it, and set
# KMARK_LINE to its line number in KLOG.
kmark() {
	local tag="kcxx-vmtest: $1 #$((++MARKN))"
	echo "$tag" >/dev/kmsg
	if wait_for 10 grep -qF -- "$tag" "$KLOG"; then
		KMARK_LINE=$(grep -nF -- "$tag" "$KLOG" | tail -n1 | cut -d: -f1)
	else
		KMARK_LINE=$(wc -l <"$KLOG")
	fi
}

now() { echo "${EPOCHREALTIME/,/.}"; }

# ---------------------------------------------------------------- select cases
CASES=()
DIRGLOBS=()
for g in "${GLOBS[@]}"; do
	if [[ $g == */* ]]; then
		# A path: run that file as a case (e.g. a throwaway case outside the repo).
		[[ -f $g ]] || { echo "vmtest: no such case file: $g"; echo "0 passed, 1 failed"; exit 2; }
		continue
	fi
	DIRGLOBS+=("$g")
done
for f in "$HERE"/cases/*.sh; do
	[[ -f $f ]] || continue
	b=${f##*/}
	n=${b%.sh}
	for g in "${DIRGLOBS[@]}"; do
		# shellcheck disable=SC2053
		if [[ $n == $g || $b == $g ]]; then
			CASES+=("$f")
			break
		fi
	done
done
for g in "${GLOBS[@]}"; do
	[[ $g == */* ]] && CASES+=("$(readlink -f "$g")")
done
if ((${#CASES[@]} == 0)); then
	echo "vmtest: no case matches: ${GLOBS[*]} (cases: $(ls "$HERE/cases" | tr '\n' ' '))"
	echo "0 passed, 0 failed"
	kill "$KLOG_PID" 2>/dev/null
	exit 2
fi

# ---------------------------------------------------------------- run
PASSED=0
FAILED=0

indent() { sed 's/^/    /'; }

for f in "${CASES[@]}"; do
	name=$(basename "$f" .sh)
	t=$(sed -n 's/^#[[:space:]]*timeout:[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$f" | head -n1)
	t=${t:-$DEFAULT_TIMEOUT}
	mapfile -t expects < <(sed -n 's/^#[[:space:]]*expect-dmesg:[[:space:]]*//p' "$f" | sed 's/[[:space:]]*$//')
	ctmp=$WORK/$name
	mkdir -p "$ctmp"
	out=$ctmp/output.log
	: >"$out"

	echo "vmtest-run: $name (timeout ${t}s)"
	kmark "begin $name"
	from=$KMARK_LINE
	t0=$(now)
	# timeout puts the case into its own process group (pgid = timeout's pid):
	# it kills the whole group on expiry, and we kill leftovers afterwards.
	(cd "$KCXX_ROOT" && exec env VMTEST_CASE="$name" VMTEST_TMP="$ctmp" VMTEST_TIMEOUT="$t" \
		timeout -k 10 "$t" bash "$f") </dev/null >"$out" 2>&1 &
	tpid=$!
	tailpid=
	if ((VERBOSE)); then
		tail --pid="$tpid" -n +1 -f "$out" | indent &
		tailpid=$!
	fi
	wait "$tpid"
	rc=$?
	t1=$(now)
	leftover=$(pgrep -g "$tpid" 2>/dev/null | tr '\n' ' ')
	if [[ -n $leftover ]]; then
		kill -TERM -- "-$tpid" 2>/dev/null
		sleep 0.5
		kill -KILL -- "-$tpid" 2>/dev/null
	fi
	[[ -n $tailpid ]] && wait "$tailpid" 2>/dev/null
	kmark "end $name"
	to=$KMARK_LINE
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')

	newlines=$(sed -n "$((from + 1)),$((to - 1))p" "$KLOG")
	bad=$(grep -E -- "$BAD_RE" <<<"$newlines")
	reasons=()
	details=()
	if ((rc == 124 || rc == 137)); then
		reasons+=("timeout after ${t}s")
	elif ((rc != 0)); then
		reasons+=("exit $rc")
	fi
	for re in "${expects[@]}"; do
		[[ -n $re ]] || continue
		if [[ -n $bad ]] && grep -qE -- "$re" <<<"$bad"; then
			bad=$(grep -vE -- "$re" <<<"$bad")
		else
			reasons+=("expected dmesg /$re/ not seen")
		fi
	done
	if [[ -n $bad ]]; then
		reasons+=("bad dmesg: $(wc -l <<<"$bad") line(s)")
		details+=("offending dmesg lines:" "$bad")
	fi

	if ((${#reasons[@]} == 0)); then
		line="vmtest: PASS $name (${secs}s)"
		PASSED=$((PASSED + 1))
		echo "$line"
		[[ -n $leftover ]] && echo "    note: leftover processes killed: $leftover"
		# A case's measured figures (lines "figures: ..."), shown when it passes too.
		((VERBOSE)) || grep -a '^figures: ' "$out" | indent
	else
		r=$(IFS=';'; echo "${reasons[*]}")
		line="vmtest: FAIL $name (${r//;/; })"
		FAILED=$((FAILED + 1))
		echo "$line"
		[[ -n $leftover ]] && echo "    leftover processes killed: $leftover"
		if ((${#details[@]})); then
			printf '%s\n' "${details[@]}" | indent
		fi
		if ((!VERBOSE)); then
			if [[ -s $out ]]; then
				echo "    last $TAIL_LINES lines of output:"
				tail -n "$TAIL_LINES" "$out" | indent
			else
				echo "    (no output)"
			fi
		fi
	fi
done

# ---------------------------------------------------------------- summary
kmark "done"
kill "$KLOG_PID" 2>/dev/null
wait "$KLOG_PID" 2>/dev/null
echo "$PASSED passed, $FAILED failed"
echo "----- dmesg -----"
cat "$KLOG"
echo "----- dmesg -----"
((FAILED == 0))

#!/bin/bash
# `make check`: everything a clean checkout must pass, in order, with the time
# of each phase:
#   deps       install missing Debian packages (root, apt-get)
#   build      build every module from clean with V=1, and prove from the log
#              that objtool ran on every C++ object; build the userspace
#              hostile peer (tests/hostile) for guest case 80
#   unit       host unit tests (GoogleTest, ASan + UBSan)
#   fuzz       a short libFuzzer pass over every wire decoder and the parser
#   buildtests the build refuses global constructors, plain new, static dtors
#   upstream   build the upstream rtrs/rnbd modules (interop peer) from
#              Debian's linux-source-6.1 into build/upstream
#   vm         boot the qemu guest and run tests/vm/cases
#   vm-reboot  two guests: the server guest is powered off and booted again
#              under the client's fio verify (scripts/vm-reboot-test.sh, 5-7.5 min)
# The last line is the total "check: N passed, N failed".
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
LOGS=build/logs
mkdir -p "$LOGS"
total_passed=0 total_failed=0
declare -a phase_lines=()

# run_phase NAME CMD... : runs CMD with output to the terminal and to a log,
# records the phase time; returns the command's status.
run_phase() {
	local name=$1 start rc
	shift
	echo "===== check: $name ====="
	start=$(date +%s)
	"$@" 2>&1 | tee "$LOGS/$name.log"
	rc=${PIPESTATUS[0]}
	phase_lines+=("$(printf '%-10s %4ss  %s' "$name" $(($(date +%s) - start)) "$([[ $rc == 0 ]] && echo ok || echo "FAILED (exit $rc)")")")
	return "$rc"
}

count() {  # count PASSED FAILED
	total_passed=$((total_passed + $1))
	total_failed=$((total_failed + $2))
}

finish() {
	echo
	echo "===== check: phase times ====="
	printf '%s\n' "${phase_lines[@]}"
	echo "check: $total_passed passed, $total_failed failed"
	[[ $total_failed == 0 ]] && exit 0 || exit 1
}

if ! run_phase deps bash scripts/deps.sh; then
	count 0 1
	finish
fi

build_objtool_check() {
	local v1=$LOGS/modules-v1.log cpp obj missing=0 n=0
	make clean-modules >/dev/null 2>&1
	if ! make modules V=1 >"$v1" 2>&1; then
		grep -E 'error|Error' "$v1" | head -40
		return 1
	fi
	# No compiler or objtool warnings are tolerated.
	if grep -E 'warning:' "$v1"; then
		echo "ERROR: the module build printed warnings (full log: $v1)"
		return 1
	fi
	# The ibnbd tool, which the guest cases install and run.
	if ! make tool >"$LOGS/tool.log" 2>&1; then
		cat "$LOGS/tool.log"
		return 1
	fi
	# Every module's C++ unity object must have been processed by objtool.
	while read -r cpp; do
		obj=${cpp%.cpp}.o
		n=$((n + 1))
		if grep -qE "objtool .* --module $ROOT/$obj\$" "$v1"; then
			echo "objtool ran on $obj"
		else
			echo "ERROR: no objtool run on $obj in the V=1 log"
			missing=$((missing + 1))
		fi
	done < <(find ibtrs ibnbd tests/kmod -name '*.cpp' 2>/dev/null | sort)
	((n > 0 && missing == 0)) || return 1
	# The hostile RTRS peer (userspace) that guest case 80 runs.
	make -f tests/hostile/hostile.mk build
}
if run_phase build build_objtool_check; then count 1 0; else count 0 1; finish; fi

run_phase unit make unit
p=$(grep -aoE '\[  PASSED  \] [0-9]+ test' "$LOGS/unit.log" | grep -oE '[0-9]+' | tail -n1)
f=$(grep -aoE '\[  FAILED  \] [0-9]+ test' "$LOGS/unit.log" | grep -oE '[0-9]+' | tail -n1)
if [[ -z $p && -z $f ]]; then count 0 1; else count "${p:-0}" "${f:-0}"; fi

run_phase fuzz bash scripts/fuzz.sh 10
read -r p f < <(sed -nE 's/^fuzz: ([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' "$LOGS/fuzz.log" | tail -n1)
count "${p:-0}" "${f:-1}"

run_phase buildtests bash tests/build/run.sh
read -r p f < <(sed -nE 's/^buildtests: ([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' "$LOGS/buildtests.log")
count "${p:-0}" "${f:-1}"

# After the build phase: clean-modules deletes every .ko under the tree.
if run_phase upstream bash scripts/upstream-rnbd.sh; then count 1 0; else count 0 1; fi

# Every guest case in one boot; the cases add up to ~30 min on 2 idle cores.
run_phase vm env KCXX_VM_TIMEOUT=${KCXX_VM_TIMEOUT:-3000} bash scripts/vm-test.sh
read -r p f < <(sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' "$LOGS/vm.log" | tail -n1)
if [[ ${PIPESTATUS[0]:-0} != 0 || -z ${p:-} ]]; then p=${p:-0} f=${f:-1}; fi
# vm-test.sh itself may fail the run (panic on the console) with all cases passed.
if ! grep -q "FAILED" <<<"${phase_lines[-1]}"; then count "$p" "$f"; else count "$p" "$((f > 0 ? f : 1))"; fi

# The two-guest storage reboot (one test: "1 passed, 0 failed" or the reverse).
run_phase vm-reboot bash scripts/vm-reboot-test.sh
rrc=$?
read -r p f < <(sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' "$LOGS/vm-reboot.log" | tail -n1)
if ((rrc != 0)); then count 0 1; else count "${p:-0}" "${f:-1}"; fi

finish

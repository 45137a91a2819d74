#!/bin/bash
# Host fuzzing pass (docs/fuzzing.md): builds the libFuzzer targets of
# tests/fuzz, runs each one after the other for SECONDS (default 30) from a
# copy of its checked-in seed corpus, and prints per target the executions,
# libFuzzer coverage (cov/ft), corpus size and crashes, then the source
# coverage of the decoder headers reached by the resulting corpus (if
# llvm-cov is installed; FUZZ_COVERAGE=0 skips it).
#
#   bash scripts/fuzz.sh [SECONDS]          # `make fuzz` (30 s per target)
#   FUZZ_TARGETS=rtrs_imm_fuzz bash scripts/fuzz.sh 60
#
# The last line is "fuzz: N passed, N failed"; the exit status is non-zero if
# any target failed (crash, timeout, OOM, violated property) or did not build.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

SECONDS_PER_TARGET=${1:-${FUZZ_SECONDS:-30}}
if ! [[ $SECONDS_PER_TARGET =~ ^[0-9]+$ ]] || ((SECONDS_PER_TARGET < 1)); then
	echo "usage: $0 [SECONDS]" >&2
	exit 2
fi
MAKE_ARGS=(-f tests/fuzz/fuzz.mk "FUZZ_SECONDS=$SECONDS_PER_TARGET")
[[ -n ${FUZZ_TARGETS:-} ]] && MAKE_ARGS+=("FUZZ_TARGETS=$FUZZ_TARGETS")

mkdir -p build/fuzz
# Build first (in parallel; quiet unless it fails), then fuzz strictly one
# target at a time: the fuzzers share the machine with other tests.
if ! make "${MAKE_ARGS[@]}" -j"$(nproc)" build >build/fuzz/build.log 2>&1; then
	grep -E 'error|Error' build/fuzz/build.log | head -40
	echo "fuzz: build failed (log: build/fuzz/build.log)"
	echo "fuzz: 0 passed, 1 failed"
	exit 1
fi

# The verdict line is held back and printed last, after the coverage figures.
make -s "${MAKE_ARGS[@]}" run 2>&1 | tee build/fuzz/run.log | grep --line-buffered -vE '^fuzz: [0-9]+ passed'
rc=${PIPESTATUS[0]}
verdict=$(grep -E '^fuzz: [0-9]+ passed, [0-9]+ failed$' build/fuzz/run.log | tail -n1)

if [[ ${FUZZ_COVERAGE:-1} != 0 ]] && { command -v llvm-cov-14 || command -v llvm-cov; } >/dev/null; then
	make -s "${MAKE_ARGS[@]}" -j"$(nproc)" coverage >build/fuzz/coverage.log 2>&1
	grep '^fuzz coverage' build/fuzz/coverage.log ||
		echo "fuzz coverage: not available (log: build/fuzz/coverage.log)"
fi
echo "${verdict:-fuzz: 0 passed, 1 failed}"
[[ -n $verdict ]] || rc=1
exit "$rc"

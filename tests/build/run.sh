#!/bin/bash
# Build-time guarantees of the C++ rule (kcxx-runtime/kbuild-cxx.mk), proven by
# building small modules that must fail, plus one that must succeed:
#   ok               a well-formed C++ module builds (positive control)
#   neg-ctor         global constructor          -> refused by our check
#   neg-new          plain new (_Znwm)           -> refused by our check
#   neg-new/modpost  same, our check disabled    -> refused by modpost
#   neg-static-dtor  static with a destructor    -> refused (atexit)
#   neg-two-tu       two C++ objects in a module -> refused before building
# Each case builds in its own scratch copy (M=<tmp>) against KDIR.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
KDIR=${KDIR:-/lib/modules/$("$ROOT/scripts/kver.sh")/build}
KX_CXX=${KX_CXX:-g++}
SCRATCH=$(mktemp -d /var/tmp/kcxx-buildtest.XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT
passed=0 failed=0

# build CASE [make args...] -> sets $out, returns make's status
build() {
	local case=$1 dir=$SCRATCH/$1$2
	shift 2
	rm -rf "$dir"
	mkdir -p "$dir"
	cp "$ROOT/tests/build/$case"/* "$dir/"
	ln -s "$ROOT/kcxx-runtime" "$dir/kcxx-runtime"
	out=$(make -C "$KDIR" M="$dir" KX_CXX="$KX_CXX" "$@" modules 2>&1)
}

result() {  # result NAME OK(0/1) WHY
	if [[ $2 == 0 ]]; then
		echo "buildtest: PASS $1"
		passed=$((passed + 1))
	else
		echo "buildtest: FAIL $1: $3"
		sed 's/^/    /' <<<"$out" | tail -15
		failed=$((failed + 1))
	fi
}

# expect_refused NAME CASE SUFFIX PATTERN [make args]
expect_refused() {
	local name=$1 case=$2 suffix=$3 pattern=$4
	shift 4
	if build "$case" "$suffix" "$@"; then
		result "$name" 1 "the build succeeded but must have been refused"
	elif grep -qE "$pattern" <<<"$out"; then
		result "$name" 0
	else
		result "$name" 1 "refused, but not with /$pattern/"
	fi
}

if build ok ""; then
	if [[ -f $SCRATCH/ok/bt_ok.ko ]]; then result ok 0; else result ok 1 "no bt_ok.ko"; fi
else
	result ok 1 "the positive control does not build"
fi
expect_refused neg-ctor neg-ctor "" 'error: C\+\+ global constructor'
expect_refused neg-new neg-new "" 'error: needs C\+\+ runtime symbols .*_Znwm'
expect_refused neg-new/modpost neg-new "-modpost" 'ERROR: modpost: "_Znwm" .* undefined' KX_CXX_SYMCHECK=0
expect_refused neg-static-dtor neg-static-dtor "" 'error: needs C\+\+ runtime symbols .*atexit'
expect_refused neg-two-tu neg-two-tu "" 'more than one C\+\+ translation unit'
echo "buildtests: $passed passed, $failed failed"
[[ $failed == 0 ]]

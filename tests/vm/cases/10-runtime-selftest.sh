#!/bin/bash
# The C++ runtime inside the kernel: kcxx_selftest runs every runtime check at
# load (allocation incl. an injected failure, Result, OwnPtr, RefPtr, lists,
# atomics, tag allocator, work, delayed work, completion, timer + wait queue,
# spinlock contention across CPUs, per-cpu) and logs PASS/FAIL per item. Every
# expected item must have passed, and unloading must report no leak (the
# runner fails the case on any kcxx-leak or WARNING line).
# timeout: 120
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

ko=$KCXX_ROOT/tests/kmod/selftest/kcxx_selftest.ko
items="alloc alloc_failure result own_ptr ref_ptr list atomics tags work delayed_work
       completion timer_waitqueue spinlock_contention percpu no_leak"

mark="selftest-start-$RANDOM"
echo "$mark" >/dev/kmsg
load_ko "$ko"
log=$(dmesg | sed -n "/$mark/,\$p")
failed=$(cat /sys/module/kcxx_selftest/parameters/failed)
missing=0
for item in $items; do
	if ! grep -q "\] kcxx_selftest: PASS $item\$" <<<"$log"; then
		echo "item $item did not pass:"
		grep "kcxx_selftest: .* $item" <<<"$log" || echo "  (no line for $item)"
		missing=$((missing + 1))
	fi
done
grep "\] kcxx_selftest: summary" <<<"$log"
unload_ko kcxx_selftest
[[ $failed == 0 && $missing == 0 ]] || die "runtime self-test: failed=$failed, items not passed=$missing"
echo "all $(wc -w <<<"$items") runtime items passed"

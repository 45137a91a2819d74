#!/bin/bash
# The RDMA shim end to end over soft-RoCE: rdma_smoke runs a listener on
# 10.99.0.1 and a client from 10.99.0.2 in one module (rxe0 <-> rxe1 across
# the veth wire) and checks rdma_cm (reject/accept with private data,
# disconnect), fast registration, RDMA_WRITE_WITH_IMM into empty receives,
# SEND_WITH_INV (remote invalidation), LOCAL_INV, unsignaled sends with a
# signal interval, IB_POLL_DIRECT and IB_POLL_SOFTIRQ CQs, drain and teardown.
# Every item must pass, and unloading must report no leak.
# timeout: 240
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

ko=$KCXX_ROOT/tests/kmod/rdma_smoke/rdma_smoke.ko
items="addr listen cm_reject cm_connect device reg_mr_send write_imm send_with_inv
       local_inv unsignaled cq_direct disconnect drain teardown no_leak"

rxe_setup 1
mark="rdma-smoke-start-$RANDOM"
echo "$mark" >/dev/kmsg
# load_ko modprobes the module's depends (ib_core, rdma_cm) first.
load_ko "$ko"
log=$(dmesg | sed -n "/$mark/,\$p")
failed=$(cat /sys/module/rdma_smoke/parameters/failed)
grep "\] rdma_smoke: " <<<"$log" | grep -v "PASS\|summary" || true
missing=0
for item in $items; do
	if ! grep -q "\] rdma_smoke: PASS $item\$" <<<"$log"; then
		echo "item $item did not pass:"
		grep "rdma_smoke: .* $item" <<<"$log" || echo "  (no line for $item)"
		missing=$((missing + 1))
	fi
done
grep "\] rdma_smoke: summary" <<<"$log"
unload_ko rdma_smoke
rxe_teardown
[[ $failed == 0 && $missing == 0 ]] || die "rdma smoke test: failed=$failed, items not passed=$missing"
echo "all $(wc -w <<<"$items") rdma items passed"

#!/bin/bash
# Guest side of `make demo`: bring up soft-RoCE on a veth pair, load the
# project's modules, and narrate what happened. Runs inside the test guest.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

step() { printf '\n=== %s\n' "$*"; }

step "guest kernel $(uname -r), $(nproc) CPUs"
step "soft-RoCE: one veth pair, rxe on each end"
rxe_setup 1 || die "rxe setup failed"
rdma link show
ip -br addr show | grep veth

step "RDMA round trip over the veth wire (rping, 5 iterations)"
rping -s -a "$(rxe_ip 0 1)" -C 5 >/dev/null 2>&1 &
server=$!
sleep 1
n=$(rping -c -a "$(rxe_ip 0 1)" -I "$(rxe_ip 0 2)" -C 5 -v 2>&1 | grep -c 'ping data')
echo "rping: $n of 5 round trips from $(rxe_ip 0 2) to $(rxe_ip 0 1)"
wait "$server" 2>/dev/null

step "the C++ runtime inside the kernel (kcxx_selftest)"
mark="demo-$RANDOM"
echo "$mark" >/dev/kmsg
load_ko "$KCXX_ROOT/tests/kmod/selftest/kcxx_selftest.ko"
dmesg | sed -n "/$mark/,\$p" | grep -E 'kcxx_selftest: (PASS|FAIL|summary)' | sed 's/^\[[^]]*\] //'
unload_ko kcxx_selftest
if dmesg | grep -q 'kcxx-leak'; then echo "leak reported at unload"; else echo "unloaded: 0 live allocations"; fi

step "what is still to come"
echo "The IBTRS transport and the /dev/ibnbd block device are not built yet;"
echo "this demo will map a remote null_blk over soft-RoCE once they are."
rxe_teardown

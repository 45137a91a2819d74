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

step "ibnbd: map a remote null_blk over soft-RoCE"
modprobe null_blk memory_backed=1 gb=1 nr_devices=1
wait_for 10 test -b /dev/nullb0 || die "no /dev/nullb0"
load_ko "$KCXX_ROOT/ibtrs/ibtrs-server.ko"
load_ko "$KCXX_ROOT/ibnbd/server/ibnbd-server.ko" dev_search_path=/
load_ko "$KCXX_ROOT/ibtrs/ibtrs-client.ko"
load_ko "$KCXX_ROOT/ibnbd/client/ibnbd-client.ko"
line="sessname=demo path=ip:$(rxe_ip 0 2)@ip:$(rxe_ip 0 1) device_path=/dev/nullb0"
echo "echo '$line' > /sys/class/ibnbd-client/ctl/map_device"
echo "$line" >/sys/class/ibnbd-client/ctl/map_device || die "map_device failed"
link=/sys/class/ibnbd-client/ctl/devices/!dev!nullb0@demo
wait_for 10 test -L "$link" || die "no ctl/devices entry"
dev=/dev/$(basename "$(readlink -f "$link")")
wait_for 10 test -b "$dev" || die "$dev did not appear"
s=/sys/block/${dev#/dev/}/ibnbd
echo "$dev: state=$(cat $s/state) session=$(cat $s/session) mapping_path=$(cat $s/mapping_path)" \
	"size=$(($(cat /sys/block/${dev#/dev/}/size) / 2048)) MiB"
echo "paths: $(ls /sys/class/ibtrs-client/demo/paths/)"

step "fio on $dev: 10 s random read/write 4k..64k, crc32c verify"
fio --name=demo --filename="$dev" --direct=1 --ioengine=libaio --iodepth=16 --rw=randrw \
	--bsrange=4k-64k --size=64m --verify=crc32c --verify_fatal=1 --time_based --runtime=10 \
	--group_reporting 2>&1 | grep -E '^ *(READ|WRITE):|err=|verify' || true
echo "transport stats (read_cnt read_bytes write_cnt write_bytes inflight failover_cnt):"
cat /sys/class/ibtrs-client/demo/paths/*/stats/rdma
echo "completion latency (reads, writes):"
grep -v ': 0 0$' /sys/class/ibtrs-client/demo/rdma_lat

step "unmap and unload"
echo normal >"$s/unmap_device" && echo "$dev unmapped"
unload_ko ibnbd_client
unload_ko ibtrs_client
unload_ko ibnbd_server
unload_ko ibtrs_server
if dmesg | grep -q 'kcxx-leak'; then echo "leak reported at unload"; else echo "unloaded: 0 live allocations"; fi
rxe_teardown

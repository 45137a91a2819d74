#!/bin/bash
# How ibtrs-server answers a READ that needs no remote invalidation (our
# client's default remote_invalidate=N, server always_invalidate=0), both
# ways of ibtrs-server merge_read_answer, over OUR ibnbd on a memory-backed
# null_blk:
#   Y (default): the data and the answer's immediate in one RDMA
#      WRITE_WITH_IMM: 7 rxe packets per 4k read (request, its ACK, 4 data
#      packets carrying the immediate in the last, their ACK);
#   N: a data WRITE, then a zero-length WRITE_WITH_IMM, as upstream
#      rtrs-server: 9 packets (the answer and its ACK on top).
# fio writes a crc32c-stamped region once, then reads it back and verifies
# it in each mode, one 4k read at a time (no merging). The case counts the
# packets both rxe ends sent during each read-back and fails unless Y stays
# at <= 7.5 packets per read and N at >= 8.5 (a merge that silently stopped
# happening, or one that happened with N, fails), on any verify error, or
# when the parameter does not take.
# timeout: 600
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

own_stack_unload
own_stack_trap
sess=s68
srv=$(rxe_ip 0 1)
clt=$(rxe_ip 0 2)
MERGE=/sys/module/ibtrs_server/parameters/merge_read_answer
REGION_MB=8
READS=$((REGION_MB * 256))
rxe_setup 1
modprobe null_blk memory_backed=1 gb=1 nr_devices=1
wait_for 10 test -b /dev/nullb0 || die "no /dev/nullb0"
klog_mark case68
load_ko "$KCXX_ROOT/ibtrs/ibtrs-server.ko" always_invalidate=0
load_ko "$KCXX_ROOT/ibnbd/server/ibnbd-server.ko" dev_search_path=/dev
load_ko "$KCXX_ROOT/ibtrs/ibtrs-client.ko" remote_invalidate=N
load_ko "$KCXX_ROOT/ibnbd/client/ibnbd-client.ko"
[[ $(cat "$MERGE") == Y ]] || die "merge_read_answer defaults to $(cat "$MERGE"), want Y"

dev=/dev/$(ibnbd_map "$sess" "ip:$clt@ip:$srv" nullb0)
work=$VMTEST_TMP/c68
rm -rf "$work"
mkdir -p "$work"
# The same job description writes and verifies (fio's verify_only replays
# the writes' offsets and checks each block's header and crc32c).
job=(--name=rdans --filename="$dev" --direct=1 --ioengine=libaio --iodepth=1 --rw=write
	--bs=4k --size=${REGION_MB}m --verify=crc32c --verify_fatal=1)
rc=0
fio "${job[@]}" --do_verify=0 >"$work/fio.write" 2>&1 || rc=$?
fio_check "$work/fio.write" "$rc" "fio write"

pkts() { # both ends' rxe packets
	echo $(($(cat /sys/class/infiniband/rxe0/ports/1/hw_counters/sent_pkts) +
		$(cat /sys/class/infiniband/rxe1/ports/1/hw_counters/sent_pkts)))
}
# read_back MODE: verifies the region with merge_read_answer=MODE; prints
# packets per read x100.
read_back() {
	local mode=$1 p0 p1
	echo "$mode" >"$MERGE" || die "cannot write merge_read_answer=$mode"
	[[ $(cat "$MERGE") == "$mode" ]] || die "merge_read_answer reads $(cat "$MERGE") after writing $mode"
	rc=0
	p0=$(pkts)
	fio "${job[@]}" --verify_only >"$work/fio.read-$mode" 2>&1 || rc=$?
	p1=$(pkts)
	fio_check "$work/fio.read-$mode" "$rc" "fio verify_only merge_read_answer=$mode" >&2
	echo $(((p1 - p0) * 100 / READS))
}
y=$(read_back Y)
n=$(read_back N)
echo Y >"$MERGE"
fmt() { printf '%d.%02d' $(($1 / 100)) $(($1 % 100)); }
echo "figures: $READS verified 4k reads per mode; rxe packets per read: merge_read_answer=Y $(fmt "$y"), N $(fmt "$n")"

echo normal >"/sys/block/${dev#/dev/}/ibnbd/unmap_device" || die "unmap"
own_stack_unload
rxe_teardown
trap - EXIT
klog_trouble
((leaks == 0 && warns == 0)) || { klog; die "kernel log: $leaks leak lines, $warns warnings"; }
((y <= 750)) || die "merge_read_answer=Y: $(fmt "$y") packets per read, want <= 7.5 (data and answer in one message)"
((n >= 850)) || die "merge_read_answer=N: $(fmt "$n") packets per read, want >= 8.5 (a separate answer and its ACK)"
echo "READ answers: merged 7-packet form and upstream's 9-packet form both verified"

#!/bin/bash
# OUR ibnbd-client against the UPSTREAM rnbd-server with upstream's default
# rtrs-server always_invalidate=1: the server invalidates each chunk's rkey
# and sends a new one with every answer (RKEY_RSP); a client that kept the
# old key would fail every later RDMA write into that chunk with a remote
# access error. fio verify=crc32c random mixed rw, 4k..128k, then a
# sequential 1 MiB pass, 0 errors. test-bed.md: with always_invalidate=1
# upstream RTRS lost requests silently on this rxe (no error, IO hung); our
# client bounds every request (io_timeout_ms), so such a loss becomes a
# timeout, a reconnect and a retry, never a hang: the case prints the
# reconnect and failover counts it saw (not an error while fio sees none).
# Prints: server always_invalidate, fio runs and errors, reconnects.
# timeout: 600
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../upstream.sh"

cleanup() {
	ibnbd_teardown ibnbd_client ibtrs_client rnbd_server rtrs_server rtrs_core
	return 0
}
trap cleanup EXIT

sess=s67
srv=$(rxe_ip 0 1)
clt=$(rxe_ip 0 2)
rxe_setup 1
modprobe null_blk memory_backed=1 gb=1 nr_devices=1
wait_for 10 test -b /dev/nullb0 || die "no /dev/nullb0"

upstream_load_server dev_search_path=/ rtrs_server.always_invalidate=1
inval=$(cat /sys/module/rtrs_server/parameters/always_invalidate)
[[ $inval == Y ]] || die "rtrs-server runs with always_invalidate=$inval, want Y"
echo "rtrs-server: always_invalidate=$inval"
load_ko "$KCXX_ROOT/ibtrs/ibtrs-client.ko" io_timeout_ms=10000
load_ko "$KCXX_ROOT/ibnbd/client/ibnbd-client.ko" reconnect_delay_sec=1 io_fail_timeout_sec=60

dev=/dev/$(ibnbd_map "$sess" "ip:$clt@ip:$srv" /dev/nullb0)
pdir=/sys/class/ibtrs-client/$sess/paths/ip:$clt@ip:$srv
[[ $(cat "$pdir/state") == connected ]] || die "path state $(cat "$pdir/state")"
echo "mapped /dev/nullb0 of the upstream server as $dev"

work=$VMTEST_TMP/c67
rm -rf "$work"
mkdir -p "$work"
rc=0
fio --name=inval-rand --filename="$dev" --direct=1 --ioengine=libaio --iodepth=16 \
	--rw=randrw --bsrange=4k-128k --size=64m --verify=crc32c --verify_fatal=1 \
	--randrepeat=0 >"$work/fio.rand" 2>&1 || rc=$?
fio_check "$work/fio.rand" "$rc" "fio randrw verify"
rc=0
fio --name=inval-seq --filename="$dev" --direct=1 --ioengine=libaio --iodepth=4 \
	--rw=write --bs=1m --offset=128m --size=64m --verify=crc32c --verify_fatal=1 \
	>"$work/fio.seq" 2>&1 || rc=$?
fio_check "$work/fio.seq" "$rc" "fio seq 1m verify"

read -r rec_ok rec_failed <"$pdir/stats/reconnects"
failovers=$(awk '{ print $6 }' "$pdir/stats/rdma")
echo "figures: upstream server always_invalidate=$inval: 2 fio verify runs, 0 errors;" \
	"reconnects ok=$rec_ok failed=$rec_failed failovers=$failovers"

echo normal >"/sys/block/${dev#/dev/}/ibnbd/unmap_device" || die "unmap"
unload_ko ibnbd_client
unload_ko ibtrs_client
upstream_unload_all
rxe_teardown
trap - EXIT
echo "our client against upstream rtrs-server always_invalidate=1: verified"

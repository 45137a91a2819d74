#!/bin/bash
# Server restart during IO: OUR ibnbd-client maps a memory-backed null_blk
# from the UPSTREAM rnbd-server, fio writes with crc32c verify; the upstream
# rnbd-server and rtrs-server are unloaded and loaded again mid-run. The
# device goes `closed`, comes back `open` by itself (same /dev/ibnbdN), IO
# held meanwhile (io_fail_timeout_sec=120) and fio finishes with 0 errors,
# its verify pass reading every acknowledged write back. A second device of
# the session (a loop device whose file grows during the outage) comes back
# with the new capacity. Then the outage
# policy with io_fail_timeout_sec=0: IO during an outage fails at once (EIO).
# timeout: 900
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../upstream.sh"

# On failure, leave nothing loaded for the next case (best effort).
cleanup() {
	umount "$VMTEST_TMP/mnt" 2>/dev/null || true
	ibnbd_teardown ibnbd_client ibtrs_client rnbd_server rtrs_server rtrs_core
	return 0
}
trap cleanup EXIT

CTL=/sys/class/ibnbd-client/ctl
sess=s62
srv=$(rxe_ip 0 1)
clt=$(rxe_ip 0 2)

rxe_setup 1
modprobe null_blk memory_backed=1 gb=1 nr_devices=1
modprobe loop
wait_for 10 test -b /dev/nullb0 || die "no /dev/nullb0"
# A second device on the same session whose size changes during the outage.
img=$VMTEST_TMP/grow.img
truncate -s 64M "$img"
loopdev=$(losetup -f --show "$img")
upstream_load_server dev_search_path=/ rtrs_server.always_invalidate=0
load_ko "$KCXX_ROOT/ibtrs/ibtrs-client.ko"
load_ko "$KCXX_ROOT/ibnbd/client/ibnbd-client.ko" reconnect_delay_sec=1

name=$(ibnbd_map "$sess" "ip:$clt@ip:$srv" /dev/nullb0)
link="$CTL/devices/!dev!nullb0@$sess"
dev=/dev/$name
S=/sys/block/$name/ibnbd
ibnbd_wait_state "$name" open 1
echo 120 >"$S/io_fail_timeout_sec"
gname=$(ibnbd_map "$sess" "" "$loopdev")
[[ $(cat "/sys/block/$gname/size") == $((64 * 2048)) ]] || die "/dev/$gname is not 64 MiB"

server_restart() {
	local t0=$SECONDS
	unload_ko rnbd_server
	unload_ko rtrs_server
	ibnbd_wait_state "$name" closed 60
	echo "server unloaded; $dev closed after $((SECONDS - t0))s"
	ibnbd_wait_state "$gname" closed 10
	# The backing file grows while the server is down: the remap must
	# bring the new capacity.
	truncate -s 96M "$img"
	losetup -c "$loopdev"
	sleep 3
	upstream_load_server dev_search_path=/ rtrs_server.always_invalidate=0 >/dev/null
	ibnbd_wait_state "$name" open 90
	echo "server loaded again; $dev open again $((SECONDS - t0))s after the unload"
	ibnbd_wait_state "$gname" open 30
}

fio_log=$VMTEST_TMP/fio62.log
timeout 600 fio --name=restart --filename="$dev" --direct=1 --ioengine=libaio --iodepth=16 \
	--rw=randwrite --bsrange=4k-64k --size=96m --rate=8m --verify=crc32c --verify_fatal=1 \
	--randrepeat=1 >"$fio_log" 2>&1 &
fpid=$!
sleep 4
grep -q ' write=[1-9]' "$S/stats" || die "fio did not start writing"
server_restart
rc=0
wait "$fpid" || rc=$?
fio_check "$fio_log" "$rc" "fio across restart"
echo "stats: $(cat "$S/stats")"
grep -q ' held=[1-9]' "$S/stats" || echo "note: no request had to be held"
[[ -b $dev && $(readlink -f "$link") == */$name ]] || die "$dev is not the same device after the remap"
gsize=$(cat "/sys/block/$gname/size")
((gsize == 96 * 2048)) || die "/dev/$gname: capacity $gsize sectors after the remap, expected $((96 * 2048))"
echo "/dev/$gname (second device of the session): remapped, capacity 64 -> 96 MiB"
echo normal >"/sys/block/$gname/ibnbd/unmap_device"

# Outage with io_fail_timeout_sec=0: IO fails at once.
echo 0 >"$S/io_fail_timeout_sec"
unload_ko rnbd_server
unload_ko rtrs_server
ibnbd_wait_state "$name" closed 60
t0=$SECONDS
if dd if="$dev" of=/dev/null bs=4k count=1 skip=777 iflag=direct status=none 2>/dev/null; then
	die "read during an outage with io_fail_timeout_sec=0 succeeded"
fi
((SECONDS - t0 < 10)) || die "read with io_fail_timeout_sec=0 took $((SECONDS - t0))s"
echo "io_fail_timeout_sec=0: read during the outage failed at once"
upstream_load_server dev_search_path=/ rtrs_server.always_invalidate=0 >/dev/null
ibnbd_wait_state "$name" open 90
dd if="$dev" of=/dev/null bs=4k count=1 skip=777 iflag=direct status=none || die "read after remap failed"

echo normal >"$S/unmap_device"
wait_for 10 test ! -e "/sys/block/$name" || die "$dev still present"
unload_ko ibnbd_client
unload_ko ibtrs_client
upstream_unload_all
losetup -d "$loopdev"
unload_ko null_blk
rxe_teardown
echo "server restart during IO: closed -> open by itself, fio verify 0 errors; fail-at-once with timeout 0: OK"

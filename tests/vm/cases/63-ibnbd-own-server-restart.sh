#!/bin/bash
# Fault injection on OUR pair (issue 8): OUR ibnbd-client maps a memory-backed
# null_blk from OUR ibnbd-server (ibtrs-server + ibnbd-server) over soft-RoCE.
# (1) Server restarts during IO: fio randrw 512 B/4 KiB/64 KiB with
#     verify=crc32c runs; ibnbd-server and ibtrs-server are unloaded and
#     loaded again mid-run, 3 times (IO must flow between two restarts). The device goes `closed` and comes back `open` by
#     itself (same /dev/ibnbdN), IO held meanwhile (io_fail_timeout_sec=120,
#     longer than the outage); fio finishes with 0 errors, its verify pass
#     reading every acknowledged write back.
# (2) Force unmap with fio in flight: fio ends, nothing hangs, the session
#     and the server's open go away.
# (3) Force unmap of a `closed` device while fio's requests are held for the
#     reconnect: the held requests fail, fio ends, nothing hangs.
# (4) Force unmap right after the server is back, racing the reconnect and
#     the remap (SESS_INFO + OPEN): no hang, session and server open gone.
# No WARN, no leak at unload (the runner checks dmesg; counted here too).
# Case 62 is the same restart against the upstream server.
# timeout: 900
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

own_stack_trap

sess=s63
srv=$(rxe_ip 0 1)
clt=$(rxe_ip 0 2)
klog_mark case63

load_server() {
	load_ko "$KCXX_ROOT/ibtrs/ibtrs-server.ko"
	load_ko "$KCXX_ROOT/ibnbd/server/ibnbd-server.ko" dev_search_path=/
}
unload_server() {
	unload_ko ibnbd_server
	unload_ko ibtrs_server
}
server_has_no_open() { [[ -z $(ls /sys/class/ibnbd-server/ctl/devices 2>/dev/null) ]]; }
# writes submitted so far on the device (stats: "read=N write=N ...")
writes() { sed -n 's/.* write=\([0-9]*\).*/\1/p' "$S/stats"; }
# force_unmap_checked TAG FIO_PID SEC: force-unmaps $name ($S) while fio
# (FIO_PID) uses it; dies unless the disk goes within 20 s, fio ends, and
# the session and the server's open go within SEC. Sets FIO_RC.
force_unmap_checked() {
	local tag=$1 pid=$2 sec=$3
	echo force >"$S/unmap_device"
	wait_for 20 test ! -e "/sys/block/$name" || die "($tag) $dev still present 20 s after the force unmap"
	FIO_RC=0
	wait "$pid" || FIO_RC=$?
	((FIO_RC != 124)) || die "($tag) fio hung after the force unmap"
	wait_for "$sec" test ! -d "/sys/class/ibtrs-client/$sess" || die "($tag) session $sess still there after its last unmap"
	wait_for "$sec" server_has_no_open || die "($tag) server still has opens: $(ls /sys/class/ibnbd-server/ctl/devices)"
}
# fio takes seconds to start under TCG: wait for its first write.
writing() { grep -q ' write=[1-9]' "$S/stats"; }

rxe_setup 1
own_stack_unload
modprobe null_blk memory_backed=1 gb=1 nr_devices=1
wait_for 10 test -b /dev/nullb0 || die "no /dev/nullb0"
load_server
load_ko "$KCXX_ROOT/ibtrs/ibtrs-client.ko"
load_ko "$KCXX_ROOT/ibnbd/client/ibnbd-client.ko" reconnect_delay_sec=1

name=$(ibnbd_map "$sess" "ip:$clt@ip:$srv" /dev/nullb0)
dev=/dev/$name
S=/sys/block/$name/ibnbd
ibnbd_wait_state "$name" open 10
echo 120 >"$S/io_fail_timeout_sec"
echo "mapped /dev/nullb0 as $dev, io_fail_timeout_sec=120"

# (1) RESTARTS restarts under one fio verify run; before each, writes must
# have gone through since the last remap (IO flows again).
RESTARTS=${IBNBD_RESTARTS:-3}
fio_log=$VMTEST_TMP/fio63.log
timeout 600 fio --name=restart63 --filename="$dev" --direct=1 --ioengine=libaio --iodepth=16 \
	--rw=randrw --bssplit=512/20:4k/40:64k/40 --size=128m --rate=4m,4m --verify=crc32c \
	--verify_fatal=1 --randrepeat=1 >"$fio_log" 2>&1 &
fpid=$!
wait_for 60 writing || die "fio did not start writing"
w_reopen=$(writes)
max_outage=0
io_flows() { (($(writes) >= w_reopen + 200)); }
for ((r = 1; r <= RESTARTS; r++)); do
	wait_for 60 io_flows || die "(1) restart $r: no IO after the last remap"
	t0=$SECONDS
	unload_server
	ibnbd_wait_state "$name" closed 60
	kill -0 "$fpid" 2>/dev/null || die "(1) restart $r: fio had already finished when the server went down"
	t_closed=$((SECONDS - t0))
	sleep 3
	load_server
	ibnbd_wait_state "$name" open 90
	outage=$((SECONDS - t0))
	((outage > max_outage)) && max_outage=$outage
	w_reopen=$(writes)
	echo "(1) restart $r: $dev closed ${t_closed} s after the unload, open again after ${outage} s"
	((outage < 120)) || die "outage of $outage s is not shorter than io_fail_timeout_sec"
done
rc=0
wait "$fpid" || rc=$?
fio_check "$fio_log" "$rc" "(1) fio across the restart"
echo "(1) stats: $(cat "$S/stats")"
(($(writes) > w_reopen)) || die "no write after the remap"
[[ -b $dev && $(basename "$(readlink -f "/sys/class/ibnbd-client/ctl/devices/!dev!nullb0@$sess")") == "$name" ]] ||
	die "$dev is not the same device after the remap"

# (2) force unmap with IO in flight
w0=$(writes)
more_writes() { (($(writes) > w0 + 100)); }
timeout 120 fio --name=force63 --filename="$dev" --direct=1 --ioengine=libaio --iodepth=32 \
	--rw=randrw --bs=4k-64k --time_based --runtime=60 >"$VMTEST_TMP/force63.log" 2>&1 &
fpid=$!
wait_for 60 more_writes || die "(2) fio did not start writing"
t0=$SECONDS
force_unmap_checked 2 "$fpid" 10
echo "(2) force unmap under fio: $dev gone in $((SECONDS - t0)) s, fio exit $FIO_RC, session and server open gone"

# (3) force unmap of a closed device with requests held
name=$(ibnbd_map "$sess" "ip:$clt@ip:$srv" /dev/nullb0)
dev=/dev/$name
S=/sys/block/$name/ibnbd
echo 120 >"$S/io_fail_timeout_sec"
timeout 120 fio --name=held63 --filename="$dev" --direct=1 --ioengine=libaio --iodepth=16 \
	--rw=randwrite --bs=4k --time_based --runtime=60 >"$VMTEST_TMP/held63.log" 2>&1 &
fpid=$!
wait_for 60 writing || die "(3) fio did not start writing"
sleep 1
unload_server
ibnbd_wait_state "$name" closed 60
sleep 2
kill -0 "$fpid" 2>/dev/null || die "(3) fio ended during the outage (its IO should be held)"
t0=$SECONDS
echo force >"$S/unmap_device"
wait_for 20 test ! -e "/sys/block/$name" || die "(3) closed $dev still present 20 s after the force unmap"
frc=0
wait "$fpid" || frc=$?
((frc != 124)) || die "(3) fio hung after the force unmap of the closed device"
((frc != 0)) || die "(3) fio succeeded although its held writes were failed"
wait_for 10 test ! -d "/sys/class/ibtrs-client/$sess" || die "(3) session $sess still there after its last unmap"
echo "(3) force unmap of a closed device with held IO: gone in $((SECONDS - t0)) s, fio exit $frc"

# (4) force unmap racing the reconnect and remap: the server comes back and
# the device is force-unmapped (a) at once, while the path reconnects, and
# (b) the moment the transport path is connected again, while the client
# re-sends SESS_INFO and OPEN or has just finished.
path_connected() {
	local st
	read -r st 2>/dev/null <"/sys/class/ibtrs-client/$sess/paths/ip:$clt@ip:$srv/state" || return 1
	[[ $st == connected ]]
}
load_server
for how in at-once on-path-up; do
	name=$(ibnbd_map "$sess" "ip:$clt@ip:$srv" /dev/nullb0)
	dev=/dev/$name
	S=/sys/block/$name/ibnbd
	echo 120 >"$S/io_fail_timeout_sec"
	timeout 120 fio --name=race63 --filename="$dev" --direct=1 --ioengine=libaio --iodepth=16 \
		--rw=randwrite --bs=4k --time_based --runtime=60 >"$VMTEST_TMP/race63.log" 2>&1 &
	fpid=$!
	wait_for 60 writing || die "(4 $how) fio did not start writing"
	unload_server
	ibnbd_wait_state "$name" closed 60
	wait_for 20 eval '! path_connected' || die "(4 $how) path still connected with the server gone"
	load_server
	if [[ $how == on-path-up ]]; then
		# Spin on builtins (wait_for sleeps 0.2 s, longer than the remap).
		t0=$SECONDS
		until path_connected; do
			((SECONDS - t0 < 60)) || die "(4 $how) the path did not reconnect"
		done
	fi
	read -r st <"$S/state"
	t0=$SECONDS
	force_unmap_checked "4 $how" "$fpid" 20
	echo "(4) force unmap $how (device state was $st): gone in $((SECONDS - t0)) s, fio exit $FIO_RC"
done
own_stack_unload
rxe_teardown
klog_trouble
echo "figures: own server restart + force unmaps: restarts=$RESTARTS max_outage=${max_outage}s verify_errors=0 leaks=$leaks warns=$warns"
((leaks == 0 && warns == 0)) || die "$leaks leak and $warns WARN lines"
trap - EXIT
echo "own-server restart and force-unmap faults passed"

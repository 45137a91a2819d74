#!/bin/bash
# Client guest of scripts/vm-reboot-test.sh (run by tests/vm/runner.sh).
# OUR ibnbd-client maps the server guest's /dev/vda over two paths (one per
# NIC / qemu link) with io_fail_timeout_sec=IO_FAIL_SEC (longer than the
# server's reboot) and runs fio randwrite with verify=crc32c: the write
# phase spans the server's link cut and power cut + reboot, the verify phase
# reads every block back, so blocks written before the power cut are read
# from the rebooted server's disk. Checks: path 1 failed during the cut while
# the device stayed open; the device went closed during the power cut and
# came back open by itself (same /dev/ibnbdN); writes went through after the
# remap; fio exit 0 with no error and no verify failure. Transitions are
# logged to $CTL/clt.states; figures go to $CTL/clt.figures.
# timeout: 600
set -euo pipefail
. "$KCXX_ROOT/tests/vm/lib.sh"
. "$KCXX_ROOT/tests/vm/reboot/common.sh"

IO_FAIL_SEC=${IO_FAIL_SEC:-240}
FIO_SIZE=${FIO_SIZE:-96m}
FIO_RATE=${FIO_RATE:-1m}
sess=reboot

cleanup() {
	[[ -n ${mon_pid:-} ]] && kill "$mon_pid" 2>/dev/null
	ibnbd_teardown ibnbd_client ibtrs_client
	return 0
}
trap cleanup EXIT

ctl_mount
dmesg_follow clt.dmesg
net_setup 2
# A dead server must be noticed in seconds, not in 25 s of missed heartbeats.
load_ko "$KCXX_ROOT/ibtrs/ibtrs-client.ko" io_timeout_ms=5000 hb_interval_ms=1000 hb_missed_max=3
load_ko "$KCXX_ROOT/ibnbd/client/ibnbd-client.ko" reconnect_delay_sec=1 io_fail_timeout_sec="$IO_FAIL_SEC"
ctl_wait srv1.ready 300

P0=ip:10.98.0.2@ip:10.98.0.1
P1=ip:10.98.1.2@ip:10.98.1.1
echo "sessname=$sess path=$P0 path=$P1 device_path=/dev/vda" >/sys/class/ibnbd-client/ctl/map_device ||
	die "map_device refused"
link="/sys/class/ibnbd-client/ctl/devices/!dev!vda@$sess"
wait_for 20 test -L "$link" || die "no $link"
name=$(basename "$(readlink -f "$link")")
dev=/dev/$name
S=/sys/block/$name/ibnbd
wait_for 10 test -b "$dev" || die "$dev did not appear"
ibnbd_wait_state "$name" open 20
PS=/sys/class/ibtrs-client/$sess/paths
wait_for 30 grep -qx connected "$PS/$P1/state" || die "path 1 not connected: $(cat "$PS/$P1/state")"
echo "mapped the server's /dev/vda as $dev over 2 paths, io_fail_timeout_sec=$(cat "$S/io_fail_timeout_sec")"

# State monitor: one line per change of (device, path 0, path 1).
mon() {
	local last= cur cut=0
	while :; do
		cur="$(cat "$S/state" 2>/dev/null || echo gone) $(cat "$PS/$P0/state" 2>/dev/null || echo -) $(cat "$PS/$P1/state" 2>/dev/null || echo -)"
		if [[ $cur != "$last" ]]; then
			echo "$(date +%s.%N | cut -c1-14) $cur" >>"$CTL/clt.states"
			last=$cur
			# Path 1 down alone (the server's link cut), then back: tell
			# the server, which waits for it before its power cut.
			[[ $cur == "open connected "* && $cur != *" connected connected" ]] && cut=1
			((cut)) && [[ $cur == "open connected connected" && ! -e $CTL/clt.p1back ]] &&
				ctl_put clt.p1back "$(date +%s)"
		fi
		sleep 0.25
	done
}
: >"$CTL/clt.states"
mon &
mon_pid=$!

writes() { sed -n 's/.* write=\([0-9]*\).*/\1/p' "$S/stats"; }
writing() { grep -q ' write=[1-9]' "$S/stats"; }
fio_log=$VMTEST_TMP/fio-reboot.log
t_fio=$SECONDS
fio --name=reboot --filename="$dev" --direct=1 --ioengine=libaio --iodepth=16 \
	--rw=randwrite --bssplit=4k/50:64k/50 --size="$FIO_SIZE" --rate=,"$FIO_RATE" \
	--verify=crc32c --verify_fatal=0 --randrepeat=1 >"$fio_log" 2>&1 &
fpid=$!
wait_for 60 writing || die "fio did not start writing"
ctl_put clt.fio "$(date +%s)"
echo "fio writing"

# Power cut: the device must go closed while fio still runs, then open again.
wait_for 300 grep -qx closed "$S/state" || die "device never went closed (server power cut missed?)"
t_closed=$SECONDS
w_closed=$(writes)
kill -0 "$fpid" 2>/dev/null || die "fio had already finished when the server went down"
echo "device closed (server down) after $((t_closed - t_fio)) s of fio, $w_closed writes so far"
wait_for "$IO_FAIL_SEC" grep -qx open "$S/state" || die "device did not come back open in $IO_FAIL_SEC s"
t_open=$SECONDS
echo "device open again after $((t_open - t_closed)) s closed"
rc=0
wait "$fpid" || rc=$?
t_end=$SECONDS
kill "$mon_pid" 2>/dev/null || true
mon_pid=
cat "$fio_log"
fio_check "$fio_log" "$rc" "fio across the reboot"
(($(writes) > w_closed)) || die "no write after the remap"
[[ $(basename "$(readlink -f "$link")") == "$name" ]] || die "$dev is not the same device after the remap"
# Path 1 must have failed during the server-side link cut while the device
# stayed open (path 0 carried the IO).
# Then path 1 reconnected by itself, and only after that the device closed.
awk '$2 == "open" && $3 == "connected" && $4 != "connected" { cut = 1 }
	cut && $2 == "open" && $3 == "connected" && $4 == "connected" { back = 1 }
	back && $2 == "closed" { ok = 1 } END { exit !ok }' "$CTL/clt.states" ||
	die "not seen: path 1 failing alone (device open), reconnecting, then the device closing: $(cat "$CTL/clt.states")"
echo "states:"
cat "$CTL/clt.states"
echo "stats: $(cat "$S/stats")"
echo "figures: fio $((t_end - t_fio)) s, device closed $((t_open - t_closed)) s (io_fail_timeout_sec=$IO_FAIL_SEC), writes at close $w_closed, total $(writes)"
ctl_put clt.figures "fio_s=$((t_end - t_fio)) closed_s=$((t_open - t_closed)) writes_at_close=$w_closed writes_total=$(writes)"
echo normal >"$S/unmap_device"
wait_for 20 test ! -e "/sys/block/$name" || die "$dev still there after the unmap"
wait_for 20 test ! -d "/sys/class/ibtrs-client/$sess" || die "session still there after the last unmap"
unload_ko ibnbd_client
unload_ko ibtrs_client
ctl_put clt.done "$(date +%s)"

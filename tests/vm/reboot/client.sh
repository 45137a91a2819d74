#!/bin/bash
# Client guest of scripts/vm-reboot-test.sh (run by tests/vm/runner.sh).
# OUR ibnbd-client maps the server guest's /dev/vda over two paths (one per
# NIC / qemu link) with io_fail_timeout_sec=IO_FAIL_SEC (longer than the
# server's reboot). fio writes region after region (REGION_MB each, crc32c
# verify headers, rate FIO_RATE) across the server's link cut and its power
# cut + reboot, until one pass that started after the device came back open
# has completed; then fio --verify_only reads every region back, so the
# regions acknowledged before the power cut are read from the rebooted
# server's disk. Checks: path 1 failed alone during the cut (device open)
# and reconnected; the device went closed at the power cut and came back
# open by itself (same /dev/ibnbdN); no write pass failed (IO held, not
# failed); 0 verify errors. Transitions go to $CTL/clt.states, figures to
# $CTL/clt.figures.
# timeout: 600
set -euo pipefail
. "$KCXX_ROOT/tests/vm/lib.sh"
. "$KCXX_ROOT/tests/vm/reboot/common.sh"

IO_FAIL_SEC=${IO_FAIL_SEC:-240}
FIO_RATE=${FIO_RATE:-1m}
REGION_MB=8
DISK_MB=1024   # the host's disk image (scripts/vm-reboot-test.sh)
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
			# The power cut: closed, then open again (times in $SECONDS).
			[[ $cur == closed* && ! -e $VMTEST_TMP/closed ]] && echo "$SECONDS" >"$VMTEST_TMP/closed"
			[[ $cur == open* && -e $VMTEST_TMP/closed && ! -e $VMTEST_TMP/reopened ]] &&
				echo "$SECONDS" >"$VMTEST_TMP/reopened"
		fi
		sleep 0.25
	done
}
: >"$CTL/clt.states"
mon &
mon_pid=$!

writes() { sed -n 's/.* write=\([0-9]*\).*/\1/p' "$S/stats"; }
# fio_region I ARGS...: fio on region I (REGION_MB MiB at I * REGION_MB MiB),
# randwrite 4 KiB/64 KiB with crc32c verify headers; the same I gives the
# same offsets and sizes (fixed seed), so --verify_only replays region I.
fio_region() {
	local i=$1
	shift
	fio --name="region$i" --filename="$dev" --direct=1 --ioengine=libaio --iodepth=16 \
		--rw=randwrite --bssplit=4k/50:64k/50 --offset="$((i * REGION_MB))m" --size="${REGION_MB}m" \
		--verify=crc32c --randrepeat=1 --randseed="$((1000 + i))" "$@"
}
# Write passes, one region each, back to back, until a pass that started
# after the device came back open has completed: a pass runs across the link
# cut, one across the power cut (its requests held while closed), and the
# regions written before the power cut are read back only after the reboot.
MAX_PASSES=$((DISK_MB / REGION_MB))
t_fio=$SECONDS
ctl_put clt.fio "$(date +%s)"
n=0 pre=0
while :; do
	((n < MAX_PASSES)) || die "$n write passes and the device has not been closed and open again (disk full)"
	after_open=0
	[[ -e $VMTEST_TMP/reopened ]] && after_open=1
	log=$VMTEST_TMP/w$n.log
	rc=0
	fio_region "$n" --do_verify=0 --rate=,"$FIO_RATE" >"$log" 2>&1 || rc=$?
	fio_check "$log" "$rc" "write pass $n" >/dev/null
	[[ -e $VMTEST_TMP/closed ]] || pre=$((pre + 1))
	n=$((n + 1))
	((after_open)) && break
	if ((SECONDS - t_fio > IO_FAIL_SEC + 300)); then
		die "no closed -> open after $((SECONDS - t_fio)) s of writes: $(cat "$CTL/clt.states")"
	fi
done
t_written=$SECONDS
t_closed=$(cat "$VMTEST_TMP/closed")
t_open=$(cat "$VMTEST_TMP/reopened")
((pre >= 1)) || die "no write pass completed before the power cut: nothing to read back after it"
echo "$n write passes of $REGION_MB MiB ($pre completed before the power cut) in $((t_written - t_fio)) s;" \
	"device closed $((t_closed - t_fio)) s after the start, open again $((t_open - t_closed)) s later"
kill "$mon_pid" 2>/dev/null || true
mon_pid=
# Verify every region: all acknowledged data, before and after the reboot.
bad=0
for ((i = 0; i < n; i++)); do
	log=$VMTEST_TMP/v$i.log
	rc=0
	fio_region "$i" --verify_only >"$log" 2>&1 || rc=$?
	if ((rc != 0)) || grep -qE 'err= *[1-9]|verify: bad|verify failed|bad magic' "$log"; then
		bad=$((bad + 1))
		echo "verify of region $i ($( ((i < pre)) && echo "completed before the power cut" || echo "written across or after it")) FAILED (fio exit $rc):"
		grep -aE 'verify|err=|bad' "$log" | head -n 5 | sed 's/^/    /'
	fi
done
t_end=$SECONDS
((bad == 0)) || die "$bad of $n regions failed verification"
echo "verify: $n regions ($((n * REGION_MB)) MiB) read back, 0 errors, in $((t_end - t_written)) s"
(($(writes) > 0)) || die "no write counted"
[[ $(basename "$(readlink -f "$link")") == "$name" ]] || die "$dev is not the same device after the remap"
# Path 1 must have failed during the server-side link cut while the device
# stayed open (path 0 carried the IO), then reconnected by itself, and only
# after that the device closed (the power cut) and opened again.
awk '$2 == "open" && $3 == "connected" && $4 != "connected" { cut = 1 }
	cut && $2 == "open" && $3 == "connected" && $4 == "connected" { back = 1 }
	back && $2 == "closed" { down = 1 }
	down && $2 == "open" { ok = 1 } END { exit !ok }' "$CTL/clt.states" ||
	die "not seen: path 1 failing alone (device open), reconnecting, the device closing, opening: $(cat "$CTL/clt.states")"
echo "states:"
cat "$CTL/clt.states"
echo "stats: $(cat "$S/stats")"
held=$(sed -n 's/.* held=\([0-9]*\).*/\1/p' "$S/stats")
echo "figures: $n passes ($pre before the power cut) in $((t_written - t_fio)) s, device closed $((t_open - t_closed)) s (io_fail_timeout_sec=$IO_FAIL_SEC), $held requests held, verify $((n * REGION_MB)) MiB in $((t_end - t_written)) s, 0 errors"
ctl_put clt.figures "passes=$n before_cut=$pre write_s=$((t_written - t_fio)) closed_s=$((t_open - t_closed)) held=$held verify_MiB=$((n * REGION_MB)) verify_s=$((t_end - t_written)) errors=0"
echo normal >"$S/unmap_device"
wait_for 20 test ! -e "/sys/block/$name" || die "$dev still there after the unmap"
wait_for 20 test ! -d "/sys/class/ibtrs-client/$sess" || die "session still there after the last unmap"
unload_ko ibnbd_client
unload_ko ibtrs_client
ctl_put clt.done "$(date +%s)"

#!/bin/bash
# Reconnect give-up (max_reconnect_attempts): OUR ibnbd-client maps a
# null_blk from OUR server over one path with `max_reconnect_attempts=N` in
# the map_device line (N=3 by default). The server modules are unloaded:
# the path goes down and tries N reconnects (each refused: no listener),
# then gives up: sysfs state `dead`, stats/reconnects "0 N", one
# "not reconnecting" log line, and no further attempt while the server stays
# away or even after it is back. The device goes `closed`; with
# io_fail_timeout_sec=2 a read fails with EIO after ~2 s (the device's
# policy). A manual `reconnect` after the server is back connects the path
# (state `connected`, stats/reconnects "1 N"), the device goes `open` again
# by itself and fio verify runs with 0 errors. Then bad input on the way:
# max_reconnect_attempts=10000 in map_device is EINVAL.
# Prints attempts, time to give up, EIO latency, time to reopen.
# timeout: 600
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

own_stack_trap

N=${IBTRS_GIVE_UP_ATTEMPTS:-3}
sess=s73
srv=$(rxe_ip 0 1)
clt=$(rxe_ip 0 2)
CTL=/sys/class/ibnbd-client/ctl
TC=/sys/class/ibtrs-client/$sess
P=$TC/paths/ip:$clt@ip:$srv
klog_mark case73

load_server() {
	load_ko "$KCXX_ROOT/ibtrs/ibtrs-server.ko"
	load_ko "$KCXX_ROOT/ibnbd/server/ibnbd-server.ko" dev_search_path=/
}
unload_server() {
	unload_ko ibnbd_server
	unload_ko ibtrs_server
}
state_is() { [[ $(cat "$P/state" 2>/dev/null) == "$1" ]]; }

rxe_setup 1
own_stack_unload
modprobe null_blk memory_backed=1 gb=1 nr_devices=1
wait_for 10 test -b /dev/nullb0 || die "no /dev/nullb0"
load_server
load_ko "$KCXX_ROOT/ibtrs/ibtrs-client.ko"
load_ko "$KCXX_ROOT/ibnbd/client/ibnbd-client.ko" reconnect_delay_sec=1

# Bad input first: out of range, one log line, EINVAL.
if echo "sessname=$sess path=ip:$clt@ip:$srv device_path=/dev/nullb0 max_reconnect_attempts=10000" \
	>"$CTL/map_device" 2>"$VMTEST_TMP/e73"; then
	die "max_reconnect_attempts=10000 was accepted"
fi
grep -q "Invalid argument" "$VMTEST_TMP/e73" || die "max_reconnect_attempts=10000: $(cat "$VMTEST_TMP/e73")"
[[ $(klog | grep -c 'max_reconnect_attempts must be -1 or 0..9999') == 1 ]] ||
	die "not exactly one log line for max_reconnect_attempts=10000: $(klog | tail -n 5)"

echo "sessname=$sess path=ip:$clt@ip:$srv device_path=/dev/nullb0 max_reconnect_attempts=$N" \
	>"$CTL/map_device" || die "map_device with max_reconnect_attempts=$N refused"
link=$CTL/devices/!dev!nullb0@$sess
wait_for 10 test -L "$link" || die "no $link"
name=$(basename "$(readlink -f "$link")")
dev=/dev/$name
S=/sys/block/$name/ibnbd
wait_for 10 test -b "$dev" || die "$dev did not appear"
ibnbd_wait_state "$name" open 10
[[ $(cat "$TC/max_reconnect_attempts") == "$N" ]] ||
	die "session max_reconnect_attempts is $(cat "$TC/max_reconnect_attempts"), not $N"
state_is connected || die "path not connected: $(cat "$P/state")"
echo 2 >"$S/io_fail_timeout_sec"
echo "mapped /dev/nullb0 as $dev, max_reconnect_attempts=$N, io_fail_timeout_sec=2"

t0=$SECONDS
unload_server
ibnbd_wait_state "$name" closed 60
# N attempts with backoff from 1 s (1, 2, 4, 8 s ... + jitter).
wait_for 120 state_is dead || die "path did not give up: state $(cat "$P/state"), reconnects $(cat "$P/stats/reconnects")"
give_up=$((SECONDS - t0))
read -r ok failed <"$P/stats/reconnects"
((ok == 0 && failed == N)) || die "stats/reconnects is '$ok $failed' after giving up, not '0 $N'"
[[ $(klog | grep -c "path ip:$clt@ip:$srv: not reconnecting ($N attempts, max $N)") == 1 ]] ||
	die "not exactly one give-up line: $(klog | grep 'not reconnecting')"
echo "gave up after $failed failed reconnects, ${give_up} s after the server unload"

# The device's policy: a request fails with EIO after io_fail_timeout_sec.
t1=$SECONDS
if out=$(dd if="$dev" of=/dev/null bs=4k count=1 iflag=direct 2>&1); then
	die "a read of the closed device succeeded"
fi
eio=$((SECONDS - t1))
grep -q "Input/output error" <<<"$out" || die "read failed, but not with EIO: $out"
((eio <= 30)) || die "the read took $eio s to fail (io_fail_timeout_sec=2)"
echo "read on the closed device: EIO after ${eio} s"

# Given up means given up: nothing more while the server is away...
sleep 5
read -r ok failed <"$P/stats/reconnects"
((failed == N)) || die "reconnect attempts went on after giving up: $failed"
# ... and nothing when it comes back, until told.
load_server
sleep 5
state_is dead || die "path left dead by itself: $(cat "$P/state")"
read -r ok failed <"$P/stats/reconnects"
((ok == 0 && failed == N)) || die "stats/reconnects '$ok $failed' changed with the server back"

t2=$SECONDS
echo 1 >"$P/reconnect" || die "manual reconnect failed"
state_is connected || die "path not connected after the manual reconnect: $(cat "$P/state")"
read -r ok failed <"$P/stats/reconnects"
((ok == 1 && failed == N)) || die "stats/reconnects '$ok $failed' after the manual reconnect, not '1 $N'"
ibnbd_wait_state "$name" open 60
reopen=$((SECONDS - t2))
echo "manual reconnect: path connected, $dev open again after ${reopen} s"

fio_log=$VMTEST_TMP/fio73.log
rc=0
timeout 300 fio --name=after73 --filename="$dev" --direct=1 --ioengine=libaio --iodepth=16 \
	--rw=randrw --bsrange=4k-64k --size=16m --verify=crc32c --verify_fatal=1 >"$fio_log" 2>&1 || rc=$?
fio_check "$fio_log" "$rc" "fio after the manual reconnect"

echo normal >"$S/unmap_device" || die "unmap failed"
wait_for 20 test ! -d "$TC" || die "session $sess still there after its last unmap"
own_stack_unload
rxe_teardown
klog_trouble
echo "figures: reconnect give-up: max_reconnect_attempts=$N failed_reconnects=$failed give_up_s=$give_up eio_s=$eio reopen_s=$reopen leaks=$leaks warns=$warns"
((leaks == 0 && warns == 0)) || die "$leaks leak and $warns WARN lines"
trap - EXIT
echo "reconnect give-up passed"

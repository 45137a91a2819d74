#!/bin/bash
# Multipath on the block device (issue 5): our ibnbd-client maps a
# memory-backed null_blk from our ibnbd-server over TWO paths (veth pairs 0
# and 1) on the switched wire (rxe_setup 2 switched). While fio verify=crc32c
# runs back to back on /dev/ibnbdN, the case cuts one path at a time (`ip link
# set swpN down` on the switch: the client's or, every other time, the
# server's cable), waits until the path fails, plugs it back (`ip link set
# swpN up`), waits for the reconnect, and alternates paths, FLAPS times. One path is always up, so fio must see 0 IO errors and
# 0 verify errors; requests caught on a dying path must fail over
# (failover_cnt > 0). Then the policies, visible in stats/rdma:
# round-robin spreads IO evenly over two healthy paths; with 20 ms of netem
# delay on path 1, min-inflight and adaptive move the load to path 0.
# Prints flaps, fio runs, IOs, verify errors, IO errors, failovers.
# timeout: 1500
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

FLAPS=${IBNBD_FLAPS:-50}
sess=s70
CTL=/sys/class/ibnbd-client/ctl
TC=/sys/class/ibtrs-client/$sess
path_dir() { echo "$TC/paths/ip:10.99.$1.2@ip:10.99.$1.1"; }
path_state() { cat "$(path_dir "$1")/state" 2>/dev/null || echo gone; }
path_down() { [[ $(path_state "$1") != connected ]]; }
path_up() { [[ $(path_state "$1") == connected ]]; }
# stats/rdma: read_cnt read_bytes write_cnt write_bytes inflight failover_cnt
path_ios() { awk '{ print $1 + $3 }' "$(path_dir "$1")/stats/rdma"; }
path_failovers() { awk '{ print $6 }' "$(path_dir "$1")/stats/rdma"; }

# Teardown steps run in the background with a deadline: a step stuck in the
# kernel becomes a failure with the blocked tasks' stacks, not a guest timeout.
bounded() { # WHAT SECS CMD...
	local what=$1 secs=$2 pid
	shift 2
	"$@" &
	pid=$!
	if ! wait_for "$secs" eval "! kill -0 $pid 2>/dev/null"; then
		echo 1 >/proc/sys/kernel/sysrq
		echo w >/proc/sysrq-trigger
		dmesg | tail -n 150
		die "$what did not finish in $secs s"
	fi
	wait "$pid" || die "$what failed"
}
work=$VMTEST_TMP/c70
mkdir -p "$work"
# The reason of a failure is kept in $work/trace and printed again at the end
# of the cleanup, after the kernel log (the runner shows the last lines).
die() {
	echo "FATAL: $*" | tee -a "$work/trace" >&2
	exit 1
}
trap 'echo "FAILED (exit $?): line $LINENO: $BASH_COMMAND" | tee -a "$work/trace" >&2' ERR
# On failure: show what the modules said, then tear down without waiting
# forever (a stuck step dumps the blocked tasks' stacks).
cleanup() {
	set +e
	trap - ERR
	echo "----- kernel log (ibtrs/ibnbd, last 40 lines) -----"
	dmesg | grep -E 'ibtrs|ibnbd|I/O error|blk_update' | tail -n 40
	echo "----- case output before the failure -----"
	tail -n 5 "$work/trace" 2>/dev/null
	touch "$work/stop"
	[[ -n ${klog_pid:-} ]] && kill "$klog_pid" 2>/dev/null
	[[ -n ${fio_loop:-} ]] && wait "$fio_loop" 2>/dev/null
	for k in 0 1; do
		rxe_link_heal "$k" 2>/dev/null
		ip -n ibwire link set "swp$((2 * k))" up 2>/dev/null
		ip -n ibwire link set "swp$((2 * k + 1))" up 2>/dev/null
	done
	for f in /sys/block/ibnbd*/ibnbd/unmap_device; do
		[[ -e $f ]] && bounded "force unmap" 120 eval "echo force >$f"
	done
	bounded "rmmod" 120 rmmod ibnbd_client ibnbd_server ibtrs_client ibtrs_server
	return 0
}
trap cleanup EXIT

# Kernel-log lines of this case only, from a follower (earlier cases' force
# unmaps and fail-at-once outages log I/O errors of their own ibnbd
# devices, and the ring buffer may wrap during the flaps).
dmesg -W >"$work/klog" 2>&1 &
klog_pid=$!
rxe_setup 2 switched
modprobe null_blk memory_backed=1 gb=1 nr_devices=1
wait_for 10 test -b /dev/nullb0 || die "no /dev/nullb0"
load_ko "$KCXX_ROOT/ibtrs/ibtrs-server.ko"
load_ko "$KCXX_ROOT/ibnbd/server/ibnbd-server.ko" dev_search_path=/
# A stalled path fails after ~4 heartbeats of 250 ms.
load_ko "$KCXX_ROOT/ibtrs/ibtrs-client.ko" hb_interval_ms=250 hb_missed_max=3 io_timeout_ms=5000
# io_fail_timeout_sec: a request the transport fails while no path is up
# (both paths can be down for a moment when a request times out on the
# survivor) is held for the reconnect instead of failing at once.
load_ko "$KCXX_ROOT/ibnbd/client/ibnbd-client.ko" reconnect_delay_sec=1 io_fail_timeout_sec=30

echo "sessname=$sess path=ip:10.99.0.2@ip:10.99.0.1 path=ip:10.99.1.2@ip:10.99.1.1 device_path=/dev/nullb0" \
	>"$CTL/map_device" || die "map_device failed"
link=$CTL/devices/!dev!nullb0@$sess
wait_for 10 test -L "$link" || die "no ctl/devices entry"
dev=/dev/$(basename "$(readlink -f "$link")")
wait_for 10 test -b "$dev" || die "$dev did not appear"
path_up 0 && path_up 1 || die "paths not both connected: $(path_state 0) $(path_state 1)"
echo "mapped /dev/nullb0 as $dev over two paths"

# fio back to back until $work/stop exists: each run writes 32 MiB of random
# 4k..128k blocks at iodepth 16 and verifies them (crc32c).
fio_loop "$work" 8 64 --name=flap --filename="$dev" --direct=1 --ioengine=libaio --iodepth=16 \
	--rw=randrw --bsrange=4k-128k --size=32m --verify=crc32c --verify_fatal=1 --randrepeat=0 \
	--output-format=terse &
fio_loop=$!
wait_for 60 test -s "$work/runs" || die "the first fio run did not finish"

t0=$SECONDS
stalled=0
declare -a cuts
start_ios=$(($(path_ios 0) + $(path_ios 1)))
for ((f = 1; f <= FLAPS; f++)); do
	k=$((f % 2))
	path_up $((1 - k)) || wait_for 120 path_up $((1 - k)) || die "flap $f: path $((1 - k)) is not up"
	before=$(($(path_ios 0) + $(path_ios 1)))
	# Cable of the client's port (side 2, 10.99.k.2) on flaps 1, 2, 5, 6, ...;
	# of the server's port (side 1) on flaps 3, 4, 7, 8, ...
	side=$((2 - ((f - 1) / 2) % 2))
	cuts[$side]=$((${cuts[$side]:-0} + 1))
	rxe_link_cut "$k" "$side"
	wait_for 60 path_down "$k" || die "flap $f: path $k still connected 60 s after the cut"
	rxe_link_plug "$k" "$side"
	wait_for 120 path_up "$k" || die "flap $f: path $k did not reconnect (state $(path_state "$k"))"
	after=$(($(path_ios 0) + $(path_ios 1)))
	((f % 10 == 0)) &&
		echo "flap $f: $((SECONDS - t0)) s, IOs $before -> $after, failovers $(($(path_failovers 0) + $(path_failovers 1)))"
	# fio may be between two runs during a short flap: counted, not fatal.
	((after > before)) || stalled=$((stalled + 1))
done
flap_secs=$((SECONDS - t0))
failovers=$(($(path_failovers 0) + $(path_failovers 1)))
touch "$work/stop"
wait "$fio_loop"
fio_loop=

runs=$(wc -l <"$work/runs")
bad_runs=$(awk '$2 != 0' "$work/runs" | wc -l)
# terse v3: field 6 = read total IO KiB... use the error field (5) and
# fio's own error/verify lines.
errs=$(cat "$work"/fio.* | awk -F';' 'NF > 5 && $5 != 0 { n++ } END { print n + 0 }')
verify_bad=$(cat "$work"/fio.* | grep -c -E 'verify: bad|crc32c: verify failed|bad magic' || true)
ioerr_log=$(grep -c -E 'I/O error, dev ibnbd|ibnbd.*(failed|error).*-5' "$work/klog" || true)
kill "$klog_pid" 2>/dev/null || true
total_ios=$(($(path_ios 0) + $(path_ios 1)))
echo "figures: ibnbd flap: flaps=$FLAPS in ${flap_secs}s fio_runs=$runs failed_runs=$bad_runs io_errors=$errs" \
	"verify_errors=$verify_bad kernel_io_errors=$ioerr_log ios=$total_ios failovers=$failovers" \
	"cuts: client_port=${cuts[2]:-0} server_port=${cuts[1]:-0}"
if ((bad_runs || errs || verify_bad || ioerr_log)); then
	for f in $(awk '$2 != 0 { print $1 }' "$work/runs" | head -n 3); do tail -n 20 "$work/fio.$f"; done
	die "IO or verify errors while one path was always up"
fi
((runs >= 2)) || die "only $runs fio runs completed"
((total_ios > start_ios)) || die "no IO during the flaps"
echo "flaps with no IO progress (fio between runs): $stalled"
((failovers > 0)) || die "no request failed over in $FLAPS flaps"

# Policy behaviour, each under 10 s of fio randread QD32.
measure() { # POLICY -> prints "share0 share1" in percent of IOs
	echo "$1" >"$TC/mpath_policy"
	for k in 0 1; do echo 1 >"$(path_dir "$k")/stats/reset_all"; done
	fio --name=pol --filename="$dev" --direct=1 --ioengine=libaio --iodepth=32 --rw=randread \
		--bs=4k --time_based --runtime=10 --output-format=terse >/dev/null 2>&1 || die "fio ($1) failed"
	local a b
	a=$(path_ios 0) b=$(path_ios 1)
	echo "$((100 * a / (a + b + 1))) $((100 * b / (a + b + 1)))"
}
read -r rr0 rr1 < <(measure round-robin)
echo "figures: round-robin: path0 $rr0% path1 $rr1%"
((rr0 >= 40 && rr1 >= 40)) || die "round-robin did not spread evenly ($rr0/$rr1)"
modprobe sch_netem 2>/dev/null || true
for d in veth2 veth3; do tc qdisc replace dev "$d" root netem delay 20ms; done
read -r mi0 mi1 < <(measure min-inflight)
echo "figures: min-inflight, path 1 +20 ms: path0 $mi0% path1 $mi1%"
read -r ad0 ad1 < <(measure adaptive)
echo "figures: adaptive, path 1 +20 ms: path0 $ad0% path1 $ad1%"
for d in veth2 veth3; do tc qdisc del dev "$d" root; done
((mi0 >= 70)) || die "min-inflight left $mi1% of the IO on the slow path"
((ad0 >= 70)) || die "adaptive left $ad1% of the IO on the slow path"

unmap_normal() { echo normal >"/sys/block/${dev#/dev/}/ibnbd/unmap_device"; }
bounded "unmap" 120 unmap_normal
bounded "unload ibnbd_client" 120 unload_ko ibnbd_client
bounded "unload ibtrs_client" 120 unload_ko ibtrs_client
bounded "unload ibnbd_server" 120 unload_ko ibnbd_server
bounded "unload ibtrs_server" 120 unload_ko ibtrs_server
rxe_teardown
trap - EXIT
echo "multipath flap and policy test passed"

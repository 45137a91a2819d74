#!/bin/bash
# IBTRS in-flight fail-over over soft-RoCE: one session, two paths (veth pairs
# 0 and 1). ibtrs_test_client mode=soak keeps 32 verified IOs in flight
# (write, read back, compare) while the case cuts one path at a time
# (netem drops every packet of that veth pair long enough for the heartbeat
# to fail the path), heals it and waits
# for the reconnect, alternating paths. The other path is up all the time,
# so no IO may fail: requests in flight on the cut path must be re-issued on
# the survivor (failover_cnt > 0) and complete once, with the right data.
# Prints flaps, IOs, mismatches, IOs that saw a path error, fail-overs.
# timeout: 900
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

FLAPS=${IBTRS_FAILOVER_FLAPS:-6}
tko=$KCXX_ROOT/tests/kmod/ibtrs_test
p=/sys/module/ibtrs_test_client/parameters
c=/sys/class/ibtrs-client/ibtrs-test
path_dir() { echo "$c/paths/ip:10.99.$1.2@ip:10.99.$1.1"; }
path_state_is() { [[ $(cat "$(path_dir "$1")/state" 2>/dev/null) == "$2" ]]; }
path_down() { ! path_state_is "$1" connected; }
ios() { cat $p/ios_done; }
ios_ge() { (($(ios) >= $1)); }
# failover_cnt is the last field of stats/rdma (docs/ibtrs.md).
failovers() {
	local k n=0
	for k in 0 1; do n=$((n + $(awk '{ print $NF }' "$(path_dir $k)/stats/rdma"))); done
	echo "$n"
}

rxe_setup 2
mark="ibtrs-failover-start-$RANDOM"
echo "$mark" >/dev/kmsg
load_ko "$KCXX_ROOT/ibtrs/ibtrs-server.ko"
# Fast failure detection: a stalled path fails after ~4 s (the scan runs every second).
load_ko "$KCXX_ROOT/ibtrs/ibtrs-client.ko" hb_interval_ms=500 hb_missed_max=3 io_timeout_ms=4000
insmod "$tko/ibtrs_test_server.ko" || die "cannot load ibtrs_test_server"
insmod "$tko/ibtrs_test_client.ko" mode=soak depth=32 reconnect_delay_sec=1 \
	server=ip:10.99.0.1 src=ip:10.99.0.2 server2=ip:10.99.1.1 src2=ip:10.99.1.2 &
loader=$!
wait_for 60 test -d "$(path_dir 1)" || die "session with two paths did not appear"
wait_for 60 ios_ge 2000 || die "no IO progress before the first cut ($(ios) IOs)"

for ((f = 1; f <= FLAPS; f++)); do
	k=$((f % 2))
	before=$(ios)
	rxe_link_loss "$k"
	wait_for 60 path_down "$k" || die "flap $f: path $k still connected 60 s after the cut"
	sleep 2
	# IO went on over the other path while this one was cut.
	mid=$(ios)
	((mid > before)) || die "flap $f: no IO progress while path $k was cut"
	rxe_link_heal "$k"
	wait_for 120 path_state_is "$k" connected ||
		die "flap $f: path $k did not reconnect (state $(cat "$(path_dir "$k")/state"))"
	echo "flap $f: path $k cut and healed; IOs $before -> $(ios); failovers so far $(failovers)"
done

fo=$(failovers)
# Latency histograms: the session's rdma_lat merges both paths' stats/rdma_lat
# (read and write columns); every completed IO is counted in one bucket.
hist_sum() { awk -v col="$2" '$1 != "maximum" { sum += $(NF - 2 + col) } END { print sum + 0 }' "$1"; }
lat_r=$(hist_sum $c/rdma_lat 1) lat_w=$(hist_sum $c/rdma_lat 2)
p0=$(($(hist_sum "$(path_dir 0)/stats/rdma_lat" 1) + $(hist_sum "$(path_dir 0)/stats/rdma_lat" 2)))
p1=$(($(hist_sum "$(path_dir 1)/stats/rdma_lat" 1) + $(hist_sum "$(path_dir 1)/stats/rdma_lat" 2)))
echo "rdma_lat: session reads=$lat_r writes=$lat_w; path 0 $p0, path 1 $p1"
head -n 14 $c/rdma_lat
((lat_r > 0 && lat_w > 0)) || die "session rdma_lat counted no IO"
# Counted at completion: both samples were taken with IO running, so allow
# the IOs completed in between.
((p0 > 0 && p1 > 0 && p0 + p1 <= (lat_r + lat_w) * 11 / 10 + 500)) ||
	die "path histograms ($p0 + $p1) do not add up to the session's ($lat_r + $lat_w)"
echo 1 >$p/stop
wait "$loader" || die "ibtrs_test_client init failed"
log=$(dmesg | sed -n "/$mark/,\$p")
grep -E "ibtrs_client: .*(failed over|error|timed out)|ibtrs_test: (FAIL|IO )" <<<"$log" | tail -n 20 || true
failed=$(cat $p/failed)
mism=$(cat $p/mismatches)
redone=$(cat $p/retried)
total=$(ios)
unload_ko ibtrs_test_client
unload_ko ibtrs_test_server
unload_ko ibtrs_client
unload_ko ibtrs_server
rxe_teardown
echo "figures: ibtrs failover: flaps=$FLAPS ios=$total mismatches=$mism io_errors_seen=$redone failovers=$fo failed_items=$failed"
[[ $failed == 0 && $mism == 0 && $redone == 0 ]] ||
	die "fail-over: failed items=$failed, mismatches=$mism, IOs that saw a path error=$redone"
((fo > 0)) || die "no request was failed over (failover_cnt 0): the cuts never caught IO in flight"

#!/bin/bash
# Poll queues: OUR ibnbd-client maps with nr_poll_queues=1 and =-1 (one per
# CPU) from OUR ibnbd-server; queue/io_poll is 1, nr_poll_queues shows the
# resolved value, the transport opened the extra connections (stats/poll);
# fio io_uring --hipri=1 (polled IO) with verify=crc32c has 0 errors and the
# path's stats/poll counters (requests posted on poll connections, CQEs
# reaped by ibtrs_clt_rdma_cq_direct) grew, so the polled path was used;
# plain libaio IO on the same device still works (interrupt queues);
# nr_poll_queues=nproc+1 -> EINVAL, a second device on the session with a
# different nr_poll_queues -> EINVAL (one log line each); a path disconnect
# with polled IO in flight ends fio without a hang; then the same against
# the UPSTREAM rnbd-server (6.1), which accepts the extra connections.
# timeout: 900
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../upstream.sh"

cleanup() {
	ibnbd_teardown ibnbd_client ibtrs_client ibnbd_server ibtrs_server rnbd_server rtrs_server rtrs_core
	return 0
}
trap cleanup EXIT
t_start=$SECONDS

CTL=/sys/class/ibnbd-client/ctl
M=$CTL/map_device
srv=$(rxe_ip 0 1)
clt=$(rxe_ip 0 2)
P="path=ip:$clt@ip:$srv"
PD=/sys/class/ibtrs-client
ncpu=$(nproc)

rxe_setup 1
modprobe null_blk memory_backed=1 gb=1 nr_devices=2
wait_for 10 test -b /dev/nullb1 || die "no /dev/nullb1"

load_ko "$KCXX_ROOT/ibtrs/ibtrs-server.ko"
load_ko "$KCXX_ROOT/ibnbd/server/ibnbd-server.ko" dev_search_path=/dev
load_ko "$KCXX_ROOT/ibtrs/ibtrs-client.ko" io_timeout_ms=5000
load_ko "$KCXX_ROOT/ibnbd/client/ibnbd-client.ko"

n=0
# expect ERRNO_TEXT INPUT: map_device fails with ERRNO_TEXT and exactly one
# ibnbd_client error line is logged.
expect() {
	local want=$1 input=$2 mark out errs lines
	mark="kcxx-case65-$((++n))-$RANDOM"
	echo "$mark" >/dev/kmsg
	out=$( (printf '%s\n' "$input" >"$M") 2>&1) && die "accepted: '$input'"
	[[ $out == *"$want"* ]] || die "'$input': expected '$want', got: $out"
	errs=$(dmesg -r | sed -n "/$mark/,\$p" | grep -E '^<3>.*\] ibnbd_client: ' || true)
	lines=$(grep -c . <<<"$errs" || true)
	((lines == 1)) || {
		dmesg | sed -n "/$mark/,\$p"
		die "'$input': $lines ibnbd_client error lines, expected 1"
	}
	echo "ok: '$input' -> $want: ${errs#*ibnbd_client: }"
}
map() { ibnbd_map "$1" "${P#path=}" "$2" "$3"; } # SESS DEVICE_PATH TOKENS -> ibnbdN
# poll_stat SESS FIELD: stats/poll of the session's only path; FIELD 1 =
# poll connections, 2 = requests posted on them, 3 = CQEs reaped by polling.
poll_stat() {
	local f
	f=$(echo "$PD/$1"/paths/*/stats/poll)
	[[ -r $f ]] || die "no $f"
	awk -v k="$2" '{print $k}' "$f"
}
# fio_poll DEV WHAT: polled randrw with verify; 0 errors.
fio_poll() {
	local dev=$1 what=$2 log rc=0
	log=$VMTEST_TMP/fio-$what.log
	timeout 300 fio --name="$what" --filename="/dev/$dev" --direct=1 --ioengine=io_uring --hipri=1 \
		--rw=randrw --bsrange=4k-64k --iodepth=8 --size=8M --verify=crc32c --verify_fatal=1 \
		--do_verify=1 >"$log" 2>&1 || rc=$?
	fio_check "$log" "$rc" "$what"
}
# check_poll SESS DEV NPOLL WHAT: polled fio on DEV grows SESS's counters.
check_poll() {
	local s=$1 dev=$2 np=$3 what=$4 r0 c0 r1 c1
	[[ $(cat "/sys/block/$dev/ibnbd/nr_poll_queues") == "$np" ]] ||
		die "$dev: nr_poll_queues $(cat "/sys/block/$dev/ibnbd/nr_poll_queues"), expected $np"
	[[ $(cat "/sys/block/$dev/queue/io_poll") == 1 ]] || die "$dev: queue/io_poll is not 1"
	[[ $(poll_stat "$s" 1) == "$np" ]] || die "$s: stats/poll says $(poll_stat "$s" 1) poll connections"
	r0=$(poll_stat "$s" 2)
	c0=$(poll_stat "$s" 3)
	fio_poll "$dev" "$what"
	r1=$(poll_stat "$s" 2)
	c1=$(poll_stat "$s" 3)
	((r1 > r0 && c1 > c0)) || die "$what: polled IO did not use the poll connections ($r0->$r1 requests, $c0->$c1 CQEs)"
	echo "$what: $((r1 - r0)) requests on poll connections, $((c1 - c0)) CQEs reaped by polling"
}

# (a) nr_poll_queues=1 against our server.
expect "Invalid argument" "sessname=p1 $P device_path=nullb0 nr_poll_queues=$((ncpu + 1))"
[[ ! -d $PD/p1 ]] || die "session p1 left behind after the refused map"
d1=$(map p1 nullb0 nr_poll_queues=1)
check_poll p1 "$d1" 1 own-poll1
# Interrupt-driven IO on the same device still works and does not poll.
r0=$(poll_stat p1 2)
log=$VMTEST_TMP/fio-own-irq.log
rc=0
timeout 300 fio --name=own-irq --filename="/dev/$d1" --direct=1 --ioengine=libaio --rw=randrw --bs=16k \
	--iodepth=16 --size=16M --verify=crc32c --verify_fatal=1 >"$log" 2>&1 || rc=$?
fio_check "$log" "$rc" own-irq
[[ $(poll_stat p1 2) == "$r0" ]] || die "libaio IO went to a poll connection"
# One tag set per session: a second device with other poll queues is refused.
expect "Invalid argument" "sessname=p1 $P device_path=nullb1 nr_poll_queues=0"
d1b=$(map p1 nullb1 nr_poll_queues=1)
echo normal >"/sys/block/$d1b/ibnbd/unmap_device"

# (b) a path disconnect with polled IO in flight: fio ends (errors allowed),
# no hang, no leak; the reconnect brings the device back.
path=$(echo "$PD/p1"/paths/*)
timeout 120 fio --name=own-flap --filename="/dev/$d1" --direct=1 --ioengine=io_uring --hipri=1 \
	--rw=randwrite --bs=64k --iodepth=16 --time_based --runtime=8 >"$VMTEST_TMP/fio-flap.log" 2>&1 &
fpid=$!
sleep 3
echo 1 >"$path/disconnect"
rc=0
wait "$fpid" || rc=$?
((rc != 124)) || die "polled fio hung across a path disconnect"
echo 1 >"$path/reconnect"
ibnbd_wait_state "$d1" open 30
check_poll p1 "$d1" 1 own-poll1-after-reconnect
echo normal >"/sys/block/$d1/ibnbd/unmap_device"
wait_for 10 test ! -d "$PD/p1" || die "session p1 still open"

# (c) nr_poll_queues=-1: one per CPU.
da=$(map pall nullb0 nr_poll_queues=-1)
check_poll pall "$da" "$ncpu" own-poll-all
echo normal >"/sys/block/$da/ibnbd/unmap_device"
wait_for 10 test ! -d "$PD/pall" || die "session pall still open"
unload_ko ibnbd_server
unload_ko ibtrs_server

# (d) the upstream rnbd-server accepts the poll connections.
upstream_load_server dev_search_path=/ rtrs_server.always_invalidate=0
du=$(map up1 /dev/nullb0 nr_poll_queues=-1)
check_poll up1 "$du" "$ncpu" upstream-poll-all
echo normal >"/sys/block/$du/ibnbd/unmap_device"
wait_for 10 test ! -d "$PD/up1" || die "session up1 still open"

unload_ko ibnbd_client
unload_ko ibtrs_client
unload_ko rnbd_server
unload_ko rtrs_server
unload_ko rtrs_core
unload_ko null_blk
rxe_teardown
echo "figures: $ncpu CPUs, $n refusals, case $((SECONDS - t_start))s"

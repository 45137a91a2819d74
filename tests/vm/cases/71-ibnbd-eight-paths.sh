#!/bin/bash
# Eight paths at map time, IPv4 and IPv6: four veth pairs carry both an IPv4
# (10.99.K.S) and an IPv6 address (fd99:K::S, rxe_ip6_setup; soft-RoCE v2
# GIDs from them). OUR ibnbd-client maps a null_blk from OUR server with 8
# path= tokens in one map_device line (4 ip:<IPv4> + 4 ip:<IPv6>). All 8 must
# reach `connected`; with mpath_policy round-robin a fio verify=crc32c run
# must move IO over every one of the 8 (each path's stats/rdma count grows,
# none gets less than a quarter of its fair share) with 0 errors.
# Then a `gid:` path: map_device with path=gid:<GID>@gid:<GID> (the rxe
# GIDs of pair 0's IPv6 addresses) is parsed; on soft-RoCE the transport
# refuses AF_IB addresses (RoCE ports have no AF_IB capability: rdma_cm
# resolves gid: only on InfiniBand), so the map fails with the errno the
# case prints (ENODEV from rdma_resolve_addr on rxe 6.1), never EINVAL
# (which would mean the token was not parsed), and with one
# "cannot connect" line naming the path (GIDs in full).
# Prints the per-path IO counts and the gid: outcome.
# timeout: 900
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

own_stack_trap

sess=s71
CTL=/sys/class/ibnbd-client/ctl
TC=/sys/class/ibtrs-client/$sess
klog_mark case71
# stats/rdma: read_cnt read_bytes write_cnt write_bytes inflight failover_cnt
path_ios() { awk '{ print $1 + $3 }' "$1/stats/rdma"; }
all_connected() {
	local d n=0
	for d in "$TC"/paths/*/; do
		[[ $(cat "$d/state" 2>/dev/null) == connected ]] || return 1
		n=$((n + 1))
	done
	((n == 8))
}

rxe_setup 4
rxe_ip6_setup 0 1 2 3
own_stack_unload
modprobe null_blk memory_backed=1 gb=1 nr_devices=2
wait_for 10 test -b /dev/nullb1 || die "no /dev/nullb1"
load_ko "$KCXX_ROOT/ibtrs/ibtrs-server.ko"
load_ko "$KCXX_ROOT/ibnbd/server/ibnbd-server.ko" dev_search_path=/
load_ko "$KCXX_ROOT/ibtrs/ibtrs-client.ko"
load_ko "$KCXX_ROOT/ibnbd/client/ibnbd-client.ko"

line="sessname=$sess"
for k in 0 1 2 3; do
	line+=" path=ip:$(rxe_ip "$k" 2)@ip:$(rxe_ip "$k" 1)"
	line+=" path=ip:$(rxe_ip6 "$k" 2)@ip:$(rxe_ip6 "$k" 1)"
done
line+=" device_path=/dev/nullb0"
t0=$SECONDS
echo "$line" >"$CTL/map_device" || die "map_device with 8 paths refused: $(klog | tail -n 5)"
link=$CTL/devices/!dev!nullb0@$sess
wait_for 10 test -L "$link" || die "no $link"
name=$(basename "$(readlink -f "$link")")
dev=/dev/$name
wait_for 10 test -b "$dev" || die "$dev did not appear"
wait_for 30 all_connected || die "not 8 connected paths: $(for d in "$TC"/paths/*/; do echo -n "${d%/}: $(cat "$d/state"); "; done)"
map_s=$((SECONDS - t0))
mapfile -t paths < <(ls "$TC/paths")
v6=$(printf '%s\n' "${paths[@]}" | grep -c '^ip:fd99:' || true)
v4=$(printf '%s\n' "${paths[@]}" | grep -c '^ip:10\.99\.' || true)
((v4 == 4 && v6 == 4)) || die "expected 4 IPv4 + 4 IPv6 paths, got: ${paths[*]}"
echo "mapped /dev/nullb0 as $dev over 8 paths (4 IPv4, 4 IPv6) in ${map_s} s: ${paths[*]}"
for p in "${paths[@]}"; do
	[[ $p == ip:fd99:* ]] || continue
	[[ $(cat "$TC/paths/$p/src_addr") == ip:fd99:* ]] || die "$p: src_addr $(cat "$TC/paths/$p/src_addr")"
done

echo round-robin >"$TC/mpath_policy"
declare -A before
for p in "${paths[@]}"; do before[$p]=$(path_ios "$TC/paths/$p"); done
fio_log=$VMTEST_TMP/fio71.log
rc=0
timeout 600 fio --name=eight71 --filename="$dev" --direct=1 --ioengine=libaio --iodepth=32 \
	--rw=randrw --bsrange=4k-64k --size=64m --verify=crc32c --verify_fatal=1 >"$fio_log" 2>&1 || rc=$?
fio_check "$fio_log" "$rc" "fio over 8 paths"
total=0 min=-1 figures=""
declare -A delta
for p in "${paths[@]}"; do
	delta[$p]=$(($(path_ios "$TC/paths/$p") - before[$p]))
	total=$((total + delta[$p]))
	((min < 0 || delta[$p] < min)) && min=${delta[$p]}
	figures+=" $p=${delta[$p]}"
done
echo "round-robin IOs per path:$figures (total $total)"
((total > 0)) || die "no IO counted on any path"
((min * 8 * 4 >= total)) || die "a path got less than a quarter of its fair share (min $min of $total):$figures"
all_connected || die "a path left connected during fio"

# gid: path. Parsed (not EINVAL); on rxe the transport's answer is printed.
gid_src="gid:$(rxe_ip6 0 2)"
gid_dst="gid:$(rxe_ip6 0 1)"
# The transport names the path with the GIDs in full (%pI6).
gid_name="gid:$(_ip6_full 0 2)@gid:$(_ip6_full 0 1)"
gid_rc=0
gid_err=$({ echo "sessname=${sess}g path=$gid_src@$gid_dst device_path=/dev/nullb1" >"$CTL/map_device"; } 2>&1) || gid_rc=1
if ((gid_rc == 0)); then
	gl=$CTL/devices/!dev!nullb1@${sess}g
	wait_for 10 test -L "$gl" || die "gid: map accepted but no $gl"
	gname=$(basename "$(readlink -f "$gl")")
	gp=$(ls "/sys/class/ibtrs-client/${sess}g/paths")
	[[ $(cat "/sys/class/ibtrs-client/${sess}g/paths/$gp/state") == connected ]] || die "gid: path $gp not connected"
	dd if=/dev/zero of="/dev/$gname" bs=64k count=16 oflag=direct 2>/dev/null || die "gid: write failed"
	echo normal >"/sys/block/$gname/ibnbd/unmap_device"
	gid_outcome="works (path $gp connected, 1 MiB written)"
else
	grep -q "Invalid argument" <<<"$gid_err" && die "gid: token refused as invalid: $gid_err $(klog | tail -n 3)"
	n=$(klog | grep -c "path $gid_name: cannot connect (" || true)
	((n == 1)) || die "gid: map failed ($gid_err) with $n 'cannot connect' lines for $gid_name: $(klog | tail -n 5)"
	code=$(klog | sed -n "s/.*path $gid_name: cannot connect (\(-[0-9]*\)).*/\1/p" | tail -n 1)
	[[ ! -d /sys/class/ibtrs-client/${sess}g ]] || die "failed gid: session left in sysfs"
	gid_outcome="refused: ${gid_err##*: } (transport $code)"
fi
echo "gid: path $gid_src@$gid_dst: $gid_outcome"

echo normal >"/sys/block/$name/ibnbd/unmap_device" || die "unmap failed"
wait_for 30 test ! -d "$TC" || die "session $sess still there after its last unmap"
own_stack_unload
rxe_teardown
klog_trouble
echo "figures: eight paths: v4=$v4 v6=$v6 map_s=$map_s ios_total=$total ios_min=$min gid='$gid_outcome' leaks=$leaks warns=$warns"
((leaks == 0 && warns == 0)) || die "$leaks leak and $warns WARN lines"
trap - EXIT
echo "eight paths passed"

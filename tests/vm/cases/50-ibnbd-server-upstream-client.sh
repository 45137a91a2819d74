#!/bin/bash
# ibnbd-server serves the UPSTREAM Linux 6.1 rnbd-client (and rtrs-client)
# over soft-RoCE (10.99.0.2 -> 10.99.0.1). Three backing stores under
# dev_search_path=/: a memory-backed null_blk, a brd RAM disk and a regular
# file. For each: map, check the server's sysfs (block_dev, access_mode,
# mapping_path), fio random mixed read/write 512 B..128 KiB with crc32c
# verify (zero errors), then mkfs.ext4, mount, write files, sync, umount,
# unmap, map again, mount, compare the checksums, unmount, unmap; the
# server's devices directory must be empty after the last unmap. Unload
# everything (the runner fails the case on WARNING/BUG/leak lines).
# timeout: 900
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../upstream.sh"

srv=$(rxe_ip 0 1)
clt=$(rxe_ip 0 2)
sess=ibnbd50
ctl=/sys/class/ibnbd-server/ctl

rxe_setup 1
modprobe null_blk memory_backed=1 gb=1 nr_devices=1
modprobe brd rd_nr=1 rd_size=262144
wait_for 10 test -b /dev/nullb0 || die "no /dev/nullb0"
wait_for 10 test -b /dev/ram0 || die "no /dev/ram0"
mkdir -p /tmp/ibnbd50
truncate -s 256M /tmp/ibnbd50/disk.img

load_ko "$KCXX_ROOT/ibtrs/ibtrs-server.ko"
load_ko "$KCXX_ROOT/ibnbd/server/ibnbd-server.ko" dev_search_path=/
[[ $(cat /sys/module/ibnbd_server/parameters/port_nr) == 1234 ]] || die "port_nr default is not 1234"
[[ -d $ctl/devices ]] || die "no $ctl/devices"
upstream_load_client

# check_sysfs DEVPATH: the server's view of this session's open.
check_sysfs() {
	local devpath=$1 name d
	name=${devpath//\//!}
	d=$ctl/devices/$name
	[[ -d $d ]] || { ls -la "$ctl/devices" >&2; die "no server sysfs directory $d"; }
	[[ $(cat "$d/block_dev") == "/$devpath" ]] || die "$d/block_dev is '$(cat "$d/block_dev")'"
	[[ $(cat "$d/sessions/$sess/access_mode") == rw ]] || die "access_mode is not rw"
	[[ $(cat "$d/sessions/$sess/read_only") == 0 ]] || die "read_only is not 0"
	[[ $(cat "$d/sessions/$sess/mapping_path") == "$devpath" ]] ||
		die "mapping_path is '$(cat "$d/sessions/$sess/mapping_path")'"
	echo "server sysfs: $name block_dev=$(cat "$d/block_dev") access_mode=rw read_only=0 mapping_path=$devpath"
}

run_fio() {
	local dev=$1 out rc=0
	out=$(timeout 300 fio --name=ibnbd50 --filename="$dev" --direct=1 --ioengine=libaio \
		--iodepth=16 --rw=randrw --bsrange=512-128k --size=48m --verify=crc32c \
		--verify_fatal=1 --randrepeat=1 --group_reporting 2>&1) || rc=$?
	if ((rc != 0)); then
		echo "$out" | tail -n 40
		die "fio on $dev failed (exit $rc)"
	fi
	grep -E 'err= *[1-9]|verify: bad|crc32c: verify failed' <<<"$out" && die "fio on $dev reported errors"
	grep -qE 'err= *0' <<<"$out" || { echo "$out" | tail -n 30; die "fio on $dev: no err=0 line"; }
	grep -E '^ *(READ|WRITE): bw=' <<<"$out" | sed "s|^ *|fio $dev: |"
}

# ext4_roundtrip DEVPATH: files written through one mapping read back
# identically through a new one.
ext4_roundtrip() {
	local devpath=$1 dev sums sums2
	dev=$(upstream_map "$sess" "$clt" "$srv" "$devpath")
	mkfs.ext4 -q -F "$dev" >/dev/null
	mkdir -p /mnt/ibnbd50
	mount "$dev" /mnt/ibnbd50
	for i in 1 2 3 4; do
		head -c $((i * 1536 * 1024 + 777)) /dev/urandom >"/mnt/ibnbd50/f$i"
	done
	sums=$(cd /mnt/ibnbd50 && sha256sum f*)
	sync
	umount /mnt/ibnbd50
	upstream_unmap "$dev"
	dev=$(upstream_map "$sess" "$clt" "$srv" "$devpath")
	mount "$dev" /mnt/ibnbd50
	sums2=$(cd /mnt/ibnbd50 && sha256sum f*)
	umount /mnt/ibnbd50
	upstream_unmap "$dev"
	[[ $sums == "$sums2" ]] || die "ext4 on $devpath: checksums differ after remap"
	echo "ext4 on $devpath: 4 files, checksums equal after umount/unmap/map/mount"
}

for devpath in dev/nullb0 dev/ram0 tmp/ibnbd50/disk.img; do
	dev=$(upstream_map "$sess" "$clt" "$srv" "$devpath")
	echo "mapped $devpath as $dev: $(($(cat "/sys/block/${dev#/dev/}/size") / 2048)) MiB," \
		"lbs $(cat "/sys/block/${dev#/dev/}/queue/logical_block_size")"
	check_sysfs "$devpath"
	run_fio "$dev"
	upstream_unmap "$dev"
	ext4_roundtrip "$devpath"
done

wait_for 10 test ! -d "/sys/class/rtrs-client/$sess" || die "rtrs-client session still present"
left=$(ls "$ctl/devices")
[[ -z $left ]] || die "server devices still open after the last unmap: $left"
upstream_unload_all
unload_ko ibnbd_server
unload_ko ibtrs_server
unload_ko null_blk
unload_ko brd
rm -f /tmp/ibnbd50/disk.img
rxe_teardown
echo "upstream rnbd-client <-> ibnbd-server: null_blk, brd, file: fio verify + ext4 remap passed"

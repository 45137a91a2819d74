#!/bin/bash
# Every bad map_device input returns the right errno with exactly one
# ibnbd_client error line in the kernel log: unknown token, missing
# sessname/device_path, bad addresses, duplicate mapping (EEXIST), unknown
# session without path (ENXIO), server refusals passed through (missing
# device: ENOENT; second rw opener of a device: EPERM from the upstream
# server), too-long names, bad access_mode, poll queues; plus bad writes to
# the per-device files. Peer: the UPSTREAM rnbd-server.
# timeout: 400
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
srv=$(rxe_ip 0 1)
clt=$(rxe_ip 0 2)
P="path=ip:$clt@ip:$srv"

rxe_setup 1
modprobe null_blk memory_backed=1 gb=1 nr_devices=1
wait_for 10 test -b /dev/nullb0 || die "no /dev/nullb0"
upstream_load_server dev_search_path=/ rtrs_server.always_invalidate=0
load_ko "$KCXX_ROOT/ibtrs/ibtrs-client.ko"
load_ko "$KCXX_ROOT/ibnbd/client/ibnbd-client.ko"

n=0
# expect FILE ERRNO_TEXT INPUT: the write fails with ERRNO_TEXT (strerror) and
# exactly one ibnbd_client line at error level (raw dmesg "<3>") is logged
# (info lines such as "session a: connected" do not count).
expect() {
	local file=$1 want=$2 input=$3 mark out lines errs
	mark="kcxx-case61-$((++n))-$RANDOM"
	echo "$mark" >/dev/kmsg
	if out=$( (printf '%s\n' "$input" >"$file") 2>&1); then
		die "accepted: '$input' > $file"
	fi
	[[ $out == *"$want"* ]] || die "'$input' > ${file##*/}: expected '$want', got: $out"
	errs=$(dmesg -r | sed -n "/$mark/,\$p" | grep -E '^<3>.*\] ibnbd_client: ' || true)
	lines=$(grep -c . <<<"$errs" || true)
	((lines == 1)) || {
		dmesg | sed -n "/$mark/,\$p" | grep '\] ibnbd_client: ' || true
		die "'$input': $lines ibnbd_client error lines, expected 1"
	}
	echo "ok: '$input' -> $want: ${errs#*ibnbd_client: }"
}
M=$CTL/map_device
long=$(printf 'x%.0s' $(seq 1 300))
expect "$M" "Invalid argument" "sessname=a $P device_path=/dev/nullb0 foo=bar"
expect "$M" "Invalid argument" "$P device_path=/dev/nullb0"
expect "$M" "Invalid argument" "sessname=a $P"
expect "$M" "Invalid argument" "sessname=a path=ip:10.99.0.x device_path=/dev/nullb0"
expect "$M" "Invalid argument" "sessname=a path=10.99.0.1 device_path=/dev/nullb0"
expect "$M" "Invalid argument" "sessname=a path=ip:$clt@gid:fe80::1 device_path=/dev/nullb0"
expect "$M" "Invalid argument" "sessname=a $P device_path=/dev/nullb0 access_mode=rx"
expect "$M" "Invalid argument" "sessname=a/b $P device_path=/dev/nullb0"
expect "$M" "Invalid argument" "sessname=a $P device_path=/dev/nullb0 dest_port=70000"
expect "$M" "Invalid argument" "justaword"
expect "$M" "File name too long" "sessname=a $P device_path=/$long"
expect "$M" "No such device or address" "sessname=nosuch device_path=/dev/nullb0"
# Poll queues exist (case 65); more than one per online CPU is refused.
expect "$M" "Invalid argument" "sessname=a $P device_path=/dev/nullb0 nr_poll_queues=$(($(nproc) + 1))"
expect "$M" "Invalid argument" "sessname=a $P device_path=/dev/nullb0 nr_poll_queues=-2"
# Server refusals, passed through.
expect "$M" "No such file or directory" "sessname=a $P device_path=/dev/nosuchdev"
[[ ! -d /sys/class/ibtrs-client/a ]] || die "session a left behind after a failed map"
echo "sessname=a $P device_path=/dev/nullb0" >"$M"
wait_for 10 test -L "$CTL/devices/!dev!nullb0@a" || die "no ctl/devices/!dev!nullb0@a"
dev=/dev/$(basename "$(readlink -f "$CTL/devices/!dev!nullb0@a")")
expect "$M" "File exists" "sessname=a $P device_path=/dev/nullb0"
expect "$M" "File exists" "sessname=a device_path=/dev/nullb0"
expect "$M" "Operation not permitted" "sessname=b $P device_path=/dev/nullb0 access_mode=rw"
[[ ! -d /sys/class/ibtrs-client/b ]] || die "session b left behind after a refused map"

# Per-device files.
S=/sys/block/${dev#/dev/}/ibnbd
expect "$S/unmap_device" "Invalid argument" "sometimes"
expect "$S/remap_device" "Invalid argument" "2"
expect "$S/remap_device" "Operation already in progress" "1"
expect "$S/resize" "Invalid argument" "12abc"
expect "$S/io_fail_timeout_sec" "Invalid argument" "-1"
echo 30 >"$S/io_fail_timeout_sec"
[[ $(cat "$S/io_fail_timeout_sec") == 30 ]] || die "io_fail_timeout_sec not stored"
echo normal >"$S/unmap_device"
wait_for 10 test ! -e "/sys/block/${dev#/dev/}" || die "$dev still present"
[[ ! -d /sys/class/ibtrs-client/a ]] || die "session a still there after its last unmap"

# Module unload with a device still mapped (not open) unmaps it.
echo "sessname=c $P device_path=/dev/nullb0" >"$M"
wait_for 10 test -L "$CTL/devices/!dev!nullb0@c" || die "no ctl/devices/!dev!nullb0@c"
cdev=$(basename "$(readlink -f "$CTL/devices/!dev!nullb0@c")")
# No write-zeroes towards an upstream 2.0 server (it was not negotiated).
wz=$(cat "/sys/block/$cdev/queue/write_zeroes_max_bytes")
[[ $wz == 0 ]] || die "$cdev: write_zeroes_max_bytes=$wz towards an upstream 2.0 server"
unload_ko ibnbd_client
[[ ! -e /sys/class/ibnbd-client ]] || die "ibnbd-client class still present after unload"
echo "unload with a mapped device: unmapped and unloaded"

unload_ko ibnbd_client
unload_ko ibtrs_client
upstream_unload_all
unload_ko null_blk
rxe_teardown
echo "map_device and per-device bad inputs: $n cases, each with its errno and one log line"

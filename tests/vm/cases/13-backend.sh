#!/bin/bash
# The IBNBD server's storage backend (kx/bdev.h over shim/bdev.c): a
# memory-backed null_blk node, a regular file on tmpfs (buffered) and one on
# ext4 (O_DIRECT), all beneath a root directory, get patterned IO (512 B ..
# 128 KiB from multi-page chunks), flush/FUA, discard, write-zeroes, and the
# refusals (read-only open + write, sectors past the end, a symlink out of
# the root, a device node on a nodev mount, a directory, ".."). Every item
# must pass, and unloading must report no leak.
# timeout: 180
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

ko=$KCXX_ROOT/tests/kmod/backend_test/kcxx_backend_test.ko
stores="open rw flush_fua discard_zeroes write_zeroes secure_erase refusals readonly two_writers async_batch
	queued_from_softirq"
items="dfile_o_direct escape_symlink_refused nodev_refused directory_refused missing_refused dotdot_refused inner_symlink_allowed no_leak"
for s in $stores; do items="bdev_$s file_$s dfile_$s $items"; done

# 1 GiB, pages allocated on write; discard frees them; a 16 MiB volatile
# cache so that FLUSH and FUA do real work (null_blk then advertises both).
modprobe loop
modprobe ext4
modprobe null_blk nr_devices=1 queue_mode=2 memory_backed=1 discard=1 gb=1 cache_size=16
wait_for 10 test -b /dev/nullb0 || die "no /dev/nullb0"

top=$VMTEST_TMP/backend
mkdir -p "$top"
mount -t tmpfs -o size=128m kcxx-backend "$top"
root=$top/root
mkdir "$root" "$root/subdir"
IFS=: read -r maj min </sys/block/nullb0/dev
mknod "$root/nullb0" b "$maj" "$min"        # the device node lives beneath the root
truncate -s 16M "$root/disk.img"
ln -s disk.img "$root/inner"                 # stays inside: allowed
ln -s /dev/nullb0 "$root/escape"             # leads out of the root: refused
echo "outside" >"$top/outside"
# ext4 (which has O_DIRECT) on a loop device, mounted beneath the root: the
# backend must cross that mount (path_is_under) and open its file O_DIRECT.
truncate -s 96M "$top/ext4.img"
mkfs.ext4 -q -F -b 4096 "$top/ext4.img"
mkdir "$root/ext4"
mount -o loop "$top/ext4.img" "$root/ext4"
truncate -s 16M "$root/ext4/disk.img"
# A device node on a nodev mount beneath the root: refused (-EACCES).
mkdir "$root/nd"
mount -t tmpfs -o size=1m,nodev kcxx-nodev "$root/nd"
mknod "$root/nd/nullb0" b "$maj" "$min"

cleanup() {
	unload_ko kcxx_backend_test || true
	umount "$root/nd" "$root/ext4" 2>/dev/null || true
	umount "$top" 2>/dev/null || true
	rmmod null_blk 2>/dev/null || true
}
trap cleanup EXIT

mark="backend-start-$RANDOM"
echo "$mark" >/dev/kmsg
load_ko "$ko" root="$root" dev=nullb0 file=disk.img file2=ext4/disk.img escape=escape \
	dir=subdir link=inner nodev=nd/nullb0
log=$(dmesg | sed -n "/$mark/,\$p")
failed=$(cat /sys/module/kcxx_backend_test/parameters/failed)
missing=0
for item in $items; do
	if ! grep -q "\] kcxx_backend_test: PASS $item\$" <<<"$log"; then
		echo "item $item did not pass:"
		grep "kcxx_backend_test: .* $item" <<<"$log" || echo "  (no line for $item)"
		missing=$((missing + 1))
	fi
done
grep -E "\] kcxx_backend_test: (bdev|file|dfile): |write_zeroes|summary" <<<"$log" || true
unload_ko kcxx_backend_test
[[ $failed == 0 && $missing == 0 ]] || die "backend test: failed=$failed, items not passed=$missing"
# The module's writes went to the device: the 128 KiB pattern at sector 8192 is not zero.
[[ $(dd if=/dev/nullb0 bs=512 skip=8192 count=256 2>/dev/null | tr -d '\0' | wc -c) -gt 0 ]] ||
	die "no data on /dev/nullb0 where the module wrote"
echo "all $(wc -w <<<"$items") backend items passed"

#!/bin/bash
# kx/blk.h + kx/sysfs.h in the kernel: kcxx_ramdisk (a C++ blk-mq RAM disk)
# serves two disks on one shared tag set. fio verifies random read/write on
# both at once (every completion path and both data paths taken); discard,
# write-zeroes and secure erase zero what they should; ext4 survives a
# remount; quiesce stalls IO until unquiesce; bad sysfs writes fail with
# EINVAL and one log line; resize grows the disk and keeps the data; each
# disk's "remove" deletes its own directory; unload leaves nothing behind.
# timeout: 300
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

ko=$KCXX_ROOT/tests/kmod/ramdisk/kcxx_ramdisk.ko
ctl=/sys/class/kcxx-ramdisk/ctl
tmp=${VMTEST_TMP:-/tmp}

# Kernel log lines of this module since the marker $1.
log_since() { dmesg | sed -n "/$1/,\$p" | grep 'kcxx_ramdisk:' || true; }

# write VALUE to FILE must fail with EINVAL and log exactly one line matching RE.
expect_einval() {
	local file=$1 value=$2 re=$3 mark="kxrd-bad-$RANDOM$RANDOM" err lines
	echo "$mark" >/dev/kmsg
	if err=$({ printf '%s\n' "$value" >"$file"; } 2>&1); then
		die "writing '$value' to $file succeeded"
	fi
	[[ $err == *"Invalid argument"* ]] || die "writing '$value' to $file: not EINVAL: $err"
	lines=$(log_since "$mark")
	[[ $(grep -c . <<<"$lines" || true) == 1 ]] || die "writing '$value' to $file: want one log line, got: $lines"
	grep -qE "$re" <<<"$lines" || die "writing '$value' to $file: log line does not match /$re/: $lines"
	echo "EINVAL ok: '$value' > ${file#/sys/}: ${lines#*] }"
}

# key=value from a disk's stats line.
stat_of() { tr ' ' '\n' <"/sys/block/$1/kcxx/stats" | sed -n "s/^$2=//p"; }

start_mark="kxrd-start-$RANDOM$RANDOM"
echo "$start_mark" >/dev/kmsg
load_ko "$ko"
[[ -d $ctl ]] || die "no $ctl"

# ---- two disks on the shared tag set ---------------------------------------
echo size_mb=32 >"$ctl/create"
echo size_mb=24 >"$ctl/create"
for d in kxrd0 kxrd1; do
	wait_for 10 test -b "/dev/$d" || die "/dev/$d did not appear"
	[[ $(readlink -f "$ctl/devices/$d") == "/sys/devices/virtual/block/$d" ]] ||
		die "$ctl/devices/$d -> $(readlink -f "$ctl/devices/$d")"
done
[[ $(cat /sys/block/kxrd0/size) == $((32 * 2048)) ]] || die "kxrd0 size $(cat /sys/block/kxrd0/size)"
[[ $(cat /sys/block/kxrd0/kcxx/size_mb) == 32 && $(cat /sys/block/kxrd1/kcxx/size_mb) == 24 ]] ||
	die "size_mb: $(cat /sys/block/kxrd0/kcxx/size_mb) $(cat /sys/block/kxrd1/kcxx/size_mb)"

# Limits as set through blk::Limits.
q=/sys/block/kxrd0/queue
check_q() { [[ $(cat "$q/$1") == "$2" ]] || die "queue/$1 is '$(cat "$q/$1")', want '$2'"; }
check_q logical_block_size 512
check_q physical_block_size 4096
check_q minimum_io_size 4096
check_q max_hw_sectors_kb 128
check_q max_segments 32
check_q virt_boundary_mask 4095
check_q discard_granularity 4096
check_q discard_max_hw_bytes $((8192 * 512))
check_q write_zeroes_max_bytes $((8192 * 512))
check_q write_cache "write back"
check_q fua 1
check_q rotational 0
echo "limits ok: $(for f in logical_block_size physical_block_size max_hw_sectors_kb max_segments \
	virt_boundary_mask discard_max_hw_bytes write_cache fua rotational; do printf '%s=%s ' "$f" "$(cat "$q/$f")"; done)"
# blk-mq marks every queue of a tag set shared once a second disk uses it.
for d in kxrd0 kxrd1; do
	flags=$(cat "/sys/kernel/debug/block/$d/hctx0/flags")
	[[ $flags == *TAG_QUEUE_SHARED* ]] || die "$d hctx0 flags: $flags (tag set not shared?)"
done
echo "tag set shared: $(cat /sys/kernel/debug/block/kxrd0/hctx0/flags)"

# ---- fio with verification on both disks at once ----------------------------
fio_out=$tmp/fio.out
if ! fio --direct=1 --ioengine=libaio --iodepth=16 --rw=randrw --bsrange=4k-128k \
	--verify=crc32c --verify_fatal=1 --size=20M --runtime=120 --group_reporting=0 \
	--name=d0 --filename=/dev/kxrd0 --name=d1 --filename=/dev/kxrd1 >"$fio_out" 2>&1; then
	cat "$fio_out"
	die "fio failed"
fi
[[ $(grep -c 'err= 0' "$fio_out") == 2 ]] || { cat "$fio_out"; die "fio reported errors"; }
grep -qiE 'verify.*(fail|bad)|crc32c.*(wanted|fail)' "$fio_out" && { cat "$fio_out"; die "fio verify failure"; }
sed -n '/^Run status group/,/^Disk stats/p' "$fio_out" | grep -E 'READ:|WRITE:'
grep -E '^(d0|d1):.*err=' "$fio_out"

# Every completion path and both data paths were taken; no errors.
for d in kxrd0 kxrd1; do
	echo "$d stats: $(cat "/sys/block/$d/kcxx/stats")"
	for k in end_inline complete_inline complete_work complete_timer requeue redirected via_sg via_segments read write; do
		(($(stat_of "$d" "$k") > 0)) || die "$d: no $k"
	done
	[[ $(stat_of "$d" errors) == 0 ]] || die "$d: errors=$(stat_of "$d" errors)"
done

# ---- discard, write-zeroes, secure erase zero their range -------------------
pattern=$tmp/pattern
dd if=/dev/urandom of="$pattern" bs=1M count=8 status=none
for how in "" -z -s; do
	dd if="$pattern" of=/dev/kxrd1 bs=1M oflag=direct status=none
	out=$(blkdiscard -f $how -o $((1 << 20)) -l $((4 << 20)) /dev/kxrd1 2>&1) || die "blkdiscard $how: $out"
	cmp -s -n $((4 << 20)) <(dd if=/dev/kxrd1 bs=1M skip=1 count=4 iflag=direct status=none) /dev/zero ||
		die "blkdiscard $how: range not zero"
	cmp -s -n $((1 << 20)) <(dd if=/dev/kxrd1 bs=1M count=1 iflag=direct status=none) "$pattern" ||
		die "blkdiscard $how: data before the range changed"
	cmp -s <(dd if=/dev/kxrd1 bs=1M skip=5 count=3 iflag=direct status=none) \
		<(dd if="$pattern" bs=1M skip=5 count=3 status=none) || die "blkdiscard $how: data after the range changed"
done
for k in discard write_zeroes secure_erase; do
	(($(stat_of kxrd1 "$k") > 0)) || die "kxrd1: no $k request seen"
done
echo "discard/write-zeroes/secure-erase ok: $(stat_of kxrd1 discard)/$(stat_of kxrd1 write_zeroes)/$(stat_of kxrd1 secure_erase) requests"

# ---- ext4: flushes and FUA reach the driver; data survives a remount --------
modprobe ext4 2>/dev/null || true
mnt=$tmp/mnt
mkdir -p "$mnt"
mkfs.ext4 -q -F /dev/kxrd1
mount -t ext4 /dev/kxrd1 "$mnt"
dd if=/dev/urandom of="$mnt/data" bs=1M count=8 status=none
sum=$(md5sum <"$mnt/data")
sync
# An open (mounted) disk pins the module (the shim's fops .owner).
if rmmod kcxx_ramdisk 2>/dev/null; then die "rmmod succeeded with kxrd1 mounted"; fi
umount "$mnt"
mount -t ext4 /dev/kxrd1 "$mnt"
[[ $(md5sum <"$mnt/data") == "$sum" ]] || die "ext4 data changed across remount"
umount "$mnt"
(($(stat_of kxrd1 flush) > 0)) || die "kxrd1: no flush request seen"
(($(stat_of kxrd1 fua) > 0)) || die "kxrd1: no FUA request seen"
echo "ext4 ok: flush=$(stat_of kxrd1 flush) fua=$(stat_of kxrd1 fua)"

# ---- quiesce: IO waits until unquiesce ---------------------------------------
echo 1 >/sys/block/kxrd0/kcxx/pause
[[ $(cat /sys/block/kxrd0/kcxx/pause) == 1 ]] || die "pause does not read 1"
dd if=/dev/kxrd0 of=/dev/null bs=4k count=1 skip=7 iflag=direct status=none &
reader=$!
# State D: the read has been submitted and waits for its request.
in_io_wait() { [[ $(awk '{print $3}' "/proc/$reader/stat" 2>/dev/null) == D ]]; }
wait_for 20 in_io_wait || die "the reader never blocked on the quiesced queue"
sleep 2
in_io_wait || die "a read completed on a quiesced queue"
echo 0 >/sys/block/kxrd0/kcxx/pause
wait_for 10 bash -c "! kill -0 $reader 2>/dev/null" || die "the read did not complete after unquiesce"
wait "$reader" || die "the read failed after unquiesce"
echo "quiesce ok: the read blocked for 2 s and completed after unquiesce"

# ---- bad sysfs input: EINVAL and one explanatory line each --------------------
expect_einval "$ctl/create" foo "create: expected key=value, got 'foo'"
expect_einval "$ctl/create" size_mb=0 "create: size_mb=0 is out of range"
expect_einval "$ctl/create" size_mb=abc "create: size_mb: 'abc' is not a number"
expect_einval "$ctl/create" bogus=1 "create: unknown option 'bogus'"
expect_einval "$ctl/create" "" "create: empty input"
expect_einval /sys/block/kxrd0/kcxx/resize 16 "kxrd0: resize: 16 MB is not in"
expect_einval /sys/block/kxrd0/kcxx/resize lots "kxrd0: resize: 'lots' is not a size"
expect_einval /sys/block/kxrd0/kcxx/remove 2 "kxrd0: remove: expected 1"
expect_einval /sys/block/kxrd0/kcxx/pause 7 "kxrd0: pause: expected 0 or 1"

# ---- resize: grows, notifies, keeps the data ---------------------------------
before=$(md5sum </dev/kxrd0)
echo 48 >/sys/block/kxrd0/kcxx/resize
[[ $(cat /sys/block/kxrd0/size) == $((48 * 2048)) ]] || die "after resize: size $(cat /sys/block/kxrd0/size)"
[[ $(blockdev --getsize64 /dev/kxrd0) == $((48 << 20)) ]] || die "blockdev --getsize64: $(blockdev --getsize64 /dev/kxrd0)"
[[ $(cat /sys/block/kxrd0/kcxx/size_mb) == 48 ]] || die "size_mb after resize"
[[ $(head -c $((32 << 20)) /dev/kxrd0 | md5sum) == "$before" ]] || die "data changed by resize"
cmp -s -n $((16 << 20)) <(dd if=/dev/kxrd0 bs=1M skip=32 iflag=direct status=none) /dev/zero ||
	die "the grown part is not zero"
echo "resize ok: kxrd0 is $(cat /sys/block/kxrd0/size) sectors, first 32 MB unchanged"

# ---- remove through sysfs: each disk deletes its own directory ----------------
echo 1 >/sys/block/kxrd1/kcxx/pause # teardown must unquiesce before del_gendisk
for d in kxrd0 kxrd1; do
	echo 1 >"/sys/block/$d/kcxx/remove"
	[[ ! -e /sys/block/$d && ! -e /dev/$d && ! -e $ctl/devices/$d ]] || die "$d still present after remove"
done
echo "remove ok: kxrd0 and kxrd1 (paused) gone"

# Ids are reused; a disk left behind is removed by module exit.
echo size_mb=8 >"$ctl/create"
wait_for 10 test -b /dev/kxrd0 || die "kxrd0 not re-created"
dd if=/dev/urandom of=/dev/kxrd0 bs=1M count=8 oflag=direct status=none

unload_ko kcxx_ramdisk
[[ ! -e /sys/class/kcxx-ramdisk && ! -e /dev/kxrd0 ]] || die "left behind after unload"
if log_since "$start_mark" | grep -E 'timed out|beyond the end|map_sg|mapped'; then
	die "unexpected driver error lines"
fi
echo "unload ok: no leftovers"

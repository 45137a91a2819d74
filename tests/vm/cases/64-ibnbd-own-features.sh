#!/bin/bash
# OUR ibnbd-client against OUR ibnbd-server (dev_search_path=/tmp/ibnbd64:
# two null_blk nodes and a file on ext4 beneath it): two sessions at once
# over two veth pairs, three devices on one session; ro refuses writes
# (the disk is read-only, nothing is sent), reads work; a second rw open
# from the other session -> EPERM, migration as second writer accepted (its data seen through the first mapping); paths
# outside the search path ('..' -> EINVAL, symlink out -> EXDEV) with one
# server log line each; write-zeroes negotiated (write_zeroes_max_bytes > 0,
# blkdiscard -z and fallocate --punch-hole zero written data) and discard;
# resize; path disconnect -> closed, reconnect -> open (automatic remap), a
# manual remap_device while the automatic one fails; FUA and flush counted.
# timeout: 300
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

R=/tmp/ibnbd64
cleanup() {
	ibnbd_teardown ibnbd_client ibtrs_client ibnbd_server ibtrs_server
	umount "$R/ext" 2>/dev/null
	umount "$R" 2>/dev/null
	return 0
}
trap cleanup EXIT
t_start=$SECONDS

CTL=/sys/class/ibnbd-client/ctl
SCTL=/sys/class/ibnbd-server/ctl
declare -A PATHOF=([sA]="path=ip:$(rxe_ip 0 2)@ip:$(rxe_ip 0 1)" [sB]="path=ip:$(rxe_ip 1 2)@ip:$(rxe_ip 1 1)")

rxe_setup 2
modprobe null_blk memory_backed=1 discard=1 gb=1 nr_devices=2
modprobe brd rd_nr=1 rd_size=65536
wait_for 10 test -b /dev/nullb1 || die "no /dev/nullb1"
wait_for 10 test -b /dev/ram0 || die "no /dev/ram0"
mkdir -p "$R"
mount -t tmpfs -o size=16m ibnbd64 "$R"
for i in 0 1; do
	IFS=: read -r ma mi <"/sys/block/nullb$i/dev"
	mknod "$R/nullb$i" b "$ma" "$mi"
done
mkdir "$R/ext"
mkfs.ext4 -q -F /dev/ram0
mount /dev/ram0 "$R/ext"
truncate -s 32M "$R/ext/disk.img"
ln -s /etc/passwd "$R/esc"

load_ko "$KCXX_ROOT/ibtrs/ibtrs-server.ko"
load_ko "$KCXX_ROOT/ibnbd/server/ibnbd-server.ko" dev_search_path=$R
load_ko "$KCXX_ROOT/ibtrs/ibtrs-client.ko"
load_ko "$KCXX_ROOT/ibnbd/client/ibnbd-client.ko" reconnect_delay_sec=1

dev_of() { # DEVICE_PATH SESS -> /dev/ibnbdN
	local link=$CTL/devices/${1//\//!}@$2
	[[ -L $link ]] || return 1
	echo "/dev/$(basename "$(readlink -f "$link")")"
}
map() { # SESS DEVICE_PATH MODE
	echo "sessname=$1 ${PATHOF[$1]} device_path=$2 access_mode=$3" >"$CTL/map_device" ||
		die "map $2 $3 on $1 failed"
	wait_for 10 dev_of "$2" "$1" >/dev/null || die "no ctl/devices entry for $2@$1"
	local d
	d=$(dev_of "$2" "$1")
	wait_for 10 test -b "$d" || die "$d did not appear"
	echo "$d"
}
sysd() { echo "/sys/block/${1#/dev/}/ibnbd"; }
st() { sed -nE "s/.*(^| )$2=([0-9]+).*/\\2/p" "$(sysd "$1")/stats"; }
state() { cat "$(sysd "$1")/state"; }
# For wait_for: these re-read on every try.
is_state() { [[ $(state "$1") == "$2" ]]; }
empty_dir() { [[ -z $(ls "$1") ]]; }
sum() { dd if="$1" bs=64k skip="$2" count="$3" iflag=direct status=none | md5sum | cut -d' ' -f1; }
n=0
# refuse FILE ERRNO_TEXT INPUT SERVER_LINES: the write fails with ERRNO_TEXT;
# SERVER_LINES ibnbd_server lines are logged meanwhile.
refuse() {
	local file=$1 want=$2 input=$3 srvlines=$4 mark out lines
	mark="kcxx-case64-$((++n))-$RANDOM"
	echo "$mark" >/dev/kmsg
	out=$( (printf '%s\n' "$input" >"$file") 2>&1) && die "accepted: '$input' > $file"
	[[ $out == *"$want"* ]] || die "'$input' > ${file##*/}: expected '$want', got: $out"
	lines=$(dmesg | sed -n "/$mark/,\$p" | grep -c '\] ibnbd_server: ' || true)
	((lines == srvlines)) || {
		dmesg | sed -n "/$mark/,\$p"
		die "'$input': $lines ibnbd_server lines, expected $srvlines"
	}
	echo "ok: '$input' -> $want ($lines server line(s))"
}

# (a) Three devices on sA, two on sB: two sessions at once.
t0=$SECONDS
a0=$(map sA nullb0 rw)
t_map=$((SECONDS - t0))
af=$(map sA ext/disk.img rw)
a1=$(map sA nullb1 ro)
b1=$(map sB nullb1 ro)
nsess=$(find /sys/class/ibtrs-client/ -mindepth 1 -maxdepth 1 | wc -l)
((nsess == 2)) || die "expected 2 ibtrs-client sessions, found $nsess"
[[ -d /sys/class/ibtrs-server/sA && -d /sys/class/ibtrs-server/sB ]] || die "server does not see both sessions"
for d in "$a0" "$af" "$a1" "$b1"; do
	[[ $(state "$d") == open ]] || die "$d is $(state "$d")"
done
[[ $(cat "$(sysd "$b1")/session") == sB && $(cat "$(sysd "$a1")/session") == sA ]] || die "sessions of $a1/$b1"
[[ $(cat "$SCTL/devices/tmp!ibnbd64!nullb1/sessions/sB/access_mode") == ro ]] || die "server: nullb1@sB not ro"
echo "two sessions: sA ($a0 $af $a1) sB ($b1), first map ${t_map}s"

# (b) ro: writes refused, reads work.
[[ $(cat "/sys/block/${a1#/dev/}/ro") == 1 ]] || die "$a1 is not read-only"
dd if="$a1" of=/dev/null bs=64k count=16 iflag=direct status=none || die "read from ro $a1 failed"
w0=$(st "$a1" write)
dd if=/dev/zero of="$a1" bs=4k count=1 oflag=direct status=none 2>/dev/null && die "write to ro $a1 succeeded"
[[ $(st "$a1" write) == "$w0" ]] || die "a write of ro $a1 was sent"
# Second rw opener from sB: EPERM from our server; migration accepted.
refuse "$CTL/map_device" "Operation not permitted" "sessname=sB device_path=nullb0 access_mode=rw" 1
bm=$(map sB nullb0 migration)
[[ $(cat "$SCTL/devices/tmp!ibnbd64!nullb0/sessions/sB/access_mode") == migration ]] || die "server: not migration"
head -c 65536 /dev/urandom >"$VMTEST_TMP/pat"
dd if="$VMTEST_TMP/pat" of="$bm" bs=64k seek=7 oflag=direct status=none || die "write via migration $bm failed"
[[ $(sum "$a0" 7 1) == $(md5sum <"$VMTEST_TMP/pat" | cut -d' ' -f1) ]] || die "migration write not seen via $a0"
# Done with the second writer: while it is open, a rw OPEN is refused even
# for the original writer coming back (one writer counted, as upstream's
# rnbd_srv_check_update_open_perm), so sA's remap below would fail.
echo normal >"$(sysd "$bm")/unmap_device"
wait_for 10 test ! -e "/sys/block/${bm#/dev/}" || die "$bm still present"
echo "access modes: ro refuses writes (none sent), rw twice EPERM, migration writes, seen by the rw mapping"

# (c) Outside the search path.
refuse "$CTL/map_device" "Invalid argument" "sessname=sA device_path=../../etc/passwd" 1
refuse "$CTL/map_device" "Invalid argument" "sessname=sA device_path=ext/../../../etc/passwd" 1
refuse "$CTL/map_device" "Invalid cross-device link" "sessname=sA device_path=esc" 1

# (d) Write-zeroes (file on ext4: negotiated and supported), discard (null_blk).
wz=$(cat "/sys/block/${af#/dev/}/queue/write_zeroes_max_bytes")
((wz > 0)) || die "$af: write_zeroes_max_bytes=$wz between our client and server"
zsum=$(head -c 1048576 /dev/zero | md5sum | cut -d' ' -f1)
zero_check() { # DEV WHAT CMD...: written 1 MiB at 4 MiB, CMD zeroes it
	local dev=$1 what=$2
	shift 2
	dd if=/dev/urandom of="$dev" bs=1M count=1 seek=4 oflag=direct status=none
	[[ $(sum "$dev" 64 16) != "$zsum" ]] || die "$dev: random data reads as zeros"
	"$@" || die "$dev: $* failed"
	[[ $(sum "$dev" 64 16) == "$zsum" ]] || die "$dev: $what range does not read back as zeros"
}
z0=$(st "$af" write_zeroes)
zero_check "$af" "blkdiscard -z" blkdiscard -z -o $((4 << 20)) -l $((1 << 20)) "$af"
z1=$(st "$af" write_zeroes)
((z1 > z0)) || die "blkdiscard -z sent no write-zeroes"
zero_check "$af" "punch-hole" fallocate --punch-hole -o $((4 << 20)) -l $((1 << 20)) "$af"
z2=$(st "$af" write_zeroes)
((z2 > z1)) || die "punch-hole sent no write-zeroes"
d0=$(st "$a0" discard)
zero_check "$a0" "discard" blkdiscard -o $((4 << 20)) -l $((1 << 20)) "$a0"
(($(st "$a0" discard) > d0)) || die "no discard counted on $a0"
echo "write-zeroes: max ${wz} B, blkdiscard -z + punch-hole zeroed ($((z2 - z0)) sent); discard zeroed"

# (f) FUA and flush.
f0=$(st "$af" fua)
dd if=/dev/urandom of="$af" bs=4k count=4 seek=100 oflag=direct,sync status=none
f1=$(st "$af" fua)
((f1 > f0)) || die "dd oflag=direct,sync on $af sent no FUA: $(cat "$(sysd "$af")/stats")"
l0=$(st "$a0" flush)
dd if=/dev/urandom of="$a0" bs=4k count=4 seek=100 oflag=direct conv=fsync status=none
l1=$(st "$a0" flush)
((l1 > l0)) || die "fsync on $a0 sent no flush: $(cat "$(sysd "$a0")/stats")"
echo "fua: $af +$((f1 - f0)); flush: $a0 +$((l1 - l0))"

# (e) resize (local, in sectors).
size0=$(cat "/sys/block/${a0#/dev/}/size")
echo $((size0 / 2)) >"$(sysd "$a0")/resize"
[[ $(cat "/sys/block/${a0#/dev/}/size") == $((size0 / 2)) ]] || die "resize: size $(cat "/sys/block/${a0#/dev/}/size")"
echo "$size0" >"$(sysd "$a0")/resize"
[[ $(cat "/sys/block/${a0#/dev/}/size") == "$size0" ]] || die "resize back failed"

# (e) remap: disconnect sA's path -> closed; the file is moved away so the
# automatic remap after the reconnect fails for it; then remap_device by hand.
ref0=$(sum "$a0" 0 160)
reff=$(sum "$af" 0 160)
P=/sys/class/ibtrs-client/sA/paths/ip:$(rxe_ip 0 2)@ip:$(rxe_ip 0 1)
t0=$SECONDS
echo 1 >"$P/disconnect"
for d in "$a0" "$af" "$a1"; do
	wait_for 20 is_state "$d" closed || die "$d is $(state "$d") after disconnect"
done
[[ $(state "$b1") == open ]] || die "sB's $b1 is $(state "$b1") after sA's disconnect"
mv "$R/ext/disk.img" "$R/ext/disk.away"
mark="kcxx-case64-remap-$RANDOM"
echo "$mark" >/dev/kmsg
echo 1 >"$P/reconnect"
for d in "$a0" "$a1"; do
	wait_for 30 is_state "$d" open || die "$d is $(state "$d") after reconnect"
done
t_remap=$((SECONDS - t0))
[[ $(state "$af") == closed ]] || die "$af is $(state "$af") with its file gone"
[[ $(sum "$a0" 0 160) == "$ref0" ]] || die "$a0: data differ after the remap"
# The automatic remap retries every second, 30 times, then gives up
# ("use remap_device"): wait for that, so no retry races the manual ones.
gave_up() { dmesg | sed -n "/$mark/,\$p" | grep -q "session sA: remap failed 30 times"; }
wait_for 60 gave_up || die "the automatic remap did not give up"
[[ $(state "$af") == closed ]] || die "$af is $(state "$af") after the automatic remap gave up"
refuse "$(sysd "$af")/remap_device" "No such file or directory" "1" 1
mv "$R/ext/disk.away" "$R/ext/disk.img"
echo 1 >"$(sysd "$af")/remap_device" || die "remap_device on $af failed"
[[ $(state "$af") == open ]] || die "$af is $(state "$af") after remap_device"
[[ $(sum "$af" 0 160) == "$reff" ]] || die "$af: data differ after remap_device"
refuse "$(sysd "$af")/remap_device" "Operation already in progress" "1" 0
echo "remap: disconnect -> closed, reconnect -> open in ${t_remap}s; manual remap_device after ENOENT; data equal"

# Clean up.
for d in "$b1" "$a1" "$af" "$a0"; do
	echo normal >"$(sysd "$d")/unmap_device"
done
wait_for 10 empty_dir /sys/class/ibtrs-client || die "client sessions left: $(ls /sys/class/ibtrs-client/)"
wait_for 10 empty_dir "$SCTL/devices" || die "server devices left: $(ls "$SCTL/devices")"
unload_ko ibnbd_client
unload_ko ibtrs_client
unload_ko ibnbd_server
unload_ko ibtrs_server
umount "$R/ext"
umount "$R"
unload_ko brd
unload_ko null_blk
rxe_teardown
echo "figures: 2 sessions, 5 mappings, $n refusals, write_zeroes_max_bytes=$wz, remap ${t_remap}s, case $((SECONDS - t_start))s"

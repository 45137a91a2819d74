#!/bin/bash
# Access control of OUR ibnbd-server that needs two different clients:
# dev_search_path=/tmp/ibnbd66/%SESSNAME% gives each session its own
# directory. Our ibnbd-client maps disk.img on sessions sA and sB and each
# reads its own file (marker blocks written on the host side of the test
# are read back through the mapping, and a write through sA lands in sA's
# file only); '../sB/disk.img' from sA -> EINVAL and a symlink from sA's
# directory into sB's -> EXDEV, one server log line each. Then the upstream
# rnbd-client (a second client, its own session uuid) asks for the session
# name sA, which our client holds: the server refuses the session ("used by
# another client", EPERM) with one log line, the upstream map fails, and sA
# keeps working. The upstream client can then use a name of its own (sC).
# Prints: sessions, refusals, log lines.
# timeout: 300
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../upstream.sh"

R=/tmp/ibnbd66
cleanup() {
	[[ -e /sys/class/rnbd-client/ctl ]] &&
		for f in /sys/block/rnbd*/rnbd/unmap_device; do
			[[ -e $f ]] && { echo force >"$f"; } 2>/dev/null
		done
	ibnbd_teardown ibnbd_client ibtrs_client rnbd_client rtrs_client ibnbd_server ibtrs_server rtrs_core
	umount "$R" 2>/dev/null
	return 0
}
trap cleanup EXIT

CTL=/sys/class/ibnbd-client/ctl
srv=$(rxe_ip 0 1)
clt=$(rxe_ip 0 2)
rxe_setup 1
mkdir -p "$R"
mount -t tmpfs -o size=24m ibnbd66 "$R"
mkdir "$R/sA" "$R/sB" "$R/sC"
# Each session's disk starts with a marker block naming its directory.
for s in sA sB sC; do
	truncate -s 4M "$R/$s/disk.img"
	printf 'disk of %s\n' "$s" | dd of="$R/$s/disk.img" bs=4k conv=notrunc,sync status=none
done
ln -s "$R/sB/disk.img" "$R/sA/other.img"

load_ko "$KCXX_ROOT/ibtrs/ibtrs-server.ko"
load_ko "$KCXX_ROOT/ibnbd/server/ibnbd-server.ko" "dev_search_path=$R/%SESSNAME%"
load_ko "$KCXX_ROOT/ibtrs/ibtrs-client.ko"
load_ko "$KCXX_ROOT/ibnbd/client/ibnbd-client.ko"

marker_of() { dd if="$1" bs=4k count=1 iflag=direct status=none | head -n1 | tr -d '\0'; }
n=0
# refuse INPUT ERRNO_TEXT SERVER_LINE_PATTERN: map_device refuses INPUT with
# ERRNO_TEXT and the server logs exactly one line, matching the pattern.
refuse() {
	local input=$1 want=$2 pat=$3 mark out lines
	mark="kcxx-case66-$((++n))-$RANDOM"
	echo "$mark" >/dev/kmsg
	out=$( (echo "$input" >"$CTL/map_device") 2>&1) && die "accepted: '$input'"
	[[ $out == *"$want"* ]] || die "'$input': expected '$want', got: $out"
	lines=$(dmesg | sed -n "/$mark/,\$p" | grep '\] ibnbd_server: ' || true)
	[[ $(grep -c . <<<"$lines") == 1 && $lines == *$pat* ]] ||
		die "'$input': expected one ibnbd_server line with '$pat', got: ${lines:-none}"
	echo "ok: '$input' -> $want: ${lines#*] }"
}

# (1) %SESSNAME%: the same device_path is a different file per session.
da=/dev/$(ibnbd_map sA "ip:$clt@ip:$srv" disk.img)
db=/dev/$(ibnbd_map sB "ip:$clt@ip:$srv" disk.img)
[[ $(marker_of "$da") == "disk of sA" ]] || die "$da (sA disk.img) reads '$(marker_of "$da")'"
[[ $(marker_of "$db") == "disk of sB" ]] || die "$db (sB disk.img) reads '$(marker_of "$db")'"
printf 'written through sA\n' | dd of="$da" bs=4k seek=1 oflag=direct conv=sync status=none
sync
[[ $(dd if="$R/sA/disk.img" bs=4k skip=1 count=1 status=none | head -n1 | tr -d '\0') == "written through sA" ]] ||
	die "a write through sA did not land in sA/disk.img"
if tr -d '\0' <"$R/sB/disk.img" | grep -q "written through sA"; then die "a write through sA reached sB/disk.img"; fi
echo "ok: %SESSNAME%: sA and sB each see their own disk.img; a write through sA stays in sA"

# (2) No way out of the session's directory.
refuse "sessname=sA path=ip:$clt@ip:$srv device_path=../sB/disk.img" "Invalid argument" ".."
refuse "sessname=sA path=ip:$clt@ip:$srv device_path=other.img" "Invalid cross-device link" "other.img"

# (3) Session names are unique per server: a second client (the upstream
# rnbd-client, another session uuid) cannot take sA.
upstream_load_client
mark="kcxx-case66-dup-$RANDOM"
echo "$mark" >/dev/kmsg
if (echo "sessname=sA path=ip:$clt@ip:$srv device_path=disk.img" >"$UPSTREAM_CLT_CTL/map_device") 2>/dev/null; then
	die "the upstream client mapped disk.img on session name sA, which our client holds"
fi
lines=$(dmesg | sed -n "/$mark/,\$p" | grep "session name 'sA' is used by another client" || true)
((nl = $(grep -c . <<<"$lines"), nl >= 1)) || die "no server line for the duplicate session name: $(dmesg | sed -n "/$mark/,\$p")"
# The upstream client retries a failed connect a few times: each try is one
# refused path, so one line per try (rate-limited), never a flood.
((nl <= 10)) || die "$nl lines for one refused session name"
[[ $(marker_of "$da") == "disk of sA" ]] || die "sA disk.img changed after the refused second sA"
[[ -z $(ls /sys/block | grep rnbd || true) ]] || die "an rnbd device appeared for the refused session"
echo "ok: second client asking for sA refused ($nl server line(s)); sA still served to its owner"
dc=$(upstream_map sC "$clt" "$srv" disk.img)
[[ $(marker_of "$dc") == "disk of sC" ]] || die "$dc (sC via upstream) reads '$(marker_of "$dc")'"
echo "ok: the upstream client maps sC/disk.img under its own session name"
echo force >"/sys/block/${dc#/dev/}/rnbd/unmap_device"

echo "figures: sessions=3 refusals=3 dup_session_lines=$nl"

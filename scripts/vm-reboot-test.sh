#!/bin/bash
# Usage: scripts/vm-reboot-test.sh        (make vmreboot; a phase of make check)
#
# Real storage reboot (issue 8), two qemu guests on this machine:
#   server guest: OUR ibtrs-server + ibnbd-server exporting /dev/vda, a raw
#     disk image on the host (build/vm/reboot/disk.img, cache=writethrough,
#     so every write the guest saw complete is in the host file and survives
#     the guest's power-off);
#   client guest: OUR ibtrs-client + ibnbd-client mapping it over two paths
#     (io_fail_timeout_sec longer than the reboot) under fio verify=crc32c.
# Two virtio NICs per guest, NIC k of one joined to NIC k of the other by a
# qemu UDP socket link on 127.0.0.1 (connectionless: a link survives either
# guest's power-off); soft-RoCE on every NIC. Sequence: the client writes
# 8 MiB regions back to back with fio (crc32c verify headers); the server
# cuts path 1 at its side (NIC 1 drops all traffic both ways for 10 s, tc)
# and restores it, the client's path 1 fails and reconnects by itself; the
# host then powers the server off (qemu killed: no unload, nothing sent to
# the client) and boots it again; it loads its modules by itself; the client
# device goes closed -> open by itself, no write fails (held, then re-sent),
# and fio --verify_only reads every region back with 0 errors, those written
# before the power cut from the rebooted server's disk. Guest<->host signals are
# files in a 9p share (build/vm/reboot/ctl). Every guest's kernel log
# (including the powered-off boot's) is checked for the runner's bad lines.
# Result: "vm-reboot: PASS|FAIL ..." and "N passed, N failed"; exit 0 iff PASS.
#
# KCXX_REBOOT_WIPE=1: negative check: the disk image is zeroed while the
# server is off, so acknowledged data is lost: fio verify must report errors
# and this script must FAIL (not part of make check).
set -uo pipefail
ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
cd "$ROOT"
RUN=$ROOT/build/vm/reboot
CTL=$RUN/ctl
WIPE=${KCXX_REBOOT_WIPE:-0}
MEM=${KCXX_REBOOT_MEM:-1536}
GUEST_TIMEOUT=${KCXX_REBOOT_TIMEOUT:-600}
BAD_RE=$(sed -n "s/^BAD_RE='\(.*\)'\$/\1/p" tests/vm/runner.sh)
[[ -n $BAD_RE ]] || { echo "vm-reboot: cannot read BAD_RE from tests/vm/runner.sh" >&2; exit 2; }
for f in ibtrs/ibtrs-server.ko ibtrs/ibtrs-client.ko ibnbd/server/ibnbd-server.ko ibnbd/client/ibnbd-client.ko; do
	[[ -f $f ]] || { echo "vm-reboot: $f missing: make modules" >&2; exit 2; }
done

rm -rf "$RUN"
mkdir -p "$CTL"
truncate -s 1G "$RUN/disk.img"   # sparse; client.sh: DISK_MB
KVER=$(scripts/kver.sh) || exit 2
# Build the initramfs once here: the two run.sh below would race on it.
scripts/vm/mkinitramfs.sh "$ROOT/build/vm/initramfs-$KVER.cpio.gz" "$KVER" || exit 2

# Ports: server NIC k listens on BASE+2k, the client's on BASE+2k+1.
BASE=$((20000 + (RANDOM % 10000) * 4))
nic() { # nic K SIDE: qemu args of NIC K of SIDE (1 server, 2 client)
	local k=$1 side=$2 own peer
	own=$((BASE + 2 * k + side - 1))
	peer=$((BASE + 2 * k + 2 - side))
	echo "-netdev socket,id=n$k,udp=127.0.0.1:$peer,localaddr=127.0.0.1:$own" \
		"-device virtio-net-pci,netdev=n$k,mac=52:54:00:98:0$k:0$side"
}
SHARE="-virtfs local,path=$CTL,mount_tag=kcxxctl,security_model=none"
SRV_ARGS="$(nic 0 1) $(nic 1 1) $SHARE -drive file=$RUN/disk.img,format=raw,if=virtio,cache=writethrough"
CLT_ARGS="$(nic 0 2) $(nic 1 2) $SHARE"

now() { date +%s.%N | cut -c1-14; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
T0=$(now)
PIDS=()
# boot NAME ARGS CASE: boot a guest in the background (log $RUN/NAME.*), pid in BOOT_PID.
boot() {
	KCXX_VM_MEM=$MEM KCXX_VM_SMP=1 KCXX_VM_QEMU_ARGS=$2 \
		scripts/vm/run.sh --timeout "$GUEST_TIMEOUT" --log "$RUN/$1.console" \
		"$ROOT/tests/vm/runner.sh" "$ROOT/tests/vm/reboot/$3" >"$RUN/$1.out" 2>&1 &
	BOOT_PID=$!
	PIDS+=("$BOOT_PID")
	echo "vm-reboot: $(since "$T0")s: booted $1 (run.sh pid $BOOT_PID)"
}
on_exit() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	wait 2>/dev/null
}
trap on_exit EXIT
trap 'exit 130' INT TERM HUP

FAILS=()
fail() { FAILS+=("$*"); echo "vm-reboot: FAIL: $*"; }
# wait_ctl NAME SEC PID...: wait for $CTL/NAME while the given run.sh live.
wait_ctl() {
	local name=$1 sec=$2 end p
	shift 2
	end=$((SECONDS + sec))
	while [[ ! -e $CTL/$name ]]; do
		((SECONDS < end)) || { fail "no $name within $sec s"; return 1; }
		for p in "$@"; do
			kill -0 "$p" 2>/dev/null || { fail "guest (run.sh $p) ended before $name"; return 1; }
		done
		sleep 0.5
	done
}

echo "vm-reboot: ports 127.0.0.1:$BASE-$((BASE + 3)), logs in $RUN"
echo 1 >"$CTL/boot"
boot srv1 "$SRV_ARGS" server.sh
srv1=$BOOT_PID
boot clt "$CLT_ARGS" client.sh
clt=$BOOT_PID

t_off= t_ready= srv2=
if wait_ctl srv1.cutdone 420 "$srv1" "$clt"; then
	echo "vm-reboot: $(since "$T0")s: server cut path 1 and restored it; powering the server off"
	sleep 2
	t_off=$(now)
	kill -TERM "$srv1"   # run.sh kills qemu: a power cut
	wait "$srv1" 2>/dev/null
	if [[ $WIPE == 1 ]]; then
		truncate -s 0 "$RUN/disk.img" && truncate -s 1G "$RUN/disk.img"
		echo "vm-reboot: KCXX_REBOOT_WIPE=1: disk image zeroed while the server is off"
	fi
	echo 2 >"$CTL/boot"
	boot srv2 "$SRV_ARGS" server.sh
	srv2=$BOOT_PID
	if wait_ctl srv2.ready 300 "$srv2" "$clt"; then
		t_ready=$(awk -v a="$t_off" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
		echo "vm-reboot: $(since "$T0")s: server back ${t_ready}s after the power cut (modules loaded)"
	fi
fi

wait "$clt"
clt_rc=$?
echo "vm-reboot: $(since "$T0")s: client guest exited $clt_rc"
((clt_rc == 0)) || fail "client guest exited $clt_rc"
[[ -e $CTL/clt.done ]] || fail "client did not finish (no clt.done)"
: >"$CTL/stop"
if [[ -n $srv2 ]]; then
	wait "$srv2"
	srv2_rc=$?
	echo "vm-reboot: $(since "$T0")s: server guest (boot 2) exited $srv2_rc"
	((srv2_rc == 0)) || fail "server guest boot 2 exited $srv2_rc"
else
	fail "the server was never rebooted"
fi
# The runner checked the dmesg of the client and of server boot 2; boot 1
# was powered off, so check its streamed kernel log here (and the others).
for d in srv1 srv2 clt; do
	if [[ ! -s $CTL/$d.dmesg ]]; then
		fail "no kernel log from $d"
	elif bad=$(grep -aE -- "$BAD_RE" "$CTL/$d.dmesg"); then
		fail "bad dmesg lines in $d: $bad"
	fi
done
for d in srv1 clt srv2; do
	[[ -f $RUN/$d.out ]] && grep -aE '^(vmtest: (PASS|FAIL)|    |figures:)' "$RUN/$d.out" | sed "s/^/  $d| /" | head -n 80
done
[[ -s $CTL/clt.states ]] && { echo "vm-reboot: client state changes (time device path0 path1):"; sed 's/^/  /' "$CTL/clt.states"; }

total=$(since "$T0")
figs=$(cat "$CTL/clt.figures" 2>/dev/null)
if ((${#FAILS[@]} == 0)); then
	echo "vm-reboot: PASS (${total}s; server back ${t_ready}s after the power cut; $figs)"
	echo "1 passed, 0 failed"
	exit 0
fi
echo "vm-reboot: FAIL (${total}s): $(IFS=';'; echo "${FAILS[*]}")"
echo "0 passed, 1 failed"
exit 1

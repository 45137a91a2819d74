#!/bin/bash
# Server guest of scripts/vm-reboot-test.sh (run by tests/vm/runner.sh).
# Boot 1 and boot 2 are told apart by $CTL/boot (the host writes it before it
# boots this guest). Backing store: /dev/vda, a raw image file on the host
# (cache=writethrough: the guest sees no volatile write cache, a completed
# write is in the host file), exported by OUR ibnbd-server as /dev/vda.
# Boot 1: export, wait until the client's fio writes, cut path 1 at this side
#   (NIC 1 drops everything both ways) for CUT_SEC, restore it, wait until the client
#   reports path 1 connected again (clt.p1back), signal srv1.cutdone and
#   wait to be powered off by the host (qemu killed: no unload, no goodbye).
# Boot 2: load everything again by itself (nothing from the client side),
#   signal srv2.ready, serve until the host writes "stop" (the client has
#   unmapped), check that the session went away, unload (leak check).
# timeout: 600
set -euo pipefail
. "$KCXX_ROOT/tests/vm/lib.sh"
. "$KCXX_ROOT/tests/vm/reboot/common.sh"

CUT_SEC=${CUT_SEC:-10}
ctl_mount
BOOT=$(cat "$CTL/boot")
dmesg_follow "srv$BOOT.dmesg"
echo "server boot $BOOT"
net_setup 1
modprobe virtio_blk || die "modprobe virtio_blk"
wait_for 10 test -b /dev/vda || die "no /dev/vda (the persistent disk)"
echo "backing store /dev/vda: $(($(blockdev --getsize64 /dev/vda) >> 20)) MiB"
load_ko "$KCXX_ROOT/ibtrs/ibtrs-server.ko" sess_queue_depth=128
load_ko "$KCXX_ROOT/ibnbd/server/ibnbd-server.ko" dev_search_path=/
ctl_put "srv$BOOT.ready" "$(date +%s)"

server_open() { [[ -n $(ls /sys/class/ibnbd-server/ctl/devices 2>/dev/null) ]]; }

if [[ $BOOT == 1 ]]; then
	ctl_wait clt.fio 300
	wait_for 30 server_open || die "the client's open did not arrive"
	sleep 3
	# The cut: NIC 1 neither sends nor receives (netem drops every packet it
	# sends, an ingress matchall filter every packet it gets); the NIC stays
	# up. Not `ip link set down`: on rxe 6.1 that fails queued sends with
	# LOC_QP_OP_ERR and (docs/multipath.md) can wedge the CM; a first
	# version of this test cut with it and path 1 never reconnected (three
	# reconnect attempts timed out over 120 s after the link was up again).
	echo "cutting path 1 at the server side: all traffic on $NIC1 dropped for $CUT_SEC s"
	for m in sch_netem sch_ingress cls_matchall act_gact; do modprobe "$m" || die "modprobe $m"; done
	tc qdisc replace dev "$NIC1" root netem loss 100% || die "tc netem on $NIC1"
	tc qdisc replace dev "$NIC1" ingress || die "tc ingress on $NIC1"
	tc filter add dev "$NIC1" ingress matchall action drop || die "tc ingress drop on $NIC1"
	ctl_put srv1.cut "$(date +%s)"
	sleep "$CUT_SEC"
	tc qdisc del dev "$NIC1" root || die "tc: cannot remove the netem loss"
	tc qdisc del dev "$NIC1" ingress || die "tc: cannot remove the ingress drop"
	ctl_put srv1.healed "$(date +%s)"
	echo "path 1 restored"
	# The client reconnects path 1 by itself (reconnect_delay_sec=1 with
	# backoff) and says so; then IO flows on both paths before the power cut.
	ctl_wait clt.p1back 120
	sleep 3
	ctl_put srv1.cutdone "$(date +%s)"
	echo "waiting for the power cut"
	sleep 600
	die "boot 1 was not powered off"
fi

# boot 2
ctl_wait stop 500
wait_for 60 bash -c '[[ -z $(ls /sys/class/ibnbd-server/ctl/devices 2>/dev/null) ]]' ||
	die "the server still has opens after the client unmapped: $(ls /sys/class/ibnbd-server/ctl/devices)"
unload_ko ibnbd_server
unload_ko ibtrs_server
echo "server boot 2 done"

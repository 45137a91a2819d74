# shellcheck shell=bash
# Shared by the two guests of scripts/vm-reboot-test.sh (server.sh, client.sh);
# sourced after tests/vm/lib.sh, inside a guest that scripts/vm/run.sh booted
# with the extra qemu arguments of vm-reboot-test.sh:
#   NIC k (k = 0, 1) of the server has MAC 52:54:00:98:0k:01 and gets
#   10.98.k.1/24, the client's has 52:54:00:98:0k:02 and gets 10.98.k.2/24;
#   the two NICs k are joined by a qemu UDP socket link on 127.0.0.1, so they
#   survive the other guest's power-off.
#   The 9p tag "kcxxctl" is the host's run directory, writable: the guests and
#   the host script signal each other with files in it ($CTL/<name>).
CTL=/mnt/kcxxctl

ctl_mount() {
	mkdir -p "$CTL"
	mountpoint -q "$CTL" ||
		mount -t 9p -o trans=virtio,version=9p2000.L,cache=none kcxxctl "$CTL" ||
		die "cannot mount the control share kcxxctl"
}

# ctl_put NAME [TEXT]: create $CTL/NAME atomically (the host polls for it).
ctl_put() {
	echo "${2:-}" >"$CTL/.$1.tmp" && mv -f "$CTL/.$1.tmp" "$CTL/$1"
}

# ctl_wait NAME SEC: wait for $CTL/NAME.
ctl_wait() {
	wait_for "$2" test -e "$CTL/$1" || die "no $1 from the control share in $2 s"
}

# net_setup SIDE (1 server, 2 client): address both NICs, rxe on each.
net_setup() {
	local side=$1 k mac ifc f
	modprobe virtio_net || die "modprobe virtio_net"
	modprobe rdma_rxe || die "modprobe rdma_rxe"
	modprobe ib_uverbs 2>/dev/null || true
	modprobe rdma_ucm 2>/dev/null || true
	for k in 0 1; do
		mac=52:54:00:98:0$k:0$side
		ifc=
		for f in /sys/class/net/*/address; do
			[[ $(cat "$f") == "$mac" ]] && ifc=$(basename "$(dirname "$f")")
		done
		[[ -n $ifc ]] || die "no NIC with MAC $mac"
		sysctl -qw "net.ipv6.conf.$ifc.disable_ipv6=1" >/dev/null 2>&1 || true
		ip addr replace "10.98.$k.$side/24" dev "$ifc"
		ip link set "$ifc" up
		wait_for 10 _oper_up "$ifc" || die "$ifc did not come up"
		rdma link add "rxe_$ifc" type rxe netdev "$ifc" || die "rdma link add on $ifc"
		wait_for 10 bash -c "rdma link show rxe_$ifc/1 | grep -q 'state ACTIVE'" ||
			die "rxe_$ifc not ACTIVE"
		eval "NIC$k=$ifc"
	done
}

# dmesg_follow FILE: stream the whole kernel log to FILE on the share, so that
# the host can check it even after a power cut (the runner's own copy is lost).
dmesg_follow() {
	stdbuf -oL dmesg -w >"$CTL/$1" 2>&1 &
}

# shellcheck shell=bash
# Helpers for guest test cases (tests/vm/cases/*.sh). Source it:
#   . "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
#
#   KCXX_ROOT              repo root (same path in guest and host)
#   die MSG...             print "FATAL: MSG" to stderr, exit 1
#   load_ko PATH [PARAMS]  modprobe the module's in-tree deps, insmod PATH; dies
#                          with insmod's error and the dmesg tail on failure
#   unload_ko NAME         rmmod NAME (retries while busy); no-op if not loaded
#   rxe_setup N [switched] N paths; path k = veth(2k) 10.99.k.1 <-> veth(2k+1)
#                          10.99.k.2, soft-RoCE rxe(2k)/rxe(2k+1) on them, policy
#                          routing + static neighbours so traffic crosses the
#                          veth wire; idempotent. Default: the two veths are one
#                          veth pair. "switched": each plugs into its own veth
#                          whose other end, swp(2k)/swp(2k+1), is a port of
#                          bridge brk in netns ibwire (a switch), so a cable can
#                          be pulled (rxe_link_cut) with both hosts' ports up
#   rxe_ip K SIDE          print 10.99.K.SIDE (SIDE 1 = veth(2K), 2 = veth(2K+1))
#   rxe_ip6 K SIDE         print fd99:K::SIDE, pair K's IPv6 address (same sides)
#   rxe_ip6_setup K...     after rxe_setup: IPv6 on pair K too (fd99:K::1/64 and
#                          ::2/64, nodad so usable at once, the same policy
#                          routing and static neighbours as IPv4); the rxe
#                          devices get RoCEv2 GIDs from these addresses
#   rxe_link_down K        cut path K (both veths of pair K down). On 6.1 rxe a
#                          send queued then fails the QP and the path's CM
#                          teardown can hang for good (docs/multipath.md): to
#                          pull a cable under IO use rxe_link_cut
#   rxe_link_up K          heal path K and restore its routes and neighbours
#   rxe_link_cut K SIDE    switched wire only: pull path K's cable at SIDE's
#                          port (1 = veth(2K), 2 = veth(2K+1)): `ip link set
#                          swpN down` in the switch; the host's veth loses its
#                          carrier (rxe: port DOWN) but stays up, as with a
#                          real cable pull
#   rxe_link_plug K SIDE   put that cable back; waits for carrier and rxe ACTIVE
#   rxe_link_loss K        stall path K: netem drops every packet both ways (the
#                          link stays up, so rxe reports no local error: only
#                          heartbeats and timeouts can notice)
#   rxe_link_heal K        remove that loss
#   rxe_teardown           remove all rxe devices, veth pairs and rules
#   wait_for SEC CMD...    retry CMD every 0.2 s until it succeeds or SEC pass
#   ibnbd_map SESS PATH DEVICE_PATH [TOKENS]
#                          OUR ibnbd-client (loaded) maps DEVICE_PATH on session
#                          SESS over PATH ("ip:SRC@ip:DST"; "" = the session's
#                          existing paths), waits for the device, prints ibnbdN
#   ibnbd_wait_state NAME STATE SEC
#                          wait until /sys/block/NAME/ibnbd/state is STATE; dies
#                          with the state seen otherwise
#   fio_check LOG RC WHAT  die with the log tail unless fio exited 0 (RC) and LOG
#                          has no error or verify-failure line; print its
#                          bandwidth lines prefixed by WHAT

# Everything here is safe under `set -euo pipefail`. If the sourcing case uses
# errexit, a failing command is reported with file, line and command.
if [[ $- == *e* ]]; then
	set -E
	trap 'echo "FAILED (exit $?): ${BASH_SOURCE[0]##*/}:$LINENO: $BASH_COMMAND" >&2' ERR
fi

KCXX_ROOT=${KCXX_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
export KCXX_ROOT

die() {
	echo "FATAL: $*" >&2
	exit 1
}

_kcxx_guest_only() {
	[[ ${KCXX_GUEST:-} == 1 ]] || die "$1: only inside the test guest (scripts/vm-test.sh)"
}

wait_for() {
	local sec=$1 end
	shift
	end=$((SECONDS + sec))
	until "$@"; do
		((SECONDS < end)) || return 1
		sleep 0.2
	done
}

load_ko() {
	_kcxx_guest_only load_ko
	local path=${1:?load_ko PATH [params]} dep deps out
	shift
	[[ -f $path ]] || die "load_ko: no such module file: $path (built?)"
	deps=$(modinfo -F depends "$path" 2>/dev/null) || die "load_ko: modinfo failed on $path"
	for dep in ${deps//,/ }; do
		[[ -d /sys/module/${dep//-/_} ]] && continue  # modinfo may say rtrs-core, sysfs says rtrs_core
		modprobe "$dep" 2>/dev/null ||
			die "load_ko: $path needs module '$dep', which is not loaded and modprobe cannot find it (load it first)"
	done
	if ! out=$(insmod "$path" "$@" 2>&1); then
		echo "load_ko: insmod $path $* failed: $out" >&2
		dmesg | tail -n 20 >&2
		die "load_ko: cannot load $path"
	fi
}

unload_ko() {
	_kcxx_guest_only unload_ko
	local name=${1:?unload_ko NAME} i out
	name=${name//-/_}
	[[ -d /sys/module/$name ]] || return 0
	for ((i = 0; i < 50; i++)); do
		out=$(rmmod "$name" 2>&1) && return 0
		sleep 0.2
	done
	echo "unload_ko: rmmod $name: $out" >&2
	echo "unload_ko: refcnt $(cat "/sys/module/$name/refcnt" 2>/dev/null)," \
		"holders: $(ls "/sys/module/$name/holders" 2>/dev/null | tr '\n' ' ')" >&2
	die "unload_ko: cannot unload $name"
}

rxe_ip() { echo "10.99.${1:?rxe_ip K SIDE}.${2:?rxe_ip K SIDE}"; }
rxe_ip6() { echo "fd99:${1:?rxe_ip6 K SIDE}::${2:?rxe_ip6 K SIDE}"; }

_mac() { cat "/sys/class/net/$1/address"; }

_rxe_sysctl_dev() {
	local d=$1
	sysctl -qw "net.ipv4.conf.$d.rp_filter=0" "net.ipv4.conf.$d.accept_local=1" >/dev/null
}

# Routes, rules and neighbours of pair k (idempotent; also used after link up).
_rxe_pair_routes() {
	local k=$1 a=veth$((2 * $1)) b=veth$((2 * $1 + 1))
	local ipa=10.99.$1.1 ipb=10.99.$1.2 ta=$((100 + 2 * $1)) tb=$((101 + 2 * $1))
	ip addr replace "$ipa/24" dev "$a"
	ip addr replace "$ipb/24" dev "$b"
	# Packets arriving on a veth are delivered locally (the local table first).
	ip rule del pref 10 iif "$a" lookup local 2>/dev/null || true
	ip rule add pref 10 iif "$a" lookup local
	ip rule del pref 10 iif "$b" lookup local 2>/dev/null || true
	ip rule add pref 10 iif "$b" lookup local
	# From one end to the other goes out of the source's own veth.
	ip route replace "$ipa/32" dev "$b" src "$ipb" table "$ta"
	ip route replace "$ipb/32" dev "$a" src "$ipa" table "$tb"
	ip rule del pref 20 from "$ipb" to "$ipa" lookup "$ta" 2>/dev/null || true
	ip rule add pref 20 from "$ipb" to "$ipa" lookup "$ta"
	ip rule del pref 20 from "$ipa" to "$ipb" lookup "$tb" 2>/dev/null || true
	ip rule add pref 20 from "$ipa" to "$ipb" lookup "$tb"
	# Static neighbours: no ARP round before the first RDMA connect.
	ip neigh replace "$ipa" lladdr "$(_mac "$a")" dev "$b" nud permanent
	ip neigh replace "$ipb" lladdr "$(_mac "$b")" dev "$a" nud permanent
}

# IPv6 routes, rules and neighbours of pair k (idempotent; also after link up).
_rxe_pair_routes6() {
	local k=$1 a=veth$((2 * $1)) b=veth$((2 * $1 + 1))
	local ipa ipb ta=$((100 + 2 * $1)) tb=$((101 + 2 * $1))
	ipa=$(rxe_ip6 "$k" 1)
	ipb=$(rxe_ip6 "$k" 2)
	ip -6 addr replace "$ipa/64" dev "$a" nodad
	ip -6 addr replace "$ipb/64" dev "$b" nodad
	ip -6 rule del pref 10 iif "$a" lookup local 2>/dev/null || true
	ip -6 rule add pref 10 iif "$a" lookup local
	ip -6 rule del pref 10 iif "$b" lookup local 2>/dev/null || true
	ip -6 rule add pref 10 iif "$b" lookup local
	ip -6 route replace "$ipa/128" dev "$b" src "$ipb" table "$ta"
	ip -6 route replace "$ipb/128" dev "$a" src "$ipa" table "$tb"
	ip -6 rule del pref 20 from "$ipb" to "$ipa" lookup "$ta" 2>/dev/null || true
	ip -6 rule add pref 20 from "$ipb" to "$ipa" lookup "$ta"
	ip -6 rule del pref 20 from "$ipa" to "$ipb" lookup "$tb" 2>/dev/null || true
	ip -6 rule add pref 20 from "$ipa" to "$ipb" lookup "$tb"
	ip -6 neigh replace "$ipa" lladdr "$(_mac "$a")" dev "$b" nud permanent
	ip -6 neigh replace "$ipb" lladdr "$(_mac "$b")" dev "$a" nud permanent
}

_rxe_has_v6() { [[ $(cat "/proc/sys/net/ipv6/conf/veth$((2 * $1))/disable_ipv6" 2>/dev/null) == 0 ]]; }

# The rxe GID table has an entry for ADDR (RoCEv2 GID of an IPv6 address).
_rxe_gid_of() {
	# One grep over the whole table (1024 entries on rxe), not a cat each.
	grep -qsx "$2" /sys/class/infiniband/rxe"$1"/ports/1/gids/*
}

# The 8-group form the GID table shows for rxe_ip6 K SIDE (K, SIDE < 10000).
_ip6_full() {
	local g=0000$1 s=0000$2
	echo "fd99:${g: -4}:0000:0000:0000:0000:0000:${s: -4}"
}

rxe_ip6_setup() {
	_kcxx_guest_only rxe_ip6_setup
	local k d i side
	(($#)) || die "rxe_ip6_setup K..."
	[[ -n $(ip -6 rule show pref 1000) ]] || ip -6 rule add pref 1000 lookup local
	ip -6 rule del pref 0 lookup local 2>/dev/null || true
	for k in "$@"; do
		for d in "veth$((2 * k))" "veth$((2 * k + 1))"; do
			[[ -e /sys/class/net/$d ]] || die "rxe_ip6_setup: no $d (rxe_setup first)"
			# No link-local address, router solicitation or DAD: only the
			# two static addresses below talk on this wire.
			sysctl -qw "net.ipv6.conf.$d.addr_gen_mode=1" "net.ipv6.conf.$d.accept_ra=0" \
				"net.ipv6.conf.$d.autoconf=0" "net.ipv6.conf.$d.accept_dad=0" >/dev/null
			sysctl -qw "net.ipv6.conf.$d.disable_ipv6=0" >/dev/null
		done
		_rxe_pair_routes6 "$k"
		for side in 1 2; do
			i=$((2 * k + side - 1))
			wait_for 10 _rxe_gid_of "$i" "$(_ip6_full "$k" "$side")" ||
				die "rxe_ip6_setup: rxe$i has no GID for $(rxe_ip6 "$k" "$side")"
		done
	done
}

rxe_setup() {
	_kcxx_guest_only rxe_setup
	local n=${1:?rxe_setup N [switched]} wire=${2:-direct} have=direct k d i
	[[ $wire == direct || $wire == switched ]] || die "rxe_setup: wire '$wire' is neither direct nor switched"
	# An earlier case's wire of the other kind goes first (names are reused).
	[[ -e /run/netns/ibwire ]] && have=switched
	[[ -e /sys/class/net/veth0 && $have != "$wire" ]] && rxe_teardown
	modprobe rdma_rxe || die "rxe_setup: modprobe rdma_rxe failed"
	modprobe ib_uverbs || die "rxe_setup: modprobe ib_uverbs failed"
	modprobe rdma_ucm || die "rxe_setup: modprobe rdma_ucm failed"
	ip link set lo up
	sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
		net.ipv4.conf.all.accept_local=1 >/dev/null
	# The local table moves from pref 0 to pref 1000 so rules 10/20 come first.
	[[ -n $(ip rule show pref 1000) ]] || ip rule add pref 1000 lookup local
	ip rule del pref 0 lookup local 2>/dev/null || true
	for ((k = 0; k < n; k++)); do
		local a=veth$((2 * k)) b=veth$((2 * k + 1))
		if [[ ! -e /sys/class/net/$a && $wire == direct ]]; then
			ip link add "$a" type veth peer name "$b" || die "rxe_setup: cannot create $a/$b"
		elif [[ ! -e /sys/class/net/$a ]]; then
			_rxe_switch_path "$k"
		fi
		for d in "$a" "$b"; do
			# IPv4 only: no IPv6 link-local chatter on the wire.
			sysctl -qw "net.ipv6.conf.$d.disable_ipv6=1" >/dev/null 2>&1 || true
			_rxe_sysctl_dev "$d"
			ip link set "$d" up
		done
		_rxe_pair_routes "$k"
		for i in $((2 * k)) $((2 * k + 1)); do
			if ! rdma link show "rxe$i/1" >/dev/null 2>&1; then
				rdma link add "rxe$i" type rxe netdev "veth$i" ||
					die "rxe_setup: rdma link add rxe$i on veth$i failed"
			fi
		done
	done
	for ((k = 0; k < n; k++)); do
		for i in $((2 * k)) $((2 * k + 1)); do
			wait_for 10 _rxe_active "$i" || die "rxe_setup: rxe$i not ACTIVE: $(rdma link show "rxe$i/1" 2>&1)"
		done
	done
}

# The switched wire of path k: host veths veth(2k) and veth(2k+1), each the
# peer of a switch port swp(2k)/swp(2k+1) in netns ibwire, both ports on
# bridge brk. Only the hosts' veths carry addresses and rxe devices (rxe in
# 6.1 works only in the initial namespace); the switch is plain layer 2.
_rxe_switch_path() {
	local k=$1 d
	if [[ ! -e /run/netns/ibwire ]]; then
		modprobe bridge || die "rxe_setup: modprobe bridge failed"
		ip netns add ibwire || die "rxe_setup: cannot create netns ibwire"
		ip -n ibwire link set lo up
		# No IPv6 link-local chatter from the switch either.
		ip netns exec ibwire sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1 || true
	fi
	# STP off and no forwarding delay: a port forwards as soon as it is up.
	ip -n ibwire link add "br$k" type bridge stp_state 0 forward_delay 0 ||
		die "rxe_setup: cannot create bridge br$k in ibwire"
	for d in "veth$((2 * k))" "veth$((2 * k + 1))"; do
		ip link add "$d" type veth peer name "swp${d#veth}" netns ibwire ||
			die "rxe_setup: cannot create $d/swp${d#veth}"
		ip -n ibwire link set "swp${d#veth}" master "br$k" up ||
			die "rxe_setup: cannot plug swp${d#veth} into br$k"
	done
	ip -n ibwire link set "br$k" up
}

_rxe_active() { rdma link show "rxe$1/1" 2>/dev/null | grep -q 'state ACTIVE'; }
_rxe_port_down() { rdma link show "rxe$1/1" 2>/dev/null | grep -q 'state DOWN'; }
_no_carrier() { [[ $(cat "/sys/class/net/$1/carrier" 2>/dev/null) == 0 ]]; }
_oper_up() { [[ $(cat "/sys/class/net/$1/operstate" 2>/dev/null) == up ]]; }

rxe_link_down() {
	_kcxx_guest_only rxe_link_down
	local k=${1:?rxe_link_down K}
	ip link set "veth$((2 * k))" down || die "rxe_link_down: veth$((2 * k))"
	ip link set "veth$((2 * k + 1))" down || die "rxe_link_down: veth$((2 * k + 1))"
}

rxe_link_up() {
	_kcxx_guest_only rxe_link_up
	local k=${1:?rxe_link_up K} d
	for d in "veth$((2 * k))" "veth$((2 * k + 1))"; do
		ip link set "$d" up || die "rxe_link_up: $d"
	done
	for d in "veth$((2 * k))" "veth$((2 * k + 1))"; do
		wait_for 10 _oper_up "$d" || die "rxe_link_up: $d did not come up"
	done
	# Link down dropped the pair's table routes and neighbours: put them back.
	_rxe_pair_routes "$k"
	if _rxe_has_v6 "$k"; then _rxe_pair_routes6 "$k"; fi
}

# _rxe_cable cut|plug K SIDE: set path K's switch port at SIDE (1 = veth(2K),
# 2 = veth(2K+1)) down or up and wait until the host veth and its rxe device
# show it (cut: carrier 0, port DOWN; plug: carrier, port ACTIVE).
_rxe_cable() {
	local what=$1 k=${2:?rxe_link_$1 K SIDE} side=${3:?rxe_link_$1 K SIDE} i
	[[ -e /run/netns/ibwire ]] || die "rxe_link_$what: the wire is not switched (rxe_setup N switched)"
	[[ $side == 1 || $side == 2 ]] || die "rxe_link_$what: SIDE must be 1 or 2, not '$side'"
	i=$((2 * k + side - 1))
	if [[ $what == cut ]]; then
		ip -n ibwire link set "swp$i" down || die "rxe_link_cut: swp$i"
		wait_for 10 _no_carrier "veth$i" || die "rxe_link_cut: veth$i kept its carrier"
		wait_for 10 _rxe_port_down "$i" || die "rxe_link_cut: rxe$i not DOWN: $(rdma link show "rxe$i/1" 2>&1)"
	else
		ip -n ibwire link set "swp$i" up || die "rxe_link_plug: swp$i"
		wait_for 10 _oper_up "veth$i" || die "rxe_link_plug: veth$i has no carrier"
		wait_for 10 _rxe_active "$i" || die "rxe_link_plug: rxe$i not ACTIVE: $(rdma link show "rxe$i/1" 2>&1)"
	fi
}

rxe_link_cut() {
	_kcxx_guest_only rxe_link_cut
	_rxe_cable cut "$@"
}

rxe_link_plug() {
	_kcxx_guest_only rxe_link_plug
	_rxe_cable plug "$@"
}

rxe_link_loss() {
	_kcxx_guest_only rxe_link_loss
	local k=${1:?rxe_link_loss K} d
	modprobe sch_netem 2>/dev/null || true
	for d in "veth$((2 * k))" "veth$((2 * k + 1))"; do
		tc qdisc replace dev "$d" root netem loss 100% || die "rxe_link_loss: tc on $d"
	done
}

rxe_link_heal() {
	_kcxx_guest_only rxe_link_heal
	local k=${1:?rxe_link_heal K} d
	for d in "veth$((2 * k))" "veth$((2 * k + 1))"; do
		tc qdisc del dev "$d" root 2>/dev/null || true
	done
}

rxe_teardown() {
	_kcxx_guest_only rxe_teardown
	local dev i
	for dev in $(rdma link show 2>/dev/null | sed -n 's/^link \(rxe[0-9]*\)\/.*/\1/p'); do
		rdma link delete "$dev" 2>/dev/null || true
	done
	# Direct wire: deleting veth(2k) deletes its peer veth(2k+1) too (the
	# second del then fails, ignored). Switched: every veth is its own pair.
	for dev in /sys/class/net/veth*; do
		[[ -e $dev ]] || continue
		i=${dev##*/veth}
		[[ $i =~ ^[0-9]+$ ]] && { ip link del "veth$i" 2>/dev/null || true; }
	done
	[[ -e /run/netns/ibwire ]] && { ip netns del ibwire 2>/dev/null || true; }
	while ip rule del pref 10 2>/dev/null; do :; done
	while ip rule del pref 20 2>/dev/null; do :; done
	[[ -n $(ip rule show pref 0) ]] || ip rule add pref 0 lookup local
	ip rule del pref 1000 lookup local 2>/dev/null || true
	while ip -6 rule del pref 10 2>/dev/null; do :; done
	while ip -6 rule del pref 20 2>/dev/null; do :; done
	[[ -n $(ip -6 rule show pref 0) ]] || ip -6 rule add pref 0 lookup local
	ip -6 rule del pref 1000 lookup local 2>/dev/null || true
	return 0
}

# ibnbd_teardown [MODULE...]: best effort, for a case's EXIT trap: force-
# unmaps every /dev/ibnbd* (set +e and no ERR trap: nothing here may fail
# the case), then rmmods the given modules in that order.
ibnbd_teardown() {
	local f
	set +e
	trap - ERR
	for f in /sys/block/ibnbd*/ibnbd/unmap_device; do
		[[ -e $f ]] && { echo force >"$f"; } 2>/dev/null
	done
	(($#)) && rmmod "$@" 2>/dev/null
	return 0
}

# own_stack_unload: unloads our whole stack and null_blk, users first
# (ibnbd_hostile is case 51's test module on ibtrs-client); modules that are
# not loaded are skipped, one that cannot be unloaded fails the case. A case
# calls it before its own loads (a clean slate) and at its end.
own_stack_unload() {
	local m
	for m in ibnbd_hostile ibnbd_client ibtrs_client ibnbd_server ibtrs_server null_blk; do
		unload_ko "$m"
	done
}

# own_stack_trap: the EXIT trap of a case that loads our whole stack:
# force-unmaps and unloads it whatever state the case died in.
own_stack_trap() {
	trap 'ibnbd_teardown ibnbd_client ibtrs_client ibnbd_server ibtrs_server' EXIT
}

# klog_mark NAME: writes a unique line to the kernel log; klog then prints
# the log from that line on, and klog_trouble counts what went wrong since:
# it sets leaks (kcxx-leak lines: allocation accounting not 0 at a module
# unload) and warns (WARNING, BUG, refcount_t lines).
klog_mark() {
	KLOG_MARK="kcxx-${1:?klog_mark NAME}-$RANDOM$RANDOM"
	echo "$KLOG_MARK" >/dev/kmsg
}
klog() { dmesg | sed -n "/${KLOG_MARK:?klog: klog_mark first}/,\$p"; }
klog_trouble() {
	leaks=$(klog | grep -c 'kcxx-leak:' || true)
	warns=$(klog | grep -c -E '\bWARNING\b|\bBUG\b|refcount_t:' || true)
}

ibnbd_map() {
	local sess=${1:?ibnbd_map SESS PATH DEVICE_PATH [TOKENS]} path=$2 devpath=${3:?ibnbd_map SESS PATH DEVICE_PATH [TOKENS]}
	local extra=${4:-} link name
	echo "sessname=$sess${path:+ path=$path} device_path=$devpath${extra:+ $extra}" >/sys/class/ibnbd-client/ctl/map_device ||
		die "ibnbd_map: map_device refused $devpath on $sess${extra:+ ($extra)}"
	link="/sys/class/ibnbd-client/ctl/devices/${devpath//\//!}@$sess"
	wait_for 10 test -L "$link" || die "ibnbd_map: no $link"
	name=$(basename "$(readlink -f "$link")")
	wait_for 10 test -b "/dev/$name" || die "ibnbd_map: /dev/$name did not appear"
	echo "$name"
}

ibnbd_wait_state() {
	local name=${1:?ibnbd_wait_state NAME STATE SEC} want=${2:?} sec=${3:?} f
	f=/sys/block/$name/ibnbd/state
	wait_for "$sec" grep -qx "$want" "$f" ||
		die "/dev/$name did not become $want in $sec s (state $(cat "$f" 2>/dev/null || echo gone))"
}

# fio_loop WORK SLOTS SLOT_MB FIO_ARG...: runs `fio FIO_ARG...` back to back
# until WORK/stop exists (start it in the background). Run n works on slot
# n % SLOTS (--offset=(n % SLOTS) * SLOT_MB MiB), is bounded by 600 s, writes
# its output to WORK/fio.<n> and appends "<n> <exit code>" to WORK/runs
# (truncated first). A fio job given --verify checks its own writes, so a
# run that fails or reports a verify error means data was lost.
fio_loop() {
	local work=${1:?fio_loop WORK SLOTS SLOT_MB FIO_ARG...} slots=${2:?} slot_mb=${3:?} n=0 rc
	shift 3
	: >"$work/runs"
	while [[ ! -e $work/stop ]]; do
		n=$((n + 1))
		rc=0
		timeout 600 fio "$@" --offset=$(((n % slots) * slot_mb))m >"$work/fio.$n" 2>&1 || rc=$?
		echo "$n $rc" >>"$work/runs"
	done
}

fio_check() {
	local log=${1:?fio_check LOG RC WHAT} rc=${2:?} what=${3:-fio}
	if ((rc != 0)) || grep -qE 'err= *[1-9]|verify: bad|verify failed|bad magic' "$log"; then
		tail -n 30 "$log" >&2
		die "$what: fio failed (exit $rc)"
	fi
	grep -E '^ *(READ|WRITE): bw=' "$log" | sed "s/^ */$what: /"
}

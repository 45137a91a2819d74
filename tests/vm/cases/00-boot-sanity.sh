#!/bin/bash
# The guest itself: right kernel, modules visible, soft-RoCE over two veth pairs,
# with the bytes really crossing each veth wire (rping client bound to the far
# end's address, checked with the veth packet counters); then the same over
# the switched wire, with a cable pulled and plugged back.
# timeout: 240
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

want=${KCXX_KVER:-$("$KCXX_ROOT/scripts/kver.sh")}
have=$(uname -r)
[[ $have == "$want" ]] || die "guest runs kernel $have, expected $want"
echo "kernel $have"
[[ -f /lib/modules/$have/modules.dep ]] || die "/lib/modules/$have not visible in the guest"
[[ -e /lib/modules/$have/build/Makefile ]] || die "/lib/modules/$have/build (headers) not visible"
[[ -f $KCXX_ROOT/tests/vm/lib.sh ]] || die "repo not visible at $KCXX_ROOT"

rxe_setup 2
rxe_setup 2 # idempotent
rdma link show

tx() { cat "/sys/class/net/$1/statistics/tx_packets"; }

# rping over pair k: server on 10.99.k.1 (veth2k), client from 10.99.k.2 (veth2k+1).
rping_pair() {
	local k=$1 srv cli spid ok=0 try before after
	srv=$(rxe_ip "$k" 1)
	cli=$(rxe_ip "$k" 2)
	before=$(tx "veth$((2 * k + 1))")
	timeout 60 rping -s -a "$srv" -C 10 >"$VMTEST_TMP/rping-s$k.log" 2>&1 &
	spid=$!
	for try in 1 2 3 4 5; do
		sleep 0.5
		if timeout 30 rping -c -a "$srv" -I "$cli" -C 10 -v >"$VMTEST_TMP/rping-c$k.log" 2>&1; then
			ok=1
			break
		fi
		echo "pair $k: rping client attempt $try failed:"
		cat "$VMTEST_TMP/rping-c$k.log"
	done
	wait "$spid" || { echo "pair $k: rping server:"; cat "$VMTEST_TMP/rping-s$k.log"; ok=0; }
	((ok)) || die "rping over pair $k ($cli -> $srv) failed"
	local n
	n=$(grep -c 'ping data' "$VMTEST_TMP/rping-c$k.log" || true)
	((n == 10)) || die "pair $k: expected 10 verified pings, got $n"
	after=$(tx "veth$((2 * k + 1))")
	((after - before >= 20)) || die "pair $k: only $((after - before)) packets left veth$((2 * k + 1)); traffic did not cross the wire"
	echo "pair $k: rping $cli -> $srv OK, 10 pings, $((after - before)) packets on veth$((2 * k + 1))"
}

rping_pair 0
rping_pair 1

# The switched wire (rxe_setup N switched, case 70's cable pulls): rping
# crosses the switch, a pulled cable stops it, the plugged cable carries it
# again, and the direct wire replaces the switched one cleanly.
swp_tx() { ip netns exec ibwire cat "/sys/class/net/swp$1/statistics/tx_packets"; }
rxe_setup 2 switched
[[ -e /run/netns/ibwire ]] || die "rxe_setup 2 switched: no netns ibwire"
[[ $(cat /sys/class/net/veth0/carrier) == 1 ]] || die "switched wire: veth0 has no carrier"
before_sw=$(swp_tx 0)
rping_pair 0
rping_pair 1
after_sw=$(swp_tx 0)
((after_sw - before_sw >= 20)) || die "switched wire: only $((after_sw - before_sw)) packets left the switch on swp0"
echo "figures: switched wire: $((after_sw - before_sw)) packets crossed br0 to veth0"
rxe_link_cut 0 2
timeout 60 rping -s -a "$(rxe_ip 0 1)" -C 1 >/dev/null 2>&1 &
spid=$!
sleep 0.5
if timeout 15 rping -c -a "$(rxe_ip 0 1)" -I "$(rxe_ip 0 2)" -C 1 -v >"$VMTEST_TMP/rping-cut.log" 2>&1; then
	die "rping crossed a pulled cable: $(cat "$VMTEST_TMP/rping-cut.log")"
fi
kill "$spid" 2>/dev/null || true
wait "$spid" 2>/dev/null || true
echo "figures: switched wire: path 0's cable pulled at 10.99.0.2 (swp1 down): rping failed, as it must"
rxe_link_plug 0 2
rping_pair 0
rxe_setup 2
[[ ! -e /run/netns/ibwire ]] || die "rxe_setup 2 (direct) left netns ibwire behind"
rping_pair 0
rxe_teardown
echo "figures: switched wire torn down, direct wire restored (rping OK)"

#!/bin/bash
# Session teardown with backend IO in flight: the upstream rnbd-client maps
# a null_blk (memory-backed, with completion delay so that IO is in flight
# on the server) from ibnbd-server and runs fio; meanwhile (1) the server
# side disconnects the path through ibtrs-server's sysfs (link_ev
# DISCONNECTED tears the session down while bios are outstanding; the client
# reconnects and reopens), then (2) ibnbd-server is unloaded under IO. Both
# must finish without a hang, WARN or leak (the runner checks dmesg); fio's
# IO errors are expected and ignored. Then the client unmaps and everything
# unloads.
# timeout: 400
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../upstream.sh"

srv=$(rxe_ip 0 1)
clt=$(rxe_ip 0 2)
sess=ibnbd52
rxe_setup 1
# A failed earlier case may have left modules loaded (with other parameters).
for m in ibnbd_hostile ibnbd_server ibtrs_client ibtrs_server null_blk; do unload_ko $m; done
# completion_nsec: each IO stays in the device 2 ms (timer mode).
modprobe null_blk memory_backed=1 gb=1 nr_devices=1 irqmode=2 completion_nsec=2000000
wait_for 10 test -b /dev/nullb0 || die "no /dev/nullb0"
load_ko "$KCXX_ROOT/ibtrs/ibtrs-server.ko"
load_ko "$KCXX_ROOT/ibnbd/server/ibnbd-server.ko" dev_search_path=/dev
upstream_load_client
dev=$(upstream_map "$sess" "$clt" "$srv" nullb0)
echo "mapped nullb0 as $dev"

fio_bg() {
	timeout 120 fio --name=ibnbd52 --filename="$dev" --direct=1 --ioengine=libaio --iodepth=32 \
		--rw=randrw --bs=4k-64k --size=64m --time_based --runtime=60 >/tmp/fio52.log 2>&1 &
	FIO_PID=$!
}

# (1) server-side disconnect under IO
fio_bg
sleep 5
pdir=$(echo /sys/class/ibtrs-server/$sess/paths/*)
[[ -d $pdir ]] || die "no ibtrs-server path directory for $sess"
echo 1 >"$pdir/disconnect"
sess_gone() { dmesg | grep -q "ibnbd_server: session $sess: disconnected"; }
wait_for 30 sess_gone ||
	die "the server session was not torn down"
echo "(1) server disconnected the path under IO; session torn down"
# The client reconnects (reconnect delay) and reopens the device.
wait_for 60 test -d "/sys/class/ibnbd-server/ctl/devices/dev!nullb0/sessions/$sess" ||
	die "the client did not reopen nullb0 after the reconnect"
echo "(1) the client reconnected and reopened nullb0"
sleep 3

# (2) unload the server under IO
t0=$SECONDS
unload_ko ibnbd_server
echo "(2) ibnbd-server unloaded under IO in $((SECONDS - t0))s"
kill "$FIO_PID" 2>/dev/null || true
wait "$FIO_PID" || true
tail -n 3 /tmp/fio52.log | sed 's/^/fio: /'

echo force >"/sys/block/${dev#/dev/}/rnbd/unmap_device" ||
	die "cannot unmap $dev"
wait_for 20 test ! -e "/sys/block/${dev#/dev/}" || die "$dev still present"
upstream_unload_all
unload_ko ibtrs_server
unload_ko null_blk
rxe_teardown
echo "ibnbd-server teardown with IO in flight: disconnect + unload passed"

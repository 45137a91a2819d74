#!/bin/bash
# Wire compatibility with upstream RTRS 2.0: our ibtrs-client (through
# ibtrs_test_client mode=interop) connects to the UPSTREAM rtrs-server +
# rnbd-server of Linux 6.1 over soft-RoCE: CONN_REQ/CONN_RSP on every
# connection, INFO_REQ/INFO_RSP, then an RNBD SESS_INFO sent as an RTRS READ
# (WRITE_WITH_IMM of the request, upstream RDMA-writes the SESS_INFO_RSP into
# our registered buffer, then SEND_WITH_INV + IO_RSP_W_INV when the client
# asks for remote invalidation, a plain IO_RSP and our LOCAL_INV when it
# does not), then a clean close; once each way.
# The upstream modules come from scripts/upstream-rnbd.sh (make check runs it).
# timeout: 300
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../upstream.sh"

tko=$KCXX_ROOT/tests/kmod/ibtrs_test
rxe_setup 1
upstream_load_server
load_ko "$KCXX_ROOT/ibtrs/ibtrs-client.ko"
# Both ways of invalidating the READ buffer: Y asks upstream for
# SEND_WITH_INV + IO_RSP_W_INV, N (our default) gets a plain IO_RSP and
# LOCAL_INVs the buffer itself.
for rinv in Y N; do
	echo "$rinv" >/sys/module/ibtrs_client/parameters/remote_invalidate
	mark="ibtrs-interop-start-$RANDOM"
	echo "$mark" >/dev/kmsg
	insmod "$tko/ibtrs_test_client.ko" mode=interop sessname=ibtrs-interop \
		server=ip:10.99.0.1 src=ip:10.99.0.2 port=1234 || die "cannot load the client (remote_invalidate=$rinv)"
	log=$(dmesg | sed -n "/$mark/,\$p")
	grep -E "\] (ibtrs_test|ibtrs_client|rtrs_server|rnbd_server)[a-z_]*:" <<<"$log" || true
	failed=$(cat /sys/module/ibtrs_test_client/parameters/failed)
	for item in open interop_sess_info close; do
		grep -q "\] ibtrs_test: PASS $item\$" <<<"$log" || die "item $item did not pass (remote_invalidate=$rinv)"
	done
	rmmod ibtrs_test_client
	[[ $failed == 0 ]] || die "interop (remote_invalidate=$rinv): failed=$failed"
	echo "remote_invalidate=$rinv: open, SESS_INFO over READ, close passed"
done
unload_ko ibtrs_client
upstream_unload_all
rxe_teardown
echo "ibtrs client <-> upstream rtrs-server: open, SESS_INFO over READ (remote and local invalidation), close passed"

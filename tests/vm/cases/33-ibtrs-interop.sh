#!/bin/bash
# Wire compatibility with upstream RTRS 2.0: our ibtrs-client (through
# ibtrs_test_client mode=interop) connects to the UPSTREAM rtrs-server +
# rnbd-server of Linux 6.1 over soft-RoCE: CONN_REQ/CONN_RSP on every
# connection, INFO_REQ/INFO_RSP, then an RNBD SESS_INFO sent as an RTRS READ
# (WRITE_WITH_IMM of the request, upstream RDMA-writes the SESS_INFO_RSP into
# our registered buffer, SEND_WITH_INV + IO_RSP_W_INV), then a clean close.
# The upstream modules come from scripts/upstream-rnbd.sh (make check runs it).
# timeout: 300
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../upstream.sh"

tko=$KCXX_ROOT/tests/kmod/ibtrs_test
rxe_setup 1
mark="ibtrs-interop-start-$RANDOM"
echo "$mark" >/dev/kmsg
upstream_load_server
load_ko "$KCXX_ROOT/ibtrs/ibtrs-client.ko"
insmod "$tko/ibtrs_test_client.ko" mode=interop sessname=ibtrs-interop \
	server=ip:10.99.0.1 src=ip:10.99.0.2 port=1234 || die "cannot load the client"
log=$(dmesg | sed -n "/$mark/,\$p")
grep -E "\] (ibtrs_test|ibtrs_client|rtrs_server|rnbd_server)[a-z_]*:" <<<"$log" || true
failed=$(cat /sys/module/ibtrs_test_client/parameters/failed)
for item in open interop_sess_info close; do
	grep -q "\] ibtrs_test: PASS $item\$" <<<"$log" || die "item $item did not pass"
done
rmmod ibtrs_test_client
unload_ko ibtrs_client
upstream_unload_all
rxe_teardown
[[ $failed == 0 ]] || die "interop: failed=$failed"
echo "ibtrs client <-> upstream rtrs-server: open, SESS_INFO over READ, close passed"

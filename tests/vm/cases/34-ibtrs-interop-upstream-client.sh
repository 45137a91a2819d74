#!/bin/bash
# Wire compatibility the other way: the UPSTREAM Linux 6.1 rtrs-client (driven
# by rnbd-client's map_device) connects to our ibtrs-server, whose user is
# ibtrs_test_server. Upstream's CONN_REQs on all connections and its
# INFO_REQ must be accepted (our server logs the session as connected), and
# rnbd-client's first request (an RNBD SESS_INFO sent as an RTRS READ, which
# our test server does not speak) must come back as an IO_RSP carrying the
# user's errno (-EBADMSG), so the map fails with "Bad message" and the
# session closes cleanly on both sides.
# timeout: 300
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../upstream.sh"

rxe_setup 1
mark="ibtrs-interop2-start-$RANDOM"
echo "$mark" >/dev/kmsg
load_ko "$KCXX_ROOT/ibtrs/ibtrs-server.ko"
insmod "$KCXX_ROOT/tests/kmod/ibtrs_test/ibtrs_test_server.ko" || die "cannot load ibtrs_test_server"
upstream_load_client
opts="sessname=upint path=ip:10.99.0.2@ip:10.99.0.1 device_path=foo access_mode=rw"
if out=$( (echo "$opts" >/sys/class/rnbd-client/ctl/map_device) 2>&1); then
	die "map_device succeeded against a server that does not speak RNBD"
fi
echo "map_device failed as expected: ${out##*: }"
[[ $out == *"Bad message"* ]] || die "expected EBADMSG from our server's user, got: $out"
log=$(dmesg | sed -n "/$mark/,\$p")
grep -E "ibtrs_server|ibtrs_test_server|rtrs_client|rnbd_client" <<<"$log" || true
grep -q "ibtrs_server: path .*: connected to session 'upint'" <<<"$log" ||
	die "our server never saw the upstream session connect"
upstream_unload_all
rmmod ibtrs_test_server
unload_ko ibtrs_server
rxe_teardown
echo "upstream rtrs-client <-> ibtrs-server: connect, INFO, IO_RSP errno, close passed"

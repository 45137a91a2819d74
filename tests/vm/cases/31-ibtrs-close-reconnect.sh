#!/bin/bash
# IBTRS teardown and recovery over soft-RoCE:
#  1. session close with IO in flight: ibtrs_test_client mode=close_inflight
#     puts 64 max-size IOs in flight and closes at once; every request must
#     complete (ok or error) inside close, no hang.
#  2. server unload with a client connected: a client holds a session
#     (mode=hold), ibtrs_test_server and then the ibtrs-server module are
#     unloaded; the client must see LINK_EV_DISCONNECTED.
#  3. reconnect after the server comes back: both server modules are loaded
#     again; the client must reconnect by itself (backoff with jitter),
#     report LINK_EV_RECONNECTED and do verified IO on the new connection.
# Then everything unloads with no leak, WARN or refcount error.
# timeout: 600
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

tko=$KCXX_ROOT/tests/kmod/ibtrs_test
p=/sys/module/ibtrs_test_client/parameters
# "param NAME >= N", re-read on every call (for wait_for).
param_ge() { (($(cat "$p/$1") >= $2)); }
rxe_setup 1
mark="ibtrs-close-start-$RANDOM"
echo "$mark" >/dev/kmsg
load_ko "$KCXX_ROOT/ibtrs/ibtrs-server.ko"
load_ko "$KCXX_ROOT/ibtrs/ibtrs-client.ko"
# load_ko looks for /sys/module/ibtrs-server (a dash): plain insmod for the
# test modules, whose dependencies are loaded above.
insmod "$tko/ibtrs_test_server.ko" || die "cannot load ibtrs_test_server"

echo "== 1. close with IO in flight"
insmod "$tko/ibtrs_test_client.ko" mode=close_inflight depth=64 || die "cannot load the client"
dmesg | sed -n "/$mark/,\$p" | grep -E "ibtrs_test: (PASS|FAIL|close_inflight)"
[[ $(cat $p/failed) == 0 ]] || die "close_inflight failed"
rmmod ibtrs_test_client

echo "== 2. server unload with a connected client"
insmod "$tko/ibtrs_test_client.ko" mode=hold reconnect_delay_sec=1 || die "cannot load the client"
[[ $(cat $p/failed) == 0 ]] || die "hold mode: open or first IO failed"
rmmod ibtrs_test_server
wait_for 60 param_ge link_down 1 || die "client saw no DISCONNECTED event"
echo "client: link_down=$(cat $p/link_down)"
unload_ko ibtrs_server
sleep 3

echo "== 3. server back: the client reconnects"
load_ko "$KCXX_ROOT/ibtrs/ibtrs-server.ko"
insmod "$tko/ibtrs_test_server.ko" || die "cannot reload ibtrs_test_server"
wait_for 180 param_ge reconnect_io_ok 1 ||
	die "no verified IO after reconnect (link_up=$(cat $p/link_up))"
echo "client: link_up=$(cat $p/link_up) reconnect_io_ok=$(cat $p/reconnect_io_ok)"
dmesg | sed -n "/$mark/,\$p" | grep -E "ibtrs_(client|server|test)[a-z_]*:" | grep -v PASS | tail -n 30 || true

rmmod ibtrs_test_client
rmmod ibtrs_test_server
unload_ko ibtrs_client
unload_ko ibtrs_server
rxe_teardown
echo "close with IO in flight, server unload, reconnect: all passed"

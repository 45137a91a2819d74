#!/bin/bash
# IBTRS data integrity over soft-RoCE: ibtrs_test_server serves a RAM buffer
# on 10.99.0.1, ibtrs_test_client connects from 10.99.0.2 (the bytes cross
# the veth wire) and runs every IO size from 512 B to the max IO size, the
# full queue depth in flight, a long run of reads-after-writes with content
# checks, IO polled on a poll connection (poll_queues=1: the queue depth of
# poll permits in flight, every completion reaped by ibtrs_clt_rdma_cq_direct
# in the submitting thread, invalid poll index refused), IO on the admin
# connection, then closes. It counts the SEND-type messages the server's
# rxe0 put on the wire during the run: with IBTRS_EXPECT_SERVER_SENDS=reads
# (remote invalidation, a SEND_WITH_INV per READ) at least a quarter of the
# IOs, with =none (remote_invalidate=N and always_invalidate=0: the client
# LOCAL_INVs, answers are WRITE_WITH_IMMs) fewer than 1 % of them. Every item must pass with
# 0 mismatches, and unloading everything must report no leak. No IO may fail
# with a path error: the client would redo it (and count it), but any redo
# fails the case, so a false or real request timeout cannot hide.
# timeout: 1500
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

IOS=${IBTRS_TEST_IOS:-100000}
# Extra ibtrs-server parameters (case 36 runs this case with always_invalidate=0;
# the module default is Y).
read -ra srv_params <<<"${IBTRS_SRV_PARAMS:-}"
# Extra ibtrs-client parameters (case 37: remote_invalidate=N).
read -ra clt_params <<<"${IBTRS_CLT_PARAMS:-}"
expect_sends=${IBTRS_EXPECT_SERVER_SENDS:-any}
[[ $expect_sends == any || $expect_sends == reads || $expect_sends == none ]] ||
	die "IBTRS_EXPECT_SERVER_SENDS=$expect_sends: want any, reads or none"
server_sends() { cat /sys/class/infiniband/rxe0/ports/1/hw_counters/rdma_sends; }
items="open query permits sizes queue_depth long_run poll admin_con close"

rxe_setup 1
mark="ibtrs-io-start-$RANDOM"
echo "$mark" >/dev/kmsg
load_ko "$KCXX_ROOT/ibtrs/ibtrs-server.ko" "${srv_params[@]}"
inval=$(cat /sys/module/ibtrs_server/parameters/always_invalidate)
echo "ibtrs-server: always_invalidate=$inval"
want_inval=Y
[[ " ${srv_params[*]} " == *" always_invalidate=0 "* ]] && want_inval=N
[[ $inval == "$want_inval" ]] ||
	die "the server runs with always_invalidate=$inval, want $want_inval (params: ${srv_params[*]:-none})"
load_ko "$KCXX_ROOT/ibtrs/ibtrs-client.ko" "${clt_params[@]}"
echo "ibtrs-client: remote_invalidate=$(cat /sys/module/ibtrs_client/parameters/remote_invalidate)"
# load_ko looks for /sys/module/ibtrs-server (a dash); the test modules'
# dependencies are loaded above, so plain insmod.
tko=$KCXX_ROOT/tests/kmod/ibtrs_test
insmod "$tko/ibtrs_test_server.ko" port=1234 || die "cannot load ibtrs_test_server"
sends0=$(server_sends)
insmod "$tko/ibtrs_test_client.ko" mode=run ios="$IOS" depth=32 poll_queues=1 poll_ios=2000 \
	server=ip:10.99.0.1 src=ip:10.99.0.2 port=1234 || die "cannot load ibtrs_test_client"
sends=$(($(server_sends) - sends0))
log=$(dmesg | sed -n "/$mark/,\$p")
grep -E "\] (ibtrs_test|ibtrs_server|ibtrs_client|ibtrs_test_server):" <<<"$log" | grep -v "PASS" || true
failed=$(cat /sys/module/ibtrs_test_client/parameters/failed)
mism=$(cat /sys/module/ibtrs_test_client/parameters/mismatches)
done_ios=$(cat /sys/module/ibtrs_test_client/parameters/ios_done)
redone=$(cat /sys/module/ibtrs_test_client/parameters/retried)
poll_ios=$(cat /sys/module/ibtrs_test_client/parameters/poll_ios_done)
poll_cqes=$(cat /sys/module/ibtrs_test_client/parameters/poll_cqes)
poll_wrong=$(cat /sys/module/ibtrs_test_client/parameters/poll_wrong_ctx)
missing=0
for item in $items; do
	# "PASS poll" carries figures after the name
	if ! grep -qE "\] ibtrs_test: PASS $item( |\$)" <<<"$log"; then
		echo "item $item did not pass:"
		grep "ibtrs_test: .* $item" <<<"$log" || echo "  (no line for $item)"
		missing=$((missing + 1))
	fi
done
grep "\] ibtrs_test: PASS" <<<"$log"
unload_ko ibtrs_test_client
unload_ko ibtrs_test_server
unload_ko ibtrs_client
unload_ko ibtrs_server
rxe_teardown
echo "figures: ibtrs io: ios=$done_ios mismatches=$mism failed=$failed redone_after_path_error=$redone poll_ios=$poll_ios poll_cqes=$poll_cqes poll_not_polled=$poll_wrong server_sends=$sends"
[[ $failed == 0 && $missing == 0 && $mism == 0 && $redone == 0 && $poll_wrong == 0 ]] ||
	die "ibtrs io test: failed=$failed, items not passed=$missing, mismatches=$mism, redone=$redone, polled IOs completed outside the poller=$poll_wrong"
((done_ios >= IOS)) || die "only $done_ios IOs done"
case $expect_sends in
reads) ((sends * 4 >= done_ios)) ||
	die "the server sent $sends SENDs for $done_ios IOs: remote invalidation should send one per READ" ;;
none) ((sends * 100 < done_ios)) ||
	die "the server sent $sends SENDs for $done_ios IOs: with remote_invalidate=N and always_invalidate=0 it should send (almost) none" ;;
esac
echo "all $(wc -w <<<"$items") ibtrs items passed"

#!/bin/bash
# The hostile RTRS peer against ibtrs-server while a well-behaved in-kernel
# client does verified IO. tests/hostile's ibtrs-hostile (userspace,
# librdmacm + libibverbs over soft-RoCE pair 1) sends >= 10k malformed
# messages from a printed seed: bad CONN_REQ private data, bad INFO_REQs,
# immediates before INFO_REQ / on the wrong connection / out of range, bad
# request trailers, a zero-length replay of a finished READ, READ
# descriptors outside its MR; then it opens sessions up to the per-peer
# bound and leaves a path half set up. Meanwhile ibtrs_test_client (pair 0)
# runs write+read-back rounds. Fails if the server accepted anything it must
# refuse, kept silent, crashed, or the good client saw one error; the runner
# fails it on any WARN/BUG/leak line. Prints: cases tried, malformed
# messages, paths closed by the server, good client errors, WARNs, leaks.
# timeout: 1500
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

CASES=${HOSTILE_CASES:-12000}
SEED=${HOSTILE_SEED:-$(( (RANDOM << 30) ^ (RANDOM << 15) ^ RANDOM ))}
PER_PEER=3
CONNS_PER_PEER=8
# sess_queue_depth 48 is not a power of two: buf_ids 48..63 fit the
# immediate's field and must be refused. setup_timeout_ms closes half-open
# paths fast enough to test (and leaves the conns phase time to open its
# connections one by one).
SRV_PARAMS=${HOSTILE_SRV_PARAMS:-"sess_queue_depth=48 max_sessions_per_peer=$PER_PEER setup_timeout_ms=5000"}
tool=$KCXX_ROOT/build/hostile/ibtrs-hostile
[[ -x $tool ]] || die "no $tool: build it on the host (make -f tests/hostile/hostile.mk)"
tko=$KCXX_ROOT/tests/kmod/ibtrs_test
cp=/sys/module/ibtrs_test_client/parameters

rxe_setup 2
mark="ibtrs-hostile-start-$RANDOM"
echo "$mark" >/dev/kmsg
# Our own copy of the kernel log: the ring buffer wraps during the run (the
# good client's rounds log a lot), a follower keeps every line.
kmsg=$VMTEST_TMP/kmsg.log
dmesg -w >"$kmsg" 2>&1 &
kmsg_pid=$!
klog() { sed -n "/$mark/,\$p" "$kmsg"; }
# shellcheck disable=SC2086
load_ko "$KCXX_ROOT/ibtrs/ibtrs-server.ko" $SRV_PARAMS
echo "ibtrs-server: always_invalidate=$(cat /sys/module/ibtrs_server/parameters/always_invalidate) (the module default unless SRV_PARAMS says otherwise)"
load_ko "$KCXX_ROOT/ibtrs/ibtrs-client.ko"
insmod "$tko/ibtrs_test_server.ko" port=1234 || die "cannot load ibtrs_test_server"

# The good client: rounds of write + read-back with content checks on pair
# 0 until told to stop; each round's failures are added up.
stop=$VMTEST_TMP/stop-good-client
good_log=$VMTEST_TMP/good-client.log
good_client() {
	local rounds=0 errs=0 f m r
	while [[ ! -e $stop ]]; do
		if ! insmod "$tko/ibtrs_test_client.ko" mode=run ios=2000 depth=16 sessname=good-client \
			server=ip:10.99.0.1 src=ip:10.99.0.2 port=1234; then
			errs=$((errs + 1))
			echo "round $rounds: insmod failed"
		else
			f=$(cat $cp/failed) m=$(cat $cp/mismatches) r=$(cat $cp/retried)
			((f == 0 && m == 0 && r == 0)) || echo "round $rounds: failed=$f mismatches=$m redone=$r"
			errs=$((errs + f + m + r))
			rmmod ibtrs_test_client
		fi
		rounds=$((rounds + 1))
		echo "rounds=$rounds errors=$errs" >"$good_log.sum"
	done
}
good_client >"$good_log" 2>&1 &
good_pid=$!

rc=0
h=(--server 10.99.1.1 --src 10.99.1.2 --port 1234 --seed "$SEED")
echo "== half-open path (con 0 of 2, no INFO_REQ): the server must close it"
"$tool" "${h[@]}" --phase halfopen --halfopen-wait 30 || rc=1
echo "== sessions from one peer: bound $PER_PEER"
"$tool" "${h[@]}" --phase sessions --max-sessions $PER_PEER || rc=1
echo "== connections from one peer: bound $CONNS_PER_PEER"
# Writable: lowered for this phase only (closing paths still count for a
# moment, the random cases would trip a bound this low).
mc=/sys/module/ibtrs_server/parameters/max_conns_per_peer
old_mc=$(cat $mc)
echo $CONNS_PER_PEER >$mc
"$tool" "${h[@]}" --phase conns --max-conns $CONNS_PER_PEER || rc=1
echo "$old_mc" >$mc
echo "== $CASES malformed cases, seed $SEED"
"$tool" "${h[@]}" --phase cases --cases "$CASES" 2>&1 | tee "$VMTEST_TMP/hostile.out" |
	grep -vE '^hostile: kind ' || true
[[ ${PIPESTATUS[0]} == 0 ]] || rc=1
grep -E '^hostile: kind ' "$VMTEST_TMP/hostile.out" | tr -s ' ' | cut -d' ' -f3,4 | paste -sd' ' || true

# At least one full good round after the hostile run, then stop.
r0=$(sed -n 's/rounds=\([0-9]*\).*/\1/p' "$good_log.sum" 2>/dev/null || echo 0)
wait_for 600 bash -c "(( \$(sed -n 's/rounds=\([0-9]*\).*/\1/p' '$good_log.sum') >= ${r0:-0} + 2 ))" ||
	die "the good client made no progress after the hostile run"
touch "$stop"
wait "$good_pid" || true
cat "$good_log"
read -r rounds errs < <(sed -n 's/rounds=\([0-9]*\) errors=\([0-9]*\)/\1 \2/p' "$good_log.sum")

log=$(klog)
grep -q 'ibtrs_server: ' <<<"$log" || die "no ibtrs_server line in the kernel log after the mark"
closed=$(grep -cE 'ibtrs_server: path .*: closing' <<<"$log" || true)
# Rate-limited lines dropped (printk names the shim's kx_vlog, any module).
suppressed=$( (grep -oE 'kx_vlog: [0-9]+ callbacks suppressed' <<<"$log" || true) |
	awk '{ s += $2 } END { print s + 0 }')
warns=$(grep -cE '\b(WARNING|BUG)\b|Call Trace' <<<"$log" || true)
leaks=$(grep -c 'kcxx-leak' <<<"$log" || true)
# What the server logged, by kind (numbers folded): every line is one
# refusal or one path lifecycle event.
(grep -E 'ibtrs_server:' <<<"$log" || true) |
	sed -E 's/^\[[ 0-9.]+\] //; s/ip:10\.99\.[0-9.]+@ip:10\.99\.[0-9.]+/SRC@DST/g; s/hostile-[0-9-]+/hostile-N/g; s/0x[0-9a-f]+/0xX/g; s/[0-9]+/N/g' |
	sort | uniq -c | sort -rn | awk 'NR <= 25'

rmmod ibtrs_test_server
unload_ko ibtrs_client
unload_ko ibtrs_server
sleep 1
leaks=$(klog | grep -c 'kcxx-leak' || true)
warns=$(klog | grep -cE '\b(WARNING|BUG)\b|Call Trace' || true)
kill "$kmsg_pid" 2>/dev/null || true
rxe_teardown
summary=$(grep -E '^hostile: seed=.* cases=' "$VMTEST_TMP/hostile.out" || echo "hostile: no summary")
echo "$summary"
field() { sed -nE "s/.* $1=([0-9]+).*/\1/p" <<<"$summary"; }
echo "figures: hostile-peer: seed=$SEED cases tried=$(field cases) malformed messages=$(field malformed_msgs)" \
	"connections rejected=$(field rejected) paths closed by the server=$(field closed)" \
	"errno answers=$(field errno_answers) accepted=$(field accepted) silent=$(field silent)"
echo "figures: hostile-peer: good client rounds=$rounds errors=$errs WARNs=$warns leak lines=$leaks" \
	"server 'closing' log lines=$closed (rate-limited lines suppressed: ${suppressed:-0})"
((rc == 0)) || die "the server accepted or ignored malformed input (seed $SEED)"
# Every refusal at admission names its reason (conn_admit's why).
unnamed=$(grep -cE 'refusing connection.*\(null\)' <<<"$log" || true)
((unnamed == 0)) || die "$unnamed refusal lines name no reason"
((errs == 0)) || die "the good client saw $errs errors"
((rounds >= 2)) || die "the good client ran only $rounds rounds"
((warns == 0 && leaks == 0)) || die "WARN/leak lines in dmesg"
msgs=$(sed -nE 's/.* cases=([0-9]+) malformed_msgs=([0-9]+).*/\2/p' <<<"$summary")
need=$((CASES >= 12000 ? 10000 : CASES * 9 / 10))
((${msgs:-0} >= need)) || die "only ${msgs:-0} malformed messages sent (need $need)"
echo "hostile peer: all refused, good client unharmed"

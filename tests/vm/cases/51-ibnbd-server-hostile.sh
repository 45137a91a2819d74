#!/bin/bash
# RNBD-level refusals of ibnbd-server: tests/kmod/ibnbd_hostile opens two
# IBTRS sessions to the server and sends malformed RNBD messages (OPEN names
# without NUL, '..', unknown types and ops, unknown device ids, IO past the
# end, writes on a read-only open, bi_size larger than the data, WRITE_SAME,
# wrong RTRS directions, ...) plus the access-mode rules (second rw open
# -EPERM, migration allows a second writer, ro then rw) and good IO in
# between: every item must get its errno, the server keeps serving, no WARN
# (the runner checks dmesg). Then with hold=1 the opens stay, and the
# server's sysfs must show them (access_mode, read_only, mapping_path);
# force_close refuses bad input with EINVAL and closes one open.
# The first load adds IBNBD51_RANDOM (default 10000) randomised IO messages
# (seed IBNBD51_SEED, default random, printed): valid ones must succeed,
# defective ones must get one of their defects' errnos. Meanwhile a
# well-behaved client (our ibnbd-client, its own session and device) runs
# fio verify=crc32c against the same server and must see no error.
# Prints: items tried, random cases (defective, wrong answers), seed, fio
# errors.
# timeout: 600
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

ctl=/sys/class/ibnbd-server/ctl
rxe_setup 1
# A failed earlier case may have left modules loaded (with other parameters).
for m in ibnbd_hostile ibnbd_client ibnbd_server ibtrs_client ibtrs_server null_blk; do unload_ko $m; done
modprobe null_blk memory_backed=1 gb=1 nr_devices=3
wait_for 10 test -b /dev/nullb2 || die "no /dev/nullb2"
load_ko "$KCXX_ROOT/ibtrs/ibtrs-server.ko"
load_ko "$KCXX_ROOT/ibtrs/ibtrs-client.ko"
load_ko "$KCXX_ROOT/ibnbd/server/ibnbd-server.ko" dev_search_path=/dev
[[ $(cat /sys/module/ibnbd_server/parameters/dev_search_path) == /dev ]] || die "dev_search_path param"
sectors=$(($(cat /sys/block/nullb0/size)))

hostile() {
	local mark="ibnbd51-$RANDOM" log tried failed
	echo "$mark" >/dev/kmsg
	insmod "$KCXX_ROOT/tests/kmod/ibnbd_hostile/ibnbd_hostile.ko" rw_sectors="$sectors" "$@" ||
		die "cannot load ibnbd_hostile $*"
	tried=$(cat /sys/module/ibnbd_hostile/parameters/tried)
	failed=$(cat /sys/module/ibnbd_hostile/parameters/failed)
	log=$(dmesg | sed -n "/$mark/,\$p")
	grep -E "ibnbd_hostile: (FAIL|summary)" <<<"$log" || true
	echo "ibnbd_hostile $*: tried=$tried failed=$failed"
	grep -E "ibnbd_hostile: random phase: [0-9]+ cases, [0-9]+ defective" <<<"$log" | sed 's/^.*ibnbd_hostile: /figures: /' || true
	local want=40 a
	for a in "$@"; do [[ $a == random_cases=* ]] && want=$((want + ${a#random_cases=})); done
	((tried >= want)) || die "only $tried items tried (want >= $want)"
	((failed == 0)) || die "$failed hostile items got the wrong answer"
	# One log line per refusal, rate limited: the server said why.
	grep -c "ibnbd_server: session hostilea" <<<"$log" | sed 's/^/server log lines for hostilea: /'
	# Without hold the module closed its sessions at load; it stays loaded.
	[[ " $* " == *" hold=1 "* ]] || rmmod ibnbd_hostile
}

no_devices() { [[ -z $(ls "$ctl/devices") ]]; }

# The well-behaved client: our ibnbd-client, session good51, nullb2; fio
# verify runs back to back until the hostile load is over.
load_ko "$KCXX_ROOT/ibnbd/client/ibnbd-client.ko"
good=/dev/$(ibnbd_map good51 "ip:$(rxe_ip 0 2)@ip:$(rxe_ip 0 1)" nullb2)
work=$VMTEST_TMP/c51
rm -rf "$work"
mkdir -p "$work"
fio_loop "$work" 4 16 --name=good --filename="$good" --direct=1 --ioengine=libaio --iodepth=8 \
	--rw=randrw --bsrange=4k-64k --size=16m --verify=crc32c --verify_fatal=1 --randrepeat=0 &
good_pid=$!
random_cases=${IBNBD51_RANDOM:-10000}
hostile random_cases="$random_cases" seed="${IBNBD51_SEED:-0}"
touch "$work/stop"
wait "$good_pid"
runs=$(wc -l <"$work/runs")
for n in $(seq 1 "$runs"); do
	fio_check "$work/fio.$n" "$(awk -v n="$n" '$1 == n { print $2 }' "$work/runs")" "good client fio run $n" >/dev/null
done
((runs >= 1)) || die "the good client's fio never finished"
echo "figures: good client during the hostile load: $runs fio verify runs, 0 errors"
echo normal >"/sys/block/${good#/dev/}/ibnbd/unmap_device" || die "unmap of the good client's $good"
unload_ko ibnbd_client
wait_for 10 no_devices || die "devices left open after the sessions closed: $(ls $ctl/devices)"

hostile hold=1
d0=$ctl/devices/dev!nullb0
d1=$ctl/devices/dev!nullb1
[[ $(cat "$d0/block_dev") == /dev/nullb0 ]] || die "block_dev of nullb0: $(cat "$d0/block_dev")"
[[ $(cat "$d0/sessions/hostilea/access_mode") == rw ]] || die "a: nullb0 not rw"
[[ $(cat "$d0/sessions/hostilea/read_only") == 0 ]] || die "a: nullb0 read_only"
[[ $(cat "$d0/sessions/hostilea/mapping_path") == nullb0 ]] || die "a: mapping_path"
[[ $(cat "$d0/sessions/hostileb/access_mode") == ro ]] || die "b: nullb0 not ro"
[[ $(cat "$d0/sessions/hostileb/read_only") == 1 ]] || die "b: nullb0 not read_only"
[[ $(cat "$d1/sessions/hostilea/access_mode") == ro ]] || die "a: nullb1 not ro"
[[ $(cat "$d1/sessions/hostileb/access_mode") == rw ]] || die "b: nullb1 not rw"
echo "server sysfs: $(cd $ctl/devices && echo */sessions/*)"
if echo 2 >"$d1/sessions/hostileb/force_close" 2>/dev/null; then
	die "force_close accepted '2'"
fi
echo 1 >"$d1/sessions/hostileb/force_close"
wait_for 10 test ! -d "$d1/sessions/hostileb" || die "force_close did not close b's nullb1"
[[ -d $d1/sessions/hostilea ]] || die "force_close of b closed a's open too"
echo "force_close: '2' refused, '1' closed hostileb's nullb1"
rmmod ibnbd_hostile
wait_for 10 no_devices || die "devices left open after unload: $(ls $ctl/devices)"
unload_ko ibnbd_server
unload_ko ibtrs_client
unload_ko ibtrs_server
unload_ko null_blk
rxe_teardown
echo "ibnbd-server hostile client: every refusal answered, server kept serving, sysfs + force_close OK"

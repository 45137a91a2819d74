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
# timeout: 400
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

ctl=/sys/class/ibnbd-server/ctl
rxe_setup 1
modprobe null_blk memory_backed=1 gb=1 nr_devices=2
wait_for 10 test -b /dev/nullb1 || die "no /dev/nullb1"
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
	((tried >= 40)) || die "only $tried items tried"
	((failed == 0)) || die "$failed hostile items got the wrong answer"
	# One log line per refusal, rate limited: the server said why.
	grep -c "ibnbd_server: session hostilea" <<<"$log" | sed 's/^/server log lines for hostilea: /'
}

hostile
wait_for 10 test -z "$(ls $ctl/devices)" || die "devices left open after the sessions closed: $(ls $ctl/devices)"

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
wait_for 10 test -z "$(ls $ctl/devices)" || die "devices left open after unload: $(ls $ctl/devices)"
unload_ko ibnbd_server
unload_ko ibtrs_client
unload_ko ibtrs_server
unload_ko null_blk
rxe_teardown
echo "ibnbd-server hostile client: every refusal answered, server kept serving, sysfs + force_close OK"

#!/bin/bash
# IBTRS sysfs over soft-RoCE: the client's /sys/class/ibtrs-client/<sess>/
# and the server's /sys/class/ibtrs-server/<sess>/paths/<src@dst>/ files
# show the right values; bad writes fail with EINVAL; client disconnect /
# reconnect, server-side disconnect (the client reconnects by itself),
# add_path of a second path over a second veth pair and remove_path.
# timeout: 600
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

tko=$KCXX_ROOT/tests/kmod/ibtrs_test
p=/sys/module/ibtrs_test_client/parameters
param_ge() { (($(cat "$p/$1") >= $2)); }
state_is() { [[ $(cat "$1/state") == "$2" ]]; }
# expect_einval FILE VALUE: the write fails with EINVAL and the kernel logs
# exactly one line for it, which names the file and quotes VALUE on one line.
expect_einval() {
	local f=$1 v=$2 mark="kcxx-case32-$RANDOM$RANDOM" err lines n
	echo "$mark" >/dev/kmsg
	if err=$( { echo "$v" >"$f"; } 2>&1); then die "writing '$v' to $f succeeded"; fi
	[[ $err == *"Invalid argument"* ]] || die "writing '$v' to ${f##*/}: '$err', not EINVAL"
	lines=$(dmesg | sed -n "/$mark/,\$p" | sed 1d | grep -E 'ibtrs_(client|server):' || true)
	n=$(grep -c . <<<"$lines" || true)
	((n == 1)) || die "writing '$v' to ${f##*/}: $n kernel log lines, not 1: $lines"
	[[ $lines == *"${f##*/}"* && $lines == *"'$v'"* ]] ||
		die "writing '$v' to ${f##*/}: the log line does not name the file and quote the value: $lines"
	echo "  refused: '$v' > ${f##*/} (EINVAL): ${lines#*] }"
}

rxe_setup 2
load_ko "$KCXX_ROOT/ibtrs/ibtrs-server.ko"
load_ko "$KCXX_ROOT/ibtrs/ibtrs-client.ko"
insmod "$tko/ibtrs_test_server.ko" || die "cannot load ibtrs_test_server"
insmod "$tko/ibtrs_test_client.ko" mode=hold reconnect_delay_sec=1 || die "cannot load the client"

c=/sys/class/ibtrs-client/ibtrs-test
cp=$c/paths/ip:10.99.0.2@ip:10.99.0.1
s=/sys/class/ibtrs-server/ibtrs-test/paths/ip:10.99.0.1@ip:10.99.0.2
for f in "$c/mpath_policy" "$c/max_reconnect_attempts" "$cp"/* "$cp"/stats/rdma "$cp"/stats/reconnects \
	"$s"/hca_name "$s"/hca_port "$s"/src_addr "$s"/dst_addr "$s"/stats/rdma; do
	[[ -d $f ]] && continue
	[[ -f $f ]] || die "missing $f"
	[[ -r $f && $(stat -c %a "$f") != 200 ]] && echo "$f: $(cat "$f")"
done
state_is "$cp" connected || die "client path not connected"
[[ $(cat "$cp/hca_name") == rxe1 && $(cat "$s/hca_name") == rxe0 ]] || die "wrong hca_name"
[[ $(cat "$cp/dst_addr") == ip:10.99.0.1 && $(cat "$s/dst_addr") == ip:10.99.0.2 ]] || die "wrong dst_addr"
read -r rd rdb wr wrb infl fo <"$cp/stats/rdma"
((wr >= 1)) || die "client stats/rdma counted no write"
read -r srd srdb swr swrb <"$s/stats/rdma"
((swr >= 1)) || die "server stats/rdma counted no write"

echo "== bad writes"
expect_einval "$c/mpath_policy" foo
expect_einval "$c/max_reconnect_attempts" 10000
expect_einval "$c/max_reconnect_attempts" -2
expect_einval "$cp/disconnect" 2
expect_einval "$cp/reconnect" x
expect_einval "$s/disconnect" 0
expect_einval "$c/add_path" "ip:10.99.9"
echo round-robin >"$c/mpath_policy"
grep -qi "round-robin" "$c/mpath_policy" || die "mpath_policy did not change: $(cat "$c/mpath_policy")"
echo min-inflight >"$c/mpath_policy"
echo 100 >"$c/max_reconnect_attempts"
[[ $(cat "$c/max_reconnect_attempts") == 100 ]] || die "max_reconnect_attempts"
echo -1 >"$c/max_reconnect_attempts"

echo "== client disconnect / reconnect"
echo 1 >"$cp/disconnect"
state_is "$cp" disconnected || die "not disconnected: $(cat "$cp/state")"
wait_for 20 param_ge link_down 1 || die "no DISCONNECTED event"
sleep 3
state_is "$cp" disconnected || die "reconnected by itself after a manual disconnect"
echo 1 >"$cp/reconnect" || die "reconnect failed"
state_is "$cp" connected || die "not connected after reconnect"
wait_for 30 param_ge reconnect_io_ok 1 || die "no IO after reconnect"

echo "== server-side disconnect: the client comes back by itself"
echo 1 >"$s/disconnect"
wait_for 20 param_ge link_down 2 || die "client saw no DISCONNECTED after the server disconnect"
wait_for 120 param_ge reconnect_io_ok 2 || die "client did not reconnect ($(cat "$cp/state"))"
echo "reconnects: $(cat "$cp/stats/reconnects")"

echo "== add_path / remove_path"
echo "ip:10.99.1.2@ip:10.99.1.1" >"$c/add_path" || die "add_path failed"
cp2=$c/paths/ip:10.99.1.2@ip:10.99.1.1
state_is "$cp2" connected || die "added path not connected"
[[ $(cat "$cp2/hca_name") == rxe3 ]] || die "added path on $(cat "$cp2/hca_name")"
ls /sys/class/ibtrs-server/ibtrs-test/paths/
echo 1 >"$cp2/remove_path"
[[ ! -e $cp2 ]] || die "removed path still in sysfs"
state_is "$cp" connected || die "first path disturbed by add/remove"

rmmod ibtrs_test_client
rmmod ibtrs_test_server
unload_ko ibtrs_client
unload_ko ibtrs_server
rxe_teardown
echo "ibtrs sysfs: all checks passed"

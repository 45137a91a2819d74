#!/bin/bash
# Installation and the ibnbd tool against the real transport: `make install`
# (DESTDIR first, then into the guest's /lib/modules/<kver>/updates/ + depmod),
# dkms.conf names modules the build produces, `modprobe ibtrs_server` /
# `ibtrs_client` by name load them from updates/ with their RDMA dependencies,
# `modprobe -r` removes them; then with a live session (the transport test
# modules, as in case 32) `ibnbd list --json` / `server list --json` match the
# sysfs files field by field, and policy/path commands and refused writes
# (EINVAL, EACCES) behave and exit as documented. Then the block device:
# `modprobe ibnbd_server` / `ibnbd_client` by name (pulling in the transport),
# systemd-udevd started for this case only (the guest has no udev) with the
# installed 90-ibnbd.rules, `ibnbd map` over two paths, `list --json` devices
# against /sys/block/ibnbdN, the stable name /dev/ibnbd/<session>/<path>,
# the KOBJ_OFFLINE / KOBJ_ONLINE uevents (session, device path, state, the
# path that came back) when the tool disconnects both paths and reconnects
# one, `ibnbd unmap` through the stable name, `modprobe -r`.
# timeout: 900
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

kver=$KCXX_KVER
tool=$KCXX_ROOT/build/tools/ibnbd
[[ -x $tool ]] || die "no $tool: build it on the host first (make tool)"
[[ -f $KCXX_ROOT/ibtrs/ibtrs-client.ko ]] || die "modules not built (make modules)"
mk() { make -s -C "$KCXX_ROOT" "$@"; }
loaded() { [[ -d /sys/module/$1 ]]; }

echo "== make install DESTDIR=..."
dest=$VMTEST_TMP/destdir
mk install KVER="$kver" DESTDIR="$dest" PREFIX=/usr
for f in "lib/modules/$kver/updates/ibtrs/ibtrs-client.ko" "lib/modules/$kver/updates/ibtrs/ibtrs-server.ko" \
	"lib/modules/$kver/updates/ibnbd/client/ibnbd-client.ko" "lib/modules/$kver/updates/ibnbd/server/ibnbd-server.ko" \
	usr/sbin/ibnbd usr/share/man/man8/ibnbd.8 etc/udev/rules.d/90-ibnbd.rules; do
	[[ -f $dest/$f ]] || die "DESTDIR install: missing $f"
done
[[ -x $dest/usr/sbin/ibnbd ]] || die "DESTDIR install: tool not executable"
[[ ! -e $dest/lib/modules/$kver/modules.dep ]] || die "DESTDIR install ran depmod into DESTDIR"
[[ -z $(find "$dest" -path '*tests*' -name '*.ko') ]] || die "DESTDIR install put test modules in"
grep -q 'PROGRAM="/usr/sbin/ibnbd udev-name %k", SYMLINK+="%c"' "$dest/etc/udev/rules.d/90-ibnbd.rules" ||
	die "udev rule without the PREFIX's tool path: $(grep PROGRAM "$dest/etc/udev/rules.d/90-ibnbd.rules")"
echo "  $(find "$dest" -type f | wc -l) files under DESTDIR, no depmod, rule calls /usr/sbin/ibnbd"

echo "== dkms.conf"
(
	kernelver=$kver kernel_source_dir=/lib/modules/$kver/build
	# shellcheck disable=SC1091
	. "$KCXX_ROOT/dkms.conf"
	[[ ${MAKE[0]} == *"make modules"* ]] || die "dkms.conf: MAKE[0] is '${MAKE[0]}'"
	((${#BUILT_MODULE_NAME[@]} >= 2)) || die "dkms.conf lists ${#BUILT_MODULE_NAME[@]} modules"
	for i in "${!BUILT_MODULE_NAME[@]}"; do
		ko=$KCXX_ROOT/${BUILT_MODULE_LOCATION[$i]}${BUILT_MODULE_NAME[$i]}.ko
		[[ -f $ko ]] || die "dkms.conf names ${BUILT_MODULE_NAME[$i]} but the build has no $ko"
		[[ ${DEST_MODULE_LOCATION[$i]} == /updates* ]] || die "dkms.conf: ${DEST_MODULE_LOCATION[$i]}"
		echo "  dkms module ${BUILT_MODULE_NAME[$i]}: built"
	done
)

echo "== make install into /lib/modules/$kver"
rdma_was_loaded=0
loaded ib_core && rdma_was_loaded=1
mk install KVER="$kver"
mods=/lib/modules/$kver
[[ $(modinfo -n ibtrs_client) == "$mods/updates/ibtrs/ibtrs-client.ko" ]] ||
	die "modinfo finds ibtrs_client at $(modinfo -n ibtrs_client)"
[[ -x /usr/local/sbin/ibnbd && -f /usr/local/share/man/man8/ibnbd.8 && -f /etc/udev/rules.d/90-ibnbd.rules ]] ||
	die "tool, man page or udev rule not installed"
deps=$(modprobe --show-depends ibtrs_client)
echo "$deps" | sed 's/^/  /'
for m in ib_core rdma_cm ibtrs-client; do
	grep -q "/$m\.ko" <<<"$deps" || die "modprobe --show-depends ibtrs_client lacks $m"
done
grep -q "$mods/updates/ibtrs/ibtrs-client.ko" <<<"$deps" || die "ibtrs_client does not resolve to updates/"

echo "== modprobe by name"
modprobe ibtrs_server
modprobe ibtrs_client
for m in ibtrs_server ibtrs_client rdma_cm ib_core; do loaded "$m" || die "$m not loaded after modprobe"; done
if ((rdma_was_loaded)); then
	echo "  (ib_core was loaded before: the load proves the names, --show-depends the dependencies)"
else
	echo "  ib_core and rdma_cm were not loaded before: modprobe pulled them in"
fi
modprobe -r ibtrs_client ibtrs_server
! loaded ibtrs_client && ! loaded ibtrs_server || die "modprobe -r left a module loaded"
if ((!rdma_was_loaded)); then ! loaded rdma_cm || die "modprobe -r left rdma_cm (unused) loaded"; fi
echo "  modprobe -r removed them"

echo "== a live session, and the tool against its sysfs"
rxe_setup 2
modprobe ibtrs_server
modprobe ibtrs_client
tko=$KCXX_ROOT/tests/kmod/ibtrs_test
insmod "$tko/ibtrs_test_server.ko" || die "cannot load ibtrs_test_server"
insmod "$tko/ibtrs_test_client.ko" mode=hold reconnect_delay_sec=1 || die "cannot load ibtrs_test_client"
ibnbd=/usr/local/sbin/ibnbd
sess=ibtrs-test
c=/sys/class/ibtrs-client/$sess
wait_for 30 grep -qx connected "$c/paths/ip:10.99.0.2@ip:10.99.0.1/state" || die "session not connected"

# The tool's view is taken between two equal snapshots of every file the
# comparison uses, and compared with that snapshot (not with a later read),
# so heartbeats (cur_latency changes every hb_interval_ms) and counters cannot
# make it flaky. The snapshot forks nothing (builtin read), so under a slow
# emulated guest the window between the two is little more than the tool's run.
snap() { # DIR -> SNAPOUT: "file=value" lines
	local d=$1 f v
	local -a files
	if [[ -e $d/mpath_policy ]]; then # client session
		files=("$d/mpath_policy" "$d/max_reconnect_attempts"
			"$d"/paths/*/{state,hca_name,hca_port,src_addr,dst_addr,cur_latency} "$d"/paths/*/stats/{rdma,reconnects})
	else # server session
		files=("$d"/paths/*/{hca_name,hca_port,src_addr,dst_addr} "$d"/paths/*/stats/rdma)
	fi
	SNAPOUT=
	for f in "${files[@]}"; do
		v="<unreadable>"
		IFS= read -r v <"$f" || true
		SNAPOUT+="$f=$v"$'\n'
	done
}
sv() { # FILE -> its value in $SNAP
	local line
	while IFS= read -r line; do
		[[ $line == "$1="* ]] && { echo "${line#"$1="}"; return 0; }
	done <<<"$SNAP"
	echo "<not in snapshot>"
}
stable_json() { # DIR CMD... -> sets JSON and SNAP
	local dir=$1 a i
	shift
	for ((i = 0; i < 30; i++)); do
		snap "$dir"
		a=$SNAPOUT
		JSON=$("$@")
		snap "$dir"
		if [[ $a == "$SNAPOUT" ]]; then
			SNAP=$a
			echo "  (stable snapshot after $((i + 1)) tries)"
			return 0
		fi
	done
	die "sysfs below $dir never stable across '$*'"
}
checked=0
eq() { # WHAT TOOL_VALUE SYSFS_VALUE
	[[ $2 == "$3" ]] || die "$1: tool says '$2', sysfs says '$3'"
	checked=$((checked + 1))
}

stable_json "$c" "$ibnbd" list --json
json=$JSON
jq -e . >/dev/null <<<"$json" || die "list --json is not JSON: $json"
eq "modules.ibnbd_client" "$(jq -r .modules.ibnbd_client <<<"$json")" false
eq "modules.ibtrs_client" "$(jq -r .modules.ibtrs_client <<<"$json")" true
eq "devices" "$(jq -c .devices <<<"$json")" "[]"
sj=$(jq -c --arg s "$sess" '.sessions[] | select(.name == $s)' <<<"$json")
[[ -n $sj ]] || die "session $sess missing from list --json: $json"
eq "policy_raw" "$(jq -r .policy_raw <<<"$sj")" "$(sv "$c/mpath_policy")"
eq "max_reconnect_attempts" "$(jq -r .max_reconnect_attempts <<<"$sj")" "$(sv "$c/max_reconnect_attempts")"
npaths=$(find "$c/paths" -mindepth 1 -maxdepth 1 -type d | wc -l)
eq "paths_total" "$(jq -r .paths_total <<<"$sj")" "$npaths"
for pd in "$c"/paths/*/; do
	pd=${pd%/}
	name=${pd##*/}
	pj=$(jq -c --arg n "$name" '.paths[] | select(.name == $n)' <<<"$sj")
	[[ -n $pj ]] || die "path $name missing from list --json"
	for f in state hca_name hca_port src_addr dst_addr; do
		eq "$name $f" "$(jq -r ".$f" <<<"$pj")" "$(sv "$pd/$f")"
	done
	lat=$(sv "$pd/cur_latency")
	eq "$name cur_latency" "$(jq -r .cur_latency_ns <<<"$pj")" "${lat% ns}"
	read -r rc rb wc wb infl fo _ <<<"$(sv "$pd/stats/rdma")"
	for kv in read_cnt=$rc read_bytes=$rb write_cnt=$wc write_bytes=$wb inflight=$infl failover_cnt=$fo; do
		eq "$name ${kv%%=*}" "$(jq -r ".${kv%%=*}" <<<"$pj")" "${kv#*=}"
	done
	read -r ok failed <<<"$(sv "$pd/stats/reconnects")"
	eq "$name reconnects_ok" "$(jq -r .reconnects_ok <<<"$pj")" "$ok"
	eq "$name reconnects_failed" "$(jq -r .reconnects_failed <<<"$pj")" "$failed"
done
echo "  list --json: $checked values equal to the sysfs files"
"$ibnbd" list
"$ibnbd" show "$sess" | grep -q "^Session $sess" || die "show $sess"

s=/sys/class/ibtrs-server/$sess
stable_json "$s" "$ibnbd" server list --json
sjson=$JSON
before=$checked
eq "server modules.ibtrs_server" "$(jq -r .modules.ibtrs_server <<<"$sjson")" true
for pd in "$s"/paths/*/; do
	pd=${pd%/}
	name=${pd##*/}
	pj=$(jq -c --arg s "$sess" --arg n "$name" '.sessions[] | select(.name == $s) | .paths[] | select(.name == $n)' <<<"$sjson")
	[[ -n $pj ]] || die "server path $name missing from server list --json: $sjson"
	for f in hca_name hca_port src_addr dst_addr; do eq "server $name $f" "$(jq -r ".$f" <<<"$pj")" "$(sv "$pd/$f")"; done
	read -r rc rb wc wb _ <<<"$(sv "$pd/stats/rdma")"
	((wc >= 1)) || die "server counted no write"
	for kv in rd_cnt=$rc rd_bytes=$rb wr_cnt=$wc wr_bytes=$wb; do
		eq "server $name ${kv%%=*}" "$(jq -r ".${kv%%=*}" <<<"$pj")" "${kv#*=}"
	done
done
echo "  server list --json: $((checked - before)) values equal to the sysfs files"

echo "== commands and the kernel's errno"
expect_rc() { # RC CMD... ; stderr kept in $errout
	local want=$1 got=0
	shift
	errout=$("$@" 2>&1 >/dev/null) || got=$?
	[[ $got == "$want" ]] || die "'$*' exited $got, expected $want: $errout"
	echo "  exit $got: $* ${errout:+-> $(head -n1 <<<"$errout")}"
}
expect_rc 0 "$ibnbd" policy "$sess" round-robin
grep -q '^round-robin' "$c/mpath_policy" || die "policy not set: $(cat "$c/mpath_policy")"
expect_rc 2 "$ibnbd" policy "$sess" fastest
grep -q EINVAL <<<"$errout" || die "no EINVAL in: $errout"
expect_rc 0 "$ibnbd" policy "$sess" min-inflight
expect_rc 3 "$ibnbd" policy nosuch rr
expect_rc 5 setpriv --reuid=65534 --regid=65534 --clear-groups "$ibnbd" policy "$sess" rr
grep -q "needs root" <<<"$errout" || die "not-root message missing: $errout"
expect_rc 2 "$ibnbd" path add "$sess" ip:10.99.9
grep -q EINVAL <<<"$errout" || die "no EINVAL in: $errout"
expect_rc 0 "$ibnbd" path add "$sess" 10.99.1.2@10.99.1.1
grep -qx connected "$c/paths/ip:10.99.1.2@ip:10.99.1.1/state" || die "added path not connected"
[[ $("$ibnbd" list --json | jq -r --arg s "$sess" '.sessions[] | select(.name == $s) | .paths_connected') == 2 ]] ||
	die "list --json does not show 2 connected paths"
expect_rc 0 "$ibnbd" path disconnect "$sess" 10.99.1.1
grep -qx disconnected "$c/paths/ip:10.99.1.2@ip:10.99.1.1/state" || die "path not disconnected"
expect_rc 0 "$ibnbd" path reconnect "$sess" ip:10.99.1.2@ip:10.99.1.1
grep -qx connected "$c/paths/ip:10.99.1.2@ip:10.99.1.1/state" || die "path not reconnected"
expect_rc 0 "$ibnbd" path remove "$sess" 10.99.1.1
[[ ! -e $c/paths/ip:10.99.1.2@ip:10.99.1.1 ]] || die "removed path still in sysfs"
expect_rc 3 "$ibnbd" path remove "$sess" 10.99.1.1
grep -qx connected "$c/paths/ip:10.99.0.2@ip:10.99.0.1/state" || die "first path disturbed"
expect_rc 4 "$ibnbd" map 10.99.0.1 /dev/nullb0
expect_rc 4 "$ibnbd" server close nullb0 "$sess"

rmmod ibtrs_test_client
rmmod ibtrs_test_server
modprobe -r ibtrs_client ibtrs_server
! loaded ibtrs_client && ! loaded ibtrs_server || die "modprobe -r left the transport loaded"

echo "== the block device: modprobe ibnbd_server / ibnbd_client by name"
for m in ibnbd-client ibtrs-client rdma_cm ib_core; do
	grep -q "/$m\.ko" <<<"$(modprobe --show-depends ibnbd_client)" || die "modprobe --show-depends ibnbd_client lacks $m"
done
[[ $(modinfo -n ibnbd_client) == "$mods/updates/ibnbd/client/ibnbd-client.ko" ]] ||
	die "modinfo finds ibnbd_client at $(modinfo -n ibnbd_client)"
[[ $(modinfo -n ibnbd_server) == "$mods/updates/ibnbd/server/ibnbd-server.ko" ]] ||
	die "modinfo finds ibnbd_server at $(modinfo -n ibnbd_server)"
modprobe null_blk nr_devices=1 gb=1 memory_backed=1  # keeps the data written
wait_for 10 test -b /dev/nullb0 || die "no /dev/nullb0"
modprobe ibnbd_server dev_search_path=/dev
modprobe ibnbd_client reconnect_delay_sec=1
for m in ibnbd_server ibtrs_server ibnbd_client ibtrs_client; do loaded "$m" || die "$m not loaded after modprobe"; done
echo "  ibnbd_server and ibnbd_client loaded by name, the transport modules with them"

echo "== systemd-udevd (this case only) with the installed rule"
udevd=/lib/systemd/systemd-udevd
[[ -x $udevd ]] && command -v udevadm >/dev/null || die "no $udevd / udevadm: apt-get install udev on the host (scripts/deps.sh)"
mon_pid=
stop_udev() { # idempotent; also from the EXIT trap
	[[ -n $mon_pid ]] && kill "$mon_pid" 2>/dev/null && wait "$mon_pid" 2>/dev/null
	mon_pid=
	if udevadm control --ping -t 2 >/dev/null 2>&1; then
		udevadm control --exit -t 10 2>/dev/null || true
	fi
	return 0
}
trap stop_udev EXIT
udev_ping() { udevadm control --ping -t 2 2>/dev/null; }
udev_ping && die "a udevd is already running in the guest"
# --daemon's parent may give up waiting for the child's ready message under
# emulation; the ping below is what counts.
"$udevd" --daemon >"$VMTEST_TMP/udevd.log" 2>&1 || true
wait_for 30 udev_ping || die "systemd-udevd does not answer: $(cat "$VMTEST_TMP/udevd.log")"
udevadm control --reload
echo "  systemd-udevd $(udevadm --version) running, rules: $(ls /etc/udev/rules.d/)"
ev=$VMTEST_TMP/uevents
stdbuf -oL udevadm monitor --kernel --property --subsystem-match=block >"$ev" 2>&1 &
mon_pid=$!
wait_for 10 grep -q '^KERNEL - the kernel uevent' "$ev" || die "udevadm monitor did not start: $(cat "$ev")"

echo "== ibnbd map over two paths"
sess=s90
p0=ip:10.99.0.2@ip:10.99.0.1
p1=ip:10.99.1.2@ip:10.99.1.1
out=$("$ibnbd" map 10.99.0.2@10.99.0.1 10.99.1.2@10.99.1.1 nullb0 --session "$sess" --json) ||
	die "ibnbd map failed: $out"
dev=$(jq -r .name <<<"$out")
[[ $dev == ibnbd[0-9]* && -b /dev/$dev ]] || die "map printed no device: $out"
b=/sys/block/$dev
echo "  mapped nullb0 over $sess as /dev/$dev"
for p in "$p0" "$p1"; do
	grep -qx connected "/sys/class/ibtrs-client/$sess/paths/$p/state" || die "path $p not connected"
done

dev_json_vs_sysfs() { # the device in `list --json` against /sys/block/$dev
	local j f
	j=$("$ibnbd" list --json | jq -c --arg n "$dev" '.devices[] | select(.name == $n)')
	[[ -n $j ]] || die "$dev missing from list --json"
	for f in session mapping_path access_mode state nr_poll_queues; do
		eq "$dev $f" "$(jq -r ".$f" <<<"$j")" "$(cat "$b/ibnbd/$f")"
	done
	eq "$dev size_sectors" "$(jq -r .size_sectors <<<"$j")" "$(cat "$b/size")"
	eq "$dev size_bytes" "$(jq -r .size_bytes <<<"$j")" "$(($(cat "$b/size") * 512))"
	eq "$dev path" "$(jq -r .path <<<"$j")" "/dev/$dev"
}
checked=0
dev_json_vs_sysfs
[[ $(cat "$b/ibnbd/state") == open && $(cat "$b/ibnbd/session") == "$sess" && $(cat "$b/ibnbd/mapping_path") == nullb0 ]] ||
	die "sysfs: state $(cat "$b/ibnbd/state"), session $(cat "$b/ibnbd/session"), mapping_path $(cat "$b/ibnbd/mapping_path")"
(($(cat "$b/size") == $(cat /sys/block/nullb0/size))) || die "size $(cat "$b/size") != nullb0's $(cat /sys/block/nullb0/size)"
echo "  list --json devices: $checked values equal to /sys/block/$dev"

echo "== the udev stable name"
udevadm settle -t 30 || die "udevadm settle timed out"
link=/dev/ibnbd/$sess/nullb0
wait_for 10 test -L "$link" || die "no $link; /dev/ibnbd: $(find /dev/ibnbd 2>&1)"
[[ $(readlink -f "$link") == "/dev/$dev" ]] || die "$link -> $(readlink -f "$link"), not /dev/$dev"
[[ $(udevadm info -q symlink -n "/dev/$dev") == *"ibnbd/$sess/nullb0"* ]] ||
	die "udev db of $dev has no link: $(udevadm info -q symlink -n "/dev/$dev")"
dd if=/dev/urandom of="$VMTEST_TMP/blk" bs=4k count=64 status=none
dd if="$VMTEST_TMP/blk" of="$link" bs=4k count=64 oflag=direct status=none || die "write through $link"
dd if="$link" of="$VMTEST_TMP/blk2" bs=4k count=64 iflag=direct status=none || die "read through $link"
cmp -s "$VMTEST_TMP/blk" "$VMTEST_TMP/blk2" || die "data read back through $link differs"
echo "  $link -> /dev/$dev (rule from make install), 256 KiB written and read back"

echo "== uevents: KOBJ_OFFLINE when the last path goes, KOBJ_ONLINE with the path that came back"
# events(ACTION): the monitor's blocks for $dev with that action, blank-separated
events() { awk -v RS= -v a="ACTION=$1" -v d="DEVPATH=.*/block/$dev\$" \
	'{ ok = 0; n = split($0, l, "\n"); for (i = 1; i <= n; i++) if (l[i] == a) ok++; else if (l[i] ~ d) ok++; if (ok == 2) print $0 "\n" }' "$ev"; }
prop() { grep -m1 "^$1=" <<<"$2" | cut -d= -f2-; }
# one_event ACTION STATE: exactly one such uevent for $dev, naming this
# session, device path and state; leaves it in $event.
one_event() {
	event=$(events "$1")
	(($(grep -c "^ACTION=$1" <<<"$event") == 1)) || die "not exactly one $1 uevent: $event"
	eq "$1 IBNBD_SESSION" "$(prop IBNBD_SESSION "$event")" "$sess"
	eq "$1 IBNBD_DEVICE_PATH" "$(prop IBNBD_DEVICE_PATH "$event")" nullb0
	eq "$1 IBNBD_STATE" "$(prop IBNBD_STATE "$event")" "$2"
}
[[ -z $(events offline)$(events online) ]] || die "online/offline uevents before any outage: $(cat "$ev")"
expect_rc 0 "$ibnbd" path disconnect "$sess" "$p1"
sleep 2
[[ $(cat "$b/ibnbd/state") == open ]] || die "state $(cat "$b/ibnbd/state") with one path still connected"
[[ -z $(events offline) ]] || die "offline uevent while a path was still connected: $(events offline)"
expect_rc 0 "$ibnbd" path disconnect "$sess" "$p0"
wait_for 30 grep -qx closed "$b/ibnbd/state" || die "state $(cat "$b/ibnbd/state") with no path, expected closed"
wait_for 10 test -n "$(events offline)" || die "no offline uevent for $dev: $(cat "$ev")"
one_event offline closed
off=$event
eq "offline SUBSYSTEM" "$(prop SUBSYSTEM "$off")" block
eq "offline DEVNAME" "$(prop DEVNAME "$off")" "/dev/$dev"  # udevadm shows it with /dev/
[[ $("$ibnbd" list --json | jq -r --arg n "$dev" '.devices[] | select(.name == $n) | .state') == closed ]] ||
	die "list --json does not show $dev closed"
expect_rc 0 "$ibnbd" path reconnect "$sess" "$p1"
wait_for 60 grep -qx open "$b/ibnbd/state" || die "state $(cat "$b/ibnbd/state") after the reconnect, expected open"
wait_for 10 test -n "$(events online)" || die "no online uevent for $dev: $(cat "$ev")"
one_event online open
on=$event
eq "online IBNBD_PATH" "$(prop IBNBD_PATH "$on")" "$p1"
echo "$off" | sed 's/^/  /'
echo "$on" | sed 's/^/  /'
expect_rc 0 "$ibnbd" path reconnect "$sess" "$p0"
udevadm settle -t 30 || die "udevadm settle timed out"
[[ $(readlink -f "$link") == "/dev/$dev" ]] || die "$link gone or changed after offline/online: $(readlink -f "$link")"
dd if="$link" of="$VMTEST_TMP/blk2" bs=4k count=64 iflag=direct status=none || die "read through $link after the outage"
cmp -s "$VMTEST_TMP/blk" "$VMTEST_TMP/blk2" || die "data read back after the outage differs"
dev_json_vs_sysfs
echo "  offline + online seen with their variables; $link kept; data intact; list --json matches sysfs again"

echo "== ibnbd unmap through the stable name, modprobe -r"
expect_rc 0 "$ibnbd" unmap "$link"
[[ ! -e $b ]] || die "$b still there after unmap"
udevadm settle -t 30 || die "udevadm settle timed out"
wait_for 10 test ! -e "$link" || die "$link left after unmap"
[[ ! -e /sys/class/ibtrs-client/$sess ]] || die "session $sess still open after its last unmap"
[[ $("$ibnbd" list --json | jq -c .devices) == "[]" ]] || die "list --json still has devices"
stop_udev
trap - EXIT
modprobe -r ibnbd_client ibnbd_server
for m in ibnbd_client ibnbd_server ibtrs_client ibtrs_server; do ! loaded "$m" || die "modprobe -r left $m loaded"; done
echo "  unmapped, udev removed the link, modprobe -r removed the four modules"
modprobe -r null_blk

echo "== teardown, make uninstall"
rxe_teardown
mk uninstall KVER="$kver"
[[ ! -e $mods/updates/ibtrs && ! -e /usr/local/sbin/ibnbd ]] || die "uninstall left files"
! modprobe --show-depends ibtrs_client >/dev/null 2>&1 || die "ibtrs_client still known to modprobe after uninstall"
echo "ibnbd install + tool: all checks passed"

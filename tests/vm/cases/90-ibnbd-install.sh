#!/bin/bash
# Installation and the ibnbd tool against the real transport: `make install`
# (DESTDIR first, then into the guest's /lib/modules/<kver>/updates/ + depmod),
# dkms.conf names modules the build produces, `modprobe ibtrs_server` /
# `ibtrs_client` by name load them from updates/ with their RDMA dependencies,
# `modprobe -r` removes them; then with a live session (the transport test
# modules, as in case 32) `ibnbd list --json` / `server list --json` match the
# sysfs files field by field, and policy/path commands and refused writes
# (EINVAL, EACCES) behave and exit as documented. The block device part
# (map/unmap, udev name) comes with the ibnbd modules.
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
	read -r rc rb wc wb infl fo <<<"$(sv "$pd/stats/rdma")"
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
	read -r rc rb wc wb <<<"$(sv "$pd/stats/rdma")"
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

echo "== teardown, make uninstall"
rmmod ibtrs_test_client
rmmod ibtrs_test_server
unload_ko ibtrs_client
unload_ko ibtrs_server
rxe_teardown
mk uninstall KVER="$kver"
[[ ! -e $mods/updates/ibtrs && ! -e /usr/local/sbin/ibnbd ]] || die "uninstall left files"
! modprobe --show-depends ibtrs_client >/dev/null 2>&1 || die "ibtrs_client still known to modprobe after uninstall"
echo "ibnbd install + tool: all checks passed"

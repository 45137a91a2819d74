#!/bin/bash
# Cycle tests (issue 8; upstream blktests rnbd/002 found a list corruption
# in RNBD this way). OUR ibnbd-client maps a memory-backed null_blk from OUR
# ibnbd-server over soft-RoCE.
# (a) MAP_CYCLES x map / IO / unmap: each cycle sets up a whole session
#     (the last unmap frees it), writes 32 KiB of random data with O_DIRECT,
#     reads it back and compares; the device index, the client session, the
#     server's open and its session must all be gone after each unmap.
# (b) LOAD_CYCLES x load / unload of ibtrs-server, ibnbd-server,
#     ibtrs-client, ibnbd-client. Every 5th cycle maps a device and does IO
#     first, then unloads with it mapped: cycles 5, 15, ... rmmod ibnbd-client
#     first (it must unmap the device itself, as in case 61); cycles 10, 20,
#     ... unload the server modules first (the device goes `closed`) and
#     then rmmod ibnbd-client with the closed device still mapped.
# Every module unload checks its allocation accounting (a `kcxx-leak` line
# in dmesg). Prints cycles done, IO errors, leaks (0), WARNs (0); fails on
# any of them being nonzero.
# timeout: 900
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

MAP_CYCLES=${IBNBD_MAP_CYCLES:-100}
LOAD_CYCLES=${IBNBD_LOAD_CYCLES:-100}
sess=s85
CTL=/sys/class/ibnbd-client/ctl
link="$CTL/devices/!dev!nullb0@$sess"
srv=$(rxe_ip 0 1)
clt=$(rxe_ip 0 2)
work=$VMTEST_TMP/c85
mkdir -p "$work"

cleanup() {
	ibnbd_teardown ibnbd_client ibtrs_client ibnbd_server ibtrs_server
	return 0
}
trap cleanup EXIT

mark="kcxx-case85-$RANDOM$RANDOM"
echo "$mark" >/dev/kmsg
# Bad kernel-log lines since the case began (the runner checks them too;
# counting them here names the cycle where the first one appeared).
since_mark() { dmesg | sed -n "/$mark/,\$p"; }
count_leaks() { since_mark | grep -c 'kcxx-leak:' || true; }
count_warns() { since_mark | grep -c -E '\bWARNING\b|\bBUG\b|Oops|refcount_t:|list_(add|del) corruption' || true; }
check_log() { # WHERE
	local l w
	l=$(count_leaks) w=$(count_warns)
	if ((l || w)); then
		since_mark | grep -E 'kcxx-leak:|\bWARNING\b|\bBUG\b|Oops|refcount_t:|corruption' | head -n 20
		die "$1: $l leak line(s), $w WARN/BUG line(s) in dmesg"
	fi
}

# Under TCG every process start costs a few hundred ms, more than most of
# what a cycle tests: the loops use shell builtins where they can and insmod
# directly (the modules' dependencies, rdma_cm and ib_core, stay loaded).
# The .ko files are loaded from copies on the guest's tmpfs: the host tree is
# 9p without a cache, and each load would read ~8 MB over it again.
KO=
for ko in ibtrs/ibtrs-server.ko ibnbd/server/ibnbd-server.ko ibtrs/ibtrs-client.ko \
	ibnbd/client/ibnbd-client.ko; do
	cp "$KCXX_ROOT/$ko" "$work/" || die "cannot copy $ko"
	KO="$KO $work/${ko##*/}"
done
load_all() {
	local ko
	for ko in $KO; do
		case $ko in
		*ibnbd-server.ko) set -- dev_search_path=/ ;;
		*ibnbd-client.ko) set -- reconnect_delay_sec=1 ;;
		*) set -- ;;
		esac
		insmod "$ko" "$@" 2>"$work/err" || { dmesg | tail -n 20; die "insmod $ko $*: $(<"$work/err")"; }
	done
}
unload_all() {
	local m
	rmmod ibnbd_client ibtrs_client ibnbd_server ibtrs_server 2>/dev/null && return 0
	for m in ibnbd_client ibtrs_client ibnbd_server ibtrs_server; do unload_ko $m; done
}

# map_dev CYCLE: map nullb0 on session $sess, set $name (ibnbdN) and $dev.
map_dev() {
	local st d
	echo "sessname=$sess path=ip:$clt@ip:$srv device_path=/dev/nullb0" >"$CTL/map_device" ||
		die "cycle $1: map_device failed"
	[[ -L $link ]] || wait_for 10 test -L "$link" || die "cycle $1: no $link"
	d=(/sys/block/ibnbd*)
	[[ ${#d[@]} == 1 && -e ${d[0]} && $link -ef ${d[0]} ]] ||
		die "cycle $1: expected exactly the one device of $link, found: ${d[*]}"
	name=${d[0]##*/}
	dev=/dev/$name
	[[ -b $dev ]] || wait_for 10 test -b "$dev" || die "cycle $1: $dev did not appear"
	read -r st <"/sys/block/$name/ibnbd/state"
	[[ $st == open ]] || die "cycle $1: $dev is $st, not open"
}

# io_check CYCLE: 8 x 4 KiB blocks of the cycle's own random data written
# (O_DIRECT, fsync) at a cycle-dependent offset, read back and compared.
# Failures are counted.
io_errors=0
io_check() {
	local off=$((($1 * 8) % 16384))
	if ! dd if="$work/pat" of="$dev" bs=4k skip=$(($1 * 8)) seek="$off" count=8 \
		oflag=direct conv=fsync,notrunc status=none; then
		io_errors=$((io_errors + 1))
		echo "cycle $1: write to $dev failed"
		return 0
	fi
	if ! dd if="$dev" of="$work/back" bs=4k skip="$off" count=8 iflag=direct status=none; then
		io_errors=$((io_errors + 1))
		echo "cycle $1: read from $dev failed"
		return 0
	fi
	cmp -s -n 32768 -i $(($1 * 32768)):0 "$work/pat" "$work/back" || {
		io_errors=$((io_errors + 1))
		echo "cycle $1: data read back from $dev differs from what was written"
	}
}

server_has_no_open() {
	local o=(/sys/class/ibnbd-server/ctl/devices/*)
	[[ ! -e ${o[0]} ]]
}

rxe_setup 1
for m in ibnbd_client ibtrs_client ibnbd_server ibtrs_server ibnbd_hostile null_blk; do unload_ko $m; done
modprobe null_blk memory_backed=1 gb=1 nr_devices=1
wait_for 10 test -b /dev/nullb0 || die "no /dev/nullb0"
# 32 KiB of random data per cycle.
head -c $(((MAP_CYCLES + LOAD_CYCLES + 1) * 32768)) /dev/urandom >"$work/pat"

# (a) map / IO / unmap
modprobe rdma_cm   # the one dependency of the four outside themselves (with ib_core)
load_all
t0=$SECONDS
first=
for ((c = 1; c <= MAP_CYCLES; c++)); do
	map_dev "$c"
	# The device index is freed at unmap: every cycle gets the same one.
	[[ -n $first ]] || first=$name
	[[ $name == "$first" ]] || die "cycle $c: mapped as $name, cycle 1 as $first (index not freed?)"
	io_check "$c"
	echo normal >"/sys/block/$name/ibnbd/unmap_device" || die "cycle $c: unmap failed"
	wait_for 10 test ! -e "/sys/block/$name" || die "cycle $c: $dev still present after unmap"
	[[ ! -e $link ]] || die "cycle $c: $link still present after unmap"
	wait_for 10 test ! -d "/sys/class/ibtrs-client/$sess" || die "cycle $c: session $sess still there after its last unmap"
	wait_for 10 server_has_no_open || die "cycle $c: server still has opens: $(ls /sys/class/ibnbd-server/ctl/devices)"
	[[ ! -d /sys/class/ibtrs-server/$sess ]] || wait_for 10 test ! -d "/sys/class/ibtrs-server/$sess" ||
		die "cycle $c: server session $sess still there after the client closed it"
	((c % 25 == 0)) && echo "map cycle $c: $((SECONDS - t0)) s, io_errors=$io_errors"
done
map_secs=$((SECONDS - t0))
maps_done=$((c - 1))
map_io_errors=$io_errors
unload_all
check_log "after $maps_done map cycles"
echo "figures: map/unmap: $maps_done cycles in $map_secs s ($((map_secs * 1000 / maps_done)) ms each), io_errors=$map_io_errors"

# (b) load / unload
t0=$SECONDS
mapped_unloads=0
closed_unloads=0
for ((c = 1; c <= LOAD_CYCLES; c++)); do
	load_all
	if ((c % 10 == 5)); then
		# rmmod ibnbd-client with a device mapped (and its session up).
		map_dev "$c"
		io_check "$c"
		unload_ko ibnbd_client
		[[ ! -e /sys/block/$name ]] || die "cycle $c: $dev still present after rmmod ibnbd_client"
		[[ ! -e /sys/class/ibnbd-client ]] || die "cycle $c: ibnbd-client class left after rmmod"
		unload_ko ibtrs_client
		[[ ! -e /sys/class/ibtrs-client ]] || die "cycle $c: ibtrs-client class left after rmmod"
		wait_for 10 server_has_no_open || die "cycle $c: server kept the open after the client left"
		unload_ko ibnbd_server
		unload_ko ibtrs_server
		mapped_unloads=$((mapped_unloads + 1))
	elif ((c % 10 == 0)); then
		# The server goes first: the mapped device goes `closed`, then
		# rmmod ibnbd-client unmaps the closed device.
		map_dev "$c"
		io_check "$c"
		unload_ko ibnbd_server
		unload_ko ibtrs_server
		wait_for 30 grep -qx closed "/sys/block/$name/ibnbd/state" ||
			die "cycle $c: $dev did not go closed (state $(cat "/sys/block/$name/ibnbd/state"))"
		unload_ko ibnbd_client
		[[ ! -e /sys/block/$name ]] || die "cycle $c: $dev still present after rmmod ibnbd_client"
		unload_ko ibtrs_client
		closed_unloads=$((closed_unloads + 1))
	else
		unload_all
	fi
	for m in ibnbd_client ibtrs_client ibnbd_server ibtrs_server; do
		[[ ! -d /sys/module/$m ]] || die "cycle $c: $m still loaded"
	done
	((c % 10 == 0)) && check_log "load cycle $c"
	((c % 25 == 0)) && echo "load cycle $c: $((SECONDS - t0)) s, io_errors=$io_errors"
done
load_secs=$((SECONDS - t0))
loads_done=$((c - 1))
load_io_errors=$((io_errors - map_io_errors))
check_log "after $loads_done load cycles"
leaks=$(count_leaks)
warns=$(count_warns)

unload_ko null_blk
rxe_teardown
echo "load/unload: $loads_done cycles in $load_secs s ($((load_secs * 1000 / loads_done)) ms each)," \
	"$mapped_unloads with a mapped device (client first), $closed_unloads with a closed device" \
	"(server first), io_errors=$load_io_errors"
echo "figures: ibnbd cycles: map_cycles=$maps_done load_cycles=$loads_done io_errors=$io_errors leaks=$leaks warns=$warns"
((io_errors == 0)) || die "$io_errors IO errors during the cycles"
((maps_done == MAP_CYCLES && loads_done == LOAD_CYCLES)) || die "cycles not completed"
trap - EXIT
echo "cycle tests passed"

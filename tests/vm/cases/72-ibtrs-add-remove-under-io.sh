#!/bin/bash
# Path management under IO: OUR ibnbd-client maps a null_blk from OUR server
# over two paths (veth pairs 0 and 1); fio verify=crc32c runs back to back
# the whole time. Meanwhile:
# (1) a third path (pair 2) is added with add_path and removed with
#     remove_path CYCLES times: each add reaches `connected`, each remove
#     makes its directory go; from the second add on, the path takes the
#     removed path's slot again ("slot 2, reused" in the log), so the table
#     never grows;
# (2) adding a path that exists is EEXIST with exactly one log line;
# (3) the session grows to MAXP (128) paths with add_path: the extra paths
#     come from source addresses 10.99.2.128.. on pair 2's client veth (one
#     IPv4 alias each, rules and neighbours for the /25); the 129th is E2BIG
#     with exactly one log line; then all the added paths are removed again.
# The two original paths stay connected throughout, fio sees 0 IO and 0
# verify errors. Prints cycles, add/remove times, guest memory with 128
# paths.
# timeout: 900
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

CYCLES=${IBTRS_ADD_REMOVE_CYCLES:-20}
MAXP=${IBTRS_MAX_PATHS:-128}
sess=s72
CTL=/sys/class/ibnbd-client/ctl
TC=/sys/class/ibtrs-client/$sess
work=$VMTEST_TMP/c72
mkdir -p "$work"
klog_mark case72
pname() { echo "ip:$1@ip:$2"; }
state_of() { cat "$TC/paths/$1/state" 2>/dev/null || echo gone; }
connected() { [[ $(state_of "$1") == connected ]]; }
nr_paths() { ls "$TC/paths" | wc -l; }
mem_avail_mb() { awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo; }

cleanup() {
	set +e
	trap - ERR
	touch "$work/stop"
	[[ -n ${fio_loop:-} ]] && wait "$fio_loop" 2>/dev/null
	ibnbd_teardown ibnbd_client ibtrs_client ibnbd_server ibtrs_server
	return 0
}
trap cleanup EXIT

rxe_setup 3
own_stack_unload
modprobe null_blk memory_backed=1 gb=1 nr_devices=1
wait_for 10 test -b /dev/nullb0 || die "no /dev/nullb0"
load_ko "$KCXX_ROOT/ibtrs/ibtrs-server.ko"
load_ko "$KCXX_ROOT/ibnbd/server/ibnbd-server.ko" dev_search_path=/
load_ko "$KCXX_ROOT/ibtrs/ibtrs-client.ko"
load_ko "$KCXX_ROOT/ibnbd/client/ibnbd-client.ko" reconnect_delay_sec=1

p0=$(pname "$(rxe_ip 0 2)" "$(rxe_ip 0 1)")
p1=$(pname "$(rxe_ip 1 2)" "$(rxe_ip 1 1)")
p2=$(pname "$(rxe_ip 2 2)" "$(rxe_ip 2 1)")
echo "sessname=$sess path=$p0 path=$p1 device_path=/dev/nullb0" >"$CTL/map_device" || die "map_device failed"
link=$CTL/devices/!dev!nullb0@$sess
wait_for 10 test -L "$link" || die "no $link"
dev=/dev/$(basename "$(readlink -f "$link")")
wait_for 10 test -b "$dev" || die "$dev did not appear"
connected "$p0" && connected "$p1" || die "paths not connected: $(state_of "$p0") $(state_of "$p1")"
echo "mapped /dev/nullb0 as $dev over $p0 and $p1"

fio_loop() {
	local n=0 rc
	while [[ ! -e $work/stop ]]; do
		n=$((n + 1))
		rc=0
		timeout 600 fio --name=addrm72 --filename="$dev" --direct=1 --ioengine=libaio --iodepth=16 \
			--rw=randrw --bsrange=4k-64k --size=16m --offset=$(((n % 8) * 64))m \
			--verify=crc32c --verify_fatal=1 --randrepeat=0 >"$work/fio.$n" 2>&1 || rc=$?
		echo "$n $rc" >>"$work/runs"
	done
}
: >"$work/runs"
fio_loop &
fio_loop=$!
wait_for 120 test -s "$work/runs" || die "the first fio run did not finish"
originals_up() { connected "$p0" && connected "$p1"; }

# (1) add/remove the third path CYCLES times.
t0=$SECONDS
for ((c = 1; c <= CYCLES; c++)); do
	echo "$p2" >"$TC/add_path" || die "(1) cycle $c: add_path $p2 failed: $(klog | tail -n 3)"
	connected "$p2" || die "(1) cycle $c: $p2 is $(state_of "$p2") after add_path"
	echo 1 >"$TC/paths/$p2/remove_path" || die "(1) cycle $c: remove_path failed"
	wait_for 10 test ! -e "$TC/paths/$p2" || die "(1) cycle $c: $p2 still in sysfs after remove_path"
	originals_up || die "(1) cycle $c: an original path left connected"
done
cycle_s=$((SECONDS - t0))
reused=$(klog | grep -c "path $p2: added to session '$sess' (slot 2, reused)" || true)
((reused == CYCLES - 1)) || die "(1) $reused of $((CYCLES - 1)) re-adds reused slot 2: $(klog | grep 'added to session' | tail -n 3)"
echo "(1) $CYCLES add/remove cycles of $p2 in ${cycle_s} s; slot 2 reused $reused times"

# (2) a path that exists: EEXIST, one log line.
if echo "$p0" >"$TC/add_path" 2>"$work/eexist"; then die "(2) adding $p0 twice succeeded"; fi
grep -q "File exists" "$work/eexist" || die "(2) adding $p0 twice: $(cat "$work/eexist")"
[[ $(klog | grep -c "session $sess: add_path: path $p0 exists") == 1 ]] || die "(2) not one EEXIST log line"
echo "(2) adding $p0 again: EEXIST, one log line"

# (3) grow to MAXP paths from aliases 10.99.2.128.. on veth5 (pair 2's
# client side), then shrink again.
extra=$((MAXP - 2))
((extra <= 128)) || die "at most 128 aliases in 10.99.2.128/25"
a=veth4 b=veth5
srv2=$(rxe_ip 2 1)
ip rule add pref 21 from 10.99.2.128/25 to "$srv2" lookup 104
ip route replace 10.99.2.128/25 dev "$a" src "$srv2" table 105
ip rule add pref 21 from "$srv2" to 10.99.2.128/25 lookup 105
for ((i = 0; i < extra; i++)); do
	ip addr add "10.99.2.$((128 + i))/32" dev "$b"
	ip neigh replace "10.99.2.$((128 + i))" lladdr "$(cat /sys/class/net/$b/address)" dev "$a" nud permanent
done
mem0=$(mem_avail_mb)
t0=$SECONDS
for ((i = 0; i < extra; i++)); do
	p=$(pname "10.99.2.$((128 + i))" "$srv2")
	echo "$p" >"$TC/add_path" || die "(3) add_path $p (path $((i + 3))) failed: $(klog | tail -n 3)"
	((i % 32 == 31)) && echo "(3) $((i + 3)) paths after $((SECONDS - t0)) s, MemAvailable $(mem_avail_mb) MiB"
done
grow_s=$((SECONDS - t0))
n=$(nr_paths)
((n == MAXP)) || die "(3) $n paths in sysfs, not $MAXP"
bad=0
for d in "$TC"/paths/*/; do [[ $(cat "$d/state") == connected ]] || bad=$((bad + 1)); done
((bad == 0)) || die "(3) $bad of $MAXP paths not connected"
mem1=$(mem_avail_mb)
echo "(3) grew to $MAXP connected paths in ${grow_s} s; MemAvailable $mem0 -> $mem1 MiB"
if ((MAXP == 128)); then
	if echo "$p2" >"$TC/add_path" 2>"$work/e2big"; then die "(3) the 129th path was added"; fi
	grep -q "Argument list too long" "$work/e2big" || die "(3) 129th path: $(cat "$work/e2big")"
	[[ $(klog | grep -c "session $sess: add_path: $p2: already 128 paths, the maximum") == 1 ]] ||
		die "(3) not one E2BIG log line"
	echo "(3) the 129th path: E2BIG, one log line"
fi
t0=$SECONDS
for ((i = 0; i < extra; i++)); do
	p=$(pname "10.99.2.$((128 + i))" "$srv2")
	echo 1 >"$TC/paths/$p/remove_path" || die "(3) remove_path $p failed"
done
shrink_s=$((SECONDS - t0))
wait_for 30 eval '(($(nr_paths) == 2))' || die "(3) $(nr_paths) paths left after removing the added ones"
originals_up || die "(3) an original path left connected"
# The freed slots take new paths again.
echo "$p2" >"$TC/add_path" || die "(3) add_path after shrinking failed"
# grep -c, not -q: under pipefail an early grep exit makes klog's sed fail.
r2=$(klog | grep -c "path $p2: added to session '$sess' (slot 2, reused)" || true)
((r2 == reused + 1)) || die "(3) slot 2 not reused after shrinking ($r2 reuses logged)"
echo 1 >"$TC/paths/$p2/remove_path"
echo "(3) removed $extra paths in ${shrink_s} s; MemAvailable now $(mem_avail_mb) MiB"

touch "$work/stop"
wait "$fio_loop"
fio_loop=
runs=$(wc -l <"$work/runs")
bad_runs=$(awk '$2 != 0' "$work/runs" | wc -l)
for f in "$work"/fio.*; do fio_check "$f" 0 "fio run ${f##*.}" >/dev/null; done
((bad_runs == 0)) || die "$bad_runs of $runs fio runs failed: $(awk '$2 != 0' "$work/runs" | head -n 3)"
echo "fio: $runs verify runs, 0 failed"

for ((i = 0; i < extra; i++)); do ip addr del "10.99.2.$((128 + i))/32" dev "$b" 2>/dev/null || true; done
ip rule del pref 21 2>/dev/null || true
ip rule del pref 21 2>/dev/null || true
echo normal >"/sys/block/$(basename "$dev")/ibnbd/unmap_device" || die "unmap failed"
wait_for 60 test ! -d "$TC" || die "session $sess still there after its last unmap"
own_stack_unload
rxe_teardown
klog_trouble
echo "figures: add/remove under IO: cycles=$CYCLES cycle_s=$cycle_s max_paths=$MAXP grow_s=$grow_s shrink_s=$shrink_s mem_avail_mb=$mem0/$mem1 fio_runs=$runs leaks=$leaks warns=$warns"
((leaks == 0 && warns == 0)) || die "$leaks leak and $warns WARN lines"
trap - EXIT
echo "add/remove under IO passed"

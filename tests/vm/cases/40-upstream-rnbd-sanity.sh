#!/bin/bash
# The upstream rtrs/rnbd peer (Linux 6.1, built out of tree by
# scripts/upstream-rnbd.sh) works in this test bed: upstream rnbd-client maps a
# memory-backed null_blk exported by upstream rnbd-server over soft-RoCE
# (10.99.0.2 -> 10.99.0.1, across the veth wire), fio writes a 64 MiB region
# at random (4k-64k blocks; fio stops at ~50 MiB when its random map of
# variable-size blocks fills up) and verifies it twice with 0 errors; then
# unmap and unload are clean.
# rtrs-server runs with always_invalidate=0: with upstream's default 1, rxe 6.1
# was seen to lose requests silently (see docs/interop.md).
# timeout: 300
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../upstream.sh"

sess=upstream-sanity
srv=$(rxe_ip 0 1)
clt=$(rxe_ip 0 2)

rxe_setup 1
# Memory-backed: the default null_blk drops writes, so verify would be void.
modprobe null_blk memory_backed=1 gb=1 nr_devices=1
wait_for 10 test -b /dev/nullb0 || die "no /dev/nullb0"

upstream_load_server dev_search_path=/ rtrs_server.always_invalidate=0
echo "rtrs-server: always_invalidate=$(cat /sys/module/rtrs_server/parameters/always_invalidate)" \
	"max_chunk_size=$(cat /sys/module/rtrs_server/parameters/max_chunk_size)" \
	"sess_queue_depth=$(cat /sys/module/rtrs_server/parameters/sess_queue_depth)"
upstream_load_client

t0=$SECONDS
dev=$(upstream_map "$sess" "$clt" "$srv" /dev/nullb0)
echo "mapped /dev/nullb0 as $dev over $clt@$srv in $((SECONDS - t0))s;" \
	"state $(cat "/sys/block/${dev#/dev/}/rnbd/state")," \
	"size $(($(cat "/sys/block/${dev#/dev/}/size") / 2048)) MiB"
[[ $(cat "/sys/block/${dev#/dev/}/rnbd/state") == open ]] || die "$dev not open"

# The path must use the client-side rxe device (bytes cross the veth wire).
pdir=$(echo "/sys/class/rtrs-client/$sess/paths/"*)
[[ -d $pdir ]] || die "no rtrs-client path directory for $sess"
hca=$(cat "$pdir/hca_name")
echo "client path ${pdir##*/}: $(cat "$pdir/state") on $hca"
[[ $(cat "$pdir/state") == connected ]] || die "client path not connected"
[[ $hca == rxe1 ]] || die "client path uses $hca, expected rxe1 (the 10.99.0.2 side)"

fio_common=(--filename="$dev" --direct=1 --ioengine=libaio --iodepth=16
	--rw=randwrite --bs=4k-64k --size=64m --verify=crc32c --verify_fatal=1
	--randrepeat=1 --group_reporting)

# Pass 1: write 64 MiB at random, each block with a crc32c header, and verify
# it back in the same job. Pass 2: a separate read-only pass (same layout,
# --verify_only) reading everything back over the wire again.
# run_fio NAME [ARGS...]: sets FIO_BYTES to the bytes of the job's main pass
# (with --bs as a range and a random map fio ends before --size: ~50 of 64 MiB).
run_fio() {
	local name=$1 out rc=0 what=WRITE
	shift
	out=$(timeout 120 fio --name="$name" "${fio_common[@]}" "$@" 2>&1) || rc=$?
	if ((rc != 0)); then
		echo "$out" | tail -n 40
		die "fio $name failed (exit $rc)"
	fi
	grep -E 'err= *[1-9]|verify: bad|crc32c: verify failed' <<<"$out" &&
		die "fio $name reported errors"
	grep -E '^ *(READ|WRITE): bw=|err=' <<<"$out" | sed "s/^ */fio $name: /"
	[[ " $* " == *" --verify_only "* ]] && what=READ
	# "WRITE: bw=..., io=49.8MiB (52.2MB), ..." -> 52200000
	FIO_BYTES=$(sed -nE "s/^ *$what: .*io=[^(]*\(([0-9.]+)([kMG]?)B\).*/\1 \2/p" <<<"$out" |
		awk '{ m = $2 == "G" ? 1e9 : $2 == "M" ? 1e6 : $2 == "k" ? 1e3 : 1; printf "%d", $1 * m }')
	[[ -n $FIO_BYTES && $FIO_BYTES -gt 0 ]] || die "fio $name: no $what io= figure in its output"
}
run_fio upstream-write
written=$FIO_BYTES
run_fio upstream-verify --verify_only
reread=$FIO_BYTES

read -r rd_cnt rd_b wr_cnt wr_b inflight failover <"$pdir/stats/rdma"
echo "rtrs-client stats/rdma: read_cnt=$rd_cnt read_bytes=$rd_b write_cnt=$wr_cnt" \
	"write_bytes=$wr_b inflight=$inflight failover_cnt=$failover"
# fio's figures are rounded to 3 digits; rtrs counts its user header too.
((wr_b >= written * 99 / 100)) || die "rtrs-client wrote $wr_b bytes, fio wrote ~$written"
((rd_b >= (written + reread) * 99 / 100)) ||
	die "rtrs-client read $rd_b bytes, fio read ~$((written + reread)) (verify in the write job + verify pass)"

upstream_unmap "$dev"
wait_for 10 test ! -d "/sys/class/rtrs-client/$sess" ||
	die "rtrs-client session $sess still present after the last unmap"
upstream_unload_all
unload_ko null_blk
rxe_teardown
echo "upstream rnbd sanity: map, fio write $((written / 1000000)) MB + 2 verify passes, unmap, unload: OK"
